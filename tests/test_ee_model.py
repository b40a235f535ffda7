"""tensorwire.ee.Model against tensorwire.serve on loopback, in every payload format.

Two servers (JSON alone, and the six Earth Engine formats) serve the whole module; each test puts its model in ``MODEL``
before calling.  The models see what Earth Engine would send: GRPC_SERIALIZED_TF_EXAMPLES
instances arrive flat (an Example does not carry the tile's shape) and are reshaped by
``tiles``; ND_ARRAYS instances arrive unnamed, as ``"instances"``.
"""

import math

import numpy as np
import pytest

import tensorwire as tw
from serving import inproc
from tensorwire.ee import Model
from tensorwire.ee._tiling import Tiling, rows_cols

FORMATS = ["SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "JSON",
           "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"]
GRPC = {"GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS", "GRPC_SERIALIZED_TF_EXAMPLES"}
MODEL = {}  # "fn": the function the shared server calls


def dispatch(inputs):
    return MODEL["fn"](inputs)


@pytest.fixture(scope="module")
def server():
    """``{format: target}``.  JSON has a server of its own: a named instance of numbers is detected
    as RAW_JSON by a server that takes both (docs/server.md), which would answer in RAW_JSON."""
    with inproc(dispatch, formats=[f for f in FORMATS if f != "JSON"]) as srv, \
            inproc(dispatch, formats=["JSON"]) as json_srv:
        yield {f: json_srv.http_url if f == "JSON" else srv.grpc_target if f in GRPC else srv.http_url
               for f in FORMATS}


def target(srv, fmt):
    return srv[fmt]


def model(srv, fmt, **kwargs):
    kwargs.setdefault("timeout", 20)
    kwargs.setdefault("progress", False)
    return Model(target(srv, fmt), fmt, **kwargs)


def tiles(a, k=1, hw=None):
    """A band's instances as ``(N, h, w, k)``: Examples arrive flat ``(N, h*w*k)``; ``hw`` is
    the instance's ``(h, w)``, square when not given."""
    a = np.asarray(a)
    if a.ndim == 2:
        side = math.isqrt(a.shape[1] // k)
        a = a.reshape((len(a),) + (hw or (side, side)) + (k,))
    return a


def band(inputs, name, hw=None):
    return tiles(inputs["instances"] if "instances" in inputs else inputs[name], hw=hw)


def image(h, w, seed=0, k=None):
    rng = np.random.default_rng(seed)
    shape = (h, w) if k is None else (h, w, k)
    return rng.integers(-50, 50, shape).astype(np.float32)


# ------------------------------------------------------------------------------------ geometry


def test_sizes_are_x_then_y_and_the_grid_covers_the_image():
    assert rows_cols([128, 64], "t") == (64, 128) and rows_cols(8, "t") == (8, 8)
    with pytest.raises(ValueError, match=r"input_tile_size: \[0, 4\] has a value under 1"):
        rows_cols([0, 4], "input_tile_size")
    t = Tiling((10, 7), (4, 3), (1, 2), (8, 6))
    assert t.grid == (3, 3) and t.instance == (6, 7) and t.out_shape == (20, 14)
    band_ = np.arange(70, dtype=np.float32).reshape(10, 7, 1) + 1
    cut = t.cut(band_, 0, 9, np.float32, fill=-1)
    assert cut.shape == (9, 6, 7, 1)
    assert (cut[0, 0] == -1).all() and (cut[0, :, :2] == -1).all()  # above and left of the image
    np.testing.assert_array_equal(cut[4, 1:5, 2:5, 0], band_[4:8, 3:6, 0])  # tile (1, 1) itself


def test_an_odd_overlap_is_refused(server):
    with pytest.raises(ValueError, match=r"input_overlap_size \[3, 2\]: .* must be even"):
        model(server, "SERIALIZED_TF_TENSORS", input_tile_size=8, input_overlap_size=[3, 2],
              output_bands={"y": np.float32})


# ------------------------------------------------------------------------- models of known result


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pointwise_model_gives_the_model_of_the_whole_image(server, fmt):
    margin = 2

    def affine(inputs):
        x = band(inputs, "B1", hw=(4 + 2 * margin, 5 + 2 * margin))
        return {"y": x[:, margin:-margin, margin:-margin] * 2 + 1}

    MODEL["fn"] = affine
    img = image(21, 13)
    out = model(server, fmt, input_tile_size=[5, 4], input_overlap_size=2 * margin,
                output_bands={"y": np.float32}).predict_image({"B1": img})
    assert set(out) == {"y"}
    np.testing.assert_array_equal(out["y"], img * 2 + 1)
    assert out["y"].dtype == np.float32


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_box_filter_with_margins_equals_the_filter_of_the_zero_padded_image(server, fmt):
    margin = 1

    def box(inputs):
        x = band(inputs, "B1", hw=(6 + 2 * margin, 4 + 2 * margin))[..., 0]
        h, w = x.shape[1] - 2 * margin, x.shape[2] - 2 * margin
        total = sum(x[:, margin + dy:margin + dy + h, margin + dx:margin + dx + w]
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        return {"box": total}

    MODEL["fn"] = box
    img = image(17, 11, seed=1)
    out = model(server, fmt, input_tile_size=[4, 6], input_overlap_size=2 * margin,
                output_bands={"box": np.float32}).predict_image({"B1": img})
    padded = np.pad(img, 1)
    want = sum(padded[1 + dy:1 + dy + 17, 1 + dx:1 + dx + 11] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    np.testing.assert_array_equal(out["box"], want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_upsampling_with_a_doubled_output_tile(server, fmt):
    def up(inputs):
        x = band(inputs, "B1")[..., 0]
        return {"up": np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)}

    MODEL["fn"] = up
    img = image(9, 14, seed=2)
    out = model(server, fmt, input_tile_size=4, output_tile_size=8,
                output_bands={"up": np.float32}).predict_image({"B1": img})
    np.testing.assert_array_equal(out["up"], np.repeat(np.repeat(img, 2, axis=0), 2, axis=1))


@pytest.mark.parametrize("fmt", FORMATS)
def test_array_valued_bands_in_and_out(server, fmt):
    k = 3
    single = fmt == "ND_ARRAYS"  # one unnamed array per instance: the array band alone

    def arrays(inputs):
        arr = tiles(inputs["instances"] if single else inputs["arr"], k)
        assert arr.shape[1:] == (6, 6, k)
        out = {"vec": arr * 2}
        if not single:
            out["total"] = arr.sum(axis=-1) + band(inputs, "B1")[..., 0]
        return out

    MODEL["fn"] = arrays
    arr, b1 = image(10, 7, seed=3, k=k), image(10, 7, seed=4)
    bands = {"arr": arr} if single else {"arr": arr, "B1": b1}
    declared = {"vec": (np.float32, 1)} if single else {"vec": (np.float32, 1), "total": np.float32}
    out = model(server, fmt, input_tile_size=6, input_shapes={"arr": [k]},
                output_bands=declared).predict_image(bands)
    np.testing.assert_array_equal(out["vec"], arr * 2)
    assert out["vec"].shape == (10, 7, k)
    if not single:
        np.testing.assert_array_equal(out["total"], arr.sum(axis=-1) + b1)


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"ND_ARRAYS"}))
def test_properties_reach_every_instance(server, fmt):
    seen = []

    def with_year(inputs):
        year = np.asarray(inputs["year"]).reshape(len(inputs["year"]))
        seen.extend(year.tolist())
        return {"y": band(inputs, "B1")[..., 0] + year[:, None, None]}

    MODEL["fn"] = with_year
    img = image(9, 9, seed=5)
    m = model(server, fmt, input_tile_size=4, input_properties=["year"], output_bands={"y": np.float32})
    out = m.predict_image({"B1": img}, properties={"year": 2024, "ignored": "not sent"})
    np.testing.assert_array_equal(out["y"], img + 2024)
    assert seen == [2024] * 9


def test_nd_arrays_refuses_several_inputs(server):
    m = model(server, "ND_ARRAYS", input_tile_size=4, output_bands={"y": np.float32})
    with pytest.raises(ValueError, match=r"ND_ARRAYS instances carry one unnamed array; got 2 inputs \['B1', 'year'\]"):
        m.predict_image({"B1": image(4, 4)}, properties={"year": 1})


@pytest.mark.parametrize("fmt", FORMATS)
def test_predict_properties_one_instance_per_row(server, fmt):
    single = fmt == "ND_ARRAYS"  # one unnamed array per instance: one column

    def rows(inputs):
        if single:
            a = np.asarray(inputs["instances"], np.float32).reshape(-1)
            return {"score": a * 2}
        a = np.asarray(inputs["elevation"], np.float32).reshape(-1)
        b = np.asarray(inputs["slope"], np.float32).reshape(-1)
        return {"score": a + b, "pair": np.stack([a, b], axis=1)}

    MODEL["fn"] = rows
    elevation, slope = np.arange(50, dtype=np.float32), np.arange(50, dtype=np.float32) * 3
    if single:
        m = model(server, fmt, output_properties={"score": np.float32}, max_payload_bytes=200)
        out = m.predict_properties({"elevation": elevation})
        np.testing.assert_array_equal(out["score"], elevation * 2)
        return
    m = model(server, fmt, output_properties={"score": np.float32, "pair": (np.float32, 1)}, max_payload_bytes=800)
    out = m.predict_properties({"elevation": elevation, "slope": slope})
    np.testing.assert_array_equal(out["score"], elevation + slope)
    np.testing.assert_array_equal(out["pair"], np.stack([elevation, slope], axis=1))


def test_predict_properties_checks_the_answers_per_row(server):
    MODEL["fn"] = lambda inputs: {"score": np.zeros((len(inputs["a"]), 2), np.float32)}
    m = model(server, "GRPC_TF_TENSORS", output_properties={"score": np.float32})
    with pytest.raises(tw.PredictionError, match=r"^rows 0 to 4: output 'score' has shape \(2,\) per instance: "
                                                 r"1 dimensions after \(\), declared 0"):
        m.predict_properties({"a": np.arange(5.0)})


# -------------------------------------------------------------------------- request accounting


def recording_sizes(m):
    """The list that ``(body size, instances)`` of each request ``m`` sends is appended to."""
    sent = []
    send = m.client._send

    def recording(body, n):
        sent.append((len(body), n))
        return send(body, n)

    m.client._send = recording
    return sent


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_are_the_fewest_that_fit_and_every_instance_is_tile_plus_overlap(server, fmt):
    tile, overlap, limit = 6, 4, 3000
    shapes = []

    def counting(inputs):
        x = band(inputs, "B1")
        shapes.append(x.shape)
        return {"y": x[:, 2:-2, 2:-2, 0]}

    MODEL["fn"] = counting
    img = np.full((23, 31), 5.0, np.float32)  # every instance the same size, in every format
    m = model(server, fmt, input_tile_size=tile, input_overlap_size=overlap, output_bands={"y": np.float32},
              max_payload_bytes=limit, concurrency=2)
    sent = recording_sizes(m)
    out = m.predict_image({"B1": img})
    np.testing.assert_array_equal(out["y"], img)
    n = math.ceil(23 / tile) * math.ceil(31 / tile)
    instance = np.full((1, tile + overlap, tile + overlap, 1), 5.0, np.float32)
    fits = max(k for k in range(1, n + 1)
               if len(tw.encode_request(np.repeat(instance, k, 0) if fmt == "ND_ARRAYS"
                                        else {"B1": np.repeat(instance, k, 0)}, fmt)) <= limit)
    assert fits < n  # the limit does cut this image
    assert all(size <= limit for size, _ in sent)
    assert sum(k for _, k in sent) == n
    assert len(sent) == math.ceil(n / fits)
    assert {s[1:] for s in shapes} == {(tile + overlap, tile + overlap, 1)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_are_the_fewest_that_fit_when_instances_differ_in_size(server, fmt):
    """Values whose number text differs in length (the JSON formats' instances differ in size;
    the first rows are zeros, the short ones): each request is the longest run that fits, so
    the requests are the fewest that keep the tiles in order."""
    tile, overlap, limit = 4, 2, 2500
    MODEL["fn"] = lambda inputs: {"y": band(inputs, "B1")[:, 1:-1, 1:-1, 0]}
    rng = np.random.default_rng(7)
    img = (rng.standard_normal((22, 26)) * rng.choice([1.0, 1e-3, 1e6], (22, 26))).astype(np.float32)
    img[:6] = 0
    m = model(server, fmt, input_tile_size=tile, input_overlap_size=overlap, output_bands={"y": np.float32},
              max_payload_bytes=limit, concurrency=2)
    sent = recording_sizes(m)
    out = m.predict_image({"B1": img})
    np.testing.assert_array_equal(out["y"], img)
    # the instances as the guide's tiling makes them: zero margins, tiles row by row
    half = overlap // 2
    rows, cols = math.ceil(22 / tile), math.ceil(26 / tile)
    padded = np.zeros((rows * tile + overlap, cols * tile + overlap), np.float32)
    padded[half:half + 22, half:half + 26] = img
    instances = np.stack([padded[r * tile:r * tile + tile + overlap, c * tile:c * tile + tile + overlap, None]
                          for r in range(rows) for c in range(cols)])

    def size(start, stop):
        run = instances[start:stop]
        return len(tw.encode_request(run if fmt == "ND_ARRAYS" else {"B1": run}, fmt))

    assert sum(k for _, k in sent) == len(instances) and len(sent) > 1
    start = 0
    for length, k in sent:
        assert length == size(start, start + k) <= limit
        if start + k < len(instances):
            assert size(start, start + k + 1) > limit  # the run could not have been longer
        start += k


# --------------------------------------------------------------------------------- bad answers


def bad_model(answer):
    def fn(inputs):
        x = band(inputs, "B1")
        return answer(x)

    return fn


BAD = [
    # two outputs: one output alone is written bare and read as the one declared (docs/ee-model.md)
    ("missing band", lambda x: {"other": x[..., 0], "z": x[..., 0]},
     r"output 'y' missing from the answer \(it has \['other', 'z'\]\)"),
    ("wrong tile size", lambda x: {"y": x[:, :3, :3, 0], "z": x[:, :3, :3, 0]},
     r"output 'y' has shape \(3, 3\) per instance; expected \(4, 4\)"),
]


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "RAW_JSON", "JSON", "GRPC_TF_TENSORS",
                                 "GRPC_SERIALIZED_TF_EXAMPLES"])
@pytest.mark.parametrize("case, answer, message", BAD, ids=[b[0] for b in BAD])
def test_bad_answers_name_the_tiles_and_the_problem(server, fmt, case, answer, message):
    MODEL["fn"] = bad_model(answer)
    m = model(server, fmt, input_tile_size=4, output_bands={"y": np.float32}, max_payload_bytes=10**6)
    with pytest.raises(tw.PredictionError, match=r"^tiles \(0, 0\) to \(1, 1\) \(row, column\): " + message):
        m.predict_image({"B1": image(8, 8)})


def test_a_float_answer_for_an_integer_band_is_refused_where_the_dtype_travels(server):
    MODEL["fn"] = bad_model(lambda x: {"c": x[..., 0] + 0.5})
    m = model(server, "GRPC_TF_TENSORS", input_tile_size=4, output_bands={"c": np.uint8})
    with pytest.raises(tw.PredictionError, match=r"output 'c': float32 does not convert to uint8 \(same_kind"):
        m.predict_image({"B1": image(8, 8)})


def test_number_text_must_be_representable_in_the_declared_dtype(server):
    MODEL["fn"] = bad_model(lambda x: {"c": np.where(x[..., 0] > 1000, 0, 300).astype(np.float32)})
    m = model(server, "RAW_JSON", input_tile_size=4, output_bands={"c": np.uint8})
    with pytest.raises(tw.PredictionError, match=r"output 'c': value 300\.0 is not representable in uint8"):
        m.predict_image({"B1": image(8, 8)})
    MODEL["fn"] = bad_model(lambda x: {"c": np.full(x.shape[:3], 7, np.float32)})
    out = m.predict_image({"B1": image(8, 8)})
    assert out["c"].dtype == np.uint8 and (out["c"] == 7).all()


def test_strings_for_a_numeric_band_are_refused(server):
    MODEL["fn"] = bad_model(lambda x: {"c": np.full(len(x), "text", dtype=object)})
    m = model(server, "JSON", input_tile_size=4, output_bands={"c": np.float32})
    with pytest.raises(tw.PredictionError, match=r"output 'c' has shape \(\) per instance; expected \(4, 4\)"):
        m.predict_image({"B1": image(8, 8)})


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "GRPC_TF_TENSORS"])
def test_a_server_error_on_one_tile_fails_the_call_naming_it(server, fmt):
    def fails_on_tile_1_2(inputs):
        x = band(inputs, "B1")
        if (x == -999).any():
            raise RuntimeError("cannot predict this tile")
        return {"y": x[..., 0]}

    MODEL["fn"] = fails_on_tile_1_2
    img = image(12, 12)
    img[5, 9] = -999  # tile (1, 2) of 4-pixel tiles
    one = np.zeros((1, 4, 4, 1), np.float32)
    limit = len(tw.encode_request({"B1": np.repeat(one, 2, 0)}, fmt)) - 1  # one tile per request
    m = model(server, fmt, input_tile_size=4, output_bands={"y": np.float32}, max_payload_bytes=limit,
              concurrency=3)
    with pytest.raises(tw.PredictionError, match=r"^tile \(1, 2\): predict_fn raised RuntimeError: cannot predict"):
        m.predict_image({"B1": img})


def test_an_instance_over_the_limit_is_refused_before_sending(server):
    MODEL["fn"] = lambda inputs: pytest.fail("sent")
    m = model(server, "SERIALIZED_TF_TENSORS", input_tile_size=16, output_bands={"y": np.float32},
              max_payload_bytes=100)
    with pytest.raises(ValueError, match=r"^tile \(0, 0\): instance 0 alone encodes to [\d,]+ bytes, over max_payload_bytes=100$"):
        m.predict_image({"B1": image(16, 16)})


def test_a_string_property_in_raw_json_is_refused_naming_the_tiles(server):
    m = model(server, "RAW_JSON", input_tile_size=4, output_bands={"y": np.float32})
    with pytest.raises(TypeError, match=r"^tile \(0, 0\): unsupported dtype for JSON numbers: object"):
        m.predict_image({"B1": image(8, 8)}, properties={"tag": "forest"})


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "GRPC_TF_TENSORS"])
def test_a_failed_request_is_retried_as_the_client_retries(server, fmt):
    from tensorwire._transport import Retry

    MODEL["fn"] = lambda inputs: {"y": band(inputs, "B1")[..., 0] + 1}
    m = model(server, fmt, input_tile_size=4, output_bands={"y": np.float32}, backoff=0.001, retries=2)
    send_once = m.client.transport.send_once
    attempts = []

    def busy_first(body, headers):
        attempts.append(len(body))
        if len(attempts) == 1:
            raise Retry(tw.PredictionError("busy", status=503))
        return send_once(body, headers)

    m.client.transport.send_once = busy_first
    img = image(8, 8)
    np.testing.assert_array_equal(m.predict_image({"B1": img})["y"], img + 1)
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    attempts.clear()
    m.client.transport.send_once = lambda body, headers: attempts.append(1) or (_ for _ in ()).throw(
        Retry(tw.PredictionError("still busy", status=503)))
    with pytest.raises(tw.PredictionError, match=r"^tiles \(0, 0\) to \(1, 1\) \(row, column\): still busy") as info:
        m.predict_image({"B1": img})
    assert info.value.status == 503 and len(attempts) == 3


def test_progress_true_shows_a_bar_on_stderr(server, capsys):
    MODEL["fn"] = lambda inputs: {"y": band(inputs, "B1")[..., 0]}
    m = model(server, "SERIALIZED_TF_TENSORS", input_tile_size=4, output_bands={"y": np.float32})
    m.predict_image({"B1": image(8, 8)}, progress=True)
    assert "4/4" in capsys.readouterr().err


# ------------------------------------------------------------- the Earth-Engine-wrapped TF model


def test_the_tensorflow_model_wrapped_for_earth_engine():
    pytest.importorskip("tensorflow")
    import serve_tf_model

    a, b = image(10, 9, seed=7), image(10, 9, seed=8)
    with inproc(serve_tf_model.predict, formats=["SERIALIZED_TF_TENSORS"], pass_serialized=True) as srv:
        m = Model(srv.http_url, "SERIALIZED_TF_TENSORS", input_tile_size=4, progress=False,
                  output_bands={"sum": np.float32, "diff": np.float32})
        out = m.predict_image({"B1": a, "B2": b})
    np.testing.assert_array_equal(out["sum"], (a + b) * 2)
    np.testing.assert_array_equal(out["diff"], a - b)


@pytest.mark.parametrize("fmt", ["SERIALIZED_TF_TENSORS", "JSON", "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS"])
def test_a_given_client_string_and_bool_properties(server, fmt):
    seen = []

    def tagged(inputs):
        names = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(inputs["tag"]).reshape(-1)]
        seen.extend(zip(names, np.asarray(inputs["flag"]).reshape(-1).tolist()))
        return {"y": band(inputs, "B1")[..., 0]}

    MODEL["fn"] = tagged
    img = image(8, 8)
    with tw.Client(target(server, fmt), fmt, timeout=20) as client:
        m = Model(client, fmt, input_tile_size=4, output_bands={"y": np.float32}, progress=False)
        out = m.predict_image({"B1": img}, properties={"tag": "forest", "flag": True})
        m.close()  # leaves the given client open
        answer = client.predict({"B1": np.zeros((1, 4, 4, 1), np.float32), "tag": np.array(["a"], dtype=object),
                                 "flag": np.array([False])})
        assert [a.shape for a in answer.values()] == [(1, 4, 4)]
    np.testing.assert_array_equal(out["y"], img)
    assert seen[:4] == [("forest", True)] * 4


def test_a_client_of_another_format_is_refused(server):
    with tw.Client(target(server, "RAW_JSON"), "RAW_JSON") as client:
        with pytest.raises(ValueError, match="the Client speaks RAW_JSON, payload_format is SERIALIZED_TF_TENSORS"):
            Model(client, input_tile_size=4, output_bands={"y": np.float32})


@pytest.mark.native  # run_script runs the benchmark on the Cython twins
def test_the_benchmark_runs_small_and_prints_its_tables():
    from pathlib import Path

    from serving import run_script

    script = Path(__file__).parent.parent / "benchmarks" / "ee_predict.py"
    status, out, err = run_script(script, ["--size", "512", "--bands", "2", "--rounds", "1"], timeout=120)
    assert status == 0, err[-3000:]
    assert "| Model.predict_image, concurrency 1 |" in out and "| target: 2.5 × input + output |" in out
