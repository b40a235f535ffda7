"""Read Earth Engine image exports in TFRecord format back into numpy arrays.

``Export.image.toDrive/toCloudStorage(..., fileFormat="TFRecord", formatOptions={...})`` cuts the
export region into a grid of patches and writes one ``tf.Example`` per patch:

- every band is one feature (the band name is the feature key) holding a ``float_list`` of the
  patch's pixels, row-major (height, then width);
- patches follow each other row-major over the region (left to right, then top to bottom), in
  as many TFRecord files as ``maxFileSize`` requires (``<prefix>-00000.tfrecord.gz``,
  ``-00001``, ...; gzip when ``compressed`` is true, the default);
- a sidecar ``<prefix>mixer.json`` describes the grid: ``patchDimensions`` ``[width, height]``
  of a patch in pixels, ``patchesPerRow``, ``totalPatches`` and the ``projection`` (not
  interpreted here). Patches that would not fit whole are dropped by Earth Engine, so the
  grid is full: ``totalPatches`` is a multiple of ``patchesPerRow``.

**Kernel size.** The export's ``kernelSize`` ``[kx, ky]`` (default ``[1, 1]``; the client
passes it on as ``tfRecordOptions.marginDimensions``) is not recorded in the mixer. Our reading
of the public docs ("k/2 pixels of overlap on each side"): every patch is buffered by
``kx // 2`` pixels left and right and ``ky // 2`` pixels above and below, so neighbouring patches
overlap, and a band holds ``(height + 2 * (ky // 2)) * (width + 2 * (kx // 2))`` values. For an
even k that is ``patch + k`` per axis, which is how the public Earth Engine inference notebooks
read their exports (kernelSize ``[128, 128]`` on ``[256, 256]`` patches: 384x384 values, 64
dropped per side); the default ``[1, 1]`` gives no buffer; an odd k gives ``patch + k - 1``. The
reader drops the buffer before stitching. Pass ``kernel_size`` as the export did; with ``None``
an equal margin on all sides is inferred from the value count of the first patch and then
enforced on every patch.

**Band order.** Earth Engine writes the band names as feature keys, and the order of the keys
in a record is not defined. ``bands=None`` means every feature of the first patch, in sorted
(code point) order; pass ``bands=image.bandNames().getInfo()`` (or any list) for the export's
own order or for a subset.

Every function here raises :class:`~tensorwire.DecodeError` for a bad export (with the patch
index, its file and record, and the band) and for a bad mixer.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import TYPE_CHECKING, Any, Union, cast

import numpy as np
from numpy.typing import NDArray

# The codecs used, through their public API only.  This is the one line to switch to the
# backend-chosen public names once tensorwire exposes them (for now: the reference modules).
from . import example as _example
from . import tfrecord as _tfrecord
from .errors import DecodeError

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

    from ._types import DecodedFeature, ReadCompression, ReadTarget

#: A mixer: the loaded ``*mixer.json`` dict, or the path of the file.
Mixer: TypeAlias = Union[Mapping[str, Any], str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: One TFRecord file of the export, or the export's files in order.
ExportFiles: TypeAlias = Union["ReadTarget", Iterable["ReadTarget"]]

__all__ = ["read_ee_image_export", "iter_ee_image_export", "load_mixer"]

_MIXER_KEYS = ("patchDimensions", "patchesPerRow", "totalPatches")


@dataclass(frozen=True)
class _Grid:
    width: int  # of a patch, without the margin
    height: int
    per_row: int
    total: int

    @property
    def rows(self) -> int:
        return self.total // self.per_row


def load_mixer(mixer: Mixer) -> dict[str, Any]:
    """The mixer as a dict: ``mixer`` is a dict already, or the path of a ``*mixer.json`` file."""
    if isinstance(mixer, Mapping):
        return dict(mixer)
    if isinstance(mixer, (str, bytes, os.PathLike)):
        with open(mixer, "rb") as f:
            text = f.read()
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise DecodeError(f"mixer {os.fsdecode(mixer)!r} is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise DecodeError(f"mixer {os.fsdecode(mixer)!r} is not a JSON object")
        return value
    raise TypeError(f"mixer must be a dict or a path to a mixer.json file, not {type(mixer).__name__}")


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise DecodeError(f"mixer: {what} must be a positive integer, got {value!r}")
    return int(value)


def _grid(mixer: Mixer) -> _Grid:
    m = load_mixer(mixer)
    missing = [k for k in _MIXER_KEYS if k not in m]
    if missing:
        raise DecodeError(f"mixer: missing {', '.join(missing)}")
    dims = m["patchDimensions"]
    if not isinstance(dims, (list, tuple)) or len(dims) != 2:
        raise DecodeError(f"mixer: patchDimensions must be [width, height], got {dims!r}")
    width = _positive_int(dims[0], "patchDimensions[0] (width)")
    height = _positive_int(dims[1], "patchDimensions[1] (height)")
    per_row = _positive_int(m["patchesPerRow"], "patchesPerRow")
    total = _positive_int(m["totalPatches"], "totalPatches")
    if total % per_row:
        raise DecodeError(f"mixer: totalPatches ({total}) is not a multiple of patchesPerRow ({per_row})")
    return _Grid(width, height, per_row, total)


def _margins(kernel_size: Any) -> tuple[int, int]:
    """``kernel_size`` -> (pixels dropped above/below, pixels dropped left/right)."""
    kx: Any
    ky: Any
    if not isinstance(kernel_size, bool) and isinstance(kernel_size, Integral):
        kx = ky = kernel_size
    else:
        try:
            kx, ky = cast(Any, kernel_size)  # a bool is unpacked too: it raises the TypeError below
        except (TypeError, ValueError):
            raise TypeError(f"kernel_size must be an int or [kx, ky], got {kernel_size!r}") from None
    for k in (kx, ky):
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
            raise ValueError(f"kernel_size values must be positive integers, got {kernel_size!r}")
    return int(ky) // 2, int(kx) // 2


def _infer_margin(count: int, grid: _Grid) -> int | None:
    """The margin m >= 0 with (height + 2m) * (width + 2m) == count, or None."""
    # 4m^2 + 2(h + w)m + hw - count = 0  =>  m = (sqrt((h - w)^2 + 4 count) - (h + w)) / 4
    h, w = grid.height, grid.width
    m, rest = divmod(math.isqrt((h - w) ** 2 + 4 * count) - (h + w), 4)
    if m >= 0 and not rest and (h + 2 * m) * (w + 2 * m) == count:
        return m
    return None


def _band_names(bands: Iterable[str] | None) -> list[str] | None:
    if bands is None:
        return None
    if isinstance(bands, (str, bytes)):
        raise TypeError("bands must be a list of band names, not a single string")
    names = list(bands)
    if not names:
        raise ValueError("bands must name at least one band")
    if len(set(names)) != len(names):
        raise ValueError(f"bands has duplicate names: {names!r}")
    return names


def _as_files(files: ExportFiles) -> list[ReadTarget]:
    if isinstance(files, (str, bytes, os.PathLike)) or hasattr(files, "read"):
        return [cast("ReadTarget", files)]
    files = list(files)
    if not files:
        raise ValueError("files: no TFRecord files given")
    return files


def _file_name(f: ReadTarget) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return os.fsdecode(f)
    return getattr(f, "name", repr(f))


def _records(files: list[ReadTarget], compression: ReadCompression, verify: bool) -> Iterator[tuple[str, int, bytes]]:
    """(file name, record number in the file, record bytes) for every record of every file."""
    for f in files:
        name = _file_name(f)
        reader = iter(_tfrecord.read_tfrecord(f, compression=compression, verify=verify))
        number = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except DecodeError as exc:
                raise DecodeError(f"{name}: {exc}") from exc
            yield name, number, record
            number += 1


def _feature_description(value: DecodedFeature) -> str:
    if value is None:
        return "a feature with no list set"
    if isinstance(value, np.ndarray):
        return "an int64_list" if value.dtype.kind in "iub" else f"a {value.dtype} array"
    return "a bytes_list"


def iter_ee_image_export(
    files: ExportFiles, mixer: Mixer, *, bands: Iterable[str] | None = None,
    kernel_size: int | Sequence[int] | None = None, compression: ReadCompression = "auto", verify: bool = True,
) -> Iterator[tuple[int, int, dict[str, NDArray[np.float32]]]]:
    """Yield the patches of an Earth Engine TFRecord image export one at a time.

    Args:
        files: one TFRecord file (path or binary file object) or a list of them, in the export's
            order (Earth Engine numbers them ``-00000``, ``-00001``, ...: ``sorted(glob(...))``).
            Gzip is detected (``compression="auto"``); pass ``compression`` to force one.
        mixer: the export's ``*mixer.json``, as a path or as the loaded dict.
        bands: the band names to return, in this order; ``None``: every feature of the first
            patch, sorted by name.  Features not asked for are ignored.
        kernel_size: the export's ``kernelSize``, an int or ``[kx, ky]``: each patch carries
            ``ky // 2`` extra rows above and below and ``kx // 2`` extra columns left and right,
            which are dropped.  ``None``: infer an equal margin on all sides from the first
            patch (``1`` means no margin, as Earth Engine's default ``[1, 1]``).
        verify: check each record's data CRC (lengths are always checked).

    Yields:
        ``(row, col, {band: ndarray})`` per patch, row-major over the grid; each array is
        float32 of shape ``(height, width)`` = the mixer's ``patchDimensions`` reversed, a view
        of the decoded patch with the margin dropped.  The patch at ``(row, col)`` covers rows
        ``row * height ...`` and columns ``col * width ...`` of the region.

    Raises:
        DecodeError: a corrupt file or record; a patch without one of the bands, with a band
            that is not a float_list or has the wrong number of values (naming the patch index,
            file, record and band); more patches than ``totalPatches`` (when the extra patch is
            reached) or fewer (after the last patch was yielded); a bad mixer.
    """
    grid = _grid(mixer)
    names = _band_names(bands)
    margin = None if kernel_size is None else _margins(kernel_size)
    index = 0
    for name, number, record in _records(_as_files(files), compression, verify):
        where = f"patch {index} ({name}, record {number})"
        if index >= grid.total:
            raise DecodeError(f"{where}: more patches than the mixer's totalPatches ({grid.total})")
        try:
            features = _example.decode_example(record)
        except DecodeError as exc:
            raise DecodeError(f"{where}: {exc}") from exc
        if names is None:
            if not features:
                raise DecodeError(f"{where}: the patch has no features (bands)")
            names = sorted(features)
        if margin is None:
            count = _band_values(features, names[0], where).size
            m = _infer_margin(count, grid)
            if m is None:
                raise DecodeError(
                    f"{where}: band {names[0]!r} has {count} values, which is no {grid.height}x{grid.width} "
                    "patch (patchDimensions) with an equal margin on every side; pass the export's kernel_size")
            margin = (m, m)
        patch = {}
        for band in names:
            patch[band] = _crop(features, band, grid, margin, where)
        yield divmod(index, grid.per_row) + (patch,)
        index += 1
    if index < grid.total:
        raise DecodeError(f"the export has {index} patches, the mixer's totalPatches is {grid.total}")


def _band_values(features: Mapping[str, DecodedFeature], band: str, where: str) -> NDArray[np.float32]:
    try:
        values = features[band]
    except KeyError:
        raise DecodeError(f"{where}: band {band!r} is missing") from None
    if not (isinstance(values, np.ndarray) and values.dtype == np.float32):
        raise DecodeError(f"{where}: band {band!r} is {_feature_description(values)}, expected a float_list")
    return cast("NDArray[np.float32]", values)


def _crop(features: Mapping[str, DecodedFeature], band: str, grid: _Grid, margin: tuple[int, int],
          where: str) -> NDArray[np.float32]:
    values = _band_values(features, band, where)
    my, mx = margin
    rows, cols = grid.height + 2 * my, grid.width + 2 * mx
    if values.size != rows * cols:
        raise DecodeError(
            f"{where}: band {band!r} has {values.size} values, expected {rows}x{cols} = {rows * cols} "
            f"(patch {grid.height}x{grid.width} plus a margin of {my} rows and {mx} columns per side)")
    return values.reshape(rows, cols)[my : my + grid.height, mx : mx + grid.width]


def read_ee_image_export(
    files: ExportFiles, mixer: Mixer, *, bands: Iterable[str] | None = None,
    kernel_size: int | Sequence[int] | None = None, compression: ReadCompression = "auto", verify: bool = True,
) -> NDArray[np.float32]:
    """Read a whole Earth Engine TFRecord image export into one ``(H, W, n_bands)`` float32 array.

    ``H = (totalPatches / patchesPerRow) * height`` and ``W = patchesPerRow * width`` for the
    mixer's ``patchDimensions`` ``[width, height]``; ``[..., i]`` is band ``bands[i]`` (by
    default the sorted feature names of the first patch).  Patch margins (``kernel_size``) are
    dropped, so every pixel of the region comes from exactly one patch.  Arguments and errors
    are those of :func:`iter_ee_image_export`, which reads one patch at a time for exports that
    do not fit in memory; here nothing is returned unless the whole export is valid.
    """
    mixer = load_mixer(mixer)  # read a mixer file once
    grid = _grid(mixer)
    out = None
    h, w = grid.height, grid.width
    for row, col, patch in iter_ee_image_export(
        files, mixer, bands=bands, kernel_size=kernel_size, compression=compression, verify=verify
    ):
        if out is None:
            out = np.empty((grid.rows * h, grid.per_row * w, len(patch)), dtype=np.float32)
        tile = out[row * h : (row + 1) * h, col * w : (col + 1) * w]
        for i, values in enumerate(patch.values()):
            tile[:, :, i] = values
    assert out is not None  # an export without patches raised in iter_ee_image_export
    return out
