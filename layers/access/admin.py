"""Account changes an administrator makes in the app: another role, or deactivation.

Each call checks the session on the server (:func:`layers.access.sessions.require_role`,
``administrar_cuentas``) and records the administrator's account as the author in
``cuentas_historial``. An administrator cannot demote or deactivate their own
account (nobody would be left to undo it from the app); the command line can.
Creating accounts and setting passwords stay on the command line, where the password
never passes through a web form.
"""

from __future__ import annotations

from layers.access import accounts, roles
from layers.access.accounts import Account, AccountError
from layers.access.sessions import Session, require_role

__all__ = ["change_role", "deactivate"]


def _not_self(session: Session, nombre: str) -> None:
    if nombre == session.nombre:
        raise AccountError("No puede quitarse a sí mismo el rol de administrador ni desactivar su propia cuenta.",
                           code="own_account", nombre=nombre)


def change_role(session: Session | None, nombre: str, rol: str) -> tuple[Session, Account]:
    """Give account ``nombre`` the role ``rol`` as the session's administrator.

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not manage accounts.
    layers.access.accounts.AccountError
        ``own_account`` (demoting oneself), ``unknown_account``; ``bad_role`` (a SitError).
    """
    session = require_role(session, roles.MANAGE_ACCOUNTS)
    if roles.parse_role(rol) != roles.ADMINISTRADOR:
        _not_self(session, nombre)
    return session, accounts.set_role(nombre, rol, autor=session.nombre)


def deactivate(session: Session | None, nombre: str) -> tuple[Session, Account]:
    """Deactivate account ``nombre`` as the session's administrator (its sessions end at their next page).

    Raises
    ------
    layers.access.roles.AccessDenied
        The session may not manage accounts.
    layers.access.accounts.AccountError
        ``own_account``, ``unknown_account``.
    """
    session = require_role(session, roles.MANAGE_ACCOUNTS)
    _not_self(session, nombre)
    return session, accounts.deactivate(nombre, autor=session.nombre)
