"""A small plan with monitoring values whose aggregates are worked out by hand in the tests."""

from __future__ import annotations

import pandas as pd
import pytest

from layers.monitoring import fields as F
from layers.monitoring import progress as P


def _initiatives() -> pd.DataFrame:
    rows = [
        # id, estrategia, plan, padre
        ("A1", "E1", "E1-P1", None),
        ("A2", "E1", "E1-P1", "A1"),
        ("A3", "E1", "E1-P1", "A1"),
        ("B1", "E1", "E1-P2", None),
        ("C1", "E2", "E2-P1", None),
    ]
    frame = pd.DataFrame(rows, columns=["id", "estrategia", "plan", "padre"])
    frame["nombre"] = "Iniciativa " + frame["id"]
    frame["tipo"] = "Proyecto"
    frame["estrategia_nombre"] = frame["estrategia"].map({"E1": "Territorio", "E2": "Economía"})
    frame["plan_nombre"] = "Plan " + frame["plan"]
    frame["alcance"] = "territorial"
    return frame


def _matrix() -> pd.DataFrame:
    values = {
        "A1": {"estado": "en ejecución", "avance_fisico": 50.0, "monto_aprobado_clp": 100, "fuente_financiamiento": "FNDR"},
        "A2": {"estado": "terminada", "monto_aprobado_clp": 300, "monto_ejecutado_clp": 280, "fuente_financiamiento": "FRIL",
               "fecha_termino_real": "2026-03-01"},
        "A3": {"estado": "descartada", "monto_estimado_clp": 5000},
        "B1": {"estado": "sin iniciar", "monto_estimado_clp": 600, "fecha_termino_plan": "2026-08-15"},
        "C1": {"estado": "en ejecución", "avance_fisico": 20.0, "fecha_termino_plan": "2026-01-31"},
    }
    matrix = pd.DataFrame(index=pd.Index(list(values), name="id"), columns=[*F.FIELD_NAMES, "version"], dtype=object)
    for ident, row in values.items():
        for name, value in row.items():
            matrix.at[ident, name] = value
    matrix["actualizado_el"] = ["2026-05-02T10:00:00-04:00", "2026-06-01T09:00:00-04:00", None, None, None]
    return matrix.astype(object).where(matrix.notna(), None)


@pytest.fixture
def joined() -> pd.DataFrame:
    return P.join(_initiatives(), _matrix())


# The monitoring record's tests run on both store backends (GeoPackage and a throw-away PostGIS, tests/pg.py).
from tests.pg import backend, fresh_store, pg_server, pg_template  # noqa: E402, F401
from tests.pg import parametrize_backends as pytest_generate_tests  # noqa: E402, F401
