"""``python -m tensorwire bench``: :func:`tensorwire.bench.bench` and :func:`~tensorwire.bench.bench_local`
from the shell.

Decisions:

- TARGET is given once or twice: an ``http(s)://`` predict URL for the JSON formats, a gRPC
  ``host:port`` (``grpcs://host:port`` for TLS) for the gRPC ones; ``--local`` takes none.
- Durations are seconds, with an optional unit: ``10``, ``10s``, ``500ms``, ``2m``.
- ``--header 'Name: value'`` (repeat) goes with every request, HTTP header or gRPC metadata;
  header values never appear in the report or its JSON (they are often credentials).
- The text report goes to stdout, or to stderr when ``--json -`` puts the JSON on stdout.
- Ctrl-C: the report of what was measured so far is printed (and written: --json, --plot),
  marked INTERRUPTED, and the exit status is 130.
- The process keeps freed large blocks (``tensorwire._malloc.keep_freed_memory``, switch
  ``TENSORWIRE_MALLOPT``), as ``serve`` and the benchmark tools do: megabyte bodies and arrays
  made and freed per call would otherwise be fresh pages every time; the JSON's
  ``settings.malloc`` says what was in force.  The Python API leaves the process as it is.
- Exit status: 0 every call succeeded and passed the checks; 1 some failed; 2 bad arguments;
  130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from ..payload import PayloadFormat

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def duration(text: str) -> float:
    """Seconds from ``10``, ``10s``, ``500ms``, ``2m`` or ``1h`` (argparse type)."""
    m = _DURATION.match(text)
    if not m or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration such as 10s or 500ms, not {text!r}")
    return float(m[1]) * _UNITS[m[2]]


def tile(text: str) -> tuple[int, ...]:
    """``256x256x12`` -> (256, 256, 12); ``HxW`` is one band (argparse type)."""
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) == 2:
        dims = (*dims, 1)
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected HxWxC such as 256x256x12, not {text!r}")
    return dims


def counts(text: str) -> list[int]:
    """``1,2,4,8`` -> [1, 2, 4, 8] (argparse type)."""
    try:
        values = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected counts of at least 1 such as 1,2,4,8, not {text!r}")
    return values


def header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError("expected 'Name: value'")
    return name.strip(), value.strip()


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to ``commands`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = commands.add_parser(
        "bench",
        help="load-test a model endpoint in Earth Engine's payload formats (or the codecs alone: --local)",
        description=(
            "Send tiles to TARGET in each --format, at each --concurrency, for --duration or --requests, and "
            "report per format and concurrency: requests/s, tiles/s, MB/s of request payload, latency "
            "p50/p90/p99/max, errors by kind and request size.  Answers are checked for count and shape, and "
            "with --echo for values.  --local measures the same calls with no server (codec cost only).  "
            "Ctrl-C prints what was measured so far.  Needs the 'bench' extra; --plot needs the 'plot' extra (matplotlib)."
        ),
    )
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="the predict URL (http(s)://..., JSON formats) and/or gRPC host:port (gRPC formats)")
    p.add_argument("--local", action="store_true",
                   help="no server: answer each request in-process with the server's handler around an echo model")
    p.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                   help="a payload format to measure (repeat to compare; default: SERIALIZED_TF_TENSORS for a URL, "
                        "GRPC_TF_TENSORS for host:port, Earth Engine's six with --local)")
    p.add_argument("--tile", type=tile, default=(256, 256, 12), metavar="HxWxC",
                   help="each instance's size, sent as C bands of HxWx1 (default: 256x256x12)")
    p.add_argument("--dtype", default="float32", help="the tile's dtype (default: float32)")
    p.add_argument("--batch", type=int, default=1, metavar="N", help="tiles per call (default: 1)")
    p.add_argument("--concurrency", type=counts, default=[1], metavar="C1,C2,...",
                   help="threads sending at once; a list is a sweep (default: 1)")
    p.add_argument("--duration", type=duration, default=None, metavar="T",
                   help="time per format and concurrency, e.g. 10s (default: 10s; with --requests: no limit but "
                        "--max-time)")
    p.add_argument("--requests", type=int, default=None, metavar="N",
                   help="calls per format and concurrency, in all threads together")
    p.add_argument("--max-time", type=duration, default=3600.0, metavar="T",
                   help="with --requests and no --duration: the most a level may take (default: 1h)")
    p.add_argument("--warmup", type=int, default=1, metavar="N",
                   help="checked, uncounted calls per thread before each measurement (default: 1)")
    p.add_argument("--max-payload-bytes", type=int, default=1_500_000, metavar="N",
                   help="split a batch into requests of at most N bytes, as Earth Engine does (default: 1,500,000)")
    p.add_argument("--timeout", type=duration, default=30.0, metavar="T", help="per call (default: 30s)")
    p.add_argument("--header", type=header, action="append", default=[], metavar="'NAME: VALUE'",
                   help="send with every request (repeat), e.g. 'Authorization: Bearer ...'")
    p.add_argument("--model-name", default=None, help="gRPC formats: the PredictRequest's model name")
    p.add_argument("--signature-name", default=None, help="gRPC formats: the PredictRequest's signature name")
    p.add_argument("--echo", action="store_true",
                   help="the model returns its inputs (tensorwire serve tensorwire.bench:echo): check values too")
    p.add_argument("--json", default=None, metavar="FILE", help="write the report as JSON to FILE (- for stdout)")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="draw latency against throughput per format")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress line on stderr (default: when stderr is a terminal)")
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``bench`` as parsed; the exit status (module docstring)."""
    from . import EE_FORMATS, bench, bench_local, write_plot

    from .._malloc import describe, keep_freed_memory

    try:
        keep_freed_memory()
    except ValueError as exc:
        parser.error(str(exc))
    if args.plot:
        try:
            import matplotlib  # noqa: F401  - checked before the run, not after it
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'tensorwire[plot]'")
    try:
        formats = None if not args.formats else [PayloadFormat.of(f) for f in args.formats]
    except ValueError as exc:
        parser.error(str(exc))
    options: dict[str, Any] = {k: v for k, v in (("model_name", args.model_name),
                                                 ("signature_name", args.signature_name)) if v is not None}
    common: dict[str, Any] = dict(tile=args.tile, dtype=args.dtype, batch=args.batch, concurrency=args.concurrency,
                                  duration=args.duration, requests=args.requests, warmup=args.warmup,
                                  max_payload_bytes=args.max_payload_bytes, echo=args.echo, progress=args.progress,
                                  log=sys.stderr, max_time=args.max_time)
    try:
        if args.local:
            if args.targets or args.header or options:
                parser.error("--local takes no TARGET, --header, --model-name or --signature-name")
            common["echo"] = True  # its own echo model: values are always checked
            report = bench_local(formats or EE_FORMATS, **common)
        else:
            if not args.targets:
                parser.error("give TARGET (a predict URL and/or gRPC host:port), or --local")
            report = bench(args.targets, formats, timeout=args.timeout, headers=dict(args.header), **common, **options)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    report.settings["malloc"] = describe()
    out = sys.stderr if args.json == "-" else sys.stdout
    print(report.text(), file=out, flush=True)
    if args.json:
        text = json.dumps(report.to_json(), indent=2)
        if args.json == "-":
            print(text, flush=True)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    if args.plot:
        write_plot(report, args.plot)
    if report.interrupted:
        return 130
    return 0 if report.passed else 1
