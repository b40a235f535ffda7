"""The backend chooser: native by default, the reference on request, never a silent fallback.

The choice is made once per process at import, so every check runs ``python -c`` in a fresh
subprocess of this interpreter (with this process's environment, minus the switch).  These tests
are the "extension loaded in CI" check: when the Cython twins are not built they fail; they
never skip.
"""

import importlib
import importlib.machinery
import os
import subprocess
import sys

import pytest

import tensorwire
from tensorwire import DecodeError, _backend

ENV_VAR = "TENSORWIRE_PURE_PYTHON"
NATIVE_MODULES = [f"tensorwire._native.{name}" for name in _backend.CODECS]


def run_python(code, switch=None):
    """Run ``code`` in a fresh interpreter; ``switch`` is the value of TENSORWIRE_PURE_PYTHON
    (None: unset).  Returns the CompletedProcess (text, stdout and stderr captured)."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if switch is not None:
        env[ENV_VAR] = switch
    # the package as this process sees it (an installed copy, or src/ on PYTHONPATH)
    src = os.path.dirname(os.path.dirname(tensorwire.__file__))
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def backend_in_subprocess(switch=None):
    proc = run_python("import tensorwire; print(tensorwire.backend())", switch)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_decode_error_is_a_value_error():
    assert issubclass(DecodeError, ValueError)
    with pytest.raises(ValueError):
        tensorwire.decode_tensor(b"\x08")  # a truncated varint
    with pytest.raises(DecodeError):
        tensorwire.decode_tensor(b"\x08")


@pytest.mark.parametrize("switch", ["1", "yes", "true", " 1 "])
def test_switch_selects_the_reference(switch):
    assert backend_in_subprocess(switch) == "python"
    code = (
        "import tensorwire, tensorwire.codecs.tensor as t, tensorwire.codecs.base64 as b; "
        "assert tensorwire.encode_tensor is t.encode_tensor and tensorwire.decode_tensor is t.decode_tensor; "
        "assert tensorwire.b64encode is b.b64encode and tensorwire.b64decode is b.b64decode; print('ok')"
    )
    proc = run_python(code, switch)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_reference_does_not_need_the_extension():
    """With the switch set, tensorwire imports even when the extension cannot be loaded."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('tensorwire._native.'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import tensorwire\n"
        "print(tensorwire.backend(), tensorwire.decode_tensor(tensorwire.encode_tensor([1.5])).tolist())\n"
    )
    proc = run_python(code, "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["python", "[1.5]"]


def test_no_silent_fallback_when_the_extension_is_missing():
    """Without the switch, an extension that cannot be loaded makes ``import tensorwire`` fail
    loudly, naming the switch; it never falls back to the slow path."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tensorwire._native.tensor':\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import tensorwire\n"
    )
    proc = run_python(code)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert ENV_VAR in proc.stderr


@pytest.mark.native
@pytest.mark.parametrize("switch", [None, "", "0"], ids=["unset", "empty", "zero"])
def test_native_is_the_default(switch):
    assert backend_in_subprocess(switch) == "native"


@pytest.mark.native
@pytest.mark.parametrize("module", NATIVE_MODULES)
def test_native_modules_are_compiled_extensions(module):
    """The CI check that the Cython extension was built and is what gets loaded: a pure-Python
    module (or none) under this name fails this test."""
    mod = importlib.import_module(module)
    assert mod.__file__ is not None
    assert mod.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), mod.__file__
    assert isinstance(mod.__spec__.loader, importlib.machinery.ExtensionFileLoader)
    # and a fresh interpreter loads the same kind of file
    proc = run_python(f"import {module} as m; print(m.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


@pytest.mark.native
def test_public_functions_are_the_native_ones_when_native_is_active():
    code = (
        "import tensorwire, tensorwire._native.tensor as t, tensorwire._native.base64 as b\n"
        "assert tensorwire.backend() == 'native'\n"
        "assert tensorwire.encode_tensor is t.encode_tensor, tensorwire.encode_tensor\n"
        "assert tensorwire.decode_tensor is t.decode_tensor, tensorwire.decode_tensor\n"
        "assert tensorwire.b64encode is b.b64encode and tensorwire.b64decode is b.b64decode\n"
        "print('ok')\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


@pytest.mark.native
@pytest.mark.parametrize("name", _backend.CODECS)
def test_every_codec_has_both_twins_with_the_same_public_names(name):
    """A codec the chooser lists exists in both packages and the twin defines every public name
    of the reference (classes included)."""
    ref = importlib.import_module(f"tensorwire.codecs.{name}")
    twin = importlib.import_module(f"tensorwire._native.{name}")
    public = {n for n in dir(ref) if not n.startswith("_") and callable(getattr(ref, n))}
    public -= {n for n in public if getattr(getattr(ref, n), "__module__", ref.__name__) != ref.__name__}
    assert public, name
    assert public <= set(dir(twin)), sorted(public - set(dir(twin)))


def test_this_process_reports_the_backend_it_uses():
    """Whichever backend this test run uses, backend() names the module the functions come from."""
    expected = "tensorwire._native.tensor" if tensorwire.backend() == "native" else "tensorwire.codecs.tensor"
    assert tensorwire.backend() in ("native", "python")
    assert tensorwire.encode_tensor is importlib.import_module(expected).encode_tensor
    assert tensorwire.decode_tensor is importlib.import_module(expected).decode_tensor
    assert (os.environ.get(ENV_VAR, "").strip() not in ("", "0")) == (tensorwire.backend() == "python")
