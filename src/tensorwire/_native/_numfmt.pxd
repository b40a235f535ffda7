# cython: language_level=3
"""Canonical number text writers (docs/number-text.md), shared by the Cython codecs.

The C-level twin of ``tensorwire.codecs.numtext.format_number`` for float16/32/64, int64 and
uint64.  Each writer puts the ASCII text of one value at ``out`` (no NUL) and returns its length
(at most 24 bytes).  The caller must provide ``NUMFMT_MAX_CHARS`` writable bytes at ``out``: the
float writers use fixed-size stores and may overwrite bytes past the returned length (never
past ``out + NUMFMT_MAX_CHARS``), so the next text simply starts at ``out + length``.  The text is
byte for byte the reference's: the shortest decimal that reads back to the same value in the
value's own dtype, laid out like ``repr(float)``; ``NaN``, ``Infinity``, ``-Infinity``; plain
decimal integers.  Implemented in ``_numfmt.pyx`` (the Schubfach algorithm; see there) and
shared through Cython's cross-module C-API: ``from ._numfmt cimport write_f32, ...``.
Everything here is ``noexcept nogil``; the module's only state is a table of powers of ten
written once while the module is imported and read-only afterwards.
"""

from libc.stdint cimport int64_t, uint16_t, uint64_t


cdef enum:
    NUMFMT_MAX_CHARS = 32      # bytes any writer below may write at out (texts: <= 24 floats, <= 20 ints)


cdef Py_ssize_t write_f64(double v, char* out) noexcept nogil
cdef Py_ssize_t write_f32(float v, char* out) noexcept nogil
cdef Py_ssize_t write_f16(uint16_t bits, char* out) noexcept nogil   # IEEE binary16 bit pattern
cdef Py_ssize_t write_i64(int64_t v, char* out) noexcept nogil
cdef Py_ssize_t write_u64(uint64_t v, char* out) noexcept nogil
