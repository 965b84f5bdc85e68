"""Streamlit glue shared by the pages: cached loaders and the filter state in the URL.

Loaders are cached on the store's version (a ``stat`` of the GeoPackage), so a
filter change never reads files from disk again; the cache is invalidated only
when the store file is replaced (rebuild or import).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
import streamlit as st

from layers import links, store

#: Filter keys kept in the URL query parameters, in display order.
FILTER_KEYS = ("estrategia", "plan", "tipo", "alcance", "territorio", "q")
#: Default territory layer.
DEFAULT_TERRITORY_LAYER = "territorios"


@st.cache_resource(show_spinner="Preparando el almacén de capas…")
def _ensure_store_once() -> str:
    return str(store.ensure_store())


def store_version() -> int:
    """Version of the store; builds it once per process when needed."""
    _ensure_store_once()
    return store.store_version()


@st.cache_data(show_spinner=False, max_entries=32)
def _read_layer(name: str, version: int) -> pd.DataFrame:
    return store.read_layer(name)


def layer(name: str) -> gpd.GeoDataFrame | pd.DataFrame:
    """A layer or table of the store (cached until the store changes). Do not mutate it."""
    return _read_layer(name, store_version())


@st.cache_data(show_spinner=False, max_entries=8)
def _relations(territory_layer: str, version: int) -> pd.DataFrame:
    reference = _read_layer(DEFAULT_TERRITORY_LAYER, version) if territory_layer != DEFAULT_TERRITORY_LAYER else None
    return links.relate(_read_layer("iniciativas", version), _read_layer(territory_layer, version), reference)


def relations(territory_layer: str = DEFAULT_TERRITORY_LAYER) -> pd.DataFrame:
    """(initiative, territory, relation) pairs for a territory layer (cached)."""
    return _relations(territory_layer, store_version())


def registry() -> pd.DataFrame:
    """Registry of layers (cached on the store version)."""
    return _registry(store_version())


@st.cache_data(show_spinner=False, max_entries=4)
def _registry(version: int) -> pd.DataFrame:
    return store.list_layers()


def territory_layers() -> list[str]:
    """Names of the layers usable as territories, the shipped one first."""
    reg = registry()
    names = list(reg.loc[reg["clase"] == "territorios", "nombre"])
    return sorted(names, key=lambda n: (n != DEFAULT_TERRITORY_LAYER, n))


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
    current = {k: ",".join(st.query_params.get_all(k)) for k in st.query_params.keys()}
    if current != wanted:
        st.query_params.from_dict(wanted)
