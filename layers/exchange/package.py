"""GeoPackages of several layers that a GIS opens as they are: one layer per geometry type.

A selection of the plan mixes points, lines, areas and many initiatives with no
place at all; QGIS opens such a single layer as a table of unknown geometry. Here a
frame is split into one layer per geometry family (``<capa>_puntos``,
``<capa>_lineas``, ``<capa>_poligonos``) and an attribute table for the rows with no
geometry (``<capa>_sin_ubicacion``), all in one GeoPackage (WGS 84, EPSG:4326).

:func:`sector_package` gives the layers of one territory's download: the
territory's polygon, its sited initiatives by geometry type and the others as a
table, every initiative with ``relacion`` and ``motivo`` (why it concerns the
territory, in words).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo import repair
from geo.crs import to_wgs84

__all__ = ["geometry_parts", "gpkg_bytes", "write_gpkg", "sector_package", "motive", "selection_file_name", "geometry_counts"]

#: Layer-name suffix of each geometry family, and of the rows without geometry.
SUFFIX = {"point": "puntos", "line": "lineas", "polygon": "poligonos", None: "sin_ubicacion"}
#: Spanish name of each family, for people.
FAMILY_LABEL = {"point": "puntos", "line": "líneas", "polygon": "áreas", None: "sin ubicación"}
#: Why an initiative concerns a territory, per relation (``{nombre}``: the territory's name).
MOTIVOS = {
    "ubicada": "Tiene un lugar dentro de {nombre} o que lo cruza",
    "vinculada": "El plan la asocia por nombre a {nombre}",
    "urbano": "Programa para todos los sectores urbanos, entre ellos {nombre}",
    "rural": "Programa para todos los territorios rurales, entre ellos {nombre}",
    "comunal": "Abarca toda la comuna",
}
#: Longest file name stem made by :func:`selection_file_name`, in characters.
MAX_NAME_CHARS = 80


def _families(geoms: np.ndarray) -> np.ndarray:
    """Family of each geometry (``None`` when missing or empty); a collection goes with most of its parts."""
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    out = np.full(len(geoms), None, dtype=object)
    if present.any():
        fams = repair.families(geoms[present])
        for i in np.flatnonzero(fams == "collection"):
            fams[i] = repair.dominant_family(shapely.get_parts(geoms[present][i]))
        out[present] = fams
    return out


def geometry_counts(frame: gpd.GeoDataFrame) -> dict[str | None, int]:
    """Rows per geometry family (``"point"``, ``"line"``, ``"polygon"``, ``None`` for none), non-zero only."""
    fams = _families(np.asarray(frame.geometry.array, dtype=object))
    return {f: int((fams == f).sum()) for f in ("point", "line", "polygon", None) if (fams == f).any()}


def geometry_parts(frame: gpd.GeoDataFrame, layer: str) -> list[tuple[str, gpd.GeoDataFrame | pd.DataFrame]]:
    """``frame`` split into one layer per geometry family plus a table of the rows without geometry.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Features in any CRS (written in EPSG:4326); rows may lack a geometry.
    layer : str
        Stem of the layer names.

    Returns
    -------
    list of (str, frame)
        ``(<layer>_puntos, rows)``, ``(<layer>_lineas, rows)``, ``(<layer>_poligonos, rows)``
        for the families present, each holding only parts of its family (a collection
        keeps the parts of its dominant family), then ``(<layer>_sin_ubicacion, table)``
        (a :class:`pandas.DataFrame` without geometry column) when some rows have none.
        Row order is kept within each layer.
    """
    geoms = np.asarray(frame.geometry.array, dtype=object)
    fams = _families(geoms)
    parts: list[tuple[str, gpd.GeoDataFrame | pd.DataFrame]] = []
    for family in ("point", "line", "polygon"):
        rows = frame[fams == family]
        if len(rows):
            kept = [repair.keep_family(g, family) for g in np.asarray(rows.geometry.array, dtype=object)]
            parts.append((f"{layer}_{SUFFIX[family]}", rows.set_geometry(gpd.GeoSeries(kept, index=rows.index,
                                                                                        crs=frame.crs))))
    rest = frame[pd.isna(fams)]
    if len(rest):
        parts.append((f"{layer}_{SUFFIX[None]}", pd.DataFrame(rest.drop(columns=rest.geometry.name))))
    return parts


def write_gpkg(parts: Iterable[tuple[str, gpd.GeoDataFrame | pd.DataFrame]], path: str | Path) -> Path:
    """Write every ``(layer name, frame)`` of ``parts`` as a layer of the GeoPackage ``path``.

    Layers with geometry are written in WGS 84 (EPSG:4326) with the single geometry
    type of their rows (``MultiPoint`` when any row is one); tables without geometry
    are GeoPackage attribute tables. Written through GDAL (pyogrio); layers already
    in the file under other names are kept.

    Raises
    ------
    pyogrio.errors.DataSourceError, OSError
        When GDAL cannot write at ``path``.
    """
    path = Path(path)
    for name, part in parts:
        if isinstance(part, gpd.GeoDataFrame) and part.active_geometry_name in part.columns:
            out = to_wgs84(part)
            multi = bool((shapely.get_type_id(np.asarray(out.geometry.array, dtype=object)) >= 4).any())
            pyogrio.write_dataframe(out, path, driver="GPKG", layer=name, promote_to_multi=multi)
        else:
            pyogrio.write_dataframe(pd.DataFrame(part), path, driver="GPKG", layer=name)
    return path


def gpkg_bytes(parts: Iterable[tuple[str, gpd.GeoDataFrame | pd.DataFrame]]) -> bytes:
    """One GeoPackage holding every ``(layer name, frame)`` of ``parts`` (:func:`write_gpkg`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="sit_gpkg_") as tmp:
        return write_gpkg(parts, Path(tmp) / "paquete.gpkg").read_bytes()


def motive(relacion: str, nombre: str) -> str:
    """Why an initiative concerns the territory ``nombre``, in words (:data:`MOTIVOS`)."""
    return MOTIVOS.get(relacion, relacion).format(nombre=nombre)


def sector_package(summary, layer: str = "iniciativas") -> list[tuple[str, gpd.GeoDataFrame | pd.DataFrame]]:
    """The layers of one territory's GeoPackage download.

    Parameters
    ----------
    summary : layers.sector.SectorSummary
        The territory and the initiatives that concern it (``relacion`` column).
    layer : str
        Stem of the initiatives' layer names.

    Returns
    -------
    list of (str, frame)
        ``territorio`` (its polygon, with ``slug``, ``nombre``, ``tipo``, ``fuente``,
        ``fuente_geometria``, ``precision_m``, ``area_km2`` when present), then the
        initiatives by :func:`geometry_parts`, each with ``relacion`` and ``motivo``.
    """
    t = summary.territory
    keep = [c for c in ("slug", "nombre", "tipo", "fuente", "fuente_geometria", "precision_m", "area_km2") if c in t.index]
    territory = gpd.GeoDataFrame([{c: t[c] for c in keep}], geometry=[t.geometry], crs=summary.initiatives.crs or 4326)
    inits = summary.initiatives.drop(columns=["grupo"], errors="ignore").copy()
    inits["motivo"] = [motive(r, summary.nombre) for r in inits["relacion"]]
    return [("territorio", territory), *geometry_parts(inits, layer)]


def _slug(text: object) -> str:
    from layers.text import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(str(text), lower=True)).strip("-")


def selection_file_name(state: Mapping[str, Sequence[str] | str], base: str = "iniciativas") -> str:
    """File name stem that says what a selection of the map holds.

    ``{"estrategia": ["E1"], "territorio": ["domeyko"], "q": "agua"}`` gives
    ``iniciativas_e1_domeyko_agua``; no filter gives ``iniciativas_todas``. Only
    ``a-z``, digits, ``-`` and ``_``; cut to :data:`MAX_NAME_CHARS`.
    """
    parts = []
    for key in ("estrategia", "plan", "tipo", "alcance", "territorio"):
        values = state.get(key) or []
        parts.extend(_slug(v) for v in values)
    if state.get("q"):
        parts.append(_slug(state["q"]))
    stem = "_".join([base, *[p for p in parts if p]]) if any(parts) else f"{base}_todas"
    return stem[:MAX_NAME_CHARS].rstrip("-_")
