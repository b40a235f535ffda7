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
base64 text the ``base64`` codec's (the Cython twin calls their twins).

Kinds (``kind``)
----------------
``columns`` is a list of ``(name, array)`` pairs (a mapping is taken as its items).  A request's
arrays share their first (instance) axis N; so do a ``"serialized_tensors"`` response's.  A
request takes the three kinds (``KINDS``), a response the first two (``RESPONSE_KINDS``, default
``"tensors"``); any other ``kind`` is a ``ValueError`` naming the allowed ones.

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
``ValueError`` for an unknown ``kind`` or ``form``, no columns, a repeated name, a name holding a
lone surrogate, a 0-d array or one whose first axis differs from the first column's (requests
only, and ``"serialized_tensors"`` responses), a version outside int64.

``form`` (responses) is checked in both kinds.  It picks the TensorProto form of a
``"tensors"`` output.  A ``"serialized_tensors"`` output is a DT_STRING tensor, written by
``encode_tensor(strings, form=form)`` like the request's (``encode_tensor(strings)``); strings
have no ``tensor_content`` form (both forms write ``string_val``, as ``tf.io.serialize_tensor``
and ``tf.make_tensor_proto`` do), so its bytes do not depend on ``form``; the per-instance
TensorProtos inside the base64 are always content form (``tf.io.serialize_tensor``'s bytes),
exactly what the request kind writes.

Reading
-------
``decode_predict_request`` returns ``(spec, {name: array})``.  ``spec`` holds the request's
other fields: ``name``, ``version`` (an int, or ``None`` when absent), ``version_label`` (a
str, or ``None``), ``signature_name`` and ``output_filter`` (a list of str).  Arrays by kind:

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
checked, then dropped.  Arrays by kind:

* ``"tensors"``: every output decoded as it is.
* ``"serialized_tensors"``: each output's TensorProto is decoded first, as it is.  One that is
  DT_STRING of rank 1 is then read exactly as a ``"serialized_tensors"`` request input (base64
  of TensorProtos sharing dtype and shape, stacked to ``(N, *shape)``; N = 0 gives shape
  ``(0,)``; the same errors and messages, labelled ``PredictResponse.outputs['name']``).  Any
  other output, of another dtype or of another rank (a DT_STRING scalar or ``[N, k]`` tensor
  included), is returned as it is: a model may mix such outputs with serialized ones.  So every
  DT_STRING ``[N]`` output must hold serialized tensors (decode raw string outputs with kind
  ``"tensors"``).

``dtype`` is None (take the encoded dtype), one dtype for every name, or ``{name: dtype}``.
The encoded dtype must equal it (``decode_tensor``'s rule: a mismatch is a DecodeError): for
``"tensors"`` the tensor's; for ``"serialized_tensors"`` the instances', and in a response the
dtype of an output returned as it is (checked once that output is decoded, so another error of
it, such as ``max_bytes``, comes first).  For ``"examples"`` it may only be None or float32
(else ``ValueError``).  ``max_bytes`` bounds the total size of all arrays the call decodes
(``ndarray.nbytes``, 8 bytes an element for string tensors, the DT_STRING ``[N]`` tensors of
the serialized kinds included): each TensorProto is decoded with what remains of it as its own
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

from collections.abc import Mapping
from numbers import Integral

import numpy as np

from ..errors import DecodeError
from .rules import dtypes as D
from .rules.wire import WT_LEN, WT_VARINT, encode_len_field, encode_tag, encode_varint, read_length, read_tag, read_varint, skip_field
from .base64 import b64decode, b64encode
from .example import _buffer as _buffer_of  # the same argument checks and messages as decode_example
from .example import decode_example, encode_example
from .rules.tensor import stack_tensors
from .tensor import decode_tensor, encode_tensor

KINDS = ("tensors", "serialized_tensors", "examples")
RESPONSE_KINDS = ("tensors", "serialized_tensors")
FORMS = ("content", "proto")
DEFAULT_MAX_BYTES = D.DEFAULT_MAX_BYTES
REQUEST = "PredictRequest"
RESPONSE = "PredictResponse"
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


# --------------------------------------------------------------------------------------------
# arguments (shared with the Cython twin: one definition of every argument check)


def _check_kind(kind, kinds=KINDS):
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}, not {kind!r}")


def _check_form(form):
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")


def _utf8(text, what):
    """``text`` (a str) as UTF-8; TypeError for another type, ValueError for a lone surrogate."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} is not valid Unicode (lone surrogate)") from None


def _check_version(version):
    """``version`` as an int in the int64 range, or None."""
    if version is None:
        return None
    if not isinstance(version, Integral) or isinstance(version, bool):
        raise TypeError(f"version must be an int or None, not {type(version).__name__}")
    version = int(version)
    if not INT64_MIN <= version <= INT64_MAX:
        raise ValueError(f"version {version} is out of the int64 range")
    return version


def _output_filter_names(output_filter):
    """The ``output_filter`` names as UTF-8 bytes."""
    if isinstance(output_filter, (str, bytes)):
        raise TypeError("output_filter must be a sequence of str, not a single string")
    return [_utf8(name, "output_filter names") for name in output_filter]


def _columns_of(columns, what, batch):
    """``[(name, key bytes, ndarray)]`` from ``columns``; ``batch`` requires a shared first axis."""
    items = list(columns.items()) if isinstance(columns, Mapping) else list(columns)
    if not items:
        raise ValueError(f"{what}: no columns given")
    out = []
    seen = set()
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{what}: columns must be (name, array) pairs, not {type(item).__name__}")
        name, array = item
        key = _utf8(name, f"{what} names")
        if key in seen:
            raise ValueError(f"{what}: name {name!r} appears twice")
        seen.add(key)
        array = np.asarray(array)
        if batch:
            if array.ndim == 0:
                raise ValueError(f"{what}: {name!r} has no instance axis (a 0-d array)")
            if len(array) != len(out[0][2] if out else array):
                raise ValueError(f"{what}: {name!r} has {len(array)} instances, {out[0][0]!r} has {len(out[0][2])}")
        out.append((name, key, array))
    return out


def _float_column(name, array):
    """An examples column as a float array (ints and bools converted to float32)."""
    bf16 = D.bfloat16_dtype()
    if array.dtype.kind == "f" or (bf16 is not None and array.dtype == bf16):
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float32)
    raise TypeError(
        f"input {name!r}: GRPC_SERIALIZED_TF_EXAMPLES holds float_list features; cannot encode numpy dtype {array.dtype}"
    )


def _string_tensor(values, encode, form="content"):
    """A DT_STRING tensor of shape [N] holding ``values`` (bytes).  ``form`` changes nothing:
    ``encode_tensor`` writes strings as ``string_val`` in both forms."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return encode(arr, form=form)


def _serialized_tensors(cols, encode_tensor, b64encode, form="content"):
    """``[(key bytes, TensorProto bytes)]``: each batch-first column as a DT_STRING [N] tensor of
    the padded URL-safe base64 of ``encode_tensor(array[i, ...])`` (content form)."""
    # array[i, ...] is an array even for a 1-D object array, whose array[i] would be the element
    # itself: a str or bytes that numpy would turn into a U/S scalar, losing trailing NULs.
    return [
        (key, _string_tensor([b64encode(encode_tensor(array[i, ...]), urlsafe=True, pad=True)
                              for i in range(len(array))], encode_tensor, form))
        for _, key, array in cols
    ]


def _request_inputs(columns, kind, input_name, encode_tensor, b64encode, encode_example):
    """``[(key bytes, TensorProto bytes)]``: the inputs map of a request, with the given codecs."""
    cols = _columns_of(columns, "inputs", batch=True)
    if kind == "tensors":
        return [(key, encode_tensor(array)) for _, key, array in cols]
    if kind == "serialized_tensors":
        return _serialized_tensors(cols, encode_tensor, b64encode)
    key = _utf8(input_name, "input_name")
    floats = [(name, _float_column(name, array)) for name, _, array in cols]
    examples = [encode_example({name: array[i, ...] for name, array in floats}, sort_keys=True)
                for i in range(len(cols[0][2]))]
    return [(key, _string_tensor(examples, encode_tensor))]


def _response_fields(columns, kind, model_name, form, codecs):
    """``(name, outputs)``: the checked model name and ``[(key bytes, TensorProto bytes)]``, the
    payloads made with ``codecs`` = (encode_tensor, b64encode, encode_example)."""
    _check_kind(kind, RESPONSE_KINDS)
    _check_form(form)
    name = _utf8(model_name, "model_name")
    encode_tensor, b64encode, _ = codecs
    if kind == "serialized_tensors":
        return name, _serialized_tensors(_columns_of(columns, "outputs", batch=True), encode_tensor, b64encode, form)
    return name, [(key, encode_tensor(array, form=form)) for _, key, array in _columns_of(columns, "outputs", batch=False)]


# --------------------------------------------------------------------------------------------
# writing


def _model_spec(name, version, signature_name):
    """The ModelSpec message (``b""`` when no field is set)."""
    parts = []
    if name:
        parts.append(encode_len_field(1, name))
    if version is not None:
        parts.append(encode_len_field(2, encode_tag(1, WT_VARINT) + encode_varint(version) if version else b""))
    if signature_name:
        parts.append(encode_len_field(3, signature_name))
    return b"".join(parts)


def _map(field, entries):
    return b"".join(encode_len_field(field, encode_len_field(1, k) + encode_len_field(2, v)) for k, v in entries)


def _request_fields(columns, kind, model_name, signature_name, version, output_filter, input_name, codecs):
    """The checked arguments of a request, its payloads made with ``codecs`` = (encode_tensor,
    b64encode, encode_example): ``(name, version, signature_name, inputs, output_filter)``."""
    _check_kind(kind)
    name = _utf8(model_name, "model_name")
    signature = _utf8(signature_name, "signature_name")
    version = _check_version(version)
    filters = _output_filter_names(output_filter)
    return name, version, signature, _request_inputs(columns, kind, input_name, *codecs), filters


def encode_predict_request(columns, kind, *, model_name="", signature_name="", version=None, output_filter=(),
                           input_name="input"):
    """A serialized ``tensorflow.serving.PredictRequest`` carrying ``columns`` (``[(name,
    batch-first array)]``) as ``kind`` (``"tensors"``, ``"serialized_tensors"`` or
    ``"examples"``); see the module docstring."""
    name, version, signature, inputs, filters = _request_fields(
        columns, kind, model_name, signature_name, version, output_filter, input_name,
        (encode_tensor, b64encode, encode_example),
    )
    spec = _model_spec(name, version, signature)
    return (
        (encode_len_field(1, spec) if spec else b"")
        + _map(2, inputs)
        + b"".join(encode_len_field(3, f) for f in filters)
    )


def encode_predict_response(columns, *, kind="tensors", model_name="", form="content"):
    """A serialized ``tensorflow.serving.PredictResponse`` whose outputs are ``columns``
    (``[(name, array)]``) written as ``kind`` (``"tensors"``: each by ``encode_tensor(array,
    form=form)``, TF Serving itself writes ``form="proto"``; ``"serialized_tensors"``: batch-first
    columns, as the request kind); see the module docstring."""
    name, outputs = _response_fields(columns, kind, model_name, form, (encode_tensor, b64encode, encode_example))
    spec = _model_spec(name, None, b"")
    return _map(1, outputs) + (encode_len_field(2, spec) if spec else b"")


# --------------------------------------------------------------------------------------------
# reading: the envelope


def _text(buf, start, stop, what, field):
    try:
        return bytes(buf[start:stop]).decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"{what}: {field}", start, " is not valid UTF-8") from None


def _new_spec():
    return {"name": "", "version": None, "version_label": None, "signature_name": "", "output_filter": []}


def _parse_model_spec(buf, pos, end, spec, what):
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


def _parse_entry(buf, start, end, what):
    """One map entry: ``(name, [value ranges], entry start)``."""
    key = ""
    values = []
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


def _parse_envelope(buf, request):
    """``(spec, [entries])``: the whole message checked, left to right; payloads not decoded."""
    top = REQUEST if request else RESPONSE
    map_field, spec_field = (2, 1) if request else (1, 2)
    spec = _new_spec()
    entries = []
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


# --------------------------------------------------------------------------------------------
# reading: the payloads (shared with the Cython twin, which passes its own codecs)


def _check_decode_options(kind, dtype, max_bytes, input_name="input", kinds=KINDS):
    """Validate the decoders' arguments before the data is read."""
    _check_kind(kind, kinds)
    if kind == "examples":
        _utf8(input_name, "input_name")
    if not isinstance(max_bytes, Integral) or isinstance(max_bytes, bool) or max_bytes < 0:
        raise ValueError(f"max_bytes must be an int >= 0, not {max_bytes!r}")
    dtypes = dtype.values() if isinstance(dtype, Mapping) else [dtype]
    for dt in dtypes:
        if dt is None:
            continue
        if kind == "examples":
            try:
                ok = np.dtype(dt) == np.float32
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(f"kind 'examples' decodes float32 arrays; dtype must be None or float32, not {dt!r}")
        else:
            D.expected_datatype(dt)


def _dtype_for(dtype, name):
    return dtype.get(name) if isinstance(dtype, Mapping) else dtype


class _Budget:
    """What remains of ``max_bytes`` for the arrays still to decode."""

    def __init__(self, max_bytes):
        self.left = int(max_bytes)

    def take(self, arr):
        self.left -= arr.nbytes


def _entry_bytes(buf, ranges):
    if len(ranges) == 1:
        return buf[ranges[0][0]:ranges[0][1]]
    return b"".join(bytes(buf[a:b]) for a, b in ranges)


def _message_offset(ranges, inner):
    """The message's offset of byte ``inner`` of a map entry's TensorProto (its ``ranges``
    concatenated)."""
    for a, b in ranges:
        if inner < b - a:
            return a + inner
        inner -= b - a
    return ranges[-1][1] + inner  # the end of the TensorProto (a truncation)


def _tensor(buf, entry, dtype, budget, label, decode_tensor):
    """Decode one map entry's TensorProto: ``(array, where)``, ``where`` = ``(label, offset of
    the TensorProto)``.  An error is ``label: <decode_tensor's message>`` with one position: the
    failing byte's offset in the message when the TensorProto error has one, else the
    TensorProto's offset."""
    _, ranges, start = entry
    offset = ranges[0][0] if ranges else start
    try:
        arr = decode_tensor(_entry_bytes(buf, ranges), dtype=dtype, max_bytes=budget.left)
    except DecodeError as exc:
        raise exc.within(f"{label}: ", offset, (lambda i: _message_offset(ranges, i)) if ranges else None) from None
    budget.take(arr)
    return arr, (label, offset)


def _strings(buf, entry, budget, label, decode_tensor):
    """The elements of a DT_STRING [N] input."""
    arr, where = _tensor(buf, entry, "string", budget, label, decode_tensor)
    if arr.ndim != 1:
        raise DecodeError(f"{where[0]}: expected a DT_STRING tensor of shape [N], not shape {list(arr.shape)}", where[1])
    return arr, where


def _output(buf, entry, dtype, budget, label, codecs):
    """A serialized_tensors output: a DT_STRING tensor of rank 1 is instances (as for a request);
    any other tensor is returned as it is, once its dtype is checked against ``dtype``."""
    decode_tensor = codecs[0]
    arr, where = _tensor(buf, entry, None, budget, label, decode_tensor)
    if arr.dtype == object and arr.ndim == 1:
        return _instances(buf, entry, dtype, budget, label, codecs, (arr, where))
    if dtype is not None and D.datatype_of(arr.dtype) != D.expected_datatype(dtype):
        _tensor(buf, entry, dtype, _Budget(0), label, decode_tensor)  # raises decode_tensor's type mismatch
        raise AssertionError("unreachable: decode_tensor accepted a mismatched dtype")
    return arr


def _element_offset(buf, entry, i):
    """The message offset of element ``i``'s bytes: the ``i``-th string_val of the entry's
    TensorProto (already decoded, so valid), read again only for an error; None for an element
    the TensorProto does not hold (a shape with more elements than values is filled)."""
    ranges = entry[1]
    data = _entry_bytes(buf, ranges)
    pos, end, k = 0, len(data), 0
    while pos < end:
        field, wire_type, pos = read_tag(data, pos, end, "")
        if field == D.F_STRING and wire_type == WT_LEN:
            start, pos = read_length(data, pos, end, "")
            if k == i:
                return _message_offset(ranges, start)
            k += 1
        else:
            pos = skip_field(data, pos, end, field, wire_type, "")
    return None


def _element_error(buf, entry, where, i, detail=None, exc=None):
    """An error in element ``i`` of the DT_STRING tensor at ``where``: ``detail``, or the element
    codec's ``exc`` (its offset, into the element's bytes, rebased onto the message when the
    element is those bytes: an Example; a base64 text; else the position is the element's, or
    the TensorProto's for an element it does not hold)."""
    base = _element_offset(buf, entry, i)
    prefix = f"{where[0]} element {i}: "
    if exc is None:
        return DecodeError(prefix + detail, where[1] if base is None else base)
    if base is None:
        return exc.within(prefix, where[1])
    return exc.within(prefix, base, lambda inner: base + inner)


def _instances(buf, entry, dtype, budget, label, codecs, strings=None):
    """A serialized_tensors input: the stack of its elements' tensors.  ``strings`` is
    ``(array, where)`` when the DT_STRING tensor is already decoded."""
    decode_tensor, b64decode, _ = codecs
    strings, where = strings or _strings(buf, entry, budget, label, decode_tensor)
    if len(strings) == 0:
        return np.empty((0,), dtype=np.float32 if dtype is None else D.numpy_dtype(D.expected_datatype(dtype)))
    arrays = []
    for i, text in enumerate(strings):
        try:
            raw = b64decode(text, alphabet="any")
        except DecodeError as exc:
            raise _element_error(buf, entry, where, i, exc=exc) from None
        try:
            arr = decode_tensor(raw, dtype=dtype, max_bytes=budget.left)
        except DecodeError as exc:  # offsets in the decoded bytes: the position is the element's
            raise _element_error(buf, entry, where, i, exc.head + exc.tail) from None
        if arrays and (arr.dtype != arrays[0].dtype or arr.shape != arrays[0].shape):
            raise _element_error(
                buf, entry, where, i,
                f"{arr.dtype} {list(arr.shape)} differs from element 0's {arrays[0].dtype} {list(arrays[0].shape)}",
            )
        budget.take(arr)
        arrays.append(arr)
    return stack_tensors(arrays)


def _examples(buf, entry, budget, label, max_bytes, codecs):
    """An examples input: ``{feature: float32 (N, values)}``."""
    decode_tensor, _, decode_example = codecs
    strings, where = _strings(buf, entry, budget, label, decode_tensor)
    columns = {}
    for i, raw in enumerate(strings):
        try:
            features = decode_example(raw)
        except DecodeError as exc:
            raise _element_error(buf, entry, where, i, exc=exc) from None
        for name, value in features.items():
            if not isinstance(value, np.ndarray) or value.dtype != np.float32:
                kind = "no kind" if value is None else ("bytes_list" if isinstance(value, list) else "int64_list")
                raise _element_error(buf, entry, where, i, f"feature {name!r} is {kind}, not float_list")
        if i == 0:
            columns = {name: [value] for name, value in features.items()}
        else:
            if features.keys() != columns.keys():
                raise _element_error(buf, entry, where, i, f"features {sorted(features)} differ from element 0's {sorted(columns)}")
            for name, value in features.items():
                if len(value) != len(columns[name][0]):
                    raise _element_error(
                        buf, entry, where, i, f"feature {name!r} has {len(value)} values, element 0 has {len(columns[name][0])}"
                    )
                columns[name].append(value)
        for value in features.values():
            budget.take(value)
        if budget.left < 0:
            raise _element_error(buf, entry, where, i, f"the decoded features exceed max_bytes={max_bytes}")
    return {name: stack_tensors(values) for name, values in columns.items()}


def _decode_entries(buf, entries, kind, dtype, max_bytes, input_name, request, codecs):
    """``{name: array}`` from parsed map entries (a request's inputs or a response's outputs),
    decoded with ``codecs`` = (decode_tensor, b64decode, decode_example)."""
    what = REQUEST + ".inputs" if request else RESPONSE + ".outputs"
    budget = _Budget(max_bytes)
    out = {}
    if kind == "examples":
        names = list(dict.fromkeys(entry[0] for entry in entries))
        if names != [input_name]:
            raise DecodeError(f"{what}: kind 'examples' needs exactly one input, named {input_name!r}; got {names}")
        last = entries[-1]
        for entry in entries:  # every entry is decoded: the shadowed ones must be valid too
            result = _examples(buf, entry, budget, f"{what}[{entry[0]!r}]", max_bytes, codecs)
            if entry is last:
                return result
    for entry in entries:
        name = entry[0]
        label = f"{what}[{name!r}]"
        dt = _dtype_for(dtype, name)
        if kind == "serialized_tensors":
            out[name] = (_instances if request else _output)(buf, entry, dt, budget, label, codecs)
        else:
            out[name] = _tensor(buf, entry, dt, budget, label, codecs[0])[0]
    return out


_CODECS = (decode_tensor, b64decode, decode_example)


def decode_predict_request(data, kind, *, dtype=None, max_bytes=DEFAULT_MAX_BYTES, input_name="input"):
    """``(spec, {name: array})`` from a serialized ``PredictRequest`` sent as ``kind``; see the
    module docstring.  Every invalid input raises :class:`tensorwire.DecodeError`."""
    _check_decode_options(kind, dtype, max_bytes, input_name)
    buf = _buffer_of(data, "decode_predict_request")
    spec, entries = _parse_envelope(buf, True)
    return spec, _decode_entries(buf, entries, kind, dtype, max_bytes, input_name, True, _CODECS)


def decode_predict_response(data, *, kind="tensors", dtype=None, max_bytes=DEFAULT_MAX_BYTES):
    """``{name: array}`` from a serialized ``PredictResponse`` sent as ``kind`` (``"tensors"`` or
    ``"serialized_tensors"``); see the module docstring.  Every invalid input raises
    :class:`tensorwire.DecodeError`."""
    _check_decode_options(kind, dtype, max_bytes, kinds=RESPONSE_KINDS)
    buf = _buffer_of(data, "decode_predict_response")
    _, entries = _parse_envelope(buf, False)
    return _decode_entries(buf, entries, kind, dtype, max_bytes, "", False, _CODECS)
