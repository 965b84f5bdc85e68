"""The planners' import on the page Capas, run in-process with Streamlit's AppTest.

Each test runs the real entry point (``app.py``) on a private copy of the session
store (``fresh_store``) and opens ``capas``. Files are uploaded with AppTest's
``file_uploader.set_value`` and imported with the button, as a planner would.

- A public visitor or a junta de vecinos: no uploader, a line and a link to sign in.
- A signed-in planner: uploader, options, report, the new layer in the catalogue at once,
  every bad input of the issue as a visible one-line message with the store unchanged,
  and the removal of imported layers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers import settings, store
from layers.access import accounts, roles, sessions
from layers.ingest import importer, upload
from tests.htmltext import read_markdown
from tests.layers.ingest._import_fixtures import (
    city_units,
    points_layer,
    squares_layer,
    store_hash,
    write,
    zipped_shapefile,
)
from tests.layers.ingest.test_upload import (
    UNZIP_LIMIT,
    UPLOAD_LIMIT,
    bad_uploads,
    good_geojson,
)

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60
PASSWORD = "clave de planificador de prueba"
PLANNER = "planificadora"


@pytest.fixture
def configured(fresh_store):
    """A planner account in the private store (the import needs a signed-in planner)."""
    accounts.create(PLANNER, roles.PLANIFICADOR, PASSWORD)
    return PLANNER


def capas(account: str | None = None) -> AppTest:
    """The page Capas, for a public visitor or signed in as ``account``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if account:
        at.session_state["sit_sesion"] = sessions.open_session(accounts.get(account))
    at.run()
    at.switch_page("pages/capas.py").run()
    return at


def no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [text(e) for e in at.error]
    assert at.title[0].value == "Capas"


def catalogue(at: AppTest) -> list[str]:
    """Layer names of the catalogue table (the first dataframe of the page)."""
    return list(at.dataframe[0].value["nombre"])


def planner() -> AppTest:
    at = capas(PLANNER)
    no_failure(at)
    assert len(at.file_uploader) == 1
    return at


def upload_file(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    return at


def import_with(at: AppTest, **options) -> AppTest:
    """Set the form (``como``, ``nombre``, ``campo_nombre``, ``campo_id``, ``src``, ``reemplazar``) and import."""
    keys = {
        "nombre": "import_nombre", "campo_nombre": "import_campo_nombre",
        "campo_id": "import_campo_id", "src": "import_src",
    }
    if "como" in options:
        at.radio(key="import_como").set_value(options.pop("como"))
    if "reemplazar" in options:
        replace_box(at).set_value(options.pop("reemplazar"))
    for option, value in options.items():
        at.text_input(key=keys[option]).set_value(value)
    at.button(key="import_boton").click().run()
    return at


def replace_box(at: AppTest):
    (box,) = [c for c in at.checkbox if c.label == upload.LABEL_REPLACE]
    return box


def _unescape(value: object) -> str:
    """Text as the page shows it: the Markdown escapes the page adds to data text removed."""
    return read_markdown(value)


def text(element) -> str:
    """The text of an element as a person reads it (data text is Markdown-escaped by the page)."""
    return _unescape(element.value)


def report(at: AppTest) -> dict[str, str]:
    """The report table of the last import (``Dato`` -> ``Valor``)."""
    assert len(at.table) == 1
    table = at.table[0].value.map(_unescape)
    assert list(table.columns) == ["Dato", "Valor"]
    return dict(table.itertuples(index=False))


# --------------------------------------------------------------------------- access


def test_a_public_visitor_gets_no_uploader(fresh_store):
    at = capas()
    no_failure(at)
    assert len(at.file_uploader) == 0 and len(at.text_input) == 0 and not at.button
    assert any("es para planificadores" in text(c) for c in at.caption)
    assert catalogue(at) == list(store.list_layers()["nombre"])  # the page itself works


def test_a_junta_gets_no_uploader(fresh_store):
    accounts.create("vecina", roles.JUNTA, PASSWORD)
    at = capas("vecina")
    no_failure(at)
    assert len(at.file_uploader) == 0 and not at.button


def test_a_planner_gets_the_import(fresh_store, configured):
    at = planner()
    uploader = at.file_uploader[0]
    assert uploader.allowed_type == [f".{t}" for t in upload.ACCEPTED_TYPES]
    assert uploader.proto.max_upload_size_mb == upload.uploader_limit_mb()
    assert at.radio(key="import_como").options == list(upload.KIND_LABELS.values())
    assert at.radio(key="import_como").value == "referencia"
    assert [t.label for t in at.text_input] == [
        "Nombre de la capa", upload.LABEL_NAME_FIELD, upload.LABEL_CRS, upload.LABEL_ID_FIELD,
    ]
    assert at.selectbox(key="import_codificacion").options == list(upload.ENCODINGS)
    assert replace_box(at).value is False
    assert at.button(key="import_boton").disabled  # nothing uploaded yet
    assert "No hay capas importadas." in [text(c) for c in at.caption]
    # The session stays open across pages, and a deactivated account loses the import at once.
    at.switch_page("pages/plan.py").run()
    at.switch_page("pages/capas.py").run()
    assert len(at.file_uploader) == 1
    accounts.deactivate(configured)
    at.run()
    assert len(at.file_uploader) == 0


def test_an_expired_session_imports_nothing(fresh_store, configured, tmp_path, monkeypatch):
    at = upload_file(planner(), "puntos.geojson", good_geojson(tmp_path))
    before = store_hash()
    monkeypatch.setenv("SIT_SESSION_IDLE_MIN", "0.001")  # 0.06 s
    import time

    time.sleep(0.2)
    at.button(key="import_boton").click().run()
    assert not at.exception
    assert len(at.file_uploader) == 0 and store_hash() == before


# --------------------------------------------------------------------------- import


def test_import_geojson_as_reference_shows_report_and_the_layer_at_once(fresh_store, configured, tmp_path):
    at = planner()
    data = good_geojson(tmp_path, "EPSG:32719")
    upload_file(at, "Puntos de Vallenar.geojson", data)
    no_failure(at)
    assert at.text_input(key="import_nombre").value == "puntos_de_vallenar"  # proposed from the file name
    about = [text(c) for c in at.caption if text(c).startswith("«Puntos de Vallenar.geojson»")]
    assert about == ["«Puntos de Vallenar.geojson»: GeoJSON, 3 elementos, SRC declarado EPSG:32719. Campos: nombre, codigo."]
    assert not at.button(key="import_boton").disabled

    import_with(at)
    no_failure(at)
    assert [text(s) for s in at.success] == [
        "Capa «puntos_de_vallenar» importada: 3 de 3 elementos guardados en WGS 84 (EPSG:4326)."
    ]
    rows = report(at)
    assert rows["Elementos leídos"] == "3" and rows["Reparados"] == "0" and rows["Descartados"] == "0"
    assert rows["SRC de origen"].startswith("EPSG:32719 (WGS 84 / UTM 19S)")
    assert rows["Extensión (WGS 84)"].startswith("longitud -70,")
    # The catalogue table above already lists it, as imported.
    assert "puntos_de_vallenar" in catalogue(at)
    row = at.dataframe[0].value.set_index("nombre").loc["puntos_de_vallenar"]
    assert row["origen"] == store.IMPORTED and int(row["n"]) == 3 and row["crs_origen"] == "EPSG:32719"
    assert len(store.read_layer("puntos_de_vallenar")) == 3
    # It can be downloaded and removed; the uploader is empty again.
    assert "Puntos de vallenar (puntos_de_vallenar)" in at.selectbox(key="capas_capa").options
    assert at.selectbox(key="import_eliminar_capa_1").options == ["Puntos de vallenar (puntos_de_vallenar)"]
    assert at.file_uploader[0].value is None


def test_import_territories_from_a_zipped_shapefile_in_psad56(fresh_store, configured, tmp_path):
    units = city_units().to_crs("EPSG:24879")
    archive = zipped_shapefile(units, tmp_path, "uv_psad56", encoding="latin1", cpg=False).read_bytes()
    at = planner()
    upload_file(at, "uv_psad56.zip", archive)
    import_with(at, como="territorios", nombre="unidades_vecinales", campo_nombre="NOMBRE", campo_id="COD_UV")
    no_failure(at)
    rows = report(at)
    assert rows["SRC de origen"].startswith("EPSG:24879 (PSAD56 / UTM 19S)")
    assert rows["Elementos leídos"] == str(len(units)) and rows["Guardados"] == str(len(units))
    info = store.layer_info("unidades_vecinales")
    assert info["clase"] == "territorios" and info["origen"] == store.IMPORTED
    assert "unidades_vecinales" in catalogue(at)
    stored = store.read_layer("unidades_vecinales")
    assert "Unidad Vecinal N° 1" in set(stored["nombre"])  # accents from a Latin-1 .dbf without .cpg


def test_file_without_crs_needs_the_crs_field(fresh_store, configured, tmp_path):
    archive = zipped_shapefile(points_layer("EPSG:29189"), tmp_path, "sad69", prj=False).read_bytes()
    at = planner()
    upload_file(at, "sad69.zip", archive)
    assert "no declara su SRC" in " ".join(text(c) for c in at.caption)
    before = store_hash()
    import_with(at)
    assert not at.exception and len(at.error) == 1
    assert text(at.error[0]).endswith(f"Indíquelo con «{upload.LABEL_CRS}», p. ej. EPSG:32719.")
    assert "no declara su sistema de coordenadas" in text(at.error[0]) and "--crs" not in text(at.error[0])
    assert store_hash() == before
    import_with(at, src="EPSG:29189")
    no_failure(at)
    assert report(at)["SRC de origen"].startswith("EPSG:29189 (SAD69 / UTM 19S), indicado al importar")


def test_geopackage_with_several_layers_offers_a_choice(fresh_store, configured, tmp_path):
    import pyogrio

    gpkg = tmp_path / "varias.gpkg"
    pyogrio.write_dataframe(points_layer(), gpkg, layer="plazas")
    pyogrio.write_dataframe(squares_layer(), gpkg, layer="manzanas", append=True)
    at = planner()
    upload_file(at, "varias.gpkg", gpkg.read_bytes())
    no_failure(at)
    choice = at.selectbox(key="import_capa_archivo_0")
    assert choice.label == upload.LABEL_SOURCE_LAYER and choice.options == [
        "plazas (Point, 3 elementos)", "manzanas (Polygon, 3 elementos)",
    ]
    choice.set_value("manzanas").run()
    import_with(at, nombre="cuadras")  # «manzanas» is the name of the shipped census blocks
    no_failure(at)
    assert "capa «manzanas»" in report(at)["Archivo"]
    assert set(store.read_layer("cuadras").geom_type) == {"Polygon"}


def test_replace_then_remove(fresh_store, configured, tmp_path):
    at = planner()
    upload_file(at, "puntos.geojson", good_geojson(tmp_path))
    import_with(at, nombre="puntos")
    no_failure(at)
    # The same name again, without and with «Reemplazar si existe».
    upload_file(at, "puntos.geojson", write(points_layer().iloc[:2], tmp_path / "dos.geojson").read_bytes())
    before = store_hash()
    import_with(at, nombre="puntos")
    assert [text(e) for e in at.error] == [
        "La capa «puntos» existe (ya importada). Marque «Reemplazar si existe» para reemplazarla."
    ]
    assert store_hash() == before and not at.success
    import_with(at, nombre="puntos", reemplazar=True)
    no_failure(at)
    assert text(at.success[0]).startswith("Capa «puntos» reemplazada: 2 de 2")
    assert len(store.read_layer("puntos")) == 2
    assert replace_box(at).value is False  # not carried over to the next import

    # Removal: only imported layers are offered; the button waits for the confirmation.
    choice = at.selectbox(key="import_eliminar_capa_2")
    assert choice.options == ["Puntos (puntos)"]
    assert at.button(key="import_eliminar_boton").disabled
    at.checkbox(key="import_eliminar_confirma_2").check().run()
    assert not at.button(key="import_eliminar_boton").disabled
    at.button(key="import_eliminar_boton").click().run()
    no_failure(at)
    assert [text(s) for s in at.success] == ["Capa importada «puntos» eliminada."]
    assert "puntos" not in catalogue(at)
    assert "puntos" not in set(store.list_layers()["nombre"])
    assert "No hay capas importadas." in [text(c) for c in at.caption]


def test_removing_a_replaced_shipped_layer_brings_it_back(fresh_store, configured, tmp_path):
    shipped_n = int(store.layer_info("territorios")["n"])
    at = planner()
    upload_file(at, "uv.geojson", write(city_units(), tmp_path / "uv.geojson").read_bytes())
    import_with(at, como="territorios", nombre="territorios", campo_nombre="NOMBRE", reemplazar=True)
    no_failure(at)
    assert store.layer_info("territorios")["origen"] == store.IMPORTED
    at.checkbox(key="import_eliminar_confirma_1").check().run()
    at.button(key="import_eliminar_boton").click().run()
    no_failure(at)
    assert "vuelve a estar la capa «territorios» incluida en el sistema" in text(at.success[0])
    info = store.layer_info("territorios")
    assert info["origen"] == store.SHIPPED and int(info["n"]) == shipped_n


# --------------------------------------------------------------------------- bad input


def test_every_bad_input_is_a_visible_message_and_the_store_is_unchanged(fresh_store, configured, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "UNZIP_LIMIT_BYTES", UNZIP_LIMIT)
    monkeypatch.setattr(settings, "UPLOAD_LIMIT_BYTES", UPLOAD_LIMIT)
    at = planner()
    kinds = {"referencia": "referencia", "territorios": "territorios"}
    for case, name, data, options, fragment in bad_uploads(tmp_path):
        before = store_hash()
        layers_before = catalogue(at)
        upload_file(at, name, data)
        assert not at.exception, (case, [e.message for e in at.exception])
        form = {"como": kinds[options.get("as_", "referencia")], "nombre": options.get("layer", f"capa_{case}"),
                "campo_nombre": options.get("name_field", ""), "src": options.get("crs", "")}
        import_with(at, **form)
        assert not at.exception, (case, [e.message for e in at.exception])
        errors = [text(e) for e in at.error]
        assert len(errors) == 1, (case, errors)
        assert fragment in errors[0], (case, errors[0])
        assert "\n" not in errors[0] and " --" not in errors[0], (case, errors[0])
        assert not at.success, case
        assert store_hash() == before, case
        assert catalogue(at) == layers_before, case
    assert not (tmp_path.parent / "fuera.txt").exists()
    assert not Path("/tmp/sit_absoluta_subida.txt").exists()


def test_unexpected_error_is_a_spanish_message_with_the_traceback_in_the_log(fresh_store, configured, tmp_path, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("fallo interno simulado")

    monkeypatch.setattr(importer, "import_file", broken)
    at = planner()
    upload_file(at, "bien.geojson", good_geojson(tmp_path))
    before = store_hash()
    with caplog.at_level(logging.ERROR):
        import_with(at)
    assert not at.exception
    assert [text(e) for e in at.error] == [
        "No se pudo importar «bien.geojson» por un error inesperado del sistema. "
        "El detalle quedó en el registro del servidor; avise al equipo del SIT."
    ]
    assert "fallo interno simulado" not in text(at.error[0])
    assert any(r.exc_info and "fallo interno simulado" in str(r.exc_info[1]) for r in caplog.records)
    assert store_hash() == before


def test_peek_warns_about_an_unreadable_file_before_importing(fresh_store, configured):
    at = planner()
    upload_file(at, "roto.geojson", b'{"type": "FeatureCollection", "features": [')
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "«roto.geojson» no es JSON válido" in text(at.warning[0])


def test_uploaded_data_is_not_kept_on_disk(fresh_store, configured, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    at = planner()
    upload_file(at, "puntos.geojson", json.dumps(json.loads(good_geojson(tmp_path))).encode())
    import_with(at, nombre="puntos")
    no_failure(at)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_form_hints_name_the_form_fields(fresh_store, tmp_path):
    """The page adds, by error code, the hint in the form's words; no command-line option shows."""
    from layers._errors import SitError
    from pages import _import_ui
    from tests.layers.ingest._import_fixtures import hinted_cases

    expected = {
        "layer_exists": f"Marque «{upload.LABEL_REPLACE}» para reemplazarla.",
        "crs_missing": f"Indíquelo con «{upload.LABEL_CRS}», p. ej. EPSG:32719.",
        "outside_commune": f"Pruebe escribir EPSG:32719 en «{upload.LABEL_CRS}».",
        "bad_encoding": f"Pruebe la codificación CP1252 en «{upload.LABEL_ENCODING}».",
        "several_layers": f"Indíquelo en «{upload.LABEL_SOURCE_LAYER}».",
        "layer_not_found": f"Elija una en «{upload.LABEL_SOURCE_LAYER}».",
        "name_field_missing": f"Complete «{upload.LABEL_NAME_FIELD}».",
        "id_field_missing": f"Complete «{upload.LABEL_ID_FIELD}».",
        "field_missing": f"Revise «{upload.LABEL_NAME_FIELD}».",
        "duplicate_ids": f"Con «{upload.LABEL_ID_FIELD}» vacío los identificadores se derivan de los nombres.",
        "no_geometry_columns": f"Para x/y indique el sistema en «{upload.LABEL_CRS}».",
    }
    cases = hinted_cases(tmp_path)
    assert set(cases) == set(expected) and set(expected) <= set(_import_ui.FORM_HINTS)
    import cli

    assert set(_import_ui.FORM_HINTS) == set(cli.IMPORT_HINTS)  # both edges phrase the same codes
    for code, (path, kwargs) in cases.items():
        with pytest.raises(SitError) as info:
            upload.import_upload(path.name, path.read_bytes(), **kwargs)
        text = _import_ui.phrase(info.value)
        assert text == f"{info.value} {expected[code]}", code
        assert "--" not in text, code


def test_hostile_file_and_field_names_are_literal_in_the_form(fresh_store, configured, tmp_path):
    """File and field names reach the form as text: no Markdown image, link or emphasis is drawn."""
    import geopandas as gpd
    from shapely.geometry import Point

    hostile = "![x](http://127.0.0.1:9/x.png)"
    frame = gpd.GeoDataFrame(
        {"[Llame aquí](javascript:alert(1))": ["a"], "**negrita**": ["b"]},
        geometry=[Point(-70.76, -28.58)], crs="EPSG:4326",
    )
    path = tmp_path / "capa.geojson"
    frame.to_file(path, driver="GeoJSON")
    at = planner()
    upload_file(at, f"{hostile}.geojson", path.read_bytes())
    no_failure(at)
    about = [c.value for c in at.caption if "GeoJSON" in c.value and "Campos" in c.value]
    assert len(about) == 1
    raw = about[0]
    # Every Markdown control character of the data text is escaped in what Streamlit renders ...
    for fragment in ("![x]", "[Llame aquí]", "**negrita**"):
        assert fragment not in raw, raw
    # ... and the person reads the names exactly as they are.
    assert hostile in text(at.caption[[c.value for c in at.caption].index(raw)])
    assert "[Llame aquí](javascript:alert(1))" in _unescape(raw) and "**negrita**" in _unescape(raw)
