"""Why a number did or did not become a claim, and how the claims relate.

Reads: one :class:`~pipeline.api.Extraction` (claims with their fields, the
rejected numbers with the exclusion rule that rejected each, and the facts).
Writes: one :class:`Verdict` per number of the text, in text order, grouped by
paragraph, each claim with its fact and links (part of, replaced by, aspect,
measure, origin), then the facts that have parts with their check, as plain
text or JSON (``bulletin explain FILE``).
The rejection reasons are the same ones ``rejections.parquet`` stores and the
review page (:mod:`pipeline.report`) shows.
"""
from __future__ import annotations

import json
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from ..model import Claim, DocumentMeta, Paragraph


@dataclass(frozen=True)
class Verdict:
    """One number in the text: a claim, or a rejection with its rule."""

    para_id: int | None
    start: int  # raw offsets
    end: int
    quote: str
    claim: Claim | None = None
    reason: str | None = None  # exclusion rule name when rejected

    @property
    def is_claim(self) -> bool:
        return self.claim is not None


def _para_of(paras: list[Paragraph], pos: int) -> int | None:
    starts = [p.start for p in paras]
    k = bisect_right(starts, pos) - 1
    if k < 0 or pos >= paras[k].end:
        return None
    return paras[k].para_id


def verdicts(ex, para: int | None = None) -> list[Verdict]:
    """Every claim and rejected number of an extraction, by raw start (optionally of one paragraph)."""
    out = [Verdict(c.para_id, c.start, c.end, c.quote, claim=c) for c in ex.claims]
    out += [Verdict(_para_of(ex.paragraphs, r.start), r.start, r.end, r.text, reason=r.reason) for r in ex.rejections]
    out.sort(key=lambda v: (v.start, v.end, not v.is_claim))
    if para is not None:
        out = [v for v in out if v.para_id == para]
    return out


def explain_file(path: str | Path, para: int | None = None, published: str | None = None, year: int | None = None):
    """Extract one file and return ``(extraction, verdicts)``."""
    from .. import api
    from ..ingest import read_document

    doc = read_document(Path(path), DocumentMeta(published=published, default_year=year))
    ex = api.extract_document(doc)
    return ex, verdicts(ex, para)


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def locality_path(c: Claim) -> str:
    p = c.place
    parts = [x for x in (p.province, p.city, p.county, p.township, p.village) if x]
    if not parts and p.locality:
        parts = [p.locality]
    return " › ".join(parts) if parts else "—"


def claim_summary(c: Claim) -> str:
    """`cases 30 个 (eq) · per — · locality 湖北省 › 武汉市 · date 2020-01-27 · rule <num><cases>`"""
    if c.category.value == "date":
        value = c.iso or ""
    else:
        value = _num(c.value) + (f"–{_num(c.value_hi)}" if c.value_hi is not None else "")
        value += f" {c.unit}" if c.unit else ""
        value += f" ({c.bound.value})"
    bits = [f"{c.category.value} {value}".rstrip()]
    if c.item:
        bits.append(f"item {c.item}")
    if c.per:
        bits.append(f"per {c.per}")
    bits.append(f"locality {locality_path(c)}")
    if c.date:
        bits.append(f"date {c.date}")
    bits.append(f"rule {c.rule}")
    if c.fact:
        bits.append(fact_links(c))
    return " · ".join(bits)


def fact_links(c: Claim) -> str:
    """`fact f3 part of f1 · new confirmed local · headline`"""
    link = f"fact {c.fact}"
    if c.part_of:
        link += f" part of {c.part_of}"
    if c.replaced_by:
        link += f" replaced by {c.replaced_by}"
    typed = " ".join(v for v in (c.aspect, c.measure, c.origin) if v)
    return " · ".join(x for x in (link, typed, "headline" if c.is_headline else "") if x)


def facts_summary(ex, para: int | None = None) -> list[str]:
    """The facts mentioned more than once or with parts: mentions, parts, and how the parts add up."""
    claims = [c for c in ex.claims if c.fact and (para is None or c.para_id == para)]
    shown = {c.fact for c in claims}
    parts: dict[str, list[Claim]] = {}
    for c in ex.claims:
        if c.part_of:
            parts.setdefault(c.part_of, []).append(c)
    lines = []
    for f in ex.facts:
        if f.fact_id not in shown or (f.n_mentions < 2 and not f.parts_status and not f.replaced_by):
            continue
        quotes = ", ".join(_show(c.quote) for c in ex.claims if c.fact == f.fact_id)
        line = f"  {f.fact_id} {_num(f.value)} {f.unit or ''} {f.category}: {f.n_mentions} mention(s) {quotes}"
        if f.parts_status:
            ps = " + ".join(_num(c.value) for c in parts.get(f.fact_id, []))
            flag = "  << MISMATCH" if f.parts_status == "mismatch" else ""
            line += f"; parts {ps} (sum {_num(f.parts_sum)}: {f.parts_status}){flag}"
        if f.part_of:
            line += f"; part of {f.part_of}"
        if f.replaced_by:
            line += f"; replaced by {f.replaced_by}"
        lines.append(line)
    return ["", "facts (mentioned more than once, with parts, or corrected)"] + lines if lines else []


def _show(quote: str) -> str:
    return json.dumps(quote, ensure_ascii=False)


def format_explanation(ex, found: list[Verdict], para: int | None = None) -> str:
    """Paragraph by paragraph: its text, then each number with CLAIM or `rejected: <rule>`."""
    d = ex.document
    if d.error:
        return f"{d.path}: cannot be read: {d.error}\n"
    n_claims = sum(v.is_claim for v in found)
    lines = [f"{d.path}: {len(found)} numbers, {n_claims} claims, {len(found) - n_claims} rejected"]
    by_para: dict[int | None, list[Verdict]] = {}
    for v in found:
        by_para.setdefault(v.para_id, []).append(v)
    paras = [p for p in ex.paragraphs if para is None or p.para_id == para]
    if para is not None and not paras:
        lines.append(f"no paragraph {para} (the document has {len(ex.paragraphs)}: 0–{len(ex.paragraphs) - 1})")
    for p in paras:
        rows = by_para.get(p.para_id, [])
        if not rows and para is None:
            continue
        lines += ["", f"¶{p.para_id} {p.kind.value} [{p.start}-{p.end}] {p.text}"]
        lines += _rows(rows)
    if None in by_para and para is None:
        lines += ["", "outside any paragraph"] + _rows(by_para[None])
    lines += facts_summary(ex, para)
    return "\n".join(lines) + "\n"


def display_width(s: str) -> int:
    """Terminal columns: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _rows(rows: list[Verdict]) -> list[str]:
    if not rows:
        return ["  (no numbers)"]
    width = max(display_width(_show(v.quote)) for v in rows)
    out = []
    for v in rows:
        shown = _show(v.quote)
        head = f"  {v.start:>6}-{v.end:<6} {shown}{' ' * (width - display_width(shown))}"
        out.append(f"{head}  CLAIM {claim_summary(v.claim)}" if v.is_claim else f"{head}  rejected: {v.reason}")
    return out


def verdict_dict(v: Verdict) -> dict:
    rec = {"para_id": v.para_id, "start": v.start, "end": v.end, "quote": v.quote,
           "verdict": "claim" if v.is_claim else "rejected", "reason": v.reason}
    if v.claim is not None:
        c, p = v.claim, v.claim.place
        rec.update({
            "category": c.category.value, "item": c.item, "value": c.value, "value_hi": c.value_hi, "iso": c.iso,
            "unit": c.unit, "bound": c.bound.value, "per": c.per, "locality": p.locality, "province": p.province,
            "city": p.city, "county": p.county, "township": p.township, "village": p.village,
            "date": c.date, "rule": c.rule, "fact": c.fact, "part_of": c.part_of, "replaced_by": c.replaced_by,
            "aspect": c.aspect, "measure": c.measure, "origin": c.origin, "is_headline": c.is_headline,
        })
    return rec
