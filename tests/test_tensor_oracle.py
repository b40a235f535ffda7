"""TensorProto codec against live oracles: TensorFlow 2.21 and the protobuf runtime.

TensorFlow is imported unconditionally: a missing TensorFlow fails this module, it never skips.
Each test runs for both backends (``codecs`` fixture).  TensorFlow calls cost milliseconds, so
the hypothesis tests here run fewer examples than the rest of the suite.

TensorFlow/numpy peculiarities met while writing these tests (each is handled where noted):

* ``tf.make_tensor_proto`` writes float32 values (float_val; complex64 parts in scomplex_val)
  through Python floats, i.e. C doubles, and the float -> double conversion quiets signalling
  NaNs (sets mantissa bit 22).  Our ``form="proto"`` does the same, so its bytes match; the
  round trip of such a tensor is therefore not bit-exact (see common.expected_round_trip).
  ``tf.make_ndarray`` quiets them again when *reading* float_val/scomplex_val; ``tf.io.parse_tensor``
  (C++) and our decoders keep every bit.
* ``tf.make_tensor_proto`` of a big-endian array writes the big-endian bytes unconverted into
  tensor_content (more than one element), and raises TypeError for one element.  We write
  little-endian values instead, so big-endian input is only compared via its little-endian copy.
  ``tf.io.serialize_tensor`` converts big-endian input correctly.
* ``S`` arrays lose trailing NUL bytes on item access in numpy; TensorFlow and our encoders both
  write the stripped items (object arrays keep every byte).
* ``tf.make_ndarray`` pads a DT_STRING tensor with missing values with ``""`` (str), where
  ``tf.io.parse_tensor`` and we give ``b""``.
* ``.numpy()`` of a rank-0 string tensor is a ``bytes`` object, not an array.
* A numpy bool array holding bytes other than 0/1 (only reachable through views) is written
  raw by TensorFlow and by us alike; decoding such content is a DecodeError for us.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported: quiet logs

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402  (plain import: a missing TensorFlow must fail, not skip)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2  # noqa: E402

from common import as_decoded, assert_identical, expected_round_trip, golden_array, quiet_f32_nans  # noqa: E402
import strategies as S  # noqa: E402
import tensorwire.testing as twt  # noqa: E402

pytestmark = pytest.mark.oracle

BF16 = np.dtype(ml_dtypes.bfloat16)
TF_DTYPE = {
    np.dtype("<f2"): tf.float16, np.dtype("<f4"): tf.float32, np.dtype("<f8"): tf.float64, BF16: tf.bfloat16,
    np.dtype("i1"): tf.int8, np.dtype("<i2"): tf.int16, np.dtype("<i4"): tf.int32, np.dtype("<i8"): tf.int64,
    np.dtype("u1"): tf.uint8, np.dtype("<u2"): tf.uint16, np.dtype("<u4"): tf.uint32, np.dtype("<u8"): tf.uint64,
    np.dtype("?"): tf.bool, np.dtype("<c8"): tf.complex64, np.dtype("<c16"): tf.complex128,
}
GOLDEN = json.loads((Path(__file__).parent / "data" / "tensors.json").read_text())


def test_tensorflow_is_the_version_the_golden_vectors_came_from():
    assert tf.__version__.startswith("2.21"), tf.__version__
    assert GOLDEN["producer"] == f"tensorflow {tf.__version__}"


@pytest.fixture(scope="session")
def tensor(codecs):
    """The tensor codec module of one backend (hypothesis tests cannot take ``codecs`` itself:
    see the fixture of the same name in test_tensor.py)."""
    return codecs.tensor


def tf_dtype(x):
    return tf.string if x.dtype.kind in "OSU" else TF_DTYPE[x.dtype.newbyteorder("<") if x.dtype != BF16 else BF16]


def tf_array(value, like):
    """A TensorFlow result as an array shaped like ``like`` (strings as object arrays of bytes)."""
    if like.dtype == object:
        out = np.empty(like.size, dtype=object)
        out[:] = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in np.asarray(value, dtype=object).reshape(-1).tolist()]
        return out.reshape(np.shape(value))
    return np.asarray(value)


def assert_equal_modulo_f32_quieting(got, want):
    """assert_identical, except that signalling float32 NaNs count as their quiet twins (for
    values that went through tf.make_ndarray's Python-float path)."""
    if want.dtype in (np.float32, np.complex64):
        got, want = quiet_f32_nans(np.asarray(got)), quiet_f32_nans(want)
    assert_identical(np.asarray(got), want)


# --------------------------------------------------------------------------------------------
# the golden vectors are still what TensorFlow writes


@pytest.mark.parametrize("case", [c for c in GOLDEN["cases"] if "array" in c], ids=lambda c: c["name"])
def test_golden_vectors_match_live_tensorflow(case):
    x = golden_array(case["array"])
    assert tf.io.serialize_tensor(x).numpy().hex() == case["serialize_tensor_hex"]
    assert tf.make_tensor_proto(x).SerializeToString().hex() == case["make_tensor_proto_hex"]


@pytest.mark.parametrize("case", [c for c in GOLDEN["cases"] if "proto_hex" in c], ids=lambda c: c["name"])
def test_golden_decode_only_vectors_match_live_tensorflow(case):
    want = as_decoded(golden_array(case["expect"]))
    data = bytes.fromhex(case["proto_hex"])
    assert_identical(tf_array(tf.io.parse_tensor(data, tf_dtype(want)).numpy(), want), want)
    assert_identical(tf_array(tf.make_ndarray(tensor_pb2.TensorProto.FromString(data)), want), want)


# --------------------------------------------------------------------------------------------
# encoding: our bytes are TensorFlow's bytes


@settings(max_examples=80)
@given(x=S.tensors())
def test_content_form_is_serialize_tensor(tensor, x):
    ours = tensor.encode_tensor(x, form="content")
    theirs = tf.io.serialize_tensor(x).numpy()
    assert ours == theirs
    want = as_decoded(x)
    # TensorFlow reads our bytes back to x, and we read TensorFlow's
    assert_identical(tf_array(tf.io.parse_tensor(ours, tf_dtype(x)).numpy(), want), want)
    assert_identical(tensor.decode_tensor(theirs), want)
    # the protobuf runtime re-serializes our bytes unchanged (canonical field order and form)
    assert tensor_pb2.TensorProto.FromString(ours).SerializeToString(deterministic=True) == ours


@settings(max_examples=80)
@given(x=S.tensors())
def test_proto_form_is_make_tensor_proto(tensor, x):
    ours = tensor.encode_tensor(x, form="proto")
    proto = tf.make_tensor_proto(x)
    theirs = proto.SerializeToString()
    assert ours == theirs
    want = expected_round_trip(x, "proto")  # float32 signalling NaNs quieted, like TensorFlow
    assert_identical(tf_array(tf.io.parse_tensor(ours, tf_dtype(x)).numpy(), want), want)
    assert_identical(tensor.decode_tensor(theirs), want)
    # TensorFlow's Python reader agrees (it quiets float32 NaNs it reads from float_val)
    assert_equal_modulo_f32_quieting(tf_array(tf.make_ndarray(tensor_pb2.TensorProto.FromString(ours)), want), want)
    # the protobuf runtime's own serializations of the same message decode the same
    parsed = tensor_pb2.TensorProto.FromString(theirs)
    for data in (parsed.SerializeToString(), parsed.SerializeToString(deterministic=True)):
        assert data == ours  # proto3 has one canonical encoding of this message
        assert_identical(tensor.decode_tensor(data), want)


@settings(max_examples=40)
@given(pair=S.strided_views(S.tensors()))
def test_non_contiguous_input_matches_tensorflow(tensor, pair):
    view, contiguous = pair
    # big-endian views are compared through their little-endian copy: make_tensor_proto writes
    # big-endian bytes unconverted (see the module docstring); serialize_tensor gets them right.
    for_tf = view if view.dtype.isnative or view.dtype.kind in "OSU" else contiguous
    assert tensor.encode_tensor(view, form="content") == tf.io.serialize_tensor(view).numpy()
    assert tensor.encode_tensor(view, form="proto") == tf.make_tensor_proto(for_tf).SerializeToString()


def test_signalling_nan_quieting_is_tensorflows():
    """Pins the TensorFlow behaviour our proto form copies: float_val and scomplex_val quiet
    signalling NaNs, double_val, half_val and tensor_content keep them."""
    snan32 = np.array([0x7F800001], np.uint32).view(np.float32)
    snan64 = np.array([0x7FF0000000000001], np.uint64).view(np.float64)
    snan16 = np.array([0x7C01], np.uint16).view(np.float16)
    proto = tf.make_tensor_proto(snan32)
    assert np.array(proto.float_val, np.float32).view(np.uint32)[0] == 0x7FC00001
    assert np.array(tf.make_tensor_proto(snan64).double_val, np.float64).view(np.uint64)[0] == 0x7FF0000000000001
    assert list(tf.make_tensor_proto(snan16).half_val) == [0x7C01]
    assert tf.make_tensor_proto(np.concatenate([snan32, snan32])).tensor_content == snan32.tobytes() * 2
    c = np.array([0x7F800001, 0x7F800002], np.uint32).view(np.complex64)
    assert np.array(tf.make_tensor_proto(c).scomplex_val, np.float32).view(np.uint32).tolist() == [0x7FC00001, 0x7FC00002]
    assert tf.io.serialize_tensor(snan32).numpy().endswith(snan32.tobytes())


def test_big_endian_input_is_written_little_endian(tensor):
    for x in (np.array([1.5, -2, 3], dtype=">f4"), np.array([[1, -2]], dtype=">i8"), np.array(1.5, dtype=">f2")):
        little = x.astype(x.dtype.newbyteorder("<"))
        assert tensor.encode_tensor(x, form="proto") == tf.make_tensor_proto(little).SerializeToString()
        assert tensor.encode_tensor(x) == tf.io.serialize_tensor(x).numpy() == tf.io.serialize_tensor(little).numpy()


# --------------------------------------------------------------------------------------------
# decoding: we read what TensorFlow reads


@settings(max_examples=120)
@given(pair=S.tensor_proto_encodings())
def test_decode_agrees_with_tensorflow_on_any_valid_encoding(tensor, pair):
    """Encodings any protobuf writer may produce (reordered, unknown fields, unpacked,
    shortened, ...): TensorFlow's C++ parser, its Python reader and ours give the same array."""
    data, want = pair
    assert_identical(tensor.decode_tensor(data), want)
    assert_identical(tf_array(tf.io.parse_tensor(data, tf_dtype(want)).numpy(), want), want)
    assert_equal_modulo_f32_quieting(tf_array(tf.make_ndarray(tensor_pb2.TensorProto.FromString(data)), want), want)
    # and after a round trip through the protobuf runtime (which drops unknown fields and
    # packs repeated values), still the same
    reserialized = tensor_pb2.TensorProto.FromString(data).SerializeToString(deterministic=True)
    assert_identical(tensor.decode_tensor(reserialized), want)


def _dims(shape):
    return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape])


@settings(max_examples=80)
@given(
    shape=twt.shapes(max_dims=3),
    kind=st.sampled_from(["float_val", "double_val", "int_val", "int64_val", "bool_val", "half_val", "uint32_val", "uint64_val", "string_val", "scomplex_val", "dcomplex_val"]),
    data=st.data(),
)
def test_decode_of_protos_built_with_protobuf(tensor, shape, kind, data):
    """TensorProtos built field by field with the protobuf runtime, typed values shorter than
    the tensor included: we decode what tf.io.parse_tensor decodes."""
    n = int(np.prod(shape))
    count = data.draw(st.integers(0, n), label="values")
    dtype_number, elements = {
        "float_val": (1, st.floats(width=32)),
        "double_val": (2, st.floats()),
        "int_val": (3, st.integers(-(2**31), 2**31 - 1)),
        "int64_val": (9, st.integers(-(2**63), 2**63 - 1)),
        "bool_val": (10, st.booleans()),
        "half_val": (19, st.integers(0, 0xFFFF)),
        "uint32_val": (22, st.integers(0, 2**32 - 1)),
        "uint64_val": (23, st.integers(0, 2**64 - 1)),
        "string_val": (7, st.binary(max_size=6)),
        "scomplex_val": (8, st.floats(width=32)),
        "dcomplex_val": (18, st.floats()),
    }[kind]
    per = 2 if kind.endswith("complex_val") else 1
    values = data.draw(st.lists(elements, min_size=count * per, max_size=count * per), label="scalars")
    proto = tensor_pb2.TensorProto(dtype=dtype_number, tensor_shape=_dims(shape), version_number=data.draw(st.integers(0, 3)))
    getattr(proto, kind).extend(values)
    encoded = proto.SerializeToString()
    want = tf.io.parse_tensor(encoded, tf.dtypes.as_dtype(dtype_number))
    want = np.asarray(want.numpy(), dtype=object) if dtype_number == 7 else want.numpy()
    assert_identical(tensor.decode_tensor(encoded), want)


def test_decode_of_a_proto_with_named_dims_and_version(tensor):
    proto = tensor_pb2.TensorProto(
        dtype=9,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2, name="batch"), tensor_shape_pb2.TensorShapeProto.Dim(size=3)]
        ),
        version_number=3,
        int64_val=[-1, 5],
    )
    want = np.array([[-1, 5, 5], [5, 5, 5]], dtype=np.int64)
    assert_identical(tf.make_ndarray(proto), want)
    assert_identical(tensor.decode_tensor(proto.SerializeToString()), want)
    proto = tensor_pb2.TensorProto(dtype=19, half_val=[0x3C00])
    assert_identical(tensor.decode_tensor(proto.SerializeToString(deterministic=True)), np.array(1, np.float16))


# --------------------------------------------------------------------------------------------
# dtype= behaves like tf.io.parse_tensor's out_type


@pytest.mark.parametrize("dtype", twt.NUMERIC_DTYPES, ids=str)
def test_dtype_mismatch_is_an_error_for_tensorflow_too(tensor, dtype):
    from tensorwire import DecodeError

    data = tf.io.serialize_tensor(np.ones(2, dtype)).numpy()
    other = np.dtype("<f8") if dtype != np.dtype("<f8") else np.dtype("<f4")
    with pytest.raises(tf.errors.InvalidArgumentError, match="(?i)type mismatch"):
        tf.io.parse_tensor(data, TF_DTYPE[other])
    with pytest.raises(DecodeError, match="type mismatch"):
        tensor.decode_tensor(data, dtype=other)
    assert_identical(tensor.decode_tensor(data, dtype=dtype), np.ones(2, dtype))
