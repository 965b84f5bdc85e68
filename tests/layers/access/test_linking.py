"""Scopes chosen from a list in the app (``layers/access/linking.py``), on both store backends.

Validation and refusals write nothing; a stored choice re-links the initiative at once
through the one relation rule (:func:`layers.territory_layers.relations`), is recorded in
the history with the account's name, refuses a stale second save, and can be undone.
"""

from __future__ import annotations

import datetime as dt

import pytest

from layers import initiatives, store, territory_layers
from layers.access import accounts, linking, placing, roles, sessions
from layers.access.roles import AccessDenied
from layers.monitoring.history import StaleVersionError

PASSWORD = "una clave bastante larga"
URBAN = "E1-P1-01"  # shipped scope urbano, no place
NAMED = "E1-P4-09"  # shipped territorial: domeyko, cachiyuyo, incahuasi
SITED = "E1-P1-08"  # shipped referential point
WHEN = dt.datetime(2026, 3, 15, 13, 20, tzinfo=dt.UTC)


@pytest.fixture
def people(fresh_store):
    accounts.create("ana", roles.PLANIFICADOR, PASSWORD)
    accounts.create("bruno", roles.PLANIFICADOR, PASSWORD)
    accounts.create("vecina", roles.JUNTA, PASSWORD)
    return {name: sessions.open_session(accounts.get(name)) for name in ("ana", "bruno", "vecina")}


def related(ident: str) -> dict[str, str]:
    """slug -> relation of one initiative, by the relation rule the app and the command line use."""
    frame = initiatives.with_sites(initiatives.default_sites())
    _layer, rel = territory_layers.relations(frame)
    mine = rel.pairs(ids=[ident])
    return dict(zip(mine["slug"], mine["relacion"]))


def nothing_written() -> bool:
    return linking.history().empty and initiatives.edited_scopes().empty


def test_the_scopes_offered_are_the_link_tables(people):
    assert linking.scopes() == ("comunal", "urbano", "rural", "territorial", "extracomunal")
    choices = linking.territory_choices()
    assert list(choices["slug"]) == list(store.read_layer("territorios")["slug"])
    assert {"domeyko", "villa-el-eden", "centro"} <= set(choices["slug"])


def test_picked_territories_relink_the_initiative_at_once(people, backend):
    before = related(URBAN)
    assert set(before.values()) == {"urbano"} and "domeyko" not in before
    state = linking.current_scope(URBAN)
    assert (state["alcance"], state["version"], state["editado"]) == ("urbano", 0, False)
    _s, now = linking.set_scope(people["ana"], URBAN, "territorial", ["villa-el-eden", "domeyko"],
                                "Acuerdo con la junta de vecinos", 0, now=WHEN)
    assert now["alcance"] == "territorial" and now["territorios"] == ["villa-el-eden", "domeyko"]  # layer order
    assert (now["version"], now["editado"], now["autor"]) == (1, True, "ana")
    assert related(URBAN) == {"villa-el-eden": "vinculada", "domeyko": "vinculada"}
    row = initiatives.with_sites(None).set_index("id").loc[URBAN]  # shipped sites too: scopes lie over any
    assert (row["alcance"], row["territorios"]) == ("territorial", "villa-el-eden;domeyko")
    entry = linking.history(URBAN).iloc[-1]
    assert (entry["campo"], entry["autor"], entry["motivo"]) == ("alcance", "ana", "Acuerdo con la junta de vecinos")
    assert (entry["valor_anterior"], entry["valor_nuevo"]) == ("urbano", "territorial: Villa El Edén, Domeyko")
    assert entry["fecha_hora"].startswith("2026-03-15T10:20")  # America/Santiago
    assert placing.history(URBAN)["campo"].tolist() == ["alcance"]  # where the CLI and the audit read


def test_a_scope_wide_choice_and_back_to_the_shipped_link(people, backend):
    _s, state = linking.set_scope(people["ana"], NAMED, "rural", [], "Programa para todo el campo", 0)
    assert state["territorios"] == [] and set(related(NAMED).values()) == {"rural"}
    assert "longomilla" in related(NAMED) and "centro" not in related(NAMED)
    _s, back = linking.restore(people["bruno"], NAMED, "Se vuelve al plan", 1)
    assert (back["alcance"], back["editado"], back["version"]) == ("territorial", False, 2)
    assert related(NAMED) == {"domeyko": "vinculada", "cachiyuyo": "vinculada", "incahuasi": "vinculada"}
    entries = linking.history(NAMED)
    assert entries["autor"].tolist() == ["ana", "bruno"]
    assert entries["valor_nuevo"].tolist() == ["rural", "incluido: territorial: Domeyko, Cachiyuyo, Incahuasi"]
    assert initiatives.edited_scopes().empty
    with pytest.raises(linking.ScopeError) as info:
        linking.restore(people["ana"], NAMED, "Otra vez", 2)
    assert info.value.code == "not_edited"


def test_the_second_save_is_refused_and_says_what_changed(people, backend):
    linking.set_scope(people["ana"], URBAN, "comunal", [], "Vale para toda la comuna", 0)
    with pytest.raises(StaleVersionError) as info:
        linking.set_scope(people["bruno"], URBAN, "territorial", ["centro"], "Solo el centro", 0)
    assert "Otra cuenta cambió el alcance" in str(info.value)
    changes = linking.changes_since(URBAN, 0)
    assert changes[["autor", "valor_nuevo"]].values.tolist() == [["ana", "comunal"]]
    assert linking.current_scope(URBAN)["alcance"] == "comunal" and len(linking.history()) == 1
    linking.set_scope(people["bruno"], URBAN, "territorial", ["centro"], "Solo el centro", 1)
    assert related(URBAN) == {"centro": "vinculada"}
    assert linking.changes_since(URBAN, 1)["autor"].tolist() == ["bruno"]


@pytest.mark.parametrize("alcance, territorios, motivo, code", [
    ("territorial", [], "Motivo", "no_territories"),
    ("territorial", ["no-existe"], "Motivo", "unknown_territory"),
    ("territorial", ["centro", "Centro"], "Motivo", "unknown_territory"),
    ("comunal", ["centro"], "Motivo", "territories_not_allowed"),
    ("específico", ["centro"], "Motivo", "bad_scope"),
    ("", [], "Motivo", "bad_scope"),
    ("territorial", ["centro"], "  ", "reason_missing"),
    ("urbano", [], "Sin cambio", "unchanged"),
])
def test_bad_choices_are_one_spanish_line_and_store_nothing(people, alcance, territorios, motivo, code):
    with pytest.raises(linking.ScopeError) as info:
        linking.set_scope(people["ana"], URBAN, alcance, territorios, motivo, 0)
    assert info.value.code == code
    message = str(info.value)
    assert message and "\n" not in message and "--" not in message
    assert nothing_written() and linking.current_scope(URBAN)["alcance"] == "urbano"


def test_unknown_and_sited_initiatives_are_refused(people):
    with pytest.raises(linking.ScopeError) as info:
        linking.set_scope(people["ana"], "E9-P9-99", "comunal", [], "Motivo", 0)
    assert info.value.code == "unknown_initiative"
    with pytest.raises(linking.ScopeError) as info:
        linking.set_scope(people["ana"], SITED, "territorial", ["centro"], "Motivo", 0)
    assert info.value.code == "sited_initiative" and nothing_written()
    placing.remove(people["ana"], SITED, "Sin lugar conocido")  # without its place it can be linked by a list
    linking.set_scope(people["ana"], SITED, "territorial", ["quinta-valle"], "Sector conocido", 0)
    assert related(SITED) == {"quinta-valle": "vinculada"}


@pytest.mark.parametrize("who", [None, "vecina"])
def test_public_and_junta_are_refused_on_the_server(people, who):
    session = people[who] if who else None
    with pytest.raises(AccessDenied):
        linking.set_scope(session, URBAN, "territorial", ["centro"], "Intento", 0)
    with pytest.raises(AccessDenied):
        linking.restore(session, URBAN, "Intento", 0)
    assert nothing_written()


def test_a_rebuild_from_data_keeps_the_choice(people, backend):
    linking.set_scope(people["ana"], URBAN, "territorial", ["centro"], "Solo el centro", 0)
    store.ensure_store(force=True)
    assert linking.current_scope(URBAN)["territorios"] == ["centro"]
    assert related(URBAN) == {"centro": "vinculada"}
