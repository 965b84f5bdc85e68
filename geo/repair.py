"""Cleaning geometries read from files people bring: drop Z, repair, sort by family.

Pure geometry, no domain knowledge and no CRS change. Everything works on numpy
arrays of shapely geometries with vectorised shapely 2 calls. Reasons why a
geometry is dropped are short English codes (:data:`REASONS`) that the caller
translates for people.

Geometry *families* group the OGC types the way GIS formats do:
``"point"`` (Point, MultiPoint), ``"line"`` (LineString, LinearRing,
MultiLineString), ``"polygon"`` (Polygon, MultiPolygon) and ``"collection"``
(GeometryCollection). A Shapefile holds one family; a territory is a polygon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

#: Shapely type id (:func:`shapely.get_type_id`) -> family; the one table of geometry families.
FAMILY_BY_TYPE_ID: dict[int, str] = {
    0: "point", 4: "point",
    1: "line", 2: "line", 5: "line",
    3: "polygon", 6: "polygon",
    7: "collection",
}
#: Geometry type name (``"MultiPolygon"``, as :attr:`shapely.Geometry.geom_type` and GDAL write it) -> family.
FAMILY_BY_TYPE_NAME: dict[str, str] = dict(zip(
    ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
     "GeometryCollection"),
    (FAMILY_BY_TYPE_ID[i] for i in range(8)),
    strict=True,
))
#: Families in order of dimension (the dominant family wins ties by this order, highest first).
FAMILIES = ("polygon", "line", "point")

#: Codes of the reasons a geometry is dropped by :func:`clean_geometries`.
REASONS = {
    "null": "geometry missing",
    "non_finite": "coordinates that are not finite numbers (NaN, infinity)",
    "empty": "empty geometry",
    "collapsed": "geometry that collapses to nothing when repaired",
    "other_family": "geometry of a family the layer does not keep",
}


@dataclass
class CleanResult:
    """Outcome of :func:`clean_geometries`.

    Attributes
    ----------
    geometries : numpy.ndarray of shapely geometries
        Cleaned geometries, same length as the input; ``None`` where dropped.
    keep : numpy.ndarray of bool
        True for the rows that keep a geometry.
    repaired : numpy.ndarray of bool
        True for the rows whose geometry was invalid and was repaired.
    reasons : numpy.ndarray of object
        Code of :data:`REASONS` for dropped rows, ``None`` for kept ones.
    had_z : bool
        True when some input geometry had a Z coordinate (it is dropped).
    """

    geometries: np.ndarray
    keep: np.ndarray
    repaired: np.ndarray
    reasons: np.ndarray
    had_z: bool = False
    dropped: dict[str, int] = field(default_factory=dict)


def families(geoms: Sequence | np.ndarray) -> np.ndarray:
    """Family of each geometry (:data:`FAMILIES` or ``"collection"``), ``None`` for missing ones.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Any CRS.

    Returns
    -------
    numpy.ndarray of object
    """
    arr = np.asarray(geoms, dtype=object)
    ids = shapely.get_type_id(arr)
    return np.array([FAMILY_BY_TYPE_ID.get(int(i)) for i in ids], dtype=object)


def dominant_family(geoms: Sequence | np.ndarray) -> str | None:
    """The family most geometries belong to (ties go to the higher dimension).

    Geometry collections count for the family of their highest-dimension parts.
    ``None`` when no geometry is present.
    """
    fams = [_collection_family(g) if f == "collection" else f for g, f in zip(geoms, families(geoms))]
    counts = {fam: fams.count(fam) for fam in FAMILIES}
    best = max(FAMILIES, key=lambda fam: (counts[fam], -FAMILIES.index(fam)))
    return best if counts[best] else None


def _collection_family(geom: shapely.Geometry) -> str | None:
    """Family of the highest-dimension non-empty parts of a collection."""
    parts = shapely.get_parts(geom)
    present = set(families(parts[~shapely.is_empty(parts)])) if len(parts) else set()
    return next((fam for fam in FAMILIES if fam in present), None)


def keep_family(geom: shapely.Geometry | None, family: str) -> shapely.Geometry | None:
    """The parts of ``geom`` that belong to ``family``, as one (multi) geometry.

    Parameters
    ----------
    geom : shapely geometry or None
    family : {"point", "line", "polygon"}

    Returns
    -------
    shapely geometry or None
        ``geom`` itself when it already is of that family; a single or multi
        geometry made of the matching parts of a collection; ``None`` when no
        part matches.
    """
    if geom is None:
        return None
    fam = families([geom])[0]
    if fam == family:
        return geom
    if fam != "collection":
        return None
    parts = _flatten(geom)
    parts = [p for p, f in zip(parts, families(parts)) if f == family and not p.is_empty]
    if not parts:
        return None
    singles = [s for p in parts for s in shapely.get_parts(p)]
    if len(singles) == 1:
        return singles[0]
    if family == "point":
        return shapely.MultiPoint(singles)
    if family == "line":
        return shapely.MultiLineString(singles)
    return shapely.MultiPolygon(singles)


def _flatten(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """Non-collection parts of a (possibly nested) geometry collection."""
    out = []
    for part in shapely.get_parts(geom):
        if shapely.get_type_id(part) == 7:
            out.extend(_flatten(part))
        else:
            out.append(part)
    return out


def finite(geoms: Sequence | np.ndarray) -> np.ndarray:
    """True for geometries whose every x and y is a finite number (missing ones: False; Z is ignored)."""
    arr = np.asarray(geoms, dtype=object)
    ok = ~shapely.is_missing(arr)
    coords, index = shapely.get_coordinates(arr, return_index=True)
    if len(coords):
        bad_rows = np.unique(index[~np.isfinite(coords).all(axis=1)])
        ok[bad_rows] = False
    return ok


def clean_geometries(geoms: Sequence | np.ndarray, keep: Sequence[str] | None = None) -> CleanResult:
    """Drop Z, repair invalid geometries and drop the unusable ones.

    Steps, in order: missing geometries are dropped (``null``); geometries with
    NaN or infinite coordinates are dropped (``non_finite``); Z is dropped; empty
    geometries are dropped (``empty``); invalid ones are repaired with
    :func:`shapely.make_valid` (polygons with the ``structure`` method, so that a
    polygon stays a polygon) and the repair keeps only the parts of the original
    family; a repair that leaves nothing drops the row (``collapsed``). With
    ``keep``, geometries of other families are dropped (``other_family``) and
    collections are reduced to the parts of the kept families.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Any CRS (validity does not depend on it).
    keep : sequence of str, optional
        Families to keep (:data:`FAMILIES`); all when omitted.

    Returns
    -------
    CleanResult
    """
    arr = np.array(list(geoms), dtype=object) if not isinstance(geoms, np.ndarray) else geoms.astype(object)
    n = len(arr)
    out = arr.copy()
    reasons = np.full(n, None, dtype=object)
    repaired = np.zeros(n, dtype=bool)

    missing = shapely.is_missing(out)
    reasons[missing] = "null"
    bad = ~missing & ~finite(out)
    reasons[bad] = "non_finite"
    alive = reasons == None  # noqa: E711 - elementwise comparison
    had_z = bool(shapely.has_z(out[alive]).any()) if alive.any() else False
    if had_z:
        out[alive] = shapely.force_2d(out[alive])
    empty = alive & shapely.is_empty(out)
    reasons[empty] = "empty"
    alive &= ~empty

    invalid = np.zeros(n, dtype=bool)
    invalid[alive] = ~shapely.is_valid(out[alive])
    for i in np.flatnonzero(invalid):
        fixed = _repair_one(out[i])
        if fixed is None or fixed.is_empty:
            reasons[i] = "collapsed"
            out[i] = None
        else:
            out[i] = fixed
            repaired[i] = True
    alive &= reasons == None  # noqa: E711

    if keep is not None:
        wanted = [f for f in FAMILIES if f in set(keep)]
        for i in np.flatnonzero(alive):
            geom = out[i]
            fam = families([geom])[0]
            if fam in wanted:
                continue
            reduced = None
            if fam == "collection":
                reduced = next((g for g in (keep_family(geom, f) for f in wanted) if g is not None), None)
            if reduced is None:
                reasons[i] = "other_family"
                out[i] = None
            else:
                out[i] = reduced
    keep_mask = reasons == None  # noqa: E711
    out[~keep_mask] = None
    dropped: dict[str, int] = {}
    for code in reasons[~keep_mask]:
        dropped[code] = dropped.get(code, 0) + 1
    return CleanResult(out, keep_mask, repaired & keep_mask, reasons, had_z, dropped)


def _repair_one(geom: shapely.Geometry) -> shapely.Geometry | None:
    """A valid version of ``geom`` of the same family, or ``None`` when nothing is left."""
    fam = families([geom])[0]
    if fam == "polygon":
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    else:
        fixed = shapely.make_valid(geom)
    if fam in FAMILIES:
        fixed = keep_family(fixed, fam)
    if fixed is None or fixed.is_empty or not fixed.is_valid:
        return None
    return fixed
