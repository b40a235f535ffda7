"""The client's batcher without sockets: splitting under the size limit, order, concurrency bound,
reassembly (tensorwire._batcher; the same rules over real servers are in test_serve.py)."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorwire import DecodeError
from tensorwire._batcher import Batcher, concatenate


def fixed_size_encoder(sizes):
    """encode(start, stop): a body of sum(sizes[start:stop]) bytes naming its range."""
    made = []

    def encode(start, stop):
        made.append((start, stop))
        head = f"{start}:{stop}|".encode()
        return head + b"x" * max(0, sum(sizes[start:stop]) - len(head))

    return encode, made


def echo(body, instances):
    start, stop = map(int, body.split(b"|")[0].split(b":"))
    assert stop - start == instances
    return {"i": np.arange(start, stop)}


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(8, 300), min_size=1, max_size=60), limit=st.integers(300, 3000),
       concurrency=st.integers(1, 4))
def test_every_instance_once_in_order_and_every_body_within_the_limit(sizes, limit, concurrency):
    encode, _ = fixed_size_encoder(sizes)
    sent = []

    def send(body, instances):
        sent.append(len(body))
        return echo(body, instances)

    out = Batcher(limit, concurrency).predict(len(sizes), encode, send)
    assert out["i"].tolist() == list(range(len(sizes)))
    assert sent and max(sent) <= limit


def fewest_runs(sizes, limit):
    """The fewest runs of consecutive instances whose sizes sum to at most ``limit`` each (taking
    the longest run that fits, again and again, is the fewest)."""
    runs, total = 1, 0
    for size in sizes:
        if total and total + size > limit:
            runs, total = runs + 1, 0
        total += size
    return runs


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(8, 300), min_size=1, max_size=60), limit=st.integers(300, 3000),
       alike=st.integers(0, 59))
def test_instances_of_different_sizes_travel_in_the_fewest_bodies(sizes, limit, alike):
    """Bodies the sum of their instances (as JSON number text is), the first ``alike`` of one
    size and the rest not: the runs are the fewest, every body within the limit."""
    sizes = [sizes[0]] * min(alike, len(sizes)) + sizes[min(alike, len(sizes)):]
    encode, _ = fixed_size_encoder(sizes)
    sent = []

    def send(body, instances):
        sent.append(len(body))
        return echo(body, instances)

    out = Batcher(limit, 1).predict(len(sizes), encode, send)
    assert out["i"].tolist() == list(range(len(sizes)))
    assert max(sent) <= limit
    assert len(sent) == fewest_runs(sizes, limit)
    if len(set(sizes)) == 1:  # the caller may say so: then no instance is measured alone
        encode, made = fixed_size_encoder(sizes)
        sent.clear()
        Batcher(limit, 1).predict(len(sizes), encode, send, alike=True)
        assert len(sent) == fewest_runs(sizes, limit)
        assert sum(stop - start == 1 for start, stop in made) <= 2 + len(sent)


def test_one_instance_over_the_limit_is_refused_before_anything_is_sent():
    encode, _ = fixed_size_encoder([500, 10, 10])
    with pytest.raises(ValueError, match="instance 0 alone encodes to 500 bytes, over max_payload_bytes=100"):
        Batcher(100).predict(3, encode, lambda body, n: pytest.fail("sent"))


def test_a_batch_that_fits_is_one_body():
    encode, made = fixed_size_encoder([10] * 8)
    calls = []
    Batcher(1000).predict(8, encode, lambda body, n: calls.append(n) or echo(body, n))
    assert calls == [8] and made == [(0, 1), (0, 8)]


def test_at_most_concurrency_bodies_are_in_flight_and_a_failure_waits_for_them():
    encode, _ = fixed_size_encoder([100] * 12)
    lock, in_flight, most, release = threading.Lock(), [0], [0], threading.Event()
    started = threading.Semaphore(0)

    def send(body, instances):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        started.release()
        release.wait(timeout=30)
        with lock:
            in_flight[0] -= 1
        if body.startswith(b"4:"):
            raise RuntimeError("run 4:5 failed")
        return echo(body, instances)

    def releaser():
        for _ in range(3):  # three sends start before any is let go
            assert started.acquire(timeout=30)
        release.set()

    t = threading.Thread(target=releaser)
    t.start()
    with pytest.raises(RuntimeError, match="run 4:5 failed"):
        Batcher(100, concurrency=3).predict(12, encode, send)
    t.join(timeout=30)
    assert most[0] == 3 and in_flight[0] == 0


def test_answers_naming_other_outputs_are_a_decode_error():
    with pytest.raises(DecodeError, match=r"response 1 of 2 has outputs \['b'\], response 0 \['a'\]"):
        concatenate([{"a": np.zeros(1)}, {"b": np.zeros(1)}])


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError):
        Batcher(0)


def test_equal_instances_in_an_envelope_travel_in_the_fewest_bodies():
    """A body of k instances is 2 + 10k bytes: 9 fit in 100 (92 bytes), which the size of
    instance 0 alone (12 bytes, so 100 // 12 = 8) would not find."""
    def encode(start, stop):
        return b"[" + b"x" * (10 * (stop - start)) + b"]"

    sizes = []
    Batcher(100).predict(27, encode, lambda body, n: sizes.append((len(body), n)) or {"i": np.zeros(n)})
    assert sizes == [(92, 9)] * 3


def test_stream_gives_the_ranges_in_order_and_closing_it_waits_for_the_bodies_in_flight():
    encode, _ = fixed_size_encoder([100] * 10)
    lock, in_flight = threading.Lock(), [0]

    def send(body, instances):
        with lock:
            in_flight[0] += 1
        threading.Event().wait(0.02)
        with lock:
            in_flight[0] -= 1
        return echo(body, instances)

    stream = Batcher(100, concurrency=3).stream(10, encode, send)
    seen = []
    for start, stop, future in stream:
        np.testing.assert_array_equal(future.result()["i"], np.arange(start, stop))
        seen.append((start, stop))
        if len(seen) == 4:
            break
    stream.close()
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)] and in_flight[0] == 0
    assert [(s, e) for s, e, _ in Batcher(100).stream(3, encode, send)] == [(0, 1), (1, 2), (2, 3)]
