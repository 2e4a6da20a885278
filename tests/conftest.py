"""Shared test helpers: table-driven cases from ``tests/cases`` and known failures.

A case file is data, not code. Adding a case means adding a line.

- ``<name>.tsv``: the first line is a header comment naming the columns,
  ``# text<TAB>value<TAB>bound<TAB>source``. The last column is always
  ``source``: where the case comes from (``spec`` for CLAIMS.md, ``own`` for a
  case written for the test, ``bug`` for a regression).
- ``<name>.txt``: one input a line (a negative corpus). ``#`` starts a comment.
- In both, ``\\n``, ``\\t``, ``\\r`` and ``\\uXXXX`` in a text column stand for the
  character (a case stays on one line).

Every case gets the id ``<file stem>:<first column as written>``, e.g.
``units:百分之九十五``. ``cases/xfail.tsv`` lists known failures as
``id<TAB>reason``; they are marked ``xfail(strict=True)``, so a fix that makes one
pass shows up as a failure until its line is removed. An id of the form
``test_module.py::test_function`` marks a whole (property) test instead.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).parent / "cases"
XFAIL_FILE = CASES / "xfail.tsv"
# The case files read through this loader (dates.tsv has its own, in test_dates.py).
TABLES: dict[str, tuple[str, ...]] = {
    "numerals.tsv": ("text", "value", "bound"),
    "units.tsv": ("text", "value", "unit", "bound"),
    "bounds.tsv": ("text", "quote", "value", "unit", "bound", "value_hi"),
    "mentions.tsv": ("text", "claims"),
    "repair.tsv": ("raw", "text"),
    "furniture.tsv": ("text", "rule", "published"),
    "categories.tsv": ("text", "quote", "category", "per"),
    "year_sources.tsv": ("text", "published", "default_year", "year_source"),
    "value_range.tsv": ("text", "value", "reason"),
    "facts.tsv": ("text", "claims", "totals"),
}
LINE_FILES = ("not_claims.txt",)


# ---------------------------------------------------------------- scored sets of documents


@dataclass(frozen=True)
class ScoredSet:
    """Documents with gold claims. ``docs`` is a folder (or file) of inputs."""

    name: str
    docs: Path
    manifest: Path | None
    gold: Path


# In the repository: the seeds with their gold, and our own test bulletins. These run everywhere.
IN_REPO_SETS = {
    "seeds": ScoredSet("seeds", ROOT / "seeds", None, ROOT / "tests" / "gold" / "seeds"),
    "bulletins": ScoredSet("bulletins", ROOT / "tests" / "bulletins" / "docs", ROOT / "tests" / "bulletins" / "manifest.csv",
                           ROOT / "tests" / "bulletins" / "gold"),
}
# Third-party texts, which stay out of the repository: in the shared folder, by set name -> folder.
SHARED_SETS = {"dev": "dev", "county_dev": "county-dev"}


def shared_dir() -> Path:
    """The shared folder: $BULLETIN_SHARED, else ``../shared`` beside the repository."""
    return Path(os.environ.get("BULLETIN_SHARED") or ROOT.parent / "shared")


def shared_set(name: str) -> ScoredSet:
    """A set from the shared folder; skips the test, naming the set, when it is not there."""
    folder = shared_dir() / SHARED_SETS[name]
    if not (folder / "gold").is_dir():
        where = "$BULLETIN_SHARED" if os.environ.get("BULLETIN_SHARED") else "../shared"
        pytest.skip(f"not run: {name} (no {where}/{SHARED_SETS[name]}; set BULLETIN_SHARED to the shared folder)")
    return ScoredSet(name, folder / "docs", folder / "manifest.csv", folder / "gold")


def scored_set(name: str) -> ScoredSet:
    return IN_REPO_SETS[name] if name in IN_REPO_SETS else shared_set(name)


def run_and_score(docs: Path, manifest: Path | None, gold: Path, scratch: Path):
    """Extract a folder of documents, write its claims.jsonl into ``scratch`` and score it
    against ``gold`` by the spec: (tables, score)."""
    from pipeline import api
    from pipeline.review.evaluate import gold_doc_ids, load_claims_jsonl, score
    from pipeline.tables import build_tables, claims_jsonl

    tables = build_tables(api.run([docs], manifest=manifest))
    pred = scratch / "claims.jsonl"
    pred.write_text(claims_jsonl(tables.claims), encoding="utf-8")
    return tables, score(load_claims_jsonl([gold]), load_claims_jsonl([pred]), docs=gold_doc_ids([gold]))


def unescape(s: str) -> str:
    """``\\n``, ``\\t``, ``\\uXXXX`` … as written in a case file → the characters."""
    if "\\" not in s:
        return s
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape")


class CaseFileError(Exception):
    """A case file is malformed (the message names file:line)."""


@lru_cache(maxsize=1)
def xfails() -> dict[str, str]:
    """Known failures: case id (or ``module.py::test``) → reason."""
    out: dict[str, str] = {}
    if not XFAIL_FILE.exists():
        return out
    for lineno, line in enumerate(XFAIL_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not cols[0] or not cols[1].strip():
            raise CaseFileError(f"xfail.tsv:{lineno}: expected id<TAB>reason")
        if cols[0] in out:
            raise CaseFileError(f"xfail.tsv:{lineno}: duplicate id {cols[0]!r}")
        out[cols[0]] = cols[1].strip()
    return out


def _marks(case_id: str) -> list:
    reason = xfails().get(case_id)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def read_table(name: str, columns: Sequence[str]) -> list[tuple[int, str, list[str]]]:
    """Rows of ``cases/<name>`` as (line number, case id, column values without source)."""
    path = CASES / name
    lines = path.read_text(encoding="utf-8").splitlines()
    want_header = "# " + "\t".join((*columns, "source"))
    if not lines or lines[0] != want_header:
        raise CaseFileError(f"{name}:1: header must be {want_header!r}")
    stem = path.stem
    rows: list[tuple[int, str, list[str]]] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != len(columns) + 1:
            raise CaseFileError(f"{name}:{lineno}: expected {len(columns) + 1} tab-separated columns, got {len(cols)}")
        if not cols[-1].strip():
            raise CaseFileError(f"{name}:{lineno}: empty source column")
        case_id = f"{stem}:{cols[0]}"
        if case_id in seen:
            raise CaseFileError(f"{name}:{lineno}: duplicate case {cols[0]!r} (first at line {seen[case_id]})")
        seen[case_id] = lineno
        rows.append((lineno, case_id, cols[:-1]))
    return rows


def load_cases(name: str) -> list:
    """``cases/<name>.tsv`` as ``pytest.param(col1, col2, …, id=<stem>:<col1>)``.

    Values are strings as written (the test parses them); the source column is
    dropped. Known failures from ``xfail.tsv`` get ``xfail(strict=True)``.
    """
    columns = TABLES[name]
    return [pytest.param(*cols, id=case_id, marks=_marks(case_id)) for _, case_id, cols in read_table(name, columns)]


def read_lines(name: str) -> list[tuple[int, str, str]]:
    """Non-comment lines of ``cases/<name>.txt`` as (line number, case id, text as written)."""
    path = CASES / name
    out = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        case_id = f"{path.stem}:{line}"
        if case_id in seen:
            raise CaseFileError(f"{name}:{lineno}: duplicate line (first at line {seen[case_id]})")
        seen[case_id] = lineno
        out.append((lineno, case_id, line))
    return out


def load_lines(name: str) -> list:
    """``cases/<name>.txt`` as ``pytest.param(text, id=<stem>:<line>)`` (text unescaped)."""
    return [pytest.param(unescape(line), id=case_id, marks=_marks(case_id)) for _, case_id, line in read_lines(name)]


def all_case_ids() -> set[str]:
    """Every id the loaders above hand out (to catch stale xfail lines)."""
    ids = {case_id for name, cols in TABLES.items() for _, case_id, _ in read_table(name, cols)}
    ids |= {case_id for name in LINE_FILES for _, case_id, _ in read_lines(name)}
    return ids


def quantity_claims(claims: Iterable) -> list:
    """The claims that are quantities (not dates), in text order."""
    return sorted((c for c in claims if c.iso is None), key=lambda c: (c.start, c.end))


def fmt_value(v: float | None) -> str:
    """A value as a case file writes it: ``1500000``, ``17.5``, ``66.666667``."""
    if v is None:
        return ""
    s = f"{float(v):.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def pytest_collection_modifyitems(config, items) -> None:
    """Apply ``module.py::test`` lines of xfail.tsv to whole tests."""
    known = {k: v for k, v in xfails().items() if "::" in k}
    if not known:
        return
    for item in items:
        key = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        if key in known:
            item.add_marker(pytest.mark.xfail(strict=True, reason=known[key]))


def claim_figures(s) -> dict[str, float]:
    """The claim-level figures a floor can hold, from an evaluate.Score."""
    return {
        "quantities_f1": s.groups["quantities"].f1,
        "dates_f1": s.groups["dates"].f1,
        "category": s.accuracy["category"].value or 0.0,
        "locality": s.accuracy["locality"].value or 0.0,
        "date": s.accuracy["date"].value or 0.0,
    }


def below_floors(got: dict[str, float], floors: dict) -> dict:
    """The figures under their floor (floors.json entries starting with _ are notes)."""
    return {k: (round(got[k], 4), v) for k, v in floors.items() if not k.startswith("_") and got[k] + 1e-9 < v}
