"""tf.Example / tf.SequenceExample codec: golden vectors, protobuf and TensorFlow as oracles, the
spec, the documented decisions, malformed input, and property tests crossing both backends.

Tests taking ``codecs`` run once per backend; tests taking ``both`` cross the reference and the
Cython twin.  Oracles: ``example_pb2`` (protobuf's Python runtime, upb) for bytes and parsing,
``tf.io.parse_single_example`` for the spec, and the golden bytes TensorFlow 2.21 wrote
(tests/data/examples.json).  Hand-written wire bytes come from the small writer in
strategies.py (docs/tf-example.md), not from the code under test.
"""

import json
import tracemalloc
from pathlib import Path
from types import MappingProxyType

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from common import decoded_outcome, quiet_f32_nans
from tensorwire.testing import wire_len as ld
from tensorwire.testing import wire_tag, wire_varint
from tensorwire import DecodeError

import tensorflow as tf  # noqa: E402  (plain import: a missing TensorFlow must fail, not skip)
from google.protobuf.message import DecodeError as ProtobufDecodeError  # noqa: E402
from tensorflow.core.example import example_pb2, feature_pb2  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "data" / "examples.json").read_text())
CASES = GOLDEN["cases"]

# Oracle tests call protobuf / TensorFlow per example: a fixed small budget.  The others follow
# the profile (dev 60, ci 300), capped to keep the file fast on the reference backend.
ORACLE = settings(max_examples=40)
TF_ORACLE = settings(max_examples=25)
PROPERTY = settings(max_examples=min(settings.default.max_examples, 150))
CORRUPTION = settings(max_examples=min(settings.default.max_examples * 2, 300))

E = "Example: "
SE = "SequenceExample: "


# --------------------------------------------------------------------------------------------
# a tiny writer for hand-made messages (independent of the code under test)


def entry(key, *values, extra=b""):
    """A map entry: key (bytes), one value field per message in ``values``, then ``extra``."""
    return ld(1, ld(1, key) + b"".join(ld(2, v) for v in values) + extra)


def example(*entries):
    return ld(1, b"".join(entries))


def f_floats(*vals):
    """A Feature holding a packed float_list."""
    return ld(2, ld(1, np.array(vals, "<f4").tobytes()))


def f_ints(*vals):
    return ld(3, ld(1, b"".join(wire_varint(v) for v in vals)))


def f_bytes(*vals):
    return ld(1, b"".join(ld(1, v) for v in vals))


# --------------------------------------------------------------------------------------------
# comparing results


def assert_value(got, kind, values):
    """``got`` is the decoding of a feature ``(kind, values)``: same type and exact bits."""
    if kind is None:
        assert got is None
    elif kind == "bytes":
        assert type(got) is list and all(type(v) is bytes for v in got), got
        assert got == [bytes(v) for v in values]
    else:
        dtype = np.dtype(np.float32 if kind == "float" else np.int64)
        assert isinstance(got, np.ndarray), type(got)
        assert got.dtype == dtype and got.dtype.isnative and got.ndim == 1 and got.flags.c_contiguous
        assert got.tobytes() == np.asarray(values, dtype).tobytes()


def assert_decoded(got, want, ordered=True):
    """A decode_example result against ``{name: (kind, values)}``."""
    assert isinstance(got, dict)
    if ordered:
        assert list(got) == list(want)
    else:
        assert sorted(got) == sorted(want)
    for name, (kind, values) in want.items():
        assert_value(got[name], kind, values)


def pb_value(feature):
    """``(kind, values)`` of a protobuf Feature (float32 bits as protobuf holds them)."""
    kind = feature.WhichOneof("kind")
    if kind is None:
        return None, None
    if kind == "float_list":
        return "float", np.asarray(feature.float_list.value, np.float32)
    if kind == "int64_list":
        return "int64", np.asarray(feature.int64_list.value, np.int64)
    return "bytes", list(feature.bytes_list.value)


def pb_feature(kind, values):
    if kind == "float":
        return feature_pb2.Feature(float_list=feature_pb2.FloatList(value=np.asarray(values, np.float32).tolist()))
    if kind == "int64":
        return feature_pb2.Feature(int64_list=feature_pb2.Int64List(value=np.asarray(values).tolist()))
    return feature_pb2.Feature(bytes_list=feature_pb2.BytesList(value=list(values)))


def pb_example(want):
    features = feature_pb2.Features(feature={name: pb_feature(*kv) for name, kv in want.items()})
    return example_pb2.Example(features=features)


def pb_sequence_example(context, lists):
    return example_pb2.SequenceExample(
        context=feature_pb2.Features(feature={name: pb_feature(*kv) for name, kv in context.items()}),
        feature_lists=feature_pb2.FeatureLists(
            feature_list={
                name: feature_pb2.FeatureList(feature=[pb_feature(*kv) for kv in steps]) for name, steps in lists.items()
            }
        ),
    )


def quiet(values):
    """float32 values with signalling NaNs quieted: what a trip through Python floats gives."""
    return quiet_f32_nans(np.asarray(values, np.float32))


def quiet_feature(value, kind, values):
    """``(value, (kind, values))`` with signalling NaNs quieted in a float feature (protobuf fed
    from Python floats quiets them; our encoder keeps every bit: tested by hand below)."""
    if kind == "float" and quiet(values).tobytes() != np.asarray(values, np.float32).tobytes():
        return quiet(values), ("float", quiet(values))
    return value, (kind, values)


def without_snans(features, want):
    features, want = dict(features), dict(want)
    for name in want:
        features[name], want[name] = quiet_feature(features[name], *want[name])
    return features, want


def outcome(func, data, **kw):
    """A comparable result: ("ok", decoded) or ("error", type, message) for a DecodeError."""
    return decoded_outcome(func, data, errors=DecodeError, canonical=canonical, **kw)


def canonical(x):
    if isinstance(x, dict):
        return [(k, canonical(v)) for k, v in x.items()]
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [canonical(v) for v in x])
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes() if x.dtype != object else x.tolist())
    return (type(x).__name__, x)


# --------------------------------------------------------------------------------------------
# golden vectors (written by TensorFlow 2.21)


def golden_features(case, as_lists=False):
    """The case's features as numpy arrays (or plain lists, where a list keeps the kind)."""
    out = {}
    for name, f in case["features"].items():
        if f["kind"] == "bytes":
            values = [bytes.fromhex(h) for h in f["values"]]
            out[name] = values if as_lists and values else np.array(values, dtype=object)
        elif f["kind"] == "float":
            out[name] = f["values"] if as_lists and f["values"] else np.array(f["values"], np.float32)
        else:
            out[name] = f["values"] if as_lists and f["values"] else np.array(f["values"], np.int64)
    return out


def golden_want(case):
    return {
        name: (f["kind"], [bytes.fromhex(h) for h in f["values"]] if f["kind"] == "bytes" else f["values"])
        for name, f in case["features"].items()
    }


def test_golden_vectors_came_from_this_tensorflow():
    assert GOLDEN["producer"] == f"tensorflow {tf.__version__}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_encode(codecs, case):
    want = bytes.fromhex(case["deterministic_hex"])
    assert codecs.example.encode_example(golden_features(case)) == want
    assert codecs.example.encode_example(golden_features(case, as_lists=True)) == want
    assert codecs.example.encode_example(golden_features(case), sort_keys=True) == want


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_decode(codecs, case):
    got = codecs.example.decode_example(bytes.fromhex(case["deterministic_hex"]))
    assert_decoded(got, golden_want(case), ordered=False)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_unsorted_is_insertion_order(codecs, case):
    """sort_keys=False writes the entries in the mapping's order: the golden entries, reordered."""
    data = bytes.fromhex(case["deterministic_hex"])
    entries = {}  # name -> the entry's bytes, cut out of the golden message
    pos = 2 if data[1] < 0x80 else 3
    while pos < len(data):
        n, width = data[pos + 1], 2
        if n & 0x80:
            n, width = (n & 0x7F) | (data[pos + 2] << 7), 3
        raw = data[pos : pos + width + n]
        key_len = raw[width + 1]
        entries[raw[width + 2 : width + 2 + key_len].decode()] = raw
        pos += width + n
    features = golden_features(case)
    for order in (list(features), list(reversed(features))):
        got = codecs.example.encode_example({k: features[k] for k in order}, sort_keys=False)
        assert got == ld(1, b"".join(entries[k] for k in order))


def test_spec_section_example_in_upb_order(codecs):
    """docs/tf-example.md: upb wrote the entries as id, s, B1; values decode in that order."""
    data = bytes.fromhex(
        "0a350a0b0a02696412051a030a01070a0a0a017312050a030a01780a1a0a024231121412120a100000803f000000400000404000008040"
    )
    want = {"id": ("int64", [7]), "s": ("bytes", [b"x"]), "B1": ("float", [1, 2, 3, 4])}
    assert_decoded(codecs.example.decode_example(data), want)
    assert codecs.example.encode_example({"B1": [1.0, 2.0, 3.0, 4.0], "id": [7], "s": b"x"}) == bytes.fromhex(
        CASES[0]["deterministic_hex"]
    )


def test_empty_messages(codecs):
    m = codecs.example
    assert m.encode_example({}) == b"\x0a\x00" == example_pb2.Example(features=feature_pb2.Features()).SerializeToString()
    assert m.encode_sequence_example({}, {}) == b"\x0a\x00\x12\x00"
    assert m.decode_example(b"") == {} and m.decode_example(b"\x0a\x00") == {}
    assert m.decode_sequence_example(b"") == ({}, {})


# --------------------------------------------------------------------------------------------
# protobuf as the oracle


# protobuf's own deterministic order (upb): byte order, but a key after the longer keys it is a
# prefix of, so the empty name comes last
UPB_ORDER = ["B10", "B11", "B1", "B2", "a\x00b", "abc", "ab", "a", "z", "\u00e9", "\uffff", "\U0001f600", ""]


def test_key_order_is_protobufs(codecs):
    features = {k: [float(i)] for i, k in enumerate(sorted(UPB_ORDER))}
    ours = codecs.example.encode_example(features)
    want = {k: ("float", v) for k, v in features.items()}
    assert ours == pb_example(want).SerializeToString(deterministic=True)
    assert list(codecs.example.decode_example(ours)) == UPB_ORDER
    lists = {k: [[1.0]] for k in sorted(UPB_ORDER)}
    ours = codecs.example.encode_sequence_example(features, lists)
    assert ours == pb_sequence_example(want, {k: [("float", [1.0])] for k in lists}).SerializeToString(deterministic=True)
    context, got_lists = codecs.example.decode_sequence_example(ours)
    assert list(context) == list(got_lists) == UPB_ORDER


@ORACLE
@given(S.example_features())
def test_encode_matches_protobuf(codecs, drawn):
    features, want = without_snans(*drawn)
    ours = codecs.example.encode_example(features)
    assert ours == pb_example(want).SerializeToString(deterministic=True)
    for data in (ours, codecs.example.encode_example(features, sort_keys=False)):
        parsed = example_pb2.Example.FromString(data).features.feature
        assert sorted(parsed) == sorted(want)
        for name, (kind, values) in want.items():
            got_kind, got = pb_value(parsed[name])
            assert got_kind == kind
            assert list(got) == list(values) if kind == "bytes" else got.tobytes() == np.asarray(values, got.dtype).tobytes()


@ORACLE
@given(S.example_features())
def test_decode_protobuf_serializations(codecs, drawn):
    features, want = without_snans(*drawn)
    message = pb_example(want)
    for data in (message.SerializeToString(), message.SerializeToString(deterministic=True)):
        assert_decoded(codecs.example.decode_example(data), want, ordered=False)


@ORACLE
@given(S.example_encodings())
def test_decode_agrees_with_protobuf_on_any_valid_writing(codecs, drawn):
    data, want = drawn
    assert_decoded(codecs.example.decode_example(data), want)
    parsed = example_pb2.Example.FromString(data).features.feature  # the strategy, checked by protobuf
    assert sorted(parsed) == sorted(want)
    for name, (kind, values) in want.items():
        got_kind, got = pb_value(parsed[name])
        assert got_kind == kind
        if kind == "bytes":
            assert got == values
        elif kind is not None:
            assert got.tobytes() == np.asarray(values, got.dtype).tobytes()


def test_float64_rounds_like_protobuf(codecs):
    """float64 -> float32 as protobuf converts Python floats: to nearest (ties to even), beyond
    the range to inf, below it to subnormals or zero, NaNs kept."""
    edge = [0.1, 1 / 3, 1 + 2**-24, 1 + 3 * 2**-24, 3.4028235677973366e38, 3.4028235677973362e38, 1e300, -1e300,
            1e-46, 7e-46, 1.4e-45, 2**-150, 2**-149 * 1.5, -0.0, float("inf"), float("nan")]
    edge += np.array([0x7FF0000000000001, 0xFFF8000000000ABC, 0x7FF4000000000000], np.uint64).view(np.float64).tolist()
    want = feature_pb2.FloatList(value=edge).SerializeToString()[2:]  # the packed payload
    for value in (np.array(edge), edge, np.array(edge)[::-1][::-1], np.array(edge).astype(">f8")):
        got = codecs.example.encode_example({"x": value})
        assert got == example(entry(b"x", ld(2, ld(1, want))))


def test_unknown_field_in_a_map_entry_drops_it_like_protobuf(codecs):
    """upb keeps a map entry holding any other field as an unknown field of Features: the feature
    is absent, and an earlier entry of that name stays (see the codec docstring)."""
    first = entry(b"k", f_ints(5))
    cases = [
        (example(entry(b"k", f_ints(7), extra=wire_tag(3, 0) + b"\x00")), {}),
        (example(entry(b"k", f_ints(7), extra=ld(9, b"ab"))), {}),
        (example(entry(b"k", f_ints(7), extra=wire_tag(1, 0) + b"\x01")), {}),  # a key as a varint
        (example(first, entry(b"k", f_ints(7), extra=wire_tag(2, 5) + b"\x00" * 4)), {"k": ("int64", [5])}),
        (example(entry(b"k", f_ints(7)), entry(b"j", extra=wire_tag(9, 3) + wire_tag(9, 4))), {"k": ("int64", [7])}),
        # unknown fields inside the Feature, the list, Features and Example are plain unknowns
        (example(entry(b"k", f_ints(7) + wire_tag(9, 0) + b"\x01"), wire_tag(9, 5) + b"\x00" * 4) + ld(7, b"z"),
         {"k": ("int64", [7])}),
    ]
    for data, want in cases:
        assert_decoded(codecs.example.decode_example(data), want)
        parsed = example_pb2.Example.FromString(data).features.feature
        assert {k: pb_value(v)[0] for k, v in parsed.items()} == {k: kind for k, (kind, _) in want.items()}


def test_tensorflow_rejects_what_protobuf_drops():
    """The peer disagreement the docstring records: TensorFlow's own parser refuses an Example
    whose map entry holds an unknown field."""
    data = example(entry(b"k", f_ints(7), extra=wire_tag(3, 0) + b"\x00"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.parse_single_example(data, {"k": tf.io.FixedLenFeature([1], tf.int64)})


BAD_KEYS = [b"\xff", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"a\xe0\x80\xaf", b"\xf8\x88\x80\x80\x80", b"ab\xc3"]
GOOD_KEYS = [b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf", b"a\x00b", b"", "\u00e9\U0001f600".encode()]


@pytest.mark.parametrize("key", BAD_KEYS, ids=[k.hex() for k in BAD_KEYS])
def test_invalid_utf8_key_is_refused_like_protobuf(codecs, key):
    data = example(entry(b"ok", f_ints(1)), entry(key, f_ints(1)))
    with pytest.raises(ProtobufDecodeError):
        example_pb2.Example.FromString(data)
    with pytest.raises(DecodeError) as info:
        codecs.example.decode_example(data)
    assert str(info.value) == E + "key at offset 19 is not valid UTF-8"
    seq = ld(2, entry(key, ld(1, f_ints(1))))
    with pytest.raises(ProtobufDecodeError):
        example_pb2.SequenceExample.FromString(seq)
    with pytest.raises(DecodeError, match="^SequenceExample: key at offset 6 is not valid UTF-8$"):
        codecs.example.decode_sequence_example(seq)


@pytest.mark.parametrize("key", GOOD_KEYS, ids=[k.hex() for k in GOOD_KEYS])
def test_valid_utf8_keys_are_accepted_like_protobuf(codecs, key):
    data = example(entry(key, f_ints(1)))
    assert list(example_pb2.Example.FromString(data).features.feature) == [key.decode()]
    assert_decoded(codecs.example.decode_example(data), {key.decode(): ("int64", [1])})


# --------------------------------------------------------------------------------------------
# tf.io.parse_single_example as the oracle of the spec


TF_DTYPES = {"float": tf.float32, "int64": tf.int64, "bytes": tf.string}
NP_DTYPES = {"float": np.float32, "int64": np.int64, "bytes": bytes}


@TF_ORACLE
@given(S.example_features(max_size=4))
def test_tensorflow_parses_our_bytes(codecs, drawn):
    features, want = drawn
    data = codecs.example.encode_example(features)
    # arrays keep their shape (rank 0 included); other values are read as a vector
    shapes = {
        name: list(features[name].shape) if isinstance(features[name], np.ndarray) else [len(values)]
        for name, (_, values) in want.items()
    }
    tf_spec = {name: tf.io.FixedLenFeature(shapes[name], TF_DTYPES[kind]) for name, (kind, _) in want.items()}
    ours = codecs.example.decode_example(data, spec={name: (shapes[name], NP_DTYPES[kind]) for name, (kind, _) in want.items()})
    # a rank-0 string comes back as bytes: an object array keeps it whole ("S" would drop trailing NULs)
    theirs = {
        name: np.asarray(t.numpy(), dtype=object if t.dtype == tf.string else None)
        for name, t in tf.io.parse_single_example(data, tf_spec).items()
    } if want else {}
    assert list(ours) == list(want)
    for name, (kind, values) in want.items():
        assert ours[name].shape == tuple(shapes[name]) == theirs[name].shape
        if kind == "bytes":
            assert ours[name].dtype == object and ours[name].reshape(-1).tolist() == theirs[name].reshape(-1).tolist() == values
        else:
            assert ours[name].dtype == theirs[name].dtype
            assert ours[name].tobytes() == theirs[name].tobytes() == np.asarray(values, ours[name].dtype).tobytes()


# --------------------------------------------------------------------------------------------
# spec behaviour (tf.io.FixedLenFeature)


SPEC_DATA = example(
    entry(b"f", f_floats(1, 2, 3, 4, 5, 6)),
    entry(b"i", f_ints(-1, 2)),
    entry(b"b", f_bytes(b"x", b"", b"yz")),
    entry(b"s", f_ints(42)),
    entry(b"none"),
    entry(b"empty", ld(2, b"")),
)


def test_spec_reshapes_and_selects(codecs):
    dec = codecs.example.decode_example
    got = dec(SPEC_DATA, spec={"i": ([2], np.int64), "f": ((2, 3), np.float32), "b": (3, bytes), "s": ((), "int64")})
    assert list(got) == ["i", "f", "b", "s"]  # the spec's order; features absent from it ignored
    np.testing.assert_array_equal(got["f"], np.arange(1, 7, dtype=np.float32).reshape(2, 3))
    assert got["f"].dtype == np.float32 and got["i"].dtype == np.int64 and got["i"].tolist() == [-1, 2]
    assert got["b"].dtype == object and got["b"].shape == (3,) and got["b"].tolist() == [b"x", b"", b"yz"]
    assert got["s"].shape == () and got["s"].dtype == np.int64 and got["s"][()] == 42
    got = dec(SPEC_DATA, spec={"f": ([3, 1, 2], tf.float32), "b": ([1, 3], tf.string), "empty": ([0, 5], "float32")})
    assert got["f"].shape == (3, 1, 2) and got["b"].tolist() == [[b"x", b"", b"yz"]] and got["empty"].shape == (0, 5)
    assert dec(SPEC_DATA, spec={}) == {}
    for string_type in (str, object, "string", np.bytes_, "S", "U", np.dtype(object)):
        assert dec(SPEC_DATA, spec={"b": ([3], string_type)})["b"].tolist() == [b"x", b"", b"yz"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"nope": ([1], np.float32)}, E + "feature 'nope' is missing"),
        ({"none": ([0], np.float32)}, E + "feature 'none' is missing (present with no kind set)"),
        ({"i": ([2], np.float32)}, E + "feature 'i' is int64_list, the spec wants float_list"),
        ({"f": ([6], np.int64)}, E + "feature 'f' is float_list, the spec wants int64_list"),
        ({"f": ([6], bytes)}, E + "feature 'f' is float_list, the spec wants bytes_list"),
        ({"b": ([3], np.float32)}, E + "feature 'b' is bytes_list, the spec wants float_list"),
        ({"empty": ([0], np.int64)}, E + "feature 'empty' is float_list, the spec wants int64_list"),
        ({"f": ([5], np.float32)}, E + "feature 'f' has 6 values, the spec's shape [5] needs 5"),
        ({"f": ([2, 2], np.float32)}, E + "feature 'f' has 6 values, the spec's shape [2, 2] needs 4"),
        ({"s": ([0], np.int64)}, E + "feature 's' has 1 values, the spec's shape [0] needs 0"),
        ({"i": ((), np.int64)}, E + "feature 'i' has 2 values, the spec's shape [] needs 1"),
        ({"b": ([2], bytes)}, E + "feature 'b' has 3 values, the spec's shape [2] needs 2"),
        # checked in the spec's order: the first problem is reported
        ({"f": ([6], np.float32), "i": ([3], np.int64), "nope": ([1], np.float32)}, E + "feature 'i' has 2 values, the spec's shape [3] needs 3"),
    ],
)
def test_spec_errors_name_the_feature(codecs, spec, message):
    with pytest.raises(DecodeError) as info:
        codecs.example.decode_example(SPEC_DATA, spec=spec)
    assert str(info.value) == message


def test_spec_errors_agree_with_tensorflow():
    """TensorFlow refuses the same cases (its own messages): a missing feature, one with no kind,
    a wrong kind (even with no values) and a wrong count."""
    for name, shape, dtype in [("nope", [1], tf.float32), ("none", [0], tf.float32), ("i", [2], tf.float32),
                               ("empty", [0], tf.int64), ("f", [5], tf.float32)]:
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.parse_single_example(SPEC_DATA, {name: tf.io.FixedLenFeature(shape, dtype)})


@pytest.mark.parametrize(
    "spec, exc, message",
    [
        ([("f", ([6], np.float32))], TypeError, "spec must be a mapping of names to (shape, dtype), not list"),
        ({1: ([6], np.float32)}, TypeError, "spec names must be str, not int"),
        ({"f": [6]}, TypeError, "spec entry 'f' must be a (shape, dtype) pair"),
        ({"f": ([6], np.float32, 0)}, TypeError, "spec entry 'f' must be a (shape, dtype) pair"),
        ({"f": (None, np.float32)}, TypeError, "spec entry 'f': shape must be an int or a sequence of ints"),
        ({"f": ([2.0, 3], np.float32)}, TypeError, "spec entry 'f': shape must be an int or a sequence of ints"),
        ({"f": ([True], np.float32)}, TypeError, "spec entry 'f': shape must be an int or a sequence of ints"),
        ({"f": ([2, -1], np.float32)}, ValueError, "spec entry 'f': shape [2, -1] has a negative dimension"),
        ({"f": ([6], np.float64)}, TypeError, "spec entry 'f': dtype <class 'numpy.float64'> is not float32, int64 or a string type"),
        ({"f": ([6], np.int32)}, TypeError, "spec entry 'f': dtype <class 'numpy.int32'> is not float32, int64 or a string type"),
        ({"f": ([6], "nonsense")}, TypeError, "spec entry 'f': dtype 'nonsense' is not float32, int64 or a string type"),
    ],
)
def test_bad_spec_raises_before_reading(codecs, spec, exc, message):
    for data in (SPEC_DATA, b"\xff"):  # the spec is checked first, even for malformed data
        with pytest.raises(exc) as info:
            codecs.example.decode_example(data, spec=spec)
        assert type(info.value) is exc and str(info.value) == message


def test_spec_does_not_skip_validation(codecs):
    """Features absent from the spec are still parsed: a malformed one is an error."""
    data = example(entry(b"ok", f_ints(1)), entry(b"bad", ld(2, ld(1, b"\x00" * 5))))
    with pytest.raises(DecodeError) as info:
        codecs.example.decode_example(data, spec={"ok": ([1], np.int64)})
    assert str(info.value) == E + "feature 'bad': packed float_list of 5 bytes at offset 28 is not a multiple of 4"


# --------------------------------------------------------------------------------------------
# SequenceExample


@ORACLE
@given(S.sequence_examples())
def test_sequence_example_matches_protobuf(codecs, drawn):
    context, lists, want_context, want_lists = drawn
    context, want_context = without_snans(context, want_context)
    for name, steps in want_lists.items():
        pairs = [quiet_feature(value, *step) for value, step in zip(lists[name], steps)]
        lists[name] = [value for value, _ in pairs]
        want_lists[name] = [step for _, step in pairs]
    ours = codecs.example.encode_sequence_example(context, lists)
    message = pb_sequence_example(want_context, want_lists)
    assert ours == message.SerializeToString(deterministic=True)
    # protobuf parses ours, sorted or not, into that same message (compared as bytes: NaN != NaN)
    unsorted = codecs.example.encode_sequence_example(context, lists, sort_keys=False)
    for data in (ours, unsorted):
        assert example_pb2.SequenceExample.FromString(data).SerializeToString(deterministic=True) == ours
    for data in (message.SerializeToString(), ours, unsorted):
        got_context, got_lists = codecs.example.decode_sequence_example(data)
        assert_decoded(got_context, want_context, ordered=data is unsorted)
        assert sorted(got_lists) == sorted(want_lists)
        if data is unsorted:
            assert list(got_lists) == list(want_lists)
        for name, steps in want_lists.items():
            assert len(got_lists[name]) == len(steps)
            for got, (kind, values) in zip(got_lists[name], steps):
                assert_value(got, kind, values)


@ORACLE
@given(S.sequence_example_encodings())
def test_sequence_decode_agrees_with_protobuf_on_any_valid_writing(codecs, drawn):
    data, want_context, want_lists = drawn
    context, lists = codecs.example.decode_sequence_example(data)
    assert_decoded(context, want_context)
    assert list(lists) == list(want_lists)
    for name, steps in want_lists.items():
        assert len(lists[name]) == len(steps)
        for got, (kind, values) in zip(lists[name], steps):
            assert_value(got, kind, values)
    parsed = example_pb2.SequenceExample.FromString(data)
    assert sorted(parsed.context.feature) == sorted(want_context)
    assert {k: [pb_value(f)[0] for f in v.feature] for k, v in parsed.feature_lists.feature_list.items()} == {
        k: [kind for kind, _ in steps] for k, steps in want_lists.items()
    }


def test_sequence_example_by_hand(codecs):
    m = codecs.example
    data = m.encode_sequence_example(
        {"len": 2}, {"tok": [[b"a", b"b"], "c"], "x": np.array([[1.0, 2.0], [3.0, 4.0]]), "none": []}
    )
    want = ld(1, entry(b"len", f_ints(2))) + ld(
        2,
        entry(b"none", b"")
        + entry(b"tok", ld(1, f_bytes(b"a", b"b")) + ld(1, f_bytes(b"c")))
        + entry(b"x", ld(1, f_floats(1, 2)) + ld(1, f_floats(3, 4))),
    )
    assert data == want
    context, lists = m.decode_sequence_example(data)
    assert_decoded(context, {"len": ("int64", [2])})
    assert list(lists) == ["none", "tok", "x"]
    assert_value(lists["x"][1], "float", [3, 4])
    assert lists["tok"] == [[b"a", b"b"], [b"c"]] and lists["none"] == []
    # a step with no kind, FeatureList occurrences that merge, a repeated name (last wins)
    data = ld(2, entry(b"s", ld(1, f_ints(1)), ld(1, b"") + ld(1, f_bytes()))) + ld(2, entry(b"t", ld(1, b""))) + ld(
        2, entry(b"t", ld(1, f_ints(9)))
    )
    context, lists = m.decode_sequence_example(data)
    assert context == {} and list(lists) == ["s", "t"]
    assert len(lists["s"]) == 3 and lists["s"][1] is None and lists["s"][2] == []
    assert_value(lists["s"][0], "int64", [1])
    assert len(lists["t"]) == 1
    assert_value(lists["t"][0], "int64", [9])


@pytest.mark.parametrize(
    "value, exc, message",
    [
        ({"x": 5}, TypeError, "feature list 'x' must be a list, tuple or array of steps, not int"),
        ({"x": "ab"}, TypeError, "feature list 'x' must be a list, tuple or array of steps, not str"),
        ({"x": np.float32(1)}, TypeError, "feature list 'x' must be a list, tuple or array of steps, not float32"),
        ({"x": np.array(1.0)}, TypeError, "feature list 'x' must be a list, tuple or array of steps, not ndarray"),
        ({"x": [1.0, None]}, TypeError, "feature 'x': cannot encode a value of type NoneType (expected an array, a number, bytes, str or a list of them)"),
        ({3: []}, TypeError, "feature names must be str, not int"),
        ([], TypeError, "feature_lists must be a mapping of names to values, not list"),
    ],
)
def test_sequence_encode_errors(codecs, value, exc, message):
    with pytest.raises(exc) as info:
        codecs.example.encode_sequence_example({}, value)
    assert type(info.value) is exc and str(info.value) == message
    with pytest.raises(TypeError, match="^context must be a mapping of names to values, not tuple$"):
        codecs.example.encode_sequence_example((), {})


# --------------------------------------------------------------------------------------------
# encoding decisions (module docstring)


def test_empty_sequences(codecs):
    enc = codecs.example.encode_example
    empty_float = example(entry(b"e", ld(2, b"")))
    assert enc({"e": np.zeros((0, 3))}) == enc({"e": np.array([], np.float32)}) == empty_float
    assert enc({"e": np.array([], np.int64)}) == enc({"e": np.zeros(0, bool)}) == example(entry(b"e", ld(3, b"")))
    empty_bytes = example(entry(b"e", ld(1, b"")))
    assert enc({"e": []}) == enc({"e": ()}) == enc({"e": np.array([], object)}) == enc({"e": np.array([], "S1")}) == empty_bytes


def test_empty_list_is_an_empty_bytes_list(codecs):
    """A list is the bytes route (numeric data comes as arrays): ``[]`` is the Feature protobuf
    writes for ``bytes_list=BytesList(value=[])``, and TensorFlow reads it as an empty string
    feature."""
    data = codecs.example.encode_example({"tags": []})
    want = tf.train.Example(
        features=tf.train.Features(feature={"tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=[]))})
    ).SerializeToString(deterministic=True)
    assert data == want
    assert codecs.example.encode_example({"tags": ()}) == want
    parsed = tf.io.parse_single_example(data, {"tags": tf.io.VarLenFeature(tf.string)})["tags"]
    assert parsed.dtype == tf.string and parsed.values.numpy().tolist() == [] and parsed.dense_shape.numpy().tolist() == [0]
    assert codecs.example.decode_example(data) == {"tags": []}
    context, lists = codecs.example.decode_sequence_example(codecs.example.encode_sequence_example({}, {"s": [[], [b"a"]]}))
    assert lists == {"s": [[], [b"a"]]}


def test_float32_bits_are_kept(codecs):
    """Every float32 bit pattern goes through untouched, signalling NaNs included (protobuf fed
    from Python floats would quiet them)."""
    bits = np.array([0x7F800001, 0xFFBFFFFF, 0x7FC00001, 0x80000000, 0x00000001, 0x7F7FFFFF], np.uint32)
    values = bits.view(np.float32)
    data = codecs.example.encode_example({"x": values})
    assert data == example(entry(b"x", ld(2, ld(1, bits.astype("<u4").tobytes()))))
    assert codecs.example.decode_example(data)["x"].view(np.uint32).tolist() == bits.tolist()
    for other in (values.astype(">f4"), np.repeat(values, 2)[::2], values.reshape(2, 3).T.copy().T):
        assert codecs.example.encode_example({"x": other}) == data


def test_other_float_dtypes(codecs):
    enc = codecs.example.encode_example
    want = enc({"x": np.array([1.5, -2.0, 65504.0], np.float32)})
    for dtype in (np.float16, np.float64, np.longdouble, ">f8"):
        assert enc({"x": np.array([1.5, -2.0, 65504.0]).astype(dtype)}) == want
    assert enc({"x": np.array([1.5, -2.0, 65504.0]).astype(ml_dtypes.bfloat16)}) == enc({"x": [1.5, -2.0, 65536.0]})
    assert enc({"x": 1.5}) == enc({"x": np.float64(1.5)}) == enc({"x": [1.5]}) == enc({"x": np.array([[1.5]])})


@pytest.mark.parametrize(
    "value, want",
    [
        (True, [1]),
        (np.array([True, False]), [1, 0]),
        (7, [7]),
        (np.uint64(2**63 - 1), [2**63 - 1]),
        (np.array([2**63 - 1, 0], np.uint64), [2**63 - 1, 0]),
        ([-(2**63), 2**63 - 1], [-(2**63), 2**63 - 1]),
        (np.array([-1, 255], np.int16).astype(">i2"), [-1, 255]),
        (np.array([[1, 2], [3, 4]], np.uint8).T, [1, 3, 2, 4]),
        (np.array([1, 2**63 - 1], dtype=object), [1, 2**63 - 1]),
        (np.array([np.int8(-3), 4], dtype=object), [-3, 4]),
        ([[1, 2], [3, 4]], [1, 2, 3, 4]),
    ],
)
def test_integer_values(codecs, value, want):
    data = codecs.example.encode_example({"i": value})
    assert data == example(entry(b"i", f_ints(*want)))
    assert codecs.example.decode_example(data)["i"].tolist() == want


@pytest.mark.parametrize(
    "value, message",
    [
        (np.array([1, 2**63], np.uint64), "feature 'i': value 9223372036854775808 is out of range for an int64_list"),
        (np.uint64(2**64 - 1), "feature 'i': value 18446744073709551615 is out of range for an int64_list"),
        (2**63, "feature 'i': value 9223372036854775808 is out of range for an int64_list"),
        (2**64, "feature 'i': value 18446744073709551616 is out of range for an int64_list"),
        ([5, -(2**63) - 1], "feature 'i': value -9223372036854775809 is out of range for an int64_list"),
        (np.array([0, 2**70], dtype=object), "feature 'i': value 1180591620717411303424 is out of range for an int64_list"),
    ],
)
def test_integers_beyond_int64_are_refused(codecs, value, message):
    with pytest.raises(ValueError) as info:
        codecs.example.encode_example({"i": value})
    assert type(info.value) is ValueError and str(info.value) == message


@pytest.mark.parametrize(
    "value, want",
    [
        (b"ab", [b"ab"]),
        (bytearray(b"ab"), [b"ab"]),
        ("h\u00e9", ["h\u00e9".encode()]),
        (np.bytes_(b"q"), [b"q"]),
        ([b"a", "b", bytearray(b"")], [b"a", b"b", b""]),
        ((b"a",), [b"a"]),
        (np.array([b"a\x00", b"bc"]), [b"a", b"bc"]),  # numpy's S items lose trailing NULs
        (np.array([["x", "\U0001f600"]]), [b"x", "\U0001f600".encode()]),
        (np.array([b"a", "b"], dtype=object), [b"a", b"b"]),
        ([[b"a"], [b"b"]], [b"a", b"b"]),
    ],
)
def test_text_values(codecs, value, want):
    data = codecs.example.encode_example({"t": value})
    assert data == example(entry(b"t", f_bytes(*want)))
    assert codecs.example.decode_example(data)["t"] == want


BAD_VALUES = [
    (None, TypeError, "feature 'x': cannot encode a value of type NoneType (expected an array, a number, bytes, str or a list of them)"),
    ({1: 2}, TypeError, "feature 'x': cannot encode a value of type dict (expected an array, a number, bytes, str or a list of them)"),
    ({1.0}, TypeError, "feature 'x': cannot encode a value of type set (expected an array, a number, bytes, str or a list of them)"),
    (1j, TypeError, "feature 'x': cannot encode a value of type complex (expected an array, a number, bytes, str or a list of them)"),
    (memoryview(b"ab"), TypeError, "feature 'x': cannot encode a value of type memoryview (expected an array, a number, bytes, str or a list of them)"),
    ((i for i in range(2)), TypeError, "feature 'x': cannot encode a value of type generator (expected an array, a number, bytes, str or a list of them)"),
    (np.array([1j]), TypeError, "feature 'x': cannot encode numpy dtype complex128 (expected float, integer, bool, bytes or str)"),
    (np.array(["2020-01-01"], "datetime64[D]"), TypeError, "feature 'x': cannot encode numpy dtype datetime64[D] (expected float, integer, bool, bytes or str)"),
    (np.zeros(2, "V3"), TypeError, "feature 'x': cannot encode numpy dtype |V3 (expected float, integer, bool, bytes or str)"),
    ([b"a", 1], TypeError, "feature 'x': a bytes_list value holds an item of type int; expected bytes or str"),
    ([1.0, "a"], TypeError, "feature 'x': a bytes_list value holds an item of type float; expected bytes or str"),
    (np.array([b"a", 1.5], dtype=object), TypeError, "feature 'x': a bytes_list value holds an item of type float; expected bytes or str"),
    (np.array([None]), TypeError, "feature 'x': a bytes_list value holds an item of type NoneType; expected bytes or str"),
    ("\ud800", UnicodeEncodeError, None),
    ([b"ok", "\udfff"], UnicodeEncodeError, None),
]


@pytest.mark.parametrize("value, exc, message", BAD_VALUES, ids=[str(i) for i in range(len(BAD_VALUES))])
def test_unsupported_values(codecs, value, exc, message):
    with pytest.raises(exc) as info:
        codecs.example.encode_example({"x": value})
    assert type(info.value) is exc
    if message is not None:
        assert str(info.value) == message


def test_names_and_mappings(codecs):
    enc = codecs.example.encode_example
    with pytest.raises(TypeError, match="^feature names must be str, not bytes$"):
        enc({b"x": 1})
    with pytest.raises(TypeError, match="^features must be a mapping of names to values, not list$"):
        enc([("x", 1)])
    with pytest.raises(UnicodeEncodeError):
        enc({"\udc80": 1})
    proxy = MappingProxyType({"b": 1, "a": 2})
    assert enc(proxy) == enc({"a": 2, "b": 1}) == example(entry(b"a", f_ints(2)), entry(b"b", f_ints(1)))
    assert enc(proxy, sort_keys=False) == example(entry(b"b", f_ints(1)), entry(b"a", f_ints(2)))


def test_layouts_encode_row_major(codecs):
    enc = codecs.example.encode_example
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    want = example(entry(b"x", f_floats(*range(24))))
    for view in (base, np.asfortranarray(base), base.astype(">f4"), base.astype(np.float64, order="F"),
                 np.ascontiguousarray(base[:, ::-1][:, ::-1]), np.repeat(base, 2, axis=2)[:, :, ::2]):
        assert enc({"x": view}) == want
    assert enc({"x": np.float32(7)}) == enc({"x": np.array(7, np.float32)}) == example(entry(b"x", f_floats(7)))


# --------------------------------------------------------------------------------------------
# decoding decisions


def test_decoding_merges_and_last_wins(codecs):
    dec = codecs.example.decode_example
    data = (
        example(entry(b"a", f_ints(1)), entry(b"b", f_floats(1)))
        + wire_tag(7, 0) + b"\x01"  # an unknown Example field
        + example(entry(b"a", f_bytes(b"z")), entry(b"c"))  # Features repeated: entries merge, a wins last
    )
    assert_decoded(dec(data), {"a": ("bytes", [b"z"]), "b": ("float", [1]), "c": (None, None)})
    # a value repeated in an entry, and a kind repeated in a Feature: values concatenate
    data = example(entry(b"k", f_ints(1, 2), f_ints(3) + f_ints(4)))
    assert_decoded(dec(data), {"k": ("int64", [1, 2, 3, 4])})
    # the key after the value; two keys (the last wins); no key (the empty name)
    data = example(ld(1, ld(2, f_ints(5)) + ld(1, b"x") + ld(1, b"y")), ld(1, ld(2, f_ints(6))))
    assert_decoded(dec(data), {"y": ("int64", [5]), "": ("int64", [6])})
    # packed and unpacked, unknown and wrong-wire-type fields inside the lists
    floats = ld(2, wire_tag(1, 5) + np.float32(1).tobytes() + ld(1, np.float32(2).tobytes()) + wire_tag(1, 0) + b"\x07"
                + wire_tag(2, 5) + b"\x00" * 4)
    ints = ld(3, wire_tag(1, 0) + b"\x01" + ld(1, b"\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01") + wire_tag(1, 5) + b"\x00" * 4
              + wire_tag(1, 0) + b"\x83\x80\x00")  # the last varint non-minimal
    texts = ld(1, ld(1, b"p") + wire_tag(1, 0) + b"\x05" + ld(3, b"skip") + ld(1, b"q"))
    data = example(entry(b"f", floats), entry(b"i", ints), entry(b"t", texts), entry(b"w", wire_tag(2, 0) + b"\x01"))
    assert_decoded(dec(data), {"f": ("float", [1, 2]), "i": ("int64", [1, 2, -1, 3]), "t": ("bytes", [b"p", b"q"]),
                               "w": (None, None)})


def test_decode_input_types(codecs):
    dec = codecs.example.decode_example
    data = example(entry(b"x", f_floats(1.5)))
    want = {"x": ("float", [1.5])}
    for form in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8), memoryview(data + b"\x00")[:-1],
                 memoryview(data).cast("b")):
        assert_decoded(dec(form), want)
    with pytest.raises(TypeError, match="^decode_example takes bytes or a buffer, not str$"):
        dec(data.decode("latin-1"))
    with pytest.raises(TypeError, match="^decode_example needs a C-contiguous buffer$"):
        dec(memoryview(data + data)[::2])
    with pytest.raises(TypeError, match="^decode_sequence_example takes bytes or a buffer, not str$"):
        codecs.example.decode_sequence_example("")


def test_decoded_arrays_own_their_memory(codecs):
    original = example(entry(b"x", f_floats(1, 2)), entry(b"i", f_ints(3)))
    data = bytearray(original)
    got = codecs.example.decode_example(data)
    data[:] = b"\x00" * len(data)  # the input changes: the results do not
    assert got["x"].tolist() == [1, 2] and got["i"].tolist() == [3]
    got["x"][0] = 9  # the results are writable and do not write through
    assert got["x"].flags.writeable and got["x"].tolist() == [9, 2] and bytes(data) == b"\x00" * len(original)


# --------------------------------------------------------------------------------------------
# malformed input: exact messages, both backends

ENT = example(entry(b"k", f_ints(1)))  # 0a 0c | 0a 0a | 0a 01 6b | 12 05 | 1a 03 0a 01 01: 14 bytes


MALFORMED = [
    # wire errors at every level
    ("varint11-example-tag", b"\xff" * 10 + b"\x01", E + "varint longer than 10 bytes at offset 0"),
    ("tag-0", b"\x00", E + "invalid tag 0 at offset 0"),
    ("tag-above-32-bits", b"\x80\x80\x80\x80\x10", E + "invalid tag 4294967296 at offset 0"),
    ("wire-type-7", wire_tag(3, 7), E + "invalid wire type 7 for field 3 at offset 1"),
    ("end-group", wire_tag(3, 4), E + "unexpected end of group 3 at offset 1"),
    ("group-unterminated", wire_tag(3, 3), E + "truncated varint at offset 1"),
    ("group-mismatch", wire_tag(3, 3) + wire_tag(4, 4), E + "mismatched end of group 3 at offset 1"),
    ("groups-too-deep", wire_tag(3, 3) * 70, E + "groups nested deeper than 64 at offset 65"),
    ("features-length-past-end", b"\x0a\x05\x0a\x00", E + "length 5 at offset 1 runs past the end of the message (2 bytes left)"),
    ("features-length-2**64-1", b"\x0a" + wire_varint(2**64 - 1), E + "length 18446744073709551615 at offset 1 runs past the end of the message (0 bytes left)"),
    ("entry-length-past-features", ld(1, b"\x0a\x03\x0a\x00"), E + "length 3 at offset 3 runs past the end of the message (2 bytes left)"),
    ("entry-truncated-tag", ld(1, ld(1, b"\x80")), E + "truncated varint at offset 4"),
    ("entry-fixed64-cut", ld(1, ld(1, wire_tag(5, 1) + b"\x00")), E + "truncated fixed64 field 5 at offset 5"),
    ("key-length-past-entry", ld(1, ld(1, b"\x0a\x05ab") + b"xyz"), E + "length 5 at offset 5 runs past the end of the message (2 bytes left)"),
    ("feature-length-past-entry", ld(1, ld(1, ld(1, b"k") + b"\x12\x09" + b"\x1a\x00") + b"\x00" * 7), E + "length 9 at offset 8 runs past the end of the message (2 bytes left)"),
    ("list-length-past-feature", example(entry(b"k", b"\x1a\x05\x0a\x01")), E + "length 5 at offset 10 runs past the end of the message (2 bytes left)"),
    ("bytes-value-past-list", example(entry(b"k", ld(1, b"\x0a\x02a"))), E + "length 2 at offset 12 runs past the end of the message (1 bytes left)"),
    ("packed-int64-truncated", example(entry(b"k", ld(3, ld(1, b"\x01\x80")))), E + "truncated varint at offset 14"),
    ("packed-int64-varint11", example(entry(b"k", ld(3, ld(1, b"\xff" * 10 + b"\x01")))), E + "varint longer than 10 bytes at offset 13"),
    ("unpacked-int64-truncated", example(entry(b"k", ld(3, b"\x08\x80"))), E + "truncated varint at offset 12"),
    ("unpacked-float-cut", example(entry(b"k", ld(2, b"\x0d\x00\x00"))), E + "truncated fixed32 field 1 at offset 12"),
    ("bad-group-in-feature", example(entry(b"k", wire_tag(9, 3) + wire_tag(8, 4))), E + "mismatched end of group 9 at offset 10"),
    ("truncated-after-good-entry", ENT + b"\x0a", E + "truncated varint at offset 15"),
    # Example-specific
    ("two-kinds", example(entry(b"k", ld(2, b"") + ld(3, b""))), E + "feature 'k' has both float_list and int64_list set at offset 11"),
    ("two-kinds-over-values", example(entry(b"k", f_bytes(b"a"), f_floats(1))),
     E + "feature 'k' has both bytes_list and float_list set at offset 16"),
    ("two-kinds-key-after", example(ld(1, ld(2, ld(3, b"") + ld(1, b"")) + ld(1, b"\xc3\xa9"))),
     E + "feature '\u00e9' has both int64_list and bytes_list set at offset 8"),
    ("two-kinds-no-key", example(ld(1, ld(2, ld(1, b"") + ld(2, b"")))), E + "feature '' has both bytes_list and float_list set at offset 8"),
    ("float-not-x4", example(entry(b"k", ld(2, ld(1, b"\x00" * 6)))), E + "feature 'k': packed float_list of 6 bytes at offset 13 is not a multiple of 4"),
    ("float-not-x4-second", example(entry(b"k", ld(2, ld(1, b"\x00" * 4) + ld(1, b"\x00")))),
     E + "feature 'k': packed float_list of 1 bytes at offset 19 is not a multiple of 4"),
    ("float-not-x4-in-dropped-entry", example(entry(b"k", ld(2, ld(1, b"\x00")), extra=b"\x18\x00")),
     E + "feature 'k': packed float_list of 1 bytes at offset 13 is not a multiple of 4"),
    ("key-utf8-then-wire-error", example(ld(1, ld(1, b"\xff") + b"\x00")), E + "key at offset 6 is not valid UTF-8"),
    ("key-utf8-decoy-overridden", example(ld(1, ld(1, b"\xff") + ld(1, b"k"))), E + "key at offset 6 is not valid UTF-8"),
    ("entry-wire-before-feature", example(ld(1, ld(2, ld(2, ld(1, b"\x00"))) + b"\x00")), E + "invalid tag 0 at offset 11"),
]


@pytest.mark.parametrize("data, message", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_example(codecs, data, message):
    with pytest.raises(DecodeError) as info:
        codecs.example.decode_example(data)
    assert type(info.value) is DecodeError and str(info.value) == message
    with pytest.raises(DecodeError):  # and the same message with a spec
        codecs.example.decode_example(data, spec={"k": ([1], np.int64)})


MALFORMED_SEQUENCE = [
    ("step-two-kinds", ld(2, entry(b"t", ld(1, f_ints(1)) + ld(1, ld(1, b"") + ld(2, b"")))),
     SE + "feature list 't' step 1 has both bytes_list and float_list set at offset 20"),
    ("step-index-over-merged-lists", ld(2, entry(b"t", ld(1, f_ints(1)), ld(1, b"") + ld(1, ld(2, ld(1, b"abc"))))),
     SE + "feature list 't' step 2: packed float_list of 3 bytes at offset 26 is not a multiple of 4"),
    ("context-two-kinds", ld(1, entry(b"c", ld(1, b"") + ld(3, b""))), SE + "context feature 'c' has both bytes_list and int64_list set at offset 11"),
    ("context-float-size", ld(1, entry(b"c", ld(2, ld(1, b"\x00")))), SE + "context feature 'c': packed float_list of 1 bytes at offset 13 is not a multiple of 4"),
    ("lists-length-past-end", b"\x12\x04\x0a\x00", SE + "length 4 at offset 1 runs past the end of the message (2 bytes left)"),
    ("featurelist-bad-tag", ld(2, entry(b"t", b"\x00")), SE + "invalid tag 0 at offset 9"),
    ("step-length-past-list", ld(2, entry(b"t", b"\x0a\x03\x00")), SE + "length 3 at offset 10 runs past the end of the message (1 bytes left)"),
    ("top-level-wire-type-6", ld(1, b"") + wire_tag(2, 6), SE + "invalid wire type 6 for field 2 at offset 3"),
]


@pytest.mark.parametrize("data, message", [c[1:] for c in MALFORMED_SEQUENCE], ids=[c[0] for c in MALFORMED_SEQUENCE])
def test_malformed_sequence_example(codecs, data, message):
    with pytest.raises(DecodeError) as info:
        codecs.example.decode_sequence_example(data)
    assert type(info.value) is DecodeError and str(info.value) == message


def test_protobuf_refuses_what_we_refuse_at_the_wire_level():
    """Wire-level cases above are errors for protobuf too (two kinds is our own rule: protobuf
    keeps the last kind; TensorFlow the first)."""
    for name, data, _ in MALFORMED:
        if name.startswith("two-kinds"):
            assert example_pb2.Example.FromString(data) is not None
        else:
            with pytest.raises(ProtobufDecodeError):
                example_pb2.Example.FromString(data)


def test_every_truncation_is_an_error(both):
    """Every strict prefix of an Example runs past its outer length: the same error from both."""
    ref, twin = both
    for case in CASES:
        data = bytes.fromhex(case["deterministic_hex"])
        for cut in range(1, len(data)):
            a = outcome(ref.example.decode_example, data[:cut])
            assert a[0] == "error" and a == outcome(twin.example.decode_example, data[:cut])


def test_sizes_come_from_the_input_only(codecs):
    """Claimed sizes are checked against the bytes present before anything is allocated."""
    hostile = [
        example(entry(b"k", ld(2, b"\x0a" + wire_varint(1 << 40)))),  # a float_list claiming 1 TiB
        b"\x0a" + wire_varint((1 << 63) - 1),
        example(entry(b"k", ld(3, b"\x0a" + wire_varint(1 << 62) + b"\x01" * 64))),
    ]
    for data in hostile:
        tracemalloc.start()
        try:
            with pytest.raises(DecodeError, match="runs past the end of the message"):
                codecs.example.decode_example(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1 << 16, peak
    # and what is allocated for valid input is bounded by it: 100 kB of floats, 200 kB peak
    data = example(entry(b"k", f_floats(*range(25_000))))
    tracemalloc.start()
    try:
        codecs.example.decode_example(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(data) + (1 << 16), peak


# --------------------------------------------------------------------------------------------
# property tests, each backend and crossed


@PROPERTY
@given(S.example_features(), st.booleans())
def test_round_trip(codecs, drawn, sort_keys):
    features, want = drawn
    data = codecs.example.encode_example(features, sort_keys=sort_keys)
    assert_decoded(codecs.example.decode_example(data), want, ordered=not sort_keys)


@PROPERTY
@given(S.sequence_examples(), st.booleans())
def test_sequence_round_trip(codecs, drawn, sort_keys):
    context, lists, want_context, want_lists = drawn
    got_context, got_lists = codecs.example.decode_sequence_example(
        codecs.example.encode_sequence_example(context, lists, sort_keys=sort_keys)
    )
    assert_decoded(got_context, want_context, ordered=not sort_keys)
    assert sorted(got_lists) == sorted(want_lists)
    for name, steps in want_lists.items():
        assert len(got_lists[name]) == len(steps)
        for got, (kind, values) in zip(got_lists[name], steps):
            assert_value(got, kind, values)


@PROPERTY
@given(S.example_encodings())
def test_decode_any_valid_writing(codecs, drawn):
    data, want = drawn
    assert_decoded(codecs.example.decode_example(data), want)


@pytest.mark.native
@PROPERTY
@given(S.example_features(), S.sequence_examples(), st.booleans())
def test_backends_encode_identically(both, drawn, seq, sort_keys):
    ref, twin = both
    features, _ = drawn
    data = ref.example.encode_example(features, sort_keys=sort_keys)
    assert twin.example.encode_example(features, sort_keys=sort_keys) == data
    context, lists, _, _ = seq
    data = ref.example.encode_sequence_example(context, lists, sort_keys=sort_keys)
    assert twin.example.encode_sequence_example(context, lists, sort_keys=sort_keys) == data
    # and each decodes what the other wrote, alike
    assert outcome(ref.example.decode_sequence_example, data) == outcome(twin.example.decode_sequence_example, data)


@pytest.mark.native
@PROPERTY
@given(S.example_encodings(), S.sequence_example_encodings())
def test_backends_decode_identically(both, drawn, seq):
    ref, twin = both
    data, want = drawn
    assert outcome(ref.example.decode_example, data) == outcome(twin.example.decode_example, data)
    spec = {name: ([len(values)], {"float": np.float32, "int64": np.int64, "bytes": bytes}[kind])
            for name, (kind, values) in want.items() if kind is not None}
    assert outcome(ref.example.decode_example, data, spec=spec) == outcome(twin.example.decode_example, data, spec=spec)
    assert outcome(ref.example.decode_sequence_example, seq[0]) == outcome(twin.example.decode_sequence_example, seq[0])


@pytest.mark.native
@pytest.mark.parametrize("value, exc, message", BAD_VALUES, ids=[str(i) for i in range(len(BAD_VALUES))])
def test_backends_refuse_values_identically(both, value, exc, message):
    errors = []
    for backend in both:
        with pytest.raises(Exception) as info:
            backend.example.encode_example({"a": 1, "x": value})
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1] and errors[0][0] is exc


@pytest.mark.native
@CORRUPTION
@given(S.mutated_examples(), st.booleans())
def test_corrupted_examples_fail_alike(both, data, with_spec):
    ref, twin = both
    kw = {"spec": {"B1": ([4], np.float32)}} if with_spec else {}
    assert outcome(ref.example.decode_example, data, **kw) == outcome(twin.example.decode_example, data, **kw)


@pytest.mark.native
@CORRUPTION
@given(S.mutated_examples(seeds=S.sequence_example_encodings().map(lambda drawn: drawn[0])))
def test_corrupted_sequence_examples_fail_alike(both, data):
    ref, twin = both
    assert outcome(ref.example.decode_sequence_example, data) == outcome(twin.example.decode_sequence_example, data)
