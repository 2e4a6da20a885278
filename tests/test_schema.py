"""schema.py is the single source of truth: schemas/ must equal a fresh export."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.schema import CLAIMS, TABLES, SchemaError, render_schemas, validate

ROOT = Path(__file__).resolve().parents[1]


def test_checked_in_schemas_equal_fresh_export():
    rendered = render_schemas()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "schemas").glob("*.schema.json")}
    assert on_disk == rendered, "schemas/ is stale: run `make schemas`"


def test_claims_schema_has_the_issue_columns():
    required = ["doc_id", "para_id", "claim_id", "start", "end", "quote", "category", "item", "value", "value_hi", "iso",
                "unit", "unit_raw", "bound", "per", "locality", "province", "city", "county", "township", "village", "date", "rule"]
    assert [c for c in CLAIMS.names if c in required] == required


@pytest.mark.parametrize("name", sorted(TABLES))
def test_schema_json_is_frictionless_shaped(name):
    desc = json.loads(render_schemas()[f"{name}.schema.json"])
    assert desc["name"] == name and desc["fields"] and set(desc["primaryKey"]) <= {f["name"] for f in desc["fields"]}


def test_validate_rejects_bad_frames():
    df = pd.DataFrame({c: ["x"] for c in CLAIMS.names})
    with pytest.raises(SchemaError):
        validate(df, CLAIMS)  # category 'x' and bound 'x' are not in their enums
    with pytest.raises(SchemaError):
        validate(df[CLAIMS.names[::-1]], CLAIMS)  # column order
