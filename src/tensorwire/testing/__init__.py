"""Hypothesis strategies and a server check for projects that send or serve tensorwire's payloads.

Needs the ``testing`` extra (``pip install "tensorwire[testing]"``: Hypothesis).  Nothing in
tensorwire's core imports this package.  See docs/testing.md.

* :func:`arrays`, :func:`shapes`, :func:`tiles`: arrays, and batch-first tiles as Earth Engine
  sends them;
* :func:`requests`, :func:`responses`: valid bodies in every payload format, with the arrays
  their decoder gives back;
* :func:`hostile`: bodies every decoder must refuse, labelled with their class;
* :func:`check_server`: those, sent to a running server, every answer judged.
"""

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # exercised by tests/test_testing.py, in a subprocess
    raise ImportError('tensorwire.testing needs Hypothesis: pip install "tensorwire[testing]"') from exc

from ._arrays import (  # noqa: E402
    BFLOAT16, BOOL_DTYPE, COMPLEX_DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, arrays, float_bits, shapes,
    special_float_bits, tiles,
)
from ._check import Failure, Row, ServerCheck, check_server  # noqa: E402
from ._hostile import CLASSES, Hostile, classes_of, hostile, refused  # noqa: E402
from ._mutate import MUTATION_EDITS, mutated_bytes  # noqa: E402
from ._payloads import expected_arrays, requests, responses  # noqa: E402
from ._wire import wire_len, wire_tag, wire_varint  # noqa: E402

__all__ = [
    "BFLOAT16", "BOOL_DTYPE", "CLASSES", "COMPLEX_DTYPES", "FLOAT_DTYPES", "INT_DTYPES", "MUTATION_EDITS",
    "NUMERIC_DTYPES", "Failure", "Hostile", "Row", "ServerCheck", "arrays", "check_server", "classes_of",
    "expected_arrays", "float_bits", "hostile", "mutated_bytes", "refused", "requests", "responses", "shapes",
    "special_float_bits", "tiles", "wire_len", "wire_tag", "wire_varint",
]
