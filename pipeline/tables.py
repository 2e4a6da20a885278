"""Tables: extractions → DataFrames that conform to :mod:`pipeline.schema`, and their files.

Writes are deterministic: rows sorted by primary key, no timestamps or pandas
metadata in the Parquet files; the one piece of metadata is the run id
(:func:`run_id`, key ``bulletin.run_id``), which every table of a run carries so
that a reader can tell tables of two runs apart. :func:`write_tables` writes
into an output folder the way ``bulletin extract`` does (:mod:`pipeline.outfolder`):
all the tables form one new generation, switched in at once, so a reader sees
the whole previous run or the whole new one, never a mix, and nothing the tool
did not write is replaced.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .ingest import os_bytes, printable
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


_PRECISION_OF_LENGTH = {4: "year", 7: "month", 10: "day", 16: "minute"}


@lru_cache(maxsize=4096)
def typed_iso(iso: str | None) -> tuple[dt.date | None, str | None]:
    """An ISO value as the pipeline writes it (``2020``, ``2020-01``, ``2020-01-26``,
    ``2020-02-01T14:00``) as the first day it covers and its precision (year, month, day,
    minute); (None, None) for None. Cached: a document repeats its few dates."""
    if iso is None:
        return None, None
    precision = _PRECISION_OF_LENGTH.get(len(iso))
    try:
        if precision == "year" and iso.isascii() and iso.isdigit():
            day = dt.date(int(iso), 1, 1)
        elif precision == "month":
            day = dt.date.fromisoformat(iso + "-01")
        elif precision == "day":
            day = dt.date.fromisoformat(iso)
        elif precision == "minute":
            day = dt.datetime.fromisoformat(iso).date()
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{iso!r} is not an ISO value of the pipeline (2020, 2020-01, 2020-01-26, 2020-02-01T14:00)") from None
    return day, precision


def effective_date(c: Claim, published: dt.date | None) -> tuple[dt.date | None, str | None, str | None]:
    """A quantity's (effective_date, effective_precision, effective_source): the date its
    own sentence gives, else its document's publication date; all None for a date row or
    when neither is known."""
    if c.iso is not None:
        return None, None, None
    if c.date is not None:
        day, precision = typed_iso(c.date)
        return day, precision, "sentence"
    if published is not None:
        return published, "day", "published"
    return None, None, None


def claim_values(c: Claim, published: dt.date | None = None) -> tuple:
    """A claims-table row as a tuple, in the order of :data:`pipeline.schema.CLAIMS`'s columns.
    ``published`` is the document's publication date (for ``effective_date``).

    The workers keep rows as tuples: building one costs less than building a dict, and
    pyarrow converts tuples to a struct array about twice as fast. (``_value_`` is the
    enum member's plain attribute; ``.value`` goes through a Python-level descriptor.)"""
    p = c.place
    iso, date = c.iso, c.date
    # effective_date() written out: this runs for every claim, and most have neither date
    if iso is None:
        iso_day = iso_precision = None
        if date is not None:
            date_day, date_precision = eff_day, eff_precision = typed_iso(date)
            eff_source = "sentence"
        else:
            date_day = date_precision = None
            if published is not None:
                eff_day, eff_precision, eff_source = published, "day", "published"
            else:
                eff_day = eff_precision = eff_source = None
    else:
        iso_day, iso_precision = typed_iso(iso)
        date_day, date_precision = typed_iso(date)
        eff_day = eff_precision = eff_source = None
    return (
        c.doc_id, c.para_id, c.claim_id, c.start, c.end, c.quote, c.category._value_, c.item, c.value, c.value_hi,
        iso, iso_day, iso_precision, c.unit, c.unit_raw, c.bound._value_, c.per, p.locality, p.province, p.city,
        p.county, p.township, p.village, date, date_day, date_precision, eff_day, eff_precision, eff_source, c.rule,
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

# One claims.jsonl line: a claim in the record format of docs/CLAIMS.md (plus the place path and
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
    (doc_id, _, _, start, end, quote, category, item, value, value_hi, iso, _, _, unit, _,
     bound, per, locality, province, city, county, township, village, date, _, _, _, _, _, rule,
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
    df = arrow.to_pandas(date_as_object=False)  # typed date columns as datetimes, as load() gives them
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
        d.doc_id, printable(d.path), os_bytes(d.path), d.format, d.encoding, d.n_bytes, len(d.text), d.sha256, d.meta.published,
        ex.year_source, d.meta.title, d.meta.url, d.meta.locality, len(ex.paragraphs), len(ex.claims), d.error, __version__,
        # HTML and PDF offsets point into extracted text, which no file holds: keep it
        d.text if d.format != "txt" and d.error is None else None,
    )
    doc_id = d.doc_id
    paras = [(p.doc_id, p.para_id, p.article_id, p.kind._value_, p.start, p.end, p.text) for p in ex.paragraphs]
    published = typed_iso(d.meta.published)[0]
    claims = [claim_values(c, published) for c in ex.claims]
    rejections = [(doc_id, r.start, r.end, r.text, r.reason) for r in ex.rejections]
    facts = list(ex.facts)  # (a Fact is its row already: fact_values)
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


RUN_ID_KEY = b"bulletin.run_id"


def run_id(docs: Iterable[tuple[str, bytes, int]]) -> str:
    """The id every table of a run carries: a hash of the pipeline version and of each
    document's (doc_id, path bytes, size in bytes), in any order (a sum of the documents'
    hashes). A dataset's first files are written before most inputs are read, so the id
    is made of what listing the inputs tells (reading them all once more to hash their
    contents cost 2-3 % of a run); the generation folder, named by a hash of the files
    themselves, is what tells two runs over the same inputs apart."""
    total = 0
    for doc_id, path, n_bytes in docs:
        digest = hashlib.sha256(doc_id.encode("utf-8") + b"\0" + path + b"\0%d" % n_bytes).digest()
        total += int.from_bytes(digest[:16], "big")
    return hashlib.sha256(f"{__version__}\0{total % (1 << 128):032x}".encode()).hexdigest()[:16]


def tables_run_id(tables: Tables) -> str:
    d = tables.documents
    return run_id(zip(d["doc_id"], d["path_bytes"], d["n_bytes"]))


def arrow_metadata(run: str) -> dict[bytes, bytes]:
    """The Parquet schema metadata of a table of run ``run``."""
    return {RUN_ID_KEY: run.encode("ascii")}


def _arrow(df: pd.DataFrame, table: Table, run: str) -> pa.Table:
    return pa.Table.from_pandas(df, schema=table.arrow_schema(), preserve_index=False).replace_schema_metadata(arrow_metadata(run))


def _write_parquet(df: pd.DataFrame, table: Table, path: Path, run: str) -> None:
    pq.write_table(_arrow(df, table, run), path, compression="zstd", write_statistics=True)


def claims_jsonl(claims: pd.DataFrame) -> str:
    rows = claims.astype(object).where(claims.notna(), None).to_dict("records")
    return "".join(spec_line(r) for r in rows)


def write_table_files(tables: Tables, folder: Path, run: str | None = None) -> list[Path]:
    """Write the tables as single files (``TABLE_FILES``) into ``folder`` (a generation
    being staged: no other reader sees it until it is switched in)."""
    run = run or tables_run_id(tables)
    written = []
    for name, df, table in (
        ("documents.parquet", tables.documents, DOCUMENTS),
        ("paragraphs.parquet", tables.paragraphs, PARAGRAPHS),
        ("claims.parquet", tables.claims, CLAIMS),
        ("rejections.parquet", tables.rejections, REJECTIONS),
        ("facts.parquet", tables.facts, FACTS),
    ):
        _write_parquet(df, table, folder / name, run)
        written.append(folder / name)
    (folder / "claims.jsonl").write_text(claims_jsonl(tables.claims), encoding="utf-8")
    written.append(folder / "claims.jsonl")
    return written


def write_tables(tables: Tables, out: Path) -> list[Path]:
    """Write every table into the output folder ``out`` as one generation, switched in
    at once (:mod:`pipeline.outfolder`); returns the tables' paths in ``out``."""
    from .batch.outfolder import OutputFolder

    out = Path(out)
    run = tables_run_id(tables)
    with OutputFolder(out) as folder:
        staging = folder.new_staging()
        try:
            write_table_files(tables, staging, run)
            folder.commit(staging, "files", run)
        finally:
            folder.discard(staging)
    return [out / name for name in TABLE_FILES]


def read_tables(folder: Path) -> Tables:
    """The tables of an output folder, all of one run (:func:`pipeline.notebook.load`)."""
    from .notebook import load

    out = load(folder, categorical=False)
    return Tables(out.documents, out.paragraphs, out.claims, out.rejections, out.facts)
