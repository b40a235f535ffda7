# cython: language_level=3, embedsignature=True
"""Base64 codec, Cython twin of ``tensorwire.codecs.base64`` (same functions, bytes and errors).

Design: pybase64 does the bulk transform; this module does everything around it.
    The reference's rules (its module docstring) define what is accepted and which message a bad
    text gets.  A scalar C loop runs at 1-2 GB/s; pybase64's C extension (libbase64: AVX2 here,
    NEON on ARM) at 10-16 GB/s, but only for the *standard* alphabet with padding, so large
    inputs go through it and this module supplies the rest.  Only the calls whose behaviour
    tests/test_base64.py pins, on every SIMD path pybase64 can select, are used:
    ``b64encode(data)`` and ``b64decode(text, None, True)`` (standard alphabet, validate=True),
    given bytes, an ASCII str or a byte memoryview of complete or correctly padded groups.  Its
    ``altchars`` decoding is not used: it accepts ``+`` and ``/`` in URL-safe text (with a
    DeprecationWarning only), and its chunked translation is slower than the one here.

Decoding a text of SMALL characters or more:
    1. Cheap checks on the trailing ``=`` (at most two; only on a length that is a multiple of 4;
       no lone character in the last group).  A text that fails them is invalid.
    2. alphabet "standard" or "any": pybase64 decodes the text where it lies (bytes, ASCII str and
       buffers, no copy).  Unpadded text, which pybase64 refuses: it decodes the whole groups
       through a zero-copy memoryview (which must not end in ``=``, or it would pass for their
       padding), the last 2-3 characters are decoded here, and the result is grown in place
       with ``_PyBytes_Resize`` (measured: as fast as padded text; copying the text to pad it
       costs +60%).  For "any", URL-safe text fails here at its first ``-`` or ``_``, usually
       within a few characters (worst case, a first URL-safe character near the end: decoded
       twice).
    3. alphabet "urlsafe" or "any": one pass translates the text into a padded standard-alphabet
       copy (``-`` -> ``+``, ``_`` -> ``/``, and ``+``, ``/`` -> 0xAB, 0xAF, which pybase64
       rejects: standard characters are not allowed in URL-safe text), which pybase64 decodes.
       The pass is a vector loop, 32 bytes at a time with AVX2 (runtime check), else 16.
    4. If pybase64 rejects the text, the scalar path re-reads it from the start and raises the
       reference's exact error (error paths may be slow; success paths are not).
    Texts shorter than SMALL use the scalar path only: for them a call into pybase64 costs about
    as much as the work, or more.

Encoding: inputs of SMALL bytes or more are encoded by pybase64 (standard alphabet, padded) into
a fresh bytes object this module alone holds; URL-safe output is translated in place (the same
vector loop) and ``pad=False`` shrinks it in place.  Shorter inputs: a scalar C loop.

pybase64 without its C extension (its pure-Python fallback) is refused at import: that
fallback's behaviour is not pinned and it is slow, and tensorwire never falls back to a slow
path silently.

The C kernels (the character values, the alphabet translations) are in ``base64_alphabet.h``.
"""

cimport cython
from cpython.buffer cimport PyBUF_READ, PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE, _PyBytes_Resize
from cpython.memoryview cimport PyMemoryView_FromMemory
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_REFCNT
from libc.string cimport memcpy

cdef object DecodeError, _pb_b64decode, _pb_b64encode
from ..errors import DecodeError

# pybase64's C extension itself, never its pure-Python fallback (see the module docstring).
from pybase64._pybase64 import b64decode as _pb_b64decode
from pybase64._pybase64 import b64encode as _pb_b64encode

cdef extern from "base64_alphabet.h":
    const unsigned char *tw_b64_value
    const char *tw_b64_standard
    const char *tw_b64_urlsafe
    int tw_ascii_data(object s, const unsigned char **data, Py_ssize_t *length) except -1
    void tw_standard_to_urlsafe(unsigned char *text, Py_ssize_t n) noexcept nogil
    void tw_urlsafe_to_standard(const unsigned char *src, unsigned char *dst, Py_ssize_t n) noexcept nogil

cdef enum:
    # Inputs shorter than this (characters to decode, bytes to encode) take the scalar path:
    # below it the call into pybase64 costs about as much as the work, or more (measured:
    # at 256 the scalar path takes ~0.3 us to encode and ~0.7 us to decode, as pybase64 does).
    SMALL = 256

cdef enum Alphabet:
    ANY, STANDARD, URLSAFE

cdef enum Problem:
    # What the scalar character check found (the reference's rule 2).
    FINE, PADDING_BEFORE_END, INVALID_CHARACTER, MIXED_ALPHABETS

cdef tuple _ALPHABETS = ("standard", "urlsafe", "any")
cdef str _WHAT = "base64"
cdef bytes _TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


# ---------------------------------------------------------------------------------------------
# Scalar kernels (small inputs, the last group of unpadded text, and the exact error scan)
# ---------------------------------------------------------------------------------------------

@cython.cdivision(True)
cdef Py_ssize_t _encoded_length(Py_ssize_t n, bint pad) noexcept nogil:
    cdef Py_ssize_t rem = n % 3
    return (n // 3) * 4 + (0 if rem == 0 else 4 if pad else rem + 1)


@cython.cdivision(True)
cdef void _encode_scalar(const unsigned char *src, Py_ssize_t n, unsigned char *dst,
                         const char *table, bint pad) noexcept nogil:
    """Encode n bytes into dst (room for _encoded_length(n, pad) characters)."""
    cdef Py_ssize_t i = 0
    cdef unsigned int v
    while i + 3 <= n:
        v = (<unsigned int>src[i] << 16) | (<unsigned int>src[i + 1] << 8) | src[i + 2]
        dst[0] = table[v >> 18]
        dst[1] = table[(v >> 12) & 63]
        dst[2] = table[(v >> 6) & 63]
        dst[3] = table[v & 63]
        dst += 4
        i += 3
    if n - i == 1:
        v = <unsigned int>src[i] << 16
        dst[0] = table[v >> 18]
        dst[1] = table[(v >> 12) & 63]
        if pad:
            dst[2] = b'='
            dst[3] = b'='
    elif n - i == 2:
        v = (<unsigned int>src[i] << 16) | (<unsigned int>src[i + 1] << 8)
        dst[0] = table[v >> 18]
        dst[1] = table[(v >> 12) & 63]
        dst[2] = table[(v >> 6) & 63]
        if pad:
            dst[3] = b'='


@cython.cdivision(True)
cdef Py_ssize_t _decoded_length(Py_ssize_t stop) noexcept nogil:
    """Bytes decoded from ``stop`` data characters (stop % 4 != 1)."""
    cdef Py_ssize_t rem = stop % 4
    return (stop // 4) * 3 + (rem - 1 if rem else 0)


cdef void _decode_scalar(const unsigned char *src, Py_ssize_t stop, unsigned char *dst) noexcept nogil:
    """Decode ``stop`` characters already checked to be of one alphabet (stop % 4 != 1).

    Trailing bits of a final partial group are dropped, as the reference does.
    """
    cdef Py_ssize_t i = 0
    cdef unsigned int v
    while i + 4 <= stop:
        v = ((<unsigned int>tw_b64_value[src[i]] << 18) | (<unsigned int>tw_b64_value[src[i + 1]] << 12)
             | (<unsigned int>tw_b64_value[src[i + 2]] << 6) | tw_b64_value[src[i + 3]])
        dst[0] = <unsigned char>(v >> 16)
        dst[1] = <unsigned char>(v >> 8)
        dst[2] = <unsigned char>v
        dst += 3
        i += 4
    if stop - i >= 2:
        v = (<unsigned int>tw_b64_value[src[i]] << 18) | (<unsigned int>tw_b64_value[src[i + 1]] << 12)
        if stop - i == 3:
            v |= <unsigned int>tw_b64_value[src[i + 2]] << 6
            dst[1] = <unsigned char>(v >> 8)
        dst[0] = <unsigned char>(v >> 16)


cdef inline bint _is_urlsafe_only(unsigned char c) noexcept nogil:
    return c == b'-' or c == b'_'


cdef Problem _check_characters(const unsigned char *src, Py_ssize_t stop, Alphabet alphabet,
                               Py_ssize_t *where) noexcept nogil:
    """The reference's rule 2: the first character before the padding that is not allowed."""
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef int used = -1 if alphabet == ANY else (alphabet == URLSAFE)  # -1: not decided yet
    cdef int urlsafe_char
    for i in range(stop):
        c = src[i]
        if tw_b64_value[c] < 62:  # in both alphabets
            continue
        if tw_b64_value[c] == 255:
            where[0] = i
            return PADDING_BEFORE_END if c == b'=' else INVALID_CHARACTER
        urlsafe_char = _is_urlsafe_only(c)
        if used == -1:
            used = urlsafe_char
        elif used != urlsafe_char:
            where[0] = i
            return MIXED_ALPHABETS if alphabet == ANY else INVALID_CHARACTER
    return FINE


cdef bytes _decode_exact(const unsigned char *src, Py_ssize_t length, Alphabet alphabet):
    """The reference's rules 2-4 in its order, then the scalar decode: exact errors, any size."""
    cdef Py_ssize_t stop = length
    cdef Py_ssize_t where = 0
    cdef Py_ssize_t npad
    cdef Problem problem
    cdef bytes out
    while stop and src[stop - 1] == b'=':
        stop -= 1
    problem = _check_characters(src, stop, alphabet, &where)
    if problem == PADDING_BEFORE_END:
        raise DecodeError(f"{_WHAT}: padding '='", where, " before the end of the text")
    if problem == INVALID_CHARACTER:
        raise DecodeError(f"{_WHAT}: invalid character 0x{src[where]:02x}", where)
    if problem == MIXED_ALPHABETS:
        raise DecodeError(f"{_WHAT}: mixed alphabets: {chr(src[where])!r}", where)
    npad = length - stop
    if npad > 2:
        raise DecodeError(f"{_WHAT}: {npad} padding characters", stop)
    if npad and length % 4:
        raise DecodeError(f"{_WHAT}: incorrect padding: text of length {length} is not a multiple of 4")
    if stop % 4 == 1:
        raise DecodeError(f"{_WHAT}: truncated: a single character in the last group", stop - 1)
    out = PyBytes_FromStringAndSize(NULL, _decoded_length(stop))
    _decode_scalar(src, stop, <unsigned char *>PyBytes_AS_STRING(out))
    return out


# ---------------------------------------------------------------------------------------------
# Bulk paths: pybase64 for the transform, one-pass loops here for what it does not do
# ---------------------------------------------------------------------------------------------

cdef PyObject *_hand_over(object obj):
    """A new reference to ``obj``, for the caller to hand to _resize_owned."""
    Py_INCREF(obj)
    return <PyObject *>obj


cdef bytes _resize_owned(PyObject *owned, Py_ssize_t size):
    """Resize a bytes object to ``size`` bytes, taking over the reference the caller hands over.

    In place (no copy) when that is the only reference, as it is for a result pybase64 has just
    made; otherwise a copy.  Bytes beyond the old size are for the caller to fill.
    """
    cdef Py_ssize_t keep
    cdef bytes result, old
    if Py_REFCNT(<object>owned) == 1:
        _PyBytes_Resize(&owned, size)  # on failure it released the object and set MemoryError
        result = <bytes>owned
        Py_DECREF(result)  # the handed-over reference (``result`` holds its own)
        return result
    old = <bytes>owned
    Py_DECREF(old)
    keep = min(size, PyBytes_GET_SIZE(old))
    result = PyBytes_FromStringAndSize(NULL, size)
    memcpy(PyBytes_AS_STRING(result), PyBytes_AS_STRING(old), keep)
    return result


cdef bytes _encode_bulk(object data, bint urlsafe, bint pad):
    cdef Py_ssize_t size
    cdef unsigned char *chars
    cdef PyObject *owned
    cdef bytes out
    out = _pb_b64encode(data)  # standard alphabet, padded
    size = PyBytes_GET_SIZE(out)
    if urlsafe:
        if Py_REFCNT(out) == 1:  # ours alone: translate in place
            chars = <unsigned char *>PyBytes_AS_STRING(out)
            with nogil:
                tw_standard_to_urlsafe(chars, size)
        else:
            out = out.translate(_TO_URLSAFE)
    if not pad and size and PyBytes_AS_STRING(out)[size - 1] == b'=':
        if PyBytes_AS_STRING(out)[size - 2] == b'=':
            size -= 2
        else:
            size -= 1
        owned = _hand_over(out)
        out = None
        out = _resize_owned(owned, size)
    return out


cdef object _decode_standard(object text, const unsigned char *src, Py_ssize_t length, Py_ssize_t stop):
    """pybase64's decoding of standard-alphabet text, or None if it is not valid as such.

    ``stop`` is the length without the padding; the structural padding checks have passed.
    """
    cdef Py_ssize_t rem = stop % 4
    cdef Py_ssize_t whole = stop - rem
    cdef Py_ssize_t i, size
    cdef PyObject *owned
    cdef bytes out
    if rem == 0 or stop != length:  # complete groups, or correctly padded: pybase64 as it is
        try:
            return _pb_b64decode(text, None, True)
        except ValueError:
            return None
    # Unpadded.  pybase64 requires the padding: it decodes the whole groups (a view, no copy)
    # and the 2 or 3 characters of the last group are decoded here, into the grown result.
    # The whole groups must not end in '=': pybase64 would take it for their padding.
    if whole == 0 or src[whole - 1] == b'=':
        return None
    for i in range(whole, stop):
        if tw_b64_value[src[i]] == 255 or _is_urlsafe_only(src[i]):
            return None
    try:
        out = _pb_b64decode(PyMemoryView_FromMemory(<char *>src, whole, PyBUF_READ), None, True)
    except ValueError:
        return None
    size = PyBytes_GET_SIZE(out)
    owned = _hand_over(out)
    out = None
    out = _resize_owned(owned, size + rem - 1)
    _decode_scalar(src + whole, rem, <unsigned char *>PyBytes_AS_STRING(out) + size)
    return out


cdef object _decode_urlsafe(const unsigned char *src, Py_ssize_t stop):
    """pybase64's decoding of a padded standard-alphabet copy of URL-safe text, or None if it
    is not valid URL-safe text.  ``stop`` is the length without the padding."""
    cdef Py_ssize_t size = stop + (-stop & 3)
    cdef Py_ssize_t i
    cdef unsigned char *dst
    cdef bytes standard
    standard = PyBytes_FromStringAndSize(NULL, size)
    dst = <unsigned char *>PyBytes_AS_STRING(standard)
    with nogil:
        tw_urlsafe_to_standard(src, dst, stop)
    for i in range(stop, size):
        dst[i] = b'='
    try:
        return _pb_b64decode(standard, None, True)
    except ValueError:
        return None


cdef bytes _decode(object text, const unsigned char *src, Py_ssize_t length, Alphabet alphabet):
    cdef Py_ssize_t stop = length
    cdef bytes out
    if length >= SMALL:
        while stop and src[stop - 1] == b'=':
            stop -= 1
        # The reference's rules 3 and 4; a text that breaks them is invalid (rule 2 may still
        # decide the message, so the exact path below reports it).
        if length - stop <= 2 and (stop == length or length % 4 == 0) and stop % 4 != 1:
            if alphabet != URLSAFE:
                out = _decode_standard(text, src, length, stop)
                if out is not None:
                    return out
            if alphabet != STANDARD:
                out = _decode_urlsafe(src, stop)
                if out is not None:
                    return out
    return _decode_exact(src, length, alphabet)


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------

def b64encode(data, *, urlsafe=False, pad=True):
    """Base64 of ``data`` (any bytes-like object) as ASCII bytes."""
    cdef Py_buffer buf
    cdef bint url
    cdef bint padded
    cdef bytes out
    cdef object view
    if isinstance(data, str):
        raise TypeError("b64encode takes bytes or a buffer, not str")
    if not isinstance(data, bytes):
        view = memoryview(data)
        data = view.cast("B") if view.nbytes else b""  # (cast refuses N-d views with no bytes)
    url = urlsafe
    padded = pad
    if len(data) >= SMALL:
        return _encode_bulk(data, url, padded)
    PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)
    try:
        out = PyBytes_FromStringAndSize(NULL, _encoded_length(buf.len, padded))
        _encode_scalar(<const unsigned char *>buf.buf, buf.len, <unsigned char *>PyBytes_AS_STRING(out),
                       tw_b64_urlsafe if url else tw_b64_standard, padded)
        return out
    finally:
        PyBuffer_Release(&buf)


def b64decode(text, *, alphabet="any"):
    """Decode base64 ``text`` (bytes-like or ASCII ``str``) strictly; see ``tensorwire.codecs.base64``.

    ``alphabet`` is ``"standard"``, ``"urlsafe"`` or ``"any"`` (either, not mixed in one text).
    """
    cdef Alphabet which
    cdef const unsigned char *src = NULL
    cdef Py_ssize_t length = 0
    cdef Py_buffer view
    cdef object mv
    if alphabet not in _ALPHABETS:
        raise ValueError(f"alphabet must be one of {_ALPHABETS}, not {alphabet!r}")
    which = ANY if alphabet == "any" else URLSAFE if alphabet == "urlsafe" else STANDARD
    if isinstance(text, bytes):
        return _decode(text, <const unsigned char *>PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text), which)
    if isinstance(text, str):
        if not tw_ascii_data(text, &src, &length):
            raise DecodeError(f"{_WHAT}: non-ASCII character", length)
        return _decode(text, src, length, which)
    mv = memoryview(text)
    if not mv.c_contiguous:
        raise TypeError("b64decode needs a C-contiguous buffer")
    PyObject_GetBuffer(mv, &view, PyBUF_SIMPLE)
    try:
        return _decode(mv, <const unsigned char *>view.buf, view.len, which)
    finally:
        PyBuffer_Release(&view)
