"""Arrays as Earth Engine and other clients send them: :func:`arrays`, :func:`shapes`, :func:`tiles`.

Floats are drawn as raw bit patterns, so every NaN payload (quiet and signalling, both signs),
-0.0, the infinities, subnormals and the extremes occur, the special values oversampled
(``finite=True`` turns the non-finite ones into 0).  bfloat16 is among the default dtypes
only when ``ml_dtypes`` is installed (numpy has no bfloat16 of its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Union

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike, NDArray

def _bfloat16() -> np.dtype[Any] | None:
    try:
        import ml_dtypes
    except ImportError:  # optional (the bfloat16 extra)
        return None
    dtype: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
    return dtype

__all__ = [
    "BFLOAT16", "BOOL_DTYPE", "COMPLEX_DTYPES", "FLOAT_DTYPES", "INT_DTYPES", "NUMERIC_DTYPES", "arrays",
    "float_bits", "shapes", "special_float_bits", "tiles",
]

#: ``ml_dtypes.bfloat16`` as a numpy dtype, or None without ml_dtypes.
BFLOAT16: np.dtype[Any] | None = _bfloat16()
FLOAT_DTYPES: list[np.dtype[Any]] = [np.dtype(t) for t in ("<f2", "<f4", "<f8")] + (
    [] if BFLOAT16 is None else [BFLOAT16])
INT_DTYPES: list[np.dtype[Any]] = [np.dtype(t) for t in ("i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8")]
COMPLEX_DTYPES: list[np.dtype[Any]] = [np.dtype("<c8"), np.dtype("<c16")]
BOOL_DTYPE: np.dtype[Any] = np.dtype("?")
#: Every numeric dtype a TensorProto carries and numpy has.
NUMERIC_DTYPES: list[np.dtype[Any]] = FLOAT_DTYPES + INT_DTYPES + COMPLEX_DTYPES + [BOOL_DTYPE]

# (exponent bits, mantissa bits) of each binary float format drawn as bits.
_FORMAT: dict[np.dtype[Any], tuple[int, int]] = {
    np.dtype("<f2"): (5, 10),
    np.dtype("<f4"): (8, 23),
    np.dtype("<f8"): (11, 52),
}
if BFLOAT16 is not None:
    _FORMAT[BFLOAT16] = (8, 7)

ShapeArg = Union[st.SearchStrategy[tuple[int, ...]], Sequence[int], None]


def special_float_bits(exp_bits: int, man_bits: int) -> list[int]:
    """Bit patterns of the values codecs get wrong: zeros, infinities, NaNs, subnormals, extremes."""
    sign = 1 << (exp_bits + man_bits)
    exp_all = ((1 << exp_bits) - 1) << man_bits
    quiet = 1 << (man_bits - 1)
    man_all = (1 << man_bits) - 1
    one = ((1 << (exp_bits - 1)) - 1) << man_bits
    base = [
        0,  # +0.0
        exp_all,  # +inf
        exp_all | quiet,  # the canonical quiet NaN
        exp_all | quiet | 1,  # quiet NaN with a payload
        exp_all | 1,  # signalling NaN
        exp_all | (quiet - 1),  # signalling NaN, largest payload
        exp_all | man_all,  # all-ones NaN
        1,  # smallest subnormal
        man_all,  # largest subnormal
        1 << man_bits,  # smallest normal
        exp_all - 1,  # largest finite
        one,  # 1.0
    ]
    return base + [b | sign for b in base]  # and every one negated (-0.0, -inf, negative NaNs)


def float_bits(dtype: DTypeLike) -> st.SearchStrategy[int]:
    """One element's bit pattern (an unsigned int) of a float dtype: special values or any bits."""
    exp_bits, man_bits = _FORMAT[np.dtype(dtype)]
    width = 1 + exp_bits + man_bits
    return st.one_of(st.sampled_from(special_float_bits(exp_bits, man_bits)), st.integers(0, (1 << width) - 1))


def _int_elements(dtype: np.dtype[Any]) -> st.SearchStrategy[int]:
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    extremes = sorted({lo, lo + 1, -1 if lo else 0, 0, 1, hi - 1, hi})
    return st.one_of(st.sampled_from(extremes), st.integers(lo, hi))


@st.composite
def shapes(draw: st.DrawFn, max_dims: int = 5, max_side: int = 3, min_dims: int = 0) -> tuple[int, ...]:
    """Shapes of rank ``min_dims``..``max_dims`` with sides 1..``max_side``, and in about one
    case in six a side of 0 (zero-size arrays; drawing 0 like any other side would make most
    multi-dimensional shapes empty)."""
    dims = draw(st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims))
    if dims and draw(st.integers(0, 5)) == 0:
        dims[draw(st.integers(0, len(dims) - 1))] = 0
    return tuple(dims)


def _shape_strategy(shape: ShapeArg) -> st.SearchStrategy[tuple[int, ...]]:
    if shape is None:
        return shapes()
    if isinstance(shape, st.SearchStrategy):
        return shape
    return st.just(tuple(int(n) for n in shape))


@st.composite
def arrays(draw: st.DrawFn, dtypes: Sequence[DTypeLike] | None = None, shapes: ShapeArg = None, *,
           finite: bool = False) -> NDArray[Any]:
    """A C-contiguous, native-order numpy array of one of ``dtypes`` (default
    :data:`NUMERIC_DTYPES`) and a shape from ``shapes`` (a strategy of shapes, one shape, or
    None for :func:`shapes`' default).  ``finite=True``: non-finite floats become 0 (for peers
    that cannot say NaN); complex parts likewise."""
    dtype = np.dtype(draw(st.sampled_from(list(dtypes) if dtypes else NUMERIC_DTYPES)))
    shape = draw(_shape_strategy(shapes))
    out: NDArray[Any]
    if dtype in _FORMAT:
        uint = np.dtype(f"<u{dtype.itemsize}")
        out = draw(hnp.arrays(uint, shape, elements=float_bits(dtype))).view(dtype)
    elif dtype.kind == "c":
        part = np.dtype(f"<f{dtype.itemsize // 2}")
        uint = np.dtype(f"<u{part.itemsize}")
        bits = draw(hnp.arrays(uint, tuple(shape) + (2,), elements=float_bits(part)))
        out = bits.view(part).view(dtype).reshape(shape)
    elif dtype.kind == "b":
        out = draw(hnp.arrays(dtype, shape, elements=st.booleans()))
    else:
        out = draw(hnp.arrays(dtype, shape, elements=_int_elements(dtype)))
    if finite and dtype.kind in "fcV":
        parts = out.view(f"<f{dtype.itemsize // 2}") if dtype.kind == "c" else out
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(parts.astype(np.float64) if dtype == BFLOAT16 else parts)
        parts[bad] = 0
    return out


def _batch_sizes(batch: int | tuple[int, int]) -> st.SearchStrategy[int]:
    if isinstance(batch, int):
        return st.just(batch)
    return st.integers(batch[0], batch[1])


@st.composite
def tiles(draw: st.DrawFn, bands: int | Sequence[str] = ("B2", "B3", "B4"), size: int | tuple[int, int] = 8, *,
          batch: int | tuple[int, int] = (1, 3), dtype: DTypeLike = np.float32,
          elements: st.SearchStrategy[Any] | None = None) -> dict[str, NDArray[Any]]:
    """``{band: (N, H, W, 1) array}``: a batch of image tiles as Earth Engine's ``predictImage``
    sends them (one input per band, each instance ``(H, W, 1)``, batch first).

    ``bands``: names, or a count (``B1``..``Bn``); ``size``: ``H = W`` or ``(H, W)``; ``batch``:
    a count or an inclusive ``(min, max)``.  Values: finite numbers of ``dtype`` (float32, what
    Earth Engine sends) from ``elements`` (default: any finite value of the dtype; a tile of
    more than a few hundred pixels repeats a drawn fill value, hypothesis' own way to make large
    arrays cheap)."""
    names = [f"B{i + 1}" for i in range(bands)] if isinstance(bands, int) else list(bands)
    if not names:
        raise ValueError("tiles: at least one band")
    h, w = (size, size) if isinstance(size, int) else size
    n = draw(_batch_sizes(batch))
    dt = np.dtype(dtype)
    if elements is None:
        if dt.kind == "f" and dt.itemsize in (2, 4, 8):
            width: Literal[16, 32, 64] = 16 if dt.itemsize == 2 else 32 if dt.itemsize == 4 else 64
            elements = st.floats(width=width, allow_nan=False, allow_infinity=False)
        elif dt.kind == "b":
            elements = st.booleans()
        else:
            elements = _int_elements(dt)
    return {name: draw(hnp.arrays(dt, (n, h, w, 1), elements=elements)) for name in names}
