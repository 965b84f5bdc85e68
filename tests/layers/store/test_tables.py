"""Editable tables of the store: definition, transactions, survival of rebuilds, kills and concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pyogrio
import pytest

from layers import settings, store
from layers._errors import UnknownLayerError

COLUMNS = {"id": "TEXT", "estado": "TEXT", "avance": "REAL", "monto": "INTEGER"}


def _define() -> None:
    store.define_table("seguimiento_prueba", COLUMNS, key=["id"])


def test_define_is_idempotent_and_reads_empty_frame(fresh_store):
    _define()
    version = store.version()
    _define()
    assert store.version() == version, "defining an existing table again writes nothing"
    empty = store.read_table("seguimiento_prueba")
    assert list(empty.columns) == list(COLUMNS) and empty.empty
    reg = store.list_layers().set_index("nombre")
    assert reg.loc["seguimiento_prueba", "clase"] == store.EDITABLE
    assert reg.loc["seguimiento_prueba", "n"] == 0


def test_unknown_table(fresh_store):
    with pytest.raises(UnknownLayerError):
        store.read_table("no_existe")
    with pytest.raises(UnknownLayerError), store.transaction() as tx:
        tx.insert("iniciativas", pd.DataFrame({"id": ["x"]}))  # a shipped layer is not editable


def test_insert_upsert_delete_and_read_inside(fresh_store):
    _define()
    before = store.version()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a", "b"], "estado": ["sin iniciar"] * 2, "monto": [10, 20]}))
        tx.upsert("seguimiento_prueba", pd.DataFrame({"id": ["b", "c"], "avance": [50.0, 5.5]}))
        seen = tx.read("seguimiento_prueba", where={"id": "b"})
        assert seen.iloc[0].to_dict() == {"id": "b", "estado": "sin iniciar", "avance": 50.0, "monto": 20}
        assert tx.delete("seguimiento_prueba", {"id": "a"}) == 1
    assert store.version() != before
    rows = store.read_table("seguimiento_prueba")
    assert list(rows["id"]) == ["b", "c"]
    assert rows.set_index("id").loc["c", "avance"] == 5.5
    assert store.read_table("seguimiento_prueba", where={"estado": None})["id"].tolist() == ["c"]
    assert store.layer_info("seguimiento_prueba")["n"] == 2


def test_refusals_carry_codes(fresh_store):
    _define()
    with pytest.raises(store.TableError) as err, store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "color": ["rojo"]}))
    assert err.value.code == "unknown_column"
    with pytest.raises(store.TableError) as err, store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a", "a"]}))
    assert err.value.code == "duplicate_key"
    with pytest.raises(store.TableError) as err:
        store.define_table("territorios", {"x": "TEXT"})
    assert err.value.code == "layer_exists"
    with pytest.raises(store.TableError) as err:
        store.define_table("seguimiento_prueba", {"id": "INTEGER"}, key=["id"])
    assert err.value.code == "table_mismatch"
    with pytest.raises(store.TableError) as err:
        store.define_table("t", {"x": "BLOB"})
    assert err.value.code == "bad_type"


def test_define_adds_new_columns_keeping_rows(fresh_store):
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a"]}))
    store.define_table("seguimiento_prueba", {**COLUMNS, "meta": "TEXT"}, key=["id"])
    rows = store.read_table("seguimiento_prueba")
    assert list(rows.columns) == [*COLUMNS, "meta"] and rows["id"].tolist() == ["a"]


def test_exception_inside_block_changes_nothing(fresh_store):
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "estado": ["sin iniciar"]}))
    version = store.version()
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.upsert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "estado": ["terminada"]}))
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["z"]}))
        raise RuntimeError("fallo a mitad")
    rows = store.read_table("seguimiento_prueba")
    assert rows[["id", "estado"]].to_dict("list") == {"id": ["a"], "estado": ["sin iniciar"]}
    assert rows["avance"].isna().all() and rows["monto"].isna().all()
    assert str(rows["monto"].dtype) == "Int64" and rows["avance"].dtype == "float64"
    assert store.version() == version


def test_rebuild_keeps_editable_tables(fresh_store):
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a", "b"], "monto": [1, 2]}))
    store.ensure_store(force=True)
    assert store.read_table("seguimiento_prueba")["monto"].tolist() == [1, 2]
    assert store.layer_info("seguimiento_prueba")["clase"] == store.EDITABLE
    with store.transaction() as tx:  # the key still holds after the rebuild
        tx.upsert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "monto": [5]}))
    assert store.read_table("seguimiento_prueba")["monto"].tolist() == [5, 2]


def test_gdal_reads_editable_table(fresh_store):
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "avance": [12.5]}))
    names = set(pyogrio.list_layers(settings.store_path())[:, 0])
    assert {"seguimiento_prueba", "iniciativas", "territorios"} <= names
    frame = pyogrio.read_dataframe(settings.store_path(), layer="seguimiento_prueba")
    assert frame["avance"].tolist() == [12.5]


def _run(script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, cwd=settings.PROJECT_DIR,
                          capture_output=True, text=True, timeout=120)


def test_killed_transaction_leaves_tables_as_before(fresh_store):
    """SIGKILL a process in the middle of an editable-table transaction: nothing of it remains."""
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "estado": ["sin iniciar"]}))
    version = store.version()
    proc = _run(
        """
        import os, signal, pandas as pd
        from layers import store
        with store.transaction() as tx:
            tx.upsert("seguimiento_prueba", pd.DataFrame({"id": ["a"], "estado": ["terminada"]}))
            tx.insert("seguimiento_prueba", pd.DataFrame({"id": [f"n{i}" for i in range(5000)]}))
            os.kill(os.getpid(), signal.SIGKILL)  # written, not committed
        """
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rows = store.read_table("seguimiento_prueba")
    assert rows["id"].tolist() == ["a"] and rows["estado"].tolist() == ["sin iniciar"]
    assert store.version() == version
    assert len(store.read_layer("iniciativas")) == 194
    with store.transaction() as tx:  # the next writer is not blocked
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["b"]}))
    assert store.read_table("seguimiento_prueba")["id"].tolist() == ["a", "b"]


def test_concurrent_writers_lose_nothing(fresh_store):
    """Four processes append and increment a counter at once; every row and increment is kept."""
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["contador"], "monto": [0]}))
    script = textwrap.dedent(
        """
        import sys, pandas as pd
        from layers import store
        me = sys.argv[1]
        for i in range(15):
            with store.transaction() as tx:
                count = int(tx.read("seguimiento_prueba", where={"id": "contador"})["monto"].iloc[0])
                tx.upsert("seguimiento_prueba", pd.DataFrame({"id": ["contador"], "monto": [count + 1]}))
                tx.insert("seguimiento_prueba", pd.DataFrame({"id": [f"{me}-{i}"]}))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_DIR))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k)], env=env, cwd=settings.PROJECT_DIR) for k in range(4)]
    assert [p.wait(timeout=180) for p in procs] == [0] * 4
    rows = store.read_table("seguimiento_prueba").set_index("id")
    assert rows.loc["contador", "monto"] == 60
    assert len(rows) == 61


def test_killed_rebuild_keeps_shipped_layers_and_editable_rows(fresh_store, backend):
    """SIGKILL a forced rebuild after it copied one shipped layer: nothing of the rebuild remains."""
    if backend != "gpkg":
        pytest.skip("the kill is placed inside the GeoPackage backend's copy of a layer")
    _define()
    with store.transaction() as tx:
        tx.insert("seguimiento_prueba", pd.DataFrame({"id": ["a", "b"], "monto": [1, 2]}))
    before = store.list_layers()
    version = store.version()
    proc = _run(
        """
        import os, signal
        from layers import store
        from layers.store import gpkg
        real_copy = gpkg._copy_table
        def dying_copy(conn, name):
            real_copy(conn, name)
            if name == "iniciativas":
                os.kill(os.getpid(), signal.SIGKILL)
        gpkg._copy_table = dying_copy
        store.ensure_store(force=True)
        """
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = store.list_layers()
    pd.testing.assert_frame_equal(after, before)
    assert store.version() == version
    assert store.read_table("seguimiento_prueba")["monto"].tolist() == [1, 2]
    assert len(store.read_layer("iniciativas")) == 194
