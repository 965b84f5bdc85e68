"""Figures of the public-account report against a fixture worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest

from layers import links
from layers.monitoring import report

TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def figures(joined):
    relations = links.Relations(  # A1 sited in t1, C1 linked to t1, B1 commune-wide
        specific=pd.DataFrame([("A1", "t1", "ubicada"), ("C1", "t1", "vinculada")], columns=["id", "slug", "relacion"]),
        scoped=pd.DataFrame({"id": ["B1"], "alcance": ["comunal"]}),
        cover=pd.DataFrame({"urbano": [False, False], "rural": [False, False], "comunal": [True, True]},
                           index=pd.Index(["t1", "t2"], name="slug")),
    )
    territories = pd.DataFrame({"slug": ["t1", "t2"], "nombre": ["Centro", "Domeyko"]})
    return report.public_account(joined, relations, territories, 2026, today=TODAY)


def test_reference_date():
    assert report.reference_date(2026, TODAY) == TODAY
    assert report.reference_date(2025, TODAY) == dt.date(2025, 12, 31)


def test_header_figures(figures):
    assert figures["anio"] == 2026 and figures["fecha_referencia"] == "2026-06-30"
    assert figures["fecha_datos"] == "2026-06-01T09:00:00-04:00"
    totals = figures["totales"]
    assert (totals["n"], totals["terminadas_anio"], totals["atrasadas"]) == (5, 1, 1)
    assert (totals["en ejecución"], totals["sin iniciar"], totals["descartada"]) == (2, 1, 1)
    assert (totals["monto_estimado_clp"], totals["monto_aprobado_clp"], totals["monto_ejecutado_clp"]) == (5600, 400, 280)


def test_strategy_and_plan_tables(figures):
    strategies = figures["estrategias"].set_index("clave")
    assert strategies.loc["E1", "avance_conteo"] == pytest.approx(50.0)
    assert strategies.loc["E1", "avance_monto"] == pytest.approx(35.0)
    assert strategies.loc["E1", "monto_aprobado_clp"] == 400 and strategies.loc["E1", "monto_estimado_clp"] == 5600
    assert strategies.loc["E2", "monto_aprobado_clp"] == 0
    plans = figures["planes"].set_index("clave")
    assert plans["estrategia"].to_dict() == {"E1-P1": "E1", "E1-P2": "E1", "E2-P1": "E2"}
    assert plans.loc["E1-P1", "monto_ejecutado_clp"] == 280


def test_funding_table(figures):
    funding = figures["fuentes"].set_index("fuente")
    assert list(funding.index) == ["FNDR", "FRIL", report.SIN_FUENTE]
    assert funding.loc["FNDR", ["n", "monto_aprobado_clp"]].tolist() == [1, 100]
    assert funding.loc["FRIL", ["n", "monto_aprobado_clp", "monto_ejecutado_clp"]].tolist() == [1, 300, 280]
    assert funding.loc[report.SIN_FUENTE, ["n", "monto_estimado_clp"]].tolist() == [3, 5600]


def test_funding_per_strategy(figures):
    table = figures["fuentes_estrategia"]
    assert table[["estrategia", "fuente", "n", "monto_aprobado_clp"]].values.tolist() == [
        ["E1", "FNDR", 1, 100], ["E1", "FRIL", 1, 300], ["E1", report.SIN_FUENTE, 2, 0],
        ["E2", report.SIN_FUENTE, 1, 0],
    ]


def test_finished_and_delayed_lists(figures):
    assert figures["terminadas"]["id"].tolist() == ["A2"]
    delayed = figures["atrasadas"]
    assert delayed["id"].tolist() == ["C1"] and delayed["dias_atraso"].tolist() == [150]


def test_finished_in_another_year(joined):
    empty = links.Relations(pd.DataFrame(columns=["id", "slug", "relacion"]), pd.DataFrame(columns=["id", "alcance"]),
                            pd.DataFrame(columns=list(links.SCOPE_RELATIONS), dtype=bool))
    other = report.public_account(joined, empty, pd.DataFrame({"slug": [], "nombre": []}), 2025, today=TODAY)
    assert other["terminadas"].empty and other["totales"]["terminadas_anio"] == 0
    assert other["fecha_referencia"] == "2025-12-31" and other["atrasadas"].empty


def test_territory_table_counts_specific_relations_only(figures):
    table = figures["territorios"].set_index("slug")
    assert table.loc["t1", ["n", "en_ejecucion", "terminadas", "atrasadas", "monto_aprobado_clp"]].tolist() == [2, 2, 0, 1, 100]
    assert table.loc["t1", "avance_conteo"] == pytest.approx(35.0)
    assert table.loc["t2", "n"] == 0 and table.loc["t1", "territorio"] == "Centro"


def test_csv_of_the_same_tables(figures):
    text = report.tables_csv(figures).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["tabla"] for r in rows} == set(report.TABLE_TITLES)
    e1 = next(r for r in rows if r["tabla"] == "estrategias" and r["clave"] == "E1")
    assert (e1["n"], e1["avance_monto"], e1["monto_aprobado_clp"], e1["anio"]) == ("4", "35.0", "400", "2026")
    assert len([r for r in rows if r["tabla"] == "planes"]) == 3
