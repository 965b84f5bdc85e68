"""Coordinate reference systems used by SIT Vallenar and helpers to move between them.

Storage and exchange use WGS 84 (EPSG:4326, lon/lat axis order as in RFC 7946).
Every area, length and buffer is computed in WGS 84 / UTM zone 19S (EPSG:32719),
the zone that holds the whole commune (70-71 degrees west).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj

#: Storage and exchange CRS.
WGS84 = "EPSG:4326"
#: Metric CRS for areas, lengths and buffers.
UTM19S = "EPSG:32719"

#: Chilean systems official files arrive in, with a Spanish label for reports.
CHILEAN_CRS: dict[str, str] = {
    "EPSG:4326": "WGS 84 geográficas",
    "EPSG:32719": "WGS 84 / UTM 19S",
    "EPSG:5361": "SIRGAS-Chile / UTM 19S",
    "EPSG:5360": "SIRGAS-Chile geográficas",
    "EPSG:24879": "PSAD56 / UTM 19S",
    "EPSG:29189": "SAD69 / UTM 19S",
}


def parse_crs(value: str | int | pyproj.CRS) -> pyproj.CRS:
    """Parse a CRS given by a person (``"EPSG:24879"``, ``"24879"``, ``24879``).

    Raises
    ------
    ValueError
        With a Spanish message when the code is unknown to PROJ.
    """
    if isinstance(value, pyproj.CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"Sistema de coordenadas desconocido: «{value}».") from exc


def crs_label(crs: pyproj.CRS | str | None) -> str:
    """Short code of a CRS (``EPSG:24879``) or its name when it has no EPSG code."""
    if crs is None:
        return "sin SRC"
    crs = parse_crs(crs)
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 (a no-op when already there).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer with a CRS set.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in WGS 84, lon/lat.
    """
    if gdf.crs is None:
        raise ValueError("La capa no declara su sistema de coordenadas.")
    if pyproj.CRS(gdf.crs).equals(pyproj.CRS(WGS84), ignore_axis_order=True):
        return gdf.set_crs(WGS84, allow_override=True) if gdf.crs != WGS84 else gdf
    return gdf.to_crs(WGS84)


def to_metric(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Geometries in EPSG:32719 (metres), for areas, lengths and buffers."""
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    return series.to_crs(UTM19S)


def area_km2(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Area of each geometry in km², computed in EPSG:32719.

    Returns
    -------
    numpy.ndarray of float
        One value per row, in square kilometres.
    """
    return to_metric(geoms).area.to_numpy() / 1e6
