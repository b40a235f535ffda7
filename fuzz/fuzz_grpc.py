#!/usr/bin/env python3
"""Fuzz the gRPC readers: ``decode_predict_request`` (a serialized ``PredictRequest``) and
``decode_predict_response``, i.e. ``decode_request``/``decode_response`` in the three gRPC payload
formats (GRPC_TF_TENSORS, GRPC_SERIALIZED_TF_TENSORS, GRPC_SERIALIZED_TF_EXAMPLES).

The first byte picks the format, request or response, ``dtype``, ``max_bytes`` (1 MiB, or 64)
and, for examples, ``input_name``; the rest is the message.  The native
side is the public API (``tensorwire.payload.decode_grpc_request``, which gives the request's
spec as well, and ``tensorwire.decode_response``); the reference side is
``tensorwire.codecs.grpc`` called with the layout ``tensorwire.payload`` picks for the format
(its table of layouts, ``payload.GRPC_LAYOUTS``)."""

import itertools

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    import numpy as np

    import tensorwire
    from tensorwire import payload
    from tensorwire.codecs import grpc as reference

from _contract import agree, fuzz, pick

FORMATS = [f for f in payload.PayloadFormat if f in payload.GRPC_LAYOUTS]
MAX_BYTES = 1 << 20  # not the 2 GiB default: see fuzz/README.md
DTYPES = (None, np.float32, np.int64, {"B1": np.float32, "output": np.uint8})
OPTIONS = [
    (fmt, side, dtype, max_bytes, input_name)
    for fmt, side, dtype, max_bytes, input_name in itertools.product(
        FORMATS, ("request", "response"), DTYPES, (MAX_BYTES, 64), ("input", "inputs"))
    # examples requests decode float32 only (another dtype is an argument error); input_name is
    # read for examples requests only
    if not (side == "request" and payload.GRPC_LAYOUTS[fmt][0] == "examples" and dtype not in (None, np.float32))
    and (input_name == "input" or (side == "request" and payload.GRPC_LAYOUTS[fmt][0] == "examples"))
]


def check(data):
    (fmt, side, dtype, max_bytes, input_name), body = pick(data, OPTIONS)
    if side == "request":
        agree(
            lambda: reference.decode_predict_request(body, payload.GRPC_LAYOUTS[fmt][0], dtype=dtype,
                                                     max_bytes=max_bytes, input_name=input_name),
            lambda: payload.decode_grpc_request(body, fmt, dtype=dtype, max_bytes=max_bytes, input_name=input_name),
        )
    else:
        agree(
            lambda: reference.decode_predict_response(body, layout=payload.GRPC_LAYOUTS[fmt][1], dtype=dtype,
                                                      max_bytes=max_bytes),
            lambda: tensorwire.decode_response(body, fmt, dtype=dtype, max_bytes=max_bytes),
        )


if __name__ == "__main__":
    if tensorwire.backend() != "native":
        raise SystemExit("fuzz_grpc: unset TENSORWIRE_PURE_PYTHON; this harness compares the native backend")
    fuzz(check, "protobuf.dict")
