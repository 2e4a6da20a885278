"""Claims: quantities and dates turned into claim records with raw offsets.

Reads: the repaired view, paragraphs, date mentions, number candidates with
their exclusion verdicts, and one locality per claim. Writes: :class:`Claim`
records (raw offsets, sorted by start) and :class:`Rejection` records for the
numbers that did not become claims (for ``explain`` and the report).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace

import regex

from .categorise import best_keyword, categorise, find_item, find_per, item_after
from .dates import quantity_dates, sentence_date
from .exclude import quoted_spans, reject_reason, rule_hits
from .lexicon import Lexicon
from .mentions import Candidate, find_candidates, implied_unit
from .model import (
    Bound,
    Category,
    Claim,
    DateMention,
    FactLinks,
    LocalityPath,
    Paragraph,
    ParagraphKind,
    Quantity,
    Rejection,
    View,
    record,
)
from .segment import sentences


@record
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
    text = view.text
    i = text.find("，")
    while i != -1:
        r = view.raw[i]
        if raw[r] == "," and r + 1 < len(raw) and raw[r + 1] in " \t\r\n\u00a0":
            out.add(i)
        i = text.find("，", i + 1)
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
    headers = table_units(text, paras, lex)
    for cand in cands:
        if cand.quantity is None:  # (both leave a candidate with a quantity as it is)
            cand = implied_unit(cand, text, lex)
            cand = table_cell(cand, text, paras, headers)
        reason = reject_reason(cand, text, lex, hits, quoted)
        if reason is None and cand.quantity is None:
            reason = cand.reason or "no measure word"
        if reason is None and furniture and any(a <= cand.num_start < b for a, b in furniture):
            reason = "page_furniture"
        if reason is None:
            kept.append(cand.quantity)
        else:
            end = cand.quantity.end if cand.quantity else cand.num_end
            rejected.append(Rejection(cand.num_start, end, text[cand.num_start:end], reason))
    return kept, rejected


_TABLE_CELL = regex.compile(r"(?<=\S )\d+(?= |$)")
TABLE_CELL_RULE = "<table header unit><cell>"
TABLE_CAPTION = 60  # a line above a table this short is its caption (…（单位：例）)


def table_units(text: str, paras: list[Paragraph], lex: Lexicon) -> dict[int, tuple[str, str]]:
    """Paragraph index → (header text, unit) for flattened tables whose header names a unit."""
    pairs = [w.split(":", 1) for w in lex.words["table_header_units"]]
    out = {}
    for k, p in enumerate(paras):
        if " " not in p.text:
            continue  # a cell follows a space
        cells = list(_TABLE_CELL.finditer(p.text))
        if len(cells) < 3:
            continue
        header = p.text[: cells[0].start()]
        if k > 0 and len(paras[k - 1].text) <= TABLE_CAPTION:
            header = paras[k - 1].text + " " + header  # a caption line above the table: …（单位：例）
        for word, unit in pairs:
            if word in header:
                out[k] = (header.strip(), unit)
                break
    return out


def table_cell(cand: Candidate, text: str, paras: list[Paragraph], headers: dict[int, tuple[str, str]]) -> Candidate:
    """A bare integer cell of a flattened table counts in its header's unit (`浦东 2596` → 2596 例)."""
    if cand.quantity is not None or not headers or not cand.text.isdigit():
        return cand  # (no table header names a unit: most documents)
    k = _para_index([p.vstart for p in paras], cand.num_start)
    if k not in headers or not (text[cand.num_start - 1: cand.num_start] == " "):
        return cand
    _, unit = headers[k]
    q = Quantity(cand.num_start, cand.num_end, float(cand.text), None, unit, None, Bound.eq, TABLE_CELL_RULE, cand.num_start, cand.num_end)
    return replace(cand, quantity=q, reason=None)


def _para_index(starts: list[int], pos: int) -> int:
    """The paragraph holding ``pos``, given every paragraph's ``vstart`` (built once per document)."""
    return max(0, bisect_right(starts, pos) - 1)


def draft_claims(
    view: View, paras: list[Paragraph], quantities: list[Quantity], dates: list[DateMention], lex: Lexicon
) -> list[Draft]:
    """Item, category, per and sentence date for each quantity; a draft for each date."""
    text = view.text
    sents = sentences(text)
    sent_starts = [s for s, _ in sents]
    para_starts = [p.vstart for p in paras]
    dating = quantity_dates(dates, text)
    drafts: list[Draft] = []
    prev_item: str | None = None
    prev_sent = -1
    sentence_drafts: list[Draft] = []
    sentence_dating: list[DateMention] = []
    for q in quantities:
        k = max(0, bisect_right(sent_starts, q.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        if k != prev_sent:
            prev_item, prev_sent, sentence_drafts = None, k, []
            # the dates sentence_date would pick from, gathered once per sentence, not per quantity
            sentence_dating = [d for d in dating if s0 <= d.start and d.end <= s1]
        after = item_after(text, q.end, lex)  # the noun after it: both need it
        item = find_item(q, text, lex, after)
        per = find_per(q, text, prev_item, lex)
        total = breakdown_total(q, text, sentence_drafts, lex, after)
        kind = lex.units[q.unit_raw].kind if q.unit_raw in lex.units else None
        cat = categorise(q, item, text, lex, kind, total.category if total else None)
        date = sentence_date(sentence_dating, s0, s1, at=q.start)
        draft = Draft(q.start, q.end, cat, item, q.value, q.value_hi, None, q.unit, q.unit_raw, q.bound, per, date, q.rule, _para_index(para_starts, q.start))
        drafts.append(draft)
        sentence_drafts.append(draft)
        if item:
            prev_item = item
    drafts = share_list_heads(drafts, text, lex)
    for d in dates:
        k = max(0, bisect_right(sent_starts, d.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        event = text[d.end: min(s1, d.end + 20)].lstrip("，,：: ")
        drafts.append(Draft(d.start, d.end, Category.date, event, None, None, d.iso, None, None, Bound.eq, None, None, d.rule, _para_index(para_starts, d.start)))
    drafts.sort(key=lambda c: (c.start, c.end))
    return drafts


_COMMA = regex.compile(r"[，,]")


def breakdown_total(q: Quantity, text: str, earlier: list[Draft], lex: Lexicon, after: str | None = None) -> Draft | None:
    """`32个道路卡口，其中乡里设置1个，各村口设置28个`: the parts of a total named
    after 其中 count the same thing as the total when no noun follows them.

    The parts run on from 其中 clause by clause; a clause with no count of the
    same unit ends the breakdown. ``after``: :func:`item_after` at ``q.end``, when known."""
    if after is None:
        after = item_after(text, q.end, lex)
    if after:
        return None
    for i in range(len(earlier) - 1, -1, -1):
        d = earlier[i]
        k = text.find("其中", d.end, min(q.start, d.end + 12))
        if d.unit != q.unit or k == -1:
            continue
        ends = [e.end for e in earlier[i + 1:] if e.unit == q.unit] + [q.end]
        clause_start = k
        for m in _COMMA.finditer(text[k:q.start]):
            clause_end = k + m.start()
            if not any(clause_start <= e <= clause_end for e in ends):
                return None
            clause_start = clause_end
        return d
    return None


_LIST_JOINERS = "、和及与"
_NO_LINKS = FactLinks()


def share_list_heads(drafts: list[Draft], text: str, lex: Lexicon) -> list[Draft]:
    """In a list of counts that share one head noun (`3个卡口、1个劝导劝返和1个排查巡查
    共6个临时党支部`, `2处国家级9处省级文保单位`), the members whose own words name
    no category take the category of the list's head, the last member whose noun does."""
    out = list(drafts)
    i = 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and _chained(out[j], out[j + 1], text):
            j += 1
        if j > i:
            head = out[j]
            total = text[out[j - 1].end: head.start].endswith(("共", "合计", "总计"))
            for k in range(i, j):
                if total or not _item_names_category(out[k].item, lex):
                    out[k] = replace(out[k], category=head.category)
        i = j + 1
    return out


def _chained(a: Draft, b: Draft, text: str) -> bool:
    if a.unit != b.unit or a.unit_raw != b.unit_raw:
        return False
    between = text[a.end:b.start]
    if len(between) > 12 or any(c in between for c in "，。；：,;\n"):
        return False
    head_words = between.rstrip("共计合约近")
    return len(head_words) <= len(a.item) + 1 and (
        any(c in between for c in _LIST_JOINERS) or between.endswith(("共", "合计")) or between == a.item
    )


def _item_names_category(item: str, lex: Lexicon) -> bool:
    return best_keyword(item, lex) is not None


def finish_claims(doc_id: str, raw: str, view: View, paras: list[Paragraph], drafts: list[Draft], places: list[LocalityPath],
                  links: list[FactLinks] | None = None) -> list[Claim]:
    """Map drafts to raw offsets and attach their places and (``links``, from :mod:`pipeline.facts`) facts."""
    out = []
    for k, (d, place) in enumerate(zip(drafts, places)):
        f = links[k] if links is not None else _NO_LINKS
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
                fact=f.fact,
                part_of=f.part_of,
                replaced_by=f.replaced_by,
                aspect=f.aspect,
                measure=f.measure,
                origin=f.origin,
                is_headline=f.is_headline,
            )
        )
    return out
