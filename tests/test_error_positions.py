"""One position per error message (issue 10 item 8), over mutated inputs of every decoder and of
every nested format (base64 and TensorProto inside a JSON body; TensorProto, base64 and Example
inside a PredictRequest or PredictResponse; TFRecord streams): a DecodeError names "offset" at
most once, and both backends raise the same message.  ``DecodeError.within`` rebases an inner
decoder's offset onto the outer input, or replaces it by the outer position; string
concatenation of an inner message would repeat it (``... at offset 1 at offset 15``).
"""

import base64
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
import tensorwire.testing as twt
from backends import PYTHON
from common import decoded_outcome
from tensorwire import DecodeError, PredictionError
from tensorwire.codecs import tfrecord as reference_tfrecord

CORRUPTION = settings(max_examples=min(settings.default.max_examples * 5, 600))
P = b'{"predictions":'


def outcome(func, *args, **kw):
    """("ok", repr of the result) or ("error", type name, message) for a DecodeError or
    PredictionError."""
    got = decoded_outcome(func, *args, errors=(DecodeError, PredictionError), canonical=comparable, **kw)
    return ("error", got[1].__name__, got[2]) if got[0] == "error" else got


def comparable(got):
    """The result (the last item of a tuple) as reprs: a mapping as sorted (name, repr) pairs."""
    if isinstance(got, tuple):
        got = got[-1]
    if isinstance(got, dict):
        return sorted((k, repr(v)) for k, v in got.items())
    return repr(got)


def check(codecs, call):
    """``call(backend)`` on ``codecs`` and on the reference: the same outcome (the Cython twin
    crossed with the reference; the reference with itself in the pure-Python run), and "offset"
    at most once in a message."""
    results = [call(codecs), call(PYTHON)]
    for r in results:
        if r[0] == "error":
            assert r[2].count("offset") <= 1, r[2]
    assert all(r == results[0] for r in results), results


def tfrecord_stream(records):
    sink = io.BytesIO()
    reference_tfrecord.write_tfrecord(sink, records)
    return sink.getvalue()


# JSON bodies holding a TensorProto value whose base64 or TensorProto is damaged
_tensor_texts = st.one_of(
    S.mutated_tensor_protos().map(lambda raw: base64.urlsafe_b64encode(raw)),
    S.b64_corrupted_texts(max_size=300).map(lambda t: t if isinstance(t, bytes) else bytes(t, "utf-8", "surrogatepass")),
)


@st.composite
def json_tensor_bodies(draw):
    text = draw(_tensor_texts)
    value = b'"' + text + b'"'
    if draw(st.booleans()):
        value = b'{"b64":' + value + b"}"
    if draw(st.booleans()):
        value = b'{"x":' + value + b"}"
    return P + b"[" + value + b"]}"


@st.composite
def grpc_nested(draw):
    """A PredictRequest whose DT_STRING input holds a damaged element: base64, TensorProto or Example."""
    layout = draw(st.sampled_from(["serialized_tensors", "examples"]))
    if layout == "examples":
        element = draw(S.mutated_examples())
        name = b"input"
    else:
        element = draw(_tensor_texts)
        name = b"x"
    return layout, S._grpc_entry(name, S._grpc_strings(b"CAESAA" if layout != "examples" else element, element))


class TestOnePosition:
    """``codecs``: each backend alone (the pure-Python run too); ``both``: the two crossed."""

    @CORRUPTION
    @given(body=st.one_of(S.mutated_json_bodies(), json_tensor_bodies()), value_form=st.sampled_from(["number", "tensor"]))
    def test_json_bodies(self, codecs, body, value_form):
        check(codecs, lambda b: outcome(b.jsonbody.decode_body, body, "predictions", value_form=value_form))

    @CORRUPTION
    @given(text=S.b64_corrupted_texts())
    def test_base64(self, codecs, text):
        check(codecs, lambda b: outcome(b.base64.b64decode, text))

    @CORRUPTION
    @given(data=S.mutated_tensor_protos())
    def test_tensor(self, codecs, data):
        check(codecs, lambda b: outcome(b.tensor.decode_tensor, data))

    @CORRUPTION
    @given(data=S.mutated_examples())
    def test_example(self, codecs, data):
        check(codecs, lambda b: outcome(b.example.decode_example, data))
        check(codecs, lambda b: outcome(b.example.decode_sequence_example, data))

    @CORRUPTION
    @given(st.data(), st.sampled_from(S.GRPC_LAYOUTS))
    def test_grpc(self, codecs, data, layout):
        damaged = data.draw(S.mutated_grpc_requests(layout))
        check(codecs, lambda b: outcome(b.grpc.decode_predict_request, damaged, layout))
        check(codecs, lambda b: outcome(b.grpc.decode_predict_response, damaged, layout="serialized_tensors"))

    @CORRUPTION
    @given(damaged=S.mutated_grpc_responses(), layout=st.sampled_from(["tensors", "serialized_tensors"]))
    def test_grpc_responses(self, codecs, damaged, layout):
        check(codecs, lambda b: outcome(b.grpc.decode_predict_response, damaged, layout=layout))

    @CORRUPTION
    @given(case=grpc_nested())
    def test_grpc_nested(self, codecs, case):
        layout, data = case
        check(codecs, lambda b: outcome(b.grpc.decode_predict_request, data, layout))

    @CORRUPTION
    @given(records=S.tfrecord_record_lists(max_records=4, big=False), edit=st.data())
    def test_tfrecord(self, codecs, records, edit):
        stream = edit.draw(twt.mutated_bytes(st.just(tfrecord_stream(records)), st.binary(min_size=1, max_size=8)))
        check(codecs, lambda b: outcome(lambda: list(b.tfrecord.read_tfrecord(io.BytesIO(stream)))))


def test_nested_errors_by_hand(codecs):
    """The issue's example and its kin: one position, the byte in the outer input."""
    j, g = codecs.jsonbody, codecs.grpc
    body = b'{"instances":["C.ESAA"]}'
    with pytest.raises(DecodeError) as info:
        j.decode_body(body, "instances", value_form="tensor")
    assert str(info.value) == "JSON body: 'output': base64: invalid character 0x2e at offset 16"
    assert body[16:17] == b"."
    data = S._grpc_entry(b"x", S._grpc_strings(b"CAESAA", b"A==="))
    with pytest.raises(DecodeError) as info:
        g.decode_predict_request(data, "serialized_tensors")
    # the failing byte of the element's text, where it lies in the message
    assert str(info.value) == f"PredictRequest.inputs['x'] element 1: base64: 3 padding characters at offset {data.index(b'A===') + 1}"
    truncated = S._grpc_entry(b"x", b"\x08\x01\x12\x02\x12\x05")
    with pytest.raises(DecodeError) as info:
        g.decode_predict_request(truncated, "tensors")
    assert str(info.value).startswith("PredictRequest.inputs['x']: TensorProto: length 5 at offset 12 runs past")
    assert str(info.value).count("offset") == 1
    assert truncated[12:13] == b"\x05"  # the rebased offset: the length that runs past the end
    err = DecodeError("inner: bad byte", 3, " (detail)")
    assert str(err) == "inner: bad byte at offset 3 (detail)"
    assert str(err.within("outer: ", 100, lambda i: 10 + i)) == "outer: inner: bad byte at offset 13 (detail)"
    assert str(err.within("outer: ", 100)) == "outer: inner: bad byte (detail) at offset 100"
    assert str(DecodeError("inner: no position").within("outer: ", 7, lambda i: i)) == "outer: inner: no position at offset 7"
