"""Validation of monitoring values: one parser per kind, and a sheet check that collects every problem.

Values arrive from people as text typed in a spreadsheet (``"45,5"``,
``"1.234.567"``, ``"15-03-2025"``) or as cells already typed by Excel (``int``,
``float``, ``datetime``). Each parser returns the *canonical* value (``str``,
``float`` for percents, ``int`` for amounts, ``None`` for empty) or raises
:class:`_Bad` with the reason in Spanish. :func:`validate_sheet` runs them over a
whole table and raises one :class:`MonitoringValidationError` listing every bad
row, so a file is accepted or refused whole.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from layers._errors import DataValidationError
from layers.monitoring import fields as F
from layers.text import fold

__all__ = [
    "Problem", "MonitoringValidationError", "parse_value", "as_text", "validate_sheet", "check_row",
    "INFO_COLUMNS", "DATE_MIN_YEAR", "DATE_MAX_YEAR",
]

#: Columns of the exported matrix that describe the initiative and are ignored on import.
INFO_COLUMNS = ("nombre", "tipo", "estrategia", "plan", "padre")
#: Earliest and latest year accepted in a date.
DATE_MIN_YEAR, DATE_MAX_YEAR = 1980, 2100

_BIP = re.compile(r"^(\d{8})-?(\d)$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,0+)?$")
_PLAIN_WHOLE = re.compile(r"^\d+([.,]0+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CL_DATE = re.compile(r"^(\d{1,2})[-/](\d{1,2})[-/](\d{4})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@\t\r])")


class _Bad(ValueError):
    """A value that breaks its field's rule; the message is the reason, in Spanish."""


@dataclass(frozen=True)
class Problem:
    """One reason a row (or the file) is refused.

    Attributes
    ----------
    fila : int or None
        Row number as the spreadsheet shows it (the header is row 1); ``None`` for the file as a whole.
    id : str
        Initiative id of the row (``""`` when missing).
    campo : str
        Column concerned (``""`` for the whole row).
    valor : str
        Value as read, shortened for display.
    motivo : str
        Why it is refused, one Spanish sentence.
    """

    fila: int | None
    id: str
    campo: str
    valor: str
    motivo: str

    def line(self) -> str:
        """One Spanish line: ``fila 3 (E1-P1-02) · avance_fisico «120»: debe estar entre 0 y 100``."""
        where = "archivo" if self.fila is None else f"fila {self.fila}"
        if self.id:
            where += f" ({self.id})"
        what = f" · {self.campo}" if self.campo else ""
        shown = f" «{self.valor}»" if self.valor != "" else ""
        return f"{where}{what}{shown}: {self.motivo}"


class MonitoringValidationError(DataValidationError):
    """A set of monitoring values with at least one problem; ``data["problems"]`` lists them all."""

    default_code = "monitoring_invalid"


def _is_blank(raw: object) -> bool:
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip() == ""


def _shown(raw: object) -> str:
    text = "" if _is_blank(raw) else str(raw)
    return text if len(text) <= 60 else text[:57] + "…"


def _choice(raw: object, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    wanted = fold(str(raw).strip(), lower=True)
    for value in allowed:
        if fold(value, lower=True) == wanted:
            return value
    raise _Bad("no es un valor permitido (" + ", ".join(allowed) + ")")


def _percent(raw: object) -> float:
    if isinstance(raw, bool):
        raise _Bad("no es un porcentaje")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip().removesuffix("%").strip().replace(",", ".", 1)
        if text.startswith("-") and _NUMBER.match(text[1:]):
            raise _Bad("debe estar entre 0 y 100")
        if not _NUMBER.match(text):
            raise _Bad("no es un porcentaje (número de 0 a 100)")
        value = float(text)
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise _Bad("debe estar entre 0 y 100")
    return round(value, 2)


def _amount(raw: object) -> int:
    if isinstance(raw, bool):
        raise _Bad("no es un monto en pesos")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw) or float(raw) != int(raw):
            raise _Bad("debe ser un número entero de pesos, sin decimales")
        value = int(raw)
    else:
        text = str(raw).strip().removeprefix("$").replace(" ", "")
        if text.startswith("-"):
            raise _Bad("no puede ser negativo")
        if _THOUSANDS.match(text):
            value = int(text.split(",")[0].replace(".", ""))
        elif _PLAIN_WHOLE.match(text):
            value = int(re.split(r"[.,]", text)[0])
        else:
            raise _Bad("debe ser un número entero de pesos (p. ej. 1.250.000), sin decimales")
    if value < 0:
        raise _Bad("no puede ser negativo")
    return value


def _date(raw: object) -> str:
    if isinstance(raw, _dt.datetime):
        day = raw.date()
    elif isinstance(raw, _dt.date):
        day = raw
    else:
        text = str(raw).strip()
        iso, chilean = _ISO_DATE.match(text), _CL_DATE.match(text)
        try:
            if iso:
                day = _dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
            elif chilean:
                day = _dt.date(int(chilean[3]), int(chilean[2]), int(chilean[1]))
            else:
                raise _Bad("no es una fecha AAAA-MM-DD")
        except ValueError as exc:
            if isinstance(exc, _Bad):
                raise
            raise _Bad("no es una fecha del calendario") from exc
    if not DATE_MIN_YEAR <= day.year <= DATE_MAX_YEAR:
        raise _Bad(f"el año debe estar entre {DATE_MIN_YEAR} y {DATE_MAX_YEAR}")
    return day.isoformat()


def _bip(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = re.sub(r"[.\s]", "", str(raw))
    match = _BIP.match(text)
    if not match:
        raise _Bad("no tiene la forma de un código BIP: 8 dígitos, guion y dígito verificador (NNNNNNNN-D)")
    return f"{match[1]}-{match[2]}"


def _text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = _FORMULA_GUARD.sub("", str(raw))
    text = re.sub(r"[\t\r\n]+", " ", text).strip()
    if _CONTROL.search(text):
        raise _Bad("tiene caracteres de control")
    if len(text) > F.TEXT_MAX:
        raise _Bad(f"tiene {len(text)} caracteres; el máximo es {F.TEXT_MAX}")
    return text


def parse_value(name: str, raw: object, units: Iterable[str] | None = None) -> object:
    """The canonical value of field ``name`` read from ``raw``.

    Parameters
    ----------
    name : str
        An editable field of :data:`layers.monitoring.fields.FIELDS`.
    raw : object
        Text as typed, or a cell value (``int``, ``float``, ``datetime.date``); blank means empty.
    units : iterable of str, optional
        Allowed units (default :func:`layers.monitoring.fields.units`), for ``unidad_responsable``.

    Returns
    -------
    str, float, int or None
        ``None`` for a blank value; a ``float`` rounded to 2 decimals for percents (0-100);
        an ``int`` of pesos for amounts; ``"YYYY-MM-DD"`` for dates; ``"NNNNNNNN-D"`` for BIP
        codes; the allowed spelling for list values (matched ignoring case and accents); the
        stripped text otherwise.

    Raises
    ------
    ValueError
        (private subclass) with the Spanish reason, when the value breaks the field's rule.
    KeyError
        When ``name`` is not an editable field.
    """
    spec = F.field(name)
    if spec.kind == "system":
        raise KeyError(name)
    if _is_blank(raw):
        if name == "estado":
            raise _Bad("no puede quedar vacío")
        return None
    if spec.kind == "choice":
        return _choice(raw, spec.values)
    if spec.kind == "unit":
        return _choice(raw, F.units() if units is None else units)
    parser = {"percent": _percent, "amount": _amount, "date": _date, "bip": _bip, "text": _text}[spec.kind]
    return parser(raw)


def as_text(name: str, value: object) -> str:
    """Canonical text of a stored value, as the history and the spreadsheets write it.

    ``None`` and NaN -> ``""``; percents without trailing zeros (``"45.5"``, ``"100"``);
    amounts as plain digits; everything else as is.
    """
    if _is_blank(value):
        return ""
    kind = F.field(name).kind
    if kind == "percent":
        return f"{round(float(value), 2):g}"
    if kind == "amount":
        return str(int(value))
    return str(value)


def check_row(values: Mapping[str, object], today: _dt.date | None = None) -> list[tuple[str, str]]:
    """Rules between fields of one initiative's complete set of values.

    Parameters
    ----------
    values : mapping
        Canonical values by field name (missing fields count as empty).
    today : datetime.date, optional
        Date real dates may not pass (default: today).

    Returns
    -------
    list of (str, str)
        ``(field, reason)`` for each broken rule; empty when the values agree.
    """
    today = today or _dt.date.today()
    out = []
    for start, end in (("fecha_inicio_plan", "fecha_termino_plan"), ("fecha_inicio_real", "fecha_termino_real")):
        a, b = values.get(start), values.get(end)
        if a and b and b < a:
            out.append((end, f"es anterior a {start} ({a})"))
    for name in ("fecha_inicio_real", "fecha_termino_real"):
        day = values.get(name)
        if day and day > today.isoformat():
            out.append((name, "una fecha real no puede ser posterior a hoy"))
    if values.get("fecha_termino_real") and values.get("estado") not in (F.DONE, F.DROPPED):
        out.append(("fecha_termino_real", "solo una iniciativa terminada o descartada tiene término real"))
    return out


def _columns(raw: pd.DataFrame) -> tuple[dict[str, str], list[Problem]]:
    """Map of file column -> field name, and the problems of the header."""
    problems, mapping, seen = [], {}, set()
    for column in raw.columns:
        name = str(column).strip().lower()
        if name in seen:
            problems.append(Problem(None, "", name, "", "la columna está repetida"))
        seen.add(name)
        if name == "id" or name in F.EDITABLE:
            mapping[column] = name
        elif name not in INFO_COLUMNS and name not in F.SYSTEM and name != "version":
            problems.append(Problem(None, "", name, "", "columna desconocida (revise el nombre del campo)"))
    if "id" not in mapping.values():
        problems.append(Problem(None, "", "id", "", "falta la columna «id» con el id de cada iniciativa"))
    return mapping, problems


def _row_values(row: pd.Series, mapping: Mapping[str, str], units: tuple[str, ...],
                fila: int, ident: str) -> tuple[dict[str, object], list[Problem]]:
    values, problems = {}, []
    for column, name in mapping.items():
        if name == "id":
            continue
        try:
            values[name] = parse_value(name, row[column], units)
        except _Bad as exc:
            problems.append(Problem(fila, ident, name, _shown(row[column]), str(exc)))
    return values, problems


def validate_sheet(
    raw: pd.DataFrame,
    known_ids: Iterable[str],
    current: pd.DataFrame | None = None,
    units: Iterable[str] | None = None,
    today: _dt.date | None = None,
) -> pd.DataFrame:
    """Check every row of a monitoring sheet; return its canonical values or refuse it whole.

    Parameters
    ----------
    raw : pandas.DataFrame
        Cells as read (see :mod:`layers.monitoring.sheet`), index = row number in the
        spreadsheet (header is row 1). Column ``id`` and any subset of the editable
        fields; the descriptive columns of the exported matrix (:data:`INFO_COLUMNS`) and
        the system fields are ignored.
    known_ids : iterable of str
        Ids of the plan's initiatives.
    current : pandas.DataFrame, optional
        Current canonical values indexed by ``id`` (the matrix), so that rules between
        fields (dates in order, ...) are checked on the values the row would leave.
    units : iterable of str, optional
        Allowed units (default :func:`layers.monitoring.fields.units`).
    today : datetime.date, optional
        Reference date of the rules on real dates (default today).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``id``, one column per editable field present in the file, canonical
        values (``None`` for empty). Rows that are entirely blank are skipped.

    Raises
    ------
    MonitoringValidationError
        ``data["problems"]``: list of :class:`Problem`, every one found (header, unknown
        or repeated ids, bad values, broken rules between fields); nothing is returned.
    """
    units = tuple(F.units() if units is None else units)
    known = set(known_ids)
    mapping, problems = _columns(raw)
    rows, seen = {}, {}
    if "id" in mapping.values():
        id_column = next(c for c, n in mapping.items() if n == "id")
        for fila, row in raw.iterrows():
            if all(_is_blank(v) for v in row.tolist()):
                continue
            ident = "" if _is_blank(row[id_column]) else str(row[id_column]).strip()
            if not ident:
                problems.append(Problem(fila, "", "id", "", "falta el id de la iniciativa"))
                continue
            if ident not in known:
                problems.append(Problem(fila, ident, "id", ident, "no es el id de una iniciativa del plan"))
                continue
            if ident in seen:
                problems.append(Problem(fila, ident, "id", ident, f"el id ya aparece en la fila {seen[ident]}"))
                continue
            seen[ident] = fila
            values, bad = _row_values(row, mapping, units, fila, ident)
            problems.extend(bad)
            if not bad:
                merged = {} if current is None or ident not in current.index else current.loc[ident].to_dict()
                merged.update(values)
                problems.extend(Problem(fila, ident, name, _shown(merged.get(name)), why)
                                for name, why in check_row(merged, today))
            rows[ident] = values
    if problems:
        n_rows = len({p.fila for p in problems if p.fila is not None})
        where = f" en {n_rows} {'fila' if n_rows == 1 else 'filas'}" if n_rows else ""
        count = "1 problema" if len(problems) == 1 else f"{len(problems)} problemas"
        raise MonitoringValidationError(
            f"La planilla fue rechazada: {count}{where}; no se guardó ningún cambio.",
            problems=problems, n_rows=n_rows,
        )
    columns = [n for n in F.EDITABLE if n in mapping.values()]
    return pd.DataFrame(
        [[values.get(c) for c in columns] for values in rows.values()],
        index=pd.Index(list(rows), name="id", dtype=object), columns=columns, dtype=object,
    )
