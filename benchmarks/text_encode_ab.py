"""Builds of the native JSON codec against each other and orjson on the text classifier's request:
``python benchmarks/text_encode_ab.py [BUILD.so ...] [--count 10000] [--layouts 6] [--rounds 25]
[--cold]``.

``encode_request(object_array_of_str, "JSON")`` of ``--count`` short strings (benchmarks/cases.py's
TextPayload) is a loop whose speed depends on where the strings lie in memory, and a change to it
can win in one process and lose in the next.  So every build is loaded into this one process
(each ``.so`` a private copy of ``tensorwire._native.jsonbody``, run through a private copy of
``tensorwire.payload``), the strings are made ``--layouts`` times with different amounts of
garbage allocated first (each set lies differently on the heap), and on each set every build and
``orjson.dumps({"instances": list_of_str})`` are timed interleaved (``--rounds`` rounds, best
kept).  It prints, per set and as the geometric mean, orjson's time divided by each build's
(above 1: faster than orjson).  ``--cold`` runs the pure-Python reference encoder on the same
strings before every sample (about 17 ms of allocation, as report.py's interleaving does), so
that each sample starts with the strings out of the caches.

With no BUILD, the build in the source tree is measured.  To compare a change, copy the built
``src/tensorwire/_native/jsonbody.*.so`` aside before and after it, and pass both.  glibc's
thresholds are set as the other tools set them (``TENSORWIRE_MALLOPT``).
"""

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import cases
from load import keep_freed_memory


def load_build(path):
    """A private copy of the native JSON codec from ``path`` (not put in sys.modules)."""
    spec = importlib.util.spec_from_file_location("tensorwire._native.jsonbody", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layouts(count, how_many):
    """``how_many`` TextPayloads of the same strings, each made after a different amount of
    garbage (half of it kept alive), so that each set of str objects lies differently."""
    kept, made = [], []
    for k in range(how_many):
        junk = [("x" * (k * 7 + i % 23)) + str(i) for i in range(3000 * k)]
        kept.append(junk[::2])
        made.append(cases.TextPayload(f"texts-{k}", count))
        del junk
    return made, kept


def best_times(calls, rounds, number, before=None):
    """The best mean seconds per call of each of ``calls`` (name -> function), interleaved;
    ``before()`` (when given) is run before every sample, untimed."""
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for name, call in calls.items():
            if before is not None:
                before()
            start = time.perf_counter()
            for _ in range(number):
                call()
            best[name] = min(best[name], (time.perf_counter() - start) / number)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("builds", nargs="*", type=Path, help="jsonbody .so files (default: the one in src/)")
    parser.add_argument("--count", type=int, default=cases.TEXTS, help="strings per request (default %(default)s)")
    parser.add_argument("--layouts", type=int, default=6, help="sets of strings (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=25, help="interleaved rounds per set (default %(default)s)")
    parser.add_argument("--cold", action="store_true",
                        help="run the reference encoder before every sample (the strings start out of the caches)")
    args = parser.parse_args(argv)
    malloc = keep_freed_memory(parser)
    orjson = cases.orjson()
    builds = {}
    for k, path in enumerate(args.builds):  # named by file, up to the first dot (BUILD.so -> BUILD)
        name = path.name.split(".")[0]
        builds[name if name not in builds else f"{name}#{k + 1}"] = load_build(path)
    if not builds:
        builds = {"source": cases.native_jsonbody()}
    apis = {name: cases.payload_api(module) for name, module in builds.items()}
    payloads, _kept = layouts(args.count, args.layouts)
    number = max(20, 600_000 // args.count)
    reference = cases.payload_api(cases.reference_jsonbody())
    print(f"{args.count:,} strings, {args.layouts} layouts, {args.rounds} rounds of {number} calls"
          f"{', reference encoder before every sample' if args.cold else ''}; {malloc}")
    print("layout " + " ".join(f"{name:>12s}" for name in builds) + "   orjson µs")
    ratios = {name: [] for name in builds}
    gc.disable()
    for k, payload in enumerate(payloads):
        objects, strings = payload.objects, payload.strings
        calls = {name: (lambda api: lambda: api.encode_request(objects, "JSON"))(api) for name, api in apis.items()}
        calls["orjson"] = lambda: orjson.dumps({"instances": strings})
        want = orjson.loads(calls["orjson"]())
        for name, call in calls.items():
            assert orjson.loads(call()) == want, f"{name}: a different body"
        before = (lambda: reference.encode_request(objects, "JSON")) if args.cold else None
        best = best_times(calls, args.rounds, number, before)
        for name in builds:
            ratios[name].append(best["orjson"] / best[name])
        print(f"{k:6d} " + " ".join(f"{ratios[name][-1]:11.3f}×" for name in builds) + f"   {best['orjson'] * 1e6:.1f}")
    print("geomean" + " ".join(f"{statistics.geometric_mean(r):11.3f}×" for r in ratios.values()))


if __name__ == "__main__":
    sys.exit(main())
