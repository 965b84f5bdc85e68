"""Concurrent writers of several processes lose nothing and half-write nothing, on both backends.

Real processes (this file run as ``python -m tests.layers.store.test_concurrent KIND ...``)
work at once on one store through the functions the command line and the app use:

- ``import``: :func:`layers.ingest.importer.import_file` of a real GeoJSON file read by GDAL
  (what ``cli.py import`` runs), a new layer each time;
- ``sheet``: :func:`layers.monitoring.import_sheet` of a real CSV sheet (``cli.py seguimiento importar``);
- ``edit``: :func:`layers.monitoring.history.apply_changes` with the versions just read (the
  monitoring page's save, optimistic concurrency: a stale version is refused, not lost);
- ``ensure``: :func:`layers.store.ensure_store` again and again, as the app and the OGC API do at
  start, once with a forced rebuild of the shipped layers (``cli.py build --force``);
- ``read``: the registry, every listed layer and the editable tables, again and again;
- ``copy``: :func:`layers.store.copy.copy_store` of the store being written into a new GeoPackage
  (``cli.py almacen copiar``), whose copy must be whole and consistent in itself.

Each writer prints one JSON line per write that reported success. Afterwards every one of them
must be in the store, the registry's counts must equal the tables', and the monitoring table must
be exactly what its history says (one version per change set, the last value of each field).
Plus two real ``cli.py`` processes (an import and a monitoring import) at the same time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from layers import settings, store

#: Rounds of each writer (enough to interleave many times within about half a minute per backend).
ROUNDS = {"import": 4, "sheet": 3, "edit": 4, "ensure": 5, "read": 5, "copy": 2}
#: Initiatives each monitoring writer changes per round (overlapping between writers on purpose).
IDS_PER_ROUND = 12

_LINES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"nombre": "camino A", "tipo": ""},
         "geometry": {"type": "LineString", "coordinates": [[-70.76, -28.58], [-70.75, -28.57]]}},
        {"type": "Feature", "properties": {"nombre": "camino B", "tipo": "ripio"},
         "geometry": {"type": "LineString", "coordinates": [[-70.77, -28.59], [-70.76, -28.575]]}},
    ],
}


def _say(**record: object) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def _ids(k: int, i: int) -> list[str]:
    from layers import monitoring

    every = list(monitoring.initiatives()["id"])
    start = (7 * k + 5 * i) % (len(every) - IDS_PER_ROUND)
    return every[start:start + IDS_PER_ROUND]


def _work_import(k: int, folder: Path) -> None:
    from layers.ingest import importer

    path = folder / f"lineas_{k}.geojson"
    path.write_text(json.dumps(_LINES), encoding="utf-8")
    for i in range(ROUNDS["import"]):
        name = f"capa_{k}_{i}"
        report = importer.import_file(path, as_="referencia", layer=name)
        _say(kind="layer", name=name, n=int(report.n_stored))


def _work_sheet(k: int, folder: Path) -> None:
    from layers import monitoring

    for i in range(ROUNDS["sheet"]):
        path = folder / f"hoja_{k}_{i}.csv"
        pd.DataFrame({"id": _ids(k, i), "observaciones": f"hoja {k}-{i}"}).to_csv(path, index=False)
        changes = monitoring.import_sheet(path, f"hoja{k}", f"ronda {i}")
        _say(kind="lote", lote=changes.lote, autor=f"hoja{k}", n=len(changes.entries))


def _work_edit(k: int, folder: Path) -> None:
    from layers.monitoring import history

    for i in range(ROUNDS["edit"]):
        ids = _ids(k + 100, i)
        before = history.current_values(ids)
        updates = pd.DataFrame({"meta": f"meta {k}-{i}"}, index=pd.Index(ids, name="id"))
        try:
            changes = history.apply_changes(updates, f"edita{k}", f"ronda {i}",
                                            expected_versions=before["version"].to_dict())
        except history.StaleVersionError:
            _say(kind="stale", autor=f"edita{k}")  # refused as a whole: nothing written, nothing claimed
            continue
        _say(kind="lote", lote=changes.lote, autor=f"edita{k}", n=len(changes.entries))


def _work_ensure(k: int, folder: Path) -> None:
    for i in range(ROUNDS["ensure"]):
        store.ensure_store(force=i == 2)
        _say(kind="ensure", force=i == 2)


def _work_read(k: int, folder: Path) -> None:
    for _ in range(ROUNDS["read"]):
        registry = store.list_layers()
        for row in registry.itertuples(index=False):
            if row.origen == store.EDITABLE:
                frame = store.read_table(row.nombre)
            else:
                frame = store.read_layer(row.nombre, read_geometry=False)
            if row.origen == store.IMPORTED and len(frame) != row.n:
                raise AssertionError(f"{row.nombre}: registry says {row.n}, table has {len(frame)}")
        _say(kind="read", layers=len(registry))


def _work_copy(k: int, folder: Path) -> None:
    from layers.store.copy import copy_store
    from layers.store.gpkg import GeoPackageStore

    for i in range(ROUNDS["copy"]):
        target = GeoPackageStore(folder / f"copia_{k}_{i}.gpkg")
        report = copy_store(store.backend(), target)
        _check_registry(target)
        _check_monitoring(target, [])
        _say(kind="copy", rows=len(report.rows))


_WORKERS = {"import": _work_import, "sheet": _work_sheet, "edit": _work_edit, "ensure": _work_ensure, "read": _work_read,
            "copy": _work_copy}


def _spawn(kind: str, k: int, folder: Path, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.layers.store.test_concurrent", kind, str(k), str(folder)]
    return subprocess.Popen(command, env=env, cwd=settings.PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "cli.py", *args], env=env, cwd=settings.PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check_monitoring(held: store.Store, lotes: list[dict]) -> None:
    """Every reported change set complete in the history; the table equals what the history says."""
    from layers.monitoring import history

    log = held.read_table(history.HISTORY)
    counts = log.groupby("lote").size()
    for entry in lotes:
        assert counts.get(entry["lote"], 0) == entry["n"], entry
        assert set(log.loc[log["lote"] == entry["lote"], "autor"]) <= {entry["autor"]}
    table = held.read_table(history.TABLE).set_index("id")
    assert table.index.is_unique
    sets_per_id = log.groupby("id")["lote"].nunique()
    for ident, row in table.iterrows():
        assert int(row["version"]) == sets_per_id.get(ident, 0), ident
        for campo, value in log[log["id"] == ident].groupby("campo")["valor_nuevo"].last().items():
            assert history.as_text(campo, row[campo]) == value, (ident, campo)


def _check_registry(held: store.Store) -> None:
    """Registry and tables agree: every row's count is its table's, nothing listed is missing."""
    registry = held.list_layers()
    assert registry["nombre"].is_unique
    for row in registry.itertuples(index=False):
        editable = row.origen == store.EDITABLE
        frame = held.read_table(row.nombre) if editable else held.read_layer(row.nombre, read_geometry=False)
        assert len(frame) == row.n, (row.nombre, row.n, len(frame))


def test_concurrent_writers_readers_and_rebuilds_lose_nothing(fresh_store, tmp_path):
    from layers import monitoring

    monitoring.history.ensure_tables()
    env = {**os.environ, "PYTHONPATH": str(settings.PROJECT_DIR)}
    sheet = tmp_path / "cli_hoja.csv"
    pd.DataFrame({"id": _ids(50, 0), "indicador": "desde la consola"}).to_csv(sheet, index=False)
    lines = tmp_path / "cli_lineas.geojson"
    lines.write_text(json.dumps(_LINES), encoding="utf-8")
    started = time.perf_counter()
    plan = [("import", 0), ("import", 1), ("sheet", 0), ("sheet", 1), ("edit", 0), ("edit", 1),
            ("ensure", 0), ("read", 0), ("copy", 0)]
    procs = [(kind, _spawn(kind, k, tmp_path, env)) for kind, k in plan]
    procs += [("cli-import", _cli(env, "import", str(lines), "--as", "referencia", "--layer", "capa_cli")),
              ("cli-sheet", _cli(env, "seguimiento", "importar", str(sheet), "--autor", "consola"))]
    records: list[dict] = []
    for kind, proc in procs:
        out, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, f"{kind} failed:\n{err[-3000:]}"
        if kind.startswith("cli"):
            records.append({"kind": kind, "out": out})
        else:
            records += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    elapsed = time.perf_counter() - started
    layers_ok = [r for r in records if r["kind"] == "layer"]
    lotes = [r for r in records if r["kind"] == "lote"]
    assert len(layers_ok) == 2 * ROUNDS["import"]
    assert len(lotes) + sum(r["kind"] == "stale" for r in records) == 2 * ROUNDS["sheet"] + 2 * ROUNDS["edit"]
    assert sum(r["autor"].startswith("hoja") for r in lotes) == 2 * ROUNDS["sheet"]  # no version check: all saved
    assert any(r["autor"].startswith("edita") for r in lotes)
    assert sum(r["kind"] == "read" for r in records) == ROUNDS["read"]
    assert sum(r["kind"] == "copy" for r in records) == ROUNDS["copy"]

    registry = store.list_layers().set_index("nombre")
    for record in layers_ok:
        assert record["name"] in registry.index, record
        assert registry.at[record["name"], "origen"] == store.IMPORTED
        assert len(store.read_layer(record["name"])) == 2
    assert "capa_cli" in registry.index
    for name in ("comuna", "territorios", "iniciativas", "manzanas", "lugares", "estrategias"):
        assert registry.at[name, "origen"] == store.SHIPPED
    _check_registry(store.backend())
    log = store.read_table(monitoring.history.HISTORY)
    assert set(log.loc[log["autor"] == "consola", "campo"]) == {"indicador"}
    assert (log["autor"] == "consola").sum() == IDS_PER_ROUND
    _check_monitoring(store.backend(), lotes)
    print(f"{len(procs)} processes, {len(layers_ok) + 1} layers, {len(lotes) + 1} change sets in {elapsed:.1f} s")


if __name__ == "__main__":
    _WORKERS[sys.argv[1]](int(sys.argv[2]), Path(sys.argv[3]))
