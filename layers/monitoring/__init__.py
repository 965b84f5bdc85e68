"""Monitoring of the plan: status, progress, funding and history of every initiative.

Modules
-------
:mod:`~layers.monitoring.fields`    definitions, allowed values and units;
:mod:`~layers.monitoring.validate`  parsers per kind and a sheet check that collects every problem;
:mod:`~layers.monitoring.history`   the two editable tables of the store (current values, history);
:mod:`~layers.monitoring.sheet`     CSV / .xlsx matrix in and out;
:mod:`~layers.monitoring.progress`  aggregation by strategy, plan and programme; delays;
:mod:`~layers.monitoring.report`    figures of the public-account report.

This module joins them with the store for the edges (``cli.py``, pages): the
operations below read the initiatives from the store's ``iniciativas`` layer.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from layers import store
from layers.monitoring import history, progress, report, sheet, validate
from layers.monitoring.history import ChangeSet

__all__ = ["initiatives", "matrix", "joined", "import_sheet", "export_sheet", "with_monitoring", "account_figures"]


def initiatives() -> pd.DataFrame:
    """The plan's initiatives (catalogue columns, no geometry) from the store, in catalogue order."""
    layer = store.read_layer("iniciativas")
    return pd.DataFrame(layer.drop(columns=layer.geometry.name))


def matrix(inits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Current monitoring values of every initiative (see :func:`layers.monitoring.history.current_values`)."""
    inits = initiatives() if inits is None else inits
    return history.current_values(inits["id"])


def joined(inits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Initiatives with their monitoring values (:func:`layers.monitoring.progress.join`)."""
    inits = initiatives() if inits is None else inits
    return progress.join(inits, history.current_values(inits["id"]))


def import_sheet(path: str | Path, autor: str, motivo: str = "", today: _dt.date | None = None) -> ChangeSet:
    """Validate a whole monitoring sheet, then save it with its history in one transaction.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` or ``.xlsx`` keyed by ``id`` with any subset of the editable fields.
    autor, motivo : str
        Who and why, recorded in every history entry.
    today : datetime.date, optional
        Reference date of the rules on real dates.

    Returns
    -------
    ChangeSet
        History rows written (none when the sheet repeats the stored values).

    Raises
    ------
    layers.monitoring.validate.MonitoringValidationError
        Any bad row: the store is left unchanged; ``data["problems"]`` lists every one.
    layers._errors.InputFileError
        The file cannot be read as a sheet.
    """
    history.check_author(autor)
    raw = sheet.read_sheet(path)
    inits = initiatives()
    current = history.current_values(inits["id"])
    updates = validate.validate_sheet(raw, inits["id"], current=current, today=today)
    return history.apply_changes(updates, autor, motivo)


def export_sheet(path: str | Path) -> tuple[Path, int]:
    """Write the whole matrix to ``path`` (``.csv`` or ``.xlsx``); returns the path and the row count."""
    inits = initiatives()
    frame = sheet.matrix_frame(history.current_values(inits["id"]), inits)
    return sheet.write_sheet(frame, path), len(frame)


def with_monitoring(layer: pd.DataFrame) -> pd.DataFrame:
    """``layer`` (initiatives, any subset and order) with the monitoring fields appended as columns.

    Values are canonical and typed for export: percents ``float``, amounts ``Int64``
    pesos, the rest text (empty as missing). Keeps the geometry and the CRS.
    """
    values = history.current_values(layer["id"].astype(str))
    out = layer.copy()
    for name in values.columns.drop("version"):
        column = values[name].reset_index(drop=True)
        kind = validate.F.field(name).kind
        if kind == "amount":
            column = pd.array(column.tolist(), dtype="Int64")
        elif kind == "percent":
            column = pd.to_numeric(column, errors="coerce").astype(float).to_numpy()
        else:
            column = column.to_numpy()
        out[name] = column
    return out


def account_figures(year: int, today: _dt.date | None = None, at_year_end: bool = False) -> dict[str, object]:
    """Figures of the public-account report from the store.

    Parameters
    ----------
    year : int
        Year reported.
    today : datetime.date, optional
        Today's date (default the system's), for the reference date of delays.
    at_year_end : bool, default False
        By default the monitoring record as it stands now is reported (the public account
        of a year is written in the following months, from what was recorded then; finished
        in the year means ``fecha_termino_real`` in the year). With ``True`` and a year
        already over, the values are those recorded by the end of 31 December
        (America/Santiago), rebuilt from the history (:func:`history.values_at`).

    Returns
    -------
    dict
        See :func:`layers.monitoring.report.public_account`; plus ``fuentes_datos`` and
        ``al_cierre`` (bool, whether the year-end snapshot was used).

    Notes
    -----
    Territories and relations follow the one relation rule
    (:func:`layers.territory_layers.relations`) with the default sites
    (:func:`layers.initiatives.default_sites`), as the map and the command line do, so the
    report works when the shipped territory layer was replaced by an import.
    """
    from zoneinfo import ZoneInfo

    from layers import initiatives as initiatives_mod
    from layers import territory_layers

    registry = store.list_layers()
    layer = initiatives_mod.with_sites(initiatives_mod.default_sites(registry), registry)
    territories, relations = territory_layers.relations(layer, territory_layers.SHIPPED_NAME, registry)
    inits = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    snapshot = at_year_end and year < (today or _dt.date.today()).year
    if snapshot:
        end = _dt.datetime(year, 12, 31, 23, 59, 59, tzinfo=ZoneInfo(history.TIMEZONE))
        values = history.values_at(inits["id"], end)
    else:
        values = history.current_values(inits["id"])
    figures = report.public_account(progress.join(inits, values), relations, territories, year, today)
    figures["fuentes_datos"] = _sources()
    figures["al_cierre"] = snapshot
    return figures


def _sources() -> list[str]:
    reg = store.list_layers().set_index("nombre")
    out = []
    for name in ("iniciativas", "territorios"):
        if name in reg.index:
            out.append(f"{reg.at[name, 'titulo']}: {reg.at[name, 'fuente']} ({reg.at[name, 'fecha']})")
    out.append("Seguimiento: registro de la Municipalidad de Vallenar en el sistema (tablas «seguimiento» e historial).")
    return out
