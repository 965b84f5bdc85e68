"""The server's TCP connections send each response at once (``TCP_NODELAY``).

Streamlit (1.67) binds its listening socket itself, as ``socket.socket(family)``, so the
socket's ``proto`` is 0. CPython's asyncio (3.11, ``base_events._set_nodelay``) disables
Nagle's algorithm on an accepted connection only when its ``proto`` is ``IPPROTO_TCP``;
the server's connections therefore keep Nagle. A response written in two parts (headers,
then body: every static file, every map document) then waits for the browser to
acknowledge the first part, and on a kept-alive connection the browser delays that
acknowledgement (40 ms on Linux). Measured on the shipped ``/mapa``: every request after
the first on a connection took 44 ms, about 0.6 s for the page's 80 code chunks over six
connections (``bench/README.md``).

:func:`send_without_delay` sets ``TCP_NODELAY`` on the process's listening TCP sockets,
which Linux passes on to every connection they accept afterwards, and on the connections
already accepted on their ports. It reads the process's descriptors from ``/proc/self/fd``
(``/dev/fd`` elsewhere) and changes nothing when there are none. It imports nothing from
Streamlit.

Streamlit runs no code of the app before the first page view asks for a script run, so the
files a browser fetches before that first run (the first visit after the server starts) still
wait; every later connection, and the first visitor's own after its script ran, do not.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading

__all__ = ["send_without_delay"]

log = logging.getLogger(__name__)

_DONE = threading.Event()
_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _descriptors() -> list[int]:
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return [int(name) for name in os.listdir(folder) if name.isdigit()]
        except OSError:
            continue
    return []


def _tcp_sockets() -> list[socket.socket]:
    """Duplicates of the process's TCP stream sockets (closing one leaves the original open)."""
    found = []
    for fd in _descriptors():
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        if sock.family in _TCP_FAMILIES and sock.type == socket.SOCK_STREAM:
            found.append(sock)
        else:
            sock.close()
    return found


def _port(sock: socket.socket) -> int | None:
    try:
        return sock.getsockname()[1]
    except (OSError, IndexError):
        return None


def send_without_delay(force: bool = False) -> int:
    """Set ``TCP_NODELAY`` on the listening TCP sockets of this process and on their connections.

    Runs once per process (later calls return 0 at once unless ``force``). Meant to be
    called by ``app.py``, inside the Streamlit server process; elsewhere (tests, the
    command line) there is usually no listening socket and nothing changes.

    Parameters
    ----------
    force : bool
        Look again even if an earlier call already did.

    Returns
    -------
    int
        How many sockets had the option set (listening ones and accepted connections).
    """
    if _DONE.is_set() and not force:
        return 0
    _DONE.set()
    sockets = _tcp_sockets()
    try:
        listening = [s for s in sockets if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)]
        ports = {_port(s) for s in listening} - {None}
        changed = 0
        for sock in sockets:
            if sock in listening or _port(sock) in ports:
                try:
                    if not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        changed += 1
                except OSError as exc:  # a connection that just closed
                    log.debug("TCP_NODELAY no aplicado a un socket: %s", exc)
        if changed:
            log.info("TCP_NODELAY en %d sockets del servidor (puertos %s)", changed, sorted(ports))
        return changed
    finally:
        for sock in sockets:
            sock.close()
