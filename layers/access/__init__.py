"""Accounts, roles and sessions: who may do what in SIT Vallenar.

Modules
-------
:mod:`~layers.access.roles`     the four roles, the actions, and the one rule :func:`~layers.access.roles.allowed`;
:mod:`~layers.access.accounts`  accounts in the store, Argon2 hashes, throttled :func:`~layers.access.accounts.authenticate`;
:mod:`~layers.access.sessions`  sessions that expire, and :func:`~layers.access.sessions.require_role`;
:mod:`~layers.access.editing`   monitoring edits made in the app, by an account, with optimistic concurrency.

Nothing here imports Streamlit; ``pages/_access.py`` keeps the session of a browser
tab and calls :func:`require_role` at the top of every edit path.
"""

from __future__ import annotations

from layers.access.roles import (
    ACCOUNT_ROLES,
    ADMINISTRADOR,
    AUDIT,
    EDIT_MONITORING,
    IMPORT_LAYERS,
    JUNTA,
    MANAGE_ACCOUNTS,
    PLACE_INITIATIVES,
    PLANIFICADOR,
    PUBLICO,
    REMOVE_LAYERS,
    ROLES,
    AccessDenied,
    allowed,
)
from layers.access.sessions import Session, check_session, require_role

__all__ = [
    "ACCOUNT_ROLES", "ADMINISTRADOR", "AUDIT", "EDIT_MONITORING", "IMPORT_LAYERS", "JUNTA", "MANAGE_ACCOUNTS",
    "PLACE_INITIATIVES", "PLANIFICADOR", "PUBLICO", "REMOVE_LAYERS", "ROLES", "AccessDenied", "Session", "allowed",
    "check_session", "require_role",
]
