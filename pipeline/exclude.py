"""Exclusion: numbers that name, identify, order or time rather than count.

Reads: candidates from :mod:`pipeline.mentions`, the repaired text and the
exclusion rules of ``data/not_claims.yaml``. Writes: for each candidate the
name of the first rule that rejects it, or None. The rules are general patterns
(levels, ordinals, N包N, model codes, durations, ages, …), plus three that need
code: phone-like digit strings, numerals inside idioms (jieba's dictionary
knows 千家万户 is one word), and 一 used as an article.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import regex

from .lexicon import Lexicon
from .mentions import NUMERAL, Candidate
from .numerals import CN_NUMERAL_CHARS
from .regex_shape import HAN, LOOKAROUND, UNSAFE, cannot_start_a_numeral, first_set, group_end, in_numeral, pattern_chars, split_top, starts_at_num

_QUOTES = (("“", "”"), ("\"", "\""), ("「", "」"), ("『", "』"), ("‘", "’"))
_CLAUSE_END = regex.compile(r"[，。；：！？、\n（）]")
MAX_QUOTED_NAME = 14
WHOLE_PHRASE_RULES = {"百分之<num>", "<num>分之<num>", "一半", "<num>成"}  # a quoted span this short holding a number is a name or slogan


@lru_cache(maxsize=8)
def _compiled(lex: Lexicon):
    out = []
    for rule in lex.exclusions:
        pat = rule.pattern.replace("{num}", f"(?P<num>{NUMERAL})")
        out.append((rule, regex.compile(pat)))
    return out


# --- Pattern rules -----------------------------------------------------------
#
# A rule's hits are the {num} spans of its first match at every start position
# (``finditer(overlapped=True)``), and a candidate is rejected by a rule when one
# of its hits overlaps the candidate's numeral. :func:`rule_hits` returns them all
# (computed on first access); :func:`reject_reason` does not need them all.
# Most rules match from {num} on (after zero-width lookarounds): such a hit that
# overlaps a numeral starts inside the run of numeral characters around it, so
# those rules are tried, together, as lookaheads of one pattern matched at the few
# positions of that run. The other rules (第{num}, 病例{num}…: a literal before the
# numeral) are scanned over the whole text once, which their literals make cheap.
# A rule mixing both kinds of alternatives is split when its other alternatives
# cannot start at a numeral (then no start position has matches of both kinds).

@dataclass(frozen=True)
class _Plan:
    alts: tuple  # (rule bit, alternative bit, compiled alternative) of the rules tried near numerals, in order
    always: int  # alternatives whose continuation after {num} is not known: tried at every numeral position
    by_char: dict  # character -> alternatives whose continuation can start with it
    by_digit: int  # alternatives whose continuation can start with a decimal digit
    by_han: int  # alternatives whose continuation can start with a Han character (\p{Han})
    before: dict  # character -> alternatives (with a lookbehind before {num}) it may precede the numeral
    before_digit: int  # such alternatives that a decimal digit may precede
    no_before: int  # alternatives without such a lookbehind
    own: tuple  # (rule bit, compiled pattern) of the rules scanned over the whole text
    numeral: tuple  # (characters, decimal digits?) a numeral can consist of
    run: object  # compiled: a (possibly empty) run of such characters


def _lookbehind_chars(alt: str) -> tuple[frozenset[str], bool] | None:
    """The characters a leading positive lookbehind of ``alt`` needs right before {num}."""
    while alt.startswith(LOOKAROUND):
        end = group_end(alt)
        if alt.startswith("(?<="):
            inner = alt[4: end - 1]
            chars = pattern_chars(inner)
            if chars is not None and not first_set(inner)[2]:
                return chars
        alt = alt[end:]
    return None


@lru_cache(maxsize=8)
def _plan(lex: Lexicon) -> _Plan | None:
    """How to evaluate the pattern rules near numerals; None when the characters of
    NUMERAL cannot be bounded (then the hits over the whole text are used)."""
    numeral = pattern_chars(NUMERAL)
    if numeral is None:
        return None
    alts, own = [], []
    always = by_digit = by_han = before_digit = no_before = 0
    by_char: dict[str, int] = {}
    before: dict[str, int] = {}
    n_alts = 0
    for bit, rule in enumerate(r for r in lex.exclusions if not r.guard):
        flag = 1 << bit
        parts = split_top(rule.pattern)
        starts = [a for a in parts if starts_at_num(a)]
        others = [a for a in parts if not starts_at_num(a)]
        split = bool(others) and bool(UNSAFE.search(rule.pattern))  # numbered groups would shift
        if not starts or split or not all(cannot_start_a_numeral(a, numeral) for a in others):
            own.append((flag, regex.compile(rule.pattern.replace("{num}", f"(?P<num>{NUMERAL})"))))
            continue
        if others:
            own.append((flag, regex.compile("|".join(others).replace("{num}", f"(?P<num>{NUMERAL})"))))
        for alt in starts:
            alt_bit = 1 << n_alts
            n_alts += 1
            alts.append((flag, alt_bit, regex.compile(alt.replace("{num}", f"(?P<num>{NUMERAL})"))))
            # what must follow the numeral
            rest = alt[alt.index("{num}") + len("{num}"):]
            chars, digits, nullable = first_set(rest) if "{num}" not in rest else (None, False, True)
            if chars is None or nullable:
                always |= alt_bit
            else:
                for c in chars:
                    if c == HAN:
                        by_han |= alt_bit
                    else:
                        by_char[c] = by_char.get(c, 0) | alt_bit
                if digits:
                    by_digit |= alt_bit
            # what must precede it
            behind = _lookbehind_chars(alt)
            if behind is None:
                no_before |= alt_bit
            else:
                for c in behind[0]:
                    before[c] = before.get(c, 0) | alt_bit
                if behind[1]:
                    before_digit |= alt_bit
    run = regex.compile("[" + "".join(regex.escape(c) for c in sorted(numeral[0])) + (r"\d" if numeral[1] else "") + "]*")
    return _Plan(tuple(alts), always, by_char, by_digit, by_han, before, before_digit, no_before, tuple(own), numeral, run)


def _full_hits(text: str, lex: Lexicon) -> dict[str, list[tuple[int, int]]]:
    hits: dict[str, list[tuple[int, int]]] = {}
    for rule, pat in _compiled(lex):
        if rule.guard:
            continue
        hits[rule.name] = [m.span("num") for m in pat.finditer(text, overlapped=True)]
    return hits


class RuleHits(Mapping):
    """rule name -> the numeral spans it matches anywhere in the text (computed on first
    access), and :meth:`mask`, which answers :func:`reject_reason` near one numeral."""

    def __init__(self, text: str, lex: Lexicon):
        self.text = text
        self.lex = lex
        self._hits: dict[str, list[tuple[int, int]]] | None = None
        self._at: dict[int, list[tuple[int, int, int]]] = {}
        self._cover: dict[int, int] | None = None
        self._empty: list[tuple[int, int, int]] = []

    def _all(self) -> dict[str, list[tuple[int, int]]]:
        if self._hits is None:
            self._hits = _full_hits(self.text, self.lex)
        return self._hits

    def __getitem__(self, name: str) -> list[tuple[int, int]]:
        return self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"RuleHits({self._all()!r})"

    def mask(self, s: int, e: int) -> int:
        """Bit k set: the k-th pattern rule (in file order) has a hit overlapping [s, e)."""
        plan = _plan(self.lex)
        if plan is None:
            m = 0
            for bit, spans in enumerate(self._all().values()):
                if any(hs < e and s < he for hs, he in spans):
                    m |= 1 << bit
            return m
        text = self.text
        m = 0
        if plan.alts:
            q = s
            while q > 0 and in_numeral(text[q - 1], plan.numeral):
                q -= 1  # a hit overlapping [s, e) starts in the numeral run around s
            for q in range(q, e):
                for flag, gs, ge in self._hits_at(q, plan):
                    if gs < e and s < ge:
                        m |= flag
        if self._cover is None:
            self._cover = {}
            for flag, pat in plan.own:
                for hit in pat.finditer(text, overlapped=True):
                    hs, he = hit.span("num")
                    if he <= hs:
                        self._empty.append((flag, hs, he))
                    for pos in range(hs, he):
                        self._cover[pos] = self._cover.get(pos, 0) | flag
        cover = self._cover
        for pos in range(s, e):
            m |= cover.get(pos, 0)
        for flag, hs, he in self._empty:
            if hs < e and s < he:
                m |= flag
        return m

    def _hits_at(self, q: int, plan: _Plan) -> list[tuple[int, int, int]]:
        """(rule bit, num start, num end) of the first match at ``q`` of each rule tried near numerals."""
        got = self._at.get(q)
        if got is None:
            got = []
            text = self.text
            if in_numeral(text[q], plan.numeral):
                # The numeral ends inside its run of numeral characters or where the run
                # ends, and the rest of the match starts there; a lookbehind before it
                # sees text[q - 1]. Alternatives that cannot go on so are not tried.
                end = plan.run.match(text, q + 1).end()
                ok = plan.always
                by_char = plan.by_char
                for c in text[q + 1: end + 1]:
                    ok |= by_char.get(c, 0)
                    if c.isdecimal():
                        ok |= plan.by_digit
                    elif c >= "\u2e80":
                        ok |= plan.by_han
                prev = text[q - 1] if q > 0 else ""
                ok &= plan.no_before | plan.before.get(prev, 0) | (plan.before_digit if prev.isdecimal() else 0)
                done = 0
                alts = plan.alts
                while ok:  # the alternatives that may match here, in order
                    low = ok & -ok
                    ok ^= low
                    flag, _, pat = alts[low.bit_length() - 1]
                    if not done & flag:
                        m = pat.match(text, q)
                        if m is not None:  # the rule's first match here: its first alternative that matches
                            got.append((flag, *m.span("num")))
                            done |= flag
            self._at[q] = got
        return got


def rule_hits(text: str, lex: Lexicon) -> Mapping[str, list[tuple[int, int]]]:
    """For each pattern rule, the numeral spans it matches anywhere in ``text``."""
    return RuleHits(text, lex)


_PARAGRAPH = regex.compile(r"[^\n]+")


@lru_cache(maxsize=None)
def _quote_patterns(open_q: str, close_q: str):
    return (
        regex.compile(regex.escape(open_q)),
        regex.compile(rf"{regex.escape(open_q)}([^{regex.escape(close_q)}\n]{{1,{MAX_QUOTED_NAME}}}){regex.escape(close_q)}"),
    )


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside short quotation marks: “十项措施”, "四包一", 「六早」."""
    spans = []
    for open_q, close_q in _QUOTES:
        if open_q == close_q:
            # straight quotes pair up in order, paragraph by paragraph
            for para in _PARAGRAPH.finditer(text):
                idx = [m.start() for m in _quote_patterns(open_q, close_q)[0].finditer(para.group())]
                for a, b in zip(idx[::2], idx[1::2]):
                    spans.append((para.start() + a + 1, para.start() + b))
        else:
            for m in _quote_patterns(open_q, close_q)[1].finditer(text):
                spans.append(m.span(1))
    return [(s, e) for s, e in spans if e - s <= MAX_QUOTED_NAME]


def reject_reason(cand: Candidate, text: str, lex: Lexicon, hits, quoted) -> str | None:
    """The name of the first exclusion that applies to ``cand``, or None."""
    s, e = cand.num_start, cand.num_end
    if cand.quantity is not None and cand.quantity.rule in WHOLE_PHRASE_RULES:
        return None  # 百分之九十五 is one phrase; its 百…分 is not a duration
    if isinstance(hits, RuleHits) and hits.text is text and hits.lex is lex:
        mask = hits.mask(s, e)  # bit k: the k-th pattern rule has a hit overlapping the numeral
        # with no pattern rule hit (most numerals), only the guards are left to try
        for name, guard, bit in _checks(lex) if mask else _guard_checks(lex):
            if guard is not None:
                if guard(cand, text, lex):
                    return name
            elif mask & bit:
                return name
    else:
        for rule in lex.exclusions:
            if rule.guard:
                if _GUARDS[rule.guard](cand, text, lex):
                    return rule.name
                continue
            if any(hs < e and s < he for hs, he in hits[rule.name]):
                return rule.name
    if any(qs <= s and e <= qe for qs, qe in quoted):
        return "quoted_name"
    return None


@lru_cache(maxsize=8)
def _checks(lex: Lexicon) -> tuple[tuple[str, object, int], ...]:
    """(name, guard function or None, mask bit) of every exclusion rule, in file order:
    the k-th pattern rule has bit k of :meth:`RuleHits.mask`."""
    out, bit = [], 1
    for rule in lex.exclusions:
        if rule.guard:
            out.append((rule.name, _GUARDS[rule.guard], 0))
        else:
            out.append((rule.name, None, bit))
            bit <<= 1
    return tuple(out)


@lru_cache(maxsize=8)
def _guard_checks(lex: Lexicon) -> tuple[tuple[str, object, int], ...]:
    """The guarded rules of :func:`_checks`, in order."""
    return tuple(c for c in _checks(lex) if c[1] is not None)


def _phone_like(cand: Candidate, text: str, lex: Lexicon) -> bool:
    digits = cand.text
    if not digits.isdigit() or len(digits) < 7:
        return False
    return cand.quantity is None or len(digits) >= 11


def _clause_before(text: str, pos: int, limit: int = 20) -> str:
    start = max(0, pos - limit)
    chunk = text[start:pos]
    cut = max((m.end() for m in _CLAUSE_END.finditer(chunk)), default=0)
    return chunk[cut:]


def _article_yi(cand: Candidate, text: str, lex: Lexicon) -> bool:
    """一 + measure word is an article unless the clause asks "how many".

    It counts after a rate (每人发放一个口罩), after 只/仅/保留 (只保留一个出入口),
    or beside other counts in a list (1个…、一个…).
    """
    if cand.text != "一" or cand.quantity is None:
        return False
    before = _clause_before(text, cand.num_start)
    if any(w in before for w in lex.words["rate_markers"]):
        return False
    tail = before[-3:]
    if any(tail.endswith(w) for w in lex.words["count_yi_before"]):
        return False
    return True


@lru_cache(maxsize=1)
def _tokenizer():
    # jieba's tokenizer with its dictionary loaded shard by shard on demand (same
    # segmentations, no ~1 s dictionary load on a cold start): see pipeline/wordfreq.py
    from .wordfreq import tokenizer

    return tokenizer()


def _idiom(cand: Candidate, text: str, lex: Lexicon) -> bool:
    """A Chinese numeral inside a longer dictionary word: 千家万户, 三番五次, 一心一意."""
    if not cand.chinese or cand.quantity is None:
        return False
    a = max(0, cand.num_start - 3)
    b = min(len(text), cand.quantity.end + 3)
    window = text[a:b]
    for word, ws, we in _tokenizer().tokenize(window):
        ws += a
        we += a
        if not (ws <= cand.num_start < we) or not _has_non_numeral(word):
            continue
        if len(word) >= 4 and we > cand.quantity.end:
            return True
        if ws < cand.num_start and _has_non_numeral(text[ws:cand.num_start]):
            return True  # the numeral starts inside a word: 统一, 唯一
    return False


_NUMERAL_LIKE = set(CN_NUMERAL_CHARS + "余多数几近约第")


def _has_non_numeral(word: str) -> bool:
    return any(c not in _NUMERAL_LIKE for c in word)


_GUARDS = {"phone_like": _phone_like, "article_yi": _article_yi, "idiom": _idiom}
