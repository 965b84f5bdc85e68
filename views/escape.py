"""One escaping rule per output context, applied where a value from data or a link is written.

Text that comes from data (names of imported territories and reference features,
catalogue fields, file and field names) or from a link (``?territorio=...``) is
never trusted. Each function below makes such a value literal for *one* context;
pick the one of the place the value is written to, at the moment it is written:

=========================================  ===================================
Where the value goes                       Function
=========================================  ===================================
HTML element content (legends, tooltips,   :func:`html_text`
popups, Leaflet layer-control names)
HTML attribute value (always quoted)       :func:`html_attribute`
JavaScript, inside a ``<script>`` element  :func:`js_value` (JSON; never a
                                           JS template literal)
Markdown that Streamlit renders            :func:`markdown_text`
(see below)
Echo of a value someone typed or linked    :func:`shorten` first, then the
                                           context's function
CSV cells                                  :mod:`layers.exchange` (formula
                                           neutralisation)
=========================================  ===================================

Which Streamlit texts are Markdown (Streamlit 1.67): the body of ``st.markdown``,
``st.caption``, ``st.title``/``st.header``/``st.subheader``, ``st.warning``/``st.error``/
``st.info``/``st.success``/``st.toast``; the *label* of every widget, of
``st.metric`` and ``st.expander`` and of ``st.tabs``; every ``help=`` text; the
*options* of ``st.radio``, ``st.pills`` and ``st.segmented_control`` (their
``format_func`` output). Those go through :func:`markdown_text`. The options of
``st.selectbox`` and ``st.multiselect`` and the cells of ``st.dataframe`` are shown
as plain text: escaping them would show the backslashes, so they are passed as they are.

Folium puts the text of ``folium.Tooltip`` and ``folium.Popup`` inside a JavaScript
template literal, where ``${...}`` and a backtick are code. Data text must not be
given to them: put it in GeoJSON properties (``folium.GeoJsonTooltip``) or in a JSON
payload written with :func:`js_value`.
"""

from __future__ import annotations

import html
import json
import math
import re

__all__ = ["html_text", "html_attribute", "js_value", "markdown_text", "markdown_code", "shorten", "MARKDOWN_SPECIAL"]

#: Characters that start Markdown or Streamlit syntax (emphasis, links, images, headings,
#: lists, tables, HTML, entities, LaTeX ``$``, directives ``:red[...]``, emoji ``:x:``, autolinks).
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~<>$:&=^")
#: Streamlit (1.67) draws ``:material/name:`` as an icon and ``:streamlit:`` as its logo even
#: with their colons escaped: its frontend rewrites ``:material/`` to ``:material_`` in the raw
#: text, then finds the shortcodes in the text the escapes leave. A word joiner (U+2060,
#: invisible, no width) after such a colon keeps the text literal.
_ICON_SHORTCODE = re.compile(r":(?=material[/_]|streamlit:)")
#: GitHub-flavoured Markdown, which Streamlit renders, links bare addresses (``www.x.cl``,
#: ``https://x.cl``, ``nombre@x.cl``) whatever their escapes: its autolink literals are found in
#: the text the escapes leave. A word joiner inside ``www.``, after the colon of ``http:`` and
#: ``https:`` and after ``@`` keeps such text literal (a shared link cannot put a clickable
#: address in a message).
_AUTOLINK = re.compile(r"(?<=www)(?=\.)|(?<=http:)(?=//)|(?<=https:)(?=//)|(?<=@)", re.IGNORECASE)

_JS_UNSAFE_PAIRS = (
    ("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
)


#: The start of a Jinja2 tag (``{{``, ``{%``, ``{#``). branca renders the script of every map
#: element a second time as a Jinja2 template (``MacroElement.render`` wraps its output in
#: ``Element(...)``), so such text from data would run as template code on the server.
_TEMPLATE_OPEN = re.compile(r"\{(?=[{%#])")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def html_text(value: object) -> str:
    """A value as literal text inside an HTML element.

    Parameters
    ----------
    value : object
        Any value; ``None``, NaN and pandas' missing values give ``""``.

    Returns
    -------
    str
        ``str(value)`` with ``& < > " '`` as character references, so that it shows
        as typed and cannot open a tag or an attribute; a ``{`` that would open a
        Jinja2 tag (``{{``, ``{%``, ``{#``) is ``&#123;`` (see :data:`_TEMPLATE_OPEN`).
    """
    return "" if _is_missing(value) else _TEMPLATE_OPEN.sub("&#123;", html.escape(str(value), quote=True))


def html_attribute(value: object) -> str:
    """A value as the content of a *quoted* HTML attribute (``title="..."``).

    Same characters as :func:`html_text` (quotes included), so the value cannot end
    the attribute. The template must put the quotes; never use it for ``href``,
    ``src``, ``style`` or ``on*`` attributes, whose content is a URL, CSS or code.
    """
    return html_text(value)


def js_value(obj: object) -> str:
    """A Python value as a JavaScript expression that may sit inside a ``<script>`` element.

    Parameters
    ----------
    obj : object
        JSON-serialisable value (dict, list, str, int, float without NaN, bool, None).

    Returns
    -------
    str
        Compact JSON in which ``< > & '`` and the line separators U+2028/U+2029 are
        ``\\uXXXX`` escapes, so that no text can close the script (``</script>``),
        open a comment or break the string, and a ``{`` that would open a Jinja2 tag
        (``{{``, ``{%``, ``{#``: only inside strings, JSON's own braces never precede
        those) is ``\\u007b``, so map elements cannot be made to run template code.
        Strings come out as double-quoted JSON strings: write the result where an
        expression goes, never inside a JavaScript template literal or a quoted string.

    Raises
    ------
    ValueError
        For NaN or infinite floats (not JSON).
    TypeError
        For values JSON cannot represent.
    """
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for unsafe, escaped in _JS_UNSAFE_PAIRS:  # str.replace runs at C speed on megabytes of map JSON
        if unsafe in text:
            text = text.replace(unsafe, escaped)
    return _TEMPLATE_OPEN.sub(r"\\u007b", text)


def markdown_text(value: object) -> str:
    """A value as literal text in Markdown that Streamlit renders (see the module's list).

    Every character of :data:`MARKDOWN_SPECIAL` is backslash-escaped, so nothing starts
    emphasis, a link or image, a heading or list, HTML, an entity, LaTeX, an autolink,
    a Streamlit colour directive or an emoji shortcode; a word joiner (U+2060) follows the
    first colon of ``:material/``, ``:material_`` and ``:streamlit:``, which Streamlit would
    draw as an icon however escaped, and breaks the bare addresses it would link
    (``www.``, ``http://``, ``https://``, ``@`` of an e-mail address); line breaks become
    spaces. ``None`` and NaN give ``""``.
    """
    if _is_missing(value):
        return ""
    text = str(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = _ICON_SHORTCODE.sub(":\u2060", text)
    text = _AUTOLINK.sub("\u2060", text)
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in text)


def markdown_code(value: object) -> str:
    """A value as an inline code span in Streamlit Markdown (shown literally, in monospace).

    The span is fenced with one backtick more than the longest run of backticks in the
    value (CommonMark), and padded with spaces when the value starts or ends with a
    backtick, so no value can close it early. Line breaks become spaces.
    """
    if _is_missing(value):
        return ""
    text = str(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    runs = [len(run) for run in "".join(c if c == "`" else " " for c in text).split()]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def shorten(value: object, limit: int = 80) -> str:
    """A value someone typed or linked, cut to ``limit`` characters (with ``…``) for echoing it.

    Apply before the context's escaping function, so that a message never carries an
    arbitrarily long value from a link.
    """
    text = "" if _is_missing(value) else str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
