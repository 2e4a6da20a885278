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

from .model import Bound, Category, LexiconError

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
    )
