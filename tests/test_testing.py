"""tensorwire.testing: its strategies against both backends, and check_server against a good
server (tensorwire.serve) and deliberately broken ones.

* everything ``requests(format)`` / ``responses(format)`` makes decodes, in both backends, to
  the arrays it says (names, dtypes, shapes, values; a NaN only has to be a NaN in the JSON
  number formats, which write every NaN as ``NaN``);
* everything ``hostile(format)`` makes, in every class, is refused with DecodeError by both
  backends (the classes built by construction are not filtered, so this checks the
  construction; the filtered ones are checked against the twin too);
* ``check_server`` passes tensorwire.serve in all seven formats, and names each problem of
  small HTTP and gRPC servers broken on purpose (500 on garbage, a prediction too many, a hang
  past the timeout, a dropped connection, 200 for garbage, an HTML answer, 400 for everything,
  INTERNAL on garbage, nobody listening).

Servers run on loopback; every wait is bounded (check_server's ``timeout`` and
``time_limit``; the broken servers sleep at most HANG seconds).
"""

import socket
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorwire as tw
import tensorwire.testing as twt
from serving import PACKAGE_ROOT, HttpDouble, inproc
from tensorwire import DecodeError
from tensorwire.payload import GRPC_LAYOUTS, JSON_VALUE_FORMS, PayloadFormat

FORMATS = [f for f in PayloadFormat if f is not PayloadFormat.GRPC_TF_EXAMPLES]
CASES = [(f, label) for f in FORMATS for label in twt.classes_of(f)]
FEW = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)
FEWER = settings(max_examples=min(settings.default.max_examples, 10), deadline=None)
HANG = 5.0  # seconds a broken server sleeps; check_server's timeout below is a fraction of it
TIMEOUT = 1.0  # check_server's timeout against the hanging server (the others get 10 s)


def decode(backend, body, fmt, request=True):
    """The format's decoder of one backend, as decode_request / decode_response call it."""
    fmt = PayloadFormat.of(fmt)
    if fmt in GRPC_LAYOUTS:
        if request:
            return backend.grpc.decode_predict_request(body, GRPC_LAYOUTS[fmt][0])[1]
        return backend.grpc.decode_predict_response(body, layout=GRPC_LAYOUTS[fmt][1])
    key, bare = ("instances", "instances") if request else ("predictions", "output")
    return backend.jsonbody.decode_body(body, key, value_form=JSON_VALUE_FORMS[fmt][1], bare_name=bare)


def assert_same(got, want, any_nan):
    assert isinstance(got, np.ndarray), type(got)
    assert (got.dtype, got.shape) == (want.dtype, want.shape), (got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype == object:
        g, w = got.reshape(-1).tolist(), want.reshape(-1).tolist()
        assert [type(v) for v in g] == [type(v) for v in w] and g == w, (g, w)
    elif want.dtype.kind == "f" and any_nan:
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan), (got, want)
        uint = f"u{want.dtype.itemsize}"
        assert np.array_equal(got[~nan].view(uint), want[~nan].view(uint)), (got, want)
    else:
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes(), (got, want)


def assert_decodes_to(got, want, fmt):
    assert sorted(got) == sorted(want)  # (an Examples request orders its features as protobuf sorts them)
    json_numbers = PayloadFormat.of(fmt) in (PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS, PayloadFormat.JSON)
    for name in want:
        assert_same(got[name], want[name], any_nan=json_numbers)


# --------------------------------------------------------------------------------------------
# the strategies


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FEW
@given(data=st.data())
def test_requests_decode_to_their_inputs(codecs, fmt, data):
    inputs, body = data.draw(twt.requests(fmt))
    assert inputs and all(len(a) >= 1 for a in inputs.values())
    assert_decodes_to(decode(codecs, body, fmt), inputs, fmt)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FEW
@given(data=st.data())
def test_responses_decode_to_their_outputs(codecs, fmt, data):
    outputs, body = data.draw(twt.responses(fmt))
    assert_decodes_to(decode(codecs, body, fmt, request=False), outputs, fmt)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@FEWER
@given(data=st.data())
def test_requests_of_tiles_carry_the_tiles(codecs, fmt, data):
    """A strategy given as ``inputs`` is what the body carries (ND_ARRAYS: the bands stacked
    channels-last; GRPC_SERIALIZED_TF_EXAMPLES: each band flattened per instance)."""
    tiles = data.draw(twt.tiles(bands=("B2", "B3"), size=(2, 3), batch=(1, 2)))
    inputs, body = data.draw(twt.requests(fmt, inputs=st.just(tiles)))
    assert_decodes_to(decode(codecs, body, fmt), inputs, fmt)
    if fmt is PayloadFormat.ND_ARRAYS:
        np.testing.assert_array_equal(inputs["instances"], np.concatenate([tiles["B2"], tiles["B3"]], axis=-1))
    for band, tile in tiles.items():
        if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES:
            np.testing.assert_array_equal(inputs[band], tile.reshape(len(tile), 6))
        elif fmt is not PayloadFormat.ND_ARRAYS:
            np.testing.assert_array_equal(inputs[band], tile)


@given(twt.tiles(bands=3, size=5, batch=2), twt.arrays([np.float64], twt.shapes(min_dims=1), finite=True))
@FEWER
def test_tiles_and_arrays_have_the_asked_shapes(tiles, arr):
    assert list(tiles) == ["B1", "B2", "B3"]
    assert all(a.shape == (2, 5, 5, 1) and a.dtype == np.float32 and np.isfinite(a).all() for a in tiles.values())
    assert arr.dtype == np.float64 and arr.ndim >= 1 and np.isfinite(arr).all()


@pytest.mark.parametrize(("fmt", "label"), CASES, ids=[f"{f.value}-{label}" for f, label in CASES])
@FEWER
@given(data=st.data())
def test_hostile_bodies_are_refused(codecs, fmt, label, data):
    h = data.draw(twt.hostile(fmt, classes=[label]))
    assert h.label == label and isinstance(h.body, bytes)
    with pytest.raises(DecodeError):
        decode(codecs, h.body, fmt)


def test_hostile_arguments_are_checked():
    with pytest.raises(ValueError, match=r"RAW_JSON has the classes .*; not \['bad_base64'\]"):
        twt.hostile("RAW_JSON", classes=["bad_base64"])
    assert set(twt.classes_of("GRPC_SERIALIZED_TF_TENSORS")) <= set(twt.CLASSES)


def test_import_without_hypothesis_names_the_extra():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'hypothesis' or name.startswith('hypothesis.'):\n"
            "            raise ImportError('blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import tensorwire\n"
            "assert 'tensorwire.testing' not in sys.modules and 'hypothesis' not in sys.modules\n"
            "try:\n"
            "    import tensorwire.testing\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": PACKAGE_ROOT, "TENSORWIRE_PURE_PYTHON": "1"})
    assert out.returncode == 0, out.stderr
    assert 'pip install "tensorwire[testing]"' in out.stdout, out.stdout


# --------------------------------------------------------------------------------------------
# check_server against tensorwire.serve


def affine(inputs):
    return {name: x * 2 + 1 for name, x in inputs.items()}


@pytest.fixture(scope="module")
def good_server():
    with inproc(affine) as srv:
        yield srv


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_check_server_passes_tensorwire_serve(good_server, transport):
    target = good_server.http_url if transport == "http" else good_server.grpc_target
    result = twt.check_server(target, examples=6, hostile_examples=12, timeout=20, time_limit=120, seed=1)
    assert result.ok, str(result)
    formats = {r.format for r in result.rows}
    want = {f.value for f in (tw.payload.JSON_FORMATS if transport == "http" else tw.payload.GRPC_FORMATS)}
    assert formats == want
    for r in result.rows:
        assert r.passed == r.sent and (r.kind != "valid" or r.sent == 6), str(result)
    assert sum(r.sent for r in result.rows if r.kind != "valid") > 0
    assert "PASS" in str(result)


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS"])
def test_check_server_sends_every_class_to_a_one_format_server(fmt):
    """With ``only_formats=True`` no hostile body is skipped as another format's valid body."""
    with inproc(affine, formats=[fmt]) as srv:
        target = srv.http_url if fmt in tw.payload.JSON_FORMATS else srv.grpc_target
        result = twt.check_server(target, [fmt], examples=3, hostile_examples=16, only_formats=True, timeout=20,
                                  time_limit=120, seed=2)
    assert result.ok, str(result)
    sent = {r.kind: r.sent for r in result.rows}
    assert set(sent) == {"valid", *twt.classes_of(fmt)} and min(sent.values()) > 0, sent


# --------------------------------------------------------------------------------------------
# check_server against broken servers


class Broken(HttpDouble):
    """A RAW_JSON server whose answer to a body is ``behave(body)``: ``(status, body)``, or
    None to close the connection without answering."""

    def __init__(self, behave):
        def reply(headers, body):
            got = behave(body)
            return None if got is None else (got[0], {}, got[1])

        super().__init__(reply)


def answer(body, extra=0, on_garbage=(400, b'{"error": "bad request"}')):
    """affine's RAW_JSON answer (one prediction too many with ``extra=1``, an HTML page with
    ``extra=-1``), or ``on_garbage`` (an answer, or a function that gives one)."""
    try:
        inputs = tw.decode_request(body, "RAW_JSON")
    except DecodeError:
        return on_garbage() if callable(on_garbage) else on_garbage
    outputs = affine(inputs)
    if extra < 0:
        return 200, b"<html>not a prediction</html>"
    if extra:
        outputs = {k: np.concatenate([v, v[:1]]) for k, v in outputs.items()}
    return 200, tw.encode_response(outputs, "RAW_JSON")


def hang():
    time.sleep(HANG)
    return 400, b'{"error": "late"}'


BROKEN = {
    "server_error": lambda body: answer(body, on_garbage=(500, b"Internal Server Error")),
    "wrong_count": lambda body: answer(body, extra=1),
    "hang": lambda body: answer(body, on_garbage=hang),
    "dropped": lambda body: answer(body, on_garbage=lambda: None),
    "accepted": lambda body: answer(body, on_garbage=(200, b'{"predictions": []}')),
    "bad_answer": lambda body: answer(body, extra=-1),
    "refused_valid": lambda body: (400, b'{"error": "no"}'),
}
VALID_FAILS = {"wrong_count", "bad_answer", "refused_valid"}  # the problems of valid requests


@pytest.mark.parametrize("problem", list(BROKEN))
def test_check_server_names_what_a_broken_server_does(problem):
    with Broken(BROKEN[problem]) as server:
        result = twt.check_server(server.url, ["RAW_JSON"], examples=3, hostile_examples=5,
                                  timeout=TIMEOUT if problem == "hang" else 10, time_limit=60, seed=3)
    assert not result.ok
    assert result.problems() == {problem}, str(result)
    failure = result.failures[0]
    assert failure.format == "RAW_JSON" and isinstance(failure.body, bytes) and failure.count >= 1
    assert f"FAIL RAW_JSON {failure.kind}: {problem}" in str(result)
    valid = next(r for r in result.rows if r.kind == "valid")
    assert valid.sent == 3 and valid.passed == (0 if problem in VALID_FAILS else 3), str(result)


def test_check_server_names_a_grpc_server_that_fails_on_garbage():
    def predict(body, context):
        try:
            inputs = tw.decode_request(body, "GRPC_TF_TENSORS")
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INTERNAL, f"crashed: {exc}")
        return tw.encode_response(affine(inputs), "GRPC_TF_TENSORS")

    handler = grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService", {"Predict": grpc.unary_unary_rpc_method_handler(predict)})
    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        result = twt.check_server(f"127.0.0.1:{port}", ["GRPC_TF_TENSORS"], examples=3, hostile_examples=6,
                                  only_formats=True, timeout=10, time_limit=60, seed=4)
    finally:
        server.stop(0)
    assert result.problems() == {"server_error"}, str(result)
    assert next(r for r in result.rows if r.kind == "valid").passed == 3


def test_check_server_names_a_target_nobody_listens_on():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the check: nothing listens there
    result = twt.check_server(f"http://127.0.0.1:{port}/predict", ["ND_ARRAYS"], examples=2, hostile_examples=0,
                              timeout=5, time_limit=30)
    assert not result.ok and result.problems() == {"unreachable"}, str(result)


def test_check_server_stops_at_its_time_limit():
    with Broken(BROKEN["hang"]) as server:
        start = time.monotonic()
        result = twt.check_server(server.url, ["RAW_JSON"], examples=1, hostile_examples=40, timeout=TIMEOUT,
                                  time_limit=1.0)
        elapsed = time.monotonic() - start
    assert result.stopped and "time limit" in result.stopped and not result.ok
    assert sum(r.sent for r in result.rows) < 41
    assert elapsed < 30  # a bound on a hang, not a timing claim: 40 hangs would take 20 s or more


def test_check_server_arguments_are_checked():
    with pytest.raises(ValueError, match=r"is an HTTP URL; \['GRPC_TF_TENSORS'\] are not its formats"):
        twt.check_server("http://127.0.0.1:1/predict", ["GRPC_TF_TENSORS"])
    with pytest.raises(ValueError, match=r"is a gRPC target; \['RAW_JSON'\] are not its formats"):
        twt.check_server("127.0.0.1:1", ["RAW_JSON"])


def test_check_server_sends_the_headers():
    def reply(headers, body):
        if headers.get("Authorization") != "Bearer token":
            return 401, {}, b'{"error": "who are you?"}'
        status, data = answer(body)
        return status, {}, data

    with HttpDouble(reply) as server:
        result = twt.check_server(server.url, ["RAW_JSON"], examples=2, hostile_examples=5, timeout=10,
                                  time_limit=60, headers={"Authorization": "Bearer token"}, seed=5)
        assert result.ok, str(result)
        without = twt.check_server(server.url, ["RAW_JSON"], examples=2, hostile_examples=0, timeout=10,
                                   time_limit=60, seed=5)
    assert without.problems() == {"refused_valid"}, str(without)


@pytest.mark.parametrize("fmt", ["GRPC_TF_TENSORS", "SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "JSON"])
def test_given_inputs_in_big_endian_or_several_bands(codecs, fmt):
    """Inputs are what the body carries however they are laid out: big-endian arrays decode
    native; ND_ARRAYS stacks several bands channels-last, and expected_arrays says so too."""
    bands = {"B1": np.arange(8, dtype=">f4").reshape(2, 2, 2, 1), "B2": np.ones((2, 2, 2, 1), ">f4")}

    @given(twt.requests(fmt, inputs=st.just(bands)))
    @settings(max_examples=1, deadline=None)
    def check(pair):
        inputs, body = pair
        assert_decodes_to(decode(codecs, body, fmt), inputs, fmt)
        assert all(a.dtype.isnative for a in inputs.values())
        assert_decodes_to(inputs, twt.expected_arrays(bands, fmt), fmt)

    check()
    if fmt == "ND_ARRAYS":
        stacked = twt.expected_arrays(bands, fmt)["instances"]
        assert stacked.shape == (2, 2, 2, 2) and np.array_equal(stacked[..., 0], bands["B1"][..., 0])
