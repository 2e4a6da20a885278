"""One bulletin in every input format gives the same claims.

The township report tests/bulletins/docs/t04_*.txt is written out as UTF-8, GB18030, Big5 (from the
traditional-character fixture tests/bulletins/formats/township_trad.txt, made once with OpenCC s2tw),
an HTML page with script/style/nav noise, and a PDF drawn with reportlab's STSong-Light CID font.
Each goes through pipeline.api.run with the same publication date; the multiset of
(value, unit, category) of its non-date claims and the multiset of its dates' ISO values must equal
those of the UTF-8 original.
"""
from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

import pytest

from pipeline import api
from pipeline.tables import build_tables

HERE = Path(__file__).parent
SOURCE = HERE / "bulletins" / "docs" / "t04_tangxia_township_20200214.txt"
TRADITIONAL = HERE / "bulletins" / "formats" / "township_trad.txt"
PUBLISHED = "2020-02-14"
FORMATS = ["utf8", "gb18030", "big5", "html", "pdf"]
ENCODINGS = {"utf8": "utf-8", "gb18030": "gb18030", "big5": "big5"}


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _html(text: str) -> bytes:
    paras = _paragraphs(text)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras[1:])
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(paras[0])}</title>
<style>body {{ font-size: 16px; margin: 0 12px; }} .nav a {{ padding: 0 8px; }}</style>
<script>var visits = 12345; var pages = [1, 2, 3]; console.log("共有36个栏目");</script>
</head><body>
<nav class="nav"><a href="/">首页</a><a href="/news">新闻中心（128条）</a><a href="/notice">通知公告</a><a href="/page/2">第2页</a><span>2020年2月14日 星期五 今日访问量3200人次</span></nav>
<article>
<h1>{html.escape(paras[0])}</h1>
{body}
</article>
<script>document.querySelectorAll("p").forEach(function (p, i) {{ p.dataset.index = i + 1; }});</script>
<footer>瑞安市塘下镇人民政府 版权所有 联系电话：0577-12345678 地址：塘下镇镇府路88号</footer>
</body></html>
"""
    return page.encode("utf-8")


def _pdf(text: str) -> bytes:
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    width, height = A4
    size, margin, per_line = 11, 56, 36
    y = height - margin

    def line(s: str, font_size: int = size) -> None:
        nonlocal y
        if y < margin:
            c.showPage()
            y = height - margin
        c.setFont("STSong-Light", font_size)
        c.drawString(margin, y, s)
        y -= font_size * 1.6

    paras = _paragraphs(text)
    line(paras[0], 14)
    y -= 8
    for p in paras[1:]:
        for i in range(0, len(p), per_line):
            line(p[i : i + per_line])
        y -= 8
    c.save()
    return buf.getvalue()


def _write(fmt: str, folder: Path) -> Path:
    text = SOURCE.read_text(encoding="utf-8")
    if fmt == "utf8":
        path, data = folder / "township_utf8.txt", text.encode("utf-8")
    elif fmt == "gb18030":
        path, data = folder / "township_gb18030.txt", text.encode("gb18030")
    elif fmt == "big5":
        path, data = folder / "township_big5.txt", TRADITIONAL.read_text(encoding="utf-8").encode("big5")
    elif fmt == "html":
        path, data = folder / "township.html", _html(text)
    elif fmt == "pdf":
        path, data = folder / "township.pdf", _pdf(text)
    else:  # pragma: no cover
        raise ValueError(fmt)
    path.write_bytes(data)
    return path


def _run(fmt: str, folder: Path):
    path = _write(fmt, folder)
    manifest = folder / "manifest.csv"
    manifest.write_text(f"path,published\n{path.name},{PUBLISHED}\n", encoding="utf-8")
    extractions = api.run([path], manifest=manifest)
    assert len(extractions) == 1
    return extractions[0], build_tables(extractions)


def _signature(extraction) -> tuple[Counter, Counter]:
    quantities = Counter(
        (round(c.value, 6), c.unit, str(getattr(c.category, "value", c.category)))
        for c in extraction.claims
        if c.iso is None
    )
    dates = Counter(c.iso for c in extraction.claims if c.iso is not None)
    return quantities, dates


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    extraction, _ = _run("utf8", tmp_path_factory.mktemp("utf8"))
    assert extraction.document.error is None
    quantities, dates = _signature(extraction)
    assert sum(quantities.values()) >= 30 and sum(dates.values()) >= 2, "the reference run lost its claims"
    return quantities, dates


def test_traditional_fixture_is_the_source_in_traditional_characters():
    simplified = SOURCE.read_text(encoding="utf-8")
    traditional = TRADITIONAL.read_text(encoding="utf-8")
    assert len(traditional) == len(simplified)
    assert traditional != simplified
    traditional.encode("big5")  # every character has a Big5 code


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_claims_in_every_format(fmt, reference, tmp_path):
    extraction, tables = _run(fmt, tmp_path)
    assert extraction.document.error is None, extraction.document.error
    quantities, dates = _signature(extraction)
    want_q, want_d = reference
    assert dates == want_d, f"{fmt}: dates differ: missing {want_d - dates}, extra {dates - want_d}"
    assert quantities == want_q, f"{fmt}: quantities differ: missing {want_q - quantities}, extra {quantities - want_q}"
    if fmt in ENCODINGS:
        assert list(tables.documents["encoding"]) == [ENCODINGS[fmt]]
