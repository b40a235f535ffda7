"""``tensorwire.conformance.check_endpoint`` and ``python -m tensorwire check``.

Against ``tensorwire.serve`` on loopback (a model that answers what Earth Engine expects: every
format passes), against the same server hosting deliberately wrong models (wrong shape, dtype,
a missing output, NaN, a hang), and against small ``http.server`` and ``grpc`` endpoints that
break the protocol in ways ``serve`` never does (a wrong prediction count, 500 / INTERNAL on
garbage, garbage accepted, a malformed error body, a dropped connection, a hang).  Each failure must be named in the report.  Every wait is
bounded: the checks run with a timeout of a few seconds, the broken servers' hangs end when the
test does (or after 30 s).
"""

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorwire as tw
from serving import PACKAGE_ROOT, inproc
from tensorwire.__main__ import main
from tensorwire.conformance import EE_FORMATS, check_endpoint
from tensorwire.conformance._valid import grid_shape
from tensorwire.ee._tiling import Tiling

EE = [f.value for f in EE_FORMATS]
TILE, OVERLAP = 8, 4  # instances of 12 x 12 pixels; the model answers the 8 x 8 block in the middle
INSTANCE = TILE + OVERLAP
MODEL = {}  # "fn": what the shared server's model does
RELEASE = threading.Event()  # ends the hangs of the broken models and servers


def band_instances(inputs):
    """The band's instances ``(N, 12, 12)``: named B1, or unnamed (ND_ARRAYS), or flat in a tf.Example."""
    a = next(iter(inputs.values())) if len(inputs) == 1 else inputs["B1"]
    a = np.asarray(a, dtype=np.float32)
    return a.reshape(len(a), INSTANCE, INSTANCE)


def crop(inputs):
    """What Earth Engine expects: the block of each instance without its margin."""
    m = OVERLAP // 2
    return {"y": band_instances(inputs)[:, m:-m, m:-m]}


def dispatch(inputs):
    return MODEL["fn"](inputs)


@pytest.fixture(scope="module")
def server():
    """``[predict URL, gRPC target]`` of a server taking the six Earth Engine formats."""
    RELEASE.clear()
    with inproc(dispatch, formats=EE) as srv:
        yield [srv.http_url, srv.grpc_target]
    RELEASE.set()


@pytest.fixture
def model():
    def use(fn):
        MODEL["fn"] = fn

    use(crop)
    yield use
    MODEL["fn"] = crop


def check(targets, formats=None, **kwargs):
    kwargs.setdefault("bands", {"B1": np.float32})
    kwargs.setdefault("output_bands", {"y": np.float32})
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("max_payload_bytes", 20_000)
    return check_endpoint(targets, formats, tile=TILE, overlap=OVERLAP, **kwargs)


# ---------------------------------------------------------------------------- a good endpoint


def test_tensorwire_serve_passes_in_every_earth_engine_format(server, model):
    report = check(server)
    assert report.passed, report.table()
    assert [f.format.value for f in report.formats] == EE
    for f in report.formats:
        assert f.skipped is None and f.passed
        assert all(o.ok is True for o in f.outcomes), f.outcomes
        assert f.counts("valid") == (3, 3) and f.counts("hostile")[0] >= 4
        big = f.outcomes[1]  # the image cut at max_payload_bytes: a full request and another
        assert big.detail.endswith("in 2 request(s)"), big
        labels = [o.label for o in f.outcomes if o.kind == "hostile"]
        assert {"truncated body", "ragged instances"} <= set(labels)
    table = report.table()
    assert table.splitlines()[-1] == "all checked formats pass"
    assert "GRPC_SERIALIZED_TF_EXAMPLES" in table and "FAIL" not in table


def test_properties_and_array_bands_travel_as_earth_engine_sends_them(server, model):
    seen = []

    def fn(inputs):
        seen.append({k: np.asarray(v).shape for k, v in inputs.items()})
        m = OVERLAP // 2
        return {"y": np.asarray(inputs["B1"], np.float32)[:, m:-m, m:-m, 0],
                "v": np.asarray(inputs["B2"], np.float32)[:, m:-m, m:-m, :] * np.asarray(inputs["year"])[:, None, None,
                                                                                                          None]}

    model(fn)
    report = check(server[0], ["SERIALIZED_TF_TENSORS", "RAW_JSON"], bands={"B1": np.uint8, "B2": (np.float32, 3)},
                   properties={"year": 2024}, output_bands={"y": np.float32, "v": (np.float32, 1)})
    assert report.passed, report.table()
    assert seen[0] == {"B1": (1, 12, 12, 1), "B2": (1, 12, 12, 3), "year": (1,)}


def test_the_cli_exits_0_against_tensorwire_serve(server, model):
    proc = subprocess.run(
        [sys.executable, "-m", "tensorwire", "check", *server, "--band", "B1", "--tile", str(TILE),
         "--overlap", str(OVERLAP), "--output-band", "y:float32", "--timeout", "10", "--max-payload-bytes", "20000", "-v"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "all checked formats pass"
    for fmt in EE:
        assert any(line.startswith(fmt + " ") and line.endswith("pass") for line in lines), proc.stdout
    # -v: every check, with what came back
    assert sum(line.startswith("    ok   valid   one tile: 1 instance(s) in 1 request(s)") for line in lines) == 6
    assert sum(line.startswith("    ok   hostile truncated body: HTTP 400: ") for line in lines) == 3
    assert sum(line.startswith("    ok   hostile not protobuf: INVALID_ARGUMENT: ") for line in lines) == 3


def test_the_cli_exits_1_on_a_failure_and_2_on_bad_arguments(server, model, capsys):
    model(lambda inputs: {"y": crop(inputs)["y"][:, :-1]})
    args = [server[0], "--format", "RAW_JSON", "--band", "B1", "--tile", str(TILE), "--overlap", str(OVERLAP),
            "--output-band", "y:float32", "--timeout", "10"]
    assert main(["check", *args]) == 1
    out = capsys.readouterr().out
    assert "RAW_JSON" in out and "FAIL" in out and "has shape (7, 8) per instance; expected (8, 8)" in out
    for bad in (["--overlap", "3"], ["--band", "B1:complex64"], ["--format", "GRPC_TF_TENSORS"],
                ["--output-band", "y"]):
        with pytest.raises(SystemExit) as exc:
            main(["check", *args, *bad])
        assert exc.value.code == 2, bad
    assert "error:" in capsys.readouterr().err


def test_a_format_the_inputs_cannot_travel_in_is_skipped_or_refused(server, model):
    report = check(server[0], bands={"B1": np.float32, "B2": np.float32})
    nd = report.format("ND_ARRAYS")
    assert nd.skipped is not None and "one unnamed array" in nd.skipped and not nd.outcomes
    assert report.passed and "skipped: ND_ARRAYS instances carry one unnamed array" in report.table()
    with pytest.raises(ValueError, match="ND_ARRAYS"):
        check(server[0], ["ND_ARRAYS"], bands={"B1": np.float32, "B2": np.float32})
    texts = check(server[0], bands={"B1": np.float32, "B2": np.float32}, properties={"name": "x"})
    assert [f.skipped is not None for f in texts.formats] == [False, True, True]
    assert "RAW_JSON carries numbers only; string properties ['name']" in texts.table()
    with pytest.raises(ValueError, match="RAW_JSON carries numbers only"):
        check(server[0], ["RAW_JSON"], properties={"name": "x"})


# --------------------------------------------------------------------- wrong models (via serve)


def first_failures(report):
    """``{format: (label, detail)}`` of each format's first failed check."""
    return {f.format.value: (f.failures[0].label, f.failures[0].detail) for f in report.formats if f.failures}


@pytest.mark.parametrize("case", ["shape", "dtype", "missing", "nan"])
def test_a_wrong_answer_is_named_in_every_format(server, model, case):
    declared = {"y": np.uint8} if case == "dtype" else {"y": np.float32}
    if case == "missing":  # two outputs: the JSON formats write a single one bare, without its name
        declared = {"y": np.float32, "z": np.float32}
    if case == "shape":
        model(lambda inputs: {"y": crop(inputs)["y"][:, :, 1:]})
    elif case == "dtype":
        model(lambda inputs: {"y": crop(inputs)["y"] + 0.5})
    elif case == "missing":
        model(lambda inputs: {"y": crop(inputs)["y"], "w": crop(inputs)["y"]})
    else:
        def fn(inputs):
            y = crop(inputs)["y"]
            y[-1, 3, 3] = np.nan  # the last instance of each request
            return {"y": y}

        model(fn)
    report = check(server, output_bands=declared)
    assert not report.passed
    failures = first_failures(report)
    assert sorted(failures) == sorted(EE), report.table()
    expected = {
        "shape": "has shape (8, 7) per instance; expected (8, 8)",
        "dtype": "uint8",
        "missing": "output 'z' missing from the answer (it has ['w', 'y'])",
        "nan": "output 'y' holds NaN (first in instance 0 of the request",
    }[case]
    for fmt, (label, detail) in failures.items():
        assert label == "one tile" and detail.startswith("tile (0, 0): ") and expected in detail, (fmt, detail)
        f = report.format(fmt)
        assert [o.ok for o in f.outcomes if o.kind == "valid"] == [False, None, None]
        assert all(o.ok for o in f.outcomes if o.kind == "hostile"), f.outcomes  # the probes still ran and passed
    table = report.table()
    assert table.splitlines()[-1].startswith("FAIL: SERIALIZED_TF_TENSORS")
    assert "first failing request, 'one tile': tile (0, 0): " in table and "not run after that" in table
    if case == "dtype":  # a dtype travels in some formats, only number text in others
        assert "float32 does not convert to uint8 (same_kind casting)" in failures["GRPC_TF_TENSORS"][1]
        assert "is not representable in uint8" in failures["RAW_JSON"][1]


def test_nan_passes_when_allowed_and_a_later_request_is_named(server, model):
    def fn(inputs):
        y = crop(inputs)["y"]
        if len(y) > 1:
            y[1, 0, 0] = np.nan  # only in the large image: its first request
        return {"y": y}

    model(fn)
    assert check(server[0], ["SERIALIZED_TF_TENSORS"], allow_nan=True).passed
    f = check(server[0], ["SERIALIZED_TF_TENSORS"]).format("SERIALIZED_TF_TENSORS")
    label, detail = f.failures[0].label, f.failures[0].detail
    assert label.endswith("tiles, about 24 per request"), label
    assert detail.startswith("tiles (0, 0) to ") and "holds NaN (first in instance 1 of the request" in detail


def test_a_model_error_is_reported_with_its_status(server, model):
    def fn(inputs):
        raise RuntimeError("out of memory")

    model(fn)
    report = check(server, ["RAW_JSON", "GRPC_TF_TENSORS"])
    failures = first_failures(report)
    assert "predict_fn raised RuntimeError: out of memory [status 500]" in failures["RAW_JSON"][1]
    assert "predict_fn raised RuntimeError: out of memory [status INTERNAL]" in failures["GRPC_TF_TENSORS"][1]


def test_a_model_that_hangs_costs_one_timeout_per_format(server, model):
    def fn(inputs):
        RELEASE.wait(30)
        return crop(inputs)

    model(fn)
    try:
        report = check(server, ["RAW_JSON", "GRPC_TF_TENSORS"], timeout=1.5)
    finally:
        RELEASE.set()  # the calls still waiting return (the server's workers are free again)
    for fmt in ("RAW_JSON", "GRPC_TF_TENSORS"):
        f = report.format(fmt)
        label, detail = f.failures[0].label, f.failures[0].detail
        assert label == "one tile" and "DEADLINE_EXCEEDED" in detail, detail
        assert len([o for o in f.outcomes if o.ok is False]) == 1  # the probes never reach the model


# ------------------------------------------------------------- broken servers (http.server)


class Broken(http.server.BaseHTTPRequestHandler):
    """A SERIALIZED_TF_TENSORS endpoint that decodes like a server should and answers ``mode``'s way:

    ``count``: one prediction too many; ``500``: garbage gets 500 (a well-formed body);
    ``text``: garbage gets 400 with a plain-text body; ``drop``: garbage gets the connection
    closed without an answer; ``hang``: garbage gets no answer (until the test ends, 30 s at
    most); ``hang-all``: nothing gets an answer."""

    mode = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.mode == "hang-all":
            RELEASE.wait(30)
            self.close_connection = True
            return
        try:
            inputs = tw.decode_request(body, "SERIALIZED_TF_TENSORS")
        except tw.DecodeError as exc:
            if self.mode == "hang":
                RELEASE.wait(30)
                self.close_connection = True
                return
            if self.mode == "drop":
                self.close_connection = True
                return
            status, ctype = (500, "application/json") if self.mode == "500" else (400, "application/json")
            data = json.dumps({"error": str(exc)}).encode()
            if self.mode == "text":
                ctype, data = "text/plain", b"bad request"
            return self.answer(status, data, ctype)
        y = crop(inputs)["y"]
        if self.mode == "count":
            y = np.concatenate([y, y[:1]])
        self.answer(200, tw.encode_response({"y": y}, "SERIALIZED_TF_TENSORS"), "application/json")

    def answer(self, status, data, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def broken(mode):
    handler = type("Handler", (Broken,), {"mode": mode})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    RELEASE.clear()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/predict"
    finally:
        RELEASE.set()
        srv.shutdown()
        srv.server_close()
        thread.join(10)


def test_the_broken_servers_own_baseline_passes():
    """The handler in its plain mode is a conforming endpoint: the failures below are the modes'."""
    with broken("") as url:
        report = check(url, ["SERIALIZED_TF_TENSORS"])
    assert report.passed, report.table()


def test_a_wrong_prediction_count_is_named():
    with broken("count") as url:
        report = check(url, ["SERIALIZED_TF_TENSORS"])
    label, detail = first_failures(report)["SERIALIZED_TF_TENSORS"]
    assert label == "one tile"
    assert detail == ("tile (0, 0): the answer does not decode: output 'output': 2 predictions for a request "
                      "of 1 instances"), detail


@pytest.mark.parametrize("mode, expected", [
    ("500", "HTTP 500 (a server error, not a refusal)"),
    ("text", "HTTP 400 but the error body is not {\"error\": \"...\"}: 'bad request'"),
    ("drop", "connection dropped without an answer"),
])
def test_a_bad_refusal_is_named_for_every_probe(mode, expected):
    with broken(mode) as url:
        report = check(url, ["SERIALIZED_TF_TENSORS"])
    f = report.format("SERIALIZED_TF_TENSORS")
    hostile = [o for o in f.outcomes if o.kind == "hostile"]
    assert len(hostile) == 5 and all(o.ok is False and o.detail.startswith(expected) for o in hostile), hostile
    assert [o.ok for o in f.outcomes if o.kind == "valid"] == [True, True, True]  # valid requests still pass
    table = report.table()
    assert f"first failing probe, 'truncated body': {expected}" in table
    for o in hostile[1:]:  # named alone when what was wrong differs (the error text), else in one line
        assert (f"probe {o.label!r}: {expected}" in table
                or "the same for the probes 'not JSON', 'wrong member', 'ragged instances', 'bad base64'" in table)


def test_a_hang_on_garbage_is_named_and_ends_the_probes():
    with broken("hang") as url:
        report = check(url, ["SERIALIZED_TF_TENSORS"], timeout=1)
    f = report.format("SERIALIZED_TF_TENSORS")
    hostile = [o for o in f.outcomes if o.kind == "hostile"]
    assert hostile[0].ok is False and hostile[0].detail == "no answer within 1 s (a hang)"
    assert [o.ok for o in hostile[1:]] == [None] * 4
    assert f.outcomes[-1].ok is None and "not run after that" in report.table()


def test_a_server_that_never_answers_fails_within_its_timeouts():
    with broken("hang-all") as url:
        report = check(url, ["SERIALIZED_TF_TENSORS"], timeout=1)
    label, detail = first_failures(report)["SERIALIZED_TF_TENSORS"]
    assert label == "one tile" and "[status DEADLINE_EXCEEDED]" in detail
    assert report.format("SERIALIZED_TF_TENSORS").counts("hostile") == (0, 5)


def test_the_general_json_body_is_checked_when_named():
    """JSON is not an Earth Engine format: checked only when asked for, against a server taking it alone
    (a server that also takes RAW_JSON reads a named instance of numbers as RAW_JSON: docs/server.md)."""
    with inproc(crop, formats=["JSON"]) as srv:
        report = check(srv.http_url, ["JSON"])
        assert [f.format.value for f in check(srv.http_url).formats] == ["SERIALIZED_TF_TENSORS", "RAW_JSON",
                                                                          "ND_ARRAYS"]
    assert report.passed, report.table()
    probes = {o.label: o.detail for o in report.format("JSON").outcomes if o.kind == "hostile"}
    assert probes["bad base64"].startswith("HTTP 400: ") and "base64" in probes["bad base64"]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.integers(1, 64), st.integers(1, 64))
def test_the_large_image_holds_the_tiles_asked_for_and_edge_tiles(tiles, th, tw):
    (h, w), count = grid_shape(tiles, (th, tw))
    tiling = Tiling((h, w), (th, tw), (0, 0), (th, tw))
    assert tiling.count == count and tiles <= count < tiles + tiling.grid[1]
    rows, cols = tiling.grid  # the last row and column of tiles reach past the image (fill), unless 1 pixel
    assert (rows * th > h) == (th > 1) and (cols * tw > w) == (tw > 1)


def test_arguments_that_cannot_make_a_check_are_refused_before_sending():
    url = "http://127.0.0.1:9/predict"  # nothing listens: any request sent would fail the test differently
    for kwargs, match in [({"properties": {"B1": 1}}, "a band or a property"),
                          ({"bands": {}}, "at least one input band"),
                          ({"bands": {"B1": "U3"}}, "not a numeric dtype"),
                          ({"max_tiles": 1}, "max_tiles at least 2"),
                          ({"overlap": 3}, "must be even")]:
        with pytest.raises(ValueError, match=match):
            check_endpoint(url, ["RAW_JSON"], **{"bands": {"B1": np.float32}, "tile": TILE,
                                                 "output_bands": {"y": np.float32}, "overlap": 0, **kwargs})
    with pytest.raises(ValueError, match="GRPC_TF_TENSORS needs a host:port target"):
        check_endpoint(url, ["GRPC_TF_TENSORS"], bands={"B1": np.float32}, tile=TILE, output_bands={"y": np.float32})


@contextlib.contextmanager
def broken_grpc(mode):
    """A GRPC_TF_TENSORS endpoint that answers valid requests right and garbage ``mode``'s way:
    ``internal``: INTERNAL; ``accept``: OK with an empty PredictResponse."""
    import grpc
    from concurrent import futures

    def predict(body, context):
        try:
            inputs = tw.decode_request(body, "GRPC_TF_TENSORS")
        except tw.DecodeError as exc:
            if mode == "accept":
                return b""
            context.abort(grpc.StatusCode.INTERNAL, str(exc))
        return tw.encode_response(crop(inputs), "GRPC_TF_TENSORS")

    handler = grpc.method_handlers_generic_handler(
        "tensorflow.serving.PredictionService", {"Predict": grpc.unary_unary_rpc_method_handler(predict)})
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        srv.stop(0).wait(10)


@pytest.mark.parametrize("mode, expected", [
    ("internal", "INTERNAL, expected INVALID_ARGUMENT: "),
    ("accept", "OK: a hostile message was accepted"),
])
def test_a_grpc_endpoint_that_does_not_refuse_garbage_is_named(mode, expected):
    with broken_grpc(mode) as target:
        report = check(target, ["GRPC_TF_TENSORS"])
    f = report.format("GRPC_TF_TENSORS")
    assert [o.ok for o in f.outcomes if o.kind == "valid"] == [True, True, True], report.table()
    hostile = {o.label: o for o in f.outcomes if o.kind == "hostile"}
    assert all(o.ok is False for o in hostile.values()), hostile
    for label in ("truncated body", "not protobuf", "bad TensorProto"):  # what the decoder refuses
        assert hostile[label].detail.startswith(expected), hostile[label]
    # this endpoint's decoder takes inputs of different instance counts, and its model fails on no inputs
    assert hostile["ragged instances"].detail == "OK: a hostile message was accepted"
    assert hostile["no inputs"].detail.startswith("UNKNOWN, expected INVALID_ARGUMENT: ")
    assert f"first failing probe, 'truncated body': {expected}" in report.table()
