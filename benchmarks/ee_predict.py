"""``tensorwire.ee.Model.predict_image`` against a bare ``Client`` loop sending the same requests:
``python benchmarks/ee_predict.py [--size 4096] [--bands 12] [--tile 256] [--overlap 32]
[--format SERIALIZED_TF_TENSORS] [--max-payload-bytes 10000000] [--rounds 2]``.

The image: ``--bands`` float32 bands ``B1``.. of ``--size`` × ``--size`` pixels (seeded normal
values; 4096 × 4096 × 12 is 805 MB).  The model: ``python -m tensorwire serve
serve_models:crop_margin`` in a subprocess, which answers every band's instance without its
margin (the identity of the tiling), so the mosaic must equal the image, and is checked to.

The tiling: ``--tile`` 256 with ``--overlap`` 32, Earth Engine's ``inputOverlapSize`` (the total
per axis: 16 pixels on each edge, see ``tensorwire.ee.model``), so each instance is 288 × 288
per band, 12 bands: 3,981,312 bytes of float32, about 5.3 MB as SERIALIZED_TF_TENSORS base64.
That is over Earth Engine's 1,500,000-byte default ``maxPayloadBytes``, so the limit is raised to
``--max-payload-bytes`` 10,000,000, the most a dedicated Vertex endpoint takes (its shared
endpoints take 1.5 MB): one instance per request, 256 requests for 4096².

Three timed ways, interleaved ``--rounds`` times (the order rotating each round):

* **bare Client loop**: for each request the Model sent (the same instance ranges), the instances
  are cut with the Model's own tiling code *outside* the timed part, then ``Client.predict`` is
  timed (encode, send, decode, check); the figure is the sum of those times;
* **Model, concurrency 1**: ``predict_image`` whole (cutting, encoding, sending, checking,
  mosaicking), one request at a time, as the bare loop;
* **Model, concurrency 4** (the default): the same, four requests in flight.

Reported: the best round's seconds and tiles/s per way and the ratio to the bare loop (target:
Model, concurrency 1 ≥ 70 % of the bare loop's throughput).  Memory, measured first in a run of
its own with ``tracemalloc`` (numpy reports its buffers to it): the peak of memory allocated
during ``predict_image`` over what was allocated before it (the image), against the target
``2.5 × input + output``; and the process's peak RSS.
"""

import argparse
import os
import resource
import sys
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from load import keep_freed_memory, tensorwire_server  # noqa: E402

MB = 1e6


def make_bands(size, count):
    rng = np.random.default_rng(0)
    return {f"B{i + 1}": rng.standard_normal((size, size), dtype=np.float32) for i in range(count)}


def make_model(server, args, concurrency):
    from tensorwire.ee import Model

    return Model(server.target(args.format), args.format, input_tile_size=args.tile,
                 input_overlap_size=args.overlap, output_bands={name: np.float32 for name in BANDS},
                 max_payload_bytes=args.max_payload_bytes, concurrency=concurrency, progress=False,
                 timeout=300.0, retries=0)


def check(out, bands):
    for name, band in bands.items():
        if not np.array_equal(out[name], band):
            raise SystemExit(f"the mosaic of {name} differs from the image")


def timed_model(server, args, bands, concurrency):
    m = make_model(server, args, concurrency)
    t = time.perf_counter()
    out = m.predict_image(bands)
    elapsed = time.perf_counter() - t
    check(out, bands)
    m.client.close()
    return elapsed


def timed_bare(server, args, bands, ranges):
    """The sum of the times of ``Client.predict`` for each request range (cutting not timed)."""
    from tensorwire.ee._tiling import Tiling

    m = make_model(server, args, 1)
    tiling = Tiling(next(iter(bands.values())).shape, m.tile, m.margin, m.tile)
    total = 0.0
    for start, stop in ranges:
        inputs = {name: tiling.cut(band[:, :, None], start, stop, np.float32) for name, band in bands.items()}
        t = time.perf_counter()
        answer = m.client.predict(inputs)
        total += time.perf_counter() - t
        if len(answer) != len(bands) or len(next(iter(answer.values()))) != stop - start:
            raise SystemExit(f"the bare loop's answer for instances {start}:{stop} is not one per instance")
        del inputs, answer
    m.client.close()
    return total


def memory_run(server, args, bands):
    """``(peak bytes allocated during predict_image over those before, ranges sent, output bytes)``."""
    m = make_model(server, args, 4)
    counts = []
    send = m.client._send

    def recording(body, n):
        counts.append(n)
        return send(body, n)

    m.client._send = recording
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    out = m.predict_image(bands)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    check(out, bands)
    output = sum(a.nbytes for a in out.values())
    del out
    m.client.close()
    ranges, start = [], 0
    for n in counts:  # every run but the last holds the same number of instances
        ranges.append((start, start + n))
        start += n
    return peak, ranges, output


def main(argv=None):
    global BANDS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels (default 4096)")
    parser.add_argument("--bands", type=int, default=12, help="float32 bands (default 12)")
    parser.add_argument("--tile", type=int, default=256, help="input_tile_size (default 256)")
    parser.add_argument("--overlap", type=int, default=32,
                        help="input_overlap_size, the total per axis (default 32: 16 pixels per edge)")
    parser.add_argument("--format", default="SERIALIZED_TF_TENSORS", help="payload format (default SERIALIZED_TF_TENSORS)")
    parser.add_argument("--max-payload-bytes", type=int, default=10_000_000, help="request limit (default 10,000,000)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    args = parser.parse_args(argv)
    malloc = keep_freed_memory(parser)  # as the other serving benchmarks (load.py), for this process and the server
    command = "python benchmarks/ee_predict.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"building the {args.size}x{args.size}x{args.bands} float32 image ...", file=sys.stderr)
    bands = make_bands(args.size, args.bands)
    BANDS = list(bands)
    image_bytes = sum(b.nbytes for b in bands.values())
    margin = args.overlap // 2
    env = {**os.environ, "TENSORWIRE_BENCH_MARGIN": str(margin)}
    with tensorwire_server("crop_margin", formats=[args.format], env=env) as server:
        print("memory run ...", file=sys.stderr)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak, ranges, output_bytes = memory_run(server, args, bands)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tiles = ranges[-1][1]
        ways = {
            "bare Client loop (sum of predict calls)": lambda: timed_bare(server, args, bands, ranges),
            "Model.predict_image, concurrency 1": lambda: timed_model(server, args, bands, 1),
            "Model.predict_image, concurrency 4": lambda: timed_model(server, args, bands, 4),
        }
        names = list(ways)
        times = {name: [] for name in names}
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                print(f"round {r + 1}: {name} ...", file=sys.stderr)
                times[name].append(ways[name]())
    bare = min(times[names[0]])
    instance = args.tile + args.overlap
    print(f"\n`{command}`\n")
    print(f"{args.size}x{args.size}x{args.bands} float32 image ({image_bytes / MB:,.0f} MB), tile {args.tile}, "
          f"overlap {args.overlap} (instances {instance}x{instance}x{args.bands}), {args.format}, "
          f"max_payload_bytes {args.max_payload_bytes:,}: {tiles} tiles in {len(ranges)} requests; "
          f"best of {args.rounds} interleaved rounds; {malloc}\n")
    print("| way | seconds | tiles/s | throughput vs bare loop |")
    print("|:--|--:|--:|--:|")
    for name in names:
        best = min(times[name])
        print(f"| {name} | {best:.2f} | {tiles / best:.1f} | {bare / best:.0%} |")
    bound = 2.5 * image_bytes + output_bytes
    print("\n| memory | MB |")
    print("|:--|--:|")
    print(f"| input image | {image_bytes / MB:,.0f} |")
    print(f"| output mosaics | {output_bytes / MB:,.0f} |")
    print(f"| allocated during predict_image, peak (tracemalloc; output included) | {peak / MB:,.0f} |")
    print(f"| input + that peak | {(image_bytes + peak) / MB:,.0f} |")
    print(f"| target: 2.5 × input + output | {bound / MB:,.0f} |")
    print(f"| process peak RSS before / after the memory run | {rss_before / MB:,.0f} / {rss_after / MB:,.0f} |")
    return 0


BANDS = []

if __name__ == "__main__":
    sys.exit(main())
