"""Earth Engine's side of the conversation with a hosted model.

``tensorwire.ee`` is kept apart from the codecs: the core (``import tensorwire``) never imports it.
It gathers what Earth Engine does around the payload formats:

- reading an image exported as TFRecord (``read_ee_image_export``, ``iter_ee_image_export``,
  ``load_mixer``; also importable from ``tensorwire.ee_export`` where they have always lived).
"""

from __future__ import annotations

from ..ee_export import iter_ee_image_export, load_mixer, read_ee_image_export

__all__ = [
    "iter_ee_image_export",
    "load_mixer",
    "read_ee_image_export",
]
