"""The planner passphrase that opens the import in the app, until there are user accounts.

Only a hash of the passphrase is configured, never the passphrase itself:

``SIT_PLANNER_PASSPHRASE_HASH``
    Environment variable with a line made by ``python cli.py passphrase-hash``.
``planner_passphrase_hash``
    The same line in Streamlit's secrets (``.streamlit/secrets.toml``), read by the
    page and passed in; the environment variable wins.

With neither, the app offers no import at all.

The hash line is ``scrypt$<n>$<r>$<p>$<salt_b64>$<hash_b64>``: :func:`hashlib.scrypt`
with a random 16-byte salt and a 32-byte key, both in standard base64. A malformed
line never raises to the caller: it is logged and no passphrase matches it.

Failed attempts are throttled **per client and per account**, never for the
whole process, so that nobody can lock the planners out with wrong guesses of
their own (:func:`register_failure`, :func:`locked_seconds`):

- per client (the connection's address, :func:`client_key`; an IPv6 address
  counts by its /64 network, since one host may hold all of it): each failure
  of that client in the last :data:`WINDOW_S` seconds adds
  :data:`DELAY_PER_FAILURE_S` to its wait (at most :data:`MAX_DELAY_S`), and
  more than :data:`MAX_FAILURES` lock *that client* until they age out;
- per account (``"planificador"`` until there are user accounts): once an
  account has seen more than :data:`MAX_FAILURES` failures in the window, from
  any clients, each further failure on it waits :data:`ACCOUNT_DELAY_PER_FAILURE_S`
  per failure above that number (at most :data:`MAX_ACCOUNT_DELAY_S`), which
  slows guessing spread over many addresses; the account is never locked. A
  right passphrase is never delayed, and a planner who mistypes a few times is
  slowed only by the rule of their own client.

The page passes the client's address (``st.context.ip_address``, the TCP peer
or, behind a reverse proxy on the same host, its ``X-Forwarded-For``); ``None``
(a local connection) is one client, ``"local"``. At most :data:`MAX_CLIENTS`
clients are remembered (the oldest are forgotten first), so that counting
cannot exhaust memory. This module knows nothing about Streamlit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping

from layers._errors import SitError

log = logging.getLogger(__name__)

#: Environment variable holding the hash line.
ENV_VAR = "SIT_PLANNER_PASSPHRASE_HASH"
#: Key of the hash line in Streamlit's secrets.
SECRETS_KEY = "planner_passphrase_hash"
#: Shortest passphrase :func:`hash_passphrase` accepts, in characters.
MIN_LENGTH = 8
#: Bytes of random salt and of derived key.
SALT_BYTES, KEY_BYTES = 16, 32
#: Bounds accepted in a configured line (a huge ``n`` would exhaust memory at each attempt).
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16
#: Largest memory one check may take, in bytes (scrypt uses about ``128 * n * r``).
_MAX_MEMORY = 256 * 1024 * 1024
_PREFIX = "scrypt"

#: Seconds a failed attempt waits, per recent failure of the same client (capped by :data:`MAX_DELAY_S`).
DELAY_PER_FAILURE_S = 0.5
MAX_DELAY_S = 5.0
#: More failures than this from one client within :data:`WINDOW_S` seconds lock that client until they age out.
MAX_FAILURES = 20
WINDOW_S = 300.0
#: Seconds a failed attempt waits per recent failure on the same account above :data:`MAX_FAILURES` (never a lock).
ACCOUNT_DELAY_PER_FAILURE_S = 0.05
MAX_ACCOUNT_DELAY_S = 2.0
#: The one account until there are user accounts.
PLANNER_ACCOUNT = "planificador"
#: Largest number of clients (and accounts) whose failures are remembered.
MAX_CLIENTS = 10_000
#: Key of connections without an address (local ones).
LOCAL_CLIENT = "local"

_clients: OrderedDict[str, deque[float]] = OrderedDict()
_accounts: OrderedDict[str, deque[float]] = OrderedDict()
_failures_lock = threading.Lock()


class PassphraseError(SitError, ValueError):
    """A passphrase that cannot be hashed (too short); ``str(exc)`` is Spanish."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _maxmem(n: int, r: int, p: int) -> int:
    """Memory scrypt needs for these parameters, with room to spare (bytes)."""
    return 128 * r * (n + p + 2) + 1024 * 1024


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_maxmem(n, r, p), dklen=dklen
    )


def hash_passphrase(passphrase: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """The configuration line for a passphrase, with a fresh random salt.

    Parameters
    ----------
    passphrase : str
        At least :data:`MIN_LENGTH` characters; leading and trailing spaces count.
    n, r, p : int
        scrypt cost parameters (``n`` a power of two greater than 1). The defaults
        take about 50 ms and 16 MB per check.

    Returns
    -------
    str
        ``scrypt$<n>$<r>$<p>$<salt_b64>$<hash_b64>``.

    Raises
    ------
    PassphraseError
        When the passphrase is shorter than :data:`MIN_LENGTH`.
    ValueError
        When the cost parameters are out of range.
    """
    if len(passphrase) < MIN_LENGTH:
        raise PassphraseError(f"La clave debe tener al menos {MIN_LENGTH} caracteres.")
    if not _valid_params(n, r, p):
        raise ValueError(f"scrypt parameters out of range: n={n}, r={r}, p={p}")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(passphrase, salt, n, r, p, KEY_BYTES)
    return "$".join([_PREFIX, str(n), str(r), str(p), _b64(salt), _b64(key)])


def _valid_params(n: int, r: int, p: int) -> bool:
    return (
        1 < n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P
        and 128 * n * r <= _MAX_MEMORY
    )


def parse_hash(configured_hash: str) -> tuple[int, int, int, bytes, bytes]:
    """The parts of a hash line: ``(n, r, p, salt, key)``.

    Raises
    ------
    ValueError
        When the line is not a well-formed ``scrypt$...`` line (the message does
        not repeat the line).
    """
    parts = str(configured_hash).strip().split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        raise ValueError("expected scrypt$<n>$<r>$<p>$<salt_b64>$<hash_b64>")
    try:
        n, r, p = (int(v) for v in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError("numbers or base64 of the scrypt line are not valid") from exc
    if not _valid_params(n, r, p):
        raise ValueError(f"scrypt parameters out of range: n={n}, r={r}, p={p}")
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("salt or key of the scrypt line too short")
    return n, r, p, salt, key


def is_valid_hash(configured_hash: str | None) -> bool:
    """True when ``configured_hash`` is a well-formed hash line (no passphrase is checked)."""
    if not configured_hash:
        return False
    try:
        parse_hash(configured_hash)
    except ValueError:
        return False
    return True


def verify_passphrase(passphrase: str, configured_hash: str | None) -> bool:
    """True when ``passphrase`` matches the configured hash line.

    The comparison is constant-time (:func:`hmac.compare_digest`). A missing or
    malformed line logs a warning and returns False; this never raises.

    Parameters
    ----------
    passphrase : str
        What the person typed.
    configured_hash : str or None
        A line made by :func:`hash_passphrase`.

    Returns
    -------
    bool
    """
    if not configured_hash:
        return False
    try:
        n, r, p, salt, key = parse_hash(configured_hash)
    except ValueError as exc:
        log.warning("planner passphrase hash is malformed (%s); no passphrase can match it", exc)
        return False
    try:
        candidate = _derive(str(passphrase), salt, n, r, p, len(key))
    except (ValueError, MemoryError) as exc:  # OpenSSL refusing the parameters
        log.warning("planner passphrase hash cannot be checked (%s)", exc)
        return False
    return hmac.compare_digest(candidate, key)


def configured_hash(env: Mapping[str, str] = os.environ, secrets: Mapping[str, object] | None = None) -> str | None:
    """The hash line configured for planners, or None when there is none.

    Parameters
    ----------
    env : mapping
        Environment (``SIT_PLANNER_PASSPHRASE_HASH``); read at call time.
    secrets : mapping, optional
        Streamlit's secrets as a plain mapping (``planner_passphrase_hash``),
        used when the environment has no line.

    Returns
    -------
    str or None
        The line, stripped; None when neither source gives a non-empty one.
    """
    value = (env.get(ENV_VAR) or "").strip()
    if not value and secrets is not None:
        raw = secrets.get(SECRETS_KEY)
        value = raw.strip() if isinstance(raw, str) else ""
    return value or None


# --------------------------------------------------------------------------- throttling


def client_key(address: str | None) -> str:
    """The key failures of a client are counted under.

    Parameters
    ----------
    address : str or None
        The connection's IP address (``"203.0.113.7"``, ``"2001:db8::1"``); None
        for a local connection.

    Returns
    -------
    str
        The IPv4 address as is; an IPv6 address's /64 network (``"2001:db8::/64"``);
        :data:`LOCAL_CLIENT` for None or an empty value; anything else, cut to 64
        characters.
    """
    if not address:
        return LOCAL_CLIENT
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return str(address)[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _recent(table: OrderedDict[str, deque[float]], key: str, now: float, create: bool = False) -> deque[float]:
    """The failures of ``key`` still inside the window (the caller holds the lock)."""
    times = table.get(key)
    if times is None:
        if not create:
            return deque()
        times = table[key] = deque()
        while len(table) > MAX_CLIENTS:
            table.popitem(last=False)
    table.move_to_end(key)
    while times and now - times[0] > WINDOW_S:
        times.popleft()
    return times


def register_failure(client: str | None = None, account: str = PLANNER_ACCOUNT, now: float | None = None) -> float:
    """Count a failed attempt; return the seconds the caller should wait before answering.

    Parameters
    ----------
    client : str or None
        Address of the client (see :func:`client_key`).
    account : str
        The account tried.
    now : float, optional
        :func:`time.monotonic` seconds (tests).

    Returns
    -------
    float
        The larger of the client's wait (:data:`DELAY_PER_FAILURE_S` per recent
        failure of this client, at most :data:`MAX_DELAY_S`) and the account's
        (:data:`ACCOUNT_DELAY_PER_FAILURE_S` per recent failure on it, from any
        client, above :data:`MAX_FAILURES`; at most :data:`MAX_ACCOUNT_DELAY_S`).
    """
    now = time.monotonic() if now is None else now
    with _failures_lock:
        mine = _recent(_clients, client_key(client), now, create=True)
        mine.append(now)
        theirs = _recent(_accounts, str(account), now, create=True)
        theirs.append(now)
        return max(
            min(MAX_DELAY_S, DELAY_PER_FAILURE_S * len(mine)),
            min(MAX_ACCOUNT_DELAY_S, ACCOUNT_DELAY_PER_FAILURE_S * max(0, len(theirs) - MAX_FAILURES)),
        )


def locked_seconds(client: str | None = None, now: float | None = None) -> float:
    """Seconds until this client's attempts are accepted again (0 when they are accepted now).

    A client is refused while it made more than :data:`MAX_FAILURES` failures
    in the last :data:`WINDOW_S` seconds; other clients are not affected.
    """
    now = time.monotonic() if now is None else now
    with _failures_lock:
        times = _recent(_clients, client_key(client), now)
        if len(times) <= MAX_FAILURES:
            return 0.0
        # Unlocked once enough of the oldest failures age out of the window.
        oldest_to_expire = times[len(times) - MAX_FAILURES - 1]
        return max(0.0, WINDOW_S - (now - oldest_to_expire))


def register_success(client: str | None = None) -> None:
    """Forget the failures of a client that gave the right passphrase."""
    with _failures_lock:
        _clients.pop(client_key(client), None)


def reset_failures() -> None:
    """Forget every failed attempt (tests; a restart does the same)."""
    with _failures_lock:
        _clients.clear()
        _accounts.clear()
