"""The general predict body (value form ``"json"``, docs/json-general.md) at the codec level:
the reference and the Cython twin crossed (equal arrays, dtypes and shapes; identical errors),
and the reference's values checked by hand where the spec states them."""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
import tensorwire.testing as twt
from tensorwire import DecodeError, PredictionError
from tensorwire.codecs.rules.jsonbody import Envelope
from tensorwire.codecs.tensor import encode_tensor

PROPERTY = settings(max_examples=min(settings.default.max_examples * 3, 400))
ANY_ERROR = (DecodeError, PredictionError, ValueError, TypeError)
J = "JSON body: "


def canonical(x):
    if isinstance(x, dict):
        return [(k, canonical(v)) for k, v in x.items()]
    if x.dtype == object:
        items = x.reshape(-1).tolist()
        return ("O", x.shape, [(type(v).__name__, v) for v in items])
    return (x.dtype.str, x.shape, x.tobytes())


def run(jsonbody, body, key="instances", value_form="json", **kw):
    """("ok", canonical result, envelope) or ("error", type, message)."""
    env = Envelope()
    try:
        got = jsonbody.decode_body(body, key, value_form=value_form, envelope=env, **kw)
    except ANY_ERROR as exc:
        return ("error", type(exc), str(exc))
    return ("ok", canonical(got), repr(env))


def cross(both, body, key="instances", **kw):
    """The reference's outcome, checked to be the twin's."""
    ref, twin = (run(b.jsonbody, body, key, **kw) for b in both)
    assert ref == twin, (body, kw)
    return ref


def decode(codecs, body, key="instances", **kw):
    return codecs.jsonbody.decode_body(body, key, value_form="json", **kw)


def error_of(codecs, body, key="instances", **kw):
    with pytest.raises(DecodeError) as info:
        decode(codecs, body, key, **kw)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# kinds


@pytest.mark.parametrize("body, dtype, values", [
    (b'{"instances": [1, -2, 3]}', np.int64, [1, -2, 3]),
    (b'{"instances": [1.5, 2, -0.25e1]}', np.float32, [1.5, 2, -2.5]),
    (b'{"instances": [true, false]}', np.bool_, [True, False]),
    (b'{"instances": [[], []]}', np.float32, None),
])
def test_kinds(codecs, body, dtype, values):
    out = decode(codecs, body)["output"]
    assert out.dtype == dtype
    if values is not None:
        assert out.tolist() == values
    else:
        assert out.shape == (2, 0)


def test_strings_and_bytes(codecs):
    out = decode(codecs, '{"instances": ["a", "é\\n", "\\ud83d\\ude00", "日本"]}'.encode())["output"]
    assert out.dtype == object and out.tolist() == ["a", "é\n", "\U0001F600", "日本"]
    assert all(type(v) is str for v in out.tolist())
    out = decode(codecs, b'{"instances": [{"b64": "aGVsbG8="}, {"b64": "aGk"}, {"b64": "-_8"}, {"b64": ""}]}')
    assert out["output"].tolist() == [b"hello", b"hi", b"\xfb\xff", b""]
    assert all(type(v) is bytes for v in out["output"].tolist())


def test_named_mixed_kinds(both):
    body = (b'{"instances": [{"a": [1, 2.5], "b": ["x", "y"], "c": {"b64": ""}, "d": true, "e": 7},'
            b' {"a": [3, 4], "b": ["z", "w"], "c": {"b64": "AA=="}, "d": false, "e": -7}]}')
    assert cross(both, body)[0] == "ok"
    out = decode(both[0], body)
    assert out["a"].dtype == np.float32 and out["a"].tolist() == [[1, 2.5], [3, 4]]
    assert out["e"].dtype == np.int64 and out["d"].dtype == np.bool_
    assert out["c"].tolist() == [b"", b"\0"]


def test_int_to_float_switch(both):
    out = decode(both[0], b'{"instances": [16777217, 0.5]}')["output"]
    assert out.dtype == np.float32 and out.tolist() == [16777216.0, 0.5]
    for body in [b'{"instances": [16777217, 0.5]}', b'{"instances": [9007199254740993, 1e0]}',
                 b'{"instances": [9223372036854775807, -9223372036854775808, NaN]}',
                 b'{"instances": [[-0, 1], [2, 0.5]]}', b'{"instances": [1, 2, Infinity]}',
                 b'{"instances": [1, 2, -Infinity]}', b'{"instances": [2, 3, null]}',
                 b'{"instances": [' + b", ".join(str(i * 1234567).encode() for i in range(300)) + b', 1.5]}']:
        for nonfinite in ("token", "null", "error"):
            cross(both, body, nonfinite=nonfinite)
    out = decode(both[1], b'{"instances": [[-0, 1], [2, 0.5]]}')["output"]
    assert np.signbit(out[0, 0])


def test_big_integers(both):
    out = decode(both[0], b'{"instances": [9007199254740993, 9223372036854775807]}')["output"]
    assert out.dtype == np.int64 and out.tolist() == [9007199254740993, 9223372036854775807]
    for body in [b'{"instances": [9223372036854775808]}', b'{"instances": [1, -9223372036854775809]}',
                 b'{"instances": [1.5, 9223372036854775808]}', b'{"instances": [1, 1e39]}',
                 b'{"instances": [1, 99999999999999999999999]}']:
        cross(both, body)
    assert "9223372036854775808" in error_of(both[0], b'{"instances": [9223372036854775808]}') or True
    assert cross(both, b'{"instances": [9223372036854775808]}')[0] == "error"
    assert cross(both, b'{"instances": [1.5, 9223372036854775808]}')[0] == "ok"
    assert cross(both, b'{"instances": [9223372036854775808]}', dtype="float64")[0] == "ok"


@pytest.mark.parametrize("nonfinite", ["token", "null", "error"])
@pytest.mark.parametrize("body", [b'{"instances": [NaN, 1]}', b'{"instances": [1, NaN]}',
                                  b'{"instances": [null, 1]}', b'{"instances": [1.5, null]}',
                                  b'{"instances": [Infinity]}', b'{"instances": [true, null]}',
                                  b'{"instances": ["a", NaN]}'])
@pytest.mark.parametrize("dtype", [None, "float64", "int32"])
def test_nonfinite_policies(both, body, nonfinite, dtype):
    cross(both, body, nonfinite=nonfinite, dtype=dtype)


def test_dtype_applies_to_numbers_only(both):
    body = b'{"instances": [{"n": [1, 2], "s": "x", "b": true}, {"n": [3, 4], "s": "y", "b": false}]}'
    for dtype in ["float64", "int8", "uint16", "float16", {"n": "int32"}, {"s": "float64"}, "bool"]:
        cross(both, body, dtype=dtype)
    out = decode(both[0], body, dtype="float64")
    assert out["n"].dtype == np.float64 and out["s"].dtype == object and out["b"].dtype == np.bool_
    assert cross(both, b'{"instances": [3.0]}', dtype="int32")[0] == "error"
    assert cross(both, b'{"instances": [[], []]}', dtype="int16")[0] == "ok"


# --------------------------------------------------------------------------------------------
# strings


@pytest.mark.parametrize("text", [
    '"plain"', '"esc \\" \\\\ \\/ \\b \\f \\n \\r \\t"', '"\\u00e9\\u65e5"', '"\\ud83d\\ude00"', '"é日本🙂"',
    '"lone \\ud800"', '"lone \\udc00 low"', '"\\ud800\\ud800"', '"\\ud83d"', '"bad \\x"', '"ctl \x01"',
    '"\\\\ud800"', '"\\ud800\\u0041"', '""',
])
def test_string_values(both, text):
    body = ('{"instances": [' + text + ", " + text + "]}").encode()
    ref = cross(both, body)
    try:
        want = json.loads("[" + text + "]")[0]
        want.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        assert ref[0] == "error"
    else:
        assert ref[0] == "ok"
        assert decode(both[1], body)["output"].tolist() == [want, want]


def _escaped(text, data):
    """``text`` as a JSON string whose characters are escaped at random: ``\\uXXXX`` in either hex
    case (surrogate pairs above U+FFFF), the two-letter escapes and ``\\/``, or written as is."""
    out = []
    for ch in text:
        how = data.draw(st.integers(0, 3))
        if ch in '"\\' or ord(ch) < 0x20 or how == 0:
            units = ch.encode("utf-16-be")
            codes = [units[i:i + 2].hex() for i in range(0, len(units), 2)]
            out.append("".join("\\u" + (c.upper() if data.draw(st.booleans()) else c) for c in codes))
        elif how == 1 and ch in "/\b\f\n\r\t":
            out.append(json.dumps(ch)[1:-1] if ch != "/" else "\\/")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@PROPERTY
@given(texts=st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=300), min_size=1, max_size=4),
       data=st.data())
def test_escaped_strings_decode_as_json_loads_reads_them(both, texts, data):
    """Escapes of every kind, short strings and long: both twins equal, and equal to json.loads."""
    written = [_escaped(t, data) for t in texts]
    body = ('{"instances": [' + ", ".join(written) + "]}").encode()
    assert cross(both, body)[0] == "ok"
    assert decode(both[1], body)["output"].tolist() == json.loads(body)["instances"] == texts


def test_lone_surrogate_offset(codecs):
    assert error_of(codecs, b'{"instances": ["ab\\ud800"]}') == J + "lone surrogate escape at offset 18"


# --------------------------------------------------------------------------------------------
# {"b64"} values


@pytest.mark.parametrize("value", [
    b'{"b64": "aGVsbG8="}', b'{"b64":"aGVsbG8"}', b'{ "b64" : "-_-_" }', b'{"b64": "+/+/"}', b'{"b64": "a"}',
    b'{"b64": "!!!!"}', b'{"b64": 3}', b'{"b64": "AA==", "x": 1}', b'{"x": "AA=="}', b'{}', b'{"b64": "A\\u0041=="}',
    b'{"b64": "AA=="', b'{"b64" "AA=="}', b'{"b64": "AA\\n"}', b'{"\\u0062\\u00364": "AA=="}',
])
def test_b64_values(both, value):
    cross(both, b'{"instances": [' + value + b"]}")
    cross(both, b'{"instances": [{"b64": "AA=="}, ' + value + b"]}")
    cross(both, b'{"instances": [{"a": [' + value + b"]}]}")


def test_b64_random_payloads(both):
    rng = np.random.default_rng(5)
    for n in [0, 1, 2, 3, 4, 100, 1000]:
        raw = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        for text in [base64.b64encode(raw), base64.urlsafe_b64encode(raw), base64.b64encode(raw).rstrip(b"=")]:
            body = b'{"instances": [{"img": {"b64": "' + text + b'"}}]}'
            assert cross(both, body)[0] == "ok"
            assert decode(both[1], body)["img"].tolist() == [raw]


def test_input_named_b64(both):
    assert cross(both, b'{"instances": [{"a": 1, "b64": 2}]}')[0] == "error"
    assert "may not be named 'b64'" in error_of(both[1], b'{"instances": [{"a": 1, "b64": 2}]}')
    assert cross(both, b'{"instances": [{"b64": "AA=="}]}')[0] == "ok"


# --------------------------------------------------------------------------------------------
# mixed kinds, shapes, depth


@pytest.mark.parametrize("values", [
    b'1, "a"', b'"a", 1', b'true, 1', b'1, true', b'1.5, false', b'"a", {"b64": "AA=="}', b'{"b64": "AA=="}, "a"',
    b'{"b64": "AA=="}, 1', b'[1], [true]', b'["a"], [[1]]', b'[1, 2], [3]', b'[], [1]', b'[[]], [[1]]', b'1, [1]',
    b'[1, [2]]', b'["a", ["b"]]', b'[{"b64": ""}, [1]]', b'null', b'1, null', b'"a", null', b'[], []',
])
def test_mixed_and_ragged(both, values):
    cross(both, b'{"instances": [' + values + b"]}")
    cross(both, b'{"instances": [' + values + b"]}", nonfinite="null")
    cross(both, b'{"instances": [' + values + b"]}", dtype="float64")
    cross(both, b'{"predictions": [{"x": [' + values + b"]}]}", key="predictions")


def test_depth_limits(both):
    for depth in range(2, 8):
        for body in [b'{"instances": [[[1]]]}', b'{"instances": [{"a": [[{"b64": "AA=="}]]}]}',
                     b'{"instances": [{"a": {"b64": "AA=="}}]}', b'{"inputs": {"a": [["x"]]}}', b'{"inputs": [[1]]}',
                     b'{"inputs": {"b64": "AA=="}}', b'{"instances": [[["s"]]]}']:
            cross(both, body, max_depth=depth)


# --------------------------------------------------------------------------------------------
# the columnar form and the envelope


def test_columnar(both):
    out = decode(both[1], b'{"inputs": {"a": [[1, 2], [3, 4]], "b": "x", "c": [true]}}')
    assert out["a"].shape == (2, 2) and out["a"].dtype == np.int64
    assert out["b"].shape == () and out["b"].dtype == object and out["b"][()] == "x"
    assert out["c"].tolist() == [True]
    out = decode(both[1], b'{"inputs": [1.5, 2]}')
    assert list(out) == ["inputs"] and out["inputs"].tolist() == [1.5, 2]
    out = decode(both[1], b'{"outputs": [1.5, 2]}', "predictions")
    assert list(out) == ["output"]
    for body, key in [(b'{"inputs": {"a": [[1, 2], [3, 4]], "b": "x", "c": [true]}}', "instances"),
                      (b'{"inputs": [1.5, 2]}', "instances"), (b'{"inputs": 7}', "instances"),
                      (b'{"inputs": {"b64": "AA=="}}', "instances"), (b'{"inputs": {}}', "instances"),
                      (b'{"inputs": { }, "x": 1}', "instances"), (b'{"outputs": {}}', "predictions"),
                      (b'{"outputs": [[1], [2, 3]]}', "predictions"), (b'{"outputs": {"a": 1, "a": 2}}', "predictions"),
                      (b'{"inputs": {"a": 1, "b64": 2}}', "instances"), (b'{"inputs": [1] "x"}', "instances"),
                      (b'{"inputs": 1x}', "instances"), (b'{"inputs": "s" , "parameters": 1}', "instances"),
                      (b'{"predictions": [1], "outputs": 1}', "predictions"),
                      (b'{"inputs": 1}', "predictions"), (b'{"outputs": 1}', "instances")]:
        cross(both, body, key)
    assert error_of(both[1], b'{"inputs": {}}') == J + "'inputs' has no inputs at offset 12"


@pytest.mark.parametrize("body", [
    b'{"instances": [1], "inputs": [2]}', b'{"inputs": [1], "instances": [2]}', b'{"inputs": 1, "inputs": 2}',
    b'{"instances": [1], "instances": [2]}', b'{}', b'{"x": 1}',
])
def test_both_keys(both, body):
    assert cross(both, body)[0] == "error"
    cross(both, body, value_form="number")  # "inputs" is an ignored member there


@pytest.mark.parametrize("value_form", ["json", "number", "tensor"])
def test_envelope(both, value_form):
    inst = b'"' + base64.b64encode(encode_tensor(np.float32(1.5))) + b'"' if value_form == "tensor" else b"1"
    for members, want in [
        (b', "parameters": {"k": [1, 2.5, "x", null, NaN]}, "signature_name": "serving"', None),
        (b', "parameters": null', None), (b', "signature_name": "\\u00e9"', None), (b'', None),
        (b', "signature_name": 3', "error"), (b', "parameters": 1, "parameters": 2', "error"),
        (b', "signature_name": "a", "signature_name": "a"', "error"), (b', "parameters": [1,', "error"),
        (b', "parameters": ' + b"1" * 5000, "error"), (b', "parameters": [[[[[[[1]]]]]]]', None),
    ]:
        body = b'{"instances": [' + inst + b"]" + members + b"}"
        ref = cross(both, body, value_form=value_form)
        if want == "error":
            assert ref[0] == "error", ref
        if value_form != "json":
            cross(both, body, value_form=value_form, max_depth=4)
        # a response ignores them
        cross(both, body.replace(b'"instances"', b'"predictions"'), "predictions", value_form=value_form)
    env = Envelope()
    both[1].jsonbody.decode_body(b'{"instances": [' + inst + b'], "parameters": {"a": [1]}, "signature_name": "s"}',
                                 "instances", value_form=value_form, envelope=env)
    assert (env.key, env.parameters, env.signature_name) == ("instances", {"a": [1]}, "s")


def test_envelope_columnar(both):
    env = Envelope()
    both[1].jsonbody.decode_body(b'{"parameters": 3, "inputs": {"a": 1}}', "instances", value_form="json",
                                 envelope=env)
    assert (env.key, env.parameters, env.signature_name) == ("inputs", 3, None)


def test_error_member(both):
    for body in [b'{"error": "boom", "predictions": ["x"]}', b'{"outputs": 1, "error": {"message": "m"}}']:
        ref = cross(both, body, "predictions")
        assert ref[0] == "error" and ref[1] is PredictionError


# --------------------------------------------------------------------------------------------
# random bodies, valid and mutated


def _leaf(kind):
    if kind == "int":
        return st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-2**70, 2**70),
                         st.sampled_from([0, -0, 16777217, 2**53 + 1])).map(lambda i: str(i).encode())
    if kind == "float":
        return st.one_of(st.floats(width=32).map(lambda f: json.dumps(float(f)).encode()),
                         S.decimal_texts().map(str.encode), st.sampled_from([b"-0", b"1e400", b"null", b"-0.0"]))
    if kind == "bool":
        return st.sampled_from([b"true", b"false"])
    if kind == "str":
        return st.text(max_size=8).map(lambda t: json.dumps(t, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return st.binary(max_size=12).map(lambda b: b'{"b64": "' + base64.b64encode(b) + b'"}')


@st.composite
def _values(draw, kind, shape):
    """A value of ``shape`` (nested lists of leaves) whose leaves are mostly of ``kind``."""
    if not shape:
        other = draw(st.sampled_from(["int", "float", "bool", "str", "bytes"]))
        return draw(_leaf(kind if draw(st.integers(0, 15)) else other))
    n = shape[0] if draw(st.integers(0, 15)) else draw(st.integers(0, 3))  # now and then ragged
    return b"[" + b", ".join(draw(_values(kind, shape[1:])) for _ in range(n)) + b"]"


@st.composite
def general_bodies(draw):
    key = draw(st.sampled_from(["instances", "predictions"]))
    columnar = draw(st.integers(0, 4)) == 0
    named = draw(st.booleans())
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "é", "b64"]), min_size=1, max_size=3, unique=True))
    if not draw(st.integers(0, 7)):
        names = names[:1] + ["b64"]
    kinds = {n: draw(st.sampled_from(["int", "float", "bool", "str", "bytes"])) for n in names}
    shapes = {n: tuple(draw(st.lists(st.integers(0, 3), max_size=3))) for n in names}
    count = 1 if columnar else draw(st.integers(0, 4))

    def instance():
        if not named:
            return draw(_values(kinds[names[0]], shapes[names[0]]))
        return b"{" + b", ".join(json.dumps(n, ensure_ascii=False).encode() + b": " + draw(_values(kinds[n], shapes[n]))
                                 for n in names) + b"}"

    if columnar:
        member = (b'"inputs"' if key == "instances" else b'"outputs"') + b": " + instance()
    else:
        member = b'"' + key.encode() + b'": [' + b", ".join(instance() for _ in range(count)) + b"]"
    extra = draw(st.sampled_from([b"", b', "parameters": {"x": [1, "y"]}', b', "signature_name": "s"',
                                  b', "model": "m"', b', "error": "e"']))
    return key, b"{" + member + extra + b"}"


@PROPERTY
@given(general_bodies(), st.sampled_from([None, "float64", "int64", {"a": "float16"}]),
       st.sampled_from(["token", "null", "error"]), st.sampled_from([64, 4]))
def test_random_bodies_alike(both, drawn, dtype, nonfinite, max_depth):
    key, body = drawn
    cross(both, body, key, dtype=dtype, nonfinite=nonfinite, max_depth=max_depth)


@PROPERTY
@given(st.data(), st.sampled_from([None, "float64"]), st.sampled_from(["token", "null", "error"]))
def test_mutated_bodies_alike(both, data, dtype, nonfinite):
    key, body = data.draw(general_bodies())
    hostile = st.sampled_from([b'"', b"\\", b"\\u", b"\\ud800", b"{", b"}", b"[", b"]", b",", b":", b'{"b64":',
                               b"NaN", b"null", b"true", b"1.5", b"-", b"e", b"0", b"9" * 20, b'"b64"', b" "])
    mutated = data.draw(twt.mutated_bytes(st.just(body), hostile))
    cross(both, mutated, key, dtype=dtype, nonfinite=nonfinite)


@pytest.mark.parametrize("body, limit, refused_at", [
    (b'{"instances": ["ab","cd","ef"]}', 140, 25),                  # 3 x (64 + 4) > 140
    (b'{"instances": [["ab","cd"],["ef","gh"]]}', 140, 28),
    (b'{"instances": [{"b64":"QUJD"},{"b64":"QUJD"}]}', 140, 30),
    (b'{"instances": [{"a":"xx"},{"a":"yy"}]}', 140, None),          # 2 x (64 + 4) = 136
    (b'{"instances": [1, 2, 3]}', 10, None),                          # numbers are not counted
])
def test_str_and_bytes_leaves_count_against_max_bytes(both, body, limit, refused_at):
    outcome = cross(both, body, max_bytes=limit)
    if refused_at is None:
        assert outcome[0] == "ok"
    else:
        assert outcome[:2] == ("error", DecodeError)
        assert outcome[2].endswith(f"(each counts 64 bytes and its text) at offset {refused_at}")
