"""tf.Example and tf.SequenceExample codec, pure-Python reference (docs/tf-example.md).

Wire layout (``tensorflow/core/example/{example,feature}.proto``): Example.features = 1;
Features.feature = 1, a ``map<string, Feature>`` written as repeated entries ``{key = 1,
value = 2}``; Feature is a oneof of bytes_list = 1, float_list = 2, int64_list = 3, each a
message whose field 1 is the repeated value (packed floats, packed int64 varints, bytes).
SequenceExample: context = 1 (Features), feature_lists = 2 (FeatureLists.feature_list = 1, a
``map<string, FeatureList>``; FeatureList.feature = 1, repeated Feature).

Encoding
--------
``encode_example(features, *, sort_keys=True)``: ``features`` is a mapping of ``str`` names to
values; each value becomes one Feature:

* a ``bytes``, ``bytearray`` or ``str`` -> a ``bytes_list`` of that one value (``str`` as UTF-8;
  a ``str`` that has no UTF-8 form, e.g. a lone surrogate, raises ``UnicodeEncodeError``);
* a list or tuple holding any ``bytes``/``bytearray``/``str`` must hold only those: a
  ``bytes_list``; a list mixing them with other items raises ``TypeError``;
* anything else is turned into an array (``numpy.asarray``; numpy arrays, numpy and Python
  scalars, nested lists and objects with ``__array__`` are accepted; ``None``, dicts, sets,
  generators, memoryviews raise ``TypeError``) and flattened row-major, then by dtype:
  float dtypes (float16/32/64, longdouble, and ml_dtypes' bfloat16) -> ``float_list`` written as
  float32: float64 values round to nearest float32 as protobuf's own double -> float conversion
  does, values beyond the float32 range become +-inf, NaNs keep their sign and high payload bits;
  float32 values are written bit for bit (a signalling NaN stays signalling, where protobuf fed
  from Python floats quiets it). Integer and bool dtypes -> ``int64_list`` (bools as 0/1); a
  value outside the int64 range (uint64 above 2**63-1, Python ints beyond 64 bits) raises
  ``ValueError``. ``S``/``U`` arrays -> ``bytes_list`` of their items as numpy gives them
  (trailing NULs stripped). Object arrays must hold only bytes/str (``bytes_list``) or only
  integers (``int64_list``). Complex, datetime, void and other dtypes raise ``TypeError``.
* A list or tuple is the bytes route; numeric data comes as arrays.  So an empty list or tuple
  (no item to tell its kind) is an empty ``bytes_list``, byte-equal to
  ``tf.train.Feature(bytes_list=tf.train.BytesList(value=[]))`` and read back by
  ``tf.io.VarLenFeature(tf.string)``; write ``np.array([], np.float32)`` or
  ``np.array([], np.int64)`` for an empty list of the numeric kinds.  (A non-empty list of
  numbers is still turned into an array, as above.)

Names must be ``str`` (else ``TypeError``) and are written as UTF-8.  ``features`` must be a
``collections.abc.Mapping`` (else ``TypeError``).  With ``sort_keys=True`` the map entries are
sorted so that the bytes equal protobuf's ``tf.train.Example(features=tf.train.Features(
feature=...)).SerializeToString(deterministic=True)``.  That is protobuf's Python (upb) order:
byte order of the UTF-8 names, except that a name comes after the longer names it is a prefix
of (``B10, B11, B1, B2``; see ``_map_order``).  With ``sort_keys=False`` the entries follow the
mapping's iteration order.  The ``features`` field is always written, so ``{}`` encodes as
``0a 00`` (what ``tf.train.Example(features=tf.train.Features())`` serializes to).

``encode_sequence_example(context, feature_lists, *, sort_keys=True)``: ``context`` like
``features`` above; ``feature_lists`` maps names to a list, tuple or numpy array of steps (an
array's steps are its rows along axis 0), each step a feature value as above.  Both fields are
always written (``{}, {}`` encodes as ``0a 00 12 00``), as ``tf.train.SequenceExample(
context=..., feature_lists=...)`` serializes.

Decoding
--------
``decode_example(data, *, spec=None)`` returns a dict: ``float_list`` -> float32 ndarray,
``int64_list`` -> int64 ndarray (both 1-D, native byte order, owning their memory),
``bytes_list`` -> list of bytes, and a Feature with no kind set -> ``None``.  Keys are in the
order they first appear; like protobuf's map parsing a key that appears again replaces the
earlier value (last wins).  It accepts everything protobuf does: fields in any order, unknown
fields of every wire type (groups included) at every level, a known field number with another
wire type (skipped as unknown, as protobuf does), packed and unpacked value lists, repeated
occurrences of a message field (merged: the ``features`` message repeated concatenates its
entries; a map entry's value repeated, or the same list kind repeated in one Feature,
concatenates the values), a missing key (the empty name) or value (no kind).  One quirk is
protobuf's own: a map entry holding any field besides its key and value (an unknown field, or
the key or value with another wire type) is not a map entry for ``tf.train.Example.FromString``
(upb keeps the whole entry as an unknown field of the Features message), so the feature is
absent and an earlier entry of the same name stays; we do the same, after validating the entry
like any other.  (TensorFlow's ``parse_single_example`` rejects such an Example outright.)

``spec``, ``{name: (shape, dtype)}``, works like ``tf.io.parse_single_example`` with
``tf.io.FixedLenFeature(shape, dtype)`` entries: ``dtype`` is float32, int64 or a string type
(``bytes``, ``str``, ``object``, ``"string"``, or any of these as a numpy or TensorFlow dtype);
``shape`` an int or a sequence of ints >= 0.  The result holds exactly the spec's names, in the
spec's order: float and int64 arrays reshaped, bytes as an object ndarray of that shape.  Names
absent from the spec are ignored (but still validated: the whole message is parsed).  A feature
that is missing or has no kind set (TensorFlow treats both as missing), of another kind, or
with a number of values other than the shape's size raises :class:`DecodeError` naming the
feature; an unusable spec raises ``TypeError`` (not a mapping, not a ``(shape, dtype)`` pair,
unsupported dtype) or ``ValueError`` (negative dimension) before the data is read.

``decode_sequence_example(data)`` returns ``(context, feature_lists)``: ``context`` as
``decode_example`` returns; ``feature_lists`` maps each name to the list of its steps, each step
decoded like a feature value (``None`` for a step with no kind).

Errors (:class:`DecodeError`, the same type and message from both backends), in the order the
parser meets them, left to right: every wire-level error the TensorProto decoder reports
(truncation anywhere, varints over 10 bytes, lengths past the end, invalid tags, wire types and
groups); a map key that is not valid UTF-8 (``tf.train.Example.FromString`` rejects it: proto3
strings); a Feature with two different kinds set (protobuf would silently keep the last one;
TensorFlow's own parser keeps the first: we refuse); a packed float_list whose byte length is
not a multiple of 4.  Within a map entry, the entry's own fields (key and value occurrences,
every key's UTF-8 checked as it is met) are checked before the value's contents.  Input is
``bytes``, ``bytearray``, ``memoryview`` or any C-contiguous buffer (``str`` raises
``TypeError``).  Nothing is allocated beyond what the input holds: every value counted has its
bytes present.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Mapping
from numbers import Integral
from typing import TYPE_CHECKING, Any, Union, overload

import numpy as np
from numpy.typing import NDArray

from ..errors import DecodeError
from .rules import dtypes as D
from .rules.example import BYTES_LIST, FLOAT_LIST, INT64_LIST, LIST_NAMES, ListKind, SpecEntry, spec_entries
from .rules.wire import (
    WT_FIXED32,
    WT_LEN,
    WT_VARINT,
    encode_len_field,
    encode_varint,
    message_view,
    read_length,
    read_tag,
    read_varint,
    skip_field,
)

WHAT = "Example"
WHAT_SEQ = "SequenceExample"

if TYPE_CHECKING:
    from .._types import BytesLike, DecodedFeature, ExampleSpec, FeatureValue

#: A classified feature value's values: bytes (bytes_list), float32 or int64 array.
_Values = Union[list[bytes], NDArray[np.float32], NDArray[np.int64]]

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
_TEXT = (bytes, bytearray, str)


# --------------------------------------------------------------------------------------------
# encoding


def _utf8(item: bytes | bytearray | str) -> bytes:
    return item.encode("utf-8") if isinstance(item, str) else bytes(item)


def _text_items(items: Iterable[object], name: object) -> list[bytes]:
    """A bytes_list's values from items that must all be bytes, bytearray or str."""
    out = []
    for item in items:
        if not isinstance(item, _TEXT):
            raise TypeError(
                f"feature {name!r}: a bytes_list value holds an item of type {type(item).__name__}; "
                "expected bytes or str"
            )
        out.append(_utf8(item))
    return out


def _int64_values(ints: list[int], name: object) -> NDArray[np.int64]:
    """Python ints -> int64 array, checking the range first."""
    for v in ints:
        if not INT64_MIN <= v <= INT64_MAX:
            raise ValueError(f"feature {name!r}: value {v} is out of range for an int64_list")
    return np.array(ints, dtype=np.int64)


def _feature_value(value: object, name: object) -> tuple[ListKind, Any]:
    """Classify one feature value: ``(list_kind, values)``.

    ``values`` is a list of bytes (bytes_list), a C-contiguous little-endian float32 array
    (float_list) or a 1-D int64 array (int64_list).
    """
    if isinstance(value, _TEXT):
        return BYTES_LIST, [_utf8(value)]
    if isinstance(value, (list, tuple)):
        if not value:  # a list is the bytes route (module docstring)
            return BYTES_LIST, []
        n_text = sum(isinstance(item, _TEXT) for item in value)
        if n_text:
            return BYTES_LIST, _text_items(value, name)
    elif not isinstance(value, (np.ndarray, np.generic, int, float)) and not hasattr(value, "__array__"):
        raise TypeError(
            f"feature {name!r}: cannot encode a value of type {type(value).__name__} "
            "(expected an array, a number, bytes, str or a list of them)"
        )
    arr = np.asarray(value)
    dtype = arr.dtype
    bfloat16 = D.bfloat16_dtype()
    if dtype.kind == "f" or (bfloat16 is not None and dtype == bfloat16):
        with np.errstate(over="ignore", invalid="ignore"):
            return FLOAT_LIST, np.ascontiguousarray(arr, dtype="<f4").reshape(-1)
    if dtype.kind in "biu":
        if dtype.kind == "u" and dtype.itemsize == 8:
            big = np.flatnonzero(arr.reshape(-1) > INT64_MAX)
            if big.size:
                raise ValueError(
                    f"feature {name!r}: value {arr.reshape(-1)[big[0]]} is out of range for an int64_list"
                )
        return INT64_LIST, arr.astype(np.int64).reshape(-1)
    if dtype.kind in "SU":
        return BYTES_LIST, [_utf8(item) for item in arr.reshape(-1).tolist()]
    if dtype.kind == "O":
        items = arr.reshape(-1).tolist()
        if items and all(isinstance(item, Integral) for item in items):
            return INT64_LIST, _int64_values([int(item) for item in items], name)
        return BYTES_LIST, _text_items(items, name)
    raise TypeError(
        f"feature {name!r}: cannot encode numpy dtype {dtype} (expected float, integer, bool, bytes or str)"
    )


def _encode_feature(list_kind: ListKind, values: Any) -> bytes:
    """The serialized Feature message for a classified value."""
    if list_kind == FLOAT_LIST:
        payload = encode_len_field(1, values.tobytes()) if values.size else b""
    elif list_kind == INT64_LIST:
        payload = encode_len_field(1, b"".join(encode_varint(v) for v in values.tolist())) if values.size else b""
    else:
        payload = b"".join(encode_len_field(1, v) for v in values)
    return encode_len_field(list_kind, payload)


def _name(name: object) -> bytes:
    if not isinstance(name, str):
        raise TypeError(f"feature names must be str, not {type(name).__name__}")
    return name.encode("utf-8")


def _map_order(entry: tuple[bytes, bytes]) -> bytes:
    """Sort key of a ``(key bytes, ...)`` map entry in protobuf's deterministic order.

    upb (protobuf's Python runtime) compares the common prefix of two keys byte by byte and,
    when one key is a prefix of the other, puts the longer one first (``"B10"`` before
    ``"B1"``).  A valid UTF-8 key never holds the byte 0xFF, so that is plain byte order with
    0xFF appended to every key.
    """
    return entry[0] + b"\xff"


def _map(entries: list[tuple[bytes, bytes]], sort_keys: bool) -> bytes:
    """A protobuf map<string, message> field 1 from ``(key bytes, value message)`` pairs."""
    if sort_keys:
        entries = sorted(entries, key=_map_order)
    return b"".join(encode_len_field(1, encode_len_field(1, k) + encode_len_field(2, v)) for k, v in entries)


def _mapping(obj: object, what: str) -> ItemsView[Any, Any]:
    if not isinstance(obj, Mapping):
        raise TypeError(f"{what} must be a mapping of names to values, not {type(obj).__name__}")
    return obj.items()


def _features_message(features: object, sort_keys: bool, what: str = "features") -> bytes:
    entries = [(_name(name), _encode_feature(*_feature_value(value, name))) for name, value in _mapping(features, what)]
    return _map(entries, sort_keys)


def encode_example(features: Mapping[str, FeatureValue], *, sort_keys: bool = True) -> bytes:
    """Serialize ``features`` (``{name: value}``) as a ``tf.train.Example``.

    Floats become a float32 ``float_list``, integers and bools an ``int64_list``, bytes and str
    a ``bytes_list``; arrays are flattened row-major.  With ``sort_keys=True`` the bytes equal
    protobuf's deterministic serialization; with ``False`` the mapping's order is kept.  See the
    module docstring for every accepted value and the errors (``TypeError``, ``ValueError``).
    """
    return encode_len_field(1, _features_message(features, sort_keys))


def _steps(steps: object, name: object) -> Any:
    if not isinstance(steps, (list, tuple, np.ndarray)) or (isinstance(steps, np.ndarray) and steps.ndim == 0):
        raise TypeError(
            f"feature list {name!r} must be a list, tuple or array of steps, not {type(steps).__name__}"
        )
    return steps


def encode_sequence_example(context: Mapping[str, FeatureValue],
                            feature_lists: Mapping[str, Iterable[FeatureValue] | NDArray[Any]], *,
                            sort_keys: bool = True) -> bytes:
    """Serialize a ``tf.train.SequenceExample``: ``context`` as in :func:`encode_example`,
    ``feature_lists`` mapping names to sequences of steps (each step a feature value).

    With ``sort_keys=True`` (both maps sorted) the bytes equal protobuf's deterministic
    serialization; with ``False`` the mappings' orders are kept.
    """
    ctx = _features_message(context, sort_keys, "context")
    entries = []
    for name, steps in _mapping(feature_lists, "feature_lists"):
        key = _name(name)
        message = b"".join(
            encode_len_field(1, _encode_feature(*_feature_value(step, name))) for step in _steps(steps, name)
        )
        entries.append((key, message))
    return encode_len_field(1, ctx) + encode_len_field(2, _map(entries, sort_keys))


# --------------------------------------------------------------------------------------------
# decoding


# The decoders' argument check, under the name codecs.grpc imports (until it imports
# rules.wire.message_view itself).
_buffer = message_view


def _read_entry(buf: memoryview, start: int, end: int, what: str) -> tuple[str, list[tuple[int, int]], bool]:
    """The fields of one map entry: ``(name, [value ranges], plain)``; each key is checked as
    met.  ``plain`` is false when the entry holds any other field (see the module docstring)."""
    key = ""
    values = []
    plain = True
    pos = start
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            try:
                key = bytes(buf[a:pos]).decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError(f"{what}: key", a, " is not valid UTF-8") from None
        elif field == 2 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            values.append((a, pos))
        else:
            pos = skip_field(buf, pos, end, field, wt, what)
            plain = False
    return key, values, plain


class _Feature:
    """A Feature being parsed: its list_kind so far and its values (merged over occurrences)."""

    def __init__(self) -> None:
        self.list_kind: int | None = None
        self.values: list[Any] = []  # float32 payload chunks (bytes), ints or bytes, by list kind


def _parse_list(buf: memoryview, start: int, end: int, list_kind: int, label: str, what: str,
                values: list[Any]) -> None:
    """One BytesList/FloatList/Int64List message; values are appended to ``values``."""
    pos = start
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field != 1:
            pos = skip_field(buf, pos, end, field, wt, what)
        elif list_kind == FLOAT_LIST and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            if (pos - a) % 4:
                raise DecodeError(
                    f"{what}: {label}: packed float_list of {pos - a} bytes", a, " is not a multiple of 4"
                )
            values.append(bytes(buf[a:pos]))
        elif list_kind == FLOAT_LIST and wt == WT_FIXED32:
            a = pos
            pos = skip_field(buf, pos, end, field, wt, what)
            values.append(bytes(buf[a:pos]))
        elif list_kind == INT64_LIST and wt == WT_LEN:
            a, stop = read_length(buf, pos, end, what)
            while a < stop:
                v, a = read_varint(buf, a, stop, what)
                values.append(v)
            pos = stop
        elif list_kind == INT64_LIST and wt == WT_VARINT:
            v, pos = read_varint(buf, pos, end, what)
            values.append(v)
        elif list_kind == BYTES_LIST and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            values.append(bytes(buf[a:pos]))
        else:
            pos = skip_field(buf, pos, end, field, wt, what)


def _parse_feature(buf: memoryview, start: int, end: int, feature: _Feature, label: str, what: str) -> None:
    """Merge one Feature message occurrence into ``feature``."""
    pos = start
    while pos < end:
        tag_pos = pos
        field, wt, pos = read_tag(buf, pos, end, what)
        if field in LIST_NAMES and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            if feature.list_kind is not None and feature.list_kind != field:
                raise DecodeError(f"{what}: {label} has both {LIST_NAMES[feature.list_kind]} and {LIST_NAMES[field]} set", tag_pos)
            feature.list_kind = field
            _parse_list(buf, a, pos, field, label, what, feature.values)
        else:
            pos = skip_field(buf, pos, end, field, wt, what)


def _finish(feature: _Feature) -> DecodedFeature:
    """A parsed feature's decoded value."""
    if feature.list_kind == FLOAT_LIST:
        return np.frombuffer(b"".join(feature.values), dtype="<f4").astype(np.float32)
    if feature.list_kind == INT64_LIST:
        return np.array([v - (1 << 64) if v > INT64_MAX else v for v in feature.values], dtype=np.int64)
    if feature.list_kind == BYTES_LIST:
        return feature.values
    return None


def _parse_features(buf: memoryview, start: int, end: int, out: dict[str, DecodedFeature], what: str,
                    prefix: str) -> None:
    """One Features message: its map entries are decoded into ``out`` (last wins)."""
    pos = start
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            name, values, plain = _read_entry(buf, a, pos, what)
            feature = _Feature()
            for vstart, vend in values:
                _parse_feature(buf, vstart, vend, feature, f"{prefix}{name!r}", what)
            if plain:
                out[name] = _finish(feature)
        else:
            pos = skip_field(buf, pos, end, field, wt, what)


def _parse_feature_lists(buf: memoryview, start: int, end: int, out: dict[str, list[DecodedFeature]],
                         what: str) -> None:
    """One FeatureLists message: name -> list of decoded steps, into ``out`` (last wins)."""
    pos = start
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, what)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, what)
            name, values, plain = _read_entry(buf, a, pos, what)
            steps: list[DecodedFeature] = []
            for vstart, vend in values:  # FeatureList occurrences: their steps concatenate
                p = vstart
                while p < vend:
                    sfield, swt, p = read_tag(buf, p, vend, what)
                    if sfield == 1 and swt == WT_LEN:
                        s, p = read_length(buf, p, vend, what)
                        feature = _Feature()
                        _parse_feature(buf, s, p, feature, f"feature list {name!r} step {len(steps)}", what)
                        steps.append(_finish(feature))
                    else:
                        p = skip_field(buf, p, vend, sfield, swt, what)
            if plain:
                out[name] = steps
        else:
            pos = skip_field(buf, pos, end, field, wt, what)


def _list_kind_of(value: _Values) -> ListKind:
    if isinstance(value, list):
        return BYTES_LIST
    return FLOAT_LIST if value.dtype == np.float32 else INT64_LIST


def _apply_spec(features: dict[str, DecodedFeature], entries: list[SpecEntry], what: str) -> dict[str, NDArray[Any]]:
    out = {}
    for name, dims, list_kind in entries:
        value = features.get(name)
        if value is None:
            state = "missing" if name not in features else "missing (present with no kind set)"
            raise DecodeError(f"{what}: feature {name!r} is {state}")
        have = _list_kind_of(value)
        if have != list_kind:
            raise DecodeError(f"{what}: feature {name!r} is {LIST_NAMES[have]}, the spec wants {LIST_NAMES[list_kind]}")
        need = 1
        for d in dims:
            need *= d
        if len(value) != need:
            raise DecodeError(
                f"{what}: feature {name!r} has {len(value)} values, the spec's shape {list(dims)} needs {need}"
            )
        if isinstance(value, list):  # a bytes_list (the spec wants one: checked above)
            arr = np.empty(need, dtype=object)
            arr[:] = value
            out[name] = arr.reshape(dims)
        else:
            out[name] = value.reshape(dims)
    return out


@overload
def decode_example(data: BytesLike, *, spec: None = None) -> dict[str, DecodedFeature]: ...
@overload
def decode_example(data: BytesLike, *, spec: ExampleSpec) -> dict[str, NDArray[Any]]: ...
def decode_example(data: BytesLike, *, spec: ExampleSpec | None = None) -> dict[str, DecodedFeature] | dict[str, NDArray[Any]]:
    """Parse a serialized ``tf.train.Example`` into ``{name: value}``.

    ``float_list`` -> float32 array, ``int64_list`` -> int64 array, ``bytes_list`` -> list of
    bytes (``None`` for a feature with no kind set).  ``spec`` (``{name: (shape, dtype)}``)
    selects, checks and reshapes features like ``tf.io.FixedLenFeature``.  Every invalid input
    raises :class:`tensorwire.DecodeError`; see the module docstring.
    """
    entries = None if spec is None else spec_entries(spec)
    buf = message_view(data, "decode_example")
    out: dict[str, DecodedFeature] = {}
    end = len(buf)
    pos = 0
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, WHAT)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, WHAT)
            _parse_features(buf, a, pos, out, WHAT, "feature ")
        else:
            pos = skip_field(buf, pos, end, field, wt, WHAT)
    return out if entries is None else _apply_spec(out, entries, WHAT)


def decode_sequence_example(data: BytesLike) -> tuple[dict[str, DecodedFeature], dict[str, list[DecodedFeature]]]:
    """Parse a serialized ``tf.train.SequenceExample`` into ``(context, feature_lists)``.

    ``context`` is decoded like :func:`decode_example`'s result; ``feature_lists`` maps each
    name to the list of its steps, each decoded like a feature value.
    """
    buf = message_view(data, "decode_sequence_example")
    context: dict[str, DecodedFeature] = {}
    lists: dict[str, list[DecodedFeature]] = {}
    end = len(buf)
    pos = 0
    while pos < end:
        field, wt, pos = read_tag(buf, pos, end, WHAT_SEQ)
        if field == 1 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, WHAT_SEQ)
            _parse_features(buf, a, pos, context, WHAT_SEQ, "context feature ")
        elif field == 2 and wt == WT_LEN:
            a, pos = read_length(buf, pos, end, WHAT_SEQ)
            _parse_feature_lists(buf, a, pos, lists, WHAT_SEQ)
        else:
            pos = skip_field(buf, pos, end, field, wt, WHAT_SEQ)
    return context, lists

# The codec's public names, which its Cython twin has too (tests/test_twin_seam.py checks it).
__all__ = ["decode_example", "decode_sequence_example", "encode_example", "encode_sequence_example"]
