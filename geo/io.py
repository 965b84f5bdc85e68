"""Reading and writing vector files through GDAL (pyogrio).

Generic helpers with no domain knowledge. Exchange files are written in WGS 84;
GeoJSON follows RFC 7946 (lon/lat, no ``crs`` member, counter-clockwise exterior
rings, coordinates rounded), which GDAL's GeoJSON driver enforces with its
``RFC7946`` layer option.
"""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo.crs import to_wgs84

log = logging.getLogger(__name__)

#: Decimal places of exported coordinates (1e-6 degree is about 0.1 m on the ground).
GEOJSON_DECIMALS = 6


def _rfc7946_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """WGS 84 copy with polygon exterior rings counter-clockwise (RFC 7946 §3.1.6)."""
    out = to_wgs84(gdf).copy()
    geoms = out.geometry.array
    out[out.geometry.name] = shapely.orient_polygons(geoms, exterior_cw=False)
    return out


def write_geojson(
    gdf: gpd.GeoDataFrame,
    dest: str | os.PathLike | BinaryIO,
    layer: str = "capa",
    decimals: int = GEOJSON_DECIMALS,
) -> None:
    """Write a layer as RFC 7946 GeoJSON.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer in any CRS; reprojected to EPSG:4326. Rows with a missing geometry
        are written as features with ``"geometry": null``.
    dest : path or binary file-like
        Output file (overwritten) or an in-memory buffer.
    layer : str
        Value of the collection's ``name`` member.
    decimals : int
        Decimal places kept in coordinates (degrees).
    """
    started = time.perf_counter()
    out = _rfc7946_ready(gdf)
    if not isinstance(dest, (str, os.PathLike)):
        pass
    elif Path(dest).exists():
        Path(dest).unlink()
    pyogrio.write_dataframe(
        out,
        dest,
        driver="GeoJSON",
        layer=layer,
        layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": str(decimals), "WRITE_NAME": "YES"},
    )
    log.debug("GeoJSON %s: %d features in %.3f s", layer, len(out), time.perf_counter() - started)


def geojson_bytes(gdf: gpd.GeoDataFrame, layer: str = "capa") -> bytes:
    """RFC 7946 GeoJSON of a layer as UTF-8 bytes (for downloads)."""
    buffer = io.BytesIO()
    write_geojson(gdf, buffer, layer=layer)
    return buffer.getvalue()


def read_vector(path: str | os.PathLike, layer: str | int | None = None, **kwargs) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer of a vector file with pyogrio.

    Parameters
    ----------
    path : path-like
        Any file GDAL reads (GeoJSON, GeoPackage, Shapefile, KML, ``/vsizip/`` paths...).
    layer : str or int, optional
        Layer name or index; the first layer when omitted.
    **kwargs
        Passed to :func:`pyogrio.read_dataframe` (``bbox``, ``where``, ``columns``...).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        A DataFrame when the layer has no geometry column.
    """
    return pyogrio.read_dataframe(path, layer=layer, **kwargs)
