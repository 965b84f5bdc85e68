"""Fixtures for browser tests: a real ``streamlit run`` server and an offline Chromium page.

``streamlit_server(app_path, query=None, env=None)``
    Starts (once per app and environment, for the whole session) ``streamlit run``
    on a free loopback port, waits for ``/_stcore/health``, returns the page URL.
``browser_page``
    A :class:`BrowserProbe`: a fresh Playwright page in Debian's chromium (no
    ``playwright install``) whose every request to a non-local address is aborted
    and recorded, with console errors, page errors and local HTTP failures
    collected, plus helpers to find and measure the Leaflet map in the
    streamlit-folium iframe.

Browser tests are skipped when ``/usr/bin/chromium`` (or ``SIT_CHROMIUM``) is absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (the session browser lives there)

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
NON_LOCAL_WS = re.compile(r"^wss?://(?!(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/)")
SERVER_START_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    """A running ``streamlit run`` process."""

    app_path: Path
    port: int
    process: subprocess.Popen
    log_path: Path
    workdir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, query: dict | str | None = None) -> str:
        """Page URL, with an optional query string (dict or already encoded)."""
        if not query:
            return f"{self.base_url}/"
        qs = query if isinstance(query, str) else urlencode(query, doseq=True)
        return f"{self.base_url}/?{qs.lstrip('?')}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server's process group (only the group this fixture started)
        and remove its working folder (shim, log)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _script_for(app_path: Path, workdir: Path) -> Path:
    """The main script to run so that Streamlit serves the project's ``static/``.

    Streamlit serves ``<folder of the main script>/static``. Apps in the project
    root (``app.py``) run as they are; an app elsewhere (a test probe) runs through
    a shim placed next to a symlink to the project's ``static`` folder.
    """
    project_static = PROJECT_DIR / "static"
    app_static = app_path.parent / "static"
    if app_static.exists() and app_static.resolve() == project_static.resolve():
        return app_path
    (workdir / "static").symlink_to(project_static, target_is_directory=True)
    shim = workdir / app_path.name
    shim.write_text(
        "import runpy\n"
        f"runpy.run_path({str(app_path)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    return shim


def _wait_healthy(server: StreamlitServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    health = f"{server.base_url}/_stcore/health"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with {server.process.returncode}:\n{server.log()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(health, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{server.log()[-4000:]}")


def start_streamlit(app_path: str | Path, env: dict[str, str] | None = None,
                    timeout: float = SERVER_START_TIMEOUT_S, frozen: bool | None = None) -> StreamlitServer:
    """Start ``streamlit run app_path`` on a free loopback port and wait until healthy.

    The process runs from the project folder (so ``.streamlit/config.toml`` applies, its
    unwatched sources included, as with ``make run``),
    with ``PYTHONPATH`` pointing at the project and the caller's environment
    (``SIT_DATA_DIR`` included) plus ``env`` overrides. With ``frozen`` (by default for
    the product's ``app.py``, as ``make run`` starts it) the server is started through
    :mod:`views.launch`, which freezes the code first; otherwise with ``python -m streamlit``.
    """
    app_path = Path(app_path).resolve()
    if frozen is None:
        frozen = app_path == (PROJECT_DIR / "app.py").resolve()
    if not app_path.is_file():
        raise FileNotFoundError(app_path)
    workdir = Path(tempfile.mkdtemp(prefix="sit-streamlit-"))
    script = _script_for(app_path, workdir)
    port = free_port()
    proc_env = {**os.environ, **(env or {})}
    proc_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_DIR), proc_env.get("PYTHONPATH", "")) if p
    )
    proc_env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    cmd = [
        sys.executable, "-m", "views.launch" if frozen else "streamlit", "run", str(script),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.enableStaticServing", "true",
        "--browser.gatherUsageStats", "false",
        # Streamlit's own upload limit is the product's, as `make run` passes it.
        "--server.maxUploadSize", str(_upload_limit_mb(proc_env)),
    ]
    log_path = workdir / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, cwd=PROJECT_DIR, env=proc_env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = StreamlitServer(app_path, port, process, log_path, workdir)
    try:
        _wait_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def streamlit_servers():
    """Session registry of running servers, keyed by (app path, env overrides)."""
    servers: dict[tuple, StreamlitServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def streamlit_server(streamlit_servers):
    """Factory: ``streamlit_server(app_path, query=None, env=None) -> url``.

    One server per (app, env) for the whole session; the query string (client-side
    state such as filters) only changes the returned URL. The :class:`StreamlitServer`
    is available as ``streamlit_server.get(app_path, env)`` for logs or the port.
    """

    def get(app_path: str | Path, env: dict[str, str] | None = None) -> StreamlitServer:
        key = (str(Path(app_path).resolve()), tuple(sorted((env or {}).items())))
        server = streamlit_servers.get(key)
        if server is None or server.process.poll() is not None:
            server = start_streamlit(app_path, env=env)
            streamlit_servers[key] = server
        return server

    def factory(app_path: str | Path, query: dict | str | None = None,
                env: dict[str, str] | None = None) -> str:
        return get(app_path, env).url(query)

    factory.get = get
    return factory


def _upload_limit_mb(env: dict[str, str]) -> int:
    """``server.maxUploadSize`` for a server started with ``env`` (see :func:`layers.settings.streamlit_upload_mb`)."""
    from layers import settings

    saved = os.environ.get("SIT_UPLOAD_LIMIT_MB")
    try:
        if "SIT_UPLOAD_LIMIT_MB" in env:
            os.environ["SIT_UPLOAD_LIMIT_MB"] = env["SIT_UPLOAD_LIMIT_MB"]
        return settings.streamlit_upload_mb()
    finally:
        if saved is None:
            os.environ.pop("SIT_UPLOAD_LIMIT_MB", None)
        else:
            os.environ["SIT_UPLOAD_LIMIT_MB"] = saved


# --------------------------------------------------------------------------- AppTest


def app_test(page: str | None = None, query: dict[str, str] | None = None, timeout: float = 90):
    """An :class:`~streamlit.testing.v1.AppTest` of ``app.py`` opened on ``page``, not yet run.

    ``page`` is a script path relative to the project (``"pages/sector.py"``); the
    first run then opens it by its address, as a shared link does (its ``url_path``
    is its file name), and runs it inside ``app.py``'s navigation.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at


@dataclass(frozen=True)
class MapFrame:
    """A map frame of a page run by AppTest: its address or its document, and its accessible name."""

    src: str
    srcdoc: str
    alt: str


class _MountedFrames(HTMLParser):
    """``div.sit-mapa`` elements of :func:`views.mapframe.mount` (address and name attributes)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.frames: list[MapFrame] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "sit-mapa" in (attrs.get("class") or "").split():
            self.frames.append(MapFrame(attrs.get("data-src") or "", "", json.loads(attrs.get("data-title") or '""')))


class _SelectionPointers(HTMLParser):
    """``div.sit-mapa-sel`` elements of :func:`views.restyle.pointer`: (frame address, selection address)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pointers: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "sit-mapa-sel" in (attrs.get("class") or "").split():
            self.pointers.append((attrs.get("data-frame") or "", attrs.get("data-src") or ""))


def map_selection(at) -> dict | None:
    """The selection document the page pointed its map frame at (:mod:`views.restyle`), or ``None``.

    A plan map keeps its document while the layer, the sites and the store stay the same,
    and draws each later selection from a published JSON document; ``None`` while the
    frame shows the selection its document opened with. The pointer must name the
    frame the page shows.
    """
    from views import mapframe

    found = []
    for element in at.get("html"):
        parser = _SelectionPointers()
        parser.feed(element.proto.body)
        parser.close()
        found.extend(parser.pointers)
    if not found:
        return None
    ((frame_src, src),) = found
    assert frame_src in [f.src for f in map_frames(at)], f"the selection points at no frame of the page: {frame_src!r}"
    path = mapframe.published_path(src)
    assert path is not None and path.suffix == ".json", src
    return json.loads(path.read_text(encoding="utf-8"))


def map_frames(at) -> list[MapFrame]:
    """The map frames of a page, in page order: frames the page mounts and ``st.iframe`` frames.

    The map pages show a published document in a frame they make with ``st.html``
    (:func:`views.mapframe.mount`) and a document in an ``st.iframe`` ``srcdoc`` frame
    (the fallback); :func:`frame_document` reads either.
    """
    frames: list[MapFrame] = []
    for element in at.get("iframe"):
        frames.append(MapFrame(element.proto.src, element.proto.srcdoc, element.proto.alt))
    for element in at.get("html"):
        parser = _MountedFrames()
        parser.feed(element.proto.body)
        parser.close()
        frames.extend(parser.frames)
    return frames


def frame_document(frame: MapFrame) -> str:
    """The HTML document a map frame shows (one of :func:`map_frames`).

    The map pages give their frame the address of the published document
    (:meth:`views.mapframe.DocumentCache.frame`); read it from that file. A ``srcdoc``
    frame (the fallback) carries the document itself.
    """
    from views import mapframe

    if frame.srcdoc:
        return frame.srcdoc
    path = mapframe.published_path(frame.src)
    assert path is not None, f"the frame shows neither a published map nor a document: {frame.src!r}"
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- browser


def is_local_url(url: str) -> bool:
    """True for loopback http(s)/ws(s) URLs and for in-browser schemes (data:, blob:, about:)."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about", "chrome-error"}:
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@dataclass
class BrowserProbe:
    """A page plus everything recorded while it ran."""

    page: object
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    local_requests: list[str] = field(default_factory=list)

    def goto(self, url: str, timeout_ms: int = 60_000):
        return self.page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)

    def folium_frames(self) -> list:
        """Frames of the maps: streamlit-folium components and the ``st.iframe`` frames of published
        documents (``/app/static/mapas/``) or of ``srcdoc`` documents."""
        return [f for f in self.page.frames
                if "streamlit_folium" in f.url or "/app/static/mapas/" in f.url or f.url == "about:srcdoc"]

    def wait_for_map(self, timeout_s: float = 60.0, selector: str = ".leaflet-container"):
        """Wait until a streamlit-folium frame holds a Leaflet map; return that frame."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for frame in self.folium_frames():
                try:
                    if frame.locator(selector).count() > 0:
                        return frame
                except Exception:  # frame detached while re-rendering; look again
                    continue
            self.page.wait_for_timeout(250)
        raise AssertionError(
            f"no Leaflet map within {timeout_s:.0f} s; frames: {[f.url for f in self.page.frames]}; "
            f"blocked: {self.blocked}; console errors: {self.console_errors}"
        )

    def wait_for_features(self, frame, minimum: int = 1, timeout_s: float = 30.0) -> dict:
        """Wait until the map draws at least ``minimum`` features; return the counts."""
        deadline = time.monotonic() + timeout_s
        counts = leaflet_counts(frame)
        while counts["features"] < minimum and time.monotonic() < deadline:
            self.page.wait_for_timeout(250)
            counts = leaflet_counts(frame)
        return counts

    def settle(self, ms: int = 1500) -> None:
        """Let late requests and console messages arrive before asserting on them."""
        try:
            self.page.wait_for_load_state("networkidle", timeout=ms * 4)
        except Exception:
            pass
        self.page.wait_for_timeout(ms)


_COUNT_JS = """
() => {
  const q = (s) => document.querySelectorAll(s).length;
  return {
    leaflet_version: (window.L && window.L.version) || null,
    marker_cluster: !!(window.L && window.L.MarkerClusterGroup),
    paths: q('path.leaflet-interactive'),
    clusters: q('.marker-cluster'),
    markers: q('.leaflet-marker-icon:not(.marker-cluster)'),
    tiles: q('img.leaflet-tile'),
    layer_controls: q('.leaflet-control-layers'),
    features: q('path.leaflet-interactive') + q('.leaflet-marker-icon'),
  };
}
"""


def leaflet_counts(frame) -> dict:
    """What a Leaflet map in ``frame`` has drawn (paths, cluster icons, markers, tiles)."""
    return frame.evaluate(_COUNT_JS)


@pytest.fixture
def browser_page(browser):
    """A :class:`BrowserProbe` on a fresh context that only reaches loopback addresses."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="es-CL",
        service_workers="block",
    )
    page = context.new_page()
    probe = BrowserProbe(page)

    def route(route_, request):
        if is_local_url(request.url):
            probe.local_requests.append(request.url)
            route_.continue_()
        else:
            probe.blocked.append(request.url)
            route_.abort("blockedbyclient")

    context.route("**/*", route)

    def block_ws(ws):
        probe.blocked.append(ws.url)
        ws.close()

    # Only non-loopback WebSockets are intercepted; Streamlit's own goes through untouched.
    context.route_web_socket(NON_LOCAL_WS, block_ws)

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            probe.console_errors.append(f"{msg.text} @ {loc.get('url', '')}")

    def on_response(response):
        if response.status >= 400 and is_local_url(response.url):
            probe.http_errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: probe.page_errors.append(str(exc)))
    page.on("response", on_response)
    page.on(
        "requestfailed",
        lambda req: probe.http_errors.append(f"failed {req.url}: {req.failure}")
        if is_local_url(req.url) else None,
    )
    yield probe
    context.close()


PASSWORD = "una clave bastante larga"


@pytest.fixture
def people(fresh_store):
    """Accounts of every role in a private store: vecina (junta), ana and beto (planners), admin; password :data:`PASSWORD`."""
    from layers import auth
    from layers.access import accounts, roles

    auth.reset_failures()
    for name, role in (("vecina", roles.JUNTA), ("ana", roles.PLANIFICADOR), ("beto", roles.PLANIFICADOR),
                       ("admin", roles.ADMINISTRADOR)):
        accounts.create(name, role, PASSWORD, autor="test")
    yield fresh_store
    auth.reset_failures()


def store_with_accounts(data_dir: Path, tmp_path_factory, folder_name: str, people) -> Path:
    """A private ``SIT_DATA_DIR`` holding a copy of the session store and the accounts ``(name, role)``.

    For browser tests whose app server runs on its own folder; password :data:`PASSWORD`.
    """
    from layers import settings
    from layers.access import accounts

    folder = tmp_path_factory.mktemp(folder_name)
    shutil.copyfile(data_dir / settings.STORE_FILENAME, folder / settings.STORE_FILENAME)
    previous = os.environ.get("SIT_DATA_DIR")
    os.environ["SIT_DATA_DIR"] = str(folder)
    try:
        for name, role in people:
            accounts.create(name, role, PASSWORD, autor="test")
    finally:
        os.environ["SIT_DATA_DIR"] = previous or ""
    return folder

