"""Type stub of the Cython twin ``tensorwire._native.numtext``: the reference's signatures
(``tensorwire.codecs.numtext``), whose module docstring defines the behaviour."""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._types import BytesLike
from ..codecs.numtext import FloatFormat

# the reference's own objects, re-exported
MAX_NUMBER_CHARS: int
FLOAT_FORMATS: tuple[FloatFormat, ...]
NUMBER_DTYPES: tuple[np.dtype[Any], ...]

def number_dtype(dtype: DTypeLike) -> np.dtype[Any]: ...
def format_number(
    value: ArrayLike, dtype: DTypeLike | None = None, *, float_format: FloatFormat = "shortest"
) -> str: ...
def parse_number(text: BytesLike | str, dtype: DTypeLike = ...) -> np.generic: ...
