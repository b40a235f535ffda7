"""The hostile probes of a check: a handful of hand-chosen bodies an endpoint must refuse, each
labelled with what is wrong with it, and how their answers are judged.

The bodies start from a valid one-instance request of the inputs checked (so a probe differs
from a request the endpoint accepts by the one thing its label names):

========================  =====================================  ====================================
probe                     JSON formats (HTTP)                    gRPC formats
========================  =====================================  ====================================
truncated body            the valid body cut in half             the valid PredictRequest cut in half
not JSON / not protobuf   bytes that are neither                 ``0xff`` bytes (an invalid tag)
wrong member              ``"instancez"`` in place of            no inputs (an empty PredictRequest)
                          ``"instances"``
ragged instances          two instances of different shapes      GRPC_TF_TENSORS: two inputs of
                                                                 different instance counts; the
                                                                 serialized formats: two strings
                                                                 holding tensors / Examples of
                                                                 different sizes
bad base64                SERIALIZED_TF_TENSORS: a ``!`` in      GRPC_SERIALIZED_TF_TENSORS:
                          the middle of each valid text; JSON:   ``"C!!!!..."`` strings
                          ``{"b64": "!!!!..."}``
bad number text           RAW_JSON: the last number of the
                          first band made ``"1.5.5"``
bad TensorProto                                                  GRPC_TF_TENSORS: the tensor cut
bad Example                                                      GRPC_SERIALIZED_TF_EXAMPLES: a
                                                                 truncated tf.Example
========================  =====================================  ====================================

Decisions:

* An HTTP probe passes with a 4xx status whose body is a JSON object with a string ``"error"``
  member (what Vertex AI and TF Serving send, and what Earth Engine and
  :class:`tensorwire.PredictionError` read).  A gRPC probe passes with INVALID_ARGUMENT only:
  TF Serving's status for a request that does not parse (another 4xx-like code, such as
  FAILED_PRECONDITION, fails and is named).
* It fails with a 2xx (a hostile body accepted), a 5xx / another gRPC code, no answer within
  the timeout (named as a hang) or a connection dropped or refused.  After a probe without an
  answer in time the other probes are not sent (each would wait as long).
* HTTP probes are sent with one ``urllib3`` pool, no retries, a connect timeout and a total
  timeout; gRPC probes with a deadline.  (urllib3 bounds each read of the answer by what is
  left of the total, so an endpoint trickling bytes could stretch the wait past it.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..b64 import b64encode
from ..codecs.rules.wire import encode_len_field
from ..example import encode_example
from ..payload import GRPC_FORMATS, PayloadFormat, encode_request
from ..tensor import encode_tensor

PREDICT = "/tensorflow.serving.PredictionService/Predict"

#: ``columns(n, grow)``: ``n`` valid instances as encode_request's columns, each instance's
#: height grown by ``grow`` pixels.
Columns = Callable[[int, int], dict[str, NDArray[Any]]]


def probes(fmt: PayloadFormat, columns: Columns, options: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """``[(label, body)]``: the probes for ``fmt`` (see the module docstring)."""
    if fmt in GRPC_FORMATS:
        return _grpc_probes(fmt, columns, options)
    return _json_probes(fmt, columns, options)


def _body(fmt: PayloadFormat, cols: dict[str, NDArray[Any]], options: Mapping[str, Any]) -> bytes:
    data: Any = next(iter(cols.values())) if fmt is PayloadFormat.ND_ARRAYS else cols
    body: bytes = encode_request(data, fmt, **options)
    return body


def _json_probes(fmt: PayloadFormat, columns: Columns, options: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    good = _body(fmt, columns(1, 0), options)
    doc = json.loads(good)
    wrong = dict(doc)
    wrong["instancez"] = wrong.pop("instances")
    other = json.loads(_body(fmt, columns(1, 1), options))["instances"][0]
    ragged = dict(doc, instances=[doc["instances"][0], other])
    out = [
        ("truncated body", good[:len(good) // 2]),
        ("not JSON", b"\x89PNG\r\n\x1a\n this is not JSON {"),
        ("wrong member", _dumps(wrong)),
        ("ragged instances", _dumps(ragged)),
    ]
    names = list(columns(1, 0))
    if fmt is PayloadFormat.SERIALIZED_TF_TENSORS:
        instance = dict(doc["instances"][0])
        for n in names:  # the valid text with a character in its middle replaced
            text = instance[n]
            instance[n] = text[:len(text) // 2] + "!" + text[len(text) // 2 + 1:]
        out.append(("bad base64", _dumps(dict(doc, instances=[instance]))))
    elif fmt is PayloadFormat.JSON:
        out.append(("bad base64", _dumps({"instances": [{n: {"b64": "!!!!not*base64"} for n in names}]})))
    elif fmt is PayloadFormat.RAW_JSON:
        doc = json.loads(good)
        instance = doc["instances"][0]
        leaves = instance[names[0]]  # the valid instance with its first band's last number text made invalid
        while isinstance(leaves[-1], list):
            leaves = leaves[-1]
        leaves[-1] = "1.5.5"
        out.append(("bad number text", _dumps(doc)))
    return out


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _request(entries: list[tuple[str, bytes]], options: Mapping[str, Any]) -> bytes:
    """A PredictRequest of ``(input name, TensorProto bytes)`` entries (and the model name, if given)."""
    name = str(options.get("model_name") or "").encode()
    spec = encode_len_field(1, encode_len_field(1, name)) if name else b""
    return spec + b"".join(encode_len_field(2, encode_len_field(1, k.encode()) + encode_len_field(2, v))
                           for k, v in entries)


def _strings(values: list[bytes]) -> bytes:
    """A DT_STRING ``[len(values)]`` TensorProto."""
    return encode_tensor(np.array(values, dtype=object), form="proto")


def _grpc_probes(fmt: PayloadFormat, columns: Columns, options: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    good = _body(fmt, columns(1, 0), options)
    out = [
        ("truncated body", good[:len(good) // 2]),
        ("not protobuf", b"\xff" * 32),
        ("no inputs", _request([], options)),
    ]
    one, grown = columns(1, 0), columns(1, 1)
    name, first = next(iter(one.items()))
    if fmt is PayloadFormat.GRPC_TF_TENSORS:
        two = np.concatenate([first, first])
        out.append(("ragged instances", _request(
            [(name, encode_tensor(first, form="proto")), (name + "_2", encode_tensor(two, form="proto"))], options)))
        tensor = encode_tensor(first, form="proto")
        out.append(("bad TensorProto", _request([(name, tensor[:len(tensor) // 2])], options)))
    elif fmt is PayloadFormat.GRPC_SERIALIZED_TF_TENSORS:
        texts = [b64encode(encode_tensor(first[0])), b64encode(encode_tensor(grown[name][0]))]
        out.append(("ragged instances", _request([(name, _strings(texts))], options)))
        out.append(("bad base64", _request([(name, _strings([b"C!!!!not*base64"]))], options)))
    else:
        input_name = str(options.get("input_name", "input"))
        examples = [encode_example({k: v[0] for k, v in cols.items()}) for cols in (one, grown)]
        out.append(("ragged instances", _request([(input_name, _strings(examples))], options)))
        out.append(("bad Example", _request([(input_name, _strings([examples[0][:len(examples[0]) // 2]]))],
                                            options)))
    return out


class HttpProber:
    """Sends probe bodies over HTTP and judges the answers (the module docstring's rules)."""

    def __init__(self, url: str, timeout: float, headers: Mapping[str, str]) -> None:
        import urllib3

        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **headers}
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(
            total=timeout, connect=min(timeout, 10.0)))

    def send(self, body: bytes) -> tuple[bool, str, bool]:
        """``(passed, what came back, no answer in time)``."""
        import urllib3

        e = urllib3.exceptions
        try:
            r = self._pool.request("POST", self.url, body=body, headers=self.headers, retries=False,
                                   preload_content=True)
        except e.NewConnectionError as exc:  # before TimeoutError: urllib3 2 derives it from ConnectTimeoutError
            return False, f"cannot connect ({_short(exc)})", False
        except e.ConnectTimeoutError:
            return False, f"no connection within {min(self.timeout, 10.0):g} s", True
        except (e.ReadTimeoutError, e.TimeoutError):
            return False, f"no answer within {self.timeout:g} s (a hang)", True
        except e.ProtocolError as exc:
            return False, f"connection dropped without an answer ({_short(exc)})", False
        except e.HTTPError as exc:
            return False, f"cannot reach the endpoint ({_short(exc)})", False
        status, data = r.status, bytes(r.data)
        if status < 400:
            return False, f"HTTP {status}: a hostile body was accepted", False
        if status >= 500:
            return False, f"HTTP {status} (a server error, not a refusal): {_text(data)}", False
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if not (isinstance(doc, dict) and isinstance(doc.get("error"), str)):
            return False, f"HTTP {status} but the error body is not {{\"error\": \"...\"}}: {_text(data)}", False
        return True, f"HTTP {status}: {_short(doc['error'], 120)}", False

    def close(self) -> None:
        self._pool.clear()


class GrpcProber:
    """Sends probe messages over gRPC and judges the answers (the module docstring's rules)."""

    def __init__(self, target: str, timeout: float, headers: Mapping[str, str]) -> None:
        import grpc

        self.timeout = timeout
        self.metadata = tuple((k.lower(), v) for k, v in headers.items()) or None
        if target.startswith("grpcs://"):
            self._channel = grpc.secure_channel(target[8:], grpc.ssl_channel_credentials())
        else:
            self._channel = grpc.insecure_channel(target.removeprefix("grpc://"))
        self._call: Any = self._channel.unary_unary(PREDICT)

    def send(self, body: bytes) -> tuple[bool, str, bool]:
        import grpc

        try:
            self._call(body, timeout=self.timeout, metadata=self.metadata)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            if code is grpc.StatusCode.INVALID_ARGUMENT:
                return True, f"{code.name}: {_short(exc.details() or '', 120)}", False
            if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                return False, f"no answer within {self.timeout:g} s (a hang)", True
            return False, f"{code.name}, expected INVALID_ARGUMENT: {_short(exc.details() or '')}", False
        return False, "OK: a hostile message was accepted", False

    def close(self) -> None:
        self._channel.close()


def _text(data: bytes) -> str:
    text = data[:200].decode("utf-8", "replace").strip()
    return repr(text) if text else "(empty body)"


def _short(value: object, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
