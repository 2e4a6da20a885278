"""Review tools: the HTML report, `bulletin explain`, load/sql, the example notebook and README.md's review section."""
from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline import api, load, sql
from pipeline.cli import cli
from pipeline.ingest import read_document
from pipeline.notebook import read_table
from pipeline.repair import repair
from pipeline.review.report import locate, prepare, render_document, write_report
from pipeline.tables import build_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
NOTEBOOK = ROOT / "examples" / "seeds.ipynb"
DOCS = ROOT / "README.md"  # its "Reviewing a run" section


@pytest.fixture(scope="module")
def seeds_out(tmp_path_factory) -> Path:
    """A fresh extraction of the seeds (the tests do not depend on the committed outputs/)."""
    out = tmp_path_factory.mktemp("seeds-out")
    write_tables(build_tables(api.run([SEEDS])), out)
    return out


# --------------------------------------------------------------------------
# HTML helpers


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each <mark>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.mark_text: dict[str, str] = {}
        self._mark: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "mark" and "data-claim-id" in a:
            self._mark = a["data-claim-id"]
            self.mark_text[self._mark] = ""

    def handle_endtag(self, tag):
        if tag == "mark":
            self._mark = None

    def handle_data(self, data):
        if self._mark is not None:
            self.mark_text[self._mark] += data

    def with_attr(self, name: str) -> list[dict]:
        return [a for _, a in self.tags if name in a]


def parse(path: Path) -> Elements:
    p = Elements()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def assert_self_contained(page: Elements) -> None:
    for tag, a in page.tags:
        for attr in ("src", "href"):
            v = (a.get(attr) or "").strip().lower()
            assert not v.startswith(("http:", "https:", "//")), f"<{tag} {attr}={v}> loads from the network"
        assert not (tag == "link" and "stylesheet" in (a.get("rel") or "")), "external stylesheet"
        assert not (tag == "script" and a.get("src")), "external script"


# --------------------------------------------------------------------------
# Report


def test_report_single_file(seeds_out, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(seeds_out), "-o", str(out)])
    assert result.exit_code == 0, result.output
    claims = pd.read_parquet(seeds_out / "claims.parquet")
    rejections = pd.read_parquet(seeds_out / "rejections.parquet")
    page = parse(out)
    marks = page.with_attr("data-claim-id")
    assert len(marks) == len(claims) > 0
    assert sorted(a["data-claim-id"] for a in marks) == sorted(claims.claim_id)
    assert len([a for a in page.with_attr("data-reason")]) == len(rejections)  # every rejected number shown
    assert {a["data-cat"] for a in marks} == set(claims.category)
    assert_self_contained(page)
    text = out.read_text(encoding="utf-8")
    assert 'class="unplaced"' not in text, "every seeds claim is placed in its paragraph"
    assert "<svg" in text and 'id="summary"' in text and 'id="locf"' in text and 'id="doclist"' in text
    data = json.loads(re.search(r'<script type="application/json" id="claims-data">(.*?)</script>', text, re.S).group(1))
    assert set(data) == set(claims.claim_id)
    row = claims.iloc[0]
    assert data[row.claim_id]["rule"] == row.rule


def test_highlights_sit_where_the_pipeline_found_them(seeds_out):
    """Each claim and rejected number is placed at its true repaired offset (checked against the raw files)."""
    docs = prepare(load(seeds_out, categorical=False))
    checked = 0
    for d in docs:
        view = repair(read_document(SEEDS / Path(d.row["path"]).name).text)
        spans = [(c.start, c.end, c.quote) for c in d.claims] + [(int(r["start"]), int(r["end"]), r["quote"]) for r in d.rejections]
        for p in d.paras:
            p0, p1 = int(p["start"]), int(p["end"])
            inside = sorted(s for s in spans if p0 <= s[0] < p1)
            cursor = 0
            vstart = view.view_pos(p0)
            for s, e, q in inside:
                where = locate(p["text"], p0, p1, s, e, q, cursor)
                assert where is not None, (d.id, s, q)
                assert where[0] == view.view_pos(s) - vstart, (d.id, s, q)
                cursor = where[1]
                checked += 1
    assert checked > 300


def test_placement_survives_layout_noise(tmp_path):
    """Stray spaces, line breaks and repeated numbers: every claim still lands on its own span."""
    raw = ("全乡 设置 卡口 3 个 ，其中 1 个 在村口，1 个\n在路口 。\n\n"
           "共 有 干部 3 名 ，1 名 值守；另 有 3 名 志愿者 , 3名 党员 。\n")
    doc_path = tmp_path / "noisy.txt"
    doc_path.write_text(raw, encoding="utf-8")
    ex = api.extract_document(read_document(doc_path))
    assert len(ex.claims) >= 4
    write_tables(build_tables([ex]), tmp_path / "out")
    report = tmp_path / "r.html"
    write_report(tmp_path / "out", report)
    page = parse(report)
    for c in ex.claims:
        assert re.sub(r"\s", "", page.mark_text[c.claim_id]) == re.sub(r"\s", "", c.quote).replace(",", "，")
    assert 'class="unplaced"' not in report.read_text(encoding="utf-8")


def test_report_shows_facts_and_flags_mismatched_breakdowns(seeds_out):
    """A claim's panel data names its fact, its other mentions and its parts; a total whose parts
    do not add up is marked, and its document says so; summary sums count each figure once."""
    from pipeline.notebook import load
    from pipeline.review.report import claims_data

    docs = prepare(load(seeds_out))
    facts = pd.read_parquet(seeds_out / "facts.parquet")
    bad = facts[facts.parts_status == "mismatch"]
    assert len(bad) > 0
    data = claims_data(docs)
    marked = {c.id for d in docs for c in d.claims if c.mismatch}
    assert marked == {cid for cid, rec in data.items() if rec.get("fact_id") in set(bad.fact_id) and cid.split(":")[0] in set(bad.doc_id)
                      and (rec["fact_id"], cid.split(":")[0]) in set(zip(bad.fact_id, bad.doc_id))}
    repeated = facts[facts.n_mentions > 1].iloc[0]
    first = data[repeated.first_claim]
    assert len(first["mentions"]) == repeated.n_mentions - 1
    total = data[bad.iloc[0].first_claim]
    assert total["parts"] and "mismatch" in total["check"]
    assert all(data[p]["total"] == bad.iloc[0].first_claim for p in total["parts"])
    counted = [c for d in docs for c in d.claims if c.counted and c.rec.get("fact_id")]
    assert len(counted) == len(facts) - int(facts.part_of.notna().sum()) - int(facts.replaced_by.notna().sum())
    html = render_document(docs[0])
    assert 'class="mismatch-note"' in html and "mismatch" in html


def test_report_folder_mode(seeds_out, tmp_path):
    out = tmp_path / "review"
    result = CliRunner().invoke(cli, ["report", str(seeds_out), "-o", str(out)])
    assert result.exit_code == 0, result.output
    docs = pd.read_parquet(seeds_out / "documents.parquet")
    claims = pd.read_parquet(seeds_out / "claims.parquet")
    pages = sorted((out / "docs").glob("*.html"))
    assert len(pages) == len(docs)
    index = parse(out / "index.html")
    assert not index.with_attr("data-claim-id")
    assert_self_contained(index)
    links = [a["href"] for _, a in index.tags if _ == "a" and a.get("href", "").startswith("docs/")]
    assert sorted((out / h).resolve() for h in links) == [p.resolve() for p in pages]
    total = 0
    for p in pages:
        page = parse(p)
        assert_self_contained(page)
        total += len(page.with_attr("data-claim-id"))
        ids = {a.get("id") for _, a in page.tags}
        assert {"claimq", "csv"} <= ids  # a document page searches and exports its own claims
    assert total == len(claims)
    # the index carries no claims' data: it searches documents only
    assert not {"claimq", "csv"} & {a.get("id") for _, a in index.tags} and "docq" in {a.get("id") for _, a in index.tags}


def test_report_localities_and_dataset_folder(seeds_out, tmp_path):
    """Filled locality columns feed the place filter and summary; a claims/ dataset folder is read too."""
    run = tmp_path / "run"
    shutil.copytree(seeds_out, run)
    claims = read_table(run, "claims")  # typed dates as datetimes: a partition of nulls keeps their type
    claims["province"], claims["city"], claims["county"] = "山西省", "吕梁市", "柳林县"
    claims["township"] = ["高家沟乡" if i % 2 else None for i in range(len(claims))]
    claims["village"] = None
    claims["locality"] = claims["township"].fillna("柳林县")
    (run / "claims.parquet").unlink()
    (run / "claims.jsonl").unlink()
    for cat, part in claims.groupby("category"):
        folder = run / "claims" / f"category={cat}"
        folder.mkdir(parents=True)
        part.drop(columns="category").to_parquet(folder / "part-0.parquet", index=False)
    out = load(run)
    assert len(out.claims) == len(claims) and list(out.claims.columns) == list(claims.columns)
    assert isinstance(out.claims.category.dtype, pd.CategoricalDtype)
    assert sql(run, "select count(*) as n from claims").n[0] == len(claims)
    assert sql(run, "select count(*) as n from claims where township = '高家沟乡'").n[0] == len(claims) // 2
    report = tmp_path / "r.html"
    write_report(run, report)
    text = report.read_text(encoding="utf-8")
    assert 'value="山西省›吕梁市›柳林县›高家沟乡"' in text  # place filter option
    assert 'data-level="township"' in text and ">高家沟乡</td>" in text  # summary row
    assert len(parse(report).with_attr("data-claim-id")) == len(claims)


def test_unplaceable_claim_is_still_shown(seeds_out, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(seeds_out, run)
    claims = pd.read_parquet(run / "claims.parquet")
    claims.loc[0, "quote"] = "不在文中的引文"
    claims.to_parquet(run / "claims.parquet", index=False)
    report = tmp_path / "r.html"
    write_report(run, report)
    page = parse(report)
    assert len(page.with_attr("data-claim-id")) == len(claims)
    assert page.mark_text[claims.claim_id[0]] == "不在文中的引文"
    assert 'class="unplaced"' in report.read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# Explain


def test_explain_level_and_age(tmp_path):
    result = CliRunner().invoke(cli, ["explain", str(SEEDS / "004_40bbe84cade21073.txt"), "--para", "0"])
    assert result.exit_code == 0, result.output
    assert re.search(r'"一"\s+rejected: level', result.output), result.output
    assert "CLAIM personnel 18 人" in result.output
    assert "¶1 " not in result.output  # --para keeps one paragraph

    f = tmp_path / "age.txt"
    f.write_text("柳林县一名65岁的老人主动报名当志愿者。全乡设置检查卡点14个，配备百余名检查人员。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(f)])
    assert result.exit_code == 0, result.output
    assert re.search(r'"65"\s+rejected: age', result.output), result.output
    assert re.search(r'"14个"\s+CLAIM checkpoint 14 个 \(eq\)', result.output), result.output


def test_explain_json_matches_the_tables(seeds_out):
    path = SEEDS / "000_c9f08fc71d402fa6.txt"
    result = CliRunner().invoke(cli, ["explain", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    doc = path.stem
    claims = pd.read_parquet(seeds_out / "claims.parquet").query("doc_id == @doc")
    rejections = pd.read_parquet(seeds_out / "rejections.parquet").query("doc_id == @doc")
    got_claims = sorted((r["start"], r["end"], r["category"]) for r in rows if r["verdict"] == "claim")
    assert got_claims == sorted(zip(claims.start, claims.end, claims.category))
    got_rej = sorted((r["start"], r["end"], r["reason"]) for r in rows if r["verdict"] == "rejected")
    assert got_rej == sorted(zip(rejections.start, rejections.end, rejections.reason))
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)


# --------------------------------------------------------------------------
# load / sql


def test_load_gives_dataframes_with_categoricals(seeds_out):
    out = load(seeds_out)
    for name in ("documents", "paragraphs", "claims", "rejections"):
        df = getattr(out, name)
        assert isinstance(df, pd.DataFrame)
        assert len(df) == len(pd.read_parquet(seeds_out / f"{name}.parquet"))
    for col in ("category", "bound", "unit", "province", "city", "county", "township", "village", "locality"):
        assert isinstance(out.claims[col].dtype, pd.CategoricalDtype), col
    assert "checkpoint" in out.claims.category.cat.categories  # every schema category, present or not
    assert isinstance(out.paragraphs.kind.dtype, pd.CategoricalDtype)
    assert isinstance(out.rejections.reason.dtype, pd.CategoricalDtype)
    plain = load(seeds_out, categorical=False)
    assert not isinstance(plain.claims.category.dtype, pd.CategoricalDtype)


def test_sql_views(seeds_out):
    n = sql(seeds_out, "select (select count(*) from documents) d, (select count(*) from paragraphs) p, "
                       "(select count(*) from claims) c, (select count(*) from rejections) r")
    out = load(seeds_out)
    assert n.iloc[0].tolist() == [len(out.documents), len(out.paragraphs), len(out.claims), len(out.rejections)]
    by = sql(seeds_out, "select category, count(*) n from claims join documents using (doc_id) group by 1 order by 1")
    assert dict(zip(by.category, by.n)) == out.claims.category.value_counts().loc[lambda s: s > 0].to_dict()


def test_committed_outputs_load():
    if not (ROOT / "outputs" / "claims.parquet").is_file():
        pytest.skip("outputs/ has not been generated (make run)")
    out = load(ROOT / "outputs")
    assert len(out.documents) == len(list(SEEDS.glob("*.txt"))) and len(out.claims) > 0


# --------------------------------------------------------------------------
# Notebook


def kernel_name() -> str:
    """A kernel that runs this interpreter: `python3` when its spec resolves to it, else one
    installed into this environment."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        exe = spec.argv[0]
        if exe in ("python", "python3", f"python{sys.version_info[0]}") or Path(exe) == Path(sys.executable):
            return "python3"  # jupyter_client swaps a bare python for sys.executable
    except NoSuchKernel:
        pass
    import ipykernel.kernelspec

    ipykernel.kernelspec.install(kernel_name="bulletin-venv", prefix=sys.prefix)
    return "bulletin-venv"


def run_notebook(path: Path, cwd: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name=kernel_name(), timeout=120, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})]


def test_notebook_runs(seeds_out, monkeypatch):
    monkeypatch.setenv("BULLETIN_OUTPUTS", str(seeds_out))
    nb = run_notebook(NOTEBOOK, NOTEBOOK.parent)
    assert _outputs(nb, "image/png"), "the notebook draws its plot"
    table = nb.cells[6].outputs[0]["data"]["text/plain"]
    assert "checkpoint" in table and "personnel" in table
    over_time = nb.cells[-1].outputs[0]["data"]["text/plain"]  # grouped by week of the typed effective_date
    assert "sentence" in over_time and "2020-01-" in over_time


def test_notebook_without_townships(seeds_out, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(seeds_out, run)
    claims = pd.read_parquet(run / "claims.parquet")
    for col in ("province", "city", "county", "township", "village", "locality"):
        claims[col] = None
    claims.to_parquet(run / "claims.parquet", index=False)
    monkeypatch.setenv("BULLETIN_OUTPUTS", str(run))
    nb = run_notebook(NOTEBOOK, NOTEBOOK.parent)
    assert _outputs(nb, "image/png")
    assert "place unknown" in nb.cells[6].outputs[0]["data"]["text/plain"]


# --------------------------------------------------------------------------
# README.md's review section: every command and snippet runs


def review_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    return text.split("\n## Reviewing a run", 1)[1].split("\n## ", 1)[0]


def doc_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", review_section(), flags=re.S)


def test_docs_commands_run(seeds_out, tmp_path, monkeypatch):
    """Run README.md's review section in a sandbox where seeds/ is the repository's and outputs/ a fresh run."""
    sandbox = tmp_path / "sandbox"
    (sandbox / "tmp").mkdir(parents=True)
    (sandbox / "seeds").symlink_to(SEEDS)
    (sandbox / "outputs").symlink_to(seeds_out)
    (sandbox / "examples").mkdir()
    shutil.copy(NOTEBOOK, sandbox / "examples")  # a copy, so ../outputs is the sandbox's
    monkeypatch.chdir(sandbox)
    monkeypatch.delenv("BULLETIN_OUTPUTS", raising=False)

    def local(s: str) -> str:
        return s.replace("/tmp/", f"{sandbox}/tmp/")

    commands = [line.strip() for block in doc_blocks("sh") for line in block.splitlines() if line.strip().startswith("bulletin ")]
    assert len(commands) >= 6
    for line in commands:
        line = line.split("||")[0]
        args = shlex.split(local(line), comments=True)[1:]
        target = None
        if ">" in args:
            k = args.index(">")
            args, target = args[:k], args[k + 1]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        if target:
            Path(target).write_text(result.stdout, encoding="utf-8")
    assert (sandbox / "report.html").is_file() and (sandbox / "review" / "index.html").is_file()
    assert (sandbox / "tmp" / "claims-diff.md").read_text(encoding="utf-8").startswith("## Claims diff")

    snippets = doc_blocks("python")
    assert len(snippets) >= 2
    for code in snippets:
        exec(compile(local(code), str(DOCS), "exec"), {"__name__": "__docs__"})
    assert (sandbox / "tmp" / "seeds-executed.ipynb").is_file()


def test_docs_facts_totals_print_what_the_readme_shows(seeds_out, tmp_path, monkeypatch):
    """The facts section's snippet, run on a fresh extraction of the seeds, prints the text block
    the README shows beside it (the naive checkpoint sums, each figure once, the mismatches)."""
    import contextlib
    import io

    pairs = re.findall(r"```python\n((?:(?!```).)*)```\n\n```text\n(.*?)```", review_section(), flags=re.S)
    assert pairs, "no python snippet with its printed output in the review section"
    (tmp_path / "outputs").symlink_to(seeds_out)
    monkeypatch.chdir(tmp_path)
    for code, shown in pairs:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(DOCS), "exec"), {"__name__": "__docs__"})
        assert printed.getvalue() == shown


def test_docs_name_real_commands():
    text = review_section()
    used = set(re.findall(r"^\s*bulletin ([a-z]+)", text, flags=re.M))
    assert {"report", "explain", "diff", "extract"} <= used <= set(cli.commands)


def test_makefile_installs_chromium_for_the_browser_test():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "apt-get install" in test_target and "chromium" in test_target
    assert "playwright install" not in makefile


def test_placement_survives_converter_noise(tmp_path):
    """Pinyin left by a converter (`萬(wàn)`) is dropped by repair but kept in the quote: every claim lands."""
    raw = "城關鎮(zhèn)共設立卡點6個(gè)，籌集資金3萬(wàn)元，抽調幹部12名(míng)。\n全鎮(zhèn)發放口罩\ufffd2000個。\n"
    doc_path = tmp_path / "pinyin.txt"
    doc_path.write_text(raw, encoding="utf-8")
    ex = api.extract_document(read_document(doc_path))
    assert any("(wàn)" in c.quote for c in ex.claims)
    write_tables(build_tables([ex]), tmp_path / "out")
    report = tmp_path / "r.html"
    write_report(tmp_path / "out", report)
    page = parse(report)
    assert set(page.mark_text) >= {c.claim_id for c in ex.claims}
    assert 'class="unplaced"' not in report.read_text(encoding="utf-8")
