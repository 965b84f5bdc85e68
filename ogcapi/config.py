"""The pygeoapi configuration of the store: one read-only collection per layer with geometry.

Titles and descriptions come from the layer registry (:func:`layers.store.list_layers`),
so an imported layer (census blocks, cadastre, roads…) becomes a collection with the
title it was imported with. Attribute tables and editable tables are not collections:
the initiatives' collection carries the monitoring fields.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from layers import store

__all__ = ["PROVIDER", "build_config", "collections", "resource"]

#: Dotted name of the provider class, loaded by pygeoapi.
PROVIDER = "ogcapi.provider.StoreProvider"
#: Features per page unless the client asks (``limit``), and the most a page may hold.
DEFAULT_ITEMS, MAX_ITEMS = 100, 10_000


def collections() -> list[dict[str, Any]]:
    """Registry rows of the layers served (geometry layers: shipped and imported), in registry order."""
    registry = store.list_layers()
    served = registry[(registry["geometria"] != "tabla") & (registry["origen"] != store.EDITABLE)]
    return [{k: None if not isinstance(v, str) and pd.isna(v) else v for k, v in row.items()}  # NaN: missing
            for row in served.to_dict("records")]


def resource(row: dict[str, Any]) -> dict[str, Any]:
    """pygeoapi resource (collection) of one registry row: title, description, extent, provider."""
    from ogcapi.provider import layer_frame

    frame = layer_frame(row["nombre"])
    bounds = frame.geometry.dropna().total_bounds if frame.geometry.notna().any() else None
    bbox = [float(v) for v in bounds] if bounds is not None else [-71.6, -29.0, -70.2, -28.2]
    keywords = [k for k in (row.get("clase"), row.get("origen"), "Vallenar") if k]
    description = row.get("descripcion") or row.get("titulo") or row["nombre"]
    if row.get("fuente"):
        description = f"{description} Fuente: {row['fuente']}."
    return {
        "type": "collection",
        "title": row.get("titulo") or row["nombre"],
        "description": description,
        "keywords": keywords,
        "extents": {"spatial": {"bbox": bbox, "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
        "providers": [{"type": "feature", "name": PROVIDER, "data": row["nombre"], "id_field": "fid", "editable": False}],
    }


def build_config(host: str, port: int) -> dict[str, Any]:
    """The pygeoapi configuration for a server at ``http://host:port``.

    Parameters
    ----------
    host : str
        Address to listen on and to write in the links (``127.0.0.1`` by default in the
        command line: only this computer).
    port : int
        TCP port.
    """
    url = f"http://{host}:{port}"
    return {
        "server": {
            "bind": {"host": host, "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["es", "en-US"],
            "pretty_print": False,
            "limits": {"default_items": DEFAULT_ITEMS, "max_items": MAX_ITEMS},
            "map": {"url": "", "attribution": ""},
            "admin": False,
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "SIT Vallenar",
                "description": "Capas del Sistema de Información Territorial de Vallenar: territorios, iniciativas "
                               "del PLADECO con su seguimiento y capas de referencia importadas.",
                "keywords": ["Vallenar", "PLADECO", "SIT"],
                "keywords_type": "theme",
                "terms_of_service": "",
                "url": url,
            },
            "license": {"name": "Datos de la Municipalidad de Vallenar; ver data/README.md", "url": url},
            "provider": {"name": "Municipalidad de Vallenar", "url": url},
            "contact": {"name": "SECPLAN, Municipalidad de Vallenar", "url": url},
        },
        "resources": {row["nombre"]: resource(row) for row in collections()},
    }
