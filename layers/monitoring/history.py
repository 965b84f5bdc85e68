"""The monitoring record in the store: current values per initiative and the append-only history.

Two editable tables of the store (:func:`layers.store.define_table`), which a
rebuild from ``data/`` never touches:

``seguimiento``
    One row per initiative that ever changed: ``id``, every field of
    :data:`layers.monitoring.fields.FIELDS` and ``version`` (an integer raised by
    one on every change, for optimistic concurrency). An initiative with no row
    has the shipped state: ``estado`` ``sin iniciar`` and every other field empty.
``seguimiento_historial``
    One row per changed field, never updated or deleted: ``id``, ``campo``,
    ``valor_anterior``, ``valor_nuevo`` (canonical text, ``""`` for empty),
    ``autor``, ``fecha_hora`` (ISO 8601 with the offset of America/Santiago),
    ``motivo`` and ``lote`` (one value per call of :func:`apply_changes`, so that a
    bulk import reads as one change set).

:func:`apply_changes` writes both tables in one store transaction: all or nothing.
Values equal to the stored ones add nothing.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from layers import store
from layers._errors import SitError, UnknownLayerError
from layers.monitoring import fields as F
from layers.monitoring.validate import as_text

__all__ = [
    "TABLE", "HISTORY", "HISTORY_COLUMNS", "TIMEZONE", "ChangeSet", "StaleVersionError", "ensure_tables",
    "current_values", "apply_changes", "history", "check_author", "now_iso", "values_at", "from_text",
]

#: Editable table of current values, and of the history.
TABLE, HISTORY = "seguimiento", "seguimiento_historial"
#: Columns of the history table.
HISTORY_COLUMNS: dict[str, str] = {
    "id": "TEXT", "campo": "TEXT", "valor_anterior": "TEXT", "valor_nuevo": "TEXT",
    "autor": "TEXT", "fecha_hora": "TEXT", "motivo": "TEXT", "lote": "TEXT",
}
#: Time zone of the timestamps (the commune's).
TIMEZONE = "America/Santiago"
#: Longest author name, in characters.
AUTHOR_MAX = 120


class StaleVersionError(SitError):
    """Someone changed an initiative after the values being saved were read."""

    default_code = "stale_version"


@dataclass(frozen=True)
class ChangeSet:
    """What :func:`apply_changes` wrote.

    Attributes
    ----------
    lote : str
        Id of this change set in the history.
    entries : pandas.DataFrame
        The history rows written (columns :data:`HISTORY_COLUMNS`); empty when nothing changed.
    """

    lote: str
    entries: pd.DataFrame

    @property
    def n_initiatives(self) -> int:
        """Initiatives with at least one changed field."""
        return int(self.entries["id"].nunique())

    @property
    def n_fields(self) -> int:
        """Changed fields over all initiatives."""
        return len(self.entries)


def now_iso(now: _dt.datetime | None = None) -> str:
    """``now`` (default the current time) in America/Santiago, ISO 8601 with offset, to the second."""
    moment = now or _dt.datetime.now(_dt.UTC)
    return moment.astimezone(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds")


def ensure_tables() -> None:
    """Define both editable tables (idempotent; adds columns a newer version declares)."""
    store.define_table(TABLE, F.storage_columns(), key=["id"])
    store.define_table(HISTORY, HISTORY_COLUMNS, key=None)


def check_author(autor: object) -> str:
    """The author name stripped, or :class:`layers._errors.SitError` ``code="bad_author"``."""
    text = re.sub(r"\s+", " ", str(autor or "")).strip()
    if not text or len(text) > AUTHOR_MAX or any(ord(c) < 32 for c in text):
        raise SitError(f"El autor del cambio debe ser un nombre de 1 a {AUTHOR_MAX} caracteres.", code="bad_author")
    return text


def _stored() -> pd.DataFrame:
    try:
        return store.read_table(TABLE)
    except UnknownLayerError:
        return pd.DataFrame(columns=list(F.storage_columns()))


def _matrix(ids: Iterable[str], stored: pd.DataFrame) -> pd.DataFrame:
    ids = list(ids)
    columns = [*F.FIELD_NAMES, "version"]
    frame = stored.drop_duplicates("id", keep="last").set_index("id").reindex(ids)
    frame = frame.reindex(columns=columns).astype(object)
    frame = frame.where(frame.notna(), None)
    cast = {"amount": int, "percent": float}

    def column(name: str, convert, default=None) -> pd.Series:
        values = [default if v is None else convert(v) for v in frame[name]]
        return pd.Series(values, index=frame.index, dtype=object)

    frame["estado"] = column("estado", str, F.ESTADO_INICIAL)
    frame["version"] = column("version", int, 0)
    for name in F.EDITABLE:
        if F.field(name).kind in cast:
            frame[name] = column(name, cast[F.field(name).kind])
    return frame.rename_axis("id")


def current_values(ids: Iterable[str]) -> pd.DataFrame:
    """The monitoring matrix: current values of every given initiative.

    Parameters
    ----------
    ids : iterable of str
        Initiative ids, in the order wanted (usually the catalogue's).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``id`` (in the given order), columns every field of
        :data:`layers.monitoring.fields.FIELDS` plus ``version``; object dtype with
        canonical values and ``None`` for empty. Initiatives never changed have
        ``estado`` ``"sin iniciar"``, empty fields and ``version`` 0.
    """
    return _matrix(ids, _stored())


def _diff(updates: pd.DataFrame, before: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """``(id, field, old text, new text)`` for every value that changes."""
    out = []
    for ident, row in updates.iterrows():
        for name, value in row.items():
            old, new = as_text(name, before.at[ident, name]), as_text(name, value)
            if old != new:
                out.append((ident, name, old, new))
    return out


def _check_versions(expected: Mapping[str, int] | None, before: pd.DataFrame, ids: Iterable[str]) -> None:
    if not expected:
        return
    stale = [i for i in ids if i in expected and int(before.at[i, "version"]) != int(expected[i])]
    if stale:
        raise StaleVersionError(
            f"Otra persona cambió {', '.join(stale)} mientras se editaba; vuelva a cargar los valores actuales.",
            ids=stale,
        )


def apply_changes(
    updates: pd.DataFrame,
    autor: str,
    motivo: str = "",
    *,
    expected_versions: Mapping[str, int] | None = None,
    now: _dt.datetime | None = None,
) -> ChangeSet:
    """Save monitoring values and their history in one transaction.

    Parameters
    ----------
    updates : pandas.DataFrame
        Indexed by initiative ``id``; columns are editable fields, values canonical (as
        returned by :func:`layers.monitoring.validate.validate_sheet`). Ids must exist in
        the plan (the caller validated them).
    autor : str
        Who makes the change (a free-text name until accounts exist).
    motivo : str, optional
        Why (kept in every history row of this change set).
    expected_versions : mapping of str to int, optional
        ``id -> version`` the values were read at; a different stored version refuses the
        whole change (optimistic concurrency).
    now : datetime.datetime, optional
        Time of the change (default: now), recorded in America/Santiago.

    Returns
    -------
    ChangeSet
        The history rows written; none when every value equals the stored one.

    Raises
    ------
    StaleVersionError
        A version in ``expected_versions`` is out of date; nothing is written.
    layers._errors.SitError
        ``bad_author``, or a store error; nothing is written.
    """
    autor = check_author(autor)
    motivo = re.sub(r"\s+", " ", str(motivo or "")).strip()[: F.TEXT_MAX]
    unknown = [c for c in updates.columns if c not in F.EDITABLE]
    if unknown:
        raise KeyError(f"not editable monitoring fields: {unknown}")
    lote, stamp = uuid.uuid4().hex[:12], now_iso(now)
    ensure_tables()
    with store.transaction() as tx:
        before = _matrix(updates.index, tx.read(TABLE))
        _check_versions(expected_versions, before, updates.index)
        changes = _diff(updates, before)
        entries = pd.DataFrame(changes, columns=["id", "campo", "valor_anterior", "valor_nuevo"]).assign(
            autor=autor, fecha_hora=stamp, motivo=motivo, lote=lote
        )[list(HISTORY_COLUMNS)]
        changed = list(dict.fromkeys(entries["id"]))
        if changed:
            rows = before.loc[changed].copy()
            for ident, name in zip(entries["id"], entries["campo"]):
                rows.at[ident, name] = updates.at[ident, name]
            rows["version"] = rows["version"].map(lambda v: int(v) + 1)
            rows["actualizado_el"], rows["actualizado_por"] = stamp, autor
            tx.upsert(TABLE, rows.reset_index())
            tx.insert(HISTORY, entries)
    return ChangeSet(lote, entries)


def history(ident: str | None = None) -> pd.DataFrame:
    """History entries, oldest first.

    Parameters
    ----------
    ident : str, optional
        Only this initiative's entries.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HISTORY_COLUMNS`; empty (with those columns) when there is none.
    """
    try:
        frame = store.read_table(HISTORY, where={"id": ident} if ident else None)
    except UnknownLayerError:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return frame.reindex(columns=list(HISTORY_COLUMNS)).reset_index(drop=True)


def from_text(name: str, text: object) -> object:
    """A stored value from its canonical history text (``""`` -> ``None``; percents ``float``; amounts ``int``)."""
    if text is None or text == "" or (isinstance(text, float) and text != text):
        return None
    kind = F.field(name).kind
    if kind == "percent":
        return float(text)
    if kind == "amount":
        return int(text)
    return str(text)


def values_at(ids: Iterable[str], moment: _dt.datetime) -> pd.DataFrame:
    """The monitoring matrix as it stood at ``moment``, rebuilt by undoing every later change.

    Parameters
    ----------
    ids : iterable of str
        Initiative ids, in the order wanted.
    moment : datetime.datetime
        Aware date and time; changes recorded after it are undone.

    Returns
    -------
    pandas.DataFrame
        Same layout as :func:`current_values`. ``version`` counts the change sets up to
        ``moment``; ``actualizado_el`` and ``actualizado_por`` are those of the last of them.
    """
    ids = list(ids)
    matrix = current_values(ids)
    entries = history()
    if entries.empty:
        return matrix
    stamps = pd.Series([_dt.datetime.fromisoformat(v) for v in entries["fecha_hora"]], index=entries.index)
    later = entries[(stamps > moment).to_numpy() & entries["id"].isin(ids).to_numpy()]
    for row in later.iloc[::-1].itertuples(index=False):
        if row.campo in F.EDITABLE:
            matrix.at[row.id, row.campo] = from_text(row.campo, row.valor_anterior)
    kept = entries[(stamps <= moment).to_numpy()]
    for ident in later["id"].unique():
        own = kept[kept["id"] == ident]
        matrix.at[ident, "version"] = int(own["lote"].nunique())
        last = own.iloc[-1] if len(own) else None
        matrix.at[ident, "actualizado_el"] = None if last is None else last["fecha_hora"]
        matrix.at[ident, "actualizado_por"] = None if last is None else last["autor"]
    return matrix
