"""Base64 encode and decode: tensorwire's twins against pybase64 and the stdlib."""

import pytest

import cases
from harness import measure, params


@pytest.mark.parametrize(*params(cases.B64_ENC_STD))
def test_base64_encode_standard(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.B64_ENC_URL))
def test_base64_encode_urlsafe(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.B64_DEC_STD))
def test_base64_decode_standard(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.B64_DEC_URL))
def test_base64_decode_urlsafe(benchmark, payloads, case, payload):
    measure(benchmark, case, payloads[payload])
