"""Host ``predict_fn`` for Earth Engine or any client: HTTP (Starlette on uvicorn) and gRPC.

Needs the ``serving`` extra (``pip install "tensorwire[serving]"``: starlette, uvicorn, grpcio).

HTTP follows the Vertex AI custom-container contract: the port is ``AIP_HTTP_PORT``, the routes
``AIP_PREDICT_ROUTE`` (POST) and ``AIP_HEALTH_ROUTE`` (GET, answers ``{"status": "ok"}``); the
defaults are 8080, ``/predict`` and ``/health``.  gRPC serves
``/tensorflow.serving.PredictionService/Predict`` on its own port (default 8500, TF Serving's),
started only when a gRPC format is configured.  Answers:

=======================================================  ====  ==================
case                                                     HTTP  gRPC
=======================================================  ====  ==================
predictions                                              200   OK
the request does not decode, holds no instances, is in   400   INVALID_ARGUMENT
a format not taken, or asks for unknown outputs
the request head or body did not arrive in time          408   (gRPC's own)
(``header_timeout``, ``body_timeout``)
a body over ``max_body_bytes``                           413   RESOURCE_EXHAUSTED
more than ``max_pending`` requests of a transport,       503   RESOURCE_EXHAUSTED
or bodies held past ``max_buffered_bytes``
the shutdown grace ran out before the answer             503   UNAVAILABLE
``predict_fn`` raised or returned a wrong count, or any  500   INTERNAL
other failure while answering
=======================================================  ====  ==================

HTTP errors are ``{"error": "<message>"}`` (what Vertex and TF Serving send, and what
:class:`tensorwire.PredictionError` reads); gRPC errors carry the message as their details
(messages are cut to 4,000 characters as gRPC percent-encodes them, where a byte outside
printable ASCII counts 3: gRPC refuses status metadata past 8 KiB).
A body over the limit is refused from its ``Content-Length`` before any of it is read, or,
when it is sent chunked, as soon as what has arrived passes the limit.

Decoding, ``predict_fn`` and encoding run in worker threads (one pool per transport, of
``max_pending`` daemon threads; ``tensorwire._workers``), so ``predict_fn`` may be called from
several threads at once;
``max_concurrency=1`` serialises it.  One process serves both ports; uvicorn's own ``--workers``
is not used, since ``predict_fn`` is an object, not an import string.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, overload

import orjson

from ._model import Failure, Formats, Model, PredictFn
from ._workers import DaemonPool, Job

if TYPE_CHECKING:
    import grpc
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Receive

    from ._http_guard import Guard
    from .payload import DecodeDType


@dataclasses.dataclass(frozen=True)
class Limits:
    """The server's bounds; :func:`serve` and ``python -m tensorwire serve`` take each by name.

    What a client sees when one is hit is the README's "Reliability" table.
    """

    #: bytes of one request body or gRPC message; over it: 413 / RESOURCE_EXHAUSTED
    max_body_bytes: int = 64 << 20
    #: HTTP predict requests, and separately gRPC calls, being decoded, predicted or encoded at
    #: once (a request counts from the end of its body); more: 503 / RESOURCE_EXHAUSTED.  None:
    #: no limit (HTTP then runs at most 256 at once and queues the rest)
    max_pending: int | None = 64
    #: bytes of request bodies held at once (being received or handled); a body that would pass
    #: it: 503, before it is read when its length is announced
    max_buffered_bytes: int = 1 << 30
    #: open HTTP connections; one more closes the one waiting longest without a request
    max_connections: int = 1024
    #: seconds for a request head (request line and headers) to arrive whole, from the
    #: connection's opening or the first byte after the previous response; past it: 408, closed
    header_timeout: float = 10.0
    #: seconds for a request body to arrive whole, from the end of its head; past it: 408, closed
    body_timeout: float = 60.0
    #: seconds an HTTP connection may stay open idle between requests
    keep_alive_timeout: float = 5.0
    #: seconds requests in flight may take to finish once a stop is asked; past it: 503 /
    #: UNAVAILABLE for each, and the process (under ``python -m tensorwire serve``) exits
    shutdown_grace: float = 5.0

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_buffered_bytes", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.max_pending is not None and self.max_pending < 1:
            raise ValueError(f"max_pending must be at least 1 (or None: no limit), not {self.max_pending}")
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {getattr(self, name)}")
        if not self.shutdown_grace >= 0:
            raise ValueError(f"shutdown_grace must be 0 or more seconds, not {self.shutdown_grace}")


DEFAULTS = Limits()
DEFAULT_MAX_BODY_BYTES = DEFAULTS.max_body_bytes
DEFAULT_HOST = "0.0.0.0"  # every interface, as a container's server must
DEFAULT_GRPC_PORT = 8500  # TF Serving's
_UNBOUNDED_WORKERS = 256  # HTTP worker threads when max_pending is None
_IDLE_SECONDS = 1.0  # idle this long, the server gives freed memory back (give_back_when_idle);
# a worker thread idle twice as long ends, so a burst's threads (and their stacks) do not stay

_HTTP_STATUS = {"bad_request": 400, "internal": 500, "abandoned": 503}
_CLOSE = {"connection": "close"}


def _error(status: int, message: str, close: bool = False) -> Response:
    from starlette.responses import Response

    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json",
                    headers=_CLOSE if close else None)


class _Refused(Exception):
    """A body refused while it is read: ``status`` and ``message`` are the answer's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Budget:
    """Bytes of request bodies held at once, across the server's HTTP requests (event loop only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self, n: int) -> None:
        if self.held + n > self.limit:
            raise _Refused(503, f"the server holds {self.held:,} bytes of request bodies already "
                                f"(max_buffered_bytes={self.limit:,}); try again")
        self.held += n


async def _read_body(request: Request, limits: Limits, budget: _Budget, taken: list[int]) -> bytes:
    """The request body, read under ``limits`` (size, deadline) and ``budget`` (``taken[0]`` is
    what this request holds of it).  Raises :class:`_Refused`, or starlette's ClientDisconnect."""
    limit = limits.max_body_bytes
    too_large = _Refused(413, f"the request body is over the server's limit of {limit:,} bytes")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit():
        if int(length) > limit:
            raise too_large
        budget.take(int(length))
        taken[0] += int(length)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        if size > taken[0]:  # chunked, or more than announced (h11 refuses the latter)
            budget.take(size - taken[0])
            taken[0] = size
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(handle: Callable[[bytes, Job], bytes], body: bytes, job: Job) -> tuple[str, Any]:
    """``("ok", response bytes)`` or ``(status, message)``: ``handle(body, job)`` with any
    exception turned into an answer, so that whatever goes wrong the client gets a message and the
    server goes on.  Nothing raised leaves this function, so no traceback (and no frame holding
    the body) outlives the answer."""
    try:
        return "ok", handle(body, job)
    except Failure as exc:
        return exc.status, exc.message
    except Exception as exc:  # noqa: BLE001
        return "internal", f"the server failed: {type(exc).__name__}: {exc}"


async def _first(*awaitables: Awaitable[Any]) -> tuple[int, asyncio.Future[Any]]:
    """Wait for the first of ``awaitables`` (futures or coroutines) to finish and cancel the
    others.  Returns ``(index, task)`` of the one that finished."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
    return next((i, t) for i, t in enumerate(tasks) if t in done)


async def _disconnected(receive: Receive) -> None:
    """Returns once the client of a request whose body was read whole goes away."""
    while (await receive())["type"] != "http.disconnect":
        pass


class _HttpState:
    """What the HTTP application and :class:`Server` share: the stop signal, the workers, counters."""

    def __init__(self, limits: Limits, give_back_when_idle: bool = False) -> None:
        self.give_back_when_idle = give_back_when_idle
        self._idle_timer: asyncio.TimerHandle | None = None
        self.active = 0  # predict requests from arrival to answer (bodies being read included)
        self.pending = 0  # requests being handled; only the event loop's thread touches these
        self.budget = _Budget(limits.max_buffered_bytes)
        self.workers = DaemonPool(limits.max_pending or _UNBOUNDED_WORKERS, "tensorwire-http", _IDLE_SECONDS * 2)
        self.stopping: asyncio.Event | None = None  # an asyncio.Event, made on the loop at the first request
        self.abandoned = 0  # requests whose client left before their answer
        self.cut_at_shutdown = 0  # requests answered 503 when the shutdown grace ran out
        self.timed_out = 0  # bodies that did not arrive within body_timeout

    def stop_event(self) -> asyncio.Event:
        if self.stopping is None:
            self.stopping = asyncio.Event()
        return self.stopping

    def arrived(self) -> None:
        self.active += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def left(self) -> None:
        """A request is answered; once none has been active for a second, freed memory goes back
        to the kernel (``give_back_when_idle``; see ``tensorwire._malloc``)."""
        self.active -= 1
        if self.active == 0 and self.give_back_when_idle:
            self._idle_timer = asyncio.get_running_loop().call_later(_IDLE_SECONDS, self._give_back)

    def _give_back(self) -> None:
        from ._malloc import give_back

        self._idle_timer = None
        give_back()


def make_app(model: Model, *, predict_route: str, health_route: str, limits: Limits = DEFAULTS,
             state: _HttpState | None = None) -> Starlette:
    """The Starlette application serving ``model`` (a :class:`tensorwire._model.Model`).

    A predict request is read under ``limits`` (body size, body deadline, the buffered-bytes
    budget) before it takes one of the ``max_pending`` places; it then runs in a worker thread
    while the client is watched: a client that goes away abandons the work (not started if still
    queued; the answer dropped), and a stop whose grace runs out answers 503."""
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response
    from starlette.routing import Route

    state = state or _HttpState(limits)

    async def predict(request: Request) -> Response:
        stopping = state.stop_event()
        taken = [0]
        state.arrived()
        try:
            try:
                which, read = await _first(asyncio.wait_for(_read_body(request, limits, state.budget, taken),
                                                            limits.body_timeout), stopping.wait())
                if which == 1:
                    return _error(503, "the server is shutting down; try again", close=True)
                body = read.result()
                del read
            except _Refused as exc:
                return _error(exc.status, exc.message, close=True)
            except asyncio.TimeoutError:
                state.timed_out += 1
                return _error(408, f"the request body did not arrive within {limits.body_timeout:g} s", close=True)
            except ClientDisconnect:
                return Response(status_code=400)  # nobody reads it
            if limits.max_pending is not None and state.pending >= limits.max_pending:
                return _error(503, f"the server is handling {limits.max_pending} requests already; try again")
            state.pending += 1
            try:
                return await _predict(request, body, stopping)
            finally:
                state.pending -= 1
        finally:
            state.budget.held -= taken[0]
            state.left()

    async def _predict(request: Request, body: bytes, stopping: asyncio.Event) -> Response:
        job = Job()
        work = asyncio.wrap_future(state.workers.submit(_answer, model.handle_json, body, job))
        del body  # the worker holds it while it needs it
        which, _ = await _first(work, _disconnected(request.receive), stopping.wait())
        if which != 0:
            job.abandon()
            work.cancel()  # dropped if still queued
            if which == 1:
                state.abandoned += 1
                return Response(status_code=499)  # nobody reads it
            state.cut_at_shutdown += 1
            return _error(503, "the server shut down before the prediction finished; try again", close=True)
        status, answer = work.result()
        if status != "ok":
            return _error(_HTTP_STATUS[status], answer)
        return Response(answer, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route(predict_route, predict, methods=["POST"]),
                             Route(health_route, health, methods=["GET"])])


def _grpc_server(model: Model, host: str, port: int, limits: Limits, workers: DaemonPool,
                 counts: dict[str, int]) -> tuple[grpc.Server, int]:
    """A started gRPC server and its port; ``counts["abandoned"]`` counts the calls given up
    (cancelled or past their deadline) before their answer."""
    import grpc

    codes = {"bad_request": grpc.StatusCode.INVALID_ARGUMENT, "internal": grpc.StatusCode.INTERNAL}

    def predict(request: bytes, context: grpc.ServicerContext) -> Any:  # the response's bytes
        job = Job()
        if not context.add_callback(job.abandon) or not context.is_active():
            job.abandon()  # cancelled, or past its deadline, while it waited for a worker
        status, answer = _answer(model.handle_grpc, request, job)
        if status == "ok":
            return answer
        if status == "abandoned":
            counts["abandoned"] += 1  # under the GIL; a lost increment would only skew the count
            context.abort(grpc.StatusCode.CANCELLED, answer)
        context.abort(codes[status], answer)

    # No (de)serializers: the request arrives and the response leaves as bytes, our codec's.
    handler = grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService", {"Predict": grpc.unary_unary_rpc_method_handler(predict)}
    )
    server = grpc.server(
        workers,  # type: ignore[arg-type]  # grpc calls only submit(), which DaemonPool has
        # so_reuseport off: a second server on a taken port fails instead of sharing its calls
        options=[("grpc.max_receive_message_length", limits.max_body_bytes), ("grpc.max_send_message_length", -1),
                 ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=limits.max_pending,
    )
    server.add_generic_rpc_handlers((handler,))
    try:
        bound = server.add_insecure_port(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    except RuntimeError as exc:  # grpcio's "Failed to bind"
        raise OSError(f"gRPC: cannot listen on {host}:{port}: {exc}") from None
    if bound == 0:
        raise OSError(f"gRPC: cannot listen on {host}:{port}")
    server.start()
    return server, bound


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: the accepted sockets inherit it, and asyncio sets
    # TCP_NODELAY only on sockets whose proto says TCP.  Without it an answer written in two
    # parts (head, body) waited for the client's delayed ACK: ~44 ms for every request on a kept-
    # alive connection whose answer fits in a few segments (tensorwire bench, 32x32x4 tiles).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Server:
    """A running server (from :func:`serve` with ``block=False``).

    ``http_url`` is the predict URL (``http://host:port/predict``), ``health_url`` the health
    URL, ``grpc_target`` ``host:port`` or None; ``http_port``/``grpc_port`` the bound ports
    (useful with port 0); ``limits`` the :class:`Limits` in force.  :meth:`stop` shuts both down;
    :meth:`wait` blocks until they stop, stopping them on Ctrl-C or SIGTERM when called from the
    main thread; :meth:`stats` counts what the bounds refused.
    """

    _thread: threading.Thread  # the HTTP server's, set when it starts
    _guard: Guard
    _sock: socket.socket

    def __init__(self, model: Model, *, host: str, http_port: int | None, grpc_port: int | None,
                 predict_route: str | None, health_route: str | None, limits: Limits = DEFAULTS,
                 grpc_workers: int | None = None, access_log: bool = False, log_level: str = "warning",
                 give_back_when_idle: bool = False) -> None:
        self.model = model
        self.limits = limits
        # The Vertex contract's defaults, read in this one place.
        self.predict_route = predict_route or os.environ.get("AIP_PREDICT_ROUTE", "/predict")
        self.health_route = health_route or os.environ.get("AIP_HEALTH_ROUTE", "/health")
        if http_port is None:
            http_port = int(os.environ.get("AIP_HTTP_PORT", "8080"))
        self._state = _HttpState(limits, give_back_when_idle)
        self._grpc: grpc.Server | None = None
        self._grpc_workers: DaemonPool | None = None
        self._grpc_counts = {"abandoned": 0}
        self._stop_requested = threading.Event()  # set by SIGTERM once stop_on_sigterm() ran
        self._sigterm_installed = False
        self._sigterm_restore: Any = None  # the handler SIGTERM had before (signal.signal's answer)
        self._uvicorn: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self.grpc_port: int | None = None
        self.grpc_target: str | None = None
        sock = _listen(host, http_port)
        self.http_port: int = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.http_url = f"http://{shown}:{self.http_port}{self.predict_route}"
        self.health_url = f"http://{shown}:{self.http_port}{self.health_route}"
        try:
            if model.grpc_formats and grpc_port is not None:
                self._start_grpc(host, grpc_port, grpc_workers)
                self.grpc_target = f"{shown}:{self.grpc_port}"
            self._start_http(sock, access_log, log_level)
        except BaseException:
            self._abort(sock)
            raise
        self._sock = sock

    def _start_grpc(self, host: str, port: int, workers: int | None) -> None:
        self._grpc_workers = DaemonPool(workers or self.limits.max_pending or _UNBOUNDED_WORKERS, "tensorwire-grpc",
                                        _IDLE_SECONDS * 2)
        self._grpc, self.grpc_port = _grpc_server(self.model, host, port, self.limits, self._grpc_workers,
                                                  self._grpc_counts)

    def _start_http(self, sock: socket.socket, access_log: bool, log_level: str) -> None:
        import uvicorn

        from ._http_guard import Guard, protocol_class

        app = make_app(self.model, predict_route=self.predict_route, health_route=self.health_route,
                       limits=self.limits, state=self._state)
        self._guard = Guard(header_timeout=self.limits.header_timeout, max_connections=self.limits.max_connections)
        # uvicorn's annotations say int seconds; it uses them as any number of seconds
        config = uvicorn.Config(app, lifespan="off", access_log=access_log, log_level=log_level,
                                http=protocol_class(self._guard),
                                timeout_keep_alive=self.limits.keep_alive_timeout,  # type: ignore[arg-type]
                                timeout_graceful_shutdown=self.limits.shutdown_grace + 5)  # type: ignore[arg-type]
        self._uvicorn = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run_http, args=(sock,), name="tensorwire-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start (see uvicorn's log above)")
            time.sleep(0.01)

    def _run_http(self, sock: socket.socket) -> None:
        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            self._state.stop_event()  # made on this loop, before any request
            await self._http.serve(sockets=[sock])

        asyncio.run(run())

    @property
    def _http(self) -> uvicorn.Server:
        """The uvicorn server (there is one once ``__init__`` has returned)."""
        if self._uvicorn is None:
            raise RuntimeError("the HTTP server was not started")
        return self._uvicorn

    def _abort(self, sock: socket.socket) -> None:
        """Undo a start that failed half-way."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
            if self._thread.is_alive():
                self._thread.join(10)
        sock.close()
        if self._grpc is not None:
            self._grpc.stop(None)
        if self._grpc_workers is not None:
            self._grpc_workers.shutdown()

    def stats(self) -> dict[str, int]:
        """Counts since the start: ``abandoned`` (HTTP requests whose client left before the
        answer), ``grpc_abandoned`` (gRPC calls cancelled or past their deadline before
        it), ``cut_at_shutdown`` (answered 503 when the grace ran out), ``body_timeouts``,
        ``head_timeouts``, ``evicted`` (connections closed for a new one past
        ``max_connections``); and now: ``connections``, ``pending``, ``buffered_bytes``,
        ``busy_workers`` (threads running a request, abandoned ones included)."""
        state = self._state
        return {"abandoned": state.abandoned, "grpc_abandoned": self._grpc_counts["abandoned"],
                "cut_at_shutdown": state.cut_at_shutdown,
                "body_timeouts": state.timed_out, "head_timeouts": self._guard.closed_for_head,
                "evicted": self._guard.evicted, "connections": len(self._http.server_state.connections),
                "pending": state.pending, "buffered_bytes": state.budget.held,
                "busy_workers": state.workers.busy + (self._grpc_workers.busy if self._grpc_workers else 0)}

    def stop(self, grace: float | None = None) -> None:
        """Stop both servers.  Requests in flight get up to ``grace`` seconds (None:
        ``limits.shutdown_grace``; 0: none) to finish; past it each is answered 503
        (HTTP, with ``{"error": ...}``) or UNAVAILABLE (gRPC), which :class:`tensorwire.Client`
        retries.  Returns within about ``grace`` + 1 s whatever ``predict_fn`` does: calls still
        running go on in their daemon threads, and their results are dropped."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.limits.shutdown_grace if grace is None else max(float(grace), 0.0)
        deadline = time.monotonic() + grace
        stopping = self._state.stopping
        if self._loop is not None and stopping is not None and not self._loop.is_closed():
            # At the grace's end each request in flight answers 503 itself; uvicorn's own cut
            # (a plain-text 500 per request) comes later and finds none left.
            self._loop.call_soon_threadsafe(self._loop.call_later, grace, stopping.set)
        self._http.config.timeout_graceful_shutdown = grace + 5  # type: ignore[assignment]  # (as in Config)
        self._http.should_exit = True
        grpc_done = self._grpc.stop(grace) if self._grpc is not None else None
        self._thread.join(grace + 3)
        if grpc_done is not None:
            grpc_done.wait(max(deadline - time.monotonic(), 0) + 1)
        for pool in (self._state.workers, self._grpc_workers):
            if pool is not None:
                pool.shutdown()
        self._sock.close()

    def stop_on_sigterm(self) -> None:
        """From now on SIGTERM makes :meth:`wait` stop the server (main thread only; a no-op
        elsewhere).  :meth:`wait` calls it itself; the CLI calls it before it prints that it is
        serving, so a SIGTERM sent as soon as that line is read cannot find the default handler."""
        import signal

        if not self._sigterm_installed and threading.current_thread() is threading.main_thread():
            self._sigterm_restore = signal.signal(signal.SIGTERM, lambda *_: self._stop_requested.set())
            self._sigterm_installed = True

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C or SIGTERM stop it (from the main thread)."""
        import signal

        self.stop_on_sigterm()
        try:
            while self._thread.is_alive() and not self._stop_requested.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if self._sigterm_installed:
                signal.signal(signal.SIGTERM, self._sigterm_restore)
                self._sigterm_installed = False
            self.stop()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# serve() with block=True returns None once stopped; with block=False, the running Server.
@overload
def serve(predict_fn: PredictFn, *, formats: Formats = ..., host: str = ..., http_port: int | None = ...,
          grpc_port: int | None = ..., predict_route: str | None = ..., health_route: str | None = ...,
          max_body_bytes: int = ..., max_decoded_bytes: int | None = ..., dtype: DecodeDType = ...,
          input_name: str | None = ..., example_shape: Iterable[int] | None = ..., pass_serialized: bool = ...,
          max_concurrency: int | None = ..., max_pending: int | None = ..., max_buffered_bytes: int = ...,
          max_connections: int = ..., header_timeout: float = ..., body_timeout: float = ...,
          keep_alive_timeout: float = ..., shutdown_grace: float = ..., grpc_workers: int | None = ...,
          access_log: bool = ..., log_level: str = ..., give_back_when_idle: bool = ...,
          block: Literal[True] = ...) -> None: ...


@overload
def serve(predict_fn: PredictFn, *, formats: Formats = ..., host: str = ..., http_port: int | None = ...,
          grpc_port: int | None = ..., predict_route: str | None = ..., health_route: str | None = ...,
          max_body_bytes: int = ..., max_decoded_bytes: int | None = ..., dtype: DecodeDType = ...,
          input_name: str | None = ..., example_shape: Iterable[int] | None = ..., pass_serialized: bool = ...,
          max_concurrency: int | None = ..., max_pending: int | None = ..., max_buffered_bytes: int = ...,
          max_connections: int = ..., header_timeout: float = ..., body_timeout: float = ...,
          keep_alive_timeout: float = ..., shutdown_grace: float = ..., grpc_workers: int | None = ...,
          access_log: bool = ..., log_level: str = ..., give_back_when_idle: bool = ...,
          block: Literal[False]) -> Server: ...


@overload
def serve(predict_fn: PredictFn, *, formats: Formats = ..., host: str = ..., http_port: int | None = ...,
          grpc_port: int | None = ..., predict_route: str | None = ..., health_route: str | None = ...,
          max_body_bytes: int = ..., max_decoded_bytes: int | None = ..., dtype: DecodeDType = ...,
          input_name: str | None = ..., example_shape: Iterable[int] | None = ..., pass_serialized: bool = ...,
          max_concurrency: int | None = ..., max_pending: int | None = ..., max_buffered_bytes: int = ...,
          max_connections: int = ..., header_timeout: float = ..., body_timeout: float = ...,
          keep_alive_timeout: float = ..., shutdown_grace: float = ..., grpc_workers: int | None = ...,
          access_log: bool = ..., log_level: str = ..., give_back_when_idle: bool = ...,
          block: bool = ...) -> Server | None: ...


def serve(predict_fn: PredictFn, *, formats: Formats = None, host: str = DEFAULT_HOST, http_port: int | None = None,
          grpc_port: int | None = DEFAULT_GRPC_PORT, predict_route: str | None = None,
          health_route: str | None = None, max_body_bytes: int = DEFAULTS.max_body_bytes,
          max_decoded_bytes: int | None = None, dtype: DecodeDType = None, input_name: str | None = None,
          example_shape: Iterable[int] | None = None, pass_serialized: bool = False,
          max_concurrency: int | None = None, max_pending: int | None = DEFAULTS.max_pending,
          max_buffered_bytes: int = DEFAULTS.max_buffered_bytes, max_connections: int = DEFAULTS.max_connections,
          header_timeout: float = DEFAULTS.header_timeout, body_timeout: float = DEFAULTS.body_timeout,
          keep_alive_timeout: float = DEFAULTS.keep_alive_timeout, shutdown_grace: float = DEFAULTS.shutdown_grace,
          grpc_workers: int | None = None, access_log: bool = False, log_level: str = "warning",
          give_back_when_idle: bool = False, block: bool = True) -> Server | None:
    """Serve ``predict_fn(inputs: dict[str, ndarray]) -> ndarray | dict[str, ndarray]``.

    ``inputs`` are batch first, as :func:`tensorwire.decode_request` gives them (bare ND_ARRAYS
    instances under ``"instances"``); the result holds one prediction per instance along its
    first axis, and is encoded in the request's format (a dict of several outputs as named
    outputs, one array bare).

    ``parameters``: a ``predict_fn`` that declares a keyword parameter ``parameters`` (give it
    a default, e.g. ``parameters=None``) is called with the request's ``parameters`` member as
    decoded JSON (None when absent; JSON formats); others are called with ``inputs`` alone.  A
    columnar JSON request (``{"inputs": ...}``) hands ``predict_fn`` whole arrays (no instance
    axis is implied or checked) and is answered in the columnar form (``{"outputs": ...}``).

    ``formats``: the payload formats taken (default: all seven).  JSON formats are served over
    HTTP, gRPC formats over gRPC; with several of a transport, each request's format is detected
    (``tensorwire._model``).  ``http_port`` defaults to ``AIP_HTTP_PORT`` or 8080,
    ``grpc_port`` to 8500 (None: no gRPC server); 0 picks a free port (see
    :attr:`Server.http_port`).  ``predict_route``/``health_route`` default to
    ``AIP_PREDICT_ROUTE``/``AIP_HEALTH_ROUTE`` or ``/predict``/``/health``.

    Bounds (each a field of :class:`Limits`, which documents it and its default):
    ``max_body_bytes``, ``max_pending``, ``max_buffered_bytes``, ``max_connections``,
    ``header_timeout``, ``body_timeout``, ``keep_alive_timeout``, ``shutdown_grace``; and
    ``max_decoded_bytes`` (default 4 x ``max_body_bytes``) of arrays one request may decode to,
    ``max_concurrency`` calls of ``predict_fn`` at once (default: no limit), ``grpc_workers``
    threads handling gRPC calls (default: ``max_pending``).  ``give_back_when_idle``: once no
    HTTP predict request has been active for a second, return the process's free memory to the
    kernel (glibc's ``malloc_trim``; what ``python -m tensorwire serve`` does unless
    ``TENSORWIRE_MALLOPT=0``), so RSS comes back down after a burst of large requests.

    Decoding: ``dtype`` as for :func:`tensorwire.decode_request`; ``input_name`` pins the
    input name of GRPC_SERIALIZED_TF_EXAMPLES (default: whichever single input the request
    has); ``example_shape`` (e.g. ``(256, 256, 1)``) reshapes each Example feature from
    ``(N, values)`` to ``(N, *example_shape)``, since an Example does not carry it.
    ``pass_serialized=True`` hands SERIALIZED_TF_TENSORS and GRPC_SERIALIZED_TF_TENSORS inputs
    to ``predict_fn`` as the base64 texts they arrive as (1-D object arrays of bytes), and
    writes the texts it returns unchanged: the contract of an Earth Engine-ready TensorFlow
    model, which parses and serializes its tensors itself (docs/json-payloads.md).

    ``block=True`` serves until Ctrl-C or SIGTERM; ``block=False`` returns the running
    :class:`Server`.
    """
    if max_concurrency is not None and max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1 (or None: no limit), not {max_concurrency}")
    limits = Limits(max_body_bytes=max_body_bytes, max_pending=max_pending, max_buffered_bytes=max_buffered_bytes,
                    max_connections=max_connections, header_timeout=header_timeout, body_timeout=body_timeout,
                    keep_alive_timeout=keep_alive_timeout, shutdown_grace=shutdown_grace)
    model = Model(predict_fn, formats, input_name=input_name, example_shape=example_shape,
                  pass_serialized=pass_serialized, dtype=dtype,
                  max_decoded_bytes=4 * max_body_bytes if max_decoded_bytes is None else max_decoded_bytes,
                  max_concurrency=max_concurrency)
    server = Server(model, host=host, http_port=http_port, grpc_port=grpc_port, predict_route=predict_route,
                    health_route=health_route, limits=limits, grpc_workers=grpc_workers, access_log=access_log,
                    log_level=log_level, give_back_when_idle=give_back_when_idle)
    if not block:
        return server
    server.wait()
    return None
