"""pipeline.dates: table-driven cases from tests/cases/dates.tsv plus properties."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import load_cases, unescape
from pipeline.api import extract_document
from pipeline.dates import (
    OUTBREAK_YEAR, DateContext, _anchor, _matches_at_stops, _stops, find_dates, find_dates_and_year, load_lexicon,
    parse_int, sentence_date,
)
from pipeline.model import DateMention, Document, DocumentMeta
from pipeline.schema import YEAR_SOURCES

CASES = Path(__file__).parent / "cases" / "dates.tsv"


def _load_cases() -> list:
    params = []
    for lineno, line in enumerate(CASES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"dates.tsv:{lineno}: expected 5 columns, got {len(cols)}"
        text, published, default_year, expected, _source = cols
        text = text.replace("\\n", "\n")  # a paragraph break is written \n
        ctx = DateContext(
            published=dt.date.fromisoformat(published) if published else None,
            default_year=int(default_year) if default_year else None,
        )
        want = [tuple(item.rsplit("=", 1)) for item in expected.split("|")] if expected else []
        params.append(pytest.param(text, ctx, want, id=f"dates.tsv:{lineno}"))
    return params


@pytest.mark.parametrize(("text", "ctx", "want"), _load_cases())
def test_case(text: str, ctx: DateContext, want: list[tuple[str, str]]) -> None:
    got = [(text[m.start : m.end], m.iso) for m in find_dates(text, ctx)]
    assert got == want


def test_lexicon_loads_and_is_cached() -> None:
    assert load_lexicon() is load_lexicon()
    lex = load_lexicon()
    assert lex.lunar_named["除夕"] == (1, 1, -1)
    assert "当日" not in lex.relative_days  # 当日/当晚/当天 refer back: no claims


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("26", 26), ("二十六", 26), ("十", 10), ("十二", 12), ("三十一", 31), ("廿三", 23), ("初五", 5), ("二〇二〇", 2020)],
)
def test_parse_int(numeral: str, value: int) -> None:
    assert parse_int(numeral) == value


def test_offsets_and_rule_names() -> None:
    text = "通报：从2月1日14时起，停课。"
    (m,) = find_dates(text, DateContext(None, 2020))
    assert (m.start, m.end, text[m.start : m.end]) == (4, 11, "2月1日14时")
    assert m.rule == "<month>月<day>日<hour>时"


def test_sentence_date() -> None:
    text = "1月22日，启动响应；1月25日，18名医护人员报名。从1月22日到现在，发了22条。全年1014户。"
    ctx = DateContext(None, 2020)
    dates = find_dates(text, ctx)
    first_end = text.index("。") + 1
    assert sentence_date(dates, 0, first_end) == "2020-01-22"
    assert sentence_date(dates, 0, first_end, at=text.index("18名")) == "2020-01-25"
    second = (first_end, text.index("。", first_end) + 1)
    assert sentence_date(dates, *second) == "2020-01-22"
    assert sentence_date(dates, *second, text=text) is None  # a period up to now
    assert sentence_date(dates, second[1], len(text)) is None


def test_sentence_date_drops_clock_keeps_month() -> None:
    dates = [DateMention(0, 7, "2020-02-01T14:00", "r"), DateMention(10, 14, "2021-05", "r")]
    assert sentence_date(dates, 0, 9) == "2020-02-01"
    assert sentence_date(dates, 9, 20) == "2021-05"
    assert sentence_date([DateMention(0, 5, "2021", "r")], 0, 9) is None


def _valid_dates() -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2049, 12, 31))


@given(_valid_dates())
def test_month_day_parses_with_default_year(day: dt.date) -> None:
    text = f"{day.month}月{day.day}日"
    (m,) = find_dates(text, DateContext(published=None, default_year=day.year))
    assert (m.start, m.end, m.iso) == (0, len(text), day.isoformat())


_CN = "〇一二三四五六七八九"


def _cn_small(n: int) -> str:
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _CN[tens] + "十")) + (_CN[ones] if ones else "")


@given(_valid_dates())
def test_chinese_numeral_date_parses(day: dt.date) -> None:
    text = "".join(_CN[int(c)] for c in str(day.year)) + f"年{_cn_small(day.month)}月{_cn_small(day.day)}日"
    (m,) = find_dates(f"于{text}召开", DateContext(None, None))
    assert m.iso == day.isoformat()


@given(st.text(alphabet="0123456789年月日号时点分至-，。今天昨除夕大初一正十二三中旬", max_size=40))
def test_never_raises_and_spans_are_ordered(text: str) -> None:
    mentions = find_dates(text, DateContext(dt.date(2020, 3, 1), None))
    last_end = 0
    for m in mentions:
        assert last_end <= m.start < m.end <= len(text)
        last_end = m.end


def test_anchor_is_the_rule_without_its_optional_head() -> None:
    assert _anchor("(?:(?P<year>[0-9]{4})年|(?P<rely>今年))?(?:农历)?(?P<named>春节|除夕)") == "(?P<named>春节|除夕)"
    assert _anchor("(?P<day>[0-9]{1,2})(?P<mark>[日号])") is None  # no optional head
    assert _anchor("(?:(?P<sep>[-/]))?[0-9](?P=sep)") is None  # the tail refers to the head


@given(st.text(alphabet="0123456789年月日今去农历正腊初一二十五春节除夕元宵国庆", max_size=30))
def test_a_rule_matches_only_where_its_anchor_does(text: str) -> None:
    for kind, pattern, anchor, _ in load_lexicon().rules:
        if anchor is not None and anchor.search(text) is None:
            assert next(pattern.finditer(text, overlapped=True), None) is None, kind


def test_stops_need_a_head_that_cannot_run_into_them() -> None:
    assert _stops("(?P<day>[0-9]{1,2})(?P<mark>[日号])") == ("号日", frozenset("-0123456789"))
    assert _stops("(?P<day>[0-9]{1,2})?(?P<mark>[日号])") is None  # the head may be empty
    assert _stops("(?P<day>[0-9日]{1,2})(?P<mark>[日号])") is None  # the head may consume a stop
    assert _stops("(?P<day>[0-9]{1,2})(?P<n>[0-9])") is None  # the tail starts with a digit
    assert _stops("(?P<day>[0-9]{1,2})(?:[日号])?") is None  # the tail may be empty


@given(st.text(alphabet="0123456789.第月年日号一二三十廿〇零万", max_size=30))
def test_matches_at_stops_are_the_overlapped_scan(text: str) -> None:
    for kind, pattern, _, stops in load_lexicon().rules:
        if stops is not None:
            found = sorted(m.span() for m in _matches_at_stops(pattern, text, *stops))
            assert found == [m.span() for m in pattern.finditer(text, overlapped=True)], kind


@pytest.mark.parametrize(("text", "published", "default_year", "want"), load_cases("year_sources.tsv"))
def test_year_source(text: str, published: str, default_year: str, want: str) -> None:
    """documents.year_source: where the year of the dates that give none came from."""
    meta = DocumentMeta(published=published or None, default_year=int(default_year) if default_year else None)
    ex = extract_document(Document("doc", "doc.txt", unescape(text), meta=meta))
    assert ex.year_source == (None if want == "-" else want)
    assert want == "-" or want in YEAR_SOURCES


def test_default_year_is_the_outbreak_year_and_reported() -> None:
    dates, source = find_dates_and_year("3月5日，全镇组织消杀一次。", DateContext(None, None))
    assert [d.iso for d in dates] == [f"{OUTBREAK_YEAR}-03-05"] and source == "default"
    assert find_dates("3月5日，全镇组织消杀一次。", DateContext(None, None)) == dates
