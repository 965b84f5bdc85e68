"""What pygeoapi does not do by itself: follow the store while running, refuse unknown parameters.

pygeoapi reads its resources once, when its Flask application is imported
(``pygeoapi.flask_app``), and keeps them in ``api.config["resources"]``; every
request looks them up there and loads the provider anew. With the one process of
``cli.py ogcapi`` (threads, no workers), replacing that mapping is enough for a
layer imported, replaced or removed while the server runs to appear, change or go
at the next request; pygeoapi's maintainers describe this in-place update for a
single process in geopython/pygeoapi#1636. :class:`LiveCollections` does it when
the store's version changes and the registry rows of the served layers differ.

OGC API – Features Part 1 (requirement ``/req/core/query-param-unknown``) wants
a 400 for a query parameter the server does not know; pygeoapi 0.21 drops them
silently. :func:`unknown_parameters` lists them for an items request: neither a
parameter of the standard that pygeoapi understands nor a property of the layer
(property filters such as ``?tipo=Proyecto`` keep working).
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from layers import store
from ogcapi.config import collections, resource

log = logging.getLogger(__name__)

__all__ = ["ITEMS_PARAMETERS", "LiveCollections", "OffsetNoiseFilter", "unknown_parameters"]

#: Query parameters of ``/collections/{id}/items`` that this server answers: pygeoapi 0.21's
#: ``reserved_fieldnames`` less those our provider does not implement (``q`` free text and the CQL2
#: ``filter`` family of Part 3, which the conformance does not declare): those are refused, not
#: silently ignored with every feature returned.
ITEMS_PARAMETERS = frozenset({
    "bbox", "bbox-crs", "crs", "f", "lang", "limit", "offset", "resulttype", "datetime", "sortby",
    "properties", "skipGeometry",
})
#: Path of an items request (``/collections/{id}/items``), with or without a trailing slash.
_ITEMS_PATH = re.compile(r"^/collections/(?P<name>[^/]+)/items/?$")


def _signature(row: Mapping[str, Any]) -> tuple:
    """What of a registry row a collection shows: a change rebuilds the collection."""
    return tuple(str(row.get(key)) for key in ("titulo", "descripcion", "clase", "origen", "fuente", "fecha", "n"))


class LiveCollections:
    """Keeps pygeoapi's resources equal to the served layers of the store.

    Parameters
    ----------
    api : pygeoapi.api.API
        The running API object (``pygeoapi.flask_app.api_``); its ``config`` is the
        configuration that :func:`ogcapi.config.build_config` wrote.
    """

    def __init__(self, api: Any) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._version = store.version()
        self._signatures = {row["nombre"]: _signature(row) for row in collections()}

    def refresh(self) -> bool:
        """Bring the resources up to date when the store changed; returns whether they changed.

        One small read of the store's version per call; the registry is read only
        after a write, and only new or changed layers are read again.
        """
        if store.version() == self._version:
            return False
        with self._lock:
            version = store.version()
            if version == self._version:
                return False
            started = time.perf_counter()
            rows = collections()
            wanted = {row["nombre"]: _signature(row) for row in rows}
            if wanted == self._signatures:
                self._version = version
                return False
            current = self.api.config["resources"]
            fresh = {row["nombre"]: current[row["nombre"]]
                     if self._signatures.get(row["nombre"]) == wanted[row["nombre"]] and row["nombre"] in current
                     else resource(row) for row in rows}
            # Whole mappings are replaced, never edited: a request in flight keeps the one it started with.
            self.api.config["resources"] = fresh
            self.api.tpl_config["resources"] = copy.deepcopy(fresh)
            self._signatures, self._version = wanted, version
        log.info("collections updated in %.2f s: %s", time.perf_counter() - started, ", ".join(fresh))
        return True


def unknown_parameters(path: str, parameters: Iterable[str], served: Mapping[str, Any]) -> list[str]:
    """Query parameters of an items request that are neither the standard's nor the layer's properties.

    Parameters
    ----------
    path : str
        Request path (``/collections/iniciativas/items``); other paths have none.
    parameters : iterable of str
        Names of the query parameters.
    served : mapping
        pygeoapi's resources (collection name -> definition).

    Returns
    -------
    list of str
        The unknown names, in request order; empty for an unknown collection (pygeoapi answers 404).
    """
    match = _ITEMS_PATH.match(path)
    if match is None or match["name"] not in served:
        return []
    from ogcapi.provider import layer_frame

    frame = layer_frame(match["name"])
    known = ITEMS_PARAMETERS | {str(c) for c in frame.columns if c != frame.geometry.name}
    return [name for name in dict.fromkeys(parameters) if name not in known]


class OffsetNoiseFilter(logging.Filter):
    """Drop pygeoapi 0.21's warning for an items request without ``offset``.

    ``get_collection_items`` parses ``int(None)`` and logs the resulting ``TypeError``
    (``int() argument must be … not 'NoneType'``) before using offset 0: not a fault.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, TypeError) and "NoneType" in str(record.msg))
