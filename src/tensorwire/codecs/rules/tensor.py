"""Rules of the TensorProto codec that both twins (and the formats built on it) apply.

See ``docs/tensor-proto.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def stack_tensors(arrays: Sequence[NDArray[Any]]) -> NDArray[Any]:
    """``np.stack(arrays)``: the batch of decoded instances.  One instance becomes a view with a
    leading axis of 1 instead of a copy (one tile per request is the common case, and copying
    it costs as much as decoding it).  Used by both twins of the JSON and gRPC formats, which
    carry one TensorProto per instance."""
    if len(arrays) == 1:
        return arrays[0][np.newaxis]
    return np.stack(arrays)
