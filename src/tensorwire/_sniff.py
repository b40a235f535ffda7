"""Which payload format a body is in, from a look at its first value: part of the payload layer
(``tensorwire.payload``), the one set of rules that the server (``tensorwire._model``) and
``python -m tensorwire inspect`` both detect formats with.

* HTTP JSON (:func:`sniff_json_format`): the first 64 KiB of the body are looked at, without
  parsing the rest.  A columnar body (an ``"inputs"`` member, ``"outputs"`` for a response,
  and no ``"instances"`` list) is JSON.  Otherwise the first instance's first leaf decides
  (lists are entered; of a named instance, its first value's):

  - a string holding number text (``numtext``: ``1.5``, ``-2``, ``NaN``, ``Infinity``) or
    ``true``/``false`` is RAW_JSON's (RAW_JSON writes booleans as strings);
  - a string that is base64 of a TensorProto (its first four characters decode to a dtype tag:
    bytes 0x08, a TensorFlow DataType, 0x12; and, when the whole string lies in the 64 KiB,
    it decodes to a TensorProto) is SERIALIZED_TF_TENSORS'; so is a ``{"b64": ...}`` object
    holding one;
  - any other string, a ``{"b64": ...}`` object holding anything else, and ``true``/``false``
    are JSON (the general body);
  - a number (or only empty lists): named, RAW_JSON; bare, ND_ARRAYS.  A body of numbers in the JSON format is named
    so too: the two read numbers alike but for their default dtype (float32 in the Earth Engine
    formats, int64 for integers in JSON); a server that should read it as JSON takes JSON alone
    or without those formats (``tensorwire._model`` then reads it as JSON).

  When no first leaf is found there, the rules name no format (the server then reads the body
  in its first configured format, inspect as ND_ARRAYS).  The pattern is searched in those
  64 KiB, so an ``"instances"`` key nested in an earlier member (``parameters``) can mislead
  it; the decoder then reports the mismatch.  A response's first prediction is looked at by the
  same rules.  Text that happens to start like a TensorProto's base64 (``"CAES..."``) and is
  longer than the window is named SERIALIZED_TF_TENSORS (and refused when read so).
* gRPC (:func:`sniff_grpc_format`): the request is read as GRPC_TF_TENSORS first (without
  ``dtype``, so string inputs come through).  The first element of the first DT_STRING ``[N]``
  input decides: a serialized ``tf.Example`` starts with byte 0x0A (field 1,
  length-delimited), base64 of a TensorProto with ``C``; with neither (or no such input) it is
  GRPC_TF_TENSORS, and DT_STRING inputs are the bytes they are.  Plain strings that happen to
  start with ``C`` or 0x0A are named serialized (and refused when read so, if they are not).
  A GRPC_SERIALIZED_TF_EXAMPLES request carries one input, whose name is the one the request
  gives it (:func:`examples_input_name`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from numpy.typing import NDArray

from .b64 import b64decode
from .codecs.numtext import NONFINITE, NUMBER_RE
from .codecs.rules.dtypes import DT_NAMES
from .errors import DecodeError
from .payload import PayloadFormat as F
from .tensor import decode_tensor

_SNIFF_BYTES = 1 << 16
_WS = rb"[ \t\n\r]*"
# The values member ("instances": [ or "predictions": [), and the columnar one.
_ROW = {key: re.compile(rb'"' + key + rb'"' + _WS + rb":" + _WS + rb"\[") for key in (b"instances", b"predictions")}
_COLUMNAR = {b"instances": re.compile(rb'"inputs"' + _WS + rb":"), b"predictions": re.compile(rb'"outputs"' + _WS + rb":")}
_SPACE = re.compile(_WS)
_SPACE_AND_LISTS = re.compile(_WS + rb"(?:\[" + _WS + rb")*")
_MEMBER = re.compile(rb'\{' + _WS + rb'"((?:[^"\\]|\\.)*)"' + _WS + rb":" + _WS)  # { "name" :
_STRING = re.compile(rb'"((?:[^"\\]|\\.)*)("?)')  # a string's text, and its closing quote if in the window
_RAW_JSON_TEXT = re.compile(NUMBER_RE.pattern + rb"|true|false|" + rb"|".join(re.escape(t) for t in NONFINITE))


def _tensor_text(text: bytes, whole: bool) -> bool:
    """Whether a string's text is base64 of a TensorProto (``whole``: the text is complete)."""
    try:
        head = b64decode(text[:4])
    except DecodeError:
        return False
    if len(head) < 3 or head[0] != 0x08 or head[1] not in DT_NAMES or head[2] != 0x12:
        return False
    if not whole:
        return True
    try:
        decode_tensor(b64decode(text), max_bytes=_SNIFF_BYTES)
    except (DecodeError, ValueError):
        return False
    return True


def _string_text(window: bytes, pos: int) -> tuple[bytes, bool]:
    """(raw text, whether its closing quote is in the window) of the string at ``pos``.  A string
    without a backslash (base64 and number text never have one) is cut at the next quote with
    ``find``; one with escapes goes through the pattern, which costs a step per character."""
    quote = window.find(b'"', pos + 1)
    text = window[pos + 1 : quote] if quote >= 0 else window[pos + 1 :]
    if b"\\" not in text:
        return text, quote >= 0
    m = _STRING.match(window, pos)
    assert m is not None  # the pattern matches any text after a quote
    return m.group(1), m.group(2) == b'"'


def _leaf_format(window: bytes, pos: int, named: bool) -> F | None:
    """The format the leaf at ``pos`` names (see the module docstring), None at the window's end."""
    c = window[pos : pos + 1]
    if c == b'"':
        text, whole = _string_text(window, pos)
        if whole and _RAW_JSON_TEXT.fullmatch(text):
            return F.RAW_JSON
        return F.SERIALIZED_TF_TENSORS if _tensor_text(text, whole) else F.JSON
    if c == b"{":  # a binary value {"b64": ...}
        m = _MEMBER.match(window, pos)
        if m is None or m.group(1) != b"b64" or window[m.end() : m.end() + 1] != b'"':
            return None
        return F.SERIALIZED_TF_TENSORS if _tensor_text(*_string_text(window, m.end())) else F.JSON
    if c in (b"t", b"f"):
        return F.JSON
    if c == b"" or c == b"]":
        return None
    return F.RAW_JSON if named else F.ND_ARRAYS


def sniff_json_format(body: bytes | bytearray | memoryview,
                      key: Literal["instances", "predictions"] = "instances") -> F | None:
    """The JSON payload format of a body's first instance (``key="predictions"``: of a
    response's first prediction), or None if not found; the rules are the module docstring's."""
    window = bytes(body[:_SNIFF_BYTES])
    m = _ROW[key.encode()].search(window)
    if m is None:
        return F.JSON if _COLUMNAR[key.encode()].search(window) else None
    pos = _ws_end(window, m.end())
    if window[pos : pos + 1] == b"]":
        return None  # no instances
    named = False
    member = _MEMBER.match(window, pos)
    if member is not None and member.group(1) != b"b64":
        named = True
        pos = member.end()
    leaf = _ws_end(window, pos, lists=True)
    if window[leaf : leaf + 1] == b"]" and window[pos : pos + 1] == b"[":  # empty lists, no leaf: as numbers
        return F.RAW_JSON if named else F.ND_ARRAYS
    return _leaf_format(window, leaf, named)


def _ws_end(window: bytes, pos: int, lists: bool = False) -> int:
    """After the whitespace (``lists``: and list openings) at ``pos``."""
    m = (_SPACE_AND_LISTS if lists else _SPACE).match(window, pos)
    assert m is not None  # both match the empty string
    return m.end()


def sniff_grpc_format(inputs: Mapping[str, NDArray[Any]]) -> F:
    """The gRPC format of a request read as GRPC_TF_TENSORS (``inputs``: the ``{name: array}``
    :func:`tensorwire.payload.decode_grpc_request` gave), by the module docstring's rules."""
    for a in inputs.values():
        if a.dtype == object and a.ndim == 1 and len(a):
            head = bytes(a[0][:1])
            if head == b"\n":
                return F.GRPC_SERIALIZED_TF_EXAMPLES
            return F.GRPC_SERIALIZED_TF_TENSORS if head == b"C" else F.GRPC_TF_TENSORS
    return F.GRPC_TF_TENSORS


def examples_input_name(inputs: Mapping[str, NDArray[Any]]) -> str:
    """The name of a GRPC_SERIALIZED_TF_EXAMPLES request's one input (``inputs`` as for
    :func:`sniff_grpc_format`); ValueError if it has another number of inputs."""
    if len(inputs) != 1:
        raise ValueError(f"{F.GRPC_SERIALIZED_TF_EXAMPLES.value} carries one input, "
                         f"not {len(inputs)} ({list(inputs)})")
    return next(iter(inputs))
