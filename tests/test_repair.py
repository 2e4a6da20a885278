"""pipeline.repair (View with a raw offset map) and pipeline.segment.

cases/repair.tsv: raw text (escapes written \\n, \\r, \\u3000) → repaired text.
The offset map itself is checked on every case here and on random text in
test_properties.py.
"""
from __future__ import annotations

import pytest

from conftest import load_cases, unescape
from pipeline.model import ParagraphKind, View
from pipeline.repair import _WS, char_map, repair
from pipeline.segment import classify, furniture_rule, page_published, paragraphs, sentences


def check_view(raw: str, v: View) -> None:
    """The View contract: one raw offset per character, strictly increasing, and each
    character is the raw one or its one-for-one substitution (a kept space may stand
    for any layout whitespace; a paragraph break for a raw newline)."""
    assert len(v.raw) == len(v.text)
    assert v.raw_end == len(raw)
    assert all(a < b for a, b in zip(v.raw, v.raw[1:]))
    assert all(0 <= r < len(raw) for r in v.raw)
    cmap = char_map()
    for i, ch in enumerate(v.text):
        r = raw[v.raw[i]]
        if ch == r:
            continue
        if ch == "\n":
            assert r == "\n", (i, r)
        elif ch == " ":
            assert r.isspace() or r in _WS, (i, r)
        else:
            assert cmap.get(ord(r)) == ch, (i, r, ch)


@pytest.mark.parametrize(("raw", "text"), load_cases("repair.tsv"))
def test_repair(raw: str, text: str) -> None:
    raw = unescape(raw)
    v = repair(raw)
    assert v.text == unescape(text)
    check_view(raw, v)


def test_empty_text() -> None:
    v = repair("")
    assert (v.text, v.raw, v.raw_end) == ("", (), 0)


def test_raw_span_maps_a_view_span_back_to_raw() -> None:
    raw = "共设置卡点12 个，抽调干部"
    v = repair(raw)
    s = v.text.index("12个")
    start, end = v.raw_span(s, s + 3)
    assert raw[start:end] == "12 个"


def test_raw_span_of_an_empty_span_is_empty() -> None:
    v = repair("口罩 100个")
    assert v.raw_span(2, 2) == (v.raw[2], v.raw[2])
    assert v.raw_span(len(v.text), len(v.text)) == (v.raw_end, v.raw_end)


def test_view_pos_inverts_raw() -> None:
    raw = "\u3000\u3000基层党 组织。\n第二段。"
    v = repair(raw)
    for i, r in enumerate(v.raw):
        assert v.view_pos(r) == i


def test_char_map_is_one_for_one() -> None:
    cmap = char_map()
    assert all(len(dst) == 1 for dst in cmap.values())
    assert cmap[ord("萬")] == "万"
    assert cmap[ord("兩")] == "两"
    assert cmap[ord("５")] == "5"
    assert cmap[ord(",")] == "，"


# --- segment ------------------------------------------------------------------


def test_sentences_end_at_sentence_punctuation_and_paragraph_breaks() -> None:
    text = "第一句。第二句！\n第三句"
    assert [text[s:e] for s, e in sentences(text)] == ["第一句。", "第二句！", "第三句"]


def test_a_closing_quote_stays_with_its_sentence() -> None:
    text = "他说：“好。”然后走了。"
    assert [text[s:e] for s, e in sentences(text)] == ["他说：“好。”", "然后走了。"]


def test_sentences_within_a_range() -> None:
    text = "甲。乙。丙。"
    assert sentences(text, 2, 4) == [(2, 4)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("组版：张三", ParagraphKind.furniture),
        ("（记者 李四）", ParagraphKind.byline),
        ("图为志愿者在卡点值守。", ParagraphKind.caption),
        ("【全县防控工作简报】", ParagraphKind.headline),
        ("众志成城抗疫情", ParagraphKind.headline),
        ("全县共设立卡点12个，抽调干部36名，确保每个卡点都有人值守。", ParagraphKind.body),
    ],
)
def test_classify(text: str, kind: ParagraphKind) -> None:
    assert classify(text) is kind


def test_paragraphs_carry_raw_and_view_offsets() -> None:
    raw = "众志成城抗疫情\n\n　　全县共设立卡点12个，抽调干部36名，确保每个卡点都有人值守。\n组版：张三\n"
    v = repair(raw)
    paras = paragraphs("doc", v)
    assert [p.kind for p in paras] == [ParagraphKind.headline, ParagraphKind.body, ParagraphKind.furniture]
    assert [p.para_id for p in paras] == [0, 1, 2]
    for p in paras:
        assert v.text[p.vstart : p.vend] == p.text
        assert (p.start, p.end) == v.raw_span(p.vstart, p.vend)
        assert raw[p.start : p.end].replace("　", "") == p.text.replace("　", "")


# --- page furniture (cases/furniture.tsv) ------------------------------------------


@pytest.mark.parametrize(("text", "rule", "published"), load_cases("furniture.tsv"))
def test_furniture_line(text: str, rule: str, published: str) -> None:
    """One line of a page: the furniture rule it matches (`menu`: a site menu; `cell`: a table
    row with a furniture cell; `-`: none), and the page date it gives."""
    raw = unescape(text)
    paras = paragraphs("doc", repair(raw), raw)
    assert len(paras) == 1
    p = paras[0]
    if rule == "-":
        assert p.kind is not ParagraphKind.furniture, furniture_rule(p.text)
    else:
        assert p.kind is ParagraphKind.furniture
        assert furniture_rule(p.text) == (None if rule in ("menu", "cell") else rule)
    assert page_published(paras) == (published or None)


# --- converter noise: a property --------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HAN_TEXT = "设立检测点党员口罩發放萬兩元县乡村镇户人个名"
_SYLLABLES = ["wàn", "zhèn", "xiàn", "hù", "gè", "liǎng", "diǎn", "shí", "xian4", "zhong1guo2"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_HAN_TEXT + "0123456789，。"), st.sampled_from(["", *_SYLLABLES]), st.sampled_from("()（）")), max_size=40))
def test_pinyin_after_a_character_changes_nothing_but_offsets(parts) -> None:
    """Text with converter pinyin after its characters repairs to the text without it, and
    the view still maps every character back to the raw text."""
    clean = "".join(ch for ch, _, _ in parts)
    noisy = "".join(
        ch + (f"{'(' if paren in '()' else '（'}{syl}{')' if paren in '()' else '）'}" if syl and "\u4e00" <= ch <= "\u9fff" else "")
        for ch, syl, paren in parts
    )
    v = repair(noisy)
    assert v.text == repair(clean).text
    check_view(noisy, v)
