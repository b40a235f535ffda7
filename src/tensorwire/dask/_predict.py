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
_STATS = {"models": 0, "chunks": 0, "seceded": 0}
_OUT = [0]  # chunk tasks of this process out of Dask's thread pool now (_leave_pool)
_TASK = threading.local()  # in a chunk task's thread: .chunk (running one), .seceded (it left the pool)


def worker_stats() -> dict[str, int]:
    """What this process did for :func:`predict_image`'s tasks: ``{"models": Models (so
    Clients) made, "chunks": chunk tasks run, "seceded": chunk tasks that left Dask's thread
    pool to wait for their answers}``.

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
        self.batcher.drained = _leave_pool

    def _send(self, body: bytes, instances: int) -> dict[str, NDArray[Any]]:
        with self._slots:
            return super()._send(body, instances)


def _distributed_worker() -> Any:
    """The ``distributed`` worker running this task, or None (Dask's local schedulers, or no task)."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def _leave_pool() -> None:
    """Called (by the Batcher) when a chunk task has made and handed over all its requests: in a
    ``distributed`` worker, the task leaves Dask's thread pool for the rest of its run
    (``distributed.secede``), so that the worker starts its next chunk (overlap, cut, encode,
    send) while this one waits for its answers and pastes them.  With one thread per worker the
    endpoint would otherwise sit idle while each chunk is cut and encoded, and the worker while
    its requests are out.  At most one task per worker thread is out at once (otherwise each
    chunk would start the next before its own answers came back, and chunks would pile up in
    memory); the rest wait in their slot.  Under Dask's local schedulers, nothing."""
    if not getattr(_TASK, "chunk", False) or getattr(_TASK, "seceded", False):
        return
    worker = _distributed_worker()
    if worker is None:
        return
    from distributed import secede
    from distributed.threadpoolexecutor import thread_state

    # Only a thread of distributed's own pool that is still in it: a task given another executor
    # has no pool to leave, and a thread that left already (a task running several chunks itself,
    # e.g. computing a prediction with the sync scheduler inside a task) must not leave twice.
    if getattr(thread_state, "executor", None) is None or getattr(thread_state, "proceed", True) is False:
        return
    with _LOCK:
        if _OUT[0] >= worker.state.nthreads:
            return
        _OUT[0] += 1
        _STATS["seceded"] += 1
    _TASK.seceded = True
    secede()


WORKER_MALLOPT_MIB = 64  # the workers' glibc thresholds (TENSORWIRE_MALLOPT unset or 1); see worker_allocator


def worker_allocator() -> str:
    """Keeps freed large blocks in this process, as a ``distributed`` worker running
    :func:`predict_image`'s tasks does before its first request:
    :func:`tensorwire._malloc.keep_freed_memory` at :data:`WORKER_MALLOPT_MIB` MiB
    (``TENSORWIRE_MALLOPT=0`` leaves the allocator alone, a number sets the threshold in MiB).
    Dask's local schedulers run in the caller's process, whose allocator is left alone: call
    this there if wanted.  Returns the allocator's description.

    Why: a ``distributed`` nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, so a
    request's megabyte blocks were fresh pages each time, faulted in 4 KiB at a time.  Predicting
    a 2048 x 2048 x 4 float32 image (64 tiles) took 0.43-0.46 s of CPU in such a worker, 0.15-0.17
    s in a process with glibc's defaults, 0.25-0.28 s with ``serve``'s 16 MiB (blocks just above
    it, such as a 1024 x 1024 chunk of 4 float32 bands with its margins, stayed fresh pages), and
    0.14-0.15 s at 64 MiB (docs/dask.md).  What it costs Dask's memory accounting: up to 64 MiB of
    freed memory per malloc arena (two arenas) stays mapped, counted by Dask as unmanaged memory.
    """
    from .. import _malloc

    _malloc.keep_freed_memory(default_mib=WORKER_MALLOPT_MIB)
    return _malloc.describe()


def _worker_model(key: bytes) -> Model:
    """This process's Model for the arguments pickled in ``key``, made on first use."""
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            if not _MODELS and _distributed_worker() is not None:  # a worker's first Model: its allocator
                worker_allocator()
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


def predict_image(model: Model | Mapping[str, Any], bands: Mapping[str, Any] | Any,
                  properties: Mapping[str, PropertyValue] | None = None, *,
                  output_shapes: Mapping[str, Sequence[int]] | None = None,
                  band_names: Sequence[str] | None = None) -> dict[str, da.Array]:
    """``{output band: lazy dask array}``: :meth:`tensorwire.ee.Model.predict_image` of ``bands``
    (``{band: (H, W) or (H, W, k) array}``, Dask arrays or anything ``dask.array.asarray``
    takes), computed chunk by chunk where the arrays are computed (a ``distributed`` cluster, or
    Dask's local scheduler).  See the module docstring for the chunking and the Clients.

    ``band_names``: ``bands`` is one ``(H, W, n)`` array whose last axis holds the ``n`` bands so
    named (what :func:`read_ee_image_export` gives), the same as ``{name: bands[..., i]}`` but
    used as it is: the bands given one by one are stacked into such an array first, a copy of the
    image in every chunk.

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

    whole = None  # the (H, W, n) image of band_names
    if band_names is not None:
        whole = da.asarray(bands)
        names = [str(n) for n in band_names]
        if whole.ndim != 3 or whole.shape[2] != len(names):
            raise ValueError(f"band_names names {len(names)} bands; the image's shape is {whole.shape}, "
                             f"expected (H, W, {len(names)})")
        if len(set(names)) != len(names):
            raise ValueError(f"band_names: a name given twice: {names}")
        bands = {name: whole[..., i] for i, name in enumerate(names)}
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
    if whole is not None:  # already one group
        groups[whole.dtype] = [whole]
        layout = {name: (0, i, 1) for i, name in enumerate(arrays)}
    else:
        for name, a in arrays.items():
            group = groups.setdefault(a.dtype, [])
            depth = sum(g.shape[2] for g in group)
            a3 = a[:, :, None] if a.ndim == 2 else a
            layout[name] = (list(groups).index(a.dtype), depth, a3.shape[2])
            group.append(a3)
    stacked = []
    for group in groups.values():
        group = [b.rechunk((rows, cols, b.shape[2])) if b.chunks != (rows, cols, (b.shape[2],)) else b
                 for b in group]
        # one task and one copy per chunk (da.concatenate and a rechunk would copy twice)
        g = group[0] if len(group) == 1 else da.map_blocks(
            _stack_layers, *group, dtype=group[0].dtype, chunks=(rows, cols, (sum(b.shape[2] for b in group),)),
            meta=np.empty((0, 0, 0), group[0].dtype), name="tensorwire-stack-" + tokenize(*group))
        depth = {0: margin[0] if len(rows) > 1 else 0, 1: margin[1] if len(cols) > 1 else 0, 2: 0}  # one chunk: no neighbours
        stacked.append(overlap(g, depth=depth, boundary="none"))

    key = cloudpickle.dumps(arguments)
    row_starts = tuple(int(s) for s in np.cumsum((0,) + rows[:-1]))
    col_starts = tuple(int(s) for s in np.cumsum((0,) + cols[:-1]))
    # blockwise, not map_blocks: the groups differ in depth, so each has its own third index
    # (map_blocks would align them); the chunk's place comes from Dask's block-id dependency,
    # which is what map_blocks' block_id= is made of.  concatenate=False: a group's third index
    # is one block, given as a list of that block (Dask would copy it to "concatenate" it).
    pairs: list[Any] = [ArrayBlockIdDep((rows, cols)), "ij"]
    for n, g in enumerate(stacked):
        pairs += [g, "ij" + chr(ord("a") + n)]
    answers = da.blockwise(
        _predict_chunk, "ij", *pairs, concatenate=False, align_arrays=False, adjust_chunks={"i": 1, "j": 1},
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


def _stack_layers(*blocks: NDArray[Any]) -> NDArray[Any]:
    """One chunk of a dtype's bands, ``(h, w, layers)``: the bands' blocks side by side."""
    return np.concatenate(blocks, axis=2)


def _pick(answers: NDArray[Any], name: str) -> NDArray[Any]:
    block: NDArray[Any] = answers[0, 0][name]
    return block


def _predict_chunk(block_id: tuple[int, int], *blocks: list[NDArray[Any]], key: bytes,
                   layout: dict[str, tuple[int, int, int]], properties: Mapping[str, PropertyValue],
                   rows: tuple[int, ...], cols: tuple[int, ...], row_starts: tuple[int, ...],
                   col_starts: tuple[int, ...], trailing: dict[str, tuple[int, ...]]) -> NDArray[Any]:
    """The answers for one chunk (its bands with their margins, stacked by dtype: per group a
    list of its one block), ``{output: mosaic}`` in a 1 × 1 object array."""
    _TASK.chunk, _TASK.seceded = True, False
    try:
        groups = [block for (block,) in blocks]
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
    finally:
        if _TASK.seceded:
            with _LOCK:
                _OUT[0] -= 1
        _TASK.chunk = _TASK.seceded = False
