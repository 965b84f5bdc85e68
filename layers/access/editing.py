"""Monitoring edits made in the app by a signed-in account.

The form of one initiative sends every editable field as typed; this module
checks the role (:func:`layers.access.sessions.require_role`), validates the
values with the same rules and messages as a spreadsheet
(:func:`layers.monitoring.validate.validate_sheet`), and saves them with the
account's name as author and the version the form was read at
(:func:`layers.monitoring.history.apply_changes`): when someone else saved the
initiative in between, nothing is written and :func:`changes_since` tells what
changed meanwhile, so the form can show it and keep what the person typed.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping

import pandas as pd

from layers import monitoring
from layers._errors import SitError
from layers.access import roles
from layers.access.sessions import Session, require_role
from layers.monitoring import fields as F
from layers.monitoring import history, validate
from layers.monitoring.history import ChangeSet

__all__ = ["REASON_MIN", "save_monitoring", "changes_since", "current_record"]

#: Shortest reason for a change accepted in the app, in characters.
REASON_MIN = 3


def current_record(ident: str) -> pd.Series:
    """Current monitoring values and ``version`` of one initiative (public: no role needed).

    Raises
    ------
    layers._errors.SitError
        Code ``unknown_initiative`` when ``ident`` is not an initiative of the plan.
    """
    ids = monitoring.initiatives()["id"]
    if ident not in set(ids):
        raise SitError(f"No existe la iniciativa «{str(ident)[:40]}».", code="unknown_initiative", id=str(ident)[:40])
    return history.current_values([ident]).iloc[0]


def save_monitoring(
    session: Session | None,
    ident: str,
    values: Mapping[str, object],
    motivo: str,
    version: int,
    *,
    today: _dt.date | None = None,
    now: _dt.datetime | None = None,
) -> tuple[Session, ChangeSet]:
    """Save one initiative's monitoring values as the session's account.

    Parameters
    ----------
    session : Session or None
        The page's session (checked here: ``editar_seguimiento``).
    ident : str
        Initiative id.
    values : mapping
        Editable field -> value as typed (text; blank clears the field). Fields not given are not changed.
    motivo : str
        Why (at least :data:`REASON_MIN` characters), kept in each history entry.
    version : int
        ``version`` of the values the form showed.
    today, now : optional
        Reference date of the date rules; time of the change (tests).

    Returns
    -------
    (Session, ChangeSet)
        The refreshed session and the history rows written (none when nothing changed).

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not edit (nothing is read or written).
    layers.monitoring.validate.MonitoringValidationError
        Bad values; ``data["problems"]`` lists each (``campo``, ``motivo``).
    layers.monitoring.history.StaleVersionError
        Someone saved the initiative after ``version``; nothing is written.
    layers._errors.SitError
        ``reason_missing``; ``unknown_initiative``.
    """
    session = require_role(session, roles.EDIT_MONITORING)
    reason = re.sub(r"\s+", " ", str(motivo or "")).strip()
    if len(reason) < REASON_MIN:
        raise SitError("Escriba el motivo del cambio; queda en el historial.", code="reason_missing")
    inits = monitoring.initiatives()
    if ident not in set(inits["id"]):
        raise SitError(f"No existe la iniciativa «{str(ident)[:40]}».", code="unknown_initiative", id=str(ident)[:40])
    unknown = [k for k in values if k not in F.EDITABLE]
    if unknown:
        raise KeyError(f"not editable monitoring fields: {unknown}")
    raw = pd.DataFrame([{"id": ident, **{k: ("" if v is None else v) for k, v in values.items()}}], index=[2])
    current = history.current_values(inits["id"])
    updates = validate.validate_sheet(raw, inits["id"], current=current, today=today)
    changes = history.apply_changes(updates, session.nombre, reason, expected_versions={ident: int(version)}, now=now)
    return session, changes


def changes_since(ident: str, version: int) -> pd.DataFrame:
    """History entries of ``ident`` saved after it was at ``version`` (oldest first).

    The version of an initiative counts its change sets, so these are the entries of
    every change set after the first ``version`` ones (columns
    :data:`layers.monitoring.history.HISTORY_COLUMNS`).
    """
    entries = history.history(ident)
    lots = list(dict.fromkeys(entries["lote"]))
    later = set(lots[int(version):])
    return entries[entries["lote"].isin(later)].reset_index(drop=True)
