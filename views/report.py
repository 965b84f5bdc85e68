"""A printable report of one territory for its neighbourhood committee.

:func:`sector_report_html` turns a :class:`layers.sector.SectorSummary` into one
self-contained HTML document: inline CSS (with print rules for A4), a static map
drawn here as inline SVG from the geometries (commune outline, the territory, its
neighbours, the sited initiatives coloured by strategy, a scale bar measured in
EPSG:32719 and a north arrow), the initiatives grouped by relation and strategy,
and the sources of every layer. The document references no external resource:
it opens and prints the same with no internet, or attached to an e-mail.

The document and the map are Jinja2 templates of ``views/templates``
(``sector_report.html``, ``sector_map.svg``, the stylesheet ``report.css``),
rendered with autoescape: every text that comes from data is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM19S, WGS84
from layers.sector import EXPLICACION, GRUPOS, SectorSummary, group_label
from layers.text import format_number
from views import _jinja
from views.symbology import UNKNOWN_STRATEGY_COLOR, strategy_color

#: Where the plan's catalogue comes from (for the sources section).
FUENTE_PLADECO = (
    "Plan de Desarrollo Comunal (PLADECO) de Vallenar, capítulo de estrategias de desarrollo: "
    "estrategias, planes e iniciativas tal como las nombra el plan (data/catalogo)."
)
#: Where the relation of each initiative to the territories comes from.
FUENTE_VINCULOS = (
    "Vínculos entre iniciativas y territorios revisables en data/vinculos: alcance de cada "
    "iniciativa y, cuando el plan nombra el lugar, una ubicación referencial con su precisión."
)
#: Fallback description of the commune boundary when the layer carries none.
FUENTE_DPA = "División Político Administrativa 2023 (IDE Chile)."

_OTHER_COLOR = UNKNOWN_STRATEGY_COLOR

#: Map size in CSS pixels (the SVG scales to the page width).
MAP_WIDTH = 720
MAP_MIN_RATIO, MAP_MAX_RATIO = 0.6, 1.0

_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
    "septiembre", "octubre", "noviembre", "diciembre",
)


# --------------------------------------------------------------------------- small helpers


_text = _jinja.as_text


#: Where the status and progress of the initiatives come from (sources of the sector report).
FUENTE_SEGUIMIENTO = (
    "Registro de seguimiento del plan que lleva la Municipalidad de Vallenar en el sistema (estado y avance "
    "físico de cada iniciativa; sin registro, «sin iniciar»)."
)


def status_text(estado: object, avance: object = None) -> str:
    """``"en ejecución · avance físico 30,5 %"``: an initiative's monitoring status and progress.

    Parameters
    ----------
    estado : str or None
        Status of :data:`layers.monitoring.fields.ESTADOS`; empty or missing gives ``""``.
    avance : float or None
        Physical progress in per cent (0–100); left out when missing.
    """
    if not isinstance(estado, str) or not estado:
        return ""
    try:
        value = float(avance)
    except (TypeError, ValueError):
        value = float("nan")
    return estado if np.isnan(value) else f"{estado} · avance físico {format_number(value, 1)} %"


def spanish_date(day: _dt.date) -> str:
    """``2025-03-05`` -> ``"5 de marzo de 2025"``."""
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def strategy_colors(ids: Sequence[str]) -> dict[str, str]:
    """Colour of each strategy id: the map's palette (:func:`views.symbology.strategy_color`)."""
    return {sid: strategy_color(sid) for sid in ids}


def text_color(background: str) -> str:
    """Black or white, whichever contrasts more with a ``#rrggbb`` background (WCAG luminance)."""
    hexa = background.lstrip("#")
    if len(hexa) != 6:
        return "#ffffff"
    channels = [int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#111111" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"


# --------------------------------------------------------------------------- the map (SVG)


class _View:
    """Affine transform from EPSG:32719 metres to SVG pixels (y grows downwards)."""

    def __init__(self, bounds: tuple[float, float, float, float], width: float, height: float):
        self.minx, self.miny, self.maxx, self.maxy = bounds
        self.width, self.height = width, height
        self.k = width / (self.maxx - self.minx)

    def xy(self, coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords, dtype=float)
        out[:, 0] = (coords[:, 0] - self.minx) * self.k
        out[:, 1] = (self.maxy - coords[:, 1]) * self.k
        return out

    @property
    def metres_per_px(self) -> float:
        return 1.0 / self.k


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _ring_path(view: _View, coords: np.ndarray, close: bool) -> str:
    pts = view.xy(coords[:, :2])
    body = " L".join(f"{_fmt(x)} {_fmt(y)}" for x, y in pts)
    return f"M{body}{' Z' if close else ''}"


def _path_data(view: _View, geom: shapely.Geometry) -> str:
    """SVG path data of the polygonal and linear parts of ``geom`` (metres)."""
    parts = []
    for part in shapely.get_parts(geom):
        kind = part.geom_type
        if kind == "Polygon":
            for ring in (part.exterior, *part.interiors):
                coords = np.asarray(ring.coords)
                if len(coords) >= 3:
                    parts.append(_ring_path(view, coords, close=True))
        elif kind in ("LineString", "LinearRing"):
            coords = np.asarray(part.coords)
            if len(coords) >= 2:
                parts.append(_ring_path(view, coords, close=False))
        elif kind.startswith("Multi") or kind == "GeometryCollection":
            parts.append(_path_data(view, part))
    return " ".join(p for p in parts if p)


def _points(geom: shapely.Geometry) -> list[tuple[float, float]]:
    return [(p.x, p.y) for p in shapely.get_parts(geom) if p.geom_type == "Point" and not p.is_empty]


def _nice_length(target_m: float) -> float:
    """The largest 1-2-5 × 10^k length (m) not above ``target_m``."""
    power = 10 ** math.floor(math.log10(target_m))
    best = power
    for m in (1, 2, 5, 10):
        if m * power <= target_m:
            best = m * power
    return best


def _length_label(metres: float) -> str:
    return f"{format_number(metres / 1000, 0 if metres % 1000 == 0 else 1)} km" if metres >= 1000 else f"{format_number(metres)} m"


def _metric(geoms: gpd.GeoSeries) -> np.ndarray:
    return geoms.to_crs(UTM19S).array


def _view_bounds(focus: shapely.Geometry, width: float) -> tuple[tuple[float, float, float, float], float]:
    """Bounds (m) around ``focus`` with a margin, stretched to a ratio in the allowed range."""
    minx, miny, maxx, maxy = focus.bounds
    w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    margin = max(w, h) * 0.25 + 150.0
    minx, miny, maxx, maxy = minx - margin, miny - margin, maxx + margin, maxy + margin
    w, h = maxx - minx, maxy - miny
    ratio = min(max(h / w, MAP_MIN_RATIO), MAP_MAX_RATIO)
    if h / w < ratio:  # too wide: grow vertically
        grow = (w * ratio - h) / 2
        miny, maxy = miny - grow, maxy + grow
    elif h / w > ratio:  # too tall: grow horizontally
        grow = (h / ratio - w) / 2
        minx, maxx = minx - grow, maxx + grow
    return (minx, miny, maxx, maxy), width * ratio


class _Path(NamedTuple):
    """One ``<path>`` of the map: CSS class, path data, optional tooltip and colours."""

    cls: str
    d: str
    title: str | None = None
    fill: str | None = None
    stroke: str | None = None


class _Mark(NamedTuple):
    """A numbered circle of a sited initiative, in SVG pixels."""

    x: float
    y: float
    number: int
    title: str
    fill: str
    text_fill: str


class _Canvas:
    """The drawing frame of a territory: pixel transform, clip frame and display tolerance.

    Geometries (EPSG:32719 metres) are clipped a little outside the frame (12 px)
    and simplified below half a pixel before they become path data.
    """

    def __init__(self, own: shapely.Geometry, width: int):
        bounds, height = _view_bounds(own, width)
        self.view = _View(bounds, width, height)
        pad = 12 * self.view.metres_per_px
        minx, miny, maxx, maxy = bounds
        self.frame = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        self.tolerance = 0.5 * self.view.metres_per_px

    def path(self, geom: shapely.Geometry) -> str:
        """Path data of ``geom`` clipped to the frame and simplified for display."""
        geom = shapely.clip_by_rect(geom, *self.frame)
        return _path_data(self.view, shapely.simplify(geom, self.tolerance, preserve_topology=True))


def _base_paths(
    canvas: _Canvas,
    summary: SectorSummary,
    own: shapely.Geometry,
    commune: shapely.Geometry,
    territories: gpd.GeoDataFrame | None,
    blocks: gpd.GeoDataFrame | None = None,
) -> list[_Path]:
    """Commune fill, other territories in view, neighbours, the territory, census blocks, the commune outline (bottom to top)."""
    paths = [_Path("comuna-relleno", canvas.path(commune))]
    neighbours = summary.neighbours
    if territories is not None:
        others = territories[~territories["slug"].isin({summary.slug, *neighbours["slug"]})]
        if len(others):
            metric = _metric(others.geometry)
            in_view = shapely.intersects(metric, shapely.box(*canvas.frame))
            paths += [_Path("otro", canvas.path(geom)) for geom in metric[in_view]]
    if len(neighbours):
        paths += [
            _Path("vecino", canvas.path(geom), _text(name))
            for geom, name in zip(_metric(neighbours.geometry), neighbours["nombre"])
        ]
    paths.append(_Path("territorio", canvas.path(own), _text(summary.nombre)))
    if blocks is not None and len(blocks):
        metric = _metric(blocks.geometry)
        in_view = metric[shapely.intersects(metric, shapely.box(*canvas.frame))]
        if len(in_view):  # one light, thin path: the street grid of the 2017 census
            paths.append(_Path("manzanas", canvas.path(shapely.boundary(shapely.MultiPolygon(list(in_view))))))
    paths.append(_Path("comuna-borde", canvas.path(shapely.boundary(commune))))
    return paths


def _neighbour_labels(canvas: _Canvas, neighbours: gpd.GeoDataFrame) -> list[dict[str, object]]:
    """Name of each neighbour inside its visible part, kept within the frame (pixels)."""
    labels = []
    if len(neighbours):
        for geom, name in zip(_metric(neighbours.geometry), neighbours["nombre"]):
            x, y = _label_point(canvas.view, geom, str(name))
            if x is not None:
                labels.append({"x": x, "y": y, "text": _text(name)})
    return labels


def _initiative_rows(summary: SectorSummary, colors: Mapping[str, str]) -> list[tuple[shapely.Geometry, int, str, str]]:
    """Each sited initiative as (geometry in metres, number, ``"n. name"``, colour)."""
    sited = summary.sited
    if not len(sited):
        return []
    numbers = sited_numbers(summary)
    return [
        (geom, numbers[iid], f"{numbers[iid]}. {name}", colors.get(sid, _OTHER_COLOR))
        for geom, iid, name, sid in zip(_metric(sited.geometry), sited["id"], sited["nombre"], sited["estrategia"])
    ]


def _initiative_shapes(canvas: _Canvas, rows: Sequence[tuple]) -> list[_Path]:
    """Areas and lines of the sited initiatives, filled or stroked with their strategy colour."""
    shapes = []
    for geom, _, label, color in rows:
        parts = shapely.get_parts(geom)
        areas = [p for p in parts if p.geom_type == "Polygon"]
        lines = [p for p in parts if "LineString" in p.geom_type]
        if areas:
            shapes.append(_Path("iniciativa-area", canvas.path(shapely.MultiPolygon(areas)), label, color, color))
        if lines:
            shapes.append(_Path("iniciativa-linea", canvas.path(shapely.MultiLineString(lines)), label, None, color))
    return shapes


def _initiative_marks(view: _View, rows: Sequence[tuple]) -> list[_Mark]:
    """Numbered circles: at every point, or at a point on each area or line; only those in the frame."""
    marks = []
    for geom, number, label, color in rows:
        anchors = _points(geom)
        if not anchors:
            anchors = [tuple(shapely.point_on_surface(geom).coords[0])]
        for x, y in anchors:
            (px, py), = view.xy(np.array([[x, y]]))
            if 0 <= px <= view.width and 0 <= py <= view.height:
                marks.append(_Mark(px, py, number, label, color, text_color(color)))
    return marks


def sector_map_svg(
    summary: SectorSummary,
    commune_geom: shapely.Geometry,
    colors: Mapping[str, str] | None = None,
    width: int = MAP_WIDTH,
    territories: gpd.GeoDataFrame | None = None,
    blocks: gpd.GeoDataFrame | None = None,
) -> str:
    """Static map of a territory as an inline SVG element.

    Drawn in named steps: the frame (:class:`_Canvas`), the base layers
    (:func:`_base_paths`), neighbour labels, the initiatives' shapes and numbered
    marks, then north arrow, scale bar and locator inset on top, all put together
    by the template ``views/templates/sector_map.svg`` (autoescaped).

    Parameters
    ----------
    summary : SectorSummary
        The territory, its neighbours and its initiatives (EPSG:4326).
    commune_geom : shapely geometry
        Commune boundary in EPSG:4326.
    colors : mapping, optional
        Strategy id -> CSS colour (:func:`strategy_colors` by default).
    width : int
        Width of the drawing in CSS pixels.
    territories : geopandas.GeoDataFrame, optional
        The whole territory layer: the territories in view that are neither this
        one nor its neighbours are drawn faintly, for context.
    blocks : geopandas.GeoDataFrame, optional
        Census blocks (``manzanas``, EPSG:4326): those in view are outlined light and
        thin above the territory fills, so the street grid shows on paper.

    Returns
    -------
    str
        An ``<svg>`` element (no external references). Sited initiatives are
        numbered in catalogue order, as in :func:`sited_numbers`; distances are
        measured in EPSG:32719.
    """
    own = _metric(gpd.GeoSeries([summary.territory.geometry], crs=WGS84))[0]
    commune = _metric(gpd.GeoSeries([commune_geom], crs=WGS84))[0]
    canvas = _Canvas(own, width)
    ids = list(dict.fromkeys(summary.initiatives["estrategia"].dropna()))
    rows = _initiative_rows(summary, dict(colors or strategy_colors(ids)))
    inset, north, scale = _inset(canvas.view, own, commune), _north_arrow(width), _scale_bar(canvas.view)
    return _jinja.render(
        "sector_map.svg",
        width=width,
        height=canvas.view.height,
        title=f"Mapa de {_text(summary.nombre)}",
        description=_map_description(summary),
        paths=_base_paths(canvas, summary, own, commune, territories, blocks),
        labels=_clear_of(_neighbour_labels(canvas, summary.neighbours), _overlay_boxes(inset, north, scale)),
        shapes=_initiative_shapes(canvas, rows),
        marks=_initiative_marks(canvas.view, rows),
        north=north,
        scale=scale,
        inset=inset,
    )


def _overlay_boxes(inset: dict | None, north: dict, scale: dict) -> list[tuple[float, float, float, float]]:
    """Pixel boxes (x0, y0, x1, y1) of what is drawn over the map: locator inset, north arrow, scale bar."""
    boxes = [(north["x"] - 4, north["y"] - 6, north["x"] + 26, north["y"] + 48),
             (scale["x"] - 8, scale["y"] - 18, scale["x"] + scale["length_px"] + 32, scale["y"] + 14)]
    if inset:
        boxes.append((inset["x"], inset["y"], inset["x"] + inset["size"], inset["y"] + inset["size"]))
    return boxes


def _clear_of(labels: list[dict[str, object]], boxes: Sequence[tuple[float, float, float, float]]) -> list[dict]:
    """The labels whose text (11 px, centred on x, baseline y) does not fall under any of ``boxes``."""
    def hidden(label: dict) -> bool:
        half = 3.3 * len(str(label["text"])) + 4
        x, y = float(label["x"]), float(label["y"])
        return any(x + half > x0 and x - half < x1 and y + 4 > y0 and y - 11 < y1 for x0, y0, x1, y1 in boxes)

    return [label for label in labels if not hidden(label)]


def _label_point(view: _View, geom: shapely.Geometry, text: str) -> tuple[float | None, float | None]:
    """Pixel position for a label of ``geom``: the pole of inaccessibility of its largest
    visible part, kept so that the text stays in the frame; ``(None, None)`` when too small."""
    from shapely.ops import polylabel

    visible = shapely.clip_by_rect(geom, view.minx, view.miny, view.maxx, view.maxy)
    parts = [p for p in shapely.get_parts(visible) if p.geom_type == "Polygon"]
    if not parts:
        return None, None
    largest = max(parts, key=shapely.area)
    if shapely.area(largest) < (40 * view.metres_per_px) ** 2:
        return None, None
    anchor = polylabel(largest, tolerance=2 * view.metres_per_px)
    (x, y), = view.xy(np.array([[anchor.x, anchor.y]]))
    half = 3.3 * len(text) + 4  # about half the width of 11 px text
    x = min(max(x, half), view.width - half)
    y = min(max(y, 14.0), view.height - 8.0)
    return x, y


def _map_description(summary: SectorSummary) -> str:
    n = len(summary.neighbours)
    text = (
        f"{summary.nombre} ({summary.tipo}) resaltado, con {n} territorio{'s' if n != 1 else ''} "
        f"vecino{'s' if n != 1 else ''}, el límite comunal"
    )
    sited = len(summary.sited)
    if sited:
        text += f" y {sited} iniciativa{'s' if sited != 1 else ''} con ubicación"
    return text + "."


def _north_arrow(width: float) -> dict[str, float]:
    """Where the north arrow goes (pixels, top right corner); grid north of EPSG:32719."""
    return {"x": width - 34, "y": 16}


def _scale_bar(view: _View) -> dict[str, object]:
    """A four-segment scale bar a quarter of the map wide, rounded to a 1-2-5 length (pixels)."""
    length = _nice_length(view.width * 0.25 * view.metres_per_px)
    px = length / view.metres_per_px
    return {"x": 16, "y": view.height - 22, "length_px": px, "segment_px": px / 4, "label": _length_label(length)}


def _inset(view: _View, own: shapely.Geometry, commune: shapely.Geometry) -> dict[str, object] | None:
    """Small locator of the whole commune, unless the main map already shows most of it."""
    cminx, cminy, cmaxx, cmaxy = commune.bounds
    frame_area = (view.maxx - view.minx) * (view.maxy - view.miny)
    if frame_area >= 0.5 * (cmaxx - cminx) * (cmaxy - cminy):
        return None
    size = 130.0
    span = max(cmaxx - cminx, cmaxy - cminy) * 1.08
    cx, cy = (cminx + cmaxx) / 2, (cminy + cmaxy) / 2
    inset = _View((cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2), size, size)
    tol = 0.7 * inset.metres_per_px
    box = shapely.box(view.minx, view.miny, view.maxx, view.maxy)
    # The territory and the frame of the main map, at least a few pixels wide.
    min_half = 2.5 * inset.metres_per_px
    return {
        "x": view.width - size - 10,
        "y": view.height - size - 10,
        "size": size,
        "commune": _path_data(inset, shapely.simplify(commune, tol)),
        "territory": _path_data(inset, shapely.simplify(own, tol)),
        "frame": _path_data(inset, shapely.box(*_grow(box.bounds, min_half))),
    }


def _grow(bounds: tuple[float, float, float, float], half: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hx, hy = max((maxx - minx) / 2, half), max((maxy - miny) / 2, half)
    return cx - hx, cy - hy, cx + hx, cy + hy


def sited_numbers(summary: SectorSummary) -> dict[str, int]:
    """Number (1, 2, ...) of each sited initiative of the territory, in catalogue order."""
    return {iid: n for n, iid in enumerate(summary.sited["id"], start=1)}


# --------------------------------------------------------------------------- the document


def _commune_parts(commune: gpd.GeoDataFrame | shapely.Geometry) -> tuple[shapely.Geometry, str]:
    """Boundary (EPSG:4326) and cited source of the commune layer, or of a bare geometry."""
    if isinstance(commune, gpd.GeoDataFrame):
        geom = commune.to_crs(WGS84).geometry.union_all()
        source = str(commune["fuente"].iloc[0]) if "fuente" in commune.columns and len(commune) else FUENTE_DPA
        return geom, source
    return commune, FUENTE_DPA


def _figures(summary: SectorSummary) -> list[tuple[str, int]]:
    """The headline counts: total, then one per relation group."""
    counts = summary.counts
    return [("Iniciativas en total", counts["total"])] + [(group_label(k, summary.tipo), counts[k]) for k in GRUPOS]


def _legend_rows(summary: SectorSummary, colors: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(strategy id, name, colour) of each strategy with a sited initiative, in order of appearance."""
    names = {g.key: g.label for g in summary.by_strategy}
    return [
        (_text(sid), names.get(sid, ""), colors.get(sid, _OTHER_COLOR))
        for sid in dict.fromkeys(summary.sited["estrategia"])
    ]


def _neighbour_rows(summary: SectorSummary) -> list[dict[str, str]]:
    """Name, type and length of the shared edge of each neighbour."""
    return [
        {"nombre": _text(r["nombre"]), "tipo": _text(r["tipo"]), "borde": _length_label(round(float(r["borde_m"])))}
        for _, r in summary.neighbours.iterrows()
    ]


def _strategy_table(summary: SectorSummary, colors: Mapping[str, str]) -> dict[str, object]:
    """Counts by strategy (rows) and relation group (columns, only groups with initiatives)."""
    keys = [k for k in GRUPOS if summary.counts.get(k)]
    rows = [
        {
            "key": group.key, "label": group.label, "color": colors.get(group.key, _OTHER_COLOR), "total": group.n,
            "counts": [int((group.initiatives["grupo"] == k).sum()) for k in keys],
        }
        for group in summary.by_strategy
    ]
    return {
        "columns": [group_label(k, summary.tipo) for k in keys], "rows": rows,
        "totals": [summary.counts[k] for k in keys], "total": summary.counts["total"],
    }


def _initiative_items(rows: pd.DataFrame, numbers: Mapping[str, int], colors: Mapping[str, str]) -> list[dict]:
    """One list item per initiative; those on the map carry their number in the strategy colour."""
    items = []
    for _, row in rows.iterrows():
        color = colors.get(row["estrategia"], _OTHER_COLOR)
        items.append({
            "id": row["id"], "nombre": row["nombre"], "tipo": row.get("tipo"),
            "number": numbers.get(row["id"]), "color": color, "text_fill": text_color(color),
            "estado": status_text(row.get("estado"), row.get("avance_fisico")),
        })
    return items


def _initiative_groups(summary: SectorSummary, numbers: Mapping[str, int], colors: Mapping[str, str]) -> list[dict]:
    """Initiatives by relation group (fixed order), then by strategy (catalogue order)."""
    groups = []
    for group in summary.by_relation:
        inits = group.initiatives
        present = set(inits["estrategia"])
        strategies = [
            {"key": g.key, "label": g.label,
             "initiatives": _initiative_items(inits[inits["estrategia"] == g.key], numbers, colors)}
            for g in summary.by_strategy if g.key in present
        ]
        groups.append({"key": group.key, "label": group.label, "n": group.n,
                       "explanation": EXPLICACION[group.key], "strategies": strategies})
    return groups


def _sources(summary: SectorSummary, commune_source: str) -> dict[str, object]:
    """Where each layer comes from: the territory, the commune, the plan, the links, each site."""
    t = summary.territory
    sites = [
        (r["nombre"], r.get("fuente_geometria"),
         format_number(float(r["precision_m"])) if pd.notna(r.get("precision_m")) else None)
        for _, r in summary.sited.iterrows()
    ]
    return {
        "territory": t.get("fuente"), "geometry": t.get("fuente_geometria"),
        "precision": format_number(float(t.get("precision_m") or 0)), "commune": commune_source,
        "plan": FUENTE_PLADECO, "links": FUENTE_VINCULOS, "sites": sites, "monitoring": FUENTE_SEGUIMIENTO,
    }


def population_text(territory: pd.Series) -> str:
    """``"2.377 habitantes (Censo 2017)"`` for a territory with census population, else ``""``.

    Parameters
    ----------
    territory : pandas.Series
        A row of a territory layer; ``poblacion`` is the INE 2017 census count of the urban zones
        (``layers.census``); rural localities and imported layers have none.
    """
    value = pd.to_numeric(pd.Series([territory.get("poblacion")]), errors="coerce").iloc[0]
    return f"{format_number(float(value))} habitantes (Censo 2017)" if pd.notna(value) else ""


def _meta_line(summary: SectorSummary) -> str:
    """``"Sector urbano · 1,23 km² · 2.377 habitantes (Censo 2017)"``: type, area and population when known."""
    t = summary.territory
    area = t.get("area_km2")
    area_text = f" · {format_number(float(area), 2)} km²" if area is not None and pd.notna(area) else ""
    people = population_text(t)
    return f"{str(t.get('tipo', '')).capitalize()}{area_text}" + (f" · {people}" if people else "")


def sector_report_html(
    summary: SectorSummary,
    commune: gpd.GeoDataFrame | shapely.Geometry,
    *,
    generated: _dt.date | None = None,
    colors: Mapping[str, str] | None = None,
    commune_name: str = "Vallenar",
    territories: gpd.GeoDataFrame | None = None,
    blocks: gpd.GeoDataFrame | None = None,
) -> str:
    """A self-contained, printable HTML report of one territory.

    Rendered from ``views/templates/sector_report.html`` (Jinja2, autoescaped) with
    the stylesheet ``views/templates/report.css`` inlined and the map of
    :func:`sector_map_svg` inline.

    Parameters
    ----------
    summary : SectorSummary
        Output of :func:`layers.sector.sector_summary`.
    commune : geopandas.GeoDataFrame or shapely geometry
        The commune layer (its ``fuente`` is cited) or just its boundary, EPSG:4326.
    generated : datetime.date, optional
        Date printed on the report (today by default).
    colors : mapping, optional
        Strategy id -> CSS colour (:func:`strategy_colors` by default).
    commune_name : str
        Name of the commune in the titles.
    territories : geopandas.GeoDataFrame, optional
        The whole territory layer, to draw the other territories in view faintly.
    blocks : geopandas.GeoDataFrame, optional
        Census blocks (EPSG:4326) drawn light and thin on the map (:func:`sector_map_svg`).

    Returns
    -------
    str
        A complete HTML5 document (UTF-8) with inline CSS and an inline SVG map; it
        loads nothing from any server.
    """
    commune_geom, commune_source = _commune_parts(commune)
    day = generated or _dt.date.today()
    colors = dict(colors or strategy_colors([g.key for g in summary.by_strategy]))
    map_svg = sector_map_svg(summary, commune_geom, colors, territories=territories, blocks=blocks)
    return _jinja.render(
        "sector_report.html",
        css=_jinja.stylesheet("report.css"),
        title=f"{_text(summary.nombre)}: el plan comunal en el territorio",
        nombre=_text(summary.nombre),
        commune_name=commune_name,
        meta=_meta_line(summary),
        date_text=spanish_date(day),
        date_iso=day.isoformat(),
        figures=_figures(summary),
        map_svg=_jinja.Markup(map_svg),
        legend=_legend_rows(summary, colors),
        neighbours=_neighbour_rows(summary),
        table=_strategy_table(summary, colors),
        groups=_initiative_groups(summary, sited_numbers(summary), colors),
        sources=_sources(summary, commune_source),
    )


# --------------------------------------------------------------------------- the same lists on the sector page


def sector_lists_html(summary: SectorSummary, by: str = "relacion") -> list[str]:
    """The initiatives of a territory as HTML blocks for the sector page, one per first-level group.

    Rendered from ``views/templates/sector_lists.html`` with autoescape, so every text
    from data (names, types, ids) is text, never markup. The page shows each block with
    ``st.html`` and sends :func:`sector_lists_css` once. HTML rather than Markdown: the
    browser draws a list of 150 initiatives as it arrives, where Streamlit's Markdown
    renderer parses it first (about 0.1 s of a sector visit at 100 times the shipped data,
    ``bench/README.md``).

    Parameters
    ----------
    summary : SectorSummary
        Output of :func:`layers.sector.sector_summary`.
    by : {"relacion", "estrategia"}
        First grouping: by relation to the territory (then strategy), or by
        strategy (then relation).

    Returns
    -------
    list of str
        One ``<section class="sit-lista">`` per group of the first grouping, in its order:
        an ``h4`` heading with the count, the group's explanation when grouped by relation,
        an ``h5`` heading per subgroup and a list item per initiative (name, type, its
        monitoring status and physical progress when the summary carries them, id).

    Raises
    ------
    ValueError
        For another ``by``.
    """
    if by not in ("relacion", "estrategia"):
        raise ValueError(f"by must be 'relacion' or 'estrategia', not {by!r}")
    outer, inner = (summary.by_relation, summary.by_strategy) if by == "relacion" else (summary.by_strategy, summary.by_relation)
    column = "estrategia" if by == "relacion" else "grupo"
    strategy_keys = {g.key for g in summary.by_strategy}

    def title(group, is_strategy: bool) -> str:
        return f"{group.key} · {group.label}" if is_strategy and group.key in strategy_keys else group.label

    def items(frame: pd.DataFrame) -> list[dict[str, object]]:
        estados = frame["estado"] if "estado" in frame else [None] * len(frame)
        avances = frame["avance_fisico"] if "avance_fisico" in frame else [None] * len(frame)
        return [{"nombre": n, "tipo": t, "id": i, "estado": status_text(e, a)}
                for n, t, i, e, a in zip(frame["nombre"], frame["tipo"], frame["id"], estados, avances)]

    template = _jinja.environment().get_template("sector_lists.html")
    blocks = []
    for group in outer:
        subgroups = []
        for sub in inner:
            rows = group.initiatives[group.initiatives[column] == sub.key]
            if len(rows):
                subgroups.append({"title": title(sub, by == "relacion"), "initiatives": items(rows)})
        blocks.append(template.render(block={
            "title": title(group, by == "estrategia"), "n": group.n,
            "explanation": EXPLICACION[group.key] if by == "relacion" else "", "subgroups": subgroups,
        }))
    return blocks


def sector_lists_css() -> str:
    """The ``<style>`` element of :func:`sector_lists_html` (``views/templates/sector_lists.css``).

    Returns
    -------
    str
        One ``<style>`` element with no other content: ``st.html`` places it in the
        page without taking room.
    """
    return f"<style>{_jinja.stylesheet('sector_lists.css')}</style>"
