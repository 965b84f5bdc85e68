"""The embedded GeoPackage store: build, rebuild on data change, user layers, atomic writes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from layers import settings, store
from layers._errors import UnknownLayerError
from layers.store import seed as shipped


def _point_layer(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"nombre": [f"p{i}" for i in range(n)]},
        geometry=[Point(-70.76 + i * 0.001, -28.58) for i in range(n)],
        crs="EPSG:4326",
    )


def test_store_built_from_shipped_data(data_dir):
    reg = store.list_layers().set_index("nombre")
    for name in (*shipped.LAYERS, *shipped.TABLES):
        assert name in reg.index
        assert reg.loc[name, "origen"] == store.SHIPPED
    assert reg.loc["comuna", "n"] == 1
    assert reg.loc["iniciativas", "n"] == 194
    assert settings.store_path().parent == data_dir
    assert pyogrio.read_info(settings.store_path(), layer="iniciativas")["crs"] == "EPSG:4326"


def test_read_unknown_layer(data_dir):
    with pytest.raises(UnknownLayerError, match="Capa desconocida: «nada»"):
        store.read_layer("nada")


def test_no_rebuild_when_data_unchanged(data_dir):
    before = store.store_version()
    store.ensure_store()
    assert store.store_version() == before


def test_rebuild_on_data_change_keeps_imported_layers(isolated_data_dir, tmp_path, monkeypatch):
    # A private copy of data/ so the test can change "shipped" data.
    shipped_copy = tmp_path / "shipped"
    shutil.copytree(settings.SHIPPED_DATA_DIR, shipped_copy)
    monkeypatch.setattr(settings, "SHIPPED_DATA_DIR", shipped_copy)
    store.ensure_store()
    store.save_layer("mis_puntos", _point_layer(), {"titulo": "Puntos", "clase": "referencia"})
    first = store.store_version()

    (shipped_copy / "README.md").write_text("cambio\n", encoding="utf-8")
    store.ensure_store()
    assert store.store_version() != first, "a change in data/ must rebuild the store"
    reg = store.list_layers().set_index("nombre")
    assert reg.loc["mis_puntos", "origen"] == store.IMPORTED
    assert len(store.read_layer("mis_puntos")) == 3
    assert reg.loc["iniciativas", "n"] == 194


def test_save_refuses_existing_name_without_replace(isolated_data_dir):
    store.ensure_store()
    with pytest.raises(store.StoreError, match="incluida en el sistema") as err:
        store.save_layer("territorios", _point_layer(), {"clase": "territorios"})
    assert err.value.code == "layer_exists" and err.value.data["layer"] == "territorios"
    assert "--" not in str(err.value), "no command-line option in a store message"
    store.save_layer("capa_x", _point_layer(2), {"clase": "referencia"})
    with pytest.raises(store.StoreError, match="ya importada"):
        store.save_layer("capa_x", _point_layer(5), {"clase": "referencia"})
    store.save_layer("capa_x", _point_layer(5), {"clase": "referencia"}, replace=True)
    assert len(store.read_layer("capa_x")) == 5


def test_remove_layer(isolated_data_dir):
    store.ensure_store()
    store.save_layer("capa_x", _point_layer(), {"clase": "referencia"})
    store.remove_layer("capa_x")
    assert "capa_x" not in set(store.list_layers()["nombre"])
    with pytest.raises(store.StoreError, match="no se puede eliminar") as err:
        store.remove_layer("comuna")
    assert err.value.code == "shipped_layer"


def test_replaced_shipped_layer_survives_rebuild_and_comes_back_on_remove(isolated_data_dir):
    store.ensure_store()
    shipped_n = len(store.read_layer("territorios"))
    terr = store.read_layer("territorios").head(3)
    store.save_layer("territorios", terr, {"clase": "territorios"}, replace=True)
    store.ensure_store(force=True)
    assert len(store.read_layer("territorios")) == 3
    store.remove_layer("territorios")
    assert len(store.read_layer("territorios")) == shipped_n


def test_killed_writer_leaves_previous_store(isolated_data_dir):
    """SIGKILL a process in the middle of a write transaction: the store stays as it was, readable."""
    store.ensure_store()
    before = store.list_layers()
    before_version = store.version()
    script = textwrap.dedent(
        """
        import os, signal, geopandas as gpd
        from shapely.geometry import Point
        from layers import store
        from layers.store import gpkg
        real_copy = gpkg._copy_table
        def dying_copy(conn, name):
            real_copy(conn, name)
            if name == "a_medias":
                os.kill(os.getpid(), signal.SIGKILL)  # layer copied into the store, not committed
        gpkg._copy_table = dying_copy
        gdf = gpd.GeoDataFrame({"n": range(1000)}, geometry=[Point(-70.7, -28.6)] * 1000, crs=4326)
        store.save_layer("a_medias", gdf, {"clase": "referencia"})
        """
    )
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=settings.PROJECT_DIR)
    assert proc.returncode == -signal.SIGKILL
    after = store.list_layers()
    assert list(after["nombre"]) == list(before["nombre"])
    assert "a_medias" not in pyogrio.list_layers(settings.store_path())[:, 0]
    assert len(store.read_layer("iniciativas")) == 194
    assert store.version() == before_version
    # the next writer cleans the leftover temporary file
    store.save_layer("despues", _point_layer(), {"clase": "referencia"})
    assert not list(Path(isolated_data_dir).glob(".*.tmp*"))


def test_fingerprint_follows_the_code_that_builds_shipped_layers(tmp_path, monkeypatch):
    """Changing a builder module (not only data/) must rebuild the store."""
    import types

    source = tmp_path / "builder.py"
    source.write_text("VALUE = 1\n", encoding="utf-8")
    fake = types.ModuleType("builder")
    fake.__file__ = str(source)
    monkeypatch.setattr(shipped, "BUILDERS", (*shipped.BUILDERS, fake))
    before = shipped.fingerprint(store.STORE_SCHEMA)
    assert shipped.fingerprint(store.STORE_SCHEMA) == before
    source.write_text("VALUE = 2\n", encoding="utf-8")
    assert shipped.fingerprint(store.STORE_SCHEMA) != before


def test_shipped_tables_are_described(data_dir):
    reg = store.list_layers().set_index("nombre")
    for name in (*shipped.LAYERS, *shipped.TABLES):
        assert reg.loc[name, "descripcion"], name


def test_store_stays_a_valid_geopackage_after_row_level_writes(fresh_store):
    """GDAL lists every layer with the registry's counts, spatial indexes answer bbox reads, SQLite finds no fault."""
    import sqlite3

    import shapely

    store.save_layer("mis_puntos", _point_layer(50), {"titulo": "Puntos", "clase": "referencia"})
    store.save_layer("mis_puntos", _point_layer(20), {"titulo": "Puntos", "clase": "referencia"}, replace=True)
    store.ensure_store(force=True)  # rebuild of the shipped layers in place
    path = settings.store_path()
    listed = dict(pyogrio.list_layers(path))
    reg = store.list_layers().set_index("nombre")
    assert set(reg.index) <= set(listed)
    for name in reg.index:
        info = pyogrio.read_info(path, layer=name, force_feature_count=True)
        assert info["features"] == reg.loc[name, "n"], name
    assert pyogrio.read_info(path, layer="mis_puntos")["capabilities"]["fast_spatial_filter"]
    for name in ("territorios", "mis_puntos"):
        has_index = pyogrio.read_dataframe(
            path, sql=f"SELECT HasSpatialIndex('{name}', 'geom') AS h", sql_dialect="SQLITE", read_geometry=False
        )
        assert has_index.iloc[0, 0] == 1, name
    bbox = (-70.80, -28.60, -70.74, -28.56)
    whole = store.read_layer("territorios")
    inside = store.read_layer("territorios", bbox=bbox, columns=["slug"])
    expected = set(whole.loc[shapely.intersects(whole.geometry.to_numpy(), shapely.box(*bbox)), "slug"])
    assert set(inside["slug"]) == expected and 0 < len(expected) < len(whole)
    assert list(inside.columns) == ["slug", "geometry"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47


def test_bbox_read_of_replaced_layer_uses_its_new_index(fresh_store):
    store.save_layer("capa_x", _point_layer(3), {"clase": "referencia"})
    far = gpd.GeoDataFrame({"nombre": ["lejos"]}, geometry=[Point(-70.0, -28.0)], crs="EPSG:4326")
    store.save_layer("capa_x", far, {"clase": "referencia"}, replace=True)
    assert store.read_layer("capa_x", bbox=(-70.8, -28.6, -70.7, -28.5)).empty
    assert list(store.read_layer("capa_x", bbox=(-70.1, -28.1, -69.9, -27.9))["nombre"]) == ["lejos"]


def test_readers_never_see_half_a_write(fresh_store):
    """A writer process replaces a layer and updates an editable table over and over while this one reads."""
    import time

    store.define_table("pareja", {"id": "TEXT", "v": "INTEGER"}, key=["id"])
    script = textwrap.dedent(
        """
        import pandas as pd, geopandas as gpd
        from shapely.geometry import Point
        from layers import store
        for gen in range(1, 13):
            n = 100 if gen % 2 else 300
            gdf = gpd.GeoDataFrame({"gen": [gen] * n}, geometry=[Point(-70.7 + i * 1e-4, -28.6) for i in range(n)], crs=4326)
            store.save_layer("vaiven", gdf, {"clase": "referencia"}, replace=True)
            with store.transaction() as tx:
                tx.upsert("pareja", pd.DataFrame({"id": ["a"], "v": [gen]}))
                tx.upsert("pareja", pd.DataFrame({"id": ["b"], "v": [gen]}))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    writer = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=settings.PROJECT_DIR)
    seen_layers, seen_pairs = set(), set()
    while writer.poll() is None:
        if "vaiven" in set(store.list_layers()["nombre"]):
            layer = store.read_layer("vaiven")
            gens = set(layer["gen"])
            assert len(gens) == 1, "rows of two writes in one read"
            gen = gens.pop()
            assert len(layer) == (100 if gen % 2 else 300)
            seen_layers.add(gen)
        pair = store.read_table("pareja")
        if len(pair):
            assert len(pair) == 2 and pair["v"].nunique() == 1, "half of a transaction"
            seen_pairs.add(int(pair["v"].iloc[0]))
        time.sleep(0.01)
    assert writer.returncode == 0
    assert len(store.read_layer("vaiven")) == 300 and set(store.read_table("pareja")["v"]) == {12}
    assert len(seen_layers) >= 2 and len(seen_pairs) >= 2, "the reads overlapped the writes"


def test_full_disk_refuses_the_write_and_keeps_the_store(data_dir, tmp_path, monkeypatch):
    """A store on a nearly full file system: a big import fails with code disk_full, the store is unchanged."""
    store_size = (data_dir / settings.STORE_FILENAME).stat().st_size
    target = tmp_path / "lleno"
    target.mkdir()
    size_kb = store_size // 1024 + 400
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(target)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        shutil.copyfile(data_dir / settings.STORE_FILENAME, target / settings.STORE_FILENAME)
        monkeypatch.setenv("SIT_DATA_DIR", str(target))
        store.ensure_store()
        before = store.list_layers()
        big = gpd.GeoDataFrame(
            {"texto": ["x" * 200] * 20_000}, geometry=[Point(-70.7 + i * 1e-6, -28.6) for i in range(20_000)], crs="EPSG:4326"
        )
        with pytest.raises(store.StoreError) as err:
            store.save_layer("grande", big, {"clase": "referencia"})
        assert err.value.code == "disk_full" and "espacio" in str(err.value)
        pd_before = before.drop(columns="fecha")
        assert store.list_layers().drop(columns="fecha").equals(pd_before)
        assert len(store.read_layer("iniciativas")) == 194
        assert not list(target.glob(".*.tmp*")), "the temporary GeoPackage is removed"
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
