"""The server's code is moved out of the way of Python's garbage collector, once per process.

Streamlit (1.67, option ``runner.postScriptGC``, on by default) runs a full collection
(``gc.collect(2)``) after every script run, so that the objects a run leaves in
reference cycles are freed at once. A full collection walks every object the collector
tracks. In the server that is mostly code: the modules, functions, classes and their
dictionaries of pandas, geopandas, Streamlit, folium and the app, about 126,000 of
the 166,000 objects tracked after a visit of the 100× municipality of
``bench/synthetic.py``. Walking them took 70 to 75 ms after every run of every visitor,
the largest part of a sector page's server time (``bench/README.md``).

:func:`freeze_code` imports the modules the pages use, collects what is garbage, and
moves every object alive at that moment into the collector's permanent generation
(:func:`gc.freeze`, which full collections skip). :mod:`views.launch` calls it before
Streamlit starts (``make run``), when the process holds only code and what lives as long
as the process. Objects created later (Streamlit's server, the layers read into the
caches, each visitor's session) are collected as before: the collection after a run of
any page then takes 2 to 3 ms.

Why not from ``app.py``: its first run is a visitor's session, and a freeze there would
hold that session's objects, which sit in reference cycles, for as long as the process
lives, and with them whatever the session keeps (measured with the shipped data: about
4,400 objects and the data frames they reach, where a freeze before any session leaves
about 60). A server started with plain ``streamlit run app.py`` is therefore not frozen;
``app.py`` logs that once (:func:`warn_if_not_frozen`).

A frozen object that later falls into an unreachable reference cycle is never freed;
objects freed by their reference count (almost all) are freed as usual. What is frozen
here lives as long as the server, so nothing measurable is kept (the memory figures of
``make bench``). A module first imported after the freeze is not frozen: every module
the pages import is listed (:func:`code_modules`), and ``tests/views/test_heap.py``
fails when a public page brings in much code that is not.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import pkgutil
import threading

__all__ = ["LIBRARIES", "ON_DEMAND", "PAGE_HELPERS", "PROJECT_PACKAGES", "code_modules", "freeze_code", "frozen",
           "warn_if_not_frozen"]

log = logging.getLogger(__name__)

#: Libraries whose code the pages run, imported before the freeze so that their code is frozen
#: too. Some are imported by a page only when it first needs them: the charts of /plan and
#: /seguimiento (altair, narwhals, jsonschema), spreadsheets (openpyxl), images (PIL).
#: ``tests/views/test_heap.py`` fails when a public page brings in much code left out of the freeze.
#: ``streamlit_folium`` (the planners' drawing map) is left to its first use: importing it declares a
#: component, which reads Streamlit's configuration before the command line has set it.
LIBRARIES = (
    "numpy", "pandas", "pyarrow", "shapely", "pyproj", "pyogrio", "geopandas", "jinja2", "branca", "folium",
    "streamlit", "streamlit.emojis", "altair", "narwhals", "narwhals._pandas_like.namespace",
    "narwhals._interchange.dataframe", "narwhals.stable.v1._namespace", "jsonschema", "openpyxl",
    "openpyxl.packaging.extended", "PIL.Image", "xml.etree.ElementTree", "pandas.io.formats.csvs",
    "pandas.core.methods.to_dict", "pandas.core.reshape.reshape", "encodings.utf_8_sig",
)
#: The project's packages: every module in them is imported before the freeze, except
#: :data:`ON_DEMAND` (the PostGIS store is imported by the store when the server uses it).
PROJECT_PACKAGES = ("geo", "layers", "views")
#: The pages' helper modules (the pages themselves are scripts Streamlit runs, not modules).
PAGE_HELPERS = ("pages._shared", "pages._access", "pages._import_ui")
ON_DEMAND = ("layers.store.postgis",)


def code_modules() -> tuple[str, ...]:
    """Dotted names of the modules :func:`freeze_code` imports by default.

    Returns
    -------
    tuple of str
        :data:`LIBRARIES`, then every module of :data:`PROJECT_PACKAGES` (found with
        :func:`pkgutil.walk_packages`, without importing them) but :data:`ON_DEMAND`,
        then :data:`PAGE_HELPERS`.
    """
    names = list(LIBRARIES)
    for package in PROJECT_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        names.append(package)
        for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=package + ".",
                                          onerror=lambda name: None):
            if info.name not in ON_DEMAND and not info.name.rsplit(".", 1)[-1].startswith("__"):
                names.append(info.name)
    return tuple(names) + PAGE_HELPERS

_LOCK = threading.Lock()
_DONE = threading.Event()
_WARNED = False


def freeze_code(modules: tuple[str, ...] | None = None, force: bool = False) -> int:
    """Import ``modules``, collect garbage, and freeze every object the collector tracks (once per process).

    Meant to be called by :mod:`views.launch` before Streamlit starts, when no visitor's
    session exists yet. Later calls return 0 at once unless ``force``.

    Parameters
    ----------
    modules : tuple of str
        Dotted names of modules to import first; by default :func:`code_modules`. One that cannot
        be imported is logged and left out; the freeze still happens.
    force : bool
        Freeze again what was created since an earlier call.

    Returns
    -------
    int
        Objects in the permanent generation after the call (:func:`gc.get_freeze_count`),
        0 when an earlier call already froze.
    """
    with _LOCK:
        if _DONE.is_set() and not force:
            return 0
        _DONE.set()
        skipped = []
        # Imported before Streamlit runs, the pages' modules make it warn, once per cached function,
        # that no server runs yet (their caches are made on first use): quiet while importing.
        quiet = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            for name in code_modules() if modules is None else modules:
                try:
                    importlib.import_module(name)
                except Exception as exc:  # an optional dependency: only left out of the freeze
                    skipped.append((name, exc))
        finally:
            logging.disable(quiet)
        for name, exc in skipped:
            log.warning("no se congeló el módulo %s: %s", name, exc)
        gc.collect()  # what is garbage now is freed, not frozen
        gc.freeze()
        frozen = gc.get_freeze_count()
        log.info("objetos del código fuera de las recolecciones completas: %d", frozen)
        return frozen


def frozen() -> bool:
    """Whether :func:`freeze_code` has run in this process."""
    return _DONE.is_set()


def warn_if_not_frozen() -> bool:
    """Log once per process, in Spanish, that the server was started without the freeze.

    ``app.py`` calls it on every run. The freeze is not done here: done inside a visitor's
    script run, it would keep that visitor's session in memory for as long as the process
    lives (its objects are in reference cycles that only a full collection frees).

    Returns
    -------
    bool
        Whether the code is frozen (:func:`frozen`).
    """
    global _WARNED
    if _DONE.is_set():
        return True
    with _LOCK:
        if not _WARNED:
            _WARNED = True
            log.warning("SIT Vallenar: servidor iniciado sin «python -m views.launch run app.py» (lo que hace "
                        "«make run»): cada visita tarda más en el servidor, unos 70 ms con 10.000 territorios.")
    return False
