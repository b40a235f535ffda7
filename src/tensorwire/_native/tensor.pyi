"""Types of the Cython TensorProto codec: the reference's signatures (``tensorwire.codecs.tensor``)."""

from typing import Any, Literal

from numpy.typing import ArrayLike, NDArray

from .._types import BytesLike, TensorDType

def encode_tensor(array: ArrayLike, *, form: Literal["content", "proto"] = "content") -> bytes: ...
def decode_tensor(data: BytesLike, *, dtype: TensorDType = None, copy: bool = True,
                  max_bytes: int = ...) -> NDArray[Any]: ...
