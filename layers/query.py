"""Filtering the initiatives: the one implementation behind the command line and the app."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from layers import catalogue, census, links
from layers._errors import InvalidFilterError, UnknownTerritoryError
from layers.text import fold as text_fold
from layers.text import slugify as text_slugify

#: Filters of :func:`filter_initiatives`, in display order: its keyword arguments, the
#: app's URL parameters (``?estrategia=1&territorio=domeyko&q=agua``) and, but ``q``,
#: the options of ``cli.py export``. The one list of filter keys.
FILTER_KEYS = ("estrategia", "plan", "tipo", "alcance", "territorio", "q")


def _as_list(value: object) -> list:
    if value is None or value == "" or (isinstance(value, (list, tuple, set)) and not value):
        return []
    if isinstance(value, (list, tuple, set, pd.Series)):
        return [v for v in value if v is not None and v != ""]
    return [value]


def fold(text: object) -> str:
    """Lower case without accents, for accent-insensitive search (``"Agua"`` ~ ``"agüa"``).

    :func:`layers.text.fold` with ``lower=True``; the one rule of accent folding.
    """
    return text_fold(text, lower=True)


#: Similarity (difflib ratio) a known slug needs to be suggested for an unknown one
#: («centr» suggests «centro»; «cementerio» suggests nothing).
SUGGESTION_CUTOFF = 0.8


def typed_slug_forms(slug: str) -> list[str]:
    """The forms a person's territory text is tried in: as given, trimmed in lower case, then as a slug.

    ``"Hermanos Carrera"`` (a name typed with spaces and capitals) is tried as
    ``"hermanos carrera"`` and then ``"hermanos-carrera"`` (:func:`layers.text.slugify`).
    """
    return list(dict.fromkeys(form for form in (slug, slug.strip().lower(), text_slugify(slug)) if form))


def _resolve(slug: str, known: list[str]) -> str:
    """:func:`layers.census.resolve_slug`, also for a slug typed with capitals, accents or spaces."""
    forms = typed_slug_forms(slug) or [slug]
    for form in forms[:-1]:
        try:
            return census.resolve_slug(form, known)
        except UnknownTerritoryError:
            continue
    return census.resolve_slug(forms[-1], known)


def check_territories(slugs: Iterable[str], territories: gpd.GeoDataFrame | Iterable[str]) -> list[str]:
    """The territory slug each of ``slugs`` names in ``territories`` (a territory layer, or its slugs).

    A slug of the layer names itself (also typed with capitals). A former slug (an urban sector of the referential
    layer the census zones replaced, or a named place) names the census zone of
    :func:`layers.census.resolve_slug` when that zone is in the layer; with an imported
    layer the old slugs name nothing.

    Returns
    -------
    list of str
        Slugs of ``territories``, in the order given.

    Raises
    ------
    UnknownTerritoryError
        For the first slug that names no territory (``data``: ``slug``, ``suggestion``).
    """
    known = list(territories["slug"] if isinstance(territories, pd.DataFrame) else territories)
    out = []
    for slug in slugs:
        try:
            out.append(_resolve(str(slug), known))
        except UnknownTerritoryError:
            close = difflib.get_close_matches(str(slug).strip().lower(), known, n=1, cutoff=SUGGESTION_CUTOFF)
            hint = f" ¿Quiso decir «{close[0]}»?" if close else ""
            raise UnknownTerritoryError(
                f"Territorio desconocido: «{slug}».{hint}", slug=str(slug), suggestion=close[0] if close else None
            ) from None
    return out


def check_scopes(values: Iterable[str]) -> list[str]:
    out = []
    for value in values:
        v = str(value).strip().lower()
        if v not in links.ALCANCES:
            raise InvalidFilterError(
                f"Alcance desconocido: «{value}». Use uno de: {', '.join(links.ALCANCES)}.",
                code="unknown_scope", value=str(value), known=list(links.ALCANCES),
            )
        out.append(v)
    return out


def filter_initiatives(
    initiatives: gpd.GeoDataFrame,
    relations: links.Relations | None = None,
    *,
    territorio: str | Iterable[str] | None = None,
    estrategia: object = None,
    plan: object = None,
    tipo: object = None,
    alcance: object = None,
    q: str | None = None,
    territories: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Initiatives that pass every given filter (filters combine with AND, values within one with OR).

    Parameters
    ----------
    initiatives : geopandas.GeoDataFrame
        The initiatives layer.
    relations : layers.links.Relations, optional
        Output of :func:`layers.links.relate` for the active territory layer;
        required when filtering by territory. Scope-wide initiatives are matched by
        the rule (:meth:`layers.links.Relations.ids_concerning`), never by materialised rows.
    territorio : str or iterable of str, optional
        Territory slugs (or former slugs, see :func:`check_territories`): keeps
        initiatives sited in or crossing them, linked to them, or whose scope covers
        them (comunal; urbano for urban sectors; rural for rural territories).
    estrategia, plan, tipo, alcance : scalar or iterable, optional
        Strategy (``1`` or ``"E1"``), plan (``"E1-P3"``), type (``"Proyecto"``)
        and scope values; unknown values raise :class:`InvalidFilterError`.
    q : str, optional
        Words searched in the names, case- and accent-insensitive (all must appear).
    territories : geopandas.GeoDataFrame, optional
        Territory layer used to check slugs (defaults to the territories of ``relations``).

    Returns
    -------
    geopandas.GeoDataFrame
        The selected rows, in the layer's order.
    """
    mask = pd.Series(True, index=initiatives.index)
    strategies = [catalogue.strategy_id(v) for v in _as_list(estrategia)]
    if strategies:
        mask &= initiatives["estrategia"].isin(strategies)
    plans = [catalogue.plan_id(v) for v in _as_list(plan)]
    if plans:
        mask &= initiatives["plan"].isin(plans)
    tipos = [catalogue.tipo_value(v) for v in _as_list(tipo)]
    if tipos:
        mask &= initiatives["tipo"].isin(tipos)
    scopes = check_scopes(_as_list(alcance))
    if scopes:
        mask &= initiatives["alcance"].isin(scopes)
    slugs = _as_list(territorio)
    if slugs:
        if relations is None:
            raise ValueError("filtering by territory needs the relations table")
        layer = territories if territories is not None else pd.DataFrame({"slug": relations.slugs})
        slugs = check_territories(slugs, layer)
        mask &= links.isin(initiatives["id"], relations.ids_concerning(slugs))
    words = fold(q or "").split()
    if words:
        haystack = (initiatives["nombre"].fillna("") + " " + initiatives["nombre_original"].fillna("")).map(fold)
        for word in words:
            mask &= haystack.str.contains(word, regex=False)
    return initiatives[mask]
