"""Cleaning geometries: Z dropped, invalid ones repaired within their family, unusable ones dropped."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPoint, Point, Polygon

from geo import repair

BOWTIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
SQUARE = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])


def test_families_and_dominant():
    geoms = [Point(0, 0), MultiPoint([(0, 0), (1, 1)]), LineString([(0, 0), (1, 1)]), SQUARE, None]
    assert list(repair.families(geoms)) == ["point", "point", "line", "polygon", None]
    assert repair.dominant_family(geoms) == "point"
    # ties go to the higher dimension; collections count for their largest parts
    assert repair.dominant_family([Point(0, 0), SQUARE]) == "polygon"
    assert repair.dominant_family([GeometryCollection([SQUARE, Point(5, 5)]), Point(0, 0)]) == "polygon"
    assert repair.dominant_family([None]) is None


def test_bowtie_is_repaired_into_polygons_and_counted():
    result = repair.clean_geometries([BOWTIE, SQUARE])
    assert result.keep.all()
    assert list(result.repaired) == [True, False]
    fixed = result.geometries[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert abs(fixed.area - 2.0) < 1e-9
    assert result.geometries[1].equals(SQUARE)


def test_unusable_geometries_are_dropped_with_reasons():
    collapsed = Polygon([(0, 0), (1, 1), (0, 0), (0, 0)])
    nan_point = Point(float("nan"), 1)
    inf_line = LineString([(0, 0), (float("inf"), 1)])
    geoms = [None, Polygon(), nan_point, inf_line, collapsed, SQUARE]
    result = repair.clean_geometries(geoms)
    assert list(result.reasons) == ["null", "empty", "non_finite", "non_finite", "collapsed", None]
    assert result.dropped == {"null": 1, "empty": 1, "non_finite": 2, "collapsed": 1}
    assert list(result.keep) == [False] * 5 + [True]
    assert all(g is None for g in result.geometries[:5])


def test_z_is_dropped_and_reported():
    result = repair.clean_geometries([Point(1, 2, 3), Polygon([(0, 0, 5), (1, 0, 5), (1, 1, 5)])])
    assert result.had_z
    assert not shapely.has_z(result.geometries).any()
    assert repair.clean_geometries([Point(1, 2)]).had_z is False


def test_keep_family_filters_and_reduces_collections():
    collection = GeometryCollection([SQUARE, LineString([(5, 5), (6, 6)]), Point(9, 9)])
    result = repair.clean_geometries([Point(0, 0), LineString([(0, 0), (1, 1)]), collection, SQUARE], keep=["polygon"])
    assert list(result.reasons) == ["other_family", "other_family", None, None]
    assert result.geometries[2].equals(SQUARE)
    assert result.dropped == {"other_family": 2}


def test_keep_family_builds_multi_geometries():
    gc = GeometryCollection([Point(0, 0), Point(1, 1), LineString([(0, 0), (1, 0)])])
    assert repair.keep_family(gc, "point").geom_type == "MultiPoint"
    assert repair.keep_family(gc, "line").geom_type == "LineString"
    assert repair.keep_family(gc, "polygon") is None
    assert repair.keep_family(None, "point") is None


def test_finite_ignores_z_and_missing():
    assert list(repair.finite(np.array([Point(0, 0), None, Point(0, float("nan"))], dtype=object))) == [True, False, False]
    assert repair.finite([Point(0, 0, float("nan"))])[0]
