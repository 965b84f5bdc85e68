"""A fair naive Streamlit + folium version of the plan's map, the baseline of ``bench/bench_app.py``.

What a competent developer writes in an afternoon with the same libraries, reading the
same store (``$SIT_DATA_DIR/sit_vallenar.gpkg``) and showing the same things:

- ``/mapa``: filters by strategy, plan, type, scope, territory and text (first values
  from the link, ``?estrategia=1&q=agua&capa=LAYER&ubicaciones=LAYER``), three figures,
  a folium map with the commune, the census blocks, the territories coloured by how many
  initiatives of the selection are their own (sited in them or linked by name) and the
  sited initiatives of the selection, **each layer one** ``folium.GeoJson`` **with
  popups**, rendered with ``st_folium``; then the table of the selection.
- ``/capas``: the layers of the store and their sizes (no map).
- ``/sector?territorio=SLUG``: the territory, its neighbours and the sited initiatives
  that concern it (one ``GeoJson`` each), and the list of what concerns it by strategy.

Leaflet comes from the app's own ``static/`` folder (:func:`views.webassets.localize_map`),
no tiles, so the map needs no internet, like the product's. The only caches are
``st.cache_data`` on reading layers from the file (keyed on its modification time); no
other optimisation (no simplification, no rounding, no reuse of the map between reruns).
The relation rule is the product's, written plainly: an initiative concerns a territory
when its site intersects it, when the plan names it, or by scope (``comunal`` every
territory, ``urbano`` the urban ones, ``rural`` the rural ones).
"""

from __future__ import annotations

import os
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pyogrio
import streamlit as st
from streamlit_folium import st_folium

from views import webassets

URBAN_TYPES = {"sector urbano"}
MAP_HEIGHT = 580


@st.cache_data(show_spinner=False)
def read_layer(path: str, name: str, mtime: float) -> gpd.GeoDataFrame | pd.DataFrame:
    """One layer of the store (``mtime`` is the store file's, so an import reloads it)."""
    return gpd.read_file(path, layer=name, engine="pyogrio")


def store_path() -> Path:
    """The store file of ``SIT_DATA_DIR`` (read when a page runs)."""
    return Path(os.environ.get("SIT_DATA_DIR", "var")) / "sit_vallenar.gpkg"


def layer(name: str):
    path = store_path()
    return read_layer(str(path), name, path.stat().st_mtime)


def initiatives(sites: str | None) -> gpd.GeoDataFrame:
    """The catalogue with the geometries of a site layer laid over it (by id)."""
    frame = layer("iniciativas").copy()
    if sites:
        by_id = layer(sites).drop_duplicates("id", keep="last").set_index("id").geometry
        hit = frame["id"].isin(by_id.index)
        frame.loc[hit, "geometry"] = by_id.reindex(frame.loc[hit, "id"]).to_numpy()
    return frame


def params() -> tuple[str, str | None]:
    layer_name = st.query_params.get("capa") or "territorios"
    return layer_name, st.query_params.get("ubicaciones") or None


def own_pairs(inits: gpd.GeoDataFrame, terr: gpd.GeoDataFrame) -> pd.DataFrame:
    """(id, slug) pairs of initiatives sited in a territory or named by the plan for it."""
    sited = inits[inits.geometry.notna() & ~inits.geometry.is_empty][["id", "geometry"]]
    joined = gpd.sjoin(sited, terr[["slug", "geometry"]], predicate="intersects")[["id", "slug"]]
    named = inits[["id", "territorios"]].assign(slug=inits["territorios"].fillna("").str.split(";"))
    named = named.explode("slug")
    named = named[named["slug"].isin(set(terr["slug"]))][["id", "slug"]]
    return pd.concat([joined, named]).drop_duplicates()


def concerns(inits: gpd.GeoDataFrame, terr: gpd.GeoDataFrame, slugs: list[str]) -> pd.Series:
    """Boolean mask of the initiatives that concern any of ``slugs``."""
    chosen = terr[terr["slug"].isin(slugs)]
    pairs = own_pairs(inits, chosen)
    mask = inits["id"].isin(set(pairs["id"])) | (inits["alcance"] == "comunal")
    if chosen["tipo"].isin(URBAN_TYPES).any():
        mask |= inits["alcance"] == "urbano"
    if (~chosen["tipo"].isin(URBAN_TYPES)).any():
        mask |= inits["alcance"] == "rural"
    return mask


def url_list(key: str) -> list[str]:
    return [v.strip() for raw in st.query_params.get_all(key) for v in raw.split(",") if v.strip()]


def map_page() -> None:
    st.title("Mapa del plan")
    layer_name, sites = params()
    terr = layer(layer_name)
    inits = initiatives(sites)
    plans = layer("planes")
    with st.sidebar:
        st.header("Filtros")
        est = st.multiselect("Estrategia", sorted(inits["estrategia"].unique()),
                             default=[f"E{v.lstrip('E')}" for v in url_list("estrategia")])
        plan = st.multiselect("Plan", list(plans["id"]), default=[p for p in url_list("plan") if p in set(plans["id"])])
        tipo = st.multiselect("Tipo", sorted(inits["tipo"].unique()), default=url_list("tipo"))
        alcance = st.multiselect("Alcance", sorted(inits["alcance"].unique()), default=url_list("alcance"))
        territorio = st.multiselect("Territorio", list(terr["slug"]),
                                    default=[s for s in url_list("territorio") if s in set(terr["slug"])])
        q = st.text_input("Buscar en los nombres", value=st.query_params.get("q", ""))
    mask = pd.Series(True, index=inits.index)
    if est:
        mask &= inits["estrategia"].isin(est)
    if plan:
        mask &= inits["plan"].isin(plan)
    if tipo:
        mask &= inits["tipo"].isin(tipo)
    if alcance:
        mask &= inits["alcance"].isin(alcance)
    if territorio:
        mask &= concerns(inits, terr, territorio)
    if q.strip():
        mask &= inits["nombre"].str.contains(q.strip(), case=False, regex=False)
    selected = inits[mask]
    pairs = own_pairs(selected, terr)
    counts = pairs.groupby("slug").size()
    sited = selected[selected.geometry.notna() & ~selected.geometry.is_empty]
    cols = st.columns(3)
    cols[0].metric("Iniciativas", len(selected))
    cols[1].metric("Con lugar en el mapa", len(sited))
    cols[2].metric("Sectores y localidades donde aplican", int(pairs["slug"].nunique()))

    m = folium.Map(tiles=None, control_scale=True)
    folium.GeoJson(layer("comuna"), name="Comuna", style_function=lambda f: {"fill": False, "color": "#333"}).add_to(m)
    folium.GeoJson(layer("manzanas"), name="Manzanas",
                   style_function=lambda f: {"color": "#999", "weight": 0.5, "fillOpacity": 0.05}).add_to(m)
    shown = terr.assign(iniciativas=terr["slug"].map(counts).fillna(0).astype(int))
    top = max(1, int(shown["iniciativas"].max()))
    folium.GeoJson(
        shown, name="Territorios",
        style_function=lambda f: {"color": "#555", "weight": 1, "fillColor": "#08519c",
                                  "fillOpacity": 0.1 + 0.6 * f["properties"]["iniciativas"] / top},
        popup=folium.GeoJsonPopup(fields=["nombre", "slug", "iniciativas"]),
    ).add_to(m)
    _add_sited(m, sited)
    m.fit_bounds(_bounds(terr))
    folium.LayerControl().add_to(m)
    st_folium(webassets.localize_map(m), height=MAP_HEIGHT, use_container_width=True, returned_objects=[])
    st.subheader("Iniciativas seleccionadas")
    st.dataframe(selected[["id", "tipo", "nombre", "estrategia", "plan", "alcance", "territorios"]], hide_index=True)


def _add_sited(m: folium.Map, sited: gpd.GeoDataFrame) -> None:
    """The sited initiatives as one folium.GeoJson with popups (circle markers for points)."""
    if not sited.empty:
        folium.GeoJson(
            sited[["id", "nombre", "estrategia", "alcance", "geometry"]], name="Iniciativas",
            marker=folium.CircleMarker(radius=5, color="#d95f02", fill=True),
            popup=folium.GeoJsonPopup(fields=["id", "nombre", "estrategia", "alcance"]),
        ).add_to(m)


def _bounds(frame: gpd.GeoDataFrame) -> list[list[float]]:
    xmin, ymin, xmax, ymax = frame.total_bounds
    return [[ymin, xmin], [ymax, xmax]]


def layers_page() -> None:
    st.title("Capas")
    rows = []
    path = store_path()
    for name, geom_type in pyogrio.list_layers(path):
        if not str(name).startswith("sit_"):
            rows.append({"capa": name, "geometría": geom_type or "tabla",
                         "elementos": pyogrio.read_info(path, layer=name)["features"]})
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def sector_page() -> None:
    layer_name, sites = params()
    terr = layer(layer_name)
    slug = st.query_params.get("territorio") or terr["slug"].iloc[0]
    if slug not in set(terr["slug"]):
        st.error("Territorio desconocido.")
        return
    me = terr[terr["slug"] == slug]
    st.title(me["nombre"].iloc[0])
    inits = initiatives(sites)
    concerned = inits[concerns(inits, terr, [slug])]
    neighbours = terr[terr.geometry.touches(me.geometry.iloc[0])]
    sited = concerned[concerned.geometry.notna() & ~concerned.geometry.is_empty]
    m = folium.Map(tiles=None)
    folium.GeoJson(neighbours, name="Vecinos", style_function=lambda f: {"color": "#888", "fillOpacity": 0.05},
                   popup=folium.GeoJsonPopup(fields=["nombre", "slug"])).add_to(m)
    folium.GeoJson(me, name="Territorio", style_function=lambda f: {"color": "#08519c", "weight": 3},
                   popup=folium.GeoJsonPopup(fields=["nombre", "slug"])).add_to(m)
    _add_sited(m, sited)
    m.fit_bounds(_bounds(me))
    folium.LayerControl().add_to(m)
    st_folium(webassets.localize_map(m), height=MAP_HEIGHT, use_container_width=True, returned_objects=[])
    st.subheader(f"{len(concerned)} iniciativas conciernen a este territorio")
    for strategy, group in concerned.groupby("estrategia_nombre"):
        st.markdown(f"**{strategy}**")
        st.markdown("\n".join(f"- {row.id} · {row.nombre} ({row.alcance})" for row in group.itertuples()))


def home_page() -> None:
    st.title("SIT ingenuo")
    st.markdown("Versión ingenua del mapa del plan, para comparar (bench/bench_app.py).")


if __name__ == "__main__":  # ``streamlit run``; tests import the pages
    st.set_page_config(page_title="SIT ingenuo", layout="wide")
    # Streamlit serves the default page at the root, so the map is not the default (as in the product).
    st.navigation([
        st.Page(home_page, title="Inicio", url_path="inicio", default=True),
        st.Page(map_page, title="Mapa", url_path="mapa"),
        st.Page(layers_page, title="Capas", url_path="capas"),
        st.Page(sector_page, title="Sector", url_path="sector"),
    ]).run()
