"""Numbers: Arabic, full-width, Chinese, financial (大写), mixed (13.8万, 3万2千5百),
vague (数十, 两三, 三十几万).

Everything numeric goes through :func:`parse_numeral`; nothing else calls cn2an.
cn2an only ever sees an isolated numeral that has already been stripped of
layout whitespace and of 余/多, never running text (its sentence transform
rewrites words such as 大年初一).

cn2an reads some strings that are not numerals in running text as if they were
(``十两`` → 12, ``五一`` → 51, ``三三两两`` → 3322): a wrong value is worse than
none, so the forms it is given are checked first (:func:`_check_chinese`).

cn2an is imported on first use: its import builds several dozen regular
expressions (a few tenths of a second at every process start), and the
commonest Chinese numerals (一, 十五, 三百) are read by :func:`_simple_chinese`,
which gives cn2an's values for the forms it accepts (a test checks them all).
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import regex

from .model import Bound, NumeralError, record

# Characters that make up a Chinese numeral. Traditional forms are mapped to
# simplified ones by the repair stage (萬 → 万, 貳 → 贰), so they are not listed here.
CN_DIGITS = "零〇一二三四五六七八九"
CN_UNITS = "十百千万亿"
CN_NUMERAL_CHARS = CN_DIGITS + CN_UNITS + "两廿卅"
# The financial (大写) forms of cheques and donation notices: 壹…玖, 拾 佰 仟.
FINANCIAL_DIGITS = "壹贰叁肆伍陆柒捌玖"
FINANCIAL_UNITS = "拾佰仟"
_FINANCIAL = str.maketrans(FINANCIAL_DIGITS + FINANCIAL_UNITS, "一二三四五六七八九十百千")
_DIGIT_VALUE = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_SCALE_WIDTH = {"十": 1, "百": 2, "千": 3, "万": 4, "亿": 8}  # digits a full group below the scale has
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_LAYOUT = regex.compile(r"\s+")
_ARABIC_WITH_SCALE = regex.compile(r"^(\d+(?:\.\d+)?)([十百千万亿]*)$")
# 3万2千5百, 1万5000, 2亿3000万, 1万2: Arabic groups, each with its scale, and a last group without one
_MIXED = regex.compile(r"^\d+(?:\.\d+)?[十百千万亿]+(?:零?\d+[十百千万亿]+)*(?P<zero>零?)(?P<last>\d*)$")
_DIGITS_IN_MIXED = str.maketrans("一二三四五六七八九两", "1234567892")
_THOUSANDS = regex.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_CN_DECIMAL_WITH_SCALE = regex.compile(r"^(.+点[零〇一二三四五六七八九]+)([万亿]+)$")
# 两三, 三四, 七八, 三五, 一两 (a vague pair), also inside a numeral: 二三十, 三四百万, 十七八
_VAGUE_PAIR = regex.compile(r"^(?P<pre>(?:.*[十百千万亿])?)(?P<a>[一二三四五六七八九两])(?P<b>[一二三四五六七八九两])(?P<post>[十百千万亿]*)$")
_PAIRS_BESIDES_NEIGHBOURS = {(3, 5), (3, 2)}  # 三五个, 三两个; otherwise the second digit is the next one
_NONZERO_DIGITS_IN_A_ROW = regex.compile(r"[一二三四五六七八九两]{2}")
_DIGIT_STRING = regex.compile(r"^[零〇一二三四五六七八九]{3,4}$")  # 二〇二〇: read digit by digit (a year, a code)
# A Chinese numeral longer than this is read as too large to represent (inf), which the
# claims stage rejects (value_out_of_range): the largest counts a float holds exactly
# (up to 2**53) take about 30 characters.
MAX_CHINESE_LENGTH = 48


@record
class Numeral:
    """A parsed numeral: its value and the bound its own wording implies."""

    value: float
    bound: Bound = Bound.eq


@lru_cache(maxsize=4096)
def parse_numeral(text: str) -> Numeral:
    """Parse one isolated numeral.

    Accepts ``97``, ``１２``, ``1,264``, ``13.8万``, ``1.5 万`` (layout spaces),
    ``3万2千5百`` and ``1万5000`` (mixed), ``十五``, ``两``, ``二〇二〇``, ``伍拾万``
    (financial), ``百``/``千`` (implicit 一), ``数十``/``几百`` (vague: lower
    end, ge), ``十几``/``三十几万`` (a vague digit: 0 in the units place, 1 before
    a scale; ge), ``两三``/``二三十`` (a vague pair: lower end, approx).
    Raises :class:`NumeralError` naming the text when it is not a numeral or
    could be read more than one way.
    """
    if text.isascii() and text.isdigit():
        return Numeral(float(text))  # most numerals: what the steps below make of them, without their regexes
    s = _LAYOUT.sub("", text).translate(_FULLWIDTH)
    s = _THOUSANDS.sub("", s)  # 1,264
    s = s.rstrip("余多来")
    if not s:
        raise NumeralError(f"not a numeral: {text!r}")
    m = _ARABIC_WITH_SCALE.match(s)
    if m:
        # in decimal arithmetic: a float product carries binary noise that rounding
        # cannot remove once the value passes ~1e9 (12345678.37万)
        try:
            value = Decimal(m.group(1))
        except InvalidOperation as exc:  # a digit newer than Python's Unicode tables (regex's \d knows it)
            raise NumeralError(f"not a numeral: {text!r}") from exc
        for ch in m.group(2):
            value *= _SCALE[ch]
        return Numeral(float(value))  # inf when too long: the value guard rejects it
    if len(s) > MAX_CHINESE_LENGTH:
        return Numeral(math.inf)  # no count is written this long: the value guard rejects it
    if s[0] in "数几":
        return _vague(s[1:], text)
    s = s.translate(_FINANCIAL)
    if "几" in s:
        return _vague_digit(s, text)
    if not s.isascii() and s[0].isdigit():
        s = s.translate(_DIGITS_IN_MIXED)  # 5万两千 → 5万2千
    m = _MIXED.match(s)
    if m:
        return Numeral(_tidy(_mixed(s, m, text)))
    pair = _vague_pair(s)
    if pair is not None:
        return Numeral(_tidy(_chinese(pair, text)), Bound.approx)
    m = _CN_DECIMAL_WITH_SCALE.match(s)
    if m:  # 三点五万: cn2an reads the decimal, the scale multiplies it
        value = _chinese(m.group(1), text)
        for ch in m.group(2):
            value *= _SCALE[ch]
        return Numeral(_tidy(value))
    return Numeral(_tidy(_chinese(s, text)))


def digit_value(ch: str) -> int | None:
    """The value of one digit character (Arabic, Chinese, financial), or None."""
    if ch.isascii() and ch.isdigit():
        return int(ch)
    return _DIGIT_VALUE.get(ch.translate(_FINANCIAL))


def _vague(rest: str, text: str) -> Numeral:
    """数十, 几百, 数千, 数万: the smallest value the phrase allows; 几/数 alone is 2."""
    if not rest:
        return Numeral(2.0, Bound.ge)
    value = 1.0
    for ch in rest:
        if ch not in _SCALE:
            raise NumeralError(f"not a vague numeral: {text!r}")
        value *= _SCALE[ch]
    return Numeral(value, Bound.ge)


def _vague_digit(s: str, text: str) -> Numeral:
    """十几, 三十几万, 20几 (a digit left open in the units place: at least the round
    number, ge); 一百几十 (before a scale 几 is at least 一: 110, ge)."""
    head, _, tail = s.partition("几")
    if not head or "几" in tail or not (head[-1] in "十百千" or (head[-1] == "0" and head.isdigit())):
        raise NumeralError(f"not a numeral: {text!r}")
    if tail and tail[0] in "十百千":
        return Numeral(_tidy(_chinese(head + "一" + tail, text)), Bound.ge)
    if any(ch not in "万亿" for ch in tail):
        raise NumeralError(f"not a numeral: {text!r}")
    value = parse_numeral(head).value
    for ch in tail:
        value *= _SCALE[ch]
    return Numeral(_tidy(value), Bound.ge)


def _vague_pair(s: str) -> str | None:
    """两三, 二三十, 三四百万, 十七八: the numeral at the lower end (两, 二十, 三百万,
    十七), or None when ``s`` holds no vague pair."""
    m = _VAGUE_PAIR.match(s)
    if m is None:
        return None
    a, b = _DIGIT_VALUE[m.group("a")], _DIGIT_VALUE[m.group("b")]
    if b != a + 1 and (a, b) not in _PAIRS_BESIDES_NEIGHBOURS:
        return None
    low = m.group("a") if a < b else m.group("b")
    return m.group("pre") + low + m.group("post")


def _mixed(s: str, m, text: str) -> float:
    """3万2千5百 = 32500, 1万5000 = 15000, 1万2 = 12000 (one digit: the next place down),
    3万零500 = 30500. A last group of any other width (1万50) could be read two ways."""
    last, zero = m.group("last"), m.group("zero")
    if last and not zero:
        scales = s[: len(s) - len(last)]
        scales = scales[len(scales.rstrip("十百千万亿")):]
        if not ((len(last) == 1 and len(scales) == 1) or len(last) == _SCALE_WIDTH[scales[-1]]):
            raise NumeralError(f"ambiguous numeral: {text!r}")
    elif zero and not last:
        raise NumeralError(f"not a numeral: {text!r}")
    import cn2an  # see the module doc

    try:
        return float(cn2an.cn2an(s, "smart"))
    except OverflowError:  # beyond float range: the value guard rejects it
        return math.inf
    except (ValueError, KeyError) as exc:
        raise NumeralError(f"not a numeral: {text[:40]!r}") from exc


_ONE_TO_NINE = {c: v for c, v in _DIGIT_VALUE.items() if v}  # 一…九 and 两


def _simple_chinese(s: str) -> float | None:
    """A digit (零, 一, 两), 十 with its tens and units (十, 十五, 二十, 三十七) or a digit
    and one scale (三百, 两千, 五万): its value, as cn2an gives it; None for any other form."""
    n = len(s)
    if n == 1:
        v = _DIGIT_VALUE.get(s)
        return float(v) if v is not None else (10.0 if s == "十" else None)
    if n > 3:
        return None
    if "十" in s:
        tens, _, units = s.partition("十")
        if len(tens) > 1 or len(units) > 1 or (tens and tens not in _ONE_TO_NINE) or (units and units not in _ONE_TO_NINE):
            return None
        return float(_ONE_TO_NINE.get(tens, 1) * 10 + _ONE_TO_NINE.get(units, 0))
    if n == 2 and s[0] in _ONE_TO_NINE and s[1] in _SCALE:
        return float(_ONE_TO_NINE[s[0]] * _SCALE[s[1]])
    return None


def _check_chinese(s: str, text: str) -> None:
    """Forms cn2an reads but running text does not mean as one number: 两 that is not
    before 百/千/万/亿 (十两, 两十, 一百两: 两 is then the weight), and two digits in a
    row (五一, 三三两两) outside a digit-by-digit string such as 二〇二〇."""
    if len(s) > 1:
        i = s.find("两")
        while i != -1:
            if i + 1 == len(s) or s[i + 1] not in "百千万亿":
                raise NumeralError(f"not a numeral: {text!r}")
            i = s.find("两", i + 1)
        if _NONZERO_DIGITS_IN_A_ROW.search(s) and not _DIGIT_STRING.match(s):
            raise NumeralError(f"not a numeral: {text!r}")
        if len(s) == 2 and s[0] in CN_DIGITS and s[1] in CN_DIGITS:
            raise NumeralError(f"not a numeral: {text!r}")  # 二〇, 零五


def _chinese(s: str, text: str) -> float:
    if s[0] in "十百千万亿":
        s = ("一" + s) if s[0] != "十" else s
    if len(s) > MAX_CHINESE_LENGTH:
        return math.inf  # (cn2an's time grows with the square of the length)
    s = s.replace("廿", "二十").replace("卅", "三十")
    _check_chinese(s.partition("点")[0], text)
    simple = _simple_chinese(s)
    if simple is not None:
        return simple
    import cn2an  # see the module doc: only for the forms _simple_chinese leaves

    try:
        return float(cn2an.cn2an(s, "smart"))
    except OverflowError:  # an integer beyond float range (`两两两…`): the value guard rejects it
        return math.inf
    except (ValueError, KeyError) as exc:  # cn2an raises ValueError on bad input
        raise NumeralError(f"not a numeral: {text[:40]!r}") from exc


def _tidy(value: float) -> float:
    """Round away binary noise from 13.8 * 10000 so that values compare exactly."""
    return float(round(value, 6))
