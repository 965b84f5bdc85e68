"""The monitoring commands in real processes: historial, importar, exportar, informe cuenta-publica."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pandas as pd
import pytest

from layers import settings

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def run(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


@pytest.fixture
def seeded(fresh_store, tmp_path):
    """A private store with two initiatives changed through the command line (Excel-Chile CSV)."""
    path = tmp_path / "avance.csv"
    path.write_bytes(("id;estado;avance_fisico;monto_aprobado_clp;fecha_termino_plan\r\n"
                      "E1-P1-08;en ejecución;30,5;1.200.000.000;2025-12-31\r\n"
                      "E3-P4-03;postulada;;;\r\n").encode("cp1252"))
    proc = run("seguimiento", "importar", str(path), "--autor", "Ana Pérez", "--motivo", "Informe trimestral",
               data_dir=fresh_store.parent)
    assert proc.returncode == 0, proc.stderr
    assert "5 campos cambiados en 2 iniciativas" in proc.stdout
    return fresh_store.parent


def test_historial_prints_every_change(seeded):
    proc = run("seguimiento", "historial", "E1-P1-08", data_dir=seeded)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "E1-P1-08 · Construcción Complejo Deportivo La Turbina: 4 cambios registrados"
    assert "Ana Pérez  estado: «sin iniciar» → «en ejecución» (motivo: Informe trimestral)" in lines[1]
    assert any("avance_fisico: «» → «30.5»" in line for line in lines)


def test_historial_of_an_unknown_id(seeded):
    assert "E9-P9-99" in one_line_error(run("seguimiento", "historial", "E9-P9-99", data_dir=seeded))


def test_bad_sheet_is_refused_whole_with_every_row(seeded, tmp_path):
    path = tmp_path / "malo.csv"
    path.write_text("id,estado,avance_fisico\nE1-P1-01,postulada,10\nE1-P1-02,terminado,\nE1-P1-03,,150\nX-1,postulada,\n",
                    encoding="utf-8")
    proc = run("seguimiento", "importar", str(path), "--autor", "Luis", data_dir=seeded)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "Error: La planilla fue rechazada: 4 problemas en 3 filas; no se guardó ningún cambio."
    assert [line.split(" ·")[0].split(":")[0].strip() for line in lines[1:]] == [
        "fila 3 (E1-P1-02)", "fila 4 (E1-P1-03)", "fila 4 (E1-P1-03)", "fila 5 (X-1)"]
    history = run("seguimiento", "historial", "E1-P1-01", data_dir=seeded)
    assert "0 cambios registrados" in history.stdout  # the good row was not written either


@pytest.mark.parametrize("args", [
    ("seguimiento", "importar", "no-existe.csv", "--autor", "Ana"),
    ("seguimiento", "importar", "planilla.ods", "--autor", "Ana"),
    ("seguimiento", "importar", "README.md", "--autor", " "),
    ("seguimiento", "exportar", "-o", "matriz.txt"),
    ("seguimiento", "exportar", "-o", "/no/such/folder/m.csv"),
    ("informe", "cuenta-publica", "--anio", "1800", "-o", "x.html"),
    ("informe", "cuenta-publica", "-o", "x.pdf"),
    ("informe", "cuenta-publica", "--anio", "dos mil", "-o", "x.html"),
    ("seguimiento", "borrar", "E1-P1-01"),
])
def test_bad_input_is_one_line_and_status_2(fresh_store, args):
    one_line_error(run(*args, data_dir=fresh_store.parent))


def test_export_import_round_trip_is_a_no_op(seeded, tmp_path):
    for name in ("matriz.csv", "matriz.xlsx"):
        out = tmp_path / name
        proc = run("seguimiento", "exportar", "-o", str(out), data_dir=seeded)
        assert proc.returncode == 0 and out.exists(), proc.stderr
        again = run("seguimiento", "importar", str(out), "--autor", "Luis", data_dir=seeded)
        assert again.returncode == 0 and "0 campos cambiados en 0 iniciativas" in again.stdout, again.stderr
    assert "4 cambios registrados" in run("seguimiento", "historial", "E1-P1-08", data_dir=seeded).stdout


def test_record_survives_build_force(seeded):
    assert run("build", "--force", data_dir=seeded).returncode == 0
    proc = run("seguimiento", "historial", "E1-P1-08", data_dir=seeded)
    assert "4 cambios registrados" in proc.stdout


def test_export_iniciativas_carries_the_fields(seeded, tmp_path):
    out = tmp_path / "iniciativas.csv"
    proc = run("export", "iniciativas", "--format", "csv", "-o", str(out), "--estrategia", "1", data_dir=seeded)
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in csv.DictReader(out.open(encoding="utf-8-sig"))}
    assert rows["E1-P1-08"]["estado"] == "en ejecución"
    assert float(rows["E1-P1-08"]["avance_fisico"]) == 30.5
    assert rows["E1-P1-08"]["monto_aprobado_clp"] == "1200000000"
    assert rows["E1-P1-01"]["estado"] == "sin iniciar" and rows["E1-P1-01"]["avance_fisico"] == ""


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_iniciativas_carries_the_fields_in_gis_formats(seeded, tmp_path, fmt):
    import pyogrio

    out = tmp_path / f"iniciativas.{fmt}"
    proc = run("export", "iniciativas", "--format", fmt, "-o", str(out), data_dir=seeded)
    assert proc.returncode == 0, proc.stderr
    # A GeoPackage holds one layer per geometry type and a table of the unsited ones: read them all.
    names = [name for name, _ in pyogrio.list_layers(out)] if fmt == "gpkg" else [None]
    layer = pd.concat([pyogrio.read_dataframe(out, layer=name) for name in names]).set_index("id")
    assert layer.index.is_unique and len(layer) == 194
    assert layer.loc["E1-P1-08", "estado"] == "en ejecución"
    assert float(layer.loc["E1-P1-08", "avance_fisico"]) == 30.5
    assert layer.loc["E1-P1-01", "estado"] == "sin iniciar"


def test_informe_cuenta_publica(seeded, tmp_path):
    out = tmp_path / "cuenta.html"
    proc = run("informe", "cuenta-publica", "--anio", "2026", "-o", str(out), data_dir=seeded)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert "Avance del Plan de Desarrollo Comunal 2026" in html
    assert "Construcción Complejo Deportivo La Turbina" in html  # delayed: planned end 2025-12-31
    assert "$ 1.200.000.000" in html
    for external in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert external not in html
    rows = list(csv.DictReader(out.with_suffix(".csv").open(encoding="utf-8-sig")))
    assert [r["id"] for r in rows if r["tabla"] == "atrasadas"] == ["E1-P1-08"]
