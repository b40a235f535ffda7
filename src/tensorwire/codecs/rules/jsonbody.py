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
from collections.abc import Callable
from typing import Any, Literal, NoReturn, Protocol, Union, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

from ...errors import DecodeError, PredictionError
from .. import numtext
from .dtypes import MAX_RANK
from .tensor import stack_tensors

Key = Literal["instances", "predictions"]
ValueForm = Literal["tensor", "string", "number"]
"""How a value is written: ``"tensor"`` (base64 TensorProto strings: SERIALIZED_TF_TENSORS),
``"string"`` (nested lists of numbers in JSON strings: RAW_JSON) or ``"number"`` (nested lists of
bare numbers: ND_ARRAYS)."""
ReadValueForm = Literal["tensor", "number"]
"""How a value is read: ``"number"`` reads bare numbers and numbers in strings alike."""
Nonfinite = Literal["token", "null", "error"]
FloatFormat = Literal["shortest", "tolist"]
DTypeOption = Union[DTypeLike, "dict[str, DTypeLike | None]", None]
"""``decode_body``'s ``dtype``: None, one dtype for every name, or ``{name: dtype}``."""
Body = Union[str, bytes, bytearray, memoryview]
"""A body: text, or any bytes-like object (read as UTF-8)."""
Columns = dict[Union[str, None], "NDArray[Any]"]
"""Decoded columns: name (None: a bare instance's) -> batch-first array."""

KEYS: tuple[Key, ...] = ("instances", "predictions")  # the envelope's key: request, response
VALUE_FORMS: tuple[ValueForm, ...] = ("tensor", "string", "number")  # written (read: "tensor", "number")
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


def resolve_dtype(dtype: DTypeOption, name: str, value_form: ReadValueForm) -> np.dtype[Any] | None:
    """The dtype to decode column ``name`` into: None means the encoded dtype (tensors) or float32."""
    # any dict is a name map (a numpy dtype given as a dict is not an option here)
    names = cast("dict[str, DTypeLike | None]", dtype)
    chosen: DTypeLike | None = names.get(name) if isinstance(dtype, dict) else dtype
    if chosen is None:
        return None if value_form == "tensor" else np.dtype(np.float32)
    return np.dtype(chosen) if value_form == "tensor" else numtext.number_dtype(chosen)


def check_decode_options(key: object, value_form: object, nonfinite: object, max_depth: object) -> None:
    """``decode_body``'s options; ValueError naming the first that is not one of its values."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {KEYS}, not {key!r}")
    if value_form not in ("tensor", "number"):
        raise ValueError(f"value_form must be 'tensor' or 'number', not {value_form!r}")
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, not {nonfinite!r}")
    if not isinstance(max_depth, int) or not 2 <= max_depth <= MAX_DEPTH_LIMIT:
        raise ValueError(f"max_depth must be an int from 2 to {MAX_DEPTH_LIMIT}, not {max_depth!r}")


class Column:
    """What the instances seen so far fix about one name's values, and the values."""

    def __init__(self, name: str, dtype: np.dtype[Any] | None) -> None:
        self.name = name
        self.dtype = dtype  # None: a TensorProto value's own (value form "tensor" only)
        self.dims: list[int | None] = []  # per level: the length the first closed list there had
        self.ndim: int | None = None  # the level leaves sit at, once known
        self.values: list[Any] = []  # numbers (value form "number"), or arrays (value form "tensor")


class Reader:
    """One pass over a body (``buf``, bytes checked by :func:`body_bytes`): :meth:`body` is the
    reference's decoding.  The Cython twin calls the checking methods (``string``, ``leaf``,
    ``tensor``, ``open_list``, ...) at the one place its own pass found a problem, to raise the
    exact exception: each reads only what lies at that place (see its module docstring).
    ``codecs``: ``(b64decode, decode_tensor)`` for TensorProto values, each twin's own."""

    def __init__(self, buf: bytes, key: Key, value_form: ReadValueForm, dtype: DTypeOption, nonfinite: Nonfinite,
                 max_depth: int, max_bytes: int, bare_name: str, *, codecs: Codecs) -> None:
        self.b64decode, self.decode_tensor = codecs
        self.buf = buf
        self.key = key
        self.value_form = value_form
        self.dtype = dtype
        self.nonfinite = nonfinite
        self.max_depth = max_depth
        self.max_bytes = max_bytes
        self.bare_name = bare_name

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
        error = None
        pos = self.ws(pos)
        if self.peek(pos) != b"}":
            while True:
                start = pos
                name, pos = self.string(pos)
                pos = self.ws(self.expect(self.ws(pos), b":", "':'"))
                if name == self.key:
                    if columns is not None:
                        self.duplicate(name, start)
                    columns, pos = self.batch(pos)
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
        return columns

    def duplicate(self, name: str, start: int) -> NoReturn:
        self.fail(f"duplicate {name!r} member", start)

    def end(self, pos: int, error: object, found: bool) -> None:
        """After the envelope's '}' (whitespace skipped): ``error`` is the ``error`` member's
        value (None if none), ``found`` whether the key was."""
        if pos != len(self.buf):
            self.fail("trailing data after the JSON object", pos)
        if error is not None:
            raise PredictionError(error)
        if not found:
            raise DecodeError(f"{WHAT}: no {self.key!r} member")

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

    def instance(self, pos: int, index: int, columns: dict[str | None, Column] | None
                 ) -> tuple[dict[str | None, Column], int]:
        named = self.peek(pos) == b"{" and not (self.value_form == "tensor" and _B64_OBJECT.match(self.buf, pos))
        if columns is None:
            if named:
                columns = {}
            else:
                columns = {None: Column(self.bare_name, resolve_dtype(self.dtype, self.bare_name, self.value_form))}
        elif named != (None not in columns):
            self.form_differs(pos, index, named)
        if not named:
            return columns, self.value(pos, columns[None], 3)
        self.enter(pos, 3)
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
            pos = self.ws(self.value(pos, columns[name], 4))
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
        value, end = self.leaf(pos, col)
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
        return np.array(col.values, dtype=col.dtype).reshape(shape)
