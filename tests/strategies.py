"""Shared hypothesis strategies for the tensorwire test suite.

The strategies tensorwire offers other projects (arrays, shapes, dtypes, float bit patterns,
protobuf wire pieces, byte mutations and the hostile tokens of each format, valid and hostile
request bodies) live in the public ``tensorwire.testing`` (docs/testing.md), and the tests use
them from there; this module holds the test-only strategies built on them, one headed section
per codec.  Each section is owned by the engineer writing that codec's tests;
append your own section rather than editing someone else's.  Wherever a
strategy deliberately excludes values, a comment next to the exclusion says
what is excluded and why.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# TensorProto (tensorwire.codecs.tensor / tensorwire._native.tensor)
# ---------------------------------------------------------------------------
# Used by test_tensor.py and test_tensor_oracle.py.  Arrays are kept small
# (rank 0-5, sides 0-3, so at most 243 elements) because TensorFlow calls and
# the pure-Python reference both cost per element; zero-size dims are drawn
# like any other side.  Floats are drawn as raw bit patterns, so every NaN
# payload (quiet and signalling, both signs), -0.0, +-inf, subnormals and the
# extremes occur, with the special values oversampled.

import numpy as _np
from hypothesis import strategies as _st
from hypothesis.extra import numpy as _hnp

# Moved to the public tensorwire.testing (one source): dtypes, float bit patterns, shapes,
# numeric arrays (``arrays``, the former numeric_arrays, whose ``shape=`` is now ``shapes=``).
from tensorwire.testing import arrays, shapes
from tensorwire.testing import BFLOAT16, BOOL_DTYPE, FLOAT_DTYPES, INT_DTYPES, float_bits
from tensorwire.testing._arrays import _int_elements

# Strings: arbitrary bytes, the empty string oversampled.
_byte_strings = _st.one_of(_st.just(b""), _st.binary(max_size=12))
# Text for ``U`` arrays and ``str`` elements: surrogates are excluded because a lone surrogate
# cannot be encoded as UTF-8 (encode_tensor, like TensorFlow, raises for it).
_texts = _st.text(_st.characters(exclude_categories=("Cs",)), max_size=8)


@_st.composite
def string_arrays(draw, kinds=("object", "S", "U", "mixed"), shape=None):
    """String tensors: object arrays of bytes, ``S`` arrays, ``U`` arrays, object arrays of str+bytes.

    ``S`` and ``U`` arrays cannot hold trailing NUL bytes/characters: numpy strips them on item
    access (``np.array([b"a\\x00"])[0] == b"a"``), and both encoders and TensorFlow see the items
    numpy gives them.  The values here are drawn freely; compare against ``arr.tolist()`` items.
    """
    kind = draw(_st.sampled_from(kinds))
    shape = draw(shape if shape is not None else shapes(max_side=3))
    size = int(_np.prod(shape, dtype=_np.int64))
    if kind == "U":
        items = draw(_st.lists(_texts, min_size=size, max_size=size))
        width = max([len(t) for t in items] + [1])
        return _np.array(items, dtype=f"U{width}").reshape(shape)
    if kind == "mixed":
        items = draw(_st.lists(_st.one_of(_byte_strings, _texts), min_size=size, max_size=size))
    else:
        items = draw(_st.lists(_byte_strings, min_size=size, max_size=size))
    if kind == "S":
        width = max([len(b) for b in items] + [1])
        return _np.array(items, dtype=f"S{width}").reshape(shape)
    out = _np.empty(size, dtype=object)
    out[:] = items
    return out.reshape(shape)


def tensors():
    """Any array encode_tensor supports: every numeric dtype and the string kinds."""
    return _st.one_of(arrays(), string_arrays())


def big_endian_dtype(dtype):
    """The big-endian variant of a numeric dtype; other dtypes unchanged (excluded: bfloat16,
    whose ml_dtypes type has no byte-swapped variant, and one-byte and string dtypes)."""
    dtype = _np.dtype(dtype)
    if dtype.itemsize > 1 and dtype.kind in "iufc" and dtype != BFLOAT16:
        return dtype.newbyteorder(">")
    return dtype


def big_endian(arr):
    """``arr`` converted to big-endian byte order (same values), where the dtype has one."""
    return arr.astype(big_endian_dtype(arr.dtype))


@_st.composite
def strided_views(draw, arrays=None):
    """A non-contiguous view holding the values of a drawn array: a slice with steps (negative
    included) of a larger array, transposed, and sometimes big-endian.

    Returns ``(view, contiguous)``: ``contiguous`` is the C-contiguous, little-endian array of the
    same values, which the view must encode to the same bytes as.
    """
    base = draw(arrays if arrays is not None else tensors())
    steps = draw(_st.lists(_st.sampled_from([1, 2, 3, -1, -2]), min_size=base.ndim, max_size=base.ndim))
    dtype = big_endian_dtype(base.dtype) if draw(_st.booleans()) else base.dtype
    # Embed ``base`` in a larger array at a stride of |step| along each axis, then slice it out;
    # the gaps hold a filler, so reading a wrong element shows.
    big_shape = tuple(max(1, n * abs(s)) for n, s in zip(base.shape, steps))
    filler = {"O": b"junk", "S": b"junk", "U": "junk"}.get(dtype.kind, 7)
    big = _np.full(big_shape, filler, dtype=dtype)
    index = tuple(
        slice(0, 0, s) if n == 0 else slice(None, n * s, s) if s > 0 else slice(n * -s - 1, None, s)
        for n, s in zip(base.shape, steps)
    )
    big[index + (Ellipsis,)] = base  # (without the Ellipsis a rank-0 object array would nest)
    perm = draw(_st.permutations(range(base.ndim)))
    view = big[index + (Ellipsis,)].transpose(perm)  # (the Ellipsis keeps rank 0 an array view)
    return view, base.transpose(perm).copy(order="C")  # (ascontiguousarray would make rank 0 rank 1)


# --- Equivalent wire encodings of a tensor ----------------------------------
# tensor_proto_encodings() writes a drawn array as a TensorProto the way *any* protobuf writer
# may: fields in any order, unknown fields of every wire type (groups included), known fields
# with a wire type that makes them unknown, packed and unpacked values split into chunks
# (complex pairs may straddle chunks), the typed *_val field shortened by the repeat-last and
# no-values-means-zeros rules, tensor_content or typed values, overridden earlier values of
# last-wins fields (dtype, tensor_content, Dim.size), the shape split over several
# TensorShapeProto occurrences, non-minimal varints, and int32 varints with junk above bit 31.
# Its wire writer and DataType table are written here from docs/tensor-proto.md, independently of
# the code under test.  Excluded, on purpose: anything malformed (see the malformed-input
# strategies), and non-minimal varints in tags and lengths (valid protobuf, but not a case any
# producer writes and an ambiguity we do not want to test against the C++ parser).

_DT_NUMBER = {
    _np.dtype("<f4"): 1, _np.dtype("<f8"): 2, _np.dtype("<i4"): 3, _np.dtype("u1"): 4,
    _np.dtype("<i2"): 5, _np.dtype("i1"): 6, _np.dtype("<c8"): 8, _np.dtype("<i8"): 9,
    _np.dtype("?"): 10, BFLOAT16: 14, _np.dtype("<u2"): 17, _np.dtype("<c16"): 18,
    _np.dtype("<f2"): 19, _np.dtype("<u4"): 22, _np.dtype("<u8"): 23,
}
DT_STRING_NUMBER = 7

# dtype -> (value field number, how one scalar is written)
_VALUE_FIELD = {
    _np.dtype("<f4"): (5, "fixed32"), _np.dtype("<c8"): (9, "fixed32"),
    _np.dtype("<f8"): (6, "fixed64"), _np.dtype("<c16"): (12, "fixed64"),
    _np.dtype("<f2"): (13, "int32"), BFLOAT16: (13, "int32"),
    _np.dtype("i1"): (7, "int32"), _np.dtype("<i2"): (7, "int32"), _np.dtype("<i4"): (7, "int32"),
    _np.dtype("u1"): (7, "int32"), _np.dtype("<u2"): (7, "int32"),
    _np.dtype("<i8"): (10, "int64"), _np.dtype("<u4"): (16, "uint32"), _np.dtype("<u8"): (17, "uint64"),
    _np.dtype("?"): (11, "bool"),
}
_WIRE_TYPE = {"fixed32": 5, "fixed64": 1, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "bool": 0}


from tensorwire.testing._wire import wire_len, wire_tag, wire_varint  # noqa: E402 (moved: one source)


SKIPPABLE_KINDS = ("varint", "fixed64", "len", "fixed32", "group")


def _skippable_field(draw, kind, number):
    """Field ``number`` of wire ``kind`` (one of SKIPPABLE_KINDS) with a drawn payload: what a
    parser must skip when ``number`` is not one of its fields."""
    if kind == "varint":
        return wire_tag(number, 0) + wire_varint(draw(_st.integers(0, (1 << 64) - 1)))
    if kind == "fixed64":
        return wire_tag(number, 1) + draw(_st.binary(min_size=8, max_size=8))
    if kind == "fixed32":
        return wire_tag(number, 5) + draw(_st.binary(min_size=4, max_size=4))
    if kind == "len":
        return wire_len(number, draw(_st.binary(max_size=6)))
    assert kind == "group", kind
    inner = wire_tag(1, 0) + wire_varint(draw(_st.integers(0, 300))) + wire_len(2, b"xy")
    nested = wire_tag(40, 3) + wire_tag(40, 4) if draw(_st.booleans()) else b""  # a group in a group
    return wire_tag(number, 3) + inner + nested + wire_tag(number, 4)


def _unknown_field(draw):
    """One field a TensorProto parser must skip: an unknown number, or a known number with a
    wire type that number does not have."""
    kind = draw(_st.sampled_from(["varint", "fixed64", "len", "fixed32", "group", "wrong_wire_type"]))
    # 19..2**29-1 are not TensorProto fields (18 is float8_val, which we never write).
    number = draw(_st.one_of(_st.integers(19, 300), _st.just((1 << 29) - 1)))
    if kind in SKIPPABLE_KINDS:
        return _skippable_field(draw, kind, number)
    # dtype as fixed32, shape and tensor_content as varints, version_number as fixed64
    return draw(
        _st.sampled_from(
            [
                wire_tag(1, 5) + b"\x02\x00\x00\x00",
                wire_tag(1, 1) + b"\x09" + b"\x00" * 7,
                wire_tag(2, 0) + wire_varint(3),
                wire_tag(4, 0) + wire_varint(1),
                wire_tag(4, 5) + b"abcd",
                wire_tag(3, 1) + b"\x01" * 8,
            ]
        )
    )


def _interleave(draw, streams):
    """Concatenate the byte strings of several streams, interleaved at random, each stream's own
    order kept (it matters: repeated values concatenate and the last scalar wins)."""
    owners = [i for i, stream in enumerate(streams) for _ in stream]
    order = draw(_st.permutations(owners))
    cursors = [0] * len(streams)
    out = []
    for owner in order:
        out.append(streams[owner][cursors[owner]])
        cursors[owner] += 1
    return b"".join(out)


def _scalars(arr, how):
    """The wire scalars of an array's elements: ints for varint fields, bytes for fixed ones."""
    flat = arr.reshape(-1)
    if how in ("fixed32", "fixed64"):
        part = _np.dtype("<f4" if how == "fixed32" else "<f8")
        raw = _np.ascontiguousarray(flat).view(part)  # complex: (re, im) pairs
        return [raw[i : i + 1].tobytes() for i in range(raw.size)]
    if arr.dtype.kind == "f" or arr.dtype == BFLOAT16:
        return [int(v) for v in _np.ascontiguousarray(flat).view(_np.uint16)]
    return [int(v) for v in flat.tolist()]


def _shape_stream(draw, shape):
    dims = []
    for size in shape:
        parts = []
        if draw(_st.booleans()) and draw(_st.booleans()):
            parts.append(wire_tag(1, 0) + wire_varint(draw(_st.integers(0, 9))))  # overridden below
        if size or parts or draw(_st.booleans()):  # size 0 may be written or left out
            parts.append(wire_tag(1, 0) + wire_varint(size))
        if draw(_st.booleans()) and draw(_st.booleans()):
            parts.insert(draw(_st.integers(0, len(parts))), wire_len(2, b"dim"))  # Dim.name
        if draw(_st.booleans()) and draw(_st.booleans()):
            parts.insert(draw(_st.integers(0, len(parts))), wire_tag(7, 0) + wire_varint(1))
        dims.append(wire_len(2, b"".join(parts)))
    # split the dims over one or more TensorShapeProto occurrences (they merge)
    cuts = sorted(draw(_st.lists(_st.integers(0, len(dims)), max_size=2)))
    pieces = [dims[a:b] for a, b in zip([0] + cuts, cuts + [len(dims)])]
    stream = []
    for piece in pieces:
        body = list(piece)
        if draw(_st.booleans()) and draw(_st.booleans()):
            body.insert(draw(_st.integers(0, len(body))), wire_tag(3, 0) + wire_varint(0))  # unknown_rank=false
        stream.append(wire_len(2, b"".join(body)))
    if not shape and len(stream) == 1 and draw(_st.booleans()):
        return []  # a scalar's shape may be left out altogether
    return stream


@_st.composite
def tensor_proto_encodings(draw, arrays=None):
    """``(data, expected)``: a valid TensorProto written by a drawn protobuf writer, and the array
    it decodes to (native byte order; strings as an object array of bytes)."""
    arr = draw(arrays if arrays is not None else tensors())
    n = arr.size
    is_string = arr.dtype.kind in "OSU"
    if is_string:
        expected = _np.empty(n, dtype=object)
        expected[:] = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
        expected = expected.reshape(arr.shape)
        dt = DT_STRING_NUMBER
    else:
        expected = arr.copy(order="C")
        dt = _DT_NUMBER[arr.dtype]

    dtype_stream = []
    if draw(_st.booleans()) and draw(_st.booleans()):
        dtype_stream.append(wire_tag(1, 0) + wire_varint(draw(_st.sampled_from([1, 2, 3, 7, 9, 19]))))
    dtype_stream.append(wire_tag(1, 0) + wire_varint(dt, pad=draw(_st.sampled_from([0, 0, 0, 1, 3]))))

    content_stream, value_stream = [], []
    use_content = not is_string and n > 0 and draw(_st.booleans())
    if use_content:
        if draw(_st.booleans()) and draw(_st.booleans()):
            content_stream.append(wire_len(4, draw(_st.binary(max_size=5))))  # overridden below
        content_stream.append(wire_len(4, expected.astype(expected.dtype.newbyteorder("<")).tobytes()))
        # values in the typed field too: tensor_content wins over them
        if draw(_st.booleans()) and draw(_st.booleans()):
            field, how = _VALUE_FIELD[arr.dtype]
            decoy = _scalars(_np.zeros(1, dtype=arr.dtype), how)
            payload = b"".join(s if isinstance(s, bytes) else wire_varint(s) for s in decoy)
            value_stream.append(wire_len(field, payload))
    else:
        if draw(_st.booleans()) and draw(_st.booleans()):
            # an empty tensor_content (possibly overriding an earlier one) means "use *_val"
            if draw(_st.booleans()):
                content_stream.append(wire_len(4, draw(_st.binary(min_size=1, max_size=5))))
            content_stream.append(wire_len(4, b""))
        if is_string:
            items = expected.reshape(-1).tolist()
            keep = len(items)
            while keep > 1 and items[keep - 2] == items[-1]:
                keep -= 1  # the last value repeats
            if keep == 1 and items[0] == b"":
                keep = 0  # no values: empty strings
            m = draw(_st.integers(min(keep, len(items)), len(items)))
            value_stream.extend(wire_len(8, s) for s in items[:m])
        elif n:
            field, how = _VALUE_FIELD[arr.dtype]
            per = 2 if arr.dtype.kind == "c" else 1
            scalars = _scalars(expected, how)
            elems = [tuple(scalars[i * per : (i + 1) * per]) for i in range(n)]
            if how == "bool":
                elems = [(bool(e[0]),) for e in elems]
            keep = n
            while keep > 1 and elems[keep - 2] == elems[-1]:
                keep -= 1
            zero = (b"\x00" * (4 if how == "fixed32" else 8),) * per if how.startswith("fixed") else ((False,) if how == "bool" else (0,))
            if keep == 1 and elems[0] == zero:
                keep = 0
            m = draw(_st.integers(keep, n))
            flat = [s for e in elems[:m] for s in e]
            if how.startswith("fixed"):
                encoded = flat
            else:
                pad = draw(_st.sampled_from([0, 0, 0, 1, 2]))
                if how == "int32":
                    # int32 on the wire: negatives sign-extended to 10 bytes or cut to 5; junk
                    # above bit 31 is dropped by every protobuf parser.
                    style = draw(_st.sampled_from(["sign_extend", "five_bytes", "high_junk"]))
                    if style == "five_bytes":
                        flat = [v & 0xFFFFFFFF for v in flat]
                    elif style == "high_junk":
                        flat = [(v & 0xFFFFFFFF) | (draw(_st.integers(1, 0xFFFFFFFF)) << 32) if i == 0 else v for i, v in enumerate(flat)]
                elif how == "uint32" and flat and draw(_st.booleans()):
                    flat = [v | (1 << 40) for v in flat]  # uint32: bits above 31 are dropped
                elif how == "bool":
                    true = draw(_st.sampled_from([1, 1, 2, 0x7F, 1 << 40, (1 << 64) - 1]))  # any non-zero is True
                    flat = [true if v else 0 for v in flat]
                encoded = [wire_varint(v, pad=pad) for v in flat]
            # split into chunks, each written packed (one LEN field) or unpacked (one field each)
            cuts = sorted(draw(_st.lists(_st.integers(0, len(encoded)), max_size=3)))
            for a, b in zip([0] + cuts, cuts + [len(encoded)]):
                chunk = encoded[a:b]
                if chunk and draw(_st.booleans()):
                    value_stream.extend(wire_tag(field, _WIRE_TYPE[how]) + s for s in chunk)
                elif chunk or draw(_st.booleans()):
                    value_stream.append(wire_len(field, b"".join(chunk)))

    shape_stream = _shape_stream(draw, arr.shape)
    extra_stream = [_unknown_field(draw) for _ in range(draw(_st.integers(0, 3)))]
    if draw(_st.booleans()) and draw(_st.booleans()):
        extra_stream.append(wire_tag(3, 0) + wire_varint(draw(_st.integers(0, 1000))))  # version_number
    data = _interleave(draw, [dtype_stream, shape_stream, content_stream, value_stream, extra_stream])
    return data, expected


# ---------------------------------------------------------------------------
# Malformed TensorProto (tensorwire.codecs.tensor / tensorwire._native.tensor)
# ---------------------------------------------------------------------------
# Used by test_tensor_malformed.py.  Starting points are valid encodings, from the protobuf-writer
# strategy above (tensor_proto_encodings: both forms, every dtype, fields in any order) and a
# few hand-written minimal ones; each is then damaged by one to four edits that reach every kind
# of error the decoders define: truncation, byte overwrites (the varint continuation bit, wire
# types 3/4/6/7 and field numbers are oversampled by overwriting with tokens), insertions of
# random bytes or of hostile tokens (over-long varints, huge lengths and dims, negative dims,
# bad groups, out-of-range int_val/half_val, bool bytes 2..255), deletions and duplications.
# A mutation may leave the message valid (e.g. a flipped value byte): the tests accept either
# an equal decode from both backends or the same DecodeError.  Excluded, on purpose: messages
# longer than a few hundred bytes (the pure-Python reference is per-byte), which the shape of
# the seeds already ensures.

_MALFORMED_SEEDS = [
    bytes.fromhex("08011208120208021202080222100000803f000000400000404000008040"),  # f32 [[1,2],[3,4]]
    bytes.fromhex("080112002a040000c03f"),  # f32 scalar in float_val
    bytes.fromhex("080a1204120208032203010001"),  # bool content [1, 0, 1]
    bytes.fromhex("080a1204120208035a03010001"),  # bool_val
    bytes.fromhex("0807120412020803420261624200420200ff"),  # strings
    bytes.fromhex("08131204120208026a058078808003"),  # half_val
    bytes.fromhex("08091204120208025210fbffffffffffffffff01808080808020"),  # int64_val
    bytes.fromhex("08041204120208033a040102ff01"),  # int_val for uint8
    bytes.fromhex("08081204120208024a100000803f0000004000004040000080bf"),  # scomplex_val
]


from tensorwire.testing._mutate import (  # noqa: E402 (moved: one source)
    MUTATION_EDITS, mutated_bytes, protobuf_hostile_tokens as _protobuf_hostile_tokens,
    tensor_hostile_tokens as _hostile_tokens,
)


@_st.composite
def malformed_seed_protos(draw):
    """A valid TensorProto to damage: a drawn protobuf writing of a small tensor, or a seed."""
    if draw(_st.booleans()):
        return draw(_st.sampled_from(_MALFORMED_SEEDS))
    small = _st.one_of(arrays(shapes=shapes(max_dims=3, max_side=3)), string_arrays(shape=shapes(max_dims=2)))
    return draw(tensor_proto_encodings(arrays=small))[0]


def mutated_tensor_protos(seeds=None):
    """A valid TensorProto with one to four random edits (see the section comment)."""
    return mutated_bytes(seeds if seeds is not None else malformed_seed_protos(), _hostile_tokens())


# ---------------------------------------------------------------------------
# base64 (tensorwire.codecs.base64 / tensorwire._native.base64)
# ---------------------------------------------------------------------------
# Used by test_base64.py.  The Cython twin decodes texts shorter than 256 characters (and
# encodes inputs shorter than 256 bytes) with its own scalar loop and longer ones through
# pybase64's SIMD code, so payloads are drawn on both sides of that size: short ones (0-191
# bytes, every shape of the last group included) and long ones (192 bytes and up, encoded in
# 256 characters or more; from 256 bytes up encoded by pybase64 too).  Byte values are
# unrestricted.

B64_ALPHABETS = ("any", "standard", "urlsafe")
# The layouts b64decode accepts; the same characters must decode alike in each.
B64_FORMS = ("bytes", "str", "bytearray", "memoryview")


def b64_payloads(max_size=1500):
    """Bytes to encode, short (scalar path) or long (pybase64 path)."""
    return _st.one_of(_st.binary(max_size=191), _st.binary(min_size=192, max_size=max_size))


def b64_in_form(text, form):
    """ASCII ``text`` (bytes or str) in one of B64_FORMS."""
    raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
    if form == "str":
        return raw.decode("ascii")
    if form == "bytearray":
        return bytearray(raw)
    if form == "memoryview":
        return memoryview(raw)
    return raw


@_st.composite
def b64_texts(draw, max_size=1500):
    """``(data, urlsafe, pad, text)``: a payload and a valid base64 text of it (as bytes), in
    either alphabet, with or without padding, written independently of the code under test."""
    import base64 as _stdlib_base64  # the stdlib writes the text: an oracle, not tensorwire

    data = draw(b64_payloads(max_size))
    urlsafe = draw(_st.booleans())
    pad = draw(_st.booleans())
    text = _stdlib_base64.urlsafe_b64encode(data) if urlsafe else _stdlib_base64.b64encode(data)
    if not pad:
        text = text.rstrip(b"=")
    return data, urlsafe, pad, text


# Characters the corruptions put in: padding (out of place, or too much) and both alphabets'
# special characters (so texts become mixed, or wrong for an explicit alphabet), drawn half of
# the time; otherwise those, the whitespace a lenient decoder skips, characters in neither
# alphabet, NUL and DEL, and data characters.
_B64_STRUCTURAL = "=+/-_"
_B64_ASCII_JUNK = _B64_STRUCTURAL + " \n\r\t*.!~\x00\x7fAQw9"
# Bytes >= 0x80 (0xAB and 0xAF are what the twin turns a stray '+' and '/' into on its URL-safe
# path), and non-ASCII characters for str texts, one beyond the BMP.
_B64_HIGH_BYTES = b"\x80\xab\xaf\xff"
_B64_NON_ASCII = "\u00e9\u00ff\u20ac\U0001f600"


@_st.composite
def b64_corrupted_texts(draw, max_size=1500):
    """A valid text (either alphabet, padded or not) after 1-3 random edits (insert, replace or
    delete one character; half of them within the last 6 characters, where the padding rules
    act), as bytes or as str.  Most results are invalid; some edits leave the text valid."""
    _data, _urlsafe, _pad, text = draw(b64_texts(max_size))
    as_str = draw(_st.booleans())
    chars = list(text.decode("ascii")) if as_str else [bytes([b]) for b in text]
    structural = [c if as_str else c.encode("ascii") for c in _B64_STRUCTURAL]
    junk = [c if as_str else c.encode("latin-1") for c in _B64_ASCII_JUNK]
    junk += list(_B64_NON_ASCII) if as_str else [bytes([b]) for b in _B64_HIGH_BYTES]
    new_char = _st.one_of(_st.sampled_from(structural), _st.sampled_from(junk))
    for _ in range(draw(_st.integers(1, 3))):
        n = len(chars)
        near_end = draw(_st.booleans())
        pos = draw(_st.integers(max(0, n - 6) if near_end else 0, n))
        kind = draw(_st.sampled_from(["insert", "replace", "delete"]))
        if kind == "insert" or pos == n:
            chars.insert(pos, draw(new_char))
        elif kind == "replace":
            chars[pos] = draw(new_char)
        else:
            del chars[pos]
    return "".join(chars) if as_str else b"".join(chars)


# ---------------------------------------------------------------------------
# TFRecord (tensorwire.codecs.tfrecord / tensorwire._native.tfrecord)
# ---------------------------------------------------------------------------
# Used by test_tfrecord.py.  Records are mostly small (0-300 arbitrary bytes, the empty record
# oversampled) so that many records, and so many record boundaries, fall in one read buffer;
# now and then one is big: sized around the 256 KiB read buffer (TFRECORD_BUFFER), where the
# Cython twin switches from slicing records out of its buffer to reading them into their own
# bytes object, or up to 600 kB.  Big records are pseudo-random bytes from a drawn seed
# (drawing 300 kB byte by byte would make every example slow); their content is not what is
# under test, their length and position are.  Excluded on purpose: records above 600 kB (the
# 16 MiB growth path is tested once, directly) and files of more than 12 records (cost).

import random as _random

TFRECORD_BUFFER = 1 << 18
TFRECORD_COMPRESSIONS = (None, "gzip", "zlib")


def _seeded_bytes(size, seed):
    return _random.Random(seed).randbytes(size)


def tfrecord_big_records():
    near_buffer = _st.integers(TFRECORD_BUFFER - 40, TFRECORD_BUFFER + 40)
    return _st.builds(
        _seeded_bytes, _st.one_of(near_buffer, _st.integers(1000, 600_000)), _st.integers(0, 2**32)
    )


def tfrecord_small_records():
    return _st.one_of(_st.just(b""), _st.binary(max_size=300))


def tfrecord_record_lists(max_records=12, big=True):
    """Lists of records for one file; some big ones when ``big``."""
    record = tfrecord_small_records()
    if big:
        record = _st.one_of(record, record, record, record, record, record, tfrecord_big_records())
    return _st.lists(record, max_size=max_records)


def tfrecord_read_sizes():
    """Sizes a short-reading file object returns from successive reads (cycled): 1 byte up to
    more than a buffer, so record boundaries land anywhere within a read."""
    return _st.lists(
        _st.one_of(_st.integers(1, 20), _st.integers(1, 5000), _st.integers(1, 2 * TFRECORD_BUFFER)),
        min_size=1,
        max_size=6,
    )


# ---------------------------------------------------------------------------
# tf.Example (tensorwire.codecs.example / tensorwire._native.example)
# ---------------------------------------------------------------------------
# Used by test_example.py.  example_values() draws one feature value of every form encode_example
# accepts, with what it must decode to: float arrays of every float dtype (float32 values as raw
# bits, so NaN payloads, signalling NaNs, -0.0, infinities and subnormals occur; float64 also
# as values that float32 cannot represent), every integer dtype and bool, in C order and as
# strided/transposed/big-endian views (strided_views above); Python and numpy scalars; lists of
# numbers; bytes, str, lists of them and S/U/object arrays.  Arrays are small (rank 0-3, sides
# 0-4) because the reference and the protobuf oracle cost per element.  Feature names mix the
# awkward ones (empty, non-ASCII, one a prefix of another: protobuf's sort puts "B10" before
# "B1") with arbitrary text.  Excluded on purpose: uint64 values above 2**63-1 and Python ints
# beyond int64 (encode_example raises ValueError for them: hand-written tests), text with lone
# surrogates (no UTF-8 form: UnicodeEncodeError, hand-written test), complex and other
# unsupported dtypes (TypeError, hand-written tests).
#
# example_encodings() writes an Example the way any protobuf writer may, from docs/tf-example.md
# and independently of the code under test: entries in any order, several Features
# occurrences (merged), a name repeated (the last entry wins), the entry's key before or after
# its value, a key repeated within an entry (the last wins) or absent (the empty name), the
# value split over several occurrences and the list split over several occurrences of its kind
# field (all concatenated), packed and unpacked chunks, non-minimal value varints, Features with
# no kind set, and unknown fields of every wire type (groups included) at every level,
# including known field numbers with another wire type.  An unknown field in a map entry
# itself makes protobuf's Python runtime drop the entry (see the codec's docstring): such
# entries are drawn now and then and left out of the expected result.  Excluded: anything malformed (the
# malformed strategies below), non-minimal varints in tags and lengths (valid, but no producer
# writes them) and Features with two kinds (DecodeError by design).

EXAMPLE_FLOAT_DTYPES = FLOAT_DTYPES  # float16, float32, float64, bfloat16
EXAMPLE_INT_DTYPES = INT_DTYPES + [BOOL_DTYPE]
_INT64_MAX = (1 << 63) - 1

EXAMPLE_NAMES = _st.one_of(
    _st.sampled_from(["", "B1", "B10", "B11", "B2", "a", "ab", "abc", "id", "\u00e9", "\U0001f600", "a\x00b"]),
    _texts,
)


def _float32(arr):
    with _np.errstate(over="ignore", invalid="ignore"):
        return _np.asarray(arr, dtype=_np.float32).reshape(-1).copy()


def _float64_values(shape):
    """float64 arrays of values float32 cannot hold: rounding (ties included), overflow to inf
    (and the largest values that still round down to the float32 maximum), underflow to
    subnormals and zero.  (NaN payloads come from the bit patterns of the "float" form.)"""
    pool = _st.one_of(
        _st.floats(width=64),
        _st.sampled_from(
            [0.1, 1 / 3, 1 + 2**-24, 1 + 3 * 2**-24, 3.4028235677973366e38, 3.4028235677973362e38, 1e300, -1e300,
             1e-46, 7e-46, 1.4e-45, 2**-150, 2**-149 * 1.5]
        ),
    )
    return _hnp.arrays(_np.float64, shape, elements=pool)


@_st.composite
def example_values(draw):
    """``(value, (kind, expected))``: a value for encode_example and what decode_example gives
    back for it: ``("float", float32 array)``, ``("int64", int64 array)`` (1-D, row-major) or
    ``("bytes", list of bytes)``."""
    small = shapes(max_dims=3, max_side=4)
    form = draw(
        _st.sampled_from(
            ["float", "float", "float64", "int", "int", "strided", "py_scalar", "np_scalar", "number_list",
             "bytes", "str", "text_list", "text_array", "object_ints", "empty_list"]
        )
    )
    if form == "float":
        arr = draw(arrays(EXAMPLE_FLOAT_DTYPES, shapes=small))
        return arr, ("float", _float32(arr))
    if form == "float64":
        arr = draw(_float64_values(draw(small)))
        if draw(_st.booleans()):
            arr = _np.asfortranarray(arr)
        return arr, ("float", _float32(arr))
    if form == "int":
        arr = draw(arrays(EXAMPLE_INT_DTYPES, shapes=small))
        if arr.dtype == _np.uint64:
            arr = arr & _np.uint64(_INT64_MAX)  # excluded: values above int64 (ValueError)
        return arr, ("int64", arr.astype(_np.int64).reshape(-1))
    if form == "strided":
        view, contiguous = draw(strided_views(arrays(EXAMPLE_FLOAT_DTYPES[:3] + INT_DTYPES[:7], shapes=small)))
        if contiguous.dtype.kind == "f":
            return view, ("float", _float32(contiguous))
        return view, ("int64", contiguous.astype(_np.int64).reshape(-1))
    if form == "py_scalar":
        value = draw(_st.one_of(_st.floats(width=64), _st.integers(-(1 << 63), _INT64_MAX), _st.booleans()))
        if isinstance(value, float):
            return value, ("float", _float32([value]))
        return value, ("int64", _np.array([int(value)], dtype=_np.int64))
    if form == "np_scalar":
        arr = draw(arrays(EXAMPLE_FLOAT_DTYPES + EXAMPLE_INT_DTYPES[:7] + [BOOL_DTYPE], shapes=_st.just(())))
        value = arr[()]
        if arr.dtype.kind in "fV":
            return value, ("float", _float32(arr))
        return value, ("int64", arr.astype(_np.int64).reshape(-1))
    if form == "number_list":
        if draw(_st.booleans()):
            items = draw(_st.lists(_st.floats(width=32), min_size=1, max_size=6))
            return items, ("float", _float32(items))
        items = draw(_st.lists(_st.integers(-(1 << 63), _INT64_MAX), min_size=1, max_size=6))
        return (tuple(items) if draw(_st.booleans()) else items), ("int64", _np.array(items, dtype=_np.int64))
    if form == "bytes":
        value = draw(_byte_strings)
        if draw(_st.booleans()):
            return bytearray(value), ("bytes", [value])
        return value, ("bytes", [value])
    if form == "str":
        value = draw(_texts)
        return value, ("bytes", [value.encode("utf-8")])
    if form == "text_list":
        items = draw(_st.lists(_st.one_of(_byte_strings, _texts), min_size=1, max_size=5))
        want = [v.encode("utf-8") if isinstance(v, str) else v for v in items]
        return (tuple(items) if draw(_st.booleans()) else items), ("bytes", want)
    if form == "text_array":
        arr = draw(string_arrays(shape=shapes(max_dims=2, max_side=3)))
        want = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
        return arr, ("bytes", want)
    if form == "object_ints":
        items = draw(_st.lists(_st.integers(-(1 << 63), _INT64_MAX), min_size=1, max_size=5))
        arr = _np.empty(len(items), dtype=object)
        arr[:] = items
        return arr, ("int64", _np.array(items, dtype=_np.int64))
    return draw(_st.sampled_from([[], ()])), ("bytes", [])  # empty_list: a list is the bytes route


@_st.composite
def example_features(draw, max_size=5):
    """``(features, expected)``: a dict of drawn values and ``{name: (kind, values)}``."""
    names = draw(_st.lists(EXAMPLE_NAMES, unique=True, max_size=max_size))
    features, expected = {}, {}
    for name in names:
        features[name], expected[name] = draw(example_values())
    return features, expected


@_st.composite
def sequence_examples(draw):
    """``(context, feature_lists, expected_context, expected_lists)`` for encode_sequence_example;
    a feature list is a list or tuple of drawn steps, or a 2-D float array (rows are steps)."""
    context, want_context = draw(example_features(max_size=3))
    names = draw(_st.lists(EXAMPLE_NAMES, unique=True, max_size=3))
    lists, want_lists = {}, {}
    for name in names:
        if draw(_st.integers(0, 4)) == 0:
            arr = draw(arrays([_np.dtype("<f4"), _np.dtype("<f8")], shapes=shapes(max_dims=2, max_side=3).filter(len)))
            lists[name] = arr
            want_lists[name] = [("float", _float32(row)) for row in arr]
            continue
        steps = draw(_st.lists(example_values(), max_size=4))
        lists[name] = [value for value, _ in steps]
        if draw(_st.booleans()):
            lists[name] = tuple(lists[name])
        want_lists[name] = [want for _, want in steps]
    return context, lists, want_context, want_lists


# --- Equivalent wire encodings of an Example ----------------------------------


def _example_unknown_field(draw, first_free):
    """A field an Example-family parser must skip: a number from ``first_free`` up, or field 1
    (or 2) with a wire type that number does not have in these messages."""
    kind = draw(_st.sampled_from(["varint", "fixed64", "len", "fixed32", "group", "wrong_wire_type"]))
    number = draw(_st.one_of(_st.integers(first_free, 40), _st.just((1 << 29) - 1)))
    if kind in SKIPPABLE_KINDS:
        return _skippable_field(draw, kind, number)
    # A known number with a wire type it never has here (no message in the family uses fixed64
    # or fixed32 for field 1 or 2, except FloatList.value, which is never given this token).
    return wire_tag(draw(_st.sampled_from([1, 2])), draw(_st.sampled_from([1]))) + b"\x00" * 8


def _scatter(draw, fields, first_free):
    """``fields`` in order, with up to two unknown fields put in anywhere."""
    out = list(fields)
    for _ in range(draw(_st.integers(0, 2)) if draw(_st.booleans()) else 0):
        out.insert(draw(_st.integers(0, len(out))), _example_unknown_field(draw, first_free))
    return out


def _chunks(draw, items, max_cuts=2):
    cuts = sorted(draw(_st.lists(_st.integers(0, len(items)), max_size=max_cuts)))
    return [items[a:b] for a, b in zip([0] + cuts, cuts + [len(items)])]


@_st.composite
def _wire_feature_values(draw):
    """``(kind, values)``: kind ``None`` (no kind), ``"float"`` (float32 array from any bits),
    ``"int64"`` (int64 array) or ``"bytes"`` (list of bytes)."""
    kind = draw(_st.sampled_from([None, "float", "float", "int64", "int64", "bytes"]))
    n = _st.integers(0, 6)
    if kind == "float":
        bits = draw(_st.lists(float_bits(_np.dtype("<f4")), max_size=6))
        return kind, _np.array(bits, dtype=_np.uint32).view(_np.float32)
    if kind == "int64":
        ints = draw(_st.lists(_int_elements(_np.dtype("<i8")), max_size=draw(n)))
        return kind, _np.array(ints, dtype=_np.int64)
    if kind == "bytes":
        return kind, draw(_st.lists(_byte_strings, max_size=draw(n)))
    return None, None


def _wire_list(draw, kind, values):
    """One or more occurrences of the Feature's kind field (their lists concatenate)."""
    if kind == "float":
        scalars = [v.tobytes() for v in values.astype("<f4")]
        number, unpacked_wt = 2, 5
    elif kind == "int64":
        pad = draw(_st.sampled_from([0, 0, 0, 1, 2]))
        scalars = [wire_varint(int(v), pad=pad) for v in values]
        number, unpacked_wt = 3, 0
    else:
        scalars = list(values)
        number, unpacked_wt = 1, None
    occurrences = []
    for part in _chunks(draw, scalars, max_cuts=1 if draw(_st.booleans()) else 0):
        fields = []
        for chunk in _chunks(draw, part):
            if unpacked_wt is None:
                fields.extend(wire_len(1, s) for s in chunk)
            elif chunk and draw(_st.booleans()):
                fields.extend(wire_tag(1, unpacked_wt) + s for s in chunk)
            elif chunk or draw(_st.booleans()):
                fields.append(wire_len(1, b"".join(chunk)))
        occurrences.append(wire_len(number, b"".join(_scatter(draw, fields, 2))))
    return occurrences


def _wire_feature_message(draw, kind, values):
    """One Feature message holding all of ``values`` (its kind field possibly repeated)."""
    fields = [] if kind is None else _wire_list(draw, kind, values)
    return b"".join(_scatter(draw, fields, 4))


def _wire_feature_occurrences(draw, kind, values):
    """The Feature as the value field(s) of a map entry: repeated, the messages merge; none at
    all (a Feature with no kind) now and then."""
    if kind is None and draw(_st.booleans()):
        return []
    kind_fields = [] if kind is None else _wire_list(draw, kind, values)
    return [b"".join(_scatter(draw, part, 4)) for part in _chunks(draw, kind_fields, max_cuts=1)]


def _wire_entry(draw, name, value_messages):
    """``(entry, plain)``: a map entry: key (maybe an overridden earlier key too, or none for
    the empty name) and the value messages, interleaved in any order; now and then with an
    unknown field, which makes protobuf (and so the decoders) drop the entry (``plain`` false)."""
    key = name.encode("utf-8")
    key_fields = [] if key == b"" and draw(_st.booleans()) else [wire_len(1, key)]
    if key_fields and draw(_st.booleans()) and draw(_st.booleans()):
        decoy = draw(EXAMPLE_NAMES).encode("utf-8")
        key_fields.insert(0, wire_len(1, decoy))  # an earlier key, overridden by the last one
    value_fields = [wire_len(2, m) for m in value_messages]
    merged = []
    while key_fields or value_fields:  # keys and values in any relative order
        take_key = key_fields and (not value_fields or draw(_st.booleans()))
        merged.append((key_fields if take_key else value_fields).pop(0))
    plain = draw(_st.integers(0, 7)) != 0
    if not plain:
        merged.insert(draw(_st.integers(0, len(merged))), _example_unknown_field(draw, 3))
    return wire_len(1, b"".join(merged)), plain


def _pick_name(draw, taken):
    if taken and draw(_st.integers(0, 4)) == 0:
        return draw(_st.sampled_from(sorted(taken)))  # a repeated name: the later entry wins
    return draw(EXAMPLE_NAMES)


def _wire_maps(draw, entries, number, first_free):
    """The map entries as one or more occurrences of field ``number`` (they merge)."""
    return [wire_len(number, b"".join(_scatter(draw, part, first_free))) for part in _chunks(draw, entries, max_cuts=1)]


def _wire_features_fields(draw, max_features, number):
    """``(fields, expected)``: Features messages, as field ``number``, of drawn entries."""
    entries, expected = [], {}
    for _ in range(draw(_st.integers(0, max_features))):
        name = _pick_name(draw, expected)
        kind, values = draw(_wire_feature_values())
        entry, plain = _wire_entry(draw, name, _wire_feature_occurrences(draw, kind, values))
        entries.append(entry)
        if plain:
            expected[name] = (kind, values)
    if not entries and draw(_st.booleans()):
        return [], expected  # no Features message at all
    return _wire_maps(draw, entries, number, 2), expected


@_st.composite
def example_encodings(draw, max_features=4):
    """``(data, expected)``: a valid Example written by a drawn protobuf writer (see the section
    comment) and ``{name: (kind, values)}`` it decodes to (kind ``None``: no kind set), in the
    order names first appear, the last entry of a name winning."""
    fields, expected = _wire_features_fields(draw, max_features, 1)
    return b"".join(_scatter(draw, fields, 2)), expected


@_st.composite
def sequence_example_encodings(draw):
    """``(data, expected_context, expected_lists)``: a valid SequenceExample written by a drawn
    protobuf writer; ``expected_lists`` maps names to their steps, ``[(kind, values)]``."""
    context_fields, want_context = _wire_features_fields(draw, 2, 1)
    entries, want_lists = [], {}
    for _ in range(draw(_st.integers(0, 3))):
        name = _pick_name(draw, want_lists)
        steps = draw(_st.lists(_wire_feature_values(), max_size=3))
        step_fields = [wire_len(1, _wire_feature_message(draw, kind, values)) for kind, values in steps]
        # the FeatureList as one or more value messages: their steps concatenate
        lists_messages = [b"".join(_scatter(draw, part, 2)) for part in _chunks(draw, step_fields, max_cuts=1)]
        entry, plain = _wire_entry(draw, name, lists_messages)
        entries.append(entry)
        if plain:
            want_lists[name] = steps
    list_fields = [] if not entries and draw(_st.booleans()) else _wire_maps(draw, entries, 2, 2)
    # context and feature_lists fields in any relative order
    fields = []
    while context_fields or list_fields:
        take = context_fields if context_fields and (not list_fields or draw(_st.booleans())) else list_fields
        fields.append(take.pop(0))
    return b"".join(_scatter(draw, fields, 3)), want_context, want_lists


# ---------------------------------------------------------------------------
# Malformed tf.Example (tensorwire.codecs.example / tensorwire._native.example)
# ---------------------------------------------------------------------------
# Used by test_example.py.  Valid encodings (the protobuf-writer strategies above, and a few
# golden vectors) damaged by one to four edits, as for TensorProto: truncation, overwrites,
# bit flips, insertions of random bytes or of tokens wrong in a way specific to these messages
# (over-long and cut varints, huge lengths, bad groups and wire types, a Feature with two kinds,
# a packed float_list of 3 bytes, keys that are not UTF-8: a lone byte 0xFF, an encoded
# surrogate, an overlong NUL), deletions and duplications.  A damaged message may still be
# valid: the tests accept an equal decode from both backends or the same DecodeError.

_EXAMPLE_SEEDS = [
    # mixed: {B1: float [1, 2, 3, 4], id: int64 [7], s: bytes [b"x"]} (docs/tf-example.md)
    bytes.fromhex(
        "0a350a0b0a02696412051a030a01070a0a0a017312050a030a01780a1a0a024231121412120a100000803f000000400000404000008040"
    ),
    bytes.fromhex("0a1b0a070a016212020a000a070a0166120212000a070a016912021a00"),  # empty lists
    bytes.fromhex("0a0c0a0a0a017812050a030a0178"),  # {x: [b"x"]}
]


def _example_hostile_tokens():
    entry = lambda key, feature: wire_len(1, wire_len(1, key) + wire_len(2, feature))  # noqa: E731
    return _st.one_of(
        _st.sampled_from(
            [
                *_protobuf_hostile_tokens(),
                wire_len(2, b"") + wire_len(3, b""),  # two kinds, inside a Feature
                wire_len(1, wire_len(1, b"")),  # a bytes_list, after some other kind
                wire_len(1, b"\x00\x00\x80"),  # a packed float_list of 3 bytes, inside a FloatList
                wire_len(2, wire_len(1, b"abcde")),  # a float_list with 5 bytes, inside a Feature
                wire_len(1, b"\xff"),  # a key that is not UTF-8, inside an entry
                wire_len(1, b"\xed\xa0\x80"),  # an encoded surrogate
                entry(b"\xc0\x80", b""),  # an entry whose key is an overlong NUL
                entry(b"k", wire_len(2, b"") + wire_len(3, b"")),  # an entry with two kinds
                entry(b"k", wire_len(3, wire_len(1, b"\x80"))),  # a packed int64 cut short
                entry(b"k", wire_len(2, wire_len(1, b"\x00" * 7))),  # a float_list of 7 bytes
            ]
        ),
        _st.binary(min_size=1, max_size=12),
    )


@_st.composite
def example_malformed_seeds(draw):
    if draw(_st.booleans()):
        return draw(_st.sampled_from(_EXAMPLE_SEEDS))
    return draw(example_encodings(max_features=3))[0]


def mutated_examples(seeds=None):
    """A valid Example (or SequenceExample, with ``seeds``) with one to four random edits
    (insertions drawn twice as often as for TensorProto)."""
    return mutated_bytes(
        seeds if seeds is not None else example_malformed_seeds(),
        _example_hostile_tokens(),
        edits=MUTATION_EDITS + ("insert",),
    )


# ---------------------------------------------------------------------------
# JSON bodies (tensorwire.codecs.jsonbody / tensorwire._native.jsonbody)
# ---------------------------------------------------------------------------
# Used by test_jsonbody.py and test_payload.py.  A batch is a list of ``(name, array)`` columns
# sharing a first (instance) axis of 0..3, each column of its own dtype and per-instance shape
# (rank 0..3, so arrays of rank 1..4, sides 0..3 with a zero side now and then), written named
# or bare (one column).  Floats come from raw bits (every special value).  Excluded, on purpose:
# bfloat16 and complex (JSON numbers have no such dtypes: numtext refuses them), names holding a
# lone surrogate (not encodable as UTF-8; the encoder refuses them, tested by hand) and the name
# ``b64`` (an object whose only key is ``b64`` is a binary value, not a named instance: that
# rule is tested by hand).  ``finite=True`` replaces non-finite floats by 0, for the oracles that
# cannot say NaN (orjson, strict JSON).
#
# Malformed bodies: valid bodies written independently of the code under test (json.dumps of
# drawn nested lists, named or bare, indented or compact, with metadata members; a few
# hand-written tensor bodies with base64 strings and {"b64": ...} objects), damaged by one to
# four edits of mutated_bytes with hostile JSON tokens: quotes, backslashes, bad and lone-
# surrogate escapes, brackets (70 deep too), number forms JSON refuses, invalid UTF-8, control
# characters.  No seed or token holds an ``error`` member (so a damaged body never becomes a
# PredictionError).

JSON_FLOAT_DTYPES = [_np.dtype(t) for t in ("<f2", "<f4", "<f8")]
JSON_DTYPES = JSON_FLOAT_DTYPES + INT_DTYPES + [BOOL_DTYPE]

JSON_NAMES = _st.one_of(
    _st.sampled_from(["B1", "B2", "x", "", "earthengine_in_0", 'q"uote', "back\\slash", "tab\tnl\n", "é", "😀"]),
    _st.text(_st.characters(exclude_categories=("Cs",)), max_size=6),
).filter(lambda name: name != "b64")


def _finite(arr):
    if arr.dtype.kind == "f":
        arr = arr.copy()
        arr[~_np.isfinite(arr)] = 0
    return arr


@_st.composite
def json_batches(draw, dtypes=None, max_columns=3, bare=None, finite=False, max_instances=3, min_instances=0):
    """``(columns, bare)``: columns ``[(name, array)]`` (``name`` None when bare) sharing the
    instance axis; ``bare`` (drawn unless given) means one column written without a name."""
    n = draw(_st.integers(min_instances, max_instances))
    bare = draw(_st.booleans()) if bare is None else bare
    count = 1 if bare else draw(_st.integers(1, max_columns))
    names = [None] if bare else draw(_st.lists(JSON_NAMES, min_size=count, max_size=count, unique=True))
    columns = []
    for name in names:
        inner = draw(shapes(max_dims=3, max_side=3))
        arr = draw(arrays(dtypes=dtypes or JSON_DTYPES, shapes=_st.just((n, *inner))))
        columns.append((name, _finite(arr) if finite else arr))
    return columns, bare


_TENSOR_B64 = [  # URL-safe base64 of serialize_tensor bytes (docs/json-payloads.md)
    "CAESCBICCAISAggCIhAAAIA_AAAAQAAAQEAAAIBA",  # float32 [[1, 2], [3, 4]]
    "CAESBBICCAIiCAAAwD8AAMB_",  # float32 [1.5, nan]
    "CAESAA",  # float32 scalar, no content (0.0)
]

_JSON_BODY_SEEDS = [
    b'{"predictions":["CAESCBICCAISAggCIhAAAIA_AAAAQAAAQEAAAIBA","CAESCBICCAISAggCIhAAAIA_AAAAQAAAQEAAAIBA"]}',
    b'{"predictions":[{"a":"CAESBBICCAIiCAAAwD8AAMB_","b":{"b64":"CAESAA=="}}]}',
    b'{"predictions":[{"b64":"CAESBBICCAIiCAAAwD8AAMB/"}],"deployedModelId":"42"}',
    b'{"predictions":[[1.5,NaN,-Infinity,Infinity],[-0.0,1e-45,3.4028235e+38,"7"]]}',
    b'{ "predictions" : [ { "x" : [ [ 1 , 2 ] ] , "y" : "\\u00e9" } ] , "model" : "m" }',
    b'{"predictions":[{"\\u00e9\\ud83d\\ude00":[true,false]}]}',
]


@_st.composite
def _json_seed(draw):
    """A valid response body, written by json.dumps or by hand (see the section comment)."""
    import json as _json

    if draw(_st.integers(0, 2)) == 0:
        return draw(_st.sampled_from(_JSON_BODY_SEEDS))
    columns, bare = draw(json_batches(max_columns=2, min_instances=1, max_instances=2))
    rows = [
        columns[0][1][i].tolist() if bare else {name: arr[i].tolist() for name, arr in columns}
        for i in range(len(columns[0][1]))
    ]
    body = {"predictions": rows}
    if draw(_st.booleans()):
        body["deployedModelId"] = "1234"
    indent = draw(_st.sampled_from([None, None, 1]))
    text = _json.dumps(body, indent=indent, ensure_ascii=draw(_st.booleans()), separators=None if indent else (",", ":"))
    return text.encode("utf-8")


from tensorwire.testing._mutate import json_hostile_tokens as _json_hostile_tokens  # noqa: E402 (moved)


def mutated_json_bodies():
    """A valid response body with one to four random edits (see the section comment)."""
    return mutated_bytes(_json_seed(), _json_hostile_tokens())


def mutated_json_requests():
    """A valid request body (a response seed with ``predictions`` renamed ``instances``) with one
    to four random edits: what a server meets (test_serve.py)."""
    seeds = _json_seed().map(lambda body: body.replace(b'"predictions"', b'"instances"'))
    return mutated_bytes(seeds, _json_hostile_tokens())


@_st.composite
def decimal_texts(draw, max_digits=9):
    """The text of a JSON number with at most ``max_digits`` significant digits, in any of the
    forms a peer may write: integer, fraction, exponent with ``e``/``E`` and optional sign."""
    digits = str(draw(_st.integers(0, 10**max_digits - 1)))
    sign = draw(_st.sampled_from(["", "", "-"]))
    form = draw(_st.sampled_from(["int", "frac", "exp", "frac_exp"]))
    if form == "int":
        return sign + digits
    point = draw(_st.integers(1, len(digits)))
    mantissa = digits[:point] + ("." + digits[point:] if point < len(digits) else "")
    if form == "frac" and point == len(digits):
        mantissa += ".0"
    if form == "frac":
        return sign + mantissa
    if form == "exp":
        mantissa = digits
    e = draw(_st.sampled_from(["e", "E"])) + draw(_st.sampled_from(["", "+", "-"])) + str(draw(_st.integers(0, 60)))
    return sign + mantissa + e



# Earth Engine-wrapped TensorFlow models (test_jsonbody.py): pairs of float32 batches of the same
# shape, with values TensorFlow computes like numpy: normal float32 of moderate size (TensorFlow
# may flush subnormals to zero; non-finite inputs are tested by the round trips, not here).
_tf_values = _st.floats(-(2.0**100), 2.0**100, width=32).map(lambda x: 0.0 if abs(x) < 1e-30 else x)


@_st.composite
def ee_batches(draw):
    n = draw(_st.integers(1, 3))
    shape = (n, *draw(shapes(max_dims=3, max_side=4)))
    size = int(_np.prod(shape))
    a = _np.array(draw(_st.lists(_tf_values, min_size=size, max_size=size)), _np.float32).reshape(shape)
    b = _np.array(draw(_st.lists(_tf_values, min_size=size, max_size=size)), _np.float32).reshape(shape)
    return a, b

# ---------------------------------------------------------------------------
# TF Serving gRPC Predict payloads (tensorwire.codecs.grpc / tensorwire._native.grpc)
# ---------------------------------------------------------------------------
# Used by test_grpc.py.  grpc_batches(layout) draws the columns of one request: 1-3 uniquely named
# columns sharing an instance axis of 0..3, each of its own dtype and per-instance shape (rank
# 0..2, sides 0..3).  For "tensors" and "serialized_tensors" every dtype encode_tensor takes
# (numeric from raw bits, strings of every kind); for "examples" the float dtypes and the
# integer/bool dtypes the codec converts to float32.  Names are arbitrary text, the awkward
# ones oversampled.  Excluded, on purpose: repeated names and names with a lone surrogate (the
# encoder refuses them: hand-written tests), complex/string columns for "examples" (TypeError,
# hand-written test), and ragged columns (ValueError, hand-written test).
#
# grpc_specs() draws the request's other fields: model and signature names, version (None, 0,
# the int64 extremes or any int64) and output_filter names.
#
# grpc_request_encodings() writes a PredictRequest the way any protobuf writer may, from
# docs/grpc-payloads.md and independently of the code under test: top-level fields in any order,
# model_spec split over several occurrences (merged field by field; version given as
# version_label first now and then, which the later version clears), a map entry's key before
# or after its value, the value (a tensor_proto_encodings() TensorProto) split over two
# occurrences (concatenated), a name repeated (the later entry wins), and unknown fields of
# every wire type at every level.  It returns the bytes with the expected spec and arrays (and
# the arrays protobuf's Python runtime keeps: it drops a map entry holding an unknown field).
#
# Malformed requests: valid requests (the writer above, and hand-written seeds whose payloads
# are TensorProtos, base64 TensorProtos and Examples) damaged by mutated_bytes with tokens wrong
# for this envelope (over-long and cut varints, huge lengths, bad groups and wire types,
# invalid UTF-8 names, a TensorProto that is not DT_STRING where one is needed).  A damaged
# request may still be valid: the tests accept an equal decode from both backends or the same
# DecodeError.
#
# Malformed responses (mutated_grpc_responses): hand-written PredictResponses whose outputs mix
# serialized tensors (DT_STRING [N] of base64 TensorProtos, padded or not), plain numeric
# tensors and a DT_STRING tensor of rank 2 (returned as it is by layout "serialized_tensors"),
# damaged the same way, with the request's hostile tokens plus response-shaped ones (an output
# entry holding bad base64, instances that differ, a model_spec whose name is not UTF-8).

GRPC_LAYOUTS = ("tensors", "serialized_tensors", "examples")
GRPC_NAMES = _st.one_of(
    _st.sampled_from(["", "input", "inputs", "B1", "B10", "earthengine_in_0", "\u00e9", "\U0001f600", "a\x00b"]),
    _texts,
)
GRPC_EXAMPLE_DTYPES = FLOAT_DTYPES + INT_DTYPES + [BOOL_DTYPE]
_INT64_EXTREMES = [0, 1, -1, (1 << 63) - 1, -(1 << 63)]


@_st.composite
def grpc_batches(draw, layout, max_columns=3, max_instances=3, min_instances=0):
    """``[(name, array)]``: the columns of one request of ``layout``, sharing their first axis."""
    n = draw(_st.integers(min_instances, max_instances))
    names = draw(_st.lists(GRPC_NAMES, min_size=1, max_size=max_columns, unique=True))
    columns = []
    for name in names:
        shape = _st.just((n, *draw(shapes(max_dims=2, max_side=3))))
        if layout == "examples":
            arr = draw(arrays(dtypes=GRPC_EXAMPLE_DTYPES, shapes=shape))
        else:
            arr = draw(_st.one_of(arrays(shapes=shape), string_arrays(shape=shape)))
        columns.append((name, arr))
    return columns


@_st.composite
def grpc_specs(draw):
    """Keyword arguments of encode_predict_request besides the columns."""
    return {
        "model_name": draw(GRPC_NAMES),
        "signature_name": draw(GRPC_NAMES),
        "version": draw(_st.one_of(_st.none(), _st.sampled_from(_INT64_EXTREMES), _st.integers(-(1 << 63), (1 << 63) - 1))),
        "output_filter": draw(_st.lists(GRPC_NAMES, max_size=3)),
    }


def _grpc_unknown_field(draw, first_free):
    """A field a parser of a message whose fields are 1..first_free-1 must skip: an unknown
    number of any wire type, or field 1 with a wire type it does not have."""
    kind = draw(_st.sampled_from(SKIPPABLE_KINDS + ("wrong_wire_type",)))
    if kind == "wrong_wire_type":
        # (never field 1 as a varint: that is Int64Value.value)
        return draw(_st.sampled_from([wire_tag(1, 5) + b"abcd", wire_tag(1, 1) + b"\x00" * 8, wire_tag(2, 1) + b"\x00" * 8]))
    return _skippable_field(draw, kind, draw(_st.integers(first_free, 200)))


def _grpc_text_field(number, text):
    return wire_len(number, text.encode("utf-8"))


@_st.composite
def _grpc_model_spec_occurrences(draw, spec):
    """ModelSpec messages (one or more occurrences) whose merge is ``spec``."""
    fields = []
    if spec["name"] or draw(_st.booleans()):
        if draw(_st.booleans()):
            fields.append(_grpc_text_field(1, "overridden"))  # the last name wins
        fields.append(_grpc_text_field(1, spec["name"]))
    if spec["signature_name"] or draw(_st.booleans()):
        fields.append(_grpc_text_field(3, spec["signature_name"]))
    if spec["version"] is not None:
        v = spec["version"]
        if draw(_st.booleans()):
            fields.insert(0, _grpc_text_field(4, "stable"))  # version_label, cleared by version
        inner = [wire_tag(1, 0) + wire_varint(v)] if v or draw(_st.booleans()) else []
        if draw(_st.booleans()):
            inner.insert(0, _grpc_unknown_field(draw, 2))
        fields.append(wire_len(2, b"".join(inner)))
    if draw(_st.booleans()):
        fields.append(_grpc_unknown_field(draw, 5))
    # split into occurrences: consecutive runs, each one ModelSpec message
    cuts = sorted(draw(_st.lists(_st.integers(0, len(fields)), max_size=2)))
    pieces, last = [], 0
    for c in cuts + [len(fields)]:
        pieces.append(b"".join(fields[last:c]))
        last = c
    return [wire_len(1, p) for p in pieces if p] or ([wire_len(1, b"")] if draw(_st.booleans()) else [])


def _grpc_field_boundaries(message):
    """Offsets in ``message`` where a top-level field starts (and its end)."""
    def varint(pos):
        n = shift = 0
        while True:
            b = message[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n, pos

    def skip(pos, wt, field):
        if wt == 0:
            return varint(pos)[1]
        if wt in (1, 5):
            return pos + (8 if wt == 1 else 4)
        if wt == 2:
            n, pos = varint(pos)
            return pos + n
        while True:  # a group: up to its end tag
            tag, pos = varint(pos)
            if tag & 7 == 4:
                return pos
            pos = skip(pos, tag & 7, tag >> 3)

    out = [0]
    pos = 0
    while pos < len(message):
        tag, pos = varint(pos)
        pos = skip(pos, tag & 7, tag >> 3)
        out.append(pos)
    return out


@_st.composite
def grpc_request_encodings(draw):
    """``(bytes, spec, {name: array}, {name: array})``: a "tensors" PredictRequest written as
    any protobuf writer may (see the section comment), what it must decode to, and what
    protobuf's Python runtime decodes it to (it drops a map entry holding an unknown field,
    where TF Serving's C++ parser and tensorwire skip the field)."""
    spec = {
        "name": draw(GRPC_NAMES),
        "version": draw(_st.one_of(_st.none(), _st.sampled_from(_INT64_EXTREMES))),
        "version_label": None,
        "signature_name": draw(GRPC_NAMES),
        "output_filter": draw(_st.lists(GRPC_NAMES, max_size=2)),
    }
    small = _st.one_of(arrays(shapes=shapes(max_dims=2, max_side=3)), string_arrays(shape=shapes(max_dims=1)))
    names = draw(_st.lists(GRPC_NAMES, max_size=3))  # repeats allowed: the later entry wins
    expected = {}
    upb = {}  # what protobuf's Python runtime keeps: it drops an entry holding an unknown field
    entries = []
    for name in names:
        proto, arr = draw(tensor_proto_encodings(arrays=small))
        expected[name] = arr
        parts = [_grpc_text_field(1, name)] if name or draw(_st.booleans()) else []
        if draw(_st.booleans()):
            # two occurrences of the value merge into one TensorProto: split it at a boundary
            # of its top-level fields (tensor_proto_encodings writes tags and lengths minimally)
            cut = draw(_st.sampled_from(_grpc_field_boundaries(proto)))
            values = [wire_len(2, proto[:cut]), wire_len(2, proto[cut:])]
        else:
            values = [wire_len(2, proto)]
        if draw(_st.booleans()):
            parts = values + parts
        else:
            parts = parts + values
        if draw(_st.integers(0, 3)) == 0:
            parts.insert(draw(_st.integers(0, len(parts))), _grpc_unknown_field(draw, 3))
        else:
            upb[name] = arr
        entries.append(wire_len(2, b"".join(parts)))
    specs = draw(_grpc_model_spec_occurrences(spec))
    filters = [_grpc_text_field(3, f) for f in spec["output_filter"]]
    # from 8: TensorFlow Serving's PredictRequest has fields 5-7 (predict_streamed_options,
    # client_id, request_options), which tensorwire skips but protobuf, the oracle, parses
    unknown = [_grpc_unknown_field(draw, 8) for _ in range(draw(_st.integers(0, 2)))]
    data = _interleave(draw, [specs, entries, filters, unknown])
    return data, spec, expected, upb


from tensorwire.testing._mutate import (  # noqa: E402 (moved: one source)
    GRPC_B64 as _GRPC_B64, GRPC_EXAMPLE as _GRPC_EXAMPLE, GRPC_F32 as _GRPC_F32, GRPC_SEEDS,
    grpc_entry as _grpc_entry, grpc_hostile_tokens as _grpc_hostile_tokens, grpc_strings as _grpc_strings,
)


def mutated_grpc_requests(layout):
    """A valid request of ``layout`` with one to four random edits (see the section comment)."""
    return mutated_bytes(_st.sampled_from(GRPC_SEEDS[layout]), _grpc_hostile_tokens())


def _grpc_output(name, value):
    return wire_len(1, wire_len(1, name) + wire_len(2, value))


_GRPC_STRINGS_2D = (wire_tag(1, 0) + wire_varint(7) + wire_len(2, wire_len(2, b"\x08\x01") * 2)
                    + wire_len(8, b"CAESAA"))  # DT_STRING [1, 1]

GRPC_RESPONSE_SEEDS = [
    _grpc_output(b"x", _grpc_strings(_GRPC_B64, _GRPC_B64.rstrip(b"="))) + wire_len(2, wire_len(1, b"m")),
    _grpc_output(b"x", _grpc_strings(_GRPC_B64)) + _grpc_output(b"y", _GRPC_F32)
    + _grpc_output(b"z", _GRPC_STRINGS_2D),
    _grpc_output(b"a", _grpc_strings(b"CAESAA", b"CAESAA==")) + _grpc_output(b"b", _grpc_strings()),
]


def mutated_grpc_responses():
    """A valid PredictResponse with one to four random edits (see the section comment)."""
    tokens = _st.one_of(
        _grpc_hostile_tokens(),
        _st.sampled_from(
            [
                _grpc_output(b"x", _grpc_strings(b"A===")),  # bad base64
                _grpc_output(b"x", _grpc_strings(b"CAESAA", b"CAMSAA")),  # float32 then int32 instances
                _grpc_output(b"y", _grpc_strings(b"CAES")),  # a truncated TensorProto
                wire_len(2, wire_len(1, b"\xff")),  # a model name that is not UTF-8
                wire_tag(1, 6),  # outputs with invalid wire type 6
            ]
        ),
    )
    return mutated_bytes(_st.sampled_from(GRPC_RESPONSE_SEEDS), tokens)
