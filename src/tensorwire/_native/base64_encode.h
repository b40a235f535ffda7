/* base64_encode.h: the base64 encoding kernels of _b64enc.pyx (its docstring describes
   them): the scalar loop over a table of character pairs, the AVX2 loop after Mula & Lemire,
   and the import-time setup of the tables and the CPU check.

   Included by _b64enc.pyx alone (`cdef extern from "base64_encode.h"`, which declares what the
   Cython code uses); everything here is static, private to that one extension. */

#ifndef TENSORWIRE_BASE64_ENCODE_H
#define TENSORWIRE_BASE64_ENCODE_H

#include <Python.h>

#include <string.h>

static const char tw_b64e_alphabets[2][65] = {
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
};

/* tw_b64e_pairs[urlsafe][v]: the two characters of the 12-bit value v.  Written by
   tw_b64e_init at import, read-only afterwards. */
static char tw_b64e_pairs[2][4096][2];
static int tw_b64e_avx2_ok = 0;

/* Scalar: encode n bytes (any n >= 0) at out; returns the characters written. */
static Py_ssize_t tw_b64e_scalar(const unsigned char *src, Py_ssize_t n, char *out,
                                 int urlsafe, int pad) {
    const char (*pairs)[2] = tw_b64e_pairs[urlsafe != 0];
    const char *alphabet = tw_b64e_alphabets[urlsafe != 0];
    Py_ssize_t i = 0;
    char *o = out;
    unsigned int v;
    for (; i + 3 <= n; i += 3, o += 4) {
        v = ((unsigned int)src[i] << 16) | ((unsigned int)src[i + 1] << 8) | src[i + 2];
        memcpy(o, pairs[v >> 12], 2);
        memcpy(o + 2, pairs[v & 0xFFF], 2);
    }
    if (n - i == 1) {
        v = src[i];
        o[0] = alphabet[v >> 2];
        o[1] = alphabet[(v & 3) << 4];
        o += 2;
        if (pad) {
            o[0] = '=';
            o[1] = '=';
            o += 2;
        }
    } else if (n - i == 2) {
        v = ((unsigned int)src[i] << 8) | src[i + 1];
        o[0] = alphabet[v >> 10];
        o[1] = alphabet[(v >> 4) & 63];
        o[2] = alphabet[(v & 15) << 2];
        o += 3;
        if (pad) {
            *o++ = '=';
        }
    }
    return o - out;
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define TW_B64E_AVX2 1
#include <immintrin.h>

/* Steps 2-5 of the module docstring on one loaded vector; `shuffle` is step 2's control. */
__attribute__((target("avx2"))) static inline void
tw_b64e_avx2_step(__m256i in, __m256i shuffle, __m256i lut, char *out) {
    const __m256i mask_hi = _mm256_set1_epi32(0x0FC0FC00);
    const __m256i mul_hi = _mm256_set1_epi32(0x04000040);
    const __m256i mask_lo = _mm256_set1_epi32(0x003F03F0);
    const __m256i mul_lo = _mm256_set1_epi32(0x01000010);
    __m256i words, indices, classes;
    words = _mm256_shuffle_epi8(in, shuffle);
    indices = _mm256_or_si256(
        _mm256_mulhi_epu16(_mm256_and_si256(words, mask_hi), mul_hi),
        _mm256_mullo_epi16(_mm256_and_si256(words, mask_lo), mul_lo));
    classes = _mm256_sub_epi8(_mm256_subs_epu8(indices, _mm256_set1_epi8(51)),
                              _mm256_cmpgt_epi8(indices, _mm256_set1_epi8(25)));
    _mm256_storeu_si256((__m256i *)out,
                        _mm256_add_epi8(indices, _mm256_shuffle_epi8(lut, classes)));
}

/* Encode whole 24-byte steps while 28 bytes remain; returns the input bytes done (a
   multiple of 24; their 4/3 as many characters are at out). */
__attribute__((target("avx2"))) static Py_ssize_t
tw_b64e_avx2(const unsigned char *src, Py_ssize_t n, char *out, int urlsafe) {
    /* Step 2's control for lanes holding their 12 bytes at offset 0, and for the later
       steps' lane 0, which holds them at offset 4. */
    const __m256i shuffle_first = _mm256_setr_epi8(
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    const __m256i shuffle = _mm256_setr_epi8(
        5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14,
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    /* Step 4's offsets by class; entries 12 and 13 are the alphabet's last two. */
    const char c62 = urlsafe ? '-' - 62 : '+' - 62;
    const char c63 = urlsafe ? '_' - 63 : '/' - 63;
    const __m256i lut = _mm256_setr_epi8(
        'A', 'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, c62, c63, 0, 0,
        'A', 'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, c62, c63, 0, 0);
    Py_ssize_t i;
    if (n < 28) {
        return 0;
    }
    tw_b64e_avx2_step(
        _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)src)),
            _mm_loadu_si128((const __m128i *)(src + 12)), 1),
        shuffle_first, lut, out);
    i = 24;
    out += 32;
    for (; i + 52 <= n; i += 48, out += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i - 4));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 20));
        tw_b64e_avx2_step(a, shuffle, lut, out);
        tw_b64e_avx2_step(b, shuffle, lut, out + 32);
    }
    if (i + 28 <= n) {
        tw_b64e_avx2_step(_mm256_loadu_si256((const __m256i *)(src + i - 4)), shuffle, lut, out);
        i += 24;
    }
    return i;
}
#endif

/* Encode src[0:n] at out; the AVX2 loop first when `simd` (the caller checked the CPU),
   then the scalar loop.  *simd_bytes: the input bytes the AVX2 loop did. */
static Py_ssize_t tw_b64e_encode(const unsigned char *src, Py_ssize_t n, char *out,
                                 int urlsafe, int pad, int simd, Py_ssize_t *simd_bytes) {
    Py_ssize_t i = 0, o;
    if (n <= 0) {
        *simd_bytes = 0;
        return 0;
    }
#ifdef TW_B64E_AVX2
    if (simd) {
        i = tw_b64e_avx2(src, n, out, urlsafe);
    }
#else
    (void)simd;
#endif
    *simd_bytes = i;
    o = i / 3 * 4;
    return o + tw_b64e_scalar(src + i, n - i, out + o, urlsafe, pad);
}

static void tw_b64e_init(void) {
    int a;
    unsigned int v;
    for (a = 0; a < 2; a++) {
        for (v = 0; v < 4096; v++) {
            tw_b64e_pairs[a][v][0] = tw_b64e_alphabets[a][v >> 6];
            tw_b64e_pairs[a][v][1] = tw_b64e_alphabets[a][v & 63];
        }
    }
#ifdef TW_B64E_AVX2
    __builtin_cpu_init();
    tw_b64e_avx2_ok = __builtin_cpu_supports("avx2") != 0;
#endif
}

#endif /* TENSORWIRE_BASE64_ENCODE_H */
