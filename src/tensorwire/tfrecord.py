"""TFRecord reading and writing with the active backend (see ``tensorwire._backend``)."""

from ._backend import IMPLS

_impl = IMPLS["tfrecord"]

read_tfrecord = _impl.read_tfrecord
write_tfrecord = _impl.write_tfrecord
TFRecordWriter = _impl.TFRecordWriter
crc32c = _impl.crc32c
masked_crc32c = _impl.masked_crc32c

__all__ = ["read_tfrecord", "write_tfrecord", "TFRecordWriter", "crc32c", "masked_crc32c"]
