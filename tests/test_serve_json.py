"""The general predict body (JSON) end to end: ``tensorwire.serve`` on loopback and ``tensorwire.Client``.

Models of the kinds the AI Platform request-body documentation names: a text classifier, an
image classifier fed JPEG bytes (looked at as bytes only: counted and hashed), a custom routine
reading ``parameters``, and TF Serving's columnar form.  Also detection in a server taking
every format, and inspect's summary of string and bytes inputs.
"""

import hashlib
import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tensorwire as tw
from serving import inproc, post
from tensorwire import _inspect
from tensorwire._sniff import sniff_json_format

F = tw.PayloadFormat


def text_model(inputs, parameters=None):
    """Word counts, and whether each text is longer than ``parameters["min_words"]`` words."""
    texts = inputs["instances"]
    words = np.array([len(t.split()) for t in texts], dtype=np.int64)
    threshold = (parameters or {}).get("min_words", 0)
    return {"words": words, "long": words > threshold, "label": np.array([t.split()[0] for t in texts])}


def jpeg_model(inputs):
    """What can be told of JPEG bytes without decoding them: their length and a hash."""
    blobs = inputs["image"]
    return {
        "size": np.array([len(b) for b in blobs], dtype=np.int64),
        "sha1": np.array([hashlib.sha1(b).digest() for b in blobs], dtype=object),
        "tag": inputs["tag"],
    }


def fake_jpegs(n, rng):
    # a JPEG's start-of-image marker, then random bytes of varying length
    return [b"\xff\xd8\xff\xe0" + rng.bytes(int(rng.integers(10, 3000))) for _ in range(n)]


def test_a_text_classifier_with_parameters_over_http():
    texts = ["the quick brown fox", "jumps", "over the lazy dog", "é ünïcödé \"quoted\" \\ \n line"]
    with inproc(text_model, formats=["JSON"]) as srv:
        r = post(srv.http_url, json.dumps({"instances": texts, "parameters": {"min_words": 2}}).encode())
        assert r.status == 200, r.data
        assert json.loads(r.data) == {"predictions": [
            {"words": 4, "long": True, "label": "the"}, {"words": 1, "long": False, "label": "jumps"},
            {"words": 4, "long": True, "label": "over"}, {"words": 5, "long": True, "label": "é"},
        ]}
        with tw.Client(srv.http_url, "JSON", retries=0) as client:
            got = client.predict(np.array(texts, dtype=object), parameters={"min_words": 3})
            assert got["words"].dtype == np.int64 and got["words"].tolist() == [4, 1, 4, 5]
            assert got["long"].tolist() == [True, False, True, True]
            assert got["label"].dtype == object and got["label"].tolist() == ["the", "jumps", "over", "é"]
            # without parameters the model sees None
            assert client.predict(np.array(texts))["long"].tolist() == [True, True, True, True]


def test_a_jpeg_bytes_model_and_client_splitting_by_payload_size():
    rng = np.random.default_rng(0)
    blobs = fake_jpegs(40, rng)
    tags = np.array([f"tag{i}" for i in range(40)])
    images = np.empty(40, dtype=object)
    images[:] = blobs
    with inproc(jpeg_model, formats=["JSON"]) as srv:
        # split into several requests: ~4 KB of base64 per instance against a 20 KB limit
        with tw.Client(srv.http_url, "JSON", retries=0, max_payload_bytes=20_000, concurrency=2) as client:
            got = client.predict({"image": images, "tag": tags})
    assert got["size"].tolist() == [len(b) for b in blobs]
    assert got["sha1"].tolist() == [hashlib.sha1(b).digest() for b in blobs]
    assert got["tag"].tolist() == tags.tolist()


def test_the_request_body_is_what_the_ai_platform_docs_show():
    body = tw.encode_request({"image": np.array([b"\xff\xd8\xff"], dtype=object), "tag": np.array(["beach"])},
                             "JSON", parameters={"confidence": 0.5})
    assert json.loads(body) == {"instances": [{"image": {"b64": "/9j/"}, "tag": "beach"}],
                                "parameters": {"confidence": 0.5}}


def test_a_columnar_request_is_answered_in_the_columnar_form():
    seen = {}

    def model(inputs):
        seen.update(inputs)
        return {"sum": inputs["a"].sum(axis=-1), "b": inputs["b"]}

    with inproc(model, formats=["JSON"]) as srv:
        body = tw.encode_request({"a": np.arange(6).reshape(2, 3), "b": np.array("scalar text")}, "JSON",
                                 columnar=True)
        assert body == b'{"inputs":{"a":[[0,1,2],[3,4,5]],"b":"scalar text"}}'
        r = post(srv.http_url, body)
        assert r.status == 200, r.data
        assert json.loads(r.data) == {"outputs": {"sum": [3, 12], "b": "scalar text"}}
        assert seen["b"].shape == () and seen["a"].dtype == np.int64
        out = tw.decode_response(r.data, "JSON")
        assert out["sum"].tolist() == [3, 12] and out["b"].shape == ()
        # a bare columnar value, under "inputs"
        r = post(srv.http_url, b'{"inputs": {"a": [[1.5, 2]], "b": true}}')
        assert json.loads(r.data) == {"outputs": {"sum": [3.5], "b": True}}


def test_bad_general_bodies_are_400_and_the_server_goes_on():
    with inproc(text_model, formats=["JSON"]) as srv:
        for body in (b'{"instances": [1, "a"]}', b'{"instances": [{"b64": 3}]}',
                     b'{"instances": [{"b64": "QQ==", "x": 1}]}', b'{"inputs": {}}', b'{"instances": ["\\ud800"]}',
                     b'{"instances": ["a"], "inputs": ["b"]}'):
            r = post(srv.http_url, body)
            assert r.status == 400 and "at offset" in json.loads(r.data)["error"], (body, r.data)
        assert post(srv.http_url, b'{"instances": ["still serving"]}').status == 200


def test_a_server_taking_every_format_tells_the_general_body_apart():
    def echo(inputs):
        return next(iter(inputs.values()))

    earth_engine = tw.encode_request({"B1": np.ones((2, 2, 2, 1), np.float32)}, "SERIALIZED_TF_TENSORS")
    with inproc(echo) as srv:  # every format
        r = post(srv.http_url, b'{"instances": ["some text", "more"]}')
        assert json.loads(r.data) == {"predictions": ["some text", "more"]}
        r = post(srv.http_url, b'{"instances": [true, false]}')
        assert json.loads(r.data) == {"predictions": [True, False]}
        r = post(srv.http_url, b'{"instances": [{"b64": "/9j/4AAQ"}]}')
        assert json.loads(r.data) == {"predictions": [{"b64": "/9j/4AAQ"}]}
        r = post(srv.http_url, earth_engine)  # still read as SERIALIZED_TF_TENSORS
        np.testing.assert_array_equal(tw.decode_response(r.data, "SERIALIZED_TF_TENSORS")["output"],
                                      np.ones((2, 2, 2, 1), np.float32))
        r = post(srv.http_url, b'{"instances": [[1, 2]]}')  # bare numbers: ND_ARRAYS (float32)
        assert json.loads(r.data) == {"predictions": [[1.0, 2.0]]}
    with inproc(echo, formats=["SERIALIZED_TF_TENSORS", "JSON"]) as srv:
        r = post(srv.http_url, b'{"instances": [[1, 2]]}')  # ND_ARRAYS not taken: JSON reads it (int64)
        assert json.loads(r.data) == {"predictions": [[1, 2]]}


@pytest.mark.parametrize("body, fmt", [
    (b'{"instances": ["the quick brown fox"]}', F.JSON),
    (b'{"instances": [{"x": "1.5"}]}', F.RAW_JSON),
    (b'{"instances": [{"x": "true"}]}', F.RAW_JSON),
    (b'{"instances": [["NaN", "2"]]}', F.RAW_JSON),
    (b'{"instances": [[["CAES"]]]}', F.JSON),  # a TensorProto's start, but not one
    (b'{"instances": [{"b64": "CAESAA=="}]}', F.SERIALIZED_TF_TENSORS),
    (b'{"instances": [{"image": {"b64": "/9j/"}, "tag": "x"}]}', F.JSON),
    (b'{"instances": [{"x": [true]}]}', F.JSON),
    (b'{"instances": [[1.5]]}', F.ND_ARRAYS),
    (b'{"instances": [{"x": [1.5]}]}', F.RAW_JSON),
    (b'{"parameters": {}, "inputs": {"a": 1}}', F.JSON),
    (b'{"instances": []}', None),
])
def test_json_detection_rules(body, fmt):
    assert sniff_json_format(body) is fmt


def test_inspect_names_the_general_body_and_summarises_text_and_bytes():
    body = (b'{"instances": [{"image": {"b64": "QUJD"}, "tag": "beach"}, {"image": {"b64": "QUJDRA=="}, '
            b'"tag": "sea"}], "parameters": {"confidence": 0.5}}')
    out = io.StringIO()
    assert _inspect.run(body, out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == ('HTTP JSON request, JSON (the general predict body; row form); '
                        f'parameters: {{"confidence": 0.5}}; {len(body)} bytes')
    assert lines[2].split() == ["image", "object", "(bytes,", "2)", "2", "len", "3", "len", "4", "len", "3.5"]
    assert lines[3].split() == ["tag", "object", "(str,", "2)", "2", "len", "3", "len", "5", "len", "4"]
    out = io.StringIO()
    assert _inspect.run(b'{"outputs": {"a": [1, 2]}}', out) == 0
    assert out.getvalue().startswith("HTTP JSON response, JSON (the general predict body; columnar form)")


@given(st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"")), st.booleans())
def test_the_fast_string_cut_agrees_with_the_string_pattern(raw, closed):
    from tensorwire import _sniff
    window = b'"' + raw + (b'"' if closed else b"")
    m = _sniff._STRING.match(window, 0)
    assert _sniff._string_text(window, 0) == (m.group(1), m.group(2) == b'"')
