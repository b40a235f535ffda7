#!/usr/bin/env python3
"""Fuzz ``decode_request`` and ``decode_response`` in the four JSON payload formats
(SERIALIZED_TF_TENSORS, RAW_JSON, ND_ARRAYS, and JSON, the general body).

The first byte picks the format, request or response, ``nonfinite``, ``dtype`` and ``max_bytes``
(1 MiB, or 256); the rest is the body.  The native side is the public
``tensorwire.decode_request``/``decode_response`` (this process runs the native backend); the
reference side is ``tensorwire.codecs.jsonbody.decode_body`` called the way ``tensorwire.payload``
calls it for that format (its table of value forms, ``payload.JSON_VALUE_FORMS``), so the
payload layer is under test too."""

import itertools

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    import numpy as np

    import tensorwire
    from tensorwire import payload
    from tensorwire.codecs import jsonbody as reference

from _contract import agree, fuzz, pick

FORMATS = [f for f in payload.PayloadFormat if f in payload.JSON_VALUE_FORMS]
SIDES = {  # side -> (public decoder, key, bare name), as payload.decode_request/decode_response read
    "request": (tensorwire.decode_request, "instances", "instances"),
    "response": (tensorwire.decode_response, "predictions", "output"),
}
MAX_BYTES = 1 << 20  # not the 2 GiB default: see fuzz/README.md
DTYPES = (None, np.float64, np.int32, {"B1": np.float16, "output": np.uint8})
OPTIONS = list(itertools.product(FORMATS, SIDES, ("token", "null", "error"), DTYPES,
                                 (MAX_BYTES, 256)))


def check(data):
    (fmt, side, nonfinite, dtype, max_bytes), body = pick(data, OPTIONS)
    public, key, bare_name = SIDES[side]
    value_form = payload.JSON_VALUE_FORMS[fmt][1]
    agree(
        lambda: reference.decode_body(body, key, value_form=value_form, dtype=dtype, nonfinite=nonfinite,
                                      max_bytes=max_bytes, bare_name=bare_name),
        lambda: public(body, fmt, dtype=dtype, nonfinite=nonfinite, max_bytes=max_bytes),
        responses=side == "response",
    )


if __name__ == "__main__":
    if tensorwire.backend() != "native":
        raise SystemExit("fuzz_json: unset TENSORWIRE_PURE_PYTHON; this harness compares the native backend")
    fuzz(check, "json.dict")
