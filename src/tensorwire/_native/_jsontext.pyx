# cython: language_level=3, embedsignature=True
"""The string kernels of the native JSON codec, one at a time, for tests/test_jsontext.py.

``jsonbody`` writes strings with ``tw_jb_put_text`` (jsonbody_text.h) and finds the end of a
string's plain run with ``tw_jb_plain_span`` (jsonbody_scan.h).  Each has a portable form
(SSE2 blocks, then 8 bytes at a time) and an AVX-512 (BW, VL) form chosen at run time on CPUs
that have it (jsonbody_cpu.h).  On such a CPU the codec only ever runs the AVX-512 forms, so
this module calls either form by name, with guard bytes around the output, so that both are
checked against ``json.dumps`` on every machine that can run them.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_Clear
from cpython.object cimport PyObject
from libc.string cimport memcmp, memset

cdef object _object_array
from numpy import empty as _object_array  # (n, dtype=object): the items put_str_items walks

cdef extern from "jsonbody_scan.h":
    pass

cdef extern from "jsonbody_text.h":
    int tw_jb_avx512_ok
    void tw_jb_cpu_init() noexcept nogil
    Py_ssize_t TW_JB_TEXT_ROOM(Py_ssize_t n) noexcept nogil
    char* tw_jb_put_text_portable(char* p, const unsigned char* s, Py_ssize_t n) noexcept nogil
    char* tw_jb_put_text_avx512_call(char* p, const unsigned char* s, Py_ssize_t n) noexcept nogil
    char* tw_jb_put_text_wide_call(char* p, const unsigned char* s, Py_ssize_t n) noexcept nogil
    Py_ssize_t TW_JB_WIDE_SLACK
    int tw_jb_put_str_items_portable(char** pp, const char* end, PyObject** items, Py_ssize_t* pj,
                                     Py_ssize_t n, const char* name, Py_ssize_t name_len, Py_ssize_t* need)
    int tw_jb_put_str_items_avx512(char** pp, const char* end, PyObject** items, Py_ssize_t* pj,
                                   Py_ssize_t n, const char* name, Py_ssize_t name_len, Py_ssize_t* need)
    enum:
        TW_JB_DONE
        TW_JB_OTHER
        TW_JB_ROOM
        TW_JB_NO_UTF8
    Py_ssize_t tw_jb_plain_span_portable(const unsigned char* s, Py_ssize_t pos, Py_ssize_t n,
                                         int* high) noexcept nogil
    Py_ssize_t tw_jb_plain_span_avx512(const unsigned char* s, Py_ssize_t pos, Py_ssize_t n,
                                       int* high) noexcept nogil

tw_jb_cpu_init()

cdef enum:
    GUARD = 64
    SENTINEL = 0xA5


def kernels() -> list:
    """The kernels this CPU runs: ``["portable"]``, plus ``"avx512"`` where it has AVX-512 BW/VL
    (and TENSORWIRE_NO_AVX512 is not set)."""
    return ["portable", "avx512"] if tw_jb_avx512_ok else ["portable"]


cdef int _kernel(str kernel, bint wide_ok=False) except -1:
    if kernel == "portable":
        return 0
    if kernel == "avx512" and tw_jb_avx512_ok:
        return 1
    if kernel == "avx512-wide" and tw_jb_avx512_ok and wide_ok:
        return 2
    raise ValueError(f"kernel {kernel!r} does not run here (kernels(): {kernels()})")


def text_kernels() -> list:
    """The string writers ``put_text`` takes here: ``kernels()``, plus ``"avx512-wide"`` (the
    AVX-512 loop's writer, which stores whole blocks past the text) where AVX-512 runs."""
    return kernels() + (["avx512-wide"] if tw_jb_avx512_ok else [])


def put_text(bytes utf8, str kernel) -> tuple:
    """``(text, room_ok, guard_ok)``: the JSON string the kernel writes for UTF-8 ``utf8``; whether
    it took at most TW_JB_TEXT_ROOM(len) bytes; whether every byte outside the text (guard bytes
    before it, and all of the room after it) is untouched.  For ``"avx512-wide"`` the bytes it may
    write past the text (TW_JB_WIDE_SLACK more of room) are not checked, the bytes past them are."""
    cdef int k = _kernel(kernel, True)
    cdef Py_ssize_t n = len(utf8), room = TW_JB_TEXT_ROOM(n), scratch = TW_JB_WIDE_SLACK if k == 2 else 0
    cdef bytearray buf = bytearray(GUARD + room + scratch + GUARD)
    cdef char* base = buf
    cdef char* end
    cdef Py_ssize_t i, size
    cdef bint guard_ok = True
    memset(base, SENTINEL, GUARD + room + scratch + GUARD)
    if k == 2:
        end = tw_jb_put_text_wide_call(base + GUARD, <const unsigned char*>PyBytes_AS_STRING(utf8), n)
    elif k:
        end = tw_jb_put_text_avx512_call(base + GUARD, <const unsigned char*>PyBytes_AS_STRING(utf8), n)
    else:
        end = tw_jb_put_text_portable(base + GUARD, <const unsigned char*>PyBytes_AS_STRING(utf8), n)
    size = end - (base + GUARD)
    for i in range(GUARD):
        guard_ok = guard_ok and <unsigned char>base[i] == SENTINEL
    for i in range(GUARD + (size + scratch if k == 2 else size), GUARD + room + scratch + GUARD):
        guard_ok = guard_ok and <unsigned char>base[i] == SENTINEL
    return PyBytes_FromStringAndSize(base + GUARD, size), 0 <= size <= room, guard_ok


cdef dict _STATUS = {TW_JB_DONE: "done", TW_JB_OTHER: "other", TW_JB_ROOM: "room", TW_JB_NO_UTF8: "no-utf8"}


def put_str_items(list values, bytes name, Py_ssize_t room, str kernel) -> tuple:
    """``(text, status, stop, need, guard_ok)``: one call of the kernel's str-items loop (the
    loop ``jsonbody`` writes an object array of str with) over ``values`` as an object array,
    from item 0, with ``room`` bytes to write in (``name`` non-empty: each item as
    ``{name:string}``, ``name`` being the quoted key).  ``text`` is what it wrote, ``status``
    what stopped it (``"done"``, ``"other"``: not an exact str, ``"room"``, ``"no-utf8"``: the
    UnicodeEncodeError is cleared), ``stop`` the item it stopped at, ``need`` the room it asked
    for (status ``"room"``), and ``guard_ok`` whether every byte outside the room (guard bytes
    on both sides) is untouched."""
    cdef int k = _kernel(kernel)
    cdef object array = _object_array(len(values), dtype=object)
    array[:] = values
    cdef bytearray buf = bytearray(GUARD + room + GUARD)
    cdef char* base = buf
    cdef char* p = base + GUARD
    cdef PyObject** items = <PyObject**><size_t>array.ctypes.data
    cdef Py_ssize_t i, j = 0, need = -1
    cdef bint guard_ok = True
    cdef int status
    memset(base, SENTINEL, GUARD + room + GUARD)
    if k:
        status = tw_jb_put_str_items_avx512(&p, base + GUARD + room, items, &j, len(values),
                                            PyBytes_AS_STRING(name), len(name), &need)
    else:
        status = tw_jb_put_str_items_portable(&p, base + GUARD + room, items, &j, len(values),
                                              PyBytes_AS_STRING(name), len(name), &need)
    if status == TW_JB_NO_UTF8:
        PyErr_Clear()
    for i in range(GUARD):
        guard_ok = guard_ok and <unsigned char>base[i] == SENTINEL
        guard_ok = guard_ok and <unsigned char>base[GUARD + room + i] == SENTINEL
    return (PyBytes_FromStringAndSize(base + GUARD, p - (base + GUARD)), _STATUS[status], j,
            need if status == TW_JB_ROOM else None, guard_ok)


def plain_span(bytes data, Py_ssize_t pos, str kernel) -> tuple:
    """``(end, high)``: the kernel's first offset from ``pos`` holding '"', a backslash or a
    control character (or ``len(data)``), and whether a byte before it is not ASCII.  ``data``
    is copied to the end of a fresh buffer first, so that a read past it would be seen by the
    sanitizers."""
    cdef int k = _kernel(kernel)
    cdef Py_ssize_t n = len(data)
    cdef int high = 0
    cdef Py_ssize_t end
    if not 0 <= pos <= n:
        raise ValueError(f"pos {pos} outside 0..{n}")
    if k:
        end = tw_jb_plain_span_avx512(<const unsigned char*>PyBytes_AS_STRING(data), pos, n, &high)
    else:
        end = tw_jb_plain_span_portable(<const unsigned char*>PyBytes_AS_STRING(data), pos, n, &high)
    return end, bool(high)
