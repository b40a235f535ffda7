"""Writing Dask arrays as the TFRecord patches + mixer Earth Engine ingests, in parallel.

:func:`write_ee_image` writes what :func:`tensorwire.ee.write_image` writes (the same patches,
records and mixer; :mod:`tensorwire.ee.image_write` has the layout and the dtype rules), without
gathering the image on one machine:

* the image is cut into **strips** of whole patch rows across the whole width (Earth Engine's
  patches follow each other row-major, so only a full-width strip is a run of consecutive
  records); ``patch_rows_per_file`` patch rows per strip, by default the arrays' first row
  chunk rounded to whole patches;
* each strip is one task, which writes one file, ``<prefix>-NNNNN.tfrecord[.gz]`` numbered by
  strip, with :mod:`tensorwire.ee.image_write`'s own patch and dtype code: the records are
  byte for byte those ``write_image`` writes, cut into files by strip instead of by
  ``max_file_bytes`` (which is not taken: the strip is the unit);
* the mixer is written last, by a task that runs after every strip's file was written: an
  image without its mixer is an incomplete one (a failed compute leaves the strips written so
  far and no mixer).

The tasks write where they run: on a cluster, ``path_prefix`` must be a path every worker sees
(a shared filesystem); tensorwire writes with ``open()``, so ``gs://`` URLs are not taken.
Dtypes are checked, and the fill too when the image needs padding, before anything is written;
a float64 band's values (which must each be exactly a float32) are checked by the strip tasks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import example as _example
from .. import tfrecord as _tfrecord
from ..ee.image_write import (
    PROJECTION_PLACEHOLDER,
    WriteCompression,
    WrittenImage,
    checked_bands,
    checked_layout,
    check_fill,
    existing_files,
    patch_values,
    shard_name,
)

if TYPE_CHECKING:
    from dask.delayed import Delayed


def _write_strip(names: list[str], path: str, patch: tuple[int, int], per_row: int, fill: float, gzip: bool,
                 *blocks: NDArray[Any]) -> int:
    """Writes one strip's patches to ``path``; returns how many."""
    width, height = patch
    bands, (h, _) = checked_bands(dict(zip(names, blocks)))
    rows = -(-h // height)
    with _tfrecord.TFRecordWriter(path, compression="gzip" if gzip else None) as writer:
        for row in range(rows):
            for col in range(per_row):
                cut = slice(row * height, (row + 1) * height), slice(col * width, (col + 1) * width)
                features = {name: patch_values(a, cut[0], cut[1], (height, width), fill) for name, a in bands.items()}
                writer.write(_example.encode_example(features))
    return rows * per_row


def _write_mixer(path: str, mixer: dict[str, Any], files: list[str], shape: tuple[int, int],
                 padded: tuple[int, int], fill: float, *counts: int) -> WrittenImage:
    assert sum(counts) == mixer["totalPatches"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(mixer, f, indent=2)
        f.write("\n")
    return WrittenImage(files, path, mixer, shape, padded, fill)


def write_ee_image(image_bands: Mapping[str, Any], path_prefix: str | os.PathLike[str], *,
                   patch_dimensions: tuple[int, int] = (256, 256), compression: WriteCompression = "gzip",
                   projection: Mapping[str, Any] | None = None, fill: float = 0, overwrite: bool = False,
                   patch_rows_per_file: int | None = None, compute: bool = True) -> WrittenImage | Delayed:
    """Writes ``{band: (H, W) Dask array}`` (or anything ``dask.array.asarray`` takes) as Earth
    Engine TFRecord patches plus the mixer, one file per strip of ``patch_rows_per_file`` patch
    rows, the strips in parallel (module docstring).  Arguments as
    :func:`tensorwire.ee.write_image`'s, less ``max_file_bytes``.

    Returns the :class:`tensorwire.ee.WrittenImage`, or with ``compute=False`` a
    ``dask.delayed`` object that writes everything when computed and gives it.
    """
    import dask.array as da
    from dask.delayed import delayed

    if not isinstance(image_bands, Mapping) or not image_bands:
        raise ValueError("image_bands must be a non-empty {band name: (height, width) array} mapping")
    arrays = {name: da.asarray(a) for name, a in image_bands.items()}
    first = next(iter(arrays.values()))
    for name, a in arrays.items():
        if a.ndim != 2:
            raise ValueError(f"band {name!r}: expected a (height, width) array, got shape {a.shape}")
        if a.shape != first.shape:
            raise ValueError(f"band {name!r} has shape {a.shape}, band {next(iter(arrays))!r} {first.shape}")
    shape = (int(first.shape[0]), int(first.shape[1]))
    if min(shape) < 1:
        raise ValueError(f"the bands are empty (shape {shape})")
    samples, _ = checked_bands({name: np.zeros((1, 1), a.dtype) for name, a in arrays.items()})  # dtype checks
    width, height, gzip = checked_layout(patch_dimensions, compression)
    if projection is not None and not isinstance(projection, Mapping):
        raise TypeError(f"projection must be a mapping (a mixer's projection), got {type(projection).__name__}")
    per_row, n_rows = -(-shape[1] // width), -(-shape[0] // height)
    padded = (n_rows * height, per_row * width)
    if padded != shape:
        check_fill(fill, samples)
    if patch_rows_per_file is None:
        patch_rows_per_file = max(1, round(first.chunks[0][0] / height))
    if isinstance(patch_rows_per_file, bool) or not isinstance(patch_rows_per_file, int) or patch_rows_per_file < 1:
        raise ValueError(f"patch_rows_per_file must be a positive int, got {patch_rows_per_file!r}")
    prefix = os.fspath(path_prefix)
    existing = existing_files(prefix)
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]!r} exists (an earlier image with prefix {prefix!r}); pass overwrite=True")
    for path in existing:
        os.remove(path)

    strip = patch_rows_per_file * height
    chunks = (tuple(min(strip, shape[0] - s) for s in range(0, shape[0], strip)), (shape[1],))
    names = list(arrays)
    pieces = [arrays[n].rechunk(chunks).to_delayed() for n in names]  # (strips, 1) Delayed each
    files = [shard_name(prefix, k, gzip) for k in range(len(chunks[0]))]
    counts = [delayed(_write_strip, pure=False)(names, files[k], (width, height), per_row, fill, gzip,
                                                *[p[k, 0] for p in pieces]) for k in range(len(files))]
    mixer = {
        "projection": dict(projection) if projection is not None else PROJECTION_PLACEHOLDER,
        "patchDimensions": [width, height],
        "patchesPerRow": per_row,
        "totalPatches": per_row * n_rows,
    }
    done: Delayed = delayed(_write_mixer, pure=False)(prefix + "-mixer.json", mixer, files, shape, padded, fill,
                                                      *counts)
    if not compute:
        return done
    written: WrittenImage = done.compute()
    return written
