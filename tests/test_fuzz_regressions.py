"""Inputs the coverage-guided fuzzers (fuzz/) found to break the twins' contract, one test each.

Each input is also in the committed corpus (fuzz/corpus/<harness>/), so every bounded fuzz run
replays it first.
"""

import numpy as np
import pytest

import tensorwire
from tensorwire import DecodeError, PayloadFormat

# fuzz_json, ND_ARRAYS response, nonfinite="null", dtype=int32, max_bytes=256
# (fuzz/corpus/json/53d75493b8c20756bd45baf2a0cf3f09ec229a3f without its first byte): the native
# reader skipped an ignored member's number as its run of number characters (0-9 . e E + -)
# without checking that the run is a JSON number, so it accepted "593-0" where the reference
# stops after "593" and wants ',' or ']'.
FOUND_JSON = b'{"B100":[[[593-0]]],"predictions":[{"":[3,4]}]}'

# The same defect, minimised: a skipped member (any name but the key and "error") holding a run
# of number characters that is not one JSON number.
SKIPPED_NOT_NUMBERS = [
    FOUND_JSON,
    b'{"x":593-0,"predictions":[1]}',
    b'{"x":-,"predictions":[1]}',
    b'{"x":[01],"predictions":[1]}',
    b'{"x":[1.],"predictions":[1]}',
    b'{"x":[.5],"predictions":[1]}',
    b'{"x":[1e5e5],"predictions":[1]}',
    b'{"x":[1e],"predictions":[1]}',
    b'{"x":{"y":2+},"predictions":[1]}',
    b'{"predictions":[1],"x":-0-}',
]


@pytest.mark.parametrize("body", SKIPPED_NOT_NUMBERS)
def test_a_skipped_member_must_hold_json_numbers(both, body):
    reference, native = both
    with pytest.raises(DecodeError) as want:
        reference.jsonbody.decode_body(body, "predictions", value_form="number")
    with pytest.raises(DecodeError) as got:
        native.jsonbody.decode_body(body, "predictions", value_form="number")
    assert str(got.value) == str(want.value)


def test_the_found_body_is_refused_by_decode_response():
    with pytest.raises(DecodeError):
        tensorwire.decode_response(FOUND_JSON, PayloadFormat.ND_ARRAYS, dtype=np.int32, nonfinite="null",
                                   max_bytes=256)


@pytest.mark.parametrize("number", [b"593", b"-0", b"1.5e-3", b"0E+7", b"-12.25"])
def test_a_skipped_member_holding_a_json_number_is_ignored(codecs, number):
    body = b'{"x":[' + number + b'],"predictions":[1]}'
    got = codecs.jsonbody.decode_body(body, "predictions", value_form="number")
    assert list(got) == ["output"] and got["output"].tolist() == [1.0]


# fuzz_json (fuzz/corpus/json/a33b5d2ecc382db48a004d58152be23573c180c2): a request's signature_name (or parameters) holding a
# number the reference ends sooner ("-0" of "-0.*"): the reference reads the member and refuses
# it first; the native reader reported the text after the number instead.
@pytest.mark.parametrize("body", [
    b'{"instances": [1], "signature_name":-0.*}',
    b'{"instances": [1], "parameters":1.e}',
    b'{"instances": [1], "signature_name":-0.}',
])
@pytest.mark.parametrize("value_form", ["number", "json"])
def test_a_request_member_holding_a_number_the_reference_ends_sooner(both, body, value_form):
    reference, native = both
    with pytest.raises(DecodeError) as want:
        reference.jsonbody.decode_body(body, "instances", value_form=value_form)
    with pytest.raises(DecodeError) as got:
        native.jsonbody.decode_body(body, "instances", value_form=value_form)
    assert str(got.value) == str(want.value)
