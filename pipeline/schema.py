"""The single source of truth for every output table.

The Arrow schemas, the validation of DataFrames and the Frictionless Table
Schema files in ``schemas/`` are all derived from the column tuples below.
``bulletin schemas --write`` regenerates ``schemas/``; a test checks the
checked-in files equal a fresh generation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from .model import Aspect, Bound, Category, Measure, Origin, ParagraphKind, PartsStatus

if TYPE_CHECKING:  # validate() only reads the DataFrame it is given: no pandas import needed at run time
    import pandas as pd

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Col:
    name: str
    type: pa.DataType
    nullable: bool
    doc: str
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Col, ...]
    primary_key: tuple[str, ...]
    order_by: tuple[str, ...] = ()  # row order of the files, when not the primary key's

    @property
    def sort_key(self) -> tuple[str, ...]:
        return self.order_by or self.primary_key

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


_S, _I, _F, _B, _D = pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.date32()

# Typed dates. An ISO value of the pipeline is a year, a month, a day or a minute
# (2020, 2020-01, 2020-01-26, 2020-02-01T14:00); its typed form is the first day it
# covers (a date32) and this precision beside it.
PRECISIONS = ("year", "month", "day", "minute")
# Where a quantity's effective_date comes from: its own sentence's date, else the
# publication date of its document.
EFFECTIVE_SOURCES = ("sentence", "published")
# documents.year_source: where the year of dates that give none came from, most certain
# first (docs/CLAIMS.md, "Dates"). "default" means none of the others: the year was assumed.
YEAR_SOURCES = ("manifest", "page", "text", "option", "default")
_FACT_ID = "f1, f2 … in text order of each figure's first mention, unique within the document"
_ASPECTS = tuple(a.value for a in Aspect)
_MEASURES = tuple(m.value for m in Measure)
_ORIGINS = tuple(o.value for o in Origin)

DOCUMENTS = Table(
    "documents",
    "One row per input file, including the files that failed.",
    (
        Col("doc_id", _S, False, "source file name without its extension; where two inputs share it, their path below the input folder (without the extension where that is unique)"),
        Col("path", _S, False, "input path as given, printable: bytes that are not UTF-8 and control characters as \\xNN"),
        Col("path_bytes", pa.binary(), False, "the input path's exact bytes (os.fsencode), for file names that are not UTF-8"),
        Col("format", _S, False, "txt, html or pdf"),
        Col("encoding", _S, True, "detected text encoding of the file (null for PDF or failures)"),
        Col("n_bytes", _I, False, "size of the file in bytes"),
        Col("n_chars", _I, False, "length of the decoded text all offsets refer to"),
        Col("sha256", _S, False, "content hash of the file's bytes"),
        Col("published", _S, True, "publication date (ISO) from the manifest, else from the page's own date line (发布时间：…)"),
        Col("year_source", _S, True, "where the year of dates that give none came from: manifest or page (the publication date), text (a year the text states), option (--year or the manifest's default_year), default (nothing: 2020 assumed); null when no date needed one", YEAR_SOURCES),
        Col("title", _S, True, "title from the manifest or the page"),
        Col("url", _S, True, "source URL from the manifest"),
        Col("locality_hint", _S, True, "place the manifest says the document is about"),
        Col("n_paragraphs", _I, False, "paragraphs rebuilt"),
        Col("n_claims", _I, False, "claims extracted"),
        Col("error", _S, True, "why the document could not be read; null when it was"),
        Col("pipeline_version", _S, False, "version of the pipeline that wrote the row"),
        Col("text", _S, True, "extracted text of an HTML or PDF input, which its offsets refer to; null for plain text (the file is the text)"),
    ),
    ("doc_id",),
)

PARAGRAPHS = Table(
    "paragraphs",
    "Rebuilt paragraphs: raw offsets, kind, article and repaired text.",
    (
        Col("doc_id", _S, False, "document"),
        Col("para_id", _I, False, "paragraph number within the document, from 0"),
        Col("article_id", _I, False, "article number within the document, from 0"),
        Col("kind", _S, False, "headline, byline, body, caption or furniture", tuple(k.value for k in ParagraphKind)),
        Col("start", _I, False, "raw offset of the first character"),
        Col("end", _I, False, "raw offset after the last character"),
        Col("text", _S, False, "repaired text of the paragraph"),
    ),
    ("doc_id", "para_id"),
)

CLAIMS = Table(
    "claims",
    "One row per quantitative claim or date (docs/CLAIMS.md), with its source span.",
    (
        Col("doc_id", _S, False, "document"),
        Col("para_id", _I, False, "paragraph the claim sits in"),
        Col("claim_id", _S, False, "doc_id:start-end"),
        Col("start", _I, False, "raw str offset of the span's first character"),
        Col("end", _I, False, "raw str offset after the span (exclusive)"),
        Col("quote", _S, False, "raw text of the span"),
        Col("category", _S, False, "claim category", tuple(c.value for c in Category)),
        Col("item", _S, False, "the thing counted, or the event a date dates"),
        Col("value", _F, True, "normalised value in unit; null on date rows"),
        Col("value_hi", _F, True, "upper end of a range"),
        Col("iso", _S, True, "ISO value of a date row"),
        Col("iso_day", _D, True, "iso as a day: the first day of the year, month or day it names"),
        Col("iso_precision", _S, True, "what iso names: year, month, day or minute", PRECISIONS),
        Col("unit", _S, True, "canonical unit; null for dates"),
        Col("unit_raw", _S, True, "measure word as written"),
        Col("bound", _S, False, "eq, ge, le, approx or range", tuple(b.value for b in Bound)),
        Col("per", _S, True, "rate denominator (每个乡镇)"),
        Col("locality", _S, True, "most specific place the claim is about, or 全国"),
        Col("province", _S, True, "province of the locality"),
        Col("city", _S, True, "prefecture-level city of the locality"),
        Col("county", _S, True, "county-level unit of the locality"),
        Col("township", _S, True, "township, town or street of the locality"),
        Col("village", _S, True, "village or community of the locality"),
        Col("date", _S, True, "ISO date the claim's own sentence gives"),
        Col("date_day", _D, True, "date as a day: the first day of the month or day it names"),
        Col("date_precision", _S, True, "what date names: month or day", PRECISIONS),
        Col("effective_date", _D, True, "a quantity's date: its sentence's date, else its document's publication date; null on date rows and when neither is known"),
        Col("effective_precision", _S, True, "what effective_date stands for: month or day", PRECISIONS),
        Col("effective_source", _S, True, "where effective_date comes from: sentence or published", EFFECTIVE_SOURCES),
        Col("rule", _S, False, "name of the rule that produced the claim"),
        # How the claim relates to the others of its document (spec "Facts"; pipeline/facts.py)
        Col("fact_id", _S, True, _FACT_ID + "; shared by the mentions of one figure; null on date rows"),
        Col("part_of", _S, True, "fact_id of the total this mention is a part of (其中, 包括, a list before 共, a status list…)"),
        Col("replaced_by", _S, True, "fact_id of the figure that corrects this one (由411例订正为631例)"),
        Col("aspect", _S, True, "new, cumulative or current, where the text says so", _ASPECTS),
        Col("measure", _S, True, "what a cases claim counts (confirmed, death, close_contact…); null for other categories", _MEASURES),
        Col("origin", _S, True, "local or imported, where a cases claim's text says so", _ORIGINS),
        Col("is_headline", _B, False, "the mention sits in a headline or a 【…】/#…# title"),
    ),
    ("doc_id", "start", "end"),
)

FACTS = Table(
    "facts",
    "One row per figure of a document: the claims that mention it, its total, its parts checked against it.",
    (
        Col("doc_id", _S, False, "document"),
        Col("fact_id", _S, False, _FACT_ID),
        Col("category", _S, False, "claim category", tuple(c.value for c in Category if c is not Category.date)),
        Col("item", _S, False, "the thing counted, as its first mention (not a headline) names it"),
        Col("measure", _S, True, "what a cases fact counts; null for other categories", _MEASURES),
        Col("aspect", _S, True, "new, cumulative or current, as its mentions say", _ASPECTS),
        Col("origin", _S, True, "local or imported, as its mentions say", _ORIGINS),
        Col("value", _F, False, "normalised value in unit (of its first exact mention)"),
        Col("value_hi", _F, True, "upper end of a range"),
        Col("unit", _S, True, "canonical unit"),
        Col("bound", _S, False, "eq, ge, le, approx or range", tuple(b.value for b in Bound)),
        Col("per", _S, True, "rate denominator (每个乡镇): a rate is not added to totals"),
        Col("locality", _S, True, "most specific place the figure is about, or 全国"),
        Col("province", _S, True, "province of the locality"),
        Col("city", _S, True, "prefecture-level city of the locality"),
        Col("county", _S, True, "county-level unit of the locality"),
        Col("township", _S, True, "township, town or street of the locality"),
        Col("village", _S, True, "village or community of the locality"),
        Col("date", _S, True, "ISO date its mentions' sentences give"),
        Col("first_claim", _S, False, "claim_id of its first mention"),
        Col("start", _I, False, "raw offset of its first mention (rows are in text order)"),
        Col("n_mentions", _I, False, "claims that mention it"),
        Col("part_of", _S, True, "fact_id of the total it is a part of"),
        Col("parts_sum", _F, True, "sum of its parts, for a total (of the breakdown that decides parts_status)"),
        Col("parts_status", _S, True, "complete (the parts add up to it), partial (an open breakdown names only some: "
            "其中, 其余) or mismatch (a closed list that does not add up, or parts that exceed it); null when it has no parts",
            tuple(s.value for s in PartsStatus)),
        Col("replaced_by", _S, True, "fact_id of the figure that corrects it"),
    ),
    ("doc_id", "fact_id"),
    ("doc_id", "start", "fact_id"),
)

REJECTIONS = Table(
    "rejections",
    "Numbers in the text that did not become claims, and the rule that said why.",
    (
        Col("doc_id", _S, False, "document"),
        Col("start", _I, False, "raw offset of the number"),
        Col("end", _I, False, "raw offset after the number and its measure word"),
        Col("quote", _S, False, "raw text"),
        Col("reason", _S, False, "exclusion rule name (see pipeline/data/not_claims.yaml)"),
    ),
    ("doc_id", "start", "end"),
)

TABLES = {t.name: t for t in (DOCUMENTS, PARAGRAPHS, CLAIMS, REJECTIONS, FACTS)}


class SchemaError(ValueError):
    """A DataFrame does not conform to its table definition."""


def validate(df: pd.DataFrame, table: Table) -> None:
    """Check column names and order, nulls and enumerations."""
    if list(df.columns) != table.names:
        raise SchemaError(f"{table.name}: columns {list(df.columns)} != {table.names}")
    for col in table.columns:
        series = df[col.name]
        if not col.nullable and series.isna().any():
            raise SchemaError(f"{table.name}.{col.name}: null in a non-nullable column")
        if col.enum is not None:
            bad = set(series.dropna()) - set(col.enum)
            if bad:
                raise SchemaError(f"{table.name}.{col.name}: values {sorted(bad)} not in {list(col.enum)}")


_FRICTIONLESS_TYPES = {pa.string(): "string", pa.int64(): "integer", pa.float64(): "number", pa.bool_(): "boolean", pa.binary(): "string", pa.date32(): "date"}
_FRICTIONLESS_FORMATS = {pa.binary(): "binary"}


def to_table_schema(table: Table) -> dict:
    """The table as a Frictionless Table Schema descriptor."""
    fields = []
    for c in table.columns:
        f = {"name": c.name, "type": _FRICTIONLESS_TYPES[c.type], "description": c.doc}
        if c.type in _FRICTIONLESS_FORMATS:
            f["format"] = _FRICTIONLESS_FORMATS[c.type]
        constraints = {}
        if not c.nullable:
            constraints["required"] = True
        if c.enum:
            constraints["enum"] = list(c.enum)
        if constraints:
            f["constraints"] = constraints
        fields.append(f)
    return {
        "name": table.name,
        "description": table.doc,
        "version": SCHEMA_VERSION,
        "fields": fields,
        "primaryKey": list(table.primary_key),
    }


def render_schemas() -> dict[str, str]:
    """File name → JSON text for every table, as written to ``schemas/``."""
    return {
        f"{name}.schema.json": json.dumps(to_table_schema(t), ensure_ascii=False, indent=2) + "\n"
        for name, t in TABLES.items()
    }


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for fname, text in render_schemas().items():
        p = folder / fname
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out
