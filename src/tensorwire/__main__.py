"""Command line: ``python -m tensorwire <command>`` (also installed as the ``tensorwire`` script).

Commands:
  demo      round-trip a synthetic 256x256x12 float32 tile through every codec, with the Cython
            twins and the pure-Python reference, and print sizes and throughputs.
  inspect   say what a payload file (or stdin) is, and print name, dtype, shape, min, max, mean
            and NaN count of each of its arrays.
  serve     host a Python function module:function as a model over HTTP (Vertex AI contract)
            and gRPC (TF Serving Predict), in the given payload formats.
  predict-image
            predict an image (Earth Engine TFRecord export or .npy bands) through a hosted model
            as ee.Model.predictImage does, to .npy/.npz or Earth Engine TFRecord (tensorwire.ee.cli).
  bench     load-test a model endpoint in Earth Engine's payload formats, or the codecs alone with
            --local: requests/s, tiles/s, MB/s, latency percentiles, errors (tensorwire.bench.cli).
  check     check an endpoint's answers to Earth Engine-shaped requests per payload format, and its
            refusals of hostile ones; pass/fail table, exit 0/1 (tensorwire.conformance.cli).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any


def _parser() -> argparse.ArgumentParser:
    from .server import DEFAULT_GRPC_PORT, DEFAULT_HOST  # serve()'s defaults (no serving stack imported)

    parser = argparse.ArgumentParser(
        prog="tensorwire",
        description="Fast, strict codecs for ML-serving payloads (TensorProto, base64, ...).",
    )
    parser.add_argument("--version", action="store_true", help="print the version and active backend, then exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="round-trip a synthetic tile through every codec and compare the two backends",
        description=(
            "Encode and decode a synthetic float32 256x256x12 tile with every codec, using both the "
            "Cython twins (tensorwire._native) and the pure-Python reference (tensorwire.codecs); "
            "check every round trip and that the twins' bytes are identical; print encoded sizes "
            "and throughputs (MB/s of the raw tile).  Exits non-zero if any check fails, or if the "
            "native twins are missing and TENSORWIRE_PURE_PYTHON=1 is not set."
        ),
    )
    demo.add_argument("--repeats", type=int, default=10, metavar="N",
                      help="time each call at most N times (fewer for slow calls) and keep the fastest (default: 10)")
    inspect = commands.add_parser(
        "inspect",
        help="detect a payload's kind and format and summarise its arrays",
        description=(
            "Read a payload (HTTP JSON request or response in SERIALIZED_TF_TENSORS, RAW_JSON or "
            "ND_ARRAYS, or a serialized gRPC PredictRequest/PredictResponse in any gRPC format), "
            "say which it is, and print a row per input or output: name, dtype, shape, min, max, "
            "mean and NaN count.  Exits 1 if the bytes are not a payload tensorwire knows."
        ),
    )
    inspect.add_argument("file", nargs="?", default="-", help="the payload file; - or nothing for stdin")
    serve = commands.add_parser(
        "serve",
        help="host module:function as a model over HTTP and gRPC",
        description=(
            "Import FUNCTION from MODULE and serve it: predict_fn(inputs: dict[str, ndarray]) -> ndarray | "
            "dict[str, ndarray], batch first.  HTTP follows the Vertex AI custom-container contract (port "
            "AIP_HTTP_PORT, routes AIP_PREDICT_ROUTE and AIP_HEALTH_ROUTE; defaults 8080, /predict, /health); "
            "gRPC serves tensorflow.serving.PredictionService/Predict when a gRPC format is taken.  Prints one "
            "line naming the URL and target once both listen; stops on Ctrl-C or SIGTERM.  Needs the "
            "'serving' extra (pip install 'tensorwire[serving]')."
        ),
    )
    serve.add_argument("target", metavar="MODULE:FUNCTION", help="the function to serve, e.g. mymodel:predict")
    serve.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                       help="a payload format to take (repeat for several; default: all seven); e.g. ND_ARRAYS")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})")
    serve.add_argument("--http-port", type=int, default=None,
                       help="HTTP port (default: AIP_HTTP_PORT or 8080; 0 picks a free one)")
    serve.add_argument("--grpc-port", type=int, default=DEFAULT_GRPC_PORT,
                       help=f"gRPC port (default: {DEFAULT_GRPC_PORT}; 0 picks a free one)")
    serve.add_argument("--input-name", default=None,
                       help="GRPC_SERIALIZED_TF_EXAMPLES: the input's name (default: whichever single input)")
    serve.add_argument("--example-shape", default=None, metavar="HxWxC",
                       help="GRPC_SERIALIZED_TF_EXAMPLES: reshape each feature to this per-instance shape, e.g. 256x256x1")
    serve.add_argument("--pass-serialized", action="store_true",
                       help="hand SERIALIZED_TF_TENSORS base64 texts to the function unparsed, and write its texts "
                            "back unchanged (Earth Engine-ready TensorFlow models)")
    serve.add_argument("--max-concurrency", type=int, default=None,
                       help="call the function from at most this many threads at once (default: no limit)")
    _limit_options(serve)
    serve.add_argument("--switch-interval", type=float, default=SWITCH_INTERVAL, metavar="S",
                       help="the interpreter's thread switch interval, seconds (default: %(default)s; "
                            "Python's own is 0.005)")
    serve.add_argument("--access-log", action="store_true", help="log every HTTP request")
    from .ee.cli import add_parser as add_predict_image

    add_predict_image(commands)
    from .bench.cli import add_parser as add_bench

    add_bench(commands)
    from .conformance.cli import add_parser as add_check

    add_check(commands)
    return parser


# The server process's thread switch interval.  A thread waiting for the GIL forces a switch
# after this long; with Python's 5 ms, a request's threads (event loop, worker) each waited up
# to 5 ms behind a decoder busy with a large body, several times per request.  Measured with
# benchmarks/hostile.py (the p99 of valid requests during the attack over the p99 before, two
# runs each, interleaved): 7.5x and 4.3x at 5 ms, 1.9x and 2.6x at 1 ms.
SWITCH_INTERVAL = 0.001

# The server's bounds as options: the defaults are tensorwire.server.Limits' own (read there,
# without importing the serving stack).
_LIMIT_HELP = {
    "max_body_bytes": "refuse request bodies and gRPC messages over this many bytes",
    "max_pending": "predict requests, and separately gRPC calls, handled at once; more get 503 / RESOURCE_EXHAUSTED",
    "max_buffered_bytes": "bytes of request bodies held at once; a body past it gets 503",
    "max_connections": "open HTTP connections; one more closes the one waiting longest without a request",
    "header_timeout": "seconds for a request head to arrive whole; past it 408 and the connection is closed",
    "body_timeout": "seconds for a request body to arrive whole after its head; past it 408, closed",
    "keep_alive_timeout": "seconds an idle HTTP connection stays open",
    "shutdown_grace": "seconds requests in flight get to finish after SIGTERM; past it 503 / UNAVAILABLE and exit",
}


def _limit_options(serve: argparse.ArgumentParser) -> None:
    import dataclasses

    from .server import DEFAULTS  # serve()'s

    for field in dataclasses.fields(DEFAULTS):
        default = getattr(DEFAULTS, field.name)
        kind = float if isinstance(default, float) else int
        serve.add_argument("--" + field.name.replace("_", "-"), type=kind, default=default, metavar="N",
                           help=f"{_LIMIT_HELP[field.name]} (default: {default:,})")


def _load(target: str, parser: argparse.ArgumentParser) -> Callable[..., Any]:
    import importlib

    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        parser.error(f"expected MODULE:FUNCTION, not {target!r}")
    try:
        obj: object = importlib.import_module(module)
    except ImportError as exc:
        parser.error(f"cannot import {module!r}: {exc}")
    for part in name.split("."):
        if not hasattr(obj, part):
            parser.error(f"{module!r} has no {name!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        parser.error(f"{target} is not callable")
    return obj


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ._malloc import keep_freed_memory

    from ._malloc import setting

    try:
        keep_freed_memory()  # TENSORWIRE_MALLOPT; see tensorwire._malloc
        give_back = setting() is not None  # TENSORWIRE_MALLOPT=0 turns both off
    except ValueError as exc:
        parser.error(str(exc))
    if not args.switch_interval > 0:
        parser.error("--switch-interval must be a positive number of seconds")
    sys.setswitchinterval(args.switch_interval)  # this process is the server's (see SWITCH_INTERVAL)
    sys.path.insert(0, "")  # MODULE may be a file in the current directory, as with uvicorn
    from .payload import PayloadFormat
    from .server import serve

    try:
        formats = None if not args.formats else [PayloadFormat.of(f) for f in args.formats]
    except ValueError as exc:
        parser.error(str(exc))
    shape: tuple[int, ...] | None = None
    if args.example_shape:
        try:
            shape = tuple(int(d) for d in args.example_shape.lower().split("x"))
        except ValueError:
            shape = ()
        if not shape or min(shape) < 1:
            parser.error(f"--example-shape: expected positive sizes such as 256x256x1, not {args.example_shape!r}")
    if args.max_concurrency is not None and args.max_concurrency < 1:
        parser.error("--max-concurrency must be at least 1")
    limits = {name: getattr(args, name) for name in _LIMIT_HELP}
    try:
        server = serve(_load(args.target, parser), formats=formats, host=args.host, http_port=args.http_port,
                       grpc_port=args.grpc_port, input_name=args.input_name, example_shape=shape,
                       pass_serialized=args.pass_serialized, max_concurrency=args.max_concurrency,
                       access_log=args.access_log, give_back_when_idle=give_back, block=False, **limits)
    except ValueError as exc:
        parser.error(str(exc))
    server.stop_on_sigterm()  # before the line below: whoever reads it may send SIGTERM at once
    taken = ", ".join(f.value for f in server.model.formats)
    grpc = f"; gRPC on {server.grpc_target}" if server.grpc_target else ""
    print(f"tensorwire: serving {args.target} ({taken}) on HTTP {server.http_url}{grpc}", flush=True)
    server.wait()
    busy = server.stats()["busy_workers"]
    if busy:
        # predict_fn calls still running past the grace (their answers were already sent as 503 /
        # UNAVAILABLE): Python cannot stop them, so the process ends without waiting for them.
        print(f"tensorwire: exiting with {busy} predict_fn call(s) still running after the "
              f"{server.limits.shutdown_grace:g} s grace", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tensorwire`` and of the ``tensorwire`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__, backend

        print(f"tensorwire {__version__} (backend: {backend()})")
        return 0
    if args.command == "demo":
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        from ._demo import run_demo

        return run_demo(repeats=args.repeats)
    if args.command == "inspect":
        from ._inspect import run

        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as f:
                data = f.read()
        return run(data, sys.stdout)
    if args.command == "serve":
        return _serve(args, parser)
    if args.command == "predict-image":
        from .ee.cli import run as predict_image

        return predict_image(args, parser)
    if args.command == "bench":
        from .bench.cli import run as run_bench

        return run_bench(args, parser)
    if args.command == "check":
        from .conformance.cli import run as check

        return check(args, parser)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
