"""The monitoring page (``pages/seguimiento.py``) with Streamlit's AppTest, on a private store with a record."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from layers.monitoring import history
from tests.ui.conftest import app_test

PAGE = "pages/seguimiento.py"


def page_text(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def record(fresh_store):
    """Three initiatives with monitoring values (one delayed), written as a planner would."""
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


def test_page_shows_counts_progress_and_delays(record):
    at = app_test(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Seguimiento del plan"
    m = metrics(at)
    assert (m["Sin iniciar"], m["En ejecución"], m["Terminadas"], m["Atrasadas"]) == ("191", "1", "1", "1")
    text = page_text(at)
    assert "Último cambio: 2026-03-15T10:20:00-03:00" in text
    frames = [d.value for d in at.dataframe]
    progress_table = frames[0]
    e1 = progress_table[progress_table["Clave"] == "E1"].iloc[0]
    # E1 has 88 active initiatives: by count (30.5 + 100) / 88; by amount weighted by the two approved amounts
    assert e1["Avance por conteo (%)"] == pytest.approx(round(130.5 / 88, 1))
    assert e1["Avance ponderado por monto (%)"] == pytest.approx(round((30.5 * 1200 + 100 * 85) / 1285, 1))
    assert e1["Difieren"] == "sí"
    delays = frames[1]
    assert delays["Id"].tolist() == ["E1-P1-08"] and delays["Semáforo"].tolist() == ["Rojo"]


def test_grouping_by_programme(record):
    at = app_test(PAGE).run()
    at.radio(key="seguimiento_nivel").set_value("Programa").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) > 0 and table["Iniciativas"].min() >= 2  # a programme and the rows it heads


def test_initiative_record_and_timeline_from_the_url(record):
    at = app_test(PAGE, {"iniciativa": "E1-P1-08"}).run()
    assert not at.exception
    assert at.selectbox(key="seguimiento_iniciativa").value == "E1-P1-08"
    text = page_text(at)
    assert "Construcción Complejo Deportivo La Turbina" in text
    assert "**Avance físico**: 30,5 %" in text
    assert "$ 1.200.000.000" in text
    assert "2026-03-15 10:20** · Ana Pérez — Informe trimestral" in text
    assert "- Estado: sin iniciar → en ejecución" in text
    assert "Semáforo: Rojo" in text
    at.selectbox(key="seguimiento_iniciativa").set_value("E1-P1-01").run()
    assert at.query_params["iniciativa"] in ("E1-P1-01", ["E1-P1-01"])
    assert "Sin cambios registrados" in page_text(at)


def test_unknown_initiative_in_the_url_falls_back(record):
    at = app_test(PAGE, {"iniciativa": "<script>"}).run()
    assert not at.exception
    assert at.selectbox(key="seguimiento_iniciativa").value == "E1-P1-01"


def test_downloads_are_offered(record):
    at = app_test(PAGE).run()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Informe de cuenta pública (HTML imprimible)", "Tablas del informe (CSV)",
                      "Matriz (CSV)", "Matriz (Excel .xlsx)"]
