"""pipeline.categorise: the category and rate denominator (per) of a claim, end to end.

Cases: cases/categories.tsv (the claim quoted in a sentence, its category and per).
They run through ``api.extract``, so the item, keywords and unit defaults all take part.
"""
from __future__ import annotations

import pytest

from conftest import load_cases, quantity_claims, unescape
from pipeline import api


@pytest.mark.parametrize(("text", "quote", "category", "per"), load_cases("categories.tsv"))
def test_category_and_per(text: str, quote: str, category: str, per: str) -> None:
    text, quote = unescape(text), unescape(quote)
    got = [c for c in quantity_claims(api.extract(text, doc_id="case", year=2020)) if c.quote == quote]
    assert [(c.category.value, c.per) for c in got] == [(category, per or None)]
