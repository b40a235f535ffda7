# cython: language_level=3, embedsignature=True
"""tf.Example and tf.SequenceExample codec, Cython twin of ``tensorwire.codecs.example``.

Same functions, same signatures, same bytes, same results and the same errors (type and
message) as the pure-Python reference, whose docstring defines the behaviour and the order of
the checks.

Encoding classifies each value once (at Python level, a few calls a feature), sizes the whole
message in C, allocates one ``bytes`` object and writes into it: float32 payloads with one
``memcpy``, float64 with one C conversion pass straight into the output, int64 varints with a C
loop.  Decoding makes two passes over the input: the first validates everything (wire, UTF-8
keys, kinds, float payload sizes) and counts each feature's values in C, indexing the map
entries (last key wins); the second allocates each wanted feature once (``np.empty`` of the
counted size: never more than the input holds) and fills it in C (``memcpy`` of the packed
float payloads, a C loop for the varints).
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy

from ._wire cimport (
    WT_FIXED32,
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
    wire_skip_varint,
    wire_varint_size,
    wire_write_len_prefix,
    wire_write_varint,
)

cdef object sys, np, D, example_rules, DecodeError, Mapping, Integral, spec_entries, message_view
import sys
from collections.abc import Mapping
from numbers import Integral

import numpy as np

from ..codecs.rules import dtypes as D
from ..codecs.rules import example as example_rules  # checked against the enums below at import
from ..codecs.rules.example import spec_entries  # checks the spec argument, once per call: one definition
from ..codecs.rules.wire import message_view  # checks the data argument, once per call: one definition
from ..errors import DecodeError

cdef str WHAT = "Example"
cdef str WHAT_SEQ = "SequenceExample"
cdef bint _BIG_ENDIAN_HOST = sys.byteorder == "big"

cdef enum:
    BYTES_LIST = 1
    FLOAT_LIST = 2
    INT64_LIST = 3

cdef tuple LIST_NAMES = (None, "bytes_list", "float_list", "int64_list")
assert (example_rules.BYTES_LIST, example_rules.FLOAT_LIST, example_rules.INT64_LIST) == (
    BYTES_LIST, FLOAT_LIST, INT64_LIST)
assert example_rules.LIST_NAMES == dict(enumerate(LIST_NAMES[1:], 1))
cdef tuple _TEXT = (bytes, bytearray, str)
cdef object INT64_MAX_OBJ = (1 << 63) - 1
cdef object INT64_MIN_OBJ = -(1 << 63)

# How a planned feature's values get written.
cdef enum:
    MODE_COPY = 0     # little-endian float32 bytes: memcpy
    MODE_F64 = 1      # native float64: converted to float32 while writing
    MODE_VARINT = 2   # native int64: written as varints
    MODE_BYTES = 3    # a list of bytes

# Sizes above which loops and copies run without the GIL.
cdef enum:
    NOGIL_BYTES = 1 << 16


# ============================================================================================
# encoding


@cython.auto_pickle(False)  # never pickled: a pointer, which pickling would copy as bytes (or crash on NULL)
cdef class _Plan:
    """One feature value, classified and sized: what the writer needs."""
    cdef int list_kind
    cdef int mode
    cdef object src          # the array or list of bytes (keeps ``data`` alive)
    cdef const unsigned char* data
    cdef Py_ssize_t n        # values
    cdef Py_ssize_t payload   # bytes of the packed values (float_list and int64_list)
    cdef Py_ssize_t list_len  # bytes of the BytesList/FloatList/Int64List message

    cdef Py_ssize_t feature_len(self):
        return wire_len_field_size(self.list_kind, self.list_len)


cdef inline bytes _utf8(item):
    return (<str>item).encode("utf-8") if isinstance(item, str) else bytes(item)


cdef list _text_items(items, name):
    cdef list out = []
    cdef object item
    for item in items:
        if not isinstance(item, _TEXT):
            raise TypeError(
                f"feature {name!r}: a bytes_list value holds an item of type {type(item).__name__}; "
                "expected bytes or str"
            )
        out.append(_utf8(item))
    return out


cdef object _int64_values(list items, name):
    """Integers (Python or numpy) -> int64 array, checking the range first."""
    cdef list ints = []
    cdef object v
    for v in items:
        v = int(v)
        if not INT64_MIN_OBJ <= v <= INT64_MAX_OBJ:
            raise ValueError(f"feature {name!r}: value {v} is out of range for an int64_list")
        ints.append(v)
    return np.array(ints, dtype=np.int64)


cdef const unsigned char* _data_of(arr):
    """Address of a C-contiguous, non-empty array's first byte."""
    cdef const unsigned char[::1] mv = arr.reshape(-1).view(np.uint8)
    return &mv[0]


cdef Py_ssize_t _varints_size(const unsigned char* data, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, total = 0
    cdef int64_t v = 0
    for i in range(n):
        memcpy(&v, data + 8 * i, 8)
        total += wire_varint_size(<uint64_t>v)
    return total


cdef _Plan _bytes_plan(list items):
    cdef _Plan plan = _Plan()
    cdef bytes b
    plan.list_kind = BYTES_LIST
    plan.mode = MODE_BYTES
    plan.src = items
    plan.n = len(items)
    for b in items:
        plan.list_len += wire_len_field_size(1, len(b))
    return plan


cdef _Plan _float_plan(arr):
    cdef _Plan plan = _Plan()
    cdef object dtype = arr.dtype
    plan.list_kind = FLOAT_LIST
    plan.n = arr.size
    if (not _BIG_ENDIAN_HOST and arr.flags.c_contiguous and arr.flags.aligned
            and (dtype.type is np.float32 or dtype.type is np.float64) and dtype.isnative):
        plan.src = arr
        plan.mode = MODE_COPY if dtype.type is np.float32 else MODE_F64
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            plan.src = np.ascontiguousarray(arr, dtype="<f4")
        plan.mode = MODE_COPY
    if plan.n:
        plan.data = _data_of(plan.src)
        plan.payload = 4 * plan.n
        plan.list_len = wire_len_field_size(1, plan.payload)
    return plan


cdef _Plan _int_plan(arr):
    """``arr``: an int64 array (any layout, already range-checked)."""
    cdef _Plan plan = _Plan()
    plan.list_kind = INT64_LIST
    plan.mode = MODE_VARINT
    if not (arr.flags.c_contiguous and arr.flags.aligned and arr.dtype.isnative):
        arr = np.ascontiguousarray(arr, dtype=np.int64)
    plan.src = arr
    plan.n = arr.size
    if plan.n:
        plan.data = _data_of(arr)
        if plan.n >= NOGIL_BYTES // 8:
            with nogil:
                plan.payload = _varints_size(plan.data, plan.n)
        else:
            plan.payload = _varints_size(plan.data, plan.n)
        plan.list_len = wire_len_field_size(1, plan.payload)
    return plan


cdef _Plan _plan(value, name):
    """Classify one feature value (the reference's ``_feature_value``) and size it."""
    cdef object arr, dtype, flat, big, bfloat16, items, item
    if isinstance(value, _TEXT):
        return _bytes_plan([_utf8(value)])
    if isinstance(value, (list, tuple)):
        if not value:  # a list is the bytes route (the reference's module docstring)
            return _bytes_plan([])
        for item in value:
            if isinstance(item, _TEXT):
                return _bytes_plan(_text_items(value, name))
    elif not isinstance(value, (np.ndarray, np.generic, int, float)) and not hasattr(value, "__array__"):
        raise TypeError(
            f"feature {name!r}: cannot encode a value of type {type(value).__name__} "
            "(expected an array, a number, bytes, str or a list of them)"
        )
    arr = np.asarray(value)
    dtype = arr.dtype
    if dtype.kind == "f":
        return _float_plan(arr)
    bfloat16 = D.bfloat16_dtype()
    if bfloat16 is not None and dtype == bfloat16:
        return _float_plan(arr)
    if dtype.kind in "biu":
        if dtype.type is np.int64:
            return _int_plan(arr)
        if dtype.kind == "u" and dtype.itemsize == 8:
            flat = arr.reshape(-1)
            big = np.flatnonzero(flat > INT64_MAX_OBJ)
            if big.size:
                raise ValueError(f"feature {name!r}: value {flat[big[0]]} is out of range for an int64_list")
        return _int_plan(arr.astype(np.int64))
    if dtype.kind in "SU":
        return _bytes_plan(_text_items(arr.reshape(-1).tolist(), name))
    if dtype.kind == "O":
        items = arr.reshape(-1).tolist()
        for item in items:
            if not isinstance(item, Integral):
                return _bytes_plan(_text_items(items, name))
        if items:
            return _int_plan(_int64_values(items, name))
        return _bytes_plan([])
    raise TypeError(
        f"feature {name!r}: cannot encode numpy dtype {dtype} (expected float, integer, bool, bytes or str)"
    )


cdef void _write_f64(unsigned char* out, const unsigned char* src, Py_ssize_t n) noexcept nogil:
    """float64 -> float32 (C conversion: round to nearest, as numpy and protobuf do)."""
    cdef Py_ssize_t i
    cdef double d = 0
    cdef float f
    for i in range(n):
        memcpy(&d, src + 8 * i, 8)
        f = <float>d
        memcpy(out + 4 * i, &f, 4)


cdef unsigned char* _write_varints(unsigned char* out, const unsigned char* end, const unsigned char* src,
                                   Py_ssize_t n) noexcept nogil:
    """Write ``n`` int64 values as varints into ``[out, end)``; the pointer past them, or NULL
    if they do not fit (the array changed since it was sized: another thread wrote to it)."""
    cdef Py_ssize_t i
    cdef int64_t v = 0
    for i in range(n):
        memcpy(&v, src + 8 * i, 8)
        if end - out < 10 and end - out < wire_varint_size(<uint64_t>v):
            return NULL
        out = wire_write_varint(out, <uint64_t>v)
    return out


cdef unsigned char* _write_feature(unsigned char* p, _Plan plan) except NULL:
    """Write the Feature message of ``plan`` at ``p``; return the pointer past it."""
    cdef bytes b
    cdef Py_ssize_t nbytes = plan.payload
    cdef unsigned char* q
    p = wire_write_len_prefix(p, plan.list_kind, plan.list_len)
    if plan.mode == MODE_BYTES:
        for b in plan.src:
            p = wire_write_len_prefix(p, 1, len(b))
            memcpy(p, PyBytes_AS_STRING(b), <size_t>len(b))
            p += len(b)
        return p
    if plan.n == 0:
        return p
    if plan.mode == MODE_VARINT:
        p = wire_write_len_prefix(p, 1, nbytes)
        if plan.n >= NOGIL_BYTES // 8:
            with nogil:
                q = _write_varints(p, p + nbytes, plan.data, plan.n)
        else:
            q = _write_varints(p, p + nbytes, plan.data, plan.n)
        if q != p + nbytes:
            raise RuntimeError("an int64_list array was modified while it was being encoded")
        return q
    p = wire_write_len_prefix(p, 1, nbytes)
    if plan.mode == MODE_COPY:
        if nbytes >= NOGIL_BYTES:
            with nogil:
                memcpy(p, plan.data, <size_t>nbytes)
        else:
            memcpy(p, plan.data, <size_t>nbytes)
    elif plan.n >= NOGIL_BYTES // 8:
        with nogil:
            _write_f64(p, plan.data, plan.n)
    else:
        _write_f64(p, plan.data, plan.n)
    return p + nbytes


def _map_order(tuple entry):
    """Sort key of a ``(key bytes, ...)`` map entry in protobuf's (upb's) deterministic order:
    byte order, a key after the longer keys it is a prefix of (no UTF-8 key holds 0xFF)."""
    return <bytes>entry[0] + b"\xff"


cdef bytes _name(name):
    if not isinstance(name, str):
        raise TypeError(f"feature names must be str, not {type(name).__name__}")
    return (<str>name).encode("utf-8")


cdef object _mapping(obj, str what):
    if not isinstance(obj, Mapping):
        raise TypeError(f"{what} must be a mapping of names to values, not {type(obj).__name__}")
    return obj.items()


cdef list _feature_entries(features, bint sort_keys, str what):
    """``[(key bytes, _Plan, Feature length)]`` for a Features map, sorted when asked."""
    cdef list entries = []
    cdef bytes key
    cdef _Plan plan
    cdef object name, value
    for name, value in _mapping(features, what):
        key = _name(name)
        plan = _plan(value, name)
        entries.append((key, plan, plan.feature_len()))
    if sort_keys:
        entries.sort(key=_map_order)
    return entries


cdef Py_ssize_t _entry_size(Py_ssize_t key_len, Py_ssize_t value_len):
    """Bytes of one map entry (field 1 of the map's message) holding a key and a value."""
    return wire_len_field_size(1, wire_len_field_size(1, key_len) + wire_len_field_size(2, value_len))


cdef Py_ssize_t _features_size(list entries):
    cdef Py_ssize_t total = 0
    cdef tuple entry
    for entry in entries:
        total += _entry_size(len(<bytes>entry[0]), <Py_ssize_t>entry[2])
    return total


cdef unsigned char* _write_entry_head(unsigned char* p, bytes key, Py_ssize_t value_len):
    """Write a map entry up to its value's payload (the caller writes the value message)."""
    cdef Py_ssize_t klen = len(key)
    p = wire_write_len_prefix(p, 1, wire_len_field_size(1, klen) + wire_len_field_size(2, value_len))
    p = wire_write_len_prefix(p, 1, klen)
    memcpy(p, PyBytes_AS_STRING(key), <size_t>klen)
    p += klen
    return wire_write_len_prefix(p, 2, value_len)


cdef unsigned char* _write_features(unsigned char* p, list entries) except NULL:
    cdef tuple entry
    for entry in entries:
        p = _write_entry_head(p, <bytes>entry[0], <Py_ssize_t>entry[2])
        p = _write_feature(p, <_Plan>entry[1])
    return p


def encode_example(features, *, sort_keys=True):
    """Serialize ``features`` (``{name: value}``) as a ``tf.train.Example``.

    Floats become a float32 ``float_list``, integers and bools an ``int64_list``, bytes and str
    a ``bytes_list``; arrays are flattened row-major.  With ``sort_keys=True`` the bytes equal
    protobuf's deterministic serialization; with ``False`` the mapping's order is kept.  See the
    module docstring for every accepted value and the errors (``TypeError``, ``ValueError``).
    """
    cdef list entries = _feature_entries(features, sort_keys, "features")
    cdef Py_ssize_t body = _features_size(entries)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, wire_len_field_size(1, body))
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    p = wire_write_len_prefix(p, 1, body)
    _write_features(p, entries)
    return out


cdef object _steps(steps, name):
    if not isinstance(steps, (list, tuple, np.ndarray)) or (isinstance(steps, np.ndarray) and steps.ndim == 0):
        raise TypeError(
            f"feature list {name!r} must be a list, tuple or array of steps, not {type(steps).__name__}"
        )
    return steps


def encode_sequence_example(context, feature_lists, *, sort_keys=True):
    """Serialize a ``tf.train.SequenceExample``: ``context`` as in :func:`encode_example`,
    ``feature_lists`` mapping names to sequences of steps (each step a feature value).

    With ``sort_keys=True`` (both maps sorted) the bytes equal protobuf's deterministic
    serialization; with ``False`` the mappings' orders are kept.
    """
    cdef list ctx = _feature_entries(context, sort_keys, "context")
    cdef list lists = [], plans
    cdef bytes key, out
    cdef _Plan plan
    cdef tuple entry
    cdef Py_ssize_t ctx_len, lists_len = 0, fl_len
    cdef unsigned char* p
    cdef object name, steps, step
    for name, steps in _mapping(feature_lists, "feature_lists"):
        key = _name(name)
        plans = []
        fl_len = 0
        for step in _steps(steps, name):
            plan = _plan(step, name)
            plans.append(plan)
            fl_len += wire_len_field_size(1, plan.feature_len())
        lists.append((key, plans, fl_len))
    if sort_keys:
        lists.sort(key=_map_order)
    ctx_len = _features_size(ctx)
    for entry in lists:
        lists_len += _entry_size(len(<bytes>entry[0]), <Py_ssize_t>entry[2])
    out = PyBytes_FromStringAndSize(NULL, wire_len_field_size(1, ctx_len) + wire_len_field_size(2, lists_len))
    p = <unsigned char*>PyBytes_AS_STRING(out)
    p = wire_write_len_prefix(p, 1, ctx_len)
    p = _write_features(p, ctx)
    p = wire_write_len_prefix(p, 2, lists_len)
    for entry in lists:
        p = _write_entry_head(p, <bytes>entry[0], <Py_ssize_t>entry[2])
        for plan in <list>entry[1]:
            p = wire_write_len_prefix(p, 1, plan.feature_len())
            p = _write_feature(p, plan)
    return out


# ============================================================================================
# decoding


cdef enum:
    SCAN_OK = 0
    SCAN_WIRE = 1        # wire error, in ``wire``
    SCAN_TWO_KINDS = 2   # offset = the second list's tag, list_kind_a = the first list, list_kind_b = the second
    SCAN_FLOAT_SIZE = 3  # offset = packed payload start, nbytes = its length


cdef struct FeatScan:
    int list_kind          # 0 until a value list is met
    Py_ssize_t count       # values (merged over occurrences)
    int code
    Py_ssize_t offset
    Py_ssize_t nbytes
    int list_kind_a
    int list_kind_b
    WireError wire


cdef Py_ssize_t _scan_list(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, int list_kind,
                           FeatScan* s) noexcept nogil:
    """Validate one BytesList/FloatList/Int64List message, counting its values; 0 or -1."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &s.wire)
        if pos < 0:
            break
        if field != 1:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &s.wire)
        elif list_kind == FLOAT_LIST and wt == WT_LEN:
            stop = wire_read_length(buf, pos, end, &start, &s.wire)
            if stop >= 0 and (stop - start) % 4:
                s.code = SCAN_FLOAT_SIZE
                s.offset = start
                s.nbytes = stop - start
                return -1
            if stop >= 0:
                s.count += (stop - start) // 4
            pos = stop
        elif list_kind == FLOAT_LIST and wt == WT_FIXED32:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &s.wire)
            s.count += 1
        elif list_kind == INT64_LIST and wt == WT_LEN:
            stop = wire_read_length(buf, pos, end, &start, &s.wire)
            if stop >= 0 and wire_count_varints(buf, start, stop, &s.count, &s.wire) < 0:
                stop = -1
            pos = stop
        elif list_kind == INT64_LIST and wt == WT_VARINT:
            pos = wire_skip_varint(buf, pos, end, &s.wire)
            s.count += 1
        elif list_kind == BYTES_LIST and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &s.wire)
            s.count += 1
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &s.wire)
        if pos < 0:
            break
    if pos < 0:
        s.code = SCAN_WIRE
        return -1
    return 0


cdef int _scan_feature(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, FeatScan* s) noexcept nogil:
    """Validate one Feature occurrence, merging its list_kind and count into ``s``; 0 or -1."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop, tag_pos
    while pos < end:
        tag_pos = pos
        pos = wire_read_tag(buf, pos, end, &field, &wt, &s.wire)
        if pos < 0:
            break
        if 1 <= field <= 3 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &s.wire)
            if pos < 0:
                break
            stop = pos
            if s.list_kind != 0 and s.list_kind != <int>field:
                s.code = SCAN_TWO_KINDS
                s.offset = tag_pos
                s.list_kind_a = s.list_kind
                s.list_kind_b = field
                return -1
            s.list_kind = field
            if _scan_list(buf, start, stop, field, s) < 0:
                return -1
            pos = stop
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &s.wire)
            if pos < 0:
                break
    if pos < 0:
        s.code = SCAN_WIRE
        return -1
    return 0


cdef int _scan_values(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, FeatScan* s) noexcept nogil:
    """Every value occurrence (field 2) of a map entry _read_entry accepted, as one Feature."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &s.wire)
        if wt == WT_LEN:
            stop = wire_read_length(buf, pos, end, &start, &s.wire)
            if field == 2 and _scan_feature(buf, start, stop, s) < 0:
                return -1
            pos = stop
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &s.wire)
    return 0


cdef int _scan_fail(const FeatScan* s, str what, str label) except -1:
    if s.code == SCAN_TWO_KINDS:
        raise DecodeError(f"{what}: {label} has both {LIST_NAMES[s.list_kind_a]} and {LIST_NAMES[s.list_kind_b]} set", s.offset)
    if s.code == SCAN_FLOAT_SIZE:
        raise DecodeError(
            f"{what}: {label}: packed float_list of {s.nbytes} bytes", s.offset, " is not a multiple of 4"
        )
    raise DecodeError(*wire_error_parts(&s.wire, what))


cdef int _wire_fail(const WireError* err, str what) except -1:
    raise DecodeError(*wire_error_parts(err, what))


cdef str _read_entry(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, str what, bint* plain):
    """Validate a map entry's own fields; return its key (the last one; each checked as met).

    ``plain[0]`` is set false when the entry holds any field besides key and value (protobuf's
    Python runtime then does not take it as a map entry: neither do we)."""
    cdef WireError err
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0
    cdef str key = ""
    plain[0] = True
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            _wire_fail(&err, what)
        if field == 1 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos < 0:
                _wire_fail(&err, what)
            try:
                key = PyUnicode_DecodeUTF8(<const char*>buf + start, pos - start, "strict")
            except UnicodeDecodeError:
                raise DecodeError(f"{what}: key", start, " is not valid UTF-8") from None
        elif field == 2 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            plain[0] = False
        if pos < 0:
            _wire_fail(&err, what)
    return key


cdef int _index_features(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, dict index,
                         str what, str prefix) except -1:
    """Validate one Features message; ``index[name] = (list_kind, count, entry start, entry end)``."""
    cdef WireError err
    cdef FeatScan s
    cdef uint32_t field = 0
    cdef int wt = 0, r
    cdef Py_ssize_t start = 0
    cdef str name
    cdef bint plain = True
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            _wire_fail(&err, what)
        if field == 1 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos < 0:
                _wire_fail(&err, what)
            name = _read_entry(buf, start, pos, what, &plain)
            s.list_kind = 0
            s.count = 0
            if pos - start >= NOGIL_BYTES:
                with nogil:
                    r = _scan_values(buf, start, pos, &s)
            else:
                r = _scan_values(buf, start, pos, &s)
            if r < 0:
                _scan_fail(&s, what, f"{prefix}{name!r}")
            if plain:
                index[name] = (s.list_kind, s.count, start, pos)
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            if pos < 0:
                _wire_fail(&err, what)
    return 0


cdef int _index_feature_lists(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, dict index,
                              str what) except -1:
    """Validate one FeatureLists message; ``index[name] = [(list_kind, count, start, end) a step]``."""
    cdef WireError err
    cdef FeatScan s
    cdef uint32_t field = 0, vfield = 0, sfield = 0
    cdef int wt = 0, vwt = 0, swt = 0, r
    cdef Py_ssize_t start = 0, vstart = 0, vend, p, q, sstart = 0, send
    cdef str name
    cdef list steps
    cdef bint plain = True
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            _wire_fail(&err, what)
        if field == 1 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos < 0:
                _wire_fail(&err, what)
            name = _read_entry(buf, start, pos, what, &plain)
            steps = []
            p = start
            while p < pos:  # the entry's fields, all valid now: take its FeatureList occurrences
                p = wire_read_tag(buf, p, pos, &vfield, &vwt, &err)
                if vwt != WT_LEN:
                    p = wire_skip_field(buf, p, pos, vfield, vwt, 0, &err)
                    continue
                vend = wire_read_length(buf, p, pos, &vstart, &err)
                p = vend
                if vfield != 2:
                    continue
                q = vstart
                while q < vend:
                    q = wire_read_tag(buf, q, vend, &sfield, &swt, &err)
                    if q < 0:
                        _wire_fail(&err, what)
                    if sfield == 1 and swt == WT_LEN:
                        send = wire_read_length(buf, q, vend, &sstart, &err)
                        if send < 0:
                            _wire_fail(&err, what)
                        s.list_kind = 0
                        s.count = 0
                        if send - sstart >= NOGIL_BYTES:
                            with nogil:
                                r = _scan_feature(buf, sstart, send, &s)
                        else:
                            r = _scan_feature(buf, sstart, send, &s)
                        if r < 0:
                            _scan_fail(&s, what, f"feature list {name!r} step {len(steps)}")
                        steps.append((s.list_kind, s.count, sstart, send))
                        q = send
                    else:
                        q = wire_skip_field(buf, q, vend, sfield, swt, 0, &err)
                        if q < 0:
                            _wire_fail(&err, what)
            if plain:
                index[name] = steps
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            if pos < 0:
                _wire_fail(&err, what)
    return 0


# --- second pass: filling (only over messages the first pass accepted) ----------------------


cdef inline Py_ssize_t _next(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                             uint32_t* field, int* wt, Py_ssize_t* start) noexcept nogil:
    """One field of a validated message: the position after it; ``start[0]`` its payload."""
    cdef WireError err
    pos = wire_read_tag(buf, pos, end, field, wt, &err)
    if wt[0] == WT_LEN:
        return wire_read_length(buf, pos, end, start, &err)
    start[0] = pos
    return wire_skip_field(buf, pos, end, field[0], wt[0], 0, &err)


# The first pass validated these messages and sized the outputs; the fill loops still stop at
# any wire error and never write past ``out_end``, so a buffer another thread changes meanwhile
# (a bytearray, with the GIL released) gives wrong values, never a stray read or write.


cdef unsigned char* _fill_list(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, int list_kind,
                               unsigned char* out, const unsigned char* out_end) noexcept nogil:
    """Copy a FloatList's payloads (little-endian bytes) or decode an Int64List's varints
    (native int64) into ``out``; return the pointer past what was written."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop
    cdef WireError err
    cdef uint64_t v = 0
    while pos < end:
        stop = _next(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            break
        if field == 1:
            if list_kind == FLOAT_LIST and (wt == WT_LEN or wt == WT_FIXED32):
                if stop - start > out_end - out:
                    break
                memcpy(out, buf + start, <size_t>(stop - start))
                out += stop - start
            elif list_kind == INT64_LIST and (wt == WT_LEN or wt == WT_VARINT):
                while start < stop and out_end - out >= 8:
                    start = wire_read_varint(buf, start, stop, &v, &err)
                    if start < 0:
                        break
                    memcpy(out, &v, 8)
                    out += 8
        pos = stop
    return out


cdef unsigned char* _fill_feature(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, int list_kind,
                                  unsigned char* out, const unsigned char* out_end) noexcept nogil:
    """The numeric values of one Feature occurrence (whose value list is ``list_kind``) into ``out``."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop
    while pos < end:
        stop = _next(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            break
        if <int>field == list_kind and wt == WT_LEN:
            out = _fill_list(buf, start, stop, list_kind, out, out_end)
        pos = stop
    return out


cdef void _fill_entry(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, int list_kind,
                      unsigned char* out, const unsigned char* out_end) noexcept nogil:
    """The numeric values of a map entry's Feature (all its value occurrences) into ``out``."""
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t start = 0, stop
    while pos < end:
        stop = _next(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            break
        if field == 2 and wt == WT_LEN:
            out = _fill_feature(buf, start, stop, list_kind, out, out_end)
        pos = stop


cdef void _bytes_of_feature(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end, list out):
    """The values of one bytes_list Feature occurrence, appended to ``out``."""
    cdef uint32_t field = 0, lfield = 0
    cdef int wt = 0, lwt = 0
    cdef Py_ssize_t start = 0, stop, lstart = 0, lstop
    while pos < end:
        stop = _next(buf, pos, end, &field, &wt, &start)
        if stop < 0:
            break
        if field == BYTES_LIST and wt == WT_LEN:
            while start < stop:
                lstop = _next(buf, start, stop, &lfield, &lwt, &lstart)
                if lstop < 0:
                    break
                if lfield == 1 and lwt == WT_LEN:
                    out.append(PyBytes_FromStringAndSize(<const char*>buf + lstart, lstop - lstart))
                start = lstop
        pos = stop


cdef object _materialize(const unsigned char* buf, int list_kind, Py_ssize_t count, Py_ssize_t start,
                         Py_ssize_t end, bint entry):
    """Decode a validated feature: a map entry's (``entry``) or one Feature occurrence's."""
    cdef object out
    cdef list values
    cdef unsigned char[::1] dst
    cdef unsigned char* p
    cdef unsigned char* p_end
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef Py_ssize_t vstart = 0, stop
    if list_kind == 0:
        return None
    if list_kind == BYTES_LIST:
        values = []
        if not entry:
            _bytes_of_feature(buf, start, end, values)
            return values
        while start < end:
            stop = _next(buf, start, end, &field, &wt, &vstart)
            if stop < 0:
                break
            if field == 2 and wt == WT_LEN:
                _bytes_of_feature(buf, vstart, stop, values)
            start = stop
        return values
    out = np.empty(count, dtype=np.float32 if list_kind == FLOAT_LIST else np.int64)
    if count == 0:
        return out
    dst = out.view(np.uint8)
    p = &dst[0]
    p_end = p + dst.shape[0]
    if end - start >= NOGIL_BYTES:
        with nogil:
            if entry:
                _fill_entry(buf, start, end, list_kind, p, p_end)
            else:
                _fill_feature(buf, start, end, list_kind, p, p_end)
    elif entry:
        _fill_entry(buf, start, end, list_kind, p, p_end)
    else:
        _fill_feature(buf, start, end, list_kind, p, p_end)
    if _BIG_ENDIAN_HOST and list_kind == FLOAT_LIST:
        out.byteswap(inplace=True)
    return out


# --- spec --------------------------------------------------------------------------------------


cdef dict _apply_spec(const unsigned char* buf, dict index, list entries, str what):
    """The spec's features, checked against the index before anything is allocated."""
    cdef dict out = {}
    cdef tuple found, spec_entry
    cdef int list_kind, have
    cdef Py_ssize_t count
    cdef object need, dims, value, arr, name, d
    cdef str state
    for spec_entry in entries:
        name, dims, list_kind = spec_entry
        found = index.get(name)
        if found is None or found[0] == 0:
            state = "missing" if found is None else "missing (present with no kind set)"
            raise DecodeError(f"{what}: feature {name!r} is {state}")
        have = found[0]
        if have != list_kind:
            raise DecodeError(f"{what}: feature {name!r} is {LIST_NAMES[have]}, the spec wants {LIST_NAMES[list_kind]}")
        count = found[1]
        need = 1
        for d in dims:
            need *= d
        if count != need:
            raise DecodeError(
                f"{what}: feature {name!r} has {count} values, the spec's shape {list(dims)} needs {need}"
            )
        value = _materialize(buf, list_kind, count, found[2], found[3], True)
        if list_kind == BYTES_LIST:
            arr = np.empty(count, dtype=object)
            arr[:] = value
            value = arr
        out[name] = value.reshape(dims)
    return out


# --- entry points ------------------------------------------------------------------------------


def decode_example(data, *, spec=None):
    """Parse a serialized ``tf.train.Example`` into ``{name: value}``.

    ``float_list`` -> float32 array, ``int64_list`` -> int64 array, ``bytes_list`` -> list of
    bytes (``None`` for a feature with no kind set).  ``spec`` (``{name: (shape, dtype)}``)
    selects, checks and reshapes features like ``tf.io.FixedLenFeature``.  Every invalid input
    raises :class:`tensorwire.DecodeError`; see the module docstring.
    """
    cdef list entries = None if spec is None else spec_entries(spec)
    cdef object mv = message_view(data, "decode_example")
    cdef const unsigned char[::1] view = mv
    cdef const unsigned char* buf = NULL
    cdef Py_ssize_t end = view.shape[0], pos = 0, start = 0
    cdef WireError err
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef dict index = {}, out
    cdef tuple found
    cdef object name
    if end:
        buf = &view[0]
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            _wire_fail(&err, WHAT)
        if field == 1 and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos < 0:
                _wire_fail(&err, WHAT)
            _index_features(buf, start, pos, index, WHAT, "feature ")
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            if pos < 0:
                _wire_fail(&err, WHAT)
    if entries is not None:
        return _apply_spec(buf, index, entries, WHAT)
    out = {}
    for name, found in index.items():
        out[name] = _materialize(buf, found[0], found[1], found[2], found[3], True)
    return out


def decode_sequence_example(data):
    """Parse a serialized ``tf.train.SequenceExample`` into ``(context, feature_lists)``.

    ``context`` is decoded like :func:`decode_example`'s result; ``feature_lists`` maps each
    name to the list of its steps, each decoded like a feature value.
    """
    cdef object mv = message_view(data, "decode_sequence_example")
    cdef const unsigned char[::1] view = mv
    cdef const unsigned char* buf = NULL
    cdef Py_ssize_t end = view.shape[0], pos = 0, start = 0
    cdef WireError err
    cdef uint32_t field = 0
    cdef int wt = 0
    cdef dict ctx_index = {}, lists_index = {}, context = {}, lists = {}
    cdef tuple found
    cdef list steps, values
    cdef object name
    if end:
        buf = &view[0]
    while pos < end:
        pos = wire_read_tag(buf, pos, end, &field, &wt, &err)
        if pos < 0:
            _wire_fail(&err, WHAT_SEQ)
        if (field == 1 or field == 2) and wt == WT_LEN:
            pos = wire_read_length(buf, pos, end, &start, &err)
            if pos < 0:
                _wire_fail(&err, WHAT_SEQ)
            if field == 1:
                _index_features(buf, start, pos, ctx_index, WHAT_SEQ, "context feature ")
            else:
                _index_feature_lists(buf, start, pos, lists_index, WHAT_SEQ)
        else:
            pos = wire_skip_field(buf, pos, end, field, wt, 0, &err)
            if pos < 0:
                _wire_fail(&err, WHAT_SEQ)
    for name, found in ctx_index.items():
        context[name] = _materialize(buf, found[0], found[1], found[2], found[3], True)
    for name, steps in lists_index.items():
        values = []
        for found in steps:
            values.append(_materialize(buf, found[0], found[1], found[2], found[3], False))
        lists[name] = values
    return context, lists
