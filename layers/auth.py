"""Throttling of failed logins, per client and per account, never for the whole process.

Used by :func:`layers.access.accounts.authenticate` (the shared planner passphrase
that this module once checked is gone: see ``docs/cuentas.md`` for the migration).
Nobody can lock the planners out with wrong guesses of their own
(:func:`register_failure`, :func:`locked_seconds`):

- per client (the connection's address, :func:`client_key`; an IPv6 address
  counts by its /64 network, since one host may hold all of it): each failure
  of that client in the last :data:`WINDOW_S` seconds adds
  :data:`DELAY_PER_FAILURE_S` to its wait (at most :data:`MAX_DELAY_S`), and
  more than :data:`MAX_FAILURES` lock *that client* until they age out;
- per account: failures from every client slow down further failed attempts on
  that account by :data:`ACCOUNT_DELAY_PER_FAILURE_S` each (at most
  :data:`MAX_ACCOUNT_DELAY_S`), but never lock it. A right password is never delayed.

The page passes the client's address (``st.context.ip_address``, the TCP peer
or, behind a reverse proxy on the same host, its ``X-Forwarded-For``); ``None``
(a local connection) is one client, ``"local"``. At most :data:`MAX_CLIENTS`
clients are remembered (the oldest are forgotten first), so that counting
cannot exhaust memory. This module knows nothing about Streamlit.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque

#: Seconds a failed attempt waits, per recent failure of the same client (capped by :data:`MAX_DELAY_S`).
DELAY_PER_FAILURE_S = 0.5
MAX_DELAY_S = 5.0
#: More failures than this from one client within :data:`WINDOW_S` seconds lock that client until they age out.
MAX_FAILURES = 20
WINDOW_S = 300.0
#: Seconds a failed attempt waits per recent failure on the same account above :data:`MAX_FAILURES` (never a lock).
ACCOUNT_DELAY_PER_FAILURE_S = 0.05
MAX_ACCOUNT_DELAY_S = 2.0
#: Account key used when the caller names none.
PLANNER_ACCOUNT = "planificador"
#: Largest number of clients (and accounts) whose failures are remembered.
MAX_CLIENTS = 10_000
#: Key of connections without an address (local ones).
LOCAL_CLIENT = "local"

_clients: OrderedDict[str, deque[float]] = OrderedDict()
_accounts: OrderedDict[str, deque[float]] = OrderedDict()
_failures_lock = threading.Lock()


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
