"""The pipeline, composed in one place. A notebook calls these; the CLI is a thin shell over them.

Stage order, for one document::

    ingest.read_document     file bytes   -> Document (raw text, encoding, metadata)
    repair.repair            raw text     -> View (repaired text + raw offset map)
    segment.paragraphs       View         -> Paragraphs (kind, article)
    dates.find_dates         View         -> DateMentions
    claims.select_quantities View, dates  -> Quantities (+ rejected numbers, with reasons)
    claims.draft_claims      quantities   -> drafts (item, category, per, sentence date)
    locality.attribute       drafts       -> LocalityPaths
    facts.relate             drafts, places -> FactLinks per draft, Facts (same figure, parts, aspect…)
    claims.finish_claims     drafts       -> Claims (raw offsets)
    tables.build_tables      Claims       -> documents / paragraphs / claims DataFrames

Running many documents (process pool, Dask, batches, incremental runs, Parquet
datasets) is :mod:`pipeline.runner`'s job; it calls :func:`extract_document`.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from . import claims as claims_stage
from . import dates as dates_stage
from . import facts as facts_stage
from . import locality as locality_stage
from .ingest import iter_inputs, read_document
from .lexicon import Lexicon, load_lexicon
from .manifest import Manifest, load_manifest
from .model import Claim, Document, DocumentMeta, Fact, Paragraph, Rejection
from .repair import repair
from .segment import paragraphs as split_paragraphs


@dataclass(frozen=True)
class Extraction:
    """Everything the pipeline learned from one document."""

    document: Document
    paragraphs: list[Paragraph] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)


def _date_context(meta: DocumentMeta) -> dates_stage.DateContext:
    published = dt.date.fromisoformat(meta.published) if meta.published else None
    return dates_stage.DateContext(published=published, default_year=meta.default_year)


class _Clock:
    """Adds the time since the previous tick to ``timings[stage]``; free when timings is None."""

    __slots__ = ("timings", "last")

    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.last = time.perf_counter() if timings is not None else 0.0

    def __call__(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
            self.last = now


def extract_document(doc: Document, lex: Lexicon | None = None, timings: dict[str, float] | None = None) -> Extraction:
    """Run every stage after ingest on one decoded document.

    ``timings``, when given, accumulates the seconds spent in each stage (for the benchmark).
    """
    if doc.error is not None:
        return Extraction(doc)
    lex = lex or load_lexicon()
    tick = _Clock(timings)
    view = repair(doc.text)
    tick("repair")
    paras = split_paragraphs(doc.doc_id, view)
    tick("segment")
    dates = dates_stage.find_dates(view.text, _date_context(doc.meta))
    tick("dates")
    quantities, rejected = claims_stage.select_quantities(view, doc.text, paras, dates, lex)
    tick("select_quantities")
    drafts = claims_stage.draft_claims(view, paras, quantities, dates, lex)
    tick("draft_claims")
    places = locality_stage.attribute(view.text, paras, [(d.start, d.end) for d in drafts], doc.meta.locality)
    tick("locality")
    links, facts = facts_stage.relate(doc.doc_id, view, paras, drafts, places, lex)
    tick("facts")
    found = claims_stage.finish_claims(doc.doc_id, doc.text, view, paras, drafts, places, links)
    rejections = [_rejection(doc.text, *view.raw_span(r.start, r.end), r.reason) for r in rejected]
    tick("finish_claims")
    return Extraction(doc, paras, found, rejections, facts)


def _rejection(raw: str, start: int, end: int, reason: str) -> Rejection:
    return Rejection(start, end, raw[start:end], reason)


def extract(text: str, doc_id: str = "doc", published: str | None = None, year: int | None = None) -> list[Claim]:
    """Claims of one text given as a string (for notebooks and tests)."""
    doc = Document(doc_id=doc_id, path=doc_id, text=text, meta=DocumentMeta(published=published, default_year=year))
    return extract_document(doc).claims


def read_documents(
    inputs: Sequence[Path], manifest: Manifest | None = None, year: int | None = None, max_bytes: int = 50 * 1024 * 1024
) -> Iterable[Document]:
    """Decode every input file (folders recursively), attaching manifest metadata."""
    for path in iter_inputs([Path(p) for p in inputs]):
        yield read_document(path, document_meta(path, manifest, year), max_bytes=max_bytes)


def document_meta(path: Path, manifest: Manifest | None = None, year: int | None = None) -> DocumentMeta:
    """What the manifest (and ``--year``) say about one input file."""
    meta = manifest.meta_for(path) if manifest else DocumentMeta()
    if year is not None and meta.default_year is None:
        meta = DocumentMeta(meta.published, meta.title, meta.url, meta.locality, year)
    return meta


def run(
    inputs: Sequence[Path | str],
    manifest: Path | str | None = None,
    year: int | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> list[Extraction]:
    """Extract every input; failed documents come back with ``document.error`` set."""
    return list(iter_extractions(inputs, manifest, year, max_bytes))


def iter_extractions(
    inputs: Sequence[Path | str],
    manifest: Path | str | None = None,
    year: int | None = None,
    max_bytes: int = 50 * 1024 * 1024,
) -> Iterator[Extraction]:
    """Like :func:`run`, one extraction at a time (memory stays flat over any number of inputs).

    For many documents, several cores or a Dask cluster, see :mod:`pipeline.runner`.
    """
    man = load_manifest(Path(manifest)) if manifest else None
    lex = load_lexicon()
    for doc in read_documents([Path(p) for p in inputs], man, year, max_bytes):
        yield extract_document(doc, lex)
