"""The serving load test: ``benchmarks/load.py --json`` with the issue's numbers, on loopback.

4 client threads (each its own ``tensorwire.Client``) x 250 requests, each one distinct random
256x256x4 float32 tile (bands ``B1``..``B4`` of ``(1, 256, 256, 1)``, SERIALIZED_TF_TENSORS:
1.4 MB, under Earth Engine's 1.5 MB ``max_payload_bytes``) against ``python -m tensorwire serve``
serving ``x * 2 + 1``; every answer is checked against that function applied directly.  All
1000 must be answered and correct, none lost, none failed.  About 10 s here (2 CPUs).

The figures (requests/s, p50, p99, wall time) are printed (``pytest -s``), recorded as junit
properties, and written in a "tensorwire serve load" section at the end of the terminal
summary, so a normal run shows them too.

Marked ``native``: load.py's server and clients run with the Cython twins
(``TENSORWIRE_PURE_PYTHON`` is removed from their environment).  On the pure-Python reference a
round trip of this tile takes about 2 s, so the same 1000 requests would take minutes; the
reference's run of the suite (``-m "not native"``) deselects this test.
"""

import json
from pathlib import Path

import pytest

from serving import run_script

LOAD = Path(__file__).resolve().parent.parent / "benchmarks" / "load.py"
CLIENTS, REQUESTS = 4, 250
DEADLINE = 150  # seconds load.py gives the run (unfinished requests count as lost)
TIMEOUT = DEADLINE + 90  # seconds before the test stops load.py itself
SUMMARY_PLUGIN = "tensorwire-serve-load-summary"


class _Summary:
    """Writes the load figures at the end of the terminal summary."""

    def __init__(self):
        self.lines = []

    def pytest_terminal_summary(self, terminalreporter):
        if self.lines:
            terminalreporter.section("tensorwire serve load")
            for line in self.lines:
                terminalreporter.write_line(line)


def _summary(config):
    plugin = config.pluginmanager.get_plugin(SUMMARY_PLUGIN)
    if plugin is None:
        plugin = _Summary()
        config.pluginmanager.register(plugin, SUMMARY_PLUGIN)
    return plugin


def _run_load(args):
    return run_script(LOAD, args, TIMEOUT)


@pytest.mark.native
def test_serve_load_4_clients_x_250_requests_of_256x256x4_tiles(request, record_property):
    code, out, err = _run_load(["--json", "--clients", str(CLIENTS), "--requests", str(REQUESTS),
                                "--format", "SERIALIZED_TF_TENSORS", "--size", "256", "--bands", "4",
                                "--deadline", str(DEADLINE)])
    try:
        result = json.loads(out)
    except ValueError:
        pytest.fail(f"load.py exited {code} without a JSON result\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")
    def num(key, spec):
        return "n/a" if result[key] is None else format(result[key], spec)

    line = (f"{result['clients']} clients x {result['requests_per_client']} requests of {result['tile']} "
            f"({result['format']}, {result['request_bytes']:,} bytes, backend {result['backend']}): "
            f"{num('requests_per_second', '.1f')} req/s, p50 {num('p50_ms', '.1f')} ms, "
            f"p99 {num('p99_ms', '.1f')} ms, wall {num('wall_seconds', '.2f')} s; answered {result['answered']}, "
            f"correct {result['correct']}, lost {result['lost']}, errors {result['errors']}")
    print(f"\nserve load: {line}")
    _summary(request.config).lines.append(line)
    for key in ("requests_per_second", "p50_ms", "p99_ms", "wall_seconds", "answered", "correct", "lost", "errors"):
        record_property(key, result[key])
    details = "\n".join(result["problems"]) + result["server_stderr_tail"] + err[-2000:]
    assert result["backend"] == "native"
    assert result["requests"] == CLIENTS * REQUESTS == 1000
    assert result["answered"] == 1000, details
    assert result["correct"] == 1000, details
    assert result["lost"] == 0, details
    assert result["errors"] == 0, details
    assert code == 0, details
