"""Claims: quantities and dates turned into claim records with raw offsets.

Reads: the repaired view, paragraphs, date mentions, number candidates with
their exclusion verdicts, and one locality per claim. Writes: :class:`Claim`
records (raw offsets, sorted by start) and :class:`Rejection` records for the
numbers that did not become claims (for ``explain`` and the report).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from functools import lru_cache

import regex

from .categorise import allowed_categories, best_keyword, categorise, counted_noun, find_per, heads_in, item_after, named_noun
from .dates import quantity_dates, sentence_date
from .exclude import quoted_spans, reject_reason, rule_hits
from .lexicon import Lexicon, page_rules
from .mentions import Candidate, find_candidates, implied_unit
from .numerals import parse_numeral
from .model import (
    Bound,
    Category,
    Claim,
    DateMention,
    FactLinks,
    LocalityPath,
    NumeralError,
    Paragraph,
    ParagraphKind,
    Quantity,
    Rejection,
    View,
    record,
)
from .segment import sentences


# The largest value a quantity may have. Beyond it a value is no count a bulletin
# reports (`1` and 305 zeros before 万人 is infinite as a float, a long run of 两
# overflows), and a float64 no longer holds every integer exactly (from 2**53, about
# 9e15): such a number is rejected with this reason, never written.
MAX_VALUE = 1e15
VALUE_OUT_OF_RANGE = "value_out_of_range"


@record
class Draft:
    """A claim before locality: view offsets and everything the text says of it."""

    start: int
    end: int
    category: Category
    item: str
    value: float | None
    value_hi: float | None
    iso: str | None
    unit: str | None
    unit_raw: str | None
    bound: Bound
    per: str | None
    date: str | None
    rule: str
    para_index: int


def noise_commas(view: View, raw: str) -> frozenset[int]:
    """View positions of half-width commas followed by layout whitespace in the raw text."""
    out = set()
    text = view.text
    i = text.find("，")
    while i != -1:
        r = view.raw[i]
        if raw[r] == "," and r + 1 < len(raw) and raw[r + 1] in " \t\r\n\u00a0":
            out.add(i)
        i = text.find("，", i + 1)
    return frozenset(out)


def select_quantities(
    view: View, raw: str, paras: list[Paragraph], dates: list[DateMention], lex: Lexicon
) -> tuple[list[Quantity], list[Rejection]]:
    """Candidates minus the exclusions: the quantities, and the rejected numbers with reasons."""
    text = view.text
    cands = find_candidates(text, lex, [(d.start, d.end) for d in dates], noise_commas(view, raw))
    hits = rule_hits(text, lex)
    quoted = quoted_spans(text)
    para_starts = [p.vstart for p in paras]
    furniture = [(p.vstart, p.vend) for p in paras if p.kind is ParagraphKind.furniture]
    kept: list[Quantity] = []
    rejected: list[Rejection] = []
    headers = table_units(text, paras, lex)
    columns = table_columns(text, paras, lex)
    headers_of_tables = bool(columns.headers)
    for cand in cands:
        if cand.quantity is None:  # (all three leave a candidate with a quantity as it is)
            cand = implied_unit(cand, text, lex)
            cand = table_cell(cand, text, paras, headers, para_starts)
            if columns.starts:
                cand = column_cell(cand, text, columns)
        q = cand.quantity
        if q is not None and not (-MAX_VALUE <= q.value <= MAX_VALUE and (q.value_hi is None or -MAX_VALUE <= q.value_hi <= MAX_VALUE)):
            reason = VALUE_OUT_OF_RANGE  # (NaN fails both comparisons)
        else:
            reason = reject_reason(cand, text, lex, hits, quoted)
        if reason is None and headers_of_tables and columns.in_header(cand.num_start):
            reason = "table_header"  # `资金（万元）`, `第2组` in a column header counts nothing
        if reason is None and cand.quantity is None:
            reason = cand.reason or "no measure word"
        if reason is None and furniture and _in_furniture(paras, para_starts, cand.num_start):
            reason = "page_furniture"
        if reason is None:
            kept.append(cand.quantity)
        else:
            end = cand.quantity.end if cand.quantity else cand.num_end
            rejected.append(Rejection(cand.num_start, end, text[cand.num_start:end], reason))
    return kept, rejected


_TABLE_CELL = regex.compile(r"(?<=\S )\d+(?= |$)")
TABLE_CELL_RULE = "<table header unit><cell>"
TABLE_CAPTION = 60  # a line above a table this short is its caption (…（单位：例）)


def table_units(text: str, paras: list[Paragraph], lex: Lexicon) -> dict[int, tuple[str, str]]:
    """Paragraph index → (header text, unit) for flattened tables whose header names a unit."""
    pairs = [w.split(":", 1) for w in lex.words["table_header_units"]]
    out = {}
    for k, p in enumerate(paras):
        if " " not in p.text or p.text.startswith("|"):
            continue  # a cell follows a space; a row `| a | b |` is read by table_columns
        cells = list(_TABLE_CELL.finditer(p.text))
        if len(cells) < 3:
            continue
        header = p.text[: cells[0].start()]
        if k > 0 and len(paras[k - 1].text) <= TABLE_CAPTION:
            header = paras[k - 1].text + " " + header  # a caption line above the table: …（单位：例）
        for word, unit in pairs:
            if word in header:
                out[k] = (header.strip(), unit)
                break
    return out


def _in_furniture(paras: list[Paragraph], para_starts: list[int], pos: int) -> bool:
    """Is ``pos`` inside a page-furniture paragraph? (Paragraphs are in text order and do not overlap.)"""
    k = bisect_right(para_starts, pos) - 1
    return k >= 0 and paras[k].kind is ParagraphKind.furniture and pos < paras[k].vend


def table_cell(
    cand: Candidate, text: str, paras: list[Paragraph], headers: dict[int, tuple[str, str]], para_starts: list[int] | None = None
) -> Candidate:
    """A bare integer cell of a flattened table counts in its header's unit (`浦东 2596` → 2596 例).
    ``para_starts``: every paragraph's ``vstart``, when the caller has them."""
    if cand.quantity is not None or not headers or not cand.text.isdigit():
        return cand  # (no table header names a unit: most documents)
    k = _para_index(para_starts if para_starts is not None else [p.vstart for p in paras], cand.num_start)
    if k not in headers or not (text[cand.num_start - 1: cand.num_start] == " "):
        return cand
    _, unit = headers[k]
    q = Quantity(cand.num_start, cand.num_end, float(cand.text), None, unit, None, Bound.eq, TABLE_CELL_RULE, cand.num_start, cand.num_end)
    return replace(cand, quantity=q, reason=None)


@record
class Column:
    """A column of a table written as rows `|城关镇|12|48|` (ingest's form of an HTML table):
    the thing its header counts and the unit its bare numbers are in."""

    item: str
    unit: str | None  # canonical unit
    unit_raw: str | None  # as the header writes it: 个, 万元
    factor: float  # the unit's factor times the header's scale (`（万人）`: 10000)


@record
class TableCells:
    """The number cells of a document's tables: view span → column (sorted by start)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    columns: tuple[Column, ...]
    headers: tuple[tuple[int, int], ...]  # view spans of the header rows (no claim is read there)

    def in_header(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.headers)

    def at(self, pos: int) -> int:
        """The index of the cell holding view position ``pos``, or -1."""
        k = bisect_right(self.starts, pos) - 1
        return k if k >= 0 and pos < self.ends[k] else -1


_NO_CELLS = TableCells((), (), (), ())
_CAPTION_UNIT = regex.compile(r"单位[：:]\s*([^）)]+)[)）]?\s*$")
_ROW = regex.compile(r"^\|(.*)\|$")
_ROW_DIGIT = regex.compile(r"[0-9]")


@lru_cache(maxsize=8)
def _header_unit(lex: Lexicon):
    """The pattern that reads a unit at the end of a column header (data/page.yaml), with
    the lexicon's measure words, longest first."""
    rules = page_rules()
    scale = "|".join(regex.escape(w) for w in sorted(rules.table_scales, key=len, reverse=True))
    pattern = rules.table_unit_pattern.replace("{unit}", f"(?:{lex.unit_alternation()})").replace("{scale}", f"(?:{scale})")
    pairs = [w.split(":", 1) for w in lex.words["table_header_units"]]
    return regex.compile(pattern), pairs, rules


def column_of(header: str, lex: Lexicon, caption_unit: tuple[str, float] | None = None) -> Column:
    """A column header's counted thing and unit: `卡点（个）` → 卡点 in 个, `资金(万元)` → 资金
    in 元 ×10000, `人数` → 人 (words.yaml's table_header_units), `值守人员` → 人 (a people
    noun), else the unit of the table's caption (`单位：人`: ``caption_unit`` = (measure
    word, scale)), else none."""
    pattern, pairs, rules = _header_unit(lex)
    header = header.strip()
    item = header
    surface, scale = None, 1.0
    m = pattern.search(header)
    if m:
        word = m.group("scale") or m.group("scale2")
        surface = m.group("unit") or m.group("unit2")
        scale = float(rules.table_scales[word]) if word else 1.0
        item = header[: m.start()].strip()
    else:
        surface = next((unit for word, unit in pairs if word in header), None)
        if surface is None and header.endswith(lex.words["people_nouns"]):
            surface = "人"
        if surface is None and caption_unit is not None:
            surface, scale = caption_unit
    for word in rules.table_trailing:  # 卡点数 counts 卡点
        if item.endswith(word) and len(item) - len(word) >= 2:
            item = item[: -len(word)]
            break
    unit = lex.units.get(surface) if surface else None
    if unit is None:
        return Column(item, None, None, 1.0)
    scale_word = next((w for w, f in rules.table_scales.items() if f == scale), "") if scale != 1.0 else ""
    return Column(item, unit.canonical, scale_word + surface, scale * unit.factor)


def table_columns(text: str, paras: list[Paragraph], lex: Lexicon) -> TableCells:
    """The number cells of every table written as rows `|乡镇|卡点（个）|…|` and the column
    each belongs to. A table is a run of such rows; its header is the text of the rows
    above its first row with a digit (joined per column: a two-row header names the thing,
    then its unit); a caption line just above it may give one unit for every column."""
    if "|" not in text:
        return _NO_CELLS  # (most documents)
    starts: list[int] = []
    ends: list[int] = []
    columns: list[Column] = []
    headers: list[tuple[int, int]] = []
    k = 0
    while k < len(paras):
        if not _ROW.match(paras[k].text):
            k += 1
            continue
        first = k
        while k < len(paras) and _ROW.match(paras[k].text):
            k += 1
        body = _read_table(text, paras, first, k, lex, starts, ends, columns)
        headers += [(paras[i].vstart, paras[i].vend) for i in range(first, body)]
    if not starts and not headers:
        return _NO_CELLS
    order = sorted(range(len(starts)), key=starts.__getitem__)
    return TableCells(tuple(starts[i] for i in order), tuple(ends[i] for i in order), tuple(columns[i] for i in order), tuple(headers))


def _cells(p: Paragraph) -> list[tuple[int, int, str]]:
    """(view start, view end, text) of each cell of a row paragraph."""
    out = []
    pos = p.vstart + 1
    for cell in p.text[1:-1].split("|"):
        out.append((pos, pos + len(cell), cell))
        pos += len(cell) + 1
    return out


def _read_table(text: str, paras: list[Paragraph], first: int, stop: int, lex: Lexicon, starts, ends, columns) -> int:
    """Add the number cells of the table in paragraphs [first, stop); return the index of
    its first body row (the rows above it are its header)."""
    rows = [_cells(paras[i]) for i in range(first, stop)]
    body = next((i for i, r in enumerate(rows) if any(_ROW_DIGIT.search(c) for _, _, c in r[1:])), None)
    if not body:
        return first  # no header row above the numbers: nothing names the columns
    width = max(len(r) for r in rows)
    headers = []
    for j in range(width):
        parts: list[str] = []
        for r in rows[:body]:
            cell = r[j][2].strip() if j < len(r) else ""
            if cell and cell not in parts:
                parts.append(cell)
        headers.append("".join(parts))
    caption = None
    if first > 0 and len(paras[first - 1].text) <= 60:  # a caption line: 表1 …（单位：人）
        m = _CAPTION_UNIT.search(paras[first - 1].text)
        if m:
            pattern, _, rules = _header_unit(lex)
            u = pattern.search(f"（{m.group(1)}）")
            if u and u.group("unit"):
                caption = (u.group("unit"), float(rules.table_scales[u.group("scale")]) if u.group("scale") else 1.0)
    cols = [column_of(h, lex, caption) for h in headers]
    for r in rows[body:]:
        for j, (a, b, cell) in enumerate(r):
            if j < len(cols) and (cols[j].unit is not None or cols[j].item) and _ROW_DIGIT.search(cell):
                starts.append(a)
                ends.append(b)
                columns.append(cols[j])
    return first + body


def column_cell(cand: Candidate, text: str, cells: TableCells) -> Candidate:
    """A bare number that fills a table cell counts in its column header's unit
    (`|城关镇|12|` under `卡点（个）` → 12 个)."""
    if cand.quantity is not None or not cells.starts:
        return cand
    k = cells.at(cand.num_start)
    col = cells.columns[k] if k >= 0 else None
    if col is None or col.unit is None:
        return cand
    if text[cells.starts[k]: cells.ends[k]].strip() != cand.text:
        return cand  # only a cell that is just the number
    try:
        value = parse_numeral(cand.text).value
    except NumeralError:
        return cand
    if value is None:
        return cand
    q = Quantity(cand.num_start, cand.num_end, value * col.factor, None, col.unit, col.unit_raw, Bound.eq, "<table column unit><cell>", cand.num_start, cand.num_end)
    return replace(cand, quantity=q, reason=None)


def _para_index(starts: list[int], pos: int) -> int:
    """The paragraph holding ``pos``, given every paragraph's ``vstart`` (built once per document)."""
    return max(0, bisect_right(starts, pos) - 1)


def draft_claims(
    view: View, paras: list[Paragraph], quantities: list[Quantity], dates: list[DateMention], lex: Lexicon
) -> list[Draft]:
    """Item, category, per and sentence date for each quantity; a draft for each date."""
    text = view.text
    sents = sentences(text)
    sent_starts = [s for s, _ in sents]
    para_starts = [p.vstart for p in paras]
    dating = quantity_dates(dates, text)
    cells = table_columns(text, paras, lex)
    dating_starts = [d.start for d in dating]
    in_order = all(a <= b for a, b in zip(dating_starts, dating_starts[1:]))  # (find_dates gives them in text order)
    drafts: list[Draft] = []
    prev_item: str | None = None
    prev_sent = -1
    breakdowns = Breakdowns(text)
    sentence_dating: list[DateMention] = []
    for q in quantities:
        k = max(0, bisect_right(sent_starts, q.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        if k != prev_sent:
            prev_item, prev_sent, breakdowns = None, k, Breakdowns(text)
            # the dates sentence_date would pick from, gathered once per sentence, not per quantity
            if in_order:
                sentence_dating = []
                for i in range(bisect_left(dating_starts, s0), len(dating)):
                    d = dating[i]
                    if d.start > s1:
                        break
                    if d.end <= s1:
                        sentence_dating.append(d)
            else:
                sentence_dating = [d for d in dating if s0 <= d.start and d.end <= s1]
        after = item_after(text, q.end, lex)  # the noun after it: both need it
        cell = cells.at(q.start) if cells.starts else -1
        column_item = None
        if cell >= 0 and cells.columns[cell].item and not text[cells.starts[cell]: q.start].strip() and not text[q.end: cells.ends[cell]].strip():
            column_item = cells.columns[cell].item  # the cell is just this count: its column names the thing
        kind = lex.units[q.unit_raw].kind if q.unit_raw in lex.units else None
        allowed = allowed_categories(kind, q.unit, lex)
        noun = named_noun(column_item, q, lex, allowed) if column_item else counted_noun(q, text, lex, allowed, after)
        item = noun.item
        per = find_per(q, text, prev_item, lex)
        # a part after 其中 counts its total's thing unless a noun of its own follows it
        total = breakdowns.total(q, lex, noun.item if noun.head is not None and noun.np_start == q.start else "")
        cat = categorise(q, item, text, lex, kind, total.category if total else None, noun)
        date = sentence_date(sentence_dating, s0, s1, at=q.start)
        draft = Draft(q.start, q.end, cat, item, q.value, q.value_hi, None, q.unit, q.unit_raw, q.bound, per, date, q.rule, _para_index(para_starts, q.start))
        drafts.append(draft)
        breakdowns.add(draft)
        if item:
            prev_item = item
    drafts = share_list_heads(drafts, text, lex)
    for d in dates:
        k = max(0, bisect_right(sent_starts, d.start) - 1)
        s0, s1 = sents[k] if sents else (0, len(text))
        event = text[d.end: min(s1, d.end + 20)].lstrip("，,：: ")
        drafts.append(Draft(d.start, d.end, Category.date, event, None, None, d.iso, None, None, Bound.eq, None, None, d.rule, _para_index(para_starts, d.start)))
    drafts.sort(key=lambda c: (c.start, c.end))
    return drafts


_COMMA = regex.compile(r"[，,]")


def breakdown_total(q: Quantity, text: str, earlier: list[Draft], lex: Lexicon, after: str | None = None) -> Draft | None:
    """`32个道路卡口，其中乡里设置1个，各村口设置28个`: the parts of a total named
    after 其中 count the same thing as the total when no noun follows them.

    The parts run on from 其中 clause by clause; a clause with no count of the
    same unit ends the breakdown. ``earlier``: the drafts of the sentence before
    ``q``. ``after``: :func:`item_after` at ``q.end``, when known. (For every
    quantity of a sentence in turn, :class:`Breakdowns` gives the same answers in
    time linear in the sentence.)"""
    found = Breakdowns(text)
    for d in earlier:
        found.add(d)
    return found.total(q, lex, after)


class Breakdowns:
    """:func:`breakdown_total` for the quantities of one sentence in text order.

    Asking each quantity's question afresh costs the number of drafts before it
    and of the commas since its 其中 (quadratic in a long sentence of counts);
    here each draft is indexed once (whether 其中 follows it; by unit, from the
    first such draft on), and each clause after a 其中 is checked once, when the
    first part beyond it asks. A sentence without 其中 (most) costs one search
    of 12 characters per draft."""

    __slots__ = ("text", "ends", "anchors", "progress")

    def __init__(self, text: str):
        self.text = text
        # From the first draft followed by 其中 on (None before):
        self.anchors: dict[str | None, list[tuple[Draft, int]]] | None = None  # unit -> (draft, where its 其中 starts)
        self.ends: dict[str | None, list[int]] | None = None  # unit -> ends of the drafts in that unit, in order
        self.progress: dict[int, tuple[int, bool]] | None = None  # a total's end -> (clauses checked up to, all had a part)

    def add(self, d: Draft) -> None:
        """The next draft of the sentence (after the question for it was asked)."""
        k = self.text.find("其中", d.end, d.end + 12)
        if k != -1:
            if self.anchors is None:
                self.anchors, self.ends, self.progress = {}, {}, {}
            self.anchors.setdefault(d.unit, []).append((d, k))
        if self.ends is not None:  # (only counts after a total can be its parts)
            self.ends.setdefault(d.unit, []).append(d.end)

    def total(self, q: Quantity, lex: Lexicon, after: str | None = None) -> Draft | None:
        """The draft whose breakdown ``q`` is a part of, or None."""
        if self.anchors is None:
            return None
        if after is None:
            after = item_after(self.text, q.end, lex)
        if after:
            return None
        anchors = self.anchors.get(q.unit)
        if not anchors:
            return None
        for i in range(len(anchors) - 1, -1, -1):  # the latest total whose 其中 ends before q
            d, k = anchors[i]
            if k + 2 <= q.start:
                break
        else:
            return None
        return d if self._parts_continue(d, k, q.start) else None

    def _parts_continue(self, d: Draft, k: int, upto: int) -> bool:
        """Does every clause from 其中 at ``k`` to ``upto`` (each up to a comma) hold
        the end of a count in ``d``'s unit after ``d``? Clauses once checked stay
        checked: the counts that end inside them are all before ``upto`` already."""
        clause_start, ok = self.progress.get(d.end, (k, True))
        if not ok:
            return False
        ends = self.ends.get(d.unit, [])
        for m in _COMMA.finditer(self.text, clause_start + (clause_start != k), upto):
            clause_end = m.start()
            i = bisect_left(ends, max(clause_start, d.end + 1))  # (a count after d ends after d)
            if i == len(ends) or ends[i] > clause_end:
                self.progress[d.end] = (clause_start, False)
                return False
            clause_start = clause_end
        self.progress[d.end] = (clause_start, True)
        return True


_LIST_JOINERS = "、和及与"
_NO_LINKS = FactLinks()


def share_list_heads(drafts: list[Draft], text: str, lex: Lexicon) -> list[Draft]:
    """In a list of counts that share one head noun (`3个卡口、1个劝导劝返和1个排查巡查
    共6个临时党支部`, `2处国家级9处省级文保单位`), the members whose own words name
    no category take the category of the list's head, the last member whose noun does."""
    out = list(drafts)
    i = 0
    while i < len(out):
        j = i
        while j + 1 < len(out) and _chained(out[j], out[j + 1], text):
            j += 1
        if j > i:
            head = out[j]
            total = text[out[j - 1].end: head.start].endswith(("共", "合计", "总计"))
            for k in range(i, j):
                if total or not _item_names_category(out[k].item, lex):
                    out[k] = replace(out[k], category=head.category)
        i = j + 1
    return out


def _chained(a: Draft, b: Draft, text: str) -> bool:
    if a.unit != b.unit or a.unit_raw != b.unit_raw:
        return False
    between = text[a.end:b.start]
    if len(between) > 12 or any(c in between for c in "，。；：,;\n"):
        return False
    head_words = between.rstrip("共计合约近")
    return len(head_words) <= len(a.item) + 1 and (
        any(c in between for c in _LIST_JOINERS) or between.endswith(("共", "合计")) or between == a.item
    )


def _item_names_category(item: str, lex: Lexicon) -> bool:
    return bool(heads_in(item, lex))


_PLACE_LEVELS = ("province", "city", "county", "township", "village")


@record
class TableRun:
    """One table of a document as its drafts see it: its row paragraphs in order, the
    drafts of each row, and the rows that total the others (`|合计|17|68|`)."""

    rows: list[int]  # paragraph indices
    drafts: dict[int, list[int]]  # paragraph index -> indices of its drafts, in order
    totals: list[int]  # paragraph indices of total rows (data/page.yaml's total_rows)


def table_runs(paras: list[Paragraph], drafts: list[Draft]) -> list[TableRun]:
    """The tables (runs of consecutive table-row paragraphs) that hold drafts."""
    # (most documents have no table: one look at each paragraph's ends tells)
    row_paras = {k for k, p in enumerate(paras) if p.text[:1] == "|" and p.text[-1:] == "|" and _ROW.match(p.text)}
    if not row_paras:
        return []
    rows: dict[int, list[int]] = {}  # paragraph index of a table row -> its drafts
    for i, d in enumerate(drafts):
        if d.para_index in row_paras:
            rows.setdefault(d.para_index, []).append(i)
    if not rows:
        return []
    totals = page_rules().table_total_rows
    runs: list[list[int]] = []
    for k in sorted(rows):
        if runs and all(_ROW.match(paras[j].text) for j in range(runs[-1][-1] + 1, k + 1)):
            runs[-1].append(k)
        else:
            runs.append([k])
    return [
        TableRun(run, {k: rows[k] for k in run}, [k for k in run if paras[k].text[1:].split("|", 1)[0].strip() in totals])
        for run in runs
    ]


def table_total_places(paras: list[Paragraph], drafts: list[Draft], places: list[LocalityPath]) -> list[LocalityPath]:
    """A table's total row (`|合计|17|68|`, data/page.yaml's total_rows) is about the
    smallest unit holding the places of the rows it sums, not about the row above it."""
    out = None
    for table in table_runs(paras, drafts):
        parts = [places[i] for k in table.rows if k not in table.totals for i in table.drafts[k] if drafts[i].iso is None]
        common = _common_place(parts)
        if common is None or not table.totals:
            continue
        out = out if out is not None else list(places)
        for k in table.totals:
            for i in table.drafts[k]:
                out[i] = common
    return out if out is not None else places


def _common_place(places: list[LocalityPath]) -> LocalityPath | None:
    """The deepest unit every place lies in (None when they share no level)."""
    if not places:
        return None
    levels: dict[str, str | None] = {}
    for level in _PLACE_LEVELS:
        names = {getattr(p, level) for p in places}
        if len(names) != 1 or None in names:
            break
        levels[level] = names.pop()
    if not levels:
        return None
    deepest = list(levels.values())[-1]
    return LocalityPath(locality=deepest, **levels)


def finish_claims(doc_id: str, raw: str, view: View, paras: list[Paragraph], drafts: list[Draft], places: list[LocalityPath],
                  links: list[FactLinks] | None = None) -> list[Claim]:
    """Map drafts to raw offsets and attach their places (a table's total rows already given
    theirs by :func:`table_total_places`) and (``links``, from :mod:`pipeline.facts`) facts."""
    out = []
    links = links if links is not None else [_NO_LINKS] * len(drafts)
    no_paras = not paras
    for d, place, f in zip(drafts, places, links):
        start, end = view.raw_span(d.start, d.end)
        # positional, in Claim's field order, the facts fields last as FactLinks holds them
        # (a call with 24 keywords costs twice as much, once for every claim)
        out.append(Claim(
            doc_id, 0 if no_paras else paras[d.para_index].para_id, start, end, raw[start:end], d.category,
            d.item, d.value, d.value_hi, d.iso, d.unit, d.unit_raw, d.bound, d.per, place, d.date, d.rule, *f,
        ))
    return out
