"""Valid clients at a fixed rate while hostile clients attack ``python -m tensorwire serve``:
``python benchmarks/hostile.py [--json] [--report-only] [--server-arg=--header-timeout=2 ...]``.

Starts the server as load.py does (a subprocess on loopback, serving ``serve_models:affine``,
``x * 2 + 1``; every ``--server-arg`` is appended to its command line as given), then three phases:

* **before** (``--before`` s): valid clients only;
* **during** (``--during`` s): valid clients, and the attackers (attackers.py, run in a separate
  process so they share no GIL with the valid clients): ``--stalled`` connections that send
  ``POST /predict`` with ``Content-Length: 10`` and then nothing; ``--slowloris`` connections
  sending one byte of an endless request head every ``--slow-tick`` s (both reopened when the
  server closes or answers them, and started 1 s after the others, so the first large body
  has a predict slot before the stalled uploads take the rest: see ``attackers.HELD_DELAY``);
  ``--garbage-threads`` threads opening connections that send random bytes, a malformed request
  line, a 1 MiB header or a negative ``Content-Length``, read whatever comes (up to
  ``--garbage-read-timeout`` s) and close; ``--large-threads`` threads POSTing refused large
  bodies one after another, at most one a second each (``--large-mb`` MB, ND_ARRAYS and
  SERIALIZED_TF_TENSORS in turn, valid up to the last byte, which is broken: the server must
  read all of it to refuse it);
* **after** (``--after`` s): valid clients only; then no traffic at all until the server's RSS
  settles (its range over the last 2 s within 1%, or ``--settle-max`` s passed).

Valid clients: ``--clients`` threads, each with its own ``tensorwire.Client`` (default
retries, so a 503 is retried with backoff), each sending one request every ``--interval-ms`` ms
on a fixed schedule (threads staggered; the slots a slow request overruns are skipped, not
sent in a burst afterwards, and counted as ``skipped_slots``).  Each request is a distinct
random ``--size`` x ``--size`` x ``--bands`` float32 tile, and each answer is checked against
``affine`` applied directly (load.py's check).  A request is *lost* if it finally fails in any
way (an error status after the retries, a connection error, a timeout); the phase of a request
is the one it was sent in; latencies (ms, around ``Client.predict``, retries included) are of
the answered requests.  One checked warm-up
request per client comes first, uncounted.

The server's RSS (``VmRSS`` of ``/proc/<pid>/status``, observed from outside, every 0.2 s):
steady state before (median over the second half of *before*), peak during the attack, at the
end of *after* (median of its last 2 s), and settled.

Targets (the issue's): 0 valid requests lost (and none wrong); p99 during <= 3 x p99 before;
settled RSS <= 1.10 x steady RSS before; and the server alive at the end.  Exits 1 if one is
missed (0 with ``--report-only``), 2 if the server or the attackers did not start.
"""

import argparse
import json
import multiprocessing
import os
import platform
import signal
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import attackers  # noqa: E402
from load import (FORMATS, ServerStartError, Worker, expected_outputs, mismatch, serve_models,  # noqa: E402
                  start_workers, tensorwire_server, tile_inputs)

PHASES = ("before", "during", "after")
LARGE_FORMATS = ("ND_ARRAYS", "SERIALIZED_TF_TENSORS")
RSS_PERIOD = 0.2  # seconds between RSS samples
SETTLE_WINDOW = 2.0  # seconds of samples whose range must be within SETTLE_SPREAD of their median
SETTLE_SPREAD = 0.01
P99_FACTOR = 3.0
RSS_FACTOR = 1.10


def rss_bytes(pid):
    """``VmRSS`` of process ``pid`` in bytes (None once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """``samples``: ``(monotonic time, RSS bytes)`` every :data:`RSS_PERIOD` seconds until :meth:`stop`."""

    def __init__(self, pid):
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.samples = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            rss = rss_bytes(self.pid)
            if rss is not None:
                self.samples.append((time.monotonic(), rss))
            self._halt.wait(RSS_PERIOD)

    def between(self, t0, t1):
        return [rss for t, rss in self.samples if t0 <= t < t1]

    def stop(self):
        self._halt.set()
        self.join(5)


class Schedule:
    """The run's clock: ``t0`` (set when every client is warm) and the phase boundaries."""

    def __init__(self, args):
        self.lengths = (args.before, args.during, args.after)
        self.t0 = None

    def start(self):
        self.t0 = time.monotonic() + 0.05

    def bounds(self, phase):
        i = PHASES.index(phase)
        start = self.t0 + sum(self.lengths[:i])
        return start, start + self.lengths[i]

    @property
    def end(self):
        return self.t0 + sum(self.lengths)

    def phase(self, t):
        for name in PHASES:
            if t < self.bounds(name)[1]:
                return name
        return PHASES[-1]


class ValidClient(Worker):
    """One valid client (load.py's Worker: its own Client, a checked warm-up request, the start
    barrier), then a checked request every ``--interval-ms`` from ``t0`` plus its offset to the end."""

    def __init__(self, index, args, target, predict_fn, schedule, barrier):
        super().__init__(index, args, target, predict_fn, barrier)
        self.schedule = schedule
        self.records = []  # (phase, outcome, latency seconds or None, detail)
        self.sent_at = []  # seconds from t0 at which each of ``records`` was sent
        self.skipped = 0  # slots not used because a request overran them
        self.in_flight = None  # the phase of the request being sent, while it is

    def _client(self):
        import tensorwire

        a = self.args
        options = {} if a.retries is None else {"retries": a.retries}
        return tensorwire.Client(self.target, a.format, timeout=a.timeout, max_payload_bytes=a.max_payload_bytes,
                                 **options)

    def _requests(self, client, rng):
        interval = self.args.interval_ms / 1e3
        slot = self.schedule.t0 + interval * self.index / self.args.clients
        while slot < self.schedule.end:
            now = time.monotonic()
            if now < slot:
                time.sleep(slot - now)
            elif now - slot >= interval:  # the last request overran: its missed slots are skipped
                missed = int((now - slot) // interval)
                self.skipped += missed
                slot += missed * interval
            self._one(client, rng)
            slot += interval

    def _one(self, client, rng):
        inputs = tile_inputs(self._tile(rng), self.args.format)
        start = time.monotonic()
        phase = self.in_flight = self.schedule.phase(start)
        try:
            got = client.predict(inputs)
        except Exception as exc:  # noqa: BLE001 - counted
            status = getattr(exc, "status", None)
            cause = f"status {status}" if status is not None else type(exc).__name__
            self.records.append((phase, "lost", None, f"{cause}: {str(exc)[:200]}"))
            self.sent_at.append(start - self.schedule.t0)
        else:
            latency = time.monotonic() - start
            problem = mismatch(expected_outputs(self.predict_fn, inputs), got)
            self.records.append((phase, "correct" if problem is None else "wrong", latency, problem))
            self.sent_at.append(start - self.schedule.t0)
        self.in_flight = None


def _percentile(values, q):
    return float(np.percentile(values, q)) if values else None


def phase_summary(records):
    latencies = [lat * 1e3 for _, outcome, lat, _ in records if lat is not None]
    outcomes = Counter(outcome for _, outcome, _, _ in records)
    causes = Counter(detail.split(":", 1)[0] for _, outcome, _, detail in records if outcome == "lost")
    return {
        "sent": len(records),
        "answered": outcomes["correct"] + outcomes["wrong"],
        "correct": outcomes["correct"],
        "wrong": outcomes["wrong"],
        "lost": outcomes["lost"],
        "lost_causes": dict(causes),
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
    }


def timeline(clients, seconds, step=2.0):
    """Per ``step`` seconds of sending time: ``[start s, sent, lost, max latency ms]``."""
    rows = [[round(i * step, 1), 0, 0, 0.0] for i in range(int(np.ceil(seconds / step)))]
    for c in clients:
        for at, (_, outcome, latency, _) in zip(c.sent_at, c.records):
            row = rows[min(len(rows) - 1, max(0, int(at // step)))]
            row[1] += 1
            row[2] += outcome == "lost"
            row[3] = max(row[3], round((latency or 0) * 1e3, 1))
    return rows


def _ratio(x, y):
    return None if x is None or not y else round(x / y, 3)


def _mb(x):
    return None if x is None else round(x / 1e6, 1)


def settle(sampler, limit):
    """Wait (no traffic) until the RSS settles or ``limit`` seconds pass: (settled RSS, seconds waited, settled?)."""
    start = time.monotonic()
    while True:
        time.sleep(RSS_PERIOD)
        now = time.monotonic()
        window = sampler.between(now - SETTLE_WINDOW, now + 1)
        waited = now - start
        if window and waited >= SETTLE_WINDOW:
            mid = float(np.median(window))
            if max(window) - min(window) <= SETTLE_SPREAD * mid:
                return mid, waited, True
        if waited >= limit:
            return (float(np.median(window)) if window else None), waited, False


def start_attackers(args, address, path):
    """The attacker process (spawned) and our end of its pipe, once its bodies are made."""
    conf = {"stalled": args.stalled, "slowloris": args.slowloris, "slow_tick": args.slow_tick,
            "garbage_threads": args.garbage_threads, "garbage_read_timeout": args.garbage_read_timeout,
            "garbage_pause": args.garbage_pause, "large_threads": args.large_threads}
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=attackers.attack_process, name="hostile-attackers", daemon=True,
                       args=(theirs, address, path, conf, LARGE_FORMATS, args.large_mb))
    proc.start()
    if not ours.poll(180):
        proc.terminate()
        raise RuntimeError("the attacker process did not get ready within 180 s")
    kind, value = ours.recv()
    if kind != "ready":
        proc.join(5)
        raise RuntimeError(f"the attacker process failed:\n{value}")
    return proc, ours, value


def run(args):
    import tensorwire

    predict_fn = getattr(serve_models(), args.function)
    formats = list(dict.fromkeys([args.format, *LARGE_FORMATS]))
    shape = (args.size, args.size, 1) if args.format == "GRPC_SERIALIZED_TF_EXAMPLES" else None
    sample = tile_inputs(np.zeros((1, args.size, args.size, args.bands), np.float32), args.format)
    request_bytes = len(tensorwire.encode_request(sample, args.format))
    try:
        server = tensorwire_server(args.function, formats, shape, extra=args.server_args)
    except ServerStartError as exc:
        print(f"hostile: {exc}", file=sys.stderr)
        return None
    with server:
        url = urlsplit(server.http_url)
        address, path = (url.hostname, url.port), url.path or "/"
        try:
            attacker, conn, body_sizes = start_attackers(args, address, path)
        except RuntimeError as exc:
            print(f"hostile: {exc}", file=sys.stderr)
            return None
        try:
            return _measure(args, server, conn, body_sizes, predict_fn, request_bytes)
        finally:
            if attacker.is_alive():
                attacker.terminate()
            attacker.join(5)


def _measure(args, server, conn, body_sizes, predict_fn, request_bytes):
    """The three phases and the settling, against ``server``, the attackers behind ``conn``."""
    import tensorwire

    sampler = RssSampler(server.proc.pid)
    sampler.start()
    schedule = Schedule(args)
    barrier = threading.Barrier(args.clients + 1, action=schedule.start)
    clients = [ValidClient(i, args, server.target(args.format), predict_fn, schedule, barrier)
               for i in range(args.clients)]
    problems = start_workers(clients, barrier, args.timeout + 120)
    if problems:
        conn.send(None)
        sampler.stop()
        return {"error": "; ".join(problems), "server_stderr_tail": server.stderr_tail()}
    attack_window = schedule.bounds("during")
    conn.send(attack_window)
    # A request still in flight at the end may take its timeout on every attempt, plus backoffs.
    retries = 3 if args.retries is None else args.retries
    grace = args.timeout * (retries + 1) + 30 * retries + 10
    for c in clients:
        c.join(max(0.0, schedule.end + grace - time.monotonic()))
    hung = [c for c in clients if c.is_alive()]
    records = [r for c in clients for r in c.records]
    records += [(c.in_flight or "after", "lost", None, "hung: no answer by the run's deadline") for c in hung]
    end_of_traffic = time.monotonic()
    settled_rss, settle_seconds, settled = settle(sampler, args.settle_max)
    attack = {"error": "no result from the attacker process"}
    if conn.poll(max(0.0, attack_window[1] + 40 - time.monotonic())):
        kind, value = conn.recv()
        attack = value if kind == "result" else {"error": value}
    sampler.stop()
    server_alive = server.alive()

    phases = {name: phase_summary([r for r in records if r[0] == name]) for name in PHASES}
    total = phase_summary(records)
    before0, before1 = schedule.bounds("before")
    during0, during1 = attack_window
    after1 = schedule.bounds("after")[1]
    steady = sampler.between((before0 + before1) / 2, before1)
    peak = sampler.between(during0, during1)
    after_tail = sampler.between(after1 - 2.0, after1)
    rss = {
        "before_steady": float(np.median(steady)) if steady else None,
        "peak_during": max(peak) if peak else None,
        "end_of_after": float(np.median(after_tail)) if after_tail else None,
        "settled": settled_rss,
        "settle_seconds": round(settle_seconds, 1),
        "settled_within_limit": settled,
        "samples": [[round(t - schedule.t0, 2), rss_b] for t, rss_b in sampler.samples[::5]],
    }
    p99_ratio = _ratio(phases["during"]["p99_ms"], phases["before"]["p99_ms"])
    rss_ratio = _ratio(settled_rss, rss["before_steady"])
    targets = {
        "no_valid_request_lost_or_wrong": {"value": f"{total['lost']} lost, {total['wrong']} wrong",
                                           "pass": total["lost"] == 0 and total["wrong"] == 0 and total["sent"] > 0},
        "p99_during_le_3x_before": {"value": p99_ratio, "pass": p99_ratio is not None and p99_ratio <= P99_FACTOR},
        "rss_settled_le_1.1x_before": {"value": rss_ratio, "pass": rss_ratio is not None and rss_ratio <= RSS_FACTOR},
        "server_alive_at_end": {"value": server_alive, "pass": server_alive},
    }
    if "error" in attack:
        problems.append(f"attackers: {attack['error']}")
    problems += [f"client {c.index} had not finished by the run's deadline" for c in hung]
    problems += sorted({f"{ph}: {d}" for ph, outcome, _, d in records if outcome != "correct"})[:10]
    return {
        "server": server.ready_line,
        "server_args": args.server_args,
        "backend": tensorwire.backend(),
        "format": args.format,
        "tile": f"{args.size}x{args.size}x{args.bands} float32",
        "request_bytes": request_bytes,
        "clients": args.clients,
        "interval_ms": args.interval_ms,
        "client_retries": "default (3)" if args.retries is None else args.retries,
        "seconds": {"before": args.before, "during": args.during, "after": args.after,
                    "idle_after": round(time.monotonic() - end_of_traffic, 1)},
        "skipped_slots": sum(c.skipped for c in clients),
        "valid": total,
        "phases": phases,
        "timeline": timeline(clients, sum(schedule.lengths)),
        "attack": {"stalled": args.stalled, "slowloris": args.slowloris, "slow_tick": args.slow_tick,
                   "garbage_threads": args.garbage_threads, "large_threads": args.large_threads,
                   "large_body_bytes": body_sizes, "kinds": attack},
        "rss_bytes": rss,
        "targets": targets,
        "passed": all(t["pass"] for t in targets.values()) and "error" not in attack,
        "problems": problems,
        "server_stderr_tail": server.stderr_tail() if not (server_alive and total["lost"] == 0) else "",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0],
    }


def text(r):
    def num(x, spec=".1f"):
        return "n/a" if x is None else format(x, spec)

    lines = [
        f"hostile mix: server {r['server']}",
        (f"server args: {' '.join(r['server_args']) or '(none)'}; backend {r['backend']}; "
         f"{r['cpus']} CPUs, load {r['loadavg_1min']:.2f}"),
        (f"valid: {r['clients']} clients x 1 request / {r['interval_ms']:g} ms, {r['format']}, one {r['tile']} "
         f"tile each ({r['request_bytes']:,} bytes), Client retries {r['client_retries']}; "
         f"{r['skipped_slots']} slots skipped (a request overran them)"),
        "",
        (f"{'phase':<8} {'s':>4} {'sent':>6} {'answered':>8} {'correct':>7} {'wrong':>5} {'lost':>5} "
         f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  lost because"),
    ]
    for name in PHASES:
        p = r["phases"][name]
        lines.append(f"{name:<8} {r['seconds'][name]:>4g} {p['sent']:>6} {p['answered']:>8} {p['correct']:>7} "
                     f"{p['wrong']:>5} {p['lost']:>5} {num(p['p50_ms']):>8} {num(p['p99_ms']):>8} "
                     f"{num(p['max_ms']):>8}  {p['lost_causes'] or ''}")
    v = r["valid"]
    lines.append(f"{'all':<8} {'':>4} {v['sent']:>6} {v['answered']:>8} {v['correct']:>7} {v['wrong']:>5} "
                 f"{v['lost']:>5}")
    lines += ["", "valid requests by sending time (s: sent/lost/max ms): " + ", ".join(
        f"{t:g}: {sent}/{lost}/{mx:.0f}" for t, sent, lost, mx in r["timeline"])]
    a = r["attack"]
    bodies = ", ".join(f"{k} {n:,} bytes" for k, n in a["large_body_bytes"].items())
    lines += ["", (f"attackers during the {r['seconds']['during']:g} s attack: {a['stalled']} stalled uploads, "
                   f"{a['slowloris']} slowloris (a byte / {a['slow_tick']:g} s), {a['garbage_threads']} garbage "
                   f"threads, {a['large_threads']} large-body threads ({bodies})")]
    kinds = a["kinds"]
    if "error" in kinds:
        lines.append(f"  attackers failed: {kinds['error']}")
    else:
        lines.append(f"{'kind':<27} {'opened':>6} {'conn fail':>9} {'srv ended':>9} {'median s':>8} "
                     f"{'max s':>7} {'open at end':>11} {'oldest s':>8}  ended by; statuses")
        for kind, k in kinds.items():
            if kind.startswith("_"):
                continue
            lines.append(f"{kind:<27} {k['opened']:>6} {k['connect_failed']:>9} {k['server_ended']:>9} "
                         f"{num(k['median_end_s'], '.2f'):>8} {num(k['max_end_s'], '.2f'):>7} "
                         f"{k['open_at_end']:>11} {num(k['oldest_open_at_end_s'], '.2f'):>8}  "
                         f"{k['ended_by'] or '-'}; {k['statuses']}")
    m = r["rss_bytes"]
    lines += ["", (f"server RSS: steady before {num(_mb(m['before_steady']))} MB, peak during "
                   f"{num(_mb(m['peak_during']))} MB, end of after {num(_mb(m['end_of_after']))} MB, settled "
                   f"{num(_mb(m['settled']))} MB ({'settled' if m['settled_within_limit'] else 'not settled'} "
                   f"after {m['settle_seconds']:g} s idle)"), "", "targets:"]
    for name, t in r["targets"].items():
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['value']}")
    lines += [f"  {p}" for p in r["problems"]]
    if r["server_stderr_tail"]:
        lines.append(f"server{r['server_stderr_tail']}")
    lines.append("PASS" if r["passed"] else "FAIL")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--before", type=float, default=10.0, help="seconds of valid traffic before the attack (default 10)")
    add("--during", type=float, default=20.0, help="seconds of attack, valid traffic going on (default 20)")
    add("--after", type=float, default=10.0, help="seconds of valid traffic after the attack (default 10)")
    add("--settle-max", type=float, default=30.0,
        help="at most this many idle seconds for the RSS to settle (default 30)")
    add("--clients", type=int, default=4, help="valid client threads (default 4)")
    add("--interval-ms", type=float, default=200.0,
        help="each valid client sends one request per this many ms (default 200)")
    add("--format", default="SERIALIZED_TF_TENSORS", help=f"the valid clients' format: one of {', '.join(FORMATS)}")
    add("--size", type=int, default=128, help="valid tile height and width (default 128)")
    add("--bands", type=int, default=4, help="valid tile bands (default 4)")
    add("--function", default="affine", help="serve_models function (default affine: x * 2 + 1)")
    add("--max-payload-bytes", type=int, default=1_500_000, help="valid Client max_payload_bytes (default 1,500,000)")
    add("--timeout", type=float, default=30.0, help="valid Client timeout, seconds (default 30)")
    add("--retries", type=int, default=None, help="valid Client retries (default: the Client's, 3)")
    add("--stalled", type=int, default=64, help="stalled upload connections held (default 64)")
    add("--slowloris", type=int, default=300, help="slowloris connections held (default 300)")
    add("--slow-tick", type=float, default=0.5, help="seconds between slowloris bytes (default 0.5)")
    add("--garbage-threads", type=int, default=2, help="garbage connection threads (default 2)")
    add("--garbage-read-timeout", type=float, default=5.0,
        help="a garbage connection is closed by us after this many silent seconds (default 5)")
    add("--garbage-pause", type=float, default=0.02,
        help="seconds between a thread's garbage connections (default 0.02)")
    add("--large-threads", type=int, default=1, help="refused large body threads (default 1)")
    add("--large-mb", type=float, default=40.0, help="size of each refused large body, MB (default 40)")
    add("--server-arg", action="append", dest="server_args", default=[], metavar="ARG",
        help="an argument appended to the server's command line (repeatable), e.g. --server-arg=--header-timeout=2")
    add("--seed", type=int, default=0)
    add("--json", action="store_true", help="print the result as JSON")
    add("--report-only", action="store_true", help="exit 0 even if a target is missed")
    args = parser.parse_args(argv)
    if args.format not in FORMATS:
        parser.error(f"--format: one of {', '.join(FORMATS)}")
    if min(args.before, args.during, args.after) <= 0 or args.clients < 1 or args.interval_ms <= 0:
        parser.error("the phases, --clients and --interval-ms must be positive")
    if min(args.stalled, args.slowloris, args.garbage_threads, args.large_threads) < 0 or args.slow_tick <= 0:
        parser.error("attacker counts must be >= 0 and --slow-tick positive")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # stop the server on the way out
    result = run(args)
    if result is None:
        return 2
    if "error" in result:
        failure = f"hostile: {result['error']}{result['server_stderr_tail']}"
        print(json.dumps(result, indent=2) if args.json else failure, flush=True)
        return 2
    print(json.dumps(result, indent=2) if args.json else text(result), flush=True)
    return 0 if result["passed"] or args.report_only else 1


if __name__ == "__main__":
    sys.exit(main())
