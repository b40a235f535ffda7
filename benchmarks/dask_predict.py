"""``tensorwire.dask.predict_image`` on a LocalCluster of 1 and 2 workers against
``tensorwire.ee.Model.predict_image`` in one process, the same image and model:
``python benchmarks/dask_predict.py [--size 8192] [--bands 4] [--tile 256] [--overlap 32]
[--chunk 2048] [--format SERIALIZED_TF_TENSORS] [--max-payload-bytes 10000000] [--concurrency 4]
[--threads 1] [--rounds 2]``.

The model: ``python -m tensorwire serve serve_models:crop_margin`` in a process of its own, the
identity of the tiling (each band's instance answered without its margin), so every mosaic
must equal its band, and is checked to (outside the timed part).  The image: ``--size``² ×
``--bands`` float32 seeded normal values, one Dask array made chunk by chunk from the chunk's
position (all bands of a chunk together, as an export read by ``tensorwire.dask`` is), so the
workers make their own copy (``persist``, not timed: in real use they would read it from an
export) and this process computes the same values for the in-process run; the bands are its
slices ``[..., i]``; ``tensorwire.dask.predict_image`` is given the image itself with
``band_names`` (as a user of ``tensorwire.dask.read_ee_image_export`` would).  The default chunks,
2048² × 4 float32 = 64 MB, follow Dask's advice (tens to hundreds of MB); ``--chunk 1024`` shows
what smaller chunks cost (docs/dask.md).

Three timed ways, interleaved ``--rounds`` times (order rotating), best round reported:

* **Model.predict_image, in process**: the whole call (cut, encode, send, check, mosaic) with
  ``--concurrency`` requests in flight;
* **dask, 1 worker** / **dask, 2 workers**: ``LocalCluster(n_workers=n,
  threads_per_worker=--threads, processes=True)`` started, and what a request imports on first use imported in its workers
  (:func:`warm_up`), before the clock (this process has it imported too; the server is warmed up
  by one small call); timed: building the graph, then ``persist`` of the
  outputs until every chunk is done (the mosaics stay on the workers, as they would before
  ``to_zarr``); the Model's arguments are the same, so each task has ``--concurrency`` requests
  in flight.  The gather to this process is timed separately (reported, not in the ratio).

Also reported, for the cost model in docs/dask.md: CPU seconds per tile on the request side (the
worker processes, or this process) and on the server (its process), from the same runs.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from load import tensorwire_server  # noqa: E402

MB = 1e6


def chunk_values(bands, block_id=None, block_info=None):
    """One (h, w, bands) chunk: normal values seeded by the chunk's position."""
    (r0, r1), (c0, c1), _ = block_info[None]["array-location"]
    rng = np.random.default_rng([block_id[0], block_id[1]])
    return rng.standard_normal((r1 - r0, c1 - c0, bands), dtype=np.float32)


def lazy_image(args):
    """The (size, size, bands) image as one Dask array, chunked by position only, as
    ``tensorwire.dask.read_ee_image_export`` gives an export (so a chunk's bands live together)."""
    import dask.array as da

    chunks = da.core.normalize_chunks((args.chunk, args.chunk, args.bands), (args.size, args.size, args.bands))
    return da.map_blocks(chunk_values, args.bands, chunks=chunks, dtype=np.float32,
                         meta=np.empty((0, 0, 0), np.float32), name=f"bench-image-{args.size}-{args.chunk}-{args.bands}")


def split(image):
    return {f"B{i + 1}": image[..., i] for i in range(image.shape[2])}


def warm_up(fmt):
    """In a worker: the imports a request in ``fmt`` makes on first use (the client stack, the
    codecs and their optional dtypes).  The worker's allocator is set by its first chunk task
    (``tensorwire.dask.worker_allocator``), as in real use; this process sets the same."""
    import tensorwire.client  # noqa: F401
    import tensorwire.dask  # noqa: F401
    from tensorwire.payload import encode_request

    encode_request({"x": np.zeros((1, 2, 2, 1), np.float32)}, fmt)


def model_arguments(server, args):
    return dict(target=server.target(args.format), payload_format=args.format, input_tile_size=args.tile,
                input_overlap_size=args.overlap, output_bands={f"B{i + 1}": np.float32 for i in range(args.bands)},
                max_payload_bytes=args.max_payload_bytes, concurrency=args.concurrency, progress=False,
                timeout=300.0, retries=0)


def server_cpu(server):
    """CPU seconds (user + system) the server process has used."""
    with open(f"/proc/{server.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check(out, bands):
    for name, band in bands.items():
        if not np.array_equal(out[name], band):
            raise SystemExit(f"the mosaic of {name} differs from the image")


def in_process(server, args, bands):
    from tensorwire.ee import Model

    with Model(**model_arguments(server, args)) as m:
        cpu, s_cpu = time.process_time(), server_cpu(server)
        t = time.perf_counter()
        out = m.predict_image(bands)
        elapsed = time.perf_counter() - t
        cpu, s_cpu = time.process_time() - cpu, server_cpu(server) - s_cpu
    check(out, bands)
    return elapsed, None, cpu, s_cpu


def on_cluster(server, args, bands, workers):
    import distributed

    import tensorwire.dask as twd

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=args.threads, processes=True,
                                  dashboard_address=None,
                                  silence_logs=40) as lc, distributed.Client(lc) as client:
        client.wait_for_workers(workers, timeout=120)
        client.run(warm_up, args.format)  # as in this process: allocator setting, imports made
        image = client.persist(lazy_image(args))
        distributed.wait(image, timeout=600)
        cpu = sum(client.run(time.process_time).values())
        s_cpu = server_cpu(server)
        t = time.perf_counter()
        lazy = twd.predict_image(model_arguments(server, args), image, band_names=list(split(image)))
        out = dict(zip(lazy, client.persist(list(lazy.values()))))
        distributed.wait(list(out.values()), timeout=600)
        elapsed = time.perf_counter() - t
        cpu, s_cpu = sum(client.run(time.process_time).values()) - cpu, server_cpu(server) - s_cpu
        t = time.perf_counter()
        got = client.compute(out, sync=True)
        gather = time.perf_counter() - t
    check(got, bands)
    return elapsed, gather, cpu, s_cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=8192, help="image side in pixels (default 8192)")
    parser.add_argument("--bands", type=int, default=4, help="float32 bands (default 4)")
    parser.add_argument("--tile", type=int, default=256, help="input_tile_size (default 256)")
    parser.add_argument("--overlap", type=int, default=32, help="input_overlap_size, total per axis (default 32)")
    parser.add_argument("--chunk", type=int, default=2048, help="Dask chunk side (default 2048)")
    parser.add_argument("--format", default="SERIALIZED_TF_TENSORS", help="payload format (default SERIALIZED_TF_TENSORS)")
    parser.add_argument("--max-payload-bytes", type=int, default=10_000_000, help="request limit (default 10,000,000)")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per Model / task (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    args = parser.parse_args(argv)
    from tensorwire.dask import worker_allocator

    try:  # the allocator tensorwire.dask's workers use, so that the in-process run has it too
        malloc = worker_allocator()
    except ValueError as exc:
        parser.error(str(exc))
    command = "python benchmarks/dask_predict.py " + " ".join(sys.argv[1:] if argv is None else argv)
    import dask

    print(f"building the {args.size}x{args.size}x{args.bands} float32 image ...", file=sys.stderr)
    bands = split(lazy_image(args).compute(scheduler="sync"))
    image_bytes = sum(b.nbytes for b in bands.values())
    tiles = (-(-args.size // args.tile)) ** 2
    env = {**os.environ, "TENSORWIRE_BENCH_MARGIN": str(args.overlap // 2)}
    with tensorwire_server("crop_margin", formats=[args.format], env=env) as server:
        ways = {
            "Model.predict_image, in process": lambda: in_process(server, args, bands),
            "dask, LocalCluster 1 worker": lambda: on_cluster(server, args, bands, 1),
            "dask, LocalCluster 2 workers": lambda: on_cluster(server, args, bands, 2),
        }
        names = list(ways)
        runs = {name: [] for name in names}
        print("warming the server up ...", file=sys.stderr)
        small = {name: band[:args.tile * 2, :args.tile * 2] for name, band in bands.items()}
        in_process(server, args, small)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                print(f"round {r + 1}: {name} ...", file=sys.stderr)
                runs[name].append(ways[name]())
    best = {name: min(runs[name], key=lambda run: run[0]) for name in names}
    base = best[names[0]][0]
    one = best[names[1]][0]
    instance = args.tile + args.overlap
    print(f"\n`{command}`\n")
    print(f"{args.size}x{args.size}x{args.bands} float32 image ({image_bytes / MB:,.0f} MB), tile {args.tile}, "
          f"overlap {args.overlap} (instances {instance}x{instance}x{args.bands}), {args.format}, "
          f"max_payload_bytes {args.max_payload_bytes:,}, concurrency {args.concurrency}, chunks {args.chunk}², "
          f"{args.threads} thread(s) per worker: "
          f"{tiles} tiles; model server in its own process; {os.cpu_count()} cores; best of {args.rounds} "
          f"interleaved rounds; {malloc}\n")
    print("| way | seconds | tiles/s | vs in-process Model | vs 1 worker | gather to the client, s "
          "| request-side CPU s/tile | server CPU s/tile |")
    print("|:--|--:|--:|--:|--:|--:|--:|--:|")
    for name in names:
        elapsed, gather, cpu, s_cpu = best[name]
        print(f"| {name} | {elapsed:.2f} | {tiles / elapsed:.1f} | {base / elapsed:.0%} | "
              f"{'' if name == names[0] else f'{one / elapsed:.2f}x'} | {'' if gather is None else f'{gather:.2f}'} "
              f"| {cpu / tiles * 1000:.1f} ms | {s_cpu / tiles * 1000:.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
