"""Two commits of the product side by side: the 100× warm load of ``/mapa`` (or of the sector page), paired.

``make bench`` compares the product with the naive app; when a figure moves between two of its
runs, the machine may have changed as much as the code (another day, other work running). This
script answers "did this commit make the warm load slower?" in one run: it builds the 100× store
once (the shipped data and :mod:`bench.synthetic`, imported with ``cli.py`` as ``make bench``
does), starts each checkout's server on its own copy of the store the way ``make run`` does
(``python -m views.launch run app.py``), warms both, then loads ``/mapa`` of the synthetic layer
(``--page sector``: the sector page of the lot ``make bench`` times, :func:`bench.bench_app.busiest_lot`)
in a new browser session, alternating which commit goes first, with
:func:`bench.bench_app.paired_loads` and the same condition of a loaded page as ``make bench``.

Usage::

    git worktree add --detach /tmp/before <commit>
    mkdir -p /tmp/before/static && cp -r static/vendor /tmp/before/static/
    .venv/bin/python bench/bench_commits.py /tmp/before . --runs 9 [--page sector]

Prints every run and the medians side by side, seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench import bench_app, synthetic  # noqa: E402

#: What a loaded page is (as in ``make bench``'s 100× phase): ``/mapa``, and the sector page (no table).
MAP_COND = {"map": True, "minFeatures": 100, "tables": 1}
SECTOR_COND = {"map": True, "minFeatures": 1}


class Checkout:
    """A product server of one checkout (the attributes :func:`bench.bench_app.paired_loads` reads)."""

    def __init__(self, root: Path, data_dir: Path, timeout_s: float = 180.0) -> None:
        if not (root / "static" / "vendor").is_dir():
            raise SystemExit(f"{root}: falta static/vendor (cópielo desde este proyecto)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "SIT_DATA_DIR": str(data_dir), "PYTHONPATH": str(root),
               "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "views.launch", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.enableStaticServing", "true",
             "--server.fileWatcherType", "none"],  # as configured since 2026-12-02; older checkouts watched
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base_url + "/_stcore/health", timeout=2)
                return
            except OSError:
                time.sleep(1)
        self.stop()
        raise SystemExit(f"{root}: el servidor no respondió en {timeout_s:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="checkout of the earlier commit")
    parser.add_argument("after", type=Path, help="checkout of the later commit")
    parser.add_argument("--runs", type=int, default=9, help="paired runs (medians)")
    parser.add_argument("--page", choices=("mapa", "sector"), default="mapa", help="page to load (default: mapa)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="sit-bench-commits-"))
    servers: dict = {}
    try:
        store = work / "store"
        store.mkdir()
        bench_app.cli(store, "build")
        syn = synthetic.generate(work / "synthetic")
        territory_cmd, sites_cmd = synthetic.import_commands(sys.executable, syn)
        bench_app.cli(store, *territory_cmd[2:])
        bench_app.cli(store, *sites_cmd[2:])
        print(f"100×: {syn.n_territories} territories, {syn.n_sites} sites", flush=True)
        # paired_loads names its two sides after bench_app.APPS: "product" is the later commit.
        for app, root in (("product", args.after), ("naive", args.before)):
            bench_app.copy_store(store, work / app)
            servers[app] = Checkout(root.resolve(), work / app)
        query = {"capa": synthetic.TERRITORY_LAYER, "ubicaciones": synthetic.SITES_LAYER}
        cond = MAP_COND
        if args.page == "sector":
            query, cond = {**query, "territorio": bench_app.busiest_lot(store)}, SECTOR_COND
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for app, server in servers.items():
                seconds, _ = bench_app.load(browser, bench_app.url(server, args.page, query), cond)
                print(f"warm-up {app}: {bench_app.fmt_s(seconds)}", flush=True)
            out = bench_app.paired_loads(browser, servers, {args.page: (args.page, query)}, args.runs,
                                         {args.page: cond}, lambda line: print(line, flush=True))
            browser.close()
        before, after = out["naive"][args.page], out["product"][args.page]
        print(f"\n100× warm load /{args.page}?{urlencode(query)}, medians of {args.runs} paired runs (s)")
        print(f"  before {args.before}: {bench_app.fmt_s(bench_app.med(before))}")
        print(f"  after  {args.after}: {bench_app.fmt_s(bench_app.med(after))}")
        paired = [a - b for a, b in zip(after, before) if a is not None and b is not None]
        if paired:
            print(f"  after − before, median of the pairs: {statistics.median(paired):+.2f}")
        return 0
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
