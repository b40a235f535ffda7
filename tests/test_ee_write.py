"""tensorwire.ee.write_image: images as the TFRecord patches + mixer Earth Engine ingests.

write_image -> read_ee_image_export / read_ee_image_bands round trips over images whose size is
and is not a multiple of the patch, gzip and plain, one band of every dtype kind; TensorFlow is
the oracle for every record (``TFRecordDataset`` + ``parse_single_example`` with
``FixedLenFeature``; a raw band as a scalar ``tf.string`` through ``tf.io.decode_raw``); the
mixer's content, the cut into files, shard names with and without the dash, and the errors.
Writer and reader run on each backend's codecs (the ``codecs`` fixture, swapped in for the
modules' codec bindings).
"""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import tensorwire.ee.image_write as image_write  # noqa: E402
import tensorwire.ee_export as ee_export  # noqa: E402
from tensorwire.ee import (  # noqa: E402
    PROJECTION_PLACEHOLDER,
    files_for_prefix,
    iter_ee_image_export,
    mixer_for_prefix,
    read_ee_image_bands,
    read_ee_image_export,
    write_image,
)
from tensorwire.errors import DecodeError  # noqa: E402

PATCH = (16, 8)  # (width, height), Earth Engine's order
SHAPES = {"ragged": (37, 50), "whole": (24, 48), "small": (5, 3)}  # (height, width)
# one band per dtype; the feature kind each becomes, and the dtype the reader gives without dtypes=
DTYPES = {
    "f32": (np.float32, "float_list", np.float32),
    "f16": (np.float16, "float_list", np.float32),
    "f64": (np.float64, "float_list", np.float32),  # values exactly float32
    "u8": (np.uint8, "bytes", np.uint8),
    "i8": (np.int8, "bytes", np.uint8),
    "i16": (np.int16, "int64_list", np.int64),
    "u16": (np.uint16, "int64_list", np.int64),
    "i32": (np.int32, "int64_list", np.int64),
    "u32": (np.uint32, "int64_list", np.int64),
    "i64": (np.int64, "int64_list", np.int64),
}


@pytest.fixture(autouse=True)
def backend(codecs, monkeypatch):
    """Writer and reader on this backend's codecs."""
    for module in (image_write, ee_export):
        monkeypatch.setattr(module, "_example", codecs.example)
        monkeypatch.setattr(module, "_tfrecord", codecs.tfrecord)
    return codecs


def make_bands(shape, seed=3):
    rng = np.random.default_rng(seed)
    bands = {}
    for name, (dtype, _, _) in DTYPES.items():
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            values = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
        else:
            info = np.iinfo(dtype)
            values = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
            values.flat[:2] = (info.min, info.max)  # the extremes travel too
        bands[name] = values
    return bands


def padded(band, shape_out, fill=0):
    out = np.full(shape_out, fill, dtype=band.dtype)
    out[: band.shape[0], : band.shape[1]] = band
    return out


def grid_shape(shape):
    w, h = PATCH
    return (-(-shape[0] // h) * h, -(-shape[1] // w) * w)


# ------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("compression", ["gzip", None])
@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_round_trip(tmp_path, shape, compression):
    bands = make_bands(shape)
    written = write_image(bands, tmp_path / "pred", patch_dimensions=PATCH, compression=compression)
    grid = grid_shape(shape)
    assert written.shape == shape and written.padded_shape == grid
    suffix = ".tfrecord.gz" if compression else ".tfrecord"
    assert written.files == [str(tmp_path / f"pred-00000{suffix}")]
    assert files_for_prefix(tmp_path / "pred") == written.files
    assert mixer_for_prefix(tmp_path / "pred") == written.mixer_path == str(tmp_path / "pred-mixer.json")

    raw = {"i8": np.int8}  # a raw band other than uint8 is read with its dtype named
    ints = {n: d for n, (d, kind, _) in DTYPES.items() if kind == "int64_list"}
    got = read_ee_image_bands(written.files, written.mixer_path, bands=list(bands), dtypes={**raw, **ints})
    assert list(got) == list(bands)
    for name, band in bands.items():
        want = padded(band, grid)
        expected_dtype = np.float32 if name in ("f16", "f64") else band.dtype
        assert got[name].dtype == expected_dtype, name
        assert np.array_equal(got[name], want.astype(expected_dtype)), name

    # without dtypes=: by feature kind
    by_kind = read_ee_image_bands(written.files, written.mixer_path)
    assert list(by_kind) == sorted(bands)
    for name, (_, _, default) in DTYPES.items():
        assert by_kind[name].dtype == default, name
        assert np.array_equal(by_kind[name], padded(bands[name], grid).astype(default) if name != "i8"
                              else padded(bands[name], grid).view(np.uint8)), name

    # one stitched array: numpy's result type of the bands' dtypes
    image = read_ee_image_export(written.files, written.mixer_path, bands=["u8", "i16"],
                                 dtypes={"i16": np.int16})
    assert image.dtype == np.int16 and image.shape == (*grid, 2)
    assert np.array_equal(image[: shape[0], : shape[1], 0], bands["u8"])
    assert np.array_equal(image[: shape[0], : shape[1], 1], bands["i16"])


def test_float_image_reads_back_as_float32(tmp_path):
    band = np.random.default_rng(1).standard_normal((20, 33), dtype=np.float32)
    written = write_image({"b": band, "a": band * 2}, tmp_path / "x", patch_dimensions=(8, 8))
    image = read_ee_image_export(files_for_prefix(tmp_path / "x"), written.mixer_path)  # sorted: a, b
    assert image.dtype == np.float32 and image.shape == (24, 40, 2)
    assert np.array_equal(image[:20, :33, 0], band * 2) and np.array_equal(image[:20, :33, 1], band)
    assert not image[20:].any() and not image[:, 33:].any()


def test_iterator_patches_are_row_major(tmp_path):
    band = np.arange(24 * 32, dtype=np.int32).reshape(24, 32)
    written = write_image({"v": band}, tmp_path / "x", patch_dimensions=(16, 8), compression=None)
    seen = []
    for row, col, patch in iter_ee_image_export(written.files, written.mixer_path, dtypes=np.int32):
        seen.append((row, col))
        assert np.array_equal(patch["v"], band[row * 8 : row * 8 + 8, col * 16 : col * 16 + 16])
    assert seen == [(r, c) for r in range(3) for c in range(2)]


@pytest.mark.parametrize("fill", [-1, 7.5, float("nan")])
def test_fill(tmp_path, fill):
    band = np.ones((9, 9), np.float32)
    written = write_image({"b": band}, tmp_path / "x", patch_dimensions=(4, 4), fill=fill)
    assert written.fill is fill or written.fill == fill
    got = read_ee_image_bands(written.files, written.mixer_path)["b"]
    assert got.shape == (12, 12) and (got[:9, :9] == 1).all()
    edge = np.concatenate([got[9:].ravel(), got[:9, 9:].ravel()])
    assert np.array_equal(edge, np.full(edge.shape, fill, np.float32), equal_nan=True)


# ------------------------------------------------------------------------------------------
# TensorFlow parses every record


@pytest.mark.parametrize("compression", ["gzip", None])
def test_tensorflow_parses_every_record(tmp_path, compression):
    shape = SHAPES["ragged"]
    bands = make_bands(shape)
    written = write_image(bands, tmp_path / "tf", patch_dimensions=PATCH, compression=compression,
                          max_file_bytes=9_000)
    assert len(written.files) > 1
    w, h = PATCH
    spec = {}
    for name, (_, kind, _) in DTYPES.items():
        if kind == "float_list":
            spec[name] = tf.io.FixedLenFeature([h, w], tf.float32)
        elif kind == "int64_list":
            spec[name] = tf.io.FixedLenFeature([h, w], tf.int64)
        else:
            spec[name] = tf.io.FixedLenFeature([], tf.string)
    grid = grid_shape(shape)
    per_row = grid[1] // w
    index = 0
    for path in written.files:
        dataset = tf.data.TFRecordDataset(path, compression_type="GZIP" if compression else "")
        for record in dataset:
            parsed = tf.io.parse_single_example(record, spec)
            row, col = divmod(index, per_row)
            for name, band in bands.items():
                want = padded(band, grid)[row * h : (row + 1) * h, col * w : (col + 1) * w]
                if DTYPES[name][1] == "bytes":
                    got = tf.reshape(tf.io.decode_raw(parsed[name], tf.as_dtype(band.dtype)), [h, w]).numpy()
                else:
                    got = parsed[name].numpy()
                assert np.array_equal(got, want.astype(got.dtype)), (index, name)
            index += 1
    assert index == written.mixer["totalPatches"] == (grid[0] // h) * per_row


# ------------------------------------------------------------------------------------------
# the mixer


def test_mixer_content(tmp_path):
    written = write_image({"b": np.zeros((37, 50), np.float32)}, tmp_path / "m", patch_dimensions=PATCH)
    on_disk = json.loads((tmp_path / "m-mixer.json").read_text())
    assert on_disk == written.mixer == {
        "projection": PROJECTION_PLACEHOLDER,
        "patchDimensions": [16, 8],  # [width, height]
        "patchesPerRow": 4,  # ceil(50 / 16)
        "totalPatches": 20,  # 4 per row * ceil(37 / 8) rows
    }


def test_mixer_projection_given(tmp_path):
    projection = {"crs": "EPSG:32610", "affine": {"doubleMatrix": [10.0, 0.0, 500000.0, 0.0, -10.0, 4200000.0]}}
    written = write_image({"b": np.zeros((8, 8), np.uint8)}, tmp_path / "m", patch_dimensions=(8, 8),
                          projection=projection)
    assert json.loads((tmp_path / "m-mixer.json").read_text())["projection"] == projection
    assert written.mixer["totalPatches"] == written.mixer["patchesPerRow"] == 1


# ------------------------------------------------------------------------------------------
# files cut at max_file_bytes


@pytest.mark.parametrize("compression", ["gzip", None])
@pytest.mark.parametrize("limit", [2_000, 5_000, 64_000])
def test_files_cut_at_max_file_bytes(tmp_path, backend, compression, limit):
    rng = np.random.default_rng(5)
    bands = {"a": rng.standard_normal((37, 50), dtype=np.float32), "c": rng.integers(0, 9, (37, 50)).astype(np.int16)}
    written = write_image(bands, tmp_path / "s", patch_dimensions=PATCH, compression=compression,
                          max_file_bytes=limit)
    suffix = ".tfrecord.gz" if compression else ".tfrecord"
    assert written.files == [str(tmp_path / f"s-{i:05d}{suffix}") for i in range(len(written.files))]
    sizes = []
    records = []
    for path in written.files:
        file_records = list(backend.tfrecord.read_tfrecord(path))
        sizes.append(sum(len(r) + 16 for r in file_records))
        records.append(len(file_records))
        assert os.path.getsize(path) <= limit + (64 if compression else 0)
    assert all(s <= limit for s in sizes)
    assert sum(records) == 20
    # greedy: the next file's first record would not have fitted in the file before
    for i in range(len(written.files) - 1):
        first_next = len(next(iter(backend.tfrecord.read_tfrecord(written.files[i + 1])))) + 16
        assert sizes[i] + first_next > limit
    got = read_ee_image_bands(written.files, written.mixer_path, dtypes={"c": np.int16})
    assert np.array_equal(got["a"][:37, :50], bands["a"]) and np.array_equal(got["c"][:37, :50], bands["c"])
    if limit == 64_000:
        assert len(written.files) == 1


def test_patch_over_max_file_bytes(tmp_path):
    with pytest.raises(ValueError, match=r"^patch 0 \(row 0, column 0\) is a record of \d+ bytes, over max_file_bytes"):
        write_image({"b": np.zeros((8, 8), np.float32)}, tmp_path / "x", patch_dimensions=(8, 8), max_file_bytes=100)


# ------------------------------------------------------------------------------------------
# shard names


def _rename_without_dash(files):
    out = []
    for path in files:
        head, tail = os.path.split(path)
        new = os.path.join(head, tail.replace("-0", "0", 1))
        os.rename(path, new)
        out.append(new)
    return out


def test_shards_without_the_dash(tmp_path):
    band = np.arange(37 * 50, dtype=np.float32).reshape(37, 50)
    written = write_image({"b": band}, tmp_path / "exp", patch_dimensions=PATCH, max_file_bytes=2_000)
    assert len(written.files) >= 3
    renamed = _rename_without_dash(written.files)
    assert os.path.basename(renamed[1]) == "exp00001.tfrecord.gz"
    os.rename(written.mixer_path, tmp_path / "expmixer.json")
    assert files_for_prefix(tmp_path / "exp") == renamed
    assert files_for_prefix(str(tmp_path / "exp")) == renamed
    assert mixer_for_prefix(tmp_path / "exp") == str(tmp_path / "expmixer.json")
    got = read_ee_image_export(files_for_prefix(tmp_path / "exp"), mixer_for_prefix(tmp_path / "exp"))
    assert np.array_equal(got[:37, :50, 0], band)


def test_shard_numbers_sort_numerically_and_ignore_other_files(tmp_path):
    for name in ["p-00010.tfrecord", *[f"p-{i:05d}.tfrecord" for i in range(10)], "p-extra.tfrecord",
                 "p-00001.tfrecord.bak", "q-00000.tfrecord", "p-000001.tfrecord", "pp-00000.tfrecord"]:
        (tmp_path / name).write_bytes(b"")
    assert [os.path.basename(p) for p in files_for_prefix(tmp_path / "p")] == [f"p-{i:05d}.tfrecord" for i in range(11)]


def test_shards_mixing_the_two_forms_and_compressions(tmp_path):
    for name in ["e-00000.tfrecord.gz", "e00001.tfrecord", "e-00002.tfrecord"]:
        (tmp_path / name).write_bytes(b"")
    assert [os.path.basename(p) for p in files_for_prefix(tmp_path / "e")] == [
        "e-00000.tfrecord.gz", "e00001.tfrecord", "e-00002.tfrecord"]


@pytest.mark.parametrize(
    "names, error, message",
    [
        ([], FileNotFoundError, r"no TFRecord shards"),
        (["e-00000.tfrecord.gz", "e00000.tfrecord.gz"], ValueError, r"two shards numbered 00000"),
        (["e-00000.tfrecord", "e-00000.tfrecord.gz"], ValueError, r"two shards numbered 00000"),
        (["e-00000.tfrecord", "e-00002.tfrecord"], ValueError, r"number 00001 is missing \(the last is 00002\)"),
        (["e-00001.tfrecord"], ValueError, r"number 00000 is missing"),
    ],
)
def test_bad_shard_sets(tmp_path, names, error, message):
    for name in names:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(error, match=message):
        files_for_prefix(tmp_path / "e")


def test_mixer_for_prefix_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no mixer"):
        mixer_for_prefix(tmp_path / "e")
    (tmp_path / "e-mixer.json").write_text("{}")
    (tmp_path / "emixer.json").write_text("{}")
    with pytest.raises(ValueError, match="two mixers"):
        mixer_for_prefix(tmp_path / "e")


def test_existing_image_is_not_overwritten_silently(tmp_path):
    band = np.zeros((37, 50), np.float32)
    first = write_image({"b": band}, tmp_path / "x", patch_dimensions=PATCH, max_file_bytes=2_000)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_image({"b": band}, tmp_path / "x", patch_dimensions=PATCH)
    second = write_image({"b": band + 1}, tmp_path / "x", patch_dimensions=PATCH, overwrite=True)
    assert len(first.files) > 1 and len(second.files) == 1  # the earlier, longer shard list is gone
    assert files_for_prefix(tmp_path / "x") == second.files
    assert (read_ee_image_bands(second.files, second.mixer_path)["b"][:37, :50] == 1).all()


# ------------------------------------------------------------------------------------------
# writer errors


@pytest.mark.parametrize(
    "bands, kwargs, error, message",
    [
        ({}, {}, ValueError, "non-empty"),
        ({"b": np.zeros((4, 4, 1), np.float32)}, {}, ValueError, r"band 'b': expected a \(height, width\) array"),
        ({"a": np.zeros((4, 4)), "b": np.zeros((4, 5))}, {}, ValueError, r"band 'b' has shape \(4, 5\)"),
        ({"b": np.zeros((4, 4), bool)}, {}, TypeError, r"band 'b': dtype bool cannot be written"),
        ({"b": np.zeros((4, 4), np.uint64)}, {}, TypeError, "dtype uint64"),
        ({"b": np.full((4, 4), 0.1)}, {}, ValueError, r"band 'b' is float64 and its value 0\.1 at \(row, col\) \(0, 0\)"),
        ({"b": np.zeros((5, 5), np.uint8)}, {"fill": -1}, ValueError, r"fill -1 is not exactly a uint8 value \(band 'b'\)"),
        ({"b": np.zeros((5, 5), np.int16)}, {"fill": float("nan")}, ValueError, "fill nan is not exactly a int16"),
        ({"b": np.zeros((4, 4), np.float32)}, {"patch_dimensions": (0, 4)}, ValueError, "positive"),
        ({"b": np.zeros((4, 4), np.float32)}, {"patch_dimensions": 4}, TypeError, r"\(width, height\)"),
        ({"b": np.zeros((4, 4), np.float32)}, {"compression": "zlib"}, ValueError, "compression"),
        ({"b": np.zeros((4, 4), np.float32)}, {"max_file_bytes": 0}, ValueError, "max_file_bytes"),
        ({"b": np.zeros((4, 4), np.float32)}, {"projection": "EPSG:4326"}, TypeError, "projection"),
    ],
)
def test_write_errors(tmp_path, bands, kwargs, error, message):
    kwargs = {"patch_dimensions": (4, 4), **kwargs}
    with pytest.raises(error, match=message):
        write_image(bands, tmp_path / "x", **kwargs)
    assert not os.listdir(tmp_path)  # nothing written


def test_overwrite_leaves_other_prefixes_alone(tmp_path):
    band = np.zeros((8, 8), np.float32)
    other = write_image({"b": band}, tmp_path / "xy", patch_dimensions=(8, 8))
    write_image({"b": band}, tmp_path / "x", patch_dimensions=(8, 8))
    (tmp_path / "x00007.tfrecord").write_bytes(b"")  # a stray shard of x in the other naming
    write_image({"b": band}, tmp_path / "x", patch_dimensions=(8, 8), overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["x-00000.tfrecord.gz", "x-mixer.json", "xy-00000.tfrecord.gz",
                                            "xy-mixer.json"]
    assert files_for_prefix(tmp_path / "xy") == other.files


def test_big_endian_bands(tmp_path):
    bands = {"i": np.arange(16, dtype=">i2").reshape(4, 4) - 8, "f": np.linspace(0, 1, 16, dtype=">f4").reshape(4, 4)}
    written = write_image(bands, tmp_path / "x", patch_dimensions=(4, 4))
    got = read_ee_image_bands(written.files, written.mixer_path, dtypes={"i": np.int16})
    assert np.array_equal(got["i"], bands["i"]) and np.array_equal(got["f"], bands["f"])


def test_fill_not_checked_when_no_padding(tmp_path):
    written = write_image({"b": np.zeros((8, 8), np.uint8)}, tmp_path / "x", patch_dimensions=(4, 4), fill=-1)
    assert written.padded_shape == written.shape == (8, 8)


# ------------------------------------------------------------------------------------------
# reader: kinds into dtypes, exactly or DecodeError


def _write_records(backend, path, band_values, patch=(2, 2), total=1):
    record = backend.example.encode_example(band_values)
    backend.tfrecord.write_tfrecord(path, [record] * total)
    return {"patchDimensions": list(patch), "patchesPerRow": 1, "totalPatches": total}


@pytest.mark.parametrize(
    "value, dtype, message",
    [
        (np.array([1, 2, 3, 2.5], np.float32), np.uint8, r"band 'b': value 2\.5 at index 3 of its float_list is not exactly a uint8"),
        (np.array([1, 2, 3, 256], np.float32), np.uint8, r"band 'b': value 256\.0 at index 3 .* uint8"),
        (np.array([0, np.nan, 0, 0], np.float32), np.int16, r"band 'b': value nan at index 1 .* int16"),
        (np.array([1, -40000, 0, 0], np.int64), np.int16, r"band 'b': value -40000 at index 1 of its int64_list is not exactly a int16"),
        (np.array([0, 0, 2**24 + 1, 0], np.int64), np.float32, r"band 'b': value 16777217 at index 2 .* float32"),
        (b"\x00\x01\x02", np.uint8, r"band 'b' has 3 values, expected 2x2 = 4"),
        (b"\x00\x01\x02", np.int16, r"band 'b' holds 3 bytes, not a whole number of int16 values \(2 bytes each\)"),
        ([b"\x00\x01", b"\x02\x03"], np.uint8, r"band 'b' is a bytes_list of 2 values, expected one raw value"),
    ],
)
def test_inexact_values(tmp_path, backend, value, dtype, message):
    mixer = _write_records(backend, tmp_path / "r.tfrecord", {"b": value})
    with pytest.raises(DecodeError, match=r"^patch 0 \(.*r\.tfrecord, record 0\): " + message):
        read_ee_image_export(tmp_path / "r.tfrecord", mixer, dtypes={"b": dtype}, kernel_size=1)


@pytest.mark.parametrize(
    "value, dtype, want",
    [
        (np.array([1, 2, 255, 0], np.float32), np.uint8, [1, 2, 255, 0]),  # an EE float export of classes
        (np.array([-1, 2, 3, 4], np.int64), np.float32, [-1, 2, 3, 4]),
        (np.array([0.5, np.nan, -np.inf, 1], np.float32), np.float64, [0.5, np.nan, -np.inf, 1]),
        (np.array([1, -2, 300, -32768], "<i2").tobytes(), np.int16, [1, -2, 300, -32768]),
        (np.array([1, 2, 65535, 0], "<u2").tobytes(), np.uint16, [1, 2, 65535, 0]),
        (np.array([0.25, -1, 2, 3], "<f4").tobytes(), np.float32, [0.25, -1, 2, 3]),
    ],
)
def test_exact_conversions(tmp_path, backend, value, dtype, want):
    mixer = _write_records(backend, tmp_path / "r.tfrecord", {"b": value}, total=2)
    mixer["patchesPerRow"] = 2
    got = read_ee_image_bands(tmp_path / "r.tfrecord", mixer, dtypes=dtype)["b"]
    assert got.dtype == dtype and got.shape == (2, 4)
    assert np.array_equal(got[:, :2].ravel(), np.array(want, dtype), equal_nan=True)


def test_band_changes_kind_between_patches(tmp_path, backend):
    records = [backend.example.encode_example({"b": b"\x00" * 4}),
               backend.example.encode_example({"b": np.zeros(4, np.int64)})]
    backend.tfrecord.write_tfrecord(tmp_path / "r.tfrecord", records)
    mixer = {"patchDimensions": [2, 2], "patchesPerRow": 2, "totalPatches": 2}
    with pytest.raises(DecodeError, match=r"^patch 1 \(.*record 1\): band 'b' is an int64_list, expected a bytes_list$"):
        read_ee_image_export(tmp_path / "r.tfrecord", mixer)


@pytest.mark.parametrize("dtypes", [np.uint64, {"b": np.bool_}, {"b": "U3"}, np.complex64])
def test_bad_dtypes(tmp_path, backend, dtypes):
    mixer = _write_records(backend, tmp_path / "r.tfrecord", {"b": np.zeros(4, np.float32)})
    with pytest.raises(TypeError, match="is not one of float32"):
        read_ee_image_export(tmp_path / "r.tfrecord", mixer, dtypes=dtypes)


def test_dtypes_for_some_bands_only(tmp_path):
    bands = {"u": np.arange(16, dtype=np.uint16).reshape(4, 4), "f": np.ones((4, 4), np.float32)}
    written = write_image(bands, tmp_path / "x", patch_dimensions=(4, 4))
    got = read_ee_image_bands(written.files, written.mixer_path, dtypes={"u": np.uint16})
    assert got["u"].dtype == np.uint16 and got["f"].dtype == np.float32
    assert np.array_equal(got["u"], bands["u"])


def test_prefix_directory_with_glob_characters(tmp_path):
    d = tmp_path / "a[1]*"
    d.mkdir()
    written = write_image({"b": np.ones((4, 4), np.float32)}, d / "x", patch_dimensions=(4, 4))
    assert files_for_prefix(d / "x") == written.files
    shutil.rmtree(d)
