"""tensorwire: fast, strict codecs for the payloads exchanged with hosted ML models.

Every codec has a pure-Python reference (``tensorwire.codecs``) and a Cython twin
(``tensorwire._native``) with byte-identical output and identical errors.  The twin is used
unless ``TENSORWIRE_PURE_PYTHON=1``; :func:`backend` says which one is active.
"""

from typing import TYPE_CHECKING, Any, Literal

from . import _backend
from .b64 import b64decode, b64encode
from .ee_export import iter_ee_image_export, read_ee_image_export
from .errors import DecodeError, PredictionError
from .example import decode_example, decode_sequence_example, encode_example, encode_sequence_example
from .payload import (
    PayloadFormat, Request, decode_request, decode_response, encode_request, encode_response, read_request,
    stack_bands,
)
from .tensor import decode_tensor, encode_tensor
from .tfrecord import TFRecordWriter, read_tfrecord, write_tfrecord

__version__ = "0.1.0"


def backend() -> Literal["native", "python"]:
    """``"native"`` (the Cython twins) or ``"python"`` (the reference), for this process."""
    return _backend.NAME


__all__ = [
    "DecodeError",
    "PredictionError",
    "PayloadFormat",
    "encode_request",
    "decode_request",
    "read_request",
    "Request",
    "encode_response",
    "decode_response",
    "stack_bands",
    "backend",
    "encode_tensor",
    "decode_tensor",
    "b64encode",
    "b64decode",
    "read_tfrecord",
    "write_tfrecord",
    "TFRecordWriter",
    "encode_example",
    "decode_example",
    "encode_sequence_example",
    "decode_sequence_example",
    "read_ee_image_export",
    "iter_ee_image_export",
    "__version__",
    "Client",
    "serve",
]


if TYPE_CHECKING:  # what __getattr__ gives, as type checkers should see it
    from .client import Client
    from .server import serve


def __getattr__(name: str) -> Any:
    # The transports import their libraries (urllib3, grpcio, starlette, uvicorn) only when used.
    if name == "Client":
        from .client import Client

        return Client
    if name == "serve":
        from .server import serve

        return serve
    raise AttributeError(f"module 'tensorwire' has no attribute {name!r}")
