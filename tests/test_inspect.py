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
