"""Score predicted claims against gold claims, as CLAIMS.md "Scoring" says.

Reads: claim records in the CLAIMS.md format (doc, start, end, quote,
category, item, value, value_hi, unit, bound, per, locality, county, date,
optional); extra keys are ignored.  Writes: a :class:`Score`.

- A prediction matches a gold claim when both are in the same document,
  their spans overlap by at least one character, their values are equal
  (numbers within a relative tolerance of 1e-6; dates as equal ISO
  strings) and their units are equal.
- Each gold claim matches at most one prediction and vice versa; the
  matching is a maximum bipartite matching, so an early greedy choice
  never costs a later match.
- Optional gold claims are left out, and so are the predictions that
  overlap optional gold claims and no other gold claim.
- Category, locality and date are accuracies over the matched pairs.
- Facts (CLAIMS.md "Facts"), over the matched pairs of the documents whose gold
  carries the fields: same-fact pairs, ``part_of`` and ``replaced_by`` links
  (precision, recall, F1), and ``aspect``, ``measure`` and ``origin`` accuracy
  where the gold gives a value, with the share of matched quantities where the
  gold says null and the prediction does not.
"""
from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..model import InputError

GROUPS = ("all", "quantities", "dates")
ACCURACIES = ("category", "locality", "date", "date_given")
LINKS = ("same_fact", "part_of", "replaced_by")
TYPED = ("aspect", "measure", "origin")
REL_TOL = 1e-6


# --------------------------------------------------------------------------
# Loading


def _as_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _jsonl_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their *.jsonl files (sorted, so loading is deterministic)."""
    files: list[Path] = []
    for path in _as_paths(paths):
        if path.is_dir():
            files.extend(sorted(path.glob("*.jsonl")))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return files


def load_claims_jsonl(paths: str | Path | Iterable[str | Path]) -> list[dict]:
    """Claim records from JSONL files, or from every *.jsonl in the folders given."""
    claims: list[dict] = []
    for path in _jsonl_files(paths):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}:{lineno}: not a JSON object")
                claims.append(record)
    return claims


def gold_doc_ids(paths: str | Path | Iterable[str | Path]) -> list[str]:
    """Document ids named by gold files (their stems): a gold file may hold no claim at all,
    and its document must still be scored, so pass these as ``score(..., docs=...)``."""
    return sorted({p.stem for p in _jsonl_files(paths)})


# --------------------------------------------------------------------------
# Comparing two claims


def _value(claim: Mapping) -> object:
    # A Parquet-derived record keeps a date's ISO string in `iso` and a null `value`.
    value = claim.get("value")
    return claim.get("iso") if value is None else value


def is_date(claim: Mapping) -> bool:
    """A date claim: its value is an ISO string (CLAIMS.md), or it says category date.

    Grouping by value type keeps a matched pair in one group, since a match needs equal values.
    """
    value = _value(claim)
    return isinstance(value, str) or (value is None and claim.get("category") == "date")


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def values_equal(a: object, b: object) -> bool:
    """Numbers within rel. tolerance 1e-6 (0 only equals 0); ISO strings exactly; no cross-type match."""
    if _is_number(a) and _is_number(b):
        if math.isnan(a) or math.isnan(b):
            return False
        return math.isclose(a, b, rel_tol=REL_TOL)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return False


def _unit(claim: Mapping) -> str | None:
    unit = claim.get("unit")
    # '' and None both mean "no unit"; a writer may produce either.
    return unit.strip() or None if isinstance(unit, str) else unit


def overlaps(a: Mapping, b: Mapping) -> bool:
    """Same document and spans share at least one character (ends are exclusive)."""
    return a["doc"] == b["doc"] and max(a["start"], b["start"]) < min(a["end"], b["end"])


def claims_match(gold: Mapping, pred: Mapping) -> bool:
    return (
        overlaps(gold, pred)
        and values_equal(_value(gold), _value(pred))
        and _unit(gold) == _unit(pred)
    )


# Longest first is not needed (every suffix is tried), but the list is the
# spec's "省, 市, 县, 区, 乡, 镇, 村, 街道, 社区, 州 …" plus the other
# administrative endings a bulletin uses.
ADMIN_SUFFIXES = (
    "特别行政区", "自治区", "自治州", "自治县", "自治旗", "新区", "地区", "街道", "社区",
    "居委会", "村委会", "苏木", "嘎查", "省", "市", "州", "盟", "县", "区", "旗", "乡", "镇",
    "街", "村",
)
_AUTONOMOUS = re.compile(r"(?:自治)?[区州县旗乡镇]$")
_ETHNIC_RUN = re.compile(r"(?:[^族]{1,4}族|维吾尔)+")
_PATH_SEP = re.compile(r"[/／>＞]")


def place_variants(name: str) -> set[str]:
    """The name and the cores it leaves with one administrative suffix taken off.

    One suffix at most, because 新村街道 is 新村, not 新.  Cores of ethnic
    autonomous units are added too (广西壮族自治区 → 广西).  Two names name the
    same place when their variant sets meet, so 柱濮 ~ 柱濮新区, 柳林 ~ 柳林县,
    新村 ~ 新村街道.
    """
    name = name.strip()
    variants = {name}
    for suffix in ADMIN_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            variants.add(name[: -len(suffix)])
    m = _AUTONOMOUS.search(name)
    if m:
        rest = name[: m.start()]
        # every cut where the remainder is a run of ethnic names; a core keeps two characters
        # at least, or 广西壮族自治区 would also leave 广 (and meet 广州)
        for i in range(2, len(rest)):
            if _ETHNIC_RUN.fullmatch(rest[i:]):
                variants.add(rest[:i])
    return variants


def predicted_place(locality: object) -> str | None:
    """The predicted locality, or the last part of a path such as 山西省/吕梁市/柳林县."""
    if not isinstance(locality, str):
        return None
    parts = [p.strip() for p in _PATH_SEP.split(locality) if p.strip()]
    return parts[-1] if parts else None


def same_place(gold: object, pred: object) -> bool:
    """Does the predicted locality name the gold place, administrative suffixes aside?
    全国 has no suffix, so it only matches itself."""
    pred_name = predicted_place(pred)
    if not isinstance(gold, str) or not gold.strip():
        return pred_name is None
    if pred_name is None:
        return False
    return bool(place_variants(gold) & place_variants(pred_name))


def _norm_date(d: object) -> object:
    return d.strip() or None if isinstance(d, str) else d


# --------------------------------------------------------------------------
# Matching


def _preference(gold: Mapping, pred: Mapping, index: int) -> tuple:
    """Among several predictions that match one gold claim, try the exact span first, then the
    widest overlap, then the earliest; the index makes the order total."""
    exact = gold["start"] == pred["start"] and gold["end"] == pred["end"]
    shared = min(gold["end"], pred["end"]) - max(gold["start"], pred["start"])
    return (not exact, -shared, pred["start"], pred["end"], index)


def max_matching(gold: Sequence[Mapping], pred: Sequence[Mapping]) -> dict[int, int]:
    """A maximum matching {gold index: pred index} by augmenting paths (Kuhn).

    Gold claims are taken in order and candidates in :func:`_preference` order, so the
    result is deterministic.  Sets are per document and small, so O(V·E) is fine.
    """
    by_doc: dict[str, list[int]] = defaultdict(list)
    for j, p in enumerate(pred):
        by_doc[p["doc"]].append(j)
    candidates = [
        sorted(
            (j for j in by_doc.get(g["doc"], ()) if claims_match(g, pred[j])),
            key=lambda j, g=g: _preference(g, pred[j], j),
        )
        for g in gold
    ]
    owner: dict[int, int] = {}  # pred index -> gold index

    def augment(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(gold)):
        if candidates[i]:
            augment(i, set())
    return {i: j for j, i in owner.items()}


# --------------------------------------------------------------------------
# Score


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def pred(self) -> int:
        return self.tp + self.fp

    # An empty denominator scores 1 when nothing was missed either way
    # (a document without dates, a perfect run), else 0.
    @property
    def precision(self) -> float:
        return self.tp / self.pred if self.pred else float(self.fn == 0)

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else float(self.fp == 0)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {
            "gold": self.gold, "pred": self.pred, "tp": self.tp, "fp": self.fp, "fn": self.fn,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
        }


@dataclass
class Accuracy:
    correct: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.correct / self.total if self.total else None

    def to_dict(self) -> dict:
        return {"correct": self.correct, "total": self.total, "accuracy": self.value}


@dataclass(frozen=True)
class ClaimRef:
    """A claim as the error lists show it."""

    doc: str
    start: int
    end: int
    quote: str
    category: str | None
    value: object
    unit: str | None

    @classmethod
    def of(cls, claim: Mapping) -> "ClaimRef":
        return cls(
            doc=claim["doc"], start=claim["start"], end=claim["end"],
            quote=claim.get("quote") or "", category=claim.get("category"),
            value=_value(claim), unit=_unit(claim),
        )


@dataclass(frozen=True)
class Mismatch:
    """A matched pair that disagrees on `field` (category, locality or date)."""

    field: str
    doc: str
    start: int
    end: int
    quote: str
    gold: object
    pred: object


@dataclass
class Score:
    groups: dict[str, Counts]  # all, quantities, dates
    accuracy: dict[str, Accuracy]  # category, locality, date, date_given
    per_doc: dict[str, dict[str, Counts]]  # doc -> group -> counts
    misses: list[ClaimRef] = field(default_factory=list)  # gold claims not matched
    spurious: list[ClaimRef] = field(default_factory=list)  # predictions not matched
    mismatches: list[Mismatch] = field(default_factory=list)
    optional_gold: int = 0  # gold claims left out as optional
    optional_pred: int = 0  # predictions left out: they overlap only optional gold
    other_docs_pred: int = 0  # predictions left out: their document has no gold
    facts: FactScore | None = None  # None when no scored document's gold carries the facts fields

    @property
    def precision(self) -> float:
        return self.groups["all"].precision

    @property
    def recall(self) -> float:
        return self.groups["all"].recall

    @property
    def f1(self) -> float:
        return self.groups["all"].f1


def _group(claim: Mapping) -> str:
    return "dates" if is_date(claim) else "quantities"


def _count(table: dict[str, Counts], claim: Mapping, kind: str) -> None:
    for name in ("all", _group(claim)):
        setattr(table[name], kind, getattr(table[name], kind) + 1)


def _new_groups() -> dict[str, Counts]:
    return {g: Counts() for g in GROUPS}


def _only_optional_overlap(pred: Mapping, optional: Sequence[Mapping], required: Sequence[Mapping]) -> bool:
    return any(overlaps(pred, g) for g in optional) and not any(overlaps(pred, g) for g in required)


def _accuracies(pairs: list[tuple[Mapping, Mapping]]) -> tuple[dict[str, Accuracy], list[Mismatch]]:
    acc = {name: Accuracy() for name in ACCURACIES}
    wrong: list[Mismatch] = []
    for g, p in pairs:
        checks = {
            "category": (g.get("category"), p.get("category"), g.get("category") == p.get("category")),
            "locality": (g.get("locality"), p.get("locality"), same_place(g.get("locality"), p.get("locality"))),
            # Over every pair, null = null is right; date_given counts only gold dates that are set.
            "date": (g.get("date"), p.get("date"), _norm_date(g.get("date")) == _norm_date(p.get("date"))),
        }
        for name, (gold_v, pred_v, ok) in checks.items():
            acc[name].total += 1
            acc[name].correct += ok
            if not ok:
                wrong.append(Mismatch(name, g["doc"], g["start"], g["end"], g.get("quote") or "", gold_v, pred_v))
        if _norm_date(g.get("date")) is not None:
            acc["date_given"].total += 1
            acc["date_given"].correct += checks["date"][2]
    return acc, wrong


def _sort_key(c: Mapping) -> tuple:
    return (c["doc"], c["start"], c["end"])


def _check(claims: Sequence[Mapping], what: str) -> None:
    for c in claims:
        missing = [k for k in ("doc", "start", "end") if c.get(k) is None]
        if missing:
            raise InputError(f"{what} claim without {', '.join(missing)}: {json.dumps(c, ensure_ascii=False)[:200]}")


# --------------------------------------------------------------------------
# Facts: same figure, parts, replacements, aspect / measure / origin


@dataclass(frozen=True)
class FactError:
    """One facts disagreement, named by the gold claim(s) it is about.

    ``kind``: ``missed pair``/``false pair`` (same fact), ``missed link``/``false link``
    (with ``field`` part_of or replaced_by), ``wrong`` (aspect, measure, origin)."""

    kind: str
    field: str
    doc: str
    start: int
    quote: str
    other_start: int | None = None
    other_quote: str | None = None
    gold: object = None
    pred: object = None


@dataclass
class FactScore:
    links: dict[str, Counts]  # same_fact (pairs), part_of, replaced_by (links)
    typed: dict[str, Accuracy]  # aspect, measure, origin: over matched claims where the gold gives one
    typed_null: dict[str, Accuracy]  # gold null: ``correct`` counts predictions that are NOT null
    docs: int = 0  # documents whose gold carries the fields
    errors: list[FactError] = field(default_factory=list)


def has_facts(claims: Iterable[Mapping]) -> bool:
    """Gold written before the facts fields existed has no ``fact`` key: it is not scored on them."""
    return any("fact" in c for c in claims)


def _fid(claim: Mapping, key: str) -> str | None:
    v = claim.get(key)
    return v.strip() or None if isinstance(v, str) else None


def _link_counts(pairs: list[tuple[Mapping, Mapping]], key: str, errors: list[FactError]) -> Counts:
    """A gold link is found when the part's prediction points at the fact of a prediction
    matched to a mention of the gold target; a predicted link with both ends matched that
    the gold lacks is false (CLAIMS.md "Parts")."""
    gold_of_pred_fact: dict[str, set[str]] = defaultdict(set)  # predicted fact -> gold facts of its matches
    for g, p in pairs:
        pf, gf = _fid(p, "fact"), _fid(g, "fact")
        if pf is not None and gf is not None:
            gold_of_pred_fact[pf].add(gf)
    c = Counts()
    for g, p in pairs:
        want, got = _fid(g, key), _fid(p, key)
        right = want is not None and got is not None and want in gold_of_pred_fact.get(got, ())
        if want is not None:
            if right:
                c.tp += 1
            else:
                c.fn += 1
                errors.append(FactError("missed link", key, g["doc"], g["start"], g.get("quote") or "", gold=want, pred=got))
        if got is not None and not right and got in gold_of_pred_fact:
            c.fp += 1
            errors.append(FactError("false link", key, g["doc"], g["start"], g.get("quote") or "", gold=want, pred=got))
    return c


def _pair_counts(pairs: list[tuple[Mapping, Mapping]], errors: list[FactError]) -> Counts:
    """Over the pairs of matched gold claims of one document: positive when both share a fact."""
    c = Counts()
    for a in range(len(pairs)):
        ga, pa = pairs[a]
        for b in range(a + 1, len(pairs)):
            gb, pb = pairs[b]
            gf = _fid(ga, "fact")
            gold_same = gf is not None and gf == _fid(gb, "fact")
            pf = _fid(pa, "fact")
            pred_same = pf is not None and pf == _fid(pb, "fact")
            if gold_same and pred_same:
                c.tp += 1
            elif gold_same or pred_same:
                kind = "missed pair" if gold_same else "false pair"
                if gold_same:
                    c.fn += 1
                else:
                    c.fp += 1
                errors.append(FactError(kind, "fact", ga["doc"], ga["start"], ga.get("quote") or "",
                                        gb["start"], gb.get("quote") or "", gf, pf))
    return c


def _norm_label(v: object) -> str | None:
    return v.strip() or None if isinstance(v, str) else None


def score_facts(pairs: list[tuple[Mapping, Mapping]], docs: int) -> FactScore:
    """The facts fields over matched (gold, prediction) pairs of documents whose gold has them."""
    errors: list[FactError] = []
    by_doc: dict[str, list[tuple[Mapping, Mapping]]] = defaultdict(list)
    for g, p in pairs:
        by_doc[g["doc"]].append((g, p))
    links = {name: Counts() for name in LINKS}
    for doc in sorted(by_doc):
        doc_pairs = sorted(by_doc[doc], key=lambda gp: _sort_key(gp[0]))
        for name, c in (("same_fact", _pair_counts(doc_pairs, errors)),
                        ("part_of", _link_counts(doc_pairs, "part_of", errors)),
                        ("replaced_by", _link_counts(doc_pairs, "replaced_by", errors))):
            links[name].tp += c.tp
            links[name].fp += c.fp
            links[name].fn += c.fn
    typed = {name: Accuracy() for name in TYPED}
    typed_null = {name: Accuracy() for name in TYPED}
    for g, p in sorted(pairs, key=lambda gp: _sort_key(gp[0])):
        if is_date(g):
            continue
        for name in TYPED:
            want, got = _norm_label(g.get(name)), _norm_label(p.get(name))
            if want is not None:
                typed[name].total += 1
                typed[name].correct += want == got
            else:
                typed_null[name].total += 1
                typed_null[name].correct += got is not None
            if want != got:
                errors.append(FactError("wrong", name, g["doc"], g["start"], g.get("quote") or "", gold=want, pred=got))
    return FactScore(links, typed, typed_null, docs, errors)


def score(gold: Sequence[Mapping], pred: Sequence[Mapping], docs: Iterable[str] | None = None) -> Score:
    """Score `pred` against `gold`.

    Only documents in `docs` are scored (default: the documents that have gold claims);
    predictions for other documents have no truth to meet and are counted apart in
    ``other_docs_pred``.
    """
    _check(gold, "gold")
    _check(pred, "predicted")
    scope = set(docs) if docs is not None else {g["doc"] for g in gold}
    gold = sorted((g for g in gold if g["doc"] in scope), key=_sort_key)
    in_scope = [p for p in pred if p["doc"] in scope]
    other_docs = len(pred) - len(in_scope)

    required = [g for g in gold if not g.get("optional")]
    optional = [g for g in gold if g.get("optional")]
    opt_by_doc: dict[str, list[Mapping]] = defaultdict(list)
    req_by_doc: dict[str, list[Mapping]] = defaultdict(list)
    for g in optional:
        opt_by_doc[g["doc"]].append(g)
    for g in required:
        req_by_doc[g["doc"]].append(g)
    kept = sorted(
        (p for p in in_scope if not _only_optional_overlap(p, opt_by_doc[p["doc"]], req_by_doc[p["doc"]])),
        key=_sort_key,
    )

    matching = max_matching(required, kept)
    matched_pred = set(matching.values())

    groups = _new_groups()
    per_doc: dict[str, dict[str, Counts]] = {d: _new_groups() for d in sorted(scope)}
    misses: list[ClaimRef] = []
    spurious: list[ClaimRef] = []
    for i, g in enumerate(required):
        kind = "tp" if i in matching else "fn"
        _count(groups, g, kind)
        _count(per_doc[g["doc"]], g, kind)
        if kind == "fn":
            misses.append(ClaimRef.of(g))
    for j, p in enumerate(kept):
        if j not in matched_pred:
            _count(groups, p, "fp")
            _count(per_doc[p["doc"]], p, "fp")
            spurious.append(ClaimRef.of(p))

    pairs = [(required[i], kept[j]) for i, j in sorted(matching.items())]
    accuracy, mismatches = _accuracies(pairs)
    gold_by_doc: dict[str, list[Mapping]] = defaultdict(list)
    for g in gold:
        gold_by_doc[g["doc"]].append(g)
    with_facts = {d for d, claims in gold_by_doc.items() if has_facts(claims)}
    facts = score_facts([gp for gp in pairs if gp[0]["doc"] in with_facts], len(with_facts)) if with_facts else None
    return Score(
        groups=groups, accuracy=accuracy, per_doc=per_doc,
        misses=misses, spurious=spurious, mismatches=mismatches,
        optional_gold=len(optional), optional_pred=len(in_scope) - len(kept),
        other_docs_pred=other_docs, facts=facts,
    )


# --------------------------------------------------------------------------
# Output


def score_to_dict(s: Score) -> dict:
    """A JSON-able summary: groups at the top level (d["all"]["f1"]), then the rest."""
    out: dict = {name: s.groups[name].to_dict() for name in GROUPS}
    out["accuracy"] = {name: a.to_dict() for name, a in s.accuracy.items()}
    out["left_out"] = {
        "optional_gold": s.optional_gold,
        "optional_pred": s.optional_pred,
        "other_docs_pred": s.other_docs_pred,
    }
    out["per_doc"] = {doc: {g: c.to_dict() for g, c in groups.items()} for doc, groups in s.per_doc.items()}
    out["misses"] = [asdict(c) for c in s.misses]
    out["spurious"] = [asdict(c) for c in s.spurious]
    out["mismatches"] = [asdict(m) for m in s.mismatches]
    if s.facts is not None:
        f = s.facts
        out["facts"] = {
            "docs": f.docs,
            **{name: c.to_dict() for name, c in f.links.items()},
            **{name: a.to_dict() for name, a in f.typed.items()},
            "null_given": {name: a.to_dict() for name, a in f.typed_null.items()},
            "errors": [asdict(e) for e in f.errors],
        }
    return out


def _fmt_value(value: object, unit: object) -> str:
    if _is_number(value) and float(value).is_integer():
        value = int(value)
    return f"{value} {unit}" if unit else f"{value}"


def _counts_row(label: str, c: Counts, width: int) -> str:
    return (
        f"{label:<{width}} {c.gold:>5} {c.pred:>5} {c.tp:>5} {c.fp:>5} {c.fn:>5}"
        f" {c.precision:>6.3f} {c.recall:>6.3f} {c.f1:>6.3f}"
    )


def _counts_header(label: str, width: int) -> str:
    return f"{label:<{width}} {'gold':>5} {'pred':>5} {'tp':>5} {'fp':>5} {'fn':>5} {'P':>6} {'R':>6} {'F1':>6}"


def _quote(text: str) -> str:
    # Layout noise (line breaks) stays in spans; show it escaped so a line stays a line.
    return json.dumps(text, ensure_ascii=False)


def _claim_lines(title: str, refs: list[ClaimRef]) -> list[str]:
    lines = [f"{title}: {len(refs)}"]
    by_doc: dict[str, list[ClaimRef]] = defaultdict(list)
    for r in refs:
        by_doc[r.doc].append(r)
    for doc in sorted(by_doc):
        lines.append(f"  [{doc}]")
        for r in sorted(by_doc[doc], key=lambda r: (r.start, r.end)):
            lines.append(
                f"    {r.start}-{r.end} {_quote(r.quote)} = {_fmt_value(r.value, r.unit)} ({r.category})"
            )
    return lines


def _mismatch_lines(s: Score) -> list[str]:
    lines: list[str] = []
    for name in ("category", "locality", "date"):
        wrong = sorted((m for m in s.mismatches if m.field == name), key=lambda m: (m.doc, m.start, m.end))
        lines.append(f"wrong {name}: {len(wrong)}")
        for m in wrong:
            lines.append(f"  [{m.doc}] {m.start}-{m.end} {_quote(m.quote)}: gold {m.gold}, pred {m.pred}")
    return lines


def format_score(s: Score, errors: bool = False) -> str:
    """A readable table: P/R/F1 per group, accuracies, per-document rows; with `errors`,
    the misses, spurious predictions and wrong category/locality/date lines."""
    lines = [_counts_header("claims", 12)]
    lines += [_counts_row(name, s.groups[name], 12) for name in GROUPS]
    pairs = s.accuracy["category"].total
    lines.append("")
    lines.append(f"accuracy over {pairs} matched pairs")
    labels = {"date_given": "date (gold set)"}
    for name, a in s.accuracy.items():
        shown = f"{a.value:6.1%}" if a.value is not None else "     -"
        lines.append(f"  {labels.get(name, name):<16} {a.correct:>5}/{a.total:<5} {shown}")
    lines.append("")
    lines.append(
        f"left out: {s.optional_gold} optional gold claims, "
        f"{s.optional_pred} predictions overlapping only them, "
        f"{s.other_docs_pred} predictions in documents without gold"
    )
    if s.per_doc:
        width = max(12, *(len(d) for d in s.per_doc))
        lines.append("")
        lines.append(_counts_header("document", width))
        lines += [_counts_row(doc, groups["all"], width) for doc, groups in sorted(s.per_doc.items())]
    if s.facts is not None:
        lines.append("")
        lines += _facts_lines(s.facts)
    if errors:
        lines.append("")
        lines += _claim_lines("missed (gold not matched)", s.misses)
        lines += _claim_lines("spurious (prediction not matched)", s.spurious)
        lines += _mismatch_lines(s)
        if s.facts is not None:
            lines += _fact_error_lines(s.facts)
    return "\n".join(lines) + "\n"


def _facts_lines(f: FactScore) -> list[str]:
    lines = [f"facts ({f.docs} documents with facts in the gold)", _counts_header("  links", 12)]
    labels = {"same_fact": "  same fact", "part_of": "  part_of", "replaced_by": "  replaced_by"}
    lines += [_counts_row(labels[name], f.links[name], 12) for name in LINKS]
    lines.append("  typed over matched quantities: gold given (accuracy) · gold null (share predicted)")
    for name in TYPED:
        a, n = f.typed[name], f.typed_null[name]
        shown = f"{a.value:6.1%}" if a.value is not None else "     -"
        share = f"{n.value:6.1%}" if n.value is not None else "     -"
        lines.append(f"    {name:<8} {a.correct:>5}/{a.total:<5} {shown}   {n.correct:>5}/{n.total:<5} {share}")
    return lines


def _fact_error_lines(f: FactScore) -> list[str]:
    lines = [f"facts disagreements: {len(f.errors)}"]
    for e in sorted(f.errors, key=lambda e: (e.doc, e.kind, e.field, e.start, e.other_start or 0)):
        where = f"[{e.doc}] {e.start} {_quote(e.quote)}"
        if e.other_start is not None:
            where += f" ~ {e.other_start} {_quote(e.other_quote or '')}"
        lines.append(f"  {e.kind} {e.field}: {where}: gold {e.gold}, pred {e.pred}")
    return lines
