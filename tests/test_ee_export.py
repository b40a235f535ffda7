"""Earth Engine TFRecord image exports (tensorwire.ee_export).

A synthetic export is written with tensorwire's own TFRecord writer and tf.Example encoder, laid out
as Earth Engine lays out an image export: a source image larger than the region by the kernel
margin on every side, cut into a grid of patches of ``patchDimensions`` plus the margin, one
tf.Example per patch (each band a float_list, row-major), patches row-major over the region,
spread over several files (gzip and plain), and a mixer dict / mixer.json.  TensorFlow is the
oracle for the files and records (``TFRecordDataset`` + ``parse_single_example`` with
``FixedLenFeature([h + margin, w + margin], tf.float32)``); the stitched image must equal the
source region exactly.
"""

import json
import os
import pathlib
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from tensorwire.codecs import example as example_codec  # noqa: E402
from tensorwire.codecs import tfrecord as tfrecord_codec  # noqa: E402
from tensorwire.ee_export import iter_ee_image_export, read_ee_image_export  # noqa: E402
from tensorwire.errors import DecodeError  # noqa: E402

BANDS = ("B4", "B11", "NDVI", "B2")  # the image's band order; sorted: B11, B2, B4, NDVI
WIDTH, HEIGHT = 6, 4  # patchDimensions is [width, height]
PER_ROW, ROWS = 4, 3
TOTAL = PER_ROW * ROWS
SPLIT = (5, 4, 3)  # patches per file, as maxFileSize would split them
COMPRESSIONS = ("gzip", None, "gzip")


@dataclass
class Export:
    kernel_size: object
    margin: tuple  # (rows above/below, columns left/right)
    files: list
    mixer: dict
    mixer_path: pathlib.Path
    region: np.ndarray  # (ROWS * HEIGHT, PER_ROW * WIDTH, len(BANDS)), bands in BANDS order
    patches: list  # per patch: {band: (HEIGHT + 2 my, WIDTH + 2 mx) array}, margin included
    compressions: tuple

    def expected(self, bands=None):
        order = sorted(BANDS) if bands is None else list(bands)
        return self.region[..., [BANDS.index(b) for b in order]]


def margins(kernel_size):
    kx, ky = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return ky // 2, kx // 2


def make_export(directory, kernel_size, *, split=SPLIT, compressions=COMPRESSIONS, seed=7, mutate=None):
    """Write an export; ``mutate(index, features) -> features`` alters the tf.Example of a patch;
    ``split`` is the number of patches per file (a shorter total leaves the last patches out)."""
    my, mx = margins(kernel_size)
    rng = np.random.default_rng(seed)
    source = rng.standard_normal((ROWS * HEIGHT + 2 * my, PER_ROW * WIDTH + 2 * mx, len(BANDS)), dtype=np.float32)
    region = source[my : my + ROWS * HEIGHT, mx : mx + PER_ROW * WIDTH]
    patches, records = [], []
    for index in range(TOTAL):
        row, col = divmod(index, PER_ROW)
        window = source[row * HEIGHT : row * HEIGHT + HEIGHT + 2 * my, col * WIDTH : col * WIDTH + WIDTH + 2 * mx]
        features = {band: np.ascontiguousarray(window[..., i]) for i, band in enumerate(BANDS)}
        patches.append(features)
        if mutate is not None:
            features = mutate(index, dict(features))
        # key order inside a record is not defined: sorted for some patches, the image's order for others
        records.append(example_codec.encode_example(features, sort_keys=index % 2 == 0))
    files, start = [], 0
    for number, (count, compression) in enumerate(zip(split, compressions)):
        path = directory / f"export-{number:05d}.tfrecord{'.gz' if compression == 'gzip' else ''}"
        tfrecord_codec.write_tfrecord(path, records[start : start + count], compression=compression)
        files.append(path)
        start += count
    mixer = {
        "projection": {"crs": "EPSG:4326", "affine": {"doubleMatrix": [0.0003, 0.0, -122.5, 0.0, -0.0003, 37.9]}},
        "patchDimensions": [WIDTH, HEIGHT],
        "patchesPerRow": PER_ROW,
        "totalPatches": TOTAL,
    }
    mixer_path = directory / "exportmixer.json"
    mixer_path.write_text(json.dumps(mixer, indent=2))
    return Export(kernel_size, (my, mx), files, mixer, mixer_path, region.copy(), patches, tuple(compressions))


KERNEL_SIZES = [1, 3, 5, 4, (3, 5)]  # 1 = no margin (EE's default); (kx, ky) = a different margin per axis


@pytest.fixture(scope="module", params=KERNEL_SIZES, ids=lambda k: f"k{k}" if isinstance(k, int) else f"k{k[0]}x{k[1]}")
def export(request, tmp_path_factory):
    return make_export(tmp_path_factory.mktemp("ee"), request.param)


# ------------------------------------------------------------------------------------------
# the synthetic export is what TensorFlow reads as an EE export


def test_tensorflow_reads_every_patch(export):
    my, mx = export.margin
    shape = [HEIGHT + 2 * my, WIDTH + 2 * mx]
    spec = {band: tf.io.FixedLenFeature(shape, tf.float32) for band in BANDS}
    parsed = []
    for path, compression in zip(export.files, export.compressions):
        dataset = tf.data.TFRecordDataset(str(path), compression_type="GZIP" if compression == "gzip" else "")
        parsed += [tf.io.parse_single_example(record, spec) for record in dataset]
    assert len(parsed) == TOTAL
    for index, (got, want) in enumerate(zip(parsed, export.patches)):
        for band in BANDS:
            assert got[band].shape == tuple(shape)
            assert np.array_equal(got[band].numpy(), want[band]), (index, band)


def test_patches_overlap_by_the_margin(export):
    """The synthetic layout itself: neighbouring patches share 2 * margin columns / rows."""
    my, mx = export.margin
    first, right, below = (export.patches[i]["B2"] for i in (0, 1, PER_ROW))
    assert first.shape == (HEIGHT + 2 * my, WIDTH + 2 * mx)
    assert np.array_equal(first[:, WIDTH:], right[:, : 2 * mx])
    assert np.array_equal(first[HEIGHT:, :], below[: 2 * my, :])
    assert not np.array_equal(first[:, WIDTH - 1 :], right[:, : 2 * mx + 1])


# ------------------------------------------------------------------------------------------
# reading it back


@pytest.mark.parametrize("mixer_as", ["dict", "path", "str"])
def test_stitched_image_equals_source(export, mixer_as):
    mixer = {"dict": export.mixer, "path": export.mixer_path, "str": str(export.mixer_path)}[mixer_as]
    image = read_ee_image_export(export.files, mixer, kernel_size=export.kernel_size)
    assert image.dtype == np.float32
    assert image.shape == (ROWS * HEIGHT, PER_ROW * WIDTH, len(BANDS))
    assert image.flags.c_contiguous
    assert np.array_equal(image, export.expected())  # default band order: sorted names


def test_kernel_size_as_list(export):
    k = export.kernel_size
    as_list = [k, k] if isinstance(k, int) else list(k)
    image = read_ee_image_export(export.files, export.mixer, kernel_size=as_list)
    assert np.array_equal(image, export.expected())


def test_margin_inferred_when_kernel_size_is_none(export):
    my, mx = export.margin
    if my != mx:
        with pytest.raises(DecodeError, match=r"patch 0 .*pass the export's kernel_size"):
            read_ee_image_export(export.files, export.mixer)
        return
    assert np.array_equal(read_ee_image_export(export.files, export.mixer), export.expected())


@pytest.mark.parametrize("bands", [BANDS, ("NDVI",), ("B2", "B4")])
def test_band_order_and_subset(export, bands):
    image = read_ee_image_export(export.files, export.mixer, bands=bands, kernel_size=export.kernel_size)
    assert image.shape == (ROWS * HEIGHT, PER_ROW * WIDTH, len(bands))
    assert np.array_equal(image, export.expected(bands))


def test_iterator_yields_each_patch_without_margin(export):
    my, mx = export.margin
    seen = []
    for row, col, patch in iter_ee_image_export(export.files, export.mixer, kernel_size=export.kernel_size):
        seen.append((row, col))
        assert list(patch) == sorted(BANDS)
        want = export.region[row * HEIGHT : (row + 1) * HEIGHT, col * WIDTH : (col + 1) * WIDTH]
        for band, values in patch.items():
            assert values.dtype == np.float32 and values.shape == (HEIGHT, WIDTH)
            assert np.array_equal(values, want[..., BANDS.index(band)]), (row, col, band)
            padded = export.patches[row * PER_ROW + col][band]
            assert np.array_equal(values, padded[my : my + HEIGHT, mx : mx + WIDTH])
    assert seen == [divmod(i, PER_ROW) for i in range(TOTAL)]


def test_iterator_band_order(export):
    _, _, patch = next(iter_ee_image_export(export.files, export.mixer, bands=["NDVI", "B11"],
                                            kernel_size=export.kernel_size))
    assert list(patch) == ["NDVI", "B11"]


@pytest.mark.parametrize("as_", ["str", "path", "file", "list"])
def test_single_file(tmp_path, as_):
    e = make_export(tmp_path, 3, split=(TOTAL,), compressions=(None,))
    path = e.files[0]
    if as_ == "file":
        with open(path, "rb") as f:
            image = read_ee_image_export(f, e.mixer, kernel_size=3)
    else:
        files = {"str": str(path), "path": path, "list": [str(path)]}[as_]
        image = read_ee_image_export(files, e.mixer, kernel_size=3)
    assert np.array_equal(image, e.expected())


def test_files_read_in_the_order_given(tmp_path):
    e = make_export(tmp_path, 1)
    image = read_ee_image_export(e.files[::-1], e.mixer, kernel_size=1)
    assert image.shape == e.region.shape
    assert not np.array_equal(image, e.expected())  # the caller's order is the patch order


# ------------------------------------------------------------------------------------------
# bad exports


def _drop(band, at):
    def mutate(index, features):
        if index == at:
            del features[band]
        return features

    return mutate


def _shorten(band, at):
    def mutate(index, features):
        if index == at:
            features[band] = features[band].ravel()[:-1]
        return features

    return mutate


def _as_int(band, at):
    def mutate(index, features):
        if index == at:
            features[band] = features[band].astype(np.int64)
        return features

    return mutate


def _as_bytes(band, at):
    def mutate(index, features):
        if index == at:
            features[band] = [b"not", b"pixels"]
        return features

    return mutate


@pytest.mark.parametrize("kernel_size", [1, 5])
@pytest.mark.parametrize(
    "mutate, message",
    [
        (_drop("B2", 7), r"^patch 7 \(.*export-00001\.tfrecord, record 2\): band 'B2' is missing$"),
        (_drop("NDVI", 0), r"^patch 0 \(.*export-00000\.tfrecord\.gz, record 0\): band 'NDVI' is missing$"),
        (_shorten("NDVI", 5), r"^patch 5 \(.*record 0\): band 'NDVI' has \d+ values, expected"),
        (_shorten("B11", 11), r"^patch 11 \(.*export-00002\.tfrecord\.gz, record 2\): band 'B11' has"),
        (_as_int("B4", 3), r"^patch 3 \(.*\): band 'B4' is an int64_list, expected a float_list$"),
        (_as_bytes("B4", 9), r"^patch 9 \(.*\): band 'B4' is a bytes_list, expected a float_list$"),
    ],
)
def test_bad_patch(tmp_path, kernel_size, mutate, message):
    e = make_export(tmp_path, kernel_size, mutate=mutate)
    with pytest.raises(DecodeError, match=message):
        read_ee_image_export(e.files, e.mixer, bands=BANDS, kernel_size=kernel_size)
    with pytest.raises(DecodeError, match=message):
        for _ in iter_ee_image_export(e.files, e.mixer, bands=BANDS, kernel_size=kernel_size):
            pass


def test_band_with_no_list_set(tmp_path, export):
    # Example{features{feature{key: "B2", value: Feature{}}}}: a Feature with no kind, by hand
    record = bytes.fromhex("0a08") + bytes.fromhex("0a06") + bytes.fromhex("0a02") + b"B2" + bytes.fromhex("1200")
    path = tmp_path / "nokind.tfrecord"
    tfrecord_codec.write_tfrecord(path, [record])
    # the first patch sets a band's feature kind: with no kind there, any of the three was possible
    message = (r"^patch 0 \(.*\): band 'B2' is a feature with no list set, "
               r"expected a float_list, an int64_list or a bytes_list$")
    with pytest.raises(DecodeError, match=message):
        read_ee_image_export(path, export.mixer, bands=["B2"], kernel_size=export.kernel_size)


def test_missing_band_found_with_default_bands(tmp_path):
    e = make_export(tmp_path, 3, mutate=_drop("B4", 6))
    with pytest.raises(DecodeError, match=r"^patch 6 .*band 'B4' is missing"):
        read_ee_image_export(e.files, e.mixer, kernel_size=3)


def test_band_not_in_export(export):
    with pytest.raises(DecodeError, match=r"^patch 0 .*band 'B8' is missing"):
        read_ee_image_export(export.files, export.mixer, bands=["B2", "B8"], kernel_size=export.kernel_size)


def test_wrong_kernel_size(export):
    wrong = 1 if export.margin != (0, 0) else 3
    with pytest.raises(DecodeError, match=r"^patch 0 \(.*\): band 'B11' has \d+ values, expected"):
        read_ee_image_export(export.files, export.mixer, kernel_size=wrong)


def test_too_few_patches(tmp_path):
    e = make_export(tmp_path, 3, split=(5, 4, 2))  # the last patch is not written
    with pytest.raises(DecodeError, match=r"^the export has 11 patches, the mixer's totalPatches is 12$"):
        read_ee_image_export(e.files, e.mixer, kernel_size=3)
    got = []
    with pytest.raises(DecodeError, match="11 patches"):
        for row, col, _ in iter_ee_image_export(e.files, e.mixer, kernel_size=3):
            got.append((row, col))
    assert got == [divmod(i, PER_ROW) for i in range(11)]  # streaming: the error comes after the last patch


def test_missing_file_is_too_few_patches(export):
    with pytest.raises(DecodeError, match=r"the export has 8 patches, the mixer's totalPatches is 12"):
        read_ee_image_export([export.files[0], export.files[2]], export.mixer, kernel_size=export.kernel_size)


def test_too_many_patches(tmp_path, export):
    extra = tmp_path / "extra.tfrecord"
    tfrecord_codec.write_tfrecord(extra, [example_codec.encode_example(export.patches[0])])
    with pytest.raises(DecodeError, match=r"^patch 12 \(.*extra\.tfrecord, record 0\): more patches than the "
                                          r"mixer's totalPatches \(12\)$"):
        read_ee_image_export([*export.files, extra], export.mixer, kernel_size=export.kernel_size)


def test_empty_patch(tmp_path, export):
    path = tmp_path / "empty.tfrecord"
    tfrecord_codec.write_tfrecord(path, [example_codec.encode_example({})])
    with pytest.raises(DecodeError, match=r"^patch 0 .*no features"):
        read_ee_image_export(path, export.mixer)


def test_corrupt_record_names_the_file(tmp_path):
    e = make_export(tmp_path, 3)
    plain = e.files[1]
    data = bytearray(plain.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a record's data: its CRC no longer matches
    plain.write_bytes(bytes(data))
    with pytest.raises(DecodeError, match=r"^.*export-00001\.tfrecord: "):
        read_ee_image_export(e.files, e.mixer, kernel_size=3)


def test_corrupt_example_names_the_patch(tmp_path, export):
    path = tmp_path / "bad.tfrecord"
    good = example_codec.encode_example(export.patches[0])
    tfrecord_codec.write_tfrecord(path, [good[:-3]])  # a truncated tf.Example in a valid record
    with pytest.raises(DecodeError, match=r"^patch 0 \(.*bad\.tfrecord, record 0\): "):
        read_ee_image_export(path, export.mixer, kernel_size=export.kernel_size)


# ------------------------------------------------------------------------------------------
# bad mixers and arguments


@pytest.mark.parametrize(
    "change, message",
    [
        ({"totalPatches": 10}, r"totalPatches \(10\) is not a multiple of patchesPerRow \(4\)"),
        ({"patchesPerRow": 0}, r"patchesPerRow must be a positive integer"),
        ({"patchDimensions": [6]}, r"patchDimensions must be \[width, height\]"),
        ({"patchDimensions": [6, 4.5]}, r"patchDimensions\[1\] \(height\) must be a positive integer"),
        ({"totalPatches": None}, r"totalPatches must be a positive integer"),
    ],
)
def test_bad_mixer(export, change, message):
    with pytest.raises(DecodeError, match=message):
        read_ee_image_export(export.files, {**export.mixer, **change}, kernel_size=export.kernel_size)


def test_mixer_missing_key(export):
    mixer = {k: v for k, v in export.mixer.items() if k != "patchesPerRow"}
    with pytest.raises(DecodeError, match="^mixer: missing patchesPerRow$"):
        read_ee_image_export(export.files, mixer)


def test_mixer_file_not_json(tmp_path, export):
    path = tmp_path / "mixer.json"
    path.write_text("{not json")
    with pytest.raises(DecodeError, match="is not JSON"):
        read_ee_image_export(export.files, path)


def test_mixer_totalpatches_fits_a_different_grid(export):
    """A consistent but different grid (6 per row, 2 rows) puts the same patches elsewhere."""
    mixer = {**export.mixer, "patchesPerRow": 6}
    image = read_ee_image_export(export.files, mixer, kernel_size=export.kernel_size)
    want = export.expected()
    assert image.shape == (2 * HEIGHT, 6 * WIDTH, len(BANDS))
    assert np.array_equal(image[:HEIGHT, : PER_ROW * WIDTH], want[:HEIGHT])
    assert np.array_equal(image[:HEIGHT, PER_ROW * WIDTH :], want[HEIGHT : 2 * HEIGHT, : 2 * WIDTH])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"bands": "B2"}, TypeError),
        ({"bands": []}, ValueError),
        ({"bands": ["B2", "B2"]}, ValueError),
        ({"kernel_size": 0}, ValueError),
        ({"kernel_size": (3,)}, TypeError),
        ({"kernel_size": 2.0}, TypeError),
    ],
)
def test_bad_arguments(export, kwargs, error):
    with pytest.raises(error):
        read_ee_image_export(export.files, export.mixer, **kwargs)


def test_no_files(export):
    with pytest.raises(ValueError, match="no TFRecord files"):
        read_ee_image_export([], export.mixer)
