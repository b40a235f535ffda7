"""TF Serving gRPC Predict payloads: TF Serving's own protobuf messages as the oracle, both
directions, the documented decisions, malformed input, and property tests crossing both backends.

Tests taking ``codecs`` run once per backend; tests taking ``both`` cross the reference and the
Cython twin.  The oracle is ``tensorflow_serving.apis.predict_pb2`` (package
``tensorflow-serving-api``, parsed by protobuf's upb runtime) with ``tf.make_tensor_proto`` /
``tf.make_ndarray`` for the tensors and ``example_pb2`` for the Examples.  Hand-written wire bytes
come from the small writer in strategies.py (docs/grpc-payloads.md), not from the code under test.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported: quiet logs

import base64  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402  (plain import: a missing TensorFlow must fail, not skip)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tensorflow.core.example import example_pb2  # noqa: E402
from tensorflow.core.framework import tensor_pb2  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402

import common  # noqa: E402
import strategies as S  # noqa: E402
from common import BF16, as_decoded, assert_identical, quiet_f32_nans  # noqa: E402
from tensorwire.testing import wire_len as ld  # noqa: E402
from tensorwire.testing import wire_tag, wire_varint  # noqa: E402
from tensorwire import DecodeError  # noqa: E402

ORACLE = settings(max_examples=30)
PROPERTY = settings(max_examples=min(settings.default.max_examples, 100))
CORRUPTION = settings(max_examples=min(settings.default.max_examples * 2, 200))

F32 = np.arange(1, 5, dtype=np.float32).reshape(2, 2)
SERIALIZED_F32 = bytes.fromhex("08011208120208021202080222100000803f000000400000404000008040")  # docs/json-payloads.md


# --------------------------------------------------------------------------------------------
# helpers


def assert_modulo_quieting(got, want):
    """assert_identical, signalling float32 NaNs counting as their quiet twins (values that went
    through tf.make_tensor_proto's Python-float path)."""
    got, want = np.asarray(got), np.asarray(want)
    if want.dtype in (np.float32, np.complex64):
        got, want = quiet_f32_nans(got), quiet_f32_nans(want)
    assert_identical(got, want)


def their_spec(message):
    """The spec dict our decoder returns, from predict_pb2's parse of a request."""
    ms = message.model_spec
    choice = ms.WhichOneof("version_choice")
    return {
        "name": ms.name,
        "version": ms.version.value if choice == "version" else None,
        "version_label": ms.version_label if choice == "version_label" else None,
        "signature_name": ms.signature_name,
        "output_filter": list(message.output_filter),
    }


def our_spec(kwargs):
    return {
        "name": kwargs.get("model_name", ""),
        "version": kwargs.get("version"),
        "version_label": None,
        "signature_name": kwargs.get("signature_name", ""),
        "output_filter": list(kwargs.get("output_filter", ())),
    }


def set_spec(message, kwargs):
    """Set the request's fields as a TF Serving client would (only those that are not default)."""
    if kwargs.get("model_name"):
        message.model_spec.name = kwargs["model_name"]
    if kwargs.get("version") is not None:
        message.model_spec.version.value = kwargs["version"]
    if kwargs.get("signature_name"):
        message.model_spec.signature_name = kwargs["signature_name"]
    message.output_filter.extend(kwargs.get("output_filter", ()))


def example_values(arr_i):
    """What encode_example writes for one instance of an examples column: float32, row-major."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(arr_i).astype(np.float32).reshape(-1)


def expected_examples(columns):
    n = len(columns[0][1])
    if n == 0:
        return {}
    return {name: np.stack([example_values(a[i]) for i in range(n)]) for name, a in columns}


def assert_floats_equal(got, want):
    """float32 arrays equal, NaN matching NaN (the payload is the example codec's business)."""
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def outcome(func, *args, **kwargs):
    """``("ok", result)`` or ``(exception type, message)`` for a DecodeError, ValueError or
    TypeError (others propagate): for comparing the two backends."""
    return common.outcome(func, *args, catching=(DecodeError, ValueError, TypeError), **kwargs)


def assert_same_outcome(a, b):
    assert a[0] == b[0], (a, b)
    if a[0] != "ok":
        assert a[1] == b[1]
        return
    ra, rb = a[1], b[1]
    if isinstance(ra, tuple):  # (spec, arrays)
        assert ra[0] == rb[0]
        ra, rb = ra[1], rb[1]
    assert list(ra) == list(rb)
    for name in ra:
        assert_identical(rb[name], as_decoded(ra[name]))


def top_level_boundaries(data):
    """Offsets where a top-level field of ``data`` starts or ends (every field here is
    length-delimited with a one-byte tag)."""
    out, pos = [0], 0
    while pos < len(data):
        pos += 1
        n, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        pos += n
        out.append(pos)
    return set(out)


# --------------------------------------------------------------------------------------------
# TF Serving parses what we write


@ORACLE
@given(S.grpc_batches("tensors"), S.grpc_specs())
def test_tensors_request_parsed_by_tf_serving(codecs, columns, spec):
    data = codecs.grpc.encode_predict_request(columns, "tensors", **spec)
    message = predict_pb2.PredictRequest.FromString(data)
    assert their_spec(message) == our_spec(spec)
    assert set(message.inputs) == {name for name, _ in columns}
    for name, arr in columns:
        assert_identical(np.asarray(tf.make_ndarray(message.inputs[name])), as_decoded(arr))
        assert message.inputs[name].SerializeToString() == tf.io.serialize_tensor(arr).numpy() or arr.dtype.kind in "OSU"


@ORACLE
@given(S.grpc_batches("serialized_tensors"), S.grpc_specs())
def test_serialized_tensors_request_parsed_by_tf_serving(codecs, columns, spec):
    data = codecs.grpc.encode_predict_request(columns, "serialized_tensors", **spec)
    message = predict_pb2.PredictRequest.FromString(data)
    assert their_spec(message) == our_spec(spec)
    for name, arr in columns:
        proto = message.inputs[name]
        assert proto.dtype == tf.string.as_datatype_enum
        texts = tf.make_ndarray(proto)
        assert texts.shape == (len(arr),)
        for i, text in enumerate(texts):
            assert text == base64.urlsafe_b64encode(codecs.tensor.encode_tensor(arr[i, ...]))  # padded, URL-safe
            inner = tensor_pb2.TensorProto.FromString(base64.urlsafe_b64decode(text))
            assert_identical(np.asarray(tf.make_ndarray(inner)), as_decoded(arr[i, ...]))


@ORACLE
@given(S.grpc_batches("examples"), S.grpc_specs(), st.sampled_from(["input", "inputs"]))
def test_examples_request_parsed_by_tf_serving(codecs, columns, spec, input_name):
    data = codecs.grpc.encode_predict_request(columns, "examples", input_name=input_name, **spec)
    message = predict_pb2.PredictRequest.FromString(data)
    assert their_spec(message) == our_spec(spec)
    assert list(message.inputs) == [input_name]
    texts = tf.make_ndarray(message.inputs[input_name])
    assert texts.shape == (len(columns[0][1]),)
    for i, text in enumerate(texts):
        example = example_pb2.Example.FromString(text)
        assert set(example.features.feature) == {name for name, _ in columns}
        for name, arr in columns:
            feature = example.features.feature[name]
            assert feature.WhichOneof("kind") == "float_list"
            assert_floats_equal(np.array(feature.float_list.value, np.float32), example_values(arr[i]))


@ORACLE
@given(S.grpc_batches("tensors"), st.sampled_from(["content", "proto"]), S.GRPC_NAMES)
def test_response_parsed_by_tf_serving(codecs, columns, form, model_name):
    data = codecs.grpc.encode_predict_response(columns, model_name=model_name, form=form)
    message = predict_pb2.PredictResponse.FromString(data)
    assert message.model_spec.name == model_name
    assert message.HasField("model_spec") == bool(model_name)
    for name, arr in columns:
        got = np.asarray(tf.make_ndarray(message.outputs[name]))
        assert_modulo_quieting(got, as_decoded(arr))
        if form == "proto":
            assert message.outputs[name] == tf.make_tensor_proto(arr)


@ORACLE
@given(S.grpc_batches("tensors", max_columns=1), S.grpc_specs())
def test_one_input_request_is_protobufs_serialization(codecs, columns, spec):
    """With one map entry there is no order to choose: the bytes are protobuf's own."""
    (name, arr), = columns
    message = predict_pb2.PredictRequest()
    set_spec(message, spec)
    message.inputs[name].ParseFromString(tf.io.serialize_tensor(arr).numpy() if arr.dtype.kind not in "OSU"
                                         else codecs.tensor.encode_tensor(arr))
    assert codecs.grpc.encode_predict_request(columns, "tensors", **spec) == message.SerializeToString()


@ORACLE
@given(S.grpc_batches("tensors", max_columns=1), S.GRPC_NAMES)
def test_one_output_response_is_tf_servings_serialization(codecs, columns, model_name):
    (name, arr), = columns
    message = predict_pb2.PredictResponse()
    message.outputs[name].CopyFrom(tf.make_tensor_proto(arr))
    if model_name:
        message.model_spec.name = model_name
    assert codecs.grpc.encode_predict_response(columns, model_name=model_name, form="proto") == message.SerializeToString()


@ORACLE
@given(S.grpc_batches("serialized_tensors"), st.sampled_from(["content", "proto"]), S.GRPC_NAMES)
def test_serialized_tensors_response_parsed_by_tf_serving(codecs, columns, form, model_name):
    g = codecs.grpc
    data = g.encode_predict_response(columns, layout="serialized_tensors", model_name=model_name, form=form)
    other = "proto" if form == "content" else "content"
    assert data == g.encode_predict_response(columns, layout="serialized_tensors", model_name=model_name, form=other)
    message = predict_pb2.PredictResponse.FromString(data)
    assert message.model_spec.name == model_name
    assert message.HasField("model_spec") == bool(model_name)
    request = predict_pb2.PredictRequest.FromString(g.encode_predict_request(columns, "serialized_tensors"))
    assert set(message.outputs) == {name for name, _ in columns}
    for name, arr in columns:
        proto = message.outputs[name]
        assert proto == request.inputs[name]  # the request layout's tensor, output for input
        assert proto.dtype == tf.string.as_datatype_enum
        texts = tf.make_ndarray(proto)
        assert texts.shape == (len(arr),)
        for i, text in enumerate(texts):
            raw = base64.urlsafe_b64decode(text)  # padded, URL-safe: the stdlib's strict decoder takes it
            assert base64.urlsafe_b64encode(raw) == text
            want = as_decoded(arr[i, ...])
            assert_identical(np.asarray(tf.make_ndarray(tensor_pb2.TensorProto.FromString(raw))), want)
            assert_identical(codecs.tensor.decode_tensor(raw), want)


def tf_serialized_instances(arr):
    """What an Earth-Engine-wrapped model returns for a batch-first output ``arr``: a DT_STRING
    [N] TensorProto (as TF Serving writes it) of ``tf.io.encode_base64(tf.io.serialize_tensor(
    arr[i]))``, URL-safe base64 without padding."""
    holder = np.empty(len(arr), dtype=object)
    holder[:] = [tf.io.encode_base64(tf.io.serialize_tensor(arr[i, ...])).numpy() for i in range(len(arr))]
    return tf.make_tensor_proto(holder)


@ORACLE
@given(S.grpc_batches("serialized_tensors", max_columns=1), S.GRPC_NAMES)
def test_one_output_serialized_tensors_response_is_tf_servings_serialization(codecs, columns, model_name):
    """One output: our bytes are TF's (tf.io.serialize_tensor instances, base64 padded as we
    write it, in the DT_STRING tensor tf.make_tensor_proto makes)."""
    (name, arr), = columns
    holder = np.empty(len(arr), dtype=object)
    holder[:] = [base64.urlsafe_b64encode(tf.io.serialize_tensor(arr[i, ...]).numpy()) for i in range(len(arr))]
    message = predict_pb2.PredictResponse()
    message.outputs[name].CopyFrom(tf.make_tensor_proto(holder, dtype=tf.string))
    if model_name:
        message.model_spec.name = model_name
    for form in ("content", "proto"):
        data = codecs.grpc.encode_predict_response(columns, layout="serialized_tensors", model_name=model_name, form=form)
        assert data == message.SerializeToString()


def test_sorted_columns_give_deterministic_serialization(codecs):
    columns = [("a", F32), ("b", F32 * 2), ("c", F32 * 3)]
    message = predict_pb2.PredictRequest()
    for name, arr in columns:
        message.inputs[name].CopyFrom(tf.make_tensor_proto(arr))
    message.model_spec.name = "m"
    assert codecs.grpc.encode_predict_request(columns, "tensors", model_name="m") == message.SerializeToString(
        deterministic=True
    )


def test_map_entries_follow_the_columns_order(codecs):
    data = codecs.grpc.encode_predict_request([("b", F32), ("a", F32)], "tensors")
    assert data.index(b"\x0a\x01b") < data.index(b"\x0a\x01a")
    spec, out = codecs.grpc.decode_predict_request(data, "tensors")
    assert list(out) == ["b", "a"]


# --------------------------------------------------------------------------------------------
# we parse what TF Serving writes


def their_request(columns, spec, proto_of):
    message = predict_pb2.PredictRequest()
    set_spec(message, spec)
    for name, arr in columns:
        message.inputs[name].CopyFrom(proto_of(arr))
    return message.SerializeToString()


def content_form(arr):
    return tensor_pb2.TensorProto.FromString(tf.io.serialize_tensor(arr).numpy())


@ORACLE
@given(S.grpc_batches("tensors"), S.grpc_specs(), st.booleans())
def test_decode_tf_serving_tensors_request(codecs, columns, spec, typed):
    columns = [(name, arr) for name, arr in columns if typed or arr.dtype.kind not in "OSU"] or [("x", F32)]
    proto_of = tf.make_tensor_proto if typed else content_form
    data = their_request(columns, spec, proto_of)
    got_spec, got = codecs.grpc.decode_predict_request(data, "tensors")
    assert got_spec == our_spec(spec)
    assert set(got) == {name for name, _ in columns}
    for name, arr in columns:
        assert_identical(got[name], as_decoded(tf.make_ndarray(proto_of(arr))))


@ORACLE
@given(S.grpc_batches("serialized_tensors"), S.grpc_specs(), st.booleans(), st.booleans())
def test_decode_tf_serving_serialized_tensors_request(codecs, columns, spec, typed, pad):
    def proto_of(arr):
        texts = []
        for i in range(len(arr)):
            inner = (tf.make_tensor_proto(arr[i, ...]).SerializeToString() if typed
                     else codecs.tensor.encode_tensor(arr[i, ...]))
            text = base64.urlsafe_b64encode(inner)
            texts.append(text if pad else text.rstrip(b"="))  # tf.io.encode_base64 does not pad
        holder = np.empty(len(texts), dtype=object)
        holder[:] = texts
        return tf.make_tensor_proto(holder)

    data = their_request(columns, spec, proto_of)
    got_spec, got = codecs.grpc.decode_predict_request(data, "serialized_tensors")
    assert got_spec == our_spec(spec)
    for name, arr in columns:
        if len(arr) == 0:
            assert got[name].shape == (0,) and got[name].dtype == np.float32
            continue
        want = as_decoded(arr)
        if typed:
            want = np.stack([as_decoded(tf.make_ndarray(tf.make_tensor_proto(arr[i, ...]))) for i in range(len(arr))])
        assert_identical(got[name], want)


@ORACLE
@given(S.grpc_batches("examples", min_instances=1), S.grpc_specs(), st.sampled_from(["input", "inputs"]))
def test_decode_tf_serving_examples_request(codecs, columns, spec, input_name):
    texts = []
    for i in range(len(columns[0][1])):
        example = example_pb2.Example()
        for name, arr in columns:
            example.features.feature[name].float_list.value.extend(example_values(arr[i]).tolist())
        texts.append(example.SerializeToString())
    holder = np.empty(len(texts), dtype=object)
    holder[:] = texts
    message = predict_pb2.PredictRequest()
    set_spec(message, spec)
    message.inputs[input_name].CopyFrom(tf.make_tensor_proto(holder))
    got_spec, got = codecs.grpc.decode_predict_request(message.SerializeToString(), "examples", input_name=input_name)
    assert got_spec == our_spec(spec)
    want = expected_examples(columns)
    assert set(got) == set(want)
    for name in want:
        # protobuf's float_list goes through Python floats: compare modulo NaN quieting
        assert_floats_equal(got[name], want[name])


@ORACLE
@given(S.grpc_batches("tensors"), S.GRPC_NAMES, st.booleans())
def test_decode_tf_serving_response(codecs, columns, model_name, typed):
    columns = [(name, arr) for name, arr in columns if typed or arr.dtype.kind not in "OSU"] or [("x", F32)]
    proto_of = tf.make_tensor_proto if typed else content_form
    message = predict_pb2.PredictResponse()
    message.model_spec.name = model_name
    message.model_spec.version.value = 7
    for name, arr in columns:
        message.outputs[name].CopyFrom(proto_of(arr))
    got = codecs.grpc.decode_predict_response(message.SerializeToString())
    assert set(got) == {name for name, _ in columns}
    for name, arr in columns:
        assert_identical(got[name], as_decoded(tf.make_ndarray(proto_of(arr))))


@ORACLE
@given(S.grpc_batches("serialized_tensors", min_instances=1), S.GRPC_NAMES, st.booleans())
def test_decode_tf_serving_serialized_tensors_response(codecs, columns, model_name, mixed):
    """An Earth-Engine-wrapped model's response (unpadded URL-safe base64 of
    tf.io.serialize_tensor), optionally with numeric and rank-2 string outputs, returned as they are."""
    message = predict_pb2.PredictResponse()
    message.model_spec.name = model_name
    message.model_spec.version.value = 3
    for name, arr in columns:
        message.outputs[name].CopyFrom(tf_serialized_instances(arr))
    n = len(columns[0][1])
    extra = {}
    if mixed:
        labels = np.empty((n, 2), dtype=object)
        labels[:] = b"label"
        extra = {"\x00scores": np.arange(n * 3, dtype=np.float64).reshape(n, 3), "\x00labels": labels,
                 "\x00count": np.int32(n)}
        extra = {name: arr for name, arr in extra.items() if name not in dict(columns)}
        for name, arr in extra.items():
            message.outputs[name].CopyFrom(tf.make_tensor_proto(arr))
    data = message.SerializeToString()
    got = codecs.grpc.decode_predict_response(data, layout="serialized_tensors")
    assert set(got) == {name for name, _ in columns} | set(extra)
    for name, arr in columns:
        assert_identical(got[name], as_decoded(arr))
    for name, arr in extra.items():
        assert_identical(got[name], as_decoded(arr))
    # layout "tensors" gives TF's base64 texts themselves
    plain = codecs.grpc.decode_predict_response(data)
    for name, arr in columns:
        assert_identical(plain[name], tf.make_ndarray(message.outputs[name]))


@ORACLE
@given(S.grpc_request_encodings())
def test_decode_agrees_with_protobuf_on_any_valid_writing(codecs, drawn):
    data, spec, expected, upb = drawn
    message = predict_pb2.PredictRequest.FromString(data)
    assert their_spec(message) == spec
    assert set(message.inputs) == set(upb)  # upb drops entries holding unknown fields (documented)
    for name, arr in upb.items():
        assert_modulo_quieting(as_decoded(tf.make_ndarray(message.inputs[name])), as_decoded(arr))
    got_spec, got = codecs.grpc.decode_predict_request(data, "tensors")
    assert got_spec == spec
    assert list(got) == list(expected)
    for name, arr in expected.items():
        assert_identical(got[name], as_decoded(arr))


def test_version_label_and_version_are_a_oneof(codecs):
    for order, want in [(("label", "version"), (5, None)), (("version", "label"), (None, "canary"))]:
        message = predict_pb2.PredictRequest()
        parts = {"label": ld(1, ld(4, b"canary")), "version": ld(1, ld(2, wire_tag(1, 0) + wire_varint(5)))}
        data = parts[order[0]] + parts[order[1]]
        message.ParseFromString(data)
        spec, _ = codecs.grpc.decode_predict_request(data, "tensors")
        assert (spec["version"], spec["version_label"]) == want
        assert their_spec(message)["version"] == want[0] and their_spec(message)["version_label"] == want[1]


# --------------------------------------------------------------------------------------------
# round trips, both backends crossed, byte equality


@pytest.mark.native
@PROPERTY
@given(st.data(), st.sampled_from(S.GRPC_LAYOUTS), S.grpc_specs())
def test_request_round_trip_crossed(both, data, layout, spec):
    columns = data.draw(S.grpc_batches(layout))
    ref, twin = both
    a = ref.grpc.encode_predict_request(columns, layout, **spec)
    b = twin.grpc.encode_predict_request(columns, layout, **spec)
    assert a == b
    for decoder in (ref, twin):
        got_spec, got = decoder.grpc.decode_predict_request(a, layout)
        assert got_spec == our_spec(spec)
        if layout == "examples":
            want = expected_examples(columns)
            # Examples are written with protobuf's sorted keys (a name after those it prefixes)
            assert list(got) == sorted(want, key=lambda name: name.encode("utf-8") + b"\xff")
            for name in want:
                assert_floats_equal(got[name], want[name])
        else:
            assert list(got) == [name for name, _ in columns]
            for name, arr in columns:
                if layout == "serialized_tensors" and len(arr) == 0:
                    assert got[name].shape == (0,) and got[name].dtype == np.float32
                else:
                    assert_identical(got[name], as_decoded(arr))
    assert_same_outcome(outcome(ref.grpc.decode_predict_request, a, layout),
                        outcome(twin.grpc.decode_predict_request, a, layout))


@pytest.mark.native
@PROPERTY
@given(S.grpc_batches("tensors"), st.sampled_from(["content", "proto"]), S.GRPC_NAMES)
def test_response_round_trip_crossed(both, columns, form, model_name):
    ref, twin = both
    a = ref.grpc.encode_predict_response(columns, model_name=model_name, form=form)
    assert a == twin.grpc.encode_predict_response(columns, model_name=model_name, form=form)
    for decoder in (ref, twin):
        got = decoder.grpc.decode_predict_response(a)
        assert list(got) == [name for name, _ in columns]
        for name, arr in columns:
            want = as_decoded(arr)
            if form == "proto" and (want.dtype == np.complex64 or (want.dtype == np.float32 and want.size <= 1)):
                want = quiet_f32_nans(want)
            assert_identical(got[name], want)


@pytest.mark.native
@PROPERTY
@given(S.grpc_batches("serialized_tensors"), st.sampled_from(["content", "proto"]), S.GRPC_NAMES)
def test_serialized_tensors_response_round_trip_crossed(both, columns, form, model_name):
    ref, twin = both
    kwargs = dict(layout="serialized_tensors", model_name=model_name, form=form)
    a = ref.grpc.encode_predict_response(columns, **kwargs)
    assert a == twin.grpc.encode_predict_response(columns, **kwargs)
    for decoder in (ref, twin):
        got = decoder.grpc.decode_predict_response(a, layout="serialized_tensors")
        assert list(got) == [name for name, _ in columns]
        for name, arr in columns:
            if len(arr) == 0:
                assert got[name].shape == (0,) and got[name].dtype == np.float32
            else:
                assert_identical(got[name], as_decoded(arr))  # content form inside: bits kept
    for layout in ("tensors", "serialized_tensors"):
        assert_same_outcome(outcome(ref.grpc.decode_predict_response, a, layout=layout),
                            outcome(twin.grpc.decode_predict_response, a, layout=layout))


def _strings_of(*items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


RESPONSE_BATCHES = [
    ("f32 NHW", np.arange(24, dtype=np.float32).reshape(3, 2, 4)),
    ("f64 N", np.array([1.5, -0.0, np.nan])),
    ("i64 N1", np.array([[1], [-2], [1 << 62]], np.int64)),
    ("u8 NHWC", np.arange(2 * 2 * 3 * 4, dtype=np.uint8).reshape(2, 2, 3, 4)),
    ("bool", np.array([[True, False], [False, True]])),
    ("f16", np.arange(6, dtype=np.float16).reshape(2, 3)),
    ("bf16", np.arange(4, dtype=np.float32).astype(BF16).reshape(4, 1)),
    ("c128", np.array([1 + 2j, 3 - 4j])),
    ("big-endian i32", np.arange(6, dtype=">i4").reshape(3, 2)),
    ("strided", np.arange(32, dtype=np.float32).reshape(4, 8)[:, ::2]),
    ("strings", np.array([[b"a\x00", b""], [b"\xff", b"xyz"]], dtype=object)),
    ("unicode", np.array(["\u00e9t\u00e9", "\U0001f600"])),
    ("1-D objects", _strings_of(b"a\x00", "b\x00")),
    ("empty instances", np.zeros((2, 0, 3), np.float32)),
    ("one instance", np.ones((1, 5), np.int16)),
]


@pytest.mark.parametrize("arr", [c[1] for c in RESPONSE_BATCHES], ids=[c[0] for c in RESPONSE_BATCHES])
def test_serialized_tensors_response_round_trip(codecs, arr):
    g = codecs.grpc
    data = g.encode_predict_response([("out", arr), ("n", np.arange(len(arr)))], layout="serialized_tensors")
    got = g.decode_predict_response(data, layout="serialized_tensors")
    assert list(got) == ["out", "n"]
    assert_identical(got["out"], as_decoded(arr))
    assert_identical(got["n"], np.arange(len(arr)))
    typed = g.decode_predict_response(data, layout="serialized_tensors",
                                      dtype={"out": object if arr.dtype.kind in "OSU" else arr.dtype})
    assert_identical(typed["out"], as_decoded(arr))


def test_serialized_tensors_response_by_hand(codecs):
    g = codecs.grpc
    rows = [bytes.fromhex("08011204120208022208") + np.array(row, "<f4").tobytes() for row in ([1, 2], [3, 4])]
    want = ld(1, ld(1, b"x") + ld(2, S._grpc_strings(*[base64.urlsafe_b64encode(r) for r in rows])))
    assert g.encode_predict_response([("x", F32)], layout="serialized_tensors") == want
    assert g.encode_predict_response({"x": F32}, layout="serialized_tensors", model_name="m") == want + ld(2, ld(1, b"m"))
    # the default layout is "tensors", unchanged, and does not need a shared instance axis
    plain = ld(1, ld(1, b"x") + ld(2, SERIALIZED_F32))
    assert g.encode_predict_response([("x", F32)]) == g.encode_predict_response([("x", F32)], layout="tensors") == plain
    assert len(g.decode_predict_response(g.encode_predict_response([("x", F32), ("s", np.float32(1))]))) == 2
    # decoding: instances stacked; read as "tensors", the base64 texts themselves
    assert_identical(g.decode_predict_response(want, layout="serialized_tensors")["x"], F32)
    assert g.decode_predict_response(want)["x"].tolist() == [base64.urlsafe_b64encode(r) for r in rows]
    # unpadded, standard alphabet: read too
    texts = [base64.b64encode(r).rstrip(b"=") for r in rows]
    assert_identical(g.decode_predict_response(ld(1, ld(1, b"x") + ld(2, S._grpc_strings(*texts))),
                                               layout="serialized_tensors")["x"], F32)
    # N = 0: no instance shape; the dtype asked for, else float32
    empty = g.encode_predict_response([("x", np.zeros((0, 2), np.int8))], layout="serialized_tensors")
    assert empty == ld(1, ld(1, b"x") + ld(2, b"\x08\x07" + ld(2, ld(2, b""))))  # DT_STRING [0], proto3's empty dim
    out = g.decode_predict_response(empty, layout="serialized_tensors")["x"]
    assert out.shape == (0,) and out.dtype == np.float32
    out = g.decode_predict_response(empty, layout="serialized_tensors", dtype=np.int8)["x"]
    assert out.shape == (0,) and out.dtype == np.int8


def test_serialized_tensors_response_mixed_outputs(codecs):
    """Only a DT_STRING output of rank 1 is instances; every other output is returned as it is
    (rank-2 and scalar strings included), and ``dtype`` applies to whichever array comes back."""
    g = codecs.grpc
    labels = np.empty((2, 1), dtype=object)
    labels[:] = [[b"cat"], [b"dog"]]
    scalar = np.array(b"s", dtype=object)
    serialized = g.encode_predict_response([("x", F32)], layout="serialized_tensors")
    plain = g.encode_predict_response([("scores", F32 * 2), ("labels", labels), ("name", scalar)], form="proto")
    data = serialized + plain  # concatenated messages: one response, the maps merged
    message = predict_pb2.PredictResponse.FromString(data)
    assert set(message.outputs) == {"x", "scores", "labels", "name"}
    out = g.decode_predict_response(data, layout="serialized_tensors")
    assert list(out) == ["x", "scores", "labels", "name"]
    assert_identical(out["x"], F32)
    assert_identical(out["scores"], F32 * 2)
    assert_identical(out["labels"], labels)
    assert_identical(out["name"], scalar)
    typed = g.decode_predict_response(data, layout="serialized_tensors",
                                      dtype={"x": np.float32, "scores": np.float32, "labels": object, "name": "string"})
    assert_identical(typed["labels"], labels)
    with pytest.raises(DecodeError) as info:
        g.decode_predict_response(data, layout="serialized_tensors", dtype=np.float32)
    offset = data.index(ld(1, b"labels")) + 8 + 2  # labels' TensorProto: after the key, a tag and a length
    assert str(info.value) == (f"PredictResponse.outputs['labels']: TensorProto: "
                               f"type mismatch: data is DT_STRING, expected DT_FLOAT at offset {offset}")
    with pytest.raises(DecodeError) as info:
        g.decode_predict_response(data, layout="serialized_tensors", dtype={"x": np.int64})
    assert str(info.value) == ("PredictResponse.outputs['x'] element 0: TensorProto: "
                               "type mismatch: data is DT_FLOAT, expected DT_INT64 at offset 17")
    with pytest.raises(DecodeError) as info:
        g.decode_predict_response(data, layout="serialized_tensors", dtype={"scores": np.float64})
    assert str(info.value).endswith("TensorProto: type mismatch: data is DT_FLOAT, expected DT_DOUBLE at offset 79")
    # a DT_STRING [N] output of raw strings is not serialized tensors: read it with "tensors"
    raw = g.encode_predict_response([("labels", labels[:, 0])])
    with pytest.raises(DecodeError, match=r"^PredictResponse.outputs\['labels'\] "
                                          r"element 0: "):
        g.decode_predict_response(raw, layout="serialized_tensors")
    assert_identical(g.decode_predict_response(raw)["labels"], labels[:, 0])


def test_layouts_on_a_small_batch_by_hand(codecs):
    g = codecs.grpc
    data = g.encode_predict_request([("x", F32)], "serialized_tensors")
    rows = [bytes.fromhex("08011204120208022208") + np.array(row, "<f4").tobytes() for row in ([1, 2], [3, 4])]
    assert data == ld(2, ld(1, b"x") + ld(2, S._grpc_strings(*[base64.urlsafe_b64encode(r) for r in rows])))
    data = g.encode_predict_request([("x", F32)], "tensors", model_name="m", version=0)
    assert data == ld(1, ld(1, b"m") + b"\x12\x00") + ld(2, ld(1, b"x") + ld(2, SERIALIZED_F32))
    data = g.encode_predict_request([("x", F32)], "tensors", version=-1, signature_name="s", output_filter=["o", ""])
    assert data == ld(1, ld(2, b"\x08" + wire_varint(-1)) + ld(3, b"s")) + ld(2, ld(1, b"x") + ld(2, SERIALIZED_F32)) + ld(3, b"o") + ld(3, b"")
    spec, out = g.decode_predict_request(data, "tensors")
    assert spec == {"name": "", "version": -1, "version_label": None, "signature_name": "s", "output_filter": ["o", ""]}
    data = g.encode_predict_request([("B1", F32), ("B2", np.array([7, 8], np.int32))], "examples")
    spec, out = g.decode_predict_request(data, "examples")
    assert list(out) == ["B1", "B2"]
    assert_identical(out["B1"], F32)
    assert_identical(out["B2"], np.array([[7], [8]], np.float32))
    with pytest.raises(DecodeError, match="exactly one input, named 'inputs'"):
        g.decode_predict_request(data, "examples", input_name="inputs")


def test_string_instances_keep_trailing_nuls(codecs):
    """A 1-D object column's instances are 0-d arrays, not bare str/bytes (numpy would turn
    those into U/S scalars and drop trailing NULs)."""
    column = np.empty(2, dtype=object)
    column[:] = [b"a\x00", "b\x00"]
    data = codecs.grpc.encode_predict_request([("s", column)], "serialized_tensors")
    _, out = codecs.grpc.decode_predict_request(data, "serialized_tensors")
    assert out["s"].tolist() == [b"a\x00", b"b\x00"]


def test_empty_batches(codecs):
    g = codecs.grpc
    empty = np.zeros((0, 2), np.float32)
    for layout in S.GRPC_LAYOUTS:
        data = g.encode_predict_request([("x", empty)], layout)
        spec, out = g.decode_predict_request(data, layout)
        if layout == "tensors":
            assert_identical(out["x"], empty)
        elif layout == "serialized_tensors":
            assert out["x"].shape == (0,) and out["x"].dtype == np.float32
            _, typed = g.decode_predict_request(data, layout, dtype=np.int64)
            assert typed["x"].shape == (0,) and typed["x"].dtype == np.int64
        else:
            assert out == {}
    assert g.decode_predict_request(b"", "tensors") == (
        {"name": "", "version": None, "version_label": None, "signature_name": "", "output_filter": []}, {})
    assert g.decode_predict_response(b"") == {}


def test_duplicate_names_last_wins_every_entry_checked(codecs):
    g = codecs.grpc
    second = SERIALIZED_F32.replace(b"\x00\x00\x80\x3f", b"\x00\x00\x00\x00")
    data = ld(2, ld(1, b"x") + ld(2, SERIALIZED_F32)) + ld(2, ld(1, b"y") + ld(2, b"\x08\x09\x12\x00")) + ld(
        2, ld(1, b"x") + ld(2, second))
    _, out = g.decode_predict_request(data, "tensors")
    assert list(out) == ["x", "y"]
    assert out["x"][0, 0] == 0
    assert tf.make_ndarray(predict_pb2.PredictRequest.FromString(data).inputs["x"])[0, 0] == 0  # protobuf agrees
    bad = ld(2, ld(1, b"x") + ld(2, b"\x08\x01\x12\x00\x22\x01\x00")) + ld(2, ld(1, b"x") + ld(2, SERIALIZED_F32))
    with pytest.raises(DecodeError, match=r"PredictRequest.inputs\['x'\]: TensorProto: "
                                          "tensor_content of 1 bytes"):
        g.decode_predict_request(bad, "tensors")


def test_entry_without_key_or_value_and_with_unknown_fields(codecs):
    g = codecs.grpc
    data = ld(2, ld(2, SERIALIZED_F32) + wire_tag(7, 0) + b"\x01")
    _, out = g.decode_predict_request(data, "tensors")
    assert list(out) == [""]
    with pytest.raises(DecodeError, match=r"PredictRequest.inputs\['x'\]: TensorProto: "
                                          r"missing or invalid dtype"):
        g.decode_predict_request(ld(2, ld(1, b"x")), "tensors")


def test_max_bytes_bounds_the_whole_message(codecs):
    g = codecs.grpc
    data = g.encode_predict_request([("a", F32), ("b", F32)], "tensors")
    assert len(g.decode_predict_request(data, "tensors", max_bytes=32)[1]) == 2
    with pytest.raises(DecodeError, match=r"inputs\['b'\]: .*needs 16 bytes, over max_bytes=0 at offset 44$"):
        g.decode_predict_request(data, "tensors", max_bytes=16)
    # a tiny TensorProto claiming 2**28 float32 zeros is refused before anything is allocated
    huge = b"\x08\x01" + ld(2, ld(2, b"\x08" + wire_varint(1 << 28)))
    with pytest.raises(DecodeError, match="over max_bytes=1000"):
        g.decode_predict_response(ld(1, ld(1, b"z") + ld(2, huge)), max_bytes=1000)
    data = g.encode_predict_request([("a", F32)], "serialized_tensors")
    # the [2] string tensor takes 16 bytes (8 an element), element 0 takes 8: 7 are left
    with pytest.raises(DecodeError, match=r"element 1: TensorProto: .* over max_bytes=7"):
        g.decode_predict_request(data, "serialized_tensors", max_bytes=16 + 8 + 7)
    data = g.encode_predict_request([("a", F32)], "examples")
    with pytest.raises(DecodeError, match="element 0: the decoded features exceed max_bytes=20"):
        g.decode_predict_request(data, "examples", max_bytes=20)


def test_dtype_argument(codecs):
    g = codecs.grpc
    data = g.encode_predict_request([("a", F32), ("b", np.array([1, 2], np.int64))], "serialized_tensors")
    _, out = g.decode_predict_request(data, "serialized_tensors", dtype={"a": np.float32, "b": np.int64})
    assert out["b"].dtype == np.int64
    with pytest.raises(DecodeError, match=r"inputs\['b'\] element 0: TensorProto: type "
                                          "mismatch: data is DT_INT64, expected DT_FLOAT"):
        g.decode_predict_request(data, "serialized_tensors", dtype=np.float32)
    with pytest.raises(TypeError, match="has no TensorFlow DataType"):
        g.decode_predict_request(data, "serialized_tensors", dtype=np.dtype("M8[s]"))
    with pytest.raises(ValueError, match="dtype must be None or float32"):
        g.decode_predict_request(data, "examples", dtype=np.float64)


# --------------------------------------------------------------------------------------------
# decisions and errors by hand


REQUEST_ERRORS = [
    ("bad layout", lambda g: g.encode_predict_request([("x", F32)], "json"), ValueError, "layout must be one of"),
    ("bad form", lambda g: g.encode_predict_response([("x", F32)], form="typed"), ValueError, "form must be one of"),
    ("no columns", lambda g: g.encode_predict_request([], "tensors"), ValueError, "inputs: no columns given"),
    ("name type", lambda g: g.encode_predict_request([(1, F32)], "tensors"), TypeError, "inputs names must be str"),
    ("not a pair", lambda g: g.encode_predict_request([F32], "tensors"), TypeError, "must be \\(name, array\\) pairs"),
    ("repeated", lambda g: g.encode_predict_request([("x", F32), ("x", F32)], "tensors"), ValueError, "'x' appears twice"),
    ("surrogate", lambda g: g.encode_predict_request([("\ud800", F32)], "tensors"), ValueError, "lone surrogate"),
    ("0-d", lambda g: g.encode_predict_request([("x", np.float32(1))], "tensors"), ValueError, "no instance axis"),
    ("ragged", lambda g: g.encode_predict_request([("x", F32), ("y", F32[:1])], "tensors"), ValueError,
     "'y' has 1 instances, 'x' has 2"),
    ("version type", lambda g: g.encode_predict_request([("x", F32)], "tensors", version="1"), TypeError,
     "version must be an int"),
    ("version bool", lambda g: g.encode_predict_request([("x", F32)], "tensors", version=True), TypeError,
     "version must be an int"),
    ("version range", lambda g: g.encode_predict_request([("x", F32)], "tensors", version=1 << 63), ValueError,
     "out of the int64 range"),
    ("filter str", lambda g: g.encode_predict_request([("x", F32)], "tensors", output_filter="o"), TypeError,
     "not a single string"),
    ("filter item", lambda g: g.encode_predict_request([("x", F32)], "tensors", output_filter=[b"o"]), TypeError,
     "output_filter names must be str"),
    ("model name", lambda g: g.encode_predict_request([("x", F32)], "tensors", model_name=None), TypeError,
     "model_name must be str"),
    ("complex example", lambda g: g.encode_predict_request([("x", F32.astype(np.complex64))], "examples"), TypeError,
     "holds float_list features"),
    ("input_name", lambda g: g.encode_predict_request([("x", F32)], "examples", input_name=3), TypeError,
     "input_name must be str"),
    ("decode layout", lambda g: g.decode_predict_request(b"", "json"), ValueError, "layout must be one of"),
    ("decode str", lambda g: g.decode_predict_request("", "tensors"), TypeError, "takes bytes or a buffer"),
    ("max_bytes", lambda g: g.decode_predict_response(b"", max_bytes=-1), ValueError, "max_bytes must be an int"),
    ("response layout examples", lambda g: g.encode_predict_response([("x", F32)], layout="examples"), ValueError,
     r"^layout must be one of \('tensors', 'serialized_tensors'\), not 'examples'$"),
    ("decode response layout examples", lambda g: g.decode_predict_response(b"", layout="examples"), ValueError,
     r"^layout must be one of \('tensors', 'serialized_tensors'\), not 'examples'$"),
    ("response layout", lambda g: g.encode_predict_response([("x", F32)], layout=None), ValueError,
     r"^layout must be one of \('tensors', 'serialized_tensors'\), not None$"),
    ("response layout before form", lambda g: g.encode_predict_response([], layout="json", form="typed"), ValueError,
     "layout must be one of"),
    ("serialized response form", lambda g: g.encode_predict_response([("x", F32)], layout="serialized_tensors",
                                                                      form="typed"), ValueError, "form must be one of"),
    ("serialized response ragged", lambda g: g.encode_predict_response([("x", F32), ("y", F32[:1])],
                                                                       layout="serialized_tensors"), ValueError,
     "^outputs: 'y' has 1 instances, 'x' has 2$"),
    ("serialized response 0-d", lambda g: g.encode_predict_response([("x", np.float32(1))], layout="serialized_tensors"),
     ValueError, r"^outputs: 'x' has no instance axis \(a 0-d array\)$"),
    ("serialized response no columns", lambda g: g.encode_predict_response({}, layout="serialized_tensors"), ValueError,
     "^outputs: no columns given$"),
    ("serialized response dtype", lambda g: g.decode_predict_response(b"", layout="serialized_tensors",
                                                                      dtype=np.dtype("M8[s]")), TypeError,
     "has no TensorFlow DataType"),
]


@pytest.mark.parametrize("call, exc, message", [c[1:] for c in REQUEST_ERRORS], ids=[c[0] for c in REQUEST_ERRORS])
def test_argument_errors(codecs, call, exc, message):
    with pytest.raises(exc, match=message):
        call(codecs.grpc)


STRINGS = S._grpc_strings
EXAMPLE_B1 = S._GRPC_EXAMPLE  # {B1: [1, 2, 3]}
EXAMPLE_INT = bytes.fromhex("0a0d0a0b0a02423112051a030a0107")  # {B1: int64 [7]}
EXAMPLE_B2 = EXAMPLE_B1.replace(b"B1", b"B2")
EXAMPLE_SHORT = bytes.fromhex("0a140a120a024231120c120a0a080000803f00000040")  # {B1: [1, 2]}

MALFORMED = [
    # (id, layout, data, message)
    ("truncated tag", "tensors", b"\x80", "PredictRequest: truncated varint at offset 0"),
    ("length past end", "tensors", ld(2, b"xy")[:-1], "PredictRequest: length 2 at offset 1 runs past the end"),
    ("bad wire type", "tensors", b"\x16", "PredictRequest: invalid wire type 6 for field 2 at offset 1"),
    ("spec name utf8", "tensors", ld(1, ld(1, b"\xff")), "PredictRequest.model_spec: name at offset 4 is not valid UTF-8"),
    ("label utf8", "tensors", ld(1, ld(4, b"\xed\xa0\x80")), "PredictRequest.model_spec: version_label at offset 4"),
    ("version varint", "tensors", ld(1, ld(2, b"\x08\x80")), "PredictRequest.model_spec.version: truncated varint at offset 5"),
    ("filter utf8", "tensors", ld(3, b"\xc0\x80"), "PredictRequest: output_filter at offset 2 is not valid UTF-8"),
    ("key utf8", "tensors", ld(2, ld(1, b"\xff")), "PredictRequest.inputs: key at offset 4 is not valid UTF-8"),
    ("entry group", "tensors", ld(2, wire_tag(5, 3)), "PredictRequest.inputs: truncated varint at offset 3"),
    ("envelope before payloads", "tensors", ld(2, ld(1, b"x") + ld(2, b"")) + b"\x80",
     "PredictRequest: truncated varint at offset 7"),
    ("tensor payload", "tensors", ld(2, ld(1, b"x") + ld(2, b"\x08\x01\x12\x02\x12\x05")),
     "PredictRequest.inputs['x']: TensorProto: length 5 at offset 12 runs past the end"),
    ("not a string tensor", "serialized_tensors", ld(2, ld(1, b"x") + ld(2, SERIALIZED_F32)),
     "PredictRequest.inputs['x']: TensorProto: type mismatch: data is DT_FLOAT, expected DT_STRING"),
    ("string rank 2", "serialized_tensors",
     ld(2, ld(1, b"x") + ld(2, b"\x08\x07" + ld(2, ld(2, b"\x08\x01") * 2) + ld(8, b"CAESAA"))),
     "PredictRequest.inputs['x']: expected a DT_STRING tensor of shape [N], not shape [1, 1]"),
    ("bad base64", "serialized_tensors", ld(2, ld(1, b"x") + ld(2, STRINGS(b"CAESAA", b"A==="))),
     "PredictRequest.inputs['x'] element 1: base64: "),
    ("bad inner tensor", "serialized_tensors", ld(2, ld(1, b"x") + ld(2, STRINGS(b"CAES"))),
     "PredictRequest.inputs['x'] element 0: TensorProto: "),
    ("instances differ", "serialized_tensors", ld(2, ld(1, b"x") + ld(2, STRINGS(b"CAESAA", b"CAMSAA"))),
     "element 1: int32 [] differs from element 0's float32 []"),
    ("shapes differ", "serialized_tensors",
     ld(2, ld(1, b"x") + ld(2, STRINGS(b"CAESAA", base64.urlsafe_b64encode(SERIALIZED_F32)))),
     "element 1: float32 [2, 2] differs from element 0's float32 []"),
    ("examples name", "examples", ld(2, ld(1, b"inputs") + ld(2, STRINGS(EXAMPLE_B1))),
     "PredictRequest.inputs: layout 'examples' needs exactly one input, named 'input'; got ['inputs']"),
    ("examples two inputs", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(EXAMPLE_B1))) + ld(2, ld(1, b"x")),
     "needs exactly one input, named 'input'; got ['input', 'x']"),
    ("examples none", "examples", b"", "needs exactly one input, named 'input'; got []"),
    ("bad example", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(EXAMPLE_B1[:-1]))),
     "PredictRequest.inputs['input'] element 0: Example: length"),
    ("int64 feature", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(EXAMPLE_INT))),
     "element 0: feature 'B1' is int64_list, not float_list"),
    ("no kind", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(bytes.fromhex("0a080a060a0242311200")))),
     "element 0: feature 'B1' is no kind, not float_list"),
    ("features differ", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(EXAMPLE_B1, EXAMPLE_B2))),
     "element 1: features ['B2'] differ from element 0's ['B1']"),
    ("counts differ", "examples", ld(2, ld(1, b"input") + ld(2, STRINGS(EXAMPLE_B1, EXAMPLE_SHORT))),
     "element 1: feature 'B1' has 2 values, element 0 has 3"),
]


@pytest.mark.parametrize("layout, data, message", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_request(codecs, layout, data, message):
    with pytest.raises(DecodeError) as info:
        codecs.grpc.decode_predict_request(data, layout)
    assert message in str(info.value), str(info.value)


@pytest.mark.native
@pytest.mark.parametrize("layout, data", [c[1:3] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_request_same_message(both, layout, data):
    assert_same_outcome(*[outcome(codecs.grpc.decode_predict_request, data, layout) for codecs in both])


MALFORMED_RESPONSES = [
    (ld(2, ld(1, b"\xff")), "PredictResponse.model_spec: name at offset 4 is not valid UTF-8"),
    (ld(1, ld(1, b"\xff")), "PredictResponse.outputs: key at offset 4 is not valid UTF-8"),
    (ld(1, ld(1, b"y") + ld(2, b"\x08\x63")), "PredictResponse.outputs['y']: TensorProto: "
                                               "unknown dtype 99 at offset 7"),
    (ld(3, b"x") + b"\x1a", "PredictResponse: truncated varint at offset 4"),
]


@pytest.mark.parametrize("data, message", MALFORMED_RESPONSES)
def test_malformed_response(codecs, data, message):
    with pytest.raises(DecodeError) as info:
        codecs.grpc.decode_predict_response(data)
    assert str(info.value) == message


def out_entry(name, value):
    return ld(1, ld(1, name) + ld(2, value))


TWO_F32 = STRINGS(S._GRPC_B64, S._GRPC_B64)  # two float32 [2, 2] instances


MALFORMED_SERIALIZED_RESPONSES = [
    # (id, data, max_bytes, message: the whole of it, or its start when it ends with ": ")
    ("bad base64", out_entry(b"x", STRINGS(b"CAESAA", b"A===")), None,
     "PredictResponse.outputs['x'] element 1: base64: "),
    ("bad inner tensor", out_entry(b"x", STRINGS(b"CAES")), None,
     "PredictResponse.outputs['x'] element 0: TensorProto: "),
    ("instances differ", out_entry(b"x", STRINGS(b"CAESAA", b"CAMSAA")), None,
     "PredictResponse.outputs['x'] element 1: int32 [] differs from element 0's float32 [] at offset 25"),
    ("shapes differ", out_entry(b"x", STRINGS(b"CAESAA", base64.urlsafe_b64encode(SERIALIZED_F32))), None,
     "PredictResponse.outputs['x'] element 1: float32 [2, 2] differs from element 0's "
     "float32 [] at offset 25"),
    ("after a numeric output", out_entry(b"n", SERIALIZED_F32) + out_entry(b"x", STRINGS(b"CAESAA", b"CAMSAA")), None,
     "PredictResponse.outputs['x'] element 1: int32 [] differs from element 0's float32 [] at offset 62"),
    ("bad numeric output", out_entry(b"y", b"\x08\x63"), None,
     "PredictResponse.outputs['y']: TensorProto: unknown dtype 99 at offset 7"),
    ("string tensor_content", out_entry(b"y", b"\x08\x07\x12\x04\x12\x02\x08\x01\x22\x01a"), None,
     "PredictResponse.outputs['y']: TensorProto: tensor_content at offset 17 is not "
     "supported for DT_STRING"),
    ("shadowed entry checked", out_entry(b"x", STRINGS(b"A===")) + out_entry(b"x", STRINGS(b"CAESAA")), None,
     "PredictResponse.outputs['x'] element 0: base64: "),
    ("envelope before payloads", out_entry(b"x", STRINGS(b"A===")) + ld(2, ld(1, b"\xff")), None,
     "PredictResponse.model_spec: name at offset 25 is not valid UTF-8"),
    ("string tensor over max_bytes", out_entry(b"x", TWO_F32), 15,
     "PredictResponse.outputs['x']: TensorProto: shape [2] of DT_STRING needs 16 bytes, "
     "over max_bytes=15 at offset 7"),
    ("instance over max_bytes", out_entry(b"x", TWO_F32), 16 + 16 + 15,
     "PredictResponse.outputs['x'] element 1: TensorProto: shape [2, 2] of DT_FLOAT "
     "needs 16 bytes, over max_bytes=15 at offset 59"),
    ("as-is output over max_bytes", out_entry(b"x", TWO_F32) + out_entry(b"n", SERIALIZED_F32),
     16 + 32 + 15,
     "PredictResponse.outputs['n']: TensorProto: shape [2, 2] of DT_FLOAT needs 16 bytes, "
     "over max_bytes=15 at offset 106"),
]


@pytest.mark.parametrize("data, max_bytes, message", [c[1:] for c in MALFORMED_SERIALIZED_RESPONSES],
                         ids=[c[0] for c in MALFORMED_SERIALIZED_RESPONSES])
def test_malformed_serialized_tensors_response(codecs, data, max_bytes, message):
    kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
    with pytest.raises(DecodeError) as info:
        codecs.grpc.decode_predict_response(data, layout="serialized_tensors", **kwargs)
    got = str(info.value)
    assert got.startswith(message) if message.endswith(": ") else got == message, got
    if max_bytes is not None:  # one byte more and this array fits
        more = outcome(codecs.grpc.decode_predict_response, data, layout="serialized_tensors", max_bytes=max_bytes + 1)
        assert more[0] == "ok" or more[1] != got, more


@pytest.mark.native
@pytest.mark.parametrize("data, max_bytes", [c[1:3] for c in MALFORMED_SERIALIZED_RESPONSES],
                         ids=[c[0] for c in MALFORMED_SERIALIZED_RESPONSES])
def test_malformed_serialized_tensors_response_same_message(both, data, max_bytes):
    kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
    results = [outcome(codecs.grpc.decode_predict_response, data, layout="serialized_tensors", **kwargs)
               for codecs in both]
    assert results[0][0] is DecodeError
    assert_same_outcome(*results)


def test_protobuf_refuses_what_we_refuse_at_the_wire_level(codecs):
    from google.protobuf.message import DecodeError as ProtobufDecodeError

    for layout, data, _ in [c[1:] for c in MALFORMED[:9]]:
        with pytest.raises(DecodeError):
            codecs.grpc.decode_predict_request(data, layout)
        with pytest.raises(ProtobufDecodeError):
            predict_pb2.PredictRequest.FromString(data)


@pytest.mark.native
@pytest.mark.parametrize("layout", S.GRPC_LAYOUTS)
def test_every_truncation(both, layout):
    """Cut a valid request at every offset: a cut between top-level fields is a valid shorter
    request; any other cut is a DecodeError; both backends agree, message for message."""
    columns = [("B1", F32), ("B2", np.array([[1.5], [2.5]], np.float64))]
    data = both[0].grpc.encode_predict_request(columns, layout, model_name="m", version=3, output_filter=["o"],
                                              input_name="input")
    boundaries = top_level_boundaries(data)
    for cut in range(len(data)):
        results = [outcome(codecs.grpc.decode_predict_request, data[:cut], layout) for codecs in both]
        assert_same_outcome(*results)
        if cut in boundaries and (layout != "examples" or cut == len(data) - len(ld(3, b"o"))):
            assert results[0][0] == "ok", (cut, results[0])
        elif cut not in boundaries:
            assert results[0][0] is DecodeError, cut


@pytest.mark.native
@CORRUPTION
@given(st.data(), st.sampled_from(S.GRPC_LAYOUTS))
def test_mutated_requests_same_outcome(both, data, layout):
    damaged = data.draw(S.mutated_grpc_requests(layout))
    results = [outcome(codecs.grpc.decode_predict_request, damaged, layout) for codecs in both]
    assert results[0][0] in ("ok", DecodeError), results[0]
    assert_same_outcome(*results)
    response = [outcome(codecs.grpc.decode_predict_response, damaged) for codecs in both]
    assert response[0][0] in ("ok", DecodeError), response[0]
    assert_same_outcome(*response)


@pytest.mark.native
def test_every_response_truncation(both):
    """Cut a serialized_tensors response with a numeric output at every offset: both backends
    agree, message for message, for both response layouts."""
    columns = [("B1", F32), ("B2", np.array([[1.5], [2.5]], np.float64))]
    data = both[0].grpc.encode_predict_response(columns, layout="serialized_tensors", model_name="m")
    data += both[0].grpc.encode_predict_response([("n", F32)])
    boundaries = top_level_boundaries(data)
    for cut in range(len(data)):
        for layout in ("tensors", "serialized_tensors"):
            results = [outcome(codecs.grpc.decode_predict_response, data[:cut], layout=layout) for codecs in both]
            assert_same_outcome(*results)
            assert (results[0][0] == "ok") == (cut in boundaries), (cut, layout, results[0])


@pytest.mark.native
@CORRUPTION
@given(S.mutated_grpc_responses(), st.sampled_from(["tensors", "serialized_tensors"]))
def test_mutated_responses_same_outcome(both, damaged, layout):
    results = [outcome(codecs.grpc.decode_predict_response, damaged, layout=layout) for codecs in both]
    assert results[0][0] in ("ok", DecodeError), results[0]
    assert_same_outcome(*results)


def test_decode_input_types(codecs):
    data = codecs.grpc.encode_predict_request([("x", F32)], "tensors")
    for form in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        _, out = codecs.grpc.decode_predict_request(form, "tensors")
        assert_identical(out["x"], F32)
    with pytest.raises(TypeError, match="C-contiguous"):
        codecs.grpc.decode_predict_request(np.frombuffer(data * 2, np.uint8)[::2], "tensors")
