"""TFRecord files, pure-Python reference (docs/tfrecord.md).

A file is a sequence of records, each framed as ``uint64 length`` (little-endian), the masked
CRC-32C of those 8 bytes, ``length`` data bytes, and the masked CRC-32C of the data.  CRC-32C
comes from ``google-crc32c`` (hardware-accelerated).  Compression is a gzip or zlib stream over
the whole file.

API: :func:`write_tfrecord`, :func:`read_tfrecord`, :class:`TFRecordWriter`, plus
:func:`crc32c` and :func:`masked_crc32c`.

Decisions (the Cython twin follows each one; messages are part of the contract):

* ``path_or_file`` is a ``str`` or ``os.PathLike`` (opened, and closed, by us) or a binary file
  object with ``read()`` (reading) or ``write()`` (writing), which is never closed by us.  A file
  object is read from its current position and offsets count from there; after iteration its
  position is unspecified (we read ahead).
* ``compression``: ``None`` or ``""`` (no compression), ``"gzip"``, ``"zlib"``, in any letter
  case (so TensorFlow's ``"GZIP"``/``"ZLIB"`` work); reading also takes ``"auto"`` (the
  default): gzip when the file starts with the gzip magic ``1f 8b`` *and* its first 12 bytes are
  not a valid record header (a plain file whose first record is 35,615 bytes long starts with
  ``1f 8b`` too), plain otherwise.  ZLIB has no reliable magic and must be named.
* Writing compresses like TensorFlow: zlib level ``Z_DEFAULT_COMPRESSION``, memLevel 9, window
  15 (+16 for gzip, whose header has mtime 0 and no name), so output is deterministic.
  ``flush()`` on a compressed writer does a ``Z_SYNC_FLUSH`` (everything written so far becomes
  readable; TensorFlow's flush does not) then flushes the file.  ``close()`` finishes the
  stream; a compressed writer that is never closed leaves a truncated stream.
* Reading is strict where TensorFlow is lenient (each raises :class:`DecodeError`): trailing
  bytes too few for a header (TensorFlow ignores them), a gzip/zlib stream without its
  end-of-stream marker or trailer (TensorFlow ignores the missing trailer), bytes after a zlib
  stream (TensorFlow ignores them).  Like TensorFlow: concatenated gzip members are one stream,
  anything else after a gzip member is an error, and an empty file has no records whatever the
  compression.
* Every framing error names the record index and the record's byte offset in the uncompressed
  stream: ``"TFRecord: record 3 at offset 1234: <what>"``.  Checks, in order: truncated header;
  length CRC (always checked: a corrupt length never drives an allocation);
  ``length > max_record_bytes``; truncated data; truncated data CRC; data CRC (skipped with
  ``verify=False``).  A compressed-stream error names the record being read when it surfaced.
* Memory: records are sliced out of large reads; memory stays bounded by the largest record
  plus a read buffer, and a record's bytes are only allocated as the data actually arrives.

The reader reads the compressed input in blocks of exactly ``READ_CHUNK`` bytes (the last one
shorter) and inflates it into pieces of at most ``PIECE_BYTES``: both twins do the same, so a
corrupt stream fails at the same record in both.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

import google_crc32c

from ..errors import DecodeError
from .rules.tfrecord import (
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
    CompressionName,
    ReadCompressionName,
    RecordSink,
    auto_is_gzip,
    check_max_record_bytes,
    normalize_compression,
    resolve_target,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._types import BytesLike, Compression, ReadCompression, ReadTarget, WriteTarget

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


# --------------------------------------------------------------------------------------------
# CRC and argument checks


def _bytes_of(data: Any) -> bytes:
    """``data`` (any C-contiguous bytes-like object) as bytes; TypeError otherwise."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        raise TypeError(f"{WHAT}: expected a bytes-like object, not str")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{WHAT}: expected a bytes-like object, not {type(data).__name__}") from None
    if not view.c_contiguous:
        raise TypeError(f"{WHAT}: expected a C-contiguous buffer")
    return view.tobytes()


def crc32c(data: BytesLike) -> int:
    """CRC-32C (Castagnoli) of a bytes-like object, as an int."""
    crc: int = google_crc32c.value(_bytes_of(data))
    return crc


def _mask(crc: int) -> int:
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    return (rotated + MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: BytesLike) -> int:
    """The masked CRC-32C TFRecord stores: ``((crc >> 15) | (crc << 17)) + 0xa282ead8``."""
    return _mask(crc32c(data))


# --------------------------------------------------------------------------------------------
# writing


class TFRecordWriter:
    """Streaming TFRecord writer: ``write(record)``, ``flush()``, ``close()``; a context manager.

    ``path_or_file`` is a path (created or truncated now, closed by ``close()``) or a binary
    file object with ``write()`` (flushed, not closed, by ``close()``).  ``compression``: None,
    ``""``, ``"gzip"`` or ``"zlib"`` (any case).
    """

    def __init__(self, path_or_file: WriteTarget, *, compression: Compression = None) -> None:
        self._sink = RecordSink(path_or_file, compression)

    @property
    def closed(self) -> bool:
        return self._sink.closed

    def write(self, record: BytesLike) -> None:
        """Append one record (any C-contiguous bytes-like object)."""
        sink = self._sink
        sink.check_open()
        data = _bytes_of(record)
        length = _U64.pack(len(data))
        sink.emit(length + _U32.pack(masked_crc32c(length)))
        sink.emit(data)
        sink.emit(_U32.pack(masked_crc32c(data)))

    def flush(self) -> None:
        """Make every record written so far reach the file (a Z_SYNC_FLUSH when compressed)."""
        self._sink.flush()

    def close(self) -> None:
        """Finish the compressed stream, flush, and close the file if we opened it.  Idempotent."""
        self._sink.close()

    def __enter__(self) -> Self:
        self._sink.check_open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        self.close()
        return False


def write_tfrecord(path_or_file: WriteTarget, records: Iterable[BytesLike], *,
                   compression: Compression = None) -> int:
    """Write every record of the iterable ``records`` as one TFRecord file; return their count."""
    count = 0
    with TFRecordWriter(path_or_file, compression=compression) as writer:
        for record in records:
            writer.write(record)
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# reading


class _StreamError(Exception):
    """A compressed-stream problem; the reader adds the record index and offset."""


def _read(f: Any, n: int) -> bytes:
    """One ``f.read(n)``, checked: bytes of at most n (b"" at the end)."""
    data = f.read(n)
    if not isinstance(data, bytes):
        if data is None or isinstance(data, str):
            raise TypeError(
                f"{WHAT}: file.read() returned {type(data).__name__}, not bytes "
                "(open the file in binary mode, and blocking)"
            )
        data = _bytes_of(data)
    if len(data) > n:
        raise ValueError(f"{WHAT}: file.read() returned more bytes than asked for")
    return data


def _read_full(f: Any, n: int) -> bytes:
    """Up to n bytes, fewer only at the end of the file."""
    data = _read(f, n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        data = _read(f, n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


class _Source(Protocol):
    """Where the uncompressed stream's bytes come from."""

    def more(self, want: int) -> bytes: ...


class _PlainSource:
    """The file's bytes, as they come (``initial`` first)."""

    def __init__(self, f: Any, initial: bytes) -> None:
        self._file = f
        self._initial = initial

    def more(self, want: int) -> bytes:
        """Some more bytes (about ``want``, a read of at least READ_CHUNK), or b"" at the end."""
        if self._initial:
            data, self._initial = self._initial, b""
            return data
        return _read(self._file, min(max(want, READ_CHUNK), MAX_READ))


class _InflateSource:
    """The inflated bytes of a gzip (members concatenated) or zlib stream, in pieces."""

    def __init__(self, f: Any, compression: CompressionName, initial: bytes) -> None:
        self._file = f
        self._compression = compression
        self._inflater = zlib.decompressobj(WBITS[compression])
        self._pending = initial  # compressed bytes not yet given to the inflater
        self._seen_input = bool(initial)
        self._raw_end = False
        self._done = False

    def _raw(self) -> bytes:
        if self._raw_end:
            return b""
        data = _read_full(self._file, READ_CHUNK)
        if len(data) < READ_CHUNK:
            self._raw_end = True
        if data:
            self._seen_input = True
        return data

    def _inflate(self, data: bytes) -> bytes:
        try:
            return self._inflater.decompress(data, PIECE_BYTES)
        except zlib.error as exc:
            raise _StreamError(f"corrupt {self._compression} stream ({exc})") from None

    def more(self, want: int) -> bytes:
        """The next non-empty piece of inflated bytes, or b"" after a complete stream."""
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
                data, self._pending = self._pending, b""
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
                    raise _StreamError(f"truncated {self._compression} stream (it ends before its end-of-stream marker)")
            out = self._inflate(data)
            if out:
                return out
        return b""


class _Buffer:
    """Unread bytes of the uncompressed stream: ``data[pos:]``."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.data = b""
        self.pos = 0

    def ensure(self, n: int) -> int:
        """Read until at least n bytes are unread or the stream ends; return how many are."""
        avail = len(self.data) - self.pos
        if avail >= n:
            return avail
        parts = [self.data[self.pos:]]
        while avail < n:
            piece = self.source.more(n - avail)
            if not piece:
                break
            parts.append(piece)
            avail += len(piece)
        self.data = b"".join(parts)
        self.pos = 0
        return avail


def _open_source(f: Any, compression: ReadCompressionName | None) -> tuple[_Source, CompressionName | None]:
    initial = _read_full(f, READ_CHUNK)
    if compression == "auto":
        gzipped = auto_is_gzip(initial, masked_crc32c)
        compression = "gzip" if gzipped else None
    if compression is None:
        return _PlainSource(f, initial), compression
    return _InflateSource(f, compression, initial), compression


def _records(path: str | os.PathLike[str] | os.PathLike[bytes] | None, f: Any,
             compression: ReadCompressionName | None, verify: bool, max_record_bytes: int) -> Iterator[bytes]:
    owned = path is not None
    if path is not None:
        f = open(path, "rb")
    index = 0
    offset = 0

    def fail(what: object) -> DecodeError:
        return DecodeError(f"{WHAT}: record {index} at offset {offset}: {what}")

    try:
        source, compression = _open_source(f, compression)
        buf = _Buffer(source)
        while True:
            try:
                avail = buf.ensure(HEADER_BYTES)
            except _StreamError as exc:
                raise fail(exc) from None
            if avail == 0:
                return
            if avail < HEADER_BYTES:
                raise fail(f"truncated header ({avail} of {HEADER_BYTES} bytes)")
            at = buf.pos
            length_bytes = buf.data[at:at + 8]
            length = _U64.unpack(length_bytes)[0]
            stored = _U32.unpack_from(buf.data, at + 8)[0]
            expected = masked_crc32c(length_bytes)
            if stored != expected:
                hint = ""
                if index == 0 and compression is None:
                    hint = " (not a TFRecord file, or a compressed one: name its compression)"
                raise fail(f"length CRC mismatch (stored 0x{stored:08x}, computed 0x{expected:08x}){hint}")
            if length > max_record_bytes:
                raise fail(f"length {length} is over max_record_bytes={max_record_bytes}")
            total = HEADER_BYTES + length + FOOTER_BYTES
            try:
                avail = buf.ensure(total)
            except _StreamError as exc:
                raise fail(exc) from None
            if avail < HEADER_BYTES + length:
                raise fail(f"truncated data ({avail - HEADER_BYTES} of {length} bytes)")
            if avail < total:
                raise fail(f"truncated data CRC ({avail - HEADER_BYTES - length} of {FOOTER_BYTES} bytes)")
            at = buf.pos + HEADER_BYTES
            data = buf.data[at:at + length]
            if verify:
                stored = _U32.unpack_from(buf.data, at + length)[0]
                expected = masked_crc32c(data)
                if stored != expected:
                    raise fail(f"data CRC mismatch (stored 0x{stored:08x}, computed 0x{expected:08x})")
            buf.pos += total
            offset += total
            index += 1
            yield data
    finally:
        if owned:
            f.close()


def read_tfrecord(path_or_file: ReadTarget, *, compression: ReadCompression = "auto", verify: bool = True,
                  max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> Iterator[bytes]:
    """Iterate over the records (as bytes) of a TFRecord file.

    Arguments are checked now; a path is opened at the first ``next()`` and closed when the
    iteration ends, fails or is closed.  ``compression``: ``"auto"`` (gzip or plain, see the
    module docstring), None/``""``, ``"gzip"`` or ``"zlib"`` (any case).  ``verify=False`` skips
    the data CRC (the length CRC is always checked).  A record longer than ``max_record_bytes``
    (default 2 GiB) is refused before anything is allocated for it.  Every framing or
    compressed-stream error raises :class:`tensorwire.DecodeError` naming the record index and
    its offset in the uncompressed stream.
    """
    compression = normalize_compression(compression, True)
    path, f = resolve_target(path_or_file, "read")
    limit = check_max_record_bytes(max_record_bytes)
    return _records(path, f, compression, bool(verify), limit)

# The codec's public names, which its Cython twin has too (tests/test_twin_seam.py checks it).
__all__ = [
    "DEFAULT_MAX_RECORD_BYTES", "TFRecordWriter", "crc32c", "masked_crc32c", "read_tfrecord", "write_tfrecord",
]
