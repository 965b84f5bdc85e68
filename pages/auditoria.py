"""Audit page (``/auditoria``) for administrators: recent changes by anyone, and what was done to accounts.

Checked on the server first (:func:`pages._access.require` with ``ver_auditoria``).
Reads the monitoring and placement histories (:func:`layers.monitoring.history.history`,
:func:`layers.access.placing.history`) and the
accounts' record (:func:`layers.access.accounts.account_log`), newest first.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from layers._errors import SitError
from layers.access import accounts, admin, placing, roles
from layers.monitoring import fields as F
from layers.monitoring import history
from pages import _access as access
from pages import _shared as shared

shared.run_inside_app()
session = access.require(roles.AUDIT)  # nothing below runs for other roles

LIMIT = "auditoria_limite"
K_ACCOUNT, K_ROLE, K_OFF = "auditoria_cuenta_nombre", "auditoria_cuenta_rol", "auditoria_cuenta_desactivar"
LABELS = {"ubicacion": "Ubicación", "alcance": "Alcance y territorios"}


def _recent(limit: int) -> pd.DataFrame:
    both = pd.concat([history.history(), placing.history()], ignore_index=True)
    order = pd.to_datetime(both["fecha_hora"], utc=True, format="ISO8601")
    entries = both.assign(_t=order.to_numpy()).sort_values("_t", ascending=False, kind="stable").head(limit)
    return pd.DataFrame({
        "Fecha y hora": entries["fecha_hora"], "Cuenta o autor": entries["autor"], "Iniciativa": entries["id"],
        "Campo": [F.field(c).label if c in F.FIELD_NAMES else LABELS.get(c, c) for c in entries["campo"]],
        "Antes": entries["valor_anterior"], "Después": entries["valor_nuevo"], "Motivo": entries["motivo"],
    })


def _account_form() -> None:
    """Another role or deactivation for an account (checked again on the server by layers.access.admin)."""
    listed = accounts.list_accounts()
    active = listed[listed["activa"]]
    if active.empty:
        return
    with st.form("auditoria_cuenta"):
        st.markdown("Cambiar el rol de una cuenta o desactivarla (crear cuentas y claves: `cli.py usuarios`).")
        left, right = st.columns(2)
        name = left.selectbox("Cuenta", list(active["nombre"]), key=K_ACCOUNT)
        role = right.selectbox("Rol nuevo", list(roles.ACCOUNT_ROLES), key=K_ROLE)
        off = st.checkbox("Desactivar la cuenta en vez de cambiar su rol", key=K_OFF)
        sent = st.form_submit_button("Aplicar")
    if not sent:
        return
    try:
        checked, account = (admin.deactivate(access.stored(), name) if off
                            else admin.change_role(access.stored(), name, role))
    except SitError as exc:
        st.error(str(exc))
        return
    access.sign_in(checked)
    state = "activa" if account.activa else "desactivada"
    st.success(f"Cuenta «{account.nombre}»: {account.rol}, {state}.")


st.title("Auditoría", anchor=False)
st.caption("Cambios recientes del seguimiento y de las ubicaciones, de cualquier cuenta, del más nuevo al más antiguo.")
shared.init_widget(LIMIT, 200)
limit = int(st.number_input("Cuántos cambios mostrar", min_value=10, max_value=5000, step=50, key=LIMIT))
st.dataframe(_recent(limit), hide_index=True, width="stretch")
st.markdown("##### Cuentas")
_account_form()
st.dataframe(accounts.list_accounts().rename(columns={
    "nombre": "Cuenta", "rol": "Rol", "correo": "Correo", "activa": "Activa", "con_clave": "Con clave",
    "creada_el": "Creada", "cambiada_el": "Cambiada"}), hide_index=True, width="stretch")
st.markdown("##### Cambios de cuentas")
log = accounts.account_log(limit)
st.dataframe(log.rename(columns={"nombre": "Cuenta", "accion": "Acción", "detalle": "Detalle", "autor": "Hecho por",
                                 "fecha_hora": "Fecha y hora"}), hide_index=True, width="stretch")
