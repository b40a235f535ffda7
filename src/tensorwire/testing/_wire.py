"""Protobuf wire pieces for writing messages by hand (valid ones and deliberately broken ones).

Written from docs/protobuf-wire.md, independently of the codecs they are used to test: the
strategies build hostile gRPC and TensorProto bodies with them, and the test suite its
equivalent encodings.
"""

from __future__ import annotations


def wire_varint(n: int, pad: int = 0) -> bytes:
    """A varint (negative numbers sign-extended to 64 bits), with ``pad`` redundant bytes."""
    n &= (1 << 64) - 1
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    pad = min(pad, 10 - len(out))
    if pad > 0:
        out[-1] |= 0x80
        out.extend(b"\x80" * (pad - 1) + b"\x00")
    return bytes(out)


def wire_tag(field: int, wire_type: int) -> bytes:
    """The key of field ``field`` with wire type ``wire_type``."""
    return wire_varint((field << 3) | wire_type)


def wire_len(field: int, payload: bytes) -> bytes:
    """A length-delimited field: key, length, ``payload``."""
    return wire_tag(field, 2) + wire_varint(len(payload)) + payload
