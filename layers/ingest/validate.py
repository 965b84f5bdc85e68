"""Rules an imported layer must meet before it is stored. Internal to :mod:`layers.ingest.importer`.

- :func:`check_layer_name`: store names (``^[a-z][a-z0-9_]{1,40}$``, no system tables);
- :func:`location_check`: most features (more than half) must touch the commune,
  and when they do not, :func:`diagnose` says the likely cause (swapped axes, a
  wrong CRS and which Chilean CRS would fit);
- :func:`sanitise_fields` / :func:`sanitise_values`: field names and values GeoPackage takes;
- :func:`shape_territories`, :func:`shape_sites`: the schema of a territory
  layer and of a layer of initiative sites.

Every refusal is an :class:`~layers._errors.InputFileError` or
:class:`~layers._errors.DataValidationError` with a one-line Spanish message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import partition, repair
from geo.crs import CHILEAN_CRS, UTM19S, WGS84, area_km2, crs_label
from layers._errors import DataValidationError, InputFileError
from layers.text import fold, one_line, slugify  # noqa: F401 - slugify is part of this module's API

#: Valid names of stored layers.
LAYER_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
#: Prefixes kept for the store's own tables and GeoPackage internals.
RESERVED_PREFIXES = ("sit_", "gpkg_", "rtree_", "sqlite_")
#: Share of features outside the commune above which a layer is refused.
MAX_OUTSIDE = 0.5
#: Features looked at when diagnosing a layer outside the commune.
_SAMPLE = 500
#: Longest stored field name.
MAX_FIELD = 40
_RESERVED_FIELDS = {"geometry", "geom", "fid", "ogc_fid", "objectid_1"}


def check_layer_name(name: object) -> str:
    """``name`` if it is a valid store name; :class:`InputFileError` otherwise."""
    text = str(name) if name is not None else ""
    if not LAYER_NAME.fullmatch(text):
        raise InputFileError(
            f"Nombre de capa inválido: «{text[:60]}». Use de 2 a 41 caracteres: minúsculas sin tildes, dígitos y _, empezando por una letra (p. ej. unidades_vecinales).",
            code="bad_layer_name", layer=text[:60],
        )
    if text.startswith(RESERVED_PREFIXES):
        raise InputFileError(
            f"El nombre «{text}» está reservado para tablas internas del sistema; elija otro.", code="reserved_layer_name", layer=text
        )
    return text


# --------------------------------------------------------------------------- location


def _centres(geoms: np.ndarray) -> np.ndarray:
    """Centre of the bounding box of each geometry, shape (n, 2); NaN for missing ones."""
    bounds = shapely.bounds(geoms)
    return np.column_stack([(bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2])


def _inside_share(xy: np.ndarray, crs: pyproj.CRS, commune: shapely.Geometry) -> float:
    """Share of points (in ``crs``) that fall inside the commune once in WGS 84."""
    if len(xy) == 0:
        return 0.0
    try:
        transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
        with np.errstate(all="ignore"):
            lon, lat = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
    except (pyproj.exceptions.ProjError, pyproj.exceptions.CRSError, ValueError, TypeError):
        return 0.0
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    inside = np.zeros(len(lon), dtype=bool)
    inside[ok] = shapely.contains_xy(commune, lon[ok], lat[ok])
    return float(inside.mean())


def fitting_crs(geoms: np.ndarray, commune: shapely.Geometry, exclude: pyproj.CRS | None = None) -> list[str]:
    """Chilean CRS codes (:data:`geo.crs.CHILEAN_CRS`) under which most features fall in the commune.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Coordinates as read from the file (any or no CRS).
    commune : shapely geometry
        Commune polygon in EPSG:4326.
    exclude : pyproj.CRS, optional
        A CRS not to propose (the one the file declares).
    """
    xy = _sample_xy(geoms)
    out = []
    for code in CHILEAN_CRS:
        crs = pyproj.CRS(code)
        if exclude is not None and crs.equals(exclude, ignore_axis_order=True):
            continue
        if _inside_share(xy, crs, commune) > MAX_OUTSIDE:
            out.append(code)
    return out


def _sample_xy(geoms: np.ndarray) -> np.ndarray:
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(geoms) > _SAMPLE:
        geoms = geoms[np.linspace(0, len(geoms) - 1, _SAMPLE).astype(int)]
    xy = _centres(geoms) if len(geoms) else np.empty((0, 2))
    return xy[np.isfinite(xy).all(axis=1)]


def _looks_geographic(xy: np.ndarray) -> bool:
    return bool(len(xy)) and bool((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all())


def _try(codes: list[str]) -> str:
    first, rest = codes[0], codes[1:]
    also = f" (o {', '.join(rest)})" if rest else ""
    return f"Pruebe el SRC {first}{also}."


def diagnose(geoms: np.ndarray, crs: pyproj.CRS, commune: shapely.Geometry) -> str:
    """Likely cause, in Spanish, of a layer whose features fall outside the commune (see :func:`diagnosis`)."""
    return diagnosis(geoms, crs, commune)[0]


def diagnosis(geoms: np.ndarray, crs: pyproj.CRS, commune: shapely.Geometry) -> tuple[str, list[str]]:
    """Likely cause, in Spanish, of a layer whose features fall outside the commune.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        Coordinates as read from the file, in ``crs``.
    crs : pyproj.CRS
        The CRS the layer was read with (declared or given).
    commune : shapely geometry
        Commune polygon in EPSG:4326.

    Returns
    -------
    (str, list of str)
        The cause: ``"¿ejes invertidos (lat/lon)? ..."`` when swapping x and y
        puts the features inside; ``"¿sistema de coordenadas equivocado? Pruebe
        el SRC EPSG:XXXX."`` when coordinates look metric under a geographic CRS
        (or the reverse), or another Chilean CRS puts them inside; a generic
        hint otherwise. And the CRS codes proposed (empty when none).
    """
    xy = _sample_xy(geoms)
    if len(xy) and _inside_share(xy[:, ::-1], crs, commune) > MAX_OUTSIDE:
        return "¿ejes invertidos (lat/lon)? Con x e y intercambiadas los elementos caen en la comuna; corrija el orden de las coordenadas.", []
    fits = fitting_crs(geoms, commune, exclude=crs)
    geographic_values = _looks_geographic(xy)
    if crs.is_geographic and not geographic_values:
        fits = [c for c in fits if not pyproj.CRS(c).is_geographic] or fits or [UTM19S]
        return f"Las coordenadas parecen métricas pero el archivo dice {crs_label(crs)} (grados): ¿sistema de coordenadas equivocado? {_try(fits)}", fits
    if not crs.is_geographic and geographic_values:
        fits = [c for c in fits if pyproj.CRS(c).is_geographic] or fits or [WGS84]
        return f"Las coordenadas parecen grados pero el archivo dice {crs_label(crs)} (metros): ¿sistema de coordenadas equivocado? {_try(fits)}", fits
    if fits:
        return f"¿sistema de coordenadas equivocado? {_try(fits)}", fits
    return "Revise que la capa sea de la comuna de Vallenar y que su sistema de coordenadas sea el correcto.", []


def outside_share(geoms_wgs84: np.ndarray, commune: shapely.Geometry) -> float:
    """Share of geometries (EPSG:4326) that do not touch the commune polygon."""
    if len(geoms_wgs84) == 0:
        return 0.0
    shapely.prepare(commune)
    return float((~shapely.intersects(commune, geoms_wgs84)).mean())


def location_check(geoms_wgs84: np.ndarray, geoms_source: np.ndarray, crs: pyproj.CRS, commune: shapely.Geometry) -> float:
    """Refuse a layer that lies mostly outside the commune; return the share outside.

    Parameters
    ----------
    geoms_wgs84 : numpy.ndarray of shapely geometries
        Clean geometries in EPSG:4326.
    geoms_source : numpy.ndarray of shapely geometries
        The same features as read, in ``crs`` (for :func:`diagnose`).
    crs : pyproj.CRS
    commune : shapely geometry
        Commune polygon in EPSG:4326.

    Raises
    ------
    DataValidationError
        When more than :data:`MAX_OUTSIDE` of the features are outside.
    """
    share = outside_share(geoms_wgs84, commune)
    if share > MAX_OUTSIDE:
        pct = round(share * 100)
        cause, fits = diagnosis(geoms_source, crs, commune)
        raise DataValidationError(
            f"La capa cae fuera de la comuna de Vallenar ({pct} % de sus elementos fuera del límite comunal). {cause}",
            code="outside_commune", share=share, suggested=fits,
        )
    return share


def missing_crs_error(geoms: np.ndarray, commune: shapely.Geometry, note: str = "") -> InputFileError:
    """Refusal (code ``"crs_missing"``, data ``suggested``) for a file that declares no CRS, naming the Chilean CRS its coordinates fit."""
    fits = fitting_crs(geoms, commune)
    where = f" ({note})" if note else ""
    hint = f" Sus coordenadas calzan con {', '.join(fits)}: pregunte a quien entregó el archivo cuál es." if fits else ""
    return InputFileError(
        f"El archivo no declara su sistema de coordenadas{where}; hay que indicarlo.{hint}", code="crs_missing", suggested=fits
    )


# --------------------------------------------------------------------------- fields




def sanitise_fields(columns: Iterable[str]) -> dict[str, str]:
    """Store-safe names for attribute columns, unique and in the same order.

    Lower case ASCII letters, digits and ``_``; starting with a letter (``c_``
    prepended otherwise); at most :data:`MAX_FIELD` characters; names GDAL
    keeps for itself (``geometry``, ``fid``...) get a ``_1`` suffix; repeats get
    ``_2``, ``_3``...

    Returns
    -------
    dict
        Original name -> new name.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        base = slugify(col, "_") or "campo"
        if not base[0].isalpha():
            base = f"c_{base}"
        base = base[:MAX_FIELD].rstrip("_")
        if base in _RESERVED_FIELDS:
            base = f"{base}_1"
        name, k = base, 2
        while name in used:
            suffix = f"_{k}"
            name = base[: MAX_FIELD - len(suffix)] + suffix
            k += 1
        used.add(name)
        out[col] = name
    return out


def _scalar_text(value: object) -> object:
    """Values GeoPackage stores as they are; anything else as JSON text."""
    if value is None or isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_, pd.Timestamp)):
        if isinstance(value, float) and np.isnan(value):
            return None
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def sanitise_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Attribute columns GDAL can write: object columns of mixed or nested values become text."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col == geometry:
            continue
        series = out[col]
        if series.dtype == object:
            values = [_scalar_text(v) for v in series]
            kinds = {type(v) for v in values if v is not None}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                values = [None if v is None else (v if isinstance(v, str) else str(v)) for v in values]
            out[col] = pd.Series(values, index=series.index, dtype=object)
        elif pd.api.types.is_float_dtype(series):
            out[col] = series.where(np.isfinite(series.to_numpy(dtype=float)), np.nan)
    return out


#: Role of a field the person names -> how messages say it.
FIELD_ROLES = {"name_field": "nombre de cada territorio", "id_field": "identificador"}


def find_field(frame: pd.DataFrame, wanted: str, role: str) -> str:
    """Column of ``frame`` named ``wanted`` (exactly, else ignoring case and accents).

    Raises
    ------
    DataValidationError
        Code ``"field_missing"``, data ``field`` (as given), ``role`` (``"name_field"``
        or ``"id_field"``) and ``available`` (the columns).
    """
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    cols = [c for c in frame.columns if c != geometry]
    if wanted in cols:
        return wanted
    folded = {fold(c, lower=True): c for c in cols}
    match = folded.get(fold(wanted, lower=True))
    if match is not None:
        return match
    listed = ", ".join(one_line(c, 40) for c in cols[:30]) or "ninguno"
    raise DataValidationError(
        f"El archivo no tiene el campo «{one_line(wanted, 40)}» ({FIELD_ROLES.get(role, role)}). "
        f"Campos disponibles: {listed}.",
        code="field_missing", field=wanted, role=role, available=[str(c) for c in cols],
    )


# --------------------------------------------------------------------------- territories


def _text_or_empty(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()


def _slugs_from_ids(
    frame: gpd.GeoDataFrame, names: pd.Series, id_col: str, dropped: dict[str, int]
) -> tuple[gpd.GeoDataFrame, pd.Series, list[str]]:
    """Slugs of the identifiers in ``id_col``; rows without one are dropped (counted in ``dropped``).

    Raises
    ------
    DataValidationError
        Code ``"duplicate_ids"`` (data ``field``, ``repeated``) when identifiers repeat.
    """
    raw = frame[id_col].map(_text_or_empty)
    slugs = raw.map(slugify)
    empty = (slugs == "").to_numpy()
    if empty.any():
        dropped[f"sin identificador en «{id_col}»"] = int(empty.sum())
        frame, names, raw, slugs = frame[~empty], names[~empty], raw[~empty], slugs[~empty]
    repeated = sorted(set(raw[slugs.duplicated(keep=False)]))
    if repeated:
        shown = ", ".join(repeated[:15]) + (" …" if len(repeated) > 15 else "")
        raise DataValidationError(
            f"El campo «{id_col}» repite identificadores: {shown}. Corríjalos, o importe sin campo de identificador y se derivarán de los nombres.",
            code="duplicate_ids", field=id_col, repeated=repeated,
        )
    return frame, names, list(slugs)


def _slugs_from_names(names: list[str]) -> tuple[list[str], list[str]]:
    """Unique slugs of names (repeats numbered ``-2``, ``-3``...) and the repeated base slugs."""
    base = [slugify(n) or "territorio" for n in names]
    counts: dict[str, int] = {}
    slugs = []
    for slug in base:
        counts[slug] = counts.get(slug, 0) + 1
        slugs.append(slug if counts[slug] == 1 else f"{slug}-{counts[slug]}")
    # A numbered slug could collide with a real one ("x-2"); renumber until unique.
    seen: set[str] = set()
    for i, slug in enumerate(slugs):
        k = 2
        while slug in seen:
            slug = f"{base[i]}-{k}"
            k += 1
        seen.add(slug)
        slugs[i] = slug
    return slugs, sorted(s for s, c in counts.items() if c > 1)


def shape_territories(
    frame: gpd.GeoDataFrame,
    name_col: str,
    id_col: str | None,
    urban: shapely.Geometry | None,
    fuente: str,
    fuente_geometria: str,
    precision_m: int | None,
) -> tuple[gpd.GeoDataFrame, dict[str, int], list[str], list[str]]:
    """Build a territory layer (schema of :mod:`layers.territories`) from clean polygons.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Polygons in EPSG:4326, with the name (and id) columns.
    name_col, id_col : str
        Column of the names; column of the identifiers (slugs are derived from
        it), or ``None`` to derive slugs from the names.
    urban : shapely geometry or None
        Union of the shipped urban sectors (EPSG:4326): a territory whose
        representative point lies in it is a ``sector urbano``, any other a
        ``localidad rural``.
    fuente, fuente_geometria : str
        Provenance texts stored in every feature.
    precision_m : int or None
        Uncertainty of the boundaries in metres, when known.

    Returns
    -------
    (geopandas.GeoDataFrame, dict, list, list)
        The layer; dropped rows by Spanish reason; repeated ids or names; warnings.

    Raises
    ------
    DataValidationError
        When ``id_col`` repeats values (listed).
    """
    dropped: dict[str, int] = {}
    names = frame[name_col].map(_text_or_empty)
    keep = (names != "").to_numpy()
    if (~keep).any():
        dropped[f"sin nombre en «{name_col}»"] = int((~keep).sum())
    frame, names = frame[keep], names[keep]
    duplicates: list[str] = []
    warnings: list[str] = []
    if id_col is not None:
        frame, names, slugs = _slugs_from_ids(frame, names, id_col, dropped)
    else:
        slugs, duplicates = _slugs_from_names(list(names))
        if duplicates:
            warnings.append(f"nombres repetidos numerados con -2, -3…: {', '.join(duplicates[:10])}")
    geoms = frame.geometry.to_numpy()
    points = shapely.point_on_surface(geoms)
    is_urban = shapely.contains(urban, points) if urban is not None else np.zeros(len(geoms), dtype=bool)
    out = gpd.GeoDataFrame(
        {
            "slug": slugs,
            "nombre": list(names),
            "tipo": np.where(is_urban, "sector urbano", "localidad rural"),
            "fuente": fuente,
            "fuente_geometria": fuente_geometria,
            "precision_m": pd.array([precision_m] * len(geoms), dtype="Int64"),
        },
        geometry=list(geoms),
        crs=WGS84,
    )
    out["area_km2"] = np.round(area_km2(out), 4)
    overlaps = _overlap_count(out)
    if overlaps:
        warnings.append(f"{overlaps} pares de territorios se traslapan (más de 100 m²)")
    return out[["slug", "nombre", "tipo", "fuente", "fuente_geometria", "precision_m", "area_km2", "geometry"]], dropped, duplicates, warnings


def _overlap_count(gdf: gpd.GeoDataFrame, min_m2: float = 100.0) -> int:
    """Pairs of territories overlapping by more than ``min_m2`` m² (:func:`geo.partition.overlap_pairs`)."""
    return len(partition.overlap_pairs(gdf.geometry, min_area_m2=min_m2))


# --------------------------------------------------------------------------- initiative sites


def shape_sites(
    frame: gpd.GeoDataFrame,
    id_col: str,
    catalogue: Mapping[str, str],
    fuente_geometria: str,
    precision_m: int | None,
) -> tuple[gpd.GeoDataFrame, dict[str, int], list[str], list[str], list[str]]:
    """Build a layer of initiative sites (``id``, ``nombre``, ``fuente_geometria``, ``precision_m``).

    Ids are matched to the catalogue ignoring case and spaces. Features of one id
    are combined into one (multi) geometry of their dominant family.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Clean geometries in EPSG:4326 with the id column.
    id_col : str
    catalogue : mapping
        Initiative id -> name.
    fuente_geometria : str
    precision_m : int or None

    Returns
    -------
    (geopandas.GeoDataFrame, dict, list, list, list)
        The layer (catalogue order); dropped rows by reason; repeated ids;
        unknown ids; warnings.
    """
    dropped: dict[str, int] = {}
    ids = frame[id_col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else re.sub(r"\s+", "", str(v)).upper())
    blank = (ids == "").to_numpy()
    if blank.any():
        dropped[f"sin id en «{id_col}»"] = int(blank.sum())
    known = {str(k).upper(): str(k) for k in catalogue}
    unknown_mask = ~blank & ~ids.isin(list(known)).to_numpy()
    unknown = sorted(set(ids[unknown_mask]))
    if unknown_mask.any():
        dropped["id que no está en el catálogo"] = int(unknown_mask.sum())
    keep = ~blank & ~unknown_mask
    ids = ids[keep].map(known)
    geoms = frame.geometry.to_numpy()[keep]
    duplicates = sorted(set(ids[ids.duplicated()]))
    warnings = []
    rows = []
    order = {k: i for i, k in enumerate(catalogue)}
    for ident in sorted(set(ids), key=order.get):
        group = geoms[(ids == ident).to_numpy()]
        if len(group) == 1:
            rows.append((ident, group[0]))
            continue
        family = repair.dominant_family(group)
        parts = [repair.keep_family(g, family) for g in group]
        lost = sum(p is None for p in parts)
        if lost:
            dropped["parte de otro tipo de geometría en un id repetido"] = dropped.get("parte de otro tipo de geometría en un id repetido", 0) + lost
        merged = shapely.union_all([p for p in parts if p is not None])
        merged = repair.keep_family(merged, family) or merged
        rows.append((ident, merged))
    if duplicates:
        warnings.append(f"ids repetidos unidos en una sola geometría: {', '.join(duplicates[:10])}")
    out = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "nombre": [catalogue[r[0]] for r in rows],
            "fuente_geometria": fuente_geometria,
            "precision_m": pd.array([precision_m] * len(rows), dtype="Int64"),
        },
        geometry=[r[1] for r in rows],
        crs=WGS84,
    )
    return out, dropped, duplicates, unknown, warnings
