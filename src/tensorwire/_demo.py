"""``python -m tensorwire demo``: round-trip a synthetic image tile through every codec, twice.

Each codec runs once with the Cython twins (``tensorwire._native``) and once with the pure-Python
reference (``tensorwire.codecs``), both imported explicitly whatever ``tensorwire.backend()`` is.
Every encoding is decoded back and compared with the tile, and the twins' encodings are compared
with each other; any mismatch makes the command exit non-zero.  A missing twin is an error
unless ``TENSORWIRE_PURE_PYTHON=1`` is set, in which case only the reference is shown.

Timings are the minimum of a few ``time.perf_counter`` repeats (fewer for slow calls, so the demo
stays within a few seconds; ``tensorwire._measure.best_time``, which ``bench --local`` uses too);
they are a sketch, ``benchmarks/report.py`` is the measurement.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypedDict

import numpy as np
from numpy.typing import NDArray

from . import __version__, _backend, backend
from ._measure import best_time as _time
from ._measure import random_array
from ._measure import table as _table

TILE_SHAPE = (256, 256, 12)
SEED = 20240607
CODEC_MODULES = _backend.CODECS


def make_tile(batch: int | None = None, seed: int = SEED) -> NDArray[np.float32]:
    """The synthetic float32 256x256x12 tile used by the demo and the benchmarks.

    ``batch=8`` gives a batch of 8 such tiles (shape ``(8, 256, 256, 12)``).  Deterministic.
    """
    shape = TILE_SHAPE if batch is None else (batch, *TILE_SHAPE)
    return random_array(shape, np.float32, seed)


@dataclass(frozen=True)
class Codec:
    name: str
    encode: Callable[[Any, NDArray[Any]], Any]  # (impl, tile) -> encoded payload
    decode: Callable[[Any, Any], Any]  # (impl, payload) -> decoded object
    restore: Callable[[Any], Any]  # decoded object -> ndarray comparable with the tile
    needs: tuple[str, ...]  # the codec modules it calls
    crop: bool = False  # run on CROP of the tile: the reference writes JSON numbers at ~5 us each


CROP = (slice(0, 64), slice(0, 64))  # 64x64x12: 49,152 numbers


def _as_tile(raw: bytes) -> NDArray[np.float32]:
    return np.frombuffer(raw, dtype=np.float32).reshape(TILE_SHAPE)


def _same(x: Any) -> Any:
    return x


def _bands(tile: NDArray[Any]) -> dict[str, NDArray[Any]]:
    """The tile as Earth Engine sends it to a model: one float_list feature per band."""
    return {f"B{i}": tile[..., i] for i in range(tile.shape[-1])}


def _from_bands(features: Mapping[str, Any]) -> NDArray[Any]:
    return np.stack([features[f"B{i}"] for i in range(TILE_SHAPE[-1])], axis=-1).reshape(TILE_SHAPE)


def _tfrecord_bytes(m: Any, records: Iterable[bytes]) -> bytes:
    out = io.BytesIO()
    m.tfrecord.write_tfrecord(out, records)
    return out.getvalue()


CODECS = (
    Codec(
        "TensorProto (content form)",
        lambda m, a: m.tensor.encode_tensor(a, form="content"),
        lambda m, b: m.tensor.decode_tensor(b),
        _same,
        ("tensor",),
    ),
    Codec(
        "TensorProto (proto form)",
        lambda m, a: m.tensor.encode_tensor(a, form="proto"),
        lambda m, b: m.tensor.decode_tensor(b),
        _same,
        ("tensor",),
    ),
    Codec(
        "base64 standard",
        lambda m, a: m.base64.b64encode(a.tobytes()),
        lambda m, s: m.base64.b64decode(s, alphabet="standard"),
        _as_tile,
        ("base64",),
    ),
    Codec(
        "base64url, unpadded",
        lambda m, a: m.base64.b64encode(a.tobytes(), urlsafe=True, pad=False),
        lambda m, s: m.base64.b64decode(s, alphabet="urlsafe"),
        _as_tile,
        ("base64",),
    ),
    Codec(
        "SERIALIZED_TF_TENSORS request",
        lambda m, a: m.jsonbody.encode_body("instances", [("x", a[None])], bare=False, value_form="tensor"),
        lambda m, b: m.jsonbody.decode_body(b, "instances", value_form="tensor"),
        lambda d: d["x"][0],
        ("jsonbody",),
    ),
    Codec(
        "RAW_JSON request (64x64x12 crop)",
        lambda m, a: m.jsonbody.encode_body("instances", [("x", a[None])], bare=False, value_form="string"),
        lambda m, b: m.jsonbody.decode_body(b, "instances", value_form="number"),
        lambda d: d["x"][0],
        ("jsonbody",),
        crop=True,
    ),
    Codec(
        "ND_ARRAYS request (64x64x12 crop)",
        lambda m, a: m.jsonbody.encode_body("instances", [(None, a[None])], bare=True, value_form="number"),
        lambda m, b: m.jsonbody.decode_body(b, "instances", value_form="number", bare_name="instances"),
        lambda d: d["instances"][0],
        ("jsonbody",),
        crop=True,
    ),
    Codec(
        "tf.Example, 12 float_list bands",
        lambda m, a: m.example.encode_example(_bands(a)),
        lambda m, b: m.example.decode_example(b),
        _from_bands,
        ("example",),
    ),
    Codec(
        "TFRecord of the tf.Example",
        lambda m, a: _tfrecord_bytes(m, [m.example.encode_example(_bands(a))]),
        lambda m, b: m.example.decode_example(next(iter(m.tfrecord.read_tfrecord(io.BytesIO(b))))),
        _from_bands,
        ("example", "tfrecord"),
    ),
)


class Impl:
    """The codec modules of one implementation, imported explicitly (``.tensor``, ``.base64``)."""

    def __init__(self, package: str) -> None:
        self.missing: dict[str, str] = {}
        for codec in CODEC_MODULES:
            try:
                setattr(self, codec, importlib.import_module(f"{package}.{codec}"))
            except ImportError as exc:
                self.missing[codec] = f"{package}.{codec}: {exc}"

    def has(self, codec: Codec) -> bool:
        """Whether every module ``codec`` needs could be imported."""
        return not any(m in self.missing for m in codec.needs)



class _Result(TypedDict):
    encoded: bytes | None
    enc_s: float | None
    dec_s: float | None
    ok: bool
    error: str | None


def _run(codec: Codec, impl: Impl, tile: NDArray[Any], repeats: int, budget: float) -> _Result:
    """Encode/decode ``tile`` with one implementation; returns a dict of results.

    An exception from either call is a failed round trip (reported, not raised).
    """
    try:
        enc_s, encoded = _time(lambda: codec.encode(impl, tile), repeats, budget)
        dec_s, decoded = _time(lambda: codec.decode(impl, encoded), repeats, budget)
        restored = codec.restore(decoded)
    except Exception as exc:
        return {"encoded": None, "enc_s": None, "dec_s": None, "ok": False,
                "error": f"{type(exc).__name__}: {exc}"}
    ok = (
        isinstance(restored, np.ndarray)
        and restored.dtype == tile.dtype
        and restored.shape == tile.shape
        and np.array_equal(restored, tile)
    )
    return {"encoded": bytes(encoded), "enc_s": enc_s, "dec_s": dec_s, "ok": ok,
            "error": None if ok else "decoded tile differs"}


def _mbps(nbytes: int, seconds: float | None) -> float | None:
    """MB/s; None without a time (a failed round trip, which the callers leave out anyway)."""
    return None if seconds is None else nbytes / seconds / 1e6


def _cells(native_and_python: Sequence[float | None]) -> list[str]:
    """Table cells for one operation: native MB/s, python MB/s, native/python."""
    nat, ref = native_and_python
    ratio = f"{nat / ref:,.1f}x" if nat and ref else "n/a"
    return [f"{nat:,.0f}" if nat else "n/a", f"{ref:,.0f}" if ref else "n/a", ratio]



def run_demo(repeats: int = 10, budget: float = 0.25, out: TextIO | None = None) -> int:
    """Run the demo, print its table to ``out`` (stdout), and return the process exit status."""
    out = out or sys.stdout
    err = sys.stderr
    pure_requested = _backend.pure_requested()
    native = Impl("tensorwire._native")
    reference = Impl("tensorwire.codecs")

    print(f"tensorwire {__version__}   backend(): {backend()}", file=out)
    out.flush()  # keep stdout and stderr in order when both go to one terminal or file
    if reference.missing:  # cannot happen in a sane install, but never pretend
        print("ERROR: the pure-Python reference cannot be imported:", file=err)
        for msg in reference.missing.values():
            print(f"  {msg}", file=err)
        return 1
    if native.missing:
        bar = "!" * 78
        print(bar, file=err)
        print("NATIVE EXTENSION UNAVAILABLE: the Cython twins cannot be imported:", file=err)
        for msg in native.missing.values():
            print(f"  {msg}", file=err)
        if not pure_requested:
            print(
                "Build them (pip install . with a C compiler, or python setup.py build_ext --inplace),\n"
                f"or set {_backend.ENV_VAR}=1 to demo the pure-Python reference on its own.",
                file=err,
            )
            print(bar, file=err)
            return 1
        print(f"{_backend.ENV_VAR}=1 is set: showing the pure-Python reference only where a twin is missing.", file=err)
        print(bar, file=err)

    tile = make_tile()
    nbytes = tile.nbytes
    print(
        f"tile: float32 {'x'.join(map(str, tile.shape))}, {nbytes:,} bytes (seed {SEED}); "
        f"throughput is MB/s of the raw tile, min of up to {repeats} repeats",
        file=out,
    )
    print(file=out)

    failures: list[str] = []
    rows: list[list[str]] = []
    for codec in CODECS:
        sample = np.ascontiguousarray(tile[CROP]) if codec.crop else tile
        nbytes = sample.nbytes
        ref = _run(codec, reference, sample, repeats, budget)
        nat = _run(codec, native, sample, repeats, budget) if native.has(codec) else None
        status = []
        for label, res in (("python", ref), ("native", nat)):
            if res is not None and not res["ok"]:
                status.append(f"{label} round trip FAILED ({res['error']})")
        if nat is not None and ref["ok"] and nat["ok"] and nat["encoded"] != ref["encoded"]:
            status.append("twins' encodings DIFFER")
        if status:
            failures.append(f"{codec.name}: {'; '.join(status)}")
        enc = [_mbps(nbytes, r["enc_s"]) if r and r["ok"] else None for r in (nat, ref)]
        dec = [_mbps(nbytes, r["dec_s"]) if r and r["ok"] else None for r in (nat, ref)]
        cells = [*_cells(enc), *_cells(dec)]
        size = next((len(r["encoded"]) for r in (ref, nat) if r and r["encoded"] is not None), None)
        check = "FAIL" if status else "ok, twins identical" if nat is not None else "ok"
        rows.append([codec.name, "n/a" if size is None else f"{size:,}", *cells, check])

    headers = ["codec", "encoded bytes", "encode native", "python", "ratio",
               "decode native", "python", "ratio", "round trip"]
    print(_table(rows, headers), file=out)
    print(
        "\nencode/decode columns: MB/s of the raw tile (of the crop where named); ratio = native / python.\n"
        "Requests: one instance, the tile, as input \"x\" (ND_ARRAYS: bare), in the default options.",
        file=out,
    )
    if native.missing:
        missing = ", ".join(f"tensorwire._native.{m}" for m in native.missing)
        print(f"note: native columns are n/a where a codec needs a missing twin ({missing}); "
              f"shown only because {_backend.ENV_VAR}=1.", file=out)
    if failures:
        out.flush()
        print("\nFAILED:", file=err)
        for f in failures:
            print(f"  {f}", file=err)
        return 1
    return 0
