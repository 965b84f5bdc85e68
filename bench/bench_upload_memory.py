"""Server memory when an anonymous visitor pushes large files to Streamlit's upload endpoint.

Starts ``streamlit run app.py`` on a free loopback port (a private copy of the data
directory), opens a session as an anonymous visitor would (GET the page for the
XSRF cookie, open the websocket, ask for a run, read the session id), then PUTs
``--files`` files of ``--mb`` megabytes to ``/_stcore/upload_file/<session>/<id>``
without ever signing in. The resident memory (RSS, from
``/proc/<pid>/status``) of the streamlit process is read before, right after and
``--settle`` seconds after the uploads.

Each scenario runs on a fresh server:

``no-upload``
    The same anonymous session and waits, nothing pushed: how much RSS moves anyway.
``streamlit-default``
    ``--server.maxUploadSize 200`` (Streamlit's own default, the setting before this
    project set it): the files are accepted and kept in the server's memory.
``product-limit``
    ``--server.maxUploadSize`` = ``SIT_UPLOAD_LIMIT_MB`` rounded up (50 by default,
    what ``.streamlit/config.toml`` and ``make run`` set): the same files are refused
    with HTTP 413 before their bodies are read.
``within-limit``
    The product limit, with files just under it: what a visitor can still push
    (bounded per file; Streamlit keeps a session's files until the session ends).

Only loopback traffic; bounded in count and time. Usage::

    .venv/bin/python bench/bench_upload_memory.py [--mb 60] [--files 2] [--settle 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from websockets.sync.client import connect

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from layers import settings  # noqa: E402  (after the path is set)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB (MiB), from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def settled_rss_mb(pid: int, timeout: float = 90.0, tolerance_mb: float = 2.0) -> float:
    """RSS once it stops moving (three readings a second apart within ``tolerance_mb``), in MB."""
    readings = [rss_mb(pid)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        readings.append(rss_mb(pid))
        last = readings[-3:]
        if len(last) == 3 and max(last) - min(last) <= tolerance_mb:
            return last[-1]
    return readings[-1]


def start_server(data_dir: Path, max_upload_mb: int) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    log = data_dir / "streamlit.log"
    cmd = [
        sys.executable, "-m", "views.launch", "run", str(PROJECT / "app.py"),  # as `make run` starts it
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--server.fileWatcherType", "none", "--server.maxUploadSize", str(max_upload_mb),
    ]
    env = {**os.environ, "SIT_DATA_DIR": str(data_dir)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if requests.get(f"{base}/_stcore/health", timeout=2).ok:
                return proc, base, log
        except requests.RequestException:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in 90 s")


def xsrf_cookie(base: str) -> str:
    """The XSRF cookie the server gives any visitor (the health route sets it, as the page does)."""
    xsrf = requests.get(f"{base}/_stcore/health", timeout=30).cookies.get("_streamlit_xsrf", "")
    if not xsrf:
        raise RuntimeError("the server set no XSRF cookie")
    return xsrf


def open_stream(base: str, xsrf: str):
    """The websocket of an anonymous visitor (a live session; uploads need one)."""
    return connect(
        base.replace("http", "ws", 1) + "/_stcore/stream",
        subprotocols=["streamlit", xsrf],
        additional_headers={"Origin": base, "Cookie": f"_streamlit_xsrf={xsrf}"},
        max_size=None, open_timeout=30,
    )


def session_id(ws) -> str:
    """Ask for a run of the page and read the session id the server sends back."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_script_hash = ""
    ws.send(msg.SerializeToString())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv(timeout=30))
        if fwd.WhichOneof("type") == "new_session":
            return fwd.new_session.initialize.session_id
    raise RuntimeError("no session id from the server")


def push(base: str, session_id: str, xsrf: str, size_mb: float, n_files: int) -> list[int]:
    """PUT ``n_files`` files of ``size_mb`` MB to the upload endpoint; the HTTP statuses."""
    body = os.urandom(int(size_mb * 1024 * 1024))
    statuses = []
    for _ in range(n_files):
        url = f"{base}/_stcore/upload_file/{session_id}/{uuid.uuid4()}"
        resp = requests.put(
            url, files={"file": ("grande.geojson", body, "application/geo+json")},
            headers={"X-Xsrftoken": xsrf}, cookies={"_streamlit_xsrf": xsrf}, timeout=120,
        )
        statuses.append(resp.status_code)
    return statuses


def scenario(name: str, max_upload_mb: int, size_mb: float, n_files: int, settle: float, store: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="sit-bench-upload-") as tmp:
        data_dir = Path(tmp)
        shutil.copyfile(store, data_dir / settings.STORE_FILENAME)
        proc, base, _log = start_server(data_dir, max_upload_mb)
        try:
            xsrf = xsrf_cookie(base)
            with open_stream(base, xsrf) as ws:
                sid = session_id(ws)
                time.sleep(3.0)  # the first run of the page
                before = settled_rss_mb(proc.pid)
                statuses = push(base, sid, xsrf, size_mb, n_files)
                after = rss_mb(proc.pid)
                time.sleep(settle)
                settled = rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "escenario": name, "maxUploadSize_mb": max_upload_mb, "archivos": f"{n_files} x {size_mb:g} MB",
        "http": statuses, "rss_antes_mb": before, "rss_despues_mb": after, "rss_tras_espera_mb": settled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=60, help="size of each file, MB")
    parser.add_argument("--files", type=int, default=2, help="number of files")
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait before the last reading")
    args = parser.parse_args()

    limit = settings.streamlit_upload_mb()
    with tempfile.TemporaryDirectory(prefix="sit-bench-store-") as tmp:
        env = {**os.environ, "SIT_DATA_DIR": tmp}
        subprocess.run([sys.executable, str(PROJECT / "cli.py"), "build"], env=env, check=True, capture_output=True)
        store = Path(tmp) / settings.STORE_FILENAME
        rows = [
            scenario("no-upload", limit, 0, 0, args.settle, store),  # the same session, nothing pushed: the noise
            scenario("streamlit-default", 200, args.mb, args.files, args.settle, store),
            scenario("product-limit", limit, args.mb, args.files, args.settle, store),
            scenario("within-limit", limit, max(1.0, limit - 1), args.files, args.settle, store),
        ]
    header = f"{'escenario':<18} {'maxUpload':>9} {'archivos':>12} {'HTTP':>11} {'RSS antes':>10} {'después':>9} {'+espera':>9}"
    print(header)
    for r in rows:
        print(
            f"{r['escenario']:<18} {r['maxUploadSize_mb']:>7} MB {r['archivos']:>12} {','.join(map(str, r['http'])):>11} "
            f"{r['rss_antes_mb']:>7.0f} MB {r['rss_despues_mb']:>6.0f} MB {r['rss_tras_espera_mb']:>6.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
