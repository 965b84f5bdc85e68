"""Datums that a ``.prj`` names in words PROJ does not know (``PSAD 56 Chile``).

MapInfo, old ArcView and some municipal tools write ``.prj`` files whose
``DATUM`` has neither an EPSG code nor ``TOWGS84``. PROJ then knows only the
ellipsoid and transforms with no datum shift: PSAD56 data lands about 460 m
off in Vallenar, silently. :func:`recognise` maps the names of the datums that
Chilean data arrives in to their EPSG geographic CRS, keeping the file's
projection, and checks that the file's ellipsoid is that datum's; a datum it
cannot recognise is reported (:func:`unknown_datum`) so that the import asks
for the CRS instead of guessing.
"""

from __future__ import annotations

import re

import pyproj
from pyproj.crs import ProjectedCRS

from layers.text import fold

#: Folded datum, geographic CRS or CRS names -> EPSG geographic CRS of that datum. First match wins.
DATUM_NAMES = (
    (re.compile(r"psad[\s_-]*(19)?56|provisional[\s_]*s(outh)?[\s_]*american[\s_]*(datum[\s_]*)?(19)?56|la[\s_]*canoa"), "EPSG:4248"),
    (re.compile(r"(^|[^p])sad[\s_-]*(19)?69|south[\s_]*american[\s_]*(datum[\s_]*)?(19)?69|sa[\s_]*1969"), "EPSG:4618"),
    (re.compile(r"sirgas[\s_-]*chile"), "EPSG:5360"),
    (re.compile(r"sirgas[\s_-]*2000"), "EPSG:4674"),
    (re.compile(r"wgs[\s_-]*(19)?84"), "EPSG:4326"),
)


def _has_id(datum: object) -> bool:
    try:
        return bool(datum.to_json_dict().get("id")) or bool(datum.to_json_dict().get("members"))
    except (AttributeError, pyproj.exceptions.CRSError):
        return False


def unknown_datum(crs: pyproj.CRS) -> str | None:
    """Name of ``crs``'s datum when PROJ does not know it and no ``TOWGS84`` gives its shift, else ``None``."""
    if crs.is_bound:
        return None
    datum = crs.datum
    if datum is None or _has_id(datum):
        return None
    return datum.name


def _same_ellipsoid(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    ea, eb = a.ellipsoid, b.ellipsoid
    if ea is None or eb is None:
        return False
    return abs(ea.semi_major_metre - eb.semi_major_metre) < 1.0 and abs(ea.inverse_flattening - eb.inverse_flattening) < 0.01


def recognise(crs: pyproj.CRS) -> tuple[pyproj.CRS, str] | None:
    """``crs`` with its unknown datum replaced by the EPSG one its name says, and that datum's name.

    Parameters
    ----------
    crs : pyproj.CRS
        A CRS read from a ``.prj`` whose datum :func:`unknown_datum` reports.

    Returns
    -------
    (pyproj.CRS, str) or None
        The same projection on the recognised datum (the EPSG CRS when one
        matches, e.g. EPSG:24879 for PSAD56 / UTM 19S) and the EPSG geographic
        CRS it was mapped to; ``None`` when no name matches or the file's
        ellipsoid is not that datum's.
    """
    names = [fold(n, lower=True) for n in (crs.datum.name, crs.geodetic_crs.name if crs.geodetic_crs else "", crs.name)]
    code = next((c for name in names for pattern, c in DATUM_NAMES if pattern.search(name)), None)
    if code is None:
        return None
    geographic = pyproj.CRS(code)
    if not _same_ellipsoid(crs, geographic):
        return None
    if crs.is_projected and crs.coordinate_operation is not None:
        built = ProjectedCRS(conversion=crs.coordinate_operation, geodetic_crs=geographic)
        epsg = built.to_epsg(min_confidence=70)
        return (pyproj.CRS.from_epsg(epsg) if epsg else built), code
    if crs.is_geographic:
        return geographic, code
    return None
