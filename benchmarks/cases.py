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

Oracles are independent of tensorwire: expected TensorProto bytes come from TensorFlow's
generated ``tensor_pb2``; expected base64 from the stdlib; expected tf.Example bytes from
``example_pb2`` (``SerializeToString(deterministic=True)``); the TFRecord file from
``tf.io.TFRecordWriter``, its records checked against their SHA-256 digests (kept) or
fingerprints (streamed).

Missing pieces: the Cython twins are required, unless ``TENSORWIRE_PURE_PYTHON=1`` is set, in
which case their cases raise :class:`Unavailable` (pytest skips them, report.py lists them as
unavailable).  TensorFlow and pybase64 are always required (they are in the ``test`` extra).
"""

import base64 as stdlib_base64
import hashlib
import importlib
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
        if _backend._pure_requested():
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


RECORDS = 64  # 64 x 3.1 MB = 201 MB
SMOKE_RECORDS = 3
SMOKE = {"records": "records-smoke"}  # the payload a smoke run (--benchmark-disable) uses instead


def make_payloads():
    tile = Payload("tile", make_tile())
    return {
        "tile": tile,
        "batch8": Payload("batch8", make_tile(batch=BATCH)),
        "records": RecordsPayload("records", RECORDS, tile),
        "records-smoke": RecordsPayload("records-smoke", SMOKE_RECORDS, tile),
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
BOTH = ("tile", "batch8")


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
