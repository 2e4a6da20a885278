"""Facts: how the figures of one document relate (CLAIMS.md "Facts").

Reads: one document's drafts after places and dates (view offsets), their
places, the paragraphs and the repaired text, and the signal words of
``data/facts.yaml``. Writes: a :class:`~pipeline.model.FactLinks` per draft
(the same-figure group ``fact``, ``part_of``, ``replaced_by``, ``aspect``,
``measure``, ``origin``, ``is_headline``; all None for dates) and one
:class:`~pipeline.model.Fact` per figure, with its parts checked against it.

How, in order (each step reads only what the ones before wrote):

1. *Words.* One Aho-Corasick pass over the text finds the signal words; each
   mention's own words are those in its clause before the number (back to a
   list joiner or the previous figure) and in the noun right after it, plus a
   parenthesis right after it (``3例（境外输入）``), which stays its own.
2. *Parts.* A total and its breakdown: figures inside a parenthesis right
   after a total; figures after an opener (其中, 包括, 含: open; 分别为:
   closed) up to the end of its sentence, clause by clause; a list joined by
   、/和 right before a total marked 共/合计 (or ending the sentence before
   it); a run of figures right after a total, in its sentence or the next,
   that adds up to it exactly (a status list). A rate (``per``) is never a
   part or a total; a part's measure must fit its total's (``part_measures``).
3. *Corrections.* A figure followed by a correction word and another figure
   of its unit (由411例订正为631例) is replaced by it.
4. *Aspect, measure, origin.* A mention's own word; else the nearest word
   before it in its sentence (aspect: up to a ；) that is not a part's own
   word; else, for a part, its total's; origin then carries on through the
   paragraph from figures that are not parts (contacts take only their own).
   A cases count with no measure word takes its measure word's
   (``measure_by_unit``: 例 → confirmed), else ``other``.
5. *Facts.* Mentions join the earliest fact all of whose mentions they agree
   with: same category, unit, value (or a rounded restatement: 超120万 for
   1205768), place, measure; no conflicting date, aspect or origin; the same
   counted noun (first character after the measure word) unless people or
   cases are counted; not in one list; not a part or a correction of each
   other. Ids are ``f1``, ``f2``… in text order of each fact's first mention.
6. *Checks.* Each breakdown's parts are summed: equal to the total is
   ``complete``; more, or less in a closed list, is ``mismatch``; less in an
   open breakdown (or one with a remainder word, 其余) is ``partial``. The
   numbers are kept as the text gives them, never corrected.

Work is per mention over bounded windows, and sorting: O(n log n) in the
number of claims plus one pass over the text.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache

import re

from .claims import TABLE_CAPTION, TABLE_CELL_RULE, table_runs
from .lexicon import FactWords, Lexicon, load_facts
from .model import Bound, Category, Fact, FactLinks, LocalityPath, Paragraph, ParagraphKind, View

NO_LINKS = FactLinks()
_CASES, _DATE = Category.cases, Category.date  # (an Enum member looked up on its class costs ten times a global)
_FACT_IDS = tuple("f%d" % k for k in range(1, 4097))  # f1, f2…: a document's fact ids, made once
_new = tuple.__new__  # a named tuple from a tuple of its fields, without its Python-level __new__
WINDOW = 24  # how far a mention's own words reach before and after it
PEOPLE_UNITS = frozenset({"人"})
# Bounds that keep the stage linear in a document's figures whatever the text (a sentence of
# thousands of equal counts, thousands of 其中 in a row), far above what a bulletin writes:
MAX_RUN = 100  # figures one breakdown, list or status list reads after (or before) its total
MAX_TOTALS = 4  # figures side by side that one 其中 may break down (走访860户2400人，其中…)
MAX_DEPTH = 4  # how deep parts nest (a part of a part of a part …)
MAX_COMPARISONS = 16  # earlier mentions a figure is compared with before it counts as a new fact
# Character classes are searched with ``re`` (a call costs a fraction of one to ``regex``); a
# search backwards is a search of the reversed stretch, with the pattern's words written
# reversed (以及 → 及以).
_CLAUSE_CHARS = "，,；;。！？!?\n、：:（()）【】#"
_CLAUSE = re.compile("[" + re.escape(_CLAUSE_CHARS) + "]")
_LIST_BREAK = re.compile(r"[，,；;。！？!?\n：:]")  # what a list of figures may not contain
_SENTENCE_BREAK = re.compile(r"[；;。！？!?\n]")
_JOINED = re.compile(r"以及|[和及与、]")
_JOINED_REVERSED = re.compile(r"及以|[和及与、]")
_HEAD_MARKS = re.compile(r"(?:【[^】\n]{1,80}】|#[^#\n]{1,60}#)+")
_NOUN_STOPS = frozenset("的和及与等、在已为是将均共各每其余")
_OPEN_PAREN = "（("
_CLOSE_PAREN = "）)"
KINDS = ("aspect", "measure", "measure_else", "origin", "open", "closed", "remainder", "total", "correction")


_NO_HITS: tuple = ((), ())
# A signal word found in the text: (start, end, label, is a time phrase), as a tuple (one per hit)
_Hit = tuple
START, END, LABEL, TIME = 0, 1, 2, 3


class _Words:
    """The search for the signal words and what each word signals, built once per word file."""

    def __init__(self, fw: FactWords):
        entries: dict[str, list[tuple[str, str]]] = {}
        for kind in ("aspect", "measure", "origin"):
            for label, ws in getattr(fw, kind).items():
                for w in ws:
                    entries.setdefault(w, []).append((kind, label))
        for label, ws in fw.breakdown.items():
            for w in ws:
                entries.setdefault(w, []).append((label, label))
        for kind in ("remainder", "total", "correction"):
            for w in getattr(fw, kind):
                entries.setdefault(w, []).append((kind, kind))
        for w in fw.measure_else:
            entries.setdefault(w, []).append(("measure_else", "other"))
        self.entries = {w: (w in fw.aspect_time_phrases, tuple(what)) for w, what in entries.items()}
        # One alternation of literal words, longest first: a scan in C that skips every character
        # no word starts with (the words of one stretch are read without overlaps, the longest
        # first: 无症状感染者 is 无症状 then 感染者, 次密切接触者 is not also 密切接触者)
        self.pattern = re.compile("|".join(re.escape(w) for w in sorted(entries, key=lambda w: (-len(w), w))))
        self.measure_rank = {label: i for i, label in enumerate(fw.measure)}
        self.fw = fw

    def hits(self, text: str, spans: list[tuple[int, int]]) -> dict[str, tuple[list[int], list[_Hit]]]:
        """Signal words of ``text`` within ``spans`` (in order, not overlapping) by kind, each in
        text order (with the list of starts, for bisect); under ``""``, the starts of all of them."""
        found: dict[str, list[_Hit]] = {}
        every = []
        entries = self.entries
        finditer = self.pattern.finditer
        for a, b in spans:
            for m in finditer(text, a, b):
                time, what = entries[m.group()]
                start, end = m.span()
                every.append(start)
                for kind, label in what:
                    found.setdefault(kind, []).append((start, end, label, time))
        out = {kind: ([h[START] for h in hs], hs) for kind, hs in found.items()}
        for kind in KINDS:
            if kind not in out:
                out[kind] = _NO_HITS
        out[""] = (every, ())
        return out


@lru_cache(maxsize=4)
def _words(fw: FactWords) -> _Words:
    return _Words(fw)


class _M:
    """One quantity mention while the stage works on it."""

    # Most mentions keep these: read from the class until a step sets them on the instance.
    paren: tuple[int, int] | None = None  # a parenthesis right after it that is its own
    total: _M | None = None  # the total it is a part of
    bd: _Breakdown | None = None
    pm: str | None = None  # measure before parts are known (to match parts to totals)
    aspect = measure = origin = None
    replaced_by: _M | None = None
    fact: _Fact | None = None
    headline = False
    cell = False  # a cell of a flattened table
    plain_after = -1  # for a mention with no word near: where the figure before it ends (-2: none before)
    own: dict = {}  # kind -> (label, from a parenthesis), for the kinds it has words of (never changed in place)
    noun = noun_after = None  # read through nouns(), which works them out the first time (nouns_known)
    nouns_known = False

    def __init__(self, k: int, d, place: LocalityPath):
        self.k, self.d, self.place = k, d, place  # k: its index in the drafts
        self.start, self.end, self.value, self.unit = d.start, d.end, d.value, d.unit
        self.is_rate, self.cases = d.per is not None, d.category is _CASES




class _Breakdown:
    __slots__ = ("total", "parts", "kind", "remainder", "sum")

    def __init__(self, total: _M, kind: str):
        self.total = total
        self.parts: list[_M] = []
        self.kind = kind  # open | closed | status
        self.remainder = False
        self.sum = 0.0  # of the parts' values, kept as they are added

    def add(self, m: _M) -> None:
        m.total, m.bd = self.total, self
        self.parts.append(m)
        self.sum += m.value


class _Fact:
    __slots__ = ("id", "members", "first")

    def __init__(self, first: _M):
        self.id = ""
        self.members = [first]
        self.first = first


# --------------------------------------------------------------------------
# The stage


def relate(doc_id: str, view: View, paras: list[Paragraph], drafts: list, places: list[LocalityPath],
           lex: Lexicon) -> tuple[list[FactLinks], list[Fact]]:
    """Facts, parts, corrections, aspect, measure and origin of one document's drafts (see the module doc)."""
    links = [NO_LINKS] * len(drafts)
    ms = [_M(k, d, places[k]) for k, d in enumerate(drafts) if d.category is not _DATE and d.value is not None]
    if not ms:
        return links, []
    words = _words(lex.facts or load_facts())
    text = view.text
    ends = _positions(text, _SENT_END_CHARS)
    hits = words.hits(text, _sentences(ms, text, paras, ends))
    marks = _positions(text, "；;#【】")
    paren_totals = _scan(ms, text, _merged(hits), hits, words)
    _mark_headlines(ms, paras, text)
    breakdowns: list[_Breakdown] = []
    if paren_totals:
        _paren_parts(ms, paren_totals, text, breakdowns)
    if hits["open"][0] or hits["closed"][0]:
        _opener_parts(ms, text, hits, words, breakdowns)
    if hits["total"][0]:
        _list_totals(ms, text, hits, breakdowns)
    _status_lists(ms, text, words, breakdowns)
    if "|" in text:  # (a table row is written |…|)
        _table_columns(ms, text, paras, drafts, breakdowns)
    if hits["correction"][0]:
        _corrections(ms, text, hits)
    _resolve(ms, text, hits, marks, paras, words, lex.words, breakdowns)
    facts = _group(ms, text)
    if breakdowns:  # (a mention has a total only through a breakdown)
        _break_cycles(facts)
    rows = _rows(doc_id, view, facts, breakdowns, links)
    # A mention and its fact (or breakdown) point at each other: untied here, they are freed
    # by reference counting now rather than left to the cycle collector, which is paused
    # while a document is extracted (api.cycle_collector_paused).
    for f in facts:
        f.members = f.first = None
    for bd in breakdowns:
        bd.total = bd.parts = None
    return links, rows


# --------------------------------------------------------------------------
# 1. Sentences, windows and own words

_SENT_END = re.compile(r"[。！？!?\n】]")
_SENT_END_CHARS = "。！？!?\n】"


def _positions(text: str, chars: str) -> list[int]:
    """Where any of ``chars`` occurs, in order: a str.find loop per character (C's speed over
    the text, Python's only per occurrence; an ``re`` class costs some 100 instructions a
    character over Chinese text)."""
    out = []
    for c in chars:
        k = text.find(c)
        while k != -1:
            out.append(k)
            k = text.find(c, k + 1)
    out.sort()
    return out


def _sentences(ms: list[_M], text: str, paras: list[Paragraph], ends: list[int]) -> list[tuple[int, int]]:
    """Each mention's sentence (a number counting the sentences that hold figures) and where it
    starts, from the sentence ends; and the stretches of text whose signal words can bear on a
    figure: the sentences that hold figures, a table's caption line, and a paragraph up to its
    last cases figure (its origin words: _resolve). About a quarter of a bulletin's text; the
    rest is not read. The cells of a flattened table are governed by its header, on a short
    line above it (``现有在院治疗病例（单位：例）`` / ``甲区 12 乙区 8 合计 20``), as their unit is."""
    spans = []
    size, n_ends = len(text), len(ends)
    sent, prev_end = -1, -1
    for m in ms:
        d = m.d
        start = m.start
        para = m.para = d.para_index
        k = bisect_left(ends, start)  # the sentence end after it
        a = ends[k - 1] + 1 if k else 0
        if a > prev_end:  # a sentence end lies between it and the figure before
            sent += 1
        m.sent = sent
        m.s0 = a
        b = ends[k] + 1 if k < n_ends else size
        if m.cases and para < len(paras):
            a = min(a, paras[para].vstart)
        if d.rule == TABLE_CELL_RULE:
            m.cell = True
            if 0 < para < len(paras) and len(paras[para - 1].text) <= TABLE_CAPTION:
                a = m.s0 = min(m.s0, paras[para - 1].vstart)
        if spans and a <= spans[-1][1]:
            if b > spans[-1][1] or a < spans[-1][0]:
                spans[-1] = (min(spans[-1][0], a), max(b, spans[-1][1]))
        else:
            spans.append((a, b))
        prev_end = m.end
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _scan(ms: list[_M], text: str, everything, hits, words: _Words) -> list[int]:
    """One pass over the mentions: each one's own stretch of text ([lo, start) before it back
    to a clause mark or a list joiner, [end, hi) after it, a parenthesis right after it), the
    signal words there, and a cases mention's measure as far as its words tell.

    A mention with no signal word or parenthesis near it (most) keeps the stretch of its number
    (lo = start, hi = end): nothing it would hold is read. Returns the indices of mentions a
    parenthesis with figures follows (their totals, maybe)."""
    n, size = len(ms), len(text)
    clause, joined = _CLAUSE.search, _JOINED_REVERSED.search
    starts = hits[""][0]  # every signal word, of any kind
    n_hits = len(starts)
    paren_totals = []
    prev_end = 0
    for i, m in enumerate(ms):
        start, end = m.start, m.end
        k = bisect_left(starts, start - WINDOW)
        near = k < n_hits and starts[k] < end + WINDOW
        if not near and text.find("（", end, end + WINDOW) < 0 and text.find("(", end, end + WINDOW) < 0:
            m.lo, m.hi = start, end  # (most mentions) nothing of its own around it
            m.plain_after = prev_end if i else -2  # (its noun before may still be read: _noun_before)
            if m.cases:
                m.pm = _pre_measure(m, hits, words)
            prev_end = end
            continue
        lo = max(prev_end, start - WINDOW)
        if lo < start:
            c = clause(text[lo:start][::-1])
            if c:
                lo = start - c.start()
            elif i and prev_end > start - WINDOW:  # a figure right before it: the words after a joiner are this one's
                j = joined(text[prev_end:start][::-1])
                if j:
                    lo = start - j.start()
        m.lo = lo
        nxt_start = ms[i + 1].start if i + 1 < n else size
        hi = min(nxt_start, end + WINDOW)
        c = clause(text, end, hi) if end < hi else None
        if c:
            hi = c.start()
        elif i + 1 < n and hi == nxt_start:  # the next figure follows: its words start after the last joiner
            j = joined(text[end:hi][::-1])
            if j:
                hi -= j.end()
        m.hi = hi
        if hi < size and text[hi] in _OPEN_PAREN:
            close = _find_close(text, hi + 1, min(size, hi + 1 + WINDOW))
            if close is not None and (i + 1 == n or nxt_start > close):
                m.paren = (hi + 1, close)
            elif i + 1 < n:
                paren_totals.append(i)
        if near:
            _own_words(m, everything, words)  # (returns at once when the word near is of another kind)
        if m.cases:
            m.pm = _pre_measure(m, hits, words)
        prev_end = end
    return paren_totals


def _sentence_end(text: str, pos: int) -> int:
    c = _SENT_END.search(text, pos)
    return c.start() if c else len(text)


def _merged(hits) -> tuple[list[int], list[tuple]]:
    """Every signal word, of the kinds a mention's own words may be, in one list by start."""
    out = [(h[START], h[END], kind, h[LABEL]) for kind in ("aspect", "measure", "measure_else", "origin") for h in hits[kind][1]]
    out.sort()
    return [h[0] for h in out], out


def _find_close(text: str, a: int, b: int) -> int | None:
    """The first closing parenthesis in [a, b)."""
    found = [k for k in (text.find("）", a, b), text.find(")", a, b)) if k != -1]
    return min(found) if found else None


def _mark_headlines(ms: list[_M], paras: list[Paragraph], text: str) -> None:
    """A headline paragraph, or the 【…】/#…# title a body paragraph opens with."""
    zones: dict[int, int] = {}
    headline = ParagraphKind.headline
    for k in [k for k, p in enumerate(paras) if p.kind is headline or p.text[:1] in "【#"]:
        p = paras[k]
        if p.kind is headline:
            zones[k] = p.vend
        else:
            h = _HEAD_MARKS.match(text, p.vstart, p.vend)
            if h:
                zones[k] = h.end()
    if zones:
        starts = [m.start for m in ms]
        for k, end in zones.items():
            for i in range(bisect_left(starts, paras[k].vstart), bisect_left(starts, end)):
                if ms[i].para == k:
                    ms[i].headline = True


def _in(hs: tuple[list[int], list[_Hit]], a: int, b: int) -> list[_Hit]:
    """Hits that lie wholly in [a, b)."""
    starts, items = hs
    i = bisect_left(starts, a)
    out = []
    while i < len(items) and items[i][START] < b:
        if items[i][END] <= b:
            out.append(items[i])
        i += 1
    return out


def _own_words(m: _M, everything, words: _Words) -> None:
    """The words of its own clause: the nearest before the number, else the first in the noun
    after it, else in a parenthesis right after it (which stays its own); the measure by rank."""
    starts, items = everything
    hi = m.paren[1] if m.paren else m.hi
    i = bisect_left(starts, m.lo)
    if i == len(items) or items[i][0] >= hi:
        return  # (most mentions) no signal word around it
    before: dict[str, tuple] = {}
    after: dict[str, tuple] = {}
    paren: dict[str, tuple] = {}
    measures = []
    unnamed = []
    while i < len(items) and items[i][0] < hi:
        start, end, kind, label = items[i]
        i += 1
        if end <= m.start:
            where = before
        elif start >= m.end and end <= m.hi:
            where = after
        elif m.paren and start >= m.paren[0] and end <= m.paren[1]:
            where = paren
        else:
            continue
        if kind == "measure":
            measures.append(label)
        elif kind == "measure_else":
            unnamed.append(label)
        elif m.cases or kind == "aspect":
            got = where.get(kind)
            if where is before:
                if got is None or (end, end - start) > (got[1], got[1] - got[0]):
                    where[kind] = (start, end, label)
            elif got is None:
                where[kind] = (start, end, label)
    own = {}
    for kind in ("aspect", "origin"):
        for where, in_paren in ((before, False), (after, False), (paren, True)):
            if kind in where:
                own[kind] = (where[kind][2], in_paren)
                break
    if m.cases and (measures or unnamed):
        own["measure"] = (min(measures, key=words.measure_rank.__getitem__) if measures else unnamed[0], False)
    m.own = own


def nouns(m: _M, text: str) -> tuple[str | None, str | None]:
    """(the counted noun's key, the noun right after the measure word), worked out once."""
    if not m.nouns_known:
        m.noun_after = _noun_after(m, text)
        m.noun = m.noun_after or _noun_before(m, text)
        m.nouns_known = True
    return m.noun, m.noun_after


def _noun_after(m: _M, text: str) -> str | None:
    """The counted noun's key: the first character after the measure word (12个社区 → 社)."""
    k = m.end
    while k < len(text) and text[k] in " \t\r\n\u3000":
        k += 1
    if k < len(text) and "\u4e00" <= text[k] <= "\u9fff" and text[k] not in _NOUN_STOPS:
        return text[k]
    return None


def _noun_before(m: _M, text: str) -> str | None:
    """Without a noun after the measure word: the last character of the noun before the number
    (道路卡口32个 → 口)."""
    lo = m.lo
    if m.plain_after != -1:  # its stretch was not read: read it now, as _scan would have
        after = max(m.plain_after, 0)
        lo = max(after, m.start - WINDOW)
        c = _CLAUSE.search(text[lo:m.start][::-1]) if lo < m.start else None
        if c:
            lo = m.start - c.start()
        elif m.plain_after >= 0 and after > m.start - WINDOW:
            j = _JOINED_REVERSED.search(text[after:m.start][::-1])
            if j:
                lo = m.start - j.start()
    for c in reversed(text[lo:m.start].strip()):
        if "\u4e00" <= c <= "\u9fff":
            return c
        break
    return None


def _bare(h: _Hit, hits) -> bool:
    """A word that names no measure counts only on its own: not as the tail of one that does
    (无症状感染者 is asymptomatic, not 感染者)."""
    return all(x[END] < h[START] for x in _in(hits["measure"], h[START] - 4, h[END]))


def _pre_measure(m: _M, hits, words: _Words) -> str:
    """A cases mention's measure from its own words, else the nearest before it in its sentence."""
    if "measure" in m.own:
        return m.own["measure"][0]
    before = _in(hits["measure"], m.s0, m.lo) + [h for h in _in(hits["measure_else"], m.s0, m.lo) if _bare(h, hits)]
    if before:
        return max(before)[LABEL]
    return words.fw.measure_by_unit.get(m.unit or "", "other")


# --------------------------------------------------------------------------
# 2. Parts


def _fits(part: _M, total: _M, fw: FactWords | None, cumulative: bool = False) -> bool:
    """Can ``part`` be a part of ``total``: same unit, not a rate, not larger, a fitting measure
    (any measure when ``fw`` is None)."""
    if part.unit != total.unit or part.is_rate or total.is_rate or part is total:
        return False
    if part.value > total.value and part.d.bound is Bound.eq and total.d.bound is Bound.eq:
        return False
    if fw is not None and part.pm is not None and total.pm is not None and part.pm != total.pm:
        if part.pm not in fw.part_measures.get(total.pm, ()) and not (
            cumulative and part.pm in fw.cumulative_part_measures.get(total.pm, ())
        ):
            return False
    up, depth = total, 0  # no cycle: the total is not (under) the part; and not too deep
    while up is not None:
        if up is part or depth == MAX_DEPTH:
            return False
        up, depth = up.total, depth + 1
    return True


def _paren_parts(ms: list[_M], candidates: list[int], text: str, out: list[_Breakdown]) -> None:
    """``境外输入病例3例（武汉市3例）``, ``在院治疗15305例（其中重症13例）``."""
    n = len(ms)
    for i in candidates:
        t = ms[i]
        if t.is_rate:
            continue
        close = _find_close(text, t.hi + 1, min(len(text), t.hi + 1 + 4 * WINDOW))
        if close is None:
            continue
        bd = None
        for j in range(i + 1, n):
            m = ms[j]
            if m.start >= close:
                break
            if m.total is None and _fits(m, t, None):
                if bd is None:
                    bd = _Breakdown(t, "open")
                    out.append(bd)
                bd.add(m)


def _mention_before(ms: list[_M], starts: list[int], pos: int) -> int:
    """Index of the last mention that ends at or before ``pos`` (-1 if none)."""
    i = bisect_right(starts, pos) - 1
    while i >= 0 and ms[i].end > pos:
        i -= 1
    return i


def _opener_parts(ms: list[_M], text: str, hits, words: _Words, out: list[_Breakdown]) -> None:
    """``T，其中A…，B…`` (also 包括, 含; 分别为 closed): the parts run on clause by clause to the end
    of the opener's sentence; a clause with no figure ends them, and so does a total whose parts
    already add up to it. Two totals before one opener (走访860户2400人，其中…) each take the parts
    of their unit (and measure)."""
    starts = [m.start for m in ms]
    for kind in ("open", "closed"):
        for h in hits[kind][1]:
            i = _mention_before(ms, starts, h[START])
            if i < 0:
                continue
            between = text[ms[i].end:h[START]]
            if len(between) > 2 * WINDOW or any(c in between for c in "；;") or (
                    _SENT_END.search(between) and _LIST_BREAK.search(between.rstrip("，,。 "))):
                continue  # the opener does not follow a figure of its sentence (or end the sentence before)
            totals = [ms[i]]
            while (i > 0 and len(totals) < MAX_TOTALS and not _LIST_BREAK.search(text, ms[i - 1].end, ms[i].start)
                   and ms[i].start - ms[i - 1].end <= WINDOW):
                i -= 1
                totals.append(ms[i])
            totals = [t for t in totals if not t.is_rate]
            if not totals:
                continue
            s_end = _sentence_end(text, h[END])
            bds: dict[int, _Breakdown] = {}
            closed: set[int] = set()
            prev = h[END]
            j = _mention_before(ms, starts, h[END]) + 1
            last = None
            stop = min(len(ms), j + MAX_RUN)
            while j < stop and ms[j].start < s_end:
                m = ms[j]
                if len(_LIST_BREAK.findall(text, prev, m.start)) >= 2:
                    break  # a whole clause without a figure: the breakdown is over
                prev = m.end
                j += 1
                if m.total is not None or m.is_rate:
                    continue
                cands = [t for t in totals if (id(t) not in closed or m.value == 0) and _fits(m, t, words.fw)]
                if not cands:
                    if m.unit in {t.unit for t in totals} and all(id(t) in closed for t in totals if t.unit == m.unit):
                        break  # its totals are complete already: it is not theirs
                    continue
                same = [t for t in cands if t.pm is not None and t.pm == m.pm]
                t = (same or cands)[0]
                bd = bds.get(id(t))
                if bd is None:
                    bd = bds[id(t)] = _Breakdown(t, kind)
                    out.append(bd)
                bd.add(m)
                last = m
                if _close(bd.sum, t.value):
                    closed.add(id(t))
            if last is not None and _in(hits["remainder"], last.end, s_end):
                for bd in bds.values():
                    bd.remainder = True


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _list_totals(ms: list[_M], text: str, hits, out: list[_Breakdown]) -> None:
    """``国道卡口3个、村口卡口4个和流动卡口1个，共8个``: a list joined by 、/和 right before a total
    marked 共/合计 (in its sentence, or ending the sentence before when the total opens its
    own), of its unit and category, adding up to no more than it."""
    starts = [m.start for m in ms]
    seen = set()
    for h in hits["total"][1]:
        i = bisect_left(starts, h[END])  # the figure after the word: the word is in its own words
        if i >= len(ms) or i in seen or ms[i].lo > h[START]:
            continue
        seen.add(i)
        t = ms[i]
        if i < 2 or t.is_rate or ms[i - 1].unit != t.unit:
            continue
        q = ms[i - 1]
        if q.sent == t.sent:
            if len(_LIST_BREAK.findall(text, q.end, t.start)) > 1 or _SENTENCE_BREAK.search(text, q.end, t.start):
                continue  # the list must run into the total (…和1个，共8个)
        elif q.sent != t.sent - 1:
            continue  # or end the sentence before the one the total opens
        members = []
        k = i - 1
        while k >= max(0, i - 1 - MAX_RUN):
            q = ms[k]
            if q.unit != t.unit or q.d.category is not t.d.category or q.is_rate or q.total is not None:
                break
            if members and _LIST_BREAK.search(text, q.end, members[-1].start):
                break
            members.append(q)
            k -= 1
        if len(members) < 2 or sum(q.value for q in members) > t.value * (1 + 1e-9):
            continue
        bd = _Breakdown(t, "closed")
        out.append(bd)
        for q in reversed(members):
            bd.add(q)


def _status_lists(ms: list[_M], text: str, words: _Words, out: list[_Breakdown]) -> None:
    """``累计确诊426例，治愈出院385例，在院治疗34例，死亡7例``: figures right after a total, in
    its sentence or the next, of its unit and category, that add up to it exactly. The figures
    start right after it (leaving out its parts found already) and go on while they fit; one
    run that adds up may be followed by another (a total split two ways)."""
    n = len(ms)
    units = [m.unit for m in ms]
    for i in [i for i in range(n - 2) if units[i + 1] == units[i] or units[i + 2] == units[i]]:
        t = ms[i]
        if t.is_rate or t.value < 2:
            continue
        nxt = ms[i + 1]
        if not _LIST_BREAK.search(text, t.end, nxt.start) and _JOINED.search(text, t.end, nxt.start):
            continue  # joined to the figure after it by 、/和: a list member, not a total
        cumulative = "aspect" in t.own and t.own["aspect"][0] == "cumulative"
        run: list[_M] = []
        total = 0.0
        for j in range(i + 1, min(n, i + 1 + MAX_RUN)):
            m = ms[j]
            if m.sent > t.sent + 1:
                break
            if m.total is t:
                continue  # a part of an earlier breakdown of the same total
            if (m.total is not None or m.d.category is not t.d.category or m.value >= t.value
                    or not _same_thing(m, t, text) or not _fits(m, t, words.fw, cumulative)):
                break  # a figure that does not fit ends the list
            run.append(m)
            total += m.value
            if total > t.value and not _close(total, t.value):
                break
            if _close(total, t.value) and len(run) >= 2:
                bd = _Breakdown(t, "status")
                out.append(bd)
                for p in run:
                    bd.add(p)
                run, total = [], 0.0


def _table_columns(ms: list[_M], text: str, paras: list[Paragraph], drafts: list, out: list[_Breakdown]) -> None:
    """A table's total row (`|合计|53|447|`) totals, cell by cell, the cells of the rows above
    it in the same column that count the same thing (a closed list: every row is there)."""
    tables = table_runs(paras, drafts)
    if not tables:
        return
    by_draft = {m.k: m for m in ms}

    def column(k: int, m: _M) -> int:
        return text.count("|", paras[k].vstart, m.start)

    for table in tables:
        if len(table.totals) != 1:
            continue
        total_row = table.totals[0]
        cells: dict[int, list[_M]] = {}
        for k in table.rows:
            if k == total_row:
                continue
            for i in table.drafts[k]:
                m = by_draft.get(i)
                if m is not None:
                    cells.setdefault(column(k, m), []).append(m)
        for i in table.drafts[total_row]:
            t = by_draft.get(i)
            if t is None or t.is_rate:
                continue
            parts = cells.get(column(total_row, t), [])
            if len(parts) < 2 or any(p.total is not None or p.is_rate or p.unit != t.unit
                                     or p.d.category is not t.d.category for p in parts):
                continue
            bd = _Breakdown(t, "closed")
            out.append(bd)
            for p in parts:
                bd.add(p)


def _same_thing(part: _M, total: _M, text: str) -> bool:
    """A part of a status list counts what its total counts: it names no noun of its own after
    its measure word, or the total's (cases and people differ by their own words: 治愈出院, 死亡)."""
    if total.cases or total.unit in PEOPLE_UNITS:
        return True
    after = nouns(part, text)[1]
    return after is None or after == nouns(total, text)[0]


# --------------------------------------------------------------------------
# 3. Corrections


def _corrections(ms: list[_M], text: str, hits) -> None:
    for a, b in zip(ms, ms[1:]):
        if b.start - a.end <= 10 and a.unit == b.unit and _in(hits["correction"], a.end, b.start):
            a.replaced_by = b


# --------------------------------------------------------------------------
# 4. Aspect, measure, origin


def _resolve(ms: list[_M], text: str, hits, marks: list[int], paras: list[Paragraph], words: _Words, lex_words,
             breakdowns: list[_Breakdown]) -> None:
    fw = words.fw
    parts = [p for bd in breakdowns for p in bd.parts]
    asides = sorted(m.paren for m in ms if m.paren is not None)
    blocked = sorted([(p.lo, p.start) for p in parts] + [(p.end, p.hi) for p in parts] + asides)
    b_starts = [a for a, _ in blocked]

    def free(pos: int) -> bool:
        k = bisect_right(b_starts, pos) - 1
        return not any(blocked[x][0] <= pos < blocked[x][1] for x in (k, k - 1) if x >= 0)

    def governing(kind: str, a: int, b: int, ok=None) -> _Hit | None:
        """The nearest free word of ``kind`` in [a, b) (that ``ok`` accepts)."""
        starts, items = hits[kind]
        k = bisect_left(starts, b) - 1
        while k >= 0 and items[k][START] >= a:
            h = items[k]
            if h[END] <= b and free(h[START]) and (ok is None or ok(h)):
                return h
            k -= 1
        return None

    starts = [m.start for m in ms]

    def anchored(h: _Hit) -> bool:
        """A figure word (not a time phrase) governs only from the clause of a figure:
        nothing but a list (、) stands between it and the next figure (累计发放口罩…个、手套…副;
        not 改造现有宾馆、学校等场所，床位达到…张)."""
        if h[TIME]:
            return False
        j = bisect_left(starts, h[END])
        return j < len(ms) and not _LIST_BREAK.search(text, h[END], ms[j].start)

    def is_time(h: _Hit) -> bool:
        return h[TIME]

    origin_starts, origin_items = hits["origin"]
    with_origin = [p for p in parts if "origin" in p.own]
    mixed = {id(p.total) for p in with_origin}
    part_words = sorted([(p.lo, p.start) for p in with_origin] + [(p.end, p.hi) for p in with_origin])

    def inside(spans: list, pos: int) -> bool:
        k = bisect_right(spans, (pos, len(text))) - 1
        return any(spans[x][0] <= pos < spans[x][1] for x in (k, k - 1) if x >= 0)

    def paragraph_origin(m: _M) -> str | None:
        """The origin every origin word of its paragraph before it names, when they agree
        (新增本土病例…。新增治愈出院…例 is local; after 新增境外输入…，无新增本土…, or a breakdown by
        origin, it is unknown). Words in a parenthesis after a figure are that figure's alone."""
        k = bisect_left(marks, m.start) - 1
        a = paras[m.para].vstart if paras else 0
        if k >= 0 and marks[k] >= a and text[marks[k]] in "#【】":
            a = marks[k] + 1
        labels = set()
        for x in range(bisect_left(origin_starts, a), bisect_left(origin_starts, m.start)):
            pos = origin_items[x][START]
            if inside(part_words, pos):
                return None
            if not inside(asides, pos):
                labels.add(origin_items[x][LABEL])
        return labels.pop() if len(labels) == 1 else None

    def before(kind: str, m: _M) -> bool:
        """Is there a word of ``kind`` in its sentence before its own words?"""
        kstarts = hits[kind][0]
        k = bisect_left(kstarts, m.lo) - 1
        return k >= 0 and kstarts[k] >= m.s0

    per_openers = tuple(lex_words.get("per_openers", ()))
    measure_else_bare = lambda h: _bare(h, hits)  # noqa: E731
    aspect_starts = hits["aspect"][0]
    for m in ms:
        own = m.own
        aspect = own["aspect"][0] if "aspect" in own else None
        if aspect is None and not (m.is_rate and m.d.per.startswith(per_openers)):  # 每天一篇: a rate, not a count
            k = bisect_left(aspect_starts, m.lo) - 1  # (most: no aspect word before it in its sentence)
            if k >= 0 and aspect_starts[k] >= m.s0:
                s0 = m.s0
                k = bisect_left(marks, m.start) - 1
                mark = marks[k] + 1 if k >= 0 and marks[k] >= s0 else s0
                word = governing("aspect", mark, m.lo, None if m.cell else anchored)  # a table's header governs its cells
                phrase = governing("aspect", s0, m.lo, is_time)
                found = [h for h in (word, phrase) if h is not None]
                aspect = max(found)[LABEL] if found else None
            if aspect is None and m.total is not None and m.total.start < m.start and m.total.sent == m.sent:
                aspect = m.total.aspect
        m.aspect = aspect
        if not m.cases:
            continue
        measure = own["measure"][0] if "measure" in own else None
        head = -1
        if measure is None and (before("measure", m) or before("measure_else", m)):
            # the nearest measure word before it, or a word that names none (感染者)
            head = _head_start(marks, text, m.s0, m.start)
            found = [h for h in (governing("measure", head, m.lo), governing("measure_else", head, m.lo, measure_else_bare)) if h]
            measure = max(found)[LABEL] if found else None
        if measure is None and m.total is not None:
            measure = m.total.measure
        if measure is None:
            measure = fw.measure_by_unit.get(m.unit or "", m.pm or "other")
        m.measure = measure
        origin = None
        if "origin" in own:
            origin = own["origin"][0]
        elif measure not in fw.origin_own_only and origin_starts:
            if before("origin", m):
                if head < 0:
                    head = _head_start(marks, text, m.s0, m.start)
                h = governing("origin", head, m.lo, lambda h: not _LIST_BREAK.search(text, h[END], m.start))  # its list's word
                origin = h[LABEL] if h else None
            if origin is None and m.total is not None:
                origin = m.total.origin
            if origin is None and id(m) not in mixed:  # (a total whose parts name their origins is mixed)
                origin = paragraph_origin(m)
        m.origin = origin


def _head_start(marks: list[int], text: str, s0: int, pos: int) -> int:
    """Where the words that govern ``pos`` may start: its sentence, cut at a #, 【 or 】."""
    k = bisect_left(marks, pos) - 1
    while k >= 0 and marks[k] >= s0:
        if text[marks[k]] in "#【】":
            return marks[k] + 1
        k -= 1
    return s0


# --------------------------------------------------------------------------
# 5. Facts


def _same_clause(a: _M, b: _M, text: str) -> bool:
    if a.sent != b.sent:
        return False
    if b.start - a.end < 200:
        return not _LIST_BREAK.search(text, a.end, b.start)
    # (a sentence of thousands of figures: the breaks are listed once, not searched per pair)
    breaks = _list_breaks(text)
    return bisect_left(breaks, b.start) == bisect_left(breaks, a.end)


@lru_cache(maxsize=1)
def _list_breaks(text: str) -> list[int]:
    return _positions(text, "，,；;。！？!?\n：:")


def _related(a: _M, b: _M) -> bool:
    """One is (under) the other's part, they share a total, or one corrects the other."""
    if a.replaced_by is b or b.replaced_by is a:
        return True
    if a.total is not None and a.total is b.total:
        return True
    for x, y in ((a, b), (b, a)):
        up, depth = x.total, 0
        while up is not None and depth < 4 * MAX_DEPTH:  # (totals found by different rules may stack)
            if up is y:
                return True
            up, depth = up.total, depth + 1
    return False


def _rounds_to(exact: float, rounded: float, bound: Bound) -> bool:
    """``超120万人`` restates 1205768: the rounded figure keeps fewer significant digits."""
    if rounded <= 0 or exact <= 0 or not float(rounded).is_integer():
        return False
    r = int(rounded)
    step = 1
    while r % (step * 10) == 0:
        step *= 10
    if step < 100:
        return False
    if bound is Bound.ge:
        return rounded <= exact < rounded + step
    return abs(exact - rounded) < step / 2


def _same_value(a: _M, b: _M) -> bool:
    if a.d.value_hi != b.d.value_hi:
        return False
    if _close(a.value, b.value):
        return a.d.bound is b.d.bound or Bound.eq in (a.d.bound, b.d.bound) and Bound.range not in (a.d.bound, b.d.bound)
    for x, y in ((a, b), (b, a)):
        if x.d.bound is Bound.eq and y.d.bound in (Bound.ge, Bound.approx) and _rounds_to(x.value, y.value, y.d.bound):
            return True
    return False


def _compatible(a: _M, b: _M, text: str) -> bool:
    """Can ``b`` be the same figure as ``a``, which shares its category and unit (the key they
    were found by): the same place, measure and value, nothing that conflicts, not one list, not
    related as total and part or as a correction."""
    if a.measure != b.measure or not (a.place is b.place or a.place == b.place) or not _same_value(a, b):
        return False
    da, db = a.d, b.d
    if (da.date is not None and db.date is not None and da.date != db.date
            or a.aspect is not None and b.aspect is not None and a.aspect != b.aspect
            or a.origin is not None and b.origin is not None and a.origin != b.origin):
        return False
    if _related(a, b) or _same_clause(a, b, text):
        return False
    if da.unit not in PEOPLE_UNITS and not a.cases:
        na, nb = nouns(a, text)[0], nouns(b, text)[0]
        if na and nb and na != nb:
            return False
    return True


def _group(ms: list[_M], text: str) -> list[_Fact]:
    """Each mention joins the earliest fact all of whose mentions it agrees with. Candidates
    share its category, unit, value, place and measure (a rounded figure, or a fact with one,
    is compared with every fact of its category, unit, place and measure). A rate is a fact of
    its own. Ids are given in order. (Place and measure must be equal for _compatible: with the
    place's name and county in the key, a long text's figures of other places are never
    compared at all.)"""
    facts: list[_Fact] = []
    exact: dict[tuple, list[_Fact]] = {}
    roundish = (Bound.ge, Bound.approx)

    def is_round(m: _M) -> bool:  # (_rounds_to: only a multiple of 100 can be the rounded side)
        return m.d.bound in roundish and m.value >= 100 and m.value % 100 == 0

    any_round = any(map(is_round, ms))
    by_kind: dict[tuple, list[_Fact]] = {}  # (category, unit, place, measure) -> facts, kept when a rounded figure is about
    rounded: dict[tuple, list[_Fact]] = {}  # facts whose mentions include a rounded (余, 约) figure
    in_rounded: set[int] = set()  # (their ids)
    for m in ms:
        # (an Enum member hashes in Python: its value in C; so would the place record: its names do)
        key = (m.d.category._value_, m.unit, m.value, m.place.locality, m.place.county, m.measure)
        joined = stored = None
        m_round = kind = None
        if any_round:
            m_round, kind = is_round(m), key[:2] + key[3:]  # (kind: the key without the value)
        if not m.is_rate:
            cands = stored = exact.get(key)
            if m_round or kind in rounded:
                # (the latest facts of its kind only, each once: a long document holds thousands)
                more = rounded.get(kind, [])[-MAX_COMPARISONS:]
                if m_round:
                    more = more + by_kind.get(kind, [])[-MAX_COMPARISONS:]
                cands = sorted(dict.fromkeys([*(cands or ()), *more]), key=lambda f: f.first.start)
            if cands:
                budget = MAX_COMPARISONS
                for f in cands:
                    if len(f.members) > budget:
                        break
                    budget -= len(f.members)
                    if all(_compatible(x, m, text) for x in f.members):
                        joined = f
                        break
        if joined is None:
            joined = _Fact(m)
            facts.append(joined)
            n = len(facts)
            joined.id = _FACT_IDS[n - 1] if n <= len(_FACT_IDS) else "f%d" % n
            if not m.is_rate:
                if stored is None:
                    exact[key] = [joined]
                else:
                    stored.append(joined)
                if any_round:
                    by_kind.setdefault(kind, []).append(joined)
        else:
            joined.members.append(m)
        m.fact = joined
        if m_round and id(joined) not in in_rounded:
            in_rounded.add(id(joined))
            rounded.setdefault(kind, []).append(joined)
    return facts


def _break_cycles(facts: list[_Fact]) -> None:
    """A fact is a part of one total at most, and never of itself through others. Mentions that
    are no cycle can make one of facts: a figure said twice, each time a part of another total
    (分别为1个、1个，分别为1个、1个). A mention whose total is not its fact's first total lets go of
    it, and so does every mention of a fact whose chain of totals comes back to it; their
    breakdowns then sum without them. (The chain is followed a bounded number of steps: parts
    nest far less deep.)"""

    def let_go(m: _M) -> None:
        m.bd.parts.remove(m)
        m.bd.sum -= m.value
        m.total = m.bd = None

    parent: dict[int, _Fact] = {}
    for f in facts:
        if len(f.members) == 1:  # (most)
            m = f.first
            if m.total is not None and m.total.fact is not f:
                parent[id(f)] = m.total.fact
            continue
        up = None
        for m in f.members:
            if m.total is None or m.total.fact is f:
                continue
            if up is None:
                up = m.total.fact
            elif m.total.fact is not up:
                let_go(m)
        if up is not None:
            parent[id(f)] = up
    if not parent:
        return
    for f in facts:
        up, steps = parent.get(id(f)), 0
        while up is not None and up is not f and steps < 8 * MAX_DEPTH:
            up, steps = parent.get(id(up)), steps + 1
        if up is f:
            for m in f.members:
                if m.total is not None and m.total.fact is not f:
                    let_go(m)
            del parent[id(f)]


# --------------------------------------------------------------------------
# 6. Facts rows, with their parts checked


def _status(bd: _Breakdown) -> str:
    total, parts = bd.total.value, bd.sum
    exact = bd.total.d.bound is Bound.eq and all(p.d.bound is Bound.eq for p in bd.parts)
    if _close(parts, total):
        return "complete"
    if parts > total:
        return "mismatch" if exact else "partial"
    if bd.kind == "closed" and not bd.remainder and exact:
        return "mismatch"
    return "partial"


def _link(m: _M, f: _Fact) -> FactLinks:
    part_of = m.total.fact if m.total is not None else None
    replaced = m.replaced_by.fact if m.replaced_by is not None else None
    return _new(FactLinks, (
        f.id, part_of.id if part_of is not None and part_of is not f else None,
        replaced.id if replaced is not None and replaced is not f else None, m.aspect, m.measure, m.origin, m.headline,
    ))


def _rows(doc_id: str, view: View, facts: list[_Fact], breakdowns: list[_Breakdown], links: list[FactLinks]) -> list[Fact]:
    """Each fact's row, and each mention's links (into ``links``, by draft)."""
    checks: dict[int, list[tuple[str, float]]] = {}
    for bd in breakdowns:
        if bd.parts and bd.total.fact is not None:
            checks.setdefault(id(bd.total.fact), []).append((_status(bd), bd.sum))
    rank = {"mismatch": 0, "complete": 1, "partial": 2}
    raw = view.raw
    rows = []
    for f in facts:
        first = f.first
        members = f.members
        if len(members) == 1 and first.total is None and first.replaced_by is None and id(f) not in checks:  # (most)
            links[first.k] = _new(FactLinks, (f.id, None, None, first.aspect, first.measure, first.origin, first.headline))
            d, p = first.d, first.place
            start = raw[first.start]
            rows.append(_new(Fact, (
                doc_id, f.id, d.category._value_, d.item, first.measure, first.aspect, first.origin, first.value,
                d.value_hi, first.unit, d.bound._value_, d.per, p.locality, p.province, p.city, p.county, p.township,
                p.village, d.date, f"{doc_id}:{start}-{raw[first.end - 1] + 1}", start, 1, None, None, None, None,
            )))
            continue
        for m in members:
            links[m.k] = _link(m, f)
        if len(members) == 1:
            main, item, aspect, origin, date = first, first.d.item, first.aspect, first.origin, first.d.date
            part_of = first.total.fact if first.total is not None else None
            replaced = first.replaced_by.fact if first.replaced_by is not None else None
        else:
            main = next((m for m in members if m.d.bound is Bound.eq), first)
            item = next((m.d.item for m in members if m.d.item and not m.headline), "") or next(
                (m.d.item for m in members if m.d.item), "")
            aspect = next((m.aspect for m in members if m.aspect), None)
            origin = next((m.origin for m in members if m.origin), None)
            date = next((m.d.date for m in members if m.d.date), None)
            part_of = next((m.total.fact for m in members if m.total is not None and m.total.fact is not f), None)
            replaced = next((m.replaced_by.fact for m in members if m.replaced_by is not None and m.replaced_by.fact is not f), None)
        status, parts_sum = None, None
        got = checks.get(id(f))
        if got:
            status, parts_sum = min(got, key=lambda sv: (rank[sv[0]], -sv[1]))
        start, end = raw[first.start], raw[first.end - 1] + 1  # (view.raw_span, for a span that is never empty)
        d, p = main.d, first.place
        rows.append(_new(Fact, (
            doc_id, f.id, first.d.category._value_, item, first.measure, aspect, origin, main.value, d.value_hi,
            main.unit, d.bound._value_, first.d.per, p.locality, p.province, p.city, p.county, p.township, p.village,
            date, f"{doc_id}:{start}-{end}", start, len(members),
            part_of.id if part_of is not None and part_of is not f else None, parts_sum, status,
            replaced.id if replaced is not None and replaced is not f else None,
        )))
    return rows
