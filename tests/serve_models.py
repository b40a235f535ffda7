"""Functions the server tests host with ``python -m tensorwire serve serve_models:NAME``."""

import numpy as np

REFUSED = -999.0  # a request holding this value makes ``affine`` raise
SHORT = -998.0  # ... and this one makes it return one prediction too few


def affine(inputs):
    """Each input x becomes the output of the same name, 2x + 1 in float32."""
    if any((np.asarray(a) == REFUSED).any() for a in inputs.values()):
        raise RuntimeError(f"the model refuses {REFUSED}")
    out = {name: np.asarray(a, dtype=np.float32) * 2 + 1 for name, a in inputs.items()}
    if any((np.asarray(a) == SHORT).any() for a in inputs.values()):
        return {name: a[:-1] for name, a in out.items()}
    return out


def total(inputs):
    """One unnamed output: the sum of every input, per instance (several inputs, one output)."""
    return sum(np.asarray(a, dtype=np.float32) for a in inputs.values())


def hang(inputs):
    """Never returns.  Each call first appends a line to the file named by
    ``TENSORWIRE_TEST_MARK``, so a test knows when the call has started."""
    import os
    import threading

    with open(os.environ["TENSORWIRE_TEST_MARK"], "a") as f:
        f.write("called\n")
    threading.Event().wait()


def switch_interval(inputs):
    """The server process's thread switch interval, once per instance."""
    import sys

    (a,) = inputs.values()
    return np.full(len(a), sys.getswitchinterval(), np.float64)
