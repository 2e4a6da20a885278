"""The process pool (pipeline.batch.pool): a worker's death is noticed and is its own.

The first test is the reason the pool exists: with ``concurrent.futures.ProcessPoolExecutor``
a worker killed halfway through writing its result leaves the parent waiting for the rest
of the message for ever (its workers share one result pipe, held open by the others).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipeline.batch.pool import Died, Pool, RemoteTraceback, how_it_ended

BIG = 64 * 1024 * 1024  # far more than a socket's buffer: a worker writing it blocks until it is read


def _work(item):
    kind, arg = item
    if kind == "echo":
        return arg
    if kind == "sleep":
        time.sleep(arg)
        return arg
    if kind == "big":
        return b"x" * BIG
    if kind == "raise":
        raise ValueError(arg)
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "pid":
        return os.getpid()
    raise AssertionError(kind)


def _drain(pool: Pool, timeout: float = 60) -> dict:
    out = {}
    deadline = time.monotonic() + timeout
    while pool.busy():
        assert time.monotonic() < deadline
        ticket, value = pool.next()
        out[ticket] = value
    return out


@pytest.fixture
def pool():
    p = Pool(_work, 2)
    yield p
    p.close()


def test_a_worker_killed_halfway_through_its_answer_is_noticed(pool) -> None:
    pool.submit("big", ("big", None))
    pool.submit("slow", ("sleep", 1.0))  # the other worker stays alive, as in a real run
    big = next(w for w in pool.workers if w.ticket == "big")
    assert big.conn.poll(30), "the big answer never started"  # it is writing, blocked on the full buffer
    time.sleep(0.2)
    assert big.process.is_alive()
    os.kill(big.process.pid, signal.SIGKILL)
    t0 = time.monotonic()
    out = _drain(pool)
    assert time.monotonic() - t0 < 10
    assert out == {"big": Died("signal 9, SIGKILL"), "slow": 1.0}


def test_only_the_dead_workers_work_is_lost(pool) -> None:
    for k in range(6):
        pool.submit(k, ("echo", k))
    pool.submit("killer", ("die", None))
    for k in range(6, 12):
        pool.submit(k, ("echo", k))
    out = _drain(pool)
    assert out.pop("killer") == Died("signal 9, SIGKILL")
    assert out == {k: k for k in range(12)}
    assert len(pool) == 2 and all(w.process.is_alive() for w in pool.workers)


def test_an_idle_worker_that_died_is_replaced(pool) -> None:
    pids = {w.process.pid for w in pool.workers}
    for w in pool.workers:
        os.kill(w.process.pid, signal.SIGKILL)
        w.process.join()
    pool.submit("a", ("pid", None))
    pool.submit("b", ("pid", None))
    out = _drain(pool)
    assert set(out) == {"a", "b"} and not (set(out.values()) & pids)


def test_an_exception_is_raised_again_with_its_traceback(pool) -> None:
    pool.submit("bad", ("raise", "no such thing"))
    with pytest.raises(ValueError, match="no such thing") as info:
        pool.next()
    assert isinstance(info.value.__cause__, RemoteTraceback) and "_work" in str(info.value.__cause__)
    pool.submit("after", ("echo", 1))  # the pool goes on
    assert _drain(pool) == {"after": 1}


def test_close_stops_busy_workers_at_once(pool) -> None:
    pool.submit("long", ("sleep", 60))
    procs = [w.process for w in pool.workers]
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 10 and not any(p.is_alive() for p in procs)


def test_next_without_work_is_an_error(pool) -> None:
    with pytest.raises(RuntimeError, match="nothing was submitted"):
        pool.next()


@pytest.mark.parametrize("code, said", [(-9, "signal 9, SIGKILL"), (-15, "signal 15, SIGTERM"), (1, "exit code 1"),
                                        (None, "terminated abruptly"), (-200, "signal 200")])
def test_how_a_worker_ended(code, said) -> None:
    assert how_it_ended(code) == said


def test_a_spawned_pool_works_the_same() -> None:
    # (where fork is not there: the workers start afresh and inherit no pipe of the others)
    import multiprocessing as mp

    pool = Pool(_work, 2, context=mp.get_context("spawn"))
    try:
        pool.submit("a", ("echo", 1))
        pool.submit("killer", ("die", None))
        pool.submit("b", ("echo", 2))
        assert _drain(pool, timeout=120) == {"a": 1, "killer": Died("signal 9, SIGKILL"), "b": 2}
    finally:
        pool.close()
