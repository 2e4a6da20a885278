"""Hypothesis properties: numerals, layout noise, the repair offset map, and api.extract."""
from __future__ import annotations

import cn2an
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from conftest import quantity_claims
from pipeline import api
from pipeline.numerals import parse_numeral
from pipeline.repair import repair
from test_repair import check_view

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
N = st.integers(0, 10**12)

# --- numerals -------------------------------------------------------------------


@QUICK
@given(N)
@example(0)
@example(10)
@example(100010)
@example(10**12)
def test_chinese_numeral_round_trip(n: int) -> None:
    assert parse_numeral(cn2an.an2cn(n)).value == n


@QUICK
@given(N)
def test_wan_multiplies(n: int) -> None:
    assert parse_numeral(f"{n}万").value == n * 10_000


@QUICK
@given(st.integers(0, 9_999), st.integers(1, 99))
def test_decimal_with_wan(whole: int, frac: int) -> None:
    text = f"{whole}.{frac:02d}万"
    assert parse_numeral(text).value == (whole * 100 + frac) * 100


@QUICK
@given(st.integers(0, 10**8), st.integers(1, 99))
def test_large_decimal_with_wan_is_exact(whole: int, frac: int) -> None:
    text = f"{whole}.{frac:02d}万"
    assert parse_numeral(text).value == (whole * 100 + frac) * 100


# --- layout noise inside a quantity keeps its value -----------------------------------

NOISE = st.sampled_from([" ", "  ", "\u3000", "\n", " \n"])
SPACES = st.sampled_from([" ", "  ", "\u3000", "\t"])
# A long first line, so that the line break is not read as the end of a headline.
LEAD = "为切实做好疫情防控工作全县各乡镇各部门迅速行动累计设立检测点"


def _number(whole: int, frac: int | None) -> str:
    return f"{whole}" if frac is None else f"{whole}.{frac}"


def _value(whole: int, frac: int | None) -> float:
    return float(_number(whole, frac))


def _only_quantity(text: str):
    got = quantity_claims(api.extract(text, doc_id="prop", year=2020))
    assert len(got) == 1, [(c.quote, c.value) for c in got]
    c = got[0]
    assert c.quote == text[c.start : c.end]
    return c


DIGITS = st.integers(2, 99_999)
FRAC = st.none() | st.integers(1, 9)


@QUICK
@given(DIGITS, FRAC, SPACES)
def test_spaces_between_number_and_unit(whole: int, frac: int | None, noise: str) -> None:
    text = f"设立检测点{_number(whole, frac)}{noise}个"
    c = _only_quantity(text)
    assert (c.value, c.unit) == (_value(whole, frac), "个")
    assert c.quote.endswith("个") and noise in c.quote


@QUICK
@given(DIGITS, st.integers(1, 9), SPACES)
def test_spaces_after_a_decimal_point(whole: int, frac: int, noise: str) -> None:
    text = f"设立检测点{whole}.{noise}{frac}个"
    c = _only_quantity(text)
    assert c.value == _value(whole, frac)


@QUICK
@given(DIGITS, FRAC, NOISE)
def test_line_break_between_number_and_unit_in_a_long_line(whole: int, frac: int | None, noise: str) -> None:
    text = f"{LEAD}{_number(whole, frac)}{noise}个，覆盖全县所有村。"
    c = _only_quantity(text)
    assert (c.value, c.unit) == (_value(whole, frac), "个")


@QUICK
@given(DIGITS, st.integers(1, 9), NOISE)
def test_line_break_after_a_decimal_point_in_a_long_line(whole: int, frac: int, noise: str) -> None:
    text = f"{LEAD}{whole}.{noise}{frac}万个，覆盖全县所有村。"
    c = _only_quantity(text)
    assert c.value == round(_value(whole, frac) * 10_000, 6)


@QUICK
@given(DIGITS, FRAC, NOISE)
def test_line_break_between_number_and_unit_in_a_short_sentence(whole: int, frac: int | None, noise: str) -> None:
    text = f"设立检测点{_number(whole, frac)}{noise}个"
    c = _only_quantity(text)
    assert (c.value, c.unit) == (_value(whole, frac), "个")


# --- repair: the offset map ------------------------------------------------------

LAYOUT_ALPHABET = (
    "设立检测点党员口罩發放萬兩元县乡村"
    "0123456789０１２ＡＢ"
    "AbCN"
    "，。、；：“”（）%％．.-—,:;()!?"
    " \n\t\r\u3000\u00a0\u200b"
)


@QUICK
@given(st.text(alphabet=LAYOUT_ALPHABET, max_size=120))
def test_repair_offset_map_on_layout_text(raw: str) -> None:
    check_view(raw, repair(raw))


@QUICK
@given(st.text(max_size=80))
def test_repair_offset_map_on_any_text(raw: str) -> None:
    check_view(raw, repair(raw))


# --- api.extract never raises and quotes are raw slices --------------------------

NUMBER_ALPHABET = (
    "设立检测点党员口罩发放元共计约近第月日年县乡村病例号楼岁小时天"
    "0123456789０１２"
    "零一二三四五六七八九十百千万亿两几数"
    "个名人万余多以上左右"
    "，。、；：“”（）%．.-—～至,"
    " \n\u3000"
)


def _check_extract(text: str) -> None:
    for c in api.extract(text, doc_id="prop", year=2020):
        assert c.quote == text[c.start : c.end]
        assert 0 <= c.start < c.end <= len(text)
        if c.value_hi is not None:
            assert c.value_hi >= c.value


@QUICK
@given(st.text(max_size=80))
@example("\U0001e5f1")  # a digit to the regex module's \d, not to Python's float or Decimal
@example("共1234567.89万元")
def test_extract_any_text(text: str) -> None:
    _check_extract(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=NUMBER_ALPHABET, max_size=80))
def test_extract_number_heavy_text(text: str) -> None:
    _check_extract(text)


@QUICK
@given(st.lists(st.sampled_from(["设立卡点", "12", "个", "百余名", "党员", "，", "。", "\n", " ", "1.5", "万元", "约", "3—5人", "1月26日"]), max_size=20))
def test_extract_bulletin_like_text(parts: list[str]) -> None:
    text = "".join(parts)
    assume(text)
    _check_extract(text)
