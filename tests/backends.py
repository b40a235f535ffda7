"""The two implementations of every codec, as namespaces the tests can hold side by side.

Tests take the ``codecs`` fixture (conftest.py), which runs them once per backend, or use
``PYTHON`` and ``native()`` directly to cross the two.  Tests never branch on the backend.
"""

import importlib
from types import SimpleNamespace

CODECS = ("tensor", "base64")


def _load(package):
    return SimpleNamespace(
        name=package.rsplit(".", 1)[-1],
        **{name: importlib.import_module(f"{package}.{name}") for name in CODECS},
    )


PYTHON = _load("tensorwire.codecs")


def native():
    """The Cython twins.  An ImportError here is a failure, never a skip."""
    return _load("tensorwire._native")
