"""A throw-away PostgreSQL + PostGIS server for the tests, and the ``backend`` fixtures.

:class:`Server` runs ``initdb`` and ``pg_ctl`` from the Debian packages
(``postgresql``, ``postgis``) in a temporary folder: data directory and unix
socket inside it, TCP on a free port of 127.0.0.1 only, ``trust`` authentication
(nobody else can reach it). PostgreSQL refuses to run as root, so when the tests
run as root the server runs as the unprivileged system user ``postgres`` (created
by the Debian package; ``sit-pg`` is created when it is missing) through
``runuser``.

Fixtures for the conftest files that run their tests on both backends:

- ``pg_server`` (session): the running server, stopped at the end of the session;
- ``pg_template`` (session): a database with the store built from ``data/``;
- ``backend``: ``"gpkg"`` or ``"postgis"`` (parametrised by :func:`parametrize_backends`);
- ``fresh_store``: the root fixture of the same name, or a private copy of the
  template database selected with ``SIT_DATABASE_URL`` (returns the URL).

When the binaries or PostGIS are missing, PostGIS tests skip with the reason
(``make test`` installs both).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Unprivileged users the server may run as when the tests run as root.
_USERS = ("postgres", "sit-pg")
#: Name of the database holding the store built once from data/.
TEMPLATE = "sit_plantilla"


def binaries() -> Path | None:
    """``bin`` folder of the newest installed PostgreSQL that has PostGIS, or None."""
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True):
        share = Path("/usr/share/postgresql") / bindir.parent.name / "extension" / "postgis.control"
        if (bindir / "initdb").exists() and share.exists():
            return bindir
    return None


def missing_reason() -> str | None:
    """Why no PostGIS server can be started here, or None when it can."""
    if binaries() is None:
        return "PostgreSQL con PostGIS no está instalado (make test instala los paquetes postgresql y postgis)"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> list[str]:
    """Command prefix that runs a program as an unprivileged user (empty when not root)."""
    if os.geteuid() != 0:
        return []
    for user in _USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return ["runuser", "-u", user, "--"]
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _USERS[1]], check=True)
    return ["runuser", "-u", _USERS[1], "--"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bindir: Path) -> list[Path]:
    """Stop and delete the servers of test sessions that died without stopping them (``owner.pid`` gone)."""
    reaped = []
    for folder in Path(tempfile.gettempdir()).glob("sit-pg-*"):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        if (folder / "datos" / "postmaster.pid").exists():
            subprocess.run([*_run_as(), str(bindir / "pg_ctl"), "-D", str(folder / "datos"), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        reaped.append(folder)
    return reaped


class Server:
    """A PostgreSQL server in a temporary folder; :meth:`url` names a database of it.

    The folder records the process that started it (``owner.pid``): a later
    :class:`Server` stops and deletes servers whose owner died without stopping them.
    """

    def __init__(self) -> None:
        bindir = binaries()
        if bindir is None:
            raise RuntimeError(missing_reason())
        self.bindir = bindir
        reap_orphans(bindir)
        self.folder = Path(tempfile.mkdtemp(prefix="sit-pg-"))
        (self.folder / "owner.pid").write_text(str(os.getpid()))
        self.data = self.folder / "datos"
        self.port = _free_port()
        self.prefix = _run_as()
        self._names = itertools.count()
        if self.prefix:
            user = self.prefix[2]
            shutil.chown(self.folder, user=user)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--locale=C.UTF-8", "--no-sync")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "servidor.log"), "-o", options, "-w", "start")

    def _pg(self, program: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / program), *args], check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (psycopg 3 driver)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run statements (CREATE / DROP DATABASE) on the maintenance database, in autocommit."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (with PostGIS), or a copy of ``template``; returns its URL."""
        name = f"sit_{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        if template:
            self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server immediately and delete its folder."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def dispose(url: str) -> None:
    """Close the pooled connections this process holds to ``url`` (before copying or dropping it)."""
    from layers import store

    backend = store._backends.pop(url, None)
    if backend is not None and hasattr(backend, "dispose"):
        backend.dispose()


# --- fixtures ---------------------------------------------------------------------------------


#: The session's server and whether its template is built, shared by the conftest files that import
#: these fixtures (each import is its own fixture definition to pytest), with a count of users.
_shared: dict[str, object] = {"server": None, "users": 0, "template": False}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """The throw-away server of the session (skips when PostgreSQL or PostGIS is missing)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    if _shared["server"] is None:
        _shared["server"] = Server()
    _shared["users"] = int(_shared["users"]) + 1
    try:
        yield _shared["server"]
    finally:
        _shared["users"] = int(_shared["users"]) - 1
        if not _shared["users"]:
            _shared["server"].stop()
            _shared.update(server=None, template=False)


@pytest.fixture(scope="session")
def pg_template(pg_server: Server, data_dir: Path) -> str:
    """Name of a database holding the store built from ``data/`` (copied by ``fresh_store``)."""
    from layers import store

    if not _shared["template"]:
        pg_server.admin(f'CREATE DATABASE "{TEMPLATE}"')
        url = pg_server.url(TEMPLATE)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SIT_DATABASE_URL", url)
            store.ensure_store()
            dispose(url)
        _shared["template"] = True
    return TEMPLATE


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``"gpkg"`` unless the test was parametrised with :func:`parametrize_backends`."""
    return getattr(request, "param", "gpkg")


@pytest.fixture
def fresh_store(backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A private store built from ``data/``: the GeoPackage copy of the root fixture, or a PostGIS database.

    Returns the GeoPackage's path, or the database URL for PostGIS.
    """
    if backend == "gpkg":
        monkeypatch.delenv("SIT_DATABASE_URL", raising=False)
        from layers import settings, store

        data_dir, private = request.getfixturevalue("data_dir"), request.getfixturevalue("isolated_data_dir")
        shutil.copyfile(data_dir / settings.STORE_FILENAME, private / settings.STORE_FILENAME)
        store.ensure_store()  # fingerprint matches: no rebuild
        yield private / settings.STORE_FILENAME
        return
    server: Server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    request.getfixturevalue("isolated_data_dir")
    url = server.create_database(template=template)
    monkeypatch.setenv("SIT_DATABASE_URL", url)
    from layers import store

    store.ensure_store()  # fingerprint matches: no rebuild
    yield url
    dispose(url)
    with contextlib.suppress(Exception):
        server.admin(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def parametrize_backends(metafunc: pytest.Metafunc, gpkg_only: tuple[str, ...] = ()) -> None:
    """Run every test of ``metafunc`` that uses ``fresh_store`` on both backends, but those of ``gpkg_only``."""
    if "fresh_store" in metafunc.fixturenames and metafunc.function.__name__ not in gpkg_only:
        metafunc.parametrize("backend", ["gpkg", "postgis"], indirect=True)
