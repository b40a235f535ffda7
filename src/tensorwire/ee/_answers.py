"""What a model must answer for ``tensorwire.ee.Model``, and the checks Earth Engine makes of it.

``output_bands`` / ``output_properties`` map each name to a dtype, or to ``(dtype, dimensions)``:
``dimensions`` 0 (the default) is a scalar per pixel (or per feature), 1 a vector, 2 a matrix.
An answer must hold every name (or, when one output is declared, a bare answer, which the
decoders name ``"output"``), per instance of the shape expected (``block`` = the output tile, or
nothing for properties) followed by ``dimensions`` axes (a scalar may also come as a trailing
axis of 1), the same trailing shape in every answer of a call, and values of a dtype that
converts to the declared one:

* formats that carry a dtype (SERIALIZED_TF_TENSORS and the gRPC formats): numpy's
  ``same_kind`` casting (float64 to float32, int64 to uint8, but not float to an integer type);
* formats of number text (RAW_JSON, ND_ARRAYS, JSON), whose numbers have no dtype: every value
  must be representable, i.e. integers within range for an integer type, 0/1 for bool;
* strings never convert to a numeric type.

A failed check is a :class:`tensorwire.PredictionError` naming where (the tiles or rows of the
request), the output and what was wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ..errors import PredictionError
from ..payload import PayloadFormat

#: One declared output: a dtype, or ``(dtype, dimensions)``.
OutputSpec = Union[DTypeLike, tuple[DTypeLike, int]]

TEXT_NUMBER_FORMATS = (PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS, PayloadFormat.JSON)


@dataclasses.dataclass(frozen=True)
class Output:
    name: str
    dtype: np.dtype[Any]
    dimensions: int


def outputs(spec: Mapping[str, OutputSpec] | None, what: str) -> list[Output]:
    """The declared outputs; ValueError naming ``what`` for an empty or malformed declaration."""
    if not spec:
        raise ValueError(f"{what}: declare at least one output, {{name: dtype}} or {{name: (dtype, dimensions)}}")
    result = []
    for name, value in spec.items():
        dtype, dims = dtype_and_count(value, f"{what}[{name!r}]", "dimensions", 0, "biuf")
        result.append(Output(str(name), dtype, dims or 0))
    return result


#: The dtypes the command lines (predict-image's --output-band, check's --band) take by name.
DTYPE_NAMES = ("float32", "float64", "float16", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64")


def dtype_and_count(value: Any, where: str, count: str, minimum: int, kinds: str) -> tuple[np.dtype[Any], int | None]:
    """A declaration that is a dtype or ``(dtype, n)``: ``(dtype, n)``, n None for a bare dtype.
    ValueError naming ``where`` for a tuple that is not two items with an int ``n >= minimum``
    (called ``count`` in the message), for what is not a dtype, or for a dtype whose kind is not
    in ``kinds``.  Output declarations take ``(dtype, dimensions >= 0)``; tensorwire.conformance
    takes bands as ``(dtype, k >= 1)``."""
    n = None
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[1], int) or value[1] < minimum:
            raise ValueError(f"{where}: expected a dtype or (dtype, {count} >= {minimum}), not {value!r}")
        value, n = value
    try:
        dtype = np.dtype(value)
    except TypeError:
        raise ValueError(f"{where}: {value!r} is not a dtype") from None
    if dtype.kind not in kinds:
        raise ValueError(f"{where}: {dtype} is not a numeric dtype")
    return dtype, n


class Checker:
    """Checks the answers of one call: ``check(answer, where)`` gives ``{name: array}`` with each
    declared output converted to its dtype and shaped ``(n,) + block + trailing``."""

    def __init__(self, declared: list[Output], block: tuple[int, ...], fmt: PayloadFormat) -> None:
        self.declared = declared
        self.block = block
        self.text_numbers = fmt in TEXT_NUMBER_FORMATS
        self.trailing: dict[str, tuple[int, ...]] = {}  # of the first answer, per output

    def check(self, answer: Mapping[str, NDArray[Any]], where: str) -> dict[str, NDArray[Any]]:
        checked = {}
        for out in self.declared:
            a = answer.get(out.name)
            if a is None and len(self.declared) == 1 and list(answer) == ["output"]:
                a = answer["output"]  # a bare answer for the one declared output
            if a is None:
                raise PredictionError(f"{where}: output {out.name!r} missing from the answer (it has {sorted(answer)})")
            checked[out.name] = self._one(out, a, where)
        return checked

    def _one(self, out: Output, a: NDArray[Any], where: str) -> NDArray[Any]:
        n, nb = len(a), len(self.block)
        got = a.shape[1:]
        if got[:nb] != self.block:
            raise PredictionError(f"{where}: output {out.name!r} has shape {got} per instance; expected "
                                  f"{self.block} (+ {out.dimensions} dimensions)")
        trailing = got[nb:]
        if out.dimensions == 0 and trailing == (1,):
            a, trailing = a.reshape((n,) + self.block), ()
        if len(trailing) != out.dimensions:
            raise PredictionError(f"{where}: output {out.name!r} has shape {got} per instance: "
                                  f"{len(trailing)} dimensions after {self.block}, declared {out.dimensions}")
        first = self.trailing.setdefault(out.name, trailing)
        if trailing != first:
            raise PredictionError(f"{where}: output {out.name!r} has shape {got} per instance; earlier answers "
                                  f"had {self.block + first}")
        problem = self._cast_problem(a, out.dtype)
        if problem:
            raise PredictionError(f"{where}: output {out.name!r}: {problem}")
        return a if a.dtype == out.dtype else a.astype(out.dtype)

    def _cast_problem(self, a: NDArray[Any], want: np.dtype[Any]) -> str | None:
        if a.dtype.kind not in "biuf":
            return f"{a.dtype} values do not convert to {want}"
        if not self.text_numbers:
            if np.can_cast(a.dtype, want, casting="same_kind"):
                return None
            return f"{a.dtype} does not convert to {want} (same_kind casting)"
        if want.kind == "f" or a.dtype.kind in "biu" and np.can_cast(a.dtype, want, casting="safe"):
            return None
        if a.size == 0:
            return None
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return f"non-finite values do not convert to {want}"
        if want.kind == "b":
            bad = (a != 0) & (a != 1)
        else:
            info = np.iinfo(want)
            bad = (a != np.round(a)) | (a < info.min) | (a > info.max)
        if bad.any():
            value = a[bad].reshape(-1)[0].item()
            return f"value {value!r} is not representable in {want}"
        return None
