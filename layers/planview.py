"""The plan read as a tree, with counts: strategies, objectives, plans, programmes and their rows.

Builds plain data structures (lists of dicts, tables) for the plan page and its
charts; no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from layers import links


def _is_sited(initiatives: gpd.GeoDataFrame) -> pd.Series:
    geom = initiatives.geometry
    return (geom.notna() & ~geom.is_empty).astype(bool)


def _has_parent(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def plan_tree(
    strategies: pd.DataFrame,
    objectives: pd.DataFrame,
    plans: pd.DataFrame,
    initiatives: gpd.GeoDataFrame,
) -> list[dict[str, object]]:
    """The plan as nested dicts, in the order of the plan text.

    Parameters
    ----------
    strategies, objectives, plans : pandas.DataFrame
        Catalogue tables (see :mod:`layers.catalogue`).
    initiatives : geopandas.GeoDataFrame
        The initiatives layer (fields of :data:`layers.initiatives.FIELDS`).

    Returns
    -------
    list of dict
        One dict per strategy: ``id``, ``numero``, ``nombre``, ``objetivos`` (list of
        str), ``n`` (initiatives), ``ubicadas`` (sited) and ``planes``; each plan:
        ``id``, ``nombre``, ``n``, ``ubicadas``, ``items``; each item: ``id``,
        ``tipo``, ``nombre``, ``alcance``, ``ubicada`` (bool), ``hijos`` (items
        whose ``padre`` is this programme), ``n`` and ``ubicadas`` counting the
        programme and its children.
    """
    inits = initiatives.assign(sited_=_is_sited(initiatives).to_numpy())
    by_parent: dict[str, list[dict[str, object]]] = {}
    rows: dict[str, list[dict[str, object]]] = {}
    for row in inits.itertuples(index=False):
        item = {
            "id": row.id, "tipo": row.tipo, "nombre": row.nombre, "alcance": row.alcance,
            "ubicada": bool(row.sited_), "hijos": [],
        }
        if _has_parent(row.padre):
            by_parent.setdefault(row.padre, []).append(item)
        else:
            rows.setdefault(row.plan, []).append(item)
    for items in rows.values():
        for item in items:
            item["hijos"] = by_parent.get(item["id"], [])
            item["n"] = 1 + len(item["hijos"])
            item["ubicadas"] = int(item["ubicada"]) + sum(int(h["ubicada"]) for h in item["hijos"])
    tree = []
    for s in strategies.sort_values("numero").itertuples(index=False):
        objs = objectives.loc[objectives["estrategia"] == s.id].sort_values("numero")["objetivo"].tolist()
        plan_nodes = []
        for p in plans.loc[plans["estrategia"] == s.id].sort_values("numero").itertuples(index=False):
            items = rows.get(p.id, [])
            plan_nodes.append({
                "id": p.id, "nombre": p.nombre, "items": items,
                "n": sum(i["n"] for i in items), "ubicadas": sum(i["ubicadas"] for i in items),
            })
        tree.append({
            "id": s.id, "numero": int(s.numero), "nombre": s.nombre, "objetivos": objs, "planes": plan_nodes,
            "n": sum(p["n"] for p in plan_nodes), "ubicadas": sum(p["ubicadas"] for p in plan_nodes),
        })
    return tree


def per_strategy(initiatives: gpd.GeoDataFrame, strategies: Mapping[str, str]) -> pd.DataFrame:
    """Initiatives per strategy, split into sited and not sited (long table for a stacked chart).

    Returns
    -------
    pandas.DataFrame
        ``estrategia`` (``"1. Desarrollo Territorial"``), ``orden`` (int), ``ubicacion``
        (``"Ubicada en el mapa"`` / ``"Sin ubicación"``), ``n``.
    """
    sited = _is_sited(initiatives).map({True: "Ubicada en el mapa", False: "Sin ubicación"})
    table = (
        pd.DataFrame({"sid": initiatives["estrategia"].astype(str).to_numpy(), "ubicacion": sited.to_numpy()})
        .groupby(["sid", "ubicacion"]).size().rename("n").reset_index()
    )
    order = {sid: i for i, sid in enumerate(strategies)}
    table["orden"] = table["sid"].map(order).fillna(len(order)).astype(int)
    table["estrategia"] = [f"{sid[1:] if sid.startswith('E') else sid}. {strategies.get(sid, sid)}" for sid in table["sid"]]
    return table.sort_values(["orden", "ubicacion"])[["estrategia", "orden", "ubicacion", "n"]].reset_index(drop=True)


def per_territory(relations: links.Relations, territories: pd.DataFrame) -> pd.DataFrame:
    """Initiatives concerning each territory, by relation (long table for a stacked chart).

    Counted by :meth:`layers.links.Relations.counts` (scope-wide ones by rule, not rows).

    Returns
    -------
    pandas.DataFrame
        ``territorio`` (name), ``orden`` (layer order), ``relacion`` (label of
        :data:`layers.links.RELACIONES`), ``orden_relacion`` (rank of the relation,
        most specific first), ``n``; territories with no relation are absent.
    """
    names = territories.set_index("slug")["nombre"]
    order = {slug: i for i, slug in enumerate(territories["slug"])}
    table = relations.counts(slugs=territories["slug"]).rename_axis(columns="relacion").stack().rename("n").reset_index()
    table = table[(table["n"] > 0) & table["slug"].isin(names.index)]
    table["territorio"] = table["slug"].map(names).astype(str)
    table["orden"] = table["slug"].map(order).astype(int)
    rank = {rel: i for i, rel in enumerate(links.RELACIONES)}
    table["orden_relacion"] = table["relacion"].map(rank).fillna(len(rank)).astype(int)
    table["relacion"] = table["relacion"].map(links.RELACIONES).fillna(table["relacion"])
    columns = ["territorio", "orden", "relacion", "orden_relacion", "n"]
    return table.sort_values(["orden", "orden_relacion"])[columns].reset_index(drop=True)
