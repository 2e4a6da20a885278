"""Language knowledge, loaded once from ``pipeline/data`` and validated.

Stages take a :class:`Lexicon` argument instead of reading files, so tests can
hand them a small one. Errors name ``file:line``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Mapping

import regex
import yaml

from .model import Aspect, Bound, Category, LexiconError, Measure, Origin

UNIT_KINDS = {"money", "mass", "volume", "length", "area", "percent", "people", "count", "cases", "other"}
BOUND_POSITIONS = {"prefix", "infix", "suffix"}


@dataclass(frozen=True)
class Unit:
    surface: str
    canonical: str
    factor: float
    kind: str


@dataclass(frozen=True)
class ExclusionRule:
    name: str
    pattern: str  # regex with {num}
    why: str
    guard: str | None = None


@dataclass(frozen=True, eq=False)  # hashed by identity: the facts stage caches its automaton per instance
class FactWords:
    """The signal words of ``facts.yaml`` (pipeline/facts.py): label -> words, per field."""

    aspect: Mapping[str, tuple[str, ...]]
    aspect_time_phrases: frozenset[str]  # aspect words that govern their whole sentence
    measure: Mapping[str, tuple[str, ...]]  # in priority order: the first label listed wins
    measure_else: tuple[str, ...]  # words of a cases count that name no measure: other
    measure_by_unit: Mapping[str, str]
    origin: Mapping[str, tuple[str, ...]]
    origin_own_only: frozenset[str]
    breakdown: Mapping[str, tuple[str, ...]]  # open / closed
    remainder: tuple[str, ...]
    total: tuple[str, ...]
    correction: tuple[str, ...]
    part_measures: Mapping[str, frozenset[str]]
    cumulative_part_measures: Mapping[str, frozenset[str]]


@dataclass(frozen=True, eq=False)  # hashed by identity: stages cache compiled patterns per lexicon
class Lexicon:
    units: Mapping[str, Unit]
    bounds: Mapping[str, Mapping[str, Bound]]  # position -> marker -> bound
    category_order: tuple[Category, ...]
    category_keywords: Mapping[Category, tuple[str, ...]]
    category_units: Mapping[str, Category]  # fallback when no keyword decides
    decisive_units: Mapping[str, Category]  # decide before any keyword
    default_units: Mapping[str, Category]  # decide when nothing else does (as written, then canonical)
    exclusions: tuple[ExclusionRule, ...]
    words: Mapping[str, tuple[str, ...]]  # named word lists from words.yaml
    facts: FactWords | None = None  # facts.yaml (None in a hand-made lexicon: the facts stage loads it)

    def unit_alternation(self) -> str:
        """Regex alternation of unit surfaces, longest first."""
        return "|".join(regex.escape(s) for s in sorted(self.units, key=lambda s: (-len(s), s)))

    def bound_alternation(self, position: str) -> str:
        return "|".join(regex.escape(s) for s in sorted(self.bounds[position], key=lambda s: (-len(s), s)))


def _data(name: str):
    return files("pipeline") / "data" / name


def _tsv_rows(name: str, ncols: int):
    text = _data(name).read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != ncols:
            raise LexiconError(f"{name}:{lineno}: expected {ncols} tab-separated columns, got {len(cols)}")
        yield lineno, [c.strip() for c in cols]


def load_units() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for lineno, (surface, canonical, factor, kind) in _tsv_rows("units.tsv", 4):
        if surface in units:
            raise LexiconError(f"units.tsv:{lineno}: duplicate surface {surface!r}")
        if kind not in UNIT_KINDS:
            raise LexiconError(f"units.tsv:{lineno}: unknown kind {kind!r}")
        try:
            units[surface] = Unit(surface, canonical, float(factor), kind)
        except ValueError:
            raise LexiconError(f"units.tsv:{lineno}: factor {factor!r} is not a number") from None
    return units


def load_bounds() -> dict[str, dict[str, Bound]]:
    bounds: dict[str, dict[str, Bound]] = {p: {} for p in BOUND_POSITIONS}
    for lineno, (marker, position, bound) in _tsv_rows("bounds.tsv", 3):
        if position not in BOUND_POSITIONS:
            raise LexiconError(f"bounds.tsv:{lineno}: unknown position {position!r}")
        if marker in bounds[position]:
            raise LexiconError(f"bounds.tsv:{lineno}: duplicate marker {marker!r} at {position}")
        try:
            bounds[position][marker] = Bound(bound)
        except ValueError:
            raise LexiconError(f"bounds.tsv:{lineno}: unknown bound {bound!r}") from None
    return bounds


# libyaml's parser when PyYAML has it (~8x faster than the pure-Python one, same
# safe constructors, same objects): the data files are read at every start
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str):
    """A data file's YAML, parsed safely (every module reading pipeline/data uses this)."""
    return yaml.load(text, Loader=_YAML_LOADER)


def _yaml(name: str) -> dict:
    try:
        data = parse_yaml(_data(name).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: {exc}") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{name}: top level must be a mapping")
    return data


def load_categories(units: Mapping[str, Unit]):
    data = _yaml("categories.yaml")
    unknown = set(data) - {"order", "categories"}
    if unknown:
        raise LexiconError(f"categories.yaml: unknown keys {sorted(unknown)}")
    try:
        order = tuple(Category(c) for c in data["order"])
        keywords: dict[Category, tuple[str, ...]] = {}
        by_unit: dict[str, Category] = {}
        decisive: dict[str, Category] = {}
        default: dict[str, Category] = {}
        for name, entry in data["categories"].items():
            cat = Category(name)
            extra = set(entry) - {"keywords", "units", "decisive_units", "default_units"}
            if extra:
                raise LexiconError(f"categories.yaml: {name}: unknown keys {sorted(extra)}")
            words = tuple(entry.get("keywords") or ())
            if len(set(words)) != len(words):
                raise LexiconError(f"categories.yaml: {name}: duplicate keyword")
            keywords[cat] = words
            for key, table in (("units", by_unit), ("decisive_units", decisive)):
                for u in entry.get(key) or ():
                    if u in by_unit or u in decisive:
                        raise LexiconError(f"categories.yaml: unit {u!r} sent to two categories")
                    table[u] = cat
            for u in entry.get("default_units") or ():
                if u in default:
                    raise LexiconError(f"categories.yaml: default unit {u!r} sent to two categories")
                default[u] = cat
    except ValueError as exc:
        raise LexiconError(f"categories.yaml: {exc}") from None
    missing = set(keywords) - set(order)
    if missing:
        raise LexiconError(f"categories.yaml: categories missing from order: {sorted(c.value for c in missing)}")
    return order, keywords, by_unit, decisive, default


def load_exclusions() -> tuple[ExclusionRule, ...]:
    data = _yaml("not_claims.yaml")
    rules = []
    names = set()
    for i, entry in enumerate(data.get("rules") or ()):
        extra = set(entry) - {"name", "pattern", "why", "guard"}
        if extra or not {"name", "pattern", "why"} <= set(entry):
            raise LexiconError(f"not_claims.yaml: rule {i}: needs name, pattern, why (got {sorted(entry)})")
        if entry["name"] in names:
            raise LexiconError(f"not_claims.yaml: duplicate rule name {entry['name']!r}")
        names.add(entry["name"])
        if "{num}" not in entry["pattern"]:
            raise LexiconError(f"not_claims.yaml: rule {entry['name']}: pattern lacks {{num}}")
        try:
            regex.compile(entry["pattern"].replace("{num}", "(?P<num>X)"))
        except regex.error as exc:
            raise LexiconError(f"not_claims.yaml: rule {entry['name']}: bad pattern: {exc}") from None
        rules.append(ExclusionRule(entry["name"], entry["pattern"], entry["why"], entry.get("guard")))
    return tuple(rules)


def load_words() -> dict[str, tuple[str, ...]]:
    data = _yaml("words.yaml")
    out = {}
    for key, values in data.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise LexiconError(f"words.yaml: {key}: must be a list of strings")
        out[key] = tuple(values)
    return out


_FACT_LABELS = {
    "aspect": frozenset(a.value for a in Aspect),
    "measure": frozenset(m.value for m in Measure),
    "origin": frozenset(o.value for o in Origin),
    "breakdown": frozenset({"open", "closed"}),
}
_FACT_LISTS = ("remainder", "total", "correction", "measure_else")
_FACT_KEYS = {*_FACT_LABELS, *_FACT_LISTS, "aspect_time_phrases", "measure_by_unit", "origin_own_only", "part_measures",
              "cumulative_part_measures"}


def load_facts(text: str | None = None, name: str = "facts.yaml") -> FactWords:
    """Read and check ``facts.yaml`` (or ``text``, for tests); errors name ``file:line``.

    The file is composed into YAML nodes, which keep their line, so that every
    check can say where the offending entry is."""
    if text is None:
        text = _data(name).read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: {exc}") from None

    def where(node) -> str:
        return f"{name}:{node.start_mark.line + 1}"

    def mapping(node, what: str) -> list[tuple[str, object, object]]:
        if not isinstance(node, yaml.MappingNode):
            raise LexiconError(f"{where(node)}: {what} must be a mapping")
        out = []
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode) or not k.value:
                raise LexiconError(f"{where(k)}: {what}: keys must be plain words")
            if any(k.value == seen for seen, _, _ in out):
                raise LexiconError(f"{where(k)}: {what}: duplicate key {k.value!r}")
            out.append((k.value, k, v))
        return out

    def words(node, what: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise LexiconError(f"{where(node)}: {what} must be a non-empty list")
        out = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or not item.value.strip():
                raise LexiconError(f"{where(item)}: {what}: entries must be non-empty words")
            if item.value in out:
                raise LexiconError(f"{where(item)}: {what}: duplicate {item.value!r}")
            out.append(item.value)
        return tuple(out)

    def label(node, field: str, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.value not in _FACT_LABELS[field]:
            value = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
            raise LexiconError(f"{where(node)}: {what}: {value!r} is not one of {sorted(_FACT_LABELS[field])}")
        return node.value

    if root is None:
        raise LexiconError(f"{name}:1: empty file")
    top = {key: (knode, v) for key, knode, v in mapping(root, "the top level")}
    for key, (knode, _) in top.items():
        if key not in _FACT_KEYS:
            raise LexiconError(f"{where(knode)}: unknown key {key!r} (known: {sorted(_FACT_KEYS)})")
    missing = sorted(_FACT_KEYS - set(top))
    if missing:
        raise LexiconError(f"{name}:1: missing keys {missing}")

    labelled: dict[str, dict[str, tuple[str, ...]]] = {}
    for field in _FACT_LABELS:
        seen: dict[str, str] = {}
        labelled[field] = {}
        for lab, knode, v in mapping(top[field][1], field):
            label(knode, field, field)
            ws = words(v, f"{field}.{lab}")
            for w, item in zip(ws, v.value):
                if w in seen:
                    raise LexiconError(f"{where(item)}: {field}: {w!r} is both {seen[w]} and {lab}")
                seen[w] = lab
            labelled[field][lab] = ws
    by_unit = {}
    for unit, knode, v in mapping(top["measure_by_unit"][1], "measure_by_unit"):
        by_unit[unit] = label(v, "measure", f"measure_by_unit.{unit}")
    own_only = frozenset(label(n, "measure", "origin_own_only") for n in _sequence(top["origin_own_only"][1], where))
    parts: dict[str, dict[str, frozenset[str]]] = {}
    for key in ("part_measures", "cumulative_part_measures"):
        parts[key] = {}
        for total, knode, v in mapping(top[key][1], key):
            label(knode, "measure", key)
            parts[key][total] = frozenset(label(n, "measure", f"{key}.{total}") for n in _sequence(v, where))
    lists = {key: words(top[key][1], key) for key in _FACT_LISTS}
    measure_words = {w for ws in labelled["measure"].values() for w in ws}
    for w, item in zip(lists["measure_else"], top["measure_else"][1].value):
        if w in measure_words:
            raise LexiconError(f"{where(item)}: measure_else: {w!r} is a measure word already")
    aspect_words = {w for ws in labelled["aspect"].values() for w in ws}
    phrases = top["aspect_time_phrases"][1]
    for w, item in zip(words(phrases, "aspect_time_phrases"), phrases.value):
        if w not in aspect_words:
            raise LexiconError(f"{where(item)}: aspect_time_phrases: {w!r} is not an aspect word")
    return FactWords(
        aspect=labelled["aspect"], aspect_time_phrases=frozenset(phrases.value[i].value for i in range(len(phrases.value))),
        measure=labelled["measure"], measure_else=lists["measure_else"], measure_by_unit=by_unit,
        origin=labelled["origin"], origin_own_only=own_only, breakdown=labelled["breakdown"],
        remainder=lists["remainder"], total=lists["total"], correction=lists["correction"],
        part_measures=parts["part_measures"], cumulative_part_measures=parts["cumulative_part_measures"],
    )


def _sequence(node, where) -> list:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise LexiconError(f"{where(node)}: must be a non-empty list")
    return node.value


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Load and validate every data file once per process."""
    units = load_units()
    order, keywords, by_unit, decisive, default = load_categories(units)
    return Lexicon(
        units=units,
        bounds=load_bounds(),
        category_order=order,
        category_keywords=keywords,
        category_units=by_unit,
        decisive_units=decisive,
        default_units=default,
        exclusions=load_exclusions(),
        words=load_words(),
        facts=load_facts(),
    )
