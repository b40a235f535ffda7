"""tensorwire.dask against tensorwire.serve on loopback, on one LocalCluster (2 worker processes,
one thread each) shared by the module.

The models run in this process's server; the workers (separate processes, which inherit the
environment, so TENSORWIRE_PURE_PYTHON too) make the requests.  Everything the workers run comes
from tensorwire (nothing from this module is shipped to them).
"""

import ctypes
import gzip
import json
import io
import os
import signal
import threading
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402

import tensorwire as tw  # noqa: E402
import tensorwire.dask as twd  # noqa: E402
from serving import inproc  # noqa: E402
from tensorwire.ee import Model  # noqa: E402
from tensorwire.errors import DecodeError  # noqa: E402

M = 4  # the margin: input_overlap_size 8 is 4 pixels per edge
MODEL = {}  # "fn": what the shared server calls
SEEN = {"requests": 0}
SEEN_LOCK = threading.Lock()


def dispatch(inputs):
    with SEEN_LOCK:
        SEEN["requests"] += 1
    return MODEL["fn"](inputs)


def stencil(inputs):
    """Reads the whole margin: a neighbour's pixel 4 away on every side, so a wrong margin or a
    wrong fill shows.  ``x`` is (N, h, w, 3), ``nir`` (N, h, w, 1)."""
    x, nir = inputs["x"], inputs["nir"][..., 0]
    core = (slice(None), slice(M, -M), slice(M, -M))
    y = (x[core].sum(-1) + 2 * x[:, :-2 * M, M:-M, 0] - x[:, 2 * M:, M:-M, 1]
         + nir[:, M:-M, 2 * M:] - 3 * nir[:, M:-M, :-2 * M])
    v = np.stack([x[core][..., 2] * 0.5, nir[core]], axis=-1)
    return {"y": y, "v": v}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as lc, distributed.Client(lc, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(scope="module")
def server():
    """``{format: target}``: one server for the module, HTTP and gRPC."""
    with inproc(dispatch, formats=["SERIALIZED_TF_TENSORS", "GRPC_TF_TENSORS"]) as srv:
        yield {"SERIALIZED_TF_TENSORS": srv.http_url, "GRPC_TF_TENSORS": srv.grpc_target}


def image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-50, 50, (h, w, 4)).astype(np.float32)


def lazy_image(client, h, w, chunks, seed=0):
    """A (h, w, 4) image made on the workers (not shipped in the graph), and its values here."""
    img = da.random.RandomState(seed).randint(-50, 50, (h, w, 4), chunks=chunks).astype(np.float32)
    img = client.persist(img)
    return img, run(client, img)


def run(client, collection, timeout=120):
    """``client.compute(collection)``'s result, waited for at most ``timeout`` seconds (a dict of
    arrays gives a dict of results)."""
    if isinstance(collection, dict):
        futures = client.compute(list(collection.values()))
        return dict(zip(collection, (f.result(timeout=timeout) for f in futures)))
    return client.compute(collection).result(timeout=timeout)


def stats(client):
    return client.run(twd.worker_stats)


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "GRPC_TF_TENSORS"])
def test_a_1024_by_1536_image_equals_the_in_process_prediction(cluster, server, fmt):
    MODEL["fn"] = stencil
    lazy_img, img = lazy_image(cluster, 1024, 1536, (256, 256, 4))
    bands = {"x": img[..., :3], "nir": img[..., 3]}
    model = Model(server[fmt], fmt, input_tile_size=[128, 128], input_overlap_size=[8, 8],
                  output_bands={"y": np.float32, "v": (np.float32, 1)}, max_payload_bytes=1_500_000,
                  concurrency=2, timeout=30, progress=False)
    with model:
        want = model.predict_image(bands)
    before = stats(cluster)
    lazy = twd.predict_image(model, {"x": lazy_img[..., :3], "nir": lazy_img[..., 3]},
                             output_shapes={"v": (2,)})
    assert lazy["y"].chunks == ((256,) * 4, (256,) * 6) and lazy["v"].shape == (1024, 1536, 2)
    got = run(cluster, lazy)
    after = stats(cluster)
    assert set(got) == {"y", "v"}
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name
    made = {w: after[w]["models"] - before[w]["models"] for w in after}
    ran = {w: after[w]["chunks"] - before[w]["chunks"] for w in after}
    assert sum(ran.values()) == 24  # one task per 256 x 256 chunk
    assert all(made[w] == (1 if ran[w] else 0) for w in after), (made, ran)  # one Client per worker


def test_an_image_with_band_names_equals_its_bands_given_one_by_one(cluster, server):
    """``band_names``: the (H, W, n) image used as it is (no stacking); the same mosaic as the
    in-process call on its bands.  Chunks of several requests with 2 in flight: the tasks leave
    Dask's thread pool to wait for their last answers (worker_stats' "seceded"), and the workers
    that ran chunks have tensorwire.dask's allocator setting."""
    from tensorwire import _malloc

    def affine(inputs):
        return {"s": inputs["a"][:, M:-M, M:-M] * 2 + inputs["d"][:, :-2 * M, 2 * M:] - inputs["b"][:, M:-M, M:-M]}

    MODEL["fn"] = affine
    lazy_img, img = lazy_image(cluster, 384, 320, (128, 160, 4), seed=3)
    names = ["a", "b", "c", "d"]
    model = Model(server["SERIALIZED_TF_TENSORS"], "SERIALIZED_TF_TENSORS", input_tile_size=[32, 32],
                  input_overlap_size=[8, 8], output_bands={"s": np.float32},
                  max_payload_bytes=110_000, concurrency=2, timeout=30, progress=False)  # 3 tiles a request
    with model:
        want = model.predict_image({n: img[..., i] for i, n in enumerate(names)})["s"]
    before = stats(cluster)
    got = run(cluster, twd.predict_image(model, lazy_img, band_names=names)["s"])
    after = stats(cluster)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    ran = {w: after[w]["chunks"] - before[w]["chunks"] for w in after}
    seceded = {w: after[w]["seceded"] - before[w]["seceded"] for w in after}
    assert sum(ran.values()) == 6 and 0 < sum(seceded.values()) <= 6, (ran, seceded)
    on = os.environ.get(_malloc.ENV_VAR, "").strip().lower() in _malloc._ON
    described = cluster.run(_malloc.describe)
    for w in after:
        if ran[w] and on and _malloc._glibc("mallopt", (ctypes.c_int, ctypes.c_int)) is not None:
            assert f"up to {twd._predict.WORKER_MALLOPT_MIB} MiB" in described[w], described[w]
    with pytest.raises(ValueError, match=r"band_names names 3 bands"):
        twd.predict_image(model, lazy_img, band_names=names[:3])
    with pytest.raises(ValueError, match="given twice"):
        twd.predict_image(model, lazy_img, band_names=["a", "b", "a", "d"])


def test_a_task_leaves_the_pool_only_from_a_pool_thread_that_has_not_left(monkeypatch):
    """_leave_pool calls distributed.secede only in a distributed worker's own pool thread that
    is still in the pool: not in a thread that left already (a task computing chunks itself),
    not under another executor, and once per chunk task, its slot given back at the end."""
    import types

    from distributed.threadpoolexecutor import thread_state

    from tensorwire.dask import _predict as P

    calls = []
    monkeypatch.setattr(distributed, "secede", lambda: calls.append(1))
    monkeypatch.setattr(P, "_distributed_worker", lambda: types.SimpleNamespace(state=types.SimpleNamespace(nthreads=1)))

    def leave(executor, proceed):
        for name, value in (("executor", executor), ("proceed", proceed)):
            if value is None:
                monkeypatch.delattr(thread_state, name, raising=False)
            else:
                monkeypatch.setattr(thread_state, name, value, raising=False)
        P._TASK.chunk, P._TASK.seceded = True, False
        try:
            P._leave_pool()
            P._leave_pool()  # the same chunk again: at most once
            return len(calls), P._OUT[0]
        finally:
            if P._TASK.seceded:
                P._OUT[0] -= 1
            P._TASK.chunk = P._TASK.seceded = False
            calls.clear()

    assert leave(object(), True) == (1, 1)  # in distributed's pool: leaves once, holds the one slot
    assert leave(object(), False) == (0, 0)  # already out of the pool
    assert leave(None, None) == (0, 0)  # another executor's thread
    P._OUT[0] = 1  # every slot taken by other tasks: this one waits in its slot
    try:
        assert leave(object(), True) == (0, 1)
    finally:
        P._OUT[0] = 0


def test_chunks_that_are_not_whole_tiles_and_an_image_that_is_not_either(cluster, server):
    """Odd image size, chunks of 100 with 32-pixel tiles: rechunked to 96; the last tiles reach
    past the image and hold the fill, as in the in-process call.  Array band in, 2x output."""
    def upsample(inputs):
        assert inputs["c"].dtype == np.int16
        x = inputs["x"][:, M:-M, M:-M]
        return {"up": x.repeat(2, axis=1).repeat(2, axis=2).sum(-1) + inputs["x"][:, :1, :1, 0].reshape(-1, 1, 1)
                + inputs["c"][:, 2 * M:, :-2 * M].repeat(2, axis=1).repeat(2, axis=2)[..., 0]}

    MODEL["fn"] = upsample
    img = image(203, 170, seed=1)
    bands = {"x": img[..., :2], "c": img[..., 2].astype(np.int16)}  # two dtypes: two stacks, two overlaps
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_tile_size=64, output_bands={"up": np.float64}, fill=7, timeout=30)
    with Model(**args, progress=False) as model:
        want = model.predict_image(bands)["up"]
    lazy = twd.predict_image(args, {"x": da.from_array(bands["x"], chunks=(100, 100, 1)),
                                    "c": da.from_array(bands["c"], chunks=50)})["up"]
    assert lazy.chunks == ((192, 192, 22), (192, 148))  # 203 = 96 + 96 + 11 rows, 170 = 96 + 74 columns and lazy.dtype == np.float64
    got = run(cluster, lazy)
    assert want.shape == (406, 340) and np.array_equal(got, want)


@pytest.mark.parametrize(("shape", "chunks", "want_rows"), [
    ((96, 80), 16, (32, 32, 32)),  # chunks thinner than the margin (20): rechunked to two tiles
    ((40, 33), 8, (40,)),  # the last chunk would be thinner than the margin: joins the one before
    ((10, 9), 16, (10,)),  # one chunk, smaller than the margin: no overlap at all
    ((70, 50), (30, 7), (32, 38)),
])
def test_margins_wider_than_tiles_and_chunks_and_properties(server, shape, chunks, want_rows):
    """Dask's local scheduler (this process): the chunking rules, whatever the cluster."""
    m = 20
    MODEL["fn"] = lambda inputs: {"y": inputs["b"][:, m:-m, m:-m, 0] + inputs["year"][:, None, None]}
    img = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=16, input_overlap_size=2 * m,
                output_bands={"y": np.float32}, timeout=30)
    with Model(**args, progress=False) as model:
        want = model.predict_image({"b": img}, properties={"year": 2024})["y"]
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=chunks)}, properties={"year": 2024})["y"]
    assert lazy.chunks[0] == want_rows
    got = lazy.compute(scheduler="sync")
    assert np.array_equal(got, want) and np.array_equal(got, img + 2024)


def test_a_slice_computes_only_its_chunks(cluster, server):
    MODEL["fn"] = lambda inputs: {"y": inputs["b"][:, M:-M, M:-M, 0] + 1}
    img = image(256, 256, seed=2)[..., 0]
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_bands={"y": np.float32}, timeout=30)
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=64)})["y"]
    before = stats(cluster)
    got = run(cluster, lazy[50:120, 0:60])
    after = stats(cluster)
    assert np.array_equal(got, img[50:120, 0:60] + 1)
    assert sum(after[w]["chunks"] - before[w]["chunks"] for w in after) == 2  # chunks (0, 0) and (1, 0)


def test_a_refused_tile_fails_the_compute_naming_its_row_and_column(cluster, server):
    def refuse(inputs):
        b = inputs["b"][:, M:-M, M:-M, 0]
        if (b == 999).any():
            raise RuntimeError("no forests here")
        return {"y": b}

    MODEL["fn"] = refuse
    img = image(160, 192, seed=3)[..., 0]
    img[2 * 32 + 5, 3 * 32 + 9] = 999  # in tile (2, 3) of 32-pixel tiles, the chunk (1, 1) of 64
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_bands={"y": np.float32}, max_payload_bytes=10_000, timeout=30)  # one tile a request
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=64)})["y"]
    with pytest.raises(tw.PredictionError, match=r"tile \(2, 3\): .*no forests here"):
        run(cluster, lazy)


def test_an_output_of_another_shape_than_output_shapes_fails_the_compute(cluster, server):
    MODEL["fn"] = lambda inputs: {"v": np.repeat(inputs["b"][:, M:-M, M:-M], 3, axis=-1)}
    img = image(64, 64, seed=4)[..., 0]
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_bands={"v": (np.float32, 1)}, timeout=30)
    with pytest.raises(ValueError, match="output_shapes"):
        twd.predict_image(args, {"b": da.from_array(img, chunks=32)})
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=32)}, output_shapes={"v": (2,)})["v"]
    with pytest.raises(tw.PredictionError, match=r"tile \(\d, \d\): output 'v' has shape \(3,\) per pixel; "
                       r"output_shapes says \(2,\)"):
        run(cluster, lazy)


def test_a_model_made_with_a_client_is_refused(server):
    with tw.Client(server["SERIALIZED_TF_TENSORS"]) as client:
        model = Model(client, input_tile_size=32, output_bands={"y": np.float32})
        with pytest.raises(ValueError, match="made with a Client"):
            twd.predict_image(model, {"b": da.zeros((64, 64), chunks=32)})


def test_a_worker_killed_mid_compute_is_replaced_and_the_answer_is_right(cluster, server):
    def slow(inputs):
        time.sleep(0.05)
        return {"y": inputs["b"][:, M:-M, M:-M, 0] * 3}

    MODEL["fn"] = slow
    img = image(256, 384, seed=5)[..., 0]
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_bands={"y": np.float32}, max_payload_bytes=10_000, concurrency=1, timeout=30)
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=64)})["y"]  # 24 chunks of 4 requests
    pids = cluster.run(os.getpid)
    with SEEN_LOCK:
        SEEN["requests"] = 0
    future = cluster.compute(lazy)
    deadline = time.monotonic() + 60
    while SEEN["requests"] < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert SEEN["requests"] >= 8 and not future.done()  # the compute is under way
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    got = future.result(timeout=120)
    assert np.array_equal(got, img * 3)
    cluster.wait_for_workers(2, timeout=60)
    assert pids[victim] not in cluster.run(os.getpid).values()  # the nanny started a new process


# ------------------------------------------------------------------------------ lazy export read

PH, PW, PER_ROW, PROWS = 4, 6, 4, 3  # patch height, width; patches per row; rows of patches
SPLIT = ((0, 5, "gzip"), (5, 9, None), (9, 12, "gzip"))  # patches start:stop per file, compression


def write_export(directory, margin=1, split=SPLIT, seed=0):
    """An export of 3 bands (two float_list, one int64_list) with a kernel margin, in files as
    ``split`` says; returns (files, mixer dict)."""
    rng = np.random.default_rng(seed)
    src = rng.standard_normal((PROWS * PH + 2 * margin, PER_ROW * PW + 2 * margin, 3)).astype(np.float32)
    records = []
    for i in range(PER_ROW * PROWS):
        r, c = divmod(i, PER_ROW)
        win = src[r * PH:r * PH + PH + 2 * margin, c * PW:c * PW + PW + 2 * margin]
        records.append(tw.encode_example({"a": win[..., 0], "b": win[..., 1],
                                          "n": (win[..., 2] * 1000).round().astype(np.int64)}))
    files = []
    for number, (start, stop, compression) in enumerate(split):
        path = directory / f"export-{number:05d}.tfrecord{'.gz' if compression else ''}"
        tw.write_tfrecord(path, records[start:stop], compression=compression)
        files.append(str(path))
    return files, {"patchDimensions": [PW, PH], "patchesPerRow": PER_ROW, "totalPatches": PER_ROW * PROWS}


@pytest.mark.parametrize("per", [1, 2, (3, 1)])
def test_a_lazy_export_equals_the_eager_reader_read_by_the_workers(cluster, tmp_path, per):
    files, mixer = write_export(tmp_path)
    want = tw.read_ee_image_export(files, mixer)
    lazy = twd.read_ee_image_export(files, mixer, patches_per_chunk=per)
    rows, cols = (per, per) if isinstance(per, int) else per
    assert lazy.shape == want.shape == (12, 24, 3) and lazy.dtype == want.dtype == np.float64
    assert lazy.chunks[:2] == (tuple(min(rows * PH, 12 - s) for s in range(0, 12, rows * PH)),
                               tuple(min(cols * PW, 24 - s) for s in range(0, 24, cols * PW)))
    got = run(cluster, lazy)
    assert np.array_equal(got, want)
    sub = twd.read_ee_image_export(files, mixer, bands=["n", "a"], kernel_size=3, dtypes={"n": np.int32})
    assert np.array_equal(run(cluster, sub),
                          tw.read_ee_image_export(files, mixer, bands=["n", "a"], kernel_size=3, dtypes={"n": np.int32}))


def test_each_compressed_file_is_one_task_and_plain_records_are_read_by_their_chunks(tmp_path):
    files, mixer = write_export(tmp_path)
    lazy = twd.read_ee_image_export(files, mixer)
    keys = [k if isinstance(k, str) else k[0] for k in dict(lazy.__dask_graph__())]
    assert sum(k.startswith("tensorwire-ee-file-") for k in keys) == 2  # the two gzip files
    assert sum(k.startswith("tensorwire-ee-chunk-") for k in keys) == 12  # one per patch


def test_a_slice_opens_only_the_files_that_hold_its_patches(tmp_path):
    files, mixer = write_export(tmp_path)
    want = tw.read_ee_image_export(files, mixer)
    lazy = twd.read_ee_image_export(files, mixer)
    hidden = []
    for path in (files[0], files[2]):  # patches 0-4 (gzip) and 9-11 (gzip): gone
        os.rename(path, path + ".away")
        hidden.append(path)
    # row 1, columns 1-3: patches 5, 6, 7, all in the plain file
    assert np.array_equal(lazy[PH:2 * PH, PW:].compute(scheduler="sync"), want[PH:2 * PH, PW:])
    with pytest.raises(FileNotFoundError):
        lazy.compute(scheduler="sync")
    os.rename(files[0] + ".away", files[0])
    # row 0: patches 0-3, in the first gzip file, read once for the four chunks
    assert np.array_equal(lazy[:PH].compute(scheduler="sync"), want[:PH])


def test_a_wrong_patch_count_fails_when_the_array_is_made_as_the_eager_reader_fails(tmp_path):
    files, mixer = write_export(tmp_path, split=((0, 5, "gzip"), (5, 11, None)))
    with pytest.raises(DecodeError) as eager:
        tw.read_ee_image_export(files, mixer)
    with pytest.raises(DecodeError) as lazy:
        twd.read_ee_image_export(files, mixer)
    assert str(lazy.value) == str(eager.value) == "the export has 11 patches, the mixer's totalPatches is 12"
    more = dict(mixer, totalPatches=8)
    with pytest.raises(DecodeError, match=r"patch 8 \(.*export-00001.tfrecord, record 3\): more patches than the "
                                          r"mixer's totalPatches \(8\)"):
        twd.read_ee_image_export(files, more)


@pytest.mark.parametrize("number", [0, 1])  # gzip, plain
def test_a_corrupt_record_fails_the_compute_with_the_eager_readers_message(tmp_path, number):
    files, mixer = write_export(tmp_path)
    path = files[number]
    buf = io.BytesIO()
    tw.write_tfrecord(buf, list(tw.read_tfrecord(path)))
    raw = bytearray(buf.getvalue())
    raw[len(raw) // 2] ^= 0xFF  # in the data of a middle record: its data CRC no longer matches
    with open(path, "wb") as f:
        f.write(gzip.compress(bytes(raw)) if number == 0 else bytes(raw))
    lazy = twd.read_ee_image_export(files, mixer)  # the index reads lengths only
    with pytest.raises(DecodeError) as eager:
        tw.read_ee_image_export(files, mixer)
    assert "data CRC mismatch" in str(eager.value)
    with pytest.raises(DecodeError) as got:
        lazy.compute(scheduler="sync")
    assert str(got.value) == str(eager.value)


# ---------------------------------------------------------------------------------------- write


def test_write_ee_image_writes_write_images_records_one_file_per_strip(cluster, tmp_path):
    rng = np.random.default_rng(6)
    bands = {"f": rng.standard_normal((70, 50)).astype(np.float32),
             "u": rng.integers(0, 255, (70, 50)).astype(np.uint8),
             "i": rng.integers(-9, 9, (70, 50)).astype(np.int32)}
    want = tw.ee.write_image(bands, str(tmp_path / "eager"), patch_dimensions=(16, 12), fill=0)
    lazy = {name: da.from_array(a, chunks=(30, 20)) for name, a in bands.items()}
    task = twd.write_ee_image(lazy, tmp_path / "dask", patch_dimensions=(16, 12), patch_rows_per_file=2,
                              compute=False)
    assert not os.path.exists(tmp_path / "dask-mixer.json")  # nothing written before the compute
    got = run(cluster, task)
    assert got.files == [str(tmp_path / f"dask-{n:05d}.tfrecord.gz") for n in range(3)]  # 6 patch rows, 2 a file
    assert got.mixer == want.mixer and got.shape == want.shape and got.padded_shape == want.padded_shape == (72, 64)
    assert json.loads(open(got.mixer_path).read()) == json.loads(open(want.mixer_path).read())
    records = [r for f in got.files for r in tw.read_tfrecord(f)]
    assert records == list(tw.read_tfrecord(want.files[0]))  # byte for byte, in order
    back = tw.ee.read_ee_image_bands(got.files, got.mixer_path, dtypes={"i": np.int32})
    assert all(np.array_equal(back[n][:70, :50], bands[n]) for n in bands)
    with pytest.raises(FileExistsError):
        twd.write_ee_image(lazy, tmp_path / "dask", patch_dimensions=(16, 12))
    with pytest.raises(TypeError, match="cannot be written"):
        twd.write_ee_image({"b": da.zeros((4, 4), dtype=bool)}, tmp_path / "bool")


def test_predictions_go_to_zarr_without_passing_through_the_client(cluster, server, tmp_path):
    zarr = pytest.importorskip("zarr")  # in the test extra: skipped only outside it
    MODEL["fn"] = lambda inputs: {"y": inputs["b"][:, M:-M, M:-M, 0] * 2, "z": inputs["b"][:, M:-M, M:-M, 0] < 0}
    img = image(128, 192, seed=7)[..., 0]
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_overlap_size=8,
                output_bands={"y": np.float32, "z": np.uint8}, timeout=30)
    out = twd.predict_image(args, {"b": da.from_array(img, chunks=64)})
    stored = da.to_zarr(da.stack([out["y"], out["z"].astype(np.float32)]), str(tmp_path / "pred.zarr"),
                        compute=False)
    run(cluster, stored)
    back = zarr.open_array(str(tmp_path / "pred.zarr"), mode="r")
    assert back.shape == (2, 128, 192) and back.chunks == (1, 64, 64)
    assert np.array_equal(back[0], img * 2) and np.array_equal(back[1], (img < 0).astype(np.float32))


@pytest.mark.native  # run_script runs the benchmark on the Cython twins
def test_the_benchmark_runs_small_and_prints_its_table():
    from pathlib import Path

    from serving import run_script

    script = Path(__file__).parent.parent / "benchmarks" / "dask_predict.py"
    status, out, err = run_script(script, ["--size", "512", "--bands", "2", "--chunk", "256", "--rounds", "1"],
                                  timeout=180)
    assert status == 0, err[-3000:]
    assert "| dask, LocalCluster 2 workers |" in out and "| Model.predict_image, in process |" in out


def test_concurrency_is_per_worker_process_whatever_its_threads(server):
    """Dask's threaded scheduler in this process: four chunk tasks at once share one Model, whose
    concurrency (2) bounds the requests in flight from all of them."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    def counting(inputs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return {"y": inputs["b"][:, M:-M, M:-M, 0]}

    MODEL["fn"] = counting
    img = image(128, 128, seed=8)[..., 0]
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=16, input_overlap_size=8,
                output_bands={"y": np.float32}, max_payload_bytes=4_000, concurrency=2, timeout=30)
    lazy = twd.predict_image(args, {"b": da.from_array(img, chunks=32)})["y"]  # 16 chunks of 4 one-tile requests
    got = lazy.compute(scheduler="threads", num_workers=4)
    assert np.array_equal(got, img)
    assert state["most"] <= 2


def test_arguments_are_checked_when_the_graph_is_made(server):
    args = dict(target=server["SERIALIZED_TF_TENSORS"], input_tile_size=32, input_properties=["year"],
                output_bands={"y": np.float32})
    band = da.zeros((64, 64), chunks=32, dtype=np.float32)
    with pytest.raises(ValueError, match=r"input_properties \['year'\] not among the properties given"):
        twd.predict_image(args, {"b": band})
    with pytest.raises(ValueError, match="bands of different sizes"):
        twd.predict_image(args, {"b": band, "c": band[:32]}, properties={"year": 1})
    with pytest.raises(ValueError, match="ND_ARRAYS instances carry one unnamed array"):
        twd.predict_image({**args, "payload_format": "ND_ARRAYS", "input_properties": []}, {"b": band, "c": band})
