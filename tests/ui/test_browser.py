"""The whole app in a real browser: ``streamlit run app.py`` and Debian's chromium, offline.

One server for the module (SIT_DATA_DIR of the session store). Every request to a
non-loopback address is aborted and recorded by the ``browser_page`` fixture; each
test ends by requiring that nothing was blocked, and that there was no console
error, no page error and no failed local request.

Known and tolerated: when a page is opened by its own address (``/sector``), the
Streamlit frontend first looks for the server under that path
(``/sector/_stcore/health`` and ``/sector/_stcore/host-config``), gets a 404 and
falls back to the root. Those two probes, and the console lines Chromium writes
for them, are the only errors filtered out (:func:`unexpected`).

Expected numbers are computed from the store, not typed in.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyogrio
import pytest
import shapely

from layers import links, sector
from tests.ui.conftest import leaflet_counts
from views import symbology

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
_PROBE = re.compile(r"/[a-z]+/_stcore/(health|host-config)$")
_CLUSTER_JS = """
() => Array.from(document.querySelectorAll('.marker-cluster span'))
          .reduce((sum, s) => sum + (parseInt(s.textContent, 10) || 0), 0)
"""


# --------------------------------------------------------------------------- helpers


def unexpected(probe) -> dict[str, list[str]]:
    """What went wrong in the page, minus Streamlit's base-path probes (see module doc)."""
    http = [e for e in probe.http_errors if not (e.startswith("404 ") and _PROBE.search(e.split(" ", 1)[1]))]
    console = [
        e for e in probe.console_errors
        if not ("status of 404" in e and _PROBE.search(e.rsplit(" @ ", 1)[-1]))
    ]
    return {"blocked": probe.blocked, "console": console, "page": probe.page_errors, "http": http}


def assert_clean(probe) -> None:
    problems = unexpected(probe)
    assert problems == {"blocked": [], "console": [], "page": [], "http": []}, problems


def wait_idle(probe, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has connected and finished running the page script."""
    page = probe.page
    page.wait_for_selector('[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)


def open_page(probe, url: str):
    probe.goto(url)
    wait_idle(probe)


def main_text(probe) -> str:
    return probe.page.locator('[data-testid="stMain"]').inner_text()


def stable_counts(probe, frame, minimum: int, timeout_s: float = 30.0) -> dict:
    """Leaflet counts once drawing has settled (cluster animations included)."""
    counts = probe.wait_for_features(frame, minimum=minimum, timeout_s=timeout_s)
    deadline = time.monotonic() + timeout_s
    previous = None
    while time.monotonic() < deadline:
        counts = leaflet_counts(frame)
        counts["clustered"] = frame.evaluate(_CLUSTER_JS)
        if counts == previous:
            return counts
        previous = counts
        probe.page.wait_for_timeout(600)
    return counts


def point_parts(gdf) -> tuple[int, int]:
    """(point marks, line and area paths) that the map draws for ``gdf``'s sited rows."""
    points = shapes = 0
    for geom in gdf.geometry:
        if geom is None or geom.is_empty:
            continue
        for part in shapely.get_parts(geom):
            kind = symbology.geometry_kind(part.geom_type)
            if kind == "point":
                points += 1
        kind = symbology.geometry_kind(geom.geom_type)
        if kind in ("line", "polygon"):
            shapes += 1
    return points, shapes


def drawn_points(counts: dict, territories: int, shapes: int) -> int:
    """Point marks on the map: loose ones (circle paths or icons) plus those inside clusters."""
    loose = counts["paths"] - territories - shapes + counts["markers"]
    return loose + counts["clustered"]


def screenshot(probe, path: Path, max_height: int = 8000) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside its main block, so the
    viewport is stretched to the content's height for the picture, then restored."""
    page = probe.page
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppViewContainer], section.main')).map(e => e.scrollHeight), 0)"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), max_height)})
    page.wait_for_timeout(700)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def selectbox_choose(page, label: str, option_text: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.keyboard.type(option_text)
    page.get_by_role("option", name=re.compile(re.escape(option_text))).first.click()


# --------------------------------------------------------------------------- fixtures



@pytest.fixture(scope="module")
def app(streamlit_server, data_dir, browser):
    """Base URL of the app, after one visit to the root so that app.py's navigation is active."""
    if not APP.exists():
        pytest.skip("app.py is not there yet")
    server = streamlit_server.get(APP, env={"SIT_DATA_DIR": str(data_dir)})
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.base_url + "/", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    context.close()
    return server.base_url


# --------------------------------------------------------------------------- the plan's map


def test_home_map_draws_territories_and_sited_initiatives(app, browser_page, shipped, artifacts_dir):
    probe = browser_page
    open_page(probe, app + "/mapa")
    frame = probe.wait_for_map()
    n_terr = len(shipped["territories"])
    points, shapes = point_parts(shipped["initiatives"])
    assert (points, shapes) == (7, 3)  # 3 points + 2 two-point sites; 1 line and 2 areas
    counts = stable_counts(probe, frame, minimum=n_terr + shapes)
    probe.settle()
    screenshot(probe, artifacts_dir / "mapa.png")
    print(f"\n/mapa counts: {counts}")

    assert counts["leaflet_version"] == "1.9.4"
    assert counts["tiles"] == 0  # OpenStreetMap is optional and off
    assert counts["paths"] >= n_terr + shapes
    assert drawn_points(counts, n_terr, shapes) == points
    assert_clean(probe)


def test_a_point_opens_its_tooltip_and_popup_from_the_group(app, browser_page, shipped):
    """Points carry no tooltip or popup of their own: the cluster's one function names the point under the pointer."""
    probe = browser_page
    inits = shipped["initiatives"]
    point = inits[inits.geometry.geom_type == "Point"].iloc[0]
    open_page(probe, f"{app}/mapa?vista={point.geometry.y:.5f},{point.geometry.x:.5f},18")  # no clusters at 18
    frame = probe.wait_for_map()
    per_mark = frame.evaluate("""() => {
        const m = Object.values(window).find(v => v instanceof L.Map);
        let marks = 0, own = 0;
        m.eachLayer(l => { if (l instanceof L.CircleMarker && l.options.k !== undefined) {
            marks += 1; if (l.getTooltip() || l.getPopup()) { own += 1; } } });
        return [marks, own];
    }""")
    assert per_mark[0] >= 1 and per_mark[1] == 0, per_mark
    mark = frame.evaluate("""(name) => {
        const m = Object.values(window).find(v => v instanceof L.Map);
        let found = null;
        m.eachLayer(l => { if (!found && l instanceof L.CircleMarker && l.options.k !== undefined) { found = l; } });
        found.fire("mouseover", {latlng: found.getLatLng()}, true);
        const tip = document.querySelector(".leaflet-tooltip:not(.sit-label)").textContent;
        found.fire("click", {latlng: found.getLatLng()}, true);
        return [tip, document.querySelector(".sit-popup").textContent];
    }""", point["nombre"])
    named = [n for n in inits["nombre"] if mark[0].startswith(n)]  # the name, then the status
    assert named and named[0] in mark[1] and "Estrategia" in mark[1], mark
    assert_clean(probe)


@pytest.mark.parametrize(
    "query, select",
    [
        ("estrategia=6", lambda s: s["initiatives"][s["initiatives"]["estrategia"] == "E6"]),
        ("territorio=domeyko", lambda s: s["initiatives"][s["initiatives"]["id"].isin(
            s["relations"].ids_concerning(["domeyko"]))]),
    ],
    ids=["estrategia", "territorio"],
)
def test_filter_in_the_url_changes_the_drawing(app, browser_page, shipped, query, select):
    probe = browser_page
    n_terr = len(shipped["territories"])
    selected = select(shipped)
    points, shapes = point_parts(selected)
    all_points, all_shapes = point_parts(shipped["initiatives"])
    assert (points, shapes) != (all_points, all_shapes)

    open_page(probe, f"{app}/mapa?{query}")
    frame = probe.wait_for_map()
    counts = stable_counts(probe, frame, minimum=n_terr + shapes)
    print(f"\n/mapa?{query} counts: {counts}; expected points {points}, shapes {shapes}")
    # Every territory is still drawn (coloured by the selection); only the selection's sites are.
    assert counts["paths"] >= n_terr + shapes
    assert drawn_points(counts, n_terr, shapes) == points
    # The filter stays in the address, so the view can be shared.
    key, value = query.split("=")
    assert f"{key}=" in probe.page.url
    assert_clean(probe)


def _frame_token(probe) -> str:
    """Marks the map's frame element (once) and returns its mark: a new frame has none."""
    return probe.page.evaluate("""() => {
        const f = document.querySelector('iframe.sit-mapa-frame');
        if (!f) return null;
        f.dataset.probe = f.dataset.probe || String(Math.random());
        return f.dataset.probe;
    }""")


def _shown_selection(frame) -> str:
    return frame.evaluate("() => document.body.getAttribute('data-sit-selection')")


def _legend_text(frame) -> str:
    return frame.evaluate("() => document.querySelector('.sit-legend').innerText")


def test_a_new_selection_is_drawn_in_the_map_already_open(app, browser_page, shipped):
    """views.restyle: the frame and its document stay; territories, marks, legend and extent follow the filters."""
    probe = browser_page
    n_terr = len(shipped["territories"])
    inits = shipped["initiatives"]
    open_page(probe, f"{app}/mapa?estrategia=6")
    frame = probe.wait_for_map()
    e6 = inits[inits["estrategia"] == "E6"]
    points, shapes = point_parts(e6)
    counts = stable_counts(probe, frame, minimum=n_terr + shapes)
    assert drawn_points(counts, n_terr, shapes) == points
    token, document_url = _frame_token(probe), frame.url
    assert _shown_selection(frame) == ""  # the document's own selection
    assert "E6 · " in _legend_text(frame) and "E1 · " not in _legend_text(frame)
    fills_before = frame.evaluate(_FILLS_JS)
    frame.evaluate("""() => { for (const k of Object.keys(window)) if (k.startsWith('map_') && window[k] instanceof L.Map)
        window[k].openPopup('E6', window[k].getCenter()); }""")
    assert frame.locator(".leaflet-popup").count() == 1

    # «Limpiar filtros»: every initiative, drawn in the same document; the popup of the last one closes.
    probe.page.get_by_role("button", name="Limpiar filtros").click()
    wait_idle(probe)
    frame.wait_for_function("() => (document.body.getAttribute('data-sit-selection') || '').endsWith('.json')",
                            timeout=30_000)
    all_points, all_shapes = point_parts(inits)
    counts = stable_counts(probe, frame, minimum=n_terr + all_shapes)
    assert drawn_points(counts, n_terr, all_shapes) == all_points
    assert _frame_token(probe) == token and frame.url == document_url  # no new frame, no new document
    assert frame.locator(".leaflet-popup").count() == 0
    assert "E1 · " in _legend_text(frame)
    assert frame.evaluate(_FILLS_JS) != fills_before  # the territories are coloured by the new selection
    assert "estrategia=" not in probe.page.url

    # A name search that finds nothing: no marks, every territory still drawn, the legend says so.
    before = _shown_selection(frame)
    box = probe.page.get_by_label("Buscar en los nombres")
    box.fill("zzzz-ninguna")
    box.press("Enter")
    frame.wait_for_function("(s) => document.body.getAttribute('data-sit-selection') !== s", arg=before,
                            timeout=30_000)
    wait_idle(probe)
    counts = stable_counts(probe, frame, minimum=n_terr)
    assert drawn_points(counts, n_terr, 0) == 0 and counts["paths"] >= n_terr
    assert "no tiene iniciativas ubicadas" in _legend_text(frame)
    assert _frame_token(probe) == token
    assert_clean(probe)


def test_a_selection_that_cannot_be_fetched_says_so_and_the_next_one_clears_it(app, browser_page, shipped):
    """views.restyle: a missing selection document leaves the map as it was, with the notice of MapDefaults."""
    from urllib.parse import urlparse

    from views.restyle import FAILED_TEXT

    probe = browser_page
    n_terr = len(shipped["territories"])
    open_page(probe, f"{app}/mapa?estrategia=6")
    frame = probe.wait_for_map()
    stable_counts(probe, frame, minimum=n_terr)
    missing = urlparse(frame.url).path.rsplit("/", 1)[0] + "/" + "0" * 32 + ".json"  # published form, no file
    probe.page.evaluate("""(src) => {
        const slot = document.querySelector('div.sit-mapa');
        slot.setAttribute('data-sel', src);
        slot.querySelector('iframe').contentWindow.postMessage({sitSelection: 1}, window.location.origin);
    }""", missing)
    notice = frame.locator(".sit-notice.sit-selection-failed")
    notice.wait_for(timeout=30_000)
    assert notice.inner_text() == FAILED_TEXT and notice.get_attribute("role") == "status"
    assert stable_counts(probe, frame, minimum=n_terr)["paths"] >= n_terr  # the map still shows what it showed
    assert _shown_selection(frame) == ""
    problems = unexpected(probe)
    assert [e for e in problems["http"] if missing not in e] == [] and problems["page"] == []
    assert problems["blocked"] == []

    probe.page.get_by_role("button", name="Limpiar filtros").click()  # a selection that draws
    wait_idle(probe)
    frame.wait_for_function("() => (document.body.getAttribute('data-sit-selection') || '').endsWith('.json')",
                            timeout=30_000)
    assert frame.locator(".sit-notice").count() == 0


def test_in_place_the_view_follows_the_filters_not_the_colours(app, browser_page):
    """A colour change keeps the person's view; a filter change fits the selection's extent, and that
    fit is not written into the address as the person's view (views.restyle, views.maplocale)."""
    probe = browser_page
    open_page(probe, f"{app}/mapa?estrategia=6")
    frame = probe.wait_for_map()
    probe.wait_for_features(frame, minimum=10)
    box = frame.locator(".leaflet-container")
    box.hover()
    probe.page.mouse.wheel(0, 600)  # the person zooms out: the address follows
    probe.page.wait_for_function("() => location.search.includes('vista=')", timeout=15_000)
    view = frame.evaluate(_VIEW_JS)
    probe.page.wait_for_timeout(500)  # the zoom animation is over
    assert frame.evaluate(_VIEW_JS) == view

    before = _shown_selection(frame)
    probe.page.locator('[data-testid="stSidebar"]').get_by_text("Estado", exact=True).click()  # «Colorear por»
    frame.wait_for_function("(s) => document.body.getAttribute('data-sit-selection') !== s", arg=before,
                            timeout=30_000)
    wait_idle(probe)
    assert frame.evaluate(_VIEW_JS) == view  # new colours, same view...
    probe.page.wait_for_function("() => location.search.includes('vista=')", timeout=15_000)  # ...in the link too
    assert "por estado" in _legend_text(frame)

    before = _shown_selection(frame)
    probe.page.get_by_role("button", name="Limpiar filtros").click()
    frame.wait_for_function("(s) => document.body.getAttribute('data-sit-selection') !== s", arg=before,
                            timeout=30_000)
    wait_idle(probe)
    probe.page.wait_for_timeout(800)  # the fit's moveend has fired
    assert frame.evaluate(_VIEW_JS) != view  # new filters: the map fits their extent...
    assert "vista=" not in probe.page.url  # ...which is not the person's view
    assert_clean(probe)


def test_a_links_view_near_the_selections_extent_is_the_one_shown(app, browser_page):
    """A link's vista one zoom level from the selection's fit is not overridden by the fit's animation."""
    probe = browser_page
    open_page(probe, f"{app}/mapa?estrategia=6")
    frame = probe.wait_for_map()
    probe.wait_for_features(frame, minimum=10)
    probe.page.wait_for_timeout(500)
    lat, lon, zoom = frame.evaluate(_VIEW_JS)
    wanted = [f"{float(lat) + 0.001:.5f}", f"{float(lon) - 0.001:.5f}", zoom + 1]
    open_page(probe, f"{app}/mapa?estrategia=6&vista={wanted[0]},{wanted[1]},{wanted[2]}")
    frame = probe.wait_for_map()
    probe.wait_for_features(frame, minimum=10)
    probe.page.wait_for_timeout(1000)  # any animation would be over
    shown = frame.evaluate(_VIEW_JS)
    assert shown[2] == wanted[2] and abs(float(shown[0]) - float(wanted[0])) < 1e-4, (shown, wanted)
    assert_clean(probe)


_VIEW_JS = """() => {
    for (const k of Object.keys(window)) {
        const m = window[k];
        if (k.startsWith('map_') && m instanceof L.Map) { const c = m.getCenter(); return [c.lat.toFixed(5), c.lng.toFixed(5), m.getZoom()]; }
    }
    return null;
}"""


_FILLS_JS = """() => {
    for (const k of Object.keys(window)) {
        const m = window[k];
        if (!k.startsWith('map_') || !(m instanceof L.Map)) continue;
        const out = [];
        m.eachLayer((l) => { if (l.feature && l.feature.id !== undefined && l.options.fillColor) out.push(l.options.fillColor); });
        return out.join(',');
    }
    return '';
}"""


# --------------------------------------------------------------------------- the sector page


@pytest.mark.parametrize("ext", ["html", "json"])
def test_the_pages_and_frames_follow_only_documents_this_app_published(app, browser_page, monkeypatch, ext):
    """The one address test of the frame maker, the selection pointer and the frame's follower."""
    from views import mapframe, webassets

    browser_page.goto(f"{app}/_stcore/health")  # a page of the app's own origin
    other = "json" if ext == "html" else "html"
    name = f"1234-0123abcd/{'c0ffee' * 5}ab.{ext}"

    def verdicts(addresses: list) -> list[bool]:
        own = str(mapframe.own_address_js(ext))
        return browser_page.page.evaluate(f"(addresses) => addresses.map({own})", addresses)

    assert verdicts([
        f"/app/static/mapas/{name}",
        f"/app/static/mapas/{name}?r=1#y",
        f"{app}/app/static/mapas/{name}",  # absolute: not what the app writes
        f"//ejemplo.invalid/app/static/mapas/{name}",
        f"/app/static/mapas/{name[:-len(ext)]}{other}",
        f"/app/static/vendor/app/static/mapas/{name}",  # the folder's name inside another path
        f"/mapa/app/static/mapas/{name}",
        f"/app/static/mapas/..%2Fvendor%2Fleaflet%2F{name.split('/')[1]}",
        f"/app/static/mapas/1234-0123abcd/x/{name.split('/')[1]}",
        f"/app/static/mapas/{name.split('/')[1]}",
        f"app/static/mapas/{name}",
        f"/prefijo/app/static/mapas/{name}",
        None,
    ]) == [True, True, False, False, False, False, False, False, False, False, False, False, False]
    # A server behind a path prefix (server.baseUrlPath) publishes under it, and only there.
    monkeypatch.setattr(webassets, "base_url_path", lambda: "/prefijo")
    assert verdicts([f"/prefijo/app/static/mapas/{name}", f"/app/static/mapas/{name}",
                     f"/otro/prefijo/app/static/mapas/{name}"]) == [True, False, False]


def test_sector_page_by_link(app, browser_page, shipped, artifacts_dir):
    probe = browser_page
    open_page(probe, app + "/sector?territorio=domeyko")
    folded = probe.page.locator('[data-testid="stExpander"] summary').filter(has_text="Programas rurales (12)")
    folded.first.wait_for(timeout=30_000)
    assert "agua potable rural" not in main_text(probe)  # the programmes for every rural territory are folded
    folded.first.click()
    probe.page.get_by_text("agua potable rural").first.wait_for(timeout=10_000)
    text = main_text(probe)
    assert "Domeyko" in text
    assert "agua potable rural" in text
    assert "Paseos Peatonales" not in text
    assert "territorio=domeyko" in probe.page.url

    # The map: the territory and its neighbour (no sited initiative in Domeyko).
    frame = probe.wait_for_map()
    summary = sector.sector_summary("domeyko", shipped["initiatives"], shipped["territories"], shipped["relations"])
    counts = stable_counts(probe, frame, minimum=1 + len(summary.neighbours))
    assert counts["paths"] == 1 + len(summary.neighbours)
    assert counts["tiles"] == 0

    # Choosing another territory rewrites the address.
    selectbox_choose(probe.page, "Territorio", "Vista Alegre")
    probe.page.wait_for_url(re.compile(r"territorio=vista-alegre"), timeout=30_000)
    probe.page.get_by_text("Jardín Infantil Vista Alegre").first.wait_for(timeout=30_000)
    wait_idle(probe)
    assert "agua potable rural" not in main_text(probe)
    probe.settle()
    screenshot(probe, artifacts_dir / "sector.png")
    assert_clean(probe)


def test_sector_map_draws_neighbours_and_sited_initiatives(app, browser_page, shipped):
    probe = browser_page
    specific = shipped["relations"].specific
    sited = specific.loc[specific["relacion"] == "ubicada", "slug"]
    slug = sited.value_counts().index[0]  # the territory with most sited initiatives, from the store
    open_page(probe, app + f"/sector?territorio={slug}")
    frame = probe.wait_for_map()
    summary = sector.sector_summary(slug, shipped["initiatives"], shipped["territories"], shipped["relations"])
    points, shapes = point_parts(summary.sited)
    expected = 1 + len(summary.neighbours) + shapes + points
    counts = stable_counts(probe, frame, minimum=expected)
    assert points + shapes >= 1
    assert counts["paths"] == expected
    assert frame.locator(".sit-sector-legend").count() == 1
    assert_clean(probe)


def test_unknown_territory_in_the_link_warns(app, browser_page):
    probe = browser_page
    open_page(probe, app + "/sector?territorio=xyz")
    alert = probe.page.locator('[data-testid="stAlertContentWarning"]')
    alert.first.wait_for(timeout=30_000)
    assert "Territorio desconocido: «xyz»" in alert.first.inner_text()
    assert_clean(probe)


def test_an_icon_shortcode_in_the_link_is_shown_as_text(app, browser_page):
    probe = browser_page
    open_page(probe, app + "/sector?territorio=%3Amaterial%2Fwarning%3A%20%3Astreamlit%3A%20%3Arainbow%3A")
    alert = probe.page.locator('[data-testid="stAlertContentWarning"]').first
    alert.wait_for(timeout=30_000)
    assert "«:material/warning: :streamlit: :rainbow:»" in alert.inner_text().replace("\u2060", "")
    assert alert.locator('[role="img"], img').count() == 0
    assert_clean(probe)


def test_downloads_are_valid_files(app, browser_page, shipped, tmp_path):
    probe = browser_page
    slug = "centro" if "centro" in set(shipped["territories"]["slug"]) else shipped["territories"]["slug"].iloc[0]
    open_page(probe, app + f"/sector?territorio={slug}")
    summary = sector.sector_summary(slug, shipped["initiatives"], shipped["territories"], shipped["relations"])

    # GeoPackage: the territory's polygon, the sited initiatives one layer per geometry type,
    # the others as a table; every initiative says why it concerns the territory.
    with probe.page.expect_download(timeout=30_000) as info:
        probe.page.get_by_role("button", name=re.compile("Descargar el territorio y sus iniciativas")).click()
    download = info.value
    assert download.suggested_filename == f"sector-{slug}.gpkg"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    layers = dict(pyogrio.list_layers(path))
    assert layers["territorio"] in ("Polygon", "MultiPolygon")
    territory = pyogrio.read_dataframe(path, layer="territorio")
    assert len(territory) == 1 and territory.crs.to_epsg() == 4326
    assert territory["nombre"].iloc[0] == summary.nombre
    assert territory.geometry.iloc[0].area > 0
    sited_layers = [n for n in layers if n.startswith("iniciativas_") and n != "iniciativas_sin_ubicacion"]
    for name in sited_layers:
        assert layers[name] in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
    sited = sum(len(pyogrio.read_dataframe(path, layer=n)) for n in sited_layers)
    assert sited == len(summary.sited)
    table = pyogrio.read_dataframe(path, layer="iniciativas_sin_ubicacion", read_geometry=False)
    assert layers["iniciativas_sin_ubicacion"] is None  # an attribute table
    assert sited + len(table) == summary.counts["total"]
    assert table["motivo"].str.len().gt(0).all() and set(table["relacion"]) <= set(links.RELACIONES)
    assert (table.loc[table["relacion"] == "comunal", "motivo"] == "Abarca toda la comuna").all()

    # CSV: every initiative with its reason, for a spreadsheet.
    with probe.page.expect_download(timeout=30_000) as info:
        probe.page.get_by_role("button", name=re.compile("Descargar la lista de iniciativas")).click()
    csv_path = tmp_path / info.value.suggested_filename
    info.value.save_as(csv_path)
    assert csv_path.name == f"sector-{slug}-iniciativas.csv"
    back = pyogrio.read_dataframe(csv_path, read_geometry=False)
    assert len(back) == summary.counts["total"] and {"id", "relacion", "motivo"} <= set(back.columns)

    with probe.page.expect_download(timeout=30_000) as info:
        probe.page.get_by_role("button", name=re.compile("Descargar el informe imprimible")).click()
    report = info.value
    assert report.suggested_filename == f"informe-{slug}.html"
    report_path = tmp_path / report.suggested_filename
    report.save_as(report_path)
    html = report_path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html and "https://" not in html
    assert summary.nombre in html
    assert_clean(probe)


def test_map_downloads_separate_geometry_types_and_name_the_selection(app, browser_page, shipped, tmp_path):
    probe = browser_page
    open_page(probe, app + "/mapa?estrategia=1")
    chosen = shipped["initiatives"][shipped["initiatives"]["estrategia"] == "E1"]
    with probe.page.expect_download(timeout=30_000) as info:
        probe.page.get_by_role("button", name="Descargar GeoPackage").click()
    assert info.value.suggested_filename == "iniciativas_e1.gpkg"
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    layers = dict(pyogrio.list_layers(path))
    kinds = {"iniciativas_puntos": ("Point", "MultiPoint"), "iniciativas_lineas": ("LineString", "MultiLineString"),
             "iniciativas_poligonos": ("Polygon", "MultiPolygon"), "iniciativas_sin_ubicacion": (None,)}
    assert set(layers) <= set(kinds) and len(layers) >= 2, layers
    total = 0
    for name, kind in layers.items():
        assert kind in kinds[name], (name, kind)
        total += len(pyogrio.read_dataframe(path, layer=name, read_geometry=kind is not None))
    assert total == len(chosen)
    # The GeoJSON keeps one file and says in its button's help that it mixes geometry types.
    with probe.page.expect_download(timeout=30_000) as info:
        probe.page.get_by_role("button", name="Descargar GeoJSON").click()
    assert info.value.suggested_filename == "iniciativas_e1.geojson"
    assert_clean(probe)


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page_name", ["plan", "capas"])
def test_other_pages_render_offline(app, browser_page, artifacts_dir, page_name):
    if not (PROJECT / "pages" / f"{page_name}.py").exists():
        pytest.skip(f"pages/{page_name}.py is not there yet")
    probe = browser_page
    open_page(probe, f"{app}/{page_name}")
    probe.settle()
    assert probe.page.locator('[data-testid="stException"]').count() == 0
    screenshot(probe, artifacts_dir / f"{page_name}.png")
    assert_clean(probe)


@pytest.mark.parametrize("path, title", [("/sector?territorio=domeyko", "El plan en mi territorio"),
                                         ("/plan", "Plan de desarrollo comunal")])
def test_shared_link_on_a_fresh_server_uses_the_app_navigation(streamlit_server, data_dir, browser_page,
                                                                path, title):
    if not APP.exists():
        pytest.skip("app.py is not there yet")
    # Streamlit runs pages/*.py as a legacy multipage app until some script calls
    # st.navigation; a page run that way runs app.py (shared.run_inside_app), whose
    # st.navigation ends that mode. A server of its own per case, never visited before.
    server = streamlit_server.get(APP, env={"SIT_DATA_DIR": str(data_dir), "SIT_FRESH_SERVER": path})
    probe = browser_page
    open_page(probe, server.base_url + path)
    probe.page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    nav = probe.page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    nav = [n.strip() for n in nav]
    assert {"Mapa del plan", "Mi sector", "Plan", "Capas"} <= set(nav), nav
    # Legacy mode would list the files of pages/ by their lower-case stems (app, shared, mapa...).
    assert all(n[:1].isupper() for n in nav), nav
    # app.py ran: its sidebar caption is there, and the page is shown once.
    assert probe.page.get_by_text("SIT Vallenar · Sistema de información territorial").count() == 1
    assert probe.page.locator('[data-testid="stMain"] h1').filter(has_text=title).count() == 1
    assert probe.page.get_by_text("Page not found").count() == 0
    assert probe.page.locator('[data-testid="stException"]').count() == 0
    assert_clean(probe)


# --------------------------------------------------------------------------- the printed report


def _report_pages(browser, summary, shipped) -> tuple[str, list[list[str]]]:
    """The sector report printed to A4 by chromium: its HTML and the lines of each page."""
    import datetime as dt
    import io

    import pypdf

    from layers import store
    from views import report

    html = report.sector_report_html(summary, store.read_layer("comuna"), generated=dt.date(2026, 11, 30),
                                     territories=shipped["territories"])
    page = browser.new_page()
    try:
        page.set_content(html)
        pdf = page.pdf(format="A4", print_background=True)
    finally:
        page.close()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return html, [[line.strip() for line in p.extract_text().splitlines() if line.strip()] for p in reader.pages]


def test_printed_report_starts_with_map_and_figures_and_keeps_headings_with_lists(browser, shipped):
    from html import unescape

    order = sector.territory_order(shipped["territories"])
    for slug in (order[0], order[-1]):
        summary = sector.sector_summary(slug, shipped["initiatives"], shipped["territories"], shipped["relations"])
        html, pages = _report_pages(browser, summary, shipped)
        first = "\n".join(pages[0])
        assert summary.nombre in first
        assert "Mapa" in pages[0], "the map is on page one"
        assert "Límite comunal (DPA 2023)" in first, "the map's legend is on page one"
        assert str(summary.counts["total"]) in first
        headings = {unescape(re.sub(r"<[^>]+>", "", h)).strip()
                    for h in re.findall(r"<h[2-4][^>]*>(.*?)</h[2-4]>", html, flags=re.S)}
        for number, lines in enumerate(pages[:-1], start=1):
            tail = lines[-1]
            assert not any(h.startswith(tail) or tail.startswith(h) for h in headings if len(h) > 3), (
                f"{slug}: page {number} ends with the heading «{tail}»")
            _assert_no_lone_first_item(slug, number, lines, pages[number], headings)


_ID = re.compile(r"\bE\d-P\d+-\d+\b")


def _assert_no_lone_first_item(slug, number, lines, next_lines, headings) -> None:
    """A list that goes on to the next page leaves at least two of its items under its heading."""
    def is_heading(line: str) -> bool:
        return any(h.startswith(line) or line.startswith(h) for h in headings if len(h) > 3)

    last = max((i for i, line in enumerate(lines) if is_heading(line)), default=None)
    if last is None or not next_lines or is_heading(next_lines[0]):
        return
    items = sum(bool(_ID.search(line)) for line in lines[last + 1:])
    assert items != 1, f"{slug}: page {number} ends with «{lines[last]}» and only one of its items"
