"""What a new user meets on a fresh clone: a repository that carries its own contract and
gold, a light install for extraction with extras that name themselves, and a first run that
says what it is doing."""
from __future__ import annotations

import ast
import logging
import pickle
import re
import subprocess
import sys
import tomllib
from functools import lru_cache
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import IN_REPO_SETS, ROOT, SHARED_SETS
from pipeline import gazetteer
from pipeline.cli import cli
from pipeline.review.evaluate import load_claims_jsonl
from pipeline.extras import MissingExtra
from pipeline.model import Category

CONTRACT = ROOT / "docs" / "CLAIMS.md"
README = ROOT / "README.md"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The packages of the extras: extraction must neither need nor import them.
EXTRA_MODULES = ("dask", "distributed", "duckdb", "matplotlib", "nbclient", "nbformat", "ipykernel", "jupyter_client")


# ---------------------------------------------------------------- a self-contained repository


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


@pytest.mark.parametrize("path", sorted((ROOT / "tests").glob("*.py")), ids=lambda p: p.name)
def test_no_test_names_an_absolute_machine_path(path):
    """Tests find data relative to the repository (or through $BULLETIN_SHARED), never at a
    path of one machine such as /home/me/data/dev. The kernel's own trees (/proc, /sys, /dev),
    the same on every Linux machine, may be named (e.g. as a place no one can write)."""
    machine_path = re.compile(r"^/(?!(?:proc|sys|dev)/)[\w.-]+/[\w.-]+")
    found = [(n, s) for n, s in _string_constants(path) if machine_path.match(s)]
    assert not found, f"{path.name}: absolute paths {found}"


@pytest.mark.parametrize("name", sorted(IN_REPO_SETS))
def test_in_repo_gold_covers_every_document(name):
    s = IN_REPO_SETS[name]
    assert s.gold.is_relative_to(ROOT) and s.docs.is_relative_to(ROOT)
    docs = {p.stem: p for p in sorted(s.docs.glob("*.txt"))}
    assert docs and sorted(docs) == sorted(p.stem for p in s.gold.glob("*.jsonl"))
    for rec in load_claims_jsonl(s.gold):
        text = docs[rec["doc"]].read_text(encoding="utf-8")
        assert text[rec["start"]:rec["end"]] == rec["quote"], (rec["doc"], rec["start"], rec["quote"])


def test_accuracy_tests_run_without_the_shared_folder(tmp_path):
    """As in a fresh clone with nothing beside it: the seed and own-bulletin accuracy tests
    run (and pass); the dev and county-dev sets are reported as not run, by name."""
    empty = tmp_path / "no-shared"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-vv",
         "tests/test_score.py::test_score_at_or_above_floors", "tests/test_bulletins.py::test_score_at_or_above_floors"],
        cwd=ROOT, capture_output=True, text=True, env={**_env(), "BULLETIN_SHARED": str(empty)}, timeout=600,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"test_score\.py::test_score_at_or_above_floors\[seeds\] PASSED", out), out
    assert re.search(r"test_bulletins\.py::test_score_at_or_above_floors PASSED", out), out
    for name, folder in SHARED_SETS.items():
        assert re.search(rf"SKIPPED .*not run: {name} \(no \$BULLETIN_SHARED/{folder}", out), out


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_the_contract_is_in_the_repository():
    text = CONTRACT.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ (.+)$", text, flags=re.M))
    for section in ("What a claim is", "The span", "Fields", "Values and units", "Categories", "What is not a claim",
                    "Facts", "Dates", "Scoring"):
        assert any(h.startswith(section) for h in headings), f"docs/CLAIMS.md has no section {section!r}"
    for category in Category:
        assert f"| `{category.value}` |" in text, f"docs/CLAIMS.md does not describe category {category.value}"
    spec_fields = ("doc", "start", "end", "quote", "category", "item", "value", "value_hi", "unit", "bound", "per",
                   "locality", "county", "date", "optional", "fact", "part_of", "replaced_by", "aspect", "measure", "origin")
    for name in spec_fields:
        assert f"| `{name}` |" in text or f"| `{name}`, " in text or f", `{name}` |" in text, f"field {name} is not in the table"


def test_readme_links_the_contract_and_lists_the_categories():
    text = README.read_text(encoding="utf-8")
    assert "(docs/CLAIMS.md)" in text, "README does not link docs/CLAIMS.md"
    assert "../shared/spec" not in text, "README sends readers to a folder a clone does not have"
    listed = re.search(r"\n### Categories\n(.*?)\n#", text, flags=re.S)
    assert listed, "README has no Categories section"
    for category in Category:
        assert f"`{category.value}`" in listed.group(1), category.value


# ---------------------------------------------------------------- a light install


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_core_dependencies_leave_the_extras_out():
    core = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"regex", "pandas", "pyarrow", "jieba", "cn2an", "click"} <= core
    assert not core & {"dask", "distributed", "duckdb", "matplotlib", "nbclient", "nbformat", "ipykernel", "jupyter-client"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {_name(r) for r in extras["dask"]} == {"dask"} and {_name(r) for r in extras["sql"]} == {"duckdb"}
    assert {"matplotlib", "nbclient", "ipykernel"} <= {_name(r) for r in extras["notebook"]}
    assert extras["all"] == ["bulletin-pipeline[dask,sql,notebook]"]


def test_makefile_installs_core_for_run_and_everything_for_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_install = re.search(r"\.run-installed:.*?\n\t(.*?)\n", makefile, flags=re.S).group(1)
    test_install = re.search(r"\.test-installed:.*?\n\t(.*?)\n", makefile, flags=re.S).group(1)
    assert run_install.endswith("pip install --quiet -e .")
    assert "'.[all,test]'" in test_install


def test_every_folder_of_the_package_is_declared():
    """setuptools warns, at length, about each importable folder left out of `packages`."""
    folders = {"pipeline"} | {
        ".".join(p.relative_to(ROOT).parts) for p in (ROOT / "pipeline").rglob("*") if p.is_dir() and "__pycache__" not in p.parts
    }
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == folders


def test_extraction_imports_no_extra(tmp_path):
    code = (
        "import sys\n"
        "from pipeline.batch.runner import run_extract\n"
        f"run_extract([{str(ROOT / 'seeds')!r}], {str(tmp_path / 'out')!r}, workers=1, progress=False)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {EXTRA_MODULES!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_sql_without_duckdb_names_the_extra(monkeypatch, tmp_path):
    from pipeline import sql

    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if not installed
    with pytest.raises(MissingExtra, match=re.escape("pip install 'bulletin-pipeline[sql]'")):
        sql(tmp_path, "select 1")


def test_dask_engine_without_dask_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = CliRunner().invoke(cli, ["extract", str(ROOT / "seeds"), "-o", str(tmp_path), "--engine", "dask", "-q"])
    assert result.exit_code != 0
    assert "--engine dask needs the 'distributed' package" in result.output
    assert "pip install 'bulletin-pipeline[dask]'" in result.output


# ---------------------------------------------------------------- the first run says what it does


@pytest.fixture
def no_index_yet(tmp_path, monkeypatch):
    """As on a machine where the gazetteer index was never built: an empty cache folder and
    a fresh process-wide index. The build itself is the cached one (the real build takes
    5-15 s); everything around it is real."""
    built = pickle.loads(gazetteer.cache_path().read_bytes()) if gazetteer.cache_path().exists() else None
    if built is None:
        gazetteer.load()
        built = pickle.loads(gazetteer.cache_path().read_bytes())
    monkeypatch.setattr(gazetteer, "_build_state", lambda: built)
    monkeypatch.setattr(gazetteer, "load", lru_cache(maxsize=1)(lambda: gazetteer.build()))
    monkeypatch.setenv("BULLETIN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_building_the_gazetteer_index_is_announced(no_index_yet, caplog):
    with caplog.at_level(logging.INFO, logger="pipeline"):
        gazetteer.build()
    assert any(m.startswith("building the gazetteer index") for m in caplog.messages), caplog.messages
    assert gazetteer.cache_path().is_relative_to(no_index_yet) and gazetteer.cache_path().exists()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pipeline"):
        gazetteer.build()  # cached now: nothing to say
    assert not caplog.messages


def test_the_first_extract_says_it_builds_the_index(no_index_yet, tmp_path):
    seed = sorted((ROOT / "seeds").glob("*.txt"))[0]
    result = CliRunner().invoke(cli, ["extract", str(seed), "-o", str(tmp_path / "out"), "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "note: building the gazetteer index" in result.stderr
    again = CliRunner().invoke(cli, ["extract", str(seed), "-o", str(tmp_path / "out"), "-j", "1", "-q"])
    assert again.exit_code == 0 and "note:" not in again.stderr
