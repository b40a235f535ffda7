"""TensorProto encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import tensor_impl as _impl

encode_tensor = _impl.encode_tensor
decode_tensor = _impl.decode_tensor

__all__ = ["encode_tensor", "decode_tensor"]
