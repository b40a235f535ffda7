"""Uses of the public API that must type-check under ``mypy --strict`` (tests/test_typing.py).

Never run, only checked: each ``assert_type`` pins what a user's type checker sees.
"""

from __future__ import annotations

import io
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from typing_extensions import assert_type

import tensorwire
from tensorwire import DecodeError, PayloadFormat, PredictionError
from tensorwire.b64 import b64decode, b64encode
from tensorwire.ee import Model
from tensorwire.example import decode_example, decode_sequence_example, encode_example, encode_sequence_example
from tensorwire.payload import RequestSpec, decode_grpc_request
from tensorwire.server import Server
from tensorwire.tensor import decode_tensor, encode_tensor
from tensorwire.tfrecord import TFRecordWriter, crc32c, masked_crc32c, read_tfrecord, write_tfrecord


def tensors() -> None:
    tile = np.zeros((4, 4), np.float32)
    content = assert_type(encode_tensor(tile), bytes)
    assert_type(encode_tensor(tile, form="proto"), bytes)
    assert_type(tensorwire.encode_tensor([1, 2, 3]), bytes)
    assert_type(decode_tensor(content), NDArray[Any])
    assert_type(decode_tensor(bytearray(content), dtype=np.float32, copy=False, max_bytes=1 << 20), NDArray[Any])
    assert_type(decode_tensor(memoryview(content), dtype="string"), NDArray[Any])
    assert_type(tensorwire.decode_tensor(content, dtype=1), NDArray[Any])  # a DataType number


def base64() -> None:
    text = assert_type(b64encode(b"\x00\x01", urlsafe=True, pad=False), bytes)
    assert_type(b64decode(text, alphabet="urlsafe"), bytes)
    assert_type(tensorwire.b64decode("AAE=", alphabet="standard"), bytes)
    assert_type(b64encode(np.arange(3, dtype=np.uint8)), bytes)


def examples() -> None:
    data = encode_example({"B1": np.ones(4, np.float32), "id": 7, "name": "x", "tags": [b"a", b"b"], "t": ("a", "b")},
                          sort_keys=False)
    features = decode_example(data)
    value = features["B1"]
    if isinstance(value, np.ndarray):
        assert_type(value, "NDArray[np.float32] | NDArray[np.int64]")
    elif value is not None:
        assert_type(value, list[bytes])
    assert_type(decode_example(data, spec={"B1": ((2, 2), np.float32), "id": (1, np.int64), "name": ([], bytes)}),
                dict[str, NDArray[Any]])
    seq = encode_sequence_example({"id": 1}, {"frames": [np.zeros(3, np.float32)] * 2, "rows": np.zeros((2, 3))})
    context, lists = decode_sequence_example(seq)
    assert_type(lists["frames"], "list[NDArray[np.float32] | NDArray[np.int64] | list[bytes] | None]")


def tfrecords(path: str) -> None:
    assert_type(write_tfrecord(path, [b"a", bytearray(b"b")], compression="gzip"), int)
    with TFRecordWriter(io.BytesIO(), compression=None) as writer:
        assert_type(writer, TFRecordWriter)
        writer.write(b"record")
        writer.flush()
        assert_type(writer.closed, bool)
    for record in read_tfrecord(path, compression="auto", verify=False, max_record_bytes=1 << 20):
        assert_type(record, bytes)
    assert_type(next(iter(tensorwire.read_tfrecord(io.BytesIO(b"")))), bytes)
    assert_type(crc32c(b"x") ^ masked_crc32c(b"x"), int)


def payloads() -> None:
    batch = {"B1": np.zeros((2, 8, 8), np.float32), "B2": np.zeros((2, 8, 8), np.float32)}
    for fmt in ("SERIALIZED_TF_TENSORS", "RAW_JSON"):  # a loop variable is a plain str: name it with .of
        body = tensorwire.encode_request(batch, PayloadFormat.of(fmt))
        assert_type(tensorwire.decode_request(body, PayloadFormat.of(fmt)), dict[str, NDArray[Any]])
    json_body = tensorwire.encode_request(batch, "SERIALIZED_TF_TENSORS", urlsafe=False, pad=False)
    tensorwire.encode_request(batch, PayloadFormat.RAW_JSON, nonfinite="null", float_format="tolist")
    tensorwire.encode_request(np.zeros((2, 3)), "ND_ARRAYS")
    tensorwire.encode_request([{"B1": np.zeros((8, 8))}, {"B1": np.ones((8, 8))}], "RAW_JSON")
    assert_type(tensorwire.decode_request(json_body, "SERIALIZED_TF_TENSORS", dtype={"B1": np.float32}),
                dict[str, NDArray[Any]])
    tensorwire.decode_request(json_body.decode(), "RAW_JSON", dtype=np.float64, nonfinite="error", max_depth=8)
    grpc_body = tensorwire.encode_request(batch, "GRPC_TF_TENSORS", model_name="m", signature_name="serving_default",
                                          version=3, output_filter=["out"])
    tensorwire.encode_request(batch, PayloadFormat.GRPC_SERIALIZED_TF_TENSORS)
    tensorwire.encode_request(batch, "GRPC_TF_EXAMPLES", input_name="examples")
    spec, inputs = decode_grpc_request(grpc_body, PayloadFormat.GRPC_TF_TENSORS)
    assert_type(spec, RequestSpec)
    assert_type(spec["version"], "int | None")
    assert_type(inputs, dict[str, NDArray[Any]])
    tensorwire.decode_request(grpc_body, "GRPC_SERIALIZED_TF_EXAMPLES", input_name="examples", max_bytes=1 << 20)
    response = tensorwire.encode_response(np.zeros((2, 1)), "GRPC_TF_TENSORS", model_name="m", form="proto")
    assert_type(tensorwire.decode_response(response, "GRPC_TF_TENSORS"), dict[str, NDArray[Any]])
    tensorwire.encode_response({"p": np.zeros((2, 1))}, "ND_ARRAYS", nonfinite="token")
    tensorwire.decode_response(b'{"predictions": [1, 2]}', PayloadFormat.ND_ARRAYS, dtype=np.int64)
    assert_type(tensorwire.stack_bands(batch, ["B2", "B1"], channels_first=False), NDArray[Any])
    assert_type(PayloadFormat.of("GRPC_TF_EXAMPLES"), PayloadFormat)
    assert_type(tensorwire.backend(), Literal["native", "python"])


def errors(data: bytes) -> None:
    try:
        tensorwire.decode_tensor(data)
    except DecodeError as exc:
        assert_type(exc.head, str)
        assert_type(exc.offset, "int | None")
        assert_type(exc.tail, str)
        assert_type(exc.within("outer: ", 4, lambda i: i + 4), DecodeError)
    try:
        tensorwire.decode_response(data, "ND_ARRAYS")
    except PredictionError as exc:
        assert_type(exc.message, str)
        assert_type(exc.status, "int | str | None")
        print(exc.error)


def client() -> None:
    with tensorwire.Client("http://localhost:8080/predict", "ND_ARRAYS", timeout=5, retries=1,
                           headers={"x-key": "k"}, auth=lambda: {"authorization": "Bearer t"},
                           max_payload_bytes=1 << 20, concurrency=4, dtype=np.float32) as c:
        assert_type(c.predict(np.zeros((3, 2))), dict[str, NDArray[Any]])
    grpc_client = tensorwire.Client("localhost:8500", PayloadFormat.GRPC_TF_TENSORS, model_name="m")
    assert_type(grpc_client.predict({"x": np.zeros((3, 2))})["output"], NDArray[Any])
    grpc_client.close()


def predict(inputs: dict[str, NDArray[Any]]) -> NDArray[np.float32]:
    return np.zeros(len(next(iter(inputs.values()))), np.float32)


def predict_named(inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[np.float32]]:
    return {"p": predict(inputs)}


def serving() -> None:
    server = tensorwire.serve(predict, formats=["ND_ARRAYS", PayloadFormat.GRPC_TF_TENSORS], host="127.0.0.1",
                              http_port=0, grpc_port=None, max_body_bytes=1 << 20, dtype=np.float32,
                              example_shape=(8, 8, 1), max_concurrency=2, max_pending=None, header_timeout=2.5,
                              shutdown_grace=0, log_level="info", block=False)
    assert_type(server, Server)
    assert_type(server.http_url, str)
    assert_type(server.grpc_target, "str | None")
    assert_type(server.stats()["pending"], int)
    server.stop(grace=1.5)
    assert_type(tensorwire.serve(predict_named, formats="GRPC_SERIALIZED_TF_EXAMPLES"), None)
    assert_type(tensorwire.serve(lambda inputs: inputs["x"], block=True), None)


def predict_with_parameters(inputs: dict[str, NDArray[Any]], parameters: Any = None) -> NDArray[np.int64]:
    return np.array([len(t) for t in inputs["instances"]])


def general_body() -> None:
    texts = np.array(["the quick brown fox", "jumps"])
    body = tensorwire.encode_request(texts, "JSON", parameters={"k": 5})
    assert_type(tensorwire.encode_request({"x": texts}, PayloadFormat.JSON, columnar=True), bytes)
    assert_type(tensorwire.encode_response(texts, "JSON", columnar=True), bytes)
    request = tensorwire.read_request(body, "JSON", dtype={"x": np.float64})
    assert_type(request, tensorwire.Request)
    assert_type(request.inputs, "dict[str, NDArray[Any]]")
    assert_type(request.columnar, bool)
    assert_type(request.signature_name, "str | None")
    assert_type(tensorwire.serve(predict_with_parameters, formats=["JSON"], block=True), None)


def ee_model() -> None:
    m = Model("http://localhost:8080/predict", "SERIALIZED_TF_TENSORS", input_tile_size=[128, 128],
              input_overlap_size=16, output_bands={"class": np.uint8, "prob": (np.float32, 1)},
              input_properties=["year"], input_type_override={"B2": np.float32}, max_payload_bytes=1_500_000,
              concurrency=4, timeout=30.0)
    band = np.zeros((256, 256), np.float32)
    out = m.predict_image({"B2": band, "B3": band}, properties={"year": 2024, "tag": "x"}, progress=False)
    assert_type(out, "dict[str, NDArray[Any]]")
    with Model(tensorwire.Client("localhost:8500", "GRPC_TF_TENSORS"), "GRPC_TF_TENSORS",
               output_properties={"score": np.float32}) as table:
        assert_type(table.predict_properties({"elevation": np.arange(3.0)}), "dict[str, NDArray[Any]]")
