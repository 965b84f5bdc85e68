"""``cli.py usuarios`` in real processes: create (password from standard input), list, role, deactivate."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from layers import settings, store
from layers.access import accounts

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]
PASSWORD = "una clave bastante larga"


def run(*args: str, data_dir, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=settings.PROJECT_DIR, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


def test_create_list_role_deactivate(fresh_store):
    folder = fresh_store.parent
    proc = run("usuarios", "crear", "ana.perez", "--rol", "planificador", data_dir=folder, stdin=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "Cuenta «ana.perez»: planificador, activa." in proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    assert accounts.authenticate("ana.perez", PASSWORD, sleep=lambda s: None).rol == "planificador"
    proc = run("usuarios", "crear", "carla", "--rol", "junta de vecinos", "--correo", "carla@vallenar.cl",
               "--sin-clave", data_dir=folder)
    assert proc.returncode == 0, proc.stderr
    assert run("usuarios", "rol", "ana.perez", "administrador", data_dir=folder).returncode == 0
    assert run("usuarios", "desactivar", "carla", data_dir=folder).returncode == 0
    listed = run("usuarios", "listar", data_dir=folder)
    assert listed.stdout.splitlines() == [
        "ana.perez\tadministrador\tactiva\tclave\t",
        "carla\tjunta de vecinos\tdesactivada\tsolo proveedor de identidad\tcarla@vallenar.cl",
    ]
    log = accounts.account_log()
    assert log["accion"].tolist() == ["desactivar", "rol", "crear", "crear"]
    assert all(a.startswith("consola") for a in log["autor"])
    back = run("usuarios", "activar", "carla", data_dir=folder)
    assert back.returncode == 0 and "Cuenta «carla»: junta de vecinos, activa." in back.stderr
    assert accounts.get("carla").activa and accounts.account_log(1)["accion"].tolist() == ["activar"]


@pytest.mark.parametrize("args, stdin, expected", [
    (("usuarios", "crear", "Ana", "--rol", "planificador"), PASSWORD, "El nombre de cuenta debe tener"),
    (("usuarios", "crear", "ana", "--rol", "jefe"), PASSWORD, "Rol desconocido: «jefe»"),
    (("usuarios", "crear", "ana", "--rol", "planificador"), "corta", "La clave debe tener entre 10"),
    (("usuarios", "crear", "ana", "--rol", "planificador", "--sin-clave"), "", "necesita --correo"),
    (("usuarios", "rol", "nadie", "planificador"), "", "No existe la cuenta «nadie»"),
    (("usuarios", "desactivar", "nadie"), "", "No existe la cuenta «nadie»"),
    (("usuarios", "crear", "ana"), PASSWORD, "argumentos inválidos"),
])
def test_bad_input_is_one_spanish_line_and_changes_nothing(fresh_store, args, stdin, expected):
    line = one_line_error(run(*args, data_dir=fresh_store.parent, stdin=stdin + "\n"))
    assert expected in line
    assert accounts.list_accounts().empty


def test_existing_account_is_not_replaced(fresh_store):
    folder = fresh_store.parent
    assert run("usuarios", "crear", "ana", "--rol", "planificador", data_dir=folder, stdin=PASSWORD).returncode == 0
    before = store.read_table(accounts.TABLE)
    line = one_line_error(run("usuarios", "crear", "ana", "--rol", "administrador", data_dir=folder,
                              stdin="otra clave larga\n"))
    assert "La cuenta «ana» ya existe." in line
    assert store.read_table(accounts.TABLE).equals(before)


def test_history_names_the_account_that_edited_in_the_app(fresh_store):
    from layers.access import editing, sessions

    accounts.create("ana", "planificador", PASSWORD)
    session = sessions.open_session(accounts.get("ana"))
    editing.save_monitoring(session, "E1-P1-08", {"avance_fisico": "40"}, "Visita a obra", 0)
    proc = run("seguimiento", "historial", "E1-P1-08", data_dir=fresh_store.parent)
    assert proc.returncode == 0, proc.stderr
    assert "  ana  avance_fisico: «» → «40» (motivo: Visita a obra)" in proc.stdout


def test_history_lists_placements_beside_monitoring(fresh_store):
    from layers.access import editing, placing, sessions

    accounts.create("ana", "planificador", PASSWORD)
    session = sessions.open_session(accounts.get("ana"))
    editing.save_monitoring(session, "E1-P1-01", {"estado": "en formulación"}, "Inicio", 0)
    placing.place(session, "E1-P1-01", {"type": "Point", "coordinates": [-70.7575, -28.5765]}, 8, "Terreno")
    proc = run("seguimiento", "historial", "E1-P1-01", data_dir=fresh_store.parent)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith(": 2 cambios registrados")
    assert "  ana  estado: «sin iniciar» → «en formulación» (motivo: Inicio)" in lines[1]
    assert "  ana  ubicacion: «» → «punto · dibujada por ana el " in lines[2] and lines[2].endswith("(motivo: Terreno)")
