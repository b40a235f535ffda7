"""The model server and the client, over real HTTP and real gRPC on loopback.

The server runs in a subprocess (``python -m tensorwire serve``) on ports it picks itself and
names in its ready line.  Predictions are compared with calling the served function directly
(``serve_models``).  Client behaviours that need a misbehaving server (retries, splitting,
headers) are checked against small test doubles in this process.
"""

import contextlib
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import urllib3

import serve_models
import tensorwire as tw
from tensorwire import PayloadFormat as F

HERE = Path(__file__).parent
PACKAGE_ROOT = str(Path(tw.__file__).parent.parent)  # the server runs the tensorwire these tests import
READY = re.compile(r"on HTTP (\S+?)(?:; gRPC on (\S+))?$")
H = W = 16
SHAPE = f"{H}x{W}x1"
JSON = ["SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS"]
GRPC = ["GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"]
PREDICT = "/tensorflow.serving.PredictionService/Predict"


@contextlib.contextmanager
def running(target, *args, env=None, timeout=120):
    """``(http_url, grpc_target)`` of ``python -m tensorwire serve target *args`` while open;
    on close, SIGTERM must stop it cleanly (exit 0) within 20 s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorwire", "serve", target, "--host", "127.0.0.1", "--http-port", "0",
         "--grpc-port", "0", *args],
        cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, str(HERE)])},
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    try:
        if not lines or not READY.search(lines[0].strip()):
            proc.kill()
            raise AssertionError(f"no ready line from the server: {lines}; stderr: {proc.communicate()[1][-3000:]}")
        m = READY.search(lines[0].strip())
        yield m.group(1), m.group(2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("the server did not stop on SIGTERM") from None
    assert proc.returncode == 0, proc.stderr.read()[-3000:]


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


def client(server, fmt, **kw):
    url, target = server
    return tw.Client(target if fmt.startswith("GRPC") else url, fmt, **kw)


def post(url, body, headers=None):
    return urllib3.PoolManager().request("POST", url, body=body, headers=headers or {}, retries=False)


def grpc_call(target, body):
    with grpc.insecure_channel(target) as channel:
        return channel.unary_unary(PREDICT)(body, timeout=30)


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


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "ND_ARRAYS", "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"])
def test_a_batch_over_max_payload_bytes_is_split_and_reassembled_in_order(server, fmt):
    batch = tiles(23, seed=1)
    with client(server, fmt, max_payload_bytes=40_000) as c:
        one = len(tw.encode_request(inputs_for(fmt, {k: v[:1] for k, v in batch.items()}), fmt))
        assert one < 40_000 < len(tw.encode_request(inputs_for(fmt, batch), fmt))
        got = c.predict(inputs_for(fmt, batch))
    name = "output" if fmt == "ND_ARRAYS" else "B1"
    np.testing.assert_array_equal(got[name], batch["B1"] * 2 + 1)


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
    (b'{"instances": [{"B1": "!!!"}]}', "B1"),
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
    body = tw.encode_request({"B1": np.zeros((2, 3), np.float32)}, "GRPC_TF_TENSORS")
    strings = np.array([b"AAAA", b"@@@"], dtype=object)
    bad = tw.encode_request({"B1": strings}, "GRPC_TF_TENSORS")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, bad)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "element" in info.value.details()
    assert grpc_call(target, body)


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
    url, _ = server
    big = b"x" * ((4 << 20) + 1)
    r = post(url, big)
    assert r.status == 413 and "limit of 4,194,304 bytes" in r.json()["error"]

    def chunks():  # no Content-Length: the server must stop reading once past the limit
        for _ in range(64):
            yield b" " * (128 << 10)

    r = urllib3.PoolManager().request("POST", url, body=chunks(), chunked=True, retries=False)
    assert r.status == 413
    with client(server, "ND_ARRAYS") as c:
        assert c.predict(np.ones((1, 2), np.float32))["output"].shape == (1, 2)


def test_grpc_messages_over_the_limit_get_resource_exhausted(server):
    _, target = server
    body = tw.encode_request({"B1": np.zeros((1, 1 << 20 + 1), np.float32)}, "GRPC_TF_TENSORS")
    with pytest.raises(grpc.RpcError) as info:
        grpc_call(target, body)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


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


class Double:
    """An HTTP server answering from a script: a list of (status, headers, body or None); None
    means "answer the request with affine's predictions".  Records each request."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        double = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                double.requests.append((dict(self.headers), body))
                status, headers, answer = double.script.pop(0) if double.script else (200, {}, None)
                if answer is None:
                    inputs = tw.decode_request(body, "RAW_JSON")
                    answer = tw.encode_response(serve_models.affine(inputs), "RAW_JSON")
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/predict"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_retries_429_and_503_with_backoff_and_retry_after():
    script = [(503, {}, b'{"error": "warming up"}'), (429, {"Retry-After": "0.3"}, b"slow down")]
    with Double(script) as d, tw.Client(d.url, "RAW_JSON", backoff=0.01) as c:
        t = time.perf_counter()
        got = c.predict(tiles(2, bands=("B1",)))
        assert time.perf_counter() - t >= 0.3
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


def test_grpc_unavailable_is_retried_then_reported():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tw.Client(f"127.0.0.1:{port}", "GRPC_TF_TENSORS", backoff=0.05, retries=2, timeout=5) as c:
        t = time.perf_counter()
        with pytest.raises(tw.PredictionError) as info:
            c.predict(tiles(1))
        assert info.value.status == "UNAVAILABLE"
        assert time.perf_counter() - t >= 0.05 * 0.5 + 0.1 * 0.5


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
        tw.Client("http://127.0.0.1:9/p", "JSON")


def test_serve_command_errors_are_usage_errors():
    for args, text in ((["nocolon"], b"expected MODULE:FUNCTION"), (["m:f", "--format", "JSON"], b"unknown payload format"),
                       (["m:f", "--example-shape", "16by16"], b"--example-shape")):
        done = subprocess.run([sys.executable, "-m", "tensorwire", "serve", *args], capture_output=True, check=False,
                              env={**os.environ, "PYTHONPATH": PACKAGE_ROOT})
        assert done.returncode != 0 and text in done.stderr, done.stderr
