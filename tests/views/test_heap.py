"""views.heap: the server's code leaves the full collections, its data does not (each case in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def run_python(code: str, data_dir: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    if data_dir is not None:
        env["SIT_DATA_DIR"] = str(data_dir)
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_freeze_imports_the_code_freezes_it_once_and_leaves_later_cycles_to_the_collector():
    out = run_python("""
import gc, json, sys, weakref
from views import heap
first = heap.freeze_code(("folium", "no_such_module_sit"))
again = heap.freeze_code(("folium",))

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after the freeze: only a collection frees it
watch = weakref.ref(a)
del a, b
gc.collect(2)
print(json.dumps({"first": first, "again": again, "count": gc.get_freeze_count(), "folium": "folium" in sys.modules,
                  "cycle_freed": watch() is None}))
""")
    assert out["first"] > 10_000  # the interpreter's code, folium's included
    assert out["count"] >= out["first"] - 100  # the second call froze nothing more (frozen objects may still die)
    assert out["again"] == 0  # once per process
    assert out["folium"]
    assert out["cycle_freed"]


def test_the_app_freezes_before_any_page_reads_data(data_dir):
    """After a visit of the sector page, the layers it read are still walked by the collector, not frozen."""
    out = run_python("""
import gc, json
import shapely
from tests.ui.conftest import app_test
at = app_test("pages/sector.py", {"territorio": "domeyko"}).run()
assert not at.exception, at.exception
frozen = gc.get_freeze_count()
tracked = [o for o in gc.get_objects() if isinstance(o, shapely.Geometry)]
print(json.dumps({"frozen": frozen, "geometries_tracked": len(tracked)}))
""", data_dir)
    assert out["frozen"] > 50_000  # the app's code and its libraries
    assert out["geometries_tracked"] > 0  # the data read by the page stayed collectable
