"""Tables: extractions → DataFrames that conform to :mod:`pipeline.schema`, and their files.

Writes are deterministic (rows sorted by primary key, no timestamps or pandas
metadata in the Parquet files) and atomic (each file is written beside its
target under a temporary name, then renamed over it, only after every table
has been written).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .model import Claim
from .schema import CLAIMS, DOCUMENTS, PARAGRAPHS, REJECTIONS, Table, validate

# pandas is imported inside the functions that make or read DataFrames: importing it
# costs about half a second, which ``import pipeline`` and the commands that make
# no DataFrame (eval, diff, schemas) need not pay.
if TYPE_CHECKING:
    import pandas as pd

TABLE_FILES = ("documents.parquet", "paragraphs.parquet", "claims.parquet", "rejections.parquet", "claims.jsonl")


@dataclass
class Tables:
    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    claims: pd.DataFrame
    rejections: pd.DataFrame


def claim_row(c: Claim) -> dict:
    p = c.place
    return {
        "doc_id": c.doc_id, "para_id": c.para_id, "claim_id": c.claim_id, "start": c.start, "end": c.end,
        "quote": c.quote, "category": c.category.value, "item": c.item, "value": c.value, "value_hi": c.value_hi,
        "iso": c.iso, "unit": c.unit, "unit_raw": c.unit_raw, "bound": c.bound.value, "per": c.per,
        "locality": p.locality, "province": p.province, "city": p.city, "county": p.county,
        "township": p.township, "village": p.village, "date": c.date, "rule": c.rule,
    }


def spec_record(row: dict) -> dict:
    """A claims-table row in spec/CLAIMS.md's record format (plus the place path and rule)."""
    is_date = row["category"] == "date"
    value = row["iso"] if is_date else _num(row["value"])
    return {
        "doc": row["doc_id"], "start": row["start"], "end": row["end"], "quote": row["quote"],
        "category": row["category"], "item": row["item"], "value": value, "value_hi": _num(row["value_hi"]),
        "unit": row["unit"], "bound": row["bound"], "per": row["per"], "locality": row["locality"],
        "county": row["county"], "date": row["date"], "optional": False,
        "province": row["province"], "city": row["city"], "township": row["township"], "village": row["village"],
        "rule": row["rule"],
    }


# json.dumps(record, ensure_ascii=False) makes a new encoder for every call; one does for all
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def spec_line(row: dict) -> str:
    """A claims-table row as one line of claims.jsonl (:func:`spec_record`, as JSON)."""
    return _encode_json(spec_record(row)) + "\n"


def _num(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    return int(v) if float(v).is_integer() else v


def _frame(rows: list[dict], table: Table) -> pd.DataFrame:
    import pandas as pd

    arrow = pa.Table.from_pylist(rows, schema=table.arrow_schema())
    df = arrow.to_pandas()
    if not rows:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in table.names})
    df = df.sort_values(list(table.primary_key), kind="stable").reset_index(drop=True)
    validate(df, table)
    return df


def extraction_rows(ex) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """The rows one extraction adds to the documents, paragraphs, claims and rejections tables."""
    d = ex.document
    doc = {
        "doc_id": d.doc_id, "path": d.path, "format": d.format, "encoding": d.encoding, "n_bytes": d.n_bytes,
        "n_chars": len(d.text), "sha256": d.sha256, "published": d.meta.published, "title": d.meta.title,
        "url": d.meta.url, "locality_hint": d.meta.locality, "n_paragraphs": len(ex.paragraphs),
        "n_claims": len(ex.claims), "error": d.error, "pipeline_version": __version__,
        # HTML and PDF offsets point into extracted text, which no file holds: keep it
        "text": d.text if d.format != "txt" and d.error is None else None,
    }
    paras = [{"doc_id": p.doc_id, "para_id": p.para_id, "article_id": p.article_id, "kind": p.kind.value,
              "start": p.start, "end": p.end, "text": p.text} for p in ex.paragraphs]
    claims = [claim_row(c) for c in ex.claims]
    rejections = [{"doc_id": d.doc_id, "start": r.start, "end": r.end, "quote": r.text, "reason": r.reason} for r in ex.rejections]
    return [doc], paras, claims, rejections


def tables_from_rows(docs: list[dict], paras: list[dict], claims: list[dict], rejections: list[dict]) -> Tables:
    """Sorted, validated DataFrames from rows (as :func:`extraction_rows` makes them)."""
    return Tables(_frame(docs, DOCUMENTS), _frame(paras, PARAGRAPHS), _frame(claims, CLAIMS), _frame(rejections, REJECTIONS))


def build_tables(extractions: Iterable) -> Tables:
    docs, paras, claims, rejections = [], [], [], []
    for ex in extractions:
        d, p, c, r = extraction_rows(ex)
        docs += d
        paras += p
        claims += c
        rejections += r
    return tables_from_rows(docs, paras, claims, rejections)


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
    import pandas as pd

    folder = Path(folder)
    return Tables(*(pd.read_parquet(folder / f"{n}.parquet") for n in ("documents", "paragraphs", "claims", "rejections")))
