/* Writing str objects as JSON strings for the JSON writer of tensorwire._native.jsonbody
   (jsonbody.pyx: cdef extern from "jsonbody_text.h").  The text is what
   json.dumps(s, ensure_ascii=False) writes, in UTF-8: '"', '\\' and the control characters
   escaped (the five with a letter as \b \f \n \r \t, the others as \u00xx), everything else
   copied as it is. */
#ifndef TENSORWIRE_JSONBODY_TEXT_H
#define TENSORWIRE_JSONBODY_TEXT_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "jsonbody_cpu.h"

#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <emmintrin.h>
#define TW_JB_TEXT_SSE2 1
#endif

/* Room a string of n UTF-8 bytes may take, quotes included (every byte a \u00xx). */
#define TW_JB_TEXT_ROOM(n) (6 * (n) + 2)

static inline int tw_jb_needs_escape(unsigned char c) {
    return c < 0x20 || c == '"' || c == '\\';
}

/* The escape of c (one tw_jb_needs_escape accepts) written at p; returns the end. */
static inline char *tw_jb_escape(char *p, unsigned char c) {
    static const char hex[] = "0123456789abcdef";
    char letter;
    switch (c) {
    case '"': letter = '"'; break;
    case '\\': letter = '\\'; break;
    case '\b': letter = 'b'; break;
    case '\f': letter = 'f'; break;
    case '\n': letter = 'n'; break;
    case '\r': letter = 'r'; break;
    case '\t': letter = 't'; break;
    default:
        p[0] = '\\'; p[1] = 'u'; p[2] = '0'; p[3] = '0';
        p[4] = hex[c >> 4]; p[5] = hex[c & 15];
        return p + 6;
    }
    p[0] = '\\';
    p[1] = letter;
    return p + 2;
}

/* Whether none of the 8 bytes at s needs escaping: the bytewise "has a byte less than" and
   "has a zero byte" tests on the word, on it xor '"' and on it xor '\\'. */
static inline int tw_jb_plain8(const unsigned char *s) {
    uint64_t w, q, b;
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    memcpy(&w, s, 8);
    q = w ^ (ones * 0x22);
    b = w ^ (ones * 0x5C);
    return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) == 0;
}

#ifdef TW_JB_TEXT_SSE2
/* Bit k set when byte k of the 16 at s needs escaping. */
static inline unsigned tw_jb_escape_mask16(__m128i v) {
    const __m128i q = _mm_set1_epi8(0x22), bs = _mm_set1_epi8(0x5C), ctl = _mm_set1_epi8(0x1F);
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                     _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* UTF-8 s[:n] as a JSON string at p (TW_JB_TEXT_ROOM(n) bytes of room); returns the end.

   Plain runs are copied in blocks (16 bytes with SSE2, else 8).  Reads stay inside s[:n]: a
   tail shorter than a block is read as the block ending at n when the string is long enough,
   and that block is written over the end of what was written (which equals its first bytes,
   since a byte that needs no escape is written as it is) only when the whole block is plain.
   Writes stay inside the text: a block is stored at p only while at least a block of input is
   left, and each input byte takes at least one byte of output. */
static inline __attribute__((always_inline)) char *tw_jb_put_text_portable(char *p, const unsigned char *s,
                                                                          Py_ssize_t n) {
    Py_ssize_t i = 0, stop;
    *p++ = '"';
#ifdef TW_JB_TEXT_SSE2
    while (n - i >= 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        const unsigned m = tw_jb_escape_mask16(v);
        _mm_storeu_si128((__m128i *)p, v);
        if (!m) {
            p += 16;
            i += 16;
            continue;
        }
        const int k = __builtin_ctz(m);  /* bytes before the first to escape: already in place */
        p = tw_jb_escape(p + k, s[i + k]);
        i += k + 1;
    }
    if (i < n && n >= 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(s + n - 16));
        if (!tw_jb_escape_mask16(v)) {
            _mm_storeu_si128((__m128i *)(p - (16 - (n - i))), v);
            p += n - i;
            i = n;
        }
    }
#endif
    while (n - i >= 8) {
        if (tw_jb_plain8(s + i)) {
            memcpy(p, s + i, 8);
            p += 8;
            i += 8;
            continue;
        }
        for (stop = i + 8; i < stop; i++) {
            const unsigned char c = s[i];
            if (tw_jb_needs_escape(c))
                p = tw_jb_escape(p, c);
            else
                *p++ = (char)c;
        }
    }
    if (i < n && n >= 8 && tw_jb_plain8(s + n - 8)) {
        memcpy(p - (8 - (n - i)), s + n - 8, 8);
        p += n - i;
        i = n;
    }
    for (; i < n; i++) {
        const unsigned char c = s[i];
        if (tw_jb_needs_escape(c))
            p = tw_jb_escape(p, c);
        else
            *p++ = (char)c;
    }
    *p++ = '"';
    return p;
}

/* Bytes tw_jb_put_text_wide may write past the end of its text. */
#define TW_JB_WIDE_SLACK 32

#ifdef TW_JB_AVX512
/* tw_jb_put_text_portable with AVX-512 (BW, VL) on 32-byte blocks: a short string or the tail of
   a long one is one masked load and compare.  Masked-off bytes are not read (the load suppresses
   their faults), so reads stay inside s[:n].  Each block is stored masked (``whole`` 0: writes
   stay inside the text, as in the portable kernel) or whole (``whole`` 1: up to 31 bytes past the
   end of the text, which the caller then writes over or cuts off, so it leaves TW_JB_WIDE_SLACK
   bytes of room past TW_JB_TEXT_ROOM(n); cheaper than a masked store).  A string's last block
   leaves at once, with no step back to the loop test.  ``whole`` is a constant in each caller. */
TW_JB_AVX512_TARGET static inline __attribute__((always_inline)) char *
tw_jb_put_text_avx512_blocks(char *p, const unsigned char *s, Py_ssize_t n, const int whole) {
    const __m256i q = _mm256_set1_epi8(0x22), bs = _mm256_set1_epi8(0x5C), ctl = _mm256_set1_epi8(0x1F);
    *p++ = '"';
    while (n > 0) {
        const __mmask32 k = n >= 32 ? 0xFFFFFFFFu : (__mmask32)_bzhi_u32(0xFFFFFFFFu, (unsigned)n);
        const __m256i v = _mm256_maskz_loadu_epi8(k, s);
        const __mmask32 hit = (_mm256_cmpeq_epi8_mask(v, q) | _mm256_cmpeq_epi8_mask(v, bs)
                               | _mm256_cmple_epu8_mask(v, ctl)) & k;
        if (whole)
            _mm256_storeu_si256((__m256i *)p, v);
        else
            _mm256_mask_storeu_epi8(p, k, v);
        if (__builtin_expect(hit == 0, 1)) {
            if (n <= 32) {  /* the last block (a short string's only one) */
                p += n;
                break;
            }
            p += 32;
            s += 32;
            n -= 32;
            continue;
        }
        const int t = __builtin_ctz(hit);  /* bytes before the first to escape: already in place */
        p = tw_jb_escape(p + t, s[t]);
        s += t + 1;
        n -= t + 1;
    }
    *p++ = '"';
    return p;
}

/* The kernel with masked stores: writes stay inside the text. */
TW_JB_AVX512_TARGET static inline __attribute__((always_inline)) char *
tw_jb_put_text_avx512(char *p, const unsigned char *s, Py_ssize_t n) {
    return tw_jb_put_text_avx512_blocks(p, s, n, 0);
}

/* The kernel with whole stores, for a caller that leaves TW_JB_WIDE_SLACK bytes of room past the
   text's (the str-items loop). */
TW_JB_AVX512_TARGET static inline __attribute__((always_inline)) char *
tw_jb_put_text_wide(char *p, const unsigned char *s, Py_ssize_t n) {
    return tw_jb_put_text_avx512_blocks(p, s, n, 1);
}
#endif

#ifdef TW_JB_AVX512
TW_JB_AVX512_TARGET static char *tw_jb_put_text_avx512_call(char *p, const unsigned char *s, Py_ssize_t n) {
    return tw_jb_put_text_avx512(p, s, n);
}
/* tw_jb_put_text_wide on its own, for tests/test_jsontext.py (through _jsontext). */
TW_JB_AVX512_TARGET __attribute__((unused)) static char *tw_jb_put_text_wide_call(char *p, const unsigned char *s,
                                                                                  Py_ssize_t n) {
    return tw_jb_put_text_wide(p, s, n);
}
#else
/* Never called without AVX-512 (tw_jb_avx512_ok stays 0); defined so that callers compile. */
__attribute__((unused)) static char *tw_jb_put_text_avx512_call(char *p, const unsigned char *s, Py_ssize_t n) {
    return tw_jb_put_text_portable(p, s, n);
}
__attribute__((unused)) static char *tw_jb_put_text_wide_call(char *p, const unsigned char *s, Py_ssize_t n) {
    return tw_jb_put_text_portable(p, s, n);
}
#endif

/* UTF-8 s[:n] as a JSON string at p (at most TW_JB_TEXT_ROOM(n) bytes); returns the end.  The
   AVX-512 kernel where the CPU has it, the portable one elsewhere: the same bytes. */
static inline char *tw_jb_put_text(char *p, const unsigned char *s, Py_ssize_t n) {
#ifdef TW_JB_AVX512
    if (tw_jb_avx512_ok)
        return tw_jb_put_text_avx512_call(p, s, n);
#endif
    return tw_jb_put_text_portable(p, s, n);
}

/* The UTF-8 of exact str x: *size bytes at the result; NULL (UnicodeEncodeError set) where UTF-8
   cannot hold x.  A compact ASCII str is its own UTF-8; a str whose UTF-8 CPython already keeps
   (made by an earlier PyUnicode_AsUTF8AndSize) is read from the object's fields, as CPython's own
   macros do, on the versions whose layout is known (3.10 to 3.13, not free-threaded builds, where
   another thread may be making it); any other goes through
   PyUnicode_AsUTF8AndSize, which makes and keeps it. */
static inline const char *tw_jb_utf8(PyObject *x, Py_ssize_t *size) {
    if (PyUnicode_IS_COMPACT_ASCII(x)) {
        *size = PyUnicode_GET_LENGTH(x);
        return (const char *)PyUnicode_DATA(x);
    }
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_LIMITED_API) && !defined(Py_GIL_DISABLED)
    if (PyUnicode_IS_COMPACT(x) && ((PyCompactUnicodeObject *)x)->utf8 != NULL) {
        *size = ((PyCompactUnicodeObject *)x)->utf8_length;
        return ((PyCompactUnicodeObject *)x)->utf8;
    }
#endif
    return PyUnicode_AsUTF8AndSize(x, size);
}

/* Items ahead the AVX-512 loop asks the CPU to fetch (tw_jb_put_str_items: AHEAD).  4, 8, 12,
   16 and 24 were measured (benchmarks/text_encode_ab.py and with the reference encoder run
   between samples): 4, 8 and 12 measured alike; 16 and 24 were slower than the loop without
   any (docs/json-general.md).  -DTW_JB_AHEAD=N builds another distance, for such measurements. */
#ifndef TW_JB_AHEAD
#define TW_JB_AHEAD 8
#endif

/* What stopped tw_jb_put_str_items at item *pj (or TW_JB_DONE: all n written). */
enum { TW_JB_DONE = 0, TW_JB_OTHER = 1, TW_JB_ROOM = 2, TW_JB_NO_UTF8 = 3 };

/* Items *pj.. of a 1-d object array of exact str, written one after another as JSON strings
   (each after ',' unless it is item 0, and as {<name>:<string>} when name_len > 0) from p on,
   while there is room before end.  Stops at an item that is not an exact str (TW_JB_OTHER), one
   whose UTF-8 does not fit the room left (TW_JB_ROOM: *need says how much it takes), or one
   UTF-8 cannot hold (TW_JB_NO_UTF8, with the UnicodeEncodeError set); *pj is that item, *pp
   the end of what was written.  Holds the GIL (PyUnicode_AsUTF8AndSize may build the UTF-8).
   Defined once per kernel, so that the kernel is inlined into the loop: PUT_TEXT writes a
   string, SLACK is the room it may write past it, and AHEAD (0 for none) how many items ahead
   the loop asks the CPU to fetch the object of (the cache line of a str's start: its type,
   length and kind, the load each item starts with, from strings scattered over the heap). */
#define TW_JB_PUT_STR_ITEMS(FUNC, ATTR, PUT_TEXT, SLACK, AHEAD)                                     \
    ATTR static int FUNC(char **pp, const char *end, PyObject *const *items, Py_ssize_t *pj,       \
                         Py_ssize_t n, const char *name, Py_ssize_t name_len, Py_ssize_t *need) {  \
        char *p = *pp;                                                                              \
        Py_ssize_t j = *pj, size, room;                                                             \
        const char *u8;                                                                             \
        int status = TW_JB_DONE;                                                                    \
        for (; j < n; j++) {                                                                        \
            PyObject *x = items[j];                                                                 \
            if ((AHEAD) && j + (AHEAD) < n)                                                         \
                __builtin_prefetch(items[j + (AHEAD)]);                                             \
            if (!PyUnicode_CheckExact(x)) {                                                         \
                status = TW_JB_OTHER;                                                               \
                break;                                                                              \
            }                                                                                       \
            u8 = tw_jb_utf8(x, &size);                                                              \
            if (u8 == NULL) {                                                                       \
                status = TW_JB_NO_UTF8;                                                             \
                break;                                                                              \
            }                                                                                       \
            room = TW_JB_TEXT_ROOM(size) + (SLACK) + name_len + 4;                                  \
            if (end - p < room) {                                                                   \
                *need = room;                                                                       \
                status = TW_JB_ROOM;                                                                \
                break;                                                                              \
            }                                                                                       \
            if (j)                                                                                  \
                *p++ = ',';                                                                         \
            if (name_len) {                                                                         \
                *p++ = '{';                                                                         \
                memcpy(p, name, (size_t)name_len);                                                  \
                p += name_len;                                                                      \
                *p++ = ':';                                                                         \
            }                                                                                       \
            p = PUT_TEXT(p, (const unsigned char *)u8, size);                                       \
            if (name_len)                                                                           \
                *p++ = '}';                                                                         \
        }                                                                                           \
        *pp = p;                                                                                    \
        *pj = j;                                                                                    \
        return status;                                                                              \
    }

/* The portable loop asks for nothing ahead (measured slower with it: docs/json-general.md). */
TW_JB_PUT_STR_ITEMS(tw_jb_put_str_items_portable, , tw_jb_put_text_portable, 0, 0)
#ifdef TW_JB_AVX512
TW_JB_PUT_STR_ITEMS(tw_jb_put_str_items_avx512, TW_JB_AVX512_TARGET, tw_jb_put_text_wide, TW_JB_WIDE_SLACK,
                    TW_JB_AHEAD)
#else
/* Never called without AVX-512 (tw_jb_avx512_ok stays 0); defined so that callers compile. */
__attribute__((unused)) static int tw_jb_put_str_items_avx512(char **pp, const char *end, PyObject *const *items, Py_ssize_t *pj,
                                      Py_ssize_t n, const char *name, Py_ssize_t name_len, Py_ssize_t *need) {
    return tw_jb_put_str_items_portable(pp, end, items, pj, n, name, name_len, need);
}
#endif

static inline int tw_jb_put_str_items(char **pp, const char *end, PyObject *const *items, Py_ssize_t *pj,
                                      Py_ssize_t n, const char *name, Py_ssize_t name_len, Py_ssize_t *need) {
#ifdef TW_JB_AVX512
    if (tw_jb_avx512_ok)
        return tw_jb_put_str_items_avx512(pp, end, items, pj, n, name, name_len, need);
#endif
    return tw_jb_put_str_items_portable(pp, end, items, pj, n, name, name_len, need);
}

#endif /* TENSORWIRE_JSONBODY_TEXT_H */
