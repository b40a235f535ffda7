"""Types of the Cython tf.Example codec: the reference's signatures (``tensorwire.codecs.example``)."""

from collections.abc import Iterable, Mapping
from typing import Any, overload

from numpy.typing import NDArray

from .._types import BytesLike, DecodedFeature, ExampleSpec, FeatureValue

def encode_example(features: Mapping[str, FeatureValue], *, sort_keys: bool = True) -> bytes: ...
def encode_sequence_example(context: Mapping[str, FeatureValue],
                            feature_lists: Mapping[str, Iterable[FeatureValue] | NDArray[Any]], *,
                            sort_keys: bool = True) -> bytes: ...
@overload
def decode_example(data: BytesLike, *, spec: None = None) -> dict[str, DecodedFeature]: ...
@overload
def decode_example(data: BytesLike, *, spec: ExampleSpec) -> dict[str, NDArray[Any]]: ...
def decode_sequence_example(data: BytesLike) -> tuple[dict[str, DecodedFeature], dict[str, list[DecodedFeature]]]: ...
