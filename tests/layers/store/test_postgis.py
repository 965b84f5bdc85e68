"""The PostGIS store on a real, throw-away PostgreSQL server (tests/pg.py): what the GeoPackage tests cannot say.

The store's common tests (test_tables.py, most of test_gpkg.py, the monitoring
record) run on both backends through the ``backend`` fixture; these add the
PostGIS side: choice by ``SIT_DATABASE_URL``, same layers as the GeoPackage,
spatial indexes, the command line, copies both ways, parallel layer writers and
a writer killed mid-transaction.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from layers import settings, store
from layers.store import copy as store_copy
from layers.store.gpkg import GeoPackageStore
from layers.store.postgis import PostGISStore
from tests.pg import dispose

CLI = [sys.executable, str(settings.PROJECT_DIR / "cli.py")]


def _cli(*args: str, url: str | None = None, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SIT_DATA_DIR=str(data_dir), PYTHONPATH=str(settings.PROJECT_DIR))
    env.pop("SIT_DATABASE_URL", None)
    if url:
        env["SIT_DATABASE_URL"] = url
    return subprocess.run([*CLI, *args], env=env, cwd=settings.PROJECT_DIR, capture_output=True, text=True, timeout=300)


def _points(n: int, name: str = "p") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"nombre": [f"{name}{i}" for i in range(n)], "vacio": [""] * n},
                            geometry=[Point(-70.76 + i * 1e-5, -28.58) for i in range(n)], crs="EPSG:4326")


@pytest.fixture
def pg(pg_server, pg_template, isolated_data_dir, monkeypatch):
    """A private PostGIS store (copy of the template) selected with SIT_DATABASE_URL."""
    url = pg_server.create_database(template=pg_template)
    monkeypatch.setenv("SIT_DATABASE_URL", url)
    yield url
    dispose(url)


def test_database_url_selects_postgis_and_geopackage_stays_default(pg, monkeypatch):
    assert isinstance(store.backend(), PostGISStore)
    assert store.ensure_store().startswith("postgresql://postgres@127.0.0.1:")
    monkeypatch.delenv("SIT_DATABASE_URL")
    assert isinstance(store.backend(), GeoPackageStore)


def test_bad_or_unreachable_database_is_one_error(isolated_data_dir, monkeypatch):
    monkeypatch.setenv("SIT_DATABASE_URL", "mysql://x@localhost/y")
    with pytest.raises(store.StoreError) as err:
        store.backend()
    assert err.value.code == "bad_database_url"
    closed = "postgresql://sit:secreta@127.0.0.1:9/sit"  # discard port: nothing listens
    monkeypatch.setenv("SIT_DATABASE_URL", closed)
    with pytest.raises(store.StoreError) as err:
        store.list_layers()
    assert err.value.code == "database_unavailable" and "secreta" not in str(err.value)
    done = _cli("layers", url=closed, data_dir=isolated_data_dir)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "secreta" not in done.stderr


def test_layers_equal_the_geopackage_ones(pg, data_dir, monkeypatch):
    expected = {}
    with monkeypatch.context() as mp:
        mp.delenv("SIT_DATABASE_URL")
        mp.setenv("SIT_DATA_DIR", str(data_dir))
        registry = store.list_layers()
        for name in registry["nombre"]:
            expected[name] = store.read_layer(name)
    assert list(store.list_layers()["nombre"]) == list(registry["nombre"])
    for name, want in expected.items():
        got = store.read_layer(name)
        assert type(got) is type(want), name
        if isinstance(want, gpd.GeoDataFrame):
            assert got.crs == want.crs and got.geometry.name == want.geometry.name
            same = got.geometry.geom_equals_exact(want.geometry, 0) | (got.geometry.isna() & want.geometry.isna())
            assert same.all(), name
            got, want = pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry"))
        pd.testing.assert_frame_equal(got, want, obj=name)


def test_every_geometry_column_has_a_spatial_index(pg):
    store.save_layer("puntos_x", _points(5), {"clase": "referencia"})
    engine = sa.create_engine(store.backend().engine.url)
    try:
        with engine.connect() as conn:
            geo = conn.execute(sa.text("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns")).all()
            assert {t for t, _c, _s in geo} == {"comuna", "territorios", "iniciativas", "manzanas", "lugares", "puntos_x"}
            assert {s for _t, _c, s in geo} == {4326}
            inspector = sa.inspect(conn)
            for table, column, _srid in geo:
                gist = [i for i in inspector.get_indexes(table)
                        if i["column_names"] == [column] and i["dialect_options"].get("postgresql_using") == "gist"]
                assert gist, f"{table}.{column} has no GiST index"
                assert inspector.get_pk_constraint(table)["constrained_columns"] == ["fid"]
    finally:
        engine.dispose()
    # an empty text stays empty (not NULL), a bbox read uses the index and finds the right rows
    back = store.read_layer("puntos_x", bbox=(-70.76001, -28.581, -70.75998, -28.579))
    assert back["nombre"].tolist() == ["p0", "p1", "p2"] and back["vacio"].tolist() == [""] * 3


def test_command_line_builds_imports_and_exports_like_the_geopackage(pg, isolated_data_dir, tmp_path):
    source = tmp_path / "caminos.geojson"
    _points(4, "c").to_file(source, driver="GeoJSON")
    for url in (pg, None):
        done = _cli("import", str(source), "--as", "referencia", "--layer", "caminos", url=url, data_dir=tmp_path / "d")
        assert done.returncode == 0, done.stderr
        out = tmp_path / f"{'pg' if url else 'gpkg'}.geojson"
        done = _cli("export", "iniciativas", "--territorio", "domeyko", "-o", str(out), url=url, data_dir=tmp_path / "d")
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "pg.geojson").read_bytes() == (tmp_path / "gpkg.geojson").read_bytes()
    assert json.loads((tmp_path / "pg.geojson").read_text())["features"]
    listed = _cli("layers", url=pg, data_dir=tmp_path / "d").stdout
    assert "caminos" in listed and "importada" in listed


def test_copy_to_postgis_and_back_keeps_layers_tables_and_history(pg_server, fresh_store, isolated_data_dir, tmp_path):
    """gpkg → PostGIS → gpkg with the command line: same layers, monitoring values and history, counts checked."""
    sheet = tmp_path / "s.csv"
    sheet.write_text("id,estado,avance_fisico\nE1-P1-01,en ejecución,40\nE1-P1-02,postulada,\n", encoding="utf-8")
    assert _cli("seguimiento", "importar", str(sheet), "--autor", "Ana", data_dir=isolated_data_dir).returncode == 0
    target = pg_server.create_database()
    done = _cli("almacen", "copiar", "--a", target, data_dir=isolated_data_dir)
    assert done.returncode == 0, done.stderr
    assert "seguimiento_historial" in done.stdout and "coinciden" in done.stdout
    again = _cli("almacen", "copiar", "--a", target, data_dir=isolated_data_dir)
    assert again.returncode == 2 and "--reemplazar" in again.stderr and "Traceback" not in again.stderr
    back = tmp_path / "vuelta.gpkg"
    done = _cli("almacen", "copiar", "--a", str(back), url=target, data_dir=tmp_path / "otro")
    assert done.returncode == 0, done.stderr
    original, returned = GeoPackageStore(fresh_store), GeoPackageStore(back)
    try:
        middle = PostGISStore(target)
        kept = ["nombre", "titulo", "descripcion", "clase", "origen", "fuente", "archivo", "crs_origen", "n", "geometria"]
        layers_only = original.list_layers().query("origen != 'editable'")[[*kept, "fecha"]].reset_index(drop=True)
        for other in (middle, returned):
            assert list(other.list_layers()["nombre"]) == list(original.list_layers()["nombre"])
            copied = other.list_layers().query("origen != 'editable'")[[*kept, "fecha"]].reset_index(drop=True)
            pd.testing.assert_frame_equal(copied, layers_only)  # metadata and dates travel with the layers
            for name in ("seguimiento", "seguimiento_historial"):
                pd.testing.assert_frame_equal(other.read_table(name), original.read_table(name))
                assert store_copy._describe(other, name) == store_copy._describe(original, name)
            assert other.state()["huella"] == original.state()["huella"]
        inits = returned.read_layer("iniciativas")
        sites = original.read_layer("iniciativas").geometry
        assert (inits.geometry.geom_equals_exact(sites, 0) | (inits.geometry.isna() & sites.isna())).all()
    finally:
        middle.dispose()
    history = _cli("seguimiento", "historial", "E1-P1-01", url=target, data_dir=tmp_path / "otro")
    assert history.returncode == 0 and "Ana" in history.stdout


def _script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


def test_parallel_layer_and_table_writers_lose_nothing(pg):
    """Four processes each import layers and append rows at once: every layer and row is there, counts agree."""
    store.define_table("bitacora", {"quien": "TEXT", "i": "INTEGER"})
    body = """
        import sys
        import geopandas as gpd, pandas as pd
        from shapely.geometry import Point
        from layers import store
        me = sys.argv[1]
        for i in range(4):
            frame = gpd.GeoDataFrame({"k": list(range(50 + i))}, geometry=[Point(-70.7, -28.5)] * (50 + i), crs="EPSG:4326")
            store.save_layer(f"capa_{me}_{i}", frame, {"clase": "referencia"})
            with store.transaction() as tx:
                tx.insert("bitacora", pd.DataFrame({"quien": [me] * 10, "i": list(range(10))}))
    """
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    procs = [subprocess.Popen([*_script(body), str(k)], env=env, cwd=settings.PROJECT_DIR) for k in range(4)]
    assert [p.wait(timeout=240) for p in procs] == [0] * 4
    registry = store.list_layers().set_index("nombre")
    for k in range(4):
        for i in range(4):
            assert registry.at[f"capa_{k}_{i}", "n"] == 50 + i
            assert len(store.read_layer(f"capa_{k}_{i}")) == 50 + i
    rows = store.read_table("bitacora")
    assert len(rows) == 160 and registry.at["bitacora", "n"] == 160
    assert (rows.groupby("quien")["i"].count() == 40).all()


def test_killed_layer_writer_leaves_the_store_as_before(pg):
    """SIGKILL a process while PostgreSQL receives its rows (COPY seen in pg_stat_activity): nothing of it remains."""
    import time

    store.ensure_store()  # rebuilt here, not in the writer, if data/ or the code changed since the template
    before = store.version()
    body = """
        import geopandas as gpd
        from shapely.geometry import Point
        from layers import store
        store.ensure_store()
        frame = gpd.GeoDataFrame({"k": range(400_000)}, geometry=[Point(-70.7, -28.5)] * 400_000, crs="EPSG:4326")
        store.save_layer("enorme", frame, {"clase": "referencia"})
        print("escrito", flush=True)
    """
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    writer = subprocess.Popen(_script(body), env=env, cwd=settings.PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    watcher = sa.create_engine(store.backend().engine.url)
    copying = sa.text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY enorme %' AND state = 'active'")
    try:
        deadline = time.monotonic() + 180
        with watcher.connect() as conn:
            while not conn.execute(copying).scalar():
                assert writer.poll() is None, "the writer ended before its rows reached the server"
                assert time.monotonic() < deadline
                time.sleep(0.02)
                conn.rollback()  # a fresh snapshot of pg_stat_activity
        writer.kill()
        writer.wait(timeout=60)
    finally:
        watcher.dispose()
    assert writer.returncode == -signal.SIGKILL and "escrito" not in writer.stdout.read()
    assert "enorme" not in set(store.list_layers()["nombre"])
    assert store.version() == before
    store.save_layer("despues", _points(2), {"clase": "referencia"})  # the lock died with the writer
    assert len(store.read_layer("despues")) == 2


def test_repair_rebuilds_shipped_layers_and_keeps_the_rest(pg, isolated_data_dir):
    store.save_layer("puntos_x", _points(3), {"clase": "referencia"})
    store.define_table("notas", {"texto": "TEXT"})
    with store.transaction() as tx:
        tx.insert("notas", pd.DataFrame({"texto": ["uno"]}))
    done = _cli("build", "--reparar", url=pg, data_dir=isolated_data_dir)
    assert done.returncode == 0, done.stderr
    assert "no estaba dañado" in done.stdout and "postgresql://" in done.stdout
    assert len(store.read_layer("puntos_x")) == 3 and store.read_table("notas")["texto"].tolist() == ["uno"]


@pytest.mark.parametrize("page", ["pages/inicio.py", "pages/mapa.py", "pages/plan.py", "pages/sector.py",
                                  "pages/seguimiento.py", "pages/capas.py"])
def test_app_pages_run_on_postgis(pg, page):
    """Every public page of the app opens without error on the PostGIS store (Streamlit's AppTest)."""
    from tests.ui.conftest import app_test

    store.save_layer("puntos_x", _points(3), {"clase": "referencia", "titulo": "Puntos de prueba"})
    at = app_test(page, query={"territorio": "domeyko"} if page.endswith("sector.py") else None).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if page.endswith("capas.py"):  # the layer exists only in this database: the app read PostGIS
        shown = [str(d.value.to_dict()) for d in at.dataframe] + [str(e.value) for e in (*at.markdown, *at.selectbox)]
        assert any("Puntos de prueba" in text or "puntos_x" in text for text in shown)


def test_upsert_batches_and_a_repeated_key_takes_the_last_row(pg):
    store.define_table("pares", {"id": "TEXT", "v": "INTEGER", "w": "TEXT"}, key=["id"])
    with store.transaction() as tx:
        tx.upsert("pares", pd.DataFrame({"id": ["a", "b"], "v": [1, 2]}))
        tx.upsert("pares", pd.DataFrame({"id": ["a", "a", "c"], "v": [5, 6, 7]}))
        tx.upsert("pares", pd.DataFrame({"id": ["b"], "w": ["x"]}))
        tx.upsert("pares", pd.DataFrame({"id": [f"k{i}" for i in range(3000)], "v": range(3000)}))
    rows = store.read_table("pares").set_index("id")
    assert rows.loc[["a", "b", "c"], "v"].tolist() == [6, 2, 7] and rows.at["b", "w"] == "x"
    assert len(rows) == 3003 and store.layer_info("pares")["n"] == 3003


def test_copy_refuses_a_bad_target_and_the_same_store(data_dir, tmp_path):
    for target, words in ((tmp_path / "capas.txt", "ni un archivo .gpkg"),
                          (data_dir / settings.STORE_FILENAME, "el mismo almacén"),
                          ("mysql://x@localhost/y", "ni un archivo .gpkg")):
        done = _cli("almacen", "copiar", "--a", str(target), data_dir=data_dir)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
