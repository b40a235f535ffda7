"""Protocol-buffer wire primitives for the pure-Python codecs (docs/protobuf-wire.md).

Readers work on a ``memoryview`` of unsigned bytes and take explicit ``pos``/``end`` bounds; they
never read past ``end`` and raise :class:`DecodeError` naming the byte offset instead.  Offsets in
messages are always relative to the start of the outermost buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...errors import DecodeError

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import NDArray
    from typing_extensions import Buffer

U64 = (1 << 64) - 1
MAX_GROUP_DEPTH = 64

WT_VARINT = 0
WT_FIXED64 = 1
WT_LEN = 2
WT_START_GROUP = 3
WT_END_GROUP = 4
WT_FIXED32 = 5


def message_view(data: Buffer | NDArray[Any] | str, func: str) -> memoryview:
    """The bytes of a serialized message (``bytes``, ``bytearray``, ``memoryview`` or any
    C-contiguous buffer) as a flat memoryview of unsigned bytes; ``func`` names the decoder in
    the ``TypeError`` for a ``str`` or a non-contiguous buffer.  The argument check every
    protobuf decoder makes first."""
    if isinstance(data, str):
        raise TypeError(f"{func} takes bytes or a buffer, not str")
    mv = memoryview(cast("Buffer", data))  # an ndarray has the buffer protocol; numpy's stubs do not say so
    if not mv.c_contiguous:
        raise TypeError(f"{func} needs a C-contiguous buffer")
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def read_varint(buf: memoryview, pos: int, end: int, what: str) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return ``(value as uint64, new pos)``."""
    start = pos
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise DecodeError(f"{what}: truncated varint", start)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & U64, pos
        shift += 7
        if shift >= 70:
            raise DecodeError(f"{what}: varint longer than 10 bytes", start)


def read_tag(buf: memoryview, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """Read a field tag; return ``(field_number, wire_type, new pos)``."""
    start = pos
    tag, pos = read_varint(buf, pos, end, what)
    if tag > 0xFFFFFFFF or tag >> 3 == 0:
        raise DecodeError(f"{what}: invalid tag {tag}", start)
    return tag >> 3, tag & 7, pos


def read_length(buf: memoryview, pos: int, end: int, what: str) -> tuple[int, int]:
    """Read a length prefix and check the bytes it claims are present; return ``(start, stop)``."""
    start = pos
    n, pos = read_varint(buf, pos, end, what)
    if n > end - pos:
        raise DecodeError(
            f"{what}: length {n}", start, f" runs past the end of the message ({end - pos} bytes left)"
        )
    return pos, pos + n


def skip_field(buf: memoryview, pos: int, end: int, field: int, wire_type: int, what: str, depth: int = 0) -> int:
    """Skip one field's payload (any wire type, groups included); return the new pos."""
    if wire_type == WT_VARINT:
        return read_varint(buf, pos, end, what)[1]
    if wire_type == WT_FIXED64 or wire_type == WT_FIXED32:
        width = 8 if wire_type == WT_FIXED64 else 4
        if end - pos < width:
            raise DecodeError(f"{what}: truncated fixed{width * 8} field {field}", pos)
        return pos + width
    if wire_type == WT_LEN:
        return read_length(buf, pos, end, what)[1]
    if wire_type == WT_START_GROUP:
        if depth >= MAX_GROUP_DEPTH:
            raise DecodeError(f"{what}: groups nested deeper than {MAX_GROUP_DEPTH}", pos)
        while True:
            tag_pos = pos
            inner, inner_wt, pos = read_tag(buf, pos, end, what)
            if inner_wt == WT_END_GROUP:
                if inner != field:
                    raise DecodeError(f"{what}: mismatched end of group {field}", tag_pos)
                return pos
            pos = skip_field(buf, pos, end, inner, inner_wt, what, depth + 1)
    if wire_type == WT_END_GROUP:
        raise DecodeError(f"{what}: unexpected end of group {field}", pos)
    raise DecodeError(f"{what}: invalid wire type {wire_type} for field {field}", pos)


def encode_varint(value: int) -> bytes:
    """Encode an integer as a varint; negative values are sign-extended to 64 bits (10 bytes)."""
    value &= U64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_tag(field: int, wire_type: int) -> bytes:
    return encode_varint((field << 3) | wire_type)


def encode_len_field(field: int, payload: bytes) -> bytes:
    return encode_tag(field, WT_LEN) + encode_varint(len(payload)) + payload
