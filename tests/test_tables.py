"""Table rows: the tuples the workers build follow the schema, and claims.jsonl lines are
the JSON of the spec record, byte for byte."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from pipeline import __version__, api, load
from pipeline.model import Category, Document, DocumentMeta
from pipeline.schema import CLAIMS, DOCUMENTS, FACTS, PARAGRAPHS, REJECTIONS
from pipeline.tables import (
    build_tables, claim_values, claim_values_of_row, extraction_values, spec_line, spec_line_of, typed_iso, write_tables,
)

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
        "doc_id": d.doc_id, "path": d.path, "path_bytes": os.fsencode(d.path), "format": d.format, "encoding": d.encoding, "n_bytes": d.n_bytes,
        "n_chars": len(d.text), "sha256": d.sha256, "published": d.meta.published,
        "year_source": extraction.year_source, "title": d.meta.title,
        "url": d.meta.url, "locality_hint": d.meta.locality, "n_paragraphs": len(extraction.paragraphs),
        "n_claims": len(extraction.claims), "error": d.error, "pipeline_version": __version__, "text": None,
    }
    for p, row in zip(extraction.paragraphs, paras):
        assert dict(zip(PARAGRAPHS.names, row)) == {k: _plain(getattr(p, k)) for k in PARAGRAPHS.names}
    typed = {"iso_day", "iso_precision", "date_day", "date_precision", "effective_date", "effective_precision", "effective_source"}
    for c, row in zip(extraction.claims, claims):
        want = {k: _plain(getattr(c, k) if hasattr(c, k) else getattr(c.place, k)) for k in CLAIMS.names if k not in typed}
        assert {k: v for k, v in zip(CLAIMS.names, row) if k not in typed} == want
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
    """The reference form of a claims.jsonl record: the record format of docs/CLAIMS.md (plus
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


# ---------------------------------------------------------------- typed dates


@pytest.mark.parametrize(
    ("iso", "day", "precision"),
    [("2021", "2021-01-01", "year"), ("2021-11", "2021-11-01", "month"), ("2021-11-09", "2021-11-09", "day"),
     ("2021-11-09T07:30", "2021-11-09", "minute"), (None, None, None)],
)
def test_typed_iso(iso, day, precision) -> None:
    assert typed_iso(iso) == (dt.date.fromisoformat(day) if day else None, precision)


@pytest.mark.parametrize("bad", ["21", "2021-13", "2021-02-30", "2021/11/09", "2021-11-09T7"])
def test_typed_iso_names_a_bad_value(bad) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        typed_iso(bad)


def test_effective_date_is_the_sentence_date_else_the_publication_date(tmp_path) -> None:
    """Every quantity gets an effective_date and says where it came from; date rows get none;
    all typed columns read as datetimes (pd.to_datetime over the ISO strings fails on mixed precision)."""
    text = "11月9日，全镇发放口罩300个。全镇设置卡点4个。\n今年3月，全县投入资金5万元。"
    doc = Document("typed", "typed.txt", text, meta=DocumentMeta(published="2021-11-10"))
    tables = build_tables([api.extract_document(doc)])
    write_tables(tables, tmp_path)
    claims = load(tmp_path).claims
    by_quote = claims.set_index("quote")
    masks, points, funds = by_quote.loc["300个"], by_quote.loc["4个"], by_quote.loc["5万元"]
    assert (masks.effective_date, masks.effective_precision, masks.effective_source) == (pd.Timestamp("2021-11-09"), "day", "sentence")
    assert (points.effective_date, points.effective_precision, points.effective_source) == (pd.Timestamp("2021-11-10"), "day", "published")
    assert (funds.effective_date, funds.effective_precision, funds.date_precision) == (pd.Timestamp("2021-03-01"), "month", "month")
    dates = claims[claims.category == "date"]
    assert len(dates) == 2 and dates.effective_date.isna().all() and dates.effective_source.isna().all()
    assert sorted(zip(dates.iso_day, dates.iso_precision)) == [(pd.Timestamp("2021-03-01"), "month"), (pd.Timestamp("2021-11-09"), "day")]
    for col in ("iso_day", "date_day", "effective_date"):
        assert pd.api.types.is_datetime64_any_dtype(claims[col]), col
    raw = pd.read_parquet(tmp_path / "claims.parquet")
    assert all(isinstance(v, dt.date) for v in raw.effective_date.dropna()) and raw.effective_date.notna().sum() == 3
    pd.to_datetime(raw.effective_date)  # the typed column converts where the ISO strings would not


def test_effective_date_without_any_date() -> None:
    doc = Document("bare", "bare.txt", "全镇设置卡点4个。")
    (row,) = [claim_row_of(c) for c in api.extract_document(doc).claims]
    assert (row["effective_date"], row["effective_precision"], row["effective_source"]) == (None, None, None)


def claim_row_of(c, published=None) -> dict:
    return dict(zip(CLAIMS.names, claim_values(c, published)))
