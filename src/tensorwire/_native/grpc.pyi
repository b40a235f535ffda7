"""Type stub of the Cython twin ``tensorwire._native.grpc``: the reference's signatures
(``tensorwire.codecs.grpc``), whose module docstring defines the behaviour."""

from collections.abc import Iterable
from typing import Any

from numpy.typing import NDArray
from typing_extensions import Buffer

from ..codecs.rules.grpc import Columns, DTypeSpec, Layout, PredictSpec, ResponseLayout, TensorForm

LAYOUTS: tuple[Layout, ...]
RESPONSE_LAYOUTS: tuple[ResponseLayout, ...]
FORMS: tuple[TensorForm, ...]
DEFAULT_MAX_BYTES: int
REQUEST: str
RESPONSE: str

def encode_predict_request(
    columns: Columns,
    layout: Layout,
    *,
    model_name: str = "",
    signature_name: str = "",
    version: int | None = None,
    output_filter: Iterable[str] = (),
    input_name: str = "input",
) -> bytes: ...
def encode_predict_response(
    columns: Columns, *, layout: ResponseLayout = "tensors", model_name: str = "", form: TensorForm = "content"
) -> bytes: ...
def decode_predict_request(
    data: Buffer, layout: Layout, *, dtype: DTypeSpec = None, max_bytes: int = ..., input_name: str = "input"
) -> tuple[PredictSpec, dict[str, NDArray[Any]]]: ...
def decode_predict_response(
    data: Buffer, *, layout: ResponseLayout = "tensors", dtype: DTypeSpec = None, max_bytes: int = ...
) -> dict[str, NDArray[Any]]: ...
