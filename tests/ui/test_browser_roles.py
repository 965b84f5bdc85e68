"""Roles in a real browser (Debian's chromium through Playwright): a public visitor, a junta and a planner.

The server runs on a private copy of the store holding one account per role. A
full page load is a new Streamlit session (a public visitor), so signed-in
journeys move through the app's own links, as a person does.
"""

from __future__ import annotations

import os
import time

import pytest

from layers.access import roles
from tests.ui.conftest import PASSWORD, PROJECT_DIR, store_with_accounts

APP = PROJECT_DIR / "app.py"
EDIT_PATHS = ("/editar", "/editar?iniciativa=E1-P1-08", "/auditoria", "/ubicar?iniciativa=E1-P1-08",
              "/editar?rol=administrador&sit_sesion=admin")


@pytest.fixture(scope="module")
def accounts_dir(data_dir, tmp_path_factory):
    """A private SIT_DATA_DIR with the session store and one account per role."""
    people = (("vecina", roles.JUNTA), ("ana", roles.PLANIFICADOR), ("admin", roles.ADMINISTRADOR))
    return store_with_accounts(data_dir, tmp_path_factory, "sit_roles", people)


@pytest.fixture(scope="module")
def app(streamlit_server, accounts_dir, browser):
    return streamlit_server.get(APP, env={"SIT_DATA_DIR": str(accounts_dir)}).base_url


def wait_idle(probe, timeout_ms: int = 60_000) -> None:
    page = probe.page
    page.wait_for_selector('[data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)


def main_text(probe) -> str:
    return probe.page.locator('[data-testid="stMain"]').inner_text()


def sidebar_text(probe) -> str:
    return probe.page.locator('[data-testid="stSidebar"]').inner_text()


def sign_in(probe, app: str, name: str, password: str = PASSWORD) -> None:
    probe.goto(app + "/ingresar")
    wait_idle(probe)
    page = probe.page
    page.get_by_label("Nombre de cuenta").fill(name)
    page.get_by_label("Clave", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_selector('text=/Sesión abierta como|Nombre de cuenta o clave incorrectos|Demasiados intentos/',
                           timeout=60_000)
    wait_idle(probe)


@pytest.mark.parametrize("path", EDIT_PATHS)
def test_browser_public_visitor_reaches_no_edit_path(app, browser_page, path):
    browser_page.goto(app + path)
    wait_idle(browser_page)
    text = main_text(browser_page)
    assert "Acceso restringido" in text
    assert browser_page.page.locator('[data-testid="stMain"] input, [data-testid="stMain"] textarea').count() == 0
    assert "Editar seguimiento" not in sidebar_text(browser_page)
    assert not browser_page.blocked


def test_browser_wrong_password_then_junta_sees_no_edit_page(app, browser_page):
    sign_in(browser_page, app, "vecina", "no es la clave")
    assert "Nombre de cuenta o clave incorrectos." in main_text(browser_page)
    sign_in(browser_page, app, "vecina")
    assert "Sesión abierta como vecina (junta de vecinos)" in main_text(browser_page)
    side = sidebar_text(browser_page)
    assert "Sesión: vecina" in side and "Editar seguimiento" not in side and "Auditoría" not in side


def test_browser_planner_edits_monitoring_under_her_name(app, browser_page, accounts_dir):
    sign_in(browser_page, app, "ana")
    page = browser_page.page
    assert "Editar seguimiento" in sidebar_text(browser_page) and "Auditoría" not in sidebar_text(browser_page)
    page.get_by_role("link", name="Editar el seguimiento de una iniciativa").click()
    page.wait_for_selector('text="Editar el seguimiento"', timeout=60_000)
    wait_idle(browser_page)
    page.get_by_label("Avance físico · % (0 a 100)").fill("25")
    page.get_by_label("Motivo del cambio").fill("Prueba en navegador")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_selector('text="Guardado: 1 campo cambiado."', timeout=60_000)
    os.environ["SIT_DATA_DIR"], previous = str(accounts_dir), os.environ.get("SIT_DATA_DIR", "")
    try:
        from layers.monitoring import history

        entries = history.history()
    finally:
        os.environ["SIT_DATA_DIR"] = previous
    last = entries.iloc[-1]
    assert (last["campo"], last["valor_nuevo"], last["autor"], last["motivo"]) == (
        "avance_fisico", "25", "ana", "Prueba en navegador")
    assert not browser_page.blocked and not browser_page.page_errors


def test_browser_login_throttling_is_felt(app, browser_page):
    """Three wrong passwords from the same browser take at least 0.5 + 1 + 1.5 s of server wait."""
    start = time.monotonic()
    for _ in range(3):
        sign_in(browser_page, app, "admin", "adivinanza equivocada")
        assert "Nombre de cuenta o clave incorrectos." in main_text(browser_page)
    assert time.monotonic() - start >= 3.0


def test_browser_planner_draws_a_point_for_an_initiative(app, browser_page, accounts_dir):
    """Leaflet.draw served by the app: a marker dropped on the map becomes the initiative's site."""
    sign_in(browser_page, app, "ana")
    page = browser_page.page
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Ubicar iniciativas").click()
    page.wait_for_selector('text="Ubicar iniciativas"', timeout=60_000)
    wait_idle(browser_page)
    frame = browser_page.wait_for_map(selector=".leaflet-draw-draw-marker")
    assert frame.evaluate("() => !!(window.L && L.Control && L.Control.Draw)")
    # The toolbar speaks Spanish and the scale is metric only.
    assert frame.locator(".leaflet-draw-draw-marker").get_attribute("title") == "Dibujar un punto"
    assert frame.locator(".leaflet-draw-edit-remove").get_attribute("title") in ("Borrar lo dibujado",
                                                                                 "No hay nada que borrar")
    assert frame.locator(".leaflet-control-scale-imperial").count() == 0
    frame.locator(".leaflet-draw-draw-marker").click()
    box = frame.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('text=/Dibujo: Point/', timeout=60_000)
    wait_idle(browser_page)
    page.get_by_label("Motivo del cambio").fill("Terreno visto en terreno")
    page.get_by_role("button", name="Guardar ubicación").click()
    page.wait_for_selector('text="Ubicación guardada."', timeout=60_000)
    os.environ["SIT_DATA_DIR"], previous = str(accounts_dir), os.environ.get("SIT_DATA_DIR", "")
    try:
        from layers.access import placing

        entry = placing.history().iloc[-1]
        site = placing.placements().iloc[-1]
    finally:
        os.environ["SIT_DATA_DIR"] = previous
    assert (entry["autor"], entry["motivo"]) == ("ana", "Terreno visto en terreno")
    assert entry["valor_nuevo"].startswith("punto · dibujada por ana el ")
    assert site.geometry.geom_type == "Point" and site["precision_m"] >= 1
    assert any("leaflet-draw/leaflet.draw.js" in u for u in browser_page.local_requests)
    assert not browser_page.blocked and not browser_page.page_errors
