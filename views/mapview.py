"""The plan's map: territories as a choropleth, sited initiatives by strategy, one folium map.

What the map shows
------------------
- the commune boundary (outline);
- every territory of the active layer, filled by how many initiatives of the
  CURRENT selection concern it (:func:`territory_counts` over the relations of
  :func:`layers.links.relate`). By default every relation counts (sited there,
  linked by name, urban or rural programme, commune-wide), so a commune-wide
  initiative adds one to every territory; with ``specific_only`` only the
  initiatives sited in or linked by name to the territory count. The legend
  says which;
- the territories named in the filter, with a thick outline;
- the sited initiatives of the selection, coloured by strategy or, on request,
  by monitoring status (:data:`views.symbology.ESTADO_COLORS`): points as
  ``circleMarker`` inside a MarkerCluster, lines and areas as GeoJSON paths,
  each with its name as tooltip and a popup with id, tipo, estrategia, plan,
  padre, territorios and fuente_geometria, plus estado and avance físico
  when the monitoring values are given (:func:`with_status`);
- the reference layers people imported (registry ``clase`` ``referencia``),
  one overlay each, in neutral grey (dark grey lines, hollow grey points, grey
  outlines without fill) so they never read as a strategy or a choropleth
  class; points of large layers are clustered (:func:`add_reference_layers`);
- OpenStreetMap tiles as an optional overlay, off by default.

Payload
-------
What reaches the browser is kept small: geometries are simplified for display
in metres (EPSG:32719) and rounded to :data:`DISPLAY_DECIMALS` decimals
(:func:`display_geometries`, meant to be cached per store version). The
territories travel as compact GeoJSON with no properties (:func:`territory_geometry`,
the payload floor, the same for every selection, so callers keep it) plus small
per-selection arrays (class, counts, names), drawn as one ``L.geoJSON`` layer with
one tooltip function (:class:`views._elements.TerritoryChoropleth`); from
:data:`CANVAS_MIN_FEATURES` territories on, Leaflet draws on a canvas. The sited
initiatives travel as one compact JSON document (points as ``[lat, lon, record]``,
shared texts through lookup tables); their tooltips and popups are one function per
group, assembled in the browser when opened. The map pages render the whole document
once per view and share it (:mod:`views.mapframe`).

Every text that comes from data is HTML-escaped (:func:`html.escape`) in
Python before it is embedded (the legend, :class:`views.legend.Legend`, by its
autoescaped Jinja2 template); folium, :mod:`views.legend` and :mod:`views._elements`
(the sited initiatives, the reference overlays) additionally write JSON with ``<``,
``>``, ``&`` and ``'`` as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import MarkerCluster

from geo.crs import UTM19S, WGS84
from layers import census, links, sector
from views import citycontext, symbology, webassets
from views._elements import (
    ReferenceOverlay,
    SitedInitiatives,
    TerritoryChoropleth,
    _esc,
    geometry_collection,
    legend_sections,
    reference_legend_sections,
    reference_payload,
    sited_payload,
    territory_payload,
)
from views.escape import js_value
from views.legend import Legend, legend_html
from views.restyle import SelectionFollower

__all__ = [
    "DISPLAY_TOLERANCE_M", "DISPLAY_DECIMALS", "MIN_FIT_SPAN_DEG", "SPECIFIC_RELATIONS", "LAYER_NAMES",
    "display_geometries", "territory_geometry", "selection_update", "reference_kinds", "territory_counts", "count_label", "count_legend_title", "selection_bounds",
    "sited_payload", "legend_sections", "Legend", "SitedInitiatives", "build_map", "selection_map", "map_html",
    "REFERENCE_COLOR", "REFERENCE_STYLES", "REFERENCE_LABEL_FIELDS", "REFERENCE_CLUSTER_MIN_POINTS",
    "reference_labels", "reference_display", "with_status", "reference_payload", "ReferenceOverlay", "add_reference_layers",
]

log = logging.getLogger(__name__)

#: Displacement allowed when simplifying geometries for display (metres, EPSG:32719).
DISPLAY_TOLERANCE_M = 15.0
#: Decimal places of displayed coordinates (1e-5 degree is about 1 m).
DISPLAY_DECIMALS = 5
#: Smallest extent (degrees) the map is fitted to, so one point does not zoom in to the street.
MIN_FIT_SPAN_DEG = 0.01
#: Decimals of the rates (initiatives per 1,000 inhabitants) in legends and tooltips.
RATE_DECIMALS = 2
#: Relations that tie an initiative to one territory in particular.
SPECIFIC_RELATIONS = links.SPECIFIC_RELATIONS
#: Plural labels of the relations, for the territory tooltip.
RELATION_PLURALS = {
    "ubicada": ("ubicada", "ubicadas"),
    "vinculada": ("vinculada", "vinculadas"),
    "urbano": ("programa urbano", "programas urbanos"),
    "rural": ("programa rural", "programas rurales"),
    "comunal": ("comunal", "comunales"),
}
#: Style of the territory under the pointer.
TERRITORY_HIGHLIGHT: dict[str, object] = {"weight": 2.5, "color": "#111111"}
#: From this many territories on, Leaflet draws the map's paths on a canvas instead of
#: one SVG element each (much faster with thousands of polygons; same look and tooltips).
CANVAS_MIN_FEATURES = 1500
#: Names of the map's layers in the layer control.
LAYER_NAMES = {
    "territories": "Territorios (iniciativas por territorio)",
    "selected": "Territorios elegidos",
    "commune": "Límite comunal",
    "points": "Iniciativas ubicadas: puntos",
    "shapes": "Iniciativas ubicadas: líneas y áreas",
}
#: Colour of the reference layers: a dark neutral grey, apart from the strategy
#: colours and the blue-violet choropleth ramp.
REFERENCE_COLOR = "#4D4D4D"
#: Leaflet styles of the reference layers by kind of geometry (no fill anywhere).
REFERENCE_STYLES: dict[str, dict[str, object]] = {
    "point": {"radius": 5, "color": REFERENCE_COLOR, "weight": 1.5, "opacity": 0.95, "fill": False},
    "line": {"color": REFERENCE_COLOR, "weight": 2, "opacity": 0.9},
    "polygon": {"color": "#5F5F5F", "weight": 1.5, "opacity": 0.9, "fill": False},
}
#: Fields whose value labels a reference feature, in order of preference.
REFERENCE_LABEL_FIELDS = ("nombre", "name", "NOMBRE", "Name")
#: Reference layers with at least this many points draw them in a MarkerCluster of their own.
REFERENCE_CLUSTER_MIN_POINTS = 200
#: Column of :func:`reference_display` holding the tooltip text.
REFERENCE_LABEL = "etiqueta"


# --------------------------------------------------------------------------- display geometries


def _round_coords(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def display_geometries(
    gdf: gpd.GeoDataFrame,
    columns: Sequence[str] | None = None,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    decimals: int = DISPLAY_DECIMALS,
) -> gpd.GeoDataFrame:
    """A lighter copy of a layer for drawing: simplified in metres, rounded, few columns.

    Polygon layers that form a clean coverage (no overlaps, like the territories)
    are simplified with :func:`shapely.coverage_simplify`, which keeps shared
    edges shared (no slivers between neighbours); its area-based tolerance is set
    to ``(2.5 * tolerance_m)`` metres, which on the shipped territories moves no
    boundary by more than about ``tolerance_m``. Other layers are simplified one
    feature at a time with ``preserve_topology``. Points are only rounded.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Layer with a CRS (any); null geometries are kept as null.
    columns : sequence of str, optional
        Attribute columns to keep (all by default).
    tolerance_m : float
        Simplification tolerance in metres, applied in EPSG:32719; 0 disables it.
    decimals : int
        Decimal places of the output coordinates (degrees).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and index, EPSG:4326.
    """
    started = time.perf_counter()
    cols = list(columns) if columns is not None else [c for c in gdf.columns if c != gdf.geometry.name]
    out = gpd.GeoDataFrame(gdf[cols].copy(), geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    present = out.geometry.notna().to_numpy() & ~out.geometry.is_empty.to_numpy()
    if not present.any():
        return out.to_crs(WGS84)
    metric = out.geometry[present].to_crs(UTM19S).array
    if tolerance_m > 0:
        types = shapely.get_type_id(metric)
        polygonal = np.isin(types, (3, 6))
        if polygonal.all() and len(metric) > 1 and shapely.coverage_is_valid(metric):
            metric = shapely.coverage_simplify(metric, 2.5 * tolerance_m)
        else:
            lines_or_areas = ~np.isin(types, (0, 4))
            simplified = metric.copy()
            simplified[lines_or_areas] = shapely.simplify(metric[lines_or_areas], tolerance_m, preserve_topology=True)
            metric = simplified
    back = gpd.GeoSeries(metric, crs=UTM19S).to_crs(WGS84).array
    geoms = np.asarray(out.geometry.to_crs(WGS84).array, dtype=object)
    geoms[present] = _round_coords(np.asarray(back, dtype=object), decimals)
    out = gpd.GeoDataFrame(out[cols], geometry=geoms, crs=WGS84)
    log.debug("display geometries: %d features in %.3f s", len(out), time.perf_counter() - started)
    return out


def reference_labels(gdf: pd.DataFrame, fields: Sequence[str] = REFERENCE_LABEL_FIELDS) -> pd.Series:
    """Tooltip text of each reference feature: its first non-empty value of ``fields``.

    Parameters
    ----------
    gdf : pandas.DataFrame
        Reference layer (any columns).
    fields : sequence of str
        Candidate columns, in order of preference; absent ones are skipped.

    Returns
    -------
    pandas.Series of object
        Same index; ``None`` where no field has a value.
    """
    out = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    for name in fields:
        if name not in gdf.columns:
            continue
        values = gdf[name].astype(object).where(gdf[name].notna(), None).map(
            lambda v: None if v is None or str(v).strip() == "" else str(v)
        )
        out = out.where(out.notna(), values)
    return out.astype(object).where(out.notna(), None)


def reference_display(gdf: gpd.GeoDataFrame, tolerance_m: float = DISPLAY_TOLERANCE_M) -> gpd.GeoDataFrame:
    """A reference layer ready to draw: display geometries and one column, :data:`REFERENCE_LABEL`.

    Meant to be cached per store version, like :func:`display_geometries`.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Reference layer of the store (any geometry types, any attributes).
    tolerance_m : float
        Simplification tolerance in metres (EPSG:32719).

    Returns
    -------
    geopandas.GeoDataFrame
        ``etiqueta`` (see :func:`reference_labels`) and geometry, EPSG:4326.
    """
    labelled = gpd.GeoDataFrame(
        {REFERENCE_LABEL: reference_labels(gdf).to_numpy()}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs
    )
    return display_geometries(labelled, columns=[REFERENCE_LABEL], tolerance_m=tolerance_m)


def _reference_items(
    reference_layers: Mapping[str, gpd.GeoDataFrame] | Iterable[tuple[str, gpd.GeoDataFrame]] | None,
) -> list[tuple[str, gpd.GeoDataFrame]]:
    if reference_layers is None:
        return []
    if isinstance(reference_layers, Mapping):
        return list(reference_layers.items())
    return list(reference_layers)


def add_reference_layers(
    m: folium.Map,
    reference_layers: Mapping[str, gpd.GeoDataFrame] | Iterable[tuple[str, gpd.GeoDataFrame]] | None,
    cluster_min_points: int = REFERENCE_CLUSTER_MIN_POINTS,
) -> list[tuple[str, dict[str, int]]]:
    """Draw each reference layer as an overlay of its own (shown, listed in the layer control).

    Parameters
    ----------
    m : folium.Map
        The map to draw on.
    reference_layers : mapping of str to GeoDataFrame, or iterable of (str, GeoDataFrame)
        Title of each layer (as the layer control lists it) and its
        :func:`reference_display` frame, in drawing order.
    cluster_min_points : int
        A layer with at least this many points draws them in a MarkerCluster of its own.

    Returns
    -------
    list of (str, dict)
        Title and feature counts per kind of each layer drawn (for the legend).
    """
    drawn = []
    for title, gdf in _reference_items(reference_layers):
        payload, kinds = reference_payload(gdf, REFERENCE_LABEL, REFERENCE_STYLES)
        group = folium.FeatureGroup(name=_esc(title), show=True, overlay=True, control=True).add_to(m)
        points = group
        if len(payload["pt"]) >= cluster_min_points:
            points = MarkerCluster(
                control=False,
                options={"maxClusterRadius": 50, "disableClusteringAtZoom": 17, "showCoverageOnHover": False},
            ).add_to(group)
        m.add_child(ReferenceOverlay(payload, group, points))
        drawn.append((str(title), kinds))
    return drawn


# --------------------------------------------------------------------------- counts


def _specific_pairs(relations) -> pd.DataFrame:
    """``id``, ``slug``, ``relacion`` of the sited and linked pairs (a Relations rule or a pairs table)."""
    if isinstance(relations, pd.DataFrame):
        return relations[relations["relacion"].isin(SPECIFIC_RELATIONS)]
    return relations.specific


def territory_counts(
    relations: links.Relations | pd.DataFrame,
    selected_ids: Iterable[str],
    slugs: Iterable[str],
    specific_only: bool = False,
) -> pd.DataFrame:
    """How many selected initiatives concern each territory, by relation.

    Parameters
    ----------
    relations : layers.links.Relations or pandas.DataFrame
        :func:`layers.links.relate` for the active territory layer (computed over ALL
        initiatives); scope-wide initiatives are counted by its rule
        (:meth:`layers.links.Relations.counts`), never as one row per territory. A
        table of pairs (``id``, ``slug``, ``relacion``) is accepted too.
    selected_ids : iterable of str
        Ids of the initiatives of the current selection (after filters).
    slugs : iterable of str
        Every territory of the active layer, in display order.
    specific_only : bool
        Count only the relations of :data:`SPECIFIC_RELATIONS` in ``n``.

    Returns
    -------
    pandas.DataFrame
        Indexed by slug (every territory, zeros included), one int column per
        relation of :data:`layers.links.RELACIONES` and ``n``, the count drawn.
    """
    order = list(slugs)
    ids = set(selected_ids)
    if isinstance(relations, pd.DataFrame):
        rel = relations[relations["id"].isin(ids)]
        table = (
            rel.groupby(["slug", "relacion"]).size().unstack(fill_value=0)
            .reindex(index=order, columns=list(links.RELACIONES), fill_value=0)
            .fillna(0).astype("int64")
        )
    else:
        table = relations.counts(ids, order).reindex(columns=list(links.RELACIONES), fill_value=0).astype("int64")
    table.index.name = "slug"
    kinds = list(SPECIFIC_RELATIONS) if specific_only else list(links.RELACIONES)
    table["n"] = table[kinds].sum(axis=1).astype("int64")
    return table


def count_label(specific_only: bool, per_thousand: bool = False) -> str:
    """What the choropleth counts, in one sentence (caption under the map)."""
    if specific_only:
        text = ("Color de los territorios: cuántas iniciativas de la selección tienen un lugar en cada territorio "
                "o el plan le asigna por nombre")
    else:
        text = (
            "Color de los territorios: cuántas iniciativas de la selección conciernen a cada territorio, "
            "incluidas las de toda la comuna, toda la ciudad o todo el campo"
        )
    if per_thousand:
        text += (
            ", por cada 1.000 habitantes (población del Censo 2017 de cada zona urbana; "
            "los territorios sin población censal van en gris)"
        )
    return text


def count_legend_title(specific_only: bool, per_thousand: bool = False) -> tuple[str, str]:
    """Legend title and subtitle of the choropleth for a counting mode."""
    title = "Iniciativas por 1.000 habitantes" if per_thousand else "Iniciativas por territorio"
    if specific_only:
        return title, "de la selección, solo ubicadas o vinculadas"
    return title, "de la selección, incluye alcance comunal, urbano o rural"


def territory_values(
    counts: pd.DataFrame, territories: pd.DataFrame, per_thousand: bool = False
) -> tuple[np.ndarray, list[float], int]:
    """The value each territory is coloured by, the class breaks and the decimals of the labels.

    Parameters
    ----------
    counts : pandas.DataFrame
        :func:`territory_counts` (index slug, column ``n``).
    territories : pandas.DataFrame
        Active territory layer (``slug``; ``poblacion`` in persons, Censo 2017, when it has one).
    per_thousand : bool
        Initiatives per 1,000 inhabitants (:func:`layers.census.per_thousand`); NaN where
        the territory has no census population, or for a layer without ``poblacion``.

    Returns
    -------
    tuple of (numpy.ndarray, list, int)
        Values in layer order (float), breaks (:func:`views.symbology.class_breaks` for
        counts, :func:`views.symbology.rate_breaks` for rates) and label decimals (0 for counts).
    """
    n = counts["n"].reindex(territories["slug"]).fillna(0).astype("int64").to_numpy()
    if per_thousand:
        population = territories["poblacion"].to_numpy() if "poblacion" in territories.columns else np.full(len(n), np.nan)
        rate = census.per_thousand(n, population)
        return rate, symbology.rate_breaks(rate, decimals=RATE_DECIMALS), RATE_DECIMALS
    values = n.astype(float)
    return values, symbology.class_breaks(values), 0


def _breakdowns(counts: pd.DataFrame) -> list[str]:
    """``"2 ubicadas · 148 comunales"`` for each row of :func:`territory_counts`."""
    labels = list(RELATION_PLURALS.values())
    table = counts.reindex(columns=list(RELATION_PLURALS), fill_value=0).fillna(0).astype("int64").to_numpy()
    out = []
    for row in table:
        parts = [f"{k} {one if k == 1 else many}" for k, (one, many) in zip(row, labels) if k]
        out.append(" · ".join(parts) if parts else "ninguna")
    return out


# --------------------------------------------------------------------------- bounds


def _bounds_of(geoms: gpd.GeoSeries) -> list[list[float]] | None:
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    if geoms.empty:
        return None
    west, south, east, north = geoms.to_crs(WGS84).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def _padded(bounds: list[list[float]], min_span: float = MIN_FIT_SPAN_DEG) -> list[list[float]]:
    (south, west), (north, east) = bounds
    lat_pad = max(0.0, (min_span - (north - south)) / 2)
    lon_pad = max(0.0, (min_span - (east - west)) / 2)
    return [[south - lat_pad, west - lon_pad], [north + lat_pad, east + lon_pad]]


def selection_bounds(
    initiatives: gpd.GeoDataFrame | None,
    territories: gpd.GeoDataFrame | None,
    commune: gpd.GeoDataFrame,
) -> list[list[float]]:
    """Extent the map opens on: the sited initiatives, else the territories, else the commune.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame or None
        Selected initiatives (rows without geometry are ignored). Pass ``None``
        when nothing is filtered, to open on the whole commune.
    territories : geopandas.GeoDataFrame or None
        Territories named in the filter. When given, the map opens on them
        together with the sited initiatives of the selection.
    commune : geopandas.GeoDataFrame
        Commune boundary (fallback).

    Returns
    -------
    list
        ``[[south, west], [north, east]]`` in degrees (Leaflet order), at least
        :data:`MIN_FIT_SPAN_DEG` wide and high.
    """
    parts = []
    if territories is not None and len(territories):
        parts.append(_bounds_of(territories.geometry))
    if initiatives is not None and len(initiatives):
        parts.append(_bounds_of(initiatives.geometry))
    parts = [p for p in parts if p is not None]
    if not parts:
        parts = [_bounds_of(commune.geometry)]
    south = min(p[0][0] for p in parts)
    west = min(p[0][1] for p in parts)
    north = max(p[1][0] for p in parts)
    east = max(p[1][1] for p in parts)
    (s, w), (n, e) = _padded([[south, west], [north, east]])
    return [[round(s, DISPLAY_DECIMALS), round(w, DISPLAY_DECIMALS)], [round(n, DISPLAY_DECIMALS), round(e, DISPLAY_DECIMALS)]]


def _territory_names(
    relations: links.Relations | None, territories: gpd.GeoDataFrame | None, ids: Sequence[str]
) -> dict[str, list[str]]:
    """Names of the territories each initiative is sited in or linked to, in layer order."""
    if relations is None or territories is None or not len(ids):
        return {}
    rel = relations.specific[relations.specific["id"].isin(set(ids))]
    names = territories.set_index("slug")["nombre"]
    order = {slug: i for i, slug in enumerate(territories["slug"])}
    rel = rel.assign(_o=rel["slug"].map(order), _n=rel["slug"].map(names)).dropna(subset=["_n"]).sort_values("_o")
    return rel.groupby("id")["_n"].agg(lambda s: [str(v) for v in s]).to_dict()


def territory_geometry(territories: gpd.GeoDataFrame) -> str:
    """The territories' display geometries as compact GeoJSON text (:func:`views._elements.geometry_collection`).

    Parameters
    ----------
    territories : geopandas.GeoDataFrame
        Display geometries (:func:`display_geometries`), EPSG:4326, in layer order.

    Returns
    -------
    str
        A FeatureCollection whose feature ``id`` is the row position; the payload floor of
        the territory layer, reused by every selection (cache it per store version and layer).
    """
    return geometry_collection(territories.geometry.array)


def _feature_collection(gdf: gpd.GeoDataFrame, properties: Sequence[str]) -> dict[str, object]:
    feats = []
    for i, (values, geom) in enumerate(zip(gdf[list(properties)].itertuples(index=False), gdf.geometry.array)):
        if geom is None or geom.is_empty:
            continue
        feats.append({
            "type": "Feature",
            "id": i,  # short unique id: folium keys its per-feature styles on it
            "properties": dict(zip(properties, values)),
            "geometry": shapely.geometry.mapping(geom),
        })
    return {"type": "FeatureCollection", "features": feats}


def build_map(
    commune: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    initiatives: gpd.GeoDataFrame,
    *,
    strategies: Mapping[str, str],
    specific_only: bool = False,
    selected_territories: Sequence[str] = (),
    relations: links.Relations | pd.DataFrame | None = None,
    fit: list[list[float]] | None = None,
    reference_layers: Mapping[str, gpd.GeoDataFrame] | Iterable[tuple[str, gpd.GeoDataFrame]] | None = None,
    color_by: str = "estrategia",
    per_thousand: bool = False,
    city: Mapping[str, object] | None = None,
    territory_geometry: str | None = None,
    fit_key: str = "",
) -> folium.Map:
    """Build the plan's map for a selection.

    Parameters
    ----------
    commune : geopandas.GeoDataFrame
        Commune boundary, display geometry (:func:`display_geometries`), EPSG:4326.
    territories : geopandas.GeoDataFrame
        Active territory layer with ``slug``, ``nombre``, ``tipo``, display geometries.
    counts : pandas.DataFrame
        :func:`territory_counts` of the selection (index slug, column ``n``).
    initiatives : geopandas.GeoDataFrame
        The selected initiatives with display geometries; only sited ones are drawn.
    strategies : mapping of str to str
        Strategy id -> name, in display order (legend, popups).
    specific_only : bool
        How ``counts`` were computed (legend title only).
    selected_territories : sequence of str
        Slugs named in the filter; outlined.
    relations : layers.links.Relations, optional
        Relations of the active layer, to name the territories in popups.
    fit : list, optional
        ``[[south, west], [north, east]]`` to open on; default :func:`selection_bounds`
        of the sited initiatives and selected territories (the commune when none).
    reference_layers : mapping of str to GeoDataFrame, or iterable of (str, GeoDataFrame), optional
        Reference overlays (title -> :func:`reference_display` frame), drawn above the
        territories and below the initiatives; see :func:`add_reference_layers`.
    color_by : {"estrategia", "estado"}
        Colour the sited initiatives by strategy or by monitoring status (the
        ``estado`` column of ``initiatives``); popups and tooltips show the status and
        the physical progress whenever ``initiatives`` has an ``estado`` column.
    per_thousand : bool
        Colour by initiatives per 1,000 inhabitants where ``territories`` has a
        ``poblacion`` (see :func:`territory_values`); territories without it are grey.
    city : mapping, optional
        :func:`views.citycontext.blocks_payload` of the census blocks: drawn light and
        thin above the territory fills and below everything else
        (:func:`views.citycontext.add_city_context`); the territory names are written by
        :func:`views.maplocale.prepare`.
    territory_geometry : str, optional
        :func:`territory_geometry` of ``territories``: the same for every selection, so
        callers keep it (per store version and layer) and a new selection only adds its
        small arrays; computed here when not given.
    fit_key : str
        What decides the extent of this selection (:func:`selection_update`): a later
        selection drawn in this map with the same key keeps the view the person has.

    Returns
    -------
    folium.Map
        Tile-less map (OpenStreetMap optional, off) with the layers, a legend and a
        layer control, already passed through :func:`views.webassets.localize_map`.
        Its paths are drawn on a canvas from :data:`CANVAS_MIN_FEATURES` territories on.
    """
    started = time.perf_counter()
    chosen = territories[territories["slug"].isin(set(selected_territories))]
    if fit is None:
        fit = selection_bounds(initiatives, chosen, commune)
    centre = [round((fit[0][0] + fit[1][0]) / 2, DISPLAY_DECIMALS), round((fit[0][1] + fit[1][1]) / 2, DISPLAY_DECIMALS)]
    m = webassets.offline_map(
        location=centre, zoom_start=11, show_osm=False, control_scale=True,
        prefer_canvas=len(territories) >= CANVAS_MIN_FEATURES,
    )
    pane = citycontext.territory_pane(m) if city is not None else None
    n, breaks, decimals = _add_choropleth(m, territories, counts, per_thousand, pane, territory_geometry)
    if city is not None:  # zone names are written by views.maplocale.prepare, where they fit
        citycontext.add_city_context(m, city, [])
    outline = _add_outlines(m, chosen, commune)
    references = add_reference_layers(m, reference_layers)
    sited, kinds = _add_sited_initiatives(m, initiatives, strategies, relations, territories, color_by)
    sections = _legend_sections(n, breaks, decimals, specific_only, per_thousand, strategies, sited, kinds, color_by)
    m.add_child(Legend(sections + reference_legend_sections(references, REFERENCE_STYLES)))
    control = folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.add_child(SelectionFollower(outline, control, _esc(LAYER_NAMES["selected"]), symbology.SELECTED_TERRITORY_STYLE,
                                  fit_key=fit_key))
    opening = folium.map.FitBounds(fit)
    opening.options["animate"] = False  # no zoom animation left running for a link's view to race with
    m.add_child(opening)
    webassets.localize_map(m)
    log.info(
        "map built in %.3f s: %d territories, %d sited initiatives (%s)",
        time.perf_counter() - started, len(territories), len(sited),
        ", ".join(f"{k} {v}" for k, v in kinds.items()),
    )
    return m


def _territory_part(
    territories: gpd.GeoDataFrame, counts: pd.DataFrame, per_thousand: bool = False, pane: str | None = None,
) -> tuple[dict[str, object], np.ndarray, list[float], int]:
    """The territories' document (:func:`views._elements.territory_payload`), values, breaks and label decimals."""
    values, breaks, decimals = territory_values(counts, territories, per_thousand)
    n = counts["n"].reindex(territories["slug"]).fillna(0).astype("int64").to_numpy()
    palette = [symbology.ZERO_COLOR, *symbology.class_colors(len(breaks)), symbology.NO_DATA_COLOR]
    classes = symbology.classify(np.nan_to_num(values, nan=0.0), breaks)
    classes = np.where(np.isnan(values), len(palette) - 1, classes)
    rates = None
    if per_thousand:
        rates = ["sin población censal" if np.isnan(v) else f"{v:.{RATE_DECIMALS}f}".replace(".", ",") for v in values]
    by_relation = counts.reindex(index=territories["slug"], columns=list(RELATION_PLURALS), fill_value=0).fillna(0)
    payload = territory_payload(
        territories["nombre"].tolist(), territories["tipo"].tolist(), n, by_relation.to_numpy(dtype=np.int64),
        classes, palette, relation_labels=list(RELATION_PLURALS.values()), rates=rates,
        style=symbology.TERRITORY_STYLE, highlight=TERRITORY_HIGHLIGHT, pane=pane,
    )
    return payload, values, breaks, decimals


def _legend_sections(
    n: np.ndarray, breaks: list[float], decimals: int, specific_only: bool, per_thousand: bool,
    strategies: Mapping[str, str], sited: gpd.GeoDataFrame, kinds: Mapping[str, int], color_by: str,
) -> list:
    """The legend of a selection without the reference layers (:func:`views._elements.legend_sections`)."""
    positive = n[np.isfinite(n) & (n > 0)]
    return legend_sections(
        breaks, count_legend_title(specific_only, per_thousand), strategies, sited["estrategia"].astype(str), kinds,
        minimum=(float(positive.min()) if decimals else int(positive.min())) if positive.size else 1,
        zero=bool((n == 0).any()), color_by=color_by, decimals=decimals, no_data=bool(np.isnan(n).any()),
        values=positive,
    )


def _add_choropleth(
    m: folium.Map, territories: gpd.GeoDataFrame, counts: pd.DataFrame, per_thousand: bool = False,
    pane: str | None = None, geometry: str | None = None,
) -> tuple[np.ndarray, list[float], int]:
    """Draw the territories filled by their class, with one tooltip function (counts by relation).

    ``geometry`` is :func:`territory_geometry` of ``territories`` when the caller keeps it
    (it does not depend on the selection); it is computed here otherwise.

    Returns
    -------
    tuple of (numpy.ndarray, list, int)
        The value drawn for each territory (layer order; NaN where a rate has no
        population), the class breaks and the decimals of their labels.
    """
    payload, values, breaks, decimals = _territory_part(territories, counts, per_thousand, pane)
    if geometry is None:
        geometry = geometry_collection(territories.geometry.array)
    group = folium.FeatureGroup(name=LAYER_NAMES["territories"], show=True).add_to(m)
    m.add_child(TerritoryChoropleth(payload, geometry, group))
    return values, breaks, decimals


def _add_outlines(m: folium.Map, chosen: gpd.GeoDataFrame, commune: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """Outline the territories named in the filter (when any) and the commune boundary; the first layer or None."""
    outline = None
    if len(chosen):
        sel = gpd.GeoDataFrame({"nombre": [_esc(v) for v in chosen["nombre"]]}, geometry=chosen.geometry.to_numpy(), crs=WGS84)
        outline = folium.GeoJson(
            _feature_collection(sel, ["nombre"]),
            name=LAYER_NAMES["selected"],
            style_function=lambda f: dict(symbology.SELECTED_TERRITORY_STYLE),
            interactive=False,
        ).add_to(m)
    folium.GeoJson(
        _feature_collection(commune, []),
        name=LAYER_NAMES["commune"],
        style_function=lambda f: dict(symbology.COMMUNE_STYLE),
        interactive=False,
    ).add_to(m)
    return outline


def _sited_part(
    initiatives: gpd.GeoDataFrame, strategies: Mapping[str, str], relations: links.Relations | pd.DataFrame | None,
    territories: gpd.GeoDataFrame, color_by: str = "estrategia",
) -> tuple[gpd.GeoDataFrame, dict[str, object], dict[str, int]]:
    """The initiatives drawn (those with a geometry), their document (:func:`views._elements.sited_payload`) and kinds."""
    sited = initiatives[initiatives.geometry.notna() & ~initiatives.geometry.is_empty]
    names = _territory_names(relations, territories, list(sited["id"])) if relations is not None else None
    payload, kinds = sited_payload(sited, strategies, territory_names=names, color_by=color_by)
    return sited, payload, kinds


def _add_sited_initiatives(
    m: folium.Map,
    initiatives: gpd.GeoDataFrame,
    strategies: Mapping[str, str],
    relations: links.Relations | pd.DataFrame | None,
    territories: gpd.GeoDataFrame,
    color_by: str = "estrategia",
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Draw the sited initiatives: points clustered, lines and areas in a group, one JSON document.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, dict)
        The initiatives drawn (those with a geometry) and the features per kind.
    """
    sited, payload, kinds = _sited_part(initiatives, strategies, relations, territories, color_by)
    shapes = folium.FeatureGroup(name=LAYER_NAMES["shapes"], show=True).add_to(m)
    cluster = MarkerCluster(
        name=LAYER_NAMES["points"],
        options={"maxClusterRadius": 40, "disableClusteringAtZoom": 17, "showCoverageOnHover": False},
    ).add_to(m)
    m.add_child(SitedInitiatives(payload, cluster, shapes))
    return sited, kinds


def _selected_and_counts(
    initiatives: gpd.GeoDataFrame, selected_ids: Iterable[str], relations: links.Relations | pd.DataFrame,
    territories: gpd.GeoDataFrame, monitoring: pd.DataFrame | None, specific_only: bool,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The selected initiatives (with their monitoring status when given) and :func:`territory_counts`."""
    ids = list(dict.fromkeys(selected_ids))
    selected = initiatives[initiatives["id"].isin(set(ids))]
    if monitoring is not None:
        selected = with_status(selected, monitoring)
    return selected, territory_counts(relations, ids, territories["slug"], specific_only=specific_only)


def selection_map(
    commune: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    initiatives: gpd.GeoDataFrame,
    selected_ids: Iterable[str],
    relations: links.Relations | pd.DataFrame,
    *,
    strategies: Mapping[str, str],
    specific_only: bool = False,
    selected_territories: Sequence[str] = (),
    filtered: bool = True,
    reference_layers: Mapping[str, gpd.GeoDataFrame] | Iterable[tuple[str, gpd.GeoDataFrame]] | None = None,
    monitoring: pd.DataFrame | None = None,
    color_by: str = "estrategia",
    per_thousand: bool = False,
    city: Mapping[str, object] | None = None,
    territory_geometry: str | None = None,
    fit_key: str = "",
) -> folium.Map:
    """The map of a selection, from the display layers of the whole plan.

    Parameters
    ----------
    commune, territories, initiatives : geopandas.GeoDataFrame
        Display geometries (:func:`display_geometries`) of the commune, the active
        territory layer and ALL initiatives (cache them per store version).
    selected_ids : iterable of str
        Ids of the selected initiatives.
    relations : layers.links.Relations
        :func:`layers.links.relate` of all initiatives with the active territory layer.
    strategies : mapping of str to str
        Strategy id -> name.
    specific_only : bool
        Count only sited and linked initiatives in the choropleth.
    selected_territories : sequence of str
        Territory slugs named in the filter.
    filtered : bool
        Whether any filter is set; with none, the map opens on the whole commune.
    reference_layers : mapping or iterable of (str, GeoDataFrame), optional
        Reference overlays, see :func:`build_map`.
    monitoring : pandas.DataFrame, optional
        Monitoring values indexed by initiative id with ``estado`` and ``avance_fisico``
        (:func:`layers.monitoring.matrix`); joined to the initiatives for the popups,
        tooltips and status colours. Ids it lacks are ``sin iniciar``.
    color_by : {"estrategia", "estado"}
        What colours the sited initiatives, see :func:`build_map`.
    per_thousand : bool
        Colour by initiatives per 1,000 inhabitants, see :func:`build_map`.
    city : mapping, optional
        Census blocks payload drawn under the map, see :func:`build_map`.
    territory_geometry : str, optional
        :func:`territory_geometry` of ``territories`` (keep it per store version and layer).
    fit_key : str
        See :func:`build_map`.

    Returns
    -------
    folium.Map
        See :func:`build_map`.
    """
    selected, counts = _selected_and_counts(initiatives, selected_ids, relations, territories, monitoring, specific_only)
    fit = None
    if not filtered:
        fit = selection_bounds(None, None, commune)
    return build_map(
        commune, territories, counts, selected,
        strategies=strategies, specific_only=specific_only,
        selected_territories=selected_territories, relations=relations, fit=fit,
        reference_layers=reference_layers, color_by=color_by, per_thousand=per_thousand, city=city,
        territory_geometry=territory_geometry, fit_key=fit_key,
    )


def reference_kinds(
    reference_layers: Mapping[str, gpd.GeoDataFrame] | Iterable[tuple[str, gpd.GeoDataFrame]] | None,
) -> list[tuple[str, dict[str, int]]]:
    """Title and features per kind of each reference layer, as :func:`add_reference_layers` returns them.

    For the legend of :func:`selection_update` (the reference layers are drawn once, by the
    map document); cache it per store version.

    Parameters
    ----------
    reference_layers : mapping of str to GeoDataFrame, or iterable of (str, GeoDataFrame), optional
        As for :func:`add_reference_layers`.

    Returns
    -------
    list of (str, dict)
        ``[(title, {"point": n, "line": n, "polygon": n}), ...]`` in drawing order.
    """
    return [(str(title), reference_payload(gdf, REFERENCE_LABEL, REFERENCE_STYLES)[1])
            for title, gdf in _reference_items(reference_layers)]


def selection_update(
    commune: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    initiatives: gpd.GeoDataFrame,
    selected_ids: Iterable[str],
    relations: links.Relations | pd.DataFrame,
    *,
    strategies: Mapping[str, str],
    specific_only: bool = False,
    selected_territories: Sequence[str] = (),
    filtered: bool = True,
    references: Sequence[tuple[str, Mapping[str, int]]] = (),
    monitoring: pd.DataFrame | None = None,
    color_by: str = "estrategia",
    per_thousand: bool = False,
    fit_key: str = "",
) -> str:
    """What a plan map already open needs to show another selection, as JSON text (:mod:`views.restyle`).

    The same selection drawn by :func:`selection_map` in a new document would look the same:
    the territories' colours and tooltip figures, the sited initiatives, the legend, the
    chosen territories' outline and the extent the map opens on come from the same code.

    Parameters
    ----------
    commune, territories, initiatives, selected_ids, relations, strategies, specific_only, selected_territories,
    filtered, monitoring, color_by, per_thousand
        As for :func:`selection_map`; ``territories`` in the order of the document's
        territory geometry (:func:`territory_geometry`, feature ``id`` = row position).
    references : sequence of (str, mapping)
        :func:`reference_kinds` of the reference layers the document draws (their legend rows).
    fit_key : str
        What decides the extent (the filters, not the colours or what they count): the map fits
        ``fit`` only when the key differs from that of the selection it shows, so a change of
        colours keeps the view the person has (or the one a link opened on).

    Returns
    -------
    str
        A JSON object: ``t`` (the per-selection arrays of :func:`views._elements.territory_payload`:
        ``v``, ``c``, ``k``, ``r``, ``pal``), ``s`` (:func:`views._elements.sited_payload`), ``lg``
        (the legend's HTML, :func:`views.legend.legend_html`), ``o`` (row positions of the
        chosen territories), ``fit`` (``[[south, west], [north, east]]``, degrees WGS 84) and
        ``fk`` (``fit_key``). Strings are HTML-escaped as in the document; ``<``, ``>``, ``&``
        and ``'`` are written as ``\\uXXXX`` escapes.

    Raises
    ------
    ValueError
        If a legend colour is not a CSS hex colour (:func:`views.legend.legend_html`).
    """
    selected, counts = _selected_and_counts(initiatives, selected_ids, relations, territories, monitoring, specific_only)
    payload, n, breaks, decimals = _territory_part(territories, counts, per_thousand)
    sited, sited_doc, kinds = _sited_part(selected, strategies, relations, territories, color_by)
    sections = _legend_sections(n, breaks, decimals, specific_only, per_thousand, strategies, sited, kinds, color_by)
    chosen = territories["slug"].isin(set(selected_territories)).to_numpy()
    fit = (selection_bounds(selected, territories[chosen], commune) if filtered
           else selection_bounds(None, None, commune))
    return js_value({
        "t": {key: payload[key] for key in ("v", "c", "k", "r", "pal")},
        "s": sited_doc,
        "lg": legend_html(sections + reference_legend_sections(list(references), REFERENCE_STYLES)),
        "o": np.flatnonzero(chosen).tolist(),
        "fit": fit,
        "fk": str(fit_key),
    })


def with_status(initiatives: gpd.GeoDataFrame, monitoring: pd.DataFrame) -> gpd.GeoDataFrame:
    """``initiatives`` with the ``estado`` and ``avance_fisico`` of ``monitoring`` (:func:`layers.sector.with_status`)."""
    return sector.with_status(initiatives, monitoring)


def map_html(m: folium.Map) -> str:
    """The HTML document of a map, as rendered for the browser."""
    return m.get_root().render()
