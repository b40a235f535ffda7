"""tf.Example / tf.SequenceExample encode/decode with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS

_impl = IMPLS["example"]

encode_example = _impl.encode_example
decode_example = _impl.decode_example
encode_sequence_example = _impl.encode_sequence_example
decode_sequence_example = _impl.decode_sequence_example

__all__ = ["encode_example", "decode_example", "encode_sequence_example", "decode_sequence_example"]
