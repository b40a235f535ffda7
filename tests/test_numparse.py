"""The C number parser (tensorwire._native._numparse) against the reference parser,
``tensorwire.codecs.numtext.parse_number``, and against exact arithmetic.

Results are compared as bit patterns, so -0.0 and 0.0 differ and NaN would compare equal.  The
twin's float parsers return -1 where the reference raises DecodeError, and the integer parsers
-1 for "not an integer" and -2 for "out of range" (the reference's two messages).
``parse_fast`` is the twin without its slow path (None where it would need it): tests use it to
show which inputs the C code decides by itself, and that what it decides is right.
"""

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tensorwire import DecodeError
from backends import native_helper
from tensorwire.codecs import numtext

pytestmark = pytest.mark.native
_numparse = native_helper("_numparse")

FLOAT_TYPES = (np.float16, np.float32, np.float64)
UINT = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}
WIDTH = {np.float16: 16, np.float32: 32, np.float64: 64}
MANT = {np.float16: 10, np.float32: 23, np.float64: 52}
FLOAT_IDS = [t.__name__ for t in FLOAT_TYPES]


def bits(value, dt):
    return int(np.asarray(value, dtype=dt).view(UINT[dt]))


def from_bits(b, dt):
    return np.array(b, dtype=UINT[dt]).view(dt)[()]


def ref(text, dt):
    """("ok", bits) or ("error", code) from the reference (code: -1 not a number, -2 out of range)."""
    try:
        r = numtext.parse_number(text, dt)
    except DecodeError as exc:
        return "error", -2 if "out of range" in str(exc) else -1
    if np.dtype(dt).kind == "f":
        return "ok", bits(r, dt)
    return "ok", int(r)


def twin(text, dt):
    try:
        r = _numparse.parse_float(text, dt)
    except ValueError as exc:
        return "error", exc.args[1]
    if np.dtype(dt).kind == "f":
        return "ok", bits(r, dt)
    return "ok", int(r)


def check(text, dt):
    """The twin agrees with the reference on ``text``; returns the result."""
    got = twin(text, dt)
    assert got == ref(text, dt), (text, dt)
    if np.dtype(dt).kind == "f" and got[0] == "ok":
        fast = _numparse.parse_fast(text, dt)
        if fast is not None:  # whatever the C code decides by itself is right
            assert ("ok", bits(fast, dt)) == got, (text, dt)
    return got


def check_all(text):
    for dt in FLOAT_TYPES:
        check(text, dt)


def json_text(s):
    """A %g / repr style text of a finite float as JSON number text."""
    assert "inf" not in s and "nan" not in s
    return s.encode()


def exact_text(frac, extra=0, positional=False):
    """The exact decimal text of a dyadic rational (scaled by 10**extra digits, see callers)."""
    sign = "-" if frac < 0 else ""
    frac = abs(frac)
    k = 0
    while frac.denominator != 1:
        frac *= 10
        k += 1
    n = frac.numerator * 10**extra
    k += extra
    if positional and k > 0:
        digits = str(n).rjust(k + 1, "0")
        return f"{sign}{digits[:-k]}.{digits[-k:]}"
    return f"{sign}{n}e-{k}" if k else f"{sign}{n}"


def finite_floats(dt):
    return st.integers(0, 2 ** WIDTH[dt] - 1).map(lambda b: from_bits(b, dt)).filter(np.isfinite)


# ------------------------------------------------------------------------------------------
# round trips and texts of every shape


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
@given(data=st.data())
def test_texts_of_random_bit_patterns(dt, data):
    x = data.draw(finite_floats(dt))
    texts = [
        numtext.format_number(x, dt).encode(),
        json_text(repr(float(x))),
        json_text("%.17g" % float(x)),
        json_text("%.9g" % float(x)),
        json_text("%.6g" % float(x)),
        json_text("%.3e" % float(x)),
        json_text("%.25e" % float(x)),
    ]
    for text in texts:
        check_all(text)
    # The shortest text reads back to the same bits, without the slow path.
    shortest = texts[0]
    assert twin(shortest, dt) == ("ok", bits(x, dt))
    fast = _numparse.parse_fast(shortest, dt)
    assert fast is not None and bits(fast, dt) == bits(x, dt)


@given(st.floats(allow_nan=False, allow_infinity=False))
@example(5e-324)
@example(2.2250738585072014e-308)
@example(1.7976931348623157e308)
@example(0.1)
def test_float64_repr_round_trip(x):
    text = repr(x).encode()
    assert twin(text, np.float64) == ("ok", bits(x, np.float64))
    check_all(text)


@given(st.text(alphabet="0123456789.eE+-", max_size=14))
@example("1e")
@example("-")
@example("0.")
@example("00")
@example("-0e-0")
@example("0e0")
def test_grammar_fuzz(s):
    text = s.encode()
    for dt in FLOAT_TYPES + (np.int64, np.uint64):
        check(text, dt)


@given(
    st.integers(0, 10**25),
    st.integers(0, 30),
    st.integers(-400, 400),
    st.booleans(),
)
def test_constructed_decimals(mantissa, frac_digits, exponent, negative):
    digits = str(mantissa)
    if frac_digits:
        digits = digits.rjust(frac_digits + 1, "0")
        digits = digits[:-frac_digits] + "." + digits[-frac_digits:]
    text = ("-" if negative else "") + digits + (f"e{exponent}" if exponent else "")
    check_all(text.encode())


# ------------------------------------------------------------------------------------------
# exact midpoints, and just above and below them


def digits_exp(frac):
    """(N, k) with frac = N * 10**-k exactly (frac >= 0 dyadic)."""
    k = 0
    while frac.denominator != 1:
        frac *= 10
        k += 1
    return frac.numerator, k


def positional(n, k):
    if k == 0:
        return str(n)
    digits = str(n).rjust(k + 1, "0")
    return f"{digits[:-k]}.{digits[-k:]}"


def midpoint_cases(dt, b):
    """For the non-negative finite pattern b and the next one up (past the largest finite value:
    infinity, one ulp up): (their exact midpoint, b, b + 1, the pattern a tie goes to)."""
    lo = Fraction(float(from_bits(b, dt)))
    if b == bits(np.finfo(dt).max, dt):
        hi = lo + Fraction(2) ** (np.finfo(dt).maxexp - 1 - MANT[dt])
    else:
        hi = Fraction(float(from_bits(b + 1, dt)))
    # The lowest bit of the pattern is the lowest bit of the significand (max: odd -> inf).
    return (lo + hi) / 2, b, b + 1, (b if b % 2 == 0 else b + 1)


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
@given(data=st.data())
def test_exact_midpoints(dt, data):
    max_bits = bits(np.finfo(dt).max, dt)
    b = data.draw(st.one_of(st.integers(0, max_bits), st.sampled_from([0, 1, 2, max_bits, max_bits - 1])))
    sign = data.draw(st.sampled_from(["", "-"]))
    mid, b_lo, b_hi, even = midpoint_cases(dt, b)
    n, k = digits_exp(mid)
    sign_bit = (1 << (WIDTH[dt] - 1)) if sign else 0
    for text, expected in (
        (f"{sign}{n}e-{k}", even),
        (sign + positional(n, k), even),
        (f"{sign}{n * 10**30}e-{k + 30}", even),  # the same value with trailing zeros
        (f"{sign}{n * 10**6 + 1}e-{k + 6}", b_hi),  # a 1 appended far right: just above
        (f"{sign}{n * 10**6 - 1}e-{k + 6}", b_lo),  # one unit off a far last digit: just below
        (sign + positional(n * 10**6 + 1, k + 6), b_hi),
    ):
        if len(text) > numtext.MAX_NUMBER_CHARS:
            continue
        assert check(text.encode(), dt) == ("ok", expected | sign_bit), (text, dt)


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
def test_short_exact_midpoints_need_no_slow_path(dt):
    """Midpoints with at most 19 significant digits are decided in C (exact product or the
    dyadic step), ties to even."""
    rng = random.Random(1)
    max_bits = bits(np.finfo(dt).max, dt)
    seen = 0
    for b in [rng.randrange(0, max_bits) for _ in range(4000)] + list(range(0, 40)):
        mid, _, _, even = midpoint_cases(dt, b)
        n, k = digits_exp(mid)
        text = f"{n}e-{k}".encode()
        digits = len(text.split(b"e")[0].lstrip(b"0"))
        if digits > 19:
            continue
        seen += 1
        fast = _numparse.parse_fast(text, dt)
        assert fast is not None, text
        assert bits(fast, dt) == even, text
        check(text, dt)
    assert seen >= 30


def test_known_hard_cases():
    for text in [
        b"9007199254740993",  # float64 tie between 2**53 and 2**53 + 2: even
        b"9007199254740995",
        b"9007199254740993.0000000000000000000000000001",
        b"9007199254740992.9999999999999999999999999999",
        b"16777217",  # float32 tie
        b"16777217.000000000000000000001",
        b"2049",  # float16 tie
        b"2051",
        b"2.2250738585072011e-308",
        b"2.2250738585072012e-308",
        b"2.4703282292062327e-324",  # just below half the smallest subnormal
        b"2.4703282292062328e-324",  # just above
        b"0.500000059604644775390625",  # float32 midpoint between 0.5 and its successor
        b"0.5000000596046447753906251",
        b"0.5000000596046447753906249",
        b"1.00048828125",  # float16 midpoint between 1 and 1 + 2**-10
        b"1.000488281250000000000000001",
        b"1.000488281249999999999999999",
        b"7.006492321624085354618647916449580656401309709382578858785341419448955413429303e-46",
        b"3.4028235677973366163753939545814256844800000000000001e38",
        b"65520",
        b"65519.999999999999999999999",
        b"65520.000000000000000000001",
        b"0.000000059604644775390625",  # 2**-24, float16's smallest subnormal
        b"0.0000000298023223876953125",  # half of it: ties to 0
        b"0.0000000298023223876953125000000000000000001",
        b"1.40129846432481707092372958328991613128026194187651577175706828388979108268586060148663818836212158203125e-45",
    ]:
        check_all(text)
        check_all(b"-" + text)


# ------------------------------------------------------------------------------------------
# long inputs, extreme exponents, boundaries


def f32_boundaries():
    info = np.finfo(np.float32)
    big = Fraction(float(info.max))
    half_ulp = Fraction(2) ** (127 - 24)
    tiny = Fraction(2) ** -149
    return big, half_ulp, tiny


def test_float32_overflow_boundary():
    big, half_ulp, _ = f32_boundaries()
    top = big + half_ulp
    inf = bits(np.float32(np.inf), np.float32)
    mx = bits(np.finfo(np.float32).max, np.float32)
    cases = {
        exact_text(top): inf,  # exactly max + half an ulp: ties to even, and max is odd
        exact_text(top, positional=True): inf,
        exact_text(top - Fraction(1, 10**30)): mx,
        exact_text(top + Fraction(1, 10**30)): inf,
        exact_text(big): mx,
        "3.4028235e38": mx,  # FLT_MAX's shortest text (FLT_MAX = 3.40282346638...e38)
        "3.40282356e38": mx,  # below max + half an ulp = 3.40282356779733661...e38
        "3.40282357e38": inf,
    }
    for text, expected in cases.items():
        assert check(text.encode(), np.float32) == ("ok", expected), text


def test_float32_subnormal_boundaries():
    _, _, tiny = f32_boundaries()
    cases = {
        exact_text(tiny): 1,
        exact_text(tiny / 2): 0,  # half the smallest: ties to even (zero)
        exact_text(tiny / 2 + Fraction(1, 10**80)): 1,
        exact_text(tiny / 2 - Fraction(1, 10**80)): 0,
        exact_text(tiny * 3 / 2): 2,  # between 1 and 2 quanta: to even (2)
        exact_text(tiny * 5 / 2): 2,
        exact_text(Fraction(2) ** -126 - tiny / 2): 0x00800000,  # rounds up into the normals
        "1e-45": 1,
        "7e-46": 0,
        "8e-46": 1,
    }
    for text, expected in cases.items():
        assert check(text.encode(), np.float32) == ("ok", expected), text


def test_float64_subnormals_and_limits():
    tiny = Fraction(2) ** -1074
    cases = {
        exact_text(tiny): 1,
        exact_text(tiny / 2): 0,
        exact_text(tiny / 2 + Fraction(1, 10**1060)): 1,
        "5e-324": 1,
        "2e-324": 0,
        "3e-324": 1,
        "1.7976931348623157e308": 0x7FEFFFFFFFFFFFFF,
        "1.7976931348623158e308": 0x7FEFFFFFFFFFFFFF,
        "1.7976931348623159e308": 0x7FF0000000000000,
        "1e309": 0x7FF0000000000000,
    }
    for text, expected in cases.items():
        if len(text) > numtext.MAX_NUMBER_CHARS:
            continue
        got = check(text.encode(), np.float64)
        if expected is not None:
            assert got == ("ok", expected), text


def test_huge_and_tiny_exponents_saturate():
    for text in [
        b"1e999999999999999999999",
        b"1e-999999999999999999999",
        b"-1e999999999999999999999",
        b"-1e-999999999999999999999",
        b"0e999999999999999999999",
        b"-0e999999999999999999999",
        b"0.0000000000000000000000000000001e999999999999999999",
        b"1" + b"0" * 400 + b"e-999999999999999999999",
        b"1e400",
        b"1e-400",
        b"123456789e-350",
        b"1e308",
        b"1e-342",
        b"1e-343",
        b"99999999999999999999e-344",
    ]:
        check_all(text)
    assert twin(b"1e999999999999999999999", np.float32) == ("ok", 0x7F800000)
    assert twin(b"-1e-999999999999999999999", np.float64) == ("ok", 1 << 63)


def test_long_mantissas():
    rng = random.Random(7)
    texts = []
    for length in (19, 20, 21, 25, 40, 100, 400, 800, 1000):
        digits = str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(length - 1))
        for point in (1, length // 2, length):
            body = digits[:point] + ("." + digits[point:] if point < length else "")
            for exp in ("", "e-5", "e5", f"e-{length}", f"e-{length + 300}", "e-30"):
                texts.append(body + exp)
    for text in texts:
        if len(text) <= numtext.MAX_NUMBER_CHARS:
            check_all(text.encode())
    # exact expectations
    assert twin(b"1" + b"0" * 800 + b"e-800", np.float64) == ("ok", bits(1.0, np.float64))
    assert twin(b"0." + b"0" * 1000 + b"1e1001", np.float32) == ("ok", bits(1.0, np.float32))
    assert twin(b"0." + b"0" * 1000 + b"5", np.float64) == ("ok", 0)  # 5e-1001 underflows
    assert twin(b"1." + b"0" * 1000 + b"1", np.float64) == ("ok", bits(1.0, np.float64))
    assert twin(b"0.1000000000000000000000000000000000000000000001", np.float32) == (
        "ok",
        bits(np.float32(0.1), np.float32),
    )


def test_many_leading_zeros():
    for zeros in (1, 5, 18, 19, 20, 40, 300, 320, 330, 1000):
        for tail in (b"1", b"123456789", b"12345678901234567890123", b"4940656458412465441765687928682213723651"):
            text = b"0." + b"0" * zeros + tail
            if len(text) <= numtext.MAX_NUMBER_CHARS:
                check_all(text)
                check_all(b"-" + text + b"e2")
    assert twin(b"0.000000000000000000000000000001", np.float64) == ("ok", bits(1e-30, np.float64))


def test_length_limit():
    ok = b"1." + b"0" * (numtext.MAX_NUMBER_CHARS - 2)
    assert len(ok) == numtext.MAX_NUMBER_CHARS
    assert check(ok, np.float32) == ("ok", bits(np.float32(1), np.float32))
    too_long = ok + b"0"
    for dt in FLOAT_TYPES:
        assert check(too_long, dt) == ("error", -1)
    assert check(b"1" * (numtext.MAX_NUMBER_CHARS + 1), np.int64) == ("error", -1)
    assert check(b"1" * numtext.MAX_NUMBER_CHARS, np.int64) == ("error", -2)


# ------------------------------------------------------------------------------------------
# invalid text

INVALID = [
    b"+1", b"01", b"-01", b"00", b".5", b"-.5", b"1.", b"1.e5", b"1e", b"1e+", b"1e-", b"1E",
    b"--1", b"-", b"+", b" 1", b"1 ", b"\t1", b"1\n", b"0x10", b"inf", b"-inf", b"nan", b"1_0",
    b"", b"1,5", b"1.5.5", b"1e5e5", b"1e5.5", b"e5", b"\xc2\xb91", b"1\xc3\xa9", b"\xef\xbc\x91",
    b"1\x00", b"\x001", b"0e", b"1ee5", b"1e++5", b"- 1", b"1-", b"1.0-",
]


@pytest.mark.parametrize("text", INVALID, ids=[repr(t) for t in INVALID])
def test_invalid_texts(text):
    for dt in FLOAT_TYPES + (np.int64, np.uint64):
        assert ref(text, dt) == ("error", -1)
        assert twin(text, dt) == ("error", -1)
        if np.dtype(dt).kind == "f":
            with pytest.raises(ValueError):
                _numparse.parse_fast(text, dt)


@pytest.mark.parametrize("text", [b"NaN", b"Infinity", b"-Infinity"])
def test_nonfinite_tokens_are_the_callers_business(text):
    for dt in FLOAT_TYPES:
        assert ref(text, dt)[0] == "ok"  # the reference takes them ...
        assert twin(text, dt) == ("error", -1)  # ... the C parser leaves them to its caller


# ------------------------------------------------------------------------------------------
# integers


def test_integer_extremes():
    i64_min, i64_max, u64_max = -(2**63), 2**63 - 1, 2**64 - 1
    ok, out = (lambda v: ("ok", v)), ("error", -2)
    cases = {
        np.int64: {
            str(i64_min): ok(i64_min), str(i64_max): ok(i64_max), str(i64_min - 1): out,
            str(i64_max + 1): out, "0": ok(0), "-0": ok(0), "-1": ok(-1), "1" + "0" * 19: out,
            "9" * 1000: out, "-" + "9" * 1000: out, "18446744073709551616": out,
        },
        np.uint64: {
            str(u64_max): ok(u64_max), str(u64_max + 1): out, "0": ok(0), "-0": ok(0), "-1": out,
            "-18446744073709551615": out, str(i64_max + 1): ok(i64_max + 1),
            "18446744073709551620": out, "184467440737095516150": out,
        },
    }
    for dt, table in cases.items():
        for text, expected in table.items():
            assert check(text.encode(), dt) == expected, (text, dt)
    for text in (b"1.0", b"1e3", b"1E3", b"-1.5", b"0.0", b"01", b"+1", b"", b"-", b"1 ", b"0x1"):
        for dt in (np.int64, np.uint64):
            assert check(text, dt) == ("error", -1), text


@given(st.integers(-(2**70), 2**70))
def test_integers_random(value):
    for dt in (np.int64, np.uint64):
        check(str(value).encode(), dt)


# ------------------------------------------------------------------------------------------
# parse_values


def test_parse_values_bulk_float32_round_trip():
    rng = np.random.default_rng(12345)
    raw = rng.integers(0, 2**32, size=700_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    raw = raw[np.isfinite(raw)]
    normals = rng.standard_normal(400_000).astype(np.float32)
    values = np.concatenate([raw, normals, np.float32([0.0, -0.0, 1e-45, -1e-45, 3.4028235e38])])
    assert values.size >= 1_000_000
    texts = values.astype(str)  # numpy's shortest round-trip digits for float32
    assert "nan" not in texts and "inf" not in texts
    body = ",".join(texts.tolist()).encode()
    got = _numparse.parse_values(body, np.float32)
    assert got.dtype == np.float32 and got.shape == values.shape
    assert np.array_equal(got.view(np.uint32), values.view(np.uint32))
    # the reference's own shortest texts, on a sample
    sample = values[:: 997]
    texts = [numtext.format_number(x, np.float32) for x in sample]
    got = _numparse.parse_values(",".join(texts).encode(), np.float32)
    assert np.array_equal(got.view(np.uint32), sample.view(np.uint32))


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
def test_parse_values_matches_parse_float(dt):
    rng = random.Random(3)
    texts = [
        rng.choice(["", "-"]) + str(rng.randrange(0, 10**rng.randrange(1, 25)))
        + rng.choice(["", "." + str(rng.randrange(0, 10**rng.randrange(1, 25))).rjust(3, "0")])
        + rng.choice(["", "e" + str(rng.randrange(-60, 60)), "E+" + str(rng.randrange(0, 9))])
        for _ in range(3000)
    ]
    texts = [t for t in texts if not (t.lstrip("-").startswith("0") and len(t.lstrip("-")) > 1
                                       and t.lstrip("-")[1].isdigit())]
    got = _numparse.parse_values(",".join(texts).encode(), dt)
    expected = [ref(t.encode(), dt)[1] for t in texts]
    assert got.view(UINT[dt]).tolist() == expected


def test_parse_values_integers():
    values = [0, 1, -1, 2**63 - 1, -(2**63), 12345678901234]
    got = _numparse.parse_values(",".join(map(str, values)).encode(), np.int64)
    assert got.dtype == np.int64 and got.tolist() == values
    got = _numparse.parse_values(b"0,18446744073709551615,-0,7", np.uint64)
    assert got.dtype == np.uint64 and got.tolist() == [0, 2**64 - 1, 0, 7]
    with pytest.raises(ValueError) as exc:
        _numparse.parse_values(b"1,2,9223372036854775808", np.int64)
    assert exc.value.args == ("bad number at index 2", -2)


@pytest.mark.parametrize(
    "data, index",
    [(b"1,,2", 1), (b"1,2,", 2), (b",1", 0), (b"1, 2", 1), (b"1,2,3,.5", 3), (b"1;2", 0),
     (b"1," * 100 + b"x", 100), (b"15," * 40 + b"01", 40), (b"1" * 1101, 0)],
)
def test_parse_values_errors(data, index):
    for dt in FLOAT_TYPES + (np.int64,):
        with pytest.raises(ValueError) as exc:
            _numparse.parse_values(data, dt)
        assert exc.value.args[0] == f"bad number at index {index}"


def test_parse_values_shapes():
    assert _numparse.parse_values(b"", np.float32).shape == (0,)
    assert _numparse.parse_values(b"", np.float32).dtype == np.float32
    got = _numparse.parse_values(b"-0", np.float64)
    assert got.shape == (1,) and math.copysign(1, got[0]) == -1
    # tokens of every length around the 8-byte word size, at the end of the buffer too
    for n in range(1, 30):
        text = ("1" + "2" * (n - 1)) if n < 20 else "0." + "3" * (n - 2)
        for body in (text, text + "," + text, "7," + text):
            got = _numparse.parse_values(body.encode(), np.float64)
            assert got[-1] == numtext.parse_number(text, np.float64), body


# --- the 16-byte tier (short plain decimals: -?digits(.digits)?, at most 15 characters after
# the sign), which the common texts take: its edges, near-midpoint values and the prefix form.


def _short_decimals_near_float32_midpoints(rng, count):
    """Texts of at most 14 significant digits just below, at and above float32 midpoints."""
    out = []
    for _ in range(count):
        m = rng.randrange(1 << 23, 1 << 24)
        e = rng.randrange(-40, 25)
        mid = Fraction(2 * m + 1, 2) * Fraction(2) ** e          # between m and m + 1 ulps
        if not Fraction(1, 10**13) <= mid < 10**14:
            continue
        intdigits = max(1, len(str(int(mid))))
        frac = max(0, 14 - intdigits)
        scaled = mid * 10**frac
        for k in (math.floor(scaled) - 1, math.floor(scaled), math.ceil(scaled), math.ceil(scaled) + 1):
            if k < 0:
                continue
            s = str(k).rjust(frac + 1, "0")
            text = s[: len(s) - frac] + ("." + s[len(s) - frac:] if frac else "")
            out.append(rng.choice(["", "-"]) + text)
    return out


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
def test_short_decimals_near_midpoints(dt):
    rng = random.Random(11)
    texts = _short_decimals_near_float32_midpoints(rng, 3000)
    assert len(texts) > 4000
    assert all(len(t.lstrip("-")) <= 15 for t in texts)
    got = _numparse.parse_values(",".join(texts).encode(), dt)
    assert got.view(UINT[dt]).tolist() == [ref(t.encode(), dt)[1] for t in texts]
    for t in texts[:500]:
        assert twin(t.encode(), dt) == ref(t.encode(), dt), t


SHAPES = [
    "0", "-0", "7", "0.5", "-0.5", "00", "01", "-01", "0.", "1.", ".5", "-.5", "-", "--1", "+1",
    "1.5.3", "1..5", "1e5", "1E5", "1.5e3", "1.5E-3", "1.5e", "123456789012345", "1234567890123456",
    "12345678901234.5", "1234567890123.45", "0.00000000000001", "0.000000000000001",
    "99999999999999.9", "-99999999999999.9", "12345678.1234567", "1.0000000000000",
]


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
@pytest.mark.parametrize("follow", ["", ",", "]", ",12345678901234567890", "x" * 20, "." + "9" * 20,
                                    "e5", "5" * 20])
def test_prefix_form_shapes(dt, follow):
    for text in SHAPES:
        body = (text + follow).encode()
        k, value = _numparse.parse_prefix(body, dt)
        # the reference's reading: the longest prefix matching the number grammar, which
        # must not be followed by something that continues it
        import re

        m = re.match(rb"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", body)
        if m is None or body[m.end():m.end() + 1] in (b".", b"e", b"E") or (
                m.group(1) == b"0" and body[m.end():m.end() + 1].isdigit()):
            assert k == -1 or k == (m.end() if m else -1), (body, k)
            if k == -1:
                continue
        assert k == m.end(), (body, k)
        assert bits(value, dt) == ref(body[:k], dt)[1], body


@pytest.mark.parametrize("dt", FLOAT_TYPES, ids=FLOAT_IDS)
def test_short_buffers_and_tokens(dt):
    # Tokens shorter than the 16-byte window, alone (the copy path) and in longer buffers.
    rng = random.Random(5)
    for _ in range(3000):
        n_int = rng.randrange(1, 9)
        n_frac = rng.randrange(0, 9)
        text = rng.choice(["", "-"]) + str(rng.randrange(10 ** (n_int - 1) if n_int > 1 else 0, 10**n_int))
        if n_frac:
            text += "." + str(rng.randrange(0, 10**n_frac)).rjust(n_frac, "0")
        expected = ref(text.encode(), dt)
        assert twin(text.encode(), dt) == expected, text
        k, value = _numparse.parse_prefix(text.encode(), dt)
        assert k == len(text) and bits(value, dt) == expected[1], text
        k, value = _numparse.parse_prefix((text + "," + "1" * 20).encode(), dt)
        assert k == len(text) and bits(value, dt) == expected[1], text
