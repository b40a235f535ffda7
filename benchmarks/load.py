"""A bounded load run against ``python -m tensorwire serve``: ``python benchmarks/load.py [--clients C]
[--requests R] [--format F] [--json]``.

Starts the server itself (a subprocess on loopback, ports picked by the OS, serving
``serve_models:affine``: ``x * 2 + 1`` per input), then runs C client threads, each with its own
``tensorwire.Client``, sending R requests one after another.  Each request is one instance of a
distinct random float32 tile (default 256x256x4: four bands ``B1``..``B4`` of ``(1, 256, 256, 1)``,
as Earth Engine sends them; one ``(1, 256, 256, 4)`` array for ND_ARRAYS), so an answer meant for
another request cannot pass the check: every answer is compared with ``affine`` applied directly
(``np.array_equal``, names, shapes and dtype included).

Counts (of the C x R requests; one uncounted, checked warm-up request per client comes first, so
connection set-up and first-call costs are not in the figures):

* answered: a successful answer that decoded; correct: answered and equal to the expectation
  (answered - correct are *wrong*);
* errors: an error answer (HTTP status / gRPC status), an answer that did not decode, or any
  other exception;
* lost: no answer at all: the connection failed or dropped, the request timed out, or it had not
  finished when the run's deadline passed.

Reported: requests/s (counted requests / wall time of the run, from the moment all clients start
to the last one's end), p50 and p99 latency of the answered requests (ms, around
``Client.predict`` only), and the wall time.  The client does not retry (``--retries 0``), so a
failure is never hidden.  Exits 1 if any request was lost, failed or was wrong, 2 if the server
did not start.

Also used by roundtrip.py (:class:`ServerProcess`) and tests/test_serve_load.py (``--json``).
"""

import argparse
import json
import os
import platform
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FORMATS = ("SERIALIZED_TF_TENSORS", "RAW_JSON", "ND_ARRAYS", "GRPC_TF_TENSORS", "GRPC_SERIALIZED_TF_TENSORS",
           "GRPC_SERIALIZED_TF_EXAMPLES")
EE_MAX_PAYLOAD_BYTES = 1_500_000

_HTTP = re.compile(r"\bon HTTP (\S+?);?(?:\s|$)")
_GRPC = re.compile(r"\bgRPC on (\S+)")


class ServerStartError(RuntimeError):
    pass


class ServerProcess:
    """A model server run as a subprocess, on loopback, ports 0, until :meth:`stop`.

    ``argv`` is the command after the Python executable (``["-m", "tensorwire", "serve", ...]``
    or ``[".../peer_server.py", ...]``); it must print one line ending ``on HTTP <url>[; gRPC on
    <host:port>]`` once it listens.  The child runs in ``benchmarks/``, which is also first on its
    ``PYTHONPATH`` (for ``serve_models``).  Its stderr is drained in the background; the last lines are kept for
    error messages.  :meth:`stop` sends SIGTERM, waits, then kills; it is also what ``with``
    and a failed start do, so the process never outlives its owner's exception.
    """

    def __init__(self, name, argv, *, ready_timeout=120.0, env=None, wait=True):
        self.name = name
        self.argv = argv
        self.http_url = None
        self.grpc_target = None
        self.ready_line = None
        self._stderr = deque(maxlen=60)
        child_env = dict(os.environ if env is None else env)
        # The child runs in benchmarks/ (``tensorwire serve`` puts its current directory first on
        # sys.path, and tests/ has a serve_models.py of its own); relative PYTHONPATH entries are
        # made absolute so they still point where they did.
        paths = [os.path.abspath(p) for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p]
        child_env["PYTHONPATH"] = os.pathsep.join([HERE, *paths])
        child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        child_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=child_env, cwd=HERE, text=True, bufsize=1)
        self.ready_timeout = ready_timeout
        if wait:
            self.wait_ready()

    def wait_ready(self):
        """Block until the ready line (``ServerStartError`` if the process exits or is silent
        for ``ready_timeout`` seconds; the process is stopped then)."""
        try:
            self._wait_ready(self.ready_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout):
        lines = queue.Queue()

        def pump(stream, sink, end):
            for line in stream:
                sink(line.rstrip("\n"))
            if end:
                sink(None)

        threading.Thread(target=pump, args=(self.proc.stdout, lines.put, True), daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, self._stderr.append, False), daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise ServerStartError(f"{self.name} printed no ready line within {timeout:.0f} s"
                                           f"{self.stderr_tail()}") from None
                continue
            if line is None:
                self.proc.wait(5)
                raise ServerStartError(f"{self.name} exited with status {self.proc.returncode} before it was ready"
                                       f"{self.stderr_tail()}")
            m = _HTTP.search(line)
            if m:
                self.ready_line = line
                self.http_url = m[1]
                g = _GRPC.search(line)
                self.grpc_target = g[1] if g else None
                return

    def stderr_tail(self, n=25):
        tail = list(self._stderr)[-n:]
        return ("; its stderr ends:\n" + "\n".join(tail)) if tail else ""

    def target(self, fmt):
        """The Client target for ``fmt``: the predict URL, or ``host:port`` for gRPC."""
        return self.grpc_target if fmt.startswith("GRPC") else self.http_url

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=15.0):
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; returns the exit status."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def tensorwire_server(function, formats=None, example_shape=None, extra=(), wait=True, env=None):
    """``ServerProcess`` running ``python -m tensorwire serve benchmarks/serve_models:<function>``."""
    argv = ["-m", "tensorwire", "serve", f"serve_models:{function}", "--host", "127.0.0.1", "--http-port", "0",
            "--grpc-port", "0", *extra]
    for fmt in formats or ():
        argv += ["--format", fmt]
    if example_shape:
        argv += ["--example-shape", "x".join(map(str, example_shape))]
    return ServerProcess("python -m tensorwire serve", argv, wait=wait, env=env)


def serve_models():
    """benchmarks/serve_models.py, loaded from its path (tests/ has another ``serve_models``, which
    a pytest session collecting both folders could have imported under that name)."""
    name = "_tensorwire_benchmarks_serve_models"
    if name not in sys.modules:
        import importlib.util

        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "serve_models.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def tile_inputs(tile, fmt):
    """The request inputs for one batch-first ``(N, H, W, C)`` tile in ``fmt``: bands ``B1``..``BC`` of
    ``(N, H, W, 1)`` (what Earth Engine sends), or the bare array for ND_ARRAYS (what
    ``python -m tensorwire bench`` sends: ``tensorwire.bench._workload.tile_inputs``)."""
    from tensorwire import PayloadFormat
    from tensorwire.bench._workload import tile_inputs as bench_inputs

    return bench_inputs(tile, PayloadFormat.of(fmt))


def expected_outputs(predict_fn, inputs):
    """``predict_fn`` applied directly, keyed as ``tensorwire.Client`` returns it (one output: ``"output"``)."""
    named = inputs if isinstance(inputs, dict) else {"instances": inputs}
    out = predict_fn(named)
    if not isinstance(out, dict):
        return {"output": np.asarray(out)}
    if len(out) == 1:
        return {"output": np.asarray(next(iter(out.values())))}
    return {name: np.asarray(a) for name, a in out.items()}


def mismatch(expected, got):
    """None if ``got`` equals ``expected`` (same names, shapes, dtypes, values), else what differs."""
    if set(expected) != set(got):
        return f"outputs {sorted(got)}, expected {sorted(expected)}"
    for name, want in expected.items():
        have = np.asarray(got[name])
        if have.dtype != want.dtype or have.shape != want.shape:
            return f"output {name!r}: {have.dtype} {have.shape}, expected {want.dtype} {want.shape}"
        if not np.array_equal(have, want):
            return f"output {name!r}: {int(np.count_nonzero(have != want))} of {want.size} values differ"
    return None


# ------------------------------------------------------------------------------------------------


def _is_lost(exc):
    """No answer at all (connection failed/dropped, timeout) rather than an error answer."""
    from tensorwire import PredictionError

    if isinstance(exc, PredictionError):
        return str(exc.status) in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED")
    name = type(exc).__name__
    return "Timeout" in name or isinstance(exc, (ConnectionError, TimeoutError))


class Worker(threading.Thread):
    def __init__(self, index, args, target, predict_fn, start_barrier):
        super().__init__(name=f"load-client-{index}", daemon=True)
        self.index = index
        self.args = args
        self.target = target
        self.predict_fn = predict_fn
        self.start_barrier = start_barrier
        self.latencies = []
        self.answered = self.correct = self.errors = self.lost = self.done = 0
        self.problems = []
        self.setup_error = None

    def _tile(self, rng):
        a = self.args
        return rng.random((1, a.size, a.size, a.bands), dtype=np.float32)

    def run(self):
        rng = np.random.default_rng([self.args.seed, self.index])
        client = self._ready(rng)
        if client is not None:
            with client:
                self._requests(client, rng)

    def _client(self):
        import tensorwire

        a = self.args
        return tensorwire.Client(self.target, a.format, timeout=a.timeout, retries=a.retries,
                                 max_payload_bytes=a.max_payload_bytes)

    def _ready(self, rng):
        """The client, after its checked warm-up request and the start barrier; None if either
        failed (``setup_error`` says why; the barrier is broken for the others)."""
        try:
            client = self._client()
            inputs = tile_inputs(self._tile(rng), self.args.format)  # warm-up, checked, not counted
            problem = mismatch(expected_outputs(self.predict_fn, inputs), client.predict(inputs))
            if problem:
                raise AssertionError(f"warm-up answer is wrong: {problem}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.setup_error = exc
            self.start_barrier.abort()
            return None
        try:
            self.start_barrier.wait()
        except threading.BrokenBarrierError:
            return None
        return client

    def _requests(self, client, rng):
        a = self.args
        for k in range(a.requests):
            inputs = tile_inputs(self._tile(rng), a.format)
            start = time.perf_counter()
            try:
                got = client.predict(inputs)
            except Exception as exc:  # noqa: BLE001 - counted
                if _is_lost(exc):
                    self.lost += 1
                else:
                    self.errors += 1
                self._problem(k, f"{type(exc).__name__}: {exc}")
            else:
                self.latencies.append(time.perf_counter() - start)
                self.answered += 1
                problem = mismatch(expected_outputs(self.predict_fn, inputs), got)
                if problem is None:
                    self.correct += 1
                else:
                    self._problem(k, f"wrong answer: {problem}")
            self.done += 1

    def _problem(self, k, text):
        if len(self.problems) < 5:
            self.problems.append(f"client {self.index} request {k}: {text[:300]}")


def start_workers(workers, barrier, timeout):
    """Start ``workers`` and wait at their start ``barrier`` (up to ``timeout`` seconds) until
    every one is warm; the set-up errors (none: all started)."""
    for w in workers:
        w.start()
    try:
        barrier.wait(timeout=timeout)
    except threading.BrokenBarrierError:
        return [f"client {w.index}: {type(w.setup_error).__name__}: {w.setup_error}"
                for w in workers if w.setup_error is not None] or ["the clients did not start in time"]
    return []


def run(args):
    import tensorwire

    predict_fn = getattr(serve_models(), args.function)
    shape = (args.size, args.size, 1) if args.format == "GRPC_SERIALIZED_TF_EXAMPLES" else None
    sample = tile_inputs(np.zeros((1, args.size, args.size, args.bands), np.float32), args.format)
    request_bytes = len(tensorwire.encode_request(sample, args.format))
    if request_bytes > args.max_payload_bytes:
        raise SystemExit(f"load: one {args.size}x{args.size}x{args.bands} tile encodes to {request_bytes:,} bytes in "
                         f"{args.format}, over --max-payload-bytes={args.max_payload_bytes:,}; raise it")
    total = args.clients * args.requests
    try:
        server = tensorwire_server(args.function, [args.format], shape)
    except ServerStartError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return None
    with server:
        barrier = threading.Barrier(args.clients + 1)
        workers = [Worker(i, args, server.target(args.format), predict_fn, barrier) for i in range(args.clients)]
        setup_errors = start_workers(workers, barrier, args.timeout + 60)
        start = time.perf_counter()
        deadline = time.monotonic() + args.deadline
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))
        wall = time.perf_counter() - start
        hung = [w.index for w in workers if w.is_alive()]
        server_alive = server.alive()
        server_status = server.proc.returncode
        stderr_tail = server.stderr_tail() if (setup_errors or hung or not server_alive) else ""
    latencies = np.array(sorted(x for w in workers for x in w.latencies)) * 1e3
    answered = sum(w.answered for w in workers)
    correct = sum(w.correct for w in workers)
    errors = sum(w.errors for w in workers)
    lost = total - answered - errors  # lost in flight, plus never sent (hung or failed clients)
    problems = setup_errors + [p for w in workers for p in w.problems]
    if hung:
        problems.append(f"clients {hung} had not finished after --deadline {args.deadline:g} s")
    if not server_alive:
        problems.append(f"the server exited (status {server_status}) during the run")
    if setup_errors:
        wall = None  # nothing was run
    return {
        "format": args.format,
        "clients": args.clients,
        "requests_per_client": args.requests,
        "requests": total,
        "tile": f"{args.size}x{args.size}x{args.bands} float32",
        "request_bytes": request_bytes,
        "max_payload_bytes": args.max_payload_bytes,
        "function": f"serve_models:{args.function}",
        "server": server.ready_line,
        "backend": tensorwire.backend(),
        "answered": answered,
        "correct": correct,
        "wrong": answered - correct,
        "lost": lost,
        "errors": errors,
        "wall_seconds": wall,
        "requests_per_second": total / wall if wall else None,
        "p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else None,
        "p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else None,
        "max_ms": float(latencies[-1]) if len(latencies) else None,
        "warmup_requests": args.clients,
        "server_alive_at_end": server_alive,
        "problems": problems[:20],
        "server_stderr_tail": stderr_tail,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def keep_freed_memory(parser):
    """``tensorwire._malloc.keep_freed_memory()`` for a tool's process (``TENSORWIRE_MALLOPT``,
    which the servers it starts inherit); a bad value is a usage error.  Returns the one-line
    description the tools report."""
    from tensorwire import _malloc

    try:
        _malloc.keep_freed_memory()
    except ValueError as exc:
        parser.error(str(exc))
    return _malloc.describe()


def passed(result):
    return (result is not None and result["answered"] == result["requests"] == result["correct"]
            and result["lost"] == 0 and result["errors"] == 0)


def text(r):
    def ms(x):
        return "n/a" if x is None else f"{x:.1f} ms"

    lines = [
        f"load: {r['clients']} clients x {r['requests_per_client']} requests, {r['format']}, one {r['tile']} tile "
        f"each ({r['request_bytes']:,}-byte requests; max_payload_bytes {r['max_payload_bytes']:,}), "
        f"backend {r['backend']}",
        f"server: {r['server']}",
        *([f"malloc (client and server): {r['malloc']}"] if "malloc" in r else []),
        f"answered {r['answered']}, correct {r['correct']}, wrong {r['wrong']}, lost {r['lost']}, "
        f"errors {r['errors']} (of {r['requests']})",
        "not run: the clients' set-up failed" if r["wall_seconds"] is None else
        f"{r['requests_per_second']:.1f} requests/s, p50 {ms(r['p50_ms'])}, p99 {ms(r['p99_ms'])}, "
        f"max {ms(r['max_ms'])}, wall {r['wall_seconds']:.2f} s",
    ]
    lines += [f"  {p}" for p in r["problems"]]
    if r["server_stderr_tail"]:
        lines.append(f"server{r['server_stderr_tail']}")
    lines.append("PASS" if passed(r) else "FAIL")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--requests", type=int, default=250, help="requests per client (default 250)")
    parser.add_argument("--format", default="SERIALIZED_TF_TENSORS", help=f"one of {', '.join(FORMATS)}")
    parser.add_argument("--size", type=int, default=256, help="tile height and width (default 256)")
    parser.add_argument("--bands", type=int, default=4, help="bands per tile (default 4)")
    parser.add_argument("--function", default="affine", help="serve_models function (default affine: x * 2 + 1)")
    parser.add_argument("--max-payload-bytes", type=int, default=EE_MAX_PAYLOAD_BYTES,
                        help="Client max_payload_bytes (default 1,500,000, Earth Engine's)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds (default 30)")
    parser.add_argument("--retries", type=int, default=0, help="Client retries (default 0: every failure counts)")
    parser.add_argument("--deadline", type=float, default=600.0,
                        help="seconds the whole run may take; unfinished requests count as lost (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    args.format = {"GRPC_TF_EXAMPLES": "GRPC_SERIALIZED_TF_EXAMPLES"}.get(args.format, args.format)
    if args.format not in FORMATS:
        parser.error(f"--format: one of {', '.join(FORMATS)}")
    if args.clients < 1 or args.requests < 1:
        parser.error("--clients and --requests must be at least 1")
    malloc = keep_freed_memory(parser)
    sys.path.insert(0, HERE)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # stop the server on the way out
    result = run(args)
    if result is None:
        return 2
    result["malloc"] = malloc
    print(json.dumps(result, indent=2) if args.json else text(result), flush=True)
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
