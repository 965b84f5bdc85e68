"""Scopes chosen in the app: a planner says which territories an initiative concerns, from a list.

An initiative without a place on the map is linked to territories by its scope
(:data:`layers.links.ALCANCES`): the whole commune, every urban sector, every
rural locality, the territories it names (``territorial``) or none (``extracomunal``).
The shipped, reviewable choice is ``data/vinculos/alcances.csv``; a planner may
replace it for one initiative here, and go back to it.

``alcances_editados`` (editable table, :data:`layers.initiatives.SCOPES_TABLE`, the record)
    One row per initiative whose scope was chosen in the app: ``id``, ``alcance``
    (empty when the planner went back to the shipped link), ``territorios`` (slugs of
    the shipped territory layer, ``;``-separated), ``autor``, ``fecha_hora``,
    ``motivo``, ``version`` (raised by one on every change, for optimistic concurrency).
History
    Appended to the placement history (:data:`layers.access.placing.HISTORY`) with
    ``campo`` ``alcance``, so ``cli.py seguimiento historial`` and the audit page list
    these changes with the drawn geometries. Values read ``<alcance>: <territorio>, …``.

:func:`layers.initiatives.with_sites` lays the chosen scopes over the initiatives the
map, the sector page, the command line and the OGC API read, so the initiative is
re-linked at once by the one relation rule. An initiative with a geometry relates by
its geometry: its scope is not chosen here (remove its place first).
"""

from __future__ import annotations

import datetime as _dt
import re

import pandas as pd

from layers import initiatives, links, selection, store, territory_layers
from layers._errors import SitError, UnknownLayerError
from layers.access import placing, roles
from layers.access.sessions import Session, require_role
from layers.monitoring.history import HISTORY_COLUMNS, StaleVersionError, now_iso

__all__ = [
    "TABLE", "COLUMNS", "FIELD", "REASON_MIN", "ScopeError", "scopes", "territory_choices", "current_scope",
    "set_scope", "restore", "changes_since", "history",
]

TABLE = initiatives.SCOPES_TABLE
COLUMNS: dict[str, str] = {
    "id": "TEXT", "alcance": "TEXT", "territorios": "TEXT", "autor": "TEXT", "fecha_hora": "TEXT",
    "motivo": "TEXT", "version": "INTEGER",
}
#: ``campo`` of the history entries written here.
FIELD = "alcance"
#: Shortest reason accepted, in characters.
REASON_MIN = 3
#: The scope whose territories are chosen from the list.
SPECIFIC = "territorial"


class ScopeError(SitError):
    """A scope that cannot be stored (codes ``unknown_initiative``, ``bad_scope``, ``no_territories``,
    ``territories_not_allowed``, ``unknown_territory``, ``sited_initiative``, ``reason_missing``,
    ``unchanged``, ``not_edited``); nothing is written."""

    default_code = "bad_scope"


def scopes() -> tuple[str, ...]:
    """Scopes an initiative may have (:data:`layers.links.ALCANCES`), in that order."""
    return tuple(links.ALCANCES)


def territory_choices() -> pd.DataFrame:
    """Territories a specific scope may name: ``slug``, ``nombre``, ``tipo`` of the shipped territory layer,
    in its order (the link table and this record name its slugs)."""
    layer = territory_layers.shipped_territories()
    return pd.DataFrame(layer[["slug", "nombre", "tipo"]]).reset_index(drop=True)


def _record(ident: str) -> pd.Series | None:
    try:
        rows = store.read_table(TABLE, where={"id": ident})
    except UnknownLayerError:
        return None
    return rows.iloc[-1] if len(rows) else None


def _initiative(ident: str) -> pd.Series:
    layer = initiatives.with_sites(initiatives.default_sites()).set_index("id")
    if ident not in layer.index:
        raise ScopeError(f"No existe la iniciativa «{str(ident)[:40]}».", code="unknown_initiative",
                         id=str(ident)[:40])
    return layer.loc[ident]


def current_scope(ident: str) -> dict[str, object]:
    """The scope in force for one initiative (public: no role needed).

    Returns
    -------
    dict
        ``alcance`` (str), ``territorios`` (list of slugs of the shipped layer; for an
        initiative with a geometry, those derived from it), ``ubicada`` (bool: it has a
        geometry), ``editado`` (bool: chosen in the app), ``autor`` and ``fecha_hora`` of
        that choice (``""`` otherwise) and ``version`` (int, 0 when never chosen in the app).

    Raises
    ------
    ScopeError
        ``unknown_initiative``.
    """
    row = _initiative(ident)
    record = _record(ident)
    edited = record is not None and bool(record["alcance"])
    geom = row.geometry
    return {
        "alcance": str(row["alcance"] or ""), "territorios": links.split_slugs(row["territorios"]),
        "ubicada": geom is not None and not geom.is_empty, "editado": edited,
        "autor": str(record["autor"] or "") if edited else "", "fecha_hora": str(record["fecha_hora"] or "") if edited else "",
        "version": 0 if record is None else int(record["version"] or 0),
    }


def _check(alcance: object, territorios, motivo: object) -> tuple[str, list[str], str]:
    """Validated (scope, slugs in layer order, reason); raises :class:`ScopeError`."""
    scope = str(alcance or "").strip()
    if scope not in links.ALCANCES:
        raise ScopeError(f"Alcance desconocido: «{scope[:40]}». Alcances posibles: {', '.join(links.ALCANCES)}.",
                         code="bad_scope", alcance=scope[:40], known=list(links.ALCANCES))
    wanted = [str(s).strip() for s in (territorios or []) if str(s).strip()]
    if scope == SPECIFIC and not wanted:
        raise ScopeError("Un alcance territorial debe nombrar al menos un territorio.", code="no_territories")
    if scope != SPECIFIC and wanted:
        raise ScopeError(f"Un alcance «{selection.alcance_label(scope)}» no nombra territorios: vale para todos los "
                         "de su clase.", code="territories_not_allowed", alcance=scope)
    order = list(territory_choices()["slug"])
    unknown = [s for s in dict.fromkeys(wanted) if s not in order]
    if unknown:
        shown = ", ".join(f"«{s[:40]}»" for s in unknown[:5])
        raise ScopeError(f"Territorio desconocido: {shown}.", code="unknown_territory", territorios=unknown)
    reason = re.sub(r"\s+", " ", str(motivo or "")).strip()[:300]
    if len(reason) < REASON_MIN:
        raise ScopeError("Escriba el motivo del cambio; queda en el historial.", code="reason_missing")
    return scope, [s for s in order if s in set(wanted)], reason


def _describe(scope: str, slugs: list[str], names: dict[str, str]) -> str:
    if not scope:
        return ""
    return f"{scope}: {', '.join(names.get(s, s) for s in slugs)}" if slugs else scope


def _write(session: Session, ident: str, scope: str, slugs: list[str], reason: str, version: int,
           before: dict[str, object], shipped_note: str, now: _dt.datetime | None) -> None:
    """Upsert the record and append the history entry in one transaction, if ``version`` is still current."""
    store.define_table(TABLE, COLUMNS, key=["id"])
    store.define_table(placing.HISTORY, HISTORY_COLUMNS, key=None)
    names = dict(zip(*[territory_choices()[c] for c in ("slug", "nombre")]))
    stamp = now_iso(now)
    with store.transaction() as tx:
        rows = tx.read(TABLE, {"id": ident})
        stored = 0 if rows.empty else int(rows.iloc[-1]["version"] or 0)
        if stored != int(version):
            raise StaleVersionError(
                "Otra cuenta cambió el alcance de esta iniciativa mientras usted lo editaba; no se guardó nada.",
                code="stale_version", id=ident, version=int(version), current=stored)
        tx.upsert(TABLE, pd.DataFrame([{
            "id": ident, "alcance": scope, "territorios": links.SEP.join(slugs), "autor": session.nombre,
            "fecha_hora": stamp, "motivo": reason, "version": stored + 1}]))
        new = _describe(scope, slugs, names) or shipped_note
        tx.insert(placing.HISTORY, pd.DataFrame([{
            "id": ident, "campo": FIELD, "valor_anterior": _describe(str(before["alcance"]), before["territorios"], names),
            "valor_nuevo": new, "autor": session.nombre, "fecha_hora": stamp, "motivo": reason,
            "lote": f"{FIELD}-{ident}-{stored + 1}"}]))


def set_scope(session: Session | None, ident: str, alcance: str, territorios, motivo: str, version: int,
              now: _dt.datetime | None = None) -> tuple[Session, dict[str, object]]:
    """Store the scope (and, for ``territorial``, the territories) of an initiative as the session's account.

    Parameters
    ----------
    session : Session or None
        Checked here (``ubicar_iniciativas``) before anything is read.
    ident : str
        Initiative id.
    alcance : str
        One of :data:`layers.links.ALCANCES`.
    territorios : iterable of str
        Slugs of the shipped territory layer (:func:`territory_choices`); at least one for
        ``territorial``, none for the other scopes.
    motivo : str
        Why (at least :data:`REASON_MIN` characters), kept in the history.
    version : int
        ``version`` of :func:`current_scope` the form showed.
    now : datetime.datetime, optional
        Time of the change (tests).

    Returns
    -------
    (Session, dict)
        The refreshed session and the scope now in force (:func:`current_scope`).

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not place initiatives.
    ScopeError
        Bad scope, territories or reason; an initiative with a geometry (``sited_initiative``);
        the same scope and territories as now (``unchanged``). Nothing is written.
    layers.monitoring.history.StaleVersionError
        Someone changed the scope after ``version`` (:func:`changes_since` tells what); nothing is written.
    """
    session = require_role(session, roles.PLACE_INITIATIVES)
    before = current_scope(ident)
    scope, slugs, reason = _check(alcance, territorios, motivo)
    if before["ubicada"]:
        raise ScopeError("La iniciativa tiene un lugar en el mapa y se relaciona por él; retire su ubicación para "
                         "elegir su alcance.", code="sited_initiative", id=ident)
    if int(before["version"]) == int(version) and (scope, slugs) == (before["alcance"], before["territorios"]):
        raise ScopeError("El alcance y los territorios elegidos son los vigentes; no hay nada que guardar.",
                         code="unchanged", id=ident)
    _write(session, ident, scope, slugs, reason, version, before, "", now)
    return session, current_scope(ident)


def restore(session: Session | None, ident: str, motivo: str, version: int,
            now: _dt.datetime | None = None) -> tuple[Session, dict[str, object]]:
    """Go back to the shipped link of an initiative (``data/vinculos/alcances.csv``), recorded in the history.

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not place initiatives.
    ScopeError
        ``unknown_initiative``, ``not_edited`` (no scope chosen in the app is in force), ``reason_missing``.
    layers.monitoring.history.StaleVersionError
        Someone changed the scope after ``version``; nothing is written.
    """
    session = require_role(session, roles.PLACE_INITIATIVES)
    before = current_scope(ident)
    if not before["editado"]:
        raise ScopeError("Esta iniciativa ya tiene el alcance incluido en el sistema.", code="not_edited", id=ident)
    reason = re.sub(r"\s+", " ", str(motivo or "")).strip()[:300]
    if len(reason) < REASON_MIN:
        raise ScopeError("Escriba el motivo del cambio; queda en el historial.", code="reason_missing")
    shipped = store.read_layer(initiatives.LAYER, columns=["id", "alcance", "territorios"], read_geometry=False)
    row = shipped.set_index("id").loc[ident]
    names = dict(zip(*[territory_choices()[c] for c in ("slug", "nombre")]))
    note = "incluido: " + _describe(str(row["alcance"]), links.split_slugs(row["territorios"]), names)
    _write(session, ident, "", [], reason, version, before, note, now)
    return session, current_scope(ident)


def history(ident: str | None = None) -> pd.DataFrame:
    """Scope changes made in the app, oldest first (columns :data:`HISTORY_COLUMNS`)."""
    entries = placing.history(ident)
    return entries[entries["campo"] == FIELD].reset_index(drop=True)


def changes_since(ident: str, version: int) -> pd.DataFrame:
    """History entries of ``ident``'s scope saved after it was at ``version`` (oldest first)."""
    entries = history(ident)
    numbers = entries["lote"].astype(str).str.rsplit("-", n=1).str[-1]
    later = pd.to_numeric(numbers, errors="coerce") > int(version)
    return entries[later.to_numpy()].reset_index(drop=True)
