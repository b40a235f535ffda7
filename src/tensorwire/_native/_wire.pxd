# cython: language_level=3
"""Protocol-buffer wire primitives shared by the Cython codecs (docs/protobuf-wire.md).

The C-level twin of ``tensorwire.codecs.rules.wire``.  Readers take a raw pointer plus explicit
``pos``/``end`` offsets, never read at or past ``end``, and return the new position, or -1
after filling a :c:type:`WireError`; :func:`wire_error_message` turns that record into the
exact message the pure-Python reader raises.  Offsets are relative to the start of the outermost
buffer, like the reference's.  Writers write into a buffer the caller sized with
:func:`wire_varint_size`.  Everything but the message builder is ``noexcept nogil``.
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t


cdef enum:
    WT_VARINT = 0
    WT_FIXED64 = 1
    WT_LEN = 2
    WT_START_GROUP = 3
    WT_END_GROUP = 4
    WT_FIXED32 = 5
    WIRE_MAX_GROUP_DEPTH = 64


cdef enum:
    WIRE_OK = 0
    WIRE_TRUNCATED_VARINT = 1      # offset = start of the varint
    WIRE_LONG_VARINT = 2           # offset = start of the varint
    WIRE_BAD_TAG = 3               # offset = start of the tag, value = the tag
    WIRE_LENGTH_PAST_END = 4       # offset = start of the prefix, value = length, left = bytes left
    WIRE_TRUNCATED_FIXED = 5       # offset = start of the payload, field, width (bytes)
    WIRE_GROUP_DEPTH = 6           # offset = after the group's start tag
    WIRE_GROUP_MISMATCH = 7        # offset = the end tag, field = the group being closed
    WIRE_UNEXPECTED_END_GROUP = 8  # offset = after the end tag, field
    WIRE_BAD_WIRE_TYPE = 9         # offset = after the tag, field, wire_type


cdef struct WireError:
    int code
    Py_ssize_t offset
    uint64_t value
    Py_ssize_t left
    uint64_t field
    int wire_type
    int width


# ------------------------------------------------------------------------------------------
# readers


cdef inline Py_ssize_t wire_read_varint(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                        uint64_t* out, WireError* err) noexcept nogil:
    """Decode a varint at ``pos`` into ``out[0]`` (bits past 64 dropped); new pos, or -1."""
    cdef Py_ssize_t start = pos
    cdef uint64_t result = 0
    cdef unsigned int shift = 0
    cdef unsigned char b
    if pos < end and buf[pos] < 0x80:  # the common one-byte case
        out[0] = buf[pos]
        return pos + 1
    while True:
        if pos >= end:
            err.code = WIRE_TRUNCATED_VARINT
            err.offset = start
            return -1
        b = buf[pos]
        pos += 1
        result |= (<uint64_t>(b & 0x7F)) << shift
        if not (b & 0x80):
            out[0] = result
            return pos
        shift += 7
        if shift >= 70:
            err.code = WIRE_LONG_VARINT
            err.offset = start
            return -1


cdef inline Py_ssize_t wire_skip_varint(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                        WireError* err) noexcept nogil:
    """Validate and step over one varint; new pos, or -1."""
    cdef Py_ssize_t start = pos
    cdef Py_ssize_t limit = pos + 10
    while pos < end:
        if not (buf[pos] & 0x80):
            return pos + 1
        pos += 1
        if pos >= limit:
            err.code = WIRE_LONG_VARINT
            err.offset = start
            return -1
    err.code = WIRE_TRUNCATED_VARINT
    err.offset = start
    return -1


cdef inline Py_ssize_t wire_count_varints(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                          Py_ssize_t* count, WireError* err) noexcept nogil:
    """Validate the packed varints in ``[pos, end)``, adding their number to ``count[0]``.

    Returns ``end``, or -1 at the first bad varint.
    """
    cdef Py_ssize_t n = 0
    while pos < end:
        if buf[pos] < 0x80:
            pos += 1
        else:
            pos = wire_skip_varint(buf, pos, end, err)
            if pos < 0:
                count[0] += n
                return -1
        n += 1
    count[0] += n
    return pos


cdef inline Py_ssize_t wire_read_tag(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                     uint32_t* field, int* wire_type, WireError* err) noexcept nogil:
    """Read a field tag; new pos, or -1 (also for tag 0.. 7 and tags above 32 bits)."""
    cdef uint64_t tag = 0
    cdef Py_ssize_t start = pos
    pos = wire_read_varint(buf, pos, end, &tag, err)
    if pos < 0:
        return -1
    if tag > 0xFFFFFFFFu or (tag >> 3) == 0:
        err.code = WIRE_BAD_TAG
        err.offset = start
        err.value = tag
        return -1
    field[0] = <uint32_t>(tag >> 3)
    wire_type[0] = <int>(tag & 7)
    return pos


cdef inline Py_ssize_t wire_read_length(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                        Py_ssize_t* start, WireError* err) noexcept nogil:
    """Read a length prefix whose bytes must all be present; ``start[0]`` = payload start.

    Returns the payload's end (the new pos), or -1.
    """
    cdef uint64_t n = 0
    cdef Py_ssize_t prefix = pos
    pos = wire_read_varint(buf, pos, end, &n, err)
    if pos < 0:
        return -1
    if n > <uint64_t>(end - pos):
        err.code = WIRE_LENGTH_PAST_END
        err.offset = prefix
        err.value = n
        err.left = end - pos
        return -1
    start[0] = pos
    return pos + <Py_ssize_t>n


cdef inline Py_ssize_t wire_skip_field(const unsigned char* buf, Py_ssize_t pos, Py_ssize_t end,
                                       uint32_t field, int wire_type, int depth,
                                       WireError* err) noexcept nogil:
    """Skip one field's payload (any wire type, groups included); new pos, or -1."""
    cdef Py_ssize_t start = 0, tag_pos
    cdef int width, inner_wt = 0
    cdef uint32_t inner = 0
    if wire_type == WT_VARINT:
        return wire_skip_varint(buf, pos, end, err)
    if wire_type == WT_FIXED64 or wire_type == WT_FIXED32:
        width = 8 if wire_type == WT_FIXED64 else 4
        if end - pos < width:
            err.code = WIRE_TRUNCATED_FIXED
            err.offset = pos
            err.field = field
            err.width = width
            return -1
        return pos + width
    if wire_type == WT_LEN:
        return wire_read_length(buf, pos, end, &start, err)
    if wire_type == WT_START_GROUP:
        if depth >= WIRE_MAX_GROUP_DEPTH:
            err.code = WIRE_GROUP_DEPTH
            err.offset = pos
            return -1
        while True:
            tag_pos = pos
            pos = wire_read_tag(buf, pos, end, &inner, &inner_wt, err)
            if pos < 0:
                return -1
            if inner_wt == WT_END_GROUP:
                if inner != field:
                    err.code = WIRE_GROUP_MISMATCH
                    err.offset = tag_pos
                    err.field = field
                    return -1
                return pos
            pos = wire_skip_field(buf, pos, end, inner, inner_wt, depth + 1, err)
            if pos < 0:
                return -1
    if wire_type == WT_END_GROUP:
        err.code = WIRE_UNEXPECTED_END_GROUP
        err.offset = pos
        err.field = field
        return -1
    err.code = WIRE_BAD_WIRE_TYPE
    err.offset = pos
    err.field = field
    err.wire_type = wire_type
    return -1


cdef inline tuple wire_error_parts(const WireError* e, str what):
    """The reference reader's error for the one recorded in ``e``: ``DecodeError(*parts)``."""
    if e.code == WIRE_TRUNCATED_VARINT:
        return f"{what}: truncated varint", e.offset
    if e.code == WIRE_LONG_VARINT:
        return f"{what}: varint longer than 10 bytes", e.offset
    if e.code == WIRE_BAD_TAG:
        return f"{what}: invalid tag {e.value}", e.offset
    if e.code == WIRE_LENGTH_PAST_END:
        return f"{what}: length {e.value}", e.offset, f" runs past the end of the message ({e.left} bytes left)"
    if e.code == WIRE_TRUNCATED_FIXED:
        return f"{what}: truncated fixed{e.width * 8} field {e.field}", e.offset
    if e.code == WIRE_GROUP_DEPTH:
        return f"{what}: groups nested deeper than {WIRE_MAX_GROUP_DEPTH}", e.offset
    if e.code == WIRE_GROUP_MISMATCH:
        return f"{what}: mismatched end of group {e.field}", e.offset
    if e.code == WIRE_UNEXPECTED_END_GROUP:
        return f"{what}: unexpected end of group {e.field}", e.offset
    if e.code == WIRE_BAD_WIRE_TYPE:
        return f"{what}: invalid wire type {e.wire_type} for field {e.field}", e.offset
    return f"{what}: wire error {e.code}", e.offset


# ------------------------------------------------------------------------------------------
# writers


cdef inline Py_ssize_t wire_varint_size(uint64_t v) noexcept nogil:
    """Bytes the varint encoding of ``v`` takes (1..10)."""
    cdef Py_ssize_t n = 1
    while v > 0x7F:
        v >>= 7
        n += 1
    return n


cdef inline Py_ssize_t wire_len_field_size(uint32_t field, Py_ssize_t payload) noexcept nogil:
    """Bytes a length-delimited field with a payload of ``payload`` bytes takes."""
    return (wire_varint_size((<uint64_t>field << 3) | WT_LEN) + wire_varint_size(<uint64_t>payload)
            + payload)


cdef inline unsigned char* wire_write_varint(unsigned char* out, uint64_t v) noexcept nogil:
    """Write ``v`` as a varint at ``out``; return the pointer past it."""
    while v > 0x7F:
        out[0] = <unsigned char>((v & 0x7F) | 0x80)
        out += 1
        v >>= 7
    out[0] = <unsigned char>v
    return out + 1


cdef inline unsigned char* wire_write_tag(unsigned char* out, uint32_t field, int wire_type) noexcept nogil:
    return wire_write_varint(out, (<uint64_t>field << 3) | <uint64_t>wire_type)


cdef inline unsigned char* wire_write_len_prefix(unsigned char* out, uint32_t field,
                                                 Py_ssize_t payload) noexcept nogil:
    """Write the tag and length of a length-delimited field; the payload goes after."""
    out = wire_write_tag(out, field, WT_LEN)
    return wire_write_varint(out, <uint64_t>payload)
