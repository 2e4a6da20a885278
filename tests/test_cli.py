"""The CLI over the seeds: tables conform to the schema, outputs/ equals a fresh run, commands are documented."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import IN_REPO_SETS
from pipeline.cli import cli
from pipeline.schema import TABLES, validate
from pipeline.tables import TABLE_FILES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """`bulletin extract seeds` run from the repository root, exactly as `make run` does."""
    out = tmp_path_factory.mktemp("out")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, ["extract", "seeds", "-o", str(out), "--workers", "1", "--quiet"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return out


def test_extract_writes_every_table(seed_run):
    for name in TABLE_FILES:
        assert (seed_run / name).exists(), name
    assert not list(seed_run.glob(".*.tmp")), "temporary files left behind"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_conform_to_schema(seed_run, name):
    df = pd.read_parquet(seed_run / f"{name}.parquet")
    validate(df, TABLES[name])


def test_quotes_are_raw_slices(seed_run):
    claims = pd.read_parquet(seed_run / "claims.parquet")
    raws = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "seeds").glob("*.txt")}
    assert len(claims) > 100
    for row in claims.itertuples():
        assert raws[row.doc_id][row.start:row.end] == row.quote


def test_committed_outputs_equal_a_fresh_run(seed_run):
    import pyarrow.parquet as pq

    stale = [n for n, t in TABLES.items() if pq.read_schema(ROOT / "outputs" / f"{n}.parquet").names != t.names]
    if stale:
        # A branch that changes the schema leaves outputs/ to whoever merges it, who runs `make run`
        # (a fresh clone's `make run` rewrites it too); with the schema's columns, the bytes must match.
        pytest.skip(f"outputs/ has another schema than pipeline/schema.py ({', '.join(stale)}): regenerate it with `make run`")
    for name in TABLE_FILES:
        assert (ROOT / "outputs" / name).read_bytes() == (seed_run / name).read_bytes(), f"outputs/{name} is stale: run `make run`"


def test_second_run_is_byte_identical(seed_run, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    CliRunner().invoke(cli, ["extract", "seeds", "-o", str(tmp_path), "--workers", "1", "--quiet"])
    for name in TABLE_FILES:
        assert (tmp_path / name).read_bytes() == (seed_run / name).read_bytes(), name


def test_bad_file_gets_error_row_and_exit_2(tmp_path):
    (tmp_path / "good.txt").write_text("全乡设置检查卡点12个。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 2
    assert "empty.txt" in result.output
    docs = pd.read_parquet(out / "documents.parquet").set_index("doc_id")
    assert docs.loc["empty", "error"] and pd.isna(docs.loc["good", "error"])
    assert len(pd.read_parquet(out / "claims.parquet")) == 1


def test_fail_fast_writes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("全乡设置检查卡点12个。", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01binary")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["extract", str(tmp_path), "-o", str(out), "--fail-fast", "-j", "1"])
    assert result.exit_code == 2 and "b.txt" in result.output
    assert not (out / "claims.parquet").exists()


def test_html_text_is_kept_for_its_offsets(tmp_path):
    page = "<html><head><title>通报</title><script>var n = 99;</script></head><body><article><p>全乡设置检查卡点12个，发放口罩3000个。</p></article></body></html>"
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["extract", str(tmp_path / "page.html"), "-o", str(out), "-j", "1"]).exit_code == 0
    text = pd.read_parquet(out / "documents.parquet").loc[0, "text"]
    claims = pd.read_parquet(out / "claims.parquet")
    assert len(claims) == 2 and all(text[r.start:r.end] == r.quote for r in claims.itertuples())


def test_eval_and_diff_commands(seed_run, tmp_path):
    r = CliRunner().invoke(cli, ["eval", str(IN_REPO_SETS["seeds"].gold), "--pred", str(seed_run)])
    assert r.exit_code == 0 and "quantities" in r.output
    same = CliRunner().invoke(cli, ["diff", str(seed_run), str(seed_run)])
    assert same.exit_code == 0


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name):
    assert cli.commands[name].help, f"command {name} has no help text"


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"^\s*(?:\$ )?bulletin ([a-z]+)", readme, flags=re.M))
    assert used, "README shows no bulletin commands"
    assert used <= set(cli.commands), f"README names unknown commands: {used - set(cli.commands)}"
    assert readme.lstrip().startswith("# "), "README starts with a title"
    head = readme.split("\n## ")[0]
    assert "make run" in head and "make test" in head, "README opens with the two commands"


def test_readme_notebook_snippet_runs(monkeypatch):
    """The README's first Python example, run as written from the repository root."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", readme, flags=re.S).group(1)
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert len(scope["tables"].claims) > 100
    dated = scope["claims"].effective_date.notna().sum()
    assert scope["by_week"].sum() == dated > 0  # the typed dates group by week as they are
    claims = scope["extract"]("全乡设置检查卡点14个，配备百余名检查人员。", year=2020)
    assert [(c.quote, c.value, c.category.value, c.bound.value) for c in claims] == [
        ("14个", 14.0, "checkpoint", "eq"), ("百余名", 100.0, "personnel", "ge")]
