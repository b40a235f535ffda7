"""uvicorn's h11 protocol with the bounds a server facing untrusted clients needs.

uvicorn times out idle keep-alive connections, but nothing else: a client that opens a
connection and sends its request head a byte at a time (slowloris), or never finishes it, holds
the connection for ever, and the number of open connections has no bound (its
``limit_concurrency`` answers 503 to every request past the limit instead, valid ones included).
This subclass adds, per connection:

* **a head deadline**: the request line and headers must arrive whole within ``header_timeout``
  seconds of the connection opening, or of the first byte after the previous response.  Past it,
  a connection that sent part of a head gets ``408`` with ``{"error": ...}`` and is closed; one
  that sent nothing is closed without an answer (as an idle keep-alive connection is), since an
  answer to a request not yet sent could be read as the answer to the next one.
* **a bound on open connections**: past ``max_connections``, opening one more closes the
  connection that has waited longest without a request in progress (a head not yet complete, or
  idle between requests); when every open connection has a request in progress, the new one is
  closed at once.  A client that sends its request promptly is never the one closed, so valid
  traffic keeps its connections under a flood of stalled ones.

The body deadline is the application's (``tensorwire.server``), which reads the body; idle
keep-alive connections are closed by uvicorn itself after ``keep_alive_timeout``.

This relies on uvicorn's ``H11Protocol`` internals (``cycle``, ``connections``, ``loop``,
``handle_events``, ``on_response_complete``), checked by the server tests against the uvicorn
version the ``serving`` extra allows.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from uvicorn.protocols.http.h11_impl import H11Protocol

_CLOSE = b'connection: close\r\n'


def _raw_response(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps({"error": message})
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n").encode() + _CLOSE + b"\r\n" + body


class Guard:
    """The bounds shared by every connection of one server, and the connections waiting for a
    request (oldest first)."""

    def __init__(self, *, header_timeout: float, max_connections: int) -> None:
        self.header_timeout = float(header_timeout)
        self.max_connections = int(max_connections)
        self.waiting: collections.OrderedDict[Any, None] = collections.OrderedDict()  # protocol -> None, oldest first
        self.closed_for_head = 0  # connections closed at their head deadline
        self.evicted = 0  # connections closed to make room for a new one


def protocol_class(guard: Guard) -> type[H11Protocol]:
    """A subclass of uvicorn's ``H11Protocol`` enforcing ``guard`` (pass it as uvicorn's ``http``)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_timer: asyncio.TimerHandle | None = None
            self._head_started = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's
            super().connection_made(transport)
            if len(self.connections) > guard.max_connections and not self._evict_one():
                self.transport.close()
                return
            self._await_head(started=False)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._await_head(started=True)  # the first bytes after a response: a new head
            elif self._head_timer is not None:
                self._head_started = True
            super().data_received(data)

        def handle_events(self) -> None:
            before = self.cycle
            super().handle_events()
            if self.cycle is not before:  # a request head arrived whole
                self._stop_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self._head_timer is None and (
                    self.cycle is None or self.cycle.response_complete):
                guard.waiting[self] = None  # idle: the first to go when room is needed

        # ------------------------------------------------------------------------------------

        def _await_head(self, started: bool) -> None:
            guard.waiting[self] = None
            guard.waiting.move_to_end(self)
            self._head_started = started
            self._head_timer = self.loop.call_later(guard.header_timeout, self._head_expired)

        def _stop_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            guard.waiting.pop(self, None)

        def _head_expired(self) -> None:
            self._head_timer = None
            guard.waiting.pop(self, None)
            if self.transport.is_closing():
                return
            guard.closed_for_head += 1
            if self._head_started:
                self.transport.write(_raw_response(
                    408, "Request Timeout",
                    f"the request head did not arrive within {guard.header_timeout:g} s"))
            self.transport.close()

        def _evict_one(self) -> bool:
            """Close the connection waiting longest without a request; False if there is none."""
            for other in guard.waiting:
                if other is not self:
                    other._stop_head_timer()  # and out of ``waiting``
                    guard.evicted += 1
                    other.transport.close()
                    return True
            return False

    return GuardedH11Protocol
