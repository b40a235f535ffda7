"""tensorwire._malloc: the TENSORWIRE_MALLOPT switch, and that on glibc the thresholds really take
effect (a block below the threshold comes from the heap, one above it from its own mmap).  Each check that calls
mallopt runs in a child process, so this test process keeps glibc's defaults."""

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from tensorwire import _malloc

SRC = os.path.dirname(os.path.dirname(os.path.abspath(_malloc.__file__)))
GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def child(code, value):
    env = {k: v for k, v in os.environ.items() if k != _malloc.ENV_VAR}
    if value is not None:
        env[_malloc.ENV_VAR] = value
    env["PYTHONPATH"] = os.pathsep.join([SRC, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, env=env, capture_output=True,
                          text=True, timeout=120)


def test_setting_reads_the_switch(monkeypatch):
    assert _malloc.setting("0") is None and _malloc.setting("off") is None and _malloc.setting("No") is None
    assert _malloc.setting("") == _malloc.setting("1") == _malloc.setting("on") == _malloc.DEFAULT_MIB << 20
    assert _malloc.setting("16") == 16 << 20 and _malloc.setting(" 128 ") == 128 << 20
    for bad in ("-1", "64M", "1.5", "maybe"):
        with pytest.raises(ValueError, match=rf"^TENSORWIRE_MALLOPT='.*': expected 0 \(off\), 1 \(on, {_malloc.DEFAULT_MIB} MiB\)"):
            _malloc.setting(bad)
    monkeypatch.setenv(_malloc.ENV_VAR, "0")
    assert _malloc.setting() is None and _malloc.keep_freed_memory() is False
    monkeypatch.delenv(_malloc.ENV_VAR)
    assert _malloc.setting() == _malloc.DEFAULT_MIB << 20
    assert _malloc.keep_freed_memory(False) is False


# glibc's mallinfo2().hblkhd: bytes in blocks served by their own mmap.
MMAPPED = """
    import ctypes
    from tensorwire import _malloc

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                     "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Info
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    kept = _malloc.keep_freed_memory()
    before = libc.mallinfo2().hblkhd
    p = libc.malloc(SIZE)
    grew = libc.mallinfo2().hblkhd - before
    libc.free(p)
    print(kept, grew >= SIZE, _malloc.describe())
"""


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's; elsewhere keep_freed_memory() is a no-op (returns False)")
@pytest.mark.parametrize("value, kept, mib, mmapped", [
    (None, True, 8, False), ("1", True, 8, False), ("32", True, 20, False),
    (None, True, 20, True),  # above the default 16 MiB: mapped, and unmapped when freed (the bound)
    ("0", False, 8, True),  # glibc's default: mapped (its threshold starts at 128 KiB)
])
def test_thresholds_take_effect_on_glibc(value, kept, mib, mmapped):
    """With the thresholds set, a fresh block below them comes from the heap, where a freed one
    is reused; above them, or with TENSORWIRE_MALLOPT=0, glibc maps it on its own."""
    run = child(f"SIZE = {mib} << 20\n" + textwrap.dedent(MMAPPED), value)
    assert run.returncode == 0, run.stderr
    got_kept, got_mmapped, description = run.stdout.strip().split(" ", 2)
    assert (got_kept, got_mmapped) == (str(kept), str(mmapped)), run.stdout
    assert ("kept up to" in description) == kept, description


def test_serve_refuses_a_bad_switch():
    """``python -m tensorwire serve`` reads the switch first: a bad value is a usage error (exit 2)."""
    run = child("import sys; from tensorwire.__main__ import main; sys.exit(main(['serve', 'nomodule:f']))", "lots")
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "TENSORWIRE_MALLOPT='lots': expected 0 (off)" in run.stderr
