"""What every harness in fuzz/ asserts, and how it starts atheris.

The contract, for one input and one decoder:

* the Cython twin (``tensorwire._native``) returns a result made only of numpy arrays, bytes,
  str, numbers, None, lists, tuples and dicts, or raises ``tensorwire.DecodeError`` (a response
  decoder may also raise ``tensorwire.PredictionError``: the body was a well-formed
  ``{"error": ...}``).  Any other exception, or a crash, is a breach;
* the pure-Python reference (``tensorwire.codecs``) obeys the same rule;
* both give the same outcome: the same result, compared exactly (array dtype, shape and bytes, so
  NaN payloads too), or the same exception type with the same message.

A breach raises ``AssertionError`` (or lets the stray exception through): atheris prints it and
libFuzzer writes the input to ``crash-<sha1>`` (see ``-artifact_prefix``).
"""

import sys
from pathlib import Path

import numpy as np

from tensorwire import DecodeError, PredictionError

# Inputs longer than this are not generated unless -max_len says otherwise: the reference parses
# in pure Python, and short inputs reach every branch the long ones do.
DEFAULT_MAX_LEN = 4096


class Breach(AssertionError):
    """The twins disagree, or a result is not a valid decoded value."""


def canonical(value):
    """A comparable, hashable form of a decoded value; Breach for a type no decoder returns."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return ("array", "O", value.shape, tuple(canonical(v) for v in value.ravel()))
        if value.dtype.kind not in "biufc?V" and value.dtype.kind != "b":
            raise Breach(f"array of unexpected dtype {value.dtype}")
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    if isinstance(value, (bytes, str, bool, int, type(None))):
        return value
    if isinstance(value, float):
        return ("float", np.float64(value).tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((k, canonical(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    raise Breach(f"decoder returned a {type(value).__name__}")


def outcome(call, *, responses=False):
    """``("ok", canonical result)`` or ``(exception name, message[, error])``; any exception but
    DecodeError (and PredictionError when ``responses``) propagates: that is a breach."""
    try:
        result = call()
    except DecodeError as exc:
        if type(exc) is not DecodeError:
            raise Breach(f"raised {type(exc).__name__}, a subclass of DecodeError") from exc
        return ("DecodeError", str(exc))
    except PredictionError as exc:
        if not responses:
            raise
        return ("PredictionError", str(exc), canonical(exc.error), exc.status)
    return ("ok", canonical(result))


def agree(reference_call, native_call, *, responses=False):
    """Run both twins on the same input and assert the contract; returns the outcome."""
    ref = outcome(reference_call, responses=responses)
    nat = outcome(native_call, responses=responses)
    if ref != nat:
        raise Breach(f"the twins disagree:\n  reference: {_short(ref)}\n  native:    {_short(nat)}")
    return nat


def _short(o, limit=600):
    text = repr(o)
    return text if len(text) <= limit else text[:limit] + "..."


def pick(data, choices):
    """``(choices[data[0] % len(choices)], data[1:])``: the first byte picks the decoder and its
    options, the rest is the payload (an empty input picks the first choice with no payload)."""
    if not data:
        return choices[0], b""
    return choices[data[0] % len(choices)], data[1:]


def fuzz(test_one_input, dictionary=None):
    """Start libFuzzer on ``test_one_input`` with the command line's options, adding a bounded
    -max_len and the harness's token dictionary (``fuzz/dicts/<dictionary>``) unless given."""
    import atheris

    argv = list(sys.argv)
    if not any(a.startswith("-max_len=") for a in argv):
        argv.append(f"-max_len={DEFAULT_MAX_LEN}")
    if dictionary and not any(a.startswith("-dict=") for a in argv):
        argv.append(f"-dict={Path(__file__).resolve().parent / 'dicts' / dictionary}")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
