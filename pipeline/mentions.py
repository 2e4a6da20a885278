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

import re

import regex

from .lexicon import Lexicon, Unit
from .model import Bound, NumeralError, Quantity, record
from .numerals import CN_DIGITS, CN_NUMERAL_CHARS, FINANCIAL_DIGITS, FINANCIAL_UNITS, MAX_CHINESE_LENGTH, digit_value, parse_numeral

# Named fragments. NUMERAL is the {num} of the exclusion rules: Arabic (with optional
# 万/亿 scales and thousands separated by commas) or Chinese (optionally vague: 数十, 几百).
# 千 before 米/克 is part of the unit (2千米 is 2 km), not a scale
_A_SCALE = r"(?:[十百万亿]|千(?![米克瓦]))"
ARABIC = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?{_A_SCALE}*"
CHINESE = rf"(?:[数几][{CN_NUMERAL_CHARS}]*|[{CN_NUMERAL_CHARS}]+(?:点[{CN_DIGITS}]+[万亿]*)?)"
NUMERAL = rf"(?:{ARABIC}|{CHINESE})"
# Candidates are found with a wider grammar, kept out of the exclusion rules (they need
# none of it, and their fast path works from the set of characters a numeral can hold):
# mixed groups (3万2千5百, 1万5000, 5万两千), a vague digit (三十几万, 20几), and financial
# numerals (伍拾万, two characters at least: 队伍 and 陆续 hold a lone 伍 or 陆), looked for
# only in a text that has one (the alternative costs the scan a sixth of its time).
# Thousands separated by full-width commas or spaces (1，234，567, 1 000 000) are read
# on from a numeral's end (:func:`_digit_groups`), not by the scan: they are rare, and
# those characters are everywhere.
_A_MORE = rf"(?:{_A_SCALE}+(?:零?(?:\d+|[一二三四五六七八九两]){_A_SCALE}+)*(?:零?\d+(?![\d.]))?|几{_A_SCALE}*)?"
_ARABIC_IN_TEXT = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?{_A_MORE}"
_CHINESE_IN_TEXT = (
    rf"(?:[数几][{CN_NUMERAL_CHARS}]*|[{CN_NUMERAL_CHARS}]+(?:点[{CN_DIGITS}]+[万亿]*|几[{CN_NUMERAL_CHARS}]*)?)"
)
_FIN = FINANCIAL_DIGITS + FINANCIAL_UNITS
_FINANCIAL = rf"[{_FIN}][{_FIN}零〇万亿]+"
_FINANCIAL_CHARS = frozenset(_FIN)
_FINANCIAL_RUN = frozenset(_FIN + "零〇万亿")
_NUMERAL_IN_TEXT = rf"(?:{_ARABIC_IN_TEXT}|{_CHINESE_IN_TEXT})"
_NUMERAL_OR_FINANCIAL = rf"(?:{_ARABIC_IN_TEXT}|{_CHINESE_IN_TEXT}|{_FINANCIAL})"
_GROUP_SEPARATORS = "，\u0020\u00a0\u2009\u202f"
_SEPARATOR_CHARS = frozenset(_GROUP_SEPARATORS)
_SPACES = frozenset(_GROUP_SEPARATORS[1:])
_CN_OR_ARABIC = rf"(?:\d+(?:\.\d+)?|[{CN_NUMERAL_CHARS}]+(?:点[{CN_NUMERAL_CHARS}]+|几)?)"
_PERCENT_CN = regex.compile(rf"百分之({_CN_OR_ARABIC})")
_FRACTION_CN = regex.compile(rf"(?<!又)([{CN_NUMERAL_CHARS}]+)分之({_CN_OR_ARABIC})")  # not 三又二分之一 (3.5)
_HALF = regex.compile(r"(?<![另这那])一半")
# 八成, 8成, 7.5成, 六成半, 八成五 (tenths) → 80 %, 80 %, 75 %, 65 %, 85 %; not in 成为, 成员,
# 一成不变 (jieba's dictionary tells them apart: N成 must be a word of its own)
_TENTHS = regex.compile(
    rf"(?<![\d.{CN_NUMERAL_CHARS}第])([一二三四五六七八九十两]|\d+(?:\.\d+)?)成(半|[一二三四五六七八九](?=的|[^\d\p{{Han}}]|$))?"
)
_MONEY_TENTH = regex.compile(r"[一二三四五六七八九\d](?![\d十百千万亿点.])")
_TENTH_DIGITS = frozenset("一二三四五六七八九十两")
# 八折, 打7.5折, 八五折: the share of the price paid (N折 a word of its own: not 折合, 一波三折)
_DISCOUNT = regex.compile(r"(?<![\d.一二三四五六七八九十百千万])([一二三四五六七八九][一二三四五六七八九]?|\d(?:\.\d)?)折")
# (compiled here: a module-level regex.search looks its pattern up in regex's cache, some
# 40 us a call once that cache holds more patterns than it keeps)
_SCALE_AT_END = regex.compile(r"[万亿]+$")
_SCALE_CHAR = regex.compile(r"[万亿]")
_CLAUSE_MARK = regex.compile(r"[，。、；：]")
_SCALE_WORD = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "百万": 1_000_000, "千万": 10_000_000, "亿": 100_000_000}
_COUNTLESS = regex.compile(r"数以(百万|千万|十|百|千|万|亿)计")
# what a whole number of 元 or 块 can be followed by: 5角, 2毛5, 5分 (钱), or one digit (两块五 = 2.5元)
_MONEY_PARTS = regex.compile(
    r"零?(?P<jiao>[一二三四五六七八九两\d])[角毛](?:零?(?P<fen>[一二三四五六七八九\d])分?)?钱?"
    r"|零?(?P<fen_only>[一二三四五六七八九\d])分钱?"
    r"|(?P<tenth>[一二三四五六七八九\d])(?![\d十百千万亿点.])"
)
# 一米八 (1.8 m), 一米七五, 1米55 (1.55 m)
_TENTHS_AFTER_METRE = regex.compile(r"(?:[一二三四五六七八九]{{1,2}}|\d{{1,2}})(?![\d.{0}点])".format(CN_NUMERAL_CHARS))
_LIANG_AFTER_JIN = regex.compile(r"(?P<liang>[一二三四五六七八九两\d])两")
_HALF_AFTER_KINDS = frozenset({"mass", "length", "volume", "area", "money"})  # 两吨半, 3斤半, 一米半, 三块半
# what a smaller part after a unit can start with (most units are followed by none of these)
_MINUS = frozenset("负-−－")
_RANGE_ENDS = frozenset("%‰％")  # a minus after these is a range's dash (30%-40%)
_PART_STARTS = frozenset("半零〇一二三四五六七八九两0123456789")
_HALF_BEFORE_KINDS = frozenset({"mass", "length", "volume", "area"})  # 半吨, 半公里


@record
class Candidate:
    """One numeral in the text and what it would mean as a quantity."""

    num_start: int
    num_end: int
    text: str
    chinese: bool
    quantity: Quantity | None  # None when it has no measure word
    reason: str | None = None  # why it is not a quantity, when quantity is None


def alternation_trie(words) -> str:
    """A regex matching the longest of ``words`` that starts at a position, written as a
    trie (人(?:份|次|民币)?): the same matches as their alternation longest first, in time
    that does not grow with the number of words (the tail is matched after every numeral)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [regex.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


@lru_cache(maxsize=8)
def _patterns(lex: Lexicon):
    units = alternation_trie(lex.units)
    infix = lex.bound_alternation("infix")
    suffix = lex.bound_alternation("suffix")
    prefix = lex.bound_alternation("prefix")
    numeral = regex.compile(_NUMERAL_IN_TEXT), regex.compile(_NUMERAL_OR_FINANCIAL)
    # after the numeral: [余/多] [gap] unit [以上/左右]
    # (``re``: this pattern needs nothing of ``regex``, and ``re`` matches it in under half the
    # time; it is tried after every numeral)
    tail = re.compile(
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


@record
class _MoneyWords:
    """Currency signs and codes before a number, the words that make 块 mean 元, 块 as 元,
    and the other word lists of money and halves (words.yaml)."""

    signs: dict  # sign or code -> Unit
    sign_re: object  # a sign (and a space) ending where the number starts
    sign_ends: frozenset  # the last characters of the signs: a cheap test before the search
    kuai_cues: object  # a word about a price or payment up to two characters before the number
    kuai_followers: object  # what may follow 块 when it means 元
    kuai: Unit
    yuan_names: tuple  # 人民币: after 块, it makes it 元
    after_arabic_only: frozenset  # 毛, 角: money after Arabic digits or before their fen (三毛 is a name)
    halved_counts: frozenset  # 个, 倍: count words with a half after them (两个半, 两倍半)
    not_before_half: frozenset  # 一半, 大半, 过半: not 半 of a unit (半吨)
    foreign: dict  # a foreign currency's name -> its Unit (港币 → 港元)
    foreign_re: object  # such a name ending where a number in 元 starts (港币100元 is HK$)
    foreign_ends: frozenset


@lru_cache(maxsize=8)
def _money_words(lex: Lexicon) -> _MoneyWords:
    yuan = lex.units["元"].canonical
    foreign = {w: Unit(w, u.canonical, 1.0, "money") for w, u in lex.units.items() if u.kind == "money" and u.canonical != yuan and u.factor == 1}
    signs = {}
    for entry in lex.words["currency_prefixes"]:
        sign, _, canonical = entry.rpartition(":")
        signs[sign] = Unit(sign, canonical, 1.0, "money")
    return _MoneyWords(
        signs,
        regex.compile("(?:" + "|".join(regex.escape(s) for s in sorted(signs, key=lambda s: (-len(s), s))) + r") ?$"),
        frozenset(s[-1] for s in signs) | {" "},
        regex.compile("(?:" + "|".join(map(regex.escape, lex.words["kuai_money_cues"])) + r")[^，。；！？、\n]{0,2}$"),
        regex.compile(r"[^\p{Han}]|$|" + "|".join(map(regex.escape, lex.words["kuai_money_followers"]))),
        Unit("块", lex.units["块钱"].canonical, 1.0, "money"),
        tuple(lex.words["kuai_money_after"]),
        frozenset(lex.words["money_after_arabic_only"]),
        frozenset(lex.words["halved_count_words"]),
        frozenset(CN_NUMERAL_CHARS).union(*lex.words["not_before_half"]),
        foreign,
        regex.compile("(?:" + "|".join(regex.escape(w) for w in sorted(foreign, key=lambda w: (-len(w), w))) + ")$"),
        frozenset(w[-1] for w in foreign),
    )


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
    money = _money_words(lex)
    sign_ends, foreign_ends, yuan = money.sign_ends, money.foreign_ends, money.kuai.canonical
    rare_before = foreign_ends | _MINUS
    n = len(text)
    blocked = _span_mask(n, taken)
    out: list[Candidate] = []
    specials = _special_forms(text, lex, prefix_re)
    for m in specials:
        if not blocked[m.num_start]:
            out.append(m)
            for k in range(m.num_start, m.quantity.end if m.quantity else m.num_end):
                blocked[k] = True
    pos = 0
    for m in numeral[_has_financial_numeral(text)].finditer(text):
        s, e = m.span()
        if s < pos or blocked[s]:
            continue
        num_text = m.group()
        chinese = not num_text[0].isdigit()
        grouped = False
        if not chinese and e < n and text[e] in _SEPARATOR_CHARS and e - s <= 3:
            end = _digit_groups(text, s, e)  # 1，234，567, 1 000 000 (its groups are not numerals of their own)
            if end != e:
                e = pos = end
                num_text, grouped = text[s:e], True
        if True in blocked[s:e]:  # 3万2月1日: the numeral stops where the date starts
            e = blocked.index(True, s, e)
            num_text = text[s:e]
        if grouped or (chinese and num_text[-1] == "两" and len(num_text) <= MAX_CHINESE_LENGTH):  # (longer: out of range)
            cut = _trim(text, s, e, tail, noise_commas)
            if cut is None:
                out.append(Candidate(s, e, num_text, chinese, None, "ambiguous 两" if chinese else "ambiguous digit groups"))
                pos = e
                continue
            e = cut
            num_text = text[s:e]
        if chinese and _is_lone_scale(num_text) and not tail.match(text, e):
            continue  # 万 of 万众一心, 千 of 千方百计: not a number unless a measure word follows
        try:
            num = parse_numeral(num_text)
        except NumeralError:
            # 三百五十千克, 五十千米: a 千 the numeral cannot end with begins the measure word
            if not (chinese and len(num_text) > 1 and num_text[-1] == "千" and tail.match(text, e - 1)):
                continue
            e -= 1
            num_text = num_text[:-1]
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
                scale = _SCALE_AT_END.search(r.group("hi"))
                if scale and not _SCALE_CHAR.search(num_text):
                    lo = parse_numeral(num_text + scale.group()).value
                if t_hi and hi_num.value > lo:
                    value, hi, end_num = lo, hi_num.value, r.end()
            except NumeralError:
                pass
        t = tail.match(text, end_num)
        prev = text[s - 1] if s else ""
        if chinese and t is not None and len(num_text) == 1 and hi is None and t.group(g_unit) == "把":
            t = tail.match(text, t.end(g_unit))  # 千把人, 百把块钱: about a thousand, a hundred
            bound = Bound.approx
        if t is None or (t.group(g_gap) and t.start(g_gap) not in noise_commas):
            q = None
            if prev in sign_ends and hi is None and not chinese:
                q = _currency_sign(text, s, e, value, num, money)
            if q is None:
                out.append(Candidate(s, e, num_text, chinese, None, "no measure word"))
                pos = e
            else:
                out.append(Candidate(s, e, num_text, chinese, q))
                pos = q.end
            continue
        infix1, scale, unit_word, infix2, suffix = t.group(g_infix, g_scale, g_unit, g_infix2, g_suffix)
        if chinese and unit_word in money.after_arabic_only and not _MONEY_TENTH.match(text, t.end(g_unit)):
            # 三毛 is a name, 五角星 a star (五毛钱, 三毛五, 5毛, 5角 are money)
            out.append(Candidate(s, e, num_text, chinese, None, "no measure word"))
            pos = e
            continue
        unit = lex.units[unit_word]
        if chinese and unit.kind != "money" and not _FINANCIAL_CHARS.isdisjoint(num_text):
            # 大写 numerals write sums of money; elsewhere they are names (陆万村)
            out.append(Candidate(s, e, num_text, chinese, None, "no measure word"))
            pos = e
            continue
        for ch in scale or "":  # 40余万份: the scale comes after 余
            value *= 10_000 if ch == "万" else 100_000_000
        if infix2 and unit_word == "个" and _next_word_begins(text, t.end(g_infix2), lex):
            infix2 = None  # 54个多方合力: 多 begins 多方
        infix = infix1 or infix2
        if infix:
            bound = lex.bounds["infix"][infix]
        elif suffix:
            bound = lex.bounds["suffix"][suffix]
        if hi is not None:
            bound = Bound.range
        elif bound is Bound.eq and prev in prefix_ends:  # (the only ones a prefix can end with)
            pm = prefix_re.search(text, max(0, s - 4), s)
            if pm and not _ends_a_word(text, pm, lex):
                bound = lex.bounds["prefix"][pm.group()]
        elif prev == "上" and bound is Bound.eq and chinese and num_text.strip("百千万亿") == "":
            bound = Bound.ge  # 上百个, 上千人, 上百万 (reaching that round number); 上 stays outside, like 近
        # the span runs through the unit (and an infix 余/多 after it: `14亿多`)
        span_end = t.end(g_unit) if not infix2 else t.end(g_infix2)
        rule = _rule_name(chinese, infix, hi, unit.kind)
        start = s
        if prev in rare_before:  # (most numbers have none of these before them)
            if prev in foreign_ends and unit.canonical == yuan:
                named = money.foreign_re.search(text, max(0, s - 5), s)
                if named:  # 港币100元, 美金500元: the 元 of that currency
                    unit = Unit(unit.surface, money.foreign[named.group()].canonical, unit.factor, "money")
            elif prev in _MINUS and unit.kind == "percent" and hi is None and not _digit_or_letter(text, s - 2) and text[s - 2: s - 1] not in _RANGE_ENDS:
                value, start = -value, s - 1  # 增长-3.5%, 负5% (not the end of a range: 3-5%, 30%-40%)
        if hi is None and not (infix or scale) and value >= 0 and span_end < n and text[span_end] in range_starts:
            # 3吨至5吨, 30%-40%, 10万元至20万元: the unit written at both ends of a range
            r = rng.match(text, span_end)
            t_hi = tail.match(text, r.end()) if r else None
            if t_hi is not None and t_hi.group(g_unit) == unit_word and not any(t_hi.group(g_infix, g_scale, g_gap, g_infix2)):
                try:
                    hi_value = parse_numeral(r.group("hi")).value
                except NumeralError:
                    hi_value = None
                if hi_value is not None and hi_value > value and not text.startswith(range_date_words, t_hi.end(g_unit)):
                    hi, bound, span_end = hi_value, Bound.range, t_hi.end(g_unit)
                    rule = _rule_name(chinese, infix, hi, unit.kind)
        if unit_word == "块" and _kuai_is_money(text, s, span_end, bool(scale) or num_text[-1] in "万亿", lex):
            unit = money.kuai
        if (
            span_end < n and text[span_end] in _PART_STARTS and hi is None and not infix and not scale
            and (unit.kind in _HALF_AFTER_KINDS or unit.surface in money.halved_counts)
        ):
            # 12元5角, 两块五, 两吨半, 一斤二两: the smaller part after the unit adds to it
            value, span_end, part = _smaller_part(text, span_end, value, unit, num_text, tail)
            if part:
                rule = f"{rule}<{part}>"
        q = Quantity(
            start=start,
            end=span_end,
            value=_scale(value, unit.factor),
            value_hi=_scale(hi, unit.factor) if hi is not None else None,
            unit=unit.canonical,
            unit_raw=unit.surface,
            bound=bound,
            rule=rule,
            num_start=s,
            num_end=e,
        )
        out.append(Candidate(s, e, num_text, chinese, q))
        pos = span_end
    if specials:  # the numerals came in text order
        out.sort(key=lambda c: c.num_start)
    return out


_PERCENT_HI = regex.compile(rf"[至到~～—–-]{{1,2}}(?:百分之)?({_CN_OR_ARABIC})(?![\d{CN_NUMERAL_CHARS}点%‰个])")
_RANGE_DASHES = frozenset("至到~～—–-")
_CLAUSE_ENDS = frozenset("，。；！？、\n）)")


def _percent_range(cand: Candidate, text: str, pos: int) -> tuple[Candidate, int]:
    """百分之三十至四十, 百分之三十到百分之四十: a range of percentages (its end, or 0)."""
    r = _PERCENT_HI.match(text, pos)
    if r is None or text.startswith(("月", "日", "时", "年"), r.end()):
        return cand, 0
    try:
        hi = parse_numeral(r.group(1))
    except NumeralError:
        return cand, 0
    q = cand.quantity
    if hi.bound is not Bound.eq or hi.value <= q.value or q.bound is not Bound.eq or q.value < 0:
        return cand, 0
    q = replace(q, end=r.end(), value_hi=hi.value, bound=Bound.range, rule="百分之<num>-<num>", num_end=r.end())
    return replace(cand, num_end=r.end(), text=text[q.start: r.end()], quantity=q), r.end()


# How often jieba's dictionary must have seen a two-character word for a bound marker
# at its end to be read as part of it (附近 8499, 预约 143, 赶超 88; 共约 3 is no word)
_WORD_FREQ = 50


def _next_word_begins(text: str, pos: int, lex: Lexicon) -> bool:
    """A 多/余 after 个 at ``pos`` - 1 begins the next word: a Chinese character follows that is
    no span of time (一个多月 is a bound)."""
    nxt = text[pos: pos + 1]
    return bool(nxt) and "\u4e00" <= nxt <= "\u9fff" and not text.startswith(lex.words["time_after_ge_bound"], pos)


def _ends_a_word(text: str, marker, lex: Lexicon) -> bool:
    """附近3个村, 预约300人, 商超89家次: a one-character bound marker (近, 约, 超) that ends a
    word with the character before it is no bound."""
    k = marker.start()
    if marker.end() - k != 1 or k == 0:
        return False
    word = text[k - 1: k + 1]
    if word in lex.words["not_bound_words"]:
        return True
    from .wordfreq import tokenizer  # (rare: only a one-character marker gets here)

    return (tokenizer().FREQ.get(word) or 0) >= _WORD_FREQ


def _has_financial_numeral(text: str) -> bool:
    """A 大写 digit or unit before another character of a financial numeral (伍拾, 拾万)."""
    for ch in _FIN:
        k = text.find(ch)
        while k != -1:
            if text[k + 1: k + 2] in _FINANCIAL_RUN:
                return True
            k = text.find(ch, k + 1)
    return False


def _digit_groups(text: str, s: int, e: int) -> int:
    """The end of 1，234，567 or 1 000 000 read on from its first group ``text[s:e]``: groups
    of three digits after the same separator, not in a table row of spaced cells."""
    if not text[s:e].isdigit():
        return e
    sep = text[e]
    if sep in _SPACES and s >= 2 and text[s - 1] in _SPACES and text[s - 2].isdigit():
        return e  # a cell after another cell
    k, n = e, len(text)
    while k < n and text[k] == sep and text[k + 1: k + 4].isdigit() and len(text[k + 1: k + 4]) == 3 and not text[k + 4: k + 5].isdigit():
        k += 4
    if sep in _SPACES and text[k: k + 1] in _SPACES and text[k + 1: k + 2].isdigit():
        return e  # more cells follow
    return k


def _trim(text: str, s: int, e: int, tail, noise_commas: frozenset[int]) -> int | None:
    """Where a numeral that ends in 两 or holds group separators really ends; None
    when its digits could be read two ways.

    十两, 三百两: 两 after a digit or scale is the weight (a lone 两, 两三 and 三两
    stay numerals); with a measure word after it (十两个) it is None. 1，234，567人, 1 000 000元: full-width commas and spaces separate
    thousands when a measure word follows, there are two of them or more and no comma
    was a half-width one before a space (300, 200, 100); else the numeral ends at the
    first one. With a single one (1，234元: 1234, or a list of 1 and 234?) it is None."""
    if text[e - 1] == "两" and e - s > 1 and not (e - s == 2 and text[s] in "一三两"):
        return None if tail.match(text, e) else e - 1  # 二两个人, 十两个: no reading is safe
    seps = [k for k in range(s, e) if text[k] in _GROUP_SEPARATORS]
    if not seps:
        return e
    if not tail.match(text, e) or any(k in noise_commas for k in seps):
        return seps[0]
    return e if len(seps) > 1 else None


def _kuai_is_money(text: str, s: int, unit_end: int, scaled: bool, lex: Lexicon) -> bool:
    """块 is 元 before the jiao of a price (两块五, 5块5毛), after a word about a price or
    a payment in its clause (卖5块, 补贴200块) or after 万/亿 (十万块, not 十万块砖), when
    it ends the phrase; else it counts pieces (展板45块)."""
    words = _money_words(lex)
    if text.startswith(words.yuan_names, unit_end):
        return True  # 三百块人民币
    part = _MONEY_PARTS.match(text, unit_end)
    if part and (part.group("jiao") or part.group("fen_only") or not _unit_follows(text, part.end(), lex)):
        return True
    if words.kuai_followers.match(text, unit_end) is None:
        return False
    return scaled or words.kuai_cues.search(text, max(0, s - 6), s) is not None


def _unit_follows(text: str, pos: int, lex: Lexicon) -> bool:
    return _patterns(lex)[1].match(text, pos) is not None


def _smaller_part(text: str, pos: int, value: float, unit: Unit, num_text: str, tail) -> tuple[float, int, str | None]:
    """(value, span end, rule part) after a whole number of a unit: 12元5角 (12.5元),
    两块五 (2.5元), 两吨半 (2.5吨), 一斤二两 (1.2斤); the same value when nothing follows."""
    ch = text[pos]
    if ch == "半" and value.is_integer() and _whole_words(text, pos + 1, pos + 1):  # (jieba has 斤半; 半径 is a word)
        return value + 0.5, pos + 1, "半"
    if unit.kind == "money" and unit.factor == 0.1 and value.is_integer():  # 三毛五: 3.5 毛
        m = _MONEY_TENTH.match(text, pos)
        if m and not tail.match(text, m.end()):
            return value + digit_value(m.group()) / 10, m.end(), "分"
        return value, pos, None
    if unit.kind == "money" and unit.canonical == "元" and unit.factor == 1 and value.is_integer():
        m = _MONEY_PARTS.match(text, pos)
        if m is None:
            return value, pos, None
        if m.group("jiao"):
            fen = digit_value(m.group("fen")) if m.group("fen") else 0
            return value + digit_value(m.group("jiao")) / 10 + fen / 100, m.end(), "角"
        if m.group("fen_only"):
            return value + digit_value(m.group("fen_only")) / 100, m.end(), "分"
        if not tail.match(text, m.end()):
            return value + digit_value(m.group("tenth")) / 10, m.end(), "角"
        return value, pos, None
    if unit.surface == "米" and value.is_integer() and "." not in num_text:
        m = _TENTHS_AFTER_METRE.match(text, pos)
        if m and not tail.match(text, m.end()):
            digits = m.group()
            return value + sum(digit_value(d) / 10 ** (k + 1) for k, d in enumerate(digits)), m.end(), "米<num>"
        return value, pos, None
    if unit.surface == "斤" and value.is_integer():
        m = _LIANG_AFTER_JIN.match(text, pos)
        if m:
            return value + digit_value(m.group("liang")) / 10, m.end(), "两"
    return value, pos, None


def _currency_sign(text: str, s: int, e: int, value: float, num, words: _MoneyWords) -> Quantity | None:
    """￥500, $1.5亿, RMB 100: a currency sign or code right before a number with no
    measure word makes it money; the span starts at the sign."""
    if text[s - 1] == " " and not (s > 1 and text[s - 2].isascii() and text[s - 2].isalpha()):
        return None  # a space after a sign only after a code (RMB 100); table cells are spaced too
    m = words.sign_re.search(text, max(0, s - 5), s)
    if m is None:
        return None
    unit = words.signs[m.group().rstrip(" ")]
    return Quantity(m.start(), e, _scale(value, unit.factor), None, unit.canonical, unit.surface, num.bound, "<currency sign><num>", s, e)


def _digit_or_letter(text: str, pos: int) -> bool:
    return pos >= 0 and (text[pos].isdigit() or (text[pos].isascii() and text[pos].isalpha()))


def _whole_words(text: str, start: int, end: int) -> bool:
    """No word crosses ``start`` or ``end`` as jieba reads the text around them: 三成,
    八折 and the 半 of 两吨半 are words of their own; 成员, 一成不变, 一波三折, 半径 are not."""
    from .wordfreq import tokenizer  # jieba, its dictionary loaded lazily

    a = max(0, start - 3)
    for _, ws, we in tokenizer().tokenize(text[a: end + 3]):
        if ws < start - a < we or ws < end - a < we:
            return False
    return True


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
    if not _FINANCIAL_CHARS.isdisjoint(cand.text):
        return cand  # 陆万村: a 大写 numeral outside a sum of money is a name
    after = text[cand.num_end: cand.num_end + 12]
    noun_after, noun_before_re = _people_patterns(lex)
    m = noun_after.match(after)
    before = text[max(0, cand.num_start - 8): cand.num_start]
    noun_before = noun_before_re.search(before)
    if (not m or _CLAUSE_MARK.search(after[: m.end()])) and not noun_before:
        return cand
    if countless:
        value, bound, rule = float(_SCALE_WORD[countless.group(1)]), Bound.ge, "数以<num>计<people noun>"
    else:
        value, bound, rule = parse_numeral(cand.text).value, Bound.eq, "<num>万<people noun>"
    q = Quantity(cand.num_start, cand.num_end, value, None, "人", None, bound, rule, cand.num_start, cand.num_end)
    return replace(cand, quantity=q, reason=None)


def _special_forms(text: str, lex: Lexicon, prefix_re) -> list[Candidate]:
    """百分之九十五 → 95 %; 五分之一 → 20 %; 一半 → 50 %; 八成, 7.5成 → 80 %, 75 %;
    打八折 → 80 %; 半吨 → 500 kg."""
    out = []

    def add(start: int, end: int, value: float, unit: str, unit_raw: str, rule: str) -> None:
        bound = _suffix_bound(text, end)
        if bound is Bound.eq and start:
            pm = prefix_re.search(text, max(0, start - 4), start)
            if pm and not _ends_a_word(text, pm, lex):
                bound = lex.bounds["prefix"][pm.group()]
        if unit == "%" and start and text[start - 1] == "负":
            value, start = -value, start - 1
        q = Quantity(start, end, value, None, unit, unit_raw, bound, rule, start, end)
        out.append(Candidate(start, end, text[start:end], True, q))

    if "分之" in text:
        range_end = 0
        for m in _PERCENT_CN.finditer(text):
            if m.start() < range_end:
                continue  # the upper end of 百分之三十至百分之四十
            try:
                num = parse_numeral(m.group(1))
            except NumeralError:
                continue
            add(m.start(), m.end(), num.value, "%", "百分之", "百分之<num>")
            if num.bound is not Bound.eq:
                out[-1] = replace(out[-1], quantity=replace(out[-1].quantity, bound=num.bound))
            elif text[m.end(): m.end() + 1] in _RANGE_DASHES:
                out[-1], range_end = _percent_range(out[-1], text, m.end())
        for m in _FRACTION_CN.finditer(text):
            if m.group(1).startswith("百"):
                continue
            try:
                den, numr = parse_numeral(m.group(1)).value, parse_numeral(m.group(2)).value
            except NumeralError:
                continue
            if den:
                add(m.start(), m.end(), round(100 * numr / den, 6), "%", "分之", "<num>分之<num>")
    for m in _HALF.finditer(text):
        add(m.start(), m.end(), 50.0, "%", "一半", "一半")
    for word in lex.words["whole_percent_words"]:
        k = text.find(word)
        while k != -1:
            end = k + len(word)
            if end == len(text) or text[end] in _CLAUSE_ENDS:  # (百分百落实: an adverb, no share)
                add(k, end, 100.0, "%", word, "百分百")
            k = text.find(word, end)
    for m in _tenths(text):
        try:
            tenths = parse_numeral(m.group(1)).value
        except NumeralError:
            continue
        extra = m.group(2)
        if tenths > 10 or not _whole_words(text, m.start(), m.end(1) + 1):
            continue
        value = 10 * tenths + (5 if extra == "半" else digit_value(extra) if extra else 0)
        add(m.start(), m.end(), float(round(value, 6)), "%", "成", "<num>成")
    if "折" in text:
        k = text.find("打对折")
        while k != -1:  # half the price
            add(k + 1, k + 3, 50.0, "%", "折", "<num>折")
            k = text.find("打对折", k + 3)
        for m in _DISCOUNT.finditer(text):
            if not _whole_words(text, m.start(), m.end()):
                continue
            digits = m.group(1)
            if digits[0].isdigit():
                value = 10 * float(digits)
            else:
                value = 10 * digit_value(digits[0]) + (digit_value(digits[1]) if len(digits) > 1 else 0)
            add(m.start(), m.end(), float(round(value, 6)), "%", "折", "<num>折")
    if "半" in text:
        _, tail, (g_infix, g_scale, g_gap, g_unit, _, _), *_ = _patterns(lex)
        not_before = _money_words(lex).not_before_half
        k = text.find("半")
        while k != -1:
            t = tail.match(text, k + 1) if not (k and (text[k - 1] in not_before or text[k - 1].isdigit())) else None
            if t is not None and not any(t.group(g_infix, g_scale, g_gap)):
                unit = lex.units[t.group(g_unit)]
                if unit.kind in _HALF_BEFORE_KINDS:  # 半吨, 半公里
                    add(k, t.end(g_unit), _scale(0.5, unit.factor), unit.canonical, unit.surface, f"半<{unit.kind}>")
            k = text.find("半", k + 1)
    if "数以" in text:
        for m in _COUNTLESS.finditer(text):
            # 数以百万计 (by the millions): no measure word; implied_unit gives it one
            out.append(Candidate(m.start(), m.end(), m.group(), True, None, "no measure word"))
    return out


def _tenths(text: str):
    """The matches of _TENTHS, found from each 成 that follows a digit (成 is a common
    character, and a scan of the text by _TENTHS costs ten times as much)."""
    k = text.find("成")
    while k != -1:
        if k and (text[k - 1] in _TENTH_DIGITS or text[k - 1].isdigit()):
            j = k - 1
            if text[j].isdigit():
                while j and (text[j - 1].isdigit() or text[j - 1] == "."):
                    j -= 1
            m = _TENTHS.match(text, j)
            if m is not None and m.end(1) == k:
                yield m
        k = text.find("成", k + 1)


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
