#!/usr/bin/env python3
"""Fuzz ``decode_example`` and ``decode_sequence_example``.  The first byte picks the decoder:
``decode_example`` without a spec, ``decode_example`` with a fixed spec (the golden vectors'
feature names, so that mutated vectors reach the spec checks), or ``decode_sequence_example``;
the rest is the serialized message."""

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    import numpy as np

    from tensorwire._native import example as native
    from tensorwire.codecs import example as reference

from _contract import agree, fuzz, pick

SPEC = {"B1": ((4,), np.float32), "id": ((1,), np.int64), "s": ((), bytes)}

OPTIONS = (
    lambda codec, payload: codec.decode_example(payload),
    lambda codec, payload: codec.decode_example(payload, spec=SPEC),
    lambda codec, payload: codec.decode_sequence_example(payload),
)


def check(data):
    call, payload = pick(data, OPTIONS)
    agree(lambda: call(reference, payload), lambda: call(native, payload))


if __name__ == "__main__":
    fuzz(check, "protobuf.dict")
