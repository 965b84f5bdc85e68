"""One relation rule for the app and the command line, with Streamlit's AppTest on a private store.

The shipped territory layer ``territorios`` is replaced by an import of the same
name (``replace``), as ``cli.py import FILE --as territorios --layer territorios
--replace`` does. The plan's link table names slugs of the shipped layer, so the
links must be translated through it; the map and sector pages once recomputed
that rule themselves and failed («Faltan los territorios de referencia...»).
Here both pages are run after the replacement and must work, and what they show
for a territory must be what ``cli.py export iniciativas --territorio`` writes.

The default layer of initiative sites is one rule too: the newest imported site
layer, in the app and in the command line alike.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from layers import settings, store
from layers.ingest import importer
from tests.htmltext import outline
from tests.layers.ingest._import_fixtures import PLAZA, city_units, write

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
SECTOR_PAGE = PROJECT / "pages" / "sector.py"
TIMEOUT = 90
#: Linked to Domeyko by the plan (no geometry): reached through overlap with the shipped layer.
LINKED_TO_DOMEYKO = "E1-P4-09"
#: Sited in the city centre by the shipped sites.
SITED_IN_CENTRE = "E1-P1-03"
#: Initiative an imported site moves to Domeyko (La Turbina).
TURBINA = "E1-P1-08"
INITIATIVE_ID = re.compile(r"\bE\d+-P\d+-\d+\b")


# --------------------------------------------------------------------------- helpers


def cli(data_dir: Path, *args: object) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, str(PROJECT / "cli.py"), *map(str, args)],
        capture_output=True, text=True, env=env, cwd=PROJECT,
    )


def cli_ids(data_dir: Path, out: Path, *filters: object) -> set[str]:
    """Ids of ``cli.py export iniciativas`` with ``filters`` (GeoJSON)."""
    proc = cli(data_dir, "export", "iniciativas", "-o", out, *filters)
    assert proc.returncode == 0, proc.stderr
    return {f["properties"]["id"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]}


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert not at.warning, [w.value for w in at.warning]


def run_map(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def open_sector(query: dict[str, str]) -> AppTest:
    """The sector page, reached inside ``app.py``'s navigation with ``query`` in the address."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(str(SECTOR_PAGE.relative_to(PROJECT)))
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def map_table(at: AppTest):
    (frame,) = [d.value for d in at.dataframe]
    return frame.set_index("id")


def sector_ids(at: AppTest) -> set[str]:
    """Initiative ids listed on the sector page (the items of its ``st.html`` lists)."""
    return {m for e in at.html for tag, text in outline(e.value) if tag == "li" for m in INITIATIVE_ID.findall(text)}


@pytest.fixture
def replaced(fresh_store, tmp_path) -> tuple[Path, gpd.GeoDataFrame]:
    """A private store whose ``territorios`` is an imported layer of referential unidades vecinales.

    A 3 x 3 grid over the shipped urban sectors plus one rural unit (the shipped
    Domeyko), slugs ``uv-01``... and ``uv-r1``; part of the commune only.
    """
    path = write(city_units(), tmp_path / "unidades_vecinales.geojson")
    report = importer.import_file(
        path, as_="territorios", layer="territorios", name_field="NOMBRE", id_field="COD_UV", replace=True
    )
    assert report.replaced
    info = store.layer_info("territorios")
    assert info["origen"] == store.IMPORTED and info["clase"] == "territorios"
    return fresh_store.parent, store.read_layer("territorios")


# --------------------------------------------------------------------------- replaced territories


def test_map_page_works_after_territories_were_replaced(replaced, tmp_path):
    data_dir, units = replaced
    plaza_uv = units.loc[shapely.contains(units.geometry.to_numpy(), shapely.Point(PLAZA)), "slug"].iloc[0]
    for slug, name in ((plaza_uv, None), ("uv-r1", "Domeyko (rural)")):
        at = run_map({"territorio": slug})
        no_failure(at)
        # The imported layer is the one shown and filtered by.
        picker = at.multiselect(key="mapa_territorio")
        assert picker.value == [slug]
        assert set(picker.options) == set(units["nombre"])  # options are shown by name
        shown = map_table(at)
        expected = cli_ids(data_dir, tmp_path / f"{slug}.geojson", "--territorio", slug)
        assert set(shown.index) == expected, "the page and the command line select the same initiatives"
        assert {m.label: int(m.value) for m in at.metric}["Iniciativas"] == len(expected)
        if name:
            # Linked to Domeyko by the plan, translated through the shipped layer to the unit over it.
            assert shown.loc[LINKED_TO_DOMEYKO, "territorios"] == name
            assert SITED_IN_CENTRE not in shown.index
        else:
            assert SITED_IN_CENTRE in shown.index and LINKED_TO_DOMEYKO not in shown.index


def test_sector_page_works_after_territories_were_replaced(replaced, tmp_path):
    data_dir, units = replaced
    at = open_sector({"territorio": "uv-r1"})
    no_failure(at)
    assert at.header[0].value.replace("\\", "") == "Domeyko (rural)"  # the territory shown (markdown-escaped)
    assert at.query_params["territorio"] == "uv-r1"
    captions = " ".join(c.value for c in at.caption)
    assert "precisión del borde no declarada" in captions and "nan" not in captions  # the import gave no precision
    listed = sector_ids(at)
    expected = cli_ids(data_dir, tmp_path / "uv-r1.geojson", "--territorio", "uv-r1")
    assert listed == expected, "the sector page lists what the command line exports"
    assert LINKED_TO_DOMEYKO in listed
    assert int({m.label: m.value for m in at.metric}["Iniciativas en total"]) == len(expected)
    # The downloads are built: the territory with its initiatives, and the printable report.
    labels = [b.proto.label for b in at.get("download_button")]
    assert any("territorio" in label for label in labels) and any("informe" in label.lower() for label in labels), labels


def test_shipped_slug_is_unknown_after_the_replacement(replaced, tmp_path):
    data_dir, _units = replaced
    proc = cli(data_dir, "export", "iniciativas", "--territorio", "domeyko", "-o", tmp_path / "x.geojson")
    assert proc.returncode == 2 and "Territorio desconocido: «domeyko»" in proc.stderr
    at = run_map({"territorio": "domeyko"})
    assert not at.exception and not at.error
    assert any("Territorio desconocido: «domeyko»" in w.value.replace("\\", "") for w in at.warning)


# --------------------------------------------------------------------------- default sites


def import_turbina_sites(folder: Path, layer: str = "ubicaciones_secplan") -> None:
    """A site layer that moves La Turbina to a point inside the shipped Domeyko."""
    terr = store.read_layer("territorios")
    point = shapely.point_on_surface(terr.loc[terr["slug"] == "domeyko"].geometry.iloc[0])
    path = write(gpd.GeoDataFrame({"codigo": [TURBINA]}, geometry=[point], crs="EPSG:4326"), folder / f"{layer}.geojson")
    importer.import_file(path, as_="iniciativas", layer=layer, id_field="codigo", precision_m=50)


def test_default_sites_are_the_same_in_the_app_and_the_command_line(fresh_store, tmp_path):
    data_dir = fresh_store.parent
    assert data_dir == settings.store_path().parent
    included = cli_ids(data_dir, tmp_path / "antes.geojson", "--territorio", "domeyko")
    assert TURBINA not in included
    import_turbina_sites(tmp_path)

    # Newest imported site layer by default, in both.
    by_default = cli_ids(data_dir, tmp_path / "por_omision.geojson", "--territorio", "domeyko")
    assert by_default == included | {TURBINA}
    at = run_map({"territorio": "domeyko"})
    no_failure(at)
    assert at.query_params["ubicaciones"] == "ubicaciones_secplan"
    assert set(map_table(at).index) == by_default
    sector = open_sector({"territorio": "domeyko"})
    no_failure(sector)
    assert sector_ids(sector) == by_default

    # The shipped sites when asked for, in both.
    asked = cli_ids(data_dir, tmp_path / "incluidas.geojson", "--territorio", "domeyko", "--ubicaciones", "incluidas")
    assert asked == included
    at = run_map({"territorio": "domeyko", "ubicaciones": "incluidas"})
    no_failure(at)
    assert set(map_table(at).index) == included

    proc = cli(data_dir, "export", "iniciativas", "--ubicaciones", "no_existe", "-o", tmp_path / "x.geojson")
    assert proc.returncode == 2 and "Capa de ubicaciones desconocida: «no_existe»" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_public_account_report_works_after_territories_were_replaced(replaced, tmp_path):
    """The public-account report follows the same relation rule as the map and the command line."""
    data_dir, units = replaced
    out = tmp_path / "cuenta.html"
    proc = cli(data_dir, "informe", "cuenta-publica", "-o", out)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "Domeyko (rural)" in html  # the imported unit that holds Domeyko's links is a territory of the report
    assert out.with_suffix(".csv").exists()
