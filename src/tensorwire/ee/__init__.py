"""Earth Engine's side of the conversation with a hosted model.

``tensorwire.ee`` is kept apart from the codecs: the core (``import tensorwire``) never imports it.
It gathers what Earth Engine does around the payload formats:

- calling a hosted model the way ``ee.Model.fromVertexAi(...).predictImage`` / ``predictProperties``
  do: tiles with overlap, requests cut at ``maxPayloadBytes``, answers checked and stitched
  (:class:`Model`, docs/ee-model.md);
- reading an image exported as TFRecord (``read_ee_image_export``, ``iter_ee_image_export``,
  ``load_mixer``; also importable from ``tensorwire.ee_export`` where they have always lived).
"""

from __future__ import annotations

from ..ee_export import iter_ee_image_export, load_mixer, read_ee_image_export
from .model import Model

__all__ = [
    "Model",
    "iter_ee_image_export",
    "load_mixer",
    "read_ee_image_export",
]
