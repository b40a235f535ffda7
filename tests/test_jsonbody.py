"""HTTP JSON bodies (codec level): round trips, the stdlib / orjson / TF Serving number styles and
TensorFlow as oracles, malformed bodies, and the two backends crossed.

Tests taking ``codecs`` run once per backend (``codecs.jsonbody.encode_body/decode_body``); tests
taking ``both`` cross the reference and the Cython twin: same bytes, same arrays, same exception
type and message.  Oracles: ``json`` and ``orjson`` (reading what we write, writing what we
read), a TF Serving number writer written here from docs/json-payloads.md, and TensorFlow running a
model wrapped the Earth Engine way (docs/json-payloads.md) on our SERIALIZED_TF_TENSORS requests.
"""

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
import tensorwire.testing as twt
from common import assert_same_array as assert_same
from common import decoded_outcome
from tensorwire import DecodeError, PredictionError
from tensorwire.codecs.rules import jsonbody as jsonbody_rules

import tensorflow as tf  # noqa: E402  (plain import: a missing TensorFlow must fail, not skip)

GOLDEN = json.loads((Path(__file__).parent / "data" / "ee_serialized_tf_tensors.json").read_text())

# Budgets: the bodies are small, so the profile's count (dev 60, ci 300) is doubled where cheap;
# the TensorFlow tests call a tf.function per example and keep a fixed small budget.
PROPERTY = settings(max_examples=min(settings.default.max_examples * 2, 300))
ORACLE = settings(max_examples=min(settings.default.max_examples * 2, 200))
TF_ORACLE = settings(max_examples=20)
CORRUPTION = settings(max_examples=min(settings.default.max_examples * 5, 600))

KEYS = ("instances", "predictions")
WRITE_VALUE_FORMS = ("tensor", "string", "number")
J = "JSON body: "


# --------------------------------------------------------------------------------------------
# helpers


def read_form(value_form):
    """The value form a body written with ``value_form`` is read back with (RAW_JSON strings read
    as numbers)."""
    return "tensor" if value_form == "tensor" else "number"


def dtype_option(columns, bare):
    return columns[0][1].dtype if bare else {name: arr.dtype for name, arr in columns}


def number_want(arr, nonfinite="token"):
    """What a number-form body of ``arr`` decodes to: the same values, except that a zero side
    hides the sides after it (``[[], []]`` has no third dimension), and ``null`` reads as NaN."""
    inner = arr.shape[1:]
    if 0 in inner:
        return np.zeros((arr.shape[0], *inner[: inner.index(0) + 1]), arr.dtype)
    want = arr.copy()
    if nonfinite == "null" and want.dtype.kind == "f":
        want[np.isinf(want)] = np.nan
    return want


def assert_equal_values(got, want):
    """Same dtype and shape, equal values (0 == -0.0), NaN where NaN."""
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    np.testing.assert_array_equal(got, want)


def canonical(x):
    if isinstance(x, dict):
        return [(k, canonical(v)) for k, v in x.items()]
    return (x.dtype.str, x.shape, x.tobytes())


def outcome(func, *args, errors=(DecodeError,), **kw):
    """("ok", decoded) or ("error", type, message) for the exceptions in ``errors``; any other
    exception propagates and fails the test."""
    return decoded_outcome(func, *args, errors=errors, canonical=canonical_if_mapping, **kw)


def canonical_if_mapping(got):
    return canonical(got) if isinstance(got, dict) else got


ANY_ERROR = (DecodeError, PredictionError, ValueError, TypeError)


def decode(codecs, body, key="predictions", value_form="number", **kw):
    return codecs.jsonbody.decode_body(body, key, value_form=value_form, **kw)


def loads_texts(body):
    """The body as JSON with every number kept as its text."""
    return json.loads(body, parse_float=lambda t: ("num", t), parse_int=lambda t: ("num", t))


def leaves(x):
    if isinstance(x, list):
        for item in x:
            yield from leaves(item)
    else:
        yield x


def instance_values(loaded, key, name, bare):
    """The per-instance values of one name from a json.loads'ed body."""
    return [inst if bare else inst[name] for inst in loaded[key]]


# --------------------------------------------------------------------------------------------
# round trips


@PROPERTY
@given(
    S.json_batches(),
    st.sampled_from(WRITE_VALUE_FORMS),
    st.sampled_from(["token", "null"]),
    st.sampled_from(KEYS),
    st.sampled_from(["shortest", "tolist"]),
    st.booleans(),
)
def test_round_trip(codecs, batch, value_form, nonfinite, key, float_format, tensor_dtype):
    columns, bare = batch
    body = codecs.jsonbody.encode_body(key, columns, bare=bare, value_form=value_form, nonfinite=nonfinite, float_format=float_format)
    assert isinstance(body, bytes)
    # numbers need the dtype; for tensors it is optional (and must match the encoded one)
    dtype = None if value_form == "tensor" and not tensor_dtype else dtype_option(columns, bare)
    if bare and dtype is not None and tensor_dtype:
        dtype = {"out": dtype}
    got = codecs.jsonbody.decode_body(body, key, value_form=read_form(value_form), dtype=dtype, nonfinite=nonfinite, bare_name="out")
    if len(columns[0][1]) == 0:
        assert got == {}  # no instance: neither names nor shapes
        return
    assert list(got) == (["out"] if bare else [name for name, _ in columns])
    for (_, arr), value in zip(columns, got.values()):
        if value_form == "tensor":  # TensorProtos keep every bit, NaN payloads and the policy aside
            assert value.dtype == arr.dtype and value.shape == arr.shape and value.tobytes() == arr.tobytes()
        else:
            assert_same(value, number_want(arr, nonfinite))


@PROPERTY
@given(S.json_batches(), st.sampled_from(WRITE_VALUE_FORMS), st.sampled_from(KEYS))
def test_nonfinite_error_policy(codecs, batch, value_form, key):
    """``nonfinite="error"``: a ValueError naming the input for a non-finite number; TensorProtos
    carry them untouched; what is written reads back under the same policy."""
    columns, bare = batch
    bad = [(name, arr) for name, arr in columns if arr.dtype.kind == "f" and not np.isfinite(arr).all()]
    if value_form != "tensor" and bad:
        with pytest.raises(ValueError, match=r"non-finite value .* at index \(.*\) \(nonfinite='error'\)") as info:
            codecs.jsonbody.encode_body(key, columns, bare=bare, value_form=value_form, nonfinite="error")
        assert f"input {bad[0][0]!r}" in str(info.value)
        assert not isinstance(info.value, DecodeError)
        return
    body = codecs.jsonbody.encode_body(key, columns, bare=bare, value_form=value_form, nonfinite="error")
    assert b"NaN" not in body.replace(b'"', b" ").split() or value_form == "tensor"
    dtype = None if value_form == "tensor" else dtype_option(columns, bare)
    got = codecs.jsonbody.decode_body(body, key, value_form=read_form(value_form), dtype=dtype, nonfinite="error")
    for (_, arr), value in zip(columns, got.values()):
        if value_form == "tensor":
            assert value.tobytes() == arr.tobytes()
        else:
            assert_same(value, number_want(arr))


def test_nonfinite_policies_by_hand(codecs):
    a = np.array([[np.nan, np.inf, -np.inf, -0.0]], np.float32)
    enc = codecs.jsonbody.encode_body
    assert enc("predictions", [(None, a)], bare=True, value_form="number") == b'{"predictions":[[NaN,Infinity,-Infinity,-0.0]]}'
    assert enc("predictions", [(None, a)], bare=True, value_form="string") == b'{"predictions":[["NaN","Infinity","-Infinity","-0.0"]]}'
    assert enc("predictions", [(None, a)], bare=True, value_form="number", nonfinite="null") == b'{"predictions":[[null,null,null,-0.0]]}'
    assert enc("predictions", [(None, a)], bare=True, value_form="string", nonfinite="null") == b'{"predictions":[[null,null,null,"-0.0"]]}'
    with pytest.raises(ValueError, match=r"^input 'B1': non-finite value nan at index \(0, 0\) \(nonfinite='error'\)$"):
        enc("instances", [("B1", a)], bare=False, value_form="number", nonfinite="error")
    # quoted tokens read back too, and null only under "null"
    got = decode(codecs, b'{"predictions":[["NaN","Infinity","-Infinity",null]]}', nonfinite="null")["output"]
    assert_same(got, np.array([[np.nan, np.inf, -np.inf, np.nan]], np.float32))
    with pytest.raises(DecodeError, match=r"non-finite Infinity refused \(nonfinite='error'\) at offset 16"):
        decode(codecs, b'{"predictions":["Infinity"]}', nonfinite="error")


def test_written_form(codecs):
    """Compact, names in the order given, named vs bare, URL-safe padded base64 by default."""
    enc = codecs.jsonbody.encode_body
    cols = [("b", np.array([[1, 2]], np.int8)), ("a", np.array([True]))]
    assert enc("instances", cols, bare=False, value_form="number") == b'{"instances":[{"b":[1,2],"a":true}]}'
    assert enc("instances", cols, bare=False, value_form="string") == b'{"instances":[{"b":["1","2"],"a":"true"}]}'
    assert enc("instances", cols[:1], bare=True, value_form="number") == b'{"instances":[[1,2]]}'
    assert enc("instances", [("x", np.zeros((0, 3)))], bare=False, value_form="number") == b'{"instances":[]}'
    f = [("B", np.array([[[1, 2], [3, 4]]], np.float32))]
    assert enc("instances", f, bare=False, value_form="tensor") == b'{"instances":[{"B":"CAESCBICCAISAggCIhAAAIA_AAAAQAAAQEAAAIBA"}]}'
    v = [("v", np.array([[1.5]], np.float32))]  # CAESBBICCAEiBAAAwD8 + padding
    assert enc("instances", v, bare=True, value_form="tensor") == b'{"instances":["CAESBBICCAEiBAAAwD8="]}'
    assert enc("instances", v, bare=True, value_form="tensor", pad=False) == b'{"instances":["CAESBBICCAEiBAAAwD8"]}'
    w = [("w", np.array([[1.5, np.nan]], np.float32))]  # CAESBBICCAIiCAAAwD8AAMB_ / ...MB/
    url = enc("instances", w, bare=True, value_form="tensor")
    std = enc("instances", w, bare=True, value_form="tensor", urlsafe=False)
    assert url.translate(bytes.maketrans(b"-_", b"+/")) == std and url != std
    names = [('q"\\\n\u00e9\U0001f600', np.zeros((1,), np.uint8))]
    assert enc("instances", names, bare=False, value_form="number") == '{"instances":[{"q\\"\\\\\\n\u00e9\U0001f600":0}]}'.encode()


def test_encode_refuses_bad_arguments(codecs):
    enc = codecs.jsonbody.encode_body
    a = np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match=r"^name '\\ud800' is not valid Unicode \(lone surrogate\)$"):
        enc("instances", [("\ud800", a)], bare=False, value_form="number")
    with pytest.raises(TypeError, match=r"^input and output names must be str, not int$"):
        enc("instances", [(1, a)], bare=False, value_form="number")
    with pytest.raises(ValueError, match=r"^value_form must be one of"):
        enc("instances", [("a", a)], bare=False, value_form="raw")
    with pytest.raises(ValueError, match=r"^nonfinite must be one of"):
        enc("instances", [("a", a)], bare=False, value_form="number", nonfinite="zero")
    with pytest.raises(ValueError, match=r"^float_format must be one of"):
        enc("instances", [("a", a)], bare=False, value_form="number", float_format="repr")
    with pytest.raises(TypeError, match=r"^unsupported dtype for JSON numbers: complex64"):
        enc("instances", [("a", a.astype(np.complex64))], bare=False, value_form="number")


# --------------------------------------------------------------------------------------------
# oracles: the stdlib json module and orjson read what we write


def number_of(text, dtype):
    """A leaf of a body as the stdlib gives it (number text kept, see loads_texts)."""
    if isinstance(text, tuple):
        text = text[1]
    if text is None:
        return math.nan
    if isinstance(text, float):  # NaN / Infinity tokens, given as floats by json
        return text
    if dtype.kind == "b":
        assert text in (True, False, "true", "false"), text
        return text in (True, "true")
    return int(text) if dtype.kind in "iu" else float(text)


@ORACLE
@given(S.json_batches(), st.sampled_from(["string", "number"]), st.sampled_from(["token", "null"]), st.sampled_from(KEYS))
def test_stdlib_reads_what_we_write(codecs, batch, value_form, nonfinite, key):
    columns, bare = batch
    body = codecs.jsonbody.encode_body(key, columns, bare=bare, value_form=value_form, nonfinite=nonfinite)

    def refuse(token):
        raise AssertionError(f"{token} written under nonfinite={nonfinite!r}")

    loaded = json.loads(body, parse_constant=refuse if nonfinite == "null" else None,
                        parse_float=lambda t: ("num", t), parse_int=lambda t: ("num", t))
    assert list(loaded) == [key] and len(loaded[key]) == len(columns[0][1])
    for name, arr in columns:
        values = instance_values(loaded, key, name, bare)
        for v in leaves(values):
            if value_form == "string":  # every leaf a JSON string; null is the one bare leaf allowed
                assert isinstance(v, str) or (v is None and nonfinite == "null"), v
            else:
                assert isinstance(v, (tuple, bool, float)) or (v is None and nonfinite == "null"), v
        if len(arr) == 0:
            continue
        want = number_want(arr, nonfinite)
        flat = [number_of(v, arr.dtype) for v in leaves(values)]
        got = np.array(flat, dtype=arr.dtype).reshape(want.shape) if flat else np.zeros(want.shape, arr.dtype)
        assert_same(got, want)
    # orjson (strict JSON) reads every body but those holding NaN/Infinity tokens
    has_tokens = value_form == "number" and nonfinite == "token" and any(
        arr.dtype.kind == "f" and not np.isfinite(arr).all() for _, arr in columns
    )
    if has_tokens:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    else:
        assert orjson.loads(body) == json.loads(body)


@ORACLE
@given(S.json_batches(finite=True), st.sampled_from(KEYS), st.sampled_from(["shortest", "tolist"]))
def test_tolist_form_is_json_dumps(codecs, batch, key, float_format):
    """``tolist`` (and ``shortest`` for every dtype but float16/32) writes what
    ``json.dumps(a.tolist())`` writes, in the request and in the bare response form."""
    columns, bare = batch
    body = codecs.jsonbody.encode_body(key, columns, bare=bare, value_form="number", float_format=float_format)
    if bare:
        doc = {key: columns[0][1].tolist()}
    else:
        doc = {key: [{name: arr[i].tolist() for name, arr in columns} for i in range(len(columns[0][1]))]}
    dumped = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    narrow = any(arr.dtype in (np.float16, np.float32) and arr.size for _, arr in columns)
    if float_format == "tolist" or not narrow:
        assert body == dumped
    else:  # same structure, and every float16/32 leaf is its shortest text
        assert json.loads(body).keys() == json.loads(dumped).keys()
        loaded = loads_texts(body)
        for name, arr in columns:
            texts = [t[1] if isinstance(t, tuple) else json.dumps(t) for t in leaves(instance_values(loaded, key, name, bare))]
            assert len(texts) == arr.size
            for x, text in zip(arr.reshape(-1), texts):
                if arr.dtype.kind == "f":
                    assert text == repr(float(np.format_float_scientific(x, unique=True))), (x, text)
                else:
                    assert text == json.dumps(x.item()), (x, text)


def test_shortest_texts_by_hand(codecs):
    enc = codecs.jsonbody.encode_body
    cases = [
        (np.float32, [0.1, 1e10, 1e16, 1e-5, 3.4028235e38, 1e-45, 16777216.0, 0.0001], b"[0.1,10000000000.0,1e+16,1e-05,3.4028235e+38,1e-45,16777216.0,0.0001]"),
        (np.float16, [0.1, 65504, 6e-08], b"[0.1,65500.0,6e-08]"),
        (np.float64, [0.1, 1e22, 5e-324], b"[0.1,1e+22,5e-324]"),
    ]
    for dtype, values, text in cases:
        a = np.array([values], dtype)
        assert enc("predictions", [(None, a)], bare=True, value_form="number") == b'{"predictions":[' + text + b"]}"
    a = np.array([[0.1]], np.float32)
    assert enc("predictions", [(None, a)], bare=True, value_form="number", float_format="tolist") == b'{"predictions":[[0.10000000149011612]]}'


# --------------------------------------------------------------------------------------------
# oracles: what json.dumps, orjson and TF Serving write, we read


def json_want(loaded, key, name, bare, dtype):
    values = instance_values(loaded, key, name, bare)
    return np.asarray(values, dtype)


@ORACLE
@given(
    S.json_batches(min_instances=1),
    st.sampled_from([None, 0, 2, "\t"]),
    st.booleans(),
    st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\r\n ")]),
    st.booleans(),
)
def test_read_json_dumps(codecs, batch, indent, ensure_ascii, separators, metadata):
    columns, bare = batch
    rows = [columns[0][1][i].tolist() if bare else {n: a[i].tolist() for n, a in columns} for i in range(len(columns[0][1]))]
    doc = {"deployedModelId": "6789", "predictions": rows} if metadata else {"predictions": rows}
    if metadata:
        doc.update(model="projects/p/models/m", modelVersionId="1", modelDisplayName="m")
    text = json.dumps(doc, indent=indent, ensure_ascii=ensure_ascii, separators=None if indent is not None else separators)
    body = (" \n" + text + "\r\n\t ").encode("utf-8")
    got = decode(codecs, body, dtype=dtype_option(columns, bare), bare_name="y")
    loaded = json.loads(body)
    assert list(got) == (["y"] if bare else [n for n, _ in columns])
    for (name, arr), value in zip(columns, got.values()):
        want = number_want(arr)
        assert_same(value, want)
        if 0 not in arr.shape:
            assert_equal_values(value, json_want(loaded, "predictions", name, bare, arr.dtype))
    # the same text as a str, and as a bytearray / memoryview, reads the same
    assert canonical(decode(codecs, body.decode("utf-8"), dtype=dtype_option(columns, bare))) == canonical(
        decode(codecs, memoryview(bytearray(body)), dtype=dtype_option(columns, bare))
    )


@ORACLE
@given(S.json_batches(finite=True, min_instances=1))
def test_read_orjson(codecs, batch):
    columns, bare = batch
    n = len(columns[0][1])
    if bare:
        doc = {"predictions": columns[0][1]}
    else:
        doc = {"predictions": [{name: a[i] for name, a in columns} for i in range(n)]}
    body = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)  # numpy arrays and scalars, as orjson writes them
    loaded = json.loads(body)
    dtypes = dtype_option(columns, bare)
    got = decode(codecs, body, dtype=dtypes)
    for (name, arr), value in zip(columns, got.values()):
        if 0 in arr.shape:
            assert value.shape == number_want(arr).shape
            continue
        want = np.asarray([v for v in leaves(instance_values(loaded, "predictions", name, bare))], dtype=arr.dtype)
        assert_equal_values(value, want.reshape(arr.shape))


def tf_serving_text(x, dtype):
    """A float as TF Serving writes it (docs/json-payloads.md): 6 significant digits if they read back
    to the same value, else 9 (float32) / 17 (float64); ``.0`` appended to a plain integer."""
    dtype = np.dtype(dtype)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    text = "%.6g" % float(x)
    if dtype.type(float(text)) != x:
        text = ("%.9g" if dtype == np.float32 else "%.17g") % float(x)
    if not any(c in text for c in ".e"):
        text += ".0"
    return text


@ORACLE
@given(
    S.json_batches(dtypes=[np.dtype("<f4"), np.dtype("<f8")], min_instances=1),
    st.sampled_from(["", " ", "\n  "]),
)
def test_read_tf_serving_numbers(codecs, batch, ws):
    columns, bare = batch

    def nested(a, dtype):
        if a.ndim == 0:
            return tf_serving_text(a[()], dtype)
        return "[" + ws + ("," + ws).join(nested(x, dtype) for x in a) + ws + "]"

    rows = []
    for i in range(len(columns[0][1])):
        if bare:
            rows.append(nested(columns[0][1][i], columns[0][1].dtype))
        else:
            rows.append("{" + ",".join(f"{json.dumps(n)}:{ws}{nested(a[i], a.dtype)}" for n, a in columns) + "}")
    body = ('{"predictions": [' + ws + ("," + ws).join(rows) + "]}").encode("utf-8")
    loaded = json.loads(body)
    got = decode(codecs, body, dtype=dtype_option(columns, bare))
    for (name, arr), value in zip(columns, got.values()):
        assert_same(value, number_want(arr))  # TF Serving's texts read back exactly
        if 0 not in arr.shape:
            assert_equal_values(value, json_want(loaded, "predictions", name, bare, arr.dtype))


@ORACLE
@given(st.lists(S.decimal_texts(), min_size=1, max_size=8), st.sampled_from(["float32", "float64"]))
def test_read_every_number_form(codecs, texts, dtype):
    """Integers, fractions, exponents (``e``/``E``, signed or not) as bare and quoted leaves:
    the correctly rounded value (texts of at most 9 significant digits)."""
    body = ('{"predictions":[[' + ",".join(texts) + '],[' + ",".join(f'"{t}"' for t in texts) + "]]}").encode()
    got = decode(codecs, body, dtype=dtype)["output"]
    with np.errstate(over="ignore"):  # 1e60 is inf in float32
        want = np.array([[np.dtype(dtype).type(float(t)) for t in texts]] * 2)
    assert_same(got, want)  # bit-exact: "-0" and "-0.0e5" are -0.0


@ORACLE
@given(st.lists(st.integers(-(2**63), 2**64 - 1), min_size=1, max_size=6), st.sampled_from(twt.INT_DTYPES))
def test_read_integers(codecs, values, dtype):
    body = json.dumps({"predictions": values}).encode()
    info = np.iinfo(dtype)
    bad = [v for v in values if not info.min <= v <= info.max]
    if bad:
        with pytest.raises(DecodeError, match=rf"integer {bad[0]} out of range for {dtype}"):
            decode(codecs, body, dtype=dtype)
    else:
        assert_same(decode(codecs, body, dtype=dtype)["output"], np.array(values, dtype))


def test_tf_serving_texts_by_hand(codecs):
    """The examples of docs/json-payloads.md, and other forms a peer writes."""
    body = b'{"predictions":[1.0,0.333333343,9e+06,3.40282347e+38,1E+5,-0.0,-0,7,1e-45,2.5E-3]}'
    got = decode(codecs, body)["output"]
    want = np.array([1.0, 0.333333343, 9e6, 3.40282347e38, 1e5, -0.0, -0.0, 7, 1e-45, 2.5e-3], np.float32)
    assert_same(got, want)
    assert got[5].tobytes() == got[6].tobytes() == b"\x00\x00\x00\x80"
    got = decode(codecs, b'{"predictions":[0.10000000000000001,1e308,4.9406564584124654e-324]}', dtype="float64")["output"]
    assert_same(got, np.array([0.1, 1e308, 5e-324]))
    got = decode(codecs, b'{"predictions":[true,false,"true"]}', dtype="bool")["output"]
    assert_same(got, np.array([True, False, True]))
    got = decode(codecs, b'{"predictions":[65519.99,65520,1e-8]}', dtype="float16")["output"]
    assert_same(got, np.array([65504, np.inf, 0], np.float16))


# --------------------------------------------------------------------------------------------
# SERIALIZED_TF_TENSORS: TensorFlow as the peer (docs/json-payloads.md)


def ee_model(n_outputs):
    """A model wrapped the Earth Engine way: each input a tf.string [N] of base64 TensorProtos;
    outputs re-encoded the same way (tf.io.encode_base64: URL-safe, unpadded)."""

    def per_instance(args):
        a = tf.io.parse_tensor(tf.io.decode_base64(args[0]), tf.float32)
        b = tf.io.parse_tensor(tf.io.decode_base64(args[1]), tf.float32)
        total = (a + b) * 2.0
        outs = (total, a - b)[:n_outputs]
        return tuple(tf.io.encode_base64(tf.io.serialize_tensor(y)) for y in outs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)])
    def model(b1, b2):
        return tf.map_fn(per_instance, (b1, b2), fn_output_signature=(tf.string,) * n_outputs)

    return model


EE_MODELS = {n: ee_model(n) for n in (1, 2)}



def serving_response(outputs, names):
    """The body TF Serving writes for a model's string outputs: bare with one output, objects
    with several."""
    decoded = [[s.decode("ascii") for s in o.numpy().tolist()] for o in outputs]
    if len(names) == 1:
        preds = decoded[0]
    else:
        preds = [dict(zip(names, vals)) for vals in zip(*decoded)]
    return json.dumps({"predictions": preds, "deployedModelId": "1"}).encode()


@TF_ORACLE
@given(S.ee_batches(), st.sampled_from([1, 2]), st.booleans())
def test_ee_model_round_trip(codecs, batch, n_outputs, pad):
    a, b = batch
    body = codecs.jsonbody.encode_body("instances", [("B1", a), ("B2", b)], bare=False, value_form="tensor", pad=pad)
    instances = json.loads(body)["instances"]
    strings = {name: [inst[name] for inst in instances] for name in ("B1", "B2")}
    for name, arr in (("B1", a), ("B2", b)):  # TensorFlow reads every instance's text as we meant it
        for text, want in zip(strings[name], arr):
            assert re.fullmatch(r"[A-Za-z0-9_-]*" + ("={0,2}" if pad else ""), text) and (len(text) % 4 == 0 or not pad)
            parsed = tf.io.parse_tensor(tf.io.decode_base64(text), tf.float32).numpy()
            assert parsed.shape == want.shape and parsed.tobytes() == want.tobytes()
    outputs = EE_MODELS[n_outputs](tf.constant(strings["B1"]), tf.constant(strings["B2"]))
    names = ["sum2", "diff"][:n_outputs]
    response = serving_response(outputs, names)
    got = codecs.jsonbody.decode_body(response, "predictions", value_form="tensor")
    want = {"sum2": (a + b) * np.float32(2), "diff": a - b}
    assert list(got) == (["output"] if n_outputs == 1 else names)
    for name, value in zip(names, got.values()):
        assert_same(value, want[name])
    # standard alphabet, padded, in {"b64": ...} objects too
    preds = json.loads(response)["predictions"]

    def std(text):
        return base64.b64encode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))).decode()

    if n_outputs == 1:
        forms = [[std(t) for t in preds], [{"b64": std(t)} for t in preds], [{"b64": t} for t in preds]]
    else:
        forms = [[{k: std(v) for k, v in p.items()} for p in preds], [{k: {"b64": std(v)} for k, v in p.items()} for p in preds]]
    for form in forms:
        again = codecs.jsonbody.decode_body(json.dumps({"predictions": form}), "predictions", value_form="tensor")
        assert canonical(again) == canonical(got)


@TF_ORACLE
@given(S.json_batches(dtypes=S.JSON_DTYPES, max_columns=2, min_instances=1, max_instances=2))
def test_tensorflow_parses_our_requests(codecs, batch):
    """Every dtype: tf.io.decode_base64 + tf.io.parse_tensor give the instance's exact bits."""
    columns, bare = batch
    body = codecs.jsonbody.encode_body("instances", columns, bare=bare, value_form="tensor")
    instances = json.loads(body)["instances"]
    for name, arr in columns:
        for inst, want in zip(instances, arr):
            text = inst if bare else inst[name]
            parsed = tf.io.parse_tensor(tf.io.decode_base64(text), tf.as_dtype(arr.dtype)).numpy()
            assert parsed.dtype == want.dtype and parsed.shape == want.shape and parsed.tobytes() == want.tobytes()


def test_tensorflow_base64_forms_decode(codecs):
    a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    protos = [tf.io.serialize_tensor(tf.constant(x)) for x in a]
    url = [tf.io.encode_base64(p).numpy().decode() for p in protos]  # URL-safe, unpadded
    padded = [tf.io.encode_base64(p, pad=True).numpy().decode() for p in protos]
    std = [base64.b64encode(p.numpy()).decode() for p in protos]
    assert any("=" in t for t in padded)
    for texts in (url, padded, std, [{"b64": t} for t in std], [{"b64": t} for t in url]):
        for key in KEYS:
            body = json.dumps({key: texts})
            assert_same(decode(codecs, body, key=key, value_form="tensor", bare_name="bare")["bare"], a)
            named = json.dumps({key: [{"B1": t} for t in texts]})
            assert_same(decode(codecs, named, key=key, value_form="tensor")["B1"], a)
    # our padded URL-safe text goes through tf.io.decode_base64
    body = codecs.jsonbody.encode_body("instances", [("B1", a)], bare=False, value_form="tensor")
    for inst, want in zip(json.loads(body)["instances"], a):
        assert "=" in inst["B1"] or len(inst["B1"]) % 4 == 0
        assert tf.io.decode_base64(inst["B1"]).numpy() == tf.io.serialize_tensor(tf.constant(want)).numpy()


def test_golden_ee_vector(codecs):
    """The request and response TensorFlow 2.21 wrote (tests/data/ee_serialized_tf_tensors.json)."""

    def array(entry):
        return np.frombuffer(bytes.fromhex(entry["data_hex"]), entry["dtype"]).reshape(entry["shape"])

    b2, out = array(GOLDEN["request_B2"]), array(GOLDEN["response_output"])
    request = json.dumps(GOLDEN["request"], separators=(",", ":")).encode()
    response = json.dumps(GOLDEN["response"], separators=(",", ":")).encode()
    assert codecs.jsonbody.encode_body("instances", [("B2", b2)], bare=False, value_form="tensor") == request
    assert codecs.jsonbody.encode_body("predictions", [(None, out)], bare=True, value_form="tensor", pad=False) == response
    assert_same(codecs.jsonbody.decode_body(request, "instances", value_form="tensor")["B2"], b2)
    assert_same(codecs.jsonbody.decode_body(json.dumps(GOLDEN["response"], indent=1), "predictions", value_form="tensor")["output"], out)
    assert np.array_equal(out, b2 * 2)


def test_tensor_dtype_option(codecs):
    body = b'{"predictions":[{"a":"CAESBBICCAIiCAAAwD8AAMB_","b":"CAISAA"}]}'  # float32 [1.5, nan], float64 0.0
    got = decode(codecs, body, value_form="tensor", dtype={"a": "float32", "b": np.float64})
    assert got["a"].dtype == np.float32 and got["b"].dtype == np.float64 and got["b"].shape == (1,)
    assert decode(codecs, body, value_form="tensor", dtype={"a": np.float32})["b"].dtype == np.float64
    with pytest.raises(DecodeError, match=r"^JSON body: 'a': TensorProto: type mismatch: data is DT_FLOAT, expected DT_DOUBLE at offset 21$"):
        decode(codecs, body, value_form="tensor", dtype="float64")
    # a dtype given keeps the shape: float64 [1] per instance stacks to [N, 1]
    body = b'{"predictions":["CAISBBICCAEiCAAAAAAAANA_","CAISBBICCAEiCAAAAAAAANA_"]}'
    for dtype in (None, np.float64, {"output": "float64"}):
        assert_same(decode(codecs, body, value_form="tensor", dtype=dtype)["output"], np.array([[0.25], [0.25]]))


def test_number_dtype_option(codecs):
    body = b'{"predictions":[{"a":[1,2],"b":3,"c":0.5}]}'
    got = decode(codecs, body, dtype={"a": "uint8", "b": np.int64})
    assert got["a"].dtype == np.uint8 and got["b"].dtype == np.int64 and got["c"].dtype == np.float32
    assert_same(decode(codecs, body, dtype="float64")["c"], np.array([0.5]))
    with pytest.raises(DecodeError, match=r"^JSON body: 'c': not an integer: b'0.5' at offset 37$"):
        decode(codecs, body, dtype="int16")


# --------------------------------------------------------------------------------------------
# responses: errors and metadata


def test_error_responses(codecs):
    with pytest.raises(PredictionError) as info:
        decode(codecs, b'{"error": "Prediction failed: bad input"}')
    assert str(info.value) == info.value.message == "Prediction failed: bad input"
    assert info.value.error == "Prediction failed: bad input"
    google = {"code": 400, "message": "m", "status": "INVALID_ARGUMENT"}
    with pytest.raises(PredictionError) as info:
        decode(codecs, json.dumps({"error": google}))
    assert str(info.value) == "m" and info.value.error == google
    with pytest.raises(PredictionError, match=r'^\{"code": 500\}$'):
        decode(codecs, b'{"error":{"code":500}}')
    # the error wins over predictions, but only once the whole body is checked
    with pytest.raises(PredictionError, match="^x$"):
        decode(codecs, b'{"predictions":[1],"error":"x"}')
    with pytest.raises(DecodeError, match=r"^JSON body: expected ',' or ']' at offset 30$"):
        decode(codecs, b'{"error":"x","predictions":[1 2]}')  # (the 2 is at offset 30)
    # a request's "error" member is just another member
    assert canonical(decode(codecs, b'{"error":"x","instances":[1]}', key="instances")) == canonical(
        {"output": np.array([1], np.float32)}
    )


def test_error_member_holding_any_json_value(codecs):
    """Whatever JSON value the error holds, the outcome is a PredictionError (or DecodeError),
    never another exception (a 5000-digit integer is valid JSON)."""
    for value in (b"1" * 5000, b"1e999", b"[NaN]", b"null", b'{"message":7}'):
        with pytest.raises((PredictionError, DecodeError)):
            decode(codecs, b'{"error":' + value + b"}")


def test_metadata_members_are_ignored(codecs):
    body = json.dumps({
        "deployedModelId": "123", "model": "projects/1/locations/us/models/2", "modelVersionId": "1",
        "modelDisplayName": "m", "parameters": {"a": [1, {"b": None}], "c": True}, "predictions": [[1, 2]],
        "extra": [float("nan"), float("-inf"), "\u00e9\ud83d\ude00"],
    })
    assert_same(decode(codecs, body)["output"], np.array([[1, 2]], np.float32))
    assert decode(codecs, b'{"predictions":[],"deployedModelId":"1"}') == {}
    assert decode(codecs, b'{"predictions":[]}', value_form="tensor") == {}
    assert decode(codecs, b' { "instances" : [ ] } ', key="instances") == {}


def test_b64_only_object_is_a_value(codecs):
    """An object whose only key is ``b64`` is a binary value for tensors, a name for numbers."""
    got = decode(codecs, b'{"predictions":[{"b64":"CAESAA"}]}', value_form="tensor")
    assert list(got) == ["output"] and got["output"].shape == (1,)
    got = decode(codecs, b'{"predictions":[{"b64":[1]}]}')
    assert list(got) == ["b64"]


# --------------------------------------------------------------------------------------------
# malformed bodies: each a DecodeError naming the problem and where


def nest(depth, leaf=b"1"):
    return b"[" * depth + leaf + b"]" * depth


P = b'{"predictions":'
T1 = b'"CAESBBICCAIiCAAAwD8AAMB_"'  # float32 [1.5, nan]
T2 = b'"CAESAA"'  # float32 scalar
T3 = b'"CAISBBICCAIiEAAAAAAAAPg_AAAAAAAA-H8"'  # float64 [1.5, nan]

# (id, body, decode kwargs, the exact message)
MALFORMED = [
    # shapes
    ("ragged", P + b"[[1,2],[3]]}", {}, "'output': ragged lists: length 1 where 2 was at offset 24"),
    ("ragged-inner", P + b"[[[1],[2,3]]]}", {}, "'output': ragged lists: length 2 where 1 was at offset 25"),
    ("ragged-across-instances", P + b"[[1,2],[3,4,5]]}", {}, "'output': ragged lists: length 3 where 2 was at offset 28"),
    ("ragged-empty-first", P + b"[[],[1]]}", {}, "'output': ragged lists: length 1 where 0 was at offset 21"),
    ("number-where-list", P + b"[[1,2],3]}", {}, "'output': a number where a list of depth 1 belongs at offset 22"),
    ("list-where-number", P + b"[1,[2]]}", {}, "'output': a list where a number belongs (depth 0) at offset 18"),
    ("named-wrong-depth", P + b'[{"a":[1]},{"a":[[1]]}]}', {}, "'a': a list where a number belongs (depth 1) at offset 32"),
    # numbers in strings
    ("string-abc", P + b'["abc"]}', {}, "'output': not a number: b'abc' at offset 16"),
    ("string-1.5x", P + b'["1.5x"]}', {}, "'output': not a number: b'1.5x' at offset 16"),
    ("string-space-1", P + b'[" 1"]}', {}, "'output': not a number: b' 1' at offset 16"),
    ("string-0x10", P + b'["0x10"]}', {}, "'output': not a number: b'0x10' at offset 16"),
    ("string-empty", P + b'[""]}', {}, "'output': not a number: b'' at offset 16"),
    ("string-01", P + b'["01"]}', {}, "'output': not a number: b'01' at offset 16"),
    ("string-nan-lower", P + b'["nan"]}', {}, "'output': not a number: b'nan' at offset 16"),
    ("string-true-float", P + b'["true"]}', {}, "'output': not a number: b'true' at offset 16"),
    ("string-fullwidth", P + '["１"]}'.encode(), {}, "'output': not a number: b'\\xef\\xbc\\x91' at offset 16"),
    # numbers JSON refuses
    ("leading-zero", P + b"[01]}", {}, "expected ',' or ']' at offset 17"),
    ("plus", P + b"[+1]}", {}, "'output': expected a number at offset 16"),
    ("dot-5", P + b"[.5]}", {}, "'output': expected a number at offset 16"),
    ("1-dot", P + b"[1.]}", {}, "expected ',' or ']' at offset 17"),
    ("minus-only", P + b"[-]}", {}, "'output': expected a number at offset 16"),
    ("exp-no-digits", P + b"[1e]}", {}, "expected ',' or ']' at offset 17"),
    ("hex", P + b"[0x10]}", {}, "expected ',' or ']' at offset 17"),
    ("nan-lower", P + b"[nan]}", {}, "'output': expected a number at offset 16"),
    ("long-number", P + b"[" + b"1" * 1200 + b"]}", {}, "'output': number text longer than 1100 characters at offset 16"),
    ("true-for-float", P + b"[true]}", {}, "'output': not a number: b'true' at offset 16"),
    ("number-for-bool", P + b"[1]}", {"dtype": "bool"}, "'output': not a bool: b'1' at offset 16"),
    # integer dtypes
    ("int-out-of-range", P + b"[256]}", {"dtype": "uint8"}, "'output': integer 256 out of range for uint8 at offset 16"),
    ("int-negative-unsigned", P + b"[-1]}", {"dtype": "uint64"}, "'output': integer -1 out of range for uint64 at offset 16"),
    ("int64-overflow", P + b"[9223372036854775808]}", {"dtype": "int64"}, "'output': integer 9223372036854775808 out of range for int64 at offset 16"),
    ("int-fraction", P + b"[1.5]}", {"dtype": "int32"}, "'output': not an integer: b'1.5' at offset 16"),
    ("int-integral-fraction", P + b"[3.0]}", {"dtype": "int8"}, "'output': not an integer: b'3.0' at offset 16"),
    ("int-exponent", P + b'["1e3"]}', {"dtype": "int16"}, "'output': not an integer: b'1e3' at offset 16"),
    ("int-nan", P + b"[NaN]}", {"dtype": "int32"}, "'output': not an integer: b'NaN' at offset 16"),
    # non-finite policies
    ("null-token-policy", P + b"[null]}", {}, "'output': null is not a number (nonfinite='token', float32) at offset 16"),
    ("null-int", P + b"[null]}", {"dtype": "int8", "nonfinite": "null"}, "'output': null is not a number (nonfinite='null', int8) at offset 16"),
    ("nan-error-policy", P + b"[1,NaN]}", {"nonfinite": "error"}, "'output': non-finite NaN refused (nonfinite='error') at offset 18"),
    ("inf-string-error-policy", P + b'["-Infinity"]}', {"nonfinite": "error"}, "'output': non-finite -Infinity refused (nonfinite='error') at offset 16"),
    # envelope
    ("not-an-object", b"[1]", {}, "expected '{' (a JSON object) at offset 0"),
    ("empty", b"", {}, "expected '{' (a JSON object) at offset 0"),
    ("whitespace-only", b" \n", {}, "expected '{' (a JSON object) at offset 2"),
    ("trailing-garbage", P + b"[1]}x", {}, "trailing data after the JSON object at offset 19"),
    ("trailing-object", P + b"[1]} {}", {}, "trailing data after the JSON object at offset 20"),
    ("trailing-nul", P + b"[1]}\x00", {}, "trailing data after the JSON object at offset 19"),
    ("missing-predictions", b'{"deployedModelId":"1"}', {}, "no 'predictions' member"),
    ("empty-object", b"{}", {}, "no 'predictions' member"),
    ("request-key-in-response", b'{"instances":[1]}', {}, "no 'predictions' member"),
    ("duplicate-predictions", P + b'[1],"predictions":[1]}', {}, "duplicate 'predictions' member at offset 19"),
    ("duplicate-error", b'{"error":"a","error":"b"}', {}, "duplicate 'error' member at offset 13"),
    ("predictions-not-array", P + b'{"a":1}}', {}, "expected an array for 'predictions' at offset 15"),
    ("trailing-comma-array", P + b"[1,]}", {}, "'output': expected a number at offset 18"),
    ("trailing-comma-object", P + b"[1],}", {}, "expected a string at offset 19"),
    ("missing-colon", b'{"predictions"[1]}', {}, "expected ':' at offset 14"),
    ("unquoted-key", b"{predictions:[1]}", {}, "expected a string at offset 1"),
    ("single-quotes", b"{'predictions':[1]}", {}, "expected a string at offset 1"),
    ("bad-skipped-value", P + b'[1],"x":tru}', {}, "expected a JSON value at offset 23"),
    # instances
    ("bare-after-named", P + b'[{"a":1},2]}', {}, "instance 1 is bare, instance 0 was not at offset 24"),
    ("named-after-bare", P + b'[1,{"a":1}]}', {}, "instance 1 is named, instance 0 was not at offset 18"),
    ("different-names", P + b'[{"a":1},{"b":2}]}', {}, "instance 1: name 'b' is not in instance 0 at offset 25"),
    ("missing-name", P + b'[{"a":1,"b":2},{"a":1}]}', {}, "instance 1: no value for 'b' at offset 36"),
    ("duplicate-name", P + b'[{"a":1,"a":2}]}', {}, "instance 0: duplicate name 'a' at offset 23"),
    ("no-inputs", P + b"[{}]}", {}, "instance 0 has no inputs at offset 17"),
    # tensors
    ("number-for-base64", P + b"[1]}", {"value_form": "tensor"}, "'output': expected a base64 string at offset 16"),
    ("list-for-base64", P + b'[{"a":["CAESAA"]}]}', {"value_form": "tensor"}, "'a': expected a base64 string at offset 21"),
    ("invalid-base64", P + b'["CA@SAA"]}', {"value_form": "tensor"}, "'output': base64: invalid character 0x40 at offset 19"),
    ("invalid-base64-after-escapes", P + b'["C\\/\\u0041@SAA"]}', {"value_form": "tensor"}, "'output': base64: invalid character 0x40 at offset 26"),
    ("invalid-base64-in-b64-object", P + b'[{"b64":"CAE.AA"}]}', {"value_form": "tensor"}, "'output': base64: invalid character 0x2e at offset 27"),
    ("mixed-alphabets", P + b'["CAESBBICCAIiCAAAwD8AAMB_+"]}', {"value_form": "tensor"}, "'output': base64: mixed alphabets: '+' at offset 41"),
    ("not-a-tensorproto", P + b'["____"]}', {"value_form": "tensor"}, re.compile(r"'output': TensorProto: .* at offset 16")),
    ("tensor-shape-differs", P + b"[" + T1 + b"," + T2 + b"]}", {"value_form": "tensor"}, "'output': tensor float32[] differs from the first instance's float32[2] at offset 43"),
    ("tensor-dtype-differs", P + b"[" + T1 + b"," + T3 + b"]}", {"value_form": "tensor"}, "'output': tensor float64[2] differs from the first instance's float32[2] at offset 43"),
    ("tensor-dtype-option", P + b"[" + T1 + b"]}", {"value_form": "tensor", "dtype": "float64"}, "'output': TensorProto: type mismatch: data is DT_FLOAT, expected DT_DOUBLE at offset 16"),
    ("b64-object-extra-key", P + b'[{"a":{"b64":"CAESAA","c":1}}]}', {"value_form": "tensor"}, "'a': expected a base64 string at offset 21"),
    ("b64-object-not-string", P + b'[{"b64":1}]}', {"value_form": "tensor"}, "'b64': expected a base64 string at offset 23"),
    # strings
    ("control-char", P + b'["a\x01"]}', {}, "invalid string at offset 18"),
    ("raw-newline", P + b'["\n"]}', {}, "invalid string at offset 17"),
    ("raw-tab-in-key", b'{"predi\tctions":[1]}', {}, "invalid string at offset 7"),
    ("bad-escape", P + b'["\\x"]}', {}, "invalid string at offset 17"),
    ("short-u-escape", P + b'["\\u12"]}', {}, "invalid string at offset 17"),
    ("lone-high-surrogate", P + b'["\\ud800"]}', {}, "lone surrogate escape at offset 17"),
    ("lone-low-surrogate", P + b'["\\udc00"]}', {}, "lone surrogate escape at offset 17"),
    ("high-then-non-low", P + b'["\\ud800\\u0041"]}', {}, "lone surrogate escape at offset 17"),
    ("high-then-high", P + b'["\\ud800\\ud800"]}', {}, "lone surrogate escape at offset 17"),
    ("lone-surrogate-in-name", P + b'[{"\\udfff":1}]}', {}, "lone surrogate escape at offset 18"),
    ("lone-surrogate-in-skipped", b'{"x":"\\ud800",' + P[1:] + b"[1]}", {}, "lone surrogate escape at offset 6"),
    # UTF-8 (checked first, whole)
    ("utf8-0xff", P + b'["\xff"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-overlong-nul", P + b'["\xc0\x80"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-overlong-slash", P + b'["\xe0\x80\xaf"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-truncated", P + b'["\xe2\x82"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-truncated-at-end", P + b'[1]}\xf0\x9f\x98', {}, "invalid UTF-8 at offset 19"),
    ("utf8-surrogate", P + b'["\xed\xa0\x80"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-above-max", P + b'["\xf4\x90\x80\x80"]}', {}, "invalid UTF-8 at offset 17"),
    ("utf8-before-syntax-error", b'{x"\xff"}', {}, "invalid UTF-8 at offset 3"),
    ("str-lone-surrogate", '{"predictions":["\ud800"]}', {}, "lone surrogate at character 17"),
    # depth
    ("deeper-than-64", P + b"[" + nest(63) + b"]}", {}, "nesting deeper than 64 at offset 78"),
    ("deeper-than-64-named", P + b'[{"a":' + nest(62) + b"}]}", {}, "nesting deeper than 64 at offset 82"),
    ("deeper-than-64-skipped", b'{"x":' + nest(64, b"") + b"}", {}, "nesting deeper than 64 at offset 68"),
    ("deeper-than-5", P + b"[" + nest(4) + b"]}", {"max_depth": 5}, "nesting deeper than 5 at offset 19"),
    ("deeper-than-2", P + b"[[1]]}", {"max_depth": 2}, "nesting deeper than 2 at offset 16"),
    ("deeper-than-2-skipped", P + b'[],"x":[[]]}', {"max_depth": 2}, "nesting deeper than 2 at offset 23"),
    ("very-deep", P + b"[" + b"[" * 100_000, {}, "nesting deeper than 64 at offset 78"),
]


def expected_message(want):
    return want if isinstance(want, re.Pattern) else J + want


@pytest.mark.parametrize("body, kw, want", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed(codecs, body, kw, want):
    kw = dict(kw)
    value_form = kw.pop("value_form", "number")
    with pytest.raises(DecodeError) as info:
        decode(codecs, body, value_form=value_form, **kw)
    assert isinstance(info.value, ValueError)
    if isinstance(want, re.Pattern):
        assert re.fullmatch(J + want.pattern, str(info.value)), str(info.value)
    else:
        assert str(info.value) == J + want


def test_depth_limits_are_inclusive(codecs):
    """The envelope is depth 1, the instances array 2: a bare instance may nest 62 lists under
    the default 64, a named one 61, a skipped member 63."""
    assert decode(codecs, P + b"[" + nest(62) + b"]}")["output"].shape == (1,) * 63
    assert decode(codecs, P + b'[{"a":' + nest(61) + b"}]}")["a"].shape == (1,) * 62
    assert decode(codecs, b'{"x":' + nest(63, b"") + b',"predictions":[]}') == {}
    assert decode(codecs, P + b"[" + nest(3) + b"]}", max_depth=5)["output"].shape == (1, 1, 1, 1)
    assert decode(codecs, P + b"[1]}", max_depth=2)["output"].shape == (1,)


def test_deep_nesting_under_a_raised_max_depth(codecs):
    """A caller may raise max_depth (up to 512); nesting numpy cannot hold (more than 64
    dimensions) is still a DecodeError, never a bare numpy ValueError or a RecursionError."""
    with pytest.raises(DecodeError):
        decode(codecs, P + b"[" + nest(70) + b"]}", max_depth=100)
    with pytest.raises(DecodeError):
        decode(codecs, P + b"[" + nest(509) + b"]}", max_depth=512)
    with pytest.raises(DecodeError, match="more than 64 dimensions with the instance axis at offset 79$"):
        decode(codecs, P + b"[" + nest(600) + b"]}", max_depth=512)
    with pytest.raises(DecodeError, match="nesting deeper than 512"):
        decode(codecs, b'{"x":' + nest(600, b"") + b',"predictions":[]}', max_depth=512)
    assert decode(codecs, b'{"x":' + nest(510, b"") + b',"predictions":[]}', max_depth=512) == {}


def test_argument_errors(codecs):
    with pytest.raises(ValueError, match=r"^key must be one of"):
        decode(codecs, P + b"[1]}", key="outputs")
    with pytest.raises(ValueError, match=r"^value_form must be one of \('tensor', 'number', 'json'\), not 'string'$"):
        decode(codecs, P + b"[1]}", value_form="string")
    with pytest.raises(ValueError, match=r"^nonfinite must be one of"):
        decode(codecs, P + b"[1]}", nonfinite="zero")
    with pytest.raises(TypeError, match=r"^unsupported dtype for JSON numbers: complex64"):
        decode(codecs, P + b"[1]}", dtype="complex64")
    for bad in (1, 513, "64", 64.0, None):
        with pytest.raises(ValueError, match=r"^max_depth must be an int from 2 to 512, not ") as info:
            decode(codecs, P + b"[1]}", max_depth=bad)
        assert not isinstance(info.value, DecodeError)


# (body, decode kwargs): valid bodies, none ending in whitespace, so that every strict prefix is
# unterminated somewhere.
VALID_BODIES = [
    (P + b'[[1.5,-0.0,NaN],[2,"3",-Infinity]],"deployedModelId":"12"}', {}),
    (b' { "predictions" : [ { "B1" : [ 1 , 2 ] , "\\u00e9\\ud83d\\ude00" : true } ] }',
     {"dtype": {"B1": "uint16", "\u00e9\U0001f600": "bool"}}),
    (P + b'[{"a":"CAESBBICCAIiCAAAwD8AAMB_","b":{"b64":"CAESAA=="}}]}', {"value_form": "tensor"}),
    (b'{"x":{"y":[null,"s\\"\\n\xc3\xa9",1e5,{}]},' + P[1:] + b'[["1e5"],[1E-5],[null]]}', {"nonfinite": "null"}),
    ('{"predictions":[{"\u00e9\U0001f600":[[1]]}]}'.encode(), {"dtype": "int8"}),
    (b'{"predictions":[],"error":{"code":400,"message":"m"}}', {}),
]


def test_every_truncation_is_an_error(codecs):
    """Every strict prefix of a valid body is unterminated somewhere: a DecodeError."""
    for body, kw in VALID_BODIES:
        kw = {"value_form": "number", **kw}
        outcome(decode, codecs, body, errors=(PredictionError,), **kw)  # the whole body is valid
        for cut in range(len(body)):
            with pytest.raises(DecodeError):
                decode(codecs, body[:cut], **kw)


@CORRUPTION
@given(S.mutated_json_bodies(), st.sampled_from(["number", "tensor"]), st.sampled_from([None, "float64", "int64", "bool"]))
def test_mutated_bodies_decode_or_fail_cleanly(codecs, body, value_form, dtype):
    result = outcome(decode, codecs, body, value_form=value_form, dtype=None if value_form == "tensor" else dtype, nonfinite="null")
    if result[0] == "error":
        assert result[2].startswith(J)


# --------------------------------------------------------------------------------------------
# the backends crossed: same bytes, same arrays, same errors


@pytest.mark.native
@PROPERTY
@given(
    S.json_batches(),
    st.sampled_from(WRITE_VALUE_FORMS),
    st.sampled_from(["token", "null", "error"]),
    st.sampled_from(KEYS),
    st.sampled_from(["shortest", "tolist"]),
    st.booleans(),
    st.booleans(),
)
def test_backends_encode_identically(both, batch, value_form, nonfinite, key, float_format, urlsafe, pad):
    ref, twin = both
    columns, bare = batch
    kw = dict(bare=bare, value_form=value_form, nonfinite=nonfinite, float_format=float_format, urlsafe=urlsafe, pad=pad)
    a = outcome(ref.jsonbody.encode_body, key, columns, errors=ANY_ERROR, **kw)
    b = outcome(twin.jsonbody.encode_body, key, columns, errors=ANY_ERROR, **kw)
    assert a == b
    if a[0] == "ok":  # and each reads what the reference wrote alike
        dtype = None if value_form == "tensor" else dtype_option(columns, bare)
        kw = dict(value_form=read_form(value_form), dtype=dtype, nonfinite=nonfinite)
        assert outcome(ref.jsonbody.decode_body, a[1], key, **kw) == outcome(twin.jsonbody.decode_body, a[1], key, **kw)


@pytest.mark.native
def test_backends_refuse_encoding_identically(both):
    a = np.zeros((1, 2), np.float32)
    cases = [
        ([("\ud800", a)], dict(bare=False, value_form="number")),
        ([(1, a)], dict(bare=False, value_form="number")),
        ([("a", a)], dict(bare=False, value_form="raw")),
        ([("a", a)], dict(bare=False, value_form="number", nonfinite="zero")),
        ([("a", a)], dict(bare=False, value_form="number", float_format="repr")),
        ([("a", a.astype(np.complex64))], dict(bare=False, value_form="number")),
        ([("a", np.array([[0.0, -np.inf]], np.float16))], dict(bare=False, value_form="string", nonfinite="error")),
    ]
    for columns, kw in cases:
        ref, twin = (outcome(b.jsonbody.encode_body, "instances", columns, errors=ANY_ERROR, **kw) for b in both)
        assert ref[0] == "error" and ref == twin


@pytest.mark.native
@pytest.mark.parametrize("body, kw", [c[1:3] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_backends_refuse_malformed_identically(both, body, kw):
    kw = dict(kw)
    kw.setdefault("value_form", "number")
    ref, twin = (outcome(b.jsonbody.decode_body, body, "predictions", errors=ANY_ERROR, **kw) for b in both)
    assert ref[0] == "error" and ref == twin


@pytest.mark.native
def test_backends_agree_on_responses_and_truncations(both):
    bodies = [b'{"error":"boom"}', b'{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT"}}',
              b'{"error":' + b"1" * 5000 + b"}", b'{"predictions":[],"model":"m"}']
    for body in bodies:
        ref, twin = (outcome(b.jsonbody.decode_body, body, "predictions", value_form="number", errors=ANY_ERROR) for b in both)
        assert ref == twin
        if ref[0] == "error" and ref[1] is PredictionError:
            errors = []
            for b in both:
                with pytest.raises(PredictionError) as info:
                    b.jsonbody.decode_body(body, "predictions", value_form="number")
                errors.append((info.value.message, info.value.error))
            assert errors[0] == errors[1]
    for body, kw in VALID_BODIES:
        kw = {"value_form": "number", **kw}
        for cut in range(len(body) + 1):
            ref, twin = (outcome(b.jsonbody.decode_body, body[:cut], "predictions", errors=ANY_ERROR, **kw) for b in both)
            assert ref == twin and (ref[0] == "error") == (cut < len(body) or b'"error"' in body)


@pytest.mark.native
@CORRUPTION
@given(
    S.mutated_json_bodies(),
    st.sampled_from(["number", "tensor"]),
    st.sampled_from([None, "float64", "float16", "uint8", "bool"]),
    st.sampled_from(["token", "null", "error"]),
    st.sampled_from([64, 4]),
)
def test_mutated_bodies_alike(both, body, value_form, dtype, nonfinite, max_depth):
    ref, twin = both
    kw = dict(value_form=value_form, dtype=None if value_form == "tensor" else dtype, nonfinite=nonfinite, max_depth=max_depth)
    assert outcome(ref.jsonbody.decode_body, body, "predictions", **kw) == outcome(twin.jsonbody.decode_body, body, "predictions", **kw)


@pytest.mark.native
@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", ">i8", "<f2", "?", "u1", "<u8", "<c8", ">c16", "O", "S3"])
@pytest.mark.parametrize("shape", [(3,), (2, 0, 3), (2, 1), (1, 5, 7, 3), (4, 2, 2)])
@pytest.mark.parametrize("urlsafe, pad", [(True, True), (True, False), (False, True), (False, False)])
def test_tensor_bodies_written_from_the_buffer_equal_the_reference(both, dtype, shape, urlsafe, pad):
    """The twin writes numeric SERIALIZED_TF_TENSORS values straight from the array buffer (header,
    then base64 across the header/content seam); strings take the generic route. Same bytes."""
    ref, twin = both
    rng = np.random.default_rng(len(shape) * 7 + len(dtype))
    if dtype in ("O", "S3"):
        a = np.array([b"ab", b"", b"xyz"] * (int(np.prod(shape)) // 3 + 1), dtype=dtype)[: int(np.prod(shape))].reshape(shape)
    else:
        a = (rng.standard_normal(shape) * 100).astype(dtype)
    for bare, columns in ((True, [(None, a)]), (False, [("x", a), ("y", a[:, ...].copy())])):
        kw = dict(bare=bare, value_form="tensor", urlsafe=urlsafe, pad=pad)
        assert twin.jsonbody.encode_body("instances", columns, **kw) == ref.jsonbody.encode_body("instances", columns, **kw)


@pytest.mark.native
def test_earth_engine_bands_as_many_tensor_inputs_equal_the_reference(both):
    """A request of many single-band inputs, the way Earth Engine names them, each column on its
    own route: contiguous, a strided view of one tile, big-endian, float16, float64 and a string
    column (which sends the whole body down the generic route).  Same bytes, and TensorFlow
    reads every value back."""
    ref, twin = both
    rng = np.random.default_rng(12)
    tile = rng.standard_normal((2, 8, 8, 12)).astype(np.float32)
    bands = [(f"B{i + 1}", tile[..., i : i + 1]) for i in range(12)]  # views, not contiguous
    extra = [("C", np.ascontiguousarray(tile[..., :1])), ("BE", tile[..., 1:2].astype(">f4")),
             ("H", tile[..., 2:3].astype(np.float16)), ("D", tile[..., 3:4].astype(np.float64))]
    strings = [("S", np.array([b"a", b"bc"], dtype=object))]
    for columns in (bands, bands + extra, bands + extra + strings):
        for urlsafe, pad in ((True, True), (False, False)):
            kw = dict(bare=False, value_form="tensor", urlsafe=urlsafe, pad=pad)
            body = twin.jsonbody.encode_body("instances", columns, **kw)
            assert body == ref.jsonbody.encode_body("instances", columns, **kw)
    body = twin.jsonbody.encode_body("instances", bands + extra, bare=False, value_form="tensor")  # URL-safe, padded
    for i, inst in enumerate(json.loads(body)["instances"]):
        for name, arr in bands + extra:
            got = tf.io.parse_tensor(tf.io.decode_base64(inst[name]), tf.as_dtype(arr.dtype.newbyteorder("="))).numpy()
            assert got.shape == arr[i].shape and np.array_equal(got, arr[i])


@pytest.mark.native
def test_every_printable_ascii_name_is_written_as_json_dumps_writes_it(both):
    """The twin writes a name of printable ASCII other than a quote or backslash as it is; the
    rest (and every other name) as json.dumps does: the same text as the reference, each value form."""
    ref, twin = both
    names = [chr(c) for c in range(0x20, 0x7F)] + ["\x7f", "\x1f", "B1\n", "é", "a\\b", 'a"b', ""]
    columns = [(name, np.full((2, 1), i, np.float32)) for i, name in enumerate(names)]
    for value_form in WRITE_VALUE_FORMS:
        body = twin.jsonbody.encode_body("instances", columns, bare=False, value_form=value_form)
        assert body == ref.jsonbody.encode_body("instances", columns, bare=False, value_form=value_form)
        assert list(json.loads(body)["instances"][0]) == names


@pytest.mark.native
def test_tensor_columns_with_fewer_instances_fail_as_the_reference(both):
    """The number of instances is the first column's; a later column with fewer must not be
    read past its end (the twin did, for numeric tensors): both raise numpy's IndexError."""
    a, short = np.zeros((3, 4), np.float32), np.ones((1, 4), np.float32)
    for columns in ([("a", a), ("b", short)], [("a", a), ("b", short.astype(np.float64))]):
        errors = []
        for b in both:
            with pytest.raises(IndexError) as info:
                b.jsonbody.encode_body("instances", columns, bare=False, value_form="tensor")
            errors.append(str(info.value))
        assert errors[0] == errors[1] == "index 1 is out of bounds for axis 0 with size 1"


def test_string_tensor_values_keep_trailing_nul_bytes(codecs):
    """a[i] of a 1-D object array is the element itself, which numpy would turn into an S scalar
    that drops trailing NULs; each instance is taken as a 0-d array instead."""
    a = np.array([b"a\x00", b"\x00", b""], dtype=object)
    body = codecs.jsonbody.encode_body("instances", [("s", a)], bare=False, value_form="tensor")
    back = codecs.jsonbody.decode_body(body, "instances", value_form="tensor")["s"]
    assert list(back) == [b"a\x00", b"\x00", b""]


@pytest.mark.native
def test_string_scanning_finds_quotes_escapes_and_control_bytes_at_every_offset(both):
    """The twin skips plain string text 16 and 8 bytes at a time: a quote, backslash escape or
    control byte at any offset of a long string, and after any run of plain bytes, is seen."""
    text = base64.urlsafe_b64encode(bytes(range(256)) * 2).decode()
    bodies = []
    for k in range(0, 72):
        plain = text[:k]
        bodies += [
            f'{{"predictions": ["{plain}"]}}'.encode(),  # the closing quote right after k plain bytes
            f'{{"predictions": ["{plain}\\u0041"]}}'.encode(),  # an escape there
            f'{{"predictions": ["{plain}\x1f{text}"]}}'.encode(),  # a raw control byte there
            f'{{"predictions": ["{plain}\\"{text}"]}}'.encode(),  # an escaped quote there
        ]
    for body in bodies:
        for value_form in ("tensor", "number"):
            ref, twin = (outcome(b.jsonbody.decode_body, body, "predictions", value_form=value_form, errors=ANY_ERROR)
                         for b in both)
            assert ref == twin, body
    want = np.arange(60, dtype=np.float32).reshape(3, 4, 5) * 1.5
    tensor_text = base64.b64encode(both[0].tensor.encode_tensor(want)).decode()
    for k in range(0, 72):  # the same text with its character k written as a \u escape
        text = tensor_text[:k] + "\\u%04x" % ord(tensor_text[k]) + tensor_text[k + 1:]
        body = f'{{"predictions": ["{text}"]}}'.encode()
        for b in both:
            np.testing.assert_array_equal(b.jsonbody.decode_body(body, "predictions", value_form="tensor")["output"][0], want)


# --------------------------------------------------------------------------------------------
# refusing costs what accepting does (issue 10 item 2): the twin words an error with the
# reference's checks at the one place it stopped, never a second parse of the body


def _big_refusals():
    """(body, kwargs): large bodies (about 10,000 values) refused at, or near, their end."""
    row = b"[" + b",".join(b"1.25" for _ in range(40)) + b"]"
    rows = b",".join([row] * 250)
    named = b",".join([b'{"a":' + row + b',"b":[1,2]}'] * 250)
    t1 = T1.strip(b'"')
    tensors = b",".join([T1] * 500)
    intact = P + b"[" + rows + b"]}"
    return [
        (intact[:-1], {}),  # cut at the last byte
        (P + b"[" + rows + b",[1.25]]}", {}),  # ragged at the end
        (P + b"[" + rows + b"]}x", {}),  # trailing data
        (P + b"[" + rows + b',"x":tru}', {}),  # a bad member after the data
        (P + b"[" + rows + b'],"x":[' + rows + b",1.2.3]}", {}),  # a bad number in a skipped member
        (P + b"[" + rows[:-1] + b"1.2.3]]}", {}),  # a number the reference ends sooner
        (P + b"[" + rows[:-1] + b'"1.5x"]]}', {}),  # not a number
        (P + b"[" + rows[:-1] + b'"\\ud800"]]}', {}),  # a lone surrogate escape
        (P + b"[" + rows[:-1] + b"255]]}", {"dtype": "int8"}),  # out of range
        (P + b"[" + named + b',{"a":' + row + b"}]}", {}),  # a missing name in the last instance
        (P + b"[" + named + b',{"a":' + row + b',"c":[1,2]}]}', {}),  # a name not in instance 0
        (P + b"[" + rows + b'],"error":"boom"}', {}),  # an error member after the data
        (P + b"[" + tensors + b',"' + t1[:5] + b"." + t1[6:] + b'"]}', {"value_form": "tensor"}),  # bad base64
        (P + b"[" + tensors + b',"' + T2.strip(b'"') + b'"]}', {"value_form": "tensor"}),  # a tensor of another shape
        (P + b"[" + tensors + b"," + T1[:-1] + b"]}", {"value_form": "tensor"}),  # an unterminated string
    ]


@pytest.mark.native
def test_refusing_a_large_body_reads_only_the_failing_place(both, monkeypatch):
    """Counted, not timed: the twin refuses each body (about 10,000 values, the problem at the
    end) with a handful of calls into the shared reader (``rules.jsonbody.Reader``), and the same
    exception.  A second parse in Python, as the twin did before, makes a call per value (over
    10,000)."""
    ref, twin = both
    module = ref.jsonbody
    reader = jsonbody_rules.Reader
    calls = []
    for cases in _big_refusals():
        body, kw = cases
        kw = {"value_form": "number", **kw}
        want = outcome(module.decode_body, body, "predictions", errors=ANY_ERROR, **kw)
        assert want[0] == "error", body[-40:]
        with monkeypatch.context() as m:
            for name, method in list(vars(reader).items()):
                if callable(method):
                    m.setattr(reader, name, _counted(method, calls))
            m.setattr(module, "decode_body", _counted(module.decode_body, calls))
            del calls[:]
            got = outcome(twin.jsonbody.decode_body, body, "predictions", errors=ANY_ERROR, **kw)
        assert got == want
        assert len(calls) <= 20, (want, len(calls), sorted(set(calls)))


def _counted(func, calls):
    def counting(*args, **kw):
        calls.append(func.__name__)
        return func(*args, **kw)

    return counting
