"""Build tests/county/gold/*.jsonl from the hand-written claim lists in tests/county/claims/.

Offsets are never counted by hand: each claim names its quote inside a piece of context, and
this script finds it in the document and writes start/end. A context that is missing, or that
occurs more than once, stops the build with the file and line that wrote it.

    python tests/county/build_gold.py            # rewrite gold/ from claims/
    python tests/county/build_gold.py --check    # exit 1 when gold/ differs from what claims/ gives

The format of a claim list (``claims/<doc>.claims``, UTF-8, one claim a line, tab-separated):

    context <TAB> category <TAB> value <TAB> unit <TAB> item [<TAB> key=value | flag] ...

- ``context`` is text copied from the document with the quote in braces, ``检查点{26个}``;
  without braces the whole context is the quote. ``…`` in a context skips ahead: the text
  before the first ``…`` must occur once, and each later piece is its first occurrence after
  the piece before (``泾川镇…{156}``: the first 156 after 泾川镇, for table rows). A quote that
  starts or ends with a digit never matches inside a longer number. ``\\n`` stands for a line
  break.
- ``value`` is a number, or an ISO date for a ``date`` claim; ``unit`` is ``-`` for a date.
- keys: ``bound`` (default eq), ``hi`` (value_hi), ``per``, ``loc`` and ``county`` (override the
  current place; ``-`` is null), ``date`` (the quantity's sentence date), ``fact`` (a name for
  the claim's fact, to be used by ``part`` and ``repl``; a quantity without one gets a fact of
  its own), ``part`` (part_of), ``repl`` (replaced_by), ``aspect``, ``measure``, ``origin``,
  ``note``.
- flags: ``opt`` (optional: true); ``maybe`` (HTML only: the claim is written only when the
  extracted text holds its context, for furniture that the extractor may or may not keep).
- ``@place LOCALITY COUNTY`` sets the locality and county of the claims below it (``-`` for a
  null county), the way a report's town sections do.
- ``#`` starts a comment line.

For an HTML document the offsets are into the text the pipeline extracts from it
(``pipeline.ingest.read_document(path, DocumentMeta()).text``): when HTML extraction changes,
run this script again (and fix a context the new text no longer holds).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"
CLAIMS = HERE / "claims"
GOLD = HERE / "gold"

CATEGORIES = {
    "checkpoint", "personnel", "population", "cases", "masks", "supplies", "funds", "publicity",
    "organization", "activity", "facility", "date", "other",
}
BOUNDS = {"eq", "ge", "le", "approx", "range"}
ASPECTS = {"new", "cumulative", "current"}
MEASURES = {
    "confirmed", "asymptomatic", "suspected", "death", "recovered", "close_contact",
    "secondary_contact", "observation", "released", "converted", "other",
}
ORIGINS = {"local", "imported"}
KEYS = {"bound", "hi", "per", "loc", "county", "date", "fact", "part", "repl", "aspect", "measure", "origin", "note"}
FLAGS = {"opt", "maybe"}
ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2})?)?)?$")
GAP = "…"
FIELDS = (
    "doc", "start", "end", "quote", "category", "item", "value", "value_hi", "unit", "bound", "per",
    "locality", "county", "date", "optional", "fact", "part_of", "replaced_by", "aspect", "measure", "origin",
)


class GoldError(Exception):
    """A claim list is wrong (the message names file:line)."""


def document_text(path: Path) -> str:
    """The text offsets refer to: the raw file, or for HTML the text the pipeline extracts."""
    if path.suffix.lower() in (".html", ".htm"):
        from pipeline.ingest import read_document
        from pipeline.model import DocumentMeta

        doc = read_document(path, DocumentMeta())
        if doc.error:
            raise GoldError(f"{path.name}: cannot be read: {doc.error}")
        return doc.text
    return path.read_text(encoding="utf-8")


def _document(doc: str) -> Path:
    found = [p for p in DOCS.iterdir() if p.stem == doc]
    if len(found) != 1:
        raise GoldError(f"claims/{doc}.claims: expected one document docs/{doc}.*, found {len(found)}")
    return found[0]


def _finds(text: str, piece: str, start: int) -> list[int]:
    """Offsets of ``piece`` in ``text`` from ``start`` on, never inside a longer number."""
    out = []
    i = text.find(piece, start)
    while i >= 0:
        before = text[i - 1] if i > 0 else ""
        after = text[i + len(piece)] if i + len(piece) < len(text) else ""
        cut_before = piece[:1].isdigit() and (before.isdigit() or before == ".")
        cut_after = piece[-1:].isdigit() and (after.isdigit() or after == ".")
        if not (cut_before or cut_after):
            out.append(i)
        i = text.find(piece, i + 1)
    return out


def locate(text: str, context: str, where: str) -> tuple[int, int] | None:
    """(start, end) of the braced quote of ``context`` in ``text``; None when the context is absent."""
    context = context.replace("\\n", "\n")
    if context.count("{") != context.count("}") or context.count("{") > 1:
        raise GoldError(f"{where}: a context marks at most one quote, in braces: {context!r}")
    if "{" not in context:
        context = "{" + context + "}"
    pieces = context.split(GAP)
    if not all(pieces):
        raise GoldError(f"{where}: empty piece around {GAP!r} in {context!r}")
    pos = 0
    span = None
    for n, piece in enumerate(pieces):
        plain = piece.replace("{", "").replace("}", "")
        hits = _finds(text, plain, pos)
        if not hits:
            return None
        if n == 0 and len(hits) > 1:
            raise GoldError(f"{where}: context {plain!r} occurs {len(hits)} times: make it longer")
        at = hits[0]
        if "{" in piece:
            q0 = at + piece.index("{")
            q1 = q0 + piece.index("}") - piece.index("{") - 1
            span = (q0, q1)
        pos = at + len(plain)
    if span is None or span[0] == span[1]:
        raise GoldError(f"{where}: empty quote in {context!r}")
    return span


def _number(s: str, where: str) -> int | float:
    try:
        v = float(s)
    except ValueError:
        raise GoldError(f"{where}: not a number: {s!r}") from None
    return int(v) if v.is_integer() and "." not in s else v


def _null(s: str | None) -> str | None:
    return None if s in (None, "", "-") else s


def parse(doc: str, text: str, lines: list[str], is_html: bool) -> list[dict]:
    """Claim records of one document, sorted by span."""
    name = f"claims/{doc}.claims"
    place: tuple[str | None, str | None] = (None, None)
    records: list[tuple[dict, str]] = []
    auto = 0
    for lineno, line in enumerate(lines, 1):
        where = f"{name}:{lineno}"
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@place"):
            parts = line.split()
            if len(parts) != 3:
                raise GoldError(f"{where}: expected '@place LOCALITY COUNTY'")
            place = (_null(parts[1]), _null(parts[2]))
            continue
        cols = line.split("\t")
        if len(cols) < 5:
            raise GoldError(f"{where}: expected context, category, value, unit, item (tab-separated)")
        context, category, value_s, unit_s, item = cols[:5]
        extra: dict[str, str] = {}
        flags: set[str] = set()
        for col in cols[5:]:
            if "=" in col:
                key, val = col.split("=", 1)
                if key not in KEYS:
                    raise GoldError(f"{where}: unknown key {key!r}")
                if key in extra:
                    raise GoldError(f"{where}: {key} given twice")
                extra[key] = val
            elif col in FLAGS:
                flags.add(col)
            else:
                raise GoldError(f"{where}: neither key=value nor a flag: {col!r}")
        if category not in CATEGORIES:
            raise GoldError(f"{where}: unknown category {category!r}")
        if not item.strip():
            raise GoldError(f"{where}: empty item")
        if "maybe" in flags and not is_html:
            raise GoldError(f"{where}: 'maybe' is for HTML documents only")
        span = locate(text, context, where)
        if span is None:
            if "maybe" in flags:
                continue
            raise GoldError(f"{where}: context not in the document: {context!r}")
        start, end = span
        is_date = category == "date"
        if is_date:
            if not ISO_DATE.match(value_s):
                raise GoldError(f"{where}: a date's value is an ISO date, not {value_s!r}")
            if unit_s != "-":
                raise GoldError(f"{where}: a date has no unit (write -)")
            bad = {"hi", "per", "date", "fact", "part", "repl", "aspect", "measure", "origin"} & extra.keys()
            if bad:
                raise GoldError(f"{where}: a date takes none of {sorted(bad)}")
            value: object = value_s
            unit = None
        else:
            value = _number(value_s, where)
            unit = _null(unit_s)
            if unit is None:
                raise GoldError(f"{where}: a quantity needs a unit")
        bound = extra.get("bound", "eq")
        if bound not in BOUNDS:
            raise GoldError(f"{where}: unknown bound {bound!r}")
        hi = _number(extra["hi"], where) if "hi" in extra else None
        if (bound == "range") != (hi is not None):
            raise GoldError(f"{where}: a range needs hi=, and hi= needs bound=range")
        aspect = _null(extra.get("aspect"))
        if aspect is not None and aspect not in ASPECTS:
            raise GoldError(f"{where}: unknown aspect {aspect!r}")
        measure = _null(extra.get("measure"))
        origin = _null(extra.get("origin"))
        if (measure or origin) and category != "cases":
            raise GoldError(f"{where}: measure and origin are for cases only")
        if measure is not None and measure not in MEASURES:
            raise GoldError(f"{where}: unknown measure {measure!r}")
        if origin is not None and origin not in ORIGINS:
            raise GoldError(f"{where}: unknown origin {origin!r}")
        sentence_date = _null(extra.get("date"))
        if sentence_date is not None and not ISO_DATE.match(sentence_date):
            raise GoldError(f"{where}: date= takes an ISO date, not {sentence_date!r}")
        if is_date:
            fact = None
        elif "fact" in extra:
            fact = extra["fact"]
            if re.fullmatch(r"f\d+", fact):
                raise GoldError(f"{where}: fact names of the form f<N> are given out automatically; choose another")
        else:
            auto += 1
            fact = f"f{auto}"
        locality = _null(extra["loc"]) if "loc" in extra else place[0]
        county = _null(extra["county"]) if "county" in extra else place[1]
        if locality is None:
            raise GoldError(f"{where}: no locality (no @place above and no loc=)")
        record = {
            "doc": doc, "start": start, "end": end, "quote": text[start:end], "category": category,
            "item": item, "value": value, "value_hi": hi, "unit": unit, "bound": bound,
            "per": _null(extra.get("per")), "locality": locality, "county": county, "date": sentence_date,
            "optional": "opt" in flags, "fact": fact, "part_of": _null(extra.get("part")),
            "replaced_by": _null(extra.get("repl")), "aspect": aspect, "measure": measure, "origin": origin,
        }
        if "note" in extra:
            record["note"] = extra["note"]
        records.append((record, where))
    facts = {r["fact"] for r, _ in records if r["fact"]}
    spans: dict[tuple[int, int], str] = {}
    for r, where in records:
        for key in ("part_of", "replaced_by"):
            if r[key] is not None and r[key] not in facts:
                raise GoldError(f"{where}: {key} names fact {r[key]!r}, which no claim of {doc} has")
        if r["part_of"] is not None and r["part_of"] == r["fact"]:
            raise GoldError(f"{where}: a claim is not a part of its own fact")
        key_span = (r["start"], r["end"])
        if key_span in spans:
            raise GoldError(f"{where}: same span as {spans[key_span]}")
        spans[key_span] = where
    return [r for r, _ in sorted(records, key=lambda rw: (rw[0]["start"], rw[0]["end"]))]


def build(doc: str) -> str:
    """The gold file's text for one document."""
    path = _document(doc)
    text = document_text(path)
    lines = (CLAIMS / f"{doc}.claims").read_text(encoding="utf-8").splitlines()
    records = parse(doc, text, lines, path.suffix.lower() in (".html", ".htm"))
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def documents() -> list[str]:
    return sorted(p.stem for p in CLAIMS.glob("*.claims"))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for doc in documents():
        try:
            want = build(doc)
        except GoldError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        out = GOLD / f"{doc}.jsonl"
        if check:
            if not out.exists() or out.read_text(encoding="utf-8") != want:
                stale.append(out.name)
        else:
            out.write_text(want, encoding="utf-8")
    if stale:
        print("gold differs from claims/ (run python tests/county/build_gold.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
