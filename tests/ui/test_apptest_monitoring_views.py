"""Monitoring seen on the other pages (issue 13, item 4): map, sector page and report, plan page.

AppTest runs ``app.py`` on a private copy of the store where a planner recorded the
status and progress of three sited initiatives with :func:`layers.monitoring.history.apply_changes`.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest

from layers.monitoring import history
from tests.ui.conftest import app_test
from views import symbology


@pytest.fixture
def record(fresh_store):
    """E1-P1-08 (a point) in execution at 30,5 %, E1-P1-03 (a line) finished, E3-P4-03 (a point) applied for."""
    values = pd.DataFrame.from_dict({
        "E1-P1-08": {"estado": "en ejecución", "avance_fisico": 30.5, "monto_aprobado_clp": 1_200_000_000,
                     "fecha_termino_plan": "2025-12-31"},
        "E1-P1-03": {"estado": "terminada", "avance_fisico": 100.0, "monto_aprobado_clp": 85_000_000,
                     "fecha_termino_plan": "2025-06-30"},
        "E3-P4-03": {"estado": "postulada", "avance_fisico": None, "monto_aprobado_clp": None,
                     "fecha_termino_plan": None},
    }, orient="index").astype(object)
    values = values.where(values.notna(), None)
    history.apply_changes(values, "Ana Pérez", "Informe trimestral",
                          now=dt.datetime(2026, 3, 15, 13, 20, tzinfo=dt.UTC))
    return fresh_store


def no_failure(at) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def sited_document(at) -> dict:
    """The JSON document of the sited initiatives that the map sends to the browser."""
    m = at.session_state["mapa_folium"][1]
    element = next(c for c in m._children.values() if type(c).__name__ == "SitedInitiatives")
    return json.loads(element.payload)


def legend_of(at) -> str:
    m = at.session_state["mapa_folium"][1]
    return next(c for c in m._children.values() if type(c).__name__ == "Legend").html


def records_by_id(doc: dict) -> dict[str, list]:
    return {r[1]: r for r in doc["r"]}


# --------------------------------------------------------------------------- map


def test_map_colours_by_status_from_the_link(record):
    at = app_test("pages/mapa.py", {"colorear": "estado"}).run()
    no_failure(at)
    assert at.radio(key="mapa_colorear").value == "estado"
    assert at.query_params["colorear"] == ["estado"] or at.query_params["colorear"] == "estado"
    doc = sited_document(at)
    assert doc["cb"] == "estado"
    assert doc["s"][:8] == list(symbology.ESTADO_COLORS)
    assert doc["sc"][:8] == list(symbology.ESTADO_COLORS.values())
    rows = records_by_id(doc)
    assert doc["s"][rows["E1-P1-08"][8]] == "en ejecución" and rows["E1-P1-08"][9] == "30,5 %"
    assert doc["s"][rows["E1-P1-03"][8]] == "terminada" and rows["E1-P1-03"][9] == "100,0 %"
    assert doc["s"][rows["E3-P4-03"][8]] == "postulada" and rows["E3-P4-03"][9] == ""
    assert doc["s"][rows["E6-P1-06"][8]] == "sin iniciar"  # no record: the starting status
    # The status colour of a mark: «en ejecución» is orange, «terminada» black.
    assert doc["sc"][rows["E1-P1-08"][8]] == "#E69F00" and doc["sc"][rows["E1-P1-03"][8]] == "#000000"
    legend = legend_of(at)
    assert "Iniciativas ubicadas, por estado" in legend
    for estado, color in symbology.ESTADO_COLORS.items():
        assert estado.capitalize() in legend and color in legend
    assert "Iniciativas ubicadas, por estrategia" not in legend


def test_map_by_strategy_still_shows_status_in_popups(record):
    at = app_test("pages/mapa.py").run()
    no_failure(at)
    assert "colorear" not in at.query_params
    doc = sited_document(at)
    assert doc["cb"] == "estrategia"
    assert doc["s"][records_by_id(doc)["E1-P1-08"][8]] == "en ejecución"
    assert "Iniciativas ubicadas, por estrategia" in legend_of(at)
    at.radio(key="mapa_colorear").set_value("estado").run()
    no_failure(at)
    assert sited_document(at)["cb"] == "estado"
    assert "colorear" in at.query_params


def test_unknown_colour_mode_is_named_and_ignored(record):
    at = app_test("pages/mapa.py", {"colorear": "<b>rojo</b>"}).run()
    assert not at.exception
    assert at.radio(key="mapa_colorear").value == "estrategia"
    assert any("Se ignoró el color de las iniciativas" in w.value for w in at.warning)


def test_popup_script_shows_status_and_progress(record):
    from views import mapview

    at = app_test("pages/mapa.py", {"colorear": "estado"}).run()
    html = mapview.map_html(at.session_state["mapa_folium"][1])
    assert 'row("Estado", d.s[r[8]])' in html and 'row("Avance físico", r[9])' in html
    assert "avance físico" in html  # the tooltip line
