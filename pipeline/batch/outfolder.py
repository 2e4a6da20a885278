"""The output folder of ``bulletin extract``: runs switched in whole, one at a time, and
the only things the tool may replace or delete.

Layout (``OUT`` is ``-o``)::

    OUT/claims.parquet -> .bulletin/current/claims.parquet   one link per table name, made once
    OUT/.bulletin/manifest.json     the marker: the folder is the tool's; run id, generation, layout, names
    OUT/.bulletin/current -> gen-<id>
    OUT/.bulletin/gen-<id>/         one run: its tables, run.json (and state.json for --incremental)

Readers keep the plain paths (``OUT/claims.parquet``, ``OUT/claims/``,
``OUT/claims.jsonl``); the links lead them to the current generation.

* **Atomic.** A run writes its tables into ``.bulletin/staging-*``, renames that
  folder to ``gen-<id>`` and switches ``current`` with one ``rename`` of a new
  symlink over it. A reader that resolves ``current`` once (:func:`current_generation`,
  as :func:`pipeline.load` does) sees one whole run; a run that fails or is killed
  at any step leaves the previous run current and whole. The previous generation
  is removed only after the switch.
* **Only its own.** The tool deletes only inside ``.bulletin`` (a folder it made,
  recognised by its marker: staging folders, generations that are not current,
  its temporary files) and its own links in ``OUT`` (symlinks whose text is
  ``.bulletin/current/<name>``) of the layout it no longer writes. A file or
  folder of a name it would write that is not its link, a ``.bulletin`` without
  its marker, and an ``OUT`` that is or contains an input are errors naming the
  path, before anything is written.
* **One run at a time.** A run holds an exclusive ``flock`` on ``.bulletin`` (no
  lock file is left behind); a second run into the same folder fails at once.
* **Deterministic.** ``<id>`` is a hash of the generation's files, and the marker
  holds no time or process id: the same tables give the same folder, and a run
  whose tables equal the current ones leaves them in place (a committed output
  folder does not churn).

Leftovers of a killed run (staging folders, generations that did not become
current, temporary links) are removed when the next run starts. Durability
against power loss is the file system's: the files are not fsynced.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import signal
from pathlib import Path
from typing import Sequence

from ..model import InputError

TOOL = "bulletin-pipeline"
FORMAT = 1
HOME = ".bulletin"
MARKER = "manifest.json"
CURRENT = "current"
RUN_FILE = "run.json"
LAYOUT_NAMES = {
    "files": ("documents.parquet", "paragraphs.parquet", "claims.parquet", "rejections.parquet", "facts.parquet", "claims.jsonl"),
    "dataset": ("documents", "paragraphs", "claims", "rejections", "facts", "claims.jsonl"),
}
ALL_NAMES = tuple(sorted(set(LAYOUT_NAMES["files"]) | set(LAYOUT_NAMES["dataset"])))
# Test hook: the process kills itself (SIGKILL) just before the k-th step of a commit.
STOP_ENV = "BULLETIN_STOP_BEFORE_STEP"


class OutputError(InputError):
    """The output folder cannot be used as asked (the message names the path and why)."""


def link_text(name: str) -> str:
    """What the link ``OUT/<name>`` holds."""
    return f"{HOME}/{CURRENT}/{name}"


def is_own_link(path: Path, name: str) -> bool:
    try:
        return os.readlink(path) == link_text(name)
    except OSError:
        return False


def current_generation(out: Path | str) -> Path | None:
    """The generation ``OUT/.bulletin/current`` points at (``OUT/.bulletin/gen-<id>``), read
    once, so that every table read through it comes from one run; None when there is none."""
    home = Path(out) / HOME
    try:
        target = os.readlink(home / CURRENT)
    except OSError:
        return None
    if "/" in target or not target.startswith("gen-"):
        return None
    return home / target


def check_not_input(out: Path | str, inputs: Sequence[Path | str]) -> None:
    """Refuse an output folder that is one of the inputs or contains one (the tool would
    write among, and may later remove, what it reads)."""
    o = os.path.realpath(out)
    below = o if o.endswith(os.sep) else o + os.sep
    for arg in inputs:
        a = os.path.realpath(arg)
        if a == o or a.startswith(below):
            how = "is" if a == o else "contains"
            raise OutputError(f"{out}: the output folder {how} the input {arg}: choose another -o")


class OutputFolder:
    """``OUT`` while one run writes into it (see the module doc). Use as a context
    manager: entering checks the folder, takes the lock and removes a killed run's
    leftovers; exiting releases the lock."""

    def __init__(self, out: Path | str):
        self.out = Path(out)
        self.home = self.out / HOME
        self._lock: int | None = None
        self._steps = 0

    def __enter__(self) -> OutputFolder:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot create the output folder: {_reason(exc)}") from None
        if not self.out.is_dir():
            raise OutputError(f"{self.out}: not a folder")
        try:
            self._check_names()  # before anything is made in a folder that is not the tool's
            self._make_home()
            self._take_lock()
            self._check_names()
            self._clean()
        except OSError as exc:
            self.close()
            raise OutputError(f"{exc.filename or self.out}: cannot write the output folder: {_reason(exc)}") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock is not None:
            _LOCKS.discard(self._lock)
            os.close(self._lock)  # releases the flock
            self._lock = None

    def current(self) -> Path | None:
        return current_generation(self.out)

    def new_staging(self) -> Path:
        """An empty folder for a run's tables (created with the user's umask)."""
        path = self.home / f"staging-{os.getpid()}-{secrets.token_hex(4)}"
        path.mkdir()
        return path

    def discard(self, staging: Path) -> None:
        """Remove a staging folder that was not committed (a no-op after :meth:`commit`)."""
        if staging.parent == self.home and staging.name.startswith("staging-"):
            _remove_tree(staging)

    def commit(self, staging: Path, layout: str, run: str, digests: dict[str, bytes] | None = None) -> Path:
        """Make the tables in ``staging`` the current run; returns its generation folder.
        ``digests``: SHA-256 digests of files already hashed while they were written
        (relative path -> digest), which need not be read again."""
        names = LAYOUT_NAMES[layout]
        _write_json(staging / RUN_FILE, {"tool": TOOL, "format": FORMAT, "run_id": run, "layout": layout, "tables": list(names)})
        gen = "gen-" + tree_digest(staging, digests)
        previous = self.current()
        changed = previous is None or previous.name != gen
        if changed:
            target = self.home / gen
            if os.path.lexists(target):  # left by a killed run (the current one is never rebuilt)
                _remove_tree(target)
            self._step()
            os.rename(staging, target)
        self._step()
        for name in names:
            self._link(name)
        if changed:
            self._step()
            tmp = self.home / f"{CURRENT}.tmp-{os.getpid()}"
            if os.path.lexists(tmp):
                tmp.unlink()
            os.symlink(gen, tmp)
            os.replace(tmp, self.home / CURRENT)  # the switch: one rename
        self._step()
        self._write_marker({"generation": gen, "run_id": run, "layout": layout, "names": sorted(names)})
        self._step()
        for name in ALL_NAMES:
            if name not in names and is_own_link(self.out / name, name):
                (self.out / name).unlink()
        if changed and previous is not None:
            self._step()
            _remove_tree(previous)
        return self.home / gen

    # -- internals ------------------------------------------------------------

    def _step(self) -> None:
        self._steps += 1
        if os.environ.get(STOP_ENV) == str(self._steps):
            os.kill(os.getpid(), signal.SIGKILL)

    def _make_home(self) -> None:
        home = self.home
        if os.path.islink(home) or (os.path.lexists(home) and not home.is_dir()):
            raise OutputError(f"{home}: exists and is not bulletin extract's folder: move it away or choose another -o")
        if not home.is_dir():
            # Created whole (with its marker) by one rename, so that a .bulletin without
            # a marker is never the tool's.
            tmp = self.out / f"{HOME}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            tmp.mkdir()
            _write_json(tmp / MARKER, _marker({}))
            try:
                os.rename(tmp, home)
            except OSError as exc:
                _remove_tree(tmp)
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):  # else another run made it just now
                    raise
        if not _own_marker(home):
            raise OutputError(f"{home}: exists and was not written by bulletin extract (no marker of its own): move it away or choose another -o")

    def _take_lock(self) -> None:
        import fcntl

        fd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{self.out}: another bulletin extract is writing into this folder: wait for it to end, or choose another -o") from None
            raise
        self._lock = fd
        _LOCKS.add(fd)

    def _check_names(self) -> None:
        foreign = [n for n in ALL_NAMES if os.path.lexists(self.out / n) and not is_own_link(self.out / n, n)]
        if foreign:
            more = f" (and {', '.join(foreign[1:])})" if len(foreign) > 1 else ""
            raise OutputError(
                f"{self.out / foreign[0]}{more}: not written by bulletin extract as its output, so it is not replaced "
                "(tables of versions before the .bulletin folder are plain files): move it away or choose another -o"
            )

    def _clean(self) -> None:
        """A killed run's leftovers: all of them are the tool's (no other run holds the lock)."""
        current = self.current()
        for entry in os.scandir(self.home):
            name = entry.name
            if name.startswith("staging-") or (name.startswith("gen-") and (current is None or name != current.name)):
                _remove_tree(Path(entry.path))
            elif ".tmp-" in name and not entry.is_dir(follow_symlinks=False):
                os.unlink(entry.path)
        for entry in os.scandir(self.out):  # a .bulletin being created when its run was killed
            if entry.name.startswith(HOME + ".tmp-") and entry.is_dir(follow_symlinks=False) and _own_marker(Path(entry.path)):
                pid = entry.name[len(HOME) + 5:].split("-")[0]
                if pid.isdigit() and not _alive(int(pid)):
                    _remove_tree(Path(entry.path))

    def _link(self, name: str) -> None:
        link = self.out / name
        try:
            os.symlink(link_text(name), link)
        except FileExistsError:
            if not is_own_link(link, name):  # made since the check at the start
                raise OutputError(f"{link}: not written by bulletin extract as its output, so it is not replaced: move it away") from None

    def _write_marker(self, fields: dict) -> None:
        marker = _marker(fields)
        try:
            if json.loads((self.home / MARKER).read_text(encoding="utf-8")) == marker:
                return
        except (OSError, ValueError):
            pass
        tmp = self.home / f"{MARKER}.tmp-{os.getpid()}"
        _write_json(tmp, marker)
        os.replace(tmp, self.home / MARKER)


def _marker(fields: dict) -> dict:
    return {
        "tool": TOOL,
        "format": FORMAT,
        "about": "bulletin extract's own folder: it replaces and deletes only what this folder and the links to "
                 f"{HOME}/{CURRENT}/ hold",
        "generation": None, "run_id": None, "layout": None, "names": [],
        **fields,
    }


def _own_marker(folder: Path) -> bool:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("tool") == TOOL
    except (OSError, ValueError, AttributeError):
        return False


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def tree_digest(folder: Path, digests: dict[str, bytes] | None = None) -> str:
    """A hash of every file under ``folder``: relative paths and contents (the SHA-256 of
    each file, taken from ``digests`` where given)."""
    files = []
    for root, _, names in os.walk(folder):
        for n in names:
            path = os.path.join(root, n)
            files.append((os.path.relpath(path, folder).replace(os.sep, "/"), path))
    h = hashlib.sha256()
    for rel, path in sorted(files):
        digest = (digests or {}).get(rel)
        if digest is None:
            f_hash = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    f_hash.update(block)
            digest = f_hash.digest()
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + digest)
    return h.hexdigest()[:16]


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reason(exc: OSError) -> str:
    reasons = {
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a file of that name exists",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.ENAMETOOLONG: "path longer than the system allows",
    }
    return reasons.get(exc.errno, (exc.strerror or type(exc).__name__).lower())


# Lock descriptors of this process: a forked child (a pool worker) closes its copies, so
# that the lock ends with the run that took it, not with its last worker.
_LOCKS: set[int] = set()


def _close_locks_in_child() -> None:
    for fd in list(_LOCKS):
        try:
            os.close(fd)
        except OSError:
            pass
    _LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_locks_in_child)
