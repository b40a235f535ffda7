"""Command line: ``python -m tensorwire <command>`` (also installed as the ``tensorwire`` script).

Commands:
  demo      round-trip a synthetic 256x256x12 float32 tile through every codec, with the Cython
            twins and the pure-Python reference, and print sizes and throughputs.
  inspect   say what a payload file (or stdin) is, and print name, dtype, shape, min, max, mean
            and NaN count of each of its arrays.
"""

import argparse
import sys


def _parser():
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
    return parser


def main(argv=None):
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
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
