"""HTTP JSON bodies (docs/json-payloads.md; numbers: docs/number-text.md), pure-Python reference.

One body shape serves requests and responses: ``{"<key>": [instance, ...]}`` with key
``instances`` (request) or ``predictions`` (response).  An instance is either *named*, an object
``{"<name>": value, ...}``, or *bare*, the value itself.  A value is, by ``value_form``:

``"tensor"`` (SERIALIZED_TF_TENSORS)
    a JSON string holding base64 of the serialized TensorProto of the instance's slice (URL-safe
    and padded by default).  Decoding takes either alphabet, padded or not, and ``{"b64": ...}``
    objects (an object whose only key is ``b64`` is always a binary value, never a named
    instance).  Every instance's tensor of one name must have the same dtype and shape.
``"string"`` (RAW_JSON, writing)
    nested lists whose leaves are number text (``numtext``) inside JSON strings.
``"number"`` (ND_ARRAYS, writing; RAW_JSON and ND_ARRAYS, reading)
    nested lists of bare JSON numbers, like ``json.dumps(a.tolist())``.  When reading, a leaf may
    be a number, a string holding a number, ``NaN``/``Infinity``/``-Infinity`` (bare or quoted),
    ``true``/``false`` (bool dtype), or ``null`` (NaN, with ``nonfinite="null"`` only).

Writing: compact JSON (no whitespace), names in the order given, non-finite floats by policy:
``"token"`` (default: ``NaN``, ``Infinity``, ``-Infinity``, quoted in RAW_JSON), ``"null"``
(``null``) or ``"error"`` (ValueError naming the input and index).

Reading is one pass in text order; the first problem in the text is the one reported, as a
:class:`DecodeError` naming it and its byte offset:

* The body must be UTF-8 (checked first, whole) holding one JSON object and nothing after it but
  whitespace.  Strings must be valid JSON strings; ``\\u`` escapes of a lone surrogate are
  refused.  Containers nested deeper than ``max_depth`` (the envelope object is depth 1; at most
  512) are refused.  Members other than the key (``deployedModelId``, ``parameters``, ...) are
  checked for syntax and ignored; the key and ``error`` may appear once.  Duplicate names in one
  instance are refused.
* A TensorProto value that is not valid base64 is refused at the body offset of the failing
  character (escapes in the string counted as the bytes they take); one whose bytes are not a
  valid TensorProto, at the offset of its string (the TensorProto codec's message, without its
  own offset into the decoded bytes): one position per message.
* Every instance has the form of the first (named or bare) and, if named, the same names.
* Per name, the first instance fixes the value's shape: every list at one depth has the same
  length, and leaves sit at one depth (ragged lists and wrong depths are refused).  With the
  instance axis, an array has at most 64 dimensions (numpy's limit).
* A response with an ``error`` member raises :class:`tensorwire.PredictionError` (its message is
  the member's string, or its ``message`` field) once the whole body has been checked.
* ``[]`` (no instances) decodes to ``{}``: with no instance there is neither a name nor a shape.

Allocation is bounded by the body: every value takes at least one byte of text, and a
TensorProto value is decoded with ``max_bytes``.

The rules both twins apply (the option checks and constants, the reader that words every
refusal: :class:`~tensorwire.codecs.rules.jsonbody.Reader`) are in
``tensorwire.codecs.rules.jsonbody``; this module writes bodies and reads them with that reader.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import numtext
from .base64 import b64decode, b64encode
from .rules.jsonbody import (
    DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, KEYS, MAX_DEPTH_LIMIT, NONFINITE_POLICIES, VALUE_FORMS, WHAT, WRITE_KEYS,
    Body, DTypeOption, Envelope, FloatFormat, Key, Nonfinite, ReadValueForm, Reader, ValueForm, WriteKey, body_bytes,
    check_decode_options, check_encode_options, check_key, check_numbers, name_text, parameters_text, string_text,
    text_kind,
)
from .tensor import decode_tensor, encode_tensor

__all__ = [
    "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "KEYS", "MAX_DEPTH_LIMIT", "NONFINITE_POLICIES", "VALUE_FORMS",
    "WHAT", "WRITE_KEYS", "decode_body", "encode_body",
]

_NONFINITE_TEXT = {"NaN", "Infinity", "-Infinity"}

Writer = Callable[[NDArray[Any], int], bytes]  # (a column's array, instance) -> the value's JSON text

# ------------------------------------------------------------------------------------- writing


def _leaf_writer(dt: np.dtype[Any], quote: bool, nonfinite: Nonfinite, float_format: FloatFormat
                 ) -> Callable[[Any], bytes]:
    def write(x: Any) -> bytes:
        text = numtext.format_number(x, dt, float_format=float_format)
        if text in _NONFINITE_TEXT and nonfinite == "null":
            return b"null"
        return (f'"{text}"' if quote else text).encode("ascii")

    return write


def _nested(a: NDArray[Any], leaf: Callable[[Any], bytes]) -> bytes:
    if a.ndim == 0:
        return leaf(a[()])
    return b"[" + b",".join(_nested(a[k, ...], leaf) for k in range(len(a))) + b"]"


def _tensor_writer(urlsafe: bool, pad: bool) -> Writer:
    def write(a: NDArray[Any], i: int) -> bytes:
        return b'"' + b64encode(encode_tensor(a[i, ...]), urlsafe=urlsafe, pad=pad) + b'"'

    return write


def _string_leaf(name: str | None) -> Callable[[Any], bytes]:
    def write(x: Any) -> bytes:
        return string_text(name, str(x))

    return write


def _bytes_leaf(x: Any) -> bytes:
    return b'{"b64":"' + b64encode(bytes(x), urlsafe=False, pad=True) + b'"}'


def _json_writer(name: str | None, array: NDArray[Any], nonfinite: Nonfinite, float_format: FloatFormat) -> Writer:
    """The general body's writer for one column: numbers as ND_ARRAYS writes them, str as JSON
    strings, bytes as ``{"b64": ...}`` (standard alphabet, padded)."""
    kind = text_kind(name, array)
    if kind == "str":
        return _number_writer(_string_leaf(name))
    if kind == "bytes":
        return _number_writer(_bytes_leaf)
    dt = check_numbers(name, array, nonfinite)
    return _number_writer(_leaf_writer(dt, False, nonfinite, float_format))


def _number_writer(leaf: Callable[[Any], bytes]) -> Writer:
    def write(a: NDArray[Any], i: int) -> bytes:
        return _nested(a[i, ...], leaf)

    return write


def encode_body(key: WriteKey, columns: Sequence[tuple[str | None, NDArray[Any]]], *, bare: bool,
                value_form: ValueForm, nonfinite: Nonfinite = "token", urlsafe: bool = True, pad: bool = True,
                float_format: FloatFormat = "shortest", parameters: object = None) -> bytes:
    """The body ``{"<key>": [...]}`` for ``columns``, a list of ``(name, array)`` whose arrays share
    their first (instance) axis; ``bare`` writes each instance as the value of the one column.
    The columnar keys ``"inputs"``/``"outputs"`` take one instance and write it without the list:
    ``{"inputs": <instance>}``.  ``parameters`` (not None) is written after the values."""
    check_encode_options(value_form, nonfinite, float_format)
    columnar = check_key(key, columns)
    names = [] if bare else [name_text(name) for name, _ in columns]
    writers: list[Writer] = []
    for name, array in columns:
        if value_form == "tensor":
            writers.append(_tensor_writer(urlsafe, pad))
        elif value_form == "json":
            writers.append(_json_writer(name, array, nonfinite, float_format))
        else:
            dt = check_numbers(name, array, nonfinite)
            writers.append(_number_writer(_leaf_writer(dt, value_form == "string", nonfinite, float_format)))
    count = len(columns[0][1])
    instances = []
    for i in range(count):
        values = [write(array, i) for write, (_, array) in zip(writers, columns)]
        if bare:
            instances.append(values[0])
        else:
            instances.append(b"{" + b",".join(n + b":" + v for n, v in zip(names, values)) + b"}")
    members = b"" if parameters is None else parameters_text(parameters)
    if columnar:
        return b'{"' + key.encode("ascii") + b'":' + instances[0] + members + b"}"
    return b'{"' + key.encode("ascii") + b'":[' + b",".join(instances) + b"]" + members + b"}"


# ------------------------------------------------------------------------------------- reading


def decode_body(body: Body, key: Key, *, value_form: ReadValueForm, dtype: DTypeOption = None,
                nonfinite: Nonfinite = "token", max_depth: int = DEFAULT_MAX_DEPTH, max_bytes: int = DEFAULT_MAX_BYTES,
                bare_name: str = "output", envelope: Envelope | None = None) -> dict[str, NDArray[Any]]:
    """``{name: batch-first array}`` from a body (see the module docstring).

    ``value_form`` is ``"tensor"`` (strings are base64 TensorProtos), ``"number"`` (strings are
    numbers) or ``"json"`` (the general body: each name's kind from its leaves; the columnar
    form too, whose arrays have no instance axis).  ``dtype``: None (float32 for numbers, the
    encoded dtype for tensors, the kind's for ``"json"``), one dtype for every name, or a dict
    ``{name: dtype}``.  A bare instance's values go under ``bare_name`` (a bare columnar request
    value under ``"inputs"``).  ``envelope``, a ``rules.jsonbody.Envelope``, is filled in with
    the key met and a request's ``parameters`` and ``signature_name``.
    """
    check_decode_options(key, value_form, nonfinite, max_depth)
    buf = body_bytes(body)
    reader = Reader(buf, key, value_form, dtype, nonfinite, max_depth, max_bytes, bare_name,
                    codecs=(b64decode, decode_tensor), envelope=envelope)
    columns = reader.body()
    return {(bare_name if name is None else name): array for name, array in columns.items()}
