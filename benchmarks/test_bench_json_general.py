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


@pytest.mark.native
def test_text_encode_ab_runs(capsys):
    """benchmarks/text_encode_ab.py on the source tree's build, twice over (as two builds), at a
    small size: one line per layout and the geometric mean, a ratio per build (not timed: its
    figures are read, not asserted)."""
    import text_encode_ab

    build = cases.native_jsonbody().__file__
    text_encode_ab.main([build, build, "--count", "50", "--layouts", "2", "--rounds", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("50 strings, 2 layouts, 1 rounds of ")
    assert lines[1].split() == ["layout", "jsonbody", "jsonbody#2", "orjson", "µs"], lines
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["0", "1", "geomean"], lines
    for row in rows:
        assert len(row) == (3 if row[0] == "geomean" else 4), lines
        assert all(cell.endswith("×") and float(cell[:-1]) > 0 for cell in row[1:3]), lines
