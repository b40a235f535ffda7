"""Every benchmark, once: a table of (group, alternative, call, check) shared by the pytest
benchmarks (``test_*.py`` here) and ``report.py``, so the two can never measure different things.

A :class:`Case` is one alternative for one operation.  ``case.setup(payload)`` returns the
zero-argument callable that is timed; ``case.check(payload, result)`` asserts that what it
returned is right (a benchmark of a wrong answer is worthless).  Cases that compare against each
other share a ``group``.  ``TARGETS`` are the goals from the issue, as ratios of two cases' times.

The payloads (:class:`Payload`) are the demo's synthetic float32 256x256x12 tile
(``tensorwire._demo.make_tile``) and, for the TensorProto groups, a batch of 8 of them
(25 MB, more than fits in cache).  The base64 groups encode/decode the
tile's serialized TensorProto (what a SERIALIZED_TF_TENSORS request carries; 3,145,751 bytes,
so the standard encoding ends in padding), not the bare array bytes.

The tf.Example groups encode/decode the tile's 12 bands (``B01`` .. ``B12``, each a C-contiguous
256x256 float32 array) as one tf.Example with a float_list per band, what an Earth Engine image
patch or a GRPC_TF_EXAMPLES instance carries.  The names are zero-padded because python-protobuf's
upb, in deterministic mode, sorts a key that is a prefix of another *after* it (``B10`` before
``B1``), unlike code point order; with no such pair the two orders agree.

The TFRecord group reads a file of 64 such records (201 MB; each record the tile plus its index,
so no two are alike), written by TensorFlow into a temporary directory when first used and
deleted afterwards (:meth:`RecordsPayload.cleanup`, or at exit); the pytest smoke run
(``--benchmark-disable``) reads a 3-record file instead.  Its main alternatives stream (each
record is looked at, then dropped, as a pipeline consumes a file) and return a fingerprint per
record (length and two 64-byte samples); the ``-list`` alternatives keep every record
(``list(...)``: 201 MB of fresh memory per call, whose page faults dominate) and are checked
byte for byte.

The HTTP JSON groups (docs/json-payloads.md) go through tensorwire's public API
(``tensorwire.encode_request`` / ``decode_response``), natively and on the pure-Python reference
(the same public functions with the reference ``jsonbody`` underneath: :func:`payload_api`), and
compare it with what a user writes today.  Requests carry the tile (one instance) or the batch of
8 (one instance per tile) as input ``"x"``; one more request group sends the tile as Earth Engine
does, 12 inputs ``B1`` .. ``B12`` of ``(1, 256, 256, 1)`` (:attr:`Payload.ee_bands`), against the
naive route per band (``tf.make_tensor_proto`` + stdlib ``base64.b64encode`` + ``json.dumps``)
and against tensorwire writing the same bytes as one ``(1, 256, 256, 12)`` input (the per-input
cost).  The response bodies decoded are written without
tensorwire: ND_ARRAYS by ``orjson`` (``OPT_SERIALIZE_NUMPY``: shortest float32 text), RAW_JSON
by ``orjson`` from ``a.astype(str)`` (number strings), SERIALIZED_TF_TENSORS by protobuf + stdlib
base64 (URL-safe, unpadded, as ``tf.io.encode_base64`` writes).  The ND_ARRAYS and RAW_JSON
decode groups use the tile only; the pure-Python reference runs on the tile only and is timed
once (``slow``: it takes seconds), except in the SERIALIZED_TF_TENSORS request group, where it is
fast (base64 and TensorProto framing are bulk operations even in Python).  The pytest smoke run
sizes the JSON groups down to a 16x16x12 tile and a batch of 8 of them (:data:`SMOKE`).  The RAW_JSON decode peer is
``numpy.asarray(strings, dtype=float32)``, the faster of the two routes a user would write (the
other, ``numpy.asarray(strings).astype(float32)``, took twice as long).

Oracles are independent of tensorwire: expected TensorProto bytes come from TensorFlow's
generated ``tensor_pb2``; expected base64 from the stdlib; expected tf.Example bytes from
``example_pb2`` (``SerializeToString(deterministic=True)``); the TFRecord file from
``tf.io.TFRecordWriter``, its records checked against their SHA-256 digests (kept) or
fingerprints (streamed); JSON request bodies are read back with ``json.loads`` (and stdlib base64,
``tf.make_ndarray``) and compared with the batch; decoded arrays are compared with the source.

Missing pieces: the Cython twins are required, unless ``TENSORWIRE_PURE_PYTHON=1`` is set, in
which case their cases raise :class:`Unavailable` (pytest skips them, report.py lists them as
unavailable).  TensorFlow and pybase64 are always required (they are in the ``test`` extra).
"""

import base64 as stdlib_base64
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tensorwire import _backend  # noqa: E402
from tensorwire._demo import make_tile  # noqa: E402

BATCH = 8


class Unavailable(Exception):
    """A case cannot run here, and that was allowed (the twins, with TENSORWIRE_PURE_PYTHON=1)."""


# --------------------------------------------------------------------------------------------
# imports, done when a case is set up (TensorFlow takes seconds to import)


def native(codec):
    """``tensorwire._native.<codec>``; a missing twin is an error unless the pure switch is on."""
    try:
        return importlib.import_module(f"tensorwire._native.{codec}")
    except ImportError as exc:
        if _backend.pure_requested():
            raise Unavailable(f"tensorwire._native.{codec} not built ({_backend.ENV_VAR}=1)") from exc
        raise


def reference(codec):
    return importlib.import_module(f"tensorwire.codecs.{codec}")


def tf():
    import tensorflow

    return tensorflow


def tensor_pb2():
    from tensorflow.core.framework import tensor_pb2 as module

    return module


def tensor_shape_pb2():
    from tensorflow.core.framework import tensor_shape_pb2 as module

    return module


def example_pb2():
    from tensorflow.core.example import example_pb2 as module

    return module


def feature_pb2():
    from tensorflow.core.example import feature_pb2 as module

    return module


def pybase64():
    import pybase64 as module

    return module


def orjson():
    import orjson as module

    return module


_PAYLOAD_APIS = {}


def payload_api(impl):
    """``tensorwire.payload`` (encode_request, decode_response, ...) running on ``impl``, a
    ``jsonbody`` module: the real module when ``impl`` is the active backend, otherwise a private
    copy of it whose ``_impl`` is ``impl`` (the public functions look it up when called), so both
    twins are measured through the same public code whatever ``tensorwire.backend()`` is."""
    import tensorwire.payload as real

    assert hasattr(real, "_impl"), "tensorwire.payload no longer dispatches through _impl"
    if real._impl is impl:
        return real
    if impl not in _PAYLOAD_APIS:
        spec = importlib.util.find_spec("tensorwire.payload")
        copy = importlib.util.module_from_spec(spec)  # not put in sys.modules
        spec.loader.exec_module(copy)
        copy._impl = impl
        _PAYLOAD_APIS[impl] = copy
    return _PAYLOAD_APIS[impl]


# --------------------------------------------------------------------------------------------
# payloads


class Payload:
    """One array and everything derived from it that the cases read or compare with."""

    def __init__(self, name, array):
        self.name = name
        self.array = array
        self.raw = array.tobytes()
        self.nbytes = len(self.raw)
        self.label = f"float32 {'x'.join(map(str, array.shape))}, {self.nbytes / 1e6:.1f} MB"

    def nbytes_for(self, group):
        """The bytes a throughput in ``group`` is counted in: the raw array for the TensorProto
        and tf.Example groups, the binary (TensorProto) side for the base64 groups."""
        return len(self.proto) if group in B64_GROUPS else self.nbytes

    def cleanup(self):
        """Nothing to delete (see :meth:`RecordsPayload.cleanup`)."""

    @cached_property
    def bands(self):
        """The tile as named bands ``{"B01": (256, 256) float32, ...}``, each C-contiguous."""
        assert self.array.ndim == 3, "bands are defined for the tile only"
        return {f"B{i + 1:02d}": np.ascontiguousarray(self.array[..., i]) for i in range(self.array.shape[-1])}

    @cached_property
    def ee_bands(self):
        """The tile as Earth Engine sends it to a SERIALIZED_TF_TENSORS model: one input per band,
        ``{"B1": (1, 256, 256, 1) float32, ...}`` (one instance), each C-contiguous."""
        assert self.array.ndim == 3, "bands are defined for the tile only"
        return {f"B{i + 1}": np.ascontiguousarray(self.array[None, ..., i : i + 1]) for i in range(self.array.shape[-1])}

    @cached_property
    def example(self):
        """The bands as one serialized tf.Example, written by protobuf itself (the encode oracle)."""
        return _protobuf_example(self.bands)

    @cached_property
    def proto(self):
        """The serialized TensorProto, written by protobuf itself (the encode oracle)."""
        return _protobuf_route(self.array)

    @cached_property
    def proto_aligned(self):
        """The same bytes in a buffer placed so that tensor_content starts 64-byte aligned.

        ``decode_tensor(copy=False)`` can only return a view when the content is aligned for
        the dtype; in a ``bytes`` object it starts 23 bytes in, which is not.
        """
        content_offset = len(self.proto) - self.nbytes  # tensor_content is the last field
        store = np.empty(len(self.proto) + 64, dtype=np.uint8)
        shift = -(store.ctypes.data + content_offset) % 64
        view = store[shift : shift + len(self.proto)]
        view[:] = np.frombuffer(self.proto, dtype=np.uint8)
        return memoryview(view)  # keeps ``store`` alive

    @cached_property
    def batch(self):
        """The array with an instance axis: the tile as a batch of 1, a batch as it is."""
        return self.array[None] if self.array.ndim == 3 else self.array

    @cached_property
    def nd_response(self):
        """``{"predictions": batch}``, ND_ARRAYS, written by orjson (shortest float32 text)."""
        return orjson().dumps({"predictions": self.batch}, option=orjson().OPT_SERIALIZE_NUMPY)

    @cached_property
    def raw_response(self):
        """``{"predictions": [...]}``, RAW_JSON: every number as a string, written by orjson."""
        return orjson().dumps({"predictions": [inst.astype(str).tolist() for inst in self.batch]})

    @cached_property
    def tensors_response(self):
        """``{"predictions": ["<b64>", ...]}``, SERIALIZED_TF_TENSORS: each instance's TensorProto
        (protobuf), URL-safe base64 without padding (stdlib), as ``tf.io.encode_base64`` writes."""
        values = [stdlib_base64.urlsafe_b64encode(_protobuf_route(inst)).rstrip(b"=").decode("ascii")
                  for inst in self.batch]
        return orjson().dumps({"predictions": values})

    @cached_property
    def b64_standard(self):
        return stdlib_base64.b64encode(self.proto)

    @cached_property
    def b64_urlsafe(self):
        """URL-safe and unpadded, like ``tf.io.encode_base64`` (SERIALIZED_TF_TENSORS)."""
        return stdlib_base64.urlsafe_b64encode(self.proto).rstrip(b"=")


class RecordsPayload:
    """A TFRecord file of ``count`` tf.Example records: record ``i`` is the tile's bands plus ``i``.

    Written by ``tf.io.TFRecordWriter`` into a fresh temporary directory when :attr:`path` is
    first used; :meth:`cleanup` deletes it (and so does a finalizer at exit, whatever happens).
    """

    def __init__(self, name, count, tile):
        self.name = name
        self.count = count
        self.tile = tile
        self.label = f"{count} tf.Example records of 12x256x256 float32 ({len(tile.raw) / 1e6:.1f} MB each)"
        self._finalizer = None

    @cached_property
    def path(self):
        directory = tempfile.mkdtemp(prefix="tensorwire-bench-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, directory, ignore_errors=True)
        path = os.path.join(directory, f"{self.name}.tfrecord")
        digests, fingerprints = [], []
        with tf().io.TFRecordWriter(path) as writer:
            for i in range(self.count):
                record = _protobuf_example({k: v + np.float32(i) for k, v in self.tile.bands.items()})
                writer.write(record)
                digests.append(hashlib.sha256(record).digest())
                fingerprints.append(fingerprint(record))
        self.digests = digests
        self.fingerprints = fingerprints
        return path

    @property
    def nbytes(self):
        return os.path.getsize(self.path)

    def nbytes_for(self, group):
        """Throughput counts the file's bytes."""
        return self.nbytes

    def cleanup(self):
        """Delete the file (it is written again if used again)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            del self.path


class BlobsPayload:
    """``count`` binary values of ``size`` random bytes each (JPEG-sized, incompressible), as the
    general JSON format carries them: ``{"instances": [{"image": {"b64": "..."}}, ...]}``."""

    def __init__(self, name, count, size, seed=20261205):
        self.name = name
        rng = np.random.default_rng(seed)
        self.blobs = [rng.bytes(size) for _ in range(count)]  # what a user holds: a list of bytes
        self.objects = np.empty(count, dtype=object)  # what tensorwire takes and returns
        self.objects[:] = self.blobs
        self.nbytes = count * size
        self.label = f"{count} x {size:,} random bytes ({self.nbytes / 1e6:.1f} MB; body {len(self.request) / 1e6:.1f} MB)"

    def nbytes_for(self, group):
        """Throughput counts the binary values (the bytes, not their base64)."""
        return self.nbytes

    def cleanup(self):
        """Nothing to delete."""

    @cached_property
    def request(self):
        """The request body, written by orjson with stdlib base64 (standard alphabet, padded)."""
        return orjson().dumps(
            {"instances": [{"image": {"b64": stdlib_base64.b64encode(b).decode("ascii")}} for b in self.blobs]})


# Short texts for the text-classifier groups: mostly ASCII (quotes and backslashes included, which
# JSON escapes), one in eight with non-ASCII (Latin-1, CJK, and astral characters: 2, 3 and 4 UTF-8 bytes).
_ASCII = "abcdefghijklmnopqrstuvwxyz" * 3 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + " " * 12 + ".,!?'-:;\"/()"
_NON_ASCII = "éèàüöäßçñø€–’中文日本語한국어😀🎉"


class TextPayload:
    """``count`` short strings (5-40 characters) as bare instances: ``{"instances": ["...", ...]}``."""

    def __init__(self, name, count, seed=20261205):
        self.name = name
        rng = np.random.default_rng(seed)
        strings = []
        for length in rng.integers(5, 41, size=count):
            chars = rng.choice(list(_ASCII), size=length)
            if rng.random() < 0.125:
                where = rng.integers(0, length, size=rng.integers(1, 4))
                chars[where] = rng.choice(list(_NON_ASCII), size=len(where))
            strings.append("".join(chars))
        self.strings = strings  # what a user holds: a list of str
        self.objects = np.empty(count, dtype=object)  # what tensorwire takes and returns
        self.objects[:] = strings
        self.unicode = np.array(strings)  # the same as a numpy U array
        self.nbytes = sum(len(s.encode("utf-8")) for s in strings)
        self.label = (f"{count:,} strings of 5-40 characters ({self.nbytes / 1e3:.0f} KB UTF-8; "
                      f"body {len(self.request) / 1e3:.0f} KB)")

    def nbytes_for(self, group):
        """Throughput counts the strings' UTF-8 bytes."""
        return self.nbytes

    def cleanup(self):
        """Nothing to delete."""

    @cached_property
    def request(self):
        """The request body, written by orjson (UTF-8, not escaped)."""
        return orjson().dumps({"instances": self.strings})


RECORDS = 64  # 64 x 3.1 MB = 201 MB
SMOKE_RECORDS = 3
SMOKE_SIDE = 16  # the JSON groups' smoke payloads: 16x16x12 tiles
BLOBS, BLOB_SIZE = 32, 100_000  # 32 JPEG-sized images of 100 KB
TEXTS = 10_000
SMOKE_BLOBS, SMOKE_BLOB_SIZE, SMOKE_TEXTS = 4, 1_000, 100
# Payloads measured by a quick run too (each used by its own groups only).
OWN_PAYLOADS = ("records", "blobs32", "texts10k")


def make_payloads():
    tile = Payload("tile", make_tile())
    batch = make_tile(batch=BATCH)
    small = np.s_[:SMOKE_SIDE, :SMOKE_SIDE]
    return {
        "tile": tile,
        "batch8": Payload("batch8", batch),
        "records": RecordsPayload("records", RECORDS, tile),
        "records-smoke": RecordsPayload("records-smoke", SMOKE_RECORDS, tile),
        "tile-smoke": Payload("tile-smoke", np.ascontiguousarray(tile.array[small])),
        "batch8-smoke": Payload("batch8-smoke", np.ascontiguousarray(batch[(slice(None), *small)])),
        "blobs32": BlobsPayload("blobs32", BLOBS, BLOB_SIZE),
        "blobs32-smoke": BlobsPayload("blobs32-smoke", SMOKE_BLOBS, SMOKE_BLOB_SIZE),
        "texts10k": TextPayload("texts10k", TEXTS),
        "texts10k-smoke": TextPayload("texts10k-smoke", SMOKE_TEXTS),
    }


def _tolist(v):
    return v.ravel().tolist()


def _protobuf_example(bands, values=_tolist):
    """``tf.train.Example`` (``example_pb2.Example``) of float bands, serialized with sorted keys."""
    ex, feat = example_pb2(), feature_pb2()
    feature = {k: feat.Feature(float_list=feat.FloatList(value=values(v))) for k, v in bands.items()}
    return ex.Example(features=feat.Features(feature=feature)).SerializeToString(deterministic=True)


def _protobuf_route(a):
    pb, shape_pb = tensor_pb2(), tensor_shape_pb2()
    shape = shape_pb.TensorShapeProto(dim=[shape_pb.TensorShapeProto.Dim(size=d) for d in a.shape])
    return pb.TensorProto(dtype=1, tensor_shape=shape, tensor_content=a.tobytes()).SerializeToString()


# --------------------------------------------------------------------------------------------
# checks


def same_bytes(attr):
    def check(p, result):
        expected = getattr(p, attr)
        assert isinstance(result, bytes), type(result)
        assert len(result) == len(expected), (len(result), len(expected))
        assert result == expected, "wrong bytes"

    check.__name__ = f"same_bytes({attr})"
    return check


def _array_of(p, result):
    assert isinstance(result, np.ndarray), type(result)
    assert result.dtype == p.array.dtype, result.dtype
    assert result.shape == p.array.shape, result.shape
    assert np.array_equal(result, p.array), "wrong values"


def same_array(p, result):
    _array_of(p, result)


def same_array_copied(p, result):
    """A fresh, writable array, not a view into the input."""
    _array_of(p, result)
    assert result.flags.writeable, "copy=True must give a writable array"
    assert not np.shares_memory(result, np.frombuffer(p.proto, dtype=np.uint8)), "not a copy"


def same_array_view(p, result):
    """A read-only view into the (aligned) input buffer: no copy was made."""
    _array_of(p, result)
    assert np.shares_memory(result, np.asarray(p.proto_aligned)), "copy=False gave a copy, not a view"
    assert not result.flags.writeable, "a view into the input must be read-only"


def same_bands(p, result):
    """A dict of every band as a float32 array, flat or (256, 256), with the tile's values."""
    assert isinstance(result, dict), type(result)
    assert sorted(result) == sorted(p.bands), sorted(result)
    for name, band in p.bands.items():
        values = result[name]
        assert isinstance(values, np.ndarray), (name, type(values))
        assert values.dtype == np.float32, (name, values.dtype)
        assert values.shape in (band.shape, (band.size,)), (name, values.shape)
        assert np.array_equal(values.reshape(band.shape), band), f"wrong values in {name}"


def same_bands_shaped(p, result):
    """As :func:`same_bands`, every band shaped (256, 256) (decode with a spec)."""
    same_bands(p, result)
    assert all(v.shape == p.bands[k].shape for k, v in result.items()), "spec shape not applied"


def fingerprint(record):
    """What a streaming read keeps of each record: its length and 64 bytes from the middle and
    the end (the records differ there: each is the tile plus its index)."""
    middle = len(record) // 2
    return len(record), record[middle : middle + 64], record[-64:]


def _batch_of(p, result):
    """``result`` (an array, or tensorwire's ``{"output": array}``) is ``p.batch`` in float32."""
    if isinstance(result, dict):
        assert list(result) == ["output"], list(result)
        result = result["output"]
    assert isinstance(result, np.ndarray), type(result)
    assert result.dtype == np.float32, result.dtype
    assert result.shape == p.batch.shape, (result.shape, p.batch.shape)
    assert np.array_equal(result, p.batch), "wrong values"


def same_batch(p, result):
    _batch_of(p, result)


def _instances(p, body):
    """The ``instances`` list of a request body, read by ``json.loads``, one per instance."""
    assert isinstance(body, (bytes, str)), type(body)
    doc = json.loads(body)
    assert isinstance(doc, dict) and list(doc) == ["instances"], list(doc)
    instances = doc["instances"]
    assert isinstance(instances, list) and len(instances) == len(p.batch), len(instances)
    return instances


def _named_x(instances):
    for i, inst in enumerate(instances):
        assert isinstance(inst, dict) and list(inst) == ["x"], (i, inst if not isinstance(inst, dict) else list(inst))
    return [inst["x"] for inst in instances]


def tensors_request(p, body):
    """``{"instances": [{"x": "<b64>"}, ...]}``: URL-safe base64 (padding optional) of each
    instance's TensorProto, read by the stdlib, protobuf and ``tf.make_ndarray``."""
    parse, make_ndarray = tensor_pb2().TensorProto.FromString, tf().make_ndarray
    for i, text in enumerate(_named_x(_instances(p, body))):
        assert isinstance(text, str), (i, type(text))
        assert not set(text) & set("+/"), f"instance {i}: not the URL-safe alphabet"
        proto = parse(stdlib_base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True))
        assert proto.dtype == 1, (i, proto.dtype)  # DT_FLOAT
        got = make_ndarray(proto)
        assert got.shape == p.batch[i].shape and np.array_equal(got, p.batch[i]), f"instance {i}: wrong tensor"


def bands_request(alphabet):
    """``{"instances": [{"B1": "<b64>", ..., "B12": "<b64>"}]}``: each band's TensorProto in base64
    of ``alphabet`` ("urlsafe" or "standard"; padding optional), read by the stdlib, protobuf and
    ``tf.make_ndarray``."""
    altchars, foreign = (b"-_", set("+/")) if alphabet == "urlsafe" else (b"+/", set("-_"))

    def check(p, body):
        parse, make_ndarray = tensor_pb2().TensorProto.FromString, tf().make_ndarray
        doc = json.loads(body)
        assert isinstance(doc, dict) and list(doc) == ["instances"], list(doc)
        assert isinstance(doc["instances"], list) and len(doc["instances"]) == 1, len(doc["instances"])
        inst = doc["instances"][0]
        assert isinstance(inst, dict) and list(inst) == list(p.ee_bands), list(inst)
        for name, band in p.ee_bands.items():
            text = inst[name]
            assert isinstance(text, str) and not set(text) & foreign, f"{name}: not the {alphabet} alphabet"
            proto = parse(stdlib_base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True))
            assert proto.dtype == 1, (name, proto.dtype)  # DT_FLOAT
            got = make_ndarray(proto)
            assert got.shape == band[0].shape and np.array_equal(got, band[0]), f"{name}: wrong tensor"

    return check


def numbers_request(p, body):
    """``{"instances": [<nested lists of numbers>, ...]}`` (bare instances), read by ``json.loads``;
    the numbers, parsed as float64 and rounded to float32, are the batch."""
    got = np.asarray(_instances(p, body))
    assert got.dtype == np.float64, f"not all numbers ({got.dtype})"
    assert got.shape == p.batch.shape, got.shape
    assert np.array_equal(got.astype(np.float32), p.batch), "wrong values"


def strings_request(p, body):
    """``{"instances": [{"x": <nested lists of number strings>}, ...]}``, read by ``json.loads``;
    the strings, parsed by numpy into float32, are the batch."""
    got = np.asarray(_named_x(_instances(p, body)))
    assert got.dtype.kind == "U", f"not all strings ({got.dtype})"
    assert got.shape == p.batch.shape, got.shape
    assert np.array_equal(got.astype(np.float32), p.batch), "wrong values"


def same_fingerprints(p, result):
    """A fingerprint of every record of the file, in order."""
    assert isinstance(result, list), type(result)
    assert len(result) == p.count, (len(result), p.count)
    for i, (got, want) in enumerate(zip(result, p.fingerprints)):
        assert got == want, f"record {i} differs (length {got[0]}, expected {want[0]})"


def same_records(p, result):
    """Every record of the file, in order, as bytes."""
    assert isinstance(result, list), type(result)
    assert len(result) == p.count, (len(result), p.count)
    for i, (record, digest) in enumerate(zip(result, p.digests)):
        assert isinstance(record, bytes), (i, type(record))
        assert hashlib.sha256(record).digest() == digest, f"record {i} differs"


# --------------------------------------------------------------------------------------------
# the cases


@dataclass(frozen=True)
class Case:
    group: str  # the operation; the cases of one group are the alternatives compared
    key: str  # short id, unique in its group (pytest ids, targets, --json)
    name: str  # what the report prints
    setup: Callable[[Payload], Callable[[], Any]]  # payload -> the call to time
    check: Callable[[Payload, Any], None]  # asserts the call's result is right
    payloads: tuple = ("tile",)
    native: bool = False  # needs the Cython twins (pytest marks it ``native``)
    slow: bool = False  # takes seconds: report.py and the timed pytest run time it once


TENSOR_ENCODE = "tensor encode"
TENSOR_DECODE = "tensor decode"
B64_ENC_STD = "base64 encode, standard"
B64_ENC_URL = "base64 encode, urlsafe unpadded"
B64_DEC_STD = "base64 decode, standard"
B64_DEC_URL = "base64 decode, urlsafe unpadded"
B64_GROUPS = (B64_ENC_STD, B64_ENC_URL, B64_DEC_STD, B64_DEC_URL)
EXAMPLE_ENCODE = "tf.Example encode"
EXAMPLE_DECODE = "tf.Example decode"
TFRECORD_READ = "TFRecord read"
JSON_ENC_TENSORS = "JSON request encode, SERIALIZED_TF_TENSORS"
JSON_ENC_BANDS = "JSON request encode, SERIALIZED_TF_TENSORS, 12 single-band inputs"
JSON_ENC_ND = "JSON request encode, ND_ARRAYS"
JSON_ENC_RAW = "JSON request encode, RAW_JSON"
JSON_DEC_ND = "JSON response decode, ND_ARRAYS"
JSON_DEC_RAW = "JSON response decode, RAW_JSON"
JSON_DEC_TENSORS = "JSON response decode, SERIALIZED_TF_TENSORS"
JSON_GROUPS = (JSON_ENC_TENSORS, JSON_ENC_BANDS, JSON_ENC_ND, JSON_ENC_RAW, JSON_DEC_ND, JSON_DEC_RAW, JSON_DEC_TENSORS)
BOTH = ("tile", "batch8")
# The general predict body, PayloadFormat.JSON (docs/json-general.md)
GENERAL_DEC_B64 = "JSON general request decode, b64 - 32 JPEG-sized instances"
GENERAL_ENC_B64 = "JSON general request encode, b64 - 32 JPEG-sized instances"
GENERAL_DEC_TEXT = "JSON general request decode, text classifier - 10,000 strings"
GENERAL_ENC_TEXT = "JSON general request encode, text classifier - 10,000 strings"
GENERAL_DEC_NUM = "JSON general response decode, numbers - JSON vs ND_ARRAYS"
GENERAL_ENC_NUM = "JSON general request encode, numbers - JSON vs ND_ARRAYS"
GENERAL_GROUPS = (GENERAL_DEC_B64, GENERAL_ENC_B64, GENERAL_DEC_TEXT, GENERAL_ENC_TEXT, GENERAL_DEC_NUM,
                  GENERAL_ENC_NUM)

# The payload a smoke run (pytest --benchmark-disable) uses instead, per group: the 3-record file,
# and 16x16x12 tiles for the JSON groups (whose reference takes seconds on the full tile).
SMOKE = {
    TFRECORD_READ: {"records": "records-smoke"},
    **{group: {"tile": "tile-smoke", "batch8": "batch8-smoke"} for group in JSON_GROUPS + GENERAL_GROUPS},
    **{group: {"blobs32": "blobs32-smoke"} for group in (GENERAL_DEC_B64, GENERAL_ENC_B64)},
    **{group: {"texts10k": "texts10k-smoke"} for group in (GENERAL_DEC_TEXT, GENERAL_ENC_TEXT)},
}


def smoke_payload(group, name):
    """The payload name a smoke run of ``group`` uses instead of ``name``."""
    return SMOKE.get(group, {}).get(name, name)


def _call(module, func, attr, **kwargs):
    """Setup timing ``module().<func>(payload.<attr>, **kwargs)``."""

    def setup(p):
        f = getattr(module(), func)
        data = getattr(p, attr)
        return lambda: f(data, **kwargs)

    return setup


def _tobytes(p):
    return p.array.tobytes


def _protobuf(p):
    tensor_pb2(), tensor_shape_pb2()  # import outside the timing
    a = p.array
    return lambda: _protobuf_route(a)


def _tf_serialize(p):
    serialize = tf().io.serialize_tensor
    a = p.array
    return lambda: serialize(a).numpy()


def _tf_make_proto(p):
    make = tf().make_tensor_proto
    a = p.array
    return lambda: make(a).SerializeToString()


def _tf_make_ndarray(p):
    make_ndarray, parse = tf().make_ndarray, tensor_pb2().TensorProto.FromString
    b = p.proto
    return lambda: make_ndarray(parse(b))


def _tf_parse_tensor(p):
    t = tf()
    parse, f32 = t.io.parse_tensor, t.float32
    b = p.proto
    return lambda: parse(b, f32).numpy()


def _unpadded(module, func, attr):
    """Setup timing ``module().<func>(payload.<attr>).rstrip(b"=")``, as a user drops padding."""

    def setup(p):
        f = getattr(module(), func)
        data = getattr(p, attr)
        return lambda: f(data).rstrip(b"=")

    return setup


def _repadded(module, attr):
    """Setup timing ``module().b64decode`` of unpadded URL-safe text, padding put back first."""

    def setup(p):
        f = module().b64decode
        s = getattr(p, attr)
        return lambda: f(s + b"=" * (-len(s) % 4), altchars=b"-_", validate=True)

    return setup


def _example_encode(module, **kwargs):
    def setup(p):
        encode, bands = module().encode_example, p.bands
        return lambda: encode(bands, **kwargs)

    return setup


def _example_decode(module, spec=False):
    def setup(p):
        decode, b = module().decode_example, p.example
        if spec:
            shapes = {name: (band.shape, np.float32) for name, band in p.bands.items()}
            return lambda: decode(b, spec=shapes)
        return lambda: decode(b)

    return setup


def _protobuf_encode(values):
    def setup(p):
        example_pb2(), feature_pb2()  # import outside the timing
        bands = p.bands
        return lambda: _protobuf_example(bands, values)

    return setup


def _protobuf_decode(p):
    parse, b = example_pb2().Example.FromString, p.example
    f32 = np.float32

    def call():
        features = parse(b).features.feature
        return {name: np.asarray(f.float_list.value, dtype=f32) for name, f in features.items()}

    return call


def _tf_parse_example(p):
    t = tf()
    spec = {name: t.io.FixedLenFeature(band.shape, t.float32) for name, band in p.bands.items()}
    parse, b = t.io.parse_single_example, p.example
    return lambda: {name: v.numpy() for name, v in parse(b, spec).items()}


def _read_tfrecord(module, keep=False, **kwargs):
    def setup(p):
        read, path = module().read_tfrecord, p.path
        if keep:
            return lambda: list(read(path, **kwargs))
        return lambda: [fingerprint(record) for record in read(path, **kwargs)]

    return setup


def _tf_record_dataset(keep=False):
    def setup(p):
        dataset, path = tf().data.TFRecordDataset, p.path
        if keep:
            return lambda: [record.numpy() for record in dataset(path)]
        return lambda: [fingerprint(record.numpy()) for record in dataset(path)]

    return setup


def _api(impl, func, fmt, attr, inputs=None, **kwargs):
    """Setup timing ``tensorwire.<func>(<payload.attr>, fmt, **kwargs)`` running on ``impl()``,
    a jsonbody module (:func:`payload_api`); ``inputs="x"`` passes ``{"x": <payload.attr>}``."""

    def setup(p):
        f = getattr(payload_api(impl()), func)
        data = getattr(p, attr)
        if inputs is not None:
            data = {inputs: data}
        return lambda: f(data, fmt, **kwargs)

    return setup


def native_jsonbody():
    return native("jsonbody")


def reference_jsonbody():
    return reference("jsonbody")


def _tf_json_tensors(p):
    """tf.make_tensor_proto + stdlib base64 + json.dumps, one instance per tile."""
    make, b64, dumps = tf().make_tensor_proto, stdlib_base64.urlsafe_b64encode, json.dumps
    batch = p.batch
    return lambda: dumps({"instances": [{"x": b64(make(inst).SerializeToString()).decode("ascii")} for inst in batch]})


def _protobuf_orjson_tensors(p):
    """tensor_pb2.TensorProto + pybase64 + orjson, one instance per tile."""
    tensor_pb2(), tensor_shape_pb2()  # import outside the timing
    b64, dumps = pybase64().urlsafe_b64encode, orjson().dumps
    batch = p.batch
    return lambda: dumps({"instances": [{"x": b64(_protobuf_route(inst)).decode("ascii")} for inst in batch]})


def _tf_json_bands(p):
    """Per band: tf.make_tensor_proto + stdlib base64 + json.dumps of the body (one instance)."""
    make, b64, dumps = tf().make_tensor_proto, stdlib_base64.b64encode, json.dumps
    bands = p.ee_bands
    return lambda: dumps({"instances": [{k: b64(make(v[0]).SerializeToString()).decode("ascii") for k, v in bands.items()}]})


def _protobuf_orjson_bands(p):
    """Per band: tensor_pb2.TensorProto + pybase64 + orjson (one instance)."""
    tensor_pb2(), tensor_shape_pb2()  # import outside the timing
    b64, dumps = pybase64().urlsafe_b64encode, orjson().dumps
    bands = p.ee_bands
    return lambda: dumps({"instances": [{k: b64(_protobuf_route(v[0])).decode("ascii") for k, v in bands.items()}]})


def _orjson_numpy(p):
    dumps, option = orjson().dumps, orjson().OPT_SERIALIZE_NUMPY
    batch = p.batch
    return lambda: dumps({"instances": batch}, option=option)


def _json_tolist(p):
    batch = p.batch
    return lambda: json.dumps({"instances": batch.tolist()})


def _orjson_strings(p):
    dumps = orjson().dumps
    batch = p.batch
    return lambda: dumps({"instances": [{"x": inst.astype(str).tolist()} for inst in batch]})


def _orjson_asarray(attr):
    def setup(p):
        loads, asarray, f32 = orjson().loads, np.asarray, np.float32
        body = getattr(p, attr)
        return lambda: asarray(loads(body)["predictions"], dtype=f32)

    return setup


def _orjson_pybase64_tf(p):
    """orjson.loads, pybase64.urlsafe_b64decode (padding put back: tf.io.encode_base64 drops it),
    tf.make_ndarray(TensorProto.FromString(...)) per instance, stacked batch-first."""
    loads, b64decode = orjson().loads, pybase64().urlsafe_b64decode
    make_ndarray, parse = tf().make_ndarray, tensor_pb2().TensorProto.FromString
    body = p.tensors_response

    def call():
        return np.stack([make_ndarray(parse(b64decode(s + "=" * (-len(s) % 4)))) for s in loads(body)["predictions"]])

    return call


# --- the general predict body, PayloadFormat.JSON (docs/json-general.md)


def _need_general_format():
    """Fail loudly (not a skip) while ``PayloadFormat.JSON`` is not there: the groups measure it."""
    from tensorwire.payload import PayloadFormat

    if "JSON" not in PayloadFormat.__members__:
        raise RuntimeError("no PayloadFormat.JSON in this tensorwire (docs/json-general.md not implemented)")


def _probe_general(impl):
    """Fail loudly unless ``impl`` (a jsonbody twin) reads the general body's kinds itself: a twin
    built before the format existed reads ``value_form="json"`` as numbers, which would time the
    ND_ARRAYS path under the JSON label (integers would come back float32, strings refused)."""
    api = payload_api(impl)
    try:
        ints = api.decode_request(b'{"instances": [1, 2]}', "JSON")["instances"]
        strs = api.decode_request(b'{"instances": ["a", "b"]}', "JSON")["instances"]
        body = api.encode_request(np.array(["a", "b"], dtype=object), "JSON")
    except Exception as exc:
        raise RuntimeError(f"{impl.__name__} does not implement PayloadFormat.JSON (probe: "
                           f"{type(exc).__name__}: {str(exc)[:80]})") from None
    if ints.dtype != np.int64 or strs.dtype != object or strs.tolist() != ["a", "b"] or \
            json.loads(body) != {"instances": ["a", "b"]}:
        raise RuntimeError(f"{impl.__name__} does not implement PayloadFormat.JSON (probe: integers read as "
                           f"{ints.dtype}, strings as {strs.dtype})")


def _general(impl, func, attr, inputs=None, fmt="JSON", **kwargs):
    """:func:`_api` for the general format, which must exist (:func:`_need_general_format`) and be
    read and written by ``impl()`` itself (:func:`_probe_general`)."""
    inner = _api(impl, func, fmt, attr, inputs, **kwargs)

    def setup(p):
        _need_general_format()
        _probe_general(impl())
        return inner(p)

    return setup


def _orjson_pybase64_decode(as_list=False):
    """orjson.loads + pybase64.b64decode(validate=True) per instance, into an object array
    (what tensorwire returns) or a list."""

    def setup(p):
        loads, b64decode, array = orjson().loads, pybase64().b64decode, np.array
        body = p.request
        if as_list:
            return lambda: [b64decode(i["image"]["b64"], validate=True) for i in loads(body)["instances"]]
        return lambda: array([b64decode(i["image"]["b64"], validate=True) for i in loads(body)["instances"]],
                             dtype=object)

    return setup


def _json_base64_decode(p):
    """json.loads + stdlib base64.b64decode(validate=True) per instance, into an object array."""
    loads, b64decode, array = json.loads, stdlib_base64.b64decode, np.array
    body = p.request
    return lambda: array([b64decode(i["image"]["b64"], validate=True) for i in loads(body)["instances"]],
                         dtype=object)


def _orjson_pybase64_encode(as_string=False):
    """orjson.dumps of ``{"image": {"b64": ...}}`` instances, pybase64 standard padded base64 per value:
    ``b64encode(b).decode()`` as users write it, or ``b64encode_as_string(b)`` (no bytes -> str copy)."""

    def setup(p):
        dumps, blobs = orjson().dumps, p.blobs
        if as_string:
            b64 = pybase64().b64encode_as_string
            return lambda: dumps({"instances": [{"image": {"b64": b64(b)}} for b in blobs]})
        b64 = pybase64().b64encode
        return lambda: dumps({"instances": [{"image": {"b64": b64(b).decode()}} for b in blobs]})

    return setup


def _json_base64_encode(p):
    dumps, b64, blobs = json.dumps, stdlib_base64.b64encode, p.blobs
    return lambda: dumps({"instances": [{"image": {"b64": b64(b).decode()}} for b in blobs]})


def _orjson_strings_decode(as_list=False):
    def setup(p):
        loads, array, body = orjson().loads, np.array, p.request
        if as_list:
            return lambda: loads(body)["instances"]
        return lambda: array(loads(body)["instances"], dtype=object)

    return setup


def _json_strings_decode(p):
    loads, array, body = json.loads, np.array, p.request
    return lambda: array(loads(body)["instances"], dtype=object)


def _orjson_strings_encode(p):
    dumps, strings = orjson().dumps, p.strings
    return lambda: dumps({"instances": strings})


def _json_strings_encode(p):
    dumps, strings = json.dumps, p.strings
    return lambda: dumps({"instances": strings})


def _values_of(result, name, count):
    """``result`` (tensorwire's ``{name: array}``, an object array or a list) as a list of ``count``."""
    if isinstance(result, dict):
        assert list(result) == [name], list(result)
        result = result[name]
    if isinstance(result, np.ndarray):
        assert result.dtype == object, result.dtype
        assert result.shape == (count,), result.shape
        result = result.tolist()
    assert isinstance(result, list) and len(result) == count, (type(result), len(result))
    return result


def same_blobs(p, result):
    """Every binary value, as ``bytes``, in order (tensorwire: ``{"image": object array}``)."""
    values = _values_of(result, "image", len(p.blobs))
    for i, (got, want) in enumerate(zip(values, p.blobs)):
        assert type(got) is bytes, (i, type(got))
        assert got == want, f"instance {i}: wrong bytes"


def same_strings(p, result):
    """Every string, as ``str``, in order (tensorwire: ``{"instances": object array}``)."""
    values = _values_of(result, "instances", len(p.strings))
    for i, (got, want) in enumerate(zip(values, p.strings)):
        assert type(got) is str, (i, type(got))
        assert got == want, f"instance {i}: {got!r} != {want!r}"


def blobs_request(p, body):
    """``{"instances": [{"image": {"b64": "<standard, padded>"}}, ...]}``, read by ``json.loads``
    and the stdlib's strict base64."""
    instances = _instances_of(p.blobs, body)
    for i, (inst, want) in enumerate(zip(instances, p.blobs)):
        assert isinstance(inst, dict) and list(inst) == ["image"], (i, inst if not isinstance(inst, dict) else list(inst))
        value = inst["image"]
        assert isinstance(value, dict) and list(value) == ["b64"], (i, value if not isinstance(value, dict) else list(value))
        text = value["b64"]
        assert isinstance(text, str) and len(text) % 4 == 0 and not set(text) & set("-_"), \
            f"instance {i}: not standard padded base64"
        assert stdlib_base64.b64decode(text, validate=True) == want, f"instance {i}: wrong bytes"


def strings_body(p, body):
    """``{"instances": ["...", ...]}`` (bare instances), read by ``json.loads``: the strings."""
    instances = _instances_of(p.strings, body)
    for i, (got, want) in enumerate(zip(instances, p.strings)):
        assert got == want, f"instance {i}: {got!r} != {want!r}"


def _instances_of(expected, body):
    assert isinstance(body, (bytes, str)), type(body)
    doc = json.loads(body)
    assert isinstance(doc, dict) and list(doc) == ["instances"], list(doc)
    instances = doc["instances"]
    assert isinstance(instances, list) and len(instances) == len(expected), len(instances)
    return instances


def native_tensor():
    return native("tensor")


def reference_tensor():
    return reference("tensor")


def native_base64():
    return native("base64")


def reference_base64():
    return reference("base64")


def stdlib():
    return stdlib_base64


def native_example():
    return native("example")


def reference_example():
    return reference("example")


def native_tfrecord():
    return native("tfrecord")


def reference_tfrecord():
    return reference("tfrecord")


CASES = (
    # --- TensorProto encode: tensorwire vs the bare memory copy and the protobuf/TF routes
    Case(TENSOR_ENCODE, "native", "tensorwire native encode_tensor(a)",
         _call(native_tensor, "encode_tensor", "array"), same_bytes("proto"), BOTH, native=True),
    Case(TENSOR_ENCODE, "reference", "tensorwire reference encode_tensor(a)",
         _call(reference_tensor, "encode_tensor", "array"), same_bytes("proto"), BOTH),
    Case(TENSOR_ENCODE, "tobytes", "a.tobytes() (the copy alone, no framing)",
         _tobytes, same_bytes("raw"), BOTH),
    Case(TENSOR_ENCODE, "protobuf", "tensor_pb2.TensorProto(..., tensor_content=a.tobytes()).SerializeToString()",
         _protobuf, same_bytes("proto"), BOTH),
    Case(TENSOR_ENCODE, "tf-serialize", "tf.io.serialize_tensor(a).numpy()",
         _tf_serialize, same_bytes("proto"), BOTH),
    Case(TENSOR_ENCODE, "tf-make-proto", "tf.make_tensor_proto(a).SerializeToString()",
         _tf_make_proto, same_bytes("proto"), BOTH),
    # --- TensorProto decode
    Case(TENSOR_DECODE, "native", "tensorwire native decode_tensor(b)",
         _call(native_tensor, "decode_tensor", "proto", copy=True), same_array_copied, BOTH, native=True),
    Case(TENSOR_DECODE, "native-nocopy", "tensorwire native decode_tensor(b, copy=False)",
         _call(native_tensor, "decode_tensor", "proto", copy=False), same_array, BOTH, native=True),
    Case(TENSOR_DECODE, "native-view", "tensorwire native decode_tensor(b, copy=False), content 64-byte aligned",
         _call(native_tensor, "decode_tensor", "proto_aligned", copy=False), same_array_view, BOTH, native=True),
    Case(TENSOR_DECODE, "reference", "tensorwire reference decode_tensor(b)",
         _call(reference_tensor, "decode_tensor", "proto"), same_array_copied, BOTH),
    Case(TENSOR_DECODE, "tf-make-ndarray", "tf.make_ndarray(TensorProto.FromString(b))",
         _tf_make_ndarray, same_array, BOTH),
    Case(TENSOR_DECODE, "tf-parse-tensor", "tf.io.parse_tensor(b, tf.float32).numpy()",
         _tf_parse_tensor, same_array, BOTH),
    # --- base64 encode, standard alphabet, padded
    Case(B64_ENC_STD, "native", "tensorwire native b64encode(b)",
         _call(native_base64, "b64encode", "proto"), same_bytes("b64_standard"), native=True),
    Case(B64_ENC_STD, "reference", "tensorwire reference b64encode(b)",
         _call(reference_base64, "b64encode", "proto"), same_bytes("b64_standard")),
    Case(B64_ENC_STD, "pybase64", "pybase64.b64encode(b)",
         _call(pybase64, "b64encode", "proto"), same_bytes("b64_standard")),
    Case(B64_ENC_STD, "stdlib", "base64.b64encode(b) (stdlib)",
         _call(stdlib, "b64encode", "proto"), same_bytes("b64_standard")),
    # --- base64 encode, URL-safe alphabet, no padding (what tf.io.encode_base64 writes)
    Case(B64_ENC_URL, "native", "tensorwire native b64encode(b, urlsafe=True, pad=False)",
         _call(native_base64, "b64encode", "proto", urlsafe=True, pad=False), same_bytes("b64_urlsafe"), native=True),
    Case(B64_ENC_URL, "reference", "tensorwire reference b64encode(b, urlsafe=True, pad=False)",
         _call(reference_base64, "b64encode", "proto", urlsafe=True, pad=False), same_bytes("b64_urlsafe")),
    Case(B64_ENC_URL, "pybase64", "pybase64.urlsafe_b64encode(b).rstrip(b'=')",
         _unpadded(pybase64, "urlsafe_b64encode", "proto"), same_bytes("b64_urlsafe")),
    Case(B64_ENC_URL, "stdlib", "base64.urlsafe_b64encode(b).rstrip(b'=') (stdlib)",
         _unpadded(stdlib, "urlsafe_b64encode", "proto"), same_bytes("b64_urlsafe")),
    # --- base64 decode, standard alphabet, padded; every alternative validates its input
    Case(B64_DEC_STD, "native", "tensorwire native b64decode(s, alphabet='standard')",
         _call(native_base64, "b64decode", "b64_standard", alphabet="standard"), same_bytes("proto"), native=True),
    Case(B64_DEC_STD, "native-any", "tensorwire native b64decode(s) (alphabet='any', the default)",
         _call(native_base64, "b64decode", "b64_standard"), same_bytes("proto"), native=True),
    Case(B64_DEC_STD, "reference", "tensorwire reference b64decode(s, alphabet='standard')",
         _call(reference_base64, "b64decode", "b64_standard", alphabet="standard"), same_bytes("proto")),
    Case(B64_DEC_STD, "pybase64", "pybase64.b64decode(s, validate=True)",
         _call(pybase64, "b64decode", "b64_standard", validate=True), same_bytes("proto")),
    Case(B64_DEC_STD, "stdlib", "base64.b64decode(s, validate=True) (stdlib)",
         _call(stdlib, "b64decode", "b64_standard", validate=True), same_bytes("proto")),
    # --- base64 decode, URL-safe alphabet, unpadded (the peers need the padding put back)
    Case(B64_DEC_URL, "native", "tensorwire native b64decode(s, alphabet='urlsafe')",
         _call(native_base64, "b64decode", "b64_urlsafe", alphabet="urlsafe"), same_bytes("proto"), native=True),
    Case(B64_DEC_URL, "native-any", "tensorwire native b64decode(s) (alphabet='any', the default)",
         _call(native_base64, "b64decode", "b64_urlsafe"), same_bytes("proto"), native=True),
    Case(B64_DEC_URL, "reference", "tensorwire reference b64decode(s, alphabet='urlsafe')",
         _call(reference_base64, "b64decode", "b64_urlsafe", alphabet="urlsafe"), same_bytes("proto")),
    Case(B64_DEC_URL, "pybase64", "pybase64.b64decode(s + pad, altchars=b'-_', validate=True)",
         _repadded(pybase64, "b64_urlsafe"), same_bytes("proto")),
    Case(B64_DEC_URL, "stdlib", "base64.b64decode(s + pad, altchars=b'-_', validate=True) (stdlib)",
         _repadded(stdlib, "b64_urlsafe"), same_bytes("proto")),
    # --- tf.Example encode: 12 named 256x256 float32 bands -> one tf.Example (sorted keys)
    Case(EXAMPLE_ENCODE, "native", "tensorwire native encode_example(bands)",
         _example_encode(native_example), same_bytes("example"), native=True),
    Case(EXAMPLE_ENCODE, "reference", "tensorwire reference encode_example(bands)",
         _example_encode(reference_example), same_bytes("example")),
    Case(EXAMPLE_ENCODE, "protobuf", "tf.train.Example(... FloatList(value=a.ravel().tolist()) ...)"
         ".SerializeToString(deterministic=True)", _protobuf_encode(_tolist), same_bytes("example")),
    Case(EXAMPLE_ENCODE, "protobuf-ndarray", "tf.train.Example(... FloatList(value=a.ravel()) ...)"
         ".SerializeToString(deterministic=True)", _protobuf_encode(np.ravel), same_bytes("example")),
    # --- tf.Example decode: one tf.Example -> {band: float32 array}
    Case(EXAMPLE_DECODE, "native", "tensorwire native decode_example(b)",
         _example_decode(native_example), same_bands, native=True),
    Case(EXAMPLE_DECODE, "native-spec", "tensorwire native decode_example(b, spec={band: ((256, 256), float32)})",
         _example_decode(native_example, spec=True), same_bands_shaped, native=True),
    Case(EXAMPLE_DECODE, "reference", "tensorwire reference decode_example(b)",
         _example_decode(reference_example), same_bands),
    Case(EXAMPLE_DECODE, "protobuf", "tf.train.Example.FromString(b), numpy.asarray(f.float_list.value, float32) "
         "per band", _protobuf_decode, same_bands),
    Case(EXAMPLE_DECODE, "tf-parse", "tf.io.parse_single_example(b, {band: FixedLenFeature([256, 256], tf.float32)}), "
         ".numpy() per band", _tf_parse_example, same_bands_shaped),
    # --- TFRecord read: every record of a file written by TensorFlow, streamed / kept
    Case(TFRECORD_READ, "native", "for r in tensorwire native read_tfrecord(path) (CRCs checked)",
         _read_tfrecord(native_tfrecord), same_fingerprints, ("records",), native=True),
    Case(TFRECORD_READ, "native-noverify", "for r in tensorwire native read_tfrecord(path, verify=False) (no data CRC)",
         _read_tfrecord(native_tfrecord, verify=False), same_fingerprints, ("records",), native=True),
    Case(TFRECORD_READ, "reference", "for r in tensorwire reference read_tfrecord(path) (CRCs checked)",
         _read_tfrecord(reference_tfrecord), same_fingerprints, ("records",)),
    Case(TFRECORD_READ, "tf-dataset", "for r in tf.data.TFRecordDataset(path): r.numpy() (eager, CRCs checked)",
         _tf_record_dataset(), same_fingerprints, ("records",)),
    Case(TFRECORD_READ, "native-list", "list(tensorwire native read_tfrecord(path)) (every record kept)",
         _read_tfrecord(native_tfrecord, keep=True), same_records, ("records",), native=True),
    Case(TFRECORD_READ, "tf-dataset-list", "[r.numpy() for r in tf.data.TFRecordDataset(path)] (every record kept)",
         _tf_record_dataset(keep=True), same_records, ("records",)),
    # --- HTTP JSON request bodies: {"instances": [...]}, one instance per tile, input "x"
    Case(JSON_ENC_TENSORS, "native", "tensorwire.encode_request({'x': batch}, 'SERIALIZED_TF_TENSORS') (native)",
         _api(native_jsonbody, "encode_request", "SERIALIZED_TF_TENSORS", "batch", "x"), tensors_request, BOTH,
         native=True),
    Case(JSON_ENC_TENSORS, "reference", "tensorwire.encode_request({'x': batch}, 'SERIALIZED_TF_TENSORS') (reference)",
         _api(reference_jsonbody, "encode_request", "SERIALIZED_TF_TENSORS", "batch", "x"), tensors_request, BOTH),
    Case(JSON_ENC_TENSORS, "tf-json", "json.dumps({'instances': [{'x': base64.urlsafe_b64encode("
         "tf.make_tensor_proto(t).SerializeToString()).decode()} for t in batch]})",
         _tf_json_tensors, tensors_request, BOTH),
    Case(JSON_ENC_TENSORS, "protobuf-orjson", "orjson.dumps({'instances': [{'x': pybase64.urlsafe_b64encode("
         "TensorProto(..., tensor_content=t.tobytes()).SerializeToString()).decode()} for t in batch]})",
         _protobuf_orjson_tensors, tensors_request, BOTH),
    # --- the same tile as Earth Engine sends it: 12 inputs B1..B12, each (1, 256, 256, 1)
    Case(JSON_ENC_BANDS, "native", "tensorwire.encode_request({'B1': b1, ..., 'B12': b12}, 'SERIALIZED_TF_TENSORS') "
         "(native)", _api(native_jsonbody, "encode_request", "SERIALIZED_TF_TENSORS", "ee_bands"),
         bands_request("urlsafe"), native=True),
    Case(JSON_ENC_BANDS, "native-one-input", "tensorwire.encode_request({'x': tile[None]}, 'SERIALIZED_TF_TENSORS') "
         "(native; the same bytes as one (1, 256, 256, 12) input)",
         _api(native_jsonbody, "encode_request", "SERIALIZED_TF_TENSORS", "batch", "x"), tensors_request, native=True),
    Case(JSON_ENC_BANDS, "reference", "tensorwire.encode_request({'B1': b1, ..., 'B12': b12}, 'SERIALIZED_TF_TENSORS') "
         "(reference)", _api(reference_jsonbody, "encode_request", "SERIALIZED_TF_TENSORS", "ee_bands"),
         bands_request("urlsafe")),
    Case(JSON_ENC_BANDS, "tf-json", "json.dumps({'instances': [{k: base64.b64encode(tf.make_tensor_proto(b[0])"
         ".SerializeToString()).decode() for k, b in bands.items()}]})", _tf_json_bands, bands_request("standard")),
    Case(JSON_ENC_BANDS, "protobuf-orjson", "orjson.dumps({'instances': [{k: pybase64.urlsafe_b64encode(TensorProto("
         "..., tensor_content=b[0].tobytes()).SerializeToString()).decode() for k, b in bands.items()}]})",
         _protobuf_orjson_bands, bands_request("urlsafe")),
    Case(JSON_ENC_ND, "native", "tensorwire.encode_request(batch, 'ND_ARRAYS') (native)",
         _api(native_jsonbody, "encode_request", "ND_ARRAYS", "batch"), numbers_request, BOTH, native=True),
    Case(JSON_ENC_ND, "reference", "tensorwire.encode_request(batch, 'ND_ARRAYS') (reference)",
         _api(reference_jsonbody, "encode_request", "ND_ARRAYS", "batch"), numbers_request, slow=True),
    Case(JSON_ENC_ND, "orjson-numpy", "orjson.dumps({'instances': batch}, option=orjson.OPT_SERIALIZE_NUMPY)",
         _orjson_numpy, numbers_request, BOTH),
    Case(JSON_ENC_ND, "json-tolist", "json.dumps({'instances': batch.tolist()})",
         _json_tolist, numbers_request, BOTH),
    Case(JSON_ENC_RAW, "native", "tensorwire.encode_request({'x': batch}, 'RAW_JSON') (native)",
         _api(native_jsonbody, "encode_request", "RAW_JSON", "batch", "x"), strings_request, BOTH, native=True),
    Case(JSON_ENC_RAW, "reference", "tensorwire.encode_request({'x': batch}, 'RAW_JSON') (reference)",
         _api(reference_jsonbody, "encode_request", "RAW_JSON", "batch", "x"), strings_request, slow=True),
    Case(JSON_ENC_RAW, "orjson-str", "orjson.dumps({'instances': [{'x': t.astype(str).tolist()} for t in batch]})",
         _orjson_strings, strings_request, BOTH),
    # --- HTTP JSON response bodies {"predictions": [...]} (written by orjson / protobuf) -> float32 array
    Case(JSON_DEC_ND, "native", "tensorwire.decode_response(body, 'ND_ARRAYS', dtype=float32) (native)",
         _api(native_jsonbody, "decode_response", "ND_ARRAYS", "nd_response", dtype=np.float32), same_batch,
         native=True),
    Case(JSON_DEC_ND, "reference", "tensorwire.decode_response(body, 'ND_ARRAYS', dtype=float32) (reference)",
         _api(reference_jsonbody, "decode_response", "ND_ARRAYS", "nd_response", dtype=np.float32), same_batch,
         slow=True),
    Case(JSON_DEC_ND, "orjson", "numpy.asarray(orjson.loads(body)['predictions'], dtype=float32)",
         _orjson_asarray("nd_response"), same_batch),
    Case(JSON_DEC_RAW, "native", "tensorwire.decode_response(body, 'RAW_JSON', dtype=float32) (native)",
         _api(native_jsonbody, "decode_response", "RAW_JSON", "raw_response", dtype=np.float32), same_batch,
         native=True),
    Case(JSON_DEC_RAW, "reference", "tensorwire.decode_response(body, 'RAW_JSON', dtype=float32) (reference)",
         _api(reference_jsonbody, "decode_response", "RAW_JSON", "raw_response", dtype=np.float32), same_batch,
         slow=True),
    Case(JSON_DEC_RAW, "orjson", "numpy.asarray(orjson.loads(body)['predictions'], dtype=float32) (parses the strings)",
         _orjson_asarray("raw_response"), same_batch),
    Case(JSON_DEC_TENSORS, "native",
         "tensorwire.decode_response(body, 'SERIALIZED_TF_TENSORS', dtype=float32) (native)",
         _api(native_jsonbody, "decode_response", "SERIALIZED_TF_TENSORS", "tensors_response", dtype=np.float32),
         same_batch, BOTH, native=True),
    Case(JSON_DEC_TENSORS, "reference",
         "tensorwire.decode_response(body, 'SERIALIZED_TF_TENSORS', dtype=float32) (reference)",
         _api(reference_jsonbody, "decode_response", "SERIALIZED_TF_TENSORS", "tensors_response", dtype=np.float32),
         same_batch, slow=True),
    Case(JSON_DEC_TENSORS, "orjson-pybase64-tf", "numpy.stack([tf.make_ndarray(TensorProto.FromString("
         "pybase64.urlsafe_b64decode(s + pad))) for s in orjson.loads(body)['predictions']])",
         _orjson_pybase64_tf, same_batch, BOTH),
    # --- the general predict body (PayloadFormat.JSON): 32 instances {"image": {"b64": ...}} of 100 KB each
    Case(GENERAL_DEC_B64, "native", "tensorwire.decode_request(body, 'JSON') (native; -> object array of bytes)",
         _general(native_jsonbody, "decode_request", "request"), same_blobs, ("blobs32",), native=True),
    Case(GENERAL_DEC_B64, "reference", "tensorwire.decode_request(body, 'JSON') (reference)",
         _general(reference_jsonbody, "decode_request", "request"), same_blobs, ("blobs32",)),
    Case(GENERAL_DEC_B64, "orjson-pybase64", "numpy.array([pybase64.b64decode(i['image']['b64'], validate=True) "
         "for i in orjson.loads(body)['instances']], dtype=object)", _orjson_pybase64_decode(), same_blobs,
         ("blobs32",)),
    Case(GENERAL_DEC_B64, "orjson-pybase64-list", "[pybase64.b64decode(i['image']['b64'], validate=True) "
         "for i in orjson.loads(body)['instances']] (a list)", _orjson_pybase64_decode(as_list=True), same_blobs,
         ("blobs32",)),
    Case(GENERAL_DEC_B64, "json-base64", "numpy.array([base64.b64decode(i['image']['b64'], validate=True) "
         "for i in json.loads(body)['instances']], dtype=object) (stdlib)", _json_base64_decode, same_blobs,
         ("blobs32",)),
    Case(GENERAL_ENC_B64, "native", "tensorwire.encode_request({'image': object_array_of_bytes}, 'JSON') (native)",
         _general(native_jsonbody, "encode_request", "objects", "image"), blobs_request, ("blobs32",), native=True),
    Case(GENERAL_ENC_B64, "reference", "tensorwire.encode_request({'image': object_array_of_bytes}, 'JSON') "
         "(reference)", _general(reference_jsonbody, "encode_request", "objects", "image"), blobs_request,
         ("blobs32",)),
    Case(GENERAL_ENC_B64, "orjson-pybase64", "orjson.dumps({'instances': [{'image': {'b64': "
         "pybase64.b64encode(b).decode()}} for b in blobs]})", _orjson_pybase64_encode(), blobs_request,
         ("blobs32",)),
    Case(GENERAL_ENC_B64, "orjson-pybase64-str", "orjson.dumps({'instances': [{'image': {'b64': "
         "pybase64.b64encode_as_string(b)}} for b in blobs]})", _orjson_pybase64_encode(as_string=True),
         blobs_request, ("blobs32",)),
    Case(GENERAL_ENC_B64, "json-base64", "json.dumps({'instances': [{'image': {'b64': "
         "base64.b64encode(b).decode()}} for b in blobs]}) (stdlib)", _json_base64_encode, blobs_request,
         ("blobs32",)),
    # --- a text classifier's request: 10,000 bare strings {"instances": ["...", ...]}
    Case(GENERAL_DEC_TEXT, "native", "tensorwire.decode_request(body, 'JSON') (native; -> object array of str)",
         _general(native_jsonbody, "decode_request", "request"), same_strings, ("texts10k",), native=True),
    Case(GENERAL_DEC_TEXT, "reference", "tensorwire.decode_request(body, 'JSON') (reference)",
         _general(reference_jsonbody, "decode_request", "request"), same_strings, ("texts10k",)),
    Case(GENERAL_DEC_TEXT, "orjson-numpy", "numpy.array(orjson.loads(body)['instances'], dtype=object)",
         _orjson_strings_decode(), same_strings, ("texts10k",)),
    Case(GENERAL_DEC_TEXT, "orjson-list", "orjson.loads(body)['instances'] (a list)",
         _orjson_strings_decode(as_list=True), same_strings, ("texts10k",)),
    Case(GENERAL_DEC_TEXT, "json", "numpy.array(json.loads(body)['instances'], dtype=object)",
         _json_strings_decode, same_strings, ("texts10k",)),
    Case(GENERAL_ENC_TEXT, "native", "tensorwire.encode_request(object_array_of_str, 'JSON') (native)",
         _general(native_jsonbody, "encode_request", "objects"), strings_body, ("texts10k",), native=True),
    Case(GENERAL_ENC_TEXT, "native-unicode", "tensorwire.encode_request(numpy_U_array, 'JSON') (native; "
         "the same strings as a numpy.str_ array)",
         _general(native_jsonbody, "encode_request", "unicode"), strings_body, ("texts10k",), native=True),
    Case(GENERAL_ENC_TEXT, "reference", "tensorwire.encode_request(object_array_of_str, 'JSON') (reference)",
         _general(reference_jsonbody, "encode_request", "objects"), strings_body, ("texts10k",)),
    Case(GENERAL_ENC_TEXT, "orjson", "orjson.dumps({'instances': list_of_str})",
         _orjson_strings_encode, strings_body, ("texts10k",)),
    Case(GENERAL_ENC_TEXT, "json", "json.dumps({'instances': list_of_str})",
         _json_strings_encode, strings_body, ("texts10k",)),
    # --- numbers in the general format against ND_ARRAYS: the same body text, the same arrays
    Case(GENERAL_DEC_NUM, "native", "tensorwire.decode_response(body, 'JSON') (native; kinds inferred: float32)",
         _general(native_jsonbody, "decode_response", "nd_response"), same_batch, native=True),
    Case(GENERAL_DEC_NUM, "native-dtype", "tensorwire.decode_response(body, 'JSON', dtype=float32) (native)",
         _general(native_jsonbody, "decode_response", "nd_response", dtype=np.float32), same_batch, native=True),
    Case(GENERAL_DEC_NUM, "nd-arrays", "tensorwire.decode_response(body, 'ND_ARRAYS') (native)",
         _api(native_jsonbody, "decode_response", "ND_ARRAYS", "nd_response"), same_batch, native=True),
    Case(GENERAL_DEC_NUM, "reference", "tensorwire.decode_response(body, 'JSON') (reference)",
         _general(reference_jsonbody, "decode_response", "nd_response"), same_batch, slow=True),
    Case(GENERAL_ENC_NUM, "native", "tensorwire.encode_request(batch, 'JSON') (native)",
         _general(native_jsonbody, "encode_request", "batch"), numbers_request, BOTH, native=True),
    Case(GENERAL_ENC_NUM, "nd-arrays", "tensorwire.encode_request(batch, 'ND_ARRAYS') (native)",
         _api(native_jsonbody, "encode_request", "ND_ARRAYS", "batch"), numbers_request, BOTH, native=True),
    Case(GENERAL_ENC_NUM, "reference", "tensorwire.encode_request(batch, 'JSON') (reference)",
         _general(reference_jsonbody, "encode_request", "batch"), numbers_request, slow=True),
)

GROUPS = tuple(dict.fromkeys(c.group for c in CASES))


@dataclass(frozen=True)
class Target:
    """A goal from the issue, comparing two cases of ``group`` on ``payload``.

    ``kind="time"``: time(case) <= limit * time(baseline).
    ``kind="speed"``: time(baseline) / time(case) >= limit (case is ``limit`` times as fast).
    """

    group: str
    case: str
    baseline: str
    kind: str
    limit: float
    text: str
    payload: str = "tile"

    def measured(self, case_seconds, baseline_seconds):
        """The ratio the limit applies to."""
        if self.kind == "time":
            return case_seconds / baseline_seconds
        return baseline_seconds / case_seconds

    def passed(self, ratio):
        return ratio <= self.limit if self.kind == "time" else ratio >= self.limit

    @property
    def requirement(self):
        return f"time <= {self.limit:g}x" if self.kind == "time" else f"speed >= {self.limit:g}x"


TARGETS = (
    Target(TENSOR_ENCODE, "native", "tobytes", "time", 1.3, "encode within 1.3x the time of a.tobytes()"),
    Target(TENSOR_ENCODE, "native", "protobuf", "speed", 3.0, "encode >= 3x faster than the protobuf route"),
    Target(TENSOR_DECODE, "native", "tf-make-ndarray", "speed", 3.0,
           "decode (copy=True) >= 3x faster than tf.make_ndarray(TensorProto.FromString(b))"),
    *(
        Target(group, "native", "pybase64", "speed", 0.9, f"{group}: >= 0.9x pybase64's throughput")
        for group in (B64_ENC_STD, B64_ENC_URL, B64_DEC_STD, B64_DEC_URL)
    ),
    Target(EXAMPLE_ENCODE, "native", "protobuf", "speed", 100.0,
           "tf.Example encode >= 100x faster than building tf.train.Example with protobuf"),
    Target(EXAMPLE_DECODE, "native", "protobuf", "speed", 1.5,
           "tf.Example decode >= 1.5x faster than protobuf parse + numpy.asarray per band"),
    Target(TFRECORD_READ, "native", "tf-dataset", "speed", 2.0,
           "TFRecord read, streamed (CRCs checked) >= 2x faster than tf.data.TFRecordDataset iterated eagerly",
           payload="records"),
    *(
        target
        for payload in BOTH
        for target in (
            Target(JSON_ENC_TENSORS, "native", "tf-json", "speed", 50.0,
                   f"SERIALIZED_TF_TENSORS request ({payload}) >= 50x faster than tf.make_tensor_proto + base64 "
                   "+ json.dumps", payload),
            Target(JSON_ENC_TENSORS, "native", "protobuf-orjson", "speed", 1.5,
                   f"SERIALIZED_TF_TENSORS request ({payload}) >= 1.5x faster than protobuf + pybase64 + orjson",
                   payload),
            Target(JSON_ENC_ND, "native", "orjson-numpy", "speed", 1.0,
                   f"ND_ARRAYS request ({payload}) at least as fast as orjson.dumps(OPT_SERIALIZE_NUMPY)", payload),
            Target(JSON_ENC_ND, "native", "json-tolist", "speed", 20.0,
                   f"ND_ARRAYS request ({payload}) >= 20x faster than json.dumps(a.tolist())", payload),
            Target(JSON_ENC_RAW, "native", "orjson-str", "speed", 10.0,
                   f"RAW_JSON request ({payload}) >= 10x faster than orjson.dumps(a.astype(str).tolist())", payload),
        )
    ),
    Target(JSON_ENC_BANDS, "native", "tf-json", "speed", 50.0,
           "SERIALIZED_TF_TENSORS request of 12 single-band (1, 256, 256, 1) inputs >= 50x faster than "
           "tf.make_tensor_proto + base64 + json.dumps per band"),
    Target(JSON_ENC_BANDS, "native", "native-one-input", "time", 1.2,
           "12 single-band inputs within 1.2x the time of one 12-band input of the same bytes"),
    Target(JSON_DEC_ND, "native", "orjson", "speed", 4.0,
           "ND_ARRAYS response decode >= 4x faster than numpy.asarray(orjson.loads(body)[...], float32)"),
    Target(JSON_DEC_RAW, "native", "orjson", "speed", 4.0,
           "RAW_JSON response decode >= 4x faster than numpy.asarray(orjson.loads(body)[...], float32)"),
    Target(GENERAL_DEC_B64, "native", "orjson-pybase64", "speed", 1.5,
           "JSON b64 request decode (32 x 100 KB) >= 1.5x faster than orjson.loads + pybase64.b64decode",
           "blobs32"),
    Target(GENERAL_ENC_B64, "native", "orjson-pybase64", "speed", 1.5,
           "JSON b64 request encode (32 x 100 KB) >= 1.5x faster than pybase64.b64encode + orjson.dumps",
           "blobs32"),
    Target(GENERAL_DEC_TEXT, "native", "orjson-numpy", "speed", 1.0,
           "JSON text request decode (10,000 strings) at least as fast as numpy.array(orjson.loads(body)[...], "
           "dtype=object)", "texts10k"),
    Target(GENERAL_ENC_TEXT, "native", "orjson", "speed", 1.0,
           "JSON text request encode (10,000 strings) at least as fast as orjson.dumps(list_of_str)", "texts10k"),
    Target(GENERAL_DEC_NUM, "native", "nd-arrays", "time", 1.1,
           "JSON response decode of numbers within 1.1x the time of ND_ARRAYS on the same body"),
    *(
        Target(GENERAL_ENC_NUM, "native", "nd-arrays", "time", 1.1,
               f"JSON request encode of numbers ({payload}) within 1.1x the time of ND_ARRAYS", payload)
        for payload in BOTH
    ),
)


def check_table():
    """Internal consistency of the tables above (run by the pytest benchmarks and report.py)."""
    seen = set()
    for c in CASES:
        assert (c.group, c.key) not in seen, f"duplicate case {c.group}/{c.key}"
        seen.add((c.group, c.key))
    for t in TARGETS:
        assert t.kind in ("time", "speed"), t
        for key in (t.case, t.baseline):
            assert any(c.group == t.group and c.key == key and t.payload in c.payloads for c in CASES), (t, key)
