"""Write the seed inputs of every harness into fuzz/corpus/<harness>/ (run from anywhere:
``python fuzz/seeds.py``).

Seeds come from the project's golden vectors in tests/data/ (TensorProtos, base64 texts,
Examples, TFRecord files, the Earth Engine SERIALIZED_TF_TENSORS request and response) and from
bodies the encoders write for small arrays (the other JSON and gRPC formats).  Each seed is the
payload behind a first byte that picks the harness option it is meant for (see each harness's
``OPTIONS``).  Files are named by the SHA-1 of their bytes, as libFuzzer names the inputs it
keeps, so running this again adds nothing that is already there.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

import fuzz_base64
import fuzz_example
import fuzz_grpc
import fuzz_json
import fuzz_numtext
import fuzz_tensor
import fuzz_tfrecord
import tensorwire
from tensorwire import PayloadFormat
from tensorwire.codecs import example as example_codec

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data"


def _load(name):
    return json.loads((DATA / name).read_text())


def _write(harness, option, payload):
    out = HERE / "corpus" / harness
    out.mkdir(parents=True, exist_ok=True)
    data = bytes([option]) + payload
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def tensor_seeds():
    none_copy, none_view = (fuzz_tensor.OPTIONS.index({"dtype": None, "copy": c, "max_bytes": fuzz_tensor.OPTIONS[0]["max_bytes"]})
                            for c in (True, False))
    for case in _load("tensors.json")["cases"]:
        for key in ("serialize_tensor_hex", "make_tensor_proto_hex"):
            for option in (none_copy, none_view):
                if key in case:
                    _write("tensor", option, bytes.fromhex(case[key]))


def base64_seeds():
    for case in _load("base64.json")["cases"]:
        for key in ("tf_encode_base64", "tf_encode_base64_pad"):
            for option in range(len(fuzz_base64.OPTIONS)):
                _write("base64", option, case[key].encode())


def example_seeds():
    for case in _load("examples.json")["cases"]:
        for option in (0, 1):  # without and with the spec
            _write("example", option, bytes.fromhex(case["deterministic_hex"]))
    sequence = example_codec.encode_sequence_example(
        {"B1": np.array([1.0, 2.0], np.float32), "id": np.array([7], np.int64)},
        {"steps": [np.array([1.5], np.float32), np.array([3, 4], np.int64), [b"x", b""]], "empty": []},
    )
    _write("example", 2, sequence)


NUMBERS = (b"0", b"-0", b"1.5", b"-2.5e-3", b"3.4028235e38", b"1e400", b"4.9e-324", b"65504",
           b"18446744073709551615", b"-9223372036854775808", b"NaN", b"-Infinity", b"true", b"0.1e1")


def numtext_seeds():
    for text in NUMBERS:
        for option in range(len(fuzz_numtext.OPTIONS)):
            _write("numtext", option, text)


def tfrecord_seeds():
    default = fuzz_tfrecord.OPTIONS[0][0]["max_record_bytes"]
    for name, compression in (("records.tfrecord", None), ("records.tfrecord.gz", "gzip"),
                              ("records.tfrecord.zlib", "zlib")):
        for c in {"auto", compression}:
            for f in fuzz_tfrecord.FILES:
                option = fuzz_tfrecord.OPTIONS.index(
                    ({"compression": c, "verify": True, "max_record_bytes": default}, f))
                _write("tfrecord", option, (DATA / name).read_bytes())


def _arrays():
    rng = np.random.default_rng(0)
    return {"B1": rng.random((2, 2, 2, 1), dtype=np.float32), "B2": np.array([[1, 2], [3, 4]], np.int32)}


def json_seeds():
    ee = _load("ee_serialized_tf_tensors.json")
    bodies = {
        (PayloadFormat.SERIALIZED_TF_TENSORS, "request"): [json.dumps(ee["request"]).encode()],
        (PayloadFormat.SERIALIZED_TF_TENSORS, "response"): [json.dumps(ee["response"]).encode()],
    }
    arrays = _arrays()
    specials = {"B1": np.array([[np.nan, -np.inf], [0.0, -0.0]], np.float32)}
    for fmt in (PayloadFormat.RAW_JSON, PayloadFormat.ND_ARRAYS):
        single = {"B1": arrays["B1"]}
        bodies[fmt, "request"] = [tensorwire.encode_request(single, fmt),
                                  tensorwire.encode_request(specials, fmt)]
        if fmt is PayloadFormat.RAW_JSON:
            bodies[fmt, "request"].append(tensorwire.encode_request(arrays, fmt))
        bodies[fmt, "response"] = [tensorwire.encode_response(arrays["B1"], fmt),
                                   tensorwire.encode_response(arrays, fmt),
                                   b'{"error": {"code": 400, "message": "bad input"}}']
    bodies[PayloadFormat.SERIALIZED_TF_TENSORS, "request"].append(
        tensorwire.encode_request(arrays, PayloadFormat.SERIALIZED_TF_TENSORS))
    general = {"image": np.array([b"\xff\xd8\xff\xe0", b"\x00"], dtype=object), "tag": np.array(["beach", "\u00e9\n"]),
               "n": np.array([[1, 2], [3, 4]]), "p": np.array([0.5, np.nan], np.float32), "b": np.array([True, False])}
    bodies[PayloadFormat.JSON, "request"] = [
        tensorwire.encode_request(general, PayloadFormat.JSON, parameters={"k": [1, "x"]}),
        tensorwire.encode_request(np.array(["the quick brown fox", "jumps"]), PayloadFormat.JSON),
        tensorwire.encode_request(general, PayloadFormat.JSON, columnar=True),
        b'{"instances": [[0.0, 1.1, NaN], [1, 2, 3]], "signature_name": "serving_default"}',
    ]
    bodies[PayloadFormat.JSON, "response"] = [
        tensorwire.encode_response(general, PayloadFormat.JSON),
        tensorwire.encode_response(general, PayloadFormat.JSON, columnar=True),
        b'{"predictions": [{"b64": "QUJD"}], "deployedModelId": "1"}',
    ]
    default = fuzz_json.OPTIONS[0][4]
    for (fmt, side), payloads in bodies.items():
        for nonfinite in ("token", "null"):
            option = fuzz_json.OPTIONS.index((fmt, side, nonfinite, None, default))
            for body in payloads:
                _write("json", option, body)


def grpc_seeds():
    arrays = _arrays()
    default = fuzz_grpc.OPTIONS[0][3]
    for fmt in fuzz_grpc.FORMATS:
        inputs = {"B1": arrays["B1"]} if fmt is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES else arrays
        request = tensorwire.encode_request(inputs, fmt, model_name="m", signature_name="serving_default",
                                            version=3, output_filter=["out"])
        _write("grpc", fuzz_grpc.OPTIONS.index((fmt, "request", None, default, "input")), request)
        option = fuzz_grpc.OPTIONS.index((fmt, "response", None, default, "input"))
        for form in ("content", "proto"):
            _write("grpc", option, tensorwire.encode_response(arrays, fmt, form=form))
        _write("grpc", option, tensorwire.encode_response(arrays["B1"], fmt, model_name="m"))


if __name__ == "__main__":
    for make in (tensor_seeds, base64_seeds, example_seeds, numtext_seeds, tfrecord_seeds, json_seeds, grpc_seeds):
        make()
    for d in sorted((HERE / "corpus").iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} files")
