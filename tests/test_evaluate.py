"""Scoring as CLAIMS.md "Scoring" says: matching, optional claims, accuracies, reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import IN_REPO_SETS, SHARED_SETS, shared_dir
from pipeline.review.evaluate import (
    format_score,
    gold_doc_ids,
    load_claims_jsonl,
    max_matching,
    same_place,
    score,
    score_to_dict,
    values_equal,
)
from pipeline.model import InputError


def claim(start, end, value=15, unit="个", *, doc="d", category="organization", locality="柳林县",
          date=None, optional=False, quote=None, **extra):
    rec = {
        "doc": doc, "start": start, "end": end, "quote": quote if quote is not None else f"q{start}",
        "category": category, "item": "x", "value": value, "value_hi": None, "unit": unit,
        "bound": "eq", "per": None, "locality": locality, "county": None, "date": date,
        "optional": optional,
    }
    rec.update(extra)
    return rec


def date_claim(start, end, iso="2020-01-25", **kw):
    return claim(start, end, iso, None, category="date", **kw)


# ---------------------------------------------------------------- matching


@pytest.mark.parametrize(
    "gold, pred, tp",
    [
        pytest.param(claim(10, 13), claim(10, 13), 1, id="same span"),
        pytest.param(claim(10, 13), claim(12, 20), 1, id="one shared char"),
        pytest.param(claim(10, 13), claim(5, 30), 1, id="pred contains gold"),
        pytest.param(claim(10, 13), claim(13, 16), 0, id="adjacent after"),
        pytest.param(claim(10, 13), claim(7, 10), 0, id="adjacent before"),
        pytest.param(claim(10, 13), claim(10, 13, doc="e"), 0, id="other doc"),
        pytest.param(claim(10, 13, 138000), claim(10, 13, 138000.0001), 1, id="within rel tol"),
        pytest.param(claim(10, 13, 138000), claim(10, 13, 138001), 0, id="beyond rel tol"),
        pytest.param(claim(10, 13, 0, "例"), claim(10, 13, 0.0, "例"), 1, id="zero equals zero"),
        pytest.param(claim(10, 13, 0, "例"), claim(10, 13, 1e-9, "例"), 0, id="zero is exact"),
        pytest.param(claim(10, 13, 1400, "kg"), claim(10, 13, 1400, "吨"), 0, id="unit differs"),
        pytest.param(claim(10, 13, 5, None), claim(10, 13, 5, None), 1, id="no unit both"),
        pytest.param(claim(10, 13, 5, None), claim(10, 13, 5, "个"), 0, id="unit vs none"),
        pytest.param(date_claim(0, 4), date_claim(0, 4), 1, id="same date"),
        pytest.param(date_claim(0, 4), date_claim(0, 4, "2020-01-24"), 0, id="other date"),
        pytest.param(date_claim(0, 4, "2020"), claim(0, 4, 2020, None), 0, id="date vs number"),
    ],
)
def test_match_rules(gold, pred, tp):
    s = score([gold], [pred], docs={gold["doc"], pred["doc"]})
    assert (s.groups["all"].tp, s.groups["all"].fp, s.groups["all"].fn) == (tp, 1 - tp, 1 - tp)


@pytest.mark.parametrize(
    "a, b, equal",
    [(1, 1.0, True), (1e6, 1e6 + 0.5, True), (1e6, 1e6 + 2, False), (0, 0, True),
     ("2020-01-25", "2020-01-25", True), ("2020-01", "2020-01-25", False),
     ("5", 5, False), (True, 1, False), (float("nan"), float("nan"), False)],
)
def test_values_equal(a, b, equal):
    assert values_equal(a, b) is equal


def test_two_predictions_over_one_gold_give_one_tp_one_fp():
    s = score([claim(10, 13)], [claim(10, 13), claim(11, 14)])
    assert (s.groups["all"].tp, s.groups["all"].fp, s.groups["all"].fn) == (1, 1, 0)
    assert [(r.start, r.end) for r in s.spurious] == [(11, 14)]  # the exact span wins


def test_matching_is_maximum_not_greedy():
    # Gold A (0-5) matches both predictions, gold B (4-8) only the first; greedy A→p0 would leave B.
    gold = [claim(0, 5), claim(4, 8)]
    pred = [claim(3, 6), claim(0, 2)]
    assert max_matching(gold, pred) == {0: 1, 1: 0}
    assert score(gold, pred).groups["all"].tp == 2


def test_matching_is_deterministic_under_prediction_order():
    gold = [claim(0, 5), claim(4, 8)]
    pred = [claim(3, 6), claim(0, 2), claim(4, 7)]
    a, b = score(gold, pred), score(gold, list(reversed(pred)))
    assert score_to_dict(a) == score_to_dict(b)


# ---------------------------------------------------------------- optional gold


def test_optional_gold_missed_is_not_a_miss():
    s = score([claim(0, 2), claim(10, 12, optional=True)], [claim(0, 2)])
    assert (s.recall, s.precision, s.optional_gold) == (1.0, 1.0, 1)


def test_prediction_matching_optional_gold_is_not_spurious():
    s = score([claim(0, 2), claim(10, 12, optional=True)], [claim(0, 2), claim(10, 12)])
    assert (s.groups["all"].tp, s.groups["all"].fp, s.optional_pred) == (1, 0, 1)


def test_prediction_overlapping_only_optional_gold_is_left_out_even_if_wrong():
    s = score([claim(10, 12, 8, "项", optional=True)], [claim(10, 13, 9, "项")])
    assert (s.groups["all"].fp, s.optional_pred) == (0, 1)


def test_prediction_overlapping_optional_and_required_gold_still_counts():
    gold = [claim(10, 12, optional=True), claim(12, 15, 3, "人")]
    s = score(gold, [claim(11, 13, 99, "人")])
    assert (s.groups["all"].fp, s.groups["all"].fn, s.optional_pred) == (1, 1, 0)


# ---------------------------------------------------------------- groups, scope


def test_groups_split_dates_from_quantities():
    gold = [date_claim(0, 4), claim(10, 13), claim(20, 23, 3, "人")]
    pred = [date_claim(0, 4), claim(10, 13), date_claim(30, 34)]
    d = score_to_dict(score(gold, pred))
    assert (d["dates"]["tp"], d["dates"]["fp"], d["dates"]["fn"]) == (1, 1, 0)
    assert (d["quantities"]["tp"], d["quantities"]["fp"], d["quantities"]["fn"]) == (1, 0, 1)
    assert (d["all"]["tp"], d["all"]["fp"], d["all"]["fn"]) == (2, 1, 1)
    assert d["all"]["precision"] == pytest.approx(2 / 3)
    assert d["all"]["f1"] == pytest.approx(2 / 3)


def test_predictions_for_documents_without_gold_are_counted_apart():
    s = score([claim(0, 2)], [claim(0, 2), claim(0, 2, doc="other")])
    assert (s.groups["all"].fp, s.other_docs_pred) == (0, 1)
    s = score([claim(0, 2)], [claim(0, 2), claim(0, 2, doc="other")], docs=["d", "other"])
    assert s.groups["all"].fp == 1
    assert s.per_doc["other"]["all"].fp == 1


def test_per_document_counts():
    gold = [claim(0, 2, doc="a"), claim(0, 2, doc="b")]
    s = score(gold, [claim(0, 2, doc="a")])
    assert (s.per_doc["a"]["all"].f1, s.per_doc["b"]["all"].recall) == (1.0, 0.0)


def test_empty_sets_score_one_and_empty_pairs_have_no_accuracy():
    s = score([], [], docs=["d"])
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.accuracy["category"].value is None


def test_claim_without_offsets_is_an_input_error():
    with pytest.raises(InputError, match="without start"):
        score([claim(0, 2)], [{"doc": "d", "end": 2}])


# ---------------------------------------------------------------- accuracies


@pytest.mark.parametrize(
    "gold, pred, ok",
    [
        ("柳林县", "柳林", True),
        ("柳林", "柳林县", True),
        ("崇文街道", "崇文", True),
        ("柳林县", "山西省/吕梁市/柳林县", True),
        ("柳林县", "山西省>吕梁市>柳林", True),
        ("柱濮新区", "柱濮", True),
        ("湖北", "湖北省", True),
        ("上海市", "上海", True),
        ("新村街道", "新村", True),
        ("广西", "广西壮族自治区", True),
        ("花乡", "花乡", True),
        ("全国", "全国", True),
        ("全国", "中国", False),
        ("柳林县", "孝义市", False),
        ("柳林县", "山西省/吕梁市", False),
        ("广西", "广州市", False),
        ("柳林县", None, False),
    ],
)
def test_same_place(gold, pred, ok):
    assert same_place(gold, pred) is ok


def test_accuracies_over_matched_pairs():
    gold = [
        claim(0, 2, category="personnel", locality="柳林县", date="2020-02-01"),
        claim(10, 12, category="personnel", locality="崇文街道", date=None),
        claim(20, 22, category="funds", locality="全国", date="2020-02-03"),
        claim(30, 32, category="funds"),  # missed: no effect on accuracies
    ]
    pred = [
        claim(0, 2, category="personnel", locality="山西省/吕梁市/柳林县", date="2020-02-01"),
        claim(10, 12, category="population", locality="崇文", date=None),
        claim(20, 22, category="funds", locality="北京市", date=None),
    ]
    s = score(gold, pred)
    acc = score_to_dict(s)["accuracy"]
    assert acc["category"] == {"correct": 2, "total": 3, "accuracy": pytest.approx(2 / 3)}
    assert acc["locality"]["correct"] == 2
    assert (acc["date"]["correct"], acc["date"]["total"]) == (2, 3)
    assert (acc["date_given"]["correct"], acc["date_given"]["total"]) == (1, 2)
    wrong = {(m.field, m.start, m.gold, m.pred) for m in s.mismatches}
    assert wrong == {
        ("category", 10, "personnel", "population"),
        ("locality", 20, "全国", "北京市"),
        ("date", 20, "2020-02-03", None),
    }


# ---------------------------------------------------------------- reports


def test_format_score_shows_the_numbers_and_errors():
    gold = [claim(0, 3, quote="15个"), claim(10, 13, 3, "人", quote="3名", category="personnel")]
    pred = [claim(0, 3, quote="15个", category="activity"), claim(40, 44, 7, "户", quote="7户")]
    s = score(gold, pred)
    plain = format_score(s, errors=False)
    assert "0.500" in plain  # P = R = F1 = 1/2
    assert "d" in plain and "missed" not in plain
    text = format_score(s, errors=True)
    assert '10-13 "3名" = 3 人 (personnel)' in text
    assert '40-44 "7户" = 7 户 (organization)' in text
    assert 'wrong category: 1' in text and 'gold organization, pred activity' in text


def test_score_to_dict_is_json():
    s = score([claim(0, 2), date_claim(5, 9)], [claim(0, 2)])
    d = json.loads(json.dumps(score_to_dict(s), ensure_ascii=False))
    assert d["all"]["recall"] == 0.5
    assert d["misses"][0]["value"] == "2020-01-25"


def test_load_claims_jsonl_files_and_folders(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(claim(0, 2)) + "\n\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps(claim(3, 4, doc="b")) + "\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not claims", encoding="utf-8")
    assert len(load_claims_jsonl(tmp_path)) == 2
    assert len(load_claims_jsonl([tmp_path / "a.jsonl"])) == 1
    assert gold_doc_ids(tmp_path) == ["a", "b"]
    (tmp_path / "c.jsonl").write_text("{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"c\.jsonl:1"):
        load_claims_jsonl(tmp_path)


# ---------------------------------------------------------------- the shared gold


def gold_files() -> list[Path]:
    """Every gold file: the repository's (seeds, our bulletins) and the shared sets' where present."""
    files = [p for s in IN_REPO_SETS.values() for p in sorted(s.gold.glob("*.jsonl"))]
    return files + [p for folder in SHARED_SETS.values() for p in sorted((shared_dir() / folder / "gold").glob("*.jsonl"))]


@pytest.mark.parametrize("path", gold_files(), ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_gold_scores_perfectly_against_itself(path):
    gold = load_claims_jsonl(path)
    s = score(gold, gold, docs=gold_doc_ids(path))
    for group in ("all", "quantities", "dates"):
        c = s.groups[group]
        assert (c.precision, c.recall, c.f1) == (1.0, 1.0, 1.0), group
    assert all(a.value in (1.0, None) for a in s.accuracy.values())
    assert not (s.misses or s.spurious or s.mismatches)
    if s.facts is not None:
        assert all(c.f1 == 1.0 for c in s.facts.links.values())
        assert all(a.value in (1.0, None) for a in s.facts.typed.values())
        assert all(a.correct == 0 for a in s.facts.typed_null.values()) and not s.facts.errors


# ---------------------------------------------------------------- facts (CLAIMS.md "Facts")


def fact_claim(start, value, fact, *, part_of=None, replaced_by=None, aspect=None, measure=None, origin=None, **kw):
    return claim(start, start + 2, value, "例", category="cases", fact=fact, part_of=part_of,
                 replaced_by=replaced_by, aspect=aspect, measure=measure, origin=origin, **kw)


def test_facts_are_not_scored_for_gold_without_the_fields():
    s = score([claim(0, 2)], [claim(0, 2)])
    assert s.facts is None and "facts" not in score_to_dict(s)


def test_same_fact_pairs():
    # gold: 0 and 10 are one fact (one pair); 20 is alone. The prediction joins 10 and 20 instead.
    gold = [fact_claim(0, 5, "f1"), fact_claim(10, 5, "f1"), fact_claim(20, 5, "f2")]
    pred = [fact_claim(0, 5, "a"), fact_claim(10, 5, "b"), fact_claim(20, 5, "b")]
    c = score(gold, pred).facts.links["same_fact"]
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)
    pred = [fact_claim(0, 5, "x"), fact_claim(10, 5, "x"), fact_claim(20, 5, "y")]
    c = score(gold, pred).facts.links["same_fact"]
    assert (c.tp, c.fp, c.fn, c.f1) == (1, 0, 0, 1.0)


def test_same_fact_pairs_count_only_matched_gold_and_stay_in_one_document():
    gold = [fact_claim(0, 5, "f1"), fact_claim(10, 5, "f1"), fact_claim(0, 5, "f1", doc="e")]
    pred = [fact_claim(0, 5, "f1"), fact_claim(0, 5, "f1", doc="e")]  # 10 is missed: its pair is not scored
    c = score(gold, pred, docs=["d", "e"]).facts.links["same_fact"]
    assert (c.tp, c.fp, c.fn) == (0, 0, 0)


def test_part_of_links_point_at_any_mention_of_the_total():
    gold = [fact_claim(0, 7, "f1"), fact_claim(10, 4, "f2", part_of="f1"), fact_claim(20, 3, "f3", part_of="f1"),
            fact_claim(30, 7, "f1")]
    # the prediction splits the total's mentions into two facts and points one part at each
    pred = [fact_claim(0, 7, "t"), fact_claim(10, 4, "p", part_of="t"), fact_claim(20, 3, "q", part_of="u"),
            fact_claim(30, 7, "u")]
    s = score(gold, pred)
    assert (s.facts.links["part_of"].tp, s.facts.links["part_of"].fp, s.facts.links["part_of"].fn) == (2, 0, 0)
    assert s.facts.links["same_fact"].fn == 1  # 0 ~ 30


def test_part_of_false_and_missed_links():
    gold = [fact_claim(0, 7, "f1"), fact_claim(10, 4, "f2", part_of="f1"), fact_claim(20, 4, "f3")]
    pred = [fact_claim(0, 7, "a"), fact_claim(10, 4, "b"), fact_claim(20, 4, "c", part_of="a"),
            fact_claim(40, 9, "z"), ]
    c = score(gold, pred).facts.links["part_of"]
    assert (c.tp, c.fp, c.fn) == (0, 1, 1)
    # a predicted link whose total is not matched is neither right nor false
    pred = [fact_claim(0, 7, "a"), fact_claim(10, 4, "b"), fact_claim(20, 4, "c", part_of="z"), fact_claim(40, 9, "z")]
    c = score(gold, pred).facts.links["part_of"]
    assert (c.tp, c.fp, c.fn) == (0, 0, 1)


def test_replaced_by_is_scored_like_part_of():
    gold = [fact_claim(0, 411, "f1", replaced_by="f2"), fact_claim(10, 631, "f2")]
    right = [fact_claim(0, 411, "a", replaced_by="b"), fact_claim(10, 631, "b")]
    wrong = [fact_claim(0, 411, "a"), fact_claim(10, 631, "b", replaced_by="a")]
    r, w = score(gold, right).facts.links["replaced_by"], score(gold, wrong).facts.links["replaced_by"]
    assert (r.tp, r.fp, r.fn) == (1, 0, 0)
    assert (w.tp, w.fp, w.fn) == (0, 1, 1)


def test_aspect_measure_origin_accuracy_and_null_share():
    gold = [fact_claim(0, 3, "f1", aspect="new", measure="confirmed", origin="local"),
            fact_claim(10, 2, "f2", aspect=None, measure="death"),
            fact_claim(20, 9, "f3", aspect="cumulative", measure="confirmed"),
            date_claim(30, 34, fact=None)]
    pred = [fact_claim(0, 3, "a", aspect="new", measure="confirmed", origin="imported"),
            fact_claim(10, 2, "b", aspect="new", measure="death"),
            fact_claim(20, 9, "c", aspect="current", measure="confirmed"),
            date_claim(30, 34, fact=None)]
    f = score(gold, pred).facts
    assert (f.typed["aspect"].correct, f.typed["aspect"].total) == (1, 2)
    assert (f.typed["measure"].correct, f.typed["measure"].total) == (3, 3)
    assert (f.typed["origin"].correct, f.typed["origin"].total) == (0, 1)
    # gold null: aspect on 10 (predicted new), origin on 10 and 20; the date is not counted
    assert (f.typed_null["aspect"].correct, f.typed_null["aspect"].total) == (1, 1)
    assert (f.typed_null["origin"].correct, f.typed_null["origin"].total) == (0, 2)
    text = format_score(score(gold, pred), errors=True)
    assert "same fact" in text and "wrong origin" in text and "gold local, pred imported" in text


def test_facts_in_score_to_dict():
    gold = [fact_claim(0, 7, "f1"), fact_claim(10, 4, "f2", part_of="f1")]
    d = json.loads(json.dumps(score_to_dict(score(gold, gold)), ensure_ascii=False))
    assert d["facts"]["part_of"]["f1"] == 1.0 and d["facts"]["docs"] == 1
