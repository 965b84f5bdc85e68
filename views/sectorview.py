"""The interactive map of one territory (folium), for the sector page.

It shows the commune outline, the territory highlighted, the territories that
share an edge with it, and the initiatives of the territory that have a place,
coloured by strategy with the palette of the main map (:mod:`views.symbology`).
Nothing here needs the internet: the map is built on :func:`views.webassets.offline_map`
and the caller applies :func:`views.webassets.localize_map` before drawing it.

Texts from data are HTML-escaped before they reach Leaflet (tooltips and the
legend are inserted as HTML; the legend is :class:`views.legend.Legend`, escaped by its template).
"""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.template import Template

from geo.crs import WGS84
from layers.sector import SectorSummary
from views import citycontext, symbology, webassets
from views.escape import html_text, js_value
from views.legend import Legend, Section, Swatch
from views.report import status_text

#: Fill and outline of the territory of the page.
TERRITORY_STYLE: dict[str, object] = {
    "color": "#B3261E", "weight": 3.5, "opacity": 1.0, "fillColor": "#F6D7B0", "fillOpacity": 0.45,
}
#: Neighbouring territories: light grey, thin outline.
NEIGHBOUR_STYLE: dict[str, object] = {
    "color": "#6B6B6B", "weight": 1.2, "opacity": 0.9, "fillColor": "#E6E3DA", "fillOpacity": 0.45,
}

#: Other territories, for context: a thin outline, not interactive.
OTHER_STYLE: dict[str, object] = {"color": "#8A8A8A", "weight": 0.8, "opacity": 0.8, "fill": False}
#: Margin around the territory when the map opens, as a fraction of its extent.
FIT_MARGIN = 0.3
#: Above this many other territories, only those near the territory are outlined: within
#: :data:`OTHERS_WINDOW` times its extent on every side (10,000 imported blocks would
#: otherwise send every block's outline for a map that shows a few); if more than this
#: many are still near, their dissolved outline is drawn instead of each one's.
OTHERS_LIMIT = 300
OTHERS_WINDOW = 3.0
#: Decimal places of the coordinates sent to the browser (1e-6 degree is about 0.1 m).
DECIMALS = 6
#: Lines and areas of the initiatives are simplified by this many degrees (about 1 m at
#: Vallenar's latitude, under a pixel at the zooms a sector is seen at) before they are
#: sent: an imported parcel digitised every few centimetres would otherwise weigh
#: megabytes on a committee's phone. Topology is kept; points are not touched.
SIMPLIFY_DEG = 1e-5

#: Above this many parts (a programme's thousands of sites across the commune), only the
#: parts near the territory (the window of :data:`OTHERS_WINDOW`) are drawn.
PARTS_LIMIT = 1000

_SINGLE_POINT, _MULTI_POINT, _COLLECTION = 0, 4, 7


class SectorInitiatives(MacroElement):
    """The sited initiatives of a territory as ONE ``L.geoJSON`` layer with one tooltip function.

    The payload (:func:`initiatives_payload`) holds the features as ``[tip, style,
    geometry]``, the tooltips (HTML already escaped in Python) and the Leaflet styles;
    points become ``L.circleMarker``, lines and areas paths. Written with
    :func:`views.escape.js_value`, so no text can close the script.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var d = {{ this.payload }};
                var layer = L.geoJSON({type: "FeatureCollection", features: d.f.map(function (f) {
                    return {type: "Feature", properties: {t: f[0], s: f[1]}, geometry: f[2]};
                })}, {
                    pointToLayer: function (f, ll) { return L.circleMarker(ll, d.s[f.properties.s]); },
                    style: function (f) { return d.s[f.properties.s]; }
                });
                layer.bindTooltip(function (l) { return d.t[l.feature.properties.t]; }, {sticky: true});
                layer.addTo({{ this.group.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict, group: folium.FeatureGroup):
        super().__init__()
        self._name = "SectorInitiatives"
        self.payload = js_value(payload)
        self.group = group


def _rounded(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, DECIMALS))


def _lighter(parts: np.ndarray) -> np.ndarray:
    """Lines and areas simplified by :data:`SIMPLIFY_DEG` (topology kept), then rounded."""
    shaped = shapely.get_type_id(parts) != _SINGLE_POINT
    out = parts.copy()
    out[shaped] = shapely.simplify(parts[shaped], SIMPLIFY_DEG, preserve_topology=True)
    return _rounded(out)


def _drawn_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parts, row of each part): collections split into members, multipoints into points.

    Lines and areas stay whole (a multipolygon is one path); parts of no drawable
    kind (empty, nested collections) are dropped.
    """
    rows = np.arange(len(geoms))
    is_gc = shapely.get_type_id(geoms) == _COLLECTION
    members, at = shapely.get_parts(geoms[is_gc], return_index=True)
    geoms = np.concatenate([geoms[~is_gc], members])
    rows = np.concatenate([rows[~is_gc], rows[is_gc][at]])
    types = shapely.get_type_id(geoms)
    multi = types == _MULTI_POINT
    points, at = shapely.get_parts(geoms[multi], return_index=True)
    geoms = np.concatenate([geoms[~multi], points])
    rows = np.concatenate([rows[~multi], rows[multi][at]])
    keep = ~shapely.is_empty(geoms) & (shapely.get_type_id(geoms) != _COLLECTION)
    order = np.argsort(rows[keep], kind="stable")
    return geoms[keep][order], rows[keep][order]


def initiatives_payload(sited: gpd.GeoDataFrame, window: tuple[float, float, float, float] | None = None) -> dict:
    """The document :class:`SectorInitiatives` draws.

    Parameters
    ----------
    sited : geopandas.GeoDataFrame
        Sited initiatives (EPSG:4326) with ``nombre``, ``estrategia``, ``tipo`` and
        optionally ``estado`` and ``avance_fisico`` (:func:`layers.sector.with_status`).
    window : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` in degrees: when the initiatives have more than
        :data:`PARTS_LIMIT` parts, only the parts that meet it are drawn.

    Returns
    -------
    dict
        ``f``: one ``[tip, style, geometry]`` per drawn part (points one by one, a line or
        area whole, simplified by :data:`SIMPLIFY_DEG`; geometry as GeoJSON, coordinates to
        :data:`DECIMALS` places); ``t``:
        one tooltip per initiative, HTML-escaped (name, strategy, type, status); ``s``:
        the Leaflet styles (:mod:`views.symbology`), per kind and strategy.
    """
    tips = []
    for row in sited.itertuples(index=False):
        tip = f"<b>{html_text(row.nombre)}</b><br>{html_text(row.estrategia)} · {html_text(row.tipo)}"
        status = status_text(getattr(row, "estado", None), getattr(row, "avance_fisico", None))
        tips.append(tip + (f"<br>{html_text(status)}" if status else ""))
    parts, rows = _drawn_parts(np.asarray(sited.geometry.array, dtype=object))
    if window is not None and len(parts) > PARTS_LIMIT:
        near = shapely.intersects(parts, shapely.box(*window))
        parts, rows = parts[near], rows[near]
    styles: list[dict] = []
    index: dict[tuple[str, str], int] = {}
    makers = {"point": symbology.point_style, "line": symbology.line_style, "polygon": symbology.polygon_style}
    features = []
    strategies = sited["estrategia"].astype(str).to_numpy()
    geojson = shapely.to_geojson(_lighter(parts)) if len(parts) else []
    for part, row, text in zip(parts, rows, geojson):
        kind = symbology.geometry_kind(part.geom_type)
        if kind is None:
            continue
        key = (kind, strategies[row])
        if key not in index:
            index[key] = len(styles)
            styles.append(makers[kind](strategies[row]))
        features.append([int(row), index[key], json.loads(text)])
    return {"f": features, "t": tips, "s": styles}


def _geojson(geom: shapely.Geometry) -> dict:
    return json.loads(shapely.to_geojson(geom))


def _tip_feature(geom: shapely.Geometry, tip_html: str) -> dict:
    """A GeoJSON Feature whose ``tip`` property is the (already HTML-escaped) tooltip.

    Tooltip texts travel as GeoJSON properties, which folium writes as JSON, and never
    as ``folium.Tooltip`` text, which folium pastes into a JavaScript template literal
    (where ``${...}`` and a backtick in a name would be code).
    """
    return {"type": "Feature", "properties": {"tip": tip_html}, "geometry": _geojson(geom)}


def _tooltip() -> folium.GeoJsonTooltip:
    """Tooltip that shows the ``tip`` property of :func:`_tip_feature` as HTML."""
    return folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True)


def legend_sections(summary: SectorSummary) -> list[Section]:
    """What the sector map's legend lists: the territory, its neighbours, the commune, the strategies drawn.

    Parameters
    ----------
    summary : SectorSummary
        Output of :func:`layers.sector.sector_summary`.

    Returns
    -------
    list of views.legend.Section
        One section; texts as they are (the legend template escapes them).
    """
    def area(style: dict[str, object]) -> Swatch:
        return Swatch("area", str(style["fillColor"]), stroke=str(style["color"]), weight=2)

    rows = [
        (area(TERRITORY_STYLE), "Territorio"),
        (area(NEIGHBOUR_STYLE), "Territorios vecinos"),
        (Swatch("outline", str(symbology.COMMUNE_STYLE["color"]), weight=2, dashed=True), "Límite comunal"),
    ]
    names = {g.key: g.label for g in summary.by_strategy}
    for sid in dict.fromkeys(summary.sited["estrategia"]):
        swatch = Swatch("point", symbology.strategy_color(sid), stroke=symbology.MARK_OUTLINE, weight=1.5)
        rows.append((swatch, f"{sid} · {names.get(sid, '')}"))
    return [Section(None, rows)]


def sector_map(
    summary: SectorSummary,
    commune: gpd.GeoDataFrame | shapely.Geometry,
    territories: gpd.GeoDataFrame | None = None,
    city: dict | None = None,
) -> folium.Map:
    """Folium map of one territory with its neighbours and its sited initiatives.

    Parameters
    ----------
    summary : SectorSummary
        Output of :func:`layers.sector.sector_summary` (geometries in EPSG:4326).
    commune : geopandas.GeoDataFrame or shapely geometry
        Commune boundary, EPSG:4326.
    territories : geopandas.GeoDataFrame, optional
        The whole territory layer (EPSG:4326): the territories that are neither this
        one nor its neighbours are outlined for context.
    city : dict, optional
        :func:`views.citycontext.blocks_payload` of the census blocks: drawn light and
        thin above the territory fills and below the rest.

    Returns
    -------
    folium.Map
        Fitted to the territory; call :func:`views.webassets.localize_map` before drawing.
    """
    if isinstance(commune, gpd.GeoDataFrame):
        commune_geom = commune.to_crs(WGS84).geometry.union_all()
    else:
        commune_geom = commune
    own = summary.territory.geometry
    minx, miny, maxx, maxy = own.bounds
    m = webassets.offline_map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=13)
    # The census blocks go above the fills of the territory and its neighbours, below the rest.
    pane = {"pane": citycontext.territory_pane(m)} if city is not None else {}

    folium.GeoJson(
        _geojson(shapely.boundary(commune_geom)),
        name="Límite comunal",
        style_function=lambda _: {**symbology.COMMUNE_STYLE, "dashArray": "8 4"},
        interactive=False,
    ).add_to(m)

    if territories is not None:
        outlines = _other_outlines(summary, territories)
        if outlines is not None:
            folium.GeoJson(
                _geojson(outlines),
                name="Otros territorios",
                style_function=lambda _: dict(OTHER_STYLE),
                interactive=False,
            ).add_to(m)

    if len(summary.neighbours):
        near = summary.neighbours
        features = [
            {**_tip_feature(geom, f"{html_text(name)} ({html_text(tipo)})"), "id": i}  # folium keys styles on ids
            for i, (geom, name, tipo) in enumerate(zip(_rounded(np.asarray(near.geometry.array, dtype=object)),
                                                       near["nombre"], near["tipo"]))
        ]
        folium.GeoJson(  # one layer, one tooltip for every neighbour
            {"type": "FeatureCollection", "features": features},
            name="Territorios vecinos",
            style_function=lambda _: dict(NEIGHBOUR_STYLE),
            highlight_function=lambda _: {"weight": 2.5, "fillOpacity": 0.6},
            tooltip=_tooltip(),
            **pane,
        ).add_to(m)

    folium.GeoJson(
        _tip_feature(own, f"{html_text(summary.nombre)} ({html_text(summary.tipo)})"),
        name=html_text(summary.nombre),  # the layer control shows names as HTML
        style_function=lambda _: dict(TERRITORY_STYLE),
        tooltip=_tooltip(),
        **pane,
    ).add_to(m)
    if city is not None:  # territory names are written by views.maplocale.prepare, where they fit
        citycontext.add_city_context(m, city, [])

    sited = summary.sited
    if len(sited):
        group = folium.FeatureGroup(name="Iniciativas con ubicación").add_to(m)
        m.add_child(SectorInitiatives(initiatives_payload(sited, _window(summary)), group))

    m.add_child(Legend(legend_sections(summary), css_class="sit-sector-legend"))
    folium.LayerControl(collapsed=True).add_to(m)
    # Open on the territory with a margin, so that its neighbours show around it.
    dx, dy = (maxx - minx) * FIT_MARGIN, (maxy - miny) * FIT_MARGIN
    m.fit_bounds([[miny - dy, minx - dx], [maxy + dy, maxx + dx]])
    return m


def _window(summary: SectorSummary) -> tuple[float, float, float, float]:
    """The territory's bounds widened by :data:`OTHERS_WINDOW` times its extent on every side (degrees)."""
    minx, miny, maxx, maxy = summary.territory.geometry.bounds
    dx, dy = (maxx - minx) * OTHERS_WINDOW, (maxy - miny) * OTHERS_WINDOW
    return (minx - dx, miny - dy, maxx + dx, maxy + dy)


def _dissolved(geoms: np.ndarray) -> shapely.Geometry:
    """Union of polygons; the fast coverage union when they do not overlap (a territory layer)."""
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:  # overlapping polygons: the general union
        return shapely.union_all(shapely.make_valid(geoms))


def _other_outlines(summary: SectorSummary, territories: gpd.GeoDataFrame) -> shapely.Geometry | None:
    """Boundaries of the territories that are neither this one nor its neighbours, merged (EPSG:4326).

    With more than :data:`OTHERS_LIMIT` of them, only the part within
    :data:`OTHERS_WINDOW` times the territory's extent around it, and the outline of
    their union when more than that many remain; ``None`` when nothing is left.
    """
    shown = {summary.slug, *summary.neighbours["slug"]}
    others = territories[~territories["slug"].isin(shown)]
    geoms = np.asarray(others.to_crs(WGS84).geometry.array, dtype=object)
    if len(geoms) > OTHERS_LIMIT:
        window = _window(summary)
        geoms = geoms[shapely.intersects(geoms, shapely.box(*window))]
        if len(geoms) > OTHERS_LIMIT:  # too many to tell apart at this scale: their common outline
            geoms = np.asarray([_dissolved(geoms)], dtype=object)
        geoms = shapely.clip_by_rect(shapely.boundary(geoms), *window)
    else:
        geoms = shapely.boundary(geoms)
    if not len(geoms):
        return None
    merged = _rounded(np.asarray([shapely.union_all(geoms)], dtype=object))[0]
    return None if merged.is_empty else merged
