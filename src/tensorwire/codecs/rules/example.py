"""Rules of the tf.Example codec that both twins apply (docs/tf-example.md).

The reference's module docstring (``tensorwire.codecs.example``) defines the behaviour; this
module holds what both twins share of it: the numbers of the three value lists a Feature can
hold, and :func:`spec_entries`, the check of ``decode_example``'s ``spec`` argument (run once a
call, before the data is read; its messages are part of the contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Literal

import numpy as np

# The field numbers of Feature's ``kind`` oneof: which value list a Feature holds.
BYTES_LIST: Literal[1] = 1
FLOAT_LIST: Literal[2] = 2
INT64_LIST: Literal[3] = 3
ListKind = Literal[1, 2, 3]
LIST_NAMES: dict[int, str] = {BYTES_LIST: "bytes_list", FLOAT_LIST: "float_list", INT64_LIST: "int64_list"}

#: One checked spec entry: the feature's name, its shape, and the list kind it must hold.
SpecEntry = tuple[str, tuple[int, ...], ListKind]


def spec_entries(spec: object) -> list[SpecEntry]:
    """Check a ``{name: (shape, dtype)}`` spec; return its entries as ``(name, shape, list kind)``.

    ``shape`` is an int or a sequence of ints >= 0; ``dtype`` is float32 (``FLOAT_LIST``), int64
    (``INT64_LIST``) or a string type (``BYTES_LIST``: ``bytes``, ``str``, ``object``,
    ``"string"``, or any of these as a numpy or TensorFlow dtype).  Raises ``TypeError`` (not a
    mapping, not a ``(shape, dtype)`` pair, a name that is not a str, an unsupported dtype) or
    ``ValueError`` (a negative dimension), in the spec's order.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a mapping of names to (shape, dtype), not {type(spec).__name__}")
    out: list[SpecEntry] = []
    for name, entry in spec.items():
        if not isinstance(name, str):
            raise TypeError(f"spec names must be str, not {type(name).__name__}")
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TypeError(f"spec entry {name!r} must be a (shape, dtype) pair")
        shape, dtype = entry
        if not isinstance(shape, bool) and isinstance(shape, Integral):
            shape = (shape,)
        try:
            given = tuple(shape)
        except TypeError:
            raise TypeError(f"spec entry {name!r}: shape must be an int or a sequence of ints") from None
        if not all(isinstance(d, Integral) and not isinstance(d, bool) for d in given):
            raise TypeError(f"spec entry {name!r}: shape must be an int or a sequence of ints")
        dims = tuple(int(d) for d in given)
        if any(d < 0 for d in dims):
            raise ValueError(f"spec entry {name!r}: shape {list(dims)} has a negative dimension")
        out.append((name, dims, _list_kind(name, dtype)))
    return out


def _list_kind(name: str, dtype: object) -> ListKind:
    """The value list a spec entry's ``dtype`` asks for; ``TypeError`` for any other dtype."""
    dtype = getattr(dtype, "as_numpy_dtype", dtype)  # a TensorFlow DType
    if dtype is bytes or dtype is str or dtype is object or (isinstance(dtype, str) and dtype == "string"):
        return BYTES_LIST
    try:
        np_dtype = np.dtype(dtype)  # type: ignore[call-overload]  # any object; numpy decides
    except TypeError:
        np_dtype = None
    if np_dtype == np.float32:
        return FLOAT_LIST
    if np_dtype == np.int64:
        return INT64_LIST
    if np_dtype is not None and np_dtype.kind in "OSU":
        return BYTES_LIST
    raise TypeError(f"spec entry {name!r}: dtype {dtype!r} is not float32, int64 or a string type")
