"""Our own test bulletins (tests/bulletins): hand-written texts, hand-written gold, scored by the spec's rules.

The gold follows docs/CLAIMS.md, not the pipeline's output; a figure below its floor is a regression.
Floors come from tests/floors.json under "bulletins" when the lead has put them there, else from
DEFAULT_FLOORS below.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import IN_REPO_SETS, below_floors, claim_figures, run_and_score

HERE = Path(__file__).parent
DOCS, MANIFEST, GOLD = IN_REPO_SETS["bulletins"].docs, IN_REPO_SETS["bulletins"].manifest, IN_REPO_SETS["bulletins"].gold

# What the pipeline scores on these bulletins now, rounded down to 2 decimals.
# Used only when tests/floors.json has no "bulletins" entry.
DEFAULT_FLOORS = {"quantities_f1": 0.95, "dates_f1": 0.97, "category": 0.89, "locality": 0.92, "date": 1.0}


def _floors() -> dict:
    floors = json.loads((HERE / "floors.json").read_text(encoding="utf-8"))
    return floors.get("bulletins", DEFAULT_FLOORS)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_and_score(DOCS, MANIFEST, GOLD, tmp_path_factory.mktemp("bulletins"))


def test_every_bulletin_has_gold_and_a_manifest_row():
    docs = sorted(p.stem for p in DOCS.glob("*.txt"))
    assert docs and docs == sorted(p.stem for p in GOLD.glob("*.jsonl"))
    rows = MANIFEST.read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(Path(r.split(",")[0]).stem for r in rows) == docs
    assert all(r.split(",")[1] for r in rows), "every bulletin needs a publication date"


def test_gold_quotes_are_the_raw_slices():
    for gold in sorted(GOLD.glob("*.jsonl")):
        text = (DOCS / f"{gold.stem}.txt").read_text(encoding="utf-8")
        for n, line in enumerate(gold.read_text(encoding="utf-8").splitlines(), 1):
            rec = json.loads(line)
            assert rec["doc"] == gold.stem, f"{gold.name}:{n}"
            assert text[rec["start"]:rec["end"]] == rec["quote"], f"{gold.name}:{n}: {rec['quote']!r}"


def test_every_document_is_read(result):
    tables, _ = result
    docs = tables.documents
    assert len(docs) == len(list(DOCS.glob("*.txt")))
    assert docs["error"].isna().all(), docs[docs["error"].notna()][["doc_id", "error"]].to_string()


def test_score_at_or_above_floors(result):
    _, s = result
    below = below_floors(claim_figures(s), _floors())
    assert not below, f"bulletins: below floor (got, floor): {below}"
