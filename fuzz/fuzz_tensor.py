#!/usr/bin/env python3
"""Fuzz ``decode_tensor`` (a serialized TensorProto).  The first byte picks the options: ``dtype``
(None or one expected dtype), ``copy`` and ``max_bytes`` (1 MiB, or 64);
the rest is the TensorProto.  Run: ``python fuzz/fuzz_tensor.py [corpus dirs] [libFuzzer flags]``."""

import itertools

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    import numpy as np

    from tensorwire._native import tensor as native
    from tensorwire.codecs import tensor as reference

from _contract import agree, fuzz, pick

MAX_BYTES = 1 << 20  # not the 2 GiB default: see fuzz/README.md
DTYPES = (None, np.float32, np.int64, np.uint8, np.bool_, np.complex64, np.float16, "string")
OPTIONS = [
    {"dtype": dtype, "copy": copy, "max_bytes": max_bytes}
    for dtype, copy, max_bytes in itertools.product(DTYPES, (True, False), (MAX_BYTES, 64))
]


def check(data):
    options, payload = pick(data, OPTIONS)
    agree(lambda: reference.decode_tensor(payload, **options), lambda: native.decode_tensor(payload, **options))


if __name__ == "__main__":
    fuzz(check, "protobuf.dict")
