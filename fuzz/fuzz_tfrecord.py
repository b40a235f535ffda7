#!/usr/bin/env python3
"""Fuzz ``read_tfrecord``.  The first byte picks ``compression`` ("auto", None, "gzip", "zlib"),
``verify``, ``max_record_bytes`` (the default, or 64) and the file object (``io.BytesIO``, read
with ``read()``, or ``io.BufferedReader``, which the native twin reads with ``readinto``); the
rest is the file's bytes.  The records read before an error are compared too."""

import io
import itertools

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    from tensorwire import DecodeError
    from tensorwire._native import tfrecord as native
    from tensorwire.codecs import tfrecord as reference

from _contract import agree, fuzz, pick

FILES = {"BytesIO": io.BytesIO, "BufferedReader": lambda b: io.BufferedReader(io.BytesIO(b))}
OPTIONS = [
    ({"compression": c, "verify": v, "max_record_bytes": m}, f)
    for c, v, m, f in itertools.product(("auto", None, "gzip", "zlib"), (True, False),
                                        (reference.DEFAULT_MAX_RECORD_BYTES, 64), FILES)
]


def read_all(codec, payload, options, file_kind):
    """``(records, None)``, or ``(records read before the error, message)``."""
    records = []
    try:
        for record in codec.read_tfrecord(FILES[file_kind](payload), **options):
            records.append(record)
    except DecodeError as exc:
        if type(exc) is not DecodeError:
            raise
        return records, str(exc)
    return records, None


def check(data):
    (options, file_kind), payload = pick(data, OPTIONS)
    agree(lambda: read_all(reference, payload, options, file_kind), lambda: read_all(native, payload, options, file_kind))


if __name__ == "__main__":
    fuzz(check)
