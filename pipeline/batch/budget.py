"""Per-document budgets and worker hygiene, so that one bad input cannot sink or stall a run.

* :class:`Budget`: a time and a memory budget for the documents of a chunk. Past the
  time budget, :class:`TimeBudgetExceeded` is raised inside the work on the document;
  past the memory budget, allocations fail with ``MemoryError``. The runner turns
  either into the document's error row (:func:`budget_error`) and goes on.
* :func:`die_with_parent`: a pool worker is killed when the process that started it
  dies, so that nothing keeps writing into a dead run's staging folder.

How. In the main thread (the serial engine, process-pool workers) the time budget is a
``SIGALRM`` timer (``setitimer``) whose handler raises; it fires again every second
after the budget, in case library code that catches every ``Exception`` swallowed it
(which is also why :class:`TimeBudgetExceeded` is not an ``Exception``). In other
threads (Dask runs tasks in worker threads) a watcher thread raises it in the working
thread as an asynchronous exception, at its next bytecode: that cannot interrupt one
long call into C. The memory budget is ``RLIMIT_AS`` set, when a chunk starts, to the
process's address space plus the budget, and restored when it ends; it applies in
the main thread only (in a Dask worker, the worker's own memory limit applies). Both
are skipped where the platform lacks them (no ``setitimer``/``RLIMIT_AS``, no
``/proc/self/statm``). Setting up costs a few tens of microseconds per chunk; arming
and disarming the timer around each document, two system calls.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

DEFAULT_DOC_TIMEOUT = 600.0  # seconds; a 5 MB bulletin takes well under a minute
DEFAULT_DOC_MEMORY = 4096  # MB of address space on top of what the worker holds


class TimeBudgetExceeded(BaseException):
    """The work on one document ran past its time budget.

    A ``BaseException``, like ``KeyboardInterrupt``: PDF and HTML libraries catch
    ``Exception`` around their parsing and would otherwise turn it into some other error."""

    seconds: float = 0.0

    def __str__(self) -> str:
        return f"time budget of {self.seconds:g} s exceeded"


def budget_error(exc: BaseException, memory_mb: int | None) -> str:
    """The error row's text for a document stopped by ``exc``."""
    if isinstance(exc, TimeBudgetExceeded):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"memory budget of {memory_mb} MB exceeded" if memory_mb else "out of memory (MemoryError)"
    return f"extraction failed: {type(exc).__name__}: {exc}".splitlines()[0][:300]


class Budget:
    """The budgets of a series of documents, one at a time::

        with Budget(seconds, memory_mb) as budget:
            for doc in docs:
                budget.arm()
                try:
                    work(doc)
                finally:
                    budget.disarm()

    ``seconds`` or ``memory_mb`` None (or 0): no such budget. ``disarm`` may be called
    again (it is idempotent): a document that ends in an exception should be disarmed
    in its handler too, in case the budget struck between its work and its ``finally``.
    """

    def __init__(self, seconds: float | None, memory_mb: int | None):
        self.seconds = seconds or None
        self.memory_mb = memory_mb or None
        main = threading.current_thread() is threading.main_thread()
        self._timer = (_Alarm if main and hasattr(signal, "setitimer") else _Watcher)(self.seconds) if self.seconds else None
        self._memory = _MemoryLimit(self.memory_mb) if main and self.memory_mb else None

    def __enter__(self) -> Budget:
        if self._memory is not None:
            self._memory.start()
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._memory is not None:
            self._memory.stop()

    def arm(self) -> None:
        if self._timer is not None:
            self._timer.arm()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.disarm()


def _budget_class(seconds: float) -> type[TimeBudgetExceeded]:
    # a subclass carrying the figure: an asynchronous exception is raised as a class
    return type("TimeBudgetExceeded", (TimeBudgetExceeded,), {"seconds": seconds, "__module__": __name__})


class _Alarm:
    """SIGALRM in the main thread; a timer already set by the caller (a test runner's
    timeout) is suspended while the documents run and armed again for what is left."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.exc = _budget_class(seconds)
        self.armed = False

    def _on_alarm(self, signum, frame) -> None:
        if self.armed:  # (a signal already on its way when the document ended is dropped)
            raise self.exc()

    def start(self) -> None:
        self.previous = signal.signal(signal.SIGALRM, self._on_alarm)
        self.started = time.monotonic()
        self.outer = signal.setitimer(signal.ITIMER_REAL, 0)

    def arm(self) -> None:
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 1.0)

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def stop(self) -> None:
        self.disarm()
        signal.signal(signal.SIGALRM, signal.SIG_DFL if self.previous is None else self.previous)
        delay, interval = self.outer
        if delay:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - self.started), 1e-3), interval)


class _Watcher:
    """A thread that raises the budget's exception in the working thread (not the main
    one, where signals cannot be used) once a document runs past its deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.exc = _budget_class(seconds)
        self.cond = threading.Condition()
        self.deadline: float | None = None
        self.closed = False

    def start(self) -> None:
        import ctypes  # (imported here: ~5 ms that a run on one machine never needs)

        self.set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
        self.py_object = ctypes.py_object
        self.target = ctypes.c_ulong(threading.get_ident())
        self.thread = threading.Thread(target=self._watch, name="document-budget", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        with self.cond:
            while not self.closed:
                if self.deadline is None:
                    self.cond.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                self.set_async_exc(self.target, self.py_object(self.exc))
                self.deadline = time.monotonic() + 1.0  # again, in case it was swallowed

    def arm(self) -> None:
        with self.cond:
            self.deadline = time.monotonic() + self.seconds
            self.cond.notify()

    def disarm(self) -> None:
        with self.cond:
            self.deadline = None
            self.set_async_exc(self.target, None)  # one raised too late is dropped

    def stop(self) -> None:
        with self.cond:
            self.closed = True
            self.deadline = None
            self.cond.notify()
        self.thread.join()
        self.set_async_exc(self.target, None)


def _address_space() -> int | None:
    """The process's virtual memory size in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _MemoryLimit:
    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.saved: tuple[int, int] | None = None

    def start(self) -> None:
        try:
            import resource
        except ImportError:  # not on a Unix
            return
        now = _address_space() if hasattr(resource, "RLIMIT_AS") else None
        if now is None:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = now + self.memory_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft != resource.RLIM_INFINITY and soft <= limit:
            return  # a tighter limit is set already
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        self.saved = (soft, hard)

    def stop(self) -> None:
        if self.saved is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self.saved)
            self.saved = None


def die_with_parent(parent_pid: int) -> None:
    """Have this process killed when its parent dies (a pool worker's initializer).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a daemon thread that checks
    the parent every second. Exits at once when the parent is already gone."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # it died before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
