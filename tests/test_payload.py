"""The public payload API (tensorwire.payload): format names, argument normalization, which form
each format writes (named or bare), PredictionError, and the options, on the active backend.

The bytes themselves are tested per backend in test_jsonbody.py; here the four functions are
checked for what they add: PayloadFormat, stacking per-instance dicts, ND_ARRAYS' single input,
bare responses under "output", bare requests under "instances", and argument errors.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from common import assert_same_array as assert_same
import tensorwire
from tensorwire import (
    DecodeError,
    PayloadFormat,
    PredictionError,
    _inspect,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    payload,
)
from tensorwire._model import Failure, Model
from tensorwire._sniff import examples_input_name, sniff_grpc_format, sniff_json_format

JSON_FORMATS = ["SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS"]
GRPC_FORMATS = ["GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES", "GRPC_TF_EXAMPLES"]

PROPERTY = settings(max_examples=min(settings.default.max_examples, 60))


# --------------------------------------------------------------------------------------------
# PayloadFormat


def test_format_names():
    assert [m.value for m in PayloadFormat] == [
        "SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS",
        "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES", "JSON",
    ]
    assert PayloadFormat.GRPC_TF_EXAMPLES is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES
    assert PayloadFormat["GRPC_TF_EXAMPLES"] is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES
    for name in JSON_FORMATS + GRPC_FORMATS:
        fmt = PayloadFormat.of(name)
        assert fmt is PayloadFormat[name] and PayloadFormat.of(fmt) is fmt
        assert isinstance(fmt, str)
    assert str(PayloadFormat.ND_ARRAYS) == "ND_ARRAYS" and PayloadFormat.ND_ARRAYS == "ND_ARRAYS"
    assert PayloadFormat("RAW_JSON") is PayloadFormat.RAW_JSON
    assert tensorwire.PayloadFormat is PayloadFormat


@pytest.mark.parametrize("name", ["nd_arrays", "ND-ARRAYS", "TF_TENSORS", "", "json", None, 3])
def test_unknown_format_names(name):
    with pytest.raises(ValueError, match=r"unknown payload format .*; one of SERIALIZED_TF_TENSORS, "):
        PayloadFormat.of(name)
    for call in (
        lambda: encode_request({"a": np.zeros(1)}, name),
        lambda: encode_response(np.zeros(1), name),
        lambda: decode_request(b'{"instances":[]}', name),
        lambda: decode_response(b'{"predictions":[]}', name),
    ):
        with pytest.raises(ValueError, match="unknown payload format"):
            call()


@pytest.mark.parametrize("name", GRPC_FORMATS)
def test_grpc_formats_round_trip_and_protobuf_reads_them(name):
    """The gRPC formats through the public API; TF Serving's own messages parse our bytes."""
    from tensorflow_serving.apis import predict_pb2  # plain import: a missing oracle fails

    rng = np.random.default_rng(11)
    bands = {"B2": rng.random((3, 4, 5), dtype=np.float32), "B3": rng.random((3, 4, 5), dtype=np.float32)}
    for fmt in (name, PayloadFormat[name]):
        body = encode_request(bands, fmt, model_name="m", signature_name="serving_default", input_name="inputs")
        request = predict_pb2.PredictRequest.FromString(body)
        assert request.model_spec.name == "m" and request.model_spec.signature_name == "serving_default"
        back = decode_request(body, fmt, input_name="inputs")
        for band, value in bands.items():
            got = back[band]
            if PayloadFormat[name] is PayloadFormat.GRPC_SERIALIZED_TF_EXAMPLES:  # (N, H*W): no shape in an Example
                got = got.reshape(value.shape)
            assert np.array_equal(got, value)
        reply = encode_response({"out": bands["B2"] * 2}, fmt)
        assert list(predict_pb2.PredictResponse.FromString(reply).outputs) == ["out"]
        assert np.array_equal(decode_response(reply, fmt)["out"], bands["B2"] * 2)
        assert list(decode_response(encode_response(bands["B3"], fmt, form="proto"), fmt)) == ["output"]


def test_grpc_options_are_checked():
    with pytest.raises(TypeError, match="unexpected option"):
        encode_request({"a": np.zeros((1, 2), np.float32)}, "GRPC_TF_TENSORS", urlsafe_typo=True)
    with pytest.raises(TypeError, match="unexpected option"):
        encode_request({"a": np.zeros((1, 2), np.float32)}, "RAW_JSON", model_name="m")


# --------------------------------------------------------------------------------------------
# what each format writes


def test_request_forms():
    b1 = np.array([[1.5, 2.0], [0.1, -0.0]], np.float32)
    b2 = np.array([[7], [8]], np.int32)
    assert encode_request({"B1": b1, "B2": b2}, "RAW_JSON") == (
        b'{"instances":[{"B1":["1.5","2.0"],"B2":["7"]},{"B1":["0.1","-0.0"],"B2":["8"]}]}'
    )
    assert encode_request({"B1": b1}, "ND_ARRAYS") == b'{"instances":[[1.5,2.0],[0.1,-0.0]]}'
    assert encode_request(b1, PayloadFormat.ND_ARRAYS) == b'{"instances":[[1.5,2.0],[0.1,-0.0]]}'
    assert encode_request(b1.tolist(), "ND_ARRAYS", float_format="tolist") == b'{"instances":[[1.5,2.0],[0.10000000149011612,-0.0]]}'
    body = encode_request({"B1": b1, "B2": b2}, "SERIALIZED_TF_TENSORS")
    instances = json.loads(body)["instances"]
    assert [sorted(inst) for inst in instances] == [["B1", "B2"]] * 2
    assert all(isinstance(v, str) for inst in instances for v in inst.values())
    # requests name their inputs even when there is one (as Earth Engine sends them)
    assert json.loads(encode_request({"B1": b1}, "RAW_JSON"))["instances"][0] == {"B1": ["1.5", "2.0"]}
    assert json.loads(encode_request({"B1": b1}, "SERIALIZED_TF_TENSORS"))["instances"][0].keys() == {"B1"}


def test_request_decodes():
    b1 = np.array([[1.5, 2.0], [0.1, -0.0]], np.float32)
    got = decode_request(encode_request({"B1": b1}, "ND_ARRAYS"), "ND_ARRAYS")
    assert list(got) == ["instances"]
    assert_same(got["instances"], b1)
    got = decode_request(encode_request({"B1": b1}, "RAW_JSON"), "RAW_JSON")
    assert list(got) == ["B1"]
    assert_same(got["B1"], b1)
    got = decode_request(encode_request({"B1": b1}, "SERIALIZED_TF_TENSORS"), "SERIALIZED_TF_TENSORS")
    assert_same(got["B1"], b1)


def test_response_forms():
    out = np.array([[0.25], [1e10]], np.float32)
    for fmt in JSON_FORMATS:
        one = encode_response(out, fmt)
        assert encode_response({"probabilities": out}, fmt) == one  # one output: bare
        assert encode_response([{"probabilities": row} for row in out], fmt) == one
        preds = json.loads(one)["predictions"]
        assert len(preds) == 2 and not isinstance(preds[0], dict)
        got = decode_response(one, fmt)
        assert list(got) == ["output"]
        assert_same(got["output"], out)
        two = encode_response({"a": out, "b": out.astype(np.float64)}, fmt)
        assert [list(p) for p in json.loads(two)["predictions"]] == [["a", "b"]] * 2
        got = decode_response(two, fmt, dtype={"b": np.float64})
        assert list(got) == ["a", "b"]
        assert_same(got["a"], out)
        assert_same(got["b"], out.astype(np.float64))
    assert encode_response(out, "ND_ARRAYS") == b'{"predictions":[[0.25],[10000000000.0]]}'
    assert encode_response(out, "RAW_JSON") == b'{"predictions":[["0.25"],["10000000000.0"]]}'


@PROPERTY
@given(S.json_batches(min_instances=1, max_columns=3), st.sampled_from(JSON_FORMATS), st.sampled_from(["token", "null"]))
def test_public_round_trip(batch, fmt, nonfinite):
    columns, bare = batch
    inputs = {f"in{i}" if bare else name: arr for i, (name, arr) in enumerate(columns)}
    first = next(iter(inputs.values()))
    if fmt == "ND_ARRAYS" and len(inputs) > 1:
        with pytest.raises(ValueError, match=rf"^ND_ARRAYS sends one array per instance; got {len(inputs)} inputs$"):
            encode_request(inputs, fmt, nonfinite=nonfinite)
        inputs = dict([next(iter(inputs.items()))])
    names = ["instances"] if fmt == "ND_ARRAYS" else list(inputs)
    out_names = ["output"] if len(inputs) == 1 else list(inputs)

    def dtypes(keys):  # the dtype option is keyed by the names the body decodes under
        return None if fmt == "SERIALIZED_TF_TENSORS" else {k: arr.dtype for k, arr in zip(keys, inputs.values())}

    request = encode_request(inputs, fmt, nonfinite=nonfinite)
    got = decode_request(request, fmt, dtype=dtypes(names), nonfinite=nonfinite)
    assert list(got) == names
    response = encode_response(inputs, fmt, nonfinite=nonfinite)
    back = decode_response(response, fmt, dtype=dtypes(out_names), nonfinite=nonfinite)
    assert list(back) == out_names
    for arr, a, b in zip(inputs.values(), got.values(), back.values()):
        if fmt == "SERIALIZED_TF_TENSORS":
            assert a.tobytes() == b.tobytes() == arr.tobytes() and a.shape == b.shape == arr.shape
        elif 0 not in arr.shape:
            want = arr.copy()
            if nonfinite == "null" and want.dtype.kind == "f":
                want[np.isinf(want)] = np.nan
            assert_same(a, want)
            assert_same(b, want)
    assert first is columns[0][1]  # inputs are not modified


# --------------------------------------------------------------------------------------------
# argument normalization


def test_per_instance_dicts_stack():
    rows = [{"B1": [[1.0, 2.0]], "B2": 3}, {"B2": 4, "B1": [[5.0, 6.0]]}]
    want = encode_request({"B1": np.array([[[1.0, 2.0]], [[5.0, 6.0]]]), "B2": np.array([3, 4])}, "RAW_JSON")
    assert encode_request(rows, "RAW_JSON") == want
    with pytest.raises(ValueError, match=r"^inputs: instance 1 does not have the names of instance 0 \(\['B1', 'B2'\]\)$"):
        encode_request([{"B1": 1, "B2": 2}, {"B1": 1}], "RAW_JSON")
    with pytest.raises(ValueError, match=r"^outputs: instance 1 does not have the names of instance 0"):
        encode_response([{"a": 1}, {"b": 1}], "ND_ARRAYS")


def test_nd_arrays_takes_one_array():
    a = np.arange(6, dtype=np.int16).reshape(3, 2)
    body = b'{"instances":[[0,1],[2,3],[4,5]]}'
    assert encode_request(a, "ND_ARRAYS") == encode_request({"x": a}, "ND_ARRAYS") == body
    assert encode_request(a.tolist(), "ND_ARRAYS") == body
    with pytest.raises(ValueError, match=r"^ND_ARRAYS sends one array per instance; got 2 inputs$"):
        encode_request({"x": a, "y": a}, "ND_ARRAYS")
    # the named formats need names
    for fmt in ("RAW_JSON", "SERIALIZED_TF_TENSORS"):
        with pytest.raises(TypeError, match=r"^inputs: expected a mapping of names to arrays, not ndarray$"):
            encode_request(a, fmt)


def test_instance_counts_must_match():
    with pytest.raises(ValueError, match=r"^inputs: 'b' has 3 instances, 'a' has 2$"):
        encode_request({"a": np.zeros((2, 4)), "b": np.zeros((3, 4))}, "RAW_JSON")
    with pytest.raises(ValueError, match=r"^outputs: 'b' has 1 instances, 'a' has 2$"):
        encode_response({"a": np.zeros(2), "b": np.zeros(1)}, "SERIALIZED_TF_TENSORS")


def test_other_argument_errors():
    with pytest.raises(ValueError, match=r"^inputs: no arrays given$"):
        encode_request({}, "RAW_JSON")
    with pytest.raises(ValueError, match=r"^inputs: 'a' has no instance axis \(a 0-d array\)$"):
        encode_request({"a": np.float32(1)}, "RAW_JSON")
    with pytest.raises(ValueError, match=r"^outputs: None has no instance axis"):
        encode_response(np.float32(1), "ND_ARRAYS")
    with pytest.raises(ValueError, match=r"^nonfinite must be one of"):
        encode_request({"a": np.zeros(1)}, "RAW_JSON", nonfinite="drop")
    with pytest.raises(ValueError, match=r"^float_format must be one of"):
        encode_request({"a": np.zeros(1)}, "ND_ARRAYS", float_format="g")
    with pytest.raises(ValueError, match=r"max_depth must be an int"):
        decode_request(b'{"instances":[]}', "ND_ARRAYS", max_depth=1)
    with pytest.raises(ValueError, match=r"^nonfinite must be one of"):
        decode_response(b'{"predictions":[]}', "ND_ARRAYS", nonfinite="drop")
    with pytest.raises(ValueError, match=r"^input 'a': non-finite value inf at index \(1,\) \(nonfinite='error'\)$"):
        encode_request({"a": np.array([0, np.inf])}, "RAW_JSON", nonfinite="error")
    # tensors carry non-finite values whatever the policy
    body = encode_request({"a": np.array([0, np.inf])}, "SERIALIZED_TF_TENSORS", nonfinite="error")
    assert decode_request(body, "SERIALIZED_TF_TENSORS")["a"][1] == np.inf


def test_encode_options_reach_the_bytes():
    a = np.array([[1.5, np.nan]], np.float32)  # its TensorProto's base64 ends in '_'
    url = encode_request({"a": a}, "SERIALIZED_TF_TENSORS")
    assert url == b'{"instances":[{"a":"CAESBBICCAIiCAAAwD8AAMB_"}]}'
    assert encode_request({"a": a}, "SERIALIZED_TF_TENSORS", urlsafe=False) == url.replace(b"_", b"/")
    b = np.array([[1.5]], np.float32)
    assert encode_response(b, "SERIALIZED_TF_TENSORS") == b'{"predictions":["CAESBBICCAEiBAAAwD8="]}'
    assert encode_response(b, "SERIALIZED_TF_TENSORS", pad=False) == b'{"predictions":["CAESBBICCAEiBAAAwD8"]}'
    assert encode_request(a, "ND_ARRAYS", nonfinite="null") == b'{"instances":[[1.5,null]]}'
    assert encode_response(a, "RAW_JSON") == b'{"predictions":[["1.5","NaN"]]}'


# --------------------------------------------------------------------------------------------
# decoding options and errors


def test_dtype_option():
    body = b'{"predictions":[{"a":[1,2],"b":[0.5]}]}'
    got = decode_response(body, "RAW_JSON")
    assert got["a"].dtype == got["b"].dtype == np.float32  # numbers default to float32
    got = decode_response(body, "ND_ARRAYS", dtype="float64")
    assert got["a"].dtype == got["b"].dtype == np.float64
    got = decode_response(body, "ND_ARRAYS", dtype={"a": np.uint8})
    assert got["a"].dtype == np.uint8 and got["b"].dtype == np.float32
    with pytest.raises(DecodeError, match=r"'b': not an integer: b'0.5'"):
        decode_response(body, "ND_ARRAYS", dtype=np.int32)
    # bare bodies: the dtype dict is keyed by the name they decode under
    assert decode_request(b'{"instances":[[1]]}', "ND_ARRAYS", dtype={"instances": "int8"})["instances"].dtype == np.int8
    assert decode_response(b'{"predictions":[[1]]}', "ND_ARRAYS", dtype={"output": "int64"})["output"].dtype == np.int64
    # tensors decode into their encoded dtype, and a dtype given must match it
    body = encode_response({"a": np.zeros((1, 2), np.float16), "b": np.ones((1,), np.int8)}, "SERIALIZED_TF_TENSORS")
    got = decode_response(body, "SERIALIZED_TF_TENSORS")
    assert got["a"].dtype == np.float16 and got["b"].dtype == np.int8
    assert decode_response(body, "SERIALIZED_TF_TENSORS", dtype={"a": "float16"})["a"].dtype == np.float16
    with pytest.raises(DecodeError, match=r"type mismatch: data is DT_HALF, expected DT_FLOAT"):
        decode_response(body, "SERIALIZED_TF_TENSORS", dtype={"a": np.float32})


def test_prediction_errors():
    for fmt in JSON_FORMATS:
        with pytest.raises(PredictionError) as info:
            decode_response(b'{"error": "Prediction failed: out of memory"}', fmt)
        assert str(info.value) == "Prediction failed: out of memory" and isinstance(info.value, RuntimeError)
        assert not isinstance(info.value, ValueError)
        with pytest.raises(PredictionError) as info:
            decode_response(b'{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT"}}', fmt)
        assert info.value.message == "m" and info.value.error["status"] == "INVALID_ARGUMENT"
    assert tensorwire.PredictionError is PredictionError
    # in a request, "error" is just another member
    assert decode_request(b'{"error":"x","instances":[[1]]}', "ND_ARRAYS")["instances"].shape == (1, 1)


def test_metadata_and_empty_predictions():
    body = b'{"predictions":[[1,2]],"deployedModelId":"5","model":"projects/p/models/m","modelVersionId":"1"}'
    assert_same(decode_response(body, "ND_ARRAYS")["output"], np.array([[1, 2]], np.float32))
    for fmt in JSON_FORMATS:
        assert decode_response(b'{"predictions":[],"deployedModelId":"5"}', fmt) == {}
        assert decode_request(b'{"instances":[],"parameters":{"k":1}}', fmt) == {}


def test_decode_errors_are_value_errors():
    for fmt in JSON_FORMATS:
        with pytest.raises(DecodeError) as info:
            decode_response(b'{"predictions":[[1],[2,3]]}', fmt)
        assert isinstance(info.value, ValueError)
        with pytest.raises(DecodeError, match=r"^JSON body: no 'instances' member$"):
            decode_request(b'{"predictions":[]}', fmt)
        with pytest.raises(DecodeError, match="invalid UTF-8 at offset 16"):
            decode_response(b'{"predictions":[\xff]}', fmt)


def test_body_types():
    body = '{"predictions":[[1,2]]}'
    want = np.array([[1, 2]], np.float32)
    for form in (body, body.encode(), bytearray(body.encode()), memoryview(body.encode())):
        assert_same(decode_response(form, "ND_ARRAYS")["output"], want)


def test_stack_bands_makes_channels_first_or_last():
    rng = np.random.default_rng(5)
    bands = {"B4": rng.random((2, 3, 5, 1), dtype=np.float32), "B2": rng.random((2, 3, 5), dtype=np.float32)}
    nchw = tensorwire.stack_bands(bands, ["B2", "B4"])
    assert nchw.shape == (2, 2, 3, 5)
    assert np.array_equal(nchw[:, 0], bands["B2"]) and np.array_equal(nchw[:, 1], bands["B4"][..., 0])
    nhwc = tensorwire.stack_bands(bands, channels_first=False)
    assert nhwc.shape == (2, 3, 5, 2)
    assert np.array_equal(nhwc[..., 0], bands["B4"][..., 0]) and np.array_equal(nhwc[..., 1], bands["B2"])
    with pytest.raises(ValueError, match="expected \\(N, H, W\\)"):
        tensorwire.stack_bands({"x": np.zeros((2, 3, 5, 2))})
    with pytest.raises(ValueError, match="no bands"):
        tensorwire.stack_bands({})


# --------------------------------------------------------------------------------------------
# format facts and detection (tensorwire._sniff): the one set of rules the server's model layer
# and `python -m tensorwire inspect` both name formats with

F = PayloadFormat
BANDS = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1) / 8


def requests_by_format():
    """``{format: request body}``, one per format, as encode_request writes them."""
    return {
        F.SERIALIZED_TF_TENSORS: encode_request({"B2": BANDS, "B3": BANDS}, F.SERIALIZED_TF_TENSORS),
        F.RAW_JSON: encode_request({"B2": BANDS}, F.RAW_JSON),
        F.ND_ARRAYS: encode_request(BANDS, F.ND_ARRAYS),
        F.GRPC_TF_TENSORS: encode_request({"B2": BANDS, "B3": BANDS}, F.GRPC_TF_TENSORS),
        F.GRPC_SERIALIZED_TF_TENSORS: encode_request({"B2": BANDS}, F.GRPC_SERIALIZED_TF_TENSORS),
        F.GRPC_SERIALIZED_TF_EXAMPLES: encode_request({"B2": BANDS[..., 0], "B3": BANDS[:, 0]},
                                                      F.GRPC_SERIALIZED_TF_EXAMPLES),
        F.JSON: encode_request({"text": np.array(["a fox"] * len(BANDS)), "B2": BANDS}, F.JSON),
    }


def server_names(body):
    """The format a server taking all seven formats reads ``body`` in, or ``"refused"``."""
    model = Model(lambda inputs: inputs)
    try:
        return model.json_format(body) if body.lstrip()[:1] == b"{" else model._grpc_decode(body)[0]
    except Failure as exc:
        assert exc.status == "bad_request", exc
        return "refused"


def inspect_names(body):
    """The format `python -m tensorwire inspect` names ``body`` with, or ``"refused"``."""
    try:
        description, _ = _inspect.detect(body)
    except DecodeError:
        return "refused"
    name = description.split("; ")[0].rpartition(", ")[2].split(" ")[0]
    return PayloadFormat.of(name) if name in PayloadFormat.__members__ else description


def test_format_facts():
    assert set(payload.JSON_FORMATS + payload.GRPC_FORMATS) == set(PayloadFormat)
    assert [f.value for f in payload.JSON_FORMATS] == JSON_FORMATS + ["JSON"]
    assert [f.value for f in payload.GRPC_FORMATS] == GRPC_FORMATS[:3]


@pytest.mark.parametrize("fmt", list(PayloadFormat))
def test_detection_names_each_format_as_server_and_inspect_do(fmt):
    body = requests_by_format()[fmt]
    if fmt in payload.JSON_FORMATS:
        assert sniff_json_format(body) is fmt
    else:
        assert sniff_json_format(body) is None  # a protobuf message has no "instances": [
        _, inputs = payload.decode_grpc_request(body, F.GRPC_TF_TENSORS)
        assert sniff_grpc_format(inputs) is fmt
    assert server_names(body) is fmt
    assert inspect_names(body) is fmt


def test_json_sniffing_of_responses():
    # one output of one value per instance, written bare (a bare list of RAW_JSON's strings
    # starts with "[" and is named ND_ARRAYS, as the first character is all the rules look at)
    for fmt in map(F, JSON_FORMATS):  # JSON's numbers are named as the Earth Engine formats' are
        body = encode_response(BANDS[:, 0, 0, 0], fmt)
        assert sniff_json_format(body, "predictions") is fmt
        assert sniff_json_format(body) is None  # no "instances" in a response
    assert sniff_json_format(b'{"instances":[]}') is None
    assert sniff_json_format(b'{"instances":[{"b64":"CAESAA=="}]}') is F.SERIALIZED_TF_TENSORS


def test_raw_json_booleans_are_named_raw_json():
    # RAW_JSON writes booleans as the strings "true" and "false".  The rules named every string
    # that does not start like a number SERIALIZED_TF_TENSORS, so a server taking every JSON
    # format refused a RAW_JSON request of booleans that it reads with dtype=bool (base64 of a
    # TensorProto starts with "C", so "t" and "f" are RAW_JSON's alone).
    body = encode_request({"x": np.array([True, False])}, F.RAW_JSON)
    assert body == b'{"instances":[{"x":"true"},{"x":"false"}]}'
    assert sniff_json_format(body) is F.RAW_JSON
    assert Model(lambda inputs: inputs["x"], dtype=bool).handle_json(body) == b'{"predictions":["true","false"]}'


@PROPERTY
@given(S.json_batches(min_instances=1, max_columns=2), st.sampled_from(list(map(F, JSON_FORMATS))),
       st.sampled_from(["token", "null"]))
def test_json_sniffing_names_what_encode_request_wrote(batch, fmt, nonfinite):
    columns, _ = batch
    inputs = columns[0][1] if fmt is F.ND_ARRAYS else {f"in{i}": arr for i, (_, arr) in enumerate(columns)}
    body = encode_request(inputs, fmt, nonfinite=nonfinite)
    # bare true/false (ND_ARRAYS of bools) are the general body's by the rules (docs/json-general.md)
    expected = F.JSON if fmt is F.ND_ARRAYS and columns[0][1].dtype == bool and columns[0][1].size else fmt
    assert sniff_json_format(body) is expected
    assert server_names(body) is expected


def _numeric(columns):
    return all(arr.dtype.kind not in "OSU" for _, arr in columns)


@PROPERTY
@given(st.sampled_from(payload.GRPC_FORMATS), st.data())
def test_grpc_naming_names_what_encode_request_wrote(fmt, data):
    layout = {F.GRPC_TF_TENSORS: "tensors", F.GRPC_SERIALIZED_TF_TENSORS: "serialized_tensors",
            F.GRPC_SERIALIZED_TF_EXAMPLES: "examples"}[fmt]
    columns = data.draw(S.grpc_batches(layout, max_columns=2, min_instances=1))
    if fmt is F.GRPC_TF_TENSORS:
        # strings that start with "C" or 0x0A name a serialized format by design (_sniff's docstring)
        columns = [(name, arr) for name, arr in columns if _numeric([(name, arr)])] or [("x", np.zeros(1))]
    body = encode_request(dict(columns), fmt)
    _, inputs = payload.decode_grpc_request(body, F.GRPC_TF_TENSORS)
    assert sniff_grpc_format(inputs) is fmt
    assert server_names(body) is fmt
    assert inspect_names(body) is fmt


EXAMPLES = np.array([tensorwire.encode_example({"B2": np.array([1.5, 2.5], np.float32)})], dtype=object)


def texts(*items):
    """A GRPC_TF_TENSORS request of one DT_STRING input ``t`` holding ``items``."""
    return encode_request({"t": np.array(items, dtype=object)}, F.GRPC_TF_TENSORS)


# Requests the two gRPC rule sets named differently before inspect took the server's (each was
# "gRPC PredictResponse" with no arrays to inspect; test_inspect.py has the reasons), and what
# both say now.
DISPUTED = {
    "texts": (texts(b"hello", b"world"), F.GRPC_TF_TENSORS),
    "texts beside numbers": (encode_request({"n": np.arange(2.0), "t": np.array([b"a", b"b"], dtype=object)},
                                            F.GRPC_TF_TENSORS), F.GRPC_TF_TENSORS),
    "a matrix of texts starting with C": (
        encode_request({"t": np.array([[b"Ca", b"Cb"], [b"Cc", b"Cd"]], dtype=object)}, F.GRPC_TF_TENSORS),
        F.GRPC_TF_TENSORS),
    "texts starting with C": (texts(b"Cat", b"dog"), "refused"),
    "texts starting with 0x0A": (texts(b"\nx", b"dog"), "refused"),
    "Examples under another name": (
        encode_request({"B2": BANDS[..., 0]}, F.GRPC_SERIALIZED_TF_EXAMPLES, input_name="earthengine_in"),
        F.GRPC_SERIALIZED_TF_EXAMPLES),
    "Examples in two inputs": (encode_request({"a": EXAMPLES, "b": EXAMPLES}, F.GRPC_TF_TENSORS), "refused"),
}


@pytest.mark.parametrize("case", list(DISPUTED))
def test_inspect_and_the_server_agree(case):
    body, want = DISPUTED[case]
    assert server_names(body) == want
    assert inspect_names(body) == want


def test_examples_input_name():
    assert examples_input_name({"earthengine_in": EXAMPLES}) == "earthengine_in"
    for inputs in ({}, {"a": EXAMPLES, "b": EXAMPLES}):
        with pytest.raises(ValueError, match=rf"^GRPC_SERIALIZED_TF_EXAMPLES carries one input, not {len(inputs)} "):
            examples_input_name(inputs)
    body, _ = DISPUTED["Examples in two inputs"]
    with pytest.raises(Failure, match=r"^GRPC_SERIALIZED_TF_EXAMPLES carries one input, not 2 \(\['a', 'b'\]\)$"):
        Model(lambda inputs: inputs)._grpc_decode(body)
