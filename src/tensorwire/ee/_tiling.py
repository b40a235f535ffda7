"""The tile grid of an image prediction: pure geometry over numpy arrays, no I/O.

An ``(H, W)`` image is cut into tiles of ``tile = (th, tw)`` pixels (rows, columns), row-major,
the last row and column of tiles reaching past the image when ``H``/``W`` are not multiples of the
tile.  Instance ``i`` is tile ``(r, c) = divmod(i, columns)`` plus a margin of ``(mh, mw)`` pixels
of the neighbouring image on each edge: rows ``r*th - mh`` to ``(r+1)*th + mh``, so
``th + 2*mh`` by ``tw + 2*mw`` pixels.  Whatever of that window lies outside the image is ``fill``.

The model answers one block of ``out = (oh, ow)`` pixels per instance, the prediction for the tile
itself (not its margin); a block different from the tile is a scale change (``oh / th``).  Blocks
are pasted at ``(r*oh, c*ow)`` into a mosaic of ``ceil(H * oh / th)`` by ``ceil(W * ow / tw)``
pixels, the parts past that size dropped.

A tiling may also cover one piece of a larger image (``tensorwire.dask`` runs one per chunk): the
band handed to :meth:`Tiling.cut` then starts at pixel ``origin`` of the tiling's coordinates (a
negative origin: the band carries that many rows/columns of the neighbouring chunks, the margins)
and the pixels outside the band are ``fill``; ``offset`` is the grid position of the piece's first
tile in the whole image, used only to name tiles (:meth:`Tiling.label`) in error messages.

How this reading of Earth Engine's ``inputTileSize``/``inputOverlapSize`` was decided:
:mod:`tensorwire.ee.model`.  Sizes here are ``(rows, columns)``, numpy's order; the public API
takes Earth Engine's ``[x, y]`` and converts once (:func:`rows_cols`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike, NDArray

#: A size as Earth Engine writes it, ``[x, y]`` (width first), or one int for both.
SizeXY = Union[int, Sequence[int]]


def rows_cols(size: SizeXY, what: str, *, minimum: int = 1) -> tuple[int, int]:
    """``(rows, columns)`` from an Earth Engine size ``[x, y]`` (or one int for both); ValueError
    naming ``what`` for anything else or a value under ``minimum``."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        x = y = int(size)
    else:
        try:
            x, y = (int(v) for v in size)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError(f"{what}: expected [x, y] (two ints) or one int, not {size!r}") from None
    if x < minimum or y < minimum:
        raise ValueError(f"{what}: {[x, y]} has a value under {minimum}")
    return y, x


@dataclasses.dataclass(frozen=True)
class Tiling:
    """The grid over one image; see the module docstring."""

    shape: tuple[int, int]
    """``(H, W)`` of the image."""
    tile: tuple[int, int]
    """``(th, tw)``: the step between tiles, and the part of each instance that is predicted."""
    margin: tuple[int, int]
    """``(mh, mw)``: pixels of the neighbours on each edge of an instance."""
    out: tuple[int, int]
    """``(oh, ow)``: the block the model answers per instance."""
    origin: tuple[int, int] = (0, 0)
    """Where the band given to :meth:`cut` starts, in this tiling's pixels (``(-mh, -mw)``: it
    carries the margins around the piece tiled)."""
    offset: tuple[int, int] = (0, 0)
    """The ``(row, column)`` of tile 0 in the whole image's grid: only for :meth:`label`."""

    def __post_init__(self) -> None:
        if min(self.shape) < 1:
            raise ValueError(f"the image has no pixels: shape {self.shape}")
        if min(self.tile) < 1 or min(self.out) < 1 or min(self.margin) < 0:
            raise ValueError(f"tile {self.tile} and output {self.out} must be >= 1, margin {self.margin} >= 0")

    @property
    def grid(self) -> tuple[int, int]:
        """``(rows, columns)`` of tiles."""
        return math.ceil(self.shape[0] / self.tile[0]), math.ceil(self.shape[1] / self.tile[1])

    @property
    def count(self) -> int:
        rows, cols = self.grid
        return rows * cols

    @property
    def instance(self) -> tuple[int, int]:
        """``(th + 2*mh, tw + 2*mw)``: the pixels of one instance."""
        return self.tile[0] + 2 * self.margin[0], self.tile[1] + 2 * self.margin[1]

    @property
    def out_shape(self) -> tuple[int, int]:
        """``(ceil(H * oh / th), ceil(W * ow / tw))``: the mosaic, cropped to the image × scale."""
        return (-(-self.shape[0] * self.out[0] // self.tile[0]),
                -(-self.shape[1] * self.out[1] // self.tile[1]))

    def position(self, i: int) -> tuple[int, int]:
        """``(row, column)`` of instance ``i`` in the grid."""
        return divmod(i, self.grid[1])

    def label(self, i: int) -> tuple[int, int]:
        """``(row, column)`` of instance ``i`` in the whole image's grid (``position + offset``)."""
        r, c = self.position(i)
        return r + self.offset[0], c + self.offset[1]

    def cut(self, band: NDArray[Any], start: int, stop: int, dtype: DTypeLike, fill: Any = 0) -> NDArray[Any]:
        """Instances ``start:stop`` of ``band`` (``(H, W, ...)``): an array
        ``(stop - start, th + 2*mh, tw + 2*mw, ...)`` of ``dtype``, ``fill`` outside the band
        (the image, or the piece of it starting at ``origin``).  Values are converted as numpy
        assignment converts them (``input_type_override``)."""
        (oy, ox), (bh, bw) = self.origin, band.shape[:2]
        (th, tw), (mh, mw) = self.tile, self.margin
        ih, iw = self.instance
        out = np.full((stop - start, ih, iw) + band.shape[2:], fill, dtype=dtype)
        for k, i in enumerate(range(start, stop)):
            r, c = self.position(i)
            y0, x0 = r * th - mh, c * tw - mw
            ys, ye = max(oy, y0), min(oy + bh, y0 + ih)
            xs, xe = max(ox, x0), min(ox + bw, x0 + iw)
            if ys < ye and xs < xe:
                out[k, ys - y0:ye - y0, xs - x0:xe - x0] = band[ys - oy:ye - oy, xs - ox:xe - ox]
        return out

    def paste(self, mosaic: NDArray[Any], start: int, blocks: NDArray[Any]) -> None:
        """Puts ``blocks`` (``(n, oh, ow, ...)``, the answers for instances ``start:start+n``) into
        ``mosaic`` (``out_shape + (...)``), dropping what falls past its edge."""
        OH, OW = mosaic.shape[:2]
        oh, ow = self.out
        for k in range(len(blocks)):
            r, c = self.position(start + k)
            y0, x0 = r * oh, c * ow
            h, w = min(oh, OH - y0), min(ow, OW - x0)
            if h > 0 and w > 0:
                mosaic[y0:y0 + h, x0:x0 + w] = blocks[k, :h, :w]
