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
a body over ``max_body_bytes``                           413   RESOURCE_EXHAUSTED
more than ``max_pending`` requests of a transport         503   RESOURCE_EXHAUSTED
``predict_fn`` raised or returned a wrong count, or any  500   INTERNAL
other failure while answering
=======================================================  ====  ==================

HTTP errors are ``{"error": "<message>"}`` (what Vertex and TF Serving send, and what
:class:`tensorwire.PredictionError` reads); gRPC errors carry the message as their details
(messages are cut to 4,000 characters as gRPC percent-encodes them, where a byte outside
printable ASCII counts 3: gRPC refuses status metadata past 8 KiB).
A body over the limit is refused from its ``Content-Length`` before any of it is read, or,
when it is sent chunked, as soon as what has arrived passes the limit.

Decoding, ``predict_fn`` and encoding run in worker threads (Starlette's thread pool for HTTP,
the gRPC server's pool for gRPC), so ``predict_fn`` may be called from several threads at once;
``max_concurrency=1`` serialises it.  One process serves both ports; uvicorn's own ``--workers``
is not used, since ``predict_fn`` is an object, not an import string.
"""

import os
import socket
import threading
import time

import orjson

from ._model import Failure, Model

DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_GRPC_PORT = 8500

_HTTP_STATUS = {"bad_request": 400, "internal": 500}


def _error(status, message):
    from starlette.responses import Response

    return Response(orjson.dumps({"error": message}), status_code=status, media_type="application/json")


async def _read_body(request, limit):
    """The request body, or None if it is over ``limit`` (refused before being read whole).
    Raises starlette's ClientDisconnect if the client goes away mid-body."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(handle, body):
    """``handle(body)``, with any exception but a :class:`Failure` turned into an internal one:
    whatever goes wrong, the client gets a message and the server goes on."""
    try:
        return handle(body)
    except Failure:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Failure("internal", f"the server failed: {type(exc).__name__}: {exc}") from exc


def make_app(model, *, predict_route, health_route, max_body_bytes=DEFAULT_MAX_BODY_BYTES, max_pending=64):
    """The Starlette application serving ``model`` (a :class:`tensorwire._model.Model`).

    At most ``max_pending`` predict requests are handled at once (counted from their arrival,
    before their body is read); one more is answered 503 at once.  Idle keep-alive connections
    do not count."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response
    from starlette.routing import Route

    pending = [0]  # requests being handled; only the event loop's thread touches it

    async def predict(request):
        if max_pending is not None and pending[0] >= max_pending:
            return _error(503, f"the server is handling {max_pending} requests already; try again")
        pending[0] += 1
        try:
            return await _predict(request)
        finally:
            pending[0] -= 1

    async def _predict(request):
        try:
            body = await _read_body(request, max_body_bytes)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody reads it
        if body is None:
            return _error(413, f"the request body is over the server's limit of {max_body_bytes:,} bytes")
        try:
            answer = await run_in_threadpool(_answer, model.handle_json, body)
        except Failure as exc:
            return _error(_HTTP_STATUS[exc.status], exc.message)
        return Response(answer, media_type="application/json")

    async def health(request):
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route(predict_route, predict, methods=["POST"]),
                             Route(health_route, health, methods=["GET"])])


def _grpc_server(model, host, port, max_body_bytes, workers, max_pending):
    import grpc
    from concurrent import futures

    codes = {"bad_request": grpc.StatusCode.INVALID_ARGUMENT, "internal": grpc.StatusCode.INTERNAL}

    def predict(request, context):
        try:
            return _answer(model.handle_grpc, request)
        except Failure as exc:
            context.abort(codes[exc.status], exc.message)

    # No (de)serializers: the request arrives and the response leaves as bytes, our codec's.
    handler = grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService", {"Predict": grpc.unary_unary_rpc_method_handler(predict)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tensorwire-grpc"),
        # so_reuseport off: a second server on a taken port fails instead of sharing its calls
        options=[("grpc.max_receive_message_length", max_body_bytes), ("grpc.max_send_message_length", -1),
                 ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=max_pending,
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


def _listen(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Server:
    """A running server (from :func:`serve` with ``block=False``).

    ``http_url`` is the predict URL (``http://host:port/predict``), ``health_url`` the health
    URL, ``grpc_target`` ``host:port`` or None; ``http_port``/``grpc_port`` the bound ports
    (useful with port 0).  :meth:`stop` shuts both down; :meth:`wait` blocks until they stop,
    stopping them on Ctrl-C or SIGTERM when called from the main thread.
    """

    def __init__(self, model, *, host, http_port, grpc_port, predict_route, health_route, max_body_bytes,
                 grpc_workers, max_pending, access_log, log_level):
        import uvicorn

        self.model = model
        # The Vertex contract's defaults, read in this one place.
        self.predict_route = predict_route or os.environ.get("AIP_PREDICT_ROUTE", "/predict")
        self.health_route = health_route or os.environ.get("AIP_HEALTH_ROUTE", "/health")
        if http_port is None:
            http_port = int(os.environ.get("AIP_HTTP_PORT", "8080"))
        app = make_app(model, predict_route=self.predict_route, health_route=self.health_route,
                       max_body_bytes=max_body_bytes, max_pending=max_pending)
        self._grpc = None
        self._uvicorn = None
        self.grpc_port = None
        self.grpc_target = None
        sock = _listen(host, http_port)
        self.http_port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.http_url = f"http://{shown}:{self.http_port}{self.predict_route}"
        self.health_url = f"http://{shown}:{self.http_port}{self.health_route}"
        try:
            if model.grpc_formats and grpc_port is not None:
                self._grpc, self.grpc_port = _grpc_server(model, host, grpc_port, max_body_bytes, grpc_workers,
                                                          max_pending)
                self.grpc_target = f"{shown}:{self.grpc_port}"
            config = uvicorn.Config(app, lifespan="off", access_log=access_log, log_level=log_level,
                                    timeout_graceful_shutdown=5)
            self._uvicorn = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [sock]},
                                            name="tensorwire-http", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + 30
            while not self._uvicorn.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the HTTP server did not start (see uvicorn's log above)")
                time.sleep(0.01)
        except BaseException:
            if getattr(self, "_uvicorn", None) is not None:
                self._uvicorn.should_exit = True
                if self._thread.is_alive():
                    self._thread.join(10)
            sock.close()
            if self._grpc is not None:
                self._grpc.stop(None)
            raise
        self._sock = sock

    def stop(self, grace=5.0):
        """Stop both servers, letting requests in flight finish for up to ``grace`` seconds
        (None or 0: at once)."""
        grace = float(grace or 0)
        self._uvicorn.config.timeout_graceful_shutdown = max(grace, 0.1)
        self._uvicorn.force_exit = grace == 0  # uvicorn then waits for nothing
        self._uvicorn.should_exit = True
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
        self._thread.join(grace + 5)
        self._sock.close()

    def wait(self):
        """Block until the server stops; Ctrl-C or SIGTERM stop it (from the main thread)."""
        import signal

        stop = threading.Event()
        restore = None
        if threading.current_thread() is threading.main_thread():
            restore = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while self._thread.is_alive() and not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if restore is not None:
                signal.signal(signal.SIGTERM, restore)
            self.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def serve(predict_fn, *, formats=None, host="0.0.0.0", http_port=None, grpc_port=DEFAULT_GRPC_PORT,
          predict_route=None, health_route=None, max_body_bytes=DEFAULT_MAX_BODY_BYTES, max_decoded_bytes=None,
          dtype=None, input_name=None, example_shape=None, pass_serialized=False, max_concurrency=None,
          max_pending=64, grpc_workers=8, access_log=False, log_level="warning", block=True):
    """Serve ``predict_fn(inputs: dict[str, ndarray]) -> ndarray | dict[str, ndarray]``.

    ``inputs`` are batch first, as :func:`tensorwire.decode_request` gives them (bare ND_ARRAYS
    instances under ``"instances"``); the result holds one prediction per instance along its
    first axis, and is encoded in the request's format (a dict of several outputs as named
    outputs, one array bare).

    ``formats``: the payload formats taken (default: all six).  JSON formats are served over
    HTTP, gRPC formats over gRPC; with several of a transport, each request's format is detected
    (``tensorwire._model``).  ``http_port`` defaults to ``AIP_HTTP_PORT`` or 8080,
    ``grpc_port`` to 8500 (None: no gRPC server); 0 picks a free port (see
    :attr:`Server.http_port`).  ``predict_route``/``health_route`` default to
    ``AIP_PREDICT_ROUTE``/``AIP_HEALTH_ROUTE`` or ``/predict``/``/health``.

    Limits: ``max_body_bytes`` (default 64 MiB) per request body or gRPC message;
    ``max_decoded_bytes`` (default 4 x ``max_body_bytes``) of arrays one request may decode to;
    ``max_pending`` (default 64; None: no limit) HTTP predict requests, and separately gRPC
    calls, handled at once, beyond which HTTP answers 503 and gRPC RESOURCE_EXHAUSTED (both of which :class:`tensorwire.Client`
    retries); ``max_concurrency`` calls of ``predict_fn`` at once (default: no limit).

    Decoding: ``dtype`` as for :func:`tensorwire.decode_request`; ``input_name`` pins the
    input name of GRPC_SERIALIZED_TF_EXAMPLES (default: whichever single input the request
    has); ``example_shape`` (e.g. ``(256, 256, 1)``) reshapes each Example feature from
    ``(N, values)`` to ``(N, *example_shape)``, since an Example does not carry it.
    ``pass_serialized=True`` hands SERIALIZED_TF_TENSORS and GRPC_SERIALIZED_TF_TENSORS inputs
    to ``predict_fn`` as the base64 texts they arrive as (1-D object arrays of bytes), and
    writes the texts it returns unchanged: the contract of an Earth Engine-ready TensorFlow
    model, which parses and serializes its tensors itself (SPEC section 3).

    ``block=True`` serves until Ctrl-C or SIGTERM; ``block=False`` returns the running
    :class:`Server`.
    """
    for name, value in (("max_concurrency", max_concurrency), ("max_pending", max_pending)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1 (or None: no limit), not {value}")
    model = Model(predict_fn, formats, input_name=input_name, example_shape=example_shape,
                  pass_serialized=pass_serialized, dtype=dtype,
                  max_decoded_bytes=4 * max_body_bytes if max_decoded_bytes is None else max_decoded_bytes,
                  max_concurrency=max_concurrency)
    server = Server(model, host=host, http_port=http_port, grpc_port=grpc_port, predict_route=predict_route,
                    health_route=health_route, max_body_bytes=max_body_bytes, grpc_workers=grpc_workers,
                    max_pending=max_pending, access_log=access_log, log_level=log_level)
    if not block:
        return server
    server.wait()
    return None
