"""Types of the public API, for type checkers.

The thin public modules (``tensorwire.tensor``, ``.b64``, ``.example``, ``.tfrecord``) bind
their functions to the backend chosen at import; those bindings are annotated with the call
signatures below (taken from the pure-Python reference, ``tensorwire.codecs``), so a type
checker sees the real signature while a call still goes straight to the backend's function.
Nothing here runs per call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, Union, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

if TYPE_CHECKING:
    from typing_extensions import Buffer, TypeAlias

# --------------------------------------------------------------------------------------------
# arguments

#: Any bytes-like object (bytes, bytearray, memoryview, a C-contiguous numpy array, ...).
BytesLike: TypeAlias = "Buffer"

#: ``encode_tensor``'s ``form`` (and the gRPC responses' ``form``).
TensorForm: TypeAlias = Literal["content", "proto"]

#: ``b64decode``'s ``alphabet``.
Alphabet: TypeAlias = Literal["standard", "urlsafe", "any"]

#: A TFRecord writer's ``compression`` (any letter case is accepted at run time).
Compression: TypeAlias = Literal["", "gzip", "zlib", "GZIP", "ZLIB"] | None

#: A TFRecord reader's ``compression``: a writer's, or ``"auto"``.
ReadCompression: TypeAlias = Literal["", "gzip", "zlib", "GZIP", "ZLIB", "auto", "AUTO"] | None

#: A dtype as ``decode_tensor`` takes it: a numpy dtype (or anything ``np.dtype`` takes), a
#: TensorFlow DataType number, or ``"string"``/``bytes``/``object`` for strings; None: any.
TensorDType: TypeAlias = Union[DTypeLike, int, None]


class SupportsRead(Protocol):
    """A binary file object to read TFRecords from."""

    def read(self, n: int, /) -> bytes: ...


class SupportsWrite(Protocol):
    """A binary file object to write TFRecords to (``flush()`` is called when it has one)."""

    def write(self, data: memoryview, /) -> int | None: ...


#: A path (opened and closed by tensorwire) or a binary file object (never closed by it).
ReadTarget: TypeAlias = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", SupportsRead]
WriteTarget: TypeAlias = Union[str, "os.PathLike[str]", "os.PathLike[bytes]", SupportsWrite]

#: One tf.Example feature value when encoding: bytes/str (a ``bytes_list`` of one), a list of
#: bytes/str, or anything ``numpy.asarray`` takes (floats -> ``float_list``, integers and
#: bools -> ``int64_list``).
FeatureValue: TypeAlias = Union[ArrayLike, bytes, bytearray, str, Sequence[Union[bytes, bytearray, str]]]

#: One decoded feature: ``float_list``, ``int64_list``, ``bytes_list``, or no kind set.
DecodedFeature: TypeAlias = Union[NDArray[np.float32], NDArray[np.int64], list[bytes], None]

#: ``decode_example``'s ``spec``: ``{name: (shape, dtype)}`` like ``tf.io.FixedLenFeature``.
ExampleSpec: TypeAlias = Mapping[str, tuple[Union[int, Sequence[int]], DTypeLike]]


# --------------------------------------------------------------------------------------------
# signatures of the backend functions


class EncodeTensor(Protocol):
    def __call__(self, array: ArrayLike, *, form: TensorForm = "content") -> bytes: ...


class DecodeTensor(Protocol):
    def __call__(self, data: BytesLike, *, dtype: TensorDType = None, copy: bool = True,
                 max_bytes: int = ...) -> NDArray[Any]: ...


class B64Encode(Protocol):
    def __call__(self, data: BytesLike, *, urlsafe: bool = False, pad: bool = True) -> bytes: ...


class B64Decode(Protocol):
    def __call__(self, text: BytesLike | str, *, alphabet: Alphabet = "any") -> bytes: ...


class EncodeExample(Protocol):
    def __call__(self, features: Mapping[str, FeatureValue], *, sort_keys: bool = True) -> bytes: ...


class DecodeExample(Protocol):
    """Without a ``spec``, every feature as it is; with one, arrays of the spec's shapes."""

    @overload
    def __call__(self, data: BytesLike, *, spec: None = None) -> dict[str, DecodedFeature]: ...

    @overload
    def __call__(self, data: BytesLike, *, spec: ExampleSpec) -> dict[str, NDArray[Any]]: ...


class EncodeSequenceExample(Protocol):
    def __call__(self, context: Mapping[str, FeatureValue],
                 feature_lists: Mapping[str, Sequence[FeatureValue] | NDArray[Any]], *,
                 sort_keys: bool = True) -> bytes: ...


class DecodeSequenceExample(Protocol):
    def __call__(self, data: BytesLike) -> tuple[dict[str, DecodedFeature], dict[str, list[DecodedFeature]]]: ...


class ReadTFRecord(Protocol):
    def __call__(self, path_or_file: ReadTarget, *, compression: ReadCompression = "auto", verify: bool = True,
                 max_record_bytes: int = ...) -> Iterator[bytes]: ...


class WriteTFRecord(Protocol):
    def __call__(self, path_or_file: WriteTarget, records: Iterable[BytesLike], *,
                 compression: Compression = None) -> int: ...


class Crc32c(Protocol):
    def __call__(self, data: BytesLike) -> int: ...
