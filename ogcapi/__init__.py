"""OGC API – Features over the store, served by pygeoapi (read-only), for QGIS and any OGC client.

Modules
-------
:mod:`ogcapi.provider`  a pygeoapi feature provider that reads the store (either backend);
:mod:`ogcapi.config`    the pygeoapi configuration, one collection per layer of the registry;
:mod:`ogcapi.server`    writes the configuration and its OpenAPI document, runs the server.

Start it with ``make ogcapi`` or ``python cli.py ogcapi [--port 5000]``; QGIS adds it
with *Capa → Añadir capa → Añadir capa WFS / OGC API – Features* (see ``docs/qgis.md``).
"""
