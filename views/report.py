"""A printable report of one territory for its neighbourhood committee.

:func:`sector_report_html` turns a :class:`layers.sector.SectorSummary` into one
self-contained HTML document: inline CSS (with print rules for A4), a static map
drawn here as inline SVG from the geometries (commune outline, the territory, its
neighbours, the sited initiatives coloured by strategy, a scale bar measured in
EPSG:32719 and a north arrow), the initiatives grouped by relation and strategy,
and the sources of every layer. The document references no external resource:
it opens and prints the same with no internet, or attached to an e-mail.

Every text that comes from data is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from html import escape

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM19S, WGS84
from layers.sector import EXPLICACION, GRUPOS, SectorSummary, group_label
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


def _e(value: object) -> str:
    """HTML-escaped text of ``value`` (missing values become an empty string)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return escape(str(value), quote=True)


def _num(value: float, decimals: int = 0) -> str:
    """A number written the Chilean way (``7.238,29``)."""
    return f"{value:,.{decimals}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def format_number(value: float, decimals: int = 0) -> str:
    """A number written the Chilean way (``7238.29`` -> ``"7.238,29"``)."""
    return _num(value, decimals)


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
    return f"{_num(metres / 1000, 0 if metres % 1000 == 0 else 1)} km" if metres >= 1000 else f"{_num(metres)} m"


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


def sector_map_svg(
    summary: SectorSummary,
    commune_geom: shapely.Geometry,
    colors: Mapping[str, str] | None = None,
    width: int = MAP_WIDTH,
    territories: gpd.GeoDataFrame | None = None,
) -> str:
    """Static map of a territory as an inline SVG element.

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

    Returns
    -------
    str
        An ``<svg>`` element (no external references). Sited initiatives are
        numbered in catalogue order, as in :func:`sited_numbers`.
    """
    territory = gpd.GeoSeries([summary.territory.geometry], crs=WGS84)
    own = _metric(territory)[0]
    commune = _metric(gpd.GeoSeries([commune_geom], crs=WGS84))[0]
    bounds, height = _view_bounds(own, width)
    view = _View(bounds, width, height)
    # Clip everything a little outside the frame and drop detail below half a pixel.
    pad = 12 * view.metres_per_px
    minx, miny, maxx, maxy = bounds
    frame = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    tol = 0.5 * view.metres_per_px

    def prepare(geom: shapely.Geometry) -> shapely.Geometry:
        geom = shapely.clip_by_rect(geom, *frame)
        return shapely.simplify(geom, tol, preserve_topology=True)

    sited = summary.sited
    ids = list(dict.fromkeys(summary.initiatives["estrategia"].dropna()))
    colors = dict(colors or strategy_colors(ids))
    title = f"Mapa de {summary.nombre}"
    out = [
        f'<svg class="mapa" viewBox="0 0 {width} {_fmt(height)}" '
        f'width="{width}" height="{_fmt(height)}" role="img" aria-labelledby="mapa-titulo mapa-desc">',
        f'<title id="mapa-titulo">{_e(title)}</title>',
        f'<desc id="mapa-desc">{_e(_map_description(summary))}</desc>',
        '<defs><clipPath id="marco"><rect x="0" y="0" '
        f'width="{width}" height="{_fmt(height)}"/></clipPath></defs>',
        f'<rect class="fondo" x="0" y="0" width="{width}" height="{_fmt(height)}"/>',
        '<g clip-path="url(#marco)">',
    ]
    # Commune (fill), neighbours, the territory, the commune outline on top.
    out.append(f'<path class="comuna-relleno" d="{_path_data(view, prepare(commune))}"/>')
    neighbours = summary.neighbours
    if territories is not None:
        others = territories[~territories["slug"].isin({summary.slug, *neighbours["slug"]})]
        if len(others):
            metric = _metric(others.geometry)
            in_view = shapely.intersects(metric, shapely.box(*frame))
            for geom in metric[in_view]:
                out.append(f'<path class="otro" d="{_path_data(view, prepare(geom))}"/>')
    if len(neighbours):
        for geom, name in zip(_metric(neighbours.geometry), neighbours["nombre"]):
            out.append(
                f'<path class="vecino" d="{_path_data(view, prepare(geom))}"><title>{_e(name)}</title></path>'
            )
    out.append(
        f'<path class="territorio" d="{_path_data(view, prepare(own))}"><title>{_e(summary.nombre)}</title></path>'
    )
    out.append(f'<path class="comuna-borde" d="{_path_data(view, prepare(shapely.boundary(commune)))}"/>')
    # Neighbour names, inside the visible part of each neighbour, kept within the frame.
    if len(neighbours):
        for geom, name in zip(_metric(neighbours.geometry), neighbours["nombre"]):
            x, y = _label_point(view, geom, str(name))
            if x is not None:
                out.append(f'<text class="etiqueta-vecino" x="{_fmt(x)}" y="{_fmt(y)}">{_e(name)}</text>')
    # Sited initiatives: polygons, then lines, then points with their number.
    numbers = sited_numbers(summary)
    if len(sited):
        metric = _metric(sited.geometry)
        rows = list(zip(metric, sited["id"], sited["nombre"], sited["estrategia"]))
        for geom, iid, name, sid in rows:
            color = colors.get(sid, _OTHER_COLOR)
            label = f"{numbers[iid]}. {name}"
            polys = shapely.get_parts(geom)
            area_parts = [p for p in polys if p.geom_type == "Polygon"]
            line_parts = [p for p in polys if "LineString" in p.geom_type]
            if area_parts:
                d = _path_data(view, prepare(shapely.MultiPolygon(area_parts)))
                out.append(f'<path class="iniciativa-area" d="{d}" fill="{_e(color)}" stroke="{_e(color)}">'
                           f"<title>{_e(label)}</title></path>")
            if line_parts:
                d = _path_data(view, prepare(shapely.MultiLineString(line_parts)))
                out.append(f'<path class="iniciativa-linea" d="{d}" stroke="{_e(color)}">'
                           f"<title>{_e(label)}</title></path>")
        for geom, iid, name, sid in rows:
            color = colors.get(sid, _OTHER_COLOR)
            label = f"{numbers[iid]}. {name}"
            anchors = _points(geom)
            if not anchors:  # number areas and lines at a point on them
                anchors = [tuple(shapely.point_on_surface(geom).coords[0])]
            for x, y in anchors:
                (px, py), = view.xy(np.array([[x, y]]))
                if not (0 <= px <= width and 0 <= py <= height):
                    continue
                out.append(
                    f'<g class="iniciativa-punto"><title>{_e(label)}</title>'
                    f'<circle cx="{_fmt(px)}" cy="{_fmt(py)}" r="9" fill="{_e(color)}"/>'
                    f'<text x="{_fmt(px)}" y="{_fmt(py + 3.5)}" fill="{text_color(color)}">{numbers[iid]}</text></g>'
                )
    out.append("</g>")
    out.append(_north_arrow(width))
    out.append(_scale_bar(view))
    out.append(_inset(view, own, commune))
    out.append(f'<rect class="marco" x="0.5" y="0.5" width="{width - 1}" height="{_fmt(height - 1)}"/>')
    out.append("</svg>")
    return "\n".join(out)


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


def _north_arrow(width: float) -> str:
    x, y = width - 34, 16
    return (
        f'<g class="norte" transform="translate({_fmt(x)} {_fmt(y)})" aria-label="Norte">'
        '<rect x="-4" y="-6" width="30" height="54" rx="4"/>'
        '<path d="M11 2 L20 28 L11 22 L2 28 Z"/>'
        '<text x="11" y="44">N</text></g>'
    )


def _scale_bar(view: _View) -> str:
    length = _nice_length(view.width * 0.25 * view.metres_per_px)
    px = length / view.metres_per_px
    x0, y0 = 16, view.height - 22
    seg = px / 4
    rects = "".join(
        f'<rect x="{_fmt(x0 + i * seg)}" y="{_fmt(y0)}" width="{_fmt(seg)}" height="6" '
        f'class="{"escala-negro" if i % 2 == 0 else "escala-blanco"}"/>'
        for i in range(4)
    )
    return (
        f'<g class="escala" aria-label="Escala {_e(_length_label(length))}">'
        f'<rect class="escala-fondo" x="{_fmt(x0 - 8)}" y="{_fmt(y0 - 18)}" width="{_fmt(px + 40)}" height="32" rx="4"/>'
        f"{rects}"
        f'<text x="{_fmt(x0)}" y="{_fmt(y0 - 5)}">0</text>'
        f'<text x="{_fmt(x0 + px)}" y="{_fmt(y0 - 5)}">{_e(_length_label(length))}</text>'
        "</g>"
    )


def _inset(view: _View, own: shapely.Geometry, commune: shapely.Geometry) -> str:
    """Small locator of the whole commune, unless the main map already shows most of it."""
    cminx, cminy, cmaxx, cmaxy = commune.bounds
    frame_area = (view.maxx - view.minx) * (view.maxy - view.miny)
    if frame_area >= 0.5 * (cmaxx - cminx) * (cmaxy - cminy):
        return ""
    size = 130.0
    span = max(cmaxx - cminx, cmaxy - cminy) * 1.08
    cx, cy = (cminx + cmaxx) / 2, (cminy + cmaxy) / 2
    inset = _View((cx - span / 2, cy - span / 2, cx + span / 2, cy + span / 2), size, size)
    tol = 0.7 * inset.metres_per_px
    x0, y0 = view.width - size - 10, view.height - size - 10
    box = shapely.box(view.minx, view.miny, view.maxx, view.maxy)
    # The territory and the frame of the main map, at least a few pixels wide.
    min_half = 2.5 * inset.metres_per_px
    bx = shapely.box(*_grow(box.bounds, min_half))
    return (
        f'<g class="ubicacion" transform="translate({_fmt(x0)} {_fmt(y0)})">'
        "<title>Ubicación en la comuna</title>"
        f'<rect class="ubicacion-fondo" x="0" y="0" width="{_fmt(size)}" height="{_fmt(size)}"/>'
        f'<path class="ubicacion-comuna" d="{_path_data(inset, shapely.simplify(commune, tol))}"/>'
        f'<path class="ubicacion-territorio" d="{_path_data(inset, shapely.simplify(own, tol))}"/>'
        f'<path class="ubicacion-marco" d="{_path_data(inset, bx)}"/>'
        "</g>"
    )


def _grow(bounds: tuple[float, float, float, float], half: float) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    hx, hy = max((maxx - minx) / 2, half), max((maxy - miny) / 2, half)
    return cx - hx, cy - hy, cx + hx, cy + hy


def sited_numbers(summary: SectorSummary) -> dict[str, int]:
    """Number (1, 2, ...) of each sited initiative of the territory, in catalogue order."""
    return {iid: n for n, iid in enumerate(summary.sited["id"], start=1)}


# --------------------------------------------------------------------------- the document


_CSS = """
:root { --texto: #1d1d1b; --suave: #5b5b57; --linea: #d8d6cf; --acento: #b3261e; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--texto); font-size: 15px; line-height: 1.45; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.5rem 3rem; background: #fff; }
header { border-bottom: 3px solid var(--acento); padding-bottom: .6rem; margin-bottom: 1rem; }
.antetitulo { margin: 0; color: var(--suave); font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; }
h1 { margin: .2rem 0 .2rem; font-size: 1.9rem; }
h2 { font-size: 1.3rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid var(--linea); padding-bottom: .2rem; }
h3 { font-size: 1.1rem; margin: 1.3rem 0 .2rem; }
h4 { font-size: .98rem; margin: .8rem 0 .2rem; color: var(--suave); }
.meta { margin: 0; color: var(--suave); }
.cifras { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; padding: 0; list-style: none; }
.cifras li { border: 1px solid var(--linea); border-radius: 6px; padding: .4rem .8rem; min-width: 8.5rem; }
.cifras strong { display: block; font-size: 1.5rem; }
figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
svg.mapa { width: 100%; height: auto; display: block; border-radius: 4px; }
.fondo { fill: #eef2f4; }
.comuna-relleno { fill: #fbfaf6; stroke: none; }
.comuna-borde { fill: none; stroke: #222; stroke-width: 2; stroke-dasharray: 8 4; }
.otro { fill: #f1efe9; stroke: #b5b1a8; stroke-width: .8; fill-rule: evenodd; }
.vecino { fill: #e6e3da; stroke: #77736a; stroke-width: 1; fill-rule: evenodd; }
.territorio { fill: #f6d7b0; fill-opacity: .85; stroke: var(--acento); stroke-width: 3; fill-rule: evenodd; }
.etiqueta-vecino { font-size: 11px; fill: #45433e; text-anchor: middle; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.iniciativa-area { fill-opacity: .35; stroke-width: 2; fill-rule: evenodd; }
.iniciativa-linea { fill: none; stroke-width: 4; stroke-linecap: round; stroke-linejoin: round; }
.iniciativa-punto circle { stroke: #fff; stroke-width: 2; }
.iniciativa-punto text { font-size: 11px; font-weight: bold; text-anchor: middle; }
.norte rect, .escala-fondo, .ubicacion-fondo { fill: #fff; fill-opacity: .88; stroke: #999; stroke-width: .8; }
.norte path { fill: #222; }
.norte text { font-size: 12px; font-weight: bold; text-anchor: middle; }
.escala text { font-size: 11px; text-anchor: middle; }
.escala-negro { fill: #222; stroke: #222; stroke-width: .8; }
.escala-blanco { fill: #fff; stroke: #222; stroke-width: .8; }
.ubicacion-comuna { fill: #fbfaf6; stroke: #222; stroke-width: 1; }
.ubicacion-territorio { fill: var(--acento); stroke: var(--acento); stroke-width: 1; }
.ubicacion-marco { fill: none; stroke: var(--acento); stroke-width: 1.5; }
.marco { fill: none; stroke: #999; stroke-width: 1; }
.leyenda { display: flex; flex-wrap: wrap; gap: .3rem 1.1rem; margin: .5rem 0 0; padding: 0; list-style: none; font-size: .85rem; color: var(--suave); }
.muestra { display: inline-block; width: 1.1em; height: .8em; vertical-align: -.05em; margin-right: .35em; border: 1px solid #777; }
.muestra.territorio-m { background: #f6d7b0; border: 2px solid var(--acento); }
.muestra.vecino-m { background: #e6e3da; }
.muestra.comuna-m { background: none; border: 2px dashed #222; }
.muestra.punto { border-radius: 50%; width: .9em; height: .9em; border-color: #fff; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid var(--linea); padding: .3rem .4rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
ul.iniciativas { margin: .2rem 0 .6rem; padding-left: 1.2rem; }
ul.iniciativas li { margin: .1rem 0; break-inside: avoid; page-break-inside: avoid; }
.id { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: .82em; color: var(--suave); }
.tipo { color: var(--suave); font-size: .88em; }
.num { display: inline-block; min-width: 1.5em; padding: 0 .3em; border-radius: 1em; font-size: .8em; font-weight: bold; text-align: center; }
.explica { margin: 0 0 .3rem; color: var(--suave); font-size: .9rem; }
dl.fuentes dt { font-weight: bold; margin-top: .6rem; }
dl.fuentes dd { margin: .1rem 0 0 1rem; }
footer { margin-top: 2rem; border-top: 1px solid var(--linea); padding-top: .6rem; color: var(--suave); font-size: .85rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { font-size: 10.5pt; }
  body { max-width: none; padding: 0; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  .cifras li, table, dl.fuentes dd { break-inside: avoid; page-break-inside: avoid; }
  .mapa-seccion { break-after: page; page-break-after: always; }
}
"""


def _initiative_item(row: pd.Series, numbers: Mapping[str, int], colors: Mapping[str, str]) -> str:
    badge = ""
    if row["id"] in numbers:
        color = colors.get(row["estrategia"], _OTHER_COLOR)
        badge = (
            f'<span class="num" style="background:{_e(color)};color:{text_color(color)}" '
            f'title="Número en el mapa">{numbers[row["id"]]}</span> '
        )
    return (
        f'<li>{badge}<span class="nombre">{_e(row["nombre"])}</span> '
        f'<span class="tipo">({_e(row.get("tipo"))})</span> '
        f'<span class="id">{_e(row["id"])}</span></li>'
    )


def _strategy_table(summary: SectorSummary, colors: Mapping[str, str]) -> str:
    keys = [k for k in GRUPOS if summary.counts.get(k)]
    head = "".join(f'<th class="n" scope="col">{_e(group_label(k, summary.tipo))}</th>' for k in keys)
    rows = []
    for group in summary.by_strategy:
        cells = "".join(
            f'<td class="n">{int((group.initiatives["grupo"] == k).sum())}</td>' for k in keys
        )
        color = colors.get(group.key, _OTHER_COLOR)
        rows.append(
            f'<tr><th scope="row"><span class="muestra punto" style="background:{_e(color)}"></span>'
            f"{_e(group.key)} · {_e(group.label)}</th>{cells}<td class=\"n\">{group.n}</td></tr>"
        )
    total = "".join(f'<td class="n">{summary.counts[k]}</td>' for k in keys)
    return (
        '<table class="por-estrategia"><thead><tr><th scope="col">Estrategia</th>'
        f'{head}<th class="n" scope="col">Total</th></tr></thead><tbody>{"".join(rows)}</tbody>'
        f'<tfoot><tr><th scope="row">Total</th>{total}<td class="n">{summary.counts["total"]}</td></tr></tfoot></table>'
    )


def _initiative_lists(summary: SectorSummary, numbers: Mapping[str, int], colors: Mapping[str, str]) -> str:
    out = []
    for group in summary.by_relation:
        out.append(f'<section class="grupo" id="grupo-{_e(group.key)}">')
        out.append(f"<h3>{_e(group.label)} ({group.n})</h3>")
        out.append(f'<p class="explica">{_e(EXPLICACION[group.key])}</p>')
        inits = group.initiatives
        for sid, name in _strategies_in(summary, inits):
            rows = inits[inits["estrategia"] == sid]
            out.append(f"<h4>{_e(sid)} · {_e(name)} ({len(rows)})</h4>")
            items = "".join(_initiative_item(r, numbers, colors) for _, r in rows.iterrows())
            out.append(f'<ul class="iniciativas">{items}</ul>')
        out.append("</section>")
    return "\n".join(out)


def _strategies_in(summary: SectorSummary, inits: pd.DataFrame) -> list[tuple[str, str]]:
    present = set(inits["estrategia"])
    return [(g.key, g.label) for g in summary.by_strategy if g.key in present]


def _legend(summary: SectorSummary, colors: Mapping[str, str]) -> str:
    items = [
        f'<li><span class="muestra territorio-m"></span>{_e(summary.nombre)}</li>',
        '<li><span class="muestra vecino-m"></span>Territorios vecinos</li>',
        '<li><span class="muestra comuna-m"></span>Límite comunal (DPA 2023)</li>',
    ]
    for sid in dict.fromkeys(summary.sited["estrategia"]):
        name = next((g.label for g in summary.by_strategy if g.key == sid), "")
        items.append(
            f'<li><span class="muestra punto" style="background:{_e(colors.get(sid, _OTHER_COLOR))}"></span>'
            f"Iniciativa de {_e(sid)} · {_e(name)}</li>"
        )
    return f'<ul class="leyenda">{"".join(items)}</ul>'


def _sources(summary: SectorSummary, commune_source: str) -> str:
    t = summary.territory
    rows = [
        ("Territorio", f"{_e(t.get('fuente'))} Geometría: {_e(t.get('fuente_geometria'))}. "
                       f"Precisión del borde: ±{_e(_num(float(t.get('precision_m') or 0)))} m."),
        ("Límite comunal", _e(commune_source)),
        ("Plan", _e(FUENTE_PLADECO)),
        ("Vínculos", _e(FUENTE_VINCULOS)),
    ]
    sited = summary.sited
    if len(sited):
        items = "".join(
            f"<li>{_e(r['nombre'])}: {_e(r.get('fuente_geometria'))}"
            + (f" (precisión ±{_e(_num(float(r['precision_m'])))} m)" if pd.notna(r.get("precision_m")) else "")
            + "</li>"
            for _, r in sited.iterrows()
        )
        rows.append(("Ubicaciones de iniciativas", f"<ul>{items}</ul>"))
    rows.append((
        "Sistema de coordenadas",
        "Coordenadas en WGS 84 (EPSG:4326); distancias, áreas y la escala del mapa medidas en "
        "WGS 84 / UTM 19S (EPSG:32719). El norte del mapa es el de la cuadrícula UTM.",
    ))
    body = "".join(f"<dt>{label}</dt><dd>{text}</dd>" for label, text in rows)
    return f'<dl class="fuentes">{body}</dl>'


def sector_report_html(
    summary: SectorSummary,
    commune: gpd.GeoDataFrame | shapely.Geometry,
    *,
    generated: _dt.date | None = None,
    colors: Mapping[str, str] | None = None,
    commune_name: str = "Vallenar",
    territories: gpd.GeoDataFrame | None = None,
) -> str:
    """A self-contained, printable HTML report of one territory.

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

    Returns
    -------
    str
        A complete HTML5 document (UTF-8) with inline CSS and an inline SVG map; it
        loads nothing from any server.
    """
    if isinstance(commune, gpd.GeoDataFrame):
        commune_geom = commune.to_crs(WGS84).geometry.union_all()
        commune_source = str(commune["fuente"].iloc[0]) if "fuente" in commune.columns and len(commune) else FUENTE_DPA
    else:
        commune_geom, commune_source = commune, FUENTE_DPA
    day = generated or _dt.date.today()
    ids = [g.key for g in summary.by_strategy]
    colors = dict(colors or strategy_colors(ids))
    numbers = sited_numbers(summary)
    t = summary.territory
    counts = summary.counts
    cifras = [("Iniciativas en total", counts["total"])] + [
        (group_label(k, summary.tipo), counts[k]) for k in GRUPOS
    ]
    cifras_html = "".join(f"<li><strong>{n}</strong>{_e(label)}</li>" for label, n in cifras)
    neighbours = summary.neighbours
    if len(neighbours):
        vecinos = "".join(
            f"<li>{_e(r['nombre'])} <span class=\"tipo\">({_e(r['tipo'])}; borde común de "
            f"{_e(_length_label(round(float(r['borde_m']))))})</span></li>"
            for _, r in neighbours.iterrows()
        )
        vecinos_html = f'<ul class="vecinos">{vecinos}</ul>'
    else:
        vecinos_html = "<p>Este territorio no comparte bordes con otros territorios de la capa.</p>"
    area = t.get("area_km2")
    area_text = f" · {_num(float(area), 2)} km²" if area is not None and pd.notna(area) else ""
    title = f"{summary.nombre}: el plan comunal en el territorio"
    return f"""<!DOCTYPE html>
<html lang="es-CL">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="SIT Vallenar">
<title>{_e(title)} · SIT {_e(commune_name)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<p class="antetitulo">SIT {_e(commune_name)} · Informe para la junta de vecinos</p>
<h1>{_e(summary.nombre)}</h1>
<p class="meta">{_e(str(t.get('tipo', '')).capitalize())}{area_text} · Comuna de {_e(commune_name)} · Generado el {_e(spanish_date(day))}</p>
</header>
<main>
<section aria-labelledby="cifras-titulo">
<h2 id="cifras-titulo">Iniciativas del PLADECO que atañen a este territorio</h2>
<ul class="cifras">{cifras_html}</ul>
</section>
<section class="mapa-seccion" aria-labelledby="mapa-seccion-titulo">
<h2 id="mapa-seccion-titulo">Mapa</h2>
<figure>
{sector_map_svg(summary, commune_geom, colors, territories=territories)}
<figcaption>{_legend(summary, colors)}</figcaption>
</figure>
<h3>Territorios vecinos ({len(neighbours)})</h3>
{vecinos_html}
</section>
<section aria-labelledby="estrategias-titulo">
<h2 id="estrategias-titulo">Resumen por estrategia</h2>
{_strategy_table(summary, colors)}
</section>
<section aria-labelledby="lista-titulo">
<h2 id="lista-titulo">Iniciativas por relación con el territorio y por estrategia</h2>
{_initiative_lists(summary, numbers, colors)}
</section>
<section aria-labelledby="fuentes-titulo">
<h2 id="fuentes-titulo">Fuentes</h2>
{_sources(summary, commune_source)}
</section>
</main>
<footer>
<p>Los territorios y las ubicaciones de iniciativas son referenciales (dibujados por el proyecto SIT {_e(commune_name)});
no reemplazan cartografía oficial. Una iniciativa sin lugar conocido se asocia a su alcance, sin inventarle un punto.</p>
<p>Informe generado el {_e(spanish_date(day))} ({_e(day.isoformat())}) por SIT {_e(commune_name)}.</p>
</footer>
</body>
</html>
"""


# --------------------------------------------------------------------------- the same lists as Markdown


_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>$:&=^")


def markdown_escape(text: object) -> str:
    """Text from data made literal for Markdown as Streamlit renders it.

    Every character that could start emphasis, a link, a heading, HTML, an
    entity, LaTeX (``$``) or a Streamlit directive (``:red[...]``, ``:emoji:``)
    is backslash-escaped; line breaks become spaces.
    """
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in str(text)).replace("\n", " ")


def sector_markdown(summary: SectorSummary, by: str = "relacion") -> list[str]:
    """The initiatives of a territory as Markdown blocks, one per first-level group.

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
        Markdown blocks: a level-4 heading with the count, a level-5 heading per
        subgroup and a bullet per initiative (name, type, id); texts escaped.
    """
    if by not in ("relacion", "estrategia"):
        raise ValueError(f"by must be 'relacion' or 'estrategia', not {by!r}")

    def items(frame: pd.DataFrame) -> str:
        return "\n".join(
            f"- {markdown_escape(r.nombre)} — {markdown_escape(r.tipo)} · {markdown_escape(r.id)}"
            for r in frame.itertuples(index=False)
        )

    outer, inner = (summary.by_relation, summary.by_strategy) if by == "relacion" else (summary.by_strategy, summary.by_relation)
    column = "estrategia" if by == "relacion" else "grupo"

    strategy_keys = {g.key for g in summary.by_strategy}

    def title(group, is_strategy: bool) -> str:
        if is_strategy and group.key in strategy_keys:
            return f"{markdown_escape(group.key)} · {markdown_escape(group.label)}"
        return markdown_escape(group.label)

    blocks = []
    for group in outer:
        parts = [f"#### {title(group, by == 'estrategia')} ({group.n})"]
        if by == "relacion":
            parts.append(f"*{EXPLICACION[group.key]}*")
        for sub in inner:
            rows = group.initiatives[group.initiatives[column] == sub.key]
            if len(rows):
                parts.append(f"##### {title(sub, by == 'relacion')} ({len(rows)})")
                parts.append(items(rows))
        blocks.append("\n\n".join(parts))
    return blocks
