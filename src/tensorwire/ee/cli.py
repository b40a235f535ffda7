"""``python -m tensorwire predict-image``: run ``tensorwire.ee.Model.predict_image`` from the shell.

The image comes from an Earth Engine TFRecord export (``--export PREFIX`` or the shard files,
read with ``read_ee_image_bands``; ``--mixer`` or the prefix's own ``*mixer.json``) or from
``.npy`` files (``--band-file NAME=path.npy``, one ``(H, W)`` array each).  The predictions go
to ``--out`` (``.npy`` for a single output band, ``.npz`` for any number, keyed by band name)
or to ``--out-prefix`` as TFRecord patches + mixer that Earth Engine ingests (``write_image``).

Decisions:

- Output bands are given as ``NAME:DTYPE`` or ``NAME:DTYPE:DIMS`` (``DIMS`` as in
  ``ee.Model``'s ``outputBands``: 0 for a scalar band, 1 for an array-valued one).
- ``--out-prefix``: an array-valued output band ``(H, W, k)`` is written as ``k`` bands
  ``NAME_0`` ... ``NAME_{k-1}`` (write_image takes 2-D bands).  The mixer's projection is the
  input export mixer's when the image came from ``--export`` and the predictions have the
  export's height and width (same grid); otherwise the placeholder, and a note on stderr.
- ``--export`` with one argument: an existing file is that one file; anything else is a prefix
  whose shards ``files_for_prefix`` finds (``P-00000.tfrecord.gz`` or ``P00000...``).
- ``--overlap`` is Earth Engine's ``inputOverlapSize``, the total per axis (tensorwire.ee.model
  explains the reading): a tile of 128 with ``--overlap 16`` reaches the model as 144 × 144.
- ``--property NAME=VALUE``: VALUE is read as JSON when it parses (numbers, true/false),
  else kept as a string.
- Exit status: 0 done; 1 the model or the export failed (the message on stderr); 2 bad
  arguments (argparse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._answers import DTYPE_NAMES


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``predict-image`` subcommand to ``commands`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = commands.add_parser(
        "predict-image",
        help="predict an image (EE TFRecord export or .npy bands) through a model, as ee.Model.predictImage does",
        description=(
            "Cut an image into tiles of --tile pixels plus --overlap pixels per axis (half on each edge), send them to TARGET "
            "(a predict URL for the JSON formats, host:port for gRPC) in --format, check and stitch the "
            "answers (tensorwire.ee.Model.predict_image), and write the predicted bands to --out (.npy / "
            ".npz) or --out-prefix (TFRecord patches + mixer for `earthengine upload image`)."
        ),
    )
    p.add_argument("target", metavar="TARGET", help="predict URL (HTTP formats) or host:port (gRPC formats)")
    p.add_argument("--format", required=True, metavar="FORMAT", help="payload format, e.g. SERIALIZED_TF_TENSORS")
    p.add_argument("--tile", type=int, required=True, metavar="N", help="input tile size in pixels (square)")
    p.add_argument("--overlap", type=int, default=0, metavar="N",
                   help="Earth Engine's inputOverlapSize: pixels added per axis, half on each edge, so even "
                        "(a 128 tile with --overlap 16 reaches the model as 144x144; default: 0)")
    p.add_argument("--fill", type=float, default=0.0, metavar="V",
                   help="the value of pixels outside the image in edge tiles (default: 0)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds per request (default: the Client's)")
    p.add_argument("--output-tile", type=int, default=None, metavar="N",
                   help="output tile size (default: --tile; 2x --tile for a 2x upsampling model)")
    p.add_argument("--output-band", action="append", required=True, metavar="NAME:DTYPE[:DIMS]",
                   help="an output band the model answers (repeat), e.g. class:uint8 or prob:float32:1")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--export", nargs="+", metavar="PREFIX_OR_FILE",
                     help="an EE TFRecord export: its prefix, or its shard files in order")
    src.add_argument("--band-file", action="append", metavar="NAME=PATH.npy",
                     help="an input band from a .npy file of shape (H, W) (repeat, in the model's band order)")
    p.add_argument("--mixer", default=None, help="the export's mixer.json (default: PREFIX-mixer.json or PREFIXmixer.json)")
    p.add_argument("--bands", default=None, metavar="B1,B2,...",
                   help="--export: the bands to send, in this order (default: every band, sorted by name)")
    p.add_argument("--kernel-size", type=int, default=None, metavar="K",
                   help="--export: the export's kernelSize (default: inferred from the first patch)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", metavar="FILE.npy|FILE.npz", help="write the predictions as .npy (one band) or .npz")
    out.add_argument("--out-prefix", metavar="PREFIX",
                     help="write the predictions as EE TFRecord patches PREFIX-00000.tfrecord.gz ... + PREFIX-mixer.json")
    p.add_argument("--patch", type=int, default=256, metavar="N", help="--out-prefix: patch size (default: 256)")
    p.add_argument("--overwrite", action="store_true", help="--out-prefix: replace an earlier image with that prefix")
    p.add_argument("--property", action="append", default=[], metavar="NAME=VALUE",
                   help="a property sent with every tile instance (repeat)")
    p.add_argument("--max-payload-bytes", type=int, default=None, metavar="N",
                   help="the largest request (default: tensorwire.ee.Model's)")
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="requests in flight at once (default: tensorwire.ee.Model's)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show a progress bar (default: when stderr is a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def output_band(spec: str) -> tuple[str, Any]:
    """``NAME:DTYPE[:DIMS]`` -> ``(name, dtype)`` or ``(name, (dtype, dims))``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"--output-band: expected NAME:DTYPE or NAME:DTYPE:DIMS, not {spec!r}")
    if parts[1] not in DTYPE_NAMES:
        raise ValueError(f"--output-band {spec!r}: dtype must be one of {', '.join(DTYPE_NAMES)}")
    dtype = np.dtype(parts[1]).type
    if len(parts) == 2:
        return parts[0], dtype
    try:
        dims = int(parts[2])
    except ValueError:
        dims = -1
    if dims < 0:
        raise ValueError(f"--output-band {spec!r}: DIMS must be a non-negative integer")
    return parts[0], (dtype, dims)


def properties(specs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        if not sep or not name:
            raise ValueError(f"--property: expected NAME=VALUE, not {spec!r}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if not isinstance(value, (str, int, float, bool)):
            value = text  # a JSON list or object is not a property value: the text itself
        out[name] = value
    return out


def _band_files(specs: Sequence[str]) -> dict[str, NDArray[Any]]:
    bands: dict[str, NDArray[Any]] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--band-file: expected NAME=PATH.npy, not {spec!r}")
        if name in bands:
            raise ValueError(f"--band-file: band {name!r} given twice")
        array = np.load(path, allow_pickle=False)
        if array.ndim != 2:
            raise ValueError(f"--band-file {spec!r}: expected a (height, width) array, got shape {array.shape}")
        bands[name] = array
    return bands


def _export(args: argparse.Namespace) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
    from ..ee_export import files_for_prefix, load_mixer, mixer_for_prefix, read_ee_image_bands

    given: list[str] = args.export
    if len(given) == 1 and not os.path.isfile(given[0]):
        files = files_for_prefix(given[0])
        mixer_path = args.mixer or mixer_for_prefix(given[0])
    else:
        files = given
        if args.mixer is None:
            raise ValueError("--export with shard files needs --mixer")
        mixer_path = args.mixer
    mixer = load_mixer(mixer_path)
    bands = None if args.bands is None else [b for b in args.bands.split(",") if b]
    return read_ee_image_bands(files, mixer, bands=bands, kernel_size=args.kernel_size), mixer


def _write(args: argparse.Namespace, predicted: Mapping[str, NDArray[Any]], shape: tuple[int, int],
           mixer: Mapping[str, Any] | None) -> None:
    if args.out is not None:
        if args.out.endswith(".npz"):
            savez: Any = np.savez  # numpy's stub types the keyword arrays as its own flags
            savez(args.out, **dict(predicted))
        elif args.out.endswith(".npy"):
            if len(predicted) != 1:
                raise ValueError(f"--out {args.out!r}: {len(predicted)} output bands need a .npz file")
            np.save(args.out, next(iter(predicted.values())))
        else:
            raise ValueError(f"--out {args.out!r}: expected a .npy or .npz file name")
        return
    from .image_write import write_image

    bands: dict[str, NDArray[Any]] = {}
    for name, array in predicted.items():
        if array.ndim == 2:
            bands[name] = array
        else:  # (H, W, k): k bands NAME_0 ... NAME_{k-1}
            for i in range(array.shape[-1]):
                bands[f"{name}_{i}"] = array[..., i]
    out_shape = next(iter(bands.values())).shape
    projection = None
    if mixer is not None and "projection" in mixer and tuple(out_shape) == shape:
        projection = mixer["projection"]
    elif mixer is not None:
        print(f"tensorwire: the predictions are {out_shape[0]}x{out_shape[1]}, the export {shape[0]}x{shape[1]}: "
              "the mixer gets the projection placeholder; fill it in before uploading", file=sys.stderr)
    written = write_image(bands, args.out_prefix, patch_dimensions=(args.patch, args.patch), projection=projection,
                          overwrite=args.overwrite)
    print(f"tensorwire: wrote {len(written.files)} TFRecord file(s) and {written.mixer_path}", file=sys.stderr)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the parsed ``predict-image`` command; returns the exit status."""
    from ..errors import DecodeError, PredictionError
    from ..payload import PayloadFormat
    from .model import Model

    try:
        fmt = PayloadFormat.of(args.format)
        outputs = dict(output_band(spec) for spec in args.output_band)
        props = properties(args.property)
    except ValueError as exc:
        parser.error(str(exc))
    if args.tile < 1 or args.overlap < 0 or (args.output_tile is not None and args.output_tile < 1):
        parser.error("--tile and --output-tile must be positive, --overlap not negative")
    if args.overlap % 2:
        parser.error(f"--overlap {args.overlap}: the total per axis, half on each edge, so even")
    if args.out is not None and not args.out.endswith((".npy", ".npz")):
        parser.error(f"--out {args.out!r}: expected a .npy or .npz file name")
    if args.out is not None and args.out.endswith(".npy") and len(outputs) != 1:
        parser.error(f"--out {args.out!r}: {len(outputs)} output bands need a .npz file")
    try:
        if args.export is not None:
            bands, mixer = _export(args)
        else:
            bands, mixer = _band_files(args.band_file), None
        shape = next(iter(bands.values())).shape
        options: dict[str, Any] = {}
        for name in ("max_payload_bytes", "concurrency", "progress", "timeout"):
            if getattr(args, name) is not None:
                options[name] = getattr(args, name)
        with Model(args.target, fmt, input_tile_size=args.tile, input_overlap_size=args.overlap,
                   output_tile_size=args.output_tile, output_bands=outputs, fill=args.fill, **options) as model:
            predicted = model.predict_image(bands, properties=props or None)
        _write(args, predicted, (int(shape[0]), int(shape[1])), mixer)
    except (DecodeError, PredictionError, ValueError, OSError) as exc:
        print(f"tensorwire predict-image: {exc}", file=sys.stderr)
        return 1
    return 0
