"""Progress of a run: a rich progress bar on a terminal, nothing elsewhere.

The bar shows documents done, characters per second and the time left (from
the input bytes still to read, which are known before the run starts). It is
drawn on stderr only when stderr is a terminal and the run is not ``--quiet``;
the summary line at the end is printed by the caller either way.
"""
from __future__ import annotations

import sys
import time


def human_rate(chars_per_s: float) -> str:
    if chars_per_s >= 1e6:
        return f"{chars_per_s / 1e6:.2f} M chars/s"
    if chars_per_s >= 1e3:
        return f"{chars_per_s / 1e3:.0f} k chars/s"
    return f"{chars_per_s:.0f} chars/s"


class RunProgress:
    """``advance`` after each finished chunk of documents; ``close`` at the end (also on errors)."""

    def __init__(self, total_docs: int, total_bytes: int, enabled: bool | None = None, quiet: bool = False):
        if enabled is None:
            enabled = not quiet and sys.stderr.isatty()
        self.total_docs = total_docs
        self.docs = 0
        self.chars = 0
        self.started = time.perf_counter()
        self._bar = None
        if enabled and total_docs:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]extract"),
                BarColumn(),
                TextColumn("{task.fields[docs]}/{task.fields[total_docs]} docs"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task("extract", total=max(total_bytes, 1), docs=0, total_docs=total_docs, rate="")
            self._bar.start()

    def advance(self, docs: int, chars: int, n_bytes: int) -> None:
        self.docs += docs
        self.chars += chars
        if self._bar is not None:
            self._bar.update(self._task, advance=n_bytes, docs=self.docs, rate=human_rate(self.rate))

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        return self.chars / max(self.seconds, 1e-9)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
