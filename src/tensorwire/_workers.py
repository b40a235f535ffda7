"""The server's worker threads, and work that its caller can abandon.

* :class:`Job`: one request's work.  The transport calls :meth:`Job.abandon` when the caller is
  gone (the HTTP client disconnected, the gRPC call was cancelled or passed its deadline, the
  server's shutdown grace ran out); the model layer asks :meth:`Job.wanted` before each step
  and drops the rest.  A step already running (``predict_fn`` above all) cannot be stopped:
  Python cannot interrupt a thread.  Its result is dropped.
* :class:`Slots`: at most ``n`` holders at once (``max_concurrency``), where a waiter gives up
  as soon as its job is abandoned instead of holding its place in the queue.
* :class:`DaemonPool`: a fixed set of daemon threads running submitted calls in order.  Daemon,
  so that a ``predict_fn`` that never returns cannot keep the process alive past the shutdown
  grace (``concurrent.futures.ThreadPoolExecutor`` joins its threads at interpreter exit).
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Job:
    """A flag the transport sets when nobody waits for the answer any more (thread-safe)."""

    __slots__ = ("_gone", "_on_abandon")

    _gone: bool
    _on_abandon: list[Callable[[], None]]

    def __init__(self) -> None:
        self._gone = False
        self._on_abandon = []

    def wanted(self) -> bool:
        return not self._gone

    def abandon(self, *_: object) -> None:
        """Mark the job abandoned (any arguments are ignored, so it can be a gRPC callback)."""
        self._gone = True
        for wake in self._on_abandon:
            wake()


class Slots:
    """A semaphore whose waiters leave the queue when their :class:`Job` is abandoned."""

    def __init__(self, n: int) -> None:
        self._free = int(n)
        self._cond = threading.Condition()

    def acquire(self, job: Job | None) -> bool:
        """Take a slot and return True, or return False as soon as ``job`` is abandoned."""
        with self._cond:
            if job is not None:
                job._on_abandon.append(self._wake)
            while self._free == 0 and (job is None or job.wanted()):
                self._cond.wait()
            if job is not None and not job.wanted():
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class DaemonPool:
    """``submit(fn, *args)`` -> ``concurrent.futures.Future``, run by at most ``workers`` daemon
    threads, started as needed and ended after ``idle_seconds`` without work (so that the
    threads a burst needed, and their stacks, do not stay).  Also what ``grpc.server`` takes as
    its thread pool."""

    def __init__(self, workers: int, name: str = "tensorwire-worker", idle_seconds: float = 10.0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._workers = int(workers)
        self._idle_seconds = idle_seconds
        self._name = name
        self._queue: collections.deque[
            tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]
        ] = collections.deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._started = 0
        self._idle = 0
        self._busy = 0
        self._closed = False

    @property
    def busy(self) -> int:
        """How many calls are running now."""
        return self._busy

    @property
    def threads(self) -> int:
        """How many worker threads there are now."""
        return len(self._threads)

    def submit(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            self._queue.append((future, fn, args, kwargs))
            if self._idle == 0 and len(self._threads) < self._workers:
                self._started += 1
                thread = threading.Thread(target=self._run, name=f"{self._name}-{self._started}", daemon=True)
                self._threads.append(thread)
                thread.start()
            else:
                self._cond.notify()
        return future

    def shutdown(self, wait: bool = False) -> None:
        """Refuse new calls; drop the queued ones.  Running calls go on in their daemon threads;
        ``wait=True`` waits for them."""
        with self._cond:
            self._closed = True
            while self._queue:
                self._queue.popleft()[0].cancel()
            self._cond.notify_all()
        if wait:
            for thread in list(self._threads):
                thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._idle += 1
                while not self._queue and not self._closed:
                    if not self._cond.wait(self._idle_seconds) and not self._queue:
                        break  # idle too long
                self._idle -= 1
                if not self._queue:
                    self._threads.remove(threading.current_thread())
                    return
                future, fn, args, kwargs = self._queue.popleft()
                self._busy += 1
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        result = fn(*args, **kwargs)
                    except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                        result = None
            finally:
                del future, fn, args, kwargs  # no reference kept while idle
                with self._cond:
                    self._busy -= 1
