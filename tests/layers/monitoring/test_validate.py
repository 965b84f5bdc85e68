"""Every validation rule of the monitoring fields, one value at a time and over a whole sheet."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from layers.monitoring import fields as F
from layers.monitoring.validate import MonitoringValidationError, as_text, check_row, parse_value, validate_sheet

UNITS = ("SECPLAN", "DOM", "Medio Ambiente")
IDS = ("E1-P1-01", "E1-P1-02", "E1-P1-03")
TODAY = dt.date(2026, 6, 30)


def ok(name, raw):
    return parse_value(name, raw, UNITS)


def refused(name, raw) -> str:
    with pytest.raises(ValueError) as info:
        parse_value(name, raw, UNITS)
    return str(info.value)


@pytest.mark.parametrize("raw, value", [
    ("sin iniciar", "sin iniciar"), ("En Ejecucion", "en ejecución"), (" TERMINADA ", "terminada"),
    ("en formulacion", "en formulación"), ("descartada", "descartada"),
])
def test_estado_accepts_each_value_ignoring_case_and_accents(raw, value):
    assert ok("estado", raw) == value


def test_estado_refuses_unknown_and_empty():
    assert "no es un valor permitido" in refused("estado", "en proceso")
    assert "vacío" in refused("estado", "")
    assert "vacío" in refused("estado", None)


def test_every_estado_fuente_etapa_rate_value_is_accepted():
    for name, table in (("estado", F.ESTADOS), ("fuente_financiamiento", F.FUENTES),
                        ("etapa", F.ETAPAS), ("rate", F.RATES)):
        for value in table:
            assert ok(name, value) == value
            assert ok(name, value.upper()) == value


@pytest.mark.parametrize("name, raw", [("fuente_financiamiento", "BID"), ("etapa", "licitación"), ("rate", "RE")])
def test_lists_refuse_values_outside_them(name, raw):
    assert "no es un valor permitido" in refused(name, raw)


def test_unidad_responsable_uses_the_configured_list():
    assert ok("unidad_responsable", "medio ambiente") == "Medio Ambiente"
    assert "no es un valor permitido" in refused("unidad_responsable", "DIDECO")  # not in this list
    assert parse_value("unidad_responsable", "", UNITS) is None


@pytest.mark.parametrize("raw, value", [
    ("0", 0.0), ("100", 100.0), ("45,5", 45.5), ("45.5", 45.5), ("45,5 %", 45.5), ("33.333", 33.33),
    (12, 12.0), (99.5, 99.5),
])
def test_percent_accepts_0_to_100(raw, value):
    assert ok("avance_fisico", raw) == value


@pytest.mark.parametrize("raw", ["100,1", "-1", "101", 150, -0.5])
def test_percent_refuses_outside_0_100(raw):
    assert "entre 0 y 100" in refused("avance_financiero", raw)


@pytest.mark.parametrize("raw", ["mucho", "4 5", "1e2", "45,5,1", True])
def test_percent_refuses_non_numbers(raw):
    assert refused("avance_fisico", raw)


@pytest.mark.parametrize("raw, value", [
    ("1.250.000", 1_250_000), ("1250000", 1_250_000), ("$ 1.250.000", 1_250_000), ("1.000", 1000),
    ("1250000,00", 1_250_000), ("0", 0), (3_000_000, 3_000_000), (3_000_000.0, 3_000_000),
])
def test_amount_is_whole_pesos(raw, value):
    assert ok("monto_aprobado_clp", raw) == value


@pytest.mark.parametrize("raw", ["1,5", "1250000,50", 10.5, "12.34", "1.2345.678", "mil"])
def test_amount_refuses_decimals_and_non_numbers(raw):
    assert "entero" in refused("monto_estimado_clp", raw)


@pytest.mark.parametrize("raw", ["-1000", -5])
def test_amount_refuses_negatives(raw):
    assert "negativo" in refused("monto_ejecutado_clp", raw)


@pytest.mark.parametrize("raw, value", [
    ("2025-03-15", "2025-03-15"), ("15-03-2025", "2025-03-15"), ("15/03/2025", "2025-03-15"),
    ("5/3/2025", "2025-03-05"), (dt.datetime(2025, 3, 15, 0, 0), "2025-03-15"), (dt.date(2024, 2, 29), "2024-02-29"),
])
def test_dates_are_stored_iso(raw, value):
    assert ok("fecha_inicio_plan", raw) == value


@pytest.mark.parametrize("raw, why", [
    ("2025-02-30", "calendario"), ("2025-13-01", "calendario"), ("marzo 2025", "AAAA-MM-DD"),
    ("2025/03/15", "AAAA-MM-DD"), ("1975-01-01", "año"), ("2101-01-01", "año"), ("03-15-2025", "calendario"),
])
def test_dates_refuse_bad_values(raw, why):
    assert why in refused("fecha_termino_plan", raw)


@pytest.mark.parametrize("raw, value", [
    ("30123456-0", "30123456-0"), ("30.123.456-0", "30123456-0"), ("301234560", "30123456-0"),
    (" 40012345-7 ", "40012345-7"), (301234560, "30123456-0"),
])
def test_bip_code_form(raw, value):
    assert ok("codigo_bip", raw) == value


@pytest.mark.parametrize("raw", ["3012345-0", "30123456-K", "30123456-00", "BIP30123456", "30123456_0", "123"])
def test_bip_code_refuses_other_forms(raw):
    assert "NNNNNNNN-D" in refused("codigo_bip", raw)


def test_text_fields():
    assert ok("indicador", "  m² de plaza\nconstruidos ") == "m² de plaza construidos"
    assert ok("meta", 300) == "300"
    assert ok("observaciones", "'=SUM(A1)") == "=SUM(A1)"  # the export's formula guard is removed
    assert ok("observaciones", "'hola") == "'hola"  # a plain apostrophe is kept
    assert "máximo" in refused("observaciones", "x" * (F.TEXT_MAX + 1))
    assert ok("observaciones", "x" * F.TEXT_MAX) == "x" * F.TEXT_MAX
    assert "control" in refused("meta", "a\x00b")


def test_system_fields_are_not_parsed():
    with pytest.raises(KeyError):
        parse_value("actualizado_por", "Ana", UNITS)


def test_as_text_is_canonical():
    assert as_text("avance_fisico", 45.5) == "45.5"
    assert as_text("avance_fisico", 100.0) == "100"
    assert as_text("monto_aprobado_clp", 1_250_000) == "1250000"
    assert as_text("codigo_bip", None) == ""
    assert as_text("monto_aprobado_clp", float("nan")) == ""


def test_rules_between_fields():
    assert check_row({"fecha_inicio_plan": "2025-05-01", "fecha_termino_plan": "2025-04-30"}, TODAY)[0][0] == "fecha_termino_plan"
    assert check_row({"fecha_inicio_real": "2025-05-01", "fecha_termino_real": "2025-01-01", "estado": "terminada"}, TODAY)
    assert check_row({"fecha_inicio_real": "2026-07-01"}, TODAY)[0][1].startswith("una fecha real")
    assert check_row({"fecha_termino_real": "2026-01-01", "estado": "en ejecución"}, TODAY)
    assert check_row({"fecha_termino_real": "2026-01-01", "estado": "terminada"}, TODAY) == []
    assert check_row({"fecha_inicio_plan": "2025-01-01", "fecha_termino_plan": "2025-01-01"}, TODAY) == []


def sheet(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    return frame


def test_sheet_returns_canonical_values_of_the_columns_given():
    out = validate_sheet(sheet([
        {"id": "E1-P1-01", "estado": "postulada", "avance_fisico": "10,5", "nombre": "ignored", "actualizado_por": "x"},
        {"id": "E1-P1-02", "estado": "En ejecución", "avance_fisico": ""},
        {"id": "", "estado": "", "avance_fisico": ""},  # a blank row is skipped
    ]), IDS, units=UNITS, today=TODAY)
    assert list(out.columns) == ["estado", "avance_fisico"]
    assert out.loc["E1-P1-01"].tolist() == ["postulada", 10.5]
    assert out.loc["E1-P1-02", "avance_fisico"] is None


def test_sheet_collects_every_problem_with_its_row():
    with pytest.raises(MonitoringValidationError) as info:
        validate_sheet(sheet([
            {"id": "E1-P1-01", "estado": "terminado", "avance_fisico": "120", "monto_aprobado_clp": "1,5"},
            {"id": "E9-P9-99", "estado": "postulada", "avance_fisico": "", "monto_aprobado_clp": ""},
            {"id": "E1-P1-02", "estado": "postulada", "avance_fisico": "5", "monto_aprobado_clp": ""},
            {"id": "E1-P1-02", "estado": "postulada", "avance_fisico": "5", "monto_aprobado_clp": ""},
            {"id": "", "estado": "postulada", "avance_fisico": "", "monto_aprobado_clp": ""},
        ]), IDS, units=UNITS, today=TODAY)
    problems = info.value.data["problems"]
    got = {(p.fila, p.campo) for p in problems}
    assert got == {(2, "estado"), (2, "avance_fisico"), (2, "monto_aprobado_clp"), (3, "id"), (5, "id"), (6, "id")}
    assert info.value.code == "monitoring_invalid"
    assert "6 problemas en 4 filas" in str(info.value)
    assert problems[0].line().startswith("fila 2 (E1-P1-01) · estado «terminado»: no es un valor permitido")


def test_sheet_header_problems():
    with pytest.raises(MonitoringValidationError) as info:
        validate_sheet(sheet([{"codigo": "E1-P1-01", "avanse": "3"}]), IDS, units=UNITS)
    lines = [p.line() for p in info.value.data["problems"]]
    assert any("avanse" in line and "desconocida" in line for line in lines)
    assert any("falta la columna «id»" in line for line in lines)


def test_sheet_checks_rules_against_the_stored_values():
    current = pd.DataFrame({"fecha_inicio_plan": ["2025-06-01"], "estado": ["sin iniciar"]}, index=["E1-P1-01"], dtype=object)
    rows = sheet([{"id": "E1-P1-01", "fecha_termino_plan": "2025-01-31"}])
    with pytest.raises(MonitoringValidationError) as info:
        validate_sheet(rows, IDS, current=current, units=UNITS, today=TODAY)
    assert info.value.data["problems"][0].campo == "fecha_termino_plan"
    fixed = sheet([{"id": "E1-P1-01", "fecha_inicio_plan": "2025-01-01", "fecha_termino_plan": "2025-01-31"}])
    assert len(validate_sheet(fixed, IDS, current=current, units=UNITS, today=TODAY)) == 1
