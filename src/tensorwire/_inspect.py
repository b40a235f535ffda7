"""``python -m tensorwire inspect FILE``: say what a payload is and summarise its arrays.

Detection, in order (the first reading that decodes wins, and is what is printed):

* JSON (the body starts with ``{`` after whitespace): ``predictions`` or ``outputs`` makes it
  a response, ``instances`` or ``inputs`` a request, ``error`` an error response.  The format
  is the one the server's rules (``tensorwire._sniff``) name from the first instance (or
  prediction), ND_ARRAYS when there is none; a columnar body (``inputs``/``outputs``) is the
  general body, JSON.  For JSON the form (row or columnar) and a request's ``parameters`` are
  printed too.
* Anything else is read as a serialized gRPC message.  A ``PredictRequest`` (it reads as
  GRPC_TF_TENSORS with at least one input, or is empty) is named by the server's rules
  (``tensorwire._sniff`` again, from its first DT_STRING ``[N]`` input) and read in that
  format, GRPC_SERIALIZED_TF_EXAMPLES under its one input's name.  A request named serialized
  that does not read so is refused, as a server taking that format refuses it.  Anything else
  is read as a ``PredictResponse`` (GRPC_SERIALIZED_TF_TENSORS when its DT_STRING outputs hold
  base64 TensorProtos).

JSON numbers are decoded as float64 here, so the summary does not round them, except in the
general body (JSON), whose arrays are shown in the dtypes it decodes into (int64, float32, bool;
strings and bytes as object arrays, summarised by count and length).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TextIO

import numpy as np
from numpy.typing import NDArray

from . import payload
from ._sniff import examples_input_name, sniff_grpc_format, sniff_json_format
from .errors import DecodeError, PredictionError
from .payload import PayloadFormat

F = PayloadFormat


def _json_format(data: bytes, key: Literal["instances", "predictions"]) -> PayloadFormat:
    """The format of the first instance or prediction, by the server's own rules; ND_ARRAYS
    when there is none (an empty list, or an error response)."""
    return sniff_json_format(data, key) or F.ND_ARRAYS


def detect(data: bytes) -> tuple[str, dict[str, NDArray[Any]]]:
    """``(description, {name: array})`` for a payload's bytes; DecodeError if it is none."""
    if data.lstrip()[:1] == b"{":
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise DecodeError(f"not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise DecodeError("a JSON payload is an object")
        if "predictions" in doc or "outputs" in doc or "error" in doc:
            fmt = _json_format(data, "predictions")
            kw: dict[str, Any] = {} if fmt in (F.SERIALIZED_TF_TENSORS, F.JSON) else {"dtype": np.float64}
            try:
                arrays = payload.decode_response(data, fmt, **kw)
            except PredictionError as exc:
                return f"HTTP JSON error response: {exc.message}", {}
            return f"HTTP JSON response, {_name(fmt, 'outputs' in doc and 'predictions' not in doc)}", arrays
        if "instances" in doc or "inputs" in doc:
            fmt = _json_format(data, "instances")
            kw = {} if fmt in (F.SERIALIZED_TF_TENSORS, F.JSON) else {"dtype": np.float64}
            read = payload.read_request(data, fmt, **kw)
            what = f"HTTP JSON request, {_name(fmt, read.columnar)}"
            if read.parameters is not None:
                text = json.dumps(read.parameters, ensure_ascii=False)
                what += f"; parameters: {text if len(text) <= 200 else text[:200] + '...'}"
            return what, read.inputs
        raise DecodeError("a JSON object with none of 'instances', 'inputs', 'predictions', 'outputs', 'error'")
    errors: list[str] = []
    request = _grpc_request(data, errors)
    if request is not None:
        return request
    try:
        arrays = payload.decode_response(data, F.GRPC_TF_TENSORS)
    except DecodeError as exc:
        errors.append(f"PredictResponse: {exc}")
    else:
        if any(a.dtype == object for a in arrays.values()):
            try:  # DT_STRING outputs: GRPC_SERIALIZED_TF_TENSORS's base64 TensorProtos, if they are
                return ("gRPC PredictResponse, GRPC_SERIALIZED_TF_TENSORS",
                        payload.decode_response(data, F.GRPC_SERIALIZED_TF_TENSORS))
            except DecodeError:
                pass
        return "gRPC PredictResponse", arrays
    raise DecodeError("not a payload tensorwire knows:\n  " + "\n  ".join(errors))


def _name(fmt: PayloadFormat, columnar: bool) -> str:
    if fmt is not F.JSON:
        return str(fmt.value)
    return f"JSON (the general predict body; {'columnar' if columnar else 'row'} form)"


def _grpc_request(data: bytes, errors: list[str]) -> tuple[str, dict[str, NDArray[Any]]] | None:
    """``(description, {name: array})`` for a serialized PredictRequest, named by the server's
    rules; None (with the reason added to ``errors``) if ``data`` is not one."""
    try:
        inputs = payload.decode_request(data, F.GRPC_TF_TENSORS)
    except (DecodeError, ValueError, TypeError) as exc:
        errors.append(f"PredictRequest: {exc}")
        return None
    if not inputs and data:
        errors.append("PredictRequest: no inputs")
        return None
    fmt = sniff_grpc_format(inputs)
    if fmt is not F.GRPC_TF_TENSORS:
        try:
            name = examples_input_name(inputs) if fmt is F.GRPC_SERIALIZED_TF_EXAMPLES else "input"
            inputs = payload.decode_request(data, fmt, input_name=name)
        except (DecodeError, ValueError, TypeError) as exc:
            raise DecodeError(f"a gRPC PredictRequest whose strings name it {fmt.value}, which a server taking "
                              f"that format refuses (one taking GRPC_TF_TENSORS but not {fmt.value} reads "
                              f"them as text): {exc}") from None
    return f"gRPC PredictRequest, {fmt.value}", inputs


def _row(name: str, a: NDArray[Any]) -> list[str]:
    cells = [str(name), str(a.dtype), "x".join(map(str, a.shape)) or "scalar"]
    if a.dtype.kind in "biuf" and a.size:
        x = a.astype(np.float64)
        finite = x[np.isfinite(x)]
        stats = (finite.min(), finite.max(), finite.mean()) if finite.size else (np.nan,) * 3
        cells += [f"{v:.6g}" for v in stats] + [str(int(np.isnan(x).sum()))]
    elif a.dtype.kind in "OSU" and a.size:
        # strings and bytes: a count and lengths (characters for str, bytes for bytes)
        items = a.reshape(-1).tolist()
        kinds = {type(v).__name__ for v in items}
        cells[1] = f"{cells[1]} ({'/'.join(sorted(kinds))}, {len(items)})"
        lengths = [len(v) if isinstance(v, (str, bytes)) else 0 for v in items]
        cells += [f"len {min(lengths)}", f"len {max(lengths)}", f"len {sum(lengths) / len(lengths):.6g}", ""]
    else:
        cells += ["", "", "", ""]
    return cells


def table(arrays: Mapping[str, NDArray[Any]]) -> str:
    headers = ["name", "dtype", "shape", "min", "max", "mean", "NaN"]
    rows = [_row(n, a) for n, a in arrays.items()]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [headers, *rows])


def run(data: bytes, out: TextIO) -> int:
    """Print what ``data`` is and a row per array; 0, or 1 if it is not a payload."""
    try:
        what, arrays = detect(data)
    except DecodeError as exc:
        print(f"tensorwire inspect: {exc}", file=out)
        return 1
    print(f"{what}; {len(data):,} bytes", file=out)
    if arrays:
        print(table(arrays), file=out)
    return 0
