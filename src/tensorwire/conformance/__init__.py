"""Conformance of a model endpoint to what Earth Engine expects of it, per payload format:
:func:`check_endpoint` (``python -m tensorwire check``; docs/check.md).

It sends the requests Earth Engine would send (through :class:`tensorwire.ee.Model`'s tiling and
request cutting), checks the answers as Earth Engine would, probes the endpoint with a few
hostile bodies, and returns a :class:`Report`.  Needs the client stack (``pip install
"tensorwire[ee]"``).  Like :mod:`tensorwire.ee`, it is not imported by ``import tensorwire``.
"""

from __future__ import annotations

from ._report import FormatReport, Outcome, Report
from .endpoint import EE_FORMATS, BandInput, check_endpoint

__all__ = ["check_endpoint", "Report", "FormatReport", "Outcome", "BandInput", "EE_FORMATS"]
