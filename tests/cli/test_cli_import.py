"""The command line for import, remove and export of imported layers; bad input exits 2 and changes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from layers import settings, store
from tests.layers.ingest._import_fixtures import (
    DOMEYKO,
    PLAZA,
    bad_input_files,
    city_units,
    points_layer,
    squares_layer,
    store_hash,
    write,
    zipped_shapefile,
)

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))  # SIT_DATA_DIR comes from the fixture
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=full_env, cwd=settings.PROJECT_DIR)


def export_ids(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "sel.geojson"
    proc = run("export", "iniciativas", "-o", out, *args)
    assert proc.returncode == 0, proc.stderr
    return {f["properties"]["id"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]}


def test_import_territories_and_filter_initiatives_by_them(fresh_store, tmp_path):
    catalogue = tmp_path / "antes.geojson"
    assert run("export", "iniciativas", "-o", catalogue).returncode == 0
    units = city_units().to_crs("EPSG:24879")
    archive = zipped_shapefile(units, tmp_path, "uv_psad56", encoding="latin1", cpg=False)
    proc = run("import", archive, "--as", "territorios", "--layer", "unidades_vecinales", "--name-field", "NOMBRE", "--id-field", "COD_UV")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Capa «unidades_vecinales» importada como territorios" in out
    assert "SRC de origen: EPSG:24879 (PSAD56 / UTM 19S)" in out
    assert f"Elementos leídos: {len(units)}" in out and "Extensión (WGS 84)" in out
    listing = run("layers").stdout
    assert any(line.split()[:4] == ["unidades_vecinales", str(len(units)), "territorios", "importada"] for line in listing.splitlines())

    layer = store.read_layer("unidades_vecinales")
    plaza_uv = layer.loc[shapely.contains(layer.geometry.to_numpy(), shapely.Point(PLAZA)), "slug"].iloc[0]
    inits = store.read_layer("iniciativas").set_index("id")
    urban = set(inits.index[inits["alcance"] == "urbano"])
    rural = set(inits.index[inits["alcance"] == "rural"])
    comunal = set(inits.index[inits["alcance"] == "comunal"])

    centre = export_ids(tmp_path, "--capa-territorios", "unidades_vecinales", "--territorio", plaza_uv)
    assert {"E1-P1-03", "E6-P1-06"} <= centre, "sited in the unit that holds the plaza"
    assert urban <= centre and comunal <= centre and not (rural & centre)

    domeyko = export_ids(tmp_path, "--capa-territorios", "unidades_vecinales", "--territorio", "uv-r1")
    assert "E1-P4-09" in domeyko, "linked to Domeyko by the plan, reached through overlap"
    assert rural <= domeyko and comunal <= domeyko and not (urban & domeyko)
    assert "E1-P1-03" not in domeyko

    bad = run("export", "iniciativas", "--capa-territorios", "unidades_vecinales", "--territorio", "domeyko", "-o", tmp_path / "x.geojson")
    assert bad.returncode == 2 and "Territorio desconocido: «domeyko»" in bad.stderr
    bad = run("export", "iniciativas", "--capa-territorios", "comuna", "--territorio", "x", "-o", tmp_path / "x.geojson")
    assert bad.returncode == 2 and "Capa de territorios desconocida: «comuna»" in bad.stderr

    # the imported layer itself exports with the territory filter, in any format
    one = tmp_path / "uv.zip"
    assert run("export", "unidades_vecinales", "--territorio", "uv-r1", "--format", "shp", "-o", one).returncode == 0
    back = pyogrio.read_dataframe(f"/vsizip/{one}/unidades_vecinales.shp")
    assert list(back["nombre"]) == ["Domeyko (rural)"]

    # the catalogue is untouched
    after = tmp_path / "despues.geojson"
    assert run("export", "iniciativas", "-o", after).returncode == 0
    assert json.loads(after.read_text(encoding="utf-8")) == json.loads(catalogue.read_text(encoding="utf-8"))


def test_import_sites_and_export_with_them(fresh_store, tmp_path):
    path = tmp_path / "obras.csv"
    path.write_text(f"codigo;latitud;longitud\nE3-P4-03;{str(DOMEYKO[1]).replace('.', ',')};{str(DOMEYKO[0]).replace('.', ',')}\nE0-XX;-28,5;-70,7\n", encoding="utf-8")
    proc = run("import", path, "--as", "iniciativas", "--layer", "obras_secplan", "--id-field", "codigo")
    assert proc.returncode == 0, proc.stderr
    assert "Ids que no están en el catálogo: E0-XX" in proc.stdout
    # Jardín Infantil Vista Alegre moved to Domeyko by the imported site
    assert "E3-P4-03" in export_ids(tmp_path, "--ubicaciones", "obras_secplan", "--territorio", "domeyko")
    # The newest imported site layer is the default (README); «incluidas» gives the shipped sites.
    assert "E3-P4-03" in export_ids(tmp_path, "--territorio", "domeyko")
    assert "E3-P4-03" not in export_ids(tmp_path, "--ubicaciones", "incluidas", "--territorio", "domeyko")
    bad = run("export", "comuna", "--ubicaciones", "obras_secplan", "-o", tmp_path / "x.geojson")
    assert bad.returncode == 2 and "solo se aplican a las iniciativas" in bad.stderr


def test_export_every_format_from_the_cli(fresh_store, tmp_path):
    n = len(store.read_layer("territorios"))
    assert n == 30  # 13 census zones, 16 rural localities, the rural remainder
    for fmt, ext in (("geojson", "geojson"), ("gpkg", "gpkg"), ("shp", "zip"), ("csv", "csv"), ("kml", "kml")):
        out = tmp_path / f"t.{ext}"
        proc = run("export", "territorios", "--format", fmt, "-o", out)
        assert proc.returncode == 0, proc.stderr
        path = f"/vsizip/{out}/territorios.shp" if fmt == "shp" else out
        back = pyogrio.read_dataframe(path)
        assert len(back) == n
        if fmt in ("geojson", "gpkg", "shp"):  # counts of persons stay integers (KML and CSV are text)
            assert back["poblacion"].dropna().astype("int64").sum() == 42_610
            assert pyogrio.read_info(path)["dtypes"][list(pyogrio.read_info(path)["fields"]).index("poblacion")].startswith("int")


def test_inspect_and_remove(fresh_store, tmp_path):
    gpkg = tmp_path / "varias.gpkg"
    write(points_layer(), gpkg, layer="puntos")
    write(squares_layer(), gpkg, layer="cuadros")
    proc = run("inspect", gpkg)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["puntos\tPoint\t3", "cuadros\tPolygon\t3"]
    proc = run("import", gpkg, "--as", "referencia", "--layer", "cuadros", "--gpkg-layer", "cuadros")
    assert proc.returncode == 0, proc.stderr
    proc = run("remove", "cuadros")
    assert proc.returncode == 0 and "Capa «cuadros» eliminada." in proc.stdout
    proc = run("remove", "cuadros")
    assert proc.returncode == 2 and "Capa desconocida: «cuadros»" in proc.stderr
    proc = run("remove", "iniciativas")
    assert proc.returncode == 2 and "no se puede eliminar" in proc.stderr


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], dict[str, str], str]]:
    files = bad_input_files(tmp, oversize_bytes=1_200_000)
    good, empty, truncated, not_geo = files["good"], files["empty"], files["truncated"], files["json_list"]
    no_shp, escape, absolute = files["zip_without_shp"], files["zip_escape"], files["zip_absolute"]
    bomb, big = files["zip_bomb"], files["oversize"]
    squares = write(squares_layer(), tmp / "cuadros.geojson")
    ref = ["--as", "referencia", "--layer"]
    return {
        "archivo vacío": ([empty, *ref, "x_vacio"], {}, "El archivo «vacio.geojson» está vacío."),
        "JSON truncado": ([truncated, *ref, "x_trunc"], {}, "no es JSON válido (línea "),
        "JSON no GeoJSON": ([not_geo, *ref, "x_json"], {}, "es JSON pero no GeoJSON"),
        "zip sin .shp": ([no_shp, *ref, "x_zip"], {}, "no contiene un Shapefile (.shp)"),
        "zip con ../": ([escape, *ref, "x_esc"], {}, "ruta insegura"),
        "zip con ruta absoluta": ([absolute, *ref, "x_abs"], {}, "ruta insegura"),
        "bomba zip": ([bomb, *ref, "x_bomba"], {"SIT_UNZIP_LIMIT_MB": "1"}, "se expande a 2,9 MB, más que el máximo permitido (1,0 MB)"),
        "archivo muy grande": ([big, *ref, "x_grande"], {"SIT_UPLOAD_LIMIT_MB": "1"}, "pesa 1,1 MB, más que el máximo permitido (1,0 MB)"),
        "SRC desconocido": ([good, *ref, "x_crs", "--crs", "EPSG:99999"], {}, "Sistema de coordenadas desconocido: «EPSG:99999»"),
        "campo inexistente": ([squares, "--as", "territorios", "--layer", "x_campo", "--name-field", "NOM_UV"], {}, "no tiene el campo «NOM_UV» (nombre de cada territorio). Campos disponibles: NOMBRE, COD. Revise --name-field."),
        "capa incluida sin --replace": ([squares, "--as", "territorios", "--layer", "territorios", "--name-field", "NOMBRE"], {}, "La capa «territorios» existe (incluida en el sistema). Use --replace para reemplazarla."),
        "nombre de capa inválido": ([good, *ref, "Mi-Capa"], {}, "Nombre de capa inválido: «Mi-Capa»"),
        "tabla interna": ([good, *ref, "sit_capas"], {}, "reservado"),
        "tipo desconocido": ([good, "--as", "calles", "--layer", "x_tipo"], {}, "Tipo de importación desconocido"),
        "sin --as": ([good, "--layer", "x_sin"], {}, "argumentos inválidos"),
    }


def test_bad_input_one_line_status_2_store_unchanged(fresh_store, tmp_path):
    cases = _bad_inputs(tmp_path)
    before = store_hash()
    messages = {}
    for name, (args, env, expected) in cases.items():
        proc = run("import", *args, env=env)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (name, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("Error: "), (name, proc.stderr)
        assert expected in lines[0], (name, lines[0])
        assert "Traceback" not in proc.stderr and proc.stdout == "", name
        assert store_hash() == before, name
        messages[name] = lines[0]
    assert not Path("/tmp/sit_escape.shp").exists() and not Path("/tmp/sit_absoluta.shp").exists()
    assert len(set(messages.values())) == len(messages)  # each case says what is wrong


def _big_geojson(path: Path, n: int) -> Path:
    rng = np.random.default_rng(7)
    x = PLAZA[0] + rng.uniform(-0.02, 0.02, n)
    y = PLAZA[1] + rng.uniform(-0.02, 0.02, n)
    features = [
        {"type": "Feature", "properties": {"n": i, "nombre": f"punto {i}"}, "geometry": {"type": "Point", "coordinates": [round(a, 6), round(b, 6)]}}
        for i, (a, b) in enumerate(zip(x, y))
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_killed_import_leaves_the_store_as_it_was(fresh_store, tmp_path):
    """SIGKILL a real ``cli.py import`` at several moments, including while the next store is written."""
    big = _big_geojson(tmp_path / "grande.geojson", 60_000)
    before = store_hash()

    def writing() -> bool:  # the store writes the next store to a hidden temporary file beside it
        return any(p.name.startswith(".") and ".tmp" in p.name for p in fresh_store.parent.iterdir())

    killed_while_writing = 0
    for delay in (0.1, 0.4, 0.8, "writing", "writing+0.05", "writing+0.2"):
        proc = subprocess.Popen(
            [*CLI, "import", str(big), "--as", "referencia", "--layer", "grande"],
            env=dict(os.environ), cwd=settings.PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        if isinstance(delay, float):
            time.sleep(delay)
        else:
            deadline = time.monotonic() + 30
            while not writing() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            if proc.poll() is None and writing():
                killed_while_writing += 1
            extra = float(delay.partition("+")[2] or 0)
            time.sleep(extra)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if finished:  # too late to kill: the import must then be complete
            assert len(store.read_layer("grande")) == 60_000
            store.remove_layer("grande")
            before = store_hash()
            continue
        assert proc.returncode == -signal.SIGKILL
        assert store_hash() == before, f"store changed after a kill at {delay}"
        assert "grande" not in set(store.list_layers()["nombre"])
        assert len(store.read_layer("iniciativas")) == 194
    assert killed_while_writing >= 1
    # the next writer cleans leftovers and succeeds
    proc = run("import", big, "--as", "referencia", "--layer", "grande")
    assert proc.returncode == 0, proc.stderr
    assert len(store.read_layer("grande")) == 60_000
    assert not writing()


def test_zip_with_a_file_that_is_also_a_folder_is_one_line(fresh_store, tmp_path):
    archive = tmp_path / "x_y.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x", b"a")
        zf.writestr("x/y.txt", b"b")
    before = store_hash()
    for args in (("inspect", archive), ("import", archive, "--as", "referencia", "--layer", "x_y")):
        proc = run(*args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0] == "Error: «x_y.zip»: El zip contiene «x» como archivo y como carpeta a la vez; no se extrae."
        assert "Traceback" not in proc.stderr
    assert store_hash() == before


#: File names people give files: GDAL's archive separator, URL-like characters, quotes, a leading dash.
ODD_NAMES = ["uv!2023", "con espacio y ñandú", "hash#1", "pregunta?", "estrella*", "dos:puntos", "comilla'doble\"", "-guion"]


def test_file_names_with_any_characters_import(fresh_store, tmp_path):
    folder = tmp_path / "nombres"
    folder.mkdir()
    good = write(points_layer(), tmp_path / "bien.geojson").read_bytes()
    gpkg = write(squares_layer(), tmp_path / "bien.gpkg").read_bytes()
    shp = zipped_shapefile(points_layer("EPSG:32719"), tmp_path, "p")
    # a zip whose Shapefile members carry the odd names too
    odd_zip = folder / "miembros!raros.zip"
    with zipfile.ZipFile(shp) as src, zipfile.ZipFile(odd_zip, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("p.", "capa!uno #2."), src.read(info))
    files = [odd_zip]
    for stem in ODD_NAMES:
        for ext, data in ((".geojson", good), (".gpkg", gpkg)) if "!" in stem else ((".geojson", good),):
            path = folder / f"{stem}{ext}"
            path.write_bytes(data)
            files.append(path)
    for i, path in enumerate(files):
        proc = run("inspect", path)
        assert proc.returncode == 0 and proc.stdout.strip(), (path.name, proc.stderr)
        proc = run("import", path, "--as", "referencia", "--layer", f"nombre_{i}")
        assert proc.returncode == 0, (path.name, proc.stderr)
        assert f"Archivo: {path.name} (" in proc.stdout, (path.name, proc.stdout)
    listing = {line.split()[0]: line.split()[1] for line in run("layers").stdout.splitlines()[1:]}
    assert all(listing[f"nombre_{i}"] == "3" for i in range(len(files))), listing
    assert "capa!uno #2" in run("inspect", odd_zip).stdout


#: Code -> what the command line adds to the domain's message.
CLI_HINTS = {
    "layer_exists": "Use --replace para reemplazarla.",
    "crs_missing": "Indíquelo con --crs, p. ej. --crs EPSG:32719.",
    "outside_commune": "Pruebe --crs EPSG:32719.",
    "bad_encoding": "Pruebe --encoding CP1252.",
    "several_layers": "Indíquelo, tal como aparece, con --gpkg-layer.",
    "layer_not_found": "Elija una con --gpkg-layer.",
    "name_field_missing": "Use --name-field.",
    "id_field_missing": "Use --id-field.",
    "field_missing": "Revise --name-field.",
    "duplicate_ids": "Sin --id-field los identificadores se derivan de los nombres.",
    "no_geometry_columns": "Para x/y indique el sistema con --crs.",
}
_FLAGS = {"as_": "--as", "layer": "--layer", "encoding": "--encoding", "gpkg_layer": "--gpkg-layer",
          "name_field": "--name-field", "id_field": "--id-field"}


def test_hints_name_the_options(fresh_store, tmp_path):
    from tests.layers.ingest._import_fixtures import hinted_cases

    cases = hinted_cases(tmp_path)
    assert set(cases) == set(CLI_HINTS)
    before = store_hash()
    for code, (path, kwargs) in cases.items():
        flags = [str(v) for k, value in kwargs.items() for v in (_FLAGS[k], value)]
        proc = run("import", path, *flags)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, (code, proc.stderr)
        assert lines[0].endswith(" " + CLI_HINTS[code]), (code, lines[0])
    assert store_hash() == before


def test_export_shp_names_a_shapefile_or_a_zip_and_a_folder_takes_the_layer_name(fresh_store, tmp_path):
    proc = run("export", "territorios", "--format", "shp", "-o", tmp_path / "territorios.shp")
    assert proc.returncode == 0, proc.stderr
    assert len(pyogrio.read_dataframe(tmp_path / "territorios.shp")) == len(store.read_layer("territorios"))
    assert all((tmp_path / f"territorios.{e}").is_file() for e in ("shx", "dbf", "prj", "cpg"))
    proc = run("export", "territorios", "--format", "shp", "-o", tmp_path / "t.shp.zip")
    assert proc.returncode == 0 and zipfile.is_zipfile(tmp_path / "t.shp.zip")
    folder = tmp_path / "salidas"
    folder.mkdir()
    proc = run("export", "territorios", "--format", "shp", "-o", folder)
    assert proc.returncode == 0 and zipfile.is_zipfile(folder / "territorios.zip"), proc.stderr
    proc = run("export", "iniciativas", "--format", "shp", "-o", tmp_path / "i.shp")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "Traceback" not in proc.stderr


def test_shapefiles_of_one_name_are_listed_and_chosen_by_folder(fresh_store, tmp_path):
    from tests.layers.ingest.test_cases import _two_of_one_name

    archive = _two_of_one_name(tmp_path)
    proc = run("inspect", archive)
    assert proc.returncode == 0 and [line.split("\t")[0] for line in proc.stdout.splitlines()] == [
        "2015/Unidades Vecinales", "2023/Unidades Vecinales", "2023/sedes_sociales"]
    before = store_hash()
    proc = run("import", archive, "--as", "referencia", "--layer", "uv")
    assert proc.returncode == 2 and "«2023/Unidades Vecinales»" in proc.stderr and proc.stderr.strip().endswith("--gpkg-layer.")
    assert store_hash() == before
    proc = run("import", archive, "--as", "referencia", "--layer", "uv", "--gpkg-layer", "2023/Unidades Vecinales")
    assert proc.returncode == 0, proc.stderr
    assert len(store.read_layer("uv")) == 2


def test_new_refusals_are_one_line_with_their_hint(fresh_store, tmp_path):
    from tests.layers.ingest.test_cases import PSAD_MAPINFO, _ewkt_csv, shapefile, squares, zipped

    prj = PSAD_MAPINFO.replace("PSAD 56 Chile", "Datum Municipal").replace("PSAD 56", "Local")
    shapefile(tmp_path / "p", "sectores", squares("EPSG:24879", 2), cpg="UTF-8", prj=prj)
    cases = {
        "datum_unknown": ([zipped(tmp_path / "p", tmp_path / "p.zip")], "Indíquelo con --crs, p. ej. --crs EPSG:24879 si es PSAD56 / UTM 19S."),
        "crs_conflict": ([_ewkt_csv(tmp_path, 32719), "--crs", "EPSG:4326"], "Quite --crs: vale el EPSG:32719 del archivo."),
    }
    cut = tmp_path / "roto.gpkg"
    cut.write_bytes(b"SQLite format 3\x00" + bytes(52) + b"GPKG" + bytes(3000))
    before = store_hash()
    for code, (args, hint) in cases.items():
        proc = run("import", *args, "--as", "referencia", "--layer", "nuevo")
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].endswith(" " + hint), (code, proc.stderr)
    proc = run("inspect", cut)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    assert store_hash() == before
