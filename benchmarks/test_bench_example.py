"""tf.Example encode and decode of 12 bands of 256x256 float32: tensorwire's twins against protobuf
(``tf.train.Example``) and ``tf.io.parse_single_example``."""

import pytest

import cases
from harness import measure, params


@pytest.mark.parametrize(*params(cases.EXAMPLE_ENCODE))
def test_example_encode(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.EXAMPLE_DECODE))
def test_example_decode(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])
