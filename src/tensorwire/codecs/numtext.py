"""Number text (docs/number-text.md): the pure-Python reference.

Writing.  A float is written as the shortest decimal that reads back to the same value *in its
own dtype* (float16, float32 or float64), with the digits laid out as Python's ``repr(float)``
lays them out: positional when 1e-4 <= |x| < 1e16, else ``d.ddde±XX`` (two exponent digits at
least), ``.0`` added to integral values.  float64 text is therefore ``repr(x)``; float32 0.1 is
``0.1``.  The definition used here (docs/number-text.md)::

    repr(float(numpy.format_float_scientific(x, unique=True)))

Integers are plain decimal, booleans ``true``/``false``, non-finite floats the tokens ``NaN``,
``Infinity``, ``-Infinity`` (what the JSON codecs do with them is their policy, not this
module's).  ``float_format="tolist"`` writes a float as ``repr(float(x))``: the shortest text of
the value widened to float64, which is what ``json.dumps(a.tolist())`` writes.

Reading.  ``parse_number`` takes the text of one JSON number (``-?(0|[1-9][0-9]*)(.[0-9]+)?
([eE][+-]?[0-9]+)?``) or one of the tokens ``NaN``, ``Infinity``, ``-Infinity`` (float dtypes
only), or ``true``/``false`` (bool only), and returns the value *correctly rounded* to the
target dtype (round to nearest, ties to even; beyond the largest finite value, infinity).
Integer dtypes take integer literals only (``3.0`` and ``1e3`` are refused, as is a value out of
the dtype's range): a fraction silently truncated is worse than an error.  Text longer than
``MAX_NUMBER_CHARS`` is refused (a 767-digit decimal, the longest a float64 can need, fits).

Correct rounding to float32/float16: Python's ``float()`` rounds the decimal correctly to
float64, and rounding that once more to the narrower type is correct *unless* the float64
landed exactly on a midpoint between two neighbours of the narrower type (a midpoint is a
float64, so a decimal on either side of it rounds to the midpoint's side or onto it, never
across it).  On a midpoint the decimal is compared with it exactly (``fractions.Fraction``).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import DecodeError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from .._types import BytesLike

FloatFormat = Literal["shortest", "tolist"]
"""``format_number``'s ``float_format``."""

MAX_NUMBER_CHARS = 1100

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64))
BOOL_DTYPE = np.dtype(np.bool_)
NUMBER_DTYPES = FLOAT_DTYPES + INT_DTYPES + (BOOL_DTYPE,)

FLOAT_FORMATS: tuple[FloatFormat, ...] = ("shortest", "tolist")

NUMBER_RE = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
INTEGER_RE = re.compile(rb"-?(?:0|[1-9][0-9]*)")
NONFINITE = {b"NaN": math.nan, b"Infinity": math.inf, b"-Infinity": -math.inf}

# The API both twins have (the twin re-exports the constants and number_dtype, the reference's own objects).
__all__ = ["MAX_NUMBER_CHARS", "FLOAT_FORMATS", "NUMBER_DTYPES", "format_number", "parse_number"]


def number_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """The numpy dtype (native byte order) for ``dtype``, if it is one this module reads and writes."""
    dt: np.dtype[Any] = np.dtype(dtype).newbyteorder("=")
    if dt not in NUMBER_DTYPES:
        raise TypeError(f"unsupported dtype for JSON numbers: {np.dtype(dtype)} (bool, int8-64, uint8-64, float16/32/64)")
    return dt


def format_number(value: ArrayLike, dtype: DTypeLike | None = None, *, float_format: FloatFormat = "shortest") -> str:
    """The text of one number (see ``tensorwire.codecs.numtext``); ``dtype`` defaults to ``value``'s."""
    if float_format not in FLOAT_FORMATS:
        raise ValueError(f"float_format must be one of {FLOAT_FORMATS}, not {float_format!r}")
    dt = number_dtype(np.asarray(value).dtype if dtype is None else dtype)
    if dt == BOOL_DTYPE:
        return "true" if bool(value) else "false"
    if dt in INT_DTYPES:
        return str(int(dt.type(value)))
    x = dt.type(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if float_format == "tolist":
        return repr(float(x))
    return repr(float(np.format_float_scientific(x, unique=True)))


def _text_bytes(text: BytesLike | str) -> bytes:
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError:
            raise DecodeError(f"not a number: {text[:40]!r}") from None
    return bytes(text)


def _round_narrow(text: bytes, d: float, dt: np.dtype[np.floating[Any]]) -> np.floating[Any]:
    """float64 ``d`` (``float(text)``, correctly rounded) rounded correctly to float32/16."""
    # (numpy's annotations type these scalars Any: the declarations say what they are)
    below: np.floating[Any]
    above: np.floating[Any]
    with np.errstate(over="ignore"):
        x: np.floating[Any] = dt.type(d)
    if math.isnan(d) or float(x) == d:
        return x
    info = np.finfo(dt)
    if math.isinf(x):
        # Beyond max + half an ulp (a float64 midpoint too): only exactly on it can d mislead.
        top = float(info.max) + math.ldexp(1.0, info.maxexp - info.nmant - 2)
        if abs(d) != top:
            return x
        below, above = dt.type(math.copysign(float(info.max), d)), x
        mid = math.copysign(top, d)
    else:
        with np.errstate(over="ignore"):
            other = np.nextafter(x, dt.type(math.inf if d > float(x) else -math.inf))
        below, above = (x, other) if float(x) < d else (other, x)
        if abs(below) > abs(above):
            below, above = above, below
        mid = (float(below) + float(above)) / 2
        if d != mid:
            return x
    exact = abs(Fraction(text.decode("ascii")))
    if exact == abs(Fraction(mid)):
        return x  # a true tie: numpy's conversion of d already broke it to even
    return above if exact > abs(Fraction(mid)) else below


def parse_number(text: BytesLike | str, dtype: DTypeLike = np.float32) -> np.generic:
    """The value of one number's text in ``dtype`` (see ``tensorwire.codecs.numtext``); DecodeError if not a number."""
    dt = number_dtype(dtype)
    raw = _text_bytes(text)
    if len(raw) > MAX_NUMBER_CHARS:
        raise DecodeError(f"number text longer than {MAX_NUMBER_CHARS} characters")
    if dt == BOOL_DTYPE:
        if raw == b"true" or raw == b"false":
            return np.bool_(raw == b"true")
        raise DecodeError(f"not a bool: {raw[:40]!r}")
    if dt in INT_DTYPES:
        if INTEGER_RE.fullmatch(raw) is None:
            raise DecodeError(f"not an integer: {raw[:40]!r}")
        value = int(raw)
        info = np.iinfo(dt)
        if not info.min <= value <= info.max:
            raise DecodeError(f"integer {raw[:40].decode()} out of range for {dt}")
        integer: np.generic = dt.type(value)
        return integer
    if raw in NONFINITE:
        nonfinite: np.generic = dt.type(NONFINITE[raw])
        return nonfinite
    if NUMBER_RE.fullmatch(raw) is None:
        raise DecodeError(f"not a number: {raw[:40]!r}")
    d = float(raw)
    if dt == FLOAT_DTYPES[2]:
        double: np.float64 = np.float64(d)
        return double
    return _round_narrow(raw, d, dt)
