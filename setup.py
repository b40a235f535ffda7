"""Builds the Cython twins in src/tensorwire/_native.

The extensions are not optional: if Cython is missing or a module fails to compile, the install
fails.  A slow pure-Python install that looks like a fast one is the failure we refuse to allow.
(The pure-Python reference can still be selected at run time with TENSORWIRE_PURE_PYTHON=1.)
"""

from pathlib import Path

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError as exc:  # pragma: no cover - exercised only by broken build envs
    raise SystemExit(
        "tensorwire: Cython is required to build the native extensions "
        "(it is declared in pyproject.toml [build-system]); refusing to install without them."
    ) from exc

NATIVE = Path("src/tensorwire/_native")

extensions = [
    Extension(
        f"tensorwire._native.{pyx.stem}",
        [str(pyx)],
        extra_compile_args=["-O3", "-Wall", "-Wno-unused-function", "-Wno-unreachable-code"],
    )
    for pyx in sorted(NATIVE.glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "boundscheck": True,
            "wraparound": True,
            "initializedcheck": True,
            "cdivision": False,
            "warn.undeclared": True,
            "warn.unused": True,
            "warn.maybe_uninitialized": True,
        },
    ),
)
