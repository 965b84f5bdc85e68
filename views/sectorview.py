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

import folium
import geopandas as gpd
import shapely

from geo.crs import WGS84
from layers.sector import SectorSummary
from views import citycontext, symbology, webassets
from views.escape import html_text
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


def _geojson(geom: shapely.Geometry) -> dict:
    return shapely.geometry.mapping(geom)


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
        shown = {summary.slug, *summary.neighbours["slug"]}
        others = territories[~territories["slug"].isin(shown)]
        if len(others):
            folium.GeoJson(
                _geojson(shapely.union_all(shapely.boundary(others.to_crs(WGS84).geometry.array))),
                name="Otros territorios",
                style_function=lambda _: dict(OTHER_STYLE),
                interactive=False,
            ).add_to(m)

    if len(summary.neighbours):
        group = folium.FeatureGroup(name="Territorios vecinos").add_to(m)
        for row in summary.neighbours.itertuples(index=False):
            folium.GeoJson(
                _tip_feature(row.geometry, f"{html_text(row.nombre)} ({html_text(row.tipo)})"),
                style_function=lambda _: dict(NEIGHBOUR_STYLE),
                highlight_function=lambda _: {"weight": 2.5, "fillOpacity": 0.6},
                tooltip=_tooltip(),
                **pane,
            ).add_to(group)

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
        for row in sited.itertuples(index=False):
            _add_initiative(group, row)

    m.add_child(Legend(legend_sections(summary), css_class="sit-sector-legend"))
    folium.LayerControl(collapsed=True).add_to(m)
    # Open on the territory with a margin, so that its neighbours show around it.
    dx, dy = (maxx - minx) * FIT_MARGIN, (maxy - miny) * FIT_MARGIN
    m.fit_bounds([[miny - dy, minx - dx], [maxy + dy, maxx + dx]])
    return m


def _add_initiative(group: folium.FeatureGroup, row) -> None:
    """Draw one sited initiative: points as circles, lines and areas as paths."""
    tip = f"<b>{html_text(row.nombre)}</b><br>{html_text(row.estrategia)} · {html_text(row.tipo)}"
    status = status_text(getattr(row, "estado", None), getattr(row, "avance_fisico", None))
    if status:  # the monitoring status and physical progress (layers.sector.with_status)
        tip += f"<br>{html_text(status)}"
    points, others = [], []
    for part in shapely.get_parts(row.geometry):
        (points if part.geom_type == "Point" else others).append(part)
    for part in others:
        kind = symbology.geometry_kind(part.geom_type)
        style = symbology.polygon_style(row.estrategia) if kind == "polygon" else symbology.line_style(row.estrategia)
        folium.GeoJson(
            _tip_feature(part, tip), style_function=lambda _, s=style: dict(s), tooltip=_tooltip()
        ).add_to(group)
    point_style = symbology.point_style(row.estrategia)
    for point in points:
        folium.GeoJson(
            _tip_feature(point, tip), marker=folium.CircleMarker(**point_style),
            style_function=lambda _, s=point_style: dict(s), tooltip=_tooltip(),
        ).add_to(group)
