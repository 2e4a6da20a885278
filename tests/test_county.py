"""Our own county-genre test set (tests/county): county, township and village prevention-work reports
written for this suite, with hand-decided gold, scored by the spec's rules.

The gold follows spec/CLAIMS.md, not the pipeline's output. Its offsets come from
tests/county/build_gold.py, which reads the hand-written claim lists in tests/county/claims/;
the tests below check that the gold is what those lists give, that it is valid by the spec, and
that the pipeline's score stays at or above the floors under "county_own" in tests/floors.json.
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import below_floors, claim_figures, run_and_score
from pipeline.model import Bound, Category

HERE = Path(__file__).parent
COUNTY = HERE / "county"
DOCS = COUNTY / "docs"
GOLD = COUNTY / "gold"
CLAIMS = COUNTY / "claims"
MANIFEST = COUNTY / "manifest.csv"


def _builder():
    spec = importlib.util.spec_from_file_location("county_build_gold", COUNTY / "build_gold.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_gold = _builder()
DOC_IDS = sorted(p.stem for p in DOCS.iterdir() if p.suffix in (".txt", ".html"))
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2})?)?)?$")
# A page left out of the manifest must carry its own publication line (the issue asks that it gives the date).
PUBLICATION_LINE = re.compile(r"(发布时间|发布日期|时间)[:：]\s*(\d{4})-\d{2}-\d{2}")


def _gold(doc: str) -> list[dict]:
    return [json.loads(line) for line in (GOLD / f"{doc}.jsonl").read_text(encoding="utf-8").splitlines()]


def _text(doc: str) -> str:
    return build_gold.document_text(next(p for p in DOCS.iterdir() if p.stem == doc))


def _manifest_rows() -> list[dict]:
    with MANIFEST.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_document_has_gold_and_a_claim_list():
    assert len(DOC_IDS) >= 12
    assert DOC_IDS == sorted(p.stem for p in GOLD.glob("*.jsonl"))
    assert DOC_IDS == sorted(p.stem for p in CLAIMS.glob("*.claims"))


def test_manifest_leaves_out_only_pages_with_a_publication_line():
    rows = _manifest_rows()
    listed = {Path(r["path"]).stem for r in rows}
    assert listed <= set(DOC_IDS), sorted(listed - set(DOC_IDS))
    for r in rows:
        assert (COUNTY / r["path"]).is_file(), r["path"]
        dt.date.fromisoformat(r["published"])
    left_out = sorted(set(DOC_IDS) - listed)
    assert 1 <= len(left_out) <= 2, left_out
    for doc in left_out:
        raw = next(p for p in DOCS.iterdir() if p.stem == doc).read_text(encoding="utf-8")
        assert PUBLICATION_LINE.search(raw), f"{doc}: not in the manifest, and no 发布时间 line gives its date"


@pytest.mark.parametrize("doc", DOC_IDS)
def test_gold_is_what_the_claim_list_gives(doc):
    """Offsets are computed, never typed: the committed gold equals a fresh build (for the HTML page
    this fails when HTML extraction changes: run tests/county/build_gold.py again)."""
    assert build_gold.build(doc) == (GOLD / f"{doc}.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", DOC_IDS)
def test_gold_quotes_are_the_raw_slices(doc):
    text = _text(doc)
    for n, rec in enumerate(_gold(doc), 1):
        assert rec["doc"] == doc, f"{doc}.jsonl:{n}"
        assert 0 <= rec["start"] < rec["end"] <= len(text), f"{doc}.jsonl:{n}"
        assert text[rec["start"]:rec["end"]] == rec["quote"], f"{doc}.jsonl:{n}: {rec['quote']!r}"


def _check_record(rec: dict, where: str) -> None:
    assert set(rec) - {"note"} == set(build_gold.FIELDS), f"{where}: fields {sorted(set(rec) ^ set(build_gold.FIELDS))}"
    assert rec["category"] in {c.value for c in Category}, where
    assert rec["bound"] in {b.value for b in Bound} | {"range"}, where
    assert isinstance(rec["optional"], bool), where
    assert isinstance(rec["item"], str) and rec["item"].strip(), where
    assert isinstance(rec["locality"], str) and rec["locality"].strip(), where
    assert rec["county"] is None or (isinstance(rec["county"], str) and rec["county"].strip()), where
    assert (rec["bound"] == "range") == (rec["value_hi"] is not None), where
    if rec["category"] == "date":
        assert isinstance(rec["value"], str) and ISO.match(rec["value"]), where
        assert rec["unit"] is None and rec["date"] is None and rec["per"] is None, where
        assert all(rec[k] is None for k in ("fact", "part_of", "replaced_by", "aspect", "measure", "origin")), where
        return
    assert isinstance(rec["value"], (int, float)) and not isinstance(rec["value"], bool), where
    assert isinstance(rec["unit"], str) and rec["unit"], where
    assert rec["date"] is None or ISO.match(rec["date"]), where
    assert isinstance(rec["fact"], str) and rec["fact"], where
    assert rec["aspect"] in build_gold.ASPECTS | {None}, where
    if rec["category"] != "cases":
        assert rec["measure"] is None and rec["origin"] is None, where
    assert rec["measure"] in build_gold.MEASURES | {None}, where
    assert rec["origin"] in build_gold.ORIGINS | {None}, where
    if rec["value_hi"] is not None:
        assert rec["value_hi"] > rec["value"], where


@pytest.mark.parametrize("doc", DOC_IDS)
def test_gold_fields_follow_the_spec(doc):
    records = _gold(doc)
    for n, rec in enumerate(records, 1):
        _check_record(rec, f"{doc}.jsonl:{n}")
    spans = [(r["start"], r["end"]) for r in records]
    assert spans == sorted(spans) and len(set(spans)) == len(spans), f"{doc}: spans unsorted or repeated"


@pytest.mark.parametrize("doc", DOC_IDS)
def test_gold_facts_hold_together(doc):
    """part_of and replaced_by name facts of the same document; one fact is one figure (same value
    and unit in all its mentions); the parts of a total never add up to more than it."""
    records = [r for r in _gold(doc) if r["category"] != "date"]
    facts: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        facts[r["fact"]].append(r)
    for fact, mentions in facts.items():
        assert len({(m["value"], m["unit"]) for m in mentions}) == 1, f"{doc}: fact {fact} has different figures"
    parts: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        for key in ("part_of", "replaced_by"):
            assert r[key] is None or r[key] in facts, f"{doc}: {r['quote']!r} {key}={r[key]!r} names no fact"
        assert r["part_of"] is None or r["part_of"] != r["fact"], f"{doc}: {r['quote']!r} is a part of itself"
        if r["part_of"] is not None:
            parts[r["part_of"]].append(r)
    for total, members in parts.items():
        whole = facts[total][0]
        same_unit = {m["fact"]: m["value"] for m in members if m["unit"] == whole["unit"]}
        assert sum(same_unit.values()) <= whole["value"] * (1 + 1e-9), f"{doc}: the parts of {total} exceed it"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_and_score(DOCS, MANIFEST, GOLD, tmp_path_factory.mktemp("county"))


def test_every_document_is_read(result):
    tables, _ = result
    docs = tables.documents
    assert sorted(docs["doc_id"]) == DOC_IDS
    assert docs["error"].isna().all(), docs[docs["error"].notna()][["doc_id", "error"]].to_string()


def test_score_at_or_above_floors(result):
    _, s = result
    floors = json.loads((HERE / "floors.json").read_text(encoding="utf-8"))["county_own"]
    below = below_floors(claim_figures(s), floors)
    assert not below, f"county_own: below floor (got, floor): {below}"
