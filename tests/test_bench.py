"""``python -m tensorwire bench`` and ``tensorwire.bench``: against ``tensorwire serve`` on loopback
(small tiles, about a second per level, so that CI stays fast), ``--local``, the answer checks,
exact request counts, Ctrl-C, and the argument parsing."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorwire as tw
from serving import PACKAGE_ROOT, inproc, running
from tensorwire.__main__ import main
from tensorwire._measure import random_array
from tensorwire.bench import _workload, bench, bench_local
from tensorwire.bench.cli import counts, duration, tile

LEVEL_FIELDS = {"format", "concurrency", "requests", "ok", "failed", "tiles", "wall_s", "requests_per_s", "tiles_per_s",
                "payload_mb_per_s", "response_mb_per_s", "latency_ms", "bodies", "request_bytes", "response_bytes",
                "errors", "error_examples", "warmup_errors", "interrupted"}
FORMATS = ["SERIALIZED_TF_TENSORS", "ND_ARRAYS", "GRPC_TF_TENSORS"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def echo_server():
    with running("tensorwire.bench:echo") as targets:
        yield targets


@pytest.fixture(scope="module")
def network_run(echo_server, tmp_path_factory):
    """One CLI run over three formats at concurrency 1 and 2: (exit status, JSON, text, PNG path)."""
    http, grpc = echo_server
    out = tmp_path_factory.mktemp("bench")
    args = ["bench", http, grpc, *(a for f in FORMATS for a in ("--format", f)), "--tile", "32x32x4",
            "--concurrency", "1,2", "--duration", "1s", "--echo", "--timeout", "10s", "--no-progress",
            "--json", str(out / "bench.json"), "--plot", str(out / "bench.png")]
    import contextlib
    import io

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status = main(args)
    return status, json.loads((out / "bench.json").read_text()), text.getvalue(), out / "bench.png"


def test_bench_reports_every_field_per_format_and_concurrency_with_no_errors(network_run):
    status, report, text, _ = network_run
    assert status == 0, text
    assert report["passed"] and not report["interrupted"]
    assert [(lv["format"], lv["concurrency"]) for lv in report["levels"]] == [(f, c) for f in FORMATS for c in (1, 2)]
    s = report["settings"]
    assert (s["tile"], s["dtype"], s["batch"], s["echo"]) == ("32x32x4", "float32", 1, True)
    for lv in report["levels"]:
        assert set(lv) == LEVEL_FIELDS
        assert lv["errors"] == {} and lv["warmup_errors"] == {} and lv["failed"] == 0
        assert lv["ok"] == lv["requests"] == lv["tiles"] > 0
        assert lv["bodies"] == lv["requests"]  # the warm-up calls (one per thread) are not counted
        lat = lv["latency_ms"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert lv["requests_per_s"] == pytest.approx(lv["ok"] / lv["wall_s"])
        assert lv["wall_s"] >= 1.0  # the level ran its duration (the last call ends after it)
        tile_inputs = _workload.tile_inputs(np.zeros((1, 32, 32, 4), np.float32), tw.PayloadFormat.of(lv["format"]))
        if lv["format"] != "ND_ARRAYS":  # the other two have a fixed size whatever the values
            assert lv["request_bytes"] == len(tw.encode_request(tile_inputs, lv["format"]))
        assert lv["payload_mb_per_s"] == pytest.approx(lv["request_bytes"] * lv["bodies"] / lv["wall_s"] / 1e6)
    for f in FORMATS:
        assert f in text
    assert "PASS" in text


def test_bench_plot_is_a_png_that_opens(network_run):
    *_, png = network_run
    data = png.read_bytes()
    assert data[:8] == PNG and len(data) > 10_000
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] >= 400 and pixels.shape[1] >= 700
    assert pixels.std() > 0.01  # not a blank canvas


def test_bench_local_reports_levels_and_codec_steps(tmp_path):
    out = tmp_path / "local.json"
    status = main(["bench", "--local", "--tile", "8x8x3", "--duration", "0.3s", "--no-progress", "--json", str(out),
                   "--plot", str(tmp_path / "local.png")])
    report = json.loads(out.read_text())
    assert status == 0 and report["passed"] and report["settings"]["local"] and report["settings"]["echo"]
    formats = [f.value for f in tw.bench.EE_FORMATS]
    assert [lv["format"] for lv in report["levels"]] == formats
    assert [st["format"] for st in report["stages"]] == formats
    for lv, st in zip(report["levels"], report["stages"]):
        assert lv["ok"] > 0 and lv["errors"] == {}
        assert all(st[k] > 0 for k in ("encode_request", "decode_request", "encode_response", "decode_response"))
        assert st["request_bytes"] > 0 and st["response_bytes"] > 0
    assert (tmp_path / "local.png").read_bytes()[:8] == PNG


def test_echo_check_catches_a_server_that_changes_values(tmp_path):
    # serve_models:affine answers 2x + 1: right count and shape, wrong values
    with running("serve_models:affine", "--format", "SERIALIZED_TF_TENSORS") as (http, _):
        plain = bench(http, tile=(8, 8, 2), requests=5, warmup=1, timeout=10)
        echoed = bench(http, tile=(8, 8, 2), requests=5, warmup=1, timeout=10, echo=True)
    assert plain.passed and plain.levels[0].ok == 5
    lv = echoed.levels[0]
    assert not echoed.passed
    assert (lv.requests, lv.ok, lv.errors, lv.warmup_errors) == (5, 0, {"wrong value": 5}, {"wrong value": 1})
    assert "values differ" in lv.error_examples["wrong value"]
    assert len(lv.latencies_ms) == 0  # failed calls are not in the latencies


def _two_instances_bytes():
    """The size of a request of two 16x16x2 instances: the limit that splits a batch of 4 in two."""
    two = _workload.tile_inputs(np.zeros((2, 16, 16, 2), np.float32), tw.PayloadFormat.SERIALIZED_TF_TENSORS)
    return len(tw.encode_request(two, "SERIALIZED_TF_TENSORS"))


@pytest.mark.parametrize(("concurrency", "batch", "max_payload_bytes", "bodies_per_call"), [
    (3, 1, 1_500_000, 1),
    (2, 4, _two_instances_bytes(), 2),  # each call's batch split in two requests, as Earth Engine does
])
def test_requests_n_sends_exactly_n(concurrency, batch, max_payload_bytes, bodies_per_call):
    lock = threading.Lock()
    seen = []

    def counting_echo(inputs):
        with lock:
            seen.append(len(next(iter(inputs.values()))))
        return inputs

    with inproc(counting_echo, formats=["SERIALIZED_TF_TENSORS"]) as srv:
        report = bench(srv.http_url, tile=(16, 16, 2), batch=batch, concurrency=[concurrency], requests=17, warmup=0,
                       max_payload_bytes=max_payload_bytes, timeout=10, echo=True)
    lv = report.levels[0]
    assert report.passed
    assert (lv.requests, lv.ok, lv.bodies) == (17, 17, 17 * bodies_per_call)
    assert len(seen) == 17 * bodies_per_call and sum(seen) == 17 * batch  # what the server received
    assert lv.to_json()["tiles"] == 17 * batch


def test_errors_are_counted_by_kind_when_nothing_listens():
    import socket

    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/predict"
        report = bench(url, tile=(4, 4, 1), requests=3, warmup=1, timeout=5)
    lv = report.levels[0]
    assert (lv.requests, lv.ok, lv.errors, lv.warmup_errors) == (3, 0, {"UNAVAILABLE": 3}, {"UNAVAILABLE": 1})
    assert lv.latency()["p50"] is None and not report.passed
    assert "3 x UNAVAILABLE: cannot reach" in report.text() and "1 x warm-up: UNAVAILABLE" in report.text()


def test_ctrl_c_prints_what_was_measured(echo_server):
    http, _ = echo_server
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tensorwire", "bench", http, "--tile", "8x8x1", "--duration", "60s",
                             "--timeout", "10s", "--no-progress", "--json", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
    lines = queue.Queue()
    err, out = [], []

    def pump():
        for line in proc.stderr:
            err.append(line)
            lines.put(line)

    readers = [threading.Thread(target=pump, daemon=True),
               threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)]
    for r in readers:
        r.start()
    try:
        while "measuring" not in lines.get(timeout=60):  # queue.Empty fails the test after 60 s
            pass
        threading.Event().wait(1.0)  # let it measure a little
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        for r in readers:
            r.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, "".join(err)[-2000:]
    report = json.loads("".join(out))
    assert report["interrupted"] and not report["passed"]
    (lv,) = report["levels"]
    assert lv["interrupted"] and lv["ok"] > 0 and lv["errors"] == {}
    assert lv["wall_s"] < 30  # stopped long before its 60 s
    assert any("INTERRUPTED" in line for line in err)


def test_answers_with_another_shape_than_the_first_are_counted():
    first = {"y": np.zeros((2, 3), np.float32)}
    expected = _workload.signature(first)
    _workload.check(first, {"y": np.zeros((2, 3), np.float32)}, expected, echo=True)
    with pytest.raises(_workload.AnswerError) as info:
        _workload.check({"y": np.zeros((2, 4), np.float32)}, {}, expected, echo=False)
    assert info.value.kind == "wrong shape"
    with pytest.raises(_workload.AnswerError) as info:
        _workload.check({"y": np.zeros((2, 3), np.float64)}, {}, expected, echo=False)
    assert info.value.kind == "wrong shape"
    with pytest.raises(_workload.AnswerError) as info:
        _workload.check({"y": np.ones((2, 3), np.float32)}, {"y": np.zeros((2, 3), np.float32)}, None, echo=True)
    assert info.value.kind == "wrong value"


def test_argument_parsing():
    assert duration("10") == duration("10s") == 10.0
    assert duration("500ms") == 0.5 and duration("2m") == 120.0
    assert tile("256x256x12") == (256, 256, 12) and tile("64x32") == (64, 32, 1)
    assert counts("1,2,4,8") == [1, 2, 4, 8]
    import argparse

    for parse, bad in ((duration, "0"), (duration, "ten"), (tile, "256x0x3"), (tile, "axb"), (counts, "0,1"),
                       (counts, "")):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(bad)


@pytest.mark.parametrize("args", [
    ["bench"],  # no target
    ["bench", "--local", "http://127.0.0.1:1/predict"],
    ["bench", "127.0.0.1:1", "--format", "ND_ARRAYS"],  # a JSON format needs a URL
    ["bench", "http://127.0.0.1:1/predict", "--tile", "256x256x12"],  # 4 MB in SERIALIZED_TF_TENSORS > 1.5 MB
    ["bench", "--local", "--dtype", "complex64", "--tile", "4x4x1"],
    ["bench", "--local", "--format", "NOPE"],
])
def test_bad_arguments_exit_2_before_sending(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_bench_local_api_with_batch_and_dtype():
    report = bench_local(["GRPC_TF_TENSORS", "RAW_JSON"], tile=(4, 4, 2), dtype="uint8", batch=3, requests=4,
                         concurrency=(1, 2), stages=False)
    assert report.passed and not report.stages
    assert [(lv.format, lv.concurrency, lv.ok, lv.ok * lv.batch) for lv in report.levels] == [
        ("GRPC_TF_TENSORS", 1, 4, 12), ("GRPC_TF_TENSORS", 2, 4, 12), ("RAW_JSON", 1, 4, 12), ("RAW_JSON", 2, 4, 12)]


def test_progress_line_counts_the_requests(capsys):
    report = bench_local(["GRPC_TF_TENSORS"], tile=(4, 4, 1), requests=50, progress=True, stages=False)
    err = capsys.readouterr().err
    assert report.passed and "GRPC_TF_TENSORS x1" in err and "50/50" in err


@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)),
       dtype=st.sampled_from(["float32", "float64", "int32", "uint8"]),
       fmt=st.sampled_from(list(tw.PayloadFormat.__members__)), data=st.data())
def test_echo_check_passes_echoed_inputs_and_fails_any_changed_value(shape, dtype, fmt, data):
    batch = random_array(shape, dtype, 1)
    inputs = _workload.tile_inputs(batch, tw.PayloadFormat.of(fmt))
    answer = {"output": inputs} if isinstance(inputs, np.ndarray) else {k: v.reshape(len(v), -1) for k, v in inputs.items()}
    _workload.check(answer, inputs, _workload.signature(answer), echo=True)  # reshaped per instance: still an echo
    name = data.draw(st.sampled_from(sorted(answer)))
    changed = {k: v.copy() for k, v in answer.items()}
    flat = changed[name].reshape(-1)
    flat[data.draw(st.integers(0, flat.size - 1))] += 1
    with pytest.raises(_workload.AnswerError) as info:
        _workload.check(changed, inputs, _workload.signature(answer), echo=True)
    assert info.value.kind == "wrong value"
