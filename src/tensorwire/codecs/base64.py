"""Base64 codec, pure-Python reference (RFC 4648, docs/base64.md).

Encoding: ``b64encode(data, urlsafe=False, pad=True)``.  ``tf.io.encode_base64`` is
``urlsafe=True, pad=False``; TF Serving's ``{"b64": ...}`` objects use the standard alphabet.

Decoding is strict and does not depend on the installed stdlib's lenience (which has changed
between CPython patch releases); the rules, checked in this order, are:

1. ``str`` input must be ASCII.
2. Trailing ``=`` characters are padding.  Scanning the characters before them from the left,
   the first one that is not allowed is an error: ``=`` ("padding before the end", which is also
   how data after padding, ``YQ==YQ==``, is reported), any character outside the alphabet
   (whitespace and newlines included), or, with ``alphabet="any"``, a character of the other
   alphabet than the one the text has used so far ("mixed alphabets").
3. More than two ``=``, or padding on a text whose length is not a multiple of 4, is an error.
   Padding may be omitted.
4. A final group of a single character (length % 4 == 1 once padding is removed) is an error.

Non-zero trailing bits in the last character are accepted, as stdlib, pybase64 and TensorFlow
accept them.
"""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING, cast

from ..errors import DecodeError

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from .._types import Alphabet, BytesLike

_STANDARD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_URLSAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
ALPHABETS: tuple[Alphabet, ...] = ("standard", "urlsafe", "any")
WHAT = "base64"

__all__ = ["b64encode", "b64decode"]  # the API both twins have


def b64encode(data: BytesLike, *, urlsafe: bool = False, pad: bool = True) -> bytes:
    """Base64 of ``data`` (any bytes-like object) as ASCII bytes."""
    if isinstance(data, str):
        raise TypeError("b64encode takes bytes or a buffer, not str")
    if not isinstance(data, bytes):
        view = memoryview(cast("Buffer", data))  # an ndarray too (numpy annotates __buffer__ from 3.12)
        # cast() flattens any C-contiguous view (TypeError for others) but refuses one with a
        # zero in its shape, e.g. an empty 2-D array: that holds no bytes.
        data = view.cast("B") if view.nbytes else b""
    out = binascii.b2a_base64(data, newline=False)
    if urlsafe:
        out = out.translate(_TO_URLSAFE)
    if not pad:
        out = out.rstrip(b"=")
    return out


def _as_bytes(text: BytesLike | str) -> bytes:
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise DecodeError(f"{WHAT}: non-ASCII character", exc.start) from None
    mv = memoryview(cast("Buffer", text))  # (as in b64encode)
    if not mv.c_contiguous:
        raise TypeError("b64decode needs a C-contiguous buffer")
    return mv.tobytes() if not isinstance(text, bytes) else text


def _check_characters(raw: bytes, stop: int, alphabet: str) -> bool:
    """Return whether the text uses the URL-safe alphabet; raise at the first bad character."""
    urlsafe = None if alphabet == "any" else alphabet == "urlsafe"
    for i in range(stop):
        c = raw[i]
        in_std = c in _STANDARD
        in_url = c in _URLSAFE
        if in_std and in_url:
            continue
        if c == 0x3D:  # '='
            raise DecodeError(f"{WHAT}: padding '='", i, " before the end of the text")
        if not in_std and not in_url:
            raise DecodeError(f"{WHAT}: invalid character 0x{c:02x}", i)
        if urlsafe is None:
            urlsafe = in_url
        elif urlsafe != in_url:
            if alphabet == "any":
                raise DecodeError(f"{WHAT}: mixed alphabets: {chr(c)!r}", i)
            raise DecodeError(f"{WHAT}: invalid character 0x{c:02x}", i)
    return bool(urlsafe)


def b64decode(text: BytesLike | str, *, alphabet: Alphabet = "any") -> bytes:
    """Decode base64 ``text`` (bytes-like or ASCII ``str``) strictly; see ``tensorwire.codecs.base64``.

    ``alphabet`` is ``"standard"``, ``"urlsafe"`` or ``"any"`` (either, not mixed in one text).
    """
    if alphabet not in ALPHABETS:
        raise ValueError(f"alphabet must be one of {ALPHABETS}, not {alphabet!r}")
    raw = _as_bytes(text)
    length = len(raw)
    stop = length
    while stop and raw[stop - 1] == 0x3D:
        stop -= 1
    urlsafe = _check_characters(raw, stop, alphabet)
    npad = length - stop
    if npad > 2:
        raise DecodeError(f"{WHAT}: {npad} padding characters", stop)
    if npad and length % 4:
        raise DecodeError(f"{WHAT}: incorrect padding: text of length {length} is not a multiple of 4")
    if stop % 4 == 1:
        raise DecodeError(f"{WHAT}: truncated: a single character in the last group", stop - 1)
    body = raw[:stop]
    if urlsafe:
        body = body.translate(_TO_STANDARD)
    return binascii.a2b_base64(body + b"=" * (-stop % 4))
