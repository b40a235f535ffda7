"""An Earth Engine TFRecord image export as a lazy Dask array.

:func:`read_ee_image_export` gives what :func:`tensorwire.ee_export.read_ee_image_export` gives,
``(H, W, n_bands)`` of ``numpy.result_type`` of the bands' dtypes, value for value, but as a Dask
array whose chunks are the export's patches (or groups of ``patches_per_chunk = (rows,
columns)`` of them), read where the array is computed.

What is read when
-----------------

Making the array reads two things, as one Dask compute (so on the workers when a
``distributed`` Client is active, where the files must be reachable under the same paths):

* the **index**: per file, where its records are.  A plain file is walked header by header (the
  12 bytes of each record's length and length CRC, which is checked; the data is skipped with a
  seek, its CRC is checked when the record is read).  A compressed file cannot be sought: it is
  inflated once to count its records (data CRCs not checked then).  The counts give each patch's
  file and record (Earth Engine writes the patches row-major, file after file), and are checked
  against the mixer's ``totalPatches`` (the eager reader's messages);
* the **first patch**, which settles what the eager reader settles from it: the band names when
  ``bands=None`` (sorted), each band's feature kind and dtype, the margin when
  ``kernel_size=None``, and so the array's dtype.

Computing chunks reads the rest.  A chunk's patches in plain files are read by that chunk's
task: it opens the files that hold them, seeks to the first of each run of records and reads
the run (each record read once per compute).  A compressed file is read whole by one task per
file (it cannot be entered in the middle), whose decoded patches the chunks that need them pick
up; so a compressed file is read once per compute, and held decoded in a worker's memory until
its chunks are made: keep ``maxFileSize`` of compressed exports moderate for exports far bigger
than the cluster's memory.  Computing a slice runs only the tasks of the chunks it touches, and
opens only the files that hold their patches.  Every patch is decoded and checked as the eager
reader does it (:class:`tensorwire.ee_export.PatchReader`), with the same messages naming the
patch, file and record.  The files must not change between making the array and computing it (a
record no longer where the index says fails the compute; other valid records in its place would
be read).

Files are paths (str or os.PathLike): an open file object cannot travel to the workers.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .. import tfrecord as _tfrecord
from ..codecs.rules.tfrecord import (
    FOOTER_BYTES,
    HEADER_BYTES,
    WHAT,
    CompressionName,
    ReadCompressionName,
    auto_is_gzip,
    header_fields,
    normalize_compression,
)
from ..ee_export import (
    BandDTypes,
    ExportGrid,
    Mixer,
    PatchReader,
    band_names,
    check_dtypes,
    export_grid,
    kernel_margins,
    load_mixer,
)
from ..errors import DecodeError

if TYPE_CHECKING:
    import dask.array as da

    from .._types import ReadCompression



@dataclasses.dataclass(frozen=True)
class _FileIndex:
    path: str
    compression: CompressionName | None  # as resolved: None, "gzip" or "zlib"
    count: int  # records
    offsets: tuple[int, ...] | None  # of each record, plain files only


def _index(path: str, compression: ReadCompressionName | None) -> _FileIndex:
    """The records of one file (see the module docstring)."""
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
        if compression == "auto":
            compression = "gzip" if auto_is_gzip(head, _tfrecord.masked_crc32c) else None
        if compression is not None:
            count = sum(1 for _ in _records(path, compression, verify=False))
            return _FileIndex(path, compression, count, None)
        size = os.fstat(f.fileno()).st_size
        offsets: list[int] = []
        offset = 0
        while offset < size:
            f.seek(offset)
            head = f.read(HEADER_BYTES)
            where = f"{path}: {WHAT}: record {len(offsets)} at offset {offset}"
            if len(head) < HEADER_BYTES:
                raise DecodeError(f"{where}: truncated header ({len(head)} of {HEADER_BYTES} bytes)")
            length, stored, expected = header_fields(head, _tfrecord.masked_crc32c)
            if stored != expected:
                raise DecodeError(f"{where}: length CRC mismatch (stored 0x{stored:08x}, computed 0x{expected:08x})")
            offsets.append(offset)
            offset += HEADER_BYTES + length + FOOTER_BYTES
        return _FileIndex(path, None, len(offsets), tuple(offsets))


def _records(path: str, compression: CompressionName | None, verify: bool) -> Iterable[bytes]:
    try:
        yield from _tfrecord.read_tfrecord(path, compression=compression, verify=verify)
    except DecodeError as exc:
        raise DecodeError(f"{path}: {exc}") from exc


def _first_patch(paths: list[str], reader: PatchReader, compression: CompressionName | None,
                 verify: bool) -> tuple[PatchReader, list[np.dtype[Any]]]:
    """``reader`` settled by the export's first patch, and that patch's band dtypes."""
    for path in paths:
        for record in _records(path, compression, verify):
            patch = reader.patch(record, f"patch 0 ({path}, record 0)")
            return reader, [a.dtype for a in patch.values()]
    raise DecodeError("the export has 0 patches")  # unreachable after the index's count check


def _read_file(reader: PatchReader, index: _FileIndex, first: int, verify: bool) -> list[dict[str, NDArray[Any]]]:
    """Every patch of one compressed file (patch ``first`` is its record 0)."""
    return [reader.patch(record, f"patch {first + n} ({index.path}, record {n})")
            for n, record in enumerate(_records(index.path, index.compression, verify))]


_FRAMING = re.compile(rf"{WHAT}: record (\d+) at offset (\d+): ")


def _whole_file_message(message: str, index: _FileIndex, first: int) -> str:
    """A framing error of a read that started at record ``first`` of a plain file, as reading the
    file from its start words it: ``path: TFRecord: record N at offset O: ...``."""
    m = _FRAMING.match(message)
    assert m is not None and index.offsets is not None
    start = index.offsets[first]
    return (f"{index.path}: {WHAT}: record {first + int(m.group(1))} at offset {start + int(m.group(2))}: "
            f"{message[m.end():]}")


@dataclasses.dataclass(frozen=True)
class _Source:
    """Where patch ``patch`` is: record ``record`` of ``file``; ``whole``: the position of its
    file's task among the chunk task's arguments (compressed files), else None (read here)."""

    patch: int
    file: _FileIndex
    record: int
    whole: int | None


def _read_chunk(reader: PatchReader, grid: ExportGrid, shape: tuple[int, int], dtype: np.dtype[Any],
                sources: list[_Source], verify: bool, *whole_files: list[dict[str, NDArray[Any]]]) -> NDArray[Any]:
    """One chunk: ``shape`` = (patch rows, patch columns), ``sources`` its patches row-major."""
    assert reader.names is not None
    h, w = grid.height, grid.width
    out = np.empty((shape[0] * h, shape[1] * w, len(reader.names)), dtype=dtype)
    patches: list[dict[str, NDArray[Any]]] = []
    k = 0
    while k < len(sources):
        s = sources[k]
        if s.whole is not None:
            patches.append(whole_files[s.whole][s.record])
            k += 1
            continue
        run = 1  # the records that follow in the same file, read in one pass
        while (k + run < len(sources) and sources[k + run].file is s.file
               and sources[k + run].record == s.record + run and sources[k + run].whole is None):
            run += 1
        assert s.file.offsets is not None
        with open(s.file.path, "rb") as f:
            f.seek(s.file.offsets[s.record])
            records = iter(_tfrecord.read_tfrecord(f, compression=None, verify=verify))
            for n in range(run):
                where = f"patch {s.patch + n} ({s.file.path}, record {s.record + n})"
                try:
                    record = next(records)
                except StopIteration:
                    raise DecodeError(f"{where}: the file ended before this record (it changed since it was "
                                      "indexed)") from None
                except DecodeError as exc:  # the reader counted from the seek: the message the eager reader gives
                    raise DecodeError(_whole_file_message(str(exc), s.file, s.record)) from exc
                patches.append(reader.patch(record, where))
        k += run
    for n, patch in enumerate(patches):
        r, c = divmod(n, shape[1])
        tile = out[r * h:(r + 1) * h, c * w:(c + 1) * w]
        for i, values in enumerate(patch.values()):
            tile[:, :, i] = values
    return out


def read_ee_image_export(files: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], mixer: Mixer, *,
                         bands: Iterable[str] | None = None, kernel_size: int | Sequence[int] | None = None,
                         dtypes: BandDTypes = None, compression: ReadCompression = "auto", verify: bool = True,
                         patches_per_chunk: int | tuple[int, int] = 1) -> da.Array:
    """The export as a lazy ``(H, W, n_bands)`` Dask array equal to
    :func:`tensorwire.ee_export.read_ee_image_export`'s array (same arguments, same errors, raised
    when the index and first patch are read or when the chunk is computed); see the module
    docstring for what is read when.

    ``files``: paths only.  ``patches_per_chunk``: ``(rows, columns)`` of patches per chunk (one
    int: square); the chunks of the last row and column hold what is left.
    """
    import dask.array as da
    from dask.base import compute, tokenize
    from dask.delayed import delayed

    paths = [os.fspath(files)] if isinstance(files, (str, os.PathLike)) else [os.fspath(f) for f in files]
    if not paths:
        raise ValueError("files: no TFRecord files given")
    for p in paths:
        if not isinstance(p, str):
            raise TypeError(f"files: paths (str or os.PathLike of str), not {p!r}")
    per = (patches_per_chunk, patches_per_chunk) if isinstance(patches_per_chunk, int) else tuple(patches_per_chunk)
    if len(per) != 2 or min(per) < 1:
        raise ValueError(f"patches_per_chunk: one int or (rows, columns), each >= 1, not {patches_per_chunk!r}")
    mixer = load_mixer(mixer)
    grid = export_grid(mixer)
    names = band_names(bands)
    check_dtypes(dtypes)  # before the kernel size, in the order these arguments were always checked
    reader = PatchReader(grid, dtypes, names, None if kernel_size is None else kernel_margins(kernel_size))
    mode = normalize_compression(compression, True)

    indexes: list[_FileIndex] = list(compute(*[delayed(_index, pure=True)(p, mode) for p in paths]))
    sources: list[_Source] = []
    for index in indexes:
        sources.extend(_Source(len(sources) + n, index, n, None) for n in range(index.count))
    if len(sources) > grid.total:
        extra = sources[grid.total]
        raise DecodeError(f"patch {grid.total} ({extra.file.path}, record {extra.record}): more patches than "
                          f"the mixer's totalPatches ({grid.total})")
    if len(sources) < grid.total:
        raise DecodeError(f"the export has {len(sources)} patches, the mixer's totalPatches is {grid.total}")
    first = next(i for i in indexes if i.count)
    reader, band_dtypes = compute(delayed(_first_patch, pure=True)(
        [first.path], reader, first.compression, verify))[0]
    dtype = np.result_type(*band_dtypes)
    assert reader.names is not None

    token = tokenize(paths, [dataclasses.astuple(i) for i in indexes], mixer, reader.names, reader.margin,
                     str(dtype), verify, per)
    whole: dict[str, Any] = {}  # path -> the task reading a compressed file
    firsts = {}
    start = 0
    for index in indexes:
        firsts[index.path] = start
        start += index.count
    rows, cols = grid.rows, grid.per_row
    blocks = []
    for r0 in range(0, rows, per[0]):
        line = []
        for c0 in range(0, cols, per[1]):
            shape = (min(per[0], rows - r0), min(per[1], cols - c0))
            mine: list[_Source] = []
            args: list[Any] = []
            position: dict[str, int] = {}  # position: path -> its file task's place in args
            for r in range(r0, r0 + shape[0]):
                for c in range(c0, c0 + shape[1]):
                    s = sources[r * cols + c]
                    if s.file.compression is not None:
                        if s.file.path not in whole:
                            whole[s.file.path] = delayed(_read_file, pure=True)(
                                reader, s.file, firsts[s.file.path], verify,
                                dask_key_name=f"tensorwire-ee-file-{token}-{len(whole)}")
                        if s.file.path not in position:
                            position[s.file.path] = len(args)
                            args.append(whole[s.file.path])
                        s = dataclasses.replace(s, whole=position[s.file.path])
                    mine.append(s)
            task = delayed(_read_chunk, pure=True)(
                reader, grid, shape, dtype, mine, verify, *args,
                dask_key_name=f"tensorwire-ee-chunk-{token}-{r0 // per[0]}-{c0 // per[1]}")
            line.append([da.from_delayed(task, (shape[0] * grid.height, shape[1] * grid.width, len(reader.names)),
                                        dtype=dtype, meta=np.empty((0, 0, 0), dtype))])
        blocks.append(line)
    result: da.Array = da.block(blocks)  # nested three deep: rows, columns, bands
    return result
