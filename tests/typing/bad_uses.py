"""Wrong uses of the public API that a type checker must refuse (tests/test_typing.py).

Never run, only checked.  Each wrong line carries ``# type: ignore[<code>]`` naming the error
it must raise; mypy runs with ``warn_unused_ignores`` (part of ``--strict``), so a wrong use
that stops being an error, or fails with another error code, fails the check.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray

import tensorwire
from tensorwire import DecodeError, PayloadFormat, PredictionError


def predict(inputs: dict[str, NDArray[Any]]) -> NDArray[Any]:
    return inputs["x"]


def tensors(data: bytes) -> None:
    tensorwire.encode_tensor(np.zeros(3), form="protobuf")  # type: ignore[arg-type]  # a form that does not exist
    tensorwire.encode_tensor(np.zeros(3), "proto")  # type: ignore[call-arg]  # form is keyword-only
    tensorwire.decode_tensor("CAE=")  # type: ignore[arg-type]  # text, not bytes
    tensorwire.decode_tensor(data, copy="no")  # type: ignore[arg-type]
    name: str = tensorwire.decode_tensor(data)  # type: ignore[assignment]  # an array, not a str


def base64(data: bytes) -> None:
    tensorwire.b64encode("text")  # type: ignore[arg-type]  # text, not bytes
    tensorwire.b64decode(data, alphabet="url")  # type: ignore[arg-type]
    text: str = tensorwire.b64encode(data)  # type: ignore[assignment]  # bytes, not str


def examples(data: bytes) -> None:
    tensorwire.encode_example([("B1", 1.0)])  # type: ignore[arg-type]  # a mapping, not pairs
    tensorwire.decode_example(data)["B1"].reshape(2, 2)  # type: ignore[union-attr]  # a feature may be a list, or None
    # a spec entry is (shape, dtype):
    tensorwire.decode_example(data, spec={"B1": np.float32})  # type: ignore[dict-item]
    context, lists = tensorwire.decode_sequence_example(data, spec={})  # type: ignore[call-arg]  # no spec here


def tfrecords(path: str) -> None:
    tensorwire.read_tfrecord(path, compression="bz2")  # type: ignore[arg-type]
    tensorwire.write_tfrecord(path, ["text"])  # type: ignore[list-item]  # records are bytes
    tensorwire.TFRecordWriter(io.StringIO())  # type: ignore[arg-type]  # a text file
    tensorwire.TFRecordWriter(path, compression="auto")  # type: ignore[arg-type]  # "auto" is for reading only
    for record in tensorwire.read_tfrecord(path):
        record.encode()  # type: ignore[attr-defined]  # records are bytes


def payloads(batch: dict[str, NDArray[Any]], body: bytes) -> None:
    tensorwire.encode_request(batch, "ND_ARRAY")  # type: ignore[call-overload]  # a misspelt format
    fmt = "RAW_JSON"
    tensorwire.encode_request(batch, fmt)  # type: ignore[call-overload]  # a plain str (name it with PayloadFormat.of)
    # a gRPC option for a JSON format:
    tensorwire.encode_request(batch, "ND_ARRAYS", model_name="m")  # type: ignore[call-overload]
    # a JSON option for gRPC:
    tensorwire.encode_request(batch, "GRPC_TF_TENSORS", nonfinite="null")  # type: ignore[call-overload]
    tensorwire.encode_request(batch, "RAW_JSON", float_format="repr")  # type: ignore[call-overload]
    tensorwire.encode_response(batch, "GRPC_TF_TENSORS", form="tensor")  # type: ignore[call-overload]
    tensorwire.encode_response(batch, "SERIALIZED_TF_TENSORS", form="proto")  # type: ignore[call-overload]  # gRPC only
    tensorwire.decode_request(body, "ND_ARRAYS", nonfinite="NaN")  # type: ignore[arg-type]
    tensorwire.decode_response(body, PayloadFormat.RAW_JSON, input_name="x")  # type: ignore[call-arg]  # requests only
    outputs: list[NDArray[Any]] = tensorwire.decode_response(body, "ND_ARRAYS")  # type: ignore[assignment]  # a dict
    tensorwire.stack_bands(batch, channels_first="yes")  # type: ignore[arg-type]
    PayloadFormat.of(3)  # type: ignore[arg-type]


def errors() -> None:
    DecodeError("bad", "12")  # type: ignore[arg-type]  # an offset is an int
    PredictionError("failed", status=1.5)  # type: ignore[arg-type]
    exc = DecodeError("bad")
    exc.offset + 1  # type: ignore[operator]  # the offset may be None
    if tensorwire.backend() == "cython":  # type: ignore[comparison-overlap]  # no such backend
        pass


def client() -> None:
    tensorwire.Client("http://localhost:8080/predict", "ND_ARRAY")  # type: ignore[arg-type]  # a misspelt format
    tensorwire.Client("http://localhost:8080/predict", timeout="5")  # type: ignore[arg-type]


def serving() -> None:
    tensorwire.serve(predict).stop()  # type: ignore[attr-defined]  # block=True returns None
    server: tensorwire.server.Server = tensorwire.serve(predict)  # type: ignore[assignment]  # block=True returns None
    tensorwire.serve(lambda: 1, block=False)  # type: ignore[misc, arg-type]  # predict_fn takes the inputs
    tensorwire.serve(predict, max_pending="64", block=False)  # type: ignore[call-overload]
    tensorwire.serve(predict, http_port="8080")  # type: ignore[call-overload]
    tensorwire.serve(predict, formats=3)  # type: ignore[call-overload]
    tensorwire.serve(predict, block=False).stats()["pending"].upper()  # type: ignore[attr-defined]  # counts are ints


def ee_model() -> None:
    from tensorwire.ee import Model

    Model(8080)  # type: ignore[arg-type]  # a URL, host:port or a Client
    Model("http://localhost:8080/predict", "ND_ARRAY")  # type: ignore[arg-type]  # a misspelt format
    Model("http://localhost:8080/predict", input_tile_size="128")  # type: ignore[arg-type]
    Model("http://localhost:8080/predict").predict_image({"B2": np.zeros((4, 4))}, properties={"when": [1]})  # type: ignore[dict-item]
