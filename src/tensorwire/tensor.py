"""TensorProto encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS
from ._types import DecodeTensor, EncodeTensor

_impl = IMPLS["tensor"]

# The backend's own functions, typed with the reference's signatures (tensorwire._types).
encode_tensor: EncodeTensor = _impl.encode_tensor
decode_tensor: DecodeTensor = _impl.decode_tensor

__all__ = ["encode_tensor", "decode_tensor"]
