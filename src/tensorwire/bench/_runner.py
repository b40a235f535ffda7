"""The load loop: for each format, for each concurrency, C threads share one :class:`tensorwire.Client`.

One level (a format at a concurrency C):

1. a Client is made for it (``retries=0``: every failure counts; keep-alive HTTP connections
   for C threads, or one gRPC channel; a batch over ``max_payload_bytes`` is split as the
   Client always does, its parts sent one after another), its transport wrapped to count the
   bodies and bytes that go out and come back;
2. C threads start; each makes ``warmup`` calls that are checked but not counted (connections
   are opened and first-call costs paid), then waits until all are ready;
3. all are released at once and the clock starts; each thread takes a ticket before each call
   and stops when there is none: tickets run out after ``requests`` calls in all, or when
   ``duration`` seconds have passed since the start (a call in flight then finishes and
   counts), or at Ctrl-C;
4. the level ends when every thread has; the wall time runs to the end of the last call.

Bounds: every call has the Client's ``timeout``; a level that has not ended ``timeout + 10`` s
after its duration (or, with ``requests``, after ``max_time``) is stopped and the calls still
in flight are counted as ``unfinished``.  Ctrl-C (KeyboardInterrupt in the main thread) stops
the threads at their next ticket, waits up to 3 s for the calls in flight, and returns what
was measured, marked interrupted.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import numpy as np

from .. import __version__, backend, payload
from .._batcher import Batcher
from .._transport import Transport
from ..payload import GRPC_FORMATS, PayloadFormat
from . import _workload as w
from .report import BenchReport, LevelResult, merge_counts

GRACE = 3.0  # seconds the calls in flight get after Ctrl-C


@dataclasses.dataclass
class Plan:
    """What to run (``bench()``'s arguments, checked)."""

    formats: list[PayloadFormat]
    targets: dict[PayloadFormat, str] | None  # None: --local
    tile: tuple[int, ...]
    dtype: np.dtype[Any]
    batch: int
    concurrency: list[int]
    duration: float
    requests: int | None
    warmup: int
    max_payload_bytes: int
    timeout: float
    headers: dict[str, str]
    echo: bool
    request_options: dict[str, Any]


class _Counting:
    """A transport that counts what passes through the one it wraps."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.bodies = self.sent = self.received = 0

    def send_once(self, body: bytes, headers: Mapping[str, str]) -> bytes:
        with self.lock:
            self.bodies += 1
            self.sent += len(body)
        answer = self.inner.send_once(body, headers)
        with self.lock:
            self.received += len(answer)
        return answer

    def close(self) -> None:
        self.inner.close()

    def snapshot(self) -> tuple[int, int, int]:
        """(bodies, bytes sent, bytes received) so far."""
        with self.lock:
            return self.bodies, self.sent, self.received


class _Level:
    """The state the threads of one level share."""

    def __init__(self, plan: Plan, fmt: PayloadFormat, concurrency: int, pool: list[w.Inputs]) -> None:
        self.plan = plan
        self.fmt = fmt
        self.concurrency = concurrency
        self.pool = pool
        self.lock = threading.Lock()
        self.remaining = plan.requests
        self.stop = threading.Event()
        self.go = threading.Event()
        self.ready = 0
        self.start = 0.0
        self.deadline = float("inf")
        self.signature: w.Signature | None = None
        self.base = (0, 0, 0)  # the transport's counts when the clock started (the warm-up's)

    def take(self) -> bool:
        """A ticket for one more call (False: the level is over)."""
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            return False
        with self.lock:
            if self.remaining is not None:
                if self.remaining <= 0:
                    return False
                self.remaining -= 1
        return True

    def first(self, outputs: w.Outputs) -> w.Signature:
        with self.lock:
            if self.signature is None:
                self.signature = w.signature(outputs)
            return self.signature


class _Worker(threading.Thread):
    def __init__(self, index: int, level: _Level, client: Any) -> None:
        super().__init__(name=f"tensorwire-bench-{index}", daemon=True)
        self.index = index
        self.level = level
        self.client = client
        self.latencies: list[float] = []
        self.ok = 0
        self.last_end = 0.0
        self.errors: dict[str, int] = {}
        self.examples: dict[str, str] = {}
        self.warmup_errors: dict[str, int] = {}
        self.in_call = False

    def _call(self, k: int) -> tuple[float, BaseException | None]:
        lv = self.level
        inputs = lv.pool[(self.index + k) % len(lv.pool)]
        self.in_call = True
        start = time.perf_counter()
        try:
            outputs = self.client.predict(inputs)
        except Exception as exc:  # noqa: BLE001 - counted by kind
            return 0.0, exc
        finally:
            self.in_call = False
        latency = time.perf_counter() - start
        try:
            w.check(outputs, inputs, lv.first(outputs), lv.plan.echo)
        except w.AnswerError as exc:
            return latency, exc
        return latency, None

    def _error(self, counts: dict[str, int], exc: BaseException) -> None:
        kind = w.kind_of(exc)
        counts[kind] = counts.get(kind, 0) + 1
        self.examples.setdefault(kind, str(exc)[:300])

    def run(self) -> None:
        lv = self.level
        try:
            for k in range(lv.plan.warmup):
                if lv.stop.is_set():
                    break
                _, exc = self._call(k)
                if exc is not None:
                    self._error(self.warmup_errors, exc)
        finally:
            with lv.lock:
                lv.ready += 1
        if not lv.go.wait(lv.plan.timeout * (lv.plan.warmup + 1) + 60):
            return
        k = 0
        while lv.take():
            latency, exc = self._call(k)
            end = time.perf_counter()
            if exc is None:
                self.latencies.append(latency)
                self.ok += 1
            else:
                self._error(self.errors, exc)
            self.last_end = end
            k += 1


class _Bar:
    """The progress line of one level: a tqdm bar on stderr, or nothing."""

    def __init__(self, show: bool, level: _Level, log: TextIO | None) -> None:
        self.bar: Any = None
        plan = level.plan
        what = f"{level.fmt.value} x{level.concurrency}"
        total: float = plan.requests if plan.requests is not None else plan.duration
        if show:
            try:
                from tqdm import tqdm
            except ImportError:
                show = False
                if log is not None:
                    print("bench: no progress line (tqdm is not installed)", file=log, flush=True)
            else:
                unit = "req" if plan.requests is not None else "s"
                self.bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)
        if not show and log is not None:
            amount = f"{plan.requests:,} requests" if plan.requests is not None else f"{plan.duration:g} s"
            print(f"bench: {what}: measuring ({amount})", file=log, flush=True)

    def update(self, level: _Level, workers: Sequence[_Worker]) -> None:
        if self.bar is None:
            return
        ok = sum(x.ok for x in workers)
        failed = sum(sum(x.errors.values()) for x in workers)
        elapsed = time.perf_counter() - level.start
        done: float = ok + failed if level.plan.requests is not None else min(elapsed, level.plan.duration)
        self.bar.n = done
        rate = "" if level.plan.requests is not None else f"{ok / elapsed if elapsed > 0 else 0:,.1f} req/s, "
        self.bar.set_postfix_str(f"{rate}{failed} errors", refresh=False)  # (tqdm shows the rate of requests)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(plan: Plan, make_transport: Callable[[PayloadFormat], Transport] | None, *, progress: bool,
        log: TextIO | None, stages: Callable[[PayloadFormat, w.Inputs], Any] | None = None,
        max_time: float = 3600.0) -> BenchReport:
    """Every level of ``plan`` in order, as a report (interrupted at Ctrl-C)."""
    report = BenchReport(settings(plan))
    try:
        pools = w.make_pool(plan.tile, plan.dtype, plan.batch)
        for fmt in plan.formats:
            pool = [w.tile_inputs(a, fmt) for a in pools]
            if stages is not None:
                report.stages.append(stages(fmt, pool[0]))
            for c in plan.concurrency:
                result, report.interrupted = _run_level(_Level(plan, fmt, c, pool), make_transport, progress, log,
                                                        max_time)
                if result is not None:
                    report.levels.append(result)
                if report.interrupted:
                    return report
    except KeyboardInterrupt:
        report.interrupted = True
    return report


def options(plan: Plan, fmt: PayloadFormat) -> dict[str, Any]:
    """The request options for ``fmt``: ``plan.request_options`` are gRPC ones (model name, ...)."""
    return plan.request_options if fmt in GRPC_FORMATS else {}


def _client(plan: Plan, fmt: PayloadFormat, concurrency: int,
            make_transport: Callable[[PayloadFormat], Transport] | None) -> tuple[Any, _Counting]:
    from ..client import Client

    target = "http://localhost:1/local" if plan.targets is None else plan.targets[fmt]
    if plan.targets is None and fmt in GRPC_FORMATS:
        target = "localhost:1"  # never dialled: the transport is replaced below
    client = Client(target, fmt, timeout=plan.timeout, retries=0, headers=plan.headers,
                    max_payload_bytes=plan.max_payload_bytes, concurrency=concurrency, **options(plan, fmt))
    client.batcher = Batcher(plan.max_payload_bytes, 1)  # a split batch's parts one after another
    if make_transport is not None:
        client.transport.close()
        client.transport = make_transport(fmt)
    counting = _Counting(client.transport)
    client.transport = counting
    return client, counting


def _run_level(level: _Level, make_transport: Callable[[PayloadFormat], Transport] | None, progress: bool,
               log: TextIO | None, max_time: float) -> tuple[LevelResult | None, bool]:
    """(the level's result, whether Ctrl-C stopped it); the result is None if Ctrl-C came before
    the clock started."""
    plan = level.plan
    client, counting = _client(plan, level.fmt, level.concurrency, make_transport)
    workers = [_Worker(i, level, client) for i in range(level.concurrency)]
    started = False
    bar: _Bar | None = None
    try:
        for x in workers:
            x.start()
        ready_by = time.monotonic() + plan.timeout * (plan.warmup + 1) + 60
        while level.ready < level.concurrency and time.monotonic() < ready_by:
            time.sleep(0.02)
        bar = _Bar(progress, level, log)
        level.base = counting.snapshot()
        level.start = time.perf_counter()
        now = time.monotonic()
        level.deadline = now + plan.duration
        level.go.set()
        started = True
        hard = now + (plan.duration if plan.requests is None else max_time) + plan.timeout + 10
        while any(x.is_alive() for x in workers) and time.monotonic() < hard:
            for x in workers:
                x.join(0.1)
            bar.update(level, workers)
        level.stop.set()
        return _result(level, workers, counting, interrupted=False), False
    except KeyboardInterrupt:
        level.stop.set()
        _grace(workers, min(GRACE, plan.timeout))
        return (_result(level, workers, counting, interrupted=True) if started else None), True
    finally:
        level.stop.set()
        if bar is not None:
            bar.close()
        if not any(x.is_alive() for x in workers):
            client.close()


def _grace(workers: Sequence[_Worker], seconds: float) -> None:
    """Wait up to ``seconds`` for the calls in flight (a second Ctrl-C ends the wait)."""
    until = time.monotonic() + seconds
    try:
        while any(x.is_alive() for x in workers) and time.monotonic() < until:
            for x in workers:
                x.join(0.05)
    except KeyboardInterrupt:
        pass


def _result(level: _Level, workers: Sequence[_Worker], counting: _Counting, interrupted: bool) -> LevelResult:
    latencies = np.array([x for wk in workers for x in list(wk.latencies)], dtype=np.float64) * 1e3
    errors = merge_counts([dict(wk.errors) for wk in workers])
    unfinished = sum(1 for wk in workers if wk.is_alive() and wk.in_call)
    if unfinished and not interrupted:
        errors["unfinished"] = unfinished  # still in flight past the level's bound
    examples: dict[str, str] = {}
    for wk in workers:
        for kind, text in list(wk.examples.items()):
            examples.setdefault(kind, text)
    if "unfinished" in errors:
        examples.setdefault("unfinished", f"no answer {level.plan.timeout:g} s + 10 s after the level's end")
    ok = sum(wk.ok for wk in workers)
    ended = ok + sum(sum(wk.errors.values()) for wk in workers) + errors.get("unfinished", 0)
    start = level.start
    wall = max([start, *(wk.last_end for wk in workers)]) - start
    bodies, sent, received = (now - then for now, then in zip(counting.snapshot(), level.base))
    return LevelResult(
        format=level.fmt.value, concurrency=level.concurrency, requests=ended, ok=ok, wall_s=wall,
        latencies_ms=latencies, batch=level.plan.batch, bodies=bodies, request_bytes_total=sent,
        response_bytes_total=received, errors=errors, error_examples=examples,
        warmup_errors=merge_counts([dict(wk.warmup_errors) for wk in workers]), interrupted=interrupted,
    )


def settings(plan: Plan) -> dict[str, Any]:
    """The run's settings as the report and its JSON give them (header values are not included:
    they may be credentials)."""
    batch_bytes = int(np.prod((plan.batch, *plan.tile))) * plan.dtype.itemsize
    return {
        "tensorwire": __version__,
        "backend": backend(),
        "local": plan.targets is None,
        "targets": [] if plan.targets is None else sorted(set(plan.targets.values())),
        "formats": [f.value for f in plan.formats],
        "tile": "x".join(map(str, plan.tile)),
        "dtype": str(plan.dtype),
        "batch": plan.batch,
        "batch_bytes": batch_bytes,
        "concurrency": list(plan.concurrency),
        "duration_s": plan.duration if plan.duration != float("inf") else None,
        "requests": plan.requests,
        "warmup": plan.warmup,
        "max_payload_bytes": plan.max_payload_bytes,
        "timeout_s": plan.timeout,
        "echo": plan.echo,
        "header_names": sorted(plan.headers),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def check_payload(plan: Plan) -> None:
    """ValueError if one instance of the tile is over ``max_payload_bytes`` in some format (no
    request could be sent; Earth Engine would refuse it too)."""
    one = w.make_pool(plan.tile, plan.dtype, 1)[0][:1]
    for fmt in plan.formats:
        size = len(payload.encode_request(w.tile_inputs(one, fmt), fmt, **options(plan, fmt)))
        if size > plan.max_payload_bytes:
            raise ValueError(f"one {'x'.join(map(str, plan.tile))} {plan.dtype} tile is {size:,} bytes in {fmt.value}, "
                             f"over max_payload_bytes={plan.max_payload_bytes:,}; raise it (or shrink the tile)")
