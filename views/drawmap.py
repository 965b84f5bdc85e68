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

from views import webassets

#: Toolbar: what may be drawn.
DRAW_OPTIONS = {"polyline": {"shapeOptions": {"color": "#b35c00"}}, "polygon": {"allowIntersection": False,
                "showArea": False, "shapeOptions": {"color": "#b35c00"}}, "marker": True,
                "circle": False, "rectangle": False, "circlemarker": False}
EDIT_OPTIONS = {"edit": True, "remove": True}
STYLE = {"color": "#b35c00", "weight": 3, "fillOpacity": 0.25}
#: ``tipo`` of the territories of the city, framed when the initiative has no place yet.
URBAN = "sector urbano"


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
    m = webassets.offline_map(location=centre, zoom_start=13, show_osm=False, control_scale=True)
    folium.GeoJson(commune[["geometry"]], name="Comuna", style_function=lambda f: {
        "color": "#333333", "weight": 2, "fill": False}, interactive=False).add_to(m)
    # No tooltips: names of imported territories are data, and folium writes tooltips into script.
    folium.GeoJson(territories[["geometry"]], name="Territorios", style_function=lambda f: {
        "color": "#2e7d5b", "weight": 1, "fillOpacity": 0.05}, interactive=False).add_to(m)
    group = folium.FeatureGroup(name="Ubicación de la iniciativa").add_to(m)
    _editable_layers(geometry, group)
    Draw(feature_group=group, draw_options=DRAW_OPTIONS, edit_options=EDIT_OPTIONS,
         show_geometry_on_click=False).add_to(m)
    m.fit_bounds(fit)
    return webassets.localize_map(m)
