"""The one place that chooses between the Cython twins and the pure-Python reference.

Native is the default.  ``TENSORWIRE_PURE_PYTHON=1`` (any value but empty or ``0``) forces the
reference for the whole process; it is read once, at import.  If the extension cannot be
imported and the reference was not asked for, importing tensorwire fails: there is no silent
fallback to the slow path.
"""

import os

ENV_VAR = "TENSORWIRE_PURE_PYTHON"


def _pure_requested():
    return os.environ.get(ENV_VAR, "").strip() not in ("", "0")


if _pure_requested():
    from .codecs import base64 as base64_impl
    from .codecs import tensor as tensor_impl

    NAME = "python"
else:
    try:
        from ._native import base64 as base64_impl
        from ._native import tensor as tensor_impl
    except ImportError as exc:
        raise ImportError(
            "tensorwire: the native extension is not built or cannot be loaded "
            f"({exc}). Reinstall with a C compiler (pip install .), or set {ENV_VAR}=1 "
            "to use the pure-Python reference deliberately."
        ) from exc
    NAME = "native"
