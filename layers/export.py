"""Writing layers to the exchange formats planners use.

One function per format, all reached through :func:`export_layer`, which the
command line and the app's downloads share.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd

from geo import io as gio
from layers._errors import InvalidFilterError


def _geojson(gdf: gpd.GeoDataFrame, dest: Path, layer: str) -> None:
    gio.write_geojson(gdf, dest, layer=layer)


#: Format name -> (writer, file extension, MIME type).
FORMATS: dict[str, tuple[Callable[[gpd.GeoDataFrame, Path, str], None], str, str]] = {
    "geojson": (_geojson, ".geojson", "application/geo+json"),
}


def check_format(fmt: str) -> str:
    """Normalise a format name; :class:`InvalidFilterError` when unknown."""
    name = str(fmt).strip().lower()
    if name not in FORMATS:
        raise InvalidFilterError(f"Formato desconocido: «{fmt}». Use uno de: {', '.join(FORMATS)}.")
    return name


def export_layer(gdf: gpd.GeoDataFrame, dest: str | os.PathLike, fmt: str = "geojson", layer: str = "capa") -> Path:
    """Write ``gdf`` to ``dest`` in format ``fmt`` (overwriting it).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer in any CRS (written in EPSG:4326).
    dest : path-like
        Output file.
    fmt : str
        One of :data:`FORMATS`.
    layer : str
        Layer name inside the file.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    writer = FORMATS[check_format(fmt)][0]
    dest = Path(dest)
    writer(gdf, dest, layer)
    return dest


def export_bytes(gdf: gpd.GeoDataFrame, fmt: str = "geojson", layer: str = "capa") -> bytes:
    """The bytes :func:`export_layer` would write (for downloads in the app)."""
    import tempfile

    fmt = check_format(fmt)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_layer(gdf, Path(tmp) / f"{layer}{FORMATS[fmt][1]}", fmt, layer)
        return path.read_bytes()
