"""Run every fuzz harness (or the ones named) for a bounded time, from the committed corpus.

    python fuzz/run.py                      # CI: 40 s per harness, two at a time (about 3 min)
    python fuzz/run.py --seconds 600 json   # one harness, longer
    python fuzz/run.py --grow               # then merge what added coverage into fuzz/corpus/
    python fuzz/run.py --asan               # under the sanitized build (see fuzz/README.md)

Each harness reads its committed corpus ``fuzz/corpus/<harness>/`` (read-only) and writes the
inputs it finds to a scratch directory; ``--grow`` merges those that add coverage back into
the committed corpus (libFuzzer's ``-merge=1``).  Crash, contract breach, timeout or
out-of-memory inputs are written to ``--artifacts`` (default ``fuzz/artifacts/``, not committed)
and their paths printed; the exit status is 1 if any harness failed.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = sorted(p.stem.removeprefix("fuzz_") for p in HERE.glob("fuzz_*.py"))


def asan_preload():
    """The ASan (+ libFuzzer) runtime atheris ships, to LD_PRELOAD into a Python that loads an
    extension built with TENSORWIRE_SANITIZE=1."""
    import atheris

    return os.path.join(atheris.path(), "asan_with_fuzzer.so")


def fuzz_env(asan):
    env = dict(os.environ)
    env.pop("TENSORWIRE_PURE_PYTHON", None)
    # libFuzzer's -merge=1 runs the harness again by its path (argv[0]): its shebang
    # (#!/usr/bin/env python3) must find this interpreter.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    if asan:
        env["LD_PRELOAD"] = asan_preload()
        # CPython's own allocations are never freed at exit: leak reports would be noise.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def _stat(log, name):
    found = re.findall(rf"stat::{name}:\s*(\d+)", log)
    return int(found[-1]) if found else None


def run_one(name, args, scratch, artifacts):
    work = scratch / name
    work.mkdir(parents=True, exist_ok=True)
    corpus = HERE / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    log_path = artifacts / f"{name}.log"
    before = set(artifacts.glob(f"{name}-*"))
    cmd = [
        sys.executable, str(HERE / f"fuzz_{name}.py"), str(work), str(corpus),
        f"-max_total_time={args.seconds}", f"-max_len={args.max_len}", f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.rss_limit_mb}", f"-artifact_prefix={artifacts}/{name}-", "-print_final_stats=1",
    ]
    start = time.monotonic()
    with open(log_path, "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=fuzz_env(args.asan)).returncode
    elapsed = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    found = sorted(set(artifacts.glob(f"{name}-*")) - before)
    merged = None
    if args.grow and rc == 0:
        merge = subprocess.run(
            [sys.executable, str(HERE / f"fuzz_{name}.py"), "-merge=1", f"-max_len={args.max_len}",
             str(corpus), str(work)],
            capture_output=True, text=True, env=fuzz_env(args.asan),
        )
        added = re.findall(r"MERGE-OUTER: (\d+) new files", merge.stdout + merge.stderr)
        merged = int(added[-1]) if added else f"merge failed ({merge.returncode})"
    return {
        "name": name, "rc": rc, "seconds": elapsed, "log": log_path, "artifacts": found,
        "execs": _stat(text, "number_of_executed_units"), "peak_rss_mb": _stat(text, "peak_rss_mb"),
        "new_inputs": len(list(work.iterdir())), "merged": merged,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("harnesses", nargs="*", choices=HARNESSES + [[]], metavar="harness",
                        help=f"default: all ({', '.join(HARNESSES)})")
    parser.add_argument("--seconds", type=int, default=40, help="per harness (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="harnesses run at once (default 2)")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input generated (default 4096)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take (default 10)")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts")
    parser.add_argument("--grow", action="store_true", help="merge new coverage into fuzz/corpus/ afterwards")
    parser.add_argument("--scratch", type=Path, help="keep the new inputs here (default: a temporary directory)")
    parser.add_argument("--asan", action="store_true",
                        help="LD_PRELOAD atheris's ASan runtime (for a TENSORWIRE_SANITIZE=1 build)")
    args = parser.parse_args(argv)
    names = args.harnesses or HARNESSES
    args.artifacts = args.artifacts.resolve()
    args.artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tensorwire-fuzz-") as scratch:
        scratch = args.scratch.resolve() if args.scratch else Path(scratch)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(lambda n: run_one(n, args, scratch, args.artifacts), names))
    failed = False
    print(f"{'harness':10} {'result':8} {'seconds':>8} {'execs':>10} {'exec/s':>8} {'new':>5} {'merged':>6}")
    for r in results:
        ok = r["rc"] == 0 and not r["artifacts"]
        failed |= not ok
        rate = r["execs"] / r["seconds"] if r["execs"] else 0
        print(f"{r['name']:10} {'ok' if ok else 'FAILED':8} {r['seconds']:8.0f} {r['execs'] or 0:>10} "
              f"{rate:8.0f} {r['new_inputs']:>5} {r['merged'] if r['merged'] is not None else '-':>6}")
    for r in results:
        if r["rc"] != 0 or r["artifacts"]:
            print(f"\n== {r['name']}: exit status {r['rc']}; log {r['log']}")
            print("\n".join(r["log"].read_text(errors="replace").splitlines()[-40:]))
            for a in r["artifacts"]:
                print(f"reproducer: {a}\n  replay:  python {HERE / ('fuzz_' + r['name'] + '.py')} {a}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
