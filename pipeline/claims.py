"""Claims: quantities and dates turned into claim records with raw offsets.

Reads: the repaired view, paragraphs, date mentions, number candidates with
their exclusion verdicts, and one locality per claim. Writes: :class:`Claim`
records (raw offsets, sorted by start) and :class:`Rejection` records for the
numbers that did not become claims (for ``explain`` and the report).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from .categorise import categorise, find_item, find_per
from .dates import sentence_date
from .exclude import quoted_spans, reject_reason, rule_hits
from .lexicon import Lexicon
from .mentions import Candidate, find_candidates, implied_unit
from .model import (
    Bound,
    Category,
    Claim,
    DateMention,
    LocalityPath,
    Paragraph,
    ParagraphKind,
    Quantity,
    Rejection,
    View,
)
from .segment import sentences


@dataclass(frozen=True)
class Draft:
    """A claim before locality: view offsets and everything the text says of it."""

    start: int
    end: int
    category: Category
    item: str
    value: float | None
    value_hi: float | None
    iso: str | None
    unit: str | None
    unit_raw: str | None
    bound: Bound
    per: str | None
    date: str | None
    rule: str
    para_index: int


def noise_commas(view: View, raw: str) -> frozenset[int]:
    """View positions of half-width commas followed by layout whitespace in the raw text."""
    out = set()
    for i, ch in enumerate(view.text):
        if ch == "，":
            r = view.raw[i]
            if raw[r] == "," and r + 1 < len(raw) and raw[r + 1] in " \t\r\n\u00a0":
                out.add(i)
    return frozenset(out)


def select_quantities(
    view: View, raw: str, paras: list[Paragraph], dates: list[DateMention], lex: Lexicon
) -> tuple[list[Quantity], list[Rejection]]:
    """Candidates minus the exclusions: the quantities, and the rejected numbers with reasons."""
    text = view.text
    cands = find_candidates(text, lex, [(d.start, d.end) for d in dates], noise_commas(view, raw))
    hits = rule_hits(text, lex)
    quoted = quoted_spans(text)
    furniture = [(p.vstart, p.vend) for p in paras if p.kind is ParagraphKind.furniture]
    kept: list[Quantity] = []
    rejected: list[Rejection] = []
    for cand in cands:
        cand = implied_unit(cand, text, lex)
        reason = reject_reason(cand, text, lex, hits, quoted)
        if reason is None and cand.quantity is None:
            reason = cand.reason or "no measure word"
        if reason is None and any(a <= cand.num_start < b for a, b in furniture):
            reason = "page_furniture"
        if reason is None:
            kept.append(cand.quantity)
        else:
            end = cand.quantity.end if cand.quantity else cand.num_end
            rejected.append(Rejection(cand.num_start, end, text[cand.num_start:end], reason))
    return kept, rejected


def _para_index(paras: list[Paragraph], pos: int) -> int:
    starts = [p.vstart for p in paras]
    return max(0, bisect_right(starts, pos) - 1)


def draft_claims(
    view: View, paras: list[Paragraph], quantities: list[Quantity], dates: list[DateMention], lex: Lexicon
) -> list[Draft]:
    """Item, category, per and sentence date for each quantity; a draft for each date."""
    text = view.text
    sents = sentences(text)
    sent_starts = [s for s, _ in sents]
    drafts: list[Draft] = []
    prev_item: str | None = None
    prev_sent = -1
    for q in quantities:
        k = max(0, bisect_right(sent_starts, q.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        if k != prev_sent:
            prev_item, prev_sent = None, k
        item = find_item(q, text, lex)
        per = find_per(q, text, prev_item, lex)
        cat = categorise(q, item, text, lex)
        date = sentence_date(dates, s0, s1)
        drafts.append(
            Draft(q.start, q.end, cat, item, q.value, q.value_hi, None, q.unit, q.unit_raw, q.bound, per, date, q.rule, _para_index(paras, q.start))
        )
        if item:
            prev_item = item
    for d in dates:
        k = max(0, bisect_right(sent_starts, d.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        event = text[d.end: min(s1, d.end + 20)].lstrip("，,：: ")
        drafts.append(Draft(d.start, d.end, Category.date, event, None, None, d.iso, None, None, Bound.eq, None, None, d.rule, _para_index(paras, d.start)))
    drafts.sort(key=lambda c: (c.start, c.end))
    return drafts


def finish_claims(doc_id: str, raw: str, view: View, paras: list[Paragraph], drafts: list[Draft], places: list[LocalityPath]) -> list[Claim]:
    """Map drafts to raw offsets and attach their places."""
    out = []
    for d, place in zip(drafts, places):
        start, end = view.raw_span(d.start, d.end)
        out.append(
            Claim(
                doc_id=doc_id,
                para_id=paras[d.para_index].para_id if paras else 0,
                start=start,
                end=end,
                quote=raw[start:end],
                category=d.category,
                item=d.item,
                value=d.value,
                value_hi=d.value_hi,
                iso=d.iso,
                unit=d.unit,
                unit_raw=d.unit_raw,
                bound=d.bound,
                per=d.per,
                place=place,
                date=d.date,
                rule=d.rule,
            )
        )
    return out


def candidates_for_explain(view: View, raw: str, lex: Lexicon, dates) -> list[Candidate]:
    return find_candidates(view.text, lex, [(d.start, d.end) for d in dates], noise_commas(view, raw))
