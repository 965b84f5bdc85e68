"""Roles of SIT Vallenar and what each may do.

=================== =====================================================================
Role                May
=================== =====================================================================
``público``         read and download everything (every visitor, no login)
``junta de vecinos`` the same, signed in (comments on its own territories come later)
``planificador``    also edit monitoring, place initiatives, import and remove layers
``administrador``   everything a planner may, and manage accounts and read the audit
=================== =====================================================================

An action is a short name (:data:`ACTIONS`); :func:`allowed` is the one rule that
says whether a role may do it. Pages and the command line never compare role names
themselves. This module knows nothing about the store or Streamlit.
"""

from __future__ import annotations

from layers._errors import SitError

__all__ = [
    "PUBLICO", "JUNTA", "PLANIFICADOR", "ADMINISTRADOR", "ROLES", "ACCOUNT_ROLES", "ACTIONS",
    "VIEW", "EDIT_MONITORING", "PLACE_INITIATIVES", "IMPORT_LAYERS", "REMOVE_LAYERS", "MANAGE_ACCOUNTS", "AUDIT",
    "AccessDenied", "allowed", "parse_role",
]

PUBLICO, JUNTA, PLANIFICADOR, ADMINISTRADOR = "público", "junta de vecinos", "planificador", "administrador"

#: Every role, with what it stands for (Spanish, for people).
ROLES: dict[str, str] = {
    PUBLICO: "Cualquier visitante, sin ingresar: ve y descarga todo.",
    JUNTA: "Junta de vecinos: ve y descarga todo con su cuenta.",
    PLANIFICADOR: "Planificador municipal: además edita el seguimiento, ubica iniciativas e importa o elimina capas.",
    ADMINISTRADOR: "Administrador: todo lo anterior, y además administra las cuentas y revisa la auditoría.",
}
#: Roles an account can have (``público`` is the absence of an account).
ACCOUNT_ROLES: tuple[str, ...] = (JUNTA, PLANIFICADOR, ADMINISTRADOR)

VIEW = "ver"
EDIT_MONITORING = "editar_seguimiento"
PLACE_INITIATIVES = "ubicar_iniciativas"
IMPORT_LAYERS = "importar_capas"
REMOVE_LAYERS = "eliminar_capas"
MANAGE_ACCOUNTS = "administrar_cuentas"
AUDIT = "ver_auditoria"

_EDITORS = (PLANIFICADOR, ADMINISTRADOR)
#: Action -> roles that may perform it.
ACTIONS: dict[str, tuple[str, ...]] = {
    VIEW: (PUBLICO, JUNTA, PLANIFICADOR, ADMINISTRADOR),
    EDIT_MONITORING: _EDITORS,
    PLACE_INITIATIVES: _EDITORS,
    IMPORT_LAYERS: _EDITORS,
    REMOVE_LAYERS: _EDITORS,
    MANAGE_ACCOUNTS: (ADMINISTRADOR,),
    AUDIT: (ADMINISTRADOR,),
}


class AccessDenied(SitError):
    """The session may not perform an action (code ``forbidden``, ``login_required``, ``session_expired``
    or ``account_inactive``; data ``action`` and ``role``)."""

    default_code = "forbidden"


def allowed(role: str | None, action: str) -> bool:
    """True when ``role`` (None means ``público``) may perform ``action``.

    Raises
    ------
    KeyError
        ``action`` is not one of :data:`ACTIONS` (a programming error, never a refusal).
    """
    return (role or PUBLICO) in ACTIONS[action]


def parse_role(text: object) -> str:
    """The account role named by ``text`` (case and accents of ``junta de vecinos`` as typed are tolerated).

    Raises
    ------
    layers._errors.SitError
        Code ``bad_role`` with ``role`` and ``known`` when it names no account role.
    """
    wanted = " ".join(str(text or "").split()).casefold()
    for role in ACCOUNT_ROLES:
        if wanted in (role, role.replace(" ", "_"), role.replace(" ", "-")):
            return role
    raise SitError(
        f"Rol desconocido: «{str(text)[:40]}». Roles posibles: {', '.join(ACCOUNT_ROLES)}.",
        code="bad_role", role=str(text), known=list(ACCOUNT_ROLES),
    )
