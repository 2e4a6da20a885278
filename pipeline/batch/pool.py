"""A process pool in which each worker has a pipe of its own, so that a worker's death is its own.

Why not :class:`concurrent.futures.ProcessPoolExecutor` (or the pools built like it):
its workers share one result pipe. A worker killed while it writes a result (the
out-of-memory killer picks the biggest process, and a result is written for as long
as it is big) leaves half a message in that pipe; the executor's reader then waits
for the rest for ever, because the other workers still hold the pipe open, and the
run hangs with nothing written (CPython 3.11, reproduced by ``tests/test_pool.py``).
Here each worker answers on its own socket pair, which no other process holds: a
death halfway through a message reads as an end of file, and only the work on the
dead worker is lost, never the other workers'.

The pool runs one function; work is submitted with a ticket of the caller's
choosing, and :meth:`Pool.next` returns the ticket of whatever finished next with its
outcome: the function's value, or :class:`Died` when the worker running it died. An
exception raised by the function is raised again here, with its traceback.
"""

from __future__ import annotations

import logging
import os
import signal
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Died:
    """The worker running a piece of work died; ``reason`` says how ("signal 9, SIGKILL")."""

    reason: str


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (the cause of the one raised again here)."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0]) if self.args else ""


def _serve(conn, close_fds: tuple[int, ...], func: Callable, initializer: Callable | None, initargs: tuple) -> None:
    """A worker: take work from ``conn``, answer on it, until the pool closes it."""
    for fd in close_fds:  # other workers' pipes, inherited by the fork: their ends are the parent's alone
        try:
            os.close(fd)
        except OSError:
            pass
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = ("value", func(work))
        except BaseException as exc:  # raised again in the parent, whatever it is
            answer = ("error", exc, traceback.format_exc())
        try:
            conn.send(answer)  # (pickled whole before anything is written)
        except Exception as exc:  # the value or the exception cannot be pickled
            conn.send(("error", RuntimeError(f"a worker's answer could not be sent back: {exc!r}"), traceback.format_exc()))


def how_it_ended(exitcode: int | None) -> str:
    """"signal 9, SIGKILL", "exit code 1", or "terminated abruptly" when nothing is known."""
    if exitcode is None or exitcode == 0:
        return "terminated abruptly"
    if exitcode < 0:
        try:
            return f"signal {-exitcode}, {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


class _Worker:
    def __init__(self, context, func: Callable, initializer: Callable | None, initargs: tuple, others: tuple[int, ...]):
        """``others``: the parent's ends of the other workers' pipes (forked: inherited, so closed in the child)."""
        self.conn, child_end = context.Pipe(duplex=True)
        forked = context.get_start_method() == "fork"
        close_fds = others + (self.conn.fileno(),) if forked else ()  # (a spawned child inherits none of them)
        self.process = context.Process(target=_serve, args=(child_end, close_fds, func, initializer, initargs), daemon=True)
        self.process.start()
        child_end.close()  # the worker's end is the worker's alone: its death is an end of file here
        self.ticket: Hashable | None = None  # what it is working on


class Pool:
    """``workers`` processes running ``func``; see the module's docstring."""

    def __init__(self, func: Callable, workers: int, context=None, initializer: Callable | None = None, initargs: tuple = ()):
        import multiprocessing as mp

        if context is None:
            context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.context = context
        self.func, self.initializer, self.initargs = func, initializer, initargs
        self.queue: deque[tuple[Hashable, Any]] = deque()
        self.workers: list[_Worker] = []
        for _ in range(workers):
            self.workers.append(self._start())

    def _start(self) -> _Worker:
        return _Worker(self.context, self.func, self.initializer, self.initargs, tuple(w.conn.fileno() for w in self.workers))

    def __len__(self) -> int:
        return len(self.workers)

    def submit(self, ticket: Hashable, work: Any) -> None:
        """Queue ``work``; it runs as soon as a worker is free."""
        self.queue.append((ticket, work))
        self._dispatch()

    def _dispatch(self) -> None:
        for w in list(self.workers):
            while w.ticket is None and self.queue:
                ticket, work = self.queue[0]
                try:
                    w.conn.send(work)
                except OSError:  # it died while idle: replaced, and the work goes to the new one
                    w = self._replace(w)
                    continue
                self.queue.popleft()
                w.ticket = ticket

    def _replace(self, w: _Worker) -> _Worker:
        w.process.join()
        w.conn.close()
        i = self.workers.index(w)
        del self.workers[i]  # (before the fork, which must not be handed its closed pipe)
        new = self._start()
        self.workers.insert(i, new)
        return new

    def busy(self) -> bool:
        return bool(self.queue) or any(w.ticket is not None for w in self.workers)

    def next(self) -> tuple[Hashable, Any]:
        """Wait for a piece of work to end: ``(ticket, value)``, where ``value`` is
        :class:`Died` when its worker died. Raises the function's own exceptions."""
        from multiprocessing.connection import wait

        while True:
            if not self.busy():
                raise RuntimeError("Pool.next: nothing was submitted")
            self._dispatch()
            ready = set(wait([w.conn for w in self.workers] + [w.process.sentinel for w in self.workers]))
            for w in list(self.workers):
                if w.conn in ready:
                    try:
                        answer = w.conn.recv()
                    except (EOFError, OSError):  # it died, perhaps halfway through its answer
                        answer = None
                    if answer is not None:
                        ticket, w.ticket = w.ticket, None
                        if answer[0] == "error":
                            raise answer[1] from RemoteTraceback(answer[2])
                        return ticket, answer[1]
                elif w.process.sentinel not in ready:
                    continue
                ticket = w.ticket
                self._replace(w)
                if ticket is not None:
                    return ticket, Died(how_it_ended(w.process.exitcode))
                log.info("an idle worker ended (%s); replaced", how_it_ended(w.process.exitcode))

    def close(self) -> None:
        """Stop every worker now (work still running is abandoned) and wait for them."""
        self.queue.clear()
        for w in self.workers:
            if w.process.is_alive():
                w.process.terminate()
        for w in self.workers:
            w.process.join()
            w.conn.close()
        self.workers = []
