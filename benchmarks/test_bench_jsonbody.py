"""HTTP JSON request and response bodies (SERIALIZED_TF_TENSORS, ND_ARRAYS, RAW_JSON) through
tensorwire's public API, natively and on the pure-Python reference, against what a user writes
today (TensorFlow/protobuf + base64 + json/orjson; orjson + numpy).  Timed runs use the tile and
the batch of 8 that report.py uses; the smoke run (``--benchmark-disable``) uses 16x16x12 tiles,
so CI stays fast (the reference takes seconds on the full tile)."""

import pytest

import cases
from harness import measure, params


def _run(benchmark, payloads, case, payload):
    if benchmark.disabled:
        payload = cases.smoke_payload(case.group, payload)
    measure(benchmark, case, payloads[payload])


@pytest.mark.parametrize(*params(cases.JSON_ENC_TENSORS))
def test_json_encode_tensors(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_ENC_BANDS))
def test_json_encode_tensors_bands(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_ENC_ND))
def test_json_encode_nd_arrays(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_ENC_RAW))
def test_json_encode_raw_json(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_DEC_ND))
def test_json_decode_nd_arrays(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_DEC_RAW))
def test_json_decode_raw_json(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)


@pytest.mark.parametrize(*params(cases.JSON_DEC_TENSORS))
def test_json_decode_tensors(benchmark, payloads, case, payload):
    _run(benchmark, payloads, case, payload)
