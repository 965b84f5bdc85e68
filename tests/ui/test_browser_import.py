"""The planners' import on the page Capas in a real browser (``streamlit run app.py`` + Debian's chromium, offline).

One server for the module, with the planner hash in its environment, a private copy
of the session store (``SIT_DATA_DIR``) and a small upload limit
(``SIT_UPLOAD_LIMIT_MB=0.2``) so that "file too large" is tried with a small file.
Files reach the uploader through Playwright's ``set_input_files``, as if chosen in
the file dialog. Every test ends with no blocked request, console error, page error
or failed local request (see ``tests/ui/test_browser.py``).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pyogrio
import pytest

from layers import settings
from layers.access import accounts, roles
from tests.layers.ingest._import_fixtures import points_layer, write
from tests.layers.ingest.test_disguise import _vrt as disguise_vrt
from tests.layers.ingest.test_disguise import recording_server
from tests.ui.test_browser import assert_clean, main_text, open_page, screenshot

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "app.py"
PASSWORD = "clave de planificador del navegador"
UPLOAD_LIMIT_MB = "0.2"


@pytest.fixture(scope="module")
def server_dir(tmp_path_factory, data_dir) -> Path:
    """A private SIT_DATA_DIR for the server, holding a copy of the session store."""
    path = tmp_path_factory.mktemp("sit_data_import")
    shutil.copyfile(data_dir / settings.STORE_FILENAME, path / settings.STORE_FILENAME)
    previous = os.environ.get("SIT_DATA_DIR", "")
    os.environ["SIT_DATA_DIR"] = str(path)
    try:
        accounts.create("planificadora", roles.PLANIFICADOR, PASSWORD)
    finally:
        os.environ["SIT_DATA_DIR"] = previous
    return path


@pytest.fixture(scope="module")
def app(streamlit_server, server_dir, browser):
    if not APP.exists():
        pytest.skip("app.py is not there yet")
    env = {
        "SIT_DATA_DIR": str(server_dir),
        "SIT_UPLOAD_LIMIT_MB": UPLOAD_LIMIT_MB,
    }
    server = streamlit_server.get(APP, env=env)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.base_url + "/", wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=60_000)
    context.close()
    return server.base_url


def registry(server_dir: Path):
    return pyogrio.read_dataframe(server_dir / settings.STORE_FILENAME, layer="sit_capas", read_geometry=False)


def wait_script(page, timeout_ms: int = 60_000) -> None:
    """Wait until the rerun a widget started has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)


def log_in(probe) -> None:
    """From Capas: sign in as the planner through the app's own links, and come back to Capas."""
    page = probe.page
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Ingresar con una cuenta").click()
    page.get_by_label("Nombre de cuenta").fill("planificadora")
    box = page.get_by_label("Clave", exact=True)
    assert box.get_attribute("type") == "password"
    box.fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_selector('text=/Sesión abierta como/', timeout=60_000)
    wait_script(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Capas").click()
    page.wait_for_selector('[data-testid="stFileUploader"]', timeout=60_000)
    wait_script(page)


def choose_file(probe, name: str, data: bytes) -> None:
    page = probe.page
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.locator('[data-testid="stFileChipName"]').filter(has_text=name).wait_for(timeout=30_000)
    wait_script(page)


def click_import(probe) -> None:
    probe.page.get_by_role("button", name="Importar", exact=True).click()
    wait_script(probe.page)


def wait_text(probe, text: str, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        shown = main_text(probe)
        if text in shown:
            return shown
        probe.page.wait_for_timeout(250)
    raise AssertionError(f"«{text}» not shown; page says:\n{main_text(probe)[-3000:]}")


def test_import_a_geojson_then_remove_it(app, browser_page, server_dir, tmp_path, artifacts_dir):
    probe = browser_page
    open_page(probe, app + "/capas")
    assert "Importar y eliminar capas (planificadores)" in main_text(probe)
    log_in(probe)

    data = write(points_layer("EPSG:32719"), tmp_path / "plazas.geojson").read_bytes()
    choose_file(probe, "plazas.geojson", data)
    wait_text(probe, "«plazas.geojson»: GeoJSON, 3 elementos, SRC declarado EPSG:32719. Campos: nombre, codigo.")
    assert probe.page.get_by_role("textbox", name="Nombre de la capa").input_value() == "plazas"
    click_import(probe)

    wait_text(probe, "Capa «plazas» importada: 3 de 3 elementos guardados en WGS 84 (EPSG:4326).")
    for line in ("Elementos leídos", "Reparados", "Descartados", "SRC de origen", "EPSG:32719 (WGS 84 / UTM 19S)",
                 "Extensión (WGS 84)", "longitud -70,"):
        wait_text(probe, line)  # the report table (its script chunk loads on first use)
    print("console:", probe.console_errors, "http:", probe.http_errors)
    reg = registry(server_dir).set_index("nombre")
    assert reg.loc["plazas", "origen"] == "importada" and int(reg.loc["plazas", "n"]) == 3
    # The new layer is offered at once for download and for removal.
    removal = probe.page.locator('[data-testid="stSelectbox"]').filter(has_text="Capa importada")
    shown = removal.evaluate(
        "e => e.innerText + ' ' + Array.from(e.querySelectorAll('input')).map(i => i.value).join(' ')"
    )
    assert "Plazas (plazas)" in shown, shown
    probe.settle(800)
    screenshot(probe, artifacts_dir / "capas_importar.png")

    probe.page.get_by_text("Confirmo que quiero eliminar la capa «plazas» del sistema").click()
    wait_script(probe.page)
    probe.page.get_by_role("button", name="Eliminar capa").click()
    wait_script(probe.page)
    wait_text(probe, "Capa importada «plazas» eliminada.")
    wait_text(probe, "No hay capas importadas.")
    assert "plazas" not in set(registry(server_dir)["nombre"])
    assert_clean(probe)


def test_bad_files_show_the_message_and_change_nothing(app, browser_page, server_dir, tmp_path, artifacts_dir):
    probe = browser_page
    open_page(probe, app + "/capas")
    log_in(probe)
    store_file = server_dir / settings.STORE_FILENAME
    before = store_file.read_bytes()

    good = write(points_layer(), tmp_path / "bien.geojson").read_bytes()
    choose_file(probe, "roto.geojson", good[:150])
    wait_text(probe, "Revise el archivo antes de importar: «roto.geojson» no es JSON válido (línea")
    click_import(probe)
    error = probe.page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=30_000)
    assert error.count() == 1
    message = error.inner_text().strip()
    assert message.startswith("«roto.geojson» no es JSON válido (línea") and "\n" not in message
    probe.settle(800)
    screenshot(probe, artifacts_dir / "capas_importar_error.png")

    big = good + b" " * 400_000  # 0,4 MB: over the server's 0,2 MB limit, under what the widget lets through
    choose_file(probe, "grande.geojson", big)
    click_import(probe)
    wait_text(probe, "El archivo «grande.geojson» pesa 0,4 MB, más que el máximo permitido (0,2 MB).")
    assert probe.page.locator('[data-testid="stAlertContentError"]').count() == 1

    assert store_file.read_bytes() == before
    assert "importada" not in set(registry(server_dir)["origen"])  # the accounts are editable tables
    assert_clean(probe)


def test_disguised_files_are_refused_when_chosen_and_fetch_nothing(
    app, browser_page, server_dir, tmp_path, artifacts_dir
):
    """A VRT named as GeoPackage or KML, and a KML that links to a local listener: refused or read, never fetched."""
    with recording_server() as (url, hits):
        _choose_disguises(app, browser_page, server_dir, url, hits, artifacts_dir)


def _choose_disguises(app, probe, server_dir, url, hits, artifacts_dir) -> None:
    open_page(probe, app + "/capas")
    log_in(probe)
    store_file = server_dir / settings.STORE_FILENAME
    before = store_file.read_bytes()

    for name, data in (
        ("capa.gpkg", disguise_vrt("CSV:/etc/passwd", "passwd")),
        ("capa.kml", disguise_vrt(f"/vsicurl/{url}/capa.csv")),
    ):
        choose_file(probe, name, data)
        wait_text(probe, f"Revise el archivo antes de importar: «{name}» no es el archivo que dice ser")
        click_import(probe)
        error = probe.page.locator('[data-testid="stAlertContentError"]')
        error.first.wait_for(timeout=30_000)
        assert "no es el archivo que dice ser" in error.inner_text() and "root:" not in main_text(probe)
    link = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f'<NetworkLink><Link><href>{url}/red.kml</href></Link></NetworkLink>'
        f'<Placemark><name>p</name><styleUrl>{url}/estilos.kml#s</styleUrl>'
        "<Point><coordinates>-70.759,-28.576</coordinates></Point></Placemark></Document></kml>"
    )
    choose_file(probe, "enlace.kml", link.encode())
    wait_text(probe, "«enlace.kml»: KML")
    screenshot(probe, artifacts_dir / "capas_importar_disfraz.png")
    assert hits == []
    assert store_file.read_bytes() == before
    assert_clean(probe)
