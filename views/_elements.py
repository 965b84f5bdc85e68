"""Browser-side pieces of the plan's map: legend contents, the sited initiatives and the reference overlays.

Internal to :mod:`views.mapview`. Every string that comes from data is
HTML-escaped here before it is embedded (legend texts by the template of
:mod:`views.legend`), and JSON is written
with ``<``, ``>``, ``&`` and ``'`` as ``\\uXXXX`` escapes so it cannot close the
``<script>`` element it lives in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from layers import links
from layers.monitoring.fields import ESTADO_INICIAL
from layers.text import format_number
from views import symbology
from views._plain import PlainMacroElement
from views.escape import html_text, js_value
from views.legend import Section, Swatch

#: Decimal places of the point coordinates sent to the browser (1e-5 degree is about 1 m).
POINT_DECIMALS = 5


def _esc(value: object) -> str:
    """HTML-escaped text of a value; empty for missing values (:func:`views.escape.html_text`).

    Texts are remembered (:func:`_esc_text`): a map of thousands of territories escapes the
    same names for every selection.
    """
    return _esc_text(value) if isinstance(value, str) else html_text(value)


@functools.lru_cache(maxsize=65_536)
def _esc_text(value: str) -> str:
    return html_text(value)


def _js_json(obj: object) -> str:
    """Compact JSON safe to place inside a ``<script>`` element (:func:`views.escape.js_value`)."""
    return js_value(obj)


class SitedInitiatives(PlainMacroElement):
    """Sited initiatives drawn from one compact JSON document.

    Points become ``L.circleMarker`` added in bulk to a MarkerCluster; lines and
    areas become one ``L.geoJSON`` layer added to a FeatureGroup. The cluster and the
    GeoJSON layer each carry one tooltip function and one popup function, called for
    the mark under the pointer (no tooltip or popup object per mark). Marks take the colour
    of their strategy, or of their monitoring status when the document says
    ``"cb": "estado"``. Tooltips show the (escaped) name, and the status and physical
    progress when known; popups are assembled when opened from the record and lookup
    tables, all of whose strings were escaped in Python.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var d = {{ this.payload }};
                function row(label, value) {
                    return "<tr><th style='text-align:left;padding-right:6px;vertical-align:top'>" + label
                        + "</th><td>" + (value === "" || value === undefined || value === null ? "—" : value) + "</td></tr>";
                }
                function colour(r) { return d.cb === "estado" && r[8] >= 0 ? d.sc[r[8]] : d.c[r[3]]; }
                function tip(r) {
                    return r[8] < 0 ? r[0] : r[0] + "<br><span style='font-size:11px'>" + d.s[r[8]]
                        + (r[9] ? " · avance físico " + r[9] : "") + "</span>";
                }
                function popup(k) {
                    var r = d.r[k];
                    return "<div class='sit-popup' style='font:12px/1.35 sans-serif'><b>" + r[0] + "</b><table>"
                        + row("Id", r[1]) + row("Tipo", d.t[r[2]]) + row("Estrategia", d.e[r[3]])
                        + row("Plan", d.p[r[4]]) + row("Padre", r[5] < 0 ? "" : d.h[r[5]])
                        + row("Territorios", r[6].map(function (i) { return d.n[i]; }).join(", "))
                        + row("Fuente de la geometría", d.f[r[7]])
                        + (r[8] < 0 ? "" : row("Estado", d.s[r[8]]) + row("Avance físico", r[9]))
                        + "</table></div>";
                }
                // One tooltip and one popup function per group, not one of each per mark:
                // the group opens them for the mark under the pointer (Leaflet's event parents).
                var cluster = {{ this.cluster.get_name() }}, group = {{ this.shapes.get_name() }}, shapes = null;
                function draw(doc) {
                    d = doc;
                    cluster.closeTooltip();
                    cluster.clearLayers();
                    if (shapes) { shapes.closeTooltip(); group.removeLayer(shapes); }
                    var markers = [];
                    for (var i = 0; i < d.pt.length; i++) {
                        var p = d.pt[i];
                        markers.push(L.circleMarker([p[0], p[1]], Object.assign({}, d.ps, {fillColor: colour(d.r[p[2]]), k: p[2]})));
                    }
                    cluster.addLayers(markers);
                    shapes = L.geoJSON(d.sh, {
                        style: function (f) {
                            var c = colour(d.r[f.properties.k]);
                            var base = f.geometry.type.indexOf("Polygon") >= 0 ? d.gs : d.ls;
                            return Object.assign({}, base, {color: c, fillColor: c});
                        }
                    });
                    shapes.bindTooltip(function (l) { return tip(d.r[l.feature.properties.k]); }, {sticky: true});
                    shapes.bindPopup(function (l) { return popup(l.feature.properties.k); }, {maxWidth: 340});
                    shapes.addTo(group);
                }
                cluster.bindTooltip(function (m) { return tip(d.r[m.options.k]); });
                cluster.bindPopup(function (m) { return popup(m.options.k); }, {maxWidth: 340});
                draw(d);
                // A new selection is drawn in place (views.restyle): same document, new marks.
                (window.__sitMap = window.__sitMap || {}).sited = draw;
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: Mapping[str, object], cluster: MarkerCluster, shapes: folium.FeatureGroup):
        super().__init__()
        self._name = "SitedInitiatives"
        self.payload = _js_json(payload)
        self.cluster = cluster
        self.shapes = shapes


def _lookup(values: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    table = list(dict.fromkeys(values))
    return table, {v: i for i, v in enumerate(table)}


def _drawable_parts(geom: shapely.Geometry) -> Iterator[tuple[str, shapely.Geometry]]:
    """``(kind, part)`` to draw for one geometry: itself, or each part of a geometry collection.

    ``kind`` is ``"point"``, ``"line"`` or ``"polygon"`` (:func:`views.symbology.geometry_kind`);
    a point part may be a multipoint. Parts of no drawable kind are skipped.
    """
    for part in shapely.get_parts(geom) if geom.geom_type == "GeometryCollection" else [geom]:
        kind = symbology.geometry_kind(part.geom_type)
        if kind:
            yield kind, part


def sited_payload(
    initiatives: gpd.GeoDataFrame,
    strategies: Mapping[str, str],
    plans: Mapping[str, str] | None = None,
    territory_names: Mapping[str, Sequence[str]] | None = None,
    color_by: str = "estrategia",
) -> tuple[dict[str, object], dict[str, int]]:
    """The compact document :class:`SitedInitiatives` draws, and how many features of each kind.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        Selected initiatives (EPSG:4326, display geometries) with the fields of
        :data:`layers.initiatives.FIELDS`; rows without geometry are skipped.
    strategies : mapping of str to str
        Strategy id -> name.
    plans : mapping of str to str, optional
        Plan id -> name (defaults to the ``plan_nombre`` field).
    territory_names : mapping of str to sequence of str, optional
        Initiative id -> names of its territories (popup); defaults to the slugs
        of the ``territorios`` field. Names travel once, in a lookup table.
    color_by : {"estrategia", "estado"}
        What colours the marks (see :data:`views.symbology.COLOR_MODES`). Status colours
        need an ``estado`` column; rows without one keep their strategy colour.

    Returns
    -------
    tuple of (dict, dict)
        The document (every string HTML-escaped) and ``{"point": n, "line": n, "polygon": n}``.
        Each record ``r[k]`` is ``[nombre, id, tipo, estrategia, plan, padre, territorios,
        fuente_geometria, estado, avance_fisico]`` (indices into the lookup tables; ``estado``
        -1 when the frame has no ``estado`` column, ``avance_fisico`` a text such as
        ``"45,5 %"`` or ``""``); ``s`` and ``sc`` are the statuses and their colours.

    Raises
    ------
    ValueError
        If ``color_by`` is not a key of :data:`views.symbology.COLOR_MODES`.
    """
    if color_by not in symbology.COLOR_MODES:
        raise ValueError(f"color_by must be one of {list(symbology.COLOR_MODES)}, not {color_by!r}")
    sited = initiatives[initiatives.geometry.notna() & ~initiatives.geometry.is_empty]
    strategy_ids = list(strategies)
    extra = [s for s in dict.fromkeys(sited["estrategia"].astype(str)) if s not in strategies]
    strategy_ids += extra
    e_table = [f"{_esc(s)} · {_esc(strategies.get(s, ''))}".rstrip(" ·") for s in strategy_ids]
    e_index = {s: i for i, s in enumerate(strategy_ids)}
    colors = [symbology.strategy_color(s) for s in strategy_ids]

    plan_names = dict(plans or {})

    def plan_label(pid: object, pname: object) -> str:
        name = plan_names.get(str(pid), pname)
        return f"{_esc(pid)} · {_esc(name)}" if _esc(name) else _esc(pid)

    t_table, t_index = _lookup(_esc(v) for v in sited["tipo"])
    p_table, p_index = _lookup(plan_label(p, n) for p, n in zip(sited["plan"], sited.get("plan_nombre", sited["plan"])))
    f_table, f_index = _lookup(_esc(v) for v in sited.get("fuente_geometria", pd.Series("", index=sited.index)))
    padres = [
        (f"{_esc(p)} · {_esc(n)}" if _esc(n) else _esc(p)) if _esc(p) else ""
        for p, n in zip(sited.get("padre", [None] * len(sited)), sited.get("padre_nombre", [None] * len(sited)))
    ]
    h_table, h_index = _lookup(p for p in padres if p)
    s_refs, advance = _status_refs(sited)
    s_keys = list(symbology.ESTADO_COLORS) + [v for v in dict.fromkeys(s_refs) if v and v not in symbology.ESTADO_COLORS]
    s_index = {v: i for i, v in enumerate(s_keys)}

    names_table: dict[str, int] = {}

    def territory_refs(row) -> list[int]:
        if territory_names is not None:
            listed = territory_names.get(row.id, [])
        else:
            listed = links.split_slugs(getattr(row, "territorios", ""))
        return [names_table.setdefault(_esc(name), len(names_table)) for name in listed]

    records: list[list[object]] = []
    points: list[list[object]] = []
    shapes: list[dict[str, object]] = []
    kinds = {"point": 0, "line": 0, "polygon": 0}
    rows = zip(sited.itertuples(index=False), sited.geometry.array, padres, s_refs, advance)
    for k, (row, geom, padre, estado, avance) in enumerate(rows):
        terr = territory_refs(row)
        records.append([
            _esc(row.nombre), _esc(row.id), t_index[_esc(row.tipo)], e_index[str(row.estrategia)],
            p_index[plan_label(row.plan, getattr(row, "plan_nombre", row.plan))], h_index[padre] if padre else -1,
            terr, f_index[_esc(getattr(row, "fuente_geometria", ""))], s_index[estado] if estado else -1, avance,
        ])
        for kind, part in _drawable_parts(geom):
            if kind == "point":  # every point of a multipoint is a mark of its own
                xy = shapely.get_coordinates(part).tolist()
                points.extend([round(lat, POINT_DECIMALS), round(lon, POINT_DECIMALS), k] for lon, lat in xy)
                kinds["point"] += len(xy)
            else:
                shapes.append({"type": "Feature", "properties": {"k": k}, "geometry": shapely.geometry.mapping(part)})
                kinds[kind] += 1
    payload = {
        "r": records, "pt": points, "sh": {"type": "FeatureCollection", "features": shapes},
        "t": t_table, "e": e_table, "p": p_table, "h": h_table, "f": f_table, "c": colors, "n": list(names_table),
        "s": [_esc(v) for v in s_keys], "sc": [symbology.estado_color(v) for v in s_keys], "cb": color_by,
        "ps": {**symbology.GEOMETRY_STYLES["point"]},
        "ls": {**symbology.GEOMETRY_STYLES["line"]},
        "gs": {**symbology.GEOMETRY_STYLES["polygon"]},
    }
    return payload, kinds


def _status_refs(sited: pd.DataFrame) -> tuple[list[str | None], list[str]]:
    """Status of each row (``None`` without an ``estado`` column) and its physical progress as text."""
    if "estado" not in sited.columns:
        return [None] * len(sited), [""] * len(sited)
    estados = [str(v) if isinstance(v, str) and v else ESTADO_INICIAL for v in sited["estado"]]
    fisico = pd.to_numeric(sited.get("avance_fisico", pd.Series(None, index=sited.index, dtype=object)), errors="coerce")
    return estados, ["" if pd.isna(v) else f"{format_number(float(v), 1)} %" for v in fisico]


#: Swatch of each kind of geometry of the sited initiatives (colour filled in per row).
_KIND_SWATCH = {"point": ("point", 1.5), "line": ("line", 4.0), "polygon": ("area", 1.0)}


def _kind_swatch(color: str, kind: str) -> Swatch:
    shape, weight = _KIND_SWATCH[kind]
    return Swatch(shape, color, stroke=symbology.MARK_OUTLINE if kind == "point" else "#6b6b6b", weight=weight)


def legend_sections(
    breaks: list[int],
    title: tuple[str, str],
    strategies: Mapping[str, str],
    present: Iterable[str],
    kinds: Mapping[str, int],
    minimum: float = 1,
    zero: bool = True,
    color_by: str = "estrategia",
    decimals: int = 0,
    no_data: bool = False,
    values: Iterable[float] | None = None,
) -> list[Section]:
    """What the plan map's legend lists: the choropleth classes, the strategies, the kinds drawn.

    Parameters
    ----------
    breaks : list of int
        Choropleth class breaks (:func:`views.symbology.class_breaks`).
    title : tuple of str
        Title and subtitle saying what the choropleth counts (:func:`count_legend_title`).
    strategies : mapping of str to str
        Strategy id -> name.
    present : iterable of str
        Strategies of the drawn initiatives (only those are listed).
    kinds : mapping of str to int
        Number of drawn features per geometry kind.
    minimum : int
        Smallest positive count (lower bound of the first class).
    zero : bool
        Whether some territory has a count of zero (shows the zero row).
    color_by : {"estrategia", "estado"}
        What colours the sited initiatives: their strategy (the strategies drawn are
        listed) or their monitoring status (the eight statuses are listed).
    decimals : int
        0 when the choropleth shows counts; the decimals of its rates otherwise.
    no_data : bool
        Whether some territory has no value (a rate without census population): adds its grey row.
    values : iterable of float, optional
        The drawn territories' values: each class is then labelled by the values it holds.

    Returns
    -------
    list of views.legend.Section
        Texts as they are (the legend template escapes them).
    """
    classes = Section(
        title[0],
        [(_kind_swatch(color, "polygon"), label) for label, color in symbology.choropleth_legend(breaks, minimum, zero, decimals, values)]
        + ([(_kind_swatch(symbology.NO_DATA_COLOR, "polygon"), "sin población censal")] if no_data else []),
        subtitle=title[1],
    )
    present = list(dict.fromkeys(present))
    rows = symbology.strategy_legend(strategies, present)
    rows += [(s, "", symbology.strategy_color(s)) for s in dict.fromkeys(present) if s not in strategies]
    sited = Section(
        "Iniciativas ubicadas, por estrategia",
        [(_kind_swatch(color, "point"), f"{sid} · {name}" if name else str(sid)) for sid, name, color in rows],
        note="La selección no tiene iniciativas ubicadas.",
    )
    if color_by == "estado":
        sited = Section(
            "Iniciativas ubicadas, por estado",
            [(_kind_swatch(color, "point"), estado.capitalize()) for estado, color in symbology.estado_legend()],
            subtitle="según el registro de seguimiento",
        )
    sections = [classes, sited]
    drawn = [k for k in ("point", "line", "polygon") if kinds.get(k)]
    if drawn:
        marks = [(_kind_swatch("#777777", k), symbology.GEOMETRY_LABELS[k]) for k in drawn]
        sections.append(Section(None, marks, inline=True))
    if kinds.get("point"):  # points are grouped in grey numbered circles until the map is zoomed in
        sections.append(Section(None, [(_kind_swatch(CLUSTER_SWATCH, "point"), CLUSTER_LABEL)]))
    return sections


#: Colour of the grey numbered circles that group nearby points (views.maplocale.MAP_CSS) and their legend row.
CLUSTER_SWATCH = "#3d3d3d"
CLUSTER_LABEL = "Grupo de iniciativas cercanas: el número dice cuántas; acerque el mapa o tóquelo para separarlas"


# --------------------------------------------------------------------------- reference overlays


class ReferenceOverlay(PlainMacroElement):
    """One reference layer drawn from a compact JSON document (see :func:`reference_payload`).

    Points become hollow ``L.circleMarker`` added to ``points`` (a FeatureGroup,
    or a MarkerCluster of the layer's own for large layers); lines and outlines
    become an ``L.geoJSON`` layer added to ``group``. Tooltips show the
    (escaped) name of each feature.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var d = {{ this.payload }};
                var markers = [];
                for (var i = 0; i < d.pt.length; i++) {
                    var p = d.pt[i];
                    var m = L.circleMarker([p[0], p[1]], d.ps);
                    if (d.n[p[2]]) { m.bindTooltip(d.n[p[2]]); }
                    markers.push(m);
                }
                var target = {{ this.points.get_name() }};
                if (target.addLayers) { target.addLayers(markers); }
                else { markers.forEach(function (m) { target.addLayer(m); }); }
                L.geoJSON(d.sh, {
                    style: function (f) { return f.geometry.type.indexOf("Polygon") >= 0 ? d.gs : d.ls; },
                    onEachFeature: function (f, layer) {
                        if (d.n[f.properties.k]) { layer.bindTooltip(d.n[f.properties.k], {sticky: true}); }
                    }
                }).addTo({{ this.group.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: Mapping[str, object], group: folium.FeatureGroup, points: MacroElement):
        super().__init__()
        self._name = "ReferenceOverlay"
        self.payload = _js_json(payload)
        self.group = group
        self.points = points


def reference_payload(
    gdf: gpd.GeoDataFrame,
    label: str = "etiqueta",
    styles: Mapping[str, Mapping[str, object]] | None = None,
) -> tuple[dict[str, object], dict[str, int]]:
    """The compact document :class:`ReferenceOverlay` draws, and how many features of each kind.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Reference layer with display geometries (EPSG:4326); null and empty
        geometries are skipped, GeometryCollections drawn part by part.
    label : str
        Column with the text of each tooltip (missing or empty: no tooltip).
    styles : mapping, optional
        Leaflet styles for ``point``, ``line`` and ``polygon``.

    Returns
    -------
    tuple of (dict, dict)
        The document (tooltip texts HTML-escaped, once each in a lookup table)
        and ``{"point": n, "line": n, "polygon": n}``.
    """
    styles = styles or {}
    present = gdf.geometry.notna().to_numpy() & ~gdf.geometry.is_empty.to_numpy()
    shown = gdf[present]
    texts = shown[label] if label in shown.columns else pd.Series([None] * len(shown), index=shown.index)
    n_table, n_index = _lookup(_esc(v) for v in texts)
    points: list[list[object]] = []
    shapes: list[dict[str, object]] = []
    kinds = {"point": 0, "line": 0, "polygon": 0}
    for text, geom in zip(texts, shown.geometry.array):
        k = n_index[_esc(text)]
        for kind, part in _drawable_parts(geom):
            if kind == "point":
                xy = shapely.get_coordinates(part).tolist()
                points.extend([round(lat, POINT_DECIMALS), round(lon, POINT_DECIMALS), k] for lon, lat in xy)
            else:
                shapes.append({"type": "Feature", "properties": {"k": k}, "geometry": shapely.geometry.mapping(part)})
            kinds[kind] += 1
    payload = {
        "pt": points, "sh": {"type": "FeatureCollection", "features": shapes}, "n": n_table,
        "ps": dict(styles.get("point", {})), "ls": dict(styles.get("line", {})), "gs": dict(styles.get("polygon", {})),
    }
    return payload, kinds


def reference_legend_sections(
    layers: Sequence[tuple[str, Mapping[str, int]]], styles: Mapping[str, Mapping[str, object]]
) -> list[Section]:
    """Legend of the reference layers: a heading and one row per layer (none without layers).

    Parameters
    ----------
    layers : sequence of (str, mapping)
        Title of each layer and its feature counts per kind (:func:`reference_payload`).
    styles : mapping
        Leaflet styles of the reference marks by kind (their ``color`` is used).

    Returns
    -------
    list of views.legend.Section
        Empty, or one section titled «Capas de referencia».
    """
    if not layers:
        return []
    shapes = {"point": ("ring", 1.5), "line": ("line", 2.0), "polygon": ("outline", 1.5)}
    rows = []
    for title, kinds in layers:
        kind = next((k for k in ("polygon", "line", "point") if kinds.get(k)), "polygon")
        shape, weight = shapes[kind]
        rows.append((Swatch(shape, str(styles.get(kind, {}).get("color", "#555555")), weight=weight), str(title)))
    return [Section("Capas de referencia", rows)]


#: A number written with more decimals than any display coordinate has.
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{6,}")


def geometry_collection(geoms, decimals: int = POINT_DECIMALS) -> str:
    """Compact GeoJSON FeatureCollection text of display geometries; each feature's ``id`` is its row position.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Display geometries in WGS 84 (EPSG:4326), already simplified and rounded
        (:func:`views.mapview.display_geometries`); missing or empty ones are left out
        (their position is skipped).
    decimals : int
        Decimal places written (1e-5 degree is about 1 m).

    Returns
    -------
    str
        ``{"type":"FeatureCollection","features":[{"type":"Feature","id":0,"geometry":...},...]}``
        with no spaces and the shortest decimal form of each coordinate (GEOS's
        GeoJSON writer), numbers only: safe inside a ``<script>`` element. This is the
        floor of a territory layer's payload: the page adds only small per-selection arrays.
    """
    arr = np.asarray(geoms, dtype=object)
    keep = np.flatnonzero(~(shapely.is_missing(arr) | shapely.is_empty(arr))) if len(arr) else np.array([], dtype=int)
    texts = shapely.to_geojson(arr[keep]) if len(keep) else []
    feats = ",".join(f'{{"type":"Feature","id":{i},"geometry":{t}}}' for i, t in zip(keep.tolist(), texts))
    # GEOS writes up to 17 significant digits (-71.03857000000001): back to the display precision.
    feats = _LONG_DECIMAL.sub(lambda m: repr(round(float(m.group()), decimals)), feats)
    return f'{{"type":"FeatureCollection","features":[{feats}]}}'


class TerritoryChoropleth(PlainMacroElement):
    """Territories as one ``L.geoJSON`` layer with one tooltip function and one highlight handler.

    The geometry (:func:`geometry_collection`, the same for every selection, cached by
    the caller) and the per-selection document (:func:`territory_payload`: class of each
    territory, counts, names) travel apart; the browser colours each feature by
    ``palette[class]`` and writes its tooltip from the arrays when the pointer is on it.
    Every string of the document was HTML-escaped in Python.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var d = null;
                var territoryDoc = {{ this.payload }};
                var territoryGeometry = {{ this.geometry }};
                d = territoryDoc;
                function detail(i) {
                    var c = d.c[i], parts = [];
                    for (var j = 0; j < c.length; j++) {
                        if (c[j]) { parts.push(c[j] + " " + d.pl[j][c[j] === 1 ? 0 : 1]); }
                    }
                    return parts.length ? parts.join(" · ") : "ninguna";
                }
                function tip(layer) {
                    var i = layer.feature.id, rows = [[d.a[0], d.n[i]], [d.a[1], d.t[d.ti[i]]], [d.a[2], d.v[i]]];
                    if (d.r) { rows.push([d.a[3], d.r[i]]); }
                    rows.push([d.a[4], detail(i)]);
                    return "<table class='sit-territory-tip'>" + rows.map(function (r) {
                        return "<tr><th style='text-align:left;padding-right:6px'>" + r[0] + "</th><td>" + r[1] + "</td></tr>";
                    }).join("") + "</table>";
                }
                var options = {
                    style: function (f) { return Object.assign({}, d.st, {fillColor: d.pal[d.k[f.id]]}); }
                };
                if (d.pane) { options.pane = d.pane; }
                var layer = L.geoJSON(territoryGeometry, options);
                layer.bindTooltip(tip, {sticky: true});
                layer.on("mouseover", function (e) { e.layer.setStyle(d.hl); });
                layer.on("mouseout", function (e) { layer.resetStyle(e.layer); });
                layer.addTo({{ this.group.get_name() }});
                // A new selection recolours the drawn territories in place (views.restyle): its
                // document brings the per-selection arrays (v, c, k, r, pal); names and kinds stay.
                var registry = window.__sitMap = window.__sitMap || {};
                registry.territories = {
                    restyle: function (part) {
                        d = Object.assign({}, d, part);
                        layer.closeTooltip();  // its figures were the last selection's
                        layer.setStyle(options.style);
                    },
                    features: function (ids) {
                        var all = territoryGeometry.features, wanted = {}, out = [];
                        ids.forEach(function (i) { wanted[i] = true; });
                        for (var j = 0; j < all.length; j++) { if (wanted[all[j].id]) { out.push(all[j]); } }
                        return {type: "FeatureCollection", features: out};
                    }
                };
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: Mapping[str, object], geometry: str, group: folium.FeatureGroup):
        super().__init__()
        self._name = "TerritoryChoropleth"
        self.payload = _js_json(payload)
        self.geometry = geometry
        self.group = group


def territory_payload(
    names: Sequence[object],
    tipos: Sequence[object],
    counts: np.ndarray,
    by_relation: np.ndarray,
    classes: np.ndarray,
    palette: Sequence[str],
    *,
    relation_labels: Sequence[tuple[str, str]],
    rates: Sequence[str] | None = None,
    style: Mapping[str, object],
    highlight: Mapping[str, object],
    pane: str | None = None,
) -> dict[str, object]:
    """The per-selection document :class:`TerritoryChoropleth` draws (arrays in layer order).

    Parameters
    ----------
    names, tipos : sequence
        Name and kind of each territory (escaped here; the kinds travel once, in a lookup table).
    counts : numpy.ndarray of int
        Initiatives of the selection drawn for each territory (the tooltip's «Iniciativas»).
    by_relation : numpy.ndarray of int, shape (n, r)
        Counts by relation, columns in the order of ``relation_labels`` (the tooltip's «Detalle»).
    classes : numpy.ndarray of int
        Index into ``palette`` of each territory's fill.
    palette : sequence of str
        Fill colours.
    relation_labels : sequence of (str, str)
        Singular and plural label of each relation.
    rates : sequence of str, optional
        Text of the rate per 1,000 inhabitants of each territory (adds a tooltip row).
    style, highlight : mapping
        Leaflet path styles: of every territory, and of the one under the pointer.
    pane : str, optional
        Leaflet pane the territories are drawn in.

    Returns
    -------
    dict
        ``n``, ``t``/``ti``, ``v``, ``c``, ``k``, ``pal``, ``pl``, ``a`` (row labels), ``r``
        (or ``None``), ``st``, ``hl``, ``pane``.
    """
    t_table, t_index = _lookup(_esc(v) for v in tipos)
    return {
        "n": [_esc(v) for v in names], "t": t_table, "ti": [t_index[_esc(v)] for v in tipos],
        "v": np.asarray(counts, dtype=np.int64).tolist(), "c": np.asarray(by_relation, dtype=np.int64).tolist(),
        "k": np.asarray(classes, dtype=np.int64).tolist(), "pal": list(palette),
        "pl": [list(p) for p in relation_labels],
        "a": ["Territorio", "Tipo", "Iniciativas", "Por 1.000 hab.", "Detalle"],
        "r": [_esc(v) for v in rates] if rates is not None else None,
        "st": dict(style), "hl": dict(highlight), "pane": pane,
    }
