"""Web pages end to end (tests/pages/*.html, written for these tests): furniture is never a
claim, the page's own date line dates the document, an HTML table's number cells take their
column header's thing and unit and their row header's place, and converter noise breaks
neither numbers nor places (the quote keeps it).

A claim is checked as (quote, value, unit, item, locality); a category only where the
column header alone settles it (the categorise stage owns the rest)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import api
from pipeline.ingest import read_document
from pipeline.model import ParagraphKind

PAGES = Path(__file__).parent / "pages"


def extract(name: str):
    return api.extract_document(read_document(PAGES / name))


def quantities(ex) -> dict[str, list]:
    """Quantity claims by raw quote (a quote can repeat)."""
    out: dict[str, list] = {}
    for c in ex.claims:
        if c.iso is None:
            out.setdefault(c.quote, []).append(c)
    return out


def row(c) -> tuple:
    return (c.quote, c.value, c.unit, c.item, c.place.locality)


# --- p1: a county page with a two-row table header, spans, 万元 and a total row ------


@pytest.fixture(scope="module")
def p1():
    return extract("p1_pingyao_table.html")


def test_p1_page_date_dates_the_document(p1) -> None:
    assert (p1.document.meta.published, p1.document.meta.published_source) == ("2020-02-15", "page")
    today = [c for c in p1.claims if c.quote == "今日"]
    assert [c.iso for c in today] == ["2020-02-15"]  # a relative day resolves with the page's date


def test_p1_table_cells_take_their_column_and_row(p1) -> None:
    cells = [row(c) for c in p1.claims if c.rule.startswith("<table column")]
    assert cells == [
        ("12", 12, "个", "卡点", "古陶镇"),
        ("48", 48, "人", "值守人员", "古陶镇"),
        ("3.5", 35000, "元", "防控资金", "古陶镇"),
        ("5", 5, "个", "卡点", "段村镇"),
        ("20", 20, "人", "值守人员", "段村镇"),
        ("1.2", 12000, "元", "防控资金", "段村镇"),
        ("17", 17, "个", "卡点", "平遥县"),  # the total row: the county both towns lie in
        ("68", 68, "人", "值守人员", "平遥县"),
        ("4.7", 47000, "元", "防控资金", "平遥县"),
    ]
    cats = {c.item: c.category.value for c in p1.claims if c.rule.startswith("<table column")}
    assert cats == {"卡点": "checkpoint", "值守人员": "personnel", "防控资金": "funds"}


def test_p1_header_and_furniture_give_no_claim(p1) -> None:
    found = quantities(p1)
    assert "万元" not in found  # the header `(万元)` counts nothing
    assert set(found) == {"12", "48", "3.5", "5", "20", "1.2", "17", "68", "4.7", "3000个"}
    kinds = {p.text: p.kind for p in p1.paragraphs}
    assert kinds["发布时间：2020-02-15 10:20来源：县卫健局浏览次数：1234"] is ParagraphKind.furniture
    assert "3项" not in p1.document.text  # <noscript> is not read


# --- p2: a page laid out in tables, with two data tables -----------------------------


@pytest.fixture(scope="module")
def p2():
    return extract("p2_fuping_layout.html")


def test_p2_layout_tables_read_as_blocks(p2) -> None:
    text = p2.document.text
    assert "\n\n疫情发生以来" in text and "| 庄里镇 | 9 | 210 | 486 | 含高速出口1处 |" in text
    assert p2.document.meta.published == "2020-02-20"  # 时间：2020年2月20日


def test_p2_units_from_headers_and_caption(p2) -> None:
    cells = [row(c) for c in p2.claims if c.rule.startswith("<table column")]
    assert cells[:3] == [("9", 9, "处", "检查点", "庄里镇"), ("210", 210, "辆", "劝返车辆", "庄里镇"), ("486", 486, "人次", "劝返人员", "庄里镇")]
    assert cells[-4:] == [
        ("4", 4, "个", "临时党支部", "庄里镇"),  # 单位：个 in the caption
        ("11", 11, "个", "党员先锋岗", "庄里镇"),
        ("3", 3, "个", "临时党支部", "张桥镇"),
        ("8", 8, "个", "党员先锋岗", "张桥镇"),
    ]
    total = [row(c) for c in p2.claims if c.quote in ("22", "433", "919")]
    assert [t[-1] for t in total] == ["富平县"] * 3
    # a cell that names its own thing keeps it (the 备注 column)
    note = quantities(p2)["1处"][0]
    assert (note.item, note.place.locality) == ("含高速出口", "庄里镇")


# --- p3: traditional characters with converter noise ---------------------------------


@pytest.fixture(scope="module")
def p3():
    return extract("p3_liuqu_converter.html")


def test_p3_numbers_through_pinyin_noise(p3) -> None:
    found = {q: [(c.value, c.unit, c.place.locality) for c in cs] for q, cs in quantities(p3).items()}
    assert found == {
        "14個": [(14, "个", "流曲镇")],
        "86名": [(86, "人", "流曲镇")],
        "1.2萬(wàn)個": [(12000, "个", "流曲镇")],  # the quote keeps the raw text
        "5萬(wàn)元": [(50000, "元", "流曲镇")],
        "326人": [(326, "人", "流曲镇")],
        "300公斤": [(300, "kg", "流曲镇")],
        "20名": [(20, "人", "流曲镇")],
    }
    assert all(c.place.county == "富平县" for c in p3.claims)


def test_p3_page_date_and_a_sentence_across_mojibake(p3) -> None:
    assert p3.document.meta.published == "2020-02-08"
    by_quote = {c.quote: c for c in p3.claims}
    assert by_quote["2月7日"].iso == "2020-02-07"  # the year comes from the page's date line
    # `卡點?值守` is one word: the `?` does not end the sentence that 2月7日 dates
    assert by_quote["300公斤"].date == "2020-02-07"
    assert by_quote["今日"].iso == "2020-02-08"


def test_a_manifest_date_wins_over_the_page(tmp_path) -> None:
    from pipeline.model import DocumentMeta

    doc = read_document(PAGES / "p3_liuqu_converter.html", DocumentMeta(published="2020-02-09"))
    ex = api.extract_document(doc)
    assert (ex.document.meta.published, ex.document.meta.published_source) == ("2020-02-09", "manifest")
    assert {c.quote: c.iso for c in ex.claims}["今日"] == "2020-02-09"
