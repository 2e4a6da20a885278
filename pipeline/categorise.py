"""Counted noun (item), category and rate denominator (per) of a quantity.

Reads: a quantity (view offsets), the repaired text, the lexicon. Writes: the
item as the text names it, a :class:`Category`, and ``per`` where the text gives
a rate (`每个乡镇10万元` → 每个乡镇; `38个行政村各1个` → 行政村).
"""
from __future__ import annotations

import re
from functools import lru_cache

import regex

from .lexicon import Lexicon
from .model import Category, Quantity

_STOP_CHARS = "，。；：！？、,;:!?\n（）()【】“”\"《》—…· "
MAX_ITEM = 14


@lru_cache(maxsize=8)
def _stops(lex: Lexicon):
    after = tuple(sorted(lex.words["item_stops_after"], key=len, reverse=True))
    before = tuple(sorted(lex.words["item_stops_before"], key=len, reverse=True))
    return after, before


@lru_cache(maxsize=8)
def _verbs_after(lex: Lexicon):
    return tuple(sorted(lex.words["item_verbs_after"], key=len, reverse=True))


# Which categories a measure word can belong to: people are never checkpoints,
# money is always funds. Kinds not listed allow every category.
_ALLOWED_BY_KIND = {
    "people": {Category.personnel, Category.population, Category.cases, Category.activity},
    # 个, 处, 份… count things: groups, places, goods; people are counted with 名/人/位
    "count": set(Category) - {Category.personnel, Category.population},
    # kilograms and litres are goods
    "mass": {Category.supplies, Category.masks, Category.other},
    "volume": {Category.supplies, Category.masks, Category.other},
    "money": {Category.funds},
    "cases": {Category.cases},
}



@lru_cache(maxsize=32)
def _by_length(words: tuple[str, ...]) -> tuple[tuple[int, frozenset[str]], ...]:
    """``words`` grouped by length, longest first: ``text[i - n:i] in group`` replaces
    trying every word with ``startswith`` (the longest match is the first one tried)."""
    lengths = sorted({len(w) for w in words}, reverse=True)
    return tuple((n, frozenset(w for w in words if len(w) == n)) for n in lengths)


def _ends_with(text: str, i: int, groups) -> int:
    """Length of the longest word ending at ``i``, or -1."""
    for n, ws in groups:
        if i - n >= 0 and text[i - n:i] in ws:
            return n
    return -1


@lru_cache(maxsize=8)
def _keyword_automaton(lex: Lexicon):
    """Aho-Corasick automaton: keyword -> its positions in :func:`_keyword_index`."""
    import ahocorasick

    auto = ahocorasick.Automaton()
    positions: dict[str, list[int]] = {}
    for k, (kw, _, _) in enumerate(_keyword_index(lex)):
        positions.setdefault(kw, []).append(k)
    for kw, ks in positions.items():
        auto.add_word(kw, tuple(ks))
    auto.make_automaton()
    return auto


def _keywords_in(text: str, lex: Lexicon) -> list[int]:
    """Positions in :func:`_keyword_index` of the keywords that occur in ``text``, in index order."""
    if not text:
        return []
    found: set[int] = set()
    for _, ks in _keyword_automaton(lex).iter(text):
        found.update(ks)
    return sorted(found)


@lru_cache(maxsize=8)
def _keyword_index(lex: Lexicon) -> list[tuple[str, Category, int]]:
    """(keyword, category, rank) longest first: the longer keyword is the more specific."""
    rank = {c: i for i, c in enumerate(lex.category_order)}
    out = [(kw, cat, rank[cat]) for cat, kws in lex.category_keywords.items() for kw in kws]
    out.sort(key=lambda t: (-len(t[0]), t[2], t[0]))
    return out


@lru_cache(maxsize=8)
def _item_bounds(lex: Lexicon):
    """Compiled searches for where an item ends (see :func:`item_after`, :func:`item_before`),
    and the longest word they look for: one regex call instead of trying every word
    length at every character."""
    after_stops, before_stops = _stops(lex)
    after_stop = regex.compile(_alternation(after_stops))
    # a stop word, or a verb followed by a Han character, starting at a position
    after_end = regex.compile(f"{_alternation(after_stops)}|(?:{_alternation(_verbs_after(lex))})(?=[\u4e00-\u9fff])")
    # searched in reverse: the stop word that ends last
    before_end = regex.compile(f"(?r){_alternation(before_stops)}")
    longest = max((len(w) for w in (*after_stops, *before_stops, *_verbs_after(lex))), default=1)
    return after_stop, after_end, before_end, longest


def _alternation(words) -> str:
    """A regex of any of ``words``; one that never matches when there are none."""
    return "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True)) or "(?!)"


def item_after(text: str, pos: int, lex: Lexicon) -> str:
    """The noun right after the measure word, up to punctuation or a function word."""
    after_stop, after_end, _, longest = _item_bounds(lex)
    cap = min(len(text), pos + MAX_ITEM)
    i = pos
    while i < cap and text[i] not in _STOP_CHARS and not text[i].isdigit():
        i += 1
    if i == pos or after_stop.match(text, pos):
        return ""
    # a stop word or verb after the first character ends the item earlier
    m = after_end.search(text, pos + 1, i + longest + 1)
    return text[pos:m.start() if m and m.start() < i else i]


def item_before(text: str, pos: int, lex: Lexicon) -> str:
    """The noun phrase right before the number, back to punctuation or a verb."""
    _, before_stops = _stops(lex)
    stops = _by_length(before_stops)
    i = pos
    # skip the bound words and verbs that sit directly before the number
    while True:
        n = _ends_with(text, i, stops)
        if n == -1:
            break
        i -= n
    end = i
    lo = max(0, end - MAX_ITEM)
    while i > lo and text[i - 1] not in _STOP_CHARS and not text[i - 1].isdigit():
        i -= 1
    # a stop word ending inside the item (not at its end) starts it later
    _, _, before_end, longest = _item_bounds(lex)
    m = before_end.search(text, max(0, i + 1 - longest), end - 1) if end - 1 > i else None
    return text[max(i, m.end()) if m else i:end]


def find_item(q: Quantity, text: str, lex: Lexicon, after: str | None = None) -> str:
    """``after``: :func:`item_after` at ``q.end``, when the caller has it already."""
    if after is None:
        after = item_after(text, q.end, lex)
    if len(after) >= 2:
        return after
    return item_before(text, q.start, lex) or after


_CLAUSE_START = regex.compile("(?r)[。；！？\n]")  # searched backwards: the last one
_CLAUSE_END = regex.compile("[。；！？\n，,]")


def _clause(text: str, pos: int, radius: int = 30) -> tuple[int, int]:
    """[a, b) around ``pos``: back to a sentence end, on to a sentence end or comma, at
    most ``radius`` characters each way (a regex search each way, not a loop per character)."""
    lo = max(0, pos - radius)
    m = _CLAUSE_START.search(text, lo, pos) if lo < pos else None
    a = m.end() if m else lo
    hi = min(len(text), pos + radius)
    m = _CLAUSE_END.search(text, pos, hi) if pos < hi else None
    return a, (m.start() if m else max(hi, pos))


def categorise(q: Quantity, item: str, text: str, lex: Lexicon, unit_kind: str | None = None, parent: Category | None = None) -> Category:
    """Money, 例 and event counts decide by unit; a breakdown (其中…) takes its total's
    category; else the longest keyword in the item; else the keyword nearest the
    number in its clause; else the unit's default. Keywords of categories the
    measure word cannot have (people are never checkpoints) are ignored."""
    decisive = lex.decisive_units.get(q.unit_raw or "") or lex.decisive_units.get(q.unit or "")
    if decisive is not None:
        return decisive
    strong = lex.category_units.get(q.unit or "")
    if parent is not None:
        return parent
    allowed = _ALLOWED_BY_KIND.get(unit_kind or "")
    hit = best_keyword(item, lex, allowed)
    if hit is not None:
        return hit
    a, b = _clause(text, q.start)
    nearest = None
    clause = text[a:b]
    index = _keyword_index(lex)
    for k in _keywords_in(clause, lex):  # index order, as a scan of the whole index
        kw, cat, rank = index[k]
        if allowed is not None and cat not in allowed:
            continue
        j = clause.find(kw)
        while j != -1:  # non-overlapping occurrences, left to right
            s = a + j
            dist = q.start - (s + len(kw)) if s < q.start else s - q.end
            key = (max(dist, 0), -len(kw), rank)
            if nearest is None or key < nearest[0]:
                nearest = (key, cat)
            j = clause.find(kw, j + len(kw))
    if nearest is not None:
        return nearest[1]
    if strong is not None:
        return strong
    default = lex.default_units
    return default.get(q.unit_raw or "") or default.get(q.unit or "") or Category.other


def best_keyword(item: str, lex: Lexicon, allowed=None) -> Category | None:
    if not item:
        return None
    index = _keyword_index(lex)
    for k in _keywords_in(item, lex):
        cat = index[k][1]
        if allowed is None or cat in allowed:
            return cat
    return None


@lru_cache(maxsize=8)
def _per_markers(lex: Lexicon):
    """Compiled once per lexicon (find_per runs for every claim): a search for a word
    that opens a rate phrase (with ``re``: a call costs half that of ``regex`` and
    as much as slicing the text), the rate phrase (an opener, then up to 8
    characters of one clause) ending where the number starts, and the words of `各1个`."""
    openers = _alternation(lex.words["per_openers"])
    return re.compile(openers), regex.compile(f"({openers})[^，。；、\\d]{{1,8}}$"), lex.words["per_each"]


def find_per(q: Quantity, text: str, prev_item: str | None, lex: Lexicon) -> str | None:
    """`每个乡镇10万元` → 每个乡镇; `各1个` after `38个行政村` → 行政村."""
    opener, phrase, each = _per_markers(lex)
    reach = 16
    if not (prev_item and text.endswith(each, 0, q.start)) and not opener.search(text, max(0, q.start - reach), q.start):
        return None  # (most quantities) neither marker is in reach, so not in the clause before it either
    a, _ = _clause(text, q.start, radius=reach)
    before = text[a:q.start]
    if before.endswith(each) and prev_item:
        return prev_item
    m = phrase.search(before)
    if not m:
        return None
    chunk = m.group()
    _, before_stops = _stops(lex)
    cut = len(chunk)
    start = len(m.group(1))  # a stop word after the opener
    for w in before_stops + lex.words["per_stops"]:
        k = chunk.find(w, start)
        if k != -1:
            cut = min(cut, k)
    per = chunk[:cut]
    return per if len(per) >= 2 else None
