"""Base64 encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS
from ._types import B64Decode, B64Encode

_impl = IMPLS["base64"]

# The backend's own functions, typed with the reference's signatures (tensorwire._types).
b64encode: B64Encode = _impl.b64encode
b64decode: B64Decode = _impl.b64decode

__all__ = ["b64encode", "b64decode"]
