"""Write an image as the TFRecord patches + mixer JSON that Earth Engine ingests.

``write_image(bands, "out/pred")`` lays an image out the way an Earth Engine TFRecord image
export lays one out (docs/ee-exports.md), so that ``earthengine upload image`` can take the
files back, and :func:`tensorwire.ee.read_ee_image_export` reads exactly what was written:

- the image is cut into a grid of ``patch_dimensions`` ``(width, height)`` patches, row-major
  (left to right, then top to bottom), without margins (an export's ``kernelSize`` of 1);
- one tf.Example per patch, one feature per band keyed by the band name, the patch's pixels
  row-major; the feature kind follows the band's dtype (below);
- the records go to ``<prefix>-00000.tfrecord.gz``, ``-00001``, ... (``.tfrecord`` without
  compression), a new file whenever the next record would take the current one past
  ``max_file_bytes``;
- ``<prefix>-mixer.json`` holds ``patchDimensions`` ``[width, height]``, ``patchesPerRow``,
  ``totalPatches`` and ``projection``.

**Dtypes.** float32 (and float16, exact in float32) bands become ``float_list``; float64 bands
too when every value is exactly a float32 (``ValueError`` otherwise: cast explicitly). uint8 and
int8 bands become one raw ``bytes_list`` value per patch (one byte per pixel, row-major); the
other integer dtypes up to int64 become ``int64_list``.  This is the layout issue 13 reports for
Earth Engine's own exports of integer bands; Earth Engine's TFRecord guide says instead that
every exported number is coerced to float, and neither statement was checked against a real
export here (docs/ee-exports.md).  To write what the guide describes, cast the bands to float32
first.  bool, uint64, complex and other dtypes: ``TypeError``.

**Sizes not divisible by the patch.** Earth Engine's grids are full (``totalPatches`` is
``patchesPerRow`` times the rows).  An image whose height or width is not a multiple of the
patch's is padded at the bottom and on the right up to whole patches with ``fill`` (default 0),
which must be exactly representable in every band's dtype.  The mixer has no field for the
true size, so the padding is data to Earth Engine: upload with ``--nodata_value`` equal to
``fill``, or clip the asset to the region.  :class:`WrittenImage` says what was padded.

**Projection.** The mixer's ``projection`` is copied from ``projection=`` (for predictions made
on an export, the export mixer's own: ``load_mixer(path)["projection"]``, valid when the
predicted image has the export's grid).  Without it, :data:`PROJECTION_PLACEHOLDER` is written:
a value Earth Engine cannot take, to be replaced by hand before uploading.

**File size.** ``max_file_bytes`` bounds the uncompressed TFRecord bytes of each file (records
with their 16 framing bytes); a gzip file is then smaller, except for incompressible data, which
gzip may grow by a few bytes per 16 KiB.  A single patch larger than ``max_file_bytes`` is a
``ValueError``, raised when that patch is reached (files written until then stay).

The codecs are the project's own (``tensorwire.example``, ``tensorwire.tfrecord``); pixels are
handled per patch with numpy slicing, never one by one in Python.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import example as _example
from .. import tfrecord as _tfrecord
from ..ee_export import shard_paths

if TYPE_CHECKING:
    from typing_extensions import TypeAlias

__all__ = ["write_image", "WrittenImage", "PROJECTION_PLACEHOLDER", "DEFAULT_MAX_FILE_BYTES"]

#: Written as the mixer's ``projection`` when none is given: replace it before uploading.
PROJECTION_PLACEHOLDER: dict[str, Any] = {
    "crs": "FILL IN: the image's CRS, e.g. EPSG:32610",
    "affine": {"doubleMatrix": "FILL IN: [xScale, xShearing, xTranslation, yShearing, yScale, yTranslation]"},
}
#: ``max_file_bytes`` by default (tensorwire's choice, not a documented Earth Engine default).
DEFAULT_MAX_FILE_BYTES = 1_000_000_000

_FRAMING = 16  # a TFRecord's bytes besides its data: length (8) + its CRC (4) + data CRC (4)
_RAW = frozenset(np.dtype(t) for t in (np.uint8, np.int8))
_INT64_LIST = frozenset(np.dtype(t) for t in (np.int16, np.uint16, np.int32, np.uint32, np.int64))
_FLOAT_LIST = frozenset(np.dtype(t) for t in (np.float16, np.float32, np.float64))

ImageBands: TypeAlias = Mapping[str, ArrayLike]
WriteCompression: TypeAlias = Union[Literal["gzip", "GZIP", ""], None]


@dataclass(frozen=True)
class WrittenImage:
    """What :func:`write_image` wrote."""

    files: list[str]  #: the TFRecord files, in order
    mixer_path: str
    mixer: dict[str, Any] = field(repr=False)
    shape: tuple[int, int]  #: (height, width) of the image given
    padded_shape: tuple[int, int]  #: (height, width) of the grid written: whole patches
    fill: float  #: the value of the padding (when padded_shape != shape)


def checked_bands(image_bands: ImageBands) -> tuple[dict[str, NDArray[Any]], tuple[int, int]]:
    if not isinstance(image_bands, Mapping) or not image_bands:
        raise ValueError("image_bands must be a non-empty {band name: (height, width) array} mapping")
    bands: dict[str, NDArray[Any]] = {}
    shape: tuple[int, int] | None = None
    for name, values in image_bands.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"band names must be non-empty strings, got {name!r}")
        array = np.asarray(values)
        if array.ndim != 2:
            raise ValueError(f"band {name!r}: expected a (height, width) array, got shape {array.shape}")
        if min(array.shape) < 1:
            raise ValueError(f"band {name!r} is empty (shape {array.shape})")
        if shape is None:
            shape = (int(array.shape[0]), int(array.shape[1]))
        elif array.shape != shape:
            raise ValueError(f"band {name!r} has shape {array.shape}, band {next(iter(bands))!r} {shape}")
        if not array.dtype.isnative:  # e.g. a big-endian .npy: the same values in this machine's order
            array = array.astype(array.dtype.newbyteorder("="))
        dtype = array.dtype
        if dtype not in _RAW | _INT64_LIST | _FLOAT_LIST:
            raise TypeError(f"band {name!r}: dtype {dtype} cannot be written (float16/32/64, (u)int8/16/32 "
                            "or int64); cast it explicitly")
        if dtype == np.float64:
            narrow = array.astype(np.float32)
            exact = (narrow == array) | np.isnan(array)
            if not exact.all():
                where = np.unravel_index(int(np.argmin(exact)), array.shape)
                raise ValueError(f"band {name!r} is float64 and its value {array[where].item()!r} at (row, col) "
                                 f"{tuple(int(i) for i in where)} is not exactly a float32 (a float_list holds "
                                 "float32): cast the band to float32 explicitly")
            array = narrow
        bands[name] = array
    assert shape is not None
    return bands, shape


def check_fill(fill: float, bands: Mapping[str, NDArray[Any]]) -> None:
    for name, array in bands.items():
        with np.errstate(invalid="ignore", over="ignore"):
            as_band = np.array(fill).astype(array.dtype)
            same = as_band == fill or (array.dtype.kind == "f" and np.isnan(fill) and np.isnan(as_band))
        if not same:
            raise ValueError(f"fill {fill!r} is not exactly a {array.dtype} value (band {name!r}); "
                             "the image needs padding to whole patches, so pass a fill every band can hold")


def shard_name(prefix: str, number: int, gzip: bool) -> str:
    return f"{prefix}-{number:05d}.tfrecord{'.gz' if gzip else ''}"


def existing_files(prefix: str) -> list[str]:
    """An earlier image's files under this prefix: shards in either naming (whatever their
    numbers) and mixers; never another prefix's (``x`` does not take ``xy-00000.tfrecord``)."""
    shards = [path for _, path in shard_paths(prefix)]
    return shards + [p for p in (prefix + "-mixer.json", prefix + "mixer.json") if os.path.exists(p)]


def patch_values(array: NDArray[Any], rows: slice, cols: slice, shape: tuple[int, int], fill: float) -> Any:
    """One band of one patch as the tf.Example value: an array (float/int64 list) or raw bytes."""
    window = array[rows, cols]
    if window.shape != shape:  # an edge patch: padded with fill to the whole patch
        padded = np.full(shape, fill, dtype=array.dtype)
        padded[: window.shape[0], : window.shape[1]] = window
        window = padded
    if array.dtype in _RAW:
        return window.tobytes()  # C order: row-major; one byte per pixel (no byte order)
    return window


def checked_layout(patch_dimensions: Any, compression: Any) -> tuple[int, int, bool]:
    """``(width, height, gzip)`` from ``patch_dimensions`` (positive ``(width, height)``) and
    ``compression`` (``"gzip"`` or None); TypeError or ValueError naming the argument."""
    try:
        width, height = (int(d) for d in patch_dimensions)
    except (TypeError, ValueError):
        raise TypeError(f"patch_dimensions must be (width, height), got {patch_dimensions!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"patch_dimensions must be positive, got {patch_dimensions!r}")
    if compression not in ("gzip", "GZIP", "", None):
        raise ValueError(f"compression must be 'gzip' or None, got {compression!r}")
    return width, height, bool(compression)


def write_image(
    image_bands: ImageBands, path_prefix: str | os.PathLike[str], *,
    patch_dimensions: tuple[int, int] = (256, 256), compression: WriteCompression = "gzip",
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, projection: Mapping[str, Any] | None = None,
    fill: float = 0, overwrite: bool = False,
) -> WrittenImage:
    """Write ``{band: (height, width) array}`` as Earth Engine TFRecord patches plus the mixer JSON.

    Args:
        image_bands: the bands, all of one ``(height, width)`` shape; each band's dtype chooses
            its feature kind (module doc).  A record's keys are sorted (protobuf's deterministic
            order), so the band order given here is not kept: read back with ``bands=``.
        path_prefix: ``<path_prefix>-00000.tfrecord.gz``, ... and ``<path_prefix>-mixer.json``
            are written; the directory must exist.
        patch_dimensions: ``(width, height)`` of a patch in pixels, Earth Engine's order.
        compression: ``"gzip"`` (Earth Engine's default for exports) or ``None``/``""``.
        max_file_bytes: the most uncompressed bytes of one TFRecord file (module doc).
        projection: the mixer's ``projection``; ``None`` writes :data:`PROJECTION_PLACEHOLDER`.
        fill: the value of the padding up to whole patches (only checked when padding is needed).
        overwrite: replace an earlier image with this prefix (its shards in either naming and
            its mixer are deleted first); otherwise their presence is a ``FileExistsError``.

    Returns:
        A :class:`WrittenImage`: the files, the mixer and the sizes before and after padding.
    """
    bands, shape = checked_bands(image_bands)
    width, height, gzip = checked_layout(patch_dimensions, compression)
    if isinstance(max_file_bytes, bool) or not isinstance(max_file_bytes, int) or max_file_bytes < 1:
        raise ValueError(f"max_file_bytes must be a positive int, got {max_file_bytes!r}")
    if projection is not None and not isinstance(projection, Mapping):
        raise TypeError(f"projection must be a mapping (a mixer's projection), got {type(projection).__name__}")
    prefix = os.fspath(path_prefix)
    per_row, n_rows = -(-shape[1] // width), -(-shape[0] // height)
    padded = (n_rows * height, per_row * width)
    if padded != shape:
        check_fill(fill, bands)
    existing = existing_files(prefix)
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]!r} exists (an earlier image with prefix {prefix!r}); pass overwrite=True")
    for path in existing:
        os.remove(path)

    files: list[str] = []
    writer: Any = None
    in_file = 0
    try:
        for index in range(per_row * n_rows):
            row, col = divmod(index, per_row)
            rows, cols = slice(row * height, (row + 1) * height), slice(col * width, (col + 1) * width)
            features = {name: patch_values(a, rows, cols, (height, width), fill) for name, a in bands.items()}
            record = _example.encode_example(features)
            size = len(record) + _FRAMING
            if size > max_file_bytes:
                raise ValueError(f"patch {index} (row {row}, column {col}) is a record of {size} bytes, "
                                 f"over max_file_bytes ({max_file_bytes})")
            if writer is None or in_file + size > max_file_bytes:
                if writer is not None:
                    writer.close()
                files.append(shard_name(prefix, len(files), gzip))
                writer = _tfrecord.TFRecordWriter(files[-1], compression="gzip" if gzip else None)
                in_file = 0
            writer.write(record)
            in_file += size
    finally:
        if writer is not None:
            writer.close()

    mixer = {
        "projection": dict(projection) if projection is not None else PROJECTION_PLACEHOLDER,
        "patchDimensions": [width, height],
        "patchesPerRow": per_row,
        "totalPatches": per_row * n_rows,
    }
    mixer_path = prefix + "-mixer.json"
    with open(mixer_path, "w", encoding="utf-8") as f:
        json.dump(mixer, f, indent=2)
        f.write("\n")
    return WrittenImage(files, mixer_path, mixer, shape, padded, fill)
