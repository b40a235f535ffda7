"""Base64 encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS

_impl = IMPLS["base64"]

b64encode = _impl.b64encode
b64decode = _impl.b64decode

__all__ = ["b64encode", "b64decode"]
