"""Counted noun (item), category and rate denominator (per) of a quantity.

Reads: a quantity (view offsets), the repaired text, the lexicon. Writes: the
item as the text names it, a :class:`Category`, and ``per`` where the text gives
a rate (`每个乡镇10万元` → 每个乡镇; `38个行政村各1个` → 行政村).
"""
from __future__ import annotations

from functools import lru_cache

import regex

from .lexicon import Lexicon
from .model import Category, Quantity

_STOP_CHARS = "，。；：！？、,;:!?\n（）()【】“”\"《》—…·"
MAX_ITEM = 14


@lru_cache(maxsize=8)
def _stops(lex: Lexicon):
    after = tuple(sorted(lex.words["item_stops_after"], key=len, reverse=True))
    before = tuple(sorted(lex.words["item_stops_before"], key=len, reverse=True))
    return after, before


@lru_cache(maxsize=8)
def _keyword_index(lex: Lexicon) -> list[tuple[str, Category, int]]:
    """(keyword, category, rank) longest first: the longer keyword is the more specific."""
    rank = {c: i for i, c in enumerate(lex.category_order)}
    out = [(kw, cat, rank[cat]) for cat, kws in lex.category_keywords.items() for kw in kws]
    out.sort(key=lambda t: (-len(t[0]), t[2], t[0]))
    return out


def item_after(text: str, pos: int, lex: Lexicon) -> str:
    """The noun right after the measure word, up to punctuation or a function word."""
    after_stops, _ = _stops(lex)
    out = []
    i = pos
    while i < len(text) and len(out) < MAX_ITEM:
        ch = text[i]
        if ch in _STOP_CHARS or ch.isdigit():
            break
        if out and any(text.startswith(w, i) for w in after_stops):
            break
        if not out and any(text.startswith(w, i) for w in after_stops):
            return ""
        out.append(ch)
        i += 1
    return "".join(out)


def item_before(text: str, pos: int, lex: Lexicon) -> str:
    """The noun phrase right before the number, back to punctuation or a verb."""
    _, before_stops = _stops(lex)
    i = pos
    # skip the bound words and verbs that sit directly before the number
    changed = True
    while changed:
        changed = False
        for w in before_stops:
            if i - len(w) >= 0 and text.startswith(w, i - len(w)):
                i -= len(w)
                changed = True
                break
    end = i
    while i > 0 and end - i < MAX_ITEM:
        ch = text[i - 1]
        if ch in _STOP_CHARS or ch.isdigit():
            break
        if any(text.startswith(w, i - len(w)) for w in before_stops if i - len(w) >= 0 and end - i > 0):
            break
        i -= 1
    return text[i:end]


def find_item(q: Quantity, text: str, lex: Lexicon) -> str:
    after = item_after(text, q.end, lex)
    if len(after) >= 2 or (after and not item_before(text, q.start, lex)):
        return after
    before = item_before(text, q.start, lex)
    return before or after


def _clause(text: str, pos: int, radius: int = 30) -> tuple[int, int]:
    a = pos
    while a > 0 and pos - a < radius and text[a - 1] not in "。；！？\n":
        a -= 1
    b = pos
    while b < len(text) and b - pos < radius and text[b] not in "。；！？\n，,":
        b += 1
    return a, b


def categorise(q: Quantity, item: str, text: str, lex: Lexicon) -> Category:
    """Money and 例 decide by unit; else the longest keyword in the item; else the
    keyword nearest the number in its clause; else the unit's default; else other."""
    strong = lex.category_units.get(q.unit or "")
    if strong in (Category.funds, Category.cases):
        return strong
    hit = _best_keyword(item, lex)
    if hit is not None:
        return hit
    a, b = _clause(text, q.start)
    nearest = None
    for kw, cat, rank in _keyword_index(lex):
        for m in regex.finditer(regex.escape(kw), text[a:b]):
            s = a + m.start()
            dist = q.start - (s + len(kw)) if s < q.start else s - q.end
            key = (max(dist, 0), -len(kw), rank)
            if nearest is None or key < nearest[0]:
                nearest = (key, cat)
    if nearest is not None:
        return nearest[1]
    if strong is not None:
        return strong
    return _unit_default(q.unit)


def _best_keyword(item: str, lex: Lexicon) -> Category | None:
    if not item:
        return None
    for kw, cat, _ in _keyword_index(lex):
        if kw in item:
            return cat
    return None


def _unit_default(unit: str | None) -> Category:
    if unit in ("人", "人次"):
        return Category.personnel
    if unit in ("户",):
        return Category.population
    if unit in ("kg", "L"):
        return Category.supplies
    if unit in ("次", "场", "趟"):
        return Category.activity
    if unit in ("家", "处"):
        return Category.facility
    return Category.other


def find_per(q: Quantity, text: str, prev_item: str | None, lex: Lexicon) -> str | None:
    """`每个乡镇10万元` → 每个乡镇; `各1个` after `38个行政村` → 行政村."""
    a, _ = _clause(text, q.start, radius=16)
    before = text[a:q.start]
    if before.endswith("各") and prev_item:
        return prev_item
    m = regex.search(r"每[^，。；、\d]{1,8}$", before)
    if not m:
        return None
    chunk = m.group()
    _, before_stops = _stops(lex)
    cut = len(chunk)
    for w in before_stops + ("由", "都", "要", "只", "至少", "发放", "配备", "保留"):
        k = chunk.find(w, 1)
        if k != -1:
            cut = min(cut, k)
    per = chunk[:cut]
    return per if len(per) >= 2 else None
