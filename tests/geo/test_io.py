"""RFC 7946 GeoJSON writing, read back through GDAL."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry import LineString, Point, Polygon

from geo import io as gio


def _coords(geometry: dict) -> np.ndarray:
    def walk(node):
        if isinstance(node[0], (int, float)):
            yield node
        else:
            for child in node:
                yield from walk(child)

    return np.array(list(walk(geometry["coordinates"])), dtype=float)


def _sample() -> gpd.GeoDataFrame:
    # A clockwise square with a clockwise hole, in UTM 19S near Vallenar, a line and a null.
    x0, y0 = 330_000.0, 6_838_000.0
    cw = Polygon(
        [(x0, y0), (x0, y0 + 1000), (x0 + 1000, y0 + 1000), (x0 + 1000, y0), (x0, y0)],
        holes=[[(x0 + 100, y0 + 100), (x0 + 100, y0 + 200), (x0 + 200, y0 + 200), (x0 + 200, y0 + 100)]],
    )
    assert not cw.exterior.is_ccw
    return gpd.GeoDataFrame(
        {"nombre": ["Cuadro ñandú", "Línea", "Sin lugar"], "n": [1, 2, 3]},
        geometry=[cw, LineString([(x0, y0), (x0 + 500.123456789, y0 + 10)]), None],
        crs="EPSG:32719",
    )


def test_geojson_is_rfc7946(tmp_path):
    path = tmp_path / "x.geojson"
    gio.write_geojson(_sample(), path, layer="prueba")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    features = doc["features"]
    assert [f["properties"]["nombre"] for f in features] == ["Cuadro ñandú", "Línea", "Sin lugar"]
    assert features[2]["geometry"] is None
    poly = shapely.geometry.shape(features[0]["geometry"])
    assert poly.exterior.is_ccw, "exterior ring must be counter-clockwise"
    assert all(not ring.is_ccw for ring in poly.interiors), "holes must be clockwise"
    for feature in features[:2]:
        xy = _coords(feature["geometry"])
        # lon/lat order: Vallenar is near lon -70.8, lat -28.6
        assert np.all((xy[:, 0] > -72) & (xy[:, 0] < -69)), xy
        assert np.all((xy[:, 1] > -30) & (xy[:, 1] < -27)), xy
        # at most 6 decimals
        assert np.allclose(xy, np.round(xy, 6), atol=0, rtol=0)


def test_geojson_read_back_by_gdal(tmp_path):
    path = tmp_path / "x.geojson"
    src = _sample()
    gio.write_geojson(src, path)
    back = pyogrio.read_dataframe(path)
    assert len(back) == len(src)
    assert back.crs.to_epsg() == 4326
    assert list(back["nombre"]) == list(src["nombre"])
    assert back.geometry.isna().sum() == 1
    expected = src.to_crs(4326).geometry.iloc[0]
    assert abs(back.geometry.iloc[0].area - expected.area) / expected.area < 1e-4


def test_geojson_bytes_equals_file(tmp_path):
    path = tmp_path / "x.geojson"
    gio.write_geojson(_sample(), path)
    assert gio.geojson_bytes(_sample()) == path.read_bytes()


def test_point_rounding():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(-70.123456789, -28.987654321)], crs=4326)
    doc = json.loads(gio.geojson_bytes(gdf))
    assert doc["features"][0]["geometry"]["coordinates"] == [-70.123457, -28.987654]
