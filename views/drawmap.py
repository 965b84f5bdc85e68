"""The map on which a planner draws an initiative's place (Leaflet.draw through folium's ``Draw``).

:func:`drawing_map` returns a tile-less map (OpenStreetMap optional) with the
commune's boundary and the territories' outlines for orientation, and Leaflet.draw's
toolbar for points, lines and polygons (no circles or rectangles: a circle is not
a simple-features geometry). The initiative's current geometry, if any, is put in
the drawing tool's own layer group, so the planner can move its vertices or delete
it; streamlit-folium returns every feature of that group as ``all_drawings``.
Assets are served by the app (:func:`views.webassets.localize_map`).
"""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely
from folium.plugins import Draw
from jinja2 import Template

from views import webassets
from views._plain import PlainMacroElement
from views.escape import js_value

#: Toolbar: what may be drawn.
DRAW_OPTIONS = {"polyline": {"shapeOptions": {"color": "#b35c00"}}, "polygon": {"allowIntersection": False,
                "showArea": False, "shapeOptions": {"color": "#b35c00"}}, "marker": True,
                "circle": False, "rectangle": False, "circlemarker": False}
EDIT_OPTIONS = {"edit": True, "remove": True}
STYLE = {"color": "#b35c00", "weight": 3, "fillOpacity": 0.25}
#: ``tipo`` of the territories of the city, framed when the initiative has no place yet.
URBAN = "sector urbano"


#: Leaflet.draw's texts in Spanish, merged into its public ``L.drawLocal`` before the toolbar is built.
DRAW_TEXTS = {
    "draw": {
        "toolbar": {
            "actions": {"title": "Cancelar el dibujo", "text": "Cancelar"},
            "finish": {"title": "Terminar el dibujo", "text": "Terminar"},
            "undo": {"title": "Borrar el último punto dibujado", "text": "Borrar el último punto"},
            "buttons": {"polyline": "Dibujar una línea", "polygon": "Dibujar un polígono",
                        "marker": "Dibujar un punto"},
        },
        "handlers": {
            "marker": {"tooltip": {"start": "Haga clic en el mapa para poner el punto."}},
            "polygon": {"tooltip": {"start": "Haga clic para empezar el polígono.",
                                    "cont": "Haga clic para seguir dibujando el polígono.",
                                    "end": "Haga clic en el primer punto para cerrar el polígono."}},
            "polyline": {"error": "<strong>Error:</strong> los bordes no pueden cruzarse.",
                         "tooltip": {"start": "Haga clic para empezar la línea.",
                                     "cont": "Haga clic para seguir dibujando la línea.",
                                     "end": "Haga clic en el último punto para terminar la línea."}},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {"save": {"title": "Guardar los cambios", "text": "Guardar"},
                        "cancel": {"title": "Descartar los cambios", "text": "Cancelar"},
                        "clearAll": {"title": "Borrar todo lo dibujado", "text": "Borrar todo"}},
            "buttons": {"edit": "Editar lo dibujado", "editDisabled": "No hay nada que editar",
                        "remove": "Borrar lo dibujado", "removeDisabled": "No hay nada que borrar"},
        },
        "handlers": {
            "edit": {"tooltip": {"text": "Arrastre los vértices o el punto para moverlos.",
                                 "subtext": "Pulse Cancelar para deshacer los cambios."}},
            "remove": {"tooltip": {"text": "Haga clic en lo que quiera borrar."}},
        },
    },
}


class SpanishDrawing(PlainMacroElement):
    """Leaflet.draw's texts in Spanish (public ``L.drawLocal``) and a metric-only scale; add it before ``Draw``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                function merge(target, texts) {
                    Object.keys(texts).forEach(function (k) {
                        if (texts[k] && typeof texts[k] === "object") {
                            target[k] = target[k] || {};
                            merge(target[k], texts[k]);
                        } else {
                            target[k] = texts[k];
                        }
                    });
                }
                if (window.L && L.drawLocal) { merge(L.drawLocal, {{ this.texts }}); }
                L.control.scale({imperial: false, metric: true, position: "bottomleft"})
                    .addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "SpanishDrawing"
        self.texts = js_value(DRAW_TEXTS)


def _editable_layers(geometry: shapely.Geometry | None, group: folium.FeatureGroup) -> None:
    """Plain Leaflet markers, polylines and polygons (Leaflet.draw edits those, not a nested GeoJSON layer)."""
    if geometry is None or geometry.is_empty:
        return
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type == "Point":
            folium.Marker([part.y, part.x]).add_to(group)
        elif part.geom_type == "LineString":
            folium.PolyLine([[y, x] for x, y in part.coords], **STYLE).add_to(group)
        elif part.geom_type == "Polygon":
            rings = [[[y, x] for x, y in ring.coords[:-1]] for ring in (part.exterior, *part.interiors)]
            folium.Polygon(rings if len(rings) > 1 else rings[0], **STYLE).add_to(group)


def drawing_map(commune: gpd.GeoDataFrame, territories: gpd.GeoDataFrame,
                geometry: shapely.Geometry | None) -> folium.Map:
    """A map to draw one initiative's place on.

    Parameters
    ----------
    commune, territories : geopandas.GeoDataFrame
        EPSG:4326; drawn as outlines for orientation (not interactive).
    geometry : shapely geometry or None
        The initiative's current geometry (EPSG:4326), editable on the map; the map is
        framed on it, or on the city's territories when there is none.

    Returns
    -------
    folium.Map
        Already passed through :func:`views.webassets.localize_map`.
    """
    if geometry is not None and not geometry.is_empty:
        xmin, ymin, xmax, ymax = geometry.bounds
        fit = [[ymin - 0.002, xmin - 0.002], [ymax + 0.002, xmax + 0.002]]
    else:  # the city, where most initiatives go (the whole commune is one zoom-out away)
        urban = territories[territories["tipo"] == URBAN] if "tipo" in territories.columns else territories
        xmin, ymin, xmax, ymax = (urban if len(urban) else territories).total_bounds
        fit = [[ymin, xmin], [ymax, xmax]]
    centre = [(fit[0][0] + fit[1][0]) / 2, (fit[0][1] + fit[1][1]) / 2]
    m = webassets.offline_map(location=centre, zoom_start=13, show_osm=False, control_scale=False)
    folium.GeoJson(commune[["geometry"]], name="Comuna", style_function=lambda f: {
        "color": "#333333", "weight": 2, "fill": False}, interactive=False).add_to(m)
    # No tooltips: names of imported territories are data, and folium writes tooltips into script.
    folium.GeoJson(territories[["geometry"]], name="Territorios", style_function=lambda f: {
        "color": "#2e7d5b", "weight": 1, "fillOpacity": 0.05}, interactive=False).add_to(m)
    group = folium.FeatureGroup(name="Ubicación de la iniciativa").add_to(m)
    _editable_layers(geometry, group)
    SpanishDrawing().add_to(m)
    Draw(feature_group=group, draw_options=DRAW_OPTIONS, edit_options=EDIT_OPTIONS,
         show_geometry_on_click=False).add_to(m)
    m.fit_bounds(fit)
    return webassets.localize_map(m)
