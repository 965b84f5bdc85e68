"""Server time of the plan's map page per rerun: the product beside two folium + st_folium builds.

Runs the real page scripts in this process with Streamlit's ``AppTest`` on the store of
``SIT_DATA_DIR`` (a private one under the temporary folder by default, built from ``data/``)
and times what the server does for one visitor:

- ``producto``: ``/mapa`` as shipped (``app.py`` -> ``pages/mapa.py``): the map's HTML
  document is rendered once per (data version, selection, colouring, view) in a
  process-wide cache (:mod:`views.mapframe`), published as a file and shown in a frame by its address;
- ``antes``: the same map (:func:`views.mapview.selection_map`) held in the session
  state and handed to ``st_folium`` on every rerun, as the page did before;
- ``ingenuo``: a naive page that builds a folium map of the same layers on every run
  (``folium.GeoJson`` of the territories with a tooltip, blocks and commune, one
  ``CircleMarker`` with tooltip and popup per sited initiative) and hands it to
  ``st_folium``; its data loads are cached, as any Streamlit app would do.

Figures, medians of :data:`RUNS` runs, milliseconds of script time (by default the CPU time
of the server's script thread, ``time.thread_time``, which other work on a busy machine does
not inflate; ``--reloj pared`` for wall-clock time), measured around the page script itself
(for ``producto``, the page inside ``app.py``'s navigation, which is what a real server runs):

- ``abrir``: first run of a new visitor when another visitor already opened the same
  view (caches warm);
- ``sin cambios``: a rerun with nothing changed (a widget round trip that changes nothing);
- ``filtro``: a filter change to a selection not drawn before (strategy E1, then E1+E2,
  alternating with new ones), i.e. the map is built;
- ``filtro visto``: a filter change back to a selection some visitor already drew.

Also printed: the size of the map document and what each approach keeps per visitor.

Run: ``.venv/bin/python bench/bench_rerun.py`` (about one minute on 2 cores). At 100 times
the data, on a store holding the layers of ``bench/synthetic.py``:
``SIT_DATA_DIR=... bench/bench_rerun.py --capa bench_territorios --ubicaciones bench_ubicaciones --runs 3 --sin-ingenuo``.
"""

from __future__ import annotations

import logging
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

#: Runs per figure (median).
RUNS = 7
#: Seconds a single script run may take in AppTest.
TIMEOUT_S = 180

#: What both pages run first: the strategy filter and the selection it makes.
_SELECTION = '''
strategies = shared.strategy_names()
chosen = st.multiselect("Estrategia", list(strategies), key="estrategia")
state = {"estrategia": chosen, "plan": [], "tipo": [], "alcance": [], "territorio": [], "q": ""}
territories = shared.layer(LAYER)
relations = shared.relations(LAYER, SITES)
selected = selection.apply(shared.initiatives(SITES), relations, state, territories)
'''

#: The page as it drew the map before: the folium map kept per session, st_folium every rerun.
BEFORE_SCRIPT = '''
import streamlit as st
from streamlit_folium import st_folium
from pages import _shared as shared
from layers import selection
from views import maplocale, mapview

''' + _SELECTION + '''
def build():
    shown = shared.display_layer(LAYER, tuple(c for c in ("slug", "nombre", "tipo", "poblacion") if c in territories))
    return maplocale.prepare(mapview.selection_map(
        shared.display_layer("comuna", ("nombre",)), shown, shared.display_initiatives(SITES),
        selected["id"], relations, strategies=strategies, specific_only=True,
        city=shared.city_blocks(), filtered=selection.is_filtered(state),
        reference_layers=shared.reference_layers(),
    ), title="Mapa", territories=shown, view_param="vista")

m = shared.session_cached("antes_folium", (shared.store_version(), tuple(chosen)), build)
st_folium(m, key="antes_mapa", height=580, use_container_width=True, returned_objects=[])
'''

#: A naive page: the map built from the layers on every run and handed to st_folium.
NAIVE_SCRIPT = '''
import folium
import streamlit as st
from streamlit_folium import st_folium
from folium.plugins import MarkerCluster
from pages import _shared as shared
from layers import selection
from views import webassets

''' + _SELECTION + '''counts = relations.counts(selected["id"])
terr = territories[["slug", "nombre", "tipo", "geometry"]].copy()
terr["n"] = counts.sum(axis=1).reindex(terr["slug"]).fillna(0).astype(int).to_numpy()
m = webassets.offline_map(location=[-28.58, -70.76], zoom_start=11)
folium.GeoJson(shared.layer("manzanas")[["geometry"]], name="Manzanas",
               style_function=lambda f: {"color": "#777", "weight": 0.5, "fill": False}).add_to(m)
folium.GeoJson(terr, name="Territorios", tooltip=folium.GeoJsonTooltip(["nombre", "tipo", "n"]),
               style_function=lambda f: {"fillColor": "#8c6bb1", "fillOpacity": min(0.9, 0.1 + f["properties"]["n"] / 40),
                                         "color": "#555", "weight": 1}).add_to(m)
folium.GeoJson(shared.layer("comuna")[["geometry"]], name="Comuna").add_to(m)
cluster = MarkerCluster(name="Iniciativas").add_to(m)
sited = selected[selected.geometry.notna()]
for row, point in zip(sited.itertuples(), sited.geometry.representative_point()):
    folium.CircleMarker([point.y, point.x], radius=6, tooltip=str(row.nombre),
                        popup=folium.Popup(f"<b>{row.id}</b> {row.nombre}", max_width=300)).add_to(cluster)
folium.LayerControl().add_to(m)
webassets.localize_map(m)
st_folium(m, key="ingenuo_mapa", height=580, use_container_width=True, returned_objects=[])
'''


class ScriptClock:
    """Times page scripts inside AppTest's script thread.

    ``producto`` is timed around ``StreamlitPage.run`` of the page inside ``app.py``'s
    navigation (the innermost page run: AppTest first runs the page stand-alone, which
    hands over to ``app.py``, see ``pages._shared.run_inside_app``); the other two around
    the whole script run.
    """

    def __init__(self, cpu: bool = True) -> None:
        from streamlit.navigation import page as page_mod
        from streamlit.runtime.scriptrunner import script_runner

        #: CPU time of the script's thread (what the run costs the server, whatever else the
        #: machine runs), or wall-clock time.
        self.now = time.thread_time if cpu else time.perf_counter
        self.page_runs: list[float] = []
        self.script_runs: list[float] = []
        self._depth = 0
        page_run = page_mod.StreamlitPage.run
        run_script = script_runner.ScriptRunner._run_script
        clock = self

        def timed_page(page_self, *args, **kwargs):
            clock._depth += 1
            started = clock.now()
            try:
                return page_run(page_self, *args, **kwargs)
            finally:
                elapsed = clock.now() - started
                clock._depth -= 1
                if clock._depth == 1:  # the page inside app.py's navigation
                    clock.page_runs.append(elapsed)

        def timed_script(runner_self, *args, **kwargs):
            clock._depth = 0
            started = clock.now()
            try:
                return run_script(runner_self, *args, **kwargs)
            finally:
                clock.script_runs.append(clock.now() - started)

        page_mod.StreamlitPage.run = timed_page
        script_runner.ScriptRunner._run_script = timed_script

    def run(self, at, product: bool) -> float:
        """Run ``at`` once; the script time of that run, seconds."""
        before = len(self.page_runs), len(self.script_runs)
        at.run(timeout=TIMEOUT_S)
        if at.exception:
            raise RuntimeError(at.exception[0].message)
        if product:
            runs = self.page_runs[before[0]:]
            return runs[-1] if runs else self.script_runs[-1]
        return self.script_runs[-1]


def _product_app(layer: str, sites: str | None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=TIMEOUT_S)
    if layer != "territorios":
        at.query_params["capa"] = layer
    at.query_params["ubicaciones"] = sites or "incluidas"
    at.switch_page("pages/mapa.py")
    return at


def _script_app(script: str, layer: str, sites: str | None):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_string(f"LAYER = {layer!r}\nSITES = {sites!r}\n" + script, default_timeout=TIMEOUT_S)


def _median_ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def _strategy_widget(at, product: bool):
    return at.multiselect(key="mapa_estrategia" if product else "estrategia")


def measure(name: str, make, product: bool, clock: ScriptClock, runs: int = RUNS) -> dict[str, float]:
    """The four figures of one approach (milliseconds) and what it keeps per visitor (bytes)."""
    warm = make()
    clock.run(warm, product)  # the first visitor builds the default view
    opens, unchanged, changes, seen = [], [], [], []
    for _ in range(runs):
        visitor = make()
        opens.append(clock.run(visitor, product))
    at = make()
    clock.run(at, product)
    for _ in range(runs):
        unchanged.append(clock.run(at, product))
    from layers import store

    strategies = [str(s) for s in store.read_layer("estrategias")["id"]]
    new = [[s] for s in strategies] + [[a, b] for a, b in zip(strategies, strategies[1:])]
    for choice in new[:runs]:
        _strategy_widget(at, product).set_value(choice)
        changes.append(clock.run(at, product))
    for choice in new[:runs]:  # selections already drawn (by this or another visitor)
        _strategy_widget(at, product).set_value(choice)
        seen.append(clock.run(at, product))
    kept = _session_bytes(at)
    return {"abrir": _median_ms(opens), "sin cambios": _median_ms(unchanged), "filtro": _median_ms(changes),
            "filtro visto": _median_ms(seen), "sesión": kept}


def _session_bytes(at) -> int:
    """Bytes of what the session state holds (pickled; folium maps measured by their size in memory)."""
    total = 0
    for value in at.session_state.to_dict().values():
        try:
            total += len(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # a folium map does not pickle: measure its rendered document instead
            held = value[1] if isinstance(value, tuple) else value
            total += len(held.get_root().render()) if hasattr(held, "get_root") else 0
    return total


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capa", default="territorios", help="territory layer of the store (e.g. an imported 100x layer)")
    parser.add_argument("--ubicaciones", default=None, help="imported site layer laid over the initiatives")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per figure (median)")
    parser.add_argument("--sin-ingenuo", action="store_true", help="skip the naive page (slow at 100x)")
    parser.add_argument("--reloj", choices=("cpu", "pared"), default="cpu",
                        help="CPU time of the script thread (default; steady on a busy machine) or wall-clock time")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    if not os.environ.get("SIT_DATA_DIR"):
        os.environ["SIT_DATA_DIR"] = tempfile.mkdtemp(prefix="sit-bench-rerun-")
    os.chdir(PROJECT_DIR)
    from layers import store
    from views import mapframe, webassets

    if not webassets.assets_installed():
        sys.exit(webassets.missing_assets_message())
    store.ensure_store()
    clock = ScriptClock(cpu=args.reloj == "cpu")
    layer, sites, runs = args.capa, args.ubicaciones, args.runs
    rows = {
        "producto": measure("producto", lambda: _product_app(layer, sites), True, clock, runs),
        "antes": measure("antes", lambda: _script_app(BEFORE_SCRIPT, layer, sites), False, clock, runs),
    }
    if not args.sin_ingenuo:
        rows["ingenuo"] = measure("ingenuo", lambda: _script_app(NAIVE_SCRIPT, layer, sites), False, clock, runs)
    figures = ("abrir", "sin cambios", "filtro", "filtro visto")
    kind = "CPU del hilo del guion" if args.reloj == "cpu" else "reloj de pared"
    print(f"Tiempo de servidor por ejecución de la página del mapa (ms de {kind}, mediana de {runs}); "
          f"territorios «{layer}», ubicaciones «{sites or 'incluidas'}»")
    print(f"{'':<10}" + "".join(f"{f:>14}" for f in figures) + f"{'sesión (kB)':>14}")
    for name, row in rows.items():
        print(f"{name:<10}" + "".join(f"{row[f]:>14.1f}" for f in figures) + f"{row['sesión'] / 1024:>14.1f}")
    for other in [r for r in rows if r != "producto"]:
        ratios = "  ".join(f"{f} {rows['producto'][f] / rows[other][f]:.2f}" for f in figures)
        print(f"producto / {other}: {ratios}")
    print(f"Documentos de mapa en caché del proceso: {len(mapframe.DOCUMENTS)}, "
          f"{mapframe.DOCUMENTS.nbytes / 2**20:.1f} MB (compartidos por todas las visitas)")


if __name__ == "__main__":
    main()
