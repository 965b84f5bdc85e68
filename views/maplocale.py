"""Leaflet maps for people: Spanish controls, names on the map, tooltips that stay inside the frame.

:func:`prepare` finishes a folium map of the application before it is drawn:

- the zoom buttons say «Acercar» / «Alejar» (Leaflet's public ``zoomInTitle`` /
  ``zoomOutTitle`` options of ``L.control.zoom``, which replaces the default one);
  the layer switch says «Capas» (Leaflet 1.9.4 writes ``title="Layers"`` with no
  option: the attribute of that one link is rewritten); a metric scale bar
  (``L.control.scale({imperial: false})``);
- on a narrow map (a phone) the legend takes at most a third of the map's height and scrolls;
- groups of nearby initiatives (MarkerCluster) are drawn as translucent grey rings that
  let the city show through, not as opaque green, yellow or orange bubbles;
- tooltips open towards the inside of the map (``direction: "auto"``, Leaflet's
  public default set with ``L.Tooltip.mergeOptions``) and wrap their text within the
  frame; popups pan the map so they are whole (``autoPan`` with padding) and are never
  wider than the frame;
- when the optional OpenStreetMap tiles cannot load (no internet), a notice says so;
- territory names are written on the map where they fit at the current zoom
  (:func:`label_payload`), as text nodes, so a hostile name is shown as text;
- the map writes each view the person moves to into the page's address
  (``history.replaceState`` of the same-origin parent page; the page opens a link's view
  with :func:`open_on`);
- the frame the map is drawn in (``st.iframe`` of :mod:`views.mapframe`, or streamlit-folium's) gets an accessible name
  (``title``), and the territories and markers leave the tab order: a keyboard user
  reaches territories through the page's list, not through dozens of map shapes.

Nothing here loads an asset: the scripts are inline and use Leaflet only.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from folium.template import Template

from views._plain import PlainMacroElement
from views.escape import js_value

#: Decimal places of label coordinates (1e-5 degree is about 1 m).
LABEL_DECIMALS = 5
#: Key under which :class:`MapDefaults` is placed first among the map's children.
_DEFAULTS_KEY = "sit_map_defaults"
#: Style of the map's texts: tooltips wrapped at a readable width (the pane they sit in has no
#: width of its own, so without ``max-content`` a tooltip near an edge shrinks to a word per line),
#: popups bounded by the frame, readable labels;
#: no focus box around a shape tapped or clicked (keyboard focus keeps its ring).
MAP_CSS = """
.leaflet-tooltip { white-space: normal; width: max-content; max-width: min(260px, 60vw); }
.leaflet-interactive:focus:not(:focus-visible) { outline: none; }
.leaflet-popup-content { max-width: calc(100vw - 70px); overflow-wrap: anywhere; }
.sit-label { background: rgba(255,255,255,0.78); border: 0; box-shadow: none; padding: 0 3px;
  color: #1a1a1a; font: 600 11px/1.2 sans-serif; white-space: nowrap; max-width: none; }
.sit-label::before { display: none; }
.marker-cluster-small, .marker-cluster-medium, .marker-cluster-large { background-color: rgba(40,40,40,.18); }
.marker-cluster-small div, .marker-cluster-medium div, .marker-cluster-large div {
  background-color: rgba(40,40,40,.72); color: #fff; font-weight: 600; }
@media (max-width: 520px) {
  .sit-legend { max-height: 34vh !important; max-width: 66vw !important; overflow-y: auto !important;
    font-size: 11px !important; }
}
.sit-notice { background: #fff8e1; color: #3d2e00; border: 1px solid #b38600; border-radius: 4px;
  padding: 4px 8px; max-width: min(320px, 70vw); font: 12px/1.35 sans-serif; }
"""


class MapDefaults(PlainMacroElement):
    """First child of the map: tooltip and popup defaults, before any layer binds one."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Tooltip.mergeOptions({direction: "auto"});
            L.Popup.mergeOptions({autoPan: true, autoPanPadding: L.point(12, 12), keepInView: true});
            // A line under the zoom buttons saying what the map cannot show (a status for screen readers):
            // the base tiles offline (SpanishControls), a selection not drawn (views.restyle). Not at the
            // bottom, where on a phone the legend covers it.
            (window.__sitMap = window.__sitMap || {}).notice = function (map, className, text) {
                var control = L.control({position: "topleft"});
                control.onAdd = function () {
                    var div = L.DomUtil.create("div", "sit-notice " + className);
                    div.setAttribute("role", "status");
                    div.textContent = text;
                    return div;
                };
                return control.addTo(map);
            };
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "MapDefaults"


class SpanishControls(PlainMacroElement):
    """Last child of the map: Spanish controls, metric scale, labels, frame title, tab order."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var map = {{ this._parent.get_name() }};
                var style = document.createElement("style");
                style.textContent = {{ this.css }};
                document.head.appendChild(style);
                if (map.zoomControl) { map.removeControl(map.zoomControl); }
                map.zoomControl = L.control.zoom({zoomInTitle: "Acercar", zoomOutTitle: "Alejar"}).addTo(map);
                var box = map.getContainer();
                // folium's control_scale draws miles too, with no handle to remove it: its box goes.
                box.querySelectorAll(".leaflet-control-scale").forEach(function (el) { el.remove(); });
                L.control.scale({imperial: false, metric: true, position: "bottomleft"}).addTo(map);
                box.querySelectorAll(".leaflet-control-layers-toggle").forEach(function (a) {
                    a.setAttribute("title", "Capas");
                    a.setAttribute("aria-label", "Capas del mapa");
                });
                try {
                    if (window.frameElement) { window.frameElement.setAttribute("title", {{ this.title }}); }
                } catch (e) { /* a frame of another origin keeps its own name */ }
                // A name's tooltip is made the first time its territory is wide enough on screen
                // (thousands of territories: none is made while the whole commune is in view).
                var labels = {{ this.labels }}, shown = new Array(labels.length);
                function label(i) {
                    if (!shown[i]) {
                        var span = document.createElement("span");
                        span.textContent = labels[i][2];
                        shown[i] = L.tooltip({permanent: true, direction: "center", className: "sit-label",
                                              interactive: false, opacity: 1})
                            .setLatLng([labels[i][0], labels[i][1]]).setContent(span);
                    }
                    return shown[i];
                }
                function fits(l) {
                    var sw = map.latLngToContainerPoint([l[3], l[4]]), ne = map.latLngToContainerPoint([l[5], l[6]]);
                    return Math.abs(ne.x - sw.x) >= 6.5 * l[2].length + 8 && Math.abs(sw.y - ne.y) >= 16;
                }
                function relabel() {
                    for (var i = 0; i < labels.length; i++) {
                        var on = !!shown[i] && map.hasLayer(shown[i]), want = fits(labels[i]);
                        if (want && !on) { label(i).addTo(map); } else if (!want && on) { map.removeLayer(shown[i]); }
                    }
                }
                // Shapes and marks leave the tab order, once per frame however many are added at once.
                var untabbing = false;
                function untab() {
                    if (untabbing) { return; }
                    untabbing = true;
                    requestAnimationFrame(function () {
                        untabbing = false;
                        box.querySelectorAll(".leaflet-interactive, .leaflet-marker-icon").forEach(function (el) {
                            el.setAttribute("tabindex", "-1");
                        });
                    });
                }
                var param = {{ this.view_param }}, touched = false;

                if (param) {  // the page's address follows the person's moves (same-origin frame)
                    // A new selection drawn in place fits its extent: not a move of the person's; one that
                    // keeps the view writes it again, as the page's rerun rewrote the address (views.restyle).
                    var registry = window.__sitMap = window.__sitMap || {};
                    registry.untouch = function () { touched = false; };
                    registry.rewriteView = function () { if (touched) { map.fire("moveend"); } };
                    ["pointerdown", "wheel", "keydown", "touchstart"].forEach(function (ev) {
                        box.addEventListener(ev, function () { touched = true; }, {passive: true});
                    });
                    map.on("moveend", function () {
                        if (!touched) { return; }
                        try {
                            var top = window.parent, url = new URL(top.location.href), c = map.getCenter();
                            url.searchParams.set(param, c.lat.toFixed(5) + "," + c.lng.toFixed(5) + "," + map.getZoom());
                            top.history.replaceState(top.history.state, "", url.toString());
                        } catch (e) { /* another origin: the address stays */ }
                    });
                }
                // Base tiles that cannot load (no internet) say so instead of showing nothing.
                var notice = null;
                function tilesFailed() {
                    if (notice) { return; }
                    notice = window.__sitMap.notice(map, "sit-offline-notice",
                        "Sin conexión a internet: el mapa base de OpenStreetMap no se puede mostrar. "
                        + "Las capas del sistema sí se ven.");
                }
                map.on("layeradd", function (e) {
                    if (e.layer instanceof L.TileLayer) { e.layer.on("tileerror", tilesFailed); }
                });
                map.on("layerremove", function (e) {
                    if (e.layer instanceof L.TileLayer && notice) { notice.remove(); notice = null; }
                });
                // A tooltip that would open past the frame's edge is moved inside it (Leaflet's "auto"
                // direction only flips it left or right); sticky tooltips follow the pointer, so again on move.
                var tip = null;
                function keepInside() {
                    var el = tip && tip.getElement();
                    if (!el) { return; }
                    var frame = box.getBoundingClientRect(), r = el.getBoundingClientRect(), dx = 0, dy = 0;
                    if (r.bottom > frame.bottom - 2) { dy = frame.bottom - 2 - r.bottom; }
                    if (r.top + dy < frame.top + 2) { dy = frame.top + 2 - r.top; }
                    if (r.right > frame.right - 2) { dx = frame.right - 2 - r.right; }
                    if (r.left + dx < frame.left + 2) { dx = frame.left + 2 - r.left; }
                    if (dx || dy) { L.DomUtil.setPosition(el, L.DomUtil.getPosition(el).add([dx, dy])); }
                }
                map.on("tooltipopen", function (e) {
                    tip = e.tooltip.options.permanent ? tip : e.tooltip;
                    keepInside();
                });
                map.on("tooltipclose", function (e) { if (e.tooltip === tip) { tip = null; } });
                map.on("mousemove", keepInside);
                map.on("zoomend", relabel);
                map.on("layeradd", untab);
                map.whenReady(function () { relabel(); untab(); });
            })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, labels: list, view_param: str | None = None):
        super().__init__()
        self._name = "SpanishControls"
        self.css = js_value(MAP_CSS)
        self.title = js_value(str(title))
        self.labels = js_value(labels)
        self.view_param = js_value(view_param or None)


def label_payload(territories: gpd.GeoDataFrame, name_field: str = "nombre") -> list[list]:
    """Where to write each territory's name: ``[lat, lon, name, south, west, north, east]``.

    Parameters
    ----------
    territories : geopandas.GeoDataFrame
        Polygons in WGS 84 (EPSG:4326) with a ``name_field`` column.
    name_field : str
        Column holding the names (plain text; they are written as text nodes).

    Returns
    -------
    list of list
        One row per non-empty geometry: the label point (a point on the surface,
        inside the polygon), the name and the bounding box in degrees, rounded to
        :data:`LABEL_DECIMALS`. The browser shows a name only while its box is wide
        enough on screen for the text.
    """
    frame = territories[territories.geometry.notna() & ~territories.geometry.is_empty]
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    points = shapely.point_on_surface(frame.geometry.values)
    bounds = shapely.bounds(frame.geometry.values)
    rows = []
    for pt, name, (w, s, e, n) in zip(points, frame[name_field].astype(str), bounds):
        r = lambda v: round(float(v), LABEL_DECIMALS)  # noqa: E731
        rows.append([r(pt.y), r(pt.x), name, r(s), r(w), r(n), r(e)])
    return rows


class OpenOn(PlainMacroElement):
    """Script that sets the map's view after it was fitted to its extent.

    Added last, it runs after folium's :class:`folium.map.FitBounds` scripts, so the map
    opens on the view of the link. ``lat``/``lon`` in WGS 84 degrees, ``zoom`` a Leaflet
    zoom level; numbers only, never text from data.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.setView([{{ this.lat }}, {{ this.lon }}], {{ this.zoom }}, {animate: false});
        {% endmacro %}
        """
    )

    def __init__(self, lat: float, lon: float, zoom: int) -> None:
        super().__init__()
        self._name = "OpenOn"
        self.lat, self.lon, self.zoom = float(lat), float(lon), int(zoom)


def open_on(m, view: tuple[float, float, int] | None):
    """Make a folium map open on ``view`` = ``(lat, lon, zoom)`` instead of its fitted extent.

    The map's starting ``location`` and ``zoom`` are set and an :class:`OpenOn` script is
    added after every other element, so it wins over the map's fit to its extent (WGS 84
    degrees, Leaflet zoom level). ``None`` leaves the map as it is. Returns the map.
    """
    if view:
        m.location = [float(view[0]), float(view[1])]
        m.options["zoom"] = int(view[2])
        OpenOn(*view).add_to(m)
    return m


def prepare(m, *, title: str, territories: gpd.GeoDataFrame | None = None, view_param: str | None = None,
            labels: list | None = None):
    """Finish a folium map for people (see the module's description). Idempotent.

    Parameters
    ----------
    m : folium.Map
        A map whose layers and controls are all added; call before
        :func:`views.webassets.localize_map` and before the map is drawn (:func:`views.mapframe.render`
        or ``st_folium``).
    title : str
        Accessible name of the map's frame, in Spanish (``"Mapa de Domeyko y sus vecinos"``).
    territories : geopandas.GeoDataFrame, optional
        Territories whose names are written on the map (WGS 84, ``nombre`` column).
    view_param : str, optional
        Query parameter of the page's address that the map rewrites after each move the
        person makes (``lat,lon,zoom``, 5 decimals), so the address always holds the view.
    labels : list, optional
        :func:`label_payload` of ``territories``, when the caller keeps it (it depends on
        the layer only); computed from ``territories`` otherwise.

    Returns
    -------
    folium.Map
        The same map, for chaining.
    """
    if labels is None:
        labels = label_payload(territories) if territories is not None and len(territories) else []
    m.add_child(MapDefaults(), name=_DEFAULTS_KEY, index=0)
    m.add_child(SpanishControls(title, labels, view_param), name="sit_spanish_controls")
    return m
