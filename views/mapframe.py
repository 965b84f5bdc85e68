"""A map's HTML document, rendered once and shared by every visitor and every rerun.

A folium map is a tree of Python objects that is turned into one HTML document
(Leaflet, the layers' JSON, the scripts) by :func:`render`. Handing a folium object to
``streamlit_folium.st_folium`` re-renders that document on every rerun of the page,
and keeping the object in the session state holds one whole map per visitor until the
session expires. The map pages instead ask :data:`DOCUMENTS` for the document of what
they show (store version, layer, selection, colouring, view...), build the map only on
a miss, and display the text in a frame of their own; a rerun with nothing changed then
costs a dictionary look-up, and the memory held is bounded for the whole process, not
per visitor.

The document loads Leaflet and its plugins from the app itself (root-relative URLs of
:mod:`views.webassets`, resolved against the app's own address by a ``srcdoc`` frame),
so it draws with no internet.

Nothing here imports Streamlit: the cache is a plain, thread-safe LRU (Streamlit runs
each session's script in a thread of its own).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["MAX_ENTRIES", "MAX_BYTES", "DocumentCache", "DOCUMENTS", "render"]

log = logging.getLogger(__name__)

#: Documents kept by :data:`DOCUMENTS` (distinct map views: selections, colourings, layers).
MAX_ENTRIES = 48
#: Memory the kept documents may take together (bytes of Python ``str``); the least
#: recently used go first. A shipped-data map is about 0.2 MB; one of 10,000 territories
#: and 20,000 sites a few MB.
MAX_BYTES = 128 * 2**20


def render(m) -> str:
    """The complete HTML document of a folium map, as a browser frame loads it.

    Parameters
    ----------
    m : folium.Map
        A finished map (layers, controls, :func:`views.webassets.localize_map` applied).

    Returns
    -------
    str
        ``<!DOCTYPE html>`` document whose scripts and stylesheets are the map's
        ``default_js`` / ``default_css`` links (local URLs after ``localize_map``).
    """
    return m.get_root().render()


class DocumentCache:
    """Bounded, thread-safe LRU of rendered documents, with one build per key at a time.

    Visitors who ask for the same missing key at once wait for the one build and share
    its result (no duplicated work when several people open the same link).

    Parameters
    ----------
    max_entries : int
        Most documents kept.
    max_bytes : int
        Most memory (``sys.getsizeof`` of the strings) kept; a single document larger
        than this is returned but not kept.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[str, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.builds = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Memory taken by the kept documents (bytes)."""
        return self._bytes

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def _hit(self, key: Hashable) -> str | None:
        held = self._entries.get(key)
        if held is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return held[0]

    def get(self, key: Hashable, build: Callable[[], str]) -> str:
        """The document of ``key``; ``build()`` makes it when it is not kept.

        Parameters
        ----------
        key : hashable
            Everything the document depends on (plain values: strings, numbers, tuples).
        build : callable
            Returns the document (``str``); called at most once at a time per key.
            Its exceptions reach the caller and nothing is kept.

        Returns
        -------
        str
        """
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._hit(key)
                if found is not None:
                    return found
            started = time.perf_counter()
            try:
                document = build()
            finally:
                with self._lock:
                    self._building.pop(key, None)
            self._keep(key, document)
            log.info("map document built in %.3f s (%d kB)", time.perf_counter() - started, len(document) // 1024)
            return document

    def _keep(self, key: Hashable, document: str) -> None:
        size = sys.getsizeof(document)
        with self._lock:
            self.builds += 1
            if size > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (document, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        """Forget every document (tests; a store change makes new keys anyway)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


#: The process-wide cache of the map pages (shared by every session).
DOCUMENTS = DocumentCache()
