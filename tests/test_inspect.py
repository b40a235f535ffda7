"""``python -m tensorwire inspect``: each payload kind is recognised and summarised."""

import subprocess
import sys

import numpy as np
import pytest

import tensorwire as tw
from tensorwire import _inspect

A = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1) / 8
A[0, 0, 0, 0] = np.nan

CASES = [
    ("HTTP JSON request, SERIALIZED_TF_TENSORS", lambda: tw.encode_request({"B2": A, "B3": A}, "SERIALIZED_TF_TENSORS"), ["B2", "B3"]),
    ("HTTP JSON request, RAW_JSON", lambda: tw.encode_request({"B2": A}, "RAW_JSON"), ["B2"]),
    ("HTTP JSON request, ND_ARRAYS", lambda: tw.encode_request(A, "ND_ARRAYS"), ["instances"]),
    ("HTTP JSON response, ND_ARRAYS", lambda: tw.encode_response(A, "ND_ARRAYS"), ["output"]),
    ("HTTP JSON response, SERIALIZED_TF_TENSORS", lambda: tw.encode_response({"o": A, "p": A}, "SERIALIZED_TF_TENSORS"), ["o", "p"]),
    ("gRPC PredictRequest, GRPC_TF_TENSORS", lambda: tw.encode_request({"B2": A}, "GRPC_TF_TENSORS"), ["B2"]),
    ("gRPC PredictRequest, GRPC_SERIALIZED_TF_TENSORS", lambda: tw.encode_request({"B2": A}, "GRPC_SERIALIZED_TF_TENSORS"), ["B2"]),
    ("gRPC PredictRequest, GRPC_SERIALIZED_TF_EXAMPLES",
     lambda: tw.encode_request({"B2": A[..., 0]}, "GRPC_SERIALIZED_TF_EXAMPLES", input_name="inputs"), ["B2"]),
    ("gRPC PredictResponse", lambda: tw.encode_response({"out": A}, "GRPC_TF_TENSORS"), ["out"]),
    ("gRPC PredictResponse, GRPC_SERIALIZED_TF_TENSORS",
     lambda: tw.encode_response({"out": A, "p": A}, "GRPC_SERIALIZED_TF_TENSORS"), ["out", "p"]),
]


@pytest.mark.parametrize("what, make, names", CASES, ids=[c[0] for c in CASES])
def test_detects_the_kind_and_summarises(what, make, names):
    description, arrays = _inspect.detect(make())
    assert description == what
    assert list(arrays) == names
    for a in arrays.values():
        assert int(np.isnan(a.astype(np.float64)).sum()) == 1
        assert np.nanmax(a) == np.nanmax(A)


# gRPC requests are named by the server's rules (tensorwire._sniff): the first string of the
# first DT_STRING [N] input says GRPC_SERIALIZED_TF_EXAMPLES (0x0A) or GRPC_SERIALIZED_TF_TENSORS
# ("C"), anything else GRPC_TF_TENSORS; Examples are read under the request's one input name.
# inspect had rules of its own (GRPC_TF_TENSORS only without strings, then each serialized layout,
# Examples only under "input" or "inputs"), and every request below fell through them to
# "gRPC PredictResponse" with no arrays: a request named a response.  What inspect says now is
# what a server taking every format does with the request (test_payload.py checks that the two
# agree).


def texts(*items):
    return tw.encode_request({"t": np.array(items, dtype=object)}, "GRPC_TF_TENSORS")


def test_text_requests_are_grpc_tf_tensors():
    # a text model's request: strings that start with neither 0x0A nor "C" are plain strings
    description, arrays = _inspect.detect(texts(b"hello", b"world"))
    assert description == "gRPC PredictRequest, GRPC_TF_TENSORS"
    assert arrays["t"].tolist() == [b"hello", b"world"]
    # the rule looks at 1-D string inputs only: a matrix of strings is never serialized tensors
    body = tw.encode_request({"t": np.array([[b"Ca", b"Cb"]], dtype=object), "n": A[:1]}, "GRPC_TF_TENSORS")
    description, arrays = _inspect.detect(body)
    assert description == "gRPC PredictRequest, GRPC_TF_TENSORS" and list(arrays) == ["t", "n"]


def test_examples_under_any_one_input_name():
    body = tw.encode_request({"B2": A[..., 0]}, "GRPC_SERIALIZED_TF_EXAMPLES", input_name="earthengine_in_0")
    description, arrays = _inspect.detect(body)
    assert description == "gRPC PredictRequest, GRPC_SERIALIZED_TF_EXAMPLES"
    assert list(arrays) == ["B2"] and arrays["B2"].shape == (2, 12)


@pytest.mark.parametrize("body, fmt", [
    (texts(b"Cat", b"dog"), "GRPC_SERIALIZED_TF_TENSORS"),
    (texts(b"\nline", b"dog"), "GRPC_SERIALIZED_TF_EXAMPLES"),
], ids=["C", "0x0A"])
def test_strings_that_only_look_serialized_are_refused(body, fmt):
    # the server's rule names them serialized, and a server taking every format refuses them
    with pytest.raises(tw.DecodeError, match=rf"^a gRPC PredictRequest whose strings name it {fmt}, which a server "
                                             rf"taking that format refuses \(one taking GRPC_TF_TENSORS but not {fmt} "
                                             rf"reads them as text\): PredictRequest.inputs\['t'\] element 0: "):
        _inspect.detect(body)


def test_command_line_file_and_stdin(tmp_path):
    body = tw.encode_request({"B2": A}, "RAW_JSON")
    path = tmp_path / "req.json"
    path.write_bytes(body)
    for args, stdin in (([str(path)], None), (["-"], body)):
        done = subprocess.run([sys.executable, "-m", "tensorwire", "inspect", *args], input=stdin,
                              capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.decode().splitlines()
        assert lines[0].startswith("HTTP JSON request, RAW_JSON;")
        assert lines[1].split() == ["name", "dtype", "shape", "min", "max", "mean", "NaN"]
        assert lines[2].split() == ["B2", "float64", "2x3x4x1", "0.125", "2.875", "1.5", "1"]


def test_error_response_and_garbage():
    assert _inspect.detect(b'{"error": {"code": 400, "message": "bad"}}') == ("HTTP JSON error response: bad", {})
    done = subprocess.run([sys.executable, "-m", "tensorwire", "inspect", "-"], input=b"\x07garbage",
                          capture_output=True, check=False)
    assert done.returncode == 1
    assert b"not a payload tensorwire knows" in done.stdout


def test_help_exists_for_every_command():
    for args in ([], ["demo"], ["inspect"], ["serve"]):
        done = subprocess.run([sys.executable, "-m", "tensorwire", *args, "--help"], capture_output=True, check=False)
        assert done.returncode == 0 and b"usage:" in done.stdout
