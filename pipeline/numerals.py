"""Numbers: Arabic, full-width, Chinese, mixed (13.8万), vague (数十, 两三).

Everything numeric goes through :func:`parse_numeral`; nothing else calls cn2an.
cn2an only ever sees an isolated numeral that has already been stripped of
layout whitespace and of 余/多, never running text (its sentence transform
rewrites words such as 大年初一).

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
# simplified ones by the repair stage, so they are not listed here.
CN_DIGITS = "零〇一二三四五六七八九"
CN_UNITS = "十百千万亿"
CN_NUMERAL_CHARS = CN_DIGITS + CN_UNITS + "两廿卅"
_DIGIT_VALUE = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2}
_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_LAYOUT = regex.compile(r"\s+")
_ARABIC_WITH_SCALE = regex.compile(r"^(\d+(?:\.\d+)?)([十百千万亿]*)$")
_THOUSANDS = regex.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CN_DECIMAL_WITH_SCALE = regex.compile(r"^(.+点[零〇一二三四五六七八九]+)([万亿]+)$")
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

    Accepts ``97``, ``１２``, ``13.8万``, ``1.5 万`` (layout spaces), ``十五``,
    ``两``, ``二〇二〇``, ``百``/``千`` (implicit 一), ``数十``/``几百`` (vague: lower
    end, ge), ``两三``/``三四`` (a vague pair: lower end, approx).
    Raises :class:`NumeralError` naming the text when it is not a numeral.
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
        return Numeral(float(value))
    if s[0] in "数几":
        return _vague(s[1:], text)
    if len(s) == 2 and s[0] in _DIGIT_VALUE and s[1] in _DIGIT_VALUE:
        a, b = _DIGIT_VALUE[s[0]], _DIGIT_VALUE[s[1]]
        if b == a + 1 or (a, b) in ((2, 3), (3, 5)):  # 两三, 三四, 七八, 三五: a vague count
            return Numeral(float(a), Bound.approx)
    m = _CN_DECIMAL_WITH_SCALE.match(s)
    if m:  # 三点五万: cn2an reads the decimal, the scale multiplies it
        value = _chinese(m.group(1), text)
        for ch in m.group(2):
            value *= _SCALE[ch]
        return Numeral(_tidy(value))
    return Numeral(_tidy(_chinese(s, text)))


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


def _chinese(s: str, text: str) -> float:
    if s[0] in "十百千万亿":
        s = ("一" + s) if s[0] != "十" else s
    s = s.replace("廿", "二十").replace("卅", "三十")
    simple = _simple_chinese(s)
    if simple is not None:
        return simple
    if len(s) > MAX_CHINESE_LENGTH:
        return math.inf  # (cn2an's time grows with the square of the length)
    import cn2an  # see the module doc: only for the forms _simple_chinese leaves

    try:
        return float(cn2an.cn2an(s, "smart"))
    except OverflowError:  # an integer beyond float range (`两两两…`): the value guard rejects it
        return math.inf
    except (ValueError, KeyError) as exc:  # cn2an raises ValueError on bad input
        raise NumeralError(f"not a numeral: {text!r}") from exc


def _tidy(value: float) -> float:
    """Round away binary noise from 13.8 * 10000 so that values compare exactly."""
    return float(round(value, 6))
