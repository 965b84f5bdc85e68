"""Export to every format planners use, read back by GDAL with the same features and attributes."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, Polygon

from layers import store
from layers.exchange import export
from layers.ingest import importer
from tests.layers.ingest._import_fixtures import write

SHIPPED = ("comuna", "territorios", "iniciativas")


def _norm(value: object) -> object:
    """Comparable form of an attribute value across formats (text in CSV/KML, no bool in DBF)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return round(float(value), 6)
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return str(value).rstrip()  # DBF pads text with spaces; GDAL strips them


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(_norm(v) for v in row) for row in frame[columns].itertuples(index=False)]


def _read_shapefiles(path) -> tuple[list[str], gpd.GeoDataFrame]:
    names = zipfile.ZipFile(path).namelist()
    shps = [n for n in names if n.endswith(".shp")]
    parts = [pyogrio.read_dataframe(f"/vsizip/{path}/{s}") for s in shps]
    return names, pd.concat(parts, ignore_index=True)


def _read_gpkg(path) -> tuple[list[list], gpd.GeoDataFrame]:
    """Every layer of a GeoPackage as one frame (attribute tables with null geometries), and the layer list."""
    listed = pyogrio.list_layers(path).tolist()
    parts = []
    for name, kind in listed:
        part = pyogrio.read_dataframe(path, layer=name)
        if kind is None:
            part = gpd.GeoDataFrame(part, geometry=[None] * len(part), crs="EPSG:4326")
        parts.append(part)
    return listed, pd.concat(parts, ignore_index=True)


def _cut(value: object) -> object:
    return export._cut_utf8(value) if isinstance(value, str) else value


@pytest.mark.parametrize("layer", SHIPPED)
@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_every_shipped_layer_in_every_format(data_dir, tmp_path, layer, fmt):
    frame = store.read_layer(layer)
    dest = export.export_layer(frame, tmp_path / f"{layer}{export.FORMATS[fmt][1]}", fmt, layer)
    fields = [c for c in frame.columns if c != "geometry"]
    if fmt == "shp":
        names, back = _read_shapefiles(dest)
        mapping = export.shapefile_field_names(fields)
        expected = frame.copy()
        for col in fields:
            expected[col] = expected[col].map(_cut)
        back = back.rename(columns={v: k for k, v in mapping.items()})
        key = "id" if layer == "iniciativas" else fields[0]
        back = back.set_index(key).loc[expected[key]].reset_index()
    elif fmt == "gpkg":
        _, back = _read_gpkg(dest)
        key = "id" if layer == "iniciativas" else fields[0]
        back = back.set_index(key).loc[frame[key]].reset_index()
        expected = frame
    elif fmt == "kml":
        back = pyogrio.read_dataframe(dest)
        back = back.drop(columns=["id"]).rename(columns={"Name": "nombre", "id2": "id"})
        expected = frame
    else:
        back = pyogrio.read_dataframe(dest)
        expected = frame
    assert len(back) == len(frame)
    assert _rows(back, fields) == _rows(expected, fields)
    assert back.geometry.isna().sum() == frame.geometry.isna().sum()
    present = frame.geometry.notna().to_numpy()
    got = gpd.GeoSeries(back.geometry.to_numpy()[present], crs="EPSG:4326").to_crs("EPSG:32719")
    want = frame.geometry[present].to_crs("EPSG:32719")
    # same places (GeoJSON and CSV keep 6 decimals, about 0.1 m)
    assert (got.hausdorff_distance(want, align=False) < 0.2).all()


def test_shapefile_zip_layout_and_utf8_cpg(data_dir, tmp_path):
    dest = export.export_layer(store.read_layer("territorios"), tmp_path / "t.zip", "shp", "territorios")
    with zipfile.ZipFile(dest) as archive:
        assert sorted(archive.namelist()) == [f"territorios.{e}" for e in ("cpg", "dbf", "prj", "shp", "shx")]
        assert archive.read("territorios.cpg").decode().strip() == "UTF-8"
    back = pyogrio.read_dataframe(f"/vsizip/{dest}/territorios.shp")
    assert "Hacienda Compañía" in set(back["nombre"])
    assert pyogrio.read_info(f"/vsizip/{dest}/territorios.shp")["crs"] == "EPSG:4326"
    assert all(len(c) <= 10 for c in back.columns)
    # text longer than 254 bytes is cut at a character boundary
    assert back["fuente"].map(lambda s: len(s.encode("utf-8"))).max() <= 254


def test_shapefile_of_mixed_layer_is_split_by_family_and_keeps_null_rows(data_dir, tmp_path):
    frame = store.read_layer("iniciativas")
    dest = export.export_layer(frame, tmp_path / "i.zip", "shp", "iniciativas")
    names, _ = _read_shapefiles(dest)
    stems = sorted({n.rsplit(".", 1)[0] for n in names})
    assert stems == ["iniciativas_lineas", "iniciativas_poligonos", "iniciativas_puntos", "iniciativas_sin_geometria"]
    nulls = pyogrio.read_dataframe(f"/vsizip/{dest}/iniciativas_sin_geometria.shp")
    assert len(nulls) == frame.geometry.isna().sum() and nulls.geometry.isna().all()
    points = pyogrio.read_dataframe(f"/vsizip/{dest}/iniciativas_puntos.shp")
    assert len(points) == frame.geometry.geom_type.isin(["Point", "MultiPoint"]).sum()


def test_shapefile_of_one_family_writes_null_shapes_in_the_same_file(tmp_path):
    frame = gpd.GeoDataFrame(
        {"nombre": ["Plaza", "Sin lugar", "Multi"]},
        geometry=[Point(-70.759, -28.576), None, MultiPoint([(-70.75, -28.55), (-70.76, -28.56)])],
        crs="EPSG:4326",
    )
    dest = export.export_layer(frame, tmp_path / "p.zip", "shp", "puntos")
    back = pyogrio.read_dataframe(f"/vsizip/{dest}/puntos.shp")
    assert list(back["nombre"]) == ["Plaza", "Sin lugar", "Multi"]
    assert back.geometry.isna().tolist() == [False, True, False]
    assert back.geometry.iloc[2].equals(frame.geometry.iloc[2])


def test_shapefile_field_names():
    mapping = export.shapefile_field_names(
        ["id", "estrategia_nombre", "nombre_original", "plan_nombre", "padre_nombre", "territorios",
         "fuente_geometria", "precision_m", "descripcion", "codigo_unidad_vecinal", "codigo_unidad_vial",
         "observaciones", "año_inicio", "Área_km2"]
    )
    assert mapping == {
        "id": "id",
        "estrategia_nombre": "estrat_nom",
        "nombre_original": "nombre_ori",
        "plan_nombre": "plan_nom",
        "padre_nombre": "padre_nom",
        "territorios": "territorio",
        "fuente_geometria": "fuente_geo",
        "precision_m": "precision",
        "descripcion": "descripcio",
        "codigo_unidad_vecinal": "codigo_uni",
        "codigo_unidad_vial": "codigo_u_2",
        "observaciones": "observacio",
        "año_inicio": "ano_inicio",
        "Área_km2": "area_km2",
    }
    assert all(len(v) <= 10 for v in mapping.values())
    assert len(set(mapping.values())) == len(mapping)
    # deterministic
    assert export.shapefile_field_names(list(mapping)) == mapping


def test_csv_is_excel_friendly_and_read_back_by_gdal(data_dir, tmp_path):
    frame = store.read_layer("territorios")
    dest = export.export_layer(frame, tmp_path / "t.csv", "csv", "territorios")
    raw = dest.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    table = pd.read_csv(dest, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns) == [*[c for c in frame.columns if c != "geometry"], "lon", "lat", "wkt"]
    points = shapely.points(table["lon"].astype(float), table["lat"].astype(float))
    assert shapely.covers(frame.geometry.to_numpy(), points).all()  # point on the surface
    back = pyogrio.read_dataframe(dest)
    assert len(back) == len(frame) and back.geometry.notna().all()
    inits = export.csv_frame(store.read_layer("iniciativas"))
    assert (inits["wkt"] == "").sum() == inits["lon"].isna().sum() == store.read_layer("iniciativas").geometry.isna().sum()


def test_gpkg_layer_name_and_all_null_geometry(tmp_path):
    frame = gpd.GeoDataFrame({"nombre": ["a", "b"]}, geometry=[None, None], crs="EPSG:4326")
    dest = export.export_layer(frame, tmp_path / "n.gpkg", "gpkg", "sin_lugar")
    assert pyogrio.list_layers(dest)[:, 0].tolist() == ["sin_lugar"]
    assert len(pyogrio.read_dataframe(dest)) == 2


def test_kml_names_placemarks_after_nombre(data_dir, tmp_path):
    dest = export.export_layer(store.read_layer("territorios"), tmp_path / "t.kml", "kml", "territorios")
    text = dest.read_text(encoding="utf-8")
    assert "<name>Hacienda Compañía</name>" in text
    assert '<SimpleData name="slug">domeyko</SimpleData>' in text


def test_exported_imported_layer_round_trip(fresh_store, tmp_path):
    frame = gpd.GeoDataFrame(
        {"Nombre Vía": ["Ruta 5", "Plaza"], "rol": ["5", None]},
        geometry=[LineString([(-70.78, -28.55), (-70.79, -28.60)]), Polygon([(-70.76, -28.577), (-70.758, -28.577), (-70.758, -28.575)])],
        crs="EPSG:4326",
    )
    importer.import_file(write(frame, tmp_path / "vias.gpkg"), as_="referencia", layer="vias")
    stored = store.read_layer("vias")
    for fmt in export.FORMATS:
        dest = export.export_layer(stored, tmp_path / f"out{export.FORMATS[fmt][1]}", fmt, "vias")
        if fmt == "gpkg":  # lines and areas: one layer each, imported one by one
            assert [n for n, _ in pyogrio.list_layers(dest)] == ["vias_lineas", "vias_poligonos"]
            names = []
            for part in ("vias_lineas", "vias_poligonos"):
                assert importer.import_file(dest, as_="referencia", layer=f"{part}_gpkg", gpkg_layer=part).n_stored == 1
                names += list(store.read_layer(f"{part}_gpkg")["nombre_via"])
            assert sorted(names) == ["Plaza", "Ruta 5"]
            continue
        report = importer.import_file(dest, as_="referencia", layer=f"vias_{fmt}")
        assert report.n_stored == 2, fmt
        again = store.read_layer(f"vias_{fmt}")
        if fmt != "kml":
            assert sorted(again["nombre_via"]) == ["Plaza", "Ruta 5"], fmt
    data = export.export_bytes(stored, "shp", "vias")
    assert data.startswith(b"PK")


def test_unknown_format():
    with pytest.raises(Exception, match="Formato desconocido: «dwg». Use uno de: geojson, gpkg, shp, csv, kml"):
        export.check_format("dwg")


HOSTILE = ["=HYPERLINK(\"http://x.invalid\",\"Llame aquí\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "normal", "a=b"]


def test_csv_neutralises_spreadsheet_formulas(tmp_path):
    frame = gpd.GeoDataFrame(
        {"nombre": HOSTILE, "=campo": ["x"] * len(HOSTILE), "n": [-1.5] * len(HOSTILE), "k": list(range(-4, 4))},
        geometry=[Point(-70.76, -28.57)] * len(HOSTILE), crs="EPSG:4326",
    )
    dest = export.export_layer(frame, tmp_path / "f.csv", "csv", "f")
    table = pd.read_csv(dest, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns[:4]) == ["nombre", "'=campo", "n", "k"]
    assert list(table["nombre"]) == ["'" + v for v in HOSTILE[:6]] + ["normal", "a=b"]
    assert set(table["n"]) == {"-1.5"}, "numbers stay numbers"
    assert list(table["k"]) == [str(k) for k in range(-4, 4)]
    assert not any(v.startswith(export.FORMULA_PREFIXES) for v in table["nombre"])
    assert table["wkt"].str.startswith("POINT").all() and table["lon"].str.startswith("-").all()


def test_neutralise_formula_only_touches_text():
    assert export.neutralise_formula("=1+1") == "'=1+1"
    assert export.neutralise_formula("-70,5") == "'-70,5"
    assert export.neutralise_formula(-70.5) == -70.5
    assert export.neutralise_formula(None) is None
    assert export.neutralise_formula("Domeyko") == "Domeyko"


def test_other_formats_keep_the_text_as_it_is(tmp_path):
    frame = gpd.GeoDataFrame({"nombre": ["=1+1"]}, geometry=[Point(-70.76, -28.57)], crs="EPSG:4326")
    back = pyogrio.read_dataframe(export.export_layer(frame, tmp_path / "f.gpkg", "gpkg", "f"))
    assert back["nombre"].tolist() == ["=1+1"]


@pytest.mark.parametrize("layer", ["estrategias", "objetivos", "planes"])
def test_tables_without_geometry_export_as_csv_and_gpkg(data_dir, tmp_path, layer):
    table = store.read_layer(layer)
    assert not export.has_geometry(table)
    csv = pd.read_csv(export.export_layer(table, tmp_path / f"{layer}.csv", "csv", layer), encoding="utf-8-sig")
    assert list(csv.columns) == list(table.columns) and len(csv) == len(table)
    gpkg = export.export_layer(table, tmp_path / f"{layer}.gpkg", "gpkg", layer)
    info = pyogrio.read_info(gpkg, layer=layer)
    assert info["geometry_type"] is None and info["features"] == len(table)
    back = pyogrio.read_dataframe(gpkg, layer=layer)
    assert list(back.columns) == list(table.columns)


@pytest.mark.parametrize("fmt", ["geojson", "shp", "kml"])
def test_tables_without_geometry_are_refused_in_feature_formats(data_dir, tmp_path, fmt):
    with pytest.raises(export.InvalidFilterError) as info:
        export.export_layer(store.read_layer("planes"), tmp_path / "planes.x", fmt, "planes")
    assert info.value.code == "format_needs_geometry"
    assert str(info.value) == f"«planes» es una tabla sin geometría: se exporta como csv o gpkg, no como {fmt}."
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    frame = gpd.GeoDataFrame({"nombre": ["a"]}, geometry=[Point(-70.76, -28.57)], crs="EPSG:4326")
    dest = tmp_path / "f.geojson"
    dest.write_text("antes")
    bad = frame.assign(c=[np.complex128(1 + 2j)])  # GDAL has no complex field type
    with pytest.raises(NotImplementedError):
        export.export_layer(bad, dest, "geojson", "f")
    assert dest.read_text() == "antes"
    assert [p.name for p in tmp_path.iterdir()] == ["f.geojson"]


def _point_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"nombre": ["a"]}, geometry=[Point(-70.76, -28.57)], crs="EPSG:4326")


def test_a_folder_or_a_special_file_is_never_written_over(tmp_path):
    import os

    fifo = tmp_path / "tuberia"
    os.mkfifo(fifo)
    for dest, words in ((tmp_path, "es una carpeta"), (fifo, "no es un archivo común")):
        for fmt in export.FORMATS:
            with pytest.raises(export.OutputFileError, match=words):
                export.export_layer(_point_layer(), dest, fmt, "f")
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["tuberia"]


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_a_missing_folder_is_one_spanish_line(tmp_path, fmt):
    with pytest.raises(export.OutputFileError) as info:
        export.export_layer(_point_layer(), tmp_path / "no_existe" / "f.x", fmt, "f")
    assert info.value.code == "cannot_write"
    assert str(info.value) == f"No se pudo escribir «{tmp_path / 'no_existe' / 'f.x'}»: la ruta no existe o la carpeta no admite archivos nuevos."


def test_a_shp_destination_is_a_shapefile_that_opens_by_that_name(data_dir, tmp_path):
    frame = store.read_layer("territorios")
    dest = export.export_layer(frame, tmp_path / "Territorios 2026.shp", "shp", "territorios")
    assert dest == tmp_path / "Territorios 2026.shp"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"Territorios 2026.{e}" for e in ("cpg", "dbf", "prj", "shp", "shx")]
    assert dest.with_suffix(".cpg").read_text().strip() == "UTF-8"
    back = pyogrio.read_dataframe(dest)
    assert len(back) == len(frame) and "Hacienda Compañía" in set(back["nombre"])
    assert pyogrio.read_info(dest)["crs"] == "EPSG:4326"
    # written again over itself: replaced, nothing else left beside it
    export.export_layer(frame.head(3), dest, "shp", "territorios")
    assert len(pyogrio.read_dataframe(dest)) == 3 and len(list(tmp_path.iterdir())) == 5


@pytest.mark.parametrize("name", ["t.zip", "t.shp.zip", "t.ZIP"])
def test_zip_destinations_give_the_zip(data_dir, tmp_path, name):
    dest = export.export_layer(store.read_layer("territorios"), tmp_path / name, "shp", "territorios")
    assert zipfile.is_zipfile(dest) and [p.name for p in tmp_path.iterdir()] == [name]


def test_a_mixed_layer_to_a_shp_destination_is_refused(data_dir, tmp_path):
    with pytest.raises(export.OutputFileError) as info:
        export.export_layer(store.read_layer("iniciativas"), tmp_path / "i.shp", "shp", "iniciativas")
    assert info.value.code == "mixed_geometry" and ".zip" in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_gpkg_of_mixed_layer_has_one_layer_per_geometry_type_and_a_table(data_dir, tmp_path):
    frame = store.read_layer("iniciativas")
    dest = export.export_layer(frame, tmp_path / "i.gpkg", "gpkg", "iniciativas")
    listed = [tuple(r) for r in pyogrio.list_layers(dest).tolist()]
    assert listed == [("iniciativas_puntos", "MultiPoint"), ("iniciativas_lineas", "LineString"),
                      ("iniciativas_poligonos", "Polygon"), ("iniciativas_sin_ubicacion", None)]
    assert all(kind != "Unknown" for _, kind in listed)
    table = pyogrio.read_dataframe(dest, layer="iniciativas_sin_ubicacion", read_geometry=False)
    assert len(table) == frame.geometry.isna().sum() and "geometry" not in table.columns
    assert sum(pyogrio.read_info(dest, layer=n)["features"] for n, _ in listed) == len(frame)


def test_gpkg_of_one_geometry_type_keeps_the_layer_name_and_a_table_keeps_its_own(data_dir, tmp_path):
    dest = export.export_layer(store.read_layer("territorios"), tmp_path / "t.gpkg", "gpkg", "territorios")
    assert pyogrio.list_layers(dest).tolist() == [["territorios", "Polygon"]]
    nothing = gpd.GeoDataFrame({"nombre": ["a", "b"]}, geometry=[None, None], crs="EPSG:4326")
    dest = export.export_layer(nothing, tmp_path / "n.gpkg", "gpkg", "sin_lugar")
    assert pyogrio.list_layers(dest).tolist() == [["sin_lugar", None]]


def test_capas_page_gpkg_download_of_initiatives_opens_as_typed_layers(data_dir, tmp_path):
    """The bytes behind the Capas page's «Descargar GeoPackage» (layers.selection.download)."""
    from layers import selection

    file_name, mime, produce = selection.download(store.read_layer("iniciativas"), "gpkg", "iniciativas")
    assert file_name == "iniciativas.gpkg" and mime == "application/geopackage+sqlite3"
    path = tmp_path / file_name
    path.write_bytes(produce())
    kinds = dict(pyogrio.list_layers(path).tolist())
    assert set(kinds) == {"iniciativas_puntos", "iniciativas_lineas", "iniciativas_poligonos", "iniciativas_sin_ubicacion"}
    assert kinds["iniciativas_sin_ubicacion"] is None and "Unknown" not in kinds.values()


def test_shapefile_names_of_population_age_groups_are_explicit(data_dir, tmp_path):
    mapping = export.shapefile_field_names(["poblacion", *export.COUNT_FIELDS[1:]])
    assert mapping == {"poblacion": "poblacion", "poblacion_0_5": "pob_0_5", "poblacion_6_14": "pob_6_14",
                       "poblacion_15_64": "pob_15_64", "poblacion_65_mas": "pob_65_mas"}
    dest = export.export_layer(store.read_layer("territorios"), tmp_path / "t.zip", "shp", "territorios")
    fields = set(pyogrio.read_info(f"/vsizip/{dest}/territorios.shp")["fields"])
    assert {"pob_0_5", "pob_6_14", "pob_15_64", "pob_65_mas"} <= fields
    assert not any(f.startswith("poblac_") for f in fields)
