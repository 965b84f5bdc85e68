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
(:func:`gc.freeze`, which full collections skip). It runs before any page has read
data, so what it freezes is the code and Streamlit's own state, which live as long as
the process. Objects created later (the layers read into the caches, each visitor's
session) are collected as before: the collection after a run then takes about 3 ms.

A frozen object that later falls into an unreachable reference cycle is never freed;
objects freed by their reference count (almost all) are freed as usual. What is frozen
here lives as long as the server, so nothing measurable is kept (the memory figures of
``make bench``).
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading

__all__ = ["CODE_MODULES", "freeze_code"]

log = logging.getLogger(__name__)

#: Modules the pages import (directly or through the app's packages): imported before the
#: freeze so that their code is frozen too. A module missing here is only left out of it.
CODE_MODULES = (
    "numpy", "pandas", "pyarrow", "shapely", "pyproj", "pyogrio", "geopandas", "jinja2", "branca", "folium",
    "streamlit", "pages._shared", "pages._access", "layers.sector", "layers.query", "layers.territory_layers",
    "layers.initiatives", "layers.census", "views.mapframe", "views.mapview", "views.sectorview", "views.report",
    "views.legend", "views.maplocale", "views.webassets",
)

_LOCK = threading.Lock()
_DONE = threading.Event()


def freeze_code(modules: tuple[str, ...] = CODE_MODULES, force: bool = False) -> int:
    """Import ``modules``, collect garbage, and freeze every object the collector tracks (once per process).

    Meant to be called by ``app.py`` at the top of its script, before any page reads
    data. Later calls return 0 at once unless ``force``.

    Parameters
    ----------
    modules : tuple of str
        Dotted names of modules to import first (:data:`CODE_MODULES`). One that cannot
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
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # an optional dependency: only left out of the freeze
                log.warning("no se congeló el módulo %s: %s", name, exc)
        gc.collect()  # what is garbage now is freed, not frozen
        gc.freeze()
        frozen = gc.get_freeze_count()
        log.info("objetos del código fuera de las recolecciones completas: %d", frozen)
        return frozen
