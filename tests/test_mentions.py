"""pipeline.mentions (numbers, measure words, bounds, ranges), checked end to end.

Cases: cases/units.tsv (value in the canonical unit), cases/bounds.tsv (bound,
span and range) and cases/mentions.tsv (every quantity claim of a sentence).
They run through ``api.extract`` so that a number the exclusion stage drops by
mistake fails too; a few direct tests of ``find_candidates`` follow.
"""
from __future__ import annotations

import pytest

from conftest import all_case_ids, fmt_value, load_cases, quantity_claims, unescape, xfails
from pipeline import api
from pipeline.lexicon import load_lexicon
from pipeline.mentions import Candidate, find_candidates, implied_unit
from pipeline.model import Bound


def _claims(text: str):
    return quantity_claims(api.extract(text, doc_id="case", year=2020))


def _show(c) -> str:
    value = fmt_value(c.value)
    if c.value_hi is not None:
        value = f"{value}..{fmt_value(c.value_hi)}"
    return f"{c.quote}={value} {c.unit} {c.bound.value}"


def _expected(spec: str) -> list[str]:
    """`quote=value unit bound|…` (values re-formatted like _show); `-` for none."""
    if spec == "-":
        return []
    out = []
    for item in unescape(spec).split("|"):
        quote, rest = item.rsplit("=", 1)
        value, unit, bound = rest.split(" ")
        lo, _, hi = value.partition("..")
        value = fmt_value(float(lo)) + (f"..{fmt_value(float(hi))}" if hi else "")
        out.append(f"{quote}={value} {unit} {Bound(bound).value}")
    return out


@pytest.mark.parametrize(("text", "value", "unit", "bound"), load_cases("units.tsv"))
def test_unit(text: str, value: str, unit: str, bound: str) -> None:
    got = _claims(unescape(text))
    assert [(fmt_value(c.value), c.unit, c.bound.value) for c in got] == [(fmt_value(float(value)), unit, bound)], [
        _show(c) for c in got
    ]


@pytest.mark.parametrize(("text", "quote", "value", "unit", "bound", "value_hi"), load_cases("bounds.tsv"))
def test_bound(text: str, quote: str, value: str, unit: str, bound: str, value_hi: str) -> None:
    text = unescape(text)
    got = _claims(text)
    hi = fmt_value(float(value_hi)) if value_hi else ""
    want = [(unescape(quote), fmt_value(float(value)), unit, bound, hi)]
    assert [(c.quote, fmt_value(c.value), c.unit, c.bound.value, fmt_value(c.value_hi)) for c in got] == want
    for c in got:
        assert text[c.start : c.end] == c.quote


@pytest.mark.parametrize(("text", "claims"), load_cases("mentions.tsv"))
def test_mentions(text: str, claims: str) -> None:
    text = unescape(text)
    got = _claims(text)
    assert [_show(c) for c in got] == _expected(claims)
    for c in got:
        assert text[c.start : c.end] == c.quote


def test_xfail_list_names_existing_cases() -> None:
    """A line of xfail.tsv whose case was renamed or removed would silently do nothing."""
    from pathlib import Path

    ids = all_case_ids()
    tests = Path(__file__).parent
    stale = []
    for case_id in xfails():
        if "::" in case_id:
            module, func = case_id.split("::", 1)
            path = tests / module
            if not path.exists() or f"def {func}(" not in path.read_text(encoding="utf-8"):
                stale.append(case_id)
        elif case_id not in ids:
            stale.append(case_id)
    assert stale == []


# --- find_candidates directly ------------------------------------------------


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def _quantities(cands: list[Candidate], text: str) -> list[str]:
    return [text[c.quantity.start : c.quantity.end] for c in cands if c.quantity is not None]


def test_taken_spans_are_skipped(lex) -> None:
    text = "1月26日设立卡点12个"
    cands = find_candidates(text, lex, taken=[(0, 5)])
    assert [c.text for c in cands] == ["12"]
    assert _quantities(cands, text) == ["12个"]


def test_a_number_without_measure_word_is_a_candidate_with_a_reason(lex) -> None:
    cands = find_candidates("编号12345", lex)
    assert len(cands) == 1
    assert cands[0].quantity is None
    assert cands[0].reason == "no measure word"


def test_candidates_come_in_text_order_with_view_offsets(lex) -> None:
    text = "卡点12个，干部百余名，经费5万元"
    cands = find_candidates(text, lex)
    assert [c.num_start for c in cands] == sorted(c.num_start for c in cands)
    for c in cands:
        assert text[c.num_start : c.num_end] == c.text
        assert c.quantity is not None and c.quantity.rule


def test_a_comma_between_number_and_unit_only_when_it_was_layout_noise(lex) -> None:
    text = "服务群众500，人次"
    comma = text.index("，")
    assert _quantities(find_candidates(text, lex), text) == []
    assert _quantities(find_candidates(text, lex, noise_commas=frozenset({comma})), text) == ["500，人次"]


def test_the_longest_unit_wins(lex) -> None:
    text = "封控区域3平方公里"
    (cand,) = find_candidates(text, lex)
    assert cand.quantity.unit == "km2"
    assert text[cand.quantity.start : cand.quantity.end] == "3平方公里"


def test_prefix_bound_is_outside_the_span_infix_inside(lex) -> None:
    text = "约300余人"
    (cand,) = find_candidates(text, lex)
    assert text[cand.quantity.start : cand.quantity.end] == "300余人"
    assert cand.quantity.bound is Bound.ge  # 余 is the closer marker and decides


def test_implied_people_unit_after_a_bare_wan_number(lex) -> None:
    text = "35万父老乡亲齐心抗疫"
    (cand,) = find_candidates(text, lex)
    assert cand.quantity is None
    got = implied_unit(cand, text, lex)
    assert got.quantity is not None
    assert (got.quantity.value, got.quantity.unit) == (350000, "人")


def test_implied_unit_leaves_small_bare_numbers_alone(lex) -> None:
    text = "编号35父老乡亲"
    (cand,) = find_candidates(text, lex)
    assert implied_unit(cand, text, lex) is cand


def test_a_numeral_stops_where_a_date_starts(lex) -> None:
    text = "资金3万2月1日到位"
    date = text.index("2月")
    (cand,) = find_candidates(text, lex, taken=[(date, date + 4)])
    assert (cand.text, cand.quantity) == ("3万", None)  # not 3万2 (32000)


def test_a_single_full_width_comma_between_digits_is_no_number(lex) -> None:
    text = "捐款1，234元"
    (cand,) = find_candidates(text, lex)
    assert (cand.text, cand.quantity, cand.reason) == ("1，234", None, "ambiguous digit groups")


# --- properties of the unit grammar (issue 13, point 5) -----------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUICK = settings(max_examples=100, deadline=None)


def _only_quantity(text: str, lex):
    (q,) = [c.quantity for c in find_candidates(text, lex) if c.quantity is not None]
    return q


@QUICK
@given(st.integers(1, 999), st.sampled_from(["吨", "公斤", "斤", "公里", "米", "升", "平方米"]))
def test_a_half_after_the_unit_adds_half_a_unit(lex, whole: int, unit: str) -> None:
    text = f"当天运来{whole}{unit}半。"
    q = _only_quantity(text, lex)
    assert q.value == pytest.approx((whole + 0.5) * lex.units[unit].factor)
    assert text[q.start:q.end] == f"{whole}{unit}半"


@QUICK
@given(st.integers(0, 99_999), st.integers(1, 9), st.integers(0, 9))
def test_yuan_jiao_fen_is_the_sum_of_its_parts(lex, yuan: int, jiao: int, fen: int) -> None:
    q = _only_quantity(f"每份{yuan}元{jiao}角{fen}分。", lex)
    assert (q.value, q.unit) == (round(yuan + jiao / 10 + fen / 100, 6), "元")


@QUICK
@given(st.integers(1, 9), st.sampled_from(["", "半", "五"]))
def test_tenths_are_percent(lex, tenths: int, extra: str) -> None:
    q = _only_quantity(f"接种率达{'一二三四五六七八九'[tenths - 1]}成{extra}。", lex)
    assert (q.value, q.unit) == (10 * tenths + {"": 0, "半": 5, "五": 5}[extra], "%")


@QUICK
@given(st.integers(1, 999), st.sampled_from(["千分之", "万分之"]))
def test_per_mille_and_per_myriad_are_percent(lex, n: int, word: str) -> None:
    q = _only_quantity(f"发生率为{word}{n}。", lex)
    assert (q.value, q.unit) == (pytest.approx(n / (10 if word == "千分之" else 100)), "%")


@QUICK
@given(st.lists(st.sampled_from(sorted(load_lexicon().units) + ["的", "人", "平方", "个"]), min_size=1, max_size=4))
def test_the_unit_trie_matches_as_the_longest_first_alternation(parts: list[str]) -> None:
    import regex

    from pipeline.mentions import alternation_trie

    units = load_lexicon().units
    alternation = "|".join(regex.escape(u) for u in sorted(units, key=lambda u: (-len(u), u)))
    text = "".join(parts)
    got = regex.match(alternation_trie(units), text)
    want = regex.match(f"(?:{alternation})", text)
    assert (got and got.group()) == (want and want.group())
