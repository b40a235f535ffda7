"""The valid requests of a check: images cut, sent and checked the way :class:`tensorwire.ee.Model`
does it (so the way Earth Engine does, as docs/ee-model.md reads it), plus a check for NaN.

Each case is one synthetic image predicted through :class:`~tensorwire.ee.Model`'s own tiling,
request splitting and answer checks (:class:`tensorwire.ee._answers.Checker`): bands travel per
instance as ``(h, w, 1)`` (an array band ``(h, w, k)``), properties are replicated into every
instance, requests are cut at ``max_payload_bytes``; every answer must hold one prediction per
instance, every declared output band, the output tile shape plus the declared dimensions, and
values that convert to the declared dtype.  The mosaic is not built: the values of an unknown
model cannot be checked, only their form.

Decisions:

* Pixel values: floats uniform in [0, 1), integers uniform in [0, 100), from a seeded generator
  (the same requests every run).
* **NaN**: a float output holding NaN fails unless ``allow_nan``.  The inputs hold no NaN and no
  masked pixels, so Earth Engine would store such a NaN as a pixel value; a model that means to
  answer NaN says so with ``allow_nan``.  Infinities are not refused (Earth Engine stores them).
* The large case holds as many tiles as ``max_payload_bytes`` fits in one request, plus one
  more, so that a full request and a second one are sent; at most ``max_tiles`` (a guard against
  a large limit with small tiles).  The count is estimated from two encodings of random
  instances (the way the Client sizes its runs); the Client then cuts the real requests.
* The images are not multiples of the tile (half a tile short on each axis when the tile is
  larger than one pixel), so edge instances carry ``fill`` (0) as Earth Engine's do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..ee._answers import Checker, Output
from ..ee._tiling import Tiling
from ..ee.model import Model, replicated
from ..errors import PredictionError
from ..payload import PayloadFormat, encode_request

#: A band: ``(dtype, k)``; ``k`` None for a scalar band (sent as ``(h, w, 1)``), else ``(h, w, k)``.
BandSpec = tuple[np.dtype[Any], "int | None"]


class NanChecker(Checker):
    """Earth Engine's checks (:class:`Checker`) and, unless ``allow_nan``, no NaN in float outputs."""

    def __init__(self, declared: list[Output], block: tuple[int, ...], fmt: PayloadFormat, allow_nan: bool) -> None:
        super().__init__(declared, block, fmt)
        self.allow_nan = allow_nan

    def _one(self, out: Output, a: NDArray[Any], where: str) -> NDArray[Any]:
        checked = super()._one(out, a, where)
        if not self.allow_nan and checked.dtype.kind == "f" and checked.size:
            per_instance = np.isnan(checked.reshape(len(checked), -1)).any(axis=1)
            if per_instance.any():
                k = int(np.argmax(per_instance))
                raise PredictionError(f"{where}: output {out.name!r} holds NaN (first in instance {k} of the "
                                      "request; allow_nan / --allow-nan if the model means it)")
        return checked


def image(bands: Mapping[str, BandSpec], shape: tuple[int, int], seed: int) -> dict[str, NDArray[Any]]:
    """``{band: (H, W) or (H, W, k) array}`` of random values in each band's dtype."""
    rng = np.random.default_rng(seed)
    out: dict[str, NDArray[Any]] = {}
    for name, (dtype, k) in bands.items():
        full = shape if k is None else shape + (k,)
        if dtype.kind == "f":
            out[name] = rng.random(full).astype(dtype)
        else:
            out[name] = rng.integers(0, 100, full).astype(dtype)
    return out


def grid_shape(tiles: int, tile: tuple[int, int]) -> tuple[tuple[int, int], int]:
    """``((H, W), count)``: an image of ``count >= tiles`` tiles, nearly square in tiles, each
    axis half a tile short of a multiple of the tile (when the tile is over one pixel on that
    axis)."""
    cols = math.ceil(math.sqrt(tiles))
    rows = math.ceil(tiles / cols)
    return (rows * tile[0] - tile[0] // 2, cols * tile[1] - tile[1] // 2), rows * cols


class Case:
    """One image sent through ``model``; :meth:`run` gives ``(requests, instances)``.

    The steps are :meth:`Model.predict_image`'s own (``_bands``, ``_properties``,
    ``_check_names``, the tiling's ``cut``, ``_run`` with its batcher and error wording), called
    here so that the checker can be :class:`NanChecker` and no mosaic is built: the requests are
    the ones ``predict_image`` makes, byte for byte."""

    def __init__(self, model: Model, bands: Mapping[str, BandSpec], properties: Mapping[str, Any],
                 allow_nan: bool) -> None:
        assert model.tile is not None and model.output_bands is not None
        self.model = model
        self.tile = model.tile
        self.bands = bands
        self.properties = properties
        self.allow_nan = allow_nan
        self.output_bands: list[Output] = model.output_bands

    def _columns(self, arrays: Mapping[str, NDArray[Any]], tiling: Tiling) -> Callable[[int, int], dict[str, Any]]:
        m = self.model
        props = m._properties(self.properties)
        m._check_names(list(arrays) + list(props))
        dtypes = {name: m.input_type_override.get(name, a.dtype) for name, a in arrays.items()}

        def columns(start: int, stop: int) -> dict[str, Any]:
            cols: dict[str, Any] = {name: tiling.cut(a, start, stop, dtypes[name], m.fill)
                                    for name, a in arrays.items()}
            cols.update(replicated(props, stop - start))
            return cols

        return columns

    def _tiling(self, shape: tuple[int, int]) -> Tiling:
        m = self.model
        return Tiling(shape, self.tile, m.margin, m.out_tile or self.tile)

    def tiles_that_fit(self, seed: int) -> int:
        """About how many instances one request of at most ``max_payload_bytes`` holds (0: not
        even one), from the encodings of one and of two random instances."""
        shape = (self.tile[0], 2 * self.tile[1])
        arrays = self.model._bands(image(self.bands, shape, seed))
        columns = self._columns(arrays, self._tiling(shape))
        one, two = (len(self._encode(columns(0, n))) for n in (1, 2))
        per, limit = max(1, two - one), self.model.batcher.max_payload_bytes
        envelope = max(0, one - per)
        return max(0, (limit - envelope) // per)

    def _encode(self, cols: dict[str, Any]) -> bytes:
        m = self.model
        data = next(iter(cols.values())) if m.format is PayloadFormat.ND_ARRAYS else cols
        body: bytes = encode_request(data, m.format, **m.client.request_options)
        return body

    def run(self, shape: tuple[int, int], seed: int) -> tuple[int, int]:
        """Sends an image of ``shape`` pixels; ``(requests, instances)`` when every answer passed.
        Raises PredictionError (a failed check or an error answer, naming the tiles of the
        request) or the ValueError / TypeError of a request that cannot be made."""
        m = self.model
        arrays = m._bands(image(self.bands, shape, seed))
        tiling = self._tiling(shape)
        columns = self._columns(arrays, tiling)

        def where(start: int, stop: int) -> str:
            first, last = tiling.position(start), tiling.position(stop - 1)
            return f"tile {first}" if stop - start == 1 else f"tiles {first} to {last} (row, column)"

        checker = NanChecker(self.output_bands, tiling.out, m.format, self.allow_nan)
        requests = 0
        for _start, _answer in m._run(tiling.count, columns, where, checker, False, "tile"):
            requests += 1
        return requests, tiling.count
