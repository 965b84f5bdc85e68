"""The store of layers and tables: the one place that opens the database.

Module-level functions delegate to the configured backend (:func:`backend`):
the embedded GeoPackage (:mod:`layers.store.gpkg`) by default; the PostGIS backend
(:mod:`layers.store.postgis`) when ``SIT_DATABASE_URL`` names a PostgreSQL database.
:mod:`layers.store.copy` copies a whole store between the two. The interface is
:class:`layers.store.base.Store`; :mod:`layers.store.seed` builds the shipped
layers from ``data/`` through it, and :mod:`layers.store.repair` rebuilds a
damaged store.

- Layers: :func:`list_layers`, :func:`layer_info`, :func:`read_layer` (optionally
  some columns or a bounding box), :func:`save_layer`, :func:`remove_layer`.
- Editable tables (monitoring, history: never touched by a rebuild from ``data/``):
  :func:`define_table`, :func:`read_table`, :func:`transaction`.
- :func:`version` changes on every committed write (cache key for the app).

Every function first makes sure the store exists, passes its integrity check
(once per version of the file) and matches the shipped data; a damaged store
raises :class:`StoreDamagedError` (code ``"store_damaged"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from layers import settings
from layers._errors import UnknownLayerError
from layers.store import repair, seed
from layers.store.base import (
    EDITABLE,
    IMPORTED,
    REGISTRY,
    REGISTRY_COLUMNS,
    SHIPPED,
    STATE,
    Store,
    StoreDamagedError,
    StoreError,
    Transaction,
)
from layers.store.gpkg import GeoPackageStore
from layers.store.seed import STORE_SCHEMA
from layers.store.tables import TableError

__all__ = [
    "EDITABLE", "IMPORTED", "REGISTRY", "REGISTRY_COLUMNS", "SHIPPED", "STATE", "STORE_SCHEMA", "Store",
    "StoreDamagedError", "StoreError", "TableError", "Transaction", "backend", "define_table", "ensure_store",
    "layer_info", "list_layers", "read_layer", "read_table", "refuse_taken", "remove_layer", "repair_store", "save_layer",
    "store_version",
    "transaction", "version",
]

_backends: dict[str, Store] = {}


def backend() -> Store:
    """The configured store, read from the settings at each call.

    ``SIT_DATABASE_URL`` unset: the GeoPackage :func:`layers.settings.store_path`;
    ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE``: the PostGIS store
    (:class:`layers.store.postgis.PostGISStore`), one per URL and process.

    Raises
    ------
    StoreError
        Code ``bad_database_url`` when ``SIT_DATABASE_URL`` is not a PostgreSQL URL.
    """
    url = settings.database_url()
    if url:
        if url not in _backends:
            from layers.store.postgis import PostGISStore

            _backends[url] = PostGISStore(url)
        return _backends[url]
    path = settings.store_path()
    key = str(path)
    if key not in _backends:
        _backends[key] = GeoPackageStore(path)
    return _backends[key]


def ensure_store(force: bool = False) -> Path | str:
    """Make sure the store exists, is sound and matches the shipped data; (re)build it otherwise.

    Parameters
    ----------
    force : bool
        Rebuild the shipped layers even when the fingerprint matches (imported layers
        and editable tables are kept).

    Returns
    -------
    pathlib.Path or str
        Location of the store: the GeoPackage's path, or the database URL without password.

    Raises
    ------
    StoreDamagedError
        The store exists but is damaged.
    """
    store = backend()
    seed.ensure(store, force=force)
    return Path(store.location) if isinstance(store, GeoPackageStore) else store.location


def version() -> int:
    """A number that changes on every committed write to the store (cache key for the app).

    Cheap enough to call on every rerun of a page: one small read, no check of
    ``data/`` (call :func:`ensure_store` once at start-up; this builds the store only
    when it does not exist).
    """
    store = backend()
    if not store.exists():
        ensure_store()
    store.check()  # two stat calls unless the file changed since the last check
    return store.version()


def store_version() -> int:
    """Alias of :func:`version` (older name)."""
    return version()


def list_layers() -> pd.DataFrame:
    """Registry of the layers and tables in the store, one row each.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`REGISTRY_COLUMNS`; ``n`` is the feature (or row) count;
        ``origen`` is ``incluida``, ``importada`` or ``editable``.
    """
    ensure_store()
    return backend().list_layers().reset_index(drop=True)


def layer_info(name: str, registry: pd.DataFrame | None = None) -> dict[str, object]:
    """Registry row of one layer.

    Raises
    ------
    layers._errors.UnknownLayerError
        Code ``unknown_layer`` with ``layer`` and ``known`` (the names in the store).
    """
    reg = list_layers() if registry is None else registry
    match = reg[reg["nombre"] == name]
    if match.empty:
        known = list(reg["nombre"])
        raise UnknownLayerError(f"Capa desconocida: «{name}». Capas disponibles: {', '.join(known)}.", layer=name, known=known)
    return match.iloc[0].to_dict()


def read_layer(
    name: str, columns: Sequence[str] | None = None, bbox: tuple[float, float, float, float] | None = None, **kwargs: Any
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer or table of the store.

    Parameters
    ----------
    name : str
        Layer name as listed by :func:`list_layers`.
    columns : sequence of str, optional
        Only these attribute columns (the geometry is read unless ``read_geometry=False``).
    bbox : tuple of float, optional
        ``(xmin, ymin, xmax, ymax)`` in EPSG:4326 (lon/lat): only features that intersect it.
    **kwargs
        Passed to the backend's reader (for the GeoPackage, :func:`pyogrio.read_dataframe`).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        Layers in EPSG:4326; attribute tables as DataFrames.
    """
    layer_info(name)  # checks the name against the registry of an up-to-date store
    return backend().read_layer(name, columns=columns, bbox=bbox, **kwargs)


def refuse_taken(name: str, registry: pd.DataFrame, replace: bool) -> None:
    """Refuse to write ``name`` when it is taken: the one «name taken» rule of the store.

    Parameters
    ----------
    name : str
        Layer name about to be written.
    registry : pandas.DataFrame
        The store's registry (:func:`list_layers`).
    replace : bool
        Whether the person asked to replace an existing layer.

    Raises
    ------
    StoreError
        Code ``editable_table`` when ``name`` is an editable table (never replaced by a
        layer); ``layer_exists`` (with ``layer`` and ``origin``) when it is taken and
        ``replace`` is false.
    """
    existing = registry[registry["nombre"] == name]
    if existing.empty:
        return
    origin = existing.iloc[0]["origen"]
    if origin == EDITABLE:
        raise StoreError(f"«{name}» es una tabla editable del sistema; elija otro nombre.", code="editable_table", layer=name)
    if not replace:
        kind = "incluida en el sistema" if origin == SHIPPED else "ya importada"
        raise StoreError(f"La capa «{name}» existe ({kind}).", code="layer_exists", layer=name, origin=origin)


def save_layer(name: str, frame: pd.DataFrame, meta: Mapping[str, object], replace: bool = False) -> None:
    """Store a layer imported by a person, in one transaction, with its metadata.

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
        Code ``layer_exists`` (with ``layer`` and ``origin``) when the name is taken and
        ``replace`` is false; ``editable_table`` when it names an editable table.
    """
    ensure_store()
    store = backend()
    with store.exclusive():
        refuse_taken(name, store.list_layers(), replace)
        store.write_layers({name: (frame, dict(meta, origen=IMPORTED))})


def remove_layer(name: str) -> None:
    """Remove an imported layer; shipped layers and editable tables cannot be removed.

    When an imported layer had replaced a shipped one of the same name, the
    shipped version comes back.

    Raises
    ------
    layers._errors.UnknownLayerError
        No such layer.
    StoreError
        Code ``shipped_layer`` or ``editable_table`` with ``layer``.
    """
    store = backend()
    with store.exclusive():  # read the registry and drop under one lock: no other writer in between
        _remove_layer(store, name)
    ensure_store()


def _remove_layer(store: Store, name: str) -> None:
    info = layer_info(name)
    if info["origen"] == SHIPPED:
        raise StoreError(f"La capa «{name}» viene con el sistema y no se puede eliminar.", code="shipped_layer", layer=name)
    if info["origen"] == EDITABLE:
        raise StoreError(f"«{name}» es una tabla editable del sistema y no se elimina.", code="editable_table", layer=name)
    restores_shipped = name in (*seed.LAYERS, *seed.TABLES)
    # Forgetting the fingerprint makes the next ensure_store() write the shipped layer back.
    store.write_layers({}, drop=[name], state={"huella": ""} if restores_shipped else None)


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
    TableError
        Bad name or type (``bad_name``, ``bad_type``), a key on undeclared columns
        (``bad_key``), an existing table with another key or another type for a column
        (``table_mismatch``), or a layer of that name that is not editable (``layer_exists``).

    Notes
    -----
    The table is listed in the registry with ``clase`` and ``origen`` ``"editable"``;
    rebuilding the shipped layers from ``data/`` (``build --force``) keeps it and its rows.
    """
    ensure_store()
    backend().define_table(name, columns, key)


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
        One column per declared column in declared order (``TEXT`` as object, ``INTEGER``
        as ``Int64``, ``REAL`` as ``float64``), rows in insertion order; an empty frame
        with those columns when no row matches.

    Raises
    ------
    layers._errors.UnknownLayerError
        ``name`` is not an editable table.
    """
    ensure_store()
    return backend().read_table(name, where)


def repair_store() -> repair.RepairReport:
    """Rebuild the shipped layers and recover what a damaged store still holds.

    Returns
    -------
    layers.store.repair.RepairReport
        What was found, recovered and lost (:func:`layers.store.repair.format_report`
        writes it in Spanish). A sound store is only rebuilt from ``data/``.
        PostGIS keeps its own integrity (PostgreSQL's write-ahead log): its shipped
        layers are rebuilt, nothing else is touched.
    """
    store = backend()
    if not isinstance(store, GeoPackageStore):
        seed.ensure(store, force=True)
        registry = store.list_layers()
        return repair.RepairReport(shipped=list(registry.loc[registry["origen"] == SHIPPED, "nombre"]))
    return repair.repair(store)


@contextlib.contextmanager
def transaction() -> Iterator[Transaction]:
    """All-or-nothing writes to editable tables.

    Yields
    ------
    Transaction
        With ``insert(name, rows)``, ``upsert(name, rows)`` (by the table's key),
        ``delete(name, where)`` and ``read(name, where=None)``. Leaving the block
        normally commits every change at once; an exception inside it (or the process
        being killed) leaves every table exactly as before. Writers of several
        processes wait for each other, so none loses the other's rows; readers see
        the state before or after the block, never a part of it.

    Examples
    --------
    >>> with transaction() as tx:                                  # doctest: +SKIP
    ...     tx.upsert("seguimiento", pd.DataFrame({"id": ["E1-P1-01"], "estado": ["postulada"]}))
    ...     tx.insert("seguimiento_historial", history_rows)
    """
    ensure_store()
    with backend().transaction() as tx:
        yield tx
