"""Rules of the TensorProto codec that both twins (and the formats built on it) apply.

See ``docs/tensor-proto.md``.
"""

import numpy as np


def stack_tensors(arrays):
    """``np.stack(arrays)``: the batch of decoded instances.  One instance becomes a view with a
    leading axis of 1 instead of a copy (one tile per request is the common case, and copying
    it costs as much as decoding it).  Used by both twins of the JSON and gRPC formats, which
    carry one TensorProto per instance."""
    if len(arrays) == 1:
        return arrays[0][np.newaxis]
    return np.stack(arrays)
