"""Voronoi partitions, bounded Voronoi cells and tiling checks (geo/partition.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from geo import partition

# A 10 km square in UTM 19S near Vallenar.
X0, Y0 = 330_000.0, 6_830_000.0
SQUARE = box(X0, Y0, X0 + 10_000, Y0 + 10_000)


def _seeds(xy, crs="EPSG:32719", index=None) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(x, y) for x, y in xy], crs=crs, index=index)


def _assert_tiles(cells: gpd.GeoSeries, region, tol_m2: float = 1e-3) -> None:
    metric = cells.to_crs("EPSG:32719")
    region_m = gpd.GeoSeries([region], crs=cells.crs).to_crs("EPSG:32719").iloc[0]
    assert partition.overlap_pairs(cells, min_area_m2=tol_m2).empty
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(metric.array), region_m)) < tol_m2
    assert abs(metric.area.sum() - region_m.area) < tol_m2


def test_partition_tiles_square_with_one_polygon_per_seed():
    xy = [(X0 + 2000, Y0 + 2000), (X0 + 8000, Y0 + 2500), (X0 + 5000, Y0 + 8000), (X0 + 5200, Y0 + 4800), (X0 + 9000, Y0 + 9000)]
    seeds = _seeds(xy, index=["a", "b", "c", "d", "e"])
    cells = partition.voronoi_partition(seeds, SQUARE)
    assert list(cells.index) == ["a", "b", "c", "d", "e"]
    assert cells.crs == seeds.crs
    assert (cells.geom_type == "Polygon").all() and cells.is_valid.all()
    assert shapely.covers(cells.array, seeds.array).all()
    _assert_tiles(cells, SQUARE)


def test_partition_cells_are_nearest_seed_regions():
    xy = [(X0 + 2000, Y0 + 5000), (X0 + 8000, Y0 + 5000)]
    cells = partition.voronoi_partition(_seeds(xy), SQUARE)
    # The bisector is the vertical line x = X0 + 5000: each half is 50 km².
    assert np.allclose(cells.area, 50e6)
    assert cells.iloc[0].covers(Point(X0 + 4999, Y0 + 1))
    assert cells.iloc[1].covers(Point(X0 + 5001, Y0 + 9999))


def test_detached_pieces_go_to_the_neighbour_with_the_longest_border():
    # A U-shaped region: a 2 km wide notch cut from the top of the square. The seed
    # just below the notch has a Voronoi cell that widens upwards, so clipping it to
    # the U leaves it three pieces: its own in the base and one in each arm.
    notch = box(X0 + 4000, Y0 + 3000, X0 + 6000, Y0 + 10_000)
    region = shapely.difference(SQUARE, notch)
    xy = [(5000, 2900), (3400, 2300), (6600, 2300), (1000, 9500), (9000, 9500)]
    seeds = _seeds([(X0 + x, Y0 + y) for x, y in xy])
    raw = shapely.voronoi_polygons(shapely.multipoints(seeds.array), extend_to=region, ordered=True)
    clipped = shapely.intersection(shapely.get_parts(raw), region)
    assert shapely.get_num_geometries(clipped)[0] == 3  # the case under test does arise

    cells = partition.voronoi_partition(seeds, region)
    assert (cells.geom_type == "Polygon").all()
    assert shapely.covers(cells.array, seeds.array).all()
    _assert_tiles(cells, region)
    # The arm pieces went to the two seeds beside the notch, whose cells border them.
    own = [p for p in shapely.get_parts(clipped[0]) if p.covers(seeds.iloc[0])][0]
    assert cells.iloc[0].area == pytest.approx(own.area)
    assert cells.iloc[1].area > clipped[1].area and cells.iloc[2].area > clipped[2].area
    assert cells.iloc[3].area == pytest.approx(clipped[3].area)


def test_partition_in_geographic_crs_is_computed_in_metres_and_returned_in_degrees():
    region = box(-70.80, -28.61, -70.72, -28.54)
    seeds = _seeds([(-70.759, -28.576), (-70.750, -28.555), (-70.775, -28.590)], crs="EPSG:4326")
    cells = partition.voronoi_partition(seeds, region)
    assert cells.crs == "EPSG:4326"
    assert shapely.covers(cells.array, seeds.array).all()
    _assert_tiles(cells, region, tol_m2=1.0)


def test_single_seed_gets_the_whole_region():
    cells = partition.voronoi_partition(_seeds([(X0 + 1, Y0 + 1)]), SQUARE)
    assert shapely.equals(cells.iloc[0], SQUARE)


@pytest.mark.parametrize(
    "seeds",
    [
        _seeds([(X0 - 10, Y0 + 10), (X0 + 10, Y0 + 10)]),  # one outside
        _seeds([(X0 + 10, Y0 + 10), (X0 + 10, Y0 + 10)]),  # repeated
        gpd.GeoSeries([box(X0 + 1, Y0 + 1, X0 + 2, Y0 + 2)], crs="EPSG:32719"),  # not a point
        gpd.GeoSeries([Point(X0 + 1, Y0 + 1)]),  # no CRS
        gpd.GeoSeries([], crs="EPSG:32719"),  # nothing
    ],
)
def test_partition_rejects_bad_seeds(seeds):
    with pytest.raises(ValueError):
        partition.voronoi_partition(seeds, SQUARE)


def test_bounded_voronoi_discs_do_not_overlap_and_stay_in_region():
    xy = [(X0 + 1000, Y0 + 5000), (X0 + 2200, Y0 + 5000), (X0 + 8000, Y0 + 8000), (X0 + 9800, Y0 + 200)]
    radii = [1000.0, 1000.0, 500.0, 800.0]
    seeds = _seeds(xy)
    shapes = partition.bounded_voronoi(seeds, radii, SQUARE)
    assert (shapes.geom_type == "Polygon").all() and shapes.is_valid.all()
    assert partition.overlap_pairs(shapes, min_area_m2=1e-6).empty
    assert shapely.covered_by(shapes.array, SQUARE).all()
    assert shapely.covers(shapes.array, seeds.array).all()
    # Each shape stays within its radius; the isolated seed gets its whole disc.
    dist = shapely.hausdorff_distance(shapes.array, seeds.array)
    assert (dist <= np.array(radii) + 1e-6).all()
    assert shapes.iloc[2].area == pytest.approx(np.pi * 500**2, rel=0.01)
    # The two close seeds split along their bisector x = X0 + 1600.
    assert shapes.iloc[0].bounds[2] == pytest.approx(X0 + 1600)
    # The corner seed is clipped by the region.
    assert shapes.iloc[3].area < 0.5 * np.pi * 800**2


def test_bounded_voronoi_rejects_bad_radius_and_outside_seed():
    with pytest.raises(ValueError):
        partition.bounded_voronoi(_seeds([(X0 + 5, Y0 + 5)]), [0.0], SQUARE)
    with pytest.raises(ValueError):
        partition.bounded_voronoi(_seeds([(X0 + 5, Y0 + 5), (X0 + 50, Y0 + 5)]), [10.0], SQUARE)
    with pytest.raises(ValueError):
        partition.bounded_voronoi(_seeds([(X0 - 5, Y0 + 5)]), [10.0], SQUARE)


def test_overlap_pairs_and_uncovered_area_measure_in_square_metres():
    a = box(X0, Y0, X0 + 1000, Y0 + 1000)
    b = box(X0 + 900, Y0, X0 + 2000, Y0 + 1000)  # 100 m x 1000 m overlap with a
    c = box(X0 + 2000, Y0, X0 + 3000, Y0 + 1000)  # touches b along an edge only
    geoms = gpd.GeoSeries([a, b, c], crs="EPSG:32719")
    pairs = partition.overlap_pairs(geoms)
    assert pairs[["i", "j"]].values.tolist() == [[0, 1]]
    assert pairs["area_m2"].iloc[0] == pytest.approx(100_000)
    assert partition.overlap_pairs(geoms, min_area_m2=200_000).empty

    region = box(X0, Y0, X0 + 3000, Y0 + 1500)  # 3000 x 500 m strip above uncovered
    assert partition.uncovered_area(geoms, region) == pytest.approx(1_500_000)
    # A sliver thinner than the inset along the region's edge does not count.
    slightly_bigger = box(X0 - 0.05, Y0 - 0.05, X0 + 3000, Y0 + 1000)
    assert partition.uncovered_area(geoms, slightly_bigger) > 0
    assert partition.uncovered_area(geoms, slightly_bigger, inset_m=1.0) == pytest.approx(0.0, abs=1e-6)
