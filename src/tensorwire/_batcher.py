"""Splitting a batch into requests under a size limit, sending them, and putting the answers back
together: the socket-free part of :class:`tensorwire.Client` (and of anything else that sends a
batch of instances in requests of bounded size).

:class:`Batcher` knows nothing of formats or transports: it is given ``encode(start, stop)``,
which makes the request body for instances ``start:stop``, and ``send(body, instances)``, which
sends one body and returns its predictions ``{name: array}`` with one row per instance.

The rules (the README's "Batches", and :mod:`tensorwire.client`'s docstring):

* instance 0 is encoded alone; if ``n`` times its size fits in ``max_payload_bytes``, the whole
  batch is encoded as one body, sent if it does fit;
* otherwise instances 0:2 are encoded too, giving the size of one more instance ``s`` and of the
  rest of a body ``e`` (``size(0:1) - s``), and runs of ``(max_payload_bytes - e) // s``
  instances (the most that fit when the instances are the same size, as tiles are) are encoded
  one after another as they are sent, and a run still over the limit is halved until it fits,
  so only about ``concurrency + 1`` bodies exist at once;
* one instance over the limit is a ValueError, raised when its run is made (instance 0 before
  anything is sent);
* runs are sent ``concurrency`` at a time, in order, and if one fails the runs in flight are
  waited for before the error propagates;
* :meth:`Batcher.stream` hands each run's answer over as it comes, in order, for a caller that
  places the answers itself instead of holding them all (``tensorwire.ee.Model``);
* the predictions are concatenated in instance order, and every answer must name the same outputs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import DecodeError

Predictions = dict[str, NDArray[Any]]
Future = concurrent.futures.Future[Predictions]
Encode = Callable[[int, int], bytes]
Send = Callable[[bytes, int], Predictions]


class Batcher:
    """Splits, sends and reassembles one batch at a time; holds only its two settings, so one
    Batcher may serve many threads."""

    def __init__(self, max_payload_bytes: int, concurrency: int = 1) -> None:
        if max_payload_bytes < 1:
            raise ValueError("max_payload_bytes must be >= 1")
        self.max_payload_bytes = int(max_payload_bytes)
        self.concurrency = max(1, int(concurrency))

    def predict(self, n: int, encode: Encode, send: Send) -> Predictions:
        """The predictions for instances ``0:n`` (``n >= 1``), sent in bodies within the limit."""
        parts = self.bodies(n, encode)
        head = list(itertools.islice(parts, 2))  # one request needs no thread pool
        parts = itertools.chain(head, parts)
        if len(head) == 1 or self.concurrency == 1:
            results = [send(*part) for part in parts]
        else:
            results = self.send_all(parts, send)
        return concatenate(results)

    # ------------------------------------------------------------------------------ splitting

    def bodies(self, n: int, encode: Encode) -> Iterator[tuple[bytes, int]]:
        """``(body, instances)`` pairs covering instances ``0:n`` in order, each body within
        ``max_payload_bytes``, made as they are consumed."""
        one = encode(0, 1)
        self._check_one(one, 0)
        if n == 1:
            return iter([(one, 1)])
        whole = None
        if len(one) * n <= self.max_payload_bytes:
            whole = encode(0, n)
            if len(whole) <= self.max_payload_bytes:
                return iter([(whole, n)])
        if whole is not None:  # encoded just now, and over the limit: halve it
            return self._fitting(encode, 0, n, whole)
        two = encode(0, 2)
        size = len(two) - len(one)  # one more instance
        rest = len(one) - size  # the body around the instances
        del two
        step = (self.max_payload_bytes - rest) // size if size > 0 else self.max_payload_bytes // len(one)
        step = max(1, min(n, step))
        return (part for start in range(0, n, step) for part in self._fitting(encode, start, min(n, start + step)))

    def _fitting(self, encode: Encode, start: int, stop: int, body: bytes | None = None) -> Iterator[tuple[bytes, int]]:
        if body is None:
            body = encode(start, stop)
        if len(body) <= self.max_payload_bytes:
            yield body, stop - start
            return
        if stop - start == 1:
            self._check_one(body, start)
        del body  # not kept while the halves are made
        mid = (start + stop) // 2
        yield from self._fitting(encode, start, mid)
        yield from self._fitting(encode, mid, stop)

    def _check_one(self, body: bytes, i: int) -> None:
        if len(body) > self.max_payload_bytes:
            raise ValueError(f"instance {i} alone encodes to {len(body):,} bytes, over max_payload_bytes="
                             f"{self.max_payload_bytes:,}")

    # -------------------------------------------------------------------------------- sending

    def send_all(self, parts: Iterator[tuple[bytes, int]], send: Send) -> list[Predictions]:
        """The results of sending ``parts``, at most ``concurrency`` in flight, in order."""
        with contextlib.closing(self.in_order(parts, send)) as answers:  # a failure waits for the rest
            return [future.result() for _, future in answers]

    def stream(self, n: int, encode: Encode, send: Send) -> Generator[tuple[int, int, Future], None, None]:
        """``(start, stop, future)`` for each body covering instances ``0:n``, in order, as the
        bodies are made and sent (at most ``concurrency`` in flight); ``future.result()`` is that
        body's predictions or raises its error.  Close the iterator (or exhaust it) to have the
        bodies in flight waited for; a caller that stops early must close it."""
        start = 0
        for count, future in self.in_order(self.bodies(n, encode), send):
            yield start, start + count, future
            start += count

    def in_order(self, parts: Iterable[tuple[bytes, int]], send: Send) -> Generator[tuple[int, Future], None, None]:
        """``(instances, future)`` per part, in order; a future is yielded only when it is done,
        and at most ``concurrency`` parts are in flight (one: sent in this thread)."""
        if self.concurrency == 1:
            for body, count in parts:
                future: Future = concurrent.futures.Future()
                try:
                    future.set_result(send(body, count))
                except Exception as exc:  # handed to the caller through the future
                    future.set_exception(exc)
                del body
                yield count, future
            return
        pending: list[tuple[int, Future]] = []
        with concurrent.futures.ThreadPoolExecutor(self.concurrency) as pool:
            try:
                for body, count in parts:
                    if len(pending) == self.concurrency:
                        done = pending.pop(0)
                        concurrent.futures.wait([done[1]])
                        yield done
                    pending.append((count, pool.submit(send, body, count)))
                    del body
                while pending:
                    done = pending.pop(0)
                    concurrent.futures.wait([done[1]])
                    yield done
            finally:
                for _, f in pending:
                    f.cancel()


def concatenate(results: list[Predictions]) -> Predictions:
    """The answers to consecutive runs as one: each output's arrays concatenated in order.  Every
    answer must name the same outputs in the same order, or DecodeError."""
    if len(results) == 1:
        return results[0]
    names = list(results[0])
    for i, r in enumerate(results):
        if list(r) != names:
            raise DecodeError(f"response {i} of {len(results)} has outputs {list(r)}, response 0 {names}")
    return {name: np.concatenate([r[name] for r in results]) for name in names}
