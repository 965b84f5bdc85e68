"""Real-world kinds of input that once tripped the importer (``shared/cases/README.md``), one test per kind.

Every fixture is built here: Shapefiles written with pyogrio and then given the
``.cpg``, DBF language byte, ``.prj`` or repeated field name of the case by
editing their bytes; KML, CSV and GeoJSON written as text. The polygons sit in
Vallenar around the vertex lon -70.763, lat -28.581 (WGS 84) that the shared
files use. One last test runs the shared files themselves when the folder
exists (it is skipped elsewhere).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from shapely.geometry import box

from layers import settings, store
from layers._errors import InputFileError, SitError
from layers.ingest import importer
from tests.layers.ingest._import_fixtures import store_hash

#: The known vertex of the shared files (lon, lat), WGS 84.
VERTEX = (-70.763, -28.581)
NAMES = ["Población Ñuñoa", "Torreón Alto", "Villa “El Edén” – Norte"]
#: How MapInfo writes PSAD56 / UTM 19S: a datum name PROJ does not know, no EPSG code, no TOWGS84.
PSAD_MAPINFO = (
    'PROJCS["UTM Zona 19 Sur (PSAD 56)",GEOGCS["PSAD 56",DATUM["PSAD 56 Chile",SPHEROID["International 1924",6378388,297]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-69],PARAMETER["scale_factor",0.9996],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",10000000],UNIT["Meter",1]]'
)
C1 = [chr(c) for c in range(0x80, 0xA0)]
CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def squares(crs: str = "EPSG:4326", n: int = 3) -> gpd.GeoDataFrame:
    """``n`` squares of 600 m in Vallenar, the first with its south-west corner at :data:`VERTEX`, in ``crs``."""
    x0, y0 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32719", always_xy=True).transform(*VERTEX)
    geoms = [box(x0 + 900 * k, y0 + 800 * k, x0 + 900 * k + 600, y0 + 800 * k + 600) for k in range(n)]
    return gpd.GeoDataFrame({"NOMBRE": NAMES[:n]}, geometry=geoms, crs="EPSG:32719").to_crs(crs)


def shapefile(folder: Path, stem: str, gdf: gpd.GeoDataFrame, *, encoding: str = "UTF-8", cpg: str | None = None,
              ldid: int = 0, prj: str | None = None) -> Path:
    """A Shapefile written by pyogrio in ``encoding``, then given the ``.cpg`` text (``None``: no ``.cpg``), LDID and ``.prj`` of a case."""
    folder.mkdir(parents=True, exist_ok=True)
    shp = folder / f"{stem}.shp"
    pyogrio.write_dataframe(gdf, shp, encoding=encoding)
    (folder / f"{stem}.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / f"{stem}.cpg").write_text(cpg, encoding="ascii")
    dbf = bytearray((folder / f"{stem}.dbf").read_bytes())
    dbf[29] = ldid
    (folder / f"{stem}.dbf").write_bytes(bytes(dbf))
    if prj is not None:
        (folder / f"{stem}.prj").write_text(prj, encoding="ascii")
    return shp


def zipped(folder: Path, dest: Path) -> Path:
    """Zip every file under ``folder`` keeping its sub-folders."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return dest


def no_c1(values) -> bool:
    return not any(ch in str(v) for v in values for ch in C1)


def first_vertex_error_m(layer: str) -> float:
    """Metres between the first stored vertex nearest :data:`VERTEX` and :data:`VERTEX`."""
    geoms = store.read_layer(layer).to_crs("EPSG:32719").geometry
    target = gpd.GeoSeries(gpd.points_from_xy([VERTEX[0]], [VERTEX[1]]), crs="EPSG:4326").to_crs("EPSG:32719").iloc[0]
    coords = shapely.get_coordinates(geoms.to_numpy())
    return float(np.min(np.hypot(coords[:, 0] - target.x, coords[:, 1] - target.y)))


# --------------------------------------------------------------------------- shp-latin1-nocpg


@pytest.mark.parametrize("ldid", [0, 0x57])
def test_windows_1252_shapefile_without_cpg_keeps_quotes_and_dashes(fresh_store, tmp_path, ldid):
    shapefile(tmp_path / "uv", "uv", squares("EPSG:32719"), encoding="cp1252", cpg=None, ldid=ldid)
    report = importer.import_file(zipped(tmp_path / "uv", tmp_path / "uv.zip"), as_="referencia", layer="uv")
    names = list(store.read_layer("uv")["nombre"])
    assert names == NAMES and no_c1(names)
    assert report.encoding == "CP1252"
    said = " ".join(report.warnings)
    assert ("byte de idioma 0x57" in said) if ldid else ("detectada" in said)


# --------------------------------------------------------------------------- shp-wrong-cpg


def test_cpg_saying_utf8_on_latin_text_reads_right_and_warns(fresh_store, tmp_path):
    shapefile(tmp_path / "s", "sectores", squares("EPSG:32719"), encoding="cp1252", cpg="UTF-8")
    report = importer.import_file(zipped(tmp_path / "s", tmp_path / "s.zip"), as_="referencia", layer="sectores")
    assert list(store.read_layer("sectores")["nombre"]) == NAMES
    assert report.encoding == "CP1252"
    assert any("UTF-8 (.cpg)" in w and "CP1252" in w for w in report.warnings)


def test_cpg_ansi_1252_is_read_as_declared(fresh_store, tmp_path):
    shapefile(tmp_path / "s", "sectores", squares("EPSG:32719"), encoding="cp1252", cpg="ANSI 1252")
    report = importer.import_file(zipped(tmp_path / "s", tmp_path / "s.zip"), as_="referencia", layer="sectores")
    assert list(store.read_layer("sectores")["nombre"]) == NAMES
    assert any("del .cpg: CP1252" in w for w in report.warnings)


def test_an_encoding_that_fails_suggests_one_that_works(fresh_store, tmp_path):
    shapefile(tmp_path / "s", "sectores", squares("EPSG:32719"), encoding="cp1252", cpg="UTF-8")
    archive = zipped(tmp_path / "s", tmp_path / "s.zip")
    before = store_hash()
    with pytest.raises(InputFileError) as info:
        importer.import_file(archive, as_="referencia", layer="sectores", encoding="utf-8")
    assert info.value.code == "bad_encoding" and info.value.data["suggested"] == "CP1252"
    assert store_hash() == before
    importer.import_file(archive, as_="referencia", layer="sectores", encoding=info.value.data["suggested"])
    assert list(store.read_layer("sectores")["nombre"]) == NAMES


# --------------------------------------------------------------------------- shp-zip-multi


def _two_of_one_name(tmp_path: Path) -> Path:
    root = tmp_path / "capas"
    shapefile(root / "2015", "Unidades Vecinales", squares("EPSG:32719", 1), cpg="UTF-8")
    shapefile(root / "2023", "Unidades Vecinales", squares("EPSG:32719", 2), cpg="UTF-8")
    points = squares("EPSG:32719", 1).assign(geometry=lambda g: g.geometry.centroid)
    shapefile(root / "2023", "sedes_sociales", points, cpg="UTF-8")
    return zipped(root, tmp_path / "secplan_capas.zip")


def test_shapefiles_of_one_name_in_folders_are_told_apart(fresh_store, tmp_path):
    archive = _two_of_one_name(tmp_path)
    listed = {row["capa"]: row["n"] for row in importer.inspect(archive)}
    assert listed == {"2015/Unidades Vecinales": 1, "2023/Unidades Vecinales": 2, "2023/sedes_sociales": 1}
    before = store_hash()
    with pytest.raises(InputFileError) as info:
        importer.import_file(archive, as_="referencia", layer="uv")
    assert info.value.code == "several_layers" and "«2015/Unidades Vecinales», «2023/Unidades Vecinales»" in str(info.value)
    assert store_hash() == before
    report = importer.import_file(archive, as_="referencia", layer="uv", gpkg_layer="2023/Unidades Vecinales")
    assert report.n_stored == 2 and report.source_layer == "2023/Unidades Vecinales"


# --------------------------------------------------------------------------- prj-unknown-datum


def test_psad56_prj_without_epsg_or_towgs84_lands_where_it_should(fresh_store, tmp_path):
    shapefile(tmp_path / "p", "sectores", squares("EPSG:24879", 2), cpg="UTF-8", prj=PSAD_MAPINFO)
    report = importer.import_file(zipped(tmp_path / "p", tmp_path / "p.zip"), as_="referencia", layer="sectores")
    assert report.crs_origin.startswith("EPSG:24879")
    assert "PSAD 56 Chile" in report.crs_note
    assert first_vertex_error_m("sectores") < 1.0  # not 462 m off


def test_a_datum_nobody_knows_asks_for_the_crs(fresh_store, tmp_path):
    prj = PSAD_MAPINFO.replace("PSAD 56 Chile", "Datum Municipal").replace("PSAD 56", "Local")
    shapefile(tmp_path / "p", "sectores", squares("EPSG:24879", 2), cpg="UTF-8", prj=prj)
    archive = zipped(tmp_path / "p", tmp_path / "p.zip")
    before = store_hash()
    with pytest.raises(InputFileError) as info:
        importer.import_file(archive, as_="referencia", layer="sectores")
    assert info.value.code == "datum_unknown" and "Datum Municipal" in str(info.value)
    assert store_hash() == before
    importer.import_file(archive, as_="referencia", layer="sectores", crs="EPSG:24879")
    assert first_vertex_error_m("sectores") < 1.0


# --------------------------------------------------------------------------- kml-mymaps


def _mymaps_kml(ids: list[str]) -> str:
    """A Google My Maps export: a folder, a style, ExtendedData ``Código`` and ``Año``, 3D coordinates."""
    marks = "".join(
        f"<Placemark><name>Proyecto {k}</name><styleUrl>#icon-1</styleUrl><ExtendedData>"
        f'<Data name="Código"><value>{ident}</value></Data><Data name="Año"><value>{2024 + k}</value></Data>'
        f"</ExtendedData><Point><coordinates>{VERTEX[0] + 0.003 * k},{VERTEX[1] + 0.002},0</coordinates></Point></Placemark>"
        for k, ident in enumerate(ids)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<name>Proyectos SECPLAN</name><Style id=\"icon-1\"><IconStyle><scale>1</scale></IconStyle></Style>"
        f"<Folder><name>Sedes sociales</name>{marks}</Folder></Document></kml>"
    )


@pytest.mark.parametrize("kmz", [False, True])
def test_mymaps_extended_data_names_keep_their_letters(fresh_store, tmp_path, kmz):
    ids = list(store.read_layer("iniciativas", columns=["id"], read_geometry=False)["id"][:2])
    text = _mymaps_kml(ids)
    path = tmp_path / ("proyectos.kmz" if kmz else "proyectos.kml")
    if kmz:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("doc.kml", text)
    else:
        path.write_text(text, encoding="utf-8")
    report = importer.import_file(path, as_="referencia", layer="proyectos")
    assert {"codigo", "ano"} <= set(report.fields)
    assert not {"c_digo", "a_o"} & set(report.fields)
    sites = importer.import_file(path, as_="iniciativas", layer="sitios", id_field="Código")
    assert sorted(store.read_layer("sitios")["id"]) == sorted(ids) and sites.n_stored == 2


# --------------------------------------------------------------------------- csv-excel-es


def test_excel_csv_keeps_windows_1252_punctuation(fresh_store, tmp_path):
    text = (
        "Código;Nombre;Latitud;Longitud;Observación\r\n"
        f"E1-P1-01;Reposición sede Ñuñoa;{VERTEX[1]:.4f};{VERTEX[0]:.4f};Proyecto “Plaza” – etapa 2\r\n".replace(".", ",")
    )
    path = tmp_path / "proyectos_excel.csv"
    path.write_bytes(text.encode("cp1252"))
    report = importer.import_file(path, as_="referencia", layer="proyectos")
    stored = store.read_layer("proyectos")
    assert list(stored["observacion"]) == ["Proyecto “Plaza” – etapa 2"] and no_c1(stored["nombre"])
    assert report.encoding == "CP1252"


def test_utm_csv_with_thousands_dots_is_read(fresh_store, tmp_path):
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32719", always_xy=True).transform(*VERTEX)
    def dotted(v: float) -> str:
        return f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    path = tmp_path / "utm_miles.csv"
    path.write_bytes(f"Nombre;Este;Norte\r\nTorreón;{dotted(x)};{dotted(y)}\r\n".encode("cp1252"))
    assert "." in dotted(y) and "," in dotted(y)
    importer.import_file(path, as_="referencia", layer="utm", crs="EPSG:32719")
    assert first_vertex_error_m("utm") < 0.1


# --------------------------------------------------------------------------- csv-ewkt


def _ewkt_csv(tmp_path: Path, srid: int, name: str = "uv_ewkt.csv") -> Path:
    frame = squares(f"EPSG:{srid}", 2)
    rows = [f'{k},{n},"SRID={srid};{g.wkt}"' for k, (n, g) in enumerate(zip(frame["NOMBRE"], frame.geometry), 1)]
    path = tmp_path / name
    path.write_text("id,nombre,geom\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("srid", [32719, 4326])
def test_ewkt_declares_its_crs(fresh_store, tmp_path, srid):
    report = importer.import_file(_ewkt_csv(tmp_path, srid), as_="referencia", layer="uv")
    assert report.crs_origin.startswith(f"EPSG:{srid}") and "SRID" in report.crs_note
    assert first_vertex_error_m("uv") < 0.5


def test_a_crs_that_contradicts_the_srid_is_refused(fresh_store, tmp_path):
    path = _ewkt_csv(tmp_path, 32719)
    before = store_hash()
    with pytest.raises(InputFileError) as info:
        importer.import_file(path, as_="referencia", layer="uv", crs="EPSG:24879")
    assert info.value.code == "crs_conflict" and "EPSG:32719" in str(info.value)
    assert store_hash() == before
    importer.import_file(path, as_="referencia", layer="uv", crs="EPSG:32719")  # the same one is fine


def test_mixed_srids_are_refused(fresh_store, tmp_path):
    a, b = _ewkt_csv(tmp_path, 32719, "a.csv"), _ewkt_csv(tmp_path, 4326, "b.csv")
    mixed = tmp_path / "mixto.csv"
    mixed.write_text(a.read_text(encoding="utf-8") + b.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        importer.import_file(mixed, as_="referencia", layer="uv")
    assert info.value.code == "mixed_srid"


# --------------------------------------------------------------------------- fields-long-dup-null


def _repeated_field_shapefile(tmp_path: Path) -> Path:
    """A DBF naming two fields ``NOMBRE_UNI`` (as tools that cut names to 10 characters leave them)."""
    frame = squares("EPSG:4326", 2)
    frame = gpd.GeoDataFrame(
        {"NOMBRE_UNI": ["UV 12 Ñuñoa", "UV 14 Torreón"], "NOMBRE_UNX": ["Unidad Vecinal 12", "Unidad Vecinal 14"]},
        geometry=frame.geometry, crs=frame.crs,
    )
    shp = shapefile(tmp_path / "d", "uv_dup", frame, cpg="UTF-8")
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"NOMBRE_UNX", b"NOMBRE_UNI"))
    return zipped(tmp_path / "d", tmp_path / "uv_dup.zip")


def test_a_repeated_dbf_field_keeps_both_and_says_so(fresh_store, tmp_path):
    archive = _repeated_field_shapefile(tmp_path)
    report = importer.import_file(archive, as_="referencia", layer="uv_dup")
    stored = store.read_layer("uv_dup")
    assert list(stored["nombre_uni"]) == ["UV 12 Ñuñoa", "UV 14 Torreón"]
    assert list(stored["nombre_uni_2"]) == ["Unidad Vecinal 12", "Unidad Vecinal 14"]
    assert any("NOMBRE_UNI→NOMBRE_UNI_2" in w for w in report.warnings)
    importer.import_file(archive, as_="territorios", layer="uv_terr", name_field="NOMBRE_UNI")
    assert list(store.read_layer("uv_terr")["nombre"]) == ["UV 12 Ñuñoa", "UV 14 Torreón"]


def test_field_names_fold_accents_and_every_rename_is_reported(fresh_store, tmp_path):
    frame = squares("EPSG:4326", 2)
    props = {"Año": 2020, "año": "texto", "AÑO": 1, "geometry": "POLYGON", "fid": 7, "Población Total": 10,
             "codigo_unidad_vecinal_larguisimo_que_supera_los_cuarenta_caracteres": "x"}
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": json.loads(gpd.GeoSeries([g]).to_json())["features"][0]["geometry"]}
        for g in frame.geometry
    ]}
    path = tmp_path / "uv_campos.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = importer.import_file(path, as_="referencia", layer="campos")
    stored = store.read_layer("campos")
    assert {"ano", "ano_2", "ano_3", "geometry_2", "fid_1", "poblacion_total"} <= set(stored.columns)
    assert list(stored["geometry_2"]) == ["POLYGON", "POLYGON"]
    said = " ".join(report.warnings)
    for renamed in ("geometry→geometry_2", "año→ano_2", "AÑO→ano_3", "fid→fid_1", "Población Total→poblacion_total"):
        assert renamed in said
    assert all(len(c) <= 40 for c in stored.columns)


# --------------------------------------------------------------------------- damaged files


def test_inspect_of_a_damaged_shapefile_is_a_refusal(fresh_store, tmp_path):
    shp = shapefile(tmp_path / "r", "roto", squares("EPSG:32719"), cpg="UTF-8")
    shp.with_suffix(".shx").write_bytes(shp.with_suffix(".shx").read_bytes()[:100] + b"\xff" * 8)
    shp.write_bytes(shp.read_bytes()[:120])
    archive = zipped(tmp_path / "r", tmp_path / "roto.zip")
    try:
        rows = importer.inspect(archive)
    except InputFileError as exc:
        assert str(exc).count("\n") == 0
    else:  # GDAL may still count what it can: then every row is complete
        assert all(row["n"] is not None and row["geometria"] for row in rows)
    proc = subprocess.run([*CLI, "inspect", str(archive)], capture_output=True, text=True, env=dict(os.environ))
    assert "?" not in proc.stdout and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- the shared files themselves


CASES = Path(os.environ.get("SIT_CASES_DIR", settings.PROJECT_DIR.parent / "shared" / "cases"))


@pytest.mark.skipif(not CASES.is_dir(), reason="the shared real-world files are not on this machine")
def test_the_shared_files_behave_as_their_readme_says(fresh_store):
    def imp(rel: str, layer: str, **kw):
        return importer.import_file(CASES / rel, layer=f"caso_{layer}", **{"as_": "referencia", **kw})

    for rel in ("shp-latin1-nocpg/uv_noldid.zip", "shp-latin1-nocpg/uv_ldid57.zip"):
        imp(rel, "a", replace=True)
        assert list(store.read_layer("caso_a")["nombre"]) == NAMES
    for rel in ("shp-wrong-cpg/sectores_cpg_utf8.zip", "shp-wrong-cpg/sectores_cpg_ansi1252.zip"):
        imp(rel, "b", replace=True)
        assert {"Población Ñuñoa", "Torreón Alto"} <= set(store.read_layer("caso_b")["nombre"])
    assert imp("shp-zip-multi/secplan_capas.zip", "c", gpkg_layer="2023/Unidades Vecinales").n_stored == 2
    with pytest.raises(SitError):
        imp("shp-zip-multi/secplan_capas.zip", "c2")
    imp("prj-unknown-datum/sectores_psad_mapinfo.zip", "d")
    assert first_vertex_error_m("caso_d") < 1.0
    for rel in ("kml-mymaps/proyectos_mymaps.kml", "kml-mymaps/proyectos_mymaps.kmz"):
        assert {"codigo", "ano"} <= set(imp(rel, "e", replace=True).fields)
    imp("csv-excel-es/proyectos_excel.csv", "f")
    assert "Proyecto “Plaza” – etapa 2" in set(store.read_layer("caso_f")["observacion"])
    imp("csv-excel-es/proyectos_utm_miles.csv", "g", crs="EPSG:32719")
    for rel in ("csv-ewkt/uv_ewkt.csv", "csv-ewkt/uv_ewkt_4326.csv"):
        imp(rel, "h", replace=True)
        assert first_vertex_error_m("caso_h") < 1.0
    with pytest.raises(SitError):
        imp("csv-ewkt/uv_ewkt.csv", "h2", crs="EPSG:4326")
    imp("fields-long-dup-null/uv_dup_campos.zip", "i", as_="territorios", name_field="NOMBRE_UNI")
    assert "NOMBRE_UNI" not in set(store.read_layer("caso_i")["nombre"])
    imp("fields-long-dup-null/uv_campos.geojson", "j")
