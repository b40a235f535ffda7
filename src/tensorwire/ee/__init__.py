"""Earth Engine's side of the conversation with a hosted model.

``tensorwire.ee`` is kept apart from the codecs: the core (``import tensorwire``) never imports it.
It gathers what Earth Engine does around the payload formats:

- calling a hosted model the way ``ee.Model.fromVertexAi(...).predictImage`` / ``predictProperties``
  do: tiles with overlap, requests cut at ``maxPayloadBytes``, answers checked and stitched
  (:class:`Model`, docs/ee-model.md);
- reading an image exported as TFRecord (``read_ee_image_export``, ``iter_ee_image_export``,
  ``load_mixer``; also importable from ``tensorwire.ee_export`` where they have always lived),
  ``read_ee_image_bands`` (one array per band, in its own dtype), and finding an export's files
  (``files_for_prefix``, ``mixer_for_prefix``);
- writing an image as the TFRecord patches + mixer Earth Engine ingests (``write_image``,
  ``tensorwire.ee.image_write``).
"""

from __future__ import annotations

from ..ee_export import (
    files_for_prefix,
    iter_ee_image_export,
    load_mixer,
    mixer_for_prefix,
    read_ee_image_bands,
    read_ee_image_export,
)
from .image_write import PROJECTION_PLACEHOLDER, WrittenImage, write_image
from .model import Model

__all__ = [
    "Model",
    "iter_ee_image_export",
    "load_mixer",
    "read_ee_image_export",
    "read_ee_image_bands",
    "files_for_prefix",
    "mixer_for_prefix",
    "write_image",
    "WrittenImage",
    "PROJECTION_PLACEHOLDER",
]
