"""Monitoring form (``/editar``) for planners: one initiative's fields, a reason, saved under the account's name.

The role is checked on the server before anything else (:func:`pages._access.require`);
the values go through the same validation as a spreadsheet, and the save carries the
version the form was read at (:func:`layers.access.editing.save_monitoring`). When
another person saved the initiative meanwhile, the save is refused and the page shows
what they changed; what this person typed stays in the form, fields they did not touch
take the new stored values, and a second «Guardar» saves over the current version.
``?iniciativa=ID`` opens one initiative.
"""

from __future__ import annotations

import streamlit as st

from layers import monitoring
from layers._errors import SitError
from layers.access import editing, roles
from layers.access.roles import AccessDenied
from layers.monitoring import fields as F
from layers.monitoring.history import StaleVersionError
from layers.monitoring.validate import MonitoringValidationError, as_text
from pages import _access as access
from pages import _shared as shared

shared.run_inside_app()
session = access.require(roles.EDIT_MONITORING)  # nothing below runs for a role that may not edit

PICKER = "editar_iniciativa"
K_BASE = "editar_base"  # ident -> (version, {field: text}) the form was filled from
K_FLASH = "editar_aviso"  # ident -> ("success" | "conflict", payload), shown once after a rerun
REASON = "editar_motivo"


def _key(ident: str, name: str) -> str:
    return f"editar_{ident}_{name}"


def _texts(record) -> dict[str, str]:
    return {name: as_text(name, record[name]) for name in F.EDITABLE}


def _load(ident: str, record, keep: dict[str, str] | None = None) -> None:
    """Fill the form from ``record``; ``keep`` are the person's own values, left as typed."""
    texts = _texts(record)
    for name, text in texts.items():
        st.session_state[_key(ident, name)] = (keep or {}).get(name, text)
    st.session_state.setdefault(K_BASE, {})[ident] = (int(record["version"]), texts)


def _pick(inits) -> str:
    return shared.initiative_picker(inits, PICKER)


def _widget(ident: str, name: str) -> None:
    spec, key = F.field(name), _key(ident, name)
    label = f"{spec.label} · {spec.unit}" if spec.kind not in ("choice", "unit") else spec.label
    if spec.kind in ("choice", "unit"):
        options = list(spec.values if spec.kind == "choice" else F.units())
        if name != "estado":
            options = ["", *options]
        if st.session_state.get(key) not in options:  # a stored value outside the current list stays choosable
            options.append(st.session_state.get(key))
        st.selectbox(label, options, key=key, placeholder="Elija una opción")
    elif spec.kind == "text":
        st.text_area(label, key=key, height=80, max_chars=F.TEXT_MAX)
    else:
        st.text_input(label, key=key)


def _show_flash(ident: str) -> None:
    kind, payload = st.session_state.get(K_FLASH, {}).pop(ident, (None, None))
    if kind == "success":
        st.success(payload)
    elif kind == "error":
        st.error(payload)
    elif kind == "invalid":
        message, problems = payload
        if problems:  # the domain speaks of a sheet's rows; this is one form
            n = len(problems)
            message = "revise este campo." if n == 1 else f"revise estos {n} campos."
        st.error("No se guardó nada: " + message)
        st.markdown("\n".join(
            f"- **{shared.md_escape(F.field(p.campo).label if p.campo in F.FIELD_NAMES else p.campo)}**"
            f"{' «' + shared.md_escape(p.valor) + '»' if p.valor else ''}: {shared.md_escape(p.motivo)}"
            for p in problems))
    elif kind == "conflict":
        entries, both = payload
        st.error("No se guardó: otra persona cambió esta iniciativa mientras usted la editaba. Esto cambió:")
        lines = [
            f"- {shared.md_escape(r.fecha_hora.replace('T', ' ')[:16])} · **{shared.md_escape(r.autor)}** — "
            f"{shared.md_escape(F.field(r.campo).label)}: «{shared.md_escape(r.valor_anterior)}» → "
            f"«{shared.md_escape(r.valor_nuevo)}»" + (f" (motivo: {shared.md_escape(r.motivo)})" if r.motivo else "")
            for r in entries.itertuples(index=False)
        ]
        st.markdown("\n".join(lines))
        note = ("Sus valores siguen en el formulario; los campos que usted no tocó muestran ahora lo guardado por la "
                "otra persona. Revise y pulse «Guardar» de nuevo para guardar sobre la versión actual.")
        if both:
            note += " Ambos cambiaron: " + ", ".join(F.field(n).label for n in both) + "."
        st.warning(note)


def _flash(ident: str, kind: str, payload) -> None:
    st.session_state.setdefault(K_FLASH, {})[ident] = (kind, payload)


def _save(ident: str) -> None:
    """Callback of «Guardar» (runs before the widgets are drawn, so it may refill them)."""
    version, base = st.session_state[K_BASE][ident]
    typed = {name: st.session_state.get(_key(ident, name)) or "" for name in F.EDITABLE}
    try:  # the role is checked again here, on the server, with the tab's current session
        checked, changes = editing.save_monitoring(access.stored(), ident, typed,
                                                   st.session_state.get(REASON, ""), version)
    except AccessDenied as exc:
        _flash(ident, "error", str(exc))
        return
    except MonitoringValidationError as exc:
        _flash(ident, "invalid", (str(exc), exc.data["problems"]))
        return
    except StaleVersionError:
        record = editing.current_record(ident)
        mine = {n: v for n, v in typed.items() if v != base.get(n, "")}
        both = [n for n in mine if as_text(n, record[n]) != base.get(n, "")]
        _load(ident, record, keep=mine)
        _flash(ident, "conflict", (editing.changes_since(ident, version), both))
        return
    except SitError as exc:
        _flash(ident, "error", str(exc))
        return
    access.sign_in(checked)
    n = changes.n_fields
    _flash(ident, "success", f"Guardado: {n} campo{'s' if n != 1 else ''} cambiado{'s' if n != 1 else ''}."
           if n else "No había cambios que guardar.")
    st.session_state[REASON] = ""
    _load(ident, editing.current_record(ident))


st.title("Editar el seguimiento", anchor=False)
st.caption(f"Los cambios quedan en el historial a nombre de la cuenta **{shared.md_escape(session.nombre)}**, "
           "con el motivo que escriba.")
inits = monitoring.initiatives()
ident = _pick(inits)
if ident not in st.session_state.get(K_BASE, {}):
    _load(ident, editing.current_record(ident))
_show_flash(ident)
version, _ = st.session_state[K_BASE][ident]
st.page_link("pages/seguimiento.py", label="Ver la ficha y el historial de esta iniciativa",
             query_params={"iniciativa": ident})
with st.form(f"editar_form_{ident}"):
    left, right = st.columns(2)
    editable = list(F.EDITABLE)
    half = (len(editable) + 1) // 2
    for column, names in ((left, editable[:half]), (right, editable[half:])):
        with column:
            for name in names:
                _widget(ident, name)
    st.text_input("Motivo del cambio", key=REASON, max_chars=300, placeholder="p. ej. Informe trimestral de SECPLAN")
    st.form_submit_button("Guardar", type="primary", on_click=_save, args=(ident,))
st.caption(f"Versión leída: {version}.")
