#!/usr/bin/env python3
"""Fuzz ``parse_number`` (the JSON number reader both JSON decoders share).  The first byte picks
the dtype (bool, the integer and the float dtypes); the rest is the number's text."""

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    import numpy as np

    from tensorwire._native import numtext as native
    from tensorwire.codecs import numtext as reference

from _contract import agree, fuzz, pick

OPTIONS = (np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint64, np.uint16, np.bool_)


def check(data):
    dtype, payload = pick(data, OPTIONS)
    agree(lambda: reference.parse_number(payload, dtype), lambda: native.parse_number(payload, dtype))


if __name__ == "__main__":
    fuzz(check, "numtext.dict")
