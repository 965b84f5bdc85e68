"""Roles in the app: every role against every edit path, with Streamlit's AppTest and in a real browser."""

from __future__ import annotations

import time

import pytest

from layers.access import accounts, roles
from layers.monitoring import history
from tests.htmltext import outline, read_markdown
from tests.ui.conftest import PASSWORD, app_test

IDENT = "E1-P1-08"
EDIT_PAGES = ("pages/editar.py", "pages/auditoria.py", "pages/ubicar.py")
LOGIN_SUBMIT = "FormSubmitter:ingresar_form-Ingresar"
SAVE = f"FormSubmitter:editar_form_{IDENT}-Guardar"


def text_of(at) -> str:
    """Titles, Markdown, captions and alerts, escapes removed, and the text of ``st.html`` blocks (the sector lists)."""
    parts = [e.value for kind in ("title", "markdown", "caption", "warning", "error", "success", "info")
             for e in getattr(at, kind)]
    lists = [text for e in at.html for _, text in outline(e.value)]
    return "\n".join([read_markdown(p) for p in parts] + lists)


def login(name: str, password: str = PASSWORD, query: dict | None = None):
    at = app_test("pages/ingresar.py", query).run()
    at.text_input(key="ingresar_nombre").input(name)
    at.text_input(key="ingresar_clave").input(password)
    at.button(key=LOGIN_SUBMIT).click().run()
    assert not at.exception, at.exception
    return at


def open_page(at, page: str, query: dict | None = None):
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", EDIT_PAGES)
@pytest.mark.parametrize("query", [None, {"iniciativa": IDENT}, {"rol": "administrador", "sit_sesion": "admin"}])
def test_a_public_visitor_reaches_no_edit_path(people, page, query):
    at = app_test(page, query).run()
    assert not at.exception
    assert at.title[0].value == "Acceso restringido"
    assert not at.text_input and not at.selectbox and not at.dataframe  # no form, no table
    assert "ingresar con una cuenta" in text_of(at)


def test_login_shows_the_account_and_a_wrong_password_says_nothing_more(people):
    at = login("ana", "otra clave cualquiera")
    assert "Nombre de cuenta o clave incorrectos." in text_of(at)
    at = login("ana")
    assert "Sesión abierta como **ana** (planificador)" in text_of(at)
    assert any("Sesión: ana" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("name, may_edit, may_audit", [("vecina", False, False), ("ana", True, False),
                                                      ("admin", True, True)])
def test_each_role_against_each_page(people, name, may_edit, may_audit):
    at = open_page(login(name), "pages/editar.py", {"iniciativa": IDENT})
    assert (at.title[0].value == "Editar el seguimiento") is may_edit
    if not may_edit:
        assert "no permite esta acción" in text_of(at) and not at.selectbox
    at = open_page(at, "pages/auditoria.py")
    assert (at.title[0].value == "Auditoría") is may_audit
    if not may_audit:
        assert not at.dataframe


def edit(at, values: dict[str, str], reason: str):
    for name, value in values.items():
        widget = f"editar_{IDENT}_{name}"
        try:
            at.text_input(key=widget).input(value)
        except KeyError:
            at.selectbox(key=widget).select(value)
    at.text_input(key="editar_motivo").input(reason)
    at.button(key=SAVE).click().run()
    assert not at.exception, at.exception
    return at


def test_planner_edits_and_the_timeline_names_her(people):
    at = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    at = edit(at, {"estado": "en ejecución", "avance_fisico": "30,5"}, "Informe trimestral")
    assert "Guardado: 2 campos cambiados." in text_of(at)
    assert at.text_input(key=f"editar_{IDENT}_avance_fisico").value == "30.5"
    entries = history.history(IDENT)
    assert set(entries["autor"]) == {"ana"} and set(entries["motivo"]) == {"Informe trimestral"}
    at = open_page(at, "pages/seguimiento.py", {"iniciativa": IDENT})
    assert "· ana — Informe trimestral" in text_of(at)


def test_bad_values_are_refused_in_the_form_with_the_sheet_messages(people):
    at = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    at = edit(at, {"avance_fisico": "120"}, "Informe")
    assert "No se guardó nada: revise este campo." in text_of(at) and "Avance físico" in text_of(at)
    assert "planilla" not in text_of(at)  # a form, not a sheet
    assert at.text_input(key=f"editar_{IDENT}_avance_fisico").value == "120"  # kept for correction
    assert history.history(IDENT).empty


def test_two_planners_the_second_sees_what_changed_and_loses_nothing(people):
    ana = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    beto = open_page(login("beto"), "pages/editar.py", {"iniciativa": IDENT})
    edit(ana, {"avance_fisico": "40"}, "Visita a obra")
    beto = edit(beto, {"monto_aprobado_clp": "1.200.000.000", "avance_fisico": "35"}, "Informe trimestral")
    shown = text_of(beto)
    assert "otra persona cambió esta iniciativa" in shown
    assert "**ana** — Avance físico: «» → «40» (motivo: Visita a obra)" in shown
    assert "Ambos cambiaron: Avance físico." in shown
    # beto's typed values are still there; nothing of his was written yet
    assert beto.text_input(key=f"editar_{IDENT}_monto_aprobado_clp").value == "1.200.000.000"
    assert beto.text_input(key=f"editar_{IDENT}_avance_fisico").value == "35"
    assert history.history(IDENT)["autor"].tolist() == ["ana"]
    beto.text_input(key="editar_motivo").input("Informe trimestral, revisado")
    beto.button(key=SAVE).click().run()
    assert "Guardado: 2 campos cambiados." in text_of(beto)
    assert history.history(IDENT)["autor"].tolist() == ["ana", "beto", "beto"]


def test_a_field_only_the_other_changed_is_not_reverted(people):
    ana = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    beto = open_page(login("beto"), "pages/editar.py", {"iniciativa": IDENT})
    edit(ana, {"estado": "en ejecución"}, "Inicio de obras")
    beto = edit(beto, {"avance_fisico": "10"}, "Informe")
    assert beto.selectbox(key=f"editar_{IDENT}_estado").value == "en ejecución"  # took ana's value
    beto.button(key=SAVE).click().run()
    stored = history.current_values([IDENT]).iloc[0]
    assert stored["estado"] == "en ejecución" and stored["avance_fisico"] == 10.0


def test_administrator_sees_recent_changes_by_anyone(people):
    ana = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    edit(ana, {"avance_fisico": "40"}, "Visita a obra")
    at = open_page(login("admin"), "pages/auditoria.py")
    recent = at.dataframe[0].value
    assert recent.iloc[0][["Cuenta o autor", "Iniciativa", "Después", "Motivo"]].tolist() == [
        "ana", IDENT, "40", "Visita a obra"]
    assert set(at.dataframe[1].value["Cuenta"]) == {"admin", "ana", "beto", "vecina"}


def test_an_idle_session_expires_and_the_page_says_so(people, monkeypatch):
    at = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    assert at.title[0].value == "Editar el seguimiento"
    monkeypatch.setenv("SIT_SESSION_IDLE_MIN", "0.02")  # 1.2 s
    time.sleep(1.5)
    at.run()
    assert at.title[0].value == "Acceso restringido"
    assert "La sesión expiró; ingrese de nuevo." in text_of(at)
    assert not at.text_input


def test_a_deactivated_account_is_shut_out_at_its_next_page(people):
    at = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    accounts.deactivate("ana")
    at.run()
    assert at.title[0].value == "Acceso restringido" and "ya no está activa" in text_of(at)


def test_planner_opens_the_drawing_page_and_junta_does_not(people):
    at = open_page(login("ana"), "pages/ubicar.py", {"iniciativa": "E1-P1-08"})
    assert at.title[0].value == "Ubicar iniciativas" and not at.error
    assert "Ubicación actual: Point" in text_of(at)
    at = open_page(login("vecina"), "pages/ubicar.py", {"iniciativa": "E1-P1-08"})
    assert at.title[0].value == "Acceso restringido" and not at.selectbox


def test_administrator_changes_a_role_and_deactivates_but_not_herself(people):
    at = open_page(login("admin"), "pages/auditoria.py")
    at.selectbox(key="auditoria_cuenta_nombre").select("vecina")
    at.selectbox(key="auditoria_cuenta_rol").select(roles.PLANIFICADOR)
    at.button(key="FormSubmitter:auditoria_cuenta-Aplicar").click().run()
    assert "Cuenta «vecina»: planificador, activa." in text_of(at)
    at.selectbox(key="auditoria_cuenta_nombre").select("admin")
    at.checkbox(key="auditoria_cuenta_desactivar").check()
    at.button(key="FormSubmitter:auditoria_cuenta-Aplicar").click().run()
    assert "No puede quitarse a sí mismo" in text_of(at) and accounts.get("admin").activa
    at.selectbox(key="auditoria_cuenta_nombre").select("beto")
    at.button(key="FormSubmitter:auditoria_cuenta-Aplicar").click().run()
    assert not accounts.get("beto").activa
    log = accounts.account_log(2)
    assert log[["nombre", "accion", "autor"]].values.tolist() == [["beto", "desactivar", "admin"],
                                                                  ["vecina", "rol", "admin"]]


def test_a_save_after_the_account_was_deactivated_writes_nothing(people):
    at = open_page(login("ana"), "pages/editar.py", {"iniciativa": IDENT})
    accounts.deactivate("ana")  # between drawing the form and pressing «Guardar»
    at.text_input(key=f"editar_{IDENT}_avance_fisico").input("50")
    at.text_input(key="editar_motivo").input("Informe")
    at.button(key=SAVE).click().run()
    assert not at.exception
    assert at.title[0].value == "Acceso restringido"
    assert history.history(IDENT).empty


def test_the_placing_page_opens_an_initiative_sited_by_an_imported_layer_without_precision(people, tmp_path):
    """An imported site layer may declare no precision (<NA>): the page describes the place, it does not fail."""
    import geopandas as gpd

    from layers import store
    from layers.ingest import importer
    from tests.layers.ingest._import_fixtures import write

    centre = store.read_layer("territorios").set_index("slug").geometry["centro"].representative_point()
    path = write(gpd.GeoDataFrame({"id": ["E1-P1-01"]}, geometry=[centre], crs="EPSG:4326"), tmp_path / "sitios.geojson")
    importer.import_file(path, as_="iniciativas", layer="ubicaciones_secplan", id_field="id")
    at = open_page(login("ana"), "pages/ubicar.py", {"iniciativa": "E1-P1-01"})
    assert not at.exception, at.exception
    assert "Ubicación actual: Point" in text_of(at)



def test_an_expired_session_lists_no_planner_page(monkeypatch):
    """The navigation lists the planner pages only while the tab's session is alive (they would refuse anyway)."""
    from layers.access import sessions
    from pages import _access as access

    ten_seconds_ago = time.time() - 10
    access.sign_in(sessions.Session("ana", roles.PLANIFICADOR, sessions.CLAVE, ten_seconds_ago, ten_seconds_ago))
    assert access.nav_visibility(roles.EDIT_MONITORING) == "visible"
    monkeypatch.setenv("SIT_SESSION_IDLE_MIN", "0.05")  # 3 s: the session went idle 10 s ago
    assert access.nav_visibility(roles.EDIT_MONITORING) == "hidden"
