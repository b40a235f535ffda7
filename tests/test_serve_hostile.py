"""The hostile mix, short (CI smoke run): ``benchmarks/hostile.py --json`` against a server with
a 2 s header timeout and a 3 s body timeout, phases of 4 s, 14 s and 4 s (about 35 s in all).

Asserted, because none of it depends on how loaded the machine is: every valid request sent
(before, during and after the attack; the Client's default retries) was answered, and correctly;
the server ended (closed, or answered) some of the stalled upload, slowloris and random-bytes
sockets, and no stalled upload, slowloris or garbage socket lasted longer than its timeout plus
:data:`MARGIN` seconds before the server ended it (the stalled uploads send their whole head at
once, so the body timeout applies; the others never finish a head, so the header timeout
applies); the server is alive at the end.  The timing and RSS targets are hostile.py's to report
(``python benchmarks/hostile.py``), not asserted here: a ratio of latencies would flake on a
shared machine.

Marked ``native`` like test_serve_load.py: the valid clients' answers and the refused
bodies go through the Cython twins (``TENSORWIRE_PURE_PYTHON`` is removed from the environment).
"""

import json
from pathlib import Path

import pytest

from serving import run_script

HOSTILE = Path(__file__).resolve().parent.parent / "benchmarks" / "hostile.py"
HEADER_TIMEOUT, BODY_TIMEOUT = 2, 3
MARGIN = 4.0  # seconds a server may take past its timeout to close a socket (timer granularity, a busy machine)
GARBAGE_READ_TIMEOUT = HEADER_TIMEOUT + MARGIN + 2  # so a garbage socket the server never closes outlives the limit
RUN_TIMEOUT = 240  # seconds before the test stops hostile.py itself


def _run(args):
    return run_script(HOSTILE, args, RUN_TIMEOUT)


SMOKE_ARGS = ["--json", "--report-only", "--before", "4", "--during", "14", "--after", "4", "--settle-max", "5",
              "--clients", "4", "--interval-ms", "200", "--size", "64", "--large-mb", "8",
              "--garbage-read-timeout", str(GARBAGE_READ_TIMEOUT)]
SERVER_ARGS = [f"--server-arg=--header-timeout={HEADER_TIMEOUT}", f"--server-arg=--body-timeout={BODY_TIMEOUT}"]


@pytest.mark.native
def test_hostile_mix_loses_no_valid_request_and_closes_stalled_sockets():
    check(*_run(SMOKE_ARGS + SERVER_ARGS))


def check(code, out, err):
    """The assertions on one hostile.py ``--json`` run (its exit status, stdout, stderr)."""
    try:
        result = json.loads(out)
    except ValueError:
        pytest.fail(f"hostile.py exited {code} without a JSON result\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")
    details = json.dumps({k: result.get(k) for k in ("error", "valid", "phases", "problems")}, indent=1)
    details += f"\n{result.get('server_stderr_tail', '')}\n{err[-2000:]}"
    assert "error" not in result, details
    assert code == 0, details
    valid = result["valid"]
    assert min(p["sent"] for p in result["phases"].values()) > 0, details
    assert valid["lost"] == 0, details
    assert valid["answered"] == valid["correct"] == valid["sent"], details

    kinds = result["attack"]["kinds"]
    assert "error" not in kinds, kinds
    limits = {"stalled": BODY_TIMEOUT, "slowloris": HEADER_TIMEOUT, "garbage/random_bytes": HEADER_TIMEOUT}
    for kind, timeout in limits.items():
        k = kinds[kind]
        assert k["server_ended"] > 0, f"{kind}: the server ended none of {k['opened']} sockets: {k}"
        assert k["max_open_s"] <= timeout + MARGIN, (
            f"{kind}: a socket stayed open {k['max_open_s']} s (timeout {timeout} s + {MARGIN} s): {k}")
    for kind, k in kinds.items():
        if kind.startswith("garbage/"):
            assert k["max_open_s"] is None or k["max_open_s"] <= HEADER_TIMEOUT + MARGIN, f"{kind}: {k}"
    assert result["targets"]["server_alive_at_end"]["pass"], details
