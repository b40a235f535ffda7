"""Keep freed large blocks in the process: glibc's ``mallopt`` thresholds, set where tensorwire
owns the process (``python -m tensorwire serve`` and the benchmark tools), never on import.

Why: a request body, its decoded arrays and the answer are blocks of megabytes, allocated and
freed once per request.  By default glibc serves such blocks with ``mmap`` or returns the freed
top of its heap to the kernel (``M_TRIM_THRESHOLD``, which it raises as it goes, up to 64 MiB),
so the next request's blocks are fresh pages and every 4 KiB of them is a page fault.
:func:`keep_freed_memory` fixes ``M_MMAP_THRESHOLD`` (blocks below it come from the heap and
are reused) and ``M_TRIM_THRESHOLD`` (up to this much free memory at the top of a heap stays
mapped) at :data:`DEFAULT_MIB`.  The bound matters: freed memory below the threshold is not
handed back, so a burst of large requests leaves the server's RSS higher afterwards.

Switch: ``TENSORWIRE_MALLOPT`` (read when :func:`keep_freed_memory` is called with
``enabled=None``): unset, empty or ``1``: on, at the default threshold; ``0`` (or ``off``,
``false``, ``no``): off, glibc's defaults stay; a whole number ``N`` > 1: on, at ``N`` MiB.
A child process (the benchmarks' servers) inherits the variable.  Elsewhere than glibc (musl,
macOS, Windows) it does nothing and says so (returns False).

Decision, from measurements (the README's "Freed memory" section has the figures and the
commands): on by default in ``serve`` and the benchmark tools, at 16 MiB.

* Speed: with it, round trips of one 256x256x12 tile took 9.3 instead of 15.5 ms
  (SERIALIZED_TF_TENSORS) and 7.2 instead of 9.6 ms (GRPC_TF_TENSORS), and the load run did
  206-209 instead of 184-206 requests/s; with glibc's defaults, many of each request's blocks
  are fresh pages, faulted in 4 KiB at a time.
* Memory: RSS does not come back after a burst of large requests with or without it.  glibc's
  thresholds are dynamic: the first large block freed raises them (up to 32 MiB / 64 MiB), so its
  defaults keep freed memory too, after the very burst that matters.  Twelve requests of a
  1024x1024x4 tile (22 MB bodies, three clients; ``benchmarks/malloc_burst.py``) left the
  server at 2.75x and 3.3x its steady RSS with the defaults, 3.9x at 64 MiB, and 1.95x and 2.0x
  at 16 MiB: a fixed threshold stops the raising, and blocks above it (the burst's) are unmapped
  when freed.  In the hostile mix (benchmarks/hostile.py) the settled RSS was 4.5x its steady
  state with the defaults, 4.0x at 16 MiB: the "within 10%" target is missed either way, for
  reasons this setting does not cause; giving the rest back needs ``malloc_trim(0)`` when the
  server is idle (a model calling it after every request left 1.6x with the defaults).  So the
  server run by ``python -m tensorwire serve`` calls :func:`give_back` once its HTTP side has
  been idle for a second (``serve(..., give_back_when_idle=...)``; off with
  ``TENSORWIRE_MALLOPT=0`` as well).
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
from collections.abc import Callable
from typing import Any

ENV_VAR = "TENSORWIRE_MALLOPT"
DEFAULT_MIB = 16
_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
ARENAS = 2  # malloc arenas at most (glibc's default is 8 per core)
_OFF = ("0", "off", "false", "no")
_ON = ("", "1", "on", "true", "yes")

_applied: int | None = None  # the threshold (bytes) set by the last call that set one


def setting(value: object = None, default_mib: int = DEFAULT_MIB) -> int | None:
    """The threshold in bytes that ``value`` (default: the environment's ``TENSORWIRE_MALLOPT``)
    asks for (``default_mib`` MiB for "on"), or None for off; ValueError for anything else."""
    text = (os.environ.get(ENV_VAR, "") if value is None else str(value)).strip().lower()
    if text in _OFF:
        return None
    if text in _ON:
        return default_mib << 20
    if text.isdigit() and int(text) > 1:
        return int(text) << 20
    raise ValueError(f"{ENV_VAR}={text!r}: expected 0 (off), 1 (on, {DEFAULT_MIB} MiB) or a number of MiB")


def keep_freed_memory(enabled: bool | int | None = None, default_mib: int = DEFAULT_MIB) -> bool:
    """Set glibc's mmap and trim thresholds so freed large blocks stay in the process, and cap its
    arenas at :data:`ARENAS`; True if set.

    The cap: glibc gives each thread that allocates its own arena (up to 8 per core), and the
    server's worker threads (one per pending request) each kept megabytes of freed blocks in
    theirs, out of reach of ``malloc_trim``'s give-back.  After the hostile mix's large refused
    bodies (``benchmarks/hostile.py``), the server settled at 1.5-2x its
    steady RSS with glibc's arenas and at its steady RSS with two.

    ``enabled``: None reads ``TENSORWIRE_MALLOPT`` (see the module docstring); False does
    nothing; True uses the default threshold (``default_mib``, :data:`DEFAULT_MIB` unless a
    caller has its own, as ``tensorwire.dask``'s workers); a number > 1 is a threshold in MiB.  Returns False
    when off, or when the C library is not glibc.  Call it once, at the start of the process
    (blocks allocated before keep their old behaviour).
    """
    global _applied
    if enabled is False:
        return False
    threshold = setting(None if enabled is None else (1 if enabled is True else enabled), default_mib)
    mallopt = _glibc("mallopt", (ctypes.c_int, ctypes.c_int))
    if threshold is None or mallopt is None:
        return False
    if not (mallopt(_M_MMAP_THRESHOLD, threshold) and mallopt(_M_TRIM_THRESHOLD, threshold)
            and mallopt(_M_ARENA_MAX, ARENAS)):
        return False
    _applied = threshold
    return True


def describe() -> str:
    """One line for a report: what this process's allocator does with freed large blocks."""
    if _applied is not None:
        return (f"glibc mallopt: freed blocks kept up to {_applied >> 20} MiB, {ARENAS} arenas "
                f"({ENV_VAR}=0 turns it off)")
    return f"allocator defaults ({ENV_VAR}={os.environ.get(ENV_VAR, '')!r}, C library {platform.libc_ver()[0] or '?'})"


def give_back() -> bool:
    """Return the free memory of every heap to the kernel (glibc's ``malloc_trim(0)``); True if
    anything was returned.  What the server calls once it has been idle a moment, so that RSS
    comes back down after a burst of large requests whatever the thresholds are.  Not glibc:
    does nothing (False)."""
    trim = _glibc("malloc_trim", (ctypes.c_size_t,))
    return trim is not None and bool(trim(0))  # ctypes lets go of the GIL for the call


@functools.lru_cache(maxsize=None)
def _glibc(name: str, argtypes: tuple[type[Any], ...]) -> Callable[..., int] | None:
    """glibc's function ``name`` (returning int) through ctypes, or None elsewhere than glibc.
    Looked up once: ``platform.libc_ver`` reads the interpreter's executable."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        function: ctypes._NamedFuncPointer = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function
