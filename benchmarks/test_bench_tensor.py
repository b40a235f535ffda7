"""TensorProto encode and decode: tensorwire's twins against ndarray.tobytes, protobuf and TF."""

import pytest

import cases
from harness import measure, params


@pytest.mark.parametrize(*params(cases.TENSOR_ENCODE))
def test_tensor_encode(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.TENSOR_DECODE))
def test_tensor_decode(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])
