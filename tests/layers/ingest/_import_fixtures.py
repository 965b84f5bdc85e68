"""Shared helpers for the import and export tests: a private store per test and real files.

Every file a test imports is generated here with pyogrio, zipfile or plain text,
from coordinates of real places of Vallenar in WGS 84 transformed with pyproj.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyproj
import shapely
from shapely.geometry import Point, box

from layers import settings, store

#: Places of the commune (lon, lat), WGS 84.
PLAZA = (-70.759, -28.576)  # Plaza de Armas
HERMANOS_CARRERA = (-70.750, -28.5545)
DOMEYKO = (-70.883, -28.950)
CAMARONES_SITE = (-70.60, -28.62)
#: Names with accents and ñ, as official files carry them.
NAMES = ["Ñuñoa", "Población Hermanos Carrera", "Camarones"]


def store_hash() -> str:
    """SHA-256 of the store file."""
    return hashlib.sha256(settings.store_path().read_bytes()).hexdigest()


def transform(points: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    """Points from WGS 84 (lon, lat) to ``crs``, in its traditional GIS order (x=east/lon)."""
    t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return [t.transform(x, y) for x, y in points]


def points_layer(crs: str = "EPSG:4326", names: list[str] | None = None) -> gpd.GeoDataFrame:
    """Three points of Vallenar (plaza, Hermanos Carrera, Domeyko) in ``crs``."""
    names = names or NAMES
    xy = transform([PLAZA, HERMANOS_CARRERA, DOMEYKO], crs)
    return gpd.GeoDataFrame({"nombre": names, "codigo": ["A1", "A2", "A3"]}, geometry=[Point(p) for p in xy], crs=crs)


def squares_layer(crs: str = "EPSG:4326", size_m: float = 400.0) -> gpd.GeoDataFrame:
    """Three square polygons (``size_m`` side) around the points of :func:`points_layer`, in ``crs``."""
    centres = gpd.GeoSeries([Point(p) for p in (PLAZA, HERMANOS_CARRERA, DOMEYKO)], crs="EPSG:4326").to_crs("EPSG:32719")
    squares = [box(c.x - size_m / 2, c.y - size_m / 2, c.x + size_m / 2, c.y + size_m / 2) for c in centres]
    out = gpd.GeoDataFrame(
        {"NOMBRE": NAMES, "COD": ["T-1", "T-2", "T-3"]}, geometry=squares, crs="EPSG:32719"
    )
    return out.to_crs(crs)


def write(gdf: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    """Write with pyogrio (driver from the extension)."""
    pyogrio.write_dataframe(gdf, path, **kwargs)
    return path


def zip_files(files: list[Path], dest: Path) -> Path:
    """Zip ``files`` flat into ``dest``."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.write(f, f.name)
    return dest


def zipped_shapefile(
    gdf: gpd.GeoDataFrame, folder: Path, stem: str, encoding: str | None = None, cpg: bool = True, prj: bool = True
) -> Path:
    """A zipped Shapefile of ``gdf``; optionally without ``.cpg`` or ``.prj``."""
    work = folder / f"_{stem}"
    work.mkdir(parents=True, exist_ok=True)
    kwargs = {"encoding": encoding} if encoding else {}
    pyogrio.write_dataframe(gdf, work / f"{stem}.shp", **kwargs)
    if not cpg:
        (work / f"{stem}.cpg").unlink(missing_ok=True)
    if not prj:
        (work / f"{stem}.prj").unlink(missing_ok=True)
    return zip_files(sorted(work.iterdir()), folder / f"{stem}.zip")


def city_units() -> gpd.GeoDataFrame:
    """Referential "unidades vecinales": a 3 x 3 grid over the shipped urban sectors, plus one rural unit.

    The rural unit is the shipped Domeyko territory. Fields ``COD_UV`` and
    ``NOMBRE``, EPSG:4326.
    """
    terr = store.read_layer("territorios")
    urban = shapely.union_all(terr.loc[terr["tipo"] == "sector urbano"].geometry.to_numpy())
    x0, y0, x1, y1 = urban.bounds
    cells = []
    for i in range(3):
        for j in range(3):
            cell = box(x0 + (x1 - x0) * i / 3, y0 + (y1 - y0) * j / 3, x0 + (x1 - x0) * (i + 1) / 3, y0 + (y1 - y0) * (j + 1) / 3)
            part = shapely.intersection(cell, urban)
            if part.area > 0:
                cells.append(part)
    names = [f"Unidad Vecinal N° {k + 1}" for k in range(len(cells))]
    codes = [f"UV-{k + 1:02d}" for k in range(len(cells))]
    domeyko = terr.loc[terr["slug"] == "domeyko"].geometry.iloc[0]
    return gpd.GeoDataFrame(
        {"COD_UV": [*codes, "UV-R1"], "NOMBRE": [*names, "Domeyko (rural)"]},
        geometry=[*cells, domeyko],
        crs="EPSG:4326",
    )


def bad_input_files(tmp: Path, oversize_bytes: int) -> dict[str, Path]:
    """The bad input files the issue lists, written under ``tmp``.

    Parameters
    ----------
    tmp : pathlib.Path
        Folder to write them in.
    oversize_bytes : int
        Spaces appended to a valid GeoJSON for the file that exceeds the upload limit
        (the test sets a limit below its size).

    Returns
    -------
    dict
        Case -> path: ``good`` (a valid GeoJSON of three points), ``empty``,
        ``truncated`` JSON, ``json_list`` and ``json_object`` (valid JSON, not
        GeoJSON), ``zip_without_shp``, ``zip_escape`` (``../`` members),
        ``zip_absolute`` (absolute members), ``zip_bomb`` (expands to 3 MB) and
        ``oversize``.
    """
    good = write(points_layer(), tmp / "bien.geojson")
    files = {"good": good}
    files["empty"] = tmp / "vacio.geojson"
    files["empty"].write_bytes(b"")
    files["truncated"] = tmp / "truncado.geojson"
    files["truncated"].write_text(good.read_text(encoding="utf-8")[:120], encoding="utf-8")
    files["json_list"] = tmp / "lista.json"
    files["json_list"].write_text('[1, 2, {"a": "b"}]', encoding="utf-8")
    files["json_object"] = tmp / "datos.json"
    files["json_object"].write_text('{"nombre": "Vallenar", "poblacion": 51900}', encoding="utf-8")
    members = {
        "zip_without_shp": {"capa.dbf": b"x", "capa.prj": b"x"},
        "zip_escape": {"capa.shp": b"x", "../../fuera.txt": b"malo", "../../../tmp/sit_escape.shp": b"x"},
        "zip_absolute": {"/tmp/sit_absoluta.shp": b"x", "/tmp/sit_absoluta.txt": b"malo"},
    }
    names = {"zip_without_shp": "sin_shp.zip", "zip_escape": "escape.zip", "zip_absolute": "absoluta.zip"}
    for case, content in members.items():
        files[case] = tmp / names[case]
        with zipfile.ZipFile(files[case], "w") as archive:
            for member, data in content.items():
                archive.writestr(member, data)
    files["zip_bomb"] = tmp / "bomba.zip"
    with zipfile.ZipFile(files["zip_bomb"], "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("capa.shp", b"\0" * 3_000_000)
    files["oversize"] = tmp / "grande.geojson"
    files["oversize"].write_bytes(good.read_bytes() + b" " * oversize_bytes)
    return files


def hinted_cases(tmp: Path) -> dict[str, tuple[Path, dict[str, object]]]:
    """One refused import for each error code whose hint depends on where the person is.

    Returns
    -------
    dict
        Code -> (file, keyword arguments of :func:`layers.ingest.importer.import_file`).
        The command line and the form each add their own hint to these refusals.
    """
    import pandas as pd

    good = write(points_layer(), tmp / "bien.geojson")
    squares = write(squares_layer(), tmp / "cuadros.geojson")
    gpkg = write(points_layer(), tmp / "varias.gpkg", layer="plazas")
    pyogrio.write_dataframe(squares_layer(), gpkg, layer="manzanas", append=True)
    latin = zipped_shapefile(points_layer(), tmp, "latin", encoding="latin1", cpg=False)
    no_prj = zipped_shapefile(points_layer("EPSG:32719"), tmp, "sin_prj", prj=False)
    zone = write(points_layer("EPSG:32719").set_crs("EPSG:32718", allow_override=True), tmp / "zona.gpkg")
    repeated = squares_layer().assign(COD="T-1")
    write(repeated, tmp / "repetidos.geojson")
    no_geom = tmp / "sin_geometria.csv"
    pd.DataFrame({"nombre": ["a"], "valor": [1]}).to_csv(no_geom, index=False)
    ref = {"as_": "referencia", "layer": "pista"}
    return {
        "layer_exists": (good, {"as_": "referencia", "layer": "comuna"}),
        "crs_missing": (no_prj, ref),
        "outside_commune": (zone, ref),
        "bad_encoding": (latin, {**ref, "encoding": "utf-8"}),
        "several_layers": (gpkg, ref),
        "layer_not_found": (gpkg, {**ref, "gpkg_layer": "rios"}),
        "name_field_missing": (squares, {"as_": "territorios", "layer": "pista"}),
        "id_field_missing": (good, {"as_": "iniciativas", "layer": "pista"}),
        "field_missing": (squares, {"as_": "territorios", "layer": "pista", "name_field": "NOM_UV"}),
        "duplicate_ids": (tmp / "repetidos.geojson", {"as_": "territorios", "layer": "pista", "name_field": "NOMBRE", "id_field": "COD"}),
        "no_geometry_columns": (no_geom, ref),
    }
