"""``make bench``: the real app and a fair naive app in headless Chromium, side by side, in one run.

The product runs as ``make run`` starts it (``python -m views.launch run app.py``), the naive
app as ``streamlit run``, on free loopback ports, each with its own
``SIT_DATA_DIR`` holding the same store: first the shipped data (``cli.py build``), then
the same store with a synthetic municipality 100 times larger imported through
``cli.py import`` (:mod:`bench.synthetic`: about 10,000 lot-sized territories inside the
census city and 20,000 initiative sites). The naive app is :mod:`bench.naive_app`.
Debian's chromium is driven by Playwright (``executable_path``, no browser download);
every request to a non-loopback address is aborted and counted.

**When a page is loaded.** A script installed in every page (:data:`WATCH_JS`) checks
every 40 ms: Streamlit's app root says the script is idle
(``data-test-script-state="notRunning"``), the page shows its title (``h1``) and, for
map pages, some same-origin frame holds a Leaflet map (a global ``map_*`` that is an
``L.Map``) that has been set up (``_loaded``) and holds at least the expected number of
vector layers or markers (``L.Path`` or ``L.Marker``, whatever the renderer), and the
page holds the tables it shows (``tables`` of the condition: one on ``/mapa`` and
``/capas`` in both apps, none on the sector pages), each drawn (its canvas is there).
Streamlit mounts a table only once the table's code has arrived, often more than
:data:`QUIET_MS` after the script went idle, so the count is part of the condition. A page is
loaded at the first moment from which all of that stays true for :data:`QUIET_MS`
without interruption; its load time runs from the moment the navigation was asked for
(each visit in a new browser context, i.e. a new Streamlit session, nothing cached in
the browser). A **filter change** types into «Buscar en los nombres» and presses Enter;
it is done when the script has run, is idle again and a *new* map (not one marked before
the change) is drawn. The product draws a new selection in the map already open
(:mod:`views.restyle`): its map counts as new once it shows another selection document
(``map.__sitSelection``, set after the browser drew it). If the app keeps the old map (nothing
to redraw) the change counts as done when the app is idle again with its title and tables
drawn, and the table says so.

**Figures** (medians of ``--runs``, product and naive measured alternately in the same run):

- shipped data: ``/mapa`` and ``/capas`` loads, the map's cost (``/mapa`` − the same page
  without a map, paired per run: ``/mapa`` again with its map's document answered blank,
  see :func:`open_visit`; ``/mapa`` − ``/capas`` is shown too, and also counts the map
  page's filters, figures and larger table), a filter change, and a rerun with nothing
  changed in server time,
  timed in-process with Streamlit's ``AppTest`` (a second ``run()`` of the map page in a
  fresh interpreter: the whole script, the map component's serialisation included, no
  browser, no network);
- 100×: warm load of ``/mapa`` (caches of the server warm, new session), first visit
  after an import (the site layer imported again with ``--replace`` before each visit;
  the naive app gets the new store file), a filter change, the sector page of the lot
  that holds the most sites (and the same page with its map's document blank);
- the floor: a bare Streamlit page (:mod:`bench.floor_app`, a title only) loaded once in
  every run of the 100× loads, and what each app's sector page adds to it, paired per run;
  no page of either app can load faster than it on the same machine;
- memory: the server's resident set (``VmRSS`` of ``/proc/PID/status``) after the
  warm-up, with ``--visitors`` more sessions open on ``/mapa``, and after they close
  their pages and Streamlit's ``server.disconnectedSessionTTL`` (read from the app's
  configuration) has passed;
- 3 and 10 visitors opening ``/mapa`` at the same moment: the longest wait over one
  visitor alone (the warm-load median);
- payload: the JSON literals of the map document (the scripts of the map's frame)
  that carry the territories' slugs, against the geometry floor: a compact GeoJSON
  FeatureCollection of the same territories, coordinates rounded to 5 decimals
  (about 1 m), no properties.

Run: ``make bench`` (or ``python bench/bench_app.py [--runs N] [--quick]``). ``--quick``
measures the shipped data only with 2 runs (a harness check, not a result).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import synthetic  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.ui.conftest import NON_LOCAL_WS, is_local_url, start_streamlit  # noqa: E402

NAIVE_APP = PROJECT_DIR / "bench" / "naive_app.py"
PRODUCT_APP = PROJECT_DIR / "app.py"
#: A title and nothing else: what any Streamlit page costs in this harness (bench/floor_app.py).
FLOOR_APP = PROJECT_DIR / "bench" / "floor_app.py"
QUIET_MS = 600
NO_REDRAW_MS = 30_000
LOAD_TIMEOUT_S = 240.0
#: The timeout in force (``--timeout``), seconds.
TIMEOUT = {"s": LOAD_TIMEOUT_S}
#: Folder where the 100x map documents' scripts are kept (``--keep``), or None.
KEEP: dict = {"dir": None}
#: A simultaneous visitor still waiting after this many times one visitor's load counts as a failure.
CROWD_CAP = 4.0
FILTER_TEXT = "agua"
STORE_FILENAME = "sit_vallenar.gpkg"
APPS = ("product", "naive")
#: bench/floor_app.py is loaded when its title shows and its script is idle (no table, no map).
FLOOR_COND = {"map": False}

WATCH_JS = r"""
(() => {
  if (window.top !== window) return;
  const B = window.__bench = {cond: COND, readySince: null, settledSince: null, sawRunning: 0, last: null};
  function collect(win, out, depth) {
    let doc;
    try { doc = win.document; if (!doc) return; } catch (e) { return; }
    try {
      if (win.L && win.L.Map) {
        for (const k of Object.keys(win)) {
          if (k.startsWith('map_') && win[k] instanceof win.L.Map) out.push([win[k], win]);
        }
      }
    } catch (e) {}
    if (depth > 3) return;
    for (const f of doc.querySelectorAll('iframe')) {
      try { collect(f.contentWindow, out, depth + 1); } catch (e) {}
    }
  }
  B.maps = () => { const out = []; collect(window, out, 0); return out; };
  // A rerun can start and end between two ticks (a cached view reruns in about 15 ms):
  // every change of the script state is seen as it happens, not only when polled.
  new MutationObserver((records) => {
    for (const r of records) {
      const v = r.target.getAttribute && r.target.getAttribute('data-test-script-state');
      if (v === 'running' || v === 'rerunRequested') B.sawRunning++;
    }
  }).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  // A map that draws a new selection in place (views.restyle) is new again once it shows another
  // selection document (map.__sitSelection, set after the browser drew it).
  const isOld = (m) => m.__benchOld && m.__sitSelection === m.__benchSelection;
  B.markOld = (cond) => {
    for (const [m] of B.maps()) { m.__benchOld = true; m.__benchSelection = m.__sitSelection; }
    B.cond = cond; B.sawRunning = 0; B.readySince = null; B.settledSince = null;
  };
  B.state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const script = app ? app.getAttribute('data-test-script-state') : null;
    let loaded = 0, fresh = 0, features = 0;
    for (const [m, win] of B.maps()) {
      if (!m._loaded || (B.cond.fresh && isOld(m))) continue;
      let n = 0;
      for (const l of Object.values(m._layers)) if (l instanceof win.L.Path || l instanceof win.L.Marker) n++;
      loaded++; features += n; if (!isOld(m)) fresh++;
    }
    const tables = document.querySelectorAll('[data-testid="stDataFrame"]');
    const drawn = Array.from(tables).filter((t) => t.querySelector('canvas')).length;
    return {script, loaded, fresh, features, heading: !!document.querySelector('h1'), tables: tables.length, drawn};
  };
  B.mapScripts = () => B.maps().map(([m, win]) =>
    Array.from(win.document.scripts).map((s) => s.textContent).join('\n'));
  function tick() {
    const s = B.state(), c = B.cond, now = Date.now();
    B.last = s;
    if (s.script === 'running' || s.script === 'rerunRequested') B.sawRunning++;
    const idle = s.script === 'notRunning' && (!c.needRun || B.sawRunning > 0);
    // Every table of the page is drawn too, and the tables the page shows are there: Streamlit
    // mounts a table only when its code has arrived, often after the script went idle.
    const settled = idle && s.heading && s.drawn === s.tables && s.tables >= (c.tables || 0);
    B.settledSince = settled ? (B.settledSince || now) : null;  // all but the map: a change that kept its map
    let ok = settled;
    if (c.map) ok = ok && s.loaded > 0 && s.features >= (c.minFeatures || 1) && (!c.fresh || s.fresh > 0);
    B.readySince = ok ? (B.readySince || now) : null;
  }
  setInterval(tick, 40);
})();
"""

STATUS_JS = """() => { const B = window.__bench; if (!B) return {now: Date.now()};
  return {now: Date.now(), ready: B.readySince, settled: B.settledSince, last: B.last}; }"""


# --------------------------------------------------------------------------- browser


@dataclass
class Visit:
    """One page of one visitor: its browser context, page and what it recorded."""

    context: object
    page: object
    blocked: list[str] = field(default_factory=list)
    blanked: list[str] = field(default_factory=list)
    ws_bytes: list[int] = field(default_factory=lambda: [0])
    start: float = 0.0

    def close(self) -> None:
        self.context.close()


#: What a frame's document becomes in a visit with ``blankFrames``: the same page without its map.
BLANK_FRAME = "<!DOCTYPE html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>sin mapa</title></head><body></body></html>"


#: Addresses a request leaves the machine for (anything but loopback and in-browser schemes): only those
#: are routed, so the page's own requests never wait for this harness (Playwright's sync API answers a
#: routed request only while the harness is inside one of its calls).
NON_LOCAL_HTTP = re.compile(r"^(?!(https?://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/|data:|blob:|about:|chrome-error:))")
#: Addresses of the maps' frame documents: the product's published documents, the naive app's component.
FRAME_DOCUMENTS = re.compile(r"^https?://[^/]+(/[^?#]*)?/(app/static/mapas|component)/")


def is_frame_document(request) -> bool:
    """True for the navigation of a frame inside the page (a map's document), not of the page itself."""
    try:
        return request.is_navigation_request() and request.frame.parent_frame is not None
    except Exception:  # Playwright cannot tell the frame of some requests (service workers, popups)
        return False


def open_visit(browser, cond: dict) -> Visit:
    """A new context (a new Streamlit session) that reaches loopback only, with the watcher installed.

    With ``cond["blankFrames"]`` every map document loaded into a frame of the page (the
    product's published map document, the naive app's ``st_folium`` component) is answered
    with :data:`BLANK_FRAME`: the page, its widgets, its table and the frame's element stay
    as they are, and the map is not drawn. That is "the same page without a map" of the
    shipped map's cost. For the product the document is neither sent nor parsed. The naive
    app still builds its map, serialises it and sends it through the websocket in the
    component's arguments, and the page still parses that message: only the drawing goes,
    so its figure is a lower bound of what its map costs. :func:`load` refuses a visit in
    which nothing was blanked or a map was drawn all the same.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-CL", service_workers="block")
    page = context.new_page()
    visit = Visit(context, page)

    def block(route_, request):
        if is_local_url(request.url):
            route_.continue_()
        else:
            visit.blocked.append(request.url)
            route_.abort("blockedbyclient")

    context.route(NON_LOCAL_HTTP, block)

    def blank(route_, request):
        if is_frame_document(request):
            visit.blanked.append(request.url)
            route_.fulfill(status=200, content_type="text/html; charset=utf-8", body=BLANK_FRAME)
        else:
            route_.continue_()

    if cond.get("blankFrames"):
        context.route(FRAME_DOCUMENTS, blank)

    def block_ws(ws):
        visit.blocked.append(ws.url)
        ws.close()

    context.route_web_socket(NON_LOCAL_WS, block_ws)

    def on_ws(ws):
        ws.on("framereceived", lambda payload: visit.ws_bytes.__setitem__(0, visit.ws_bytes[0] + len(payload)))

    page.on("websocket", on_ws)
    context.add_init_script(WATCH_JS.replace("COND", json.dumps(cond)))
    return visit


def start_load(visit: Visit, url: str) -> None:
    visit.start = time.time()
    visit.page.goto(url, wait_until="commit", timeout=TIMEOUT["s"] * 1000)


def poll(visit: Visit, allow_no_redraw: bool = False) -> tuple[float, bool] | None:
    """Seconds from ``visit.start`` to loaded, and whether the map was kept; ``None`` while not loaded."""
    try:
        s = visit.page.evaluate(STATUS_JS)
    except Exception:  # navigation in progress
        return None
    if s.get("ready") and s["now"] - s["ready"] >= QUIET_MS:
        return s["ready"] / 1000 - visit.start, False
    if allow_no_redraw and s.get("settled") and s["now"] - s["settled"] >= NO_REDRAW_MS:
        return s["settled"] / 1000 - visit.start, True
    return None


def wait_all(visits: list[Visit], timeout_s: float | None = None, allow_no_redraw: bool = False) -> list:
    """Wait for every visit; a list of (seconds, kept map) or ``None`` for those over ``timeout_s``."""
    timeout_s = timeout_s or TIMEOUT["s"]
    results: list = [None] * len(visits)
    deadline = time.time() + timeout_s
    while time.time() < deadline and any(r is None for r in results):
        for i, visit in enumerate(visits):
            if results[i] is None:
                results[i] = poll(visit, allow_no_redraw)
        pause(visits, 0.1)
    return results


def pause(visits: list[Visit], seconds: float) -> None:
    """Wait, while Playwright keeps answering the visits' routed requests (``time.sleep`` would hold them)."""
    for visit in visits:
        try:
            visit.page.wait_for_timeout(seconds * 1000)
            return
        except Exception:  # a closed or crashed page: try the next one
            continue
    time.sleep(seconds)


def load(browser, url: str, cond: dict, timeout_s: float | None = None, keep: bool = False):
    """Open ``url`` in a new session; seconds to loaded (``None`` on timeout) and the visit if ``keep``."""
    visit = open_visit(browser, cond)
    start_load(visit, url)
    result = wait_all([visit], timeout_s)[0]
    seconds = None if result is None else result[0]
    if cond.get("blankFrames") and seconds is not None:
        drawn = visit.page.evaluate("() => window.__bench.last.loaded")
        if not visit.blanked or drawn:
            visit.close()
            raise RuntimeError(f"{url}: a visit without a map blanked {visit.blanked} and drew {drawn} maps")
    if keep:
        return seconds, visit
    visit.close()
    return seconds, None


def filter_change(visit: Visit, text: str, cond: dict, timeout_s: float | None = None):
    """Type ``text`` in the name search and press Enter; seconds to redrawn and whether the map was kept."""
    page = visit.page
    page.evaluate("(c) => window.__bench.markOld(c)", {**cond, "fresh": True, "needRun": True})
    box = page.get_by_label("Buscar en los nombres")
    box.fill(text)
    visit.start = time.time()
    box.press("Enter")
    return wait_all([visit], timeout_s, allow_no_redraw=True)[0]


# --------------------------------------------------------------------------- servers and data


def rss_mb(pid: int) -> float:
    """Resident set of a process in MB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, seconds (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quiesce(servers: dict, busy: float = 0.1, window_s: float = 0.5, limit_s: float = 60.0) -> None:
    """Wait until no server uses more than ``busy`` of a core over ``window_s`` (work left by an earlier
    visit, such as a page that timed out, must not slow the next measurement of either app)."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        before = {app: cpu_seconds(s.process.pid) for app, s in servers.items()}
        time.sleep(window_s)
        if all(cpu_seconds(s.process.pid) - before[app] <= busy * window_s for app, s in servers.items()):
            return


def session_ttl_s() -> int:
    """``server.disconnectedSessionTTL`` the apps run with (project config or Streamlit's default)."""
    config = PROJECT_DIR / ".streamlit" / "config.toml"
    if config.is_file():
        value = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {}).get("disconnectedSessionTTL")
        if value is not None:
            return int(value)
    from streamlit import config as st_config

    return int(st_config.get_option("server.disconnectedSessionTTL"))


def cli(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "SIT_DATA_DIR": str(data_dir)}
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "cli.py"), *args], env=env, cwd=PROJECT_DIR,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cli.py {' '.join(args)} failed: {proc.stderr.strip()[-2000:]}")


def copy_store(src_dir: Path, dst_dir: Path) -> None:
    """Replace the store file of ``dst_dir`` with the one of ``src_dir`` (atomic rename)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    tmp = dst_dir / (STORE_FILENAME + ".tmp")
    shutil.copyfile(src_dir / STORE_FILENAME, tmp)
    os.replace(tmp, dst_dir / STORE_FILENAME)


def start_apps(product_dir: Path, naive_dir: Path) -> dict:
    return {
        "product": start_streamlit(PRODUCT_APP, env={"SIT_DATA_DIR": str(product_dir)}, timeout=180),
        "naive": start_streamlit(NAIVE_APP, env={"SIT_DATA_DIR": str(naive_dir)}, timeout=180),
    }


def stop_apps(servers: dict) -> None:
    for server in servers.values():
        server.stop()


def url(server, path: str, query: dict | None = None) -> str:
    from urllib.parse import urlencode

    return f"{server.base_url}/{path}" + (f"?{urlencode(query)}" if query else "")


# --------------------------------------------------------------------------- measurements


def med(values) -> float | None:
    """Median of the runs, a run that timed out counting as infinitely long (``math.inf`` when half did)."""
    values = list(values)
    return statistics.median([math.inf if v is None else v for v in values]) if values else None


def paired_loads(browser, servers, paths: dict, runs: int, conds: dict, log, floor=None) -> dict:
    """``{app: {name: [seconds per run]}}``, each run visiting every path on both apps, order alternated.

    With ``floor`` (the server of ``bench/floor_app.py``) each run also loads that bare page,
    first in even runs and last in odd ones, under ``out["floor"]["page"]``.
    """
    out = {app: {name: [] for name in paths} for app in APPS}
    if floor is not None:
        out["floor"] = {"page": []}
    watched = {**servers, "floor": floor} if floor is not None else servers

    def floor_visit(run: int) -> None:
        quiesce(watched)
        seconds, _ = load(browser, url(floor, ""), FLOOR_COND)
        out["floor"]["page"].append(seconds)
        log(f"  run {run + 1} floor   bare Streamlit page: {fmt_s(seconds)}")

    for run in range(runs):
        order = APPS if run % 2 == 0 else APPS[::-1]
        names = list(paths) if run % 2 == 0 else list(paths)[::-1]  # no page always follows the same one
        if floor is not None and run % 2 == 0:
            floor_visit(run)
        for name in names:
            path, query = paths[name]
            for app in order:
                quiesce(watched)
                seconds, _ = load(browser, url(servers[app], path, query), conds[name])
                out[app][name].append(seconds)
                log(f"  run {run + 1} {app:7s} {name}: {fmt_s(seconds)}")
        if floor is not None and run % 2 == 1:
            floor_visit(run)
    return out


def filter_runs(browser, servers, path: str, query: dict | None, runs: int, cond: dict, log) -> dict:
    """Filter-change seconds per app (a page kept open, the text set and cleared in turn)."""
    out = {app: [] for app in APPS}
    kept = dict.fromkeys(APPS, 0)
    for app in APPS:
        seconds, visit = load(browser, url(servers[app], path, query), cond, keep=True)
        try:
            for run in range(runs):
                quiesce(servers)
                result = filter_change(visit, FILTER_TEXT if run % 2 == 0 else "", cond)
                out[app].append(None if result is None else result[0])
                kept[app] += bool(result and result[1])
                log(f"  filter {run + 1} {app:7s}: {fmt_s(out[app][-1])}" + (" (map kept)" if result and result[1] else ""))
        finally:
            visit.close()
    return {"seconds": out, "kept": kept}


def apptest_rerun(app: str, data_dir: Path, query: dict, runs: int) -> list[float]:
    """Server seconds of reruns with nothing changed of the map page (AppTest, fresh interpreter)."""
    env = {**os.environ, "SIT_DATA_DIR": str(data_dir),
           "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_DIR), os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--apptest-child", app, json.dumps(query), str(runs)],
        env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"AppTest of {app} failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _naive_map_script() -> None:
    """The naive app's map page as an AppTest script (AppTest runs a function's body)."""
    from bench import naive_app

    naive_app.map_page()


def _one_script_cache() -> None:
    """Give every AppTest run the same script cache, as a server does.

    A Streamlit server compiles each script once (its ``ScriptCache`` lives as long as the
    process); ``AppTest`` makes a new cache for every ``run()``, so each rerun would parse,
    rewrite ("magic") and compile ``app.py`` and the page again: about 15 ms of the shipped
    map page's rerun that no visitor of a real server ever waits for. Both apps get it.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _apptest_child(app: str, query: dict, runs: int) -> None:
    _one_script_cache()
    if app == "product":
        from tests.ui.conftest import app_test

        at = app_test("pages/mapa.py", query, timeout=600)
    else:
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_function(_naive_map_script, default_timeout=600)  # the map page, not the home page
        for key, value in query.items():
            at.query_params[key] = value
    at.run()
    if at.exception:
        raise RuntimeError(str(at.exception))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    print(json.dumps(times))


def _carries_territories(value, n: int, labels: set[str]) -> bool:
    """True when a parsed JSON value holds per-territory data of a layer of ``n`` territories:
    at least 90 % of ``n`` polygons, an array of about ``n`` items (per-territory attributes),
    or half of ``labels`` (a sample of the slugs and names)."""
    polygons, found = 0, set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") in ("Polygon", "MultiPolygon"):
                polygons += 1
                continue
            stack.extend(item.values())
        elif isinstance(item, list):
            if n > 1 and abs(len(item) - n) <= 0.02 * n:
                return True
            if item and not isinstance(item[0], (int, float)):
                stack.extend(item)
        elif isinstance(item, str) and item in labels:
            found.add(item)
    return polygons >= 0.9 * n or len(found) >= max(1, len(labels) / 2)


def territory_payload(scripts: list[str], slugs: list[str], names: list[str] | None = None) -> int:
    """Bytes of the JSON literals of map scripts that carry the territories (each counted once).

    A literal counts when it holds the territories' polygons, an array with one item per
    territory, or their slugs or names (:func:`_carries_territories`): the geometry and
    every per-territory attribute the browser receives, whatever the format.
    """
    step = max(1, len(slugs) // 50)
    labels = set(slugs[::step]) | set((names or [])[::step])
    decoder = json.JSONDecoder()
    total = 0
    for text in scripts:
        pos = 0
        for match in re.finditer(r"(?:^|[(=,:\[])\s*([\[{])", text):
            start = match.start(1)
            if start < pos:
                continue
            try:
                value, end = decoder.raw_decode(text, start)
            except ValueError:
                continue
            pos = end  # a literal is judged whole, never its parts
            if end - start > 16 and _carries_territories(value, len(slugs), labels):
                total += end - start
    return total


def geometry_floor(data_dir: Path, layer: str) -> int:
    """Bytes of a compact GeoJSON FeatureCollection of a layer's geometries at 5 decimals, no properties."""
    import geopandas as gpd
    import numpy as np
    import shapely

    geoms = gpd.read_file(data_dir / STORE_FILENAME, layer=layer, engine="pyogrio").geometry.to_numpy()
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, 5))
    features = [{"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)} for g in rounded]
    text = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    return len(text.encode("utf-8"))


def busiest_lot(data_dir: Path) -> str:
    """Slug of the synthetic lot that holds the most site vertices (the sector page to time)."""
    import geopandas as gpd
    import shapely

    store = data_dir / STORE_FILENAME
    lots = gpd.read_file(store, layer=synthetic.TERRITORY_LAYER, engine="pyogrio")
    sites = gpd.read_file(store, layer=synthetic.SITES_LAYER, engine="pyogrio")
    points = gpd.GeoDataFrame(geometry=shapely.points(shapely.get_coordinates(sites.geometry.to_numpy())), crs=sites.crs)
    joined = gpd.sjoin(points, lots[["slug", "geometry"]], predicate="within")
    return str(joined["slug"].value_counts().index[0])


def concurrent(browser, server, target: str, k: int, cond: dict, timeout_s: float) -> list[float | None]:
    """Seconds each of ``k`` visitors waits when all open ``target`` at once."""
    visits = [open_visit(browser, cond) for _ in range(k)]
    try:
        for visit in visits:
            start_load(visit, target)
        results = wait_all(visits, timeout_s)
    finally:
        for visit in visits:
            visit.close()
    return [None if r is None else r[0] for r in results]


def memory(browser, servers, targets: dict, visitors: int, cond: dict, ttl: int, log, apps=APPS) -> dict:
    """RSS after warm-up, with ``visitors`` more sessions, and after they leave and the TTL passed."""
    out = {app: {} for app in apps}
    open_visits = {app: [] for app in apps}
    for app in apps:
        _, first = load(browser, targets[app], cond, keep=True)
        open_visits[app].append(first)
        out[app]["warm"] = rss_mb(servers[app].process.pid)
        for _ in range(visitors):
            _, visit = load(browser, targets[app], cond, keep=True)
            open_visits[app].append(visit)
        out[app]["loaded"] = rss_mb(servers[app].process.pid)
        log(f"  memory {app}: {out[app]['warm']:.0f} MB -> {out[app]['loaded']:.0f} MB with {visitors} more")
    for app in apps:
        for visit in open_visits[app]:
            visit.close()
    log(f"  visitors left; waiting {ttl + 20} s (disconnectedSessionTTL {ttl} s + 20 s)")
    time.sleep(ttl + 20)
    for app in apps:
        out[app]["left"] = rss_mb(servers[app].process.pid)
    return out


# --------------------------------------------------------------------------- table


def fmt_s(v) -> str:
    return "timeout" if v is None else f"{v:.2f}"


@dataclass
class Row:
    figure: str
    product: float | None
    naive: float | None
    unit: str
    target: str
    ok: bool | None

    def cells(self) -> list[str]:
        def show(v):
            if v is None:
                return "n/a"
            if math.isinf(v):
                return f"> {TIMEOUT['s']:.0f}"
            return f"{v:.0f}" if self.unit in ("MB", "ms", "KB") else f"{v:.2f}"

        if self.product is None or self.naive in (None, 0) or math.isinf(self.product):
            ratio = "n/a"
        elif math.isinf(self.naive):  # the naive app timed out: the ratio is below product / timeout
            ratio = f"< {self.product / TIMEOUT['s']:.2f}"
        else:
            ratio = f"{self.product / self.naive:.2f}"
        verdict = "—" if self.ok is None else ("pass" if self.ok else "FAIL")
        return [f"{self.figure} ({self.unit})", show(self.product), show(self.naive), ratio, self.target, verdict]


def table(rows: list[Row]) -> str:
    head = ["figure", "product", "naive", "ratio", "target", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def check(value, limit) -> bool | None:
    return None if value is None else value <= limit


def vs_naive(product, naive, limit) -> bool | None:
    if product is None:
        return False if naive is not None else None
    return product <= limit and (naive is None or product <= naive / 2)


# --------------------------------------------------------------------------- phases


def shipped_phase(browser, work: Path, runs: int, log) -> list[Row]:
    product_dir, naive_dir = work / "shipped" / "product", work / "shipped" / "naive"
    product_dir.mkdir(parents=True)
    cli(product_dir, "build")
    copy_store(product_dir, naive_dir)
    servers = start_apps(product_dir, naive_dir)
    # /mapa and /capas each show one table in both apps.
    map_cond, page_cond = {"map": True, "minFeatures": 1, "tables": 1}, {"map": False, "tables": 1}
    no_map_cond = {**page_cond, "blankFrames": True}  # /mapa with its map's document answered blank
    try:
        for app in APPS:  # warm-up: caches and first imports of both servers
            load(browser, url(servers[app], "mapa"), map_cond)
            load(browser, url(servers[app], "capas"), page_cond)
        log("shipped: loads")
        loads = paired_loads(browser, servers,
                             {"mapa": ("mapa", None), "sin mapa": ("mapa", None), "capas": ("capas", None)}, runs,
                             {"mapa": map_cond, "sin mapa": no_map_cond, "capas": page_cond}, log)
        log("shipped: filter changes")
        filt = filter_runs(browser, servers, "mapa", None, runs, map_cond, log)
    finally:
        stop_apps(servers)
    log("shipped: reruns with nothing changed (AppTest)")
    rerun = {app: apptest_rerun(app, product_dir if app == "product" else naive_dir, {}, runs) for app in APPS}
    def paired_difference(app: str, without: str) -> float | None:
        return med([None if a is None or b is None else a - b for a, b in zip(loads[app]["mapa"], loads[app][without])])

    cost = {app: paired_difference(app, "sin mapa") for app in APPS}
    over_capas = {app: paired_difference(app, "capas") for app in APPS}
    m = {app: {k: med(v) for k, v in loads[app].items()} for app in APPS}
    f = {app: med(filt["seconds"][app]) for app in APPS}
    r = {app: 1000 * statistics.median(rerun[app]) for app in APPS}
    kept = filt["kept"]["product"]
    return [
        Row("shipped: /mapa load", m["product"]["mapa"], m["naive"]["mapa"], "s", "—", None),
        Row("shipped: /mapa with its map's document blank (the same page without a map)", m["product"]["sin mapa"],
            m["naive"]["sin mapa"], "s", "—", None),
        Row("shipped: /capas load (another page, no map)", m["product"]["capas"], m["naive"]["capas"], "s", "—", None),
        Row("shipped: map cost = /mapa − the same page without a map", cost["product"], cost["naive"], "s",
            "≤ 0.3 s", check(cost["product"], 0.3)),
        Row("shipped: /mapa − /capas (the map and the map page's other widgets)", over_capas["product"],
            over_capas["naive"], "s", "—", None),
        Row("shipped: filter change redraw" + (f" [map kept {kept}/{runs}]" if kept else ""), f["product"],
            f["naive"], "s", "≤ 0.3 s", check(f["product"], 0.3)),
        Row("shipped: rerun, nothing changed, server time", r["product"], r["naive"], "ms", "≤ 30 ms",
            check(r["product"], 30)),
    ]


def big_phase(browser, work: Path, runs: int, visitors: int, log, lean: bool = False) -> list[Row]:
    product_dir, naive_dir = work / "big" / "product", work / "big" / "naive"
    product_dir.mkdir(parents=True)
    shutil.copyfile(work / "shipped" / "product" / STORE_FILENAME, product_dir / STORE_FILENAME)
    syn = synthetic.generate(work / "synthetic")
    log(f"100×: {syn.n_territories} territories, {syn.n_sites} sites")
    territory_cmd, sites_cmd = synthetic.import_commands(sys.executable, syn)
    cli(product_dir, *territory_cmd[2:])
    cli(product_dir, *sites_cmd[2:])
    copy_store(product_dir, naive_dir)
    query = {"capa": synthetic.TERRITORY_LAYER, "ubicaciones": synthetic.SITES_LAYER}
    lot = busiest_lot(product_dir)
    sector_query = {**query, "territorio": lot}
    map_cond, page_cond = {"map": True, "minFeatures": 100, "tables": 1}, {"map": False, "tables": 1}
    sector_cond = {"map": True, "minFeatures": 1}  # no table on the sector pages
    ttl = session_ttl_s()
    rows: list[Row] = []
    servers = start_apps(product_dir, naive_dir)
    floor_server = None
    try:
        floor_server = start_streamlit(FLOOR_APP, timeout=180, frozen=True)  # as cheap as the product's runs
        log("100×: warm-up")
        cold = {}
        for app in APPS:
            cold[app], _ = load(browser, url(servers[app], "mapa", query), map_cond)
            log(f"  first visit after start {app}: {fmt_s(cold[app])}")
        log("100×: warm loads and sector page")
        loads = paired_loads(browser, servers, {"mapa": ("mapa", query), "sector": ("sector", sector_query),
                                                "sector sin mapa": ("sector", sector_query)},
                             runs, {"mapa": map_cond, "sector": sector_cond,
                                    "sector sin mapa": {"map": False, "blankFrames": True}}, log,
                             floor=floor_server)
        floor_server.stop()
        floor_server = None
        log("100×: payload")
        payload = {}
        lots = __import__("geopandas").read_file(product_dir / STORE_FILENAME, layer=synthetic.TERRITORY_LAYER,
                                                 engine="pyogrio")
        slugs, names = list(lots["slug"]), list(lots["nombre"])
        for app in APPS:
            _, visit = load(browser, url(servers[app], "mapa", query), map_cond, keep=True)
            scripts = visit.page.evaluate("() => window.__bench.mapScripts()")
            payload[app] = territory_payload(scripts, slugs, names)
            if KEEP["dir"]:
                (KEEP["dir"] / f"map_scripts_{app}.json").write_text(json.dumps(scripts), encoding="utf-8")
            payload[app + "_ws"] = visit.ws_bytes[0]
            visit.close()
        floor = geometry_floor(product_dir, synthetic.TERRITORY_LAYER)
        log("100×: filter changes")
        filt = filter_runs(browser, servers, "mapa", query, runs, map_cond, log)
        log("100×: first visit after an import")
        first_visit = {app: [] for app in APPS}
        for run in range(runs):
            cli(product_dir, *sites_cmd[2:], "--replace")
            copy_store(product_dir, naive_dir)
            for app in (APPS if run % 2 == 0 else APPS[::-1]):
                quiesce(servers)
                seconds, _ = load(browser, url(servers[app], "mapa", query), map_cond)
                first_visit[app].append(seconds)
                log(f"  run {run + 1} {app:7s} first visit after import: {fmt_s(seconds)}")
        alone = {app: med(loads[app]["mapa"]) for app in APPS}
        crowd = {(k, "naive"): None for k in (3, 10)}
        extras = ("product",) if lean else APPS
        for k in (3, 10):
            for app in extras:
                cap = max(60.0, CROWD_CAP * (alone[app] or 30.0))
                quiesce(servers)
                waits = concurrent(browser, servers[app], url(servers[app], "mapa", query), k, map_cond, cap)
                crowd[(k, app)] = None if any(w is None for w in waits) else max(waits)
                log(f"  {k} visitors {app}: " + ", ".join(fmt_s(w) for w in waits))
        # The floor of that figure on this machine: the same crowds on the product's page without a
        # map. Every visitor's browser runs on the server's cores, so k browsers booting Streamlit's
        # frontend at once already wait longer than one alone, whatever the map costs.
        floor_alone: list[float | None] = []
        for _ in range(3):
            quiesce(servers)
            floor_alone.append(load(browser, url(servers["product"], "capas"), page_cond)[0])
        for k in (3, 10):
            quiesce(servers)
            waits = concurrent(browser, servers["product"], url(servers["product"], "capas"), k, page_cond, 120.0)
            crowd[(k, "floor")] = None if any(w is None for w in waits) else max(waits)
            log(f"  {k} visitors product /capas (no map): " + ", ".join(fmt_s(w) for w in waits))
        alone["floor"] = med(floor_alone)
        log("100×: memory")
        mem = memory(browser, servers, {a: url(servers[a], "mapa", query) for a in APPS}, visitors, map_cond, ttl, log,
                     apps=extras)
        mem.setdefault("naive", {"warm": None, "loaded": None, "left": None})
    finally:
        try:
            stop_apps(servers)
        finally:
            if floor_server is not None:
                floor_server.stop()
    warm = {a: med(loads[a]["mapa"]) for a in APPS}
    sector = {a: med(loads[a]["sector"]) for a in APPS}
    sector_bare = {a: med(loads[a]["sector sin mapa"]) for a in APPS}
    bare_page = med(loads["floor"]["page"])
    # What each sector page adds to the bare page, paired per run (the same run's bare page). A run
    # whose bare page timed out has nothing to pair with and is left out; a sector page that timed
    # out counts as infinitely long, as in every median.
    sector_own = {a: med([None if s is None else s - f for s, f in zip(loads[a]["sector"], loads["floor"]["page"])
                          if f is not None]) for a in APPS}
    fv = {a: med(first_visit[a]) for a in APPS}
    fc = {a: med(filt["seconds"][a]) for a in APPS}
    kept = filt["kept"]["product"]
    per_visitor = {a: None if mem[a]["warm"] is None else (mem[a]["loaded"] - mem[a]["warm"]) / visitors for a in APPS}
    after = {a: None if mem[a]["warm"] is None else mem[a]["left"] - mem[a]["warm"] for a in APPS}
    rows += [
        Row("100×: first visit after the server started (one run)", cold["product"], cold["naive"], "s", "—", None),
        Row("100×: warm load /mapa", warm["product"], warm["naive"], "s", "≤ 4 s and ≤ ½ naive",
            vs_naive(warm["product"], warm["naive"], 4)),
        Row("100×: first visit after an import", fv["product"], fv["naive"], "s", "≤ 6 s and ≤ ½ naive",
            vs_naive(fv["product"], fv["naive"], 6)),
        Row("100×: filter change" + (f" [map kept {kept}/{runs}]" if kept else ""), fc["product"], fc["naive"], "s",
            "≤ 1 s and ≤ ½ naive", vs_naive(fc["product"], fc["naive"], 1)),
        Row(f"100×: sector page ({lot})", sector["product"], sector["naive"], "s", "≤ 4 s and ≤ ½ naive",
            vs_naive(sector["product"], sector["naive"], 4)),
        Row("100×: the same sector page without its map (document blank)", sector_bare["product"],
            sector_bare["naive"], "s", "—", None),
        Row("the floor: a bare Streamlit page (a title only, bench/floor_app.py)", bare_page, None, "s", "—", None),
        Row("100×: sector page − the bare page (what the page adds, paired)", sector_own["product"],
            sector_own["naive"], "s", "—", None),
        Row("100×: server RSS after warm-up", mem["product"]["warm"], mem["naive"]["warm"], "MB", "—", None),
        Row(f"100×: RSS per additional visitor ({visitors} open)", per_visitor["product"], per_visitor["naive"],
            "MB", "≤ 20 MB", check(per_visitor["product"], 20)),
        Row(f"100×: RSS after they left (TTL {ttl} s + 20 s) − warm-up", after["product"], after["naive"], "MB",
            "≤ 20 MB", check(after["product"], 20)),
    ]
    for k in (3, 10):
        ratio = {a: None if crowd[(k, a)] is None or not alone[a] else crowd[(k, a)] / alone[a] for a in APPS}
        rows.append(Row(f"100×: {k} visitors at once, longest wait ÷ one alone", ratio["product"], ratio["naive"],
                        "×", "≤ 2", check(ratio["product"], 2) if crowd[(k, "product")] is not None else False))
    for k in (3, 10):
        floor_ratio = None if crowd[(k, "floor")] is None or not alone["floor"] else crowd[(k, "floor")] / alone["floor"]
        rows.append(Row(f"100×: {k} visitors at once on /capas (no map), same ratio: the browsers' floor", floor_ratio,
                        None, "×", "—", None))
    rows += [
        Row("100×: territories payload in the map", payload["product"] / 1024, payload["naive"] / 1024, "KB",
            f"floor {floor / 1024:.0f} KB", None),
        Row("100×: territories payload ÷ geometry floor", payload["product"] / floor, payload["naive"] / floor, "×",
            "≤ 1.3", check(payload["product"] / floor if payload["product"] else None, 1.3)),
        Row("100×: websocket bytes of one /mapa load", payload["product_ws"] / 1024, payload["naive_ws"] / 1024,
            "KB", "—", None),
    ]
    return rows


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Product vs naive app in headless Chromium (issue 15).")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (medians); at least 5 for a result")
    parser.add_argument("--quick", action="store_true", help="2 runs, shipped data only: a check of the harness")
    parser.add_argument("--visitors", type=int, default=5, help="additional sessions for the memory figure")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.add_argument("--timeout", type=float, default=LOAD_TIMEOUT_S,
                        help="seconds after which a page that has not loaded counts as a timeout")
    parser.add_argument("--keep", type=Path, help="keep the 100x map scripts of both apps in this folder")
    parser.add_argument("--lean", action="store_true",
                        help="simultaneous visitors and memory on the product only (saves the naive app's slowest part)")
    parser.add_argument("--apptest-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.apptest_child:
        app, query, runs = args.apptest_child
        _apptest_child(app, json.loads(query), int(runs))
        return 0
    runs = 2 if args.quick else args.runs
    TIMEOUT["s"] = args.timeout
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        KEEP["dir"] = args.keep
    if not Path(CHROMIUM).exists():
        print(f"No se encontró chromium en {CHROMIUM} (make browser).", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    started = time.time()
    load_before = os.getloadavg()[1]
    work = Path(tempfile.mkdtemp(prefix="sit-bench-"))
    log = lambda msg: print(f"[{time.time() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    commit = git_commit()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            rows = shipped_phase(browser, work, runs, log)
            print(table(rows), file=sys.stderr, flush=True)  # in case the 100x phase does not finish
            if not args.quick:
                rows += big_phase(browser, work, runs, args.visitors, log, lean=args.lean)
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = (f"Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, medians of {runs} runs, "
              + ("shipped data only (--quick), " if args.quick else
                 f"{args.visitors} additional visitors for memory{' (product only: --lean)' if args.lean else ''}, ")
              + f"{os.cpu_count()} CPUs, {time.time() - started:.0f} s in all, load average (5 min) "
              f"{load_before:.1f} at the start and {os.getloadavg()[1]:.1f} at the end.")
    text = header + "\n\n" + table(rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
