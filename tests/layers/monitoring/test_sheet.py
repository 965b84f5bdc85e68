"""Spreadsheets in and out: UTF-8 and Excel-Chile CSV, .xlsx, atomic refusal, export -> import round trip."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from layers import monitoring
from layers._errors import InputFileError
from layers.monitoring import history as H
from layers.monitoring import sheet
from layers.monitoring.validate import MonitoringValidationError


def write_csv(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def test_reads_utf8_csv_with_bom(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes("id,estado,observaciones\nE1-P1-01,en ejecución,\"Paseo, etapa 1\"\n".encode("utf-8-sig"))
    frame = sheet.read_sheet(path)
    assert list(frame.columns) == ["id", "estado", "observaciones"]
    assert frame.loc[2].tolist() == ["E1-P1-01", "en ejecución", "Paseo, etapa 1"]


def test_reads_excel_chile_csv(tmp_path):
    path = write_csv(tmp_path / "m.csv", "id;estado;avance_fisico;monto_aprobado_clp\nE1-P1-01;en ejecución;45,5;1.250.000\n",
                     "cp1252")
    frame = sheet.read_sheet(path)
    assert frame.loc[2].tolist() == ["E1-P1-01", "en ejecución", "45,5", "1.250.000"]


def test_reads_excel_separator_line(tmp_path):
    path = write_csv(tmp_path / "m.csv", "sep=;\nid;observaciones\nE1-P1-01;uno, dos\n", "cp1252")
    frame = sheet.read_sheet(path)
    assert list(frame.columns) == ["id", "observaciones"]
    assert frame.loc[2].tolist() == ["E1-P1-01", "uno, dos"]


def test_reads_xlsx_with_typed_cells(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "avance_fisico", "avance_financiero", "fecha_inicio_plan", "monto_aprobado_clp"])
    ws.append(["E1-P1-01", 0.455, 12, dt.datetime(2025, 3, 15), 1250000])
    ws["B2"].number_format = "0.0%"  # Excel shows 45,5 %
    path = tmp_path / "m.xlsx"
    book.save(path)
    frame = sheet.read_sheet(path)
    assert frame.loc[2, "avance_fisico"] == pytest.approx(45.5)
    assert frame.loc[2, "avance_financiero"] == 12
    assert frame.loc[2, "fecha_inicio_plan"] == dt.datetime(2025, 3, 15)


@pytest.mark.parametrize("name, content, code", [
    ("m.ods", b"x", "sheet_format"),
    ("m.csv", b"", "sheet_empty"),
    ("m.xlsx", b"not a zip", "sheet_unreadable"),
    ("m.csv", b"id,estado\nE1-P1-01,postulada,extra\n", "sheet_columns"),
])
def test_unreadable_sheets(tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        sheet.read_sheet(path)
    assert info.value.code == code


def test_import_updates_any_subset_of_fields(fresh_store, tmp_path):
    path = write_csv(tmp_path / "m.csv", "id;avance_fisico;fuente_financiamiento\nE1-P1-08;30,5;fndr\n", "cp1252")
    change = monitoring.import_sheet(path, "Ana", "avance de obra")
    assert change.n_fields == 2
    row = monitoring.matrix().loc["E1-P1-08"]
    assert (row["avance_fisico"], row["fuente_financiamiento"], row["estado"]) == (30.5, "FNDR", "sin iniciar")


def test_one_bad_row_refuses_the_whole_file(fresh_store, tmp_path):
    monitoring.import_sheet(write_csv(tmp_path / "a.csv", "id,estado\nE1-P1-01,postulada\n"), "Ana")
    before, history_before = monitoring.matrix(), H.history()
    path = write_csv(tmp_path / "b.csv", (
        "id,estado,avance_fisico,fecha_termino_plan,monto_aprobado_clp\n"
        "E1-P1-01,en ejecución,50,2026-12-31,1000000\n"       # good
        "E1-P1-02,en proceso,10,2026-12-31,\n"                # unknown estado
        "E1-P1-03,postulada,120,,\n"                          # percent out of range
        "E9-P9-99,postulada,,,\n"                             # unknown id
        "E1-P1-04,postulada,,2026-02-30,\n"                   # bad date
        "E1-P1-05,postulada,,,12,5\n".replace(",12,5", ",\"12,5\"")  # bad amount
    ))
    with pytest.raises(MonitoringValidationError) as info:
        monitoring.import_sheet(path, "Ana")
    rows = sorted({p.fila for p in info.value.data["problems"]})
    assert rows == [3, 4, 5, 6, 7]
    pd.testing.assert_frame_equal(monitoring.matrix(), before)
    pd.testing.assert_frame_equal(H.history(), history_before)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_unchanged_is_a_no_op(fresh_store, tmp_path, fmt):
    monitoring.import_sheet(write_csv(tmp_path / "seed.csv", (
        "id,estado,avance_fisico,avance_financiero,unidad_responsable,codigo_bip,monto_estimado_clp,"
        "fecha_inicio_plan,fecha_termino_plan,observaciones,meta\n"
        "E1-P1-08,en ejecución,30.25,12.5,DOM,30123456-0,1500000000,2024-01-01,2026-01-31,\"=HYPERLINK(\"\"x\"\")\",-10 %\n"
        "E1-P1-03,terminada,100,,SECPLAN,,85000000,,,\"Texto con ; y , y \"\"comillas\"\"\",@meta\n"
    )), "Ana")
    n_history = len(H.history())
    path, n = monitoring.export_sheet(tmp_path / f"matriz.{fmt}")
    assert n == 194
    change = monitoring.import_sheet(path, "Luis", "reimportación")
    assert change.n_fields == 0
    assert len(H.history()) == n_history
    row = monitoring.matrix().loc["E1-P1-08"]
    assert row["observaciones"] == '=HYPERLINK("x")' and row["meta"] == "-10 %"


def test_exported_formulas_are_inert(fresh_store, tmp_path):
    monitoring.import_sheet(write_csv(tmp_path / "s.csv", 'id,observaciones\nE1-P1-01,"=1+1"\n'), "Ana")
    csv_path, _ = monitoring.export_sheet(tmp_path / "m.csv")
    assert "'=1+1" in csv_path.read_text(encoding="utf-8-sig")
    xlsx_path, _ = monitoring.export_sheet(tmp_path / "m.xlsx")
    ws = openpyxl.load_workbook(xlsx_path)["seguimiento"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("observaciones") + 1)
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_exported_matrix_has_every_field(fresh_store, tmp_path):
    path, _ = monitoring.export_sheet(tmp_path / "m.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame.columns) == sheet.sheet_columns()
    assert (frame["estado"] == "sin iniciar").all() and len(frame) == 194
