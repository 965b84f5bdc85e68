"""A damaged store on the command line: one Spanish line and status 2; ``build --reparar`` recovers it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from layers import settings, store
from tests.layers.store._damage import EDITABLE, IMPORTED, KINDS, N_ROWS, damage, populate

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=dict(os.environ), cwd=settings.PROJECT_DIR, timeout=300)


@pytest.mark.parametrize("kind", KINDS)
def test_every_command_says_the_store_is_damaged_in_one_line(fresh_store, tmp_path, kind):
    populate()
    damage(settings.store_path(), kind)
    damaged = settings.store_path().read_bytes()
    for args in (["layers"], ["build"], ["build", "--force"], ["export", "territorios", "-o", str(tmp_path / "t.geojson")],
                 ["remove", IMPORTED]):
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert "almacén de capas" in lines[0] and "dañado" in lines[0]
        assert settings.store_path().read_bytes() == damaged, f"{args} changed the damaged file"


def test_build_reparar_recovers_and_reports_in_spanish(fresh_store):
    populate()
    path = settings.store_path()
    damage(path, "zeroed", table=IMPORTED)
    (path.parent / f".{path.stem}.4242.tmp{path.suffix}").write_bytes(b"x")
    proc = run("build", "--reparar")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "El almacén estaba dañado" in out and "El archivo dañado se guardó en" in out
    assert f"Recuperada: tabla editable «{EDITABLE}» ({N_ROWS} filas)." in out
    assert f"«{IMPORTED}»" in out
    assert "Archivos temporales de escrituras interrumpidas eliminados: 1." in out
    assert proc.stderr == "", "no GDAL or log noise"
    assert not list(path.parent.glob(".*.tmp*"))
    listing = run("layers")
    assert listing.returncode == 0 and EDITABLE in listing.stdout
    assert len(store.read_table(EDITABLE)) == N_ROWS
