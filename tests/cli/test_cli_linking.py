"""Scopes chosen in the app, seen from ``cli.py`` in real processes: the history names the account and the
export by territory agrees with the map (the initiative is re-linked at once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from layers import settings
from layers.access import accounts, linking, roles, sessions

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]
PASSWORD = "una clave bastante larga"
IDENT = "E1-P1-01"  # shipped scope urbano, no place


def run(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR,
                          timeout=300)


def exported_ids(folder, slug: str) -> set[str]:
    out = folder / f"{slug}.geojson"
    proc = run("export", "iniciativas", "--territorio", slug, "-o", str(out), data_dir=folder)
    assert proc.returncode == 0, proc.stderr
    return {f["properties"]["id"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]}


def test_history_and_export_by_territory_follow_the_choice(fresh_store):
    folder = fresh_store.parent
    assert IDENT not in exported_ids(folder, "domeyko") and IDENT in exported_ids(folder, "centro")
    accounts.create("ana", roles.PLANIFICADOR, PASSWORD)
    session = sessions.open_session(accounts.get("ana"))
    linking.set_scope(session, IDENT, "territorial", ["domeyko"], "Programa piloto en Domeyko", 0)
    assert IDENT in exported_ids(folder, "domeyko") and IDENT not in exported_ids(folder, "centro")
    linking.restore(session, IDENT, "Fin del piloto", 1)
    proc = run("seguimiento", "historial", IDENT, data_dir=folder)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith(": 2 cambios registrados")
    assert "  ana  alcance: «urbano» → «territorial: Domeyko» (motivo: Programa piloto en Domeyko)" in lines[1]
    assert "  ana  alcance: «territorial: Domeyko» → «incluido: urbano» (motivo: Fin del piloto)" in lines[2]
    assert IDENT in exported_ids(folder, "centro")
