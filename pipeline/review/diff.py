"""Compare the claims of two pipeline output folders.

Reads: ``claims.jsonl`` in each folder (``claims.parquet`` when there is no
JSONL).  Writes: a :class:`ClaimDiff` keyed by (doc, start, end): claims
added, removed, and changed (which fields, old and new values), with counts
by category and by field.  Everything is sorted by (doc, start, end), so two
runs over the same folders print the same report.

Fact ids (``fact``, ``part_of``, ``replaced_by``) are numbered in text order, so
one new figure early in a document renumbers every later one. They are compared
by what they name: the span of the fact's first mention (``@120-124``), so a
claim shows a change only when the figure it belongs to, is a part of or is
replaced by has changed.
"""
from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from .evaluate import load_claims_jsonl
from ..model import InputError

Key = tuple  # (doc, start, end) or (doc, start, end, n) for the n-th claim on one span

FAIL_KINDS = ("any", "added", "removed", "changed")


# --------------------------------------------------------------------------
# Loading


def _plain(value: object) -> object:
    """numpy / pandas scalars and arrays as plain Python; NaN and NA as None."""
    if hasattr(value, "tolist"):  # numpy scalar or array
        value = value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if not isinstance(value, (list, dict)) and pd.isna(value):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return value


def _load_parquet(path: Path) -> list[dict]:
    import pandas as pd

    records = []
    for row in pd.read_parquet(path).to_dict(orient="records"):
        rec = {k: _plain(v) for k, v in row.items()}
        # The Parquet table keeps a date's ISO string in `iso` beside a null numeric
        # `value`; fold it back so both formats compare alike.
        if "iso" in rec:
            iso = rec.pop("iso")
            if rec.get("value") is None and iso is not None:
                rec["value"] = iso
        records.append(rec)
    return records


def load_output_claims(path: str | Path) -> list[dict]:
    """Claims of an output folder (claims.jsonl, else claims.parquet), or of a claims file."""
    path = Path(path)
    if path.is_file():
        return _load_parquet(path) if path.suffix == ".parquet" else load_claims_jsonl(path)
    if (path / "claims.jsonl").is_file():
        return load_claims_jsonl(path / "claims.jsonl")
    if (path / "claims.parquet").is_file():
        return _load_parquet(path / "claims.parquet")
    raise InputError(f"{path}: neither claims.jsonl nor claims.parquet found")


def _canonical(rec: Mapping) -> str:
    return json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str)


def key_claims(claims: Iterable[Mapping]) -> dict[Key, Mapping]:
    """Claims by (doc, start, end).  Should one span carry several claims, they are
    numbered in the order of their content (not file order, which may shift) as
    (doc, start, end, n) for n ≥ 1; the first keeps the plain key."""
    groups: dict[tuple, list[Mapping]] = defaultdict(list)
    for c in claims:
        groups[(c["doc"], c["start"], c["end"])].append(c)
    keyed: dict[Key, Mapping] = {}
    for base, recs in groups.items():
        for n, rec in enumerate(sorted(recs, key=_canonical)):
            keyed[base if n == 0 else base + (n,)] = rec
    return keyed


# --------------------------------------------------------------------------
# Comparing


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def field_equal(a: object, b: object) -> bool:
    """Equal, with floats within a tiny tolerance (15 == 15.0; float noise is not a change)."""
    if _is_number(a) and _is_number(b):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class ChangedClaim:
    key: Key
    old: Mapping
    new: Mapping
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.changes]


@dataclass
class ClaimDiff:
    added: list[Mapping] = field(default_factory=list)
    removed: list[Mapping] = field(default_factory=list)
    changed: list[ChangedClaim] = field(default_factory=list)
    unchanged: int = 0
    old_count: int = 0
    new_count: int = 0
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)  # cat -> added/removed/changed
    by_field: dict[str, int] = field(default_factory=dict)  # field -> changed claims

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)


def compare_claims(old: Mapping, new: Mapping, ignore: Iterable[str] = ()) -> tuple[FieldChange, ...]:
    """Fields that differ, over the keys either side has (a missing key counts as null)."""
    skip = set(ignore)
    changes = []
    for name in sorted(set(old) | set(new)):
        if name in skip:
            continue
        a, b = old.get(name), new.get(name)
        if not field_equal(a, b):
            changes.append(FieldChange(name, a, b))
    return tuple(changes)


def _category(rec: Mapping) -> str:
    return str(rec.get("category") or "(none)")


def _summarise(d: ClaimDiff) -> None:
    by_cat: dict[str, Counter] = defaultdict(Counter)
    for rec in d.added:
        by_cat[_category(rec)]["added"] += 1
    for rec in d.removed:
        by_cat[_category(rec)]["removed"] += 1
    fields: Counter = Counter()
    for ch in d.changed:
        # A claim whose category changed is counted under its new category.
        by_cat[_category(ch.new)]["changed"] += 1
        fields.update(ch.fields)
    d.by_category = {
        cat: {kind: by_cat[cat][kind] for kind in ("added", "removed", "changed")} for cat in sorted(by_cat)
    }
    d.by_field = dict(sorted(fields.items()))


FACT_REFS = ("fact", "part_of", "replaced_by")


def anchor_facts(claims: Iterable[Mapping]) -> list[Mapping]:
    """The claims with each fact id replaced by the span of that fact's first mention in its
    document (``f3`` → ``@120-124``); claims without fact fields are left as they are."""
    claims = list(claims)
    first: dict[tuple, tuple[int, int]] = {}
    for c in claims:
        f = c.get("fact")
        if f is not None:
            key = (c["doc"], f)
            span = (c["start"], c["end"])
            if key not in first or span < first[key]:
                first[key] = span
    if not first:
        return claims
    out = []
    for c in claims:
        if any(c.get(k) is not None for k in FACT_REFS):
            c = dict(c)
            for k in FACT_REFS:
                span = first.get((c["doc"], c.get(k)))
                if span is not None:
                    c[k] = f"@{span[0]}-{span[1]}"
        out.append(c)
    return out


def diff_claims(old: Iterable[Mapping], new: Iterable[Mapping], ignore: Iterable[str] = ()) -> ClaimDiff:
    """Added, removed and changed claims between two claim lists (fact ids compared by the
    first mention they name, see :func:`anchor_facts`)."""
    old_k, new_k = key_claims(anchor_facts(old)), key_claims(anchor_facts(new))
    d = ClaimDiff(old_count=len(old_k), new_count=len(new_k))
    for key in sorted(set(old_k) | set(new_k)):
        if key not in old_k:
            d.added.append(new_k[key])
        elif key not in new_k:
            d.removed.append(old_k[key])
        else:
            changes = compare_claims(old_k[key], new_k[key], ignore)
            if changes:
                d.changed.append(ChangedClaim(key, old_k[key], new_k[key], changes))
            else:
                d.unchanged += 1
    _summarise(d)
    return d


def diff_outputs(old_dir: str | Path, new_dir: str | Path, ignore: Iterable[str] = ()) -> ClaimDiff:
    """Diff the claims of two output folders (or claims files)."""
    return diff_claims(load_output_claims(old_dir), load_output_claims(new_dir), ignore)


# --------------------------------------------------------------------------
# Verdict


def parse_fail_on(text: str | Iterable[str] | None) -> set[str]:
    """'added,value' → {'added', 'value'}; 'none' (or empty) → never fail."""
    if text is None:
        return {"any"}
    parts = text.split(",") if isinstance(text, str) else list(text)
    kinds = {p.strip() for p in parts if p.strip()}
    return set() if kinds <= {"none"} else kinds - {"none"}


def should_fail(d: ClaimDiff, fail_on: Iterable[str] = ("any",)) -> bool:
    """True when the diff has something `fail_on` names: any, added, removed, changed,
    or a field name (a changed claim changed that field)."""
    kinds = set(fail_on)
    if "any" in kinds and not d.identical:
        return True
    if "added" in kinds and d.added:
        return True
    if "removed" in kinds and d.removed:
        return True
    if "changed" in kinds and d.changed:
        return True
    fields = kinds - set(FAIL_KINDS)
    return any(fields & set(ch.fields) for ch in d.changed)


# --------------------------------------------------------------------------
# Reports


def _ref(rec: Mapping) -> dict:
    return {k: rec.get(k) for k in ("doc", "start", "end", "quote", "category", "value", "unit")}


def diff_to_dict(d: ClaimDiff) -> dict:
    return {
        "identical": d.identical,
        "counts": {
            "old": d.old_count, "new": d.new_count, "added": len(d.added),
            "removed": len(d.removed), "changed": len(d.changed), "unchanged": d.unchanged,
        },
        "by_category": d.by_category,
        "by_field": d.by_field,
        "added": [_ref(r) for r in d.added],
        "removed": [_ref(r) for r in d.removed],
        "changed": [
            {**_ref(ch.new), "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in ch.changes]}
            for ch in d.changed
        ],
    }


def _show(v: object) -> str:
    if _is_number(v) and float(v).is_integer():
        v = int(v)
    return json.dumps(v, ensure_ascii=False, default=str)


def _claim_text(rec: Mapping) -> str:
    unit = f" {rec.get('unit')}" if rec.get("unit") else ""
    return (
        f"{rec.get('doc')} {rec.get('start')}-{rec.get('end')} {_show(rec.get('quote'))}"
        f" = {_show(rec.get('value'))}{unit} ({rec.get('category')})"
    )


def _changes_text(ch: ChangedClaim) -> str:
    return "; ".join(f"{c.field}: {_show(c.old)} → {_show(c.new)}" for c in ch.changes)


def _headline(d: ClaimDiff) -> str:
    if d.identical:
        return f"no differences ({d.old_count} claims)"
    return (
        f"{d.old_count} → {d.new_count} claims: {len(d.added)} added, {len(d.removed)} removed, "
        f"{len(d.changed)} changed, {d.unchanged} unchanged"
    )


def _format_text(d: ClaimDiff) -> str:
    lines = [_headline(d)]
    if d.identical:
        return lines[0] + "\n"
    lines.append("")
    lines.append(f"{'category':<14} {'added':>6} {'removed':>8} {'changed':>8}")
    for cat, n in d.by_category.items():
        lines.append(f"{cat:<14} {n['added']:>6} {n['removed']:>8} {n['changed']:>8}")
    if d.by_field:
        lines.append("")
        lines.append("changed fields: " + ", ".join(f"{f} {n}" for f, n in d.by_field.items()))
    for title, sign, recs in (("added", "+", d.added), ("removed", "-", d.removed)):
        if recs:
            lines.append("")
            lines.append(f"{title}:")
            lines += [f"  {sign} {_claim_text(r)}" for r in recs]
    if d.changed:
        lines.append("")
        lines.append("changed:")
        for ch in d.changed:
            lines.append(f"  ~ {_claim_text(ch.new)}")
            lines.append(f"      {_changes_text(ch)}")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format_markdown(d: ClaimDiff) -> str:
    lines = ["## Claims diff", "", _headline(d)]
    if d.identical:
        return "\n".join(lines) + "\n"
    lines += ["", "| category | added | removed | changed |", "|---|---:|---:|---:|"]
    for cat, n in d.by_category.items():
        lines.append(f"| {cat} | {n['added']} | {n['removed']} | {n['changed']} |")
    if d.by_field:
        lines += ["", "| changed field | claims |", "|---|---:|"]
        lines += [f"| {f} | {n} |" for f, n in d.by_field.items()]
    for title, sign, recs in (("Added", "+", d.added), ("Removed", "-", d.removed)):
        if recs:
            lines += ["", f"### {title} ({len(recs)})", ""]
            lines += [f"- `{sign}` {_md_cell(_claim_text(r))}" for r in recs]
    if d.changed:
        lines += ["", f"### Changed ({len(d.changed)})", ""]
        lines += [f"- {_md_cell(_claim_text(ch.new))}: {_md_cell(_changes_text(ch))}" for ch in d.changed]
    return "\n".join(lines) + "\n"


def format_diff(d: ClaimDiff, fmt: str = "text") -> str:
    """The diff as "text", "markdown" (for a PR comment) or "json" (diff_to_dict)."""
    if fmt == "json":
        return json.dumps(diff_to_dict(d), ensure_ascii=False, indent=2, default=str) + "\n"
    if fmt == "markdown":
        return _format_markdown(d)
    if fmt == "text":
        return _format_text(d)
    raise ValueError(f"unknown diff format {fmt!r}: use text, markdown or json")
