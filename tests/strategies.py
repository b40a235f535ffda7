"""Shared hypothesis strategies for the tensorwire test suite.

All hypothesis strategies used by the tests live here, one headed section per
codec.  Each section is owned by the engineer writing that codec's tests;
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

import ml_dtypes as _ml_dtypes
import numpy as _np
from hypothesis import strategies as _st
from hypothesis.extra import numpy as _hnp

BFLOAT16 = _np.dtype(_ml_dtypes.bfloat16)

FLOAT_DTYPES = [_np.dtype(t) for t in ("<f2", "<f4", "<f8")] + [BFLOAT16]
INT_DTYPES = [_np.dtype(t) for t in ("i1", "<i2", "<i4", "<i8", "u1", "<u2", "<u4", "<u8")]
COMPLEX_DTYPES = [_np.dtype("<c8"), _np.dtype("<c16")]
BOOL_DTYPE = _np.dtype("?")
NUMERIC_DTYPES = FLOAT_DTYPES + INT_DTYPES + COMPLEX_DTYPES + [BOOL_DTYPE]
# String tensors are drawn by string_arrays(); their dtype is object, S or U.

# (exponent bits, mantissa bits) of each binary float format we draw bits for.
_FORMAT = {
    _np.dtype("<f2"): (5, 10),
    BFLOAT16: (8, 7),
    _np.dtype("<f4"): (8, 23),
    _np.dtype("<f8"): (11, 52),
}


def special_float_bits(exp_bits, man_bits):
    """Bit patterns of the values codecs get wrong: zeros, infinities, NaNs, subnormals, extremes."""
    sign = 1 << (exp_bits + man_bits)
    exp_all = ((1 << exp_bits) - 1) << man_bits
    quiet = 1 << (man_bits - 1)
    man_all = (1 << man_bits) - 1
    one = ((1 << (exp_bits - 1)) - 1) << man_bits
    base = [
        0,  # +0.0
        exp_all,  # +inf
        exp_all | quiet,  # the canonical quiet NaN
        exp_all | quiet | 1,  # quiet NaN with a payload
        exp_all | 1,  # signalling NaN
        exp_all | (quiet - 1),  # signalling NaN, largest payload
        exp_all | man_all,  # all-ones NaN
        1,  # smallest subnormal
        man_all,  # largest subnormal
        1 << man_bits,  # smallest normal
        exp_all - 1,  # largest finite
        one,  # 1.0
    ]
    return base + [b | sign for b in base]  # and every one negated (-0.0, -inf, negative NaNs)


def float_bits(dtype):
    """A strategy for one element's bit pattern (as an unsigned int) of a float dtype."""
    exp_bits, man_bits = _FORMAT[_np.dtype(dtype)]
    width = 1 + exp_bits + man_bits
    return _st.one_of(
        _st.sampled_from(special_float_bits(exp_bits, man_bits)),
        _st.integers(0, (1 << width) - 1),
    )


def _int_elements(dtype):
    info = _np.iinfo(dtype)
    extremes = sorted({int(info.min), int(info.min) + 1, -1 if info.min else 0, 0, 1, int(info.max) - 1, int(info.max)})
    return _st.one_of(_st.sampled_from(extremes), _st.integers(int(info.min), int(info.max)))


@_st.composite
def shapes(draw, max_dims=5, max_side=3):
    """Shapes of rank 0..max_dims with sides 1..max_side, and in about one case in six a side
    of 0 (zero-size tensors; drawing 0 like any other side made most multi-dim shapes empty)."""
    dims = draw(_st.lists(_st.integers(1, max_side), max_size=max_dims))
    if dims and draw(_st.integers(0, 5)) == 0:
        dims[draw(_st.integers(0, len(dims) - 1))] = 0
    return tuple(dims)


@_st.composite
def numeric_arrays(draw, dtypes=None, shape=None):
    """A C-contiguous, native-order array of one of ``dtypes`` (default: every numeric dtype)."""
    dtype = draw(_st.sampled_from(dtypes or NUMERIC_DTYPES))
    shape = draw(shape if shape is not None else shapes())
    dtype = _np.dtype(dtype)
    if dtype in _FORMAT:
        uint = _np.dtype(f"<u{dtype.itemsize}")
        bits = draw(_hnp.arrays(uint, shape, elements=float_bits(dtype)))
        return bits.view(dtype)
    if dtype.kind == "c":
        part = _np.dtype(f"<f{dtype.itemsize // 2}")
        uint = _np.dtype(f"<u{part.itemsize}")
        bits = draw(_hnp.arrays(uint, tuple(shape) + (2,), elements=float_bits(part)))
        return bits.view(part).view(dtype).reshape(shape)
    if dtype.kind == "b":
        return draw(_hnp.arrays(dtype, shape, elements=_st.booleans()))
    return draw(_hnp.arrays(dtype, shape, elements=_int_elements(dtype)))


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
    return _st.one_of(numeric_arrays(), string_arrays())


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
# Its wire writer and DataType table are written here from SPEC.md section 4, independently of
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


def wire_varint(n, pad=0):
    """A varint (negative numbers sign-extended to 64 bits), with ``pad`` redundant bytes."""
    n &= (1 << 64) - 1
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    pad = min(pad, 10 - len(out))
    if pad > 0:
        out[-1] |= 0x80
        out.extend(b"\x80" * (pad - 1) + b"\x00")
    return bytes(out)


def wire_tag(field, wire_type):
    return wire_varint((field << 3) | wire_type)


def wire_len(field, payload):
    return wire_tag(field, 2) + wire_varint(len(payload)) + payload


def _unknown_field(draw):
    """One field a TensorProto parser must skip: an unknown number, or a known number with a
    wire type that number does not have."""
    kind = draw(_st.sampled_from(["varint", "fixed64", "len", "fixed32", "group", "wrong_wire_type"]))
    # 19..2**29-1 are not TensorProto fields (18 is float8_val, which we never write).
    number = draw(_st.one_of(_st.integers(19, 300), _st.just((1 << 29) - 1)))
    if kind == "varint":
        return wire_tag(number, 0) + wire_varint(draw(_st.integers(0, (1 << 64) - 1)))
    if kind == "fixed64":
        return wire_tag(number, 1) + draw(_st.binary(min_size=8, max_size=8))
    if kind == "fixed32":
        return wire_tag(number, 5) + draw(_st.binary(min_size=4, max_size=4))
    if kind == "len":
        return wire_len(number, draw(_st.binary(max_size=6)))
    if kind == "group":
        inner = wire_tag(1, 0) + wire_varint(draw(_st.integers(0, 300))) + wire_len(2, b"xy")
        nested = wire_tag(40, 3) + wire_tag(40, 4) if draw(_st.booleans()) else b""  # a group in a group
        return wire_tag(number, 3) + inner + nested + wire_tag(number, 4)
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


def _hostile_tokens():
    """Byte strings that are wrong in one specific way when spliced into a TensorProto."""
    return _st.one_of(
        _st.sampled_from(
            [
                b"\xff" * 10 + b"\x01",  # an 11-byte varint
                b"\x80" * 9,  # a varint cut short
                wire_varint((1 << 64) - 1),  # a length/dim of 2**64-1 (dim -1 when read as int64)
                wire_varint(1 << 62),  # a huge dim or length
                wire_tag(1, 6),  # dtype with invalid wire type 6
                wire_tag(99, 7),  # unknown field, invalid wire type 7
                wire_tag(5, 4),  # unexpected end of group
                wire_tag(9, 3) + wire_tag(8, 4),  # mismatched end of group
                wire_tag(9, 3),  # unterminated group
                wire_tag(9, 3) * 70,  # groups nested too deep
                b"\x00",  # tag 0
                b"\x80\x80\x80\x80\x10",  # a tag above 32 bits
                wire_tag(1, 0) + wire_varint(120),  # dtype DT_RESOURCE_REF
                wire_tag(1, 0) + wire_varint(9999),  # unknown dtype
                wire_tag(1, 0) + wire_varint(20),  # DT_RESOURCE
                wire_tag(1, 0) + wire_varint(11),  # DT_QINT8
                wire_tag(1, 0) + wire_varint(-1),  # dtype -1
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(-5))),  # negative dim
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(1 << 40)) * 2),  # 2**80 elements
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(10**6))),  # 10**6 more elements
                wire_len(2, wire_len(2, b"") + wire_len(2, wire_tag(1, 0) + wire_varint(1 << 62))),  # [0, 2**62]
                wire_len(2, wire_len(2, b"") * 65),  # rank 65
                wire_len(2, wire_tag(3, 0) + b"\x01"),  # unknown_rank
                wire_len(4, b"\x02"),  # tensor_content of the wrong length / a bool byte 2
                wire_len(4, b"\x00\x01\x02\x03"),
                wire_len(5, b"\x00\x00\x80"),  # packed float_val not a multiple of 4
                wire_len(7, wire_varint(256) + wire_varint(-129)),  # int_val out of range for 8-bit types
                wire_len(13, wire_varint(0x10000)),  # half_val above 0xFFFF
                wire_len(13, wire_varint(-1)),  # half_val -1
                wire_len(8, b"s") * 3,  # extra string_val
                wire_tag(5, 5) + b"\x00\x00",  # fixed32 cut short
                wire_tag(6, 1) + b"\x00" * 3,  # fixed64 cut short
                wire_len(9, b"\x00" * 4),  # an odd number of scomplex numbers
            ]
        ),
        _st.binary(min_size=1, max_size=12),
    )


@_st.composite
def malformed_seed_protos(draw):
    """A valid TensorProto to damage: a drawn protobuf writing of a small tensor, or a seed."""
    if draw(_st.booleans()):
        return draw(_st.sampled_from(_MALFORMED_SEEDS))
    small = _st.one_of(numeric_arrays(shape=shapes(max_dims=3, max_side=3)), string_arrays(shape=shapes(max_dims=2)))
    return draw(tensor_proto_encodings(arrays=small))[0]


@_st.composite
def mutated_tensor_protos(draw, seeds=None):
    """A valid TensorProto with one to four random edits (see the section comment)."""
    data = bytearray(draw(seeds if seeds is not None else malformed_seed_protos()))
    for _ in range(draw(_st.integers(1, 4))):
        kind = draw(_st.sampled_from(["truncate", "overwrite", "set_bit", "insert", "delete", "duplicate"]))
        n = len(data)
        if kind == "truncate":
            del data[draw(_st.integers(0, n)) :]
        elif kind == "overwrite" and n:
            i = draw(_st.integers(0, n - 1))
            token = draw(_st.one_of(_st.binary(min_size=1, max_size=1), _st.sampled_from([b"\x80", b"\xff", b"\x00", b"\x7f", b"\x02"]), _hostile_tokens()))
            data[i : i + len(token)] = token
        elif kind == "set_bit" and n:
            i = draw(_st.integers(0, n - 1))
            data[i] ^= 1 << draw(_st.integers(0, 7))
        elif kind == "insert":
            i = draw(_st.integers(0, n))
            data[i:i] = draw(_hostile_tokens())
        elif kind == "delete" and n:
            i = draw(_st.integers(0, n - 1))
            del data[i : i + draw(_st.integers(1, 4))]
        elif kind == "duplicate" and n:
            i = draw(_st.integers(0, n - 1))
            j = draw(_st.integers(i + 1, min(n, i + 16)))
            data[j:j] = data[i:j]
    return bytes(data)


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
