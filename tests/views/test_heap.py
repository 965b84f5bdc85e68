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


def test_after_the_freeze_the_pages_bring_in_little_code_and_a_visitor_leaves_nothing_frozen(data_dir):
    """As ``make run`` does (views.launch): freeze first, then sessions visit every page.

    The pages' code is frozen (every module they import is in ``code_modules()``), the layers they
    read stay collectable, and once the sessions are gone nothing of them is held by the freeze.
    """
    out = run_python("""
import collections, gc, json, sys, types
import shapely
from streamlit.testing.v1 import AppTest  # the test's own tools are not the pages' code: imported first
from tests.ui.conftest import app_test
from views import heap
heap.freeze_code()
before = set(sys.modules)
pages = ["inicio", "mapa", "plan", "seguimiento", "capas", "sector", "ingresar", "auditoria", "editar", "vincular",
         "ubicar"]
for page in pages:
    at = app_test(f"pages/{page}.py").run()
    assert not at.exception, (page, at.exception)
geometries = sum(isinstance(o, shapely.Geometry) for o in gc.get_objects())
del at
gc.collect()
functions = collections.Counter((getattr(o, "__module__", None) or "?").split(".")[0]
                                for o in gc.get_objects() if isinstance(o, types.FunctionType))
new = sorted(m for m in set(sys.modules) - before if not m.startswith(("tests", "__main__")))
gc.unfreeze()  # what the freeze held that is garbage now: the sessions' objects, had they been frozen
held = gc.collect()
print(json.dumps({"functions": sum(functions.values()), "by_module": functions.most_common(8), "new": new[:40],
                  "geometries_tracked": geometries, "held_by_freeze": held}))
""", data_dir)
    assert out["functions"] < 1000, out  # without the lazily imported libraries listed: about 8,300
    assert out["geometries_tracked"] > 0  # the data read by the pages stayed collectable
    assert out["held_by_freeze"] < 500, out  # a freeze inside the first session's run held about 4,400


def test_a_server_not_started_by_views_launch_says_so_once_and_does_not_freeze():
    out = run_python("""
import gc, json, logging
records = []
logging.getLogger("views.heap").addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
from views import heap
first, second = heap.warn_if_not_frozen(), heap.warn_if_not_frozen()
print(json.dumps({"returns": [first, second], "warnings": [r.getMessage() for r in records],
                  "frozen": gc.get_freeze_count()}))
""")
    assert out["returns"] == [False, False]
    assert len(out["warnings"]) == 1 and "views.launch" in out["warnings"][0]
    assert out["warnings"][0].startswith("SIT Vallenar:")
    assert out["frozen"] == 0


def test_views_launch_freezes_only_to_run_and_leaves_streamlits_messages_and_status():
    out = run_python("""
import gc, json
from views import heap, launch
try:
    launch.main(["version"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "frozen": gc.get_freeze_count(), "done": heap.frozen()}))
""")
    assert out["code"] in (0, None)
    assert out["frozen"] == 0 and not out["done"]  # only «run» freezes

    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    refused = subprocess.run([sys.executable, "-m", "views.launch", "run", "app.py", "--server.cookieSecret", "x"],
                             cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "código de las páginas precargado" in refused.stderr  # it froze, then Streamlit refused the option
    assert "cookieSecret" in refused.stderr + refused.stdout  # Streamlit's own reason reaches the operator

    usage = subprocess.run([sys.executable, "-m", "views.launch", "--help"], cwd=PROJECT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert usage.returncode == 0
    assert usage.stdout.startswith("Uso: python -m views.launch run app.py") and "--server.port" in usage.stdout
    assert "precargado" not in usage.stderr  # nothing frozen for the help
