"""The general predict body, ``PayloadFormat.JSON`` (docs/json-general.md is the contract).

Through the public API (``tensorwire.payload``), on each backend: the ``api`` fixture runs a
test once per backend by pointing ``payload._impl`` (the jsonbody module the public functions
call) at the reference or at the Cython twin; ``apis`` gives both, to cross them (same bytes,
same arrays, same DecodeError messages).

Oracles:

* the request and response examples of the AI Platform predict-request documentation
  (/work/shared/reference/ai-platform-predict-request-body.zh.txt), written here as golden bodies,
  adapted minimally where the documentation's text is not JSON (``...`` elisions, a doubled
  backslash), and those verbatim texts checked to be refused;
* TF Serving's REST conventions (tensorflow_serving/g3doc/api_rest.md and the cases its
  util/json_tensor_test.cc covers), as cases written here: row and columnar forms, named inputs,
  ``{"b64"}`` binary values, signature_name, ragged and mixed lists refused, and how outputs are
  written (``predictions`` / ``outputs``).  TF Serving reads numbers into the signature's dtype;
  we have no signature and infer the kind from the text (int64, float32, bool, str, bytes): each
  place this differs is noted;
* ``json.loads`` of what we write, and ND_ARRAYS' writer for numbers (the spec says numbers are
  written as ND_ARRAYS writes them).
"""

import base64
import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
import tensorwire.testing as twt
from backends import PYTHON
from common import assert_same_array
from tensorwire import DecodeError, PredictionError, payload

FMT = "JSON"
JSON_FORMATS4 = ["SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "JSON"]
PROPERTY = settings(max_examples=min(settings.default.max_examples, 60), deadline=None)
CORRUPTION = settings(max_examples=min(settings.default.max_examples * 2, 120), deadline=None)
API_FUNCS = ("encode_request", "decode_request", "read_request", "encode_response", "decode_response")
OFFSET = re.compile(r"at offset (\d+)")


# --------------------------------------------------------------------------------------------
# the public API on one backend


class Api:
    """``tensorwire.payload``'s functions with the JSON codec of one backend (``payload._impl``
    swapped for the call); test_json_general checks below that the swap reaches the codec."""

    def __init__(self, backend):
        self.backend = backend

    def __getattr__(self, name):
        if name not in API_FUNCS:
            raise AttributeError(name)

        def call(*args, **kw):
            saved = payload._impl
            payload._impl = self.backend.jsonbody
            try:
                return getattr(payload, name)(*args, **kw)
            finally:
                payload._impl = saved

        return call

    def __repr__(self):
        return f"<api on {self.backend.name}>"


@pytest.fixture(scope="session")
def api(codecs):
    return Api(codecs)


@pytest.fixture(scope="session")
def apis(both):
    return Api(both[0]), Api(both[1])


# --------------------------------------------------------------------------------------------
# helpers


def objs(items, shape=None):
    """An object array holding ``items`` (str or bytes) as they are."""
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out.reshape(shape if shape is not None else (len(items),))


def strs(*items, shape=None):
    return objs(items, shape)


def raw(*items, shape=None):
    return objs(items, shape)


def i64(x):
    return np.array(x, dtype=np.int64)


def f32(x):
    return np.array(x, dtype=np.float32)


def assert_array(got, want, name=""):
    """Same dtype and shape; numbers bit for bit (any NaN for a NaN); object arrays item by item,
    each item of the same type (str or bytes) as wanted."""
    assert isinstance(got, np.ndarray), (name, type(got))
    assert got.dtype == want.dtype and got.shape == want.shape, (name, got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype == object:
        g, w = got.reshape(-1).tolist(), want.reshape(-1).tolist()
        assert [type(v) for v in g] == [type(v) for v in w], (name, g, w)
        assert g == w, (name, g, w)
    else:
        assert_same_array(got, want)


def assert_decoded(got, want):
    assert isinstance(got, dict), type(got)
    assert list(got) == list(want), (list(got), list(want))
    for name, value in want.items():
        assert_array(got[name], value, name)


def canonical(result):
    """A decode's result in a form ``==`` compares (types of object items included)."""
    if isinstance(result, dict):
        return [(k, canonical(v)) for k, v in result.items()]
    if isinstance(result, np.ndarray):
        if result.dtype == object:
            return ("O", result.shape, [(type(v).__name__, v) for v in result.reshape(-1).tolist()])
        return (result.dtype.str, result.shape, result.tobytes())
    return result


def outcome(func, *args, errors=(DecodeError,), **kw):
    try:
        return ("ok", canonical(func(*args, **kw)))
    except errors as exc:
        return ("error", type(exc), str(exc))


def offset_of(exc):
    match = OFFSET.search(str(exc))
    assert match, f"no 'at offset N' in {str(exc)!r}"
    return int(match.group(1))


def f32_key(x):
    """A float leaf as a comparable key: its float32 bits (so -0.0 differs from 0.0), or nan."""
    x = np.float32(x)
    return ("f", "nan") if np.isnan(x) else ("f", int(x.view(np.uint32)))


def loads_tagged(body):
    """json.loads with every number tagged by how it was written: ("i", int) for integer text,
    ("f", float32 bits) for a fraction, an exponent or a NaN/Infinity token."""
    return json.loads(
        body,
        parse_int=lambda t: ("i", int(t)),
        parse_float=lambda t: f32_key(float(t)),
        parse_constant=lambda t: f32_key(float(t)),
    )


def intended(x, nonfinite="token"):
    """What we mean to write for array ``x`` as loads_tagged gives it back (items as numpy
    gives them: ``tolist``, so an object array's str keeps a trailing NUL)."""
    x = np.asarray(x)
    kind = x.dtype.kind

    def leaf(v):
        if kind in "iu":
            return ("i", int(v))
        if kind == "f":
            if nonfinite == "null" and not math.isfinite(v):  # NaN and the infinities: null
                return None
            return f32_key(v)
        if kind == "b":
            return bool(v)
        if isinstance(v, str):
            return v
        if isinstance(v, bytes):
            return {"b64": base64.b64encode(v).decode("ascii")}
        raise AssertionError(f"unexpected leaf {v!r}")

    def walk(v):
        return [walk(item) for item in v] if isinstance(v, list) else leaf(v)

    return walk(x.tolist())


def expected_kind(x, nonfinite="token"):
    """The array a value written from ``x`` decodes to, per the kind table."""
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        return x.astype(np.int64)
    if x.dtype.kind == "f":
        out = x.astype(np.float32)
        if nonfinite == "null":
            out[np.isinf(out)] = np.nan
        return out
    if x.dtype.kind == "b":
        return x.copy()
    items = [v if isinstance(v, str) else bytes(v) for v in x.reshape(-1).tolist()]
    return objs(items, x.shape)


def f32_of_int(n):
    """The float32 nearest the integer ``n`` (ties to even): what reading its text as float32
    gives, with no double rounding through float64."""
    a = np.float32(float(n))
    cands = [np.nextafter(a, np.float32(-np.inf)), a, np.nextafter(a, np.float32(np.inf))]
    cands = [c for c in cands if np.isfinite(c)]

    def key(c):
        return (abs(Fraction(float(c)) - n), int(c.view(np.uint32)) & 1)

    return min(cands, key=key)


# --------------------------------------------------------------------------------------------
# the format name, and the backend swap reaches the codec


def test_format_name():
    from tensorwire import PayloadFormat

    assert PayloadFormat.JSON == "JSON" and PayloadFormat.of("JSON") is PayloadFormat.JSON
    assert str(PayloadFormat.JSON) == "JSON"


def test_backend_swap_reaches_the_codec(both):
    """Each public function of the JSON format calls the jsonbody module in ``payload._impl``
    (so the ``api`` fixture tests the backend it names), and the two backends are two modules."""
    ref, twin = both
    assert ref.jsonbody is not twin.jsonbody

    class Boom:
        def __getattr__(self, name):
            raise LookupError(f"codec called: {name}")

    api = Api(type("B", (), {"jsonbody": Boom(), "name": "boom"})())
    calls = [
        lambda: api.encode_request({"a": np.zeros(1)}, FMT),
        lambda: api.encode_request(np.zeros((1, 2)), FMT, columnar=True),
        lambda: api.encode_response(np.zeros(1), FMT),
        lambda: api.decode_request(b'{"instances":[1]}', FMT),
        lambda: api.read_request(b'{"inputs":[1]}', FMT),
        lambda: api.decode_response(b'{"predictions":[1]}', FMT),
    ]
    for call in calls:
        with pytest.raises(LookupError, match="codec called"):
            call()


# --------------------------------------------------------------------------------------------
# 1. golden cases: the AI Platform predict request / response documentation
#
# Each (id, body, expected arrays).  The documentation's examples are JSON except for two
# things, adapted minimally here: the "..." elisions (dropped, with the comma before them), and
# the CSV example, which the page prints as "1.0,true,\\"x\\"" -- a doubled backslash that ends
# the string early (the English page has \"); it is written with \" here.  The verbatim texts are
# checked to be refused in test_doc_texts_that_are_not_json_are_refused.
#
# TF Serving would read "an 8-bit integer image" into the signature's uint8; we read integers
# as int64 (no signature), and "0.0, 1.1" as float32 (TF Serving: the signature's float).

JPEG1, JPEG2 = bytes.fromhex("0126bc6ac75f"), bytes.fromhex("24b2bb963937")  # ASa8asdf, JLK7ljk3
IMAGE1 = [[[138, 30, 66], [130, 20, 56]], [[126, 38, 61], [122, 24, 57]]]
IMAGE2 = [[[255, 0, 102], [255, 0, 97]], [[254, 1, 101], [254, 2, 93]]]

DOC_REQUESTS = [
    ("csv-rows", r'{"instances": ["1.0,true,\"x\"", "-2.0,false,\"y\""]}',
     {"instances": strs('1.0,true,"x"', '-2.0,false,"y"')}),
    ("plain-text", '{"instances": ["the quick brown fox", "la bruja le dio"]}',
     {"instances": strs("the quick brown fox", "la bruja le dio")}),
    ("word-lists", '{\n  "instances": [\n    ["the","quick","brown"],\n    ["la","bruja","le"]\n  ]\n}',
     {"instances": strs("the", "quick", "brown", "la", "bruja", "le", shape=(2, 3))}),
    ("float-scalars", '{"instances": [0.0, 1.1, 2.2]}', {"instances": f32([0.0, 1.1, 2.2])}),
    ("int-vectors", '{\n  "instances": [\n    [0, 1, 2],\n    [3, 4, 5]\n  ]\n}',
     {"instances": i64([[0, 1, 2], [3, 4, 5]])}),
    ("2d-tensor", '{\n  "instances": [\n    [\n      [0, 1, 2],\n      [3, 4, 5]\n    ]\n  ]\n}',
     {"instances": i64([[[0, 1, 2], [3, 4, 5]]])}),
    ("rgb-image", json.dumps({"instances": [IMAGE1]}, indent=2), {"instances": i64([IMAGE1])}),
    # fake base64 in the documentation: unpadded, with non-zero bits left in the last character
    # (accepted, docs/base64.md): X5ad6u -> 5f 96 9d ea, IA9j4nx -> 20 0f 63 e2 7c
    ("b64-examples", '{"instances": [{"b64": "X5ad6u"}, {"b64": "IA9j4nx"}]}',
     {"instances": raw(bytes.fromhex("5f969dea"), bytes.fromhex("200f63e27c"))}),
    ("b64-jpegs", '{"instances": [{"b64": "ASa8asdf"}, {"b64": "JLK7ljk3"}]}', {"instances": raw(JPEG1, JPEG2)}),
    ("named-tag-and-binary-image",
     '{\n  "instances": [\n    {\n      "tag": "beach",\n      "image": {"b64": "ASa8asdf"}\n    },\n'
     '    {\n      "tag": "car",\n      "image": {"b64": "JLK7ljk3"}\n    }\n  ]\n}',
     {"tag": strs("beach", "car"), "image": raw(JPEG1, JPEG2)}),
    ("named-tag-and-int-image",
     json.dumps({"instances": [{"tag": "beach", "image": IMAGE1}, {"tag": "car", "image": IMAGE2}]}, indent=2),
     {"tag": strs("beach", "car"), "image": i64([IMAGE1, IMAGE2])}),
    ("sklearn-float-lists", '{\n  "instances": [\n    [0.0, 1.1, 2.2],\n    [3.3, 4.4, 5.5]\n  ]\n}',
     {"instances": f32([[0.0, 1.1, 2.2], [3.3, 4.4, 5.5]])}),
    ("xgboost-missing-value-nan", '{"instances": [[0.0, 1.1, NaN]]}', {"instances": f32([[0.0, 1.1, np.nan]])}),
    # a custom prediction routine's extra members (any JSON value) are checked and ignored
    ("custom-routine-extra-members",
     '{\n  "instances": [\n    [1, 2]\n  ],\n  "probabilities": true,\n  "other_key": {"a": [1, null, "x"], "b": {"b64": 1}}\n}',
     {"instances": i64([[1, 2]])}),
]

DOC_RESPONSES = [
    ("three-int-predictions", '{"predictions": [5, 4, 3]}', {"output": i64([5, 4, 3])}),
    ("label-and-scores",
     '{\n  "predictions": [\n    {\n      "label": "beach",\n      "scores": [0.1, 0.9]\n    },\n'
     '    {\n      "label": "car",\n      "scores": [0.75, 0.25]\n    }\n  ]\n}',
     {"label": strs("beach", "car"), "scores": f32([[0.1, 0.9], [0.75, 0.25]])}),
]

# The documentation's texts as printed: not JSON, so refused (DecodeError at the offset of the
# first byte that is not JSON).
DOC_VERBATIM_NOT_JSON = [
    ("csv-doubled-backslash", '{"instances": ["1.0,true,\\\\"x\\\\"", "-2.0,false,\\\\"y\\\\""]}', 'x\\\\""'),
    ("word-lists-elided", '{\n  "instances": [\n    ["the","quick","brown"],\n    ["la","bruja","le"],\n    ...\n  ]\n}', "..."),
    ("int-vectors-elided", '{\n  "instances": [\n    [0, 1, 2],\n    [3, 4, 5],\n    ...\n  ]\n}', "..."),
    ("template", '{\n  "instances": [\n    <value>|<simple/nested list&gt|<object>,\n    ...\n  ]\n}', "<"),
    ("response-template", '{\n  "predictions": [\n    {\n      object\n    }\n  ]\n}', "object"),
]


@pytest.mark.parametrize("body, want", [c[1:] for c in DOC_REQUESTS], ids=[c[0] for c in DOC_REQUESTS])
def test_doc_request_examples(api, body, want):
    assert_decoded(api.decode_request(body, FMT), want)
    assert_decoded(api.decode_request(body.encode("utf-8"), FMT), want)
    request = api.read_request(body, FMT)
    assert_decoded(request.inputs, want)
    assert request.parameters is None and request.columnar is False and request.signature_name is None


@pytest.mark.parametrize("body, want", [c[1:] for c in DOC_REQUESTS], ids=[c[0] for c in DOC_REQUESTS])
def test_doc_request_examples_written_back(api, body, want):
    """What we write for the decoded arrays: the documentation's structure (json.loads), with
    canonical base64 (standard, padded) for the binary values."""
    bare = list(want) == ["instances"]
    arrays = want["instances"] if bare else want
    written = api.encode_request(arrays, FMT)
    if bare:
        structure = {"instances": intended(arrays)}
    else:
        n = len(next(iter(arrays.values())))
        structure = {"instances": [{k: intended(v[i, ...]) for k, v in arrays.items()} for i in range(n)]}
    assert loads_tagged(written) == structure
    if not bare:
        assert [list(inst) for inst in json.loads(written)["instances"]] == [list(arrays)] * len(structure["instances"])
    assert_decoded(api.decode_request(written, FMT), want)


@pytest.mark.parametrize("body, want", [c[1:] for c in DOC_RESPONSES], ids=[c[0] for c in DOC_RESPONSES])
def test_doc_response_examples(api, body, want):
    assert_decoded(api.decode_response(body, FMT), want)
    outputs = want["output"] if list(want) == ["output"] else want
    written = api.encode_response(outputs, FMT)
    assert json.loads(written) == json.loads(body)
    assert_decoded(api.decode_response(written, FMT), want)


def test_doc_response_bytes(api):
    """Compact, names in the order given, float32 numbers as their shortest text."""
    assert api.encode_response(i64([5, 4, 3]), FMT) == b'{"predictions":[5,4,3]}'
    assert api.encode_response({"label": strs("beach", "car"), "scores": f32([[0.1, 0.9], [0.75, 0.25]])}, FMT) == (
        b'{"predictions":[{"label":"beach","scores":[0.1,0.9]},{"label":"car","scores":[0.75,0.25]}]}'
    )


def test_doc_error_response(api):
    with pytest.raises(PredictionError) as info:
        api.decode_response('{"error": "Divide by zero"}', FMT)
    assert str(info.value) == info.value.message == "Divide by zero"
    with pytest.raises(PredictionError, match="^m$"):
        api.decode_response(b'{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT"}}', FMT)


@pytest.mark.parametrize("body, bad", [c[1:] for c in DOC_VERBATIM_NOT_JSON], ids=[c[0] for c in DOC_VERBATIM_NOT_JSON])
def test_doc_texts_that_are_not_json_are_refused(api, body, bad):
    decode = api.decode_response if '"predictions"' in body else api.decode_request
    with pytest.raises(DecodeError) as info:
        decode(body, FMT)
    assert offset_of(info.value) == body.encode("utf-8").index(bad.encode("utf-8")), str(info.value)


# --------------------------------------------------------------------------------------------
# 2. TF Serving's REST conventions (api_rest.md; the cases util/json_tensor_test.cc covers),
# as our own cases.  TF Serving takes each input's dtype from the signature; we infer it, so
# where it would give int32/double/uint8 we give int64/float32.

TF_SERVING_REQUESTS = [
    # row form, one unnamed input (TF Serving: named after the signature's only input; here
    # "instances"), DT_INT32 there, int64 here
    ("row-bare-ints", '{"instances": [[1, 2], [3, 4], [5, 6]]}', {"instances": i64([[1, 2], [3, 4], [5, 6]])}, False),
    ("row-bare-strings", '{"instances": ["foo", "bar", "baz"]}', {"instances": strs("foo", "bar", "baz")}, False),
    ("row-bare-1x2", '{"instances": [[[1, 2]], [[3, 4]]]}', {"instances": i64([[[1, 2]], [[3, 4]]])}, False),
    # integers beside fractions: float32 for the whole input, whichever comes first (TF Serving:
    # the signature's float or double)
    ("ints-then-floats", '{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}',
     {"instances": f32([1, 2, 3, 4, 5.003, 0.007, 0])}, False),
    ("floats-then-ints", '{"instances": [1.0, 2, 3, 4, 0.662, 0, 0.0]}',
     {"instances": f32([1, 2, 3, 4, 0.662, 0, 0])}, False),
    ("b64-scalars", '{"instances": [ { "b64" : "aGVsbG8=" }, { "b64": "d29ybGQ=" } ]}',
     {"instances": raw(b"hello", b"world")}, False),
    ("b64-lists", '{"instances": [ [{ "b64" : "aGVsbG8=" }], [{ "b64": "d29ybGQ=" }] ]}',
     {"instances": raw(b"hello", b"world", shape=(2, 1))}, False),
    ("named-b64", '{"instances": [{"default": [ [{ "b64" : "aGVsbG8=" }], [{ "b64": "d29ybGQ=" }] ]}]}',
     {"default": raw(b"hello", b"world", shape=(1, 2, 1))}, False),
    # several named inputs of mixed kinds, NaN and Infinity tokens (dbl_tensor: float32 here)
    ("named-mixed-kinds",
     '{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"], "float_tensor": [1.0, NaN],'
     ' "dbl_tensor": [NaN]}, {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],'
     ' "float_tensor": [2.0, Infinity], "dbl_tensor": [2.0]}]}',
     {"int_tensor": i64([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]]),
      "str_tensor": strs("foo", "bar", "baz", "bat", shape=(2, 2)),
      "float_tensor": f32([[1.0, np.nan], [2.0, np.inf]]), "dbl_tensor": f32([[np.nan], [2.0]])}, False),
    # the api_rest.md row example (its text has a stray "]" after [3, 4, 1, 2, 5], dropped here)
    ("api-rest-row",
     '{"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},'
     ' {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}',
     {"tag": strs("foo", "bar"), "signal": i64([[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]]),
      "sensor": i64([[[1, 2], [3, 4]], [[4, 5], [6, 8]]])}, False),
    # columnar: whole tensors, no instance axis implied
    ("columnar-named", '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]]}}',
     {"int_tensor": i64([[[1, 2], [3, 4], [5, 6]]])}, True),
    ("columnar-bare", '{"inputs": [[[1,2],[3,4],[5,6]]]}', {"inputs": i64([[[1, 2], [3, 4], [5, 6]]])}, True),
    ("columnar-mixed-first-axes",
     '{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]], "str_tensor": ["foo", "bar"], "bin_tensor": { "b64" : "aGVsbG8=" }}}',
     {"int_tensor": i64([[[1, 2], [3, 4], [5, 6]]]), "str_tensor": strs("foo", "bar"),
      "bin_tensor": raw(b"hello", shape=())}, True),
    ("api-rest-columnar",
     '{"inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],'
     ' "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}',
     {"tag": strs("foo", "bar"), "signal": i64([[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]]),
      "sensor": i64([[[1, 2], [3, 4]], [[4, 5], [6, 8]]])}, True),
    ("columnar-bare-scalar", '{"inputs": 7}', {"inputs": i64(7)}, True),
    ("columnar-bare-bool-matrix", '{"inputs": [[true, false]]}', {"inputs": np.array([[True, False]])}, True),
    ("columnar-bare-b64-scalar", '{"inputs": {"b64": "aGVsbG8="}}', {"inputs": raw(b"hello", shape=())}, True),
    ("columnar-scalars-of-each-kind", '{"inputs": {"i": 1, "f": 0.5, "b": true, "s": "x", "y": {"b64": "eQ=="}}}',
     {"i": i64(1), "f": f32(0.5), "b": np.array(True), "s": strs("x", shape=()), "y": raw(b"y", shape=())}, True),
    # booleans (DT_BOOL: true/false)
    ("row-bools", '{"instances": [true, false, true]}', {"instances": np.array([True, False, True])}, False),
    # only empty lists: float32
    ("empty-lists", '{"instances": [[], []]}', {"instances": f32(np.zeros((2, 0)))}, False),
    ("columnar-empty-list", '{"inputs": {"a": [[]], "b": []}}', {"a": f32(np.zeros((1, 0))), "b": f32([])}, True),
    # the full int64 range
    ("int64-extremes", '{"instances": [-9223372036854775808, 9223372036854775807, -0]}',
     {"instances": i64([-(2**63), 2**63 - 1, 0])}, False),
    # TF Serving refuses 16777217 for a DT_FLOAT input ("loss of precision"), and
    # 9007199254740993 for DT_DOUBLE; without a signature they are integers, kept exactly
    ("no-loss-of-precision", '{"instances": [16777217, 9007199254740993]}',
     {"instances": i64([16777217, 9007199254740993])}, False),
    ("exponent-is-a-float", '{"instances": [1, 1e3, 2E-1]}', {"instances": f32([1, 1000, 0.2])}, False),
    ("negative-zero-float", '{"instances": [-0.0, 0]}', {"instances": f32([-0.0, 0.0])}, False),
    # a string is text, never a number (unlike RAW_JSON)
    ("number-text-is-text", '{"instances": ["1.5", "NaN", "true"]}', {"instances": strs("1.5", "NaN", "true")}, False),
    # escapes decoded, any Unicode
    ("escapes", r'{"instances": ["\u00e9\ud83d\ude00", "a\"b\\c\/d\n\t", "日本"]}',
     {"instances": strs("é😀", 'a"b\\c/d\n\t', "日本")}, False),
    # members TF Serving and Vertex send beside the inputs
    ("signature-and-extras", '{"signature_name": "predict_images", "instances": [[1,2]], "x": [{"y": null}]}',
     {"instances": i64([[1, 2]])}, False),
    # URL-safe, unpadded base64 is accepted as in the other formats
    ("b64-urlsafe-unpadded", '{"instances": [{"b64": "-_8"}, {"b64": "+/8="}]}',
     {"instances": raw(b"\xfb\xff", b"\xfb\xff")}, False),
    # nested binary values in a named instance
    ("named-binary-lists", '{"instances": [{"a": [{"b64": ""}, {"b64": "AA=="}], "b": 1}]}',
     {"a": raw(b"", b"\x00", shape=(1, 2)), "b": i64([1])}, False),
]


@pytest.mark.parametrize("body, want, columnar", [c[1:] for c in TF_SERVING_REQUESTS], ids=[c[0] for c in TF_SERVING_REQUESTS])
def test_tf_serving_requests(api, body, want, columnar):
    assert_decoded(api.decode_request(body, FMT), want)
    request = api.read_request(body, FMT)
    assert_decoded(request.inputs, want)
    assert request.columnar is columnar
    assert request.signature_name == ("predict_images" if "signature_name" in body else None)


def test_tf_serving_body_in_a_larger_buffer(api):
    """TF Serving reads a body that is not NUL-terminated; a memoryview slice of a larger
    buffer reads the body, not what follows."""
    buf = b'{"instances": [[1,2],[3,4],[5,6]]}X'
    assert_decoded(api.decode_request(memoryview(buf)[:-1], FMT), {"instances": i64([[1, 2], [3, 4], [5, 6]])})
    assert_decoded(api.decode_request(bytearray(buf[:-1]), FMT), {"instances": i64([[1, 2], [3, 4], [5, 6]])})


def test_integers_become_float32_correctly_rounded(api):
    """The first non-integer makes the input float32; the integers read before it are each
    rounded as their text read as float32 would be (no double rounding through float64)."""
    # 2**53 + 2**29 + 1: float64 first gives 2**53 + 2**29 (a tie, to even), then float32 2**53;
    # read straight as float32 it is above the midpoint: 2**53 + 2**30
    n = 2**53 + 2**29 + 1
    assert f32_of_int(n) == np.float32(2**53 + 2**30) != np.float32(float(n))
    for ints in ([16777217], [16777219], [n], [-n], [2**63 - 1], [-(2**63)], [123456789, 3]):
        for tail in ("0.5", "1e0", "NaN"):
            body = '{"instances": [' + ", ".join(map(str, ints)) + ", " + tail + "]}"
            want = np.array([f32_of_int(v) for v in ints] + [np.float32(float(tail))], np.float32)
            assert_decoded(api.decode_request(body, FMT), {"instances": want})
    # across instances of a named input, and across nesting
    got = api.decode_request('{"instances": [{"a": [[16777219]]}, {"a": [[0.25]]}]}', FMT)
    assert_decoded(got, {"a": f32([[[16777220]], [[0.25]]])})
    # a number outside int64 is fine once the input is float32
    got = api.decode_request('{"instances": [0.5, 99999999999999999999]}', FMT)
    assert_decoded(got, {"instances": f32([0.5, 1e20])})


def test_tf_serving_refusals(api):
    """The request errors TF Serving's tests check, as DecodeErrors with a position."""
    bodies = [
        "",  # an empty document
        '{"signature_name": 5, "instances": [[1,2]]}',  # must be a string
        '{"signature_name": ["hello"], "instances": [[1,2]]}',
        '{"signature_name": null, "instances": [[1,2]]}',
        '{"instances": [[1,2],[3,4],[5,6,7]], "inputs": [[1,2],[3,4],[5,6,7]]}',  # not both
        '{"instances": [[1,2],[3,4],[5,6,7]]}',  # ragged
        '{"instances": [[1,2],[3,4],[[5,6]]]}',  # a list where a number belongs
        '{"instances": [1, [1]]}',
        '{"instances": [[1,2],["a", "b"]]}',  # not of the expected type
        # named: the shape of one input differs across instances
        '{"instances": [{"i": [[1,2],[3,4],[5,6]], "s": ["foo", "bar"]}, {"i": [[[7,8],[9,0],[1,2]]], "s": ["baz", "bat"]}]}',
        '{"instances": [{"i": [[1,2],[3,4],[5,6],[7,8]], "s": ["foo", "bar"]}, {"i": [[7,8],[9,0],[1,2]], "s": ["baz", "bat"]}]}',
        # an object, then a list (and the other way round)
        '{"instances": [{"i": [[1,2]], "s": ["foo"]}, [1, 20, 30], {"i": [[7,8]], "s": ["baz"]}]}',
        '{"instances": [["baz", "bar"], {"s": ["baz", "bat"]}]}',
        '{"instances": [1, null]}',  # null is not a number under nonfinite="token"
        '{"instances": [10, {"test": 10}]}',  # an object that is not {"b64": ...}
    ]
    for body in bodies:
        with pytest.raises(DecodeError) as info:
            api.decode_request(body, FMT)
        assert isinstance(info.value, ValueError)
        offset_of(info.value)


# --------------------------------------------------------------------------------------------
# writing, as TF Serving writes outputs (json_tensor_test.cc's MakeJsonFromTensors cases) and
# as the spec says: one output bare, several as objects; row "predictions", columnar "outputs".

INT_2x3x2 = i64([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]])
BYTES_2x2 = raw(b"hello", b"world", b"tf", b"serving", shape=(2, 2))
B64_2x2 = [[{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}], [{"b64": "dGY="}, {"b64": "c2VydmluZw=="}]]


def test_write_single_output(api):
    for columnar, key in ((False, "predictions"), (True, "outputs")):
        for arr in (INT_2x3x2, INT_2x3x2.astype(np.int32)):
            body = api.encode_response(arr, FMT, columnar=columnar)
            assert json.loads(body) == {key: INT_2x3x2.tolist()}
            assert_decoded(api.decode_response(body, FMT), {"output": INT_2x3x2})
            assert api.encode_response({"only": arr}, FMT, columnar=columnar) == body  # one output: bare
        body = api.encode_response(i64([1, 2, 3, 4, 5]), FMT, columnar=columnar)
        assert body == b'{"%s":[1,2,3,4,5]}' % key.encode()
        # binary values (TF Serving: outputs named *_bytes; here: bytes arrays)
        body = api.encode_response(BYTES_2x2, FMT, columnar=columnar)
        assert json.loads(body) == {key: B64_2x2}
        assert_decoded(api.decode_response(body, FMT), {"output": BYTES_2x2})
        # non-finite floats as tokens
        body = api.encode_response(f32([[np.nan, np.inf], [3, -np.inf]]), FMT, columnar=columnar)
        assert body == b'{"%s":[[NaN,Infinity],[3.0,-Infinity]]}' % key.encode()


def test_write_several_outputs(api):
    outputs = {
        "double_scalar_tensor": np.array([8.0, 9.0]),
        "float_tensor": f32([[1.0], [2.0]]),
        "int_tensor": INT_2x3x2,
        "str_tensor": strs("foo", "bar", "baz", "bat", shape=(2, 2)),
        "str_tensor_bytes": BYTES_2x2,
    }
    row = {"predictions": [
        {"double_scalar_tensor": 8.0, "float_tensor": [1.0], "int_tensor": INT_2x3x2[0].tolist(),
         "str_tensor": ["foo", "bar"], "str_tensor_bytes": B64_2x2[0]},
        {"double_scalar_tensor": 9.0, "float_tensor": [2.0], "int_tensor": INT_2x3x2[1].tolist(),
         "str_tensor": ["baz", "bat"], "str_tensor_bytes": B64_2x2[1]},
    ]}
    columnar = {"outputs": {
        "double_scalar_tensor": [8.0, 9.0], "float_tensor": [[1.0], [2.0]], "int_tensor": INT_2x3x2.tolist(),
        "str_tensor": [["foo", "bar"], ["baz", "bat"]], "str_tensor_bytes": B64_2x2,
    }}
    want = {k: expected_kind(v) for k, v in outputs.items()}
    for flag, structure in ((False, row), (True, columnar)):
        body = api.encode_response(outputs, FMT, columnar=flag)
        assert json.loads(body) == structure
        assert b"8.0" in body and b"9.0" in body  # floats written as floats
        got = api.decode_response(body, FMT)
        assert_decoded(got, want)
    # columnar outputs need not share a first axis; row outputs must
    body = api.encode_response({"a": i64([1, 2, 3]), "b": strs("x", shape=())}, FMT, columnar=True)
    assert body == b'{"outputs":{"a":[1,2,3],"b":"x"}}'
    assert_decoded(api.decode_response(body, FMT), {"a": i64([1, 2, 3]), "b": strs("x", shape=())})
    with pytest.raises(ValueError):
        api.encode_response({"a": i64([1, 2, 3]), "b": i64([1])}, FMT)


def test_write_zero_instances(api):
    assert json.loads(api.encode_response(np.zeros((0, 2), np.int32), FMT)) == {"predictions": []}
    assert json.loads(api.encode_response({"s": np.zeros((0, 1, 2), object), "f": np.zeros((0, 3, 4), np.float32)}, FMT)) == {"predictions": []}


def test_write_requests(api):
    a, b = f32([[1.5, 2.0], [0.1, -0.0]]), i64([[7], [8]])
    assert api.encode_request({"B1": a, "B2": b}, FMT) == b'{"instances":[{"B1":[1.5,2.0],"B2":[7]},{"B1":[0.1,-0.0],"B2":[8]}]}'
    assert api.encode_request(a, FMT) == b'{"instances":[[1.5,2.0],[0.1,-0.0]]}'
    assert api.encode_request(a, FMT, columnar=True) == b'{"inputs":[[1.5,2.0],[0.1,-0.0]]}'
    assert api.encode_request({"B1": a, "s": strs("x")}, FMT, columnar=True) == b'{"inputs":{"B1":[[1.5,2.0],[0.1,-0.0]],"s":["x"]}}'
    assert api.encode_request(np.float32(1.5), FMT, columnar=True) == b'{"inputs":1.5}'
    assert api.encode_request({"t": np.array([True, False])}, FMT) == b'{"instances":[{"t":true},{"t":false}]}'
    # numpy S and U arrays, and object arrays
    assert api.encode_request(np.array([b"ab", b"c"]), FMT) == b'{"instances":[{"b64":"YWI="},{"b64":"Yw=="}]}'
    assert api.encode_request(np.array(["\u00e9\n\"", "\U0001f600"]), FMT) == '{"instances":["\u00e9\\n\\"","\U0001f600"]}'.encode()
    assert api.encode_request(raw(b"\xfb\xff"), FMT) == b'{"instances":[{"b64":"+/8="}]}'  # standard alphabet
    # nonfinite and float_format as in the other formats
    c = f32([[np.nan, 0.1]])
    assert api.encode_request(c, FMT, nonfinite="null") == b'{"instances":[[null,0.1]]}'
    assert api.encode_request(c, FMT, float_format="tolist") == b'{"instances":[[NaN,0.10000000149011612]]}'
    with pytest.raises(ValueError, match="non-finite") as info:
        api.encode_request({"c": c}, FMT, nonfinite="error")
    assert not isinstance(info.value, DecodeError)
    # row form: a shared first axis
    with pytest.raises(ValueError, match="instances"):
        api.encode_request({"a": np.zeros((2, 1)), "b": np.zeros((3, 1))}, FMT)


def test_write_refuses_what_json_cannot_carry(api):
    """An object array holding anything but str, or both str and bytes: a TypeError naming the
    input and the index (of the first item that does not fit)."""
    cases = [
        (objs(["x", 1]), r"\b1\b"),
        (objs(["x", b"y"]), r"\b1\b"),
        (objs([b"x", "y"]), r"\b1\b"),
        (objs([None]), r"\b0\b"),
        (objs([1.5, "x"]), r"\b0\b"),
        (objs(["a", "b", "c", 7], (2, 2)), r"\b1,\s*1\b"),
    ]
    for value, index in cases:
        for columnar in (False, True):
            with pytest.raises(TypeError, match="myinput") as info:
                api.encode_request({"myinput": value}, FMT, columnar=columnar)
            assert re.search(index, str(info.value).replace("myinput", "")), str(info.value)
        with pytest.raises(TypeError, match="myinput"):
            api.encode_response({"myinput": value, "other": np.zeros(len(value))}, FMT)
    with pytest.raises(ValueError) as info:
        api.encode_request({"myinput": strs("ok", "\ud800")}, FMT)
    assert not isinstance(info.value, DecodeError)


def test_written_strings_are_json_dumps(api):
    texts = ["", "a", "\x00", "\x01\x1f\x7f", "\u2028\u2029", '"\\/', "\ud7ff\ue000\uffff", "\U0010ffff", "é😀日本"]
    body = api.encode_request(strs(*texts), FMT)
    assert body == ('{"instances":[' + ",".join(json.dumps(t, ensure_ascii=False) for t in texts) + "]}").encode("utf-8")
    assert_decoded(api.decode_request(body, FMT), {"instances": strs(*texts)})


# --------------------------------------------------------------------------------------------
# responses: forms, metadata, errors


def test_responses_read(api):
    cases = [
        ('{"predictions": [[1, 2]], "deployedModelId": "1", "model": "projects/p/models/m",'
         ' "modelDisplayName": "m", "modelVersionId": "2"}', {"output": i64([[1, 2]])}),
        ('{"outputs": [1.5, 2]}', {"output": f32([1.5, 2])}),
        ('{"outputs": "x"}', {"output": strs("x", shape=())}),
        ('{"outputs": {"a": [1, 2], "b": [[true]]}}', {"a": i64([1, 2]), "b": np.array([[True]])}),
        ('{"predictions": [{"a": {"b64": "eQ=="}, "b": 1.5}]}', {"a": raw(b"y"), "b": f32([1.5])}),
    ]
    for body, want in cases:
        assert_decoded(api.decode_response(body, FMT), want)
    with pytest.raises(PredictionError, match="^boom$"):
        api.decode_response('{"outputs": [1], "error": "boom"}', FMT)


# --------------------------------------------------------------------------------------------
# decoding options


def test_dtype_option(api):
    got = api.decode_request('{"instances": [1, 2]}', FMT, dtype="float64")
    assert_decoded(got, {"instances": np.array([1.0, 2.0])})
    got = api.decode_request('{"instances": [{"a": 1, "b": 2, "s": "x", "t": true}]}', FMT, dtype={"a": "uint8"})
    assert_decoded(got, {"a": np.array([1], np.uint8), "b": i64([2]), "s": strs("x"), "t": np.array([True])})
    # one dtype for every name: number inputs only; bool, string and bytes inputs ignore it
    got = api.decode_request('{"instances": [{"a": 1, "s": "x", "t": true, "y": {"b64": ""}}]}', FMT, dtype="float32")
    assert_decoded(got, {"a": f32([1]), "s": strs("x"), "t": np.array([True]), "y": raw(b"")})
    # numbers outside int64, read as floats when asked
    got = api.decode_request('{"instances": [99999999999999999999]}', FMT, dtype="float32")
    assert_decoded(got, {"instances": f32([1e20])})
    got = api.decode_request('{"inputs": [99999999999999999999]}', FMT, dtype={"inputs": "float64"})
    assert_decoded(got, {"inputs": np.array([1e20])})
    for body, dtype in (('{"instances": [3.0]}', "int8"), ('{"instances": [1.5]}', "int32"), ('{"instances": [300]}', "uint8")):
        with pytest.raises(DecodeError) as info:
            api.decode_request(body, FMT, dtype=dtype)
        offset_of(info.value)


def test_nonfinite_option(api):
    got = api.decode_request('{"instances": [1, null, NaN]}', FMT, nonfinite="null")
    assert_decoded(got, {"instances": f32([1, np.nan, np.nan])})
    assert_decoded(api.decode_request('{"inputs": [null]}', FMT, nonfinite="null"), {"inputs": f32([np.nan])})
    for body, token in (('{"instances": [1.0, NaN]}', "NaN"), ('{"instances": [Infinity]}', "Infinity"),
                        ('{"inputs": {"a": [-Infinity]}}', "-Infinity")):
        with pytest.raises(DecodeError) as info:
            api.decode_request(body, FMT, nonfinite="error")
        assert offset_of(info.value) == body.index(token), str(info.value)
    with pytest.raises(DecodeError):
        api.decode_request('{"instances": [null]}', FMT)


def test_null_is_a_number_leaf(api):
    """Under nonfinite="null" a null is a float leaf: beside integers it makes the input float32,
    beside a string, a bool or a {"b64"} it is a mix of kinds (at the other kind's first leaf)."""
    assert_decoded(api.decode_request('{"instances": [null, 1]}', FMT, nonfinite="null"), {"instances": f32([np.nan, 1])})
    assert_decoded(api.decode_request('{"instances": [[1], [null]]}', FMT, nonfinite="null"), {"instances": f32([[1], [np.nan]])})
    for body, other in (('{"instances": [null, "a"]}', '"a"'), ('{"instances": [null, true]}', "true"),
                        ('{"instances": [null, {"b64": ""}]}', '{"b64"'), ('{"instances": [true, null]}', "null")):
        with pytest.raises(DecodeError) as info:
            api.decode_request(body, FMT, nonfinite="null")
        assert offset_of(info.value) == body.index(other), str(info.value)


def test_max_depth(api):
    deep = '{"instances": [' + "[" * 100 + "1" + "]" * 100 + "]}"
    with pytest.raises(DecodeError, match="nesting deeper than 64"):
        api.decode_request(deep, FMT)
    with pytest.raises(DecodeError, match="nesting deeper than 3"):
        api.decode_request('{"instances": [[[1]]]}', FMT, max_depth=3)
    assert api.decode_request('{"instances": [[1]]}', FMT, max_depth=3)["instances"].shape == (1, 1)


# --------------------------------------------------------------------------------------------
# 3. round trips (Hypothesis)

NAMES = S.JSON_NAMES
TEXTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
KINDS = ("int", "float", "bool", "str", "bytes")


@st.composite
def kind_arrays(draw, shape):
    """An array of one kind (int of any width, float32 or float64 holding float32 values, bool,
    str as object or U, bytes as object or S) of ``shape``."""
    kind = draw(st.sampled_from(KINDS))
    size = int(np.prod(shape, dtype=np.int64))
    if kind == "int":
        dtype = np.dtype(draw(st.sampled_from(["<i8", "<i4", "i1", "u1", "<u2"])))
        info = np.iinfo(dtype)
        values = draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=size, max_size=size))
        return np.array(values, dtype=dtype).reshape(shape)
    if kind == "float":
        values = draw(st.lists(st.floats(width=32), min_size=size, max_size=size))
        return np.array(values, dtype=np.float32).astype(draw(st.sampled_from([np.float32, np.float64]))).reshape(shape)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool).reshape(shape)
    if kind == "str":
        values = draw(st.lists(TEXTS, min_size=size, max_size=size))
        if draw(st.booleans()) and not any(v.endswith("\x00") for v in values):  # U drops trailing NULs
            return np.array(values, dtype=f"U{max([len(v) for v in values] + [1])}").reshape(shape)
        return objs(values, shape)
    values = draw(st.lists(st.binary(max_size=8), min_size=size, max_size=size))
    if draw(st.booleans()) and not any(v.endswith(b"\x00") for v in values):  # S drops trailing NULs
        return np.array(values, dtype=f"S{max([len(v) for v in values] + [1])}").reshape(shape)
    return objs(values, shape)


def inner_shapes():
    return st.lists(st.integers(1, 3), max_size=3).map(tuple)


@st.composite
def row_batches(draw):
    """``(inputs, bare)``: a mapping of 1-4 named arrays sharing a first axis of 1-3 instances,
    ranks 0-3 beyond it, or one bare array."""
    n = draw(st.integers(1, 3))
    if draw(st.booleans()):
        return draw(kind_arrays((n, *draw(inner_shapes())))), True
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    return {name: draw(kind_arrays((n, *draw(inner_shapes())))) for name in names}, False


@st.composite
def columnar_batches(draw):
    """``(inputs, bare)``: 1-4 named arrays of any shapes (ranks 0-3), or one bare array."""
    if draw(st.booleans()):
        return draw(kind_arrays(draw(inner_shapes()))), True
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    return {name: draw(kind_arrays(draw(inner_shapes()))) for name in names}, False


def request_structure(inputs, bare, columnar, nonfinite="token"):
    if columnar:
        return {"inputs": intended(inputs, nonfinite) if bare else {k: intended(v, nonfinite) for k, v in inputs.items()}}
    if bare:
        return {"instances": intended(inputs, nonfinite)}
    n = len(next(iter(inputs.values())))
    return {"instances": [{k: intended(v[i, ...], nonfinite) for k, v in inputs.items()} for i in range(n)]}


def expected_request(inputs, bare, columnar, nonfinite="token"):
    if bare:
        return {"inputs" if columnar else "instances": expected_kind(inputs, nonfinite)}
    return {k: expected_kind(v, nonfinite) for k, v in inputs.items()}


@PROPERTY
@given(st.booleans(), st.data(), st.sampled_from(["token", "null"]), st.sampled_from(["shortest", "tolist"]))
def test_request_round_trip(api, columnar, data, nonfinite, float_format):
    inputs, bare = data.draw(columnar_batches() if columnar else row_batches())
    body = api.encode_request(inputs, FMT, columnar=columnar, nonfinite=nonfinite, float_format=float_format)
    assert isinstance(body, bytes)
    assert loads_tagged(body) == request_structure(inputs, bare, columnar, nonfinite)
    if not bare:  # names in the order given
        loaded = json.loads(body)
        firsts = [loaded["inputs"]] if columnar else loaded["instances"]
        assert all(list(inst) == list(inputs) for inst in firsts)
    want = expected_request(inputs, bare, columnar, nonfinite)
    assert_decoded(api.decode_request(body, FMT, nonfinite=nonfinite), want)
    request = api.read_request(body, FMT, nonfinite=nonfinite)
    assert_decoded(request.inputs, want)
    assert request.columnar is columnar and request.parameters is None and request.signature_name is None


@PROPERTY
@given(st.booleans(), st.data())
def test_response_round_trip(api, columnar, data):
    outputs, bare = data.draw(columnar_batches() if columnar else row_batches())
    body = api.encode_response(outputs, FMT, columnar=columnar)
    one = bare or len(outputs) == 1
    arrays = outputs if bare else (next(iter(outputs.values())) if one else outputs)
    key = "outputs" if columnar else "predictions"
    structure = request_structure(arrays, one, columnar)
    assert loads_tagged(body) == {key: next(iter(structure.values()))}
    want = {"output": expected_kind(arrays)} if one else {k: expected_kind(v) for k, v in outputs.items()}
    assert_decoded(api.decode_response(body, FMT), want)


@PROPERTY
@given(S.json_batches(), st.sampled_from(["token", "null"]), st.sampled_from(["shortest", "tolist"]))
def test_numbers_are_written_as_nd_arrays_writes_them(api, batch, nonfinite, float_format):
    """A bare numeric array: the very bytes ND_ARRAYS writes (every numeric dtype JSON takes);
    named: the number value form of the JSON codec (what ND_ARRAYS writes per value)."""
    columns, bare = batch
    kw = dict(nonfinite=nonfinite, float_format=float_format)
    if bare:
        arr = columns[0][1]
        assert api.encode_request(arr, FMT, **kw) == api.encode_request(arr, "ND_ARRAYS", **kw)
    else:
        want = PYTHON.jsonbody.encode_body("instances", columns, bare=False, value_form="number", **kw)
        assert api.encode_request(dict(columns), FMT, **kw) == want


# --------------------------------------------------------------------------------------------
# the backends crossed


@PROPERTY
@given(st.booleans(), st.data(), st.sampled_from(["token", "null"]), st.sampled_from(["shortest", "tolist"]))
def test_backends_write_and_read_alike(apis, columnar, data, nonfinite, float_format):
    ref, twin = apis
    inputs, bare = data.draw(columnar_batches() if columnar else row_batches())
    kw = dict(columnar=columnar, nonfinite=nonfinite, float_format=float_format)
    body = ref.encode_request(inputs, FMT, **kw)
    assert twin.encode_request(inputs, FMT, **kw) == body
    assert twin.encode_response(inputs, FMT, **kw) == ref.encode_response(inputs, FMT, **kw)
    for dtype in (None, "float64"):
        a = outcome(ref.decode_request, body, FMT, dtype=dtype, nonfinite=nonfinite)
        assert a[0] == "ok"
        assert outcome(twin.decode_request, body, FMT, dtype=dtype, nonfinite=nonfinite) == a


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=8,
)
ANY_ERROR = (DecodeError, PredictionError, ValueError, TypeError)


@PROPERTY
@given(st.booleans(), st.data(), st.sampled_from(["token", "null", "error"]), st.sampled_from(["shortest", "tolist"]),
       st.one_of(st.none(), JSON_VALUES))
def test_codec_twins_alike(both, columnar, data, nonfinite, float_format, parameters):
    """Codec level (``jsonbody.encode_body`` / ``decode_body``, value form "json"): the twin
    writes the reference's bytes (or raises its exception), and reads any body the reference
    wrote into the same arrays and envelope."""
    from tensorwire.codecs.rules.jsonbody import Envelope

    ref, twin = both
    inputs, bare = data.draw(columnar_batches() if columnar else row_batches())
    items = [(None, inputs)] if bare else list(inputs.items())
    # the columnar key takes one instance, written without the list
    columns = [(name, arr[None]) for name, arr in items] if columnar else items
    key = "inputs" if columnar else "instances"
    kw = dict(bare=bare, value_form="json", nonfinite=nonfinite, float_format=float_format, parameters=parameters)
    a = outcome(ref.jsonbody.encode_body, key, columns, errors=ANY_ERROR, **kw)
    assert outcome(twin.jsonbody.encode_body, key, columns, errors=ANY_ERROR, **kw) == a
    if a[0] != "ok":
        assert nonfinite == "error" and a[1] is ValueError  # the one refusal these inputs can meet
        return
    body = a[1]
    if parameters is not None:
        assert json.loads(body)["parameters"] == parameters
    results = []
    for backend in both:
        envelope = Envelope()
        got = outcome(backend.jsonbody.decode_body, body, "instances", value_form="json", nonfinite=nonfinite,
                      bare_name="instances", envelope=envelope)
        results.append((got, envelope.key, envelope.parameters, envelope.signature_name))
    assert results[0] == results[1]
    assert results[0][0][0] == "ok" and results[0][1] == key and results[0][2] == parameters


@PROPERTY
@given(JSON_VALUES, st.booleans())
def test_parameters_round_trip(api, parameters, columnar):
    body = api.encode_request({"a": i64([1])}, FMT, columnar=columnar, parameters=parameters)
    request = api.read_request(body, FMT)
    if parameters is None:
        assert "parameters" not in json.loads(body) and request.parameters is None
    else:
        assert json.loads(body)["parameters"] == parameters == request.parameters
    assert_decoded(request.inputs, {"a": i64([1])})


@pytest.mark.parametrize("body", [c[1] for c in DOC_REQUESTS + TF_SERVING_REQUESTS], ids=[c[0] for c in DOC_REQUESTS + TF_SERVING_REQUESTS])
def test_backends_read_the_golden_bodies_alike(apis, body):
    ref, twin = apis
    for kw in ({}, {"dtype": "float64"}, {"nonfinite": "error"}, {"nonfinite": "null"}, {"max_depth": 4}):
        assert outcome(ref.decode_request, body, FMT, **kw) == outcome(twin.decode_request, body, FMT, **kw)
        a, b = ref.read_request(body, FMT), twin.read_request(body, FMT)
        assert canonical(a.inputs) == canonical(b.inputs)
        assert (a.parameters, a.columnar, a.signature_name) == (b.parameters, b.columnar, b.signature_name)


# --------------------------------------------------------------------------------------------
# 4. bad input: a DecodeError "... at offset N", the same message from both backends.
# (id, body, where: the text whose first byte the spec says the error is at, or None where the
# spec does not say, and a text the message must hold, or None)

def _at(body, text):
    return body.encode("utf-8").index(text.encode("utf-8"))


BAD_REQUESTS = [
    ("lone-high-surrogate-escape", r'{"instances": ["\ud800"]}', "\\ud800", None),
    ("lone-low-surrogate-escape", r'{"instances": [{"a": "x\udc00"}]}', "\\udc00", None),
    ("high-then-non-low-escape", r'{"inputs": ["\ud800\u0041"]}', "\\ud800", None),
    ("b64-not-a-string", '{"instances": [{"b64": 3}]}', None, None),
    ("b64-with-another-member", '{"instances": [{"b64": "QQ==", "x": 1}]}', None, None),
    ("b64-null", '{"inputs": {"b64": null}}', None, None),
    ("b64-list", '{"instances": [[{"b64": ["QQ=="]}]]}', None, None),
    ("b64-with-another-member-columnar", '{"inputs": {"b64": "QQ==", "x": 1}}', None, None),
    ("string-beside-b64-in-a-list", '{"instances": [[{"b64": "QQ=="}, "a"]]}', '"a"', "instances"),
    ("string-beside-number", '{"instances": [1, "a"]}', '"a"', "instances"),
    ("number-beside-string", '{"instances": ["a", 1]}', "1]", "instances"),
    ("bool-beside-number", '{"instances": [1, true]}', "true", "instances"),
    ("number-beside-bool", '{"instances": [true, 1.5]}', "1.5", "instances"),
    ("float-beside-bool", '{"instances": [[false], [0.5]]}', "0.5", "instances"),
    ("string-beside-b64", '{"instances": ["a", {"b64": "QQ=="}]}', '{"b64"', "instances"),
    ("b64-beside-string", '{"instances": [{"b64": "QQ=="}, "a"]}', '"a"', "instances"),
    ("b64-beside-number", '{"instances": [{"myinput": [{"b64": "QQ=="}]}, {"myinput": [2]}]}', "2]", "myinput"),
    ("mixed-kinds-across-named-instances", '{"instances": [{"myinput": 1}, {"myinput": "1"}]}', '"1"', "myinput"),
    ("mixed-kinds-columnar", '{"inputs": {"myinput": [[1, 2], [3, false]]}}', "false", "myinput"),
    ("null-beside-string", '{"instances": ["a", null]}', None, None),
    ("ragged", '{"instances": [[1, 2], [3]]}', None, None),
    ("ragged-inner", '{"instances": [[[1], [2, 3]]]}', None, None),
    ("ragged-named", '{"instances": [{"a": [1, 2]}, {"a": [1]}]}', None, None),
    ("ragged-columnar", '{"inputs": {"a": [[1, 2], [3]]}}', None, None),
    ("ragged-strings", '{"instances": [["a", "b"], ["c"]]}', None, None),
    ("list-where-leaf", '{"instances": ["a", ["b"]]}', None, None),
    ("empty-inputs", '{"inputs": {}}', None, None),
    ("instances-then-inputs", '{"instances": [1], "inputs": [1]}', '"inputs"', None),
    ("inputs-then-instances", '{"inputs": {"a": 1}, "instances": [1]}', '"instances"', None),
    ("bad-base64", '{"instances": [{"b64": "QQ@="}]}', None, None),
    ("bad-base64-padding", '{"instances": [{"b64": "QQ="}]}', None, None),
    ("bad-base64-one-char", '{"inputs": {"a": {"b64": "Q"}}}', None, None),
    ("bad-base64-mixed-alphabets", '{"instances": [{"b64": "-_+/"}]}', None, None),
    ("input-named-b64-second", '{"instances": [{"x": 1, "b64": 2}]}', '"b64"', None),
    ("input-named-b64-second-string", '{"instances": [{"x": 1, "b64": "QQ=="}]}', '"b64"', None),
    ("input-named-b64-columnar", '{"inputs": {"x": [1], "b64": [1]}}', '"b64"', None),
    ("int-overflow", '{"instances": [99999999999999999999]}', "99999999999999999999", None),
    ("int-overflow-after-ints", '{"instances": [1, 2, 99999999999999999999, 0.5]}', "99999999999999999999", None),
    ("int64-max-plus-one", '{"inputs": {"a": [9223372036854775808]}}', "9223372036854775808", None),
    ("int64-min-minus-one", '{"instances": [[-9223372036854775809]]}', "-9223372036854775809", None),
    ("signature-name-number", '{"signature_name": 5, "instances": [1]}', None, None),
    ("signature-name-null", '{"instances": [1], "signature_name": null}', None, None),
    ("signature-name-object", '{"signature_name": {"a": "b"}, "inputs": [1]}', None, None),
    ("other-object-in-value", '{"instances": [[{"x": 1}]]}', None, None),
    ("other-object-in-named", '{"instances": [{"a": {"c": 1}}]}', None, None),
    ("other-object-columnar", '{"inputs": {"a": [{"c": 1}]}}', None, None),
    ("null-under-token", '{"instances": [1.5, null]}', None, None),
    ("instances-not-a-list", '{"instances": {"a": 1}}', None, None),
    ("bare-after-named", '{"instances": [{"a": 1}, 2]}', None, None),
    ("different-names", '{"instances": [{"a": 1}, {"b": 1}]}', None, None),
    ("bad-extra-member", '{"instances": [1], "x": tru}', None, None),
    ("lone-surrogate-in-extra-member", r'{"instances": [1], "x": "\ud800"}', "\\ud800", None),
    ("trailing-data", '{"inputs": [1]} x', None, None),
    ("invalid-utf8", b'{"instances": ["\xff"]}', None, None),
]


def _bytes(body):
    return body if isinstance(body, bytes) else body.encode("utf-8")


@pytest.mark.parametrize("body, where, name", [c[1:] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests(api, body, where, name):
    with pytest.raises(DecodeError) as info:
        api.decode_request(body, FMT)
    message = str(info.value)
    offset = offset_of(info.value)
    assert 0 <= offset <= len(_bytes(body))
    if where is not None:
        if where in ('"inputs"', '"instances"'):
            # "at the second one's offset": the member's name, or its value
            key = _at(body, where)
            value = key + len(where) + len(": ")
            assert offset in (key, value), message
        else:
            assert offset == _at(body, where), message
    if name is not None:
        assert name in message, message
    with pytest.raises(DecodeError) as again:  # read_request refuses it alike
        api.read_request(body, FMT)
    assert str(again.value) == message


@pytest.mark.parametrize("body", [c[1] for c in BAD_REQUESTS], ids=[c[0] for c in BAD_REQUESTS])
def test_backends_refuse_alike(apis, body):
    ref, twin = apis
    a = outcome(ref.decode_request, body, FMT)
    assert a[0] == "error" and a[1] is DecodeError
    assert outcome(twin.decode_request, body, FMT) == a
    assert outcome(twin.read_request, body, FMT) == outcome(ref.read_request, body, FMT)


def test_bodies_without_inputs_are_refused(api):
    """No instances and no inputs (the message may have no position: nothing is at fault)."""
    for body in ('{"parameters": {}}', "{}", '{"predictions": [1]}', '{"signature_name": "s"}'):
        with pytest.raises(DecodeError):
            api.decode_request(body, FMT)
    for body in ('{"instances": [1]}', "{}"):
        with pytest.raises(DecodeError):
            api.decode_response(body, FMT)


def test_integer_overflow_names_the_way_out(api):
    """Refused at once while the input is all integers, whatever follows."""
    for body in ('{"instances": [99999999999999999999]}', '{"instances": [[1, 99999999999999999999], [0.5, 1]]}'):
        with pytest.raises(DecodeError) as info:
            api.decode_request(body, FMT)
        assert offset_of(info.value) == body.index("9999")


# mutated bodies: every outcome an array dict or a DecodeError (PredictionError for responses),
# never another exception; the two backends alike.  Seeds: the golden bodies above and the
# shared JSON seeds (strategies.mutated_json_requests).

_SEEDS = [_bytes(c[1]) for c in DOC_REQUESTS + TF_SERVING_REQUESTS]
_TOKENS = st.one_of(
    st.sampled_from([
        b'{"b64":', b'{"b64":"QQ=="}', b'{"b64":3}', b'"b64":', b'"inputs":', b'"instances":', b'"signature_name":',
        b'"parameters":', b"99999999999999999999", b"-9223372036854775809", b"1e999", b"NaN", b"null", b"true",
        b'"\\ud800"', b"\\u", b"[", b"]", b"{", b"}", b",", b":", b'"', b"[" * 70, b"\xff", b"\xed\xa0\x80",
    ]),
    st.binary(min_size=1, max_size=4),
)


def mutated_requests():
    return st.one_of(
        twt.mutated_bytes(st.sampled_from(_SEEDS), _TOKENS),
        S.mutated_json_requests(),
        S.mutated_json_requests().map(lambda b: b.replace(b'"instances"', b'"inputs"')),
    )


@CORRUPTION
@given(mutated_requests(), st.sampled_from([{}, {"nonfinite": "null"}, {"dtype": "float64"}, {"max_depth": 4}]))
def test_mutated_requests_fail_cleanly(api, body, kw):
    result = outcome(api.decode_request, body, FMT, **kw)
    assert result[0] == "ok" or result[1] is DecodeError


@CORRUPTION
@given(st.one_of(S.mutated_json_bodies(), mutated_requests().map(lambda b: b.replace(b'"instances"', b'"predictions"'))))
def test_mutated_responses_fail_cleanly(api, body):
    result = outcome(api.decode_response, body, FMT, errors=(DecodeError, PredictionError))
    assert result[0] == "ok" or result[1] in (DecodeError, PredictionError)


@CORRUPTION
@given(mutated_requests(), st.sampled_from([{}, {"nonfinite": "error"}, {"dtype": "int16"}]))
def test_mutated_requests_alike(apis, body, kw):
    ref, twin = apis
    assert outcome(twin.decode_request, body, FMT, **kw) == outcome(ref.decode_request, body, FMT, **kw)


# --------------------------------------------------------------------------------------------
# 5. parameters, in every JSON format


def _inputs_for(fmt):
    a = f32([[1.5, 2.0], [0.25, -1.0]])
    return a if fmt == "ND_ARRAYS" else {"a": a}


@pytest.mark.parametrize("fmt", JSON_FORMATS4)
def test_parameters_in_every_json_format(api, fmt):
    x = _inputs_for(fmt)
    plain = api.encode_request(x, fmt)
    body = api.encode_request(x, fmt, parameters={"confidence": 0.5})
    assert json.loads(body)["parameters"] == {"confidence": 0.5}
    assert body == plain[:-1] + b',"parameters":{"confidence":0.5}}'  # after the instances, compact
    request = api.read_request(body, fmt)
    assert request.parameters == {"confidence": 0.5}
    assert request.columnar is False and request.signature_name is None
    decoded = api.decode_request(body, fmt)
    assert all(isinstance(v, np.ndarray) for v in decoded.values())
    assert list(decoded) == (["instances"] if fmt == "ND_ARRAYS" else ["a"])
    assert canonical(decoded) == canonical(request.inputs) == canonical(api.decode_request(plain, fmt))
    assert api.read_request(plain, fmt).parameters is None
    assert "parameters" not in json.loads(api.encode_request(x, fmt, parameters=None))


@pytest.mark.parametrize("fmt", JSON_FORMATS4)
def test_parameters_of_any_json_value(api, fmt):
    x = _inputs_for(fmt)
    values = [
        [1, {"a": None}, "x", True],
        "text \u00e9",
        0,
        {"nested": {"deep": [[1.5, -2], []], "s": "\U0001f600"}},
        {"np": np.float32(0.5), "arr": np.arange(3), "m": np.array([[True]])},
    ]
    for value in values:
        body = api.encode_request(x, fmt, parameters=value)
        want = json.loads(json.dumps(value, default=lambda v: v.tolist()))
        assert json.loads(body)["parameters"] == want
        assert api.read_request(body, fmt).parameters == want
    # read from a body written by someone else: anywhere in the body
    inst = json.loads(api.encode_request(x, fmt))["instances"]
    other = json.dumps({"parameters": {"k": [1, 2]}, "instances": inst}, indent=1)
    assert api.read_request(other, fmt).parameters == {"k": [1, 2]}


def test_parameters_with_each_backend_and_columnar(api):
    body = api.encode_request({"a": i64([1, 2])}, FMT, columnar=True, parameters={"confidence": 0.5})
    assert body == b'{"inputs":{"a":[1,2]},"parameters":{"confidence":0.5}}'
    request = api.read_request(body, FMT)
    assert request.parameters == {"confidence": 0.5} and request.columnar is True
    assert_decoded(request.inputs, {"a": i64([1, 2])})
    assert_decoded(api.decode_request(body, FMT), {"a": i64([1, 2])})
    request = api.read_request('{"signature_name": "serving_default", "instances": [1], "parameters": null}', FMT)
    assert request.signature_name == "serving_default" and request.parameters is None


def test_parameters_that_json_cannot_write():
    with pytest.raises((TypeError, ValueError)):
        payload.encode_request({"a": f32([1])}, FMT, parameters={"x": object()})
