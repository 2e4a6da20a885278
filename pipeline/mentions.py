"""Number mentions: every numeral in the repaired text, with its measure word.

Reads: repaired text (view offsets), a :class:`Lexicon`, and the spans already
taken by dates. Writes: :class:`Candidate` records, one per numeral, each with
the quantity it would make (value, unit, bound, range) or the reason it makes
none. Exclusion of names, slogans, ordinals and the like is a later stage
(:mod:`pipeline.exclude`); here a candidate is rejected only when it has no
measure word at all.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import regex

from .lexicon import Lexicon
from .model import Bound, NumeralError, Quantity, record
from .numerals import CN_NUMERAL_CHARS, parse_numeral

# Named fragments. A numeral is Arabic (with an optional 万/亿 scale) or Chinese
# (optionally vague: 数十, 几百).
# 千 before 米/克 is part of the unit (2千米 is 2 km), not a scale
ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[十百万亿]|千(?![米克瓦]))*"
CHINESE = rf"(?:[数几][{CN_NUMERAL_CHARS}]*|[{CN_NUMERAL_CHARS}]+(?:点[零〇一二三四五六七八九]+[万亿]*)?)"
NUMERAL = rf"(?:{ARABIC}|{CHINESE})"
_PERCENT_CN = regex.compile(rf"百分之([{CN_NUMERAL_CHARS}]+(?:点[{CN_NUMERAL_CHARS}]+)?)")
_FRACTION_CN = regex.compile(rf"([{CN_NUMERAL_CHARS}]+)分之([{CN_NUMERAL_CHARS}]+)")
_HALF = regex.compile(r"(?<![另这那])一半")
# 八成 (eight tenths) → 80 %; not 成为, 成立, 一成不变 …
_TENTHS = regex.compile(r"(?<![一二三四五六七八九十])([一二三四五六七八九])成(?=以上|左右|多|的|[，。、；）])")
_SCALE_WORD = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "百万": 1_000_000, "千万": 10_000_000, "亿": 100_000_000}
_COUNTLESS = regex.compile(r"数以(百万|千万|十|百|千|万|亿)计")


@record
class Candidate:
    """One numeral in the text and what it would mean as a quantity."""

    num_start: int
    num_end: int
    text: str
    chinese: bool
    quantity: Quantity | None  # None when it has no measure word
    reason: str | None = None  # why it is not a quantity, when quantity is None


@lru_cache(maxsize=8)
def _patterns(lex: Lexicon):
    units = lex.unit_alternation()
    infix = lex.bound_alternation("infix")
    suffix = lex.bound_alternation("suffix")
    prefix = lex.bound_alternation("prefix")
    numeral = regex.compile(NUMERAL)
    # after the numeral: [余/多] [gap] unit [以上/左右]
    tail = regex.compile(
        rf"(?P<infix>{infix})?(?P<scale>[万亿]+)?(?P<gap>[,，]?)(?P<unit>{units})(?P<infix2>{infix})?(?P<suffix>{suffix})?"
    )
    separators = lex.words["range_separators"]
    rng = regex.compile(rf"(?P<sep>(?:{'|'.join(map(regex.escape, separators))}){{1,2}})(?P<hi>{NUMERAL})")
    range_starts = frozenset(w[0] for w in separators)  # most numerals have none of these after them
    range_date_words = tuple(lex.words["range_date_words"])
    prefix_re = regex.compile(rf"(?:{prefix})$")
    # ``$`` also matches before a final newline
    prefix_ends = frozenset(w[-1] for w in lex.bounds["prefix"]) | {"\n"}
    # the tail's groups by number: the regex module first tries a group name as an
    # integer, and that failed conversion (an exception built and dropped) makes a
    # lookup by name ~4x slower; find_candidates reads ~7 groups of every quantity
    tail_groups = tuple(tail.groupindex[g] for g in ("infix", "scale", "gap", "unit", "infix2", "suffix"))
    return numeral, tail, tail_groups, rng, range_starts, range_date_words, prefix_re, prefix_ends


def find_candidates(
    text: str, lex: Lexicon, taken: list[tuple[int, int]] = (), noise_commas: frozenset[int] = frozenset()
) -> list[Candidate]:
    """Every numeral outside ``taken`` spans (dates), with its measure word if any.

    ``noise_commas`` are view positions of commas that were followed by layout
    whitespace in the raw text (`300, 人次`): such a comma may sit between a
    number and its unit.
    """
    numeral, tail, tail_groups, rng, range_starts, range_date_words, prefix_re, prefix_ends = _patterns(lex)
    g_infix, g_scale, g_gap, g_unit, g_infix2, g_suffix = tail_groups
    n = len(text)
    blocked = _span_mask(n, taken)
    out: list[Candidate] = []
    specials = _special_percentages(text)
    for m in specials:
        if not blocked[m.num_start]:
            out.append(m)
            for k in range(m.num_start, m.quantity.end if m.quantity else m.num_end):
                blocked[k] = True
    pos = 0
    for m in numeral.finditer(text):
        s, e = m.span()
        if s < pos or any(blocked[s:e]):
            continue
        num_text = m.group()
        chinese = not num_text[0].isdigit()
        if chinese and _is_lone_scale(num_text) and not tail.match(text, e):
            continue  # 万 of 万众一心, 千 of 千方百计: not a number unless a measure word follows
        try:
            num = parse_numeral(num_text)
        except NumeralError:
            continue
        value, hi, end_num, bound = num.value, None, e, num.bound
        r = rng.match(text, e) if e < n and text[e] in range_starts else None  # (most numerals: no range)
        if r and not text.startswith(range_date_words, r.end()):  # 3至5月 is a date range
            try:
                hi_num = parse_numeral(r.group("hi"))
                t_hi = tail.match(text, r.end())
                # `10万至20万元`: the scale of the upper end carries to the lower one
                lo = value
                scale = regex.search(r"[万亿]+$", r.group("hi"))
                if scale and not regex.search(r"[万亿]", num_text):
                    lo = parse_numeral(num_text + scale.group()).value
                if t_hi and hi_num.value > lo:
                    value, hi, end_num = lo, hi_num.value, r.end()
            except NumeralError:
                pass
        t = tail.match(text, end_num)
        if t is None or (t.group(g_gap) and t.start(g_gap) not in noise_commas):
            out.append(Candidate(s, e, num_text, chinese, None, "no measure word"))
            pos = e
            continue
        infix1, scale, unit_word, infix2, suffix = t.group(g_infix, g_scale, g_unit, g_infix2, g_suffix)
        unit = lex.units[unit_word]
        for ch in scale or "":  # 40余万份: the scale comes after 余
            value *= 10_000 if ch == "万" else 100_000_000
        infix = infix1 or infix2
        if infix:
            bound = lex.bounds["infix"][infix]
        elif suffix:
            bound = lex.bounds["suffix"][suffix]
        if hi is not None:
            bound = Bound.range
        elif bound is Bound.eq and s and text[s - 1] in prefix_ends:  # (the only ones a prefix can end with)
            pm = prefix_re.search(text, max(0, s - 4), s)
            if pm:
                bound = lex.bounds["prefix"][pm.group()]
        # the span runs through the unit (and an infix 余/多 after it: `14亿多`)
        span_end = t.end(g_unit) if not infix2 else t.end(g_infix2)
        q = Quantity(
            start=s,
            end=span_end,
            value=_scale(value, unit.factor),
            value_hi=_scale(hi, unit.factor) if hi is not None else None,
            unit=unit.canonical,
            unit_raw=unit.surface,
            bound=bound,
            rule=_rule_name(chinese, infix, hi, unit.kind),
            num_start=s,
            num_end=e,
        )
        out.append(Candidate(s, e, num_text, chinese, q))
        pos = span_end
    if specials:  # the numerals came in text order
        out.sort(key=lambda c: c.num_start)
    return out


@lru_cache(maxsize=8)
def _people_patterns(lex: Lexicon):
    return (
        regex.compile(r"[\p{Han}]{0,9}?(" + "|".join(map(regex.escape, lex.words["people_nouns"])) + r"|人(?![员次数]))"),
        regex.compile(
            "(?:" + "|".join(map(regex.escape, lex.words["people_nouns_before"])) + ")"
            "(?:" + "|".join(map(regex.escape, lex.words["people_nouns_before_links"])) + ")?$"
        ),
    )


def implied_unit(cand: Candidate, text: str, lex: Lexicon) -> Candidate:
    """A bare 万/亿 number before a people noun counts people: `35万父老乡亲`, `1.5万驿马人`."""
    if cand.quantity is not None:
        return cand
    countless = _COUNTLESS.fullmatch(cand.text)
    if not (countless or cand.text.endswith(("万", "亿"))):  # a numeral has no newline for $ to skip
        return cand
    after = text[cand.num_end: cand.num_end + 12]
    noun_after, noun_before_re = _people_patterns(lex)
    m = noun_after.match(after)
    before = text[max(0, cand.num_start - 8): cand.num_start]
    noun_before = noun_before_re.search(before)
    if (not m or regex.search(r"[，。、；：]", after[: m.end()])) and not noun_before:
        return cand
    if countless:
        value, bound, rule = float(_SCALE_WORD[countless.group(1)]), Bound.ge, "数以<num>计<people noun>"
    else:
        value, bound, rule = parse_numeral(cand.text).value, Bound.eq, "<num>万<people noun>"
    q = Quantity(cand.num_start, cand.num_end, value, None, "人", None, bound, rule, cand.num_start, cand.num_end)
    return replace(cand, quantity=q, reason=None)


def _special_percentages(text: str) -> list[Candidate]:
    """百分之九十五 → 95 %; 五分之一 → 20 %; 一半 → 50 %."""
    out = []
    for m in _PERCENT_CN.finditer(text):
        try:
            v = parse_numeral(m.group(1)).value
        except NumeralError:
            continue
        q = Quantity(m.start(), m.end(), v, None, "%", "百分之", Bound.eq, "百分之<num>", m.start(), m.end())
        out.append(Candidate(m.start(), m.end(), m.group(), True, q))
    for m in _HALF.finditer(text):
        q = Quantity(m.start(), m.end(), 50.0, None, "%", "一半", _suffix_bound(text, m.end()), "一半", m.start(), m.end())
        out.append(Candidate(m.start(), m.end(), m.group(), True, q))
    for m in _TENTHS.finditer(text):
        v = 10.0 * parse_numeral(m.group(1)).value
        q = Quantity(m.start(), m.end(), v, None, "%", "成", _suffix_bound(text, m.end()), "<num>成", m.start(), m.end())
        out.append(Candidate(m.start(), m.end(), m.group(), True, q))
    for m in _COUNTLESS.finditer(text):
        # 数以百万计 (by the millions): no measure word; implied_unit gives it one
        out.append(Candidate(m.start(), m.end(), m.group(), True, None, "no measure word"))
    for m in _FRACTION_CN.finditer(text):
        if m.group(1).startswith("百"):
            continue
        try:
            den, numr = parse_numeral(m.group(1)).value, parse_numeral(m.group(2)).value
        except NumeralError:
            continue
        if den:
            q = Quantity(m.start(), m.end(), round(100 * numr / den, 6), None, "%", "分之", Bound.eq, "<num>分之<num>", m.start(), m.end())
            out.append(Candidate(m.start(), m.end(), m.group(), True, q))
    return out


def _suffix_bound(text: str, pos: int) -> Bound:
    after = text[pos:pos + 2]
    if after.startswith(("以上", "多")):
        return Bound.ge
    if after.startswith(("以下", "以内")):
        return Bound.le
    if after.startswith(("左右", "上下")):
        return Bound.approx
    return Bound.eq


def _span_mask(n: int, spans) -> list[bool]:
    mask = [False] * (n + 1)
    for s, e in spans:
        for k in range(max(0, s), min(n, e)):
            mask[k] = True
    return mask


def _is_lone_scale(num_text: str) -> bool:
    return len(num_text) == 1 and num_text in "十百千万亿"


def _scale(value: float | None, factor: float) -> float | None:
    if value is None:
        return None
    return float(round(value * factor, 6))


def _rule_name(chinese: bool, infix: str | None, hi, kind: str) -> str:
    num = "<cn-num>" if chinese else "<num>"
    mid = f"{infix}" if infix else ""
    if hi is not None:
        return f"{num}-{num}<{kind}>"
    return f"{num}{mid}<{kind}>"
