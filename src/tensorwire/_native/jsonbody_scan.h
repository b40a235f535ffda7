/* Byte scanning for the JSON reader of tensorwire._native.jsonbody (jsonbody.pyx:
   cdef extern from "jsonbody_scan.h"). */
#ifndef TENSORWIRE_JSONBODY_SCAN_H
#define TENSORWIRE_JSONBODY_SCAN_H

#include <Python.h>

#if defined(__SSE2__) && (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#include <emmintrin.h>
/* Skip whole 16-byte blocks holding no '"', no backslash and no byte < 0x20; return the
   offset of the first block that holds one (or of the last < 16 bytes).  A byte b is
   < 0x20 iff min(b, 0x1F) == b (unsigned). */
static inline Py_ssize_t tw_jb_plain_blocks(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n) {
    const __m128i q = _mm_set1_epi8(0x22), bs = _mm_set1_epi8(0x5C), ctl = _mm_set1_epi8(0x1F);
    while (pos + 16 <= n) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(s + pos));
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                         _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        if (_mm_movemask_epi8(hit))
            break;
        pos += 16;
    }
    return pos;
}
#else
static inline Py_ssize_t tw_jb_plain_blocks(const unsigned char *s, Py_ssize_t pos, Py_ssize_t n) {
    (void)s; (void)n;
    return pos;
}
#endif

#endif /* TENSORWIRE_JSONBODY_SCAN_H */
