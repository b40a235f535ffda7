"""tf.Example / tf.SequenceExample encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS
from ._types import DecodeExample, DecodeSequenceExample, EncodeExample, EncodeSequenceExample

_impl = IMPLS["example"]

# The backend's own functions, typed with the reference's signatures (tensorwire._types).
encode_example: EncodeExample = _impl.encode_example
decode_example: DecodeExample = _impl.decode_example
encode_sequence_example: EncodeSequenceExample = _impl.encode_sequence_example
decode_sequence_example: DecodeSequenceExample = _impl.decode_sequence_example

__all__ = ["encode_example", "decode_example", "encode_sequence_example", "decode_sequence_example"]
