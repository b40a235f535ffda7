"""The fuzz harnesses' contract check (fuzz/_contract.py) catches what it is meant to catch.

A harness whose check cannot fail would fuzz for nothing; these feed ``agree`` twins that break
the contract in each way and check that it says so.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from tensorwire import DecodeError, PredictionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fuzz"))
import _contract  # noqa: E402  (fuzz/ is not a package)


def raises(exc):
    def call():
        raise exc
    return call


def returns(value):
    return lambda: value


def test_same_error_and_same_result_agree():
    assert _contract.agree(raises(DecodeError("bad at offset 3")), raises(DecodeError("bad at offset 3"))) == (
        "DecodeError", "bad at offset 3")
    value = {"x": np.arange(3, dtype=np.float32), "s": [b"a", None]}
    assert _contract.agree(returns(value), returns({"x": np.arange(3, dtype=np.float32), "s": [b"a", None]}))[0] == "ok"


@pytest.mark.parametrize(
    "reference, native",
    [
        (raises(DecodeError("bad at offset 3")), raises(DecodeError("bad at offset 4"))),  # message
        (raises(DecodeError("bad")), returns({})),  # validity
        (returns(np.array([np.nan], np.float32)),  # NaN payload
         returns(np.array([0x7FC00001], np.uint32).view(np.float32))),
        (returns(np.zeros((2, 1), np.float32)), returns(np.zeros((1, 2), np.float32))),  # shape
        (returns(np.zeros(2, np.float32)), returns(np.zeros(2, np.float64))),  # dtype
        (returns({"a": 1, "b": 2}), returns({"b": 2, "a": 1})),  # order of names
        (returns([b"x"]), returns((b"x",))),  # container type
        (returns(b"x"), returns(bytearray(b"x"))),  # a type no decoder returns
    ],
)
def test_disagreement_is_a_breach(reference, native):
    with pytest.raises(_contract.Breach):
        _contract.agree(reference, native)


def test_an_exception_other_than_decode_error_escapes():
    with pytest.raises(TypeError):
        _contract.agree(raises(TypeError("boom")), raises(TypeError("boom")))
    with pytest.raises(PredictionError):  # only response decoders may raise it
        _contract.agree(raises(PredictionError("x")), raises(PredictionError("x")))
    assert _contract.agree(raises(PredictionError("x")), raises(PredictionError("x")), responses=True)[0] == (
        "PredictionError")


def test_a_decode_error_subclass_is_a_breach():
    class Sub(DecodeError):
        pass

    with pytest.raises(_contract.Breach):
        _contract.agree(raises(Sub("x")), raises(Sub("x")))


def test_pick_takes_the_first_byte_as_the_option():
    assert _contract.pick(b"", "abc") == ("a", b"")
    assert _contract.pick(b"\x04xyz", "abc") == ("b", b"xyz")
