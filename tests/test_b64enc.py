"""The C base64 encoder (tensorwire._native._b64enc) against the stdlib, on both of its paths.

Every case runs with the standard and the URL-safe alphabet, with and without padding, and on
the path ``b64_encode_into`` picks (the AVX2 loop where the CPU has AVX2) and the forced scalar
path.  Expected text always comes from the stdlib (``base64.b64encode`` /
``urlsafe_b64encode``, ``.rstrip(b"=")`` without padding).  The hooks encode through the same C
function ``b64_encode_into`` runs; ``encode_report`` also says how many input bytes the AVX2
loop encoded, so the tests can tell that the vector path really ran.
"""

import base64
import itertools
import mmap
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends import native_helper

pytestmark = pytest.mark.native
_b64enc = native_helper("_b64enc")

STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
URLSAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# (urlsafe, pad, force_scalar): every alphabet x padding x path.
MODES = list(itertools.product((False, True), (True, False), (False, True)))
MODE_IDS = [f"{'url' if u else 'std'}-{'pad' if p else 'nopad'}-{'scalar' if s else 'auto'}" for u, p, s in MODES]


def expected(data, urlsafe, pad):
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(bytes(data))
    return text if pad else text.rstrip(b"=")


def simd_bytes_for(n):
    """Input bytes the AVX2 loop takes: 24-byte steps while 28 bytes are left to read."""
    return 0 if n < 28 else 24 * ((n - 4) // 24)


def random_bytes(rng, n):
    return rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()


def check(data, urlsafe, pad, force_scalar):
    """Encode data one way; assert the text and (on the auto path) that the AVX2 loop ran."""
    text, simd = _b64enc.encode_report(data, urlsafe, pad, force_scalar)
    assert text == expected(data, urlsafe, pad), (len(data), urlsafe, pad, force_scalar)
    if force_scalar or not _b64enc.has_avx2():
        assert simd == 0
    else:
        assert simd == simd_bytes_for(len(data))
    return text


# ---------------------------------------------------------------------------------------------
# Against the stdlib
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("urlsafe", "pad", "force_scalar"), MODES, ids=MODE_IDS)
def test_every_length_to_200(urlsafe, pad, force_scalar):
    rng = np.random.default_rng(200)
    for n in range(201):
        data = random_bytes(rng, n)
        text = check(data, urlsafe, pad, force_scalar)
        assert _b64enc.encode(data, urlsafe, pad, force_scalar) == text


@pytest.mark.parametrize(("urlsafe", "pad", "force_scalar"), MODES, ids=MODE_IDS)
def test_random_lengths_to_100k(urlsafe, pad, force_scalar):
    rng = np.random.default_rng(100_000)
    lengths = list(rng.integers(0, 100_001, size=40)) + [100_000, 99_999, 99_998, 24 * 4096, 24 * 4096 + 4]
    for n in lengths:
        check(random_bytes(rng, int(n)), urlsafe, pad, force_scalar)


@given(data=st.binary(max_size=3000), urlsafe=st.booleans(), pad=st.booleans())
def test_hypothesis_small(data, urlsafe, pad):
    assert check(data, urlsafe, pad, False) == check(data, urlsafe, pad, True)


@given(n=st.integers(0, 100_000), seed=st.integers(0, 2**32 - 1), urlsafe=st.booleans(), pad=st.booleans())
def test_hypothesis_large(n, seed, urlsafe, pad):
    data = random_bytes(np.random.default_rng(seed), n)
    assert check(data, urlsafe, pad, False) == check(data, urlsafe, pad, True)


@pytest.mark.parametrize(("urlsafe", "pad", "force_scalar"), MODES, ids=MODE_IDS)
@pytest.mark.parametrize("position", [0, 1, 2])
@pytest.mark.parametrize("fill", [0x00, 0xFF, 0x5A])
def test_every_byte_value_in_every_group_position(urlsafe, pad, force_scalar, position, fill):
    # Group k holds byte value k at `position` and `fill` elsewhere: every value passes through
    # every 6-bit field it touches, at every place in a vector step (k mod 8 groups per step).
    groups = bytearray([fill]) * (3 * 256)
    groups[position::3] = bytes(range(256))
    for tail in (b"", b"\x01", b"\x01\x02"):  # also with the scalar tail behind the groups
        data = bytes(groups) + tail
        text = check(data, urlsafe, pad, force_scalar)
        # The 4 characters of group k depend only on group k.
        for k in range(256):
            group = data[3 * k : 3 * k + 3]
            assert text[4 * k : 4 * k + 4] == expected(group, urlsafe, True)


@pytest.mark.parametrize(("urlsafe", "pad", "force_scalar"), MODES, ids=MODE_IDS)
def test_every_index_in_every_character_slot(urlsafe, pad, force_scalar):
    # Text in which every character slot of a 32-character vector step (and of the scalar
    # pairs) holds every one of the 64 indices: block b, slot j has index (b + 5 * j) % 64.
    alphabet = URLSAFE if urlsafe else STANDARD
    text = bytes(alphabet[(b + 5 * j) % 64] for b in range(64) for j in range(32))
    data = base64.b64decode(text.translate(bytes.maketrans(alphabet, STANDARD)))
    assert len(data) == 64 * 24
    assert check(data, urlsafe, pad, force_scalar) == text
    assert set(text) == set(alphabet)


def test_alphabets_differ_only_in_the_last_two_characters():
    data = bytes([0xFB, 0xFF, 0xBF]) * 40  # indices 62, 63, 62, 63, ...: all '+/' or '-_'
    for force_scalar in (False, True):
        assert _b64enc.encode(data, False, True, force_scalar) == b"+/+/" * 40
        assert _b64enc.encode(data, True, True, force_scalar) == b"-_-_" * 40


# ---------------------------------------------------------------------------------------------
# The two paths
# ---------------------------------------------------------------------------------------------

def test_has_avx2_matches_the_cpu():
    assert isinstance(_b64enc.has_avx2(), bool)
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64") and cpuinfo.exists():
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("flags")), [])
        assert _b64enc.has_avx2() == ("avx2" in flags)


def test_simd_path_exercised_when_available():
    data = bytes(range(256)) * 40
    text, simd = _b64enc.encode_report(data)
    assert text == base64.b64encode(data)
    if _b64enc.has_avx2():
        assert simd == simd_bytes_for(len(data)) > 0
    else:
        assert simd == 0
    assert _b64enc.encode_report(data, force_scalar=True) == (text, 0)


@pytest.mark.parametrize(("urlsafe", "pad"), list(itertools.product((False, True), (True, False))))
def test_paths_agree(urlsafe, pad):
    rng = np.random.default_rng(7)
    for n in list(range(0, 400)) + [1000, 4099, 65_536, 65_537]:
        data = random_bytes(rng, n)
        assert _b64enc.encode(data, urlsafe, pad, False) == _b64enc.encode(data, urlsafe, pad, True)


# ---------------------------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("urlsafe", "pad", "force_scalar"), MODES, ids=MODE_IDS)
def test_output_stays_in_its_buffer(urlsafe, pad, force_scalar):
    rng = np.random.default_rng(64)
    for n in list(range(0, 201)) + [1000, 1001, 1002, 24 * 100 + 27, 24 * 100 + 28, 50_000]:
        data = random_bytes(rng, n)
        text, guard_ok = _b64enc.encode_with_guard(data, urlsafe, pad, force_scalar)
        assert guard_ok, (n, urlsafe, pad, force_scalar)
        assert text == expected(data, urlsafe, pad)


_READ_BOUNDS_SCRIPT = textwrap.dedent(
    """
    import base64, ctypes, itertools, mmap, random, sys
    from tensorwire._native import _b64enc

    PAGE = mmap.PAGESIZE
    DATA_PAGES = 3
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    mm = mmap.mmap(-1, (DATA_PAGES + 2) * PAGE)
    rnd = random.Random(5)
    mm[:] = bytes(rnd.getrandbits(8) for _ in range(len(mm)))
    base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    for page in (0, DATA_PAGES + 1):  # no access to the pages around the data
        if libc.mprotect(base + page * PAGE, PAGE, 0) != 0:
            sys.exit("mprotect failed: %d" % ctypes.get_errno())
    start, stop = PAGE, (DATA_PAGES + 1) * PAGE
    view = memoryview(mm)
    lengths = list(range(0, 200)) + [1000, 4095, 4096, stop - start]
    count = 0
    for n, urlsafe, pad, force_scalar in itertools.product(lengths, (False, True), (False, True), (False, True)):
        for piece in (view[start:start + n], view[stop - n:stop]):  # at the first page, at the last
            want = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(bytes(piece))
            if not pad:
                want = want.rstrip(b"=")
            if _b64enc.encode(piece, urlsafe, pad, force_scalar) != want:
                sys.exit("wrong text for n=%d" % n)
            count += 1
    print("ok", count)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs mprotect on anonymous mmap (Linux)")
def test_input_reads_stay_in_the_input():
    # The data is put right after and right before inaccessible pages: a read outside
    # src[0:n] crashes the child process (run apart so that a crash fails only this test).
    env = dict(os.environ, PYTHONPATH=str(Path(_b64enc.__file__).resolve().parents[2]))
    result = subprocess.run([sys.executable, "-c", _READ_BOUNDS_SCRIPT], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.split() == ["ok", str((200 + 4) * 8 * 2)]
    assert mmap.PAGESIZE >= 4096


# ---------------------------------------------------------------------------------------------
# Hooks and inputs
# ---------------------------------------------------------------------------------------------

def test_any_contiguous_buffer():
    data = bytes(range(256)) * 5
    want = base64.b64encode(data)
    for form in (bytearray(data), memoryview(data), np.frombuffer(data, dtype=np.uint8),
                 np.frombuffer(data, dtype=np.float32)):
        assert _b64enc.encode(form) == want


def test_encode_into_writes_only_its_text():
    data = bytes(range(100))
    want = base64.urlsafe_b64encode(data).rstrip(b"=")
    out = bytearray(b"\xa5") * (len(want) + 10)
    assert _b64enc.encode_into(data, out, True, False) == len(want)
    assert out[: len(want)] == want
    assert out[len(want):] == b"\xa5" * 10
    with pytest.raises(ValueError):
        _b64enc.encode_into(data, bytearray(len(want) - 1), True, False)
