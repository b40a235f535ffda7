"""Read Earth Engine image exports in TFRecord format back into numpy arrays.

``Export.image.toDrive/toCloudStorage(..., fileFormat="TFRecord", formatOptions={...})`` cuts the
export region into a grid of patches and writes one ``tf.Example`` per patch:

- every band is one feature (the band name is the feature key) holding the patch's pixels,
  row-major (height, then width): a ``float_list`` (what Earth Engine's guide says every exported
  number becomes), an ``int64_list``, or one raw ``bytes_list`` value (little-endian); see
  **Band dtypes** below;
- patches follow each other row-major over the region (left to right, then top to bottom), in
  as many TFRecord files as ``maxFileSize`` requires (``<prefix>-00000.tfrecord.gz``,
  ``-00001``, ...; gzip when ``compressed`` is true, the default). Both ``<prefix>-00000`` and
  ``<prefix>00000`` occur; :func:`files_for_prefix` finds the shards of a prefix in either form;
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

**Band dtypes.** A band's values are converted to its dtype exactly, or the read fails.
``dtypes=None`` takes the dtype from the kind of the band's feature in the first patch:
``float_list`` -> float32, ``int64_list`` -> int64, one ``bytes_list`` value -> uint8 (raw
bytes, one per pixel). ``dtypes=`` (one dtype for every band, or ``{band: dtype}``) names it:
a ``float_list`` or ``int64_list`` is converted when every value is representable (an integral
float in range for an integer dtype; an integer exactly representable for a float dtype); a
``bytes_list`` must hold one value of ``pixels * itemsize`` bytes, read as little-endian values
of that dtype (so int16/uint16 raw bands are read with ``dtypes={"b": np.int16}``). Whatever
the dtype, a band keeps the feature kind it had in the first patch in every later patch.
``read_ee_image_export`` stitches into one array of ``numpy.result_type`` of the bands' dtypes
(float32 for a float export, as before); ``read_ee_image_bands`` keeps each band's own dtype.

**Band order.** Earth Engine writes the band names as feature keys, and the order of the keys
in a record is not defined. ``bands=None`` means every feature of the first patch, in sorted
(code point) order; pass ``bands=image.bandNames().getInfo()`` (or any list) for the export's
own order or for a subset.

Every function here raises :class:`~tensorwire.DecodeError` for a bad export (with the patch
index, its file and record, and the band) and for a bad mixer.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import TYPE_CHECKING, Any, Union, cast

import numpy as np
from numpy.typing import DTypeLike, NDArray

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
#: ``dtypes=``: one dtype for every band, or ``{band: dtype}`` (bands not named: by feature kind).
BandDTypes: TypeAlias = Union[DTypeLike, Mapping[str, DTypeLike], None]

__all__ = ["read_ee_image_export", "read_ee_image_bands", "iter_ee_image_export", "load_mixer",
           "files_for_prefix", "mixer_for_prefix"]

_MIXER_KEYS = ("patchDimensions", "patchesPerRow", "totalPatches")


@dataclass(frozen=True)
class ExportGrid:
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


def export_grid(mixer: Mixer) -> ExportGrid:
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
    return ExportGrid(width, height, per_row, total)


def kernel_margins(kernel_size: Any) -> tuple[int, int]:
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


def _infer_margin(count: int, grid: ExportGrid) -> int | None:
    """The margin m >= 0 with (height + 2m) * (width + 2m) == count, or None."""
    # 4m^2 + 2(h + w)m + hw - count = 0  =>  m = (sqrt((h - w)^2 + 4 count) - (h + w)) / 4
    h, w = grid.height, grid.width
    m, rest = divmod(math.isqrt((h - w) ** 2 + 4 * count) - (h + w), 4)
    if m >= 0 and not rest and (h + 2 * m) * (w + 2 * m) == count:
        return m
    return None


def band_names(bands: Iterable[str] | None) -> list[str] | None:
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


# ------------------------------------------------------------------------------------------
# shard names


_SHARD = r"-?(\d{5})\.tfrecord(\.gz)?"


def shard_paths(prefix: str) -> list[tuple[int, str]]:
    """``(number, path)`` of every file named ``<prefix>[-]NNNNN.tfrecord[.gz]``, in name order,
    duplicates and gaps included (:func:`files_for_prefix` checks them)."""
    pattern = re.compile(re.escape(os.path.basename(prefix)) + _SHARD + r"\Z")
    found = []
    for path in sorted(glob.glob(glob.escape(prefix) + "*.tfrecord*")):  # "*" stays in the directory
        match = pattern.match(os.path.basename(path))
        if match is not None:
            found.append((int(match.group(1)), path))
    return found


def files_for_prefix(prefix: str | os.PathLike[str]) -> list[str]:
    """The TFRecord shards of an export, in order: ``<prefix>-00000.tfrecord[.gz]``, ``-00001``, ...

    Earth Engine's shard names occur both with a dash before the number
    (``<prefix>-00000.tfrecord.gz``) and without (``<prefix>00000.tfrecord.gz``); both are
    taken, compressed or not, and sorted by their number.  ``prefix`` is a path without the
    shard number (``"out/export"`` for ``out/export-00000.tfrecord.gz``).

    Raises:
        FileNotFoundError: no shard has that prefix.
        ValueError: two shards have the same number (``-00001`` and ``00001``, or ``.tfrecord``
            and ``.tfrecord.gz``), or a number is missing between 0 and the last one.
    """
    prefix = os.fspath(prefix)
    found: dict[int, str] = {}
    for number, path in shard_paths(prefix):
        if number in found:
            raise ValueError(f"two shards numbered {number:05d} for prefix {prefix!r}: {found[number]!r} and {path!r}")
        found[number] = path
    if not found:
        raise FileNotFoundError(f"no TFRecord shards {prefix}[-]NNNNN.tfrecord[.gz]")
    missing = sorted(set(range(max(found) + 1)) - set(found))
    if missing:
        raise ValueError(f"shards of {prefix!r}: number {missing[0]:05d} is missing (the last is {max(found):05d})")
    return [found[n] for n in sorted(found)]


def mixer_for_prefix(prefix: str | os.PathLike[str]) -> str:
    """The mixer of an export: ``<prefix>-mixer.json`` or ``<prefix>mixer.json``, whichever exists.

    Raises ``FileNotFoundError`` when neither exists and ``ValueError`` when both do.
    """
    prefix = os.fspath(prefix)
    found = [p for p in (prefix + "-mixer.json", prefix + "mixer.json") if os.path.isfile(p)]
    if not found:
        raise FileNotFoundError(f"no mixer {prefix}-mixer.json or {prefix}mixer.json")
    if len(found) > 1:
        raise ValueError(f"two mixers for prefix {prefix!r}: {found[0]!r} and {found[1]!r}")
    return found[0]


# ------------------------------------------------------------------------------------------
# band values and their dtypes

_KIND_DTYPE: dict[str, np.dtype[Any]] = {"float_list": np.dtype(np.float32), "int64_list": np.dtype(np.int64), "bytes_list": np.dtype(np.uint8)}
_ALLOWED = frozenset(np.dtype(t) for t in (np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
                                           np.int32, np.uint32, np.int64))


def _kind(value: DecodedFeature) -> str | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return "float_list" if value.dtype == np.float32 else "int64_list"
    return "bytes_list"


def _feature_description(value: DecodedFeature) -> str:
    kind = _kind(value)
    if kind is None:
        return "a feature with no list set"
    return ("an " if kind == "int64_list" else "a ") + kind


def _dtype_of(dtypes: BandDTypes, band: str) -> np.dtype[Any] | None:
    if dtypes is None:
        return None
    if isinstance(dtypes, Mapping):  # always {band: dtype}; numpy's dict form of a dtype is not taken
        per_band = cast("Mapping[str, DTypeLike]", dtypes)
        if band not in per_band:
            return None
        given = per_band[band]
    else:
        given = dtypes
    dtype: np.dtype[Any] = np.dtype(given)
    if dtype not in _ALLOWED:
        raise TypeError(f"dtypes: band {band!r}: {dtype} is not one of float32, float64, (u)int8/16/32, int64")
    return dtype


def check_dtypes(dtypes: BandDTypes) -> None:
    if isinstance(dtypes, Mapping):
        for band in dtypes:
            _dtype_of(dtypes, band)
    elif dtypes is not None:
        _dtype_of(dtypes, "")


@dataclass(frozen=True)
class _Band:
    kind: str  # the feature kind of the band in the first patch, required of every patch
    dtype: np.dtype[Any]


def _band_spec(features: Mapping[str, DecodedFeature], band: str, dtypes: BandDTypes, where: str) -> _Band:
    value = _feature(features, band, where)
    kind = _kind(value)
    if kind is None:
        raise DecodeError(f"{where}: band {band!r} is a feature with no list set, "
                          "expected a float_list, an int64_list or a bytes_list")
    dtype = _dtype_of(dtypes, band)
    return _Band(kind, _KIND_DTYPE[kind] if dtype is None else dtype)


def _feature(features: Mapping[str, DecodedFeature], band: str, where: str) -> DecodedFeature:
    try:
        return features[band]
    except KeyError:
        raise DecodeError(f"{where}: band {band!r} is missing") from None


def _band_values(features: Mapping[str, DecodedFeature], band: str, spec: _Band, where: str) -> NDArray[Any]:
    """The band's values, flat, converted exactly to ``spec.dtype``."""
    value = _feature(features, band, where)
    kind = _kind(value)
    if kind != spec.kind:
        raise DecodeError(f"{where}: band {band!r} is {_feature_description(value)}, expected a"
                          f"{'n' if spec.kind == 'int64_list' else ''} {spec.kind}")
    dtype = spec.dtype
    if kind == "bytes_list":
        items = cast("list[bytes]", value)
        if len(items) != 1:
            raise DecodeError(f"{where}: band {band!r} is a bytes_list of {len(items)} values, "
                              "expected one raw value holding the patch")
        raw = items[0]
        if len(raw) % dtype.itemsize:
            raise DecodeError(f"{where}: band {band!r} holds {len(raw)} bytes, not a whole number of "
                              f"{dtype} values ({dtype.itemsize} bytes each)")
        return np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype, copy=False)
    values = cast("NDArray[Any]", value)
    if values.dtype == dtype:
        return values
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or out of range: found just below
        converted = values.astype(dtype)
        exact = converted.astype(values.dtype) == values
    if kind == "float_list" and dtype.kind == "f":
        exact |= np.isnan(values)  # float32 -> float64 is exact, NaN included
    if not exact.all():
        i = int(np.argmin(exact))
        raise DecodeError(f"{where}: band {band!r}: value {values[i].item()!r} at index {i} of its {kind} "
                          f"is not exactly a {dtype}")
    return converted


def _crop(values: NDArray[Any], band: str, grid: ExportGrid, margin: tuple[int, int], where: str) -> NDArray[Any]:
    my, mx = margin
    rows, cols = grid.height + 2 * my, grid.width + 2 * mx
    if values.size != rows * cols:
        raise DecodeError(
            f"{where}: band {band!r} has {values.size} values, expected {rows}x{cols} = {rows * cols} "
            f"(patch {grid.height}x{grid.width} plus a margin of {my} rows and {mx} columns per side)")
    return values.reshape(rows, cols)[my : my + grid.height, mx : mx + grid.width]


# ------------------------------------------------------------------------------------------
# reading


@dataclass
class PatchReader:
    """Decodes one patch after another with what the first patch decided: the band names (when
    not given), their kinds and dtypes, and the margin (when ``kernel_size`` was not given).
    Made and used by :func:`iter_ee_image_export`; ``tensorwire.dask`` reads the first patch
    with one, then hands it (settled) to the tasks that decode the rest."""

    grid: ExportGrid
    dtypes: BandDTypes
    names: list[str] | None = None
    margin: tuple[int, int] | None = None
    specs: dict[str, _Band] | None = None

    def __post_init__(self) -> None:
        check_dtypes(self.dtypes)

    def patch(self, record: bytes, where: str) -> dict[str, NDArray[Any]]:
        """``{band: (height, width) array}`` of one patch's record; ``where`` names it in errors."""
        try:
            features = _example.decode_example(record)
        except DecodeError as exc:
            raise DecodeError(f"{where}: {exc}") from exc
        if self.names is None:
            if not features:
                raise DecodeError(f"{where}: the patch has no features (bands)")
            self.names = sorted(features)
        names = self.names
        if self.specs is None:
            self.specs = {band: _band_spec(features, band, self.dtypes, where) for band in names}
        specs = self.specs
        values = {band: _band_values(features, band, specs[band], where) for band in names}
        if self.margin is None:
            count = values[names[0]].size
            m = _infer_margin(count, self.grid)
            if m is None:
                raise DecodeError(
                    f"{where}: band {names[0]!r} has {count} values, which is no "
                    f"{self.grid.height}x{self.grid.width} patch (patchDimensions) with an equal margin on every "
                    "side; pass the export's kernel_size")
            self.margin = (m, m)
        margin = self.margin
        return {band: _crop(values[band], band, self.grid, margin, where) for band in names}


def iter_ee_image_export(
    files: ExportFiles, mixer: Mixer, *, bands: Iterable[str] | None = None,
    kernel_size: int | Sequence[int] | None = None, dtypes: BandDTypes = None,
    compression: ReadCompression = "auto", verify: bool = True,
) -> Iterator[tuple[int, int, dict[str, NDArray[Any]]]]:
    """Yield the patches of an Earth Engine TFRecord image export one at a time.

    Args:
        files: one TFRecord file (path or binary file object) or a list of them, in the export's
            order (Earth Engine numbers them ``-00000``, ``-00001``, ...: :func:`files_for_prefix`
            finds them).  Gzip is detected (``compression="auto"``); pass ``compression`` to
            force one.
        mixer: the export's ``*mixer.json``, as a path or as the loaded dict.
        bands: the band names to return, in this order; ``None``: every feature of the first
            patch, sorted by name.  Features not asked for are ignored.
        kernel_size: the export's ``kernelSize``, an int or ``[kx, ky]``: each patch carries
            ``ky // 2`` extra rows above and below and ``kx // 2`` extra columns left and right,
            which are dropped.  ``None``: infer an equal margin on all sides from the first
            patch (``1`` means no margin, as Earth Engine's default ``[1, 1]``).
        dtypes: the bands' dtypes: one for all, ``{band: dtype}``, or ``None``: by the feature
            kind of the first patch (float_list: float32, int64_list: int64, one raw bytes_list
            value: uint8).  Values are converted exactly or the read fails (module docstring).
        verify: check each record's data CRC (lengths are always checked).

    Yields:
        ``(row, col, {band: ndarray})`` per patch, row-major over the grid; each array has the
        band's dtype and shape ``(height, width)`` = the mixer's ``patchDimensions`` reversed,
        a view of the decoded patch with the margin dropped.  The patch at ``(row, col)``
        covers rows ``row * height ...`` and columns ``col * width ...`` of the region.

    Raises:
        DecodeError: a corrupt file or record; a patch without one of the bands, with a band of
            another feature kind than in the first patch, with the wrong number of values, or
            with a value the band's dtype cannot hold exactly (naming the patch index, file,
            record and band); more patches than ``totalPatches`` (when the extra patch is
            reached) or fewer (after the last patch was yielded); a bad mixer.
        TypeError: a dtype that is not float32, float64, (u)int8/16/32 or int64.
    """
    grid = export_grid(mixer)
    names = band_names(bands)
    check_dtypes(dtypes)  # before the kernel size, in the order these arguments were always checked
    reader = PatchReader(grid, dtypes, names, None if kernel_size is None else kernel_margins(kernel_size))
    index = 0
    for name, number, record in _records(_as_files(files), compression, verify):
        where = f"patch {index} ({name}, record {number})"
        if index >= grid.total:
            raise DecodeError(f"{where}: more patches than the mixer's totalPatches ({grid.total})")
        patch = reader.patch(record, where)
        yield divmod(index, grid.per_row) + (patch,)
        index += 1
    if index < grid.total:
        raise DecodeError(f"the export has {index} patches, the mixer's totalPatches is {grid.total}")


def read_ee_image_bands(
    files: ExportFiles, mixer: Mixer, *, bands: Iterable[str] | None = None,
    kernel_size: int | Sequence[int] | None = None, dtypes: BandDTypes = None,
    compression: ReadCompression = "auto", verify: bool = True,
) -> dict[str, NDArray[Any]]:
    """Read a whole export into ``{band: (H, W) array}``, each band in its own dtype.

    The image :func:`read_ee_image_export` stitches, one array per band (in ``bands`` order)
    instead of one ``(H, W, n_bands)`` array of a common dtype: what ``tensorwire.ee.Model``'s
    ``predict_image`` takes.  Arguments and errors are those of :func:`iter_ee_image_export`.
    """
    mixer = load_mixer(mixer)  # read a mixer file once
    grid = export_grid(mixer)
    out: dict[str, NDArray[Any]] = {}
    h, w = grid.height, grid.width
    for row, col, patch in iter_ee_image_export(files, mixer, bands=bands, kernel_size=kernel_size, dtypes=dtypes,
                                                compression=compression, verify=verify):
        if not out:
            out = {band: np.empty((grid.rows * h, grid.per_row * w), dtype=v.dtype) for band, v in patch.items()}
        for band, values in patch.items():
            out[band][row * h : (row + 1) * h, col * w : (col + 1) * w] = values
    return out


def read_ee_image_export(
    files: ExportFiles, mixer: Mixer, *, bands: Iterable[str] | None = None,
    kernel_size: int | Sequence[int] | None = None, dtypes: BandDTypes = None,
    compression: ReadCompression = "auto", verify: bool = True,
) -> NDArray[Any]:
    """Read a whole Earth Engine TFRecord image export into one ``(H, W, n_bands)`` array.

    ``H = (totalPatches / patchesPerRow) * height`` and ``W = patchesPerRow * width`` for the
    mixer's ``patchDimensions`` ``[width, height]``; ``[..., i]`` is band ``bands[i]`` (by
    default the sorted feature names of the first patch).  Patch margins (``kernel_size``) are
    dropped, so every pixel of the region comes from exactly one patch.  The array's dtype is
    ``numpy.result_type`` of the bands' dtypes (``dtypes``; float32 for an export of
    float_lists).  Arguments and errors are those of :func:`iter_ee_image_export`, which reads
    one patch at a time for exports that do not fit in memory; here nothing is returned unless
    the whole export is valid.
    """
    mixer = load_mixer(mixer)  # read a mixer file once
    grid = export_grid(mixer)
    out = None
    h, w = grid.height, grid.width
    for row, col, patch in iter_ee_image_export(
        files, mixer, bands=bands, kernel_size=kernel_size, dtypes=dtypes, compression=compression, verify=verify
    ):
        if out is None:
            dtype = np.result_type(*(v.dtype for v in patch.values()))
            out = np.empty((grid.rows * h, grid.per_row * w, len(patch)), dtype=dtype)
        tile = out[row * h : (row + 1) * h, col * w : (col + 1) * w]
        for i, values in enumerate(patch.values()):
            tile[:, :, i] = values
    assert out is not None  # an export without patches raised in iter_ee_image_export
    return out
