"""Run pygeoapi over the store (``python cli.py ogcapi`` / ``make ogcapi``).

pygeoapi reads its configuration and OpenAPI document from the files named by
``PYGEOAPI_CONFIG`` and ``PYGEOAPI_OPENAPI`` when its Flask application is
imported; :func:`prepare` writes both (from :func:`ogcapi.config.build_config`)
into a private temporary folder and sets the variables, :func:`serve` then runs
the application with Werkzeug's threaded server. :func:`install` adds what
:mod:`ogcapi.live` provides: the collections follow the store while the server
runs (a layer imported, replaced or removed shows at the next request, no restart),
unknown query parameters of an items request are answered with 400, and
pygeoapi's warning for a request without ``offset`` is not logged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import yaml

from layers._errors import SitError
from ogcapi.config import build_config

__all__ = ["check_port", "install", "prepare", "serve"]


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


def install(app: Any, api: Any) -> None:
    """Hook :mod:`ogcapi.live` into pygeoapi's Flask application ``app`` and its API object ``api``.

    Before every request the collections are brought up to date with the store;
    an items request with an unknown query parameter is answered with 400 and an
    OGC exception (``InvalidParameterValue``) naming it.
    """
    from flask import Response, request

    from ogcapi.live import LiveCollections, OffsetNoiseFilter, unknown_parameters

    live = LiveCollections(api)
    logging.getLogger("pygeoapi.api.itemtypes").addFilter(OffsetNoiseFilter())

    @app.before_request
    def _follow_the_store() -> Response | None:
        live.refresh()
        unknown = unknown_parameters(request.path, request.args.keys(), api.config["resources"])
        if not unknown:
            return None
        body = {"code": "InvalidParameterValue", "type": "InvalidParameterValue",
                "description": f"Unknown query parameter(s): {', '.join(unknown)}"}
        return Response(json.dumps(body), status=400, mimetype="application/json")


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
        from pygeoapi.flask_app import APP, api_  # reads the files written above
        from werkzeug.serving import run_simple

        install(APP, api_)

        print(f"OGC API – Features en http://{host}:{port}/ (Ctrl+C para detener)", flush=True)
        run_simple(host, port, APP, threaded=True, use_reloader=False)
