"""Explicit dates in the repaired text of a bulletin.

Reads: the repaired text of a whole document (view offsets) and a
:class:`DateContext` (publication date, ``--year``).
Writes: :class:`~pipeline.model.DateMention` (start, end, ISO value, rule name).

The language knowledge (regex fragments, rule patterns, relative words,
named and lunar days, not-a-date contexts) is in ``data/dates.yaml`` and
``data/lunar_days.tsv``; this module only matches, picks and resolves.

ISO values: ``2020``, ``2020-01``, ``2020-01-26``, ``2020-02-01T14:00``.
"""
from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
from dataclasses import dataclass
from typing import Any

import regex

from pipeline.regex_shape import HAN, first_set, group_end, pattern_chars  # what a pattern can start with (a necessary condition)
from pipeline.lexicon import parse_yaml
from pipeline.model import DateMention, LexiconError, record

# The outbreak's year: the year of a date when neither the text, the
# publication date nor --year says which (the seeds are about early 2020).
OUTBREAK_YEAR = 2020
# Where the year of a date that gives none came from, from the most certain to the least:
# the publication date, a year the text states, a year given for the run (--year, or a
# manifest's default_year column), OUTBREAK_YEAR for want of anything else. A document
# reports the least certain one that any of its dates used (find_dates_and_year).
YEAR_SOURCES = ("published", "text", "option", "default")
_PUBLISHED, _TEXT, _OPTION, _DEFAULT = 1, 2, 3, 4  # 1 + index in YEAR_SOURCES
# A date without a year is put in the year before the publication year when
# it would otherwise fall more than this long after publication.
FUTURE_SLACK = dt.timedelta(days=61)

_FULLWIDTH_DIGITS = tuple(zip("０１２３４５６７８９：", "0123456789:"))


def _halfwidth_digits(text: str) -> str:
    """０-９ and ： as ASCII. A str.replace per character is much faster than
    str.translate, which looks every character of the text up in a dict."""
    for wide, narrow in _FULLWIDTH_DIGITS:
        if wide in text:
            text = text.replace(wide, narrow)
    return text


@dataclass(frozen=True)
class DateContext:
    published: dt.date | None  # publication date from a manifest
    default_year: int | None  # --year from the CLI


@dataclass(frozen=True)
class _Lexicon:
    # (kind, compiled pattern, compiled anchor or None, stops or None), in priority order:
    # see _anchor and _stops
    rules: tuple[tuple[str, Any, Any, Any], ...]
    clock: Any
    clock_range_after: Any
    range_gap: Any
    cn_digits: dict[str, int]
    relative_years: dict[str, int]
    day_periods: dict[str, str]
    relative_day_dials: dict[str, str]
    relative_days: dict[str, int]
    relative_months: dict[str, int]
    solar_named: dict[str, tuple[int, int]]
    lunar_named: dict[str, tuple[int, int, int]]
    lunar_months: dict[str, int]
    year_after_ok: tuple[str, ...]
    year_before_ok: tuple[str, ...]
    year_punct_after: str
    relative_not_before: tuple[str, ...]
    relative_not_after: tuple[str, ...]
    bare_day_not_before: tuple[str, ...]
    bare_day_not_after: tuple[str, ...]
    named_not_after: tuple[str, ...]
    since_before: tuple[str, ...]
    since_to_now: tuple[str, ...]
    since_clause: Any


# ---------------------------------------------------------------- loading


def _data_file(name: str) -> str:
    return (importlib.resources.files("pipeline") / "data" / name).read_text(encoding="utf-8")


def _read_lunar_days(text: str) -> dict[str, tuple[int, int, int]]:
    days: dict[str, tuple[int, int, int]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        try:
            surface, month, day, offset = cols[0], int(cols[1]), int(cols[2]), int(cols[3])
        except (IndexError, ValueError) as exc:
            raise LexiconError(f"lunar_days.tsv:{lineno}: expected surface, month, day, offset") from exc
        if surface in days:
            raise LexiconError(f"lunar_days.tsv:{lineno}: duplicate surface {surface!r}")
        days[surface] = (month, day, offset)
    return days


def _day_periods(data: Any, key: str) -> dict[str, str]:
    bad = {w: v for w, v in data.items() if v not in ("am", "noon", "pm", "night")}
    if bad:
        raise LexiconError(f"dates.yaml: {key}: unknown dial {bad} (am, noon, pm or night)")
    return dict(data)


def _alternation(words: Any) -> str:
    """A regex alternation of literal words, longest first."""
    return "|".join(regex.escape(w) for w in sorted(words, key=len, reverse=True))


def _expand(pattern: str, names: dict[str, str], where: str) -> str:
    def sub(m: Any) -> str:
        if m.group(1) not in names:
            raise LexiconError(f"dates.yaml:{where}: unknown fragment {{{m.group(1)}}}")
        return f"(?:{names[m.group(1)]})"

    return regex.sub(r"\{([a-z_]+)\}", sub, pattern)


@functools.lru_cache(maxsize=1)
def load_lexicon() -> _Lexicon:
    """Load and compile data/dates.yaml and data/lunar_days.tsv (once)."""
    data = parse_yaml(_data_file("dates.yaml"))
    lunar_named = _read_lunar_days(_data_file("lunar_days.tsv"))
    solar_named = {k: (int(v[0]), int(v[1])) for k, v in data["solar_named_days"].items()}
    names: dict[str, str] = {"day_periods": _alternation(data["day_periods"])}
    for key, frag in data["fragments"].items():
        names[key] = _expand(frag, names, f"fragments.{key}")
    words = {
        "relative_years": data["relative_years"],
        "relative_days": data["relative_days"],
        "relative_months": data["relative_months"],
        "month_parts": data["month_parts"],
        "year_parts": data["year_parts"],
        "lunar_months": data["lunar_months"],
        "named_days": list(lunar_named) + list(solar_named),
    }
    for key, ws in words.items():
        names[key] = _alternation(ws)
    try:
        rules = tuple(
            (kind, regex.compile(_first_char_check(expanded)), _compiled_anchor(expanded), _stops(expanded))
            for kind, expanded in ((kind, _expand(pat, names, f"rules.{kind}")) for kind, pat in data["rules"].items())
        )
        clock = regex.compile(names["clock"])
        clock_range_after = regex.compile(names["clock_range_after"])
        range_gap = regex.compile(names["range_gap"])
    except regex.error as exc:
        raise LexiconError(f"dates.yaml: bad pattern: {exc}") from exc
    unknown = [kind for kind, *_ in rules if kind not in _RESOLVERS]
    if unknown:
        raise LexiconError(f"dates.yaml: rules without a resolver: {unknown}")
    return _Lexicon(
        rules=rules,
        clock=clock,
        clock_range_after=clock_range_after,
        range_gap=range_gap,
        cn_digits=dict(data["cn_digits"]),
        relative_years=dict(data["relative_years"]),
        day_periods=_day_periods(data["day_periods"], "day_periods"),
        relative_day_dials=_day_periods(data["relative_day_dials"], "relative_day_dials"),
        relative_days=dict(data["relative_days"]),
        relative_months=dict(data["relative_months"]),
        solar_named=solar_named,
        lunar_named=lunar_named,
        lunar_months=dict(data["lunar_months"]),
        year_after_ok=tuple(data["year_after_ok"]),
        year_before_ok=tuple(data["year_before_ok"]),
        year_punct_after=data["year_punct_after"],
        relative_not_before=tuple(data["relative_not_before"]),
        relative_not_after=tuple(data["relative_not_after"]),
        bare_day_not_before=tuple(data["bare_day_not_before"]),
        bare_day_not_after=tuple(data["bare_day_not_after"]),
        named_not_after=tuple(data["named_not_after"]),
        since_before=tuple(data["since_before"]),
        since_to_now=tuple(data["since_to_now"]),
        since_clause=regex.compile(data["since_clause"]),
    )


# ---------------------------------------------------------------- numbers


def parse_int(s: str, lex: _Lexicon | None = None) -> int:
    """An Arabic or Chinese numeral of a date part: ``26``, ``二十六``, ``廿三``, ``二〇二〇``."""
    if s.isdigit():
        return int(s)
    digits = (lex or load_lexicon()).cn_digits
    s = s.replace("廿", "二十").removeprefix("初")
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (digits[tens] if tens else 1) * 10 + (digits[ones] if ones else 0)
    value = 0
    for ch in s:
        value = value * 10 + digits[ch]
    return value


def _iso(y: int, m: int | None = None, d: int | None = None, clock: tuple[int, int] | None = None) -> str:
    if m is None:
        return f"{y:04d}"
    if d is None:
        return f"{y:04d}-{m:02d}"
    out = f"{y:04d}-{m:02d}-{d:02d}"
    if clock is not None:
        out += f"T{clock[0]:02d}:{clock[1]:02d}"
    return out


def _valid(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _first_char_check(pattern: str) -> str:
    """``pattern`` behind a lookahead for the characters its matches can start with,
    when they are known. The rules are tried at every position of the text; the
    lookahead lets the regex module skip most of them at once, which it does not
    do by itself for a pattern that starts with a lookbehind (bareday: ~6x faster).
    Zero-width and implied by the pattern, it changes no match."""
    chars, digits, nullable = first_set(pattern)
    if chars is None or nullable or HAN in chars:
        return pattern
    return "(?=[" + "".join(regex.escape(c) for c in sorted(chars)) + (r"\d" if digits else "") + "])" + pattern


# Group references and conditionals: a rule's tail that has one may depend on the groups
# of its head, and is then no anchor
_REFERS_BACK = regex.compile(r"\\[1-9]|\\g<|\(\?P[=>]|\(\?\(|\(\?&|\(\?R")


def _anchor(pattern: str) -> str | None:
    """What is left of ``pattern`` after the optional groups it starts with, when it
    starts with any (``(?:(?P<year>…)年|…)?(?P<named>春节|…)`` -> ``(?P<named>春节|…)``).

    Every match of ``pattern`` contains a match of its anchor, so a text in which the
    anchor is nowhere has no match of the rule. The anchor has no optional head to try at
    every position: finding out that it is absent costs a fraction of the rule's own
    overlapped scan (the named and lunar days: about 1/4 and 1/15)."""
    tail = pattern
    while tail.startswith("("):
        end = group_end(tail)
        if end < 0 or not tail.startswith("?", end):
            break
        tail = tail[end + 1:].removeprefix("?").removeprefix("+")  # lazy or possessive: still optional
    if tail == pattern or not tail or _REFERS_BACK.search(tail):
        return None
    return tail


def _compiled_anchor(pattern: str) -> Any:
    anchor = _anchor(pattern)
    return None if anchor is None else regex.compile(_first_char_check(anchor))


def _stops(pattern: str) -> tuple[str, frozenset[str]] | None:
    """(stops, run): when ``pattern`` is a group that cannot match empty and consumes
    only characters of ``run``, followed by a tail that must start with one of the
    characters ``stops`` (not digits, none of them in ``run``). A match then starts
    in the run of ``run`` characters just before a stop (bareday: day digits, then
    日 or 号); the stops are found by ``str.find``, much faster than trying the rule at
    every digit. None when the pattern is not of that shape."""
    if not pattern.startswith("("):
        return None
    end = group_end(pattern)
    head, tail = pattern[:end], pattern[end:]
    if end < 0 or tail.startswith(("?", "*", "+", "{")) or first_set(head)[2] or _REFERS_BACK.search(tail):
        return None
    consumed = pattern_chars(head)
    stops, stop_digits, nullable = first_set(tail)
    if consumed is None or stops is None or nullable or stop_digits or HAN in stops:
        return None
    run, run_digits = consumed
    if run_digits or run & stops or any(c.isdecimal() for c in stops):
        return None
    return "".join(sorted(stops)), run


def _matches_at_stops(pat: Any, text: str, stops: str, run: frozenset[str]) -> Any:
    """The matches of ``pat`` that :func:`_stops` allows, one per start like an
    overlapped scan: ``pat`` is tried at every position of the run before each stop."""
    for stop in stops:
        end = text.find(stop)
        while end >= 0:
            start = end
            while start > 0 and text[start - 1] in run:
                start -= 1
            for pos in range(start, end):
                m = pat.match(text, pos)
                if m is not None:
                    yield m
            end = text.find(stop, end + 1)


# ---------------------------------------------------------------- matching


@record
class _Match:
    start: int
    end: int
    kind: str
    m: Any  # the regex match


def _candidates(text: str, lex: _Lexicon) -> list[_Match]:
    """Every rule match, leftmost first, then longest, then by rule order.

    :func:`find_dates` takes them in this order and skips one that overlaps
    a date already taken, so a match that is rejected leaves room for a
    shorter one inside it.
    """
    found = []
    for prio, (kind, pat, anchor, stops) in enumerate(lex.rules):
        if stops is not None:
            matches = _matches_at_stops(pat, text, *stops)
        elif anchor is not None and anchor.search(text) is None:
            continue  # no match of the rule either
        else:
            matches = pat.finditer(text, overlapped=True)
        for m in matches:
            if m.end() > m.start():
                found.append((m.start(), m.start() - m.end(), prio, _Match(m.start(), m.end(), kind, m)))
    found.sort(key=lambda t: t[:3])
    return [t[3] for t in found]


def _clock_after(text: str, pos: int, lex: _Lexicon, dial: str | None = None) -> tuple[int, tuple[int, int]] | None:
    """A single clock time right after a day: (end, (hour, minute)), or None.

    A time range (0时至24时, 0—24时) or the end of the day (24时) is not
    part of the date.
    """
    m = lex.clock.match(text, pos)
    if not m:
        return None
    hour = parse_int(m.group("hour"), lex)
    minute = int(m.group("minute") or m.group("minute2") or (30 if m.group("half") else 0))
    dial = lex.day_periods[m.group("period")] if m.group("period") else dial
    if dial:
        hour = _on_the_dial(hour, dial)
    if hour >= 24 or lex.clock_range_after.match(text, m.end()):
        return None
    return m.end(), (hour, minute)


def _on_the_dial(hour: int, part_of_day: str) -> int:
    """The 24-hour clock of a twelve-hour time said with its part of the day.

    am: 凌晨0-12时 (凌晨12时 is midnight); noon: 中午12时, 中午1时 = 13:00;
    pm: 下午3时 = 15:00; night: 晚上8时 = 20:00, 晚上12时 = 24时, the end of
    the day (no clock time of the date). An hour already past 12 is kept.
    """
    if hour > 12:
        return hour
    if part_of_day == "am":
        return hour % 12
    if part_of_day == "noon":
        return hour if hour >= 11 else hour + 12
    if part_of_day == "night":
        return hour + 12
    return hour if hour == 12 else hour + 12


def _before(text: str, pos: int, words: tuple[str, ...]) -> bool:
    return any(text.endswith(w, 0, pos) for w in words)


def _after(text: str, pos: int, words: tuple[str, ...]) -> bool:
    return any(text.startswith(w, pos) for w in words)


# ---------------------------------------------------------------- resolving


@dataclass
class _State:
    """What the text has said so far."""

    ctx: DateContext
    text_year: int | None = None  # the last year given on its own (2020年，…)
    text_year_until: int = -1  # the end of that year's paragraph
    pos: int = 0  # where the date being resolved starts
    last: tuple[int, int, int | None, bool] | None = None  # y, m, d, year explicit
    last_end: int = -1
    year_doubt: int = 0  # the least certain year source used so far (_PUBLISHED … _DEFAULT), 0: none


def _used(st: _State, source: int) -> None:
    if source > st.year_doubt:
        st.year_doubt = source


def _doc_year(st: _State) -> int:
    """The year the bulletin is about, for 今年/去年."""
    if st.ctx.published:
        _used(st, _PUBLISHED)
        return st.ctx.published.year
    if st.text_year:
        _used(st, _TEXT)
        return st.text_year
    if st.ctx.default_year:
        _used(st, _OPTION)
        return st.ctx.default_year
    _used(st, _DEFAULT)
    return OUTBREAK_YEAR


def _text_year(st: _State) -> int | None:
    """The year the text gave on its own, where it still holds.

    It holds to the end of its paragraph (``2021年，…``) and, where there is
    no publication date, to the end of the text.
    """
    if st.text_year is not None and (st.ctx.published is None or st.pos < st.text_year_until):
        return st.text_year
    return None


def _year_for(st: _State, m: int, d: int = 1) -> int:
    """The year of a month (and day) the text gives without one."""
    if _text_year(st) is not None:
        _used(st, _TEXT)
        return _text_year(st)
    pub = st.ctx.published
    if pub is not None:
        _used(st, _PUBLISHED)
        y = pub.year
        if dt.date(y, m, min(d, 28)) > pub + FUTURE_SLACK:
            y -= 1
        return y
    if st.ctx.default_year is not None:
        _used(st, _OPTION)
        return st.ctx.default_year
    _used(st, _DEFAULT)
    return OUTBREAK_YEAR  # the outbreak year: see OUTBREAK_YEAR


def _explicit_year(g: dict, st: _State, lex: _Lexicon) -> int | None:
    if g.get("year"):
        return parse_int(g["year"], lex)
    if g.get("rely"):
        return _doc_year(st) + lex.relative_years[g["rely"]]
    return None


def _range_prev(text: str, match: _Match, st: _State, lex: _Lexicon) -> bool:
    """Is this the second end of a range or list whose first end came just before?"""
    if st.last is None or st.last_end < 0 or st.last_end > match.start:
        return False
    return lex.range_gap.fullmatch(text, st.last_end, match.start) is not None


@functools.lru_cache(maxsize=4096)
def _lunar_solar(season: int, lmonth: int, lday: int, offset: int) -> dt.date | None:
    """A lunar day of the season whose new year falls in ``season``.

    Cached: a pure calendar conversion, and lunar-python builds a whole Lunar
    object (eight characters, solar terms…) for each one, ~0.5 ms."""
    from lunar_python import Lunar

    year = season - 1 if lmonth >= 11 else season  # 冬月/腊月 come before the new year
    try:
        s = Lunar.fromYmd(year, lmonth, lday).getSolar()
    except Exception:  # noqa: BLE001 - lunar-python raises plain Exception on a bad day
        return None
    return dt.date(s.getYear(), s.getMonth(), s.getDay()) + dt.timedelta(days=offset)


_Resolved = tuple[int, str, str] | None  # (end, iso, rule name), or None: no date


def _month_before(y: int, m: int) -> tuple[int, int]:
    return (y, m - 1) if m > 1 else (y - 1, 12)


def _month_of_day(pub: dt.date, d: int) -> tuple[int, int]:
    """The month of a bare day in a bulletin published on ``pub`` (9日 on the 10th)."""
    return _month_before(pub.year, pub.month) if d > pub.day + 1 else (pub.year, pub.month)


def _with_clock(
    text: str, end: int, y: int, m: int, d: int, rule: str, lex: _Lexicon, dial: str | None = None
) -> _Resolved:
    """A day, with the clock time that follows it directly, if any (read on ``dial`` when
    the day's own word names its part of the day: 今晚8时)."""
    if not _valid(y, m, d):
        return None
    clock = _clock_after(text, end, lex, dial)
    if clock is None:
        return end, _iso(y, m, d), rule
    return clock[0], _iso(y, m, d, clock[1]), rule + "<hour>时"


def _yname(g: dict) -> str:
    return "<year>年" if "year" in g else ("<relyear>" if "rely" in g else "")


def _r_ymd(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    m, d = parse_int(g["month"], lex), parse_int(g["day"], lex)
    y = _explicit_year(g, st, lex)
    if y is None and st.last is not None and st.last[3] and _range_prev(text, mt, st, lex):
        y = st.last[0] + (1 if m < st.last[1] else 0)  # 2020年12月28日至1月3日
    if y is None:
        y = _year_for(st, m, d)
    rule = "<year>-<month>-<day>" if mt.kind == "numeric" else f"{_yname(g)}<month>月<day>日"
    return _with_clock(text, mt.end, y, m, d, rule, lex)


def _r_bareday(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    d = parse_int(g["day"], lex)
    if st.last is not None and _range_prev(text, mt, st, lex):  # 6月18日至21日
        y, m, d0, _ = st.last
        if d0 is not None and d < d0:  # 1月30日至2日
            y, m = (y, m + 1) if m < 12 else (y + 1, 1)
        return _with_clock(text, mt.end, y, m, d, "<day>日", lex)
    if not g["day"].isdigit() or g["mark"] != "日":
        return None  # 一日一消毒, 6号楼
    if _before(text, mt.start, lex.bare_day_not_before) or _after(text, mt.end, lex.bare_day_not_after):
        return None  # 近14日, 14日内
    if st.last is not None:  # the month of the nearest date before
        y, m = st.last[0], st.last[1]
    elif st.ctx.published is not None:
        _used(st, _PUBLISHED)
        y, m = _month_of_day(st.ctx.published, d)
    else:
        return None
    return _with_clock(text, mt.end, y, m, d, "<day>日", lex)


def _r_relmonth(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    pub = st.ctx.published
    if pub is None:
        return None
    _used(st, _PUBLISHED)
    months = pub.year * 12 + pub.month - 1 + lex.relative_months[g["relm"]]
    y, m = divmod(months, 12)
    return _with_clock(text, mt.end, y, m + 1, parse_int(g["day"], lex), "<relmonth><day>日", lex)


def _r_relday(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    if _before(text, mt.start, lex.relative_not_before) or _after(text, mt.end, lex.relative_not_after):
        return None
    pub = st.ctx.published
    if "day" not in g:
        if pub is None:
            return None
        _used(st, _PUBLISHED)
        day = pub + dt.timedelta(days=lex.relative_days[g["rel"]])
        return _with_clock(text, mt.end, day.year, day.month, day.day, "<relday>", lex, lex.relative_day_dials.get(g["rel"]))
    d = parse_int(g["day"], lex)  # 今天（1月28日）, 今早（10日）
    if "month" in g:
        m = parse_int(g["month"], lex)
        y = _year_for(st, m, d)
    elif pub is not None:
        _used(st, _PUBLISHED)
        y, m = _month_of_day(pub, d)
    else:
        return None
    return (mt.end, _iso(y, m, d), "<relday>(<day>日)") if _valid(y, m, d) else None


def _r_ym(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    m = parse_int(g["month"], lex)
    y = _explicit_year(g, st, lex)
    if y is None and st.last is not None and st.last[3] and _range_prev(text, mt, st, lex):
        y = st.last[0] + (1 if m < st.last[1] else 0)  # 2021年11月至1月
    if y is None:
        y = _year_for(st, m)
    return mt.end, _iso(y, m), f"{_yname(g)}<month>月" + ("<part>" if "mpart" in g else "")


def _r_ypart(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    return mt.end, _iso(_explicit_year(g, st, lex)), f"{_yname(g)}<part>"


def _r_year(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    """A year on its own, where it is a time expression (2020年起跑, 2021年，…)."""
    end = mt.end
    after_ok = end >= len(text) or text[end] in lex.year_punct_after or _after(text, end, lex.year_after_ok)
    if not (after_ok or _before(text, mt.start, lex.year_before_ok)):
        return None  # 2020年春季学期
    return end, _iso(parse_int(g["year"], lex)), "<year>年"


def _r_named(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    if _after(text, mt.end, lex.named_not_after):
        return None  # 元宵节期间
    year = _explicit_year(g, st, lex)
    name = g["named"]
    if name in lex.solar_named:
        m, d = lex.solar_named[name]
        y = year if year is not None else _year_for(st, m, d)
        return mt.end, _iso(y, m, d), f"{_yname(g)}<named>"
    lm, ld, offset = lex.lunar_named[name]
    return _lunar(mt.end, year, st, lm, ld, offset, f"{_yname(g)}<lunar named>")


def _r_lunar(text: str, mt: _Match, g: dict, st: _State, lex: _Lexicon) -> _Resolved:
    if _after(text, mt.end, lex.named_not_after):
        return None
    lm = lex.lunar_months[g["lmonth"]] if "lmonth" in g else parse_int(g["lmonthnum"], lex)
    rule = f"{_yname(g)}<lunar month><lunar day>"
    return _lunar(mt.end, _explicit_year(g, st, lex), st, lm, parse_int(g["lday"], lex), 0, rule)


def _lunar(end: int, year: int | None, st: _State, lm: int, ld: int, offset: int, rule: str) -> _Resolved:
    if year is not None:
        day = _lunar_solar(year, lm, ld, offset)
    else:
        season = _year_for(st, 1)
        day = _lunar_solar(season, lm, ld, offset)
        pub = st.ctx.published
        if day is not None and _text_year(st) is None and pub is not None and day > pub + FUTURE_SLACK:
            day = _lunar_solar(season - 1, lm, ld, offset)
    if day is None:
        return None
    return end, _iso(day.year, day.month, day.day), rule


# one resolver per rule kind in dates.yaml
_RESOLVERS = {
    "ymd": _r_ymd,
    "numeric": _r_ymd,
    "ym": _r_ym,
    "ypart": _r_ypart,
    "year": _r_year,
    "named": _r_named,
    "lunar": _r_lunar,
    "relday": _r_relday,
    "relmonth": _r_relmonth,
    "bareday": _r_bareday,
}


def _resolve(text: str, mt: _Match, st: _State, lex: _Lexicon) -> _Resolved:
    """(end, iso, rule) for one match, or None when it is no date."""
    g = {k: v for k, v in mt.m.groupdict().items() if v}
    return _RESOLVERS[mt.kind](text, mt, g, st, lex)


# ---------------------------------------------------------------- API


def find_dates(text: str, ctx: DateContext) -> list[DateMention]:
    """The explicit dates in ``text`` (repaired text), in text order."""
    return find_dates_and_year(text, ctx)[0]


def find_dates_and_year(text: str, ctx: DateContext) -> tuple[list[DateMention], str | None]:
    """The explicit dates in ``text`` (repaired text), in text order, and where the year of
    those that give none came from: the least certain of :data:`YEAR_SOURCES` that any of
    them used (``"default"``: OUTBREAK_YEAR was assumed), or None when every date gives
    its year or there is no date."""
    lex = load_lexicon()
    norm = _halfwidth_digits(text)
    st = _State(ctx)
    out: list[DateMention] = []
    taken_to = -1
    for match in _candidates(norm, lex):
        if match.start < taken_to:  # overlaps a date already taken
            continue
        st.pos = match.start
        doubt = st.year_doubt
        resolved = _resolve(norm, match, st, lex)
        if resolved is None:
            st.year_doubt = doubt  # a year looked for but no date made: nothing was dated by it
            continue
        end, iso, rule = resolved
        out.append(DateMention(match.start, end, iso, rule))
        taken_to = end
        parts = [int(p) for p in iso[:10].split("-")]
        if match.kind in ("year", "ypart") and match.m.group("year"):
            st.text_year = parts[0]
            para_end = norm.find("\n", end)
            st.text_year_until = len(norm) if para_end < 0 else para_end
        if len(parts) >= 2:
            explicit = bool(match.m.groupdict().get("year")) or (
                st.last is not None and st.last[3] and _range_prev(norm, match, st, lex)
            )
            st.last = (parts[0], parts[1], parts[2] if len(parts) == 3 else None, explicit)
        st.last_end = end
    return out, YEAR_SOURCES[st.year_doubt - 1] if st.year_doubt else None


def _since(text: str, d: DateMention, lex: _Lexicon) -> bool:
    """Does the date open a period that runs up to now (从1月22日到现在, 自…以来)?"""
    if not _before(text, d.start, lex.since_before):
        return False
    clause = lex.since_clause.match(text, d.end).group(0)  # the rest of the clause
    return any(w in clause for w in lex.since_to_now)


def quantity_dates(dates: list[DateMention], text: str) -> list[DateMention]:
    """The dates that may date a quantity: at least a month, and not opening a period
    up to now. ``sentence_date(quantity_dates(dates, text), …)`` equals
    ``sentence_date(dates, …, text=text)``, with the checks made once per document."""
    lex = load_lexicon()
    return [d for d in dates if len(d.iso) >= 7 and not _since(text, d, lex)]


def sentence_date(
    dates: list[DateMention],
    sent_start: int,
    sent_end: int,
    *,
    at: int | None = None,
    text: str | None = None,
) -> str | None:
    """The date a sentence [sent_start, sent_end) gives its quantities, as ISO.

    A date names at least a month; a clock time is dropped (``2月1日14时``
    -> ``2020-02-01``), a month stays a month (``今年5月`` -> ``2021-05``, as
    the gold has it); a year alone is no date.  Without ``at`` this is the
    first date of the sentence; with ``at`` (the quantity's offset) the last
    date before it, else the first one after it (``1月22日，…；1月25日，…18名``
    -> 1月25日).  Given ``text``, a date that opens a period running up to now
    (``从1月22日到现在``, ``从去年12月31日…以来``) dates no quantity.
    """
    lex = load_lexicon()
    inside = [
        d
        for d in dates
        if sent_start <= d.start
        and d.end <= sent_end
        and len(d.iso) >= 7
        and not (text is not None and _since(text, d, lex))
    ]
    if not inside:
        return None
    chosen = inside[0]
    if at is not None:
        before = [d for d in inside if d.start < at]
        chosen = before[-1] if before else inside[0]
    return chosen.iso[:10]
