"""One territory seen from the inside: what the plan does there, and who its neighbours are.

A neighbourhood committee opens *its* sector: :func:`sector_summary` gathers the
territory, the territories that share an edge with it, and every initiative of
the plan that concerns it, grouped by how it concerns it (sited there, linked to
it by name, a programme for every urban or rural territory, or commune-wide) and
by strategy. The page ``pages/sector.py`` and the printable report
(:mod:`views.report`) both draw from this one summary.

Initiatives of ``extracomunal`` scope (outside the commune) never concern a
territory and never appear here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import UTM19S
from layers import links
from layers import territories as territories_mod
from layers.query import check_territories, fold

#: Groups of the initiatives of a territory, from the most to the least specific:
#: key -> label for people. ``programa`` gathers the urbano and rural relations
#: (a territory is only ever one of the two).
GRUPOS: dict[str, str] = {
    "ubicada": "Con lugar en este territorio",
    "vinculada": "Nombran este territorio",
    "programa": "Programas urbanos o rurales",
    "comunal": "Para toda la comuna",
}
#: Relation (see :data:`layers.links.RELACIONES`) -> group of :data:`GRUPOS`.
GRUPO_DE_RELACION: dict[str, str] = {
    "ubicada": "ubicada",
    "vinculada": "vinculada",
    "urbano": "programa",
    "rural": "programa",
    "comunal": "comunal",
}
#: One-line explanation of each group, for people.
EXPLICACION: dict[str, str] = {
    "ubicada": "Iniciativas con una ubicación dentro del territorio (cada una indica de dónde viene su geometría).",
    "vinculada": "Iniciativas sin ubicación que el plan asocia por nombre a este territorio.",
    "programa": "Iniciativas que el plan dirige a todos los territorios de su tipo.",
    "comunal": "Iniciativas que abarcan toda la comuna.",
}

#: Two territories are neighbours when this much of the boundary of one (m, EPSG:32719)...
#: (a shared corner alone gives about 1 m: twice the tolerance below)
MIN_SHARED_EDGE_M = 5.0
#: ...lies within this distance (m) of the other: absorbs the rounding of coordinates.
EDGE_TOLERANCE_M = 0.5


@dataclass(frozen=True)
class Group:
    """Initiatives of one group (relation or strategy), in catalogue order."""

    key: str
    label: str
    initiatives: gpd.GeoDataFrame

    @property
    def n(self) -> int:
        return len(self.initiatives)


@dataclass(frozen=True)
class SectorSummary:
    """Everything the plan says about one territory.

    Attributes
    ----------
    slug : str
        The territory's identifier.
    territory : pandas.Series
        Its row of the territory layer (``nombre``, ``tipo``, ``fuente``,
        ``precision_m``, ``area_km2``, ``geometry`` in EPSG:4326...).
    neighbours : geopandas.GeoDataFrame
        Territories sharing an edge with it (EPSG:4326), ordered by ``tipo`` then
        ``nombre``, with ``borde_m``: length of the shared edge in metres (EPSG:32719).
    initiatives : geopandas.GeoDataFrame
        The initiatives that concern it, in catalogue order, with ``relacion`` (one
        of :data:`layers.links.RELACIONES`) and ``grupo`` (one of :data:`GRUPOS`).
    by_relation : list of Group
        Non-empty groups of :data:`GRUPOS`, in that order; the ``programa`` label
        says ``urbanos`` or ``rurales`` after the territory's kind.
    by_strategy : list of Group
        One group per strategy with initiatives here (key ``"E1"``), in strategy order.
    counts : dict of str to int
        ``total`` and one count per key of :data:`GRUPOS` (zero when empty).
    """

    slug: str
    territory: pd.Series
    neighbours: gpd.GeoDataFrame
    initiatives: gpd.GeoDataFrame
    by_relation: list[Group] = field(default_factory=list)
    by_strategy: list[Group] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def nombre(self) -> str:
        return str(self.territory["nombre"])

    @property
    def tipo(self) -> str:
        return str(self.territory["tipo"])

    @property
    def sited(self) -> gpd.GeoDataFrame:
        """Initiatives here that have a geometry (whatever their relation)."""
        inits = self.initiatives
        return inits[inits.geometry.notna() & ~inits.geometry.is_empty]


def territory_order(territories: pd.DataFrame) -> list[str]:
    """Slugs sorted by ``tipo`` (urban sectors, rural localities, remainder) then by name.

    Parameters
    ----------
    territories : pandas.DataFrame
        Territory layer with ``slug``, ``nombre`` and ``tipo``.

    Returns
    -------
    list of str
        The slugs, in the order a picker shows them.
    """
    rank = {t: i for i, t in enumerate(territories_mod.TIPOS_TERRITORIO)}
    frame = pd.DataFrame({
        "slug": territories["slug"].astype(str),
        "_t": territories["tipo"].map(rank).fillna(len(rank)),
        "_n": territories["nombre"].astype(str).map(fold),
    })
    return list(frame.sort_values(["_t", "_n", "slug"])["slug"])


def neighbours(slug: str, territories: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Territories that share an edge (not just a corner) with ``slug``.

    Measured in EPSG:32719: a territory is a neighbour when at least
    :data:`MIN_SHARED_EDGE_M` metres of the boundary of ``slug`` lie within
    :data:`EDGE_TOLERANCE_M` of it.

    Parameters
    ----------
    slug : str
        An existing territory slug.
    territories : geopandas.GeoDataFrame
        Territory layer (any CRS) with ``slug``, ``nombre``, ``tipo``.

    Returns
    -------
    geopandas.GeoDataFrame
        The neighbour rows (CRS of ``territories``), plus ``borde_m`` (float, metres),
        ordered as :func:`territory_order`.
    """
    metric = territories.geometry.to_crs(UTM19S).array
    index = np.flatnonzero(territories["slug"].to_numpy() == slug)[0]
    own = metric[index]
    tree = shapely.STRtree(metric)
    candidates = tree.query(shapely.buffer(own, EDGE_TOLERANCE_M), predicate="intersects")
    candidates = candidates[candidates != index]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(own), shapely.buffer(metric[candidates], EDGE_TOLERANCE_M))
    )
    keep = candidates[shared >= MIN_SHARED_EDGE_M]
    out = territories.iloc[keep].copy()
    out["borde_m"] = np.round(shared[shared >= MIN_SHARED_EDGE_M], 1)
    order = territory_order(out) if len(out) else []
    return out.set_index("slug", drop=False).loc[order].reset_index(drop=True)


def _programa_label(tipo: str) -> str:
    if territories_mod.is_urban(tipo):
        return "Programas urbanos"
    if territories_mod.is_rural(tipo):
        return "Programas rurales"
    return GRUPOS["programa"]


def group_label(key: str, tipo: str | None = None) -> str:
    """Label of a group of :data:`GRUPOS`; ``programa`` is precise when ``tipo`` is known."""
    if key == "programa" and tipo is not None:
        return _programa_label(tipo)
    return GRUPOS[key]


def sector_summary(
    slug: str,
    initiatives: gpd.GeoDataFrame,
    territories: gpd.GeoDataFrame,
    relations: links.Relations,
    strategies: pd.DataFrame | None = None,
    monitoring: pd.DataFrame | None = None,
) -> SectorSummary:
    """Gather what the plan does in one territory.

    Parameters
    ----------
    slug : str
        Territory slug (``"domeyko"``).
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (EPSG:4326).
    territories : geopandas.GeoDataFrame
        Territory layer the relations were computed against (EPSG:4326).
    relations : layers.links.Relations
        Output of :func:`layers.links.relate` for ``territories``; only this
        territory's pairs are materialised (:meth:`layers.links.Relations.of_territory`).
    strategies : pandas.DataFrame, optional
        Strategies table (``id``, ``numero``, ``nombre``) giving the strategy order;
        otherwise strategies sort by their id's number.
    monitoring : pandas.DataFrame, optional
        Monitoring values indexed by initiative id (``estado``, ``avance_fisico``), see
        :func:`with_status`; by default the current values of the store's monitoring record.

    Returns
    -------
    SectorSummary
        Its initiatives carry ``estado`` and ``avance_fisico`` (per cent, NaN when not recorded).

    Raises
    ------
    layers._errors.UnknownTerritoryError
        When ``slug`` is not in ``territories`` (Spanish message with a suggestion).
    """
    check_territories([slug], territories)
    territory = territories.loc[territories["slug"] == slug].iloc[0]

    rel = relations.of_territory(slug)
    inits = initiatives[initiatives["alcance"] != "extracomunal"]
    inits = inits.merge(rel, on="id", how="inner", sort=False)
    # Keep the catalogue order of the layer.
    order = {i: n for n, i in enumerate(initiatives["id"])}
    inits = inits.assign(_o=inits["id"].map(order)).sort_values("_o").drop(columns="_o")
    inits["grupo"] = inits["relacion"].map(GRUPO_DE_RELACION)
    inits = with_status(inits, monitoring)
    inits = gpd.GeoDataFrame(inits.reset_index(drop=True), geometry=initiatives.geometry.name, crs=initiatives.crs)

    tipo = str(territory["tipo"])
    by_relation = [
        Group(key, group_label(key, tipo), inits[inits["grupo"] == key])
        for key in GRUPOS
        if (inits["grupo"] == key).any()
    ]
    by_strategy = [
        Group(sid, name, inits[inits["estrategia"] == sid])
        for sid, name in _strategy_names(inits, strategies).items()
    ]
    counts = {"total": len(inits), **{key: int((inits["grupo"] == key).sum()) for key in GRUPOS}}
    return SectorSummary(
        slug=slug,
        territory=territory,
        neighbours=neighbours(slug, territories),
        initiatives=inits,
        by_relation=by_relation,
        by_strategy=by_strategy,
        counts=counts,
    )


def with_status(initiatives: pd.DataFrame, monitoring: pd.DataFrame | None = None) -> pd.DataFrame:
    """``initiatives`` with their monitoring status and physical progress as two columns.

    Parameters
    ----------
    initiatives : pandas.DataFrame or geopandas.GeoDataFrame
        Initiatives with ``id`` (geometry, CRS and order are kept).
    monitoring : pandas.DataFrame, optional
        Indexed by initiative id with ``estado`` and ``avance_fisico``
        (:func:`layers.monitoring.history.current_values`); by default the store's
        current values are read.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A copy with ``estado`` (text; ``"sin iniciar"`` where nothing is recorded) and
        ``avance_fisico`` (float, per cent 0–100; NaN where not recorded).
    """
    from layers.monitoring import fields as monitoring_fields
    from layers.monitoring import history

    ids = initiatives["id"].astype(str)
    values = (history.current_values(ids) if monitoring is None else monitoring).reindex(ids)
    out = initiatives.copy()
    estado = values["estado"].to_numpy(dtype=object) if "estado" in values else [None] * len(out)
    out["estado"] = [v if isinstance(v, str) and v else monitoring_fields.ESTADO_INICIAL for v in estado]
    fisico = values["avance_fisico"] if "avance_fisico" in values else pd.Series(np.nan, index=values.index)
    out["avance_fisico"] = pd.to_numeric(fisico, errors="coerce").astype(float).to_numpy()
    return out


def _strategy_names(inits: pd.DataFrame, strategies: pd.DataFrame | None) -> dict[str, str]:
    """Strategy id -> name, for the strategies present in ``inits``, in plan order."""
    present = inits[["estrategia", "estrategia_nombre"]].drop_duplicates("estrategia")
    names: Mapping[str, str] = dict(zip(present["estrategia"], present["estrategia_nombre"].fillna("")))
    if strategies is not None and {"id", "nombre"} <= set(strategies.columns):
        ordered = strategies.sort_values("numero") if "numero" in strategies.columns else strategies
        return {sid: str(name) for sid, name in zip(ordered["id"], ordered["nombre"]) if sid in names}

    def number(sid: str) -> tuple[int, str]:
        digits = "".join(c for c in str(sid) if c.isdigit())
        return (int(digits) if digits else 10**6, str(sid))

    return {sid: str(names[sid]) for sid in sorted(names, key=number)}


def sector_layer(summary: SectorSummary) -> gpd.GeoDataFrame:
    """The initiatives of a territory as a layer to export, with ``relacion``.

    Returns
    -------
    geopandas.GeoDataFrame
        Fields of the initiatives layer plus ``relacion`` (EPSG:4326); rows
        without a known place keep a null geometry.
    """
    return summary.initiatives.drop(columns=["grupo"])


def relation_label(relacion: str) -> str:
    """Spanish label of a relation (``"rural"`` -> ``"Programa rural"``)."""
    return links.RELACIONES.get(relacion, relacion)
