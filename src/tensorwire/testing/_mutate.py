"""Damaging valid encodings: :func:`mutated_bytes`, and the byte runs each format finds awkward.

A mutation may leave a body valid (a flipped bit in a float's value, a truncation at a field
boundary of a protobuf message): what these strategies make is *probably* invalid.
:func:`tensorwire.testing.hostile` keeps only the mutated bodies the reference codec refuses.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from ._wire import wire_len, wire_tag, wire_varint

__all__ = [
    "MUTATION_EDITS", "grpc_entry", "grpc_hostile_tokens", "grpc_strings", "json_hostile_tokens",
    "mutated_bytes", "protobuf_hostile_tokens", "tensor_hostile_tokens", "GRPC_SEEDS",
]

#: The edits :func:`mutated_bytes` applies; a name listed twice is drawn twice as often.
MUTATION_EDITS = ("truncate", "overwrite", "set_bit", "insert", "delete", "duplicate")


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: st.SearchStrategy[bytes], hostile_tokens: st.SearchStrategy[bytes],
                  edits: Sequence[str] = MUTATION_EDITS) -> bytes:
    """A drawn valid encoding (``seeds``) with one to four random ``edits``; ``hostile_tokens``
    is the strategy of byte runs the format's parser finds awkward (inserted or overwritten)."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(list(edits)))
        n = len(data)
        if kind == "truncate":
            del data[draw(st.integers(0, n)):]
        elif kind == "overwrite" and n:
            i = draw(st.integers(0, n - 1))
            token = draw(st.one_of(st.binary(min_size=1, max_size=1),
                                   st.sampled_from([b"\x80", b"\xff", b"\x00", b"\x7f", b"\x02"]), hostile_tokens))
            data[i:i + len(token)] = token
        elif kind == "set_bit" and n:
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(hostile_tokens)
        elif kind == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del data[i:i + draw(st.integers(1, 4))]
        elif kind == "duplicate" and n:
            i = draw(st.integers(0, n - 1))
            j = draw(st.integers(i + 1, min(n, i + 16)))
            data[j:j] = data[i:j]
    return bytes(data)


def protobuf_hostile_tokens() -> list[bytes]:
    """Byte strings that are wrong in one specific way when spliced into any protobuf message."""
    return [
        b"\xff" * 10 + b"\x01",  # an 11-byte varint
        b"\x80" * 9,  # a varint cut short
        wire_varint((1 << 64) - 1),  # a length/dim of 2**64-1 (dim -1 when read as int64)
        wire_varint(1 << 62),  # a huge dim or length
        wire_tag(1, 6),  # field 1 (dtype, features) with invalid wire type 6
        wire_tag(99, 7),  # unknown field, invalid wire type 7
        wire_tag(5, 4),  # unexpected end of group
        wire_tag(9, 3) + wire_tag(8, 4),  # mismatched end of group
        wire_tag(9, 3),  # unterminated group
        wire_tag(9, 3) * 70,  # groups nested too deep
        b"\x00",  # tag 0
        b"\x80\x80\x80\x80\x10",  # a tag above 32 bits
    ]


def tensor_hostile_tokens() -> st.SearchStrategy[bytes]:
    """Byte strings that are wrong in one specific way when spliced into a TensorProto."""
    return st.one_of(
        st.sampled_from(
            [
                *protobuf_hostile_tokens(),
                wire_tag(1, 0) + wire_varint(120),  # dtype DT_RESOURCE_REF
                wire_tag(1, 0) + wire_varint(9999),  # unknown dtype
                wire_tag(1, 0) + wire_varint(20),  # DT_RESOURCE
                wire_tag(1, 0) + wire_varint(11),  # DT_QINT8
                wire_tag(1, 0) + wire_varint(-1),  # dtype -1
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(-5))),  # negative dim
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(1 << 40)) * 2),  # 2**80 elements
                wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(10**6))),  # 10**6 more elements
                wire_len(2, wire_len(2, b"") + wire_len(2, wire_tag(1, 0) + wire_varint(1 << 62))),  # [0, 2**62]
                wire_len(2, wire_len(2, b"") * 65),  # rank 65
                wire_len(2, wire_tag(3, 0) + b"\x01"),  # unknown_rank
                wire_len(4, b"\x02"),  # tensor_content of the wrong length / a bool byte 2
                wire_len(4, b"\x00\x01\x02\x03"),
                wire_len(5, b"\x00\x00\x80"),  # packed float_val not a multiple of 4
                wire_len(7, wire_varint(256) + wire_varint(-129)),  # int_val out of range for 8-bit types
                wire_len(13, wire_varint(0x10000)),  # half_val above 0xFFFF
                wire_len(13, wire_varint(-1)),  # half_val -1
                wire_len(8, b"s") * 3,  # extra string_val
                wire_tag(5, 5) + b"\x00\x00",  # fixed32 cut short
                wire_tag(6, 1) + b"\x00" * 3,  # fixed64 cut short
                wire_len(9, b"\x00" * 4),  # an odd number of scomplex numbers
            ]
        ),
        st.binary(min_size=1, max_size=12),
    )


# --- gRPC PredictRequest ----------------------------------------------------------------------

GRPC_F32 = bytes.fromhex("08011208120208021202080222100000803f000000400000404000008040")  # f32 [[1,2],[3,4]]
GRPC_B64 = b"CAESCBICCAISAggCIhAAAIA_AAAAQAAAQEAAAIBA"  # the same, URL-safe base64
GRPC_EXAMPLE = bytes.fromhex("0a180a160a0242311210120e0a0c0000803f0000004000004040")  # {B1: [1, 2, 3]}


def grpc_strings(*items: bytes) -> bytes:
    """A DT_STRING TensorProto of shape ``[len(items)]``."""
    return (wire_tag(1, 0) + wire_varint(7) + wire_len(2, wire_len(2, wire_tag(1, 0) + wire_varint(len(items))))
            + b"".join(wire_len(8, s) for s in items))


def grpc_entry(name: bytes, value: bytes) -> bytes:
    """One ``inputs`` map entry of a PredictRequest: ``name`` -> the TensorProto ``value``."""
    return wire_len(2, wire_len(1, name) + wire_len(2, value))


#: Valid PredictRequests per codec layout, written by hand: starting points for mutations.
GRPC_SEEDS: dict[str, list[bytes]] = {
    "tensors": [
        wire_len(1, wire_len(1, b"m") + wire_len(2, b"\x08\x05")) + grpc_entry(b"x", GRPC_F32) + wire_len(3, b"o"),
        grpc_entry(b"a", GRPC_F32) + grpc_entry(b"b", bytes.fromhex("080a1204120208035a03010001")),
    ],
    "serialized_tensors": [
        wire_len(1, wire_len(3, b"s")) + grpc_entry(b"x", grpc_strings(GRPC_B64, GRPC_B64)),
        grpc_entry(b"x", grpc_strings(GRPC_B64)) + grpc_entry(b"y", grpc_strings(b"CAESAA")),
    ],
    "examples": [
        wire_len(1, wire_len(1, b"m")) + grpc_entry(b"input", grpc_strings(GRPC_EXAMPLE, GRPC_EXAMPLE)),
        grpc_entry(b"input", grpc_strings(GRPC_EXAMPLE)),
    ],
}


def grpc_hostile_tokens() -> st.SearchStrategy[bytes]:
    """Byte runs that are wrong in one specific way when spliced into a PredictRequest."""
    return st.one_of(
        st.sampled_from(
            [
                b"\xff" * 10 + b"\x01",  # an 11-byte varint
                b"\x80" * 9,  # a varint cut short
                wire_varint((1 << 64) - 1),  # a huge length
                wire_tag(2, 6),  # inputs with invalid wire type 6
                wire_tag(99, 7),  # invalid wire type 7
                wire_tag(5, 4),  # unexpected end of group
                wire_tag(9, 3) + wire_tag(8, 4),  # mismatched end of group
                wire_tag(9, 3) * 70,  # groups nested too deep
                b"\x00",  # tag 0
                wire_len(1, b"\xff"),  # a name / key that is not UTF-8
                wire_len(1, b"\xed\xa0\x80"),  # an encoded surrogate
                wire_len(3, b"\xc0\x80"),  # an overlong NUL
                grpc_entry(b"x", GRPC_F32),  # a second entry: DT_FLOAT where DT_STRING is needed
                grpc_entry(b"x", grpc_strings(b"A===")),  # bad base64
                grpc_entry(b"input", grpc_strings(b"\x0a\x02\x0a\x00")),  # a truncated Example
                wire_len(2, b""),  # an empty entry: no dtype
            ]
        ),
        st.binary(min_size=1, max_size=8),
    )


# --- JSON bodies ----------------------------------------------------------------------------


def json_hostile_tokens() -> st.SearchStrategy[bytes]:
    """Byte runs that are wrong (or awkward) in a JSON body: quotes, backslashes, bad and
    lone-surrogate escapes, brackets (70 deep too), number forms JSON refuses, invalid UTF-8,
    control characters.  None holds an ``error`` member."""
    return st.one_of(
        st.sampled_from(
            [
                b'"', b"\\", b"\\u", b"\\ud800", b"\\udc00", b"\\ud800\\u0041", b"\\ud83d\\ude00", b"\\x",
                b"[", b"]", b"{", b"}", b",", b":", b"[" * 70, b'{"a":' * 40, b"[]", b"{}",
                b"NaN", b"Infinity", b"-Infinity", b"nan", b"null", b"true", b"false",
                b"1e999", b"-0", b"01", b"-", b"1.", b".5", b"+1", b"0x10", b"1E+5", b"e+", b"9" * 40,
                b'"' + b"9" * 1200 + b'"',
                b"\xed\xa0\x80", b"\xc0\x80", b"\xff", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\x00", b"\x1f",
                b" \t\n\r", b'{"b64":"', b'{"b64":"AAAA"}', b'"CAESBBICCAIiCAAAwD8AAMB_"', b"=", b"+/",
                b'"predictions":', b'"x":', b'"instances":[1],',
            ]
        ),
        st.binary(min_size=1, max_size=6),
        st.text(max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )
