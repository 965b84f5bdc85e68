"""The command line: listing, exporting with each filter, and each error (status 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely

from layers import settings

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def run(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR)


def export(tmp_path, data_dir, layer: str, *filters: str) -> dict:
    out = tmp_path / f"{layer}.geojson"
    proc = run("export", layer, "--format", "geojson", "-o", str(out), *filters, data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(pyogrio.read_dataframe(out)) == len(doc["features"])  # GDAL reads it back
    return doc


def ids(doc: dict) -> set[str]:
    return {f["properties"]["id"] for f in doc["features"]}


def test_layers_lists_counts(data_dir):
    proc = run("layers", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:]}
    assert rows["comuna"] == "1"
    assert rows["iniciativas"] == "194"
    assert int(rows["territorios"]) >= 12 + 15 + 1


def test_export_each_layer_rfc7946(tmp_path, data_dir):
    for layer in ("comuna", "territorios", "iniciativas"):
        doc = export(tmp_path, data_dir, layer)
        assert "crs" not in doc
        for feature in doc["features"]:
            geom = feature["geometry"]
            if geom is None:
                continue
            shape = shapely.geometry.shape(geom)
            polys = getattr(shape, "geoms", [shape])
            for poly in polys:
                if poly.geom_type == "Polygon":
                    assert poly.exterior.is_ccw
            x, y = shapely.get_coordinates(shape).T
            assert (x < -69.9).all() and (x > -71.3).all() and (y < -27.9).all() and (y > -29.4).all()
            text = json.dumps(geom["coordinates"])
            assert all(len(tok.split(".")[1]) <= 6 for tok in text.replace("[", " ").replace("]", " ").replace(",", " ").split() if "." in tok)


def test_initiatives_without_geometry_are_null_features(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas")
    assert len(doc["features"]) == 194
    nulls = [f for f in doc["features"] if f["geometry"] is None]
    assert nulls and len(nulls) < 194
    assert all(f["properties"]["alcance"] != "" for f in doc["features"])


def test_filter_by_strategy_plan_type(tmp_path, data_dir):
    e1 = export(tmp_path, data_dir, "iniciativas", "--estrategia", "1")
    assert e1["features"] and {f["properties"]["estrategia"] for f in e1["features"]} == {"E1"}
    p = export(tmp_path, data_dir, "iniciativas", "--plan", "E1-P4")
    assert {f["properties"]["plan"] for f in p["features"]} == {"E1-P4"}
    assert len(p["features"]) == 12
    t = export(tmp_path, data_dir, "iniciativas", "--tipo", "estudio")
    assert t["features"] and {f["properties"]["tipo"] for f in t["features"]} == {"Estudio"}
    both = export(tmp_path, data_dir, "iniciativas", "--estrategia", "1", "--tipo", "Proyecto", "--plan", "E1-P4")
    assert ids(both) == {f["properties"]["id"] for f in p["features"] if f["properties"]["tipo"] == "Proyecto"}
    assert ids(both)


def test_filter_by_territory_rural_locality(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko")
    by_scope = {}
    for f in doc["features"]:
        by_scope.setdefault(f["properties"]["alcance"], set()).add(f["properties"]["nombre"])
    assert "urbano" not in by_scope, "urban programmes do not concern a rural locality"
    assert any("agua potable rural" in n.lower() for n in by_scope["rural"])
    assert "comunal" in by_scope
    assert not any("Paseos Peatonales" in n for names in by_scope.values() for n in names)


def test_filter_by_territory_urban_sector(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "iniciativas", "--territorio", "centro")
    props = [f["properties"] for f in doc["features"]]
    names = {p["nombre"] for p in props}
    assert any("Paseos Peatonales" in n for n in names), "sited in the centre"
    assert any("Macromanzana" in n for n in names)
    assert not any("agua potable rural" in n.lower() for n in names)
    assert {p["alcance"] for p in props} >= {"comunal", "urbano", "territorial"}
    assert "extracomunal" not in {p["alcance"] for p in props}


def test_filters_combine(tmp_path, data_dir):
    all_dom = ids(export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko"))
    e1 = ids(export(tmp_path, data_dir, "iniciativas", "--estrategia", "1"))
    both = ids(export(tmp_path, data_dir, "iniciativas", "--territorio", "domeyko", "--estrategia", "1"))
    assert both == all_dom & e1 and both


def test_export_one_territory(tmp_path, data_dir):
    doc = export(tmp_path, data_dir, "territorios", "--territorio", "domeyko")
    assert [f["properties"]["slug"] for f in doc["features"]] == ["domeyko"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "rios", "-o", "x.geojson"], "Capa desconocida: «rios»"),
        (["export", "iniciativas", "--territorio", "atlantida", "-o", "x.geojson"], "Territorio desconocido: «atlantida»"),
        (["export", "iniciativas", "--estrategia", "9", "-o", "x.geojson"], "Estrategia desconocida: «9»"),
        (["export", "iniciativas", "--plan", "E9-P1", "-o", "x.geojson"], "Plan desconocido"),
        (["export", "iniciativas", "--tipo", "Obra", "-o", "x.geojson"], "Tipo desconocido"),
        (["export", "iniciativas", "--format", "dwg", "-o", "x.dwg"], "Formato desconocido: «dwg»"),
        (["export", "comuna", "--estrategia", "1", "-o", "x.geojson"], "no se aplican a la capa «comuna»"),
        (["export", "iniciativas"], "argumentos inválidos"),
        (["volar"], "argumentos inválidos"),
    ],
)
def test_errors_are_one_spanish_line_and_status_2(tmp_path, data_dir, args, message):
    args = [a if a not in ("x.geojson", "x.dwg") else str(tmp_path / a) for a in args]
    proc = run(*args, data_dir=data_dir)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.geojson").exists()


# --------------------------------------------------------------------------- every failure: one Spanish line, status 2


def one_error_line(proc: subprocess.CompletedProcess, status: int = 2) -> str:
    """The single ``Error: ...`` line of a failed run (no traceback, nothing else)."""
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: ") and "Traceback" not in proc.stderr
    return lines[0]


def test_export_into_a_folder_writes_layer_dot_extension(tmp_path, data_dir):
    for fmt, name in (("geojson", "iniciativas.geojson"), ("shp", "iniciativas.zip"), ("csv", "iniciativas.csv")):
        proc = run("export", "iniciativas", "-f", fmt, "-o", str(tmp_path), data_dir=data_dir)
        assert proc.returncode == 0, proc.stderr
        assert str(tmp_path / name) in proc.stderr
        if fmt != "shp":
            assert len(pyogrio.read_dataframe(tmp_path / name)) == 194
    assert "CAPA.EXTENSIÓN" in run("export", "--help", data_dir=data_dir).stdout


def test_export_of_mixed_geometries_as_gpkg_gives_one_layer_per_type_and_a_table(tmp_path, data_dir):
    out = tmp_path / "x.gpkg"
    proc = run("export", "iniciativas", "--estrategia", "1", "--format", "gpkg", "-o", str(out), data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    listed = pyogrio.list_layers(out).tolist()
    assert [name for name, _ in listed] == ["iniciativas_puntos", "iniciativas_lineas", "iniciativas_sin_ubicacion"]
    assert dict(listed)["iniciativas_sin_ubicacion"] is None and "Unknown" not in dict(listed).values()
    counts = {name: pyogrio.read_info(out, layer=name)["features"] for name, _ in listed}
    assert sum(counts.values()) == 88
    assert "Capas del GeoPackage, una por tipo de geometría: " + ", ".join(f"{n} ({c})" for n, c in counts.items()) in proc.stderr
    # the same selection as a zipped Shapefile: one .shp per geometry type
    proc = run("export", "iniciativas", "--estrategia", "1", "-f", "shp", "-o", str(tmp_path / "x.zip"), data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    shps = sorted(n for n in zipfile.ZipFile(tmp_path / "x.zip").namelist() if n.endswith(".shp"))
    assert shps == ["iniciativas_lineas.shp", "iniciativas_puntos.shp", "iniciativas_sin_geometria.shp"]


@pytest.mark.skipif(not os.path.exists("/proc/version"), reason="needs Linux /proc")
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv", "shp", "kml"])
def test_export_to_proc_version_is_refused(data_dir, fmt):
    before = Path("/proc/version").read_text()
    line = one_error_line(run("export", "comuna", "-f", fmt, "-o", "/proc/version", data_dir=data_dir))
    assert line.startswith("Error: No se pudo escribir «/proc/version»: ")
    assert Path("/proc/version").read_text() == before


def test_export_over_a_pipe_or_into_a_missing_folder_is_refused(tmp_path, data_dir):
    fifo = tmp_path / "tuberia"
    os.mkfifo(fifo)
    line = one_error_line(run("export", "comuna", "-o", str(fifo), data_dir=data_dir))
    assert "no es un archivo común" in line and fifo.is_fifo()
    line = one_error_line(run("export", "comuna", "-o", str(tmp_path / "no" / "c.geojson"), data_dir=data_dir))
    assert line == f"Error: La carpeta de salida no existe: {tmp_path / 'no'}"


def test_export_to_standard_output_is_refused_and_writes_no_file_named_dash(tmp_path, data_dir):
    proc = subprocess.run([*CLI, "export", "comuna", "-o", "-"], capture_output=True, text=True,
                          env=dict(os.environ, SIT_DATA_DIR=str(data_dir)), cwd=tmp_path)
    assert proc.returncode == 2 and "no en la salida estándar" in proc.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("layer, rows", [("estrategias", 8), ("objetivos", 42), ("planes", 29)])
def test_tables_export_as_csv_and_gpkg_and_are_refused_in_feature_formats(tmp_path, data_dir, layer, rows):
    for fmt, ext in (("csv", "csv"), ("gpkg", "gpkg")):
        out = tmp_path / f"{layer}.{ext}"
        proc = run("export", layer, "-f", fmt, "-o", str(out), data_dir=data_dir)
        assert proc.returncode == 0, proc.stderr
        assert len(pyogrio.read_dataframe(out)) == rows
    for fmt in ("geojson", "shp", "kml"):
        line = one_error_line(run("export", layer, "-f", fmt, "-o", str(tmp_path / f"x.{fmt}"), data_dir=data_dir))
        assert line == f"Error: «{layer}» es una tabla sin geometría: se exporta como csv o gpkg, no como {fmt}."
        assert not (tmp_path / f"x.{fmt}").exists()


@pytest.mark.parametrize("value", ["abc", "0", "-3", "4096"])
def test_bad_upload_limit_setting(data_dir, value):
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir), SIT_UPLOAD_LIMIT_MB=value)
    proc = subprocess.run([*CLI, "layers"], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR)
    line = one_error_line(proc)
    assert line == (
        "Error: La variable de entorno SIT_UPLOAD_LIMIT_MB debe ser un número de megabytes mayor que 0 "
        f"y de a lo más 1024 (por omisión 50), no «{value}»."
    )
    assert proc.stdout == ""


def test_data_dir_that_is_a_file(tmp_path):
    afile = tmp_path / "archivo"
    afile.write_text("x")
    line = one_error_line(run("layers", data_dir=afile))
    assert "SIT_DATA_DIR" in line and "es un archivo" in line


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Mount small tmpfs folders (``mount_tmpfs(options)``), unmounted afterwards; skip without the right to mount."""
    mounted: list[str] = []

    def mount(options: str):
        target = tmp_path / f"montaje{len(mounted)}"
        target.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(str(target))
        return target

    yield mount
    for target in mounted:
        subprocess.run(["umount", "-l", target], capture_output=True)


def test_read_only_data_dir(mount_tmpfs, tmp_path):
    folder = mount_tmpfs("ro,size=64k")
    line = one_error_line(run("layers", data_dir=folder))
    assert "solo lectura" in line and "SIT_DATA_DIR" in line
    line = one_error_line(run("layers", data_dir=folder / "var"))
    assert line == f"Error: No se pudo crear la carpeta de datos «{folder / 'var'}» (SIT_DATA_DIR): el sistema de archivos es de solo lectura."


def test_full_data_dir(mount_tmpfs):
    folder = mount_tmpfs("size=256k")
    line = one_error_line(run("build", data_dir=folder))
    assert "no queda espacio en el disco" in line and "SIT_DATA_DIR" in line


def test_export_to_a_full_disk_keeps_nothing_half_written(mount_tmpfs, data_dir):
    folder = mount_tmpfs("size=16k")
    line = one_error_line(run("export", "territorios", "-o", str(folder / "t.geojson"), data_dir=data_dir))
    assert line == f"Error: No se pudo escribir «{folder / 't.geojson'}»: no queda espacio en el disco."
    assert list(folder.iterdir()) == []


def test_output_piped_to_a_closed_reader_ends_quietly(data_dir):
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    proc = subprocess.Popen([*CLI, "layers"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=settings.PROJECT_DIR)
    proc.stdout.close()  # like `| head` that has already gone
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 2
    assert err == b""


def test_keyboard_interrupt_is_one_line(data_dir):
    import signal
    import time

    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    proc = subprocess.Popen(
        [*CLI, "usuarios", "crear", "ana", "--rol", "planificador"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=settings.PROJECT_DIR, text=True,
        # Ctrl-C reaches the CLI as it reaches a person's command: a runner started in the background
        # by a non-interactive shell ignores SIGINT, its children inherit that, and Python then
        # leaves SIGINT ignored (the CLI would read an empty password instead).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60

    def reading_stdin() -> bool:
        """Blocked reading a pipe on descriptor 0: waiting for the password."""
        syscall = Path(f"/proc/{proc.pid}/syscall").read_text().split()
        return "pipe" in Path(f"/proc/{proc.pid}/wchan").read_text() and len(syscall) > 1 and syscall[1] == "0x0"

    while not reading_stdin():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out == ""
    assert err.strip() == "Error: Operación interrumpida; el almacén se guarda de una vez, así que nada quedó a medias."


BUG = "import sys, cli; cli.COMMANDS['layers'] = lambda args: 1 / 0; sys.exit(cli.main(sys.argv[1:]))"


def test_an_unforeseen_failure_is_one_line_and_the_traceback_only_with_v(data_dir):
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir))
    quiet = subprocess.run([sys.executable, "-c", BUG, "layers"], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR)
    line = one_error_line(quiet, status=1)
    assert line.startswith("Error: Falla inesperada del programa (ZeroDivisionError: division by zero).")
    assert "-v" in line
    loud = subprocess.run([sys.executable, "-c", BUG, "-v", "layers"], capture_output=True, text=True, env=env, cwd=settings.PROJECT_DIR)
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr and loud.stderr.strip().splitlines()[-1] == line


@pytest.mark.parametrize("table", ["cuentas", "cuentas_historial"])
def test_account_tables_never_export(tmp_path, fresh_store, table):
    data_dir = fresh_store.parent
    created = subprocess.run([*CLI, "usuarios", "crear", "ana", "--rol", "planificador"], input="clave-larga-1\n",
                             capture_output=True, text=True, env=dict(os.environ, SIT_DATA_DIR=str(data_dir)))
    assert created.returncode == 0, created.stderr
    for fmt in ("csv", "gpkg"):
        out = tmp_path / f"{table}.{fmt}"
        line = one_error_line(run("export", table, "-f", fmt, "-o", str(out), data_dir=data_dir))
        assert "no se exporta" in line and not out.exists()
