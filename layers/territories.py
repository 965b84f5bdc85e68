"""The territories of the commune: urban sectors, rural localities and the rural remainder.

The shipped layer ``data/territorios/territorios.geojson`` is REFERENTIAL: the project
drew it from reviewable inputs beside it (``semillas.csv``, one seed point per
territory, and ``area_urbana_referencial.csv``, a hand-drawn urban area) with
:func:`build_territories`, run once by ``scripts/build_territories.py``. It is meant
to be replaced by an official layer (unidades vecinales, límite urbano) by import.

Rules of the layer (checked by :func:`validate_territories`):

- every territory is one of :data:`TIPOS_TERRITORIO`;
- urban sectors and rural localities are single polygons; the rural remainder
  (``resto-rural``) may have several parts;
- territories lie inside the commune, never overlap, and together cover it.

Fields (:data:`FIELDS`):

``slug``
    Unique ASCII kebab-case identifier (``domeyko``, ``hermanos-carrera``).
``nombre``
    Name for people.
``tipo``
    ``sector urbano``, ``localidad rural`` or ``resto rural``.
``fuente``
    Provenance of the feature, including where its seed coordinate comes from.
``fuente_geometria``
    How the polygon was made.
``precision_m``
    Honest uncertainty of the boundary, in metres.
``area_km2``
    Area in km², measured in WGS 84 / UTM 19S (EPSG:32719).
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import partition
from geo.crs import UTM19S, WGS84, area_km2, to_wgs84
from layers import settings
from layers._errors import DataValidationError

log = logging.getLogger(__name__)

#: The kinds of territory, from the most to the least specific.
TIPOS_TERRITORIO = ("sector urbano", "localidad rural", "resto rural")
#: Fields of the layer, in order (plus ``geometry``).
FIELDS = ("slug", "nombre", "tipo", "fuente", "fuente_geometria", "precision_m", "area_km2")
#: Optional fields, kept after :data:`FIELDS` when a layer has them: the INE code of a census
#: zone and its 2017 population (persons), total and by age group (see :mod:`layers.census`).
EXTRA_FIELDS = ("geocodigo", "poblacion", "poblacion_0_5", "poblacion_6_14", "poblacion_15_64", "poblacion_65_mas")

#: Folder of the shipped layer and its inputs.
SOURCE_DIR: Path = settings.SHIPPED_DATA_DIR / "territorios"
#: The shipped layer.
TERRITORIES_PATH: Path = SOURCE_DIR / "territorios.geojson"
#: Input file names inside the source folder.
SEEDS_FILE = "semillas.csv"
URBAN_AREA_FILE = "area_urbana_referencial.csv"
SEED_FIELDS = ("slug", "nombre", "tipo", "lat", "lon", "radio_m", "precision_m", "fuente_coordenada")

#: Slug and name of the rural remainder.
RESTO_SLUG = "resto-rural"
RESTO_NOMBRE = "Resto rural de la comuna"

#: Grid (degrees) the built coordinates are snapped to: the 6 decimals of the GeoJSON (~0.1 m).
GRID_DEG = 1e-6
#: Default tolerances of :func:`validate_territories`.
TOLERANCE_M = 1.0
TOLERANCE_M2 = 100.0

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _num(value: float, decimals: int = 0) -> str:
    """A number written the Chilean way (``7.238,29``)."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")

_FUENTE = (
    "Capa referencial dibujada por el proyecto SIT Vallenar a partir de puntos semilla y de un "
    "límite urbano trazado a mano (data/territorios); no es oficial y se reemplaza importando "
    "una capa oficial."
)
_GEOMETRIA = {
    "sector urbano": "Voronoi de semillas (EPSG:32719) recortado al límite urbano referencial",
    "localidad rural": (
        "Círculo de {radio} m en torno a la semilla (EPSG:32719), intersectado con su celda de "
        "Voronoi entre localidades rurales, fuera del límite urbano referencial y dentro del límite comunal"
    ),
    "resto rural": (
        "Límite comunal (DPA 2023) menos el límite urbano referencial y las localidades rurales"
    ),
}


def is_urban(tipo: str) -> bool:
    """True for ``sector urbano``."""
    return tipo == "sector urbano"


def is_rural(tipo: str) -> bool:
    """True for ``localidad rural`` and ``resto rural``."""
    return tipo in ("localidad rural", "resto rural")


# --------------------------------------------------------------------------- inputs


def read_seeds(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Seed points of the urban sectors and rural localities.

    Parameters
    ----------
    path : path-like, optional
        CSV with fields :data:`SEED_FIELDS` (``lat``/``lon`` in decimal degrees,
        WGS 84; ``radio_m`` in metres, required for rural localities;
        ``precision_m`` in metres). ``data/territorios/semillas.csv`` by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Seeds as points in EPSG:4326, in file order.

    Raises
    ------
    DataValidationError
        On missing fields, bad slugs or types, duplicated slugs or missing numbers.
    """
    path = Path(path) if path is not None else SOURCE_DIR / SEEDS_FILE
    if not path.is_file():
        raise DataValidationError(f"No se encontró el archivo de semillas: {path}.")
    frame = pd.read_csv(path, dtype={"slug": str, "nombre": str, "tipo": str, "fuente_coordenada": str})
    missing = [f for f in SEED_FIELDS if f not in frame.columns]
    if missing:
        raise DataValidationError(f"Al archivo de semillas le faltan los campos: {', '.join(missing)}.")
    problems = []
    bad_slug = [s for s in frame["slug"].fillna("") if not _SLUG.match(s)]
    if bad_slug:
        problems.append(f"slugs no válidos (minúsculas ASCII separadas por guiones): {', '.join(map(repr, bad_slug))}")
    dup = sorted(frame.loc[frame["slug"].duplicated(), "slug"])
    if dup:
        problems.append(f"slugs repetidos: {', '.join(dup)}")
    if RESTO_SLUG in set(frame["slug"]):
        problems.append(f"el slug {RESTO_SLUG} está reservado")
    bad_tipo = sorted(set(frame["tipo"].fillna("")) - {"sector urbano", "localidad rural"})
    if bad_tipo:
        problems.append(f"tipos no válidos para una semilla: {', '.join(map(repr, bad_tipo))}")
    for col in ("lat", "lon", "precision_m"):
        if not pd.api.types.is_numeric_dtype(frame[col]) or frame[col].isna().any():
            problems.append(f"el campo {col} debe ser numérico y estar completo")
    rural = frame["tipo"] == "localidad rural"
    radio = pd.to_numeric(frame["radio_m"], errors="coerce")
    if not (radio[rural] > 0).all():
        problems.append("toda localidad rural necesita un radio_m positivo")
    if frame["fuente_coordenada"].fillna("").str.strip().eq("").any():
        problems.append("toda semilla necesita fuente_coordenada")
    if problems:
        raise DataValidationError("Semillas de territorios no válidas: " + "; ".join(problems) + ".")
    if not ((frame["precision_m"] > 0).all() and frame["lat"].between(-90, 90).all() and frame["lon"].between(-180, 180).all()):
        raise DataValidationError("Semillas de territorios no válidas: coordenadas o precisión fuera de rango.")
    frame["radio_m"] = radio
    frame["precision_m"] = frame["precision_m"].round().astype("int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84)


def read_urban_area(path: str | os.PathLike | None = None) -> shapely.Polygon:
    """The referential urban area of the city of Vallenar.

    Parameters
    ----------
    path : path-like, optional
        CSV of vertices (``orden``, ``lon``, ``lat``; WGS 84 decimal degrees; lines
        starting with ``#`` are comments). ``data/territorios/area_urbana_referencial.csv``
        by default.

    Returns
    -------
    shapely.Polygon
        The polygon in EPSG:4326 (x = longitude).

    Raises
    ------
    DataValidationError
        When the file is missing or the vertices do not make a valid polygon.
    """
    path = Path(path) if path is not None else SOURCE_DIR / URBAN_AREA_FILE
    if not path.is_file():
        raise DataValidationError(f"No se encontró el límite urbano referencial: {path}.")
    frame = pd.read_csv(path, comment="#")
    if not {"orden", "lon", "lat"} <= set(frame.columns) or len(frame) < 3:
        raise DataValidationError("El límite urbano referencial necesita al menos 3 vértices con orden, lon y lat.")
    frame = frame.sort_values("orden")
    polygon = shapely.Polygon(frame[["lon", "lat"]].to_numpy(dtype=float))
    if not polygon.is_valid:
        raise DataValidationError(
            f"El límite urbano referencial no es un polígono válido: {shapely.is_valid_reason(polygon)}."
        )
    return polygon


# --------------------------------------------------------------------------- build


def single_polygon(geom: shapely.Geometry, slug: str) -> shapely.Polygon:
    """``geom`` as one Polygon, or :class:`DataValidationError` naming ``slug``."""
    if geom.geom_type == "Polygon" and not geom.is_empty:
        return geom
    raise DataValidationError(f"El territorio {slug} no quedó como un único polígono ({geom.geom_type}).")


def build_territories(
    source_dir: str | os.PathLike | None = None,
    commune_geom: shapely.Geometry | None = None,
) -> gpd.GeoDataFrame:
    """Draw the referential territories from the seeds and the urban area.

    Urban sectors are the Voronoi cells of their seeds clipped to the urban area.
    Each rural locality is a disc of ``radio_m`` around its seed, cut by its Voronoi
    cell among the rural seeds, kept outside the urban area and inside the commune.
    ``resto-rural`` is what remains of the commune. Bisectors, discs and areas are
    computed in EPSG:32719; the result is snapped to a 1e-6 degree grid, the
    precision of the shipped GeoJSON.

    Parameters
    ----------
    source_dir : path-like, optional
        Folder with :data:`SEEDS_FILE` and :data:`URBAN_AREA_FILE`; ``data/territorios``
        by default.
    commune_geom : shapely geometry, optional
        Commune boundary in EPSG:4326; the official one (:mod:`layers.commune`) by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields :data:`FIELDS`, EPSG:4326: urban sectors and rural localities in seed
        order, then ``resto-rural``.

    Raises
    ------
    DataValidationError
        When the inputs break the rules: a seed outside the commune, an urban seed
        outside the urban area, a rural seed inside it, the urban area leaving the commune...
    """
    started = time.perf_counter()
    src = Path(source_dir) if source_dir is not None else SOURCE_DIR
    if commune_geom is None:
        from layers.commune import commune_geometry  # local import: commune reads a package file

        commune_geom = commune_geometry()
    seeds = read_seeds(src / SEEDS_FILE)
    urban = read_urban_area(src / URBAN_AREA_FILE)

    commune_m = gpd.GeoSeries([commune_geom], crs=WGS84).to_crs(UTM19S).iloc[0]
    urban_m = gpd.GeoSeries([urban], crs=WGS84).to_crs(UTM19S).iloc[0]
    outside_area = shapely.area(shapely.difference(urban_m, commune_m))
    if outside_area > TOLERANCE_M2:
        raise DataValidationError(f"El límite urbano referencial sale de la comuna ({_num(outside_area)} m²).")
    pts = seeds.geometry.array
    outside = seeds.loc[~shapely.covers(commune_geom, pts), "slug"]
    if len(outside):
        raise DataValidationError(f"Semillas fuera de la comuna: {', '.join(outside)}.")
    is_urb = (seeds["tipo"] == "sector urbano").to_numpy()
    in_urban = shapely.covers(urban, pts)
    wrong = seeds.loc[is_urb & ~in_urban, "slug"].tolist() + seeds.loc[~is_urb & in_urban, "slug"].tolist()
    if wrong:
        raise DataValidationError(
            "Semillas al lado equivocado del límite urbano referencial "
            f"(sector urbano fuera o localidad rural dentro): {', '.join(wrong)}."
        )
    if not is_urb.any() or is_urb.all():
        raise DataValidationError("Se necesitan semillas de sectores urbanos y de localidades rurales.")

    urban_seeds, rural_seeds = seeds[is_urb], seeds[~is_urb]
    try:
        urban_cells = partition.voronoi_partition(urban_seeds.geometry, urban)
        rural_region = shapely.difference(commune_geom, urban)
        rural_cells = partition.bounded_voronoi(rural_seeds.geometry, rural_seeds["radio_m"], rural_region)
    except ValueError as exc:
        raise DataValidationError(f"No se pudieron dibujar los territorios: {exc}") from exc

    # Snap to the GeoJSON grid first, then take the remainder from the snapped shapes,
    # so that the shipped file tiles the commune as exactly as the grid allows.
    drawn = shapely.set_precision(np.concatenate([urban_cells.array, rural_cells.array]), GRID_DEG)
    drawn = [single_polygon(g, s) for g, s in zip(drawn, seeds["slug"])]
    # The commune keeps its published coordinates; only the remainder's own vertices snap.
    resto = shapely.difference(commune_geom, shapely.union_all(drawn))
    resto = shapely.set_precision(resto, GRID_DEG)

    rows = seeds[["slug", "nombre", "tipo"]].copy()
    rows["fuente"] = [f"{_FUENTE} Semilla: {f}; precisión ±{p} m." for f, p in zip(seeds["fuente_coordenada"], seeds["precision_m"])]
    rows["fuente_geometria"] = [
        _GEOMETRIA[t].format(radio=int(round(r)) if r == r else 0) for t, r in zip(seeds["tipo"], seeds["radio_m"])
    ]
    rows["precision_m"] = seeds["precision_m"].astype("int64")
    resto_row = pd.DataFrame({
        "slug": [RESTO_SLUG],
        "nombre": [RESTO_NOMBRE],
        "tipo": ["resto rural"],
        "fuente": [
            f"{_FUENTE} Resto de la comuna: borde exterior del límite comunal oficial (DPA 2023, IDE Chile); "
            "bordes interiores heredados de las localidades rurales y del límite urbano referencial."
        ],
        "fuente_geometria": [_GEOMETRIA["resto rural"]],
        # Its inner edges are those of the least precise localities it surrounds.
        "precision_m": [int(rural_seeds["precision_m"].max())],
    })
    out = gpd.GeoDataFrame(
        pd.concat([rows, resto_row], ignore_index=True),
        geometry=[*drawn, resto],
        crs=WGS84,
    )
    out["area_km2"] = area_km2(out).round(4)
    log.info("territories built: %d features in %.2f s", len(out), time.perf_counter() - started)
    return out[[*FIELDS, "geometry"]]


def _extras(gdf: pd.DataFrame) -> list[str]:
    """The :data:`EXTRA_FIELDS` that ``gdf`` has, in their order."""
    return [f for f in EXTRA_FIELDS if f in gdf.columns]


def write_territories(gdf: gpd.GeoDataFrame, path: str | os.PathLike | None = None) -> Path:
    """Write the territory layer as RFC 7946 GeoJSON (lon/lat, 6 decimals).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer with fields :data:`FIELDS` (and any of :data:`EXTRA_FIELDS`, written
        after them), any CRS (written in EPSG:4326).
    path : path-like, optional
        Destination; :data:`TERRITORIES_PATH` by default.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from geo.io import write_geojson  # local import: only the build script writes

    path = Path(path) if path is not None else TERRITORIES_PATH
    write_geojson(gdf[[*FIELDS, *_extras(gdf), "geometry"]], path, layer="territorios")
    return path


# --------------------------------------------------------------------------- load and validate


def load_territories(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Read a territory layer (the shipped one by default) with pyogrio.

    Parameters
    ----------
    path : path-like, optional
        GeoJSON (or any file GDAL reads) with fields :data:`FIELDS`;
        :data:`TERRITORIES_PATH` by default.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields :data:`FIELDS` in order, then those of :data:`EXTRA_FIELDS` the file has
        (``geocodigo`` as string, population as nullable Int64), EPSG:4326; text fields
        as strings, ``precision_m`` as int64, ``area_km2`` as float64.

    Raises
    ------
    DataValidationError
        When the file is missing or a field is absent or of the wrong type.
        Geometry rules are checked by :func:`validate_territories`.
    """
    path = Path(path) if path is not None else TERRITORIES_PATH
    if not path.is_file():
        raise DataValidationError(f"No se encontró la capa de territorios: {path}.")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # GDAL errors come in several types
        raise DataValidationError(f"No se pudo leer la capa de territorios ({path.name}): {exc}") from exc
    missing = [f for f in FIELDS if f not in gdf.columns]
    if missing:
        raise DataValidationError(f"A la capa de territorios le faltan los campos: {', '.join(missing)}.")
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)  # GeoJSON without a crs member is WGS 84 by definition
    gdf = to_wgs84(gdf)
    for col in ("slug", "nombre", "tipo", "fuente", "fuente_geometria"):
        if not (pd.api.types.is_string_dtype(gdf[col]) or gdf[col].isna().all()):
            raise DataValidationError(f"El campo {col} de los territorios debe ser texto.")
    for col in ("precision_m", "area_km2"):
        if not pd.api.types.is_numeric_dtype(gdf[col]):
            raise DataValidationError(f"El campo {col} de los territorios debe ser numérico.")
    precision = gdf["precision_m"]
    if precision.isna().any() or not np.allclose(precision, precision.round()):
        raise DataValidationError("El campo precision_m de los territorios debe ser un entero en metros.")
    gdf["precision_m"] = precision.round().astype("int64")
    gdf["area_km2"] = gdf["area_km2"].astype("float64")
    extras = _extras(gdf)
    if "geocodigo" in extras:
        gdf["geocodigo"] = gdf["geocodigo"].astype("string")
    for col in extras[1:] if "geocodigo" in extras else extras:
        if not pd.api.types.is_numeric_dtype(gdf[col]) and not gdf[col].isna().all():
            raise DataValidationError(f"El campo {col} de los territorios debe ser numérico.")
        gdf[col] = pd.to_numeric(gdf[col]).round().astype("Int64")
    return gdf[[*FIELDS, *extras, "geometry"]]


def validate_territories(
    gdf: gpd.GeoDataFrame,
    commune_geom: shapely.Geometry,
    tolerance_m: float = TOLERANCE_M,
    tolerance_m2: float = TOLERANCE_M2,
    require_coverage: bool = True,
) -> None:
    """Check a territory layer against the rules of the layer.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Territory layer with fields :data:`FIELDS` and a CRS.
    commune_geom : shapely geometry
        Commune boundary in EPSG:4326.
    tolerance_m : float
        How far (m, measured in EPSG:32719) a territory may stick out of the commune,
        and how thin a strip along the commune's edge may stay uncovered.
    tolerance_m2 : float
        Largest overlap between two territories, and largest uncovered area of the
        commune, accepted as floating-point noise (m², EPSG:32719).
    require_coverage : bool
        Whether the territories must cover the whole commune (an imported layer of
        urban units, for instance, does not).

    Raises
    ------
    DataValidationError
        With a Spanish message naming the offending territories.
    """
    missing = [f for f in (*FIELDS, "geometry") if f not in gdf.columns]
    if missing:
        raise DataValidationError(f"A la capa de territorios le faltan los campos: {', '.join(missing)}.")
    if gdf.crs is None:
        raise DataValidationError("La capa de territorios no declara su sistema de coordenadas.")
    if gdf.empty:
        raise DataValidationError("La capa de territorios está vacía.")
    slugs = gdf["slug"].fillna("").astype(str)
    bad = [s for s in slugs if not _SLUG.match(s)]
    if bad:
        raise DataValidationError(f"Slugs de territorio no válidos: {', '.join(map(repr, bad))}.")
    dup = sorted(set(slugs[slugs.duplicated()]))
    if dup:
        raise DataValidationError(f"Slugs de territorio repetidos: {', '.join(dup)}.")
    bad_tipo = slugs[~gdf["tipo"].isin(TIPOS_TERRITORIO)]
    if len(bad_tipo):
        raise DataValidationError(
            f"Territorios con tipo no válido ({' / '.join(TIPOS_TERRITORIO)}): {', '.join(bad_tipo)}."
        )
    empty_text = slugs[gdf["fuente"].fillna("").astype(str).str.strip().eq("") | gdf["nombre"].fillna("").astype(str).str.strip().eq("")]
    if len(empty_text):
        raise DataValidationError(f"Territorios sin nombre o sin fuente: {', '.join(empty_text)}.")
    precision = pd.to_numeric(gdf["precision_m"], errors="coerce")
    if not (precision > 0).all():
        raise DataValidationError(f"Territorios sin precision_m positiva: {', '.join(slugs[~(precision > 0)])}.")

    geoms = gdf.geometry.array
    null = gdf.geometry.isna().to_numpy() | shapely.is_empty(geoms)
    if null.any():
        raise DataValidationError(f"Territorios sin geometría: {', '.join(slugs[null])}.")
    types = gdf.geometry.geom_type.to_numpy()
    polygonal = np.isin(types, ("Polygon", "MultiPolygon"))
    if not polygonal.all():
        raise DataValidationError(f"Territorios que no son polígonos: {', '.join(slugs[~polygonal])}.")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = [f"{s} ({shapely.is_valid_reason(g)})" for s, g in zip(slugs[invalid], geoms[invalid])]
        raise DataValidationError(f"Territorios con geometría no válida: {'; '.join(reasons)}.")

    metric = gdf.geometry.to_crs(UTM19S)
    commune_m = gpd.GeoSeries([commune_geom], crs=WGS84).to_crs(UTM19S).iloc[0]
    outside = ~shapely.covered_by(metric.array, shapely.buffer(commune_m, tolerance_m))
    if outside.any():
        raise DataValidationError(
            f"Territorios que salen de la comuna más de {tolerance_m:g} m: {', '.join(slugs[outside])}."
        )
    pairs = partition.overlap_pairs(gdf.geometry, min_area_m2=tolerance_m2)
    if len(pairs):
        text = ", ".join(
            f"{slugs.iloc[i]} y {slugs.iloc[j]} ({_num(a)} m²)"
            for i, j, a in pairs[["i", "j", "area_m2"]].itertuples(index=False)
        )
        raise DataValidationError(f"Territorios que se traslapan: {text}.")
    if require_coverage:
        # Slivers thinner than the tolerance along the commune's edge come from rounding
        # coordinates to 6 decimals; any other hole larger than tolerance_m2 is an error.
        gap = partition.uncovered_area(gdf.geometry, commune_geom, inset_m=tolerance_m)
        if gap > tolerance_m2:
            raise DataValidationError(
                f"Los territorios no cubren toda la comuna: faltan {_num(gap / 1e6, 3)} km²."
            )
