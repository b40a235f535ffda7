"""Types of the Cython TFRecord codec: the reference's signatures (``tensorwire.codecs.tfrecord``)."""

from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Literal

from typing_extensions import Self

from .._types import BytesLike, Compression, ReadCompression, ReadTarget, WriteTarget

WHAT: str
HEADER_BYTES: int
FOOTER_BYTES: int
MASK_DELTA: int
DEFAULT_MAX_RECORD_BYTES: int
READ_CHUNK: int
PIECE_BYTES: int
MAX_READ: int
GZIP_MAGIC: bytes
ZLIB_LEVEL: int
ZLIB_MEM_LEVEL: int
WBITS: dict[str, int]

def crc32c(data: BytesLike) -> int: ...
def masked_crc32c(data: BytesLike) -> int: ...

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

def write_tfrecord(path_or_file: WriteTarget, records: Iterable[BytesLike], *,
                   compression: Compression = None) -> int: ...
def read_tfrecord(path_or_file: ReadTarget, *, compression: ReadCompression = "auto", verify: bool = True,
                  max_record_bytes: int = ...) -> Iterator[bytes]: ...
