"""A TensorFlow model wrapped the Earth Engine way (docs/json-payloads.md), for ``--pass-serialized``.

Each input is a ``tf.string [N]`` of base64 TensorProtos (float32 (H, W, 1) tiles); each output
is re-encoded the same way by TensorFlow itself (``tf.io.encode_base64``: URL-safe, unpadded).
"""

import tensorflow as tf


def _per_instance(args):
    a = tf.io.parse_tensor(tf.io.decode_base64(args[0]), tf.float32)
    b = tf.io.parse_tensor(tf.io.decode_base64(args[1]), tf.float32)
    return tuple(tf.io.encode_base64(tf.io.serialize_tensor(y)) for y in ((a + b) * 2.0, a - b))


@tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)])
def _model(b1, b2):
    return tf.map_fn(_per_instance, (b1, b2), fn_output_signature=(tf.string, tf.string))


def predict(inputs):
    """``{"sum": ..., "diff": ...}``: object arrays of base64 texts, one per instance."""
    total, diff = _model(tf.constant(list(inputs["B1"])), tf.constant(list(inputs["B2"])))
    return {"sum": total.numpy(), "diff": diff.numpy()}
