"""Sessions of signed-in accounts: expiry, the account re-read on every page, and the role check.

A :class:`Session` is what a page keeps for a signed-in person (in Streamlit's
server-side session state, never in the URL or a cookie of ours). It holds the
account's name, the role it had, how it signed in (``clave`` or ``oidc``), and two
times in seconds since the epoch: the login and the last activity.

:func:`require_role` is the one check every edit path calls first, on the server:
it refuses without a session, ends a session idle for longer than
:func:`layers.settings.session_idle_seconds` or older than
:func:`layers.settings.session_max_seconds`, re-reads the account from the store
(a deactivated account or a changed role takes effect at the next page), and
refuses a role that may not perform the action (:func:`layers.access.roles.allowed`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

from layers import settings
from layers.access import accounts, roles
from layers.access.roles import AccessDenied

__all__ = ["Session", "open_session", "from_identity", "check_session", "require_role", "role_of", "CLAVE", "OIDC"]

#: How a session was opened: with the account's password, or through the identity provider.
CLAVE, OIDC = "clave", "oidc"


@dataclass(frozen=True)
class Session:
    """A signed-in person.

    Attributes
    ----------
    nombre : str
        Account name (recorded as the author of every change).
    rol : str
        Role at the last check.
    via : str
        :data:`CLAVE` or :data:`OIDC`.
    inicio, ultimo : float
        Login and last activity, seconds since the epoch (UTC).
    """

    nombre: str
    rol: str
    via: str
    inicio: float
    ultimo: float

    def expires_at(self) -> float:
        """When the session ends if nothing happens (seconds since the epoch): the earlier of both limits."""
        return min(self.ultimo + settings.session_idle_seconds(), self.inicio + settings.session_max_seconds())


def open_session(account: accounts.Account, via: str = CLAVE, now: float | None = None) -> Session:
    """A new session for an active account (after :func:`layers.access.accounts.authenticate`)."""
    now = time.time() if now is None else now
    return Session(account.nombre, account.rol, via, now, now)


def from_identity(user: Mapping[str, object], now: float | None = None) -> Session | None:
    """The session of a person the identity provider signed in (Streamlit's ``st.user``), or None.

    The person's ``email`` (only when the provider reports ``email_verified`` true, or does not
    report it) is looked up among the active accounts' ``correo``; no account, no session: a
    person the municipality did not register stays ``público``.
    """
    if not user or not user.get("is_logged_in", True):
        return None
    if user.get("email_verified") is False:
        return None
    account = accounts.by_email(str(user.get("email") or ""))
    return None if account is None else open_session(account, OIDC, now)


def check_session(session: Session | None, now: float | None = None) -> Session | None:
    """The session still valid, with its activity time and role refreshed; None for no session.

    Raises
    ------
    AccessDenied
        ``session_expired`` (idle or too old), ``account_inactive`` (deactivated or removed).
    """
    if session is None:
        return None
    now = time.time() if now is None else now
    if now - session.ultimo > settings.session_idle_seconds() or now - session.inicio > settings.session_max_seconds():
        raise AccessDenied("La sesión expiró; ingrese de nuevo.", code="session_expired", action="", role=session.rol)
    account = accounts.get(session.nombre)
    if account is None or not account.activa:
        raise AccessDenied("La cuenta ya no está activa.", code="account_inactive", action="", role=session.rol)
    return replace(session, rol=account.rol, ultimo=now)


def role_of(session: Session | None) -> str:
    """The role of a (checked) session; ``público`` without one."""
    return roles.PUBLICO if session is None else session.rol


def require_role(session: Session | None, action: str, now: float | None = None) -> Session:
    """Check, on the server, that this session may perform ``action``; return it refreshed.

    Parameters
    ----------
    session : Session or None
        What the page holds (None: a public visitor).
    action : str
        One of :data:`layers.access.roles.ACTIONS`.
    now : float, optional
        Seconds since the epoch (tests).

    Returns
    -------
    Session
        With the current role and activity time: the caller keeps it.

    Raises
    ------
    AccessDenied
        ``login_required`` (no session), ``session_expired``, ``account_inactive``, or
        ``forbidden`` (the role may not), with data ``action`` and ``role``.
    """
    if session is None:
        raise AccessDenied("Para esto debe ingresar con una cuenta que lo permita.", code="login_required",
                           action=action, role=roles.PUBLICO)
    checked = check_session(session, now)
    if not roles.allowed(checked.rol, action):
        raise AccessDenied(f"El rol «{checked.rol}» no permite esta acción.", code="forbidden", action=action,
                           role=checked.rol)
    return checked
