"""Table rows: the tuples the workers build follow the schema, and claims.jsonl lines are
the JSON of the spec record, byte for byte."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import __version__, api
from pipeline.model import Category
from pipeline.schema import CLAIMS, DOCUMENTS, FACTS, PARAGRAPHS, REJECTIONS
from pipeline.tables import claim_values, claim_values_of_row, extraction_values, spec_line, spec_line_of

ROOT = Path(__file__).resolve().parents[1]
SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]


@pytest.fixture(scope="module")
def extraction():
    (ex,) = api.run([SEED])
    assert ex.claims and ex.rejections
    return ex


def _plain(v):
    return getattr(v, "value", v)  # an enum member as the string the tables hold


def test_row_tuples_follow_the_schema_columns(extraction) -> None:
    docs, paras, claims, rejections, facts = extraction_values(extraction)
    d = extraction.document
    for table, rows in ((DOCUMENTS, docs), (PARAGRAPHS, paras), (CLAIMS, claims), (REJECTIONS, rejections), (FACTS, facts)):
        assert rows and all(len(r) == len(table.columns) for r in rows), table.name
    assert dict(zip(DOCUMENTS.names, docs[0])) == {
        "doc_id": d.doc_id, "path": d.path, "format": d.format, "encoding": d.encoding, "n_bytes": d.n_bytes,
        "n_chars": len(d.text), "sha256": d.sha256, "published": d.meta.published, "title": d.meta.title,
        "url": d.meta.url, "locality_hint": d.meta.locality, "n_paragraphs": len(extraction.paragraphs),
        "n_claims": len(extraction.claims), "error": d.error, "pipeline_version": __version__, "text": None,
    }
    for p, row in zip(extraction.paragraphs, paras):
        assert dict(zip(PARAGRAPHS.names, row)) == {k: _plain(getattr(p, k)) for k in PARAGRAPHS.names}
    for c, row in zip(extraction.claims, claims):
        want = {k: _plain(getattr(c, k) if hasattr(c, k) else getattr(c.place, k)) for k in CLAIMS.names}
        assert dict(zip(CLAIMS.names, row)) == want
        assert claim_values_of_row(claim_row(c)) == row
    for r, row in zip(extraction.rejections, rejections):
        assert dict(zip(REJECTIONS.names, row)) == {"doc_id": d.doc_id, "start": r.start, "end": r.end, "quote": r.text, "reason": r.reason}
    assert len(facts) == len(extraction.facts)
    for f, row in zip(extraction.facts, facts):
        want = {k: _plain(getattr(f, k) if hasattr(f, k) else getattr(f.place, k)) for k in FACTS.names}
        assert dict(zip(FACTS.names, row)) == want


def claim_row(c) -> dict:
    return dict(zip(CLAIMS.names, claim_values(c)))


def _num(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    return int(v) if float(v).is_integer() else v


def spec_record(row: dict) -> dict:
    """The reference form of a claims.jsonl record: spec/CLAIMS.md's record format (plus
    the place path and rule), built as a dict."""
    is_date = row["category"] == "date"
    value = row["iso"] if is_date else _num(row["value"])
    return {
        "doc": row["doc_id"], "start": row["start"], "end": row["end"], "quote": row["quote"],
        "category": row["category"], "item": row["item"], "value": value, "value_hi": _num(row["value_hi"]),
        "unit": row["unit"], "bound": row["bound"], "per": row["per"], "locality": row["locality"],
        "county": row["county"], "date": row["date"], "optional": False,
        "fact": row["fact_id"], "part_of": row["part_of"], "replaced_by": row["replaced_by"],
        "aspect": row["aspect"], "measure": row["measure"], "origin": row["origin"],
        "province": row["province"], "city": row["city"], "township": row["township"], "village": row["village"],
        "rule": row["rule"],
    }


def _dumps(row: dict) -> str:
    return json.dumps(spec_record(row), ensure_ascii=False) + "\n"


def test_spec_lines_are_the_json_of_the_spec_record(extraction) -> None:
    for c in extraction.claims:
        row = claim_row(c)
        assert spec_line_of(claim_values_of_row(row)) == spec_line(row) == _dumps(row)
    c = extraction.claims[0]
    odd_strings = ['a "quoted" \\ back\nslash\t', "\x00\x1f\u2028", "\U0001f600 \ud800"]
    for value in (None, float("nan"), float("inf"), float("-inf"), 0.0, -0.0, 2.5, 1e20, 1e-7, 12345678.9, 3, True):
        for s in odd_strings:
            row = claim_row(replace(c, value=value, value_hi=value, quote=s, item=s, per=s, unit=None, fact=s, origin=s))
            assert spec_line(row) == _dumps(row)
    row = claim_row(replace(c, category=Category.date, iso="2020-02-03", value=None))
    assert spec_line(row) == _dumps(row)
