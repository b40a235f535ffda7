"""A ready property test for a model server: :func:`check_server`.

What a server must do, per payload format (the contract Earth Engine relies on):

* a valid request gets a success (HTTP 2xx / gRPC OK) whose body decodes in the format and
  carries one prediction per instance (every output's first axis is the request's instance
  count);
* a hostile request (:func:`tensorwire.testing.hostile`) gets an HTTP 4xx / gRPC
  INVALID_ARGUMENT: never a 5xx (or another gRPC status), a success, a hang or a dropped
  connection.

Problems are named: ``server_error`` (5xx, gRPC INTERNAL / UNKNOWN), ``hang`` (no answer within
``timeout``: HTTP read timeout, gRPC DEADLINE_EXCEEDED), ``dropped`` (the connection closed
without an answer; gRPC UNAVAILABLE once connected), ``unreachable`` (no connection could be
made), ``refused_valid`` (a 4xx or another gRPC status for a valid request), ``bad_answer``
(a success that does not decode), ``wrong_count`` (a prediction count other than the
instances'), ``accepted`` (a success for a hostile request), ``wrong_status`` (an HTTP 1xx/3xx,
or a gRPC status other than INVALID_ARGUMENT and the ones above, for a hostile request).

Decisions: every HTTP request goes on a connection of its own (``Connection: close``), so a
server closing an idle keep-alive connection is never mistaken for a dropped one.  A server
may serve several formats of a transport at one address and detect which one a body is in,
so a hostile body is sent only when the reference decoder of *every* format of its transport
refuses it (of every checked format with ``only_formats=True``); the others are counted as
skipped.  (A GRPC_SERIALIZED_TF_TENSORS string that is not base64 is a valid GRPC_TF_TENSORS
string input, for one.)  Requests are sent one at a time.  The whole
check stops sending after ``time_limit`` seconds, and says so.  ``timeout`` is a gRPC call's
deadline; over HTTP it is urllib3's connect timeout and its timeout for each read (an answer
that trickles in, a byte within every ``timeout``, is not cut off).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from numpy.typing import NDArray

from ..errors import DecodeError, PredictionError
from ..payload import GRPC_FORMATS, JSON_FORMATS, PayloadFormat, decode_response
from ._arrays import tiles
from ._hostile import classes_of, hostile, refused
from ._payloads import requests

__all__ = ["Failure", "Row", "ServerCheck", "check_server"]

PREDICT = "/tensorflow.serving.PredictionService/Predict"


@dataclasses.dataclass
class Row:
    """Requests of one kind (``"valid"`` or a hostile class) sent in one format."""

    format: str
    kind: str
    sent: int = 0
    passed: int = 0
    skipped: int = 0

    @property
    def failed(self) -> int:
        return self.sent - self.passed


@dataclasses.dataclass
class Failure:
    """One named problem: its first example and how often it happened."""

    format: str
    kind: str
    problem: str
    detail: str
    body: bytes
    count: int = 1


@dataclasses.dataclass
class ServerCheck:
    """What :func:`check_server` found: ``rows`` (counts per format and kind), ``failures``
    (one per format, kind and problem, with its first example), ``stopped`` (why sending
    stopped early, or None), ``seconds``.  ``ok``: no failure, and every format got at least
    one valid request answered, within the time limit.  ``str()`` is a table."""

    target: str
    rows: list[Row]
    failures: list[Failure]
    seconds: float
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        formats = {r.format for r in self.rows}
        answered = {r.format for r in self.rows if r.kind == "valid" and r.passed}
        return not self.failures and self.stopped is None and bool(formats) and answered == formats

    def problems(self, format: str | None = None) -> set[str]:
        """The names of the problems found (in ``format``, or in any)."""
        return {f.problem for f in self.failures if format is None or f.format == format}

    def __str__(self) -> str:
        lines = [f"check_server {self.target}: {'PASS' if self.ok else 'FAIL'} ({self.seconds:.1f} s)",
                 f"{'format':<28} {'kind':<17} {'sent':>5} {'passed':>6} {'failed':>6} {'skipped':>7}"]
        for r in self.rows:
            lines.append(f"{r.format:<28} {r.kind:<17} {r.sent:>5} {r.passed:>6} {r.failed:>6} {r.skipped:>7}")
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        for f in self.failures:
            lines.append(f"FAIL {f.format} {f.kind}: {f.problem} x{f.count}: {f.detail}")
            lines.append(f"     first body ({len(f.body)} bytes): {f.body[:200]!r}")
        return "\n".join(lines)


# --- sending ------------------------------------------------------------------------------------

# An outcome: ("ok", status, body) for an answer, or (problem, detail, b"") for none.
Outcome = tuple[str, Any, bytes]


class _Http:
    def __init__(self, url: str, timeout: float, headers: Mapping[str, str]) -> None:
        import urllib3

        self._urllib3 = urllib3
        self.url = url
        self.headers = {"Content-Type": "application/json", "Connection": "close", **headers}
        self.pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def send(self, body: bytes) -> Outcome:
        exc = self._urllib3.exceptions
        try:
            r = self.pool.request("POST", self.url, body=body, headers=self.headers)
        except exc.ReadTimeoutError as e:
            return "hang", f"no answer within the timeout ({e})", b""
        except (exc.ConnectTimeoutError, exc.NewConnectionError) as e:
            return "unreachable", str(e), b""
        except (exc.ProtocolError, exc.HTTPError, OSError) as e:
            return "dropped", f"{type(e).__name__}: {e}", b""
        return "ok", r.status, r.data

    def close(self) -> None:
        self.pool.clear()


class _Grpc:
    def __init__(self, target: str, timeout: float, headers: Mapping[str, str]) -> None:
        import grpc

        self._grpc = grpc
        if target.startswith("grpcs://"):
            self.channel = grpc.secure_channel(target[8:], grpc.ssl_channel_credentials())
        else:
            self.channel = grpc.insecure_channel(target.removeprefix("grpc://"))
        self.call: Any = self.channel.unary_unary(PREDICT)
        self.timeout = timeout
        self.metadata = tuple((k.lower(), v) for k, v in headers.items()) or None
        self.connected = False

    def send(self, body: bytes) -> Outcome:
        grpc = self._grpc
        try:
            reply = self.call(body, timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as e:
            code = e.code()  # a grpc.Call as well
            details = e.details()
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return "hang", f"DEADLINE_EXCEEDED: {details}", b""
            if code is grpc.StatusCode.UNAVAILABLE:
                return ("dropped" if self.connected else "unreachable"), f"UNAVAILABLE: {details}", b""
            self.connected = True
            return "ok", code.name, str(details).encode("utf-8", "replace")
        self.connected = True
        return "ok", "OK", bytes(reply)

    def close(self) -> None:
        self.channel.close()


def _judge_valid(fmt: PayloadFormat, outcome: Outcome, instances: int) -> tuple[str, str] | None:
    """``(problem, detail)`` for a valid request's outcome, or None when it passed."""
    kind, status, body = outcome
    if kind != "ok":
        return kind, str(status)
    success = status == "OK" if fmt in GRPC_FORMATS else 200 <= int(status) < 300
    if not success:
        text = body[:300].decode("utf-8", "replace")
        if status in ("INTERNAL", "UNKNOWN") or (isinstance(status, int) and status >= 500):
            return "server_error", f"{status}: {text}"
        return "refused_valid", f"{status}: {text}"
    try:
        outputs = decode_response(body, fmt)
    except (DecodeError, PredictionError) as e:
        return "bad_answer", f"{type(e).__name__}: {e}"
    if not outputs:
        return "wrong_count", f"no outputs for {instances} instances"
    for name, arr in outputs.items():
        n = len(arr) if arr.ndim else None
        if n != instances:
            return "wrong_count", f"output {name!r} has {n} predictions for {instances} instances"
    return None


def _judge_hostile(fmt: PayloadFormat, outcome: Outcome) -> tuple[str, str] | None:
    kind, status, body = outcome
    if kind != "ok":
        return kind, str(status)
    text = body[:300].decode("utf-8", "replace")
    if fmt in GRPC_FORMATS:
        if status == "INVALID_ARGUMENT":
            return None
        if status == "OK":
            return "accepted", "OK"
        if status in ("INTERNAL", "UNKNOWN"):
            return "server_error", f"{status}: {text}"
        return "wrong_status", f"{status}: {text}"
    if 400 <= status < 500:
        return None
    if 200 <= status < 300:
        return "accepted", f"{status}: {text}"
    if status >= 500:
        return "server_error", f"{status}: {text}"
    return "wrong_status", f"{status}: {text}"


# --- the check ----------------------------------------------------------------------------------

def check_server(target: str, formats: Sequence[PayloadFormat | str] | None = None, *, examples: int = 20,
                 hostile_examples: int | None = None, inputs: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None = None,
                 classes: Sequence[str] | None = None, timeout: float = 10.0,
                 time_limit: float = 120.0, headers: Mapping[str, str] | None = None,
                 only_formats: bool = False, seed: int | None = None) -> ServerCheck:
    """Send ``examples`` valid and ``hostile_examples`` (default: as many) hostile requests in
    each of ``formats`` to ``target`` and judge every answer (see the module docstring).

    ``target``: an ``http(s)://`` predict URL for the JSON formats (default: all four), or
    ``host:port`` / ``grpcs://host:port`` for the gRPC formats (default: all three).
    ``inputs``: what the model takes, a strategy of batch-first ``{name: array}`` (default
    :func:`tiles` of two float32 bands, 4 x 4, 1-3 instances, values in [-1000, 1000];
    ND_ARRAYS gets the bands stacked channels-last).  ``classes``: the hostile classes to send
    (default: each format's).  ``timeout``: seconds an answer
    may take; ``time_limit``: seconds the whole check may send for.  ``headers``: sent with
    every request (gRPC: as metadata).  ``only_formats``: the server serves only ``formats``
    at ``target`` (default False: it may serve every format of the transport and detect which
    one a body is in, so a hostile body is sent only when all of them refuse it).  ``seed``: for
    a reproducible draw.  ``hostile_examples`` are shared among the classes, each at least one.

    Runs Hypothesis itself (generation only: no shrinking, no example database), so call it
    from a plain test or script, not from inside a ``@given`` test.
    """
    http = target.startswith(("http://", "https://"))
    transport_formats = JSON_FORMATS if http else GRPC_FORMATS
    fmts = [PayloadFormat.of(f) for f in (formats if formats is not None else transport_formats)]
    wrong = [f.value for f in fmts if f not in transport_formats]
    if wrong:
        raise ValueError(f"check_server: {target!r} is {'an HTTP URL' if http else 'a gRPC target'}; "
                         f"{wrong} are not its formats")
    if examples < 0 or (hostile_examples or 0) < 0 or timeout <= 0 or time_limit <= 0:
        raise ValueError("check_server: examples must be >= 0, timeout and time_limit > 0")
    n_hostile = examples if hostile_examples is None else hostile_examples
    values = inputs if inputs is not None else tiles(bands=("B1", "B2"), size=4, batch=(1, 3),
                                                     elements=st.floats(-1000, 1000, width=32))
    ambiguous = fmts if only_formats else list(transport_formats)
    sender: _Http | _Grpc = (_Http if http else _Grpc)(target, timeout, headers or {})
    start = time.monotonic()
    deadline = start + time_limit
    rows: dict[tuple[str, str], Row] = {}
    failures: dict[tuple[str, str, str], Failure] = {}
    stopped: list[str] = []

    def row(fmt: PayloadFormat, kind: str) -> Row:
        return rows.setdefault((fmt.value, kind), Row(fmt.value, kind))

    def record(fmt: PayloadFormat, kind: str, body: bytes, verdict: tuple[str, str] | None) -> None:
        r = row(fmt, kind)
        r.sent += 1
        if verdict is None:
            r.passed += 1
            return
        key = (fmt.value, kind, verdict[0])
        if key in failures:
            failures[key].count += 1
        else:
            failures[key] = Failure(fmt.value, kind, verdict[0], verdict[1], body)

    def out_of_time() -> bool:
        if time.monotonic() < deadline:
            return False
        if not stopped:
            stopped.append(f"the time limit ({time_limit:g} s) passed")
        return True

    def run(strategy: st.SearchStrategy[Any], count: int, each: Callable[[Any], None]) -> None:
        if count == 0:
            return

        @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def loop(drawn: Any) -> None:
            if not out_of_time():
                each(drawn)

        if seed is not None:
            loop = hypothesis_seed(seed)(loop)
        try:
            loop()
        except Unsatisfiable:  # every draw was filtered out: nothing of this kind was sent
            pass

    try:
        for fmt in fmts:
            row(fmt, "valid")
            for label in classes_of(fmt) if classes is None else classes:
                if label in classes_of(fmt):
                    row(fmt, label)

            def valid(pair: tuple[dict[str, NDArray[Any]], bytes], fmt: PayloadFormat = fmt) -> None:
                expected, body = pair
                instances = len(next(iter(expected.values())))
                record(fmt, "valid", body, _judge_valid(fmt, sender.send(body), instances))

            run(requests(fmt, inputs=values), examples, valid)

            def bad(h: Any, fmt: PayloadFormat = fmt) -> None:
                if not all(refused(h.body, other) for other in ambiguous if other is not fmt):
                    row(fmt, h.label).skipped += 1
                    return
                record(fmt, h.label, h.body, _judge_hostile(fmt, sender.send(h.body)))

            own = [c for c in (classes_of(fmt) if classes is None else classes) if c in classes_of(fmt)]
            for label in own:  # each class its share (at least one)
                run(hostile(fmt, classes=[label], inputs=values),
                    max(1, n_hostile // len(own)), bad)
    finally:
        sender.close()
    return ServerCheck(target, list(rows.values()), list(failures.values()), time.monotonic() - start,
                       stopped[0] if stopped else None)


