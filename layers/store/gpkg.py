"""The embedded store: one GeoPackage under ``SIT_DATA_DIR`` holding every layer and table.

A registry table (``sit_capas``) keeps each layer's metadata: title, description,
source, date, CRS of origin, feature count, precision and its origin (shipped,
imported or editable). A key/value table (``sit_estado``) keeps the fingerprint of
the shipped data the store was built from and a version counter.

Writes are row-level SQLite transactions on the GeoPackage itself, never a rewrite
of the whole file:

- a layer is first written by GDAL (pyogrio) into a small temporary GeoPackage
  beside the store, then copied into the store, together with its GeoPackage
  metadata, spatial index and registry row, in **one** SQLite transaction;
- editable tables (:mod:`layers.store.tables`) are written with plain SQL in
  one transaction per :func:`GeoPackageStore.transaction` block.

The store runs in SQLite's write-ahead-log mode: readers (GDAL included) never
wait for a writer and always see the last committed state; a process killed in
the middle of a write leaves only uncommitted log frames that SQLite discards.
Writers serialise on an advisory lock file and on SQLite's own write lock. The
file stays a valid GeoPackage for GDAL and QGIS.

Opening the store runs ``PRAGMA quick_check`` once per version of the file and
raises :class:`~layers.store.base.StoreDamagedError` for a damaged one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from layers._errors import UnknownLayerError
from layers.store import tables
from layers.store.base import (
    EDITABLE,
    IMPORTED,
    REGISTRY,
    REGISTRY_COLUMNS,
    SHIPPED,
    STATE,
    LayerSpec,
    StoreDamagedError,
    StoreError,
    now,
    registry_row,
)

log = logging.getLogger(__name__)
#: Reads of a layer tried while writes keep committing, before one is made holding the writer lock.
READ_TRIES = 5

#: GeoPackage ``application_id`` ("GPKG").
GPKG_APPLICATION_ID = 0x47504B47
#: GeoPackage metadata tables that hold rows per layer.
_PER_LAYER_META = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents",
                   "gpkg_data_columns", "gpkg_metadata_reference")

__all__ = [
    "EDITABLE", "IMPORTED", "REGISTRY", "REGISTRY_COLUMNS", "SHIPPED", "STATE", "GeoPackageStore",
    "GpkgTransaction", "StoreDamagedError", "StoreError", "remove_stale_tmp",
]


# --- files, locks and connections --------------------------------------------------------

_held = threading.local()


class _TwoSidedLock:
    """Any number of holders of one side at once, never holders of both sides.

    Python's ``sqlite3`` and GDAL each link their own SQLite. When one of them closes
    the store file, the operating system drops the POSIX locks the *other* holds on it
    in this process (SQLite's "How to corrupt" notes, 2.2.1), which could let another
    process delete the write-ahead log under a transaction. So, within a process,
    GDAL never has the store open while a ``sqlite3`` connection to it is open, and the
    other way round; connections of the same library may overlap freely.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._side: str | None = None
        self._count = 0

    @contextlib.contextmanager
    def hold(self, side: str) -> Iterator[None]:
        with self._cond:
            while self._count and self._side != side:
                self._cond.wait()
            self._side, self._count = side, self._count + 1
        try:
            yield
        finally:
            with self._cond:
                self._count -= 1
                if not self._count:
                    self._side = None
                    self._cond.notify_all()


#: Sides of :data:`_libraries`: Python's sqlite3 and GDAL.
_SQLITE, _GDAL = "sqlite3", "gdal"
_libraries = _TwoSidedLock()


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``<store>.lock``; re-entrant within one thread."""
    depth = getattr(_held, "depth", {})
    _held.depth = depth
    key = str(path)
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        depth[key] = 1
        try:
            yield
        finally:
            depth[key] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def tmp_path(path: Path) -> Path:
    """Temporary GeoPackage of this process beside the store (hidden, ``.gpkg`` kept for GDAL)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def remove_stale_tmp(path: Path) -> list[Path]:
    """Delete temporary files of writers that died (call under the write lock); returns them."""
    removed = []
    for tmp in path.parent.glob(f".{path.stem}.*.tmp{path.suffix}*"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """SQLite connection in autocommit mode, waiting up to a minute for a writer."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60, isolation_level=None)
    else:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


@contextlib.contextmanager
def _opened(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    """A ``sqlite3`` connection to the store for the duration of the block (see :class:`_TwoSidedLock`)."""
    with _libraries.hold(_SQLITE):
        conn = _connect(path, readonly=readonly)
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                raise
            raise _damaged(path, str(exc)) from exc
        finally:
            conn.close()


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether an SQLite error means a damaged file rather than a busy or misused one."""
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or any(
        word in text for word in ("malformed", "not a database", "disk i/o", "no such table: sit_", "corrupt")
    )


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived reading connection to ``path``.

    Never kept open between calls: GDAL links its own copy of SQLite, and when it
    closes the same file in this process the operating system drops the POSIX locks
    of every other SQLite connection of the process (see SQLite's "How to corrupt"
    notes, section 2.2.1); a long-lived connection could then miss later commits.
    """
    path.stat()  # FileNotFoundError rather than creating an empty database
    with _opened(path) as conn:
        conn.execute("PRAGMA query_only = ON")
        yield conn


#: Values read from a store, by path and name, with the file signature they were read at.
_memo: dict[tuple[str, str], tuple[tuple, object]] = {}
_memo_lock = threading.Lock()


def _settled(signature: tuple) -> bool:
    """Whether the files were last modified over two seconds ago (beyond the clock's resolution)."""
    times = [part[2] for part in signature if part is not None]
    return bool(times) and time.time_ns() - max(times) > 2_000_000_000


def _memoised(path: Path, name: str, read):
    """``read(conn)`` on a reading connection, reused while the file has not changed."""
    signature = _signature(path)
    with _memo_lock:
        cached = _memo.get((str(path), name))
    if cached is not None and cached[0] == signature and _settled(signature):
        return cached[1]
    with _reading(path) as conn:
        value = read(conn)
    with _memo_lock:
        _memo[(str(path), name)] = (signature, value)
    return value


def _damaged(path: Path, detail: str) -> StoreDamagedError:
    detail = " ".join(detail.replace("*** in database main ***", "").split())[:200]
    return StoreDamagedError(
        f"El almacén de capas «{path.name}» está dañado y no se puede leer ({detail}).",
        path=str(path), detail=detail,
    )


def _write(path: Path, name: str, frame: pd.DataFrame) -> None:
    """Write (or overwrite) one layer or attribute table into a GeoPackage with GDAL."""
    kwargs: dict[str, Any] = {}
    if isinstance(frame, gpd.GeoDataFrame):
        kwargs["promote_to_multi"] = False
        if frame.geometry.isna().all():
            # GDAL needs a concrete geometry type when no row has a geometry.
            kwargs["geometry_type"] = "Unknown"
    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", layer_options={"OVERWRITE": "YES"}, **kwargs)


def _signature(path: Path) -> tuple:
    """Identity of the file's current content (main file and write-ahead log)."""
    parts = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = p.stat()
        except FileNotFoundError:
            parts.append(None)
            continue
        parts.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(parts)


# --- layer-level SQL: drop and copy a layer with its GeoPackage metadata ---------------------


def _tables_of(conn: sqlite3.Connection, schema: str) -> set[str]:
    return {row[0] for row in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")}


def _rtrees(conn: sqlite3.Connection, schema: str, name: str) -> list[str]:
    if "gpkg_extensions" not in _tables_of(conn, schema):
        return []
    rows = conn.execute(
        f"SELECT column_name FROM {schema}.gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_rtree_index'",
        (name,),
    ).fetchall()
    return [f"rtree_{name}_{column}" for (column,) in rows]


def _drop_table(conn: sqlite3.Connection, name: str) -> None:
    """Remove a layer or table of the main schema with its metadata and spatial index."""
    for rtree in _rtrees(conn, "main", name):
        conn.execute(f"DROP TABLE IF EXISTS main.{tables.quote(rtree)}")
    conn.execute(f"DROP TABLE IF EXISTS main.{tables.quote(name)}")  # its triggers and indexes go with it
    present = _tables_of(conn, "main")
    for meta in _PER_LAYER_META:
        if meta in present:
            conn.execute(f"DELETE FROM main.{meta} WHERE table_name = ?", (name,))


def _copy_meta_rows(conn: sqlite3.Connection, meta: str, name: str) -> None:
    """Copy the rows of one metadata table about ``name`` from ``src`` to ``main``."""
    if meta not in _tables_of(conn, "src"):
        return
    if meta not in _tables_of(conn, "main"):
        (sql,) = conn.execute("SELECT sql FROM src.sqlite_master WHERE type = 'table' AND name = ?", (meta,)).fetchone()
        conn.execute(sql)
    src_cols = [r[1] for r in conn.execute(f"PRAGMA src.table_info({meta})")]
    cols = ", ".join(c for c in (r[1] for r in conn.execute(f"PRAGMA main.table_info({meta})")) if c in src_cols)
    conn.execute(f"INSERT INTO main.{meta} ({cols}) SELECT {cols} FROM src.{meta} WHERE table_name = ?", (name,))


def _copy_table(conn: sqlite3.Connection, name: str) -> None:
    """Copy layer ``name`` from the attached ``src`` GeoPackage into ``main`` (inside a transaction).

    Rows are copied before the triggers are created: the spatial-index triggers
    call GDAL's SQL functions, which a plain SQLite connection does not have; the
    index itself is copied from the one GDAL built in ``src``.
    """
    objects = conn.execute(
        "SELECT type, name, sql FROM src.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", (name,)
    ).fetchall()
    table_sql = next(sql for kind, obj, sql in objects if kind == "table" and obj == name)
    conn.execute(table_sql)
    conn.execute(f"INSERT INTO main.{tables.quote(name)} SELECT * FROM src.{tables.quote(name)}")
    for rtree in _rtrees(conn, "src", name):
        (sql,) = conn.execute("SELECT sql FROM src.sqlite_master WHERE name = ?", (rtree,)).fetchone()
        conn.execute(sql)
        conn.execute(f"INSERT INTO main.{tables.quote(rtree)} SELECT * FROM src.{tables.quote(rtree)}")
    for kind, _obj, sql in objects:
        if kind in ("index", "trigger"):
            conn.execute(sql)
    for meta in _PER_LAYER_META:
        _copy_meta_rows(conn, meta, name)
    conn.execute(
        "INSERT OR IGNORE INTO main.gpkg_spatial_ref_sys SELECT * FROM src.gpkg_spatial_ref_sys "
        "WHERE srs_id IN (SELECT srs_id FROM src.gpkg_geometry_columns WHERE table_name = ?)",
        (name,),
    )


def _put_registry(conn: sqlite3.Connection, rows: Sequence[Mapping[str, object]], drop: Sequence[str]) -> None:
    names = [r["nombre"] for r in rows] + list(drop)
    conn.executemany(f"DELETE FROM {REGISTRY} WHERE nombre = ?", [(n,) for n in names])
    cols = ", ".join(REGISTRY_COLUMNS)
    marks = ", ".join("?" * len(REGISTRY_COLUMNS))
    conn.executemany(f"INSERT INTO {REGISTRY} ({cols}) VALUES ({marks})", [tuple(r[c] for c in REGISTRY_COLUMNS) for r in rows])


def _put_state(conn: sqlite3.Connection, state: Mapping[str, str]) -> None:
    for key, value in state.items():
        conn.execute(f"DELETE FROM {STATE} WHERE clave = ?", (key,))
        conn.execute(f"INSERT INTO {STATE} (clave, valor) VALUES (?, ?)", (key, str(value)))


def _bump_version(conn: sqlite3.Connection) -> None:
    """Increase the version counter of the state table (inside the write transaction)."""
    row = conn.execute(f"SELECT valor FROM {STATE} WHERE clave = 'version'").fetchone()
    _put_state(conn, {"version": str(int(row[0] or 0) + 1 if row else 1)})


def _create(path: Path, put: Mapping[str, LayerSpec], state: Mapping[str, str]) -> None:
    """Write a new store into a temporary file and move it into place (the store does not exist yet)."""
    tmp = tmp_path(path)
    rows = [registry_row(name, frame, meta) for name, (frame, meta) in put.items()]
    for name, (frame, _meta) in put.items():
        _write(tmp, name, frame)
    registry = pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS)).astype({"n": "int64"})
    _write(tmp, REGISTRY, registry)
    full_state = {**state, "version": "1"}
    _write(tmp, STATE, pd.DataFrame({"clave": list(full_state), "valor": list(full_state.values())}))
    with _opened(tmp) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    for leftover in (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()  # belonged to a store that is gone; would corrupt the new one
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Move committed log frames into the main file, so that a plain copy of it is complete."""
    conn.execute("PRAGMA busy_timeout = 2000")
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


@contextlib.contextmanager
def _write_failures(path: Path) -> Iterator[None]:
    """Turn a full disk or a read-only folder met while writing into a :class:`StoreError` with a code."""
    try:
        yield
    except (sqlite3.OperationalError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        text, number = str(exc).lower(), getattr(exc, "errno", None)
        if number == errno.ENOSPC or "disk is full" in text or "no space left" in text:
            raise StoreError(
                "No queda espacio en el disco del almacén de capas; no se guardó nada.",
                code="disk_full", path=str(path.parent),
            ) from exc
        if number in (errno.EROFS, errno.EACCES) or "readonly" in text or "read-only" in text:
            raise StoreError(
                "El almacén de capas está en una carpeta o archivo de solo lectura; no se guardó nada.",
                code="store_readonly", path=str(path.parent),
            ) from exc
        raise


@contextlib.contextmanager
def _sql_transaction(path: Path, attach: Path | None = None) -> Iterator[sqlite3.Connection]:
    """One write transaction on the store, serialised with every other writer; bumps the version."""
    with _write_failures(path), _write_lock(path), _opened(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        if attach is not None:
            conn.execute("ATTACH DATABASE ? AS src", (str(attach),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            _bump_version(conn)
        except BaseException:
            if conn.in_transaction:  # SQLite already rolled back after some errors (a full disk)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if attach is not None:
            conn.execute("DETACH DATABASE src")
        _checkpoint(conn)


def _write_into(path: Path, put: Mapping[str, LayerSpec], drop: Sequence[str], state: Mapping[str, str]) -> None:
    """Write ``put`` with GDAL into a temporary GeoPackage, then copy it in one transaction."""
    tmp = tmp_path(path)
    try:
        for name, (frame, _meta) in put.items():
            _write(tmp, name, frame)
        rows = [registry_row(name, frame, meta) for name, (frame, meta) in put.items()]
        with _sql_transaction(path, attach=tmp if put else None) as conn:
            for name in {*put, *drop}:
                _drop_table(conn, name)
            for name in put:
                _copy_table(conn, name)
            _put_registry(conn, rows, [n for n in drop if n not in put])
            _put_state(conn, state)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# --- editable tables -----------------------------------------------------------------------


class GpkgTransaction:
    """Writes to editable tables that commit together (see :meth:`GeoPackageStore.transaction`).

    Every method works inside the transaction: :meth:`read` sees the rows written
    before it in the same block.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.touched: set[str] = set()

    def insert(self, name: str, rows: pd.DataFrame) -> int:
        """Append ``rows`` (columns: any subset of the table's) to table ``name``; returns the row count.

        Raises
        ------
        layers._errors.UnknownLayerError
            ``name`` is not an editable table.
        layers.store.tables.TableError
            Unknown column (``unknown_column``), a key already present (``duplicate_key``),
            a value that does not fit its column's type (``bad_value``).
        """
        self.touched.add(name)
        return tables.insert(self._conn, name, rows)

    def upsert(self, name: str, rows: pd.DataFrame) -> int:
        """Insert ``rows``, or update the given columns where the table's key already exists.

        ``rows`` must hold every key column; columns it lacks keep their stored values.
        Raises :class:`~layers.store.tables.TableError` ``no_key`` for a table without key.
        """
        self.touched.add(name)
        return tables.upsert(self._conn, name, rows)

    def delete(self, name: str, where: Mapping[str, object]) -> int:
        """Delete the rows whose columns equal every value of ``where`` (``None`` matches NULL)."""
        self.touched.add(name)
        return tables.delete(self._conn, name, where)

    def read(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Rows of ``name`` as this transaction sees them (see :meth:`GeoPackageStore.read_table`)."""
        return tables.read(self._conn, name, where)


# --- the store ------------------------------------------------------------------------------

#: Files whose integrity check passed, with the signature they had then.
_checked: dict[str, tuple] = {}


def forget_check(path: Path) -> None:
    """Make the next :meth:`GeoPackageStore.check` of ``path`` run the full check again."""
    _checked.pop(str(path), None)


class GeoPackageStore:
    """The store in one GeoPackage file (see the module docstring).

    Parameters
    ----------
    path : pathlib.Path
        The GeoPackage; created by the first :meth:`write_layers`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def __repr__(self) -> str:
        return f"GeoPackageStore({self.location!r})"

    def exists(self) -> bool:
        """Whether the file exists (it may still be damaged: see :meth:`check`)."""
        return self.path.exists()

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold off other writers of this file (re-entrant within a thread)."""
        return _write_lock(self.path)

    # integrity

    def check(self) -> None:
        """Integrity check, run once per version of the file.

        Opens the file with SQLite (which also rolls back what a killed writer left
        uncommitted), checks the GeoPackage ``application_id``, runs ``PRAGMA
        quick_check`` and reads the registry and state tables.

        Raises
        ------
        StoreDamagedError
            Code ``store_damaged`` with ``path`` and ``detail``.
        """
        key = str(self.path)
        if _checked.get(key) == _signature(self.path):
            return
        started = time.perf_counter()
        if self.path.stat().st_size == 0:
            raise _damaged(self.path, "archivo vacío")
        with _opened(self.path) as conn:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            if app_id != GPKG_APPLICATION_ID:
                raise _damaged(self.path, "no es un GeoPackage")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise _damaged(self.path, "; ".join(problems)[:300])
            missing = {REGISTRY, STATE, "gpkg_contents"} - _tables_of(conn, "main")
            if missing:
                raise _damaged(self.path, "faltan las tablas " + ", ".join(sorted(missing)))
            conn.execute(f"SELECT count(*) FROM {REGISTRY}").fetchone()
        _checked[key] = _signature(self.path)
        log.info("store checked in %.3f s", time.perf_counter() - started)

    # reading

    def state(self) -> dict[str, str]:
        """Key/value state (``huella``, ``construido``, ``version``); empty when there is no store."""
        if not self.path.exists():
            return {}
        return dict(_memoised(self.path, STATE, lambda conn: conn.execute(f"SELECT clave, valor FROM {STATE}").fetchall()))

    def list_layers(self) -> pd.DataFrame:
        """Registry, one row per layer or table (columns :data:`REGISTRY_COLUMNS`, ``n`` as int64)."""
        rows = _memoised(
            self.path, REGISTRY,
            lambda conn: conn.execute(f"SELECT {', '.join(REGISTRY_COLUMNS)} FROM {REGISTRY} ORDER BY fid").fetchall(),
        )
        frame = pd.DataFrame.from_records(rows, columns=list(REGISTRY_COLUMNS))
        frame["n"] = frame["n"].fillna(0).astype("int64")
        return frame

    def read_layer(
        self, name: str, columns: Sequence[str] | None = None, bbox: tuple[float, float, float, float] | None = None, **kwargs: Any
    ) -> gpd.GeoDataFrame | pd.DataFrame:
        """One layer or table, read by GDAL; ``bbox`` in EPSG:4326 uses the spatial index."""
        if columns is not None:
            kwargs["columns"] = list(columns)
        if bbox is not None:
            kwargs["bbox"] = tuple(bbox)
        # GDAL counts a layer's features and then reads them in separate statements, each its own
        # SQLite snapshot: a write committed in between gives rows of the new layer cut to the old
        # count. The read counts only if no write was committed around it (the version is bumped
        # inside every write transaction); after a few tries it is made while writers wait.
        for _ in range(READ_TRIES):
            before = self._stamp()
            frame = self._read(name, kwargs)
            if before is None or self._stamp() == before:
                return frame
        with _write_lock(self.path):
            return self._read(name, kwargs)

    def _read(self, name: str, kwargs: dict[str, Any]) -> gpd.GeoDataFrame | pd.DataFrame:
        try:
            with _libraries.hold(_GDAL):
                return pyogrio.read_dataframe(self.path, layer=name, **kwargs)
        except pyogrio.errors.DataLayerError as exc:
            raise UnknownLayerError(f"Capa desconocida: «{name}».", name=name) from exc

    def _stamp(self) -> int | None:
        """:meth:`version`, or ``None`` when it cannot be read (the read itself then says why)."""
        try:
            return self.version()
        except Exception:  # noqa: BLE001 - the layer read reports the real problem
            return None

    def version(self) -> int:
        """Counter of committed writes, mixed with the file's inode (a restored copy differs)."""
        counter = self.state().get("version", "0")
        return (self.path.stat().st_ino << 32) + int(counter or 0)

    # writing

    def write_layers(
        self, put: Mapping[str, LayerSpec], drop: Sequence[str] = (), state: Mapping[str, str] | None = None
    ) -> None:
        """Write the layers of ``put`` (replacing same-named ones), drop those of ``drop``, update the state.

        All in one transaction. Creates the store when it does not exist.
        """
        started = time.perf_counter()
        with _write_failures(self.path), _write_lock(self.path):
            remove_stale_tmp(self.path)  # left by writers that died; we hold the lock
            if self.path.exists():
                _write_into(self.path, put, drop, state or {})
            else:
                _create(self.path, put, state or {})
        log.info("store written in %.2f s (%s)", time.perf_counter() - started, ", ".join(put) or "sin cambios")

    def define_table(self, name: str, columns: Mapping[str, str], key: Sequence[str] | None = None) -> None:
        """See :func:`layers.store.define_table`."""
        wanted = {c: str(t).upper() for c, t in columns.items()}
        with _reading(self.path) as conn:  # a defined table needs no write lock
            if (tables.is_editable(conn, name) and tables.table_columns(conn, name) == wanted
                    and tables.table_key(conn, name) == tuple(key or ())):
                return
        with _sql_transaction(self.path) as conn:
            tables.create_table(conn, name, columns, key, now())

    def read_table(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """See :func:`layers.store.read_table`."""
        with _reading(self.path) as conn:
            return tables.read(conn, name, where)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[GpkgTransaction]:
        """See :func:`layers.store.transaction`."""
        with _sql_transaction(self.path) as conn:
            tx = GpkgTransaction(conn)
            yield tx
            tables.refresh_counts(conn, tx.touched)
