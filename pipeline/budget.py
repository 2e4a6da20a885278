"""Per-document budgets and worker hygiene, so that one bad input cannot sink or stall a run.

* :func:`document_budget`: a time and a memory budget for the work on one document. Past
  the time budget, :class:`TimeBudgetExceeded` is raised inside that work; past the
  memory budget, allocations fail with ``MemoryError``. The runner turns either into
  the document's error row (:func:`budget_error`) and goes on with the next document.
* :func:`die_with_parent`: a pool worker is killed when the process that started it
  dies, so that nothing keeps writing into a dead run's staging folder.

How. In the main thread (the serial engine, process-pool workers) the time budget is a
``SIGALRM`` timer (``setitimer``) whose handler raises; it fires again every second
after the budget, in case library code that catches every ``Exception`` swallowed it
(which is also why :class:`TimeBudgetExceeded` is not an ``Exception``). In other
threads (Dask runs tasks in worker threads) it is an asynchronous exception raised
in the thread at its next bytecode, which cannot interrupt one long call into C. The
memory budget is ``RLIMIT_AS`` set to the process's current address space plus the
budget, and restored after the document; it applies in the main thread only (in a
Dask worker, the worker's own memory limit applies). Both are skipped where the
platform lacks them (no ``setitimer``/``RLIMIT_AS``, no ``/proc/self/statm``).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

DEFAULT_DOC_TIMEOUT = 600.0  # seconds; a 5 MB bulletin takes well under a minute
DEFAULT_DOC_MEMORY = 4096  # MB of address space on top of what the process holds


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


@contextmanager
def document_budget(seconds: float | None, memory_mb: int | None) -> Iterator[None]:
    """Limit the work in the block to ``seconds`` and ``memory_mb`` more megabytes
    (None or 0: no limit). See the module doc for how and where."""
    main = threading.current_thread() is threading.main_thread()
    with _memory_limit(memory_mb if main else None), (_alarm if main else _async_timer)(seconds):
        yield


def _budget_class(seconds: float) -> type[TimeBudgetExceeded]:
    # a subclass carrying the figure: an asynchronous exception is raised as a class
    return type("TimeBudgetExceeded", (TimeBudgetExceeded,), {"seconds": seconds, "__module__": __name__})


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return
    exc = _budget_class(seconds)

    def on_alarm(signum, frame):
        raise exc()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    outer, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        if outer:  # a timer of the caller's (a test runner's timeout): armed again for what was left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 1e-3), outer_interval)


@contextmanager
def _async_timer(seconds: float | None) -> Iterator[None]:
    if not seconds:
        yield
        return
    exc = _budget_class(seconds)
    target = ctypes.c_ulong(threading.get_ident())
    lock = threading.Lock()
    done = threading.Event()

    def watch() -> None:
        timeout = seconds
        while not done.wait(timeout):
            with lock:
                if not done.is_set():
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(exc))
            timeout = 1.0  # again, in case it was swallowed

    watcher = threading.Thread(target=watch, name="document-budget", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            done.set()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)  # one raised too late is dropped
        watcher.join()


def _address_space() -> int | None:
    """The process's virtual memory size in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def _memory_limit(memory_mb: int | None) -> Iterator[None]:
    try:
        import resource
    except ImportError:  # not on a Unix
        resource = None
    now = _address_space() if memory_mb and resource is not None and hasattr(resource, "RLIMIT_AS") else None
    if now is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = now + memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        yield  # a tighter limit is already set
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def die_with_parent(parent_pid: int) -> None:
    """Have this process killed when its parent dies (a pool worker's initializer).

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere a daemon thread that checks
    the parent every second. Exits at once when the parent is already gone."""
    if sys.platform.startswith("linux"):
        try:
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
            threading.Event().wait(1.0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
