# cython: language_level=3, embedsignature=True
"""Base64 encoding into a caller's buffer (see ``_b64enc.pxd`` for the contract).

Two paths, identical output (tests/test_b64enc.py checks them against each other and the
stdlib):

AVX2 (x86 with GCC or Clang, used when the CPU has AVX2, checked once at import), after Muła &
Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions" (2018).  One step turns 24
input bytes into 32 characters:
    1. Load: each 128-bit lane gets 12 of the 24 bytes.  The first step loads src[0:16] and
       src[12:28] separately; every later step loads the 32 bytes src[i-4 : i+28] at once, so
       lane 0 holds its 12 bytes at offset 4 and lane 1 at offset 0.  Either way a step reads
       at most 4 bytes past its 24, so steps run while i + 28 <= n: nothing outside src[0:n]
       is read.
    2. pshufb each 3-byte group (a, b, c) into a 32-bit word with bytes (b, a, c, b).
    3. The 6-bit split, two 16-bit halves per word: the low half is a:b with the first index
       in bits 15..10 and the second in bits 9..4; the high half is b:c with the third index in
       bits 11..6 and the fourth in bits 5..0.  Masking the first and third (0x0FC0FC00) and
       taking the high 16 bits of a multiply by 2^6 and 2^10 (vpmulhuw) shifts them right by 10
       and 6; masking the second and fourth (0x003F03F0) and a low multiply by 2^4 and 2^8
       (vpmullw) shifts them left by 4 and 8.  OR-ed, every byte is one index, in text order.
    4. Index -> character by adding an offset looked up with pshufb: a class number
       subs_epu8(i, 51) - (i > 25) is 0 for 0..25 (offset 'A'), 1 for 26..51 ('a' - 26),
       2..11 for 52..61 ('0' - 52), 12 for 62 and 13 for 63.  Only entries 12 and 13 differ
       between the alphabets ('+' / '-' - 62 and '/' / '_' - 63), so the URL-safe text is made
       directly by its own table, with no second pass.
    5. Store 32 characters, exactly the step's share of the output.

Scalar (the rest of the input, and everything without AVX2): a 4096-entry table of 2-character
pairs per alphabet (one pair per 12 bits, built at import), two lookups per 3 bytes; the last 1
or 2 bytes use the 64-character alphabet and the padding.

Both loops, the tables and the CPU check are C, in ``base64_encode.h``.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memcmp, memset

cdef extern from "base64_encode.h":
    int tw_b64e_avx2_ok
    Py_ssize_t tw_b64e_encode(const unsigned char *src, Py_ssize_t n, char *out,
                              int urlsafe, int pad, int simd, Py_ssize_t *simd_bytes) noexcept nogil
    void tw_b64e_init() noexcept nogil

tw_b64e_init()


@cython.cdivision(True)
cdef Py_ssize_t b64_encoded_size(Py_ssize_t n, bint pad) noexcept nogil:
    cdef Py_ssize_t groups = n // 3
    cdef Py_ssize_t rem = n - groups * 3
    if n < 0 or groups > (PY_SSIZE_T_MAX - 4) // 4:
        return -1
    return groups * 4 + (0 if rem == 0 else 4 if pad else rem + 1)


cdef Py_ssize_t b64_encode_into(const unsigned char* src, Py_ssize_t n, char* out, bint urlsafe, bint pad) noexcept nogil:
    cdef Py_ssize_t simd_bytes = 0
    return tw_b64e_encode(src, n, out, urlsafe, pad, tw_b64e_avx2_ok, &simd_bytes)


# ---------------------------------------------------------------------------------------------
# Test hooks (tests/test_b64enc.py, benchmarks): the tw_b64e_encode that b64_encode_into runs
# ---------------------------------------------------------------------------------------------

cdef enum:
    GUARD = 64  # sentinel bytes on each side of the output in encode_with_guard
    SENTINEL = 0xA5  # not a base64 character


@cython.auto_pickle(False)
cdef class _Input:
    """A contiguous buffer's bytes, held (PyBUF_SIMPLE: any format) until release()."""
    cdef Py_buffer view
    cdef bint held

    def __cinit__(self, object data):
        PyObject_GetBuffer(data, &self.view, PyBUF_SIMPLE)
        self.held = True

    cdef void release(self) noexcept:
        if self.held:
            self.held = False
            PyBuffer_Release(&self.view)

    def __dealloc__(self):
        self.release()


cdef Py_ssize_t _size(Py_ssize_t n, bint pad) except -1:
    cdef Py_ssize_t size = b64_encoded_size(n, pad)
    if size < 0:
        raise OverflowError("input too large to encode")
    return size


cdef Py_ssize_t _run(_Input src, char *out, Py_ssize_t size, bint urlsafe, bint pad, bint force_scalar,
                     Py_ssize_t *simd_bytes) except -1:
    """Encode src into out (room for exactly ``size`` characters), checking the count written."""
    cdef Py_ssize_t written
    with nogil:
        written = tw_b64e_encode(<const unsigned char *>src.view.buf, src.view.len, out, urlsafe, pad,
                                 tw_b64e_avx2_ok and not force_scalar, simd_bytes)
    if written != size:
        raise AssertionError(f"wrote {written} characters, expected {size}")
    return written


cdef tuple _encode_report(object data, bint urlsafe, bint pad, bint force_scalar):
    cdef _Input src = _Input(data)
    cdef Py_ssize_t size = _size(src.view.len, pad)
    cdef Py_ssize_t simd_bytes = 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    _run(src, PyBytes_AS_STRING(out), size, urlsafe, pad, force_scalar, &simd_bytes)
    src.release()
    return out, simd_bytes


def encode(data, urlsafe=False, pad=True, force_scalar=False) -> bytes:
    """The base64 text of ``data`` (any contiguous buffer); ``force_scalar`` skips the AVX2 loop."""
    return _encode_report(data, urlsafe, pad, force_scalar)[0]


def encode_report(data, urlsafe=False, pad=True, force_scalar=False) -> tuple:
    """(text, number of input bytes the AVX2 loop encoded): 0 without AVX2 or with force_scalar."""
    return _encode_report(data, urlsafe, pad, force_scalar)


def encode_into(data, out, urlsafe=False, pad=True, force_scalar=False) -> int:
    """Encode ``data`` at the start of the writable buffer ``out``; returns the characters written
    (for benchmarks: no allocation per call)."""
    cdef _Input src = _Input(data)
    cdef Py_ssize_t size = _size(src.view.len, pad)
    cdef Py_ssize_t simd_bytes = 0
    cdef unsigned char[::1] dst = out
    if dst.shape[0] < size:
        raise ValueError(f"output buffer of {dst.shape[0]} bytes, {size} needed")
    if size == 0:
        return 0
    return _run(src, <char *>&dst[0], size, urlsafe, pad, force_scalar, &simd_bytes)


def encode_with_guard(data, urlsafe=False, pad=True, force_scalar=False) -> tuple:
    """(text, guard_ok): encoded into an exactly sized region between two sentinel regions;
    guard_ok is whether all the sentinels are intact afterwards."""
    cdef _Input src = _Input(data)
    cdef Py_ssize_t size = _size(src.view.len, pad)
    cdef Py_ssize_t simd_bytes = 0
    cdef bytearray buf = bytearray(size + 2 * GUARD)
    cdef char *chars = buf
    cdef unsigned char sentinels[GUARD]
    cdef bint guard_ok
    memset(sentinels, SENTINEL, GUARD)
    memset(chars, SENTINEL, size + 2 * GUARD)
    _run(src, chars + GUARD, size, urlsafe, pad, force_scalar, &simd_bytes)
    src.release()
    guard_ok = memcmp(chars, sentinels, GUARD) == 0 and memcmp(chars + GUARD + size, sentinels, GUARD) == 0
    return PyBytes_FromStringAndSize(chars + GUARD, size), guard_ok


def has_avx2() -> bool:
    """Whether b64_encode_into runs the AVX2 loop on this CPU."""
    return bool(tw_b64e_avx2_ok)
