/* number_parse.h: the scanning kernels of _numparse.pyx (JSON number parsing; its docstring,
   "Scanning", describes them): 64x64 -> 128-bit products, SWAR digit counting and valuing,
   the comma mask, and the 16-byte tier (tw_np_scan16 and its callers).

   Included by _numparse.pyx alone (`cdef extern from "number_parse.h"`, which declares what the
   Cython code uses); everything here is static, private to that one extension. */

#ifndef TENSORWIRE_NUMBER_PARSE_H
#define TENSORWIRE_NUMBER_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The high 64 bits of a * b; the low 64 bits go to *lo. */
static inline uint64_t tw_np_mul(uint64_t a, uint64_t b, uint64_t *lo) {
    unsigned __int128 p = (unsigned __int128)a * b;
    *lo = (uint64_t)p;
    return (uint64_t)(p >> 64);
}

/* Leading zero bits of a nonzero x. */
static inline int tw_np_clz(uint64_t x) { return __builtin_clzll(x); }

/* Trailing zero bits of a nonzero x. */
static inline int tw_np_ctz(uint64_t x) { return __builtin_ctzll(x); }

static const uint32_t tw_np_pow10_u32[9] = {
    1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

/* The 8 bytes at p, first byte lowest. */
static inline uint64_t tw_np_load8(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}


/* The value of the 8 ASCII digits in v, first byte = most significant digit. */
static inline uint32_t tw_np_digits8(uint64_t v) {
    v -= 0x3030303030303030ULL;
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL;        /* pairs: 10*d0 + d1 in byte 0 */
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL;      /* quads */
    return (uint32_t)((v * 10000 + (v >> 32)) & 0xFFFFFFFFULL);
}

/* The bytes of [p, p + 8) that lie before end, first byte lowest, zeros for the rest
   (all zeros if p >= end).  Reads only [end - 8, end): the token must be 8 bytes or more. */
static inline uint64_t tw_np_word(const char *p, const char *end) {
    const char *q = p < end - 8 ? p : end - 8;
    ptrdiff_t sh = p - q;
    if (sh > 8)
        sh = 8;
    return (tw_np_load8(q) >> (4 * sh)) >> (4 * sh);
}

/* The n (< 8) bytes at p as a word, first byte lowest, zeros above. */
static inline uint64_t tw_np_small(const char *p, ptrdiff_t n) {
    uint64_t v = 0;
    ptrdiff_t i;
    for (i = 0; i < n; i++)
        v |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return v;
}

/* small (a whole token of fewer than 8 bytes) without its first off bytes. */
static inline uint64_t tw_np_small_word(uint64_t small, ptrdiff_t off) {
    if (off > 8)
        off = 8;
    return (small >> (4 * off)) >> (4 * off);
}

/* Digit values: byte i of v ^ 0x30.. is 0..9 iff byte i of v is an ASCII digit (xor is a
   bijection), 10 or more otherwise. */
#define TW_NP_ZEROS 0x3030303030303030ULL

/* How many bytes of the digit values t, from byte 0, are below 10 (8 if all are).  A byte
   >= 10 gets its high bit from t + 0x76 or from t itself; a carry out of the addition only
   reaches bytes after such a byte. */
static inline int tw_np_count_digits(uint64_t t) {
    uint64_t z = ((t + 0x7676767676767676ULL) | t) & 0x8080808080808080ULL;
    return (z ? __builtin_ctzll(z) : 64) >> 3;
}

/* The value of 8 digit values (each 0..9), byte 0 the most significant. */
static inline uint64_t tw_np_value8(uint64_t t) {
    t = (t * 10 + (t >> 8)) & 0x00FF00FF00FF00FFULL;
    t = (t * 100 + (t >> 16)) & 0x0000FFFF0000FFFFULL;
    return (t * 10000 + (t >> 32)) & 0xFFFFFFFFULL;
}

/* Bytes 0 .. k-1 set. */
static const uint64_t tw_np_mask_lo[9] = {
    0, 0xFFULL, 0xFFFFULL, 0xFFFFFFULL, 0xFFFFFFFFULL, 0xFFFFFFFFFFULL, 0xFFFFFFFFFFFFULL,
    0xFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};

/* Bit i set iff p[i] == ',' (i < 64). */
static inline uint64_t tw_np_comma_mask64(const char *p) {
#if defined(__SSE2__)
    const __m128i c = _mm_set1_epi8(',');
    uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), c));
    uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), c));
    uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), c));
    uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), c));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
#else
    uint64_t m = 0;
    int i;
    for (i = 0; i < 64; i++)
        m |= (uint64_t)(p[i] == ',') << i;
    return m;
#endif
}

/* How many of the 8 bytes of v (first byte lowest) are ASCII digits before the first
   other byte (8 if all are).  A byte is a digit iff its high nibble is 3 and adding 6 keeps
   it 3; a carry out of the addition only reaches bytes after a non-digit. */
static inline int tw_np_ndigits8(uint64_t v) {
    uint64_t z = ((v & 0xF0F0F0F0F0F0F0F0ULL)
                  | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4))
                 ^ 0x3333333333333333ULL;
    return z ? (__builtin_ctzll(z) >> 3) : 8;
}

/* The value of the first n (0..8) bytes of v, all ASCII digits (0 for n = 0): they are
   moved to the top and '0's put below them (shifts split in two to allow 64). */
static inline uint32_t tw_np_digits_n(uint64_t v, int n) {
    v = ((v << (4 * (8 - n))) << (4 * (8 - n)))
        | ((0x3030303030303030ULL >> (4 * n)) >> (4 * n));
    return tw_np_digits8(v);
}

/* ---- the 16-byte tier (module docstring, "Scanning") ---- */

#if defined(__GNUC__) || defined(__clang__)
#define TW_NP_HOT static inline __attribute__((always_inline))
#define TW_NP_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define TW_NP_HOT static inline
#define TW_NP_LIKELY(x) (x)
#endif

#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && !defined(TW_NP_NO_SIMD)
#define TW_NP_SSE2 1
#else
#define TW_NP_SSE2 0
#endif

/* 10**0 .. 10**15, all exact doubles, and RN64(10**-k), k = 0..15 (the compiler's
   conversion of these literals is checked against exact arithmetic at import). */
static const double tw_np_pow10_f64[16] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
static const double tw_np_rcp10_f64[16] = {
    1e-0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13,
    1e-14, 1e-15};

/* Inverses of 5**j modulo 2**64 (j = 0..15): x * 10**j / 10**j == ((x*10**j >> j) * inv) mod 2**64. */
static const uint64_t tw_np_inv5[16] = {
    0x1ULL, 0xcccccccccccccccdULL, 0x8f5c28f5c28f5c29ULL, 0x1cac083126e978d5ULL,
    0xd288ce703afb7e91ULL, 0x5d4e8fb00bcbe61dULL, 0x790fb65668c26139ULL, 0xe5032477ae8d46a5ULL,
    0xc767074b22e90e21ULL, 0x8e47ce423a2e9c6dULL, 0x4fa7f60d3ed61f49ULL, 0x0fee64690c913975ULL,
    0x3662e0e1cf503eb1ULL, 0xa47a2cf9f6433fbdULL, 0x54186f653140a659ULL, 0x7738164770402145ULL};

#if TW_NP_SSE2
/* 16 bytes 0xFF then 16 zeros: the 16 bytes at tw_np_slide + 16 - k have bytes 0..k-1 set. */
static const unsigned char tw_np_slide[32] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#define TW_NP_M16(k) _mm_loadu_si128((const __m128i *)(tw_np_slide + 16 - (k)))
#else
typedef unsigned __int128 tw_np_u128;
/* The low k bytes of a 128-bit word set (k = 0..16), as (hi << 64) | lo. */
static const uint64_t tw_np_m16_lo[17] = {
    0, 0xFFULL, 0xFFFFULL, 0xFFFFFFULL, 0xFFFFFFFFULL, 0xFFFFFFFFFFULL, 0xFFFFFFFFFFFFULL,
    0xFFFFFFFFFFFFFFULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL};
static const uint64_t tw_np_m16_hi[17] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFFULL, 0xFFFFULL, 0xFFFFFFULL, 0xFFFFFFFFULL,
    0xFFFFFFFFFFULL, 0xFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFULL, ~0ULL};
static inline tw_np_u128 tw_np_m16(int k) {
    return ((tw_np_u128)tw_np_m16_hi[k] << 64) | tw_np_m16_lo[k];
}
#endif

/* The number at p (p[0:16] readable) if it has the shape [0-9]+(\.[0-9]+)? with no
   exponent and ends within p[0:15] (so the byte after it is read, and known not to
   continue it; at most 15 digits): its length, else 0 (any other text: the general
   scanner then decides).  With k1 integer and k2 fraction digits, the value is
   *big / 10**(*e10), e10 = 15 - k1, and *big = w * 10**(*j), j = e10 - k2, w the digits
   as an integer (< 10**15).

   The 16 bytes are classified at once (digit / '.' / 'e' or 'E' bit masks).  The digits
   are gathered, the dot's place taken by moving the integer part up one byte, into a
   left-aligned digit string of k1 + k2 + 1 digits (a zero first) and zeros after it,
   valued as 16 digits. */
TW_NP_HOT int tw_np_scan16(const char *p, uint64_t *big, int *e10, int *j) {
    uint32_t nd, dt, ex, lead, k1, isdot, k2, end, bad;
    uint64_t hi8, lo8;
#if TW_NP_SSE2
    const __m128i raw = _mm_loadu_si128((const __m128i *)p);
    const __m128i v = _mm_xor_si128(raw, _mm_set1_epi8(0x30));    /* digit values */
    /* v <= 9 (unsigned) iff the byte is a digit: xor is a bijection */
    const __m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v);
    __m128i d, pr;
    uint64_t o;
    nd = ((uint32_t)_mm_movemask_epi8(isd) ^ 0xFFFFu) | 0x10000u;
    dt = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x1E)));    /* '.' */
    ex = (uint32_t)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_or_si128(raw, _mm_set1_epi8(0x20)), _mm_set1_epi8('e')));
    lead = (uint32_t)_mm_cvtsi128_si32(v) & 0xFFu;
#else
    tw_np_u128 t, d;
    int i;
    nd = 0x10000u;
    dt = ex = 0;
    for (i = 0; i < 16; i++) {
        unsigned char ch = (unsigned char)p[i];
        nd |= (uint32_t)((unsigned)(ch - 48u) > 9u) << i;
        dt |= (uint32_t)(ch == '.') << i;
        ex |= (uint32_t)((ch | 0x20) == 'e') << i;
    }
    t = ((tw_np_u128)(tw_np_load8(p + 8) ^ TW_NP_ZEROS) << 64) | (tw_np_load8(p) ^ TW_NP_ZEROS);
    lead = (uint32_t)(t & 0xFF);
#endif
    /* nd: the non-digits, and bit 16 (the window's end); dt has no bit 16.  So k1 <= 16,
       k1 + isdot <= 16, end <= 16: every mask index below is in 0..16. */
    k1 = (uint32_t)__builtin_ctz(nd);                      /* integer digits */
    isdot = (dt >> k1) & 1u;
    k2 = (uint32_t)__builtin_ctz(nd >> (k1 + isdot));      /* fraction digits (0 without a dot) */
    end = k1 + isdot + k2;
    bad = (k1 == 0) | (isdot & (k2 == 0)) | (end >= 16)
          | ((ex >> end) & 1u)                             /* an exponent follows */
          | ((k1 > 1) & (lead == 0));                      /* a leading zero */
    *e10 = (int)(15 - k1) & 15;                            /* (masked: used when !bad) */
    *j = (int)(15 - k1 - k2) & 15;
#if TW_NP_SSE2
    /* integer digits p[0:k1] moved up one byte, fraction digits p[k1+1:end] */
    d = _mm_or_si128(_mm_slli_si128(_mm_and_si128(v, TW_NP_M16(k1)), 1),
                     _mm_andnot_si128(TW_NP_M16(k1 + isdot), _mm_and_si128(v, TW_NP_M16(end))));
    /* pairs (10 * first + second, 16 bits), quads (32 bits), then eights */
    pr = _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(d, _mm_set1_epi16(0xFF)), _mm_set1_epi16(10)),
                       _mm_srli_epi16(d, 8));
    pr = _mm_madd_epi16(pr, _mm_set1_epi32(0x00010064));              /* 100 * a + b */
    pr = _mm_packs_epi32(pr, pr);                                     /* <= 9999 each */
    pr = _mm_madd_epi16(pr, _mm_set1_epi32(0x00012710));              /* 10000 * a + b */
    o = (uint64_t)_mm_cvtsi128_si64(pr);
    hi8 = o & 0xFFFFFFFFu;
    lo8 = o >> 32;
#else
    d = ((t & tw_np_m16(k1)) << 8) | (t & tw_np_m16(end) & ~tw_np_m16(k1 + isdot));
    hi8 = tw_np_value8((uint64_t)d);
    lo8 = tw_np_value8((uint64_t)(d >> 64));
#endif
    *big = hi8 * 100000000u + lo8;
    return bad ? 0 : (int)end;
}

/* The JSON number at the start of s[0:n] (bytes past n are not read), if tw_np_scan16
   takes it after an optional '-': its length, tw_np_scan16's results and *neg; else 0. */
TW_NP_HOT ptrdiff_t tw_np_fast_big(const char *s, ptrdiff_t n, uint64_t *big, int *e10,
                                   int *j, int *neg) {
    char buf[32];
    int ng, len;
    if (!TW_NP_LIKELY(n >= 17)) {                 /* sign + 16: copy, zeros after */
        if (n <= 0)
            return 0;
        memset(buf, 0, sizeof buf);
        memcpy(buf, s, (size_t)n);
        s = buf;
    }
    ng = s[0] == '-';
    len = tw_np_scan16(s + ng, big, e10, j);
    *neg = ng;
    return len ? len + ng : 0;
}

/* tw_np_fast_big's number as *w * 10**-*nfrac (w < 10**15 its digits): its length, or 0. */
TW_NP_HOT ptrdiff_t tw_np_fast_num(const char *s, ptrdiff_t n, uint64_t *w, int *nfrac,
                                   int *neg) {
    uint64_t big;
    int e10, j;
    ptrdiff_t len = tw_np_fast_big(s, n, &big, &e10, &j, neg);
    if (!len)
        return 0;
    /* big = w * 10**j: (big >> j) = w * 5**j exactly, and w < 2**64 */
    *w = (big >> j) * tw_np_inv5[j];
    *nfrac = e10 - j;
    return len;
}

/* tw_np_fast_num, rounded to float64: its length, 0 if not taken (*out then untouched).
   Clinger: w < 10**15 < 2**53 and 10**nfrac (nfrac <= 14) are exact doubles, so the one
   division is correctly rounded. */
TW_NP_HOT ptrdiff_t tw_np_fast_f64(const char *s, ptrdiff_t n, double *out) {
    uint64_t w, xb;
    int nfrac, neg;
    double x;
    ptrdiff_t len = tw_np_fast_num(s, n, &w, &nfrac, &neg);
    if (!len)
        return 0;
    x = (double)(int64_t)w / tw_np_pow10_f64[nfrac];
    memcpy(&xb, &x, 8);
    xb |= (uint64_t)neg << 63;
    memcpy(out, &xb, 8);
    return len;
}

/* tw_np_fast_big, rounded to float32: its length, or 0 if not taken or too close to call
   (*out then untouched).  The value v = big / 10**e10 is 0 or in [1e-14, 1e15),
   float32's normal range.  d = RN64(RN64(big) * RN64(10**(k1 - 15))) carries three
   roundings, so |d - v| <= |v| * 3.0001 * 2**-53 < 3.0001 ulp(d)'s binade ulp.  RN32 is
   constant between consecutive float32 midpoints, which are doubles with their low 29
   significand bits exactly 1 << 28 (and 2**28 ulps from a binade boundary); so unless d
   lies within 3 ulps (here: 8) of such a pattern, no midpoint separates d and v, d is not
   one, and RN32(d), the narrowing, is RN32(v).  Otherwise the general path decides. */
TW_NP_HOT ptrdiff_t tw_np_fast_f32(const char *s, ptrdiff_t n, float *out) {
    uint64_t big, xb;
    uint32_t fb;
    int e10, j, neg;
    double x;
    float f;
    ptrdiff_t len = tw_np_fast_big(s, n, &big, &e10, &j, &neg);
    if (!len)
        return 0;
    x = (double)(int64_t)big * tw_np_rcp10_f64[e10];
    memcpy(&xb, &x, 8);
    if (((xb + 8u - 0x10000000u) & 0x1FFFFFFFu) <= 16u)   /* near a float32 midpoint */
        return 0;
    f = (float)x;
    memcpy(&fb, &f, 4);
    fb |= (uint32_t)neg << 31;
    memcpy(out, &fb, 4);
    return len;
}

#endif /* TENSORWIRE_NUMBER_PARSE_H */
