"""The one legend element of the app's maps (plan map and sector map).

A legend is a list of :class:`Section` (title, optional subtitle, rows of a
:class:`Swatch` and a label). :func:`legend_html` renders it with the Jinja2
template ``views/templates/legend.html`` (autoescape: every title and label is
text, never markup) and :class:`Legend` puts that HTML in a Leaflet control.
The panel has explicit text and background colours, so it reads the same on a
light or a dark page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from folium.template import Template

from views import _jinja
from views._plain import PlainMacroElement
from views.escape import js_value

__all__ = ["Swatch", "Section", "legend_html", "Legend", "LEGEND_CSS"]

#: Inline style of the legend panel: dark text on an almost opaque light panel.
LEGEND_CSS = (
    "background:rgba(255,255,255,0.95);color:#1d1d1b;color-scheme:light;padding:5px 8px;"
    "font:11px/1.35 sans-serif;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.35);"
    "max-width:260px;max-height:42vh;overflow-y:auto;"
)

#: Shapes of :class:`Swatch`.
SHAPES = ("point", "ring", "line", "area", "outline")

_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})|transparent")


def _css_color(value: str) -> str:
    if not _COLOR.fullmatch(value):
        raise ValueError(f"legend colour must be #rgb, #rrggbb, #rrggbbaa or 'transparent', not {value!r}")
    return value


class Swatch(NamedTuple):
    """The sample drawn before a legend label.

    Attributes
    ----------
    shape : {"point", "ring", "line", "area", "outline"}
        Filled circle with a ring, hollow circle, line, filled box, box outline.
    color : str
        Fill (point, area) or stroke (ring, line, outline), ``#rrggbb``.
    stroke : str
        Border of a point or an area.
    weight : float
        Width of the border or of the line, in CSS pixels.
    dashed : bool
        Dashed outline or line.
    """

    shape: str
    color: str
    stroke: str = "#6b6b6b"
    weight: float = 1.0
    dashed: bool = False

    @property
    def style(self) -> str:
        """Inline CSS of the sample's colours (checked, so the attribute holds only a style).

        Size and shape come from the class ``sw-<shape>`` (``views/templates/legend.html``).
        """
        if self.shape not in SHAPES:
            raise ValueError(f"unknown swatch shape {self.shape!r}")
        color, stroke = _css_color(self.color), _css_color(self.stroke)
        line = f"{self.weight:g}px {'dashed' if self.dashed else 'solid'}"
        if self.shape in ("point", "area"):
            return f"background:{color};border:{line} {stroke}"
        if self.shape == "line":
            return f"border-top:{line} {color}"
        return f"border:{line} {color}"


class Section(NamedTuple):
    """A block of the legend: a heading and rows of (swatch, label).

    ``note`` is shown (in italics) when there are no rows; ``inline`` puts the rows
    on one line (used for the kinds of geometry drawn).
    """

    title: str | None
    rows: Sequence[tuple[Swatch, str]] = ()
    subtitle: str | None = None
    note: str | None = None
    inline: bool = False


def legend_html(sections: Sequence[Section]) -> str:
    """HTML of a legend, from ``views/templates/legend.html`` (every text escaped).

    Raises
    ------
    ValueError
        If a swatch colour is not a CSS hex colour (see :class:`Swatch`).
    """
    return _jinja.render("legend.html", sections=list(sections)).strip()


class Legend(PlainMacroElement):
    """A legend drawn as a Leaflet control (one element for every map of the app).

    Parameters
    ----------
    sections : sequence of Section
        What the legend lists, top to bottom.
    position : str
        Leaflet control corner.
    css_class : str
        Class of the panel besides ``sit-legend`` (e.g. ``sit-sector-legend``).

    Attributes
    ----------
    html : str
        The legend's HTML (:func:`legend_html`).
    html_js : str
        The same as a JavaScript string literal safe inside ``<script>``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var legend = L.control({position: {{ this.position|tojson }}});
                legend.onAdd = function () {
                    var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                    div.style.cssText = {{ this.css|tojson }};
                    div.innerHTML = {{ this.html_js }};
                    // A new selection rewrites it in place (views.restyle; HTML of views.legend.legend_html).
                    (window.__sitMap = window.__sitMap || {}).legend = function (html) { div.innerHTML = html; };
                    L.DomEvent.disableScrollPropagation(div);
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                legend.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, sections: Sequence[Section], position: str = "bottomright", css_class: str = ""):
        super().__init__()
        self._name = "Legend"
        self.html = legend_html(sections)
        self.html_js = js_value(self.html)
        self.position = position
        self.css_class = " ".join(["sit-legend", *css_class.split()])
        self.css = LEGEND_CSS
