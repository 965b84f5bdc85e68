"""The command line: listing, exporting with each filter, and each error (status 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyogrio
import pytest
import shapely

from layers import settings

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def run(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR)


def export(tmp_path, data_dir, layer: str, *filters: str) -> dict:
    out = tmp_path / f"{layer}.geojson"
    proc = run("export", layer, "--format", "geojson", "-o", str(out), *filters, data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(pyogrio.read_dataframe(out)) == len(doc["features"])  # GDAL reads it back
    return doc


def ids(doc: dict) -> set[str]:
    return {f["properties"]["id"] for f in doc["features"]}


def test_layers_lists_counts(data_dir):
    proc = run("layers", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:]}
    assert rows["comuna"] == "1"
    assert rows["iniciativas"] == "194"
    assert int(rows["territorios"]) >= 12 + 15 + 1


def test_export_each_layer_rfc7946(tmp_path, data_dir):
    for layer in ("comuna", "territorios", "iniciativas"):
        doc = export(tmp_path, data_dir, layer)
        assert "crs" not in doc
        for feature in doc["features"]:
            geom = feature["geometry"]
            if geom is None:
                continue
            shape = shapely.geometry.shape(geom)
            polys = getattr(shape, "geoms", [shape])
            for poly in polys:
                if poly.geom_type == "Polygon":
                    assert poly.exterior.is_ccw
            x, y = shapely.get_coordinates(shape).T
            assert (x < -69.9).all() and (x > -71.3).all() and (y < -27.9).all() and (y > -29.4).all()
            text = json.dumps(geom["coordinates"])
            assert all(len(tok.split(".")[1]) <= 6 for tok in text.replace("[", " ").replace("]", " ").replace(",", " ").split() if "." in tok)


def test_initiatives_without_geometry_are_null_features(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas")
    assert len(doc["features"]) == 194
    nulls = [f for f in doc["features"] if f["geometry"] is None]
    assert nulls and len(nulls) < 194
    assert all(f["properties"]["alcance"] != "" for f in doc["features"])


def test_filter_by_strategy_plan_type(tmp_path, data_dir):
    e1 = export(tmp_path, data_dir, "iniciativas", "--estrategia", "1")
    assert e1["features"] and {f["properties"]["estrategia"] for f in e1["features"]} == {"E1"}
    p = export(tmp_path, data_dir, "iniciativas", "--plan", "E1-P4")
    assert {f["properties"]["plan"] for f in p["features"]} == {"E1-P4"}
    assert len(p["features"]) == 12
    t = export(tmp_path, data_dir, "iniciativas", "--tipo", "estudio")
    assert t["features"] and {f["properties"]["tipo"] for f in t["features"]} == {"Estudio"}
    both = export(tmp_path, data_dir, "iniciativas", "--estrategia", "1", "--tipo", "Proyecto", "--plan", "E1-P4")
    assert ids(both) == {f["properties"]["id"] for f in p["features"] if f["properties"]["tipo"] == "Proyecto"}
    assert ids(both)


def test_filter_by_territory_rural_locality(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko")
    by_scope = {}
    for f in doc["features"]:
        by_scope.setdefault(f["properties"]["alcance"], set()).add(f["properties"]["nombre"])
    assert "urbano" not in by_scope, "urban programmes do not concern a rural locality"
    assert any("agua potable rural" in n.lower() for n in by_scope["rural"])
    assert "comunal" in by_scope
    assert not any("Paseos Peatonales" in n for names in by_scope.values() for n in names)


def test_filter_by_territory_urban_sector(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas", "--territorio", "centro")
    props = [f["properties"] for f in doc["features"]]
    names = {p["nombre"] for p in props}
    assert any("Paseos Peatonales" in n for n in names), "sited in the centre"
    assert any("Macromanzana" in n for n in names)
    assert not any("agua potable rural" in n.lower() for n in names)
    assert {p["alcance"] for p in props} >= {"comunal", "urbano", "territorial"}
    assert "extracomunal" not in {p["alcance"] for p in props}


def test_filters_combine(tmp_path, data_dir):
    all_dom = ids(export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko"))
    e1 = ids(export(tmp_path, data_dir, "iniciativas", "--estrategia", "1"))
    both = ids(export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko", "--estrategia", "1"))
    assert both == all_dom & e1 and both


def test_export_one_territory(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "territorios", "--territorio", "domeyko")
    assert [f["properties"]["slug"] for f in doc["features"]] == ["domeyko"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "rios", "-o", "x.geojson"], "Capa desconocida: «rios»"),
        (["export", "iniciativas", "--territorio", "atlantida", "-o", "x.geojson"], "Territorio desconocido: «atlantida»"),
        (["export", "iniciativas", "--estrategia", "9", "-o", "x.geojson"], "Estrategia desconocida: «9»"),
        (["export", "iniciativas", "--plan", "E9-P1", "-o", "x.geojson"], "Plan desconocido"),
        (["export", "iniciativas", "--tipo", "Obra", "-o", "x.geojson"], "Tipo desconocido"),
        (["export", "iniciativas", "--format", "dwg", "-o", "x.dwg"], "Formato desconocido: «dwg»"),
        (["export", "comuna", "--estrategia", "1", "-o", "x.geojson"], "no se aplican a la capa «comuna»"),
        (["export", "iniciativas"], "argumentos inválidos"),
        (["volar"], "argumentos inválidos"),
    ],
)
def test_errors_are_one_spanish_line_and_status_2(tmp_path, data_dir, args, message):
    args = [a if a not in ("x.geojson", "x.dwg") else str(tmp_path / a) for a in args]
    proc = run(*args, data_dir=data_dir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.geojson").exists()
