"""TensorProto encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS

_impl = IMPLS["tensor"]

encode_tensor = _impl.encode_tensor
decode_tensor = _impl.decode_tensor

__all__ = ["encode_tensor", "decode_tensor"]
