"""Streamlit glue shared by the pages: cached loaders and the filter state in the URL.

Loaders are cached on the store's version (a ``stat`` of the GeoPackage), so a
filter change never reads files from disk again; the cache is invalidated only
when the store file is replaced (rebuild or import).
"""

from __future__ import annotations

import contextvars
import runpy
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers import store
from layers._errors import UnknownLayerError

#: Filter keys kept in the URL query parameters, in display order.
FILTER_KEYS = ("estrategia", "plan", "tipo", "alcance", "territorio", "q")
#: Default territory layer.
DEFAULT_TERRITORY_LAYER = "territorios"
#: ``?ubicaciones=`` value of the initiatives' referential sites shipped with the system.
INCLUDED_SITES = "incluidas"
#: Label of those sites in the selectors.
INCLUDED_SITES_LABEL = "Referenciales (incluidas en el sistema)"
#: Registry ``clase`` of imported initiative sites and of reference layers.
SITES_CLASE, REFERENCE_CLASE = "ubicaciones", "referencia"


@st.cache_resource(show_spinner="Preparando el almacén de capas…")
def _ensure_store_once() -> str:
    return str(store.ensure_store())


#: The application's entry point (``streamlit run app.py``).
APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"
_IN_APP: contextvars.ContextVar[bool] = contextvars.ContextVar("sit_in_app_navigation", default=False)


@contextmanager
def app_navigation() -> Iterator[None]:
    """Context in which ``app.py`` runs the page chosen by its ``st.navigation``.

    Pages check it with :func:`run_inside_app`; it is set for the duration of
    ``navigation.run()`` in the script run's own thread only.
    """
    token = _IN_APP.set(True)
    try:
        yield
    finally:
        _IN_APP.reset(token)


def run_inside_app() -> None:
    """Make sure a page runs inside ``app.py``'s navigation, not as a stand-alone script.

    Streamlit (1.67) serves a folder named ``pages/`` next to the main script as an
    old-style multipage app until some session of the process calls ``st.navigation``:
    on a fresh server, the first visitor who opens ``/plan`` gets ``pages/plan.py`` run
    alone (no page configuration, every file of ``pages/`` in the sidebar). A page run
    that way runs ``app.py`` in the same script run: its public ``st.navigation`` call
    ends that mode for the whole process and resolves the address to the same page,
    which then runs inside the app's frame; the stand-alone run stops there.
    Called first by every page script; does nothing inside :func:`app_navigation`.
    """
    if _IN_APP.get():
        return
    runpy.run_path(str(APP_SCRIPT), run_name="__main__")
    st.stop()


def store_version() -> int:
    """Version of the store; builds it once per process when needed."""
    _ensure_store_once()
    return store.store_version()


def _version(version: int | None) -> int:
    """``version`` when given, else the store's current version (:func:`store_version`)."""
    return store_version() if version is None else version


@st.cache_data(show_spinner=False, max_entries=32)
def _read_layer(name: str, version: int) -> pd.DataFrame:
    return store.read_layer(name)


def layer(name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """A layer or table of the store (cached until the store changes). Do not mutate it."""
    return _read_layer(name, store_version())


@st.cache_data(show_spinner=False, max_entries=8)
def _initiatives(sites: str | None, version: int) -> gpd.GeoDataFrame:
    import functools

    from layers import initiatives as domain

    read = functools.partial(_read_layer, version=version)
    return domain.with_sites(sites, registry=_registry(version), read=read)


def initiatives(sites: str | None = None) -> gpd.GeoDataFrame:
    """The initiatives, with an imported site layer laid over them (cached until the store changes).

    Parameters
    ----------
    sites : str, optional
        Site layer of the store (registry ``clase`` ``ubicaciones``), laid over with
        :func:`layers.initiatives.with_sites`; ``None`` keeps the referential sites
        shipped with the catalogue. Do not mutate the result.
    """
    return _initiatives(sites or None, store_version())


@st.cache_data(show_spinner=False, max_entries=8)
def _relations(territory_layer: str, version: int, sites: str | None = None):
    import functools

    from layers import territory_layers

    read = functools.partial(_read_layer, version=version)
    _layer, pairs = territory_layers.relations(
        _initiatives(sites or None, version), territory_layer, registry=_registry(version), read=read
    )
    return pairs


def relations(territory_layer: str = DEFAULT_TERRITORY_LAYER, sites: str | None = None):
    """How the initiatives concern a territory layer (:class:`layers.links.Relations`, cached).

    The domain's rule, :func:`layers.territory_layers.relations`, on the cached layers:
    specific pairs and the scope rule, never one row per scope-wide pair.
    ``sites`` names the site layer laid over the initiatives (see :func:`initiatives`).
    """
    return _relations(territory_layer, store_version(), sites or None)


def registry() -> pd.DataFrame:
    """Registry of layers (cached on the store version)."""
    return _registry(store_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _registry(version: int) -> pd.DataFrame:
    return store.list_layers()


def _registry_names(clase: str, newest_first: bool = False) -> list[str]:
    reg = registry()
    rows = reg[reg["clase"] == clase].assign(_pos=range((reg["clase"] == clase).sum()))
    if newest_first:
        when = pd.to_datetime(rows["fecha"], errors="coerce", utc=True, format="ISO8601")
        rows = rows.assign(_when=when).sort_values(["_when", "_pos"], ascending=False, na_position="last")
    return [str(n) for n in rows["nombre"]]


def site_layers() -> list[str]:
    """Imported layers of initiative sites, the most recently imported first (:func:`layers.initiatives.site_layers`)."""
    from layers import initiatives as domain

    return domain.site_layers(registry())


def reference_layer_names() -> list[str]:
    """Imported reference layers (registry ``clase`` ``referencia``), in registry order."""
    return _registry_names(REFERENCE_CLASE)


def sites_label(value: str | None) -> str:
    """Label of a choice of sites: the included ones, or the title of a site layer."""
    return INCLUDED_SITES_LABEL if value in (None, "", INCLUDED_SITES) else layer_title(str(value))


def site_choice(requested: str | None) -> tuple[str, str | None]:
    """The sites to use for a ``?ubicaciones=`` value, and a warning when it is unknown.

    Parameters
    ----------
    requested : str or None
        ``incluidas``, the name of a site layer, or nothing (the default).

    Returns
    -------
    (str, str or None)
        :data:`INCLUDED_SITES` or a site layer name (the domain's rule,
        :func:`layers.initiatives.default_sites`, when nothing or an unknown value
        is given), and a Spanish warning naming an unknown value, as plain text for
        :func:`warn_ignored` (``None`` otherwise).
    """
    from layers import initiatives as domain
    from layers._errors import UnknownLayerError

    reg = registry()
    try:
        return domain.choose_sites(requested, reg) or domain.INCLUDED_SITES, None
    except UnknownLayerError as exc:
        default = domain.default_sites(reg) or domain.INCLUDED_SITES
        return default, (
            f"Se ignoró un filtro: Capa de ubicaciones desconocida: «{echo(exc.data['layer'])}». "
            f"Se usan las ubicaciones «{sites_label(default)}»."
        )


def sites_layer(choice: str | None) -> str | None:
    """The site layer name of a choice of :func:`site_choice` (``None`` for the included sites)."""
    return None if choice in (None, "", INCLUDED_SITES) else choice


def territory_layers() -> list[str]:
    """Names of the layers usable as territories, the shipped one first (cached registry)."""
    from layers import territory_layers as tl

    return tl.territory_layers(registry())


# --- filter state <-> URL ---------------------------------------------------------------


def _values(raw: list[str]) -> list[str]:
    out: list[str] = []
    for item in raw:
        out.extend(v.strip() for v in str(item).split(",") if v.strip())
    return out


def read_query() -> dict[str, list[str] | str]:
    """Filter values from the URL (``?estrategia=1,2&territorio=domeyko&q=agua``).

    Lists may be given as repeated keys or comma-separated; ``q`` is a string.
    """
    params = st.query_params
    state: dict[str, list[str] | str] = {}
    for key in FILTER_KEYS:
        if key == "q":
            state[key] = params.get("q", "").strip()
        else:
            state[key] = _values(params.get_all(key))
    return state


def write_query(state: Mapping[str, object], extra: Mapping[str, str] | None = None) -> None:
    """Write the filter state to the URL, dropping empty filters, only when it changed."""
    wanted: dict[str, str] = {}
    for key in FILTER_KEYS:
        value = state.get(key)
        if isinstance(value, (list, tuple)):
            if value:
                wanted[key] = ",".join(str(v) for v in value)
        elif value:
            wanted[key] = str(value)
    wanted.update({k: v for k, v in (extra or {}).items() if v})
    current = {k: ",".join(st.query_params.get_all(k)) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


# --- one territory (sector page) ------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _sector_summary(slug: str, territory_layer: str, version: int, sites: str | None = None):
    from layers import sector

    return sector.sector_summary(
        slug,
        _initiatives(sites, version),
        _read_layer(territory_layer, version),
        _relations(territory_layer, version, sites),
        _read_layer("estrategias", version),
    )


def sector_summary(slug: str, territory_layer: str = DEFAULT_TERRITORY_LAYER, sites: str | None = None,
                   version: int | None = None):
    """:func:`layers.sector.sector_summary` of a territory (cached until the store changes).

    ``sites`` names the site layer laid over the initiatives (see :func:`initiatives`).
    ``version`` is the store version to read (:func:`store_version` by default): a page
    that shows several parts of one territory reads it once, so that an import landing
    during its run cannot mix two versions. Raises
    :class:`layers._errors.UnknownTerritoryError` for an unknown slug.
    """
    return _sector_summary(slug, territory_layer, _version(version), sites or None)


@st.cache_data(show_spinner=False, max_entries=128)
def _sector_blocks(slug: str, territory_layer: str, version: int, sites: str | None, by: str) -> list[str]:
    from views import report

    return report.sector_lists_html(_sector_summary(slug, territory_layer, version, sites), by=by)


def sector_blocks(slug: str, territory_layer: str = DEFAULT_TERRITORY_LAYER, sites: str | None = None,
                  by: str = "relacion", version: int | None = None) -> list[str]:
    """:func:`views.report.sector_lists_html` of a territory, made once per territory, grouping and store version.

    The sector page shows these lists to every visitor of a territory; formatting
    them (one escaped line per initiative) took about 35 ms of every visit's run.

    Parameters
    ----------
    slug : str
        Territory of ``territory_layer``.
    territory_layer : str
        Territory layer of the store.
    sites : str, optional
        Site layer laid over the initiatives (see :func:`initiatives`).
    by : {"relacion", "estrategia"}
        First grouping of the lists.
    version : int, optional
        Store version (:func:`store_version` by default); pass the one the page's
        :func:`sector_summary` used, so that the lists match its groups.

    Returns
    -------
    list of str
        HTML blocks for ``st.html``, one per first-level group, texts escaped.

    Raises
    ------
    layers._errors.UnknownTerritoryError
        For an unknown slug.
    ValueError
        For another ``by``.
    """
    return _sector_blocks(slug, territory_layer, _version(version), sites or None, by)


@st.cache_data(show_spinner=False, max_entries=4096)
def _territory_address(requested: str, territory_layer: str, version: int) -> tuple[str | None, str | None, dict | None]:
    from layers import census
    from layers._errors import UnknownTerritoryError
    from layers.query import check_territories, typed_slug_forms

    known = list(_territory_names(territory_layer, version))  # the slugs, in the layer's order
    try:
        resolved = check_territories([requested], known)[0]
    except UnknownTerritoryError as exc:
        return None, exc.data.get("suggestion"), None
    alias = next((entry for entry in (census.alias_entry(form, known) for form in typed_slug_forms(requested))
                  if entry is not None), None)
    return resolved, None, alias


def territory_address(requested: str, territory_layer: str = DEFAULT_TERRITORY_LAYER,
                      version: int | None = None) -> tuple[str | None, str | None, dict | None]:
    """What a territory in an address (``?territorio=``) names, remembered per text, layer and store version.

    Resolved against the layer's slugs only (cached per version, never the layer's
    geometries): :func:`layers.query.check_territories` and
    :func:`layers.census.alias_entry`. For 10,000 imported territories that was about
    25 ms of every visit that arrives by a shared link. Up to 4,096 texts are
    remembered per process (a few hundred bytes each); a text not remembered costs
    1 to 2 ms, or the search for a suggestion when it names no territory.

    Parameters
    ----------
    requested : str
        The text of the address (one territory).
    territory_layer : str
        Territory layer of the store.
    version : int, optional
        Store version (:func:`store_version` by default).

    Returns
    -------
    tuple
        ``(slug, suggestion, alias)``: the slug of the layer it names, or ``None``
        when it names none; for an unknown text the closest slug of the layer, or
        ``None``; the alias row of :func:`layers.census.alias_entry` when the text is
        a former slug or a place name standing for a census zone, else ``None``.
    """
    return _territory_address(requested, territory_layer, _version(version))


@st.cache_data(show_spinner=False, max_entries=8)
def _territory_names(territory_layer: str, version: int) -> dict[str, str]:
    terr = _read_layer(territory_layer, version)
    return dict(zip(terr["slug"], terr["nombre"]))


def territory_names(territory_layer: str = DEFAULT_TERRITORY_LAYER, version: int | None = None) -> dict[str, str]:
    """Name of every territory of a layer by slug (``{slug: nombre}``, cached per store version).

    ``version`` is the store version to read (:func:`store_version` by default).

    Raises
    ------
    layers._errors.UnknownLayerError
        When the store has no such layer.
    """
    return _territory_names(territory_layer, _version(version))


@st.cache_data(show_spinner=False, max_entries=32)
def _sector_files(slug: str, territory_layer: str, version: int, day: str, sites: str | None = None) -> dict[str, bytes | str]:
    import datetime as dt

    from layers.exchange import export, package
    from views import report

    summary = _sector_summary(slug, territory_layer, version, sites)
    parts = package.sector_package(summary)
    listed = summary.initiatives.drop(columns=["grupo"], errors="ignore").assign(
        motivo=[package.motive(r, summary.nombre) for r in summary.initiatives["relacion"]])
    html = report.sector_report_html(
        summary, _read_layer("comuna", version), generated=dt.date.fromisoformat(day),
        territories=_read_layer(territory_layer, version), blocks=_blocks_or_none(version),
    )
    return {
        "gpkg": package.gpkg_bytes(parts),
        "csv": export.export_bytes(listed, "csv", layer=f"sector_{slug.replace('-', '_')}"),
        "html": html,
        "layers": [name for name, _ in parts],
    }


def sector_files(
    slug: str, territory_layer: str = DEFAULT_TERRITORY_LAYER, sites: str | None = None
) -> dict[str, bytes | str]:
    """Downloads of a territory (cached per territory, site layer, store version and day).

    Returns
    -------
    dict
        ``gpkg``: GeoPackage bytes with the territory's polygon (layer ``territorio``),
        its sited initiatives one layer per geometry type and the others as the table
        ``iniciativas_sin_ubicacion`` (:func:`layers.exchange.package.sector_package`),
        every initiative with ``relacion`` and ``motivo``; ``csv``: every initiative
        with ``relacion`` and ``motivo`` (lon/lat/wkt for the sited ones); ``html``:
        the printable report (it carries the date); ``layers``: the GeoPackage's layer names.
    """
    import datetime as dt

    return _sector_files(slug, territory_layer, store_version(), dt.date.today().isoformat(), sites or None)


def md_escape(text: object) -> str:
    """Text from data made literal for Streamlit Markdown (:func:`views.escape.markdown_text`)."""
    from views.escape import markdown_text

    return markdown_text(text)


#: Most ignored filter values one warning lists; the rest are counted.
MAX_LISTED_PROBLEMS = 3
#: Longest echo of one value from a link, in characters.
MAX_ECHO_CHARS = 60
#: Longest message of :func:`warn_ignored`, in characters.
MAX_MESSAGE_CHARS = 300


def echo(value: object) -> str:
    """A value from a link cut for quoting it in a message (plain text; escape where written)."""
    from views.escape import shorten

    return shorten(value, MAX_ECHO_CHARS)


def warn_ignored(messages: Iterable[str], limit: int = MAX_LISTED_PROBLEMS) -> None:
    """One warning for the values of a link that were ignored, whatever their number.

    Parameters
    ----------
    messages : iterable of str
        One Spanish sentence per ignored value (they may quote what the link said).
    limit : int
        How many are listed; the others are counted (``… y N más``).

    Every message is plain text, cut to :data:`MAX_MESSAGE_CHARS` and shown literally
    (no Markdown: a link cannot draw an image, a link or a formula in the page).
    """
    from views.escape import shorten

    messages = list(dict.fromkeys(str(m) for m in messages))
    if not messages:
        return
    lines = [md_escape(shorten(m, MAX_MESSAGE_CHARS)) for m in messages[:limit]]
    rest = len(messages) - len(lines)
    if rest:
        lines.append(md_escape(f"… y {rest} más."))
    st.warning("  \n".join(lines), icon=":material/warning:")


# --- display layers, catalogue names and per-session caches (map pages) ------------------


@st.cache_data(show_spinner="Preparando las geometrías del mapa…", max_entries=16)
def _display_layer(name: str, version: int, columns: tuple[str, ...] | None, tolerance_m: float):
    from views import mapview

    return mapview.display_geometries(_read_layer(name, version), columns=columns, tolerance_m=tolerance_m)


def _blocks_or_none(version: int) -> gpd.GeoDataFrame | None:
    """The census blocks of the store (``manzanas``), or None when it has none."""
    try:
        return _read_layer("manzanas", version)
    except UnknownLayerError:
        return None


@st.cache_data(show_spinner=False, max_entries=2)
def _city_blocks(version: int) -> dict:
    from views import citycontext

    return citycontext.blocks_payload(_read_layer("manzanas", version))


def city_blocks() -> dict | None:
    """The census blocks as the maps draw them (:func:`views.citycontext.blocks_payload`), cached per store version.

    ``None`` when the store has no ``manzanas`` layer.
    """
    try:
        return _city_blocks(store_version())
    except UnknownLayerError:
        return None


def display_layer(name: str, columns: tuple[str, ...] | None = None, tolerance_m: float | None = None) -> gpd.GeoDataFrame:
    """A layer simplified and rounded for drawing (cached until the store changes). Do not mutate it.

    Parameters
    ----------
    name : str
        Layer of the store.
    columns : tuple of str, optional
        Attribute columns to keep (all by default).
    tolerance_m : float, optional
        Simplification tolerance in metres (default :data:`views.mapview.DISPLAY_TOLERANCE_M`).
    """
    from views import mapview

    tol = mapview.DISPLAY_TOLERANCE_M if tolerance_m is None else float(tolerance_m)
    return _display_layer(name, store_version(), tuple(columns) if columns is not None else None, tol)


@st.cache_data(show_spinner="Preparando las geometrías del mapa…", max_entries=8)
def _display_initiatives(sites: str | None, version: int, tolerance_m: float):
    from views import mapview

    return mapview.display_geometries(_initiatives(sites, version), tolerance_m=tolerance_m)


def display_initiatives(sites: str | None = None, tolerance_m: float = 5.0) -> gpd.GeoDataFrame:
    """The initiatives (with ``sites`` laid over them) simplified and rounded for drawing (cached)."""
    return _display_initiatives(sites or None, store_version(), float(tolerance_m))


@st.cache_data(show_spinner="Preparando las capas de referencia…", max_entries=16)
def _reference_display(name: str, version: int):
    from views import mapview

    return mapview.reference_display(_read_layer(name, version))


def reference_layers() -> list[tuple[str, gpd.GeoDataFrame]]:
    """(title, display frame) of every reference layer, for :func:`views.mapview.build_map` (cached)."""
    version = store_version()
    return [(layer_title(name), _reference_display(name, version)) for name in reference_layer_names()]


def strategy_names() -> dict[str, str]:
    """Strategy id -> name, in catalogue order (cached)."""
    table = layer("estrategias")
    return dict(zip(table["id"].astype(str), table["nombre"].astype(str)))


def plan_names() -> dict[str, str]:
    """Plan id -> name, in catalogue order (cached)."""
    table = layer("planes")
    return dict(zip(table["id"].astype(str), table["nombre"].astype(str)))


@st.cache_data(show_spinner=False, max_entries=4)
def _layer_titles(version: int) -> dict[str, str]:
    reg = _registry(version).drop_duplicates("nombre")
    return {str(name): str(title) for name, title in zip(reg["nombre"], reg["titulo"])
            if title not in (None, "") and title == title}


def layer_title(name: str) -> str:
    """Title of a layer in the registry (its name when it has none)."""
    return _layer_titles(store_version()).get(name, name)


def session_cached(slot: str, key: object, build):
    """Value built by ``build()``, kept in this session until ``key`` changes.

    Used for objects that must not be rebuilt on every rerun but cannot be shared
    between sessions (a folium map is mutated while it is drawn).

    Parameters
    ----------
    slot : str
        Session-state key holding ``(key, value)``.
    key : hashable
        What the value depends on (filter state, store version...).
    build : callable
        Produces the value when ``key`` changed.
    """
    held = st.session_state.get(slot)
    if held is not None and held[0] == key:
        return held[1]
    value = build()
    st.session_state[slot] = (key, value)
    return value


def initiative_picker(frame, key: str) -> str:
    """A selectbox of the initiatives of ``frame`` (``id``, ``nombre``) kept in the link as ``?iniciativa=``.

    The link's value is the first choice when the widget has none yet; the chosen id is written back
    to the link. Returns the chosen id.
    """
    labels = dict(zip(frame["id"], frame["nombre"]))
    wanted = st.query_params.get("iniciativa")
    if key not in st.session_state and wanted in labels:
        st.session_state[key] = wanted
    ident = st.selectbox("Iniciativa", list(labels), key=key, format_func=lambda i: f"{i} · {labels[i]}")
    st.query_params["iniciativa"] = ident
    return ident


def init_widget(key: str, value: object) -> None:
    """Give a widget its starting value (e.g. from the URL) unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


# --- downloads ----------------------------------------------------------------------------

#: Button label of each export format.
FORMAT_LABELS = {"geojson": "GeoJSON", "csv": "CSV", "gpkg": "GeoPackage", "shp": "Shapefile (zip)", "kml": "KML"}


def show_map(frame: str, height: int, title: str) -> None:
    """Show a map document of :meth:`views.mapframe.DocumentCache.frame` in the page.

    A published address goes in a frame the page makes itself (:func:`views.mapframe.mount`
    through ``st.html``, which every page has already loaded); a document (the fallback of
    a read-only install) goes in an ``st.iframe`` ``srcdoc`` frame.

    Parameters
    ----------
    frame : str
        What :meth:`views.mapframe.DocumentCache.frame` returned.
    height : int
        Height of the map, CSS pixels.
    title : str
        Accessible name of the map's frame.
    """
    from views import mapframe

    if mapframe.published_path(frame) is not None:
        st.html(mapframe.mount(frame, height, title), unsafe_allow_javascript=True)
    else:
        st.iframe(frame, height=height, alt=title)


def download_buttons(frame: gpd.GeoDataFrame, formats, base_name: str, key_prefix: str) -> None:
    """One download button per format, side by side; each file is built only when clicked.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        What the files hold (written through :func:`layers.exchange.export.export_bytes`).
    formats : iterable of str
        Keys of :data:`layers.exchange.export.FORMATS`, in display order.
    base_name : str
        File name without extension.
    key_prefix : str
        Prefix of the widget keys (unique per page).
    """
    from layers import selection

    row = st.container(horizontal=True)
    for fmt in formats:
        file_name, mime, produce = selection.download(frame, fmt, base_name)
        row.download_button(
            f"Descargar {FORMAT_LABELS.get(fmt, fmt.upper())}",
            data=produce,
            file_name=file_name,
            mime=mime,
            key=f"{key_prefix}{fmt}",
            on_click="ignore",
            icon=":material/download:",
        )


# --- first page text and option labels ------------------------------------------------------

#: Editable text of the first page (period of the plan, contact), shipped in ``data/``.
PRESENTATION_FILE = Path(__file__).resolve().parents[1] / "data" / "presentacion.toml"
#: Keys of :data:`PRESENTATION_FILE`, all plain text.
PRESENTATION_KEYS = ("periodo", "contacto", "responsable")


@st.cache_data(show_spinner=False, max_entries=2)
def _presentation(path: str, mtime: float) -> dict[str, str]:
    import logging
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logging.getLogger("sit.app").warning("first page text not read from %s: %s", path, exc)
        raw = {}
    return {key: str(raw.get(key) or "").strip() for key in PRESENTATION_KEYS}


def presentation() -> dict[str, str]:
    """Text of the first page: ``periodo``, ``contacto``, ``responsable`` (plain text, maybe empty).

    Read from :data:`PRESENTATION_FILE` (TOML), cached until the file changes; a
    missing or unreadable file gives empty values and a line in the server log.
    """
    try:
        mtime = PRESENTATION_FILE.stat().st_mtime
    except OSError:
        mtime = -1.0
    return _presentation(str(PRESENTATION_FILE), mtime)


@st.cache_data(show_spinner=False, max_entries=8)
def _territory_choices(territory_layer: str, version: int) -> tuple[list[str], dict[str, str]]:
    from layers import sector

    terr = _read_layer(territory_layer, version)
    labels = {slug: f"{searchable_name(name)} — {tipo}" for slug, name, tipo in zip(terr["slug"], terr["nombre"], terr["tipo"])}
    return sector.territory_order(terr), labels


def territory_choices(territory_layer: str = DEFAULT_TERRITORY_LAYER,
                      version: int | None = None) -> tuple[list[str], dict[str, str]]:
    """Slugs of a territory layer in the sector page's order and their option labels (cached per store version).

    ``version`` is the store version to read (:func:`store_version` by default).

    Labels are ``"Nombre (sin tildes) — tipo"`` (:func:`searchable_name`): 10,000
    imported territories are labelled once, not on every rerun.
    """
    return _territory_choices(territory_layer, _version(version))


#: Above this many territories the sector page's picker lists the territories that match a
#: search box, at most this many, instead of every one: the 10,029 lots of ``bench/synthetic.py``
#: made the picker a 531 kB message on every visit, phones included, for a list no one scrolls.
PICKER_LIMIT = 200


@st.cache_data(show_spinner=False, max_entries=256)
def _territory_matches(territory_layer: str, version: int, text: str, limit: int) -> tuple[list[str], int]:
    from layers.text import fold

    order, labels = _territory_choices(territory_layer, version)
    words = fold(text, lower=True).split()
    if not words:
        return order[:limit], len(order)
    # The name (with its unaccented words) and the slug; not the label's " — tipo", which every
    # territory of a kind shares ("urbano" would find them all).
    hits = [slug for slug in order
            if all(w in fold(f"{labels[slug].rsplit(' — ', 1)[0]} {slug}", lower=True) for w in words)]
    return hits[:limit], len(hits)


def territory_matches(text: str, territory_layer: str = DEFAULT_TERRITORY_LAYER, version: int | None = None,
                      limit: int | None = None) -> tuple[list[str], int]:
    """Territories whose name or slug holds every word of ``text``, in the sector page's order.

    Accents and case do not count («eden» finds «Villa El Edén»); an empty text matches
    every territory. Cached per layer, store version and text.

    Parameters
    ----------
    text : str
        What a person typed in the search box.
    territory_layer : str
        Territory layer of the store.
    version : int, optional
        Store version (:func:`store_version` by default).
    limit : int, optional
        Most slugs returned; :data:`PICKER_LIMIT` by default.

    Returns
    -------
    (list of str, int)
        The first ``limit`` matching slugs and how many match in all.
    """
    return _territory_matches(territory_layer, _version(version), str(text or "").strip(),
                              PICKER_LIMIT if limit is None else int(limit))


def searchable_name(name: object) -> str:
    """Option label that typing without accents also finds: ``"Villa El Edén (Eden)"``.

    Streamlit's option filter compares the typed text with the label as written, so
    «Eden» would not find «Edén». The accented words are repeated without accents in
    parentheses; names without accents are returned unchanged.
    """
    from layers.text import fold

    text = str(name)
    words = [w.strip(".,;:()«»\"'") for w in text.split()]
    plain = [fold(w) for w in words]
    changed = list(dict.fromkeys(p for p, w in zip(plain, words) if p != w))
    return f"{text} ({' '.join(changed)})" if changed else text


#: Style shared by every page: readable filter chips (wrapped, never cut) and a narrower
#: top margin on phones, so the first screen shows content.
PAGE_CSS = """
<style>
.stMultiSelect [role="group"]:has([data-testid="stMultiSelectTagsContainer"]) { max-height: none; }
[data-testid="stMultiSelectTagsContainer"] { max-height: none; overflow: visible; }
[data-testid="stMultiSelectTagsContainer"] [data-tag] { height: auto; max-width: 100%; }
[data-testid="stMultiSelectTagsContainer"] [data-tag] > span {
  white-space: normal; overflow: visible; text-overflow: clip; line-height: 1.25; padding: 2px 0; }
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3rem; padding-left: 0.75rem; padding-right: 0.75rem; }
  [data-testid="stMain"] h1 { font-size: 1.75rem; }
  [data-testid="stMain"] h2 { font-size: 1.5rem; }
  [data-testid="stMetricValue"] { font-size: 1.5rem; }
}
</style>
"""
#: The page's language for browsers, screen readers and translators. Streamlit (1.67) has
#: no option for it and writes ``<html lang="en">``; ``st.html`` may run JavaScript
#: (``unsafe_allow_javascript``, a public option), and this fixed script only sets it.
#: Streamlit's skip link has no option for its text either; the same script gives it its Spanish words.
LANG_SCRIPT = (
    "<script>document.documentElement.setAttribute('lang', 'es-CL');"
    "document.querySelectorAll('[data-testid=stSkipToContent]').forEach("
    "function (a) { a.textContent = 'Saltar al contenido principal'; });</script>"
)


#: Session keys of the page shown by this run and by the run before it (:func:`page_entered`).
_PAGE_KEY, _PREVIOUS_PAGE_KEY = "_sit_page", "_sit_previous_page"


def page_entered() -> bool:
    """Whether this run arrived from another page (or is the session's first run).

    streamlit-folium cannot draw the same folium map object in a new frame (a map
    kept from an earlier visit fails with "geo_json_... is not defined"); map pages
    rebuild the maps they keep in the session when the person comes back.
    """
    return st.session_state.get(_PREVIOUS_PAGE_KEY) != st.session_state.get(_PAGE_KEY)


def page_setup(page: str = "") -> None:
    """Page-wide style and ``lang="es-CL"``, and which page runs; called once per run by ``app.py``.

    Parameters
    ----------
    page : str
        Address of the page this run shows (``navigation.url_path``), for :func:`page_entered`.
    """
    st.session_state[_PREVIOUS_PAGE_KEY] = st.session_state.get(_PAGE_KEY)
    st.session_state[_PAGE_KEY] = page
    st.html(PAGE_CSS)
    with st.sidebar:
        st.html(LANG_SCRIPT, unsafe_allow_javascript=True)
