"""Catalogue of the layers in the store, their downloads and (for planners) the import of new ones."""

from __future__ import annotations

import importlib
import importlib.util

import streamlit as st

from layers.exchange import export
from pages import _shared as shared

shared.run_inside_app()

COLUMNS = {
    "nombre": "Capa",
    "titulo": "Título",
    "descripcion": "Descripción",
    "fuente": "Fuente",
    "fecha": "Fecha",
    "crs_origen": "SRC de origen",
    "n": "Elementos",
    "geometria": "Geometría",
    "precision_m": "Precisión (m)",
    "origen": "Origen",
    "clase": "Clase",
}

st.title("Capas", anchor=False)
st.caption(
    "Capas y tablas del sistema, con su fuente, fecha, sistema de coordenadas de origen, número de elementos "
    "y precisión. Todas se descargan en WGS 84 (EPSG:4326) para abrirlas en QGIS o cualquier SIG."
)

registry = shared.registry()
st.dataframe(
    registry[[c for c in COLUMNS if c in registry.columns]].fillna(""),
    hide_index=True,
    width="stretch",
    column_config={
        **dict(COLUMNS.items()),
        "descripcion": st.column_config.TextColumn(COLUMNS["descripcion"], width="large"),
        "fuente": st.column_config.TextColumn(COLUMNS["fuente"], width="medium"),
        "n": st.column_config.NumberColumn(COLUMNS["n"], format="%d"),
    },
)

st.subheader("Descargar", anchor=False)
names = list(registry["nombre"])
chosen = st.selectbox(
    "Capa", names, key="capas_capa",
    format_func=lambda n: f"{shared.layer_title(n)} ({n})",
)
if chosen:
    formats = list(export.FORMATS)
    st.caption(
        "El archivo se genera al pulsar el botón. Una capa que mezcla puntos, líneas y áreas, o que tiene filas "
        "sin lugar, se descarga en GeoPackage como una capa por tipo de geometría más una tabla con las filas sin "
        "lugar, y en Shapefile como un archivo por tipo dentro del zip; GeoJSON, CSV y KML son un solo archivo."
    )
    shared.download_buttons(shared.layer(chosen), formats, chosen, "capas_descarga_")

# --- import (planners) ---
# pages/_import_ui.py (written separately) draws the import form; this page works without it.
try:
    _import_spec = importlib.util.find_spec("pages._import_ui")
except (ImportError, ValueError):
    _import_spec = None
if _import_spec is not None:
    importlib.import_module("pages._import_ui").render()
