"""Benchmarks: ``python -m pytest benchmarks`` (timed) or ``... --benchmark-disable`` (one call each).

Not part of the test run (``testpaths = ["tests"]``): collected only when named.  The cases are
defined once, in cases.py, and shared with report.py.
"""

import pytest

import cases

cases.check_table()


@pytest.fixture(scope="session")
def payloads():
    """``{"tile": Payload, "batch8": Payload, ...}``: the 256x256x12 float32 tile, a batch of 8, the
    TFRecord files and the JSON groups' smoke tiles (:func:`cases.make_payloads`)."""
    return cases.make_payloads()
