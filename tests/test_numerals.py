"""pipeline.numerals.parse_numeral: table-driven cases from cases/numerals.tsv."""
from __future__ import annotations

import math

import pytest

from conftest import load_cases, unescape
from pipeline.model import Bound, NumeralError, PipelineError
from pipeline.numerals import Numeral, parse_numeral


@pytest.mark.parametrize(("text", "value", "bound"), load_cases("numerals.tsv"))
def test_case(text: str, value: str, bound: str) -> None:
    text = unescape(text)
    if value == "!":
        with pytest.raises(NumeralError):
            parse_numeral(text)
        return
    got = parse_numeral(text)
    assert got.value == pytest.approx(float(value), rel=1e-9, abs=1e-9)
    if bound:
        assert got.bound is Bound(bound)


def test_empty_text_is_an_error_naming_the_text() -> None:
    with pytest.raises(NumeralError, match="''"):
        parse_numeral("")


def test_error_message_names_the_input() -> None:
    with pytest.raises(NumeralError) as info:
        parse_numeral("十五a")
    assert "十五a" in str(info.value)


def test_numeral_error_is_a_pipeline_error() -> None:
    assert issubclass(NumeralError, PipelineError)


def test_returns_a_frozen_numeral_with_eq_by_default() -> None:
    got = parse_numeral("97")
    assert isinstance(got, Numeral)
    assert got.bound is Bound.eq
    with pytest.raises(AttributeError):
        got.value = 1  # type: ignore[misc]


@pytest.mark.parametrize(("a", "b"), [("13.8万", "13.8 万"), ("１２", "12"), ("十五", "十五 "), ("2万", "2\n万")])
def test_layout_whitespace_does_not_change_the_value(a: str, b: str) -> None:
    assert parse_numeral(a) == parse_numeral(b)


def test_scaled_decimals_compare_exactly() -> None:
    # 13.8 * 10000 is 137999.99999999997 in binary floating point
    assert parse_numeral("13.8万").value == 138000
    assert parse_numeral("0.3万").value == 3000


def test_simple_chinese_numerals_are_read_as_cn2an_reads_them() -> None:
    """Every string of up to four numeral characters that the fast path reads gets cn2an's value."""
    import itertools

    import cn2an

    from pipeline.numerals import _simple_chinese

    read = 0
    for n in range(1, 5):
        for chars in itertools.product("零〇一二三四五六七八九十百千万亿两点", repeat=n):
            s = "".join(chars)
            v = _simple_chinese(s)
            if v is not None:
                read += 1
                assert v == float(cn2an.cn2an(s, "smart")), s
    assert read > 100


# --- properties of the numeral grammar (issue 13, point 5) --------------------------

import cn2an  # noqa: E402
import regex  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUICK = settings(max_examples=200, deadline=None)
_CN = "零一二三四五六七八九"
_SCALES = {"": 1, "十": 10, "百": 100, "千": 1000, "万": 10_000, "百万": 1_000_000, "亿": 100_000_000}


@QUICK
@given(st.integers(1, 9_999), st.integers(1, 9), st.integers(1, 9))
def test_mixed_place_notation_is_the_sum_of_its_parts(a: int, b: int, c: int) -> None:
    assert parse_numeral(f"{a}万{b}千{c}百").value == a * 10_000 + b * 1_000 + c * 100


@QUICK
@given(st.integers(1, 9_999), st.integers(1_000, 9_999))
def test_a_full_group_after_wan_adds_to_it(a: int, b: int) -> None:
    assert parse_numeral(f"{a}万{b}").value == a * 10_000 + b  # 1万5000


@QUICK
@given(st.integers(1, 9_999), st.integers(1, 9))
def test_one_digit_after_wan_is_the_thousands(a: int, b: int) -> None:
    assert parse_numeral(f"{a}万{b}").value == a * 10_000 + b * 1_000  # 1万2, as 一万二


@QUICK
@given(st.integers(0, 10**12))
def test_financial_numerals_read_back(n: int) -> None:
    assert parse_numeral(cn2an.an2cn(n, "up")).value == n  # 壹万贰仟…


@QUICK
@given(st.integers(0, 10**12))
def test_chinese_numerals_read_back(n: int) -> None:
    assert parse_numeral(cn2an.an2cn(n)).value == n  # 一万零五, 十万八千, 三亿零二十


@QUICK
@given(st.integers(1, 10**8))
def test_liang_before_a_scale_is_two(n: int) -> None:
    cn = regex.sub(r"(?<!十)二(?=[百千万亿])", "两", cn2an.an2cn(n))  # 两百, 两千五, 两万 (not 十两万)
    assert parse_numeral(cn).value == n


@QUICK
@given(st.integers(1_000_000, 10**12))
def test_full_width_thousands_separators(n: int) -> None:
    assert parse_numeral(f"{n:,}".replace(",", "，")).value == n


@QUICK
@given(st.integers(1, 9), st.sampled_from(["", "万", "亿"]))
def test_a_vague_units_digit_is_the_round_number_at_least(tens: int, scale: str) -> None:
    got = parse_numeral(f"{cn2an.an2cn(tens * 10)}几{scale}")  # 十几, 三十几万
    assert (got.value, got.bound) == (tens * 10 * _SCALES[scale], Bound.ge)


@QUICK
@given(st.integers(1, 8), st.sampled_from(sorted(_SCALES)))
def test_a_vague_pair_is_its_lower_end(low: int, scale: str) -> None:
    got = parse_numeral(f"{_CN[low]}{_CN[low + 1]}{scale}")  # 两三, 二三十, 三四百万
    assert (got.value, got.bound) == (low * _SCALES[scale], Bound.approx)


@QUICK
@given(st.integers(1, 9), st.integers(1, 9))
def test_two_digits_that_are_not_a_pair_are_no_numeral(a: int, b: int) -> None:
    text = _CN[a] + _CN[b]
    if b == a + 1 or (a, b) in ((3, 5), (3, 2)):
        assert parse_numeral(text).bound is Bound.approx
    else:
        with pytest.raises(NumeralError):
            parse_numeral(text)  # 五一, 九五: a name or a price, never one count


@pytest.mark.parametrize("text", ["九" * 400, "1" * 400, "两" * 400, "1" + "0" * 400 + "万"])
def test_a_numeral_too_long_for_a_float_is_out_of_range_not_an_overflow(text: str) -> None:
    """Infinite, never an OverflowError: claims.MAX_VALUE rejects it with its reason."""
    assert parse_numeral(text).value == math.inf
