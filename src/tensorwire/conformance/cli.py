"""``python -m tensorwire check``: :func:`tensorwire.conformance.check_endpoint` from the shell.

Prints the report's table on stdout.  Exit status: 0 every format checked passed; 1 a format
failed (or none could be checked); 2 bad arguments (argparse's status).

Decisions:

- Bands are ``NAME``, ``NAME:DTYPE`` or ``NAME:DTYPE:K`` (default dtype float32; ``K`` makes an
  array band sent as ``(h, w, K)``); output bands ``NAME:DTYPE[:DIMS]`` as for
  ``predict-image``; properties ``NAME=VALUE`` read as JSON when they parse, else text.
- ``--header "Name: value"`` (repeatable) is sent with every request, for auth.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..ee._answers import DTYPE_NAMES


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand to ``commands`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = commands.add_parser(
        "check",
        help="check that an endpoint answers Earth Engine correctly, per payload format",
        description=(
            "Send TARGET the requests Earth Engine's ee.Model would send (bands as (h, w, 1) per instance, "
            "properties replicated, requests cut at --max-payload-bytes), check the answers as Earth Engine "
            "would (one prediction per instance, names, shapes, dtypes, no NaN unless --allow-nan), and send a "
            "few hostile bodies that must be refused with a 4xx {\"error\": ...} / INVALID_ARGUMENT.  Prints a "
            "pass/fail table per format; exit status 0 all pass, 1 any fails, 2 bad arguments."
        ),
    )
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="a predict URL (http[s]://..., the JSON formats) and/or host:port (the gRPC formats)")
    p.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                   help="a payload format to check (repeat; default: the Earth Engine formats the targets carry)")
    p.add_argument("--band", action="append", required=True, metavar="NAME[:DTYPE[:K]]",
                   help="an input band of the model (repeat, in order), e.g. B4 or B4:uint16; K for an array band")
    p.add_argument("--property", action="append", default=[], metavar="NAME=VALUE",
                   help="a property sent with every instance (repeat)")
    p.add_argument("--tile", type=int, required=True, metavar="N", help="input tile size in pixels (square)")
    p.add_argument("--overlap", type=int, default=0, metavar="N",
                   help="Earth Engine's inputOverlapSize, total per axis, even (default: 0)")
    p.add_argument("--output-tile", type=int, default=None, metavar="N", help="output tile size (default: --tile)")
    p.add_argument("--output-band", action="append", required=True, metavar="NAME:DTYPE[:DIMS]",
                   help="an output band the model must answer (repeat), e.g. class:uint8 or prob:float32:1")
    p.add_argument("--max-payload-bytes", type=int, default=1_500_000, metavar="N",
                   help="the largest request, Earth Engine's maxPayloadBytes (default: 1,500,000)")
    p.add_argument("--max-tiles", type=int, default=64, metavar="N",
                   help="the most tiles in the largest image sent (default: 64)")
    p.add_argument("--concurrency", type=int, default=1, metavar="N", help="requests in flight (default: 1)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for each answer (default: 30)")
    p.add_argument("--retries", type=int, default=0, metavar="N",
                   help="retries of a 429/503/UNAVAILABLE answer to a valid request (default: 0)")
    p.add_argument("--allow-nan", action="store_true", help="NaN is a valid value of float output bands")
    p.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="an HTTP header / gRPC metadata sent with every request (repeat), e.g. for auth")
    p.add_argument("--model-name", default=None, help="gRPC: the ModelSpec name (TF Serving needs it)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list every request and probe with what came back, not only the failures")
    return p


def band(spec: str) -> tuple[str, Any]:
    """``NAME[:DTYPE[:K]]`` -> ``(name, dtype)`` or ``(name, (dtype, k))``."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"--band: expected NAME, NAME:DTYPE or NAME:DTYPE:K, not {spec!r}")
    dtype = parts[1] if len(parts) > 1 else "float32"
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"--band {spec!r}: dtype must be one of {', '.join(DTYPE_NAMES)}")
    if len(parts) == 2 or len(parts) == 1:
        return parts[0], dtype
    try:
        k = int(parts[2])
    except ValueError:
        k = 0
    if k < 1:
        raise ValueError(f"--band {spec!r}: K must be a positive integer")
    return parts[0], (dtype, k)


def _headers(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        name, sep, value = spec.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header: expected 'NAME: VALUE', not {spec!r}")
        out[name.strip()] = value.strip()
    return out


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the parsed ``check`` command; returns the exit status."""
    from ..ee.cli import output_band, properties
    from .endpoint import check_endpoint

    options: dict[str, Any] = {}
    if args.model_name:
        options["model_name"] = args.model_name
    try:
        bands = dict(band(spec) for spec in args.band)
        outputs = dict(output_band(spec) for spec in args.output_band)
        props = properties(args.property)
        headers = _headers(args.header)
        if args.tile < 1 or args.overlap < 0 or (args.output_tile is not None and args.output_tile < 1):
            raise ValueError("--tile and --output-tile must be positive, --overlap not negative")
        if args.max_payload_bytes < 1 or args.retries < 0:
            raise ValueError("--max-payload-bytes must be positive, --retries not negative")
        report = check_endpoint(
            args.targets, args.formats, bands=bands, tile=args.tile, overlap=args.overlap,
            output_tile=args.output_tile, output_bands=outputs, properties=props or None,
            max_payload_bytes=args.max_payload_bytes, max_tiles=args.max_tiles, concurrency=args.concurrency,
            timeout=args.timeout, retries=args.retries, headers=headers, allow_nan=args.allow_nan, **options)
    except ValueError as exc:
        parser.error(str(exc))
    print(report.table(verbose=args.verbose), flush=True)
    sys.stdout.flush()
    return 0 if report.passed else 1
