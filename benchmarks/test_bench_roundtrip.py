"""Complete round trips over loopback (roundtrip.py's exchanges) under pytest-benchmark: per payload
format, ``tensorwire.Client`` against ``python -m tensorwire serve`` and the protobuf + json/base64
baseline (``peer_server.py``'s client against its server), each serving ``serve_models:double``.

The two servers are subprocesses started once for this module (module-scoped fixtures; stopped
at its end, or on failure).  Every case checks its predictions against ``serve_models.double``
applied directly: the first call's before timing, and the returned one after.  Timed runs use
the 256x256x12 tile; cases whose (second, warm) round trip takes over half a second (the
baseline's RAW_JSON and ND_ARRAYS: seconds) are timed over 3 rounds (``benchmark.pedantic``).  The smoke run
(``--benchmark-disable``, CI) makes one call per case on a 64x64x12 tile (:data:`SMOKE_SHAPE`)
so it stays fast, as the JSON groups do.  ``test_roundtrip_crossed`` checks that each side's
client gets the same predictions from the other side's server (the two speak the same bytes).

The tensorwire cases are marked ``native`` and skipped under ``TENSORWIRE_PURE_PYTHON=1``,
like the other benchmarks' native cases: the round trip through the pure-Python reference takes
seconds, and is not what is compared.
"""

import time

import pytest

import roundtrip
from load import FORMATS, expected_outputs, mismatch, tile_inputs

SMOKE_SHAPE = (64, 64, 12)
SLOW_SECONDS = 0.5  # a first call slower than this: time 3 rounds, not pytest-benchmark's calibrated many


def _disabled(config):
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


@pytest.fixture(scope="module")
def shape(request):
    return SMOKE_SHAPE if _disabled(request.config) else roundtrip.TILE_SHAPE


@pytest.fixture(scope="module")
def tile(shape):
    return roundtrip.make_tile(shape)


@pytest.fixture(scope="module")
def tensorwire_server(shape):
    server = roundtrip.start_tensorwire(shape)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def baseline_server(shape):
    server = roundtrip.start_peer(shape)
    try:
        yield server
    finally:
        server.stop()


def _need_native():
    import tensorwire

    if tensorwire.backend() != "native":
        pytest.skip("the tensorwire round trip is measured on the native backend (TENSORWIRE_PURE_PYTHON is set)")


def _check(label, expected, got):
    problem = mismatch(expected, got)
    assert problem is None, f"{label}: wrong predictions: {problem}"


def _measure(benchmark, side, fmt, server, tile):
    inputs = tile_inputs(tile, fmt)
    expected = expected_outputs(roundtrip.PREDICT, inputs)
    label = f"{fmt}, {roundtrip.LABELS[side]}"
    benchmark.group = f"round trip {fmt} [float32 {'x'.join(map(str, tile.shape))}, one instance]"
    benchmark.extra_info["alternative"] = roundtrip.LABELS[side]
    benchmark.extra_info["server"] = server.ready_line
    with roundtrip.make_client(side, fmt, server) as client:
        def call():
            return client.predict(inputs)

        if benchmark.disabled:  # one call (CI smoke run)
            result = benchmark(call)
        else:
            _check(label, expected, call())  # checked before timing; also the warm-up (connection, imports)
            start = time.perf_counter()
            call()
            if time.perf_counter() - start > SLOW_SECONDS:
                result = benchmark.pedantic(call, rounds=3, iterations=1)
            else:
                result = benchmark(call)
    _check(label, expected, result)
    assert server.alive(), f"{server.name} died{server.stderr_tail()}"


@pytest.mark.native
@pytest.mark.parametrize("fmt", FORMATS)
def test_roundtrip_tensorwire(benchmark, request, tile, fmt):
    _need_native()
    _measure(benchmark, "tensorwire", fmt, request.getfixturevalue("tensorwire_server"), tile)


@pytest.mark.parametrize("fmt", FORMATS)
def test_roundtrip_baseline(benchmark, baseline_server, tile, fmt):
    _measure(benchmark, "baseline", fmt, baseline_server, tile)


@pytest.mark.native
@pytest.mark.parametrize("fmt", FORMATS)
def test_roundtrip_crossed(request, baseline_server, tile, fmt):
    """tensorwire's client against the baseline server, and the baseline client against tensorwire's."""
    _need_native()
    servers = {"tensorwire": request.getfixturevalue("tensorwire_server"), "baseline": baseline_server}
    inputs = tile_inputs(tile, fmt)
    expected = expected_outputs(roundtrip.PREDICT, inputs)
    for side, other in (("tensorwire", "baseline"), ("baseline", "tensorwire")):
        with roundtrip.make_client(side, fmt, servers[other]) as client:
            _check(f"{fmt}, {roundtrip.LABELS[side]} client -> {roundtrip.LABELS[other]} server", expected,
                   client.predict(inputs))
