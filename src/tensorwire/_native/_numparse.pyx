# cython: language_level=3, embedsignature=True
"""Correctly rounded decimal -> float16/32/64 (and int64/uint64) parsing, in C.

The C-level twin of ``tensorwire.codecs.numtext.parse_number`` (whose docstring is the
definition): the functions declared in ``_numparse.pxd`` are ``noexcept nogil`` and touch no
Python object on their hot paths.  ``parse_float``, ``parse_fast`` and ``parse_values`` are
test hooks.  The scanning kernels are C, in ``number_parse.h``.

Scanning.  One pass checks the grammar ``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?`` and
reads the value as ``w * 10**q``: ``w`` holds the first 19 significant digits (leading zeros
are not significant; a later digit that does not fit is *dropped*, and ``truncated`` records
whether any dropped digit is nonzero), ``q`` is the exponent minus the number of fraction
digits plus the number of dropped digits.  The exponent saturates at 10**8 (whatever is beyond
is far out of every format's range), so ``1e999999999999999999999`` is infinity, not overflow.
The common shapes (up to 7 integer digits and 8 fraction digits, or 3 and 15) are read by
``_scan_fast`` a word at a time: the token's bytes are loaded 8 at a time without reading
outside it, digits found and valued with SWAR arithmetic, nearly without branches; everything
else, and every error, goes through the byte-wise ``_scan``.  ``parse_values`` finds the commas
64 bytes at a time first, so that no token's parse waits for the previous one's end.

The 16-byte tier, tried before all of that by every entry point (``tw_np_scan16`` and its
callers in number_parse.h): a plain decimal ``-?[0-9]+(\.[0-9]+)?`` of at most 15 characters
after the sign, with no exponent, is read from one 16-byte load (SSE2 where available, a
portable byte loop otherwise): digit, dot and exponent-letter bit masks give the shape and the
length, the digits are valued in the vector unit, and the value is ``big / 10**e10`` with
``big < 10**16`` (``w * 10**j``, w the digits, recovered exactly as ``(big >> j) * 5**-j`` mod
2**64).  Such a number is < 10**15 with at most 14 fraction digits, so Clinger's condition
always holds: float64 is ``w / 10**k`` (one correctly rounded division); float32 is
``RN64(big) * RN64(10**-e10)`` narrowed, unless that double is within 8 ulps of a float32
midpoint pattern (three roundings put it within 3.0001 ulps of the exact value; see
``tw_np_fast_f32``), when the general path decides; float16 goes through ``_dec_f16``.  The
load reads at most 17 bytes from the token's start: with fewer than 17 readable (the exact-
length forms, a token at the end of the buffer) the bytes are first copied to a zeroed
buffer; ``parse_values`` lets a token be read up to the end of the data and checks that the
number ends at the comma.  Anything the tier does not take (other shapes, errors, exponents,
longer numbers, near-midpoints) goes the general way below, unchanged.

Rounding ``w * 10**q`` (w < 2**64) to a binary format with ``mant`` fraction bits:
    1. Zero, and ``q`` out of range: ``w * 10**q < 10**(19+q)``, below half the smallest
       subnormal for ``q`` < -342 / -64 / -26 (float64/32/16): zero.  ``w * 10**q >= 10**q``,
       above the largest finite value plus half an ulp for ``q`` > 308 / 38 / 4: infinity.
    2. Clinger's fast path, float64: ``w <= 2**53`` and ``|q| <= 22``: ``w`` and ``10**|q|``
       are exact doubles, so one IEEE multiplication or division is correctly rounded.
       float32 uses the same double ``d = RN64(w * 10**q)`` and narrows it, which is correct
       unless ``d`` lies exactly on a midpoint between two float32 neighbours: every float32 and
       every float32 midpoint is a double, RN64 is monotone and fixes doubles, so the decimal and
       ``d`` are on the same side of every midpoint other than ``d`` itself.  When ``d`` is a
       midpoint (bits 0-28 of its significand are exactly ``1 << 28``) step 3 decides.
    3. Eisel-Lemire (Lemire, "Number Parsing at a Gigabyte per Second", 2021), in this form:
       ``5**q = X * 2**(L-127)`` with ``X`` in ``[2**127, 2**128)``; the table holds the 128-bit
       ``T = floor(X)`` for ``q >= 0`` (exact for ``q <= 55``) and ``T = floor(X) + 1 > X`` for
       ``q < 0`` (``X`` is never an integer there).  With ``w' = w << lz`` normalised, the
       192-bit product ``Pc = w' * T`` is computed exactly (two 64x64->128 multiplications),
       and the true ``P = w' * X`` lies in ``[Pc, Pc + w')`` (``q > 55``), ``(Pc - w', Pc)``
       (``q < 0``) or is ``Pc`` (``0 <= q <= 55``), with ``w * 10**q = P * 2**(L-127+q-lz)``.
       The quantum of the result is ``2**(e - mant)`` for ``e = floor(log2 value)`` (fixed at
       the subnormal quantum below the normal range), i.e. a shift ``k`` of ``P``; the result is
       ``floor(P / 2**k)`` rounded by the class of the remainder (zero, below half, exactly half,
       above half).  When ``P`` is exact that decides every case, ties to even included.
       Otherwise both ends of the interval must give the same quotient and the same class,
       strictly below or above half, or the case is *undecided*.  The argument does not depend
       on the format, so float16 uses the same routine (``mant`` = 10), directly: nothing is
       rounded twice.
    4. Undecided with ``-27 <= q < 0``, no dropped digits and ``5**-q`` dividing ``w``: the value
       is the dyadic ``(w / 5**-q) * 2**q`` (this is how exactly representable texts such as
       ``1.5`` and exact midpoints such as ``0.5000000596046447753906250`` arrive), rounded
       exactly by the same routine.
    5. More than 19 significant digits: the value lies strictly between ``w * 10**q`` and
       ``(w + 1) * 10**q``; rounding is monotone, so if steps 3-4 give both the same result, it
       is the result.
    6. Slow path, for what is still undecided (digits beyond 19 that straddle a rounding
       boundary, e.g. long exact midpoints, and products within 2**-126 of a boundary, which
       random data essentially never produces): this module takes the GIL and calls the
       reference, ``tensorwire.codecs.numtext.parse_number``, which decides it with exact
       rational arithmetic.  Its result is correct by definition; an exception there (there
       should be none: the text is a valid number by then) is reported as -1.

Tables.  ``_pow_hi``/``_pow_lo``/``_pow_e`` (the 128-bit ``T`` and the binary exponent for
``q`` in ``[-342, 308]``), ``_pow5`` (``5**0 .. 5**27``) and ``_pow10`` (``1e0 .. 1e22``) are
static C arrays computed from Python integers by ``_init_tables`` when the module is imported,
written that one time and only read afterwards.  They are the module's only C-level state.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

cdef object np, DecodeError, _ref_parse_number, _REF_MAX_NUMBER_CHARS, _DTYPES
import numpy as np

from ..codecs.numtext import MAX_NUMBER_CHARS as _REF_MAX_NUMBER_CHARS
from ..codecs.numtext import parse_number as _ref_parse_number
from ..errors import DecodeError

cdef extern from "number_parse.h":
    uint64_t tw_np_mul(uint64_t a, uint64_t b, uint64_t* lo) nogil
    int tw_np_clz(uint64_t x) nogil
    int tw_np_ctz(uint64_t x) nogil
    uint64_t tw_np_load8(const char* p) nogil
    uint64_t tw_np_word(const char* p, const char* end) nogil
    uint64_t tw_np_small(const char* p, Py_ssize_t n) nogil
    uint64_t tw_np_small_word(uint64_t small, Py_ssize_t off) nogil
    uint64_t tw_np_comma_mask64(const char* p) nogil
    uint64_t TW_NP_ZEROS
    int tw_np_count_digits(uint64_t t) nogil
    uint64_t tw_np_value8(uint64_t t) nogil
    const uint64_t tw_np_mask_lo[9]
    uint32_t tw_np_digits8(uint64_t v) nogil
    int tw_np_ndigits8(uint64_t v) nogil
    uint32_t tw_np_digits_n(uint64_t v, int n) nogil
    uint32_t tw_np_pow10_u32[9]
    double tw_np_pow10_f64[16]
    double tw_np_rcp10_f64[16]
    uint64_t tw_np_inv5[16]
    Py_ssize_t tw_np_fast_num(const char* s, Py_ssize_t n, uint64_t* w, int* nfrac, int* neg) nogil
    Py_ssize_t tw_np_fast_f64(const char* s, Py_ssize_t n, double* out) nogil
    Py_ssize_t tw_np_fast_f32(const char* s, Py_ssize_t n, float* out) nogil


cdef enum:
    MAX_CHARS = 1100
    Q_LO = -342                 # table range: every q that can give a nonzero finite float64
    Q_HI = 308
    N_POW = Q_HI - Q_LO + 1
    EXACT_Q_HI = 55             # 5**q < 2**128: T exact for 0 <= q <= 55
    DYADIC_Q = 27               # 5**27 < 2**64
    EXP_CAP = 100000000         # the exponent saturates here

# Formats: fraction bits, exponent of the smallest normal, all-ones biased exponent, q range.
cdef enum:
    F64_MANT = 52
    F64_EMIN = -1022
    F64_INF = 2047
    F64_QMIN = -342
    F64_QMAX = 308
    F32_MANT = 23
    F32_EMIN = -126
    F32_INF = 255
    F32_QMIN = -64
    F32_QMAX = 38
    F16_MANT = 10
    F16_EMIN = -14
    F16_INF = 31
    F16_QMIN = -26
    F16_QMAX = 4

# Parse targets: the type a text is parsed into (the index of its dtype in _DTYPES).
cdef enum:
    TARGET_F16 = 0
    TARGET_F32 = 1
    TARGET_F64 = 2
    TARGET_I64 = 3
    TARGET_U64 = 4

# Written once by _init_tables at import, read-only afterwards (see the module docstring).
cdef uint64_t _pow_hi[N_POW]
cdef uint64_t _pow_lo[N_POW]
cdef int32_t _pow_e[N_POW]
cdef uint64_t _pow5[DYADIC_Q + 1]
cdef double _pow10[23]


cdef int _init_tables() except -1:
    # All arithmetic here is on Python integers (exact); only the results are C values.
    cdef int i
    cdef object q, p, t, l, b
    cdef object one = 1, five = 5, ten = 10
    cdef object lo_bound = one << 127, hi_bound = one << 128, mask64 = (one << 64) - 1
    assert _REF_MAX_NUMBER_CHARS == MAX_CHARS
    for i in range(N_POW):
        q = i + Q_LO
        if q >= 0:
            p = five ** q
            l = p.bit_length() - 1                       # floor(log2 5**q)
            t = (p << (127 - l)) if l <= 127 else (p >> (l - 127))
        else:
            p = five ** (-q)
            b = p.bit_length()                           # ceil(log2 5**-q): not a power of 2
            l = -b                                       # floor(log2 5**q)
            t = (one << (127 + b)) // p + 1
        if not lo_bound <= t < hi_bound:
            raise AssertionError(f"_numparse: bad table entry for q={q}")
        _pow_hi[i] = <uint64_t>(t >> 64)
        _pow_lo[i] = <uint64_t>(t & mask64)
        _pow_e[i] = <int32_t>(l + q - 127)               # w * 10**q = (w' * T) * 2**(_pow_e - lz)
    for i in range(DYADIC_Q + 1):
        _pow5[i] = <uint64_t>(five ** i)
    for i in range(23):
        _pow10[i] = float(ten ** i)                      # exact: 10**22 = 5**22 * 2**22, 5**22 < 2**53
    # The 16-byte tier's C literal tables, checked against exact arithmetic.
    for i in range(16):
        if (tw_np_pow10_f64[i] != float(ten ** i) or tw_np_rcp10_f64[i] != one / ten ** i
                or (tw_np_inv5[i] * five ** i) & mask64 != 1):
            raise AssertionError(f"_numparse: bad 16-byte-tier table entry {i}")
    return 0


_init_tables()

_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64),
           np.dtype(np.int64), np.dtype(np.uint64))


# ------------------------------------------------------------------------------------------
# scanning


cdef struct Dec:
    uint64_t w          # the first 19 significant digits
    int64_t q           # value = (w + tail) * 10**q, 0 <= tail < 1
    int neg
    int truncated       # a dropped digit was nonzero (tail > 0)


cdef inline const char* _scan(const char* p, const char* end, Dec* d) noexcept nogil:
    """Read one number at p (not past end); the position after it, or NULL if there is none."""
    cdef uint64_t w = 0, v
    cdef unsigned int c
    cdef int nd = 0, truncated = 0, eneg = 0, k
    cdef int64_t dropped = 0, nfrac = 0, ex = 0
    cdef const char* frac
    d.neg = 0
    if p < end and p[0] == b'-':
        d.neg = 1
        p += 1
    if p >= end:
        return NULL
    c = <unsigned int>(<unsigned char>p[0]) - 48u
    if c == 0:
        p += 1
    elif c <= 9:
        w = c
        nd = 1
        p += 1
        if end - p >= 8:
            k = tw_np_ndigits8(tw_np_load8(p))
            if k > 0:
                w = w * tw_np_pow10_u32[k] + tw_np_digits_n(tw_np_load8(p), k)
                nd += k
                p += k
        while p < end:
            c = <unsigned int>(<unsigned char>p[0]) - 48u
            if c > 9:
                break
            if nd < 19:
                w = w * 10 + c
                nd += 1
            else:
                dropped += 1
                truncated |= c != 0
            p += 1
    else:
        return NULL
    if p < end and p[0] == b'.':
        p += 1
        frac = p
        if w == 0:
            while p < end and p[0] == b'0':
                p += 1
        while nd <= 11 and end - p >= 8:
            v = tw_np_load8(p)
            k = tw_np_ndigits8(v)
            if k == 0:
                break
            w = w * tw_np_pow10_u32[k] + tw_np_digits_n(v, k)
            nd += k
            p += k
            if k < 8:
                break
        while p < end:
            c = <unsigned int>(<unsigned char>p[0]) - 48u
            if c > 9:
                break
            if nd < 19:
                w = w * 10 + c
                nd += 1
            else:
                dropped += 1
                truncated |= c != 0
            p += 1
        nfrac = p - frac
        if nfrac == 0:
            return NULL
    if p < end and (p[0] | 0x20) == b'e':
        p += 1
        if p < end and (p[0] == b'-' or p[0] == b'+'):
            eneg = p[0] == b'-'
            p += 1
        if p >= end or <unsigned int>(<unsigned char>p[0]) - 48u > 9:
            return NULL
        while p < end:
            c = <unsigned int>(<unsigned char>p[0]) - 48u
            if c > 9:
                break
            if ex < EXP_CAP:
                ex = ex * 10 + c
            p += 1
        if eneg:
            ex = -ex
    d.w = w
    d.q = ex - nfrac + dropped
    d.truncated = truncated
    return p


cdef inline uint64_t _word(const char* p, const char* s, const char* end, uint64_t small) noexcept nogil:
    """The 8 bytes from p (zeros at and past end) of the token [s, end)."""
    if end - s < 8:
        return tw_np_small_word(small, p - s)
    return tw_np_word(p, end)


cdef inline const char* _scan_fast(const char* s, const char* end, Dec* d) noexcept nogil:
    """``_scan`` for the common shapes (integer part of 1-7 digits; up to 8 fraction digits, or
    up to 15 with an integer part of at most 3 digits), in 8-byte words and nearly without
    branches; NULL if the text is anything else (``_scan`` then decides).  Where it returns a
    position, ``_scan`` returns the same.  The fraction is read left-aligned in 8 (or 16) digit
    positions, i.e. with trailing zeros: ``w`` may carry zeros that ``_scan`` would not."""
    cdef uint64_t small = 0, a, b, c, w, w3
    cdef int neg, k1, k2, k3
    cdef unsigned int nxt, ch
    cdef int64_t q = 0, ex = 0
    cdef const char* p
    cdef int eneg = 0
    if end - s < 8:
        if end <= s:
            return NULL
        small = tw_np_small(s, end - s)
    neg = s[0] == b'-'
    p = s + neg
    a = _word(p, s, end, small) ^ TW_NP_ZEROS
    k1 = tw_np_count_digits(a)
    if k1 == 0 or k1 == 8 or (k1 > 1 and (a & 0xFF) == 0):
        return NULL
    w = tw_np_value8(a << (8 * (8 - k1)))               # right-aligned integer part
    p += k1
    nxt = <unsigned int>((a >> (8 * k1)) & 0xFF)        # next byte ^ 0x30 ('.' -> 0x1E, end -> 0x30)
    if nxt == 0x1E:
        b = _word(p + 1, s, end, small) ^ TW_NP_ZEROS
        c = _word(p + 9, s, end, small) ^ TW_NP_ZEROS
        k2 = tw_np_count_digits(b)
        k3 = tw_np_count_digits(c) if k2 == 8 else 0
        if k2 == 0 or k3 == 8 or (k3 != 0 and k1 > 3):
            return NULL
        w = w * 100000000u + tw_np_value8(b & tw_np_mask_lo[k2])
        w3 = w * 100000000u + tw_np_value8(c & tw_np_mask_lo[k3])
        w = w3 if k3 else w
        q = -16 if k3 else -8
        p += 1 + k2 + k3
        nxt = <unsigned int>(((c >> (8 * k3)) if k2 == 8 else (b >> (8 * k2))) & 0xFF)
    if ((nxt ^ 0x30u) | 0x20u) == 0x65u:                # 'e' or 'E'
        p += 1
        if p < end and (p[0] == b'-' or p[0] == b'+'):
            eneg = p[0] == b'-'
            p += 1
        if p >= end or <unsigned int>(<unsigned char>p[0]) - 48u > 9:
            return NULL
        while p < end:
            ch = <unsigned int>(<unsigned char>p[0]) - 48u
            if ch > 9:
                break
            if ex < EXP_CAP:
                ex = ex * 10 + ch
            p += 1
        if eneg:
            ex = -ex
    d.w = w
    d.q = q + ex
    d.neg = neg
    d.truncated = 0
    return p


cdef inline const char* _scan_number(const char* p, const char* end, Dec* d) noexcept nogil:
    cdef const char* q = _scan_fast(p, end, d)
    if q == NULL:
        q = _scan(p, end, d)
    return q


cdef inline const char* _scan_int(const char* p, const char* end, uint64_t* out, int* neg,
                                  int* overflow) noexcept nogil:
    """Read one integer literal at p; the position after it, or NULL.  Saturates on overflow."""
    cdef uint64_t v = 0
    cdef unsigned int c
    neg[0] = 0
    overflow[0] = 0
    if p < end and p[0] == b'-':
        neg[0] = 1
        p += 1
    if p >= end:
        return NULL
    c = <unsigned int>(<unsigned char>p[0]) - 48u
    if c == 0:
        out[0] = 0
        return p + 1
    if c > 9:
        return NULL
    while p < end:
        c = <unsigned int>(<unsigned char>p[0]) - 48u
        if c > 9:
            break
        if v > 1844674407370955161u or (v == 1844674407370955161u and c > 5):
            overflow[0] = 1
        else:
            v = v * 10 + c
        p += 1
    out[0] = v
    return p


# ------------------------------------------------------------------------------------------
# rounding


cdef inline int _rem_class(uint64_t x2, uint64_t x1, uint64_t x0, int s, uint64_t* m) noexcept nogil:
    """Split x2:x1:x0 at bit 128+s (1 <= s <= 64): quotient to m[0]; the remainder's class
    0 (zero), 1 (below half), 2 (exactly half) or 3 (above half)."""
    cdef uint64_t r, half
    if s >= 64:
        m[0] = 0
        r = x2
    else:
        m[0] = x2 >> s
        r = x2 & ((<uint64_t>1 << s) - 1)
    half = <uint64_t>1 << (s - 1)
    if r < half:
        return 1 if (r | x1 | x0) else 0
    if r == half and (x1 | x0) == 0:
        return 2
    return 3


cdef inline int _round_p(uint64_t p2, uint64_t p1, uint64_t p0, int64_t e0, int mode, uint64_t err,
                         int mant, int emin, uint64_t inf_biased, uint64_t* bits) noexcept nogil:
    """Round P * 2**e0 to the format (P = p2:p1:p0 >= 2**190 when exact, the computed product
    otherwise).  mode 0: P exact; -1: true P in (Pc - err, Pc]; +1: true P in [Pc, Pc + err).
    The format's bits (no sign) to bits[0] and 0, or 1 if undecided."""
    cdef int t = 190 + <int>(p2 >> 63)
    cdef int64_t e = t + e0, eq, k
    cdef uint64_t m = 0, m2 = 0, a0, a1, a2, biased, r, half, up, carry
    cdef int cls, cls2, s
    eq = (e if e > emin else emin) - mant
    k = eq - e0
    if k > 192:                      # P < 2**192 <= half the quantum: zero
        bits[0] = 0
        return 0
    s = <int>(k - 128)
    if mode != 0 and (p1 == 0 or p1 == 0xFFFFFFFFFFFFFFFFu):
        # Only here can the uncertainty (< 2**64) reach a multiple of half the quantum (p1 is
        # all zeros or all ones, so the remainder is within 2**64 of one): check both ends.
        cls = _rem_class(p2, p1, p0, s, &m)
        if mode < 0:
            a0 = p0 - err
            a1 = p1 - (p0 < err)
            a2 = p2 - (p1 == 0 and p0 < err)
        else:
            a0 = p0 + err
            a1 = p1 + (a0 < p0)
            a2 = p2 + (a1 == 0 and a0 < p0)
            if a2 < p2:
                return 1
        cls2 = _rem_class(a2, a1, a0, s, &m2)
        if m2 != m or cls2 != cls or cls == 0 or cls == 2:
            return 1
    if s >= 64:
        m = 0
        r = p2
    else:
        m = p2 >> s
        r = p2 & ((<uint64_t>1 << s) - 1)
    half = <uint64_t>1 << (s - 1)
    # Round half to even: up if above half, or exactly half (nothing below) and m odd.
    up = (r > half) | ((r == half) & (((p1 | p0) != 0) | (m & 1)))
    m += up
    carry = m >> (mant + 1)          # 1 only when rounding up overflowed into a new binade
    m >>= carry
    eq += <int64_t>carry
    if m >> mant:
        biased = <uint64_t>(eq + mant - emin + 1)
        if biased >= inf_biased:
            bits[0] = inf_biased << mant
        else:
            bits[0] = (biased << mant) | (m & ((<uint64_t>1 << mant) - 1))
    else:
        bits[0] = m
    return 0


cdef inline int _eisel_lemire(uint64_t w, int q, int mant, int emin, uint64_t inf_biased,
                              uint64_t* bits) noexcept nogil:
    """w * 10**q (w > 0, Q_LO <= q <= Q_HI) rounded to the format; 0, or 1 if undecided."""
    cdef int lz = tw_np_clz(w)
    cdef uint64_t wn = w << lz
    cdef int i = q - Q_LO
    cdef uint64_t lo_lo = 0, lo_hi, hi_lo = 0, hi_hi, p1, p2
    cdef int mode
    lo_hi = tw_np_mul(wn, _pow_lo[i], &lo_lo)
    hi_hi = tw_np_mul(wn, _pow_hi[i], &hi_lo)
    p1 = hi_lo + lo_hi
    p2 = hi_hi + (p1 < lo_hi)
    if q < 0:
        mode = -1
    elif q > EXACT_Q_HI:
        mode = 1
    else:
        mode = 0
    return _round_p(p2, p1, lo_lo, <int64_t>_pow_e[i] - lz, mode, wn, mant, emin, inf_biased, bits)


@cython.cdivision(True)
cdef inline int _to_bits(const Dec* d, int mant, int emin, uint64_t inf_biased, int qmin, int qmax,
                         uint64_t* bits) noexcept nogil:
    """The decimal rounded to the format (no sign); 0, or 1 if only the slow path can tell."""
    cdef uint64_t b1 = 0, b2 = 0, u
    cdef int q, lz
    if d.w == 0 or d.q < qmin:
        bits[0] = 0
        return 0
    if d.q > qmax:
        bits[0] = inf_biased << mant
        return 0
    q = <int>d.q
    if _eisel_lemire(d.w, q, mant, emin, inf_biased, &b1) == 0:
        if not d.truncated:
            bits[0] = b1
            return 0
        if _eisel_lemire(d.w + 1, q, mant, emin, inf_biased, &b2) == 0 and b1 == b2:
            bits[0] = b1
            return 0
        return 1
    if not d.truncated and -DYADIC_Q <= q < 0 and d.w % _pow5[-q] == 0:
        u = d.w // _pow5[-q]
        lz = tw_np_clz(u)
        return _round_p(u << lz, 0, 0, <int64_t>q - lz - 128, 0, 0, mant, emin, inf_biased, bits)
    return 1


@cython.cdivision(True)
cdef inline int _clinger(const Dec* d, double* out) noexcept nogil:
    """RN64(w * 10**q) when w and 10**|q| are exact doubles (then one operation rounds); 0, or 1."""
    cdef double x
    if d.truncated or d.w > 9007199254740992u or d.q < -22 or d.q > 22:
        return 1
    x = <double>d.w
    if d.q >= 0:
        x = x * _pow10[d.q]
    else:
        x = x / _pow10[-d.q]
    out[0] = x
    return 0


cdef inline int _dec_f64(const Dec* d, double* out) noexcept nogil:
    cdef double x = 0
    cdef uint64_t b = 0
    if _clinger(d, &x) == 0:
        out[0] = -x if d.neg else x
        return 0
    if _to_bits(d, F64_MANT, F64_EMIN, F64_INF, F64_QMIN, F64_QMAX, &b):
        return 1
    if d.neg:
        b |= <uint64_t>1 << 63
    memcpy(out, &b, 8)
    return 0


cdef inline int _dec_f32(const Dec* d, float* out) noexcept nogil:
    cdef double x = 0
    cdef uint64_t b = 0, xb = 0
    cdef uint32_t b32
    cdef float f
    if _clinger(d, &x) == 0:
        memcpy(&xb, &x, 8)
        if (xb & 0x1FFFFFFFu) != 0x10000000u:     # not a float32 midpoint: narrowing is exact RN
            f = <float>x
            out[0] = -f if d.neg else f
            return 0
    if _to_bits(d, F32_MANT, F32_EMIN, F32_INF, F32_QMIN, F32_QMAX, &b):
        return 1
    b32 = <uint32_t>b
    if d.neg:
        b32 |= 0x80000000u
    memcpy(out, &b32, 4)
    return 0


cdef inline int _dec_f16(const Dec* d, uint16_t* out) noexcept nogil:
    cdef uint64_t b = 0
    if _to_bits(d, F16_MANT, F16_EMIN, F16_INF, F16_QMIN, F16_QMAX, &b):
        return 1
    out[0] = <uint16_t>(b | (0x8000u if d.neg else 0u))
    return 0


# ------------------------------------------------------------------------------------------
# slow path: the reference, under the GIL


cdef int _slow(const char* s, Py_ssize_t n, int target, void* out) noexcept:
    """The reference's value of s[0:n] stored to out (in target's format); 0, or -1."""
    cdef object r
    cdef double x
    cdef float f
    cdef uint16_t h
    try:
        r = _ref_parse_number(PyBytes_FromStringAndSize(s, n), _DTYPES[target])
        if target == TARGET_F64:
            x = float(r)
            memcpy(out, &x, 8)
        elif target == TARGET_F32:
            f = float(r)
            memcpy(out, &f, 4)
        else:
            h = int(np.asarray(r, dtype=np.float16).view(np.uint16))
            memcpy(out, &h, 2)
    except Exception:
        return -1
    return 0


# ------------------------------------------------------------------------------------------
# the C API (_numparse.pxd)


cdef int _slow_nogil(const char* s, Py_ssize_t n, int target, void* out) noexcept nogil:
    with gil:
        return _slow(s, n, target, out)


cdef inline int _fast_dec(const char* s, Py_ssize_t n, Dec* d) noexcept nogil:
    """The 16-byte tier's reading of s[0:n] into d: 0, or 1 if it does not take exactly s[0:n]."""
    cdef uint64_t w = 0
    cdef int nfrac = 0, neg = 0
    if n <= 0 or tw_np_fast_num(s, n, &w, &nfrac, &neg) != n:
        return 1
    d.w = w
    d.q = -nfrac
    d.neg = neg
    d.truncated = 0
    return 0


cdef int _f64_full(const char* s, Py_ssize_t n, double* out) noexcept nogil:
    cdef Dec d
    if n > MAX_CHARS or _scan_number(s, s + n, &d) != s + n:
        return -1
    if _dec_f64(&d, out) == 0:
        return 0
    return _slow_nogil(s, n, TARGET_F64, out)


cdef int _f32_full(const char* s, Py_ssize_t n, float* out) noexcept nogil:
    cdef Dec d
    if n > MAX_CHARS or _scan_number(s, s + n, &d) != s + n:
        return -1
    if _dec_f32(&d, out) == 0:
        return 0
    return _slow_nogil(s, n, TARGET_F32, out)


cdef int _f16_full(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil:
    cdef Dec d
    if n > MAX_CHARS or _scan_number(s, s + n, &d) != s + n:
        return -1
    if _dec_f16(&d, out) == 0:
        return 0
    return _slow_nogil(s, n, TARGET_F16, out)


# The exact-length forms: the 16-byte tier, which must take all of s[0:n] (its result goes to
# a local first: out stays untouched on -1), else the general path.

cdef inline int _f64(const char* s, Py_ssize_t n, double* out) noexcept nogil:
    cdef double x = 0  # for Cython's flow analysis, which does not see the store through &x
    if n > 0 and tw_np_fast_f64(s, n, &x) == n:
        out[0] = x
        return 0
    return _f64_full(s, n, out)


cdef inline int _f32(const char* s, Py_ssize_t n, float* out) noexcept nogil:
    cdef float f = 0  # (as x in _f64)
    if n > 0 and tw_np_fast_f32(s, n, &f) == n:
        out[0] = f
        return 0
    return _f32_full(s, n, out)


cdef inline int _f16(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil:
    cdef Dec d
    cdef uint16_t h = 0  # (as x in _f64)
    if _fast_dec(s, n, &d) == 0 and _dec_f16(&d, &h) == 0:
        out[0] = h
        return 0
    return _f16_full(s, n, out)


cdef int parse_f64(const char* s, Py_ssize_t n, double* out) noexcept nogil:
    return _f64(s, n, out)


cdef int parse_f32(const char* s, Py_ssize_t n, float* out) noexcept nogil:
    return _f32(s, n, out)


cdef int parse_f16(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil:
    return _f16(s, n, out)


cdef inline int _int_value(uint64_t v, int neg, int overflow, int target, uint64_t* out) noexcept nogil:
    """The integer (two's complement bits for int64) to out; 0, or -2 if out of range."""
    if overflow:
        return -2
    if target == TARGET_I64:
        if v > (<uint64_t>1 << 63) - (0 if neg else 1):
            return -2
        out[0] = (0 - v) if neg else v
    else:
        if neg and v != 0:
            return -2
        out[0] = v
    return 0


cdef inline int _i64(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    cdef uint64_t v = 0, r = 0
    cdef int neg = 0, overflow = 0, rc
    if n > MAX_CHARS or _scan_int(s, s + n, &v, &neg, &overflow) != s + n:
        return -1
    rc = _int_value(v, neg, overflow, TARGET_I64, &r)
    if rc == 0:
        out[0] = <int64_t>r
    return rc


cdef inline int _u64(const char* s, Py_ssize_t n, uint64_t* out) noexcept nogil:
    cdef uint64_t v = 0
    cdef int neg = 0, overflow = 0
    if n > MAX_CHARS or _scan_int(s, s + n, &v, &neg, &overflow) != s + n:
        return -1
    return _int_value(v, neg, overflow, TARGET_U64, out)


cdef int parse_i64(const char* s, Py_ssize_t n, int64_t* out) noexcept nogil:
    return _i64(s, n, out)


cdef int parse_u64(const char* s, Py_ssize_t n, uint64_t* out) noexcept nogil:
    return _u64(s, n, out)


# ------------------------------------------------------------------------------------------
# test hooks


cdef int _target_of(object dtype) except -1:
    """The parse target (TARGET_*) for ``dtype``; TypeError if there is none."""
    cdef object dt = np.dtype(dtype)
    cdef int i
    for i in range(5):
        if dt == _DTYPES[i]:
            return i
    raise TypeError(f"unsupported dtype {dt}")


def parse_float(bytes text, dtype):
    """The value of ``text`` as a numpy scalar of ``dtype`` (float16/32/64, int64, uint64), by
    the C functions; ValueError on -1 or -2 (the code is the exception's second argument)."""
    cdef int target = _target_of(dtype), rc
    cdef const char* s = PyBytes_AS_STRING(text)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(text)
    cdef double x = 0
    cdef float f = 0
    cdef uint16_t h = 0
    cdef int64_t i = 0
    cdef uint64_t u = 0
    if target == TARGET_F64:
        rc = parse_f64(s, n, &x)
    elif target == TARGET_F32:
        rc = parse_f32(s, n, &f)
    elif target == TARGET_F16:
        rc = parse_f16(s, n, &h)
    elif target == TARGET_I64:
        rc = parse_i64(s, n, &i)
    else:
        rc = parse_u64(s, n, &u)
    if rc != 0:
        raise ValueError(f"parse failed for {text[:40]!r}", rc)
    if target == TARGET_F64:
        return np.float64(x)
    if target == TARGET_F32:
        return np.float32(f)
    if target == TARGET_F16:
        return np.array(h, dtype=np.uint16).view(np.float16)[()]
    if target == TARGET_I64:
        return np.int64(i)
    return np.uint64(u)


def parse_fast(bytes text, dtype):
    """Like ``parse_float`` for a float dtype, but without the slow path: None where the C
    steps (module docstring, steps 1-5) leave the value undecided.  ValueError on bad text."""
    cdef int target = _target_of(dtype), rc
    cdef const char* s = PyBytes_AS_STRING(text)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(text)
    cdef Dec d
    cdef double x = 0
    cdef float f = 0
    cdef uint16_t h = 0
    if target > TARGET_F64:
        raise TypeError("parse_fast takes a float dtype")
    if n > MAX_CHARS or _scan_number(s, s + n, &d) != s + n:
        raise ValueError(f"parse failed for {text[:40]!r}", -1)
    if target == TARGET_F64:
        rc = _dec_f64(&d, &x)
    elif target == TARGET_F32:
        rc = _dec_f32(&d, &f)
    else:
        rc = _dec_f16(&d, &h)
    if rc != 0:
        return None
    if target == TARGET_F64:
        return np.float64(x)
    if target == TARGET_F32:
        return np.float32(f)
    return np.array(h, dtype=np.uint16).view(np.float16)[()]


cdef inline int _parse_token(const char* s, Py_ssize_t n, const char* lim, int target, char* o,
                              Py_ssize_t i) noexcept nogil:
    """The token s[0:n] into o[i]; the bytes up to lim (past the comma) may be read."""
    if target == TARGET_F32:
        # The number at s, read as a prefix of [s, lim), is the token iff it ends at the comma.
        if n > 0 and tw_np_fast_f32(s, lim - s, <float*>o + i) == n:
            return 0
        return _f32_full(s, n, <float*>o + i)
    if target == TARGET_F64:
        if n > 0 and tw_np_fast_f64(s, lim - s, <double*>o + i) == n:
            return 0
        return _f64_full(s, n, <double*>o + i)
    if target == TARGET_F16:
        return _f16(s, n, <uint16_t*>o + i)
    if target == TARGET_I64:
        return _i64(s, n, <int64_t*>o + i)
    return _u64(s, n, <uint64_t*>o + i)


cdef Py_ssize_t _parse_list(const char* s, const char* end, int target, char* o, int* rc) noexcept nogil:
    """Parse the comma-separated tokens of [s, end) into o; their number, or -1 - (the index of
    the first bad one) with its code in rc[0].  The commas are found 64 bytes at a time (a bit
    mask), so that no token's parse waits for the one before it."""
    cdef const char* tok = s
    cdef const char* base = s
    cdef const char* comma
    cdef uint64_t mask
    cdef Py_ssize_t i = 0
    cdef float* of = <float*>o
    if target == TARGET_F32:
        # The common case, inline: the 16-byte tier where it takes the whole token.
        while end - base >= 64:
            mask = tw_np_comma_mask64(base)
            while mask:
                comma = base + tw_np_ctz(mask)
                mask &= mask - 1
                if tw_np_fast_f32(tok, end - tok, of + i) != comma - tok or comma == tok:
                    rc[0] = _f32_full(tok, comma - tok, of + i)
                    if rc[0] != 0:
                        return -1 - i
                i += 1
                tok = comma + 1
            base += 64
    while end - base >= 64:
        mask = tw_np_comma_mask64(base)
        while mask:
            comma = base + tw_np_ctz(mask)
            mask &= mask - 1
            rc[0] = _parse_token(tok, comma - tok, end, target, o, i)
            if rc[0] != 0:
                return -1 - i
            i += 1
            tok = comma + 1
        base += 64
    while base < end:
        if base[0] == b',':
            rc[0] = _parse_token(tok, base - tok, end, target, o, i)
            if rc[0] != 0:
                return -1 - i
            i += 1
            tok = base + 1
        base += 1
    rc[0] = _parse_token(tok, end - tok, end, target, o, i)
    if rc[0] != 0:
        return -1 - i
    return i + 1


def parse_values(bytes data, dtype):
    """The comma-separated numbers in ``data`` (no spaces) as an array of ``dtype``
    (float16/32/64, int64, uint64), each parsed by the C function for that dtype; ValueError
    naming the index of the first bad one (the function's code is the second argument)."""
    cdef int target = _target_of(dtype), rc = 0
    cdef const char* s = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), got
    cdef char* o
    cdef object arr
    if n == 0:
        return np.empty(0, dtype=_DTYPES[target])
    # Tokens are at least one byte and one comma apart: at most n // 2 + 1 of them.  Pages of
    # the array past the last value are never touched; resize() gives them back.
    arr = np.empty(n // 2 + 1, dtype=_DTYPES[target])
    o = <char*><Py_ssize_t>arr.__array_interface__["data"][0]
    with nogil:
        got = _parse_list(s, s + n, target, o, &rc)
    if got < 0:
        raise ValueError(f"bad number at index {-1 - got}", rc)
    arr.resize((got,), refcheck=False)
    return arr


# ------------------------------------------------------------------------------------------
# prefix forms, for a reader that finds where a number ends by parsing it


cdef Py_ssize_t _f64_prefix_full(const char* s, Py_ssize_t n, double* out) noexcept nogil:
    cdef Dec d
    cdef const char* q = _scan_number(s, s + n, &d)
    if q == NULL or q - s > MAX_CHARS:
        return -1
    if _dec_f64(&d, out) == 0 or _slow_nogil(s, q - s, TARGET_F64, out) == 0:
        return q - s
    return -1


cdef Py_ssize_t _f32_prefix_full(const char* s, Py_ssize_t n, float* out) noexcept nogil:
    cdef Dec d
    cdef const char* q = _scan_number(s, s + n, &d)
    if q == NULL or q - s > MAX_CHARS:
        return -1
    if _dec_f32(&d, out) == 0 or _slow_nogil(s, q - s, TARGET_F32, out) == 0:
        return q - s
    return -1


cdef Py_ssize_t _f16_prefix_full(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil:
    cdef Dec d
    cdef const char* q = _scan_number(s, s + n, &d)
    if q == NULL or q - s > MAX_CHARS:
        return -1
    if _dec_f16(&d, out) == 0 or _slow_nogil(s, q - s, TARGET_F16, out) == 0:
        return q - s
    return -1


# The prefix forms: the 16-byte tier (which reads nothing past s + n, and stores only what it
# decides), else the general path.

cdef Py_ssize_t parse_f64_prefix(const char* s, Py_ssize_t n, double* out) noexcept nogil:
    cdef Py_ssize_t k = tw_np_fast_f64(s, n, out)
    if k > 0:
        return k
    return _f64_prefix_full(s, n, out)


cdef Py_ssize_t parse_f32_prefix(const char* s, Py_ssize_t n, float* out) noexcept nogil:
    cdef Py_ssize_t k = tw_np_fast_f32(s, n, out)
    if k > 0:
        return k
    return _f32_prefix_full(s, n, out)


cdef Py_ssize_t parse_f16_prefix(const char* s, Py_ssize_t n, uint16_t* out) noexcept nogil:
    cdef Dec d
    cdef uint64_t w = 0
    cdef int nfrac = 0, neg = 0
    cdef Py_ssize_t k = tw_np_fast_num(s, n, &w, &nfrac, &neg)
    if k > 0:
        d.w = w
        d.q = -nfrac
        d.neg = neg
        d.truncated = 0
        if _dec_f16(&d, out) == 0:
            return k
    return _f16_prefix_full(s, n, out)


def parse_prefix(bytes text, dtype):
    """Test hook: ``(length, value)`` from the prefix form for a float dtype (the whole of
    ``text`` readable), or ``(-1, None)``."""
    cdef int target = _target_of(dtype)
    cdef const char* s = PyBytes_AS_STRING(text)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(text), k
    cdef double x = 0
    cdef float f = 0
    cdef uint16_t h = 0
    if target > TARGET_F64:
        raise TypeError("parse_prefix takes a float dtype")
    if target == TARGET_F64:
        k = parse_f64_prefix(s, n, &x)
    elif target == TARGET_F32:
        k = parse_f32_prefix(s, n, &f)
    else:
        k = parse_f16_prefix(s, n, &h)
    if k < 0:
        return -1, None
    if target == TARGET_F64:
        return k, np.float64(x)
    if target == TARGET_F32:
        return k, np.float32(f)
    return k, np.array(h, dtype=np.uint16).view(np.float16)[()]
