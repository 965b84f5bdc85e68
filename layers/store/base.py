"""The store interface that every backend implements, its registry and its errors.

A *store* holds named layers (GeoDataFrames in EPSG:4326), attribute tables
(DataFrames) and editable tables, with one registry row of metadata per item.
In the spirit of pygeoapi's providers it is small: list, read, write in a
transaction, remove, a version for caches, and editable tables. The embedded
GeoPackage (:mod:`layers.store.gpkg`) is the default backend; a PostGIS one is
selected by ``SIT_DATABASE_URL`` (see :func:`layers.store.backend`).

Seeding the shipped layers from ``data/`` is not the store's business: it lives in
:mod:`layers.store.seed`, which only uses this interface.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd

from layers._errors import SitError

#: Table holding one row of metadata per layer.
REGISTRY = "sit_capas"
#: Key/value table: fingerprint of the shipped data the store was built from, version counter.
STATE = "sit_estado"
#: Registry columns, in order.
REGISTRY_COLUMNS = (
    "nombre", "titulo", "descripcion", "clase", "origen", "fuente", "archivo",
    "fecha", "crs_origen", "n", "geometria", "precision_m",
)
#: ``origen`` of shipped layers, of layers people import and of editable tables.
SHIPPED, IMPORTED, EDITABLE = "incluida", "importada", "editable"

#: A layer to write: its frame and its registry metadata.
LayerSpec = tuple[pd.DataFrame, Mapping[str, object]]


class StoreError(SitError):
    """The store cannot do what was asked (name taken, shipped layer, backend unavailable)."""

    default_code = "store_error"


class StoreDamagedError(StoreError):
    """The store's file or database is damaged: it fails its integrity check or cannot be read."""

    default_code = "store_damaged"


def now() -> str:
    """Local time with offset, ISO 8601 to the second (registry ``fecha``)."""
    return _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds")


def registry_row(name: str, frame: pd.DataFrame, meta: Mapping[str, object]) -> dict[str, object]:
    """Registry row of a layer: ``meta`` plus its name, count, geometry types and date."""
    row: dict[str, Any] = {col: meta.get(col) for col in REGISTRY_COLUMNS}
    row["nombre"] = name
    row["n"] = len(frame)
    if isinstance(frame, gpd.GeoDataFrame):
        types = sorted(set(frame.geometry.dropna().geom_type))
        row["geometria"] = ", ".join(types) if types else "sin geometría"
    else:
        row["geometria"] = "tabla"
    row["fecha"] = meta.get("fecha") or now()
    for col in REGISTRY_COLUMNS:
        if row[col] is not None and col != "n":
            row[col] = str(row[col])
    return row


@runtime_checkable
class Transaction(Protocol):
    """Writes to editable tables that commit together (see :meth:`Store.transaction`)."""

    def insert(self, name: str, rows: pd.DataFrame) -> int: ...
    def upsert(self, name: str, rows: pd.DataFrame) -> int: ...
    def delete(self, name: str, where: Mapping[str, object]) -> int: ...
    def read(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame: ...


@runtime_checkable
class Store(Protocol):
    """What a backend of the store provides. Every write is one transaction: all or nothing."""

    #: Where the store lives (a file path or a database URL without password), for messages.
    location: str

    def exists(self) -> bool:
        """Whether the store has been created (a rebuild from ``data/`` creates it)."""

    def check(self) -> None:
        """Integrity check; raises :class:`StoreDamagedError`. Cheap when nothing changed."""

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Hold off other writers (re-entrant in one thread) while a caller prepares a write."""

    def state(self) -> dict[str, str]:
        """The key/value state (``huella`` of the shipped data, ``version``...)."""

    def list_layers(self) -> pd.DataFrame:
        """Registry, one row per layer or table, columns :data:`REGISTRY_COLUMNS`."""

    def read_layer(
        self, name: str, columns: Sequence[str] | None = None, bbox: tuple[float, float, float, float] | None = None, **kwargs: Any
    ) -> pd.DataFrame:
        """One layer (GeoDataFrame, EPSG:4326) or table; ``bbox`` is (xmin, ymin, xmax, ymax) in EPSG:4326."""

    def write_layers(
        self, put: Mapping[str, LayerSpec], drop: Sequence[str] = (), state: Mapping[str, str] | None = None
    ) -> None:
        """Write and drop layers and update the state in one transaction."""

    def version(self) -> int:
        """A number that changes on every committed write."""

    def define_table(self, name: str, columns: Mapping[str, str], key: Sequence[str] | None = None) -> None:
        """Create an editable table or add the columns it lacks."""

    def read_table(self, name: str, where: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Rows of an editable table."""

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """All-or-nothing writes to editable tables."""


def iter_names(frame: pd.DataFrame, origin: str) -> Iterator[str]:
    """Names of the registry rows of one ``origen``."""
    yield from frame.loc[frame["origen"] == origin, "nombre"].astype(str)
