"""What ``bench`` measured: one :class:`LevelResult` per (format, concurrency), a :class:`BenchReport`
over them, its text table and its JSON (docs/bench.md lists every field).

Figures, per level (``wall`` is the run's time on ``time.perf_counter``, a monotonic clock, from
the moment every thread is released to the end of the last request):

* ``requests``: predict calls that ended (answered or failed), ``ok`` those that succeeded and
  passed the checks; a call is one batch of ``batch`` tiles (one HTTP body or gRPC message,
  or several when the batch is over ``max_payload_bytes`` and the client splits it);
* ``requests_per_s`` = ok / wall, ``tiles_per_s`` = ok x batch / wall, ``payload_mb_per_s`` =
  bytes of the request bodies sent / wall / 1e6 (``response_mb_per_s``: of the answers);
* latency (ms, of the successful calls only, each timed around ``Client.predict``: encoding,
  sending, the server's work, receiving and decoding; the checks of the answer
  come after it): p50, p90, p99 by
  ``numpy.percentile`` (linear interpolation), max and mean;
* ``errors``: failed calls by kind (``HTTP 503``, ``DEADLINE_EXCEEDED``, ``bad answer``,
  ``wrong shape``, ``wrong value``, ...) and the first message of each kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .._measure import table

PERCENTILES = (50, 90, 99)


@dataclasses.dataclass
class LevelResult:
    """One format at one concurrency (see the module docstring for each figure)."""

    format: str
    concurrency: int
    requests: int
    ok: int
    wall_s: float
    latencies_ms: NDArray[np.float64]
    batch: int
    bodies: int  # request bodies sent (more than ``requests`` when batches were split)
    request_bytes_total: int
    response_bytes_total: int
    errors: dict[str, int] = dataclasses.field(default_factory=dict)
    error_examples: dict[str, str] = dataclasses.field(default_factory=dict)
    warmup_errors: dict[str, int] = dataclasses.field(default_factory=dict)
    interrupted: bool = False  # stopped by Ctrl-C: the figures cover what ended before it

    @property
    def failed(self) -> int:
        return self.requests - self.ok

    def _rate(self, count: float) -> float | None:
        return count / self.wall_s if self.wall_s > 0 else None

    def latency(self) -> dict[str, float | None]:
        """p50, p90, p99, max and mean in ms (None each without a successful call)."""
        lat = self.latencies_ms
        if not len(lat):
            return {**{f"p{p}": None for p in PERCENTILES}, "max": None, "mean": None}
        points = np.percentile(lat, PERCENTILES)
        return {**{f"p{p}": float(v) for p, v in zip(PERCENTILES, points)},
                "max": float(lat.max()), "mean": float(lat.mean())}

    def to_json(self) -> dict[str, Any]:
        bodies = self.bodies or None
        return {
            "format": self.format,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "ok": self.ok,
            "failed": self.failed,
            "tiles": self.ok * self.batch,
            "wall_s": self.wall_s,
            "requests_per_s": self._rate(self.ok),
            "tiles_per_s": self._rate(self.ok * self.batch),
            "payload_mb_per_s": self._rate(self.request_bytes_total / 1e6),
            "response_mb_per_s": self._rate(self.response_bytes_total / 1e6),
            "latency_ms": self.latency(),
            "bodies": self.bodies,
            "request_bytes": None if bodies is None else self.request_bytes_total / bodies,
            "response_bytes": None if bodies is None else self.response_bytes_total / bodies,
            "errors": dict(self.errors),
            "error_examples": dict(self.error_examples),
            "warmup_errors": dict(self.warmup_errors),
            "interrupted": self.interrupted,
        }


@dataclasses.dataclass
class StageTimes:
    """``--local``: one format's four codec steps on one batch, each the fastest of a few calls
    (``tensorwire._measure.best_time``, as ``demo`` times its codecs), in seconds."""

    format: str
    encode_request: float
    decode_request: float
    encode_response: float
    decode_response: float
    request_bytes: int
    response_bytes: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class BenchReport:
    """A bench run: its settings, a :class:`LevelResult` per (format, concurrency) measured, in
    order, and for ``--local`` the codec steps' times.  ``interrupted``: Ctrl-C stopped it (the
    last level is partial, the levels after it are missing)."""

    settings: dict[str, Any]
    levels: list[LevelResult] = dataclasses.field(default_factory=list)
    stages: list[StageTimes] = dataclasses.field(default_factory=list)
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        """Every level ran whole, with no failed call and no failed warm-up call."""
        return bool(self.levels) and not self.interrupted and all(
            lv.failed == 0 and not lv.warmup_errors and not lv.interrupted for lv in self.levels)

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings, "interrupted": self.interrupted, "passed": self.passed,
                "levels": [lv.to_json() for lv in self.levels],
                "stages": [s.to_json() for s in self.stages]}

    def text(self) -> str:
        """The report as printed: settings, the table, the errors, and the codec steps (--local)."""
        s = self.settings
        where = "in this process, no network (--local)" if s.get("local") else ", ".join(s.get("targets", ()))
        lines = [f"tensorwire bench: {where}; tile {s['tile']} {s['dtype']}, batch {s['batch']}; "
                 f"backend {s['backend']}", ""]
        rows = []
        for lv in self.levels:
            j = lv.to_json()
            lat = j["latency_ms"]
            rows.append([lv.format, lv.concurrency, f"{lv.ok:,}" + ("*" if lv.interrupted else ""),
                         _num(j["requests_per_s"], 1), _num(j["tiles_per_s"], 1), _num(j["payload_mb_per_s"], 1),
                         *(_num(lat[k], 2) for k in ("p50", "p90", "p99", "max")),
                         f"{lv.failed:,}", _num(j["request_bytes"], 0)])
        headers = ["format", "conc.", "requests", "req/s", "tiles/s", "MB/s", "p50 ms", "p90 ms", "p99 ms",
                   "max ms", "errors", "request bytes"]
        lines.append(table(rows, headers) if rows else "(nothing measured)")
        for lv in self.levels:
            for kind, count in {**lv.errors, **{f"warm-up: {k}": n for k, n in lv.warmup_errors.items()}}.items():
                example = lv.error_examples.get(kind, "")
                lines.append(f"  {lv.format} at {lv.concurrency}: {count:,} x {kind}" + (f": {example}" if example else ""))
        if self.stages:
            lines += ["", "codec steps on one batch (fastest of a few calls; MB/s of the raw batch):", ""]
            raw = s["batch_bytes"]
            lines.append(table([[st.format, *(f"{t * 1e3:,.3f} ms ({_num(raw / t / 1e6, 0)} MB/s)"
                                               for t in (st.encode_request, st.decode_request,
                                                         st.encode_response, st.decode_response)),
                                 f"{st.request_bytes:,}"] for st in self.stages],
                               ["format", "encode request", "decode request", "encode response", "decode response",
                                "request bytes"]))
        lines.append("")
        if self.interrupted:
            lines.append("INTERRUPTED: the figures cover what was measured before Ctrl-C (* = a partial level)")
        else:
            lines.append("PASS: no errors" if self.passed else "FAIL: some calls failed")
        return "\n".join(lines)


def _num(x: float | None, digits: int) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def merge_counts(counts: Sequence[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in counts:
        for k, n in c.items():
            out[k] = out.get(k, 0) + n
    return out
