"""The pipeline, composed in one place. A notebook calls these; the CLI is a thin shell over them.

Stage order, for one document::

    ingest.read_document     file bytes   -> Document (raw text, encoding, metadata)
    repair.repair            raw text     -> View (repaired text + raw offset map)
    segment.paragraphs       View         -> Paragraphs (kind, article); a page's own date
                                             line gives ``meta.published`` when nothing else does
    dates.find_dates_and_year View        -> DateMentions (+ where the year of those without one came from)
    claims.select_quantities View, dates  -> Quantities (+ rejected numbers, with reasons)
    claims.draft_claims      quantities   -> drafts (item, category, per, sentence date)
    places.find              View         -> PlaceMentions (each resolved to one unit)
    locality.attribute       drafts, PlaceMentions -> LocalityPaths (a table's total row: its rows' common unit)
    facts.relate             drafts, places -> FactLinks per draft, Facts (same figure, parts, aspect…)
    claims.finish_claims     drafts       -> Claims (raw offsets)
    tables.build_tables      Claims       -> documents / paragraphs / claims DataFrames

Running many documents (process pool, Dask, batches, incremental runs, Parquet
datasets) is :mod:`pipeline.runner`'s job; it calls :func:`extract_document`.
"""
from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from contextlib import contextmanager
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from . import claims as claims_stage
from . import dates as dates_stage
from . import facts as facts_stage
from . import locality as locality_stage
from . import places as places_stage
from .ingest import InputFile, doc_ids, list_inputs, read_document, unread_document
from .lexicon import Lexicon, load_lexicon
from .manifest import Manifest, load_manifest
from .model import Claim, Document, DocumentMeta, Fact, Paragraph, Rejection
from .repair import repair
from .segment import page_published
from .segment import paragraphs as split_paragraphs


@dataclass(frozen=True)
class Extraction:
    """Everything the pipeline learned from one document."""

    document: Document
    paragraphs: list[Paragraph] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # Where the year of the dates that give none came from (documents.year_source):
    # manifest, page, text, option or default; None when no date needed one.
    year_source: str | None = None
    facts: list[Fact] = field(default_factory=list)


def _date_context(meta: DocumentMeta) -> dates_stage.DateContext:
    published = dt.date.fromisoformat(meta.published) if meta.published else None
    return dates_stage.DateContext(published=published, default_year=meta.default_year)


def year_source(used: str | None, meta: DocumentMeta) -> str | None:
    """documents.year_source from the dates stage's answer: a publication date is named by
    where it came from (the manifest, or the page itself when the page gives it)."""
    if used != "published":
        return used
    return meta.published_source or "manifest"


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
    with cycle_collector_paused():
        return _extract(doc, lex or load_lexicon(), _Clock(timings))


_paused = threading.Lock()
_pausing = [0, False]  # documents being extracted (threads may run several), was the collector on


@contextmanager
def cycle_collector_paused():
    """No cyclic garbage collection while a document is extracted (it resumes between documents;
    a batch run pauses it over each chunk of documents: :func:`pipeline.batch.runner.process_chunk`).
    Re-entrant and shared by threads: the collector is back on when the last one leaves.

    A stage builds big lists (a flag per character, positions, spans) and thousands of small
    objects; CPython's collector, run every 700 allocations, walks every young list item
    by item and now and then the whole heap, which cost some 10 % of the time on bulletins
    and grew with a document's length (time per character 1.56 times as much at 5 MB as at
    10 kB, 1.18 times without it). The stages' objects are freed by reference counting as
    soon as they are dropped, and a document leaves no cycles behind (the facts stage unties
    its mentions from their facts); anything else is collected once the collector is back on."""
    with _paused:
        if _pausing[0] == 0:
            _pausing[1] = gc.isenabled()
            gc.disable()
        _pausing[0] += 1
    try:
        yield
    finally:
        with _paused:
            _pausing[0] -= 1
            if _pausing[0] == 0 and _pausing[1]:
                gc.enable()


def _extract(doc: Document, lex: Lexicon, tick: _Clock) -> Extraction:
    view = repair(doc.text)
    tick("repair")
    paras = split_paragraphs(doc.doc_id, view, doc.text)
    if doc.meta.published is None:
        published = page_published(paras)  # a web page's `发布时间：…` line
        if published is not None:
            doc = replace(doc, meta=replace(doc.meta, published=published, published_source="page"))
    tick("segment")
    dates, year_from = dates_stage.find_dates_and_year(view.text, _date_context(doc.meta))
    tick("dates")
    quantities, rejected = claims_stage.select_quantities(view, doc.text, paras, dates, lex)
    tick("select_quantities")
    drafts = claims_stage.draft_claims(view, paras, quantities, dates, lex)
    tick("draft_claims")
    spans = [(d.start, d.end) for d in drafts]
    mentions = places_stage.find(view.text, doc.meta.locality) if spans else []
    tick("places")
    localities = locality_stage.attribute(view.text, paras, spans, doc.meta.locality, mentions)
    tick("locality")
    if "|" in view.text:  # the facts stage compares places, so a total row gets its own first
        localities = claims_stage.table_total_places(paras, drafts, localities)
    tick("locality")
    links, facts = facts_stage.relate(doc.doc_id, view, paras, drafts, localities, lex)
    tick("facts")
    found = claims_stage.finish_claims(doc.doc_id, doc.text, view, paras, drafts, localities, links)
    rejections = [_rejection(doc.text, *view.raw_span(r.start, r.end), r.reason) for r in rejected]
    tick("finish_claims")
    return Extraction(doc, paras, found, rejections, year_source(year_from, doc.meta), facts)


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
    for file, doc_id, meta in input_files(inputs, manifest, year):
        if file.error is not None:
            yield unread_document(file.path, doc_id, meta, file.error)
        else:
            yield read_document(Path(file.path), meta, max_bytes=max_bytes, doc_id=doc_id)


def input_files(
    inputs: Sequence[Path | str], manifest: Manifest | None = None, year: int | None = None,
    follow_symlinks: bool = False, exclude: Sequence[Path | str] = (),
) -> list[tuple[InputFile, str, DocumentMeta]]:
    """Every input of a run with its unique doc_id and its metadata, in input order
    (:func:`pipeline.ingest.list_inputs`, :func:`pipeline.ingest.doc_ids`,
    :meth:`pipeline.manifest.Manifest.metas_for`)."""
    files = list_inputs(inputs, follow_symlinks, exclude)
    ids = doc_ids(files)
    metas = manifest.metas_for([f.path for f in files]) if manifest else [DocumentMeta()] * len(files)
    if year is not None:
        metas = [m if m.default_year is not None else replace(m, default_year=year) for m in metas]
    return list(zip(files, ids, metas))


def document_meta(path: Path, manifest: Manifest | None = None, year: int | None = None) -> DocumentMeta:
    """What the manifest (and ``--year``) say about one input file."""
    meta = manifest.meta_for(path) if manifest else DocumentMeta()
    if year is not None and meta.default_year is None:
        meta = replace(meta, default_year=year)
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
    paths: list[str] = []
    for doc in read_documents([Path(p) for p in inputs], man, year, max_bytes):
        paths.append(doc.path)
        try:
            ex = extract_document(doc, lex)
        except Exception as exc:  # one document's failure is its error, not the batch's (as in pipeline.runner)
            from .batch.budget import budget_error

            ex = Extraction(replace(doc, error=budget_error(exc, None)))
        yield ex
    if man is not None:
        from .batch.runner import unmatched_manifest_rows

        for line in unmatched_manifest_rows(manifest, man, paths):
            warnings.warn(line, ManifestWarning, stacklevel=2)


class ManifestWarning(UserWarning):
    """A manifest row matches none of the inputs (the warning names the row)."""
