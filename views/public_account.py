"""The printable public-account report (cuenta pública) of the plan, as one self-contained HTML page.

:func:`render` turns the figures of :func:`layers.monitoring.report.public_account`
into HTML from the Jinja2 template ``views/templates/cuenta_publica.html.j2``
(autoescape on: every text from data is escaped) with the stylesheet
``views/templates/cuenta_publica.css`` inlined. The page loads nothing from
anywhere (no script, font, image or link to fetch), prints on A4 and opens the
same with no internet. Progress bars are plain HTML elements sized in per cent.
"""

from __future__ import annotations

import datetime as _dt
import math

import pandas as pd

from layers.monitoring import fields as F
from layers.monitoring import progress as P
from layers.monitoring.report import TABLE_TITLES
from layers.text import format_number
from views import _jinja

__all__ = ["render", "percent", "pesos"]

_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre")


def percent(value: object) -> str:
    """``45.25`` -> ``"45,3 %"``; missing -> ``"—"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    return f"{format_number(float(value), 1)} %"


def pesos(value: object) -> str:
    """``1250000`` -> ``"$ 1.250.000"``; missing -> ``"—"``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"$ {format_number(float(value))}"


def _date_text(iso: str) -> str:
    if not iso:
        return ""
    day = _dt.date.fromisoformat(iso[:10])
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def _bar(value: object) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(number) else max(0.0, min(100.0, number))


def _progress_rows(table: pd.DataFrame) -> list[dict[str, object]]:
    rows = []
    for row in table.to_dict("records"):
        rows.append({
            **row,
            "conteo_txt": percent(row["avance_conteo"]), "monto_txt": percent(row["avance_monto"]),
            "conteo_bar": _bar(row["avance_conteo"]), "monto_bar": _bar(row["avance_monto"]),
            "estados": [(e, int(row[e])) for e in F.ESTADOS if int(row[e])],
            "aprobado_txt": pesos(row["monto_aprobado_clp"]), "ejecutado_txt": pesos(row["monto_ejecutado_clp"]),
        })
    return rows


def _listing(table: pd.DataFrame) -> list[dict[str, str]]:
    out = []
    for row in table.to_dict("records"):
        out.append({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()})
    return out


def render(figures: dict[str, object], generated: _dt.datetime | None = None) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    figures : dict
        Result of :func:`layers.monitoring.report.public_account`, optionally with
        ``fuentes_datos`` (list of str: the sources of the layers).
    generated : datetime.datetime, optional
        Time of generation shown on the page (default now).

    Returns
    -------
    str
        A complete, self-contained HTML5 document (UTF-8 text).
    """
    generated = generated or _dt.datetime.now().astimezone()
    totals = figures["totales"]
    plans_by_strategy: dict[str, list] = {}
    for row in _progress_rows(figures["planes"]):
        plans_by_strategy.setdefault(row["estrategia"], []).append(row)
    funding = [{**r, "aprobado_txt": pesos(r["monto_aprobado_clp"]), "ejecutado_txt": pesos(r["monto_ejecutado_clp"]),
                "estimado_txt": pesos(r["monto_estimado_clp"])} for r in figures["fuentes"].to_dict("records")]
    names = {r["clave"]: r["nombre"] for r in figures["estrategias"].to_dict("records")}
    funding_by_strategy = [
        {**r, "estrategia_nombre": names.get(r["estrategia"], r["estrategia"]), "aprobado_txt": pesos(r["monto_aprobado_clp"]),
         "ejecutado_txt": pesos(r["monto_ejecutado_clp"]), "estimado_txt": pesos(r["monto_estimado_clp"])}
        for r in figures["fuentes_estrategia"].to_dict("records")
    ]
    territories = [{**r, "conteo_txt": percent(r["avance_conteo"]), "aprobado_txt": pesos(r["monto_aprobado_clp"])}
                   for r in figures["territorios"].to_dict("records")]
    return _jinja.render(
        "cuenta_publica.html.j2",
        css=_jinja.stylesheet("cuenta_publica.css"),
        anio=figures["anio"], titles=TABLE_TITLES,
        fecha_referencia=_date_text(figures["fecha_referencia"]),
        fecha_datos=_date_text(figures["fecha_datos"]),
        generado=generated.strftime("%Y-%m-%d %H:%M"),
        totales=totals, estados=F.ESTADOS, semaforo=P.SEMAFORO,
        total_aprobado=pesos(totals["monto_aprobado_clp"]), total_ejecutado=pesos(totals["monto_ejecutado_clp"]),
        total_estimado=pesos(totals["monto_estimado_clp"]),
        estrategias=_progress_rows(figures["estrategias"]), planes=plans_by_strategy,
        fuentes=funding, fuentes_estrategia=funding_by_strategy, terminadas=_listing(figures["terminadas"]), atrasadas=_listing(figures["atrasadas"]),
        territorios=territories, fuentes_datos=figures.get("fuentes_datos", []), al_cierre=bool(figures.get("al_cierre")),
        diferencia_pp=format_number(P.DIFFERENCE_PP, 0), pesos=pesos,
    )
