"""The app's selection of initiatives: filter values from people, the selection and its summaries.

Filter values arrive from URLs (``?estrategia=1&territorio=domeyko&q=agua``) and
from widgets. :func:`clean_filters` turns them into catalogue ids and drops the
values nobody knows, each with a Spanish message naming it, so a bad link still
opens the rest of the view. :func:`apply` runs the one filter implementation
(:func:`layers.query.filter_initiatives`); the other functions summarise the
selection for the page (table, figures, downloads).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping

import geopandas as gpd
import pandas as pd

from geo.crs import WGS84
from layers import catalogue, links, query
from layers._errors import SitError
from layers.exchange import export

#: Filter keys, in display order (same as the URL parameters): :data:`layers.query.FILTER_KEYS`.
FILTER_KEYS = query.FILTER_KEYS
#: Longest free-text search kept (characters).
MAX_QUERY_CHARS = 200
#: Export formats offered for the selection, in this order, when :data:`layers.exchange.export.FORMATS` has them.
DOWNLOAD_FORMATS = ("geojson", "csv", "gpkg")
#: Labels of the scopes, for people.
ALCANCE_LABELS = {
    "comunal": "Comunal",
    "urbano": "Urbano",
    "rural": "Rural",
    "territorial": "Territorial (lugares nombrados)",
    "extracomunal": "Fuera de la comuna",
}
#: What the ``territorios`` column of the table says for scope-wide initiatives.
SCOPE_TERRITORIES = {
    "comunal": "Toda la comuna",
    "urbano": "Todos los sectores urbanos",
    "rural": "Todos los territorios rurales",
    "extracomunal": "Fuera de la comuna",
}
#: Columns of the selection table, in order.
TABLE_COLUMNS = ("id", "tipo", "nombre", "estrategia", "plan", "alcance", "territorios")


def empty_filters() -> dict[str, list[str] | str]:
    """Filter state with nothing chosen."""
    return {k: ("" if k == "q" else []) for k in FILTER_KEYS}


def _dedupe(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def clean_filters(
    raw: Mapping[str, object],
    territories: pd.DataFrame,
) -> tuple[dict[str, list[str] | str], list[str]]:
    """Normalise filter values given by people; drop unknown ones with a message.

    Parameters
    ----------
    raw : mapping
        Filter key -> list of values (or one value); ``q`` a string. Typically
        :func:`pages._shared.read_query`.
    territories : pandas.DataFrame
        Active territory layer (``slug`` column) to check territory slugs against.

    Returns
    -------
    tuple of (dict, list of str)
        Clean state (strategy ids ``"E1"``, plan ids ``"E1-P3"``, types as in
        :data:`layers.catalogue.TIPOS`, scopes, territory slugs, ``q``) and one
        Spanish message per dropped value.
    """
    state = empty_filters()
    problems: list[str] = []
    checks: dict[str, Callable[[object], str]] = {
        "estrategia": catalogue.strategy_id,
        "plan": catalogue.plan_id,
        "tipo": catalogue.tipo_value,
        "alcance": lambda v: query.check_scopes([v])[0],
    }
    known_slugs: dict[str, object] = {}

    def territory(value: object) -> str:
        if not known_slugs:  # only when a territory is asked for (10,000 slugs in a large layer)
            known_slugs.update((str(s).lower(), s) for s in territories["slug"])
        text = str(value).strip()
        if text.lower() in known_slugs:
            return known_slugs[text.lower()]
        return query.check_territories([text], territories)[0]

    checks["territorio"] = territory
    for key, check in checks.items():
        value = raw.get(key)
        values = value if isinstance(value, (list, tuple)) else ([] if value in (None, "") else [value])
        good = []
        for item in values:
            try:
                good.append(check(item))
            except SitError as exc:
                problems.append(f"Se ignoró un filtro: {exc}")
        state[key] = _dedupe(good)
    q = str(raw.get("q") or "").strip()
    if len(q) > MAX_QUERY_CHARS:
        problems.append(f"La búsqueda se acortó a {MAX_QUERY_CHARS} caracteres.")
        q = q[:MAX_QUERY_CHARS]
    state["q"] = q
    return state, problems


def plans_of(plans: pd.DataFrame, strategies: Iterable[str]) -> list[str]:
    """Plan ids of the given strategies (every plan when none is given), in catalogue order."""
    chosen = set(strategies)
    if not chosen:
        return list(plans["id"])
    return list(plans.loc[plans["estrategia"].isin(chosen), "id"])


def drop_foreign_plans(state: Mapping[str, object], plans: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split the chosen plans into those of the chosen strategies and the others.

    Returns
    -------
    tuple of (list of str, list of str)
        ``(kept, dropped)`` plan ids.
    """
    allowed = set(plans_of(plans, state.get("estrategia") or []))
    chosen = list(state.get("plan") or [])
    return [p for p in chosen if p in allowed], [p for p in chosen if p not in allowed]


def is_filtered(state: Mapping[str, object]) -> bool:
    """True when any filter is set."""
    return any(bool(state.get(k)) for k in FILTER_KEYS)


def url_state(state: Mapping[str, object]) -> dict[str, list[str] | str]:
    """Filter state as written in URLs: strategies as numbers (``1``), the rest as ids."""
    out = dict(state)
    out["estrategia"] = [str(s)[1:] if str(s).startswith("E") else str(s) for s in state.get("estrategia") or []]
    return out


def state_key(state: Mapping[str, object]) -> tuple:
    """Hashable form of a filter state (cache key)."""
    return tuple((k, tuple(state.get(k) or ()) if k != "q" else str(state.get(k) or "")) for k in FILTER_KEYS)


def apply(
    initiatives: gpd.GeoDataFrame,
    relations: links.Relations,
    state: Mapping[str, object],
    territories: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """The initiatives selected by a (clean) filter state.

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer.
    relations : layers.links.Relations
        :func:`layers.links.relate` for the active territory layer.
    state : mapping
        Output of :func:`clean_filters`.
    territories : geopandas.GeoDataFrame
        Active territory layer.

    Returns
    -------
    geopandas.GeoDataFrame
        Selected rows, in catalogue order.
    """
    filters = {key: state.get(key) or None for key in FILTER_KEYS}
    return query.filter_initiatives(initiatives, relations, territories=territories, **filters)


def territory_names(selected: pd.DataFrame, relations: links.Relations, territories: pd.DataFrame) -> pd.Series:
    """What each selected initiative concerns, in words (table column ``territorios``).

    Sited and linked initiatives list the territories' names; scope-wide ones say
    their scope (``Toda la comuna``...).
    """
    names = territories.set_index("slug")["nombre"]
    order = {slug: i for i, slug in enumerate(territories["slug"])}
    specific = relations.specific
    rel = specific[links.isin(specific["id"], selected["id"])]
    rel = rel.assign(_o=rel["slug"].map(order), _n=rel["slug"].map(names)).dropna(subset=["_n"]).sort_values("_o")
    listed = rel.groupby("id")["_n"].agg(", ".join)
    scope = selected["alcance"].map(SCOPE_TERRITORIES)
    out = selected["id"].map(listed)
    out = out.where(out.notna(), scope).fillna("")
    return out


def table(selected: pd.DataFrame, relations: links.Relations, territories: pd.DataFrame, strategies: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The selection as a table for people: :data:`TABLE_COLUMNS`.

    ``estrategia`` and ``plan`` show id and name; ``alcance`` its label;
    ``territorios`` what :func:`territory_names` says.
    """
    strategies = strategies or {}
    out = pd.DataFrame({
        "id": selected["id"].astype(str),
        "tipo": selected["tipo"].astype(str),
        "nombre": selected["nombre"].astype(str),
        "estrategia": [f"{s} · {strategies.get(s, n)}" for s, n in zip(selected["estrategia"], selected["estrategia_nombre"])],
        "plan": [f"{p} · {n}" for p, n in zip(selected["plan"], selected["plan_nombre"])],
        "alcance": selected["alcance"].map(ALCANCE_LABELS).fillna(selected["alcance"]).astype(str),
        "territorios": territory_names(selected, relations, territories).astype(str),
    })
    return out.reset_index(drop=True)


def summary(selected: gpd.GeoDataFrame, relations: links.Relations) -> dict[str, int]:
    """Figures of a selection.

    Returns
    -------
    dict
        ``iniciativas`` (selected), ``ubicadas`` (with a geometry) and
        ``territorios`` (territories of the active layer that at least one selected
        initiative concerns, in any relation).
    """
    sited = selected.geometry.notna() & ~selected.geometry.is_empty
    concerned = len(relations.territories_concerned(selected["id"]))
    return {"iniciativas": int(len(selected)), "ubicadas": int(sited.sum()), "territorios": int(concerned)}


def download_formats(wanted: Iterable[str] = DOWNLOAD_FORMATS) -> list[str]:
    """The formats of ``wanted`` that :data:`layers.exchange.export.FORMATS` offers, in order."""
    return [f for f in wanted if f in export.FORMATS]


def download(frame: gpd.GeoDataFrame, fmt: str, layer: str) -> tuple[str, str, Callable[[], bytes]]:
    """File name, MIME type and a deferred producer of the bytes of a layer in a format.

    The bytes come from :func:`layers.exchange.export.export_bytes`, the writer the
    command line uses; they are produced only when called (on click). Attribute
    tables (no geometry) are written with null geometries.
    """
    fmt = export.check_format(fmt)
    _writer, ext, mime = export.FORMATS[fmt][:3]
    return f"{layer}{ext}", mime, functools.partial(export.export_bytes, exportable(frame), fmt, layer)


def exportable(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A layer ready for :func:`layers.exchange.export.export_bytes`: attribute tables get null geometries (EPSG:4326)."""
    if isinstance(frame, gpd.GeoDataFrame):
        return frame
    return gpd.GeoDataFrame(frame.copy(), geometry=[None] * len(frame), crs=WGS84)


def alcance_label(value: str) -> str:
    """Label of a scope for people."""
    return ALCANCE_LABELS.get(value, value)


def relation_scope_note() -> str:
    """One line explaining what 'concerns a territory' means, for captions."""
    return (
        "Una iniciativa concierne a un territorio si tiene un lugar en él, si el plan lo nombra, "
        "o si vale para toda la comuna, para todos los sectores urbanos o para todos los territorios rurales."
    )

