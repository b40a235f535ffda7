"""A load generator for model endpoints in Earth Engine's payload formats: ``python -m tensorwire
bench TARGET`` (:mod:`tensorwire.bench.cli`), or :func:`bench` / :func:`bench_local` from Python.

Needs the ``bench`` extra (the client's urllib3 and grpcio, and tqdm for the progress line); the
plot needs matplotlib, the ``plot`` extra (``pip install "tensorwire[bench,plot]"``).
docs/bench.md describes the method and every figure; in short:

* for each format, for each concurrency C, C threads share one :class:`tensorwire.Client`
  (thread-safe: keep-alive HTTP connections, one gRPC channel), each sending one batch of
  ``batch`` tiles per call, one call after another (a closed loop, as Triton's
  ``perf_analyzer`` runs by default), after ``warmup`` checked, uncounted calls each
  (``tensorwire.bench._runner``);
* a level lasts ``duration`` seconds, or until ``requests`` calls in all; every call has the
  client's ``timeout``; Ctrl-C ends the run with what was measured so far;
* rates are counts over the wall time on a monotonic clock (``time.perf_counter``); latency
  percentiles are ``numpy.percentile`` of the successful calls (``tensorwire.bench.report``);
* answers are checked for count (the client), shape (the same as the first answer's) and,
  with ``echo=True``, values (``tensorwire.bench._workload``);
* ``bench_local`` runs the same calls with the server's request handler in the calling thread
  instead of a network (``tensorwire.bench._local``), and times the four codec steps of one
  batch as ``demo`` times its codecs, to separate codec cost from network cost.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import numpy as np
from numpy.typing import DTypeLike

from ..payload import GRPC_FORMATS, AnyFormat, PayloadFormat
from . import _runner
from ._workload import echo
from .plot import write_plot
from .report import BenchReport, LevelResult, StageTimes

__all__ = ["bench", "bench_local", "echo", "write_plot", "BenchReport", "LevelResult", "StageTimes",
           "EE_FORMATS"]

#: Earth Engine's six payload formats: what ``bench_local`` measures unless told otherwise.
EE_FORMATS = (
    PayloadFormat.SERIALIZED_TF_TENSORS, PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS,
    PayloadFormat.GRPC_TF_TENSORS, PayloadFormat.GRPC_SERIALIZED_TF_TENSORS, PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES,
)


def is_http(target: str) -> bool:
    """Whether ``target`` is a URL for the JSON formats (else a gRPC ``host:port``)."""
    return target.startswith(("http://", "https://"))


def _plan(formats: Iterable[AnyFormat], targets: dict[PayloadFormat, str] | None, tile: Sequence[int],
          dtype: DTypeLike, batch: int, concurrency: Iterable[int], duration: float | None, requests: int | None,
          warmup: int, max_payload_bytes: int, timeout: float, headers: Mapping[str, str] | None, echo: bool,
          request_options: dict[str, Any]) -> _runner.Plan:
    fmts = list(dict.fromkeys(PayloadFormat.of(f) for f in formats))
    levels = [int(c) for c in concurrency]
    shape = tuple(int(d) for d in tile)
    if not fmts:
        raise ValueError("no format to measure")
    if not levels or min(levels) < 1:
        raise ValueError("concurrency: one or more counts of at least 1")
    if not shape or min(shape) < 1:
        raise ValueError(f"tile: positive sizes such as (256, 256, 12), not {tuple(tile)}")
    if batch < 1 or warmup < 0 or max_payload_bytes < 1 or not timeout > 0:
        raise ValueError("batch and max_payload_bytes must be at least 1, warmup at least 0, timeout positive")
    if requests is not None and requests < 1:
        raise ValueError("requests must be at least 1")
    if duration is None:
        duration = 10.0 if requests is None else float("inf")
    if not duration > 0:
        raise ValueError("duration must be a positive number of seconds")
    plan = _runner.Plan(fmts, targets, shape, np.dtype(dtype), int(batch), levels, float(duration), requests,
                        int(warmup), int(max_payload_bytes), float(timeout), dict(headers or {}), bool(echo),
                        request_options)
    _runner.check_payload(plan)
    return plan


def bench(targets: str | Sequence[str], formats: Iterable[AnyFormat] | None = None, *,
          tile: Sequence[int] = (256, 256, 12), dtype: DTypeLike = np.float32, batch: int = 1,
          concurrency: Iterable[int] = (1,), duration: float | None = None, requests: int | None = None,
          warmup: int = 1, max_payload_bytes: int = 1_500_000, timeout: float = 30.0,
          headers: Mapping[str, str] | None = None, echo: bool = False, progress: bool | None = None,
          log: TextIO | None = None, max_time: float = 3600.0, **request_options: Any) -> BenchReport:
    """Load-test an endpoint; the report of every (format, concurrency) level.

    ``targets``: the predict URL (``http(s)://...``) for the JSON formats and/or the gRPC
    ``host:port`` (``grpcs://`` for TLS) for the gRPC ones.  ``formats``: default
    SERIALIZED_TF_TENSORS with a URL, GRPC_TF_TENSORS with a gRPC target (both when both are
    given).  ``tile`` (H, W, C) and ``dtype``: each instance, sent as Earth Engine sends a tile;
    ``batch`` instances per call.  ``duration`` seconds per level (default 10, or unbounded
    with ``requests``, whose run is then bounded by ``max_time``), ``requests`` calls per level
    in all (the first bound reached ends the level).  ``headers`` go with every request (auth;
    their values are not reported).  ``echo``: the model returns its inputs
    (``tensorwire serve tensorwire.bench:echo``), so answers are checked for values too.
    ``progress``: a tqdm line on stderr (None: when stderr is a terminal); ``log``: where a
    line per level goes when there is no progress line.  ``request_options`` (``model_name``,
    ``signature_name``, ...) go to the gRPC requests.

    ValueError for a bad argument, or a tile that does not fit ``max_payload_bytes`` in some
    format (checked before anything is sent).  Ctrl-C returns the report so far
    (``report.interrupted``).
    """
    listed = [targets] if isinstance(targets, str) else list(targets)
    http = [t for t in listed if is_http(t)]
    grpc = [t for t in listed if not is_http(t)]
    if len(http) > 1 or len(grpc) > 1 or not listed:
        raise ValueError(f"targets: one predict URL and/or one gRPC host:port, not {listed}")
    if formats is None:
        formats = ([PayloadFormat.SERIALIZED_TF_TENSORS] if http else []) + \
                  ([PayloadFormat.GRPC_TF_TENSORS] if grpc else [])
    fmts = [PayloadFormat.of(f) for f in formats]
    where: dict[PayloadFormat, str] = {}
    for f in fmts:
        pool = grpc if f in GRPC_FORMATS else http
        if not pool:
            raise ValueError(f"{f.value} needs a {'gRPC host:port' if f in GRPC_FORMATS else 'http(s):// URL'} "
                             f"target; got {listed}")
        where[f] = pool[0]
    plan = _plan(fmts, where, tile, dtype, batch, concurrency, duration, requests, warmup, max_payload_bytes,
                 timeout, headers, echo, request_options)
    return _runner.run(plan, None, progress=_progress(progress), log=log, max_time=max_time)


def bench_local(formats: Iterable[AnyFormat] = EE_FORMATS, *, tile: Sequence[int] = (256, 256, 12),
                dtype: DTypeLike = np.float32, batch: int = 1, concurrency: Iterable[int] = (1,),
                duration: float | None = None, requests: int | None = None, warmup: int = 1,
                max_payload_bytes: int = 1_500_000, echo: bool = True, progress: bool | None = None,
                log: TextIO | None = None, max_time: float = 3600.0, stages: bool = True) -> BenchReport:
    """:func:`bench` with no server: each call's request is answered in the calling thread by the
    server's handler around :func:`echo` (codec work only), and, with ``stages``, the four codec
    steps of one batch are timed per format first (``report.stages``)."""
    from ._local import LocalTransport, local_model, stage_times

    plan = _plan(formats, None, tile, dtype, batch, concurrency, duration, requests, warmup, max_payload_bytes,
                 60.0, None, echo, {})

    def transport(fmt: PayloadFormat) -> LocalTransport:
        return LocalTransport(local_model(fmt, plan.tile), fmt)

    return _runner.run(plan, transport, progress=_progress(progress), log=log, max_time=max_time,
                       stages=stage_times if stages else None)


def _progress(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)
