"""Tables: extractions → DataFrames that conform to :mod:`pipeline.schema`, and their files.

Writes are deterministic (rows sorted by primary key, no timestamps or pandas
metadata in the Parquet files) and atomic (each file is written beside its
target under a temporary name, then renamed over it, only after every table
has been written).
"""
from __future__ import annotations

import json
import operator
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .model import Claim, Fact
from .schema import CLAIMS, DOCUMENTS, FACTS, PARAGRAPHS, REJECTIONS, Table, validate

# pandas is imported inside the functions that make or read DataFrames: importing it
# costs about half a second, which ``import pipeline`` and the commands that make
# no DataFrame (eval, diff, schemas) need not pay.
if TYPE_CHECKING:
    import pandas as pd

TABLE_FILES = ("documents.parquet", "paragraphs.parquet", "claims.parquet", "rejections.parquet", "facts.parquet", "claims.jsonl")


@dataclass
class Tables:
    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    claims: pd.DataFrame
    rejections: pd.DataFrame
    facts: pd.DataFrame


def claim_values(c: Claim) -> tuple:
    """A claims-table row as a tuple, in the order of :data:`pipeline.schema.CLAIMS`'s columns.

    The workers keep rows as tuples: building one costs less than building a dict, and
    pyarrow converts tuples to a struct array about twice as fast. (``_value_`` is the
    enum member's plain attribute; ``.value`` goes through a Python-level descriptor.)"""
    p = c.place
    return (
        c.doc_id, c.para_id, c.claim_id, c.start, c.end, c.quote, c.category._value_, c.item, c.value, c.value_hi,
        c.iso, c.unit, c.unit_raw, c.bound._value_, c.per, p.locality, p.province, p.city, p.county,
        p.township, p.village, c.date, c.rule,
        c.fact, c.part_of, c.replaced_by, c.aspect, c.measure, c.origin, c.is_headline,
    )


def fact_values(f: Fact) -> tuple:
    """A facts-table row as a tuple, in the order of :data:`pipeline.schema.FACTS`'s columns
    (a :class:`~pipeline.model.Fact` is that tuple already)."""
    return f


# A claims-table row as a dict -> the same row as :func:`claim_values` makes it
claim_values_of_row = operator.itemgetter(*CLAIMS.names)


# json.dumps(value, ensure_ascii=False) makes a new encoder for every call; one does for all
_encode_json = json.JSONEncoder(ensure_ascii=False).encode

# One claims.jsonl line: a claim in spec/CLAIMS.md's record format (plus the place path and
# the rule), as json.dumps(record, ensure_ascii=False) would write the record (keys in this
# order, ", " and ": " between them; tests/test_tables.py checks it does). A date's value is
# its ISO day; a number's is an int when it is whole. Filling the template in with each
# value's JSON costs about a third of building the record dict and encoding it.
_SPEC_LINE = (
    '{"doc": %s, "start": %s, "end": %s, "quote": %s, "category": %s, "item": %s, "value": %s, "value_hi": %s, '
    '"unit": %s, "bound": %s, "per": %s, "locality": %s, "county": %s, "date": %s, "optional": false, '
    '%s, "province": %s, "city": %s, "township": %s, "village": %s, "rule": %s}\n'
)
# The facts fields of a line (spec "Facts"), most often all null (a date) or all null but the fact
_FACTS = '"fact": %s, "part_of": %s, "replaced_by": %s, "aspect": %s, "measure": %s, "origin": %s'
_FACT_ONLY = '"fact": %s, "part_of": null, "replaced_by": null, "aspect": null, "measure": null, "origin": null'
_NO_FACT = _FACT_ONLY % "null"


def spec_line_of(values: tuple) -> str:
    """A claims-table row (as :func:`claim_values` makes it) as one line of claims.jsonl."""
    (doc_id, _, _, start, end, quote, category, item, value, value_hi, iso, unit, _,
     bound, per, locality, province, city, county, township, village, date, rule,
     fact, part_of, replaced_by, aspect, measure, origin, _) = values
    if part_of is None and replaced_by is None and aspect is None and measure is None and origin is None:
        facts = _NO_FACT if fact is None else _FACT_ONLY % _json_str(fact)
    else:
        facts = _FACTS % (_json_opt_str(fact), _json_opt_str(part_of), _json_opt_str(replaced_by),
                          _json_opt_str(aspect), _json_opt_str(measure), _json_opt_str(origin))
    return _SPEC_LINE % (
        _json_str(doc_id), start, end, _json_str(quote), _json_str(category), _json_str(item),
        _json_opt_str(iso) if category == "date" else _json_num(value), _json_num(value_hi),
        _json_opt_str(unit), _json_str(bound), _json_opt_str(per), _json_opt_str(locality), _json_opt_str(county),
        _json_opt_str(date), facts, _json_opt_str(province), _json_opt_str(city), _json_opt_str(township),
        _json_opt_str(village), _json_str(rule),
    )


def spec_line(row: dict) -> str:
    """A claims-table row (column name -> value) as one line of claims.jsonl."""
    return spec_line_of(claim_values_of_row(row))


_json_str = json.encoder.encode_basestring  # a str as JSON, as the encoder writes it (ensure_ascii=False)


def _json_opt_str(s: str | None) -> str:
    return "null" if s is None else _json_str(s)


def _json_num(v) -> str:
    """A number as JSON: null for none or NaN, an int when whole, else the float as the encoder writes it."""
    if v is None or v != v:
        return "null"
    return str(int(v)) if float(v).is_integer() else _encode_json(v)


def _frame(rows: list[dict], table: Table) -> pd.DataFrame:
    import pandas as pd

    arrow = pa.Table.from_pylist(rows, schema=table.arrow_schema())
    df = arrow.to_pandas()
    if not rows:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in table.names})
    df = df.sort_values(list(table.sort_key), kind="stable").reset_index(drop=True)
    validate(df, table)
    return df


def extraction_values(ex) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple], list[tuple]]:
    """The rows one extraction adds to the documents, paragraphs, claims, rejections and facts
    tables, as tuples in the order of each table's columns (:mod:`pipeline.schema`)."""
    d = ex.document
    doc = (
        d.doc_id, d.path, d.format, d.encoding, d.n_bytes, len(d.text), d.sha256, d.meta.published, d.meta.title,
        d.meta.url, d.meta.locality, len(ex.paragraphs), len(ex.claims), d.error, __version__,
        # HTML and PDF offsets point into extracted text, which no file holds: keep it
        d.text if d.format != "txt" and d.error is None else None,
    )
    doc_id = d.doc_id
    paras = [(p.doc_id, p.para_id, p.article_id, p.kind._value_, p.start, p.end, p.text) for p in ex.paragraphs]
    claims = [claim_values(c) for c in ex.claims]
    rejections = [(doc_id, r.start, r.end, r.text, r.reason) for r in ex.rejections]
    facts = [fact_values(f) for f in ex.facts]
    return [doc], paras, claims, rejections, facts


def extraction_rows(ex) -> tuple[list[dict], list[dict], list[dict], list[dict], list[dict]]:
    """:func:`extraction_values` as dicts (column name -> value)."""
    return tuple(
        [dict(zip(table.names, values)) for values in part]
        for table, part in zip((DOCUMENTS, PARAGRAPHS, CLAIMS, REJECTIONS, FACTS), extraction_values(ex))
    )


def tables_from_rows(docs: list[dict], paras: list[dict], claims: list[dict], rejections: list[dict], facts: list[dict] = ()) -> Tables:
    """Sorted, validated DataFrames from rows (as :func:`extraction_rows` makes them)."""
    return Tables(_frame(docs, DOCUMENTS), _frame(paras, PARAGRAPHS), _frame(claims, CLAIMS), _frame(rejections, REJECTIONS),
                  _frame(list(facts), FACTS))


def build_tables(extractions: Iterable) -> Tables:
    docs, paras, claims, rejections, facts = [], [], [], [], []
    for ex in extractions:
        d, p, c, r, f = extraction_rows(ex)
        docs += d
        paras += p
        claims += c
        rejections += r
        facts += f
    return tables_from_rows(docs, paras, claims, rejections, facts)


def _arrow(df: pd.DataFrame, table: Table) -> pa.Table:
    return pa.Table.from_pandas(df, schema=table.arrow_schema(), preserve_index=False).replace_schema_metadata(None)


def _write_parquet(df: pd.DataFrame, table: Table, path: Path) -> None:
    pq.write_table(_arrow(df, table), path, compression="zstd", write_statistics=True)


def claims_jsonl(claims: pd.DataFrame) -> str:
    rows = claims.astype(object).where(claims.notna(), None).to_dict("records")
    return "".join(spec_line(r) for r in rows)


def write_tables(tables: Tables, out: Path) -> list[Path]:
    """Write every table into ``out`` atomically; returns the final paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, df, table in (
            ("documents.parquet", tables.documents, DOCUMENTS),
            ("paragraphs.parquet", tables.paragraphs, PARAGRAPHS),
            ("claims.parquet", tables.claims, CLAIMS),
            ("rejections.parquet", tables.rejections, REJECTIONS),
            ("facts.parquet", tables.facts, FACTS),
        ):
            tmp = _temp_path(out, name)
            staged.append((tmp, out / name))  # before writing: a failed write removes it too
            _write_parquet(df, table, tmp)
        tmp = _temp_path(out, "claims.jsonl")
        staged.append((tmp, out / "claims.jsonl"))
        tmp.write_text(claims_jsonl(tables.claims), encoding="utf-8")
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    return [final for _, final in staged]


def _temp_path(folder: Path, name: str) -> Path:
    fd, p = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    return Path(p)


def read_tables(folder: Path) -> Tables:
    """The tables of an output folder (single files); a folder written before the facts table
    existed reads with an empty one."""
    import pandas as pd

    folder = Path(folder)
    frames = [pd.read_parquet(folder / f"{n}.parquet") for n in ("documents", "paragraphs", "claims", "rejections")]
    facts = folder / "facts.parquet"
    frames.append(pd.read_parquet(facts) if facts.exists() else _frame([], FACTS))
    return Tables(*frames)
