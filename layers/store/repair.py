"""Repair of a damaged GeoPackage store: rebuild the shipped layers, recover what can still be read.

A store file can be damaged by a full disk, a power cut during a copy, an
incomplete restore or a faulty disk. :func:`repair`:

1. removes the temporary files that killed writers left beside the store;
2. runs the integrity check; a sound store is only rebuilt from ``data/``;
3. moves a damaged file aside (``sit_vallenar.danado-<date>.gpkg``, with its SQLite log
   files), so that nothing is destroyed and a specialist can still look at it;
4. builds a new store from ``data/`` and copies into it every imported layer and
   every editable table of the damaged file that SQLite and GDAL can still read,
   each with its registry metadata (or defaults when the registry is lost);
5. returns a :class:`RepairReport` of what was recovered and what was lost, which
   :func:`format_report` writes in Spanish.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio

from layers.store import gpkg, seed, tables
from layers.store.base import EDITABLE, IMPORTED, REGISTRY, REGISTRY_COLUMNS, SHIPPED, StoreDamagedError

log = logging.getLogger(__name__)


@dataclass
class RepairReport:
    """What :func:`repair` found and did.

    Attributes
    ----------
    damage : str or None
        The integrity problem found; None when the store was sound (or missing).
    kept_at : pathlib.Path or None
        Where the damaged file was moved.
    shipped : list of str
        Shipped layers and tables rebuilt from ``data/``.
    recovered : list of (str, str, int, int or None)
        ``(name, kind, rows read, rows the registry said)``, kind ``"capa importada"``
        or ``"tabla editable"``.
    lost : list of (str, str, str)
        ``(name, kind, reason)``.
    stale : list of pathlib.Path
        Temporary files of killed writers that were removed.
    inventory_lost : bool
        Neither the registry nor GDAL's list of layers could be read from the damaged
        file: what it held beyond the shipped layers is unknown and lost.
    """

    damage: str | None = None
    kept_at: Path | None = None
    shipped: list[str] = field(default_factory=list)
    recovered: list[tuple[str, str, int, int | None]] = field(default_factory=list)
    lost: list[tuple[str, str, str]] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)
    inventory_lost: bool = False


def _registry_of(path: Path) -> pd.DataFrame | None:
    """Registry rows still readable in a damaged file; else GDAL's layer list as imported layers; else None."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            rows = conn.execute(f"SELECT {', '.join(REGISTRY_COLUMNS)} FROM {REGISTRY}").fetchall()
        return pd.DataFrame.from_records(rows, columns=list(REGISTRY_COLUMNS))
    except sqlite3.Error as exc:
        log.info("registry of the damaged store unreadable: %s", exc)
    try:
        with warnings.catch_warnings():  # GDAL's own warnings about the damage; the report says it
            warnings.simplefilter("ignore")
            names = [n for n in pyogrio.list_layers(path)[:, 0] if not str(n).startswith("sit_")]
    except Exception as exc:  # noqa: BLE001 - GDAL raises several kinds for a damaged file
        log.info("layers of the damaged store unlistable: %s", exc)
        return None
    shipped = {*seed.LAYERS, *seed.TABLES}
    return pd.DataFrame(
        [{"nombre": n, "origen": IMPORTED, "clase": "referencia", "titulo": n} for n in names if n not in shipped],
        columns=list(REGISTRY_COLUMNS),
    )


def _salvage_layer(path: Path, row: pd.Series) -> tuple[pd.DataFrame, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pyogrio.read_dataframe(path, layer=row["nombre"])
    meta = {k: row[k] for k in REGISTRY_COLUMNS if k not in ("nombre", "n", "geometria") and pd.notna(row[k])}
    meta.setdefault("clase", "referencia")
    return frame, meta


def _salvage_table(path: Path, name: str) -> tuple[dict[str, str], tuple[str, ...], pd.DataFrame]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        columns = tables.table_columns(conn, name)
        key = tables.table_key(conn, name)
        rows = conn.execute(f"SELECT {', '.join(map(tables.quote, columns))} FROM {tables.quote(name)} ORDER BY fid").fetchall()
    return columns, key, pd.DataFrame.from_records(rows, columns=list(columns))


def _move_aside(path: Path) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    kept = path.with_name(f"{path.stem}.danado-{stamp}{path.suffix}")  # GDAL wants the .gpkg extension
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(kept.with_name(kept.name + suffix))
    path.replace(kept)
    return kept


def _recover(store: gpkg.GeoPackageStore, kept: Path, report: RepairReport) -> None:
    """Copy the readable imported layers and editable tables of ``kept`` into ``store``."""
    registry = _registry_of(kept)
    if registry is None:
        report.inventory_lost = True
        return
    for _, row in registry[registry["origen"] == IMPORTED].iterrows():
        name, expected = str(row["nombre"]), (int(row["n"]) if pd.notna(row["n"]) else None)
        try:
            frame, meta = _salvage_layer(kept, row)
            store.write_layers({name: (frame, dict(meta, origen=IMPORTED))})
            report.recovered.append((name, "capa importada", len(frame), expected))
        except Exception as exc:  # noqa: BLE001 - any failure to read one layer only loses that layer
            report.lost.append((name, "capa importada", " ".join(str(exc).split())[:160]))
    for _, row in registry[registry["origen"] == EDITABLE].iterrows():
        name, expected = str(row["nombre"]), (int(row["n"]) if pd.notna(row["n"]) else None)
        try:
            columns, key, rows = _salvage_table(kept, name)
            store.define_table(name, columns, key)
            with store.transaction() as tx:
                tx.insert(name, rows)
            report.recovered.append((name, "tabla editable", len(rows), expected))
        except Exception as exc:  # noqa: BLE001
            report.lost.append((name, "tabla editable", " ".join(str(exc).split())[:160]))


def repair(store: gpkg.GeoPackageStore) -> RepairReport:
    """Rebuild ``store`` from ``data/`` and recover what a damaged file still holds.

    Parameters
    ----------
    store : layers.store.gpkg.GeoPackageStore
        The store to repair (see :func:`layers.store.backend`).

    Returns
    -------
    RepairReport
        What was found, kept, recovered and lost.
    """
    report = RepairReport()
    path = store.path
    with store.exclusive():
        report.stale = gpkg.remove_stale_tmp(path)
        if path.exists():
            gpkg.forget_check(path)
            try:
                store.check()
            except StoreDamagedError as exc:
                report.damage = str(exc.data.get("detail") or exc)
                report.kept_at = _move_aside(path)
        seed.ensure(store, force=True)
        if report.kept_at is not None:
            _recover(store, report.kept_at, report)
        registry = store.list_layers()
        report.shipped = list(registry.loc[registry["origen"] == SHIPPED, "nombre"])
    log.info("store repaired: %s", report)
    return report


def format_report(report: RepairReport) -> str:
    """The report in Spanish, one fact per line."""
    lines = []
    if report.damage is None:
        lines.append("El almacén no estaba dañado; se reconstruyeron las capas incluidas desde data/.")
    else:
        lines.append(f"El almacén estaba dañado ({report.damage}).")
        lines.append(f"El archivo dañado se guardó en {report.kept_at}.")
        lines.append(f"Capas incluidas reconstruidas desde data/: {', '.join(report.shipped)}.")
    for name, kind, n, expected in report.recovered:
        count = f"{n} de {expected}" if expected is not None and expected != n else str(n)
        unit = ("fila" if n == 1 else "filas") if kind == "tabla editable" else ("elemento" if n == 1 else "elementos")
        lines.append(f"Recuperada: {kind} «{name}» ({count} {unit}).")
    for name, kind, reason in report.lost:
        lines.append(f"Perdida: {kind} «{name}» (no se pudo leer: {reason}).")
    if report.inventory_lost:
        lines.append(
            "No se pudo leer la lista de capas del archivo dañado: se perdieron las capas importadas y las tablas "
            "editables que tuviera; solo una copia de respaldo puede devolverlas."
        )
    elif report.damage is not None and not report.recovered and not report.lost:
        lines.append("No había capas importadas ni tablas editables legibles que recuperar.")
    if report.stale:
        lines.append(f"Archivos temporales de escrituras interrumpidas eliminados: {len(report.stale)}.")
    return "\n".join(lines)
