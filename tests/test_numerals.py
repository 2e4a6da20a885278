"""pipeline.numerals.parse_numeral: table-driven cases from cases/numerals.tsv."""
from __future__ import annotations

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
