"""The model server and the client, over real HTTP and real gRPC on loopback.

The server runs in a subprocess (``python -m tensorwire serve``) on ports it picks itself and
names in its ready line.  Predictions are compared with calling the served function directly
(``serve_models``).  Client behaviours that need a misbehaving server (retries, splitting,
headers) are checked against small test doubles in this process.
"""

import os
import subprocess
import sys
import threading
import time
import types

import grpc
import numpy as np
import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st

import serve_models
import strategies as S
import tensorwire as tw
import tensorwire.client
from serving import PACKAGE_ROOT, HttpDouble, grpc_call, inproc, post, running
from tensorwire._model import Failure, Model

H = W = 16
SHAPE = f"{H}x{W}x1"
JSON = ["SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS"]
GRPC = ["GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"]
WAIT = 30  # seconds: the bound on every wait for an event (a hung server fails, never hangs the suite)


@pytest.fixture(scope="module")
def server():
    env = {"AIP_PREDICT_ROUTE": "/v1/endpoints/test:predict", "AIP_HEALTH_ROUTE": "/ping"}
    with running("serve_models:affine", "--example-shape", SHAPE, "--max-body-bytes", str(4 << 20), env=env) as s:
        yield s


def tiles(n, bands=("B1", "B2", "B3"), seed=0):
    rng = np.random.default_rng(seed)
    return {b: rng.standard_normal((n, H, W, 1)).astype(np.float32) for b in bands}


def inputs_for(fmt, batch):
    return batch["B1"] if fmt == "ND_ARRAYS" else batch


@pytest.fixture
def client_waits(monkeypatch):
    """The seconds each backoff of tw.Client slept, in order (recorded, then waited): what the
    retry tests assert on instead of elapsed time."""
    waits, real_sleep = [], time.sleep

    def sleep(seconds):
        waits.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(tensorwire.client, "time", types.SimpleNamespace(sleep=sleep))
    return waits


def client(server, fmt, **kw):
    url, target = server
    return tw.Client(target if fmt.startswith("GRPC") else url, fmt, **kw)


# ------------------------------------------------------------------------------ the six formats


@pytest.mark.parametrize("fmt", JSON + GRPC)
def test_every_format_gives_what_predict_fn_gives(server, fmt):
    batch = tiles(5)
    with client(server, fmt) as c:
        got = c.predict(inputs_for(fmt, batch))
    direct = serve_models.affine({"instances": batch["B1"]} if fmt == "ND_ARRAYS" else batch)
    if fmt == "ND_ARRAYS":
        direct = {"output": direct["instances"]}
    assert list(got) == list(direct)
    for name, want in direct.items():
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], want)


@pytest.fixture(scope="module")
def small_server():
    """A server refusing bodies over 45,000 bytes: a client that did not split would fail."""
    with running("serve_models:affine", "--example-shape", SHAPE, "--max-body-bytes", "45000") as s:
        yield s


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "ND_ARRAYS", "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"])
def test_a_batch_over_max_payload_bytes_is_split_and_reassembled_in_order(small_server, fmt):
    batch = tiles(23, seed=1)
    with client(small_server, fmt, max_payload_bytes=40_000, retries=0) as c:
        one = len(tw.encode_request(inputs_for(fmt, {k: v[:1] for k, v in batch.items()}), fmt))
        assert one < 40_000 and len(tw.encode_request(inputs_for(fmt, batch), fmt)) > 45_000
        got = c.predict(inputs_for(fmt, batch))
    if fmt == "ND_ARRAYS":
        np.testing.assert_array_equal(got["output"], batch["B1"] * 2 + 1)
    else:
        assert list(got) == list(batch)
        for name, x in batch.items():
            np.testing.assert_array_equal(got[name], x * 2 + 1)


def test_an_instance_alone_over_max_payload_bytes_is_refused_before_sending():
    with tw.Client("http://127.0.0.1:9/unused", "RAW_JSON", max_payload_bytes=1000) as c:
        with pytest.raises(ValueError, match=r"instance 0 alone encodes to [\d,]+ bytes, over max_payload_bytes=1,000"):
            c.predict(tiles(2))


def test_health_and_routes_follow_the_vertex_contract(server):
    url, _ = server
    assert url.endswith("/v1/endpoints/test:predict")
    r = urllib3.PoolManager().request("GET", url.replace("/v1/endpoints/test:predict", "/ping"))
    assert (r.status, r.json()) == (200, {"status": "ok"})
    assert post(url.replace("/v1/endpoints/test:predict", "/predict"), b"{}").status == 404


def test_aip_http_port_is_the_default_port(monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AIP_HTTP_PORT", str(port))
    srv = tw.serve(serve_models.total, formats=["ND_ARRAYS"], host="127.0.0.1", block=False)
    try:
        assert srv.http_url == f"http://127.0.0.1:{port}/predict" and srv.grpc_target is None
        got = tw.Client(srv.http_url, "ND_ARRAYS").predict(np.ones((2, 3), np.float32))
        np.testing.assert_array_equal(got["output"], np.ones((2, 3), np.float32))
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- bad requests


MALFORMED_JSON = [
    (b"", "offset 0"),
    (b"not json", "offset 0"),
    (b'{"instances": [{"B1": {"b64": "!!!"}}]}', "B1"),
    (b'{"instances": [{"B1": [[1, 2], [3]]}]}', "offset"),
    (b'{"instances": [[1, 2], [3, "x"]]}', "offset"),
    (b'{"predictions": [1]}', "instances"),
]


@pytest.mark.parametrize("body, where", MALFORMED_JSON)
def test_malformed_json_bodies_get_400_and_the_next_request_succeeds(server, body, where):
    url, _ = server
    r = post(url, body, {"Content-Type": "application/json"})
    assert r.status == 400, r.data
    message = r.json()["error"]
    assert where in message and len(message) > 20
    with client(server, "RAW_JSON") as c:
        assert c.predict(tiles(1))["B1"].shape == (1, H, W, 1)


MALFORMED_GRPC = [
    b"\x0a",  # a truncated model_spec
    b"\x12\x05\x0a\x02B1\x12\x7f",  # an input whose TensorProto runs past the end
    tw.encode_request({"B1": np.zeros((2, 3), np.float32)}, "GRPC_TF_TENSORS")[:-3],
    b"\xff\xff\xff",
]


@pytest.mark.parametrize("body", MALFORMED_GRPC)
def test_malformed_grpc_requests_get_invalid_argument_and_the_next_call_succeeds(server, body):
    _, target = server
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, body)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "PredictRequest" in info.value.details()
    with client(server, "GRPC_TF_TENSORS") as c:
        assert c.predict(tiles(1))["B1"].shape == (1, H, W, 1)


def test_a_malformed_serialized_tensor_inside_grpc_names_the_element(server):
    _, target = server
    good = tw.b64encode(tw.encode_tensor(np.zeros((H, W, 1), np.float32)), urlsafe=True)
    bad = tw.encode_request({"B1": np.array([good, b"C@@@"], dtype=object)}, "GRPC_TF_TENSORS")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, bad)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    at = bad.index(b"C@@@") + 1  # the byte of the element's text, in the message
    assert f"inputs['B1'] element 1: base64: invalid character 0x40 at offset {at}" in info.value.details()
    assert grpc_call(target, tw.encode_request({"B1": np.zeros((2, 3), np.float32)}, "GRPC_TF_TENSORS"))


def test_a_malformed_example_inside_grpc_is_invalid_argument(server):
    _, target = server
    example = tw.encode_example({"B1": np.zeros(H * W, np.float32)})
    bad = tw.encode_request({"input": np.array([example, b"\n\x05"], dtype=object)}, "GRPC_TF_TENSORS")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, bad)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "element 1" in info.value.details()
    shape = tw.encode_request({"B1": np.zeros((1, 8, 8, 1), np.float32)}, "GRPC_SERIALIZED_TF_EXAMPLES")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, shape)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "has 64 values per instance; example_shape [16, 16, 1] needs 256" in info.value.details()


@pytest.mark.parametrize("fmt", ["RAW_JSON", "GRPC_TF_TENSORS"])
def test_a_predict_fn_exception_is_a_500_with_its_message_and_the_server_lives(server, fmt):
    bad = tiles(2)
    bad["B2"][1, 0, 0, 0] = serve_models.REFUSED
    with client(server, fmt, retries=0) as c:
        with pytest.raises(tw.PredictionError, match="predict_fn raised RuntimeError: the model refuses -999") as info:
            c.predict(bad)
        assert info.value.status == (500 if fmt == "RAW_JSON" else "INTERNAL")
        short = tiles(3)
        short["B1"][0, 0, 0, 0] = serve_models.SHORT
        with pytest.raises(tw.PredictionError, match="predict_fn returned 2 predictions in output 'B1' for 3 instances"):
            c.predict(short)
        assert c.predict(tiles(2))["B3"].shape == (2, H, W, 1)


def test_bodies_over_the_limit_get_413_before_being_read(server):
    import socket
    from urllib.parse import urlsplit

    url, _ = server
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:  # headers, no body at all
        sock.sendall(f"POST {u.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 10000000\r\n\r\n".encode())
        answer = b""
        while b"limit of" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ") and b"limit of 4,194,304 bytes" in answer

    def chunks():  # no Content-Length: the server must stop reading once past the limit
        for _ in range(64):
            yield b" " * (128 << 10)

    r = urllib3.PoolManager().request("POST", url, body=chunks(), chunked=True, retries=False)
    assert r.status == 413
    with client(server, "ND_ARRAYS") as c:
        assert c.predict(np.ones((1, 2), np.float32))["output"].shape == (1, 2)


def test_grpc_messages_over_the_limit_get_resource_exhausted_and_are_not_retried(server):
    _, target = server
    body = tw.encode_request({"B1": np.zeros((1, (1 << 20) + 1), np.float32)}, "GRPC_TF_TENSORS")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, body)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    attempts = []
    with client(server, "GRPC_TF_TENSORS", backoff=2, max_payload_bytes=1 << 30,
                auth=lambda: attempts.append(1) or {}) as c:
        with pytest.raises(tw.PredictionError, match="larger than max") as exc:
            c.predict({"B1": np.zeros((1, (1 << 20) + 1), np.float32)})
        assert exc.value.status == "RESOURCE_EXHAUSTED" and len(attempts) == 1


def test_output_filter_picks_outputs_and_an_unknown_one_is_invalid_argument(server):
    with client(server, "GRPC_TF_TENSORS", output_filter=["B2"]) as c:
        assert list(c.predict(tiles(2))) == ["B2"]
    with client(server, "GRPC_TF_TENSORS", output_filter=["nope"], retries=0) as c:
        with pytest.raises(tw.PredictionError, match=r"output_filter names \['nope'\]") as info:
            c.predict(tiles(2))
        assert info.value.status == "INVALID_ARGUMENT"


def test_a_server_taking_one_format_reads_every_body_as_that_format():
    with running("serve_models:total", "--format", "ND_ARRAYS") as (url, target):
        assert target is None
        got = tw.Client(url, "ND_ARRAYS").predict(np.arange(6, dtype=np.float32).reshape(2, 3))
        np.testing.assert_array_equal(got["output"], np.arange(6, dtype=np.float32).reshape(2, 3))
        r = post(url, tw.encode_request(tiles(1), "SERIALIZED_TF_TENSORS"))
        assert r.status == 400 and "offset" in r.json()["error"], r.data


# ------------------------------------------------------------- an Earth Engine-ready TF model


@pytest.mark.oracle
@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS"])
def test_an_earth_engine_wrapped_tensorflow_model_answers(tf_server, fmt):
    batch = tiles(4, bands=("B1", "B2"), seed=3)
    with client(tf_server, fmt) as c:
        got = c.predict(batch)
    assert sorted(got) == ["diff", "sum"]
    np.testing.assert_array_equal(got["sum"], (batch["B1"] + batch["B2"]) * 2)
    np.testing.assert_array_equal(got["diff"], batch["B1"] - batch["B2"])


@pytest.fixture(scope="module")
def tf_server():
    with running("serve_tf_model:predict", "--pass-serialized", "--format", "SERIALIZED_TF_TENSORS",
                 "--format", "GRPC_SERIALIZED_TF_TENSORS", env={"TF_CPP_MIN_LOG_LEVEL": "3"}) as s:
        yield s


# ----------------------------------------------------------------- the client's behaviours


class Double(HttpDouble):
    """An HTTP server answering from a script: a list of (status, headers, body or None); None
    means "answer the request with affine's predictions".  Records each request."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        super().__init__(self._answer)

    def _answer(self, headers, body):
        self.requests.append((headers, body))
        status, headers, answer = self.script.pop(0) if self.script else (200, {}, None)
        if answer is None:
            inputs = tw.decode_request(body, "RAW_JSON")
            answer = tw.encode_response(serve_models.affine(inputs), "RAW_JSON")
        return status, headers, answer


def test_retries_429_and_503_with_backoff_and_retry_after(client_waits):
    script = [(503, {}, b'{"error": "warming up"}'), (429, {"Retry-After": "0.3"}, b"slow down")]
    with Double(script) as d, tw.Client(d.url, "RAW_JSON", backoff=0.01) as c:
        got = c.predict(tiles(2, bands=("B1",)))
        assert len(client_waits) == 2 and client_waits[0] <= 0.01 and client_waits[1] == 0.3, client_waits
        assert len(d.requests) == 3
        np.testing.assert_array_equal(got["output"], tiles(2, bands=("B1",))["B1"] * 2 + 1)


def test_retries_run_out_with_the_last_error():
    script = [(503, {}, b'{"error": "warming up"}')] * 3
    with Double(script) as d, tw.Client(d.url, "RAW_JSON", backoff=0.01, retries=2) as c:
        with pytest.raises(tw.PredictionError, match="warming up") as info:
            c.predict(tiles(1, bands=("B1",)))
        assert info.value.status == 503 and len(d.requests) == 3


def test_other_errors_are_not_retried_and_carry_the_servers_message():
    script = [(400, {}, b'{"error": {"code": 400, "message": "bad band"}}'), (404, {}, b"<html>no</html>")]
    with Double(script) as d, tw.Client(d.url, "RAW_JSON", backoff=0.01) as c:
        with pytest.raises(tw.PredictionError, match="^bad band$") as info:
            c.predict(tiles(1, bands=("B1",)))
        assert info.value.status == 400
        with pytest.raises(tw.PredictionError, match="^HTTP 404: <html>no</html>$"):
            c.predict(tiles(1, bands=("B1",)))
        assert len(d.requests) == 2


def test_an_error_body_with_200_and_a_wrong_count_are_reported():
    script = [(200, {}, b'{"error": "quota"}'), (200, {}, tw.encode_response({"B1": np.zeros((1, 2))}, "RAW_JSON"))]
    with Double(script) as d, tw.Client(d.url, "RAW_JSON") as c:
        with pytest.raises(tw.PredictionError, match="^quota$"):
            c.predict(tiles(2, bands=("B1",)))
        with pytest.raises(tw.DecodeError, match="output .output.: 1 predictions for a request of 2 instances"):
            c.predict(tiles(2, bands=("B1",)))


def test_headers_and_the_auth_hook_are_sent_on_every_attempt():
    tokens = iter(["t1", "t2"])
    script = [(503, {}, b"{}")]
    with Double(script) as d, tw.Client(d.url, "RAW_JSON", backoff=0.01, headers={"X-Goog-User-Project": "p"},
                                        auth=lambda: {"Authorization": f"Bearer {next(tokens)}"}) as c:
        c.predict(tiles(1, bands=("B1",)))
    assert [h["Authorization"] for h, _ in d.requests] == ["Bearer t1", "Bearer t2"]
    assert all(h["X-Goog-User-Project"] == "p" and h["Content-Type"] == "application/json" for h, _ in d.requests)


def test_split_requests_stay_under_the_limit_and_concurrency_keeps_the_order():
    batch = tiles(17, bands=("B1",), seed=5)
    with Double([]) as d, tw.Client(d.url, "RAW_JSON", max_payload_bytes=20_000, concurrency=3) as c:
        got = c.predict(batch)
    assert len(d.requests) > 3 and all(len(body) <= 20_000 for _, body in d.requests)
    assert sum(len(tw.decode_request(body, "RAW_JSON")["B1"]) for _, body in d.requests) == 17
    np.testing.assert_array_equal(got["output"], batch["B1"] * 2 + 1)  # one output: written bare


def test_grpc_unavailable_is_retried_then_reported(client_waits):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    attempts, waits = [], client_waits
    with tw.Client(f"127.0.0.1:{port}", "GRPC_TF_TENSORS", backoff=0.05, retries=2, timeout=5,
                   auth=lambda: attempts.append(1) or {}) as c:
        with pytest.raises(tw.PredictionError) as info:
            c.predict(tiles(1))
        assert info.value.status == "UNAVAILABLE"
    assert len(attempts) == 3  # the first attempt and two retries
    assert len(waits) == 2 and 0.05 * 0.5 <= waits[0] <= 0.05 and 0.1 * 0.5 <= waits[1] <= 0.1, waits


def test_grpc_metadata_carries_the_auth_headers():
    from concurrent import futures

    seen = []

    def predict(request, context):
        seen.append(dict(context.invocation_metadata()))
        return tw.encode_response(tw.decode_request(request, "GRPC_TF_TENSORS"), "GRPC_TF_TENSORS")

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService", {"Predict": grpc.unary_unary_rpc_method_handler(predict)}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with tw.Client(f"127.0.0.1:{port}", "GRPC_TF_TENSORS", auth=lambda: {"Authorization": "Bearer x"}) as c:
            got = c.predict({"B1": np.ones((2, 2), np.float32)})
        np.testing.assert_array_equal(got["B1"], np.ones((2, 2), np.float32))
        assert seen[0]["authorization"] == "Bearer x"
    finally:
        server.stop(None)


def test_client_options_are_checked_when_it_is_made():
    with pytest.raises(TypeError, match="unexpected option"):
        tw.Client("http://127.0.0.1:9/p", "RAW_JSON", model_name="m")
    with pytest.raises(ValueError, match="unknown payload format"):
        tw.Client("http://127.0.0.1:9/p", "json")


def test_serve_command_errors_are_usage_errors():
    for args, text in ((["nocolon"], b"expected MODULE:FUNCTION"), (["m:f", "--format", "json"], b"unknown payload format"),
                       (["m:f", "--example-shape", "16by16"], b"--example-shape")):
        done = subprocess.run([sys.executable, "-m", "tensorwire", "serve", *args], capture_output=True, check=False,
                              env={**os.environ, "PYTHONPATH": PACKAGE_ROOT})
        assert done.returncode != 0 and text in done.stderr, done.stderr


# ---------------------------------------------------------------- detection and server options


def strings_len(inputs):
    """Per instance, the length of each string input (for GRPC_TF_TENSORS string inputs)."""
    return {name: np.array([len(x) for x in a]) for name, a in inputs.items()}


def test_json_detection_tells_raw_json_strings_from_base64(server):
    url, _ = server
    raw = tw.encode_request({"B1": np.array([1.5, -2.5], np.float32)}, "RAW_JSON")  # {"B1": "1.5"}
    assert b'"1.5"' in raw
    got = tw.decode_response(post(url, raw).data, "RAW_JSON")
    np.testing.assert_array_equal(got["output"], [4.0, -4.0])
    one = tw.b64encode(tw.encode_tensor(np.ones((2, 2), np.float32)), urlsafe=True).decode()
    bare = f'{{"instances": ["{one}", {{"b64": "{one}"}}]}}'.encode()  # bare base64 instances
    got = tw.decode_response(post(url, bare).data, "SERIALIZED_TF_TENSORS")
    np.testing.assert_array_equal(got["output"], np.full((2, 2, 2), 3.0, np.float32))


def test_a_detected_format_the_server_does_not_take_is_named():
    with inproc(serve_models.total, formats=["RAW_JSON", "ND_ARRAYS", "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS"]) as srv:
        r = post(srv.http_url, tw.encode_request(tiles(1), "SERIALIZED_TF_TENSORS"))
        assert r.status == 400
        assert r.json()["error"] == ("the request looks like SERIALIZED_TF_TENSORS, which this server does not take "
                                     "(it takes RAW_JSON, ND_ARRAYS)")
    with inproc(serve_models.total, formats=["GRPC_SERIALIZED_TF_EXAMPLES", "GRPC_SERIALIZED_TF_TENSORS"]) as srv:
        with pytest.raises(grpc.RpcError) as info:
            grpc_call(srv.grpc_target, tw.encode_request(tiles(1), "GRPC_TF_TENSORS"))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == ("the request looks like GRPC_TF_TENSORS, which this server does not take "
                                        "(it takes GRPC_SERIALIZED_TF_EXAMPLES, GRPC_SERIALIZED_TF_TENSORS)")


def test_string_inputs_that_are_not_serialized_reach_predict_fn_as_bytes():
    with inproc(strings_len) as srv:
        body = tw.encode_request({"s": np.array([b"hello", b"", b"C"], dtype=object)}, "GRPC_TF_TENSORS")
        # b"hello" is neither an Example (0x0A) nor base64 of a TensorProto ("C..."): plain strings
        got = tw.decode_response(grpc_call(srv.grpc_target, body), "GRPC_TF_TENSORS")
        np.testing.assert_array_equal(got["s"], [5, 0, 1])


def test_grpc_tf_tensors_inputs_must_share_their_instance_axis():
    from tensorwire.codecs.rules.wire import encode_len_field

    def entry(name, array):  # an inputs map entry, as encode_request would not write these
        return encode_len_field(2, encode_len_field(1, name) + encode_len_field(2, tw.encode_tensor(array)))

    cases = [
        (entry(b"a", np.ones((2, 3))) + entry(b"b", np.ones((3, 3))), "inputs: 'b' has 3 instances, 'a' has 2"),
        (entry(b"a", np.float32(1)), "inputs: 'a' has no instance axis (a 0-d array)"),
    ]
    with inproc(serve_models.total) as srv:
        for body, message in cases:
            with pytest.raises(grpc.RpcError) as info:
                grpc_call(srv.grpc_target, body)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert message in info.value.details()


def test_requests_without_instances_are_400():
    with inproc(serve_models.total) as srv:
        r = post(srv.http_url, b'{"instances": []}')
        assert r.status == 400 and r.json() == {"error": "the request holds no instances"}
        with pytest.raises(grpc.RpcError) as info:
            grpc_call(srv.grpc_target, b"")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_any_failure_while_answering_is_a_500_with_a_message():
    with inproc(lambda inputs: [np.ones(2), np.ones(3)]) as srv:  # ragged: np.asarray refuses it
        r = post(srv.http_url, tw.encode_request(np.ones((2, 2), np.float32), "ND_ARRAYS"))
        assert r.status == 500 and r.json()["error"].startswith("predict_fn raised ValueError: setting an array")
        with pytest.raises(grpc.RpcError) as info:
            grpc_call(srv.grpc_target, tw.encode_request({"x": np.ones((2, 2), np.float32)}, "GRPC_TF_TENSORS"))
        assert info.value.code() == grpc.StatusCode.INTERNAL
    with inproc(lambda inputs: {"x": np.ones((2, 2), np.complex64) * 1j}) as srv:  # JSON has no complex numbers
        r = post(srv.http_url, tw.encode_request(np.ones((2, 2), np.float32), "ND_ARRAYS"))
        assert r.status == 500 and r.json()["error"].startswith("the predictions cannot be encoded")


def test_long_error_messages_are_cut_and_still_arrive_over_grpc():
    with inproc(serve_models.affine) as srv:
        with tw.Client(srv.grpc_target, "GRPC_TF_TENSORS", output_filter=[f"name{i}" for i in range(3000)],
                       retries=0) as c:
            with pytest.raises(tw.PredictionError, match=r"output_filter names .*more bytes\)$") as info:
                c.predict({"x": np.ones((1, 2), np.float32)})
        assert info.value.status == "INVALID_ARGUMENT" and 3900 < len(info.value.message) < 4100


def test_pass_serialized_refuses_bodies_of_many_tiny_values_and_non_text_answers():
    echo = lambda inputs: inputs["B1"]  # noqa: E731
    with inproc(echo, pass_serialized=True, formats=["SERIALIZED_TF_TENSORS"], max_decoded_bytes=1 << 20) as srv:
        body = b'{"instances": [' + b",".join([b'{"B1": ""}'] * 10_000) + b"]}"
        r = post(srv.http_url, body)
        assert r.status == 400 and "JSON values, more than max_decoded_bytes=1,048,576 allows" in r.json()["error"]
        good = tw.encode_request({"B1": np.ones((2, 3), np.float32)}, "SERIALIZED_TF_TENSORS")
        got = tw.decode_response(post(srv.http_url, good).data, "SERIALIZED_TF_TENSORS")
        np.testing.assert_array_equal(got["output"], np.ones((2, 3), np.float32))
        r = post(srv.http_url, b'{"instances": [{"B1": 5}]}')
        assert r.status == 400 and r.json()["error"] == "instances[0]['B1']: expected a base64 string, not int"
    with inproc(lambda inputs: np.array([b"\xff"], dtype=object), pass_serialized=True) as srv:
        r = post(srv.http_url, tw.encode_request({"B1": np.ones((1, 1), np.float32)}, "SERIALIZED_TF_TENSORS"))
        assert r.status == 500 and r.json()["error"].startswith("the predictions cannot be encoded")


def test_input_name_pins_the_examples_input():
    example = tw.encode_request({"B1": np.ones((1, 4), np.float32)}, "GRPC_SERIALIZED_TF_EXAMPLES")  # "input"
    with inproc(serve_models.total, input_name="inputs") as srv:
        with pytest.raises(grpc.RpcError) as info:
            grpc_call(srv.grpc_target, example)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "'inputs'" in info.value.details()
        ok = tw.encode_request({"B1": np.ones((1, 4), np.float32)}, "GRPC_SERIALIZED_TF_EXAMPLES", input_name="inputs")
        np.testing.assert_array_equal(tw.decode_response(grpc_call(srv.grpc_target, ok), "GRPC_TF_TENSORS")["output"],
                                      np.ones((1, 4), np.float32))


def test_max_concurrency_serialises_predict_fn_and_a_shared_client_keeps_order():
    active, peak, lock = [0], [0], threading.Lock()

    def slow(inputs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return inputs["instances"] * 2

    with inproc(slow, max_concurrency=1) as srv, tw.Client(srv.http_url, "ND_ARRAYS") as c:
        results = {}

        def one(i):
            results[i] = c.predict(np.full((2, 3), i, np.float32))["output"]

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 1
    for i in range(6):
        np.testing.assert_array_equal(results[i], np.full((2, 3), 2 * i, np.float32))


def test_past_max_pending_http_answers_503_which_the_client_retries():
    entered, release, retrying = threading.Event(), threading.Event(), threading.Event()
    attempts, results = [], {}

    def held(inputs):  # the first request stays in flight until the test releases it
        entered.set()
        release.wait(WAIT)
        return inputs["instances"]

    def attempt():  # the retrying client's auth hook, called once per attempt
        attempts.append(1)
        if len(attempts) == 2:  # the first attempt was answered, so the client is retrying
            retrying.set()
        return {}

    def predict(key, **kw):
        results[key] = tw.Client(srv.http_url, "ND_ARRAYS", **kw).predict(np.ones((1, 1)))

    with inproc(held, max_pending=1) as srv:
        try:
            first = threading.Thread(target=predict, args=("first",))
            first.start()
            assert entered.wait(WAIT)
            r = post(srv.http_url, tw.encode_request(np.ones((1, 1)), "ND_ARRAYS"))
            assert r.status == 503
            second = threading.Thread(target=predict, args=("retried",), kwargs={"backoff": 0.05, "retries": 8,
                                                                                  "auth": attempt})
            second.start()
            assert retrying.wait(WAIT)
        finally:
            release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert len(attempts) >= 2
    np.testing.assert_array_equal(results["retried"]["output"], np.ones((1, 1), np.float32))
    np.testing.assert_array_equal(results["first"]["output"], np.ones((1, 1), np.float32))


def test_a_taken_grpc_port_is_an_error_not_a_shared_port():
    with inproc(serve_models.total) as srv:
        port = int(srv.grpc_target.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="gRPC: cannot listen"):
            tw.serve(serve_models.total, host="127.0.0.1", http_port=0, grpc_port=port, block=False)


def test_timeouts_are_deadline_exceeded_on_both_transports():
    release, answered = threading.Event(), []

    def held(inputs):  # answers only once the test releases it: any answer before is impossible
        release.wait(WAIT)
        answered.append(1)
        return inputs["instances"] if "instances" in inputs else inputs["x"]

    with inproc(held) as srv:
        try:
            for target, fmt, x in ((srv.http_url, "ND_ARRAYS", np.ones((1, 1))),
                                   (srv.grpc_target, "GRPC_TF_TENSORS", {"x": np.ones((1, 1))})):
                attempts = []
                with tw.Client(target, fmt, timeout=0.2, retries=2, auth=lambda: attempts.append(1) or {}) as c:
                    with pytest.raises(tw.PredictionError) as info:
                        c.predict(x)
                assert info.value.status == "DEADLINE_EXCEEDED"
                assert not answered  # the client gave up at its timeout, not at the answer
                assert len(attempts) == 1, fmt  # a read timeout is not retried
        finally:
            release.set()


def test_nd_arrays_client_refuses_several_inputs():
    with tw.Client("http://127.0.0.1:9/p", "ND_ARRAYS") as c:
        with pytest.raises(ValueError, match="ND_ARRAYS sends one array per instance; got 2 inputs"):
            c.predict({"a": np.ones((2, 3)), "b": np.ones((2, 5))})


def test_dtype_applies_after_detection_so_serialized_grpc_requests_still_decode():
    with inproc(serve_models.total, dtype="float32") as srv:
        for fmt in GRPC:
            got = tw.Client(srv.grpc_target, fmt).predict({"B1": np.ones((2, 4), np.float32)})
            np.testing.assert_array_equal(got["output"], np.ones((2, 4), np.float32))
        with pytest.raises(tw.PredictionError, match="expected DT_FLOAT") as info:
            tw.Client(srv.grpc_target, "GRPC_TF_TENSORS", retries=0).predict({"B1": np.ones((2, 4), np.float64)})
        assert info.value.status == "INVALID_ARGUMENT"


def test_strings_that_only_look_serialized_fall_back_to_grpc_tf_tensors_when_it_is_taken():
    with inproc(strings_len, formats=["GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"]) as srv:
        body = tw.encode_request({"s": np.array([b"Cat", b"dog"], dtype=object)}, "GRPC_TF_TENSORS")
        got = tw.decode_response(grpc_call(srv.grpc_target, body), "GRPC_TF_TENSORS")
        np.testing.assert_array_equal(got["s"], [3, 3])


def test_non_ascii_error_messages_are_cut_by_bytes_and_still_arrive_over_grpc():
    def fail(inputs):
        raise ValueError("é" * 3000)

    with inproc(fail) as srv, tw.Client(srv.grpc_target, "GRPC_TF_TENSORS", retries=0) as c:
        with pytest.raises(tw.PredictionError, match=r"^predict_fn raised ValueError: é+\.\.\. \(\d+ more bytes\)$") as info:
            c.predict({"x": np.ones((1, 1), np.float32)})
        assert info.value.status == "INTERNAL" and len(info.value.message.encode()) < 1400


def test_max_pending_none_is_no_limit_and_zero_is_refused():
    with inproc(serve_models.total, max_pending=None) as srv:
        got = tw.Client(srv.http_url, "ND_ARRAYS").predict(np.ones((1, 2), np.float32))
        np.testing.assert_array_equal(got["output"], np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="max_pending must be at least 1"):
        tw.serve(serve_models.total, max_pending=0, block=False)


def test_stopping_at_once_logs_no_error(caplog):
    import logging

    with caplog.at_level(logging.ERROR):
        with inproc(serve_models.total) as srv:
            tw.Client(srv.http_url, "ND_ARRAYS").predict(np.ones((1, 2), np.float32))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_an_empty_batch_is_refused_by_the_client():
    with tw.Client("http://127.0.0.1:9/p", "RAW_JSON") as c:
        with pytest.raises(ValueError, match="no instances"):
            c.predict({"B1": np.ones((0, 3))})


def test_import_tensorwire_does_not_import_the_serving_stack():
    code = ("import sys, tensorwire; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'grpc', 'urllib3') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": PACKAGE_ROOT})
    assert done.stdout.strip() == "[]"
    assert callable(tw.Client) and callable(tw.serve)


# ------------------------------------------------------- fuzzing the transport-independent part

ECHO = Model(lambda inputs: inputs)  # every format; answers each input as the output of its name


def answer(handle, body):
    """"ok", or the Failure's status and message; any other exception fails the test."""
    try:
        handle(body)
    except Failure as exc:
        return exc.status, exc.message
    return "ok", ""


@given(S.mutated_json_requests())
def test_any_json_body_gets_predictions_or_a_400(body):
    status, message = answer(ECHO.handle_json, body)
    assert status in ("ok", "bad_request"), message


@given(st.sampled_from(["tensors", "serialized_tensors", "examples"]), st.data())
def test_any_grpc_request_gets_predictions_or_an_invalid_argument(layout, data):
    body = data.draw(S.mutated_grpc_requests(layout))
    status, message = answer(ECHO.handle_grpc, body)
    assert status in ("ok", "bad_request"), message
