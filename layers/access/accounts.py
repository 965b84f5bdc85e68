"""Accounts of SIT Vallenar, kept in the store, with Argon2 password hashes.

Two editable tables of the store (:func:`layers.store.define_table`; a rebuild
from ``data/`` never touches them):

``cuentas``
    One row per account: ``nombre`` (the login name, the key), ``rol`` (one of
    :data:`layers.access.roles.ACCOUNT_ROLES`), ``clave_hash`` (an Argon2id string
    made by :class:`argon2.PasswordHasher`, empty for accounts that sign in only
    through the identity provider), ``correo`` (the e-mail the identity provider
    gives, lower case, or empty), ``activa`` (1 or 0), ``creada_el``,
    ``cambiada_el`` (ISO 8601, America/Santiago).
``cuentas_historial``
    Append-only record of what was done to accounts: ``nombre``, ``accion``
    (``crear``, ``rol``, ``desactivar``, ``clave``), ``detalle``, ``autor``,
    ``fecha_hora``.

Passwords are never stored nor logged: only :mod:`argon2`'s encoded hash (its
own format, with the parameters and salt inside). An account is never deleted
(its name stays in the monitoring history); it is deactivated.

:func:`authenticate` checks a login with per-client and per-account throttling
(:mod:`layers.auth`); sessions are in :mod:`layers.access.sessions`.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import argon2
import pandas as pd

from layers import auth, store
from layers._errors import SitError, UnknownLayerError
from layers.access import roles
from layers.monitoring.history import now_iso

__all__ = [
    "TABLE", "LOG", "PRIVATE_TABLES", "COLUMNS", "LOG_COLUMNS", "MIN_PASSWORD", "NAME_RULE", "Account", "AccountError",
    "LoginError", "ensure_tables", "check_name", "check_password", "create", "set_role", "deactivate",
    "set_password", "list_accounts", "get", "by_email", "account_log", "authenticate",
]

TABLE, LOG = "cuentas", "cuentas_historial"
#: Tables that never leave the system (password hashes, e-mail addresses): no export, no download, no OGC API.
PRIVATE_TABLES = (TABLE, LOG)
COLUMNS: dict[str, str] = {
    "nombre": "TEXT", "rol": "TEXT", "clave_hash": "TEXT", "correo": "TEXT", "activa": "INTEGER",
    "creada_el": "TEXT", "cambiada_el": "TEXT",
}
LOG_COLUMNS: dict[str, str] = {"nombre": "TEXT", "accion": "TEXT", "detalle": "TEXT", "autor": "TEXT", "fecha_hora": "TEXT"}
#: Shortest password accepted, in characters.
MIN_PASSWORD = 10
#: Longest password accepted, in characters (Argon2 takes any length; this bounds the work per attempt).
MAX_PASSWORD = 256
#: Login names: lower-case letters, digits, ``.``, ``_``, ``-``; 2 to 40 characters, starting with a letter.
NAME_RULE = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
#: Prefix of the account keys of :mod:`layers.auth`'s per-account throttle.
THROTTLE_PREFIX = "cuenta:"


class AccountError(SitError):
    """A bad account operation (codes ``bad_name``, ``bad_password``, ``bad_email``, ``account_exists``,
    ``unknown_account``, ``bad_role``)."""

    default_code = "bad_account"


class LoginError(SitError):
    """A refused login: code ``bad_credentials``, or ``login_locked`` with ``seconds`` to wait."""

    default_code = "bad_credentials"


@dataclass(frozen=True)
class Account:
    """One account as stored (never with its hash)."""

    nombre: str
    rol: str
    correo: str
    activa: bool
    con_clave: bool


@functools.lru_cache(maxsize=1)
def _hasher() -> argon2.PasswordHasher:
    """Argon2id with the library's defaults (RFC 9106 low-memory profile: t=3, 64 MiB, p=4)."""
    return argon2.PasswordHasher()


@functools.lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash no password is known for: verified when the account does not exist, so both take as long."""
    return _hasher().hash(f"decoy-{time.time_ns()}")


def ensure_tables() -> None:
    """Define both tables (idempotent)."""
    store.define_table(TABLE, COLUMNS, key=["nombre"])
    store.define_table(LOG, LOG_COLUMNS, key=None)


def check_name(nombre: object) -> str:
    """The login name, or :class:`AccountError` ``bad_name``."""
    text = str(nombre or "").strip()
    if not NAME_RULE.match(text):
        raise AccountError(
            "El nombre de cuenta debe tener de 2 a 40 caracteres: letras minúsculas sin tilde, dígitos, "
            "punto, guion o guion bajo, y empezar con una letra.", code="bad_name", nombre=text[:60],
        )
    return text


def check_password(clave: object) -> str:
    """The password as given, or :class:`AccountError` ``bad_password`` (too short or too long)."""
    text = str(clave or "")
    if not MIN_PASSWORD <= len(text) <= MAX_PASSWORD:
        raise AccountError(f"La clave debe tener entre {MIN_PASSWORD} y {MAX_PASSWORD} caracteres.",
                           code="bad_password")
    return text


def _check_email(correo: object) -> str:
    text = str(correo or "").strip().casefold()
    if text and not _EMAIL.match(text):
        raise AccountError(f"Correo no válido: «{text[:60]}».", code="bad_email", correo=text[:60])
    return text


def _rows(where: dict | None = None) -> pd.DataFrame:
    try:
        return store.read_table(TABLE, where)
    except UnknownLayerError:
        return pd.DataFrame(columns=list(COLUMNS))


def _account(row: pd.Series) -> Account:
    return Account(str(row["nombre"]), str(row["rol"]), str(row["correo"] or ""),
                   bool(int(row["activa"] or 0)), bool(row["clave_hash"]))


def get(nombre: str) -> Account | None:
    """The account called ``nombre`` (active or not), or None."""
    found = _rows({"nombre": str(nombre)})
    return None if found.empty else _account(found.iloc[-1])


def by_email(correo: str) -> Account | None:
    """The active account whose ``correo`` is ``correo`` (compared in lower case), or None."""
    wanted = str(correo or "").strip().casefold()
    if not wanted:
        return None
    found = _rows({"correo": wanted})
    found = found[found["activa"].fillna(0).astype(int) == 1]
    return None if found.empty else _account(found.iloc[-1])


def list_accounts() -> pd.DataFrame:
    """Every account, by name: columns ``nombre``, ``rol``, ``correo``, ``activa`` (bool), ``con_clave`` (bool),
    ``creada_el``, ``cambiada_el``. Never the hashes."""
    rows = _rows().sort_values("nombre")
    return pd.DataFrame({
        "nombre": rows["nombre"], "rol": rows["rol"], "correo": rows["correo"].fillna(""),
        "activa": rows["activa"].fillna(0).astype(int) == 1, "con_clave": rows["clave_hash"].fillna("") != "",
        "creada_el": rows["creada_el"], "cambiada_el": rows["cambiada_el"],
    }).reset_index(drop=True)


def account_log(limit: int | None = None) -> pd.DataFrame:
    """What was done to accounts, newest first (columns :data:`LOG_COLUMNS`)."""
    try:
        frame = store.read_table(LOG)
    except UnknownLayerError:
        frame = pd.DataFrame(columns=list(LOG_COLUMNS))
    frame = frame.iloc[::-1].reset_index(drop=True)
    return frame if limit is None else frame.head(limit)


def _write(row: dict[str, object], accion: str, detalle: str, autor: str, *, must_exist: bool) -> None:
    ensure_tables()
    with store.transaction() as tx:
        existing = tx.read(TABLE, {"nombre": row["nombre"]})
        if must_exist and existing.empty:
            raise AccountError(f"No existe la cuenta «{row['nombre']}».", code="unknown_account", nombre=row["nombre"])
        if not must_exist and not existing.empty:
            raise AccountError(f"La cuenta «{row['nombre']}» ya existe.", code="account_exists", nombre=row["nombre"])
        full = {**(existing.iloc[-1].to_dict() if not existing.empty else {}), **row}
        tx.upsert(TABLE, pd.DataFrame([full])[list(COLUMNS)])
        tx.insert(LOG, pd.DataFrame([{"nombre": row["nombre"], "accion": accion, "detalle": detalle,
                                      "autor": str(autor)[:120], "fecha_hora": full["cambiada_el"]}]))


def create(nombre: str, rol: str, clave: str | None, *, correo: str = "", autor: str = "sistema") -> Account:
    """Create an active account.

    Parameters
    ----------
    nombre : str
        Login name (:data:`NAME_RULE`).
    rol : str
        One of :data:`layers.access.roles.ACCOUNT_ROLES`.
    clave : str or None
        Password (:data:`MIN_PASSWORD` to :data:`MAX_PASSWORD` characters), hashed with Argon2id;
        None for an account that signs in only through the identity provider (then ``correo`` is needed).
    correo : str, optional
        E-mail the identity provider reports for this person.
    autor : str
        Who creates it (kept in ``cuentas_historial``).

    Raises
    ------
    AccountError
        Bad name, password or e-mail; an existing name (``account_exists``); no password and no e-mail.
    layers._errors.SitError
        ``bad_role``.
    """
    nombre, rol, correo = check_name(nombre), roles.parse_role(rol), _check_email(correo)
    if clave is None and not correo:
        raise AccountError("Una cuenta sin clave necesita el correo con que ingresa por el proveedor de identidad.",
                           code="bad_password")
    hashed = "" if clave is None else _hasher().hash(check_password(clave))
    stamp = now_iso()
    _write({"nombre": nombre, "rol": rol, "clave_hash": hashed, "correo": correo, "activa": 1,
            "creada_el": stamp, "cambiada_el": stamp}, "crear", rol, autor, must_exist=False)
    return get(nombre)


def set_role(nombre: str, rol: str, *, autor: str = "sistema") -> Account:
    """Give an existing account another role (effective at the next page the person opens)."""
    rol = roles.parse_role(rol)
    _write({"nombre": str(nombre), "rol": rol, "cambiada_el": now_iso()}, "rol", rol, autor, must_exist=True)
    return get(nombre)


def deactivate(nombre: str, *, autor: str = "sistema") -> Account:
    """Deactivate an account: it can no longer sign in, and its open sessions end at their next page."""
    _write({"nombre": str(nombre), "activa": 0, "cambiada_el": now_iso()}, "desactivar", "", autor, must_exist=True)
    return get(nombre)


def activate(nombre: str, *, autor: str = "sistema") -> Account:
    """Reactivate a deactivated account (its password and role are as they were).

    Raises
    ------
    layers._errors.SitError
        No account of that name (as :func:`deactivate`).
    """
    _write({"nombre": str(nombre), "activa": 1, "cambiada_el": now_iso()}, "activar", "", autor, must_exist=True)
    return get(nombre)


def set_password(nombre: str, clave: str, *, autor: str = "sistema") -> Account:
    """Replace the password of an existing account (and reactivate nothing)."""
    hashed = _hasher().hash(check_password(clave))
    _write({"nombre": str(nombre), "clave_hash": hashed, "cambiada_el": now_iso()}, "clave", "", autor,
           must_exist=True)
    return get(nombre)


def _verify(hashed: str, clave: str) -> bool:
    try:
        return _hasher().verify(hashed, clave)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def _rehash_if_needed(nombre: str, hashed: str, clave: str) -> None:
    """Store a fresh hash when the library's parameters changed since this one was made."""
    try:
        if _hasher().check_needs_rehash(hashed):
            with store.transaction() as tx:
                tx.upsert(TABLE, tx.read(TABLE, {"nombre": nombre}).assign(clave_hash=_hasher().hash(clave)))
    except SitError:  # a failed upgrade never refuses a right password
        pass


def authenticate(nombre: str, clave: str, client: str | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> Account:
    """Check a login; slow down and count failures per client and per account.

    Parameters
    ----------
    nombre, clave : str
        What the person typed.
    client : str or None
        The connection's address (:func:`layers.auth.client_key`); None for a local one.
    sleep : callable
        Waits the throttling delay after a failure before answering (tests may count instead).

    Returns
    -------
    Account
        The active account.

    Raises
    ------
    LoginError
        ``login_locked`` (data ``seconds``) when this client made too many recent failures
        (nothing is checked); ``bad_credentials`` for an unknown, inactive or password-less
        account or a wrong password, after waiting the delay :func:`layers.auth.register_failure`
        gives. The message never says which part was wrong.
    """
    wait = auth.locked_seconds(client)
    if wait > 0:
        minutes = max(1, int(-(-wait // 60)))
        raise LoginError(f"Demasiados intentos fallidos desde esta conexión; intente de nuevo en {minutes} min.",
                         code="login_locked", seconds=wait)
    name = str(nombre or "").strip()[:60]
    text = str(clave or "")[:MAX_PASSWORD + 1]
    found = _rows({"nombre": name}) if NAME_RULE.match(name) else pd.DataFrame(columns=list(COLUMNS))
    row = None if found.empty else found.iloc[-1]
    hashed = str(row["clave_hash"] or "") if row is not None else ""
    active = row is not None and int(row["activa"] or 0) == 1
    ok = _verify(hashed or _decoy_hash(), text) and bool(hashed) and active and len(text) <= MAX_PASSWORD
    if not ok:
        sleep(auth.register_failure(client, account=THROTTLE_PREFIX + name))
        raise LoginError("Nombre de cuenta o clave incorrectos.", code="bad_credentials")
    auth.register_success(client)
    _rehash_if_needed(name, hashed, text)
    return _account(row)
