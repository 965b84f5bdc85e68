"""The importer opens only what it declares: disguised files are refused, GDAL fetches nothing.

Every disguise is built here: a VRT XML file that names ``CSV:/etc/passwd`` or a
secret file of the test's own, a GDAL streamed-algorithm (GDALG) JSON file, a
real file of one format named as another, and ``/vsi`` paths; each under every
extension the importer takes and inside zips and KMZ archives. Each goes through
inspect, read (the form's preview) and import, in-process and through a real
``cli.py`` process: a clean refusal, exit status 2, the store's bytes unchanged
and nothing of the target stored. A local HTTP listener then shows that neither
those files nor legitimate ones that link to it (KML NetworkLink, GeoJSON ``crs``
link) make the process send it a single request.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from layers import settings, store
from layers._errors import InputFileError, SitError
from layers.ingest import _guard, importer, upload
from tests.layers.ingest._import_fixtures import points_layer, squares_layer, store_hash, write, zipped_shapefile

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]
SECRET = "SECRETO-DE-LA-PRUEBA-7c1f"


def _vrt(source: str, layer: str = "capa") -> bytes:
    return (
        f'<OGRVRTDataSource>\n  <OGRVRTLayer name="{layer}">\n    <SrcDataSource>{source}</SrcDataSource>\n'
        f"    <GeometryType>wkbNone</GeometryType>\n  </OGRVRTLayer>\n</OGRVRTDataSource>\n"
    ).encode()


def _gdalg(source: str) -> bytes:
    return json.dumps({
        "type": "gdal_streamed_alg",
        "command_line": f"gdal vector pipeline ! read {source} ! write --of stream streamed_dataset",
    }).encode()


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def disguises(tmp: Path, url: str | None = None) -> dict[str, Path]:
    """Case -> file. ``url`` (``http://127.0.0.1:PORT``) adds the network variants."""
    secret = tmp / "secreto.csv"
    secret.write_text(f"id,dato\n1,{SECRET}\n", encoding="utf-8")
    contents = {
        "vrt_passwd": _vrt("CSV:/etc/passwd", "passwd"),
        "vrt_secret": _vrt(f"CSV:{secret}"),
        "vrt_lowercase": _vrt(f"CSV:{secret}").replace(b"OGRVRTDataSource", b"ogrvrtdatasource"),
        "gdalg": _gdalg(f"CSV:{secret}"),
    }
    if url:
        contents["vrt_vsicurl"] = _vrt(f"/vsicurl/{url}/capa.csv")
        contents["gdalg_vsicurl"] = _gdalg(f"/vsicurl/{url}/capa.csv")
    out: dict[str, Path] = {}
    folder = tmp / "disfraces"
    folder.mkdir(exist_ok=True)
    for case, data in contents.items():
        for ext in (".gpkg", ".kml", ".geojson", ".json", ".csv", ".shp"):
            path = folder / f"{case}{ext}"
            path.write_bytes(data)
            out[f"{case}{ext}"] = path
        out[f"{case}.kmz"] = _zip(folder / f"{case}.kmz", {"doc.kml": data})
        out[f"{case}.zip(.shp)"] = _zip(
            folder / f"{case}_shp.zip", {"capa.shp": data, "capa.shx": data, "capa.dbf": data}
        )
        out[f"{case}.zip(.gpkg)"] = _zip(folder / f"{case}_gpkg.zip", {"capa.gpkg": data})
        # A real Shapefile with the disguise beside it in the same zip.
        out[f"{case}.zip(extra)"] = _zip(folder / f"{case}_extra.zip", {
            **{p.name: p.read_bytes() for p in _real_shapefile(tmp)}, "leeme.vrt": data,
        })
    # /vsi paths inside otherwise ordinary files.
    target = f"/vsicurl/{url}/x.csv" if url else "/vsistdin/"
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f'<NetworkLink><Link><href>{target}</href></Link></NetworkLink>'
        '<Placemark><name>p</name><Point><coordinates>-70.759,-28.576</coordinates></Point></Placemark>'
        "</Document></kml>"
    )
    out["vsi_in_kml"] = folder / "vsi.kml"
    out["vsi_in_kml"].write_text(kml, encoding="utf-8")
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"fuente": f"/vsizip/{secret}.zip/x"}, "geometry": {"type": "Point", "coordinates": [-70.759, -28.576]}},
    ]}
    out["vsi_in_geojson"] = folder / "vsi.geojson"
    out["vsi_in_geojson"].write_text(json.dumps(geojson), encoding="utf-8")
    return out


def _real_shapefile(tmp: Path) -> list[Path]:
    folder = tmp / "_real_shp"
    if not folder.exists():
        folder.mkdir()
        pyogrio.write_dataframe(points_layer(), folder / "puntos.shp")
    return sorted(folder.iterdir())


def swapped_formats(tmp: Path) -> dict[str, Path]:
    """Real files of one format named as another: each must be refused, never read by the other driver."""
    folder = tmp / "cambiados"
    folder.mkdir()
    kml = write(points_layer(), folder / "real.kml", driver="KML")
    gpkg = write(points_layer(), folder / "real.gpkg")
    geojson = write(points_layer(), folder / "real.geojson")
    shp = zipped_shapefile(points_layer(), folder, "real")
    out = {}
    for case, (source, ext) in {
        "kml_as_gpkg": (kml, ".gpkg"), "geojson_as_gpkg": (geojson, ".gpkg"),
        "gpkg_as_kml": (gpkg, ".kml"), "geojson_as_kml": (geojson, ".kml"),
        "gpkg_as_geojson": (gpkg, ".geojson"), "kml_as_geojson": (kml, ".geojson"),
    }.items():
        out[case] = folder / f"{case}{ext}"
        out[case].write_bytes(source.read_bytes())
    out["geojson_as_shp_in_zip"] = _zip(folder / "geojson_shp.zip", {
        "capa.shp": geojson.read_bytes(), "capa.shx": geojson.read_bytes(), "capa.dbf": geojson.read_bytes(),
    })
    with zipfile.ZipFile(shp) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    out["kml_as_dbf_in_zip"] = _zip(folder / "kml_dbf.zip", {**members, "real.dbf": kml.read_bytes()})
    return out


def _nothing_of_the_target_stored() -> None:
    for name in store.list_layers()["nombre"]:
        frame = store.read_layer(name)
        attrs = frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame
        text = attrs.astype(str).to_csv()
        assert "root:" not in text and SECRET not in text, name


# --------------------------------------------------------------------------- in process


def test_every_disguise_is_refused_by_inspect_preview_and_import(fresh_store, tmp_path):
    before = store_hash()
    cases = disguises(tmp_path)
    assert len(cases) >= 40
    for case, path in cases.items():
        for call in (
            lambda p=path: importer.inspect(p),
            lambda p=path: importer.read_any(p),
            lambda p=path: importer.import_file(p, as_="referencia", layer="disfraz"),
        ):
            with pytest.raises(InputFileError) as info:
                call()
            assert info.value.code == "disguised_file", (case, str(info.value))
            assert "no es el archivo que dice ser" in str(info.value) and "\n" not in str(info.value), case
        data = path.read_bytes()
        assert upload.inspect_upload(path.name, data) == [], case
        with pytest.raises(SitError) as info:
            upload.peek_upload(path.name, data)
        assert info.value.code == "disguised_file", case
        with pytest.raises(SitError):
            upload.import_upload(path.name, data, as_="referencia", layer="disfraz")
        assert store_hash() == before, case
    _nothing_of_the_target_stored()


def test_a_file_of_one_format_named_as_another_is_refused(fresh_store, tmp_path):
    before = store_hash()
    for case, path in swapped_formats(tmp_path).items():
        with pytest.raises(InputFileError) as info:
            importer.import_file(path, as_="referencia", layer="cambiado")
        assert info.value.code == "disguised_file", (case, str(info.value))
        with pytest.raises(InputFileError):
            importer.inspect(path)
        assert store_hash() == before, case


def test_real_files_still_import(fresh_store, tmp_path):
    """The checks let every genuine format through (GeoPackage, KML, KMZ, GeoJSON, zipped Shapefile)."""
    kml = write(points_layer(), tmp_path / "real.kml", driver="KML")
    files = {
        "gpkg": write(squares_layer(), tmp_path / "real.gpkg"),
        "kml": kml,
        "kmz": _zip(tmp_path / "real.kmz", {"doc.kml": kml.read_bytes()}),
        "geojson": write(points_layer(), tmp_path / "real.geojson"),
        "shp": zipped_shapefile(points_layer("EPSG:32719"), tmp_path, "real_shp"),
    }
    for kind, path in files.items():
        report = importer.import_file(path, as_="referencia", layer=f"real_{kind}")
        assert report.n_stored == 3, kind


def test_gdal_is_locked_down_in_the_process():
    import layers.ingest  # noqa: F401 - the lock is taken on import

    assert _guard.still_registered() == []
    for driver in ("OGR_VRT", "GDALG", "WFS", "OAPIF", "HTTP"):
        assert driver not in pyogrio.list_drivers()
    for driver in ("GPKG", "GeoJSON", "ESRI Shapefile", "LIBKML", "KML"):
        assert driver in pyogrio.list_drivers()
    assert pyogrio.get_gdal_config_option("CPL_ALLOW_VSISTDIN") in ("NO", False)
    assert pyogrio.get_gdal_config_option("GDAL_HTTP_PROXY") == _guard.DEAD_PROXY


def test_paths_handed_to_gdal_are_plain():
    with pytest.raises(InputFileError):
        _guard.gdal_source("gpkg", Path("/tmp/a!b.gpkg"))
    with pytest.raises(InputFileError):
        _guard.gdal_source("kml", Path("/vsicurl/http://x/y.kml"))
    assert _guard.gdal_source("gpkg", Path("/tmp/sit_import_x/gdal/fuente.gpkg")) == "GPKG:/tmp/sit_import_x/gdal/fuente.gpkg"


# --------------------------------------------------------------------------- command line


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, env=dict(os.environ), cwd=settings.PROJECT_DIR, timeout=120
    )


def test_command_line_refuses_each_disguise(fresh_store, tmp_path):
    before = store_hash()
    cases = disguises(tmp_path)
    chosen = [
        "vrt_passwd.gpkg", "vrt_passwd.kml", "vrt_passwd.kmz", "vrt_passwd.geojson", "vrt_secret.csv",
        "vrt_passwd.zip(.shp)", "gdalg.json",
    ]
    for case in chosen:
        for args in (("inspect", cases[case]), ("import", cases[case], "--as", "referencia", "--layer", "disfraz")):
            proc = _cli(*args)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 2, (case, args[0], proc.stderr)
            assert len(lines) == 1 and lines[0].startswith("Error: ") and "no es el archivo que dice ser" in lines[0], (case, proc.stderr)
            assert proc.stdout == "" and "root:" not in proc.stderr, case
            assert store_hash() == before, case
    _nothing_of_the_target_stored()


# --------------------------------------------------------------------------- network


@pytest.fixture
def listener():
    """``(url, hits)`` of a local HTTP server on 127.0.0.1 that records every request it receives."""
    with recording_server() as served:
        yield served


@contextlib.contextmanager
def recording_server():
    """``(url, hits)`` of a local HTTP server on 127.0.0.1 (a thread) that records every request path."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"id,WKT\n1,POINT (-70.759 -28.576)\n")

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def _linking_files(tmp: Path, url: str) -> dict[str, Path]:
    """Files without any disguise that link to ``url`` (what GDAL might follow)."""
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f'<Style id="s"><IconStyle><Icon><href>{url}/icono.png</href></Icon></IconStyle></Style>'
        f'<NetworkLink><name>red</name><Link><href>{url}/red.kml</href></Link></NetworkLink>'
        f'<Placemark><name>p</name><styleUrl>{url}/estilos.kml#s</styleUrl>'
        '<Point><coordinates>-70.759,-28.576</coordinates></Point></Placemark>'
        "</Document></kml>"
    )
    out = {"networklink.kml": tmp / "networklink.kml"}
    out["networklink.kml"].write_text(kml, encoding="utf-8")
    out["networklink.kmz"] = _zip(tmp / "networklink.kmz", {"doc.kml": kml.encode()})
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [-70.759, -28.576]}}],
    }
    out["crs_link.geojson"] = tmp / "crs_link.geojson"
    out["crs_link.geojson"].write_text(json.dumps(doc), encoding="utf-8")
    doc["crs"] = {"type": "name", "properties": {"name": f"{url}/crs.wkt"}}
    out["crs_url.geojson"] = tmp / "crs_url.geojson"
    out["crs_url.geojson"].write_text(json.dumps(doc), encoding="utf-8")
    return out


def test_no_request_leaves_the_process(fresh_store, tmp_path, listener):
    url, hits = listener
    files = {**disguises(tmp_path, url), **_linking_files(tmp_path, url)}
    for case, path in files.items():
        data = path.read_bytes()
        for call in (
            lambda p=path, d=data: importer.inspect(p),
            lambda p=path, d=data: upload.inspect_upload(p.name, d),
            lambda p=path, d=data: upload.peek_upload(p.name, d),
            lambda p=path, d=data: importer.import_file(p, as_="referencia", layer="enlazada", replace=True),
        ):
            try:
                call()
            except SitError:
                pass
        assert hits == [], (case, hits)
    # The locks hold even without the importer's checks: GDAL itself, handed such paths and files.
    direct = [f"/vsicurl/{url}/capa.csv", str(files["crs_link.geojson"]), str(files["crs_url.geojson"])]
    for target in direct:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pyogrio.read_dataframe(target)
            except Exception:  # noqa: BLE001 - any failure is fine; a request is not
                pass
    assert hits == []
    _nothing_of_the_target_stored()


def test_no_request_from_the_command_line(fresh_store, tmp_path, listener):
    url, hits = listener
    files = _linking_files(tmp_path, url)
    vrt = tmp_path / "vsicurl.gpkg"
    vrt.write_bytes(_vrt(f"/vsicurl/{url}/capa.csv"))
    for path in (*files.values(), vrt):
        _cli("inspect", path)
        _cli("import", path, "--as", "referencia", "--layer", "enlazada", "--replace")
    proc = _cli("inspect", f"/vsicurl/{url}/capa.csv")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert hits == []
