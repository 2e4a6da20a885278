"""Running the pipeline over many documents: engines, batches, incremental runs, output layouts.

Every engine runs the same stage code, :func:`pipeline.api.extract_document`,
through :func:`process_chunk`; they differ only in where that function runs:

* ``serial``: in this process (``workers=1``, or a single document);
* process pool (``engine="local"``, ``workers>1``): a ``multiprocessing`` pool on this
  machine, forked after the lexicon is loaded;
* ``engine="dask"``: a Dask cluster, ``scheduler="tcp://host:port"`` or a
  ``distributed.LocalCluster`` when no scheduler is given. The client reads the
  files and ships their bytes, so workers need the package installed (same
  version) but not the input files.

Failures stay with their document: whatever goes wrong while one document is read or
extracted (an exception of any type, its time or memory budget, see
:mod:`pipeline.budget`) becomes that document's error row, and a pool worker that
dies is noticed (:class:`PoolEngine`); the batch goes on either way.

Flow: input files (in input order) -> output *batches* (at most ``batch_size``
documents and ``batch_bytes`` input bytes) -> *chunks* (the unit of work sent to
a worker; several per batch so that a small run still uses every worker) ->
Arrow tables per chunk -> one write per batch. Results are consumed in input
order with a bounded number of chunks in flight, so the tables do not depend
on the engine or the number of workers, and memory does not grow with the
number of documents. When a dataset has enough batches to keep every worker
busy, a local worker takes a whole batch as its chunk and writes the batch's
Parquet files itself (:func:`write_batch`), so that the parent does not sort
and write on a core the workers need; the files are the same either way.

Output layouts (``dataset``):

* files (small runs): ``documents.parquet``, ``paragraphs.parquet``,
  ``claims.parquet``, ``rejections.parquet`` and ``claims.jsonl``, byte-identical
  to :func:`pipeline.tables.write_tables` (all rows are held in memory);
* dataset (large runs): one Parquet file per batch under ``documents/``,
  ``paragraphs/``, ``claims/`` and ``rejections/``, hive-partitioned by the year
  of publication (``year=2020/part-00003.parquet``; ``year=0`` when the manifest
  gives no date), plus ``claims.jsonl`` (documents in input order, each
  document's claims in offset order). Each folder reads as one table with pandas
  (``pd.read_parquet(out/"claims")``), pyarrow (``pyarrow.dataset.dataset(out/"claims",
  partitioning="hive")``) and DuckDB (``read_parquet('out/claims/*/*.parquet',
  hive_partitioning=true)``); ``year`` then appears as an extra column.
  ``dataset=None`` (the default) picks the dataset layout past
  :data:`AUTO_DATASET_DOCS` documents or :data:`AUTO_DATASET_BYTES` input bytes.

Writes go through :class:`pipeline.outfolder.OutputFolder`: either layout is
written into a staging folder under ``OUT/.bulletin``, which becomes a new
generation and is switched in whole with one rename; ``OUT/claims.parquet``
(``OUT/claims/`` …) are links into the current generation. A run that fails, is
killed, or reads no document at all leaves the previous run current and whole.
The run holds a lock on ``OUT`` throughout; an ``OUT`` that is or contains an
input, or that holds files of the tables' names the tool did not write, is an
error before anything is read. Every table file carries the run id
(:func:`pipeline.tables.run_id`).

Planning (:func:`plan_tasks`) gives every input its ``doc_id`` (unique in the
run, see :func:`pipeline.ingest.doc_ids`) and its manifest row before anything
is extracted: the Dask engine reads shipped bytes from a temporary file whose
name says nothing of the input.

Incremental runs (``incremental=True``) keep ``state.json`` in the generation:
per input path, the doc_id and a key made of the file's SHA-256, its manifest
metadata and the size limit, plus the pipeline version and a fingerprint of the
pipeline's code and data files. A document whose key and doc_id are unchanged
is not extracted again: its rows are copied from the previous tables. A changed
document replaces only its own rows. The tables equal those of a full run over
the same inputs (documents no longer among the inputs drop out). A run without
``--incremental`` writes no state, so the next incremental run starts afresh.
"""
from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import operator
import os
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

from .. import __version__
from .budget import DEFAULT_DOC_MEMORY, DEFAULT_DOC_TIMEOUT, Budget, TimeBudgetExceeded, budget_error
from ..ingest import os_bytes, printable
from ..model import Document, DocumentMeta, InputError

AUTO_DATASET_DOCS = 1000
AUTO_DATASET_BYTES = 64 * 1024 * 1024
DEFAULT_BATCH_DOCS = 500
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
MAX_CHUNK_BYTES = 1024 * 1024
MIN_CHUNK_BYTES = 32 * 1024
STATE_FILE = "state.json"  # in the generation folder
STATE_VERSION = 2
TABLE_NAMES = ("documents", "paragraphs", "claims", "rejections", "facts")
SINGLE_FILES = ("documents.parquet", "paragraphs.parquet", "claims.parquet", "rejections.parquet", "facts.parquet", "claims.jsonl")
ENGINES = ("local", "dask")

log = logging.getLogger(__name__)


def default_workers() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------
# Units of work
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DocTask:
    """One input file to extract. ``doc`` is set when the client already read it (Dask)."""

    index: int  # position among the inputs
    path: str
    meta: DocumentMeta
    max_bytes: int
    n_bytes: int  # size on disk when the run started (batching, progress)
    data: bytes | None = None
    doc: Document | None = None
    doc_id: str | None = None  # unique in the run (ingest.doc_ids); None: the file's stem
    error: str | None = None  # why it is not read at all (ingest.InputFile.error)


@dataclass(frozen=True)
class Chunk:
    batch: int
    tasks: tuple[DocTask, ...]
    timings: bool = False
    jsonl: bool = False  # also return the claims as spec-format JSON lines (dataset layout)
    # A dataset's staging folder: the worker writes the chunk's tables there itself, as
    # batch ``batch`` (the chunk is then the whole batch), and returns no rows.
    write_to: str | None = None
    run: str = ""  # the run id the files written there carry
    # Budgets per document (pipeline.budget): seconds, and megabytes of memory; None: none.
    doc_timeout: float | None = None
    doc_memory: int | None = None


@dataclass
class DocSummary:
    index: int
    path: str
    doc_id: str
    n_bytes: int
    n_chars: int
    n_claims: int
    error: str | None
    year_source: str | None = None  # documents.year_source


@dataclass
class ChunkResult:
    batch: int
    first: int  # index of the first document
    tables: dict  # table name -> pyarrow.Table, rows in input order
    docs: list[DocSummary]
    timings: dict[str, float] = field(default_factory=dict)
    # The claims in spec format (documents in input order, claims by offset), UTF-8 encoded
    # by the worker: bytes cross the pipe as they are and go to the file without re-encoding.
    jsonl: bytes = b""
    files: dict[str, int] = field(default_factory=dict)  # table name -> Parquet files written (``write_to``)


def _read(task: DocTask) -> Document:
    from ..ingest import read_document, unread_document

    if task.doc is not None:
        return task.doc
    if task.error is not None:
        return unread_document(task.path, task.doc_id or Path(task.path).stem, task.meta, task.error)
    if task.data is None:
        return read_document(Path(task.path), task.meta, max_bytes=task.max_bytes, doc_id=task.doc_id)
    # Shipped bytes: read them from a file of the same name so that the format,
    # decoding and errors are exactly those of the original file.
    with tempfile.TemporaryDirectory(prefix="bulletin-") as tmp:
        p = Path(tmp) / Path(task.path).name
        p.write_bytes(task.data)
        doc = read_document(p, task.meta, max_bytes=task.max_bytes, doc_id=task.doc_id)
    return replace(doc, path=task.path)


def process_chunk(chunk: Chunk) -> ChunkResult:
    """Extract the documents of one chunk (runs on a worker); rows come back as Arrow tables.

    Whatever goes wrong with one document (an exception of any type, its time or memory
    budget) becomes that document's error row; the others are extracted as usual."""
    from .. import api
    from ..lexicon import load_lexicon
    from ..tables import extraction_values

    cycle_collector_paused = api.cycle_collector_paused
    lex = load_lexicon()
    rows: dict[str, list[tuple]] = {n: [] for n in TABLE_NAMES}
    timings: dict[str, float] | None = {} if chunk.timings else None
    docs: list[DocSummary] = []
    counts: list[tuple[int, ...]] = []  # each document's number of rows per table
    lines: list[str] = []
    # No cyclic garbage collection over the whole chunk (api.cycle_collector_paused): its
    # documents leave no cycles, and a collection after each one walked the rows the chunk
    # had kept so far, some 2 % of a worker's time. A document that fails is collected after
    # (_extract_one): an error's traceback can hold its stages' objects in a cycle.
    with cycle_collector_paused():
        with Budget(chunk.doc_timeout, chunk.doc_memory) as budget:
            for task in chunk.tasks:
                summary, parts = _extract_one(task, lex, timings, budget, api.extract_document, extraction_values)
                for name, part in zip(TABLE_NAMES, parts):
                    rows[name] += part
                if chunk.jsonl:
                    lines.append(_jsonl(parts[2]))
                docs.append(summary)
                counts.append(tuple(map(len, parts)))
        t2 = time.perf_counter()
        try:
            tables = {name: _arrow_rows(rows[name], name) for name in TABLE_NAMES}
            jsonl = "".join(lines).encode("utf-8")
        except (UnicodeError, ValueError):  # (pyarrow's errors are ValueErrors too)
            # a row that cannot be stored (a lone surrogate from a PDF's character map):
            # find its document and give it an error row instead
            docs, tables, jsonl = _storable_rows(chunk, docs, rows, counts)
        # (freed by reference counting while the collector is off: back on, it would walk
        # every row once more before freeing them itself)
        rows = lines = None
    if timings is not None:
        timings["table_rows"] = timings.get("table_rows", 0.0) + time.perf_counter() - t2
    files: dict[str, int] = {}
    if chunk.write_to is not None:
        t3 = time.perf_counter()
        files, _ = write_batch(Path(chunk.write_to), chunk.batch, [tables], chunk.run)
        tables = {}
        if timings is not None:
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t3
    return ChunkResult(chunk.batch, chunk.tasks[0].index, tables, docs, timings or {}, jsonl, files)


def _extract_one(task: DocTask, lex, timings: dict[str, float] | None, budget: Budget, extract, values) -> tuple[DocSummary, tuple]:
    """One document's summary and table rows (``extract``: api.extract_document; ``values``:
    tables.extraction_values); a failure of its own becomes its error row. (Called with the
    cycle collector paused: process_chunk.)"""
    doc = None
    try:
        budget.arm()
        try:
            t0 = time.perf_counter()
            doc = _read(task)
            if timings is not None:
                timings["ingest"] = timings.get("ingest", 0.0) + time.perf_counter() - t0
            ex = extract(doc, lex, timings)
            t1 = time.perf_counter()
            parts = values(ex)
            if timings is not None:
                timings["table_rows"] = timings.get("table_rows", 0.0) + time.perf_counter() - t1
        finally:
            budget.disarm()
    except (Exception, TimeBudgetExceeded) as exc:  # (MemoryError is an Exception)
        budget.disarm()  # (the budget may have struck before the finally above disarmed it)
        error = budget_error(exc, budget.memory_mb)
    else:
        return DocSummary(task.index, task.path, doc.doc_id, doc.n_bytes, len(doc.text), len(ex.claims), doc.error, ex.year_source), parts
    # (out of the except clause, the error and its traceback are gone: the collector is paused
    # over the chunk, so what the failure left in a cycle is collected now)
    gc.collect(0)
    return _failed(task, doc, error)


def _failed(task: DocTask, doc: Document | None, error: str) -> tuple[DocSummary, tuple]:
    """The error row of a document whose reading or extraction failed with ``error``."""
    from .. import api
    from ..tables import extraction_values

    if doc is None:  # it failed while being read (or its worker died): name it as planned
        from ..ingest import unread_document

        doc = replace(unread_document(task.path, task.doc_id or Path(task.path).stem, task.meta, error), n_bytes=task.n_bytes)
    doc = replace(doc, error=error)
    summary = DocSummary(task.index, task.path, doc.doc_id, doc.n_bytes, len(doc.text), 0, error)
    return summary, extraction_values(api.Extraction(doc))


def _storable_rows(chunk: Chunk, docs: list[DocSummary], rows: dict[str, list[tuple]], counts: list[tuple[int, ...]]):
    """(docs, tables, JSON lines) of the chunk with the rows of every document that cannot
    be stored replaced by its error row. ``counts``: each document's number of rows per
    table (its rows follow those of the documents before it)."""
    kept: dict[str, list[tuple]] = {n: [] for n in TABLE_NAMES}
    lines: list[str] = []
    out_docs: list[DocSummary] = []
    at = [0] * len(TABLE_NAMES)
    for task, summary, n_rows in zip(chunk.tasks, docs, counts):
        parts = tuple(rows[name][at[k]: at[k] + n_rows[k]] for k, name in enumerate(TABLE_NAMES))
        at = [a + n for a, n in zip(at, n_rows)]
        try:
            for name, part in zip(TABLE_NAMES, parts):
                _arrow_rows(part, name)
            line = _jsonl(parts[2]) if chunk.jsonl else ""
            line.encode("utf-8")
        except (UnicodeError, ValueError) as exc:
            doc = Document(doc_id=summary.doc_id, path=task.path, text="", encoding=None, meta=task.meta, n_bytes=summary.n_bytes)
            summary, parts = _failed(task, doc, f"rows cannot be stored: {type(exc).__name__}: {exc}".splitlines()[0][:300])
            line = ""
        for name, part in zip(TABLE_NAMES, parts):
            kept[name] += part
        lines.append(line)
        out_docs.append(summary)
    return out_docs, {name: _arrow_rows(kept[name], name) for name in TABLE_NAMES}, "".join(lines).encode("utf-8")


def _jsonl(claims: list[tuple]) -> str:
    """Spec-format JSON lines of one document's claim rows (as
    :func:`pipeline.tables.claim_values` makes them), in offset order."""
    from ..tables import spec_line_of

    return "".join(spec_line_of(c) for c in sorted(claims, key=_start_end))


_start_end = operator.itemgetter(3, 4)  # a claim row's start and end (pipeline.schema.CLAIMS)


def _arrow_rows(rows: list[tuple], name: str):
    import pyarrow as pa

    from ..schema import TABLES

    # One struct array converted from the row tuples in C++, then split into columns: the
    # same table as Table.from_pylist over dicts, in about half the instructions.
    fields = pa.struct(list(TABLES[name].arrow_schema()))
    return pa.Table.from_struct_array(pa.array(rows, type=fields))


# --------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------


class SerialEngine:
    name = "serial"
    workers = 1

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        for c in chunks:
            yield process_chunk(c)

    def close(self) -> None:
        pass


def _warm_up() -> None:
    """Run a worker's whole path once on a short text, so that what it loads lazily is loaded.

    That includes the table code: ``pa.array`` over Python rows imports pandas (pyarrow
    checks for pandas objects), which otherwise every forked worker would import again.
    """
    from .. import api
    from ..tables import extraction_values

    text = "武汉市江岸区1月28日新增确诊病例3例，一名患者出院，全区设置检查卡点十二个、投入资金5万元。"
    ex = api.extract_document(Document("warm-up", "warm-up.txt", text, meta=DocumentMeta(published="2020-01-29")))
    for name, rows in zip(TABLE_NAMES, extraction_values(ex)):
        _arrow_rows(rows, name)
    _jsonl(extraction_values(ex)[2])


def _in_order(chunks: Iterator[Chunk], submit, result, limit: int) -> Iterator[ChunkResult]:
    """Submit chunks, at most ``limit`` in flight (memory stays bounded), and yield their
    results in submission order (so that output does not depend on the engine).
    ``submit(chunk)`` returns a handle; ``result(chunk, handle, pending)`` its result,
    where ``pending`` holds the (chunk, handle) pairs still in flight behind it."""
    pending: deque = deque()
    for c in chunks:
        pending.append((c, submit(c)))
        if len(pending) >= limit:
            c0, h0 = pending.popleft()
            yield result(c0, h0, pending)
    while pending:
        c0, h0 = pending.popleft()
        yield result(c0, h0, pending)


def _merge(chunk: Chunk, parts: list[ChunkResult]) -> ChunkResult:
    """The results of a chunk's documents extracted one by one, as the chunk's own result
    (rows in input order; written into staging when the chunk was to be written there)."""
    import pyarrow as pa

    tables = {n: pa.concat_tables([r.tables[n] for r in parts]) for n in TABLE_NAMES}
    timings: dict[str, float] = {}
    for r in parts:
        for k, v in r.timings.items():
            timings[k] = timings.get(k, 0.0) + v
    files: dict[str, int] = {}
    if chunk.write_to is not None:
        staging = Path(chunk.write_to)
        for stale in staging.glob(f"*/year=*/{_part_name(chunk.batch)}"):
            stale.unlink()  # anything the dead worker wrote of this batch
        files, _ = write_batch(staging, chunk.batch, [tables], chunk.run)
        tables = {}
    docs = [d for r in parts for d in r.docs]
    return ChunkResult(chunk.batch, chunk.tasks[0].index, tables, docs, timings, b"".join(r.jsonl for r in parts), files)


def _singles(chunk: Chunk) -> list[Chunk]:
    return [replace(chunk, tasks=(t,), write_to=None) for t in chunk.tasks]


def _died(chunk: Chunk, reason: str) -> ChunkResult:
    """The error row of the one document of ``chunk``, whose worker died on it."""
    (task,) = chunk.tasks
    summary, parts = _failed(task, None, reason)
    tables = {name: _arrow_rows(part, name) for name, part in zip(TABLE_NAMES, parts)}
    return ChunkResult(chunk.batch, task.index, tables, [summary], {}, b"", {})


def _worker_init(parent_pid: int) -> None:
    from .budget import die_with_parent

    die_with_parent(parent_pid)


class PoolEngine:
    """A process pool on this machine (:class:`pipeline.batch.pool.Pool`, forked after the
    lexicon is loaded); results in submission order, a bounded number of chunks waiting.

    A worker that dies (the out-of-memory killer, a signal, a crash in C) loses only
    the chunk it was running: that chunk is redone one document at a time, and a
    document whose worker dies twice gets an error row ("worker died (signal 9,
    SIGKILL)") while the others get their rows. The results are those of one worker."""

    name = "local"

    def __init__(self, workers: int):
        from .pool import Pool

        _warm_up()  # lexicon, gazetteer, compiled patterns: loaded once here, shared by the forked workers
        self.workers = workers
        self.pool = Pool(process_chunk, workers, initializer=_worker_init, initargs=(os.getpid(),))

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        from .pool import Died

        limit = 3 * self.workers
        waiting: dict[int, Chunk] = {}  # chunks submitted and not yet yielded, by their place in the input
        done: dict[int, ChunkResult] = {}
        redone: dict[int, tuple[list[Chunk], list]] = {}  # a chunk redone one document at a time: its singles, their parts so far
        todo = iter(chunks)
        submitted = yielded = 0
        while True:
            while len(waiting) < limit and (chunk := next(todo, None)) is not None:  # (memory stays bounded)
                waiting[submitted] = chunk
                self.pool.submit((submitted, None, 1), chunk)
                submitted += 1
            if not waiting:
                return
            if yielded in done:
                del waiting[yielded]
                yield done.pop(yielded)
                yielded += 1
                continue
            (seq, part, attempt), value = self.pool.next()
            chunk = waiting[seq]
            if part is None and not isinstance(value, Died):
                done[seq] = value
            elif part is None:
                log.warning("a worker died (%s); extracting its %d document(s) again, one by one", value.reason, len(chunk.tasks))
                singles = _singles(chunk)
                redone[seq] = (singles, [None] * len(singles))
                for i, single in enumerate(singles):
                    self.pool.submit((seq, i, 1), single)
            else:
                singles, parts = redone[seq]
                if isinstance(value, Died) and attempt == 1:  # killed from outside, or by this document: once more
                    self.pool.submit((seq, part, 2), singles[part])
                    continue
                parts[part] = _died(singles[part], f"worker died ({value.reason})") if isinstance(value, Died) else value
                if all(p is not None for p in parts):
                    del redone[seq]
                    done[seq] = _merge(chunk, parts)

    def close(self) -> None:
        self.pool.close()


class DaskEngine:
    """Chunks as Dask tasks. The client reads the files and ships their bytes.

    Dask retries a task whose worker dies, and raises ``KilledWorker`` after its allowed
    failures (``distributed.scheduler.allowed-failures``); the chunk is then redone one
    document per task, and a document whose task is killed again gets an error row."""

    name = "dask"

    def __init__(self, scheduler: str | None, workers: int):
        from ..extras import require

        distributed = require("distributed", "dask", "--engine dask")
        Client, LocalCluster = distributed.Client, distributed.LocalCluster

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
            )
            self.client = Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})) or workers)

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        return _in_order(chunks, self._submit, self._result, 3 * self.workers)

    def _submit(self, chunk: Chunk):
        return self.client.submit(process_chunk, _ship(chunk), pure=False)

    def _result(self, chunk: Chunk, future, pending: deque) -> ChunkResult:
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            log.warning("Dask workers died on a chunk (%s); extracting its %d document(s) one by one", exc, len(chunk.tasks))
        singles = _singles(chunk)
        futures = [self._submit(c) for c in singles]
        parts = []
        for c, f in zip(singles, futures):
            try:
                parts.append(f.result())
            except KilledWorker:
                parts.append(_died(c, "worker died (Dask: KilledWorker)"))
        return _merge(chunk, parts)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _ship(chunk: Chunk) -> Chunk:
    """The chunk with each file's bytes attached; a file that cannot be read here is
    read (into its error row) here, so every engine reports the same error."""
    tasks = []
    for t in chunk.tasks:
        data = None if t.error is not None else _regular_file_bytes(Path(t.path), t.max_bytes)
        if data is None:
            tasks.append(replace(t, doc=_read(t)))
        else:
            tasks.append(replace(t, data=data))
    return replace(chunk, tasks=tuple(tasks))


def _regular_file_bytes(path: Path, max_bytes: int) -> bytes | None:
    import stat

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) <= max_bytes else None


def make_engine(engine: str, workers: int, scheduler: str | None, n_chunks: int):
    if engine == "dask":
        return DaskEngine(scheduler, workers)
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if workers <= 1 or n_chunks <= 1:
        return SerialEngine()
    return PoolEngine(min(workers, n_chunks))


# --------------------------------------------------------------------------
# Planning: tasks, batches, chunks
# --------------------------------------------------------------------------


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def plan_tasks(
    inputs: Sequence[Path | str], manifest: Path | str | None, year: int | None, max_bytes: int,
    follow_symlinks: bool = False, exclude: Sequence[Path | str] = (), warnings: list[str] | None = None,
) -> list[DocTask]:
    """One task per input file, in input order, with its doc_id and what the manifest says of it.
    ``warnings``, when given, receives one line per manifest row that matches no input.

    Only the tasks outlive this function: the input paths and the manifest's lookup
    tables (about 800 bytes a file together) are freed before the run starts, which
    matters in the parent of a run over hundreds of thousands of files."""
    from ..api import input_files
    from ..manifest import load_manifest

    man = load_manifest(Path(manifest)) if manifest else None
    tasks = [
        DocTask(i, f.path, meta, max_bytes, _size(f.path) if f.error is None else 0, doc_id=doc_id, error=f.error)
        for i, (f, doc_id, meta) in enumerate(input_files(inputs, man, year, follow_symlinks, exclude))
    ]
    if man is not None and warnings is not None:
        warnings += unmatched_manifest_rows(manifest, man, (t.path for t in tasks))
    return tasks


def unmatched_manifest_rows(path: Path | str, man, files) -> list[str]:
    """A warning line for each row of the manifest at ``path`` that none of ``files`` matches."""
    return [f"manifest {path}, {row}: matches no input file (its metadata is not used)" for row in man.unmatched(files)]


def plan_batches(tasks: Sequence[DocTask], batch_size: int, batch_bytes: int) -> list[list[DocTask]]:
    """Consecutive tasks, at most ``batch_size`` documents and (unless one file is larger) ``batch_bytes`` bytes each."""
    batches: list[list[DocTask]] = []
    cur: list[DocTask] = []
    size = 0
    for t in tasks:
        if cur and (len(cur) >= batch_size or size + t.n_bytes > batch_bytes):
            batches.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += t.n_bytes
    if cur:
        batches.append(cur)
    return batches


def plan_chunks(batch: Sequence[DocTask], todo: set[int], chunk_bytes: int) -> list[list[DocTask]]:
    """Runs of consecutive documents to extract, cut at ``chunk_bytes``; skipped documents cut runs."""
    chunks: list[list[DocTask]] = []
    run: list[DocTask] = []
    for t in [*batch, None]:
        if t is not None and t.index in todo:
            run.append(t)
        elif run:
            chunks += plan_batches(run, len(run), chunk_bytes)  # (no cap on the count, only on bytes)
            run = []
    return chunks


# --------------------------------------------------------------------------
# Incremental state
# --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the pipeline's version, source files and data files."""
    root = Path(__file__).parent
    h = hashlib.sha256(__version__.encode())
    for p in sorted(root.glob("*.py")) + sorted((root / "data").glob("*")):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:20]


def doc_key(task: DocTask) -> str | None:
    """What decides a document's rows besides the code; None when it cannot be read (always redone)."""
    data = _regular_file_bytes(Path(task.path), task.max_bytes)
    if not data:
        return None
    meta = json.dumps(dataclasses.asdict(task.meta), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data).hexdigest() + ":" + hashlib.sha256(f"{meta}|{task.max_bytes}".encode()).hexdigest()[:16]


class PreviousRun:
    """The tables and state of the previous incremental run into the same folder
    (``out``: its generation folder)."""

    def __init__(self, out: Path, state: dict):
        self.out = out
        self.layout = state["layout"]
        self.docs: dict[str, list] = state["docs"]  # path -> [doc_id, key, batch]
        self._files_rows: dict[str, dict] | None = None
        self._batch_cache: dict[int, dict[str, dict]] = {}

    @classmethod
    def load(cls, out: Path) -> PreviousRun | None:
        try:
            state = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if state.get("state_version") != STATE_VERSION or state.get("fingerprint") != code_fingerprint():
            return None
        layout = state.get("layout")
        if layout == "files" and not all((out / f).is_file() for f in SINGLE_FILES):
            return None
        if layout == "dataset" and not all((out / n).is_dir() for n in TABLE_NAMES):
            return None
        if layout not in ("files", "dataset"):
            return None
        return cls(out, state)

    def unchanged(self, task: DocTask, key: str | None) -> bool:
        entry = self.docs.get(task.path)
        return key is not None and entry is not None and entry[1] == key and entry[0] == task.doc_id

    def rows(self, task: DocTask) -> dict | None:
        """Table name -> Arrow table of the document's previous rows; None when they are missing."""
        doc_id, _, batch = self.docs[task.path]
        if self.layout == "files":
            if self._files_rows is None:
                self._files_rows = _group_by_doc({n: _read_parquet(self.out / f"{n}.parquet") for n in TABLE_NAMES})
            by_doc = self._files_rows
        else:
            if batch not in self._batch_cache:
                self._batch_cache.clear()  # batches are visited in order: keep one
                self._batch_cache[batch] = _group_by_doc({n: _read_batch(self.out / n, batch) for n in TABLE_NAMES})
            by_doc = self._batch_cache[batch]
        got = by_doc.get(doc_id)
        if got is None or got["documents"].num_rows != 1 or got["documents"]["path_bytes"][0].as_py() != os_bytes(task.path):
            return None
        return got


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()


def _read_batch(folder: Path, batch: int):
    import pyarrow as pa

    from ..schema import TABLES

    parts = [_read_parquet(p) for p in sorted(folder.glob(f"year=*/{_part_name(batch)}"))]
    schema = TABLES[folder.name].arrow_schema()
    return pa.concat_tables([t.cast(schema) for t in parts]) if parts else schema.empty_table()


def _group_by_doc(tables: dict) -> dict[str, dict]:
    """doc_id -> table name -> that document's rows (input order kept)."""
    import pyarrow as pa

    out: dict[str, dict] = {}
    doc_ids = tables["documents"]["doc_id"].to_pylist()
    for name, t in tables.items():
        positions: dict[str, list[int]] = {}
        for i, doc_id in enumerate(t["doc_id"].to_pylist()):
            positions.setdefault(doc_id, []).append(i)
        for doc_id in doc_ids:
            out.setdefault(doc_id, {})[name] = t.take(pa.array(positions.get(doc_id, []), pa.int64()))
    return out


def _write_state(folder: Path, layout: str, entries: dict[str, list]) -> None:
    state = {
        "state_version": STATE_VERSION,
        "pipeline_version": __version__,
        "fingerprint": code_fingerprint(),
        "layout": layout,
        "docs": entries,
    }
    # ensure_ascii: input paths may hold surrogate escapes (file names that are not UTF-8)
    (folder / STATE_FILE).write_text(json.dumps(state, ensure_ascii=True, indent=0, sort_keys=True), encoding="utf-8")


# --------------------------------------------------------------------------
# Output layouts
# --------------------------------------------------------------------------


def _part_name(batch: int) -> str:
    return f"part-{batch:05d}.parquet"


class FilesOutput:
    """All rows in memory, written as single files into the staging folder at the end
    (:func:`pipeline.tables.write_table_files`)."""

    layout = "files"

    def __init__(self, staging: Path):
        self.staging = staging
        self.rows: dict[str, list[dict]] = {n: [] for n in TABLE_NAMES}
        self.n_claims = 0
        self.run = ""
        self.digests: dict[str, bytes] = {}

    def add_batch(self, batch: int, pieces: list[tuple[dict, bytes | None]]) -> None:
        for tables, _ in pieces:
            for name in TABLE_NAMES:
                self.rows[name] += tables[name].to_pylist()

    def commit(self) -> None:
        from ..tables import tables_from_rows, tables_run_id, write_table_files

        tables = tables_from_rows(*(self.rows[n] for n in TABLE_NAMES))
        self.n_claims = len(tables.claims)
        self.run = tables_run_id(tables)
        write_table_files(tables, self.staging, self.run)

    def abort(self) -> None:
        pass


class DatasetOutput:
    """One Parquet file per batch (and year) per table, written under a staging folder;
    ``run``: the run id (known before the first batch, from the planned inputs)."""

    layout = "dataset"

    def __init__(self, staging: Path, run: str):
        self.staging = staging
        self.run = run
        for n in TABLE_NAMES:
            (staging / n).mkdir(parents=True, exist_ok=True)
        self.jsonl = _HashingWriter(staging / "claims.jsonl")  # UTF-8 bytes from the workers
        self.n_files = {n: 0 for n in TABLE_NAMES}
        self.n_claims = 0

    def add_batch(self, batch: int, pieces: list[tuple[dict, bytes | None]]) -> None:
        """Write one batch: ``pieces`` are (tables, UTF-8 JSON lines or None) in input order."""
        self._tally(*write_batch(self.staging, batch, [p[0] for p in pieces], self.run))
        for piece_tables, lines in pieces:
            if lines is None:  # rows of the previous run: group them by document, in order
                from ..tables import claim_values_of_row

                by_doc: dict[str, list[tuple]] = {}
                for row in piece_tables["claims"].to_pylist():
                    by_doc.setdefault(row["doc_id"], []).append(claim_values_of_row(row))
                lines = "".join(_jsonl(rows) for rows in by_doc.values()).encode("utf-8")
            self.jsonl.write(lines)

    def add_written(self, files: dict[str, int], n_claims: int, lines: bytes) -> None:
        """Record a batch that a worker wrote into the staging folder itself."""
        self._tally(files, n_claims)
        self.jsonl.write(lines)

    def _tally(self, files: dict[str, int], n_claims: int) -> None:
        for name, n in files.items():
            self.n_files[name] += n
        self.n_claims += n_claims

    @property
    def digests(self) -> dict[str, bytes]:
        """The files hashed as they were written (most of a dataset's bytes are claims.jsonl)."""
        return {"claims.jsonl": self.jsonl.digest()}

    def commit(self) -> None:
        from ..schema import TABLES
        from ..tables import arrow_metadata

        self.jsonl.close()
        for name, n in self.n_files.items():
            if n == 0:  # an empty table is one empty file, so that readers see its schema
                empty = TABLES[name].arrow_schema().empty_table().replace_schema_metadata(arrow_metadata(self.run))
                _write_part(self.staging, name, 0, 0, empty)

    def abort(self) -> None:
        self.jsonl.close()


class _HashingWriter:
    """A binary file that keeps the SHA-256 of what was written to it."""

    def __init__(self, path: Path):
        self.file = open(path, "wb")
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)

    def digest(self) -> bytes:
        return self.hash.digest()

    def close(self) -> None:
        self.file.close()


def write_batch(staging: Path, batch: int, pieces: list[dict], run: str) -> tuple[dict[str, int], int]:
    """Write one batch of a dataset under ``staging``: ``pieces`` are tables (name -> Arrow
    table) in input order. Each table is checked against its schema, sorted by its primary
    key and written as one Parquet file per year of publication, carrying the run id ``run``.
    Runs in the parent or, for a batch that one worker extracted whole, in that worker.
    Returns the number of files written per table and the number of claim rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..schema import TABLES
    from ..tables import arrow_metadata

    metadata = arrow_metadata(run)

    tables = {}
    for name in TABLE_NAMES:
        t = pa.concat_tables([p[name] for p in pieces]) if pieces else TABLES[name].arrow_schema().empty_table()
        spec = TABLES[name]
        _check(t, spec)
        tables[name] = t.sort_by([(k, "ascending") for k in spec.sort_key]) if t.num_rows else t
    docs = tables["documents"]
    years = [_year(p) for p in docs["published"].to_pylist()]
    doc_ids = pa.array(docs["doc_id"].to_pylist(), pa.string())
    year_arr = pa.array(years, pa.int32())
    files = {name: 0 for name in TABLE_NAMES}
    for name, t in tables.items():
        if not t.num_rows:
            continue
        if len(set(years)) == 1:
            groups = [(years[0], t)]
        else:
            row_years = pc.take(year_arr, pc.index_in(t["doc_id"], value_set=doc_ids))
            groups = [(y, t.filter(pc.equal(row_years, pa.scalar(y, pa.int32())))) for y in sorted(set(years))]
        for y, part in groups:
            if part.num_rows:
                _write_part(staging, name, y, batch, part.replace_schema_metadata(metadata))
                files[name] += 1
    return files, tables["claims"].num_rows


def _write_part(staging: Path, name: str, year: int, batch: int, table) -> None:
    import pyarrow.parquet as pq

    folder = staging / name / f"year={year}"
    folder.mkdir(exist_ok=True)
    pq.write_table(table, folder / _part_name(batch), compression="zstd", write_statistics=True)


def _year(published: str | None) -> int:
    try:
        return int(published[:4]) if published else 0
    except ValueError:
        return 0


def _check(table, spec) -> None:
    """The checks of :func:`pipeline.schema.validate`, on an Arrow table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..schema import SchemaError

    if table.column_names != spec.names:
        raise SchemaError(f"{spec.name}: columns {table.column_names} != {spec.names}")
    for col in spec.columns:
        arr = table[col.name]
        if not col.nullable and arr.null_count:
            raise SchemaError(f"{spec.name}.{col.name}: null in a non-nullable column")
        if col.enum is not None and table.num_rows:
            ok = pc.is_in(arr, value_set=pa.array(col.enum, pa.string()))
            if not pc.all(pc.or_kleene(ok, pc.is_null(arr))).as_py():
                bad = sorted(set(arr.to_pylist()) - set(col.enum) - {None})
                raise SchemaError(f"{spec.name}.{col.name}: values {bad} not in {list(col.enum)}")


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


@dataclass
class RunSummary:
    out: Path
    layout: str
    engine: str
    workers: int
    n_docs: int = 0
    n_extracted: int = 0
    n_skipped: int = 0
    n_claims: int = 0
    n_chars: int = 0
    n_bytes: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, error)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # manifest rows that match no input
    n_year_default: int = 0  # documents whose dates without a year were put in the assumed year

    def notes(self) -> list[str]:
        """What the user should know besides the summary line: one warning a line."""
        from ..dates import OUTBREAK_YEAR

        notes = list(self.warnings)
        if self.n_year_default:
            notes.append(
                f"{self.n_year_default} of {self.n_docs} documents have dates without a year and nothing to take it from "
                f"(no publication date, no year in the text, no --year): {OUTBREAK_YEAR} was assumed "
                "(documents.year_source = 'default'); give a manifest with publication dates, or --year"
            )
        return notes

    @property
    def chars_per_second(self) -> float:
        return self.n_chars / max(self.seconds, 1e-9)

    def line(self) -> str:
        from .progress import human_rate

        ok = self.n_docs - len(self.failed)
        extra = f", {self.n_skipped} unchanged" if self.n_skipped else ""
        where = f"{self.workers} worker{'s' if self.workers != 1 else ''}" + (" on dask" if self.engine == "dask" else "")
        return (
            f"{self.n_claims} claims from {ok} of {self.n_docs} documents -> {self.out} "
            f"({self.layout}; {self.n_chars:,} chars in {self.seconds:.2f} s, {human_rate(self.chars_per_second)}, {where}{extra})"
        )


def run_extract(
    inputs: Sequence[Path | str],
    out: Path | str,
    manifest: Path | str | None = None,
    year: int | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    incremental: bool = False,
    dataset: bool | None = None,
    batch_size: int = DEFAULT_BATCH_DOCS,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    quiet: bool = False,
    progress: bool | None = None,
    timings: bool = False,
    fail_fast: bool = False,
    follow_symlinks: bool = False,
    doc_timeout: float | None = DEFAULT_DOC_TIMEOUT,
    doc_memory: int | None = DEFAULT_DOC_MEMORY,
) -> RunSummary:
    """Extract every input and write the tables into ``out`` (see the module doc).

    A document that cannot be read or extracted (an exception of any type, a worker
    that dies on it, more than ``doc_timeout`` seconds or ``doc_memory`` MB of memory
    spent on it; None: no budget) gets an error row and the batch goes on; with
    ``fail_fast`` the run stops at it instead (raising :class:`InputError`) and writes
    nothing, so the previous tables stay as they were. Inputs that
    give no readable document at all (none found, or every one failed) raise
    :class:`NothingReadable` and write nothing either. An ``out`` that cannot be
    used (see :mod:`pipeline.outfolder`) raises :class:`~pipeline.outfolder.OutputError`
    before anything is read.

    ``follow_symlinks`` reads files and folders that symlinks inside an input folder
    lead to outside it (by default they get an error row).

    ``progress`` forces the progress bar on or off; by default it is shown when
    stderr is a terminal and not ``quiet``.
    """
    from .outfolder import OutputFolder, check_not_input
    from .progress import RunProgress

    started = time.perf_counter()
    out = Path(out)
    check_not_input(out, inputs)
    warnings: list[str] = []
    tasks = plan_tasks(inputs, manifest, year, max_bytes, follow_symlinks, exclude=[out], warnings=warnings)
    if not tasks:
        from ..ingest import FORMATS

        where = ", ".join(printable(os.fspath(p)) for p in inputs)
        raise NothingReadable(f"no input file under {where} (known extensions: {' '.join(sorted(FORMATS))}): nothing written")
    total_bytes = sum(t.n_bytes for t in tasks)
    if dataset is None:
        dataset = len(tasks) > AUTO_DATASET_DOCS or total_bytes > AUTO_DATASET_BYTES
    workers = workers or default_workers()
    batches = plan_batches(tasks, batch_size, batch_bytes) if dataset else [list(tasks)]

    with OutputFolder(out) as folder:
        current = folder.current()
        previous = PreviousRun.load(current) if incremental and current is not None else None
        keys: dict[int, str | None] = {t.index: doc_key(t) for t in tasks} if incremental else {}
        run = ""
        if dataset:  # its files carry the run id from the first batch on
            from ..tables import run_id

            run = run_id((t.doc_id, os_bytes(t.path), t.n_bytes) for t in tasks)
        todo = {t.index for t in tasks if previous is None or not previous.unchanged(t, keys[t.index])}

        n_todo_bytes = sum(t.n_bytes for t in tasks if t.index in todo)
        chunk_bytes = max(MIN_CHUNK_BYTES, min(MAX_CHUNK_BYTES, n_todo_bytes // max(1, 4 * workers)))
        # With enough batches to keep every worker busy, a local worker extracts a batch whole
        # and writes its files itself: the parent only collects the JSON lines, instead of
        # sorting and writing every batch on a core the workers need.
        whole = dataset and engine == "local" and len(batches) >= 2 * workers
        plan = [
            [list(b)] if whole and all(t.index in todo for t in b) else plan_chunks(b, todo, chunk_bytes)
            for b in batches
        ]
        n_chunks = sum(len(p) for p in plan)

        summary = RunSummary(out, "dataset" if dataset else "files", engine, 1, n_docs=len(tasks), warnings=warnings)
        staging = folder.new_staging()
        output = DatasetOutput(staging, run) if dataset else FilesOutput(staging)
        eng = None
        bar = None
        try:
            eng = make_engine(engine, workers, scheduler, n_chunks)
            summary.engine, summary.workers = eng.name, eng.workers
            bar = RunProgress(len(tasks), total_bytes, enabled=progress, quiet=quiet)

            def written_by_worker(b: int) -> bool:
                return whole and len(plan[b]) == 1 and len(plan[b][0]) == len(batches[b])

            def chunk_stream() -> Iterator[Chunk]:
                for b, chunks in enumerate(plan):
                    write_to = str(staging) if written_by_worker(b) else None
                    for c in chunks:
                        yield Chunk(b, tuple(c), timings, dataset, write_to, run, doc_timeout, doc_memory)

            results = eng.map(chunk_stream())
            state_entries: dict[str, list] = {}
            for b, batch in enumerate(batches):
                pieces: list[tuple[int, dict]] = []
                for _ in plan[b]:
                    r = next(results)
                    pieces.append((r.first, r.tables, r.jsonl))
                    for d in r.docs:
                        _count(summary, d, fail_fast)
                        if incremental:
                            state_entries[d.path] = [d.doc_id, keys.get(d.index), b]
                    for k, v in r.timings.items():
                        summary.timings[k] = summary.timings.get(k, 0.0) + v
                    bar.advance(len(r.docs), sum(d.n_chars for d in r.docs), sum(d.n_bytes for d in r.docs))
                for t in batch:
                    if t.index in todo:
                        continue
                    old = previous.rows(t)
                    lines = None  # made from the rows when needed
                    if old is None:  # rows missing from the previous tables: extract after all
                        r = process_chunk(Chunk(b, (t,), timings, dataset, None, run, doc_timeout, doc_memory))
                        old, d, lines = r.tables, r.docs[0], r.jsonl
                    else:
                        row = old["documents"].to_pylist()[0]
                        d = DocSummary(t.index, t.path, row["doc_id"], row["n_bytes"], row["n_chars"], row["n_claims"], row["error"], row["year_source"])
                        summary.n_skipped += 1
                    pieces.append((t.index, old, lines))
                    _count(summary, d, fail_fast)
                    if incremental:
                        state_entries[t.path] = [d.doc_id, keys.get(t.index), b]
                    bar.advance(1, d.n_chars, t.n_bytes)
                if written_by_worker(b):  # ``r``: the batch's one chunk, which the worker wrote
                    output.add_written(r.files, sum(d.n_claims for d in r.docs), r.jsonl)
                    continue
                pieces.sort(key=lambda p: p[0])
                output.add_batch(b, [p[1:] for p in pieces])
            summary.n_extracted = len(tasks) - summary.n_skipped
            if len(summary.failed) == len(tasks):
                raise NothingReadable(
                    f"no document could be read ({_failures(summary.failed)}): nothing written, "
                    f"the previous tables in {out} are kept", summary.failed,
                )
            output.commit()
            if incremental:
                _write_state(staging, summary.layout, state_entries)
            folder.commit(staging, summary.layout, output.run, output.digests)
            summary.n_claims = output.n_claims
        except BaseException:
            output.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
            if eng is not None:
                eng.close()
            folder.discard(staging)
    summary.seconds = time.perf_counter() - started
    return summary


class NothingReadable(InputError):
    """The inputs gave no readable document; nothing was written. ``failed``: (path, error)."""

    def __init__(self, message: str, failed: Sequence[tuple[str, str]] = ()):
        super().__init__(message)
        self.failed = list(failed)


def _failures(failed: Sequence[tuple[str, str]], shown: int = 3) -> str:
    text = "; ".join(f"{path}: {error}" for path, error in failed[:shown])
    return text + (f"; and {len(failed) - shown} more" if len(failed) > shown else "")


def _count(summary: RunSummary, d: DocSummary, fail_fast: bool = False) -> None:
    summary.n_chars += d.n_chars
    summary.n_bytes += d.n_bytes
    if d.year_source == "default":
        summary.n_year_default += 1
    if d.error:
        if fail_fast:
            raise InputError(f"{printable(d.path)}: {d.error} (--fail-fast: nothing written)")
        summary.failed.append((printable(d.path), d.error))
