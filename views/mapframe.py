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

Each kept document is also *published*: written once, under a name made of its SHA-256,
to :data:`PUBLISH_DIR` (``static/mapas/``, which Streamlit's static serving hands out as
``text/html`` at ``/app/static/mapas/...``), and the page gives its frame that address
(:meth:`DocumentCache.frame`). A rerun then sends the browser a short address instead of
the whole document (several MB at 10,000 territories), the browser fetches the document
over plain HTTP straight into its HTML parser (no websocket message, no protobuf string,
no ``srcdoc`` attribute), and an unchanged map is not reloaded at all. Where the folder
cannot be written (a read-only install), the document itself goes in a ``srcdoc`` frame,
as before.

The document loads Leaflet and its plugins from the app itself (root-relative URLs of
:mod:`views.webassets`, resolved against the app's own address), so it draws with no
internet.

Nothing here imports Streamlit: the cache is a plain, thread-safe LRU (Streamlit runs
each session's script in a thread of its own).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from views.webassets import STATIC_DIR, STATIC_URL_PATH

__all__ = ["MAX_ENTRIES", "MAX_BYTES", "MAX_FILES", "MAX_FILE_BYTES", "PUBLISH_DIR", "DocumentCache", "DOCUMENTS", "render",
           "published_path"]

log = logging.getLogger(__name__)

#: Documents kept by :data:`DOCUMENTS` (distinct map views: selections, colourings, layers).
MAX_ENTRIES = 48
#: Memory the kept documents may take together (bytes of Python ``str``); the least
#: recently used go first. A shipped-data map is about 0.2 MB; one of 10,000 territories
#: and 20,000 sites a few MB.
MAX_BYTES = 128 * 2**20
#: Folder of the published documents, below the folder Streamlit serves (``static/``).
PUBLISH_DIR: Path = STATIC_DIR / "mapas"
#: Published files kept on disk; the oldest go first (a frame still showing one that went
#: is reloaded by the page's next run, which publishes its document again).
MAX_FILES = 4 * MAX_ENTRIES
#: Disk the published files may take together (bytes); the oldest go first.
MAX_FILE_BYTES = 2 * MAX_BYTES


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


def published_path(url: str) -> Path | None:
    """The file behind an address returned by :meth:`DocumentCache.frame` (``None`` for a document).

    Parameters
    ----------
    url : str
        What :meth:`DocumentCache.frame` returned.

    Returns
    -------
    pathlib.Path or None
        The file in :data:`PUBLISH_DIR` when ``url`` is a published address.
    """
    marker = f"/{STATIC_URL_PATH}/{PUBLISH_DIR.name}/"
    if not url.startswith(("/", "http")) or marker not in url:
        return None
    return PUBLISH_DIR / url.rsplit("/", 1)[1]


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
    publish_dir : pathlib.Path or None
        Where :meth:`frame` publishes documents; ``None`` never publishes (documents go in
        ``srcdoc`` frames).
    max_files : int
        Most published files kept in ``publish_dir``.
    max_file_bytes : int
        Most bytes the published files may take together.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 publish_dir: Path | None = PUBLISH_DIR, max_files: int = MAX_FILES,
                 max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self.publish_dir = publish_dir
        self.max_files = int(max_files)
        self.max_file_bytes = int(max_file_bytes)
        self._names: dict[Hashable, str] = {}  # key -> published file name
        self._unwritable = False
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
            self._names.pop(key, None)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                gone, (_, dropped) = self._entries.popitem(last=False)
                self._names.pop(gone, None)
                self._bytes -= dropped

    def frame(self, key: Hashable, build: Callable[[], str], base_url_path: str = "") -> str:
        """What a page hands ``st.iframe`` for ``key``: the published document's address, or the document.

        The document (:meth:`get`) is written once to :attr:`publish_dir` under the first
        32 hex digits of its SHA-256 (an atomic rename, so a browser never reads half a
        file; the same document under two keys is one file) and its root-relative address
        is returned. A rerun that finds the key and its file costs a dictionary look-up and
        a ``stat``. When the folder cannot be written the document itself is returned,
        for a ``srcdoc`` frame.

        Parameters
        ----------
        key, build
            As for :meth:`get`.
        base_url_path : str
            Streamlit's ``server.baseUrlPath`` as ``/prefix`` or ``""``
            (:func:`views.webassets.base_url_path`).

        Returns
        -------
        str
            ``{base_url_path}/app/static/mapas/<sha256[:32]>.html``, or the HTML document.
        """
        document = self.get(key, build)
        if self.publish_dir is None or self._unwritable:
            return document
        with self._lock:
            name = self._names.get(key)
        if name is None or not (self.publish_dir / name).is_file():
            try:
                name = self._publish(document)
            except OSError as exc:
                log.warning("map documents go in srcdoc frames: %s cannot be written (%s)", self.publish_dir, exc)
                self._unwritable = True
                return document
            with self._lock:
                if key in self._entries:
                    self._names[key] = name
        return f"{base_url_path}/{STATIC_URL_PATH}/{self.publish_dir.name}/{name}"

    def _publish(self, document: str) -> str:
        """Write ``document`` under its content name (once) and prune old files; its file name."""
        data = document.encode("utf-8")
        name = hashlib.sha256(data).hexdigest()[:32] + ".html"
        folder = self.publish_dir
        target = folder / name
        if target.is_file():
            os.utime(target)  # recently used: the last to be pruned
            return name
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune(keep=name)
        return name

    def _prune(self, keep: str) -> None:
        """Remove the least recently published files beyond :attr:`max_files` and :attr:`max_file_bytes`."""
        files = []
        for path in self.publish_dir.glob("*.html"):
            try:
                stat = path.stat()
            except OSError:  # removed meanwhile (another process pruning)
                continue
            files.append((path.name == keep, stat.st_mtime, stat.st_size, path))
        files.sort()  # the file just published last, the others oldest first
        count, total = len(files), sum(f[2] for f in files)
        for is_kept, _, size, path in files:
            if is_kept or (count <= self.max_files and total <= self.max_file_bytes):
                break
            path.unlink(missing_ok=True)
            count, total = count - 1, total - size

    def clear(self) -> None:
        """Forget every document (tests; a store change makes new keys anyway)."""
        with self._lock:
            self._entries.clear()
            self._names.clear()
            self._bytes = 0


#: The process-wide cache of the map pages (shared by every session).
DOCUMENTS = DocumentCache()
