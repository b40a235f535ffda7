# cython: language_level=3, embedsignature=True
"""Number text (docs/number-text.md), Cython twin of ``tensorwire.codecs.numtext``.

Same functions, results and errors as the reference, whose module docstring defines them.  The
text comes from ``_numfmt`` (shortest round-trip digits, written by this project) and the values
from ``_numparse`` (correctly rounded parsing); argument checks are the reference's own, and a
text the parser refuses is handed to the reference, which raises the exact error.
"""

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int64_t, uint16_t, uint64_t

from ._numfmt cimport NUMFMT_MAX_CHARS, write_f16, write_f32, write_f64, write_i64, write_u64
from ._numparse cimport parse_f16, parse_f32, parse_f64, parse_i64, parse_u64

cdef object np, ref
import numpy as np

from ..codecs import numtext as ref

global MAX_NUMBER_CHARS, FLOAT_FORMATS, NUMBER_DTYPES, number_dtype  # Python-level names, as the reference's
MAX_NUMBER_CHARS = ref.MAX_NUMBER_CHARS
FLOAT_FORMATS = ref.FLOAT_FORMATS
NUMBER_DTYPES = ref.NUMBER_DTYPES
number_dtype = ref.number_dtype


def format_number(value, dtype=None, *, float_format="shortest"):
    """The text of one number (see ``tensorwire.codecs.numtext``); ``dtype`` defaults to ``value``'s."""
    cdef char buf[NUMFMT_MAX_CHARS]
    cdef Py_ssize_t n
    cdef object dt, x
    if float_format not in FLOAT_FORMATS:
        raise ValueError(f"float_format must be one of {FLOAT_FORMATS}, not {float_format!r}")
    dt = number_dtype(np.asarray(value).dtype if dtype is None else dtype)
    if dt.kind == "b":
        return "true" if bool(value) else "false"
    x = dt.type(value)
    if dt.kind == "i":
        n = write_i64(<int64_t>int(x), buf)
    elif dt.kind == "u":
        n = write_u64(<uint64_t>int(x), buf)
    elif float_format == "tolist" or dt.itemsize == 8:
        n = write_f64(float(x), buf)
    elif dt.itemsize == 4:
        n = write_f32(float(x), buf)
    else:
        n = write_f16(<uint16_t>int(np.asarray(x).view(np.uint16)), buf)
    return buf[:n].decode("ascii")


def parse_number(text, dtype=np.float32):
    """The value of one number's text in ``dtype`` (see ``tensorwire.codecs.numtext``); DecodeError if not a number."""
    cdef bytes raw
    cdef const char* s
    cdef Py_ssize_t n
    cdef double d = 0
    cdef float f = 0
    cdef uint16_t h = 0
    cdef int64_t i = 0
    cdef uint64_t u = 0
    cdef int status = -1
    cdef object dt
    dt = number_dtype(dtype)
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    n = len(raw)
    s = PyBytes_AS_STRING(raw)
    if raw in ref.NONFINITE or dt.kind == "b" or not raw.isascii() or isinstance(text, str) and not text.isascii():
        return ref.parse_number(text, dtype)  # tokens, bools and non-ASCII: rare, and simple there
    if dt.kind == "f":
        if dt.itemsize == 8:
            status = parse_f64(s, n, &d)
            if status == 0:
                return np.float64(d)
        elif dt.itemsize == 4:
            status = parse_f32(s, n, &f)
            if status == 0:
                return np.float32(f)
        else:
            status = parse_f16(s, n, &h)
            if status == 0:
                return np.uint16(h).view(np.float16)
    elif dt.kind == "i":
        status = parse_i64(s, n, &i)
        if status == 0 and np.iinfo(dt).min <= i <= np.iinfo(dt).max:
            return dt.type(i)
    else:
        status = parse_u64(s, n, &u)
        if status == 0 and u <= np.iinfo(dt).max:
            return dt.type(u)
    ref.parse_number(text, dtype)  # raises the reference's exact DecodeError
    raise AssertionError(f"tensorwire: _numparse refused {raw[:40]!r} as {dt}, which the reference accepts (a bug)")
