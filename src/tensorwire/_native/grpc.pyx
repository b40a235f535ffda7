# cython: language_level=3, embedsignature=True
"""TF Serving gRPC Predict payloads, Cython twin of ``tensorwire.codecs.grpc`` (docs/grpc-payloads.md).

Same functions, same signatures, same bytes, same results and the same errors (type and
message) as the pure-Python reference, whose module docstring defines the behaviour and the
order of the checks.

What is native here is the envelope: writing sizes the whole message in C, allocates one
``bytes`` object and copies every payload into it once; reading walks the envelope in C over the
input buffer (the wire readers of ``_wire.pxd``, explicit bounds, the reference's messages).
The payloads, the hot part, are made and read by the native ``tensor``, ``base64`` and
``example`` twins.  The glue between envelope and payloads (argument checks, column checks,
stacking the instances of a DT_STRING input or output, the ``max_bytes`` budget) is the rules
of ``tensorwire.codecs.rules.grpc`` that the reference applies too, called with the native
codecs, so there is one definition of every rule.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.string cimport memcpy

from ._wire cimport (
    WT_LEN,
    WT_VARINT,
    WireError,
    wire_error_parts,
    wire_len_field_size,
    wire_read_length,
    wire_read_tag,
    wire_read_varint,
    wire_skip_field,
    wire_varint_size,
    wire_write_len_prefix,
    wire_write_tag,
    wire_write_varint,
)

cdef object rules, message_view, DecodeError, b64decode, b64encode, decode_example, encode_example, decode_tensor
cdef object encode_tensor
from ..codecs.rules import grpc as rules
from ..codecs.rules.wire import message_view
from ..errors import DecodeError
from .base64 import b64decode, b64encode
from .example import decode_example, encode_example
from .tensor import decode_tensor, encode_tensor

# Python-level names, as the reference's.
global LAYOUTS, RESPONSE_LAYOUTS, FORMS, DEFAULT_MAX_BYTES, REQUEST, RESPONSE
LAYOUTS = rules.LAYOUTS
RESPONSE_LAYOUTS = rules.RESPONSE_LAYOUTS
FORMS = rules.FORMS
DEFAULT_MAX_BYTES = rules.DEFAULT_MAX_BYTES
REQUEST = rules.REQUEST
RESPONSE = rules.RESPONSE

cdef tuple _ENCODERS = (encode_tensor, b64encode, encode_example)
cdef tuple _DECODERS = (decode_tensor, b64decode, decode_example)
cdef bytes _EMPTY = b"\x00"

# Copies at least this large run without the GIL (the payloads are immutable bytes we hold).
cdef enum:
    NOGIL_BYTES = 1 << 16


# ============================================================================================
# writing


cdef inline Py_ssize_t _opt_len_field_size(uint32_t field, Py_ssize_t payload):
    """Bytes of a proto3 string/bytes field: nothing when empty."""
    return wire_len_field_size(field, payload) if payload else 0


cdef Py_ssize_t _spec_size(bytes name, object version, bytes signature):
    cdef Py_ssize_t n = _opt_len_field_size(1, len(name)) + _opt_len_field_size(3, len(signature))
    cdef int64_t v
    if version is not None:
        v = version
        n += wire_len_field_size(2, 1 + wire_varint_size(<uint64_t>v) if v else 0)
    return n


cdef inline unsigned char* _write_bytes(unsigned char* p, bytes b) noexcept:
    cdef Py_ssize_t n = len(b)
    cdef const char* src = PyBytes_AS_STRING(b)
    if n >= NOGIL_BYTES:
        with nogil:
            memcpy(p, src, <size_t>n)
    elif n:
        memcpy(p, src, <size_t>n)
    return p + n


cdef unsigned char* _write_spec(unsigned char* p, uint32_t field, Py_ssize_t size, bytes name, object version,
                                bytes signature):
    cdef int64_t v
    if not size:
        return p
    p = wire_write_len_prefix(p, field, size)
    if len(name):
        p = wire_write_len_prefix(p, 1, len(name))
        p = _write_bytes(p, name)
    if version is not None:
        v = version
        if v:
            p = wire_write_len_prefix(p, 2, 1 + wire_varint_size(<uint64_t>v))
            p = wire_write_tag(p, 1, WT_VARINT)
            p = wire_write_varint(p, <uint64_t>v)
        else:
            p = wire_write_len_prefix(p, 2, 0)
    if len(signature):
        p = wire_write_len_prefix(p, 3, len(signature))
        p = _write_bytes(p, signature)
    return p


cdef inline Py_ssize_t _entry_size(bytes key, bytes value):
    return wire_len_field_size(1, len(key)) + wire_len_field_size(2, len(value))


cdef Py_ssize_t _map_size(uint32_t field, list entries):
    cdef Py_ssize_t n = 0
    cdef tuple entry
    for entry in entries:
        n += wire_len_field_size(field, _entry_size(<bytes>entry[0], <bytes>entry[1]))
    return n


cdef unsigned char* _write_map(unsigned char* p, uint32_t field, list entries):
    cdef tuple entry
    cdef bytes key, value
    for entry in entries:
        key = <bytes>entry[0]
        value = <bytes>entry[1]
        p = wire_write_len_prefix(p, field, _entry_size(key, value))
        p = wire_write_len_prefix(p, 1, len(key))
        p = _write_bytes(p, key)
        p = wire_write_len_prefix(p, 2, len(value))
        p = _write_bytes(p, value)
    return p


def encode_predict_request(columns, layout, *, model_name="", signature_name="", version=None, output_filter=(),
                           input_name="input"):
    """A serialized ``tensorflow.serving.PredictRequest`` carrying ``columns`` (``[(name,
    batch-first array)]``) as ``layout`` (``"tensors"``, ``"serialized_tensors"`` or
    ``"examples"``); see the docstring of ``tensorwire.codecs.grpc``."""
    cdef bytes name, signature, f, out
    cdef list inputs, filters
    cdef Py_ssize_t spec, total
    cdef unsigned char* p
    name, version, signature, inputs, filters = rules.request_fields(
        columns, layout, model_name, signature_name, version, output_filter, input_name, _ENCODERS
    )
    spec = _spec_size(name, version, signature)
    total = (wire_len_field_size(1, spec) if spec else 0) + _map_size(2, inputs)
    for f in filters:
        total += wire_len_field_size(3, len(f))
    out = PyBytes_FromStringAndSize(NULL, total)
    p = <unsigned char*>PyBytes_AS_STRING(out)
    p = _write_spec(p, 1, spec, name, version, signature)
    p = _write_map(p, 2, inputs)
    for f in filters:
        p = wire_write_len_prefix(p, 3, len(f))
        p = _write_bytes(p, f)
    assert p == <unsigned char*>PyBytes_AS_STRING(out) + total
    return out


def encode_predict_response(columns, *, layout="tensors", model_name="", form="content"):
    """A serialized ``tensorflow.serving.PredictResponse`` whose outputs are ``columns``
    (``[(name, array)]``) written as ``layout`` (``"tensors"``: each by ``encode_tensor(array,
    form=form)``, TF Serving itself writes ``form="proto"``; ``"serialized_tensors"``: batch-first
    columns, as the request layout); see the docstring of ``tensorwire.codecs.grpc``."""
    cdef bytes name, out
    cdef list outputs
    cdef Py_ssize_t spec, total
    cdef unsigned char* p
    name, outputs = rules.response_fields(columns, layout, model_name, form, _ENCODERS)
    spec = _spec_size(name, None, b"")
    total = _map_size(1, outputs) + (wire_len_field_size(2, spec) if spec else 0)
    out = PyBytes_FromStringAndSize(NULL, total)
    p = <unsigned char*>PyBytes_AS_STRING(out)
    p = _write_map(p, 1, outputs)
    p = _write_spec(p, 2, spec, name, None, b"")
    assert p == <unsigned char*>PyBytes_AS_STRING(out) + total
    return out


# ============================================================================================
# reading the envelope


@cython.auto_pickle(False)
cdef class _Reader:
    """The input buffer and the wire error record of one parse."""
    cdef object mv
    cdef const unsigned char* buf
    cdef WireError err

    cdef int fail(self, str what) except -1:
        raise DecodeError(*wire_error_parts(&self.err, what))

    cdef inline Py_ssize_t tag(self, Py_ssize_t pos, Py_ssize_t end, uint32_t* field, int* wt,
                               str what) except -2:
        pos = wire_read_tag(self.buf, pos, end, field, wt, &self.err)
        if pos < 0:
            self.fail(what)
        return pos

    cdef inline Py_ssize_t length(self, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t* start, str what) except -2:
        pos = wire_read_length(self.buf, pos, end, start, &self.err)
        if pos < 0:
            self.fail(what)
        return pos

    cdef inline Py_ssize_t skip(self, Py_ssize_t pos, Py_ssize_t end, uint32_t field, int wt, str what) except -2:
        pos = wire_skip_field(self.buf, pos, end, field, wt, 0, &self.err)
        if pos < 0:
            self.fail(what)
        return pos

    cdef str text(self, Py_ssize_t start, Py_ssize_t stop, str what, str field):
        try:
            return PyUnicode_DecodeUTF8(<const char*>self.buf + start, stop - start, NULL)
        except UnicodeDecodeError:
            raise DecodeError(f"{what}: {field}", start, " is not valid UTF-8") from None

    cdef int model_spec(self, Py_ssize_t pos, Py_ssize_t end, dict spec, str what) except -1:
        """Merge one ModelSpec occurrence into ``spec`` (the reference's ``_parse_model_spec``)."""
        cdef uint32_t field = 0, ifield = 0
        cdef int wt = 0, iwt = 0
        cdef Py_ssize_t a = 0, stop
        cdef uint64_t raw = 0
        cdef int64_t value
        cdef str inner = what + ".version"
        while pos < end:
            pos = self.tag(pos, end, &field, &wt, what)
            if field == 1 and wt == WT_LEN:
                pos = self.length(pos, end, &a, what)
                spec["name"] = self.text(a, pos, what, "name")
            elif field == 2 and wt == WT_LEN:
                stop = self.length(pos, end, &a, what)
                value = spec["version"] if spec["version"] is not None else 0
                while a < stop:
                    a = self.tag(a, stop, &ifield, &iwt, inner)
                    if ifield == 1 and iwt == WT_VARINT:
                        a = wire_read_varint(self.buf, a, stop, &raw, &self.err)
                        if a < 0:
                            self.fail(inner)
                        value = <int64_t>raw
                    else:
                        a = self.skip(a, stop, ifield, iwt, inner)
                spec["version"] = value
                spec["version_label"] = None
                pos = stop
            elif field == 3 and wt == WT_LEN:
                pos = self.length(pos, end, &a, what)
                spec["signature_name"] = self.text(a, pos, what, "signature_name")
            elif field == 4 and wt == WT_LEN:
                pos = self.length(pos, end, &a, what)
                spec["version_label"] = self.text(a, pos, what, "version_label")
                spec["version"] = None
            else:
                pos = self.skip(pos, end, field, wt, what)
        return 0

    cdef tuple entry(self, Py_ssize_t start, Py_ssize_t end, str what):
        """One map entry: ``(name, [value ranges], entry start)``."""
        cdef uint32_t field = 0
        cdef int wt = 0
        cdef Py_ssize_t a = 0
        cdef Py_ssize_t pos = start
        cdef str key = ""
        cdef list values = []
        while pos < end:
            pos = self.tag(pos, end, &field, &wt, what)
            if field == 1 and wt == WT_LEN:
                pos = self.length(pos, end, &a, what)
                key = self.text(a, pos, what, "key")
            elif field == 2 and wt == WT_LEN:
                pos = self.length(pos, end, &a, what)
                values.append((a, pos))
            else:
                pos = self.skip(pos, end, field, wt, what)
        return key, values, start

    cdef tuple envelope(self, Py_ssize_t end, bint request):
        """``(spec, [entries])``, as the reference's ``_parse_envelope``."""
        cdef str top = REQUEST if request else RESPONSE
        cdef str map_what = top + (".inputs" if request else ".outputs")
        cdef str spec_what = top + ".model_spec"
        cdef uint32_t map_field = 2 if request else 1
        cdef uint32_t spec_field = 1 if request else 2
        cdef uint32_t field = 0
        cdef int wt = 0
        cdef Py_ssize_t a = 0, pos = 0
        cdef dict spec = rules.new_spec()
        cdef list entries = []
        cdef list filters = spec["output_filter"]
        while pos < end:
            pos = self.tag(pos, end, &field, &wt, top)
            if field == map_field and wt == WT_LEN:
                pos = self.length(pos, end, &a, top)
                entries.append(self.entry(a, pos, map_what))
            elif field == spec_field and wt == WT_LEN:
                pos = self.length(pos, end, &a, top)
                self.model_spec(a, pos, spec, spec_what)
            elif request and field == 3 and wt == WT_LEN:
                pos = self.length(pos, end, &a, top)
                filters.append(self.text(a, pos, top, "output_filter"))
            else:
                pos = self.skip(pos, end, field, wt, top)
        return spec, entries


cdef tuple _parse(data, str func, bint request):
    """``(buffer, spec, entries)`` of a serialized request or response."""
    cdef object mv = message_view(data, func)
    cdef const unsigned char[::1] view = mv
    cdef _Reader r = _Reader()
    cdef Py_ssize_t n = view.shape[0]
    cdef object spec, entries
    r.mv = mv
    r.buf = &view[0] if n else <const unsigned char*>PyBytes_AS_STRING(_EMPTY)
    spec, entries = r.envelope(n, request)
    return mv, spec, entries


def decode_predict_request(data, layout, *, dtype=None, max_bytes=DEFAULT_MAX_BYTES, input_name="input"):
    """``(spec, {name: array})`` from a serialized ``PredictRequest`` sent as ``layout``; see the
    docstring of ``tensorwire.codecs.grpc``.  Every invalid input raises :class:`tensorwire.DecodeError`."""
    cdef object mv, spec, entries
    rules.check_decode_options(layout, dtype, max_bytes, input_name)
    mv, spec, entries = _parse(data, "decode_predict_request", True)
    return spec, rules.decode_entries(mv, entries, layout, dtype, max_bytes, input_name, True, _DECODERS)


def decode_predict_response(data, *, layout="tensors", dtype=None, max_bytes=DEFAULT_MAX_BYTES):
    """``{name: array}`` from a serialized ``PredictResponse`` sent as ``layout`` (``"tensors"`` or
    ``"serialized_tensors"``); see the docstring of ``tensorwire.codecs.grpc``.  Every invalid input raises
    :class:`tensorwire.DecodeError`."""
    cdef object mv, _, entries
    rules.check_decode_options(layout, dtype, max_bytes, layouts=RESPONSE_LAYOUTS)
    mv, _, entries = _parse(data, "decode_predict_response", False)
    return rules.decode_entries(mv, entries, layout, dtype, max_bytes, "", False, _DECODERS)
