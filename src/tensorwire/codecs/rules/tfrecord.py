"""Rules of the TFRecord format that both twins apply (docs/tfrecord.md).

The reference's module docstring (``tensorwire.codecs.tfrecord``) defines the behaviour; this
module holds what both twins share of it, none of it on a hot path:

* the constants of the framing, of the reads and of the compressed streams;
* the argument checks of ``read_tfrecord`` and ``TFRecordWriter`` (their messages are part of
  the contract): :func:`normalize_compression`, :func:`resolve_target`,
  :func:`check_max_record_bytes`;
* the writing end of a writer, :class:`RecordSink`: the file (opened and closed here when given
  a path), the compressor, ``flush`` and ``close``.  Each twin's ``TFRecordWriter`` frames the
  records and hands the bytes to its sink.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from typing import IO, Any, Literal, Protocol, overload

WHAT = "TFRecord"
HEADER_BYTES = 12  # uint64 length + masked CRC-32C of it
FOOTER_BYTES = 4  # masked CRC-32C of the data
MASK_DELTA = 0xA282EAD8
DEFAULT_MAX_RECORD_BYTES = 1 << 31
READ_CHUNK = 1 << 18  # bytes per read of the underlying file
PIECE_BYTES = 1 << 20  # most bytes one inflate step produces
MAX_READ = 1 << 24  # most bytes one read asks for while a big record comes in
GZIP_MAGIC = b"\x1f\x8b"
ZLIB_LEVEL = zlib.Z_DEFAULT_COMPRESSION
ZLIB_MEM_LEVEL = 9  # TensorFlow's default (Python's is 8, which changes the bytes)
WBITS = {"gzip": zlib.MAX_WBITS + 16, "zlib": zlib.MAX_WBITS}

#: A compressed stream's format, once the ``compression`` argument is normalized.
CompressionName = Literal["gzip", "zlib"]
#: What ``read_tfrecord`` may be asked for, normalized: a format, or ``"auto"`` (gzip or plain).
ReadCompressionName = Literal["gzip", "zlib", "auto"]


def header_fields(head: bytes, masked_crc32c: Callable[[bytes], int]) -> tuple[int, int, int]:
    """``(length, stored, computed)`` of a record's 12-byte ``head``: the data's length, the
    masked CRC-32C of the 8 length bytes as stored, and as computed by ``masked_crc32c`` (the
    caller's twin's).  The header is valid when the two CRCs are equal."""
    length, stored = _HEADER.unpack_from(head)
    return length, stored, masked_crc32c(head[:8])


def auto_is_gzip(head: bytes, masked_crc32c: Callable[[bytes], int]) -> bool:
    """``compression="auto"``'s rule: a stream whose first bytes are ``head`` (up to
    ``HEADER_BYTES``) is gzip when it starts with gzip's magic and is not a valid record header."""
    if head[:2] != GZIP_MAGIC:
        return False
    if len(head) < HEADER_BYTES:
        return True
    _, stored, computed = header_fields(head, masked_crc32c)
    return stored != computed


_HEADER = struct.Struct("<QI")


class Writable(Protocol):
    def write(self, data: Any, /) -> int | None: ...


@overload
def normalize_compression(value: object, reading: Literal[False]) -> CompressionName | None: ...
@overload
def normalize_compression(value: object, reading: Literal[True]) -> ReadCompressionName | None: ...
@overload
def normalize_compression(value: object, reading: bool) -> ReadCompressionName | None: ...
def normalize_compression(value: object, reading: bool) -> ReadCompressionName | None:
    """The ``compression`` argument normalized: None (no compression), ``"gzip"``, ``"zlib"``,
    or (``reading`` only) ``"auto"``.  Any letter case is accepted; ``""`` means None.  Raises
    ``TypeError`` for a value that is not a str or None, ``ValueError`` for another name."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{WHAT}: compression must be a str or None, not {type(value).__name__}")
    name = value.lower()
    if name == "":
        return None
    if name == "gzip" or name == "zlib" or (reading and name == "auto"):
        return name  # type: ignore[return-value]  # one of the Literal's values, checked above
    allowed = "None, '', 'gzip', 'zlib' or 'auto'" if reading else "None, '', 'gzip' or 'zlib'"
    raise ValueError(f"{WHAT}: compression must be {allowed} (any case), not {value!r}")


def resolve_target(path_or_file: Any, method: str) -> tuple[str | os.PathLike[str] | None, Any]:
    """``(path, None)`` for a ``str`` or ``os.PathLike``, ``(None, file)`` for an object with a
    callable ``method`` (``"read"`` or ``"write"``); ``TypeError`` for anything else."""
    if isinstance(path_or_file, (str, os.PathLike)):
        return path_or_file, None
    if not callable(getattr(path_or_file, method, None)):
        raise TypeError(
            f"{WHAT}: expected a path (str or os.PathLike) or a binary file object with {method}(), "
            f"not {type(path_or_file).__name__}"
        )
    return None, path_or_file


def check_max_record_bytes(value: object) -> int:
    """The ``max_record_bytes`` argument, checked: an int (not a bool) >= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{WHAT}: max_record_bytes must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{WHAT}: max_record_bytes must be >= 0, not {value}")
    return value


def write_all(f: Writable, data: Any) -> None:
    """Write all of ``data`` (a bytes-like object) to ``f``: a raw file may take less than it
    is given.  A ``write`` that returns None (many file-likes) is taken as having written it all;
    one that returns 0 or less raises ``OSError``."""
    view = memoryview(data)
    total = view.nbytes
    done = f.write(view)
    while done is not None and done < total:
        more = f.write(view[done:])
        if more is None:
            break
        if more <= 0:
            raise OSError(f"{WHAT}: the file object wrote no bytes")
        done += more


class RecordSink:
    """The writing end of a ``TFRecordWriter``: where its framed bytes go.

    ``path_or_file`` is a path (created or truncated now, closed by :meth:`close`) or a binary
    file object with ``write()`` (flushed, not closed, by :meth:`close`); ``compression`` is
    checked first (:func:`normalize_compression`), then the target (:func:`resolve_target`).  A
    compressed sink deflates like TensorFlow (level ``ZLIB_LEVEL``, memLevel ``ZLIB_MEM_LEVEL``,
    window ``WBITS``), so its output is deterministic.

    Attributes: ``file`` (the file object written to), ``compressor`` (a zlib compress object,
    or None for a plain file), ``closed``.
    """

    def __init__(self, path_or_file: Any, compression: object) -> None:
        name = normalize_compression(compression, False)
        path, f = resolve_target(path_or_file, "write")
        self.compressor: Any = None  # zlib's compress object (no public type)
        if name is not None:
            self.compressor = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, WBITS[name], ZLIB_MEM_LEVEL)
        self._owned = path is not None
        self.file: IO[bytes] | Any = open(path, "wb") if path is not None else f
        self.closed = False

    def check_open(self) -> None:
        """``ValueError`` once the sink is closed."""
        if self.closed:
            raise ValueError(f"{WHAT}: the writer is closed")

    def emit(self, data: Any) -> None:
        """Write ``data`` (bytes-like), through the compressor when there is one."""
        if self.compressor is not None:
            data = self.compressor.compress(data)
            if not data:
                return
        write_all(self.file, data)

    def flush(self) -> None:
        """Make everything emitted so far reach the file (a ``Z_SYNC_FLUSH`` when compressed),
        then flush the file (when it has ``flush()``)."""
        self.check_open()
        if self.compressor is not None:
            tail = self.compressor.flush(zlib.Z_SYNC_FLUSH)
            if tail:
                write_all(self.file, tail)
        if callable(getattr(self.file, "flush", None)):
            self.file.flush()

    def close(self) -> None:
        """Finish the compressed stream, flush, and close the file if it was opened here.
        Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.compressor is not None:
                tail = self.compressor.flush(zlib.Z_FINISH)
                if tail:
                    write_all(self.file, tail)
            if callable(getattr(self.file, "flush", None)):
                self.file.flush()
        finally:
            if self._owned:
                self.file.close()
