"""The review page of a run: ``bulletin report DIR -o report.html`` (or ``-o folder/``).

Reads: an output folder (documents, paragraphs, claims and rejections tables,
through :func:`pipeline.notebook.load`, so dataset folders work too). Writes
self-contained HTML (CSS, JS, charts and data inline; nothing is fetched):

* ``-o NAME.html``: one file with the summary, the document list and every
  document, 25 documents a page (for small runs: tests, seeds, a review of a
  few hundred documents);
* ``-o FOLDER`` (any path not ending in ``.html``): ``FOLDER/index.html`` with
  the summary and the document list, and ``FOLDER/docs/<doc>.html``, one page
  per document (for thousands of documents: each page stays small).

How the highlights are placed. The tables do not keep the raw text; paragraphs
keep their *repaired* text (:mod:`pipeline.repair`) and raw ``start``/``end``,
claims and rejections keep their raw span and raw ``quote``. Repair only
deletes characters (whitespace, converter noise such as the pinyin in
``萬(wàn)``) and swaps characters one for one, so a span's repaired start ``i``
within its paragraph obeys ``i <= span.start - para.start`` and its repaired end
``e`` obeys ``len(text) - e <= para.end - span.end``; the quote, whitespace and
converter noise dropped (:func:`pipeline.repair.drop_noise`) and characters
normalised like repair does, is looked for inside that window, spans walked in
text order. Without layout noise the
window is a single position; with it the order of the spans settles repeats.
A claim that cannot be placed this way (tables from an inconsistent run) is
still shown, in a "not located" line under its paragraph, so the page always
carries exactly one ``data-claim-id`` element per claim. Re-reading the input
files instead was rejected: it needs the inputs beside the outputs (CI
artefacts and shared outputs come without them), unchanged, and it would show
the raw layout noise rather than the rebuilt paragraphs.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import __version__
from ..model import Category
from ..notebook import Outputs, load

PAGE_SIZE = 25
LEVELS = ("province", "city", "county", "township", "village")
SUMMARY_LEVELS = LEVELS + ("locality",)
MAX_SUMMARY_ROWS = 100
MAX_CHART_PLACES = 12
MAIN_CATEGORIES = 6
PATH_SEP = "›"
NO_PLACE = "∅"

# One colour per category (Tableau-like; dates light, other grey).
PALETTE = {
    "checkpoint": "#d62728", "personnel": "#1f77b4", "population": "#9467bd", "cases": "#ff7f0e",
    "masks": "#17becf", "supplies": "#2ca02c", "funds": "#b8a10b", "publicity": "#e377c2",
    "organization": "#8c564b", "activity": "#3949ab", "facility": "#5b7d2a", "date": "#7fa7d9",
    "other": "#9e9e9e",
}
REST = "rest"
PALETTE_REST = "#cfd4da"
CATEGORY_ORDER = [c.value for c in Category]

_WS = frozenset(" \t\r\n\f\v\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff")


# --------------------------------------------------------------------------
# Small helpers


def _e(v: object) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _s(v: object) -> str | None:
    """A table cell as str, or None for null/NaN."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _f(v: object) -> float | None:
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def fmt_num(v: float | None) -> str:
    if v is None:
        return ""
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def fmt_short(v: float) -> str:
    """A sum in at most about six characters, in 万 and 亿 as the bulletins count
    (``43.9万``, ``5亿``); below 100,000 as :func:`fmt_num` writes it. Keeps the summary
    table narrow; the cell's title has the exact sum."""
    a = abs(v)
    for size, word, least in ((1e8, "亿", 1e8), (1e4, "万", 1e5)):
        if a >= least:
            q = v / size
            return (f"{q:,.0f}" if abs(q) >= 100 else f"{q:.1f}".rstrip("0").rstrip(".")) + word
    return fmt_num(v)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def colour(cat: str) -> str:
    return PALETTE.get(cat, PALETTE_REST if cat == REST else "#777777")


def category_css(cats) -> str:
    return "\n".join(f".k-{c}{{--c:{colour(c)};--cb:{_rgba(colour(c), 0.2)}}}" for c in cats)


def _json_script(obj: object) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


@lru_cache(maxsize=1)
def template() -> str:
    return (files("pipeline.review") / "templates" / "report.html").read_text(encoding="utf-8")


def render_page(title: str, body: str, data: dict, mode: str, cats, page_size: int = PAGE_SIZE) -> str:
    """Fill the page template in one pass (inserted text is never scanned for placeholders)."""
    values = {
        "title": _e(title), "body": body, "data": _json_script(data), "mode": mode,
        "page_size": str(page_size), "category_css": category_css(cats), "version": _e(__version__),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template())


# --------------------------------------------------------------------------
# Placing quotes in repaired paragraphs


@lru_cache(maxsize=1)
def _char_map() -> dict[int, str]:
    from ..repair import char_map

    return char_map()


def _drop_noise(quote: str) -> str:
    from ..repair import drop_noise

    return drop_noise(quote)


def _same(q: str, t: str) -> bool:
    return q == t or _char_map().get(ord(q)) == t


def match_at(text: str, i: int, quote: str) -> int | None:
    """End of `quote` matched at text[i] (quote whitespace ignored, repair's character
    substitutions allowed, spaces repair kept inside the match skipped), or None."""
    j, k, started = 0, i, False
    n = len(quote)
    while j < n:
        if quote[j] in _WS:
            j += 1
            continue
        if k >= len(text):
            return None
        if started and text[k] == " ":
            k += 1
            continue
        if not _same(quote[j], text[k]):
            return None
        started = True
        j += 1
        k += 1
    return k if started else None


def locate(text: str, para_start: int, para_end: int, start: int, end: int, quote: str, cursor: int = 0) -> tuple[int, int] | None:
    """Repaired [i, e) of the raw span [start, end) inside a paragraph's repaired text, at or after `cursor`."""
    quote = _drop_noise(quote)
    hi = min(start - para_start, len(text) - 1)
    min_end = len(text) - (para_end - end)
    for i in range(max(cursor, 0), hi + 1):
        e = match_at(text, i, quote)
        if e is not None and e >= min_end:
            return i, e
    for i in range(max(cursor, 0), len(text)):  # tables that break the offset bounds: first match in order
        e = match_at(text, i, quote)
        if e is not None:
            return i, e
    return None


# --------------------------------------------------------------------------
# The run, prepared for rendering


@dataclass
class Mark:
    """A claims row as the page shows it: one highlight."""

    id: str
    doc: str
    para: int | None
    start: int
    end: int
    quote: str
    category: str
    rec: dict
    path: tuple[str, ...]  # province … village, or (locality,) when no level is known
    counted: bool = True  # adds to a summary sum: a figure's first mention, not a part of a total present, not replaced
    mismatch: bool = False  # its figure's parts do not add up to it

    @property
    def loc(self) -> str:
        return PATH_SEP.join(self.path)

    def tooltip(self) -> str:
        r = self.rec
        if self.category == "date":
            value = r["iso"] or ""
        else:
            value = fmt_num(r["value"]) + (f"–{fmt_num(r['value_hi'])}" if r["value_hi"] is not None else "")
            value += f" {r['unit']}" if r["unit"] else ""
            value += f" ({r['bound']})"
        bits = [f"{self.category}: {value}"]
        if r["per"]:
            bits.append(f"per {r['per']}")
        bits.append(f"locality {' › '.join(self.path) or '—'}")
        if r["date"]:
            bits.append(f"date {r['date']}")
        bits.append(f"rule {r['rule']}")
        if r.get("fact_id"):
            typed = " ".join(v for v in (r.get("aspect"), r.get("measure"), r.get("origin")) if v)
            link = f"fact {r['fact_id']}" + (f" part of {r['part_of']}" if r.get("part_of") else "")
            link += f" replaced by {r['replaced_by']}" if r.get("replaced_by") else ""
            bits.append(link + (f" ({typed})" if typed else ""))
        if self.mismatch:
            bits.append("its parts do not add up to it")
        return " · ".join(bits)


@dataclass
class Doc:
    index: int
    id: str
    row: dict
    paras: list[dict] = field(default_factory=list)
    claims: list[Mark] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    facts: dict[str, dict] = field(default_factory=dict)  # fact_id -> facts row
    file: str = ""  # page name in folder mode

    @property
    def anchor(self) -> str:
        return f"doc-{self.index}"

    @property
    def title(self) -> str:
        return _s(self.row.get("title")) or self.id

    def pairs(self) -> str:
        """`cat@loc;…`: what the filters match a document by."""
        return ";".join(sorted({f"{c.category}@{c.loc}" for c in self.claims}))

    @property
    def headline(self) -> str | None:
        """The text of the document's first headline paragraph, if any."""
        for p in self.paras:
            if p.get("kind") == "headline":
                return _s(p.get("text"))
        return None

    def category_counts(self) -> Counter:
        return Counter(c.category for c in self.claims)


_CLAIM_FIELDS = ("category", "item", "value", "value_hi", "iso", "unit", "unit_raw", "bound", "per", "locality",
                 "province", "city", "county", "township", "village", "date", "rule", "quote",
                 "fact_id", "part_of", "replaced_by", "aspect", "measure", "origin")


def _records(df: pd.DataFrame) -> list[dict]:
    if df.empty:
        return []
    return df.astype(object).where(df.notna(), None).to_dict("records")


def _claim(r: dict) -> Mark:
    rec = {k: r.get(k) for k in _CLAIM_FIELDS}
    for k in ("value", "value_hi"):
        rec[k] = _f(rec[k])
    for k in _CLAIM_FIELDS:
        if k not in ("value", "value_hi"):
            rec[k] = _s(rec[k])
    path = tuple(rec[level] for level in LEVELS if rec[level])
    if not path and rec["locality"]:
        path = (rec["locality"],)
    para = r.get("para_id")
    return Mark(str(r["claim_id"]), str(r["doc_id"]), None if para is None else int(para), int(r["start"]), int(r["end"]),
                 str(r["quote"]), str(rec["category"]), rec, path)


def prepare(out: Outputs) -> list[Doc]:
    """Documents in table order, each with its paragraphs, claims and rejections."""
    docs: dict[str, Doc] = {}
    for i, row in enumerate(_records(out.documents)):
        docs[str(row["doc_id"])] = Doc(i, str(row["doc_id"]), row)

    def doc(doc_id: str) -> Doc:  # rows of a document missing from documents.parquet still show
        if doc_id not in docs:
            docs[doc_id] = Doc(len(docs), doc_id, {"doc_id": doc_id})
        return docs[doc_id]

    for p in _records(out.paragraphs):
        doc(str(p["doc_id"])).paras.append(p)
    for r in _records(out.claims):
        c = _claim(r)
        doc(c.doc).claims.append(c)
    for r in _records(out.rejections):
        doc(str(r["doc_id"])).rejections.append(r)
    for r in _records(getattr(out, "facts", pd.DataFrame())):
        doc(str(r["doc_id"])).facts[str(r["fact_id"])] = r
    for d in docs.values():
        d.paras.sort(key=lambda p: int(p["para_id"]))
        d.claims.sort(key=lambda c: (c.start, c.end))
        d.rejections.sort(key=lambda r: (int(r["start"]), int(r["end"])))
        _mark_facts(d)
    return list(docs.values())


def _mark_facts(d: Doc) -> None:
    """Which claims a sum counts (a figure once: its first mention, unless it is a part of a total
    present in the document or replaced by a correction), and which totals' parts do not add up."""
    seen: set[str] = set()
    for c in d.claims:
        f = c.rec.get("fact_id")
        if f is None:
            continue
        row = d.facts.get(f, {})
        c.mismatch = row.get("parts_status") == "mismatch"
        c.counted = f not in seen and not row.get("replaced_by") and not (row.get("part_of") and row["part_of"] in d.facts)
        seen.add(f)


def mismatches(d: Doc) -> list[dict]:
    """The facts rows of a document whose parts do not add up to them."""
    return [r for r in d.facts.values() if r.get("parts_status") == "mismatch"]


# --------------------------------------------------------------------------
# Documents


def _mark(c: Mark, text: str) -> str:
    extra = " mismatch" if c.mismatch else ""
    fact = f' data-fact="{_e(c.rec["fact_id"])}"' if c.rec.get("fact_id") else ""
    return (f'<mark class="c k-{_e(c.category)}{extra}" tabindex="0" data-claim-id="{_e(c.id)}" data-cat="{_e(c.category)}" '
            f'data-loc="{_e(c.loc)}"{fact} title="{_e(c.tooltip())}">{_e(text)}</mark>')


def _rej(r: dict, text: str) -> str:
    return f'<span class="rej" data-reason="{_e(r["reason"])}" title="not a claim: {_e(r["reason"])}">{_e(text)}</span>'


def _para_index(paras: list[dict], pos: int) -> int | None:
    """Index in `paras` of the paragraph whose raw range holds `pos`."""
    lo, hi = 0, len(paras)
    while lo < hi:
        mid = (lo + hi) // 2
        if int(paras[mid]["start"]) <= pos:
            lo = mid + 1
        else:
            hi = mid
    k = lo - 1
    if k >= 0 and pos < int(paras[k]["end"]):
        return k
    return None


def render_paragraph(p: dict, claims: list[Mark], rejections: list[dict]) -> tuple[str, list[Mark]]:
    """The paragraph's repaired text with its claims and rejected numbers marked;
    also the claims that could not be placed in it."""
    text = str(p["text"])
    p0, p1 = int(p["start"]), int(p["end"])
    spans = [(c.start, c.end, 0, c) for c in claims] + [(int(r["start"]), int(r["end"]), 1, r) for r in rejections]
    spans.sort(key=lambda s: (s[0], s[2], s[1]))
    out: list[str] = []
    unplaced: list[Mark] = []
    cursor = 0
    last_raw_end = p0
    for start, end, is_rej, item in spans:
        quote = item.quote if not is_rej else str(item["quote"])
        where = None if start < last_raw_end else locate(text, p0, p1, start, end, quote, cursor)
        if where is None:
            if not is_rej:
                unplaced.append(item)
            continue
        i, e = where
        out.append(_e(text[cursor:i]))
        out.append(_rej(item, text[i:e]) if is_rej else _mark(item, text[i:e]))
        cursor, last_raw_end = e, end
    out.append(_e(text[cursor:]))
    return "".join(out), unplaced


def _unplaced(claims: list[Mark], why: str) -> str:
    if not claims:
        return ""
    return f'<div class="unplaced">{_e(why)}: ' + " ".join(_mark(c, c.quote) for c in claims) + "</div>"


def render_document(d: Doc, heading_link: str | None = None) -> str:
    r = d.row
    meta = [f"<code>{_e(d.id)}</code>"]
    for key, label in (("published", "published"), ("format", None), ("encoding", None), ("locality_hint", "about")):
        v = _s(r.get(key))
        if v:
            meta.append(f"{label} {_e(v)}" if label else _e(v))
    meta.append(f"{len(d.claims)} claims · {len(d.rejections)} rejected numbers")
    if _s(r.get("path")):
        meta.append(f"path {_e(r['path'])}")
    if _s(r.get("url")):
        meta.append(f"source <span class='url'>{_e(r['url'])}</span>")  # text, not a link: the page loads nothing
    title = _e(d.title)
    if heading_link:
        title = f'<a href="{_e(heading_link)}">{title}</a>'
    parts = [
        f'<section class="doc" id="{d.anchor}" data-doc="{_e(d.id)}" data-name="{_e(d.id + " " + d.title)}" data-cl="{_e(d.pairs())}">',
        f"<h2>{title}</h2>",
        f'<div class="meta">{" · ".join(meta)}</div>',
    ]
    if _s(r.get("error")):
        parts.append(f'<p class="err">could not be read: {_e(r["error"])}</p>')
    bad = mismatches(d)
    if bad:
        what = "; ".join(
            f"{_e(f['fact_id'])} {fmt_num(_f(f['value']))} {_e(_s(f.get('unit')) or '')} {_e(f['item'] or f['category'])}: "
            f"its parts add up to {fmt_num(_f(f['parts_sum']))}" for f in bad)
        parts.append(f'<p class="mismatch-note">Breakdowns that do not add up (kept as the text gives them): {what}</p>')
    claims_by_para: dict[int | None, list[Mark]] = defaultdict(list)
    para_ids = {int(p["para_id"]) for p in d.paras}
    for c in d.claims:
        claims_by_para[c.para if c.para in para_ids else None].append(c)
    rej_by_para: dict[int, list[dict]] = defaultdict(list)
    for rj in d.rejections:
        k = _para_index(d.paras, int(rj["start"]))
        if k is not None:
            rej_by_para[int(d.paras[k]["para_id"])].append(rj)
    parts.append('<div class="paras">')
    for p in d.paras:
        pid = int(p["para_id"])
        body, unplaced = render_paragraph(p, claims_by_para.get(pid, []), rej_by_para.get(pid, []))
        kind = _e(p["kind"])
        # A headline's figures often restate the body's: tag it so a reviewer reads it as one.
        tag = '<span class="kind-tag" title="headline paragraph (a sentence of its own)">headline</span>' if p["kind"] == "headline" else ""
        parts.append(f'<p class="para kind-{kind}" data-para="{pid}" data-kind="{kind}"><span class="pid" title="paragraph {pid}, {kind}">¶{pid}</span>{tag}{body}</p>')
        parts.append(_unplaced(unplaced, "not located in the paragraph's text"))
    parts.append(_unplaced(claims_by_para.get(None, []), "claims outside every paragraph"))
    parts.append("</div></section>")
    return "\n".join(x for x in parts if x)


def claims_data(docs: list[Doc]) -> dict:
    """claim_id -> fields for the details panel, the claim search and the CSV export
    (documents in table order, each one's claims by offset), with the claim's fact: its other
    mentions, its parts, its total and its correction (as claim ids), and how its parts add up."""
    data = {}
    for d in docs:
        by_fact: dict[str, list[str]] = defaultdict(list)
        parts: dict[str, list[str]] = defaultdict(list)
        for c in d.claims:
            if c.rec.get("fact_id"):
                by_fact[c.rec["fact_id"]].append(c.id)
            if c.rec.get("part_of"):
                parts[c.rec["part_of"]].append(c.id)
        for c in d.claims:
            rec = {**c.rec, "id": c.id, "doc": d.id, "start": c.start, "end": c.end, "path": " › ".join(c.path),
                   "loc": c.loc}
            f = c.rec.get("fact_id")
            if f:
                row = d.facts.get(f, {})
                rec["mentions"] = [x for x in by_fact[f] if x != c.id]
                rec["parts"] = parts.get(f, [])
                rec["total"] = by_fact[c.rec["part_of"]][0] if by_fact.get(c.rec.get("part_of") or "") else None
                rec["replacement"] = by_fact[c.rec["replaced_by"]][0] if by_fact.get(c.rec.get("replaced_by") or "") else None
                if row.get("parts_status"):
                    rec["check"] = f"parts add up to {fmt_num(_f(row['parts_sum']))} of {fmt_num(_f(row['value']))}: {row['parts_status']}"
            data[c.id] = rec
    return data


# --------------------------------------------------------------------------
# Summary: locality × category


def _level_key(c: Mark, level: str) -> tuple[str, ...] | None:
    if level == "locality":
        return (c.rec["locality"],) if c.rec["locality"] else None
    k = LEVELS.index(level)
    if not c.rec[level]:
        return None
    return tuple(c.rec[lv] for lv in LEVELS[: k + 1] if c.rec[lv])


def categories_in(claims: list[Mark]) -> list[str]:
    """Categories present, most claims first, dates last."""
    counts = Counter(c.category for c in claims)
    order = sorted(counts, key=lambda k: (k == "date", -counts[k], CATEGORY_ORDER.index(k) if k in CATEGORY_ORDER else 99, k))
    return order


def dominant_units(claims: list[Mark]) -> dict[str, str]:
    """Per category, the unit most of its summable claims have."""
    units: dict[str, Counter] = defaultdict(Counter)
    for c in claims:
        if _summable(c):
            units[c.category][c.rec["unit"]] += 1
    return {cat: cnt.most_common(1)[0][0] for cat, cnt in units.items()}


def _summable(c: Mark) -> bool:
    return c.category != "date" and c.rec["value"] is not None and bool(c.rec["unit"]) and not c.rec["per"] and c.counted


@dataclass
class Cell:
    n: int = 0
    total: float = 0.0
    summed: int = 0


def summary_table(claims: list[Mark], level: str) -> tuple[list[tuple[tuple[str, ...] | None, dict[str, Cell]]], list[str], dict[str, str]]:
    """Rows (place key, category -> Cell) sorted by claims, the categories, their summed unit."""
    cats = categories_in(claims)
    units = dominant_units(claims)
    rows: dict[tuple[str, ...] | None, dict[str, Cell]] = defaultdict(lambda: defaultdict(Cell))
    for c in claims:
        cell = rows[_level_key(c, level)][c.category]
        cell.n += 1
        if _summable(c) and c.rec["unit"] == units.get(c.category):
            cell.total += c.rec["value"]
            cell.summed += 1
    ordered = sorted(rows.items(), key=lambda kv: (kv[0] is None, -sum(x.n for x in kv[1].values()), kv[0] or ()))
    return ordered, cats, units


def _place_label(key: tuple[str, ...] | None, level: str) -> str:
    if key is None:
        return f"(no {level})"
    return key[-1]


def render_summary_level(claims: list[Mark], level: str, hidden: bool) -> str:
    rows, cats, units = summary_table(claims, level)
    head = "".join(
        f'<th class="n"><span class="swatch k-{_e(c)}"></span>{_e(c)}' + (f"<br><small class='muted'>Σ {_e(units[c])}</small>" if c in units else "") + "</th>"
        for c in cats
    )
    body = []
    totals: dict[str, Cell] = defaultdict(Cell)
    for key, cells in rows[:MAX_SUMMARY_ROWS]:
        tds = []
        for c in cats:
            cell = cells.get(c)
            tds.append(_cell_html(cell, c in units))
        n = sum(x.n for x in cells.values())
        title = " › ".join(key) if key else ""
        body.append(f'<tr><td title="{_e(title)}">{_e(_place_label(key, level))}</td><td class="n">{n}</td>{"".join(tds)}</tr>')
    for _, cells in rows:
        for c, cell in cells.items():
            t = totals[c]
            t.n += cell.n
            t.total += cell.total
            t.summed += cell.summed
    more = ""
    if len(rows) > MAX_SUMMARY_ROWS:
        more = f'<p class="note">… and {len(rows) - MAX_SUMMARY_ROWS} more places (the total row counts them all).</p>'
    total_row = (f'<tr class="total"><td>total</td><td class="n">{sum(t.n for t in totals.values())}</td>'
                 + "".join(_cell_html(totals.get(c), c in units) for c in cats) + "</tr>")
    table = (f'<div class="scroll"><table class="summary"><thead><tr><th>{_e(level)}</th><th class="n">claims</th>{head}</tr></thead>'
             f"<tbody>{''.join(body)}{total_row}</tbody></table></div>{more}")
    chart = places_chart(rows, claims, level)
    return f'<div class="level" data-level="{_e(level)}"{" hidden" if hidden else ""}>{table}<div class="charts">{chart}</div></div>'


def _cell_html(cell: Cell | None, has_unit: bool) -> str:
    if cell is None or cell.n == 0:
        return '<td class="n"></td>'
    if not (has_unit and cell.summed):
        return f'<td class="n">{cell.n}</td>'
    return f'<td class="n" title="Σ {fmt_num(cell.total)}">{cell.n}<small>Σ {fmt_short(cell.total)}</small></td>'


def default_level(claims: list[Mark]) -> str:
    """The coarsest level that tells places apart (two or more names), else the first one known."""
    known = None
    for level in LEVELS:
        names = {c.rec[level] for c in claims if c.rec[level]}
        if len(names) >= 2:
            return level
        if names and known is None:
            known = level
    return known or "locality"


# --------------------------------------------------------------------------
# Charts (inline SVG)


def main_categories(claims: list[Mark]) -> list[str]:
    counts = Counter(c.category for c in claims if c.category != "date")
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAIN_CATEGORIES]]


def _bucket(cat: str, main: list[str]) -> str:
    return cat if cat in main else REST


def _legend(cats: list[str], x: float, y: float) -> tuple[str, float]:
    """The legend's SVG and the x where it ends."""
    out, cx = [], x
    for c in cats:
        out.append(f'<rect x="{cx:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{colour(c)}"/>'
                   f'<text x="{cx + 13:.0f}" y="{y:.0f}">{_e(c)}</text>')
        cx += 22 + 7 * len(c)
    return "".join(out), cx


def hbar_svg(rows: list[tuple[str, str, dict[str, int]]], cats: list[str], label_width: int = 150, width: int = 640) -> str:
    """Horizontal stacked bars: rows of (label, hover title, category -> count)."""
    bar_h, gap, top = 16, 6, 26
    height = top + len(rows) * (bar_h + gap) + 6
    biggest = max((sum(v.values()) for _, _, v in rows), default=0) or 1
    legend, legend_end = _legend(cats, label_width, 14)
    width = max(width, int(legend_end) + 10)
    span = width - label_width - 50
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">', legend]
    for k, (label, hover, counts) in enumerate(rows):
        y = top + k * (bar_h + gap)
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end"><title>{_e(hover)}</title>{_e(short)}</text>')
        x = float(label_width)
        for c in cats:
            n = counts.get(c, 0)
            if not n:
                continue
            w = span * n / biggest
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.8):.1f}" height="{bar_h}" fill="{colour(c)}"><title>{_e(label)}: {_e(c)} {n}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 12}">{sum(counts.values())}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns_svg(bins: list[tuple[str, dict[str, int]]], cats: list[str], height: int = 230) -> str:
    """Vertical stacked columns over time bins."""
    n = len(bins)
    left, bottom, top = 36, 58, 26
    col = max(8, min(28, 640 // max(n, 1)))
    legend, legend_end = _legend(cats, left, 14)
    width = max(420, left + n * col + 20, int(legend_end) + 10)
    plot_h = height - top - bottom
    biggest = max((sum(v.values()) for _, v in bins), default=0) or 1
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">', legend]
    for frac in (0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{fmt_num(round(biggest * frac))}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9aa1aa"/>')
    every = max(1, math.ceil(n / 24))
    for k, (label, counts) in enumerate(bins):
        x = left + k * col + 1
        y = float(top + plot_h)
        for c in cats:
            v = counts.get(c, 0)
            if not v:
                continue
            h = plot_h * v / biggest
            y -= h
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{col - 2}" height="{h:.1f}" fill="{colour(c)}"><title>{_e(label)}: {_e(c)} {v}</title></rect>')
        if k % every == 0:
            lx, ly = x + col / 2, top + plot_h + 10
            parts.append(f'<text x="{lx:.1f}" y="{ly}" text-anchor="end" transform="rotate(-45 {lx:.1f} {ly})">{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def places_chart(rows, claims: list[Mark], level: str) -> str:
    main = main_categories(claims)
    cats = main + ([REST] if any(c.category not in main and c.category != "date" for c in claims) else [])
    bars = []
    for key, cells in rows:
        if key is None:
            continue
        counts: Counter = Counter()
        for cat, cell in cells.items():
            if cat != "date":
                counts[_bucket(cat, main)] += cell.n
        if counts:
            bars.append((_place_label(key, level), " › ".join(key), counts))
    bars = sorted(bars, key=lambda b: -sum(b[2].values()))[:MAX_CHART_PLACES]
    if not bars:
        return f'<div class="chart"><h3>Claims by {_e(level)}</h3><p class="note">No claim has a {_e(level)} yet.</p></div>'
    return f'<div class="chart"><h3>Claims by {_e(level)} (main categories, top {len(bars)})</h3>{hbar_svg(bars, cats)}</div>'


@lru_cache(maxsize=4096)
def parse_day(text: str | None) -> dt.date | None:
    """`2020-01-27`, `2020-01` (its first day) or `2020` (1 January); None for anything else."""
    if not text:
        return None
    t = text.strip()
    try:
        if len(t) >= 10:
            return dt.date.fromisoformat(t[:10])
        if len(t) == 7:
            return dt.date(int(t[:4]), int(t[5:7]), 1)
        if len(t) == 4:
            return dt.date(int(t), 1, 1)
    except ValueError:
        return None
    return None


def _bin_labels(lo: dt.date, hi: dt.date) -> tuple[list[str], Callable[[dt.date], str]]:
    """Every bin label from lo to hi, and the label of a day: days up to two months,
    months up to four years, else years."""
    days = (hi - lo).days
    if days <= 62:
        return [(lo + dt.timedelta(k)).isoformat() for k in range(days + 1)], dt.date.isoformat
    if days <= 4 * 366:
        labels, y, m = [], lo.year, lo.month
        while (y, m) <= (hi.year, hi.month):
            labels.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return labels, lambda d: f"{d.year:04d}-{d.month:02d}"
    return [f"{y:04d}" for y in range(lo.year, hi.year + 1)], lambda d: f"{d.year:04d}"


def time_bins(claims: list[Mark], published: dict[str, str | None]) -> tuple[list[tuple[str, dict[str, int]]], list[str], int]:
    """Claims (dates excluded) binned by the date their sentence gives, else their document's
    publication date: by day up to two months, by month up to four years, else by year."""
    main = main_categories(claims)
    dated: list[tuple[dt.date, str]] = []
    undated = 0
    for c in claims:
        if c.category == "date":
            continue
        when = parse_day(c.rec["date"]) or parse_day(published.get(c.doc))
        if when is None:
            undated += 1
            continue
        dated.append((when, _bucket(c.category, main)))
    cats = main + ([REST] if any(b == REST for _, b in dated) else [])
    if not dated:
        return [], cats, undated
    labels, label_of = _bin_labels(min(w for w, _ in dated), max(w for w, _ in dated))
    counts: dict[str, Counter] = {lab: Counter() for lab in labels}
    for when, b in dated:
        counts[label_of(when)][b] += 1
    return [(lab, counts[lab]) for lab in labels], cats, undated


def time_chart(claims: list[Mark], published: dict[str, str | None]) -> str:
    bins, cats, undated = time_bins(claims, published)
    note = f'<p class="note">{undated} claims have no date (neither their sentence nor their document\'s publication date).</p>' if undated else ""
    if not bins:
        return f'<div class="chart"><h3>Claims over time</h3><p class="note">No claim has a date.</p>{note}</div>'
    return f'<div class="chart"><h3>Claims over time (main categories)</h3>{columns_svg(bins, cats)}{note}</div>'


def render_summary(docs: list[Doc]) -> str:
    claims = [c for d in docs for c in d.claims]
    level = default_level(claims)
    options = "".join(f'<option value="{lv}"{" selected" if lv == level else ""}>{lv}</option>' for lv in SUMMARY_LEVELS)
    levels = "".join(render_summary_level(claims, lv, hidden=lv != level) for lv in SUMMARY_LEVELS)
    published = {d.id: _s(d.row.get("published")) for d in docs}
    return (
        '<section id="summary"><h2>Claims by place and category</h2>'
        f'<p><label>Place level <select id="levelf">{options}</select></label></p>'
        '<p class="note">Each cell: number of claims, and Σ the sum of their values in the unit named under the '
        "category (claims in other units, rates with a <i>per</i>, and ranges' upper ends are not added). A figure "
        "is added once: repeated mentions of it, parts of a total that the document gives, and figures a correction "
        "replaces are counted but not added (see the facts table).</p>"
        f"{levels}<div class='charts'>{time_chart(claims, published)}</div></section>"
    )


# --------------------------------------------------------------------------
# Filters and the document list


def locality_options(claims: list[Mark]) -> str:
    counts: Counter = Counter()
    nowhere = 0
    for c in claims:
        if not c.path:
            nowhere += 1
        for k in range(1, len(c.path) + 1):
            counts[c.path[:k]] += 1
    opts = [f'<option value="">all places ({len(claims)})</option>']
    for path in sorted(counts):
        indent = "\u3000" * (len(path) - 1)
        opts.append(f'<option value="{_e(PATH_SEP.join(path))}">{indent}{_e(path[-1])} ({counts[path]})</option>')
    if nowhere:
        opts.append(f'<option value="{NO_PLACE}">(no locality) ({nowhere})</option>')
    return "".join(opts)


def render_filters(claims: list[Mark], doc_search: bool, show_rejected: bool = True, claim_search: bool = True) -> str:
    cats = categories_in(claims)
    counts = Counter(c.category for c in claims)
    boxes = "".join(
        f'<label class="cat k-{_e(c)}"><input type="checkbox" class="catf" value="{_e(c)}" checked>{_e(c)} {counts[c]}</label>' for c in cats
    )
    parts = ['<nav id="filters">', '<button type="button" id="allcats" title="tick or untick every category">categories</button>', boxes,
             f'<label>place <select id="locf">{locality_options(claims)}</select></label>']
    if show_rejected:
        parts.append('<label title="numbers that did not become claims, with the rule that rejected them"><input type="checkbox" id="showrej" checked> rejected numbers</label>')
    if doc_search:
        parts.append('<input type="search" id="docq" placeholder="find a document…"> <span id="nshown" class="muted"></span>')
    if claim_search:  # the page carries its claims' data: search them, export what the filters keep
        parts.append('<input type="search" id="claimq" placeholder="find claims: item, quote, value…" '
                     'title="claims whose item, quote or value contains this text"> <span id="nclaims" class="muted"></span>'
                     '<button type="button" id="csv" title="download the claims the filters keep, as CSV (UTF-8)">export CSV</button>')
    parts.append("</nav>")
    return "".join(parts)


def render_doc_list(docs: list[Doc], href) -> str:
    rows = []
    for d in docs:
        counts = d.category_counts()
        pills = "".join(f'<span class="pill k-{_e(c)}">{_e(c)} {counts[c]}</span>' for c in categories_in(d.claims))
        err = f'<span class="err">{_e(d.row.get("error"))}</span>' if _s(d.row.get("error")) else ""
        rows.append(
            f'<tr class="docrow" data-doc="{_e(d.id)}" data-name="{_e(d.id + " " + d.title)}" data-cl="{_e(d.pairs())}">'
            f'<td><a href="{_e(href(d))}">{_e(d.title)}</a>' + (f'<br><small class="muted">{_e(d.id)}</small>' if d.title != d.id else "")
            + f'</td><td class="nowrap">{_e(_s(d.row.get("published")) or "")}</td><td class="n">{len(d.paras)}</td><td class="n">{len(d.claims)}</td>'
            f'<td class="n">{len(d.rejections)}</td><td>{pills}{err}</td></tr>'
        )
    return (
        '<section id="doclist"><h2>Documents</h2><table><thead><tr><th>document</th><th>published</th>'
        '<th class="n">paragraphs</th><th class="n">claims</th><th class="n">rejected</th><th>categories</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _header(title: str, docs: list[Doc], source: str, extra: str = "") -> str:
    n_claims = sum(len(d.claims) for d in docs)
    n_rej = sum(len(d.rejections) for d in docs)
    failed = sum(1 for d in docs if _s(d.row.get("error")))
    versions = sorted({str(d.row.get("pipeline_version")) for d in docs if _s(d.row.get("pipeline_version"))})
    stats = (f"{len(docs)} documents" + (f" ({failed} unreadable)" if failed else "")
             + f" · {sum(len(d.paras) for d in docs)} paragraphs · {n_claims} claims · {n_rej} rejected numbers"
             + f" · from <code>{_e(source)}</code>" + (f" · pipeline {_e(', '.join(versions))}" if versions else ""))
    return f'<header class="top"><h1>{_e(title)}</h1><div class="stats">{stats}</div>{extra}</header>'


_HOWTO = ('<p class="note">Highlights are claims, coloured by category: hover for a summary, click (or Enter) for every '
          "field. Faint dotted numbers did not become claims; the small label is the exclusion rule "
          "(<code>bulletin explain FILE</code> prints the same verdicts).</p>")


# --------------------------------------------------------------------------
# Writing


def page_names(docs: list[Doc]) -> None:
    """File names for folder mode: the doc id made safe, unique."""
    seen: set[str] = set()
    for d in docs:
        base = re.sub(r"[^\w.-]+", "_", d.id).strip("._") or "doc"
        name, k = base, 1
        while name.lower() in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name.lower())
        d.file = f"{name}.html"


def all_categories(docs: list[Doc]) -> list[str]:
    present = {c.category for d in docs for c in d.claims}
    return CATEGORY_ORDER + sorted(present - set(CATEGORY_ORDER)) + [REST]


def single_page(docs: list[Doc], title: str, source: str, page_size: int = PAGE_SIZE) -> str:
    claims = [c for d in docs for c in d.claims]
    body = [
        _header(title, docs, source),
        render_filters(claims, doc_search=True),
        "<main>", _HOWTO, render_summary(docs), render_doc_list(docs, lambda d: f"#{d.anchor}"),
        '<section id="docs"><div id="pager"><button type="button" id="prevpage">‹ previous</button>'
        '<span id="pageinfo"></span><button type="button" id="nextpage">next ›</button></div>',
        *(render_document(d) for d in docs),
        "</section></main>",
    ]
    return render_page(title, "\n".join(body), claims_data(docs), "single", all_categories(docs), page_size)


def index_page(docs: list[Doc], title: str, source: str) -> str:
    claims = [c for d in docs for c in d.claims]
    body = [
        _header(title, docs, source),
        render_filters(claims, doc_search=True, show_rejected=False, claim_search=False),
        "<main>", _HOWTO, render_summary(docs),
        render_doc_list(docs, lambda d: "docs/" + urllib.parse.quote(d.file)),
        "</main>",
    ]
    return render_page(title, "\n".join(body), {}, "index", all_categories(docs))


def document_page(docs: list[Doc], k: int, title: str, source: str) -> str:
    d = docs[k]
    nav = ['<a href="../index.html">↑ index</a>']
    if k > 0:
        nav.append(f'<a href="{urllib.parse.quote(docs[k - 1].file)}">‹ {_e(docs[k - 1].title)}</a>')
    if k + 1 < len(docs):
        nav.append(f'<a href="{urllib.parse.quote(docs[k + 1].file)}">{_e(docs[k + 1].title)} ›</a>')
    body = [
        f'<header class="top"><h1>{_e(d.title)}</h1><div class="stats">{_e(title)} · document {k + 1} of {len(docs)}</div>'
        f'<div class="docnav">{" ".join(nav)}</div></header>',
        render_filters(d.claims, doc_search=False),
        "<main>", _HOWTO, render_document(d), "</main>",
    ]
    return render_page(f"{d.title} · {title}", "\n".join(body), claims_data([d]), "doc", all_categories([d]))


def is_single(out: Path, mode: str = "auto") -> bool:
    if mode not in ("auto", "single", "folder"):
        raise ValueError(f"unknown report mode {mode!r}: use auto, single or folder")
    return mode == "single" or (mode == "auto" and out.suffix.lower() in (".html", ".htm"))


def write_report(folder: str | Path, out: str | Path, title: str | None = None, mode: str = "auto", page_size: int = PAGE_SIZE) -> list[Path]:
    """Write the review page(s) of the run in `folder`; returns the files written.

    mode "auto": one file when `out` ends in .html, else a folder with index.html and docs/."""
    folder, out = Path(folder), Path(out)
    docs = prepare(load(folder, categorical=False))
    title = title or f"Claims review · {folder.resolve().name}"
    source = str(folder)
    if is_single(out, mode):
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(single_page(docs, title, source, page_size), encoding="utf-8")
        return [out]
    page_names(docs)
    (out / "docs").mkdir(parents=True, exist_ok=True)
    written = [out / "index.html"]
    written[0].write_text(index_page(docs, title, source), encoding="utf-8")
    for k, d in enumerate(docs):
        p = out / "docs" / d.file
        p.write_text(document_page(docs, k, title, source), encoding="utf-8")
        written.append(p)
    return written
