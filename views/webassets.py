"""Browser assets of the map (Leaflet and plugins), served by the app itself.

The map must be drawn with no internet. folium names its JavaScript and CSS
dependencies as CDN URLs (``default_js`` / ``default_css`` on every element that
mixes in :class:`folium.elements.JSCSSMixin`); the rendered document
(:func:`views.mapframe.render`, published by :mod:`views.mapframe` and drawn by the map page in a frame, which resolves
root-relative URLs against the app's own address) loads them with ``<script src>`` and
``<link rel=stylesheet>``, and streamlit-folium passes the same URLs to its component frame. This module swaps them for copies that
``scripts/vendor_assets.py`` installs under ``static/vendor/`` (pinned npm packages,
never committed) and that Streamlit serves at ``/app/static/vendor/...``
(``[server] enableStaticServing = true`` in ``.streamlit/config.toml``).

Choice: only folium's public link lists are used. :func:`localize_map` gives the
map *instance* local ``default_js`` / ``default_css`` lists (folium's ``Map`` class
lists stay as they are) and sets the class lists of the vendored plugins
(:func:`vendored_plugins`: MarkerCluster) to local URLs, so every MarkerCluster of
any map loads from the app. Elements whose assets are not vendored (any other
plugin, ``folium.Icon``, branca colormaps) are found by name in the map's public
``to_dict()`` tree and make :func:`localize_map` raise :class:`OfflineAssetError`
instead of silently reaching a CDN.

Vendored: Leaflet 1.9.4 (JS, CSS, images), Leaflet.markercluster 1.5.3 (JS, CSS)
and jQuery 3.7.1 (folium's ``Popup`` builds its content with ``$()``). folium's
Bootstrap, glyphicons, Font Awesome and awesome-markers links are dropped: the app
draws no ``folium.Icon`` and no Bootstrap widgets. A legend must be a plain
``MacroElement`` (HTML/JS), not a ``branca.colormap`` (streamlit-folium adds d3
from a CDN for those).
"""

from __future__ import annotations

import functools
import gc
import re
from html.parser import HTMLParser
from pathlib import Path

from layers._errors import SitError
from layers.settings import PROJECT_DIR

#: Folder served by Streamlit at ``/app/static/`` (next to ``app.py``).
STATIC_DIR: Path = PROJECT_DIR / "static"

#: Where ``scripts/vendor_assets.py`` installs the packages.
VENDOR_DIR: Path = STATIC_DIR / "vendor"

#: URL path, below the server's base path, of Streamlit's static serving.
STATIC_URL_PATH = "app/static"

#: folium link name -> file below ``static/vendor/`` (JavaScript, in load order).
JS_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": "jquery/jquery.min.js",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
}

#: folium link name -> file below ``static/vendor/`` (stylesheets).
CSS_ASSETS: dict[str, str] = {
    "leaflet_css": "leaflet/leaflet.css",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
}

#: Other files that must be present (referenced from the stylesheets above).
IMAGE_ASSETS: tuple[str, ...] = (
    "leaflet/images/layers.png",
    "leaflet/images/layers-2x.png",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
    "leaflet-draw/images/spritesheet.png",
    "leaflet-draw/images/spritesheet-2x.png",
    "leaflet-draw/images/spritesheet.svg",
)

#: folium's default links that the app's maps do not need; they are removed.
DROPPED_ASSETS: frozenset[str] = frozenset(
    {
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)

#: folium elements whose scripts call jQuery (a ``Popup`` builds its content with ``$()``,
#: ``TimeSliderChoropleth`` waits for the document with it, ``HeatMapWithTime`` uses
#: ``$.extend``); a map with none of them, and with no ``objects_to_stay_in_front``
#: (``$(document).ready``), does not load jQuery. (``folium.GeoJson(embed=False)`` fetches
#: its data with ``$.ajax`` from a URL; the app embeds its data, as drawing offline requires.)
JQUERY_ELEMENTS: frozenset[str] = frozenset({"Popup", "TimeSliderChoropleth", "HeatMapWithTime"})

#: Maximum zoom given to maps without one (OpenStreetMap's standard tiles go to 19).
DEFAULT_MAX_ZOOM = 19

MISSING_ASSETS_MESSAGE = "Faltan los recursos del mapa: ejecute make setup"


class OfflineAssetError(SitError, ValueError):
    """A map element needs a browser asset that is not served by the app."""


class MapAssetsMissingError(SitError, FileNotFoundError):
    """The vendored Leaflet files are not installed (``make setup`` was not run)."""


def required_files() -> list[Path]:
    """Files that must exist under ``static/vendor/`` for the map to draw.

    Returns
    -------
    list of pathlib.Path
        Absolute paths (JavaScript, stylesheets, images).
    """
    rel = [*JS_ASSETS.values(), *CSS_ASSETS.values(), *IMAGE_ASSETS]
    return [VENDOR_DIR / r for r in rel]


def missing_files() -> list[Path]:
    """Required files that are absent or empty (see :func:`required_files`)."""
    return [p for p in required_files() if not (p.is_file() and p.stat().st_size > 0)]


def assets_installed() -> bool:
    """True when every vendored asset the map needs is present on disk."""
    return not missing_files()


def missing_assets_message() -> str:
    """Spanish message for people when the map assets are not installed."""
    return MISSING_ASSETS_MESSAGE


def ensure_assets_installed() -> None:
    """Raise :class:`MapAssetsMissingError` (Spanish message) if assets are missing."""
    missing = missing_files()
    if missing:
        raise MapAssetsMissingError(
            f"{MISSING_ASSETS_MESSAGE} (faltan {len(missing)} archivos en static/vendor)"
        )


def base_url_path() -> str:
    """Streamlit's ``server.baseUrlPath`` as ``/prefix`` (empty when served at the root).

    Read at call time so a deployment behind a path prefix gets correct URLs. Outside
    a Streamlit process the option has its default (empty).
    """
    try:
        from streamlit import config
    except ImportError:  # pragma: no cover - streamlit is a hard dependency of the app
        return ""
    prefix = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{prefix}" if prefix else ""


def asset_url(relative_path: str) -> str:
    """Root-relative URL of a file below ``static/vendor/``.

    Parameters
    ----------
    relative_path : str
        Path below ``static/vendor/``, e.g. ``"leaflet/leaflet.js"``.

    Returns
    -------
    str
        e.g. ``"/app/static/vendor/leaflet/leaflet.js"``. Root-relative, so it
        resolves against the app's own origin from the component iframe too.
    """
    return f"{base_url_path()}/{STATIC_URL_PATH}/vendor/{relative_path.lstrip('/')}"


def asset_urls() -> dict[str, str]:
    """Local URL of every vendored JS and CSS asset, keyed by folium's link name.

    Returns
    -------
    dict of str to str
        ``{"leaflet": "/app/static/vendor/leaflet/leaflet.js", "leaflet_css": ..., ...}``.
    """
    return {name: asset_url(rel) for name, rel in {**JS_ASSETS, **CSS_ASSETS}.items()}


def _is_local_url(url: str) -> bool:
    """True for URLs without scheme and host (served by the app itself)."""
    return "://" not in url and not url.startswith("//")


def _local_links(links, table: dict[str, str]) -> list[tuple[str, str]] | None:
    """``links`` with every vendored asset at its local URL and the dropped ones removed.

    Returns ``None`` when a link is neither vendored, dropped nor already local: the
    element that needs it cannot be drawn offline.
    """
    urls = asset_urls()
    local: list[tuple[str, str]] = []
    for name, url in links:
        if name in DROPPED_ASSETS:
            continue
        if name in table:
            local.append((name, urls[name]))
        elif _is_local_url(url):
            local.append((name, url))
        else:
            return None
    return local


def _js_css_classes() -> list[type]:
    """Every folium class that declares JavaScript or CSS links (subclasses of ``JSCSSMixin``)."""
    import folium.plugins  # noqa: F401  (imports every plugin class)
    from folium.elements import JSCSSMixin

    found, todo = [], [JSCSSMixin]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _unserved_elements() -> dict[str, str]:
    """Element name -> why the app cannot draw it offline (assets it does not serve).

    The names are those folium gives its elements (the class name), as listed by
    the public ``Element.to_dict`` tree.
    """
    refused = {
        "Icon": "folium.Icon requiere Leaflet.awesome-markers, que la aplicación no sirve; "
                "use CircleMarker, DivIcon o el marcador por defecto.",
        "ColorMap": "Las escalas de color de branca cargan d3 desde internet; "
                    "use views.legend.Legend en su lugar.",
    }
    vendored = {*vendored_plugins(), _folium_map_class()}
    for cls in _js_css_classes():
        if any(issubclass(cls, v) for v in vendored):
            continue
        for links, table in ((cls.default_js, JS_ASSETS), (cls.default_css, CSS_ASSETS)):
            if _local_links(links, table) is None:
                needed = ", ".join(name for name, url in links if name not in table and not _is_local_url(url))
                refused[cls.__name__] = (
                    f"El elemento {cls.__name__} del mapa necesita {needed}, que la aplicación no sirve; "
                    "agréguelo a scripts/vendor_assets.py y views/webassets.py o use otro elemento."
                )
                break
    return refused


def _element_names(m) -> set[str]:
    """Names of a map's elements (folium names them after their class), from the public
    :meth:`branca.element.Element.to_dict` tree.

    The tree of a large map has a dictionary per element; the cyclic garbage collector
    is paused while it is built (nothing in it is cyclic), which keeps the walk of a
    map of 20,000 markers near 0.15 s instead of up to 0.8 s.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        tree = m.to_dict()
    finally:
        if paused:
            gc.enable()
    names, todo = set(), [tree]
    while todo:
        node = todo.pop()
        names.add(node["name"])
        todo.extend(node.get("children", {}).values())
    return names


def _folium_map_class() -> type:
    import folium

    return folium.Map


def vendored_plugins() -> tuple[type, ...]:
    """The folium plugin classes whose assets are vendored: ``MarkerCluster`` and ``Draw`` (Leaflet.draw)."""
    from folium.plugins import Draw, MarkerCluster

    return (MarkerCluster, Draw)


#: Key of the element that :func:`localize_map` puts first among the map's children.
_IMAGE_PATH_ELEMENT = "sit_leaflet_image_path"
#: Its element name (as ``to_dict`` lists it).
_IMAGE_PATH_NAME = "LeafletImagePath"


def _image_path_element(image_path: str):
    """MacroElement whose script sets ``L.Icon.Default.imagePath`` before any marker exists.

    Leaflet guesses the default marker's image folder from leaflet.css, but
    streamlit-folium runs the map script before its stylesheets have loaded, and
    Leaflet's fallback then yields ``.../leafletmarker-icon.png`` (a 404).
    """
    from branca.element import MacroElement
    from folium.template import Template

    class LeafletImagePath(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
                L.Icon.Default.imagePath = {{ this.image_path|tojson }};
            {% endmacro %}
            """
        )

        def __init__(self, path: str):
            super().__init__()
            self._name = _IMAGE_PATH_NAME
            self.image_path = path

    return LeafletImagePath(image_path)


def localize_plugins() -> None:
    """Point the link lists of the vendored plugin classes (:func:`vendored_plugins`) at the app.

    Sets the public class attributes ``default_js`` / ``default_css`` of each class
    (folium reads them when an element renders, and streamlit-folium when it collects
    the links of a map). Idempotent; reads :func:`base_url_path` on every call.
    """
    for cls in vendored_plugins():
        cls.default_js = _local_links(cls.default_js, JS_ASSETS)
        cls.default_css = _local_links(cls.default_css, CSS_ASSETS)


def localize_map(m):
    """Make a folium map load every browser asset from the app, not from CDNs.

    Uses folium's public link lists only: the map instance's ``default_js`` /
    ``default_css`` become the local URLs of :func:`asset_urls` (folium's class
    lists stay as they are), minus the links the app does not need
    (:data:`DROPPED_ASSETS`, and jQuery when no element calls it: :data:`JQUERY_ELEMENTS`);
    the vendored plugin classes get local lists too
    (:func:`localize_plugins`). Elements whose assets are not vendored are refused,
    found by name in the map's public ``to_dict()`` tree. Call it after adding every
    layer and control, right before ``st_folium``. Idempotent.

    It also sets ``L.Icon.Default.imagePath`` to the vendored images (first child of
    the map, so it runs before any marker is created), and gives the map a
    ``maxZoom`` (:data:`DEFAULT_MAX_ZOOM`) when it has none: Leaflet takes the
    maximum zoom from the visible tile layers, so a map whose only tiles are the
    optional (hidden) OpenStreetMap layer has none, and MarkerCluster then fails
    with "Map has no maxZoom specified".

    Parameters
    ----------
    m : folium.Map
        Map to rewrite in place.

    Returns
    -------
    folium.Map
        The same object, for chaining.

    Raises
    ------
    OfflineAssetError
        If an element needs an asset that is not vendored (any other plugin, a
        ``folium.Icon``, a ``branca`` colormap), so no CDN request is ever made.
    """
    refused = _unserved_elements()
    names = _element_names(m)
    for name in sorted(names & refused.keys()):
        raise OfflineAssetError(refused[name], code="map_asset_not_served", element=name)
    map_class = _folium_map_class()
    m.default_js = _local_links(map_class.default_js, JS_ASSETS)
    if not (names & JQUERY_ELEMENTS or getattr(m, "objects_to_stay_in_front", None)):
        m.default_js = [(name, url) for name, url in m.default_js if name != "jquery"]  # 87 kB nobody calls
    m.default_css = _local_links(map_class.default_css, CSS_ASSETS)
    localize_plugins()
    options = m.options
    if "max_zoom" not in options and "maxZoom" not in options:
        options["max_zoom"] = DEFAULT_MAX_ZOOM
    if _IMAGE_PATH_NAME not in names:  # once: the base path is fixed for the server's life
        m.add_child(_image_path_element(asset_url("leaflet/images/")), name=_IMAGE_PATH_ELEMENT, index=0)
    return m


class _Links(HTMLParser):
    """``<script src>`` and ``<link rel=stylesheet href>`` of a document, in order, with their start tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.js: dict[str, None] = {}
        self.css: dict[str, None] = {}
        self.tags: list[tuple[str, str, str]] = []  # (tag, start tag as written, URL)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            url = attrs["src"]
            self.js[url] = None
        elif tag == "link" and "stylesheet" in (attrs.get("rel") or "") and attrs.get("href"):
            url = attrs["href"]
            self.css[url] = None
        else:
            return
        self.tags.append((tag, self.get_starttag_text(), url))


def _links(document: str) -> _Links:
    links = _Links()
    links.feed(document)
    links.close()
    return links


#: A relative ``url(...)`` of a stylesheet (not ``data:``, not absolute, not a ``#fragment``).
_CSS_RELATIVE_URL = re.compile(r"""url\(\s*(['"]?)(?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^'")]+)\1\s*\)""")
#: A relative source-map comment at the end of a vendored file.
_SOURCE_MAP = re.compile(r"(sourceMappingURL=)(?![a-zA-Z][a-zA-Z0-9+.-]*:|/)(\S+?)(\s*\*/)?\s*$")


@functools.lru_cache(maxsize=16)
def _inline_text(path: str, mtime_ns: int, kind: str, folder_url: str) -> str | None:
    """The text of a vendored file made fit to sit inside the document, or None if it cannot."""
    text = Path(path).read_text(encoding="utf-8")
    closing = "</script" if kind == "script" else "</style"
    if closing in text.lower() or "<!--" in text:
        return None  # it could end its element early: keep the link
    text = _SOURCE_MAP.sub(lambda m: f"{m.group(1)}{folder_url}{m.group(2)}{m.group(3) or ''}", text)
    if kind == "link":
        text = _CSS_RELATIVE_URL.sub(lambda m: f"url({m.group(1)}{folder_url}{m.group(2)}{m.group(1)})", text)
    return text


def inline_assets(document: str) -> str:
    """The document with the vendored scripts and stylesheets it links written into it.

    A map frame then draws from its one document: no further request waits in the
    browser's queue (six connections per host, shared with the page's own code chunks)
    before Leaflet can run. Every ``<script src>`` and ``<link rel=stylesheet>`` of a
    file of :data:`JS_ASSETS` / :data:`CSS_ASSETS` at its local URL (:func:`asset_url`)
    becomes a ``<script>`` or ``<style>`` element holding the file; the stylesheets'
    relative ``url(...)`` (Leaflet's control and marker images) and the source-map
    comments point at the vendored folder, so images still load from the app. A file
    whose text could close its element early (``</script``, ``</style``, ``<!--``) keeps
    its link. Other links are left as they are. Files are read once per modification.

    Parameters
    ----------
    document : str
        An HTML document, e.g. :func:`views.mapframe.render` of a map after
        :func:`localize_map`.

    Returns
    -------
    str
        The document, about 200 kB larger with Leaflet and its stylesheet.

    Raises
    ------
    MapAssetsMissingError
        If a linked vendored file is not installed (``make setup`` was not run).
    """
    files = {asset_url(rel): VENDOR_DIR / rel for rel in {*JS_ASSETS.values(), *CSS_ASSETS.values()}}
    for tag, start, url in _links(document).tags:
        path = files.get(url)
        if path is None:
            continue
        try:
            mtime_ns = path.stat().st_mtime_ns
        except FileNotFoundError:
            raise MapAssetsMissingError(f"{MISSING_ASSETS_MESSAGE} (falta {path.name} en static/vendor)") from None
        folder_url = asset_url(path.parent.relative_to(VENDOR_DIR).as_posix()) + "/"
        text = _inline_text(str(path), mtime_ns, tag, folder_url)
        if text is None:
            continue
        if tag == "script":
            document = document.replace(start + "</script>", f"<script>{text}</script>")
        else:
            document = document.replace(start, f"<style>{text}</style>")
    return document


def asset_links(m) -> tuple[list[str], list[str]]:
    """JavaScript and CSS URLs a map will load, in order, without duplicates.

    Read from the map's rendered document (every element adds its ``default_js`` /
    ``default_css`` links to the page header, the same lists streamlit-folium
    collects). Renders the map: meant for tests and diagnostics.

    Returns
    -------
    tuple of (list of str, list of str)
        ``(js_urls, css_urls)``.
    """
    links = _links(m.get_root().render())
    return list(links.js), list(links.css)


def osm_tile_layer(show: bool = False):
    """OpenStreetMap base tiles as an optional overlay (off by default).

    The map is drawn with the project's layers alone; these tiles only add context
    when there is internet. Use with ``folium.Map(tiles=None)`` and a LayerControl.

    Parameters
    ----------
    show : bool, default False
        Whether the tiles are switched on when the map opens.

    Returns
    -------
    folium.TileLayer
    """
    import folium

    return folium.TileLayer(
        "OpenStreetMap",
        name="Mapa base OpenStreetMap (requiere internet)",
        overlay=True,
        control=True,
        show=show,
    )


def offline_map(location, zoom_start: int = 13, max_zoom: int = DEFAULT_MAX_ZOOM,
                show_osm: bool = False, **kwargs):
    """A folium map that draws with no internet: no default tiles, OSM as an optional overlay.

    Parameters
    ----------
    location : sequence of float
        Initial centre as ``(lat, lon)`` in WGS 84 (Leaflet order).
    zoom_start : int, default 13
        Initial zoom level.
    max_zoom : int, default DEFAULT_MAX_ZOOM
        Map-level maximum zoom (needed by MarkerCluster when no tiles are shown).
    show_osm : bool, default False
        Whether the optional OpenStreetMap tiles start switched on.
    **kwargs
        Passed to :class:`folium.Map` (``tiles`` is always ``None``).

    Returns
    -------
    folium.Map
        Add layers and a LayerControl, then call :func:`localize_map` before drawing.
    """
    import folium

    kwargs.pop("tiles", None)
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, **kwargs)
    m.options["max_zoom"] = max_zoom
    osm_tile_layer(show=show_osm).add_to(m)
    return m
