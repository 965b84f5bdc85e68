"""Placing initiatives on the map (``/ubicar``), for planners: draw, edit or remove an initiative's geometry.

The role is checked on the server first (:func:`pages._access.require`) and again
when saving (:func:`layers.access.placing.place` / :func:`~layers.access.placing.remove`).
The drawing tool is Leaflet.draw (folium's ``Draw``, served by the app); the
geometry is validated, stored with «dibujada por <cuenta> el <fecha>» and the
precision of a click at the zoom it was drawn at, recorded in the history, and the
site layer ``ubicaciones_app`` the maps use by default is rewritten at once.
``?iniciativa=ID`` opens one initiative.
"""

from __future__ import annotations

import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from layers import initiatives
from layers._errors import SitError
from layers.access import placing, roles
from pages import _access as access
from pages import _shared as shared
from views import drawmap, webassets

shared.run_inside_app()
session = access.require(roles.PLACE_INITIATIVES)  # nothing below runs for a role that may not place

PICKER = "ubicar_iniciativa"
REASON = "ubicar_motivo"
K_FLASH = "ubicar_aviso"
K_ROUND = "ubicar_vuelta"  # bumped after a save: a fresh map (the drawing tool starts from the stored geometry)


def _pick(layer) -> str:
    return shared.initiative_picker(layer, PICKER)


def _describe(row) -> str:
    geom = row.geometry
    if geom is None or geom.is_empty:
        return "Sin ubicación: se relaciona con el territorio por su alcance."
    precision = pd.to_numeric(pd.Series([row.get("precision_m")]), errors="coerce").iloc[0]  # None, NaN or <NA>
    shown = f", precisión {int(precision)} m" if pd.notna(precision) else ""
    return f"Ubicación actual: {geom.geom_type} — {row['fuente_geometria'] or 'sin fuente'}{shown}."


def _act(action, ident: str, *args) -> None:
    try:
        action(access.stored(), ident, *args)
    except SitError as exc:
        st.error(str(exc))
        return
    st.session_state[K_ROUND] = st.session_state.get(K_ROUND, 0) + 1
    # Kept for the whole round: the new map sends its first value back (a rerun), and the notice stays.
    st.session_state[K_FLASH] = (st.session_state[K_ROUND], ident,
                                 "Ubicación guardada." if action is placing.place else "Ubicación retirada.")
    st.session_state.pop(REASON, None)
    st.rerun()


st.title("Ubicar iniciativas", anchor=False)
st.caption(f"Dibuje un punto, una línea o un polígono con las herramientas del mapa; quedará «dibujada por "
           f"{shared.md_escape(session.nombre)}» en el historial y será la ubicación que usan los mapas. "
           "El dibujo parte de la ubicación actual: lo que agregue se suma a ella; para reemplazarla, bórrela "
           "primero con «Borrar lo dibujado». Si deja partes de la ubicación anterior, el conjunto conserva su "
           "precisión.")
layer = initiatives.with_sites(initiatives.default_sites())
ident = _pick(layer)
flash = st.session_state.get(K_FLASH)
if flash and flash[:2] == (st.session_state.get(K_ROUND, 0), ident):  # this initiative, until the next action
    st.success(flash[2])
row = layer.set_index("id").loc[ident]
st.markdown(shared.md_escape(_describe(row)))
st.page_link("pages/vincular.py", label="Sin lugar preciso: elegir sus territorios de una lista",
             query_params={"iniciativa": ident})
if not webassets.assets_installed():
    st.error(webassets.missing_assets_message())
    st.stop()
current = row.geometry if row.geometry is not None and not row.geometry.is_empty else None
m = drawmap.drawing_map(shared.layer("comuna"), shared.layer("territorios"), current)
out = st_folium(m, key=f"ubicar_mapa_{ident}_{st.session_state.get(K_ROUND, 0)}", height=520,
                use_container_width=True, returned_objects=["all_drawings", "zoom", "center"]) or {}
drawn = placing.merge_drawings(out.get("all_drawings"))
zoom = out.get("zoom") or 13
lat = (out.get("center") or {}).get("lat", -28.58)
precision = placing.click_precision_m(zoom, lat)
if drawn is not None:
    kind = shapely.geometry.shape(drawn).geom_type
    st.caption(f"Dibujo: {kind}; precisión de un clic a este acercamiento: {precision} m.")
else:
    st.caption("Dibuje en el mapa para guardar una ubicación.")
# One form: the reason travels with the button that was pressed (a text box left by a click on a
# plain button may send its value in a rerun of its own, and the click be lost).
with st.form("ubicar_form", border=False):
    st.text_input("Motivo del cambio", key=REASON, max_chars=300)
    left, right = st.columns(2)
    save = left.form_submit_button("Guardar ubicación", type="primary", disabled=drawn is None)
    withdraw = right.form_submit_button("Retirar la ubicación", disabled=current is None)
if save and drawn is not None:
    _act(placing.place, ident, drawn, precision, st.session_state.get(REASON, ""))
elif withdraw and current is not None:
    _act(placing.remove, ident, st.session_state.get(REASON, ""))
