"""What :func:`tensorwire.conformance.check_endpoint` found: :class:`Report` and its table.

A report holds one :class:`FormatReport` per payload format asked for; each holds one
:class:`Outcome` per check made, in the order made: the valid (Earth-Engine-shaped) requests,
then the hostile probes, then the valid request sent after them.  A format is skipped (with the
reason) when its requests cannot be made from the inputs given (ND_ARRAYS with several inputs).

Decisions: a report passes when every format checked passed and at least one format was
checked (a report of skipped formats alone does not pass); a check not run because an earlier
one ended the section (a valid request failed, or a probe got no answer in time) counts as
neither passed nor failed and is shown as not run.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ..payload import PayloadFormat

Kind = Literal["valid", "hostile"]


@dataclasses.dataclass
class Outcome:
    """One check: a valid request (``kind="valid"``) or a hostile probe (``"hostile"``)."""

    kind: Kind
    label: str
    """What was sent: ``"one tile"``, ``"truncated body"``, ..."""
    ok: bool | None
    """True passed, False failed, None not run."""
    detail: str = ""
    """What came back: on a failure, what was wrong; else a short summary (requests, status)."""


@dataclasses.dataclass
class FormatReport:
    format: PayloadFormat
    target: str
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    """Why the format was not checked, or None."""

    @property
    def passed(self) -> bool:
        """Checked, and no check failed."""
        return self.skipped is None and all(o.ok is not False for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.ok is False]

    def counts(self, kind: Kind) -> tuple[int, int]:
        """``(passed, planned)`` of the checks of ``kind``: a check not run counts as planned, not passed."""
        planned = [o for o in self.outcomes if o.kind == kind]
        return sum(1 for o in planned if o.ok), len(planned)


@dataclasses.dataclass
class Report:
    formats: list[FormatReport]
    settings: str = ""
    """One line saying what was sent (bands, tile, outputs, limits)."""

    @property
    def passed(self) -> bool:
        checked = [f for f in self.formats if f.skipped is None]
        return bool(checked) and all(f.passed for f in checked)

    def format(self, name: PayloadFormat | str) -> FormatReport:
        """The report of one format (a PayloadFormat or its name); KeyError if it was not asked for."""
        fmt = PayloadFormat.of(name)
        for f in self.formats:
            if f.format is fmt:
                return f
        raise KeyError(fmt.value)

    def table(self, verbose: bool = False) -> str:
        """The text ``python -m tensorwire check`` prints: a row per format (valid requests and
        probes passed out of those planned, the result); under a failed format the first failing
        valid request and what was wrong, the first failing probe and what was wrong, the other
        failing probes (by label when what was wrong is the same, else with it) and the checks
        not run; then the verdict.  ``verbose``: every check of every format, with what came
        back, in place of the failures alone."""
        width = max([len("format")] + [len(f.format.value) for f in self.formats])
        lines = [self.settings] if self.settings else []
        lines.append(f"{'format':<{width}}  {'valid':>6}  {'hostile':>7}  result")
        for f in self.formats:
            if f.skipped is not None:
                lines.append(f"{f.format.value:<{width}}  {'-':>6}  {'-':>7}  skipped: {f.skipped}")
                continue
            v, h = f.counts("valid"), f.counts("hostile")
            lines.append(f"{f.format.value:<{width}}  {f'{v[0]}/{v[1]}':>6}  {f'{h[0]}/{h[1]}':>7}  "
                         f"{'pass' if f.passed else 'FAIL'}")
            if verbose:
                for o in f.outcomes:
                    mark = {True: "ok  ", False: "FAIL", None: "--  "}[o.ok]
                    lines.append(f"    {mark} {o.kind:<7} {o.label}" + (f": {o.detail}" if o.detail else ": not run"))
                continue
            valid = [o for o in f.failures if o.kind == "valid"]
            hostile = [o for o in f.failures if o.kind == "hostile"]
            if valid:
                lines.append(f"    first failing request, {valid[0].label!r}: {valid[0].detail}")
            if hostile:
                lines.append(f"    first failing probe, {hostile[0].label!r}: {hostile[0].detail}")
                same = [o.label for o in hostile[1:] if o.detail == hostile[0].detail]
                if same:
                    lines.append(f"    the same for the probes {', '.join(map(repr, same))}")
                for o in hostile[1:]:
                    if o.detail != hostile[0].detail:
                        lines.append(f"    probe {o.label!r}: {o.detail}")
            not_run = [o.label for o in f.outcomes if o.ok is None]
            if not_run:
                lines.append(f"    not run after that: {', '.join(not_run)}")
        failed = [f.format.value for f in self.formats if f.skipped is None and not f.passed]
        if self.passed:
            lines.append("all checked formats pass")
        elif failed:
            lines.append(f"FAIL: {', '.join(failed)}")
        else:
            lines.append("FAIL: no format could be checked")
        return "\n".join(lines)
