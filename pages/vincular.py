"""Territories of an initiative (``/vincular``), for planners: its scope, and for a specific one the territories,
picked from a list.

The role is checked on the server first (:func:`pages._access.require`) and again
when saving (:func:`layers.access.linking.set_scope` / :func:`~layers.access.linking.restore`).
The save carries the version the page was read at: when another person changed the
initiative's scope meanwhile, nothing is written, the page shows what they did and
keeps this person's choice, and a second «Guardar» saves over the current version.
An initiative with a place on the map relates by it and is sent to ``/ubicar``.
``?iniciativa=ID`` opens one initiative.
"""

from __future__ import annotations

import streamlit as st

from layers import selection
from layers._errors import SitError
from layers.access import linking, roles
from layers.monitoring.history import StaleVersionError
from pages import _access as access
from pages import _shared as shared

shared.run_inside_app()
session = access.require(roles.PLACE_INITIATIVES)  # nothing below runs for a role that may not place

PICKER = "vincular_iniciativa"
REASON = "vincular_motivo"
K_BASE = "vincular_base"  # ident -> version the choice was read at
K_FLASH = "vincular_aviso"  # ident -> (kind, payload), shown once after a rerun


def _key(ident: str, name: str) -> str:
    return f"vincular_{ident}_{name}"


def _load(ident: str, state: dict, keep: bool = False) -> None:
    """Fill the choice from ``state`` (:func:`layers.access.linking.current_scope`); ``keep`` leaves the person's."""
    if not keep:
        st.session_state[_key(ident, "alcance")] = state["alcance"]
        st.session_state[_key(ident, "territorios")] = list(state["territorios"])
    st.session_state.setdefault(K_BASE, {})[ident] = int(state["version"])


def _flash(ident: str, kind: str, payload) -> None:
    st.session_state.setdefault(K_FLASH, {})[ident] = (kind, payload)


def _save(ident: str, restore: bool = False) -> None:
    """Callback of «Guardar» and «Volver al alcance incluido» (runs before the widgets are drawn)."""
    version = st.session_state[K_BASE][ident]
    scope = st.session_state.get(_key(ident, "alcance")) or ""
    chosen = (st.session_state.get(_key(ident, "territorios")) or []) if scope == linking.SPECIFIC else []
    reason = st.session_state.get(REASON, "")
    try:  # the role is checked again here, on the server, with the tab's current session
        checked, state = (linking.restore(access.stored(), ident, reason, version) if restore
                          else linking.set_scope(access.stored(), ident, scope, chosen, reason, version))
    except StaleVersionError:
        _flash(ident, "conflict", linking.changes_since(ident, version))
        _load(ident, linking.current_scope(ident), keep=True)
        return
    except SitError as exc:
        _flash(ident, "error", str(exc))
        return
    access.sign_in(checked)
    _flash(ident, "success", "Se volvió al alcance incluido en el sistema." if restore else "Alcance guardado.")
    st.session_state[REASON] = ""
    _load(ident, state)


def _show_flash(ident: str) -> None:
    kind, payload = st.session_state.get(K_FLASH, {}).pop(ident, (None, None))
    if kind == "success":
        st.success(payload)
    elif kind == "error":
        st.error("No se guardó nada: " + payload)
    elif kind == "conflict":
        st.error("No se guardó: otra persona cambió el alcance de esta iniciativa mientras usted lo editaba. "
                 "Esto cambió:")
        st.markdown("\n".join(
            f"- {shared.md_escape(r.fecha_hora.replace('T', ' ')[:16])} · **{shared.md_escape(r.autor)}** — "
            f"«{shared.md_escape(r.valor_anterior)}» → «{shared.md_escape(r.valor_nuevo)}»"
            + (f" (motivo: {shared.md_escape(r.motivo)})" if r.motivo else "")
            for r in payload.itertuples(index=False)))
        st.warning("Su elección sigue en la página. Revísela y pulse «Guardar» de nuevo para guardar sobre la "
                   "versión actual.")


def _describe(state: dict, names: dict[str, str]) -> str:
    text = f"Alcance vigente: {selection.alcance_label(state['alcance'])}"
    if state["territorios"]:
        text += " — " + ", ".join(names.get(s, s) for s in state["territorios"])
    if state["editado"]:
        text += f" (elegido por {state['autor']} el {state['fecha_hora'][:10]})"
    else:
        text += " (incluido en el sistema)"
    return text + "."


st.title("Territorios de una iniciativa", anchor=False)
st.caption("Elija el alcance de una iniciativa sin lugar en el mapa y, si es territorial, los territorios que le "
           f"conciernen; el cambio queda en el historial a nombre de **{shared.md_escape(session.nombre)}** y los "
           "mapas, la página de cada sector y las descargas lo usan de inmediato.")
ident = shared.initiative_picker(shared.layer("iniciativas"), PICKER)
state = linking.current_scope(ident)
if ident not in st.session_state.get(K_BASE, {}):
    _load(ident, state)
_show_flash(ident)
choices = linking.territory_choices()
names = dict(zip(choices["slug"], choices["nombre"]))
st.markdown(shared.md_escape(_describe(state, names)))
if state["ubicada"]:
    st.info("Esta iniciativa tiene un lugar en el mapa y se relaciona con los territorios donde está. Para elegir "
            "su alcance de una lista, retire antes su ubicación.")
    st.page_link("pages/ubicar.py", label="Ubicar iniciativas", query_params={"iniciativa": ident})
    st.stop()
scope = st.selectbox("Alcance", list(linking.scopes()), key=_key(ident, "alcance"),
                     format_func=selection.alcance_label)
if scope == linking.SPECIFIC:
    kinds = dict(zip(choices["slug"], choices["tipo"]))
    st.multiselect(
        "Territorios", list(choices["slug"]), key=_key(ident, "territorios"),
        format_func=lambda s: shared.searchable_name(f"{names.get(s, s)} · {kinds.get(s, '')}"),
        placeholder="Escriba para buscar un territorio", filter_mode="contains", select_all=False, wrap=True,
    )
else:
    st.caption(selection.relation_scope_note())
st.text_input("Motivo del cambio", key=REASON, max_chars=300, placeholder="p. ej. Acuerdo con la junta de vecinos")
left, right = st.columns(2)
left.button("Guardar", type="primary", key="vincular_guardar", on_click=_save, args=(ident,))
if state["editado"]:
    right.button("Volver al alcance incluido", key="vincular_volver", on_click=_save, args=(ident, True))
st.caption(f"Versión leída: {st.session_state[K_BASE][ident]}.")
