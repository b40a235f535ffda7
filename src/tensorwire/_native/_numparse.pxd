# cython: language_level=3
"""Correctly rounded JSON-number parsing for the Cython codecs (docs/number-text.md).

The C-level twin of ``tensorwire.codecs.numtext.parse_number`` for float16/32/64, int64 and
uint64.  Each function takes ``s[0:n]``, which must be exactly one JSON number
(``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``, at most 1100 characters; the integer
parsers take integer literals ``-?(0|[1-9][0-9]*)`` only), stores its value in ``out[0]`` and
returns 0; it returns -1 (``out`` untouched) for any other text, and the integer parsers -2 for
a value out of range.  The tokens ``NaN``/``Infinity``/``-Infinity`` are the caller's business:
here they are -1.  Floats are rounded to nearest, ties to even, in the target format itself;
beyond the largest finite value they are infinity.

Implemented in ``_numparse.pyx`` and shared through Cython's cross-module C-API::

    from ._numparse cimport parse_f32
"""

from libc.stdint cimport int64_t, uint16_t, uint64_t


cdef int parse_f64(const char* s, Py_ssize_t n, double* out) noexcept nogil
cdef int parse_f32(const char* s, Py_ssize_t n, float* out) noexcept nogil
cdef int parse_f16(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil   # IEEE binary16 bits
cdef int parse_i64(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil
cdef int parse_u64(const char* s, Py_ssize_t n, uint64_t* out) noexcept nogil

# Prefix forms: the JSON number at the start of s[0:n] (whatever follows it), parsed as above;
# its length, or -1 if s does not start with one (the grammar admits no shorter reading: a
# number followed by a character that could continue it, like "1." or "1e", is -1).
cdef Py_ssize_t parse_f64_prefix(const char* s, Py_ssize_t n, double* out) noexcept nogil
cdef Py_ssize_t parse_f32_prefix(const char* s, Py_ssize_t n, float* out) noexcept nogil
cdef Py_ssize_t parse_f16_prefix(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil
