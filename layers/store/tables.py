"""Editable tables of the GeoPackage store: attribute tables that people change row by row.

Monitoring records, histories and accounts live in *editable* tables (registry
``clase`` ``"editable"``). A rebuild of the shipped layers from ``data/`` never
drops or rewrites them. They are plain GeoPackage attribute tables (listed in
``gpkg_contents`` with ``data_type = 'attributes'``), so GDAL and QGIS read them
like any other table of the store, and they are written with SQLite's own
transactions: every change of a :func:`transaction` block is committed at once
or not at all, even when the process is killed midway (SQLite's journal rolls
an interrupted transaction back the next time the file is opened).

Column types are SQLite's ``TEXT``, ``INTEGER`` and ``REAL``. A table may have a
*key* (one or more columns whose values identify a row); :meth:`Transaction.upsert`
inserts or updates by that key.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from layers._errors import SitError, UnknownLayerError

#: Registry ``clase`` (and ``origen``) of editable tables.
EDITABLE = "editable"
#: Column types an editable table may declare.
COLUMN_TYPES = ("TEXT", "INTEGER", "REAL")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED = ("sit_", "gpkg_", "rtree_", "sqlite_")


class TableError(SitError):
    """An editable table used against its definition (bad name, column, type or key)."""

    default_code = "table_error"


def quote(name: str) -> str:
    """SQL identifier in double quotes (names are validated before they get here)."""
    return '"' + name.replace('"', '""') + '"'


def check_name(name: str, what: str = "tabla") -> None:
    """Refuse names that are not lower-case identifiers or that use a reserved prefix.

    Raises
    ------
    TableError
        Code ``"bad_name"`` with ``name``.
    """
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith(_RESERVED) or name == "fid":
        raise TableError(
            f"Nombre de {what} no válido: «{name}» (letras minúsculas, dígitos y _, empezando por una letra).",
            code="bad_name", name=name,
        )


# --- schema ------------------------------------------------------------------------------


def table_columns(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """Declared columns of an existing table (without ``fid``), in order: ``name -> type``."""
    rows = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
    return {row[1]: (row[2] or "").upper() for row in rows if row[1] != "fid"}


def table_key(conn: sqlite3.Connection, name: str) -> tuple[str, ...]:
    """Key columns of an editable table (its unique index ``<name>_clave``), or ``()``."""
    rows = conn.execute(f"PRAGMA index_info({quote(name + '_clave')})").fetchall()
    return tuple(row[2] for row in sorted(rows))


def is_editable(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the registry lists ``name`` as an editable table."""
    row = conn.execute("SELECT clase FROM sit_capas WHERE nombre = ?", (name,)).fetchone()
    return row is not None and row[0] == EDITABLE


def _require(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    if not is_editable(conn, name):
        raise UnknownLayerError(f"Tabla editable desconocida: «{name}».", name=name)
    return table_columns(conn, name)


def create_table(
    conn: sqlite3.Connection, name: str, columns: Mapping[str, str], key: Sequence[str] | None, now: str
) -> bool:
    """Create (or extend with new columns) an editable table inside an open transaction.

    Returns
    -------
    bool
        True when something was created or added.

    Raises
    ------
    TableError
        Bad name or type (``bad_name``, ``bad_type``), a column whose type differs from the
        existing one or a different key (``table_mismatch``), a key column not declared
        (``bad_key``), a layer of the same name that is not editable (``layer_exists``).
    """
    check_name(name)
    cols = {}
    for col, ctype in columns.items():
        check_name(col, "columna")
        ctype = str(ctype).upper()
        if ctype not in COLUMN_TYPES:
            raise TableError(f"Tipo de columna no válido para «{col}»: «{ctype}».", code="bad_type", column=col, type=ctype)
        cols[col] = ctype
    key = tuple(key or ())
    missing = [k for k in key if k not in cols]
    if missing:
        raise TableError(f"La clave de «{name}» usa columnas no definidas: {', '.join(missing)}.", code="bad_key", table=name, columns=missing)
    registered = conn.execute("SELECT clase FROM sit_capas WHERE nombre = ?", (name,)).fetchone()
    if registered is not None and registered[0] != EDITABLE:
        raise TableError(f"Ya existe una capa llamada «{name}» que no es una tabla editable.", code="layer_exists", layer=name)
    if registered is None:
        body = ", ".join(["fid INTEGER PRIMARY KEY AUTOINCREMENT", *(f"{quote(c)} {t}" for c, t in cols.items())])
        conn.execute(f"CREATE TABLE {quote(name)} ({body})")
        if key:
            conn.execute(f"CREATE UNIQUE INDEX {quote(name + '_clave')} ON {quote(name)} ({', '.join(map(quote, key))})")
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
            "VALUES (?, 'attributes', ?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (name, name),
        )
        conn.execute(
            "INSERT INTO sit_capas (nombre, titulo, descripcion, clase, origen, fecha, n, geometria) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, 'tabla')",
            (name, name, "Tabla editable (no la reescribe una reconstrucción desde data/).", EDITABLE, EDITABLE, now),
        )
        return True
    existing = table_columns(conn, name)
    if table_key(conn, name) != key:
        raise TableError(f"La tabla «{name}» ya existe con otra clave.", code="table_mismatch", table=name)
    added = False
    for col, ctype in cols.items():
        if col not in existing:
            conn.execute(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(col)} {ctype}")
            added = True
        elif existing[col] != ctype:
            raise TableError(
                f"La columna «{col}» de «{name}» ya existe con tipo {existing[col]}.", code="table_mismatch", table=name, column=col
            )
    return added


# --- values ------------------------------------------------------------------------------


def _cell(value: Any, ctype: str) -> Any:
    """A Python value SQLite stores as ``ctype`` (None for missing values)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if ctype == "INTEGER":
        if isinstance(value, bool | np.bool_):
            return int(value)
        if isinstance(value, float | np.floating) and not float(value).is_integer():
            raise TableError(f"Valor no entero: {value}.", code="bad_value", value=value)
        return int(value)
    if ctype == "REAL":
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def _records(columns: Mapping[str, str], name: str, rows: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    unknown = [c for c in rows.columns if c not in columns]
    if unknown:
        raise TableError(
            f"Columnas desconocidas en «{name}»: {', '.join(map(str, unknown))}.", code="unknown_column", table=name, columns=unknown
        )
    cols = list(rows.columns)
    types = [columns[c] for c in cols]
    records = [tuple(_cell(v, t) for v, t in zip(row, types)) for row in rows.itertuples(index=False, name=None)]
    return cols, records


def _where(columns: Mapping[str, str], name: str, where: Mapping[str, object] | None) -> tuple[str, list]:
    if not where:
        return "", []
    parts, params = [], []
    for col, value in where.items():
        if col not in columns:
            raise TableError(f"Columna desconocida en «{name}»: {col}.", code="unknown_column", table=name, columns=[col])
        value = _cell(value, columns[col])
        if value is None:
            parts.append(f"{quote(col)} IS NULL")
        else:
            parts.append(f"{quote(col)} = ?")
            params.append(value)
    return " WHERE " + " AND ".join(parts), params


# --- operations (inside an open connection) ------------------------------------------------


#: pandas dtype of each column type: NULL reads as None, <NA> and NaN respectively.
_DTYPES = {"TEXT": object, "INTEGER": "Int64", "REAL": "float64"}


def read(conn: sqlite3.Connection, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
    """Rows of an editable table, in insertion order, without ``fid``.

    Columns keep their declared order and type: ``TEXT`` as object (``None`` for NULL),
    ``INTEGER`` as pandas ``Int64`` (``<NA>``), ``REAL`` as ``float64`` (NaN).
    """
    columns = _require(conn, name)
    clause, params = _where(columns, name, where)
    select = ", ".join(map(quote, columns))
    cursor = conn.execute(f"SELECT {select} FROM {quote(name)}{clause} ORDER BY fid", params)
    rows = cursor.fetchall()
    data = list(zip(*rows)) if rows else [()] * len(columns)
    return pd.DataFrame(
        {c: pd.Series(values, dtype=_DTYPES.get(t, object)) for (c, t), values in zip(columns.items(), data)}
    )


def insert(conn: sqlite3.Connection, name: str, rows: pd.DataFrame) -> int:
    """Append rows; a duplicate key raises :class:`TableError` code ``duplicate_key``."""
    columns = _require(conn, name)
    cols, records = _records(columns, name, rows)
    if not records:
        return 0
    sql = f"INSERT INTO {quote(name)} ({', '.join(map(quote, cols))}) VALUES ({', '.join('?' * len(cols))})"
    try:
        conn.executemany(sql, records)
    except sqlite3.IntegrityError as exc:
        raise TableError(f"Fila repetida según la clave de «{name}».", code="duplicate_key", table=name) from exc
    return len(records)


def upsert(conn: sqlite3.Connection, name: str, rows: pd.DataFrame) -> int:
    """Insert rows, or update the given columns of rows whose key already exists."""
    columns = _require(conn, name)
    key = table_key(conn, name)
    if not key:
        raise TableError(f"La tabla «{name}» no tiene clave; no se puede actualizar por clave.", code="no_key", table=name)
    missing = [k for k in key if k not in rows.columns]
    if missing:
        raise TableError(f"Faltan columnas de la clave de «{name}»: {', '.join(missing)}.", code="bad_key", table=name, columns=missing)
    cols, records = _records(columns, name, rows)
    if not records:
        return 0
    others = [c for c in cols if c not in key]
    action = "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in others) if others else "DO NOTHING"
    sql = (
        f"INSERT INTO {quote(name)} ({', '.join(map(quote, cols))}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT ({', '.join(map(quote, key))}) {action}"
    )
    conn.executemany(sql, records)
    return len(records)


def delete(conn: sqlite3.Connection, name: str, where: Mapping[str, object]) -> int:
    """Delete the rows matching ``where`` (equality on every given column); returns how many."""
    columns = _require(conn, name)
    if not where:
        raise TableError(f"Borrar de «{name}» exige una condición.", code="bad_filter", table=name)
    clause, params = _where(columns, name, where)
    return conn.execute(f"DELETE FROM {quote(name)}{clause}", params).rowcount


def refresh_counts(conn: sqlite3.Connection, names: Iterable[str]) -> None:
    """Write the current row count of each table into the registry's ``n``."""
    for name in names:
        (count,) = conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()
        conn.execute("UPDATE sit_capas SET n = ? WHERE nombre = ?", (count, name))
