"""Tiny Streamlit app that draws a folium map the way the pages do, for the offline test.

It exercises every kind of map content the app uses: a GeoJson polygon with tooltip
and popup, CircleMarkers (with popups) inside a MarkerCluster, a default Leaflet
marker (its icon images come from leaflet.css), the app's legend element
(:class:`views.legend.Legend`), a LayerControl, fit_bounds, and OpenStreetMap tiles as an
optional overlay that is off by default. A second map is drawn the way the plan's map page
draws it: its rendered HTML document, published by :mod:`views.mapframe`, in a frame.
"""

from __future__ import annotations

import folium
import streamlit as st
from folium.plugins import MarkerCluster
from streamlit_folium import st_folium

from views import mapframe, webassets
from views.legend import Legend, Section, Swatch

# A polygon over central Vallenar (lon/lat, RFC 7946) and points inside it.
SECTOR = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"nombre": "Sector de prueba", "tipo": "urbano"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [-70.7700, -28.5850],
                        [-70.7500, -28.5850],
                        [-70.7500, -28.5700],
                        [-70.7700, -28.5700],
                        [-70.7700, -28.5850],
                    ]
                ],
            },
        }
    ],
}
POINTS = [
    (-28.5780, -70.7620),
    (-28.5781, -70.7621),
    (-28.5782, -70.7618),
    (-28.5760, -70.7560),
    (-28.5800, -70.7650),
]


st.set_page_config(page_title="Sonda del mapa sin internet", layout="wide")
st.title("Sonda del mapa sin internet")

if not webassets.assets_installed():
    st.error(webassets.missing_assets_message())
    st.stop()

m = webassets.offline_map(location=[-28.578, -70.760], zoom_start=14)
folium.GeoJson(
    SECTOR,
    name="Sectores",
    style_function=lambda _: {"color": "#2b7bba", "weight": 2, "fillOpacity": 0.2},
    tooltip=folium.GeoJsonTooltip(fields=["nombre"], aliases=["Nombre"]),
    popup=folium.GeoJsonPopup(fields=["nombre", "tipo"]),
).add_to(m)
cluster = MarkerCluster(name="Iniciativas").add_to(m)
for i, (lat, lon) in enumerate(POINTS, start=1):
    folium.CircleMarker(
        location=[lat, lon],
        radius=7,
        color="#d7301f",
        fill=True,
        fill_opacity=0.8,
        tooltip=f"Iniciativa {i}",
        popup=folium.Popup(f"<b>Iniciativa {i}</b>", max_width=200),
    ).add_to(cluster)
folium.Marker([-28.5740, -70.7680], tooltip="Marcador por defecto").add_to(m)
m.add_child(Legend([Section("Leyenda", [(Swatch("area", "#2b7bba"), "Sector"), (Swatch("point", "#d7301f"), "Iniciativa")])]))
folium.LayerControl(collapsed=True).add_to(m)
m.fit_bounds([[-28.5850, -70.7700], [-28.5700, -70.7500]])

webassets.localize_map(m)
st_folium(m, key="sonda", height=480, use_container_width=True, returned_objects=[])

# The same kind of map as the plan's map page draws it: its HTML document, rendered once,
# published and shown in a frame (views.mapframe).
frame_map = webassets.offline_map(location=[-28.578, -70.760], zoom_start=14)
frame_cluster = MarkerCluster(name="Iniciativas").add_to(frame_map)
for lat, lon in POINTS:
    folium.CircleMarker(location=[lat, lon], radius=7, color="#d7301f", fill=True).add_to(frame_cluster)
frame_map.add_child(Legend([Section("Leyenda", [(Swatch("point", "#d7301f"), "Iniciativa")])]))
folium.LayerControl(collapsed=True).add_to(frame_map)
webassets.localize_map(frame_map)
st.iframe(mapframe.DOCUMENTS.frame(("sonda", webassets.base_url_path()), lambda: mapframe.render(frame_map),
                                   webassets.base_url_path()),
          height=400, alt="Mapa de la sonda en un marco")
st.caption("Sonda lista")
