"""Progress of the plan: per strategy, plan and programme, by count and weighted by amount; delays.

Rules (documented in ``docs/seguimiento.md``)
--------------------------------------------
- The progress of one initiative is its ``avance_fisico``; with none recorded it is
  100 % when ``terminada`` and 0 % otherwise.
- ``descartada`` initiatives are left out of progress (they will not be done).
- *By count*: the plain mean of the initiatives' progress (each counts the same).
- *Weighted by amount*: the mean weighted by ``monto_aprobado_clp``, or by
  ``monto_estimado_clp`` when no approved amount is recorded; initiatives with
  neither are left out, and the share of initiatives it covers is given beside it.
- The two *differ* when both exist and are at least :data:`DIFFERENCE_PP`
  percentage points apart.
- An initiative is *delayed* (atrasada) when its ``fecha_termino_plan`` is before the
  reference date and it is neither ``terminada`` nor ``descartada``.
- Traffic light: ``rojo`` delayed; ``amarillo`` due within :data:`WARNING_DAYS` days and
  not finished; ``verde`` finished, or due later; ``gris`` no planned end date (or descartada).
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from layers.monitoring import fields as F

__all__ = [
    "DIFFERENCE_PP", "WARNING_DAYS", "SEMAFORO", "join", "initiative_progress", "weights", "progress",
    "delayed", "traffic_light", "LEVELS",
]

#: Percentage points from which the count and amount-weighted progress are shown as different.
DIFFERENCE_PP = 1.0
#: Days before the planned end from which an unfinished initiative shows amber.
WARNING_DAYS = 90
#: Traffic-light colours with their meaning.
SEMAFORO = {
    "rojo": "Atrasada: pasó su término planificado sin terminar",
    "amarillo": f"Vence en {WARNING_DAYS} días o menos",
    "verde": "Terminada o dentro de plazo",
    "gris": "Sin término planificado (o descartada)",
}
#: Grouping levels: key column and name column of :func:`join`'s result.
LEVELS = {"estrategia": ("estrategia", "estrategia_nombre"), "plan": ("plan", "plan_nombre"),
          "programa": ("programa", "programa_nombre")}

_CATALOGUE = ("id", "nombre", "tipo", "estrategia", "estrategia_nombre", "plan", "plan_nombre", "padre", "alcance")


def join(initiatives: pd.DataFrame, matrix: pd.DataFrame) -> pd.DataFrame:
    """Catalogue columns of the initiatives with their monitoring values.

    Parameters
    ----------
    initiatives : pandas.DataFrame
        The initiatives layer (or a frame with at least ``id``, ``nombre``, ``tipo``,
        ``estrategia``, ``estrategia_nombre``, ``plan``, ``plan_nombre``, ``padre``).
    matrix : pandas.DataFrame
        Current values indexed by ``id`` (:func:`layers.monitoring.history.current_values`).

    Returns
    -------
    pandas.DataFrame
        One row per initiative, catalogue order: the catalogue columns, ``programa``
        and ``programa_nombre`` (the programme heading the row: its ``padre``, or itself
        when it heads other rows; empty otherwise) and every monitoring field.
    """
    cols = [c for c in _CATALOGUE if c in initiatives.columns]
    base = pd.DataFrame(initiatives[cols]).reset_index(drop=True).copy()
    padre = [v if isinstance(v, str) and v.strip() else None for v in base["padre"]]
    heads = {p for p in padre if p is not None}
    base["programa"] = pd.Series([p if p is not None else (i if i in heads else None) for i, p in zip(base["id"], padre)],
                                 index=base.index, dtype=object)
    names = base.set_index("id")["nombre"]
    base["programa_nombre"] = base["programa"].map(names)
    fields = matrix.reindex(base["id"]).reset_index(drop=True)
    return pd.concat([base, fields[[c for c in fields.columns if c not in base.columns]]], axis=1)


def initiative_progress(joined: pd.DataFrame) -> pd.Series:
    """Progress of each initiative in per cent (float); NaN for descartada ones."""
    fisico = pd.to_numeric(joined["avance_fisico"], errors="coerce")
    done = joined["estado"] == F.DONE
    value = fisico.where(fisico.notna(), np.where(done, 100.0, 0.0))
    return value.where(joined["estado"] != F.DROPPED).astype(float)


def weights(joined: pd.DataFrame) -> pd.Series:
    """Weight of each initiative in pesos: approved amount, else estimated; NaN when neither."""
    approved = pd.to_numeric(joined["monto_aprobado_clp"], errors="coerce")
    estimated = pd.to_numeric(joined["monto_estimado_clp"], errors="coerce")
    return approved.where(approved.notna(), estimated).astype(float)


def _reference(as_of: _dt.date | None) -> str:
    return (as_of or _dt.date.today()).isoformat()


def delayed(joined: pd.DataFrame, as_of: _dt.date | None = None) -> pd.Series:
    """Boolean mask: past ``fecha_termino_plan`` at ``as_of`` (default today) and not terminada nor descartada."""
    end = joined["fecha_termino_plan"].astype(object)
    has_end = end.map(lambda v: isinstance(v, str) and v != "")
    late = has_end & (end.where(has_end, "9999-12-31").astype(str) < _reference(as_of))
    return (late & ~joined["estado"].isin([F.DONE, F.DROPPED])).astype(bool)


def traffic_light(joined: pd.DataFrame, as_of: _dt.date | None = None) -> pd.Series:
    """Traffic-light colour of each initiative (keys of :data:`SEMAFORO`)."""
    day = as_of or _dt.date.today()
    end = [v if isinstance(v, str) and v else None for v in joined["fecha_termino_plan"]]
    soon = (day + _dt.timedelta(days=WARNING_DAYS)).isoformat()
    out = []
    for estado, when, late in zip(joined["estado"], end, delayed(joined, day)):
        if estado == F.DROPPED or (when is None and estado != F.DONE):
            out.append("gris")
        elif late:
            out.append("rojo")
        elif estado != F.DONE and when <= soon:
            out.append("amarillo")
        else:
            out.append("verde")
    return pd.Series(out, index=joined.index, dtype=object)


def _summary(group: pd.DataFrame) -> pd.Series:
    active = group[group["estado"] != F.DROPPED]
    w = active["_peso"]
    covered = w.notna() & (w > 0)
    by_count = float(active["_avance"].mean()) if len(active) else np.nan
    weighted = float(np.average(active.loc[covered, "_avance"], weights=w[covered])) if covered.any() else np.nan
    row = {
        "n": len(group), "n_activas": len(active), "avance_conteo": by_count, "avance_monto": weighted,
        "n_con_monto": int(covered.sum()), "monto_ponderacion_clp": float(w[covered].sum()),
        "difieren": bool(not np.isnan(weighted) and abs(weighted - by_count) >= DIFFERENCE_PP),
        "atrasadas": int(group["_atrasada"].sum()),
    }
    for estado in F.ESTADOS:
        row[estado] = int((group["estado"] == estado).sum())
    return pd.Series(row)


def progress(joined: pd.DataFrame, level: str, as_of: _dt.date | None = None) -> pd.DataFrame:
    """Progress and status counts per strategy, plan or programme.

    Parameters
    ----------
    joined : pandas.DataFrame
        Result of :func:`join`.
    level : {"estrategia", "plan", "programa"}
        Grouping. ``programa`` groups each programme heading with the rows under it;
        rows under no programme are left out at that level.
    as_of : datetime.date, optional
        Reference date for delays (default today).

    Returns
    -------
    pandas.DataFrame
        One row per group in catalogue order: ``clave``, ``nombre``, ``n`` (initiatives),
        ``n_activas`` (not descartada), ``avance_conteo`` and ``avance_monto`` (per cent;
        NaN when not computable), ``n_con_monto``, ``monto_ponderacion_clp`` (pesos),
        ``difieren`` (bool), ``atrasadas`` and one count column per status of
        :data:`layers.monitoring.fields.ESTADOS`.
    """
    key, name = LEVELS[level]
    frame = joined.assign(_avance=initiative_progress(joined), _peso=weights(joined),
                          _atrasada=delayed(joined, as_of))
    frame = frame[frame[key].notna() & (frame[key].astype(str) != "")]
    order = list(dict.fromkeys(frame[key]))
    names = frame.groupby(key, sort=False)[name].first()
    rows = [_summary(frame[frame[key] == k]).rename(k) for k in order]
    columns = ["n", "n_activas", "avance_conteo", "avance_monto", "n_con_monto", "monto_ponderacion_clp",
               "difieren", "atrasadas", *F.ESTADOS]
    table = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    table.insert(0, "nombre", [names.get(k, k) for k in table.index])
    table.insert(0, "clave", list(table.index))
    for column in ("n", "n_activas", "n_con_monto", "atrasadas", *F.ESTADOS):
        table[column] = table[column].astype(int)
    table["difieren"] = table["difieren"].astype(bool)
    return table.reset_index(drop=True)
