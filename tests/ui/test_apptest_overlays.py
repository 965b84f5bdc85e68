"""Imported layers used by the app, with Streamlit's AppTest on a private store (``fresh_store``).

- Reference layers (``clase`` ``referencia``) are drawn on the map of the plan as
  overlays of their own, listed in the layer control and the legend, names escaped.
- Imported initiative sites (``clase`` ``ubicaciones``) are laid over the initiatives:
  the most recent site layer by default, ``?ubicaciones=`` to choose, and the map,
  the table, the popups and the sector page follow.
- Without site layers there is no site selector.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import shapely
from streamlit.testing.v1 import AppTest

from layers import links, store
from layers.ingest import importer
from tests.htmltext import outline
from tests.layers.ingest._import_fixtures import points_layer, write
from tests.ui.conftest import app_test, frame_document, map_frames

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
TIMEOUT = 90
TURBINA = "E1-P1-08"
SITES_KEY = "mapa_ubicaciones"
SITES_LABEL = "Ubicaciones de las iniciativas"
SITES_FILE = "turbina_en_domeyko.geojson"
#: The map page's figure of initiatives with a place on the map.
SITED_LABEL = "Con lugar en el mapa"


def run_map(query: dict[str, str] | None = None) -> AppTest:
    return app_test("pages/mapa.py", query, timeout=TIMEOUT).run()


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def decoded(text: str) -> str:
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&").replace("\\u0027", "'")


def map_document(at: AppTest) -> str:
    """The HTML document of the map the page drew (published by views.mapframe; no map object is kept)."""
    (frame,) = map_frames(at)
    return frame_document(frame)


def _documents(at: AppTest) -> list[dict]:
    """The JSON documents the map's elements draw from (``var d = {...}``), in page order."""
    page, decoder = decoded(map_document(at)), json.JSONDecoder()
    return [decoder.raw_decode(page, m.end())[0] for m in re.finditer(r"var d = (?=\{)", page)]


def reference_documents(at: AppTest) -> list[dict]:
    """The JSON document of each reference overlay (marks ``pt``; the sited initiatives' also has records ``r``)."""
    return [d for d in _documents(at) if "pt" in d and "r" not in d]


def sited_document(at: AppTest) -> dict:
    (doc,) = [d for d in _documents(at) if "pt" in d and "r" in d]
    return doc


def overlay_names(at: AppTest) -> list[str]:
    """Names the layer control lists as overlays."""
    block = re.search(r"overlays :\s*\{(.*?)\},", map_document(at), flags=re.S).group(1)
    return [json.loads(f'"{n}"') for n in re.findall(r'"((?:[^"\\]|\\.)*)" : \w+,', block)]


def shown_on_open(at: AppTest, name: str) -> bool:
    """Whether the overlay listed as ``name`` is added to the map when it opens."""
    page = map_document(at)
    block = re.search(r"overlays :\s*\{(.*?)\},", page, flags=re.S).group(1)
    variable = {json.loads(f'"{n}"'): v for n, v in re.findall(r'"((?:[^"\\]|\\.)*)" : (\w+),', block)}[name]
    return re.search(rf"\b{variable}\.addTo\(map_\w+\);", page) is not None


def legend(at: AppTest) -> str:
    (html_js,) = re.findall(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', map_document(at))
    return json.loads(decoded(html_js))


def table_ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["id"]) if len(at.dataframe) else []


def site_selectors(at: AppTest) -> list:
    return [s for s in at.sidebar.selectbox if s.label == SITES_LABEL]


def import_sites(tmp_path: Path, layer: str = "ubicaciones_prueba", file_name: str = SITES_FILE) -> Path:
    """Import a site layer that moves La Turbina (E1-P1-08) to the centre of Domeyko."""
    terr = store.read_layer("territorios")
    centre = shapely.point_on_surface(terr.loc[terr["slug"] == "domeyko"].geometry.iloc[0])
    sites = gpd.GeoDataFrame({"codigo": [TURBINA]}, geometry=[centre], crs="EPSG:4326")
    path = write(sites, tmp_path / file_name)
    importer.import_file(path, as_="iniciativas", layer=layer, id_field="codigo", precision_m=50)
    return path


# --------------------------------------------------------------------------- reference layers


def test_reference_layer_is_an_overlay_of_the_map(fresh_store, tmp_path):
    names = ["Plaza <b>x</b>", "Población Hermanos Carrera", "Domeyko"]
    path = write(points_layer(names=names), tmp_path / "puntos.geojson")
    importer.import_file(path, as_="referencia", layer="puntos_ref")
    title = store.layer_info("puntos_ref")["titulo"]

    at = run_map()
    no_failure(at)
    refs = reference_documents(at)
    assert len(refs) == 1
    (doc,) = refs
    assert len(doc["pt"]) == 3 and doc["sh"]["features"] == []
    shown = {doc["n"][p[2]] for p in doc["pt"]}
    assert shown == {"Plaza &lt;b&gt;x&lt;/b&gt;", "Población Hermanos Carrera", "Domeyko"}
    assert doc["ps"]["fill"] is False  # hollow grey points
    assert "<b>x" not in map_document(at)
    # Listed in the layer control by its title (shown by default), and in the legend.
    assert title in overlay_names(at)
    assert shown_on_open(at, title)
    assert "Capas de referencia" in legend(at) and title in legend(at)
    # The initiatives are still drawn as before.
    assert sited_document(at)["r"]


def test_no_reference_layer_draws_no_overlay(fresh_store):
    at = run_map()
    no_failure(at)
    assert reference_documents(at) == []
    assert "Capas de referencia" not in legend(at)


# --------------------------------------------------------------------------- initiative sites


def test_no_site_layer_no_selector(fresh_store):
    at = run_map()
    no_failure(at)
    assert site_selectors(at) == []
    assert "ubicaciones" not in at.query_params
    assert not at.warning


def test_imported_sites_are_used_by_default(fresh_store, tmp_path):
    import_sites(tmp_path)
    at = run_map({"territorio": "domeyko"})
    no_failure(at)
    (selector,) = site_selectors(at)
    assert selector.options == ["Referenciales (incluidas en el sistema)", "Ubicaciones prueba"]
    assert selector.value == "ubicaciones_prueba"
    assert at.query_params["ubicaciones"] == "ubicaciones_prueba"
    assert not at.warning

    # La Turbina is now sited in Domeyko: selected by the territory, named after it.
    shown = at.dataframe[0].value.set_index("id")
    assert TURBINA in shown.index
    assert shown.loc[TURBINA, "territorios"] == "Domeyko"
    # The relation behind it is "ubicada" (computed independently).
    merged = importer.merge_sites(store.read_layer("iniciativas"), "ubicaciones_prueba", store.read_layer("territorios"))
    rel = links.relate(merged, store.read_layer("territorios")).pairs(ids=[TURBINA])
    assert rel.loc[(rel["id"] == TURBINA) & (rel["slug"] == "domeyko"), "relacion"].tolist() == ["ubicada"]
    # Its popup names the imported file as the source of the geometry.
    doc = sited_document(at)
    record = next(r for r in doc["r"] if r[1] == TURBINA)
    assert SITES_FILE in doc["f"][record[7]]
    sited_with = {m.label: int(m.value) for m in at.metric}[SITED_LABEL]

    # The included sites: La Turbina stays in its own sector.
    included = run_map({"territorio": "domeyko", "ubicaciones": "incluidas"})
    no_failure(included)
    assert site_selectors(included)[0].value == "incluidas"
    assert TURBINA not in table_ids(included)
    assert {m.label: int(m.value) for m in included.metric}[SITED_LABEL] == sited_with - 1
    doc = sited_document(included)
    assert not any(SITES_FILE in f for f in doc["f"])


def test_site_selector_changes_the_selection_and_the_url(fresh_store, tmp_path):
    import_sites(tmp_path)
    at = run_map({"territorio": "domeyko"})
    assert TURBINA in table_ids(at)
    at.selectbox(key=SITES_KEY).set_value("incluidas").run()
    no_failure(at)
    assert TURBINA not in table_ids(at)
    assert at.query_params["ubicaciones"] == "incluidas"


def test_unknown_site_layer_is_reported_and_the_default_used(fresh_store, tmp_path):
    import_sites(tmp_path, layer="ubicaciones_antiguas", file_name="antiguas.geojson")
    import_sites(tmp_path, layer="ubicaciones_nuevas", file_name="nuevas.geojson")
    at = run_map({"ubicaciones": "no_existe"})
    no_failure(at)
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1
    assert "Capa de ubicaciones desconocida: «no_existe»" in warnings[0].replace("\\", "")
    # The most recently imported site layer is the default.
    assert at.selectbox(key=SITES_KEY).value == "ubicaciones_nuevas"
    assert at.query_params["ubicaciones"] == "ubicaciones_nuevas"


def sector_text(at: AppTest) -> str:
    """The page's Markdown and the text of its initiative lists (``st.html`` blocks)."""
    lists = [text for e in at.html for _, text in outline(e.value)]
    return "\n".join([str(e.value).replace("\\", "") for e in at.markdown] + lists)


def sited_block(at: AppTest) -> str:
    """Text of the list of the initiatives sited in the territory ("" when the page has none)."""
    blocks = [outline(e.value) for e in at.html]
    sited = [b for b in blocks if b and b[0][0] == "h4" and b[0][1].startswith("Con lugar")]
    return "\n".join(text for _, text in sited[0]) if sited else ""


def test_sector_page_uses_the_imported_sites(fresh_store, tmp_path):
    import_sites(tmp_path)
    at = app_test("pages/sector.py", {"territorio": "domeyko"}, TIMEOUT).run()
    no_failure(at)
    assert not at.warning
    assert TURBINA in sited_block(at)
    assert any("Ubicaciones prueba" in str(c.value) for c in at.caption)

    at = app_test("pages/sector.py", {"territorio": "domeyko", "ubicaciones": "incluidas"}, TIMEOUT).run()
    no_failure(at)
    assert TURBINA not in sector_text(at)
