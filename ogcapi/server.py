"""Run pygeoapi over the store (``python cli.py ogcapi`` / ``make ogcapi``).

pygeoapi reads its configuration and OpenAPI document from the files named by
``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` when its Flask application is
imported; :func:`prepare` writes both (from :func:`ogcapi.config.build_config`)
into a private temporary folder and sets the variables, :func:`serve` then runs
the application with Werkzeug's threaded server. The collections are those of the
store when the server starts; restart it after importing a layer.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import yaml

from layers._errors import SitError
from ogcapi.config import build_config

__all__ = ["prepare", "serve"]


def prepare(host: str, port: int, folder: Path | None = None) -> Path:
    """Write ``pygeoapi.yml`` and ``openapi.yml`` for a server at ``host:port``; returns their folder."""
    from pygeoapi.openapi import get_oas

    folder = Path(folder or tempfile.mkdtemp(prefix="sit-ogcapi-"))
    config = build_config(host, port)
    config_path, openapi_path = folder / "pygeoapi.yml", folder / "openapi.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    openapi_path.write_text(yaml.safe_dump(get_oas(config), allow_unicode=True, sort_keys=False), encoding="utf-8")
    os.environ["PYGEOAPI_CONFIG"] = str(config_path)
    os.environ["PYGEOAPI_OPENAPI"] = str(openapi_path)
    return folder


def check_port(host: str, port: int) -> None:
    """Refuse a port that another program holds.

    Raises
    ------
    layers._errors.SitError
        Code ``port_in_use`` with ``host`` and ``port``.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SitError(f"No se puede escuchar en {host}:{port} ({exc.strerror or exc}).",
                           code="port_in_use", host=host, port=port) from exc


def serve(host: str = "127.0.0.1", port: int = 5000) -> None:
    """Serve the store's layers as OGC API – Features at ``http://host:port`` until interrupted.

    Raises
    ------
    layers._errors.SitError
        Code ``port_in_use`` when the port is taken.
    """
    check_port(host, port)
    with tempfile.TemporaryDirectory(prefix="sit-ogcapi-") as folder:
        prepare(host, port, Path(folder))
        from pygeoapi.flask_app import APP  # reads the files written above
        from werkzeug.serving import run_simple

        print(f"OGC API – Features en http://{host}:{port}/ (Ctrl+C para detener)", flush=True)
        run_simple(host, port, APP, threaded=True, use_reloader=False)
