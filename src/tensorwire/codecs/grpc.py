"""TF Serving gRPC Predict payloads, pure-Python reference (docs/grpc-payloads.md).

The bytes of ``tensorflow.serving.PredictRequest`` and ``PredictResponse``
(``tensorflow_serving/apis/predict.proto``, ``model.proto``), the messages the gRPC payload
formats of Earth Engine travel in::

    PredictRequest  { ModelSpec model_spec = 1; map<string, TensorProto> inputs = 2;
                      repeated string output_filter = 3; }
    PredictResponse { map<string, TensorProto> outputs = 1; ModelSpec model_spec = 2; }
    ModelSpec       { string name = 1; google.protobuf.Int64Value version = 2 (value = 1);
                      string signature_name = 3; string version_label = 4; }

A map is written as repeated entries ``{key = 1, value = 2}``.  This module frames messages;
every TensorProto is the ``tensor`` codec's, every tf.Example the ``example`` codec's and every
base64 text the ``base64`` codec's (the Cython twin calls their twins).  The argument checks
and the glue between the envelope and the payloads are ``tensorwire.codecs.rules.grpc``, which
both twins apply with their own payload codecs.

Layouts (``layout``)
--------------------
``columns`` is a list of ``(name, array)`` pairs (a mapping is taken as its items).  A request's
arrays share their first (instance) axis N; so do a ``"serialized_tensors"`` response's.  The
layout is how the columns are laid out in the message.  A request takes the three layouts
(``LAYOUTS``), a response the first two (``RESPONSE_LAYOUTS``, default ``"tensors"``); any other
``layout`` is a ``ValueError`` naming the allowed ones.

``"tensors"`` (GRPC_TF_TENSORS)
    ``inputs[name]`` is ``encode_tensor(array)``: the whole batch-first array as one TensorProto
    in ``tensor_content`` form.  ``outputs[name]`` is ``encode_tensor(array, form=form)``, the
    array as it is (no batch axis required; TF Serving itself writes ``form="proto"``).
``"serialized_tensors"`` (GRPC_SERIALIZED_TF_TENSORS)
    ``inputs[name]`` is a DT_STRING tensor of shape ``[N]`` whose element ``i`` is the URL-safe,
    padded base64 text of ``encode_tensor(array[i])``: the text SERIALIZED_TF_TENSORS puts in
    JSON.  ``outputs[name]`` is the same DT_STRING ``[N]`` tensor: what TF Serving returns for an
    Earth-Engine-wrapped model, whose every output is ``tf.io.encode_base64(
    tf.io.serialize_tensor(output[i]))`` (TensorFlow writes that base64 unpadded; we pad, and
    read either).
``"examples"`` (GRPC_SERIALIZED_TF_EXAMPLES, alias GRPC_TF_EXAMPLES), requests only
    one input, named ``input_name`` (``"input"`` in the docs; real models often say
    ``"inputs"``), a DT_STRING tensor of shape ``[N]`` whose element ``i`` is
    ``encode_example({name: array[i], ...}, sort_keys=True)``: one ``float_list`` feature per
    column, instance ``i``'s values row-major.  Integer and bool columns are converted to
    float32 first (the format holds float32 only); other dtypes raise ``TypeError``.

Writing
-------
Fields in field-number order.  Map entries are written in the order of ``columns`` (protobuf
leaves map order unspecified; its deterministic mode sorts keys, so columns given in sorted
order give the bytes of ``SerializeToString(deterministic=True)``); each entry holds its key
(even an empty one) and its value, as protobuf writes them.  Proto3: ``model_spec`` is written
only when one of its fields is set, ``name`` and ``signature_name`` only when non-empty, and
``version`` only when not ``None`` (``version=0`` is an empty ``Int64Value``, ``12 00``).
Argument errors: ``TypeError`` for a name that is not ``str``, a column that is not a pair, a
``version`` that is not an int, an ``output_filter`` that is a ``str`` or holds a non-``str``;
``ValueError`` for an unknown ``layout`` or ``form``, no columns, a repeated name, a name holding a
lone surrogate, a 0-d array or one whose first axis differs from the first column's (requests
only, and ``"serialized_tensors"`` responses), a version outside int64.

``form`` (responses) is checked in both layouts.  It picks the TensorProto form of a
``"tensors"`` output.  A ``"serialized_tensors"`` output is a DT_STRING tensor, written by
``encode_tensor(strings, form=form)`` like the request's (``encode_tensor(strings)``); strings
have no ``tensor_content`` form (both forms write ``string_val``, as ``tf.io.serialize_tensor``
and ``tf.make_tensor_proto`` do), so its bytes do not depend on ``form``; the per-instance
TensorProtos inside the base64 are always content form (``tf.io.serialize_tensor``'s bytes),
exactly what the request layout writes.

Reading
-------
``decode_predict_request`` returns ``(spec, {name: array})``.  ``spec`` holds the request's
other fields: ``name``, ``version`` (an int, or ``None`` when absent), ``version_label`` (a
str, or ``None``), ``signature_name`` and ``output_filter`` (a list of str).  Arrays by layout:

* ``"tensors"``: each input's TensorProto decoded as it is (any form ``decode_tensor`` reads,
  any rank: no batch axis is enforced, so a request decodes to exactly what it carries).
* ``"serialized_tensors"``: each input must be a DT_STRING tensor of rank 1; its elements are
  base64 (either alphabet, padding optional) of TensorProtos that must share dtype and shape;
  the result is their stack, shape ``(N, *shape)``.  With N = 0 the instances' shape is
  unknown: the result is an empty array of shape ``(0,)`` and ``dtype`` (float32 if None).
* ``"examples"``: the request must carry exactly one input, named ``input_name``, a DT_STRING
  tensor of rank 1; each element is a tf.Example whose features must all be ``float_list``,
  with the same names and value counts as element 0.  The result maps each feature name (in
  element 0's order: sorted, as we write them) to a float32 array of shape ``(N, values)``:
  the Example does not hold the instance's H x W shape, so the caller reshapes.  N = 0 gives
  ``{}``.

``decode_predict_response`` returns ``{name: array}``; its ``model_spec`` is parsed and
checked, then dropped.  Arrays by layout:

* ``"tensors"``: every output decoded as it is.
* ``"serialized_tensors"``: each output's TensorProto is decoded first, as it is.  One that is
  DT_STRING of rank 1 is then read exactly as a ``"serialized_tensors"`` request input (base64
  of TensorProtos sharing dtype and shape, stacked to ``(N, *shape)``; N = 0 gives shape
  ``(0,)``; the same errors and messages, labelled ``PredictResponse.outputs['name']``).  Any
  other output, of another dtype or of another rank (a DT_STRING scalar or ``[N, k]`` tensor
  included), is returned as it is: a model may mix such outputs with serialized ones.  So every
  DT_STRING ``[N]`` output must hold serialized tensors (decode raw string outputs with layout
  ``"tensors"``).

``dtype`` is None (take the encoded dtype), one dtype for every name, or ``{name: dtype}``.
The encoded dtype must equal it (``decode_tensor``'s rule: a mismatch is a DecodeError): for
``"tensors"`` the tensor's; for ``"serialized_tensors"`` the instances', and in a response the
dtype of an output returned as it is (checked once that output is decoded, so another error of
it, such as ``max_bytes``, comes first).  For ``"examples"`` it may only be None or float32
(else ``ValueError``).  ``max_bytes`` bounds the total size of all arrays the call decodes
(``ndarray.nbytes``, 8 bytes an element for string tensors, the DT_STRING ``[N]`` tensors of
the serialized layouts included): each TensorProto is decoded with what remains of it as its own
``max_bytes``, so nothing is allocated past the bound.

Envelope rules, as protobuf parses: fields in any order, unknown fields of every wire type
skipped at every level (a known field number with another wire type is unknown), repeated
occurrences of a message merged (``model_spec`` occurrences merge field by field; a map entry's
value occurring twice is one TensorProto, the concatenation of the occurrences), the last of a
repeated scalar wins; ``version`` and ``version_label`` are a oneof (the later clears the
other).  A map entry without a key has the empty name; without a value, an empty TensorProto
(which ``decode_tensor`` refuses: no dtype).  Unknown fields inside a map entry are skipped, as
TensorFlow Serving's C++ parser does (protobuf's Python runtime would drop such an entry).  A
name that appears twice: the later entry wins (protobuf's map semantics) and keeps the dict
position of the first; every entry is decoded and must be valid, the shadowed ones included.

Errors: :class:`tensorwire.DecodeError` for every invalid input, the first met in this order:
the whole envelope is checked first, left to right (wire errors named by message and absolute
byte offset, e.g. ``PredictRequest.model_spec: truncated varint at offset 7``; strings that are
not valid UTF-8: proto3 requires it), then the payloads in entry order.  A payload's error is
the payload codec's, prefixed by the input or output it is in, with one position, an offset
in the message: ``PredictRequest.inputs['b1']: TensorProto: truncated varint at offset 40``
(the failing byte, when the TensorProto codec names one; else the TensorProto's own offset);
``PredictRequest.inputs['b1'] element 3: base64: invalid character 0x2e at offset 95`` for an
element of a DT_STRING input or output (the failing byte of a base64 text or an Example; for
a TensorProto inside base64, and for an element that differs from element 0, the element's
first byte; the TensorProto codec's own offset into the decoded bytes is left out).  Input is
``bytes``, ``bytearray``, ``memoryview`` or any C-contiguous buffer (``str`` raises
``TypeError``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

from ..errors import DecodeError
from .base64 import b64decode, b64encode
from .example import decode_example, encode_example
from .rules.grpc import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from .rules.grpc import FORMS as FORMS
from .rules.grpc import LAYOUTS as LAYOUTS
from .rules.grpc import REQUEST as REQUEST
from .rules.grpc import RESPONSE as RESPONSE
from .rules.grpc import RESPONSE_LAYOUTS as RESPONSE_LAYOUTS
from .rules.grpc import Columns as Columns
from .rules.grpc import DTypeSpec as DTypeSpec
from .rules.grpc import Layout as Layout
from .rules.grpc import PredictSpec as PredictSpec
from .rules.grpc import ResponseLayout as ResponseLayout
from .rules.grpc import TensorForm as TensorForm
from .rules.grpc import (
    DecodeCodecs,
    EncodeCodecs,
    Entry,
    KeyedPayloads,
    check_decode_options,
    decode_entries,
    new_spec,
    request_fields,
    response_fields,
)
from .rules.wire import (
    WT_LEN,
    WT_VARINT,
    encode_len_field,
    encode_tag,
    encode_varint,
    message_view,
    read_length,
    read_tag,
    read_varint,
    skip_field,
)
from .tensor import decode_tensor, encode_tensor

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMS",
    "LAYOUTS",
    "REQUEST",
    "RESPONSE",
    "RESPONSE_LAYOUTS",
    "decode_predict_request",
    "decode_predict_response",
    "encode_predict_request",
    "encode_predict_response",
]

# --------------------------------------------------------------------------------------------
# writing


def _model_spec(name: bytes, version: int | None, signature_name: bytes) -> bytes:
    """The ModelSpec message (``b""`` when no field is set)."""
    parts: list[bytes] = []
    if name:
        parts.append(encode_len_field(1, name))
    if version is not None:
        parts.append(encode_len_field(2, encode_tag(1, WT_VARINT) + encode_varint(version) if version else b""))
    if signature_name:
        parts.append(encode_len_field(3, signature_name))
    return b"".join(parts)


def _map(field: int, entries: KeyedPayloads) -> bytes:
    return b"".join(encode_len_field(field, encode_len_field(1, k) + encode_len_field(2, v)) for k, v in entries)


_ENCODERS: EncodeCodecs = (encode_tensor, b64encode, encode_example)


def encode_predict_request(columns: Columns, layout: Layout, *, model_name: str = "", signature_name: str = "",
                           version: int | None = None, output_filter: Iterable[str] = (),
                           input_name: str = "input") -> bytes:
    """A serialized ``tensorflow.serving.PredictRequest`` carrying ``columns`` (``[(name,
    batch-first array)]``) as ``layout`` (``"tensors"``, ``"serialized_tensors"`` or
    ``"examples"``); see the docstring of ``tensorwire.codecs.grpc``."""
    name, checked, signature, inputs, filters = request_fields(
        columns, layout, model_name, signature_name, version, output_filter, input_name, _ENCODERS
    )
    spec = _model_spec(name, checked, signature)
    return (
        (encode_len_field(1, spec) if spec else b"")
        + _map(2, inputs)
        + b"".join(encode_len_field(3, f) for f in filters)
    )


def encode_predict_response(columns: Columns, *, layout: ResponseLayout = "tensors", model_name: str = "",
                            form: TensorForm = "content") -> bytes:
    """A serialized ``tensorflow.serving.PredictResponse`` whose outputs are ``columns``
    (``[(name, array)]``) written as ``layout`` (``"tensors"``: each by ``encode_tensor(array,
    form=form)``, TF Serving itself writes ``form="proto"``; ``"serialized_tensors"``: batch-first
    columns, as the request layout); see the docstring of ``tensorwire.codecs.grpc``."""
    name, outputs = response_fields(columns, layout, model_name, form, _ENCODERS)
    spec = _model_spec(name, None, b"")
    return _map(1, outputs) + (encode_len_field(2, spec) if spec else b"")


# --------------------------------------------------------------------------------------------
# reading: the envelope


def _text(buf: memoryview, start: int, stop: int, what: str, field: str) -> str:
    try:
        return bytes(buf[start:stop]).decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"{what}: {field}", start, " is not valid UTF-8") from None




def _parse_model_spec(buf: memoryview, pos: int, end: int, spec: PredictSpec, what: str) -> None:
    """Merge one ModelSpec occurrence into ``spec``."""
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            spec["name"] = _text(buf, a, pos, what, "name")
        elif field == 2 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            value = spec["version"] if spec["version"] is not None else 0
            inner = what + ".version"
            while a < pos:
                ifield, iwt, a = read_tag(buf, a, pos, inner)
                if ifield == 1 and iwt == WT_VARINT:
                    raw, a = read_varint(buf, a, pos, inner)
                    value = raw - (1 << 64) if raw >> 63 else raw
                else:
                    a = skip_field(buf, a, pos, ifield, iwt, inner)
            spec["version"] = value
            spec["version_label"] = None
        elif field == 3 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            spec["signature_name"] = _text(buf, a, pos, what, "signature_name")
        elif field == 4 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            spec["version_label"] = _text(buf, a, pos, what, "version_label")
            spec["version"] = None
        else:
            pos = skip_field(buf, pos, end, field, wt, what)


def _parse_entry(buf: memoryview, start: int, end: int, what: str) -> Entry:
    """One map entry: ``(name, [value ranges], entry start)``."""
    key = ""
    values: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            key = _text(buf, a, pos, what, "key")
        elif field == 2 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            values.append((a, pos))
        else:
            pos = skip_field(buf, pos, end, field, wt, what)
    return key, values, start


def _parse_envelope(buf: memoryview, request: bool) -> tuple[PredictSpec, list[Entry]]:
    """``(spec, [entries])``: the whole message checked, left to right; payloads not decoded."""
    top = REQUEST if request else RESPONSE
    map_field, spec_field = (2, 1) if request else (1, 2)
    spec = new_spec()
    entries: list[Entry] = []
    end = len(buf)
    pos = 0
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, top)
        if field == map_field and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, top)
            entries.append(_parse_entry(buf, a, pos, top + (".inputs" if request else ".outputs")))
        elif field == spec_field and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, top)
            _parse_model_spec(buf, a, pos, spec, top + ".model_spec")
        elif request and field == 3 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, top)
            spec["output_filter"].append(_text(buf, a, pos, top, "output_filter"))
        else:
            pos = skip_field(buf, pos, end, field, wt, top)
    return spec, entries


_CODECS: DecodeCodecs = (decode_tensor, b64decode, decode_example)


def decode_predict_request(data: Buffer, layout: Layout, *, dtype: DTypeSpec = None, max_bytes: int = DEFAULT_MAX_BYTES,
                           input_name: str = "input") -> tuple[PredictSpec, dict[str, NDArray[Any]]]:
    """``(spec, {name: array})`` from a serialized ``PredictRequest`` sent as ``layout``; see the
    docstring of ``tensorwire.codecs.grpc``.  Every invalid input raises :class:`tensorwire.DecodeError`."""
    check_decode_options(layout, dtype, max_bytes, input_name)
    buf = message_view(data, "decode_predict_request")
    spec, entries = _parse_envelope(buf, True)
    return spec, decode_entries(buf, entries, layout, dtype, max_bytes, input_name, True, _CODECS)


def decode_predict_response(data: Buffer, *, layout: ResponseLayout = "tensors", dtype: DTypeSpec = None,
                            max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, NDArray[Any]]:
    """``{name: array}`` from a serialized ``PredictResponse`` sent as ``layout`` (``"tensors"`` or
    ``"serialized_tensors"``); see the docstring of ``tensorwire.codecs.grpc``.  Every invalid input raises
    :class:`tensorwire.DecodeError`."""
    check_decode_options(layout, dtype, max_bytes, layouts=RESPONSE_LAYOUTS)
    buf = message_view(data, "decode_predict_response")
    _, entries = _parse_envelope(buf, False)
    return decode_entries(buf, entries, layout, dtype, max_bytes, "", False, _CODECS)
