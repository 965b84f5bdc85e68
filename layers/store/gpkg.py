"""The embedded store: one GeoPackage under ``SIT_DATA_DIR`` holding every layer.

The store is built from the shipped ``data/`` on first use and rebuilt when the
shipped data (or the store schema) changes; layers that people import later are
carried over unchanged by that rebuild. A registry table (``sit_capas``) keeps
each layer's metadata: title, description, source, date, CRS of origin, feature
count, precision and whether it was shipped or imported.

Every write is atomic: the new store is written to a temporary file beside the
current one and moved over it with :func:`os.replace`, so a crash or a kill at
any point leaves the previous store complete and readable. Writers serialise on
an advisory lock file; readers never block.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers import settings
from layers._errors import SitError, UnknownLayerError
from layers.store import tables

log = logging.getLogger(__name__)

#: Bump when the layout of stored layers changes, to force a rebuild.
STORE_SCHEMA = "3"
#: Table holding one row of metadata per layer.
REGISTRY = "sit_capas"
#: Key/value table with the fingerprint of the shipped data the store was built from.
STATE = "sit_estado"
#: Registry columns, in order.
REGISTRY_COLUMNS = (
    "nombre", "titulo", "descripcion", "clase", "origen", "fuente", "archivo",
    "fecha", "crs_origen", "n", "geometria", "precision_m",
)
#: ``origen`` of shipped layers and of layers people import.
SHIPPED, IMPORTED = "incluida", "importada"


class StoreError(SitError):
    """The store cannot be read or written."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock held while a writer builds the next store."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tmp_path(path: Path) -> Path:
    # Keep the .gpkg extension: GDAL warns about GeoPackages named otherwise.
    return path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")


def _remove_stale_tmp(path: Path) -> None:
    """Delete temporary stores left by writers that died (called under the lock)."""
    for tmp in path.parent.glob(f".{path.stem}.*.tmp{path.suffix}"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _publish(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk and atomically move it over ``path``."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _connect(path: Path) -> sqlite3.Connection:
    """SQLite connection to a GeoPackage, waiting up to a minute for other writers."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def _drop_table(conn: sqlite3.Connection, name: str) -> None:
    """Remove a layer or table and its GeoPackage metadata (spatial index included)."""
    rtrees = conn.execute(
        "SELECT column_name FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_rtree_index'", (name,)
    ).fetchall()
    for (column,) in rtrees:
        conn.execute(f"DROP TABLE IF EXISTS {tables.quote(f'rtree_{name}_{column}')}")
    conn.execute(f"DROP TABLE IF EXISTS {tables.quote(name)}")
    present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for meta in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents",
                 "gpkg_data_columns", "gpkg_metadata_reference"):
        if meta in present:
            conn.execute(f"DELETE FROM {meta} WHERE table_name = ?", (name,))


def _write(path: Path, name: str, frame: pd.DataFrame) -> None:
    """Write (or overwrite) one layer or attribute table into a GeoPackage."""
    kwargs = {}
    if isinstance(frame, gpd.GeoDataFrame):
        kwargs["promote_to_multi"] = False
        if frame.geometry.isna().all():
            # GDAL needs a concrete geometry type when no row has a geometry.
            kwargs["geometry_type"] = "Unknown"
    pyogrio.write_dataframe(
        frame, path, layer=name, driver="GPKG", layer_options={"OVERWRITE": "YES"}, **kwargs
    )


def _read_registry(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=list(REGISTRY_COLUMNS))
    try:
        reg = pyogrio.read_dataframe(path, layer=REGISTRY)
    except pyogrio.errors.DataLayerError:
        return pd.DataFrame(columns=list(REGISTRY_COLUMNS))
    return pd.DataFrame(reg).reindex(columns=list(REGISTRY_COLUMNS))


def _read_state(path: Path) -> dict[str, str]:
    try:
        state = pyogrio.read_dataframe(path, layer=STATE)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return {}
    return dict(zip(state["clave"], state["valor"]))


def _registry_row(name: str, frame: pd.DataFrame, meta: Mapping[str, object]) -> dict[str, object]:
    row = {col: meta.get(col) for col in REGISTRY_COLUMNS}
    row["nombre"] = name
    row["n"] = len(frame)
    if isinstance(frame, gpd.GeoDataFrame):
        types = sorted(set(frame.geometry.dropna().geom_type))
        row["geometria"] = ", ".join(types) if types else "sin geometría"
    else:
        row["geometria"] = "tabla"
    row["fecha"] = meta.get("fecha") or _now()
    for col in REGISTRY_COLUMNS:
        if row[col] is not None and col != "n":
            row[col] = str(row[col])
    return row


def _commit(
    path: Path,
    *,
    put: Mapping[str, tuple[pd.DataFrame, Mapping[str, object]]] | None = None,
    drop: frozenset[str] | set[str] = frozenset(),
    state: Mapping[str, str] | None = None,
    fresh: bool = False,
) -> None:
    """Produce the next store in a temporary file and publish it atomically.

    Parameters
    ----------
    path : pathlib.Path
        Store to replace.
    put : mapping of name to (frame, metadata)
        Layers and tables to write (overwriting same-named ones).
    drop : set of str
        Layers to leave out of the next store.
    state : mapping, optional
        New key/value state (fingerprint of shipped data).
    fresh : bool
        Start from an empty store and carry over only the imported layers of
        the current one that are not in ``put`` nor ``drop`` (used by rebuilds).
    """
    put = put or {}
    started = time.perf_counter()
    _remove_stale_tmp(path)  # left by a writer that died; we hold the lock
    if path.exists():
        conn = _connect(path)  # rolls back the journal of a killed transaction first
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    tmp = _tmp_path(path)
    registry = _read_registry(path)
    old_state = _read_state(path) if path.exists() else {}
    if fresh:  # shipped layers that are not built again go; imported and editable ones stay
        drop = set(drop) | (set(registry.loc[registry["origen"] == SHIPPED, "nombre"]) - set(put))
    try:
        if tmp.exists():
            tmp.unlink()
        if path.exists():
            shutil.copyfile(path, tmp)
            if drop:
                conn = _connect(tmp)
                try:
                    with conn:
                        for name in drop:
                            _drop_table(conn, name)
                finally:
                    conn.close()
        rows = [_registry_row(name, frame, meta) for name, (frame, meta) in put.items()]
        for name, (frame, _meta) in put.items():
            _write(tmp, name, frame)
        registry = registry[~registry["nombre"].isin(set(put) | set(drop))]
        registry = pd.concat([registry, pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS))], ignore_index=True)
        registry["n"] = registry["n"].astype("int64")
        _write(tmp, REGISTRY, registry)
        new_state = dict(old_state, **(state or {}))
        _write(tmp, STATE, pd.DataFrame({"clave": list(new_state), "valor": list(new_state.values())}))
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    log.info("store written in %.2f s (%s)", time.perf_counter() - started, ", ".join(put) or "sin cambios")


# --- public API -------------------------------------------------------------------------


def ensure_store(force: bool = False) -> Path:
    """Make sure the store exists and matches the shipped data; rebuild it otherwise.

    Parameters
    ----------
    force : bool
        Rebuild even when the fingerprint matches.

    Returns
    -------
    pathlib.Path
        Path of the GeoPackage store.
    """
    from layers.store import seed as shipped  # local import: shipped builds on catalogue, territories, links

    path = settings.store_path()
    fingerprint = shipped.fingerprint(STORE_SCHEMA)
    if not force and path.exists() and _read_state(path).get("huella") == fingerprint:
        return path
    with _write_lock(path):
        if not force and path.exists() and _read_state(path).get("huella") == fingerprint:
            return path  # another process built it while we waited
        started = time.perf_counter()
        built = shipped.build_layers()
        registry = _read_registry(path)
        imported = set(registry.loc[registry["origen"] == IMPORTED, "nombre"])
        put = {name: spec for name, spec in built.items() if name not in imported}
        for spec in put.values():
            spec[1].setdefault("origen", SHIPPED)
        _commit(path, put=put, state={"huella": fingerprint, "construido": _now()}, fresh=True)
        log.info("store rebuilt from data/ in %.2f s", time.perf_counter() - started)
    return path


def store_version() -> int:
    """Alias of :func:`version` (older name)."""
    return version()


def list_layers() -> pd.DataFrame:
    """Registry of the layers and tables in the store, one row each.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGISTRY_COLUMNS`; ``n`` is the feature (or row) count.
    """
    return _read_registry(ensure_store()).reset_index(drop=True)


def layer_info(name: str) -> dict[str, object]:
    """Registry row of one layer; :class:`UnknownLayerError` if absent."""
    reg = list_layers()
    match = reg[reg["nombre"] == name]
    if match.empty:
        known = ", ".join(reg["nombre"])
        raise UnknownLayerError(f"Capa desconocida: «{name}». Capas disponibles: {known}.")
    return match.iloc[0].to_dict()


def read_layer(name: str, **kwargs) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer or table of the store.

    Parameters
    ----------
    name : str
        Layer name as listed by :func:`list_layers`.
    **kwargs
        Passed to :func:`pyogrio.read_dataframe` (``bbox``, ``columns``...).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        Layers in EPSG:4326; attribute tables as DataFrames.
    """
    layer_info(name)  # checks the name against the registry of an up-to-date store
    return pyogrio.read_dataframe(settings.store_path(), layer=name, **kwargs)


def save_layer(name: str, frame: pd.DataFrame, meta: Mapping[str, object], replace: bool = False) -> None:
    """Store a layer imported by a person, atomically, with its metadata.

    Parameters
    ----------
    name : str
        Layer name (lower case letters, digits and ``_``).
    frame : geopandas.GeoDataFrame
        The layer in EPSG:4326.
    meta : mapping
        Registry fields (``titulo``, ``descripcion``, ``clase``, ``fuente``, ``archivo``,
        ``crs_origen``, ``precision_m``...).
    replace : bool
        Allow overwriting an existing layer of the same name.

    Raises
    ------
    StoreError
        When the name is taken and ``replace`` is false.
    """
    path = ensure_store()
    with _write_lock(path):
        reg = _read_registry(path)
        existing = reg[reg["nombre"] == name]
        if not existing.empty and not replace:
            kind = "incluida en el sistema" if existing.iloc[0]["origen"] == SHIPPED else "ya importada"
            raise StoreError(f"La capa «{name}» existe ({kind}); use --replace para reemplazarla.")
        _commit(path, put={name: (frame, dict(meta, origen=IMPORTED))})


def remove_layer(name: str) -> None:
    """Remove an imported layer; shipped layers cannot be removed.

    When an imported layer had replaced a shipped one of the same name, the
    shipped version comes back.
    """
    info = layer_info(name)
    if info["origen"] != IMPORTED:
        raise StoreError(f"La capa «{name}» viene con el sistema y no se puede eliminar.")
    from layers.store import seed as shipped

    path = ensure_store()
    restores_shipped = name in (*shipped.LAYERS, *shipped.TABLES)
    with _write_lock(path):
        # Forgetting the fingerprint makes the next ensure_store() write the shipped layer back.
        _commit(path, drop={name}, state={"huella": ""} if restores_shipped else None)
    ensure_store()


# --- editable tables ------------------------------------------------------------------------


class Transaction:
    """Writes to editable tables that commit together (see :func:`transaction`).

    Every method works inside the transaction: :meth:`read` sees the rows written
    before it in the same block.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._touched: set[str] = set()

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
        self._touched.add(name)
        return tables.insert(self._conn, name, rows)

    def upsert(self, name: str, rows: pd.DataFrame) -> int:
        """Insert ``rows``, or update the given columns where the table's key already exists.

        ``rows`` must hold every key column; columns it lacks keep their stored values.
        Raises :class:`~layers.store.tables.TableError` ``no_key`` for a table without key.
        """
        self._touched.add(name)
        return tables.upsert(self._conn, name, rows)

    def delete(self, name: str, where: Mapping[str, object]) -> int:
        """Delete the rows whose columns equal every value of ``where`` (``None`` matches NULL)."""
        self._touched.add(name)
        return tables.delete(self._conn, name, where)

    def read(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Rows of ``name`` as this transaction sees them (see :func:`read_table`)."""
        return tables.read(self._conn, name, where)


def _bump_version(conn: sqlite3.Connection) -> None:
    """Increase the store's version counter (kept in the state table) inside a transaction."""
    row = conn.execute(f"SELECT valor FROM {STATE} WHERE clave = 'version'").fetchone()
    if row is None:
        conn.execute(f"INSERT INTO {STATE} (clave, valor) VALUES ('version', '1')")
    else:
        conn.execute(f"UPDATE {STATE} SET valor = ? WHERE clave = 'version'", (str(int(row[0] or 0) + 1),))


@contextlib.contextmanager
def _sql_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One SQLite write transaction on the store, serialised with every other writer."""
    with _write_lock(path):
        conn = _connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                _bump_version(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()


@contextlib.contextmanager
def transaction() -> Iterator[Transaction]:
    """All-or-nothing writes to editable tables.

    Yields
    ------
    Transaction
        With ``insert``, ``upsert``, ``delete`` and ``read``. Leaving the block
        normally commits every change at once; an exception inside it (or the
        process being killed) leaves every table exactly as before. Writers of
        several processes wait for each other (a lock file and SQLite's own lock),
        so none loses the other's rows; readers see either the state before or the
        state after the block, never a part of it.

    Examples
    --------
    >>> with transaction() as tx:                                  # doctest: +SKIP
    ...     tx.upsert("seguimiento", pd.DataFrame({"id": ["E1-P1-01"], "estado": ["postulada"]}))
    ...     tx.insert("seguimiento_historial", history_rows)
    """
    path = ensure_store()
    with _sql_transaction(path) as conn:
        tx = Transaction(conn)
        yield tx
        tables.refresh_counts(conn, tx._touched)


def define_table(name: str, columns: Mapping[str, str], key: Sequence[str] | None = None) -> None:
    """Create an editable table, or add the columns it lacks (idempotent).

    Parameters
    ----------
    name : str
        Table name: lower-case letters, digits and ``_``, starting with a letter; not
        ``sit_``, ``gpkg_``, ``rtree_`` or ``sqlite_`` prefixed.
    columns : mapping of str to str
        Column name to type: ``"TEXT"``, ``"INTEGER"`` or ``"REAL"`` (order kept).
    key : sequence of str, optional
        Columns whose values identify a row (a unique index); needed by ``upsert``.

    Raises
    ------
    layers.store.tables.TableError
        Bad name or type, a key on undeclared columns, an existing table with another
        key or another type for a column (``table_mismatch``), or a layer of that name
        that is not an editable table (``layer_exists``).

    Notes
    -----
    The table is listed in the registry with ``clase`` ``"editable"``; rebuilding the
    shipped layers from ``data/`` (``build --force``) keeps it and its rows.
    """
    path = ensure_store()
    conn = _connect(path)
    try:  # cheap check first: a defined table with the same columns needs no write lock
        if tables.is_editable(conn, name) and tables.table_columns(conn, name) == {
            c: str(t).upper() for c, t in columns.items()
        } and tables.table_key(conn, name) == tuple(key or ()):
            return
    finally:
        conn.close()
    with _sql_transaction(path) as conn:
        tables.create_table(conn, name, columns, key, _now())


def read_table(name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Rows of an editable table.

    Parameters
    ----------
    name : str
        Table defined with :func:`define_table`.
    where : mapping, optional
        Equality filter ``{column: value}`` (``None`` matches NULL); all must hold.

    Returns
    -------
    pandas.DataFrame
        One column per declared column (no ``fid``), rows in insertion order; an empty
        frame with those columns when no row matches.

    Raises
    ------
    layers._errors.UnknownLayerError
        ``name`` is not an editable table.
    """
    path = ensure_store()
    conn = _connect(path)
    try:
        return tables.read(conn, name, where)
    finally:
        conn.close()


def version() -> int:
    """A number that changes on every committed write to the store (cache key for the app).

    Cheap enough to call on every rerun of a page: a ``stat`` of the file plus one
    indexed read of the state table's counter.
    """
    path = settings.store_path()
    if not path.exists():
        path = ensure_store()
    stat = path.stat()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        row = conn.execute(f"SELECT valor FROM {STATE} WHERE clave = 'version'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return hash((stat.st_ino, stat.st_mtime_ns, int(row[0]) if row else 0)) & 0x7FFFFFFFFFFFFFFF
