"""The signed-in account of a browser tab, and the role check every edit page makes first.

The :class:`layers.access.sessions.Session` lives in Streamlit's server-side
session state (:data:`K_SESSION`), never in the URL. Where the municipality's
identity provider is configured (``[auth]`` in ``.streamlit/secrets.toml``),
a person signed in with ``st.login`` gets the session of the active account whose
``correo`` is their e-mail (:func:`layers.access.sessions.from_identity`).

:func:`require` is called at the top of every edit path: it re-checks the session
on the server (:func:`layers.access.sessions.require_role`), and without the right
role it shows why and stops the script, so that nothing below it runs.
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from layers._errors import SitError
from layers.access import roles, sessions
from layers.access.roles import AccessDenied
from layers.access.sessions import Session
from pages._shared import md_escape

log = logging.getLogger(__name__)

K_SESSION = "sit_sesion"
K_NOTICE = "sit_sesion_aviso"
LOGIN_PAGE = "pages/ingresar.py"


def identity_provider_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's OpenID Connect)."""
    try:
        return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))
    except (FileNotFoundError, KeyError, OSError, ValueError):
        return False


def _identity_user() -> dict[str, object] | None:
    if not identity_provider_configured():
        return None
    try:
        user = st.user.to_dict()
    except (AttributeError, KeyError, SitError):
        return None
    return user if user.get("is_logged_in") else None


def stored() -> Session | None:
    """The session as kept, unchecked (for display only; use :func:`current` or :func:`require`)."""
    value = st.session_state.get(K_SESSION)
    return value if isinstance(value, Session) else None


def sign_in(session: Session) -> None:
    """Keep a newly opened session for this tab."""
    st.session_state[K_SESSION] = session
    st.session_state.pop(K_NOTICE, None)


def sign_out(notice: str | None = None) -> None:
    """End this tab's session (and the identity provider's cookie, if it opened it)."""
    session = stored()
    st.session_state.pop(K_SESSION, None)
    if notice:
        st.session_state[K_NOTICE] = notice
    if session is not None and session.via == sessions.OIDC and identity_provider_configured():
        st.logout()


def current() -> Session | None:
    """This tab's valid session, refreshed; None for a public visitor (an expired session is ended)."""
    session = stored()
    if session is None:
        user = _identity_user()
        if user is not None:
            session = sessions.from_identity(user)
            if session is not None:
                sign_in(session)
    try:
        session = sessions.check_session(session)
    except AccessDenied as exc:
        sign_out(str(exc))
        return None
    if session is not None:
        st.session_state[K_SESSION] = session
    return session


def role() -> str:
    """The role of this tab (``público`` without a valid session)."""
    return sessions.role_of(current())


def may(action: str) -> bool:
    """True when this tab's session may perform ``action`` (for showing links; never instead of :func:`require`)."""
    return roles.allowed(role(), action)


def nav_visibility(action: str) -> str:
    """``"visible"`` when the tab's kept session has a role that may perform ``action``, else ``"hidden"``.

    Only decides what the navigation lists (it reads nothing from the store); a hidden
    page is still reachable by its address and refuses by itself (:func:`require`). An
    expired session lists nothing more than the public's.
    """
    session = stored()
    if session is not None and session.expires_at() <= time.time():  # expired: the pages would refuse
        session = None
    return "visible" if roles.allowed(sessions.role_of(session), action) else "hidden"


def require(action: str) -> Session:
    """Check on the server that this tab may perform ``action``; otherwise say why and stop the script.

    Returns
    -------
    layers.access.sessions.Session
        The refreshed session (also kept for the tab).
    """
    try:
        session = sessions.require_role(current(), action)
    except AccessDenied as exc:
        log.info("refused %s to role %s (%s)", action, exc.data.get("role"), exc.code)
        st.title("Acceso restringido", anchor=False)
        notice = st.session_state.pop(K_NOTICE, None)
        st.warning(notice or str(exc))
        if exc.code == "forbidden":
            st.markdown("Su cuenta no tiene el rol necesario. Pida el cambio a un administrador del sistema.")
        else:
            st.page_link(LOGIN_PAGE, label="Ingresar con una cuenta")
        st.stop()
    st.session_state[K_SESSION] = session
    return session


def sidebar_status() -> None:
    """One line in the sidebar: who is signed in, or a link to sign in."""
    session = current()
    if session is None:
        st.sidebar.page_link(LOGIN_PAGE, label="Ingresar")
    else:
        st.sidebar.caption(f"Sesión: {md_escape(session.nombre)} ({session.rol})")
