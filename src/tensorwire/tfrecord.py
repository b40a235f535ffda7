"""TFRecord reading and writing with the active backend (see ``tensorwire._backend``)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Literal

from ._backend import IMPLS
from ._types import Crc32c, ReadTFRecord, WriteTFRecord

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._types import BytesLike, Compression, WriteTarget

_impl = IMPLS["tfrecord"]

# The backend's own functions and class, typed with the reference's signatures (tensorwire._types).
read_tfrecord: ReadTFRecord = _impl.read_tfrecord
write_tfrecord: WriteTFRecord = _impl.write_tfrecord
crc32c: Crc32c = _impl.crc32c
masked_crc32c: Crc32c = _impl.masked_crc32c

if TYPE_CHECKING:

    class TFRecordWriter:
        """Streaming TFRecord writer: ``write(record)``, ``flush()``, ``close()``; a context manager."""

        def __init__(self, path_or_file: WriteTarget, *, compression: Compression = None) -> None: ...

        @property
        def closed(self) -> bool: ...

        def write(self, record: BytesLike) -> None: ...

        def flush(self) -> None: ...

        def close(self) -> None: ...

        def __enter__(self) -> Self: ...

        def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                     tb: TracebackType | None) -> Literal[False]: ...

else:
    TFRecordWriter = _impl.TFRecordWriter

__all__ = ["read_tfrecord", "write_tfrecord", "TFRecordWriter", "crc32c", "masked_crc32c"]
