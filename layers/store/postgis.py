"""The scale-out store: every layer and table in a PostgreSQL database with PostGIS.

Selected with ``SIT_DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/DATABASE``
(see :func:`layers.store.backend`); the embedded GeoPackage stays the default.
It implements :class:`layers.store.base.Store` with SQLAlchemy 2 (Core),
GeoAlchemy2 and the psycopg 3 driver:

- layers and attribute tables are written with :meth:`pandas.DataFrame.to_sql`
  (geometries as EWKB into GeoAlchemy2's ``Geometry`` type, rows by PostgreSQL
  ``COPY``: the route of :meth:`geopandas.GeoDataFrame.to_postgis`, without its
  CSV step that would turn empty texts into NULL) and read with
  :func:`geopandas.read_postgis` / :func:`pandas.read_sql`; geometries are
  ``geometry(…, 4326)`` columns with a GiST spatial index (GeoAlchemy2 creates
  it with the table), and every table has an integer primary key ``fid``
  (1, 2, … in the order written, like a GeoPackage's);
- the registry (``sit_capas``) and the key/value state (``sit_estado``) are tables
  of the same database;
- editable tables (monitoring, history) have ``fid`` as an identity key and a
  unique constraint ``<name>_clave`` on their key columns; ``upsert`` is
  PostgreSQL's ``INSERT … ON CONFLICT … DO UPDATE``.

Every write is one database transaction: all of it commits or none does (a
killed process leaves nothing half-written). Writers of every process serialise
on a PostgreSQL advisory lock (:data:`LOCK_KEY`), taken for the length of the
transaction, or for longer with :meth:`PostGISStore.exclusive`. Readers see the
last committed state; only a read of a layer that a writer is replacing waits for
that writer's commit (then reads the new layer).

The database must have the ``postgis`` extension, or the user must be allowed to
create it (a superuser, or the database owner where the extension is trusted).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from layers._errors import UnknownLayerError
from layers.store import tables
from layers.store.base import (
    EDITABLE,
    REGISTRY,
    REGISTRY_COLUMNS,
    STATE,
    LayerSpec,
    StoreDamagedError,
    StoreError,
    now,
    registry_row,
)

log = logging.getLogger(__name__)

__all__ = ["LOCK_KEY", "PostGISStore", "PgTransaction", "engine_url", "is_database_url"]

#: Advisory lock that every writer of the store takes (an arbitrary 64-bit key: "SITVALLE").
LOCK_KEY = 0x534954_56414C4C45 & 0x7FFFFFFFFFFFFFFF
#: EPSG code of every stored geometry.
SRID = 4326
#: SQLAlchemy type of each editable column type, and back.
_SA_TYPES = {"TEXT": sa.Text, "INTEGER": sa.BigInteger, "REAL": sa.Double}
#: pandas dtype of each editable column type (as :mod:`layers.store.tables` reads them).
_DTYPES = {"TEXT": object, "INTEGER": "Int64", "REAL": "float64"}
#: pyogrio-style keyword arguments that :meth:`PostGISStore.read_layer` understands.
_READ_KWARGS = {"read_geometry"}

#: Attempts of a read whose table a writer replaced under it (see :meth:`PostGISStore.read_layer`).
_READ_ATTEMPTS = 20
#: SQLSTATEs of a table replaced under a read: undefined table or column, "could not open relation with OID".
_REPLACED_STATES = {"42P01", "42703", "XX000"}


class _Replaced(Exception):
    """The table of a layer was dropped and created again while a read was waiting for it."""


_metadata = sa.MetaData()
_registry = sa.Table(
    REGISTRY, _metadata,
    sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True),
    *(sa.Column(c, sa.BigInteger if c == "n" else sa.Text, unique=c == "nombre") for c in REGISTRY_COLUMNS),
)
_state = sa.Table(STATE, _metadata, sa.Column("clave", sa.Text, primary_key=True), sa.Column("valor", sa.Text))


def is_database_url(value: str) -> bool:
    """Whether ``value`` names a PostgreSQL database (``postgresql://``, ``postgres://``, ``postgresql+psycopg://``)."""
    return value.strip().lower().startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def engine_url(url: str) -> sa.URL:
    """SQLAlchemy URL with the psycopg 3 driver.

    Raises
    ------
    StoreError
        Code ``bad_database_url`` with ``url`` (password hidden) when it is not a PostgreSQL URL.
    """
    try:
        parsed = sa.make_url(url.strip().replace("postgres://", "postgresql://", 1))
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise StoreError("La dirección de la base de datos no es válida.", code="bad_database_url", url="?") from exc
    if parsed.get_backend_name() != "postgresql":
        shown = parsed.render_as_string(hide_password=True)
        raise StoreError(f"La base de datos «{shown}» no es PostgreSQL.", code="bad_database_url", url=shown)
    return parsed.set(drivername="postgresql+psycopg")


# --- locks ------------------------------------------------------------------------------------

_held = threading.local()


def _depth() -> dict[str, int]:
    if not hasattr(_held, "depth"):
        _held.depth = {}
    return _held.depth


def _lock_in(conn: Connection, location: str) -> None:
    """Take the writers' advisory lock for the transaction of ``conn`` unless this thread holds it."""
    if not _depth().get(location):
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))


# --- the store --------------------------------------------------------------------------------


class PostGISStore:
    """The store in a PostGIS database (see the module docstring).

    Parameters
    ----------
    url : str
        ``postgresql://USER:PASSWORD@HOST:PORT/DATABASE`` (any libpq parameter in
        the query string, e.g. ``?sslmode=require``).
    """

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)
        self.location = self.url.set(drivername="postgresql").render_as_string(hide_password=True)
        self.engine: Engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=2, max_overflow=8)
        self._checked = False
        self._identity: int | None = None
        self._tables: dict[tuple[str, int], sa.Table] = {}

    def __repr__(self) -> str:
        return f"PostGISStore({self.location!r})"

    def dispose(self) -> None:
        """Close the pooled connections (before the database is copied or dropped)."""
        self.engine.dispose()

    # connections and errors

    def _unavailable(self, exc: Exception) -> StoreError:
        detail = " ".join(str(getattr(exc, "orig", exc) or exc).split())[:200]
        return StoreError(
            f"No se puede conectar con la base de datos del almacén «{self.location}» ({detail}).",
            code="database_unavailable", location=self.location, detail=detail,
        )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection for reading; connection failures become :class:`StoreError`."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction, serialised with every writer, that bumps the version on commit."""
        started = time.perf_counter()
        try:
            with self.engine.begin() as conn:
                _lock_in(conn, self.location)
                self._create_schema(conn)
                yield conn
                self._bump_version(conn)
        except OperationalError as exc:
            raise self._unavailable(exc) from exc
        finally:
            self._tables.clear()
        log.debug("postgis write in %.3f s", time.perf_counter() - started)

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold off the writers of every process (session advisory lock; re-entrant in a thread)."""
        return self._exclusive()

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        depth = _depth()
        if depth.get(self.location):
            depth[self.location] += 1
            try:
                yield
            finally:
                depth[self.location] -= 1
            return
        with self._connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(LOCK_KEY)))
            conn.commit()
            depth[self.location] = 1
            try:
                yield
            finally:
                depth[self.location] = 0
                conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
                conn.commit()

    # schema

    def _create_schema(self, conn: Connection) -> None:
        """Create the PostGIS extension, registry and state tables when the store is new."""
        if self._checked or sa.inspect(conn).has_table(REGISTRY):
            return
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))  # no SQLAlchemy construct for it
        _metadata.create_all(conn, checkfirst=True)

    def exists(self) -> bool:
        """Whether the registry table exists in the database."""
        if self._checked:
            return True
        with self._connect() as conn:
            return sa.inspect(conn).has_table(REGISTRY)

    def check(self) -> None:
        """Check once per process that the registry, the state and PostGIS are there.

        Raises
        ------
        StoreDamagedError
            Code ``store_damaged`` with ``path`` (the URL without password) and ``detail``.
        StoreError
            Code ``database_unavailable`` when the server cannot be reached.
        """
        if self._checked:
            return
        with self._connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            missing = {REGISTRY, STATE, "spatial_ref_sys"} - present
            if missing:
                detail = "faltan las tablas " + ", ".join(sorted(missing))
                raise StoreDamagedError(
                    f"El almacén de capas «{self.location}» está dañado y no se puede leer ({detail}).",
                    path=self.location, detail=detail,
                )
            conn.execute(sa.select(sa.func.postgis_version())).scalar_one()
        self._checked = True

    # reading

    def state(self) -> dict[str, str]:
        """Key/value state (``huella``, ``construido``, ``version``); empty when there is no store."""
        if not self.exists():
            return {}
        with self._connect() as conn:
            return dict(conn.execute(sa.select(_state.c.clave, _state.c.valor)).all())

    def list_layers(self) -> pd.DataFrame:
        """Registry, one row per layer or table (columns :data:`REGISTRY_COLUMNS`, ``n`` as int64)."""
        query = sa.select(*(_registry.c[c] for c in REGISTRY_COLUMNS)).order_by(_registry.c.fid)
        with self._connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(REGISTRY_COLUMNS))
        frame["n"] = frame["n"].fillna(0).astype("int64")
        return frame

    def _table(self, conn: Connection, name: str) -> sa.Table:
        """The reflected table ``name`` (cached per version); :class:`UnknownLayerError` when absent."""
        key = (name, self.version())
        if key not in self._tables:
            try:
                self._tables[key] = sa.Table(name, sa.MetaData(), autoload_with=conn)
            except sa.exc.NoSuchTableError as exc:
                listed = conn.execute(sa.select(_registry.c.nombre).where(_registry.c.nombre == name)).scalar()
                if listed is not None:
                    raise _Replaced(name) from exc
                raise UnknownLayerError(f"Capa desconocida: «{name}».", name=name) from exc
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) in _REPLACED_STATES:
                    raise _Replaced(name) from exc
                raise
        return self._tables[key]

    def read_layer(
        self, name: str, columns: Sequence[str] | None = None, bbox: tuple[float, float, float, float] | None = None, **kwargs: Any
    ) -> gpd.GeoDataFrame | pd.DataFrame:
        """One layer (GeoDataFrame in EPSG:4326) or table, in the order it was written.

        Parameters
        ----------
        name : str
            Layer or table name.
        columns : sequence of str, optional
            Only these attribute columns (the geometry is kept).
        bbox : tuple of float, optional
            ``(xmin, ymin, xmax, ymax)`` in EPSG:4326: features whose geometry intersects
            it (``ST_Intersects``, served by the GiST index).
        read_geometry : bool, optional
            False reads the attributes only (a DataFrame), as with :func:`pyogrio.read_dataframe`.

        Raises
        ------
        layers._errors.UnknownLayerError
            No such layer or table.
        TypeError
            A keyword this backend does not understand.
        """
        unknown = set(kwargs) - _READ_KWARGS
        if unknown:
            raise TypeError(f"read_layer() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        for attempt in range(_READ_ATTEMPTS):
            try:
                return self._read_once(name, columns, bbox, kwargs.get("read_geometry", True))
            except _Replaced:
                # A writer replaced the table (drop and create in one transaction) while this read
                # waited for it: the committed new table is there now, read again.
                self._tables.clear()
                time.sleep(0.02 * attempt)
        raise StoreError(f"La capa «{name}» se está reemplazando; intente de nuevo.", code="layer_busy", layer=name)

    def _read_once(
        self, name: str, columns: Sequence[str] | None, bbox: tuple[float, float, float, float] | None, read_geometry: bool
    ) -> gpd.GeoDataFrame | pd.DataFrame:
        with self._connect() as conn:
            table = self._table(conn, name)
            geoms = [c for c in table.columns if isinstance(c.type, Geometry)]
            geom = geoms[0] if geoms and read_geometry else None
            attrs = [c for c in table.columns if c.name != "fid" and not isinstance(c.type, Geometry)]
            if columns is not None:
                wanted = list(columns)
                attrs = [c for c in attrs if c.name in wanted]
            query = sa.select(*attrs, *([geom] if geom is not None else [])).order_by(table.c.fid)
            if bbox is not None and geoms:
                envelope = sa.func.ST_MakeEnvelope(*map(float, bbox), SRID)
                query = query.where(sa.func.ST_Intersects(geoms[0], envelope))
            try:
                if geom is None:
                    return pd.read_sql(query, conn)
                return gpd.read_postgis(query, conn, geom_col=geom.name, crs=f"EPSG:{SRID}")
            except sa.exc.DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) in _REPLACED_STATES:
                    raise _Replaced(name) from exc
                raise

    def _database_identity(self, conn: Connection) -> int:
        """OID of the database, so that a copy of it (another database) has another version."""
        if self._identity is None:
            pg_database = sa.table("pg_database", sa.column("oid"), sa.column("datname"))
            query = sa.select(pg_database.c.oid).where(pg_database.c.datname == sa.func.current_database())
            self._identity = int(conn.execute(query).scalar_one())
        return self._identity

    def version(self) -> int:
        """Counter of committed writes, mixed with the database's OID."""
        with self._connect() as conn:
            value = conn.execute(sa.select(_state.c.valor).where(_state.c.clave == "version")).scalar()
            return (self._database_identity(conn) << 32) + int(value or 0)

    # writing layers

    @staticmethod
    def _bump_version(conn: Connection) -> None:
        current = conn.execute(sa.select(_state.c.valor).where(_state.c.clave == "version")).scalar()
        _put_state(conn, {"version": str(int(current or 0) + 1)})

    def write_layers(
        self, put: Mapping[str, LayerSpec], drop: Sequence[str] = (), state: Mapping[str, str] | None = None
    ) -> None:
        """Write the layers of ``put`` (replacing same-named ones), drop those of ``drop``, update the state.

        All in one transaction; creates the store (and the PostGIS extension) when
        the database is empty.
        """
        started = time.perf_counter()
        rows = [registry_row(name, frame, meta) for name, (frame, meta) in put.items()]
        with self._write() as conn:
            for name in {*put, *drop}:
                sa.Table(name, sa.MetaData()).drop(conn, checkfirst=True)
            for name, (frame, _meta) in put.items():
                _put_frame(conn, name, frame)
            names = [r["nombre"] for r in rows] + [n for n in drop if n not in put]
            if names:
                conn.execute(sa.delete(_registry).where(_registry.c.nombre.in_(names)))
            if rows:
                conn.execute(sa.insert(_registry), rows)
            _put_state(conn, state or {})
        log.info("store written in %.2f s (%s)", time.perf_counter() - started, ", ".join(put) or "sin cambios")

    # editable tables

    def describe_table(self, name: str) -> tuple[dict[str, str], tuple[str, ...]]:
        """Declared columns (``name -> TEXT|INTEGER|REAL``) and key of an editable table."""
        with self._connect() as conn:
            return _describe(conn, name)

    def define_table(self, name: str, columns: Mapping[str, str], key: Sequence[str] | None = None) -> None:
        """See :func:`layers.store.define_table`."""
        cols, key = _definition(name, columns, key)
        with self._connect() as conn:
            if _is_editable(conn, name) and _describe(conn, name) == (cols, key):
                return  # a defined table needs no write
        with self._write() as conn:
            _create_or_extend(conn, name, cols, key)

    def read_table(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """See :func:`layers.store.read_table`."""
        with self._connect() as conn:
            return PgTransaction(conn).read(name, where)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgTransaction]:
        """See :func:`layers.store.transaction`."""
        with self._write() as conn:
            tx = PgTransaction(conn)
            yield tx
            for name in tx.touched:
                count = conn.execute(sa.select(sa.func.count()).select_from(tx.table(name))).scalar_one()
                conn.execute(sa.update(_registry).where(_registry.c.nombre == name).values(n=count))


def _put_state(conn: Connection, state: Mapping[str, str]) -> None:
    for key, value in state.items():
        stmt = pg_insert(_state).values(clave=key, valor=str(value))
        conn.execute(stmt.on_conflict_do_update(index_elements=["clave"], set_={"valor": stmt.excluded.valor}))


def _geometry_type(geoms: gpd.GeoSeries) -> str:
    """PostGIS type of a geometry column: the one type every geometry shares, else ``GEOMETRY`` (``Z`` when 3-D)."""
    kinds = set(geoms.dropna().geom_type)
    kind = kinds.pop().upper() if len(kinds) == 1 else "GEOMETRY"
    kind = "LINESTRING" if kind == "LINEARRING" else kind
    return kind + ("Z" if geoms.has_z.any() else "")


def _copy_rows(table: Any, conn: Connection, keys: list[str], rows: Any) -> int:
    """pandas ``to_sql`` method: PostgreSQL ``COPY`` row by row with psycopg's typed rows.

    Unlike a CSV copy, it keeps an empty text apart from a missing one (NULL).
    """
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.table.name)} ({', '.join(map(quote, keys))}) FROM STDIN"
    count = 0
    with conn.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _put_frame(conn: Connection, name: str, frame: pd.DataFrame) -> None:
    """Create table ``name`` from ``frame``, rows copied in order, ``fid`` 1…n as primary key.

    Geometries go in as EWKB into a GeoAlchemy2 ``Geometry(type, 4326)`` column,
    which creates the GiST index with the table. (:meth:`geopandas.GeoDataFrame.to_postgis`
    takes the same route, but copies through CSV, which turns empty texts into NULL.)
    """
    frame = frame.drop(columns=[c for c in frame.columns if str(c).lower() == "fid"])
    frame = frame.set_axis(pd.RangeIndex(1, len(frame) + 1, name="fid"), axis=0)
    dtype: dict[str, Any] = {}
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry
        if geoms.crs is not None and geoms.crs.to_epsg() != SRID:
            geoms = geoms.to_crs(SRID)
        dtype[geoms.name] = Geometry(_geometry_type(geoms), srid=SRID)
        ewkb = shapely.to_wkb(shapely.set_srid(geoms.to_numpy(), SRID), hex=True, include_srid=True)
        frame = pd.DataFrame(frame.drop(columns=geoms.name)).assign(**{geoms.name: ewkb})
    pd.DataFrame(frame).to_sql(name, conn, index=True, dtype=dtype, method=_copy_rows)
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    conn.execute(sa.schema.AddConstraint(sa.PrimaryKeyConstraint(table.c.fid, name=f"{name}_pkey"[:63])))


# --- editable tables ------------------------------------------------------------------------


def _definition(name: str, columns: Mapping[str, str], key: Sequence[str] | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """Checked definition of an editable table (same rules and codes as :func:`layers.store.tables.create_table`)."""
    tables.check_name(name)
    cols: dict[str, str] = {}
    for col, ctype in columns.items():
        tables.check_name(col, "columna")
        ctype = str(ctype).upper()
        if ctype not in tables.COLUMN_TYPES:
            raise tables.TableError(f"Tipo de columna no válido para «{col}»: «{ctype}».", code="bad_type", column=col, type=ctype)
        cols[col] = ctype
    key = tuple(key or ())
    missing = [k for k in key if k not in cols]
    if missing:
        raise tables.TableError(f"La clave de «{name}» usa columnas no definidas: {', '.join(missing)}.",
                                code="bad_key", table=name, columns=missing)
    return cols, key


def _is_editable(conn: Connection, name: str) -> bool:
    clase = conn.execute(sa.select(_registry.c.clase).where(_registry.c.nombre == name)).scalar()
    return clase == EDITABLE


def _type_name(sql_type: sa.types.TypeEngine) -> str:
    if isinstance(sql_type, sa.Integer):
        return "INTEGER"
    if isinstance(sql_type, sa.Float):
        return "REAL"
    return "TEXT"


def _describe(conn: Connection, name: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Columns (without ``fid``) and key of an editable table; :class:`UnknownLayerError` when it is not one."""
    if not _is_editable(conn, name):
        raise UnknownLayerError(f"Tabla editable desconocida: «{name}».", name=name)
    inspector = sa.inspect(conn)
    cols = {c["name"]: _type_name(c["type"]) for c in inspector.get_columns(name) if c["name"] != "fid"}
    keys = [u["column_names"] for u in inspector.get_unique_constraints(name) if u["name"] == f"{name}_clave"[:63]]
    return cols, tuple(keys[0]) if keys else ()


def _create_or_extend(conn: Connection, name: str, cols: Mapping[str, str], key: tuple[str, ...]) -> None:
    """Create an editable table with its registry row, or add the columns it lacks (inside a transaction)."""
    clase = conn.execute(sa.select(_registry.c.clase).where(_registry.c.nombre == name)).scalar()
    if clase is not None and clase != EDITABLE:
        raise tables.TableError(f"Ya existe una capa llamada «{name}» que no es una tabla editable.", code="layer_exists", layer=name)
    if clase is None:
        extra = [sa.UniqueConstraint(*key, name=f"{name}_clave"[:63])] if key else []
        sa.Table(name, sa.MetaData(), sa.Column("fid", sa.BigInteger, sa.Identity(), primary_key=True),
                 *(sa.Column(c, _SA_TYPES[t]()) for c, t in cols.items()), *extra).create(conn)
        conn.execute(sa.insert(_registry).values(
            nombre=name, titulo=name, descripcion="Tabla editable (no la reescribe una reconstrucción desde data/).",
            clase=EDITABLE, origen=EDITABLE, fecha=now(), n=0, geometria="tabla",
        ))
        return
    existing, existing_key = _describe(conn, name)
    if existing_key != key:
        raise tables.TableError(f"La tabla «{name}» ya existe con otra clave.", code="table_mismatch", table=name)
    quote = conn.dialect.identifier_preparer.quote
    for col, ctype in cols.items():
        if col not in existing:
            # SQLAlchemy Core has no ALTER TABLE; the names were checked and are quoted by the dialect.
            compiled = _SA_TYPES[ctype]().compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(col)} {compiled}"))
        elif existing[col] != ctype:
            raise tables.TableError(f"La columna «{col}» de «{name}» ya existe con tipo {existing[col]}.",
                                    code="table_mismatch", table=name, column=col)


class PgTransaction:
    """Writes to editable tables that commit together (see :meth:`PostGISStore.transaction`).

    Every method works inside the transaction: :meth:`read` sees the rows written
    before it in the same block. A refused write (duplicate key, bad value) raises
    and, when the exception leaves the block, nothing of the block is kept.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._defs: dict[str, tuple[dict[str, str], tuple[str, ...], sa.Table]] = {}
        self.touched: set[str] = set()

    def _def(self, name: str) -> tuple[dict[str, str], tuple[str, ...], sa.Table]:
        if name not in self._defs:
            cols, key = _describe(self._conn, name)
            table = sa.Table(name, sa.MetaData(), sa.Column("fid", sa.BigInteger, primary_key=True),
                             *(sa.Column(c, _SA_TYPES[t]()) for c, t in cols.items()))
            self._defs[name] = (cols, key, table)
        return self._defs[name]

    def table(self, name: str) -> sa.Table:
        """SQLAlchemy table of the editable table ``name``."""
        return self._def(name)[2]

    def _records(self, name: str, rows: pd.DataFrame) -> tuple[dict[str, str], tuple[str, ...], sa.Table, list[dict]]:
        cols, key, table = self._def(name)
        names, records = tables._records(cols, name, rows)
        return cols, key, table, [dict(zip(names, r)) for r in records]

    def insert(self, name: str, rows: pd.DataFrame) -> int:
        """Append ``rows``; see :meth:`layers.store.gpkg.GpkgTransaction.insert` for the errors raised."""
        _cols, _key, table, records = self._records(name, rows)
        self.touched.add(name)
        if not records:
            return 0
        try:
            with self._conn.begin_nested():
                self._conn.execute(sa.insert(table), records)
        except IntegrityError as exc:
            raise tables.TableError(f"Fila repetida según la clave de «{name}».", code="duplicate_key", table=name) from exc
        return len(records)

    def upsert(self, name: str, rows: pd.DataFrame) -> int:
        """Insert ``rows``, or update the given columns where the table's key already exists."""
        _cols, key, table = self._def(name)
        if not key:
            raise tables.TableError(f"La tabla «{name}» no tiene clave; no se puede actualizar por clave.", code="no_key", table=name)
        missing = [k for k in key if k not in rows.columns]
        if missing:
            raise tables.TableError(f"Faltan columnas de la clave de «{name}»: {', '.join(missing)}.",
                                    code="bad_key", table=name, columns=missing)
        *_, records = self._records(name, rows)
        self.touched.add(name)
        if not records:
            return 0
        stmt = pg_insert(table)
        others = [c for c in rows.columns if c not in key]
        if others:
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={c: stmt.excluded[c] for c in others})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        keys = [tuple(r[k] for k in key) for r in records]
        if len(set(keys)) == len(keys):
            self._conn.execute(stmt, records)  # batched; one row per key
        else:
            for record in records:  # a key twice: one statement per row, later rows win, as in SQLite
                self._conn.execute(stmt, record)
        return len(records)

    def _where(self, name: str, where: Mapping[str, object] | None) -> list[sa.ColumnElement[bool]]:
        cols, _key, table = self._def(name)
        clauses = []
        for col, value in (where or {}).items():
            if col not in cols:
                raise tables.TableError(f"Columna desconocida en «{name}»: {col}.", code="unknown_column", table=name, columns=[col])
            value = tables._cell(value, cols[col])
            clauses.append(table.c[col].is_(None) if value is None else table.c[col] == value)
        return clauses

    def delete(self, name: str, where: Mapping[str, object]) -> int:
        """Delete the rows whose columns equal every value of ``where`` (``None`` matches NULL)."""
        if not where:
            raise tables.TableError(f"Borrar de «{name}» exige una condición.", code="bad_filter", table=name)
        clauses = self._where(name, where)
        self.touched.add(name)
        return self._conn.execute(sa.delete(self.table(name)).where(*clauses)).rowcount

    def read(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Rows in insertion order, typed as :func:`layers.store.tables.read` types them."""
        cols, _key, table = self._def(name)
        query = sa.select(*(table.c[c] for c in cols)).where(*self._where(name, where)).order_by(table.c.fid)
        rows = self._conn.execute(query).all()
        data = list(zip(*rows)) if rows else [()] * len(cols)
        return pd.DataFrame({c: pd.Series(v, dtype=_DTYPES[t]) for (c, t), v in zip(cols.items(), data)})

