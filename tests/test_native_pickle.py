"""No extension type of the native backend can be pickled into a crash.

Cython gives a ``cdef class`` pickling by default, copying its C fields; a pointer field becomes
bytes, and a NULL one crashes the interpreter (found in tfrecord's ``_View``).  None of these
types is meant to leave its module, so each must refuse to be pickled with ``TypeError``.  The
check runs in a subprocess, so that a crash fails the test instead of ending the run."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.native

SCRIPT = r"""
import importlib, pickle, pkgutil
import tensorwire._native as native

HEAPTYPE = 1 << 9
checked = []
for info in pkgutil.iter_modules(native.__path__):
    module = importlib.import_module(f"tensorwire._native.{info.name}")
    for name, value in sorted(vars(module).items()):
        if not (isinstance(value, type) and value.__module__ == module.__name__ and not value.__flags__ & HEAPTYPE):
            continue
        try:
            pickle.dumps(value.__new__(value))
        except TypeError:
            checked.append(f"{info.name}.{name}")
        else:
            raise SystemExit(f"{info.name}.{name} was pickled")
print(" ".join(checked))
"""


def test_no_native_extension_type_pickles():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    checked = done.stdout.split()
    # the types that hold a pointer (the crash) are among those checked, so the walk found them
    assert {"tfrecord._View", "example._Plan", "jsonbody._Reader", "tfrecord._Reader"} <= set(checked), checked
