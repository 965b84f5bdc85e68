"""The store of layers and tables: the one place that opens the database.

The embedded GeoPackage (:mod:`layers.store.gpkg`) is the default backend;
:mod:`layers.store.seed` builds the shipped layers from ``data/``.
"""

from layers.store.gpkg import (
    IMPORTED,
    REGISTRY,
    REGISTRY_COLUMNS,
    SHIPPED,
    STATE,
    STORE_SCHEMA,
    StoreError,
    ensure_store,
    layer_info,
    list_layers,
    read_layer,
    remove_layer,
    save_layer,
    store_version,
)

__all__ = [
    "IMPORTED", "REGISTRY", "REGISTRY_COLUMNS", "SHIPPED", "STATE", "STORE_SCHEMA", "StoreError",
    "ensure_store", "layer_info", "list_layers", "read_layer", "remove_layer", "save_layer", "store_version",
]
