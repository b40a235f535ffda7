#!/usr/bin/env python3
"""Fuzz ``b64decode``.  The first byte picks ``alphabet`` ("any", "standard", "urlsafe") and the
argument's type (bytes, bytearray, or a str: the payload read as Latin-1, so bytes >= 0x80 become
non-ASCII characters); the rest is the base64 text."""

import itertools

import atheris

with atheris.instrument_imports(include=["tensorwire"]):
    from tensorwire._native import base64 as native
    from tensorwire.codecs import base64 as reference

from _contract import agree, fuzz, pick

AS = {"bytes": bytes, "bytearray": bytearray, "str": lambda b: b.decode("latin-1")}
OPTIONS = list(itertools.product(("any", "standard", "urlsafe"), AS))


def check(data):
    (alphabet, kind), payload = pick(data, OPTIONS)
    text = AS[kind](payload)
    agree(lambda: reference.b64decode(text, alphabet=alphabet), lambda: native.b64decode(text, alphabet=alphabet))


if __name__ == "__main__":
    fuzz(check)
