"""The server's worker pool, slots and abandonable jobs (tensorwire._workers), without sockets.
Every wait is bounded and event-based."""

import threading

import pytest

from tensorwire._workers import DaemonPool, Job, Slots

WAIT = 30


def test_the_pool_runs_calls_on_daemon_threads_and_ends_idle_ones():
    pool = DaemonPool(4, idle_seconds=0.2)
    gate = threading.Event()
    started = [threading.Event() for _ in range(3)]

    def held(i):
        started[i].set()
        assert gate.wait(WAIT)
        return threading.current_thread().daemon

    futures = [pool.submit(held, i) for i in range(3)]
    for e in started:
        assert e.wait(WAIT)
    assert pool.threads == 3 and pool.busy == 3
    gate.set()
    assert [f.result(WAIT) for f in futures] == [True, True, True]
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(WAIT)
    for t in list(pool._threads):  # every thread ends once idle: nothing keeps a burst's threads
        t.join(WAIT)
    assert pool.threads == 0
    assert pool.submit(lambda: 7).result(WAIT) == 7  # and new work starts a thread again
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError):
        pool.submit(lambda: 1)


def test_an_exception_reaches_the_waiter_and_the_pool_goes_on():
    pool = DaemonPool(1)

    def fail():
        raise KeyError("x")

    with pytest.raises(KeyError):
        pool.submit(fail).result(WAIT)
    assert pool.submit(lambda: 3).result(WAIT) == 3
    pool.shutdown()


def test_a_waiter_for_a_slot_leaves_when_its_job_is_abandoned():
    slots = Slots(1)
    assert slots.acquire(None)
    job, got = Job(), []
    t = threading.Thread(target=lambda: got.append(slots.acquire(job)))
    t.start()
    job.abandon()
    t.join(WAIT)
    assert got == [False] and not job.wanted()
    slots.release()
    assert slots.acquire(Job())  # the abandoned waiter took nothing
