"""The one place that chooses between the Cython twins and the pure-Python reference.

Native is the default.  ``TENSORWIRE_PURE_PYTHON=1`` (any value but empty or ``0``) forces the
reference for the whole process; it is read once, at import.  If the extension cannot be
imported and the reference was not asked for, importing tensorwire fails: there is no silent
fallback to the slow path.
"""

import importlib
import os
from types import ModuleType
from typing import Literal

ENV_VAR = "TENSORWIRE_PURE_PYTHON"

# Every codec: a module of this name in tensorwire.codecs and its twin in tensorwire._native.
CODECS = ("base64", "tensor", "tfrecord", "example", "numtext", "jsonbody", "grpc")


def _pure_requested() -> bool:
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0")


def _load(package: str) -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"{package}.{name}") for name in CODECS}


IMPLS: dict[str, ModuleType]
NAME: Literal["native", "python"]
if _pure_requested():
    IMPLS = _load("tensorwire.codecs")
    NAME = "python"
else:
    try:
        IMPLS = _load("tensorwire._native")
    except ImportError as exc:
        raise ImportError(
            "tensorwire: the native extension is not built or cannot be loaded "
            f"({exc}). Reinstall with a C compiler (pip install .), or set {ENV_VAR}=1 "
            "to use the pure-Python reference deliberately."
        ) from exc
    NAME = "native"
