"""A Python function as a model, independent of transport: request bytes in, response bytes out.

:class:`Model` is what both servers (HTTP and gRPC, ``tensorwire.server``) call.  It picks the
request's payload format, decodes it with the payload layer, calls ``predict_fn`` and encodes its
answer in the same format.  Failures come back as :class:`Failure` with the status they map to:

* ``"bad_request"`` (HTTP 400 / gRPC INVALID_ARGUMENT): the request does not decode in any
  configured format, or asks for outputs the model does not have;
  (a request that would decode to more than ``max_decoded_bytes`` of arrays is one of these);
* ``"internal"`` (HTTP 500 / gRPC INTERNAL): ``predict_fn`` raised, or returned something that is
  not one prediction per instance.

Format detection (when more than one format of a transport is configured):

* HTTP JSON: the first instance is looked at in the first 64 KiB of the body, without parsing
  the rest.  A bare list or number is ND_ARRAYS; a named value that is a string or a
  ``{"b64": ...}`` object is SERIALIZED_TF_TENSORS; a named list or number is RAW_JSON.  A body
  whose instances are not found there is decoded with the first configured format, so its
  error message is that decoder's.
* gRPC: the request is read as GRPC_TF_TENSORS; if an input is DT_STRING, the first element of
  the first string input decides: a serialized ``tf.Example`` starts with byte 0x0A (field 1,
  length-delimited), which no base64 text does, so it is GRPC_SERIALIZED_TF_EXAMPLES, and
  anything else GRPC_SERIALIZED_TF_TENSORS.
"""

import re
import threading

import numpy as np
import orjson

from . import payload
from .errors import DecodeError
from .payload import PayloadFormat

F = PayloadFormat
JSON_FORMATS = (F.SERIALIZED_TF_TENSORS, F.RAW_JSON, F.ND_ARRAYS)
GRPC_FORMATS = (F.GRPC_TF_TENSORS, F.GRPC_SERIALIZED_TF_TENSORS, F.GRPC_SERIALIZED_TF_EXAMPLES)
_SERIALIZED = (F.SERIALIZED_TF_TENSORS, F.GRPC_SERIALIZED_TF_TENSORS)

_SNIFF_BYTES = 1 << 16
# "instances": [ then either a bare value, or {"name": value; group 1 is the "{", group 2 the
# value's first character.
_FIRST_INSTANCE = re.compile(rb'"instances"\s*:\s*\[\s*(?:(\{)\s*"(?:[^"\\]|\\.)*"\s*:\s*)?(.)', re.S)


class Failure(Exception):
    """A request that gets an error answer: ``status`` is ``"bad_request"``, ``"too_large"`` or
    ``"internal"``; ``str(exc)`` is the message sent back."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def formats_of(formats):
    """The configured formats as a tuple of members, without repeats (``None``: all six)."""
    if formats is None:
        return JSON_FORMATS + GRPC_FORMATS
    if isinstance(formats, (str, F)):
        formats = [formats]
    out = tuple(dict.fromkeys(F.of(f) for f in formats))
    if not out:
        raise ValueError("formats: at least one payload format")
    return out


def sniff_json_format(body):
    """The JSON payload format of a request body's first instance, or None if not found."""
    m = _FIRST_INSTANCE.search(bytes(body[:_SNIFF_BYTES]))
    if m is None or m.group(2) == b"]":
        return None
    if m.group(1) is None:
        return F.ND_ARRAYS
    return F.SERIALIZED_TF_TENSORS if m.group(2) in b'"{' else F.RAW_JSON


class Model:
    """``predict_fn`` behind the payload layer; one instance serves both transports, from any
    number of threads.  The options are :func:`tensorwire.serve`'s (see its docstring)."""

    def __init__(self, predict_fn, formats=None, *, input_name=None, example_shape=None, pass_serialized=False,
                 dtype=None, max_decoded_bytes=1 << 28, max_concurrency=None):
        if not callable(predict_fn):
            raise TypeError(f"predict_fn must be callable, not {type(predict_fn).__name__}")
        self.predict_fn = predict_fn
        self.formats = formats_of(formats)
        self.json_formats = tuple(f for f in self.formats if f in JSON_FORMATS)
        self.grpc_formats = tuple(f for f in self.formats if f in GRPC_FORMATS)
        self.input_name = input_name
        self.example_shape = None if example_shape is None else tuple(int(d) for d in example_shape)
        self.pass_serialized = bool(pass_serialized)
        self.dtype = dtype
        self.max_decoded_bytes = int(max_decoded_bytes)
        self._slots = None if max_concurrency is None else threading.BoundedSemaphore(int(max_concurrency))

    # ---------------------------------------------------------------------------------- HTTP

    def json_format(self, body):
        if len(self.json_formats) == 1:
            return self.json_formats[0]
        fmt = sniff_json_format(body)
        if fmt is None:
            return self.json_formats[0]
        if fmt not in self.json_formats:
            raise Failure("bad_request", f"the request looks like {fmt.value}, which this server does not take "
                                         f"(it takes {', '.join(f.value for f in self.json_formats)})")
        return fmt

    def handle_json(self, body):
        """The response body for an HTTP JSON request body; :class:`Failure` for an error answer."""
        if not self.json_formats:
            raise Failure("bad_request", "this server takes gRPC payload formats only")
        fmt = self.json_format(body)
        if self.pass_serialized and fmt is F.SERIALIZED_TF_TENSORS:
            inputs = _decode(lambda: _serialized_instances(body))
            return _serialized_predictions(self._predict(inputs, _instances_of(inputs)))
        inputs = _decode(lambda: payload.decode_request(body, fmt, dtype=self.dtype,
                                                        max_bytes=self.max_decoded_bytes))
        outputs = self._predict(inputs, _instances_of(inputs))
        return _encode(lambda: payload.encode_response(outputs, fmt))

    # ---------------------------------------------------------------------------------- gRPC

    def _grpc_decode(self, body):
        """(format, spec, inputs) of a serialized PredictRequest."""
        only = self.grpc_formats[0] if len(self.grpc_formats) == 1 else None
        if only is F.GRPC_SERIALIZED_TF_EXAMPLES and self.input_name is not None:
            return only, *self._grpc_read(body, only, self.input_name)
        fmt = F.GRPC_TF_TENSORS if only is None or only is F.GRPC_SERIALIZED_TF_EXAMPLES else only
        if fmt is F.GRPC_SERIALIZED_TF_TENSORS and self.pass_serialized:
            fmt = F.GRPC_TF_TENSORS  # the strings as they are
        spec, inputs = self._grpc_read(body, fmt)
        strings = [(name, a) for name, a in inputs.items() if a.dtype == object]
        if only is not None and only is not F.GRPC_SERIALIZED_TF_EXAMPLES:
            return only, spec, inputs
        if only is None and not strings:
            return F.GRPC_TF_TENSORS, spec, inputs
        if only is None:
            first = strings[0][1]
            is_example = len(first) > 0 and first.reshape(-1)[0][:1] == b"\n"
            only = F.GRPC_SERIALIZED_TF_EXAMPLES if is_example else F.GRPC_SERIALIZED_TF_TENSORS
            if only not in self.grpc_formats:
                raise Failure("bad_request", f"the request looks like {only.value}, which this server does not "
                                             f"take (it takes {', '.join(f.value for f in self.grpc_formats)})")
        if only is F.GRPC_SERIALIZED_TF_TENSORS:
            if self.pass_serialized:
                return only, spec, inputs
            return only, *self._grpc_read(body, only)
        if len(inputs) != 1:
            raise Failure("bad_request", f"{only.value} carries one input, not {len(inputs)} ({list(inputs)})")
        return only, *self._grpc_read(body, only, next(iter(inputs)))

    def _grpc_read(self, body, fmt, input_name="input"):
        return _decode(lambda: payload.decode_grpc_request(body, fmt, dtype=self.dtype, input_name=input_name,
                                                           max_bytes=self.max_decoded_bytes))

    def handle_grpc(self, body):
        """The serialized PredictResponse for a serialized PredictRequest; :class:`Failure` else."""
        if not self.grpc_formats:
            raise Failure("bad_request", "this server takes HTTP JSON payload formats only")
        fmt, spec, inputs = self._grpc_decode(body)
        if fmt is F.GRPC_SERIALIZED_TF_EXAMPLES and self.example_shape is not None:
            inputs = {name: _reshape(name, a, self.example_shape) for name, a in inputs.items()}
        outputs = self._predict(inputs, _instances_of(inputs))
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
        return _encode(lambda: payload.encode_response(outputs, fmt, model_name=spec["name"]))

    # ------------------------------------------------------------------------------ predicting

    def _predict(self, inputs, n):
        """``predict_fn(inputs)`` as an array or ``{name: array}``, each with ``n`` predictions."""
        try:
            if self._slots is None:
                result = self.predict_fn(inputs)
            else:
                with self._slots:
                    result = self.predict_fn(inputs)
        except Exception as exc:  # noqa: BLE001 - any failure of the model is the answer's 500
            raise Failure("internal", f"predict_fn raised {type(exc).__name__}: {exc}") from exc
        if isinstance(result, dict):
            if not result:
                raise Failure("internal", "predict_fn returned an empty dict")
            outputs = {str(name): np.asarray(a) for name, a in result.items()}
        else:
            outputs = {None: np.asarray(result)}
        for name, a in outputs.items():
            if n is not None and (a.ndim == 0 or len(a) != n):
                what = "its result" if name is None else f"output {name!r}"
                got = "a 0-d array" if a.ndim == 0 else f"{len(a)} predictions"
                raise Failure("internal", f"predict_fn returned {got} in {what} for {n} instances")
        return outputs[None] if None in outputs else outputs


def _decode(read):
    try:
        return read()
    except (ValueError, TypeError) as exc:  # DecodeError is a ValueError
        raise Failure("bad_request", str(exc)) from None


def _encode(write):
    try:
        return write()
    except (ValueError, TypeError, OverflowError) as exc:
        raise Failure("internal", f"the predictions cannot be encoded: {exc}") from None


def _instances_of(inputs):
    for a in inputs.values():
        return len(a) if a.ndim else None
    return None


def _reshape(name, a, shape):
    size = int(np.prod(shape))
    if a.shape[1:] != (size,):
        raise Failure("bad_request", f"feature {name!r} has {a.shape[1]} values per instance; "
                                     f"example_shape {list(shape)} needs {size}")
    return a.reshape((len(a), *shape))


# ------------------------------------------------------------------------- pass_serialized


def _text_of(value, where):
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str):
        value = value["b64"]
    if not isinstance(value, str):
        raise DecodeError(f"{where}: expected a base64 string, not {type(value).__name__}")
    return value.encode("ascii", "strict") if value.isascii() else _not_base64(where)


def _not_base64(where):
    raise DecodeError(f"{where}: not base64 (non-ASCII text)")


def _serialized_instances(body):
    """``{name: object array of the N base64 texts}`` of a SERIALIZED_TF_TENSORS request, unparsed."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    instances = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(instances, list):
        raise DecodeError("the request has no 'instances' list")
    names = None
    columns = {}
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
    out = {}
    for name, texts in columns.items():
        out[name] = np.empty(len(texts), dtype=object)
        out[name][:] = texts
    return out


def _texts(a, what):
    out = []
    for i, value in enumerate(np.asarray(a, dtype=object).reshape(-1)):
        if isinstance(value, bytes):
            value = value.decode("ascii")
        if not isinstance(value, str):
            raise Failure("internal", f"pass_serialized: {what}[{i}] is {type(value).__name__}, not base64 text")
        out.append(value)
    return out


def _serialized_predictions(outputs):
    """``{"predictions": [...]}`` holding the texts ``predict_fn`` returned, unchanged."""
    if not isinstance(outputs, dict):
        predictions = _texts(outputs, "the result")
    elif len(outputs) == 1:
        (name, a), = outputs.items()
        predictions = _texts(a, f"output {name!r}")
    else:
        columns = {name: _texts(a, f"output {name!r}") for name, a in outputs.items()}
        predictions = [dict(zip(columns, row)) for row in zip(*columns.values())]
    return orjson.dumps({"predictions": predictions})
