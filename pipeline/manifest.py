"""The manifest: a CSV that says, per input file, when it was published and where from.

Columns (header names are case-insensitive; unknown columns are ignored):

* ``path`` (required) -- the file, relative to the manifest's folder (or absolute);
* ``published`` -- ISO date ``YYYY-MM-DD``, may be empty;
* ``title``, ``url``, ``locality`` -- optional free text, may be empty;
* ``default_year`` -- optional year for dates written without one.

The file may be UTF-8 (with or without the BOM that Excel writes) or any other
encoding :func:`pipeline.ingest.decode_bytes` reads (GB18030 from a Chinese
Excel). Every problem raises :class:`InputError` naming ``file:line`` and the
reason.

A row belongs to the file its path names. A file no row names may take a row by
its file name only when that cannot lend one file's metadata to another (see
:meth:`Manifest.metas_for`): a row outside the manifest's folder, or one whose
file exists, never does.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from pathlib import Path
from typing import Sequence

from .model import DocumentMeta, InputError

_OPTIONAL_TEXT = ("title", "url", "locality")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Manifest:
    """Rows of a manifest keyed by normalised relative path, and the keys of the rows
    under the manifest's folder by file name (for the name fallback)."""

    folder: Path
    by_path: dict[str, DocumentMeta] = field(default_factory=dict)
    by_name: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # key -> (line, path as written): to name the rows that match no input
    rows: dict[str, tuple[int, str]] = field(default_factory=dict)

    def meta_for(self, file: Path | str) -> DocumentMeta:
        """The row for ``file`` alone (see :meth:`metas_for`)."""
        return self.metas_for([os.fspath(file)])[0]

    def metas_for(self, files: Sequence[str]) -> list[DocumentMeta]:
        """The row for each of a run's input files, in order; an empty DocumentMeta where none.

        A row matches the file its path names (relative to the manifest's folder, or
        absolute). A file that no row names may take a row by its file name, only when
        nothing is ambiguous and no other file's metadata is borrowed: the row's path is
        under the manifest's folder, no other row there and no other unmatched input has
        that name, no input matched the row by path, and the row's own path names no
        existing file (a row is the metadata of the file it names)."""
        return [self.by_path[k] if k is not None else DocumentMeta() for k in self.row_keys(files)]

    def row_keys(self, files: Sequence[str]) -> list[str | None]:
        """The key of the row each file matches (see :meth:`metas_for`), or None."""
        keys: list[str | None] = [_key(_relative(f, self._abs_folder)) for f in files]
        keys = [k if k in self.by_path else None for k in keys]
        if all(k is not None for k in keys):
            return keys
        matched = {k for k in keys if k is not None}
        unmatched = Counter(os.path.basename(f) for f, k in zip(files, keys) if k is None)
        for i, f in enumerate(files):
            if keys[i] is None:
                name = os.path.basename(f)
                keys[i] = self._key_by_name(name, matched) if unmatched[name] == 1 else None
        return keys

    def _key_by_name(self, name: str, matched: set[str]) -> str | None:
        keys = self.by_name.get(name, ())
        if len(keys) != 1 or keys[0] in matched or os.path.lexists(os.path.join(self._abs_folder, keys[0])):
            return None
        return keys[0]

    @cached_property
    def _abs_folder(self) -> str:
        # (string operations, not pathlib: this runs once per input file, and an archive has tens of thousands)
        return os.path.abspath(self.folder)

    def __len__(self) -> int:
        return len(self.by_path)

    def unmatched(self, files) -> list[str]:
        """The rows that none of ``files`` matches (by the rules of :meth:`metas_for`), as
        ``"line N: path"`` in file order: a misspelt path or a file missing from the inputs,
        whose metadata would otherwise be dropped without a word."""
        left = dict(self.rows)
        for key in self.row_keys([os.fspath(f) for f in files]):
            left.pop(key, None)
        return [f"line {line}: {written}" for line, written in sorted(left.values())]


def load_manifest(path: Path) -> Manifest:
    """Read a manifest CSV (see module doc); raises InputError on any problem."""
    path = Path(path)
    rows = _csv_rows(path)
    header = next(rows, None)
    if header is None:
        raise InputError(f"{path}: line 1: manifest is empty")
    columns = _columns(path, header[1])
    folder = path.parent
    abs_folder = os.path.abspath(folder)
    by_path: dict[str, DocumentMeta] = {}
    first_line: dict[str, int] = {}
    by_name: dict[str, list[str]] = {}
    written: dict[str, tuple[int, str]] = {}
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank lines, e.g. a trailing one
        where = f"{path}: line {line}"
        file, meta = _row(where, columns, cells)
        key = _key(_relative(_resolve(file, abs_folder), abs_folder))
        if key in by_path:
            raise InputError(f"{where}: duplicate path {file!r} (first on line {first_line[key]})")
        by_path[key], first_line[key], written[key] = meta, line, (line, file)
        if not os.path.isabs(key):  # under the manifest's folder: the name fallback may use it
            by_name.setdefault(key.rsplit("/", 1)[-1], []).append(key)
    return Manifest(folder, by_path, {k: tuple(v) for k, v in by_name.items()}, written)


def _csv_rows(path: Path):
    """(line number, cells) for each CSV record; line numbers are 1-based physical lines."""
    from .ingest import Unreadable, decode_bytes

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read manifest: {exc.strerror or exc}") from None
    try:
        text, _ = decode_bytes(raw)
    except Unreadable as exc:
        raise InputError(f"{path}: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: bad CSV: {exc}") from None


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name.strip().lower()
        if name in columns:
            raise InputError(f"{path}: line 1: column {name!r} appears twice")
        if name:
            columns[name] = i
    if "path" not in columns:
        found = ", ".join(repr(h) for h in header) or "none"
        raise InputError(f"{path}: line 1: missing required column 'path' (columns: {found})")
    return columns


def _row(where: str, columns: dict[str, int], cells: list[str]) -> tuple[str, DocumentMeta]:
    def cell(name: str) -> str | None:
        i = columns.get(name)
        value = cells[i].strip() if i is not None and i < len(cells) else ""
        return value or None

    file = cell("path")
    if file is None:
        raise InputError(f"{where}: empty path")
    meta = DocumentMeta(
        published=_iso_date(where, cell("published")),
        default_year=_year(where, cell("default_year")),
        **{name: cell(name) for name in _OPTIONAL_TEXT},
    )
    return file, meta


def _iso_date(where: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):  # fromisoformat also takes 20200203, 2020-W06-1
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"{where}: bad published date {value!r} (expected YYYY-MM-DD)") from None


def _year(where: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) == 4):
        raise InputError(f"{where}: bad default_year {value!r} (expected a 4-digit year)")
    return int(value)


def _resolve(file: str, folder: str) -> str:
    p = file.replace("\\", "/")  # manifests written on Windows
    return os.path.join(folder, p)  # (an absolute ``p`` stays as it is)


def _relative(file: str, abs_folder: str) -> str:
    """``file`` relative to the folder (given absolute) when inside it, else its absolute
    path (lexically, no symlinks)."""
    a, f = os.path.abspath(file), abs_folder
    if len(a) > len(f) + 1 and a.startswith(f + os.sep):  # below the folder (both normalised): what relpath returns
        rel = a[len(f) + 1:]
    else:
        rel = os.path.relpath(a, f)
    return a if rel.startswith("..") else rel


def _key(path: str) -> str:
    """The normalised relative path, with POSIX separators, that rows are keyed by."""
    return os.path.normpath(path).replace(os.sep, "/")
