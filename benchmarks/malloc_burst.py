"""The server's RSS around a burst of large requests, for the ``TENSORWIRE_MALLOPT`` decision
(``tensorwire._malloc``): ``[TENSORWIRE_MALLOPT=0|1|N] python benchmarks/malloc_burst.py
[--side 1024] [--model serve_models:affine]``.

Starts ``python -m tensorwire serve`` as load.py does (the setting reaches it through the
environment), then: 60 requests of a 256x256x4 float32 tile (SERIALIZED_TF_TENSORS, bands
``B1``..``B4``) from one client, 1 s idle, RSS = *steady*; a burst of 3 clients x 4 requests of a
``--side`` x ``--side`` x 4 tile (1024: 22 MB bodies), RSS sampled every 50 ms = *peak*; 60 more
small requests, 3 s idle, RSS = *after*.  Prints one JSON line (RSS in MiB; latency p50/p99 of
the small requests before and after, ms).  Answers are not checked (load.py does that).
"""

import argparse
import json
import os
import sys
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from load import ServerProcess, keep_freed_memory, tile_inputs  # noqa: E402


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def small_requests(client, rng, n):
    latencies = []
    for _ in range(n):
        inputs = tile_inputs(rng.standard_normal((1, 256, 256, 4), dtype=np.float32), "SERIALIZED_TF_TENSORS")
        start = time.perf_counter()
        client.predict(inputs)
        latencies.append(time.perf_counter() - start)
    return [round(float(np.percentile(latencies, q)) * 1e3, 1) for q in (50, 99)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=1024, help="side of the burst's tiles (default 1024)")
    parser.add_argument("--model", default="serve_models:affine", help="MODULE:FUNCTION to serve")
    args = parser.parse_args(argv)
    malloc = keep_freed_memory(parser)
    import tensorwire

    argv = ["-m", "tensorwire", "serve", args.model, "--host", "127.0.0.1", "--http-port", "0", "--grpc-port", "0"]
    out = {"malloc": malloc, "side": args.side}
    with ServerProcess("python -m tensorwire serve", argv) as server:
        pid = server.proc.pid

        def client():
            return tensorwire.Client(server.http_url, max_payload_bytes=1 << 30, retries=0, timeout=120)

        rng = np.random.default_rng(0)
        with client() as c:
            small_requests(c, rng, 5)  # warm-up
            out["small_before_ms"] = small_requests(c, rng, 60)
            time.sleep(1.0)
            steady = rss_bytes(pid)
            peak, done = [steady], threading.Event()

            def sample():
                while not done.is_set():
                    peak.append(rss_bytes(pid))
                    time.sleep(0.05)

            def burst(seed):
                r = np.random.default_rng(seed)
                with client() as big:
                    for _ in range(4):
                        big.predict(tile_inputs(r.standard_normal((1, args.side, args.side, 4), dtype=np.float32),
                                                "SERIALIZED_TF_TENSORS"))

            threads = [threading.Thread(target=sample, daemon=True)] + [
                threading.Thread(target=burst, args=(seed,)) for seed in (1, 2, 3)]
            for t in threads:
                t.start()
            for t in threads[1:]:
                t.join()
            done.set()
            out["small_after_ms"] = small_requests(c, rng, 60)
            time.sleep(3.0)
            after = rss_bytes(pid)
    out.update({"rss_steady_mib": round(steady / 2**20, 1), "rss_peak_mib": round(max(peak) / 2**20, 1),
                "rss_after_mib": round(after / 2**20, 1), "after_over_steady": round(after / steady, 2)})
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
