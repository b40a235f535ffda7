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
  one after another as they are sent, so only about ``concurrency + 1`` bodies exist at once;
* a run that fits is checked to be the longest that does: the next instance is encoded alone
  and must not fit beside it (skipped when the caller says ``alike=True``: instances of one shape
  encode to one size in the format, as in the binary ones; payload.sizes_alike says when);
* a run whose body is not the size that rule predicts (within a few bytes: protobuf length
  prefixes grow by a byte now and then) shows that the instances differ in size (number text in
  the JSON formats); from there on each instance is first encoded alone to learn its size, and
  each run is the longest that those sizes say fits: the fewest bodies for instances kept in
  order, for one more encode of every instance;
* a run that is still over the limit (a body that is not the sum of its instances) loses
  instances from its end until it fits;
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

# How far a run's body may be from ``rest + k * size`` for instances of one size: a protobuf
# length prefix (a varint) grows by a byte at 128, 16 KiB, 2 MiB, ... of content, one per field.
_PREFIX_SLACK = 8


class Batcher:
    """Splits, sends and reassembles one batch at a time; holds only its settings, so one
    Batcher may serve many threads.

    ``drained`` (None, or a function of no arguments) is called by :meth:`in_order` in the
    caller's thread once every body of a batch is made and handed to the thread pool, before the
    last answers are waited for: ``tensorwire.dask`` leaves Dask's thread pool there, so that a
    worker starts its next chunk while this one's answers are out.  With ``concurrency`` 1 the
    bodies are sent in the caller's thread, one after another, and it is not called."""

    def __init__(self, max_payload_bytes: int, concurrency: int = 1) -> None:
        if max_payload_bytes < 1:
            raise ValueError("max_payload_bytes must be >= 1")
        self.max_payload_bytes = int(max_payload_bytes)
        self.concurrency = max(1, int(concurrency))
        self.drained: Callable[[], None] | None = None

    def predict(self, n: int, encode: Encode, send: Send, alike: bool = False) -> Predictions:
        """The predictions for instances ``0:n`` (``n >= 1``), sent in bodies within the limit."""
        parts = self.bodies(n, encode, alike)
        head = list(itertools.islice(parts, 2))  # one request needs no thread pool
        parts = itertools.chain(head, parts)
        if len(head) == 1 or self.concurrency == 1:
            results = [send(*part) for part in parts]
        else:
            results = self.send_all(parts, send)
        return concatenate(results)

    # ------------------------------------------------------------------------------ splitting

    def bodies(self, n: int, encode: Encode, alike: bool = False) -> Iterator[tuple[bytes, int]]:
        """``(body, instances)`` pairs covering instances ``0:n`` in order, each body within
        ``max_payload_bytes``, made as they are consumed: the fewest bodies that keep the
        instances in order (see the module docstring for how sizes are learnt).  ``alike``:
        the caller knows that every instance encodes to the same size (no check of the next)."""
        one = encode(0, 1)
        self._check_one(one, 0)
        if n == 1:
            return iter([(one, 1)])
        varying = False
        if len(one) * n <= self.max_payload_bytes:
            whole = encode(0, n)
            if len(whole) <= self.max_payload_bytes:
                return iter([(whole, n)])
            del whole  # n instances the size of the first would fit: they differ in size
            varying = True
        size = len(encode(0, 2)) - len(one)  # one more instance (and its separator)
        alone = {0: len(one)}  # instance -> the size of its body alone, once learnt
        if alike and not varying:
            alone[1] = len(one)  # the caller knows: instance 1 is instance 0's size (one encode fewer)
        else:
            self._learn(encode, 1, alone)
        rest = alone[0] + alone[1] - (len(one) + size)  # the body around its instances, less a separator
        varying = varying or alone[1] != alone[0]
        step = (self.max_payload_bytes - rest) // size if size > 0 else self.max_payload_bytes // len(one)
        return self._runs(n, encode, rest, size, max(1, min(n, step)), alone, varying, alike)

    def _runs(self, n: int, encode: Encode, rest: int, size: int, step: int, alone: dict[int, int],
              varying: bool, alike: bool) -> Iterator[tuple[bytes, int]]:
        """The runs of :meth:`bodies`: ``step`` instances at a time while the bodies are the
        size that predicts (``rest + k * size``: instances alike), then (``varying``) each run
        the longest that the instances' own sizes (``alone``) say fits: ``rest`` is the body
        around its instances less one separator."""
        limit = self.max_payload_bytes
        start = 0
        while start < n:
            if not varying:
                stop = min(n, start + step)
                body = encode(start, stop)
                if abs(len(body) - (rest + (stop - start) * size)) <= _PREFIX_SLACK:
                    part = self._within(encode, start, stop, body)
                    del body
                    after = start + part[1]
                    if alike or after == n or not self._fits_one_more(encode, len(part[0]), after, rest, alone):
                        _forget(alone, start, after)
                        yield part
                        start = after
                        continue
                    del part  # a smaller instance follows: sizes vary
                else:
                    del body
                varying = True
            stop, total = start, 0
            while stop < n:
                self._learn(encode, stop, alone)
                grown = alone[stop] if stop == start else total + alone[stop] - rest
                if stop > start and grown > limit:
                    break
                total = grown
                stop += 1
            part = self._within(encode, start, stop, encode(start, stop))
            _forget(alone, start, start + part[1])
            yield part
            start += part[1]

    def _learn(self, encode: Encode, i: int, alone: dict[int, int]) -> None:
        """The size of instance ``i``'s body alone into ``alone`` (encoded once)."""
        if i not in alone:
            single = encode(i, i + 1)
            self._check_one(single, i)
            alone[i] = len(single)

    def _fits_one_more(self, encode: Encode, length: int, i: int, rest: int, alone: dict[int, int]) -> bool:
        """Whether instance ``i`` would still fit beside a body of ``length`` bytes."""
        self._learn(encode, i, alone)
        return length + alone[i] - rest <= self.max_payload_bytes

    def _within(self, encode: Encode, start: int, stop: int, body: bytes) -> tuple[bytes, int]:
        """``(body, instances)`` for instances ``start:stop``, less the last ones while the
        body is over the limit (a body a few bytes larger than its instances' sizes say)."""
        while len(body) > self.max_payload_bytes:
            if stop - start == 1:
                self._check_one(body, start)
            over = len(body) - self.max_payload_bytes
            drop = max(1, -(-over * (stop - start) // len(body)))  # instances of the mean size
            stop = max(start + 1, stop - drop)
            body = encode(start, stop)
        return body, stop - start

    def _check_one(self, body: bytes, i: int) -> None:
        if len(body) > self.max_payload_bytes:
            raise ValueError(f"instance {i} alone encodes to {len(body):,} bytes, over max_payload_bytes="
                             f"{self.max_payload_bytes:,}")

    # -------------------------------------------------------------------------------- sending

    def send_all(self, parts: Iterator[tuple[bytes, int]], send: Send) -> list[Predictions]:
        """The results of sending ``parts``, at most ``concurrency`` in flight, in order."""
        with contextlib.closing(self.in_order(parts, send)) as answers:  # a failure waits for the rest
            return [future.result() for _, future in answers]

    def stream(self, n: int, encode: Encode, send: Send,
               alike: bool = False) -> Generator[tuple[int, int, Future], None, None]:
        """``(start, stop, future)`` for each body covering instances ``0:n``, in order, as the
        bodies are made and sent (at most ``concurrency`` in flight); ``future.result()`` is that
        body's predictions or raises its error.  Close the iterator (or exhaust it) to have the
        bodies in flight waited for; a caller that stops early must close it."""
        start = 0
        for count, future in self.in_order(self.bodies(n, encode, alike), send):
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
                if self.drained is not None:
                    self.drained()
                while pending:
                    done = pending.pop(0)
                    concurrent.futures.wait([done[1]])
                    yield done
            finally:
                for _, f in pending:
                    f.cancel()


def _forget(alone: dict[int, int], start: int, stop: int) -> None:
    """Drops the learnt sizes of instances ``start:stop`` (sent in one body) from ``alone``."""
    for i in range(start, stop):
        alone.pop(i, None)


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
