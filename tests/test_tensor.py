"""TensorProto codec: golden vectors, wire-format acceptance, layouts, and property tests.

Every test taking ``codecs`` runs once per backend (reference and Cython twin); the tests taking
``both`` cross the two (marked ``native``: they need the twin).  TensorFlow itself is the oracle
in test_tensor_oracle.py; here the golden bytes it wrote (tests/data/tensors.json) stand in.
"""

import array
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

from common import BF16, as_decoded, assert_identical, expected_round_trip, golden_array, quiet_f32_nans
import strategies as S
import tensorwire.testing as twt
from tensorwire.testing import wire_len, wire_tag, wire_varint
from tensorwire import DecodeError

GOLDEN = json.loads((Path(__file__).parent / "data" / "tensors.json").read_text())["cases"]
ENCODE_CASES = [c for c in GOLDEN if "array" in c]
DECODE_ONLY_CASES = [c for c in GOLDEN if "proto_hex" in c]

ALL_DTYPES = twt.NUMERIC_DTYPES  # every numeric dtype; strings are tested separately
MULTIBYTE_ENDIAN_DTYPES = [d for d in ALL_DTYPES if S.big_endian_dtype(d) != d]
FORMS = ["content", "proto"]

# DataType numbers (docs/tensor-proto.md), written out here rather than taken from the code under test.
DT = {
    np.dtype("<f4"): 1, np.dtype("<f8"): 2, np.dtype("<i4"): 3, np.dtype("u1"): 4, np.dtype("<i2"): 5,
    np.dtype("i1"): 6, np.dtype("<c8"): 8, np.dtype("<i8"): 9, np.dtype("?"): 10, BF16: 14,
    np.dtype("<u2"): 17, np.dtype("<c16"): 18, np.dtype("<f2"): 19, np.dtype("<u4"): 22, np.dtype("<u8"): 23,
}
DT_STRING = 7
# The typed *_val field of each dtype.
DT_FIELD = {
    np.dtype("<f4"): 5, np.dtype("<f8"): 6, np.dtype("<i4"): 7, np.dtype("u1"): 7, np.dtype("<i2"): 7,
    np.dtype("i1"): 7, np.dtype("<c8"): 9, np.dtype("<i8"): 10, np.dtype("?"): 11, BF16: 13,
    np.dtype("<u2"): 7, np.dtype("<c16"): 12, np.dtype("<f2"): 13, np.dtype("<u4"): 16, np.dtype("<u8"): 17,
}


# --------------------------------------------------------------------------------------------
# helpers


def header(dtype_number, shape):
    """dtype and shape fields, written as tf.io.serialize_tensor writes them."""
    dims = b"".join(wire_len(2, wire_tag(1, 0) + wire_varint(d) if d else b"") for d in shape)
    return wire_tag(1, 0) + wire_varint(dtype_number) + wire_len(2, dims)


def aligned_copy(data, offset, alignment=64):
    """``data`` placed in a fresh numpy buffer so that ``data[offset:]`` sits at an address that
    is a multiple of ``alignment``; returns (backing array, where data starts in it, memoryview
    of exactly ``data``)."""
    raw = np.zeros(len(data) + 2 * alignment, dtype=np.uint8)
    start = (-(raw.ctypes.data + offset)) % alignment
    raw[start : start + len(data)] = np.frombuffer(data, dtype=np.uint8)
    return raw, start, memoryview(raw)[start : start + len(data)]


def content_offset(data):
    """Offset of the tensor_content payload in bytes written by serialize_tensor."""
    i = data.index(b"\x22")  # tag of field 4, wire type 2 (follows dtype and shape)
    pos = i + 1
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


# --------------------------------------------------------------------------------------------
# golden vectors (written by TensorFlow 2.21)


@pytest.mark.parametrize("case", ENCODE_CASES, ids=[c["name"] for c in ENCODE_CASES])
def test_golden_encode(codecs, case):
    x = golden_array(case["array"])
    assert codecs.tensor.encode_tensor(x).hex() == case["serialize_tensor_hex"]
    assert codecs.tensor.encode_tensor(x, form="content").hex() == case["serialize_tensor_hex"]
    assert codecs.tensor.encode_tensor(x, form="proto").hex() == case["make_tensor_proto_hex"]


@pytest.mark.parametrize("case", ENCODE_CASES, ids=[c["name"] for c in ENCODE_CASES])
def test_golden_decode(codecs, case):
    want = as_decoded(golden_array(case["array"]))
    for key in ("serialize_tensor_hex", "make_tensor_proto_hex"):
        assert_identical(codecs.tensor.decode_tensor(bytes.fromhex(case[key])), want)


@pytest.mark.parametrize("case", DECODE_ONLY_CASES, ids=[c["name"] for c in DECODE_ONLY_CASES])
def test_golden_decode_only(codecs, case):
    got = codecs.tensor.decode_tensor(bytes.fromhex(case["proto_hex"]))
    assert_identical(got, as_decoded(golden_array(case["expect"])))


@pytest.mark.parametrize(
    "value, form, hexbytes",
    [
        (np.float32(1.5), "content", "0801 1200 2204 0000c03f"),
        (np.array([True, False]), "content", "080a 1204 1202 0802 2202 0100"),
        (np.zeros((0, 3), np.float32), "content", "0801 1206 1200 1202 0803"),
        (np.array([b"ab", b""], dtype=object), "content", "0807 1204 1202 0802 4202 6162 4200"),
        (np.float32(3), "proto", "0801 1200 2a04 00004040"),
        (np.array([[1, 2], [3, 4]], np.float32), "content", "08011208120208021202080222100000803f000000400000404000008040"),
    ],
    ids=["f32-scalar", "bool", "f32-zero-size", "strings", "f32-scalar-proto", "spec-section-3"],
)
def test_spec_examples(codecs, value, form, hexbytes):
    data = bytes.fromhex(hexbytes.replace(" ", ""))
    assert codecs.tensor.encode_tensor(value, form=form) == data
    assert_identical(codecs.tensor.decode_tensor(data), as_decoded(value))


def test_proto_form_quiets_float32_signalling_nans_like_tensorflow(codecs):
    """make_tensor_proto's float_val/scomplex_val pass through C doubles, which quiets signalling
    NaNs (checked live in test_tensor_oracle.py); every other path keeps all bits."""
    enc = codecs.tensor.encode_tensor
    snan = np.array([0x7F800001, 0xFFBFFFFF], np.uint32).view(np.float32)
    qnan = np.array([0x7FC00001, 0xFFFFFFFF], np.uint32).view(np.float32)
    assert enc(snan[:1], form="proto") == header(1, (1,)) + wire_len(5, qnan[:1].tobytes())
    assert enc(snan[1:].reshape(()), form="proto") == header(1, ()) + wire_len(5, qnan[1:].tobytes())
    assert enc(snan.view(np.complex64), form="proto") == header(8, (1,)) + wire_len(9, qnan.tobytes())
    assert enc(np.tile(snan.view(np.complex64), 2), form="proto") == header(8, (2,)) + wire_len(9, qnan.tobytes() * 2)
    # tensor_content (more than one float32, and the content form) keeps them
    assert enc(snan, form="proto") == header(1, (2,)) + wire_len(4, snan.tobytes())
    assert enc(snan[:1]) == header(1, (1,)) + wire_len(4, snan[:1].tobytes())
    # double_val and half_val keep them
    snan64 = np.array([0x7FF0000000000001], np.uint64).view(np.float64)
    assert enc(snan64, form="proto") == header(2, (1,)) + wire_len(6, snan64.tobytes())
    assert enc(np.array([0x7C01], np.uint16).view(np.float16), form="proto") == header(19, (1,)) + wire_len(13, wire_varint(0x7C01))
    assert enc(np.array([0x7F81], np.uint16).view(BF16), form="proto") == header(14, (1,)) + wire_len(13, wire_varint(0x7F81))
    # and decoding keeps every bit it is given
    assert_identical(codecs.tensor.decode_tensor(header(1, (1,)) + wire_len(5, snan[:1].tobytes())), snan[:1])


def test_encode_accepts_scalars_and_lists(codecs):
    enc = codecs.tensor.encode_tensor
    assert enc([[1.5, 2.0]]) == enc(np.array([[1.5, 2.0]], dtype=np.float64))
    assert enc(7) == enc(np.array(7))
    assert enc(np.float16(2)) == enc(np.array(2, np.float16))
    assert enc(True) == header(10, ()) + wire_len(4, b"\x01")
    assert enc(b"abc") == header(DT_STRING, ()) + wire_len(8, b"abc")
    assert enc("h\u00e9") == header(DT_STRING, ()) + wire_len(8, "h\u00e9".encode())


@pytest.mark.parametrize(
    "bad", [np.zeros(2, "M8[s]"), np.zeros(2, np.longdouble), np.zeros(2, "i4,i4"), np.zeros(2, "V4")],
    ids=["datetime64", "longdouble", "structured", "void"],
)
def test_encode_rejects_dtypes_without_a_datatype(codecs, bad):
    with pytest.raises(TypeError):
        codecs.tensor.encode_tensor(bad)


def test_encode_rejects_non_string_objects_and_bad_form(codecs):
    with pytest.raises(TypeError):
        codecs.tensor.encode_tensor(np.array([b"a", 3], dtype=object))
    with pytest.raises(ValueError):
        codecs.tensor.encode_tensor(np.zeros(2, np.float32), form="json")


# --------------------------------------------------------------------------------------------
# input buffers, copy=False


F32_2x3 = np.arange(6, dtype=np.float32).reshape(2, 3) / 7


@pytest.mark.parametrize(
    "wrap",
    [
        bytes,
        bytearray,
        memoryview,
        lambda b: memoryview(b"\x00junk" + b + b"tail")[5 : 5 + len(b)],
        lambda b: np.frombuffer(b, dtype=np.uint8).copy(),
        lambda b: np.frombuffer(b + b"\x00" * (-len(b) % 4), dtype=np.uint8)[: len(b)].copy().reshape(1, -1),
        lambda b: array.array("B", b),
        lambda b: memoryview(bytearray(b)).cast("c"),
    ],
    ids=["bytes", "bytearray", "memoryview", "memoryview-slice", "numpy-uint8", "numpy-uint8-2d", "array", "memoryview-c"],
)
@pytest.mark.parametrize("form", FORMS)
def test_decode_accepts_buffers(codecs, wrap, form):
    data = codecs.tensor.encode_tensor(F32_2x3, form=form)
    assert_identical(codecs.tensor.decode_tensor(wrap(data)), F32_2x3)
    assert_identical(codecs.tensor.decode_tensor(wrap(data), copy=False), F32_2x3)


def test_decode_accepts_wider_buffer_formats(codecs):
    data = codecs.tensor.encode_tensor(F32_2x3)
    data += b"\x00" * (-len(data) % 4)  # trailing zero bytes are not valid fields...
    padded = array.array("i", data)
    with pytest.raises(DecodeError):  # ...so the buffer is read as the bytes it holds
        codecs.tensor.decode_tensor(padded)
    body = codecs.tensor.encode_tensor(np.zeros(1, np.float32), form="proto")
    filler = -(len(body) + len(wire_tag(2000, 2)) + 1) % 4
    body += wire_len(2000, b"\xee" * filler)  # an unknown field, to make whole 4-byte words
    assert len(body) % 4 == 0
    assert_identical(codecs.tensor.decode_tensor(array.array("i", body)), np.zeros(1, np.float32))
    assert_identical(codecs.tensor.decode_tensor(np.frombuffer(body, dtype="<u4")), np.zeros(1, np.float32))


def test_decode_rejects_str_and_strided_buffers(codecs):
    data = codecs.tensor.encode_tensor(F32_2x3)
    with pytest.raises(TypeError):
        codecs.tensor.decode_tensor(data.decode("latin-1"))
    doubled = np.frombuffer(bytes(b for b in data for _ in range(2)), dtype=np.uint8)[::2]
    assert doubled.tobytes() == data
    with pytest.raises(TypeError):
        codecs.tensor.decode_tensor(doubled)


COPY_DTYPES = [np.dtype(d) for d in ("<f4", "<f8", "<c16", "<c8", "<i2", "<u8", "?", "<f2", "u1")] + [BF16]


@pytest.mark.parametrize("dtype", COPY_DTYPES, ids=str)
def test_copy_false_is_a_read_only_view_when_aligned(codecs, dtype):
    x = np.arange(1, 25).reshape(2, 3, 4).astype(dtype)
    data = codecs.tensor.encode_tensor(x)
    backing, start, buf = aligned_copy(data, content_offset(data))
    got = codecs.tensor.decode_tensor(buf, copy=False)
    assert_identical(got, x)
    assert np.shares_memory(got, backing)
    assert not got.flags.writeable
    with pytest.raises(ValueError):
        got[0, 0, 0] = 0
    # it is a view: changing the buffer changes the array
    backing[start + content_offset(data)] ^= 0x01
    assert got.reshape(-1).view(np.uint8)[0] == x.reshape(-1).view(np.uint8)[0] ^ 0x01


@pytest.mark.parametrize("dtype", COPY_DTYPES, ids=str)
@pytest.mark.parametrize("shift", [1, 2, 3, 5])
def test_copy_false_unaligned_still_correct(codecs, dtype, shift):
    x = np.arange(1, 25).reshape(4, 6).astype(dtype)
    data = codecs.tensor.encode_tensor(x)
    backing, _, buf = aligned_copy(data, content_offset(data) - shift)
    got = codecs.tensor.decode_tensor(buf, copy=False)
    assert_identical(got, x)
    if np.shares_memory(got, backing):
        assert not got.flags.writeable  # never a writable alias of the caller's buffer
    got_copy = codecs.tensor.decode_tensor(buf)
    assert_identical(got_copy, x)


@pytest.mark.parametrize("form", FORMS)
def test_copy_true_is_an_independent_writable_array(codecs, form):
    data = codecs.tensor.encode_tensor(F32_2x3, form=form)
    backing, _, buf = aligned_copy(data, content_offset(data))
    got = codecs.tensor.decode_tensor(buf)
    assert got.flags.writeable and got.flags.c_contiguous
    assert not np.shares_memory(got, backing)
    backing[:] = 0
    assert_identical(got, F32_2x3)
    got[0, 0] = 5  # writable


def test_copy_false_typed_values_and_strings(codecs):
    for x in (np.float32(2.5), np.array([1 + 2j, 3], np.complex64), np.array([True, False]),
              np.array([b"x", b"yz"], dtype=object), np.zeros((0, 4), np.float64)):
        for form in FORMS:
            got = codecs.tensor.decode_tensor(codecs.tensor.encode_tensor(x, form=form), copy=False)
            assert_identical(got, as_decoded(x))


# --------------------------------------------------------------------------------------------
# dtype=


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_dtype_argument_match_and_mismatch(codecs, dtype):
    x = np.ones((2, 2), dtype=dtype)
    data = codecs.tensor.encode_tensor(x)
    for spelling in {dtype, dtype.type, DT[dtype], S.big_endian_dtype(dtype)}:
        assert_identical(codecs.tensor.decode_tensor(data, dtype=spelling), x)
    for other in ALL_DTYPES:
        if other != dtype:
            with pytest.raises(DecodeError):
                codecs.tensor.decode_tensor(data, dtype=other)
    for other in ("string", bytes, object, str, DT_STRING):
        with pytest.raises(DecodeError):
            codecs.tensor.decode_tensor(data, dtype=other)


def test_dtype_argument_strings(codecs):
    data = codecs.tensor.encode_tensor(np.array([b"a", b"bc"]))
    for spelling in ("string", "bytes", "str", bytes, str, object, DT_STRING, np.dtype("S3"), np.dtype("U1")):
        assert_identical(codecs.tensor.decode_tensor(data, dtype=spelling), as_decoded([b"a", b"bc"]))
    for other in (np.float32, "float32", DT[np.dtype("<f4")], np.uint8):
        with pytest.raises(DecodeError):
            codecs.tensor.decode_tensor(data, dtype=other)
    assert_identical(codecs.tensor.decode_tensor(codecs.tensor.encode_tensor(np.float32(1)), dtype="float32"),
                     np.array(1, np.float32))


def test_dtype_mismatch_is_checked_on_typed_and_empty_tensors(codecs):
    for x in (np.float32(1), np.zeros((0, 2), np.int32), np.array([True])):
        for form in FORMS:
            with pytest.raises(DecodeError):
                codecs.tensor.decode_tensor(codecs.tensor.encode_tensor(x, form=form), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# layouts: non-contiguous and big-endian input


def _layout_cases():
    base = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) - 7.25
    cases = {
        "slice-step": base[:, ::2, 1:],
        "transpose": base.T,
        "swapaxes": base.swapaxes(0, 2),
        "negative-strides": base[::-1, :, ::-2],
        "fortran": np.asfortranarray(base),
        "column": base[:, 1, :1],
        "broadcast": np.broadcast_to(np.float32(3), (3, 4)),
        "zero-stride-column": np.broadcast_to(np.arange(3, dtype=np.int16)[:, None], (3, 5)),
        "strings-transposed": np.array([[b"a", b"bb"], [b"", b"\x00d"]], dtype=object).T,
        "S-reversed": np.array([b"ab", b"c", b""], dtype="S2")[::-1],
        "U-strided": np.array(["x", "\u00fc\u00df", "", "\U0001f600"])[::2],
        "bool-reversed": np.array([True, False, False])[::-1],
        "bf16-transposed": base.astype(BF16).T,
    }
    for dtype in MULTIBYTE_ENDIAN_DTYPES:
        x = (np.arange(1, 7) * 3 - 4).astype(dtype).reshape(2, 3)
        cases[f"big-endian-{dtype}"] = x.astype(dtype.newbyteorder(">"))
        cases[f"big-endian-scalar-{dtype}"] = x[:1, :1].reshape(()).astype(dtype.newbyteorder(">"))
        cases[f"big-endian-one-{dtype}"] = x[:1, :1].astype(dtype.newbyteorder(">"))
        cases[f"big-endian-transposed-{dtype}"] = x.astype(dtype.newbyteorder(">")).T[::-1]
    cases["big-endian-U"] = np.array(["ab", "\u00e9"], dtype=">U2")
    return cases


LAYOUTS = _layout_cases()


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("form", FORMS)
def test_layouts_encode_like_contiguous_little_endian(codecs, name, form):
    x = LAYOUTS[name]
    contiguous = x.tolist() if x.dtype.kind in "OSU" else as_decoded(x)
    if x.dtype.kind in "OSU":
        contiguous = np.array(contiguous, dtype=object if x.dtype.kind == "O" else x.dtype.newbyteorder("="))
    assert x.dtype.kind in "OSU" or contiguous.flags.c_contiguous and contiguous.dtype.isnative
    data = codecs.tensor.encode_tensor(x, form=form)
    assert data == codecs.tensor.encode_tensor(contiguous, form=form)
    assert_identical(codecs.tensor.decode_tensor(data), expected_round_trip(contiguous, form))


@settings(max_examples=100)
@given(pair=S.strided_views())
def test_strided_and_big_endian_views_property(tensor, pair):
    view, contiguous = pair
    for form in FORMS:
        assert tensor.encode_tensor(view, form=form) == tensor.encode_tensor(contiguous, form=form)


# --------------------------------------------------------------------------------------------
# strings


def test_str_and_U_arrays_are_utf8(codecs):
    enc = codecs.tensor.encode_tensor
    texts = ["", "a", "h\u00e9llo", "\u65e5\u672c", "\U0001f600", "nul\x00inside"]
    as_bytes = np.empty(len(texts), dtype=object)
    as_bytes[:] = [t.encode("utf-8") for t in texts]
    as_objects = np.empty(len(texts), dtype=object)
    as_objects[:] = texts
    for form in FORMS:
        want = enc(as_bytes, form=form)
        assert want == header(DT_STRING, (6,)) + b"".join(wire_len(8, t.encode("utf-8")) for t in texts)
        assert enc(as_objects, form=form) == want
        assert enc(np.array(texts), form=form) == want  # U array
        assert_identical(codecs.tensor.decode_tensor(want), as_bytes)
    mixed = np.array([b"\xff\xfe", "\u00ff"], dtype=object)
    assert enc(mixed) == header(DT_STRING, (2,)) + wire_len(8, b"\xff\xfe") + wire_len(8, b"\xc3\xbf")
    assert enc(np.array("\u00e9")) == header(DT_STRING, ()) + wire_len(8, b"\xc3\xa9")


def test_S_arrays_follow_numpy_items(codecs):
    # numpy strips trailing NULs from S items (np.array([b"a\0"])[0] == b"a"), and so do
    # the encoders and TensorFlow (see test_tensor_oracle.py); object arrays keep every byte.
    s = np.array([b"a\x00", b"\x00", b"\x00b", b""], dtype="S2")
    o = np.array([b"a\x00", b"\x00", b"\x00b", b""], dtype=object)
    for form in FORMS:
        assert codecs.tensor.encode_tensor(s, form=form) == header(DT_STRING, (4,)) + b"".join(
            wire_len(8, v) for v in (b"a", b"", b"\x00b", b"")
        )
        assert codecs.tensor.encode_tensor(o, form=form) == header(DT_STRING, (4,)) + b"".join(
            wire_len(8, v) for v in (b"a\x00", b"\x00", b"\x00b", b"")
        )
        assert_identical(codecs.tensor.decode_tensor(codecs.tensor.encode_tensor(o, form=form)), o)


def test_long_strings_and_bytes_like_elements(codecs):
    big = bytes(range(256)) * 40  # a length prefix of two varint bytes
    x = np.array([big, bytearray(b"ba"), memoryview(b"mv")], dtype=object)
    data = codecs.tensor.encode_tensor(x)
    assert data == header(DT_STRING, (3,)) + wire_len(8, big) + wire_len(8, b"ba") + wire_len(8, b"mv")
    assert_identical(codecs.tensor.decode_tensor(data), as_decoded([big, b"ba", b"mv"]))


# --------------------------------------------------------------------------------------------
# rank 0 and zero-size


@pytest.mark.parametrize("dtype", ALL_DTYPES + [np.dtype(object)], ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (0, 0), (1,), (1, 1, 1, 1, 1), (3, 0)], ids=str)
@pytest.mark.parametrize("form", FORMS)
def test_rank0_and_zero_size(codecs, dtype, shape, form):
    n = int(np.prod(shape))
    if dtype == object:
        x = np.empty(shape, dtype=object)
        x.reshape(-1)[:] = [b"v%d" % i for i in range(n)]
        dt = DT_STRING
    else:
        x = (np.arange(n) + 1).astype(dtype).reshape(shape)
        dt = DT[dtype]
    data = codecs.tensor.encode_tensor(x, form=form)
    assert data.startswith(header(dt, shape))
    if n == 0:
        assert data == header(dt, shape)  # no values and no tensor_content at all
    got = codecs.tensor.decode_tensor(data)
    assert_identical(got, as_decoded(x))
    assert got.ndim == len(shape)


# --------------------------------------------------------------------------------------------
# what any protobuf writer may produce


F32 = wire_tag(1, 0) + wire_varint(1)
SHAPE_2 = wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(2)))
CONTENT_12 = wire_len(4, np.array([1, 2], "<f4").tobytes())
UNKNOWN_ALL_WIRE_TYPES = (
    wire_tag(100, 0) + wire_varint(2**64 - 1)
    + wire_tag(101, 1) + b"12345678"
    + wire_len(102, b"xyz")
    + wire_tag(103, 3) + wire_tag(1, 0) + wire_varint(1) + wire_len(2, b"ab")
    + wire_tag(104, 3) + wire_tag(104, 4) + wire_tag(103, 4)
    + wire_tag(105, 5) + b"1234"
    + wire_tag(2**29 - 1, 0) + wire_varint(0)
)

HANDMADE = {
    "reordered": (CONTENT_12 + SHAPE_2 + F32, [1, 2], "<f4"),
    "unknown-fields-every-wire-type": (F32 + UNKNOWN_ALL_WIRE_TYPES + SHAPE_2 + UNKNOWN_ALL_WIRE_TYPES + CONTENT_12, [1, 2], "<f4"),
    "unknown-first": (UNKNOWN_ALL_WIRE_TYPES + CONTENT_12 + F32 + SHAPE_2, [1, 2], "<f4"),
    "version-number": (wire_tag(3, 0) + wire_varint(7) + F32 + SHAPE_2 + CONTENT_12, [1, 2], "<f4"),
    "dtype-with-other-wire-type-is-unknown": (wire_len(1, b"\x02") + wire_tag(1, 5) + b"\x02\0\0\0" + F32 + SHAPE_2 + CONTENT_12, [1, 2], "<f4"),
    "last-dtype-wins": (wire_tag(1, 0) + wire_varint(2) + F32 + SHAPE_2 + CONTENT_12, [1, 2], "<f4"),
    "padded-dtype-varint": (wire_tag(1, 0) + b"\x81\x80\x80\x00" + SHAPE_2 + CONTENT_12, [1, 2], "<f4"),
    "shape-messages-merge": (F32 + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(2))) + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(3)))
                             + wire_len(4, np.arange(6, dtype="<f4").tobytes()), np.arange(6).reshape(2, 3), "<f4"),
    "dim-name-and-unknowns": (F32 + wire_len(2, wire_tag(9, 0) + wire_varint(1) + wire_len(2, wire_len(2, b"batch") + wire_tag(1, 0) + wire_varint(2) + wire_tag(7, 5) + b"abcd")
                                             + wire_tag(3, 0) + wire_varint(0)) + CONTENT_12, [1, 2], "<f4"),
    "last-dim-size-wins": (F32 + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(9) + wire_tag(1, 0) + wire_varint(2))) + CONTENT_12, [1, 2], "<f4"),
    "explicit-zero-dim": (F32 + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(0)) + wire_len(2, wire_tag(1, 0) + wire_varint(2))), np.zeros((0, 2)), "<f4"),
    "no-shape-is-scalar": (F32 + wire_len(5, np.array([3], "<f4").tobytes()), np.float32(3), "<f4"),
    "last-content-wins": (F32 + SHAPE_2 + wire_len(4, b"\xff" * 8) + CONTENT_12, [1, 2], "<f4"),
    "empty-content-after-content-means-typed": (F32 + SHAPE_2 + CONTENT_12 + wire_len(4, b"") + wire_len(5, np.array([9], "<f4").tobytes()), [9, 9], "<f4"),
    "content-wins-over-typed": (F32 + SHAPE_2 + wire_len(5, np.array([9], "<f4").tobytes()) + CONTENT_12, [1, 2], "<f4"),
    "other-typed-fields-ignored": (F32 + SHAPE_2 + wire_len(7, wire_varint(3)) + wire_len(6, b"\0" * 8) + wire_len(8, b"s") + wire_len(5, np.array([1, 2], "<f4").tobytes()), [1, 2], "<f4"),
    "float-val-unpacked": (F32 + SHAPE_2 + wire_tag(5, 5) + np.float32(1).tobytes() + wire_tag(5, 5) + np.float32(2).tobytes(), [1, 2], "<f4"),
    "float-val-packed-then-unpacked": (F32 + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(4))) + wire_len(5, np.array([1, 2], "<f4").tobytes())
                                       + wire_tag(5, 5) + np.float32(3).tobytes(), [1, 2, 3, 3], "<f4"),
    "float-val-wrong-wire-type-is-unknown": (F32 + SHAPE_2 + wire_tag(5, 0) + wire_varint(7) + wire_tag(5, 1) + b"\0" * 8 + wire_len(5, np.array([1, 2], "<f4").tobytes()), [1, 2], "<f4"),
    "double-val-unpacked": (wire_tag(1, 0) + wire_varint(2) + SHAPE_2 + wire_tag(6, 1) + np.float64(0.5).tobytes() + wire_tag(6, 1) + np.float64(-3).tobytes(), [0.5, -3], "<f8"),
    "int-val-unpacked-negative-10-bytes": (wire_tag(1, 0) + wire_varint(3) + SHAPE_2 + wire_tag(7, 0) + wire_varint(-5) + wire_tag(7, 0) + wire_varint(7), [-5, 7], "<i4"),
    "int-val-negative-5-bytes": (wire_tag(1, 0) + wire_varint(6) + SHAPE_2 + wire_len(7, wire_varint(0xFFFFFFFF) + wire_varint(0xFFFFFF80)), [-1, -128], "i1"),
    "int-val-high-bits-dropped": (wire_tag(1, 0) + wire_varint(3) + SHAPE_2 + wire_len(7, wire_varint((1 << 40) + 5) + wire_varint((7 << 32) | 0x80000000)), [5, -(2**31)], "<i4"),
    "int-val-mixed-packed-unpacked": (wire_tag(1, 0) + wire_varint(5) + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(4)))
                                      + wire_tag(7, 0) + wire_varint(-1) + wire_len(7, wire_varint(2) + wire_varint(32767)) + wire_len(7, b"") + wire_tag(7, 0) + wire_varint(-32768),
                                      [-1, 2, 32767, -32768], "<i2"),
    "int64-val-unpacked": (wire_tag(1, 0) + wire_varint(9) + SHAPE_2 + wire_tag(10, 0) + wire_varint(-(2**63)) + wire_tag(10, 0) + wire_varint(2**63 - 1), [-(2**63), 2**63 - 1], "<i8"),
    "uint64-val-unpacked": (wire_tag(1, 0) + wire_varint(23) + SHAPE_2 + wire_tag(17, 0) + wire_varint(2**64 - 1) + wire_tag(17, 0) + wire_varint(0), [2**64 - 1, 0], "<u8"),
    "uint32-val-high-bits-dropped": (wire_tag(1, 0) + wire_varint(22) + SHAPE_2 + wire_len(16, wire_varint((1 << 40) | 0xFFFFFFFF) + wire_varint(1)), [2**32 - 1, 1], "<u4"),
    "bool-val-unpacked-any-nonzero": (wire_tag(1, 0) + wire_varint(10) + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(4)))
                                      + wire_tag(11, 0) + wire_varint(2) + wire_tag(11, 0) + wire_varint(0) + wire_len(11, wire_varint(1 << 40) + wire_varint(2**64 - 1)),
                                      [True, False, True, True], "?"),
    "half-val-unpacked": (wire_tag(1, 0) + wire_varint(19) + SHAPE_2 + wire_tag(13, 0) + wire_varint(0x3C00) + wire_tag(13, 0) + wire_varint(0xFC00), [1, -np.inf], "<f2"),
    "bfloat16-half-val": (wire_tag(1, 0) + wire_varint(14) + SHAPE_2 + wire_len(13, wire_varint(0x3FC0) + wire_varint(0xC000)), [1.5, -2], BF16),
    "scomplex-pair-split-across-fields": (wire_tag(1, 0) + wire_varint(8) + SHAPE_2 + wire_len(9, np.array([1, 2, 3], "<f4").tobytes()) + wire_tag(9, 5) + np.float32(4).tobytes(),
                                          [1 + 2j, 3 + 4j], "<c8"),
    "dcomplex-unpacked": (wire_tag(1, 0) + wire_varint(18) + SHAPE_2 + b"".join(wire_tag(12, 1) + np.float64(v).tobytes() for v in (1, -1, 0.5, 0)), [1 - 1j, 0.5], "<c16"),
    "string-val-with-unknowns-between": (wire_tag(1, 0) + wire_varint(7) + wire_len(8, b"a") + wire_tag(50, 0) + wire_varint(1) + SHAPE_2 + wire_len(8, b"") , [b"a", b""], object),
}


@pytest.mark.parametrize("name", list(HANDMADE))
def test_any_protobuf_writer_layout(codecs, name):
    data, values, dtype = HANDMADE[name]
    want = np.array(values, dtype=dtype)
    if dtype is not object:
        want = np.array(values, dtype=np.dtype(dtype).newbyteorder("=") if np.dtype(dtype) != BF16 else BF16)
    assert_identical(codecs.tensor.decode_tensor(data), as_decoded(want))


# --------------------------------------------------------------------------------------------
# broadcast, repeat-last and zeros rules for typed values


def _typed_field(dtype, values):
    """The typed *_val field holding ``values`` of ``dtype``, packed."""
    x = np.array(values, dtype=dtype)
    if dtype == np.float32 or dtype == np.complex64:
        return wire_len(5 if dtype == np.float32 else 9, x.astype(x.dtype.newbyteorder("<")).tobytes())
    if dtype == np.float64 or dtype == np.complex128:
        return wire_len(6 if dtype == np.float64 else 12, x.astype(x.dtype.newbyteorder("<")).tobytes())
    if dtype == np.float16 or dtype == BF16:
        return wire_len(13, b"".join(wire_varint(int(v)) for v in x.view(np.uint16)))
    return wire_len(DT_FIELD[np.dtype(dtype)], b"".join(wire_varint(int(v)) for v in x.tolist()))


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_typed_values_broadcast_repeat_last_and_zeros(codecs, dtype):
    dec = codecs.tensor.decode_tensor
    one, two = np.array([1, 2], dtype=dtype) if dtype != np.bool_ else np.array([False, True])
    # one value broadcasts to the whole shape
    data = header(DT[dtype], (2, 3)) + _typed_field(dtype, [two])
    assert_identical(dec(data), np.full((2, 3), two, dtype=dtype))
    # fewer values than elements: the last repeats
    data = header(DT[dtype], (4,)) + _typed_field(dtype, [two, one])
    assert_identical(dec(data), np.array([two, one, one, one], dtype=dtype))
    # no values: zeros (an empty packed field and an empty tensor_content count as none)
    for empty in (b"", wire_len(4, b""), wire_len(DT_FIELD[dtype], b"")):
        assert_identical(dec(header(DT[dtype], (2, 2)) + empty), np.zeros((2, 2), dtype=dtype))
    # as many values as elements: exactly those
    data = header(DT[dtype], (2,)) + _typed_field(dtype, [one, two])
    assert_identical(dec(data), np.array([one, two], dtype=dtype))


def test_string_values_repeat_last_and_empty(codecs):
    dec = codecs.tensor.decode_tensor
    assert_identical(dec(header(DT_STRING, (2, 2)) + wire_len(8, b"q")), as_decoded([[b"q", b"q"], [b"q", b"q"]]))
    assert_identical(dec(header(DT_STRING, (3,)) + wire_len(8, b"a") + wire_len(8, b"b")), as_decoded([b"a", b"b", b"b"]))
    assert_identical(dec(header(DT_STRING, (2,))), as_decoded([b"", b""]))
    assert_identical(dec(header(DT_STRING, ()) + wire_len(4, b"")), as_decoded(b""))


# --------------------------------------------------------------------------------------------
# properties (hypothesis), one backend at a time


@pytest.fixture(scope="session")
def tensor(codecs):
    """The tensor codec module of one backend.  Hypothesis tests take this rather than
    ``codecs``: hypothesis probes its first fixture argument with ``hasattr``, which a Backend
    namespace answers by trying to import a codec module of that name (ModuleNotFoundError)."""
    return codecs.tensor


@given(x=S.tensors())
def test_round_trip_property(tensor, x):
    for form in FORMS:
        got = tensor.decode_tensor(tensor.encode_tensor(x, form=form))
        assert_identical(got, expected_round_trip(x, form))


@given(x=twt.arrays())
def test_content_form_is_raw_little_endian_bytes(tensor, x):
    data = tensor.encode_tensor(x)
    body = x.astype(x.dtype.newbyteorder("<")).tobytes() if x.dtype != BF16 else x.tobytes()
    assert data == header(DT[x.dtype], x.shape) + (wire_len(4, body) if x.size else b"")


@given(pair=S.tensor_proto_encodings())
def test_decode_any_valid_encoding_property(tensor, pair):
    data, want = pair
    assert_identical(tensor.decode_tensor(data), want)
    assert_identical(tensor.decode_tensor(bytearray(data), copy=False), want)


# --------------------------------------------------------------------------------------------
# the twins crossed: same bytes, same arrays, same errors


def _outcome(fn, *args, **kwargs):
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - compared below, type and message
        return "error", (type(exc), str(exc))


@pytest.mark.native
@given(x=S.tensors())
def test_twins_crossed_property(both, x):
    python, native = both
    for form in FORMS:
        data = python.tensor.encode_tensor(x, form=form)
        assert native.tensor.encode_tensor(x, form=form) == data
        want = expected_round_trip(x, form)
        assert_identical(native.tensor.decode_tensor(data), want)
        assert_identical(python.tensor.decode_tensor(data), want)


@pytest.mark.native
@settings(max_examples=100)
@given(pair=S.strided_views())
def test_twins_crossed_layouts_property(both, pair):
    python, native = both
    view, _ = pair
    for form in FORMS:
        assert native.tensor.encode_tensor(view, form=form) == python.tensor.encode_tensor(view, form=form)


@pytest.mark.native
@given(pair=S.tensor_proto_encodings())
def test_twins_decode_the_same_property(both, pair):
    python, native = both
    data, want = pair
    for kwargs in ({}, {"copy": False}):
        a = python.tensor.decode_tensor(data, **kwargs)
        b = native.tensor.decode_tensor(data, **kwargs)
        assert_identical(a, want)
        assert_identical(b, want)


@pytest.mark.native
@pytest.mark.parametrize("dtype", ALL_DTYPES + ["string"], ids=str)
def test_twins_same_dtype_mismatch_errors(both, dtype):
    python, native = both
    x = np.array([b"s"]) if dtype == "string" else np.ones(3, dtype)
    data = python.tensor.encode_tensor(x)
    for other in ALL_DTYPES + ["string"]:
        a = _outcome(python.tensor.decode_tensor, data, dtype=other)
        b = _outcome(native.tensor.decode_tensor, data, dtype=other)
        assert a[0] == b[0]
        if a[0] == "error":
            assert a[1] == b[1]
            assert a[1][0] is DecodeError
        else:
            assert_identical(b[1], a[1])


@pytest.mark.native
@pytest.mark.parametrize("bad", [np.zeros(2, "M8[s]"), np.array([b"a", 3], dtype=object), np.zeros(2, "i4,i4")], ids=["datetime", "int-in-strings", "structured"])
def test_twins_same_encode_errors(both, bad):
    python, native = both
    a = _outcome(python.tensor.encode_tensor, bad)
    b = _outcome(native.tensor.encode_tensor, bad)
    assert a[0] == b[0] == "error"
    assert a[1][0] is b[1][0]
