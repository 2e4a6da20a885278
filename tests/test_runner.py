"""The runner: engines give identical tables, incremental runs, datasets, atomic writes."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import shared_dir
from pipeline import api, tables
from pipeline.batch import runner
from pipeline.batch.runner import run_extract
from pipeline.model import DocumentMeta

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
BULLETINS = ROOT / "tests" / "bulletins"
DEV_DOCS = shared_dir() / "dev" / "docs"  # the dev corpus, where the shared folder is beside the checkout
FILES = tables.TABLE_FILES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of bulletins (seeds, test bulletins, dev docs when present, one empty file) and its manifest."""
    root = tmp_path_factory.mktemp("corpus")
    docs = root / "docs"
    docs.mkdir()
    for src in sorted(SEEDS.glob("*.txt")) + sorted((BULLETINS / "docs").glob("*.txt")):
        shutil.copy(src, docs / src.name)
    if DEV_DOCS.is_dir():
        for src in sorted(DEV_DOCS.glob("*.txt")):
            shutil.copy(src, docs / src.name)
    (docs / "zz_empty.txt").write_bytes(b"")  # an error row
    shutil.copy(BULLETINS / "manifest.csv", root / "manifest.csv")
    return docs, root / "manifest.csv"


def _bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def serial_out(corpus, tmp_path_factory) -> Path:
    docs, manifest = corpus
    out = tmp_path_factory.mktemp("serial")
    s = run_extract([docs], out, manifest=manifest, workers=1, progress=False)
    assert s.engine == "serial" and s.layout == "files"
    assert s.n_docs == len(list(docs.iterdir())) and [p for p, _ in s.failed] == [str(docs / "zz_empty.txt")]
    return out


def test_serial_run_writes_what_write_tables_writes(corpus, serial_out, tmp_path) -> None:
    docs, manifest = corpus
    tables.write_tables(tables.build_tables(api.run([docs], manifest=manifest)), tmp_path)
    assert _bytes(serial_out) == _bytes(tmp_path)


def test_two_workers_write_the_same_bytes(corpus, serial_out, tmp_path) -> None:
    docs, manifest = corpus
    s = run_extract([docs], tmp_path, manifest=manifest, workers=2, progress=False)
    assert s.engine == "local" and s.workers == 2
    assert _bytes(tmp_path) == _bytes(serial_out)


def test_dask_cluster_writes_the_same_bytes(corpus, serial_out, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    docs, manifest = corpus
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        s = run_extract([docs], tmp_path, manifest=manifest, engine="dask", scheduler=cluster.scheduler_address, progress=False)
    assert s.engine == "dask"
    assert _bytes(tmp_path) == _bytes(serial_out)


# --- datasets ---------------------------------------------------------------


def _sorted(df: pd.DataFrame, table) -> pd.DataFrame:
    from pipeline.notebook import with_datetimes  # typed dates alike, whichever reader gave them

    df = with_datetimes(df[table.names].copy(), table.name)
    df = df.astype(object).where(df.notna(), None)
    return df.sort_values(list(table.primary_key)).reset_index(drop=True)


def test_dataset_reads_as_one_table_everywhere(corpus, serial_out, tmp_path) -> None:
    import duckdb
    import pyarrow.dataset as ds

    from pipeline.schema import TABLES

    docs, manifest = corpus
    s = run_extract([docs], tmp_path, manifest=manifest, workers=2, dataset=True, batch_size=4, progress=False)
    assert s.layout == "dataset"
    assert not any((tmp_path / f).exists() for f in FILES if f.endswith(".parquet"))
    parts = sorted(p.relative_to(tmp_path / "claims").as_posix() for p in (tmp_path / "claims").rglob("*.parquet"))
    assert {p.split("/")[0] for p in parts} >= {"year=0", "year=2020", "year=2021", "year=2022"}
    assert len({p.split("/")[1] for p in parts}) > 1  # one file per batch
    for name, table in TABLES.items():
        single = _sorted(pd.read_parquet(serial_out / f"{name}.parquet"), table)
        by_pandas = pd.read_parquet(tmp_path / name)
        by_arrow = ds.dataset(tmp_path / name, format="parquet", partitioning="hive").to_table().to_pandas()
        by_duckdb = duckdb.sql(f"select * from read_parquet('{tmp_path / name}/*/*.parquet', hive_partitioning=true)").df()
        for got in (by_pandas, by_arrow, by_duckdb):
            assert "year" in got.columns
            pd.testing.assert_frame_equal(_sorted(got, table), single, check_dtype=False)
    # the claims of the JSON lines are those of the single-file run, in batch order
    assert sorted((tmp_path / "claims.jsonl").read_text(encoding="utf-8").splitlines()) == sorted(
        (serial_out / "claims.jsonl").read_text(encoding="utf-8").splitlines()
    )


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, through the links into the current generation too."""
    files = {}
    for root, _, names in os.walk(folder, followlinks=True):
        for n in names:
            p = Path(root) / n
            if p.is_file():
                files[p.relative_to(folder).as_posix()] = p.read_bytes()
    return dict(sorted(files.items()))


def test_datasets_are_the_same_bytes_whoever_writes_the_batches(corpus, tmp_path) -> None:
    # Local workers write whole batches themselves; with the Dask engine (or too few
    # batches to keep the workers busy) the parent writes them from the chunks' rows.
    docs, manifest = corpus
    runs = {}
    for name, kwargs in [("serial", dict(workers=1)), ("pool", dict(workers=2)), ("parent", dict(workers=2, batch_size=10_000))]:
        out = tmp_path / name
        run_extract([docs], out, manifest=manifest, dataset=True, progress=False, **{"batch_size": 4, **kwargs})
        runs[name] = _tree(out)
    assert len([f for f in runs["serial"] if f.startswith("claims/")]) > 2  # one file per batch and year
    assert runs["pool"] == runs["serial"]
    # one batch: written by the parent, from the rows of several chunks
    assert {f.rsplit("/", 1)[1] for f in runs["parent"] if f.startswith("claims/")} == {"part-00000.parquet"}
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run_extract([docs], tmp_path / "dask", manifest=manifest, engine="dask", scheduler=cluster.scheduler_address,
                    dataset=True, batch_size=4, progress=False)
    assert _tree(tmp_path / "dask") == runs["serial"]


def test_automatic_layout_switches_to_datasets(corpus, tmp_path, monkeypatch) -> None:
    docs, manifest = corpus
    monkeypatch.setattr(runner, "AUTO_DATASET_DOCS", 3)
    s = run_extract([docs], tmp_path, manifest=manifest, workers=1, progress=False)
    assert s.layout == "dataset" and (tmp_path / "claims").is_dir()
    s = run_extract([SEEDS], tmp_path, workers=1, progress=False)  # 2 documents: single files again
    assert s.layout == "files" and not (tmp_path / "claims").exists() and (tmp_path / "claims.parquet").is_file()


# --- incremental runs ---------------------------------------------------------


@pytest.fixture()
def small_corpus(tmp_path) -> Path:
    docs = tmp_path / "in"
    docs.mkdir()
    for src in sorted(SEEDS.glob("*.txt")) + sorted((BULLETINS / "docs").glob("t0[12]*.txt")):
        shutil.copy(src, docs / src.name)
        os.chmod(docs / src.name, 0o644)
    return docs


@pytest.mark.parametrize("dataset", [False, True])
def test_incremental_skips_unchanged_and_replaces_changed(small_corpus, tmp_path, dataset) -> None:
    out, full = tmp_path / "out", tmp_path / "full"
    kw = dict(workers=1, dataset=dataset, batch_size=2, progress=False)
    first = run_extract([small_corpus], out, incremental=True, **kw)
    assert (first.n_extracted, first.n_skipped) == (4, 0)
    again = run_extract([small_corpus], out, incremental=True, **kw)
    assert (again.n_extracted, again.n_skipped) == (0, 4)

    changed = small_corpus / "t01_sichuan_daily_20200407.txt"
    before = _claims(out, dataset)
    changed.write_text(changed.read_text(encoding="utf-8") + "\n另讯，全省新增核酸检测点12个。\n", encoding="utf-8")
    third = run_extract([small_corpus], out, incremental=True, **kw)
    assert (third.n_extracted, third.n_skipped) == (1, 3)
    after = _claims(out, dataset)
    doc = changed.stem
    others = [df[df.doc_id != doc].reset_index(drop=True) for df in (before, after)]
    pd.testing.assert_frame_equal(*others)  # the other documents' rows are unchanged
    assert len(after[after.doc_id == doc]) == len(before[before.doc_id == doc]) + 1

    # the tables are those of a full run over the same inputs
    run_extract([small_corpus], full, **kw)
    for name in ("documents", "paragraphs", "claims", "rejections"):
        pd.testing.assert_frame_equal(_table(out, name, dataset), _table(full, name, dataset))
    assert (out / "claims.jsonl").read_bytes() == (full / "claims.jsonl").read_bytes()


def test_incremental_redoes_everything_when_the_pipeline_changes(small_corpus, tmp_path, monkeypatch) -> None:
    tmp_path = tmp_path / "out"  # (an output folder that contains the inputs is refused)
    run_extract([small_corpus], tmp_path, incremental=True, workers=1, progress=False)
    runner.code_fingerprint.cache_clear()
    monkeypatch.setattr(runner, "__version__", "9.9.9")
    try:
        s = run_extract([small_corpus], tmp_path, incremental=True, workers=1, progress=False)
    finally:
        runner.code_fingerprint.cache_clear()
    assert (s.n_extracted, s.n_skipped) == (4, 0)


def test_incremental_drops_removed_documents(small_corpus, tmp_path) -> None:
    tmp_path = tmp_path / "out"
    run_extract([small_corpus], tmp_path, incremental=True, workers=1, progress=False)
    gone = next(small_corpus.glob("t02*.txt"))
    gone.unlink()
    s = run_extract([small_corpus], tmp_path, incremental=True, workers=1, progress=False)
    assert (s.n_extracted, s.n_skipped) == (0, 3)
    assert gone.stem not in set(pd.read_parquet(tmp_path / "documents.parquet").doc_id)


def _table(out: Path, name: str, dataset: bool) -> pd.DataFrame:
    from pipeline.schema import TABLES

    df = pd.read_parquet(out / name if dataset else out / f"{name}.parquet")
    return _sorted(df, TABLES[name])


def _claims(out: Path, dataset: bool) -> pd.DataFrame:
    return _table(out, "claims", dataset)


# --- atomic writes ----------------------------------------------------------------


def test_a_failed_single_file_write_leaves_the_previous_tables(small_corpus, tmp_path, monkeypatch) -> None:
    tmp_path = tmp_path / "out"
    run_extract([small_corpus], tmp_path, workers=1, progress=False)
    before = _bytes(tmp_path)
    (small_corpus / "t01_sichuan_daily_20200407.txt").write_text("新增病例3例。", encoding="utf-8")

    def fail(df, table, path, run):
        if table.name == "claims":
            raise OSError("disk full")
        return original(df, table, path, run)

    original = tables._write_parquet
    monkeypatch.setattr(tables, "_write_parquet", fail)
    with pytest.raises(OSError, match="disk full"):
        run_extract([small_corpus], tmp_path, workers=1, progress=False)
    assert _bytes(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES + (".bulletin",))
    _assert_one_generation(tmp_path)  # no staging folder left


def _assert_one_generation(out: Path) -> None:
    home = sorted(p.name for p in (out / ".bulletin").iterdir())
    assert len(home) == 3 and home[0] == "current" and home[1].startswith("gen-") and home[2] == "manifest.json", home


def test_a_failed_dataset_run_leaves_the_previous_dataset(small_corpus, tmp_path, monkeypatch) -> None:
    tmp_path = tmp_path / "out"
    run_extract([small_corpus], tmp_path, workers=1, dataset=True, batch_size=1, progress=False)
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    calls = []

    def fail(staging, name, year, batch, table):
        calls.append(batch)
        if batch >= 2:
            raise RuntimeError("killed")
        return original(staging, name, year, batch, table)

    original = runner._write_part
    monkeypatch.setattr(runner, "_write_part", fail)
    with pytest.raises(RuntimeError, match="killed"):
        run_extract([small_corpus], tmp_path, workers=1, dataset=True, batch_size=1, progress=False)
    assert calls  # it failed halfway, after writing some batches
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    _assert_one_generation(tmp_path)


# --- the command ----------------------------------------------------------------------


def test_cli_extract_prints_a_summary_and_no_progress_bar_off_a_terminal(tmp_path) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    result = CliRunner().invoke(cli, ["extract", str(SEEDS), "-o", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    # a warning and the summary line only: no bar when not on a terminal
    assert len(lines) == 2
    # the seeds come without a manifest and give no year: the run says so
    assert lines[0].startswith("warning: 2 of 2 documents have dates without a year") and "2020 was assumed" in lines[0]
    assert " claims from 2 of 2 documents -> " in lines[1] and "chars/s" in lines[1] and "2 workers" in lines[1]
    assert "\x1b[" not in result.output


def test_progress_bar_counts_documents_and_characters() -> None:
    from pipeline.batch.progress import RunProgress

    bar = RunProgress(total_docs=3, total_bytes=300, enabled=False)
    bar.advance(2, 1000, 200)
    bar.advance(1, 500, 100)
    assert (bar.docs, bar.chars) == (3, 1500) and bar.rate > 0
    bar.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.booleans()), max_size=30), st.integers(1, 120))
def test_chunks_are_runs_of_documents_to_extract_cut_at_their_bytes(docs, chunk_bytes):
    batch = [runner.DocTask(i, f"d{i}.txt", DocumentMeta(), 10**6, n) for i, (n, _) in enumerate(docs)]
    todo = {i for i, (_, keep) in enumerate(docs) if keep}
    chunks = runner.plan_chunks(batch, todo, chunk_bytes)
    # every document to extract, once, in order; nothing else
    assert [t.index for c in chunks for t in c] == sorted(todo)
    for c in chunks:
        assert c, "no empty chunk"
        # consecutive inputs: a skipped document ends a run
        assert [t.index for t in c] == list(range(c[0].index, c[0].index + len(c)))
        # within the bytes, unless one document alone is larger
        assert len(c) == 1 or sum(t.n_bytes for t in c) <= chunk_bytes
    # maximal: two neighbouring chunks of one run did not fit together
    for a, b in zip(chunks, chunks[1:]):
        if b[0].index == a[-1].index + 1:
            assert sum(t.n_bytes for t in a) + b[0].n_bytes > chunk_bytes
