"""Segmentation: paragraphs with a kind and an article, and sentences.

Reads: a :class:`View` (and the raw text, for site menus) and the page rules of
``data/page.yaml``. Writes: :class:`Paragraph` records (raw and view offsets),
sentence spans (view offsets) and the publication date a page prints in its
furniture (:func:`page_published`).
"""
from __future__ import annotations

import datetime as dt

import re

import regex

from .lexicon import PageRules, page_rules
from .model import Paragraph, ParagraphKind, View

# A headline in 【…】 or #…# is a sentence of its own, even inside a paragraph.
_SENTENCE_END = regex.compile(r"[。！？!?]+[”’」』\"]?|\n|(?<=(?:^|\n)【[^】\n]*)】")
_END_PUNCT = "。！？!?；;…，,、：:"
# A furniture rule marked `short` holds only for a paragraph of one clause: none of
# these before its last character.
_CLAUSE_MARKS = re.compile(r"[，。！？；,;!?]")  # (``re``: a class, searched in every paragraph)
# A site menu's raw line: items of Chinese characters separated by whitespace.
_MENU_ITEM = regex.compile(r"\S+")
_MENU_MAX = 80  # repaired characters
_HAN_ONLY = regex.compile(r"\p{Han}+")
# Repaired table rows (ingest writes an HTML table's rows as `| a | b |`).
_TABLE_ROW = regex.compile(r"^\|.*\|$")
_DATA_CELL = regex.compile(r"^\s*(?:\d|$)")  # a table cell of a number or a date is data, never furniture


def furniture_rule(text: str, rules: PageRules | None = None) -> str | None:
    """The name of the page-furniture rule (data/page.yaml) that one repaired paragraph
    matches, or None for a paragraph of the article."""
    rules = rules or page_rules()
    t = text.strip()
    one_clause = _CLAUSE_MARKS.search(t, 0, max(0, len(t) - 1)) is None
    if not (
        (rules.furniture_anchored is not None and rules.furniture_anchored.match(t))
        or (rules.furniture_free is not None and rules.furniture_free.search(t))
        or (one_clause and rules.furniture_short is not None and rules.furniture_short.search(t))
    ):
        return None  # (most paragraphs: one search each way tells)
    for rule in rules.furniture:
        if rule.short and not one_clause:
            continue
        if rule.pattern.search(t):
            return rule.name
    return None


def is_menu(raw_line: str, rules: PageRules | None = None) -> bool:
    """A site menu (`资讯 时政 热点 问政 公告`): enough short items of Chinese characters
    separated by whitespace and nothing else. Only the raw line shows the gaps."""
    rules = rules or page_rules()
    min_items, min_chars, max_chars = rules.menu
    if raw_line.count(" ") + raw_line.count("\u3000") + raw_line.count("\t") < min_items - 1:
        return False  # (most lines: too few gaps for a menu)
    items = _MENU_ITEM.findall(raw_line)
    return len(items) >= min_items and all(
        min_chars <= len(w) <= max_chars and _HAN_ONLY.fullmatch(w) for w in items
    )


def classify(text: str, width: float = 40.0, raw: str | None = None) -> ParagraphKind:
    """The kind of one repaired paragraph (``raw``: its raw text, for site menus)."""
    rules = page_rules()
    t = text.strip()
    if _TABLE_ROW.match(t):  # a row of an HTML table: furniture if a cell of words is
        cells = (c for c in t[1:-1].split("|") if not _DATA_CELL.match(c))
        return ParagraphKind.furniture if any(furniture_rule(c, rules) for c in cells) else ParagraphKind.body
    if furniture_rule(t, rules) is not None or (raw is not None and len(t) <= _MENU_MAX and is_menu(raw, rules)):
        return ParagraphKind.furniture
    if rules.byline.search(t) and len(t) <= 24:
        return ParagraphKind.byline
    if rules.caption.search(t):
        return ParagraphKind.caption
    if rules.headline_marks.match(t) and len(t) <= 80 and not rules.article_lead.match(t[1:] if t.startswith("【") else "~"):
        return ParagraphKind.headline
    stripped = t.rstrip("”’\"」』）)")
    if len(t) <= max(40, int(width)) and stripped and stripped[-1] not in _END_PUNCT and "。" not in t:
        return ParagraphKind.headline
    return ParagraphKind.body


def paragraphs(doc_id: str, view: View, raw: str | None = None) -> list[Paragraph]:
    """Split the view at its paragraph breaks; give each paragraph a kind and an article
    (``raw``: the document's raw text, which shows the gaps of a site menu).

    A new article starts at a headline that follows a non-headline paragraph, at
    an article lead (本报讯, 新华社…) not directly under a headline, and after a
    byline that closes an article.
    """
    out: list[Paragraph] = []
    text = view.text
    lead = page_rules().article_lead
    article = 0
    prev_kind: ParagraphKind | None = None
    pos = 0
    para_id = 0
    for chunk in text.split("\n"):
        vstart, vend = pos, pos + len(chunk)
        pos = vend + 1
        if not chunk.strip():
            continue
        start, end = view.raw_span(vstart, vend)
        # (only a short line can be a site menu: the raw slice is taken for those alone)
        kind = classify(chunk, raw=raw[start:end] if raw is not None and vend - vstart <= _MENU_MAX else None)
        if prev_kind is not None:
            if kind is ParagraphKind.headline and prev_kind not in (ParagraphKind.headline, ParagraphKind.furniture):
                article += 1
            elif kind is ParagraphKind.body and lead.match(chunk) and prev_kind is not ParagraphKind.headline:
                article += 1
            elif prev_kind is ParagraphKind.byline and kind is not ParagraphKind.byline:
                article += 1
        out.append(Paragraph(doc_id, para_id, article, kind, start, end, vstart, vend, chunk))
        para_id += 1
        if kind is not ParagraphKind.furniture:
            prev_kind = kind
    return out


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (up to and including 。！？ or a paragraph break) within [start, end)."""
    end = len(text) if end is None else end
    spans = []
    s = start
    for m in _SENTENCE_END.finditer(text, start, end):
        e = m.end()
        if text[e - 1] == "\n":
            e -= 1
        if e > s:
            spans.append((s, e))
        s = m.end()
    if s < end:
        spans.append((s, end))
    return spans


def page_published(paras: list[Paragraph], rules: PageRules | None = None) -> str | None:
    """The publication date a page prints in its furniture (`发布时间：2020-02-20 16:34`,
    `2020-02-10 17:53:27 来源：…`), as an ISO date, or None.

    A labelled date in any furniture paragraph wins (the first in text order); else a
    date that opens a furniture paragraph above the article's first sentence."""
    rules = rules or page_rules()
    furniture = [p for p in paras if p.kind is ParagraphKind.furniture]
    for p in furniture:
        found = sorted((m.start(), _iso(m)) for pattern in rules.published_labelled for m in pattern.finditer(p.text))
        iso = next((iso for _, iso in found if iso), None)
        if iso:
            return iso
    # the article starts at its first sentence (a headline printed twice is no body yet)
    first_body = next((p.para_id for p in paras if p.kind is ParagraphKind.body and "。" in p.text), None)
    for p in furniture:
        if first_body is not None and p.para_id > first_body:
            break
        for pattern in rules.published_leading:
            m = pattern.match(p.text.strip())
            iso = _iso(m) if m else None
            if iso:
                return iso
    return None


def _iso(m) -> str | None:
    try:
        return dt.date(int(m.group("y")), int(m.group("m")), int(m.group("d"))).isoformat()
    except ValueError:  # 2020-13-45 is not a date
        return None
