"""A Python function as a model, independent of transport: request bytes in, response bytes out.

:class:`Model` is what both servers (HTTP and gRPC, ``tensorwire.server``) call.  It picks the
request's payload format, decodes it with the payload layer, calls ``predict_fn`` and encodes its
answer in the same format.  Failures come back as :class:`Failure` with the status they map to:

* ``"bad_request"`` (HTTP 400 / gRPC INVALID_ARGUMENT): the request does not decode in its
  format (including one that would decode to more than ``max_decoded_bytes`` of arrays), holds
  no instances, has inputs that do not share their first (instance) axis (GRPC_TF_TENSORS can
  carry any tensors), is in a format the server does not take, or asks for outputs the model
  does not have;
* ``"internal"`` (HTTP 500 / gRPC INTERNAL): ``predict_fn`` raised, or returned something that
  is not one prediction per instance or cannot be encoded.

Format detection, when more than one format of a transport is configured, follows the payload
layer's rules (``tensorwire._sniff``, whose module docstring states them; inspect uses the same).
What the server adds to them:

* HTTP JSON: a body whose first instance is not found is decoded with the first configured
  format, so its error message is that decoder's.
* gRPC: a detected serialized format the server does not take falls back to GRPC_TF_TENSORS
  when that is taken, and DT_STRING inputs reach ``predict_fn`` as the bytes they are.  Plain
  strings that happen to start with ``C`` or 0x0A are read as serialized (and refused if they
  are not): a text model should be served with ``formats=["GRPC_TF_TENSORS"]``, which detects
  nothing.  The serialized forms, and GRPC_TF_TENSORS when ``dtype`` is given, are read a
  second time in their format (the first reading, as GRPC_TF_TENSORS without ``dtype``, only
  copied the strings); a server taking GRPC_TF_TENSORS or GRPC_SERIALIZED_TF_TENSORS alone, or
  GRPC_SERIALIZED_TF_EXAMPLES alone with ``input_name``, reads once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, ParamSpec, TypeVar, Union, cast

import numpy as np
import orjson
from numpy.typing import ArrayLike, NDArray

from . import payload
from .errors import DecodeError
from .payload import GRPC_FORMATS, JSON_FORMATS, PayloadFormat
from ._sniff import examples_input_name, sniff_grpc_format, sniff_json_format
from ._workers import Job, Slots

F = PayloadFormat
_P = ParamSpec("_P")
_T = TypeVar("_T")

#: ``predict_fn``: batch-first inputs by name -> one array, or a dict of named arrays.
PredictFn = Callable[[dict[str, NDArray[Any]]], Union[ArrayLike, dict[str, Any]]]
#: The formats a server takes: one, several, or None for all six.
Formats = Union[PayloadFormat, str, Iterable[Union[PayloadFormat, str]], None]
#: What :class:`Failure`'s ``status`` can be.
Status = Literal["bad_request", "internal", "abandoned"]
# predict_fn's result: one array (under None) or named arrays.
_Outputs = dict[Union[str, None], NDArray[Any]]

# An error message is cut so that it costs at most this much as gRPC sends it: percent-encoded
# (3 characters for each byte outside printable ASCII, and for "%"), in metadata that gRPC
# refuses past 8 KiB (its soft limit) in all.
_MESSAGE_COST = 4000
_PLAIN = bytes(c for c in range(0x20, 0x7F) if c != 0x25)


class Failure(Exception):
    """A request that gets an error answer: ``status`` is ``"bad_request"``, ``"internal"``, or
    ``"abandoned"`` (nobody waits for the answer: the transport gave up on the request);
    ``str(exc)`` is the message sent back, cut to at most 4,000 characters as gRPC sends it
    (percent-encoded: a byte outside printable ASCII counts 3)."""

    def __init__(self, status: Status, message: str) -> None:
        raw = message.encode("utf-8", "replace")
        if _cost(raw) > _MESSAGE_COST:
            lo, hi = 0, len(raw)  # the longest prefix that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if _cost(raw[:mid]) <= _MESSAGE_COST else (lo, mid - 1)
            message = raw[:lo].decode("utf-8", "ignore") + f"... ({len(raw) - lo} more bytes)"
        super().__init__(message)
        self.status = status
        self.message = message


def _cost(raw: bytes) -> int:
    """The length of UTF-8 ``raw`` percent-encoded as gRPC sends a status message."""
    return len(raw) + 2 * len(raw.translate(None, _PLAIN))


def formats_of(formats: Formats) -> tuple[PayloadFormat, ...]:
    """The configured formats as a tuple of members, without repeats (``None``: all seven)."""
    if formats is None:
        return JSON_FORMATS + GRPC_FORMATS
    if isinstance(formats, (str, F)):
        formats = [formats]
    out = tuple(dict.fromkeys(F.of(f) for f in formats))
    if not out:
        raise ValueError("formats: at least one payload format")
    return out


class Model:
    """``predict_fn`` behind the payload layer; one instance serves both transports, from any
    number of threads.  The options are :func:`tensorwire.serve`'s (see its docstring)."""

    def __init__(self, predict_fn: PredictFn, formats: Formats = None, *, input_name: str | None = None,
                 example_shape: Iterable[int] | None = None, pass_serialized: bool = False,
                 dtype: payload.DecodeDType = None, max_decoded_bytes: int = 1 << 28,
                 max_concurrency: int | None = None) -> None:
        if not callable(predict_fn):
            raise TypeError(f"predict_fn must be callable, not {type(predict_fn).__name__}")
        self.predict_fn = predict_fn
        self.takes_parameters = _takes_parameters(predict_fn)
        self.formats = formats_of(formats)
        self.json_formats = tuple(f for f in self.formats if f in JSON_FORMATS)
        self.grpc_formats = tuple(f for f in self.formats if f in GRPC_FORMATS)
        self.input_name = input_name
        self.example_shape = None if example_shape is None else tuple(int(d) for d in example_shape)
        self.pass_serialized = bool(pass_serialized)
        self.dtype = dtype
        self.max_decoded_bytes = int(max_decoded_bytes)
        self._slots = None if max_concurrency is None else Slots(int(max_concurrency))
        # How a gRPC request is read, fixed by the configuration.  A first reading as
        # GRPC_TF_TENSORS (any dtype, so strings come through) is needed to detect the format,
        # to learn the Examples input's name, or to hand texts over as they are; for the formats
        # in ``_first_is_answer`` that first reading is the request, else it is read again in
        # its format.
        only = self.grpc_formats[0] if len(self.grpc_formats) == 1 else None
        self._grpc_only = only
        self._grpc_first_reading = (only is None or (only is F.GRPC_SERIALIZED_TF_EXAMPLES and input_name is None)
                                    or (only is F.GRPC_SERIALIZED_TF_TENSORS and self.pass_serialized))
        self._first_is_answer = frozenset(
            f for f in self.grpc_formats
            if (f is F.GRPC_SERIALIZED_TF_TENSORS and self.pass_serialized)
            or (f is F.GRPC_TF_TENSORS and dtype is None))

    # ---------------------------------------------------------------------------------- HTTP

    def json_format(self, body: bytes) -> PayloadFormat:
        if len(self.json_formats) == 1:
            return self.json_formats[0]
        fmt = sniff_json_format(body)
        if fmt is None:
            return self.json_formats[0]
        if fmt not in self.json_formats and F.JSON in self.json_formats:
            return F.JSON  # the general body reads what the Earth Engine formats do, and more
        return self._taken(fmt, self.json_formats)

    @staticmethod
    def _taken(fmt: PayloadFormat, formats: tuple[PayloadFormat, ...]) -> PayloadFormat:
        if fmt not in formats:
            raise Failure("bad_request", f"the request looks like {fmt.value}, which this server does not take "
                                         f"(it takes {', '.join(f.value for f in formats)})")
        return fmt

    def handle_json(self, body: bytes, job: Job | None = None) -> bytes:
        """The response body for an HTTP JSON request body; :class:`Failure` for an error answer.
        ``job`` (a :class:`tensorwire._workers.Job`): the work stops at the next step once it is
        abandoned (before decoding, before ``predict_fn``, after it)."""
        _check(job)
        if not self.json_formats:
            raise Failure("bad_request", "this server takes gRPC payload formats only")
        fmt = self.json_format(body)
        if self.pass_serialized and fmt is F.SERIALIZED_TF_TENSORS:
            inputs, parameters = _or_bad_request(_serialized_instances, body, self.max_decoded_bytes)
            outputs = self._predict(inputs, job, parameters)
            return _or_internal_error(_serialized_predictions, outputs)
        request = _or_bad_request(payload.read_request, body, fmt, dtype=self.dtype, max_bytes=self.max_decoded_bytes)
        if request.columnar:  # TF Serving's columnar form: whole tensors in, whole tensors out
            outputs = self._predict(request.inputs, job, request.parameters, batch_first=False)
            return _or_internal_error(payload.encode_response, outputs, fmt, columnar=True)
        outputs = self._predict(request.inputs, job, request.parameters)
        return _or_internal_error(payload.encode_response, outputs, fmt)

    # ---------------------------------------------------------------------------------- gRPC

    def _grpc_decode(self, body: bytes) -> tuple[PayloadFormat, payload.RequestSpec, dict[str, NDArray[Any]]]:
        """(format, spec, inputs) of a serialized PredictRequest, read as planned in ``__init__``."""
        only = self._grpc_only
        if not self._grpc_first_reading and only is not None:  # (not a first reading: only one format)
            return only, *self._grpc_read(body, only, self.input_name or "input", dtype=self.dtype)
        spec, inputs = self._grpc_read(body, F.GRPC_TF_TENSORS)
        fmt = only or self._detected(inputs)
        if fmt in self._first_is_answer:
            return fmt, spec, inputs
        name = self.input_name
        if fmt is F.GRPC_SERIALIZED_TF_EXAMPLES and name is None:
            name = _or_bad_request(examples_input_name, inputs)
        return fmt, *self._grpc_read(body, fmt, name or "input", dtype=self.dtype)

    def _detected(self, inputs: Mapping[str, NDArray[Any]]) -> PayloadFormat:
        """The gRPC format of a request read as GRPC_TF_TENSORS, among the ones taken."""
        fmt = sniff_grpc_format(inputs)
        if fmt not in self.grpc_formats and F.GRPC_TF_TENSORS in self.grpc_formats:
            fmt = F.GRPC_TF_TENSORS  # strings that only look serialized
        return self._taken(fmt, self.grpc_formats)

    def _grpc_read(self, body: bytes, fmt: PayloadFormat, input_name: str = "input",
                   dtype: payload.DecodeDType = None) -> tuple[payload.RequestSpec, dict[str, NDArray[Any]]]:
        return _or_bad_request(payload.decode_grpc_request, body, fmt, dtype=dtype, input_name=input_name,
                       max_bytes=self.max_decoded_bytes)

    def handle_grpc(self, body: bytes, job: Job | None = None) -> bytes:
        """The serialized PredictResponse for a serialized PredictRequest; :class:`Failure` else
        (``job`` as for :meth:`handle_json`)."""
        _check(job)
        if not self.grpc_formats:
            raise Failure("bad_request", "this server takes HTTP JSON payload formats only")
        fmt, spec, inputs = self._grpc_decode(body)
        if fmt is F.GRPC_SERIALIZED_TF_EXAMPLES and self.example_shape is not None:
            inputs = {name: _reshape(name, a, self.example_shape) for name, a in inputs.items()}
        outputs = self._predict(inputs, job, None)
        if not isinstance(outputs, dict):
            outputs = {"output": outputs}
        wanted = spec["output_filter"]
        if wanted:
            missing = [name for name in wanted if name not in outputs]
            if missing:
                raise Failure("bad_request", f"output_filter names {missing}, which the model does not output "
                                             f"(its outputs: {list(outputs)})")
            outputs = {name: outputs[name] for name in dict.fromkeys(wanted)}
        if self.pass_serialized and fmt is F.GRPC_SERIALIZED_TF_TENSORS:
            fmt = F.GRPC_TF_TENSORS  # the strings predict_fn returned, as they are
        return _or_internal_error(payload.encode_response, outputs, fmt, model_name=spec["name"])

    # ------------------------------------------------------------------------------ predicting

    def _predict(self, inputs: dict[str, NDArray[Any]], job: Job | None, parameters: object,
                 batch_first: bool = True) -> NDArray[Any] | dict[str, NDArray[Any]]:
        """``predict_fn(inputs)`` as an array or ``{name: array}``, each with one prediction per
        instance (``batch_first=False``, a columnar request: any arrays, no instance count);
        ``parameters`` goes to a ``predict_fn`` that takes them.  Waiting for a
        ``max_concurrency`` slot ends when ``job`` is abandoned; once ``predict_fn`` runs it
        cannot be stopped, and what it returns for an abandoned job is dropped."""
        if batch_first:
            n = _instances_of(inputs)
        elif not inputs:
            raise Failure("bad_request", "the request holds no inputs")
        _check(job)
        if self._slots is not None and not self._slots.acquire(job):
            raise Failure("abandoned", _ABANDONED)
        try:
            _check(job)
            outputs = self._call(inputs, parameters)
        finally:
            if self._slots is not None:
                self._slots.release()
        _check(job)
        if not outputs:
            raise Failure("internal", "predict_fn returned an empty dict")
        if not batch_first:
            return outputs[None] if None in outputs else cast("dict[str, NDArray[Any]]", outputs)
        for name, a in outputs.items():
            if a.ndim == 0 or len(a) != n:
                what = "its result" if name is None else f"output {name!r}"
                got = "a 0-d array" if a.ndim == 0 else f"{len(a)} predictions"
                raise Failure("internal", f"predict_fn returned {got} in {what} for {n} instances")
        return outputs[None] if None in outputs else cast("dict[str, NDArray[Any]]", outputs)

    def _call(self, inputs: dict[str, NDArray[Any]], parameters: object) -> _Outputs:
        """``predict_fn(inputs)`` as ``{name or None: array}``; any exception is a Failure that
        keeps only its message (not the model's frames, which hold the inputs)."""
        message = None
        try:
            if self.takes_parameters:
                result = cast("Callable[..., Any]", self.predict_fn)(inputs, parameters=parameters)
            else:
                result = self.predict_fn(inputs)
            if isinstance(result, dict):
                return {str(name): np.asarray(a) for name, a in result.items()}
            return {None: np.asarray(result)}
        except Exception as exc:  # noqa: BLE001 - any failure of the model is the answer's 500
            message = f"predict_fn raised {type(exc).__name__}: {exc}"
        raise Failure("internal", message)


# Errors become a Failure holding only their message: no cause, no context, no traceback, so
# that nothing of a refused request (its body, its decoded arrays) outlives the answer.


def _or_bad_request(read: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``read(...)``; its ValueError or TypeError (a request that does not decode) as a
    ``"bad_request"`` :class:`Failure`."""
    message = None
    try:
        return read(*args, **kwargs)
    except (ValueError, TypeError) as exc:  # DecodeError is a ValueError
        message = str(exc)
    raise Failure("bad_request", message)


def _or_internal_error(write: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``write(...)``; its ValueError, TypeError or OverflowError (predictions that cannot be
    encoded) as an ``"internal"`` :class:`Failure`."""
    message = None
    try:
        return write(*args, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:  # UnicodeError is a ValueError
        message = f"the predictions cannot be encoded: {exc}"
    raise Failure("internal", message)


_ABANDONED = "nobody waits for this answer any more"


def _takes_parameters(predict_fn: Callable[..., Any]) -> bool:
    """Whether ``predict_fn`` declares a keyword parameter ``parameters`` (then it is called
    with the request's ``parameters`` member, None when absent)."""
    try:
        signature = inspect.signature(predict_fn)
    except (TypeError, ValueError):  # a callable without a signature: called as it always was
        return False
    p = signature.parameters.get("parameters")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)


def _check(job: Job | None) -> None:
    if job is not None and not job.wanted():
        raise Failure("abandoned", _ABANDONED)


def _instances_of(inputs: dict[str, NDArray[Any]]) -> int:
    """N, the instance count every decoded input must share along its first axis (the payload
    layer's own check of batch-first columns).  Requests in every format are batch first; a
    GRPC_TF_TENSORS request, which can carry tensors of any rank, is refused when an input is
    0-d or the counts differ, as is a request with no instances."""
    if not inputs:
        raise Failure("bad_request", "the request holds no instances")
    columns, _ = _or_bad_request(payload.batch_columns, inputs, "inputs", bare_ok=False)
    n = len(columns[0][1])
    if n == 0:
        raise Failure("bad_request", "the request holds no instances")
    return n


def _reshape(name: str, a: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    size = int(np.prod(shape))
    if a.shape[1:] != (size,):
        raise Failure("bad_request", f"feature {name!r} has {a.shape[1]} values per instance; "
                                     f"example_shape {list(shape)} needs {size}")
    return a.reshape((len(a), *shape))


# ------------------------------------------------------------------------- pass_serialized


# Python objects per JSON value, at most (a one-key dict is the largest, 184 bytes on CPython 3.11).
_VALUE_BYTES = 256


def _text_of(value: object, where: str) -> bytes:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str):
        value = value["b64"]
    if not isinstance(value, str):
        raise DecodeError(f"{where}: expected a base64 string, not {type(value).__name__}")
    if not value.isascii():
        raise DecodeError(f"{where}: not base64 (non-ASCII text)")
    return value.encode("ascii")


def _serialized_instances(body: bytes, max_bytes: int) -> tuple[dict[str, NDArray[Any]], object]:
    """``({name: object array of the N base64 texts}, parameters)`` of a SERIALIZED_TF_TENSORS
    request, unparsed (``parameters``: the member's value, None when absent).

    The body is parsed with orjson, which builds a Python object per JSON value.  Before that,
    the values are counted from above (each one but the first follows ``[``, ``{``, ``,`` or
    ``:``) and a body whose objects could pass ``max_bytes`` is refused, so a small body of
    many tiny values cannot take the server's memory."""
    body = bytes(body)
    values = 1 + sum(body.count(c) for c in (b"[", b"{", b",", b":"))
    if values * _VALUE_BYTES + len(body) > max_bytes:
        raise DecodeError(f"the request has up to {values:,} JSON values, more than max_decoded_bytes="
                          f"{max_bytes:,} allows")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    instances = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(instances, list):
        raise DecodeError("the request has no 'instances' list")
    names: list[str] | None = None
    columns: dict[str, list[bytes]] = {}
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict) or (len(inst) == 1 and "b64" in inst):
            inst = {"instances": inst}
        if names is None:
            names = list(inst)
            columns = {name: [] for name in names}
        elif set(inst) != set(names):
            raise DecodeError(f"instances[{i}]: names {sorted(inst)} differ from instance 0's {sorted(names)}")
        for name, value in inst.items():
            columns[name].append(_text_of(value, f"instances[{i}][{name!r}]"))
    out: dict[str, NDArray[Any]] = {}
    for name, texts in columns.items():
        out[name] = np.empty(len(texts), dtype=object)
        out[name][:] = texts
    return out, doc.get("parameters")


def _texts(a: ArrayLike, what: str) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(np.asarray(a, dtype=object).reshape(-1)):
        if isinstance(value, bytes):
            value = value.decode("ascii")  # a UnicodeDecodeError is a ValueError: _or_internal_error's 500
        if not isinstance(value, str):
            raise ValueError(f"pass_serialized: {what}[{i}] is {type(value).__name__}, not base64 text")
        out.append(value)
    return out


def _serialized_predictions(outputs: NDArray[Any] | dict[str, NDArray[Any]]) -> bytes:
    """``{"predictions": [...]}`` holding the texts ``predict_fn`` returned, unchanged."""
    predictions: list[str] | list[dict[str, str]]
    if not isinstance(outputs, dict):
        predictions = _texts(outputs, "the result")
    elif len(outputs) == 1:
        (name, a), = outputs.items()
        predictions = _texts(a, f"output {name!r}")
    else:
        columns = {name: _texts(a, f"output {name!r}") for name, a in outputs.items()}
        predictions = [dict(zip(columns, row)) for row in zip(*columns.values())]
    return orjson.dumps({"predictions": predictions})
