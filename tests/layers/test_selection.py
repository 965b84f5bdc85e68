"""The app's selection (layers/selection.py) and the plan tree (layers/planview.py)."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd

from layers import links, planview, query, selection
from layers.exchange import export


def test_clean_filters_normalises_and_reports(shipped):
    raw = {
        "estrategia": ["1", "e3", "9", "1"], "plan": ["e1-p2", "E1-P99"], "tipo": ["proyecto", "obra"],
        "alcance": ["Rural", "regional"], "territorio": ["Domeyko", "domeyco"], "q": "  agua  ",
    }
    state, problems = selection.clean_filters(raw, shipped["territories"])
    assert state == {
        "estrategia": ["E1", "E3"], "plan": ["E1-P2"], "tipo": ["Proyecto"], "alcance": ["rural"],
        "territorio": ["domeyko"], "q": "agua",
    }
    assert len(problems) == 5
    for bad in ("«9»", "«E1-P99»", "«obra»", "«regional»", "«domeyco»"):
        assert any(bad in p for p in problems), bad
    assert any("¿Quiso decir «domeyko»?" in p for p in problems)


def test_clean_filters_accepts_nothing_and_scalars(shipped):
    state, problems = selection.clean_filters({}, shipped["territories"])
    assert state == selection.empty_filters() and problems == []
    state, _ = selection.clean_filters({"estrategia": "2", "q": None}, shipped["territories"])
    assert state["estrategia"] == ["E2"] and state["q"] == ""
    state, problems = selection.clean_filters({"q": "x" * 1000}, shipped["territories"])
    assert len(state["q"]) == selection.MAX_QUERY_CHARS and problems


def test_plans_follow_strategies(shipped):
    plans = shipped["plans"]
    assert selection.plans_of(plans, []) == list(plans["id"])
    assert all(p.startswith("E2-") for p in selection.plans_of(plans, ["E2"]))
    kept, dropped = selection.drop_foreign_plans({"estrategia": ["E1"], "plan": ["E1-P1", "E2-P1"]}, plans)
    assert kept == ["E1-P1"] and dropped == ["E2-P1"]


def test_url_state_and_key():
    state = dict(selection.empty_filters(), estrategia=["E1", "E8"], q="agua")
    assert selection.url_state(state)["estrategia"] == ["1", "8"]
    assert selection.is_filtered(state) and not selection.is_filtered(selection.empty_filters())
    assert selection.state_key(state) == selection.state_key(dict(state))
    hash(selection.state_key(state))


def test_apply_summary_and_table(shipped):
    state = dict(selection.empty_filters(), territorio=["centro"], tipo=["Proyecto"])
    chosen = selection.apply(shipped["initiatives"], shipped["relations"], state, shipped["territories"])
    want = query.filter_initiatives(
        shipped["initiatives"], shipped["relations"], territorio="centro", tipo="Proyecto",
        territories=shipped["territories"],
    )
    assert list(chosen["id"]) == list(want["id"])
    figures = selection.summary(chosen, shipped["relations"])
    assert figures["iniciativas"] == len(want)
    assert figures["ubicadas"] == int(want.geometry.notna().sum())
    names = dict(zip(shipped["strategies"]["id"], shipped["strategies"]["nombre"]))
    table = selection.table(chosen, shipped["relations"], shipped["territories"], names)
    assert list(table.columns) == list(selection.TABLE_COLUMNS)
    sited = table[chosen["geometry"].notna().to_numpy()]
    assert sited["territorios"].str.contains("Centro").all()
    comunal = table[(chosen["alcance"] == "comunal").to_numpy()]
    assert (comunal["territorios"] == "Toda la comuna").all()


def test_download_is_exactly_the_selection(shipped):
    state = dict(selection.empty_filters(), estrategia=["E6"])
    chosen = selection.apply(shipped["initiatives"], shipped["relations"], state, shipped["territories"])
    assert selection.download_formats() == [f for f in ("geojson", "csv", "gpkg") if f in export.FORMATS]
    name, mime, produce = selection.download(chosen, "geojson", "iniciativas_seleccion")
    assert name == "iniciativas_seleccion.geojson" and mime == "application/geo+json"
    data = produce()
    assert data == export.export_bytes(chosen, "geojson", "iniciativas_seleccion")
    back = gpd.read_file(io.BytesIO(data))
    assert list(back["id"]) == list(chosen["id"])


def test_tables_without_geometry_can_be_downloaded(shipped):
    _name, _mime, produce = selection.download(shipped["strategies"], "geojson", "estrategias")
    back = gpd.read_file(io.BytesIO(produce()))
    assert list(back["id"]) == list(shipped["strategies"]["id"]) and back.geometry.isna().all()


def test_plan_tree_counts(shipped):
    tree = planview.plan_tree(shipped["strategies"], shipped["objectives"], shipped["plans"], shipped["initiatives"])
    inits = shipped["initiatives"]
    assert [s["id"] for s in tree] == list(shipped["strategies"]["id"])
    assert sum(s["n"] for s in tree) == len(inits)
    assert sum(s["ubicadas"] for s in tree) == int(inits.geometry.notna().sum())
    listed = [i["id"] for s in tree for p in s["planes"] for top in p["items"] for i in [top, *top["hijos"]]]
    assert sorted(listed) == sorted(inits["id"])
    heads = [top for s in tree for p in s["planes"] for top in p["items"] if top["hijos"]]
    assert heads and all(all(h["id"].startswith(top["id"][:-2]) for h in top["hijos"]) for top in heads)
    assert sum(len(s["objetivos"]) for s in tree) == len(shipped["objectives"])


def test_chart_tables(shipped):
    names = dict(zip(shipped["strategies"]["id"], shipped["strategies"]["nombre"]))
    by_strategy = planview.per_strategy(shipped["initiatives"], names)
    assert by_strategy["n"].sum() == len(shipped["initiatives"])
    assert by_strategy["estrategia"].iloc[0].startswith("1. ")
    by_territory = planview.per_territory(shipped["relations"], shipped["territories"])
    assert by_territory["n"].sum() == len(shipped["relations"].pairs())
    assert set(by_territory["relacion"]) <= set(links.RELACIONES.values())
    assert isinstance(by_territory, pd.DataFrame)
