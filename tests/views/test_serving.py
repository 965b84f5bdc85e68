"""views.serving: the server's connections get TCP_NODELAY, as Streamlit's pre-bound socket does not."""

from __future__ import annotations

import asyncio
import socket
import threading

from views import serving


def _nodelay_of_accepted(prepare) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on a socket bound like Streamlit's."""
    async def main() -> int:
        listener = socket.socket(family=socket.AF_INET)  # proto 0, as streamlit's _bind_socket
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        prepare()
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def protocol():
            class P(asyncio.Protocol):
                def connection_made(self, transport):
                    sock = transport.get_extra_info("socket")
                    accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            return P()

        server = await asyncio.get_running_loop().create_server(protocol, sock=listener)
        client = socket.create_connection(listener.getsockname())
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            client.close()
            server.close()
            await server.wait_closed()

    # In a thread of its own: an earlier test of the session may leave an event loop running in this one.
    result: list = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(main())))
    worker.start()
    worker.join(30)
    assert result, "the asyncio server did not accept the connection"
    return result[0]


def test_asyncio_leaves_nagle_on_for_a_socket_bound_like_streamlits():
    # The cause: asyncio sets TCP_NODELAY only when the socket's proto is IPPROTO_TCP.
    assert _nodelay_of_accepted(lambda: None) == 0


def test_send_without_delay_gives_the_connections_tcp_nodelay():
    assert _nodelay_of_accepted(lambda: serving.send_without_delay(force=True)) != 0


def test_send_without_delay_leaves_other_sockets_alone():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket(socket.AF_INET) as idle:
        udp.bind(("127.0.0.1", 0))
        idle.bind(("127.0.0.1", 0))  # bound, not listening
        serving.send_without_delay(force=True)
        assert idle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_send_without_delay_runs_once_unless_forced():
    serving.send_without_delay(force=True)
    assert serving.send_without_delay() == 0
