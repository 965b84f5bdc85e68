"""What the server makes 1, 3 and 10 simultaneous visitors wait, with no browser on the machine.

``make bench`` times visitors in headless Chromium on the server's own two cores, so its crowd
figures mostly measure the browsers (10 of them booting Streamlit's frontend at once). This
harness replays, for each visitor, the server's side of a page view, as a browser on another
device would ask for it, and times it from the client:

- the HTTP requests one real Chromium visit made to the app (recorded once per app with
  Playwright: the page, Streamlit's code chunks, fonts, the map component's files), replayed
  over six kept-alive connections, as a browser does; a *returning* visitor, whose browser
  keeps Streamlit's files (they are served as immutable), skips them;
- Streamlit's websocket: the ``rerun_script`` message a new page sends (the page's address
  and query), then every message up to ``script_finished``;
- the product's map document, fetched from the address the script's messages give
  (``data-src`` of :func:`views.mapframe.mount`); the naive app sends its map inside the messages.

A visitor's wait runs from its first request to the end of the last of those. The figures
are medians of ``--runs`` for one visitor alone and the longest wait of 3 and 10 visitors
started at the same moment, for the product and the naive app (:mod:`bench.naive_app`) on
the same store: the 100× municipality of :mod:`bench.synthetic` (or ``--data-dir``).

Run: ``.venv/bin/python bench/bench_server_visits.py [--runs N] [--data-dir DIR]``.
"""

from __future__ import annotations

import argparse
import html
import http.client
import queue
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import bench_app, synthetic  # noqa: E402

#: Connections a browser opens to one host (HTTP/1.1).
CONNECTIONS = 6
#: The page every visitor opens.
PAGE = "mapa"
#: Crowds timed after one visitor alone.
CROWDS = (3, 10)
_DATA_SRC = re.compile(rb'data-src="([^"]+)"')


@dataclass
class App:
    """One running app: its address and the same-origin requests of one real page view."""

    name: str
    host: str
    port: int
    requests: list[str]


def record_requests(browser, page_url: str, cond: dict) -> list[str]:
    """Paths (with query) of the same-origin HTTP requests one Chromium visit to ``page_url`` made.

    The websocket and the product's published map documents (``/app/static/mapas/``, which a
    visitor fetches from the address the script gives) are left out.

    Parameters
    ----------
    browser : playwright.sync_api.Browser
        Debian's Chromium (:mod:`bench.bench_app`).
    page_url : str
        Address of the page.
    cond : dict
        Load condition of :func:`bench.bench_app.load`.

    Returns
    -------
    list of str
        Root-relative paths in the order they were asked for.
    """
    origin = urlsplit(page_url)
    seen: list[str] = []
    visit = bench_app.open_visit(browser, cond)
    visit.page.on("request", lambda r: seen.append(r.url))
    bench_app.start_load(visit, page_url)
    bench_app.wait_all([visit])
    visit.close()
    paths = []
    for address in seen:
        part = urlsplit(address)
        if part.netloc != origin.netloc or part.path.endswith("/_stcore/stream") or "/app/static/mapas/" in part.path:
            continue
        paths.append(part.path + (f"?{part.query}" if part.query else ""))
    return paths


def _fetch_all(app: App, paths: list[str]) -> None:
    """Every path over :data:`CONNECTIONS` kept-alive connections, bodies read to the end."""
    todo: queue.Queue = queue.Queue()
    for path in paths:
        todo.put(path)

    def worker() -> None:
        conn = http.client.HTTPConnection(app.host, app.port, timeout=300)
        try:
            while True:
                try:
                    path = todo.get_nowait()
                except queue.Empty:
                    return
                conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate"})
                conn.getresponse().read()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(min(CONNECTIONS, len(paths)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _run_script(app: App, query: dict) -> str | None:
    """A new session's first run over the websocket; the map document's address, if the page gave one."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    address = None
    origin = f"http://{app.host}:{app.port}"
    with connect(f"ws://{app.host}:{app.port}/_stcore/stream", subprotocols=["streamlit"], origin=origin,
                 max_size=None, open_timeout=60) as ws:
        message = BackMsg()
        message.rerun_script.query_string = urlencode(query)
        message.rerun_script.page_name = PAGE
        ws.send(message.SerializeToString())
        while True:
            raw = ws.recv(timeout=300)
            found = _DATA_SRC.search(raw)
            if found:
                address = html.unescape(found.group(1).decode())
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            if forward.WhichOneof("type") == "script_finished":
                return address


def visit(app: App, query: dict, returning: bool) -> float:
    """Seconds the server makes one visitor wait for ``/mapa`` (module docstring).

    Parameters
    ----------
    app : App
        The app and its recorded requests.
    query : dict
        The page's query parameters.
    returning : bool
        Skip the recorded requests (a browser that keeps Streamlit's files).

    Returns
    -------
    float
        Wall-clock seconds from the first request to the end of the last.
    """
    start = time.perf_counter()
    files = None if returning else threading.Thread(target=_fetch_all, args=(app, app.requests))
    if files:
        files.start()
    document = _run_script(app, query)
    if document:
        _fetch_all(app, [document])
    if files:
        files.join()
    return time.perf_counter() - start


def crowd(app: App, query: dict, k: int, returning: bool) -> list[float]:
    """Waits of ``k`` visitors started together (:func:`visit`), in seconds."""
    waits: list[float] = [float("nan")] * k
    barrier = threading.Barrier(k)

    def one(i: int) -> None:
        barrier.wait()
        waits[i] = visit(app, query, returning)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(k)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return waits


def measure(apps: dict[str, App], servers: dict, query: dict, runs: int, log) -> list[tuple]:
    """Rows ``(figure, product, naive)`` of one visitor alone and of the crowds, first and returning visitors."""
    rows = []
    for returning in (False, True):
        kind = "returning visitor (Streamlit's files kept)" if returning else "first visit (every file)"
        alone = {}
        for name, app in apps.items():
            bench_app.quiesce(servers)
            times = []
            for _ in range(runs):
                times.append(visit(app, query, returning))
            alone[name] = statistics.median(times)
            log(f"  {kind}, {name} alone: " + ", ".join(f"{t:.2f}" for t in times))
        rows.append((f"{kind}: one alone (s)", alone["product"], alone["naive"]))
        for k in CROWDS:
            longest = {}
            for name, app in apps.items():
                bench_app.quiesce(servers)
                waits = crowd(app, query, k, returning)
                longest[name] = max(waits)
                log(f"  {kind}, {name} {k} at once: " + ", ".join(f"{t:.2f}" for t in waits))
            rows.append((f"{kind}: {k} at once, longest wait (s)", longest["product"], longest["naive"]))
            rows.append((f"{kind}: {k} at once, longest ÷ one alone (×)",
                         longest["product"] / alone["product"], longest["naive"] / alone["naive"]))
    return rows


def _stores(work: Path, data_dir: Path | None, log) -> tuple[Path, Path]:
    """Product and naive data folders holding the same 100× store."""
    product_dir, naive_dir = work / "product", work / "naive"
    product_dir.mkdir(parents=True)
    if data_dir:
        bench_app.copy_store(data_dir, product_dir)
    else:
        log("building the 100× store (cli.py build, synthetic import)")
        bench_app.cli(product_dir, "build")
        syn = synthetic.generate(work / "synthetic")
        for command in synthetic.import_commands(sys.executable, syn):
            bench_app.cli(product_dir, *command[2:])
    bench_app.copy_store(product_dir, naive_dir)
    return product_dir, naive_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="visits alone per figure (median)")
    parser.add_argument("--data-dir", type=Path, help="a folder holding a 100× store (sit_vallenar.gpkg) to copy")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {text}", file=sys.stderr, flush=True)

    query = {"capa": synthetic.TERRITORY_LAYER, "ubicaciones": synthetic.SITES_LAYER}
    work = Path(tempfile.mkdtemp(prefix="sit-visits-"))
    try:
        product_dir, naive_dir = _stores(work, args.data_dir, log)
        servers = bench_app.start_apps(product_dir, naive_dir)
        try:
            apps = {}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=bench_app.CHROMIUM, args=bench_app.CHROMIUM_ARGS)
                for name, server in servers.items():
                    page_url = bench_app.url(server, PAGE, query)
                    bench_app.load(browser, page_url, {"map": True, "minFeatures": 100})  # warm-up
                    part = urlsplit(server.base_url)
                    apps[name] = App(name, part.hostname, part.port, record_requests(
                        browser, page_url, {"map": True, "minFeatures": 100}))
                    log(f"{name}: {len(apps[name].requests)} requests recorded")
                browser.close()
            rows = measure(apps, servers, query, args.runs, log)
        finally:
            bench_app.stop_apps(servers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n100× /mapa, server side only, medians of {args.runs} visits alone, {bench_app.git_commit()}\n")
    print("| figure | product | naive | ratio |\n|---|---|---|---|")
    for figure, product, naive in rows:
        print(f"| {figure} | {product:.2f} | {naive:.2f} | {product / naive:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
