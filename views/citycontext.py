"""The city under the maps: census blocks drawn light and thin, with the zone names as labels.

With no internet the maps have no base tiles; the 801 blocks (manzanas) of the 2017
census (:mod:`layers.census`) show the street grid instead, so that a person finds the
river, the centre and their street. They are drawn in a Leaflet pane of their own,
:data:`BLOCKS_PANE`, above the territory fills (pane :data:`TERRITORY_PANE`) and below
everything else (outlines, initiatives, markers), never catching the pointer.

Payload
-------
The blocks travel as one compact JSON document (:func:`blocks_payload`): each block
simplified in metres (EPSG:32719) by :data:`BLOCK_TOLERANCE_M`, well within the ±25 m
accuracy of the source, then written as integer steps of 1e-5 degree (about 1 m) from
the previous vertex, the first vertex of each block from a shared origin. The
browser rebuilds the rings. The zone labels are ``[lat, lon, text]`` triples; the text
is put in the page with ``textContent`` (never as HTML) and the JSON is written with
:func:`views.escape.js_value`.
"""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.crs import UTM19S, WGS84
from views.escape import js_value

__all__ = [
    "BLOCK_TOLERANCE_M", "BLOCK_SCALE", "BLOCK_STYLE", "LABEL_MIN_ZOOM", "BLOCKS_PANE", "TERRITORY_PANE",
    "LAYER_NAME", "blocks_payload", "decode_blocks", "label_payload", "CityContext", "add_city_context",
    "territory_pane",
]

#: Simplification of the blocks for display (metres, EPSG:32719); the source is good to ±25 m.
BLOCK_TOLERANCE_M = 5.0
#: Coordinates are sent as integers of 1 / BLOCK_SCALE degree (1e-5 degree is about 1 m).
BLOCK_SCALE = 100_000
#: Thin outlines with no fill, dark enough to show over the darkest choropleth class (contrast ≥ 2:1).
BLOCK_STYLE: dict[str, object] = {"color": "#222222", "weight": 0.5, "opacity": 0.55, "fill": False}
#: Zone labels show from this zoom level on (the city fills the screen).
LABEL_MIN_ZOOM = 13
#: Leaflet panes: territory fills below the blocks, the blocks below Leaflet's overlay pane (400).
TERRITORY_PANE, BLOCKS_PANE = "sitTerritorios", "sitManzanas"
PANE_Z = {TERRITORY_PANE: 350, BLOCKS_PANE: 360}
#: Name of the layer in the layer control.
LAYER_NAME = "Manzanas y zonas censales (INE, Censo 2017)"
#: Zone names are split into label lines at this separator (see :func:`layers.census.name_zones`).
LABEL_LINE_BREAK = " · "
#: Inline style of a zone label: dark text with a light halo, centred on its point.
LABEL_CSS = (
    "display:inline-block;transform:translate(-50%,-50%);white-space:nowrap;text-align:center;font:600 10px/1.15 sans-serif;"
    "color:#2b2b2b;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;pointer-events:none;"
)


def blocks_payload(blocks: gpd.GeoDataFrame, tolerance_m: float = BLOCK_TOLERANCE_M) -> dict[str, object]:
    """The compact document :class:`CityContext` draws the blocks from.

    Parameters
    ----------
    blocks : geopandas.GeoDataFrame
        Census blocks (:func:`layers.census.load_blocks`), polygons in any CRS.
    tolerance_m : float
        Simplification tolerance in metres (EPSG:32719); 0 keeps every vertex.

    Returns
    -------
    dict
        ``o``: origin ``[x, y]`` in 1/:data:`BLOCK_SCALE` degree (lon, lat);
        ``s``: :data:`BLOCK_SCALE`; ``r``: one list per ring (exterior rings and
        holes alike, drawn as outlines) of integer steps ``dx1, dy1, dx2, dy2, ...``,
        the first step from ``o``, the closing vertex left out.
    """
    metric = blocks.geometry.to_crs(UTM19S).array
    if tolerance_m > 0:
        metric = shapely.simplify(metric, tolerance_m, preserve_topology=True)
    wgs = gpd.GeoSeries(metric, crs=UTM19S).to_crs(WGS84).array
    rings = [r for g in wgs for p in shapely.get_parts(g) for r in (p.exterior, *p.interiors)]
    ints = [np.round(np.asarray(r.coords)[:-1] * BLOCK_SCALE).astype(np.int64) for r in rings]
    origin = np.min([r.min(axis=0) for r in ints], axis=0) if ints else np.zeros(2, dtype=np.int64)
    steps = []
    for ring in ints:
        first = ring[:1] - origin
        steps.append(np.vstack([first, np.diff(ring, axis=0)]).ravel().tolist())
    return {"o": [int(origin[0]), int(origin[1])], "s": BLOCK_SCALE, "r": steps}


def decode_blocks(payload: Mapping[str, object]) -> list[shapely.Polygon]:
    """The rings of a :func:`blocks_payload` as polygons in EPSG:4326 (what the browser draws)."""
    ox, oy = payload["o"]
    scale = float(payload["s"])
    out = []
    for steps in payload["r"]:
        xy = np.asarray(steps, dtype=np.int64).reshape(-1, 2)
        xy[0] += (ox, oy)
        out.append(shapely.Polygon(np.cumsum(xy, axis=0) / scale))
    return out


def label_payload(territories: pd.DataFrame) -> list[list[object]]:
    """Zone labels: ``[lat, lon, name]`` at a point inside each urban territory.

    Parameters
    ----------
    territories : geopandas.GeoDataFrame
        Territory layer with ``nombre`` and ``tipo``; only ``sector urbano`` rows are labelled.

    Returns
    -------
    list of [float, float, list of str]
        Latitude and longitude (degrees, 5 decimals) of the territory's representative
        point (computed in EPSG:32719) and its name as plain text, one line per part
        separated by :data:`LABEL_LINE_BREAK` (``Oriente del centro`` / ``zona censal 3-2``).
    """
    urban = territories[territories["tipo"] == "sector urbano"]
    if urban.empty:
        return []
    points = gpd.GeoSeries(urban.geometry.to_crs(UTM19S).representative_point().array, crs=UTM19S).to_crs(WGS84)
    return [[round(p.y, 5), round(p.x, 5), str(name).split(LABEL_LINE_BREAK)] for p, name in zip(points, urban["nombre"])]


class CityContext(MacroElement):
    """Blocks (one multi-part outline) and zone labels, in :data:`BLOCKS_PANE`, inside a FeatureGroup."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var map = {{ this._parent.get_name() }}, group = {{ this.group.get_name() }};
                var d = {{ this.payload }}, panes = {{ this.panes }};
                Object.keys(panes).forEach(function (name) {
                    if (!map.getPane(name)) {
                        var pane = map.createPane(name);
                        pane.style.zIndex = panes[name];
                        if (name === {{ this.blocks_pane }}) { pane.style.pointerEvents = "none"; }
                    }
                });
                var parts = [];
                for (var i = 0; i < d.r.length; i++) {
                    var r = d.r[i], x = d.o[0], y = d.o[1], ring = [];
                    for (var j = 0; j < r.length; j += 2) {
                        x += r[j]; y += r[j + 1];
                        ring.push([y / d.s, x / d.s]);
                    }
                    parts.push([ring]);
                }
                if (parts.length) {
                    L.polygon(parts, Object.assign({pane: {{ this.blocks_pane }}, interactive: false}, d.st)).addTo(group);
                }
                var labels = L.layerGroup();
                d.l.forEach(function (t) {
                    var el = document.createElement("span");
                    t[2].forEach(function (line, k) {
                        if (k) { el.appendChild(document.createElement("br")); }
                        el.appendChild(document.createTextNode(line));
                    });
                    el.style.cssText = d.css;
                    L.marker([t[0], t[1]], {
                        icon: L.divIcon({className: "sit-zone-label", html: el, iconSize: null}),
                        interactive: false, keyboard: false, pane: {{ this.blocks_pane }}
                    }).addTo(labels);
                });
                function toggle() {
                    var show = map.getZoom() >= d.z && map.hasLayer(group);
                    if (show && !group.hasLayer(labels)) { group.addLayer(labels); }
                    if (!show && group.hasLayer(labels)) { group.removeLayer(labels); }
                }
                map.on("zoomend", toggle);
                map.whenReady(toggle);
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: Mapping[str, object], labels: list[list[object]], group: folium.FeatureGroup):
        super().__init__()
        self._name = "CityContext"
        self.payload = js_value({**payload, "l": labels, "st": BLOCK_STYLE, "z": LABEL_MIN_ZOOM, "css": LABEL_CSS})
        self.panes = js_value(PANE_Z)
        self.blocks_pane = js_value(BLOCKS_PANE)
        self.group = group


def add_city_context(m: folium.Map, payload: Mapping[str, object], labels: list[list[object]]) -> folium.FeatureGroup:
    """Draw the blocks and zone labels on ``m``, as one overlay listed in the layer control.

    Parameters
    ----------
    m : folium.Map
        The map.
    payload : dict
        :func:`blocks_payload` of the census blocks (cache it per store version).
    labels : list
        :func:`label_payload` of the territory layer shown.

    Returns
    -------
    folium.FeatureGroup
        The overlay (shown by default).
    """
    group = folium.FeatureGroup(name=LAYER_NAME, show=True, overlay=True, control=True).add_to(m)
    m.add_child(CityContext(payload, labels, group))
    return group


def territory_pane(m: folium.Map) -> str:
    """Create the pane of the territory fills, below the blocks, and return its name.

    Call it once per map, before adding the territory layers; layers given
    ``pane=TERRITORY_PANE`` (an option ``folium.GeoJson`` passes to Leaflet) are then
    drawn under the blocks and keep their tooltips.
    """
    folium.map.CustomPane(TERRITORY_PANE, z_index=PANE_Z[TERRITORY_PANE], pointer_events=True).add_to(m)
    return TERRITORY_PANE
