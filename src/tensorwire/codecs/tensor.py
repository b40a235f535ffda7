"""TensorProto codec, pure-Python reference (docs/tensor-proto.md).

``encode_tensor(array, form="content")`` writes exactly what ``tf.io.serialize_tensor`` writes:
fields 1 (dtype), 2 (shape), 4 (``tensor_content``: raw little-endian C-order bytes) for every
numeric and bool dtype, and repeated field 8 (``string_val``) for strings.

``encode_tensor(array, form="proto")`` writes exactly what ``tf.make_tensor_proto(array)
.SerializeToString()`` writes: ``tensor_content`` for tensors of more than one element of the
dtypes in ``CONTENT_TYPES``, the typed ``*_val`` field otherwise (scalars, one-element tensors,
bool, complex, uint16, bfloat16, strings).

``decode_tensor`` reads either form, plus everything a protobuf parser accepts: fields in any
order, unknown fields of every wire type skipped, packed and unpacked repeated fields, the last
value of a repeated scalar, merged repeats of the shape message.  Values follow
``tf.make_ndarray``: non-empty ``tensor_content`` wins; otherwise the dtype's ``*_val`` field,
where no values means zeros and fewer values than elements repeat the last one.  Where TensorFlow's
Python and C++ readers disagree (more values than elements: Python raises, C++ truncates) we
raise.  Decisions where peers are silent, all raising :class:`DecodeError`:

* values in ``int_val`` outside the range of a narrower target dtype (numpy would raise too);
* ``half_val`` entries outside ``0..0xFFFF``;
* ``tensor_content`` bytes other than 0 and 1 for DT_BOOL (``bool_val`` follows protobuf:
  any non-zero varint is True);
* a non-empty ``tensor_content`` for DT_STRING (TensorFlow's own string coding there is not
  produced by any peer we know);
* quantized, float8, int4, resource and variant dtypes (no numpy counterpart), and DT_BFLOAT16
  when ``ml_dtypes`` is not installed;
* rank above 64, negative dims, ``unknown_rank``, element counts that overflow int64 or whose
  decoded size exceeds ``max_bytes`` (checked before anything is allocated; object arrays count
  8 bytes an element), and shapes numpy cannot represent: itemsize times the product of the
  non-zero dims above 2**63-1, which numpy refuses even for an empty array like ``[0, 2**62]``.

The order of checks is part of the contract: the Cython twin raises the same message for the
same input.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import DecodeError
from .rules import dtypes as D
from .rules.wire import (
    WT_FIXED32,
    WT_FIXED64,
    WT_LEN,
    WT_VARINT,
    encode_len_field,
    encode_tag,
    encode_varint,
    message_view,
    read_length,
    read_tag,
    read_varint,
    skip_field,
)

if TYPE_CHECKING:
    from .._types import BytesLike, TensorDType

WHAT = "TensorProto"
_BIG_ENDIAN_HOST = sys.byteorder == "big"


# --------------------------------------------------------------------------------------------
# encoding


def _as_array(array: ArrayLike) -> tuple[NDArray[Any], int]:
    """Return (ndarray, DataType) for anything numpy can turn into an array."""
    arr = np.asarray(array)
    dt = D.datatype_of(arr.dtype)
    if dt is None:
        raise TypeError(f"cannot encode numpy dtype {arr.dtype} as a TensorProto")
    return arr, dt


def _string_values(arr: NDArray[Any]) -> list[bytes]:
    """The elements of a string tensor, row-major, as bytes (str is encoded as UTF-8)."""
    out = []
    for item in arr.reshape(-1).tolist():  # tolist() follows numpy: 'S' items lose trailing NULs
        if isinstance(item, str):
            out.append(item.encode("utf-8"))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            out.append(bytes(item))
        else:
            raise TypeError(f"string tensor element of type {type(item).__name__}; expected bytes or str")
    return out


def _little_endian_bytes(arr: NDArray[Any], dt: int) -> bytes:
    """The tensor's raw little-endian C-order bytes."""
    if dt == D.DT_BFLOAT16:
        data = np.ascontiguousarray(arr)
        return data.byteswap().tobytes() if _BIG_ENDIAN_HOST else data.tobytes()
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()


def _shape_field(shape: tuple[int, ...]) -> bytes:
    dims = b"".join(
        encode_len_field(2, encode_tag(1, WT_VARINT) + encode_varint(d) if d else b"") for d in shape
    )
    return encode_len_field(D.F_SHAPE, dims)


def _typed_values_field(arr: NDArray[Any], dt: int) -> bytes:
    """The packed ``*_val`` field make_tensor_proto writes for ``arr`` (empty when no values)."""
    field = D.VALUE_FIELD[dt]
    flat = arr.reshape(-1)
    if flat.size == 0:
        return b""
    if field in D.FIXED32_FIELDS or field in D.FIXED64_FIELDS:
        payload = _little_endian_bytes(flat, dt)
        if field in D.FIXED32_FIELDS:
            # make_tensor_proto passes float32 values through Python floats (C doubles), and the
            # float -> double conversion quiets signalling NaNs: set the quiet bit as it does.
            bits = np.frombuffer(payload, dtype="<u4").copy()
            snan = ((bits & 0x7FC00000) == 0x7F800000) & ((bits & 0x003FFFFF) != 0)
            if snan.any():
                bits[snan] |= 0x00400000
                payload = bits.tobytes()
    else:
        if dt in (D.DT_HALF, D.DT_BFLOAT16):
            if dt == D.DT_HALF:  # bit patterns of the values, whatever the input's byte order
                flat = flat.astype(flat.dtype.newbyteorder("="))
            ints = np.ascontiguousarray(flat).view(np.uint16).tolist()
        else:
            ints = flat.astype(np.int64 if dt != D.DT_UINT64 else np.uint64).tolist()
        payload = b"".join(encode_varint(int(v)) for v in ints)
    return encode_len_field(field, payload)


def encode_tensor(array: ArrayLike, *, form: Literal["content", "proto"] = "content") -> bytes:
    """Serialize ``array`` as a TensorFlow ``TensorProto``.

    ``form="content"`` gives the bytes of ``tf.io.serialize_tensor``; ``form="proto"`` those of
    ``tf.make_tensor_proto(array).SerializeToString()``.  Non-contiguous and big-endian arrays are
    converted; ``str`` elements are encoded as UTF-8.  Raises ``TypeError`` for a dtype with no
    TensorFlow counterpart and ``ValueError`` for an unknown ``form``.
    """
    if form not in ("content", "proto"):
        raise ValueError(f"form must be 'content' or 'proto', not {form!r}")
    arr, dt = _as_array(array)
    parts = [encode_tag(D.F_DTYPE, WT_VARINT), encode_varint(dt), _shape_field(arr.shape)]
    if dt == D.DT_STRING:
        parts.extend(encode_len_field(D.F_STRING, s) for s in _string_values(arr))
    elif form == "content" or (dt in D.CONTENT_TYPES and arr.size > 1):
        if arr.size:
            parts.append(encode_len_field(D.F_CONTENT, _little_endian_bytes(arr, dt)))
    else:
        parts.append(_typed_values_field(arr, dt))
    return b"".join(parts)


# --------------------------------------------------------------------------------------------
# decoding


class _Fields(TypedDict):
    """What one pass over a TensorProto found (``_parse_fields``)."""

    dtype: int  # the DataType number, as the int32 enum it is on the wire
    dims: list[int]
    unknown_rank: bool
    content: tuple[int, int] | None  # tensor_content's byte range (the last one)
    values: dict[int, list[tuple[int, int]]]  # typed field -> byte ranges of its values


def _parse_shape(buf: memoryview, pos: int, end: int, dims: list[int]) -> bool | None:
    """Parse one TensorShapeProto occurrence, appending to ``dims``; return unknown_rank or None."""
    unknown_rank = None
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, WHAT)
        if field == 2 and wt == WT_LEN:
            dim_start, dim_end = read_length(buf, pos, end, WHAT)
            size = 0
            p = dim_start
            while p < dim_end:
                dfield, dwt, p = read_tag(buf, p, dim_end, WHAT)
                if dfield == 1 and dwt == WT_VARINT:
                    raw, p = read_varint(buf, p, dim_end, WHAT)
                    size = raw - (1 << 64) if raw >= 1 << 63 else raw
                else:
                    p = skip_field(buf, p, dim_end, dfield, dwt, WHAT)
            if size < 0:
                raise DecodeError(f"{WHAT}: negative dimension {size} (dim {len(dims)})", pos)
            if len(dims) >= D.MAX_RANK:
                raise DecodeError(f"{WHAT}: rank above {D.MAX_RANK}", pos)
            dims.append(size)
            pos = dim_end
        elif field == 3 and wt == WT_VARINT:
            raw, pos = read_varint(buf, pos, end, WHAT)
            unknown_rank = raw != 0
        else:
            pos = skip_field(buf, pos, end, field, wt, WHAT)
    return unknown_rank


def _check_packed(buf: memoryview, start: int, end: int, field: int) -> int:
    """Validate a packed payload of a typed field; return its number of values."""
    name = D.FIELD_NAMES[field]
    n = end - start
    if field in D.FIXED32_FIELDS or field in D.FIXED64_FIELDS:
        width = 4 if field in D.FIXED32_FIELDS else 8
        if n % width:
            raise DecodeError(f"{WHAT}: packed {name} of {n} bytes", start, f" is not a multiple of {width}")
        return n // width
    count = 0
    pos = start
    while pos < end:
        pos = read_varint(buf, pos, end, WHAT)[1]
        count += 1
    return count


def _parse_fields(buf: memoryview) -> _Fields:
    """One pass over the message.  Returns a dict of what was found; raises on wire errors."""
    end = len(buf)
    pos = 0
    found: _Fields = {"dtype": 0, "dims": [], "unknown_rank": False, "content": None, "values": {}}
    values = found["values"]  # field -> list of (start, end) ranges of packed payload
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, WHAT)
        if field == D.F_DTYPE and wt == WT_VARINT:
            raw, pos = read_varint(buf, pos, end, WHAT)
            found["dtype"] = raw & 0xFFFFFFFF  # an enum is an int32 on the wire
            if found["dtype"] >= 1 << 31:
                found["dtype"] -= 1 << 32
        elif field == D.F_SHAPE and wt == WT_LEN:
            start, stop = read_length(buf, pos, end, WHAT)
            unknown = _parse_shape(buf, start, stop, found["dims"])
            if unknown is not None:
                found["unknown_rank"] = unknown
            pos = stop
        elif field == D.F_CONTENT and wt == WT_LEN:
            content = read_length(buf, pos, end, WHAT)
            found["content"] = content
            pos = content[1]
        elif field == D.F_STRING and wt == WT_LEN:
            start, stop = read_length(buf, pos, end, WHAT)
            values.setdefault(field, []).append((start, stop))
            pos = stop
        elif field in D.FIELD_NAMES and field != D.F_STRING:
            if wt == WT_LEN:
                start, stop = read_length(buf, pos, end, WHAT)
                _check_packed(buf, start, stop, field)
                pos = stop
            elif (
                (wt == WT_VARINT and field in D.VARINT_FIELDS)
                or (wt == WT_FIXED32 and field in D.FIXED32_FIELDS)
                or (wt == WT_FIXED64 and field in D.FIXED64_FIELDS)
            ):
                start = pos
                pos = skip_field(buf, pos, end, field, wt, WHAT)
                stop = pos
            else:
                pos = skip_field(buf, pos, end, field, wt, WHAT)
                continue
            values.setdefault(field, []).append((start, stop))
        else:
            pos = skip_field(buf, pos, end, field, wt, WHAT)
    return found


def _element_count(dims: list[int]) -> int:
    n = 1
    for d in dims:
        n *= d
        if n > (1 << 63) - 1:
            raise DecodeError(f"{WHAT}: shape {dims} has more than 2**63-1 elements")
    return n


def _varints(buf: memoryview, ranges: list[tuple[int, int]]) -> list[int]:
    out = []
    for start, stop in ranges:
        pos = start
        while pos < stop:
            v, pos = read_varint(buf, pos, stop, WHAT)
            out.append(v)
    return out


def _typed_values(buf: memoryview, dt: int, np_dtype: np.dtype[Any], ranges: list[tuple[int, int]],
                  n: int) -> NDArray[Any]:
    """Decode the dtype's *_val field into a flat numpy array of ``m <= n`` values."""
    field = D.VALUE_FIELD[dt]
    name = D.FIELD_NAMES[field]
    if field == D.F_STRING:
        if len(ranges) > n:
            raise DecodeError(f"{WHAT}: {len(ranges)} {name} values for {n} elements")
        arr = np.empty(len(ranges), dtype=object)
        for i, (start, stop) in enumerate(ranges):
            arr[i] = bytes(buf[start:stop])
        return arr
    if field in D.FIXED32_FIELDS or field in D.FIXED64_FIELDS:
        raw = b"".join(bytes(buf[start:stop]) for start, stop in ranges)
        per_value = np_dtype.itemsize // (2 if np_dtype.kind == "c" else 1)
        m = len(raw) // per_value
        if np_dtype.kind == "c":
            if m % 2:
                raise DecodeError(f"{WHAT}: {name} holds {m} numbers, not (real, imaginary) pairs")
            m //= 2
        if m > n:
            raise DecodeError(f"{WHAT}: {m} {name} values for {n} elements")
        return np.frombuffer(raw, dtype=np_dtype)
    ints = _varints(buf, ranges)
    if len(ints) > n:
        raise DecodeError(f"{WHAT}: {len(ints)} {name} values for {n} elements")
    if field == D.F_BOOL:
        return np.array([v != 0 for v in ints], dtype=np.bool_)
    if field in (D.F_UINT32, D.F_UINT64):
        mask = 0xFFFFFFFF if field == D.F_UINT32 else (1 << 64) - 1
        return np.array([v & mask for v in ints], dtype=np_dtype)
    if field == D.F_INT64:
        return np.array([v - (1 << 64) if v >= 1 << 63 else v for v in ints], dtype=np.int64)
    # int_val and half_val are int32 on the wire: the low 32 bits, signed.
    lo, hi = (0, 0xFFFF) if field == D.F_HALF else D.INT_VAL_RANGE[dt]
    vals = []
    for i, v in enumerate(ints):
        v &= 0xFFFFFFFF
        if v >= 1 << 31:
            v -= 1 << 32
        if not lo <= v <= hi:
            raise DecodeError(f"{WHAT}: {name} value {v} at index {i} is out of range for {D.dt_name(dt)}")
        vals.append(v)
    if field == D.F_HALF:
        return np.array(vals, dtype=np.uint16).view(np_dtype)
    return np.array(vals, dtype=np_dtype)


def _check_dtype(dt: int, expected: int | None) -> np.dtype[Any]:
    if dt == 0:
        raise DecodeError(f"{WHAT}: missing or invalid dtype (DT_INVALID)")
    np_dtype = D.numpy_dtype(dt)
    if np_dtype is None:
        if dt > 100 and dt - 100 in D.DT_NAMES:
            raise DecodeError(f"{WHAT}: reference dtype {D.dt_name(dt)} cannot be serialized")
        if dt == D.DT_BFLOAT16:
            raise DecodeError(f"{WHAT}: DT_BFLOAT16 needs the optional dependency ml_dtypes")
        if dt in D.DT_NAMES:
            raise DecodeError(f"{WHAT}: unsupported dtype {D.dt_name(dt)}")
        raise DecodeError(f"{WHAT}: unknown dtype {dt}")
    if expected is not None and expected != dt:
        raise DecodeError(
            f"{WHAT}: type mismatch: data is {D.dt_name(dt)}, expected {D.dt_name(expected)}"
        )
    return np_dtype


def _check_header(found: _Fields, expected: int | None, max_bytes: int) -> tuple[np.dtype[Any], int, tuple[int, ...]]:
    """Step 2: what the header says, checked before anything is allocated (the dtype,
    ``unknown_rank``, the element count, ``max_bytes``, numpy's size limit).  Returns
    ``(numpy dtype, element count, shape)``."""
    dt = found["dtype"]
    np_dtype = _check_dtype(dt, expected)
    if found["unknown_rank"]:
        raise DecodeError(f"{WHAT}: tensor_shape has unknown_rank set")
    dims = found["dims"]
    n = _element_count(dims)
    itemsize = np_dtype.itemsize  # 8 for object arrays: a pointer an element
    if n * itemsize > max_bytes:
        raise DecodeError(
            f"{WHAT}: shape {dims} of {D.dt_name(dt)} needs {n * itemsize} bytes, over max_bytes={max_bytes}"
        )
    span = itemsize  # numpy's own size check skips zero dims
    for d in dims:
        span *= d or 1
    if span > (1 << 63) - 1:
        raise DecodeError(f"{WHAT}: shape {dims} of {D.dt_name(dt)} is too large for a numpy array")
    return np_dtype, n, tuple(dims)


def _from_content(buf: memoryview, found: _Fields, content: tuple[int, int], np_dtype: np.dtype[Any], n: int,
                  shape: tuple[int, ...], copy: bool) -> NDArray[Any]:
    """Step 3, from a non-empty ``tensor_content``: its size and (DT_BOOL) bytes checked, then
    copied, or viewed (``copy=False``, aligned)."""
    dt = found["dtype"]
    dims = found["dims"]
    itemsize = np_dtype.itemsize
    start, stop = content
    if dt == D.DT_STRING:
        raise DecodeError(f"{WHAT}: tensor_content", start, " is not supported for DT_STRING")
    if stop - start != n * itemsize:
        raise DecodeError(
            f"{WHAT}: tensor_content of {stop - start} bytes", start,
            f" does not match shape {dims} of {D.dt_name(dt)} ({n * itemsize} bytes)"
        )
    if dt == D.DT_BOOL:
        raw = bytes(buf[start:stop])
        if raw.strip(b"\x00\x01"):
            bad = next(i for i, b in enumerate(raw) if b > 1)
            raise DecodeError(f"{WHAT}: bool byte {raw[bad]}", start + bad, " is not 0 or 1")
    view: NDArray[Any] = np.frombuffer(buf, dtype=np_dtype, count=n, offset=start)
    out: NDArray[Any]
    if _BIG_ENDIAN_HOST and itemsize > 1:
        out = view.byteswap().view(np_dtype.newbyteorder("=")).reshape(shape)
        return out
    if copy or not view.flags.aligned:
        out = view.reshape(shape).copy()
        return out
    view.flags.writeable = False
    return view.reshape(shape)


def _from_typed_values(buf: memoryview, found: _Fields, np_dtype: np.dtype[Any], n: int,
                       shape: tuple[int, ...]) -> NDArray[Any]:
    """Step 3, from the dtype's typed ``*_val`` field: the last value repeated over the
    elements it leaves (zeros when it has none)."""
    dt = found["dtype"]
    values = _typed_values(buf, dt, np_dtype, found["values"].get(D.VALUE_FIELD[dt], []), n)
    if dt == D.DT_STRING:
        out = np.empty(n, dtype=object)
        out[: len(values)] = values
        out[len(values):] = values[-1] if len(values) else b""
        return out.reshape(shape)
    out = np.zeros(n, dtype=np_dtype.newbyteorder("="))
    if len(values):
        out[: len(values)] = values
        out[len(values):] = values[-1]
    return out.reshape(shape)


def decode_tensor(data: BytesLike, *, dtype: TensorDType = None, copy: bool = True,
                  max_bytes: int = D.DEFAULT_MAX_BYTES) -> NDArray[Any]:
    """Parse a serialized ``TensorProto`` into a numpy array.

    ``data`` is bytes, bytearray, memoryview or any C-contiguous buffer.  ``dtype`` (numpy dtype,
    DataType number, or ``"string"``/``bytes``/``object`` for strings), when given, must equal the
    encoded dtype, like ``tf.io.parse_tensor``.  ``copy=False`` returns a read-only view into
    ``data`` when the values come from a ``tensor_content`` aligned for the dtype (a copy
    otherwise).  ``max_bytes`` bounds the decoded array's size and is checked before anything is
    allocated.  String tensors come back as object arrays of ``bytes``.  Every invalid input
    raises :class:`tensorwire.DecodeError`.
    """
    expected = None if dtype is None else D.expected_datatype(dtype)
    buf = message_view(data, "decode_tensor")
    found = _parse_fields(buf)  # step 1: the wire
    np_dtype, n, shape = _check_header(found, expected, max_bytes)  # step 2: dtype and shape
    content = found["content"]
    if content is not None and content[1] > content[0]:  # step 3: the values
        return _from_content(buf, found, content, np_dtype, n, shape, copy)
    return _from_typed_values(buf, found, np_dtype, n, shape)

# The codec's public names, which its Cython twin has too (tests/test_twin_seam.py checks it).
__all__ = ["decode_tensor", "encode_tensor"]
