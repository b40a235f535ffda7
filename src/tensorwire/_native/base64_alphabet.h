/* base64_alphabet.h: the alphabet kernels of base64.pyx: the value of every character of
   both alphabets, the alphabets themselves, zero-copy access to an ASCII str, and the vector
   translations between the standard and the URL-safe alphabet.

   Included by base64.pyx alone (`cdef extern from "base64_alphabet.h"`, which declares what the
   Cython code uses); everything here is static, private to that one extension. */

#ifndef TENSORWIRE_BASE64_ALPHABET_H
#define TENSORWIRE_BASE64_ALPHABET_H

#include <Python.h>

#include <string.h>

/* The 6-bit value of every character of either alphabet ('+' and '-' are 62, '/' and '_'
   are 63); 255 for every other byte, '=' included. */
static const unsigned char tw_b64_value[256] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0x00 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0x10 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255,  62, 255,  63,  /* 0x20 */
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,  /* 0x30 */
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,  /* 0x40 */
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,  /* 0x50 */
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  /* 0x60 */
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,  /* 0x70 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0x80 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0x90 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xA0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xB0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xC0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xD0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xE0 */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  /* 0xF0 */
};
static const char tw_b64_standard[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char tw_b64_urlsafe[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* An ASCII str: return 1, its characters (no copy) in *data and its length in *length.
   Otherwise return 0 and the offset of its first non-ASCII character in *length. */
static int tw_ascii_data(PyObject *s, const unsigned char **data, Py_ssize_t *length) {
    Py_ssize_t i, n;
    int char_bytes;  /* PyUnicode_KIND: bytes per character, 1, 2 or 4 */
    const void *chars;
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) return -1;
#endif
    n = PyUnicode_GET_LENGTH(s);
    chars = PyUnicode_DATA(s);
    if (PyUnicode_IS_ASCII(s)) {
        *data = (const unsigned char *)chars;
        *length = n;
        return 1;
    }
    char_bytes = PyUnicode_KIND(s);
    for (i = 0; i < n && PyUnicode_READ(char_bytes, chars, i) < 128; i++) {
    }
    *length = i;
    return 0;
}

/* The two alphabet translations, by XOR masks: '+' ^ '-' == 0x06 and '/' ^ '_' == 0x70.
   URL-safe to standard also turns '+' and '/' (the only bytes with (c | 4) == '/') into the
   non-ASCII 0xAB and 0xAF, which every standard decoder rejects: standard characters are
   not allowed in URL-safe text.  With GCC or Clang the loops run on vectors (the compiler's
   generic vector extension): 32 bytes at a time where the CPU has AVX2 (checked at each
   call), then 16 (SSE2 on x86-64, NEON on ARM); one byte at a time for the rest, and
   everywhere with other compilers. */
#define TW_TO_URLSAFE_MASK(c) ((c) == '+' ? 0x06 : (c) == '/' ? 0x70 : 0)
#define TW_TO_STANDARD_MASK(c) \
    ((c) == '-' ? 0x06 : (c) == '_' ? 0x70 : ((c) | 4) == '/' ? 0x80 : 0)

/* NAME_to_urlsafe and NAME_to_standard on WIDTH-byte vectors; they return how many bytes
   they did (a multiple of WIDTH). */
#define TW_VECTOR_TRANSLATORS(NAME, ATTRIBUTES, WIDTH)                                      \
    typedef unsigned char NAME##_vector __attribute__((vector_size(WIDTH)));                 \
    ATTRIBUTES static Py_ssize_t NAME##_to_urlsafe(unsigned char *text, Py_ssize_t n) {     \
        Py_ssize_t i = 0;                                                                    \
        for (; i + WIDTH <= n; i += WIDTH) {                                                 \
            NAME##_vector c, m;                                                              \
            memcpy(&c, text + i, WIDTH);                                                     \
            m = (NAME##_vector)(c == '+') & 0x06;                                            \
            m |= (NAME##_vector)(c == '/') & 0x70;                                           \
            c ^= m;                                                                          \
            memcpy(text + i, &c, WIDTH);                                                     \
        }                                                                                    \
        return i;                                                                            \
    }                                                                                        \
    ATTRIBUTES static Py_ssize_t NAME##_to_standard(const unsigned char *src,               \
                                                    unsigned char *dst, Py_ssize_t n) {      \
        Py_ssize_t i = 0;                                                                    \
        for (; i + WIDTH <= n; i += WIDTH) {                                                 \
            NAME##_vector c, m;                                                              \
            memcpy(&c, src + i, WIDTH);                                                      \
            m = (NAME##_vector)(c == '-') & 0x06;                                            \
            m |= (NAME##_vector)(c == '_') & 0x70;                                           \
            m |= (NAME##_vector)((c | 4) == '/') & 0x80;                                     \
            c ^= m;                                                                          \
            memcpy(dst + i, &c, WIDTH);                                                      \
        }                                                                                    \
        return i;                                                                            \
    }

#if defined(__GNUC__) || defined(__clang__)
#define TW_VECTORS 1
TW_VECTOR_TRANSLATORS(tw_v16, , 16)
#if defined(__x86_64__) || defined(__i386__)
#define TW_AVX2 1
TW_VECTOR_TRANSLATORS(tw_avx2, __attribute__((target("avx2"))), 32)
#endif
#endif

static void tw_standard_to_urlsafe(unsigned char *text, Py_ssize_t n) {
    Py_ssize_t i = 0;
#ifdef TW_AVX2
    if (__builtin_cpu_supports("avx2")) {
        i = tw_avx2_to_urlsafe(text, n);
    }
#endif
#ifdef TW_VECTORS
    i += tw_v16_to_urlsafe(text + i, n - i);
#endif
    for (; i < n; i++) {
        text[i] ^= TW_TO_URLSAFE_MASK(text[i]);
    }
}

static void tw_urlsafe_to_standard(const unsigned char *src, unsigned char *dst, Py_ssize_t n) {
    Py_ssize_t i = 0;
#ifdef TW_AVX2
    if (__builtin_cpu_supports("avx2")) {
        i = tw_avx2_to_standard(src, dst, n);
    }
#endif
#ifdef TW_VECTORS
    i += tw_v16_to_standard(src + i, dst + i, n - i);
#endif
    for (; i < n; i++) {
        dst[i] = src[i] ^ TW_TO_STANDARD_MASK(src[i]);
    }
}

#endif /* TENSORWIRE_BASE64_ALPHABET_H */
