"""The two implementations of every codec, as namespaces the tests can hold side by side.

Tests take the ``codecs`` fixture (conftest.py), which runs them once per backend, or the
``both`` fixture to cross the two.  Tests never branch on the backend.  Modules are imported on
first use, so a twin that is missing makes the tests that need it fail (never skip).
"""

import importlib

# The codec modules both backends provide; a name not listed here is not a codec (hypothesis,
# for one, probes fixtures with hasattr), so it is an AttributeError rather than an import.
CODECS = frozenset({"tensor", "base64", "example", "tfrecord", "numtext", "jsonbody", "grpc"})


class Backend:
    """``backend.tensor``, ``backend.base64``, ...: the codec modules of one implementation."""

    def __init__(self, package, name):
        self._package = package
        self.name = name

    def __getattr__(self, codec):
        if codec not in CODECS:
            raise AttributeError(codec)
        module = importlib.import_module(f"{self._package}.{codec}")
        setattr(self, codec, module)
        return module

    def __repr__(self):
        return f"<{self.name} backend>"


class LazyModule:
    """A module imported on first attribute access: a test module that needs a native-only
    helper (``_b64enc``, ``_numfmt``, ``_numparse``) names it at module level without importing
    it, so the module still collects where the extension is not built (the reference-only pass,
    ``-m "not native"``, deselects its tests); a test that uses it there fails, never skips."""

    def __init__(self, name):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self):
        return f"<lazy {self._name}>"


def native_helper(name):
    """``tensorwire._native.<name>`` (a C helper with no reference twin), imported on first use."""
    return LazyModule(f"tensorwire._native.{name}")


PYTHON = Backend("tensorwire.codecs", "python")
NATIVE = Backend("tensorwire._native", "native")
