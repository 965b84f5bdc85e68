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

Each kept document is also *published* (:class:`Publisher`): written once, under a name made
of its SHA-256, to a folder of this server process below :data:`PUBLISH_DIR` (``static/mapas/``,
which Streamlit's static serving hands out as ``text/html`` at ``/app/static/mapas/...``), and
the page gives its frame that address (:meth:`DocumentCache.frame`). The files of a store
version are withdrawn when a newer version is shown, and a process's files go with it. A rerun then sends the browser a short address instead of
the whole document (several MB at 10,000 territories), the browser fetches the document
over plain HTTP straight into its HTML parser (no websocket message, no protobuf string,
no ``srcdoc`` attribute), and an unchanged map is not reloaded at all. Where the folder
cannot be written (a read-only install), the document itself goes in a ``srcdoc`` frame,
as before.

The document holds Leaflet and its plugins, copied in from the app's own vendored files
(:func:`views.webassets.inline_assets`; their images load from root-relative URLs, resolved
against the app's own address), so it draws with no internet and with no request after its
own. The page makes the frame itself (:func:`mount`, shown with ``st.html``) rather than
through ``st.iframe``, whose frontend component is fetched only when the page first needs it.

Nothing here imports Streamlit: the cache is a plain, thread-safe LRU (Streamlit runs
each session's script in a thread of its own).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from views import _jinja, webassets
from views.webassets import STATIC_DIR, STATIC_URL_PATH, inline_assets

__all__ = ["MAX_ENTRIES", "MAX_BYTES", "MAX_FILES", "MAX_FILE_BYTES", "PUBLISH_DIR", "PRUNE_GRACE_S", "RETRY_S",
           "Publisher", "DocumentCache", "DOCUMENTS", "SELECTIONS", "render", "mount", "published_path",
           "own_address_js"]

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
#: Seconds a published file is kept whatever the bounds (a browser may still be about to fetch
#: it), unless the files take more than twice :data:`MAX_FILE_BYTES`.
PRUNE_GRACE_S = 300.0
#: Seconds documents go in ``srcdoc`` frames after a failed write, before publishing is tried again.
RETRY_S = 60.0
#: A shown file's modification time (its place in the pruning order) is refreshed at most this often.
TOUCH_S = 60.0
_RUN_FOLDER = re.compile(r"(\d+)-[0-9a-f]{8}")
#: Hexadecimal digits of a published file's name (the start of its SHA-256).
_NAME_DIGITS = 32
#: Folders of the publishers of this process (a sweep never removes another publisher's folder).
_OWN_FOLDERS: set[Path] = set()


def render(m) -> str:
    """The complete HTML document of a folium map, as a browser frame loads it.

    Parameters
    ----------
    m : folium.Map
        A finished map (layers, controls, :func:`views.webassets.localize_map` applied).

    Returns
    -------
    str
        ``<!DOCTYPE html>`` document holding the map's vendored scripts and stylesheets
        (:func:`views.webassets.inline_assets`: the map's ``default_js`` / ``default_css``
        after ``localize_map``), so it draws with no further request; other links stay links.

    Raises
    ------
    views.webassets.MapAssetsMissingError
        If a vendored file the map links is not installed.
    """
    return inline_assets(m.get_root().render())


def mount(src: str, height: int, title: str) -> str:
    """HTML that shows a published map document in a frame made by the page itself.

    For ``st.html(..., unsafe_allow_javascript=True)``: a ``div.sit-mapa`` of the given
    height carrying the address and the accessible name as attributes (escaped by the
    template ``views/templates/mapframe.html``), and a fixed script that makes the
    ``iframe``. ``st.iframe`` would draw the same frame, but only once Streamlit's lazily
    loaded frame component arrives, queued behind the page's other code (0.3–0.4 s on
    the shipped map page, ``bench/README.md``); ``st.html`` is already loaded by every
    page (:func:`pages._shared.page_setup`). The text is the same on every rerun of a
    view, so Streamlit keeps the element and the frame is not reloaded.

    Parameters
    ----------
    src : str
        Root-relative address of a published document (:meth:`DocumentCache.frame`);
        the script makes no frame for any other address.
    height : int
        Height of the frame, CSS pixels.
    title : str
        Accessible name of the frame (what a screen reader announces).

    Returns
    -------
    str
        The HTML fragment.
    """
    return _jinja.render("mapframe.html", src=src, height=int(height), title=title, own=own_address_js("html"))


def _url_folder() -> str:
    """The path part of every published address, ``/app/static/mapas/`` (read at call time)."""
    return f"/{STATIC_URL_PATH}/{PUBLISH_DIR.name}/"


def own_address_js(ext: str) -> _jinja.Markup:
    """A JavaScript function expression telling whether an address is a document this app published.

    The one test that the page's frame maker (:func:`mount`), the selection pointer
    (:func:`views.restyle.pointer`) and the frame's selection follower
    (:class:`views.restyle.SelectionFollower`) apply before they follow an address:
    root-relative, on the page's own origin, and a path of exactly the form
    :meth:`DocumentCache.frame` publishes,
    ``{base_url_path}/app/static/mapas/<pid>-<8 hex>/<32 hex>.<ext>`` (the server's path
    prefix, :func:`views.webassets.base_url_path`, read now). Template
    ``views/templates/own_address.js``.

    Parameters
    ----------
    ext : {"html", "json"}
        Extension of the documents to follow: map documents or selection documents.

    Returns
    -------
    markupsafe.Markup
        ``function (src) {...}``, returning a boolean; text for a script, not for HTML attributes.

    Raises
    ------
    ValueError
        For another extension.
    """
    if ext not in ("html", "json"):
        raise ValueError(f"extensión no prevista: {ext!r}")
    # re.escape writes only escapes that JavaScript's RegExp (without the u flag) reads the same way.
    folder = re.escape(webassets.base_url_path() + _url_folder())
    pattern = f"^{folder}{_RUN_FOLDER.pattern}/[0-9a-f]{{{_NAME_DIGITS}}}\\.{ext}$"
    module = _jinja.environment().get_template("own_address.js").module
    return module.own_address(pattern)


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
    marker = _url_folder()
    if not url.startswith(("/", "http")) or marker not in url:
        return None
    rest = url.split(marker, 1)[1].split("?", 1)[0]
    parts = rest.split("/")
    if len(parts) != 2 or not _RUN_FOLDER.fullmatch(parts[0]) or ".." in rest:
        return None
    return PUBLISH_DIR / parts[0] / parts[1]


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` other than this one runs on this machine."""
    if pid == os.getpid():
        return False  # a folder named after our pid but not ours: an earlier process that had it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Publisher:
    """The published map documents of one server process: written once, bounded, withdrawn.

    Files go to a folder of their own below ``root`` (``<pid>-<8 hex>``), so two servers
    sharing the project never prune each other's files. The folder is removed when the
    process exits, and the folders of processes that no longer run are removed when this
    one first publishes: a map of data that was since removed does not outlive its server.

    Parameters
    ----------
    root : pathlib.Path
        A folder Streamlit serves (below ``static/``).
    max_files, max_file_bytes : int
        Bounds of this process's files; the least recently shown go first, but never one
        younger than :data:`PRUNE_GRACE_S` unless the files take twice ``max_file_bytes``.
    suffix : str
        Ending of the file names (``.html`` for map documents, ``.json`` for the selection
        documents of :mod:`views.restyle`); each publisher has a folder of its own.
    """

    def __init__(self, root: Path, max_files: int = MAX_FILES, max_file_bytes: int = MAX_FILE_BYTES,
                 suffix: str = ".html") -> None:
        self.root = Path(root)
        self.suffix = str(suffix)
        self.max_files = int(max_files)
        self.max_file_bytes = int(max_file_bytes)
        self.folder = self.root / f"{os.getpid()}-{secrets.token_hex(4)}"
        _OWN_FOLDERS.add(self.folder)
        self._lock = threading.Lock()
        self._ready = False
        self._retry_at = 0.0
        self._touched: dict[str, float] = {}

    def writable(self) -> bool:
        """False for :data:`RETRY_S` after a failed write."""
        return time.monotonic() >= self._retry_at

    def failed(self, exc: OSError) -> None:
        """Note a failed write: documents go in ``srcdoc`` frames for a while."""
        log.warning("map documents go in srcdoc frames for %.0f s: %s cannot be written (%s)",
                    RETRY_S, self.folder, exc)
        self._retry_at = time.monotonic() + RETRY_S

    def url(self, name: str, base_url_path: str = "", rewrites: int = 0) -> str:
        """Root-relative address of a published file (``?r=n`` after ``n`` rewrites)."""
        tail = f"?r={rewrites}" if rewrites else ""
        return f"{base_url_path}/{STATIC_URL_PATH}/{self.root.name}/{self.folder.name}/{name}{tail}"

    def touch(self, name: str) -> bool:
        """Whether ``name`` is still published; its time is refreshed (at most every :data:`TOUCH_S`)."""
        path = self.folder / name
        now = time.monotonic()
        if now - self._touched.get(name, float("-inf")) < TOUCH_S:
            return path.is_file()
        try:
            os.utime(path)
        except OSError:
            return False
        self._touched[name] = now
        return True

    def publish(self, document: str) -> str:
        """Write ``document`` under its content name (once) and prune; its file name.

        Raises
        ------
        OSError
            When the folder or the file cannot be written.
        """
        data = document.encode("utf-8")
        name = hashlib.sha256(data).hexdigest()[:_NAME_DIGITS] + self.suffix
        target = self.folder / name
        with self._lock:
            if not self._ready:
                self.folder.mkdir(parents=True, exist_ok=True)
                atexit.register(shutil.rmtree, self.folder, True)
                self._sweep()
                self._ready = True
            try:
                os.utime(target)  # already published (the same map under another key)
            except FileNotFoundError:
                self._write(target, data)
            self._touched[name] = time.monotonic()
            try:
                self._prune(keep=name)
            except OSError as exc:  # the document is published; pruning waits for the next one
                log.warning("published map documents could not be pruned: %s", exc)
        return name

    def withdraw(self, names) -> None:
        """Remove published files (documents of data that changed)."""
        with self._lock:
            for name in names:
                (self.folder / name).unlink(missing_ok=True)
                self._touched.pop(name, None)

    def _write(self, target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # atomic: a browser never reads half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _sweep(self) -> None:
        """Remove the folders of processes that no longer run, and files of the older flat layout."""
        for path in self.root.iterdir():
            match = _RUN_FOLDER.fullmatch(path.name)
            if path.is_dir() and match and path not in _OWN_FOLDERS and not _alive(int(match.group(1))):
                shutil.rmtree(path, ignore_errors=True)
            elif path.is_file() and path.suffix == ".html":
                path.unlink(missing_ok=True)

    def _prune(self, keep: str) -> None:
        files = []
        for path in self.folder.glob(f"*{self.suffix}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((path.name == keep, stat.st_mtime, stat.st_size, path))
        files.sort()  # the file just published last, the others least recently shown first
        count, total, now = len(files), sum(f[2] for f in files), time.time()
        for is_kept, mtime, size, path in files:
            over = count > self.max_files or total > self.max_file_bytes
            if is_kept or not over or (now - mtime < PRUNE_GRACE_S and total <= 2 * self.max_file_bytes):
                break
            path.unlink(missing_ok=True)
            self._touched.pop(path.name, None)
            count, total = count - 1, total - size


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
        Where :meth:`frame` publishes documents (a :class:`Publisher` of this folder);
        ``None`` never publishes (documents go in ``srcdoc`` frames).
    max_files, max_file_bytes : int
        Bounds of the published files (:class:`Publisher`).
    suffix : str
        Ending of the published file names (:class:`Publisher`).
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 publish_dir: Path | None = PUBLISH_DIR, max_files: int = MAX_FILES,
                 max_file_bytes: int = MAX_FILE_BYTES, suffix: str = ".html") -> None:
        self.max_entries = int(max_entries)
        self.max_bytes = int(max_bytes)
        self.publisher = None if publish_dir is None else Publisher(publish_dir, max_files, max_file_bytes, suffix)
        self._names: dict[Hashable, tuple[str, int]] = {}  # key -> (published file name, rewrites)
        self._generations: dict[Hashable, Hashable] = {}  # key -> data generation it was built for
        self._generation: Hashable | None = None
        # published file name -> generation it shows (kept after its document left the memory,
        # so that a newer generation withdraws it all the same)
        self._published: dict[str, Hashable] = {}
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
                self._generations.pop(gone, None)
                self._bytes -= dropped

    def frame(self, key: Hashable, build: Callable[[], str], base_url_path: str = "",
              generation: Hashable | None = None) -> str:
        """What a page hands ``st.iframe`` for ``key``: the published document's address, or the document.

        The document (:meth:`get`) is written once by :attr:`publisher` (a :class:`Publisher`)
        and its root-relative address is returned. A rerun that finds the key and its file
        costs a dictionary look-up and a ``stat``. A file that went missing is written again
        under a new address (``?r=n``), so a frame that showed the old one reloads. When the
        folder cannot be written the document itself is returned, for a ``srcdoc`` frame.

        Parameters
        ----------
        key, build
            As for :meth:`get`.
        base_url_path : str
            Streamlit's ``server.baseUrlPath`` as ``/prefix`` or ``""``
            (:func:`views.webassets.base_url_path`).
        generation : hashable, optional
            The version of the data the document shows (the store version). The first call
            with a new generation withdraws every document of the others, kept and
            published: a map of data that was removed is no longer served.

        Returns
        -------
        str
            ``{base_url_path}/app/static/mapas/<run>/<sha256[:32]>.html`` (``?r=n`` after a
            rewrite), or the HTML document.
        """
        if generation is not None:
            self._retire(generation)
        document = self.get(key, build)
        if generation is not None:
            with self._lock:
                if key in self._entries:
                    self._generations[key] = generation
        publisher = self.publisher
        if publisher is None or not publisher.writable():
            return document
        with self._lock:
            name, rewrites = self._names.get(key, (None, 0))
        if name is not None and publisher.touch(name):
            return publisher.url(name, base_url_path, rewrites)
        try:
            fresh = publisher.publish(document)
        except OSError as exc:
            publisher.failed(exc)
            return document
        rewrites += name is not None
        with self._lock:
            if key in self._entries:
                self._names[key] = (fresh, rewrites)
            if generation is not None:
                self._published[fresh] = generation
                if len(self._published) > 2 * publisher.max_files:  # forget the files pruned meanwhile
                    self._published = {n: g for n, g in self._published.items() if (publisher.folder / n).is_file()}
        return publisher.url(fresh, base_url_path, rewrites)

    def shown(self, url: str) -> bool:
        """Whether ``url`` (from :meth:`frame`) is still published by this cache; its file's time is refreshed.

        A page that keeps showing an address it was given (:mod:`views.restyle`: the plan
        map keeps its document while later selections are drawn in it) asks this on each
        run instead of :meth:`frame`, so a document that left the memory bound is not
        built again under another address (folium names its elements at random).

        Parameters
        ----------
        url : str
            An address :meth:`frame` returned.

        Returns
        -------
        bool
            False for a document given in full (``srcdoc``), an address of another cache or
            process, or a file that was pruned or withdrawn.
        """
        publisher = self.publisher
        if publisher is None:
            return False
        path = published_path(url)
        if path is None or path.parent.name != publisher.folder.name or path.suffix != publisher.suffix:
            return False
        return publisher.touch(path.name)

    def retire(self, generation: Hashable) -> None:
        """Drop the documents of generations other than ``generation`` and unpublish their files.

        :meth:`frame` does it for its own generation; a page that did not call it on a run
        (see :meth:`shown`) calls this, so data that changed is not served a moment longer.

        Parameters
        ----------
        generation : hashable
            The current version of the data (the store version).
        """
        self._retire(generation)

    def _retire(self, generation: Hashable) -> None:
        """Drop the documents of generations other than ``generation`` and unpublish their files."""
        with self._lock:
            if self._generation == generation:
                return
            self._generation = generation
            old = [k for k, g in self._generations.items() if g != generation]
            names = {self._names[k][0] for k in old if k in self._names}
            names |= {n for n, g in self._published.items() if g != generation}
            for k in old:
                held = self._entries.pop(k, None)
                if held is not None:
                    self._bytes -= held[1]
                self._names.pop(k, None)
                self._generations.pop(k, None)
            names -= {n for n, _ in self._names.values()}  # still shown under a current key
            for n in names:
                self._published.pop(n, None)
        if self.publisher is not None:
            self.publisher.withdraw(names)

    def clear(self) -> None:
        """Forget every document (tests; a store change makes new keys anyway)."""
        with self._lock:
            self._entries.clear()
            self._names.clear()
            self._generations.clear()
            self._bytes = 0


#: The process-wide cache of the map pages (shared by every session).
DOCUMENTS = DocumentCache()
#: The selection documents a plan map already open draws in place (:mod:`views.restyle`): a
#: JSON text per (store version, layer, sites, selection, colouring), published as ``.json``.
SELECTIONS = DocumentCache(max_entries=4 * MAX_ENTRIES, max_bytes=MAX_BYTES // 4, max_files=MAX_FILES,
                           max_file_bytes=MAX_BYTES // 2, suffix=".json")
