"""Figures of the public-account report (cuenta pública) of the plan for one year.

Ley 18.695 (art. 67) asks the mayor to give account every year of the progress
of the communal development plan and of the investments with their funding
sources. This module computes the tables; :mod:`views.public_account` draws them.

Every table is a :class:`pandas.DataFrame` with Spanish column names, ready for the
HTML report and for the CSV that goes beside it (:func:`tables_csv`).

Status and progress are the *current* record (the date of the data is given);
"finished in the year" uses ``fecha_termino_real`` and "delayed" is judged at the
reference date: 31 December of the year, or today when the year is not over.
"""

from __future__ import annotations

import datetime as _dt
import io

import pandas as pd

from layers import links
from layers.monitoring import fields as F
from layers.monitoring import progress as P

__all__ = ["reference_date", "public_account", "tables_csv", "TABLE_TITLES", "AMOUNTS", "SIN_FUENTE"]

#: Amount fields summed in the report, in pesos.
AMOUNTS = ("monto_estimado_clp", "monto_aprobado_clp", "monto_ejecutado_clp")
#: Label of initiatives without a funding source.
SIN_FUENTE = "Sin fuente registrada"
#: Title of each table of the report, in order.
TABLE_TITLES = {
    "estrategias": "Avance por estrategia",
    "planes": "Avance por plan",
    "fuentes": "Montos por fuente de financiamiento",
    "fuentes_estrategia": "Montos por estrategia y fuente de financiamiento",
    "terminadas": "Iniciativas terminadas en el año",
    "atrasadas": "Iniciativas atrasadas",
    "territorios": "Iniciativas por territorio",
}


def reference_date(year: int, today: _dt.date | None = None) -> _dt.date:
    """31 December of ``year``, or ``today`` when that is earlier."""
    today = today or _dt.date.today()
    return min(_dt.date(year, 12, 31), today)


def _amount_sums(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    values = frame[[key]].copy()
    for column in AMOUNTS:
        values[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
    return values.groupby(key, sort=False)[list(AMOUNTS)].sum()


def _with_amounts(table: pd.DataFrame, joined: pd.DataFrame, key: str) -> pd.DataFrame:
    sums = _amount_sums(joined, key).reindex(table["clave"]).fillna(0).astype("int64")
    return pd.concat([table.reset_index(drop=True), sums.reset_index(drop=True)], axis=1)


def _funding(joined: pd.DataFrame) -> pd.DataFrame:
    frame = joined.assign(fuente=joined["fuente_financiamiento"].map(lambda v: v or SIN_FUENTE))
    order = {name: i for i, name in enumerate([*F.FUENTES, SIN_FUENTE])}
    sums = _amount_sums(frame, "fuente")
    counts = frame.groupby("fuente", sort=False).size().rename("n")
    table = pd.concat([counts, sums], axis=1).reset_index().rename(columns={"index": "fuente"})
    table["_o"] = table["fuente"].map(order)
    return table.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _funding_by_strategy(joined: pd.DataFrame) -> pd.DataFrame:
    """Long table ``estrategia``, ``fuente``, ``n`` and amount sums; only pairs with initiatives."""
    parts = [_funding(joined[joined["estrategia"] == s]).assign(estrategia=s) for s in dict.fromkeys(joined["estrategia"])]
    if not parts:
        return pd.DataFrame(columns=["estrategia", "fuente", "n", *AMOUNTS])
    return pd.concat(parts, ignore_index=True)[["estrategia", "fuente", "n", *AMOUNTS]]


def _listing(joined: pd.DataFrame, mask: pd.Series, extra: list[str]) -> pd.DataFrame:
    columns = ["id", "nombre", "estrategia", "plan", "estado", "unidad_responsable", *extra]
    return joined.loc[mask, columns].reset_index(drop=True)


def _territories(joined: pd.DataFrame, relations: links.Relations, territories: pd.DataFrame,
                 as_of: _dt.date) -> pd.DataFrame:
    specific = relations.specific[["id", "slug"]].drop_duplicates()
    frame = specific.merge(joined.assign(_avance=P.initiative_progress(joined),
                                         _atrasada=P.delayed(joined, as_of)), on="id", how="left")
    frame["monto_aprobado_clp"] = pd.to_numeric(frame["monto_aprobado_clp"], errors="coerce").fillna(0)
    rows = []
    for slug, name in zip(territories["slug"], territories["nombre"]):
        part = frame[frame["slug"] == slug]
        rows.append({
            "territorio": name, "slug": slug, "n": len(part),
            "en_ejecucion": int((part["estado"] == "en ejecución").sum()),
            "terminadas": int((part["estado"] == F.DONE).sum()),
            "atrasadas": int(part["_atrasada"].sum()),
            "avance_conteo": float(part["_avance"].mean()) if part["_avance"].notna().any() else float("nan"),
            "monto_aprobado_clp": int(part["monto_aprobado_clp"].sum()),
        })
    return pd.DataFrame(rows)


def public_account(
    joined: pd.DataFrame,
    relations: links.Relations,
    territories: pd.DataFrame,
    year: int,
    today: _dt.date | None = None,
) -> dict[str, object]:
    """Every table of the public-account report.

    Parameters
    ----------
    joined : pandas.DataFrame
        Initiatives with their monitoring values (:func:`layers.monitoring.progress.join`).
    relations : layers.links.Relations
        :func:`layers.links.relate` of the initiatives with ``territories``; only the
        specific relations (``ubicada``, ``vinculada``) count per territory, since
        communal, urban and rural programmes concern every territory of their kind.
    territories : pandas.DataFrame
        Territory layer (``slug``, ``nombre``) in display order.
    year : int
        Year reported on.
    today : datetime.date, optional
        Today's date (default the system's), for the reference date.

    Returns
    -------
    dict
        ``anio`` (int), ``fecha_referencia`` and ``fecha_datos`` (ISO text; the latest
        ``actualizado_el``, ``""`` when nothing was ever recorded), ``totales`` (dict of
        counts and amounts), and the tables of :data:`TABLE_TITLES`: per strategy and per
        plan (:func:`layers.monitoring.progress.progress` plus amount sums in pesos), per
        funding source (``fuente``, ``n`` and amount sums) overall and per strategy
        (``estrategia``, ``fuente``, ...), finished in the year
        (``fecha_termino_real`` in ``year`` and ``terminada``), delayed at the reference
        date (with ``dias_atraso``), and per territory.
    """
    as_of = reference_date(year, today)
    strategies = _with_amounts(P.progress(joined, "estrategia", as_of), joined, "estrategia")
    plans = _with_amounts(P.progress(joined, "plan", as_of), joined, "plan")
    plans.insert(1, "estrategia", plans["clave"].map(joined.drop_duplicates("plan").set_index("plan")["estrategia"]))
    end_real = joined["fecha_termino_real"].map(lambda v: v if isinstance(v, str) else "")
    finished = (joined["estado"] == F.DONE) & end_real.str.startswith(f"{year:04d}-")
    late = P.delayed(joined, as_of)
    delayed = _listing(joined, late, ["fecha_termino_plan", "avance_fisico"])
    delayed["dias_atraso"] = [(as_of - _dt.date.fromisoformat(d)).days for d in delayed["fecha_termino_plan"]]
    stamps = [v for v in joined["actualizado_el"] if isinstance(v, str) and v]
    totals = {
        "n": len(joined), "terminadas_anio": int(finished.sum()), "atrasadas": int(late.sum()),
        **{estado: int((joined["estado"] == estado).sum()) for estado in F.ESTADOS},
        **{c: int(pd.to_numeric(joined[c], errors="coerce").fillna(0).sum()) for c in AMOUNTS},
    }
    return {
        "anio": int(year), "fecha_referencia": as_of.isoformat(), "fecha_datos": max(stamps) if stamps else "",
        "totales": totals, "estrategias": strategies, "planes": plans, "fuentes": _funding(joined),
        "fuentes_estrategia": _funding_by_strategy(joined),
        "terminadas": _listing(joined, finished, ["fecha_termino_real", "fuente_financiamiento", "monto_ejecutado_clp"]),
        "atrasadas": delayed.sort_values("dias_atraso", ascending=False).reset_index(drop=True),
        "territorios": _territories(joined, relations, territories, as_of),
    }


def tables_csv(figures: dict[str, object]) -> bytes:
    """The report's tables stacked in one CSV (UTF-8 with BOM): a ``tabla`` column, then the union of columns.

    Percentages are written with one decimal and a point; amounts in whole pesos.
    """
    parts = []
    for name in TABLE_TITLES:
        table = figures[name].copy()
        for column in ("avance_conteo", "avance_monto"):
            if column in table:
                table[column] = table[column].round(1)
        table.insert(0, "tabla", name)
        parts.append(table)
    stacked = pd.concat(parts, ignore_index=True, sort=False)
    stacked.insert(1, "anio", figures["anio"])
    stacked = stacked.convert_dtypes()  # counts stay whole numbers beside the blanks of other tables
    buffer = io.StringIO()
    stacked.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")
