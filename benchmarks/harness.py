"""The pytest side of cases.py: parametrization and the measured call with its check."""

import pytest

import cases


def params(*groups):
    """``@pytest.mark.parametrize(*params(group, ...))``: every case of ``groups`` x its payloads."""
    return (
        ("case", "payload"),
        [
            pytest.param(case, payload, id=f"{case.key}-{payload}", marks=[pytest.mark.native] if case.native else [])
            for case in cases.CASES
            if case.group in groups
            for payload in case.payloads
        ],
    )


def measure(benchmark, case, payload):
    """Time ``case`` on ``payload`` with pytest-benchmark, then check the result it returned."""
    benchmark.group = f"{case.group} [{payload.name}: {payload.label}]"
    benchmark.extra_info["alternative"] = case.name
    benchmark.extra_info["bytes"] = payload.nbytes_for(case.group)
    try:
        call = case.setup(payload)
    except cases.Unavailable as exc:
        pytest.skip(str(exc))
    if case.slow:  # seconds a call: time it once (one call anyway with --benchmark-disable)
        result = benchmark.pedantic(call, rounds=1, iterations=1)
    else:
        result = benchmark(call)
    case.check(payload, result)
