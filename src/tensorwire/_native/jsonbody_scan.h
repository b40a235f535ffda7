/* Byte scanning for the JSON reader of tensorwire._native.jsonbody (jsonbody.pyx:
   cdef extern from "jsonbody_scan.h"). */
#ifndef TENSORWIRE_JSONBODY_SCAN_H
#define TENSORWIRE_JSONBODY_SCAN_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "jsonbody_cpu.h"

#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <emmintrin.h>
#endif

/* The first offset from pos holding '"', a backslash or a byte < 0x20 (or n), 16 bytes at a
   time with SSE2, then 8; *high is set when a byte before it is >= 0x80 (not ASCII).
   A byte b is flagged when b ^ '"' or b ^ '\\' is zero, or b < 0x20 (the "has a zero byte" and
   "has a byte less than" tests, (x - 0x01..) & ~x & 0x80..). */
static inline Py_ssize_t tw_jb_plain_span_portable(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n,
                                                   int *high) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t w, q, bs, ctl, bits = 0;
#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
    {   /* tw_jb_plain_blocks, OR-ing the blocks it skips */
        const __m128i vq = _mm_set1_epi8(0x22), vbs = _mm_set1_epi8(0x5C), vctl = _mm_set1_epi8(0x1F);
        __m128i acc = _mm_setzero_si128();
        while (pos + 16 <= n) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(s + pos));
            const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vq), _mm_cmpeq_epi8(v, vbs)),
                                             _mm_cmpeq_epi8(_mm_min_epu8(v, vctl), v));
            if (_mm_movemask_epi8(hit))
                break;
            acc = _mm_or_si128(acc, v);
            pos += 16;
        }
        if (_mm_movemask_epi8(acc))
            *high = 1;
    }
#endif
    while (pos + 8 <= n) {
        memcpy(&w, s + pos, 8);
        q = w ^ (0x22 * ones);
        bs = w ^ (0x5C * ones);
        ctl = (w - 0x20 * ones) & ~w;
        if ((((q - ones) & ~q) | ((bs - ones) & ~bs) | ctl) & highs)
            break;
        bits |= w;
        pos += 8;
    }
    while (pos < n && s[pos] != 0x22 && s[pos] != 0x5C && s[pos] >= 0x20) {
        bits |= s[pos];
        pos++;
    }
    if (bits & highs)
        *high = 1;
    return pos;
}

#ifdef TW_JB_AVX512
/* tw_jb_plain_span_portable with AVX-512 (BW, VL): 32 bytes per masked load, so a short string
   is one load and one compare; masked-off bytes past n are not read (their faults suppressed). */
TW_JB_AVX512_TARGET static Py_ssize_t tw_jb_plain_span_avx512(const unsigned char *s, Py_ssize_t pos,
                                                              Py_ssize_t n, int *high) {
    const __m256i q = _mm256_set1_epi8(0x22), bs = _mm256_set1_epi8(0x5C), ctl = _mm256_set1_epi8(0x1F);
    unsigned top = 0;
    while (pos < n) {
        const Py_ssize_t left = n - pos;
        const unsigned take = left >= 32 ? 32u : (unsigned)left;
        const __mmask32 k = (__mmask32)_bzhi_u32(0xFFFFFFFFu, take);
        const __m256i v = _mm256_maskz_loadu_epi8(k, s + pos);
        const unsigned hit = (unsigned)((_mm256_cmpeq_epi8_mask(v, q) | _mm256_cmpeq_epi8_mask(v, bs)
                                         | _mm256_cmple_epu8_mask(v, ctl)) & k);
        const unsigned hi = (unsigned)_mm256_movepi8_mask(v);  /* masked-off bytes are 0 */
        if (hit) {
            const unsigned t = (unsigned)__builtin_ctz(hit);
            top |= _bzhi_u32(hi, t);
            pos += t;
            break;
        }
        top |= hi;
        pos += take;
    }
    if (top)
        *high = 1;
    return pos;
}
#endif

#ifndef TW_JB_AVX512
/* Never called without AVX-512 (tw_jb_avx512_ok stays 0); defined so that callers compile. */
__attribute__((unused)) static Py_ssize_t tw_jb_plain_span_avx512(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n,
                                                                  int *high) {
    return tw_jb_plain_span_portable(s, pos, n, high);
}
#endif

/* tw_jb_plain_span_portable, or its AVX-512 form where the CPU has it: the same result. */
static inline Py_ssize_t tw_jb_plain_span(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n, int *high) {
#ifdef TW_JB_AVX512
    if (tw_jb_avx512_ok)
        return tw_jb_plain_span_avx512(s, pos, n, high);
#endif
    return tw_jb_plain_span_portable(s, pos, n, high);
}

#endif /* TENSORWIRE_JSONBODY_SCAN_H */
