"""The public API as a user's type checker sees it: ``mypy --strict`` over tests/typing.

``good_uses.py`` must type-check; every line of ``bad_uses.py`` marked ``# type: ignore[<code>]``
must fail with that error (``warn_unused_ignores``, part of ``--strict``, reports a mark that no
longer matches).  The configuration is the project's (``[tool.mypy]`` in pyproject.toml), with
``--follow-imports=silent``: these files are checked against tensorwire's annotations, while
errors inside tensorwire itself are the business of the ``mypy`` run over src/tensorwire.
"""

from pathlib import Path

from mypy import api as mypy_api  # in the test extra: a missing mypy fails the run, never skips it

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def test_the_public_api_type_checks_as_documented(monkeypatch):
    monkeypatch.setenv("MYPYPATH", str(ROOT / "src"))  # these sources, whatever is installed
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(ROOT / "pyproject.toml"),
        "--follow-imports=silent",
        "--no-error-summary",
        str(HERE / "typing" / "good_uses.py"),
        str(HERE / "typing" / "bad_uses.py"),
    ])
    assert status == 0 and not stdout and not stderr, f"mypy ({status}):\n{stdout}{stderr}"
