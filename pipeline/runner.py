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

Writes are atomic: a dataset is written under ``OUT/.staging-*`` and moved into
place at the end; single files go through :func:`~pipeline.tables.write_tables`
(temporary names, renamed at the end). A run that fails or is killed before the
end leaves the previous tables as they were.

Incremental runs (``incremental=True``) keep ``OUT/.bulletin-state.json``: per
input path, a key made of the file's SHA-256, its manifest metadata and the size
limit, plus the pipeline version and a fingerprint of the pipeline's code and
data files. A document whose key is unchanged is not extracted again: its rows
are copied from the previous tables. A changed document replaces only its own
rows. The tables equal those of a full run over the same inputs (documents no
longer among the inputs drop out). A run without ``--incremental`` removes the
state file, since it may write different inputs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import operator
import os
import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

from . import __version__
from .model import Document, DocumentMeta

AUTO_DATASET_DOCS = 1000
AUTO_DATASET_BYTES = 64 * 1024 * 1024
DEFAULT_BATCH_DOCS = 500
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
MAX_CHUNK_BYTES = 1024 * 1024
MIN_CHUNK_BYTES = 32 * 1024
STATE_FILE = ".bulletin-state.json"
STATE_VERSION = 1
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


@dataclass(frozen=True)
class Chunk:
    batch: int
    tasks: tuple[DocTask, ...]
    timings: bool = False
    jsonl: bool = False  # also return the claims as spec-format JSON lines (dataset layout)
    # A dataset's staging folder: the worker writes the chunk's tables there itself, as
    # batch ``batch`` (the chunk is then the whole batch), and returns no rows.
    write_to: str | None = None


@dataclass
class DocSummary:
    index: int
    path: str
    doc_id: str
    n_bytes: int
    n_chars: int
    n_claims: int
    error: str | None


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
    from .ingest import read_document

    if task.doc is not None:
        return task.doc
    if task.data is None:
        return read_document(Path(task.path), task.meta, max_bytes=task.max_bytes)
    # Shipped bytes: read them from a file of the same name so that the format,
    # doc_id, decoding and errors are exactly those of the original file.
    with tempfile.TemporaryDirectory(prefix="bulletin-") as tmp:
        p = Path(tmp) / Path(task.path).name
        p.write_bytes(task.data)
        doc = read_document(p, task.meta, max_bytes=task.max_bytes)
    return replace(doc, path=task.path)


def process_chunk(chunk: Chunk) -> ChunkResult:
    """Extract the documents of one chunk (runs on a worker); rows come back as Arrow tables."""
    from . import api
    from .lexicon import load_lexicon
    from .tables import extraction_values

    lex = load_lexicon()
    rows: dict[str, list[tuple]] = {n: [] for n in TABLE_NAMES}
    timings: dict[str, float] | None = {} if chunk.timings else None
    docs = []
    lines = []
    for task in chunk.tasks:
        t0 = time.perf_counter()
        doc = _read(task)
        if timings is not None:
            timings["ingest"] = timings.get("ingest", 0.0) + time.perf_counter() - t0
        ex = api.extract_document(doc, lex, timings)
        t1 = time.perf_counter()
        parts = extraction_values(ex)
        for name, part in zip(TABLE_NAMES, parts):
            rows[name] += part
        if chunk.jsonl:
            lines.append(_jsonl(parts[2]))
        if timings is not None:
            timings["table_rows"] = timings.get("table_rows", 0.0) + time.perf_counter() - t1
        docs.append(DocSummary(task.index, task.path, doc.doc_id, doc.n_bytes, len(doc.text), len(ex.claims), doc.error))
    t2 = time.perf_counter()
    tables = {name: _arrow_rows(rows[name], name) for name in TABLE_NAMES}
    jsonl = "".join(lines).encode("utf-8")
    if timings is not None:
        timings["table_rows"] = timings.get("table_rows", 0.0) + time.perf_counter() - t2
    files: dict[str, int] = {}
    if chunk.write_to is not None:
        t3 = time.perf_counter()
        files, _ = write_batch(Path(chunk.write_to), chunk.batch, [tables])
        tables = {}
        if timings is not None:
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t3
    return ChunkResult(chunk.batch, chunk.tasks[0].index, tables, docs, timings or {}, jsonl, files)


def _jsonl(claims: list[tuple]) -> str:
    """Spec-format JSON lines of one document's claim rows (as
    :func:`pipeline.tables.claim_values` makes them), in offset order."""
    from .tables import spec_line_of

    return "".join(spec_line_of(c) for c in sorted(claims, key=_start_end))


_start_end = operator.itemgetter(3, 4)  # a claim row's start and end (pipeline.schema.CLAIMS)


def _arrow_rows(rows: list[tuple], name: str):
    import pyarrow as pa

    from .schema import TABLES

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
    from . import api
    from .tables import extraction_values

    text = "武汉市江岸区1月28日新增确诊病例3例，一名患者出院，全区设置检查卡点十二个、投入资金5万元。"
    ex = api.extract_document(Document("warm-up", "warm-up.txt", text, meta=DocumentMeta(published="2020-01-29")))
    for name, rows in zip(TABLE_NAMES, extraction_values(ex)):
        _arrow_rows(rows, name)
    _jsonl(extraction_values(ex)[2])


def _in_order(chunks: Iterator[Chunk], submit, result, limit: int) -> Iterator[ChunkResult]:
    """Submit chunks, at most ``limit`` in flight (memory stays bounded), and yield their
    results in submission order (so that output does not depend on the engine)."""
    pending: deque = deque()
    for c in chunks:
        pending.append(submit(c))
        if len(pending) >= limit:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


class PoolEngine:
    """A process pool on this machine; results in submission order, a bounded number in flight."""

    name = "local"

    def __init__(self, workers: int):
        import multiprocessing as mp

        _warm_up()  # lexicon, gazetteer, compiled patterns: loaded once here, shared by the forked workers
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self.workers = workers
        self.pool = ctx.Pool(workers)

    def map(self, chunks: Iterator[Chunk]) -> Iterator[ChunkResult]:
        submit = lambda c: self.pool.apply_async(process_chunk, (c,))  # noqa: E731
        return _in_order(chunks, submit, lambda f: f.get(), 3 * self.workers)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


class DaskEngine:
    """Chunks as Dask tasks. The client reads the files and ships their bytes."""

    name = "dask"

    def __init__(self, scheduler: str | None, workers: int):
        from distributed import Client, LocalCluster

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
        submit = lambda c: self.client.submit(process_chunk, _ship(c), pure=False)  # noqa: E731
        return _in_order(chunks, submit, lambda f: f.result(), 3 * self.workers)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _ship(chunk: Chunk) -> Chunk:
    """The chunk with each file's bytes attached; a file that cannot be read here is
    read (into its error row) here, so every engine reports the same error."""
    from .ingest import read_document

    tasks = []
    for t in chunk.tasks:
        data = _regular_file_bytes(Path(t.path), t.max_bytes)
        if data is None:
            tasks.append(replace(t, doc=read_document(Path(t.path), t.meta, max_bytes=t.max_bytes)))
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def plan_tasks(inputs: Sequence[Path | str], manifest: Path | str | None, year: int | None, max_bytes: int) -> list[DocTask]:
    """One task per input file, in input order, with what the manifest says of it.

    Only the tasks outlive this function: the input paths and the manifest's lookup
    tables (about 800 bytes a file together) are freed before the run starts, which
    matters in the parent of a run over hundreds of thousands of files."""
    from .api import document_meta
    from .ingest import iter_inputs
    from .manifest import load_manifest

    man = load_manifest(Path(manifest)) if manifest else None
    paths = iter_inputs([Path(p) for p in inputs])
    return [DocTask(i, str(p), document_meta(p, man, year), max_bytes, _size(p)) for i, p in enumerate(paths)]


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
    cur: list[DocTask] = []
    size = 0
    for t in batch:
        if t.index not in todo:
            if cur:
                chunks.append(cur)
            cur, size = [], 0
            continue
        if cur and size + t.n_bytes > chunk_bytes:
            chunks.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += t.n_bytes
    if cur:
        chunks.append(cur)
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
    """The tables and state of the previous incremental run into the same folder."""

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
        return key is not None and entry is not None and entry[1] == key

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
        if got is None or got["documents"].num_rows != 1 or got["documents"]["path"][0].as_py() != task.path:
            return None
        return got


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()


def _read_batch(folder: Path, batch: int):
    import pyarrow as pa

    from .schema import TABLES

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
    _atomic_write_text(folder / STATE_FILE, json.dumps(state, ensure_ascii=False, indent=0, sort_keys=True))


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------
# Output layouts
# --------------------------------------------------------------------------


def _part_name(batch: int) -> str:
    return f"part-{batch:05d}.parquet"


class FilesOutput:
    """All rows in memory, written by :func:`pipeline.tables.write_tables` at the end."""

    layout = "files"

    def __init__(self, out: Path):
        self.out = out
        self.rows: dict[str, list[dict]] = {n: [] for n in TABLE_NAMES}
        self.n_claims = 0

    def add_batch(self, batch: int, pieces: list[tuple[dict, bytes | None]]) -> None:
        for tables, _ in pieces:
            for name in TABLE_NAMES:
                self.rows[name] += tables[name].to_pylist()

    def commit(self) -> None:
        from .tables import tables_from_rows, write_tables

        tables = tables_from_rows(*(self.rows[n] for n in TABLE_NAMES))
        self.n_claims = len(tables.claims)
        write_tables(tables, self.out)

    def abort(self) -> None:
        pass


class DatasetOutput:
    """One Parquet file per batch (and year) per table, written under a staging folder."""

    layout = "dataset"

    def __init__(self, out: Path, staging: Path):
        self.out = out
        self.staging = staging
        for n in TABLE_NAMES:
            (staging / n).mkdir(parents=True, exist_ok=True)
        self.jsonl = open(staging / "claims.jsonl", "wb")  # UTF-8 bytes from the workers
        self.n_files = {n: 0 for n in TABLE_NAMES}
        self.n_claims = 0

    def add_batch(self, batch: int, pieces: list[tuple[dict, bytes | None]]) -> None:
        """Write one batch: ``pieces`` are (tables, UTF-8 JSON lines or None) in input order."""
        self._tally(*write_batch(self.staging, batch, [p[0] for p in pieces]))
        for piece_tables, lines in pieces:
            if lines is None:  # rows of the previous run: group them by document, in order
                from .tables import claim_values_of_row

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

    def commit(self) -> None:
        from .schema import TABLES

        self.jsonl.close()
        for name, n in self.n_files.items():
            if n == 0:  # an empty table is one empty file, so that readers see its schema
                _write_part(self.staging, name, 0, 0, TABLES[name].arrow_schema().empty_table())
        names = list(TABLE_NAMES) + ["claims.jsonl"]
        _swap_in(self.out, self.staging, names, remove=[f for f in SINGLE_FILES if f not in names])

    def abort(self) -> None:
        self.jsonl.close()


def write_batch(staging: Path, batch: int, pieces: list[dict]) -> tuple[dict[str, int], int]:
    """Write one batch of a dataset under ``staging``: ``pieces`` are tables (name -> Arrow
    table) in input order. Each table is checked against its schema, sorted by its primary
    key and written as one Parquet file per year of publication. Runs in the parent or, for a
    batch that one worker extracted whole, in that worker. Returns the number of files
    written per table and the number of claim rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .schema import TABLES

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
                _write_part(staging, name, y, batch, part)
                files[name] += 1
    return files, tables["claims"].num_rows


def _write_part(staging: Path, name: str, year: int, batch: int, table) -> None:
    import pyarrow.parquet as pq

    folder = staging / name / f"year={year}"
    folder.mkdir(exist_ok=True)
    pq.write_table(table.replace_schema_metadata(None), folder / _part_name(batch), compression="zstd", write_statistics=True)


def _year(published: str | None) -> int:
    try:
        return int(published[:4]) if published else 0
    except ValueError:
        return 0


def _check(table, spec) -> None:
    """The checks of :func:`pipeline.schema.validate`, on an Arrow table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .schema import SchemaError

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


def _swap_in(out: Path, staging: Path, names: list[str], remove: list[str]) -> None:
    """Move ``names`` from staging into ``out`` (old versions out of the way first); drop ``remove``."""
    trash = Path(tempfile.mkdtemp(prefix=f".trash-{os.getpid()}-", dir=out))
    try:
        for name in names:
            if (out / name).exists():
                os.replace(out / name, trash / name)
            os.replace(staging / name, out / name)
        for name in remove:
            if (out / name).exists():
                os.replace(out / name, trash / name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _remove_from(out: Path, names: list[str]) -> None:
    for name in names:
        p = out / name
        if p.is_dir():
            trash = Path(tempfile.mkdtemp(prefix=f".trash-{os.getpid()}-", dir=out))
            os.replace(p, trash / name)
            shutil.rmtree(trash, ignore_errors=True)
        elif p.exists():
            p.unlink()


def _clean_stale(out: Path) -> None:
    """Staging and trash folders left by runs that were killed."""
    for p in list(out.glob(".staging-*")) + list(out.glob(".trash-*")):
        try:
            pid = int(p.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
) -> RunSummary:
    """Extract every input and write the tables into ``out`` (see the module doc).

    A document that cannot be read gets an error row and the batch goes on;
    with ``fail_fast`` the run stops at it instead (raising :class:`InputError`)
    and writes nothing, so the previous tables stay as they were.

    ``progress`` forces the progress bar on or off; by default it is shown when
    stderr is a terminal and not ``quiet``.
    """
    from .progress import RunProgress

    started = time.perf_counter()
    out = Path(out)
    tasks = plan_tasks(inputs, manifest, year, max_bytes)
    total_bytes = sum(t.n_bytes for t in tasks)
    if dataset is None:
        dataset = len(tasks) > AUTO_DATASET_DOCS or total_bytes > AUTO_DATASET_BYTES
    workers = workers or default_workers()
    batches = plan_batches(tasks, batch_size, batch_bytes) if dataset else [list(tasks)]

    out.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    previous = PreviousRun.load(out) if incremental else None
    keys: dict[int, str | None] = {t.index: doc_key(t) for t in tasks} if incremental else {}
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

    summary = RunSummary(out, "dataset" if dataset else "files", engine, 1, n_docs=len(tasks))
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=out)) if dataset else None
    output = DatasetOutput(out, staging) if dataset else FilesOutput(out)
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
                    yield Chunk(b, tuple(c), timings, dataset, write_to)

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
                    r = process_chunk(Chunk(b, (t,), timings, dataset))
                    old, d, lines = r.tables, r.docs[0], r.jsonl
                else:
                    row = old["documents"].to_pylist()[0]
                    d = DocSummary(t.index, t.path, row["doc_id"], row["n_bytes"], row["n_chars"], row["n_claims"], row["error"])
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
        if dataset:
            if incremental:
                _write_state(staging, "dataset", state_entries)
            output.commit()
            if incremental:
                os.replace(staging / STATE_FILE, out / STATE_FILE)
            else:
                _remove_from(out, [STATE_FILE])
        else:
            output.commit()
            _remove_from(out, list(TABLE_NAMES) + [STATE_FILE])
            if incremental:
                _write_state(out, "files", state_entries)
        summary.n_claims = output.n_claims
    except BaseException:
        output.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        if eng is not None:
            eng.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _count(summary: RunSummary, d: DocSummary, fail_fast: bool = False) -> None:
    summary.n_chars += d.n_chars
    summary.n_bytes += d.n_bytes
    if d.error:
        if fail_fast:
            from .model import InputError

            raise InputError(f"{d.path}: {d.error} (--fail-fast: nothing written)")
        summary.failed.append((d.path, d.error))
