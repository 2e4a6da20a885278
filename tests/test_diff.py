"""Diffing two output folders: added, removed, changed claims, reports and the exit verdict."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline.review.diff import (
    diff_claims,
    diff_outputs,
    format_diff,
    load_output_claims,
    parse_fail_on,
    should_fail,
)
from pipeline.model import InputError


def claim(start, end, value=15, unit="个", *, doc="d", category="organization", **extra):
    rec = {
        "doc": doc, "start": start, "end": end, "quote": f"q{start}", "category": category,
        "item": "x", "value": value, "value_hi": None, "unit": unit, "bound": "eq", "per": None,
        "locality": "柳林县", "county": "柳林县", "date": None, "rule": "r",
    }
    rec.update(extra)
    return rec


def write_out(folder, claims):
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "claims.jsonl").open("w", encoding="utf-8") as fh:
        for c in claims:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    return folder


OLD = [
    claim(0, 3),
    claim(10, 13, 3, "人", category="personnel"),
    claim(20, 24, "2020-01-25", None, category="date"),
    claim(30, 33, doc="a"),
]
NEW = [
    claim(0, 3, 15.0),  # same value as a float: not a change
    claim(10, 13, 4, "人", category="population", locality="崇文街道"),
    claim(40, 42, 2, "辆", category="supplies"),
    claim(30, 33, doc="a", rule="r2"),
]


@pytest.fixture
def sample():
    return diff_claims(OLD, NEW)


def test_added_removed_changed(sample):
    assert [(c["doc"], c["start"]) for c in sample.added] == [("d", 40)]
    assert [(c["doc"], c["start"]) for c in sample.removed] == [("d", 20)]
    assert [ch.key for ch in sample.changed] == [("a", 30, 33), ("d", 10, 13)]  # sorted by doc
    assert sample.changed[1].fields == ["category", "locality", "value"]
    assert sample.changed[0].fields == ["rule"]
    assert sample.unchanged == 1 and not sample.identical


def test_summary_by_category_and_field(sample):
    assert sample.by_category == {
        "date": {"added": 0, "removed": 1, "changed": 0},
        "organization": {"added": 0, "removed": 0, "changed": 1},
        "population": {"added": 0, "removed": 0, "changed": 1},
        "supplies": {"added": 1, "removed": 0, "changed": 0},
    }
    assert sample.by_field == {"category": 1, "locality": 1, "rule": 1, "value": 1}


def test_ignored_fields_are_not_changes():
    d = diff_claims(OLD, NEW, ignore={"rule"})
    assert [ch.key for ch in d.changed] == [("d", 10, 13)]


@pytest.mark.parametrize(
    "old, new, changed",
    [
        (1400.0, 1400.0000000001, False),
        (0.1 + 0.2, 0.3, False),
        (1400, 1401, True),
        (None, 0, True),
        ("2020-01", "2020-01-25", True),
    ],
)
def test_value_tolerance(old, new, changed):
    d = diff_claims([claim(0, 3, old)], [claim(0, 3, new)])
    assert bool(d.changed) is changed


def test_missing_key_counts_as_null():
    old = claim(0, 3)
    new = {k: v for k, v in claim(0, 3).items() if k != "per"}
    assert diff_claims([old], [new]).identical
    new["extra"] = "x"
    assert diff_claims([old], [new]).by_field == {"extra": 1}


def test_two_claims_on_one_span_pair_by_content():
    a, b = claim(0, 3, 1), claim(0, 3, 2)
    assert diff_claims([a, b], [b, a]).identical
    assert diff_claims([a], [a, b]).added == [b]


@pytest.mark.parametrize(
    "fail_on, fails",
    [
        ({"any"}, True),
        (set(), False),
        ({"added"}, True),
        ({"removed"}, True),
        ({"changed"}, True),
        ({"value"}, True),
        ({"category"}, True),
        ({"county"}, False),
        ({"rule", "county"}, True),
    ],
)
def test_should_fail(sample, fail_on, fails):
    assert should_fail(sample, fail_on) is fails


def test_should_fail_by_kind_only_when_that_kind_is_present():
    only_added = diff_claims([claim(0, 3)], [claim(0, 3), claim(5, 6)])
    assert should_fail(only_added, {"added"})
    assert not should_fail(only_added, {"removed", "changed", "value"})
    assert should_fail(only_added)  # default: any


@pytest.mark.parametrize(
    "text, kinds",
    [(None, {"any"}), ("added,value", {"added", "value"}), (" removed ", {"removed"}), ("none", set()), ("", set())],
)
def test_parse_fail_on(text, kinds):
    assert parse_fail_on(text) == kinds


def test_identical_dirs_have_no_diff(tmp_path):
    write_out(tmp_path / "old", OLD)
    write_out(tmp_path / "new", list(reversed(OLD)))
    d = diff_outputs(tmp_path / "old", tmp_path / "new")
    assert d.identical and d.unchanged == len(OLD)
    assert not should_fail(d)
    assert "no differences" in format_diff(d, "text")
    assert json.loads(format_diff(d, "json"))["identical"] is True


def test_text_report(sample):
    text = format_diff(sample, "text")
    assert "1 added, 1 removed, 2 changed, 1 unchanged" in text
    assert '+ d 40-42 "q40" = 2 辆 (supplies)' in text
    assert 'value: 3 → 4' in text and 'category: "personnel" → "population"' in text


def test_markdown_report(sample):
    md = format_diff(sample, "markdown")
    assert "| category | added | removed | changed |" in md
    assert "| supplies | 1 | 0 | 0 |" in md
    assert "| value | 1 |" in md
    assert "### Changed (2)" in md


def test_json_report_parses(sample):
    d = json.loads(format_diff(sample, "json"))
    assert d["counts"] == {"old": 4, "new": 4, "added": 1, "removed": 1, "changed": 2, "unchanged": 1}
    assert d["by_category"]["supplies"]["added"] == 1
    assert d["changed"][1]["changes"][0] == {"field": "category", "old": "personnel", "new": "population"}


def test_unknown_format(sample):
    with pytest.raises(ValueError, match="unknown diff format"):
        format_diff(sample, "html")


def test_parquet_fallback_folds_iso_into_value(tmp_path):
    rows = [
        {**claim(0, 3), "iso": None},
        {**claim(20, 24, None, None, category="date"), "iso": "2020-01-25"},
    ]
    folder = tmp_path / "pq"
    folder.mkdir()
    pd.DataFrame(rows).to_parquet(folder / "claims.parquet")
    loaded = load_output_claims(folder)
    assert [c["value"] for c in loaded] == [15, "2020-01-25"]
    assert "iso" not in loaded[0] and loaded[0]["per"] is None
    jsonl = write_out(tmp_path / "js", [claim(0, 3), claim(20, 24, "2020-01-25", None, category="date")])
    assert diff_outputs(jsonl, folder).identical


def test_missing_claims_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="claims.jsonl"):
        load_output_claims(tmp_path)


# ---------------------------------------------------------------- facts fields


def test_renumbered_facts_are_not_changes_but_regrouped_ones_are():
    old = [claim(0, 3, fact="f1"), claim(10, 13, 5, fact="f2", part_of="f1"), claim(20, 23, fact="f1")]
    # a new figure at 5 renumbers everything after it: the same relations, other ids
    new = [claim(0, 3, fact="f1"), claim(5, 7, 9, fact="f2"), claim(10, 13, 5, fact="f3", part_of="f1"),
           claim(20, 23, fact="f1")]
    d = diff_claims(old, new)
    assert [c["start"] for c in d.added] == [5] and not d.changed
    # the mention at 20 becomes a figure of its own, and the part now points at it
    regrouped = [claim(0, 3, fact="f1"), claim(10, 13, 5, fact="f2", part_of="f3"), claim(20, 23, fact="f3")]
    d = diff_claims(old, regrouped)
    changes = {(ch.key[1], c.field): (c.old, c.new) for ch in d.changed for c in ch.changes}
    assert changes == {(10, "part_of"): ("@0-3", "@20-23"), (20, "fact"): ("@0-3", "@20-23")}
    assert d.by_field == {"fact": 1, "part_of": 1}
    assert should_fail(d, parse_fail_on("part_of")) and not should_fail(d, parse_fail_on("value"))


def test_aspect_measure_origin_changes_are_reported():
    d = diff_claims([claim(0, 3, 2, "例", category="cases", fact="f1", aspect="new", measure="confirmed", origin=None)],
                    [claim(0, 3, 2, "例", category="cases", fact="f1", aspect="cumulative", measure="confirmed", origin="local")])
    assert d.by_field == {"aspect": 1, "origin": 1}
    assert 'aspect: "new" → "cumulative"' in format_diff(d)
