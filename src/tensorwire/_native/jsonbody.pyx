# cython: language_level=3, embedsignature=True
"""HTTP JSON bodies, Cython twin of ``tensorwire.codecs.jsonbody`` (docs/json-payloads.md, docs/number-text.md).

Same functions, signatures, bytes, results and errors as the reference, whose module docstring
defines the rules.

Writing numbers: one pass over each array's buffer straight into one preallocated ``bytes``
(sized for the longest possible text, shrunk in place at the end), the GIL released: no Python
float per element, no ``tolist()``, no JSON tree.  Floats go through ``_numfmt`` (shortest
round-trip text in the array's own dtype).  TensorProto values (numeric dtypes): per column, the
TensorProto header written once in C (``_tensorhead``) and the array's buffer taken once; per
instance, the base64 of header + the instance's bytes written straight into the one exact-size
``bytes``, whatever the number of inputs; no per-input Python object but the name's text.  Other
dtypes: ``encode_tensor`` and ``b64encode`` per value, joined once.

Reading: one pass in text order, like the reference, over the body's buffer.  Numbers are parsed
by ``_numparse`` (correctly rounded to the target dtype) straight into a growing array per name;
nothing is built per element.  Lists, depths and names are checked as the reference checks them.
The bytes are scanned by a lexer without the GIL (``Lexer`` and the ``lx_*`` functions:
whitespace, strings, numbers and literals, ``{"b64": ...}`` objects); ``_Reader`` walks the
envelope and the instances over it.

The general body (value form ``"json"``, docs/json-general.md): each name's kind is read from its
first leaf (``_Col.kind``, the shared ``Column.kind``).  Numbers and booleans go through the same
C walk as ND_ARRAYS (``nested``), so a float32 input costs what ND_ARRAYS does; integers are kept
as int64 while the kind is int, and the first non-integer number converts them to float32 in C
(the int64 -> float conversion is correctly rounded, as reading the text as float32 is; an
integer ``-0`` is remembered to come back as ``-0.0``).  String and ``{"b64"}`` leaves are read
by a walk holding the GIL (``jnested``): an unescaped ASCII string is copied straight into a new
``str``, base64 goes through this module's ``b64decode``, and the references are kept in the
column's buffer and moved into the object array at the end.

Refusing a body costs what accepting it does.  The pass stops at the first problem in the text,
which is the one the reference reports, and records what it met there (``Problem``: a string,
a separator, a list of the wrong length, a number that is not one, ...) with the little state
the message needs (the column's dims so far, the level, the closing bracket).  The shared
reader's checking method for that one place (``rules.Reader``: ``string``, ``separator``,
``close_list``, ``leaf``, ``tensor``, ``check_name``, ``end``, ...) is then called at that offset
on the same buffer and raises the exact exception: the wording exists once, in
``tensorwire.codecs.rules.jsonbody`` (with the option checks and constants both twins apply),
and the work left is bounded by the token, string or TensorProto value at the failing offset (a
value's base64 and TensorProto go through this module's codecs), never a second parse of the
body.  Where this pass and the shared reader's regular expressions may end a number differently
(``1.5.2``, ``01``), the number is re-read by the shared reader from its start, so the offset is
the reference's.  A place where the shared reader then finds nothing wrong is a bug, reported as
an AssertionError (the tests cross the two readers over mutated bodies).
"""

cimport cython
from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_FULL_RO, PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, _PyBytes_Resize
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.math cimport INFINITY, NAN, copysign, isfinite, isnan
from libc.stdint cimport (
    INT8_MAX, INT8_MIN, INT16_MAX, INT16_MIN, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, UINT8_MAX, UINT16_MAX,
    UINT32_MAX, UINT64_MAX, int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t,
)
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy

from ._b64enc cimport b64_encode_into, b64_encoded_size
from ._numfmt cimport NUMFMT_MAX_CHARS, write_f16, write_f32, write_f64, write_i64, write_u64
from ._numparse cimport (
    parse_f16, parse_f16_prefix, parse_f32, parse_f32_prefix, parse_f64, parse_f64_prefix, parse_i64, parse_u64,
)
from ._tensorhead cimport tensor_header_size, tensor_header_write
from ._wire cimport wire_len_field_size, wire_write_len_prefix

cdef bint _LITTLE_ENDIAN_HOST


cdef inline PyObject** _object_items(object a) except NULL:
    """The item slots of 1-d contiguous object array ``a``, which live as long as ``a`` (the
    caller holds it and does not resize it): read through the buffer protocol (numpy exports
    object arrays as format "O"), ~0.1 us where ``a.ctypes.data`` takes ~2 us."""
    cdef Py_buffer view
    cdef PyObject** items
    PyObject_GetBuffer(a, &view, PyBUF_FULL_RO)
    items = <PyObject**>view.buf
    PyBuffer_Release(&view)
    if items == NULL:
        raise AssertionError("tensorwire: an object array without data (a bug)")
    return items
cdef object _dtypes, stack_tensors, sys
cdef object np, json, rules, DecodeError, b64decode, b64encode, decode_tensor, encode_tensor

import numpy as np

import sys

from ..codecs.rules import dtypes as _dtypes
from ..codecs.rules.tensor import stack_tensors
from ..codecs.rules import jsonbody as rules
from ..errors import DecodeError
from .base64 import b64decode, b64encode
from .tensor import decode_tensor, encode_tensor

_LITTLE_ENDIAN_HOST = sys.byteorder == "little"

cdef const char* _EMPTY = b""
cdef int MAX_RANK = _dtypes.MAX_RANK
cdef Py_ssize_t OBJECT_COST = rules.OBJECT_COST
# Python-level names, as the reference's
global KEYS, VALUE_FORMS, NONFINITE_POLICIES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_BYTES, MAX_DEPTH_LIMIT, WHAT, WRITE_KEYS
KEYS = rules.KEYS
WRITE_KEYS = rules.WRITE_KEYS
VALUE_FORMS = rules.VALUE_FORMS
NONFINITE_POLICIES = rules.NONFINITE_POLICIES
DEFAULT_MAX_DEPTH = rules.DEFAULT_MAX_DEPTH
DEFAULT_MAX_BYTES = rules.DEFAULT_MAX_BYTES
MAX_DEPTH_LIMIT = rules.MAX_DEPTH_LIMIT
WHAT = rules.WHAT
global WRITE_KEYS
WRITE_KEYS = rules.WRITE_KEYS

cdef enum Code:
    C_F16 = 1
    C_F32
    C_F64
    C_I8
    C_I16
    C_I32
    C_I64
    C_U8
    C_U16
    C_U32
    C_U64
    C_BOOL


cdef int _code(object dt) except -1:
    cdef str k = dt.kind
    cdef int size = dt.itemsize
    if k == "f":
        return C_F16 if size == 2 else C_F32 if size == 4 else C_F64
    if k == "i":
        return C_I8 if size == 1 else C_I16 if size == 2 else C_I32 if size == 4 else C_I64
    if k == "u":
        return C_U8 if size == 1 else C_U16 if size == 2 else C_U32 if size == 4 else C_U64
    if k == "b":
        return C_BOOL
    raise TypeError(f"unsupported dtype {dt}")


# The range of each integer code's dtype (read: a number outside it is refused), by code.
cdef int64_t _INT_MIN[C_BOOL + 1]
cdef int64_t _INT_MAX[C_BOOL + 1]
cdef uint64_t _UINT_MAX[C_BOOL + 1]
_INT_MIN[<int>C_I8], _INT_MAX[<int>C_I8] = INT8_MIN, INT8_MAX
_INT_MIN[<int>C_I16], _INT_MAX[<int>C_I16] = INT16_MIN, INT16_MAX
_INT_MIN[<int>C_I32], _INT_MAX[<int>C_I32] = INT32_MIN, INT32_MAX
_INT_MIN[<int>C_I64], _INT_MAX[<int>C_I64] = INT64_MIN, INT64_MAX
_UINT_MAX[<int>C_U8] = UINT8_MAX
_UINT_MAX[<int>C_U16] = UINT16_MAX
_UINT_MAX[<int>C_U32] = UINT32_MAX
_UINT_MAX[<int>C_U64] = UINT64_MAX
cdef Py_ssize_t _ITEMSIZE[C_BOOL + 1]
_ITEMSIZE[:] = [0, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1]


cdef inline void _put_int(char* dst, uint64_t v, Py_ssize_t size) noexcept nogil:
    """The low ``size`` bytes of ``v`` as an integer of that width (two's complement: a signed
    value in range, cast to uint64, keeps its bits)."""
    if size == 1:
        (<uint8_t*>dst)[0] = <uint8_t>v
    elif size == 2:
        (<uint16_t*>dst)[0] = <uint16_t>v
    elif size == 4:
        (<uint32_t*>dst)[0] = <uint32_t>v
    else:
        (<uint64_t*>dst)[0] = v


# ------------------------------------------------------------------------------------- writing

cdef struct Leaf:
    int code
    bint quote
    bint null_nonfinite
    Py_ssize_t itemsize  # C_USTR, C_SBYTES: the array's item size


# The general body's ("json") text leaves, beside the number codes (Code).
cdef enum:
    C_OSTR = 32  # object array of str: a Piece per element (its UTF-8)
    C_USTR  # numpy U: the item's UCS4, trailing NULs stripped
    C_OBYTES  # object array of bytes: a Piece per element
    C_SBYTES  # numpy S: the item's bytes, trailing NULs stripped


cdef struct Piece:
    const char* ptr
    Py_ssize_t len


cdef extern from "Python.h":
    void _err_clear "PyErr_Clear"()
    bint _is_str "PyUnicode_Check"(PyObject* o)
    bint _is_exact_str "PyUnicode_CheckExact"(PyObject* o)
    bint _is_bytes "PyBytes_Check"(PyObject* o)
    bint _is_exact_bytes "PyBytes_CheckExact"(PyObject* o)
    char* _bytes_data "PyBytes_AS_STRING"(PyObject* o)
    Py_ssize_t _bytes_size "PyBytes_GET_SIZE"(PyObject* o)
    void _xdecref "Py_XDECREF"(PyObject* o)
    void _set_size "Py_SET_SIZE"(PyObject* o, Py_ssize_t size)


# Bytes a character < 0x80 takes in a JSON string as json.dumps(ensure_ascii=False) writes it:
# 1, 2 for \" \\ \b \f \n \r \t, 6 for the other control characters (\u00xx); filled at import.
# (jsonbody_text.h writes those escapes; this table measures them.)
cdef unsigned char _ESC_LEN[128]
cdef int _ek
for _ek in range(128):
    _ESC_LEN[_ek] = 6 if _ek < 0x20 else 1
for _ek in (0x22, 0x5C, 0x08, 0x0C, 0x0A, 0x0D, 0x09):
    _ESC_LEN[_ek] = 2


cdef extern from "jsonbody_text.h":
    # The escape of ASCII c (one with _ESC_LEN[c] > 1) at p; returns the end.
    char* _escape "tw_jb_escape"(char* p, unsigned char c) noexcept nogil
    # Whether none of the 8 bytes at s needs escaping.
    bint _plain_word "tw_jb_plain8"(const unsigned char* s) noexcept nogil
    # UTF-8 s[:n] as a JSON string at p (at most _TEXT_ROOM(n) bytes, none past its end); returns the end.
    char* _put_utf8_text "tw_jb_put_text"(char* p, const unsigned char* s, Py_ssize_t n) noexcept nogil
    # An exact str's UTF-8 (read in place when the str is ASCII or keeps it); NULL with the exception
    # set (a lone surrogate): the caller clears it and lets the rule word it.
    const char* _utf8_and_size "tw_jb_utf8"(PyObject* s, Py_ssize_t* size)
    Py_ssize_t _TEXT_ROOM "TW_JB_TEXT_ROOM"(Py_ssize_t n) noexcept nogil
    # A run of exact-str items written as JSON strings; says what stopped it.
    int _put_str_items "tw_jb_put_str_items"(char** pp, const char* end, PyObject** items, Py_ssize_t* pj,
                                             Py_ssize_t n, const char* name, Py_ssize_t name_len, Py_ssize_t* need)
    # Reads the CPU's features for the kernels (AVX-512 where present; see the header).
    void _cpu_init "tw_jb_cpu_init"() noexcept nogil
    enum:
        _ITEMS_DONE "TW_JB_DONE"
        _ITEMS_OTHER "TW_JB_OTHER"
        _ITEMS_ROOM "TW_JB_ROOM"
        _ITEMS_NO_UTF8 "TW_JB_NO_UTF8"


_cpu_init()


cdef Py_ssize_t _utf8_text_size(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """The JSON string text of UTF-8 ``s[:n]``, quotes included: its size."""
    cdef Py_ssize_t i = 0, k, size = n + 2
    cdef unsigned char c
    while i < n:
        if i + 8 <= n:
            if _plain_word(s + i):
                i += 8
                continue
            k = i + 8
        else:
            k = n
        while i < k:
            c = s[i]
            if c < 0x80:
                size += _ESC_LEN[c] - 1
            i += 1
    return size


cdef inline Py_ssize_t _ucs4_len(const uint32_t* s, Py_ssize_t n) noexcept nogil:
    """The characters of a U item as numpy returns it (trailing NULs stripped)."""
    while n > 0 and s[n - 1] == 0:
        n -= 1
    return n


cdef Py_ssize_t _ucs4_text_size(const uint32_t* s, Py_ssize_t n) noexcept nogil:
    """The JSON string text (UTF-8, quotes included) of ``s[:n]``: its size, or -1 for a
    character UTF-8 cannot hold (a surrogate, or beyond U+10FFFF)."""
    cdef Py_ssize_t i, size = 2
    cdef uint32_t c
    for i in range(n):
        c = s[i]
        if c < 0x80:
            size += _ESC_LEN[c]
        elif c < 0x800:
            size += 2
        elif c < 0x10000:
            if 0xD800 <= c <= 0xDFFF:
                return -1
            size += 3
        elif c <= 0x10FFFF:
            size += 4
        else:
            return -1
    return size


cdef char* _put_ucs4_text(char* p, const uint32_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef uint32_t c
    p[0] = b'"'
    p += 1
    for i in range(n):
        c = s[i]
        if c < 0x80:
            if _ESC_LEN[c] == 1:
                p[0] = <char>c
                p += 1
            else:
                p = _escape(p, c)
        elif c < 0x800:
            p[0] = <char>(0xC0 | (c >> 6))
            p[1] = <char>(0x80 | (c & 0x3F))
            p += 2
        elif c < 0x10000:
            p[0] = <char>(0xE0 | (c >> 12))
            p[1] = <char>(0x80 | ((c >> 6) & 0x3F))
            p[2] = <char>(0x80 | (c & 0x3F))
            p += 3
        else:
            p[0] = <char>(0xF0 | (c >> 18))
            p[1] = <char>(0x80 | ((c >> 12) & 0x3F))
            p[2] = <char>(0x80 | ((c >> 6) & 0x3F))
            p[3] = <char>(0x80 | (c & 0x3F))
            p += 4
    p[0] = b'"'
    return p + 1


cdef inline Py_ssize_t _bytes_len(const char* s, Py_ssize_t n) noexcept nogil:
    """The bytes of an S item as numpy returns it (trailing NULs stripped)."""
    while n > 0 and s[n - 1] == 0:
        n -= 1
    return n


cdef inline Py_ssize_t _b64_value_size(Py_ssize_t n) noexcept nogil:
    return b64_encoded_size(n, True) + 10  # {"b64":"..."}


cdef inline char* _put_b64_value(char* p, const char* s, Py_ssize_t n) noexcept nogil:
    p = _put(p, '{"b64":"', 8)
    p += b64_encode_into(<const unsigned char*>s, n, p, False, True)
    p[0] = b'"'
    p[1] = b'}'
    return p + 2


cdef char* _text_leaf(char* p, const char* src, Leaf* leaf) noexcept nogil:
    """A str leaf as its JSON string, a bytes leaf as ``{"b64":"<standard, padded>"}``."""
    cdef const Piece* piece = <const Piece*>src
    cdef int code = leaf.code
    if code == C_OSTR:
        return _put_utf8_text(p, <const unsigned char*>piece.ptr, piece.len)
    if code == C_OBYTES:
        return _put_b64_value(p, piece.ptr, piece.len)
    if code == C_SBYTES:
        return _put_b64_value(p, src, _bytes_len(src, leaf.itemsize))
    return _put_ucs4_text(p, <const uint32_t*>src, _ucs4_len(<const uint32_t*>src, leaf.itemsize // 4))


cdef inline char* _put(char* p, const char* s, Py_ssize_t n) noexcept nogil:
    memcpy(p, s, n)
    return p + n


cdef inline char* _nonfinite(char* p, bint nan, bint negative, Leaf* leaf) noexcept nogil:
    if leaf.null_nonfinite:
        return _put(p, "null", 4)
    if leaf.quote:
        p[0] = b'"'
        p += 1
    if nan:
        p = _put(p, "NaN", 3)
    elif negative:
        p = _put(p, "-Infinity", 9)
    else:
        p = _put(p, "Infinity", 8)
    if leaf.quote:
        p[0] = b'"'
        p += 1
    return p


cdef char* _leaf(char* p, const char* src, Leaf* leaf) noexcept nogil:
    cdef double d = 0
    cdef float f = 0
    cdef uint16_t h = 0
    cdef int code = leaf.code
    if code >= C_OSTR:
        return _text_leaf(p, src, leaf)
    if code == C_F32:
        f = (<const float*>src)[0]
        if not isfinite(f):
            return _nonfinite(p, isnan(f), f < 0, leaf)
    elif code == C_F64:
        d = (<const double*>src)[0]
        if not isfinite(d):
            return _nonfinite(p, isnan(d), d < 0, leaf)
    elif code == C_F16:
        h = (<const uint16_t*>src)[0]
        if (h & 0x7C00) == 0x7C00:
            return _nonfinite(p, (h & 0x3FF) != 0, (h & 0x8000) != 0, leaf)
    if leaf.quote:
        p[0] = b'"'
        p += 1
    if code == C_F32:
        p += write_f32(f, p)
    elif code == C_F64:
        p += write_f64(d, p)
    elif code == C_F16:
        p += write_f16(h, p)
    elif code == C_I8:
        p += write_i64((<const int8_t*>src)[0], p)
    elif code == C_I16:
        p += write_i64((<const int16_t*>src)[0], p)
    elif code == C_I32:
        p += write_i64((<const int32_t*>src)[0], p)
    elif code == C_I64:
        p += write_i64((<const int64_t*>src)[0], p)
    elif code == C_U8:
        p += write_u64((<const uint8_t*>src)[0], p)
    elif code == C_U16:
        p += write_u64((<const uint16_t*>src)[0], p)
    elif code == C_U32:
        p += write_u64((<const uint32_t*>src)[0], p)
    elif code == C_U64:
        p += write_u64((<const uint64_t*>src)[0], p)
    else:  # C_BOOL
        if (<const uint8_t*>src)[0]:
            p = _put(p, "true", 4)
        else:
            p = _put(p, "false", 5)
    if leaf.quote:
        p[0] = b'"'
        p += 1
    return p


cdef char* _empty_lists(char* p, const Py_ssize_t* dims, int ndim) noexcept nogil:
    """Brackets of an array with no elements: ``[]``, ``[[],[]]``, ..."""
    cdef Py_ssize_t i
    p[0] = b'['
    p += 1
    if ndim > 1:
        for i in range(dims[0]):
            if i:
                p[0] = b','
                p += 1
            p = _empty_lists(p, dims + 1, ndim - 1)
    p[0] = b']'
    return p + 1


cdef inline char* _row(char* p, const char* data, Py_ssize_t itemsize, Py_ssize_t n, Leaf* leaf) noexcept nogil:
    """``n`` elements at ``data``, comma-separated (float32 without the generic dispatch)."""
    cdef Py_ssize_t j
    cdef float f
    if leaf.code == C_F32 and not leaf.quote:
        for j in range(n):
            if j:
                p[0] = b','
                p += 1
            f = (<const float*>data)[j]
            if isfinite(f):
                p += write_f32(f, p)
            else:
                p = _leaf(p, <const char*>(data + j * 4), leaf)
        return p
    for j in range(n):
        if j:
            p[0] = b','
            p += 1
        p = _leaf(p, data + j * itemsize, leaf)
    return p


cdef char* _nested(char* p, const char* data, Py_ssize_t itemsize, const Py_ssize_t* dims, int ndim,
                   Py_ssize_t count, Py_ssize_t* idx, Leaf* leaf) noexcept nogil:
    """``count`` elements at ``data`` (C order, shape ``dims``) as nested JSON lists, written a
    row (the last axis) at a time; ``idx`` counts the rows done at each outer level."""
    cdef Py_ssize_t r, inner, rows
    cdef int k, closed
    if ndim == 0:
        return _leaf(p, data, leaf)
    if count == 0:
        return _empty_lists(p, dims, ndim)
    for k in range(ndim):
        idx[k] = 0
        p[0] = b'['
        p += 1
    inner = dims[ndim - 1]
    rows = count // inner
    for r in range(rows):
        p = _row(p, data + r * inner * itemsize, itemsize, inner, leaf)
        p[0] = b']'
        p += 1
        if ndim == 1:
            break
        closed = 1
        k = ndim - 2
        idx[k] += 1
        while idx[k] == dims[k]:  # carry: close every level this row completed
            p[0] = b']'
            p += 1
            closed += 1
            if k == 0:
                break
            idx[k] = 0
            k -= 1
            idx[k] += 1
        if k == 0 and idx[0] == dims[0]:
            break
        p[0] = b','
        p += 1
        while closed > 0:
            p[0] = b'['
            p += 1
            closed -= 1
    return p


cdef Py_ssize_t _list_count(tuple dims):
    """How many lists the nested text of one instance of shape ``dims`` has."""
    cdef Py_ssize_t total = 0, level = 1
    cdef object d
    for d in dims:
        total += level
        level *= d
    return total


# encode_body's options as the rules list them (checked here first: the rule words the error)
cdef tuple _VALUE_FORMS = tuple(rules.VALUE_FORMS)
cdef tuple _NONFINITE_POLICIES = tuple(rules.NONFINITE_POLICIES)
cdef tuple _FLOAT_FORMATS = tuple(rules.numtext.FLOAT_FORMATS)
# the row form's keys (those rules.check_key accepts and that are not columnar) and their heads
cdef dict _ROW_HEADS = {}
cdef str _row_key
for _row_key in rules.COLUMNAR_KEYS:
    _ROW_HEADS[_row_key] = b'{"' + _row_key.encode("ascii") + b'":['


def encode_body(key, columns, *, bare, value_form, nonfinite="token", urlsafe=True, pad=True,
                float_format="shortest", parameters=None):
    """The body ``{"<key>": [...]}`` for ``columns``, a list of ``(name, array)`` whose arrays share
    their first (instance) axis; ``bare`` writes each instance as the value of the one column.
    The columnar keys ``"inputs"``/``"outputs"`` take one instance and write it without the list:
    ``{"inputs": <instance>}``.  ``parameters`` (not None) is written after the values."""
    cdef object names, head, name, _
    cdef bint columnar
    if not (value_form in _VALUE_FORMS and nonfinite in _NONFINITE_POLICIES and float_format in _FLOAT_FORMATS):
        rules.check_encode_options(value_form, nonfinite, float_format)  # raises, naming the option
    # equal to one of the names: a str subclass (numpy.str_) is taken as its str, as the reference does
    value_form, nonfinite, float_format = str(value_form), str(nonfinite), str(float_format)
    head = _ROW_HEADS.get(key) if type(key) is str else None
    if head is not None:
        columnar = False
    else:
        columnar = rules.check_key(key, columns)
        head = b'{"' + key.encode("ascii") + (b'":' if columnar else b'":[')
    if type(columns) is not list:
        columns = list(columns)
    if bare:
        names = None
    else:
        names = []
        for name, _ in columns:
            names.append(_name_json(name))
    if value_form == "tensor":
        return _encode_tensors(head, names, columns, urlsafe, pad, columnar, parameters)
    return _encode_values(head, names, columns, value_form, nonfinite, float_format, columnar, parameters)


cdef bytes _tail(bint columnar, object parameters):
    """What follows the values: ``]`` (row form), the parameters member, ``}``."""
    if parameters is None:
        return b"}" if columnar else b"]}"
    cdef bytes members = rules.parameters_text(parameters)
    return (b"" if columnar else b"]") + members + b"}"


cdef bytes _name_json(object name):
    """``rules.name_text(name)``: a name of printable ASCII other than ``"`` and ``\\`` is its own
    JSON text between quotes (what ``json.dumps`` writes for it); any other goes to the rule."""
    if (type(name) is str and (<str>name).isascii() and (<str>name).isprintable() and '"' not in <str>name
            and "\\" not in <str>name):
        return b'"' + (<str>name).encode("ascii") + b'"'
    return rules.name_text(name)


cdef object _encode_tensors(bytes head, names, list columns, bint urlsafe, bint pad, bint columnar, object parameters):
    """SERIALIZED_TF_TENSORS: straight from the arrays' buffers when every column allows it
    (:func:`_tensor_column`), else through ``encode_tensor`` and ``b64encode`` per value."""
    cdef Py_ssize_t c, ncol = len(columns), count = len(columns[0][1])
    cdef _Layout layout
    if names is None and ncol != 1:  # bare: the reference encodes every column, writes the first
        return _encode_tensors_generic(head, names, columns, urlsafe, pad, columnar, parameters)
    layout = _Layout(names, ncol, 0)
    for c in range(ncol):
        if not _tensor_column(layout, c, columns[c][1], count):
            return _encode_tensors_generic(head, names, columns, urlsafe, pad, columnar, parameters)
    return _encode_tensors_direct(head, layout, count, urlsafe, pad, _tail(columnar, parameters))


cdef object _encode_tensors_generic(bytes head, names, list columns, bint urlsafe, bint pad, bint columnar,
                                    object parameters):
    """Any dtype encode_tensor takes: one TensorProto, then its base64, per value; joined once."""
    cdef Py_ssize_t i, c, count = len(columns[0][1])
    cdef list parts = [head]
    cdef list values
    cdef object column
    for i in range(count):
        if i:
            parts.append(b",")
        values = []
        for column in columns:
            values.append(b64encode(encode_tensor(column[1][i, ...]), urlsafe=urlsafe, pad=pad))
        if names is None:
            parts += [b'"', values[0], b'"']
            continue
        for c in range(len(values)):
            parts += [b"{" if c == 0 else b",", names[c], b':"', values[c], b'"']
        parts.append(b"}")
    parts.append(_tail(columnar, parameters))
    return b"".join(parts)


cdef object _MISSING = object()
cdef dict _TENSOR_DTYPES = {}  # numpy dtype -> (DataType, little-endian dtype), or None: no direct path
cdef int _TENSOR_DTYPES_MAX = 64  # dtypes remembered (the numeric ones, both byte orders, fit)
cdef int F_CONTENT = _dtypes.F_CONTENT


cdef object _tensor_dtype(object dt):
    """``(DataType, little-endian dtype)`` when an instance of ``dt``'s serialized tensor is a
    header plus the raw little-endian bytes (a numeric dtype on a little-endian host: the
    ``tf.io.serialize_tensor`` form), else None; looked up once per dtype."""
    cdef object entry = _TENSOR_DTYPES.get(dt, _MISSING)
    cdef object le, datatype
    if entry is not _MISSING:
        return entry
    entry = None
    if _LITTLE_ENDIAN_HOST and dt.kind in "biufc" and dt.names is None:
        le = dt.newbyteorder("<")
        datatype = _dtypes.datatype_of(le)
        if datatype is not None:
            entry = (datatype, le)
    if len(_TENSOR_DTYPES) < _TENSOR_DTYPES_MAX:
        _TENSOR_DTYPES[dt] = entry
    return entry


cdef bint _tensor_column(_Layout layout, Py_ssize_t c, object array, Py_ssize_t count) except -1:
    """Set up column ``c`` to write each of the ``count`` instances of ``array`` as the base64 of
    header + the instance's bytes, read from the array's buffer (taken here, released with the
    layout); the header, the same for every instance, is written once, in C.  False when that
    form does not apply (:func:`_tensor_dtype`), or the column does not have ``count`` instances
    (the generic path then fails as the reference does)."""
    cdef Column* col = &layout.cols[c]
    cdef Py_buffer* view = &layout.views[c]
    cdef object entry = _tensor_dtype(array.dtype), a
    cdef Py_ssize_t per, size
    cdef int k
    cdef unsigned char* p
    if entry is None:
        return False
    a = np.ascontiguousarray(array, dtype=entry[1])  # the array itself when it is already so
    if a.ndim == 0 or len(a) != count:
        return False
    PyObject_GetBuffer(a, view, PyBUF_C_CONTIGUOUS)
    layout.nviews = c + 1  # columns are set up in order
    per = view.itemsize
    for k in range(1, view.ndim):
        per *= view.shape[k]
    size = tensor_header_size(<int>entry[0], view.shape + 1, view.ndim - 1)
    if per:
        size += wire_len_field_size(F_CONTENT, per) - per
    if size > TENSOR_HEADER_MAX:  # cannot happen for rank <= 64 (see TENSOR_HEADER_MAX)
        raise AssertionError(f"tensorwire: TensorProto header of {size} bytes (a bug)")
    p = tensor_header_write(col.header_buf, <int>entry[0], view.shape + 1, view.ndim - 1)
    if per:
        p = wire_write_len_prefix(p, F_CONTENT, per)
    col.tensor = True
    col.header = col.header_buf
    col.header_len = p - col.header_buf
    col.data = <const unsigned char*>view.buf
    col.stride = per
    return True


cdef char* _put_b64_tensor(char* p, const unsigned char* header, Py_ssize_t hl, const unsigned char* data,
                           Py_ssize_t per, bint urlsafe, bint pad) noexcept nogil:
    """``"`` + base64(header + data[:per]) + ``"``, the base64 written straight from ``data``.

    The header and the first bytes of data that bring it to a multiple of 3 go through a small
    buffer; base64 of a multiple of 3 bytes has no padding, so the rest can follow on its own."""
    cdef unsigned char lead[16]  # the header's last 1-2 bytes and up to 2 of the data
    cdef Py_ssize_t whole = hl - hl % 3, k = (3 - hl % 3) % 3, rest
    p[0] = b'"'
    p += 1
    if k > per:
        k = per
    p += b64_encode_into(header, whole, p, urlsafe, False)
    memcpy(lead, header + whole, hl - whole)
    memcpy(lead + (hl - whole), data, k)
    rest = per - k
    p += b64_encode_into(lead, hl - whole + k, p, urlsafe, pad if rest == 0 else False)
    if rest:
        p += b64_encode_into(data + k, rest, p, urlsafe, pad)
    p[0] = b'"'
    return p + 1


cdef object _encode_tensors_direct(bytes head, _Layout layout, Py_ssize_t count, bint urlsafe, bint pad, bytes tail):
    """One pass: each value's base64 written from the array's buffer into one exact-size bytes."""
    cdef Py_ssize_t c, total
    cdef Column* col
    cdef object out
    cdef char* start
    cdef char* p
    total = len(head) + len(tail) + (count - 1 if count else 0) + (count if layout.named else 0)  # commas, braces
    for c in range(layout.ncol):
        col = &layout.cols[c]
        total += count * (b64_encoded_size(col.header_len + col.stride, pad) + 2 + col.name_len + (2 if layout.named else 0))
    out = PyBytes_FromStringAndSize(NULL, total)
    start = PyBytes_AS_STRING(out)
    _huge_pages(start, total)
    p = _put(start, PyBytes_AS_STRING(head), len(head))
    with nogil:
        p = _write_instances(p, layout, count, urlsafe, pad)
    p = _put(p, PyBytes_AS_STRING(tail), len(tail))
    if p - start != total:
        raise AssertionError(f"tensorwire: SERIALIZED_TF_TENSORS body sized {total}, written {p - start} (a bug)")
    return out


cdef int _object_kind(object name, object array, object a) except -1:
    """C_OSTR or C_OBYTES: the kind of object array ``array`` (``a``: it, C-contiguous) when it
    holds str only or bytes only (str when empty); otherwise ``rules.text_kind`` raises the
    reference's TypeError."""
    cdef PyObject** items = _object_items(a)
    cdef Py_ssize_t j, n = a.size
    cdef int found = 0, this
    for j in range(n):
        if _is_str(items[j]):
            this = C_OSTR
        elif _is_bytes(items[j]):
            this = C_OBYTES
        else:
            this = 0
        if this == 0 or (found != 0 and this != found):
            rules.text_kind(name, array)
            raise AssertionError(f"tensorwire: input {name!r}: text_kind found no fault at {j} (a bug)")
        found = this
    return found if found else C_OSTR


cdef char* _reserve(PyObject** out, Py_ssize_t* cap, char* p, Py_ssize_t need) except NULL:
    """``p`` in the bytes ``out[0]`` (its only reference) with room for ``need`` more bytes: the
    bytes grown in place (doubling) if not."""
    cdef Py_ssize_t off = p - _bytes_data(out[0]), size = cap[0]
    if off + need <= size:
        return p
    while off + need > size:
        size *= 2
    _PyBytes_Resize(out, size)  # on failure it released the object (out[0] NULL) and raised
    cap[0] = size
    return _bytes_data(out[0]) + off


cdef int _fit(PyObject** out, Py_ssize_t size) except -1:
    """The bytes ``out[0]`` (its only reference, made larger than needed) cut to its first
    ``size`` bytes.  It keeps its block (a shorter length, its NUL moved) when at least half of
    the block is used, and is shrunk by realloc only when more is spare: glibc serves a block
    above its mmap threshold (128 KiB at first) with fresh pages and, when such a block is freed,
    raises the threshold to its size; shrinking every body left the threshold below the next
    call's estimate, so each call of a plain loop faulted in every page of its body (10,000
    strings: 200 us per call against 60 us; docs/json-general.md).  Kept whole, the block freed
    is the size the next call asks for, which then comes from the heap."""
    cdef Py_ssize_t block = _bytes_size(out[0])
    if size * 2 >= block:
        _set_size(out[0], size)
        _bytes_data(out[0])[size] = 0
        return 0
    _PyBytes_Resize(out, size)  # on failure it released the object (out[0] NULL) and raised
    return 0


cdef object _encode_str_objects(bytes head, object names, object name, object array, bint columnar,
                                object parameters):
    """One column, an object array of str with one string per instance: each string's UTF-8
    escaped straight into the body (a bytes grown in place) as it is met, one visit per string.
    The checks the reference makes first (every element a str: ``rules.text_kind``) and its
    error (a lone surrogate: ``rules.string_text``) are worded by the rules."""
    cdef object a = np.ascontiguousarray(array), conv, tail, out
    cdef PyObject** items = _object_items(a)
    cdef Py_ssize_t j, n = len(a), size = 0, bad = -1, cap, name_len = 0, need = 0
    cdef const char* name_text = NULL
    cdef const char* u8
    cdef PyObject* x
    cdef PyObject* raw
    cdef int status
    cdef bytes result
    cdef char* p
    if names is not None:
        name_text = PyBytes_AS_STRING(names[0])
        name_len = len(names[0])
    cap = len(head) + n * (32 + name_len) + 64  # grown (doubling) if the strings are longer
    out = PyBytes_FromStringAndSize(NULL, cap)
    raw = <PyObject*>out
    Py_INCREF(out)
    out = None  # ``raw`` holds the only reference (grown and shrunk in place), released on error
    try:
        p = _put(_bytes_data(raw), PyBytes_AS_STRING(head), len(head))
        j = 0
        while j < n:
            # the run of exact str that fit the room, in C; then the item that stopped it, here
            status = _put_str_items(&p, _bytes_data(raw) + cap, items, &j, n, name_text, name_len, &need)
            if status == _ITEMS_DONE:
                break
            x = items[j]
            if status == _ITEMS_ROOM:
                p = _reserve(&raw, &cap, p, need)
                continue
            if status == _ITEMS_NO_UTF8:
                _err_clear()
                bad = j
                break
            if not _is_str(x):
                rules.text_kind(name, array)
                raise AssertionError(f"tensorwire: input {name!r}: text_kind found no fault at {j} (a bug)")
            # a str subclass: the reference writes str(x)
            conv = str(<object>x)
            u8 = _utf8_and_size(<PyObject*>conv, &size)
            if u8 == NULL:
                _err_clear()
                bad = j
                break
            p = _reserve(&raw, &cap, p, _TEXT_ROOM(size) + name_len + 4)
            if j:
                p[0] = b','
                p += 1
            if name_len:
                p[0] = b'{'
                p = _put(p + 1, name_text, name_len)
                p[0] = b':'
                p += 1
            p = _put_utf8_text(p, <const unsigned char*>u8, size)
            if name_len:
                p[0] = b'}'
                p += 1
            j += 1
        if bad >= 0:  # past a lone surrogate only the kinds are checked (the reference's order)
            for j in range(bad + 1, n):
                if not _is_str(items[j]):
                    rules.text_kind(name, array)
                    raise AssertionError(f"tensorwire: input {name!r}: text_kind found no fault at {j} (a bug)")
        if bad >= 0:
            rules.string_text(name, str(a[bad]))
            raise AssertionError(f"tensorwire: input {name!r}: string {bad} found no fault (a bug)")
        tail = _tail(columnar, parameters)
        p = _reserve(&raw, &cap, p, len(tail))
        p = _put(p, PyBytes_AS_STRING(tail), len(tail))
        _fit(&raw, p - _bytes_data(raw))
    except BaseException:
        _xdecref(raw)
        raise
    result = <bytes>raw
    Py_DECREF(result)  # raw's reference (``result`` holds its own)
    return result


cdef object _encode_values(bytes head, names, list columns, str value_form, str nonfinite, str float_format,
                           bint columnar, object parameters):
    """The number value forms and the general body ("json"): every value written from the
    arrays' buffers into one bytes sized for the longest text (numbers) or the exact text (str
    and bytes: their UTF-8 and base64 are measured first), shrunk in place at the end.

    Errors come in the reference's order: per column its kind and numbers; then, by instance
    and column, a str UTF-8 cannot hold or an instance a column lacks; then the parameters."""
    cdef bint json_form = value_form == "json", quote = value_form == "string"
    cdef Py_ssize_t ncol = len(columns), nwrite, c, j, n, k, count, maxdim = 1, total, size = 0, per, limit
    cdef Py_ssize_t err_i, err_c, err_j = -1, bad, leaves, itemsize
    cdef list codes = [], dts = [], arrays = [], keep = []
    cdef object name, array, dt, a, kind, piece_buf, out, conv, _
    cdef bytes tail
    cdef int code
    cdef Piece* pieces
    cdef PyObject** items
    cdef PyObject* x
    cdef const char* u8
    cdef const char* data
    cdef _Layout layout
    cdef Column* col
    cdef char* start
    cdef char* p
    if json_form and ncol == 1:  # one column of str, one per instance: the one-visit writer
        name, array = columns[0]
        if (array.dtype.kind == "O" and array.ndim == 1 and len(array) and _is_str(<PyObject*>array[0])):
            return _encode_str_objects(head, names, name, array, columnar, parameters)
    # the reference's checks, in its order: per column, the kind of its leaves ("json"), then its numbers
    for name, array in columns:
        code = 0
        dt = None
        a = None
        if json_form:
            kind = array.dtype.kind
            if kind == "U":
                code = C_USTR
            elif kind == "S":
                code = C_SBYTES
            elif kind == "O":
                a = np.ascontiguousarray(array)
                code = _object_kind(name, array, a)
        if code == 0:
            dt = rules.check_numbers(name, array, nonfinite)
            if float_format == "tolist" and dt.kind == "f":
                dt = np.dtype(np.float64)
            code = _code(dt)
        codes.append(code)
        dts.append(dt)
        arrays.append(a)
    count = len(columns[0][1])
    nwrite = 1 if names is None else ncol  # bare: the first column's values (every column is checked)
    for c in range(nwrite):
        maxdim = max(maxdim, columns[c][1].ndim)
    layout = _Layout(names, nwrite, maxdim)
    layout.keep.append(keep)
    total = len(head) + (count - 1 if count else 0) + (2 * count if names is not None else 0)
    err_i, err_c = count, ncol  # the first failing (instance, column), if any
    for c in range(ncol):
        name, array = columns[c]
        code = codes[c]
        # instance ``limit`` is the first the column lacks (the reference's array[i, ...] fails)
        limit = 0 if array.ndim == 0 else min(len(array), count)
        if limit < count and (limit, c) < (err_i, err_c):
            err_i, err_c, err_j = limit, c, -1
        a = arrays[c] if arrays[c] is not None else array
        a = a[:limit] if a.ndim else a.reshape(1)[:0]
        if code == C_USTR:
            a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
        elif code == C_SBYTES or code == C_OSTR or code == C_OBYTES:
            a = np.ascontiguousarray(a)
        elif a.dtype != dts[c] and dts[c].kind == "f":  # float_format="tolist": float64
            with np.errstate(invalid="ignore"):  # a signaling NaN is NaN, as the reference's tolist() has it
                a = np.ascontiguousarray(a, dtype=dts[c])
        else:
            a = np.ascontiguousarray(a, dtype=dts[c])
        arrays[c] = a
        keep.append(a)
        n = a.size
        per = n // limit if limit else 0
        itemsize = a.itemsize
        data = <const char*><size_t>a.ctypes.data
        bad = -1
        leaves = 0  # the leaves' text: exact for str and bytes, an upper bound for numbers
        if code == C_OSTR or code == C_OBYTES:
            piece_buf = PyBytes_FromStringAndSize(NULL, (n if n else 1) * sizeof(Piece))
            keep.append(piece_buf)
            pieces = <Piece*>PyBytes_AS_STRING(piece_buf)
            items = <PyObject**>data
            for j in range(n):
                x = items[j]
                if code == C_OSTR:
                    if not _is_exact_str(x):  # the reference writes str(x)
                        conv = str(<object>x)
                        keep.append(conv)
                        x = <PyObject*>conv
                    u8 = _utf8_and_size(x, &size)
                    if u8 == NULL:  # a lone surrogate: the rule words it below
                        _err_clear()
                        bad = j
                        break
                    pieces[j].ptr = u8
                    pieces[j].len = size
                    # a short string's bound (every byte a \u00xx) costs less than measuring it
                    leaves += 6 * size + 2 if size <= 64 else _utf8_text_size(<const unsigned char*>u8, size)
                else:
                    if not _is_exact_bytes(x):  # the reference writes bytes(x)
                        conv = bytes(<object>x)
                        keep.append(conv)
                        x = <PyObject*>conv
                    pieces[j].ptr = _bytes_data(x)
                    pieces[j].len = _bytes_size(x)
                    leaves += _b64_value_size(pieces[j].len)
            data = <const char*>pieces
            itemsize = sizeof(Piece)
        elif code == C_USTR:
            for j in range(n):
                size = _ucs4_text_size(<const uint32_t*>(data + j * itemsize),
                                       _ucs4_len(<const uint32_t*>(data + j * itemsize), itemsize // 4))
                if size < 0:
                    bad = j
                    break
                leaves += size
        elif code == C_SBYTES:
            for j in range(n):
                leaves += _b64_value_size(_bytes_len(data + j * itemsize, itemsize))
        else:
            leaves = (NUMFMT_MAX_CHARS + 3) * n
        if bad >= 0 and (bad // per, c) < (err_i, err_c):
            err_i, err_c, err_j = bad // per, c, bad
        if c >= nwrite:
            continue
        col = &layout.cols[c]
        col.leaf.code = code
        col.leaf.quote = quote
        col.leaf.null_nonfinite = nonfinite == "null"
        col.leaf.itemsize = a.itemsize
        col.data = <const unsigned char*>data
        col.itemsize = itemsize
        col.per = per
        col.stride = per * itemsize
        col.ndim = a.ndim - 1
        col.dims = layout.dims + c * maxdim
        for k in range(a.ndim - 1):
            layout.dims[c * maxdim + k] = a.shape[k + 1]
        total += leaves + n + limit * (3 * _list_count(a.shape[1:]) + 8 + col.name_len + 3)
    if err_c < ncol:
        name, array = columns[err_c]
        if err_j >= 0:
            rules.string_text(name, str(arrays[err_c].reshape(-1)[err_j]))
        else:
            _ = array[err_i, ...]
        raise AssertionError(f"tensorwire: input {name!r}: instance {err_i} found no fault (a bug)")
    tail = _tail(columnar, parameters)
    total += len(tail)
    out = PyBytes_FromStringAndSize(NULL, total)
    start = PyBytes_AS_STRING(out)
    _huge_pages(start, total)
    p = _put(start, PyBytes_AS_STRING(head), len(head))
    with nogil:
        p = _write_instances(p, layout, count, False, False)
    p = _put(p, PyBytes_AS_STRING(tail), len(tail))
    if p - start > total:
        raise AssertionError(f"tensorwire: JSON body sized {total}, written {p - start} (a bug)")
    # Cut to size (_fit): _PyBytes_Resize needs the only reference, so ``raw`` takes it over.
    cdef PyObject* raw = <PyObject*>out
    cdef bytes result
    Py_INCREF(out)
    out = None
    _fit(&raw, p - start)
    result = <bytes>raw
    Py_DECREF(result)  # raw's reference (``result`` holds its own)
    return result


cdef extern from "jsonbody_pages.h":
    # Transparent huge pages for the interior of a large buffer about to be filled (advisory).
    void _huge_pages "tw_huge_pages"(char* p, Py_ssize_t n) nogil


# A TensorProto header (dtype, shape, tensor_content's tag and length) of rank <= 64 takes at
# most 6 + 11 + 64 * 13 + 11 = 860 bytes (varints of at most 10 bytes).
cdef enum:
    TENSOR_HEADER_MAX = 1024


cdef struct Column:
    const char* name  # the name's JSON text (named instances only)
    Py_ssize_t name_len
    const unsigned char* data  # instance 0's values; instance i's start i * stride bytes later
    Py_ssize_t stride
    bint tensor  # SERIALIZED_TF_TENSORS: base64 of header + the instance's bytes
    const unsigned char* header
    Py_ssize_t header_len
    unsigned char header_buf[TENSOR_HEADER_MAX]  # where ``header`` points
    Leaf leaf  # the number value forms: nested lists of ``per`` elements of shape ``dims``
    Py_ssize_t itemsize, per
    const Py_ssize_t* dims
    int ndim


@cython.auto_pickle(False)
cdef class _Layout:
    """The C view of the columns being written: pointers into arrays and bytes kept alive here."""

    cdef Column* cols
    cdef Py_ssize_t* dims
    cdef Py_ssize_t* idx
    cdef Py_buffer* views  # the arrays' buffers a tensor column reads (views[:nviews] are held)
    cdef Py_ssize_t nviews
    cdef Py_ssize_t ncol
    cdef bint named
    cdef list keep

    def __cinit__(self, names, Py_ssize_t ncol, Py_ssize_t maxdim):
        cdef Py_ssize_t c
        self.cols = <Column*>calloc(ncol, sizeof(Column))
        self.dims = <Py_ssize_t*>calloc(ncol * maxdim + 1, sizeof(Py_ssize_t))
        self.idx = <Py_ssize_t*>calloc(maxdim + 1, sizeof(Py_ssize_t))
        self.views = <Py_buffer*>calloc(ncol + 1, sizeof(Py_buffer))
        if not (self.cols and self.dims and self.idx and self.views):
            raise MemoryError()
        self.ncol = ncol
        self.named = names is not None
        self.keep = [names]
        if self.named:
            for c in range(ncol):
                self.cols[c].name = PyBytes_AS_STRING(names[c])
                self.cols[c].name_len = len(names[c])

    def __dealloc__(self):
        cdef Py_ssize_t c
        for c in range(self.nviews):
            PyBuffer_Release(&self.views[c])
        free(self.views)
        free(self.cols)
        free(self.dims)
        free(self.idx)


cdef char* _write_instances(char* p, _Layout layout, Py_ssize_t count, bint urlsafe, bint pad) noexcept nogil:
    """Every instance (``{"name":value,...}``, or the bare value), comma-separated."""
    cdef Py_ssize_t i, c
    cdef Column* col
    for i in range(count):
        if i:
            p[0] = b','
            p += 1
        for c in range(layout.ncol):
            col = &layout.cols[c]
            if layout.named:
                p[0] = b'{' if c == 0 else b','
                p = _put(p + 1, col.name, col.name_len)
                p[0] = b':'
                p += 1
            if col.leaf.code == C_OSTR and col.ndim == 0:  # a str value: without the nested dispatch
                p = _put_utf8_text(p, <const unsigned char*>(<const Piece*>(col.data + i * col.stride)).ptr,
                                   (<const Piece*>(col.data + i * col.stride)).len)
            elif col.tensor:
                p = _put_b64_tensor(p, col.header, col.header_len, col.data + i * col.stride, col.stride, urlsafe, pad)
            else:
                p = _nested(p, <const char*>(col.data + i * col.stride), col.itemsize, col.dims, col.ndim, col.per,
                            layout.idx, &col.leaf)
        if layout.named:
            p[0] = b'}'
            p += 1
    return p


# ------------------------------------------------------------------------------------- reading

cdef enum:
    T_NONE = 0
    T_NUMBER
    T_TRUE
    T_FALSE
    T_NULL
    T_NAN
    T_INF
    T_NINF
    NF_TOKEN = 0
    NF_NULL = 1
    NF_ERROR = 2


cdef bint _NUMBER_CHAR[256]  # 0-9 . e E + -; filled once at import, read-only after
cdef int _c
for _c in range(256):
    _NUMBER_CHAR[_c] = bytes([_c]) in b"0123456789.eE+-"


cdef inline bint _digit(int c) noexcept nogil:
    return 0x30 <= c <= 0x39


cdef inline bint _hex(int c) noexcept nogil:
    return _digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


cdef inline int _hex4(const unsigned char* p) noexcept nogil:
    cdef int v = 0, i, c
    for i in range(4):
        c = p[i]
        v = v * 16 + (c - 0x30 if c <= 0x39 else (c - 0x37 if c <= 0x46 else c - 0x57))
    return v


cdef extern from "jsonbody_scan.h":
    # The first offset from pos holding '"', a backslash or a control character (or n); sets
    # high[0] when a byte before it is not ASCII.  AVX-512 or portable (see jsonbody_cpu.h).
    Py_ssize_t _plain_span "tw_jb_plain_span"(const unsigned char* s, Py_ssize_t pos, Py_ssize_t n,
                                              int* high) noexcept nogil


cdef inline Py_ssize_t _plain_run(const unsigned char* s, Py_ssize_t pos, Py_ssize_t n) noexcept nogil:
    """The first offset from ``pos`` holding ``"``, a backslash or a control character (or ``n``)."""
    cdef int high = 0
    return _plain_span(s, pos, n, &high)


cdef Py_ssize_t _utf8_error(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Offset of the first byte that is not valid UTF-8 (RFC 3629, as Python's strict codec), or -1."""
    cdef Py_ssize_t i = 0
    cdef uint64_t word = 0
    cdef int c, need, lo, hi, k
    cdef uint64_t w[4]
    while i < n:
        c = s[i]
        if c < 0x80:  # ASCII: tried in blocks (not at a multi-byte character: text is often all such)
            if i + 32 <= n:  # 32 ASCII bytes at a time: the common case by far
                memcpy(w, s + i, 32)
                if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) == 0:
                    i += 32
                    continue
            if i + 8 <= n:
                memcpy(&word, s + i, 8)
                if (word & 0x8080808080808080ULL) == 0:
                    i += 8
                    continue
            i += 1
            continue
        if (0xE1 <= c <= 0xEF and c != 0xED and i + 2 < n and (s[i + 1] & 0xC0) == 0x80
                and (s[i + 2] & 0xC0) == 0x80):  # a three-byte character with no special range (CJK)
            i += 3
            continue
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= c <= 0xDF:
            need = 1
        elif 0xE0 <= c <= 0xEF:
            need = 2
            if c == 0xE0:
                lo = 0xA0
            elif c == 0xED:
                hi = 0x9F
        elif 0xF0 <= c <= 0xF4:
            need = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F
        else:
            return i
        if i + 1 >= n or not lo <= s[i + 1] <= hi:
            return i
        for k in range(2, need + 1):
            if i + k >= n or not 0x80 <= s[i + k] <= 0xBF:
                return i
        i += need + 1
    return -1


cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    void Py_IncRef(PyObject*)
    void Py_DecRef(PyObject*)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object)


cdef extern from "jsonbody_unescape.h":
    # The UTF-8 of a checked JSON string's content with its escapes replaced; n bytes of out suffice.
    Py_ssize_t _unescape "tw_jb_unescape"(const unsigned char* s, Py_ssize_t n, unsigned char* out) nogil


cdef object _unescaped_str(const unsigned char* s, Py_ssize_t n):
    """The str of the ``n`` content bytes of a string the lexer checked (``lx_string``) and found
    escaped: unescaped into UTF-8, then read as ``_utf8_str`` reads."""
    cdef unsigned char* out = <unsigned char*>malloc(n if n > 0 else 1)
    if out == NULL:
        raise MemoryError()
    try:
        return _utf8_str(out, _unescape(s, n, out))
    finally:
        free(out)


cdef int _move_objects(object out, PyObject** items, Py_ssize_t n) except -1:
    """Move ``n`` owned references into a fresh 1-d object array of ``n`` (its Nones dropped)."""
    cdef PyObject** slots = _object_items(out)
    cdef Py_ssize_t i
    for i in range(n):
        Py_DecRef(slots[i])
        slots[i] = items[i]


cdef object _utf8_str(const unsigned char* s, Py_ssize_t n):
    """The str of ``n`` bytes of valid UTF-8 (the body was checked whole): one pass for the
    length (bytes that are not continuation bytes) and the widest byte (which says the storage
    CPython's canonical form takes: < 0xC4 one byte, < 0xF0 two, else four), one pass decoding
    straight into the new str."""
    cdef Py_ssize_t i, k = 0, cont = 0
    cdef unsigned char top = 0, c
    cdef object text
    cdef Py_UCS1* d1
    cdef uint16_t* d2
    cdef Py_UCS4* d4
    for i in range(n):  # simple reductions: the compiler vectorizes them
        c = s[i]
        top = c if c > top else top
        cont += (c & 0xC0) == 0x80
    text = PyUnicode_New(n - cont, 0x7F if top < 0x80 else 0xFF if top < 0xC4 else 0xFFFF if top < 0xF0 else 0x10FFFF)
    i = 0
    if top < 0x80:
        memcpy(PyUnicode_DATA(text), s, n)
    elif top < 0xC4:
        d1 = <Py_UCS1*>PyUnicode_DATA(text)
        while i < n:
            c = s[i]
            if c < 0x80:
                d1[k] = c
                i += 1
            else:
                d1[k] = <Py_UCS1>(((c & 0x1F) << 6) | (s[i + 1] & 0x3F))
                i += 2
            k += 1
    elif top < 0xF0:
        d2 = <uint16_t*>PyUnicode_DATA(text)
        while i < n:
            c = s[i]
            if c < 0x80:
                d2[k] = c
                i += 1
            elif c < 0xE0:
                d2[k] = <uint16_t>(((c & 0x1F) << 6) | (s[i + 1] & 0x3F))
                i += 2
            else:
                d2[k] = <uint16_t>(((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F))
                i += 3
            k += 1
    else:
        d4 = <Py_UCS4*>PyUnicode_DATA(text)
        while i < n:
            c = s[i]
            if c < 0x80:
                d4[k] = c
                i += 1
            elif c < 0xE0:
                d4[k] = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F)
                i += 2
            elif c < 0xF0:
                d4[k] = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
                i += 3
            else:
                d4[k] = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F)
                i += 4
            k += 1
    return text


cdef enum Kind:
    # A "json" column's leaves so far (the shared ``rules.Column.kind``).
    K_NONE = 0
    K_INT       # int64 in the buffer
    K_FLOAT     # float32 in the buffer
    K_NUMBER    # numbers into the given dtype
    K_BOOL
    K_STR       # str: owned references in the buffer
    K_BYTES     # bytes: owned references in the buffer


cdef tuple _KIND_NAMES = (None, "int", "float", "number", "bool", "str", "bytes")


@cython.final  # cdef methods called directly (and inlined), not through a vtable
@cython.auto_pickle(False)  # never pickled; spares the "non-trivial __cinit__" stubs
cdef class _Col:
    """Per name: what the instances so far fix (as the shared ``rules.Column``) and the values."""

    cdef object name
    cdef object dtype
    cdef int code  # 0: TensorProto values (or a "json" column before its first number or bool)
    cdef Py_ssize_t* dims  # per level, -1 until the first list there closes
    cdef int ndim  # -1 until known
    cdef char* data  # the values so far (number value forms), a C buffer grown by doubling
    cdef Py_ssize_t itemsize, used, cap
    cdef list tensors
    cdef bint json  # value form "json": the kind is inferred from the leaves
    cdef Kind kind
    cdef int given_code  # "json": the given dtype's code (0: none given)
    cdef list negzero  # "json": where an integer -0 was read while the kind was int (-0.0 as float)

    def __cinit__(self, name, dtype, int levels, bint tensors, bint json=False):
        cdef int i
        self.name = name
        self.dtype = dtype
        self.json = json
        self.kind = K_NONE
        self.given_code = 0 if dtype is None or not json else _code(dtype)
        self.code = 0 if tensors or json else _code(dtype)
        self.dims = <Py_ssize_t*>malloc((levels + 1) * sizeof(Py_ssize_t))
        if not self.dims:
            raise MemoryError()
        for i in range(levels + 1):
            self.dims[i] = -1
        self.ndim = -1
        self.tensors = []
        self.negzero = []
        self.used = 0
        self.cap = 0
        self.itemsize = 0 if tensors or json else dtype.itemsize
        self.data = NULL

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.kind == K_STR or self.kind == K_BYTES:
            for i in range(self.used):
                Py_DecRef((<PyObject**>self.data)[i])
        free(self.dims)
        free(self.data)

    cdef int append(self, object item) except -1:
        """A str or bytes leaf (its reference kept in the buffer)."""
        cdef char* dst = self.slot()
        if dst == NULL:
            raise MemoryError()
        Py_INCREF(item)
        (<PyObject**>dst)[0] = <PyObject*>item
        return 0

    cdef char* slot(self) noexcept nogil:
        """Where the next value goes; NULL when out of memory."""
        cdef char* grown
        if self.used == self.cap:
            grown = <char*>realloc(self.data, max(64, 2 * self.cap) * self.itemsize)
            if grown == NULL:
                return NULL
            self.data = grown
            self.cap = max(64, 2 * self.cap)
        self.used += 1
        return self.data + (self.used - 1) * self.itemsize

    cdef void set_kind(self, Kind kind) noexcept nogil:
        """A "json" column's first leaf (no value stored yet): its kind and buffer layout."""
        self.kind = kind
        if kind == K_INT:
            self.code, self.itemsize = C_I64, 8
        elif kind == K_FLOAT:
            self.code, self.itemsize = C_F32, 4
        elif kind == K_BOOL:
            self.code, self.itemsize = C_BOOL, 1
        elif kind == K_NUMBER:
            self.code = self.given_code
            self.itemsize = _ITEMSIZE[self.given_code]
        elif kind == K_STR or kind == K_BYTES:
            self.code, self.itemsize = 0, sizeof(PyObject*)
        else:
            self.code, self.itemsize = 0, 0

    cdef int to_float(self) noexcept nogil:
        """The first non-integer number of an int column: the int64 values so far become
        float32 (the C conversion is correctly rounded, as reading their text as float32 is)."""
        cdef float* f = NULL
        cdef const int64_t* src = <const int64_t*>self.data
        cdef Py_ssize_t i
        if self.cap:
            f = <float*>malloc(self.cap * sizeof(float))
            if f == NULL:
                return -1
            for i in range(self.used):
                f[i] = <float>src[i]
        free(self.data)
        self.data = <char*>f
        self.kind = K_FLOAT
        self.code, self.itemsize = C_F32, 4
        return 0

    def finish(self, Py_ssize_t count):
        cdef list shape
        cdef object out, dt
        cdef int k
        cdef Py_ssize_t i
        if self.code == 0 and not self.json:
            return stack_tensors(self.tensors)
        shape = [count]
        for k in range(self.ndim):
            shape.append(self.dims[k])
        if self.json:
            if self.kind == K_STR or self.kind == K_BYTES:
                out = np.empty(self.used, dtype=object)
                _move_objects(out, <PyObject**>self.data, self.used)
                self.used = 0  # the references are the array's now
                return out.reshape(tuple(shape))
            if self.kind == K_NONE:
                dt = np.dtype(np.float32) if self.dtype is None else self.dtype
                return np.empty(tuple(shape), dtype=dt)
            dt = rules.KIND_DTYPES[_KIND_NAMES[self.kind]] if self.kind != K_NUMBER else self.dtype
        else:
            dt = self.dtype
        out = np.empty(tuple(shape), dtype=dt)
        if self.used:
            memcpy(<char*>(<size_t>out.ctypes.data), self.data, self.used * self.itemsize)
        if self.json and self.kind == K_FLOAT:
            for i in self.negzero:
                (<float*>(<size_t>out.ctypes.data))[i] = copysign(0.0, -1.0)
        return out


cdef enum Problem:
    # What the one pass met where it stopped (``_Reader.err``); ``_Reader.word`` has the
    # shared reader raise its exception for it, reading only what lies there.
    E_NONE = 0
    E_STRING        # err_pos: a string (or what should be one)
    E_COLON         # err_pos: where ':' belongs
    E_SEPARATOR     # err_pos: where ',' or err_close belongs
    E_DEPTH         # err_pos, err_depth: a container nested too deep
    E_TOKEN         # err_pos: a skipped member's number or literal, err_close after it
    E_OPEN_LIST     # err_pos, err_depth, err_level: a list where err_col has none
    E_CLOSE_LIST    # err_pos, err_level, err_length: a list of the wrong length
    E_LEAF_LEVEL    # err_pos, err_level: a number where err_col has a list
    E_LEAF          # err_pos: a number of err_col that is not one, or not followed by ',' or err_close
    E_MEMORY


cdef inline bint _integer(const unsigned char* s, Py_ssize_t pos, Py_ssize_t end) noexcept nogil:
    """Whether the number text ``s[pos:end]`` has neither a fraction nor an exponent."""
    cdef int c
    while pos < end:
        c = s[pos]
        if c == 0x2E or c == 0x65 or c == 0x45:
            return False
        pos += 1
    return True


cdef inline bint _digits(const unsigned char* s, Py_ssize_t* p, Py_ssize_t n) noexcept nogil:
    """Skip the digits at ``p[0]``; whether there was one."""
    cdef Py_ssize_t start = p[0]
    while p[0] < n and _digit(s[p[0]]):
        p[0] += 1
    return p[0] > start


cdef Py_ssize_t _number_end(const unsigned char* s, Py_ssize_t pos, Py_ssize_t n) noexcept nogil:
    """End of the longest JSON number at ``pos`` (the reference's ``numtext.NUMBER_RE``), or ``pos``."""
    cdef Py_ssize_t p = pos, q
    if p < n and s[p] == 0x2D:
        p += 1
    if p < n and s[p] == 0x30:
        p += 1
    elif not _digits(s, &p, n):
        return pos
    q = p + 1
    if p < n and s[p] == 0x2E and _digits(s, &q, n):
        p = q
    if p < n and (s[p] == 0x65 or s[p] == 0x45):
        q = p + 1
        if q < n and (s[q] == 0x2B or s[q] == 0x2D):
            q += 1
        if _digits(s, &q, n):
            p = q
    return p


cdef struct Lexer:
    # The body's bytes: what the lexer functions (``lx_*``) scan.
    const unsigned char* s
    Py_ssize_t n


# The lexer: scans of the body's bytes, without the GIL and without state beyond the offset
# (whitespace, a string, a number or literal, a ``{"b64": ...}`` object).  Each returns the
# offset after what it read, or -1 when no such token starts at ``pos``; the envelope and
# instance walk (``_Reader``) calls them and decides what a failure means.

cdef inline int lx_at(const Lexer* lx, Py_ssize_t pos) noexcept nogil:
    return lx.s[pos] if pos < lx.n else -1


cdef inline Py_ssize_t lx_ws(const Lexer* lx, Py_ssize_t pos) noexcept nogil:
    cdef int c
    while pos < lx.n:
        c = lx.s[pos]
        if c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            break
        pos += 1
    return pos


cdef Py_ssize_t lx_string(const Lexer* lx, Py_ssize_t pos, bint* escaped) noexcept nogil:
    """End of the valid JSON string at ``pos`` (surrogate escapes paired), or -1."""
    cdef int c, unit, low
    if lx_at(lx, pos) != 0x22:
        return -1
    pos += 1
    escaped[0] = False
    while True:
        pos = _plain_run(lx.s, pos, lx.n)
        c = lx_at(lx, pos)
        if c == 0x22:
            return pos + 1
        if c < 0x20:  # the end (-1) or a control character
            return -1
        if c != 0x5C:
            pos += 1
            continue
        escaped[0] = True
        c = lx_at(lx, pos + 1)
        if c == 0x75:
            if pos + 6 > lx.n or not (_hex(lx.s[pos + 2]) and _hex(lx.s[pos + 3])
                                      and _hex(lx.s[pos + 4]) and _hex(lx.s[pos + 5])):
                return -1
            unit = _hex4(lx.s + pos + 2)
            if 0xDC00 <= unit <= 0xDFFF:
                return -1
            if 0xD800 <= unit <= 0xDBFF:
                if (pos + 12 > lx.n or lx.s[pos + 6] != 0x5C or lx.s[pos + 7] != 0x75
                        or not (_hex(lx.s[pos + 8]) and _hex(lx.s[pos + 9])
                                and _hex(lx.s[pos + 10]) and _hex(lx.s[pos + 11]))):
                    return -1
                low = _hex4(lx.s + pos + 8)
                if not 0xDC00 <= low <= 0xDFFF:
                    return -1
                pos += 12
            else:
                pos += 6
        elif c == 0x22 or c == 0x5C or c == 0x2F or c == 0x62 or c == 0x66 or c == 0x6E or c == 0x72 or c == 0x74:
            pos += 2
        else:
            return -1


cdef Py_ssize_t lx_token(const Lexer* lx, Py_ssize_t pos, int* token_type) noexcept nogil:
    """End of the literal or JSON number at ``pos`` (the reference's ``literal``), or -1."""
    cdef Py_ssize_t p = pos
    cdef Py_ssize_t left = lx.n - pos
    cdef const char* t = <const char*>(lx.s + pos)
    cdef int c = lx_at(lx, pos)
    if not (_digit(c) or (c == 0x2D and _digit(lx_at(lx, pos + 1)))):  # else a number
        if left >= 4 and memcmp(t, b"true", 4) == 0:
            token_type[0] = T_TRUE
            return pos + 4
        if left >= 5 and memcmp(t, b"false", 5) == 0:
            token_type[0] = T_FALSE
            return pos + 5
        if left >= 4 and memcmp(t, b"null", 4) == 0:
            token_type[0] = T_NULL
            return pos + 4
        if left >= 3 and memcmp(t, b"NaN", 3) == 0:
            token_type[0] = T_NAN
            return pos + 3
        if left >= 8 and memcmp(t, b"Infinity", 8) == 0:
            token_type[0] = T_INF
            return pos + 8
        if left >= 9 and memcmp(t, b"-Infinity", 9) == 0:
            token_type[0] = T_NINF
            return pos + 9
    token_type[0] = T_NUMBER
    # The run of characters a number can hold.  The parser then takes exactly that run or
    # refuses it; the reference's longest grammatical prefix equals the run whenever the
    # run is a number, and otherwise leaves a number character where a ',' belongs.
    while p < lx.n and _NUMBER_CHAR[lx.s[p]]:
        p += 1
    return p if p > pos else -1


cdef Py_ssize_t lx_b64_object(const Lexer* lx, Py_ssize_t pos, Py_ssize_t* text_start) noexcept nogil:
    """End of a ``{"b64": "..."}`` object at ``pos`` (the shared reader's ``_B64_OBJECT``), or -1."""
    cdef int c
    if lx_at(lx, pos) != 0x7B:
        return -1
    pos = lx_ws(lx, pos + 1)
    if lx.n - pos < 5 or memcmp(lx.s + pos, b'"b64"', 5) != 0:
        return -1
    pos = lx_ws(lx, pos + 5)
    if lx_at(lx, pos) != 0x3A:
        return -1
    pos = lx_ws(lx, pos + 1)
    if lx_at(lx, pos) != 0x22:
        return -1
    text_start[0] = pos
    pos += 1
    while True:
        c = lx_at(lx, pos)
        if c == 0x22:
            break
        if c == 0x5C:
            c = lx_at(lx, pos + 1)
            if c < 0 or c == 0x0A:
                return -1
            pos += 2
        elif c < 0x20:
            return -1
        else:
            pos += 1
    pos = lx_ws(lx, pos + 1)
    return pos + 1 if lx_at(lx, pos) == 0x7D else -1


cdef bint lx_b64_first(const Lexer* lx, Py_ssize_t pos) noexcept nogil:
    """Whether an object whose first member is ``b64`` starts at ``pos`` (``_B64_FIRST``)."""
    if lx_at(lx, pos) != 0x7B:
        return False
    pos = lx_ws(lx, pos + 1)
    if lx.n - pos < 5 or memcmp(lx.s + pos, b'"b64"', 5) != 0:
        return False
    return lx_at(lx, lx_ws(lx, pos + 5)) == 0x3A


cdef Py_ssize_t lx_b64_value(const Lexer* lx, Py_ssize_t pos, Py_ssize_t* text_start, Py_ssize_t* text_end,
                             bint* escaped) noexcept nogil:
    """End of a ``{"b64": <valid string>}`` object at ``pos``, or -1; the string's span."""
    if not lx_b64_first(lx, pos):
        return -1
    pos = lx_ws(lx, lx_ws(lx, lx_ws(lx, pos + 1) + 5) + 1)
    text_start[0] = pos
    pos = lx_string(lx, pos, escaped)
    if pos < 0:
        return -1
    text_end[0] = pos
    pos = lx_ws(lx, pos)
    return pos + 1 if lx_at(lx, pos) == 0x7D else -1


@cython.final
@cython.auto_pickle(False)  # never pickled (its Lexer holds a pointer into the body)
cdef class _Reader:
    """One pass over a body; every method returns the offset after what it read, or -1 when the
    body is bad, having recorded what it met in ``err*`` (see ``word``)."""

    cdef Lexer lx  # the body
    cdef object mv, body_obj, checker
    cdef bytes key, columnar_key  # columnar_key: b"" but in the "json" form
    cdef bint tensor_form, json_form
    cdef object columnar_bare_name, envelope
    cdef object dtype, bare_name, max_bytes, nonfinite_name
    cdef int nonfinite, max_depth
    cdef dict columns
    cdef bint named
    cdef Problem err
    cdef Py_ssize_t err_pos, err_length
    cdef Py_ssize_t object_bytes, object_limit  # str and bytes leaves against max_bytes (rules.OBJECT_COST)
    cdef int err_depth, err_level, err_close
    cdef _Col err_col

    cdef inline Py_ssize_t fail(self, Problem code, Py_ssize_t pos) noexcept nogil:
        self.err = code
        self.err_pos = pos
        return -1

    cdef inline Py_ssize_t fail_close(self, Problem code, Py_ssize_t pos, int close) noexcept nogil:
        self.err_close = close
        return self.fail(code, pos)

    cdef inline Py_ssize_t fail_leaf(self, Py_ssize_t pos, int close, int depth) noexcept nogil:
        self.err_depth = depth
        return self.fail_close(E_LEAF, pos, close)

    cdef inline Py_ssize_t close_list(self, Py_ssize_t pos, _Col col, int level, Py_ssize_t length) noexcept nogil:
        """A list of ``length`` values at ``level`` closing at ``pos`` (both walks): the offset
        after it, or -1 when its length differs from the first list closed at that level."""
        if col.dims[level] < 0:
            col.dims[level] = length
            if length == 0 and col.ndim < 0:
                col.ndim = level + 1
        elif col.dims[level] != length:
            self.err_level = level
            self.err_length = length
            return self.fail(E_CLOSE_LIST, pos)
        return pos + 1

    cdef inline Py_ssize_t fail_depth(self, Py_ssize_t pos, int depth) noexcept nogil:
        self.err_depth = depth
        return self.fail(E_DEPTH, pos)

    cdef Py_ssize_t skip_value(self, Py_ssize_t pos, int depth, int close) noexcept nogil:
        """End of the value at ``pos`` (``close`` ends the container it is in), or -1."""
        cdef int c = lx_at(&self.lx, pos), token_type = T_NONE, inner = 0x7D if c == 0x7B else 0x5D
        cdef bint escaped = False
        cdef Py_ssize_t end
        if c == 0x7B or c == 0x5B:
            if depth > self.max_depth:
                return self.fail_depth(pos, depth)
            pos = lx_ws(&self.lx, pos + 1)
            if lx_at(&self.lx, pos) == inner:
                return pos + 1
            while True:
                if c == 0x7B:
                    end = lx_string(&self.lx, pos, &escaped)
                    if end < 0:
                        return self.fail(E_STRING, pos)
                    pos = lx_ws(&self.lx, end)
                    if lx_at(&self.lx, pos) != 0x3A:
                        return self.fail(E_COLON, pos)
                    pos = lx_ws(&self.lx, pos + 1)
                pos = self.skip_value(pos, depth + 1, inner)
                if pos < 0:
                    return -1
                pos = lx_ws(&self.lx, pos)
                if lx_at(&self.lx, pos) == inner:
                    return pos + 1
                if lx_at(&self.lx, pos) != 0x2C:
                    return self.fail_close(E_SEPARATOR, pos, inner)
                pos = lx_ws(&self.lx, pos + 1)
        if c == 0x22:
            end = lx_string(&self.lx, pos, &escaped)
            return end if end >= 0 else self.fail(E_STRING, pos)
        end = lx_token(&self.lx, pos, &token_type)
        if end < 0 or (token_type == T_NUMBER and _number_end(self.lx.s, pos, self.lx.n) != end):
            return self.fail_close(E_TOKEN, pos, close)  # not a value, or a number the reference ends sooner
        return end

    cdef object text(self, Py_ssize_t start, Py_ssize_t end, bint escaped):
        """The str of the (valid) string from ``start`` to ``end`` (quotes included)."""
        if escaped:
            return _unescaped_str(self.lx.s + start + 1, end - start - 2)
        return _utf8_str(self.lx.s + start + 1, end - start - 2)

    # -- the envelope

    cdef Py_ssize_t body(self) except -2:
        cdef Py_ssize_t pos = lx_ws(&self.lx, 0), start, end
        cdef bint escaped = False
        cdef object name, error = None, found = None
        cdef dict members = {}
        cdef bint request = self.key == b"instances"
        if lx_at(&self.lx, pos) != 0x7B:
            self.check().body()  # raises: not an object
            return -1
        pos = lx_ws(&self.lx, pos + 1)
        if lx_at(&self.lx, pos) != 0x7D:
            while True:
                start = pos
                end = lx_string(&self.lx, pos, &escaped)
                if end < 0:
                    return self.fail(E_STRING, pos)
                if escaped:
                    name = self.text(start, end, True).encode("utf-8", "surrogatepass")
                else:
                    name = bytes(self.mv[start + 1:end - 1])
                pos = lx_ws(&self.lx, end)
                if lx_at(&self.lx, pos) != 0x3A:
                    return self.fail(E_COLON, pos)
                pos = lx_ws(&self.lx, pos + 1)
                if name == self.key or (self.json_form and name == self.columnar_key):
                    if found is not None:
                        self.check().two_keys(found, name.decode(), start)
                    found = name.decode()
                    pos = self.batch(pos) if name == self.key else self.columnar(pos)
                elif request and (name == b"parameters" or name == b"signature_name"):
                    if name in members:
                        self.check().duplicate(name.decode(), start)
                    end = self.skip_value(pos, 2, 0x7D)
                    if end >= 0:
                        members[name] = self.check().member(name.decode(), pos, end)
                    elif self.err == E_TOKEN:  # a number the reference ends sooner: it reads the member
                        self.check().member(name.decode(), pos, self.check().skip_value(pos, 2))  # first
                    pos = end
                elif name == b"error" and self.key == b"predictions":
                    if error is not None:
                        self.check().duplicate("error", start)
                    end = self.skip_value(pos, 2, 0x7D)
                    if end >= 0:
                        error = rules.error_value(bytes(self.mv[pos:end]))
                    pos = end
                else:
                    pos = self.skip_value(pos, 2, 0x7D)
                if pos < 0:
                    return -1
                pos = lx_ws(&self.lx, pos)
                if lx_at(&self.lx, pos) == 0x7D:
                    break
                if lx_at(&self.lx, pos) != 0x2C:
                    return self.fail_close(E_SEPARATOR, pos, 0x7D)
                pos = lx_ws(&self.lx, pos + 1)
        pos = lx_ws(&self.lx, pos + 1)
        if pos != self.lx.n or error is not None or found is None:
            self.check().end(pos, error, found is not None)  # raises: trailing data, the error member, no key
        if self.envelope is not None:
            self.envelope.key = found
            self.envelope.parameters = members.get(b"parameters")
            self.envelope.signature_name = members.get(b"signature_name")
        return pos

    cdef Py_ssize_t columnar(self, Py_ssize_t pos) except -2:
        """The columnar form's value at ``pos`` ("json" only): one instance at depth 2, each
        value a whole array (no instance axis)."""
        cdef object name, col
        cdef dict finished
        if self.named_at(pos) and lx_at(&self.lx, lx_ws(&self.lx, pos + 1)) == 0x7D:
            self.check().columnar(pos)  # raises: no inputs
        self.columns = {}
        pos = self.instance(pos, 0, 2, self.columnar_bare_name)
        if pos < 0:
            return -1
        finished = {}
        for name, col in self.columns.items():
            finished[(<_Col>col).name if name is None else name] = col.finish(1)[0, ...]
        self.columns = finished
        return pos

    cdef bint named_at(self, Py_ssize_t pos) noexcept nogil:
        """Whether the instance at ``pos`` is named: an object that is not a binary value (the
        shared reader's ``named``)."""
        cdef Py_ssize_t text_start = 0
        if lx_at(&self.lx, pos) != 0x7B:
            return False
        if self.json_form:
            return not lx_b64_first(&self.lx, pos)
        return not (self.tensor_form and lx_b64_object(&self.lx, pos, &text_start) >= 0)

    cdef Py_ssize_t batch(self, Py_ssize_t pos) except -2:
        cdef Py_ssize_t count = 0
        cdef dict finished
        cdef object name, col
        if lx_at(&self.lx, pos) != 0x5B:
            self.check().batch(pos)  # raises: not an array
            return -1
        self.columns = {}
        pos = lx_ws(&self.lx, pos + 1)
        if lx_at(&self.lx, pos) == 0x5D:
            return pos + 1
        cdef _Col bare = None
        cdef int c
        while True:
            c = lx_at(&self.lx, pos)
            if bare is not None and c != 0x7B:  # a bare "json" instance after the first: no lookup
                if c == 0x22 and bare.kind == K_STR:
                    pos = self.str_leaf(pos, bare, 3, 0x5D)
                else:
                    pos = self.value(pos, bare, 3, 0x5D)
            else:
                pos = self.instance(pos, count, 3, self.bare_name)
                if count == 0 and self.json_form and not self.named:
                    bare = self.columns[None]
            if pos < 0:
                return -1
            count += 1
            pos = lx_ws(&self.lx, pos)
            if lx_at(&self.lx, pos) == 0x5D:
                break
            if lx_at(&self.lx, pos) != 0x2C:
                return self.fail_close(E_SEPARATOR, pos, 0x5D)
            pos = lx_ws(&self.lx, pos + 1)
        finished = {}
        for name, col in self.columns.items():
            finished[name] = col.finish(count)
        self.columns = finished
        return pos + 1

    cdef _Col new_column(self, name):
        return _Col(name, rules.resolve_dtype(self.dtype, name, self.value_form()), self.max_depth,
                    self.tensor_form, self.json_form)

    cdef str value_form(self):
        return "tensor" if self.tensor_form else "json" if self.json_form else "number"

    cdef Py_ssize_t instance(self, Py_ssize_t pos, Py_ssize_t index, int depth, object bare_name) except -2:
        cdef Py_ssize_t start, end
        cdef bint named, escaped = False
        cdef _Col col
        cdef set seen
        cdef object name
        named = self.named_at(pos)
        if index == 0:
            self.named = named
            if not named:
                self.columns[None] = self.new_column(bare_name)
        elif named != self.named:
            self.check().form_differs(pos, index, named)
        if not named:
            return self.value(pos, self.columns[None], depth, 0x5D if depth == 3 else 0x7D)
        if depth > self.max_depth:
            return self.fail_depth(pos, depth)
        seen = set()
        pos = lx_ws(&self.lx, pos + 1)
        if lx_at(&self.lx, pos) == 0x7D:
            self.check().no_inputs(pos, index)
        while True:
            start = pos
            end = lx_string(&self.lx, pos, &escaped)
            if end < 0:
                return self.fail(E_STRING, pos)
            name = self.text(start, end, escaped)
            if name in seen or (index and name not in self.columns) or (self.json_form and name == "b64"):
                self.check().check_name(start, index, name, seen, self.columns)
            seen.add(name)
            if index == 0:
                self.columns[name] = col = self.new_column(name)
            else:
                col = self.columns[name]
            pos = lx_ws(&self.lx, end)
            if lx_at(&self.lx, pos) != 0x3A:
                return self.fail(E_COLON, pos)
            pos = self.value(lx_ws(&self.lx, pos + 1), col, depth + 1, 0x7D)
            if pos < 0:
                return -1
            pos = lx_ws(&self.lx, pos)
            if lx_at(&self.lx, pos) == 0x7D:
                break
            if lx_at(&self.lx, pos) != 0x2C:
                return self.fail_close(E_SEPARATOR, pos, 0x7D)
            pos = lx_ws(&self.lx, pos + 1)
        if len(seen) != len(self.columns):
            self.check().check_complete(pos, index, seen, self.columns)
        return pos + 1

    # -- values

    cdef Py_ssize_t value(self, Py_ssize_t pos, _Col col, int depth, int close) except -2:
        """The value at ``pos`` of ``col``, which ``close`` or ',' follows."""
        cdef Py_ssize_t end
        if self.tensor_form:
            return self.tensor(pos, col)
        if self.json_form:
            end = self.jnested(pos, col, depth, 0, close)
            if end == -1:
                self.err_col = col
            return end
        with nogil:
            end = self.nested(pos, col, depth, 0, close)
        if end == -1:
            self.err_col = col
        elif end == -3:
            raise MemoryError()
        return end

    cdef Py_ssize_t tensor(self, Py_ssize_t pos, _Col col) except -2:
        cdef Py_ssize_t text_start = pos, end, obj_end
        cdef bint escaped = False
        cdef object text, array
        obj_end = lx_b64_object(&self.lx, pos, &text_start)
        if obj_end < 0:
            text_start = pos  # not a {"b64": ...} object (``b64_object`` may have moved it)
        end = lx_string(&self.lx, text_start, &escaped)
        array = None
        if end >= 0:
            text = self.text(text_start, end, True) if escaped else self.mv[text_start + 1:end - 1]
            try:
                array = decode_tensor(b64decode(text), dtype=col.dtype, max_bytes=self.max_bytes)
            except DecodeError:
                array = None
        if array is None or array.ndim + 1 > MAX_RANK or (
                col.tensors and (array.dtype != col.tensors[0].dtype or array.shape != col.tensors[0].shape)):
            self.check().tensor(pos, self.shared_column(col))  # raises: reads this one value
            raise AssertionError(f"tensorwire: the Cython JSON reader refused the value at offset {pos} (a bug)")
        col.tensors.append(array)
        return obj_end if obj_end >= 0 else end

    cdef Py_ssize_t nested(self, Py_ssize_t pos, _Col col, int depth, int level, int close) noexcept nogil:
        """The value at ``pos`` (``level`` lists deep in the instance's value), which ``close``
        or ',' follows."""
        cdef Py_ssize_t length = 0, elem, end
        if lx_at(&self.lx, pos) != 0x5B:
            if col.ndim < 0:
                col.ndim = level
            elif level != col.ndim:
                self.err_level = level
                return self.fail(E_LEAF_LEVEL, pos)
            end = self.leaf(pos, col)
            if end == -1:
                return self.fail_leaf(pos, close, depth)
            if end >= 0 and level == 0:  # where the reference's number ends is checked here
                elem = lx_ws(&self.lx, end)
                if lx_at(&self.lx, elem) != 0x2C and lx_at(&self.lx, elem) != close:
                    return self.fail_leaf(pos, close, depth)
            return end
        if (col.ndim >= 0 and level >= col.ndim) or level + 2 > MAX_RANK or depth > self.max_depth:
            self.err_depth = depth
            self.err_level = level
            return self.fail(E_OPEN_LIST, pos)
        cdef bint leaves = col.ndim == level + 1  # the elements are numbers: no recursion
        cdef int c
        cdef Py_ssize_t k
        pos = lx_ws(&self.lx, pos + 1)
        if lx_at(&self.lx, pos) != 0x5D:
            while True:
                elem = pos
                if not leaves:
                    pos = self.nested(pos, col, depth + 1, level + 1, 0x5D)
                else:
                    c = lx_at(&self.lx, pos)
                    if c == 0x5B:  # a list where a number belongs
                        self.err_depth = depth + 1
                        self.err_level = level + 1
                        return self.fail(E_OPEN_LIST, pos)
                    if col.code == C_F32 and (_digit(c) or (c == 0x2D and _digit(lx_at(&self.lx, pos + 1)))):
                        # The hot case (float32 ND_ARRAYS): parsed straight into the column.
                        if col.used == col.cap:
                            if col.slot() == NULL:
                                return -3
                            col.used -= 1
                        k = parse_f32_prefix(<const char*>(self.lx.s + pos), self.lx.n - pos,
                                             (<float*>col.data) + col.used)
                        if k <= 0:
                            return self.fail_leaf(elem, 0x5D, depth + 1)
                        col.used += 1
                        pos += k
                    elif col.code <= C_F64 and (_digit(c) or (c == 0x2D and _digit(lx_at(&self.lx, pos + 1)))):
                        pos = self.float_leaf(pos, col)  # without leaf's dispatch
                        if pos == -1:
                            return self.fail_leaf(elem, 0x5D, depth + 1)
                    else:
                        pos = self.leaf(pos, col)
                        if pos == -1:
                            return self.fail_leaf(elem, 0x5D, depth + 1)
                if pos < 0:
                    return pos
                length += 1
                c = lx_at(&self.lx, pos)
                if c == 0x2C:  # a comma right after the value: the common case
                    pos = lx_ws(&self.lx, pos + 1)
                    continue
                if c == 0x5D:
                    break
                pos = lx_ws(&self.lx, pos)
                if lx_at(&self.lx, pos) == 0x5D:
                    break
                if lx_at(&self.lx, pos) != 0x2C:
                    if lx_at(&self.lx, elem) != 0x5B:  # after a number: where the reference ends it decides
                        return self.fail_leaf(elem, 0x5D, depth + 1)
                    return self.fail_close(E_SEPARATOR, pos, 0x5D)
                pos = lx_ws(&self.lx, pos + 1)
        return self.close_list(pos, col, level, length)

    # -- the general body ("json"): a walk holding the GIL (str and bytes leaves are objects);
    # a column whose kind is a number or bool kind goes through ``nested`` (C, no object).

    cdef Py_ssize_t jnested(self, Py_ssize_t pos, _Col col, int depth, int level, int close) except -2:
        """``nested`` for a "json" column: the value at ``pos``, which ``close`` or ',' follows."""
        cdef Py_ssize_t length = 0, elem, end
        cdef int c
        if col.kind != K_NONE and col.kind != K_STR and col.kind != K_BYTES:
            end = self.nested(pos, col, depth, level, close)
            if end == -3:
                raise MemoryError()
            return end
        if lx_at(&self.lx, pos) != 0x5B:
            if col.ndim < 0:
                col.ndim = level
            elif level != col.ndim:
                self.err_level = level
                return self.fail(E_LEAF_LEVEL, pos)
            if col.kind == K_STR and lx_at(&self.lx, pos) == 0x22:
                return self.str_leaf(pos, col, depth, close if level == 0 else 0)
            end = self.jleaf(pos, col, depth)
            if end < 0:
                return self.fail_leaf(pos, close, depth)
            if level == 0:
                elem = lx_ws(&self.lx, end)
                if lx_at(&self.lx, elem) != 0x2C and lx_at(&self.lx, elem) != close:
                    return self.fail_leaf(pos, close, depth)
            return end
        if (col.ndim >= 0 and level >= col.ndim) or level + 2 > MAX_RANK or depth > self.max_depth:
            self.err_depth = depth
            self.err_level = level
            return self.fail(E_OPEN_LIST, pos)
        pos = lx_ws(&self.lx, pos + 1)
        if lx_at(&self.lx, pos) != 0x5D:
            while True:
                elem = pos
                pos = self.jnested(pos, col, depth + 1, level + 1, 0x5D)
                if pos < 0:
                    return pos
                length += 1
                pos = lx_ws(&self.lx, pos)
                c = lx_at(&self.lx, pos)
                if c == 0x5D:
                    break
                if c != 0x2C:
                    if lx_at(&self.lx, elem) != 0x5B:  # after a leaf: the shared reader re-reads it
                        return self.fail_leaf(elem, 0x5D, depth + 1)
                    return self.fail_close(E_SEPARATOR, pos, 0x5D)
                pos = lx_ws(&self.lx, pos + 1)
        return self.close_list(pos, col, level, length)

    cdef int charge(self, Py_ssize_t pos, Py_ssize_t end, _Col col) except -1:
        """The reference reader's ``charge``: the str or bytes leaf from ``pos`` to ``end``
        counts ``OBJECT_COST`` and its text against ``max_bytes``; past it, the shared reader
        words the refusal."""
        cdef object r
        self.object_bytes += OBJECT_COST + (end - pos)
        if self.object_bytes > self.object_limit:
            r = self.check()
            r.object_bytes = self.object_bytes - (OBJECT_COST + (end - pos))
            r.charge(pos, end, self.shared_column(col))
            raise AssertionError(f"tensorwire: the Cython JSON reader refused a leaf at offset {pos} (a bug)")
        return 0

    cdef Py_ssize_t str_leaf(self, Py_ssize_t pos, _Col col, int depth, int close) except -2:
        """A string leaf of a str column at its leaf level (the hot case of text inputs); at level
        0 (``close`` not 0) what follows is checked as ``jnested`` checks it."""
        cdef bint escaped = False
        cdef Py_ssize_t end, elem, p, n = self.lx.n
        cdef const unsigned char* s = self.lx.s
        cdef int high = 0
        cdef object text
        if col.ndim != 0 and close:
            return self.value(pos, col, depth, close)  # the bare value is a list: the long way
        p = _plain_span(s, pos + 1, n, &high)  # the plain run, and whether it is ASCII
        if p < n and s[p] == 0x22:  # no escape
            end = p + 1
            if high:
                text = _utf8_str(s + pos + 1, end - pos - 2)
            else:
                text = PyUnicode_New(end - pos - 2, 127)
                memcpy(PyUnicode_DATA(text), s + pos + 1, end - pos - 2)
        else:
            end = lx_string(&self.lx, pos, &escaped)
            if end < 0:
                self.err_col = col
                return self.fail_leaf(pos, close if close else 0x5D, depth)
            text = self.text(pos, end, escaped)
        col.append(text)
        self.charge(pos, end, col)
        if close:
            elem = lx_ws(&self.lx, end)
            if lx_at(&self.lx, elem) != 0x2C and lx_at(&self.lx, elem) != close:
                self.err_col = col
                return self.fail_leaf(pos, close, depth)
        return end

    cdef Py_ssize_t jleaf(self, Py_ssize_t pos, _Col col, int depth) except -2:
        """A leaf of a "json" column whose kind is none yet, str or bytes (``depth`` in the body);
        -1 where the shared reader's ``json_leaf`` refuses it."""
        cdef int c = lx_at(&self.lx, pos), token_type = T_NONE
        cdef Py_ssize_t end, text_start = 0, text_end = 0
        cdef bint escaped = False
        cdef object text
        cdef Kind kind = col.kind
        if c == 0x22:
            if kind != K_NONE and kind != K_STR:
                return -1
            end = lx_string(&self.lx, pos, &escaped)
            if end < 0:
                return -1
            text = self.text(pos, end, escaped)
            if kind == K_NONE:
                col.set_kind(K_STR)
            col.append(text)
            self.charge(pos, end, col)
            return end
        if c == 0x7B:
            if (kind != K_NONE and kind != K_BYTES) or depth > self.max_depth:
                return -1
            end = lx_b64_value(&self.lx, pos, &text_start, &text_end, &escaped)
            if end < 0:  # perhaps a name written with escapes ("\\u0062\\u00364")
                end = self.b64_escaped(pos, &text_start, &text_end, &escaped)
                if end < 0:
                    return -1
            text = self.text(text_start, text_end, True) if escaped else self.mv[text_start + 1:text_end - 1]
            try:
                text = b64decode(text)
            except DecodeError:
                return -1
            if kind == K_NONE:
                col.set_kind(K_BYTES)
            col.append(text)
            self.charge(pos, end, col)
            return end
        if kind != K_NONE:
            return -1
        end = lx_token(&self.lx, pos, &token_type)
        if end < 0:
            return -1
        if token_type == T_TRUE or token_type == T_FALSE:
            col.set_kind(K_BOOL)
        elif col.given_code:
            col.set_kind(K_NUMBER)
        elif token_type == T_NUMBER and _integer(self.lx.s, pos, end):
            col.set_kind(K_INT)
        else:
            col.set_kind(K_FLOAT)
        end = self.jnum(pos, col)
        if end == -3:
            raise MemoryError()
        if end < 0:
            col.set_kind(K_NONE)
            col.used = 0
        return end

    cdef Py_ssize_t b64_escaped(self, Py_ssize_t pos, Py_ssize_t* text_start, Py_ssize_t* text_end,
                                bint* escaped) except -2:
        """``lx_b64_value`` for an object whose first name is ``b64`` however written."""
        cdef Py_ssize_t start = lx_ws(&self.lx, pos + 1), end
        cdef bint esc = False
        end = lx_string(&self.lx, start, &esc)
        if end < 0 or self.text(start, end, esc) != "b64":
            return -1
        pos = lx_ws(&self.lx, end)
        if lx_at(&self.lx, pos) != 0x3A:
            return -1
        pos = lx_ws(&self.lx, pos + 1)
        text_start[0] = pos
        end = lx_string(&self.lx, pos, escaped)
        if end < 0:
            return -1
        text_end[0] = end
        pos = lx_ws(&self.lx, end)
        return pos + 1 if lx_at(&self.lx, pos) == 0x7D else -1

    cdef Py_ssize_t jnum(self, Py_ssize_t pos, _Col col) noexcept nogil:
        """A number or bool leaf of a "json" column of such a kind; -1 where the shared reader
        refuses it, -3 when out of memory.  An int column meeting its first non-integer number
        becomes float32."""
        cdef int c = lx_at(&self.lx, pos), token_type = T_NONE, status
        cdef Kind kind = col.kind
        cdef Py_ssize_t end
        cdef int64_t i64 = 0
        cdef float f = 0
        cdef char* dst
        if c == 0x22 or c == 0x7B:
            return -1
        if (kind == K_FLOAT or (kind == K_NUMBER and col.code <= C_F64)) and (
                _digit(c) or (c == 0x2D and _digit(lx_at(&self.lx, pos + 1)))):
            return self.float_leaf(pos, col)
        end = lx_token(&self.lx, pos, &token_type)
        if end < 0:
            return -1
        if token_type == T_TRUE or token_type == T_FALSE:
            if kind != K_BOOL:
                return -1
        elif kind == K_BOOL:
            return -1
        if token_type == T_NULL:
            if self.nonfinite != NF_NULL or col.code > C_F64 and kind != K_INT:
                return -1
            if kind == K_INT and col.to_float() < 0:
                return -3
            status = self.store(<const unsigned char*>"NaN", 3, col)
            return end if status == 0 else status
        if kind == K_INT:
            if token_type == T_NUMBER and _integer(self.lx.s, pos, end):
                if parse_i64(<const char*>(self.lx.s + pos), end - pos, &i64) != 0:
                    return -1
                dst = col.slot()
                if dst == NULL:
                    return -3
                (<int64_t*>dst)[0] = i64
                if i64 == 0 and c == 0x2D:
                    with gil:
                        col.negzero.append(col.used - 1)
                return end
            # the first non-integer number: checked, then the column becomes float32
            if token_type == T_NUMBER:
                if parse_f32(<const char*>(self.lx.s + pos), end - pos, &f) != 0:
                    return -1
            elif self.nonfinite == NF_ERROR:
                return -1
            if col.to_float() < 0:
                return -3
        status = self.store(self.lx.s + pos, end - pos, col)
        return end if status == 0 else status

    # -- errors: the shared reader's checks, at the one place this pass stopped

    cdef object check(self):
        """The shared reader (``rules.Reader``) over the same body, for its checks at one place
        (each reads only what lies there); TensorProto values through this module's codecs."""
        if self.checker is None:
            self.checker = rules.Reader(
                self.body_obj if isinstance(self.body_obj, bytes) else bytes(self.mv), self.key.decode(),
                self.value_form(), self.dtype, self.nonfinite_name, self.max_depth,
                self.max_bytes, self.bare_name, codecs=(b64decode, decode_tensor))
        return self.checker

    cdef object shared_column(self, _Col col):
        """The shared ``rules.Column`` for what ``col`` holds so far (all its checks read)."""
        cdef object c = rules.Column(col.name, col.dtype)
        c.ndim = None if col.ndim < 0 else col.ndim
        cdef Py_ssize_t k
        cdef list dims = []
        for k in range(self.max_depth + 1):
            dims.append(None if col.dims[k] < 0 else col.dims[k])
        c.dims = dims
        c.values = col.tensors[:1]
        c.kind = _KIND_NAMES[col.kind] if col.json else None
        return c

    cdef word(self):
        """Raise the shared reader's exception for the problem recorded in ``err*``."""
        cdef object r = self.check(), col
        cdef Py_ssize_t pos = self.err_pos
        cdef bytes close = b"]" if self.err_close == 0x5D else b"}"
        if self.err == E_STRING:
            r.string(pos)
        elif self.err == E_COLON:
            r.expect(pos, b":", "':'")
        elif self.err == E_SEPARATOR:
            r.separator(pos, close)
        elif self.err == E_DEPTH:
            r.enter(pos, self.err_depth)
        elif self.err == E_TOKEN:
            r.after(r.skip_value(pos, 2), close)
        elif self.err_col is not None:
            col = self.shared_column(self.err_col)
            if self.err == E_OPEN_LIST:
                r.open_list(pos, col, self.err_depth, self.err_level)
            elif self.err == E_CLOSE_LIST:
                r.close_list(pos, col, self.err_level, self.err_length)
            elif self.err == E_LEAF_LEVEL:
                r.leaf_level(pos, col, self.err_level)
            elif self.err == E_LEAF and self.json_form:
                r.after(r.json_leaf(pos, col, self.err_depth)[1], close)
            elif self.err == E_LEAF:
                r.after(r.leaf(pos, col)[1], close)
        raise AssertionError(f"tensorwire: the Cython JSON reader refused the body at offset {pos} "
                             f"(problem {self.err}) where the reference finds none (a bug)")

    cdef Py_ssize_t leaf(self, Py_ssize_t pos, _Col col) noexcept nogil:
        cdef Py_ssize_t end
        cdef bint escaped = False
        cdef int token_type = T_NONE, status, c
        if col.json:
            return self.jnum(pos, col)
        if lx_at(&self.lx, pos) == 0x22:
            c = lx_at(&self.lx, pos + 1)
            if col.code <= C_F64 and (_digit(c) or (c == 0x2D and _digit(lx_at(&self.lx, pos + 2)))):
                end = self.float_leaf(pos + 1, col)  # RAW_JSON's "1.5": parsed in place ...
                if end > 0 and lx_at(&self.lx, end) == 0x22:
                    return end + 1
                if end == -3:
                    return -3
                col.used -= 1  # ... unless the string holds more than the number: the long way
            end = lx_string(&self.lx, pos, &escaped)
            if end < 0:
                return -1
            if escaped:
                with gil:
                    return self.escaped_leaf(pos, end, col)
            status = self.store(self.lx.s + pos + 1, end - pos - 2, col)
            return end if status == 0 else status
        c = lx_at(&self.lx, pos)
        if col.code <= C_F64 and (_digit(c) or (c == 0x2D and _digit(lx_at(&self.lx, pos + 1)))):
            return self.float_leaf(pos, col)
        end = lx_token(&self.lx, pos, &token_type)
        if end < 0:
            return -1
        if token_type == T_NULL:
            if self.nonfinite != NF_NULL or col.code > C_F64:
                return -1
            status = self.store(<const unsigned char*>"NaN", 3, col)
        else:
            status = self.store(self.lx.s + pos, end - pos, col)
        return end if status == 0 else status

    cdef Py_ssize_t float_leaf(self, Py_ssize_t pos, _Col col) noexcept nogil:
        """A bare number into a float column: parsed where it lies, its end found by the parser
        (the same end the reference's number pattern finds, when what follows is valid)."""
        cdef Py_ssize_t k
        cdef char* dst = col.slot()
        if dst == NULL:
            return -3
        if col.code == C_F32:
            k = parse_f32_prefix(<const char*>(self.lx.s + pos), self.lx.n - pos, <float*>dst)
        elif col.code == C_F64:
            k = parse_f64_prefix(<const char*>(self.lx.s + pos), self.lx.n - pos, <double*>dst)
        else:
            k = parse_f16_prefix(<const char*>(self.lx.s + pos), self.lx.n - pos, <uint16_t*>dst)
        return pos + k if k > 0 else -1

    cdef Py_ssize_t escaped_leaf(self, Py_ssize_t pos, Py_ssize_t end, _Col col):
        """A string leaf with escapes (rare): its text through ``json``, then ``store``."""
        cdef bytes raw
        cdef int status
        try:
            raw = self.text(pos, end, True).encode("utf-8", "surrogatepass")
        except Exception:
            return -1  # cannot happen for a string ``string`` accepted; the reference will say
        status = self.store(<const unsigned char*>PyBytes_AS_STRING(raw), len(raw), col)
        return end if status == 0 else status

    cdef int store(self, const unsigned char* t, Py_ssize_t n, _Col col) noexcept nogil:
        """Parse the number text ``t[:n]`` into the column; -1 if it is not one of its dtype, -3
        when out of memory."""
        cdef int code = col.code, special = 0
        cdef bint truth
        cdef int64_t i64 = 0
        cdef uint64_t u64 = 0
        cdef double d = 0
        cdef float f = 0
        cdef uint16_t h = 0
        cdef char* dst
        if n == 0 or _digit(t[0]) or (n > 1 and _digit(t[1])):
            pass  # not a token (the common case, decided on two bytes)
        elif n == 3 and memcmp(t, b"NaN", 3) == 0:
            special = 1
        elif n == 8 and memcmp(t, b"Infinity", 8) == 0:
            special = 2
        elif n == 9 and memcmp(t, b"-Infinity", 9) == 0:
            special = 3
        if special and (self.nonfinite == NF_ERROR or code > C_F64):
            return -1
        if code == C_F32:
            if special:
                f = NAN if special == 1 else (INFINITY if special == 2 else -INFINITY)
            elif parse_f32(<const char*>t, n, &f) != 0:
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            (<float*>dst)[0] = f
        elif code == C_F64:
            if special:
                d = NAN if special == 1 else (INFINITY if special == 2 else -INFINITY)
            elif parse_f64(<const char*>t, n, &d) != 0:
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            (<double*>dst)[0] = d
        elif code == C_F16:
            if special:
                h = 0x7E00 if special == 1 else (0x7C00 if special == 2 else 0xFC00)
            elif parse_f16(<const char*>t, n, &h) != 0:
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            (<uint16_t*>dst)[0] = h
        elif code == C_BOOL:
            truth = n == 4 and memcmp(t, b"true", 4) == 0
            if not truth and not (n == 5 and memcmp(t, b"false", 5) == 0):
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            dst[0] = truth
        elif code <= C_I64:
            if parse_i64(<const char*>t, n, &i64) != 0 or not _INT_MIN[code] <= i64 <= _INT_MAX[code]:
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            _put_int(dst, <uint64_t>i64, col.itemsize)
        else:
            if parse_u64(<const char*>t, n, &u64) != 0 or u64 > _UINT_MAX[code]:
                return -1
            dst = col.slot()
            if dst == NULL:
                return -3
            _put_int(dst, u64, col.itemsize)
        return 0


def decode_body(body, key, *, value_form, dtype=None, nonfinite="token", max_depth=DEFAULT_MAX_DEPTH,
                max_bytes=DEFAULT_MAX_BYTES, bare_name="output", envelope=None):
    """``{name: batch-first array}`` from a body (see the module docstring).

    ``value_form`` is ``"tensor"`` (strings are base64 TensorProtos), ``"number"`` (strings are
    numbers) or ``"json"`` (the general body: each name's kind from its leaves; the columnar
    form too, whose arrays have no instance axis).  ``dtype``: None (float32 for numbers, the
    encoded dtype for tensors, the kind's for ``"json"``), one dtype for every name, or a dict
    ``{name: dtype}``.  A bare instance's values go under ``bare_name`` (a bare columnar request
    value under ``"inputs"``).  ``envelope``, a ``rules.jsonbody.Envelope``, is filled in with
    the key met and a request's ``parameters`` and ``signature_name``.
    """
    rules.check_decode_options(key, value_form, nonfinite, max_depth)
    cdef const unsigned char[::1] view
    cdef _Reader r = _Reader()
    cdef Py_ssize_t bad
    cdef object mv, name, array
    cdef dict result
    mv = memoryview(rules.body_bytes(body) if isinstance(body, str) else body)
    if mv.ndim != 1 or mv.itemsize != 1 or not mv.c_contiguous:
        mv = mv.cast("B")
    view = mv
    r.mv = mv
    r.lx.n = view.shape[0]
    if r.lx.n:
        r.lx.s = &view[0]
    else:
        r.lx.s = <const unsigned char*>_EMPTY
    with nogil:
        bad = _utf8_error(r.lx.s, r.lx.n)
    if bad >= 0:
        rules.body_bytes(body)  # raises, naming the offset
        raise AssertionError(f"tensorwire: invalid UTF-8 at offset {bad} that Python's codec accepts (a bug)")
    r.body_obj = body
    r.nonfinite_name = nonfinite
    r.key = key.encode("ascii")
    r.tensor_form = value_form == "tensor"
    r.json_form = value_form == "json"
    r.columnar_key = rules.COLUMNAR_KEYS[key].encode("ascii") if r.json_form else b""
    r.columnar_bare_name = "inputs" if key == "instances" else bare_name
    r.envelope = envelope
    r.dtype = dtype
    r.bare_name = bare_name
    r.max_bytes = max_bytes
    r.object_limit = min(max_bytes, sys.maxsize)
    r.max_depth = max_depth
    r.nonfinite = NONFINITE_POLICIES.index(nonfinite)
    if r.body() < 0:
        r.word()
    result = {}
    for name, array in r.columns.items():
        result[bare_name if name is None else name] = array
    return result
