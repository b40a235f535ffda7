"""The predict functions the serving benchmarks host (``serve_models:double``, ...).

Importable by ``python -m tensorwire serve serve_models:double`` and by
``benchmarks/peer_server.py`` when ``benchmarks/`` is on ``sys.path`` (or the current
directory); roundtrip.py and load.py put it there for the servers they start.  Each takes
``{name: batch-first ndarray}`` (what the servers decode) and returns ``{name: ndarray}`` with one
prediction per instance, so the benchmarks can check every answer by calling the same function
directly.  They are deliberately cheap: the benchmarks measure the payload work around them.
"""

import numpy as np


def double(inputs):
    """``{name: x * 2}``: every input comes back, doubled, under its own name (the round-trip
    benchmark's model; exact in float32, so answers compare with ``np.array_equal``)."""
    return {name: x * 2 for name, x in inputs.items()}


def affine(inputs):
    """``{name: x * 2 + 1}``: the load run's checking model (exact elementwise float32
    arithmetic, so a distinct random input per request makes a mixed-up answer visible)."""
    return {name: x * np.float32(2) + np.float32(1) for name, x in inputs.items()}


def band_sum(inputs):
    """One output: the per-instance, per-pixel sum over all inputs (bands), in name order."""
    names = sorted(inputs)
    total = np.zeros_like(inputs[names[0]])
    for name in names:
        total = total + inputs[name]
    return total


def crop_margin(inputs):
    """``{name: x[:, m:-m, m:-m]}``: every input's tile without its margin of
    ``TENSORWIRE_BENCH_MARGIN`` pixels per edge (default 16), under its own name: the identity
    model of an Earth Engine tiling (``ee_predict.py``; the mosaic must equal the image)."""
    import os

    m = int(os.environ.get("TENSORWIRE_BENCH_MARGIN", "16"))
    return {name: x[:, m:x.shape[1] - m, m:x.shape[2] - m] for name, x in inputs.items()}
