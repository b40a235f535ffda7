"""Hypothesis strategies and a server check for projects that send or serve tensorwire's payloads.

Needs the ``testing`` extra (``pip install "tensorwire[testing]"``: Hypothesis).  Nothing in
tensorwire's core imports this package.  See docs/testing.md.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        'tensorwire.testing needs Hypothesis: pip install "tensorwire[testing]"'
    ) from exc

from ._arrays import (
    BFLOAT16, BOOL_DTYPE, COMPLEX_DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, arrays, float_bits, shapes,
    special_float_bits, tiles,
)
from ._mutate import MUTATION_EDITS, mutated_bytes
from ._wire import wire_len, wire_tag, wire_varint

__all__ = [
    "BFLOAT16", "BOOL_DTYPE", "COMPLEX_DTYPES", "FLOAT_DTYPES", "INT_DTYPES", "NUMERIC_DTYPES", "MUTATION_EDITS",
    "arrays", "float_bits", "mutated_bytes", "shapes", "special_float_bits", "tiles", "wire_len", "wire_tag",
    "wire_varint",
]

from ._payloads import expected_arrays, requests, responses  # noqa: E402

__all__ += ["expected_arrays", "requests", "responses"]

from ._hostile import CLASSES, Hostile, classes_of, hostile, refused  # noqa: E402

__all__ += ["CLASSES", "Hostile", "classes_of", "hostile", "refused"]

from ._check import Failure, Row, ServerCheck, check_server  # noqa: E402

__all__ += ["Failure", "Row", "ServerCheck", "check_server"]
