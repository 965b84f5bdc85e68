"""OGC API – Features: pygeoapi over the store, read by GDAL's OAPIF driver (the one QGIS uses).

The server runs as ``cli.py ogcapi --port P`` in its own process on a free
loopback port; GDAL reads it in another process whose HTTP is confined to
127.0.0.1 (any other host goes to a dead proxy), apart from the test process,
where the ingest package turns GDAL's network access off.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point

from layers import settings, store

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]
#: Reads every collection with GDAL's OAPIF driver and writes each as GeoJSON into argv[2].
READER = textwrap.dedent(
    """
    import json, sys
    import pyogrio
    base, out = sys.argv[1], sys.argv[2]
    names = [str(n) for n in pyogrio.list_layers("OAPIF:" + base)[:, 0]]
    json.dump(names, open(out + "/capas.json", "w"))
    for name in names:
        frame = pyogrio.read_dataframe("OAPIF:" + base, layer=name)
        frame.to_file(out + "/" + name + ".geojson", driver="GeoJSON")
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback only
        return json.load(answer)


@pytest.fixture
def served(fresh_store, isolated_data_dir, tmp_path):
    """The store with a monitoring change and an imported reference layer, served on a free port."""
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    sheet = tmp_path / "s.csv"
    sheet.write_text("id,estado,avance_fisico\nE1-P1-01,en ejecución,40\n", encoding="utf-8")
    refs = tmp_path / "hitos.geojson"
    gpd.GeoDataFrame({"nombre": ["a", "b", "c"], "altura": [1, 2, 3]},
                     geometry=[Point(-70.76, -28.58), Point(-70.75, -28.57), Point(-70.6, -28.4)],
                     crs="EPSG:4326").to_file(refs, driver="GeoJSON")
    for args in (["seguimiento", "importar", str(sheet), "--autor", "Ana"], ["import", str(refs), "--as", "referencia", "--layer", "hitos"]):
        done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    port = _free_port()
    log = (tmp_path / "ogcapi.log").open("w")  # the server's output, read by the tests
    server = subprocess.Popen([*CLI, "ogcapi", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/collections?f=json")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "ogcapi.log").read_text()
                assert time.monotonic() < deadline, "the OGC API server did not start"
                time.sleep(0.3)
        yield base, env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _export(layer: str, dest: Path, env: dict) -> gpd.GeoDataFrame:
    done = subprocess.run([*CLI, "export", layer, "-o", str(dest)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return pyogrio.read_dataframe(dest)


def _same(a: pd.Series, b: pd.Series) -> bool:
    def norm(values: pd.Series) -> list:
        return [None if pd.isna(v) else (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v))
                for v in values.astype(object)]
    return norm(a) == norm(b)


def test_gdal_reads_every_collection_like_the_export(served, tmp_path):
    base, env = served
    out = tmp_path / "oapif"
    out.mkdir()
    loopback = dict(env, http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                    no_proxy="127.0.0.1", GDAL_HTTP_TIMEOUT="60", CPL_DEBUG="OFF")
    done = subprocess.run([sys.executable, "-c", READER, base, str(out)], env=loopback, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    names = json.loads((out / "capas.json").read_text())
    registry = store.list_layers()
    layers = registry[(registry["geometria"] != "tabla") & (registry["origen"] != store.EDITABLE)]
    assert names == list(layers["nombre"]), "a collection per layer with geometry, in registry order"
    assert {"comuna", "territorios", "iniciativas", "hitos"} <= set(names)
    assert not {"estrategias", "seguimiento", "seguimiento_historial"} & set(names)
    for name in names:
        exported = _export(name, tmp_path / f"{name}.geojson", env)
        read = pyogrio.read_dataframe(out / f"{name}.geojson")
        assert len(read) == len(exported), name
        assert set(exported.columns) <= set(read.columns), (name, set(exported.columns) - set(read.columns))
        for column in exported.columns.drop("geometry"):
            assert _same(read[column], exported[column]), (name, column)
        both = read.geometry.notna() & exported.geometry.notna()
        assert (read.geometry.isna() == exported.geometry.isna()).all()
        served_geoms, written = (shapely.normalize(g.geometry[both].to_numpy()) for g in (read, exported))
        assert shapely.equals_exact(served_geoms, written, 1e-6).all(), name  # export orients rings (RFC 7946)
    inits = pyogrio.read_dataframe(out / "iniciativas.geojson").set_index("id")
    assert inits.at["E1-P1-01", "estado"] == "en ejecución" and inits.at["E1-P1-01", "avance_fisico"] == 40


def test_titles_filters_paging_and_read_only(served):
    base, _env = served
    listed = {c["id"]: c for c in _get(f"{base}/collections?f=json")["collections"]}
    for name in ("iniciativas", "territorios", "hitos"):  # titles and descriptions come from the registry
        info = store.layer_info(name)
        assert listed[name]["title"] == info["titulo"]
        assert listed[name]["description"].startswith(info["descripcion"])
    assert all("nan" not in c["description"].split() for c in listed.values()), [c["description"] for c in listed.values()]
    page = _get(f"{base}/collections/iniciativas/items?f=json&limit=5&offset=5")
    assert page["numberMatched"] == 194 and page["numberReturned"] == 5
    assert [f["id"] for f in page["features"]] == [6, 7, 8, 9, 10]
    assert any(link["rel"] == "next" for link in page["links"])
    projects = _get(f"{base}/collections/iniciativas/items?f=json&limit=1000&tipo=Proyecto")
    assert projects["numberMatched"] == projects["numberReturned"] > 0
    assert {f["properties"]["tipo"] for f in projects["features"]} == {"Proyecto"}
    query = urllib.parse.urlencode({"f": "json", "avance_fisico": "40", "estado": "en ejecución"})
    started = _get(f"{base}/collections/iniciativas/items?{query}")
    assert [f["properties"]["id"] for f in started["features"]] == ["E1-P1-01"]
    headers = _get(f"{base}/collections/iniciativas/items?f=json&limit=1000&encabezado=true")
    assert headers["numberMatched"] > 0 and all(f["properties"]["encabezado"] for f in headers["features"])
    box = (-70.77, -28.59, -70.755, -28.575)
    near = _get(f"{base}/collections/hitos/items?f=json&bbox={','.join(map(str, box))}")
    assert [f["properties"]["nombre"] for f in near["features"]] == ["a"]
    request = urllib.request.Request(f"{base}/collections/hitos/items", method="POST", data=b"{}",
                                     headers={"Content-Type": "application/geo+json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback only
    assert refused.value.code in (400, 405)


def _status(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback only
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def test_layers_imported_or_removed_while_serving_show_at_once(served, tmp_path):
    base, env = served
    lines = tmp_path / "caminos.geojson"
    gpd.GeoDataFrame({"nombre": ["camino A", "camino B"]},
                     geometry=[shapely.LineString([(-70.76, -28.58), (-70.75, -28.57)]),
                               shapely.LineString([(-70.77, -28.59), (-70.76, -28.575)])],
                     crs="EPSG:4326").to_file(lines, driver="GeoJSON")
    done = subprocess.run([*CLI, "import", str(lines), "--as", "referencia", "--layer", "caminos"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    listed = {c["id"]: c for c in _get(f"{base}/collections?f=json")["collections"]}
    assert listed["caminos"]["title"] == store.layer_info("caminos")["titulo"]
    page = _get(f"{base}/collections/caminos/items?f=json")
    assert [f["properties"]["nombre"] for f in page["features"]] == ["camino A", "camino B"]
    assert "hitos" in listed  # the others stay
    done = subprocess.run([*CLI, "remove", "caminos"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "caminos" not in {c["id"] for c in _get(f"{base}/collections?f=json")["collections"]}
    assert _status(f"{base}/collections/caminos/items?f=json")[0] == 404


def test_unknown_query_parameters_are_refused_and_properties_filter(served, tmp_path):
    base, _env = served
    status, body = _status(f"{base}/collections/iniciativas/items?f=json&noexiste=1&limit=3")
    assert status == 400 and body["code"] == "InvalidParameterValue" and "noexiste" in body["description"]
    assert _status(f"{base}/collections/hitos/items?f=json&altura=2&nombre=b")[1]["numberMatched"] == 1
    status, body = _status(f"{base}/collections/hitos/items?f=json&limit=2&offset=1&bbox=-71,-29,-70,-28&skipGeometry=true")
    assert status == 200 and body["numberReturned"] == 2
    assert _status(f"{base}/collections/hitos/items?f=json&tipo=x")[0] == 400  # a property of another layer
    assert _status(f"{base}/collections/noexiste/items?f=json&x=1")[0] == 404
    for unsupported in ("q=agua", "filter=tipo%3D%27Proyecto%27"):  # free text and CQL2 are not served
        status, body = _status(f"{base}/collections/iniciativas/items?f=json&{unsupported}")
        assert status == 400 and unsupported.split("=")[0] in body["description"], (unsupported, body)
    _get(f"{base}/collections/hitos/items?f=json")  # no offset: pygeoapi's int(None) warning is not logged
    assert "NoneType" not in (tmp_path / "ogcapi.log").read_text()


def test_taken_port_is_one_spanish_line(data_dir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run([*CLI, "ogcapi", "--port", str(port)], env=dict(os.environ, SIT_DATA_DIR=str(data_dir)),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
