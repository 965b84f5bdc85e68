"""layers.exchange.package: one GeoPackage layer per geometry type, read back through GDAL."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

from layers import sector
from layers.exchange import package


def mixed() -> gpd.GeoDataFrame:
    geoms = [
        shapely.Point(-70.76, -28.57),
        shapely.LineString([(-70.76, -28.57), (-70.75, -28.58)]),
        shapely.box(-70.77, -28.59, -70.76, -28.58),
        None,
        shapely.GeometryCollection([shapely.Point(-70.7, -28.5), shapely.Point(-70.71, -28.51),
                                    shapely.LineString([(-70.7, -28.5), (-70.69, -28.5)])]),
        shapely.MultiPoint([(-70.7, -28.5), (-70.71, -28.5)]),
        shapely.Point(),  # empty: no place
    ]
    return gpd.GeoDataFrame({"id": [f"x{i}" for i in range(len(geoms))], "nombre": list("abcdefg")},
                            geometry=geoms, crs=4326)


def test_parts_one_per_family_and_a_table():
    parts = dict(package.geometry_parts(mixed(), "capa"))
    assert list(parts) == ["capa_puntos", "capa_lineas", "capa_poligonos", "capa_sin_ubicacion"]
    assert list(parts["capa_puntos"]["id"]) == ["x0", "x4", "x5"]
    # the collection keeps only its points
    assert parts["capa_puntos"].geometry.iloc[1].geom_type in ("MultiPoint", "Point")
    assert list(parts["capa_sin_ubicacion"]["id"]) == ["x3", "x6"]
    assert "geometry" not in parts["capa_sin_ubicacion"].columns
    assert package.geometry_counts(mixed()) == {"point": 3, "line": 1, "polygon": 1, None: 2}


def test_gpkg_bytes_open_in_gdal_with_one_type_per_layer(tmp_path):
    path = tmp_path / "x.gpkg"
    path.write_bytes(package.gpkg_bytes(package.geometry_parts(mixed(), "capa")))
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"capa_puntos": "MultiPoint", "capa_lineas": "LineString", "capa_poligonos": "Polygon",
                      "capa_sin_ubicacion": None}
    points = pyogrio.read_dataframe(path, layer="capa_puntos")
    assert points.crs.to_epsg() == 4326 and len(points) == 3
    table = pyogrio.read_dataframe(path, layer="capa_sin_ubicacion", read_geometry=False)
    assert list(table["id"]) == ["x3", "x6"]


def test_write_gpkg_writes_at_a_path_and_keeps_the_frames_crs_in_wgs84(tmp_path):
    utm = mixed().to_crs(32719)
    path = package.write_gpkg(package.geometry_parts(utm, "capa"), tmp_path / "y.gpkg")
    assert path == tmp_path / "y.gpkg"
    lines = pyogrio.read_dataframe(path, layer="capa_lineas")
    assert lines.crs.to_epsg() == 4326
    assert lines.geometry.iloc[0].equals_exact(mixed().geometry.iloc[1], tolerance=1e-9)
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize("state, stem", [
    ({}, "iniciativas_todas"),
    ({"estrategia": ["E1", "E5"], "territorio": ["villa-el-eden"], "q": "Agua potable «rural»"},
     "iniciativas_e1_e5_villa-el-eden_agua-potable-rural"),
    ({"tipo": ["Programa"], "alcance": ["comunal"], "q": "../../etc/passwd"}, "iniciativas_programa_comunal_etc-passwd"),
    ({"q": "Ñandú Río"}, "iniciativas_nandu-rio"),
])
def test_selection_file_name(state, stem):
    assert package.selection_file_name(state) == stem


def test_selection_file_name_is_short():
    assert len(package.selection_file_name({"q": "a b " * 200})) <= package.MAX_NAME_CHARS


def test_sector_package_has_the_polygon_and_a_reason_per_initiative(shipped, tmp_path):
    slug = shipped["territories"]["slug"].iloc[0]
    summary = sector.sector_summary(slug, shipped["initiatives"], shipped["territories"], shipped["relations"])
    parts = dict(package.sector_package(summary))
    assert list(parts)[0] == "territorio"
    assert parts["territorio"].geometry.iloc[0].equals(summary.territory.geometry)
    rows = sum(len(f) for name, f in parts.items() if name != "territorio")
    assert rows == summary.counts["total"]
    for name, frame in parts.items():
        if name != "territorio":
            assert frame["motivo"].str.len().gt(0).all()
            assert (frame.loc[frame["relacion"] == "vinculada", "motivo"]
                    == f"El plan la asocia por nombre a {summary.nombre}").all()
