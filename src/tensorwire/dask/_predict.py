"""``predict_image`` over Dask arrays: one task per chunk, Earth Engine's tiles inside it.

How a chunk becomes requests
----------------------------

The image is the Dask arrays' chunk grid.  Every chunk of rows (columns) except the last must be
a whole number of tiles, so that the chunk grid is a coarsening of the tile grid and each tile
lies in one chunk, and no chunk may be thinner than the margin (Dask's overlap takes the margin
from the neighbouring chunk alone); chunks that are not so are rechunked first (to the first
chunk's size rounded to the nearest multiple of the tile, at least one tile and the margin; a
last chunk thinner than the margin joins the one before it).  The margins an instance takes from its
neighbours (``input_overlap_size / 2`` per edge, the reading of :mod:`tensorwire.ee.model`) come
from Dask's own overlap machinery, ``dask.array.overlap.overlap(..., depth=margin,
boundary="none")``: every chunk gets ``margin`` rows and columns of its neighbours, and nothing
on the edges of the image, where the instances hold ``fill`` exactly as
:meth:`tensorwire.ee.Model.predict_image` does (the fill is written by the tiling in the band's
sent dtype, not padded by Dask in the band's own).  Inside a task the chunk is tiled by the same
code as the whole image (:class:`tensorwire.ee._tiling.Tiling` with an ``origin`` for the margins
and an ``offset`` so that tiles are named by their place in the whole image) and sent, checked
and stitched by the same :class:`tensorwire.ee.Model` code.  Since each instance is the same
pixels as in the in-process call and a model answers per instance, the mosaic equals
``Model.predict_image``'s exactly; only the grouping of instances into requests differs (a
request never spans two chunks).

Per-worker Client
-----------------

Tasks carry the Model's arguments (``Model.arguments``, pickled once with cloudpickle, so an
``auth`` callable travels too), not a Model: a worker process makes one Model (one Client: one
connection pool or gRPC channel) per distinct set of arguments, the first time a task needs it,
and keeps it for the life of the process (:func:`worker_stats` counts them).  The Model's
``concurrency`` is per worker process: the tasks running at once in a worker (``threads_per_worker``
of them) share it, so at most ``workers × concurrency`` requests are in flight to the endpoint.

Outputs
-------

One task per chunk answers every output band at once; each output is then its own Dask array
picked from those answers (so a model is called once per tile whatever the number of outputs).
Dask needs every chunk's shape before anything runs: an output with ``dimensions > 0`` needs its
trailing shape in ``output_shapes`` (``{"prob": (k,)}``), and an answer of another shape fails
the compute.  A tile the model keeps refusing fails the compute with
:class:`tensorwire.PredictionError` naming the tile's ``(row, column)`` in the whole image; no
partial result is returned.  A worker that dies is replaced by its nanny and Dask reruns its
tasks: a task's inputs decide its requests, so a rerun sends the same ones.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import PredictionError
from ..ee._tiling import Tiling
from ..ee.model import Model, PropertyValue

if TYPE_CHECKING:
    import dask.array as da

_MODELS: dict[bytes, Model] = {}
_LOCK = threading.Lock()
_STATS = {"models": 0, "chunks": 0}


def worker_stats() -> dict[str, int]:
    """What this process did for :func:`predict_image`'s tasks: ``{"models": Models (so
    Clients) made, "chunks": chunk tasks run}``.

    A diagnostic: ``client.run(tensorwire.dask.worker_stats)`` gives it per worker ("models"
    stays 1 per model whatever the number of chunks)."""
    with _LOCK:
        return dict(_STATS)


class _WorkerModel(Model):
    """A Model whose requests in flight, from all the tasks running in this process at once, are
    at most its ``concurrency`` (each task's own Batcher would allow that many per task)."""

    def __init__(self, **arguments: Any) -> None:
        super().__init__(**arguments)
        self._slots = threading.BoundedSemaphore(self.batcher.concurrency)

    def _send(self, body: bytes, instances: int) -> dict[str, NDArray[Any]]:
        with self._slots:
            return super()._send(body, instances)


def _worker_model(key: bytes) -> Model:
    """This process's Model for the arguments pickled in ``key``, made on first use."""
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            arguments = pickle.loads(key)
            arguments["progress"] = False
            model = _WorkerModel(**arguments)
            _MODELS[key] = model
            _STATS["models"] += 1
        _STATS["chunks"] += 1
        return model


def _chunking(chunks: tuple[int, ...], tile: int, margin: int) -> tuple[int, ...]:
    """``chunks`` along one axis if every chunk but the last is a whole number of tiles and none
    is thinner than the margin (Dask's overlap needs each neighbour to hold ``margin`` pixels);
    else the rechunking: the first chunk's size rounded to whole tiles, at least one tile and
    the margin, the remainder added to the last chunk when it would be thinner than the margin."""
    if all(c % tile == 0 for c in chunks[:-1]) and (len(chunks) == 1 or min(chunks) >= margin):
        return chunks
    step = max(1, round(chunks[0] / tile), -(-margin // tile)) * tile
    total = sum(chunks)
    out = [min(step, total - s) for s in range(0, total, step)]
    if len(out) > 1 and out[-1] < margin:
        last = out.pop()
        out[-1] += last
    return tuple(out)


def predict_image(model: Model | Mapping[str, Any], bands: Mapping[str, Any],
                  properties: Mapping[str, PropertyValue] | None = None, *,
                  output_shapes: Mapping[str, Sequence[int]] | None = None) -> dict[str, da.Array]:
    """``{output band: lazy dask array}``: :meth:`tensorwire.ee.Model.predict_image` of ``bands``
    (``{band: (H, W) or (H, W, k) array}``, Dask arrays or anything ``dask.array.asarray``
    takes), computed chunk by chunk where the arrays are computed (a ``distributed`` cluster, or
    Dask's local scheduler).  See the module docstring for the chunking and the Clients.

    ``model``: a :class:`tensorwire.ee.Model` made with a target (not with a Client: a Client
    does not travel to the workers), or the keyword arguments of one.  ``output_shapes``:
    ``{output: trailing shape}`` for every output declared with ``dimensions > 0``.
    The arrays' dtypes are the declared ones; ``(H', W')`` is ``(H, W)`` × output / input tile.
    """
    import cloudpickle
    import dask.array as da
    from dask.array.overlap import overlap
    from dask.base import tokenize
    from dask.layers import ArrayBlockIdDep

    if isinstance(model, Model):
        if model.arguments is None:
            raise ValueError("predict_image: a Model made with a Client cannot be sent to the workers; "
                             "make it with a target (URL or host:port)")
        arguments = dict(model.arguments)
        local = model
    else:
        arguments = dict(model)
        local = Model(**{**arguments, "progress": False})
        local.close()  # made only to check the arguments and read the tiling
    if local.tile is None or local.output_bands is None:
        raise ValueError("predict_image needs input_tile_size and output_bands")
    tile, margin = local.tile, local.margin
    out = local.out_tile or tile

    trailing: dict[str, tuple[int, ...]] = {}
    shapes = dict(output_shapes or {})
    for o in local.output_bands:
        if o.dimensions == 0:
            trailing[o.name] = ()
        elif o.name not in shapes:
            raise ValueError(f"output_shapes: output {o.name!r} has {o.dimensions} dimensions; give its "
                             "trailing shape, e.g. output_shapes={" + repr(o.name) + ": (k,)}")
        else:
            trailing[o.name] = tuple(int(d) for d in shapes[o.name])
            if len(trailing[o.name]) != o.dimensions:
                raise ValueError(f"output_shapes[{o.name!r}] = {trailing[o.name]}: declared {o.dimensions} dimensions")

    if not bands:
        raise ValueError("predict_image: no bands given")
    arrays = {str(name): da.asarray(a) for name, a in bands.items()}
    for name, a in arrays.items():
        if a.ndim not in (2, 3):
            raise ValueError(f"band {name!r}: shape {a.shape}; expected (H, W) or (H, W, k)")
    sizes = {name: a.shape[:2] for name, a in arrays.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"bands of different sizes: {sizes}")
    H, W = next(iter(sizes.values()))
    if H < 1 or W < 1:
        raise ValueError(f"the image has no pixels: shape {(H, W)}")
    props = local._properties(properties)  # checked here, not in every task
    local._check_names(list(arrays) + list(props))

    # The bands of one dtype stacked into one (H, W, layers) array, chunked like the first band
    # (aligned on the tiles) and one chunk deep, so that Dask makes one overlap per dtype, not
    # one per band: each overlap is a few tasks per chunk, and they add up.
    first = next(iter(arrays.values()))
    rows = _chunking(first.chunks[0], tile[0], margin[0])
    cols = _chunking(first.chunks[1], tile[1], margin[1])
    groups: dict[np.dtype[Any], list[da.Array]] = {}
    layout: dict[str, tuple[int, int, int]] = {}  # band: (group, first layer, layers)
    for name, a in arrays.items():
        group = groups.setdefault(a.dtype, [])
        depth = sum(g.shape[2] for g in group)
        a3 = a[:, :, None] if a.ndim == 2 else a
        layout[name] = (list(groups).index(a.dtype), depth, a3.shape[2])
        group.append(a3)
    stacked = []
    for group in groups.values():
        g = group[0] if len(group) == 1 else da.concatenate(group, axis=2)
        g = g.rechunk((rows, cols, g.shape[2])) if g.chunks != (rows, cols, (g.shape[2],)) else g
        depth = {0: margin[0] if len(rows) > 1 else 0, 1: margin[1] if len(cols) > 1 else 0, 2: 0}  # one chunk: no neighbours
        stacked.append(overlap(g, depth=depth, boundary="none"))

    key = cloudpickle.dumps(arguments)
    row_starts = tuple(int(s) for s in np.cumsum((0,) + rows[:-1]))
    col_starts = tuple(int(s) for s in np.cumsum((0,) + cols[:-1]))
    # blockwise, not map_blocks: the groups differ in depth, so each has its own third index
    # (map_blocks would align them); the chunk's place comes from Dask's block-id dependency,
    # which is what map_blocks' block_id= is made of.
    pairs: list[Any] = [ArrayBlockIdDep((rows, cols)), "ij"]
    for n, g in enumerate(stacked):
        pairs += [g, "ij" + chr(ord("a") + n)]
    answers = da.blockwise(
        _predict_chunk, "ij", *pairs, concatenate=True, align_arrays=False, adjust_chunks={"i": 1, "j": 1},
        dtype=object, meta=np.empty((0, 0), dtype=object), key=key, layout=layout,
        properties=dict(properties or {}), rows=rows, cols=cols, row_starts=row_starts, col_starts=col_starts,
        trailing=trailing, name="tensorwire-predict-" + tokenize(key, *stacked, layout, properties, trailing))

    results = {}
    for o in local.output_bands:
        extra = trailing[o.name]
        out_rows = tuple(-(-r * out[0] // tile[0]) for r in rows)
        out_cols = tuple(-(-c * out[1] // tile[1]) for c in cols)
        results[o.name] = answers.map_blocks(
            _pick, o.name, dtype=o.dtype, chunks=(out_rows, out_cols) + tuple((d,) for d in extra),
            new_axis=list(range(2, 2 + len(extra))) or None, meta=np.empty((0,) * (2 + len(extra)), o.dtype),
            name=f"tensorwire-{o.name}-" + tokenize(answers.name, o.name))
    return results


def _pick(answers: NDArray[Any], name: str) -> NDArray[Any]:
    block: NDArray[Any] = answers[0, 0][name]
    return block


def _predict_chunk(block_id: tuple[int, int], *groups: NDArray[Any], key: bytes,
                   layout: dict[str, tuple[int, int, int]], properties: Mapping[str, PropertyValue],
                   rows: tuple[int, ...], cols: tuple[int, ...], row_starts: tuple[int, ...],
                   col_starts: tuple[int, ...], trailing: dict[str, tuple[int, ...]]) -> NDArray[Any]:
    """The answers for one chunk (its bands with their margins, stacked by dtype), ``{output:
    mosaic}`` in a 1 × 1 object array."""
    model = _worker_model(key)
    assert model.tile is not None
    i, j = block_id
    top, left = (model.margin[0] if i > 0 else 0), (model.margin[1] if j > 0 else 0)
    arrays = {name: groups[g][:, :, start:start + n] for name, (g, start, n) in layout.items()}
    arrays = model._bands(arrays)
    tiling = Tiling((rows[i], cols[j]), model.tile, model.margin, model.out_tile or model.tile,
                    origin=(-top, -left), offset=(row_starts[i] // model.tile[0], col_starts[j] // model.tile[1]))
    mosaics = model._predict_tiles(arrays, tiling, properties, progress=False)
    for name, a in mosaics.items():
        if a.shape[2:] != trailing[name]:
            where = (f"tile {tiling.label(0)}" if tiling.count == 1 else
                     f"tiles {tiling.label(0)} to {tiling.label(tiling.count - 1)} (row, column)")
            raise PredictionError(f"{where}: output {name!r} has shape {a.shape[2:]} per pixel; output_shapes says "
                                  f"{trailing[name]}")
    holder = np.empty((1, 1), dtype=object)
    holder[0, 0] = mosaics
    return holder
