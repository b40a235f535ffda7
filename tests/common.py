"""Checkers the test modules share: outcomes to compare between backends, array comparisons,
and the TensorProto expectations (what decode_tensor gives back for an encoded array).

Test modules import from here (and from backends, strategies, serving), never from each other.
"""

import ml_dtypes
import numpy as np

BF16 = np.dtype(ml_dtypes.bfloat16)


# --------------------------------------------------------------------------------------------
# outcomes


def outcome(func, *args, catching=(Exception,), **kwargs):
    """``("ok", result)``, or ``(exception type, message)`` for an exception in ``catching``
    (any other propagates and fails the test): what must be identical between backends."""
    try:
        return "ok", func(*args, **kwargs)
    except catching as exc:
        return type(exc), str(exc)


def decoded_outcome(func, *args, errors, canonical, **kwargs):
    """``("ok", canonical(result))``, or ``("error", exception type, message)`` for an exception
    in ``errors`` (any other propagates and fails the test): a decode's result in a form that
    compares with ``==`` (``canonical`` makes arrays and mappings comparable)."""
    try:
        got = func(*args, **kwargs)
    except errors as exc:
        return ("error", type(exc), str(exc))
    return ("ok", canonical(got))


# --------------------------------------------------------------------------------------------
# arrays


def quiet_f32_nans(x):
    """Set the quiet bit of every signalling float32 NaN (of a float32 or complex64 array): what
    a float32 -> Python float -> float32 trip (protobuf, tf.make_tensor_proto) does to them."""
    bits = x.reshape(-1).view(np.uint32).copy()
    bits[((bits & 0x7FC00000) == 0x7F800000) & ((bits & 0x003FFFFF) != 0)] |= 0x00400000
    return bits.view(x.dtype).reshape(x.shape)


def assert_same_array(got, want):
    """An array of the same dtype and shape; floats bit-exact except that a NaN only has to be a
    NaN (any payload); other dtypes byte for byte."""
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    if want.dtype.kind == "f":
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan)
        uint = f"u{want.dtype.itemsize}"
        assert np.array_equal(got[~nan].view(uint), want[~nan].view(uint)), (got, want)
    else:
        assert got.tobytes() == want.tobytes(), (got, want)


def assert_identical(got, want):
    """Same type, shape, dtype and bits (NaN payloads and -0.0 count); strings item by item."""
    assert isinstance(got, np.ndarray), type(got)
    assert got.shape == want.shape
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    if want.dtype == object:
        items = got.reshape(-1).tolist()
        assert all(type(v) is bytes for v in items), items
        assert items == want.reshape(-1).tolist()
    else:
        assert got.dtype.isnative
        assert np.ascontiguousarray(got).reshape(-1).view(np.uint8).tobytes() == want.reshape(-1).view(
            np.uint8
        ).tobytes()


# --------------------------------------------------------------------------------------------
# TensorProto expectations


def golden_array(spec):
    """The array a golden case of tests/data/tensors.json describes."""
    if spec["dtype"] == "bytes":
        out = np.empty(len(spec["values_hex"]), dtype=object)
        out[:] = [bytes.fromhex(h) for h in spec["values_hex"]]
        return out.reshape(spec["shape"])
    return np.frombuffer(bytes.fromhex(spec["data_hex"]), dtype=spec["dtype"]).reshape(spec["shape"])


def as_decoded(x):
    """What decode_tensor must return for an encoded ``x``: native byte order, C order; strings
    as an object array of bytes (str elements UTF-8; ``S``/``U`` items as numpy gives them)."""
    x = np.asarray(x)
    if x.dtype.kind in "OSU":
        out = np.empty(x.size, dtype=object)
        out[:] = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in x.reshape(-1).tolist()]
        return out.reshape(x.shape)
    if x.dtype == BF16:
        return x.copy(order="C")
    return x.astype(x.dtype.newbyteorder("="), order="C")


def expected_round_trip(x, form):
    """decode(encode(x, form)): ``x`` itself, bit for bit, except that ``form="proto"`` writes
    float32 values in ``float_val``/``scomplex_val`` as tf.make_tensor_proto does, quieting
    signalling NaNs (a float32 -> Python float round trip); see test_tensor_oracle.py."""
    want = as_decoded(x)
    if form == "proto" and (want.dtype == np.complex64 or (want.dtype == np.float32 and want.size <= 1)):
        want = quiet_f32_nans(want)
    return want
