"""Valid request and response bodies in every payload format: :func:`requests`, :func:`responses`.

Each strategy draws arrays, writes them with tensorwire's encoder and gives ``(arrays, body)``
where ``arrays`` is what the format's decoder gives back for ``body`` with its default options
(``decode_request`` / ``decode_response``), so a server under test can be checked against it:

* names: a request's names as drawn, except ND_ARRAYS (bare: ``"instances"``); a JSON response
  of one output is written bare (``"output"``), a gRPC one keeps its name;
* dtypes: the encoded dtype for the TensorProto formats (strings as object arrays of bytes);
  float32 for RAW_JSON and ND_ARRAYS; int64, float32, bool, ``str`` or ``bytes`` (object
  arrays) for the general JSON body; float32 ``(N, values)`` per feature for a
  GRPC_SERIALIZED_TF_EXAMPLES request (an Example does not carry H x W).

Default inputs (``inputs=None``) per format: the TensorProto formats any numeric dtype
(floats from raw bits: NaN payloads, infinities, subnormals), RAW_JSON / ND_ARRAYS /
GRPC_SERIALIZED_TF_EXAMPLES float32 (what Earth Engine sends; JSON numbers decode to float32),
JSON every value kind it has.  Per-instance shapes have rank 0-3 and no zero side (a zero-size
JSON array carries no dtype).  Pass ``inputs=tiles(...)`` (or any strategy of ``{name:
batch-first array}``) for what a particular model takes; ``finite=True`` keeps NaN and the
infinities out (for servers whose JSON parser refuses the tokens).  ND_ARRAYS carries one array
per instance: a request of several bands is written with them stacked channels-last
(:func:`tensorwire.stack_bands`, ``(N, H, W, C)``), as one bare array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from ..payload import PayloadFormat, encode_request, encode_response, stack_bands
from ._arrays import NUMERIC_DTYPES, arrays

__all__ = ["expected_arrays", "requests", "responses"]

Arrays = dict[str, NDArray[Any]]

_TENSOR_FORMATS = (PayloadFormat.SERIALIZED_TF_TENSORS, PayloadFormat.GRPC_TF_TENSORS,
                   PayloadFormat.GRPC_SERIALIZED_TF_TENSORS)
_NUMBER_FORMATS = (PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS)

#: Input names: the awkward ones oversampled.  Excluded: ``b64`` (a JSON object whose only
#: member is ``b64`` is a bytes value, not a named instance), the empty name and lone
#: surrogates (not UTF-8).
NAMES = st.one_of(
    st.sampled_from(["B1", "B2", "B10", "x", "input", "earthengine_in_0", 'q"uote', "back\\slash", "\u00e9",
                     "\U0001f600"]),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6),
).filter(lambda name: name != "b64")

_TEXTS = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)


def _inner_shapes(max_dims: int = 3, max_side: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(1, max_side), max_size=max_dims).map(tuple)


@st.composite
def _json_kind_array(draw: st.DrawFn, shape: tuple[int, ...], finite: bool) -> NDArray[Any]:
    """One array of a kind the general JSON body carries."""
    kind = draw(st.sampled_from(["float", "int", "bool", "str", "bytes"]))
    if kind == "float":
        return draw(arrays([np.float32], shape, finite=finite))
    if kind == "int":
        return draw(arrays([np.int64], shape))
    if kind == "bool":
        return draw(arrays([np.bool_], shape))
    size = int(np.prod(shape, dtype=np.int64))
    items: list[Any] = draw(st.lists(_TEXTS if kind == "str" else st.binary(max_size=8), min_size=size,
                                     max_size=size))
    out = np.empty(size, dtype=object)
    out[:] = items
    return out.reshape(shape)


@st.composite
def _default_inputs(draw: st.DrawFn, fmt: PayloadFormat, min_instances: int, max_instances: int,
                    finite: bool) -> Arrays:
    n = draw(st.integers(min_instances, max_instances))
    count = 1 if fmt is PayloadFormat.ND_ARRAYS else draw(st.integers(1, 3))
    names = draw(st.lists(NAMES, min_size=count, max_size=count, unique=True))
    out: Arrays = {}
    for name in names:
        shape = (n, *draw(_inner_shapes()))
        if fmt in _TENSOR_FORMATS:
            out[name] = draw(arrays(NUMERIC_DTYPES, shape, finite=finite))
        elif fmt is PayloadFormat.JSON:
            out[name] = draw(_json_kind_array(shape, finite))
        else:
            out[name] = draw(arrays([np.float32], shape, finite=finite))
    return out


def _nd_arrays_request(values: Mapping[str, NDArray[Any]]) -> Mapping[str, NDArray[Any]]:
    """What an ND_ARRAYS request carries of ``values``: one array; several are bands, stacked
    channels-last."""
    if len(values) == 1:
        return values
    return {"instances": stack_bands(values, channels_first=False)}


def _as_decoded(arr: NDArray[Any], fmt: PayloadFormat, nonfinite: str, request: bool) -> NDArray[Any]:
    """``arr`` as the format's decoder gives it back (see the module docstring)."""
    if arr.dtype.kind not in "OSU" and arr.dtype.byteorder not in "=|":
        arr = arr.astype(arr.dtype.newbyteorder("="))  # decoders give native byte order
    if arr.dtype.kind in "OSU" and fmt is not PayloadFormat.JSON:
        out = np.empty(arr.size, dtype=object)
        out[:] = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1).tolist()]
        return out.reshape(arr.shape)
    if fmt in _NUMBER_FORMATS or (fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES and request):
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(np.float32)
        if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES:
            return arr.reshape(len(arr), -1)
    elif fmt is PayloadFormat.JSON:
        if arr.dtype.kind in "OSU":
            out = np.empty(arr.size, dtype=object)
            out[:] = arr.reshape(-1).tolist()  # str stays str, bytes stay bytes
            return out.reshape(arr.shape)
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
    if nonfinite == "null" and arr.dtype.kind == "f" and fmt in (*_NUMBER_FORMATS, PayloadFormat.JSON):
        arr = np.where(np.isinf(arr), np.float32(np.nan), arr).astype(arr.dtype)
    return arr


def expected_arrays(values: Mapping[str, NDArray[Any]], format: PayloadFormat | str, *, request: bool = True,
                    nonfinite: str = "token") -> Arrays:
    """What ``decode_request`` (``request=True``) or ``decode_response`` gives back, with its
    default options (``nonfinite`` aside), for a body :func:`tensorwire.encode_request` /
    ``encode_response`` wrote from the mapping ``values`` in ``format``."""
    fmt = PayloadFormat.of(format)
    items = list(values.items())
    if request and fmt is PayloadFormat.ND_ARRAYS:
        items = [("instances", next(iter(_nd_arrays_request(values).values())))]
    elif not request and len(items) == 1 and fmt not in (PayloadFormat.GRPC_TF_TENSORS,
                                                         PayloadFormat.GRPC_SERIALIZED_TF_TENSORS,
                                                         PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES):
        items = [("output", items[0][1])]
    return {name: _as_decoded(np.asarray(a), fmt, nonfinite, request) for name, a in items}


def _strategy(fmt: PayloadFormat, values: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None, request: bool,
              min_instances: int, max_instances: int, finite: bool,
              options: dict[str, Any]) -> st.SearchStrategy[tuple[Arrays, bytes]]:
    encode: Callable[..., bytes] = encode_request if request else encode_response
    drawn = values if values is not None else _default_inputs(fmt, min_instances, max_instances, finite)
    nonfinite = str(options.get("nonfinite", "token"))

    def build(arrays_: Mapping[str, NDArray[Any]]) -> tuple[Arrays, bytes]:
        if request and fmt is PayloadFormat.ND_ARRAYS:
            arrays_ = _nd_arrays_request(arrays_)
        body = encode(dict(arrays_), fmt, **options)
        return expected_arrays(arrays_, fmt, request=request, nonfinite=nonfinite), body

    return drawn.map(build)


def requests(format: PayloadFormat | str, *, inputs: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None = None,
             min_instances: int = 1, max_instances: int = 3, finite: bool = False,
             **options: Any) -> st.SearchStrategy[tuple[Arrays, bytes]]:
    """``(inputs, body)``: a valid request body in ``format`` and the ``{name: array}`` its
    decoder gives back (see the module docstring).  ``inputs``: a strategy of batch-first
    ``{name: array}`` mappings (default: drawn for the format, ``min_instances`` to
    ``max_instances`` instances); ``options`` go to :func:`tensorwire.encode_request`
    (``model_name=``, ``urlsafe=``, ``parameters=``, ...)."""
    return _strategy(PayloadFormat.of(format), inputs, True, min_instances, max_instances, finite, options)


def responses(format: PayloadFormat | str, *, outputs: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None = None,
              min_instances: int = 1, max_instances: int = 3, finite: bool = False,
              **options: Any) -> st.SearchStrategy[tuple[Arrays, bytes]]:
    """``(outputs, body)``: a valid response body in ``format`` (what a model server answers)
    and the ``{name: array}`` :func:`tensorwire.decode_response` gives back.  ``outputs`` and
    ``options`` as for :func:`requests` (``encode_response``'s options)."""
    fmt = PayloadFormat.of(format)
    # A response's outputs are not tied to what the request format carries: ND_ARRAYS may
    # answer several named outputs, and an Examples request is answered with TensorProtos.
    default_fmt = PayloadFormat.GRPC_TF_TENSORS if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES else (
        PayloadFormat.RAW_JSON if fmt is PayloadFormat.ND_ARRAYS else fmt)
    values = outputs if outputs is not None else _default_inputs(default_fmt, min_instances, max_instances, finite)
    return _strategy(fmt, values, False, min_instances, max_instances, finite, options)
