"""Copy a whole store to another backend: GeoPackage ⇄ PostGIS.

:func:`copy_store` copies every layer and attribute table with its registry
metadata (title, description, origin, source, date…), every editable table with
its columns, key and rows in their order (the monitoring record and its
history), and the fingerprint of the shipped data (so the copy is not rebuilt
from ``data/``). It then counts the rows on both sides and raises when they
differ.

The target is named like ``SIT_DATABASE_URL`` (``postgresql://…``) or is the
path of a ``.gpkg`` file (:func:`store_at`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from layers.store import tables
from layers.store.base import EDITABLE, Store, StoreError

log = logging.getLogger(__name__)

__all__ = ["CopyReport", "copy_store", "store_at"]

#: State keys copied with the layers (the version counter is the target's own).
_STATE_KEYS = ("huella", "construido")


@dataclass
class CopyReport:
    """What :func:`copy_store` copied: ``rows`` holds ``(name, kind, source count, target count)``."""

    source: str
    target: str
    rows: list[tuple[str, str, int, int]] = field(default_factory=list)
    seconds: float = 0.0

    def format(self) -> str:
        """The report in Spanish, one line per layer or table."""
        width = max((len(r[0]) for r in self.rows), default=4)
        lines = [f"Copia de «{self.source}» a «{self.target}» en {self.seconds:.1f} s:"]
        lines += [f"  {name:<{width}}  {kind:<8}  {a:>8} → {b:<8}" for name, kind, a, b in self.rows]
        lines.append(f"{len(self.rows)} capas y tablas; los conteos coinciden en ambos lados.")
        return "\n".join(lines)


def store_at(location: str | Path) -> Store:
    """The store at ``location``: a PostgreSQL URL or the path of a ``.gpkg`` file.

    Raises
    ------
    StoreError
        Code ``bad_target`` with ``target`` when it is neither.
    """
    from layers.store.gpkg import GeoPackageStore
    from layers.store.postgis import PostGISStore, is_database_url

    text = str(location).strip()
    if is_database_url(text):
        return PostGISStore(text)
    if text.lower().endswith(".gpkg"):
        return GeoPackageStore(Path(text).expanduser().resolve())
    raise StoreError(
        f"El destino «{text}» no es una base PostgreSQL (postgresql://…) ni un archivo .gpkg.", code="bad_target", target=text
    )


def _describe(store: Store, name: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Columns and key of an editable table of ``store``."""
    describe = getattr(store, "describe_table", None)
    if describe is not None:
        return describe(name)
    from layers.store import gpkg

    with gpkg._reading(store.path) as conn:  # the GeoPackage backend keeps them in SQLite's schema
        return tables.table_columns(conn, name), tables.table_key(conn, name)


def _metadata(row: dict) -> dict:
    """A registry row as metadata to write: missing values (NaN in pandas' text columns) as None."""
    return {key: None if not isinstance(value, str) and pd.isna(value) else value for key, value in row.items()}


def _count(store: Store, name: str, editable: bool) -> int:
    frame = store.read_table(name) if editable else store.read_layer(name, read_geometry=False)
    return len(frame)


def copy_store(source: Store, target: Store, replace: bool = False) -> CopyReport:
    """Copy every layer, table and editable table of ``source`` into ``target``, then compare counts.

    Parameters
    ----------
    source, target : layers.store.base.Store
        Any two backends (GeoPackage, PostGIS).
    replace : bool
        Empty a target that already holds layers first; without it such a target is refused.

    Returns
    -------
    CopyReport
        Each layer or table with its row count on both sides.

    Raises
    ------
    StoreError
        ``same_store`` when both are the same; ``target_not_empty`` (with ``target``) when
        the target holds layers and ``replace`` is false; ``copy_mismatch`` (with ``layers``)
        when a count differs after the copy.
    layers.store.base.StoreDamagedError
        The source is damaged.
    """
    if source.location == target.location:
        raise StoreError("El origen y el destino de la copia son el mismo almacén.", code="same_store", target=target.location)
    started = time.perf_counter()
    source.check()
    with _both_held(source, target):  # the source cannot change between reading, copying and counting
        report = _copy_held(source, target, replace)
    report.seconds = time.perf_counter() - started
    log.info("store copied in %.2f s", report.seconds)
    return report


@contextlib.contextmanager
def _both_held(*stores: Store) -> Iterator[None]:
    """Hold off the writers of every store, taking the locks in the order of their locations.

    One order for every process: two copies in opposite directions never wait for each other.
    """
    with contextlib.ExitStack() as stack:
        for held in sorted(stores, key=lambda s: s.location):
            stack.enter_context(held.exclusive())
        yield


def _copy_held(source: Store, target: Store, replace: bool) -> CopyReport:
    """The copy and its count check, while no writer can change either store."""
    registry = source.list_layers()
    existing = target.list_layers() if target.exists() else None
    if existing is not None and len(existing):
        if not replace:
            raise StoreError(f"El almacén de destino «{target.location}» ya tiene capas.",
                             code="target_not_empty", target=target.location)
        target.write_layers({}, drop=list(existing["nombre"]))
    layers = registry[registry["origen"] != EDITABLE]
    put = {row["nombre"]: (source.read_layer(row["nombre"]), _metadata(row)) for row in layers.to_dict("records")}
    state = {k: v for k, v in source.state().items() if k in _STATE_KEYS}
    target.write_layers(put, state=state)
    editable = list(registry.loc[registry["origen"] == EDITABLE, "nombre"])
    for name in editable:
        columns, key = _describe(source, name)
        target.define_table(name, columns, key)
    with target.transaction() as tx:
        for name in editable:
            tx.insert(name, source.read_table(name))
    report = CopyReport(source.location, target.location, seconds=0.0)
    copied = target.list_layers().set_index("nombre")
    wrong = []
    for row in registry.itertuples(index=False):
        editable_table = row.origen == EDITABLE
        a, b = _count(source, row.nombre, editable_table), _count(target, row.nombre, editable_table)
        listed = int(copied.at[row.nombre, "n"]) if row.nombre in copied.index else -1
        report.rows.append((row.nombre, "editable" if editable_table else ("tabla" if row.geometria == "tabla" else "capa"), a, b))
        if not (a == b == int(row.n) == listed):
            wrong.append(row.nombre)
    if wrong:
        raise StoreError(f"La copia no coincide en: {', '.join(wrong)}.", code="copy_mismatch", layers=wrong)
    return report
