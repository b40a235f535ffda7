"""base64 codec: golden TensorFlow vectors, a pinned table of strict-decoding cases, the two
backends against each other and against live oracles (the stdlib for valid text, TensorFlow),
and the pybase64 behaviour the Cython twin is built on.

Tests taking ``codecs`` run once per backend; tests taking ``both`` cross them (marked
``native``).  Expected results and messages are written out here from the reference's rules
(``tensorwire.codecs.base64``), never taken from an installed decoder's lenience.
"""

import array
import base64 as stdlib_base64
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S
from common import outcome
from tensorwire import DecodeError

GOLDEN = json.loads((Path(__file__).parent / "data" / "base64.json").read_text())["cases"]
ALPHABETS = S.B64_ALPHABETS
BYTES_FORMS = ("bytes", "bytearray", "memoryview")

# Put in front of a pinned case, this moves it past the twin's 256-character scalar threshold
# onto its pybase64 path.  It is in both alphabets, so it changes no outcome: a result gains
# b"AAA" * 80 in front, every offset and length in a message grows by 320.
PREFIX = "QUFB" * 80


# --------------------------------------------------------------------------------------------
# golden vectors (TensorFlow 2.21 tf.io.encode_base64, pad=False and pad=True)


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c["raw_hex"][:16] or "empty")
def test_golden_vectors(codecs, case):
    raw = bytes.fromhex(case["raw_hex"])
    unpadded = case["tf_encode_base64"].encode()
    padded = case["tf_encode_base64_pad"].encode()
    b64 = codecs.base64
    assert b64.b64encode(raw, urlsafe=True, pad=False) == unpadded
    assert b64.b64encode(raw, urlsafe=True) == padded
    standard = padded.translate(bytes.maketrans(b"-_", b"+/"))
    assert b64.b64encode(raw) == standard
    for text in (unpadded, padded):
        for alphabet in ("any", "urlsafe"):
            assert b64.b64decode(text, alphabet=alphabet) == raw
            assert b64.b64decode(text.decode(), alphabet=alphabet) == raw
    assert b64.b64decode(standard, alphabet="standard") == raw
    assert bits_to_bytes(unpadded) == raw


def test_golden_vectors_include_the_spec_example():
    assert {"raw_hex": "fbfffe00", "tf_encode_base64": "-__-AA", "tf_encode_base64_pad": "-__-AA=="} in GOLDEN


# --------------------------------------------------------------------------------------------
# pinned strict decoding (the reference's rules 1-4, in their order)


def pad_before_end(at):
    return lambda shift: f"base64: padding '=' at offset {at + shift} before the end of the text"


def invalid(code, at):
    return lambda shift: f"base64: invalid character 0x{code:02x} at offset {at + shift}"


def mixed(char, at):
    return lambda shift: f"base64: mixed alphabets: {char!r} at offset {at + shift}"


def too_much_padding(count, at):
    return lambda shift: f"base64: {count} padding characters at offset {at + shift}"


def incorrect_padding(length):
    return lambda shift: f"base64: incorrect padding: text of length {length + shift} is not a multiple of 4"


def truncated(at):
    return lambda shift: f"base64: truncated: a single character in the last group at offset {at + shift}"


def non_ascii(at):
    return lambda shift: f"base64: non-ASCII character at offset {at + shift}"


def every(expected):
    return dict.fromkeys(ALPHABETS, expected)


def by_alphabet(any, standard, urlsafe):  # noqa: A002 - named like the alphabets
    return {"any": any, "standard": standard, "urlsafe": urlsafe}


# (text, {alphabet: decoded bytes or the message maker}).  Text is an ASCII str (tried as bytes,
# str, bytearray and memoryview), bytes (non-ASCII bytes: the bytes-like forms), or a non-ASCII
# str (str only).
PINNED = [
    # valid: padding optional but correct; non-zero trailing bits accepted
    ("", every(b"")),
    ("YQ", every(b"a")),
    ("YQ==", every(b"a")),
    ("YWI", every(b"ab")),
    ("YWI=", every(b"ab")),
    ("YWJj", every(b"abc")),
    ("YR", every(b"a")),
    ("YR==", every(b"a")),
    ("YWJ", every(b"ab")),
    ("YWJ=", every(b"ab")),
    # the alphabets (docs/base64.md's example)
    ("-__-AA", by_alphabet(b"\xfb\xff\xfe\x00", invalid(0x2D, 0), b"\xfb\xff\xfe\x00")),
    ("-__-AA==", by_alphabet(b"\xfb\xff\xfe\x00", invalid(0x2D, 0), b"\xfb\xff\xfe\x00")),
    ("+//+AA", by_alphabet(b"\xfb\xff\xfe\x00", b"\xfb\xff\xfe\x00", invalid(0x2B, 0))),
    ("+//+AA==", by_alphabet(b"\xfb\xff\xfe\x00", b"\xfb\xff\xfe\x00", invalid(0x2B, 0))),
    ("Y-", by_alphabet(b"c", invalid(0x2D, 1), b"c")),
    ("Y-+", by_alphabet(mixed("+", 2), invalid(0x2D, 1), invalid(0x2B, 2))),
    ("AB+-", by_alphabet(mixed("-", 3), invalid(0x2D, 3), invalid(0x2B, 2))),
    ("_/", by_alphabet(mixed("/", 1), invalid(0x5F, 0), invalid(0x2F, 1))),
    ("-Y===", by_alphabet(too_much_padding(3, 2), invalid(0x2D, 0), too_much_padding(3, 2))),
    ("-=-=", by_alphabet(pad_before_end(1), invalid(0x2D, 0), pad_before_end(1))),
    # '=' before the end, data after padding
    ("YQ==YQ==", every(pad_before_end(2))),
    ("Y=Q=", every(pad_before_end(1))),
    ("=YQ=", every(pad_before_end(0))),
    ("YQ=A", every(pad_before_end(2))),
    ("YQ==\n", every(pad_before_end(2))),
    ("YQ==YQ", every(pad_before_end(2))),
    ("YWI=YWI", every(pad_before_end(3))),
    ("YWI=YQ", every(pad_before_end(3))),
    ("-Q==-Q", by_alphabet(pad_before_end(2), invalid(0x2D, 0), pad_before_end(2))),
    # padding count and length
    ("YQ=", every(incorrect_padding(3))),
    ("YQ===", every(too_much_padding(3, 2))),
    ("Y===", every(too_much_padding(3, 1))),
    ("====", every(too_much_padding(4, 0))),
    ("=", every(incorrect_padding(1))),
    ("==", every(incorrect_padding(2))),
    ("Y=", every(incorrect_padding(2))),
    ("YWJjZ=", every(incorrect_padding(6))),
    ("YWJjZ==", every(incorrect_padding(7))),
    ("YWJjZQ=", every(incorrect_padding(7))),
    ("YWJjZ===", every(too_much_padding(3, 5))),
    # a lone character in the last group
    ("Y", every(truncated(0))),
    ("YWJjZ", every(truncated(4))),
    # characters in neither alphabet, whitespace included; rule 2 comes before rules 3 and 4
    ("YWJjZ Q==", every(invalid(0x20, 5))),
    (" YQ==", every(invalid(0x20, 0))),
    ("YQ\n==", every(invalid(0x0A, 2))),
    ("YQ\r\n", every(invalid(0x0D, 2))),
    ("YQ\t", every(invalid(0x09, 2))),
    ("YQ\x00=", every(invalid(0x00, 2))),
    ("AB*=", every(invalid(0x2A, 2))),
    ("Y!===", every(invalid(0x21, 1))),
    ("Y!", every(invalid(0x21, 1))),
    ("Y\x7f", every(invalid(0x7F, 1))),
    # non-ASCII bytes
    (b"\x80AAA", every(invalid(0x80, 0))),
    (b"AAA\xff", every(invalid(0xFF, 3))),
    (b"YQ=\xab", every(pad_before_end(2))),
    (b"AB\xaf\xab", every(invalid(0xAF, 2))),
    # non-ASCII str: rule 1 comes first, whatever else is wrong
    ("YQ\u00e9=", every(non_ascii(2))),
    ("+/\u20ac", every(non_ascii(2))),
    ("A=B\u00ff", every(non_ascii(3))),
    ("\U0001f600", every(non_ascii(0))),
]


def forms_of(text):
    if isinstance(text, bytes):
        return BYTES_FORMS
    if not text.isascii():
        return ("str",)
    return S.B64_FORMS


def in_form(text, form):
    if isinstance(text, bytes):
        return {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}[form](text)
    return text if form == "str" else S.b64_in_form(text, form)


@pytest.mark.parametrize("shift", [0, len(PREFIX)], ids=["short", "long"])
@pytest.mark.parametrize("case", PINNED, ids=lambda c: repr(c[0]))
def test_pinned_strict_decoding(codecs, case, shift):
    text, expected = case
    full = (PREFIX[:shift].encode() if isinstance(text, bytes) else PREFIX[:shift]) + text
    for alphabet in ALPHABETS:
        want = expected[alphabet]
        for form in forms_of(text):
            got = outcome(codecs.base64.b64decode, in_form(full, form), alphabet=alphabet)
            if isinstance(want, bytes):
                assert got == ("ok", b"AAA" * (shift // 4) + want), (alphabet, form)
            else:
                assert got == (DecodeError, want(shift)), (alphabet, form)


def test_pinned_table_covers_every_rule():
    messages = {want(0).split(":")[1].split()[0] for _, exp in PINNED for want in exp.values() if callable(want)}
    assert messages == {"padding", "invalid", "mixed", "3", "4", "incorrect", "truncated", "non-ASCII"}


# Texts whose first character of a special alphabet comes late: the twin's "any" path first
# tries the standard alphabet, so these decode the text twice or must switch path at the end.
LATE = [
    ("A" * 1000 + "-w", by_alphabet(b"\0" * 750 + b"\xfb", invalid(0x2D, 1000), b"\0" * 750 + b"\xfb")),
    ("A" * 1000 + "+w", by_alphabet(b"\0" * 750 + b"\xfb", b"\0" * 750 + b"\xfb", invalid(0x2B, 1000))),
    ("A" * 1000 + "_" + "A" * 3, by_alphabet(b"\0" * 750 + b"\xfc\0\0", invalid(0x5F, 1000), b"\0" * 750 + b"\xfc\0\0")),
    ("A" * 1000 + "-w==", by_alphabet(b"\0" * 750 + b"\xfb", invalid(0x2D, 1000), b"\0" * 750 + b"\xfb")),
    ("-" + "A" * 999 + "+w", by_alphabet(mixed("+", 1000), invalid(0x2D, 0), invalid(0x2B, 1000))),
    ("+" + "A" * 1001 + "_", by_alphabet(mixed("_", 1002), invalid(0x5F, 1002), invalid(0x2B, 0))),
    ("A" * 1001 + "/", by_alphabet(b"\0" * 750 + b"\x03", b"\0" * 750 + b"\x03", invalid(0x2F, 1001))),
    ("A" * 1001 + "/=", by_alphabet(incorrect_padding(1003), incorrect_padding(1003), invalid(0x2F, 1001))),
    ("A" * 1000 + " ", every(invalid(0x20, 1000))),
    ("A" * 1000 + "=", every(incorrect_padding(1001))),
    ("A" * 1001, every(truncated(1000))),
]


@pytest.mark.parametrize("case", LATE, ids=lambda c: repr(c[0][-6:]) + f"x{len(c[0])}")
def test_late_special_characters(codecs, case):
    text, expected = case
    for alphabet in ALPHABETS:
        want = expected[alphabet]
        for form in S.B64_FORMS:
            got = outcome(codecs.base64.b64decode, S.b64_in_form(text, form), alphabet=alphabet)
            assert got == (("ok", want) if isinstance(want, bytes) else (DecodeError, want(0))), (alphabet, form)


# --------------------------------------------------------------------------------------------
# arguments, input layouts and signatures


@pytest.mark.parametrize("alphabet", ["std", "ANY", "url", "", None, b"any", 0])
def test_unknown_alphabet(codecs, alphabet):
    with pytest.raises(ValueError) as info:
        codecs.base64.b64decode(b"YQ==", alphabet=alphabet)
    assert type(info.value) is ValueError
    assert str(info.value) == f"alphabet must be one of ('standard', 'urlsafe', 'any'), not {alphabet!r}"


def test_encode_refuses_str(codecs):
    with pytest.raises(TypeError) as info:
        codecs.base64.b64encode("YQ==")
    assert str(info.value) == "b64encode takes bytes or a buffer, not str"


def test_decode_refuses_non_contiguous_buffers(codecs):
    with pytest.raises(TypeError) as info:
        codecs.base64.b64decode(memoryview(b"YWJjYWJj")[::2])
    assert str(info.value) == "b64decode needs a C-contiguous buffer"
    with pytest.raises(TypeError) as info:
        codecs.base64.b64decode(np.frombuffer(b"YWJj" * 64, dtype="u1").reshape(16, 16).T)
    assert str(info.value) == "b64decode needs a C-contiguous buffer"


ODD_INPUTS = [
    pytest.param(12, id="int"),
    pytest.param(None, id="None"),
    pytest.param([1, 2], id="list"),
    pytest.param(memoryview(b"abcdefgh")[::2], id="strided-memoryview"),
    pytest.param(np.zeros((4, 40), "u1")[:, ::2], id="strided-ndarray"),
    pytest.param(np.float32(1.5), id="numpy-scalar"),
    pytest.param(np.zeros((), "<u4"), id="0-d-array"),
    pytest.param(memoryview(b"YWJj").cast("B", (2, 2)), id="2-d-memoryview"),
]


@pytest.mark.native
@pytest.mark.parametrize("value", ODD_INPUTS)
def test_odd_inputs_give_the_same_outcome(both, value):
    ref, twin = both
    assert outcome(twin.base64.b64encode, value) == outcome(ref.base64.b64encode, value)
    assert outcome(twin.base64.b64decode, value) == outcome(ref.base64.b64decode, value)


class BytesSub(bytes):
    pass


class StrSub(str):
    pass


def layouts(raw):
    """The same bytes as every kind of buffer b64encode and b64decode accept."""
    arr = np.frombuffer(raw, "u1")
    yield "bytes", raw
    yield "bytes-subclass", BytesSub(raw)
    yield "bytearray", bytearray(raw)
    yield "memoryview", memoryview(raw)
    yield "memoryview-c", memoryview(raw).cast("c")
    yield "array-B", array.array("B", raw)
    yield "ndarray-u1", arr.copy()
    if len(raw) % 8 == 0:
        yield "array-I", array.array("I", raw)
        yield "ndarray-2d-u4", arr.view("<u4").reshape(2, -1)
        yield "ndarray-f4", arr.view("<f4").copy()
        yield "ndarray-big-endian", arr.view(">u4")
        yield "ndarray-complex", arr.view("<c8")
        yield "ndarray-2d-f8", arr.view("<f8").reshape(-1, 1)


@pytest.mark.parametrize("size", [0, 8, 96, 200, 400, 3000])
def test_input_layouts(codecs, size):
    raw = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    std = stdlib_base64.b64encode(raw)
    url = stdlib_base64.urlsafe_b64encode(raw)
    for name, data in layouts(raw):
        assert codecs.base64.b64encode(data) == std, name
        assert codecs.base64.b64encode(data, urlsafe=True, pad=False) == url.rstrip(b"="), name
    for name, text in layouts(std):
        assert codecs.base64.b64decode(text) == raw, name
        assert codecs.base64.b64decode(text, alphabet="standard") == raw, name
    assert codecs.base64.b64decode(StrSub(url.decode())) == raw
    assert codecs.base64.b64decode(StrSub(std.decode()), alphabet="standard") == raw


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (4, 0, 5)])
def test_empty_multidimensional_buffers(codecs, shape):
    """They hold no bytes (the reference once raised TypeError: memoryview.cast refuses them)."""
    for dtype in ("u1", "<f4"):
        empty = np.zeros(shape, dtype)
        assert codecs.base64.b64encode(empty) == b""
        assert codecs.base64.b64encode(empty, urlsafe=True, pad=False) == b""
        assert codecs.base64.b64decode(empty) == b""


@pytest.mark.parametrize("flags", [("yes", ""), (1, 0), ([0], [])], ids=["str", "int", "list"])
def test_flags_are_truth_tested(codecs, flags):
    true, false = flags
    data = bytes(range(200, 256))
    assert codecs.base64.b64encode(data, urlsafe=true, pad=false) == stdlib_base64.urlsafe_b64encode(data).rstrip(b"=")
    assert codecs.base64.b64encode(data, urlsafe=false, pad=true) == stdlib_base64.b64encode(data)


def _unannotated(f):
    """``f``'s signature without its annotations (the twin's are in its .pyi stub)."""
    sig = inspect.signature(f)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return sig.replace(parameters=params, return_annotation=inspect.Signature.empty)


@pytest.mark.native
def test_same_signatures(both):
    ref, twin = both
    for name in ("b64encode", "b64decode"):
        assert _unannotated(getattr(twin.base64, name)) == _unannotated(getattr(ref.base64, name))


def test_keyword_only_options(codecs):
    with pytest.raises(TypeError):
        codecs.base64.b64encode(b"a", True)
    with pytest.raises(TypeError):
        codecs.base64.b64decode(b"YQ==", "standard")


# --------------------------------------------------------------------------------------------
# hypothesis: the twins against each other, the stdlib as the oracle for valid text


@pytest.mark.native
@given(data=S.b64_payloads(), urlsafe=st.booleans(), pad=st.booleans())
def test_round_trip_crossed(both, data, urlsafe, pad):
    ref, twin = both
    texts = [enc.base64.b64encode(data, urlsafe=urlsafe, pad=pad) for enc in both]
    assert texts[0] == texts[1]
    matching = "urlsafe" if urlsafe else "standard"
    for text in texts:
        for dec in both:
            assert dec.base64.b64decode(text) == data
            assert dec.base64.b64decode(text, alphabet=matching) == data
    # the results are independent objects: encoding again changes none of them
    again = twin.base64.b64encode(data, urlsafe=not urlsafe, pad=not pad)
    assert texts[0] == texts[1] == ref.base64.b64encode(data, urlsafe=urlsafe, pad=pad)
    assert again == ref.base64.b64encode(data, urlsafe=not urlsafe, pad=not pad)


@given(data=S.b64_payloads(), urlsafe=st.booleans(), pad=st.booleans())
def test_encode_matches_stdlib(codecs, data, urlsafe, pad):
    expected = stdlib_base64.urlsafe_b64encode(data) if urlsafe else stdlib_base64.b64encode(data)
    if not pad:
        expected = expected.rstrip(b"=")
    assert codecs.base64.b64encode(data, urlsafe=urlsafe, pad=pad) == expected


@given(case=S.b64_texts(), form=st.sampled_from(S.B64_FORMS))
def test_decode_of_valid_text_matches_stdlib(codecs, case, form):
    data, urlsafe, pad, text = case
    padded = text + b"=" * (-len(text) % 4)
    oracle = (stdlib_base64.urlsafe_b64decode if urlsafe else stdlib_base64.b64decode)(padded)
    assert oracle == data
    own = "urlsafe" if urlsafe else "standard"
    other = "standard" if urlsafe else "urlsafe"
    b64 = codecs.base64
    assert b64.b64decode(S.b64_in_form(text, form)) == data
    assert b64.b64decode(S.b64_in_form(text, form), alphabet=own) == data
    # the other alphabet accepts the text exactly when it has no alphabet-specific character
    specific = set(text) & set(b"-_" if urlsafe else b"+/")
    got = outcome(b64.b64decode, S.b64_in_form(text, form), alphabet=other)
    if specific:
        first = min(text.index(c) for c in specific)
        assert got == (DecodeError, f"base64: invalid character 0x{text[first]:02x} at offset {first}")
    else:
        assert got == ("ok", data)


@pytest.mark.native
@given(text=S.b64_corrupted_texts(), alphabet=st.sampled_from(ALPHABETS))
def test_corrupted_text_gives_the_same_outcome(both, text, alphabet):
    ref, twin = both
    expected = outcome(ref.base64.b64decode, text, alphabet=alphabet)
    assert outcome(twin.base64.b64decode, text, alphabet=alphabet) == expected
    if isinstance(text, bytes):
        assert outcome(twin.base64.b64decode, bytearray(text), alphabet=alphabet) == expected
    if expected[0] == "ok":  # still valid: the bits of its characters are the bytes
        raw = text.encode("ascii") if isinstance(text, str) else text
        assert expected[1] == bits_to_bytes(raw.rstrip(b"="))
    else:
        assert expected[0] is DecodeError


def bits_to_bytes(chars):
    """Decode characters of either alphabet, no padding, from their bits (trailing bits dropped):
    an oracle that has no opinion on validity and no stdlib version behind it."""
    values = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    bits = "".join(f"{values.index(c) if c in values else (62 if c in b'+-' else 63):06b}" for c in chars)
    return int(bits[: len(bits) // 8 * 8] or "0", 2).to_bytes(len(bits) // 8, "big")


# Single edits at the ends of valid texts, where the padding rules act and where the twin's
# scalar/pybase64 and padded/unpadded paths part: every edit of the first 3 and last 8
# characters, on texts around the 256-character threshold and on either side of it.
EDIT_CHARS = "=+/-_ \n*\x00A"


def single_edits(text):
    n = len(text)
    for pos in sorted(set(range(min(3, n))) | set(range(max(0, n - 8), n + 1))):
        if pos < n:
            yield text[:pos] + text[pos + 1 :]
        for c in EDIT_CHARS:
            yield text[:pos] + c + text[pos:]
            if pos < n:
                yield text[:pos] + c + text[pos + 1 :]


@pytest.mark.native
@pytest.mark.parametrize("urlsafe", [False, True], ids=["standard", "urlsafe"])
@pytest.mark.parametrize("pad", [False, True], ids=["unpadded", "padded"])
def test_single_edits_near_the_ends_give_the_same_outcome(both, urlsafe, pad):
    ref, twin = both
    edited = 0
    for size in [*range(0, 7), *range(188, 196), *range(400, 404)]:
        data = bytes((i * 37 + 11) % 256 for i in range(size))
        text = (stdlib_base64.urlsafe_b64encode if urlsafe else stdlib_base64.b64encode)(data).decode()
        text = text if pad else text.rstrip("=")
        for bad in single_edits(text):
            for alphabet in ALPHABETS:
                expected = outcome(ref.base64.b64decode, bad, alphabet=alphabet)
                assert outcome(twin.base64.b64decode, bad, alphabet=alphabet) == expected, (bad, alphabet)
                assert outcome(twin.base64.b64decode, bad.encode(), alphabet=alphabet) == expected, (bad, alphabet)
                edited += 1
    assert edited > 10000


@pytest.mark.native
@pytest.mark.parametrize("prefix", ["", PREFIX], ids=["short", "long"])
def test_every_short_text_gives_the_same_outcome(both, prefix):
    """Every text of up to 4 characters from a set that exercises each rule, alone and after
    PREFIX (the twin's pybase64 path), as str; bytes are the same characters (0x80 for 'é')."""
    ref, twin = both
    texts = [""]
    for _ in range(4):
        texts += [t + c for t in texts if len(t) == len(texts[-1]) for c in "Q-_+/= é"]
    assert len(texts) == 1 + 8 + 64 + 512 + 4096
    for text in texts:
        as_bytes = (prefix + text).encode("latin-1").replace(b"\xe9", b"\x80")
        for alphabet in ALPHABETS:
            for value in (prefix + text, as_bytes):
                expected = outcome(ref.base64.b64decode, value, alphabet=alphabet)
                assert outcome(twin.base64.b64decode, value, alphabet=alphabet) == expected, (value, alphabet)


# --------------------------------------------------------------------------------------------
# TensorFlow as a live oracle (imported here, not at module level: it takes seconds)


def tensorflow():
    import tensorflow as tf  # a missing TensorFlow fails these tests; it must not skip them

    return tf


@pytest.mark.oracle
@settings(max_examples=25)
@given(data=S.b64_payloads(max_size=400), pad=st.booleans())
def test_tensorflow_decodes_our_urlsafe_text(codecs, data, pad):
    tf = tensorflow()
    text = codecs.base64.b64encode(data, urlsafe=True, pad=pad)
    assert tf.io.decode_base64(tf.constant(text)).numpy() == data


@pytest.mark.oracle
@settings(max_examples=25)
@given(data=S.b64_payloads(max_size=400), pad=st.booleans())
def test_we_decode_tensorflow_text(codecs, data, pad):
    tf = tensorflow()
    text = tf.io.encode_base64(tf.constant(data), pad=pad).numpy()
    assert codecs.base64.b64encode(data, urlsafe=True, pad=pad) == text
    assert codecs.base64.b64decode(text) == data
    assert codecs.base64.b64decode(text.decode(), alphabet="urlsafe") == data


@pytest.mark.oracle
def test_tensorflow_rejects_what_urlsafe_rejects(codecs):
    """TensorFlow's decoder, like alphabet="urlsafe", refuses the standard alphabet's characters."""
    tf = tensorflow()
    for text in (b"+//+AA==", b"YQ==YQ==", b"YQ==YQ", b"Y=Q=", b"=YQ=", b"Y===", b"YQ===", b"YQ=", b"YQ =",
                 b" YQ", b"YQ==\n", b"Y"):
        with pytest.raises(tf.errors.InvalidArgumentError):
            tf.io.decode_base64(tf.constant(text)).numpy()
        with pytest.raises(DecodeError):
            codecs.base64.b64decode(text, alphabet="urlsafe")


# --------------------------------------------------------------------------------------------
# pybase64, pinned: the twin passes it standard-alphabet text (complete groups or correctly
# padded, bytes, ASCII str or a byte memoryview) with validate=True, and relies on it rejecting
# exactly what the reference rejects, on whichever SIMD path pybase64 chose for this machine.


def pybase64_simd_paths():
    from pybase64 import _pybase64

    usable = _pybase64._get_simd_flags_runtime() & _pybase64._get_simd_flags_compile()
    return [0] + [1 << bit for bit in range(32) if usable >> bit & 1]


def on_each_simd_path(check):
    from pybase64 import _pybase64

    active = _pybase64._get_simd_path()
    names = []
    try:
        for flag in pybase64_simd_paths():
            _pybase64._set_simd_path(flag)
            names.append(_pybase64._get_simd_name(_pybase64._get_simd_path()))
            check()
    finally:
        _pybase64._set_simd_path(active)
    assert _pybase64._get_simd_path() == active
    return names


def test_pybase64_is_its_c_extension():
    import pybase64
    from pybase64 import _pybase64

    assert pybase64.b64decode is _pybase64.b64decode
    assert "C extension active" in pybase64.get_version()


# Characters put at every position of a valid 164-character text (the length stays a multiple
# of 4): everything the reference rejects there, '*' and 0xAB/0xAF (what the twin's URL-safe
# path writes for a stray '+' or '/'), the URL-safe characters, and '=' (which may or may not
# make valid padding).
PROBES = b"= \n\r\t*\x00\x7f\x80\xab\xaf\xff-_+/A"


def reference_standard(text):
    from tensorwire.codecs import base64 as reference

    return outcome(reference.b64decode, text, alphabet="standard")


def test_pybase64_rejects_what_the_reference_rejects_on_every_simd_path():
    import pybase64

    base = (PREFIX + "YWI=").encode()
    texts = [base[:i] + bytes([c]) + base[i + 1 :] for i in range(len(base)) for c in PROBES]
    texts += [b"YQ==YQ==", PREFIX.encode() + b"YQ==YQ==", b"YR==", PREFIX.encode() + b"YR==", b"YWJj" * 8 + b"=="]
    expected = [reference_standard(t) for t in texts]
    assert any(e[0] == "ok" for e in expected) and any(e[0] is DecodeError for e in expected)

    def check():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for text, want in zip(texts, expected):
                got = outcome(pybase64.b64decode, text, None, True)
                if want[0] == "ok":
                    assert got == want, text
                else:
                    assert got[0] != "ok" and issubclass(got[0], ValueError), text

    names = on_each_simd_path(check)
    assert "No SIMD" in names and len(names) >= 2


def test_pybase64_refuses_unpadded_text():
    """Why the twin decodes the last 2-3 characters of unpadded text itself."""
    import pybase64

    def check():
        for text in (b"YQ", b"YWI", (PREFIX + "YQ").encode(), (PREFIX + "YWI").encode()):
            with pytest.raises(ValueError):
                pybase64.b64decode(text, None, True)

    on_each_simd_path(check)


def test_pybase64_accepts_ascii_str_and_byte_views_like_bytes():
    import pybase64

    text = (PREFIX + "YWI=").encode()
    expected = b"AAA" * 80 + b"ab"

    def check():
        assert pybase64.b64decode(text.decode(), None, True) == expected
        assert pybase64.b64decode(memoryview(text), None, True) == expected
        assert pybase64.b64decode(memoryview(text)[:320], None, True) == b"AAA" * 80
        assert pybase64.b64encode(expected) == text

    on_each_simd_path(check)


@given(text=S.b64_corrupted_texts(max_size=300))
def test_pybase64_never_accepts_what_the_reference_rejects(text):
    """On this machine's SIMD path, over random corruptions cut to whole groups."""
    import pybase64

    raw = text.encode("utf-8") if isinstance(text, str) else text
    raw = raw[: len(raw) - len(raw) % 4]
    got = outcome(pybase64.b64decode, raw, None, True)
    want = reference_standard(raw)
    if got[0] == "ok":
        assert want == got
