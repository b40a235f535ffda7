"""What ``bench`` sends and how it judges the answers.

Inputs, as Earth Engine sends a tile: one input per band, ``B1``..``BC``, each ``(N, H, W, 1)``
(N = ``batch``); ND_ARRAYS, whose instances are bare, sends the ``(N, H, W, C)`` array.  A few
distinct batches are made up front (:func:`tensorwire._measure.random_array`, seeded) and sent
in turn, so that making data is not in the timings and an answer cached or meant for another
request cannot pass the echo check.

Checks of a successful answer (the client itself refuses one that does not decode or that has
not one prediction per instance: ``bad answer``):

* shape: the first answer (a warm-up one, normally) fixes the outputs' names, dtypes and
  per-instance shapes; every later answer must have the same (``wrong shape``);
* ``echo=True``: the model returns its inputs, so each output must hold the values of the input
  of the same name (the one output of a one-input request: that input), compared per instance
  as flat sequences of numbers (``numpy.array_equal``; the server may have reshaped them, as
  GRPC_SERIALIZED_TF_EXAMPLES does without ``--example-shape``) (``wrong value``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from .._measure import random_array
from ..errors import DecodeError, PredictionError
from ..payload import PayloadFormat

Inputs = Union[NDArray[Any], dict[str, NDArray[Any]]]
Outputs = dict[str, NDArray[Any]]
Signature = dict[str, tuple[str, tuple[int, ...]]]

POOL_BYTES = 256 << 20  # the distinct batches made up front hold at most this much (at least one)
POOL_SIZE = 4


class AnswerError(Exception):
    """An answer that decoded but fails a check; ``kind`` is ``wrong shape`` or ``wrong value``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def echo(inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """A model that returns its inputs: ``python -m tensorwire serve tensorwire.bench:echo``, the
    server ``bench --echo`` can check values against (and what ``--local`` runs)."""
    return dict(inputs)


def tile_inputs(batch: NDArray[Any], fmt: PayloadFormat) -> Inputs:
    """The request inputs for a batch-first ``(N, H, W, C)`` array in ``fmt`` (module docstring)."""
    if fmt is PayloadFormat.ND_ARRAYS:
        return batch
    return {f"B{i + 1}": np.ascontiguousarray(batch[..., i:i + 1]) for i in range(batch.shape[-1])}


def make_pool(tile: tuple[int, ...], dtype: Any, batch: int, seed: int = 0) -> list[NDArray[Any]]:
    """The distinct ``(batch, *tile)`` arrays sent in turn."""
    one = int(np.prod((batch, *tile))) * np.dtype(dtype).itemsize
    count = max(1, min(POOL_SIZE, POOL_BYTES // max(one, 1)))
    return [random_array((batch, *tile), dtype, (seed, k)) for k in range(count)]


def named(inputs: Inputs) -> dict[str, NDArray[Any]]:
    return {"instances": inputs} if isinstance(inputs, np.ndarray) else inputs


def signature(outputs: Outputs) -> Signature:
    return {name: (str(a.dtype), tuple(a.shape[1:])) for name, a in outputs.items()}


def check(outputs: Outputs, inputs: Inputs, expected: Signature | None, echo: bool) -> None:
    """AnswerError if ``outputs`` fails a check (module docstring); ``expected``: the first
    answer's signature (None: this is the first)."""
    if expected is not None:
        got = signature(outputs)
        if got != expected:
            raise AnswerError("wrong shape", f"outputs {_sig_text(got)}; the first answer had {_sig_text(expected)}")
    if echo:
        sent = named(inputs)
        if len(outputs) == 1 and len(sent) == 1:
            pairs = [(next(iter(outputs)), next(iter(sent.values())))]
        elif set(outputs) == set(sent):
            pairs = [(name, sent[name]) for name in outputs]
        else:
            raise AnswerError("wrong value", f"outputs {sorted(outputs)} are not the inputs {sorted(sent)}")
        for name, want in pairs:
            have = np.asarray(outputs[name])
            n = len(want)
            if have.size != want.size or not np.array_equal(have.reshape(n, -1), want.reshape(n, -1)):
                differ = "sizes differ" if have.size != want.size else \
                    f"{int(np.count_nonzero(have.reshape(n, -1) != want.reshape(n, -1)))} of {want.size} values differ"
                raise AnswerError("wrong value", f"output {name!r} is not its input: {differ}")


def _sig_text(sig: Mapping[str, tuple[str, tuple[int, ...]]]) -> str:
    return ", ".join(f"{name}: {dt} {shape}" for name, (dt, shape) in sorted(sig.items()))


def kind_of(exc: BaseException) -> str:
    """The error kind a failed call is counted under (docs/bench.md)."""
    if isinstance(exc, AnswerError):
        return exc.kind
    if isinstance(exc, PredictionError):
        if isinstance(exc.status, int):
            return f"HTTP {exc.status}"
        return str(exc.status) if exc.status is not None else "error answer"
    if isinstance(exc, DecodeError):
        return "bad answer"
    return type(exc).__name__
