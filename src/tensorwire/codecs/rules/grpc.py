"""Rules of the gRPC Predict codec that both twins apply (docs/grpc-payloads.md).

The reference ``tensorwire.codecs.grpc`` and the Cython twin ``tensorwire._native.grpc`` frame
the PredictRequest / PredictResponse envelope each in their own way; everything between the
envelope and the payloads is written once, here, and called by both with their own payload
codecs (the module docstring of ``tensorwire.codecs.grpc`` defines the behaviour):

* the types of the public signatures (``Layout``, ``ResponseLayout``, ``TensorForm``,
  ``Columns``, ``DTypeSpec``, ``PredictSpec``; ``_native/grpc.pyi`` uses them too) and of the
  payload codecs the twins pass in (``EncodeCodecs``, ``DecodeCodecs``);
* the constants: ``LAYOUTS``, ``RESPONSE_LAYOUTS``, ``FORMS``, ``DEFAULT_MAX_BYTES``, the message
  names ``REQUEST`` and ``RESPONSE``;
* writing: :func:`request_fields` and :func:`response_fields` check the encoders' arguments and
  make the map entries' payloads with the codecs passed in;
* reading: :func:`check_decode_options` checks the decoders' arguments before the data is read,
  :func:`new_spec` is the empty request spec the envelope parsers fill, and
  :func:`decode_entries` decodes the parsed map entries with the codecs passed in.

Encoding codecs are ``(encode_tensor, b64encode, encode_example)``, decoding codecs
``(decode_tensor, b64decode, decode_example)``.  A parsed map entry is ``(name, [(start, stop)
of each value occurrence], entry start)``, offsets in the outermost buffer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any, Final, Literal, Protocol, TypedDict, Union, cast

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from ...errors import DecodeError
from . import dtypes as D
from .tensor import stack_tensors
from .wire import WT_LEN, read_length, read_tag, skip_field

# --------------------------------------------------------------------------------------------
# types

Layout = Literal["tensors", "serialized_tensors", "examples"]
"""How a request's columns are laid out (GRPC_TF_TENSORS, GRPC_SERIALIZED_TF_TENSORS,
GRPC_SERIALIZED_TF_EXAMPLES)."""
ResponseLayout = Literal["tensors", "serialized_tensors"]
"""How a response's outputs are laid out."""
TensorForm = Literal["content", "proto"]
"""The TensorProto form of a ``"tensors"`` response's outputs."""
Columns = Union[Mapping[str, ArrayLike], Iterable[tuple[str, ArrayLike]]]
"""The arrays to encode: ``{name: array}`` or ``[(name, array)]``."""
DType = Union[DTypeLike, int, None]
"""A dtype as ``decode_tensor`` takes it: anything ``np.dtype`` takes, a DataType number, or
``"string"``/``bytes``/``object`` for strings; None: the encoded one."""
DTypeSpec = Union[DType, Mapping[str, DType]]
"""``dtype`` of the decoders: one dtype for every name, or ``{name: dtype}``."""
Entry = tuple[str, list[tuple[int, int]], int]
"""A parsed map entry: its name, the ``(start, stop)`` of each occurrence of its value, and the
entry's own offset."""
KeyedPayloads = list[tuple[bytes, bytes]]
"""A map to write: ``[(key as UTF-8, TensorProto bytes)]``."""
Where = tuple[str, int]
"""A DT_STRING tensor's label and message offset, for the errors of its elements."""


class PredictSpec(TypedDict):
    """A ``PredictRequest``'s fields besides its inputs."""

    name: str
    version: int | None
    version_label: str | None
    signature_name: str
    output_filter: list[str]


class EncodeTensor(Protocol):
    def __call__(self, array: ArrayLike, *, form: TensorForm = "content") -> bytes: ...


class B64Encode(Protocol):
    def __call__(self, data: bytes, *, urlsafe: bool = False, pad: bool = True) -> bytes: ...


class EncodeExample(Protocol):
    def __call__(self, features: Mapping[str, ArrayLike], *, sort_keys: bool = True) -> bytes: ...


class DecodeTensor(Protocol):
    def __call__(self, data: bytes | memoryview, *, dtype: DType = None, max_bytes: int = ...) -> NDArray[Any]: ...


class B64Decode(Protocol):
    def __call__(self, text: bytes | str, *, alphabet: Literal["standard", "urlsafe", "any"] = "any") -> bytes: ...


class DecodeExample(Protocol):
    def __call__(self, data: bytes) -> dict[str, Any]: ...


EncodeCodecs = tuple[EncodeTensor, B64Encode, EncodeExample]
"""The payload codecs a twin writes with: ``(encode_tensor, b64encode, encode_example)``."""
DecodeCodecs = tuple[DecodeTensor, B64Decode, DecodeExample]
"""The payload codecs a twin reads with: ``(decode_tensor, b64decode, decode_example)``."""

# --------------------------------------------------------------------------------------------
# constants


LAYOUTS: Final[tuple[Layout, ...]] = ("tensors", "serialized_tensors", "examples")
RESPONSE_LAYOUTS: Final[tuple[ResponseLayout, ...]] = ("tensors", "serialized_tensors")
FORMS: Final[tuple[TensorForm, ...]] = ("content", "proto")
DEFAULT_MAX_BYTES: Final[int] = D.DEFAULT_MAX_BYTES
REQUEST: Final = "PredictRequest"
RESPONSE: Final = "PredictResponse"
INT64_MIN: Final = -(1 << 63)
INT64_MAX: Final = (1 << 63) - 1


# --------------------------------------------------------------------------------------------
# writing: the arguments and the payloads


def _check_layout(layout: object, layouts: tuple[str, ...] = LAYOUTS) -> None:
    if layout not in layouts:
        raise ValueError(f"layout must be one of {layouts}, not {layout!r}")


def _check_form(form: object) -> None:
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, not {form!r}")


def _utf8(text: object, what: str) -> bytes:
    """``text`` (a str) as UTF-8; TypeError for another type, ValueError for a lone surrogate."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be str, not {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} is not valid Unicode (lone surrogate)") from None


def _check_version(version: object) -> int | None:
    """``version`` as an int in the int64 range, or None."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, Integral):
        raise TypeError(f"version must be an int or None, not {type(version).__name__}")
    number = int(version)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"version {number} is out of the int64 range")
    return number


def _output_filter_names(output_filter: Iterable[object]) -> list[bytes]:
    """The ``output_filter`` names as UTF-8 bytes."""
    if isinstance(output_filter, (str, bytes)):
        raise TypeError("output_filter must be a sequence of str, not a single string")
    return [_utf8(name, "output_filter names") for name in output_filter]


def _columns_of(columns: Columns, what: str, batch: bool) -> list[tuple[str, bytes, NDArray[Any]]]:
    """``[(name, key bytes, ndarray)]`` from ``columns``; ``batch`` requires a shared first axis."""
    items: list[object] = list(columns.items()) if isinstance(columns, Mapping) else list(columns)
    if not items:
        raise ValueError(f"{what}: no columns given")
    out: list[tuple[str, bytes, NDArray[Any]]] = []
    seen: set[bytes] = set()
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{what}: columns must be (name, array) pairs, not {type(item).__name__}")
        name, values = item
        key = _utf8(name, f"{what} names")
        if key in seen:
            raise ValueError(f"{what}: name {name!r} appears twice")
        seen.add(key)
        array = np.asarray(values)
        if batch:
            if array.ndim == 0:
                raise ValueError(f"{what}: {name!r} has no instance axis (a 0-d array)")
            if len(array) != len(out[0][2] if out else array):
                raise ValueError(f"{what}: {name!r} has {len(array)} instances, {out[0][0]!r} has {len(out[0][2])}")
        out.append((name, key, array))
    return out


def _float_column(name: str, array: NDArray[Any]) -> NDArray[Any]:
    """An examples column as a float array (ints and bools converted to float32)."""
    bf16 = D.bfloat16_dtype()
    if array.dtype.kind == "f" or (bf16 is not None and array.dtype == bf16):
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float32)
    raise TypeError(
        f"input {name!r}: GRPC_SERIALIZED_TF_EXAMPLES holds float_list features; cannot encode numpy dtype {array.dtype}"
    )


def _string_tensor(values: list[bytes], encode: EncodeTensor, form: TensorForm = "content") -> bytes:
    """A DT_STRING tensor of shape [N] holding ``values`` (bytes).  ``form`` changes nothing:
    ``encode_tensor`` writes strings as ``string_val`` in both forms."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return encode(arr, form=form)


def _serialized_tensors(cols: list[tuple[str, bytes, NDArray[Any]]], encode_tensor: EncodeTensor, b64encode: B64Encode,
                        form: TensorForm = "content") -> KeyedPayloads:
    """``[(key bytes, TensorProto bytes)]``: each batch-first column as a DT_STRING [N] tensor of
    the padded URL-safe base64 of ``encode_tensor(array[i, ...])`` (content form)."""
    # array[i, ...] is an array even for a 1-D object array, whose array[i] would be the element
    # itself: a str or bytes that numpy would turn into a U/S scalar, losing trailing NULs.
    return [
        (key, _string_tensor([b64encode(encode_tensor(array[i, ...]), urlsafe=True, pad=True)
                              for i in range(len(array))], encode_tensor, form))
        for _, key, array in cols
    ]


def _request_inputs(columns: Columns, layout: Layout, input_name: str, encode_tensor: EncodeTensor, b64encode: B64Encode,
                    encode_example: EncodeExample) -> KeyedPayloads:
    """``[(key bytes, TensorProto bytes)]``: the inputs map of a request, with the given codecs."""
    cols = _columns_of(columns, "inputs", batch=True)
    if layout == "tensors":
        return [(key, encode_tensor(array)) for _, key, array in cols]
    if layout == "serialized_tensors":
        return _serialized_tensors(cols, encode_tensor, b64encode)
    key = _utf8(input_name, "input_name")
    floats = [(name, _float_column(name, array)) for name, _, array in cols]
    examples = [encode_example({name: array[i, ...] for name, array in floats}, sort_keys=True)
                for i in range(len(cols[0][2]))]
    return [(key, _string_tensor(examples, encode_tensor))]


def response_fields(columns: Columns, layout: ResponseLayout, model_name: str, form: TensorForm,
                    codecs: EncodeCodecs) -> tuple[bytes, KeyedPayloads]:
    """``(name, outputs)``: the checked model name and ``[(key bytes, TensorProto bytes)]``, the
    payloads made with ``codecs`` = (encode_tensor, b64encode, encode_example)."""
    _check_layout(layout, RESPONSE_LAYOUTS)
    _check_form(form)
    name = _utf8(model_name, "model_name")
    encode_tensor, b64encode, _ = codecs
    if layout == "serialized_tensors":
        return name, _serialized_tensors(_columns_of(columns, "outputs", batch=True), encode_tensor, b64encode, form)
    return name, [(key, encode_tensor(array, form=form)) for _, key, array in _columns_of(columns, "outputs", batch=False)]


def request_fields(
    columns: Columns, layout: Layout, model_name: str, signature_name: str, version: int | None,
    output_filter: Iterable[str], input_name: str, codecs: EncodeCodecs,
) -> tuple[bytes, int | None, bytes, KeyedPayloads, list[bytes]]:
    """The checked arguments of a request, its payloads made with ``codecs`` = (encode_tensor,
    b64encode, encode_example): ``(name, version, signature_name, inputs, output_filter)``."""
    _check_layout(layout)
    name = _utf8(model_name, "model_name")
    signature = _utf8(signature_name, "signature_name")
    checked = _check_version(version)
    filters = _output_filter_names(output_filter)
    return name, checked, signature, _request_inputs(columns, layout, input_name, *codecs), filters


def new_spec() -> PredictSpec:
    """The spec of a request before its ``model_spec`` and ``output_filter`` are parsed: a dict of
    ``name``, ``version``, ``version_label``, ``signature_name`` and ``output_filter``."""
    return {"name": "", "version": None, "version_label": None, "signature_name": "", "output_filter": []}


# --------------------------------------------------------------------------------------------
# reading: the arguments and the payloads


def check_decode_options(layout: object, dtype: DTypeSpec, max_bytes: object, input_name: str = "input",
                         layouts: tuple[str, ...] = LAYOUTS) -> None:
    """Validate the decoders' arguments before the data is read."""
    _check_layout(layout, layouts)
    if layout == "examples":
        _utf8(input_name, "input_name")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, Integral) or max_bytes < 0:
        raise ValueError(f"max_bytes must be an int >= 0, not {max_bytes!r}")
    dtypes: Iterable[Any] = dtype.values() if isinstance(dtype, Mapping) else [dtype]
    for dt in dtypes:
        if dt is None:
            continue
        if layout == "examples":
            try:
                ok = np.dtype(dt) == np.float32
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(f"layout 'examples' decodes float32 arrays; dtype must be None or float32, not {dt!r}")
        else:
            D.expected_datatype(dt)


def _dtype_for(dtype: DTypeSpec, name: str) -> DType:
    # any mapping is {name: dtype} (numpy's dict form of a structured dtype is not a TensorProto dtype)
    return cast(DType, dtype.get(name)) if isinstance(dtype, Mapping) else dtype


class _Budget:
    """What remains of ``max_bytes`` for the arrays still to decode."""

    def __init__(self, max_bytes: int) -> None:
        self.left = int(max_bytes)

    def take(self, arr: NDArray[Any]) -> None:
        self.left -= arr.nbytes


def _entry_bytes(buf: memoryview, ranges: list[tuple[int, int]]) -> memoryview | bytes:
    if len(ranges) == 1:
        return buf[ranges[0][0]:ranges[0][1]]
    return b"".join(bytes(buf[a:b]) for a, b in ranges)


def _message_offset(ranges: list[tuple[int, int]], inner: int) -> int:
    """The message's offset of byte ``inner`` of a map entry's TensorProto (its ``ranges``
    concatenated)."""
    for a, b in ranges:
        if inner < b - a:
            return a + inner
        inner -= b - a
    return ranges[-1][1] + inner  # the end of the TensorProto (a truncation)


def _tensor(buf: memoryview, entry: Entry, dtype: DType, budget: _Budget, label: str,
            decode_tensor: DecodeTensor) -> tuple[NDArray[Any], Where]:
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


def _strings(buf: memoryview, entry: Entry, budget: _Budget, label: str,
             decode_tensor: DecodeTensor) -> tuple[NDArray[Any], Where]:
    """The elements of a DT_STRING [N] input."""
    arr, where = _tensor(buf, entry, "string", budget, label, decode_tensor)
    if arr.ndim != 1:
        raise DecodeError(f"{where[0]}: expected a DT_STRING tensor of shape [N], not shape {list(arr.shape)}", where[1])
    return arr, where


def _output(buf: memoryview, entry: Entry, dtype: DType, budget: _Budget, label: str,
            codecs: DecodeCodecs) -> NDArray[Any]:
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


def _element_offset(buf: memoryview, entry: Entry, i: int) -> int | None:
    """The message offset of element ``i``'s bytes: the ``i``-th string_val of the entry's
    TensorProto (already decoded, so valid), read again only for an error; None for an element
    the TensorProto does not hold (a shape with more elements than values is filled)."""
    ranges = entry[1]
    data = memoryview(_entry_bytes(buf, ranges))
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


def _element_error(buf: memoryview, entry: Entry, where: Where, i: int, detail: str = "",
                   exc: DecodeError | None = None) -> DecodeError:
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


def _instances(buf: memoryview, entry: Entry, dtype: DType, budget: _Budget, label: str, codecs: DecodeCodecs,
               strings: tuple[NDArray[Any], Where] | None = None) -> NDArray[Any]:
    """A serialized_tensors input: the stack of its elements' tensors.  ``strings`` is
    ``(array, where)`` when the DT_STRING tensor is already decoded."""
    decode_tensor, b64decode, _ = codecs
    texts, where = strings or _strings(buf, entry, budget, label, decode_tensor)
    if len(texts) == 0:
        return np.empty((0,), dtype=np.float32 if dtype is None else D.numpy_dtype(D.expected_datatype(dtype)))
    arrays: list[NDArray[Any]] = []
    for i, text in enumerate(texts):
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
    stacked: NDArray[Any] = stack_tensors(arrays)
    return stacked


def _examples(buf: memoryview, entry: Entry, budget: _Budget, label: str, max_bytes: int,
              codecs: DecodeCodecs) -> dict[str, NDArray[Any]]:
    """An examples input: ``{feature: float32 (N, values)}``."""
    decode_tensor, _, decode_example = codecs
    strings, where = _strings(buf, entry, budget, label, decode_tensor)
    columns: dict[str, list[NDArray[Any]]] = {}
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
    stacked: dict[str, NDArray[Any]] = {name: stack_tensors(values) for name, values in columns.items()}
    return stacked


def decode_entries(buf: memoryview, entries: list[Entry], layout: Layout, dtype: DTypeSpec, max_bytes: int,
                   input_name: str, request: bool, codecs: DecodeCodecs) -> dict[str, NDArray[Any]]:
    """``{name: array}`` from parsed map entries (a request's inputs or a response's outputs),
    decoded with ``codecs`` = (decode_tensor, b64decode, decode_example)."""
    what = REQUEST + ".inputs" if request else RESPONSE + ".outputs"
    budget = _Budget(max_bytes)
    out: dict[str, NDArray[Any]] = {}
    if layout == "examples":
        names = list(dict.fromkeys(entry[0] for entry in entries))
        if names != [input_name]:
            raise DecodeError(f"{what}: layout 'examples' needs exactly one input, named {input_name!r}; got {names}")
        last = entries[-1]
        for entry in entries:  # every entry is decoded: the shadowed ones must be valid too
            result = _examples(buf, entry, budget, f"{what}[{entry[0]!r}]", max_bytes, codecs)
            if entry is last:
                return result
    for entry in entries:
        name = entry[0]
        label = f"{what}[{name!r}]"
        dt = _dtype_for(dtype, name)
        if layout == "serialized_tensors":
            out[name] = (_instances(buf, entry, dt, budget, label, codecs) if request
                         else _output(buf, entry, dt, budget, label, codecs))
        else:
            out[name] = _tensor(buf, entry, dt, budget, label, codecs[0])[0]
    return out
