"""Golden snapshots of the seeds' claims (our own output, reviewed by diff; not the gold).

`make golden` (UPDATE_GOLDEN=1) rewrites them; review the diff before committing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline import api
from pipeline.tables import build_tables, claims_jsonl

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


@pytest.mark.parametrize("seed", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_claims_match_snapshot(seed):
    tables = build_tables(api.run([seed]))
    got = claims_jsonl(tables.claims)
    snap = GOLDEN / f"{seed.stem}.claims.jsonl"
    if os.environ.get("UPDATE_GOLDEN"):
        snap.write_text(got, encoding="utf-8")
    assert snap.exists(), f"no snapshot {snap}; run `make golden`"
    assert got == snap.read_text(encoding="utf-8"), f"{seed.name}: claims differ from {snap.name}; review with `make golden` + git diff"
