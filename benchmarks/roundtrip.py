"""Round trips per second, tensorwire vs protobuf + json/base64: ``python benchmarks/roundtrip.py
[--requests K] [--samples S] [--formats F,F] [--json]``.

One complete round trip per request, over loopback: the client encodes one 256x256x12 float32
tile (the demo's, ``tensorwire._demo.make_tile``: twelve bands ``B1``..``B12`` of
``(1, 256, 256, 1)``, or one ``(1, 256, 256, 12)`` array for ND_ARRAYS), POSTs it (HTTP, the
JSON formats) or calls ``PredictionService/Predict`` (gRPC), the server decodes it, calls
``serve_models:double`` (``x * 2`` per band), encodes the predictions, and the client decodes
them.  Two sides, each a server subprocess plus a client in this process:

* **tensorwire**: ``python -m tensorwire serve serve_models:double`` (all six formats,
  ``--example-shape 256x256x1``) and ``tensorwire.Client(target, format,
  max_payload_bytes=64 MiB, retries=0)``.  One tile is over Earth Engine's 1,500,000-byte
  default ``max_payload_bytes`` in every format, so the client's limit is raised to keep one
  tile one request (as the baseline sends it).
* **protobuf+json/base64** (the baseline, ``peer_server.py``): the same stack (Starlette +
  uvicorn, grpcio; same routes, ports, thread pools and limits) with handlers and a client
  (:class:`peer_server.PeerClient`, urllib3 / the generated ``PredictionServiceStub``) written
  the way a user would today: ``json``, ``base64``, TensorFlow's generated protobuf classes,
  ``np.frombuffer`` / ``np.asarray``.

Before anything is timed, every format's exchange is checked once per side against
``serve_models.double`` applied directly (``np.array_equal``, names, shapes and dtypes), and
once crossed (tensorwire's client against the baseline server and the baseline client against
tensorwire's server), which checks that the two sides speak the same bytes.  Then, per format
and side, one more warm-up request, and ``S`` samples of ``K`` back-to-back requests; the
samples go round all formats and the two sides in turn (the order of the sides alternating),
so a burst of noise on this shared machine spreads over everything instead of spoiling one
cell.  Reported: the best sample's requests/s per side (noise only ever slows a sample down),
the ratio, and the mean ms per request over every timed request.  ``K`` defaults to as many
requests as take about ``--sample-seconds`` (0.75 s) by the warm-up's time, from 1 (the
baseline's RAW_JSON round trip takes seconds) to 200; ``--requests K`` fixes it.  The default
run takes about two minutes here (2 CPUs).  The garbage collector stays on (the baseline's JSON lists
make it run, which is part of its cost).  The two servers are always stopped (SIGTERM, then
kill), on failure and on Ctrl-C or SIGTERM too.
"""

import argparse
import json
import math
import os
import platform
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import peer_server  # noqa: E402
from load import (FORMATS, ServerProcess, expected_outputs, keep_freed_memory, mismatch, serve_models,  # noqa: E402,I001
                  tensorwire_server, tile_inputs)

TILE_SHAPE = (256, 256, 12)
CLIENT_MAX_PAYLOAD_BYTES = 64 << 20
SIDES = ("tensorwire", "baseline")
LABELS = {"tensorwire": "tensorwire", "baseline": "protobuf+json/base64"}
PREDICT = serve_models().double


def make_tile(shape=TILE_SHAPE):
    """The batch-first ``(1, H, W, C)`` tile: the demo's 256x256x12 tile, or a seeded one of ``shape``."""
    if tuple(shape) == TILE_SHAPE:
        from tensorwire._demo import make_tile as demo_tile

        return demo_tile(batch=1)
    return np.random.default_rng(0).standard_normal((1, *shape), dtype=np.float32)


def start_tensorwire(shape=TILE_SHAPE, wait=True):
    """``python -m tensorwire serve serve_models:double``, all six formats, on loopback."""
    return tensorwire_server("double", example_shape=(shape[0], shape[1], 1), wait=wait)


def start_peer(shape=TILE_SHAPE, wait=True):
    """``peer_server.py serve_models:double``, all six formats, on loopback."""
    argv = [os.path.join(HERE, "peer_server.py"), "serve_models:double", "--host", "127.0.0.1", "--http-port", "0",
            "--grpc-port", "0", "--example-shape", f"{shape[0]}x{shape[1]}x1"]
    return ServerProcess("peer_server.py", argv, wait=wait)


def start_both(shape=TILE_SHAPE):
    """``{"tensorwire": ServerProcess, "baseline": ServerProcess}``, started side by side."""
    servers = {}
    try:
        servers["baseline"] = start_peer(shape, wait=False)  # the slower start (it imports TensorFlow)
        servers["tensorwire"] = start_tensorwire(shape, wait=False)
        for server in servers.values():
            server.wait_ready()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def make_client(side, fmt, server):
    """A client of ``side`` for ``fmt``, talking to ``server`` (either side's)."""
    if side == "tensorwire":
        import tensorwire

        return tensorwire.Client(server.target(fmt), fmt, timeout=120.0, retries=0,
                                 max_payload_bytes=CLIENT_MAX_PAYLOAD_BYTES)
    return peer_server.PeerClient(server.target(fmt), fmt, timeout=120.0)


def request_bytes(side, fmt, inputs):
    if side == "tensorwire":
        import tensorwire

        return len(tensorwire.encode_request(inputs, fmt))
    return peer_server.request_bytes(inputs, fmt)


def check(label, expected, got):
    problem = mismatch(expected, got)
    if problem:
        raise AssertionError(f"{label}: wrong predictions: {problem}")


class Cell:
    """One format on one side: its client, call, and samples."""

    def __init__(self, side, fmt, server, inputs):
        self.side = side
        self.format = fmt
        self.client = make_client(side, fmt, server)
        self.inputs = inputs
        self.requests = None
        self.samples = []  # seconds per request, one entry per sample
        self.timed_seconds = 0.0
        self.timed_requests = 0
        self.bytes = request_bytes(side, fmt, inputs)

    def call(self):
        return self.client.predict(self.inputs)

    def sample(self):
        start = time.perf_counter()
        for _ in range(self.requests):
            self.client.predict(self.inputs)
        seconds = time.perf_counter() - start
        self.samples.append(seconds / self.requests)
        self.timed_seconds += seconds
        self.timed_requests += self.requests

    def result(self):
        best = min(self.samples)
        return {"requests_per_second": 1 / best, "best_ms_per_request": best * 1e3,
                "mean_ms_per_request": self.timed_seconds / self.timed_requests * 1e3,
                "samples": len(self.samples), "requests_per_sample": self.requests, "request_bytes": self.bytes}


def _log(text):
    print(text, file=sys.stderr, flush=True)


def run(args, shape=TILE_SHAPE):
    tile = make_tile(shape)
    started = time.perf_counter()
    loadavg_start = _loadavg()
    servers = start_both(shape)
    try:
        _log(f"servers: {servers['tensorwire'].ready_line}\n         {servers['baseline'].ready_line}")
        cells = {}
        for fmt in args.formats:
            inputs = tile_inputs(tile, fmt)
            expected = expected_outputs(PREDICT, inputs)
            for side in SIDES:
                _log(f"checking {fmt} [{LABELS[side]}] ...")
                cell = cells[fmt, side] = Cell(side, fmt, servers[side], inputs)
                check(f"{fmt}, {LABELS[side]}", expected, cell.call())
                other = "baseline" if side == "tensorwire" else "tensorwire"
                with make_client(side, fmt, servers[other]) as crossed:
                    check(f"{fmt}, {LABELS[side]} client -> {LABELS[other]} server", expected,
                          crossed.predict(inputs))
                start = time.perf_counter()
                cell.call()  # warm-up, timed to size the samples
                warm = time.perf_counter() - start
                cell.requests = args.requests or min(200, max(1, math.ceil(args.sample_seconds / warm)))
        for s in range(args.samples):
            _log(f"sample {s + 1}/{args.samples} ...")
            for fmt in args.formats:
                for side in (SIDES if s % 2 == 0 else SIDES[::-1]):
                    cells[fmt, side].sample()
        for server in servers.values():
            if not server.alive():
                raise RuntimeError(f"{server.name} died during the run{server.stderr_tail()}")
    finally:
        for server in servers.values():
            server.stop()
    rows = []
    for fmt in args.formats:
        tw, base = cells[fmt, "tensorwire"].result(), cells[fmt, "baseline"].result()
        rows.append({"format": fmt, "tensorwire": tw, "baseline": base,
                     "ratio": tw["requests_per_second"] / base["requests_per_second"]})
    for cell in cells.values():
        cell.client.close()
    import tensorwire

    meta = {
        "command": "python benchmarks/roundtrip.py " + " ".join(sys.argv[1:] if args.argv is None else args.argv),
        "tile": f"{'x'.join(map(str, shape))} float32, one instance",
        "tensorwire": tensorwire.__version__, "backend": tensorwire.backend(),
        "python": platform.python_version(), "versions": _versions(), "cpus": os.cpu_count(),
        "platform": platform.platform(), "loadavg_1min_at_start": loadavg_start, "loadavg_1min_at_end": _loadavg(),
        "samples": args.samples, "requests": args.requests, "sample_seconds": args.sample_seconds,
        "client_max_payload_bytes": CLIENT_MAX_PAYLOAD_BYTES,
        "servers": {side: servers[side].ready_line for side in SIDES},
        "malloc": args.malloc,
        "seconds": time.perf_counter() - started,
    }
    return {"meta": meta, "rows": rows}


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _versions():
    out = {}
    for name in ("numpy", "protobuf", "grpcio", "starlette", "uvicorn", "urllib3", "tensorflow-cpu",
                 "tensorflow-serving-api"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # noqa: BLE001 - not installed under that name
            pass
    return out


def markdown(report):
    m = report["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    k = f"{m['requests']}" if m["requests"] else f"auto (~{m['sample_seconds']:g} s a sample, 1..200; last column)"
    lines = [
        f"Round trips over loopback, one {m['tile']} per request: client encode, HTTP POST or gRPC call, "
        "server decode, `serve_models:double`, server encode, client decode.",
        "",
        f"tensorwire {m['tensorwire']} (backend {m['backend']}); Python {m['python']}; {versions}; "
        f"{m['cpus']} CPUs; load average {m['loadavg_1min_at_start']} at start, {m['loadavg_1min_at_end']} at end; "
        f"{m['samples']} samples of K={k} sequential requests per cell, sides interleaved; "
        f"req/s = best sample, ms/req = mean of all timed requests; run took {m['seconds']:.0f} s.",
        f"Malloc, in this process and both servers: {m['malloc']}.",
        "",
        "| format | tensorwire req/s | protobuf+json/base64 req/s | ratio | tensorwire ms/req | "
        "protobuf+json/base64 ms/req | request bytes (tensorwire / baseline) | K |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in report["rows"]:
        tw, base = r["tensorwire"], r["baseline"]
        lines.append(f"| {r['format']} | {tw['requests_per_second']:.1f} | {base['requests_per_second']:.2f} | "
                     f"{r['ratio']:.1f}× | {tw['mean_ms_per_request']:.1f} | {base['mean_ms_per_request']:.1f} | "
                     f"{tw['request_bytes']:,} / {base['request_bytes']:,} | "
                     f"{tw['requests_per_sample']} / {base['requests_per_sample']} |")
    lines += [
        "",
        f"tensorwire side: `python -m tensorwire serve` + `tensorwire.Client(..., max_payload_bytes="
        f"{m['client_max_payload_bytes']:,})`: the tile's request is over Earth Engine's default "
        "max_payload_bytes of 1,500,000 in every format, so the limit is raised to send it as one request "
        "(as the baseline does).",
        "Baseline side: `benchmarks/peer_server.py` (Starlette + uvicorn, grpcio) and its `PeerClient`: "
        "json/base64 + TensorFlow's generated protobuf classes + numpy.",
        "Every exchange was checked against `serve_models.double` applied directly, on each side and crossed "
        "(each client against the other side's server).",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None, metavar="K",
                        help="requests per sample (default: auto, about --sample-seconds a sample, 1..200)")
    parser.add_argument("--samples", type=int, default=5, metavar="S", help="samples per format and side (default 5)")
    parser.add_argument("--sample-seconds", type=float, default=0.75,
                        help="what an automatic K aims a sample at, seconds (default 0.75)")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help="comma-separated payload formats (default: all six)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    args.argv = argv
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in args.formats if f not in FORMATS]
    if unknown or not args.formats:
        parser.error(f"--formats: unknown {unknown}; one of {', '.join(FORMATS)}")
    if args.samples < 1 or (args.requests is not None and args.requests < 1):
        parser.error("--samples and --requests must be at least 1")
    args.malloc = keep_freed_memory(parser)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # stop the servers on the way out
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else markdown(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
