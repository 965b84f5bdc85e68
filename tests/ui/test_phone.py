"""The application as people open it: a phone (390×844) and a desktop (1400×1000), in a real browser.

Issue 10: content before the menu on a phone, the sector page leading with what is
specific to the sector, names on the map, tooltips inside the map frame, a first
page that explains, Spanish controls and ``lang``, a readable page in dark mode,
readable charts, filters that do what is typed and follow the person across pages.
Screenshots of the phone views go to ``tests/artifacts/`` (``phone_*.png``).

Territories are taken from the store, never typed in: the shipped layer may be the
referential sectors or the census zones.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from layers import sector
from tests.ui.test_browser import app, assert_clean, main_text, open_page, screenshot, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


def is_phone(size: dict) -> bool:
    return size["width"] < 640


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def specific_territory(shipped) -> tuple[str, str]:
    """(slug, name) of the first territory, in the sector page's order, that the plan names or sites something in."""
    own = set(shipped["relations"].specific["slug"])
    names = dict(zip(shipped["territories"]["slug"], shipped["territories"]["nombre"]))
    slug = next(s for s in sector.territory_order(shipped["territories"]) if s in own)
    return slug, names[slug]


def accented_territory(shipped) -> tuple[str, str, str] | None:
    """(slug, name, a word of the name typed without its accent), or None when no name has one."""
    for slug, name in zip(shipped["territories"]["slug"], shipped["territories"]["nombre"]):
        for word in str(name).split():
            if plain(word) != word and len(word) >= 4:
                return slug, str(name), plain(word)
    return None


def go(probe, url: str, size: dict, scheme: str = "light") -> None:
    probe.page.set_viewport_size(size)
    probe.page.emulate_media(color_scheme=scheme)
    open_page(probe, url)


def sidebar_width(probe) -> float:
    """Width of the sidebar inside the window (0 when closed)."""
    return probe.page.evaluate(
        "() => { const s = document.querySelector('[data-testid=stSidebar]'); if (!s) return 0;"
        " const r = s.getBoundingClientRect(); return Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0)); }"
    )


def no_sideways_scroll(probe, size: dict) -> None:
    width = probe.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= size["width"], f"the page scrolls sideways: {width} px in {size['width']}"


def map_frame(probe, timeout_s: float = 60.0):
    frame = probe.wait_for_map(timeout_s=timeout_s)
    frame.wait_for_selector(".leaflet-control-scale-line", timeout=30_000)
    probe.page.wait_for_timeout(800)
    return frame


def open_sidebar(probe) -> None:
    if sidebar_width(probe) < 100:
        probe.page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.click()
        probe.page.wait_for_function(
            "() => { const s = document.querySelector('[data-testid=stSidebar]');"
            " return s && s.getBoundingClientRect().right > 200; }", timeout=10_000)


def luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# --------------------------------------------------------------------------- sector page


@SIZES
def test_sector_page_leads_with_the_sector(app, browser_page, shipped, artifacts_dir, size):  # noqa: F811
    probe = browser_page
    slug, name = specific_territory(shipped)
    go(probe, f"{app}/sector?territorio={slug}", size)
    frame = map_frame(probe)
    heading = probe.page.locator('[data-testid="stMain"] h2').filter(has_text=name).first
    top = heading.bounding_box()["y"]
    own = probe.page.locator('[data-testid="stMain"] h4').first.bounding_box()["y"]
    iframe = frame.frame_element().bounding_box()
    assert name in frame.locator(".sit-label").all_inner_texts(), "the territory's name is written on its map"
    if is_phone(size):
        assert sidebar_width(probe) == 0, "on a phone the menu starts closed"
        assert top < size["height"], "the territory's name is on the first screen"
        assert own < iframe["y"], "the territory's own initiatives come before the map"
        screenshot(probe, artifacts_dir / "phone_sector.png")
    else:
        assert sidebar_width(probe) > 200
        assert top < size["height"] / 2
    # The commune-wide list and the programmes are folded; the territory's own list is open.
    expanders = probe.page.locator('[data-testid="stExpander"] details')
    labels = [e.locator("summary").inner_text().replace("\n", " ") for e in expanders.all()]
    assert any("Para toda la comuna" in label for label in labels), labels
    assert all(not e.get_attribute("open") for e in expanders.all())
    commune_wide = int(shipped["relations"].counts(slugs=[slug]).loc[slug, "comunal"])
    assert commune_wide > 20
    visible_items = probe.page.locator('[data-testid="stMain"] li:visible').count()
    assert visible_items < commune_wide, "the commune-wide initiatives are not listed open"
    assert iframe["x"] >= 0 and iframe["x"] + iframe["width"] <= size["width"]
    no_sideways_scroll(probe, size)
    assert_clean(probe)


# --------------------------------------------------------------------------- first page


@SIZES
def test_first_page_explains(app, browser_page, shipped, artifacts_dir, size):  # noqa: F811
    probe = browser_page
    go(probe, app + "/", size)
    text = main_text(probe)
    assert "PLADECO" in text and "Plan de Desarrollo Comunal" in text
    assert f"{len(shipped['initiatives'])} iniciativas" in text
    for words in ("Qué muestra el mapa", "De dónde vienen los datos", "Precisión", "referenciales", "Contacto",
                  "Municipalidad de Vallenar"):
        assert words in text, words
    for jargon in ("ubicadas", "vinculadas", "alcanzados"):
        assert jargon not in text.lower(), jargon
    # Sources in words people use, with their dates; no file path, no loading date as the only date.
    path = re.compile(r"[\w.-]+/[\w.-]*/|[\w-]+\.(?:csv|geojson|gpkg|parquet|toml|txt)\b")
    assert not path.search(text), path.findall(text)
    for words in ("PLADECO de Vallenar", "Censo de Población y Vivienda 2017", "2023", "Cargado en el sistema"):
        assert (words in text) == (words != "Cargado en el sistema"), words
    # The page's script sets the language once Streamlit has drawn it (pages/_shared.LANG_SCRIPT);
    # on a loaded machine that can follow the content by a moment.
    probe.page.wait_for_function("() => document.documentElement.lang === 'es-CL'", timeout=10_000)
    skip = probe.page.locator('[data-testid="stSkipToContent"]')
    assert skip.all_text_contents() == ["Saltar al contenido principal"]
    if is_phone(size):
        assert sidebar_width(probe) == 0
        screenshot(probe, artifacts_dir / "phone_inicio.png")
    no_sideways_scroll(probe, size)
    # Choosing one's sector from the first page opens it.
    slug, name = specific_territory(shipped)
    box = probe.page.locator('[data-testid="stSelectbox"]').first
    box.click()
    probe.page.keyboard.type(plain(name.split()[0]))
    probe.page.get_by_role("option", name=re.compile(re.escape(name))).first.click()
    probe.page.wait_for_url(re.compile(rf"/sector\?territorio={re.escape(slug)}"), timeout=30_000)
    probe.page.get_by_role("heading", name=name).first.wait_for(timeout=30_000)
    assert_clean(probe)


# --------------------------------------------------------------------------- the map


@SIZES
def test_map_speaks_spanish_and_names_the_territories(app, browser_page, shipped, artifacts_dir, size):  # noqa: F811
    probe = browser_page
    slug, name = specific_territory(shipped)
    go(probe, f"{app}/mapa?territorio={slug}", size)
    frame = map_frame(probe)
    found = frame.evaluate("""() => ({
        zoom: Array.from(document.querySelectorAll('.leaflet-control-zoom a')).map(a => a.title),
        layers: Array.from(document.querySelectorAll('.leaflet-control-layers-toggle')).map(a => a.title),
        scale: Array.from(document.querySelectorAll('.leaflet-control-scale-line')).map(a => a.textContent),
        labels: Array.from(document.querySelectorAll('.sit-label')).map(a => a.textContent),
        tabs: Array.from(document.querySelectorAll('a[href], button, input, [tabindex]'))
                   .filter(e => e.tabIndex >= 0 && e.getClientRects().length > 0
                                && getComputedStyle(e).visibility !== 'hidden')
                   .map(e => e.tagName + '.' + (e.getAttribute('class') || '')),
        paths: document.querySelectorAll('path.leaflet-interactive').length,
    })""")
    assert found["zoom"] == ["Acercar", "Alejar"]
    assert found["layers"] == ["Capas"]
    assert len(found["scale"]) == 1 and re.fullmatch(r"\d+ k?m", found["scale"][0]), found["scale"]
    assert name in found["labels"], "the chosen territory's name is written on the map"
    assert found["paths"] >= len(shipped["territories"])
    # The map, zoom in and out, the layer switch and the attribution link: no shape, no marker.
    assert len(found["tabs"]) <= 6, found["tabs"]
    title = frame.frame_element().get_attribute("title")
    assert title.startswith("Mapa del plan"), title
    legend, whole = frame.evaluate("() => [document.querySelector('.sit-legend').getBoundingClientRect().height,"
                                   " document.querySelector('.leaflet-container').getBoundingClientRect().height]")
    if is_phone(size):
        assert sidebar_width(probe) == 0
        assert legend <= 0.36 * whole, (legend, whole)  # the legend leaves the map visible
        screenshot(probe, artifacts_dir / "phone_mapa.png")
    no_sideways_scroll(probe, size)
    assert_clean(probe)


@SIZES
def test_tooltips_stay_inside_the_map(app, browser_page, size):  # noqa: F811
    probe = browser_page
    go(probe, f"{app}/mapa", size)
    frame = map_frame(probe)
    offset = frame.frame_element().bounding_box()
    box = frame.evaluate("() => { const r = document.querySelector('.leaflet-container').getBoundingClientRect();"
                         " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }")
    # A point of a territory near the right edge of the map: its tooltip must open leftwards.
    point = frame.evaluate("""(b) => {
        for (let x = b.right - 12; x > b.left + 40; x -= 6) {
            for (let y = b.top + 60; y < b.bottom - 60; y += 12) {
                const el = document.elementFromPoint(x, y);
                if (el && el.matches('path.leaflet-interactive')) return {x, y};
            }
        }
        return null;
    }""", box)
    assert point, "no territory under the right part of the map"
    probe.page.mouse.move(offset["x"] + point["x"], offset["y"] + point["y"])
    tip = frame.locator(".leaflet-tooltip:not(.sit-label)").last
    tip.wait_for(timeout=10_000)
    probe.page.wait_for_timeout(300)
    r = tip.bounding_box()  # page coordinates
    assert r["x"] >= offset["x"] + box["left"] - 1
    assert r["x"] + r["width"] <= offset["x"] + box["right"] + 1, (r, box)
    # Wrapped at a readable width, not shrunk to a word per line against the frame's edge.
    assert r["width"] >= min(200, (box["right"] - box["left"]) * 0.5), r
    # Near the bottom edge it is moved up inside the frame (Leaflet only flips tooltips sideways).
    low = frame.evaluate("""(b) => {
        for (let y = b.bottom - 4; y > b.top + 60; y -= 4) {
            for (let x = b.left + 40; x < b.right - 40; x += 12) {
                const el = document.elementFromPoint(x, y);
                if (el && el.matches('path.leaflet-interactive')) return {x, y};
            }
        }
        return null;
    }""", box)
    assert low, "no territory under the bottom of the map"
    probe.page.mouse.move(offset["x"] + low["x"], offset["y"] + low["y"])
    probe.page.wait_for_timeout(400)
    r = frame.locator(".leaflet-tooltip:not(.sit-label)").last.bounding_box()
    assert r["y"] + r["height"] <= offset["y"] + box["bottom"] + 1, (r, box)
    assert r["y"] >= offset["y"] + box["top"] - 1, (r, box)
    assert_clean(probe)


# --------------------------------------------------------------------------- dark mode


@SIZES
@pytest.mark.parametrize("path", ["/", "/mapa", "/sector", "/plan", "/seguimiento", "/capas"])
def test_dark_mode_is_readable(app, browser_page, size, path):  # noqa: F811
    probe = browser_page
    go(probe, app + path, size, scheme="dark")
    colors = probe.page.evaluate("""() => {
        const app = getComputedStyle(document.querySelector('[data-testid=stApp]'));
        const h1 = getComputedStyle(document.querySelector('[data-testid=stMain] h1'));
        return {bg: app.backgroundColor, text: h1.color};
    }""")
    assert contrast(colors["bg"], colors["text"]) >= 7, colors
    if path in ("/mapa", "/sector"):
        frame = map_frame(probe)
        legend = frame.evaluate("""() => {
            const el = document.querySelector('.sit-sector-legend, .sit-legend, .leaflet-control.legend, .info.legend')
                    || Array.from(document.querySelectorAll('.leaflet-bottom .leaflet-control')).find(e => e.innerText.trim());
            if (!el) return null;
            const text = el.querySelector('b, span, div') || el;
            return {bg: getComputedStyle(el).backgroundColor, text: getComputedStyle(text).color};
        }""")
        assert legend, "the map has a legend"
        assert contrast(legend["bg"], legend["text"]) >= 4.5, legend
    assert_clean(probe)


# --------------------------------------------------------------------------- plan charts


def chart_texts(probe) -> list[dict]:
    """Text the browser drew in each chart: labels per axis (``axes``), all labels, axis titles.

    A label's lines are joined by a space.

    Read from the charts' SVG (Vega draws each line of a text as a ``tspan``); a chart
    drawn on a canvas gives no text, which the caller treats as a failure.
    """
    return probe.page.evaluate(
        """() => {
            const text = t => {
                const lines = [...t.querySelectorAll('tspan')].map(s => s.textContent);
                return (lines.length ? lines.join(' ') : t.textContent).trim();
            };
            const all = (root, sel) => [...root.querySelectorAll(sel)].map(text).filter(Boolean);
            return [...document.querySelectorAll('[data-testid=stVegaLiteChart]')].map(chart => {
                const axes = [...chart.querySelectorAll('g.role-axis')].map(a => all(a, 'g.role-axis-label text'));
                return {axes: axes, labels: axes.flat(), titles: all(chart, 'g.role-axis-title text')};
            });
        }"""
    )


@SIZES
def test_plan_charts_fit_the_screen(app, browser_page, shipped, artifacts_dir, size):  # noqa: F811
    probe = browser_page
    go(probe, app + "/plan", size)
    charts = probe.page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=30_000)
    probe.page.wait_for_timeout(1500)
    for chart in charts.all():
        r = chart.bounding_box()
        assert r["x"] >= 0 and r["x"] + r["width"] <= size["width"] + 1, r
    # Every label and axis title is drawn whole, and no two bars of a chart carry the same label.
    drawn = chart_texts(probe)
    assert len(drawn) == 3 and all(c["labels"] for c in drawn), drawn
    for labels in (axis for chart in drawn for axis in chart["axes"]):
        assert len(set(labels)) == len(labels), [t for t in labels if labels.count(t) > 1]
    for text in (t for chart in drawn for t in chart["labels"] + chart["titles"]):
        assert not text.endswith("…"), text
    zones = next(c for c in drawn if any("1.000 habitantes" in t for t in c["titles"]))
    assert shipped["territories"]["nombre"].isin(zones["labels"]).sum() >= 10, zones["labels"]
    if is_phone(size):
        screenshot(probe, artifacts_dir / "phone_plan.png")
    no_sideways_scroll(probe, size)
    assert_clean(probe)


# --------------------------------------------------------------------------- filters


def multiselect_input(probe, label: str):
    box = probe.page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first
    return box, box.locator("input").first


@SIZES
def test_filters_do_what_is_typed(app, browser_page, shipped, size):  # noqa: F811
    probe = browser_page
    go(probe, f"{app}/mapa", size)
    map_frame(probe)  # interact once the map is drawn (a frame redrawn mid-load aborts its requests)
    open_sidebar(probe)
    # Strategy: typing a word and Enter chooses one strategy, never «all matches».
    box, field = multiselect_input(probe, "Estrategia")
    field.click()
    field.type("Salud")
    options = probe.page.get_by_role("option").all_inner_texts()
    assert not any(o.startswith("Select") for o in options), options
    probe.page.keyboard.press("Enter")
    probe.page.wait_for_url(re.compile(r"estrategia="), timeout=30_000)
    wait_idle(probe)
    map_frame(probe)
    chips = box.locator("[data-tag]")
    assert chips.count() == 1
    wanted = shipped["strategies"].loc[shipped["strategies"]["nombre"].str.contains("Salud"), "id"].iloc[0]
    assert f"estrategia={wanted[1:]}" in probe.page.url
    # The chip shows the whole name.
    chip = chips.first.locator("span").first
    assert chip.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    assert "Salud" in chips.first.inner_text()
    # Territory: a name typed without its accent is found.
    accented = accented_territory(shipped)
    if accented is None:
        pytest.skip("no territory name of the store has an accent")
    slug, name, typed = accented
    probe.page.keyboard.press("Escape")
    box, field = multiselect_input(probe, "Territorio")
    field.click()
    field.type(typed)
    option = probe.page.get_by_role("option", name=re.compile(re.escape(name)))
    option.first.wait_for(timeout=10_000)
    probe.page.keyboard.press("Enter")
    probe.page.wait_for_url(re.compile(rf"territorio={re.escape(slug)}"), timeout=30_000)
    wait_idle(probe)
    map_frame(probe)
    assert_clean(probe)


@SIZES
def test_filters_follow_across_pages_and_view_options_are_in_the_link(app, browser_page, shipped, size):  # noqa: F811
    probe = browser_page
    slug, name = specific_territory(shipped)
    go(probe, f"{app}/mapa?estrategia=1&territorio={slug}&color=todas", size)
    map_frame(probe)  # leave each page once its map is drawn (an unloaded frame aborts its requests)
    open_sidebar(probe)
    toggle = probe.page.locator('[data-testid="stCheckbox"]').filter(has_text="Sumar al color").locator("input")
    assert toggle.is_checked()
    # To the sector page through the menu: the map's territory is shown there.
    probe.page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Mi sector").click()
    probe.page.wait_for_url(re.compile(rf"/sector\?territorio={re.escape(slug)}"), timeout=30_000)
    probe.page.get_by_role("heading", name=name).first.wait_for(timeout=30_000)
    wait_idle(probe)
    map_frame(probe)
    # Back to the map: the filters are still chosen and in the address.
    open_sidebar(probe)
    probe.page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Mapa del plan").click()
    probe.page.wait_for_url(re.compile(r"/mapa\?.*estrategia=1"), timeout=30_000)
    wait_idle(probe)
    assert f"territorio={slug}" in probe.page.url and "color=todas" in probe.page.url
    open_sidebar(probe)
    box, _field = multiselect_input(probe, "Estrategia")
    assert box.locator("[data-tag]").count() == 1
    map_frame(probe)
    assert_clean(probe)


_MAP_VIEW_JS = """() => { const m = Object.values(window).find(v => v instanceof L.Map);
                        const c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; }"""


@SIZES
def test_map_view_is_in_the_link(app, browser_page, size):  # noqa: F811
    probe = browser_page
    go(probe, f"{app}/mapa?vista=-28.57500,-70.76000,15", size)
    frame = map_frame(probe)
    frame.wait_for_function("() => { const m = Object.values(window).find(v => v instanceof L.Map);"
                            " return m && m.getZoom() === 15; }", timeout=20_000)
    lat, lon, zoom = frame.evaluate(_MAP_VIEW_JS)
    assert abs(lat + 28.575) < 1e-3 and abs(lon + 70.76) < 1e-3 and zoom == 15
    # Zooming in with the map's own button writes the new view into the address.
    frame.get_by_title("Acercar").click()
    probe.page.wait_for_url(re.compile(r"vista=-28\.57\d*(,|%2C)-70\.76\d*(,|%2C)16"), timeout=30_000)
    wait_idle(probe)
    # That address, opened anew, shows the same view.
    go(probe, probe.page.url, size)
    frame = map_frame(probe)
    frame.wait_for_function("() => { const m = Object.values(window).find(v => v instanceof L.Map);"
                            " return m && m.getZoom() === 16; }", timeout=20_000)
    assert_clean(probe)


@SIZES
def test_base_map_without_internet_says_so(app, browser_page, size):  # noqa: F811
    probe = browser_page
    go(probe, f"{app}/mapa", size)
    frame = map_frame(probe)
    frame.locator(".leaflet-control-layers").first.hover()  # the layer list opens under the pointer
    frame.locator(".leaflet-control-layers-expanded").first.wait_for(timeout=10_000)
    frame.locator(".leaflet-control-layers-overlays label").filter(has_text="OpenStreetMap").locator("input").check()
    notice = frame.locator(".sit-offline-notice")
    notice.wait_for(timeout=20_000)
    assert "Sin conexión a internet" in notice.inner_text()
    # Whole inside the map, and covered by none of its controls (on a phone the legend fills the bottom)
    # but the layer list this test opened, which covers the map while it is open.
    boxes = frame.evaluate("""() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        const map = document.querySelector('.leaflet-container'), notice = document.querySelector('.sit-notice');
        const others = Array.from(map.querySelectorAll('.leaflet-control')).filter(c => c !== notice && !c.contains(notice)
                                  && !c.classList.contains('leaflet-control-layers-expanded'));
        return {map: box(map), notice: box(notice), others: others.map(box)};
    }""")
    left, top, right, bottom = boxes["notice"]
    assert boxes["map"][0] <= left and boxes["map"][1] <= top and right <= boxes["map"][2] and bottom <= boxes["map"][3]
    for o_left, o_top, o_right, o_bottom in boxes["others"]:
        assert right <= o_left or o_right <= left or bottom <= o_top or o_bottom <= top, (boxes["notice"], boxes["others"])
    # The only requests that left the machine were the tiles, and they were stopped.
    assert probe.blocked and all("openstreetmap" in url for url in probe.blocked), probe.blocked
    probe.blocked.clear()
    probe.console_errors[:] = [e for e in probe.console_errors if "openstreetmap" not in e]
    probe.http_errors[:] = [e for e in probe.http_errors if "openstreetmap" not in e]
    assert_clean(probe)


@SIZES
def test_popups_open_whole_inside_the_map(app, browser_page, shipped, size):  # noqa: F811
    probe = browser_page
    go(probe, f"{app}/mapa", size)
    frame = map_frame(probe)
    # A sited initiative placed at the very right edge of the map, then opened (as a tap does).
    opened = frame.evaluate("""() => new Promise((done) => {
        const m = Object.values(window).find(v => v instanceof L.Map);
        let marker = null, cluster = null;
        m.eachLayer(l => { if (!cluster && L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) cluster = l; });
        // The cluster carries one popup function for all its points (views._elements.SitedInitiatives).
        if (cluster && cluster.getPopup()) marker = cluster.getLayers().find(l => l.options.k !== undefined) || null;
        if (!marker) { done(null); return; }
        cluster.zoomToShowLayer(marker, () => {
          const size = m.getSize(), at = m.latLngToContainerPoint(marker.getLatLng());
          m.panBy([at.x - (size.x - 4), at.y - size.y / 2], {animate: false});
          marker.fire("click", {latlng: marker.getLatLng()}, true);  // a tap: the group opens the point's popup
          setTimeout(() => {
            const box = m.getContainer().getBoundingClientRect();
            const pop = document.querySelector('.leaflet-popup').getBoundingClientRect();
            done({box: [box.left, box.top, box.right, box.bottom], pop: [pop.left, pop.top, pop.right, pop.bottom]});
          }, 1200);
        });
    })""")
    assert opened, "no sited initiative with a popup on the map"
    (bl, bt, br, bb), (pl, pt, pr, pb) = opened["box"], opened["pop"]
    assert bl - 1 <= pl and pr <= br + 1 and bt - 1 <= pt and pb <= bb + 1, opened
    assert_clean(probe)
