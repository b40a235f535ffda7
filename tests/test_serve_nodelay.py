"""The HTTP server's connections have TCP_NODELAY.

``tensorwire bench`` measured ~44 ms for every request after the first on a kept-alive
connection with small bodies (a 32x32x4 tile): the answer went out in two writes and the
second waited for the client's delayed ACK (Nagle).  asyncio sets TCP_NODELAY on an accepted
socket only when its ``proto`` is IPPROTO_TCP, which it inherits from the listening socket.
This checks that mechanism itself, not a timing (which could flake)."""

import asyncio
import socket

from tensorwire.server import _listen


def test_accepted_connections_get_tcp_nodelay_from_asyncio():
    listener = _listen("127.0.0.1", 0)
    client = socket.create_connection(listener.getsockname()[:2], timeout=10)
    listener.settimeout(10)
    conn, _ = listener.accept()
    try:
        assert conn.proto == socket.IPPROTO_TCP
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # not set by accept itself

        async def adopt():
            transport, _ = await asyncio.get_running_loop().connect_accepted_socket(asyncio.Protocol, conn)
            try:
                return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            finally:
                transport.close()

        assert asyncio.run(asyncio.wait_for(adopt(), 10)) != 0
    finally:
        client.close()
        conn.close()
        listener.close()
