"""Sector page: what the plan does in one territory (``/sector?territorio=SLUG``).

A neighbourhood committee picks its territory (or arrives by a shared link), sees
it on the map with its neighbours, reads the initiatives that concern it, and
downloads them as GeoJSON or as a printable report.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from layers import census, sector
from layers._errors import SitError
from layers.monitoring.fields import ESTADOS
from pages import _shared as shared
from views import mapframe, maplocale, report, sectorview, webassets

shared.run_inside_app()

PICKER_KEY = "sector_territorio"
SEARCH_KEY = "sector_buscar"
LAYER_KEY = "sector_capa"
GROUPING_KEY = "sector_agrupar"
GROUPINGS = ("Relación con el territorio", "Estrategia")
#: Groups shown open: what is specific to the territory; the others are folded.
SPECIFIC_GROUPS = ("ubicada", "vinculada")
MAP_HEIGHT = 420
#: The map page's territory filter (pages/mapa.py), kept for the session.
MAP_TERRITORY_KEY = "mapa_territorio"


def _sync_url() -> None:
    """The chosen territory goes to the address and, when the map was filtered to one territory, to the map."""
    st.query_params["territorio"] = st.session_state[PICKER_KEY]
    if len(st.session_state.get(MAP_TERRITORY_KEY) or []) == 1:
        st.session_state[MAP_TERRITORY_KEY] = [st.session_state[PICKER_KEY]]


def _go_to(slug_key: str) -> None:
    target = st.session_state.get(slug_key)
    if target:
        st.session_state[PICKER_KEY] = target
        st.query_params["territorio"] = target


def _sync_layer() -> None:
    st.query_params["capa"] = st.session_state[LAYER_KEY]
    if "territorio" in st.query_params:  # slugs belong to a layer
        del st.query_params["territorio"]


st.title("El plan en mi territorio", anchor=False)
st.caption(
    "Elija su sector urbano o localidad rural para ver qué iniciativas del PLADECO lo atañen, "
    "en el mapa y en una lista que puede descargar e imprimir."
)

# One store version for everything this run shows of the territory: an import landing during
# the run cannot pair one version's groups with another's lists.
version = shared.store_version()
try:
    layers_available = shared.territory_layers()
    layer_name = shared.DEFAULT_TERRITORY_LAYER
    if len(layers_available) > 1:
        wanted_layer = st.query_params.get("capa")
        if wanted_layer in layers_available and st.session_state.get(LAYER_KEY) != wanted_layer:
            st.session_state[LAYER_KEY] = wanted_layer
        layer_name = st.selectbox(
            "Capa de territorios", layers_available, key=LAYER_KEY, on_change=_sync_layer,
            help="La capa incluida es referencial; una capa oficial importada la reemplaza aquí.",
        )
    # Per layer and store version, never the layer itself: a visit of 10,000 territories reads no geometry.
    order, labels = shared.territory_choices(layer_name, version=version)
    names = shared.territory_names(layer_name, version=version)
except SitError as exc:
    st.error(str(exc))
    st.stop()

# A link from the map may carry several territories (``a,b``): the first one named is shown.
requested = next((part.strip() for part in (st.query_params.get("territorio") or "").split(",") if part.strip()), "")
unknown_message = None
resolved = alias = None  # the territory the address names (a former slug names its census zone)
if requested:
    resolved, hint, alias = shared.territory_address(requested, layer_name, version=version)
    if resolved is not None:
        if st.session_state.get(PICKER_KEY) != resolved:
            st.session_state[PICKER_KEY] = resolved
    else:
        unknown_message = f"Territorio desconocido: «{shared.echo(requested)}»." + (f" ¿Quiso decir «{hint}»?" if hint else "")
elif PICKER_KEY not in st.session_state:  # carried over from the map's territory filter
    from_map = [s for s in st.session_state.get(MAP_TERRITORY_KEY) or [] if s in names]
    if from_map:
        st.session_state[PICKER_KEY] = from_map[0]
if st.session_state.get(PICKER_KEY) not in names:
    st.session_state[PICKER_KEY] = "centro" if "centro" in names else order[0]

# A layer of thousands of territories (an imported layer of lots or blocks) is searched first:
# the picker then lists the matches, never all of them (shared.PICKER_LIMIT).
options, search, found = order, "", len(order)
if len(order) > shared.PICKER_LIMIT:
    search = st.text_input(
        "Buscar territorio", key=SEARCH_KEY, max_chars=100, placeholder="Parte del nombre o del código",
        help=f"La capa tiene {report.format_number(len(order))} territorios: escriba parte del nombre o del "
             "código y elija el suyo en la lista de abajo, que muestra solo lo que coincide.",
    )
    options, found = shared.territory_matches(search, layer_name, version=version)
    if st.session_state[PICKER_KEY] not in options:  # what is shown stays in the list
        options = [st.session_state[PICKER_KEY], *options]
slug = st.selectbox(
    "Territorio",
    options,
    key=PICKER_KEY,
    format_func=labels.__getitem__,
    filter_mode="contains",
    persist_state="session",
    on_change=_sync_url,
    help="Sectores urbanos, luego localidades rurales y el resto rural, por nombre.",
)
if len(order) > shared.PICKER_LIMIT:
    asked = f"«{shared.md_escape(shared.echo(search.strip()))}»"
    if not search.strip():
        st.caption(f"La lista muestra los primeros {shared.PICKER_LIMIT} de {report.format_number(len(order))} "
                   "territorios; busque el suyo arriba.")
    elif not found:
        st.caption(f"Ningún territorio coincide con {asked}.")
    elif found > shared.PICKER_LIMIT:
        st.caption(f"{report.format_number(found)} territorios coinciden con {asked}; la lista muestra los primeros "
                   f"{shared.PICKER_LIMIT}: escriba más para acotarla.")
    else:
        st.caption(f"{report.format_number(found)} territorio{'s' if found != 1 else ''} "
                   f"coincide{'n' if found != 1 else ''} con {asked}.")
if unknown_message:
    shared.warn_ignored([f"{unknown_message} Se muestra «{names[slug]}»; elija su territorio en la lista."])
elif resolved != slug:
    st.query_params["territorio"] = slug  # the address always points to what is shown

# Initiative sites: the most recently imported site layer unless ``?ubicaciones=`` says otherwise.
sites_choice, sites_problem = shared.site_choice(st.query_params.get("ubicaciones"))
if sites_problem:
    shared.warn_ignored([sites_problem])
sites = shared.sites_layer(sites_choice)

try:
    summary = shared.sector_summary(slug, layer_name, sites, version=version)
    commune = shared.layer("comuna")
except SitError as exc:
    st.error(str(exc))
    st.stop()

t = summary.territory
st.header(shared.md_escape(summary.nombre), anchor="territorio")
if alias and resolved == slug:
    st.info(shared.md_escape(census.alias_note(alias)), icon=":material/signpost:")
_precision = pd.to_numeric(pd.Series([t.get("precision_m")]), errors="coerce").iloc[0]
_area = pd.to_numeric(pd.Series([t.get("area_km2")]), errors="coerce").iloc[0]
st.caption(" · ".join(part for part in (
    shared.md_escape(str(t["tipo"]).capitalize()),
    f"{report.format_number(float(_area), 2)} km²" if pd.notna(_area) else "",
    report.population_text(t),
    f"precisión del borde ±{report.format_number(float(_precision))} m" if pd.notna(_precision)
    else "precisión del borde no declarada por la capa",
) if part))

counts = summary.counts
figures = st.container(horizontal=True, gap="medium")  # wraps on a phone instead of stacking five rows
figures.metric("Iniciativas en total", counts["total"], width="content")
for key in sector.GRUPOS:
    figures.metric(shared.md_escape(sector.group_label(key, summary.tipo)), counts[key], width="content")
by_status = summary.initiatives["estado"].value_counts()
st.caption(
    "Estado según el registro de seguimiento: "
    + " · ".join(f"{int(by_status[e])} {shared.md_escape(e)}" for e in ESTADOS if e in by_status.index)
    + ". Cada iniciativa de la lista dice su estado y su avance físico."
)
st.page_link("pages/seguimiento.py", label="Ver el seguimiento del plan: avance, atrasos y semáforo",
             icon=":material/monitoring:")

by = "relacion" if st.session_state.get(GROUPING_KEY, GROUPINGS[0]) == GROUPINGS[0] else "estrategia"
blocks = shared.sector_blocks(slug, layer_name, sites, by=by, version=version)

list_column, map_column = st.columns([2, 3], gap="large")
# The map's column is filled first: its frame then starts loading while the browser draws the lists
# (the columns keep their places; on a phone the list still comes first).
with map_column:
    if webassets.assets_installed():
        map_title = f"Mapa de {summary.nombre} y sus territorios vecinos"

        def _build() -> str:
            territories = shared.layer(layer_name)
            nearby = territories[territories["slug"].isin([slug, *summary.neighbours["slug"]])]
            return mapframe.render(webassets.localize_map(maplocale.prepare(
                sectorview.sector_map(summary, commune, territories, city=shared.city_blocks()),
                title=map_title, territories=nearby,
            )))

        # Rendered once per territory and store version for every visitor (views.mapframe).
        map_key = ("sector", version, webassets.base_url_path(), layer_name, slug, sites)
        shared.show_map(mapframe.DOCUMENTS.frame(map_key, _build, webassets.base_url_path(),
                                                 generation=version), MAP_HEIGHT, map_title)
    else:
        st.error(webassets.missing_assets_message())
    st.page_link("pages/mapa.py", label="Ver este territorio en el mapa del plan", icon=":material/map:",
                 query_params={"territorio": slug, **({"capa": layer_name}
                                                      if layer_name != shared.DEFAULT_TERRITORY_LAYER else {})})

with list_column:  # first on a phone: what is specific to this territory
    st.subheader("Lo que el plan dice de este territorio", anchor="iniciativas")
    st.radio("Agrupar por", GROUPINGS, key=GROUPING_KEY, horizontal=True)
    st.html(report.sector_lists_css())  # a style element only: it takes no room
    if by == "relacion":
        general = []
        for group, block in zip(summary.by_relation, blocks):
            if group.key in SPECIFIC_GROUPS:
                st.html(block)
            else:
                general.append((group, block))
        if not any(g.key in SPECIFIC_GROUPS for g in summary.by_relation):
            st.markdown("El plan no nombra iniciativas propias de este territorio; le conciernen las de toda "
                        "la comuna y las de su tipo de territorio, más abajo.")
    else:
        general = list(zip(summary.by_strategy, blocks))

# The initiatives that concern every territory of the commune (or of its kind), folded.
for group, block in general:
    with st.expander(f"{shared.md_escape(group.label)} ({group.n})"):
        st.html(block)

st.subheader(f"Territorios vecinos ({len(summary.neighbours)})", anchor=False)
if len(summary.neighbours):
    st.pills(
        "Territorios que comparten un borde con este; elija uno para verlo",
        list(summary.neighbours["slug"]),
        format_func=lambda s: shared.md_escape(names.get(s, s)),  # pill labels are Markdown
        key=f"vecino_{slug}",
        on_change=_go_to,
        args=(f"vecino_{slug}",),
        wrap=True,
    )
else:
    st.markdown("Este territorio no comparte bordes con otros territorios de la capa.")

st.subheader("Descargas", anchor=False)
st.caption("Cada archivo se genera al pulsar su botón.")


def _file(kind: str):
    """The download of ``kind``, made when the button is pressed (cached per territory and store version)."""
    return lambda: shared.sector_files(slug, layer_name, sites)[kind]


downloads = st.container(horizontal=True)
downloads.download_button(
    "Descargar el territorio y sus iniciativas (GeoPackage)",
    data=_file("gpkg"),
    file_name=f"sector-{slug}.gpkg",
    mime="application/geopackage+sqlite3",
    on_click="ignore",
    icon=":material/download:",
    help="Para QGIS u otro SIG, en WGS 84: el borde del territorio (capa «territorio»), las iniciativas con "
         "lugar, una capa por tipo de geometría, y las que no tienen lugar como tabla «iniciativas_sin_ubicacion». "
         "Cada iniciativa dice por qué concierne al territorio (campos «relacion» y «motivo»).",
)
downloads.download_button(
    "Descargar la lista de iniciativas (CSV)",
    data=_file("csv"),
    file_name=f"sector-{slug}-iniciativas.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/table:",
    help="Todas las iniciativas que conciernen al territorio, con el motivo; se abre en una planilla. "
         "Las que tienen lugar llevan lon, lat y wkt (WGS 84).",
)
downloads.download_button(
    "Descargar el informe imprimible (HTML)",
    data=_file("html"),
    file_name=f"informe-{slug}.html",
    mime="text/html",
    on_click="ignore",
    icon=":material/print:",
    help="Un archivo que se abre sin internet en cualquier navegador y se imprime en A4: "
         "mapa, lista de iniciativas y fuentes.",
)

st.caption(
    f"Fuente del territorio: {shared.md_escape(t['fuente'])} "
    f"Geometría: {shared.md_escape(str(t['fuente_geometria']).rstrip('.'))}. "
    "Iniciativas: PLADECO de Vallenar; límite comunal: DPA 2023 (IDE Chile)."
    + (f" Ubicaciones de las iniciativas: capa importada «{shared.md_escape(shared.sites_label(sites))}»." if sites else "")
)
