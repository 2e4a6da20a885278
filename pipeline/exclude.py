"""Exclusion: numbers that name, identify, order or time rather than count.

Reads: candidates from :mod:`pipeline.mentions`, the repaired text and the
exclusion rules of ``data/not_claims.yaml``. Writes: for each candidate the
name of the first rule that rejects it, or None. The rules are general patterns
(levels, ordinals, N包N, model codes, durations, ages, …), plus three that need
code: phone-like digit strings, numerals inside idioms (jieba's dictionary
knows 千家万户 is one word), and 一 used as an article.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import re

import regex

from .lexicon import Lexicon
from .mentions import NUMERAL, Candidate
from .model import Bound
from .numerals import CN_NUMERAL_CHARS, FINANCIAL_DIGITS, FINANCIAL_UNITS
from .regex_shape import HAN, LOOKAROUND, UNSAFE, cannot_start_a_numeral, first_set, group_end, leading_literals, pattern_chars, split_top, starts_at_num

_QUOTES = (("“", "”"), ("\"", "\""), ("「", "」"), ("『", "』"), ("‘", "’"), ("《", "》"))  # 《十条措施》: a title names
_CLAUSE_END = regex.compile(r"[，。；：！？、\n（）]")
MAX_QUOTED_NAME = 14
# How far around a numeral the near rules look into a run of numeral characters
# (the longest numeral run in the seeds, dev, county-dev and own texts is 14).
NEAR_WINDOW = 64
WHOLE_PHRASE_RULES = {"百分之<num>", "百分之<num>-<num>", "百分百", "<num>分之<num>", "一半", "<num>成", "<num>折"}  # a quoted span this short holding a number is a name or slogan


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
# (computed on first access); :func:`reject_reason` needs far less, and scanning
# every rule over the whole text costs more than the rest of the stage.
#
# Most rules match from {num} on (after zero-width lookarounds): such a hit that
# overlaps a numeral starts inside the run of numeral characters around it. Such a
# rule is tried only near each candidate, in one call that tries every start in the
# run in order (a lazy skip over numeral characters before the rule), and only when
# the characters around the run can begin, precede and follow its match and what
# follows its {num} matches after some numeral ending in the run. The other
# rules (第{num}, 病例{num}…: a literal before the numeral) are scanned over the
# whole text once per document, which their literals make cheap. A rule mixing both
# kinds of alternatives is split when its other alternatives cannot start at a
# numeral (then no start position has matches of both kinds).


@dataclass(frozen=True)
class _CharBits:
    """For one place in a match (its first character, the one before it, the one
    after {num}): which alternatives admit which characters there, as bits."""

    by_char: dict  # character -> alternatives
    digit: int  # alternatives that admit any decimal digit
    han: int  # alternatives that admit any Han character (all of which are >= U+2E80)
    any: int  # alternatives whose characters there are not known
    seen: dict = field(default_factory=dict)  # character -> alternatives, as worked out so far

    def bits(self, chars: str) -> int:
        """The alternatives that admit one of ``chars`` there."""
        out = self.any
        seen = self.seen
        for c in chars:
            got = seen.get(c)
            if got is None:
                got = seen[c] = self.by_char.get(c, 0) | (self.digit if c.isdecimal() else self.han if c >= "\u2e80" else 0)
            out |= got
        return out


def _char_bits(sets: list[tuple[int, tuple[set[str], bool] | None]]) -> _CharBits:
    """``sets``: (alternative bit, (characters, decimal digits?) or None when unknown)."""
    by_char: dict[str, int] = {}
    digit = han = any_ = 0
    for bit, chars in sets:
        if chars is None:
            any_ |= bit
            continue
        for c in chars[0]:
            if c == HAN:
                han |= bit
            else:
                by_char[c] = by_char.get(c, 0) | bit
        if chars[1]:
            digit |= bit
    return _CharBits(by_char, digit, han, any_)


@dataclass(frozen=True)
class _Plan:
    near: tuple  # (rule bit, bits of its alternatives, compiled: a lazy skip over numeral characters, then those alternatives, rest gates)
    rule_of_alt: tuple  # alternative bit index -> index in ``near``
    first: _CharBits  # characters the near rules' matches can start with
    before: _CharBits  # characters a lookbehind of theirs needs right before the match
    after: _CharBits  # characters the rest of their match can start with, after {num}
    own: tuple  # (rule bit, compiled pattern, words one of which its matches start with or None) of the rules scanned over the whole text
    numeral: tuple  # (characters, decimal digits?) a numeral can consist of
    run: object  # compiled: a (possibly empty) run of such characters
    runs: object  # compiled: a non-empty one


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


def _known(chars: set[str] | None, digits: bool, nullable: bool) -> tuple[set[str], bool] | None:
    return None if chars is None or nullable else (chars, digits)


@lru_cache(maxsize=8)
def _plan(lex: Lexicon) -> _Plan | None:
    """How to evaluate the pattern rules near numerals; None when the characters of
    NUMERAL cannot be bounded (then the hits over the whole text are used)."""
    numeral = pattern_chars(NUMERAL)
    if numeral is None:
        return None
    run_class = "[" + "".join(regex.escape(c) for c in sorted(numeral[0])) + (r"\d" if numeral[1] else "") + "]"
    near, own, first, before, after = [], [], [], [], []
    n_alts = 0
    rule_of_alt: list[int] = []
    for bit, rule in enumerate(r for r in lex.exclusions if not r.guard):
        flag = 1 << bit
        parts = split_top(rule.pattern)
        starts = [a for a in parts if starts_at_num(a)]
        others = [a for a in parts if not starts_at_num(a)]
        split = bool(others) and bool(UNSAFE.search(rule.pattern))  # numbered groups would shift
        # (a lookaround holding another {num} would make the {num} span no longer mark where the match starts)
        odd = any(a.count("{num}") != 1 for a in starts)
        if not starts or split or odd or not all(cannot_start_a_numeral(a, numeral) for a in others):
            own.append(_own_rule(flag, rule.pattern))
            continue
        if others:
            own.append(_own_rule(flag, "|".join(others)))
        # the first match of these alternatives at a position is the rule's (no other one can match there)
        alt_bits, gates = 0, []
        for alt in starts:
            bit = 1 << n_alts
            n_alts += 1
            alt_bits |= bit
            first.append((bit, _known(*first_set(alt.replace("{num}", f"(?:{NUMERAL})")))))
            before.append((bit, _lookbehind_chars(alt)))
            after.append((bit, _known(*first_set(alt[alt.index("{num}") + len("{num}"):]))))
            gates.append((bit, _rest_gate(alt, run_class)))
        rule_of_alt += [len(near)] * len(starts)
        near.append((flag, alt_bits, _OnFirstMatch(_with_num(f"{run_class}*?(?:{'|'.join(starts)})")), tuple(gates)))
    return _Plan(
        tuple(near), tuple(rule_of_alt), _char_bits(first), _char_bits(before), _char_bits(after), tuple(own),
        numeral, re.compile(run_class + "*"), re.compile(run_class + "+"),  # (``re``: a character class, matched in a third of the time)
    )


def _own_rule(flag: int, pattern: str) -> tuple:
    compiled = _compile(pattern)
    return flag, compiled, leading_literals(compiled.pattern)


def _rest_gate(alt: str, run_class: str):
    """What follows {num} in ``alt``, after a lazy skip over numeral characters: matched
    just after the start of a run, it finds whether the rest of a match of ``alt`` from
    anywhere in the run can follow some numeral ending in the run, much faster than
    ``alt`` finds whether it matches. None when the rest cannot be matched on its own
    (it refers to a group before it, or to flags); compiled on first use, when a rest
    that does not compile on its own lets every numeral through as None does."""
    head, rest = alt.split("{num}")
    if UNSAFE.search(alt):
        return None
    try:
        if regex.compile(head).groups:
            return None
    except regex.error:
        return None
    return _OnFirstMatch(f"{run_class}*?(?:{rest})", unmatchable=True)


class _OnFirstMatch:
    """A pattern compiled when it is first matched, not when the plan is made: the `regex`
    parser is slow on the numeral character classes (compiling every near rule's patterns
    costs about 0.3 G instructions, ~0.1 s, at start-up), and many documents, or a whole
    short run, never need some of them. ``unmatchable``: what ``match`` returns instead of
    raising when the pattern does not compile (a gate that cannot be matched on its own
    lets every numeral through, as a gate of None does)."""

    __slots__ = ("pattern", "match", "_unmatchable")

    def __init__(self, pattern: str, unmatchable=None):
        self.pattern = pattern
        self._unmatchable = unmatchable
        self.match = self._compile_and_match  # replaced by the compiled pattern's own match

    def _compile_and_match(self, string: str, pos: int, endpos: int | None = None):
        try:
            self.match = regex.compile(self.pattern).match
        except regex.error:
            if self._unmatchable is None:
                raise
            self.match = self._cannot_compile
        return self.match(string, pos, endpos)

    def _cannot_compile(self, string: str, pos: int, endpos: int | None = None):
        return self._unmatchable


def _with_num(pattern: str) -> str:
    return pattern.replace("{num}", f"(?P<num>{NUMERAL})")


def _compile(pattern: str):
    return regex.compile(_with_num(pattern))


def _full_hits(text: str, lex: Lexicon) -> dict[str, list[tuple[int, int]]]:
    hits: dict[str, list[tuple[int, int]]] = {}
    for rule, pat in _compiled(lex):
        if rule.guard:
            continue
        hits[rule.name] = [m.span("num") for m in pat.finditer(text, overlapped=True)]
    return hits


class RuleHits(Mapping):
    """rule name -> the numeral spans it matches anywhere in the text (computed on first
    access), and :meth:`mask`, which answers :func:`reject_reason` for one numeral."""

    def __init__(self, text: str, lex: Lexicon):
        self.text = text
        self.lex = lex
        self._hits: dict[str, list[tuple[int, int]]] | None = None
        self._own: dict[int, int] | None = None  # position -> bits of the rules scanned over the text whose {num} covers it
        self._plan = _plan(lex)  # (looked up once per document, not per numeral)

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
        plan = self._plan
        if plan is None:
            m = 0
            for bit, spans in enumerate(self._all().values()):
                if any(hs < e and s < he for hs, he in spans):
                    m |= 1 << bit
            return m
        text = self.text
        if self._own is None:
            self._own = {}
            for flag, pat, words in plan.own:
                if words is not None and not any(w in text for w in words):
                    continue  # (a text without 航班, 年龄… has no match of their rules: one str search each)
                for hit in pat.finditer(text, overlapped=True):
                    # a {num} span is never empty: NUMERAL needs a character ((-1, -1): no {num} in the alternative)
                    for pos in range(*hit.span("num")):
                        self._own[pos] = self._own.get(pos, 0) | flag
        own = self._own
        m = 0
        if own:
            for pos in range(s, e):
                m |= own.get(pos, 0)
        chars, digits = plan.numeral
        # A near hit overlapping [s, e) starts in the numeral run around s. The run is
        # looked at within NEAR_WINDOW characters of the numeral: no real numeral is
        # that long, and a longer run (`1.1.1.…`, `数十数十…`) would otherwise be walked
        # once per numeral in it, quadratic in its length.
        lo = s - NEAR_WINDOW if s > NEAR_WINDOW else 0
        q0 = s
        while q0 > lo and (text[q0 - 1] in chars or (digits and text[q0 - 1].isdecimal())):
            q0 -= 1
        n = len(text)
        stop = e + NEAR_WINDOW if e + NEAR_WINDOW < n else n
        end = plan.run.match(text, q0, stop).end()
        if end >= e:
            starts = (q0,)  # [q0, e) is one run, as for every numeral (not so for 数以百万计)
        else:
            starts = [r.start() for r in plan.runs.finditer(text, q0, e)]
            end = plan.run.match(text, e, stop).end()
        # a run cut off by the window: the rules see the text end there (a lazy skip
        # over the rest of a long run, for every numeral in it, is what costs)
        endpos = end if end == stop < n and (text[end] in chars or (digits and text[end].isdecimal())) else n
        # the numeral of a match starting before e ends by ``end``; the rest of the match starts there
        near = (
            plan.first.bits(text[q0:e])
            & plan.before.bits(text[max(q0 - 1, 0): e - 1])
            & plan.after.bits(text[q0 + 1: end + 1])
        )
        one_run = len(starts) == 1
        while near:  # the rules of these alternatives
            flag, alts, pat, gates = plan.near[plan.rule_of_alt[(near & -near).bit_length() - 1]]
            live = near & alts
            near &= ~alts
            if one_run:
                for bit, gate in gates:
                    if live & bit and (gate is None or gate.match(text, q0 + 1, endpos)):
                        break
                else:
                    continue  # what follows {num} cannot follow a numeral here
            for q in starts:
                # the rule's first match at the first start from q on in this run
                hit = pat.match(text, q, endpos)
                while hit is not None:
                    hs, he = hit.span("num")  # hs: where this match starts
                    if hs >= e:
                        break
                    if s < he:
                        m |= flag
                        break
                    hit = pat.match(text, hs + 1, endpos)
                if m & flag:
                    break
        return m


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
        if open_q not in text:
            continue
        if open_q == close_q:
            # straight quotes pair up in order, paragraph by paragraph
            for para in _PARAGRAPH.finditer(text):
                idx = [m.start() for m in _quote_patterns(open_q, close_q)[0].finditer(para.group())]
                for a, b in zip(idx[::2], idx[1::2]):
                    spans.append((para.start() + a + 1, para.start() + b))
        else:
            for m in _quote_patterns(open_q, close_q)[1].finditer(text):
                spans.append(m.span(1))
    return QuotedSpans((s, e) for s, e in spans if e - s <= MAX_QUOTED_NAME)


class QuotedSpans(list):
    """The (start, end) spans of :func:`quoted_spans`, and :meth:`covers`, which
    answers for one numeral by bisection (a text can have a quotation for every few
    numerals: looking through all of them for each numeral is quadratic)."""

    _index: tuple[list[int], list[int]] | None = None

    def covers(self, s: int, e: int) -> bool:
        """Does one span hold all of [s, e)?"""
        if self._index is None:
            ordered = sorted(self)
            reach, furthest = [], -1
            for _, qe in ordered:
                if qe > furthest:
                    furthest = qe
                reach.append(furthest)  # the furthest end among the spans starting so far
            self._index = ([qs for qs, _ in ordered], reach)
        starts, reach = self._index
        k = bisect_right(starts, s)
        return k > 0 and reach[k - 1] >= e


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
    if quoted and (quoted.covers(s, e) if isinstance(quoted, QuotedSpans) else any(qs <= s and e <= qe for qs, qe in quoted)):
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


# units whose 一 is an amount (一吨, 一升, 一元); not lengths and areas, whose 一 is
# often a figure of speech (最后一公里, 一米线)
_WEIGHED_KINDS = frozenset({"mass", "volume", "money"})


def _article_yi(cand: Candidate, text: str, lex: Lexicon) -> bool:
    """一 + measure word is an article unless the clause asks "how many".

    It counts after a rate (每人发放一个口罩), after 只/仅/保留 (只保留一个出入口),
    beside other counts in a list (1个…、一个…), with a bound (约一吨) or a smaller
    part (一吨半), and before a unit of weight, volume or money (一吨).
    """
    q = cand.quantity
    if cand.text != "一" or q is None:
        return False
    unit = lex.units.get(q.unit_raw or "")
    if q.bound is not Bound.eq or (unit is not None and (unit.kind in _WEIGHED_KINDS or q.value != unit.factor)):
        return False  # 约一吨, 一吨半, 一元五角, 一斤: an amount, never an article
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
    if not cand.chinese or cand.quantity is None or not _FINANCIAL_CHARS.isdisjoint(cand.text):
        return False  # (a 大写 numeral writes a sum of money, never a set phrase: 伍仟元整)
    a = max(0, cand.num_start - 3)
    b = min(len(text), cand.quantity.end + 3)
    window = text[a:b]
    tokens = _tokenizer().tokenize(window)
    if text[cand.quantity.end:cand.quantity.end + 1] == "一":
        tokens = list(tokens)
        end = cand.quantity.end - a
        if any(ws == end and we == end + 2 for _, ws, we in tokens):
            return False  # 分三人一组, 两人一岗: a count per group, whatever word the dictionary makes of 分三人
    for word, ws, we in tokens:
        ws += a
        we += a
        if ws > cand.num_start:
            break  # tokens come in order: no later one holds the numeral (and jieba need not segment the rest)
        if not (ws <= cand.num_start < we) or not _has_non_numeral(word):
            continue
        if len(word) >= 4 and we > cand.quantity.end:
            return True
        if ws < cand.num_start and _has_non_numeral(text[ws:cand.num_start]) and text[ws:cand.num_start] not in lex.bounds["prefix"]:
            return True  # the numeral starts inside a word: 统一, 唯一 (not 逾千人: a bound word and a count)
    return False


_FINANCIAL_CHARS = frozenset(FINANCIAL_DIGITS + FINANCIAL_UNITS)
_NUMERAL_LIKE = set(CN_NUMERAL_CHARS + "余多数几近约第上")  # 上 of 上千 (reaching a thousand), like 近 of 近百


def _has_non_numeral(word: str) -> bool:
    return any(c not in _NUMERAL_LIKE for c in word)


_GUARDS = {"phone_like": _phone_like, "article_yi": _article_yi, "idiom": _idiom}
