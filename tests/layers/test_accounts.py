"""Accounts, roles, sessions and monitoring edits (``layers/access``) on a private store."""

from __future__ import annotations

import time

import pytest

from layers import auth, store
from layers.access import accounts, editing, roles, sessions
from layers.access.roles import AccessDenied
from layers.monitoring import history
from layers.monitoring.history import StaleVersionError
from layers.monitoring.validate import MonitoringValidationError

PASSWORD = "una clave bastante larga"
IDENT = "E1-P1-08"


def no_wait(seconds: float) -> None:
    """Throttling delays are counted by the tests that measure them; the others do not wait."""


@pytest.fixture(autouse=True)
def clean_throttle():
    auth.reset_failures()
    yield
    auth.reset_failures()


@pytest.fixture
def people(fresh_store):
    """One account of each role, with the same password."""
    made = {}
    for name, role in (("vecina", roles.JUNTA), ("ana", roles.PLANIFICADOR), ("beto", roles.PLANIFICADOR),
                       ("admin", roles.ADMINISTRADOR)):
        made[role if name != "beto" else "otro"] = accounts.create(name, role, PASSWORD, autor="test")
    return made


def session_of(name: str) -> sessions.Session:
    return sessions.open_session(accounts.authenticate(name, PASSWORD, sleep=no_wait))


# ----------------------------------------------------------------------------- accounts


def test_accounts_store_argon2_hashes_and_never_the_password(people):
    rows = store.read_table(accounts.TABLE)
    assert sorted(rows["nombre"]) == ["admin", "ana", "beto", "vecina"]
    assert all(h.startswith("$argon2id$") for h in rows["clave_hash"])
    assert not rows.astype(str).apply(lambda c: c.str.contains(PASSWORD, regex=False)).any().any()
    listed = accounts.list_accounts()
    assert "clave_hash" not in listed.columns and listed["activa"].all() and listed["con_clave"].all()


def test_bad_account_operations_change_nothing(people):
    before = store.read_table(accounts.TABLE)
    cases = [
        (lambda: accounts.create("Ana Pérez", roles.PLANIFICADOR, PASSWORD), "bad_name"),
        (lambda: accounts.create("nueva", "jefe", PASSWORD), "bad_role"),
        (lambda: accounts.create("nueva", roles.PLANIFICADOR, "corta"), "bad_password"),
        (lambda: accounts.create("ana", roles.PLANIFICADOR, PASSWORD), "account_exists"),
        (lambda: accounts.create("nueva", roles.PLANIFICADOR, None), "bad_password"),
        (lambda: accounts.set_role("nadie", roles.PLANIFICADOR), "unknown_account"),
        (lambda: accounts.deactivate("nadie"), "unknown_account"),
    ]
    for call, code in cases:
        with pytest.raises(Exception) as info:
            call()
        assert getattr(info.value, "code", None) == code
    assert store.read_table(accounts.TABLE).equals(before)


def test_role_change_and_deactivation_are_logged(people):
    accounts.set_role("vecina", roles.PLANIFICADOR, autor="admin")
    accounts.deactivate("beto", autor="admin")
    log = accounts.account_log()
    assert log[["nombre", "accion", "detalle", "autor"]].head(2).values.tolist() == [
        ["beto", "desactivar", "", "admin"], ["vecina", "rol", roles.PLANIFICADOR, "admin"]]
    assert accounts.get("vecina").rol == roles.PLANIFICADOR and not accounts.get("beto").activa


def test_accounts_survive_a_rebuild_from_data(people):
    store.ensure_store(force=True)
    assert len(accounts.list_accounts()) == 4


# ----------------------------------------------------------------------------- login and throttling


def test_login_right_wrong_unknown_and_inactive(people):
    assert accounts.authenticate("ana", PASSWORD, sleep=no_wait).rol == roles.PLANIFICADOR
    accounts.deactivate("beto")
    for name, password in (("ana", PASSWORD + "x"), ("nadie", PASSWORD), ("beto", PASSWORD), ("", "")):
        with pytest.raises(accounts.LoginError) as info:
            accounts.authenticate(name, password, sleep=no_wait)
        assert info.value.code == "bad_credentials" and str(info.value) == "Nombre de cuenta o clave incorrectos."


def test_a_client_is_locked_after_too_many_failures_and_others_are_not(people):
    waits: list[float] = []
    for _ in range(auth.MAX_FAILURES + 1):
        with pytest.raises(accounts.LoginError):
            accounts.authenticate("ana", "adivinanza-123", client="203.0.113.7", sleep=waits.append)
    assert waits[0] == auth.DELAY_PER_FAILURE_S and waits[-1] == auth.MAX_DELAY_S
    assert waits == sorted(waits)
    with pytest.raises(accounts.LoginError) as info:  # even the right password is not checked now
        accounts.authenticate("ana", PASSWORD, client="203.0.113.7", sleep=no_wait)
    assert info.value.code == "login_locked" and info.value.data["seconds"] > 0
    # Another client (the real planner) still signs in, only slowed by the account's failures.
    assert accounts.authenticate("ana", PASSWORD, client="198.51.100.20", sleep=no_wait).nombre == "ana"


def test_failures_on_one_account_from_many_clients_slow_that_account(people):
    waits: list[float] = []
    n = auth.MAX_FAILURES + 15
    for i in range(n):
        with pytest.raises(accounts.LoginError):
            accounts.authenticate("ana", "adivinanza-123", client=f"192.0.2.{i}", sleep=waits.append)
    # each client failed once (0.5 s); past MAX_FAILURES the account's own delay grows beyond that
    assert waits[0] == pytest.approx(auth.DELAY_PER_FAILURE_S)
    expected = min(auth.MAX_ACCOUNT_DELAY_S, (n - auth.MAX_FAILURES) * auth.ACCOUNT_DELAY_PER_FAILURE_S)
    assert waits[-1] == pytest.approx(expected) and expected > auth.DELAY_PER_FAILURE_S


def test_brute_force_rate_is_measured(people):
    """Real waiting: 5 wrong passwords from one client take at least 0.5 + 1 + 1.5 + 2 + 2.5 s."""
    start = time.monotonic()
    for _ in range(5):
        with pytest.raises(accounts.LoginError):
            accounts.authenticate("ana", "adivinanza-123", client="203.0.113.9")
    elapsed = time.monotonic() - start
    assert elapsed >= 7.5, elapsed
    print(f"5 failed logins from one client: {elapsed:.1f} s")


# ----------------------------------------------------------------------------- sessions and roles


@pytest.mark.parametrize("action", sorted(roles.ACTIONS))
def test_each_role_against_each_action(people, action):
    allowed = set(roles.ACTIONS[action])
    with pytest.raises(AccessDenied) as info:
        sessions.require_role(None, action)
    assert info.value.code == "login_required"
    for name, role in (("vecina", roles.JUNTA), ("ana", roles.PLANIFICADOR), ("admin", roles.ADMINISTRADOR)):
        session = session_of(name)
        if role in allowed:
            assert sessions.require_role(session, action).nombre == name
        else:
            with pytest.raises(AccessDenied) as info:
                sessions.require_role(session, action)
            assert info.value.code == "forbidden"


def test_sessions_expire_when_idle_and_when_too_old(people, monkeypatch):
    monkeypatch.setenv("SIT_SESSION_IDLE_MIN", "10")
    monkeypatch.setenv("SIT_SESSION_MAX_HOURS", "1")
    account = accounts.get("ana")
    t0 = 1_800_000_000.0
    session = sessions.open_session(account, now=t0)
    session = sessions.require_role(session, roles.EDIT_MONITORING, now=t0 + 9 * 60)  # activity refreshes
    assert session.ultimo == t0 + 9 * 60
    with pytest.raises(AccessDenied) as info:
        sessions.require_role(session, roles.EDIT_MONITORING, now=t0 + 9 * 60 + 10 * 60 + 1)
    assert info.value.code == "session_expired"
    for minute in range(9, 60, 9):  # kept busy, it still ends an hour after the login
        session = sessions.require_role(session, roles.EDIT_MONITORING, now=t0 + minute * 60)
    with pytest.raises(AccessDenied) as info:
        sessions.require_role(session, roles.EDIT_MONITORING, now=t0 + 3601)
    assert info.value.code == "session_expired"


def test_role_change_and_deactivation_reach_open_sessions(people):
    session = session_of("ana")
    accounts.set_role("ana", roles.JUNTA)
    with pytest.raises(AccessDenied) as info:
        sessions.require_role(session, roles.EDIT_MONITORING)
    assert info.value.code == "forbidden"
    admin = session_of("admin")
    accounts.deactivate("admin")
    with pytest.raises(AccessDenied) as info:
        sessions.require_role(admin, roles.AUDIT)
    assert info.value.code == "account_inactive"


def test_identity_provider_users_map_to_accounts_by_email(people):
    accounts.create("carla", roles.PLANIFICADOR, None, correo="Carla.Rojas@Vallenar.cl")
    session = sessions.from_identity({"is_logged_in": True, "email": "carla.rojas@vallenar.cl", "name": "Carla"})
    assert (session.nombre, session.rol, session.via) == ("carla", roles.PLANIFICADOR, sessions.OIDC)
    assert sessions.from_identity({"is_logged_in": True, "email": "otra@vallenar.cl"}) is None
    assert sessions.from_identity({"is_logged_in": True, "email": "carla.rojas@vallenar.cl",
                                   "email_verified": False}) is None
    with pytest.raises(accounts.LoginError):  # no password: only the identity provider signs it in
        accounts.authenticate("carla", "", sleep=no_wait)


# ----------------------------------------------------------------------------- monitoring edits


def test_planner_saves_with_her_name_and_reason(people):
    session = session_of("ana")
    version = int(editing.current_record(IDENT)["version"])
    _, changes = editing.save_monitoring(session, IDENT, {"estado": "en ejecución", "avance_fisico": "30,5"},
                                         "Informe trimestral", version)
    assert changes.n_fields == 2
    entries = history.history(IDENT)
    assert set(entries["autor"]) == {"ana"} and set(entries["motivo"]) == {"Informe trimestral"}
    record = editing.current_record(IDENT)
    assert record["avance_fisico"] == 30.5 and record["actualizado_por"] == "ana" and record["version"] == 1


@pytest.mark.parametrize("who", [None, "vecina"])
def test_public_and_junta_cannot_edit(people, who):
    session = None if who is None else session_of(who)
    with pytest.raises(AccessDenied):
        editing.save_monitoring(session, IDENT, {"estado": "terminada"}, "No debería", 0)
    assert history.history(IDENT).empty


def test_bad_values_and_missing_reason_are_refused_with_the_sheet_messages(people):
    session = session_of("ana")
    with pytest.raises(MonitoringValidationError) as info:
        editing.save_monitoring(session, IDENT, {"avance_fisico": "120", "codigo_bip": "abc"}, "Informe", 0)
    fields = {p.campo for p in info.value.data["problems"]}
    assert fields == {"avance_fisico", "codigo_bip"}
    with pytest.raises(Exception) as info:
        editing.save_monitoring(session, IDENT, {"avance_fisico": "20"}, "  ", 0)
    assert info.value.code == "reason_missing"
    assert history.history(IDENT).empty


def test_second_of_two_planners_is_refused_and_sees_what_changed(people):
    ana, beto = session_of("ana"), session_of("beto")
    version = int(editing.current_record(IDENT)["version"])  # both opened the form at this version
    editing.save_monitoring(ana, IDENT, {"avance_fisico": "40"}, "Visita a obra", version)
    with pytest.raises(StaleVersionError):
        editing.save_monitoring(beto, IDENT, {"avance_fisico": "35", "estado": "en ejecución"}, "Informe", version)
    record = editing.current_record(IDENT)
    assert record["avance_fisico"] == 40.0 and record["estado"] == "sin iniciar"  # nothing of beto's written
    meanwhile = editing.changes_since(IDENT, version)
    assert meanwhile[["autor", "campo", "valor_nuevo", "motivo"]].values.tolist() == [
        ["ana", "avance_fisico", "40", "Visita a obra"]]
    # Having seen it, beto saves on top of the current version: both changes are in the history.
    editing.save_monitoring(beto, IDENT, {"avance_fisico": "35", "estado": "en ejecución"}, "Informe",
                            int(record["version"]))
    assert history.history(IDENT)["autor"].tolist() == ["ana", "beto", "beto"]


def test_only_an_administrator_changes_accounts_and_never_her_own(people):
    from layers.access import admin

    for name in ("vecina", "ana"):
        with pytest.raises(AccessDenied):
            admin.change_role(session_of(name), "beto", roles.ADMINISTRADOR)
    boss = session_of("admin")
    with pytest.raises(accounts.AccountError) as info:
        admin.change_role(boss, "admin", roles.PLANIFICADOR)
    assert info.value.code == "own_account"
    with pytest.raises(accounts.AccountError):
        admin.deactivate(boss, "admin")
    admin.change_role(boss, "vecina", roles.PLANIFICADOR)
    assert accounts.account_log(1)[["nombre", "accion", "autor"]].values.tolist() == [["vecina", "rol", "admin"]]
