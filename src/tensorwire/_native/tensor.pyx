# cython: language_level=3, embedsignature=True
"""TensorProto codec, Cython twin of ``tensorwire.codecs.tensor`` (docs/tensor-proto.md).

Same functions, same signatures, same bytes, same results and the same errors (type and
message) as the pure-Python reference, whose docstring defines the behaviour and the order of
the checks.  The wire is parsed in C over the input buffer with explicit bounds; sizes are
checked before anything is allocated; values are copied with one ``memcpy`` (``tensor_content``)
or decoded in C loops straight into the output (typed ``*_val`` fields).  The dtype tables are
the shared ``tensorwire.codecs.rules.dtypes``, consulted once per call.

``decode_tensor`` takes the reference's three steps, in its order: ``_parse_fields`` (the wire,
into a ``Parsed`` struct), ``_check_header`` (dtype and shape, before anything is allocated),
then ``_from_content`` or ``_from_typed_values`` (the values).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, INT64_MAX
from libc.string cimport memcpy, memset

from ._tensorhead cimport TENSORHEAD_F_DTYPE, TENSORHEAD_F_SHAPE, tensor_header_size, tensor_header_write
from ._wire cimport (
    WT_FIXED32,
    WT_FIXED64,
    WT_LEN,
    WT_VARINT,
    WireError,
    wire_count_varints,
    wire_error_parts,
    wire_len_field_size,
    wire_read_length,
    wire_read_tag,
    wire_read_varint,
    wire_skip_field,
    wire_varint_size,
    wire_write_len_prefix,
    wire_write_varint,
)

cdef object sys, np, D, DecodeError
import sys

import numpy as np

from ..codecs.rules import dtypes as D
from ..errors import DecodeError

cdef str WHAT = "TensorProto"
cdef bint _BIG_ENDIAN_HOST = sys.byteorder == "big"

# Protocol constants (docs/tensor-proto.md); checked against the shared tables at import.
cdef enum:
    MAX_RANK = 64
    N_FIELDS = 18          # value-field numbers are below this
    F_DTYPE = 1
    F_SHAPE = 2
    F_CONTENT = 4
    F_FLOAT = 5
    F_DOUBLE = 6
    F_INT = 7
    F_STRING = 8
    F_SCOMPLEX = 9
    F_INT64 = 10
    F_BOOL = 11
    F_DCOMPLEX = 12
    F_HALF = 13
    F_UINT32 = 16
    F_UINT64 = 17
    DT_STRING = 7
    DT_BOOL = 10
    DT_BFLOAT16 = 14
    DT_HALF = 19
    DT_UINT64 = 23

# How a typed field's values are laid out on the wire.
cdef enum:
    LAYOUT_NONE = 0
    LAYOUT_FIXED32 = 1
    LAYOUT_FIXED64 = 2
    LAYOUT_VARINT = 3

# Sizes above which loops and copies run without the GIL.
cdef enum:
    NOGIL_BYTES = 1 << 16

assert D.MAX_RANK == MAX_RANK
assert (TENSORHEAD_F_DTYPE, TENSORHEAD_F_SHAPE) == (F_DTYPE, F_SHAPE)
assert (D.F_DTYPE, D.F_SHAPE, D.F_CONTENT, D.F_STRING) == (F_DTYPE, F_SHAPE, F_CONTENT, F_STRING)
assert D.FIXED32_FIELDS == {F_FLOAT, F_SCOMPLEX} and D.FIXED64_FIELDS == {F_DOUBLE, F_DCOMPLEX}
assert D.VARINT_FIELDS == {F_INT, F_INT64, F_BOOL, F_HALF, F_UINT32, F_UINT64}
assert set(D.FIELD_NAMES) == {F_STRING} | D.FIXED32_FIELDS | D.FIXED64_FIELDS | D.VARINT_FIELDS
assert (D.DT_STRING, D.DT_BOOL, D.DT_BFLOAT16, D.DT_HALF, D.DT_UINT64) == (
    DT_STRING, DT_BOOL, DT_BFLOAT16, DT_HALF, DT_UINT64)


cdef inline int _field_layout(uint32_t field) noexcept nogil:
    """Layout of a typed value field other than string_val (LAYOUT_NONE for any other field)."""
    if field == F_FLOAT or field == F_SCOMPLEX:
        return LAYOUT_FIXED32
    if field == F_DOUBLE or field == F_DCOMPLEX:
        return LAYOUT_FIXED64
    if (field == F_INT or field == F_INT64 or field == F_BOOL or field == F_HALF
            or field == F_UINT32 or field == F_UINT64):
        return LAYOUT_VARINT
    return LAYOUT_NONE


# ============================================================================================
# encoding


cdef object _as_array(array):
    cdef object arr = np.asarray(array)
    cdef object dt = D.datatype_of(arr.dtype)
    if dt is None:
        raise TypeError(f"cannot encode numpy dtype {arr.dtype} as a TensorProto")
    return arr, dt


cdef list _string_values(arr):
    """The elements of a string tensor, row-major, as bytes (str is encoded as UTF-8)."""
    cdef list out = []
    cdef object item
    for item in arr.reshape(-1).tolist():  # tolist() follows numpy: 'S' items lose trailing NULs
        if isinstance(item, str):
            out.append((<str>item).encode("utf-8"))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            out.append(bytes(item))
        else:
            raise TypeError(f"string tensor element of type {type(item).__name__}; expected bytes or str")
    return out


cdef object _little_endian(arr, int dt):
    """A C-contiguous array holding ``arr``'s raw little-endian bytes (``arr`` itself if it can)."""
    cdef object data, order
    if dt == DT_BFLOAT16:
        data = np.ascontiguousarray(arr)
        return data.byteswap() if _BIG_ENDIAN_HOST else data
    order = arr.dtype.byteorder
    if arr.flags.c_contiguous and (order == "|" or order == "<" or (order == "=" and not _BIG_ENDIAN_HOST)):
        return arr
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))


cdef inline object _bytes_of(arr):
    """A flat uint8 view of a C-contiguous array (any dtype, bfloat16 included)."""
    return arr.reshape(-1).view(np.uint8)


cdef inline void _copy(unsigned char* dst, const unsigned char* src, Py_ssize_t n) noexcept:
    """memcpy, without the GIL when the block is large."""
    if n >= NOGIL_BYTES:
        with nogil:
            memcpy(dst, src, <size_t>n)
    elif n > 0:
        memcpy(dst, src, <size_t>n)


cdef void _quiet_snans(unsigned char* p, Py_ssize_t nbytes) noexcept nogil:
    """Set the quiet bit of every signalling float32 NaN in a little-endian payload.

    make_tensor_proto passes float32 values through C doubles, which quiets them (the reference
    does the same).
    """
    cdef Py_ssize_t i
    cdef uint32_t bits
    for i in range(0, nbytes - 3, 4):
        bits = (<uint32_t>p[i] | (<uint32_t>p[i + 1] << 8) | (<uint32_t>p[i + 2] << 16)
                | (<uint32_t>p[i + 3] << 24))
        if (bits & 0x7FC00000u) == 0x7F800000u and (bits & 0x003FFFFFu) != 0:
            p[i + 2] |= 0x40


cdef Py_ssize_t _varints_size(const uint64_t* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, total = 0
    for i in range(n):
        total += wire_varint_size(v[i])
    return total


cdef unsigned char* _write_varints(unsigned char* out, const uint64_t* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        out = wire_write_varint(out, v[i])
    return out


def encode_tensor(array, *, form="content"):
    """Serialize ``array`` as a TensorFlow ``TensorProto``.

    ``form="content"`` gives the bytes of ``tf.io.serialize_tensor``; ``form="proto"`` those of
    ``tf.make_tensor_proto(array).SerializeToString()``.  Non-contiguous and big-endian arrays are
    converted; ``str`` elements are encoded as UTF-8.  Raises ``TypeError`` for a dtype with no
    TensorFlow counterpart and ``ValueError`` for an unknown ``form``.
    """
    cdef int dt, field = 0, layout = LAYOUT_NONE, ndim, k
    cdef Py_ssize_t dims[MAX_RANK]
    cdef Py_ssize_t header, body = 0, payload = 0, nvals = 0
    cdef const unsigned char[::1] src
    cdef const uint64_t* vals = NULL
    cdef const unsigned char* srcp = NULL
    cdef unsigned char* p
    cdef unsigned char* payload_start
    cdef list strings = None
    cdef bytes out, s
    cdef object arr, dt_obj, shape, data = None, flat

    if form not in ("content", "proto"):
        raise ValueError(f"form must be 'content' or 'proto', not {form!r}")
    arr, dt_obj = _as_array(array)
    dt = dt_obj
    shape = arr.shape
    ndim = len(shape)
    if ndim > MAX_RANK:  # numpy allows at most 64 axes; this guards the array below
        raise ValueError(f"cannot encode an array of rank {ndim} (at most {MAX_RANK})")
    for k in range(ndim):
        dims[k] = shape[k]
    header = tensor_header_size(dt, dims, ndim)

    if dt == DT_STRING:
        strings = _string_values(arr)
        for s in strings:
            body += wire_len_field_size(F_STRING, len(s))
    elif form == "content" or (dt in D.CONTENT_TYPES and arr.size > 1):
        if arr.size:
            data = _little_endian(arr, dt)
            src = _bytes_of(data)
            srcp = &src[0]
            payload = src.shape[0]
            field = F_CONTENT
            body = wire_len_field_size(F_CONTENT, payload)
    else:
        field = D.VALUE_FIELD[dt]
        layout = _field_layout(field)
        flat = arr.reshape(-1)
        if flat.size:
            if layout != LAYOUT_VARINT:
                data = np.ascontiguousarray(flat, dtype=flat.dtype.newbyteorder("<"))
                src = _bytes_of(data)
                srcp = &src[0]
                payload = src.shape[0]
            else:
                if dt == DT_HALF or dt == DT_BFLOAT16:
                    if dt == DT_HALF:  # bit patterns of the values, whatever the byte order
                        flat = flat.astype(flat.dtype.newbyteorder("="))
                    data = np.ascontiguousarray(flat).view(np.uint16).astype(np.uint64)
                else:
                    data = flat.astype(np.int64 if dt != DT_UINT64 else np.uint64)
                src = _bytes_of(data)
                vals = <const uint64_t*>&src[0]
                nvals = src.shape[0] // 8
                if nvals >= NOGIL_BYTES // 8:
                    with nogil:
                        payload = _varints_size(vals, nvals)
                else:
                    payload = _varints_size(vals, nvals)
            body = wire_len_field_size(field, payload)
        else:
            field = 0

    out = PyBytes_FromStringAndSize(NULL, header + body)
    p = <unsigned char*>PyBytes_AS_STRING(out)
    p = tensor_header_write(p, dt, dims, ndim)
    if strings is not None:
        for s in strings:
            p = wire_write_len_prefix(p, F_STRING, len(s))
            memcpy(p, PyBytes_AS_STRING(s), <size_t>len(s))
            p += len(s)
    elif field:
        p = wire_write_len_prefix(p, field, payload)
        if layout == LAYOUT_VARINT:
            if nvals >= NOGIL_BYTES // 8:
                with nogil:
                    _write_varints(p, vals, nvals)
            else:
                _write_varints(p, vals, nvals)
        else:
            payload_start = p
            _copy(p, srcp, payload)
            if layout == LAYOUT_FIXED32:
                _quiet_snans(payload_start, payload)
    return out


# ============================================================================================
# decoding


cdef struct Parsed:
    int32_t dtype
    int rank
    int unknown_rank
    bint has_content
    Py_ssize_t content_start
    Py_ssize_t content_stop
    Py_ssize_t counts[N_FIELDS]  # per typed field: values (numbers for fixed), string ranges
    int64_t dims[MAX_RANK]


cdef object _buffer(data):
    """``rules.wire.message_view(data, "decode_tensor")``, in C: the first check of the hot path."""
    cdef object mv
    if isinstance(data, str):
        raise TypeError("decode_tensor takes bytes or a buffer, not str")
    mv = memoryview(data)
    if not mv.c_contiguous:
        raise TypeError("decode_tensor needs a C-contiguous buffer")
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


cdef int _wire_fail(const WireError* err) except -1:
    raise DecodeError(*wire_error_parts(err, WHAT))


cdef list _dims_list(const Parsed* f):
    cdef int i
    cdef list dims = []
    for i in range(f.rank):
        dims.append(f.dims[i])
    return dims


cdef int _parse_shape(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, Parsed* f) except -1:
    """Parse one TensorShapeProto occurrence, appending to ``f.dims``."""
    cdef WireError err
    cdef uint32_t field = 0, dfield = 0
    cdef int wt = 0, dwt = 0, unknown = -1
    cdef Py_ssize_t prefix, dim_start = 0, dim_end, p
    cdef uint64_t raw = 0
    cdef int64_t size
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            return _wire_fail(&err)
        if field == 2 and wt == WT_LEN:
            prefix = pos
            dim_end = wire_read_length(buf, pos, end, &dim_start, &err)
            if dim_end < 0:
                return _wire_fail(&err)
            size = 0
            p = dim_start
            while p < dim_end:
                p = wire_read_tag(buf, p, dim_end, &dfield, &dwt, &err)
                if p < 0:
                    return _wire_fail(&err)
                if dfield == 1 and dwt == WT_VARINT:
                    p = wire_read_varint(buf, p, dim_end, &raw, &err)
                    size = <int64_t>raw
                else:
                    p = wire_skip_field(buf, p, dim_end, dfield, dwt, 0, &err)
                if p < 0:
                    return _wire_fail(&err)
            if size < 0:
                raise DecodeError(f"{WHAT}: negative dimension {size} (dim {f.rank})", prefix)
            if f.rank >= MAX_RANK:
                raise DecodeError(f"{WHAT}: rank above {MAX_RANK}", prefix)
            f.dims[f.rank] = size
            f.rank += 1
            pos = dim_end
        elif field == 3 and wt == WT_VARINT:
            pos = wire_read_varint(buf, pos, end, &raw, &err)
            if pos < 0:
                return _wire_fail(&err)
            unknown = raw != 0
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            if pos < 0:
                return _wire_fail(&err)
    if unknown >= 0:
        f.unknown_rank = unknown
    return 0


cdef int _parse_fields(const unsigned char* buf, Py_ssize_t end, Parsed* f) except -1:
    """One pass over the message, recording what was found; raises on wire errors."""
    cdef WireError err
    cdef uint32_t field = 0
    cdef int wt = 0, layout, width
    cdef Py_ssize_t pos = 0, start = 0, stop, r
    cdef uint64_t raw = 0
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            return _wire_fail(&err)
        if field == F_DTYPE and wt == WT_VARINT:
            pos = wire_read_varint(buf, pos, end, &raw, &err)
            f.dtype = <int32_t><uint32_t>(raw & 0xFFFFFFFFu)  # an enum is an int32 on the wire
        elif field == F_SHAPE and wt == WT_LEN:
            stop = wire_read_length(buf, pos, end, &start, &err)
            if stop < 0:
                return _wire_fail(&err)
            _parse_shape(buf, start, stop, f)
            pos = stop
        elif field == F_CONTENT and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos >= 0:
                f.has_content = True
                f.content_start = start
                f.content_stop = pos
        elif field == F_STRING and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            f.counts[F_STRING] += 1
        else:
            layout = _field_layout(field)
            if layout == LAYOUT_NONE:
                pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            elif wt == WT_LEN:
                stop = wire_read_length(buf, pos, end, &start, &err)
                if stop < 0:
                    return _wire_fail(&err)
                if layout == LAYOUT_VARINT:
                    if stop - start >= NOGIL_BYTES:
                        with nogil:
                            r = wire_count_varints(buf, start, stop, &f.counts[field], &err)
                    else:
                        r = wire_count_varints(buf, start, stop, &f.counts[field], &err)
                    if r < 0:
                        return _wire_fail(&err)
                else:
                    width = 4 if layout == LAYOUT_FIXED32 else 8
                    if (stop - start) % width:
                        raise DecodeError(
                            f"{WHAT}: packed {D.FIELD_NAMES[field]} of {stop - start} bytes", start,
                            f" is not a multiple of {width}"
                        )
                    f.counts[field] += (stop - start) // width
                pos = stop
            elif ((wt == WT_VARINT and layout == LAYOUT_VARINT) or (wt == WT_FIXED32 and layout == LAYOUT_FIXED32)
                    or (wt == WT_FIXED64 and layout == LAYOUT_FIXED64)):
                pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
                f.counts[field] += 1
            else:
                pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
        if pos < 0:
            return _wire_fail(&err)
    return 0


cdef object _check_dtype(int dt, expected):
    cdef object np_dtype
    if dt == 0:
        raise DecodeError(f"{WHAT}: missing or invalid dtype (DT_INVALID)")
    np_dtype = D.numpy_dtype(dt)
    if np_dtype is None:
        if dt > 100 and dt - 100 in D.DT_NAMES:
            raise DecodeError(f"{WHAT}: reference dtype {D.dt_name(dt)} cannot be serialized")
        if dt == DT_BFLOAT16:
            raise DecodeError(f"{WHAT}: DT_BFLOAT16 needs the optional dependency ml_dtypes")
        if dt in D.DT_NAMES:
            raise DecodeError(f"{WHAT}: unsupported dtype {D.dt_name(dt)}")
        raise DecodeError(f"{WHAT}: unknown dtype {dt}")
    if expected is not None and expected != dt:
        raise DecodeError(
            f"{WHAT}: type mismatch: data is {D.dt_name(dt)}, expected {D.dt_name(expected)}"
        )
    return np_dtype


cdef inline Py_ssize_t _next_field(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                   uint32_t* field, int* wt, Py_ssize_t* start) noexcept nogil:
    """Second-pass iterator over a message _parse_fields accepted: one top-level field.

    Returns the position after it; ``start[0]`` is where its payload (or packed run) starts.
    """
    cdef WireError err
    pos = wire_read_tag(buf, pos, end, field, wt, &err)
    if pos < 0:
        return -1
    if wt[0] == WT_LEN:
        return wire_read_length(buf, pos, end, start, &err)
    start[0] = pos
    return wire_skip_field(buf, pos, end, field[0], wt[0], 0, &err)


cdef inline bint _takes(uint32_t field, int wt, uint32_t target, int layout) noexcept nogil:
    """Whether a top-level field holds values of ``target`` (as _parse_fields counted them)."""
    if field != target:
        return False
    return (wt == WT_LEN or (wt == WT_VARINT and layout == LAYOUT_VARINT)
            or (wt == WT_FIXED32 and layout == LAYOUT_FIXED32) or (wt == WT_FIXED64 and layout == LAYOUT_FIXED64))


cdef void _fill_fixed(const unsigned char* buf, Py_ssize_t end, uint32_t target, int layout,
                      unsigned char* out) noexcept nogil:
    """Copy the little-endian payloads of a fixed-width typed field into ``out``, in order."""
    cdef Py_ssize_t pos = 0, start = 0, stop
    cdef uint32_t field = 0
    cdef int wt = 0
    while pos < end:
        stop = _next_field(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            return
        if _takes(field, wt, target, layout):
            memcpy(out, buf + start, <size_t>(stop - start))
            out += stop - start
        pos = stop


cdef enum:
    CONV_BOOL = 0    # any non-zero varint is True
    CONV_INT32 = 1   # int_val / half_val: the low 32 bits, signed, range-checked
    CONV_RAW = 2     # int64 / uint32 / uint64: the low itemsize bytes


cdef inline void _store(unsigned char* out, Py_ssize_t i, int itemsize, uint64_t x) noexcept nogil:
    if itemsize == 1:
        out[i] = <uint8_t>x
    elif itemsize == 2:
        (<uint16_t*>out)[i] = <uint16_t>x
    elif itemsize == 4:
        (<uint32_t*>out)[i] = <uint32_t>x
    else:
        (<uint64_t*>out)[i] = x


cdef Py_ssize_t _fill_varints(const unsigned char* buf, Py_ssize_t end, uint32_t target, int conv,
                              int64_t lo, int64_t hi, unsigned char* out, int itemsize,
                              int64_t* bad_value) noexcept nogil:
    """Decode a varint typed field into ``out`` (native order); -1, or the index of the first
    value out of ``[lo, hi]`` (its value in ``bad_value[0]``)."""
    cdef Py_ssize_t pos = 0, start = 0, stop, i = 0
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef uint64_t v = 0
    cdef int64_t s
    cdef WireError err
    while pos < end:
        stop = _next_field(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            return -1
        if _takes(field, wt, target, LAYOUT_VARINT):
            while start < stop:
                start = wire_read_varint(buf, start, stop, &v, &err)
                if start < 0:
                    return -1
                if conv == CONV_BOOL:
                    out[i] = v != 0
                elif conv == CONV_INT32:
                    s = <int32_t><uint32_t>(v & 0xFFFFFFFFu)
                    if s < lo or s > hi:
                        bad_value[0] = s
                        return i
                    _store(out, i, itemsize, <uint64_t>s)
                else:
                    _store(out, i, itemsize, v)
                i += 1
        pos = stop
    return -1


cdef list _string_ranges(const unsigned char* buf, Py_ssize_t end):
    """The string_val entries of a message _parse_fields accepted, as bytes, in order."""
    cdef list out = []
    cdef Py_ssize_t pos = 0, start = 0, stop
    cdef uint32_t field = 0
    cdef int wt = 0
    while pos < end:
        stop = _next_field(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            break
        if field == F_STRING and wt == WT_LEN:
            out.append(PyBytes_FromStringAndSize(<const char*>buf + start, stop - start))
        pos = stop
    return out


cdef void _broadcast(unsigned char* out, Py_ssize_t m, Py_ssize_t n, Py_ssize_t itemsize) noexcept nogil:
    """Repeat element ``m - 1`` over elements ``m .. n - 1`` (doubling copies)."""
    cdef Py_ssize_t done = m * itemsize, total = n * itemsize, chunk = itemsize
    cdef unsigned char* last = out + (m - 1) * itemsize
    # the filled run [last, out + done) grows by copying itself
    while done < total:
        if chunk > total - done:
            chunk = total - done
        memcpy(out + done, last, <size_t>chunk)
        done += chunk
        chunk = done - (m - 1) * itemsize


cdef bint _find_bad_bool(const unsigned char* p, Py_ssize_t n, Py_ssize_t* where) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] > 1:
            where[0] = i
            return True
    return False


cdef tuple _check_header(const Parsed* f, object expected, object max_bytes, int64_t* count):
    """Step 2: what the header says, checked in the reference's order before anything is
    allocated (the dtype, ``unknown_rank``, the element count, ``max_bytes``, numpy's size
    limit).  Returns ``(numpy dtype, shape)``; the element count goes to ``count[0]``."""
    cdef int i, itemsize, dt = f.dtype
    cdef int64_t n = 1, d, span
    cdef object np_dtype, nbytes
    np_dtype = _check_dtype(dt, expected)
    if f.unknown_rank:
        raise DecodeError(f"{WHAT}: tensor_shape has unknown_rank set")
    for i in range(f.rank):
        d = f.dims[i]
        if d != 0 and n > INT64_MAX // d:
            raise DecodeError(f"{WHAT}: shape {_dims_list(f)} has more than 2**63-1 elements")
        n *= d
    itemsize = np_dtype.itemsize  # 8 for object arrays: a pointer an element
    nbytes = <object>n * itemsize
    if nbytes > max_bytes:
        raise DecodeError(
            f"{WHAT}: shape {_dims_list(f)} of {D.dt_name(dt)} needs {nbytes} bytes, over max_bytes={max_bytes}"
        )
    span = itemsize  # numpy's own size check skips zero dims
    for i in range(f.rank):
        d = f.dims[i]
        if d != 0:
            if span > INT64_MAX // d:
                raise DecodeError(f"{WHAT}: shape {_dims_list(f)} of {D.dt_name(dt)} is too large for a numpy array")
            span *= d
    count[0] = n
    return np_dtype, tuple(_dims_list(f))


cdef object _from_content(object mv, const unsigned char* buf, const Parsed* f, object np_dtype, int64_t n,
                          object shape, object copy):
    """Step 3, from a non-empty ``tensor_content``: its size and (DT_BOOL) bytes checked, then
    copied in one ``memcpy``, or viewed (``copy=False``, aligned)."""
    cdef Py_ssize_t start = f.content_start, clen = f.content_stop - f.content_start, where = 0
    cdef int dt = f.dtype
    cdef int64_t nbytes = n * <int64_t>np_dtype.itemsize  # fits: step 2 checked numpy's limit
    cdef bint found = False
    cdef unsigned char[::1] dst
    cdef object out, view_arr
    if dt == DT_STRING:
        raise DecodeError(f"{WHAT}: tensor_content", start, " is not supported for DT_STRING")
    if clen != nbytes:
        raise DecodeError(
            f"{WHAT}: tensor_content of {clen} bytes", start,
            f" does not match shape {_dims_list(f)} of {D.dt_name(dt)} ({nbytes} bytes)"
        )
    if dt == DT_BOOL:
        with nogil:
            found = _find_bad_bool(buf + start, clen, &where)
        if found:
            raise DecodeError(f"{WHAT}: bool byte {buf[start + where]}", start + where, " is not 0 or 1")
    if _BIG_ENDIAN_HOST and np_dtype.itemsize > 1:
        view_arr = np.frombuffer(mv, dtype=np_dtype, count=n, offset=start)
        return view_arr.byteswap().view(np_dtype.newbyteorder("=")).reshape(shape)
    if copy:
        out = np.empty(shape, dtype=np_dtype)
        dst = _bytes_of(out)
        _copy(&dst[0], buf + start, clen)
        return out
    view_arr = np.frombuffer(mv, dtype=np_dtype, count=n, offset=start)
    if not view_arr.flags.aligned:
        return view_arr.reshape(shape).copy()
    view_arr.flags.writeable = False
    return view_arr.reshape(shape)


cdef object _from_typed_values(const unsigned char* buf, Py_ssize_t end, const Parsed* f, object np_dtype,
                               int64_t n, object shape):
    """Step 3, from the dtype's typed ``*_val`` field: counted, decoded in C straight into the
    output, the last value repeated over the elements it leaves (zeros when it has none)."""
    cdef int dt = f.dtype, layout, conv, itemsize = np_dtype.itemsize
    cdef uint32_t field = D.VALUE_FIELD[dt]
    cdef object name = D.FIELD_NAMES[field], values, out, out_dtype
    cdef Py_ssize_t m = f.counts[field], bad_index
    cdef int64_t lo = 0, hi = 0, bad_value = 0
    cdef unsigned char[::1] dst
    cdef unsigned char* outp
    if field == F_STRING:
        if m > n:
            raise DecodeError(f"{WHAT}: {m} {name} values for {n} elements")
        values = _string_ranges(buf, end)
        out = np.empty(n, dtype=object)
        out[:m] = values
        out[m:] = values[-1] if m else b""
        return out.reshape(shape)

    layout = _field_layout(field)
    if layout != LAYOUT_VARINT and np_dtype.kind == "c":
        if m % 2:
            raise DecodeError(f"{WHAT}: {name} holds {m} numbers, not (real, imaginary) pairs")
        m //= 2
    if m > n:
        raise DecodeError(f"{WHAT}: {m} {name} values for {n} elements")
    out_dtype = np_dtype.newbyteorder("=")
    if m == 0:
        return np.zeros(n, dtype=out_dtype).reshape(shape)
    out = np.empty(n, dtype=out_dtype)
    dst = _bytes_of(out)
    outp = &dst[0]
    if layout != LAYOUT_VARINT:
        if end >= NOGIL_BYTES:
            with nogil:
                _fill_fixed(buf, end, field, layout, outp)
        else:
            _fill_fixed(buf, end, field, layout, outp)
        if _BIG_ENDIAN_HOST:
            out[:m].byteswap(inplace=True)
    else:
        if field == F_BOOL:
            conv = CONV_BOOL
        elif field == F_INT or field == F_HALF:
            conv = CONV_INT32
            lo, hi = (0, 0xFFFF) if field == F_HALF else D.INT_VAL_RANGE[dt]
        else:
            conv = CONV_RAW
        if end >= NOGIL_BYTES:
            with nogil:
                bad_index = _fill_varints(buf, end, field, conv, lo, hi, outp, itemsize, &bad_value)
        else:
            bad_index = _fill_varints(buf, end, field, conv, lo, hi, outp, itemsize, &bad_value)
        if bad_index >= 0:
            raise DecodeError(
                f"{WHAT}: {name} value {bad_value} at index {bad_index} is out of range for {D.dt_name(dt)}"
            )
    if m < n:
        if (n - m) * itemsize >= NOGIL_BYTES:
            with nogil:
                _broadcast(outp, m, n, itemsize)
        else:
            _broadcast(outp, m, n, itemsize)
    return out.reshape(shape)


def decode_tensor(data, *, dtype=None, copy=True, max_bytes=D.DEFAULT_MAX_BYTES):
    """Parse a serialized ``TensorProto`` into a numpy array.

    ``data`` is bytes, bytearray, memoryview or any C-contiguous buffer.  ``dtype`` (numpy dtype,
    DataType number, or ``"string"``/``bytes``/``object`` for strings), when given, must equal the
    encoded dtype, like ``tf.io.parse_tensor``.  ``copy=False`` returns a read-only view into
    ``data`` when the values come from a ``tensor_content`` aligned for the dtype (a copy
    otherwise).  ``max_bytes`` bounds the decoded array's size and is checked before anything is
    allocated.  String tensors come back as object arrays of ``bytes``.  Every invalid input
    raises :class:`tensorwire.DecodeError`.
    """
    cdef Parsed f
    cdef const unsigned char[::1] view
    cdef const unsigned char* buf = NULL
    cdef Py_ssize_t end
    cdef int64_t n = 0
    cdef object expected, mv, np_dtype, shape

    expected = None if dtype is None else D.expected_datatype(dtype)
    mv = _buffer(data)
    view = mv
    end = view.shape[0]
    if end:
        buf = &view[0]
    memset(&f, 0, sizeof(Parsed))
    _parse_fields(buf, end, &f)  # step 1: the wire
    np_dtype, shape = _check_header(&f, expected, max_bytes, &n)  # step 2: dtype and shape
    if f.has_content and f.content_stop > f.content_start:  # step 3: the values
        return _from_content(mv, buf, &f, np_dtype, n, shape, copy)
    return _from_typed_values(buf, end, &f, np_dtype, n, shape)
