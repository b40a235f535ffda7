"""Malformed TensorProto input: every backend raises DecodeError, and both raise the same one.

Each hand-written case runs against both backends (``codecs`` fixture: DecodeError with the
expected message) and crossed (``both`` fixture: same exception type and message).  Hypothesis
then damages valid encodings at random: the backends must agree exactly (equal arrays, or
DecodeError with the same message) and never raise anything else.  The wire bytes here are
written by hand from docs/tensor-proto.md, not by the code under test.
"""

import re
import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common import decoded_outcome
from strategies import malformed_seed_protos, mutated_tensor_protos
from tensorwire.testing import wire_len, wire_tag, wire_varint
from tensorwire.errors import DecodeError

P = "TensorProto: "


# A tiny wire writer, independent of the code under test (shared with the strategies).
v = wire_varint
tag = wire_tag
ld = wire_len


def shape(*dims):
    return ld(2, b"".join(ld(2, tag(1, 0) + v(d) if d else b"") for d in dims))


def dtype(dt):
    return tag(1, 0) + v(dt)


def proto(dt, dims, *rest):
    return dtype(dt) + shape(*dims) + b"".join(rest)


F32_2 = proto(1, [2])  # 08 01 12 04 12 02 08 02: float32 of shape [2], 8 bytes
F32_2x2 = proto(1, [2, 2])  # 12 bytes


def outcome(mod, data, **kw):
    """What decoding gives: ("error", type, message) for DecodeError, else the array's identity.
    Any other exception propagates and fails the test."""
    got = decoded_outcome(mod.decode_tensor, data, errors=DecodeError, canonical=array_identity, **kw)
    return got if got[0] == "error" else ("ok", *got[1])


def array_identity(arr):
    """An array's dtype, shape and content, comparable with ``==``."""
    assert isinstance(arr, np.ndarray)
    return arr.dtype.str, arr.shape, arr.tolist() if arr.dtype == object else arr.tobytes()


# --- hand-written cases -----------------------------------------------------------------------
# (id, data, decode kwargs, expected message: a str is matched exactly, a compiled pattern fully)

LONG = b"\xff" * 10 + b"\x01"  # an 11-byte varint

CASES = [
    # varints over 10 bytes, wherever a varint is read
    ("varint11-tag", LONG, {}, P + "varint longer than 10 bytes at offset 0"),
    ("varint11-dtype", b"\x08" + LONG, {}, P + "varint longer than 10 bytes at offset 1"),
    ("varint11-length", F32_2 + b"\x22" + LONG, {}, P + "varint longer than 10 bytes at offset 9"),
    ("varint11-dim", b"\x08\x01\x12\x0e\x12\x0c\x08" + LONG, {}, P + "varint longer than 10 bytes at offset 7"),
    ("varint11-unknown-rank", b"\x08\x01\x12\x0c\x18" + LONG, {}, P + "varint longer than 10 bytes at offset 5"),
    ("varint11-packed-int_val", dtype(3) + b"\x12\x00\x3a\x0c\x01" + LONG, {}, P + "varint longer than 10 bytes at offset 7"),
    ("varint11-unknown-field", F32_2 + tag(99, 0) + LONG, {}, P + "varint longer than 10 bytes at offset 10"),
    ("varint-cut-in-packed", dtype(9) + b"\x12\x00\x52\x02\x01\x80", {}, P + "truncated varint at offset 7"),
    # length prefixes past the end
    ("length-content", F32_2x2 + b"\x22\x11" + b"\x00" * 16, {},
     P + "length 17 at offset 13 runs past the end of the message (16 bytes left)"),
    ("length-shape", b"\x08\x01\x12\x05\x12\x02\x08\x02", {},
     P + "length 5 at offset 3 runs past the end of the message (4 bytes left)"),
    ("length-dim-past-shape", b"\x08\x01\x12\x04\x12\x03\x08\x02" + b"\x2a\x00", {},
     P + "length 3 at offset 5 runs past the end of the message (2 bytes left)"),
    ("length-string_val", proto(7, [1]) + b"\x42\x05abcd", {},
     P + "length 5 at offset 9 runs past the end of the message (4 bytes left)"),
    ("length-packed-float_val", F32_2 + b"\x2a\x09" + b"\x00" * 8, {},
     P + "length 9 at offset 9 runs past the end of the message (8 bytes left)"),
    ("length-unknown-field", F32_2 + tag(99, 2) + b"\x03ab", {},
     P + "length 3 at offset 10 runs past the end of the message (2 bytes left)"),
    ("length-2**64-1", F32_2 + b"\x22" + v((1 << 64) - 1), {},
     P + "length 18446744073709551615 at offset 9 runs past the end of the message (0 bytes left)"),
    ("length-2**63", F32_2 + b"\x22" + v(1 << 63) + b"xyz", {},
     P + "length 9223372036854775808 at offset 9 runs past the end of the message (3 bytes left)"),
    # invalid tags, truncated fixed-width fields
    ("tag-0", b"\x00", {}, P + "invalid tag 0 at offset 0"),
    ("tag-field-0", F32_2 + b"\x07", {}, P + "invalid tag 7 at offset 8"),
    ("tag-above-32-bits", b"\x80\x80\x80\x80\x10", {}, P + "invalid tag 4294967296 at offset 0"),
    ("fixed32-cut", F32_2 + tag(5, 5) + b"\x00\x00", {}, P + "truncated fixed32 field 5 at offset 9"),
    ("fixed64-cut", proto(2, [1]) + tag(6, 1) + b"\x00" * 7, {}, P + "truncated fixed64 field 6 at offset 9"),
    ("fixed64-cut-unknown", F32_2 + tag(99, 1) + b"\x00", {}, P + "truncated fixed64 field 99 at offset 10"),
    ("packed-float_val-not-x4", F32_2 + ld(5, b"\x00" * 6), {},
     P + "packed float_val of 6 bytes at offset 10 is not a multiple of 4"),
    ("packed-double_val-not-x8-other-dtype", F32_2 + ld(6, b"\x00" * 12), {},
     P + "packed double_val of 12 bytes at offset 10 is not a multiple of 8"),
    ("packed-dcomplex_val-not-x8", proto(18, [1]) + ld(12, b"\x00" * 4), {},
     P + "packed dcomplex_val of 4 bytes at offset 10 is not a multiple of 8"),
    # unknown, reference and unsupported dtypes
    ("dtype-missing", shape(2), {}, P + "missing or invalid dtype (DT_INVALID)"),
    ("dtype-0", proto(0, [2]), {}, P + "missing or invalid dtype (DT_INVALID)"),
    ("dtype-0-overrides", dtype(1) + proto(0, [2]), {}, P + "missing or invalid dtype (DT_INVALID)"),
    ("dtype-9999", proto(9999, [2]), {}, P + "unknown dtype 9999"),
    ("dtype-minus-1", proto(-1, [2]), {}, P + "unknown dtype -1"),
    ("dtype-100", proto(100, [2]), {}, P + "unknown dtype 100"),
    ("dtype-101", proto(101, [2]), {}, P + "reference dtype DT_FLOAT_REF cannot be serialized"),
    ("dtype-120", proto(120, [2]), {}, P + "reference dtype DT_RESOURCE_REF cannot be serialized"),
    ("dtype-130", proto(130, [2]), {}, P + "reference dtype DT_UINT4_REF cannot be serialized"),
    ("dtype-131", proto(131, [2]), {}, P + "unknown dtype 131"),
    ("dtype-resource", proto(20, [1]), {}, P + "unsupported dtype DT_RESOURCE"),
    ("dtype-variant", proto(21, [1]), {}, P + "unsupported dtype DT_VARIANT"),
    ("dtype-qint8", proto(11, [2], ld(4, b"\x01\x02")), {}, P + "unsupported dtype DT_QINT8"),
    ("dtype-quint8", proto(12, [2]), {}, P + "unsupported dtype DT_QUINT8"),
    ("dtype-qint32", proto(13, [2]), {}, P + "unsupported dtype DT_QINT32"),
    ("dtype-qint16", proto(15, [2]), {}, P + "unsupported dtype DT_QINT16"),
    ("dtype-quint16", proto(16, [2]), {}, P + "unsupported dtype DT_QUINT16"),
    ("dtype-float8", proto(24, [2]), {}, P + "unsupported dtype DT_FLOAT8_E5M2"),
    ("dtype-int4", proto(29, [2]), {}, P + "unsupported dtype DT_INT4"),
    # negative dims, rank, unknown_rank
    ("dim-minus-1", proto(1, [-1]), {}, P + "negative dimension -1 (dim 0) at offset 5"),
    ("dim-min-int64-second", proto(1, [3, -(1 << 63)]), {}, P + "negative dimension -9223372036854775808 (dim 1) at offset 9"),
    ("dim-negative-in-second-shape", proto(1, [3]) + shape(-2), {}, P + "negative dimension -2 (dim 1) at offset 11"),
    ("dim-negative-before-bad-dtype", proto(9999, [-1]), {}, P + "negative dimension -1 (dim 0) at offset 6"),
    ("dim-negative-before-wire-error", proto(1, [-1]) + b"\x00", {}, P + "negative dimension -1 (dim 0) at offset 5"),
    ("rank-65", dtype(1) + ld(2, ld(2, b"") * 65), {}, P + "rank above 64 at offset 134"),
    ("rank-65-over-two-shapes", dtype(1) + ld(2, ld(2, b"") * 40) + ld(2, ld(2, b"") * 25), {},
     P + "rank above 64 at offset 135"),
    ("unknown-rank", dtype(1) + ld(2, tag(3, 0) + v(1)), {}, P + "tensor_shape has unknown_rank set"),
    ("unknown-rank-before-size", dtype(1) + ld(2, tag(3, 0) + v(1)) + shape(1 << 62, 1 << 62), {},
     P + "tensor_shape has unknown_rank set"),
    # element counts: int64 overflow, max_bytes
    ("count-2**64", proto(1, [1 << 32, 1 << 32]), {}, P + "shape [4294967296, 4294967296] has more than 2**63-1 elements"),
    ("count-overflow-before-zero", proto(1, [1 << 62, 2, 0]), {},
     P + "shape [4611686018427387904, 2, 0] has more than 2**63-1 elements"),
    ("count-bad-dtype-first", proto(9999, [1 << 32, 1 << 32]), {}, P + "unknown dtype 9999"),
    ("bytes-2**63-1-floats", proto(1, [(1 << 63) - 1]), {},
     P + "shape [9223372036854775807] of DT_FLOAT needs 36893488147419103228 bytes, over max_bytes=2147483648"),
    ("bytes-10**12-floats", proto(1, [10**12]), {},
     P + "shape [1000000000000] of DT_FLOAT needs 4000000000000 bytes, over max_bytes=2147483648"),
    ("bytes-max_bytes-15", F32_2x2 + ld(4, b"\x00" * 16), {"max_bytes": 15},
     P + "shape [2, 2] of DT_FLOAT needs 16 bytes, over max_bytes=15"),
    ("bytes-strings-8-each", proto(7, [3]), {"max_bytes": 23}, P + "shape [3] of DT_STRING needs 24 bytes, over max_bytes=23"),
    ("bytes-max_bytes-0", proto(10, [1]), {"max_bytes": 0}, P + "shape [1] of DT_BOOL needs 1 bytes, over max_bytes=0"),
    # shapes numpy refuses even when empty: itemsize * product of the non-zero dims > 2**63-1
    ("numpy-empty-too-large", proto(1, [0, 1 << 62]), {},
     P + "shape [0, 4611686018427387904] of DT_FLOAT is too large for a numpy array"),
    ("numpy-empty-too-large-strings", proto(7, [1 << 30, 0, 1 << 30]), {},
     P + "shape [1073741824, 0, 1073741824] of DT_STRING is too large for a numpy array"),
    ("numpy-too-large-huge-max_bytes", proto(2, [1 << 61]), {"max_bytes": 1 << 70},
     P + "shape [2305843009213693952] of DT_DOUBLE is too large for a numpy array"),
    # tensor_content of the wrong length, or where it is not allowed
    ("content-short", F32_2x2 + ld(4, b"\x00" * 15), {},
     P + "tensor_content of 15 bytes at offset 14 does not match shape [2, 2] of DT_FLOAT (16 bytes)"),
    ("content-long", F32_2x2 + ld(4, b"\x00" * 17), {},
     P + "tensor_content of 17 bytes at offset 14 does not match shape [2, 2] of DT_FLOAT (16 bytes)"),
    ("content-scalar-8-bytes", proto(1, []) + ld(4, b"\x00" * 8), {},
     P + "tensor_content of 8 bytes at offset 6 does not match shape [] of DT_FLOAT (4 bytes)"),
    ("content-empty-tensor", proto(1, [0, 3]) + ld(4, b"\x00" * 4), {},
     P + "tensor_content of 4 bytes at offset 12 does not match shape [0, 3] of DT_FLOAT (0 bytes)"),
    ("content-last-wins", F32_2 + ld(4, b"\x00" * 8) + ld(4, b"\x00" * 4), {},
     P + "tensor_content of 4 bytes at offset 20 does not match shape [2] of DT_FLOAT (8 bytes)"),
    ("content-string", proto(7, [1]) + ld(4, b"\x01abc"), {}, P + "tensor_content at offset 10 is not supported for DT_STRING"),
    # more *_val values than elements
    ("float_val-3-for-2", F32_2 + ld(5, b"\x00" * 12), {}, P + "3 float_val values for 2 elements"),
    ("float_val-unpacked-3-for-2", F32_2 + (tag(5, 5) + b"\x00" * 4) * 3, {}, P + "3 float_val values for 2 elements"),
    ("float_val-packed-and-unpacked", F32_2 + ld(5, b"\x00" * 8) + tag(5, 5) + b"\x00" * 4, {},
     P + "3 float_val values for 2 elements"),
    ("float_val-1-for-0", proto(1, [0]) + ld(5, b"\x00" * 4), {}, P + "1 float_val values for 0 elements"),
    ("double_val-2-for-1", proto(2, [1]) + ld(6, b"\x00" * 16), {}, P + "2 double_val values for 1 elements"),
    ("int_val-3-for-2", proto(3, [2]) + ld(7, b"\x01\x02\x03"), {}, P + "3 int_val values for 2 elements"),
    ("int64_val-2-for-scalar", proto(9, []) + ld(10, b"\x01\x02"), {}, P + "2 int64_val values for 1 elements"),
    ("bool_val-2-for-scalar", proto(10, []) + tag(11, 0) + b"\x01" + tag(11, 0) + b"\x00", {},
     P + "2 bool_val values for 1 elements"),
    ("uint32_val-3-for-2", proto(22, [2]) + ld(16, b"\x01\x02\x03"), {}, P + "3 uint32_val values for 2 elements"),
    ("uint64_val-2-for-1", proto(23, [1]) + ld(17, b"\x01\x02"), {}, P + "2 uint64_val values for 1 elements"),
    ("half_val-3-for-2", proto(19, [2]) + ld(13, b"\x01\x02\x03"), {}, P + "3 half_val values for 2 elements"),
    ("string_val-3-for-2", proto(7, [2]) + ld(8, b"a") + ld(8, b"") + ld(8, b"c"), {}, P + "3 string_val values for 2 elements"),
    ("scomplex_val-2-for-1", proto(8, [1]) + ld(9, b"\x00" * 16), {}, P + "2 scomplex_val values for 1 elements"),
    ("scomplex_val-odd", proto(8, [2]) + ld(9, b"\x00" * 12), {}, P + "scomplex_val holds 3 numbers, not (real, imaginary) pairs"),
    ("dcomplex_val-odd-unpacked", proto(18, [2]) + tag(12, 1) + b"\x00" * 8, {},
     P + "dcomplex_val holds 1 numbers, not (real, imaginary) pairs"),
    # bool tensor_content bytes other than 0 and 1
    ("bool-content-2", proto(10, [3]) + ld(4, b"\x01\x02\x00"), {}, P + "bool byte 2 at offset 11 is not 0 or 1"),
    ("bool-content-255-first-bad", proto(10, [4]) + ld(4, b"\x00\x00\xff\x07"), {}, P + "bool byte 255 at offset 12 is not 0 or 1"),
    # half_val / int_val entries out of range for the dtype
    ("half_val-65536", proto(19, [2]) + ld(13, v(0x10000)), {}, P + "half_val value 65536 at index 0 is out of range for DT_HALF"),
    ("half_val-minus-1", proto(19, [2]) + ld(13, v(0x3C00) + v(-1)), {}, P + "half_val value -1 at index 1 is out of range for DT_HALF"),
    ("half_val-bfloat16", proto(14, [1]) + ld(13, v(0x12345)), {}, P + "half_val value 74565 at index 0 is out of range for DT_BFLOAT16"),
    ("int_val-uint8-256", proto(4, [2]) + ld(7, v(256)), {}, P + "int_val value 256 at index 0 is out of range for DT_UINT8"),
    ("int_val-uint8-minus-1", proto(4, [2]) + ld(7, v(-1)), {}, P + "int_val value -1 at index 0 is out of range for DT_UINT8"),
    ("int_val-int8-minus-129", proto(6, [3]) + ld(7, v(-128) + v(127)) + tag(7, 0) + v(-129), {},
     P + "int_val value -129 at index 2 is out of range for DT_INT8"),
    ("int_val-int16-40000", proto(5, [1]) + ld(7, v(40000)), {}, P + "int_val value 40000 at index 0 is out of range for DT_INT16"),
    ("int_val-uint16-65536", proto(17, [1]) + ld(7, v(65536)), {}, P + "int_val value 65536 at index 0 is out of range for DT_UINT16"),
    ("int_val-count-before-range", proto(4, [1]) + ld(7, v(256) + v(1)), {}, P + "2 int_val values for 1 elements"),
    # invalid wire types 6 and 7
    ("wt6-dtype", b"\x0e\x01", {}, P + "invalid wire type 6 for field 1 at offset 1"),
    ("wt7-unknown", F32_2 + tag(99, 7), {}, P + "invalid wire type 7 for field 99 at offset 10"),
    ("wt6-value-field", F32_2 + tag(5, 6), {}, P + "invalid wire type 6 for field 5 at offset 9"),
    ("wt7-in-shape", dtype(1) + ld(2, tag(2, 7)), {}, P + "invalid wire type 7 for field 2 at offset 5"),
    ("wt6-in-dim", dtype(1) + ld(2, ld(2, tag(1, 6))), {}, P + "invalid wire type 6 for field 1 at offset 7"),
    ("wt7-in-group", F32_2 + tag(9, 3) + tag(3, 7), {}, P + "invalid wire type 7 for field 3 at offset 10"),
    # bad groups
    ("group-unexpected-end", F32_2 + tag(5, 4), {}, P + "unexpected end of group 5 at offset 9"),
    ("group-mismatched-end", F32_2 + tag(9, 3) + tag(8, 4), {}, P + "mismatched end of group 9 at offset 9"),
    ("group-unterminated", F32_2 + tag(9, 3) + tag(1, 0) + v(5), {}, P + "truncated varint at offset 11"),
    ("group-too-deep", F32_2 + tag(9, 3) * 65 + tag(9, 4) * 65, {}, P + "groups nested deeper than 64 at offset 73"),
    ("group-bad-inside-dim", dtype(1) + ld(2, ld(2, tag(4, 3) + tag(5, 4))), {}, P + "mismatched end of group 4 at offset 7"),
    ("group-end-in-shape", dtype(1) + ld(2, tag(2, 4)), {}, P + "unexpected end of group 2 at offset 5"),
    # the dtype= argument
    ("dtype-arg-float64", F32_2, {"dtype": np.float64}, P + "type mismatch: data is DT_FLOAT, expected DT_DOUBLE"),
    ("dtype-arg-string", F32_2, {"dtype": "string"}, P + "type mismatch: data is DT_FLOAT, expected DT_STRING"),
    ("dtype-arg-bytes-for-int", proto(3, [1]), {"dtype": bytes}, P + "type mismatch: data is DT_INT32, expected DT_STRING"),
    ("dtype-arg-number", proto(7, [1]), {"dtype": 1}, P + "type mismatch: data is DT_STRING, expected DT_FLOAT"),
    ("dtype-arg-9999", F32_2, {"dtype": 9999}, P + "type mismatch: data is DT_FLOAT, expected DataType 9999"),
    ("dtype-arg-ref", F32_2, {"dtype": 101}, P + "type mismatch: data is DT_FLOAT, expected DT_FLOAT_REF"),
    ("dtype-arg-after-unsupported", proto(20, [1]), {"dtype": np.float32}, P + "unsupported dtype DT_RESOURCE"),
    ("dtype-arg-after-wire-error", F32_2 + b"\x22", {"dtype": np.float64}, P + "truncated varint at offset 9"),
]


@pytest.mark.parametrize("data, kwargs, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_raises(codecs, data, kwargs, message):
    with pytest.raises(DecodeError) as info:
        codecs.tensor.decode_tensor(data, **kwargs)
    assert type(info.value) is DecodeError
    assert str(info.value) == message


@pytest.mark.parametrize("data, kwargs", [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_same_error(both, data, kwargs):
    ref, twin = both
    for source in (data, bytearray(data), memoryview(data), np.frombuffer(data, dtype=np.uint8)):
        a, b = outcome(ref.tensor, source, **kwargs), outcome(twin.tensor, source, **kwargs)
        assert a[0] == "error"
        assert a == b


# The valid neighbours of the cases above: the edge is on the right side in both backends.
VALID = [
    ("varint-10-bytes", proto(9, [1]) + ld(10, v(-1)), {}, np.array([-1], dtype="<i8")),
    ("dtype-high-bits-dropped", proto((1 << 32) + 1, [1]) + ld(5, b"\x00\x00\x80\x3f"), {}, np.array([1.0], dtype="<f4")),
    ("rank-64", dtype(1) + ld(2, ld(2, tag(1, 0) + v(1)) * 64), {}, np.zeros((1,) * 64, dtype="<f4")),
    ("groups-64-deep", F32_2 + tag(9, 3) * 64 + tag(9, 4) * 64, {}, np.zeros(2, dtype="<f4")),
    ("unknown-rank-cleared", dtype(1) + ld(2, tag(3, 0) + v(1)) + ld(2, tag(3, 0) + v(0)), {}, np.zeros((), dtype="<f4")),
    ("max_bytes-exact", F32_2x2 + ld(4, b"\x00" * 16), {"max_bytes": 16}, np.zeros((2, 2), dtype="<f4")),
    ("zero-elements-huge-dim", proto(1, [0, 1 << 40]), {"max_bytes": 0}, np.zeros((0, 1 << 40), dtype="<f4")),
    ("zero-elements-largest-numpy", proto(1, [(1 << 61) - 1, 0]), {}, np.zeros(((1 << 61) - 1, 0), dtype="<f4")),
    ("content-wins-over-bad-values", proto(4, [1]) + ld(7, v(256) + v(1)) + ld(4, b"\x05"), {}, np.array([5], dtype="u1")),
    ("empty-content-means-values", F32_2 + ld(4, b"\x00" * 8) + ld(4, b"") + ld(5, b"\x00\x00\x80\x3f"), {},
     np.ones(2, dtype="<f4")),
    ("bool_val-nonzero-is-true", proto(10, [3]) + ld(11, v(2) + v(0) + v(-1)), {}, np.array([True, False, True])),
    ("int_val-high-bits-dropped", proto(6, [1]) + ld(7, v((1 << 32) + 5)), {}, np.array([5], dtype="i1")),
    ("half_val-ffff", proto(19, [1]) + ld(13, v(0xFFFF)), {}, np.array([0xFFFF], dtype="<u2").view("<f2")),
    ("unknown-fields-of-every-type", F32_2 + tag(99, 0) + LONG[1:] + tag(99, 1) + b"\x00" * 8 + tag(99, 5) + b"\x00" * 4
     + ld(99, b"xyz") + tag(99, 3) + tag(1, 0) + b"\x01" + tag(99, 4) + tag(5, 0) + b"\x07", {}, np.zeros(2, dtype="<f4")),
]


@pytest.mark.parametrize("data, kwargs, expected", [c[1:] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_edges(codecs, data, kwargs, expected):
    got = codecs.tensor.decode_tensor(data, **kwargs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def test_huge_claim_refused_before_allocation(codecs):
    data = proto(1, [10**6, 10**6])  # 18 bytes claiming 10**12 float32 elements
    assert len(data) < 20
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(DecodeError, match=r"needs 4000000000000 bytes, over max_bytes=2147483648"):
            codecs.tensor.decode_tensor(data)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # numpy reports its data allocations to tracemalloc
    assert elapsed < 1.0
    # and under a max_bytes big enough, the same claim is refused by the count check, not memory
    with pytest.raises(DecodeError, match=r"has more than 2\*\*63-1 elements"):
        codecs.tensor.decode_tensor(proto(1, [10**6, 10**6, 10**6, 10**6]), max_bytes=1 << 70)


def test_not_a_buffer_same_type_error(both):
    ref, twin = both
    not_contiguous = memoryview(np.arange(8, dtype=np.uint8))[::2]
    for bad in ("08 01", 12, None, not_contiguous):
        errors = []
        for mod in (ref.tensor, twin.tensor):
            with pytest.raises(TypeError) as info:
                mod.decode_tensor(bad)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]


# --- truncation at every byte -----------------------------------------------------------------


def _field_ends(data):
    """Offsets where a top-level field of a valid message ends (0 included)."""
    ends, pos = [0], 0

    def varint(pos):
        while data[pos] & 0x80:
            pos += 1
        return pos + 1

    while pos < len(data):
        start = pos
        pos = varint(pos)
        key = 0
        for i, b in enumerate(data[start:pos]):
            key |= (b & 0x7F) << (7 * i)
        wire_type = key & 7
        if wire_type == 0:
            pos = varint(pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:
            assert wire_type == 2
            length_end = varint(pos)
            n = 0
            for i, b in enumerate(data[pos:length_end]):
                n |= (b & 0x7F) << (7 * i)
            pos = length_end + n
        ends.append(pos)
    assert pos == len(data)
    return ends


TRUNCATION_ARRAYS = [
    np.arange(6, dtype="<f4").reshape(2, 3),
    np.array(2.5, dtype="<f8"),
    np.array([True, False, True]),
    np.array([300, -7], dtype="<i8"),
    np.array([1, 65535], dtype="<u2"),
    np.array([1.5, -2.0], dtype="<f2"),
    np.array([1 + 2j], dtype="<c8"),
    np.array([b"ab", b"", b"xyz"], dtype=object),
    np.zeros((0, 3), dtype="<f4"),
]


@pytest.mark.parametrize("form", ["content", "proto"])
@pytest.mark.parametrize("arr", TRUNCATION_ARRAYS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_truncation_at_every_byte(both, arr, form):
    ref, twin = both
    data = ref.tensor.encode_tensor(arr, form=form)
    ends = _field_ends(data)
    for cut in range(len(data)):
        prefix = data[:cut]
        a, b = outcome(ref.tensor, prefix), outcome(twin.tensor, prefix)
        assert a == b, cut
        if cut not in ends:  # inside a field: always a truncation error
            assert a[0] == "error", cut
            assert re.search(r"truncated|runs past the end of the message", a[2]), (cut, a[2])
        elif cut == 0:
            assert a == ("error", DecodeError, P + "missing or invalid dtype (DT_INVALID)")
    whole = twin.tensor.decode_tensor(data)
    assert whole.shape == arr.shape and whole.tolist() == arr.tolist()


# --- random damage ----------------------------------------------------------------------------

SMALL = 1 << 16  # keeps broadcast zeros from a mutated dim small in both backends


@given(mutated_tensor_protos())
def test_mutations_agree(both, data):
    ref, twin = both
    for kwargs in ({"max_bytes": SMALL}, {"max_bytes": SMALL, "copy": False}):
        assert outcome(ref.tensor, data, **kwargs) == outcome(twin.tensor, data, **kwargs)


@given(mutated_tensor_protos(), st.sampled_from([None, np.float32, np.int64, np.bool_, "string", 14, 9999]))
def test_mutations_agree_with_dtype_argument(both, data, expected):
    ref, twin = both
    kwargs = {"max_bytes": SMALL, "dtype": expected}
    assert outcome(ref.tensor, data, **kwargs) == outcome(twin.tensor, data, **kwargs)


@given(st.one_of(mutated_tensor_protos(), st.binary(max_size=64)))
def test_mutations_only_decode_error(codecs, data):
    try:
        arr = codecs.tensor.decode_tensor(data, max_bytes=SMALL)
    except DecodeError as exc:
        assert str(exc).startswith(P)
    else:
        assert isinstance(arr, np.ndarray) and arr.nbytes <= SMALL


@given(malformed_seed_protos(), st.data())
def test_truncations_and_insertions_of_drawn_encodings(both, data, draw):
    ref, twin = both
    cut = draw.draw(st.integers(0, len(data)))
    junk = draw.draw(st.binary(min_size=1, max_size=4))
    for damaged in (data[:cut], data[:cut] + junk + data[cut:]):
        assert outcome(ref.tensor, damaged, max_bytes=SMALL) == outcome(twin.tensor, damaged, max_bytes=SMALL)
