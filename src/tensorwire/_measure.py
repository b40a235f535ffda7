"""What ``python -m tensorwire demo`` and ``python -m tensorwire bench --local`` share: the synthetic
tile, the min-of-repeats timer of a codec call, and the plain-text table they print.

* :func:`random_array`: deterministic data for a shape and dtype.  Floats are standard normal
  (float32 and float64 drawn in their own dtype, so the demo's tile is what it always was; other
  float dtypes are float32 draws cast), integers uniform in ``[0, 100)`` (within every integer
  dtype, and exact in the float32 that JSON numbers are read into), booleans fair coins.
* :func:`best_time`: the fastest of up to ``repeats`` calls, stopping early once ``budget``
  seconds were spent, with ``time.perf_counter`` (monotonic); the minimum is the usual estimate
  of a call's cost without the noise of other processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray


def random_array(shape: Sequence[int], dtype: DTypeLike = np.float32, seed: int | Sequence[int] = 0) -> NDArray[Any]:
    """Deterministic data of ``shape`` and ``dtype`` (see the module docstring); ValueError for a
    dtype that is not a number or bool."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if dt == np.float32:
        return rng.standard_normal(shape, dtype=np.float32)
    if dt == np.float64:
        return rng.standard_normal(shape, dtype=np.float64)
    if dt.kind == "f":
        return rng.standard_normal(shape, dtype=np.float32).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, 100, shape, dtype=dt)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    raise ValueError(f"dtype {dt}: expected a number or bool dtype")


def best_time(fn: Callable[[], Any], repeats: int, budget: float) -> tuple[float, Any]:
    """(min seconds, last result) over up to ``repeats`` calls, stopping once ``budget`` is spent."""
    best = float("inf")
    spent = 0.0
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if spent >= budget:
            break
    return best, result


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A Markdown table: the first and last columns left-aligned, the others right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    right = [False] + [True] * (len(headers) - 2) + [False]

    def line(cells: Sequence[object]) -> str:
        out = [str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right)]
        return "| " + " | ".join(out) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if r else (":" + "-" * (w + 1)) for w, r in zip(widths, right)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])
