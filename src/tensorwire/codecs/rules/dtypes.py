"""TensorFlow DataType numbers and their numpy counterparts (docs/tensor-proto.md).

Shared by both backends: these are tables consulted once per call, never per element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

DT_FLOAT = 1
DT_DOUBLE = 2
DT_INT32 = 3
DT_UINT8 = 4
DT_INT16 = 5
DT_INT8 = 6
DT_STRING = 7
DT_COMPLEX64 = 8
DT_INT64 = 9
DT_BOOL = 10
DT_BFLOAT16 = 14
DT_UINT16 = 17
DT_COMPLEX128 = 18
DT_HALF = 19
DT_RESOURCE = 20
DT_VARIANT = 21
DT_UINT32 = 22
DT_UINT64 = 23

# Every DataType name TensorFlow defines (for error messages); values 101+ are *_REF variants.
DT_NAMES = {
    0: "DT_INVALID", 1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32", 4: "DT_UINT8", 5: "DT_INT16",
    6: "DT_INT8", 7: "DT_STRING", 8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 11: "DT_QINT8",
    12: "DT_QUINT8", 13: "DT_QINT32", 14: "DT_BFLOAT16", 15: "DT_QINT16", 16: "DT_QUINT16",
    17: "DT_UINT16", 18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE", 21: "DT_VARIANT",
    22: "DT_UINT32", 23: "DT_UINT64", 24: "DT_FLOAT8_E5M2", 25: "DT_FLOAT8_E4M3FN",
    26: "DT_FLOAT8_E4M3FNUZ", 27: "DT_FLOAT8_E4M3B11FNUZ", 28: "DT_FLOAT8_E5M2FNUZ",
    29: "DT_INT4", 30: "DT_UINT4",
}

# DataType -> little-endian numpy dtype, for the dtypes numpy and TensorFlow share.
_NUMERIC: dict[int, np.dtype[Any]] = {
    DT_FLOAT: np.dtype("<f4"),
    DT_DOUBLE: np.dtype("<f8"),
    DT_INT32: np.dtype("<i4"),
    DT_UINT8: np.dtype("u1"),
    DT_INT16: np.dtype("<i2"),
    DT_INT8: np.dtype("i1"),
    DT_COMPLEX64: np.dtype("<c8"),
    DT_INT64: np.dtype("<i8"),
    DT_BOOL: np.dtype("?"),
    DT_UINT16: np.dtype("<u2"),
    DT_COMPLEX128: np.dtype("<c16"),
    DT_HALF: np.dtype("<f2"),
    DT_UINT32: np.dtype("<u4"),
    DT_UINT64: np.dtype("<u8"),
}

# Dtypes that tf.make_tensor_proto writes as tensor_content when the tensor has more than one
# element (checked against TensorFlow 2.21; bool, complex, uint16 and strings are not among them).
CONTENT_TYPES = frozenset(
    {DT_HALF, DT_BFLOAT16, DT_FLOAT, DT_DOUBLE, DT_INT32, DT_UINT8, DT_INT16, DT_INT8, DT_INT64,
     DT_UINT32, DT_UINT64}
)

# TensorProto field numbers.
F_DTYPE = 1
F_SHAPE = 2
F_VERSION = 3
F_CONTENT = 4
F_FLOAT = 5
F_DOUBLE = 6
F_INT = 7
F_STRING = 8
F_SCOMPLEX = 9
F_INT64 = 10
F_BOOL = 11
F_DCOMPLEX = 12
F_HALF = 13
F_UINT32 = 16
F_UINT64 = 17

FIELD_NAMES = {
    F_FLOAT: "float_val", F_DOUBLE: "double_val", F_INT: "int_val", F_STRING: "string_val",
    F_SCOMPLEX: "scomplex_val", F_INT64: "int64_val", F_BOOL: "bool_val",
    F_DCOMPLEX: "dcomplex_val", F_HALF: "half_val", F_UINT32: "uint32_val",
    F_UINT64: "uint64_val",
}

# Typed value fields by how their packed payload is laid out.
FIXED32_FIELDS = frozenset({F_FLOAT, F_SCOMPLEX})
FIXED64_FIELDS = frozenset({F_DOUBLE, F_DCOMPLEX})
VARINT_FIELDS = frozenset({F_INT, F_INT64, F_BOOL, F_HALF, F_UINT32, F_UINT64})

# DataType -> the typed *_val field that carries its values.
VALUE_FIELD = {
    DT_FLOAT: F_FLOAT, DT_DOUBLE: F_DOUBLE, DT_INT32: F_INT, DT_UINT8: F_INT, DT_INT16: F_INT,
    DT_INT8: F_INT, DT_UINT16: F_INT, DT_STRING: F_STRING, DT_COMPLEX64: F_SCOMPLEX,
    DT_INT64: F_INT64, DT_BOOL: F_BOOL, DT_COMPLEX128: F_DCOMPLEX, DT_HALF: F_HALF,
    DT_BFLOAT16: F_HALF, DT_UINT32: F_UINT32, DT_UINT64: F_UINT64,
}

# Inclusive value ranges for the int_val-carried dtypes narrower than int32.
INT_VAL_RANGE = {
    DT_UINT8: (0, 0xFF), DT_INT8: (-0x80, 0x7F), DT_INT16: (-0x8000, 0x7FFF),
    DT_UINT16: (0, 0xFFFF), DT_INT32: (-0x80000000, 0x7FFFFFFF),
}

MAX_RANK = 64
DEFAULT_MAX_BYTES = 1 << 31  # 2 GiB: protobuf's own message size limit.


def dt_name(dt: int) -> str:
    if dt > 100:
        base = DT_NAMES.get(dt - 100)
        return f"{base}_REF" if base else f"DataType {dt}"
    return DT_NAMES.get(dt, f"DataType {dt}")


def bfloat16_dtype() -> np.dtype[Any] | None:
    """ml_dtypes.bfloat16 as a numpy dtype, or None when ml_dtypes is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    dtype: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
    return dtype


def numpy_dtype(dt: int) -> np.dtype[Any] | None:
    """numpy dtype for a supported DataType (object for DT_STRING), or None if unsupported."""
    if dt in _NUMERIC:
        return _NUMERIC[dt]
    if dt == DT_STRING:
        return np.dtype(object)
    if dt == DT_BFLOAT16:
        return bfloat16_dtype()
    return None


def datatype_of(np_dtype: DTypeLike) -> int | None:
    """DataType number for a numpy dtype, or None if it has no TensorFlow counterpart."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind in "OSU":
        return DT_STRING
    bf16 = bfloat16_dtype()
    if bf16 is not None and np_dtype == bf16:
        return DT_BFLOAT16
    if np_dtype.kind not in "biufc":
        return None
    le = np_dtype.newbyteorder("<")
    for dt, candidate in _NUMERIC.items():
        if candidate == le:
            return dt
    return None


def expected_datatype(dtype: Any) -> int:
    """Normalise the ``dtype=`` argument of decode_tensor to a DataType number."""
    if isinstance(dtype, int) and not isinstance(dtype, bool):
        return dtype
    if isinstance(dtype, str) and dtype in ("string", "bytes", "str"):
        return DT_STRING
    if dtype in (bytes, str, object):
        return DT_STRING
    dt = datatype_of(np.dtype(dtype))
    if dt is None:
        raise TypeError(f"dtype {dtype!r} has no TensorFlow DataType")
    return dt
