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
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers import settings
from layers._errors import SitError, UnknownLayerError

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
    tmp = _tmp_path(path)
    registry = _read_registry(path)
    old_state = _read_state(path) if path.exists() else {}
    try:
        if path.exists() and not fresh and not drop:
            shutil.copyfile(path, tmp)
        else:
            # Carry over, one by one, the layers the next store keeps.
            if tmp.exists():
                tmp.unlink()
            keep = registry[~registry["nombre"].isin(set(put) | set(drop))]
            if fresh:
                keep = keep[keep["origen"] == IMPORTED]
            for name in keep["nombre"]:
                _write(tmp, name, pyogrio.read_dataframe(path, layer=name))
            registry = keep
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
    """A value that changes whenever the store file is replaced (cache key for the app).

    Only stats the file (no hashing of ``data/``), so it is cheap enough to call
    on every rerun of a page; call :func:`ensure_store` once at start-up.
    """
    path = settings.store_path()
    if not path.exists():
        path = ensure_store()
    stat = path.stat()
    return stat.st_mtime_ns ^ stat.st_ino


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
