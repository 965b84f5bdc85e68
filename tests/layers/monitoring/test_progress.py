"""Progress by count and by amount per strategy, plan and programme; delays and the traffic light."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from layers.monitoring import progress as P

AS_OF = dt.date(2026, 6, 30)


def by_key(table):
    return table.set_index("clave")


def test_programme_of_each_row(joined):
    assert joined.set_index("id")["programa"].to_dict() == {"A1": "A1", "A2": "A1", "A3": "A1", "B1": None, "C1": None}


def test_initiative_progress_rules(joined):
    values = P.initiative_progress(joined).tolist()
    assert values[:2] == [50.0, 100.0]          # recorded; terminada without value counts 100
    assert math.isnan(values[2])                 # descartada left out
    assert values[3:] == [0.0, 20.0]             # none recorded counts 0


def test_progress_per_strategy(joined):
    table = by_key(P.progress(joined, "estrategia", AS_OF))
    e1 = table.loc["E1"]
    assert (e1["n"], e1["n_activas"]) == (4, 3)
    assert e1["avance_conteo"] == pytest.approx(50.0)          # (50 + 100 + 0) / 3
    assert e1["avance_monto"] == pytest.approx(35.0)           # (50*100 + 100*300 + 0*600) / 1000
    assert bool(e1["difieren"]) and e1["n_con_monto"] == 3 and e1["monto_ponderacion_clp"] == 1000
    assert (e1["en ejecución"], e1["terminada"], e1["descartada"], e1["sin iniciar"]) == (1, 1, 1, 1)
    e2 = table.loc["E2"]
    assert e2["avance_conteo"] == pytest.approx(20.0) and math.isnan(e2["avance_monto"]) and not e2["difieren"]
    assert e2["atrasadas"] == 1 and e1["atrasadas"] == 0
    assert list(table.index) == ["E1", "E2"] and table.loc["E1", "nombre"] == "Territorio"


def test_progress_per_plan_and_programme(joined):
    plans = by_key(P.progress(joined, "plan", AS_OF))
    assert plans.loc["E1-P1", "avance_conteo"] == pytest.approx(75.0)
    assert plans.loc["E1-P1", "avance_monto"] == pytest.approx(87.5)
    assert plans.loc["E1-P2", "avance_conteo"] == 0 and plans.loc["E1-P2", "avance_monto"] == 0
    assert not plans.loc["E1-P2", "difieren"]
    programmes = by_key(P.progress(joined, "programa", AS_OF))
    assert list(programmes.index) == ["A1"]
    assert (programmes.loc["A1", "n"], programmes.loc["A1", "n_activas"]) == (3, 2)
    assert programmes.loc["A1", "nombre"] == "Iniciativa A1"


def test_delayed_is_past_planned_end_and_not_finished(joined):
    assert joined.loc[P.delayed(joined, AS_OF), "id"].tolist() == ["C1"]
    assert joined.loc[P.delayed(joined, dt.date(2026, 1, 31)), "id"].tolist() == []  # due that day: not yet late
    assert joined.loc[P.delayed(joined, dt.date(2026, 9, 1)), "id"].tolist() == ["B1", "C1"]
    finished = joined.assign(estado=["terminada"] * 5)
    assert not P.delayed(finished, dt.date(2030, 1, 1)).any()


def test_traffic_light(joined):
    assert P.traffic_light(joined, AS_OF).tolist() == ["gris", "verde", "gris", "amarillo", "rojo"]
    assert P.traffic_light(joined, dt.date(2026, 1, 1)).tolist()[3:] == ["verde", "amarillo"]
    assert set(P.SEMAFORO) == {"rojo", "amarillo", "verde", "gris"}
