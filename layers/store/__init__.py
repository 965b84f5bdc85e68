"""The store of layers and tables: the one place that opens the database.

The embedded GeoPackage (:mod:`layers.store.gpkg`) is the default backend;
:mod:`layers.store.seed` builds the shipped layers from ``data/``.

Editable tables (:func:`define_table`, :func:`read_table`, :func:`transaction`)
hold what people record (monitoring, history); a rebuild from ``data/`` never
touches them. :func:`version` changes on every committed write.
"""

from layers.store.gpkg import (
    IMPORTED,
    REGISTRY,
    REGISTRY_COLUMNS,
    SHIPPED,
    STATE,
    STORE_SCHEMA,
    StoreError,
    Transaction,
    define_table,
    ensure_store,
    layer_info,
    list_layers,
    read_layer,
    read_table,
    remove_layer,
    save_layer,
    store_version,
    transaction,
    version,
)
from layers.store.tables import EDITABLE, TableError

__all__ = [
    "EDITABLE", "IMPORTED", "REGISTRY", "REGISTRY_COLUMNS", "SHIPPED", "STATE", "STORE_SCHEMA", "StoreError",
    "TableError", "Transaction", "define_table", "ensure_store", "layer_info", "list_layers", "read_layer",
    "read_table", "remove_layer", "save_layer", "store_version", "transaction", "version",
]
