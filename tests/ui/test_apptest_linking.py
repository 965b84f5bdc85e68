"""The territories page (``/vincular``) with Streamlit's AppTest: a planner picks an initiative's scope and
territories; a public visitor and a junta account are refused on the server; a stale save shows what changed."""

from __future__ import annotations

import pytest

from layers import initiatives
from layers.access import accounts, linking, roles
from tests.ui.conftest import app_test
from tests.ui.test_roles import login, text_of

IDENT = "E1-P1-01"  # shipped scope urbano, no place
SITED = "E1-P1-08"
PAGE = "pages/vincular.py"


def open_page(at, ident: str = IDENT, page: str = PAGE):
    at.query_params["iniciativa"] = ident
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def choose(at, scope: str, slugs: list[str], reason: str, ident: str = IDENT):
    at.selectbox(key=f"vincular_{ident}_alcance").select(scope)
    if slugs:
        at.run()  # the list of territories is drawn for a specific scope
        at.multiselect(key=f"vincular_{ident}_territorios").set_value(slugs)
    at.text_input(key="vincular_motivo").input(reason)
    at.button(key="vincular_guardar").click().run()
    assert not at.exception, at.exception
    return at


def sector_lists(at, slug: str, ident: str) -> bool:
    at.query_params.clear()
    at.query_params["territorio"] = slug
    at.switch_page("pages/sector.py").run()
    assert not at.exception, at.exception
    return ident in text_of(at) + str([e.value for e in at.dataframe])


def test_planner_picks_territories_and_the_initiative_is_relinked(people):
    at = login("ana")
    assert not sector_lists(at, "domeyko", IDENT)  # an urban programme: not on a rural locality's page
    at = open_page(at)
    assert at.title[0].value == "Territorios de una iniciativa"
    assert "Alcance vigente: Urbano (incluido en el sistema)." in text_of(at)
    at = choose(at, "territorial", ["vista-alegre", "domeyko"], "Acuerdo con la junta")
    shown = text_of(at)
    assert "Alcance guardado." in shown
    assert "Alcance vigente: Territorial (lugares nombrados) — Vista Alegre, Domeyko (elegido por ana el 20" in shown
    row = initiatives.with_sites(initiatives.default_sites()).set_index("id").loc[IDENT]
    assert (row["alcance"], row["territorios"]) == ("territorial", "vista-alegre;domeyko")
    entry = linking.history(IDENT).iloc[-1]
    assert (entry["autor"], entry["motivo"]) == ("ana", "Acuerdo con la junta")
    # the sector page of one of them lists it now
    assert sector_lists(at, "domeyko", IDENT)
    # and back to the shipped link
    at = open_page(at)
    at.text_input(key="vincular_motivo").input("Se vuelve al plan")
    at.button(key="vincular_volver").click().run()
    assert "Se volvió al alcance incluido en el sistema." in text_of(at)
    assert linking.current_scope(IDENT)["alcance"] == "urbano"


def test_an_empty_list_is_refused_with_one_line_and_nothing_stored(people):
    at = choose(open_page(login("ana")), "territorial", [], "Falta elegir")
    assert "No se guardó nada: Un alcance territorial debe nombrar al menos un territorio." in text_of(at)
    assert linking.history().empty


def test_two_planners_the_second_sees_what_changed(people):
    ana, beto = open_page(login("ana")), open_page(login("beto"))
    choose(ana, "comunal", [], "Vale para toda la comuna")
    beto = choose(beto, "territorial", ["centro"], "Solo el centro")
    shown = text_of(beto)
    assert "otra persona cambió el alcance" in shown and "**ana** — «urbano» → «comunal»" in shown
    assert beto.multiselect(key=f"vincular_{IDENT}_territorios").value == ["centro"]  # his choice is kept
    assert linking.history(IDENT)["autor"].tolist() == ["ana"]
    beto.text_input(key="vincular_motivo").input("Solo el centro, revisado")
    beto.button(key="vincular_guardar").click().run()
    assert "Alcance guardado." in text_of(beto)
    assert linking.history(IDENT)["autor"].tolist() == ["ana", "beto"]


def test_a_sited_initiative_is_sent_to_the_drawing_page(people):
    at = open_page(login("ana"), SITED)
    assert "tiene un lugar en el mapa" in text_of(at)
    assert not [s for s in at.selectbox if s.key == f"vincular_{SITED}_alcance"]


@pytest.mark.parametrize("who", [None, "vecina"])
def test_public_and_junta_are_refused(people, who):
    at = open_page(login(who)) if who else app_test(PAGE, {"iniciativa": IDENT}).run()
    assert not at.exception
    assert at.title[0].value == "Acceso restringido"
    assert not at.selectbox and not at.multiselect and not at.text_input


def test_a_planner_demoted_meanwhile_is_refused_on_the_server(people):
    at = open_page(login("ana"))
    accounts.set_role("ana", roles.JUNTA, autor="test")  # between drawing the page and pressing «Guardar»
    at = choose(at, "comunal", [], "Intento")
    assert at.title[0].value == "Acceso restringido"
    assert linking.history().empty and initiatives.edited_scopes().empty


def test_the_audit_page_lists_the_change_with_the_account(people):
    choose(open_page(login("ana")), "rural", [], "Programa para el campo")
    at = open_page(login("admin"), page="pages/auditoria.py")
    recent = at.dataframe[0].value
    assert recent.iloc[0][["Cuenta o autor", "Iniciativa", "Antes", "Después", "Motivo"]].tolist() == [
        "ana", IDENT, "urbano", "rural", "Programa para el campo"]
