/* number_format.h: the integer kernels of _numfmt.pyx (shortest number text; its docstring
   describes the algorithm): the round-to-odd 192-bit products of the Schubfach core, digit
   strings made with SWAR arithmetic, branch-free selects, fixed-size stores, and the digit
   tables.

   Included by _numfmt.pyx alone (`cdef extern from "number_format.h"`, which declares what the
   Cython code uses); everything here is static, private to that one extension. */

#ifndef TENSORWIRE_NUMBER_FORMAT_H
#define TENSORWIRE_NUMBER_FORMAT_H

#include <stdint.h>
#include <string.h>

/* rop (round to odd) of x = cp * g / 2**127 for the 126-bit g = g_hi * 2**64 + g_lo.
 * Computes the full 192-bit product P = cp * g.  Returns floor(P / 2**127) with its lowest
 * bit forced to 1 when the remainder P mod 2**127 exceeds thr (thr = 0: exact test for a
 * non-zero remainder; thr = cp: tolerate the table's rounding error, see the module doc). */
static inline uint64_t tw_numfmt_rop(uint64_t g_hi, uint64_t g_lo, uint64_t cp, uint64_t thr)
{
    unsigned __int128 lo = (unsigned __int128)cp * g_lo;
    unsigned __int128 hi = (unsigned __int128)cp * g_hi + (uint64_t)(lo >> 64);
    uint64_t rem_hi = (uint64_t)hi & 0x7FFFFFFFFFFFFFFFull;
    uint64_t rem_lo = (uint64_t)lo;
    return (uint64_t)(hi >> 63) | (uint64_t)((rem_hi != 0) | (rem_lo > thr));
}

typedef unsigned __int128 tw_numfmt_u128;

/* The 8 decimal digits of x < 10**8 as byte values 0..9, the most significant in the lowest
 * byte: x is split into two 4-digit halves (32-bit lanes), each into 2-digit pairs (16-bit
 * lanes), each into digits (8-bit lanes); the multiply-shifts divide every lane at once:
 * (v * 10486) >> 20 == v / 100 for v < 10**4 and (v * 103) >> 10 == v / 10 for v < 100,
 * and no lane's product reaches into the next lane. */
static inline uint64_t tw_numfmt_swar8(uint64_t x)
{
    uint32_t x32 = (uint32_t)x;
    uint64_t m4 = (uint64_t)(x32 / 10000) | ((uint64_t)(x32 % 10000) << 32);
    uint64_t q100 = ((m4 * 10486) >> 20) & 0x0000007F0000007Full;
    uint64_t m2 = q100 | ((m4 - 100 * q100) << 16);
    uint64_t q10 = ((m2 * 103) >> 10) & 0x000F000F000F000Full;
    return q10 | ((m2 - 10 * q10) << 8);
}

/* The 16 digits of x < 10**16 (leading zeros included), first digit in the lowest byte. */
static inline tw_numfmt_u128 tw_numfmt_digits16(uint64_t x)
{
    uint64_t hi = x / 100000000u, lo = x % 100000000u;
    /* hi < 10 (always for float32/16 digits): a single digit, in the 8th byte */
    uint64_t top = hi < 10 ? hi << 56 : tw_numfmt_swar8(hi);
    return (tw_numfmt_u128)top | ((tw_numfmt_u128)tw_numfmt_swar8(lo) << 64);
}

/* Number of zero bytes at the top of d (16 for d == 0): the trailing zero digits. */
static inline int tw_numfmt_clz128_bytes(tw_numfmt_u128 d)
{
    uint64_t hi = (uint64_t)(d >> 64), lo = (uint64_t)d;
    if (hi) return __builtin_clzll(hi) >> 3;
    return lo ? 8 + (__builtin_clzll(lo) >> 3) : 16;
}

/* '0' in each of 16 bytes. */
static inline tw_numfmt_u128 tw_numfmt_zeros16(void)
{
    return ((tw_numfmt_u128)0x3030303030303030ull << 64) | 0x3030303030303030ull;
}

/* "0.00000000000000": the start of a positional text below 1. */
static inline tw_numfmt_u128 tw_numfmt_zero_point16(void)
{
    return ((tw_numfmt_u128)0x3030303030303030ull << 64) | 0x3030303030302E30ull;
}

/* c ? a : b, computed without a branch (c is 0 or 1; compilers tend to turn ?: on
 * data-dependent conditions into branches, which mispredict on real data). */
static inline uint64_t tw_numfmt_sel64(int c, uint64_t a, uint64_t b)
{
    uint64_t m = (uint64_t)0 - (uint64_t)(c != 0);
    return b ^ ((a ^ b) & m);
}

static inline tw_numfmt_u128 tw_numfmt_sel128(int c, tw_numfmt_u128 a, tw_numfmt_u128 b)
{
    tw_numfmt_u128 m = (tw_numfmt_u128)0 - (tw_numfmt_u128)(c != 0);
    return b ^ ((a ^ b) & m);
}

/* Store the bytes of v at p, its lowest byte first, whatever the host's byte order. */
static inline void tw_numfmt_store16(char* p, tw_numfmt_u128 v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap128(v);
#endif
    memcpy(p, &v, 16);
}

static inline void tw_numfmt_store8(char* p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

/* The same for a row with g_lo == 0 (exact rows with -26 <= k <= 0, what typical data
 * needs): P = cp * g_hi * 2**64, so one 64x64-bit product gives floor and remainder. */
static inline uint64_t tw_numfmt_rop_hi(uint64_t g_hi, uint64_t cp)
{
    unsigned __int128 p = (unsigned __int128)cp * g_hi;
    return (uint64_t)(p >> 63) | (uint64_t)(((uint64_t)p & 0x7FFFFFFFFFFFFFFFull) != 0);
}

/* floor(g * cp / 2**64): the high half of the 128-bit product. */
static inline uint64_t tw_numfmt_mulhi(uint64_t g, uint64_t cp)
{
    return (uint64_t)(((unsigned __int128)g * cp) >> 64);
}

/* Number of zero bytes at the top of w, 8 if w == 0. */
static inline int tw_numfmt_clz64_bytes(uint64_t w)
{
    return (__builtin_clzll(w | 1) >> 3) + (w == 0);
}

/* Number of bits of x (x != 0). */
static inline int tw_numfmt_bitlen(uint64_t x) { return 64 - __builtin_clzll(x); }

static const uint64_t tw_numfmt_pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

/* "00" "01" ... "99": two digits per entry. */
static const char tw_numfmt_digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

#endif /* TENSORWIRE_NUMBER_FORMAT_H */
