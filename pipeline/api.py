"""The pipeline, composed in one place. A notebook calls these; the CLI is a thin shell over them.

Stage order, for one document::

    ingest.read_document     file bytes   -> Document (raw text, encoding, metadata)
    repair.repair            raw text     -> View (repaired text + raw offset map)
    segment.paragraphs       View         -> Paragraphs (kind, article)
    dates.find_dates         View         -> DateMentions
    claims.select_quantities View, dates  -> Quantities (+ rejected numbers, with reasons)
    claims.draft_claims      quantities   -> drafts (item, category, per, sentence date)
    locality.attribute       drafts       -> LocalityPaths
    claims.finish_claims     drafts       -> Claims (raw offsets)
    tables.build_tables      Claims       -> documents / paragraphs / claims DataFrames
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from . import claims as claims_stage
from . import dates as dates_stage
from . import locality as locality_stage
from .ingest import iter_inputs, read_document
from .lexicon import Lexicon, load_lexicon
from .manifest import Manifest, load_manifest
from .model import Claim, Document, DocumentMeta, Paragraph, Rejection
from .repair import repair
from .segment import paragraphs as split_paragraphs


@dataclass(frozen=True)
class Extraction:
    """Everything the pipeline learned from one document."""

    document: Document
    paragraphs: list[Paragraph] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _date_context(meta: DocumentMeta) -> dates_stage.DateContext:
    published = dt.date.fromisoformat(meta.published) if meta.published else None
    return dates_stage.DateContext(published=published, default_year=meta.default_year)


def extract_document(doc: Document, lex: Lexicon | None = None) -> Extraction:
    """Run every stage after ingest on one decoded document."""
    if doc.error is not None:
        return Extraction(doc)
    lex = lex or load_lexicon()
    view = repair(doc.text)
    paras = split_paragraphs(doc.doc_id, view)
    dates = dates_stage.find_dates(view.text, _date_context(doc.meta))
    quantities, rejected = claims_stage.select_quantities(view, doc.text, paras, dates, lex)
    drafts = claims_stage.draft_claims(view, paras, quantities, dates, lex)
    places = locality_stage.attribute(view.text, paras, [(d.start, d.end) for d in drafts], doc.meta.locality)
    found = claims_stage.finish_claims(doc.doc_id, doc.text, view, paras, drafts, places)
    rejections = [Rejection(*view.raw_span(r.start, r.end), doc.text[slice(*view.raw_span(r.start, r.end))], r.reason) for r in rejected]
    return Extraction(doc, paras, found, rejections)


def extract(text: str, doc_id: str = "doc", published: str | None = None, year: int | None = None) -> list[Claim]:
    """Claims of one text given as a string (for notebooks and tests)."""
    doc = Document(doc_id=doc_id, path=doc_id, text=text, meta=DocumentMeta(published=published, default_year=year))
    return extract_document(doc).claims


def read_documents(
    inputs: Sequence[Path], manifest: Manifest | None = None, year: int | None = None, max_bytes: int = 50 * 1024 * 1024
) -> Iterable[Document]:
    """Decode every input file (folders recursively), attaching manifest metadata."""
    for path in iter_inputs([Path(p) for p in inputs]):
        meta = manifest.meta_for(path) if manifest else DocumentMeta()
        if year is not None and meta.default_year is None:
            meta = DocumentMeta(meta.published, meta.title, meta.url, meta.locality, year)
        yield read_document(path, meta, max_bytes=max_bytes)


def run(
    inputs: Sequence[Path | str],
    manifest: Path | str | None = None,
    year: int | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> list[Extraction]:
    """Extract every input; failed documents come back with ``document.error`` set."""
    man = load_manifest(Path(manifest)) if manifest else None
    lex = load_lexicon()
    return [extract_document(doc, lex) for doc in read_documents([Path(p) for p in inputs], man, year, max_bytes)]
