"""Text repair: undo PDF/newspaper layout noise while keeping the way back.

Reads: the raw text of a document. Writes: a :class:`View` whose ``text`` has
- stray spaces and line breaks inside words, numbers and dates removed
  (``基层党 组织`` → ``基层党组织``, ``1 月 14 日`` → ``1月14日``, ``13.\\n8万`` → ``13.8万``);
- printed lines rebuilt into paragraphs, one paragraph per ``\\n``;
- full-width digits and letters made half-width and half-width punctuation made
  full-width (``,`` → ``，``), one character for one, so offsets survive;
- traditional characters that matter for numbers and units made simplified
  (萬 → 万, 兩 → 两), also one for one;
- converter noise dropped (``data/page.yaml``): pinyin in brackets after the
  character it glosses (``萬(wàn)`` → ``万``, ``鎮（zhèn）`` → ``镇``), replacement
  characters (U+FFFD) and a mojibake ``?`` inside a word.

Every character of ``View.text`` maps to the raw offset it came from
(``View.raw``); a paragraph break maps to the first newline it replaces. The view
only deletes characters (whitespace, converter noise) and swaps characters one for
one, so ``View.raw`` is strictly increasing.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from importlib.resources import files

import regex

from .lexicon import page_rules
from .model import View
from .segment import furniture_rule  # segment owns the page rules; repair only asks them of a line

_WS = " \t\r\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff"
# A whitespace run is layout noise unless both neighbours are ASCII letters or
# digits (then it separates words or table cells: `CA 602`, `2596 257`).
_ASCII_ALNUM = regex.compile(r"[A-Za-z0-9]")
_SENTENCE_END = "。！？!?；;…"
_CLOSERS = "”’\"'）)】』」"
_TABLE_LINE = regex.compile(r"(?:\S+\s+){5,}\S+")
_NUMBER_TOKEN = regex.compile(r"(?<!\S)\d+(?:\.\d+)?(?!\S)")


def is_table_line(raw: str, s: int, e: int) -> bool:
    """A flattened table row: many short whitespace-separated cells, several of them bare numbers.

    Its spaces separate cells (`浦东 2596 黄浦 257`), so they are kept."""
    line = raw[s:e]
    cells = line.split()
    if len(cells) < 8:
        return False
    if any(p in line for p in "，。；,;"):
        return False  # running prose, however gappy
    numbers = len(_NUMBER_TOKEN.findall(line))
    return numbers >= 3 and numbers >= 0.25 * len(cells) and sum(map(len, cells)) / len(cells) <= 6


@lru_cache(maxsize=1)
def char_map() -> dict[int, str]:
    """One-for-one character substitutions, from data/chars.tsv."""
    table: dict[int, str] = {}
    text = (files("pipeline") / "data" / "chars.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        src, dst = line.split("\t")[:2]
        src = src.encode().decode("unicode_escape") if src.startswith("\\u") else src
        dst = dst.encode().decode("unicode_escape") if dst.startswith("\\u") else dst
        if len(src) != 1 or len(dst) != 1:
            continue  # only one-for-one substitutions keep the offset map trivial
        table[ord(src)] = dst
    # full-width ASCII block → half-width
    for cp in range(0xFF01, 0xFF5F):
        ch = chr(cp - 0xFEE0)
        if ch.isalnum() or ch in ".%":
            table.setdefault(cp, ch)
    return table


def _normalise_char(text: str, i: int, cmap: dict[int, str]) -> str:
    ch = text[i]
    sub = cmap.get(ord(ch))
    if sub is None:
        return ch
    # `1,264` and `10:30` keep their ASCII separators between digits.
    if ch in ",:" and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
        return ch
    return sub


def _lines(raw: str) -> list[tuple[int, int]]:
    """(start, end) of every line's content, whitespace trimmed; empty lines kept as (p, p)."""
    out = []
    pos = 0
    for line in raw.split("\n"):
        s, e = pos, pos + len(line)
        while s < e and raw[s] in _WS:
            s += 1
        while e > s and raw[e - 1] in _WS:
            e -= 1
        out.append((s, e))
        pos += len(line) + 1
    return out


def _ends_sentence(raw: str, s: int, e: int) -> bool:
    k = e - 1
    while k >= s and raw[k] in _CLOSERS:
        k -= 1
    return k >= s and raw[k] in _SENTENCE_END


_UNIT_START = set("个名人位次户万亿千百元月日时份张条只件处家支吨斤米%例余多")


def _splits_a_number(raw: str, e1: int, s2: int) -> bool:
    a, b = raw[e1 - 1], raw[s2]
    return (a.isdigit() or a == ".") and (b.isdigit() or (a != "." and b in _UNIT_START)) and raw.count("\n", e1, s2) <= 2


def _is_short_unpunctuated(raw: str, s: int, e: int, width: float) -> bool:
    return (e - s) < 0.6 * width and not _ends_sentence(raw, s, e) and raw[e - 1] not in "，,、：:"


def local_widths(lines: list[tuple[int, int]], radius: int = 4) -> list[float]:
    """For each line, the width of a full printed line around it.

    Pages mix layouts (a wide lead, then narrow columns), so the width is the
    median length of the neighbouring lines over 8 characters, not one figure
    for the whole document.
    """
    lengths = [e - s for s, e in lines]
    out = []
    for k in range(len(lines)):
        near = [n for n in lengths[max(0, k - radius): k + radius + 1] if n > 8]
        near.sort()
        h = len(near) // 2
        # statistics.median, without its overhead
        out.append((float(near[h]) if len(near) % 2 else (near[h - 1] + near[h]) / 2) if near else 40.0)
    return out


# A line of page furniture is short, and all but the shortest hold a digit, a colon or a
# navigation mark (`2020-02-10 17:53:27 来源:…`, `分享到:`, `首页 > 正文`, a counter `0`).
_FURNITURE_MAX = 60
_FURNITURE_ANY = 16
_FURNITURE_GATE = re.compile(r"[0-9０-９:：>＞»›|©]")
_FURNITURE_EDGE = 12  # content lines from either end of the text


def _furniture_line(norm: str, s: int, e: int) -> bool:
    """Whether the line ``[s, e)`` of the normalised text is page furniture on its own
    (segment's rules, on the line with its layout whitespace dropped)."""
    if e - s > _FURNITURE_MAX:
        return False
    line = norm[s:e]
    if e - s > _FURNITURE_ANY and not _FURNITURE_GATE.search(line):
        return False
    line = drop_noise(line)
    if _WS_RUN.search(line):
        line = _WS_RUN.sub(_squeeze, line)
    return furniture_rule(line) is not None


_CREDIT_LAST = frozenset("摄影图供）)")  # the last character of a photo credit (cheap gate)


def _is_caption(norm: str, s: int, e: int) -> bool:
    """A photo caption line that ends with its credit (data/page.yaml: caption, caption_credit)."""
    rules = page_rules()
    line = norm[s:e]
    if not rules.caption.match(line):
        return False
    return bool(rules.caption_credit.search(_WS_RUN.sub(_squeeze, line)))


def _squeeze(m: "regex.Match[str]") -> str:
    """A whitespace run as the view keeps it: one space between two ASCII letters or digits."""
    s, i, j = m.string, m.start(), m.end()
    return " " if 0 < i and j < len(s) and s[i - 1] in _ASCII_ALNUM_CHARS and s[j] in _ASCII_ALNUM_CHARS else ""


def line_breaks(raw: str, norm: str | None = None) -> tuple[list[tuple[int, int]], list[bool]]:
    """Content lines and, between each pair of neighbours, whether a paragraph ends there.

    ``norm``: :func:`normalise_chars` of ``raw``, when the caller has it."""
    lines = [(s, e) for s, e in _lines(raw) if e > s]
    widths = local_widths(lines)
    breaks = []
    norm = normalise_chars(raw) if norm is None else norm
    furniture: dict[int, bool] = {}
    last = len(lines) - 1

    def is_furniture(k: int) -> bool:
        # a page's furniture sits above and below its articles: lines far from both ends
        # of a long text (a newspaper page's columns) are not asked
        if _FURNITURE_EDGE <= k <= last - _FURNITURE_EDGE:
            return False
        if k not in furniture:
            furniture[k] = _furniture_line(norm, *lines[k])
        return furniture[k]

    for k in range(len(lines) - 1):
        (s1, e1), (s2, e2) = lines[k], lines[k + 1]
        width = widths[k]
        blank_after_next = k + 2 >= len(lines) or raw.count("\n", e2, lines[k + 2][0]) >= 2
        if (raw[s1] == "|" and raw[e1 - 1] == "|") or (raw[s2] == "|" and raw[e2 - 1] == "|"):
            brk = True  # a table row (`| 城关镇 | 12 | 48 |`, how ingest writes an HTML table) stands alone
        elif _splits_a_number(raw, e1, s2):
            brk = False  # `13.` / `8万`, `12` / `个`: a number or its unit never ends a paragraph
        elif _ends_sentence(raw, s1, e1):
            brk = True
        elif _is_short_unpunctuated(raw, s1, e1, width):
            brk = True  # a headline, a byline or a line cut short by the layout
        elif _TABLE_LINE.fullmatch(raw, s1, e1) and _TABLE_LINE.fullmatch(raw, s2, e2):
            brk = True
        elif blank_after_next and _is_short_unpunctuated(raw, s2, e2, width) and raw.count("\n", e1, s2) >= 2:
            brk = True  # the next line stands alone between blank lines: a headline
        elif is_furniture(k) or is_furniture(k + 1):
            brk = True  # a web page's date line, 来源：…, a counter: never part of a paragraph
        elif raw[e1 - 1] in _CREDIT_LAST and _is_caption(norm, s1, e1):
            brk = True  # `图为…现场。 张三 摄`: a photo caption ends with its credit
        else:
            brk = False
        breaks.append(brk)
    return lines, breaks


_WS_RUN = re.compile("[" + re.escape(_WS) + "]+")  # (``re``: found line by line, in half the time of ``regex``)
_ASCII_ALNUM_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _substitutable() -> tuple[re.Pattern, re.Pattern | None]:
    """Runs of characters that :func:`char_map` replaces. Basic-plane characters get a class
    of their own, which ``re`` compiles to a bitmap (a scan of a few ns per character)."""
    cmap = char_map()
    bmp = "".join(re.escape(chr(c)) for c in sorted(cmap) if c <= 0xFFFF)
    astral = "".join(re.escape(chr(c)) for c in sorted(cmap) if c > 0xFFFF)
    return re.compile(f"[{bmp}]+"), (re.compile(f"[{astral}]+") if astral else None)


def normalise_chars(raw: str) -> str:
    """``raw`` with every :func:`char_map` substitution made (same length), except that an
    ASCII ``,`` or ``:`` between two digits stays (`1,264`, `10:30`)."""
    cmap = char_map()
    bmp, astral = _substitutable()
    n = len(raw)

    def sub(m: re.Match) -> str:
        run = m.group()
        if "," not in run and ":" not in run:
            return run.translate(cmap)
        a = m.start()
        return "".join(
            c if c in ",:" and 0 < a + k < n - 1 and raw[a + k - 1].isdigit() and raw[a + k + 1].isdigit() else cmap.get(ord(c), c)
            for k, c in enumerate(run)
        )

    text = bmp.sub(sub, raw)
    if astral is not None and _ASTRAL.search(text):
        text = astral.sub(sub, text)
    return text


def repair(raw: str) -> View:
    """Build the repaired view of ``raw`` with its character-level offset map.

    The substitutions are one for one, so they are made on the whole text first
    (:func:`normalise_chars`); then each line is copied run by run: whitespace runs
    are regex matches, the runs between them are slices. No per-character Python.
    """
    norm = normalise_chars(raw)
    lines, breaks = line_breaks(raw, norm)
    out: list[str] = []
    idx: list[int] = []
    last = ""  # the last character emitted
    noise = noise_spans(raw)
    noise_starts = [a for a, _ in noise]

    def emit_run(a: int, b: int) -> None:
        nonlocal last
        if a < b:
            out.append(norm[a:b])
            idx.extend(range(a, b))
            last = norm[b - 1]

    def emit_around_noise(a: int, b: int) -> None:
        k = bisect_left(noise_starts, a)
        if k > 0 and noise[k - 1][1] > a:
            k -= 1  # a noise span that began before a (cannot happen: noise has no whitespace)
        for ns, ne in noise[k:]:
            if ns >= b:
                break
            emit_run(a, min(ns, b))
            a = max(a, ne)
        emit_run(a, b)

    emit_text = emit_around_noise if noise else emit_run

    def emit_space(i: int) -> None:
        nonlocal last
        out.append(" ")
        idx.append(i)
        last = " "

    for k, (s, e) in enumerate(lines):
        table = None  # is_table_line, asked at the line's first whitespace run (most lines have none)
        pos = s
        for m in _WS_RUN.finditer(raw, s, e):
            i, j = m.span()
            emit_text(pos, i)
            pos = j
            if table is None:
                table = is_table_line(raw, s, e)
            if table:
                emit_space(i)
            # keep one space between two ASCII words/cells; drop it elsewhere
            elif last in _ASCII_ALNUM_CHARS and j < e and raw[j] in _ASCII_ALNUM_CHARS and not _table_gap_is_noise(raw, i, j):
                emit_space(i)
        emit_text(pos, e)
        if k < len(breaks) and breaks[k]:
            nl = raw.index("\n", e)
            out.append("\n")
            idx.append(nl)
            last = "\n"
        elif k < len(breaks):
            nxt = lines[k + 1][0]
            if last in _ASCII_ALNUM_CHARS and raw[nxt] in _ASCII_ALNUM_CHARS and raw[e - 1] != ".":
                # two ASCII words across a line break: keep them apart
                if not (raw[e - 1].isdigit() and raw[nxt].isdigit()):
                    emit_space(e)
    return View(text="".join(out), raw=tuple(idx), raw_end=len(raw))


def _table_gap_is_noise(raw: str, i: int, j: int) -> bool:
    """A space inside a decimal (`13. 8`) is noise even between ASCII characters."""
    return i > 0 and raw[i - 1] == "." and j < len(raw) and raw[j].isdigit()


def noise_spans(raw: str) -> list[tuple[int, int]]:
    """Raw spans of converter noise the view drops (``data/page.yaml``, ``noise``):
    `(wàn)` after 萬, `（zhèn）` after 鎮, a U+FFFD, a `?` inside a word. Most texts
    hold none of the characters such noise starts with and are not scanned."""
    rules = page_rules()
    gate = rules.noise_gate
    m = gate.search(raw)
    if m is None:
        return []
    noise = rules.noise
    out: list[tuple[int, int]] = []
    end = 0
    while m is not None:  # the full pattern is tried only where noise can start
        pos = m.start()
        hit = noise.match(raw, pos) if pos >= end else None
        if hit is not None and hit.end() > pos:
            out.append(hit.span())
            end = hit.end()
        m = gate.search(raw, max(end, pos + 1))
    return out


def drop_noise(text: str) -> str:
    """``text`` without the converter noise :func:`repair` drops (for a claim's raw quote)."""
    spans = noise_spans(text)
    if not spans:
        return text
    out, pos = [], 0
    for a, b in spans:
        out.append(text[pos:a])
        pos = b
    out.append(text[pos:])
    return "".join(out)
