"""Partitions of a region among seed points, and checks that polygons tile a region.

Pure geometry, no domain knowledge. Every computation runs in a planar metric CRS
(EPSG:32719 unless told otherwise) so that Voronoi bisectors, buffers and areas are
measured in metres; results come back in the CRS of the input seeds.

- :func:`voronoi_partition` splits a region into one single-part cell per seed,
  with no gaps and no overlaps.
- :func:`bounded_voronoi` gives each seed the part of its Voronoi cell that lies
  within a radius of it and inside a region (neighbours never overlap; the rest of
  the region is left uncovered).
- :func:`overlap_pairs` and :func:`uncovered_area` measure how far a set of
  polygons is from tiling a region.
"""

from __future__ import annotations

import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import UTM19S

log = logging.getLogger(__name__)


def _to_metric(seeds: gpd.GeoSeries, region: BaseGeometry, crs) -> tuple[np.ndarray, BaseGeometry]:
    """Seeds and region (given in ``seeds.crs``) as planar geometries in ``crs``."""
    if seeds.crs is None:
        raise ValueError("Las semillas no declaran su sistema de coordenadas.")
    if len(seeds) == 0:
        raise ValueError("No hay semillas.")
    arr = np.asarray(seeds.array, dtype=object)
    if (shapely.get_type_id(arr) != 0).any() or shapely.is_empty(arr).any():
        raise ValueError("Las semillas deben ser puntos no vacíos.")
    if region is None or shapely.is_empty(region) or not shapely.is_valid(region):
        raise ValueError("La región a repartir está vacía o no es válida.")
    points = seeds.to_crs(crs).array
    region_m = gpd.GeoSeries([region], crs=seeds.crs).to_crs(crs).iloc[0]
    if len(set(shapely.to_wkb(points))) != len(points):
        raise ValueError("Hay semillas repetidas en el mismo lugar.")
    return np.asarray(points, dtype=object), region_m


def _raw_cells(points: np.ndarray, extent: BaseGeometry) -> np.ndarray:
    """Unclipped Voronoi cells of ``points`` (planar), in input order, covering ``extent``."""
    if len(points) == 1:
        return np.array([shapely.box(*shapely.bounds(extent)).buffer(1.0)], dtype=object)
    # A frame well beyond the extent so that every bisector reaches past it.
    xmin, ymin, xmax, ymax = shapely.bounds(shapely.union_all([extent, *points]))
    pad = max(xmax - xmin, ymax - ymin) + 1.0
    frame = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    cells = np.asarray(shapely.get_parts(diagram), dtype=object)
    if len(cells) != len(points):  # pragma: no cover - GEOS guarantees one cell per distinct point
        raise ValueError("El diagrama de Voronoi no produjo una celda por semilla.")
    return cells


def _main_part(geom: BaseGeometry, seed: BaseGeometry) -> tuple[BaseGeometry, list[BaseGeometry]]:
    """Split ``geom`` into the polygon holding ``seed`` (else the largest) and the other polygons."""
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) == 3 and not p.is_empty]
    if not parts:
        return shapely.Polygon(), []
    holds = [shapely.covers(p, seed) for p in parts]
    keep = holds.index(True) if any(holds) else int(np.argmax([p.area for p in parts]))
    return parts[keep], [p for i, p in enumerate(parts) if i != keep]


def _merge_detached(cells: np.ndarray, points: np.ndarray, max_rounds: int = 10) -> np.ndarray:
    """Give every detached piece of a cell to the neighbour it shares the longest border with.

    Keeps the union of ``cells`` unchanged while making each cell a single polygon
    (unless a piece touches no other cell, which happens only when the region
    itself has several parts; such pieces stay with their cell).
    """
    cells = cells.copy()
    for _ in range(max_rounds):
        moved = False
        for i in range(len(cells)):
            main, orphans = _main_part(cells[i], points[i])
            if not orphans:
                continue
            stay = [main]
            for piece in orphans:
                others = np.array([j for j in range(len(cells)) if j != i])
                shared = shapely.length(shapely.intersection(piece.boundary, shapely.boundary(cells[others])))
                if shared.max(initial=0.0) <= 0.0:
                    stay.append(piece)
                    continue
                j = int(others[int(np.argmax(shared))])
                cells[j] = shapely.union(cells[j], piece)
                moved = True
            cells[i] = shapely.union_all(stay) if len(stay) > 1 else main
        if not moved:
            break
    return cells


def voronoi_partition(
    seeds: gpd.GeoSeries,
    region: BaseGeometry,
    crs: str = UTM19S,
) -> gpd.GeoSeries:
    """Split ``region`` into one Voronoi cell per seed, clipped to the region.

    Parameters
    ----------
    seeds : geopandas.GeoSeries of Point
        Distinct points inside ``region``, with a CRS set.
    region : shapely geometry (Polygon or MultiPolygon)
        Area to split, in the CRS of ``seeds``.
    crs : str or pyproj.CRS, default EPSG:32719
        Planar metric CRS in which bisectors are drawn.

    Returns
    -------
    geopandas.GeoSeries of Polygon
        One cell per seed, same index and CRS as ``seeds``. The cells have no gaps
        and no overlaps and their union is ``region`` (to floating-point precision).
        A cell that the clipping splits in pieces keeps the piece holding its seed;
        the other pieces go to the neighbouring cell with which they share the
        longest border.

    Raises
    ------
    ValueError
        When seeds are not distinct points, lack a CRS or fall outside ``region``.
    """
    started = time.perf_counter()
    points, region_m = _to_metric(seeds, region, crs)
    outside = ~shapely.covers(region_m, points)
    if outside.any():
        raise ValueError(f"{int(outside.sum())} semilla(s) fuera de la región a repartir.")
    cells = shapely.intersection(_raw_cells(points, region_m), region_m)
    cells = _merge_detached(np.asarray(cells, dtype=object), points)
    out = gpd.GeoSeries(cells, index=seeds.index, crs=crs).to_crs(seeds.crs)
    log.debug("voronoi_partition: %d cells in %.3f s", len(out), time.perf_counter() - started)
    return out


def bounded_voronoi(
    seeds: gpd.GeoSeries,
    radii_m,
    region: BaseGeometry,
    crs: str = UTM19S,
    quad_segs: int = 16,
) -> gpd.GeoSeries:
    """For each seed, the part of its Voronoi cell within a radius of it, inside ``region``.

    Parameters
    ----------
    seeds : geopandas.GeoSeries of Point
        Distinct points inside ``region``, with a CRS set.
    radii_m : array-like of float
        Radius of each seed's disc, in metres (> 0).
    region : shapely geometry
        Area the results must stay in, in the CRS of ``seeds``.
    crs : str or pyproj.CRS, default EPSG:32719
        Planar metric CRS for the bisectors and the discs.
    quad_segs : int
        Segments per quarter circle of each disc.

    Returns
    -------
    geopandas.GeoSeries of Polygon
        One polygon per seed (same index and CRS as ``seeds``): disc ∩ Voronoi cell
        ∩ region, reduced to the piece that holds the seed. Results never overlap
        one another; the region they leave uncovered is not assigned.

    Raises
    ------
    ValueError
        When seeds are not distinct points inside ``region`` or a radius is not positive.
    """
    points, region_m = _to_metric(seeds, region, crs)
    radii = np.asarray(radii_m, dtype=float)
    if radii.shape != (len(points),) or not (radii > 0).all():
        raise ValueError("Cada semilla necesita un radio positivo en metros.")
    outside = ~shapely.covers(region_m, points)
    if outside.any():
        raise ValueError(f"{int(outside.sum())} semilla(s) fuera de la región.")
    discs = shapely.buffer(points, radii, quad_segs=quad_segs)
    cells = _raw_cells(points, shapely.union_all([region_m, *discs]))
    shapes = shapely.intersection(shapely.intersection(cells, discs), region_m)
    kept = np.array([_main_part(g, p)[0] for g, p in zip(shapes, points)], dtype=object)
    return gpd.GeoSeries(kept, index=seeds.index, crs=crs).to_crs(seeds.crs)


def overlap_pairs(geoms: gpd.GeoSeries, crs: str = UTM19S, min_area_m2: float = 0.0) -> pd.DataFrame:
    """Pairs of polygons whose interiors overlap by more than ``min_area_m2``.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Polygons with a CRS set.
    crs : str or pyproj.CRS, default EPSG:32719
        Metric CRS in which areas are measured.
    min_area_m2 : float
        Overlaps of this area or less (m²) are ignored (floating-point slivers).

    Returns
    -------
    pandas.DataFrame
        Columns ``i`` and ``j`` (positions, ``i < j``) and ``area_m2``, largest first.
    """
    metric = np.asarray(geoms.to_crs(crs).array, dtype=object)
    left, right = shapely.STRtree(metric).query(metric, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = shapely.area(shapely.intersection(metric[left], metric[right])) if len(left) else np.array([])
    big = areas > min_area_m2
    frame = pd.DataFrame({"i": left[big], "j": right[big], "area_m2": areas[big]})
    return frame.sort_values("area_m2", ascending=False, ignore_index=True)


def uncovered_area(
    geoms: gpd.GeoSeries,
    region: BaseGeometry,
    crs: str = UTM19S,
    inset_m: float = 0.0,
) -> float:
    """Area of ``region`` that no geometry of ``geoms`` covers, in m².

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Polygons with a CRS set.
    region : shapely geometry
        Region that should be covered, in the CRS of ``geoms``.
    crs : str or pyproj.CRS, default EPSG:32719
        Metric CRS in which the area is measured.
    inset_m : float
        Shrink the region inwards by this distance (m) before measuring, so that
        slivers along its edge (left by rounding coordinates) do not count.

    Returns
    -------
    float
        Uncovered area in square metres.
    """
    metric = geoms.to_crs(crs).array
    region_m = gpd.GeoSeries([region], crs=geoms.crs).to_crs(crs).iloc[0]
    if inset_m > 0:
        region_m = shapely.buffer(region_m, -inset_m)
    return float(shapely.area(shapely.difference(region_m, shapely.union_all(metric))))
