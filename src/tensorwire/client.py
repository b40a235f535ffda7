"""Call a hosted model in any payload format: :class:`Client`.

Needs the ``serving`` extra (``pip install "tensorwire[serving]"``: urllib3 and grpcio here).

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
  request (and sent, if it does fit).  Otherwise runs of ``max_payload_bytes // size(instance
  0)`` instances are encoded one after another as they are sent, and a run that is still over
  the limit is halved until it fits, so only about ``concurrency + 1`` request bodies exist at
  once.  One instance over the limit is a ValueError, raised when its run is made: instance 0
  is checked before anything is sent, a later one after the runs before it were answered (their
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

import concurrent.futures
import itertools
import random
import time

import numpy as np

from . import payload
from .errors import DecodeError, PredictionError
from .payload import GRPC_FORMATS, PayloadFormat

_RETRY_HTTP = frozenset({429, 502, 503, 504})
# RESOURCE_EXHAUSTED details of gRPC's own that another attempt would meet again
_FINAL_DETAILS = ("larger than max", "metadata size exceeds")
_PREDICT = "/tensorflow.serving.PredictionService/Predict"


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

    def __init__(self, target, format="SERIALIZED_TF_TENSORS", *, timeout=60.0, connect_timeout=10.0, retries=3,
                 backoff=0.5, max_backoff=30.0, headers=None, auth=None, max_payload_bytes=1_500_000, concurrency=1,
                 dtype=None, max_decoded_bytes=1 << 31, **request_options):
        self.format = PayloadFormat.of(format)
        self.target = target
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.headers = dict(headers or {})
        self.auth = auth
        self.max_payload_bytes = int(max_payload_bytes)
        self.concurrency = max(1, int(concurrency))
        self.dtype = dtype
        self.max_decoded_bytes = max_decoded_bytes
        self.request_options = request_options
        self.grpc = self.format in GRPC_FORMATS
        if self.retries < 0 or self.max_payload_bytes < 1:
            raise ValueError("retries must be >= 0 and max_payload_bytes >= 1")
        payload.encode_request({"x": np.zeros((1,), np.float32)}, self.format, **request_options)  # options check
        if self.grpc:
            import grpc

            options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
            if target.startswith("grpcs://"):
                self._channel = grpc.secure_channel(target[8:], grpc.ssl_channel_credentials(), options=options)
            else:
                self._channel = grpc.insecure_channel(target.removeprefix("grpc://"), options=options)
            self._call = self._channel.unary_unary(_PREDICT)  # no serializers: bytes in, bytes out
            self._grpc_retry = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}
            self._rpc_error = grpc.RpcError
        else:
            import urllib3

            self._pool = urllib3.PoolManager(
                num_pools=4, maxsize=max(self.concurrency, 8), block=False, retries=False,
                timeout=urllib3.Timeout(connect=connect_timeout, read=self.timeout),
            )
            e = urllib3.exceptions
            self._connection_errors = (e.NewConnectionError, e.ProtocolError, e.ConnectTimeoutError)
            self._timeout_errors = (e.ReadTimeoutError, e.TimeoutError)
            self._http_errors = e.HTTPError

    # ------------------------------------------------------------------------------- public

    def predict(self, inputs):
        """``{name: ndarray}``: the model's predictions for every instance of ``inputs``."""
        columns, _ = payload.batch_columns(inputs, "inputs", bare_ok=self.format is PayloadFormat.ND_ARRAYS)
        if self.format is PayloadFormat.ND_ARRAYS and len(columns) != 1:
            raise ValueError(f"ND_ARRAYS sends one array per instance; got {len(columns)} inputs")
        named = {("instances" if name is None else name): a for name, a in columns}
        if len(columns[0][1]) == 0:
            raise ValueError("inputs: no instances to predict")
        parts = self._requests(named, len(columns[0][1]))
        head = list(itertools.islice(parts, 2))  # one request needs no thread pool
        parts = itertools.chain(head, parts)
        if len(head) == 1 or self.concurrency == 1:
            results = [self._send(*part) for part in parts]
        else:
            results = self._send_concurrently(parts)
        if len(results) == 1:
            return results[0]
        names = list(results[0])
        for i, r in enumerate(results):
            if list(r) != names:
                raise DecodeError(f"response {i} of {len(results)} has outputs {list(r)}, response 0 {names}")
        return {name: np.concatenate([r[name] for r in results]) for name in names}

    def _send_concurrently(self, parts):
        """The results of sending ``parts`` (an iterator), at most ``concurrency`` in flight, in order."""
        results, pending = [], []
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:
            try:
                for part in parts:
                    if len(pending) == self.concurrency:
                        results.append(pending.pop(0).result())
                    pending.append(pool.submit(self._send, *part))
                results += [f.result() for f in pending]
            finally:
                for f in pending:
                    f.cancel()
        return results

    def close(self):
        if self.grpc:
            self._channel.close()
        else:
            self._pool.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------------------- batching

    def _encode(self, named, start, stop):
        rows = {name: a[start:stop] for name, a in named.items()}
        if self.format is PayloadFormat.ND_ARRAYS:
            rows = next(iter(rows.values()))  # the one column (checked in predict)
        return payload.encode_request(rows, self.format, **self.request_options)

    def _requests(self, named, n):
        """``(body, instances)`` pairs covering every instance in order, each body within
        ``max_payload_bytes``, made as they are consumed (see the module docstring)."""
        one = self._encode(named, 0, 1)
        self._check_one(one, 0)
        if n == 1:
            return iter([(one, 1)])
        whole = None
        if len(one) * n <= self.max_payload_bytes:
            whole = self._encode(named, 0, n)
            if len(whole) <= self.max_payload_bytes:
                return iter([(whole, n)])
        if whole is not None:  # encoded just now, and over the limit: halve it
            return self._fitting(named, 0, n, whole)
        step = max(1, self.max_payload_bytes // len(one))  # < n here
        return (part for start in range(0, n, step) for part in self._fitting(named, start, min(n, start + step)))

    def _fitting(self, named, start, stop, body=None):
        if body is None:
            body = self._encode(named, start, stop)
        if len(body) <= self.max_payload_bytes:
            yield body, stop - start
            return
        if stop - start == 1:
            self._check_one(body, start)
        del body  # not kept while the halves are made
        mid = (start + stop) // 2
        yield from self._fitting(named, start, mid)
        yield from self._fitting(named, mid, stop)

    def _check_one(self, body, i):
        if len(body) > self.max_payload_bytes:
            raise ValueError(f"instance {i} alone encodes to {len(body):,} bytes, over max_payload_bytes="
                             f"{self.max_payload_bytes:,}")

    # ----------------------------------------------------------------------------- sending

    def _headers(self):
        headers = dict(self.headers)
        if self.auth is not None:
            headers.update(self.auth())
        return headers

    def _wait(self, attempt, retry_after=None):
        delay = min(self.max_backoff, self.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(self.max_backoff, retry_after))
        time.sleep(delay)

    def _send(self, body, instances):
        attempt = 0
        while True:
            try:
                raw = self._grpc_once(body) if self.grpc else self._http_once(body)
            except _Retry as exc:
                if attempt >= self.retries:
                    raise exc.error from None
                self._wait(attempt, exc.retry_after)
                attempt += 1
                continue
            result = payload.decode_response(raw, self.format, dtype=self.dtype, max_bytes=self.max_decoded_bytes)
            for name, a in result.items():
                if a.ndim == 0 or len(a) != instances:
                    got = "a 0-d array" if a.ndim == 0 else f"{len(a)} predictions"
                    raise DecodeError(f"output {name!r}: {got} for a request of {instances} instances")
            return result

    def _http_once(self, body):
        headers = {"Content-Type": "application/json", **self._headers()}
        try:
            r = self._pool.request("POST", self.target, body=body, headers=headers, preload_content=True)
        except self._connection_errors as exc:
            raise _Retry(PredictionError(f"cannot reach {self.target}: {exc}", status="UNAVAILABLE")) from None
        except self._timeout_errors as exc:
            raise PredictionError(f"no answer from {self.target} in time: {exc}", status="DEADLINE_EXCEEDED") from None
        except self._http_errors as exc:  # TLS, proxy, ...: not worth retrying
            raise PredictionError(f"cannot reach {self.target}: {exc}", status="UNAVAILABLE") from None
        if r.status == 200:
            return r.data
        error = _http_error(r.status, r.data)
        if r.status in _RETRY_HTTP:
            raise _Retry(error, _retry_after(r.headers.get("Retry-After")))
        raise error

    def _grpc_once(self, body):
        metadata = [(k.lower(), v) for k, v in self._headers().items()]
        try:
            return self._call(body, timeout=self.timeout, metadata=metadata or None)
        except self._rpc_error as exc:
            code = exc.code()
            details = exc.details() or code.name
            error = PredictionError(details, status=code.name)
            if code in self._grpc_retry and not any(s in details for s in _FINAL_DETAILS):
                raise _Retry(error) from None
            raise error from None


class _Retry(Exception):
    def __init__(self, error, retry_after=None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _retry_after(value):
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff applies


def _http_error(status, data):
    """PredictionError for a non-200 answer, with the server's own message when it sent one."""
    try:
        payload.decode_response(data, PayloadFormat.SERIALIZED_TF_TENSORS)
    except PredictionError as exc:
        return PredictionError(exc.error, status=status)
    except (ValueError, TypeError):
        pass
    text = bytes(data[:500]).decode("utf-8", "replace").strip()
    return PredictionError(f"HTTP {status}" + (f": {text}" if text else ""), status=status)
