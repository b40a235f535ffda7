"""Call a hosted model in any payload format: :class:`Client`.

Needs the ``serving`` extra (``pip install "tensorwire[serving]"``: urllib3 and grpcio here).

The client is three parts: a transport that makes one attempt (:mod:`tensorwire._http_transport`
or :mod:`tensorwire._grpc_transport`, chosen once from the format), the socket-free
:class:`tensorwire._batcher.Batcher` that splits a batch, sends the parts and reassembles the
answers, and, here, the retry loop and the check of every answer, the same for both transports.

HTTP (the JSON formats) goes through one ``urllib3.PoolManager`` (keep-alive connections, safe
to share between threads); gRPC (the gRPC formats) through one channel, calling
``/tensorflow.serving.PredictionService/Predict`` with bytes in and out: tensorwire's codec
writes and reads the messages, no generated stubs are involved.

Decisions (also in the README):

* **Retries** (``retries``, default 3 after the first attempt): HTTP 429, 502, 503 and 504,
  gRPC UNAVAILABLE and RESOURCE_EXHAUSTED (but not a message over the server's size limit, or
  an error whose metadata was too large, which gRPC also reports as RESOURCE_EXHAUSTED and
  which would fail again), and a connection that could not be made or was dropped.  Waits grow
  as ``backoff * 2**attempt`` (default 0.5 s), each drawn uniformly from its upper half, capped
  at ``max_backoff`` (default 30 s); an HTTP ``Retry-After`` of some seconds is waited instead
  when it is longer (still capped; a ``Retry-After`` date is not read).  A read timeout is not
  retried: a request that took ``timeout`` seconds is likely to take them again.  A connect
  timeout counts as a server that could not be reached (retried, then ``"UNAVAILABLE"``).
* **Errors**: an answer that is not a success raises :class:`tensorwire.PredictionError` whose
  message is the server's (``{"error": ...}``, a gRPC status's details, or the start of the
  body), with ``status`` the HTTP code or gRPC status name.  Transport failures are
  PredictionErrors too, with the gRPC status names on both transports: ``"DEADLINE_EXCEEDED"``
  for a read timeout, ``"UNAVAILABLE"`` for a server that cannot be reached or a connection
  that failed (TLS, proxy).  A successful answer whose body does
  not decode raises :class:`tensorwire.DecodeError`, as does one with a number of predictions
  other than its request's instances.
* **Batches** (``max_payload_bytes``, default 1,500,000, Earth Engine's ``maxPayloadBytes``):
  instance 0 is encoded alone; if N times its size fits, the whole batch is encoded as one
  request (and sent, if it does fit).  Otherwise instances 0:2 (and 1:2, unless the format writes every instance in the same number of bytes) are encoded too, which
  gives the size ``s`` of one more instance and ``e`` of the rest of a body, and runs of
  ``(max_payload_bytes - e) // s`` instances (the most that fit when instances are the same
  size) are encoded one after another as they are sent, so only about ``concurrency + 1``
  request bodies exist at once.  Where instances differ in size (number text, strings: a run
  that is not the predicted size, or that the next instance would still fit beside), each
  instance is then encoded alone first and every run is the longest that fits: the fewest
  requests that keep the instances in order (``tensorwire._batcher`` has the rules).  One
  instance over the limit is a ValueError, raised when it is met: instances 0 and 1 are
  checked before anything is sent, a later one after the runs before it were answered (their
  predictions are dropped).  The runs are sent ``concurrency`` at a time (default 1: one after
  another) and their predictions are concatenated in instance order.  If one run fails, the
  runs already in flight are waited for before the error is raised.  An empty batch is a
  ValueError.
* **Threads**: a Client may be shared between threads; it keeps up to ``max(concurrency, 8)``
  HTTP connections alive (gRPC multiplexes one channel).
* **Auth**: ``headers`` (a mapping) is sent with every request; ``auth`` (a callable returning
  a mapping) is called before every attempt, so a token it refreshes is picked up.  For gRPC
  both become call metadata (names lower-cased).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import payload
from ._batcher import Batcher, Predictions
from ._transport import Retry, Transport
from .errors import DecodeError
from .payload import GRPC_FORMATS, AnyFormat, Batch, DecodeDType, PayloadFormat


class Client:
    """``Client(target, format).predict(inputs) -> {name: ndarray}``.

    ``target``: for the JSON formats the predict URL (``http://host:8080/predict``, a Vertex
    ``https://...:predict`` URL, ...); for the gRPC formats ``host:port`` (plain text) or
    ``grpcs://host:port`` (TLS).  ``format``: a :class:`tensorwire.PayloadFormat` or its name.

    ``inputs`` are batch first, as for :func:`tensorwire.encode_request`; the result is what
    :func:`tensorwire.decode_response` gives (a single output under ``"output"``).  Request
    options go to :func:`tensorwire.encode_request` (``model_name``, ``signature_name``,
    ``version``, ``output_filter``, ``input_name`` for gRPC; ``nonfinite``, ``float_format``
    for JSON); ``dtype`` and ``max_decoded_bytes`` to the response decoder.  See the module
    docstring for timeouts, retries, batching and auth.
    """

    def __init__(self, target: str, format: AnyFormat = "SERIALIZED_TF_TENSORS", *, timeout: float = 60.0,
                 connect_timeout: float = 10.0, retries: int = 3, backoff: float = 0.5, max_backoff: float = 30.0,
                 headers: Mapping[str, str] | None = None, auth: Callable[[], Mapping[str, str]] | None = None,
                 max_payload_bytes: int = 1_500_000, concurrency: int = 1, dtype: DecodeDType = None,
                 max_decoded_bytes: int = 1 << 31, **request_options: Any) -> None:
        self.format = PayloadFormat.of(format)
        self.target = target
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.headers = dict(headers or {})
        self.auth = auth
        self.dtype = dtype
        self.max_decoded_bytes = max_decoded_bytes
        self.request_options = request_options
        if self.retries < 0 or int(max_payload_bytes) < 1:
            raise ValueError("retries must be >= 0 and max_payload_bytes >= 1")
        self.batcher = Batcher(max_payload_bytes, concurrency)
        payload.encode_request({"x": np.zeros((1,), np.float32)}, self.format, **request_options)  # options check
        self.transport: Transport
        if self.format in GRPC_FORMATS:
            from ._grpc_transport import GrpcTransport

            self.transport = GrpcTransport(target, timeout=self.timeout)
        else:
            from ._http_transport import HttpTransport

            self.transport = HttpTransport(target, timeout=self.timeout, connect_timeout=connect_timeout,
                                           connections=max(self.concurrency, 8))

    @property
    def max_payload_bytes(self) -> int:
        return self.batcher.max_payload_bytes

    @property
    def concurrency(self) -> int:
        return self.batcher.concurrency

    # ------------------------------------------------------------------------------- public

    def predict(self, inputs: Batch, *, parameters: Any = None) -> dict[str, NDArray[Any]]:
        """``{name: ndarray}``: the model's predictions for every instance of ``inputs``.

        ``parameters`` (JSON formats; any JSON-able value) is sent beside the instances in every
        request the batch is split into.  In the JSON format a single array is sent as bare
        instances (a text classifier's ``{"instances": ["...", ...]}``), a mapping as named
        ones; the row form is always sent (``encode_request(..., columnar=True)`` writes the
        columnar one, which is not split)."""
        bare_ok = self.format in (PayloadFormat.ND_ARRAYS, PayloadFormat.JSON)
        if parameters is not None and self.format in GRPC_FORMATS:
            raise TypeError(f"{self.format.value}: parameters travel in the JSON formats only")
        columns, bare = payload.batch_columns(inputs, "inputs", bare_ok=bare_ok)
        if self.format is PayloadFormat.ND_ARRAYS and len(columns) != 1:
            raise ValueError(f"ND_ARRAYS sends one array per instance; got {len(columns)} inputs")
        bare = bare or self.format is PayloadFormat.ND_ARRAYS
        named = {("instances" if name is None else name): a for name, a in columns}
        if len(columns[0][1]) == 0:
            raise ValueError("inputs: no instances to predict")
        options = dict(self.request_options)
        if parameters is not None:
            options["parameters"] = parameters

        def encode(start: int, stop: int) -> bytes:
            rows: Any = {name: a[start:stop] for name, a in named.items()}
            if bare:
                rows = next(iter(rows.values()))  # the one column (checked above)
            body: bytes = payload.encode_request(rows, self.format, **options)
            return body

        alike = payload.sizes_alike(self.format, (a for _, a in columns))
        return self.batcher.predict(len(columns[0][1]), encode, self._send, alike)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ----------------------------------------------------------------------------- sending

    def _headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.auth is not None:
            headers.update(self.auth())
        return headers

    def _wait(self, attempt: int, retry_after: float | None = None) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(self.max_backoff, retry_after))
        time.sleep(delay)

    def _send(self, body: bytes, instances: int) -> Predictions:
        """One request's predictions, after up to ``retries`` retries; each output must have one
        row per instance of the request."""
        attempt = 0
        while True:
            try:
                raw = self.transport.send_once(body, self._headers())
            except Retry as exc:
                if attempt >= self.retries:
                    raise exc.error from None
                self._wait(attempt, exc.retry_after)
                attempt += 1
                continue
            result: Predictions = payload.decode_response(raw, self.format, dtype=self.dtype,
                                                          max_bytes=self.max_decoded_bytes)
            for name, a in result.items():
                if a.ndim == 0 or len(a) != instances:
                    got = "a 0-d array" if a.ndim == 0 else f"{len(a)} predictions"
                    raise DecodeError(f"output {name!r}: {got} for a request of {instances} instances")
            return result
