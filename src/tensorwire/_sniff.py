"""Which payload format a body is in, from a look at its first value: part of the payload layer
(``tensorwire.payload``), the one set of rules that the server (``tensorwire._model``) and
``python -m tensorwire inspect`` both detect formats with.

* HTTP JSON (:func:`sniff_json_format`): the first instance is looked at in the first 64 KiB
  of the body, without parsing the rest.  A string that starts like a number (a digit, ``+``,
  ``-``, ``.``, ``N``, ``I``) or a boolean (``t``, ``f``: RAW_JSON writes ``"true"``) is
  RAW_JSON's; another string, or a ``{"b64": ...}`` object, is SERIALIZED_TF_TENSORS (base64
  of a TensorProto starts with ``C``, its dtype tag); a named list or number is RAW_JSON; a
  bare list or number is ND_ARRAYS.  When no instance is found there, the rules name no
  format (the server then reads the body in its first configured format, inspect as
  ND_ARRAYS).  The pattern is searched in those 64 KiB, so an ``"instances"`` key nested in an
  earlier member (``parameters``) can mislead it; the decoder then reports the mismatch.  A
  response's first prediction is looked at by the same rules.
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

from .payload import PayloadFormat as F

_SNIFF_BYTES = 1 << 16
# "instances": [ (or "predictions": [) then either a bare value, or {"name": value; group 1 is
# the "{", group 2 the value's first character, group 3 the next one.
_FIRST_VALUE = {
    key: re.compile(rb'"' + key + rb'"\s*:\s*\[\s*(?:(\{)\s*"(?:[^"\\]|\\.)*"\s*:\s*)?(.)(.?)', re.DOTALL)
    for key in (b"instances", b"predictions")
}
_RAW_JSON_START = frozenset(b"0123456789+-.NItf")  # how RAW_JSON's number and boolean strings start


def sniff_json_format(body: bytes | bytearray | memoryview,
                      key: Literal["instances", "predictions"] = "instances") -> F | None:
    """The JSON payload format of a body's first instance (``key="predictions"``: of a
    response's first prediction), or None if not found; the rules are the module docstring's."""
    m = _FIRST_VALUE[key.encode()].search(bytes(body[:_SNIFF_BYTES]))
    if m is None or m.group(2) == b"]":
        return None
    first, second = m.group(2), m.group(3)
    if first == b'"':
        return F.RAW_JSON if second and second[0] in _RAW_JSON_START else F.SERIALIZED_TF_TENSORS
    if first == b"{":  # {"b64": ...}
        return F.SERIALIZED_TF_TENSORS
    return F.ND_ARRAYS if m.group(1) is None else F.RAW_JSON


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
