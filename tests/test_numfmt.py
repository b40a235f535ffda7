"""The C number writers (tensorwire._native._numfmt) against the reference numtext.format_number.

The reference defines the text (docs/number-text.md); the writers must equal it byte for byte.
float16 is checked exhaustively; float32/float64 by hypothesis over raw bit patterns, by
targeted classes (subnormals, powers of two and ten and their neighbours, the layout
boundaries, integers at the end of exact integer range, extremes, signed zero, non-finite) and,
for float32, by three million random bit patterns against a fast oracle that is itself checked
against the reference.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends import native_helper
from tensorwire.codecs import numtext

pytestmark = pytest.mark.native
_numfmt = native_helper("_numfmt")

FLOATS = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}


def reference(values, dtype):
    return [numtext.format_number(x, dtype) for x in values]


def assert_matches_reference(a):
    """format_values(a) and format_float(each) equal the reference, value by value."""
    got = _numfmt.format_values(a).decode("ascii").split(",") if len(a) else []
    want = reference(a, a.dtype)
    assert len(got) == len(a)
    bad = [(repr(x), w, g) for x, w, g in zip(a, want, got) if w != g]
    assert bad == []


def from_bits(bits, dtype):
    return np.array(bits, dtype=FLOATS[dtype]).view(dtype)


def with_neighbours(a):
    """a, its negatives, and the next float up and down from each (finite values only)."""
    a = np.asarray(a)
    dt = a.dtype.type
    with np.errstate(over="ignore"):
        out = np.concatenate([a, np.nextafter(a, dt(np.inf)), np.nextafter(a, dt(-np.inf))])
    out = out[np.isfinite(out)]
    return np.concatenate([out, -out])


def targeted(dtype):
    """The classes of values where shortest-digit formatting goes wrong if it goes wrong."""
    info = np.finfo(dtype)
    dt = np.dtype(dtype).type
    nmant, maxexp = info.nmant, info.maxexp
    emin = info.minexp - nmant  # exponent of the smallest subnormal
    with np.errstate(over="ignore", under="ignore"):
        pow2 = [dt(math.ldexp(1.0, e)) for e in range(emin, maxexp)]
        # 10**k rounded to the dtype, for every k whose power is within range
        pow10 = [dt(float(f"1e{k}")) for k in range(int(math.floor(math.log10(float(info.smallest_subnormal)))), int(math.log10(float(info.max))) + 1)]
        # values around the positional/exponent switch, and texts that land exactly on it
        layout = [dt(1e-4), dt(1e16), dt(9.999e-5), dt(0.00010001), dt(1e15), dt(9999999999999998.0), dt(1.5e16), dt(1e-5), dt(1e17)]
    pow10 = [x for x in pow10 if x != 0 and np.isfinite(x)]
    exact_end = [dt(2.0 ** (nmant + 1) + d) for d in range(-4, 5)]  # end of the exactly representable integers
    subnormal_bits = [1, 2, 3, (1 << nmant) - 1, (1 << nmant) - 2, 1 << nmant, (1 << nmant) + 1]
    extremes = [info.max, info.tiny, info.smallest_subnormal, info.eps, dt(1.0), dt(0.1), dt(1 / 3)]
    base = np.array(pow2 + pow10 + layout + exact_end + extremes, dtype=dtype)
    base = base[np.isfinite(base)]
    specials = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf], dtype=dtype)
    return np.concatenate([with_neighbours(base), from_bits(subnormal_bits, dtype), specials])


# ---------------------------------------------------------------------------------------------
# float16: all of them


def test_float16_exhaustive():
    a = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    assert_matches_reference(a)


# ---------------------------------------------------------------------------------------------
# float32 / float64


@given(st.integers(0, 2**32 - 1))
def test_float32_bit_patterns(bits):
    a = from_bits([bits], np.float32)
    assert _numfmt.format_float(a[0], np.float32) == numtext.format_number(a[0], np.float32)
    assert_matches_reference(a)


@given(st.integers(0, 2**64 - 1))
def test_float64_bit_patterns(bits):
    a = from_bits([bits], np.float64)
    assert _numfmt.format_float(a[0], np.float64) == numtext.format_number(a[0], np.float64)
    assert_matches_reference(a)


@given(st.floats(allow_nan=True, allow_infinity=True, width=32))
def test_float32_values(x):
    assert _numfmt.format_float(x, np.float32) == numtext.format_number(x, np.float32)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float64_values(x):
    assert _numfmt.format_float(x, np.float64) == numtext.format_number(x, np.float64)
    if math.isfinite(x):
        assert _numfmt.format_float(x, np.float64) == repr(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_targeted_classes(dtype):
    a = targeted(dtype)
    assert len(a) > 100
    assert_matches_reference(a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_power_of_ten_and_neighbours(dtype):
    """10**k correctly rounded to the dtype for every k in range, +- up to 3 ulps."""
    info = np.finfo(dtype)
    dt = np.dtype(dtype).type
    lo = math.floor(math.log10(float(info.smallest_subnormal)))
    hi = math.floor(math.log10(float(info.max)))
    values = []
    with np.errstate(under="ignore", over="ignore"):
        for k in range(lo, hi + 1):
            x = numtext.parse_number(f"1e{k}", dtype)
            for _ in range(3):
                values.append(x)
                x = np.nextafter(x, dt(np.inf))
            x = numtext.parse_number(f"1e{k}", dtype)
            for _ in range(3):
                x = np.nextafter(x, dt(-np.inf))
                values.append(x)
    a = np.array([v for v in values if v != 0 and np.isfinite(v)], dtype=dtype)
    assert len(a) > 6 * 70
    assert_matches_reference(a)
    # the exact powers print as 1e+XX / 1000.0 / 0.001 (each is its own shortest text)
    for k in (-5, -4, -1, 0, 1, 15, 16, 17, 38):
        if k <= hi:
            assert _numfmt.format_float(numtext.parse_number(f"1e{k}", dtype), dtype) == repr(float(f"1e{k}"))


@pytest.mark.parametrize(
    "x, dtype, text",
    [
        (1e16, np.float64, "1e+16"),
        (9999999999999998.0, np.float64, "9999999999999998.0"),
        (1e-4, np.float64, "0.0001"),
        (9.999999999999999e-05, np.float64, "9.999999999999999e-05"),
        (1e-5, np.float64, "1e-05"),
        (123456789012345680.0, np.float64, "1.2345678901234568e+17"),
        (1.7976931348623157e308, np.float64, "1.7976931348623157e+308"),
        (5e-324, np.float64, "5e-324"),
        (2.2250738585072014e-308, np.float64, "2.2250738585072014e-308"),
        (0.1, np.float32, "0.1"),
        (1e10, np.float32, "10000000000.0"),
        (3.4028234663852886e38, np.float32, "3.4028235e+38"),
        (1.401298464324817e-45, np.float32, "1e-45"),
        (16777216.0, np.float32, "16777216.0"),
        (16777218.0, np.float32, "16777218.0"),
        (65504.0, np.float16, "65500.0"),
        (5.960464477539063e-08, np.float16, "6e-08"),
        (-0.0, np.float32, "-0.0"),
        (0.0, np.float64, "0.0"),
        (-1.5, np.float16, "-1.5"),
        (math.nan, np.float64, "NaN"),
        (-math.nan, np.float32, "NaN"),
        (math.inf, np.float16, "Infinity"),
        (-math.inf, np.float64, "-Infinity"),
    ],
)
def test_pinned_texts(x, dtype, text):
    assert numtext.format_number(x, dtype) == text  # the reference agrees: the pin is right
    assert _numfmt.format_float(x, dtype) == text
    assert _numfmt.format_values(np.array([x], dtype=dtype)) == text.encode()


def test_float32_random_bit_patterns_3m():
    """3,000,000 random float32 bit patterns (finite and not) against a fast oracle.

    The oracle is numpy's vectorized float32 -> str (the same shortest digits as
    format_float_scientific) read back and re-laid out by repr(float); it is checked against the
    reference itself on a slice before it is trusted.
    """
    rng = np.random.default_rng(20240601)
    bits = rng.integers(0, 1 << 32, 3_000_000, dtype=np.uint64).astype(np.uint32)
    a = bits.view(np.float32)
    assert (~np.isfinite(a)).sum() > 1000  # the sample has NaNs and infinities

    def relayout(text):
        x = float(text)
        if x != x:
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
        return repr(x)

    oracle = [relayout(t) for t in a.astype(str)]
    probe = np.r_[0:20_000, np.flatnonzero(~np.isfinite(a))[:200]]
    assert [oracle[i] for i in probe] == reference(a[probe], np.float32)

    got = _numfmt.format_values(a)
    want = ",".join(oracle).encode("ascii")
    if got != want:
        got_list = got.decode("ascii").split(",")
        bad = [(hex(int(bits[i])), oracle[i], got_list[i]) for i in range(len(a)) if oracle[i] != got_list[i]]
        assert bad[:20] == []
    assert got == want


# ---------------------------------------------------------------------------------------------
# integers


INT64_VALUES = [0, 1, -1, 9, 10, -10, 99, 100, 2**31 - 1, -(2**31), 2**53, 2**63 - 1, -(2**63), -(2**63) + 1]
INT64_VALUES += [s * (10**k + d) for k in range(1, 19) for d in (-1, 0, 1) for s in (1, -1)]
UINT64_VALUES = [0, 1, 9, 10, 2**63, 2**64 - 1, 2**64 - 2] + [10**k + d for k in range(1, 20) for d in (-1, 0, 1)]


@pytest.mark.parametrize("dtype, values", [(np.int64, INT64_VALUES), (np.uint64, UINT64_VALUES)])
def test_integers(dtype, values):
    a = np.array(values, dtype=dtype)
    assert _numfmt.format_values(a) == ",".join(str(v) for v in values).encode()
    for v in values:
        assert _numfmt.format_float(v, dtype) == numtext.format_number(v, dtype) == str(v)


@given(st.integers(-(2**63), 2**63 - 1), st.integers(0, 2**64 - 1))
def test_integers_any(i, u):
    assert _numfmt.format_float(i, np.int64) == str(i)
    assert _numfmt.format_float(u, np.uint64) == str(u)


# ---------------------------------------------------------------------------------------------
# the hooks, the bound, the integer logarithms


def test_format_values_shapes_and_errors():
    for dtype in (np.float16, np.float32, np.float64, np.int64, np.uint64):
        assert _numfmt.format_values(np.zeros(0, dtype=dtype)) == b""
    assert _numfmt.format_values(np.array([1, 2, 3], dtype=np.int64)) == b"1,2,3"
    with pytest.raises(ValueError):
        _numfmt.format_values(np.zeros(4, dtype=np.float32)[::2])
    with pytest.raises(ValueError):
        _numfmt.format_values(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(TypeError):
        _numfmt.format_values(np.zeros(2, dtype=np.int32))
    with pytest.raises(TypeError):
        _numfmt.format_float(1, np.int32)


def test_longest_texts_fit_the_bound():
    longest = [
        (-2.2250738585072014e-308, np.float64),  # 17 digits and a 3-digit exponent: 24 chars
        (-0.00012345678901234567, np.float64),
        (-(2**63), np.int64),
        (2**64 - 1, np.uint64),
        (-1.1754942e-38, np.float32),
    ]
    for x, dtype in longest:
        text = _numfmt.format_float(x, dtype)
        assert text == numtext.format_number(x, dtype)
        assert len(text) <= 24


def _floor_log10(x):
    k = math.floor(math.log10(x)) if x > 0 else 0
    while Fraction(10) ** k > x:
        k -= 1
    while Fraction(10) ** (k + 1) <= x:
        k += 1
    return k


def test_integer_logarithms_exact_over_float64_range():
    two = Fraction(2)
    for q in range(-1074, 972):
        f10, f10_34, _ = _numfmt._floor_logs(q)
        assert f10 == _floor_log10(two**q), q
        if q > -1074:
            assert f10_34 == _floor_log10(Fraction(3, 4) * two**q), q
    for e in range(-330, 330):
        exact = (10**e).bit_length() - 1 if e >= 0 else -((10**-e).bit_length())
        assert _numfmt._floor_logs(e)[2] == exact, e
