"""Segmentation: paragraphs with a kind and an article, and sentences.

Reads: a :class:`View`. Writes: :class:`Paragraph` records (raw and view
offsets) and sentence spans (view offsets).
"""
from __future__ import annotations

import regex

from .model import Paragraph, ParagraphKind, View

_FURNITURE = regex.compile(
    r"^(?:组版|合办|主办|协办|承办|责任编辑|责编|编辑|校对|审核|审校|美编|投稿|邮箱|电话|传真|地址|邮编|版式|第\d+版|本版)[：:]"
    r"|^第?\s*\d+\s*版$|^\d{1,3}$|^[-—\s\d/]+$"
)
_BYLINE = regex.compile(r"^[（(](?:本报)?(?:记者|通讯员|特约)?[\p{Han}·、\s]{2,16}[)）]$|^(?:本报记者|记者|通讯员|文/|图/|文：|图：)")
_CAPTION = regex.compile(r"^(?:图为|图片为|上图|下图|左图|右图|图[：:]|▲|△|（图)")
_ARTICLE_LEAD = regex.compile(r"^(?:本报讯|本报(?:\S{0,4})?消息|新华社|央视网消息|人民网|中新网|据\S{1,8}(?:消息|报道)|【)")
_HEADLINE_MARKS = regex.compile(r"^(?:【[^】]{1,60}】|#[^#]{1,60}#)")
# A headline in 【…】 or #…# is a sentence of its own, even inside a paragraph.
_SENTENCE_END = regex.compile(r"[。！？!?]+[”’」』\"]?|\n|(?<=(?:^|\n)【[^】\n]*)】")
_END_PUNCT = "。！？!?；;…，,、：:"


def classify(text: str, width: float = 40.0) -> ParagraphKind:
    """The kind of one repaired paragraph."""
    t = text.strip()
    if _FURNITURE.search(t):
        return ParagraphKind.furniture
    if _BYLINE.search(t) and len(t) <= 24:
        return ParagraphKind.byline
    if _CAPTION.search(t):
        return ParagraphKind.caption
    if _HEADLINE_MARKS.match(t) and len(t) <= 80 and not _ARTICLE_LEAD.match(t[1:] if t.startswith("【") else "~"):
        return ParagraphKind.headline
    stripped = t.rstrip("”’\"」』）)")
    if len(t) <= max(40, int(width)) and stripped and stripped[-1] not in _END_PUNCT and "。" not in t:
        return ParagraphKind.headline
    return ParagraphKind.body


def paragraphs(doc_id: str, view: View) -> list[Paragraph]:
    """Split the view at its paragraph breaks; give each paragraph a kind and an article.

    A new article starts at a headline that follows a non-headline paragraph, at
    an article lead (本报讯, 新华社…) not directly under a headline, and after a
    byline that closes an article.
    """
    out: list[Paragraph] = []
    text = view.text
    article = 0
    prev_kind: ParagraphKind | None = None
    pos = 0
    para_id = 0
    for chunk in text.split("\n"):
        vstart, vend = pos, pos + len(chunk)
        pos = vend + 1
        if not chunk.strip():
            continue
        kind = classify(chunk)
        if prev_kind is not None:
            if kind is ParagraphKind.headline and prev_kind not in (ParagraphKind.headline, ParagraphKind.furniture):
                article += 1
            elif kind is ParagraphKind.body and _ARTICLE_LEAD.match(chunk) and prev_kind is not ParagraphKind.headline:
                article += 1
            elif prev_kind is ParagraphKind.byline and kind is not ParagraphKind.byline:
                article += 1
        start, end = view.raw_span(vstart, vend)
        out.append(Paragraph(doc_id, para_id, article, kind, start, end, vstart, vend, chunk))
        para_id += 1
        if kind is not ParagraphKind.furniture:
            prev_kind = kind
    return out


def sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (up to and including 。！？ or a paragraph break) within [start, end)."""
    end = len(text) if end is None else end
    spans = []
    s = start
    for m in _SENTENCE_END.finditer(text, start, end):
        e = m.end()
        if text[e - 1] == "\n":
            e -= 1
        if e > s:
            spans.append((s, e))
        s = m.end()
    if s < end:
        spans.append((s, end))
    return spans
