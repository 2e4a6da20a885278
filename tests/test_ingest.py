"""INGEST: files of every supported format and every kind of bad input -> Document.

All fixtures are generated in tmp_path; nothing binary is committed.
"""
from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import api, ingest
from pipeline.ingest import InputFile, column_gap, decode_bytes, doc_ids, iter_inputs, os_bytes, printable, read_document
from pipeline.manifest import load_manifest
from pipeline.model import DocumentMeta, InputError

BULLETIN = (
    "新冠肺炎疫情防控工作简报。2月3日，某镇在辖区主要路口共设置12个检查卡点，"
    "安排党员干部和志愿者86人轮流值守，对过往车辆和人员逐一测量体温、登记信息。"
    "当天向群众发放口罩3000个、宣传单1.2万份。"
    "县卫生健康局对全县各区开展消毒作业，累计消毒面积达两万平方米。"
)
# The same bulletin in traditional characters, converted by hand.
BULLETIN_TRAD = (
    "新冠肺炎疫情防控工作簡報。2月3日，某鎮在轄區主要路口共設置12個檢查卡點，"
    "安排黨員幹部和志願者86人輪流值守，對過往車輛和人員逐一測量體溫、登記信息。"
    "當天向群眾發放口罩3000個、宣傳單1.2萬份。"
    "縣衛生健康局對全縣各區開展消毒作業，累計消毒面積達兩萬平方米。"
)
SENTENCES = [s + "。" for s in BULLETIN.split("。") if s]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def squash(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    "text, codec, recorded",
    [
        (BULLETIN, "utf-8", "utf-8"),
        (BULLETIN, "utf-8-sig", "utf-8-sig"),
        (BULLETIN, "gb18030", "gb18030"),
        (BULLETIN, "gbk", "gb18030"),
        (BULLETIN_TRAD, "big5", "big5"),
        (BULLETIN, "utf-16", "utf-16"),  # with BOM
        (BULLETIN_TRAD, "utf-16", "utf-16"),
        (BULLETIN, "utf-16-le", "utf-16-le"),  # no BOM
        (BULLETIN, "utf-16-be", "utf-16-be"),
    ],
)
def test_txt_encodings_decode_to_the_original(tmp_path, text, codec, recorded):
    raw = text.encode(codec)
    doc = read_document(write(tmp_path, "镇简报.txt", raw))
    assert doc.error is None
    assert doc.text == text  # BOM stripped, nothing else touched
    assert doc.encoding == recorded
    assert raw.decode(doc.encoding) == doc.text  # the recorded codec reproduces the text
    assert doc.format == "txt"
    assert doc.doc_id == "镇简报"
    assert doc.n_bytes == len(raw)
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()


def test_traditional_characters_are_kept(tmp_path):
    doc = read_document(write(tmp_path, "t.txt", BULLETIN_TRAD.encode("big5")))
    assert "萬" in doc.text and "縣" in doc.text and "區" in doc.text and "兩" in doc.text


@pytest.mark.parametrize("codec, text", [("gb18030", BULLETIN), ("big5", BULLETIN_TRAD)])
def test_200_char_legacy_text_is_detected(tmp_path, codec, text):
    text200 = (text * 2)[:200]
    doc = read_document(write(tmp_path, "a.txt", text200.encode(codec)))
    assert (doc.text, doc.encoding) == (text200, codec)


@pytest.mark.parametrize(
    "text, codec",
    [("口罩3000个", "gb18030"), ("口罩3000個", "big5"), ("设置12个检查卡点", "gb18030"),
     ("設置12個檢查卡點", "big5"), ("全县消毒两万平方米", "gb18030"), ("全縣消毒兩萬平方米", "big5")],
)
def test_very_short_legacy_text_is_detected(text, codec):
    # charset-normalizer gets these wrong (it reads GB bytes as Big5); see ingest.py
    assert decode_bytes(text.encode(codec)) == (text, codec)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), trad=st.booleans())
def test_any_bulletin_excerpt_of_8_chars_or_more_is_detected(data, trad):
    text = BULLETIN_TRAD if trad else BULLETIN
    codec = "big5" if trad else "gb18030"
    start = data.draw(st.integers(0, len(text) - 8))
    end = data.draw(st.integers(start + 8, len(text)))
    excerpt = text[start:end]
    raw = excerpt.encode(codec)
    expected = "utf-8" if raw.isascii() else codec
    assert decode_bytes(raw) == (excerpt, expected)


def test_crlf_is_kept(tmp_path):
    text = BULLETIN.replace("。", "。\r\n")
    doc = read_document(write(tmp_path, "a.txt", text.encode("gb18030")))
    assert doc.text == text and "\r\n" in doc.text


def test_text_extension_and_uppercase_are_txt(tmp_path):
    assert read_document(write(tmp_path, "a.text", BULLETIN.encode())).format == "txt"
    assert read_document(write(tmp_path, "B.TXT", BULLETIN.encode())).text == BULLETIN


def test_manifest_meta_is_attached(tmp_path):
    meta = DocumentMeta(published="2020-02-04", title="简报", locality="某镇")
    doc = read_document(write(tmp_path, "a.txt", BULLETIN.encode()), meta=meta)
    assert doc.meta == meta


# ---------------------------------------------------------------- bad inputs


def test_empty_file(tmp_path):
    doc = read_document(write(tmp_path, "a.txt", b""))
    assert (doc.error, doc.text, doc.n_bytes) == ("file is empty", "", 0)


def test_whitespace_only_file(tmp_path):
    doc = read_document(write(tmp_path, "a.txt", b" \r\n\t\n"))
    assert doc.error == "file has no text (whitespace only)" and doc.text == ""


def test_binary_with_nul_bytes(tmp_path):
    raw = bytes(range(256)) * 4
    doc = read_document(write(tmp_path, "a.txt", raw))
    assert doc.error == "binary file (NUL bytes)"
    assert doc.text == "" and doc.n_bytes == len(raw) and doc.sha256


def test_undecodable_bytes(tmp_path):
    raw = b"caf\xe9 \xff\x80 \xfe"  # invalid in UTF-8, GB18030 and Big5; odd length for UTF-16
    doc = read_document(write(tmp_path, "a.txt", raw))
    assert doc.error.startswith("cannot decode: not UTF-8/GB18030/Big5/UTF-16")
    assert doc.text == ""


def test_non_chinese_legacy_text_is_not_passed_off_as_chinese(tmp_path):
    raw = "これは日本語のテキストです。東京都の発表。".encode("shift_jis")
    doc = read_document(write(tmp_path, "a.txt", raw))
    assert doc.error and doc.error.startswith("cannot decode")


def test_file_over_the_size_limit(tmp_path):
    path = write(tmp_path, "a.txt", BULLETIN.encode() * 10)
    doc = read_document(path, max_bytes=100)
    assert path.stat().st_size == 3670
    assert doc.error == "file is larger than the 100 bytes limit (3.6 KB)"
    assert doc.n_bytes == 3670
    assert doc.text == "" and doc.sha256 == ""


def test_size_limit_message_in_mb(tmp_path):
    path = write(tmp_path, "a.txt", b"x" * (2 * 1024 * 1024 + 200_000))
    doc = read_document(path, max_bytes=2 * 1024 * 1024)
    assert doc.error == "file is larger than the 2 MB limit (2.2 MB)"


def test_folder_named_like_a_file(tmp_path):
    (tmp_path / "x.txt").mkdir()
    doc = read_document(tmp_path / "x.txt")
    assert doc.error == "unreadable: is a folder, not a file" and doc.text == ""


def test_dangling_symlink(tmp_path):
    (tmp_path / "x.txt").symlink_to(tmp_path / "missing.txt")
    doc = read_document(tmp_path / "x.txt")
    assert doc.error.startswith("unreadable: file not found")


def test_fifo_is_not_read(tmp_path):
    os.mkfifo(tmp_path / "x.txt")
    doc = read_document(tmp_path / "x.txt")  # would block forever if opened
    assert doc.error == "unreadable: not a regular file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_permission_denied_chmod(tmp_path):
    path = write(tmp_path, "a.txt", BULLETIN.encode())
    path.chmod(0)
    try:
        assert read_document(path).error == "unreadable: permission denied"
    finally:
        path.chmod(0o644)


def test_permission_denied(tmp_path, monkeypatch):
    # Runs as root too: the read itself is made to fail as it would for chmod 000.
    def deny(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ingest, "_read_bytes", deny)
    doc = read_document(write(tmp_path, "a.txt", BULLETIN.encode()))
    assert doc.error == "unreadable: permission denied" and doc.text == ""


# ---------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>某镇疫情防控工作简报_某县人民政府</title>
<style>body {{ color: red }} .x:after {{ content: "样式里的文字" }}</style>
<script>var secret = "脚本里的文字"; document.write("脚本输出");</script>
</head><body>
<nav><a href="/">首页</a> | <a href="/news">新闻中心</a> | 导航栏文字</nav>
<div class="main"><article>
<h1>某镇疫情防控工作简报</h1>
{paras}
</article></div>
<script>console.log("尾部脚本文字")</script>
<footer>版权所有 某县人民政府</footer>
</body></html>"""


def page(**fmt) -> str:
    return PAGE.format(paras="\n".join(f"<p>{s}</p>" for s in SENTENCES), **fmt)


def assert_no_code(text: str) -> None:
    for junk in ("脚本", "secret", "document.write", "样式", "color", "console"):
        assert junk not in text


def test_html_article_text_without_script_style_nav(tmp_path):
    doc = read_document(write(tmp_path, "p.html", page().encode("gb18030")))
    assert doc.error is None and doc.format == "html" and doc.encoding == "gb18030"
    for s in SENTENCES:
        assert s in doc.text
    assert_no_code(doc.text)
    assert "导航栏文字" not in doc.text
    assert "\n\n".join(SENTENCES) in doc.text  # paragraphs separated by blank lines
    assert doc.meta.title == "某镇疫情防控工作简报_某县人民政府"


def test_html_manifest_title_wins(tmp_path):
    meta = DocumentMeta(title="清单标题")
    doc = read_document(write(tmp_path, "p.htm", page().encode("gb18030")), meta=meta)
    assert doc.meta.title == "清单标题"


def test_html_fallback_when_trafilatura_finds_nothing(tmp_path, monkeypatch):
    import trafilatura

    monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    doc = read_document(write(tmp_path, "p.html", page().encode("utf-8")))
    assert doc.error is None
    for s in SENTENCES:
        assert s in doc.text
    assert_no_code(doc.text)
    assert "导航栏文字" not in doc.text
    assert "\n\n".join(SENTENCES) in doc.text


def test_html_wrong_declared_charset_is_overruled(tmp_path):
    # Declared gb2312, actually UTF-8: the declaration decodes to nonsense, detection wins.
    doc = read_document(write(tmp_path, "p.html", page().encode("utf-8")))
    assert doc.encoding == "utf-8"
    assert SENTENCES[1] in doc.text


def test_html_big5_and_xml_declaration(tmp_path):
    html = (
        '<?xml version="1.0" encoding="big5"?>\n<html><head><title>簡報</title></head>'
        f"<body><article><p>{BULLETIN_TRAD}</p></article></body></html>"
    )
    doc = read_document(write(tmp_path, "p.html", html.encode("big5")))
    assert doc.error is None and doc.encoding == "big5"
    assert BULLETIN_TRAD in doc.text


def test_html_with_only_script_has_no_text(tmp_path):
    html = "<html><head><script>var a = '脚本';</script></head><body><script>x()</script></body></html>"
    doc = read_document(write(tmp_path, "p.html", html.encode()))
    assert doc.error == "no text found in HTML" and doc.text == ""


def test_html_table_rows_stay_together(tmp_path):
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in [("检查卡点", "12个"), ("口罩", "3000个")])
    html = f"<html><body><article><p>{BULLETIN}</p><table>{rows}</table></article></body></html>"
    doc = read_document(write(tmp_path, "p.html", html.encode()))
    assert "检查卡点" in doc.text and "3000个" in doc.text
    table = doc.text.split("\n\n")[-1]
    assert table.count("\n") == 1  # one paragraph, one row a line


NOSCRIPT = (
    "<html><body><noscript>请启用浏览器脚本后查看全部6个栏目</noscript>"
    f"<article><p>{BULLETIN}</p></article></body></html>"
)


@pytest.mark.parametrize("fallback", [False, True])
def test_noscript_text_is_not_content(tmp_path, monkeypatch, fallback):
    if fallback:
        import trafilatura

        monkeypatch.setattr(trafilatura, "extract", lambda *a, **k: None)
    doc = read_document(write(tmp_path, "p.html", NOSCRIPT.encode()))
    assert BULLETIN in doc.text
    assert "脚本" not in doc.text and "栏目" not in doc.text


def _table(html: str):
    import lxml.html

    return lxml.html.fragment_fromstring(html)


def test_table_grid_fills_spanned_words_but_not_spanned_numbers():
    table = _table(
        "<table><tr><th rowspan='2'>乡镇</th><th colspan='2'>卡点</th></tr>"
        "<tr><th>数量（个）</th><th>人员（人）</th></tr>"
        "<tr><td>甲镇</td><td rowspan='2'>7</td><td>20</td></tr>"
        "<tr><td>乙镇</td><td>15</td></tr></table>"
    )
    assert ingest.table_grid(table) == [
        ["乡镇", "卡点", "卡点"],
        ["乡镇", "数量（个）", "人员（人）"],
        ["甲镇", "7", "20"],
        ["乙镇", "", "15"],  # a number is counted once, in the row that holds it
    ]


@pytest.mark.parametrize(
    "html",
    [
        "<table><tr><td>甲镇</td><td>12</td></tr></table>",  # one row
        "<table><tr><td>甲镇</td></tr><tr><td>12</td></tr></table>",  # one column
        "<table><tr><td>镇</td><td>村</td></tr><tr><td>甲</td><td>乙</td></tr></table>",  # no number
        f"<table><tr><td>说明</td><td>{BULLETIN}</td></tr><tr><td>1</td><td>2</td></tr></table>",  # a paragraph in a cell
        "<table><tr><td><table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table></td></tr>"
        "<tr><td>5</td></tr></table>",  # holds a table
    ],
)
def test_layout_tables_are_not_data_tables(html):
    assert ingest.table_grid(_table(html)) is None


def test_a_data_table_becomes_rows_and_a_layout_table_blocks(tmp_path):
    html = (
        "<html><body><table><tr><td><table><tr><td><a href='/'>首页</a></td><td><a href='/z'>政务</a></td></tr></table></td></tr>"
        f"<tr><td><div class='content'><p>{SENTENCES[0]}</p><p>{SENTENCES[1]}</p>"
        "<table><caption>各镇卡点（单位：个）</caption><tr><th>镇</th><th>卡点</th></tr>"
        "<tr><td>甲镇</td><td>12</td></tr><tr><td>乙镇</td><td>7</td></tr></table>"
        f"<p>{SENTENCES[2]}</p></div></td></tr></table></body></html>"
    )
    doc = read_document(write(tmp_path, "p.html", html.encode()))
    assert "\n\n".join([SENTENCES[0], SENTENCES[1], "各镇卡点（单位：个）", "| 镇 | 卡点 |\n| 甲镇 | 12 |\n| 乙镇 | 7 |", SENTENCES[2]]) in doc.text


# ---------------------------------------------------------------- PDF


def cjk_canvas(path: Path, **kw):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), **kw)
    c.setFont("STSong-Light", 12)
    return c


def test_pdf_cjk_text_is_extracted_exactly(tmp_path):
    path = tmp_path / "简报.pdf"
    c = cjk_canvas(path)
    lines = SENTENCES + [s + "。" for s in BULLETIN_TRAD.split("。") if s]
    for i, s in enumerate(lines):
        c.drawString(40, 800 - 20 * i, s)
    c.save()
    doc = read_document(path)
    assert doc.error is None and doc.format == "pdf" and doc.encoding is None
    assert squash(doc.text) == squash("".join(lines))  # simplified and traditional glyphs both come back
    assert doc.doc_id == "简报"


def test_pdf_pages_joined_by_blank_line(tmp_path):
    path = tmp_path / "a.pdf"
    c = cjk_canvas(path)
    c.drawString(40, 800, SENTENCES[0])
    c.showPage()
    c.setFont("STSong-Light", 12)
    c.drawString(40, 800, SENTENCES[1])
    c.save()
    assert read_document(path).text == SENTENCES[0] + "\n\n" + SENTENCES[1]


LEFT = [f"左栏第{n}行：全镇共设置检查卡点十二个，值守人员八十六人。" for n in "一二三四五六七"]
RIGHT = [f"右栏第{n}行：当天发放口罩三千个，宣传单一万两千份。" for n in "一二三四五六七"]


def two_column_pdf(path: Path, headline: str | None = "某镇疫情防控工作简报（二〇二〇年二月三日）") -> Path:
    c = cjk_canvas(path)  # A4: 595 x 842 pt
    c.setFont("STSong-Light", 10)
    y = 780
    if headline:
        c.setFont("STSong-Light", 18)
        c.drawString(60, 800, headline)
        c.setFont("STSong-Light", 10)
    for i, (left, right) in enumerate(zip(LEFT, RIGHT)):
        c.drawString(30, y - 16 * i, left)  # 28 glyphs x 10 pt: ends at x=310
        c.drawString(325, y - 16 * i, right)  # 15 pt gutter
    c.save()
    return path


def test_two_column_pdf_is_read_column_by_column(tmp_path):
    doc = read_document(two_column_pdf(tmp_path / "a.pdf"))
    assert doc.error is None
    lines = doc.text.split("\n")
    assert lines == ["某镇疫情防控工作简报（二〇二〇年二月三日）", *LEFT, *RIGHT]


def test_two_column_pdf_without_headline(tmp_path):
    doc = read_document(two_column_pdf(tmp_path / "a.pdf", headline=None))
    assert doc.text.split("\n") == [*LEFT, *RIGHT]


def test_two_column_pdf_with_offset_baselines_and_a_second_article(tmp_path):
    # Right column set 5 pt lower than the left; a second full-width headline
    # halfway down starts a new pair of columns: read top block, headline, bottom block.
    path = tmp_path / "a.pdf"
    c = cjk_canvas(path)
    c.setFont("STSong-Light", 10)
    for i in range(4):
        c.drawString(30, 780 - 16 * i, LEFT[i])
        c.drawString(325, 775 - 16 * i, RIGHT[i])
    c.setFont("STSong-Light", 16)
    c.drawString(60, 690, "第二篇：某县卫生健康局全面开展消毒作业工作情况")
    c.setFont("STSong-Light", 10)
    for i in range(4, 7):
        c.drawString(30, 660 - 16 * (i - 4), LEFT[i])
        c.drawString(325, 655 - 16 * (i - 4), RIGHT[i])
    c.save()
    lines = read_document(path).text.split("\n")
    assert lines == [*LEFT[:4], *RIGHT[:4], "第二篇：某县卫生健康局全面开展消毒作业工作情况", *LEFT[4:], *RIGHT[4:]]


def test_one_column_page_has_no_gutter(tmp_path):
    import pdfplumber

    path = tmp_path / "a.pdf"
    c = cjk_canvas(path)
    for i in range(8):
        c.drawString(40, 800 - 16 * i, BULLETIN[i * 30:(i + 1) * 30] or "完")
    c.save()
    with pdfplumber.open(path) as pdf:
        p = pdf.pages[0]
        assert column_gap(p.extract_words(), p.bbox[0], p.bbox[2]) is None


def test_table_like_page_is_not_split_into_columns(tmp_path):
    # Short label cells on the left, values on the right: reading row by row keeps pairs together.
    path = tmp_path / "a.pdf"
    c = cjk_canvas(path)
    rows = [("检查卡点", "12个"), ("值守人员", "86人"), ("口罩", "3000个"), ("宣传单", "1.2万份"), ("消毒面积", "2万平方米")]
    for i, (k, v) in enumerate(rows):
        c.drawString(40, 800 - 16 * i, k)
        c.drawString(400, 800 - 16 * i, v)
    c.save()
    text = read_document(path).text
    assert [squash(line) for line in text.split("\n")] == [k + v for k, v in rows]


def test_corrupt_pdf(tmp_path):
    doc = read_document(write(tmp_path, "a.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage\n"))
    assert doc.error.startswith("corrupt PDF: ") and doc.text == ""


def test_truncated_pdf(tmp_path):
    path = two_column_pdf(tmp_path / "full.pdf")
    doc = read_document(write(tmp_path, "a.pdf", path.read_bytes()[:300]))
    assert doc.error is not None and doc.text == ""


def test_not_a_pdf(tmp_path):
    doc = read_document(write(tmp_path, "a.pdf", b"<html><body>404 Not Found</body></html>"))
    assert doc.error == "corrupt PDF: no %PDF header (not a PDF file)"


def test_pdf_without_text_layer(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    c.rect(100, 100, 300, 400, fill=1)
    c.save()
    doc = read_document(path)
    assert doc.error == "PDF has no text layer (scanned image?)" and doc.text == ""


def test_encrypted_pdf(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption

    path = tmp_path / "locked.pdf"
    c = cjk_canvas(path, encrypt=StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(40, 800, SENTENCES[0])
    c.save()
    doc = read_document(path)
    assert doc.error.startswith("encrypted PDF") and doc.text == ""


# ---------------------------------------------------------------- iter_inputs


def test_iter_inputs_recursive_sorted_known_extensions(tmp_path):
    for name in ["b.txt", "a.PDF", "sub/c.htm", "sub/deeper/d.html", "a.text",
                 "notes.docx", "README.md", ".hidden.txt", ".git/x.txt", "sub/e.TXT"]:
        write(tmp_path, name, b"x")
    got = [p.relative_to(tmp_path).as_posix() for p in iter_inputs([tmp_path])]
    assert got == ["a.PDF", "a.text", "b.txt", "sub/c.htm", "sub/deeper/d.html", "sub/e.TXT"]


def test_iter_inputs_removes_duplicates_keeps_argument_order(tmp_path):
    b = write(tmp_path, "d/b.txt", b"x")
    a = write(tmp_path, "d/a.txt", b"x")
    z = write(tmp_path, "z.html", b"x")
    (tmp_path / "link.txt").symlink_to(a)
    got = iter_inputs([z, b, tmp_path / "d", tmp_path / "d" / ".." / "d" / "a.txt", tmp_path / "link.txt"])
    assert got == [z, b, a]


def test_iter_inputs_skips_explicit_unknown_extension(tmp_path):
    assert iter_inputs([write(tmp_path, "a.docx", b"x")]) == []


def test_iter_inputs_missing_path_raises(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        iter_inputs([tmp_path / "nope"])


def test_iter_inputs_is_deterministic(tmp_path):
    for name in ["b/2.txt", "a/1.txt", "a/10.txt", "c.txt", "a.txt"]:
        write(tmp_path, name, b"x")
    assert iter_inputs([tmp_path]) == iter_inputs([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in iter_inputs([tmp_path])] == sorted(
        ["b/2.txt", "a/1.txt", "a/10.txt", "c.txt", "a.txt"]
    )


# ---------------------------------------------------------------- manifest

MANIFEST = """path,published,title,url,locality
a/一号.txt,2020-02-03,一号简报,http://example.gov.cn/1,某镇
b.html,2020-02-04,,,
"""


def test_manifest_matches_relative_path_then_file_name(tmp_path):
    m = load_manifest(write(tmp_path, "data/manifest.csv", MANIFEST.encode("utf-8-sig")))
    expected = DocumentMeta(published="2020-02-03", title="一号简报", url="http://example.gov.cn/1", locality="某镇")
    assert m.meta_for(tmp_path / "data" / "a" / "一号.txt") == expected
    assert m.meta_for(tmp_path / "elsewhere" / "一号.txt") == expected  # by file name
    assert m.meta_for(tmp_path / "data" / "b.html") == DocumentMeta(published="2020-02-04")
    assert m.meta_for(tmp_path / "data" / "c.txt") == DocumentMeta()
    assert len(m) == 2


def test_manifest_rows_that_match_no_input_are_named(tmp_path):
    m = load_manifest(write(tmp_path, "data/manifest.csv", MANIFEST.encode("utf-8-sig")))
    assert m.unmatched([tmp_path / "data" / "a" / "一号.txt", tmp_path / "data" / "b.html"]) == []
    assert m.unmatched([tmp_path / "elsewhere" / "一号.txt"]) == ["line 3: b.html"]  # a/一号.txt matched by name
    assert m.unmatched([]) == ["line 2: a/一号.txt", "line 3: b.html"]


def test_a_run_warns_of_manifest_rows_that_match_no_input(tmp_path):
    from pipeline.batch.runner import run_extract

    write(tmp_path, "data/a/一号.txt", "2月3日，全镇设置卡点4个。".encode())
    manifest = write(tmp_path, "data/manifest.csv", MANIFEST.encode())
    s = run_extract([tmp_path / "data" / "a"], tmp_path / "out", manifest=manifest, workers=1, progress=False)
    assert s.warnings == [f"manifest {manifest}, line 3: b.html: matches no input file (its metadata is not used)"]
    assert s.notes() == s.warnings  # the publication date gave every date its year
    with pytest.warns(api.ManifestWarning, match="line 3: b.html"):
        api.run([tmp_path / "data" / "a"], manifest=manifest)


def test_manifest_relative_to_cwd(tmp_path, monkeypatch):
    write(tmp_path, "manifest.csv", MANIFEST.encode())
    monkeypatch.chdir(tmp_path)
    m = load_manifest(Path("manifest.csv"))
    assert m.meta_for(Path("a/一号.txt")).title == "一号简报"


def test_manifest_ambiguous_file_name_is_unknown(tmp_path):
    text = "path,published\nx/a.txt,2020-02-03\ny/a.txt,2020-02-04\n"
    m = load_manifest(write(tmp_path, "m.csv", text.encode()))
    assert m.meta_for(tmp_path / "y" / "a.txt").published == "2020-02-04"
    assert m.meta_for(tmp_path / "z" / "a.txt") == DocumentMeta()


def test_manifest_gb18030_windows_paths_default_year(tmp_path):
    text = "Path,Published,Default_Year\r\nsub\\简报.txt,2020-02-03,2020\r\n"
    m = load_manifest(write(tmp_path, "m.csv", text.encode("gb18030")))
    assert m.meta_for(tmp_path / "sub" / "简报.txt") == DocumentMeta(published="2020-02-03", default_year=2020)


def test_manifest_missing_path_column(tmp_path):
    path = write(tmp_path, "m.csv", b"file,published\na.txt,2020-02-03\n")
    with pytest.raises(InputError) as exc:
        load_manifest(path)
    assert str(path) in str(exc.value) and "line 1" in str(exc.value) and "'path'" in str(exc.value)


@pytest.mark.parametrize("bad", ["2020-2-3", "2020/02/03", "20200203", "2020-02-30", "2020-W06-1", "明天"])
def test_manifest_bad_date(tmp_path, bad):
    path = write(tmp_path, "m.csv", f"path,published\na.txt,2020-02-03\nb.txt,{bad}\n".encode())
    with pytest.raises(InputError, match=r"m\.csv: line 3: bad published date"):
        load_manifest(path)


def test_manifest_line_numbers_count_quoted_newlines(tmp_path):
    text = 'path,published,title\na.txt,2020-02-03,"两行\n标题"\nb.txt,bad,\n'
    with pytest.raises(InputError, match="line 4"):
        load_manifest(write(tmp_path, "m.csv", text.encode()))


def test_manifest_duplicate_and_empty_path(tmp_path):
    dup = write(tmp_path, "d.csv", b"path\na.txt\n./a.txt\n")
    with pytest.raises(InputError, match=r"line 3: duplicate path .*first on line 2"):
        load_manifest(dup)
    empty = write(tmp_path, "e.csv", b"path,published\n,2020-02-03\n")
    with pytest.raises(InputError, match="line 2: empty path"):
        load_manifest(empty)


def test_manifest_empty_or_missing_file(tmp_path):
    with pytest.raises(InputError, match="manifest is empty"):
        load_manifest(write(tmp_path, "m.csv", b"\xef\xbb\xbf"))
    with pytest.raises(InputError, match="cannot read manifest"):
        load_manifest(tmp_path / "nope.csv")


def test_manifest_then_read_document(tmp_path):
    write(tmp_path, "manifest.csv", MANIFEST.encode())
    path = write(tmp_path, "a/一号.txt", BULLETIN.encode("gb18030"))
    m = load_manifest(tmp_path / "manifest.csv")
    [file] = iter_inputs([tmp_path])
    doc = read_document(file, meta=m.meta_for(file))
    assert file == path and doc.meta.published == "2020-02-03" and doc.text == BULLETIN


# --------------------------------------------------------------------------
# Names: unique doc ids, printable paths that keep their bytes (see also test_reliability_outputs.py)


_segment = st.text(alphabet="ab.x_中 ", min_size=1, max_size=4).filter(lambda s: s.strip(".") and s == s.strip())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_segment, min_size=1, max_size=3).map("/".join), unique=True, max_size=12))
def test_doc_ids_are_unique_and_the_file_name_wherever_that_is_unique(rels):
    files = [InputFile(f"in/{r}.txt", f"{r}.txt") for r in rels]
    ids = doc_ids(files)
    assert len(set(ids)) == len(ids)
    stems = Counter(r.rsplit("/", 1)[-1] for r in rels)
    for r, doc_id in zip(rels, ids):
        if stems[r.rsplit("/", 1)[-1]] == 1:
            assert doc_id == r.rsplit("/", 1)[-1]
        else:
            assert doc_id in (r, f"{r}.txt")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\0" not in b))
def test_any_file_name_has_a_printable_form_and_keeps_its_bytes(raw):
    name = os.fsdecode(raw)
    assert os_bytes(name) == raw == os.fsencode(name)
    shown = printable(name)
    shown.encode("utf-8")  # valid text: a table cell, a JSON string, a line on stderr
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in shown)
    if name.isprintable():
        assert shown == name
