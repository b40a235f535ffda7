"""Comparison tables: ``python benchmarks/report.py [--json] [--quick] [--strict] [--group TEXT]``.

Runs every case of cases.py (the same table the pytest benchmarks use) in one process and prints
a Markdown table per operation (alternative, time, throughput, time relative to the native twin)
and the issue's targets with PASS/FAIL; ``--json`` prints the same data as JSON.

Built for a small, noisy, shared machine: the alternatives of a group are interleaved (round r
times each of them once, in an order that rotates every round, so a burst of noise does not land
on one alternative); each group's rounds are spread over several passes over all groups (so a
burst lasting seconds does not spoil a whole group); each sample is the mean of enough
back-to-back calls to last a few milliseconds (garbage collector off, ``time.perf_counter``); and
the reported time is the minimum over the samples: noise only ever adds time.  Slow alternatives
stop being sampled once they have used their time budget (after at least ``--min-samples``);
the cases marked ``slow`` (the pure-Python JSON reference on the tile: seconds a call) are timed
once, after the checked first call.

Every alternative's result is checked once before it is timed; a wrong answer is reported as
WRONG, and an exception from its setup or first call (other than a twin allowed to be missing) as
ERROR, listed with the other rows; either makes the exit status non-zero.  ``--strict`` also
fails on a missed target.
"""

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cases  # noqa: E402  (benchmarks/ is sys.path[0] when this file is run)
from load import keep_freed_memory  # noqa: E402

SAMPLE_SECONDS = 0.005  # aim of one sample (back-to-back calls of one alternative)
MAX_NUMBER = 1000


def _sample(call, number):
    """Mean seconds of one call over ``number`` back-to-back calls, gc off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        return (time.perf_counter() - start) / number
    finally:
        if enabled:
            gc.enable()


class Row:
    """One alternative of one group on one payload, and what was measured."""

    def __init__(self, case, payload):
        self.case = case
        self.payload = payload
        self.call = None
        self.status = "ok"  # ok | unavailable | WRONG | ERROR
        self.detail = ""
        self.number = 1
        self.samples = []
        self.spent = 0.0

    @property
    def seconds(self):
        return min(self.samples) if self.samples else None

    def prepare(self):
        """Set up, run once, check the result, and choose the calls per sample."""
        try:
            self.call = self.case.setup(self.payload)
        except cases.Unavailable as exc:
            self.status, self.detail = "unavailable", str(exc)
            return
        except Exception as exc:  # e.g. a format not implemented yet: listed, and the run fails
            self.status, self.detail = "ERROR", f"setup raised {type(exc).__name__}: {exc}"
            return
        start = time.perf_counter()
        try:
            result = self.call()
        except Exception as exc:
            self.status, self.detail = "ERROR", f"{type(exc).__name__}: {exc}"
            return
        first = time.perf_counter() - start
        try:
            self.case.check(self.payload, result)
        except AssertionError as exc:
            self.status, self.detail = "WRONG", f"result check failed: {exc}"
            return
        del result
        self.spent = first
        if self.case.slow:
            return  # one call per sample, one sample
        self.number = max(1, min(MAX_NUMBER, math.ceil(SAMPLE_SECONDS / max(_sample(self.call, 1), 1e-9))))

    def wants_sample(self, min_samples, budget):
        if self.case.slow:
            return self.status == "ok" and not self.samples
        return self.status == "ok" and (len(self.samples) < min_samples or self.spent < budget)

    def take_sample(self):
        start = time.perf_counter()
        self.samples.append(_sample(self.call, self.number))
        self.spent += time.perf_counter() - start


def sample_rounds(rows, first_round, rounds, min_samples, budget):
    """Rounds ``first_round ..`` of one group: each alternative sampled once per round, in an
    order that rotates (and reverses every other round) so no alternative always follows another."""
    for r in range(first_round, first_round + rounds):
        order = rows[r % len(rows):] + rows[: r % len(rows)]
        if r % 2:
            order.reverse()
        for row in order:
            if row.wants_sample(min_samples, budget):
                row.take_sample()


def _versions():
    import numpy
    import pybase64
    import tensorflow
    from google.protobuf import __version__ as protobuf_version
    from google.protobuf.internal import api_implementation

    import tensorwire

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "tensorwire": tensorwire.__version__,
        "backend": tensorwire.backend(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "protobuf": f"{protobuf_version} ({api_implementation.Type()})",
        "tensorflow": tensorflow.__version__,
        "pybase64": pybase64.get_version(),
        "platform": platform.platform(),
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "loadavg_1min_at_start": _loadavg(),
        "native_builds": _native_builds(),
    }


def _native_builds():
    """Which build of each twin was measured: file name, modification time, sha256 prefix."""
    import hashlib
    import importlib

    builds = {}
    for codec in cases._backend.CODECS:
        try:
            path = importlib.import_module(f"tensorwire._native.{codec}").__file__
        except Exception as exc:  # not built, or broken (the cases that need it then say how)
            builds[codec] = f"unavailable ({exc})"
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(path)))
        builds[codec] = f"{os.path.basename(path)} {stamp} sha256:{digest}"
    return builds


def _loadavg():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def run(args):
    """Measure every group; the rounds of each group are spread over ``args.passes`` passes over
    all groups, so a burst of load lasting seconds cannot spoil every sample of one group."""
    payloads = cases.make_payloads()
    # records: the 201 MB file; blobs32, texts10k: the general JSON format's binary and text groups
    wanted = (["tile"] if args.quick else ["tile", "batch8"]) + list(cases.OWN_PAYLOADS)
    groups = []
    for group in cases.GROUPS:
        if args.group and not any(g.lower() in group.lower() for g in args.group):
            continue
        for name in wanted:
            payload = payloads[name]
            rows = [Row(case, payload) for case in cases.CASES if case.group == group and name in case.payloads]
            if rows:
                print(f"checking {group} [{name}] ...", file=sys.stderr, flush=True)
                for row in rows:
                    row.prepare()
                groups.append((group, payload, rows))
    per_pass = math.ceil(args.rounds / args.passes)
    for n in range(args.passes):
        print(f"pass {n + 1}/{args.passes} ...", file=sys.stderr, flush=True)
        for _group, _payload, rows in groups:
            sample_rounds(rows, n * per_pass, per_pass, args.min_samples, args.budget)
    for _group, _payload, rows in groups:
        for row in rows:
            row.call = None  # drop the closures over big buffers
    for payload in payloads.values():
        payload.cleanup()  # delete the TFRecord file
    return groups


def _results(groups):
    out = []
    for group, payload, rows in groups:
        nbytes = payload.nbytes_for(group)
        native = next((r.seconds for r in rows if r.case.key == "native" and r.seconds), None)
        out.append({
            "group": group,
            "payload": payload.name,
            "payload_label": payload.label,
            "bytes": nbytes,
            "rows": [
                {
                    "key": r.case.key,
                    "alternative": r.case.name,
                    "status": r.status,
                    "detail": r.detail,
                    "seconds": r.seconds,
                    "median_seconds": statistics.median(r.samples) if r.samples else None,
                    "gb_per_s": nbytes / r.seconds / 1e9 if r.seconds else None,
                    "vs_native": r.seconds / native if r.seconds and native else None,
                    "samples": len(r.samples),
                    "calls_per_sample": r.number,
                }
                for r in rows
            ],
        })
    return out


def _targets(results):
    out = []
    measured = {g["group"] for g in results}
    for t in cases.TARGETS:
        if t.group not in measured:  # left out by --group
            continue
        g = next((g for g in results if g["group"] == t.group and g["payload"] == t.payload), None)
        rows = {r["key"]: r for r in g["rows"]} if g else {}
        case, base = rows.get(t.case), rows.get(t.baseline)
        entry = {"target": t.text, "group": t.group, "payload": t.payload, "case": t.case,
                 "baseline": t.baseline, "kind": t.kind, "limit": t.limit, "requirement": t.requirement,
                 "measured": None, "result": "n/a"}
        if case and base and case["seconds"] and base["seconds"]:
            entry["measured"] = t.measured(case["seconds"], base["seconds"])
            entry["result"] = "PASS" if t.passed(entry["measured"]) else "FAIL"
        elif case and case["status"] != "ok":
            entry["result"] = f"n/a ({case['status']})"
        out.append(entry)
    return out


def _ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def markdown(report):
    m, lines = report["meta"], []
    lines.append(f"tensorwire {m['tensorwire']}, backend(): **{m['backend']}**; Python {m['python']}, "
                 f"numpy {m['numpy']}, protobuf {m['protobuf']}, TensorFlow {m['tensorflow']}, "
                 f"pybase64 {m['pybase64']}; {m['cpu']}; {m['platform']}; "
                 f"load average {m['loadavg_1min_at_start']} at start, {m['loadavg_1min_at_end']} at end.")
    lines.append(f"Malloc: {m['malloc']}.")
    builds = "; ".join(f"{k}: {v}" for k, v in m["native_builds"].items())
    lines += ["", f"Native builds measured: {builds}."]
    lines.append("")
    lines.append(f"`{m['command']}`: one process; the alternatives of a group interleaved, and each group's "
                 f"rounds spread over {m['passes']} passes over all groups; time = min over up to {m['rounds']} "
                 "samples, each the mean of back-to-back calls (the pure-Python JSON references on the tile: "
                 "one call, timed once). Throughput counts the raw "
                 "array (TensorProto, tf.Example and JSON groups), the TensorProto bytes (base64 groups: the binary "
                 "side), the file's bytes (TFRecord read), the binary values (JSON general b64 groups) or the "
                 "strings' UTF-8 (JSON general text groups). "
                 "\"vs native\" = time / native time (above 1 is slower).")
    for g in report["groups"]:
        lines += ["", f"### {g['group']} — {g['payload']} ({g['payload_label']})", ""]
        lines += ["| alternative | time (ms) | GB/s | vs native |", "|:--|--:|--:|--:|"]
        for r in g["rows"]:
            if r["status"] != "ok":
                lines.append(f"| {r['alternative']} | {r['status']}: {r['detail']} | | |")
                continue
            lines.append(f"| {r['alternative']} | {r['seconds'] * 1e3:.3f} | {r['gb_per_s']:.2f} | "
                         f"{_ratio(r['vs_native'])} |")
    lines += ["", "### Targets", "", "| target | requirement | measured | result |", "|:--|:--|--:|:--|"]
    for t in report["targets"]:
        lines.append(f"| {t['target']} | {t['requirement']} | {_ratio(t['measured'])} | **{t['result']}** |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--quick", action="store_true",
                        help="no batch8 (the tile and the TFRecord file only), fewer and shorter samples")
    parser.add_argument("--strict", action="store_true", help="exit non-zero when a target is missed")
    parser.add_argument("--group", action="append", metavar="TEXT",
                        help="only the groups whose name contains TEXT (case-insensitive; repeatable), "
                             "e.g. --group 'single-band'")
    parser.add_argument("--rounds", type=int, help="samples per alternative, at most (default 25, --quick 6)")
    parser.add_argument("--passes", type=int,
                        help="passes over all groups that the rounds are spread over (default 5, --quick 2)")
    parser.add_argument("--min-samples", type=int, help="samples every alternative gets (default 3, --quick 2)")
    parser.add_argument("--budget", type=float,
                        help="seconds after which an alternative stops being sampled (default 1.5, --quick 0.4)")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (6 if args.quick else 25)
    args.passes = max(1, min(args.rounds, args.passes or (2 if args.quick else 5)))
    args.min_samples = args.min_samples or (2 if args.quick else 3)
    args.budget = args.budget if args.budget is not None else (0.4 if args.quick else 1.5)

    malloc = keep_freed_memory(parser)
    cases.check_table()
    versions = _versions()  # imports TensorFlow before anything is timed
    started = time.perf_counter()
    groups = run(args)
    results = _results(groups)
    report = {
        "meta": {**versions, "malloc": malloc, "command": " ".join(["python benchmarks/report.py", *sys.argv[1:]]),
                 "rounds": args.rounds, "passes": args.passes, "min_samples": args.min_samples,
                 "budget_s": args.budget, "sample_s": SAMPLE_SECONDS, "wall_s": round(time.perf_counter() - started, 1),
                 "loadavg_1min_at_end": _loadavg()},
        "groups": results,
        "targets": _targets(results),
    }
    print(json.dumps(report, indent=2) if args.json else markdown(report))

    wrong = [(g["group"], r["alternative"]) for g in results for r in g["rows"] if r["status"] == "WRONG"]
    errors = [(g["group"], r["alternative"], r["detail"]) for g in results for r in g["rows"] if r["status"] == "ERROR"]
    unavailable = [r for g in results for r in g["rows"] if r["status"] == "unavailable"]
    missed = [t for t in report["targets"] if t["result"] == "FAIL"]
    for group, name in wrong:
        print(f"ERROR: {group}: {name} returned a wrong result", file=sys.stderr)
    for group, name, detail in errors:
        print(f"ERROR: {group}: {name} failed: {detail}", file=sys.stderr)
    if unavailable:
        print(f"NOTE: {len(unavailable)} native alternatives unavailable ({cases._backend.ENV_VAR}=1); "
              "targets against them are n/a", file=sys.stderr)
    if wrong or errors:
        return 1
    if args.strict and (missed or unavailable):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
