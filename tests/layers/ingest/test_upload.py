"""Imports from the app without Streamlit: uploaded bytes -> :func:`layers.ingest.upload.import_upload`.

Every bad input the issue lists ends with one Spanish line naming the form's
fields (never a command-line option) and the store file byte for byte as it was.
:func:`bad_uploads` is shared with the AppTest of the page (``tests/ui/test_apptest_import.py``).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import pytest

from layers import settings, store
from layers._errors import SitError
from layers.ingest import importer, upload
from tests.layers.ingest._import_fixtures import (
    points_layer,
    squares_layer,
    store_hash,
    write,
    zipped_shapefile,
)

#: Limits the bad-input cases are built for (set with monkeypatch by the tests).
UNZIP_LIMIT = 1_000_000
UPLOAD_LIMIT = 100_000


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def good_geojson(tmp_path: Path, crs: str = "EPSG:4326") -> bytes:
    """Three points of Vallenar (fields ``nombre``, ``codigo``) as GeoJSON bytes."""
    return write(points_layer(crs), tmp_path / f"bien_{crs.replace(':', '_')}.geojson").read_bytes()


def bad_uploads(tmp_path: Path) -> list[tuple[str, str, bytes, dict, str]]:
    """The bad inputs of the issue: ``(case, file name, bytes, options, expected fragment)``.

    Built for :data:`UNZIP_LIMIT` and :data:`UPLOAD_LIMIT` (the caller sets them).
    Options are :func:`layers.ingest.upload.import_upload` keywords beyond ``as_``/``layer``.
    """
    good = good_geojson(tmp_path)
    no_prj = zipped_shapefile(points_layer("EPSG:32719"), tmp_path, "sin_prj", prj=False).read_bytes()
    return [
        ("vacio", "vacio.geojson", b"", {}, "El archivo «vacio.geojson» está vacío."),
        ("truncado", "truncado.geojson", good[:150], {}, "«truncado.geojson» no es JSON válido (línea"),
        ("no_geojson", "datos.json", json.dumps({"nombre": "Vallenar", "poblacion": 51900}).encode(), {},
         "«datos.json» es JSON pero no GeoJSON"),
        ("zip_sin_shp", "texto.zip", _zip({"leeme.txt": b"hola", "datos.dbf": b"x"}), {},
         "El zip «texto.zip» no contiene un Shapefile (.shp)"),
        ("zip_escape", "escape.zip", _zip({"capa.shp": b"x", "../../fuera.txt": b"malo"}), {}, "ruta insegura"),
        ("zip_absoluto", "absoluta.zip", _zip({"/tmp/sit_absoluta_subida.txt": b"malo"}), {}, "ruta insegura"),
        ("zip_bomba", "bomba.zip", _zip({"capa.shp": b"\0" * 3_000_000}, zipfile.ZIP_DEFLATED), {},
         "más que el máximo permitido (1,0 MB)"),
        ("muy_grande", "grande.geojson", good + b" " * UPLOAD_LIMIT, {},
         "El archivo «grande.geojson» pesa 0,1 MB, más que el máximo permitido (0,1 MB)."),
        ("crs_desconocido", "bien.geojson", good, {"crs": "EPSG:123456"},
         "Sistema de coordenadas desconocido: «EPSG:123456»"),
        ("sin_src", "sin_prj.zip", no_prj, {},
         "no declara su sistema de coordenadas (el Shapefile no trae .prj); hay que indicarlo."),
        ("campo_inexistente", "bien.geojson", good, {"as_": "territorios", "name_field": "NOM"},
         "El archivo no tiene el campo «NOM» (nombre de cada territorio)"),
        ("capa_incluida", "bien.geojson", good, {"layer": "comuna"},
         "La capa «comuna» existe (incluida en el sistema)."),
    ]


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setattr(settings, "UNZIP_LIMIT_BYTES", UNZIP_LIMIT)
    monkeypatch.setattr(settings, "UPLOAD_LIMIT_BYTES", UPLOAD_LIMIT)


# --------------------------------------------------------------------------- good input


def test_good_geojson_is_stored_under_its_original_name(fresh_store, tmp_path):
    report = upload.import_upload("Puntos de Vallenar.geojson", good_geojson(tmp_path), as_="referencia", layer="puntos")
    assert isinstance(report, importer.ImportReport)
    assert report.source_file == "Puntos de Vallenar.geojson" and report.n_read == report.n_stored == 3
    info = store.layer_info("puntos")
    assert info["origen"] == store.IMPORTED and info["clase"] == "referencia"
    assert info["archivo"] == "Puntos de Vallenar.geojson"
    layer = store.read_layer("puntos")
    assert len(layer) == 3 and layer.crs == "EPSG:4326" and sorted(layer["codigo"]) == ["A1", "A2", "A3"]
    assert "puntos" in upload.imported_layers()


def test_options_as_the_form_gives_them(fresh_store, tmp_path):
    """Empty strings are "not given"; the CRS typed in the form is used and said so in the report."""
    archive = zipped_shapefile(squares_layer("EPSG:24879"), tmp_path, "uv", prj=False).read_bytes()
    report = upload.import_upload(
        "uv.zip", archive, as_="territorios", layer="  unidades ", name_field="NOMBRE", id_field=" ",
        crs="EPSG:24879", encoding="", gpkg_layer="", precision_m=50,
    )
    assert report.layer == "unidades" and report.kind == "territorios"
    assert report.crs_origin.startswith("EPSG:24879") and report.crs_note == "indicado al importar"
    assert "--" not in report.crs_note
    stored = store.read_layer("unidades")
    assert sorted(stored["nombre"]) == sorted(squares_layer()["NOMBRE"])
    assert set(stored["precision_m"].astype(int)) == {50}


def test_report_rows_say_read_repaired_dropped_crs_and_extent(fresh_store, tmp_path):
    frame = points_layer("EPSG:32719")
    frame.loc[len(frame)] = {"nombre": "sin geometría", "codigo": "A4", "geometry": None}
    data = write(frame, tmp_path / "con_nulo.geojson").read_bytes()
    report = upload.import_upload("con_nulo.geojson", data, as_="referencia", layer="con_nulo", crs="EPSG:32719")
    rows = dict(upload.report_rows(report).itertuples(index=False))
    assert rows["Elementos leídos"] == "4" and rows["Guardados"] == "3" and rows["Descartados"] == "1"
    assert rows["Reparados"] == "0"
    assert rows["Descartados: sin geometría"] == "1"
    assert rows["SRC de origen"].startswith("EPSG:32719 (WGS 84 / UTM 19S)")
    assert rows["Extensión (WGS 84)"].startswith("longitud -70,")
    assert upload.headline(report) == "Capa «con_nulo» importada: 3 de 4 elementos guardados en WGS 84 (EPSG:4326)."


def test_inspect_and_peek_an_upload(fresh_store, tmp_path):
    import pyogrio

    gpkg = tmp_path / "varias.gpkg"
    pyogrio.write_dataframe(points_layer(), gpkg, layer="plazas")
    pyogrio.write_dataframe(squares_layer(), gpkg, layer="manzanas", append=True)
    data = gpkg.read_bytes()
    assert [row["capa"] for row in upload.inspect_upload("varias.gpkg", data)] == ["plazas", "manzanas"]
    with pytest.raises(SitError, match="tiene varias capas") as info:
        upload.peek_upload("varias.gpkg", data)
    assert info.value.code == "several_layers" and info.value.data["layers"] == ["plazas", "manzanas"]
    peek = upload.peek_upload("varias.gpkg", data, gpkg_layer="manzanas")
    assert peek.format == "GeoPackage" and peek.n == 3 and peek.fields == ["NOMBRE", "COD"] and peek.crs == "EPSG:4326"
    assert upload.inspect_upload("vacio.gpkg", b"") == []
    assert upload.inspect_upload("roto.gpkg", b"no soy un geopackage") == []


# --------------------------------------------------------------------------- bad input


def test_each_bad_input_is_one_spanish_line_and_the_store_is_unchanged(fresh_store, tmp_path, limits):
    seen = set()
    for case, name, data, options, fragment in bad_uploads(tmp_path):
        before = store_hash()
        args = {"as_": "referencia", "layer": f"capa_{case}", **options}
        with pytest.raises(SitError) as info:
            upload.import_upload(name, data, **args)
        text = str(info.value)
        assert fragment in text, (case, text)
        assert "\n" not in text and text == text.strip(), case
        assert " --" not in text and "(--" not in text, (case, text)  # no command-line option
        assert info.value.code != "error", (case, text)  # every refusal says which one it is
        assert store_hash() == before, case
        assert f"capa_{case}" not in set(store.list_layers()["nombre"]), case
        seen.add(case)
    assert len(seen) == len(bad_uploads(tmp_path))
    assert not (tmp_path.parent / "fuera.txt").exists()
    assert not Path(tempfile.gettempdir(), "..", "fuera.txt").resolve().exists()
    assert not Path("/tmp/sit_absoluta_subida.txt").exists()


def test_oversize_is_refused_before_anything_is_written(fresh_store, tmp_path, limits, monkeypatch):
    written = []
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: written.append(self))
    with pytest.raises(SitError, match="más que el máximo permitido"):
        upload.import_upload("grande.zip", b"x" * (UPLOAD_LIMIT + 1), as_="referencia", layer="grande")
    with pytest.raises(SitError, match="está vacío"):
        upload.import_upload("vacio.zip", b"", as_="referencia", layer="vacio")
    assert written == []
    upload.check_upload("justo.zip", UPLOAD_LIMIT)  # at the limit is fine


def test_shipped_name_with_replace_of_another_kind_is_refused(fresh_store, tmp_path):
    before = store_hash()
    with pytest.raises(SitError, match="viene con el sistema"):
        upload.import_upload("bien.geojson", good_geojson(tmp_path), as_="referencia", layer="territorios", replace=True)
    assert store_hash() == before


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("uv.zip", "uv.zip"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\dom\\Ñuñoa.kmz", "Ñuñoa.kmz"),
        ("a\x00b\n.geojson", "ab.geojson"),
        ("", "archivo"),
        ("..", "archivo"),
        (None, "archivo"),
    ],
)
def test_safe_file_name(name, safe):
    assert upload.safe_file_name(name) == safe


def test_long_file_name_keeps_its_extension():
    name = upload.safe_file_name("x" * 300 + ".geojson")
    assert len(name) == 120 and name.endswith(".geojson")


@pytest.mark.parametrize(
    ("file_name", "layer"),
    [
        ("UV Vallenar 2023.zip", "uv_vallenar_2023"),
        ("Ñuñoa área.kmz", "nunoa_area"),
        ("2023.geojson", "capa_2023"),
        ("sit_capas.gpkg", "capa_sit_capas"),
        ("territorios.zip", "territorios_importada"),
        ("a.csv", "capa_a"),
    ],
)
def test_suggested_layer_names_are_valid(file_name, layer):
    from layers.ingest import validate as _import_validate

    assert upload.suggest_layer_name(file_name) == layer
    _import_validate.check_layer_name(layer)


def test_limits_for_the_widget(monkeypatch):
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "50")
    assert upload.limit_mb() == 50 and upload.limit_text() == "50,0 MB"
    # The widget offers exactly what Streamlit's server.maxUploadSize accepts, no more.
    assert upload.uploader_limit_mb() == settings.streamlit_upload_mb() == 50
    monkeypatch.setenv("SIT_UPLOAD_LIMIT_MB", "0.1")
    assert upload.limit_mb() == 1 and upload.uploader_limit_mb() == 1


def test_remove_imported_and_shipped(fresh_store, tmp_path):
    upload.import_upload("bien.geojson", good_geojson(tmp_path), as_="referencia", layer="puntos")
    assert upload.remove_imported("puntos") == "Capa importada «puntos» eliminada."
    assert "puntos" not in set(store.list_layers()["nombre"])
    with pytest.raises(SitError, match="viene con el sistema y no se puede eliminar"):
        upload.remove_imported("comuna")


@pytest.mark.parametrize("name", ["uv!2023.geojson", "¿qué? #1: 'a' \"b\".geojson", "-guion*.gpkg", "http:x.kml"])
def test_uploads_with_odd_names_are_read_as_the_file_they_are(fresh_store, tmp_path, name):
    """GDAL never sees the person's file name: ``!`` (archive separator), ``:``, ``?`` or ``#`` change nothing."""
    ext = Path(name).suffix
    driver = {".kml": "KML"}.get(ext)
    data = write(points_layer(), tmp_path / f"bien{ext}", **({"driver": driver} if driver else {})).read_bytes()
    assert [row["n"] for row in upload.inspect_upload(name, data)] == [3]
    assert upload.peek_upload(name, data).n == 3
    report = upload.import_upload(name, data, as_="referencia", layer="rara")
    assert report.n_stored == 3 and report.source_file == name


def test_an_upload_of_shapefiles_of_one_name_lists_and_takes_them_by_folder(fresh_store, tmp_path):
    from tests.layers.ingest.test_cases import _two_of_one_name

    data = _two_of_one_name(tmp_path).read_bytes()
    names = [row["capa"] for row in upload.inspect_upload("secplan capas.zip", data)]
    assert names == ["2015/Unidades Vecinales", "2023/Unidades Vecinales", "2023/sedes_sociales"]
    report = upload.import_upload("secplan capas.zip", data, as_="referencia", layer="uv_2015", gpkg_layer=names[0])
    assert report.n_stored == 1 and len(store.read_layer("uv_2015")) == 1
