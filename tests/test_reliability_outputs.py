"""Outputs that never lose a user's data (issue 12, part A): the tool replaces only what it
wrote, switches a whole run in at once, stores every input under a unique id and a lossless
path, and gives bad inputs and bad output folders an error instead of a silent result.

Each test drives the command (or the library call a notebook makes) the way a user would.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipeline import load
from pipeline.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
TABLE_FILES = ("documents.parquet", "paragraphs.parquet", "claims.parquet", "rejections.parquet", "facts.parquet", "claims.jsonl")

# Short bulletins written for these tests (one count each, in different words).
CHECKPOINTS = "全镇共设立防控检查点9个。"
MASKS = "向各村分发口罩2000只。"
STAFF = "每天抽调干部36名参与值守。"


def extract(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["extract", *args, "--workers", "1", "--quiet"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file and link under ``folder`` (links by their text): what a user would lose."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for n in dirs + files:
            p = Path(root) / n
            rel = p.relative_to(folder).as_posix()
            if p.is_symlink():
                found[rel] = b"-> " + os.readlink(p).encode()
            elif p.is_file():
                found[rel] = p.read_bytes()
    return found


def claims_of(out: Path) -> list[tuple]:
    c = load(out, categorical=False).claims
    return sorted(zip(c.doc_id, c.start, c.end, c.value))


# --------------------------------------------------------------------------
# 1. Never delete or overwrite what the tool did not write


@pytest.mark.parametrize("layout", ["--single-files", "--dataset"])
def test_folders_and_files_of_the_users_named_like_tables_are_never_touched(tmp_path, layout):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    project = tmp_path / "project"
    write(project, "documents/minutes.txt", "the user's own notes")
    write(project, "claims/2020.csv", "the user's own table")
    before = snapshot(project)
    code, output = extract(str(docs), "-o", str(project), layout)
    assert code == 2 and "not written by bulletin extract" in output and "move it away" in output
    assert snapshot(project) == before  # not even a folder of the tool's was added


def test_tables_of_an_earlier_version_are_refused_with_a_way_forward(tmp_path):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    write(out, "claims.parquet", "tables written by an earlier version: plain files")
    write(out, "claims.jsonl", "{}\n")
    before = snapshot(out)
    code, output = extract(str(docs), "-o", str(out))
    assert code == 2 and "claims.parquet" in output and "move it away" in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1
    assert snapshot(out) == before


def test_a_tool_folder_without_the_tools_marker_is_not_used(tmp_path):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    write(out, ".bulletin/keep.txt", "someone else's folder of that name")
    before = snapshot(out)
    code, output = extract(str(docs), "-o", str(out))
    assert code == 2 and ".bulletin" in output
    assert snapshot(out) == before


@pytest.mark.parametrize("where", ["same", "parent"])
def test_an_output_folder_that_is_or_contains_an_input_is_refused(tmp_path, where, monkeypatch):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    write(docs, "b.txt", MASKS)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = "bulletins" if where == "same" else "."
    code, output = extract("bulletins", "-o", out, "--dataset")
    assert code == 2 and "choose another -o" in output
    assert snapshot(tmp_path) == before


def test_an_output_folder_inside_the_input_folder_is_not_read(tmp_path):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    write(docs, "out/stray.txt", MASKS)  # the user's file in the output folder
    assert extract(str(docs), "-o", str(docs / "out"))[0] == 0
    assert extract(str(docs), "-o", str(docs / "out"))[0] == 0  # its own tables are not read either
    assert list(load(docs / "out").documents.doc_id) == ["a"]
    assert (docs / "out" / "stray.txt").read_text(encoding="utf-8") == MASKS


def test_only_the_tools_own_links_are_removed_when_the_layout_changes(tmp_path):
    docs = tmp_path / "bulletins"
    write(docs, "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    write(out, "notes.md", "kept")
    assert extract(str(docs), "-o", str(out), "--dataset")[0] == 0
    assert (out / "claims").is_dir() and not (out / "claims.parquet").exists()
    assert extract(str(docs), "-o", str(out), "--single-files")[0] == 0
    assert (out / "claims.parquet").is_file() and not os.path.lexists(out / "claims")
    assert sorted(p.name for p in out.iterdir()) == sorted((".bulletin", "notes.md") + TABLE_FILES)


# --------------------------------------------------------------------------
# 2. All tables switch at once; a reader sees one whole run


def _kill_run(docs: Path, out: Path, step: int, layout: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BULLETIN_STOP_BEFORE_STEP": str(step)}
    cmd = [sys.executable, "-m", "pipeline", "extract", str(docs), "-o", str(out), "-j", "1", "-q", layout]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("new_layout", ["--single-files", "--dataset"])
def test_a_run_killed_at_any_step_of_the_switch_leaves_one_whole_run(tmp_path, new_layout):
    old_docs, new_docs = tmp_path / "old", tmp_path / "new"
    write(old_docs, "a.txt", CHECKPOINTS)
    write(old_docs, "b.txt", MASKS)
    write(new_docs, "a.txt", STAFF)
    write(new_docs, "c.txt", MASKS + STAFF)
    reference = {}
    for name, docs in (("old", old_docs), ("new", new_docs)):
        assert extract(str(docs), "-o", str(tmp_path / f"ref-{name}"), new_layout if name == "new" else "--single-files")[0] == 0
        reference[name] = claims_of(tmp_path / f"ref-{name}")
    assert reference["old"] != reference["new"]

    step = 0
    while True:
        step += 1
        out = tmp_path / f"out-{step}"
        assert extract(str(old_docs), "-o", str(out), "--single-files")[0] == 0
        done = _kill_run(new_docs, out, step, new_layout)
        seen = claims_of(out)  # what a notebook reads now
        assert seen in (reference["old"], reference["new"]), f"step {step}: a mix of two runs"
        docs = set(load(out).documents.doc_id)
        assert docs == ({"a", "b"} if seen == reference["old"] else {"a", "c"})
        # a later run that fails changes nothing; the next good one cleans up after the killed one
        write(tmp_path / "bad", "empty.txt", "")
        assert extract(str(tmp_path / "bad"), "-o", str(out), "--fail-fast")[0] == 2
        assert claims_of(out) == seen
        assert extract(str(new_docs), "-o", str(out), new_layout)[0] == 0
        assert claims_of(out) == reference["new"]
        home = sorted(p.name for p in (out / ".bulletin").iterdir())
        assert len(home) == 3 and home[1].startswith("gen-"), home  # current, one generation, the marker
        if done.returncode == 0:
            break
        assert done.returncode == -9, done.stderr  # killed by the test hook before step `step`
    assert step >= 5  # rename, links, switch, marker, clean-up: each was interrupted once


def test_a_notebook_reading_while_a_run_switches_in_gets_one_whole_run(tmp_path, monkeypatch):
    from pipeline import notebook

    write(tmp_path / "old", "a.txt", CHECKPOINTS)
    write(tmp_path / "new", "b.txt", MASKS)
    out = tmp_path / "out"
    assert extract(str(tmp_path / "old"), "-o", str(out))[0] == 0
    read = notebook._read_source
    calls = []

    def read_during_a_run(src, name):
        if not calls:  # the first table is read; then a run switches the next one in and removes this one
            assert extract(str(tmp_path / "new"), "-o", str(out))[0] == 0
        calls.append(name)
        return read(src, name)

    monkeypatch.setattr(notebook, "_read_source", read_during_a_run)
    got = load(out)
    assert list(got.documents.doc_id) == ["b"] and list(got.claims.doc_id) == ["b"] and len(calls) > 4


def test_load_refuses_tables_of_two_runs(tmp_path):
    write(tmp_path / "old", "a.txt", CHECKPOINTS)
    write(tmp_path / "new", "a.txt", CHECKPOINTS)
    write(tmp_path / "new", "b.txt", MASKS)
    for name in ("old", "new"):
        assert extract(str(tmp_path / name), "-o", str(tmp_path / f"out-{name}"))[0] == 0
    mixed = tmp_path / "mixed"  # documents of one run beside the other tables of another
    mixed.mkdir()
    for f in TABLE_FILES:
        shutil.copyfile(tmp_path / ("out-old" if f == "documents.parquet" else "out-new") / f, mixed / f)
    with pytest.raises(Exception, match="different runs"):
        load(mixed)


def test_every_table_carries_the_same_run_id(tmp_path):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    assert extract(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--dataset")[0] == 0
    files = [p for p in (tmp_path / "out").rglob("*.parquet")]
    ids = {(pq.read_schema(p).metadata or {}).get(b"bulletin.run_id") for p in files}
    assert len(files) >= 4 and len(ids) == 1 and None not in ids


# --------------------------------------------------------------------------
# 3. File names are stored losslessly


def test_a_file_name_that_is_not_utf8_is_read_and_stored_exactly(tmp_path):
    docs = tmp_path / "in"
    docs.mkdir()
    raw = os.fsencode(docs) + b"/report_\xff\xfe.txt"
    with open(raw, "wb") as f:
        f.write(CHECKPOINTS.encode("utf-8"))
    write(docs, "plain.txt", MASKS)
    code, output = extract(str(docs), "-o", str(tmp_path / "out"))
    assert code == 0, output
    d = load(tmp_path / "out").documents.set_index("doc_id")
    assert set(d.index) == {"report_\\xff\\xfe", "plain"}
    row = d.loc["report_\\xff\\xfe"]
    assert row.path_bytes == raw and row.path.endswith("report_\\xff\\xfe.txt") and pd.isna(row.error)
    assert os.fsdecode(row.path_bytes) and open(os.fsdecode(row.path_bytes), "rb").read() == CHECKPOINTS.encode()
    assert len(load(tmp_path / "out").claims) == 2


# --------------------------------------------------------------------------
# 6. Unique documents


def test_files_of_one_name_in_two_folders_stay_two_documents(tmp_path):
    docs = tmp_path / "in"
    write(docs, "north/report.txt", CHECKPOINTS)
    write(docs, "south/report.txt", MASKS)
    write(docs, "east.txt", STAFF)
    write(docs, "west/notice.txt", STAFF)
    write(docs, "west/notice.html", f"<html><body><article><p>{MASKS}</p></article></body></html>")
    assert extract(str(docs), "-o", str(tmp_path / "out"))[0] == 0
    out = load(tmp_path / "out")
    # the file name where it is unique (the spec's doc), else the path below the input folder
    assert sorted(out.documents.doc_id) == ["east", "north/report", "south/report", "west/notice.html", "west/notice.txt"]
    assert out.claims.claim_id.is_unique and len(out.claims) == 5
    assert dict(zip(out.claims.doc_id, out.claims.value)) == {
        "north/report": 9, "south/report": 2000, "east": 36, "west/notice.txt": 36, "west/notice.html": 2000}


def test_files_named_alike_given_one_by_one_are_told_apart_by_their_paths(tmp_path, monkeypatch):
    write(tmp_path, "2020/report.txt", CHECKPOINTS)
    write(tmp_path, "2021/report.txt", MASKS)
    monkeypatch.chdir(tmp_path)
    assert extract("2020/report.txt", "./2021/report.txt", "-o", "out")[0] == 0
    assert sorted(load("out").documents.doc_id) == ["2020/report", "2021/report"]


def test_two_inputs_that_cannot_be_told_apart_are_an_error_before_anything_is_read(tmp_path):
    write(tmp_path / "one", "report.txt", CHECKPOINTS)
    write(tmp_path / "two", "report.txt", MASKS)
    out = tmp_path / "out"
    assert extract(str(tmp_path / "one"), "-o", str(out))[0] == 0
    before = snapshot(out)
    code, output = extract(str(tmp_path / "one"), str(tmp_path / "two"), "-o", str(out))
    assert code == 2 and "one/report.txt" in output and "two/report.txt" in output and "same doc_id" in output
    assert snapshot(out) == before


def test_the_seeds_keep_their_ids(tmp_path):
    assert extract(str(SEEDS), "-o", str(tmp_path / "out"))[0] == 0
    assert sorted(load(tmp_path / "out").documents.doc_id) == sorted(p.stem for p in SEEDS.glob("*.txt"))


# --------------------------------------------------------------------------
# 7. Empty input is not success


def test_no_input_is_an_error_that_keeps_the_previous_tables(tmp_path):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    assert extract(str(tmp_path / "in"), "-o", str(out))[0] == 0
    before = snapshot(out)
    (tmp_path / "empty").mkdir()
    code, output = extract(str(tmp_path / "empty"), "-o", str(out))
    assert code == 2 and "nothing written" in output
    assert snapshot(out) == before


def test_inputs_none_of_which_can_be_read_keep_the_previous_tables(tmp_path):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    assert extract(str(tmp_path / "in"), "-o", str(out), "--dataset")[0] == 0
    before = snapshot(out)
    write(tmp_path / "bad", "empty.txt", "")
    (tmp_path / "bad" / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 8)
    code, output = extract(str(tmp_path / "bad"), "-o", str(out), "--dataset")
    assert code == 2 and "empty.txt" in output and "binary.txt" in output and "no document could be read" in output
    assert snapshot(out) == before


# --------------------------------------------------------------------------
# 8. Paths over the limit, bad output folders, manifest rows, symlinks, two runs at once


def test_a_folder_beyond_the_path_length_limit_gets_an_error_row(tmp_path):
    docs = tmp_path / "in"
    write(docs, "near.txt", CHECKPOINTS)
    fd = os.open(docs, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 levels of 200 characters: past PATH_MAX (4096) on every system
            os.mkdir("d" * 200, dir_fd=fd)
            deeper = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = deeper
        far = os.open("far.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(far, MASKS.encode())
        os.close(far)
    finally:
        os.close(fd)
    code, output = extract(str(docs), "-o", str(tmp_path / "out"))
    assert code == 2 and "cannot list folder" in output
    d = load(tmp_path / "out").documents
    failed = d[d.error.notna()]
    assert len(failed) == 1 and "dddd" in failed.path.iloc[0] and "too long" in failed.error.iloc[0]
    assert d[d.error.isna()].doc_id.tolist() == ["near"]


@pytest.mark.parametrize("out", ["under-a-file", "proc"])
def test_an_unusable_output_folder_is_a_one_line_error(tmp_path, out):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    write(tmp_path, "a-file", "x")
    target = str(tmp_path / "a-file" / "out") if out == "under-a-file" else "/proc/bulletin-out"
    code, output = extract(str(tmp_path / "in"), "-o", target)
    assert code == 2
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and target in lines[0] and "Traceback" not in output


def test_manifest_rows_lend_metadata_only_to_their_own_file(tmp_path):
    root = tmp_path / "corpus"
    write(root, "docs/x.txt", CHECKPOINTS)
    write(root, "docs/y.txt", MASKS)
    write(root, "docs/z.txt", STAFF)
    write(root, "archive/y.txt", MASKS)  # the file a row names: its metadata is its own
    (root / "manifest.csv").write_text(
        "path,published,title\n"
        "../elsewhere/x.txt,2020-02-01,outside the manifest's folder\n"
        "archive/y.txt,2020-02-02,another file's row\n"
        "moved/z.txt,2020-02-03,moved since\n",
        encoding="utf-8",
    )
    assert extract(str(root / "docs"), "--manifest", str(root / "manifest.csv"), "-o", str(tmp_path / "out"))[0] == 0
    d = load(tmp_path / "out").documents.set_index("doc_id")
    assert d.published.isna()["x"] and d.published.isna()["y"]
    assert d.published["z"] == "2020-02-03"  # a row whose file is gone, with a name no other row or input has


def test_a_symlink_out_of_the_input_folder_is_followed_only_when_asked(tmp_path):
    secret = write(tmp_path / "private", "diary.txt", STAFF)
    docs = tmp_path / "in"
    write(docs, "a.txt", CHECKPOINTS)
    (docs / "diary.txt").symlink_to(secret)
    (docs / "more").symlink_to(tmp_path / "private", target_is_directory=True)
    code, output = extract(str(docs), "-o", str(tmp_path / "out"))
    assert code == 2 and "--follow-symlinks" in output
    d = load(tmp_path / "out").documents
    assert d[d.error.isna()].doc_id.tolist() == ["a"] and len(d) == 3
    assert len(load(tmp_path / "out").claims) == 1
    assert extract(str(docs), "-o", str(tmp_path / "out"), "--follow-symlinks")[0] == 0
    assert len(load(tmp_path / "out").claims) == 2  # the diary once, though two links lead to it


def test_a_second_run_into_a_folder_in_use_fails_at_once(tmp_path):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    out = tmp_path / "out"
    assert extract(str(tmp_path / "in"), "-o", str(out))[0] == 0
    before = snapshot(out)
    fd = os.open(out / ".bulletin", os.O_RDONLY)  # the lock a running extract holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, output = extract(str(tmp_path / "in"), "-o", str(out))
    finally:
        os.close(fd)
    assert code == 2 and "another bulletin extract is writing" in output and str(out) in output
    assert snapshot(out) == before
    assert extract(str(tmp_path / "in"), "-o", str(out))[0] == 0  # free again
    assert sorted(p.name for p in out.iterdir()) == sorted((".bulletin",) + TABLE_FILES)  # no lock file left


@pytest.mark.parametrize("layout", ["--single-files", "--dataset"])
def test_outputs_follow_the_users_umask(tmp_path, layout):
    write(tmp_path / "in", "a.txt", CHECKPOINTS)
    old = os.umask(0o022)
    try:
        assert extract(str(tmp_path / "in"), "-o", str(tmp_path / "out"), layout)[0] == 0
    finally:
        os.umask(old)
    out = tmp_path / "out"
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if not p.is_symlink()}
    assert modes and all(m == (0o755 if (out / rel).is_dir() else 0o644) for rel, m in modes.items()), modes


# --------------------------------------------------------------------------
# Deterministic outputs: `make run` on unchanged seeds changes nothing in git


def test_rerunning_make_run_leaves_the_committed_outputs_as_they_are(tmp_path, monkeypatch):
    committed = ROOT / "outputs"
    if not (committed / ".bulletin").is_dir():
        pytest.skip("outputs/ is not in the generation layout yet (make run)")
    copy = tmp_path / "outputs"
    shutil.copytree(committed, copy, symlinks=True)
    monkeypatch.chdir(ROOT)
    assert extract("seeds", "-o", str(copy))[0] == 0  # what `make run` does, from a fresh clone
    assert snapshot(copy) == snapshot(committed)

