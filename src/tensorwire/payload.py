"""Request and response bodies in Earth Engine's payload formats (docs/payload-formats.md).

The four functions take a :class:`PayloadFormat` or its name and check their arguments here,
once, for both backends; the active backend (``tensorwire._backend``) writes and reads the bytes.

Inputs and outputs are *batch first*: one array per name whose first axis is the instance axis
(N instances, one per tile).  Also accepted when encoding: a list of per-instance dicts
``[{name: array}, ...]`` (stacked), and for ND_ARRAYS, and for a response with one output, a
single array.

Decisions where peers differ (also in the README):

* Requests always name their inputs (``{"B1": ...}``), as Earth Engine sends them, except
  ND_ARRAYS, whose instances are bare.  Responses follow TF Serving: one output is written bare,
  several as ``{name: value}``; a bare response decodes under ``"output"``, a bare request under
  ``"instances"``.
* SERIALIZED_TF_TENSORS writes URL-safe base64 with padding (``tf.io.decode_base64`` takes it;
  ``urlsafe=False`` / ``pad=False`` change that) and reads either alphabet, padded or not, and
  ``{"b64": ...}`` objects.
* Non-finite floats (``nonfinite``): ``"token"`` writes and reads ``NaN``/``Infinity``/
  ``-Infinity`` (TF Serving and Python's ``json`` do); ``"null"`` writes ``null`` and reads it
  back as NaN; ``"error"`` refuses them both ways.
* JSON numbers decode into float32 unless ``dtype`` says otherwise (one dtype, or a dict
  ``{name: dtype}``); TensorProtos decode into their encoded dtype, and a ``dtype`` given for
  them must match it (as ``tf.io.parse_tensor`` requires).
* ``float_format="shortest"`` (default) writes each float as the shortest text that round-trips
  in its own dtype; ``"tolist"`` writes what ``json.dumps(a.tolist())`` writes.
* gRPC formats (a serialized ``tensorflow.serving.PredictRequest`` / ``PredictResponse``,
  ``tensorwire.codecs.grpc``): map entries are written in the order given; a single response
  array is the output ``"output"``; responses are written in the ``tensor_content`` form unless
  ``form="proto"``, except in GRPC_SERIALIZED_TF_TENSORS, whose answer mirrors its request:
  each output a DT_STRING ``[N]`` of per-instance base64 TensorProtos (what TF Serving returns
  for an Earth Engine-wrapped model), read back stacked (other outputs are read as they are).
* ``JSON`` is the general predict body of Vertex AI, AI Platform and TF Serving
  (docs/json-general.md): numbers, booleans, strings and ``{"b64": ...}`` values, each name's
  kind from its leaves (ints -> int64, other numbers -> float32, str and bytes -> object
  arrays), in the row form or TF Serving's columnar form (``{"inputs": ...}``, ``columnar=True``
  to write it; its arrays have no instance axis).  A single array is written bare, a mapping
  named.  The three Earth Engine formats read only ``{"instances": [...]}``.
* ``parameters`` (Vertex, AI Platform's custom routines): written by ``encode_request`` in any
  JSON format when given; :func:`decode_request` returns only the arrays, :func:`read_request`
  the arrays with ``parameters``, the form and TF Serving's ``signature_name``.  Every other
  member but the values and ``error`` is checked and ignored.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, Union, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ._backend import IMPLS
from .codecs import jsonbody as _reference
from .codecs.rules.jsonbody import Envelope
from .errors import PredictionError

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

    from ._types import BytesLike, TensorForm
    from .codecs.rules.grpc import Layout, ResponseLayout



class _JsonBackend(Protocol):
    """What this module calls in the backend's ``jsonbody`` (options by keyword)."""

    def encode_body(self, key: str, columns: list[tuple[str | None, NDArray[Any]]], **options: Any) -> bytes: ...

    def decode_body(self, body: BytesLike | str, key: str, *, envelope: Envelope | None = None,
                    **options: Any) -> dict[str, NDArray[Any]]: ...


class _GrpcBackend(Protocol):
    """What this module calls in the backend's ``grpc`` (options by keyword)."""

    def encode_predict_request(self, columns: list[tuple[str | None, NDArray[Any]]], *args: Any,
                               **options: Any) -> bytes: ...

    def encode_predict_response(self, columns: list[tuple[str | None, NDArray[Any]]], **options: Any) -> bytes: ...

    def decode_predict_request(self, body: BytesLike, *args: Any,
                               **options: Any) -> tuple[RequestSpec, dict[str, NDArray[Any]]]: ...

    def decode_predict_response(self, body: BytesLike, **options: Any) -> dict[str, NDArray[Any]]: ...


_impl: _JsonBackend = IMPLS["jsonbody"]
_grpc: _GrpcBackend = IMPLS["grpc"]


class PayloadFormat(str, enum.Enum):
    """Earth Engine's ``payloadFormat`` names.  ``GRPC_TF_EXAMPLES`` is an alias."""

    SERIALIZED_TF_TENSORS = "SERIALIZED_TF_TENSORS"
    RAW_JSON = "RAW_JSON"
    ND_ARRAYS = "ND_ARRAYS"
    GRPC_TF_TENSORS = "GRPC_TF_TENSORS"
    GRPC_SERIALIZED_TF_TENSORS = "GRPC_SERIALIZED_TF_TENSORS"
    GRPC_SERIALIZED_TF_EXAMPLES = "GRPC_SERIALIZED_TF_EXAMPLES"
    GRPC_TF_EXAMPLES = "GRPC_SERIALIZED_TF_EXAMPLES"
    JSON = "JSON"

    @classmethod
    def of(cls, value: PayloadFormat | str) -> PayloadFormat:
        """The member for a member or a name (``"ND_ARRAYS"``, ``"GRPC_TF_EXAMPLES"``, ...)."""
        if isinstance(value, str):  # a member is a str too, equal to its value
            member = _FORMAT_NAMES.get(value)
            if member is not None:
                return member
        raise ValueError(f"unknown payload format {value!r}; one of {', '.join(cls.__members__)}")

    def __str__(self) -> str:
        return self.value


# PayloadFormat.of's table (a plain dict: ``__members__`` builds a mapping proxy per access).
_FORMAT_NAMES: dict[str, PayloadFormat] = dict(PayloadFormat.__members__)
# PayloadFormat.of, looked up once: an attribute of an Enum class costs about 90 ns a lookup
# (Python 3.11), a sixth of encode_request's own time on a small body.
_format_of = PayloadFormat.of


# The formats as type checkers see them: a member, or its name as a literal (a name held in a
# plain ``str`` goes through PayloadFormat.of first).
JsonFormat: TypeAlias = Literal[
    PayloadFormat.SERIALIZED_TF_TENSORS, PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS, PayloadFormat.JSON,
    "SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "JSON",
]
GrpcFormat: TypeAlias = Literal[
    PayloadFormat.GRPC_TF_TENSORS, PayloadFormat.GRPC_SERIALIZED_TF_TENSORS, PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES,
    "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES", "GRPC_TF_EXAMPLES",
]
FormatName: TypeAlias = Literal[
    "SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "JSON",
    "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES", "GRPC_TF_EXAMPLES",
]
AnyFormat: TypeAlias = Union[PayloadFormat, FormatName]
#: ``nonfinite``: how NaN and the infinities are written and read in JSON numbers.
Nonfinite: TypeAlias = Literal["token", "null", "error"]
#: ``float_format``: the shortest round-tripping text, or what ``json.dumps(a.tolist())`` writes.
FloatFormat: TypeAlias = Literal["shortest", "tolist"]
#: Batch-first arrays: ``{name: array}``, a list of per-instance ``{name: array}``, or (where
#: allowed) a single array.
Batch: TypeAlias = Union[Mapping[str, ArrayLike], Sequence[Mapping[str, ArrayLike]], ArrayLike]
#: ``dtype`` when decoding: None (the default of the format), one dtype, or ``{name: dtype}``.
DecodeDType: TypeAlias = Union[DTypeLike, int, None, dict[str, Union[DTypeLike, int, None]]]
#: Batch-first arrays by name, as the decoders give them.
Arrays: TypeAlias = dict[str, NDArray[Any]]


class RequestSpec(TypedDict):
    """A ``PredictRequest``'s fields besides its inputs (``decode_grpc_request``)."""

    name: str
    version: int | None
    version_label: str | None
    signature_name: str
    output_filter: list[str]


JSON_VALUE_FORMS = {  # format -> the jsonbody value_form (written, read)
    PayloadFormat.SERIALIZED_TF_TENSORS: ("tensor", "tensor"),
    PayloadFormat.RAW_JSON: ("string", "number"),
    PayloadFormat.ND_ARRAYS: ("number", "number"),
    PayloadFormat.JSON: ("json", "json"),
}


# format -> the tensorwire.codecs.grpc layout (request, response).  A GRPC_SERIALIZED_TF_TENSORS
# answer carries each output as base64 TensorProtos, one per instance; the other gRPC formats
# answer with plain TensorProtos.
GRPC_LAYOUTS: dict[PayloadFormat, tuple[Layout, ResponseLayout]] = {
    PayloadFormat.GRPC_TF_TENSORS: ("tensors", "tensors"),
    PayloadFormat.GRPC_SERIALIZED_TF_TENSORS: ("serialized_tensors", "serialized_tensors"),
    PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES: ("examples", "tensors"),
}

# Which formats travel as HTTP JSON and which as gRPC messages, in the order a server that takes
# them all lists them (its first JSON format, SERIALIZED_TF_TENSORS, reads a body whose format is
# not detected).  How a body's format is recognised: tensorwire._sniff.
JSON_FORMATS = tuple(JSON_VALUE_FORMS)
GRPC_FORMATS = tuple(GRPC_LAYOUTS)

_GRPC_REQUEST_OPTIONS = ("model_name", "signature_name", "version", "output_filter", "input_name")


def _grpc_options(fmt: PayloadFormat, options: dict[str, Any], allowed: Sequence[str]) -> dict[str, Any]:
    unknown = set(options) - set(allowed)
    if unknown:
        raise TypeError(f"{fmt.value}: unexpected option(s) {sorted(unknown)}; allowed: {list(allowed)}")
    return options


def _columns_of_instances(instances: list[Any], what: str) -> dict[str, NDArray[Any]]:
    """``{name: batch-first array}`` from a list of per-instance ``{name: array}`` dicts (each
    with the same names); not to be confused with ``rules.tensor.stack_tensors``, which stacks
    one input's decoded TensorProtos."""
    if not instances:
        raise ValueError(f"{what}: an empty list of instances has no names")
    names = list(instances[0])
    for i, inst in enumerate(instances):
        if not isinstance(inst, Mapping) or set(inst) != set(names):
            raise ValueError(f"{what}: instance {i} does not have the names of instance 0 ({names})")
    return {name: np.stack([np.asarray(inst[name]) for inst in instances]) for name in names}


def sizes_alike(format: AnyFormat, arrays: Iterable[NDArray[Any]]) -> bool:
    """Whether every instance of these batch-first ``arrays`` encodes to the same number of
    bytes in ``format`` (each instance of an array has one shape): numbers and bools written
    whole (a TensorProto's ``tensor_content``; a tf.Example's packed ``float_list``) do; text
    (JSON number text, strings) and varints do not.  The batcher then skips checking that a run
    is the longest that fits (:mod:`tensorwire._batcher`)."""
    fmt = _format_of(format)
    if fmt in (PayloadFormat.SERIALIZED_TF_TENSORS, PayloadFormat.GRPC_TF_TENSORS,
               PayloadFormat.GRPC_SERIALIZED_TF_TENSORS):
        return all(a.dtype.kind in "biufc" for a in arrays)
    if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES:
        return all(a.dtype.kind == "f" for a in arrays)
    return False


def batch_columns(values: Batch, what: str, bare_ok: bool) -> tuple[list[tuple[str | None, NDArray[Any]]], bool]:
    """``(columns, bare)`` for batch-first ``values`` (a mapping of names to arrays, a list of
    per-instance dicts, or with ``bare_ok`` a single array): ``columns`` is ``[(name, array)]``
    (name None for a bare array), every array with the same first (instance) axis; ``bare``
    says whether a single array was given.  ValueError or TypeError, naming ``what``
    (``"inputs"``, ``"outputs"``), for anything else: no arrays, a 0-d array, instance counts
    that differ.  The encoders and the client check their arguments with it, the server its
    decoded inputs."""
    if type(values) is np.ndarray and bare_ok and values.ndim:  # the common case, without the ABC checks
        return [(None, values)], True
    if isinstance(values, list) and values and all(isinstance(v, Mapping) for v in values):
        values = _columns_of_instances(values, what)
    columns: list[tuple[str | None, NDArray[Any]]]
    if isinstance(values, Mapping):
        if not values:
            raise ValueError(f"{what}: no arrays given")
        columns = [(name, np.asarray(a)) for name, a in values.items()]
        bare = False
    elif bare_ok:
        columns = [(None, np.asarray(values))]
        bare = True
    else:
        raise TypeError(f"{what}: expected a mapping of names to arrays, not {type(values).__name__}")
    for name, array in columns:
        if array.ndim == 0:
            raise ValueError(f"{what}: {name!r} has no instance axis (a 0-d array)")
        if len(array) != len(columns[0][1]):
            raise ValueError(
                f"{what}: {name!r} has {len(array)} instances, {columns[0][0]!r} has {len(columns[0][1])}"
            )
    return columns, bare


@overload
def encode_request(inputs: Batch, format: JsonFormat, *, nonfinite: Nonfinite = ..., float_format: FloatFormat = ...,
                   urlsafe: bool = ..., pad: bool = ..., columnar: bool = ..., parameters: Any = ...) -> bytes: ...


@overload
def encode_request(inputs: Batch, format: GrpcFormat, *, model_name: str = ..., signature_name: str = ...,
                   version: int | None = ..., output_filter: Sequence[str] = ..., input_name: str = ...) -> bytes: ...


@overload
def encode_request(inputs: Batch, format: PayloadFormat, *, nonfinite: Nonfinite = ...,
                   float_format: FloatFormat = ..., urlsafe: bool = ..., pad: bool = ..., columnar: bool = ...,
                   parameters: Any = ..., **grpc_options: Any) -> bytes: ...


def encode_request(inputs: Batch, format: AnyFormat, *, nonfinite: Nonfinite = "token",
                   float_format: FloatFormat = "shortest", urlsafe: bool = True, pad: bool = True,
                   columnar: bool = False, parameters: Any = None, **grpc_options: Any) -> bytes:
    """The request body (bytes) for ``inputs`` in ``format``; see the module docstring.

    ``urlsafe``/``pad`` apply to SERIALIZED_TF_TENSORS, ``float_format`` to RAW_JSON, ND_ARRAYS
    and JSON, ``nonfinite`` to those three.  ``parameters`` (any JSON-able value, not None) is
    written beside the instances in every JSON format.  JSON writes a single array as bare
    instances and a mapping as named ones; ``columnar=True`` (JSON only) writes TF Serving's
    ``{"inputs": ...}``, each array whole (any shape, no shared instance axis).  The gRPC
    formats give a serialized ``PredictRequest`` and take ``model_name``, ``signature_name``,
    ``version``, ``output_filter`` and ``input_name`` (GRPC_SERIALIZED_TF_EXAMPLES: the one
    input's name, default ``"input"``).
    """
    fmt = _format_of(format)
    if fmt in GRPC_LAYOUTS:
        if columnar or parameters is not None:
            raise TypeError(f"{fmt.value}: columnar and parameters are JSON options")
        columns, _ = batch_columns(inputs, "inputs", bare_ok=False)
        return _grpc.encode_predict_request(
            columns, GRPC_LAYOUTS[fmt][0], **_grpc_options(fmt, grpc_options, _GRPC_REQUEST_OPTIONS)
        )
    if grpc_options:
        raise TypeError(f"{fmt.value}: unexpected option(s) {sorted(grpc_options)}")
    key, columns, bare = _json_columns(fmt, inputs, "inputs", columnar, fmt in _BARE_INSTANCE_FORMATS)
    if fmt is PayloadFormat.ND_ARRAYS:
        if len(columns) != 1:
            raise ValueError(f"ND_ARRAYS sends one array per instance; got {len(columns)} inputs")
        bare = True
    return _impl.encode_body(
        key, columns, bare=bare, value_form=JSON_VALUE_FORMS[fmt][0], nonfinite=nonfinite,
        urlsafe=urlsafe, pad=pad, float_format=float_format, parameters=parameters,
    )


# The JSON formats whose request may be a single array, written as bare instances.
_BARE_INSTANCE_FORMATS = frozenset({PayloadFormat.ND_ARRAYS, PayloadFormat.JSON})


def _json_columns(fmt: PayloadFormat, values: Batch, what: Literal["inputs", "outputs"], columnar: bool,
                  bare_ok: bool) -> tuple[str, list[tuple[str | None, NDArray[Any]]], bool]:
    """``(key, columns, bare)`` for a JSON body of ``values``: the row form's batch-first
    columns (:func:`batch_columns`), or with ``columnar`` (JSON only) the whole arrays."""
    if not columnar:
        columns, bare = batch_columns(values, what, bare_ok)
        return ("instances" if what == "inputs" else "predictions"), columns, bare
    if fmt is not PayloadFormat.JSON:
        raise TypeError(f"{fmt.value}: columnar=True is the JSON format's (TF Serving's columnar form)")
    columns, bare = whole_columns(values, what)
    return what, columns, bare


def whole_columns(values: Batch, what: str) -> tuple[list[tuple[str | None, NDArray[Any]]], bool]:
    """``(columns, bare)`` for the columnar form: each array whole, given a leading axis of one
    (the one instance the codec writes without its list); a single array is bare."""
    if isinstance(values, Mapping):
        if not values:
            raise ValueError(f"{what}: no arrays given")
        return [(name, np.asarray(a)[np.newaxis]) for name, a in values.items()], False
    return [(None, np.asarray(values)[np.newaxis])], True


@overload
def encode_response(outputs: Batch, format: JsonFormat, *, nonfinite: Nonfinite = ...,
                    float_format: FloatFormat = ..., urlsafe: bool = ..., pad: bool = ...,
                    columnar: bool = ...) -> bytes: ...


@overload
def encode_response(outputs: Batch, format: GrpcFormat, *, model_name: str = ...,
                    form: TensorForm = ...) -> bytes: ...


@overload
def encode_response(outputs: Batch, format: PayloadFormat, *, nonfinite: Nonfinite = ...,
                    float_format: FloatFormat = ..., urlsafe: bool = ..., pad: bool = ..., columnar: bool = ...,
                    **grpc_options: Any) -> bytes: ...


def encode_response(outputs: Batch, format: AnyFormat, *, nonfinite: Nonfinite = "token",
                    float_format: FloatFormat = "shortest", urlsafe: bool = True, pad: bool = True,
                    columnar: bool = False, **grpc_options: Any) -> bytes:
    """The response body for ``outputs`` (one array, or a mapping): one output is written bare.

    ``columnar=True`` (JSON only) writes ``{"outputs": ...}``, each array whole, the answer to a
    columnar request.

    The gRPC formats give a serialized ``PredictResponse`` (a single array is the output
    ``"output"``) and take ``model_name`` and ``form`` (``"content"``, the default, or
    ``"proto"``: the typed ``*_val`` fields TF Serving writes).
    """
    fmt = _format_of(format)
    if fmt in GRPC_LAYOUTS:
        if columnar:
            raise TypeError(f"{fmt.value}: columnar is a JSON option")
        columns, bare = batch_columns(outputs, "outputs", bare_ok=True)
        if bare:  # a message's outputs are always named
            columns = [("output", columns[0][1])]
        return _grpc.encode_predict_response(columns, layout=GRPC_LAYOUTS[fmt][1],
                                             **_grpc_options(fmt, grpc_options, ("model_name", "form")))
    if grpc_options:
        raise TypeError(f"{fmt.value}: unexpected option(s) {sorted(grpc_options)}")
    key, columns, _ = _json_columns(fmt, outputs, "outputs", columnar, True)
    return _impl.encode_body(
        key, columns, bare=len(columns) == 1, value_form=JSON_VALUE_FORMS[fmt][0],
        nonfinite=nonfinite, urlsafe=urlsafe, pad=pad, float_format=float_format,
    )


# body: the public decoders say which types each takes (a str only for the JSON formats).
def _decode(body: Any, format: AnyFormat, key: str, bare_name: str, dtype: DecodeDType,
            nonfinite: Nonfinite, max_depth: int, max_bytes: int, input_name: str = "input",
            envelope: Envelope | None = None) -> Arrays:
    fmt = _format_of(format)
    if fmt in GRPC_LAYOUTS:
        if key == "predictions":
            return _grpc.decode_predict_response(body, layout=GRPC_LAYOUTS[fmt][1], dtype=dtype, max_bytes=max_bytes)
        return decode_grpc_request(body, fmt, dtype=dtype, max_bytes=max_bytes, input_name=input_name)[1]
    return _impl.decode_body(
        body, key, value_form=JSON_VALUE_FORMS[fmt][1], dtype=dtype, nonfinite=nonfinite, max_depth=max_depth,
        max_bytes=max_bytes, bare_name=bare_name, envelope=envelope,
    )


def decode_request(body: BytesLike | str, format: AnyFormat, *, dtype: DecodeDType = None,
                   nonfinite: Nonfinite = "token", max_depth: int = _reference.DEFAULT_MAX_DEPTH,
                   max_bytes: int = _reference.DEFAULT_MAX_BYTES, input_name: str = "input") -> Arrays:
    """``{name: batch-first array}`` from a request body (server side); bare instances under ``"instances"``.

    JSON: a columnar request's arrays are whole (no instance axis), a bare one under
    ``"inputs"``; :func:`read_request` also gives ``parameters``.

    gRPC formats: a serialized ``PredictRequest``; GRPC_SERIALIZED_TF_EXAMPLES gives one float32
    ``(N, values)`` array per feature (the Example does not carry H x W: reshape it).
    """
    return _decode(body, format, "instances", "instances", dtype, nonfinite, max_depth, max_bytes, input_name)


@dataclasses.dataclass(frozen=True)
class Request:
    """A JSON request body read whole (:func:`read_request`)."""

    inputs: Arrays
    """``{name: array}``, as :func:`decode_request` gives them."""
    parameters: Any
    """The ``parameters`` member as decoded JSON; None when absent."""
    columnar: bool
    """Whether the body was TF Serving's columnar form (``{"inputs": ...}``): answer in kind."""
    signature_name: str | None
    """TF Serving's ``signature_name``; None when absent."""


def read_request(body: BytesLike | str, format: JsonFormat | PayloadFormat, *, dtype: DecodeDType = None,
                 nonfinite: Nonfinite = "token", max_depth: int = _reference.DEFAULT_MAX_DEPTH,
                 max_bytes: int = _reference.DEFAULT_MAX_BYTES) -> Request:
    """A JSON request body's arrays (as :func:`decode_request` gives them) with what else it
    says: ``parameters``, its form, ``signature_name``.  For servers: ``tensorwire.serve`` hands
    ``parameters`` to a ``predict_fn`` that takes them and answers a columnar request in kind."""
    fmt = _format_of(format)
    if fmt not in JSON_VALUE_FORMS:
        raise ValueError(f"read_request: {fmt.value} is not a JSON payload format")
    envelope = Envelope()
    inputs = _decode(body, fmt, "instances", "instances", dtype, nonfinite, max_depth, max_bytes, envelope=envelope)
    return Request(inputs, envelope.parameters, envelope.key == "inputs", envelope.signature_name)


def decode_grpc_request(body: BytesLike, format: AnyFormat, *, dtype: DecodeDType = None,
                        max_bytes: int = _reference.DEFAULT_MAX_BYTES,
                        input_name: str = "input") -> tuple[RequestSpec, Arrays]:
    """``(spec, {name: array})`` from a serialized ``PredictRequest`` in a gRPC ``format``: what
    :func:`decode_request` gives, with the request's other fields (``spec``: ``name``,
    ``version``, ``version_label``, ``signature_name``, ``output_filter``), for servers."""
    fmt = _format_of(format)
    if fmt not in GRPC_LAYOUTS:
        raise ValueError(f"decode_grpc_request: {fmt.value} is not a gRPC payload format")
    return _grpc.decode_predict_request(body, GRPC_LAYOUTS[fmt][0], dtype=dtype, max_bytes=max_bytes,
                                        input_name=input_name)


def decode_response(body: BytesLike | str, format: AnyFormat, *, dtype: DecodeDType = None,
                    nonfinite: Nonfinite = "token", max_depth: int = _reference.DEFAULT_MAX_DEPTH,
                    max_bytes: int = _reference.DEFAULT_MAX_BYTES) -> Arrays:
    """``{name: batch-first array}`` from a response body (client side); a bare output under ``"output"``.

    ``{"error": ...}`` raises :class:`PredictionError`.
    """
    return _decode(body, format, "predictions", "output", dtype, nonfinite, max_depth, max_bytes)


def stack_bands(bands: Mapping[str, ArrayLike], names: Sequence[str] | None = None, *,
                channels_first: bool = True) -> NDArray[Any]:
    """One array from per-band arrays, for a model that takes a single input (ND_ARRAYS).

    ``bands`` maps band names to batch-first ``(N, H, W)`` or ``(N, H, W, 1)`` arrays (what
    :func:`decode_request` gives for an Earth Engine request); ``names`` picks and orders them
    (default: the mapping's order).  The result is ``(N, C, H, W)`` for a channels-first model
    (the PyTorch examples), or ``(N, H, W, C)`` with ``channels_first=False``.  No axis is moved
    anywhere else in tensorwire: this is the one place that does it, on request.
    """
    names = list(bands) if names is None else list(names)
    if not names:
        raise ValueError("stack_bands: no bands")
    arrays = []
    for name in names:
        a = np.asarray(bands[name])
        if a.ndim == 4 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim != 3:
            raise ValueError(f"stack_bands: band {name!r} has shape {a.shape}; expected (N, H, W) or (N, H, W, 1)")
        arrays.append(a)
    return np.stack(arrays, axis=1 if channels_first else -1)


__all__ = ["stack_bands", "PayloadFormat", "PredictionError", "Request", "encode_request", "decode_request",
           "read_request", "decode_grpc_request", "encode_response", "decode_response"]
