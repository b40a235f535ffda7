"""Rules of the HTTP JSON body codec that both twins apply (docs/json-payloads.md).

The reference ``tensorwire.codecs.jsonbody`` and the Cython twin ``tensorwire._native.jsonbody``
import them from here, so that neither reaches into the other: the option checks and constants,
the name text, the body's UTF-8 check, the ``error`` member's value, the dtype a column decodes
into, and :class:`Reader`, the one-pass reader whose checks word every refusal.  The reference
decodes with :class:`Reader`; the twin, whose own pass is in C, calls the one checking method of
a :class:`Reader` for the place where its pass stopped, so that the wording exists once, here.

The number text grammar and its parser are the number-text codec's (``tensorwire.codecs.numtext``,
public names only); the TensorProto and base64 codecs a :class:`Reader` decodes values with are
passed in by each twin (its own).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, NoReturn, Protocol, Union, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ...errors import DecodeError, PredictionError
from .. import numtext
from .dtypes import MAX_RANK
from .tensor import stack_tensors

Key = Literal["instances", "predictions"]
"""The side of the exchange: ``"instances"`` (a request) or ``"predictions"`` (a response)."""
WriteKey = Literal["instances", "predictions", "inputs", "outputs"]
"""The member a body is written under: the row keys, or the columnar ``"inputs"``/``"outputs"``
(one instance, written without the list around it)."""
ValueForm = Literal["tensor", "string", "number", "json"]
"""How a value is written: ``"tensor"`` (base64 TensorProto strings: SERIALIZED_TF_TENSORS),
``"string"`` (nested lists of numbers in JSON strings: RAW_JSON), ``"number"`` (nested lists of
bare numbers: ND_ARRAYS) or ``"json"`` (the general body, JSON: numbers, booleans, strings and
``{"b64": ...}`` values, docs/json-general.md)."""
ReadValueForm = Literal["tensor", "number", "json"]
"""How a value is read: ``"number"`` reads bare numbers and numbers in strings alike; ``"json"``
infers each name's kind from its leaves (docs/json-general.md)."""
Nonfinite = Literal["token", "null", "error"]
FloatFormat = Literal["shortest", "tolist"]
DTypeOption = Union[DTypeLike, "dict[str, DTypeLike | None]", None]
"""``decode_body``'s ``dtype``: None, one dtype for every name, or ``{name: dtype}``."""
Body = Union[str, bytes, bytearray, memoryview]
"""A body: text, or any bytes-like object (read as UTF-8)."""
Columns = dict[Union[str, None], "NDArray[Any]"]
"""Decoded columns: name (None: a bare instance's) -> batch-first array."""

KEYS: tuple[Key, ...] = ("instances", "predictions")  # the envelope's key: request, response
COLUMNAR_KEYS: dict[Key, str] = {"instances": "inputs", "predictions": "outputs"}  # the columnar form's
WRITE_KEYS: tuple[WriteKey, ...] = ("instances", "predictions", "inputs", "outputs")
VALUE_FORMS: tuple[ValueForm, ...] = ("tensor", "string", "number", "json")  # written
READ_VALUE_FORMS: tuple[ReadValueForm, ...] = ("tensor", "number", "json")
NONFINITE_POLICIES: tuple[Nonfinite, ...] = ("token", "null", "error")  # how NaN and the infinities go
DEFAULT_MAX_DEPTH = 64
MAX_DEPTH_LIMIT = 512  # both readers recurse per level: bounded so neither runs out of stack
DEFAULT_MAX_BYTES = 1 << 31  # a TensorProto value's limit (``decode_tensor``'s ``max_bytes``)
WHAT = "JSON body"  # what every DecodeError's message starts with

_WS = re.compile(rb"[ \t\n\r]*")
# Strings: a run of plain characters, then (an escape, a run)*: "unrolled", so that a run is
# matched in one step and a failing match backtracks linearly.
_STRING = re.compile(rb'"[^"\\\x00-\x1f]*(?:(?:\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
_ESCAPE = re.compile(rb'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})')
_PIECES = re.compile(rb'\\u[dD][89abAB][0-9a-fA-F]{2}\\u[0-9a-fA-F]{4}|\\u[0-9a-fA-F]{4}|\\.|[^\\]+')  # one char per escape
_NUMBER = numtext.NUMBER_RE
_LITERALS = (b"true", b"false", b"null", b"NaN", b"Infinity", b"-Infinity")
_B64_FIRST = re.compile(rb'\{[ \t\n\r]*"b64"[ \t\n\r]*:')  # an object whose first member is b64 (json form)
_B64_OBJECT = re.compile(rb'\{[ \t\n\r]*"b64"[ \t\n\r]*:[ \t\n\r]*("[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*")[ \t\n\r]*\}')
# a \u escape of a surrogate (D800-DFFF), not itself escaped: after an even run of backslashes
_SURROGATE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*(\\u[dD][89a-fA-F][0-9a-fA-F]{2})")
# _WS and _PLAIN match at every position (possibly nothing): their match is never None
_ws_match = cast("Callable[[bytes, int], re.Match[bytes]]", _WS.match)
_plain_match = cast("Callable[[bytes, int], re.Match[bytes]]", _PLAIN.match)


class DecodeBase64(Protocol):
    """A twin's ``b64decode``, as a :class:`Reader` calls it."""

    def __call__(self, text: str, /) -> bytes: ...


class DecodeTensor(Protocol):
    """A twin's ``decode_tensor``, as a :class:`Reader` calls it."""

    def __call__(self, data: bytes, /, *, dtype: np.dtype[Any] | None, max_bytes: int) -> NDArray[Any]: ...


Codecs = tuple[DecodeBase64, DecodeTensor]
"""``(b64decode, decode_tensor)``: how a :class:`Reader` decodes TensorProto values."""

def name_text(name: object) -> bytes:
    """An input or output name as JSON string text (UTF-8; lone surrogates refused)."""
    if not isinstance(name, str):
        raise TypeError(f"input and output names must be str, not {type(name).__name__}")
    try:
        return json.dumps(name, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"name {name!r} is not valid Unicode (lone surrogate)") from None


def check_encode_options(value_form: object, nonfinite: object, float_format: object) -> None:
    """``encode_body``'s options; ValueError naming the first that is not one of its values."""
    if value_form not in VALUE_FORMS:
        raise ValueError(f"value_form must be one of {VALUE_FORMS}, not {value_form!r}")
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, not {nonfinite!r}")
    if float_format not in numtext.FLOAT_FORMATS:
        raise ValueError(f"float_format must be one of {numtext.FLOAT_FORMATS}, not {float_format!r}")


def check_key(key: object, columns: Sequence[tuple[str | None, NDArray[Any]]]) -> bool:
    """Whether ``encode_body``'s ``key`` is a columnar one (which takes one instance);
    ValueError for a key that is not one of :data:`WRITE_KEYS` or a columnar body of another
    number of instances."""
    if key not in WRITE_KEYS:
        raise ValueError(f"key must be one of {WRITE_KEYS}, not {key!r}")
    if key in COLUMNAR_KEYS.values():
        if len(columns[0][1]) != 1:
            raise ValueError(f"a columnar body ({key!r}) holds one instance, not {len(columns[0][1])}")
        return True
    return False


def check_numbers(name: str | None, array: NDArray[Any], nonfinite: Nonfinite) -> np.dtype[Any]:
    """The dtype the array is written in; ValueError for a non-finite value under ``"error"``."""
    dt = numtext.number_dtype(array.dtype)
    if nonfinite == "error" and dt.kind == "f":
        bad = np.argwhere(~np.isfinite(array))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise ValueError(f"input {name!r}: non-finite value {array[index]} at index {index} (nonfinite='error')")
    return dt


def body_bytes(body: Body) -> bytes:
    """The body as bytes, checked to be UTF-8."""
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DecodeError(f"{WHAT}: lone surrogate at character {exc.start}") from None
    raw = bytes(memoryview(body).cast("B")) if not isinstance(body, bytes) else body
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{WHAT}: invalid UTF-8 at offset {exc.start}") from None
    return raw


def error_value(text: bytes) -> object:
    """The value of an ``error`` member's (valid) JSON text."""
    try:
        return json.loads(text)
    except ValueError:  # json's own limits (an integer of 4,300+ digits)
        return bytes(text).decode("utf-8")


class Envelope:
    """What a request body says besides its values (``decode_body(..., envelope=...)`` fills it
    in): ``key``, the member the values came from (``"instances"``, or ``"inputs"`` for the
    columnar form); ``parameters``, the ``parameters`` member as decoded JSON (None when absent);
    ``signature_name``, TF Serving's ``signature_name`` (None when absent)."""

    __slots__ = ("key", "parameters", "signature_name")

    def __init__(self) -> None:
        self.key: str | None = None
        self.parameters: object = None
        self.signature_name: str | None = None

    def __repr__(self) -> str:
        return (f"Envelope(key={self.key!r}, parameters={self.parameters!r}, "
                f"signature_name={self.signature_name!r})")


def _jsonable(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"parameters: {type(value).__name__} is not JSON serializable")


def parameters_text(parameters: object) -> bytes:
    """The ``,"parameters":...`` member written after the values: compact JSON of ``parameters``
    as ``json.dumps`` writes it (non-ASCII as UTF-8; numpy scalars and arrays through
    ``.item()``/``.tolist()``); TypeError for what JSON cannot hold, ValueError for a lone
    surrogate."""
    text = json.dumps(parameters, ensure_ascii=False, separators=(",", ":"), allow_nan=True, default=_jsonable)
    try:
        return b',"parameters":' + text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("parameters: a string is not valid Unicode (lone surrogate)") from None


# -- the general body ("json" value form): kinds of leaves

REQUEST_MEMBERS = ("parameters", "signature_name")
OBJECT_COST = 64  # what a str or bytes leaf counts against max_bytes besides its text (json form)  # a request's members read into an Envelope
KIND_WORDS = {"int": "integers", "float": "numbers", "number": "numbers", "bool": "booleans", "str": "strings",
              "bytes": '{"b64"} values'}
"""How a refusal names what an input holds (``"number"``: numbers into a given dtype)."""
KIND_DTYPES: dict[str | None, np.dtype[Any]] = {"int": np.dtype(np.int64), "float": np.dtype(np.float32), "bool": np.dtype(np.bool_),
               "str": np.dtype(object), "bytes": np.dtype(object), None: np.dtype(np.float32)}
"""The dtype an input of each inferred kind decodes into (None: no leaf, only empty lists)."""


def text_kind(name: str | None, array: NDArray[Any]) -> Literal["number", "str", "bytes"]:
    """How the general body writes ``array``: ``"number"`` (numbers and booleans, as ND_ARRAYS),
    ``"str"`` (JSON strings) or ``"bytes"`` (``{"b64": ...}``).  TypeError naming the input and
    index for an object array holding anything but ``str`` only or ``bytes`` only."""
    kind = array.dtype.kind
    if kind == "U":
        return "str"
    if kind == "S":
        return "bytes"
    if kind != "O":
        return "number"
    found: Literal["str", "bytes"] | None = None
    for index in np.ndindex(array.shape):
        x = array[index]
        this: Literal["str", "bytes"] | None = "str" if isinstance(x, str) else "bytes" if isinstance(x, bytes) else None
        if this is None or (found is not None and this != found):
            what = type(x).__name__ if this is None else f"{this} beside {found}"
            raise TypeError(f"input {name!r}: object arrays must hold str only or bytes only; {what} at index {index}")
        found = this
    return found or "str"


def string_text(name: str | None, value: str) -> bytes:
    """A ``str`` leaf as JSON text, exactly as ``json.dumps(value, ensure_ascii=False)`` writes
    it; ValueError naming the input for a lone surrogate."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"input {name!r}: string {value[:40]!r} is not valid Unicode (lone surrogate)") from None


def resolve_dtype(dtype: DTypeOption, name: str, value_form: ReadValueForm) -> np.dtype[Any] | None:
    """The dtype to decode column ``name`` into: None means the encoded dtype (tensors), float32
    (numbers) or the kind the leaves say (``"json"``: see :data:`KIND_DTYPES`)."""
    # any dict is a name map (a numpy dtype given as a dict is not an option here)
    names = cast("dict[str, DTypeLike | None]", dtype)
    chosen: DTypeLike | None = names.get(name) if isinstance(dtype, dict) else dtype
    if chosen is None:
        return np.dtype(np.float32) if value_form == "number" else None
    return np.dtype(chosen) if value_form == "tensor" else numtext.number_dtype(chosen)


def check_decode_options(key: object, value_form: object, nonfinite: object, max_depth: object) -> None:
    """``decode_body``'s options; ValueError naming the first that is not one of its values."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}, not {key!r}")
    if value_form not in READ_VALUE_FORMS:
        raise ValueError(f"value_form must be one of {READ_VALUE_FORMS}, not {value_form!r}")
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, not {nonfinite!r}")
    if not isinstance(max_depth, int) or not 2 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be an int from 2 to {MAX_DEPTH_LIMIT}, not {max_depth!r}")


class Column:
    """What the instances seen so far fix about one name's values, and the values."""

    def __init__(self, name: str, dtype: np.dtype[Any] | None) -> None:
        self.name = name
        self.dtype = dtype  # None: a TensorProto value's own ("tensor"), or the leaves' kind ("json")
        self.dims: list[int | None] = []  # per level: the length the first closed list there had
        self.ndim: int | None = None  # the level leaves sit at, once known
        self.values: list[Any] = []  # numbers ("number"), arrays ("tensor"), leaves ("json": number tokens)
        self.kind: str | None = None  # "json": the leaves' kind so far (KIND_WORDS), None before the first


class Reader:
    """One pass over a body (``buf``, bytes checked by :func:`body_bytes`): :meth:`body` is the
    reference's decoding.  The Cython twin calls the checking methods (``string``, ``leaf``,
    ``tensor``, ``open_list``, ...) at the one place its own pass found a problem, to raise the
    exact exception: each reads only what lies at that place (see its module docstring).
    ``codecs``: ``(b64decode, decode_tensor)`` for TensorProto values, each twin's own."""

    def __init__(self, buf: bytes, key: Key, value_form: ReadValueForm, dtype: DTypeOption, nonfinite: Nonfinite,
                 max_depth: int, max_bytes: int, bare_name: str, *, codecs: Codecs,
                 envelope: Envelope | None = None) -> None:
        self.b64decode, self.decode_tensor = codecs
        self.envelope = envelope
        self.buf = buf
        self.key = key
        self.value_form = value_form
        self.dtype = dtype
        self.nonfinite = nonfinite
        self.max_depth = max_depth
        self.max_bytes = max_bytes
        self.bare_name = bare_name
        self.json_form = value_form == "json"
        self.object_bytes = 0  # what the str and bytes leaves read so far count against max_bytes
        # the general body also reads the columnar form; a bare columnar request value is "inputs"
        self.columnar_key = COLUMNAR_KEYS[key] if self.json_form else None
        self.columnar_bare_name = "inputs" if key == "instances" else bare_name

    # -- lexing

    def fail(self, message: str, pos: int) -> NoReturn:
        raise DecodeError(f"{WHAT}: {message} at offset {pos}")

    def ws(self, pos: int) -> int:
        return _ws_match(self.buf, pos).end()

    def peek(self, pos: int) -> bytes:
        return self.buf[pos : pos + 1]

    def expect(self, pos: int, char: bytes, what: str) -> int:
        if self.buf[pos : pos + 1] != char:
            self.fail(f"expected {what}", pos)
        return pos + 1

    def enter(self, pos: int, depth: int) -> None:
        if depth > self.max_depth:
            self.fail(f"nesting deeper than {self.max_depth}", pos)

    def string(self, pos: int) -> tuple[str, int]:
        """(decoded str, end) of the JSON string at ``pos``."""
        m = _STRING.match(self.buf, pos)
        if m is None:
            self.fail("invalid string" if self.peek(pos) == b'"' else "expected a string", self._string_error(pos))
        raw = self.buf[pos + 1 : m.end() - 1]
        if b"\\" not in raw:
            return raw.decode("utf-8"), m.end()
        return self._unescape(raw, pos + 1), m.end()

    def _string_error(self, pos: int) -> int:
        """Where the string at ``pos`` goes wrong (for the message): a run of plain characters at
        a time, so that finding it costs about what matching the string does."""
        if self.peek(pos) != b'"':
            return pos
        i = pos + 1
        while True:
            i = _plain_match(self.buf, i).end()
            if i >= len(self.buf) or self.buf[i] != 0x5C:
                return i  # the end, a control character (or a quote, never reached: the match failed)
            m = _ESCAPE.match(self.buf, i)
            if m is None:
                return i
            i = m.end()

    def text_offset(self, start: int, end: int, text: str, i: int) -> int:
        """The body offset of character ``i`` of ``text``, the decoded string from ``start`` to
        ``end`` (its quotes included): where an error inside a string value is."""
        raw = self.buf[start + 1 : end - 1]
        if b"\\" not in raw:
            return start + 1 + len(text[:i].encode("utf-8"))
        pos = start + 1
        for m in _PIECES.finditer(raw):
            piece = m.group()
            n = 1 if piece[:1] == b"\\" else len(piece.decode("utf-8"))
            if i < n:
                return pos + (0 if n == 1 else len(piece.decode("utf-8")[:i].encode("utf-8")))
            i -= n
            pos += len(piece)
        return pos

    def separator(self, pos: int, close: bytes) -> int:
        """The ',' expected at ``pos`` between values of a container that ``close`` ends."""
        return self.expect(pos, b",", "',' or ']'" if close == b"]" else "',' or '}'")

    def after(self, end: int, close: bytes) -> int:
        """After a value ending at ``end``: whitespace, then ``close`` or ','; raises otherwise."""
        pos = self.ws(end)
        return pos if self.peek(pos) == close else self.separator(pos, close)

    def _unescape(self, raw: bytes, base: int) -> str:
        """The text of a string whose raw bytes (``raw``, at offset ``base``, valid escapes only)
        hold a backslash; a lone surrogate escape is refused at its offset.  Only the surrogate
        escapes are visited one by one; the text is then ``json``'s decoding (C speed)."""
        pending = None  # the offset in raw of a high surrogate escape waiting for its low half
        for m in _SURROGATE_ESCAPE.finditer(raw):
            at = m.start(1)
            low = int(raw[at + 2 : at + 6], 16) >= 0xDC00
            if pending is not None:
                if low and at == pending + 6:
                    pending = None
                    continue
                self.fail("lone surrogate escape", base + pending)
            if low:
                self.fail("lone surrogate escape", base + at)
            pending = at
        if pending is not None:
            self.fail("lone surrogate escape", base + pending)
        text: str = json.loads(b'"' + raw + b'"')
        return text

    def literal(self, pos: int) -> tuple[bytes, int] | None:
        """(token bytes, end) of a number or literal at ``pos``, or None."""
        for lit in _LITERALS:
            if self.buf.startswith(lit, pos):
                return lit, pos + len(lit)
        m = _NUMBER.match(self.buf, pos)
        if m is None:
            return None
        return m.group(), m.end()

    # -- generic values (skipped members)

    def skip_value(self, pos: int, depth: int) -> int:
        c = self.peek(pos)
        if c == b"{":
            self.enter(pos, depth)
            pos = self.ws(pos + 1)
            if self.peek(pos) == b"}":
                return pos + 1
            while True:
                _, pos = self.string(pos)
                pos = self.expect(self.ws(pos), b":", "':'")
                pos = self.ws(self.skip_value(self.ws(pos), depth + 1))
                if self.peek(pos) == b"}":
                    return pos + 1
                pos = self.ws(self.separator(pos, b"}"))
        if c == b"[":
            self.enter(pos, depth)
            pos = self.ws(pos + 1)
            if self.peek(pos) == b"]":
                return pos + 1
            while True:
                pos = self.ws(self.skip_value(pos, depth + 1))
                if self.peek(pos) == b"]":
                    return pos + 1
                pos = self.ws(self.separator(pos, b"]"))
        if c == b'"':
            return self.string(pos)[1]
        token = self.literal(pos)
        if token is None:
            self.fail("expected a JSON value", pos)
        return token[1]

    # -- the envelope

    def body(self) -> Columns:
        buf = self.buf
        pos = self.expect(self.ws(0), b"{", "'{' (a JSON object)")
        self.enter(0, 1)
        columns = None
        found: str | None = None  # the key the values came from
        error = None
        members: dict[str, object] = {}  # a request's parameters and signature_name
        pos = self.ws(pos)
        if self.peek(pos) != b"}":
            while True:
                start = pos
                name, pos = self.string(pos)
                pos = self.ws(self.expect(self.ws(pos), b":", "':'"))
                if name == self.key or name == self.columnar_key:
                    if found is not None:
                        self.two_keys(found, name, start)
                    found = name
                    columns, pos = self.batch(pos) if name == self.key else self.columnar(pos)
                elif self.key == "instances" and name in REQUEST_MEMBERS:
                    if name in members:
                        self.duplicate(name, start)
                    end = self.skip_value(pos, 2)
                    members[name] = self.member(name, pos, end)
                    pos = end
                elif name == "error" and self.key == "predictions":
                    if error is not None:
                        self.duplicate(name, start)
                    end = self.skip_value(pos, 2)
                    error = error_value(buf[pos:end])
                    pos = end
                else:
                    pos = self.skip_value(pos, 2)
                pos = self.ws(pos)
                if self.peek(pos) == b"}":
                    break
                pos = self.ws(self.separator(pos, b"}"))
        self.end(self.ws(pos + 1), error, columns is not None)
        assert columns is not None  # else end() raised
        if self.envelope is not None:
            self.envelope.key = found
            self.envelope.parameters = members.get("parameters")
            self.envelope.signature_name = cast("str | None", members.get("signature_name"))
        return columns

    def duplicate(self, name: str, start: int) -> NoReturn:
        self.fail(f"duplicate {name!r} member", start)

    def two_keys(self, first: str, name: str, start: int) -> NoReturn:
        """A second values member (``name`` at ``start``) after ``first``."""
        if name == first:
            self.duplicate(name, start)
        self.fail(f"both {first!r} and {name!r} members", start)

    def member(self, name: str, pos: int, end: int) -> object:
        """The value of a request's ``parameters`` or ``signature_name`` member (valid JSON text
        from ``pos`` to ``end``)."""
        try:
            value = json.loads(self.buf[pos:end])
        except ValueError:  # json's own limits (an integer of 4,300+ digits)
            self.fail(f"{name!r}: a value Python's json module cannot read", pos)
        if name == "signature_name" and not isinstance(value, str):
            self.fail("'signature_name' must be a string", pos)
        return value

    def end(self, pos: int, error: object, found: bool) -> None:
        """After the envelope's '}' (whitespace skipped): ``error`` is the ``error`` member's
        value (None if none), ``found`` whether the key was."""
        if pos != len(self.buf):
            self.fail("trailing data after the JSON object", pos)
        if error is not None:
            raise PredictionError(error)
        if not found:
            also = f" or {self.columnar_key!r}" if self.columnar_key else ""
            raise DecodeError(f"{WHAT}: no {self.key!r}{also} member")

    def batch(self, pos: int) -> tuple[Columns, int]:
        pos = self.expect(pos, b"[", f"an array for {self.key!r}")
        self.enter(pos - 1, 2)
        columns = None  # name -> Column, in the first instance's order
        count = 0
        pos = self.ws(pos)
        if self.peek(pos) == b"]":
            return {}, pos + 1
        while True:
            columns, pos = self.instance(pos, count, columns)
            count += 1
            pos = self.ws(pos)
            if self.peek(pos) == b"]":
                break
            pos = self.ws(self.separator(pos, b"]"))
        return {name: self.finish(col, count) for name, col in columns.items()}, pos + 1

    def columnar(self, pos: int) -> tuple[Columns, int]:
        """The columnar form's value at ``pos`` (``"json"`` only): one instance, each value a
        whole array (no instance axis)."""
        if self.named(pos):
            inner = self.ws(pos + 1)
            if self.peek(inner) == b"}":
                self.fail(f"{self.columnar_key!r} has no inputs", inner)
        columns, end = self.instance(pos, 0, None, 2, self.columnar_bare_name)
        return {col.name: self.finish(col, 1)[0, ...] for col in columns.values()}, end

    def named(self, pos: int) -> bool:
        """Whether the instance at ``pos`` is named: an object that is not a binary value (in
        ``"tensor"`` form ``{"b64": <string>}``, in ``"json"`` form any object whose first member
        is ``"b64"``)."""
        if self.peek(pos) != b"{":
            return False
        if self.json_form:
            return _B64_FIRST.match(self.buf, pos) is None
        return not (self.value_form == "tensor" and _B64_OBJECT.match(self.buf, pos))

    def instance(self, pos: int, index: int, columns: dict[str | None, Column] | None, depth: int = 3,
                 bare_name: str | None = None) -> tuple[dict[str | None, Column], int]:
        """Instance ``index`` at ``pos`` (its value at ``depth`` of the body; a bare one under
        ``bare_name``, default the reader's)."""
        named = self.named(pos)
        if columns is None:
            if named:
                columns = {}
            else:
                name = self.bare_name if bare_name is None else bare_name
                columns = {None: Column(name, resolve_dtype(self.dtype, name, self.value_form))}
        elif named != (None not in columns):
            self.form_differs(pos, index, named)
        if not named:
            return columns, self.value(pos, columns[None], depth)
        self.enter(pos, depth)
        seen: set[str] = set()
        pos = self.ws(pos + 1)
        if self.peek(pos) == b"}":
            self.no_inputs(pos, index)
        while True:
            start = pos
            name, pos = self.string(pos)
            self.check_name(start, index, name, seen, columns)
            seen.add(name)
            if index == 0:
                columns[name] = Column(name, resolve_dtype(self.dtype, name, self.value_form))
            pos = self.ws(self.expect(self.ws(pos), b":", "':'"))
            pos = self.ws(self.value(pos, columns[name], depth + 1))
            if self.peek(pos) == b"}":
                break
            pos = self.ws(self.separator(pos, b"}"))
        self.check_complete(pos, index, seen, columns)
        return columns, pos + 1

    def form_differs(self, pos: int, index: int, named: bool) -> NoReturn:
        self.fail(f"instance {index} is {'named' if named else 'bare'}, instance 0 was not", pos)

    def no_inputs(self, pos: int, index: int) -> NoReturn:
        self.fail(f"instance {index} has no inputs", pos)

    def check_name(self, start: int, index: int, name: str, seen: set[str],
                   columns: dict[str | None, Column]) -> None:
        """A name of instance ``index`` (its names so far: ``seen``; instance 0's: ``columns``)."""
        if name in seen:
            self.fail(f"instance {index}: duplicate name {name!r}", start)
        if self.json_form and name == "b64":
            self.fail(f"instance {index}: an input may not be named 'b64' (it marks a binary value)", start)
        if index and name not in columns:
            self.fail(f"instance {index}: name {name!r} is not in instance 0", start)

    def check_complete(self, pos: int, index: int, seen: set[str], columns: dict[str | None, Column]) -> None:
        if len(seen) != len(columns):
            missing = next(n for n in columns if n not in seen)
            self.fail(f"instance {index}: no value for {missing!r}", pos)

    # -- values

    def value(self, pos: int, col: Column, depth: int) -> int:
        if self.value_form == "tensor":
            return self.tensor(pos, col)
        return self.nested(pos, col, depth, 0)

    def tensor(self, pos: int, col: Column) -> int:
        m = _B64_OBJECT.match(self.buf, pos)
        text_pos, end = (m.start(1), m.end()) if m else (pos, -1)
        if self.peek(text_pos) != b'"':
            self.fail(f"{col.name!r}: expected a base64 string", pos)
        text, text_end = self.string(text_pos)
        prefix = f"{WHAT}: {col.name!r}: "
        try:
            raw = self.b64decode(text)
        except DecodeError as exc:  # its offset is a character of the string: where it is in the body
            raise exc.within(prefix, text_pos, lambda i: self.text_offset(text_pos, text_end, text, i)) from None
        try:
            array = self.decode_tensor(raw, dtype=col.dtype, max_bytes=self.max_bytes)
        except DecodeError as exc:  # offsets in the decoded bytes: the position is the string's
            raise exc.within(prefix, text_pos, None) from None
        if array.ndim + 1 > MAX_RANK:
            self.fail(f"{col.name!r}: more than {MAX_RANK} dimensions with the instance axis", text_pos)
        if col.values:
            first = col.values[0]
            if array.dtype != first.dtype or array.shape != first.shape:
                self.fail(
                    f"{col.name!r}: tensor {array.dtype}{list(array.shape)} differs from the first "
                    f"instance's {first.dtype}{list(first.shape)}",
                    text_pos,
                )
        col.values.append(array)
        return end if m else text_end

    def nested(self, pos: int, col: Column, depth: int, level: int) -> int:
        if self.peek(pos) == b"[":
            self.open_list(pos, col, depth, level)
            length = 0
            pos = self.ws(pos + 1)
            if self.peek(pos) != b"]":
                while True:
                    pos = self.ws(self.nested(pos, col, depth + 1, level + 1))
                    length += 1
                    if self.peek(pos) == b"]":
                        break
                    pos = self.ws(self.separator(pos, b"]"))
            self.close_list(pos, col, level, length)
            return pos + 1
        self.leaf_level(pos, col, level)
        value, end = self.json_leaf(pos, col, depth) if self.json_form else self.leaf(pos, col)
        col.values.append(value)
        return end

    def open_list(self, pos: int, col: Column, depth: int, level: int) -> None:
        """A list opening at ``pos``, at ``level`` of the value, ``depth`` in the body."""
        if col.ndim is not None and level >= col.ndim:
            self.fail(f"{col.name!r}: a list where a number belongs (depth {level})", pos)
        if level + 2 > MAX_RANK:
            self.fail(f"{col.name!r}: more than {MAX_RANK} dimensions with the instance axis", pos)
        self.enter(pos, depth)

    def close_list(self, pos: int, col: Column, level: int, length: int) -> None:
        """A list of ``length`` values at ``level`` closing at ``pos``."""
        while len(col.dims) <= level:
            col.dims.append(None)  # lists close innermost first: outer lengths come later
        if col.dims[level] is None:
            col.dims[level] = length
            if length == 0 and col.ndim is None:
                col.ndim = level + 1
        elif col.dims[level] != length:
            self.fail(f"{col.name!r}: ragged lists: length {length} where {col.dims[level]} was", pos)

    def leaf_level(self, pos: int, col: Column, level: int) -> None:
        """A number at ``level`` of the value."""
        if col.ndim is None:
            col.ndim = level
        elif level != col.ndim:
            self.fail(f"{col.name!r}: a number where a list of depth {col.ndim - level} belongs", pos)

    def leaf(self, pos: int, col: Column) -> tuple[np.generic, int]:
        """(value, end) of the leaf at ``pos``."""
        dt = col.dtype
        assert dt is not None  # value form "number": resolve_dtype gave one
        if self.peek(pos) == b'"':
            text, end = self.string(pos)
            token = text.encode("utf-8")
        else:
            found = self.literal(pos)
            if found is None:
                self.fail(f"{col.name!r}: expected a number", pos)
            token, end = found
            if token == b"null":
                if self.nonfinite != "null" or dt.kind != "f":
                    self.fail(f"{col.name!r}: null is not a number (nonfinite={self.nonfinite!r}, {dt})", pos)
                return dt.type("nan"), end
        if self.nonfinite == "error" and token in numtext.NONFINITE:
            self.fail(f"{col.name!r}: non-finite {token.decode()} refused (nonfinite='error')", pos)
        try:
            return numtext.parse_number(token, dt), end
        except DecodeError as exc:
            raise exc.within(f"{WHAT}: {col.name!r}: ", pos, None) from None

    def finish(self, col: Column, count: int) -> NDArray[Any]:
        if self.value_form == "tensor":
            return stack_tensors(col.values)
        shape = (count, *col.dims[: col.ndim])
        if not self.json_form or col.kind == "number":
            return np.array(col.values, dtype=col.dtype).reshape(shape)
        if col.kind == "int":
            array = np.array([int(t) for t in col.values], dtype=np.int64)
        elif col.kind == "float":
            array = np.array([numtext.parse_number(t, np.float32) for t in col.values], dtype=np.float32)
        elif col.kind in ("str", "bytes"):
            array = np.empty(len(col.values), dtype=object)
            array[:] = col.values
        else:  # bool, or no leaf at all (the given dtype, else float32)
            dt: np.dtype[Any] = col.dtype if col.kind is None and col.dtype is not None else KIND_DTYPES[col.kind]
            array = np.array(col.values, dtype=dt)
        return array.reshape(shape)

    # -- the general body's leaves ("json")

    def json_leaf(self, pos: int, col: Column, depth: int) -> tuple[Any, int]:
        """(value, end) of the leaf at ``pos`` (``depth`` in the body) of a ``"json"`` column:
        a str, bytes, a bool, a number of the given dtype, or a number's text (kinds "int" and
        "float", parsed by :meth:`finish` once the kind is final)."""
        c = self.peek(pos)
        if c == b'"' or c == b"{":
            self.leaf_kind(pos, col, "str" if c == b'"' else "bytes")
            value, end = self.string(pos) if c == b'"' else self.b64_value(pos, col, depth)
            self.charge(pos, end, col)
            return value, end
        found = self.literal(pos)
        if found is None:
            self.fail(f"{col.name!r}: expected a value", pos)
        token, end = found
        if token == b"true" or token == b"false":
            self.leaf_kind(pos, col, "bool")
            return np.bool_(token == b"true"), end
        self.leaf_kind(pos, col, "number")
        if col.dtype is not None:
            return self.leaf(pos, col)
        if token == b"null":
            if self.nonfinite != "null":
                self.fail(f"{col.name!r}: null is not a number (nonfinite={self.nonfinite!r})", pos)
            token = b"NaN"
        elif self.nonfinite == "error" and token in numtext.NONFINITE:
            self.fail(f"{col.name!r}: non-finite {token.decode()} refused (nonfinite='error')", pos)
        integer = token not in numtext.NONFINITE and not any(ch in token for ch in b".eE")
        kind = "int" if integer and col.kind in (None, "int") else "float"
        try:
            numtext.parse_number(token, np.int64 if kind == "int" else np.float32)
        except DecodeError as exc:
            raise exc.within(f"{WHAT}: {col.name!r}: ", pos, None) from None
        col.kind = kind
        return token, end

    def charge(self, pos: int, end: int, col: Column) -> None:
        """Count the str or bytes leaf from ``pos`` to ``end`` against ``max_bytes``: each costs
        :data:`OBJECT_COST` and its text's length, a bound on the Python object it becomes (so a
        body of many short strings cannot take many times its size in memory)."""
        self.object_bytes += OBJECT_COST + (end - pos)
        if self.object_bytes > self.max_bytes:
            self.fail(f"{col.name!r}: strings and bytes past max_bytes={self.max_bytes:,} "
                      f"(each counts {OBJECT_COST} bytes and its text)", pos)

    def leaf_kind(self, pos: int, col: Column, kind: str) -> None:
        """A leaf of ``kind`` (``"number"``: any number) at ``pos``: refused if the input's
        leaves so far are of another kind.  Sets the kind, but for numbers without a given
        dtype, which :meth:`json_leaf` sets ("int" or "float") once the number is read."""
        have = col.kind
        numbers = have in ("int", "float", "number")
        if have is None or have == kind or (kind == "number" and numbers):
            if kind != "number" or col.dtype is not None:
                col.kind = kind
            return
        word = "a number" if kind == "number" else {"str": "a string", "bool": "a boolean", "bytes": 'a {"b64"} value'}[kind]
        self.fail(f"{col.name!r}: {word} where the values are {KIND_WORDS[have]}", pos)

    def b64_value(self, pos: int, col: Column, depth: int) -> tuple[bytes, int]:
        """(bytes, end) of the ``{"b64": "<base64>"}`` object at ``pos``, ``depth`` in the body."""
        self.enter(pos, depth)
        start = self.ws(pos + 1)
        name, end = self.string(start)
        if name != "b64":
            self.fail(f'{col.name!r}: an object in a value must be {{"b64": ...}}', start)
        text_pos = self.ws(self.expect(self.ws(end), b":", "':'"))
        if self.peek(text_pos) != b'"':
            self.fail(f"{col.name!r}: the 'b64' member must be a string", text_pos)
        text, text_end = self.string(text_pos)
        try:
            raw = self.b64decode(text)
        except DecodeError as exc:  # its offset is a character of the string: where it is in the body
            raise exc.within(f"{WHAT}: {col.name!r}: ", text_pos,
                             lambda i: self.text_offset(text_pos, text_end, text, i)) from None
        close = self.ws(text_end)
        if self.peek(close) != b"}":
            self.fail(f"{col.name!r}: a {{\"b64\"}} object with another member", close)
        return raw, close + 1
