"""Sign-in page (``/ingresar``): an account's name and password, or the municipality's identity provider.

The password is checked by :func:`layers.access.accounts.authenticate` (Argon2,
throttled per client and per account); a session then lives in this tab's
server-side state until it expires or the person signs out (:mod:`pages._access`).
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import streamlit as st

from layers.access import accounts, roles, sessions
from layers.monitoring import history
from pages import _access as access
from pages import _shared as shared

shared.run_inside_app()
log = logging.getLogger(__name__)

K_FORM = "ingresar_form"
K_NAME, K_PASSWORD = "ingresar_nombre", "ingresar_clave"


def _signed_in(session: sessions.Session) -> None:
    ends = dt.datetime.fromtimestamp(session.expires_at(), ZoneInfo(history.TIMEZONE)).strftime("%H:%M")
    st.success(f"Sesión abierta como **{shared.md_escape(session.nombre)}** ({session.rol}).")
    st.caption(f"{roles.ROLES[session.rol]} La sesión se cierra sola tras un tiempo sin uso (a más tardar a las {ends}, "
               "hora de Chile continental, si no la usa).")
    if roles.allowed(session.rol, roles.EDIT_MONITORING):
        st.page_link("pages/editar.py", label="Editar el seguimiento de una iniciativa")
    if roles.allowed(session.rol, roles.AUDIT):
        st.page_link("pages/auditoria.py", label="Auditoría de cambios")
    if st.button("Cerrar sesión", key="ingresar_salir"):
        access.sign_out()
        st.rerun()


def _password_form() -> None:
    with st.form(K_FORM, clear_on_submit=True):
        name = st.text_input("Nombre de cuenta", key=K_NAME, autocomplete="username")
        password = st.text_input("Clave", type="password", key=K_PASSWORD, autocomplete="current-password")
        sent = st.form_submit_button("Ingresar")
    if not sent or not name:
        return
    try:
        account = accounts.authenticate(name, password, st.context.ip_address)
    except accounts.LoginError as exc:
        log.warning("failed login for %r from %s (%s)", name[:40], st.context.ip_address or "local", exc.code)
        st.error(str(exc))
        return
    access.sign_in(sessions.open_session(account))
    log.info("login %s (%s)", account.nombre, account.rol)
    st.rerun()


st.title("Ingresar", anchor=False)
notice = st.session_state.pop(access.K_NOTICE, None)
if notice:
    st.info(notice)
current = access.current()
if current is not None:
    _signed_in(current)
else:
    st.markdown("Ver y descargar el plan no necesita cuenta. Las cuentas son para quienes mantienen el "
                "seguimiento y las ubicaciones (planificadores) y para administrar el sistema.")
    if access.identity_provider_configured():
        if st.button("Ingresar con la cuenta municipal", key="ingresar_oidc"):
            try:
                st.login()
            except Exception:  # Authlib missing or a bad [auth] section: say so, never a traceback
                log.exception("OpenID Connect login is not available")
                st.error("El ingreso con la cuenta municipal no está disponible en este servidor; avise al "
                         "administrador del sistema (ver docs/cuentas.md).")
        user = access._identity_user()
        if user is not None:
            st.warning("Su correo no está registrado en el sistema; pida a un administrador que le cree una cuenta.")
        st.caption("O con una cuenta del sistema:")
    _password_form()
