"""A planner picks an initiative's territories from the list in a real browser (Debian's chromium through
Playwright), searching without accents, and the initiative appears on the sector page of one of them."""

from __future__ import annotations

import os

import pytest

from layers.access import roles
from tests.ui.conftest import PROJECT_DIR, store_with_accounts
from tests.ui.test_browser_roles import main_text, sign_in, wait_idle

APP = PROJECT_DIR / "app.py"
NAME = "Remodelación e Implementación de Espacios Públicos"  # E1-P1-01, an urban programme, the first in the list
SLUG = "hacienda-compania"  # «Hacienda Compañía», a rural locality


@pytest.fixture(scope="module")
def linking_dir(data_dir, tmp_path_factory):
    """A private SIT_DATA_DIR with the session store and a planner account."""
    return store_with_accounts(data_dir, tmp_path_factory, "sit_linking", (("ana", roles.PLANIFICADOR),))


@pytest.fixture(scope="module")
def app(streamlit_server, linking_dir, browser):
    return streamlit_server.get(APP, env={"SIT_DATA_DIR": str(linking_dir)}).base_url


def sector_text(probe, app: str) -> str:
    probe.goto(f"{app}/sector?territorio={SLUG}")
    wait_idle(probe)
    probe.page.wait_for_selector('text="El plan en mi territorio"', timeout=60_000)
    return main_text(probe)


def test_browser_planner_picks_territories_and_the_sector_page_lists_the_initiative(app, browser_page, linking_dir):
    assert NAME not in sector_text(browser_page, app)  # an urban programme: not on a rural locality's page
    sign_in(browser_page, app, "ana")
    page = browser_page.page
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Territorios de iniciativas").click()
    page.wait_for_selector('text="Territorios de una iniciativa"', timeout=60_000)
    wait_idle(browser_page)
    assert "Alcance vigente: Urbano (incluido en el sistema)." in main_text(browser_page)
    page.get_by_role("combobox", name="Alcance").click()
    page.get_by_role("option", name="Territorial (lugares nombrados)").click()
    page.wait_for_selector('text="Territorios"', timeout=60_000)
    wait_idle(browser_page)
    page.get_by_role("combobox", name="Territorios").click()
    page.keyboard.type("compania")  # no accent typed: «Compañía» is found
    page.get_by_role("option", name="Hacienda Compañía").click()
    page.keyboard.press("Escape")
    page.get_by_label("Motivo del cambio").fill("Acuerdo con la comunidad")
    page.keyboard.press("Enter")  # the reason is sent (a rerun) before the button is pressed
    wait_idle(browser_page)
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_selector('text="Alcance guardado."', timeout=60_000)
    page.wait_for_selector('text=/Hacienda Compañía \\(elegido por ana el /', timeout=60_000)
    wait_idle(browser_page)
    assert "Territorial (lugares nombrados) — Hacienda Compañía (elegido por ana el " in main_text(browser_page)
    assert NAME in sector_text(browser_page, app)  # a full page load: a public visitor sees it there
    os.environ["SIT_DATA_DIR"], previous = str(linking_dir), os.environ.get("SIT_DATA_DIR", "")
    try:
        from layers.access import linking

        entry = linking.history().iloc[-1]
    finally:
        os.environ["SIT_DATA_DIR"] = previous
    assert (entry["autor"], entry["valor_nuevo"]) == ("ana", "territorial: Hacienda Compañía")
    assert not browser_page.blocked and not browser_page.page_errors


def test_browser_public_visitor_gets_no_list_by_url(app, browser_page):
    browser_page.goto(app + "/vincular?iniciativa=E1-P1-01")
    wait_idle(browser_page)
    assert "Acceso restringido" in main_text(browser_page)
    assert browser_page.page.locator('[data-testid="stMain"] input').count() == 0
    assert not browser_page.blocked
