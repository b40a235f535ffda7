"""The string kernels of the native JSON codec (jsonbody_text.h, jsonbody_scan.h), each form on
its own: the portable one everywhere, the AVX-512 one where the CPU has it.

The codec runs only one form on a given CPU (AVX-512 where present), so the codec-level tests
(test_jsonbody_general.py and the rest) check only that one here; these tests reach both through
``tensorwire._native._jsontext``.  Expected strings come from ``json.dumps(ensure_ascii=False)``;
the writer's output must stay inside the text it writes (guard bytes before it, and every byte
of its room after it, untouched), and the scanner must agree with a plain Python loop.
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends import native_helper

pytestmark = pytest.mark.native
_jsontext = native_helper("_jsontext")

SPECIAL = '"\\\x00\x01\x08\x09\x0a\x0c\x0d\x1f'  # every escape kind: quote, backslash, letters, \u00xx
WIDE = "é日🙂\x7f\x80"  # 2-, 3- and 4-byte UTF-8, DEL (not escaped), U+0080


def kernels():
    return _jsontext.kernels()


def cpu_flags():
    cpuinfo = Path("/proc/cpuinfo")
    if not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64") and cpuinfo.exists()):
        return None
    return next((line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("flags")), [])


def test_the_avx512_kernels_run_where_the_cpu_has_them():
    flags = cpu_flags()
    if flags is None:
        assert kernels() == ["portable"] or kernels() == ["portable", "avx512"]
        return
    has = all(f in flags for f in ("avx512bw", "avx512vl", "bmi2"))
    assert kernels() == (["portable", "avx512"] if has else ["portable"])


def test_tensorwire_no_avx512_keeps_the_portable_kernels():
    env = dict(os.environ, TENSORWIRE_NO_AVX512="1")
    out = subprocess.run([sys.executable, "-c", "from tensorwire._native import _jsontext; print(_jsontext.kernels())"],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "['portable']"


def check_text(text):
    utf8 = text.encode("utf-8")
    want = json.dumps(text, ensure_ascii=False).encode("utf-8")
    for kernel in _jsontext.text_kernels():
        got, room_ok, guard_ok = _jsontext.put_text(utf8, kernel)
        assert (got, room_ok, guard_ok) == (want, True, True), (kernel, text)


def check_span(data, pos):
    want = pos
    while want < len(data) and data[want] not in b'"\\' and data[want] >= 0x20:
        want += 1
    high = any(b >= 0x80 for b in data[pos:want])
    for kernel in kernels():
        assert _jsontext.plain_span(data, pos, kernel) == (want, high), (kernel, data, pos)


@pytest.mark.parametrize("special", list(SPECIAL) + list(WIDE), ids=lambda c: f"U+{ord(c):04X}")
def test_every_length_and_position(special):
    """A character at every position of strings of every length to 70 (blocks of 8, 16, 32 and
    the tails between), in a run of plain ASCII."""
    for n in range(0, 71):
        base = "".join(chr(0x61 + i % 26) for i in range(n))
        check_text(base)
        for i in range(n):
            text = base[:i] + special + base[i + 1:]
            check_text(text)
            check_span(text.encode("utf-8"), 0)


def test_span_from_every_start():
    data = ('ab"cdé\\' + "x" * 40 + "\n" + "日" * 20 + '"').encode("utf-8")
    for pos in range(len(data) + 1):
        check_span(data, pos)


def test_long_strings():
    rng = np.random.default_rng(20261205)
    alphabet = list("abcdefghij ") + list(SPECIAL) + list(WIDE)
    for n in (100, 1000, 4097, 65_536):
        for density in (0.0, 0.01, 0.3):
            plain = rng.choice(list("abcdefghij "), size=n)
            mask = rng.random(n) < density
            plain[mask] = rng.choice(alphabet, size=int(mask.sum()))
            text = "".join(plain)
            check_text(text)
            check_span(text.encode("utf-8"), 0)


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_any_text(text):
    check_text(text)
    check_span(text.encode("utf-8") + b'"', 0)


@given(st.binary(max_size=100), st.data())
def test_span_of_any_bytes(data, draw):
    check_span(data, draw.draw(st.integers(0, len(data))))


def test_an_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="kernel"):
        _jsontext.put_text(b"x", "sse9")


def test_the_wide_writer_writes_the_same_text():
    """The AVX-512 items loop's writer (whole 32-byte stores, up to 31 bytes past the text) gives
    json.dumps's text, at most TW_JB_TEXT_ROOM bytes of it, and nothing past its slack."""
    if "avx512-wide" not in _jsontext.text_kernels():
        assert _jsontext.text_kernels() == kernels() == ["portable"]
        return
    for n in range(0, 100):
        base = "".join(chr(0x61 + i % 26) for i in range(n))
        for text in [base] + [base[:i] + c + base[i + 1:] for i in range(0, n, 7) for c in SPECIAL + WIDE]:
            want = json.dumps(text, ensure_ascii=False).encode("utf-8")
            assert _jsontext.put_text(text.encode("utf-8"), "avx512-wide") == (want, True, True), text


def items_text(values, name=b""):
    """What the str-items loop should write for ``values``: the strings joined by ',' (each as
    {name:string} when a name is given)."""
    texts = [json.dumps(v, ensure_ascii=False).encode("utf-8") for v in values]
    if name:
        texts = [b"{" + name + b":" + t + b"}" for t in texts]
    return b",".join(texts)


def check_items(values, name=b""):
    want = items_text(values, name)
    for kernel in kernels():
        room = 6 * sum(len(v.encode("utf-8")) + 1 for v in values) + (len(name) + 40) * len(values) + 64
        got = _jsontext.put_str_items(values, name, room, kernel)
        assert got == (want, "done", len(values), None, True), (kernel, values)


def test_str_items_every_length_and_escape():
    """Both items loops over runs of strings of every length to 70 (the AVX-512 loop's short and
    long paths, its prefetch near the end of the run), with an escape or a wide character at a
    few positions, bare and named."""
    values = []
    for n in range(0, 71):
        base = "".join(chr(0x61 + (i + n) % 26) for i in range(n))
        values.append(base)
        for i in range(0, n, 11):
            values.append(base[:i] + SPECIAL[n % len(SPECIAL)] + base[i + 1:])
            values.append(base[:i] + WIDE[n % len(WIDE)] + base[i + 1:])
    for size in (0, 1, 7, 8, 9, 17, len(values)):
        check_items(values[:size])
        check_items(values[:size], b'"image"')


@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=80), max_size=40))
def test_str_items_of_any_text(values):
    check_items(values)


SLACK = {"portable": 0, "avx512": 32}  # room each loop asks for past a string's TW_JB_TEXT_ROOM


def test_str_items_stop_where_the_room_ends():
    """With too little room each loop stops before the item that does not fit and says how much
    room that item asks for: TW_JB_TEXT_ROOM of its UTF-8, 4 for the separators, the name, and
    (AVX-512) the wide writer's 32 bytes of slack."""
    values = ["a" * (i % 50) for i in range(40)]
    full = items_text(values)
    for kernel in kernels():
        for name in (b"", b'"x"'):
            for room in (0, 1, 10, 100, 400, 1000):
                text, status, stop, need, guard_ok = _jsontext.put_str_items(values, name, room, kernel)
                assert guard_ok and status == "room" and 0 <= stop < len(values), (kernel, room)
                assert text == items_text(values[:stop], name), (kernel, room)
                assert full.startswith(text) or name
                assert need == 6 * len(values[stop]) + 2 + 4 + len(name) + SLACK[kernel], (kernel, room, need)
                assert room - len(text) < need, (kernel, room, need)


@pytest.mark.parametrize("values", [
    ["a"], ["\x01" * 33], ["ab"] * 5, ["x" * 31, "y" * 32, "z" * 33], ['"' * 40, "\\" * 7 + "q"],
    ["é日🙂" * 11, "\x1f" * 64], [""] * 3,
], ids=lambda v: repr(v)[:24])
def test_str_items_never_write_past_any_room(values):
    """Every room from 0 to what the whole run takes with slack: each loop writes only inside it
    (guard bytes on both sides untouched), and what it wrote is the run up to where it stopped.
    Without the wide writer's slack asked for, the AVX-512 loop's whole-block stores would write
    past a room that fits the text exactly."""
    for kernel in kernels():
        for name in (b"", b'"name"'):
            most = sum(6 * len(v.encode("utf-8")) + 6 + len(name) + SLACK[kernel] for v in values)
            for room in range(most + 1):
                text, status, stop, need, guard_ok = _jsontext.put_str_items(values, name, room, kernel)
                assert guard_ok, (kernel, name, room)
                assert text == items_text(values[:stop], name), (kernel, name, room)
                assert (status, stop) == (("done", len(values)) if status == "done" else ("room", stop)), status
            assert status == "done", (kernel, name)


def test_str_items_stop_at_what_is_not_a_str():
    """An item that is not an exact str (bytes, None, a str subclass) or whose UTF-8 cannot be made
    (a lone surrogate) stops both loops there, with what came before it written."""
    class Sub(str):
        pass

    for bad, status in ((b"x", "other"), (None, "other"), (Sub("s"), "other"), ("a\ud800b", "no-utf8")):
        values = ["x" * i for i in range(20)]
        values[13] = bad
        for kernel in kernels():
            got = _jsontext.put_str_items(values, b"", 10_000, kernel)
            assert got == (items_text(values[:13]), status, 13, None, True), (kernel, bad)
