"""Builds the Cython twins in src/tensorwire/_native.

The extensions are not optional: if Cython is missing or a module fails to compile, the install
fails.  A slow pure-Python install that looks like a fast one is the failure we refuse to allow.
(The pure-Python reference can still be selected at run time with TENSORWIRE_PURE_PYTHON=1.)

TENSORWIRE_SANITIZE=1 (opt-in, for fuzzing only; see fuzz/README.md) builds with clang, with
AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage instrumentation
(-fsanitize=address,undefined,fuzzer-no-link) at -O1 with frame pointers.  Such an extension only
loads into a Python started with the ASan runtime preloaded (LD_PRELOAD).  Without the variable
the build is the normal one.
"""

import os
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
# Every module compiles without a warning under these (gcc 12 and clang, Cython 3.3: the
# generated code marks its unused helpers itself, so no -Wno-unused-function is needed, and
# -Wunreachable-code is in neither set, so -Wno-unreachable-code silenced nothing).  The C
# kernels in src/tensorwire/_native/*.h are held to the same.  Should a Cython release bring
# warnings of its own into the generated code, silence that one warning here, with its reason.
WARNINGS = ["-Wall", "-Wextra"]

if os.environ.get("TENSORWIRE_SANITIZE", "").strip() not in ("", "0"):
    # The sanitizers and -fsanitize=fuzzer-no-link need clang (gcc has no libFuzzer
    # instrumentation); the ASan runtime comes from the preloaded library, not from the link.
    # UB aborts rather than being reported and skipped, so the fuzzer sees it as a crash.
    os.environ.setdefault("CC", "clang")
    os.environ.setdefault("LDSHARED", "clang -shared")
    SANITIZERS = ["-fsanitize=address,undefined,fuzzer-no-link", "-fno-sanitize-recover=undefined"]
    COMPILE_ARGS = ["-O1", "-g", "-fno-omit-frame-pointer", *WARNINGS, *SANITIZERS]
    LINK_ARGS = SANITIZERS
else:
    COMPILE_ARGS = ["-O3", *WARNINGS]
    LINK_ARGS = []

extensions = [
    Extension(
        f"tensorwire._native.{pyx.stem}",
        [str(pyx)],
        include_dirs=[str(NATIVE)],  # the C headers next to the .pyx (cdef extern from "<name>.h")
        depends=[str(h) for h in sorted(NATIVE.glob("*.h"))],  # rebuilt when one changes; shipped in the sdist
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS,
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
