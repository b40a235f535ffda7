"""``python -m tensorwire predict-image`` end to end, against tensorwire.serve on loopback.

The command runs in this process (``tensorwire.__main__.main``); the model is a pointwise
function that crops the overlap margin, so the stitched predictions must equal the function
applied to the whole image, exactly.  Inputs come from ``.npy`` files and from an Earth Engine
TFRecord export written by ``write_image`` (shard names without the dash); outputs go to
``.npy`` / ``.npz`` and to EE TFRecord (read back with ``read_ee_image_bands``).
"""

import json
import os

import re

import numpy as np
import pytest

from serving import inproc
from tensorwire.__main__ import main
from tensorwire.ee import files_for_prefix, load_mixer, read_ee_image_bands, write_image

FORMATS = ["SERIALIZED_TF_TENSORS", "GRPC_TF_TENSORS"]
MARGIN = 2  # --overlap 4: two pixels on each edge
TILE = 8
MODEL = {}


def dispatch(inputs):
    return MODEL["fn"](inputs)


def pointwise(inputs):
    m = MARGIN
    b1, b2 = inputs["B1"][:, m:-m, m:-m], inputs["B2"][:, m:-m, m:-m]
    return {"y": b1 * 2 + b2, "cls": (b1 > 0).astype(np.uint8)}


@pytest.fixture(scope="module")
def server():
    with inproc(dispatch, formats=FORMATS) as srv:
        yield {"SERIALIZED_TF_TENSORS": srv.http_url, "GRPC_TF_TENSORS": srv.grpc_target}


@pytest.fixture(autouse=True)
def model():
    MODEL["fn"] = pointwise


def bands(h=21, w=30, seed=0):
    rng = np.random.default_rng(seed)
    return {"B1": rng.integers(-50, 50, (h, w)).astype(np.float32),
            "B2": rng.integers(-50, 50, (h, w)).astype(np.float32)}


def expected(b):
    return {"y": b["B1"] * 2 + b["B2"], "cls": (b["B1"] > 0).astype(np.uint8)}


def common(target, fmt):
    return ["predict-image", target, "--format", fmt, "--tile", str(TILE), "--overlap", str(2 * MARGIN),
            "--no-progress", "--timeout", "20"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_npy_bands_to_npz(server, tmp_path, fmt):
    b = bands()
    for name, array in b.items():
        np.save(tmp_path / f"{name}.npy", array)
    status = main([*common(server[fmt], fmt), "--output-band", "y:float32", "--output-band", "cls:uint8",
                   "--band-file", f"B1={tmp_path / 'B1.npy'}", "--band-file", f"B2={tmp_path / 'B2.npy'}",
                   "--out", str(tmp_path / "out.npz")])
    assert status == 0
    with np.load(tmp_path / "out.npz") as out:
        assert sorted(out.files) == ["cls", "y"]
        for name, want in expected(b).items():
            assert out[name].dtype == want.dtype and np.array_equal(out[name], want), name


def test_one_band_to_npy(server, tmp_path):
    b = bands(9, 17)
    for name, array in b.items():
        np.save(tmp_path / f"{name}.npy", array)
    status = main([*common(server[FORMATS[0]], FORMATS[0]), "--output-band", "y:float32",
                   "--band-file", f"B1={tmp_path / 'B1.npy'}", "--band-file", f"B2={tmp_path / 'B2.npy'}",
                   "--out", str(tmp_path / "y.npy")])
    assert status == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), expected(b)["y"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_to_ee_tfrecord(server, tmp_path, fmt):
    b = bands(16, 24)  # the export's grid: whole 8x8 patches
    projection = {"crs": "EPSG:32610", "affine": {"doubleMatrix": [10.0, 0.0, 500000.0, 0.0, -10.0, 4200000.0]}}
    src = write_image(b, tmp_path / "in", patch_dimensions=(8, 8), projection=projection, max_file_bytes=1_500)
    assert len(src.files) > 1
    for path in src.files:  # EE's other shard naming: in00000.tfrecord.gz
        os.rename(path, path.replace("in-0", "in0"))
    os.rename(src.mixer_path, tmp_path / "inmixer.json")
    status = main([*common(server[fmt], fmt), "--output-band", "y:float32", "--output-band", "cls:uint8",
                   "--export", str(tmp_path / "in"), "--bands", "B1,B2",
                   "--out-prefix", str(tmp_path / "pred"), "--patch", "16"])
    assert status == 0
    mixer = load_mixer(tmp_path / "pred-mixer.json")
    assert mixer["projection"] == projection  # the predictions have the export's grid
    assert mixer["patchDimensions"] == [16, 16] and mixer["totalPatches"] == 2
    got = read_ee_image_bands(files_for_prefix(tmp_path / "pred"), mixer)
    for name, want in expected(b).items():
        assert got[name].dtype == want.dtype
        assert np.array_equal(got[name][:16, :24], want), name


def test_export_files_and_mixer_given(server, tmp_path):
    b = bands(16, 16)
    src = write_image(b, tmp_path / "in", patch_dimensions=(8, 8), max_file_bytes=1_500)
    status = main([*common(server[FORMATS[0]], FORMATS[0]), "--output-band", "y:float32",
                   "--export", *src.files, "--mixer", src.mixer_path, "--out", str(tmp_path / "y.npy")])
    assert status == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), expected(b)["y"])


def test_array_band_to_ee_tfrecord(server, tmp_path):
    def stacked(inputs):
        m = MARGIN
        b1 = inputs["B1"][:, m:-m, m:-m, 0]
        return {"probs": np.stack([b1, -b1, b1 * 0], axis=-1)}

    MODEL["fn"] = stacked
    b = bands(8, 16)
    np.save(tmp_path / "B1.npy", b["B1"])
    status = main([*common(server[FORMATS[0]], FORMATS[0]), "--output-band", "probs:float32:1",
                   "--band-file", f"B1={tmp_path / 'B1.npy'}", "--out-prefix", str(tmp_path / "p"), "--patch", "8"])
    assert status == 0
    got = read_ee_image_bands(files_for_prefix(tmp_path / "p"), tmp_path / "p-mixer.json")
    assert sorted(got) == ["probs_0", "probs_1", "probs_2"]
    assert np.array_equal(got["probs_1"], -b["B1"])
    assert json.loads((tmp_path / "p-mixer.json").read_text())["projection"]["crs"].startswith("FILL IN")


def test_progress_bar(server, tmp_path, capsys):
    b = bands(8, 8)
    for name, array in b.items():
        np.save(tmp_path / f"{name}.npy", array)
    args = [a for a in common(server[FORMATS[0]], FORMATS[0]) if a != "--no-progress"]
    status = main([*args, "--progress", "--output-band", "y:float32", "--band-file", f"B1={tmp_path / 'B1.npy'}",
                   "--band-file", f"B2={tmp_path / 'B2.npy'}", "--out", str(tmp_path / "y.npy")])
    assert status == 0
    err = capsys.readouterr().err
    assert re.search(r"\b0/1 \[", err) and re.search(r"\b1/1 \[[0-9:]+<[0-9:]+, +[0-9.]+ ?tiles?/s\]", err), err  # count, elapsed<ETA, rate


# ------------------------------------------------------------------------------------ failures


def test_a_band_the_model_does_not_answer(server, tmp_path, capsys):
    b = bands(8, 8)
    for name, array in b.items():
        np.save(tmp_path / f"{name}.npy", array)
    status = main([*common(server[FORMATS[0]], FORMATS[0]), "--output-band", "nope:float32",
                   "--band-file", f"B1={tmp_path / 'B1.npy'}", "--band-file", f"B2={tmp_path / 'B2.npy'}",
                   "--out", str(tmp_path / "y.npy")])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("tensorwire predict-image: ") and "nope" in err
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("extra, message", [
    (["--output-band", "cls:uint8", "--out", "y.npy"], "2 output bands need a .npz file"),
    (["--out", "y.tif"], "expected a .npy or .npz file name"),
    (["--overlap", "3", "--out", "y.npy"], "so even"),
])
def test_arguments_refused_before_any_request(tmp_path, capsys, extra, message, monkeypatch):
    """Refused as usage errors (status 2) before anything is read or sent: the target is a port
    nothing listens on, the band file does not exist."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["predict-image", "http://127.0.0.1:9/predict", "--format", "RAW_JSON", "--tile", "8",
              "--output-band", "y:float32", "--band-file", f"B1={tmp_path / 'absent.npy'}", *extra])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_export_prefix_without_shards(server, tmp_path, capsys):
    status = main([*common(server[FORMATS[0]], FORMATS[0]), "--output-band", "y:float32",
                   "--export", str(tmp_path / "none"), "--out", str(tmp_path / "y.npy")])
    assert status == 1
    assert "no TFRecord shards" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["y", "y:float128", "y:float32:x", ":float32", "y:float32:1:2"])
def test_bad_output_band(tmp_path, spec, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["predict-image", "http://127.0.0.1:9/predict", "--format", "RAW_JSON", "--tile", "8",
              "--output-band", spec, "--band-file", "B1=x.npy", "--out", str(tmp_path / "y.npy")])
    assert exc.value.code == 2
    assert "--output-band" in capsys.readouterr().err
