"""pipeline.categorise: the category and rate denominator (per) of a claim, end to end.

Cases: cases/categories.tsv (the claim quoted in a sentence, its category and per).
They run through ``api.extract``, so the item, its head, the governing verb, keywords and
unit defaults all take part. Properties: a modifier before a head does not change its
category (compounds are head-final), and the measure word's limits hold for every head
word of heads.yaml (people are counted with 名/人/位 and are never checkpoints; money is funds).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import load_cases, quantity_claims, unescape
from pipeline import api
from pipeline.categorise import item_after, noun_phrase
from pipeline.lexicon import load_lexicon
from pipeline.model import Category


@pytest.mark.parametrize(("text", "quote", "category", "per"), load_cases("categories.tsv"))
def test_category_and_per(text: str, quote: str, category: str, per: str) -> None:
    text, quote = unescape(text), unescape(quote)
    got = [c for c in quantity_claims(api.extract(text, doc_id="case", year=2020)) if c.quote == quote]
    assert [(c.category.value, c.per) for c in got] == [(category, per or None)]


PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEX = load_lexicon()
PEOPLE = {Category.personnel, Category.population, Category.cases}
# every head word of heads.yaml, closed (with its category) or open (人员, 点 …)
CLOSED = sorted((w, c) for w, c in LEX.heads.heads.items() if isinstance(c, Category))
ALL_HEADS = sorted(w for w in LEX.heads.heads if not w.isascii() and not w[-1].isascii())
# heads a count of things (个) can have, two characters or more (a one-character head may join
# the word before it: 小+组)
THINGS = [(w, c) for w, c in CLOSED if len(w) > 1 and c not in PEOPLE and not w.isascii() and not w[0].isascii()]
MODIFIERS = [w for w, _ in CLOSED if len(w) > 1 and not w.isascii() and not w[-1].isascii()]
VERBS = ["", "设置", "排查", "出动", "发放", "组织", "成立", "登记"]


def _claim(text: str, quote: str):
    """The claim quoted ``quote`` in ``text`` (the generated number)."""
    claims = [c for c in quantity_claims(api.extract(text, doc_id="prop", year=2020)) if c.quote == quote]
    assume(claims)  # a generated text the exclusion rules reject (列车12: a train number; 个人群…)
    assert len(claims) == 1, text
    return claims[0]


def _count(verb: str, noun: str, number: str, noun_first: bool) -> str:
    return f"{verb}{noun}共{number}。" if noun_first else f"{verb}共{number}{noun}。"


@PROPS
@given(st.sampled_from(THINGS), st.sampled_from(MODIFIERS))
def test_a_noun_before_the_head_does_not_change_its_category(head, modifier: str) -> None:
    """`口罩收集点`, `宣传车辆`, `党员服务队`: the last word decides."""
    word, category = head
    phrase = modifier + word
    assume(item_after(phrase + "。", 0, LEX) == phrase and noun_phrase(phrase, LEX) == phrase)
    # no longer head ends the phrase (党员+干部 is the head 党员干部)
    assume(not any(phrase.endswith(w) and len(w) > len(word) for w in LEX.heads.heads))
    assert _claim(f"镇里新建了3个{phrase}。", "3个").category is category


@PROPS
@given(st.sampled_from(VERBS), st.sampled_from(ALL_HEADS), st.sampled_from(["名", "人", "位"]), st.booleans())
def test_people_are_counted_as_people(verb: str, noun: str, unit: str, noun_first: bool) -> None:
    """Whatever the noun, a count in 名/人/位 is personnel, population or cases."""
    assert _claim(_count(verb, noun, f"12{unit}", noun_first), f"12{unit}").category in PEOPLE


@PROPS
@given(st.sampled_from(VERBS), st.sampled_from(ALL_HEADS), st.sampled_from(["个", "处", "条", "台", "辆", "块", "支"]), st.booleans())
def test_things_are_never_people(verb: str, noun: str, unit: str, noun_first: bool) -> None:
    """Whatever the noun, a count in 个/处/条/台… is never personnel or population."""
    assert _claim(_count(verb, noun, f"12{unit}", noun_first), f"12{unit}").category not in {Category.personnel, Category.population}


@PROPS
@given(st.sampled_from(VERBS), st.sampled_from(ALL_HEADS), st.booleans())
def test_money_is_funds(verb: str, noun: str, noun_first: bool) -> None:
    assert _claim(_count(verb, noun, "12万元", noun_first), "12万元").category is Category.funds
