"""Symbology of the map: strategy colours, choropleth classes and geometry styles.

Colour choices
--------------
Strategies
    The eight strategies of the plan take the eight colours of the Okabe–Ito
    palette (Okabe & Ito, *Color Universal Design*, 2008), chosen so that people
    with any common colour-vision deficiency (protanopia, deuteranopia,
    tritanopia) can still tell them apart. The palette's black is used last
    (E8) and every mark gets a white outline so it stays visible on dark fills.
Initiatives per territory
    A sequential ramp written for this project: pale warm grey to deep indigo,
    with relative luminance strictly decreasing from one class to the next, so
    the order of the classes reads the same in grey scale and for every kind of
    colour vision. It stays within blue-violet hues, away from the orange,
    yellow and green strategy colours drawn on top of it. Territories that no
    selected initiative concerns are drawn white.

Class breaks
------------
:func:`class_breaks` makes at most :data:`MAX_CLASSES` classes of the positive
counts: one class per distinct value when there are few, otherwise quantile
classes rounded to whole initiatives. Zero always has a class of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jenkspy
import numpy as np

from geo import repair

#: Strategy id -> Okabe–Ito colour (hex).
STRATEGY_COLORS: dict[str, str] = {
    "E1": "#E69F00",  # orange
    "E2": "#56B4E9",  # sky blue
    "E3": "#009E73",  # bluish green
    "E4": "#F0E442",  # yellow
    "E5": "#0072B2",  # blue
    "E6": "#D55E00",  # vermilion
    "E7": "#CC79A7",  # reddish purple
    "E8": "#000000",  # black
}
#: Colour of an initiative whose strategy is not one of the eight (imported data).
UNKNOWN_STRATEGY_COLOR = "#7F7F7F"
#: Outline of initiative marks, so they read on any fill.
MARK_OUTLINE = "#FFFFFF"

#: Sequential ramp for counts, light to dark (luminance strictly decreasing).
SEQUENTIAL: tuple[str, ...] = (
    "#F3EFE6",
    "#DCD5EA",
    "#BDB3DC",
    "#9A8DC6",
    "#7565AB",
    "#4C3D88",
)
#: Fill of territories that no selected initiative concerns.
ZERO_COLOR = "#FFFFFF"
#: Fill of territories without a value (a rate where the census gives no population).
NO_DATA_COLOR = "#D9D9D9"
#: Largest number of classes for positive counts.
MAX_CLASSES = 5
#: Goodness of variance fit that natural classes must reach (:func:`class_breaks`).
GOOD_FIT = 0.9

#: Commune boundary: a dark outline, no fill.
COMMUNE_STYLE: dict[str, object] = {"color": "#222222", "weight": 2.5, "fill": False, "opacity": 0.9}
#: Territory outline (fill comes from the choropleth class).
TERRITORY_STYLE: dict[str, object] = {"color": "#6B6B6B", "weight": 0.8, "opacity": 0.9, "fillOpacity": 0.7}
#: Territories named in the filter: a thick dark outline on top.
SELECTED_TERRITORY_STYLE: dict[str, object] = {"color": "#111111", "weight": 3.5, "fill": False, "opacity": 1.0}

#: Style of sited initiatives by kind of geometry (the colour is the strategy's).
GEOMETRY_STYLES: dict[str, dict[str, object]] = {
    "point": {"radius": 7, "weight": 1.5, "color": MARK_OUTLINE, "opacity": 1.0, "fillOpacity": 0.95},
    "line": {"weight": 5, "opacity": 0.95, "lineCap": "round"},
    "polygon": {"weight": 3, "opacity": 0.95, "fillOpacity": 0.35, "dashArray": "6 4"},
}
#: Geometry type -> kind of :data:`GEOMETRY_STYLES`.
GEOMETRY_KINDS: dict[str, str] = {
    name: family for name, family in repair.FAMILY_BY_TYPE_NAME.items() if family in GEOMETRY_STYLES
}
#: Kind -> label for people (legend).
GEOMETRY_LABELS: dict[str, str] = {"point": "Punto", "line": "Línea", "polygon": "Área"}


def strategy_color(strategy: object) -> str:
    """Colour of a strategy.

    Parameters
    ----------
    strategy : str
        Strategy id (``"E1"``).

    Returns
    -------
    str
        Hex colour; :data:`UNKNOWN_STRATEGY_COLOR` for an unknown id.
    """
    return STRATEGY_COLORS.get(str(strategy), UNKNOWN_STRATEGY_COLOR)


def geometry_kind(geom_type: str | None) -> str | None:
    """``"point"``, ``"line"`` or ``"polygon"`` for a geometry type name; ``None`` otherwise."""
    return GEOMETRY_KINDS.get(str(geom_type)) if geom_type else None


def line_style(strategy: object) -> dict[str, object]:
    """Leaflet path style of a sited line of a strategy."""
    return {**GEOMETRY_STYLES["line"], "color": strategy_color(strategy)}


def polygon_style(strategy: object) -> dict[str, object]:
    """Leaflet path style of a sited area of a strategy."""
    color = strategy_color(strategy)
    return {**GEOMETRY_STYLES["polygon"], "color": color, "fillColor": color}


def point_style(strategy: object) -> dict[str, object]:
    """Leaflet ``circleMarker`` options of a sited point of a strategy."""
    return {**GEOMETRY_STYLES["point"], "fillColor": strategy_color(strategy)}


# --------------------------------------------------------------------------- choropleth


def _natural_breaks(values: np.ndarray, max_classes: int, min_fit: float = GOOD_FIT) -> list[float]:
    """Upper bounds of Fisher-Jenks natural classes (:mod:`jenkspy`), as few as fit the values.

    The number of classes is the smallest (2 to ``max_classes``) whose goodness of
    variance fit reaches ``min_fit``; ``max_classes`` when none does.
    """
    total = float(((values - values.mean()) ** 2).sum())
    n_max = min(max_classes, int(np.unique(values).size))
    chosen: list[float] = [float(values.max())]
    for k in range(2, n_max + 1):
        bounds = jenkspy.jenks_breaks(values.tolist(), n_classes=k)[1:]
        classes = np.searchsorted(np.asarray(bounds), values, side="left")
        within = sum(float(((values[classes == c] - values[classes == c].mean()) ** 2).sum()) for c in range(k) if (classes == c).any())
        chosen = [float(b) for b in bounds]
        if total == 0 or 1 - within / total >= min_fit:
            break
    return chosen


def class_breaks(values: Iterable[float], max_classes: int = MAX_CLASSES) -> list[int]:
    """Upper bounds (inclusive) of the classes of positive counts.

    Up to ``max_classes`` distinct counts get one class each. More are grouped in
    natural classes (Fisher-Jenks, :func:`_natural_breaks`): breaks fall in the gaps of
    the real distribution, and there are only as many classes as it needs.

    Parameters
    ----------
    values : iterable of int
        Counts (initiatives per territory); zeros and negatives are ignored.
    max_classes : int
        Largest number of classes.

    Returns
    -------
    list of int
        Strictly increasing upper bounds; the last one is the largest count.
        Empty when no count is positive. Class ``i`` (1-based) holds the counts
        in ``(breaks[i-2], breaks[i-1]]``.
    """
    arr = np.asarray(list(values), dtype=float)
    positive = np.sort(arr[arr > 0])
    if positive.size == 0:
        return []
    distinct = np.unique(np.ceil(positive)).astype(int)
    if distinct.size <= max_classes:
        return distinct.tolist()
    breaks = sorted({int(np.ceil(b)) for b in _natural_breaks(np.ceil(positive), max_classes)})
    if breaks[-1] != int(distinct[-1]):
        breaks.append(int(distinct[-1]))
    return breaks


def rate_breaks(values: Iterable[float], max_classes: int = MAX_CLASSES, decimals: int = 2) -> list[float]:
    """Upper bounds (inclusive) of the classes of positive rates (initiatives per 1,000 inhabitants).

    Natural classes (Fisher-Jenks) of the positive values, rounded up to ``decimals``;
    NaN (no population) and zeros are left out.

    Returns
    -------
    list of float
        Strictly increasing; the last one is at least the largest rate. Empty when no
        rate is positive.
    """
    arr = np.asarray(list(values), dtype=float)
    positive = np.sort(arr[np.isfinite(arr) & (arr > 0)])
    if positive.size == 0:
        return []
    scale = 10.0 ** decimals
    if np.unique(positive).size <= 2:
        bounds = np.unique(positive).tolist()
    else:
        bounds = _natural_breaks(positive, max_classes)
    return sorted({float(np.ceil(b * scale - 1e-9) / scale) for b in bounds})


def classify(values: Iterable[float], breaks: list[int]) -> np.ndarray:
    """Class of each count: 0 for zero (or less), 1..len(breaks) otherwise.

    Parameters
    ----------
    values : iterable of int
        Counts.
    breaks : list of int
        As returned by :func:`class_breaks`.

    Returns
    -------
    numpy.ndarray of int
    """
    arr = np.asarray(list(values), dtype=float)
    if not breaks:
        return np.zeros(arr.shape, dtype=int)
    classes = np.searchsorted(np.asarray(breaks, dtype=float), arr, side="left") + 1
    classes = np.minimum(classes, len(breaks))
    return np.where(arr > 0, classes, 0).astype(int)


def class_colors(n_classes: int) -> list[str]:
    """Colours of ``n_classes`` positive classes, spread over :data:`SEQUENTIAL` (light to dark)."""
    if n_classes <= 0:
        return []
    if n_classes == 1:
        return [SEQUENTIAL[-2]]
    positions = np.linspace(1, len(SEQUENTIAL) - 1, n_classes).round().astype(int)
    return [SEQUENTIAL[i] for i in positions]


def _decimal(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def class_labels(breaks: list[float], minimum: float = 1, decimals: int = 0, values: Iterable[float] | None = None) -> list[str]:
    """Labels of the positive classes (``"3"``, ``"4–10"``; rates ``"0,21–0,38"``).

    Parameters
    ----------
    breaks : list of int or float
        As returned by :func:`class_breaks` (counts) or :func:`rate_breaks` (rates).
    minimum : int or float
        Smallest positive value (lower bound of the first class).
    decimals : int
        0 for counts; the decimals of :func:`rate_breaks` for rates, whose classes
        are labelled from the smallest value (first class) or the previous bound.
    values : iterable of float, optional
        The values classified. When given, each class is labelled with the smallest and
        largest value it holds (``"160–163"``, ``"171–175"``: a gap between classes shows),
        not with its bounds; a class that holds nothing keeps its bound label.
    """
    by_bounds = _bound_labels(breaks, minimum, decimals)
    if values is None:
        return by_bounds
    arr = np.asarray(list(values), dtype=float)
    arr = arr[np.isfinite(arr)]
    classes = classify(arr, breaks)
    labels = []
    for k, fallback in enumerate(by_bounds, start=1):
        held = arr[classes == k]
        if held.size == 0:
            labels.append(fallback)
            continue
        low, high = (_decimal(v, decimals) if decimals else str(int(v)) for v in (held.min(), held.max()))
        labels.append(low if low == high else f"{low}–{high}")
    return labels


def _bound_labels(breaks: list[float], minimum: float, decimals: int) -> list[str]:
    if decimals:
        lows = [float(minimum), *breaks[:-1]]
        return [
            _decimal(high, decimals) if low >= high else f"{_decimal(low, decimals)}–{_decimal(high, decimals)}"
            for low, high in zip(lows, breaks)
        ]
    labels = []
    low = max(1, int(minimum))
    for high in breaks:
        labels.append(str(high) if low >= high else f"{low}–{high}")
        low = high + 1
    return labels


def choropleth_legend(
    breaks: list[float], minimum: float = 1, zero: bool = True, decimals: int = 0, values: Iterable[float] | None = None,
) -> list[tuple[str, str]]:
    """(label, colour) rows of the choropleth legend, zero first.

    ``minimum`` is the smallest positive value (see :func:`class_labels`);
    ``zero`` says whether a territory has a value of zero (its row is shown);
    ``decimals`` is 0 for counts, more for rates; ``values``, when given, labels each
    class by the values it holds (:func:`class_labels`).
    """
    rows = [("0", ZERO_COLOR)] if zero or not breaks else []
    rows.extend(zip(class_labels(breaks, minimum, decimals, values), class_colors(len(breaks))))
    return rows


def fill_colors(values: Iterable[float], breaks: list[int]) -> list[str]:
    """Fill colour of each count according to ``breaks``."""
    palette = [ZERO_COLOR, *class_colors(len(breaks))]
    return [palette[c] for c in classify(values, breaks)]


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a hex colour (0 black to 1 white)."""
    rgb = np.array([int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def strategy_legend(strategies: Mapping[str, str], present: Iterable[str] | None = None) -> list[tuple[str, str, str]]:
    """(id, name, colour) rows of the strategy legend.

    Parameters
    ----------
    strategies : mapping of str to str
        Strategy id -> name, in display order.
    present : iterable of str, optional
        Only these strategies are listed (those drawn on the map).
    """
    keep = set(present) if present is not None else None
    return [(sid, name, strategy_color(sid)) for sid, name in strategies.items() if keep is None or sid in keep]


# --------------------------------------------------------------------------- monitoring status

#: Status of an initiative (:data:`layers.monitoring.fields.ESTADOS`, in that order) -> colour.
#: Okabe–Ito colours again (colour-blind safe), with a light grey for «sin iniciar» so
#: untouched initiatives recede; black marks finished ones.
ESTADO_COLORS: dict[str, str] = {
    "sin iniciar": "#BDBDBD",
    "en formulación": "#56B4E9",
    "postulada": "#0072B2",
    "financiada": "#009E73",
    "en ejecución": "#E69F00",
    "terminada": "#000000",
    "suspendida": "#D55E00",
    "descartada": "#CC79A7",
}
#: Colour of a status that is not one of :data:`ESTADO_COLORS`.
UNKNOWN_ESTADO_COLOR = UNKNOWN_STRATEGY_COLOR
#: How sited initiatives can be coloured: key -> label for people.
COLOR_MODES: dict[str, str] = {"estrategia": "Estrategia", "estado": "Estado"}


def estado_color(estado: object) -> str:
    """Colour of a monitoring status (``"en ejecución"``); :data:`UNKNOWN_ESTADO_COLOR` otherwise."""
    return ESTADO_COLORS.get(str(estado), UNKNOWN_ESTADO_COLOR)


def estado_legend() -> list[tuple[str, str]]:
    """(status, colour) rows of the status legend: the eight statuses in their life order."""
    return list(ESTADO_COLORS.items())
