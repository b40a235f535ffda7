"""The general predict body's writing (value form ``"json"``, docs/json-general.md), codec level.

Tests taking ``codecs`` run once per backend; tests taking ``both`` cross the reference with the
Cython twin: the same bytes for every input, the same exception (type and message) for every
refusal.  Bodies are read back with ``json.loads`` and compared with what the arrays hold: numbers
as ND_ARRAYS writes them, ``str`` as JSON strings (``json.dumps(s, ensure_ascii=False)``), bytes
as ``{"b64": <standard, padded>}``; the columnar keys ``"inputs"``/``"outputs"`` write the one
instance without the list; ``parameters`` follows the values.
"""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import strategies as S
from common import outcome

PROPERTY = settings(max_examples=min(settings.default.max_examples * 2, 300))

ROW_KEYS = ("instances", "predictions")
COLUMNAR_KEYS = ("inputs", "outputs")
NUMBER_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
                 "float64", "bool"]
TEXT_KINDS = ["U", "S", "ostr", "obytes"]
ERRORS = (ValueError, TypeError, IndexError)

# str with what JSON escapes, non-ASCII, U+007F / U+2028 (written raw), NUL (trailing NULs of a
# numpy U item are stripped by numpy: the reference writes str(item))
TEXT = st.text(st.one_of(st.sampled_from('"\\\n\r\t\b\f\x00\x01\x1f\x7f\u2028é😀/ '),
                         st.characters(exclude_categories=("Cs",))), max_size=8)
BLOBS = st.binary(max_size=12)


def object_array(values, shape):
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return a.reshape(shape)


@st.composite
def columns_of(draw, n, kinds=None):
    """A column ``(kind, array)`` of ``n`` instances: numbers, bools, U, S, or object arrays of
    str or bytes, of rank 0-3 after the instance axis (sides 0-3)."""
    kind = draw(st.sampled_from(kinds or NUMBER_DTYPES + TEXT_KINDS))
    shape = (n, *draw(st.lists(st.integers(0, 3), max_size=3)))
    size = int(np.prod(shape))
    if kind in NUMBER_DTYPES:
        return kind, draw(hnp.arrays(np.dtype(kind), shape))
    if kind in ("U", "ostr"):
        values = draw(st.lists(TEXT, min_size=size, max_size=size))
        if kind == "ostr":
            return kind, object_array(values, shape)
        a = np.array(values, dtype="U").reshape(shape)
        return kind, a.astype(a.dtype.newbyteorder(draw(st.sampled_from("<>"))))  # either byte order
    values = draw(st.lists(BLOBS, min_size=size, max_size=size))
    if kind == "S":
        return kind, np.array(values, dtype="S").reshape(shape)
    return kind, object_array(values, shape)


@st.composite
def bodies(draw, kinds=None):
    """``(key, columns, bare)``: row bodies of 0-3 instances or columnar ones of one, bare (one
    column) or named (1-3 columns of mixed kinds)."""
    key = draw(st.sampled_from(ROW_KEYS + COLUMNAR_KEYS))
    n = 1 if key in COLUMNAR_KEYS else draw(st.integers(0, 3))
    bare = draw(st.booleans())
    count = 1 if bare else draw(st.integers(1, 3))
    names = [None] if bare else draw(st.lists(S.JSON_NAMES, min_size=count, max_size=count, unique=True))
    columns = [(name, draw(columns_of(n, kinds))[1]) for name in names]
    return key, columns, bare


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
NUMPY_VALUES = st.sampled_from([np.int64(-3), np.float32(1.5), np.bool_(True), np.uint8(200), np.float64(2.5),
                                np.array([1, 2], np.int32), np.str_("ü")])
PARAMETERS = st.one_of(
    st.none(), JSON_VALUES,
    st.dictionaries(TEXT, st.one_of(JSON_VALUES, NUMPY_VALUES), max_size=3),
)


def check_leaf(got, x, nonfinite):
    """``got`` (from json.loads) is how the body writes numpy leaf ``x``."""
    if isinstance(x, (str, np.str_)):
        assert got == str(x)
    elif isinstance(x, (bytes, np.bytes_)):
        assert got == {"b64": base64.b64encode(bytes(x)).decode("ascii")}
    elif isinstance(x, np.bool_):
        assert got is bool(x)
    elif isinstance(x, np.integer):
        assert type(got) is int and got == int(x)
    else:
        if not np.isfinite(x):
            if nonfinite == "null":
                assert got is None
            else:
                assert np.isnan(got) if np.isnan(x) else got == float(x)
            return
        assert type(got) is float  # a float is written with a "." or an exponent
        assert np.array(got).astype(x.dtype) == x  # the shortest text that reads back as x


def check_value(got, a, nonfinite):
    if a.ndim == 0:
        check_leaf(got, a[()], nonfinite)
        return
    assert isinstance(got, list) and len(got) == len(a)
    for k in range(len(a)):
        check_value(got[k], a[k, ...], nonfinite)


def check_body(body, key, columns, bare, nonfinite, parameters):
    """The body read with json.loads holds what the columns do, in the form asked for."""
    doc = json.loads(body)
    assert list(doc) == ([key] if parameters is None else [key, "parameters"])
    count = len(columns[0][1])
    instances = [doc[key]] if key in COLUMNAR_KEYS else doc[key]
    assert isinstance(instances, list) and len(instances) == count
    for i, instance in enumerate(instances):
        if bare:
            check_value(instance, columns[0][1][i, ...], nonfinite)
            continue
        assert list(instance) == [name for name, _ in columns]
        for name, a in columns:
            check_value(instance[name], a[i, ...], nonfinite)
    if parameters is not None:
        want = json.loads(json.dumps(parameters, default=lambda v: v.tolist() if hasattr(v, "tolist") else v))
        assert doc["parameters"] == want


# --------------------------------------------------------------------------------------------
# the twins cross


@PROPERTY
@given(bodies(), st.sampled_from(["token", "null", "error"]), st.sampled_from(["shortest", "tolist"]), PARAMETERS)
def test_backends_write_the_general_body_identically(both, body, nonfinite, float_format, parameters):
    ref, twin = both
    key, columns, bare = body
    kw = dict(bare=bare, value_form="json", nonfinite=nonfinite, float_format=float_format, parameters=parameters)
    a = outcome(ref.jsonbody.encode_body, key, columns, catching=ERRORS, **kw)
    b = outcome(twin.jsonbody.encode_body, key, columns, catching=ERRORS, **kw)
    assert a == b
    if a[0] == "ok":
        check_body(a[1], key, columns, bare, nonfinite, parameters)
    else:  # only nonfinite="error" refuses these
        assert nonfinite == "error" and a[0] is ValueError and "non-finite" in a[1]


@PROPERTY
@given(bodies(kinds=NUMBER_DTYPES), st.sampled_from(["tensor", "string", "number"]),
       st.sampled_from(["token", "null", "error"]), PARAMETERS)
def test_backends_write_keys_and_parameters_in_every_form_identically(both, body, value_form, nonfinite, parameters):
    ref, twin = both
    key, columns, bare = body
    kw = dict(bare=bare, value_form=value_form, nonfinite=nonfinite, parameters=parameters)
    a = outcome(ref.jsonbody.encode_body, key, columns, catching=ERRORS, **kw)
    b = outcome(twin.jsonbody.encode_body, key, columns, catching=ERRORS, **kw)
    assert a == b
    if a[0] == "ok" and value_form == "number":
        check_body(a[1], key, columns, bare, nonfinite, parameters)


@PROPERTY
@given(bodies(kinds=NUMBER_DTYPES), st.sampled_from(["token", "null", "error"]),
       st.sampled_from(["shortest", "tolist"]))
def test_json_form_writes_numbers_as_nd_arrays_does(both, body, nonfinite, float_format):
    key, columns, bare = body
    for backend in both:
        enc = backend.jsonbody.encode_body
        kw = dict(bare=bare, nonfinite=nonfinite, float_format=float_format)
        assert outcome(enc, key, columns, value_form="json", catching=ERRORS, **kw) == outcome(
            enc, key, columns, value_form="number", catching=ERRORS, **kw)


def surrogate_objects():
    return object_array(["ok", "a\ud800b"], (2,))


def refusals():
    f = np.zeros((1, 2), np.float32)
    mixed = object_array(["a", b"b"], (2,))
    other = object_array(["a", 3], (2,))
    none = object_array([None], (1,))
    bytes_first = object_array([b"a", "b", 1.5], (1, 3))
    late_kind = object_array(["\ud800", "x", 7], (3,))  # the kind is checked before the strings
    return [
        ("mixed str and bytes", "instances", [("a", mixed)], {}),
        ("an int among str", "instances", [("a", other)], {}),
        ("None", "predictions", [(None, none)], dict(bare=True)),
        ("bytes then str", "instances", [("x", f), ("a", bytes_first)], {}),
        ("kind before surrogate", "instances", [("a", late_kind)], {}),
        ("surrogate, object", "instances", [("a", surrogate_objects())], {}),
        ("surrogate, bare", "instances", [(None, surrogate_objects())], dict(bare=True)),
        ("surrogate, U", "instances", [("a", np.array(["x", "\udfff"]))], {}),
        ("surrogate, nested", "instances", [("a", np.array([["x"], ["\ud800y"]]))], {}),
        ("surrogates in two columns: the first instance's", "instances",
         [("a", object_array(["x", "\ud800"], (2,))), ("b", object_array(["\udc00", "y"], (2,)))], {}),
        ("surrogate after a number column", "instances", [("n", np.zeros(2)), ("s", surrogate_objects())], {}),
        ("surrogate in a name", "instances", [("\ud800", f)], {}),
        ("name not str", "instances", [(3, f)], {}),
        ("surrogate in parameters", "instances", [("a", f)], dict(parameters={"k": "\ud800"})),
        ("surrogate in a parameters key", "instances", [("a", f)], dict(parameters={"\udc00": 1})),
        ("parameters not JSON", "instances", [("a", f)], dict(parameters={"k": object()})),
        ("parameters a set", "instances", [("a", f)], dict(parameters={1, 2})),
        ("value error before parameters", "instances", [("a", surrogate_objects())], dict(parameters={"k": object()})),
        ("columnar, 2 instances", "inputs", [("a", np.zeros((2, 3)))], {}),
        ("columnar, 0 instances", "outputs", [(None, np.zeros((0, 3)))], dict(bare=True)),
        ("bad key", "rows", [("a", f)], {}),
        ("key not str", 3, [("a", f)], {}),
        ("complex", "instances", [("a", f.astype(np.complex64))], {}),
        ("non-finite under error", "instances", [("a", np.array([[1.0, np.inf]]))], dict(nonfinite="error")),
        ("non-finite before a mixed column", "instances",
         [("a", np.array([[np.nan]])), ("b", object_array(["a", b"b"], (1, 2)))], dict(nonfinite="error")),
        ("a column short of instances", "instances", [("a", np.zeros(2)), ("b", object_array(["s"], (1,)))], {}),
        ("a 0-d column", "instances", [("a", np.array(["x", "y"])), ("b", np.array("s"))], {}),
        ("bad value form", "instances", [("a", f)], dict(value_form="general")),
    ]


@pytest.mark.parametrize("case", refusals(), ids=[c[0] for c in refusals()])
def test_backends_refuse_identically(both, case):
    _, key, columns, kw = case
    kw = {"bare": False, "value_form": "json", **kw}
    ref, twin = (outcome(b.jsonbody.encode_body, key, columns, catching=ERRORS, **kw) for b in both)
    assert ref[0] in ERRORS and ref == twin


def test_lone_surrogate_refusal_names_the_input(codecs):
    with pytest.raises(ValueError, match=r"input 'a': string 'a\\ud800b' is not valid Unicode \(lone surrogate\)"):
        codecs.jsonbody.encode_body("instances", [("a", surrogate_objects())], bare=False, value_form="json")
    with pytest.raises(TypeError, match=r"input 'a': object arrays must hold str only or bytes only; "
                                        r"bytes beside str at index \(1,\)"):
        codecs.jsonbody.encode_body("instances", [("a", object_array(["a", b"b"], (2,)))], bare=False,
                                    value_form="json")


# --------------------------------------------------------------------------------------------
# each backend


@PROPERTY
@given(st.lists(TEXT, max_size=6))
def test_strings_are_written_as_json_dumps_writes_them(codecs, values):
    enc = codecs.jsonbody.encode_body
    want = ("[" + ",".join(json.dumps(s, ensure_ascii=False) for s in values) + "]").encode("utf-8")
    assert enc("instances", [(None, object_array(values, (len(values),)))], bare=True,
               value_form="json") == b'{"instances":' + want + b"}"
    if values:
        assert enc("inputs", [(None, object_array(values, (1, len(values))))], bare=True,
                   value_form="json") == b'{"inputs":' + want + b"}"


def test_strings_whose_utf8_is_kept_are_written_the_same(codecs):
    """Non-ASCII str: the first encode makes CPython keep each string's UTF-8 (the twin reads it
    from the str object afterwards, jsonbody_text.h); the second, reading it, writes the same."""
    import ctypes

    values = ["é" * k + "\"" for k in range(1, 40)] + ["😀\n", "\u2028x", "ascii"]
    want = ("[" + ",".join(json.dumps(s, ensure_ascii=False) for s in values) + "]").encode("utf-8")
    array = object_array(values, (len(values),))
    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8AndSize
    as_utf8.restype, as_utf8.argtypes = ctypes.c_char_p, [ctypes.py_object, ctypes.c_void_p]
    first = codecs.jsonbody.encode_body("instances", [(None, array)], bare=True, value_form="json")
    for s in values:  # every string keeps its UTF-8 now, whichever backend wrote the first body
        assert as_utf8(s, None) == s.encode("utf-8")
    second = codecs.jsonbody.encode_body("instances", [(None, array)], bare=True, value_form="json")
    assert first == second == b'{"instances":' + want + b"}"


@pytest.mark.parametrize("values", [
    ["x" * 25] * 2000,  # most of the block used: cut in place (a shorter length, the same block)
    ["x"] * 2000,  # most of it spare: reallocated to the length
    [str(k) for k in range(3000)],
])
def test_bodies_cut_to_length_are_proper_bytes(codecs, values):
    """A body written into a bytes sized for the longest text and cut to what was written (the
    twin's _fit) is an ordinary bytes: its length, its content and the NUL after its last byte
    that C code reading PyBytes_AS_STRING relies on."""
    import ctypes

    as_string = ctypes.pythonapi.PyBytes_AsString
    as_string.restype, as_string.argtypes = ctypes.c_void_p, [ctypes.py_object]
    array = object_array(values, (len(values),))
    body = codecs.jsonbody.encode_body("instances", [(None, array)], bare=True, value_form="json")
    want = json.dumps({"instances": values}, separators=(",", ":")).encode("utf-8")
    numbers = codecs.jsonbody.encode_body("instances", [(None, np.arange(len(values), dtype=np.int64))],
                                          bare=True, value_form="number")
    assert numbers == json.dumps({"instances": list(range(len(values)))}, separators=(",", ":")).encode()
    for got, expected in ((body, want), (numbers, None)):
        if expected is not None:
            assert got == expected
        assert ctypes.string_at(as_string(got), len(got) + 1) == got + b"\0"
        assert bytes(bytearray(got)) == got and hash(got) == hash(bytes(got))


@pytest.mark.parametrize("value_form", ["number", "string", "json"])
def test_signaling_nans_are_written_as_nan_without_a_warning(codecs, value_form):
    """float_format="tolist" writes float32 and float16 through float64; a signaling NaN (any
    NaN payload may come in) is NaN there, with no RuntimeWarning from the cast (the reference
    gives none)."""
    import warnings

    f32 = np.array([0x7F800001, 0xFFA00000, 0x3F800000], np.uint32).view(np.float32)
    f16 = np.array([0x7C01, 0x3C00], np.uint16).view(np.float16)
    for array, want in ((f32, ["NaN", "NaN", "1.0"]), (f16, ["NaN", "1.0"])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            body = codecs.jsonbody.encode_body("instances", [("x", array)], bare=False, value_form=value_form,
                                               float_format="tolist")
        quoted = value_form == "string"
        texts = [f'"{t}"' if quoted else t for t in want]
        assert body == ('{"instances":[' + ",".join('{"x":' + t + "}" for t in texts) + "]}").encode()


def test_options_given_as_str_subclasses_are_taken_as_their_str(codecs):
    """value_form, nonfinite and float_format equal to their names but of a str subclass
    (numpy.str_): the same body as with plain str, in both backends."""
    columns = [("x", np.array([1.5, np.nan], np.float32)), ("s", object_array(["a", "b"], (2,)))]
    want = codecs.jsonbody.encode_body("instances", columns, bare=False, value_form="json", nonfinite="null",
                                       float_format="tolist")
    got = codecs.jsonbody.encode_body("instances", columns, bare=False, value_form=np.str_("json"),
                                      nonfinite=np.str_("null"), float_format=np.str_("tolist"))
    assert got == want == b'{"instances":[{"x":1.5,"s":"a"},{"x":null,"s":"b"}]}'


def test_escapes(codecs):
    enc = codecs.jsonbody.encode_body
    text = "\"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029é😀" + "x" * 9 + "\x1e"
    want = json.dumps(text, ensure_ascii=False).encode("utf-8")
    assert b"\\u001f" in want and b"\\u001e" in want and "\x7f\u2028".encode() in want
    for array in (object_array([text], (1,)), np.array([text]), np.array([text], dtype=">U40")):
        assert enc("instances", [("s", array)], bare=False, value_form="json") == b'{"instances":[{"s":' + want + b"}]}"


def test_numpy_items_are_what_numpy_returns(codecs):
    """Trailing NULs of U and S items are not part of the item (numpy strips them)."""
    enc = codecs.jsonbody.encode_body
    u = np.array(["a\x00b\x00", ""], dtype="U6")
    s = np.array([b"a\x00b\x00\x00", b"\x00"], dtype="S6")
    body = enc("predictions", [("u", u), ("s", s)], bare=False, value_form="json")
    assert json.loads(body) == {"predictions": [{"u": "a\x00b", "s": {"b64": base64.b64encode(b"a\x00b").decode()}},
                                                {"u": "", "s": {"b64": ""}}]}


def test_bytes_as_b64_objects(codecs):
    blobs = [bytes(range(256)) * 400, b"", b"\xff\xfe", b"abc"]
    a = object_array(blobs, (len(blobs),))
    body = codecs.jsonbody.encode_body("instances", [("image", a)], bare=False, value_form="json")
    assert body == json.dumps({"instances": [{"image": {"b64": base64.b64encode(b).decode()}} for b in blobs]},
                              separators=(",", ":")).encode()


def test_columnar_and_parameters(codecs):
    enc = codecs.jsonbody.encode_body
    x = np.array([[1, 2]], np.int32)
    s = np.array(["é"])
    assert enc("inputs", [("x", x), ("s", s)], bare=False, value_form="json",
               parameters={"k": np.float32(0.5), "é": [np.int64(1)]}) == (
        '{"inputs":{"x":[1,2],"s":"é"},"parameters":{"k":0.5,"é":[1]}}'.encode())
    assert enc("outputs", [(None, np.array([True]))], bare=True, value_form="json") == b'{"outputs":true}'
    assert enc("instances", [(None, np.zeros((0, 2)))], bare=True, value_form="json", parameters=[]) == (
        b'{"instances":[],"parameters":[]}')
    for form in ("tensor", "string", "number"):
        body = enc("inputs", [("x", x)], bare=False, value_form=form, parameters={"a": 1})
        assert body.startswith(b'{"inputs":{"x":') and body.endswith(b'},"parameters":{"a":1}}')


def test_many_strings_and_mixed_bodies(codecs):
    words = [f"w{i}" + "é" * (i % 3) + "\n" * (i % 5 == 0) for i in range(3000)]
    a = object_array(words, (len(words),))
    body = codecs.jsonbody.encode_body("instances", [(None, a)], bare=True, value_form="json")
    assert json.loads(body) == {"instances": words}
    named = codecs.jsonbody.encode_body("instances", [("w", a)], bare=False, value_form="json")
    assert json.loads(named) == {"instances": [{"w": w} for w in words]}
    n = np.arange(3000, dtype=np.float32).reshape(3000, 1) / 4
    b = np.array([w.encode() for w in words], dtype="S")
    mixed = codecs.jsonbody.encode_body("instances", [("n", n), ("w", a), ("b", b)], bare=False, value_form="json")
    assert json.loads(mixed) == {"instances": [
        {"n": [i / 4], "w": w, "b": {"b64": base64.b64encode(w.encode()).decode()}} for i, w in enumerate(words)]}
