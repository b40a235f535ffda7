/* Unescaping a JSON string for the JSON reader of tensorwire._native.jsonbody (jsonbody.pyx:
   cdef extern from "jsonbody_unescape.h"). */
#ifndef TENSORWIRE_JSONBODY_UNESCAPE_H
#define TENSORWIRE_JSONBODY_UNESCAPE_H

#include <Python.h>

static inline unsigned int tw_jb_hex_digit(unsigned char c) {
    if (c <= '9')
        return (unsigned int)(c - '0');
    return (unsigned int)((c | 0x20) - 'a' + 10);
}

static inline unsigned int tw_jb_hex4(const unsigned char *p) {
    return (tw_jb_hex_digit(p[0]) << 12) | (tw_jb_hex_digit(p[1]) << 8)
         | (tw_jb_hex_digit(p[2]) << 4) | tw_jb_hex_digit(p[3]);
}

/* The UTF-8 of the n bytes of a JSON string's content (between its quotes) written to out, with
   every escape replaced by the character it stands for; returns the number of bytes written.

   The content must already have passed the lexer's string check (lx_string): every backslash
   starts a whole escape, every \u escape has four hex digits and surrogate escapes come in
   high-low pairs.  Nothing is checked again here.  Each escape is at least as long as its
   UTF-8 (\n: 2 -> 1, \uXXXX: 6 -> at most 3, a surrogate pair: 12 -> 4), so n bytes of out
   always suffice. */
static Py_ssize_t tw_jb_unescape(const unsigned char *s, Py_ssize_t n, unsigned char *out) {
    Py_ssize_t i = 0, k = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c != '\\') {
            out[k++] = c;
            i++;
            continue;
        }
        const unsigned char e = s[i + 1];
        i += 2;
        switch (e) {
        case 'b': out[k++] = '\b'; continue;
        case 'f': out[k++] = '\f'; continue;
        case 'n': out[k++] = '\n'; continue;
        case 'r': out[k++] = '\r'; continue;
        case 't': out[k++] = '\t'; continue;
        case 'u': break;
        default: out[k++] = e; continue; /* '"', '\\' and '/' stand for themselves */
        }
        unsigned int u = tw_jb_hex4(s + i);
        i += 4;
        if (u >= 0xD800 && u <= 0xDBFF) { /* a high surrogate: its low half follows as \uDC00-\uDFFF */
            u = 0x10000 + ((u - 0xD800) << 10) + (tw_jb_hex4(s + i + 2) - 0xDC00);
            i += 6;
        }
        if (u < 0x80) {
            out[k++] = (unsigned char)u;
        } else if (u < 0x800) {
            out[k++] = (unsigned char)(0xC0 | (u >> 6));
            out[k++] = (unsigned char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            out[k++] = (unsigned char)(0xE0 | (u >> 12));
            out[k++] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
            out[k++] = (unsigned char)(0x80 | (u & 0x3F));
        } else {
            out[k++] = (unsigned char)(0xF0 | (u >> 18));
            out[k++] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
            out[k++] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
            out[k++] = (unsigned char)(0x80 | (u & 0x3F));
        }
    }
    return k;
}

#endif /* TENSORWIRE_JSONBODY_UNESCAPE_H */
