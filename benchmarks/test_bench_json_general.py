"""The general predict body, ``PayloadFormat.JSON`` (docs/json-general.md), through tensorwire's
public API, natively and on the pure-Python reference, against what a user writes today: 32
JPEG-sized ``{"b64"}`` instances (decode and encode, against orjson/json + pybase64/stdlib base64),
a text classifier's 10,000 short strings (against orjson and json), and the numbers of the tile
in the general format against ND_ARRAYS on the same body.  Timed runs use the payloads report.py
uses; the smoke run (``--benchmark-disable``) uses small ones (:data:`cases.SMOKE`).

A tree without ``PayloadFormat.JSON`` fails these tests (the tensorwire cases raise); it does not
skip them."""

import pytest

import cases
from harness import measure, params


def _run(benchmark, payloads, case, payload):
    if benchmark.disabled:
        payload = cases.smoke_payload(case.group, payload)
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.GENERAL_DEC_B64))
def test_json_general_decode_b64(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.GENERAL_ENC_B64))
def test_json_general_encode_b64(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.GENERAL_DEC_TEXT))
def test_json_general_decode_text(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.GENERAL_ENC_TEXT))
def test_json_general_encode_text(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.GENERAL_DEC_NUM))
def test_json_general_decode_numbers(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.GENERAL_ENC_NUM))
def test_json_general_encode_numbers(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)
