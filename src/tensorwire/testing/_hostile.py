"""Request bodies a server must refuse: :func:`hostile`.

Each body is labelled with its class (:data:`CLASSES`).  Most classes are invalid *by
construction*: whatever else is drawn, the body holds one defect every conforming decoder
refuses (a JSON body cut short is not JSON; a nesting 65 levels deep passes ``max_depth``; a
base64 text with ``*`` in it is not base64; a TensorProto of dtype 9999 has no numpy dtype).
Two classes cannot be: a random mutation may leave a valid body (a flipped bit in a float),
and a protobuf message cut at a field boundary is a valid, shorter message.  Those bodies --
``"mutated"`` in every format and ``"truncated"`` in the gRPC formats -- are decoded with the
pure-Python reference codec and kept only when it raises :class:`tensorwire.DecodeError`
(a filter: Hypothesis draws again).

Which classes each format has (:func:`classes_of`): the JSON formats ``truncated``,
``mutated``, ``depth``, ``ragged``, ``bad_utf8``; SERIALIZED_TF_TENSORS and the JSON body also
``bad_base64``; SERIALIZED_TF_TENSORS also ``bad_tensor_proto`` and ``huge_size`` (a
TensorProto claiming 2**80 elements).  The gRPC formats: ``truncated``, ``mutated``, ``depth``
(protobuf groups nested past 64), ``bad_utf8`` (an input name), ``huge_size`` (a length of
2**62, and a TensorProto claiming 2**80 elements), and the payload's own: ``bad_tensor_proto``
(GRPC_TF_TENSORS, GRPC_SERIALIZED_TF_TENSORS), ``bad_base64`` and ``ragged`` (instances of
different shapes, GRPC_SERIALIZED_TF_TENSORS), ``bad_example`` (GRPC_SERIALIZED_TF_EXAMPLES).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from ..codecs import grpc as _ref_grpc
from ..codecs import jsonbody as _ref_jsonbody
from ..errors import DecodeError
from ..payload import GRPC_LAYOUTS, JSON_VALUE_FORMS, PayloadFormat
from ..tensor import encode_tensor
from ._mutate import (
    GRPC_EXAMPLE, GRPC_SEEDS, grpc_entry, grpc_hostile_tokens, grpc_strings, json_hostile_tokens, mutated_bytes,
    tensor_hostile_tokens,
)
from ._payloads import requests
from ._wire import wire_len, wire_tag, wire_varint

__all__ = ["CLASSES", "Hostile", "classes_of", "hostile", "refused"]


class Hostile(NamedTuple):
    """A body that must be refused, and the class of its defect."""

    label: str
    body: bytes


#: Every class :func:`hostile` draws from, in the order the summary tables list them.
CLASSES = ("truncated", "mutated", "depth", "ragged", "bad_base64", "bad_tensor_proto", "bad_example", "bad_utf8",
           "huge_size")

_F = PayloadFormat
_BY_FORMAT: dict[PayloadFormat, tuple[str, ...]] = {
    _F.SERIALIZED_TF_TENSORS: ("truncated", "mutated", "depth", "ragged", "bad_base64", "bad_tensor_proto",
                               "bad_utf8", "huge_size"),
    _F.RAW_JSON: ("truncated", "mutated", "depth", "ragged", "bad_utf8"),
    _F.ND_ARRAYS: ("truncated", "mutated", "depth", "ragged", "bad_utf8"),
    _F.JSON: ("truncated", "mutated", "depth", "ragged", "bad_base64", "bad_utf8"),
    _F.GRPC_TF_TENSORS: ("truncated", "mutated", "depth", "bad_tensor_proto", "bad_utf8", "huge_size"),
    _F.GRPC_SERIALIZED_TF_TENSORS: ("truncated", "mutated", "depth", "ragged", "bad_base64", "bad_tensor_proto",
                                    "bad_utf8", "huge_size"),
    _F.GRPC_SERIALIZED_TF_EXAMPLES: ("truncated", "mutated", "depth", "bad_example", "bad_utf8", "huge_size"),
}


def classes_of(format: PayloadFormat | str) -> tuple[str, ...]:
    """The hostile classes :func:`hostile` draws for ``format``."""
    return _BY_FORMAT[PayloadFormat.of(format)]


def refused(body: bytes, format: PayloadFormat | str) -> bool:
    """Whether the pure-Python reference decoder refuses ``body`` as a ``format`` request
    (raises :class:`tensorwire.DecodeError`)."""
    fmt = PayloadFormat.of(format)
    try:
        if fmt in GRPC_LAYOUTS:
            _ref_grpc.decode_predict_request(body, GRPC_LAYOUTS[fmt][0])
        else:
            _ref_jsonbody.decode_body(body, "instances", value_form=JSON_VALUE_FORMS[fmt][1],  # type: ignore[arg-type]
                                      bare_name="instances")
    except DecodeError:
        return True
    return False


# --- defects written by hand ----------------------------------------------------------------

def _tag_varint(field: int, value: int) -> bytes:
    return wire_tag(field, 0) + wire_varint(value)


def _proto(dtype: int, dims: Sequence[int], *rest: bytes) -> bytes:
    shape = wire_len(2, b"".join(wire_len(2, _tag_varint(1, d)) for d in dims))
    return _tag_varint(1, dtype) + shape + b"".join(rest)


#: TensorProtos every decoder refuses, each for one reason.
BAD_TENSOR_PROTOS = [
    _proto(9999, [2]),  # an unknown dtype
    _proto(20, [1]),  # DT_RESOURCE: no numpy counterpart
    _proto(1, [-5]),  # a negative dim
    _proto(1, [2], wire_len(4, b"\x00" * 4)),  # tensor_content of 4 bytes for 2 float32s
    _proto(1, [1] * 65),  # rank 65
    _proto(4, [2], wire_len(7, wire_varint(256))),  # int_val 256 for uint8
    _proto(1, [2], wire_tag(5, 5) + b"\x00\x00"),  # a fixed32 cut short
    _proto(1, [2]) + b"\xff" * 10 + b"\x01",  # an 11-byte varint
    _tag_varint(1, 1) + wire_len(2, b"\x0a"),  # a shape whose dim is cut short
]
#: TensorProtos that claim more elements than any decoder allocates (2**80, 2**124).
HUGE_TENSOR_PROTOS = [_proto(1, [1 << 40, 1 << 40]), _proto(2, [1 << 62, 1 << 62])]
#: Base64 texts every decoder refuses (its alphabet, padding or length is wrong).
BAD_BASE64 = ["A", "A===", "YQ==YQ==", "Y===", "CA+S_A==", "CAES AA", "CAES\nAA", "CAE*", "=AAA"]
_B64_JUNK = "*. \n!~\x7f\u00e9"
#: tf.Examples every decoder refuses.
BAD_EXAMPLES = [
    wire_len(1, wire_len(1, wire_len(1, b"k") + wire_len(2, wire_len(2, b"") + wire_len(3, b"")))),  # two kinds
    wire_len(1, wire_len(1, wire_len(1, b"k") + wire_len(2, wire_len(2, wire_len(1, b"\x00" * 7))))),  # 7 bytes
    wire_len(1, wire_len(1, wire_len(1, b"\xff") + wire_len(2, b""))),  # a key that is not UTF-8
    b"\x0a\x02\x0a\x00",  # cut short
    wire_len(1, b"") + wire_tag(2, 6),  # wire type 6
]
_BAD_UTF8 = [b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


@st.composite
def _bad_b64_text(draw: st.DrawFn) -> str:
    """A base64 text that is not one: a hand-written one, or a valid text with a junk
    character put in anywhere."""
    if draw(st.booleans()):
        return draw(st.sampled_from(BAD_BASE64))
    text = _b64(draw(st.binary(max_size=30)))
    i = draw(st.integers(0, len(text)))
    return text[:i] + draw(st.sampled_from(_B64_JUNK)) + text[i:]


def _json_instances(rows: list[str]) -> bytes:
    return ('{"instances":[' + ",".join(rows) + "]}").encode("utf-8")


@st.composite
def _json_depth(draw: st.DrawFn) -> bytes:
    k = draw(st.integers(65, 300))
    leaf = draw(st.sampled_from(['"CAESAA"', "1", '"1"', "[]"]))
    if draw(st.booleans()):
        inner = "[" * k + leaf + "]" * k
    else:
        inner = '{"a":' * k + leaf + "}" * k
    return _json_instances([inner])


@st.composite
def _json_ragged(draw: st.DrawFn, fmt: PayloadFormat) -> bytes:
    a = draw(st.integers(1, 4))
    b = draw(st.integers(1, 4).filter(lambda m: m != a))
    if fmt is _F.SERIALIZED_TF_TENSORS:
        def cell(m: int) -> str:
            return '"' + _b64(encode_tensor(np.ones(m, np.float32))) + '"'
    elif fmt is _F.RAW_JSON:
        def cell(m: int) -> str:
            return "[" + ",".join(['"1.5"'] * m) + "]"
    else:
        def cell(m: int) -> str:
            return "[" + ",".join(["1.5"] * m) + "]"
    form = "bare" if fmt is _F.ND_ARRAYS else draw(st.sampled_from(["bare", "named", "missing"]))
    if form == "bare":
        rows = [cell(a), cell(b)]
    elif form == "named":
        rows = ['{"x":' + cell(a) + "}", '{"x":' + cell(b) + "}"]
    else:  # a column missing from one instance
        rows = ['{"x":' + cell(a) + ',"y":' + cell(a) + "}", '{"x":' + cell(a) + "}"]
    if draw(st.booleans()):
        rows.reverse()
    return _json_instances(rows)


@st.composite
def _json_bad_base64(draw: st.DrawFn, fmt: PayloadFormat) -> bytes:
    text = draw(_bad_b64_text())
    quoted = json.dumps(text)
    value = quoted if fmt is _F.SERIALIZED_TF_TENSORS and draw(st.booleans()) else '{"b64":' + quoted + "}"
    return _json_instances(['{"x":' + value + "}"])


@st.composite
def _json_bad_tensor(draw: st.DrawFn, huge: bool) -> bytes:
    proto = draw(st.sampled_from(HUGE_TENSOR_PROTOS if huge else BAD_TENSOR_PROTOS))
    value = '"' + _b64(proto) + '"'
    return _json_instances(['{"x":' + value + "}"] * draw(st.integers(1, 2)))


@st.composite
def _json_bad_utf8(draw: st.DrawFn, valid: bytes) -> bytes:
    bad = draw(st.sampled_from(_BAD_UTF8))
    # inside the "instances" key, or inside the first name of a named instance
    spots = [2 + draw(st.integers(0, len("instances")))]
    if valid.startswith(b'{"instances":[{"'):
        spots.append(len(b'{"instances":[{"'))
    i = draw(st.sampled_from(spots))
    return valid[:i] + bad + valid[i:]


# --- gRPC --------------------------------------------------------------------------------------

def _grpc_value_for(fmt: PayloadFormat, proto: bytes) -> bytes:
    """A TensorProto entry value of ``fmt`` carrying ``proto`` (as itself, or as base64)."""
    if fmt is _F.GRPC_SERIALIZED_TF_TENSORS:
        return grpc_strings(_b64(proto).encode("ascii"))
    return proto


@st.composite
def _grpc_defect(draw: st.DrawFn, fmt: PayloadFormat, label: str, valid: bytes) -> bytes:
    name = b"input" if fmt is _F.GRPC_SERIALIZED_TF_EXAMPLES else b"x"
    if label == "depth":
        return wire_tag(9, 3) * draw(st.integers(65, 200)) + valid
    if label == "bad_utf8":
        bad = draw(st.sampled_from(_BAD_UTF8))
        value = grpc_strings(GRPC_EXAMPLE) if fmt is _F.GRPC_SERIALIZED_TF_EXAMPLES else (
            _grpc_value_for(fmt, _proto(1, [1], wire_len(4, b"\x00" * 4))))
        return valid + grpc_entry(b"x" + bad, value)
    if label == "huge_size":
        if fmt is _F.GRPC_SERIALIZED_TF_EXAMPLES or draw(st.booleans()):
            return valid + wire_tag(2, 2) + wire_varint(1 << 62) + b"\x00" * draw(st.integers(0, 8))
        return valid + grpc_entry(name, _grpc_value_for(fmt, draw(st.sampled_from(HUGE_TENSOR_PROTOS))))
    if label == "bad_tensor_proto":
        return valid + grpc_entry(name, _grpc_value_for(fmt, draw(st.sampled_from(BAD_TENSOR_PROTOS))))
    if label == "bad_base64":
        return valid + grpc_entry(name, grpc_strings(draw(_bad_b64_text()).encode("utf-8")))
    if label == "ragged":
        a = draw(st.integers(1, 4))
        b = draw(st.integers(1, 4).filter(lambda m: m != a))
        items = [_b64(encode_tensor(np.ones(m, np.float32))).encode("ascii") for m in (a, b)]
        return valid + grpc_entry(name, grpc_strings(*items))
    assert label == "bad_example", label
    good = draw(st.lists(st.just(GRPC_EXAMPLE), max_size=2))
    bad = draw(st.sampled_from(BAD_EXAMPLES))
    items = good + [bad]
    return valid + grpc_entry(name, grpc_strings(*draw(st.permutations(items))))


# --- the strategy ------------------------------------------------------------------------------

@st.composite
def _one(draw: st.DrawFn, fmt: PayloadFormat, label: str,
         inputs: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None) -> Hostile:
    valid = draw(requests(fmt, inputs=inputs, max_instances=2))[1]
    grpc = fmt in GRPC_LAYOUTS
    if label == "truncated":
        # (a gRPC body cut to nothing is the empty PredictRequest: valid, so never drawn)
        cut = valid[:draw(st.integers(1 if grpc else 0, len(valid) - 1))]
        return Hostile(label, cut)
    if label == "mutated":
        if grpc:
            seeds = st.one_of(st.just(valid), st.sampled_from(GRPC_SEEDS[GRPC_LAYOUTS[fmt][0]]))
            tokens = st.one_of(grpc_hostile_tokens(), tensor_hostile_tokens())
        else:
            seeds, tokens = st.just(valid), json_hostile_tokens()
        return Hostile(label, draw(mutated_bytes(seeds, tokens)))
    if grpc:
        return Hostile(label, draw(_grpc_defect(fmt, label, valid)))
    if label == "depth":
        return Hostile(label, draw(_json_depth()))
    if label == "ragged":
        return Hostile(label, draw(_json_ragged(fmt)))
    if label == "bad_base64":
        return Hostile(label, draw(_json_bad_base64(fmt)))
    if label in ("bad_tensor_proto", "huge_size"):
        return Hostile(label, draw(_json_bad_tensor(label == "huge_size")))
    assert label == "bad_utf8", label
    return Hostile(label, draw(_json_bad_utf8(valid)))


def _checked(fmt: PayloadFormat, label: str) -> bool:
    """Whether ``label`` bodies of ``fmt`` need the reference's verdict (see the module docstring)."""
    return label == "mutated" or (label == "truncated" and fmt in GRPC_LAYOUTS)


def hostile(format: PayloadFormat | str, *, classes: Sequence[str] | None = None,
            inputs: st.SearchStrategy[Mapping[str, NDArray[Any]]] | None = None) -> st.SearchStrategy[Hostile]:
    """:class:`Hostile` ``(label, body)``: a ``format`` request body that every conforming
    decoder refuses, of one of ``classes`` (default: all of :func:`classes_of` ``(format)``).
    ``inputs``: what the valid bodies the defects are put into carry (as for
    :func:`requests`; the truncations and mutations start from those)."""
    fmt = PayloadFormat.of(format)
    allowed = classes_of(fmt)
    chosen = list(allowed if classes is None else classes)
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise ValueError(f"hostile: {fmt.value} has the classes {list(allowed)}; not {unknown or chosen}")
    strategies = []
    for label in chosen:
        one = _one(fmt, label, inputs)
        if _checked(fmt, label):
            one = one.filter(lambda h: refused(h.body, fmt))
        strategies.append(one)
    return st.one_of(strategies)
