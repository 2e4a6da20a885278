"""Language knowledge, loaded once from ``pipeline/data`` and validated.

Stages take a :class:`Lexicon` argument instead of reading files, so tests can
hand them a small one. Errors name ``file:line``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
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


@dataclass(frozen=True, eq=False)  # hashed by identity: the categoriser caches per class
class OpenHead:
    """A class of head words whose category the verb or the modifiers decide (heads.yaml)."""

    name: str
    default: Category
    modifiers: Mapping[str, Category]  # modifier word -> category
    governed: bool = True  # whether the verb that governs the number decides
    units: frozenset[str] = frozenset()  # measure words with which it may take its categories anyway


@dataclass(frozen=True, eq=False)
class HeadWords:
    """heads.yaml: head words of counted noun phrases, governing verbs, adverbs."""

    heads: Mapping[str, Category | OpenHead]  # head word -> category, or its open class
    verbs_before: Mapping[str, Category]
    verbs_after: Mapping[str, Category]
    adverbs: tuple[str, ...]
    breaks: frozenset[str]  # words that end a phrase read after the measure word (verbs included)
    adjective_endings: frozenset[str]  # a phrase ending in one of these words has no head
    own_word: frozenset[str]  # one-character heads that never end a longer word


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
    heads: HeadWords  # heads.yaml
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


def _node_value(node, where: str):
    """A YAML node as plain Python (lists of strings, mappings), with ``where`` naming
    ``file:line`` of the node for the errors of the caller."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_node_value(n, where) for n in node.value]
    raise LexiconError(f"{where}:{node.start_mark.line + 1}: expected a word or a list of words")


def _mapping(node, name: str, keys: set[str] | None = None, optional: set[str] = frozenset()) -> dict[str, yaml.Node]:
    """A mapping node's entries (key -> value node); unknown, repeated or (of ``keys``)
    missing keys name file:line."""
    if not isinstance(node, yaml.MappingNode):
        raise LexiconError(f"{name}:{node.start_mark.line + 1}: expected a mapping")
    out: dict[str, yaml.Node] = {}
    for k, v in node.value:
        line = k.start_mark.line + 1
        if keys is not None and k.value not in keys:
            raise LexiconError(f"{name}:{line}: unknown key {k.value!r} (expected one of {sorted(keys)})")
        if k.value in out:
            raise LexiconError(f"{name}:{line}: repeated key {k.value!r}")
        out[k.value] = v
    missing = sorted((keys or set()) - set(out) - optional)
    if missing:
        raise LexiconError(f"{name}:{node.start_mark.line + 1}: missing {', '.join(missing)}")
    return out


def _category(key: yaml.Node, name: str) -> Category:
    try:
        return Category(key.value)
    except ValueError:
        raise LexiconError(f"{name}:{key.start_mark.line + 1}: unknown category {key.value!r}") from None


def _words_by_category(node, name: str) -> list[tuple[str, Category, int]]:
    """``category: [word, …]`` entries as (word, category, line)."""
    if not isinstance(node, yaml.MappingNode):
        raise LexiconError(f"{name}:{node.start_mark.line + 1}: expected category: [words]")
    out = []
    for key, value in node.value:
        cat = _category(key, name)
        items = value.value if isinstance(value, yaml.SequenceNode) else None
        if items is None or not all(isinstance(n, yaml.ScalarNode) and n.value for n in items):
            raise LexiconError(f"{name}:{value.start_mark.line + 1}: {key.value}: expected a list of words")
        out.extend((n.value, cat, n.start_mark.line + 1) for n in items)
    return out


def _unique(entries: list[tuple[str, Category, int]], name: str, what: str, seen: dict[str, int] | None = None) -> dict[str, Category]:
    seen = {} if seen is None else seen
    out = {}
    for word, cat, line in entries:
        if word in seen:
            raise LexiconError(f"{name}:{line}: {what} {word!r} listed twice (first at line {seen[word]})")
        seen[word] = line
        out[word] = cat
    return out


def load_heads() -> HeadWords:
    """heads.yaml, validated: every category known, no word listed twice (errors name file:line)."""
    name = "heads.yaml"
    try:
        root = yaml.compose(_data(name).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: {exc}") from None
    if root is None:
        raise LexiconError(f"{name}: empty file")
    top = _mapping(root, name, {"heads", "open_heads", "verbs", "breaks", "adjective_endings", "own_word"})
    seen: dict[str, int] = {}
    heads: dict[str, Category | OpenHead] = dict(_unique(_words_by_category(top["heads"], name), name, "head", seen))
    for cls_key, cls_node in _mapping(top["open_heads"], name).items():
        entry = _mapping(cls_node, name, {"heads", "default", "modifiers", "governed", "units"}, optional={"governed", "units"})
        default = _category(entry["default"], name)
        modifiers = _unique(_words_by_category(entry["modifiers"], name), name, f"{cls_key} modifier")
        governed = entry.get("governed")
        if governed is not None and governed.value not in ("true", "false"):
            raise LexiconError(f"{name}:{governed.start_mark.line + 1}: governed must be true or false")
        units = frozenset(_word_list(entry, "units", name)) if "units" in entry else frozenset()
        cls = OpenHead(cls_key, default, modifiers, governed is None or governed.value == "true", units)
        _word_list(entry, "heads", name)
        for n in entry["heads"].value:
            if n.value in seen:
                raise LexiconError(f"{name}:{n.start_mark.line + 1}: head {n.value!r} listed twice (first at line {seen[n.value]})")
            seen[n.value] = n.start_mark.line + 1
            heads[n.value] = cls
    verbs = _mapping(top["verbs"], name, {"before", "after", "adverbs"})
    adverbs = _word_list(verbs, "adverbs", name)
    breaks, endings, own_word = (_word_list(top, key, name) for key in ("breaks", "adjective_endings", "own_word"))
    for n in top["own_word"].value:
        if n.value not in heads or len(n.value) != 1:
            raise LexiconError(f"{name}:{n.start_mark.line + 1}: own_word {n.value!r} is not a one-character head")
    before = _unique(_words_by_category(verbs["before"], name), name, "verb")
    after = _unique(_words_by_category(verbs["after"], name), name, "verb")
    return HeadWords(
        heads=heads,
        verbs_before=before,
        verbs_after=after,
        adverbs=tuple(adverbs),
        breaks=frozenset((*breaks, *before, *after)),
        adjective_endings=frozenset(endings),
        own_word=frozenset(own_word),
    )


def _word_list(mapping: dict[str, yaml.Node], key: str, name: str) -> list[str]:
    """``key: [word, …]``: a list of non-empty strings, or a LexiconError naming file:line."""
    node = mapping[key]
    words = _node_value(node, name)
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise LexiconError(f"{name}:{node.start_mark.line + 1}: {key} must be a list of words")
    return words


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
        heads=load_heads(),
        facts=load_facts(),
    )


# --------------------------------------------------------------------------
# Page rules (data/page.yaml): furniture, bylines, page dates, table headers, noise


@dataclass(frozen=True)
class FurnitureRule:
    name: str
    why: str
    source: str  # the pattern, fragments expanded
    short: bool  # only for a paragraph of one clause (no ，。！？； before its last character)
    where: str = ""  # file:line of the rule, for errors

    @cached_property
    def pattern(self):
        """Compiled the first time a paragraph needs the rule's name (the joined patterns of
        :class:`PageRules` tell furniture from the rest); a bad pattern names file:line."""
        try:
            return page_pattern(self.source)
        except (re.error, regex.error) as exc:
            raise LexiconError(f"{self.where}: bad pattern: {exc}") from None


@dataclass(frozen=True)
class PageRules:
    """What data/page.yaml says about web and newspaper pages (see that file)."""

    furniture: tuple[FurnitureRule, ...]
    menu: tuple[int, int, int]  # min items, min and max characters an item
    byline: "regex.Pattern[str]"
    caption: "regex.Pattern[str]"
    caption_credit: "re.Pattern[str]"  # a photo credit that ends a caption line
    article_lead: "regex.Pattern[str]"
    headline_marks: "regex.Pattern[str]"
    published_labelled: tuple  # patterns with the groups y, m, d, tried in order
    published_leading: tuple
    table_unit_pattern: str  # with {unit} and {scale} left for the caller (the units come from units.tsv)
    table_scales: Mapping[str, int]
    table_trailing: tuple[str, ...]
    table_total_rows: tuple[str, ...]
    noise_source: str  # the converter noise the repair stage drops (compiled when a text may hold some)
    noise_gate: "re.Pattern[str]"  # a text this does not find has no noise
    # the furniture rules joined, for one search per paragraph: rules anchored at the
    # start (tried with match), the other rules, and the `short` ones (None: no such rule)
    furniture_anchored: "regex.Pattern[str] | None" = None
    furniture_free: "regex.Pattern[str] | None" = None
    furniture_short: "regex.Pattern[str] | None" = None

    @cached_property
    def noise(self):
        return page_pattern(self.noise_source)

    def check(self) -> None:
        """Compile every pattern now (load_page_rules compiles the joined ones; the rest wait
        for their first use)."""
        for rule in self.furniture:
            rule.pattern  # noqa: B018 (compiles, or raises LexiconError naming file:line)
        self.noise  # noqa: B018


# A Chinese character, as a class the standard `re` module reads (CJK ideographs, extension A,
# compatibility ideographs).
_HAN = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


def page_pattern(pattern: str):
    """A page.yaml pattern compiled with the standard ``re`` module (it compiles several
    times faster than ``regex`` at start-up and matches these short patterns faster),
    unless it needs ``regex``'s Unicode properties (``\\p{Han}``)."""
    if "\\p{" in pattern or "\\P{" in pattern:
        return regex.compile(pattern)
    return re.compile(pattern)


_PAGE_KEYS = {"fragments", "furniture", "menu", "byline", "caption", "caption_credit", "article_lead", "headline_marks", "published", "table_header", "noise"}
_FRAGMENT = regex.compile(r"(?<!\\[pPN])\{([A-Za-z_]\w*)\}")


def _node_lines(node, path=(), out=None) -> dict[tuple, int]:
    """1-based line of every node of a composed YAML document, by its key path."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _node_lines(v, path + (k.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _node_lines(v, path + (i,), out)
    return out


def load_page_rules(name: str = "page.yaml", text: str | None = None) -> PageRules:
    """Load and validate data/page.yaml (``text``: its content, for tests)."""
    if text is None:
        text = _data(name).read_text(encoding="utf-8")
    try:
        data = parse_yaml(text)
        lines = _node_lines(yaml.compose(text, Loader=_YAML_LOADER))
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: {exc}") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{name}:1: top level must be a mapping")

    def where(*path) -> str:
        while path and path not in lines:
            path = path[:-1]
        return f"{name}:{lines.get(path, 1)}"

    unknown = set(data) - _PAGE_KEYS
    if unknown:
        raise LexiconError(f"{where()}: unknown keys {sorted(unknown)}")
    missing = _PAGE_KEYS - set(data)
    if missing:
        raise LexiconError(f"{where()}: missing keys {sorted(missing)}")

    fragments: dict[str, str] = {}

    def expand(pattern, *path) -> str:
        if not isinstance(pattern, str) or not pattern:
            raise LexiconError(f"{where(*path)}: a pattern must be a non-empty string")

        def sub(m) -> str:
            if m.group(1) not in fragments:
                raise LexiconError(f"{where(*path)}: unknown fragment {{{m.group(1)}}}")
            return fragments[m.group(1)]

        return _FRAGMENT.sub(sub, pattern)

    def compile_(pattern, *path):
        """Compile; on an error, blame a fragment that does not compile alone, else the
        pattern's own line (patterns are compiled once, joined where they can be: start-up)."""
        try:
            return page_pattern(expand(pattern, *path))
        except (re.error, regex.error) as exc:
            blame_fragments()
            raise LexiconError(f"{where(*path)}: bad pattern: {exc}") from None

    def blame_fragments() -> None:
        for key, value in fragments.items():
            try:
                page_pattern(value)
            except (re.error, regex.error) as bad:
                raise LexiconError(f"{where('fragments', key)}: bad fragment: {bad}") from None

    def one_of(key) -> "regex.Pattern[str]":
        items = data[key]
        if not isinstance(items, list) or not items:
            raise LexiconError(f"{where(key)}: {key} must be a non-empty list of patterns")
        try:
            return page_pattern("|".join(f"(?:{expand(p, key, i)})" for i, p in enumerate(items)))
        except (re.error, regex.error):
            for i, p in enumerate(items):
                compile_(p, key, i)
            raise

    for key, value in (data["fragments"] or {}).items():
        if not isinstance(value, str):
            raise LexiconError(f"{where('fragments', key)}: a fragment must be a string")
        fragments[key] = expand(value, "fragments", key)

    furniture = []
    seen = set()
    for i, entry in enumerate(data["furniture"] or ()):
        if not isinstance(entry, dict) or not {"name", "why", "pattern"} <= set(entry) or set(entry) - {"name", "why", "pattern", "short"}:
            raise LexiconError(f"{where('furniture', i)}: a furniture rule needs name, why, pattern (and may have short)")
        if entry["name"] in seen:
            raise LexiconError(f"{where('furniture', i)}: duplicate rule name {entry['name']!r}")
        seen.add(entry["name"])
        if not isinstance(entry.get("short", False), bool):
            raise LexiconError(f"{where('furniture', i, 'short')}: short must be true or false")
        furniture.append(FurnitureRule(entry["name"], entry["why"], expand(entry["pattern"], "furniture", i, "pattern"), entry.get("short", False), where("furniture", i, "pattern")))

    menu = data["menu"]
    if not isinstance(menu, dict) or set(menu) != {"min_items", "min_chars", "max_chars"} or not all(isinstance(v, int) and v > 0 for v in menu.values()):
        raise LexiconError(f"{where('menu')}: menu needs min_items, min_chars, max_chars (positive integers)")

    published = data["published"]
    if not isinstance(published, dict) or set(published) != {"labelled", "leading"}:
        raise LexiconError(f"{where('published')}: published needs labelled and leading")
    dated = {}
    for key in ("labelled", "leading"):
        items = published[key]
        if not isinstance(items, list) or not items:
            raise LexiconError(f"{where('published', key)}: published.{key} must be a non-empty list of patterns")
        for i, p in enumerate(items):
            if not {"y", "m", "d"} <= set(compile_(p, "published", key, i).groupindex):
                raise LexiconError(f"{where('published', key, i)}: a date pattern needs the groups y, m, d")
        dated[key] = tuple(compile_(p, "published", key, i) for i, p in enumerate(items))

    table = data["table_header"]
    if not isinstance(table, dict) or set(table) != {"unit_pattern", "scales", "trailing", "total_rows"}:
        raise LexiconError(f"{where('table_header')}: table_header needs unit_pattern, scales, trailing, total_rows")
    unit_pattern = table["unit_pattern"]
    if not isinstance(unit_pattern, str) or set(_FRAGMENT.findall(unit_pattern)) != {"unit", "scale"}:
        raise LexiconError(f"{where('table_header', 'unit_pattern')}: unit_pattern must use {{unit}} and {{scale}} and no other fragment")
    try:
        regex.compile(unit_pattern.replace("{unit}", "个").replace("{scale}", "万"))
    except regex.error as exc:
        raise LexiconError(f"{where('table_header', 'unit_pattern')}: bad pattern: {exc}") from None
    scales = table["scales"]
    if not isinstance(scales, dict) or not all(isinstance(v, int) for v in scales.values()):
        raise LexiconError(f"{where('table_header', 'scales')}: scales maps a word to an integer factor")
    for key in ("trailing", "total_rows"):
        if not isinstance(table[key], list) or not all(isinstance(w, str) and w for w in table[key]):
            raise LexiconError(f"{where('table_header', key)}: {key} must be a list of words")

    noise, gate = _noise_pattern(data["noise"], where)

    def joined(rules):
        if not rules:
            return None
        try:
            return page_pattern("|".join(f"(?:{r.source})" for r in rules))
        except (re.error, regex.error):
            blame_fragments()
            for r in rules:
                r.pattern  # noqa: B018 (raises LexiconError naming the rule's line)
            raise

    anchored = [r for r in furniture if not r.short and r.source.startswith("^")]
    return PageRules(
        furniture_anchored=joined(anchored),
        furniture_free=joined([r for r in furniture if not r.short and r not in anchored]),
        furniture_short=joined([r for r in furniture if r.short]),
        furniture=tuple(furniture),
        menu=(menu["min_items"], menu["min_chars"], menu["max_chars"]),
        byline=one_of("byline"),
        caption=one_of("caption"),
        caption_credit=compile_(data["caption_credit"], "caption_credit"),
        article_lead=one_of("article_lead"),
        headline_marks=one_of("headline_marks"),
        published_labelled=dated["labelled"],
        published_leading=dated["leading"],
        table_unit_pattern=unit_pattern,
        table_scales={str(k): int(v) for k, v in scales.items()},
        table_trailing=tuple(sorted(table["trailing"], key=len, reverse=True)),
        table_total_rows=tuple(table["total_rows"]),
        noise_source=noise,
        noise_gate=gate,
    )


_NOISE_KEYS = {"initials", "vowels", "toned_vowels", "endings", "tone_digits", "max_syllables", "openers", "closers", "replacement", "question_enders"}


def _noise_pattern(noise, where) -> tuple[str, "re.Pattern[str]"]:
    """One pattern for the converter noise of page.yaml: pinyin in brackets after a Chinese
    character (with a tone mark or digit), replacement characters not between two digits,
    and an ASCII ``?`` between two Chinese characters that does not end a question."""
    if not isinstance(noise, dict) or set(noise) != _NOISE_KEYS:
        raise LexiconError(f"{where('noise')}: noise needs exactly {sorted(_NOISE_KEYS)}")
    for key in _NOISE_KEYS - {"initials", "endings", "max_syllables"}:
        if not isinstance(noise[key], str) or not noise[key]:
            raise LexiconError(f"{where('noise', key)}: {key} must be a non-empty string of characters")
    for key in ("initials", "endings"):
        if not isinstance(noise[key], list) or not all(isinstance(w, str) and w.isalpha() for w in noise[key]):
            raise LexiconError(f"{where('noise', key)}: {key} must be a list of letters")
    if not isinstance(noise["max_syllables"], int) or noise["max_syllables"] < 1:
        raise LexiconError(f"{where('noise', 'max_syllables')}: max_syllables must be a positive integer")
    cls = lambda chars: "[" + "".join(re.escape(c) for c in chars) + "]"  # noqa: E731
    alt = lambda words: "(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + ")"  # noqa: E731
    vowel = cls(noise["vowels"] + noise["toned_vowels"])
    syllable = f"{alt(noise['initials'])}?{vowel}{{1,4}}{alt(noise['endings'])}?{cls(noise['tone_digits'])}?"
    letters = cls(noise["vowels"] + noise["toned_vowels"] + noise["tone_digits"] + "abcdefghijklmnopqrstuvwxyz")
    toned = cls(noise["toned_vowels"] + noise["tone_digits"])
    pinyin = (
        rf"(?<={_HAN}){cls(noise['openers'])}(?={letters}*{toned})"
        rf"(?:{syllable}){{1,{noise['max_syllables']}}}{cls(noise['closers'])}"
    )
    repl = cls(noise["replacement"])
    replacement = rf"(?<![0-9]){repl}+|{repl}+(?![0-9])"
    question = rf"(?<={_HAN})(?<!{cls(noise['question_enders'])})\?(?={_HAN}|[0-9])|(?<=[0-9])\?(?={_HAN})"
    pattern = f"{pinyin}|{replacement}|{question}"  # compiled when a text has a character it starts with
    # noise starts at an opener before a pinyin letter, a replacement character or a `?`
    gate = re.compile(f"{cls(noise['openers'])}(?={letters})|{repl}|\\?")
    return pattern, gate


@lru_cache(maxsize=1)
def page_rules() -> PageRules:
    """data/page.yaml, loaded and validated once per process."""
    return load_page_rules()
