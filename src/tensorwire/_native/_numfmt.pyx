# cython: language_level=3, embedsignature=True
"""Shortest round-trip number text (docs/number-text.md), C twin of ``numtext.format_number``.

The writers declared in ``_numfmt.pxd`` put the text of one float16/32/64, int64 or uint64 at a
``char*`` and return its length; other Cython modules cimport them.  ``format_float`` and
``format_values`` are test hooks.  The integer kernels (wide products, SWAR digits, stores) are
C, in ``number_format.h``.

What is written (the reference, ``tensorwire.codecs.numtext``, defines it): for a finite float,
the decimal with the fewest significant digits that reads back to the same value *in its own
dtype*, the one closest to the value when there are several, laid out like ``repr(float)``
(positional when 1e-4 <= |x| < 1e16, else ``d.ddde±XX``; ``.0`` after integral positional
values; ``-0.0``).  Non-finite: ``NaN``, ``Infinity``, ``-Infinity``.  Integers: plain decimal.

The digits: Schubfach
---------------------
R. Giulietti, "The Schubfach way to render doubles" (2020, revised 2021).  The implementation
here is written from the paper's description; the notation follows it.

A finite non-zero float is ``v = c * 2**q`` (integers, ``c > 0``).  Reading decimal text rounds
to nearest, so the decimals that read back to ``v`` are those in its *rounding interval*
``R = [vl, vr]`` with ``vr = (c + 1/2) 2**q`` and ``vl = (c - 1/2) 2**q`` -- or
``(c - 1/4) 2**q`` when ``c`` is the smallest significand of a binade above the smallest one
(the "irregular" spacing: the neighbour below is half as far).  The end points are midpoints
between ``v`` and its neighbours; a round-half-even reader maps them to ``v`` exactly when ``c``
is even, so they belong to ``R`` iff ``c`` is even.  Both definitions the reference relies on
follow this rule: CPython's ``repr`` (float64) and numpy's ``format_float_scientific(unique=True)``
(float32/16: measured, not assumed -- the exhaustive float16 test fails if the ends are
excluded for even ``c``, e.g. float16 4112 is ``4110.0``).

Step 1 (choose the scale).  ``k = floor(log10(width of R))``, the width being ``2**q`` (or
``3/4 * 2**q`` when irregular), so the width measured in units of ``10**k`` lies in ``[1, 10)``.
Consequently ``R`` contains at most one multiple of ``10**(k+1)`` (width < 10) and at least one
of ``floor(v 10**-k)``, ``ceil(v 10**-k)`` (width >= 1).

Step 2 (scale exactly enough).  We need ``s = floor(v 10**-k)`` and exact comparisons of
``vl 10**-k``, ``v 10**-k``, ``vr 10**-k`` with integers.  All three are ``x = cb * 2**q * 10**-k``
with ``cb`` the quarter-units numerator (``4c - 2`` or ``4c - 1``, ``4c``, ``4c + 2``), giving
``x / 4``.  Write ``10**-k = 2**beta * mu``, ``beta = floor(log2 10**-k)``, ``mu`` in ``[1, 2)``, and
let ``g = ceil-ish(mu * 2**125)`` be a 126-bit integer from the table (``G = mu 2**125`` exactly
when it is an integer, which happens for ``-54 <= k <= 0``, else ``floor(G) + 1``).  Then
``x = cb * 2**h * G / 2**127`` with ``h = q + beta + 2`` (2..5 over float64's whole range of ``q``), and the
full 192-bit product ``P = (cb << h) * g`` gives ``floor(P / 2**127)``.  Schubfach keeps only "round to odd"
``rop(x) = floor(x) | (x is not an integer)``: comparing ``rop(x)`` with an even integer gives the
same answer as comparing ``x``, and all integers compared below are multiples of 4 or 2.

  * exact rows (``-54 <= k <= 0``): ``P = x 2**127`` exactly; sticky bit = "remainder != 0".
  * other rows: ``P = x 2**127 + cp * delta`` with ``0 < delta < 1``, ``cp = cb << h``.  If ``x`` is
    an integer the remainder is ``cp * delta < cp``; so the sticky bit is "remainder > cp", and
    floor and sticky are right provided a non-integer ``x`` stays more than ``cp 2**-127`` away
    from integers.  float32/16 (``k`` in 1..31 here, ``x = cb 2**(q-k) / 5**k``): a non-integer
    is at least ``5**-31 > 2**-73`` from an integer while ``cp 2**-127 < 2**-96``: proved.
    float64: the paper shows (by continued fractions over every ``q``) that for doubles a
    non-integer ``x`` is never within about ``2**-63`` of an integer, far more than
    ``cp 2**-127 < 2**-66`` (``cp < 2**61``); the float64 path rests on that bound and is
    cross-checked against ``repr`` in the tests (hypothesis, targeted classes; millions of
    random doubles during development).
  * rows whose exact ``g`` has 64 low zero bits (``-26 <= k <= 0``) use one 64x64-bit product.

Step 3 (pick).  With ``s = floor(v 10**-k)``:
  * the multiples of 10 around ``s`` are ``s' = 10 floor(s/10)`` and ``t' = s' + 10``; if exactly
    one lies in ``R`` (in units of ``10**k``) it is the unique decimal of ``R`` at scale
    ``10**(k+1)``, hence the shortest: done;
  * else the shortest decimals lie at scale ``10**k``: of ``s`` and ``t = s + 1`` at least one is in
    ``R``; if only one, it; if both, the closer to ``v`` (``v 10**-k`` compared with ``s + 1/2``),
    ``s`` if even on a tie (this is what both CPython and numpy do: round half to even digit).
The result is ``d * 10**k``; the layout drops the trailing zeros of ``d``.

float32 and float16 (``_shortest32``): the same steps with a 64-bit ``g32 = floor(g / 2**62) + 1``
and one 64x64-bit product per end point, ``mulhi(g32, cb << h) = floor(x 2**32 + err)`` with
``0 < err < 1/4``: floor(x) is the high 32 bits, "x is not an integer" is "the low 32 bits are
non-zero".  That is exact when ``x`` is an integer, and right for a non-integer ``x`` as long as
it is at least ``2**-32`` away from every integer -- which the paper shows for floats and which
was checked by brute force: the text of every one of the 2**32 float32 bit patterns was
compared with the 126-bit core's text during development (no difference), and float16 is
covered exhaustively by the tests.  Digits then go through ``_layout9`` (at most 9 digits).

Powers-of-ten table
-------------------
``_G_HI``/``_G_LO`` hold the 126-bit ``g`` for ``k`` in ``[K_MIN, K_MAX]`` (every ``k`` a float64 can
need; float32/16 use a sub-range, ``_G32``).  ``_Q32_K``/``_Q32_H``/``_Q32_G`` hold, for every exponent
``q`` of a float32/16, the ``k``, shift ``h`` and ``g32`` of a regular value, so that the float32/16
core does no multiplication before its product.  They are computed from exact Python integers by
``_init_pow10_table`` while the module is imported, before any writer can run, and are never
written again: the module has no mutable state after import.  The import-time code also checks
the integer approximations of ``floor(log10 2**q)`` etc. used by the hot path against the table's
own exact ``beta`` values.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef object np
import numpy as np

cdef extern from "number_format.h":
    uint64_t tw_numfmt_rop(uint64_t g_hi, uint64_t g_lo, uint64_t cp, uint64_t thr) noexcept nogil
    uint64_t tw_numfmt_rop_hi(uint64_t g_hi, uint64_t cp) noexcept nogil
    int tw_numfmt_bitlen(uint64_t x) noexcept nogil
    uint64_t tw_numfmt_mulhi(uint64_t g, uint64_t cp) noexcept nogil
    int tw_numfmt_clz64_bytes(uint64_t w) noexcept nogil
    uint64_t tw_numfmt_swar8(uint64_t x) noexcept nogil
    # Cython sees an integer type; only shifts, ors, adds and C casts are applied to it.
    ctypedef unsigned long long u128 "tw_numfmt_u128"
    u128 tw_numfmt_digits16(uint64_t x) noexcept nogil
    int tw_numfmt_clz128_bytes(u128 d) noexcept nogil
    u128 tw_numfmt_zeros16() noexcept nogil
    u128 tw_numfmt_zero_point16() noexcept nogil
    uint64_t tw_numfmt_sel64(int c, uint64_t a, uint64_t b) noexcept nogil
    u128 tw_numfmt_sel128(int c, u128 a, u128 b) noexcept nogil
    void tw_numfmt_store16(char* p, u128 v) noexcept nogil
    void tw_numfmt_store8(char* p, uint64_t v) noexcept nogil
    const uint64_t* tw_numfmt_pow10
    const char* tw_numfmt_digits2


cdef enum:
    K_MIN = -324            # floor(log10(2**-1074)): the smallest k any float64 needs
    K_MAX = 292             # floor(log10(2**971))
    K_EXACT_MIN = -54       # g is exact (G an integer) exactly for K_EXACT_MIN <= k <= 0
    TABLE_SIZE = K_MAX - K_MIN + 1
    K32_MIN = -45           # floor(log10(2**-149)): the smallest k a float32 needs
    K32_MAX = 31            # floor(log10(2**104))
    TABLE32_SIZE = K32_MAX - K32_MIN + 1
    Q32_MIN = -149          # the exponents q of the float32/16 core
    Q32_MAX = 104
    Q32_SIZE = Q32_MAX - Q32_MIN + 1

# Written once by _init_pow10_table() during import, read-only afterwards (see the module doc).
cdef uint64_t _G_HI[TABLE_SIZE]
cdef uint64_t _G_LO[TABLE_SIZE]
cdef uint64_t _G32[TABLE32_SIZE]   # floor(g / 2**62) + 1 for the float32/16 core
# The float32/16 core's k, h and g for a regular q (indexed by q - Q32_MIN), from _G32.
cdef uint64_t _Q32_G[Q32_SIZE]
cdef int _Q32_K[Q32_SIZE]
cdef int _Q32_H[Q32_SIZE]


# ------------------------------------------------------------------------------------------
# integer logarithms (q, e within +-1100; checked at import against exact values, and by the
# tests over every q a float64 has)


cdef inline int _flog10_pow2(int q) noexcept nogil:
    """floor(log10(2**q)); 661971961083 = round(log10(2) * 2**41)."""
    return <int>((<int64_t>q * 661971961083LL) >> 41)


cdef inline int _flog10_three_quarters_pow2(int q) noexcept nogil:
    """floor(log10(3/4 * 2**q)); 274743187321 ~ -log10(3/4) * 2**41."""
    return <int>((<int64_t>q * 661971961083LL - 274743187321LL) >> 41)


cdef inline int _flog2_pow10(int e) noexcept nogil:
    """floor(log2(10**e)); 913124641741 = round(log2(10) * 2**38)."""
    return <int>((<int64_t>e * 913124641741LL) >> 38)


# ------------------------------------------------------------------------------------------
# Schubfach core


@cython.cdivision(True)
cdef inline uint64_t _shortest(uint64_t c, int q, bint irregular, uint64_t open_ends,
                               int* exp10) noexcept nogil:
    """Shortest decimal ``d * 10**exp10[0]`` in the rounding interval of ``v = c * 2**q``.

    ``irregular``: the neighbour below ``v`` is at a quarter of ``2**(q+1)`` (``c`` is the smallest
    significand of a binade that is not the lowest).  ``open_ends``: 1 if the interval's end
    points are excluded, 0 if included (all callers pass ``c & 1``).  Any c < 2**53 and q of float64's range are accepted, so
    float16/32 use this core with their own ``(c, q)`` and interval.  ``d`` may have trailing zeros.
    """
    cdef uint64_t cb = c << 2          # v, vl, vr in quarter units of 2**q
    cdef uint64_t cbr = cb + 2
    cdef uint64_t cbl
    cdef int k, h
    cdef uint64_t g_hi, g_lo, inexact, cp, cpl, cpr, vb, vbl, vbr, s, t, sp10, tp10
    cdef int u10, w10, u_in, w_in, take_s
    cdef int64_t cmp
    # Step 1: k = floor(log10(width of R)), so the width is in [1, 10) units of 10**k.
    if irregular:
        cbl = cb - 1
        k = _flog10_three_quarters_pow2(q)
    else:
        cbl = cb - 2
        k = _flog10_pow2(q)
    # Step 2: rop of vl, v, vr times 4 * 10**-k (see the module doc for why these are exact).
    h = q + _flog2_pow10(-k) + 2
    g_hi = _G_HI[k - K_MIN]
    g_lo = _G_LO[k - K_MIN]
    inexact = 0 if (K_EXACT_MIN <= k <= 0) else ~(<uint64_t>0)
    cp = cb << h
    cpl = cbl << h
    cpr = cbr << h
    if g_lo == 0:                      # exact row, g = g_hi * 2**64: 64-bit products suffice
        vb = tw_numfmt_rop_hi(g_hi, cp)
        vbl = tw_numfmt_rop_hi(g_hi, cpl)
        vbr = tw_numfmt_rop_hi(g_hi, cpr)
    else:
        vb = tw_numfmt_rop(g_hi, g_lo, cp, cp & inexact)
        vbl = tw_numfmt_rop(g_hi, g_lo, cpl, cpl & inexact)
        vbr = tw_numfmt_rop(g_hi, g_lo, cpr, cpr & inexact)
    exp10[0] = k
    # Step 3 (computed without branches: which case applies depends on the data).
    # 3a: the only possible decimal of R at scale 10**(k+1) (at most one: width < 10).
    s = vb >> 2                        # floor(v * 10**-k)
    sp10 = (s // 10) * 10
    tp10 = sp10 + 10
    u10 = vbl + open_ends <= (sp10 << 2)       # sp10 inside R (above its lower end)?
    w10 = (tp10 << 2) + open_ends <= vbr       # tp10 inside R (below its upper end)?
    # 3b: scale 10**k: s or t is in R (width >= 1); if both, the closer to v, on a tie
    # (4v == 4s + 2) the even one.
    t = s + 1
    u_in = vbl + open_ends <= (s << 2)
    w_in = (t << 2) + open_ends <= vbr
    cmp = <int64_t>vb - <int64_t>((s + t) << 1)
    take_s = u_in & ((w_in ^ 1) | (cmp < 0) | ((cmp == 0) & ((s & 1) == 0)))
    return tw_numfmt_sel64(u10 ^ w10, tp10 - 10 * <uint64_t>u10, t - <uint64_t>take_s)


@cython.cdivision(True)
cdef inline uint32_t _shortest32(uint32_t c, int q, bint irregular, uint32_t open_ends,
                                 int* exp10) noexcept nogil:
    """``_shortest`` for float32 and float16 (``c < 2**24``, ``q`` in ``[-149, 104]``), 64-bit ``g``.

    Same steps; ``x = cb * 2**q * 10**-k`` is computed as ``mulhi(g32, cb << h) = floor(x 2**32 + err)``
    with ``g32 = floor(g / 2**62) + 1`` and ``0 < err < 1/4``: the floor of ``x`` is the high half,
    "x is not an integer" is "the low 32 bits are non-zero" (exact for an integer ``x``; for a
    non-integer it needs ``x`` at least ``2**-32`` away from integers, which holds for every
    float32: verified over all 2**32 bit patterns against the 126-bit core, see the module
    doc).  Every quantity below fits 32 bits.
    """
    cdef uint64_t cb = <uint64_t>c << 2
    cdef uint64_t cbl
    cdef int k, h
    cdef uint64_t g, x, xl, xr
    cdef uint32_t s, t, sp10, tp10, u10, w10, u_in, w_in, take_s
    cdef int64_t cmp
    if irregular:
        cbl = cb - 1
        k = _flog10_three_quarters_pow2(q)
        h = q + _flog2_pow10(-k) + 33
        g = _G32[k - K32_MIN]
    else:                              # k, h and g looked up by q: no multiply on the way
        cbl = cb - 2
        k = _Q32_K[q - Q32_MIN]
        h = _Q32_H[q - Q32_MIN]
        g = _Q32_G[q - Q32_MIN]
    x = tw_numfmt_mulhi(g, cb << h)
    xl = tw_numfmt_mulhi(g, cbl << h)
    xr = tw_numfmt_mulhi(g, (cb + 2) << h)
    # Compared in 32.32 fixed point (x, xl, xr as computed): "rop(xl) + open <= 4m" is
    # "xl + open <= 4m * 2**32" and "4m + open <= rop(xr)" is "4m * 2**32 + open <= xr" (the low
    # half is zero exactly when the value is an integer), so no rounding to odd is needed.
    exp10[0] = k
    s = <uint32_t>(x >> 34)
    sp10 = (s // 10) * 10
    tp10 = sp10 + 10
    u10 = xl + open_ends <= (<uint64_t>sp10 << 34)
    w10 = (<uint64_t>tp10 << 34) + open_ends <= xr
    t = s + 1
    u_in = xl + open_ends <= (<uint64_t>s << 34)
    w_in = (<uint64_t>t << 34) + open_ends <= xr
    cmp = <int64_t>(x - ((<uint64_t>s << 34) + (<uint64_t>1 << 33)))
    take_s = u_in & ((w_in ^ 1) | (cmp < 0) | ((cmp == 0) & ((s & 1) == 0)))
    return <uint32_t>tw_numfmt_sel64(u10 ^ w10, tp10 - 10 * u10, t - take_s)


# ------------------------------------------------------------------------------------------
# text layout


cdef inline int _dec_len(uint64_t f) noexcept nogil:
    """Number of decimal digits of f (f > 0)."""
    # (bits * 1233) >> 12 is floor(bits * log10 2) for bits <= 64: digits is that or one more.
    cdef int t = (tw_numfmt_bitlen(f) * 1233) >> 12
    return t + (f >= tw_numfmt_pow10[t])


@cython.cdivision(True)
cdef inline void _put_digits(char* end, uint64_t f) noexcept nogil:
    """Write the decimal digits of f so that the last one is at end[-1]."""
    cdef uint32_t lo, hi
    while f >= 100000000:              # 8 digits at a time in 32-bit arithmetic
        lo = <uint32_t>(f % 100000000)
        f //= 100000000
        hi = lo // 10000
        lo = lo % 10000
        memcpy(end - 2, tw_numfmt_digits2 + 2 * (lo % 100), 2)
        memcpy(end - 4, tw_numfmt_digits2 + 2 * (lo // 100), 2)
        memcpy(end - 6, tw_numfmt_digits2 + 2 * (hi % 100), 2)
        memcpy(end - 8, tw_numfmt_digits2 + 2 * (hi // 100), 2)
        end -= 8
    lo = <uint32_t>f
    while lo >= 100:
        end -= 2
        memcpy(end, tw_numfmt_digits2 + 2 * (lo % 100), 2)
        lo //= 100
    if lo >= 10:
        memcpy(end - 2, tw_numfmt_digits2 + 2 * lo, 2)
    else:
        end[-1] = <char>(48 + lo)


@cython.cdivision(True)
cdef inline Py_ssize_t _layout(uint64_t f, int e, bint neg, char* out) noexcept nogil:
    """The repr(float)-style text of ``(-1)**neg * f * 10**e`` (0 < f < 10**17) at out; its length.

    The digits are made 8 at a time in a register (``tw_numfmt_swar8``) and handled as one
    17-character string ``S`` = the 16 bytes ``s`` (a 128-bit integer, first digit in the low
    byte) plus the byte ``s16``: the significant digits of ``f`` first, then ``'0'`` padding, so a
    decimal's trailing zeros need no stripping loop and every piece of the text is written by
    a fixed-size store.  The stores may write past the text's end, never past
    ``out + NUMFMT_MAX_CHARS`` (bounds noted per case; ``p <= out + 1`` after the sign).
    """
    cdef char* p = out
    cdef uint64_t d0, r
    cdef u128 digits, s
    cdef char s16
    cdef int n_all, n, decpt, x, at
    cdef bint lead
    if f >= 10000000000000000ULL:         # 17 digits (float64 only): one leading digit + 16
        d0 = f // 10000000000000000ULL
        r = f - d0 * 10000000000000000ULL
        digits = tw_numfmt_digits16(r)
        n_all = 17
        n = 17 - tw_numfmt_clz128_bytes(digits)
        s = (<u128>d0 | (digits << 8)) + tw_numfmt_zeros16()
        s16 = <char>(48 + <int>(digits >> 120))
    else:
        digits = tw_numfmt_digits16(f)   # right-aligned in 16 places: 16 - n_all leading zeros
        n_all = _dec_len(f)
        n = n_all - tw_numfmt_clz128_bytes(digits)   # minus the trailing zeros
        s = (digits >> (8 * (16 - n_all))) + tw_numfmt_zeros16()
        s16 = 48
    decpt = e + n_all                  # value = 0.d1d2...dn * 10**decpt
    p[0] = 45                          # '-', kept only if negative (no branch on the sign)
    p += neg
    if -4 < decpt <= 16:
        if decpt < n and decpt <= 14:
            # 0.000ddd (decpt <= 0) or ddd.ddd: the two cases differ only in what is stored
            # where, so they are selected without a branch (the data decides which applies).
            lead = decpt <= 0
            at = <int>tw_numfmt_sel64(lead, 2 - decpt, decpt + 1)
            # "0.0000..." or the digits, then the digits or those after the point
            tw_numfmt_store16(p, tw_numfmt_sel128(lead, tw_numfmt_zero_point16(), s))  # by out + 17
            p[tw_numfmt_sel64(lead, 1, decpt)] = 46                                  # '.'
            tw_numfmt_store16(p + at, tw_numfmt_sel128(lead, s, s >> (8 * (decpt & 15))))  # by out + 32
            p[tw_numfmt_sel64(lead, at + 16, 17)] = s16                      # the 17th digit, if any
            p += <int>tw_numfmt_sel64(lead, at + n, n + 1)
        elif decpt < n:                # 15 or 16 integer digits and 1-2 after the point
            tw_numfmt_store16(p, s)
            p[decpt] = 46
            tw_numfmt_store8(p + decpt + 1, <uint64_t>(s >> 120) >> (8 * (decpt - 15)))  # by out + 25
            p[17] = s16
            p += n + 1
        else:                          # ddd000.0 (n <= 16): the padding supplies the zeros
            tw_numfmt_store16(p, s)
            p += decpt
            p[0] = 46
            p[1] = 48
            p += 2
    else:                              # d.ddde+XX: stores end by out + 24
        p[0] = <char>s
        p[1] = 46
        tw_numfmt_store16(p + 2, (s >> 8) | (<u128>s16 << 120))
        p += n + 1 if n > 1 else 1
        x = decpt - 1
        p[0] = 101  # 'e'
        if x < 0:
            p[1] = 45
            x = -x
        else:
            p[1] = 43
        p += 2
        if x >= 100:
            p[0] = <char>(48 + x // 100)
            x %= 100
            p += 1
        memcpy(p, tw_numfmt_digits2 + 2 * x, 2)
        p += 2
    return p - out


@cython.cdivision(True)
cdef inline Py_ssize_t _layout9(uint32_t d, int e, bint neg, char* out) noexcept nogil:
    """``_layout`` for ``0 < d < 10**9`` (float32/16 digits).

    ``d`` is scaled to exactly 9 digits and made into the 16-character string ``D`` (its digits,
    then ``'0'`` padding: the padding serves as the zeros of ``ddd000.0``); ``n`` = number of
    significant digits.  The positional cases -3 <= decpt <= 14 (value = 0.D * 10**decpt) are
    one branch-free sequence of fixed-size stores:
      * decpt <= 0: "0.000000000000000" at p, then D at p + 2 - decpt;
      * decpt >= 1: D at p, '.' at p + decpt, then D from its decpt-th character at p + decpt + 1
        (at least one '0' when decpt >= n).
    Stores end by out + 1 + 15 + 16 = out + 32.
    """
    cdef char* p = out
    cdef int n_all = _dec_len(d)
    cdef uint32_t d9 = d * <uint32_t>tw_numfmt_pow10[9 - n_all]
    cdef uint32_t h0 = d9 // 100000000u
    cdef uint64_t w = tw_numfmt_swar8(d9 - h0 * 100000000u)
    cdef int n = 9 - tw_numfmt_clz64_bytes(w)
    cdef u128 D = ((<u128>(((w >> 56) | 0x3030303030303000ULL) + 0x30)) << 64) | <u128>((h0 | (w << 8)) + 0x3030303030303030ULL)
    cdef int decpt = e + n_all
    cdef int b, sh, at, r, x
    p[0] = 45                          # '-', kept only if negative
    p += neg
    if -4 < decpt <= 14:
        b = decpt <= 0
        sh = <int>tw_numfmt_sel64(b, 0, <uint64_t>decpt)
        at = <int>tw_numfmt_sel64(b, <uint64_t>(2 - decpt), <uint64_t>(decpt + 1))
        tw_numfmt_store16(p, tw_numfmt_sel128(b, tw_numfmt_zero_point16(), D))
        p[tw_numfmt_sel64(b, 1, <uint64_t>decpt)] = 46
        tw_numfmt_store16(p + at, D >> (8 * sh))
        r = n - sh
        r = r if r > 1 else 1
        return p + at + r - out
    if -4 < decpt <= 16:               # ddd000.0 with 15 or 16 integer digits (n <= 9)
        tw_numfmt_store16(p, D)
        p[decpt] = 46
        p[decpt + 1] = 48
        return p + decpt + 2 - out
    p[0] = <char>D                     # d.ddde+XX: stores end by out + 19
    p[1] = 46
    tw_numfmt_store16(p + 2, D >> 8)
    p += n + 1 if n > 1 else 1
    x = decpt - 1
    p[0] = 101  # 'e'
    if x < 0:
        p[1] = 45
        x = -x
    else:
        p[1] = 43
    memcpy(p + 2, tw_numfmt_digits2 + 2 * x, 2)   # |x| <= 45
    return p + 4 - out


cdef inline Py_ssize_t _special(bint nan, bint neg, char* out) noexcept nogil:
    """NaN (sign ignored), Infinity, -Infinity."""
    if nan:
        memcpy(out, b"NaN", 3)
        return 3
    if neg:
        memcpy(out, b"-Infinity", 9)
        return 9
    memcpy(out, b"Infinity", 8)
    return 8


cdef inline Py_ssize_t _zero(bint neg, char* out) noexcept nogil:
    if neg:
        memcpy(out, b"-0.0", 4)
        return 4
    memcpy(out, b"0.0", 3)
    return 3


# ------------------------------------------------------------------------------------------
# the writers (declared in _numfmt.pxd)


cdef Py_ssize_t write_f64(double v, char* out) noexcept nogil:
    cdef uint64_t bits = 0, m, c
    cdef int be, q, e = 0
    memcpy(&bits, &v, 8)
    be = <int>((bits >> 52) & 0x7FF)
    m = bits & ((<uint64_t>1 << 52) - 1)
    if be == 0x7FF:
        return _special(m != 0, (bits >> 63) != 0, out)
    if be == 0:
        if m == 0:
            return _zero((bits >> 63) != 0, out)
        c = m
        q = -1074
    else:
        c = m | (<uint64_t>1 << 52)
        q = be - 1075
    # CPython's repr: ends of the interval included iff c is even (round half to even).
    c = _shortest(c, q, m == 0 and be > 1, c & 1, &e)
    return _layout(c, e, (bits >> 63) != 0, out)


cdef Py_ssize_t write_f32(float v, char* out) noexcept nogil:
    cdef uint32_t bits = 0
    cdef uint32_t m, c
    cdef int be, q, e = 0
    memcpy(&bits, &v, 4)
    be = <int>((bits >> 23) & 0xFF)
    m = bits & 0x7FFFFF
    if be == 0xFF:
        return _special(m != 0, (bits >> 31) != 0, out)
    if be == 0:
        if m == 0:
            return _zero((bits >> 31) != 0, out)
        c = m
        q = -149
    else:
        c = m | 0x800000
        q = be - 150
    # numpy's Dragon4: interval ends included iff c is even, as for float64 (see the module doc).
    c = _shortest32(c, q, m == 0 and be > 1, c & 1, &e)
    return _layout9(c, e, (bits >> 31) != 0, out)


cdef Py_ssize_t write_f16(uint16_t bits, char* out) noexcept nogil:
    cdef uint32_t m, c
    cdef int be, q, e = 0
    be = (bits >> 10) & 0x1F
    m = bits & 0x3FF
    if be == 0x1F:
        return _special(m != 0, (bits >> 15) != 0, out)
    if be == 0:
        if m == 0:
            return _zero((bits >> 15) != 0, out)
        c = m
        q = -24
    else:
        c = m | 0x400
        q = be - 25
    c = _shortest32(c, q, m == 0 and be > 1, c & 1, &e)
    return _layout9(c, e, (bits >> 15) != 0, out)


cdef Py_ssize_t write_u64(uint64_t v, char* out) noexcept nogil:
    cdef int n
    if v == 0:
        out[0] = 48
        return 1
    n = _dec_len(v)
    _put_digits(out + n, v)
    return n


cdef Py_ssize_t write_i64(int64_t v, char* out) noexcept nogil:
    if v < 0:
        out[0] = 45
        return 1 + write_u64(<uint64_t>0 - <uint64_t>v, out + 1)
    return write_u64(<uint64_t>v, out)


# ------------------------------------------------------------------------------------------
# the power-of-ten table, built once at import


cdef int _init_pow10_table() except -1:
    """Fill _G_HI/_G_LO: g(k) = 10**-k * 2**(125 - beta), exact if an integer, else floor + 1."""
    cdef int i, q, kq
    cdef object k, mask64 = (1 << 64) - 1, n, beta, g, rem, d, exact  # Python ints: exact
    for k in range(K_MIN, K_MAX + 1):
        if k <= 0:
            n = 10 ** (-k)
            beta = n.bit_length() - 1                    # floor(log2 10**-k)
            if beta <= 125:
                g = n << (125 - beta)
            else:
                g, rem = divmod(n, 1 << (beta - 125))
                if rem:
                    g += 1
        else:
            d = 10 ** k
            beta = -d.bit_length()                       # floor(log2 10**-k): d is no power of 2
            g = (1 << (125 - beta)) // d + 1              # never exact (d has the factor 5**k)
        exact = k <= 0 and (beta <= 125 or (10 ** (-k)) % (1 << (beta - 125)) == 0)
        if exact != (K_EXACT_MIN <= k <= 0):
            raise AssertionError(f"_numfmt: exactness of row {k} differs from K_EXACT_MIN")
        if not (1 << 125) <= g < (1 << 126):
            raise AssertionError(f"_numfmt: table row {k} out of range")
        if _flog2_pow10(-k) != beta:
            raise AssertionError(f"_numfmt: floor(log2(10**{-k})) approximation is wrong")
        i = k - K_MIN
        _G_HI[i] = g >> 64
        _G_LO[i] = g & mask64
        if K32_MIN <= k <= K32_MAX:
            if (g >> 62) + 1 >= (1 << 64):
                raise AssertionError(f"_numfmt: float32 table row {k} out of range")
            _G32[k - K32_MIN] = (g >> 62) + 1
    for q in range(Q32_MIN, Q32_MAX + 1):
        kq = _flog10_pow2(q)
        if not K32_MIN <= kq <= K32_MAX:
            raise AssertionError(f"_numfmt: float32 exponent {q} out of table range")
        _Q32_K[q - Q32_MIN] = kq
        _Q32_H[q - Q32_MIN] = q + _flog2_pow10(-kq) + 33
        _Q32_G[q - Q32_MIN] = _G32[kq - K32_MIN]
    return 0


_init_pow10_table()


# ------------------------------------------------------------------------------------------
# test hooks


def _floor_logs(int q):
    """(floor(log10 2**q), floor(log10(3/4 2**q)), floor(log2 10**q)) as the hot path computes them."""
    return _flog10_pow2(q), _flog10_three_quarters_pow2(q), _flog2_pow10(q)


def format_float(x, dtype):
    """The text of ``x`` converted to ``dtype`` (float16/32/64, int64, uint64), as a str."""
    cdef char buf[NUMFMT_MAX_CHARS]
    cdef Py_ssize_t n
    cdef object dt = np.dtype(dtype)
    if dt == np.float16:
        n = write_f16(<uint16_t>int(np.float16(x).view(np.uint16)), buf)
    elif dt == np.float32:
        n = write_f32(<float>float(np.float32(x)), buf)
    elif dt == np.float64:
        n = write_f64(float(np.float64(x)), buf)
    elif dt == np.int64:
        n = write_i64(int(np.int64(x)), buf)
    elif dt == np.uint64:
        n = write_u64(int(np.uint64(x)), buf)
    else:
        raise TypeError(f"unsupported dtype {dt}")
    return buf[:n].decode("ascii")


@cython.boundscheck(False)
@cython.wraparound(False)
def format_values(a):
    """Texts of the values of a 1-D contiguous float16/32/64, int64 or uint64 array, joined by ','."""
    cdef const unsigned char[::1] raw
    cdef const void* data = NULL
    cdef Py_ssize_t n, i, pos = 0
    cdef int writer  # which write_* takes the values: 0 f16, 1 f32, 2 f64, 3 i64, 4 u64
    cdef char* buf
    cdef object dt
    cdef dict writers
    if not isinstance(a, np.ndarray) or a.ndim != 1 or not a.flags.c_contiguous or not a.dtype.isnative:
        raise ValueError("format_values takes a 1-D contiguous array in native byte order")
    dt = a.dtype
    writers = {np.dtype(np.float16): 0, np.dtype(np.float32): 1, np.dtype(np.float64): 2,
               np.dtype(np.int64): 3, np.dtype(np.uint64): 4}
    if dt not in writers:
        raise TypeError(f"unsupported dtype {dt}")
    writer = writers[dt]
    n = a.shape[0]
    raw = a.view(np.uint8)
    if n:
        data = &raw[0]
    buf = <char*>malloc(n * (NUMFMT_MAX_CHARS + 1) + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                if writer == 0:
                    pos += write_f16((<const uint16_t*>data)[i], buf + pos)
                elif writer == 1:
                    pos += write_f32((<const float*>data)[i], buf + pos)
                elif writer == 2:
                    pos += write_f64((<const double*>data)[i], buf + pos)
                elif writer == 3:
                    pos += write_i64((<const int64_t*>data)[i], buf + pos)
                else:
                    pos += write_u64((<const uint64_t*>data)[i], buf + pos)
                buf[pos] = 44  # ','
                pos += 1
        return PyBytes_FromStringAndSize(buf, pos - 1 if pos else 0)
    finally:
        free(buf)
