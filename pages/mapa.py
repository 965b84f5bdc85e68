"""Map of the plan: filter the initiatives, see them on the territories, download the selection.

The filter state lives in the URL (``?estrategia=1&territorio=domeyko&q=agua``) so a
filtered view can be shared; values nobody knows are reported and ignored.
"""

from __future__ import annotations

import functools
import hashlib

import streamlit as st

from layers import catalogue, census, links, monitoring, selection
from layers.exchange import package
from pages import _shared as shared
from views import mapframe, maplocale, mapview, restyle, symbology, webassets

shared.run_inside_app()

PREFIX = "mapa_"
KEYS = {k: PREFIX + k for k in selection.FILTER_KEYS}
LAYER_KEY = PREFIX + "capa"
SITES_KEY = PREFIX + "ubicaciones"
ALL_KEY = PREFIX + "todas"
RATE_KEY = PREFIX + "por_mil"
#: ``?color=todas`` in the link: the colour adds the commune-, city- and countryside-wide initiatives
#: to those of each territory (by default only its own: sited in it or linked to it by name).
COLOR_PARAM, COLOR_ALL = "color", "todas"
#: ``?tasa=mil``: initiatives per 1,000 inhabitants (census population of the urban zones).
RATE_PARAM, RATE_PER_THOUSAND = "tasa", "mil"
#: ``?colorear=estado`` in the link: sited initiatives coloured by monitoring status, not strategy.
COLOR_BY_PARAM, COLOR_BY_KEY = "colorear", PREFIX + "colorear"
MAP_HEIGHT = 580
#: Filter widgets keep their value across pages (the sector page reads the territory).
PERSIST = "session"
#: ``?vista=lat,lon,zoom``: the map's view (WGS 84 degrees, Leaflet zoom level), kept in the link.
VIEW_PARAM, VIEW_KEY = "vista", PREFIX + "vista"
#: The three figures of the selection, in words people use.
FIGURE_LABELS = ("Iniciativas", "Con lugar en el mapa", "Sectores y localidades donde aplican")
#: Accessible name of the map's frame.
MAP_TITLE = "Mapa del plan: territorios de la comuna e iniciativas seleccionadas"
#: The map document this visitor's frame holds: what it is drawn from (``base``), the selection it
#: opened with (``opened``), whether a later selection was sent to it (``sent``) and its address
#: (``frame``). A new selection of the same layer, sites and store version is drawn in that document
#: (views.restyle), not in a new one.
FRAME_KEY = PREFIX + "marco"


def _gpkg_by_geometry(frame) -> bytes:
    """The selection as a GeoPackage with one layer per geometry type (built on click)."""
    return package.gpkg_bytes(package.geometry_parts(frame, "iniciativas"))


def _parse_view(text: str | None) -> tuple[float, float, int] | None:
    """``"lat,lon,zoom"`` of a link as numbers; ``None`` when absent or not a view of the map."""
    try:
        lat, lon, zoom = (v.strip() for v in str(text).split(","))
        view = (round(float(lat), 5), round(float(lon), 5), int(zoom))
    except (TypeError, ValueError):
        return None
    ok = -90 <= view[0] <= 90 and -180 <= view[1] <= 180 and 1 <= view[2] <= 20
    return view if ok else None


def _view_text(view: tuple[float, float, int]) -> str:
    return f"{view[0]:.5f},{view[1]:.5f},{view[2]}"


@st.cache_data(show_spinner=False, max_entries=4)
def _status(version: int):
    """Status and physical progress of every initiative (cached until the store changes)."""
    return monitoring.matrix()[["estado", "avance_fisico"]]


@st.cache_resource(show_spinner=False, max_entries=4)
def _listing(version: int) -> dict:
    """What the page's choices list, read once per store version for every visitor (shared, do not mutate).

    Returns
    -------
    dict
        ``layers`` (territory layers), ``sites`` (imported site layers), ``strategies`` and
        ``plan_names`` (id -> name), ``plans`` (the plan table).
    """
    return {
        "layers": shared.territory_layers(), "sites": shared.site_layers(), "strategies": shared.strategy_names(),
        "plans": shared.layer("planes"), "plan_names": shared.plan_names(),
    }


@st.cache_resource(show_spinner=False, max_entries=8)
def _layer_data(version: int, territory_layer: str, sites: str | None) -> dict:
    """Territories, relations and initiatives of a layer and a choice of sites, shared by every visitor.

    ``st.cache_data`` hands each caller a copy (an unpickling on every rerun); these
    read-only objects are kept once per process instead. Do not mutate them.
    """
    territories = shared.layer(territory_layer)
    return {
        "territories": territories, "relations": shared.relations(territory_layer, sites),
        "initiatives": shared.initiatives(sites), "slugs": list(territories["slug"]),
        "labels": dict(zip(territories["slug"], territories["nombre"])),
        # What the territory picker shows and searches (thousands of options at scale: once, not per rerun).
        "options": {slug: shared.searchable_name(name) for slug, name in zip(territories["slug"], territories["nombre"])},
    }


@st.cache_resource(show_spinner=False, max_entries=16)
def _selection_view(version: int, territory_layer: str, sites: str | None, key: tuple) -> dict:
    """The selection of a filter state and what the page shows of it, computed once for every visitor.

    Parameters
    ----------
    version : int
        Store version.
    territory_layer, sites : str
        Active territory layer and site layer (``None``: the included sites).
    key : tuple
        :func:`layers.selection.state_key` of the (clean) filter state.

    Returns
    -------
    dict
        ``selected`` (initiatives), ``figures`` (:func:`layers.selection.summary`, the
        territories counted among those chosen when any), ``table`` (:func:`layers.selection.table`)
        and ``kinds`` (:func:`layers.exchange.package.geometry_counts`). Shared: do not mutate.
    """
    data = _layer_data(version, territory_layer, sites)
    state = _state_of(key)
    relations = data["relations"]
    selected = selection.apply(data["initiatives"], relations, state, data["territories"])
    figures = selection.summary(selected, relations)
    if state["territorio"]:  # the territories the person chose, not every one the selection concerns
        chosen = relations.territories_concerned(selected["id"]).intersection(state["territorio"])
        figures["territorios"] = len(chosen)
    table = selection.table(selected, relations, data["territories"], _listing(version)["strategies"])
    return {"selected": selected, "figures": figures, "table": table, "kinds": package.geometry_counts(selected)}


@st.cache_resource(show_spinner=False, max_entries=8)
def _territory_drawing(version: int, territory_layer: str, columns: tuple[str, ...]) -> dict:
    """What the map draws of a territory layer whatever the selection, prepared once per store version.

    ``shown``: display geometries (:func:`pages._shared.display_layer`); ``geometry``: their compact
    GeoJSON text (:func:`views.mapview.territory_geometry`); ``labels``: where their names are written
    (:func:`views.maplocale.label_payload`). Shared by every visitor: do not mutate.
    """
    shown = shared.display_layer(territory_layer, columns)
    return {"shown": shown, "geometry": mapview.territory_geometry(shown), "labels": maplocale.label_payload(shown)}


@st.cache_resource(show_spinner=False, max_entries=4)
def _reference_kinds(version: int) -> list:
    """Title and kinds of each reference layer, for the legend of a selection drawn in place.

    ``version`` (the store version) keys the cache; the layers are read for the current one.
    """
    return mapview.reference_kinds(shared.reference_layers())


def _state_of(key: tuple) -> dict:
    """The filter state of a :func:`layers.selection.state_key`."""
    return {name: (value if name == "q" else list(value)) for name, value in key}


def _clear_filters() -> None:
    for key in KEYS.values():
        st.session_state[key] = "" if key == KEYS["q"] else []


st.title("Mapa del plan", anchor=False)
st.caption(
    "Iniciativas del PLADECO de Vallenar sobre los sectores urbanos y localidades rurales de la comuna. "
    "Los filtros se guardan en la dirección de la página: cópiela para compartir esta vista."
)

# --- territory layer --------------------------------------------------------------------
version = shared.store_version()
listing = _listing(version)
layer_names = listing["layers"]
warnings: list[str] = []
notes: list[str] = []  # what a link asked for and how it is shown (plain text, shown escaped)
if LAYER_KEY not in st.session_state:
    wanted = st.query_params.get("capa", shared.DEFAULT_TERRITORY_LAYER)
    if wanted not in layer_names:
        warnings.append(f"Se ignoró un filtro: Capa de territorios desconocida: «{shared.echo(wanted)}».")
        wanted = shared.DEFAULT_TERRITORY_LAYER
    st.session_state[LAYER_KEY] = wanted
if len(layer_names) > 1:
    st.sidebar.selectbox("Capa de territorios", layer_names, key=LAYER_KEY, format_func=shared.layer_title)
elif st.session_state[LAYER_KEY] not in layer_names:
    st.session_state[LAYER_KEY] = shared.DEFAULT_TERRITORY_LAYER
territory_layer = st.session_state[LAYER_KEY]

# --- initiative sites: the included ones or an imported site layer ----------------------
site_names = listing["sites"]
if SITES_KEY not in st.session_state:
    choice, problem = shared.site_choice(st.query_params.get("ubicaciones"))
    if problem:
        warnings.append(problem)
    st.session_state[SITES_KEY] = choice
site_options = [shared.INCLUDED_SITES, *site_names]
if st.session_state[SITES_KEY] not in site_options:  # the layer was removed meanwhile
    st.session_state[SITES_KEY] = shared.site_choice(None)[0]
if site_names:
    st.sidebar.selectbox(
        "Ubicaciones de las iniciativas", site_options, key=SITES_KEY, format_func=shared.sites_label,
        help="Las ubicaciones incluidas son referenciales; una capa de ubicaciones importada las reemplaza "
             "para las iniciativas que contiene.",
    )
sites = shared.sites_layer(st.session_state[SITES_KEY])

layer_data = _layer_data(version, territory_layer, sites)
territories, relations, initiatives = layer_data["territories"], layer_data["relations"], layer_data["initiatives"]
strategies, plans, plan_names = listing["strategies"], listing["plans"], listing["plan_names"]

# --- filter state: URL on first run, widgets afterwards ---------------------------------
if any(key not in st.session_state for key in KEYS.values()):
    raw_query = shared.read_query()
    from_url, problems = selection.clean_filters(raw_query, territories)
    for given in raw_query.get("territorio", []):  # a former sector's link: say which zone shows it
        alias = census.alias_entry(str(given).strip().lower(), territories["slug"])
        if alias:
            notes.append(census.alias_note(alias, named=True))
    kept, foreign = selection.drop_foreign_plans(from_url, plans)
    if foreign:
        problems.append(
            f"Se ignoraron planes que no son de las estrategias elegidas: {', '.join(foreign)}."
        )
    from_url["plan"] = kept
    warnings.extend(problems)
    for name, key in KEYS.items():
        shared.init_widget(key, from_url[name])

# Keep choices that the other choices still allow (plans of the chosen strategies,
# territories of the chosen layer).
plan_options = selection.plans_of(plans, st.session_state[KEYS["estrategia"]])
st.session_state[KEYS["plan"]] = [p for p in st.session_state[KEYS["plan"]] if p in plan_options]
slugs, territory_label, territory_option = layer_data["slugs"], layer_data["labels"], layer_data["options"]
st.session_state[KEYS["territorio"]] = [s for s in st.session_state[KEYS["territorio"]] if s in territory_label]
has_population = "poblacion" in territories.columns
if ALL_KEY not in st.session_state:  # the link's colouring, said once when it cannot be followed
    wanted_all, wanted_rate = st.query_params.get(COLOR_PARAM, ""), st.query_params.get(RATE_PARAM, "")
    if wanted_all not in ("", COLOR_ALL):
        warnings.append(f"Se ignoró «color={shared.echo(wanted_all)}»: el único valor es «{COLOR_ALL}».")
    if wanted_rate not in ("", RATE_PER_THOUSAND):
        warnings.append(f"Se ignoró «tasa={shared.echo(wanted_rate)}»: el único valor es «{RATE_PER_THOUSAND}».")
    elif wanted_rate and not has_population:
        warnings.append("Se ignoró la tasa por 1.000 habitantes: esta capa de territorios no tiene población censal.")
shared.init_widget(ALL_KEY, st.query_params.get(COLOR_PARAM) == COLOR_ALL)
shared.init_widget(RATE_KEY, has_population and st.query_params.get(RATE_PARAM) == RATE_PER_THOUSAND)
if COLOR_BY_KEY not in st.session_state:
    wanted_color = st.query_params.get(COLOR_BY_PARAM, "estrategia")
    if wanted_color not in symbology.COLOR_MODES:
        warnings.append(f"Se ignoró el color de las iniciativas: «{shared.echo(wanted_color)}» no es estrategia ni estado.")
        wanted_color = "estrategia"
    st.session_state[COLOR_BY_KEY] = wanted_color

# Typing picks what contains the typed text (accents aside for names: «Eden» finds «Edén»),
# and Enter picks one option, never «all matches».
CHOICE = {"filter_mode": "contains", "select_all": False, "persist_state": PERSIST, "wrap": True}

with st.sidebar:
    st.header("Filtros", anchor=False)
    st.multiselect(
        "Estrategia", list(strategies), key=KEYS["estrategia"],
        format_func=lambda s: shared.searchable_name(f"{s[1:]}. {strategies.get(s, s)}"), placeholder="Todas",
        **CHOICE,
    )
    st.multiselect(
        "Plan", plan_options, key=KEYS["plan"],
        format_func=lambda p: shared.searchable_name(f"{p} · {plan_names.get(p, p)}"), placeholder="Todos",
        **CHOICE,
    )
    st.multiselect("Tipo", list(catalogue.TIPOS), key=KEYS["tipo"], placeholder="Todos", **CHOICE)
    st.multiselect(
        "Alcance", list(links.ALCANCES), key=KEYS["alcance"],
        format_func=selection.alcance_label, placeholder="Todos", **CHOICE,
    )
    st.multiselect(
        "Territorio", slugs, key=KEYS["territorio"],
        format_func=lambda s: territory_option.get(s, s), placeholder="Todos",
        help=selection.relation_scope_note(), **CHOICE,
    )
    st.text_input("Buscar en los nombres", key=KEYS["q"], placeholder="p. ej. agua potable",
                  max_chars=selection.MAX_QUERY_CHARS, persist_state=PERSIST)
    st.button("Limpiar filtros", on_click=_clear_filters, icon=":material/filter_alt_off:")
    st.divider()
    specific_only = not st.toggle(
        "Sumar al color las iniciativas de toda la comuna, la ciudad o el campo",
        key=ALL_KEY, persist_state=PERSIST,
        help="Por omisión el color cuenta solo las iniciativas propias de cada territorio: las que tienen "
             "lugar en él o que el plan le asigna por nombre. Activado, suma las que valen para toda la comuna, "
             "toda la ciudad o todo el campo (las mismas en todos los territorios de cada tipo).",
    )
    per_thousand = st.toggle(
        "Por cada 1.000 habitantes",
        key=RATE_KEY, persist_state=PERSIST, disabled=not has_population,
        help="Divide por la población del Censo 2017 de cada zona urbana (INE). Las localidades rurales y el "
             "resto rural no tienen población censal por territorio y van en gris."
             if has_population else "La capa de territorios elegida no trae población.",
    ) and has_population
    color_by = st.radio(
        "Colorear iniciativas por", list(symbology.COLOR_MODES), key=COLOR_BY_KEY, horizontal=True,
        persist_state=PERSIST, format_func=symbology.COLOR_MODES.get,
        help="Estado: el del registro de seguimiento del plan (página Seguimiento); sin registro, «sin iniciar».",
    )

state = {name: st.session_state[key] for name, key in KEYS.items()}
state["q"] = str(state["q"] or "").strip()
# The map's view: from the link when the page opens (the map then writes its moves into the
# address itself, views.maplocale); a new selection opens on its own extent.
raw_view = st.query_params.get(VIEW_PARAM)
if VIEW_KEY not in st.session_state:
    st.session_state[VIEW_KEY] = _parse_view(raw_view)
    if raw_view and st.session_state[VIEW_KEY] is None:
        warnings.append(f"Se ignoró la vista del mapa: «{shared.echo(raw_view)}» no es latitud,longitud,zoom.")
# The view follows the filters: colours and what they count keep it (views.restyle).
selection_key = (territory_layer, sites, selection.state_key(state))
if st.session_state.get(PREFIX + "vista_de") not in (None, selection_key):
    st.session_state[VIEW_KEY] = raw_view = None
st.session_state[PREFIX + "vista_de"] = selection_key
current_view = _parse_view(raw_view)
extra = {
    "capa": territory_layer if territory_layer != shared.DEFAULT_TERRITORY_LAYER else "",
    "ubicaciones": st.session_state[SITES_KEY] if site_names else "",
    COLOR_PARAM: "" if specific_only else COLOR_ALL,
    RATE_PARAM: RATE_PER_THOUSAND if per_thousand else "",
    COLOR_BY_PARAM: color_by if color_by != "estrategia" else "",
    VIEW_PARAM: _view_text(current_view) if current_view else "",
}
shared.write_query(selection.url_state(state), extra=extra)

# What a link asked for goes in one container: the map keeps its place among the page's
# elements when the messages go (Streamlit then keeps its frame, views.restyle).
with st.container():
    shared.warn_ignored(warnings)
    for note in dict.fromkeys(notes):
        st.info(shared.md_escape(note), icon=":material/signpost:")

# --- selection --------------------------------------------------------------------------
shown_selection = _selection_view(version, territory_layer, sites, selection.state_key(state))
selected, figures = shown_selection["selected"], shown_selection["figures"]
row = st.container(horizontal=True, gap="large")  # side by side, wrapping on a phone
row.metric(FIGURE_LABELS[0], figures["iniciativas"], help=f"De {len(initiatives)} iniciativas del plan.",
           width="content")
row.metric(FIGURE_LABELS[1], figures["ubicadas"], width="content",
           help="Las demás valen para toda la comuna, la ciudad, el campo o territorios con nombre: "
                "no tienen un lugar propio en el mapa.")
row.metric(FIGURE_LABELS[2], figures["territorios"], help=selection.relation_scope_note(), width="content")

notice = st.container()  # always there: the map keeps its place in the page (views.restyle)
if selected.empty:
    notice.info(
        "Ningún resultado: ninguna iniciativa cumple todos los filtros elegidos. "
        "Quite alguno de los filtros o use «Limpiar filtros».",
        icon=":material/search_off:",
    )

# --- map --------------------------------------------------------------------------------
if webassets.assets_installed():
    base_url = webassets.base_url_path()
    drawn_columns = ("slug", "nombre", "tipo", *(("poblacion",) if has_population else ()))
    # What the document is drawn from, and what it shows of it (the link's view until the selection changes).
    base_key = ("mapa", version, base_url, territory_layer, sites)
    shown_key = (selection.state_key(state), bool(specific_only), bool(per_thousand), color_by, st.session_state[VIEW_KEY])

    def _drawing_of(doc_key: tuple) -> dict:
        """What the map document and a selection update share: the arguments of a selection."""
        sel_key, only, rate, colour, _view = doc_key
        chosen = _state_of(sel_key)
        return {
            "commune": shared.display_layer("comuna", ("nombre",)),
            "territories": _territory_drawing(version, territory_layer, drawn_columns)["shown"],
            "initiatives": shared.display_initiatives(sites),
            "selected_ids": _selection_view(version, territory_layer, sites, sel_key)["selected"]["id"],
            "relations": relations, "strategies": strategies, "specific_only": only, "per_thousand": rate,
            "selected_territories": chosen["territorio"], "filtered": selection.is_filtered(chosen),
            "monitoring": _status(version), "color_by": colour,
            # The extent follows the filters (as the link's view does), not the colours or what they count.
            "fit_key": hashlib.sha256(repr(sel_key).encode()).hexdigest()[:16],
        }

    def _document(doc_key: tuple) -> str:
        """The map document of a selection (rendered once per key for every visitor, views.mapframe)."""
        drawing = _territory_drawing(version, territory_layer, drawn_columns)
        return mapframe.render(maplocale.open_on(maplocale.prepare(mapview.selection_map(
            **_drawing_of(doc_key), city=shared.city_blocks(), reference_layers=shared.reference_layers(),
            territory_geometry=drawing["geometry"],
        ), title=MAP_TITLE, territories=drawing["shown"], view_param=VIEW_PARAM, labels=drawing["labels"]), doc_key[4]))

    def _update(doc_key: tuple) -> str:
        """The JSON a document already open draws another selection from (views.restyle)."""
        return mapview.selection_update(**_drawing_of(doc_key), references=_reference_kinds(version))

    # This visitor's document: kept while its layer, sites and store version stay (views.restyle).
    mapframe.DOCUMENTS.retire(version)
    mapframe.SELECTIONS.retire(version)
    held = st.session_state.get(FRAME_KEY)
    if held is None or held["base"] != base_key:
        held = {"base": base_key, "opened": shown_key, "sent": False, "frame": None}
    if not (held["frame"] and mapframe.DOCUMENTS.shown(held["frame"])):
        held["frame"] = mapframe.DOCUMENTS.frame((*base_key, *held["opened"]), lambda: _document(held["opened"]),
                                                 base_url, generation=version)
    pointer = None
    if held["opened"] != shown_key or held["sent"]:
        selection_src = None
        if mapframe.published_path(held["frame"]) is not None:
            selection_src = mapframe.SELECTIONS.frame(
                (*base_key, *shown_key[:4]), lambda: _update(shown_key), base_url, generation=version,
            )
        if selection_src is not None and mapframe.published_path(selection_src) is not None:
            pointer = restyle.pointer(held["frame"], selection_src)
            held["sent"] = True
        else:  # nothing can be published (a read-only install): a new document, in a srcdoc frame
            held = {"base": base_key, "opened": shown_key, "sent": False, "frame": mapframe.DOCUMENTS.frame(
                (*base_key, *shown_key), lambda: _document(shown_key), base_url, generation=version)}
    st.session_state[FRAME_KEY] = held
    with st.container(gap=None):
        shared.show_map(held["frame"], MAP_HEIGHT, MAP_TITLE)
        if pointer is not None:
            st.html(pointer, unsafe_allow_javascript=True)
    st.caption(mapview.count_label(bool(specific_only), bool(per_thousand)) + ". " + selection.relation_scope_note())
if sites:
    st.caption(
        f"Ubicaciones de las iniciativas: capa importada «{shared.md_escape(shared.sites_label(sites))}»; "
        "reemplaza las ubicaciones referenciales de las iniciativas que contiene."
    )

# --- table and downloads ----------------------------------------------------------------
if not selected.empty:
    st.subheader("Iniciativas seleccionadas", anchor=False)
    st.dataframe(
        shown_selection["table"],
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.TextColumn("Id", width="small"),
            "tipo": st.column_config.TextColumn("Tipo", width="small"),
            "nombre": st.column_config.TextColumn("Nombre", width="large"),
            "estrategia": "Estrategia",
            "plan": "Plan",
            "alcance": "Alcance",
            "territorios": "Territorios",
        },
    )
    st.markdown("**Descargar la selección**")
    file_stem = package.selection_file_name(state)
    kinds = shown_selection["kinds"]
    mixture = ", ".join(f"{n} {package.FAMILY_LABEL[f]}" for f, n in kinds.items())
    helps = {
        "gpkg": "Para QGIS u otro SIG: una capa por tipo de geometría (iniciativas_puntos, _lineas, _poligonos) "
                f"y la tabla iniciativas_sin_ubicacion. Esta selección: {mixture}.",
        "geojson": f"Un solo archivo que mezcla tipos de geometría ({mixture}); las iniciativas sin ubicación van "
                   "con geometría nula. QGIS lo abre mejor como GeoPackage.",
        "csv": "Una fila por iniciativa, con lon, lat y wkt (WGS 84) cuando tiene lugar.",
    }
    row = st.container(horizontal=True)
    for fmt in selection.download_formats():
        if fmt == "gpkg":
            file_name, mime = f"{file_stem}.gpkg", "application/geopackage+sqlite3"
            produce = functools.partial(_gpkg_by_geometry, selected)
        else:
            file_name, mime, produce = selection.download(selected, fmt, file_stem)
        row.download_button(
            f"Descargar {shared.FORMAT_LABELS.get(fmt, fmt.upper())}", data=produce, file_name=file_name, mime=mime,
            key=f"{PREFIX}descarga_{fmt}", on_click="ignore", icon=":material/download:", help=helps.get(fmt),
        )
    st.caption(f"El nombre de los archivos dice qué se eligió: «{shared.md_escape(file_stem)}».")
