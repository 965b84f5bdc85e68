"""Hostile names from data, links and file names show as text, in every context, and run nothing.

One list of hostile names (:data:`HOSTILE`) is fed through

- an imported territory layer (``nombre``) and an imported reference layer, read from a
  file whose own name is hostile (it lands in the layers' ``fuente``/``descripcion``),
  imported with :func:`layers.ingest.importer.import_file` into a private ``SIT_DATA_DIR``;
- the filter parameters of shared links (``?territorio=``, ``?estrategia=``, ``?plan=``,
  ``?tipo=``, ``?alcance=``, ``?capa=``, ``?ubicaciones=`` on /mapa, ``?territorio=`` on /sector).

The real app runs in Debian's chromium (``streamlit run app.py``); a dialog handler fails
the test if any ``alert`` opens, every tooltip of the maps is opened, and the test checks
that no image or request points at the hostile addresses and that the names read as typed.
AppTest checks that warnings are literal Markdown and bounded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote, urlencode

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from tests.htmltext import read_markdown, shown
from tests.ui.conftest import app_test
from views.escape import MARKDOWN_SPECIAL, js_value

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"

#: Every hostile name, once; each context gets all of them.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "${alert(document.domain)}",
    "`",
    "</script><script>alert(1)</script>",
    "![x](http://127.0.0.1:9/x.png)",
    "[Llame aquí](javascript:alert(1))",
    "javascript:alert(1)",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "**bold**",
    "$x$",
]
#: A file name made of hostile parts (a file name cannot hold ``/``).
HOSTILE_FILE = "`${alert(1)}` <img src=x onerror=alert(1)> [Llame aquí](javascript:alert(1)) **f**.geojson"
TERRITORY_LAYER = "hostil"
REFERENCE_LAYER = "referencia_hostil"
#: Requests that a rendered hostile name would make.
BAD_REQUEST = re.compile(r"127\.0\.0\.1:9/|/x$|/x\.png$|javascript:")


# --------------------------------------------------------------------------- data


def _cells(n: int) -> list[shapely.Geometry]:
    """``n`` cells of a grid over the shipped urban sectors (they share edges)."""
    from layers import store

    terr = store.read_layer("territorios")
    urban = shapely.union_all(terr.loc[terr["tipo"] == "sector urbano"].geometry.to_numpy())
    x0, y0, x1, y1 = urban.bounds
    side = 4
    cells = []
    for i in range(side):
        for j in range(side):
            cell = box(x0 + (x1 - x0) * i / side, y0 + (y1 - y0) * j / side,
                       x0 + (x1 - x0) * (i + 1) / side, y0 + (y1 - y0) * (j + 1) / side)
            part = shapely.intersection(cell, urban)
            if part.area > 0:
                cells.append(part)
    assert len(cells) >= n
    return cells[:n]


@pytest.fixture(scope="module")
def hostile_dir(data_dir, tmp_path_factory) -> Path:
    """A private ``SIT_DATA_DIR``: the session store plus a hostile territory and reference layer."""
    from layers import settings, store
    from layers.ingest import importer

    folder = tmp_path_factory.mktemp("hostile_store")
    shutil.copyfile(data_dir / settings.STORE_FILENAME, folder / settings.STORE_FILENAME)
    files = tmp_path_factory.mktemp("hostile_files")
    previous = os.environ["SIT_DATA_DIR"]
    os.environ["SIT_DATA_DIR"] = str(folder)
    try:
        store.ensure_store()
        territories = gpd.GeoDataFrame({"nombre": HOSTILE}, geometry=_cells(len(HOSTILE)), crs="EPSG:4326")
        path = files / HOSTILE_FILE
        pyogrio.write_dataframe(territories, path)
        importer.import_file(path, as_="territorios", layer=TERRITORY_LAYER, name_field="nombre")
        marks = gpd.GeoDataFrame(
            {"nombre": HOSTILE},
            geometry=[shapely.point_on_surface(c) for c in territories.geometry],
            crs="EPSG:4326",
        )
        ref_path = files / ("ref " + HOSTILE_FILE)
        pyogrio.write_dataframe(marks, ref_path)
        importer.import_file(ref_path, as_="referencia", layer=REFERENCE_LAYER)
    finally:
        os.environ["SIT_DATA_DIR"] = previous
    return folder


@pytest.fixture(scope="module")
def hostile_layer(hostile_dir) -> gpd.GeoDataFrame:
    from layers import store

    previous = os.environ["SIT_DATA_DIR"]
    os.environ["SIT_DATA_DIR"] = str(hostile_dir)
    try:
        return store.read_layer(TERRITORY_LAYER)
    finally:
        os.environ["SIT_DATA_DIR"] = previous


@pytest.fixture
def in_hostile_store(hostile_dir, monkeypatch):
    """AppTest runs in this process: point it at the hostile store."""
    monkeypatch.setenv("SIT_DATA_DIR", str(hostile_dir))
    return hostile_dir


# --------------------------------------------------------------------------- Markdown checks


def rendered(markdown: str) -> str:
    """What people read of Markdown whose special characters are all backslash-escaped."""
    return read_markdown(markdown)


def assert_literal_markdown(markdown: str) -> None:
    """Every Markdown special character of ``markdown`` is escaped (nothing can become markup)."""
    bare = re.sub(r"\\.", "", markdown.replace("  \n", " "))
    live = sorted({c for c in bare if c in MARKDOWN_SPECIAL})
    assert not live, f"unescaped {live} in {markdown!r}"


# --------------------------------------------------------------------------- AppTest


def test_the_layer_holds_every_hostile_name(hostile_layer):
    assert sorted(hostile_layer["nombre"]) == sorted(HOSTILE)


@pytest.mark.parametrize("key", ["territorio", "estrategia", "plan", "tipo", "alcance", "capa", "ubicaciones"])
def test_map_link_values_are_literal_in_one_warning(in_hostile_store, key):
    at = app_test(query={key: ",".join(v for v in HOSTILE if "," not in v)}, timeout=120).run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.warning) == 1, [w.value for w in at.warning]
    message = at.warning[0].value
    assert_literal_markdown(message)
    shown = rendered(message)
    assert shown.count("«") >= 1 and HOSTILE[0][:20] in shown
    if key not in ("capa", "ubicaciones"):  # one message per value: three listed, the rest counted
        assert re.search(r"… y \d+ más\.$", shown), shown


def test_five_thousand_values_make_one_short_warning(in_hostile_store):
    values = ",".join(str(i) for i in range(10, 5010))
    at = app_test(query={"estrategia": values}, timeout=120).run()
    assert not at.exception
    assert len(at.warning) == 1
    assert "y 4997 más" in rendered(at.warning[0].value)
    assert len(at.warning[0].value) < 1500


@pytest.mark.parametrize("value", HOSTILE)
def test_sector_link_value_is_literal(in_hostile_store, value):
    at = app_test("pages/sector.py", {"territorio": value, "ubicaciones": value}, timeout=120).run()
    assert not at.exception
    assert len(at.warning) == 2  # the territory and the site layer, each once
    for warning in at.warning:
        assert_literal_markdown(warning.value)
    assert rendered(at.warning[0].value).startswith(f"Territorio desconocido: «{value}».")


def test_sector_page_of_the_hostile_layer_writes_names_as_text(in_hostile_store, hostile_layer):
    names = dict(zip(hostile_layer["slug"], hostile_layer["nombre"]))
    for slug, name in names.items():
        at = app_test("pages/sector.py", {"capa": TERRITORY_LAYER, "territorio": slug}, timeout=120).run()
        assert not at.exception, [e.message for e in at.exception]
        assert not at.warning, [w.value for w in at.warning]
        header = at.header[0].value
        assert_literal_markdown(header)
        assert rendered(header) == name
        for metric in at.metric:
            assert_literal_markdown(metric.label)
        pills = at.button_group(key=f"vecino_{slug}")
        for option in pills.options:
            assert_literal_markdown(option)
        assert {rendered(o) for o in pills.options} <= set(HOSTILE)


# --------------------------------------------------------------------------- real browser

# Hover every drawn feature (the event reaches the group its tooltip is bound to) and
# collect the text of the tooltips that open; returns [features hovered, texts].
_HOVER_ALL_JS = """
() => {
  const maps = [];
  for (const key of Object.keys(window)) {
    try { if (window[key] instanceof L.Map) { maps.push(window[key]); } } catch (e) { /* not readable */ }
  }
  let hovered = 0;
  const texts = [];
  for (const map of maps) {
    const layers = [];
    map.eachLayer((layer) => layers.push(layer));
    for (const layer of layers) {
      if (layer._layers) { continue; }  // groups: their members are visited themselves
      const at = layer.getLatLng ? layer.getLatLng()
        : (layer.getBounds && layer.getBounds().isValid() ? layer.getBounds().getCenter() : null);
      if (!at) { continue; }
      layer.fire("mouseover", {latlng: at}, true);
      hovered += 1;
      document.querySelectorAll(".leaflet-tooltip").forEach((t) => texts.push(t.textContent.trim()));
      layer.fire("mouseout", {latlng: at}, true);
    }
  }
  return [hovered, texts];
}
"""
_IMAGES_JS = "() => Array.from(document.querySelectorAll('img')).map((i) => i.getAttribute('src') || '')"
_LINKS_JS = "() => Array.from(document.querySelectorAll('a[href^=\"javascript\"]')).length"


@pytest.fixture(scope="module")
def hostile_app(streamlit_server, hostile_dir, browser) -> str:
    if not APP.exists():
        pytest.skip("app.py is not there yet")
    server = streamlit_server.get(APP, env={"SIT_DATA_DIR": str(hostile_dir)})
    return server.base_url


@pytest.fixture
def guarded(browser_page):
    """The browser page with a dialog handler: every dialog is recorded (and dismissed)."""
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    browser_page.page.on("dialog", on_dialog)
    browser_page.dialogs = dialogs
    return browser_page


def _open(probe, url: str) -> None:
    probe.goto(url)
    page = probe.page
    page.wait_for_selector('[data-test-connection-state="CONNECTED"]', timeout=60_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=60_000)


def _every_frame(probe, script: str) -> list:
    out = []
    for frame in probe.page.frames:
        try:
            out.append(frame.evaluate(script))
        except Exception:  # a frame detached while the page re-rendered
            continue
    return out


def _assert_nothing_ran(probe) -> None:
    probe.settle(1200)
    assert probe.dialogs == [], probe.dialogs
    assert list(probe.page_errors) == [], probe.page_errors
    asked = [u for u in probe.local_requests + probe.blocked if BAD_REQUEST.search(u)]
    assert asked == [], asked
    images = [src for srcs in _every_frame(probe, _IMAGES_JS) for src in srcs]
    assert not [s for s in images if s in ("x", "http://127.0.0.1:9/x.png") or "127.0.0.1:9" in s], images
    assert sum(_every_frame(probe, _LINKS_JS)) == 0


def _map_tooltips(probe, minimum: int) -> list[str]:
    """Texts of the tooltips of every feature of the page's map (at least ``minimum`` features)."""
    frame = probe.wait_for_map()
    probe.wait_for_features(frame, minimum=minimum)
    hovered, texts = frame.evaluate(_HOVER_ALL_JS)
    assert hovered >= minimum
    return [re.sub(r"\s+", " ", t) for t in texts]


def _sector_cover(layer: gpd.GeoDataFrame) -> list[str]:
    """Few territories whose page shows, as itself or a neighbour, every hostile name."""
    from layers import sector

    touches = {slug: {name, *sector.neighbours(slug, layer)["nombre"]}
               for slug, name in zip(layer["slug"], layer["nombre"])}
    chosen, seen = [], set()
    while seen != set(HOSTILE):
        slug = max(touches, key=lambda s: len(touches[s] - seen))
        chosen.append(slug)
        seen |= touches[slug]
    return chosen


def test_sector_pages_show_hostile_names_as_text_and_run_nothing(hostile_app, guarded, hostile_layer):
    probe = guarded
    seen_in_tooltips: set[str] = set()
    for slug in _sector_cover(hostile_layer):
        _open(probe, f"{hostile_app}/sector?capa={TERRITORY_LAYER}&territorio={slug}")
        name = hostile_layer.set_index("slug").loc[slug, "nombre"]
        header = shown(probe.page.locator('[data-testid="stMain"] h2').first.inner_text())
        assert header.strip() == name
        # The map's frame is named by the page itself, before its document runs: the attribute that
        # carries the name survives the page's sanitiser whatever the name holds.
        carried = probe.page.locator("div.sit-mapa").first.get_attribute("data-title")
        assert carried and json.loads(carried) == f"Mapa de {name} y sus territorios vecinos", carried
        tips = _map_tooltips(probe, minimum=2)
        seen_in_tooltips |= {n for n in HOSTILE for t in tips if t.startswith(f"{n} (")}
        # The layer control lists the territory by its name, as text.
        control = probe.wait_for_map().evaluate(
            "() => document.querySelector('.leaflet-control-layers-overlays').textContent"
        )
        assert name in control, control
        pills = probe.page.locator('[data-testid="stButtonGroup"] button').all_inner_texts()
        assert {shown(p).strip() for p in pills} <= set(HOSTILE), pills
        _assert_nothing_ran(probe)
    assert seen_in_tooltips == set(HOSTILE)

    # The territory picker (a selectbox: plain-text options) lists every name as typed.
    box = probe.page.locator('[data-testid="stSelectbox"]').filter(has_text="Territorio").last
    box.click()
    probe.page.get_by_role("option").first.wait_for(timeout=10_000)
    options = [o.strip() for o in probe.page.get_by_role("option").all_inner_texts()]
    for name in HOSTILE:
        assert any(o.startswith(f"{name} ") and o.endswith(" — sector urbano") for o in options), (name, options)  # accent-free alias may follow the name
    _assert_nothing_ran(probe)


def test_map_page_with_hostile_layers_and_link_runs_nothing(hostile_app, guarded):
    probe = guarded
    values = ",".join(v for v in HOSTILE if "," not in v)
    query = dict.fromkeys(("territorio", "estrategia", "plan", "tipo", "alcance"), values)
    query.update(capa=TERRITORY_LAYER, ubicaciones=HOSTILE[1])
    _open(probe, f"{hostile_app}/mapa?{urlencode(query, quote_via=quote)}")
    alerts = probe.page.locator('[data-testid="stAlertContentWarning"]')
    assert alerts.count() == 1
    text = shown(alerts.first.inner_text())
    assert HOSTILE[0] in text and "más" in text
    assert alerts.first.locator("img, a").count() == 0
    tips = _map_tooltips(probe, minimum=len(HOSTILE))
    joined = "\n".join(tips)
    for name in HOSTILE:
        assert name in joined, (name, tips[:5])
    _assert_nothing_ran(probe)


def test_map_page_link_to_an_unknown_layer_is_literal(hostile_app, guarded):
    probe = guarded
    for value in ("![x](http://127.0.0.1:9/x.png)", "[Llame aquí](javascript:alert(1))"):
        _open(probe, f"{hostile_app}/mapa?capa={quote(value)}&ubicaciones={quote(value)}")
        alerts = probe.page.locator('[data-testid="stAlertContentWarning"]')
        assert alerts.count() == 1
        assert value in shown(alerts.first.inner_text())
        _assert_nothing_ran(probe)


def test_js_value_round_trips_in_a_script_element(browser):
    """Every hostile name written with views.escape.js_value into a <script> reads back as itself."""
    page = browser.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.set_content(f"<html><body><script>window.names = {js_value(HOSTILE)};</script></body></html>")
        assert page.evaluate("() => window.names") == HOSTILE
        assert dialogs == [] and errors == []
    finally:
        page.close()


def test_capas_page_runs_nothing(hostile_app, guarded):
    probe = guarded
    _open(probe, f"{hostile_app}/capas")
    assert probe.page.locator('[data-testid="stException"]').count() == 0
    _assert_nothing_ran(probe)
