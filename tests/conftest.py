import os

import pytest
from hypothesis import HealthCheck, settings

from backends import NATIVE, PYTHON

settings.register_profile(
    "ci", max_examples=300, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(
    scope="session",
    params=[pytest.param("python", id="pure-python"), pytest.param("native", id="cython", marks=pytest.mark.native)],
)
def codecs(request):
    """The codec modules of one backend; every codec test runs once per backend."""
    return PYTHON if request.param == "python" else NATIVE


@pytest.fixture(scope="session")
def both():
    """(reference, twin), for tests that cross the two."""
    return PYTHON, NATIVE


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """A test that takes ``both`` crosses the reference with the Cython twin: it is ``native``
    (the reference-only pass, ``-m "not native"``, runs without the extension built).  Runs
    before pytest's own ``-m`` selection, which then sees the mark."""
    for item in items:
        if "both" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.native)
