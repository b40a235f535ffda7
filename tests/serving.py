"""Servers for the tests: ``python -m tensorwire serve`` in a subprocess, or ``serve()`` in this
process, on loopback ports picked by the OS; and plain HTTP and gRPC calls to them."""

import contextlib
import http.server
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import urllib3

import tensorwire as tw

HERE = Path(__file__).parent
PACKAGE_ROOT = str(Path(tw.__file__).parent.parent)  # the server runs the tensorwire these tests import
READY = re.compile(r"on HTTP (\S+?)(?:; gRPC on (\S+))?$")
PREDICT = "/tensorflow.serving.PredictionService/Predict"


@contextlib.contextmanager
def running(target, *args, env=None, timeout=120):
    """``(http_url, grpc_target)`` of ``python -m tensorwire serve target *args`` while open;
    on close, SIGTERM must stop it cleanly (exit 0) within 20 s."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorwire", "serve", target, "--host", "127.0.0.1", "--http-port", "0",
         "--grpc-port", "0", *args],
        cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([PACKAGE_ROOT, str(HERE)])},
    )
    lines, errors = [], []
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()  # never let it block
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    try:
        m = READY.search(lines[0].strip()) if lines else None
        if m is None:
            proc.kill()
            proc.wait()
            raise AssertionError(f"no ready line from the server: {lines}; stderr: {''.join(errors)[-3000:]}")
        yield m.group(1), m.group(2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("the server did not stop on SIGTERM") from None
    assert proc.returncode == 0, "".join(errors)[-3000:]


@contextlib.contextmanager
def inproc(predict_fn, **options):
    """A server in this process (``serve(block=False)``) on free loopback ports."""
    srv = tw.serve(predict_fn, host="127.0.0.1", http_port=0, grpc_port=0, block=False, **options)
    try:
        yield srv
    finally:
        srv.stop(0)


def post(url, body, headers=None):
    return urllib3.PoolManager().request("POST", url, body=body, headers=headers or {}, retries=False)


def grpc_call(target, body):
    with grpc.insecure_channel(target) as channel:
        return channel.unary_unary(PREDICT)(body, timeout=30)


def run_script(script, args, timeout):
    """``(exit status, stdout, stderr)`` of ``python script *args`` (a benchmark tool that starts
    its own server), run with the Cython twins (``TENSORWIRE_PURE_PYTHON`` removed); the test
    fails if it has not finished within ``timeout`` seconds (it is then stopped with SIGTERM,
    which makes those tools stop their server, then killed)."""
    import pytest

    env = dict(os.environ)
    env.pop("TENSORWIRE_PURE_PYTHON", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"{Path(script).name} did not finish within {timeout} s\nstdout:\n{out[-3000:]}\n"
                    f"stderr:\n{err[-3000:]}")
    return proc.returncode, out, err


class HttpDouble:
    """An HTTP server on loopback (plain http.server, threads) whose answer to each POST is
    ``answer(headers, body)``: ``(status, headers, body)``, or None to close the connection
    without answering.  A context manager; ``url`` is its ``/predict`` URL."""

    def __init__(self, answer):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = answer(dict(self.headers), body)
                if reply is None:
                    self.close_connection = True
                    return
                status, headers, data = reply
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # daemon handler threads
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/predict"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
