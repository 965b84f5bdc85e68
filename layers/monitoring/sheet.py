"""The monitoring matrix as a spreadsheet: read a CSV or .xlsx sheet, write the matrix back.

Reading
-------
- CSV in UTF-8 (with or without BOM), or as Excel in Chile writes it: ``;`` between
  columns, decimal comma, Windows-1252 text. The separator (``,``, ``;`` or tab) is
  taken from Excel's ``sep=`` line when there is one, else from the header line; the
  encoding is UTF-8 when the bytes decode as UTF-8, Windows-1252 otherwise.
- ``.xlsx`` through openpyxl: the sheet named ``seguimiento`` or else the first one;
  cells keep Excel's types (numbers, dates); a number shown as a percentage
  (``45,5 %``, stored by Excel as 0.455) is read as 45.5.

Every cell is returned as read; :func:`layers.monitoring.validate.validate_sheet`
decides what it means. The index of the frame is the row number the spreadsheet
program shows (header = row 1), so problems point at the right row.

Writing
-------
Columns ``id``, the descriptive ``nombre``, ``tipo``, ``estrategia``, ``plan``,
``padre`` (ignored on import), every editable field and the system fields.
Values use the canonical text (``45.5``, ``1250000``, ``2025-03-15``), so importing
the file unchanged changes nothing. A text cell that starts with ``=``, ``+``, ``-``
or ``@`` is written with a leading ``'`` in CSV (so that a spreadsheet program does
not run it as a formula; the import removes it again) and as a text cell in .xlsx.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from layers import settings
from layers._errors import InputFileError
from layers.monitoring import fields as F
from layers.monitoring.validate import INFO_COLUMNS, as_text

__all__ = ["FORMATS", "read_sheet", "sheet_columns", "matrix_frame", "sheet_bytes", "write_sheet"]

#: Spreadsheet formats, by file extension.
FORMATS = ("csv", "xlsx")
#: Name of the data sheet in .xlsx files.
SHEET_NAME = "seguimiento"
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputFileError(
            f"Formato de planilla no soportado: «{path.suffix or path.name}» (se aceptan .csv y .xlsx).",
            code="sheet_format", path=str(path),
        )
    return fmt


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _frame(rows: list[list[object]], name: str) -> pd.DataFrame:
    if not rows or not any(str(c or "").strip() for c in rows[0]):
        raise InputFileError(f"La planilla «{name}» está vacía o no tiene fila de encabezado.", code="sheet_empty", path=name)
    header = [str(c if c is not None else "").strip() for c in rows[0]]
    width = len(header)
    body = [list(r[:width]) + [None] * (width - len(r)) for r in rows[1:]]
    extra = [i for i, r in enumerate(rows[1:], start=2) if any(str(c or "").strip() for c in r[width:])]
    if extra:
        raise InputFileError(
            f"La fila {extra[0]} de «{name}» tiene más columnas que el encabezado (¿separador equivocado?).",
            code="sheet_columns", path=name, row=extra[0],
        )
    index = pd.RangeIndex(2, 2 + len(body), name="fila")
    return pd.DataFrame(body, columns=header, index=index, dtype=object)


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    text = _decode(data)
    first, _, rest = text.partition("\n")
    hint = re.fullmatch(r"sep=(.)\r?", first)
    if hint:  # Excel's own separator line ("sep=;")
        delimiter, text = hint[1], rest
    else:
        delimiter = max((";", ",", "\t"), key=first.count)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _frame(rows, name)


def _xlsx_value(cell) -> object:
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in str(cell.number_format or ""):
        return round(value * 100, 10)
    return value


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputFileError(f"«{name}» no es un libro .xlsx legible.", code="sheet_unreadable", path=name) from exc
    try:
        sheet = book[SHEET_NAME] if SHEET_NAME in book.sheetnames else book.worksheets[0]
        rows = [[_xlsx_value(c) for c in row] for row in sheet.iter_rows()]
    finally:
        book.close()
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    return _frame(rows, name)


def read_sheet(path: str | Path) -> pd.DataFrame:
    """Cells of a monitoring sheet, as read.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` or ``.xlsx`` file.

    Returns
    -------
    pandas.DataFrame
        One column per header cell (names stripped), object dtype (``str`` from CSV;
        ``str``, ``int``, ``float``, ``datetime`` or ``None`` from .xlsx); index = row
        number in the spreadsheet (first data row is 2).

    Raises
    ------
    layers._errors.InputFileError
        Unknown extension (``sheet_format``), missing or oversized file (``bad_file``),
        unreadable workbook (``sheet_unreadable``), no header (``sheet_empty``), a row
        wider than the header (``sheet_columns``).
    """
    path = Path(path)
    fmt = _format_of(path)
    try:
        size = path.stat().st_size
        if size > settings.UPLOAD_LIMIT_BYTES:
            raise InputFileError(f"La planilla «{path.name}» supera el tamaño máximo permitido.", path=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"No se pudo leer la planilla «{path}».", path=str(path)) from exc
    return _read_xlsx(data, path.name) if fmt == "xlsx" else _read_csv(data, path.name)


def sheet_columns() -> list[str]:
    """Column order of the exported matrix."""
    return ["id", *INFO_COLUMNS, *F.EDITABLE, *F.SYSTEM]


def matrix_frame(matrix: pd.DataFrame, initiatives: pd.DataFrame) -> pd.DataFrame:
    """The matrix as the spreadsheet shows it: one row per initiative, canonical text.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Current values indexed by ``id`` (:func:`layers.monitoring.history.current_values`).
    initiatives : pandas.DataFrame
        Catalogue with ``id``, ``nombre``, ``tipo``, ``estrategia``, ``plan``, ``padre``.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`sheet_columns`, all ``str`` (``""`` for empty), in catalogue order.
    """
    info = initiatives.set_index("id").reindex(matrix.index)
    out = pd.DataFrame({"id": matrix.index.astype(str)})
    for column in INFO_COLUMNS:
        values = info[column] if column in info else pd.Series("", index=info.index)
        out[column] = ["" if pd.isna(v) else str(v) for v in values]
    for name in (*F.EDITABLE, *F.SYSTEM):
        out[name] = [as_text(name, v) for v in matrix[name]]
    return out


def _guard(text: str) -> str:
    return "'" + text if _FORMULA_START.match(text) else text


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_guard(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_cell(name: str, text: str) -> object:
    kind = F.field(name).kind if name in F.FIELD_NAMES else "text"
    if text == "":
        return None
    if kind == "amount":
        return int(text)
    if kind == "percent":
        return float(text)
    return text


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET_NAME
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_cell(n, v) for n, v in zip(frame.columns, row)])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    sheet.freeze_panes = "B2"
    for i, column in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = 40 if column == "nombre" else max(12, len(column) + 2)
    lists = book.create_sheet("valores")
    lists.append(["campo", "valor", "definición"])
    for name, table in (("estado", F.ESTADOS), ("fuente_financiamiento", F.FUENTES), ("etapa", F.ETAPAS), ("rate", F.RATES)):
        for value, meaning in table.items():
            lists.append([name, value, meaning])
    for unit in F.units():
        lists.append(["unidad_responsable", unit, ""])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The matrix of :func:`matrix_frame` as a ``"csv"`` (UTF-8 with BOM) or ``"xlsx"`` file's bytes."""
    if fmt not in FORMATS:
        raise InputFileError(f"Formato de planilla no soportado: «{fmt}» (se aceptan csv y xlsx).", code="sheet_format")
    return _xlsx_bytes(frame) if fmt == "xlsx" else _csv_bytes(frame)


def write_sheet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the matrix to ``path`` (format from its extension, ``.csv`` or ``.xlsx``); returns the path.

    The file is written beside the destination and moved over it, so a failure never
    leaves half a file.
    """
    import os
    import tempfile

    path = Path(path)
    data = sheet_bytes(frame, _format_of(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
