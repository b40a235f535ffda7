# cython: language_level=3, embedsignature=True
"""TFRecord files, Cython twin of ``tensorwire.codecs.tfrecord`` (docs/tfrecord.md).

Same functions, signatures, bytes, records and errors (type and message) as the pure-Python
reference, whose docstring defines the behaviour and the order of the checks.

How it is fast:
    * The framing is parsed in C over a 256 KiB read buffer: header decode, CRC mask/unmask and
      every bounds check; a record that fits is copied out of the buffer with one ``memcpy``.
    * A plain file opened from a path (or a caller's ``FileIO``/``BufferedReader``) is read with
      ``readinto`` straight into our memory: the buffer, or, for a record bigger than the buffer,
      the record's own ``bytes`` object (the file's size is checked first, so a length that
      runs past the end of the file allocates nothing).  Such a record costs one copy from the
      kernel plus the CRC.
    * CRC-32C is ``google-crc32c``'s C extension (its pure-Python fallback is refused at
      import).  It parses its argument with ``"y#"``, which takes ``bytes`` and buffers without
      a release hook only, so memory that is not a ``bytes`` object (the 8 length bytes in the
      buffer, a caller's bytearray) is handed over through :class:`_View`, a zero-copy read-only
      buffer that never leaves this module.  A ``bytes`` record goes as is, and for 1 MiB and
      up the extension runs without the GIL.
    * Other file objects (``read()``) and compressed streams feed the buffer through the same
      steps as the reference (reads of ``READ_CHUNK``, inflated pieces of ``PIECE_BYTES``), so
      a corrupt stream fails at the same record in both twins.

Layout, as the reference's: byte sources (``_PlainReadintoSource``, ``_PlainReadSource``,
``_InflateSource``; the reference's ``_PlainSource`` and ``_InflateSource``) hand out the
uncompressed stream's bytes through one ``read_into``; ``_Reader`` is the framing over them (the
reference's ``_Buffer`` and ``_records``).  The constants, the argument checks and the writer's
file and compressor (``RecordSink``) are the shared ``tensorwire.codecs.rules.tfrecord``.
"""

from cpython.buffer cimport (
    PyBUF_FORMAT,
    PyBUF_FULL_RO,
    PyBUF_ND,
    PyBUF_STRIDES,
    PyBUF_WRITABLE,
    PyBUF_WRITE,
    PyBuffer_IsContiguous,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.memoryview cimport PyMemoryView_FromMemory
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove

cimport cython

cdef object io, os, stat, zlib, DecodeError, _crc_value, RecordSink, write_all
import io
import os
import stat
import zlib

# google-crc32c's C extension itself, never its pure-Python fallback.
from google_crc32c._crc32c import value as _crc_value

# Python-level names, as the reference's.
global DEFAULT_MAX_RECORD_BYTES, FOOTER_BYTES, GZIP_MAGIC, HEADER_BYTES, MASK_DELTA, MAX_READ, PIECE_BYTES
global READ_CHUNK, WBITS, WHAT, ZLIB_LEVEL, ZLIB_MEM_LEVEL, check_max_record_bytes, normalize_compression
global resolve_target, TFRecordWriter, _StreamError
from ..codecs.rules.tfrecord import (  # the constants and the argument checks: one definition
    DEFAULT_MAX_RECORD_BYTES,
    FOOTER_BYTES,
    GZIP_MAGIC,
    HEADER_BYTES,
    MASK_DELTA,
    MAX_READ,
    PIECE_BYTES,
    READ_CHUNK,
    WBITS,
    WHAT,
    ZLIB_LEVEL,
    ZLIB_MEM_LEVEL,
    RecordSink,
    check_max_record_bytes,
    normalize_compression,
    resolve_target,
    write_all,
)
from ..errors import DecodeError

cdef enum:
    HEADER = 12
    FOOTER = 4
    FRAME = 16
    BUF_BYTES = 1 << 18      # the read buffer; equal to READ_CHUNK (the first read fills it)
    SMALL_WRITE = 1 << 16    # plain records up to this size are written as one frame
    GROW_FIRST = 1 << 24     # first allocation for a big record of a stream of unknown size
    NOGIL_BYTES = 1 << 16

assert READ_CHUNK == BUF_BYTES
assert (HEADER_BYTES, FOOTER_BYTES, MASK_DELTA) == (HEADER, FOOTER, 0xA282EAD8)
assert WBITS == {"gzip": 15 + 16, "zlib": 15}


# ============================================================================================
# CRC


cdef inline uint32_t _mask(uint32_t crc) noexcept nogil:
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8U


cdef inline uint64_t _le64(const unsigned char* p) noexcept nogil:
    return (<uint64_t>p[0] | (<uint64_t>p[1] << 8) | (<uint64_t>p[2] << 16) | (<uint64_t>p[3] << 24)
            | (<uint64_t>p[4] << 32) | (<uint64_t>p[5] << 40) | (<uint64_t>p[6] << 48)
            | (<uint64_t>p[7] << 56))


cdef inline uint32_t _le32(const unsigned char* p) noexcept nogil:
    return <uint32_t>p[0] | (<uint32_t>p[1] << 8) | (<uint32_t>p[2] << 16) | (<uint32_t>p[3] << 24)


cdef inline void _put_le64(unsigned char* p, uint64_t v) noexcept nogil:
    cdef int i
    for i in range(8):
        p[i] = <unsigned char>(v >> (8 * i))


cdef inline void _put_le32(unsigned char* p, uint32_t v) noexcept nogil:
    cdef int i
    for i in range(4):
        p[i] = <unsigned char>(v >> (8 * i))


@cython.auto_pickle(False)  # never pickled: a pointer, which pickling would copy as bytes (or crash on NULL)
cdef class _View:
    """A read-only view of memory this module keeps alive for one call, for google-crc32c and
    zlib (which copy what they need and keep no reference).  It has no ``__releasebuffer__``,
    which "y#" argument parsing requires.  Never handed to the caller's code."""

    cdef const char* ptr
    cdef Py_ssize_t size
    cdef Py_ssize_t one

    def __getbuffer__(self, Py_buffer* buffer, int flags):
        if flags & PyBUF_WRITABLE:
            raise BufferError("_View is read-only")
        self.one = 1
        buffer.buf = <void*>self.ptr
        buffer.obj = self
        buffer.len = self.size
        buffer.readonly = 1
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = "B"
        buffer.ndim = 1
        buffer.shape = NULL
        if flags & PyBUF_ND:
            buffer.shape = &self.size
        buffer.strides = NULL
        if (flags & PyBUF_STRIDES) == PyBUF_STRIDES:
            buffer.strides = &self.one
        buffer.suboffsets = NULL
        buffer.internal = NULL


cdef inline _View _view(const void* ptr, Py_ssize_t size):
    cdef _View v = _View.__new__(_View)
    v.ptr = <const char*>ptr
    v.size = size
    return v


cdef inline long long _crc_mem(const void* ptr, Py_ssize_t size) except -1:
    """CRC-32C of ``size`` bytes at ``ptr``."""
    return <uint32_t>_crc_value(_view(ptr, size))


cdef inline long long _crc_bytes(bytes data) except -1:
    return <uint32_t>_crc_value(data)


cdef int _get_buffer(object data, Py_buffer* view) except -1:
    """The buffer of a C-contiguous bytes-like object (release it); the reference's checks."""
    if isinstance(data, str):
        raise TypeError(f"{WHAT}: expected a bytes-like object, not str")
    try:
        PyObject_GetBuffer(data, view, PyBUF_FULL_RO)  # what memoryview() asks for
    except TypeError:
        raise TypeError(f"{WHAT}: expected a bytes-like object, not {type(data).__name__}") from None
    if not PyBuffer_IsContiguous(view, c'C'):
        PyBuffer_Release(view)
        raise TypeError(f"{WHAT}: expected a C-contiguous buffer")
    return 0


cdef long long _crc_any(object data) except -1:
    cdef Py_buffer view
    if isinstance(data, bytes):
        return _crc_bytes(<bytes>data)
    _get_buffer(data, &view)
    try:
        return _crc_mem(view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


def crc32c(data):
    """CRC-32C (Castagnoli) of a bytes-like object, as an int."""
    return _crc_any(data)


def masked_crc32c(data):
    """The masked CRC-32C TFRecord stores: ``((crc >> 15) | (crc << 17)) + 0xa282ead8``."""
    return _mask(<uint32_t>_crc_any(data))


# ============================================================================================
# writing


cdef int _write_record(object sink, object record) except -1:
    """The twin of the reference writer's ``write`` body: the frame in C, the same pieces in the
    same order when compressed (``sink.emit``), one or three plain writes otherwise."""
    cdef Py_buffer view
    cdef unsigned char head[HEADER]
    cdef unsigned char foot[FOOTER]
    cdef Py_ssize_t n
    cdef bytes frame
    cdef unsigned char* out
    cdef object f = sink.file
    _get_buffer(record, &view)
    try:
        n = view.len
        _put_le64(head, <uint64_t>n)
        _put_le32(head + 8, _mask(<uint32_t>_crc_mem(head, 8)))
        if isinstance(record, bytes):
            _put_le32(foot, _mask(<uint32_t>_crc_bytes(<bytes>record)))
        else:
            _put_le32(foot, _mask(<uint32_t>_crc_mem(view.buf, n)))
        if sink.compressor is not None:  # the reference's three pieces, in its order
            sink.emit(PyBytes_FromStringAndSize(<char*>head, HEADER))
            sink.emit(_view(view.buf, n))
            sink.emit(PyBytes_FromStringAndSize(<char*>foot, FOOTER))
        elif n <= SMALL_WRITE:
            frame = PyBytes_FromStringAndSize(NULL, FRAME + n)
            out = <unsigned char*>PyBytes_AS_STRING(frame)
            memcpy(out, head, HEADER)
            memcpy(out + HEADER, view.buf, <size_t>n)
            memcpy(out + HEADER + n, foot, FOOTER)
            write_all(f, frame)
        else:
            write_all(f, PyBytes_FromStringAndSize(<char*>head, HEADER))
            # the caller's file gets bytes, never a view of the caller's (mutable) buffer
            if isinstance(record, bytes):
                write_all(f, record)
            else:
                write_all(f, PyBytes_FromStringAndSize(<char*>view.buf, n))
            write_all(f, PyBytes_FromStringAndSize(<char*>foot, FOOTER))
    finally:
        PyBuffer_Release(&view)
    return 0


# The reference's writer with ``write`` framed in C: opening, compression, ``flush`` and ``close``
# are the shared tensorwire.codecs.rules.tfrecord.RecordSink.  (The docstring is the reference's.)
# warn.undeclared is off for the class because Cython declares a Python class's ``__doc__`` in the
# class's own scope before its body, where nothing can declare it first; the methods declare theirs.
@cython.warn.undeclared(False)
class TFRecordWriter:
    """Streaming TFRecord writer: ``write(record)``, ``flush()``, ``close()``; a context manager.

    ``path_or_file`` is a path (created or truncated now, closed by ``close()``) or a binary
    file object with ``write()`` (flushed, not closed, by ``close()``).  ``compression``: None,
    ``""``, ``"gzip"`` or ``"zlib"`` (any case).
    """

    def __init__(self, path_or_file, *, compression=None):
        self._sink = RecordSink(path_or_file, compression)

    @property
    def closed(self):
        return self._sink.closed

    def write(self, record):
        """Append one record (any C-contiguous bytes-like object)."""
        cdef object sink = self._sink
        sink.check_open()
        _write_record(sink, record)

    def flush(self):
        """Make every record written so far reach the file (a Z_SYNC_FLUSH when compressed)."""
        self._sink.flush()

    def close(self):
        """Finish the compressed stream, flush, and close the file if we opened it.  Idempotent."""
        self._sink.close()

    def __enter__(self):
        self._sink.check_open()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False


def write_tfrecord(path_or_file, records, *, compression=None):
    """Write every record of the iterable ``records`` as one TFRecord file; return their count."""
    cdef Py_ssize_t count = 0
    cdef object writer, record
    with TFRecordWriter(path_or_file, compression=compression) as writer:
        for record in records:
            writer.write(record)
            count += 1
    return count


# ============================================================================================
# reading


@cython.warn.undeclared(False)  # its ``__doc__``, as TFRecordWriter's
class _StreamError(Exception):
    """A compressed-stream problem; the reader adds the record index and offset."""


cdef bytes _read(object f, Py_ssize_t n):
    """One ``f.read(n)``, checked: bytes of at most n (b"" at the end)."""
    cdef object data = f.read(n)
    if not isinstance(data, bytes):
        if data is None or isinstance(data, str):
            raise TypeError(
                f"{WHAT}: file.read() returned {type(data).__name__}, not bytes "
                "(open the file in binary mode, and blocking)"
            )
        data = _to_bytes(data)
    if PyBytes_GET_SIZE(data) > n:
        raise ValueError(f"{WHAT}: file.read() returned more bytes than asked for")
    return data


cdef bytes _to_bytes(object data):
    cdef Py_buffer view
    _get_buffer(data, &view)
    try:
        return PyBytes_FromStringAndSize(<char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef bytes _read_full(object f, Py_ssize_t n):
    """Up to n bytes, fewer only at the end of the file."""
    cdef bytes data = _read(f, n)
    cdef Py_ssize_t got = PyBytes_GET_SIZE(data)
    cdef list parts
    if got == n or got == 0:
        return data
    parts = [data]
    while got < n:
        data = _read(f, n - got)
        if PyBytes_GET_SIZE(data) == 0:
            break
        parts.append(data)
        got += PyBytes_GET_SIZE(data)
    return b"".join(parts)


cdef bint _valid_header(bytes head) except -1:
    """Whether the first 12 bytes are a record header whose length CRC matches."""
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(head)
    if PyBytes_GET_SIZE(head) < HEADER:
        return False
    return _le32(p + 8) == _mask(<uint32_t>_crc_mem(p, 8))


# --- byte sources: the stream's bytes after the first READ_CHUNK (the reference's _PlainSource
# and _InflateSource); the framing below asks them for bytes and knows nothing of files --------


@cython.auto_pickle(False)  # never pickled: an abstract base, and its subclasses are not
cdef class _Source:
    """Where the uncompressed stream's bytes come from, after the ``initial`` READ_CHUNK the
    reader detects the compression on (and holds already)."""

    cdef bint lean_reads  # reading just the bytes missing is worth it (they land in our memory)

    cdef Py_ssize_t read_into(self, unsigned char* dst, Py_ssize_t room) except -1:
        """Up to ``room`` more bytes of the stream at ``dst``; 0 at the end.  A compressed
        stream's problems raise ``_StreamError``."""
        return 0

    cdef Py_ssize_t remaining(self) except -2:
        """Bytes of the stream not read yet, or -1 when unknown."""
        return -1


@cython.auto_pickle(False)  # never pickled (it holds a file); spares the "non-trivial __cinit__" stubs
cdef class _PlainReadintoSource(_Source):
    """A plain file we can ``readinto`` (``FileIO`` / ``BufferedReader``): its bytes land in our
    memory, the read buffer or a big record's own ``bytes`` object.  ``sized``: we opened it, so
    its size on disk bounds what is left (see ``remaining``)."""

    cdef object file
    cdef bint sized
    cdef Py_ssize_t raw_pos  # bytes read from the file so far

    def __cinit__(self, f, bint sized, Py_ssize_t raw_pos):
        self.file = f
        self.sized = sized
        self.raw_pos = raw_pos
        self.lean_reads = True

    cdef Py_ssize_t read_into(self, unsigned char* dst, Py_ssize_t room) except -1:
        cdef Py_ssize_t got
        cdef object mv, result
        mv = PyMemoryView_FromMemory(<char*>dst, room, PyBUF_WRITE)
        try:
            result = self.file.readinto(mv)
        finally:
            mv.release()
        if result is None:
            raise TypeError(
                f"{WHAT}: file.read() returned NoneType, not bytes (open the file in binary mode, and blocking)"
            )
        got = result
        if got < 0 or got > room:
            raise ValueError(f"{WHAT}: file.readinto() returned {got} for {room} bytes")
        self.raw_pos += got
        return got

    cdef Py_ssize_t remaining(self) except -2:
        cdef object st
        if not self.sized:
            return -1
        st = os.fstat(self.file.fileno())
        if not stat.S_ISREG(st.st_mode):
            return -1
        return max(0, st.st_size - self.raw_pos)


@cython.auto_pickle(False)  # never pickled (it holds a file); spares the "non-trivial __cinit__" stubs
cdef class _PlainReadSource(_Source):
    """A plain file object with ``read()`` only: reads of at most MAX_READ, checked."""

    cdef object file

    def __cinit__(self, f):
        self.file = f

    cdef Py_ssize_t read_into(self, unsigned char* dst, Py_ssize_t room) except -1:
        cdef bytes data = _read(self.file, room if room < MAX_READ else MAX_READ)
        cdef Py_ssize_t got = PyBytes_GET_SIZE(data)
        memcpy(dst, PyBytes_AS_STRING(data), <size_t>got)
        return got


@cython.auto_pickle(False)  # never pickled (it holds a file); spares the "non-trivial __cinit__" stubs
cdef class _InflateSource(_Source):
    """The inflated bytes of a gzip (members concatenated) or zlib stream: the reference's
    ``_InflateSource``, step for step (``more``), handed out from its current piece."""

    cdef object _file
    cdef str _compression
    cdef object _inflater
    cdef bytes _pending
    cdef bint _seen_input
    cdef bint _raw_end
    cdef bint _done
    cdef bytes _piece  # the current inflated piece, handed out from _piece_pos
    cdef Py_ssize_t _piece_pos

    def __cinit__(self, f, str compression, bytes initial):
        self._file = f
        self._compression = compression
        self._inflater = zlib.decompressobj(WBITS[compression])
        self._pending = initial  # compressed bytes not yet given to the inflater
        self._seen_input = len(initial) > 0
        self._raw_end = False
        self._done = False
        self._piece = b""

    cdef bytes _raw(self):
        if self._raw_end:
            return b""
        cdef bytes data = _read_full(self._file, READ_CHUNK)
        if PyBytes_GET_SIZE(data) < READ_CHUNK:
            self._raw_end = True
        if PyBytes_GET_SIZE(data):
            self._seen_input = True
        return data

    cdef bytes _inflate(self, object data):
        cdef object exc
        try:
            return self._inflater.decompress(data, PIECE_BYTES)
        except zlib.error as exc:
            raise _StreamError(f"corrupt {self._compression} stream ({exc})") from None

    cdef bytes more(self):
        """The next non-empty piece of inflated bytes, or b"" after a complete stream."""
        cdef bytes out
        cdef object d, rest, data
        while not self._done:
            d = self._inflater
            if d.eof:
                rest = d.unused_data or self._raw()
                if not rest:
                    self._done = True
                    break
                if self._compression == "zlib":
                    raise _StreamError("trailing data after the end of the zlib stream")
                self._inflater = zlib.decompressobj(WBITS["gzip"])  # the next gzip member
                self._pending = rest
                continue
            if d.unconsumed_tail:
                data = d.unconsumed_tail
            elif self._pending:
                data = self._pending
                self._pending = b""
            else:
                data = self._raw()
                if not data:
                    if not self._seen_input:  # an empty file: no records
                        self._done = True
                        break
                    out = self._inflate(b"")  # output zlib may still hold
                    if out:
                        return out
                    if self._inflater.eof:
                        continue
                    raise _StreamError(
                        f"truncated {self._compression} stream (it ends before its end-of-stream marker)"
                    )
            out = self._inflate(data)
            if out:
                return out
        return b""

    cdef Py_ssize_t read_into(self, unsigned char* dst, Py_ssize_t room) except -1:
        cdef Py_ssize_t got
        if self._piece_pos == PyBytes_GET_SIZE(self._piece):
            self._piece = self.more()
            self._piece_pos = 0
        got = PyBytes_GET_SIZE(self._piece) - self._piece_pos
        if got > room:
            got = room
        _copy(dst, <const unsigned char*>PyBytes_AS_STRING(self._piece) + self._piece_pos, got)
        self._piece_pos += got
        return got


# --- the framing: records out of the stream's bytes (the reference's _Buffer and _records) ----


@cython.auto_pickle(False)  # never pickled (it owns a C buffer); spares the "non-trivial __cinit__" stubs
cdef class _Reader:
    """The record parser over one stream: ``buf[start:end]`` holds its unread bytes, which come
    from ``source``."""

    cdef unsigned char* buf
    cdef Py_ssize_t start
    cdef Py_ssize_t end
    cdef bint at_end
    cdef _Source source
    cdef object file
    cdef bint owned
    cdef bint verify
    cdef object limit           # max_record_bytes as given
    cdef uint64_t max_len
    cdef bint plain             # no compression (for the hint on a bad first header)
    cdef Py_ssize_t index
    cdef uint64_t offset

    def __cinit__(self):
        self.buf = <unsigned char*>malloc(BUF_BYTES)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.buf)

    cdef int begin(self, object path, object f, object compression, bint verify, object limit) except -1:
        """Open ``path`` (or take ``f``), read the first READ_CHUNK, resolve ``"auto"`` and
        pick the byte source (the reference's ``_open_source``)."""
        cdef bytes initial
        cdef bint gzipped
        self.verify = verify
        self.limit = limit
        self.max_len = <uint64_t>limit if limit < 2 ** 64 else <uint64_t>0xFFFFFFFFFFFFFFFFU
        if path is not None:
            f = open(path, "rb", buffering=0)
            self.owned = True
        self.file = f
        initial = _read_full(f, READ_CHUNK)
        if compression == "auto":
            gzipped = initial[:2] == GZIP_MAGIC and not _valid_header(initial)
            compression = "gzip" if gzipped else None
        self.plain = compression is None
        if compression is not None:
            self.source = _InflateSource(f, compression, initial)
            return 0
        if type(f) is io.FileIO or type(f) is io.BufferedReader:
            self.source = _PlainReadintoSource(f, self.owned, PyBytes_GET_SIZE(initial))
        else:
            self.source = _PlainReadSource(f)
        memcpy(self.buf, PyBytes_AS_STRING(initial), <size_t>PyBytes_GET_SIZE(initial))
        self.end = PyBytes_GET_SIZE(initial)
        self.at_end = self.end < READ_CHUNK
        return 0

    cdef int close(self) except -1:
        cdef object f
        self.source = None
        if self.owned and self.file is not None:
            f = self.file
            self.file = None
            f.close()
        return 0

    cdef Py_ssize_t _read_into(self, unsigned char* dst, Py_ssize_t room) except -1:
        """The source's ``read_into``, its stream errors named by the record being read."""
        cdef object exc
        try:
            return self.source.read_into(dst, room)
        except _StreamError as exc:
            raise self._fail(str(exc)) from None

    cdef Py_ssize_t _fill(self, Py_ssize_t n, bint lean=False) except -1:
        """Read until ``n`` (<= BUF_BYTES) bytes are unread or the stream ends; how many are.

        ``lean``: a source whose reads land in our memory reads just the bytes missing (after a
        big record, whose successor is likely big too and then read straight into its own bytes
        object, rather than a buffer's worth of it that would be copied twice).
        """
        cdef Py_ssize_t got, room, left = self.end - self.start
        if left >= n or self.at_end:
            return left
        if self.start:
            with nogil:
                memmove(self.buf, self.buf + self.start, <size_t>left)
            self.start = 0
            self.end = left
        lean = lean and self.source.lean_reads
        while self.end < n:
            room = n - self.end if lean else BUF_BYTES - self.end
            got = self._read_into(self.buf + self.end, room)
            if got == 0:
                self.at_end = True
                break
            self.end += got
        return self.end - self.start

    cdef object _fail(self, str what):
        return DecodeError(f"{WHAT}: record {self.index} at offset {self.offset}: {what}")

    cdef bytes _big(self, uint64_t length):
        """The data of a record larger than the buffer; the header is consumed."""
        cdef Py_ssize_t have = self.end - self.start
        cdef Py_ssize_t filled, alloc, got, remaining
        cdef bytes rec, grown
        if <uint64_t>have > length:  # a record a few bytes smaller than the buffer
            have = <Py_ssize_t>length
        remaining = self.source.remaining()
        if remaining >= 0 and <uint64_t>have + <uint64_t>remaining < length:
            # what reading to the end would find, and nothing allocated for it
            self.start = self.end
            self.at_end = True
            raise self._fail(f"truncated data ({have + remaining} of {length} bytes)")
        if remaining >= 0:
            alloc = <Py_ssize_t>length  # it is all there: one allocation, filled in place
        elif length - <uint64_t>have <= GROW_FIRST:
            alloc = <Py_ssize_t>length
        else:
            alloc = have + GROW_FIRST  # grown as the data arrives
        rec = PyBytes_FromStringAndSize(NULL, alloc)
        _copy(<unsigned char*>PyBytes_AS_STRING(rec), self.buf + self.start, have)
        self.start += have
        filled = have
        while <uint64_t>filled < length:
            if filled == alloc:
                alloc = <Py_ssize_t>length if length - <uint64_t>alloc <= <uint64_t>alloc else 2 * alloc
                grown = PyBytes_FromStringAndSize(NULL, alloc)
                _copy(<unsigned char*>PyBytes_AS_STRING(grown), <const unsigned char*>PyBytes_AS_STRING(rec),
                      filled)
                rec = grown
            if self.at_end:
                got = 0
            else:
                got = self._read_into(<unsigned char*>PyBytes_AS_STRING(rec) + filled, alloc - filled)
            if got == 0:
                self.at_end = True
                raise self._fail(f"truncated data ({filled} of {length} bytes)")
            filled += got
        return rec

    cdef object next_record(self):
        """The next record's bytes, or None at the clean end of the stream."""
        cdef Py_ssize_t avail
        cdef const unsigned char* p
        cdef uint64_t length
        cdef uint32_t stored, expected
        cdef bytes rec
        cdef str hint
        avail = self._fill(HEADER)
        if avail == 0:
            return None
        if avail < HEADER:
            raise self._fail(f"truncated header ({avail} of {HEADER} bytes)")
        p = self.buf + self.start
        length = _le64(p)
        stored = _le32(p + 8)
        expected = _mask(<uint32_t>_crc_mem(p, 8))
        if stored != expected:
            hint = ""
            if self.index == 0 and self.plain:
                hint = " (not a TFRecord file, or a compressed one: name its compression)"
            raise self._fail(f"length CRC mismatch (stored 0x{stored:08x}, computed 0x{expected:08x}){hint}")
        if length > self.max_len:
            raise self._fail(f"length {length} is over max_record_bytes={self.limit}")
        if length <= BUF_BYTES - FRAME:
            avail = self._fill(FRAME + <Py_ssize_t>length)
            if <uint64_t>avail < HEADER + length:
                raise self._fail(f"truncated data ({avail - HEADER} of {length} bytes)")
            if <uint64_t>avail < FRAME + length:
                raise self._fail(f"truncated data CRC ({avail - HEADER - <Py_ssize_t>length} of {FOOTER} bytes)")
            p = self.buf + self.start
            rec = PyBytes_FromStringAndSize(<const char*>p + HEADER, <Py_ssize_t>length)
            stored = _le32(p + HEADER + length)
            self.start += FRAME + <Py_ssize_t>length
        else:
            self.start += HEADER
            rec = self._big(length)
            avail = self._fill(FOOTER + HEADER, True)  # this record's CRC, the next header
            if avail < FOOTER:
                raise self._fail(f"truncated data CRC ({avail} of {FOOTER} bytes)")
            stored = _le32(self.buf + self.start)
            self.start += FOOTER
        if self.verify:
            expected = _mask(<uint32_t>_crc_bytes(rec))
            if stored != expected:
                raise self._fail(f"data CRC mismatch (stored 0x{stored:08x}, computed 0x{expected:08x})")
        self.offset += FRAME + length
        self.index += 1
        return rec


cdef inline void _copy(unsigned char* dst, const unsigned char* src, Py_ssize_t n) noexcept:
    """memcpy, without the GIL when the block is large."""
    if n >= NOGIL_BYTES:
        with nogil:
            memcpy(dst, src, <size_t>n)
    elif n > 0:
        memcpy(dst, src, <size_t>n)


def _records(path, f, compression, verify, limit):
    cdef _Reader reader = _Reader.__new__(_Reader)
    cdef object rec
    try:
        reader.begin(path, f, compression, verify, limit)
        while True:
            rec = reader.next_record()
            if rec is None:
                return
            yield rec
    finally:
        reader.close()


def read_tfrecord(path_or_file, *, compression="auto", verify=True, max_record_bytes=DEFAULT_MAX_RECORD_BYTES):
    """Iterate over the records (as bytes) of a TFRecord file.

    Arguments are checked now; a path is opened at the first ``next()`` and closed when the
    iteration ends, fails or is closed.  ``compression``: ``"auto"`` (gzip or plain, see the
    module docstring), None/``""``, ``"gzip"`` or ``"zlib"`` (any case).  ``verify=False`` skips
    the data CRC (the length CRC is always checked).  A record longer than ``max_record_bytes``
    (default 2 GiB) is refused before anything is allocated for it.  Every framing or
    compressed-stream error raises :class:`tensorwire.DecodeError` naming the record index and
    its offset in the uncompressed stream.
    """
    cdef object path, f, limit
    compression = normalize_compression(compression, True)
    path, f = resolve_target(path_or_file, "read")
    limit = check_max_record_bytes(max_record_bytes)
    return _records(path, f, compression, bool(verify), limit)
