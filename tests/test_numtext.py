"""The number-text codec (docs/number-text.md) through its public twins, ``format_number`` and
``parse_number``: the reference against its oracles, and the twin against the reference.

The C primitives underneath the twin have their own exhaustive tests (test_numfmt.py,
test_numparse.py); these check the public functions that wrap them, both backends.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensorwire import DecodeError

FLOATS = {np.float16: np.uint16, np.float32: np.uint32, np.float64: np.uint64}


def from_bits(bits, ftype):
    return np.array(bits, dtype=FLOATS[ftype]).view(ftype)[()]


@pytest.mark.parametrize("ftype", list(FLOATS))
@given(data=st.data())
def test_format_is_the_spec_definition_and_parses_back(codecs, ftype, data):
    bits = data.draw(st.integers(0, 2 ** (8 * np.dtype(ftype).itemsize) - 1))
    x = from_bits(bits, ftype)
    text = codecs.numtext.format_number(x)
    if math.isnan(x):
        assert text == "NaN"
        assert math.isnan(codecs.numtext.parse_number(text, ftype))
        return
    if math.isinf(x):
        assert text == ("Infinity" if x > 0 else "-Infinity")
    else:
        assert text == repr(float(np.format_float_scientific(x, unique=True)))  # docs/number-text.md
    back = codecs.numtext.parse_number(text, ftype)
    assert back.dtype == np.dtype(ftype)
    assert back.tobytes() == x.tobytes()


@pytest.mark.parametrize("ftype", list(FLOATS))
def test_tolist_format_is_the_widened_repr(codecs, ftype):
    x = ftype(0.1)
    assert codecs.numtext.format_number(x, float_format="tolist") == repr(float(x))
    assert codecs.numtext.format_number(x) == "0.1"


@pytest.mark.parametrize(
    "value, dtype, text",
    [(np.int64(-(2**63)), np.int64, "-9223372036854775808"), (np.uint64(2**64 - 1), np.uint64, "18446744073709551615"),
     (np.int8(-5), np.int8, "-5"), (True, np.bool_, "true"), (np.float32(1e10), np.float32, "10000000000.0"),
     (np.float32(1e-5), np.float32, "1e-05"), (np.float64(1e16), np.float64, "1e+16"), (np.float16(65504), np.float16, "65500.0")],
)
def test_format_examples(codecs, value, dtype, text):
    assert codecs.numtext.format_number(value, dtype) == text


def test_parse_is_correctly_rounded_on_a_float32_midpoint(codecs):
    """1 + 2**-24 is halfway between two float32s: the exact text ties to even (1.0); one more
    far digit either way must win, which parsing to float64 first gets wrong."""
    mid = "1.000000059604644775390625"
    assert codecs.numtext.parse_number(mid, np.float32) == np.float32(1.0)
    assert codecs.numtext.parse_number(mid + "000001", np.float32) == np.nextafter(np.float32(1), np.float32(2))
    assert codecs.numtext.parse_number("1.0000000596046447753906249999", np.float32) == np.float32(1.0)
    assert np.float32(float(mid + "000001")) == np.float32(1.0)  # the double-rounding trap itself


@given(st.integers(-(10**9), 10**9), st.integers(-14, 3))
def test_parse_matches_exact_rounding_in_float16(codecs, mantissa, exp):
    """float16 against exact arithmetic: nearest to the decimal, ties to even, inf past 65520."""
    text = f"{mantissa}e{exp}"
    exact = Fraction(mantissa) * Fraction(10) ** exp
    got = codecs.numtext.parse_number(text, np.float16)
    if np.isinf(got):
        assert abs(exact) >= 65520 and (got > 0) == (exact > 0)
        return
    here = abs(exact - Fraction(float(got)))
    for direction in (-np.inf, np.inf):
        other = np.nextafter(got, np.float16(direction))
        if np.isfinite(other):
            there = abs(exact - Fraction(float(other)))
            assert here <= there
            if here == there:  # a tie: the even significand wins
                assert int(np.array(got).view(np.uint16)) % 2 == 0


@pytest.mark.parametrize("text", ["+1", "01", ".5", "1.", "1e", "--1", " 1", "1 ", "0x10", "inf", "nan", "1_0", "", "١", "1.5x"])
def test_parse_refuses_what_json_refuses(both, text):
    ref, twin = both
    with pytest.raises(DecodeError) as r:
        ref.numtext.parse_number(text, np.float32)
    with pytest.raises(DecodeError) as n:
        twin.numtext.parse_number(text, np.float32)
    assert str(r.value) == str(n.value)


@pytest.mark.parametrize(
    "text, dtype", [("3.0", np.int32), ("1e3", np.int64), ("128", np.int8), ("-1", np.uint8), ("-0", np.uint8),
                    ("18446744073709551616", np.uint64), ("NaN", np.int32), ("1", np.bool_), ("true", np.float32)],
)
def test_integer_and_bool_rules_match(both, text, dtype):
    ref, twin = both
    outcomes = []
    for impl in (ref, twin):
        try:
            outcomes.append(("ok", impl.numtext.parse_number(text, dtype)))
        except DecodeError as exc:
            outcomes.append(("error", str(exc)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == ("ok" if text == "-0" else "error")


@given(st.integers(0, 2**32 - 1))
def test_twin_equals_reference_on_float32_bits(both, bits):
    ref, twin = both
    x = from_bits(bits, np.float32)
    assert twin.numtext.format_number(x) == ref.numtext.format_number(x)
    assert twin.numtext.format_number(x, float_format="tolist") == ref.numtext.format_number(x, float_format="tolist")
    text = ref.numtext.format_number(x)
    assert twin.numtext.parse_number(text, np.float32).tobytes() == ref.numtext.parse_number(text, np.float32).tobytes()


def test_unsupported_dtype_is_a_type_error(codecs):
    with pytest.raises(TypeError, match="unsupported dtype"):
        codecs.numtext.format_number(np.complex64(1))
    with pytest.raises(TypeError, match="unsupported dtype"):
        codecs.numtext.parse_number("1", np.complex64)
