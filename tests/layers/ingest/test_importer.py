"""Importing layers: every format, the Chilean CRS, the rules of each kind, and clean refusals.

Every file is generated in the test (pyogrio, zipfile, plain text) and imported
into a private store (:func:`fresh_store`); refusals leave the store byte-identical.
"""

from __future__ import annotations

import json
import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from layers import settings, store, territory_layers
from layers._errors import DataValidationError, InputFileError, SitError, UnknownLayerError
from layers.ingest import importer
from tests.layers.ingest._import_fixtures import (
    DOMEYKO,
    HERMANOS_CARRERA,
    NAMES,
    PLAZA,
    bad_input_files,
    city_units,
    points_layer,
    squares_layer,
    store_hash,
    transform,
    write,
    zip_files,
    zipped_shapefile,
)

CHILEAN = ["EPSG:32719", "EPSG:5361", "EPSG:5360", "EPSG:24879", "EPSG:29189"]


def _hausdorff_m(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Hausdorff distance in metres (EPSG:32719) between two WGS 84 geometries."""
    ga, gb = gpd.GeoSeries([a, b], crs="EPSG:4326").to_crs("EPSG:32719")
    return ga.hausdorff_distance(gb)


# --------------------------------------------------------------------------- formats


def test_geojson_with_legacy_crs_member_and_z(fresh_store, tmp_path):
    xy = transform([PLAZA, HERMANOS_CARRERA], "EPSG:32719")
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32719"}},
        "features": [
            {"type": "Feature", "properties": {"nombre": n, "Código Único": i}, "geometry": {"type": "Point", "coordinates": [x, y, 380.0]}}
            for i, (n, (x, y)) in enumerate(zip(["Plaza", "Población"], xy))
        ],
    }
    path = tmp_path / "antiguo.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    report = importer.import_file(path, as_="referencia", layer="antiguo")
    assert report.crs_origin.startswith("EPSG:32719")
    assert report.n_read == report.n_stored == 2
    assert any("Z" in w for w in report.warnings)
    stored = store.read_layer("antiguo")
    assert stored.crs == "EPSG:4326"
    assert not shapely.has_z(stored.geometry.array).any()
    assert _hausdorff_m(stored.geometry.iloc[0], Point(PLAZA)) < 0.01
    assert "codigo_unico" in stored.columns  # field names sanitised


@pytest.mark.parametrize("encoding, cpg", [("latin1", False), ("latin1", True), ("utf-8", False), ("utf-8", True)])
def test_shapefile_accents_with_or_without_cpg(fresh_store, tmp_path, encoding, cpg):
    archive = zipped_shapefile(points_layer("EPSG:24879"), tmp_path, "puntos", encoding=encoding, cpg=cpg)
    report = importer.import_file(archive, as_="referencia", layer="puntos")
    assert list(store.read_layer("puntos")["nombre"]) == NAMES
    if not cpg:
        expected = "CP1252" if encoding == "latin1" else "UTF-8"
        assert report.encoding == expected
        assert any("sin codificación declarada" in w for w in report.warnings)


def test_shapefile_encoding_override(fresh_store, tmp_path):
    archive = zipped_shapefile(points_layer("EPSG:32719"), tmp_path, "p", encoding="latin1", cpg=False)
    importer.import_file(archive, as_="referencia", layer="p_latin", encoding="ISO-8859-1")
    assert list(store.read_layer("p_latin")["nombre"]) == NAMES
    before = store_hash()
    with pytest.raises(InputFileError, match=r"no se puede leer como UTF-8; sí se puede como CP1252\.$") as info:
        importer.import_file(archive, as_="referencia", layer="p_utf", encoding="utf-8")
    assert info.value.code == "bad_encoding" and info.value.data["suggested"] == "CP1252"
    with pytest.raises(InputFileError, match="Codificación desconocida"):
        importer.import_file(archive, as_="referencia", layer="p_x", encoding="klingon")
    assert store_hash() == before


def test_psad56_points_land_where_they_should(fresh_store, tmp_path):
    archive = zipped_shapefile(points_layer("EPSG:24879"), tmp_path, "psad", encoding="latin1", cpg=False)
    report = importer.import_file(archive, as_="referencia", layer="psad")
    assert report.crs_origin == "EPSG:24879 (PSAD56 / UTM 19S)"
    stored = store.read_layer("psad")
    for geom, place in zip(stored.geometry, [PLAZA, HERMANOS_CARRERA, DOMEYKO]):
        assert _hausdorff_m(geom, Point(place)) < 0.01


def test_geopackage_with_several_layers_needs_a_choice(fresh_store, tmp_path):
    path = tmp_path / "varias.gpkg"
    write(points_layer("EPSG:32719"), path, layer="puntos")
    write(squares_layer("EPSG:32719"), path, layer="cuadros")
    write(pd.DataFrame({"x": [1]}), path, layer="tabla")
    assert [r["capa"] for r in importer.inspect(path)] == ["puntos", "cuadros"]
    before = store_hash()
    with pytest.raises(InputFileError, match="varias capas.*«puntos», «cuadros».*elija una") as info:
        importer.import_file(path, as_="referencia", layer="xx")
    assert info.value.code == "several_layers" and info.value.data["layers"] == ["puntos", "cuadros"]
    with pytest.raises(InputFileError, match="no tiene la capa «rios»; tiene: «puntos», «cuadros»"):
        importer.import_file(path, as_="referencia", layer="xx", gpkg_layer="rios")
    assert store_hash() == before
    report = importer.import_file(path, as_="territorios", layer="cuadros", gpkg_layer="cuadros", name_field="NOMBRE")
    assert report.source_layer == "cuadros" and report.n_stored == 3


def test_kml_and_kmz(fresh_store, tmp_path):
    kml = tmp_path / "lugares.kml"
    write(points_layer(), kml, driver="KML", dataset_options={"NameField": "nombre"})
    report = importer.import_file(kml, as_="referencia", layer="sitios")
    stored = store.read_layer("sitios")
    assert report.n_stored == 3 and report.crs_origin.startswith("EPSG:4326")
    assert list(stored["name"]) == NAMES
    assert "altitudemode" not in stored.columns  # LIBKML styling fields left out
    kmz = tmp_path / "lugares.kmz"
    with zipfile.ZipFile(kmz, "w") as archive:
        archive.write(kml, "doc.kml")
    report = importer.import_file(kmz, as_="referencia", layer="lugares_kmz")
    assert report.source_format == "KMZ"
    assert list(store.read_layer("lugares_kmz")["name"]) == NAMES


def test_kml_territories_from_polygons(fresh_store, tmp_path):
    kml = tmp_path / "sectores.kml"
    write(squares_layer(), kml, driver="KML", dataset_options={"NameField": "NOMBRE"})
    report = importer.import_file(kml, as_="territorios", layer="sectores_kml", name_field="name")
    assert report.n_stored == 3
    assert list(store.read_layer("sectores_kml")["nombre"]) == NAMES


def test_csv_lat_lon(fresh_store, tmp_path):
    path = tmp_path / "puntos.csv"
    rows = ["nombre,lat,lon,cut"] + [f'"{n}",{y},{x},03301' for n, (x, y) in zip(NAMES, [PLAZA, HERMANOS_CARRERA, DOMEYKO])]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = importer.import_file(path, as_="referencia", layer="csv_latlon")
    stored = store.read_layer("csv_latlon")
    assert report.crs_origin.startswith("EPSG:4326")
    assert list(stored["nombre"]) == NAMES
    assert list(stored["cut"]) == ["03301"] * 3  # text kept as text
    assert stored.geometry.iloc[0].equals(Point(PLAZA))


def test_csv_latitud_longitud_semicolon_decimal_comma_latin1(fresh_store, tmp_path):
    path = tmp_path / "excel.csv"
    rows = ["Nombre;Latitud;Longitud"] + [f"{n};{str(y).replace('.', ',')};{str(x).replace('.', ',')}" for n, (x, y) in zip(NAMES, [PLAZA, HERMANOS_CARRERA, DOMEYKO])]
    rows.append("Sin lugar;;")
    rows.append("Mal;abc;-70,7")
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("latin-1"))
    report = importer.import_file(path, as_="referencia", layer="csv_excel")
    assert report.encoding == "CP1252"  # Windows-1252, the superset Excel writes
    assert report.n_read == 5 and report.n_stored == 3
    assert report.dropped == {"coordenadas no numéricas": 1, "sin geometría": 1}
    assert list(store.read_layer("csv_excel")["nombre"]) == NAMES


def test_csv_xy_needs_crs(fresh_store, tmp_path):
    path = tmp_path / "utm.csv"
    xy = transform([PLAZA, HERMANOS_CARRERA], "EPSG:32719")
    path.write_text("id,x,y\n" + "\n".join(f"{i},{x:.2f},{y:.2f}" for i, (x, y) in enumerate(xy)) + "\n", encoding="utf-8")
    before = store_hash()
    with pytest.raises(InputFileError, match="no declara su sistema de coordenadas.*indicarlo.*calzan con EPSG:32719") as info:
        importer.import_file(path, as_="referencia", layer="utm")
    assert info.value.code == "crs_missing" and info.value.data["suggested"][0] == "EPSG:32719"
    assert store_hash() == before
    report = importer.import_file(path, as_="referencia", layer="utm", crs="32719")
    assert report.crs_origin.startswith("EPSG:32719")
    assert _hausdorff_m(store.read_layer("utm").geometry.iloc[0], Point(PLAZA)) < 0.01


def test_csv_wkt_column(fresh_store, tmp_path):
    path = tmp_path / "wkt.csv"
    squares = squares_layer()
    lines = ["nombre,wkt"] + [f'"{n}","{g.wkt}"' for n, g in zip(NAMES, squares.geometry)] + ['"roto","POLYGON ((1 2, 3"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = importer.import_file(path, as_="territorios", layer="wkt_terr", name_field="nombre", crs="EPSG:4326")
    assert report.n_read == 4 and report.n_stored == 3
    assert report.dropped == {"WKT ilegible": 1}


def test_csv_without_geometry_columns_is_refused(fresh_store, tmp_path):
    path = tmp_path / "tabla.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no tiene columnas de geometría.*Columnas: a, b"):
        importer.import_file(path, as_="referencia", layer="tabla_x")


# --------------------------------------------------------------------------- CRS


@pytest.mark.parametrize("crs", CHILEAN)
def test_each_chilean_crs(fresh_store, tmp_path, crs):
    path = tmp_path / "cuadros.gpkg"
    write(squares_layer(crs), path, layer="cuadros")
    assert pyogrio.read_info(path)["crs"] == crs
    report = importer.import_file(path, as_="territorios", layer="cuadros", name_field="NOMBRE", id_field="COD")
    assert report.crs_origin.startswith(crs)
    stored = store.read_layer("cuadros")
    expected = squares_layer("EPSG:4326")
    for got, want in zip(stored.geometry, expected.geometry):
        assert _hausdorff_m(got, want) < 0.05
    assert list(stored["slug"]) == ["t-1", "t-2", "t-3"]
    assert np.allclose(stored["area_km2"], 0.16, atol=1e-3)


def test_crs_option_wins_over_declared(fresh_store, tmp_path):
    # Coordinates in PSAD56 but the file says WGS 84 / UTM 19S: --crs fixes it.
    frame = points_layer("EPSG:24879").set_crs("EPSG:32719", allow_override=True)
    path = write(frame, tmp_path / "mal.gpkg")
    report = importer.import_file(path, as_="referencia", layer="corregida", crs="EPSG:24879")
    assert "declaraba EPSG:32719" in report.crs_note
    assert _hausdorff_m(store.read_layer("corregida").geometry.iloc[0], Point(PLAZA)) < 0.01


def test_swapped_axes_are_diagnosed(fresh_store, tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [y, x]}}
            for x, y in [PLAZA, HERMANOS_CARRERA, DOMEYKO]
        ],
    }
    path = tmp_path / "invertido.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = store_hash()
    with pytest.raises(DataValidationError, match=r"fuera de la comuna.*¿ejes invertidos \(lat/lon\)\?"):
        importer.import_file(path, as_="referencia", layer="invertido")
    assert store_hash() == before


def test_metric_coordinates_declared_geographic(fresh_store, tmp_path):
    xy = transform([PLAZA, HERMANOS_CARRERA], "EPSG:32719")
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [x, y]}} for x, y in xy
    ]}
    path = tmp_path / "metros.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"parecen métricas.*¿sistema de coordenadas equivocado\? Pruebe el SRC EPSG:32719") as info:
        importer.import_file(path, as_="referencia", layer="metros")
    assert info.value.code == "outside_commune" and info.value.data["suggested"][0] == "EPSG:32719"


def test_degrees_declared_metric(fresh_store, tmp_path):
    frame = points_layer("EPSG:4326").set_crs("EPSG:32719", allow_override=True)
    path = write(frame, tmp_path / "grados.gpkg")
    with pytest.raises(DataValidationError, match=r"parecen grados.*Pruebe el SRC EPSG:4326"):
        importer.import_file(path, as_="referencia", layer="grados")


def test_wrong_utm_zone_suggests_the_right_crs(fresh_store, tmp_path):
    frame = points_layer("EPSG:32719").set_crs("EPSG:32718", allow_override=True)
    path = write(frame, tmp_path / "zona.gpkg")
    with pytest.raises(DataValidationError, match=r"¿sistema de coordenadas equivocado\? Pruebe el SRC EPSG:32719"):
        importer.import_file(path, as_="referencia", layer="zona")


def test_layer_elsewhere_in_chile_is_refused(fresh_store, tmp_path):
    santiago = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(-70.65, -33.45), Point(-70.6, -33.4)], crs="EPSG:4326")
    path = write(santiago, tmp_path / "santiago.geojson")
    with pytest.raises(DataValidationError, match=r"100 % de sus elementos fuera.*Revise que la capa sea de la comuna"):
        importer.import_file(path, as_="referencia", layer="santiago")


def test_minority_outside_is_accepted_and_reported(fresh_store, tmp_path):
    frame = gpd.GeoDataFrame(
        {"n": [1, 2, 3]}, geometry=[Point(PLAZA), Point(HERMANOS_CARRERA), Point(-70.65, -33.45)], crs="EPSG:4326"
    )
    report = importer.import_file(write(frame, tmp_path / "casi.geojson"), as_="referencia", layer="casi")
    assert report.n_stored == 3 and report.outside_share == pytest.approx(1 / 3, abs=1e-3)
    assert "Fuera de la comuna: 33 %" in importer.format_report(report)


def test_shapefile_without_prj_needs_crs(fresh_store, tmp_path):
    archive = zipped_shapefile(points_layer("EPSG:29189"), tmp_path, "sinprj", prj=False)
    with pytest.raises(InputFileError, match=r"no declara su sistema de coordenadas \(el Shapefile no trae \.prj\)"):
        importer.import_file(archive, as_="referencia", layer="sinprj")
    report = importer.import_file(archive, as_="referencia", layer="sinprj", crs="EPSG:29189")
    assert report.crs_note == "indicado al importar"
    assert _hausdorff_m(store.read_layer("sinprj").geometry.iloc[0], Point(PLAZA)) < 0.01


# --------------------------------------------------------------------------- territories


def test_territory_layer_schema_and_tipo(fresh_store, tmp_path):
    units = city_units().to_crs("EPSG:5361")
    archive = zipped_shapefile(units, tmp_path, "uv", encoding="latin1", cpg=False)
    report = importer.import_file(archive, as_="territorios", layer="unidades_vecinales", name_field="NOMBRE", id_field="COD_UV")
    stored = store.read_layer("unidades_vecinales")
    assert list(stored.columns) == ["slug", "nombre", "tipo", "fuente", "fuente_geometria", "precision_m", "area_km2", "geometry"]
    assert report.n_stored == len(units) == len(stored)
    assert stored["slug"].iloc[0] == "uv-01" and stored["slug"].iloc[-1] == "uv-r1"
    assert stored["nombre"].iloc[0] == "Unidad Vecinal N° 1"
    assert set(stored["tipo"].iloc[:-1]) == {"sector urbano"}
    assert stored["tipo"].iloc[-1] == "localidad rural"
    assert stored.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    metric = stored.to_crs("EPSG:32719").area / 1e6
    assert np.allclose(stored["area_km2"], metric, atol=1e-3)
    assert "uv.zip" in stored["fuente"].iloc[0] and "EPSG:5361" in stored["fuente_geometria"].iloc[0]
    info = store.layer_info("unidades_vecinales")
    assert info["clase"] == "territorios" and info["origen"] == store.IMPORTED
    assert info["archivo"] == "uv.zip" and info["crs_origen"] == "EPSG:5361" and int(info["n"]) == len(units)
    assert territory_layers.territory_layers() == ["territorios", "unidades_vecinales"]
    assert len(territory_layers.load_territory_layer("unidades_vecinales")) == len(units)
    with pytest.raises(UnknownLayerError, match="Capa de territorios desconocida: «comuna»"):
        territory_layers.load_territory_layer("comuna")


def test_territories_need_polygons_and_a_name_field(fresh_store, tmp_path):
    before = store_hash()
    points = write(points_layer(), tmp_path / "puntos.geojson")
    with pytest.raises(InputFileError, match="indique el campo con el nombre de cada uno") as info:
        importer.import_file(points, as_="territorios", layer="tt")
    assert info.value.code == "name_field_missing"
    with pytest.raises(DataValidationError, match="deben ser polígonos.*tiene: 3 puntos"):
        importer.import_file(points, as_="territorios", layer="tt", name_field="nombre")
    squares = write(squares_layer(), tmp_path / "cuadros.geojson")
    with pytest.raises(DataValidationError, match=r"no tiene el campo «nombre_uv» \(nombre de cada territorio\)\. Campos disponibles: NOMBRE, COD"):
        importer.import_file(squares, as_="territorios", layer="tt", name_field="nombre_uv")
    assert store_hash() == before
    # the field name is found ignoring case
    assert importer.import_file(squares, as_="territorios", layer="tt", name_field="nombre").n_stored == 3


def test_a_csv_with_an_empty_geometry_column_is_one_spanish_line(fresh_store, tmp_path):
    """Found by the fuzz test: an empty WKT cell read as NaN from an Arrow-backed column reached GEOS."""
    before = store_hash()
    path = tmp_path / "vacia.csv"
    path.write_bytes(b"lat,lon,geometry\r\n-28.5,-70.75,\r\n")
    with pytest.raises(SitError) as info:
        importer.import_file(path, as_="referencia", layer="vacia")
    assert "\n" not in str(info.value) and "geometría" in str(info.value)
    assert store_hash() == before


def test_a_field_named_with_a_line_break_is_quoted_on_one_line(fresh_store, tmp_path):
    """Found by the fuzz test: field names are shown in the message on one line, like every refusal."""
    path = tmp_path / "campos.geojson"
    feature = {"type": "Feature", "properties": {"\n": 1, "a\r\nb": 2},
               "geometry": {"type": "Polygon", "coordinates": [[[-70.76, -28.58], [-70.75, -28.58], [-70.75, -28.57], [-70.76, -28.58]]]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        importer.import_file(path, as_="territorios", layer="tt", name_field="geometry")
    assert "\n" not in str(info.value) and "\r" not in str(info.value) and "a b" in str(info.value)


def test_territories_mixed_types_keep_polygons(fresh_store, tmp_path):
    squares = squares_layer()
    mixed = gpd.GeoDataFrame(
        {"NOMBRE": [*NAMES, "Un punto", "Una línea"]},
        geometry=[*squares.geometry, Point(PLAZA), LineString([PLAZA, HERMANOS_CARRERA])],
        crs="EPSG:4326",
    )
    report = importer.import_file(write(mixed, tmp_path / "mixta.gpkg"), as_="territorios", layer="mixta", name_field="NOMBRE")
    assert report.n_read == 5 and report.n_stored == 3
    assert report.dropped == {"no es un polígono (los territorios son áreas)": 2}


def test_territory_ids_repeated_are_refused_names_repeated_are_numbered(fresh_store, tmp_path):
    squares = squares_layer()
    squares["COD"] = ["T-1", "T-1", "T-3"]
    squares["NOMBRE"] = ["Villa", "Villa", "Otra"]
    path = write(squares, tmp_path / "rep.geojson")
    before = store_hash()
    with pytest.raises(DataValidationError, match="«COD» repite identificadores: T-1"):
        importer.import_file(path, as_="territorios", layer="rep", name_field="NOMBRE", id_field="COD")
    assert store_hash() == before
    report = importer.import_file(path, as_="territorios", layer="rep", name_field="NOMBRE")
    assert list(store.read_layer("rep")["slug"]) == ["villa", "villa-2", "otra"]
    assert report.duplicates == ["villa"]


def test_invalid_and_empty_geometries_are_repaired_or_dropped(fresh_store, tmp_path):
    squares = squares_layer("EPSG:32719")
    x0, y0, x1, y1 = squares.geometry.iloc[0].bounds
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    frame = gpd.GeoDataFrame(
        {"NOMBRE": ["Moño", "Cuadro", "Nada", "Vacío"]},
        geometry=[bowtie, squares.geometry.iloc[1], None, Polygon()],
        crs="EPSG:32719",
    )
    report = importer.import_file(write(frame, tmp_path / "malas.gpkg"), as_="territorios", layer="malas", name_field="NOMBRE")
    assert report.n_read == 4 and report.n_repaired == 1 and report.n_stored == 2
    assert report.dropped == {"sin geometría": 1, "geometría vacía": 1}
    stored = store.read_layer("malas")
    assert stored.geometry.is_valid.all()
    text = importer.format_report(report)
    assert "reparados: 1" in text and "descartados 1: sin geometría" in text


def test_replace_shipped_territories_only_with_territories(fresh_store, tmp_path):
    path = write(squares_layer(), tmp_path / "t.geojson")
    before = store_hash()
    with pytest.raises(store.StoreError, match="«territorios» existe \\(incluida en el sistema\\)\\.$") as info:
        importer.import_file(path, as_="territorios", layer="territorios", name_field="NOMBRE")
    assert info.value.code == "layer_exists" and info.value.data["layer"] == "territorios"
    with pytest.raises(InputFileError, match="viene con el sistema \\(clase iniciativas\\)"):
        importer.import_file(path, as_="referencia", layer="iniciativas", replace=True)
    with pytest.raises(InputFileError, match="tabla del catálogo"):
        importer.import_file(path, as_="referencia", layer="planes", replace=True)
    assert store_hash() == before
    report = importer.import_file(path, as_="territorios", layer="territorios", name_field="NOMBRE", replace=True)
    assert report.replaced and len(store.read_layer("territorios")) == 3
    # the shipped layer is still the reference of the plan's links
    assert len(territory_layers.shipped_territories()) > 20


# --------------------------------------------------------------------------- sites and reference layers


def test_initiative_sites_are_matched_and_the_catalogue_untouched(fresh_store, tmp_path):
    catalogue_before = store.read_layer("iniciativas")
    turbina = Point(-70.7325, -28.5705)
    frame = gpd.GeoDataFrame(
        {"codigo": ["e1-p1-08", "E9-P9-99", "E1-P1-03", "E1-P1-03", None]},
        geometry=[
            turbina,
            Point(PLAZA),
            LineString([(-70.762, -28.576), (-70.758, -28.576)]),
            LineString([(-70.758, -28.576), (-70.756, -28.577)]),
            Point(PLAZA),
        ],
        crs="EPSG:4326",
    )
    report = importer.import_file(write(frame, tmp_path / "obras.geojson"), as_="iniciativas", layer="obras", id_field="codigo")
    assert report.clase == "ubicaciones"
    assert report.unknown_ids == ["E9-P9-99"]
    assert report.duplicates == ["E1-P1-03"]
    assert report.dropped == {"sin id en «codigo»": 1, "id que no está en el catálogo": 1}
    sites = store.read_layer("obras")
    assert list(sites["id"]) == ["E1-P1-03", "E1-P1-08"]  # catalogue order
    assert sites.geometry.iloc[0].geom_type in ("LineString", "MultiLineString")
    assert (sites["fuente_geometria"].str.contains("obras.geojson")).all()
    assert store.layer_info("obras")["clase"] == "ubicaciones"
    assert importer.site_layers() == ["obras"]
    # the catalogue layer is untouched
    pd.testing.assert_frame_equal(store.read_layer("iniciativas"), catalogue_before)
    merged = importer.merge_sites(catalogue_before, "obras", territory_layers.shipped_territories())
    row = merged.set_index("id").loc["E1-P1-08"]
    assert row.geometry.equals(turbina) and "obras.geojson" in row["fuente_geometria"]
    shipped = territory_layers.shipped_territories()
    assert row["territorios"] == ";".join(shipped.loc[shipped.covers(turbina), "slug"])
    untouched = merged.set_index("id").loc["E3-P4-03"]
    assert untouched["fuente_geometria"] == catalogue_before.set_index("id").loc["E3-P4-03", "fuente_geometria"]
    assert len(merged) == len(catalogue_before) and list(merged.columns) == list(catalogue_before.columns)


def test_sites_need_an_id_field_and_known_ids(fresh_store, tmp_path):
    path = write(points_layer(), tmp_path / "p.geojson")
    with pytest.raises(InputFileError, match="indique el campo con su id") as info:
        importer.import_file(path, as_="iniciativas", layer="pp")
    assert info.value.code == "id_field_missing"
    with pytest.raises(DataValidationError, match="Ningún id del campo «codigo» está en el catálogo"):
        importer.import_file(path, as_="iniciativas", layer="pp", id_field="codigo")


def test_reference_layer_keeps_attributes_and_mixed_types(fresh_store, tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "Nombre Vía": ["Ruta 5", "Camino a Huasco", "Plaza"],
            "ROL": ["5", "C-46", None],
            "largo km": [1.5, 20.25, None],
            "geometry_2": ["a", "b", "c"],
        },
        geometry=[LineString([PLAZA, DOMEYKO]), LineString([PLAZA, (-70.9, -28.5)]), box(-70.7595, -28.5765, -70.7585, -28.5755)],
        crs="EPSG:4326",
    )
    report = importer.import_file(write(frame, tmp_path / "vias.gpkg"), as_="referencia", layer="vias")
    stored = store.read_layer("vias")
    assert [c for c in stored.columns if c != "geometry"] == ["nombre_via", "rol", "largo_km", "geometry_2"]
    assert list(stored["nombre_via"]) == ["Ruta 5", "Camino a Huasco", "Plaza"]
    assert report.geometry_types == {"LineString": 2, "Polygon": 1}
    assert store.layer_info("vias")["clase"] == "referencia"


# --------------------------------------------------------------------------- persistence and names


def test_imported_layers_survive_restart_and_rebuild_and_can_be_removed(fresh_store, tmp_path):
    archive = zipped_shapefile(city_units(), tmp_path, "uv")
    importer.import_file(archive, as_="territorios", layer="unidades_vecinales", name_field="NOMBRE")
    importer.import_file(write(points_layer(), tmp_path / "p.geojson"), as_="referencia", layer="puntos")
    n = len(store.read_layer("unidades_vecinales"))
    store.ensure_store(force=True)  # rebuild from data/
    assert len(store.read_layer("unidades_vecinales")) == n
    assert store.layer_info("puntos")["origen"] == store.IMPORTED
    assert len(store.read_layer("iniciativas")) == 194
    store.remove_layer("puntos")
    assert "puntos" not in set(store.list_layers()["nombre"])


@pytest.mark.parametrize("name", ["A", "x", "Unidades", "1capa", "capa-uv", "capa uv", "ñandú", "a" * 42, "sit_capas", "sit_estado", "gpkg_contents", ""])
def test_invalid_layer_names(fresh_store, tmp_path, name):
    path = write(points_layer(), tmp_path / "p.geojson")
    before = store_hash()
    with pytest.raises(InputFileError, match="Nombre de capa inválido|reservado"):
        importer.import_file(path, as_="referencia", layer=name)
    assert store_hash() == before


def test_unknown_kind(fresh_store, tmp_path):
    with pytest.raises(InputFileError, match="Tipo de importación desconocido: «calles»"):
        importer.import_file(tmp_path / "x.geojson", as_="calles", layer="xx")


# --------------------------------------------------------------------------- bad input


def _bad_files(tmp_path, monkeypatch):
    """name -> (path, kwargs, expected message fragment)."""
    files = bad_input_files(tmp_path, oversize_bytes=200_000)
    good, empty, truncated, not_geo = files["good"], files["empty"], files["truncated"], files["json_object"]
    escape, absolute, bomb, big = files["zip_escape"], files["zip_absolute"], files["zip_bomb"], files["oversize"]
    no_shp = zip_files([good], tmp_path / "sinshp.zip")
    no_shp_only_text = tmp_path / "texto.zip"
    with zipfile.ZipFile(no_shp_only_text, "w") as archive:
        archive.writestr("leeme.txt", "hola")
        archive.writestr("datos.dbf", "x")
    monkeypatch.setattr(settings, "UNZIP_LIMIT_BYTES", 1_000_000)
    monkeypatch.setattr(settings, "UPLOAD_LIMIT_BYTES", 100_000)
    return {
        "vacio": (empty, {}, "está vacío"),
        "truncado": (truncated, {}, "no es JSON válido (línea"),
        "no_geojson": (not_geo, {}, "es JSON pero no GeoJSON"),
        "zip_sin_shp": (no_shp_only_text, {}, "no contiene un Shapefile (.shp)"),
        "zip_escape": (escape, {}, "ruta insegura"),
        "zip_absoluto": (absolute, {}, "ruta insegura"),
        "zip_bomba": (bomb, {}, "más que el máximo permitido (1,0 MB)"),
        "muy_grande": (big, {}, "más que el máximo permitido (0,1 MB)"),
        "crs_desconocido": (good, {"crs": "EPSG:123456"}, "Sistema de coordenadas desconocido: «EPSG:123456»"),
        "campo_inexistente": (good, {"as_": "territorios", "name_field": "NOM"}, "no tiene el campo «NOM»"),
        "capa_incluida": (good, {"layer": "comuna"}, "La capa «comuna» existe (incluida en el sistema)."),
        "zip_geojson_dentro": (no_shp, {}, None),  # a zip holding one GeoJSON is read
    }


def test_bad_input_is_refused_cleanly_and_the_store_is_unchanged(fresh_store, tmp_path, monkeypatch):
    cases = _bad_files(tmp_path, monkeypatch)
    for name, (path, kwargs, message) in cases.items():
        before = store_hash()
        args = {"as_": "referencia", "layer": f"capa_{name}", **kwargs}
        if message is None:
            importer.import_file(path, **args)
            continue
        with pytest.raises(SitError) as info:
            importer.import_file(path, **args)
        text = str(info.value)
        assert message in text, (name, text)
        assert "\n" not in text and text.strip() == text, name
        assert not re.search(r"(^|[\s(])--?[a-z]", text), (name, text)  # no command-line option in a domain message
        assert store_hash() == before, name
    assert not (tmp_path.parent / "fuera.txt").exists()
    assert not list(tmp_path.glob("**/sit_absoluta.txt"))


def test_read_any_returns_frame_and_info(tmp_path):
    archive = zipped_shapefile(points_layer("EPSG:24879"), tmp_path, "p", encoding="latin1", cpg=False)
    frame, info = importer.read_any(archive)
    assert len(frame) == 3 and frame.crs == "EPSG:24879"
    assert info.format == "Shapefile" and info.encoding == "CP1252" and info.source_layer == "p"
    frame, info = importer.read_any(archive, crs="EPSG:29189")
    assert frame.crs == "EPSG:29189" and "declaraba EPSG:24879" in info.crs_note
    assert importer.inspect(archive) == [{"capa": "p", "geometria": "Point", "n": 3}]


def test_upload_with_temporary_name_uses_source_name(fresh_store, tmp_path):
    archive = zipped_shapefile(points_layer(), tmp_path, "puntos")
    upload = tmp_path / "tmp8x2k1"
    upload.write_bytes(archive.read_bytes())
    report = importer.import_file(upload, as_="referencia", layer="subida", source_name="puntos.zip")
    assert report.source_file == "puntos.zip" and report.source_format == "Shapefile"
    assert store.layer_info("subida")["archivo"] == "puntos.zip"


def test_refusals_carry_a_code_and_name_no_option(fresh_store, tmp_path):
    """The domain says what is wrong; which option or form field fixes it is the edges' hint."""
    from tests.layers.ingest._import_fixtures import hinted_cases

    before = store_hash()
    for code, (path, kwargs) in hinted_cases(tmp_path).items():
        with pytest.raises(SitError) as info:
            importer.import_file(path, **kwargs)
        assert info.value.code == code, (code, str(info.value))
        text = str(info.value)
        assert not re.search(r"(^|[\s(])--?[a-z]", text), (code, text)
        assert store_hash() == before, code
