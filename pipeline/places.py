"""Place mentions: where a text names an administrative unit, and which unit.

Reads: the repaired text of a document, the gazetteer
(:mod:`pipeline.gazetteer`) and ``pipeline/data/localities.yaml``.
Writes: :class:`PlaceMention` records (view offsets), one unit each once
resolved.

Two steps (:func:`find` runs both):

1. :func:`find_places` finds every name of a unit (longest, non-overlapping,
   with boundary rules), the markers of national figures (全国, 我国,
   ministries) and units the text names under a known one that the
   gazetteer lacks (孝义市柱濮新区, 西安市108坊社区).
2. :func:`resolve_places` keeps one unit per mention, the one the rest of
   the document supports (a village name found in many counties resolves
   to the one under the county or city the document names), and merges
   chains (孝感市陡岗镇袁湖村) into one mention of the innermost unit.

Which place each claim is about is :mod:`pipeline.locality`'s job.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence

from . import gazetteer as gz_mod
from .gazetteer import KIND_FULL, KIND_SHORT, KIND_VARIANT, KIND_WEAK, LEVELS, NATION, NATION_PLACE, Place
from .model import record

__all__ = ["Place", "PlaceMention", "find", "find_places", "resolve_places", "hint_place", "locality_name", "vocab"]

# kinds of mention, best first
FULL, NATIONAL, VARIANT, PENDING, NUMBERED, LOCAL, SHORT, WEAK = (
    "full", "national", "variant", "pending", "numbered", "local", "short", "weak",
)
_KIND_OF = {KIND_FULL: FULL, KIND_VARIANT: VARIANT, KIND_SHORT: SHORT, KIND_WEAK: WEAK}
_RANK = {FULL: 0, NATIONAL: 0, VARIANT: 1, PENDING: 1, NUMBERED: 1, LOCAL: 2, SHORT: 2, WEAK: 3}

_BRACKET_GAP = re.compile(r"[（(][\u4e00-\u9fff]{1,3}[）)]")




@record
class PlaceMention:
    """A stretch of text that names a unit (view offsets, end exclusive).
    ``places`` are its candidates; after :func:`resolve_places`, exactly one."""

    start: int
    end: int
    surface: str
    places: tuple[Place, ...]
    kind: str = FULL  # full | variant | short | weak | national | local | pending | numbered


def locality_name(mention: PlaceMention, place: Place | None = None) -> str:
    """The unit as the text names it, with its suffix: the surface where it
    carries one (藁城县, 宝丰街, 花乡), else the gazetteer's name (湖北 -> 湖北省,
    广州 -> 广州市)."""
    place = place or mention.places[0]
    if place.level == NATION:
        return gz_mod.NATION_NAME
    s = mention.surface
    if s == place.name or mention.kind == LOCAL:
        return place.name
    if mention.kind in (VARIANT, PENDING, NUMBERED):
        return s
    tails = vocab().admin_tails
    if s.endswith(tails) and any(s.endswith(t) and len(s) - len(t) >= 2 for t in tails):
        return s
    return place.name


# --------------------------------------------------------------------------
# vocabulary (pipeline/data/localities.yaml)


def by_length(words) -> list[str]:
    return sorted(words, key=len, reverse=True)


def alt(words) -> str:
    return "|".join(re.escape(w) for w in by_length(words))


@dataclass(frozen=True)
class Vocab:
    """What ``localities.yaml`` says about finding and resolving place names."""

    not_places: re.Pattern | None
    national: re.Pattern
    features: tuple[str, ...]
    not_after_village: tuple[str, ...]  # 村民, 村级: the village name is part of a word
    # a unit the gazetteer lacks, named right after a known one: 柱濮新区, 108坊社区
    unlisted: re.Pattern
    unlisted_stops: frozenset[str]  # characters never inside its name
    unlisted_town_stops: frozenset[str]  # and never inside a township's
    unlisted_town_suffixes: tuple[str, ...]
    village_suffixes: tuple[str, ...]
    local_short_suffixes: tuple[str, ...]  # 驿马乡 -> 驿马
    # a township or village the gazetteer lacks under the unit before it
    lacking_suffixes: tuple[str, ...]
    admin_tails: tuple[str, ...]  # every administrative suffix, of every level
    extend: dict[str, tuple[str, ...]]
    any_extend: tuple[str, ...]  # every suffix of extend
    breakers: dict[str, str]
    surnames: frozenset[str]
    numbered: re.Pattern  # a unit named by its number (六十一团)
    numbered_level: str
    numbered_under: frozenset[str]  # the units such a name lies in


@lru_cache(maxsize=1)
def vocab() -> Vocab:
    raw = gz_mod.load_data().raw
    return Vocab(
        not_places=re.compile(alt(raw["not_places"])) if raw["not_places"] else None,
        national=re.compile(alt(raw["national_markers"])),
        features=tuple(raw["feature_suffixes"]),
        not_after_village=tuple(raw["not_after_village"]),
        # a township (two or three characters and its suffix), else another unit
        unlisted=re.compile(
            r"(?:[（(][\u4e00-\u9fff]{1,3}[）)])?(?:([\u4e00-\u9fff]{2,3}?)(" + alt(raw["unlisted_town_suffixes"]) + ")"
            r"|([\u4e00-\u9fff0-9]{2,6}?)(" + alt(raw["unlisted_suffixes"]) + "))"
        ),
        unlisted_stops=frozenset(raw["unlisted_stops"]),
        unlisted_town_stops=frozenset(raw["unlisted_stops"] + raw["unlisted_town_stops"]),
        unlisted_town_suffixes=tuple(raw["unlisted_town_suffixes"]),
        village_suffixes=tuple(raw["suffixes"]["village"]),
        local_short_suffixes=tuple(raw["local_short_suffixes"]),
        lacking_suffixes=tuple(dict.fromkeys(raw["unlisted_suffixes"] + raw["unlisted_town_suffixes"] + raw["local_short_suffixes"])),
        admin_tails=tuple(sorted({t for level in raw["suffixes"].values() for t in level} | set(raw["tail_endings"]))),
        extend={k: tuple(v) for k, v in raw["extend_suffixes"].items()},
        any_extend=tuple(sorted({s for v in raw["extend_suffixes"].values() for s in v})),
        breakers={k: "".join(v) for k, v in raw["extend_breakers"].items()},
        surnames=frozenset(raw["surnames"]),
        numbered=re.compile(raw["numbered_units"]["pattern"]),
        numbered_level=raw["numbered_units"]["level"],
        numbered_under=frozenset(raw["numbered_units"]["under"]),
    )


# --------------------------------------------------------------------------
# 1. finding mentions


def find(text: str, hint: str | None = None) -> list[PlaceMention]:
    """The resolved place mentions of ``text`` (a document's repaired text), one
    unit each, in text order; ``hint`` is what the metadata says the document
    is about."""
    return resolve_places(find_places(text), hint, text)


def find_places(text: str) -> list[PlaceMention]:
    """Every place mention in ``text``: longest, non-overlapping matches.

    Candidates keep every unit a name may stand for.  A short form takes
    the suffix written after it (藁城 + 县).  Dropped: matches inside a word
    of ``not_places`` (黄浦江, 公安部), short forms followed by a feature
    word (江汉路), villages followed by 民/级/组 (…村民), and short forms
    that are the end of a recurring person's name (钟海南).  Added: a
    township or village the document names in full, by its name without
    the suffix (驿马乡 … 驿马人), and units named right after a known unit
    but missing from the gazetteer (孝义市柱濮新区), as pending units whose
    parent :func:`resolve_places` fixes."""
    gz = gz_mod.load()
    v = vocab()
    # not_places matches do not overlap: only the last one starting at or before
    # a key can hold it
    blocked_starts: list[int] = []
    blocked_ends: list[int] = []
    for m in v.not_places.finditer(text) if v.not_places else ():
        blocked_starts.append(m.start())
        blocked_ends.append(m.end())
    found: list[_Found] = []
    key_places, features, not_after_village = gz.key_places, v.features, v.not_after_village
    for s, e, key_id in gz.iter_keys(text):
        b = bisect_right(blocked_starts, s) - 1
        if b >= 0 and e <= blocked_ends[b]:
            continue
        places, kind = key_places(key_id)
        if kind >= KIND_SHORT and text.startswith(features, e):
            continue
        if text[e - 1] == "村" and text.startswith(not_after_village, e):
            continue
        mkind = _KIND_OF[kind]
        if kind >= KIND_SHORT:
            longer, suffixed = _take_suffix(text, e, places, v)
            if longer != e:
                e, mkind, places = longer, VARIANT, suffixed
        found.append((s, mkind == WEAK, s - e, _RANK[mkind], len(found), e, places, mkind))
    for m in v.national.finditer(text):
        s, e = m.span()
        found.append((s, False, s - e, _RANK[NATIONAL], len(found), e, (NATION_PLACE,), NATIONAL))
    kept = [PlaceMention(s, e, text[s:e], places, kind) for s, _, _, _, _, e, places, kind in _longest(found)]
    mentions = _drop_person_names(text, kept, v)
    mentions = _add_local_short_forms(text, mentions, v)
    mentions = _add_unlisted(text, mentions, v)
    return _add_numbered(text, mentions, v)


def _add_numbered(text: str, mentions: list[PlaceMention], v: Vocab) -> list[PlaceMention]:
    """Units named by their number (六十一团), where they overlap no other mention;
    :func:`resolve_places` keeps those that follow a unit they lie in."""
    if not any(m.places[0].name in v.numbered_under for m in mentions if len(m.places) == 1):
        return mentions  # the common case: no such unit named, nothing to search
    taken = _Taken(mentions)
    extra = []
    for hit in v.numbered.finditer(text):
        s, e = hit.span()
        if not taken.overlaps(s, e):
            name = hit.group()
            extra.append(PlaceMention(s, e, name, (Place(name, v.numbered_level, (name,)),), NUMBERED))
    return sorted(mentions + extra, key=lambda m: m.start) if extra else mentions


def _take_suffix(text: str, end: int, places: tuple[Place, ...], v: Vocab) -> tuple[int, tuple[Place, ...]]:
    """A short form takes the suffix written after it (藁城 + 县 -> 藁城县), and
    keeps the units of a level that suffix names (恩施 + 州: the prefecture,
    not the city of 恩施)."""
    if not text.startswith(v.any_extend, end):
        return end, places
    for place in places:
        for suf in v.extend.get(place.level, ()):
            if text.startswith(suf, end):
                nxt = text[end + len(suf) : end + len(suf) + 1]
                if not (nxt and nxt in v.breakers.get(suf, "")):
                    if len(places) > 1:
                        places = tuple([p for p in places if suf in v.extend.get(p.level, ())])
                    return end + len(suf), places
    return end, places


# a match before the choice of the longest: (start, is weak, -length, rank of
# its kind, order found, end, places, kind), a tuple that sorts as _longest wants
_Found = tuple[int, bool, int, int, int, int, tuple[Place, ...], str]


def _longest(found: list[_Found]) -> list[_Found]:
    """Leftmost, then longest; at one start a name that needs no support wins
    over a longer one that does (上海 | 街头, not 上海街 for 上海街道)."""
    found.sort()
    out: list[_Found] = []
    last = -1
    for m in found:
        if m[0] >= last:
            out.append(m)
            last = m[5]
    return out


def _drop_person_names(text: str, mentions: list[PlaceMention], v: Vocab) -> list[PlaceMention]:
    """钟海南, 刘惠民: a surname, then a two-character short name, recurring."""
    # mentions do not overlap, so only the one before can hold the character before
    suspects = [
        i for i, m in enumerate(mentions)
        if m.kind in (SHORT, WEAK)
        and len(m.surface) == 2
        and m.start > 0
        and text[m.start - 1] in v.surnames
        and (i == 0 or mentions[i - 1].end != m.start)  # the surname is not the end of another mention
    ]
    if not suspects:
        return mentions
    counts = _counts(text, {text[mentions[i].start - 1 : mentions[i].end] for i in suspects})
    names = {i for i in suspects if counts[text[mentions[i].start - 1 : mentions[i].end]] >= 2}
    return [m for i, m in enumerate(mentions) if i not in names]


def _counts(text: str, words: set[str]) -> dict[str, int]:
    """``text.count(w)`` for every word of ``words`` (all of one length), in one
    scan of the text rather than one per word."""
    size = len(next(iter(words)))
    pattern = re.compile("(?=(" + alt(words) + "))")
    counts = dict.fromkeys(words, 0)
    free_from = dict.fromkeys(words, 0)  # str.count counts occurrences that do not overlap
    for hit in pattern.finditer(text):
        w, at = hit.group(1), hit.start()
        if at >= free_from[w]:
            counts[w] += 1
            free_from[w] = at + size
    return counts


class _Taken:
    """The stretches of text already held by a mention, which never overlap:
    whether a new one overlaps any is a bisection in each run of stretches
    added in text order (a scan of every mention for every candidate, or an
    insertion into one sorted list, would make a long text quadratic)."""

    __slots__ = ("runs",)

    def __init__(self, mentions: Sequence[PlaceMention]):
        spans = sorted((m.start, m.end) for m in mentions)
        self.runs = [([s for s, _ in spans], [e for _, e in spans])]

    def overlaps(self, s: int, e: int) -> bool:
        for starts, ends in self.runs:
            # the stretches that start before e end in the order they start: the last one decides
            i = bisect_left(starts, e) - 1
            if i >= 0 and ends[i] > s:
                return True
        return False

    def add(self, s: int, e: int) -> None:
        starts, ends = self.runs[-1]
        if starts and s < starts[-1]:
            starts, ends = [], []
            self.runs.append((starts, ends))
        starts.append(s)
        ends.append(e)


def _add_local_short_forms(text: str, mentions: list[PlaceMention], v: Vocab) -> list[PlaceMention]:
    """A township or village named in full is also found without its suffix;
    where that bare name is also the short form of another unit (阿里村 … 阿里,
    a prefecture's short form too) the document's own unit wins, unless the
    document names the other unit in full."""
    bases: dict[str, PlaceMention] = {}
    for m in mentions:
        if m.kind == FULL and m.places[0].level in ("township", "village"):
            for suf in v.local_short_suffixes:
                if m.surface.endswith(suf) and len(m.surface) - len(suf) >= 2:
                    bases.setdefault(m.surface[: -len(suf)], m)
                    break
    if not bases:
        return mentions
    named_in_full: set[int] | None = None  # (read only where a bare name is also a short form)
    by_span = {(m.start, m.end): k for k, m in enumerate(mentions) if m.kind in (SHORT, WEAK)}
    out = list(mentions)
    extra: list[PlaceMention] = []
    taken = _Taken(mentions)
    for hit in re.finditer(alt(bases), text):
        s, e = hit.span()
        local = PlaceMention(s, e, hit.group(), bases[hit.group()].places, LOCAL)
        if not taken.overlaps(s, e):
            taken.add(s, e)
            extra.append(local)
            continue
        k = by_span.get((s, e))
        if k is not None:
            if named_in_full is None:
                named_in_full = {p.pid for m in mentions if m.kind in (FULL, VARIANT) for p in m.places}
            if not any(p.pid in named_in_full for p in mentions[k].places):
                out[k] = local
    return sorted(out + extra, key=lambda m: m.start)


def _unlisted(name: str, v: Vocab) -> PlaceMention:
    level = "village" if name.endswith(v.village_suffixes) else "township"
    return PlaceMention(0, 0, name, (Place(name, level, (name,)),), PENDING)


def _add_unlisted(text: str, mentions: list[PlaceMention], v: Vocab) -> list[PlaceMention]:
    """Units named right after a known unit that the gazetteer lacks
    (孝义市柱濮新区, 嘉黎县麦地卡乡), and their later mentions.  A township's
    name holds the townships found inside it that do not lie in the unit
    before it (卡乡, a township of another county, inside 麦地卡乡); any other
    such name gives way to a mention it overlaps (崇文街道按照一村: 照一村)."""
    extra: list[PlaceMention] = []
    unlisted = v.unlisted
    taken = _Taken(())  # the units added here
    starts, ends = [m.start for m in mentions], [m.end for m in mentions]  # in order: they do not overlap
    held: set[int] = set()  # mentions a longer unlisted name holds

    def free(s: int, e: int, outer: PlaceMention | None) -> bool:
        if taken.overlaps(s, e):
            return False
        inside = range(bisect_left(ends, s + 1), bisect_left(starts, e))
        if inside and not text.endswith(v.unlisted_town_suffixes, s, e):
            return False
        for k in inside:
            x = mentions[k]
            if x.start < s or x.end > e or x.kind not in (FULL, VARIANT) or x.places[0].level != "township":
                return False
            if outer is not None and _nested_pairs(outer.places, x.places):
                return False  # a unit of the one before it: the text names that unit
        held.update(inside)
        return True

    for m in mentions:
        hit = unlisted.match(text, m.end) if m.kind != NATIONAL else None
        name = _unlisted_name(hit, v) if hit else None
        if name is None:
            continue
        s, e = name
        if free(s, e, m):
            taken.add(s, e)
            extra.append(replace(_unlisted(text[s:e], v), start=s, end=e))
    if extra:
        for hit in re.finditer(alt({m.surface for m in extra}), text):
            s, e = hit.span()
            if free(s, e, None):
                taken.add(s, e)
                extra.append(replace(_unlisted(hit.group(), v), start=s, end=e))
    kept = [m for k, m in enumerate(mentions) if k not in held] if held else mentions
    return sorted(kept + extra, key=lambda m: m.start)


def _unlisted_name(hit: re.Match, v: Vocab) -> tuple[int, int] | None:
    """The span of the unit a match of ``v.unlisted`` names, unless its name
    holds a character no such name holds (在社区, 各村, 干部下乡)."""
    if hit.group(1) is not None:  # a township: 麦地卡乡
        name, stops = hit.group(1), v.unlisted_town_stops
        start = hit.start(1)
    else:
        name, stops = hit.group(3), v.unlisted_stops
        start = hit.start(3)
    if any(ch in stops for ch in name):
        return None
    return start, hit.end()


# --------------------------------------------------------------------------
# 2. resolving candidates


def _shared(a: Place, b: Place) -> int:
    n = 0
    for x, y in zip(a.path, b.path):
        if x != y:
            break
        n += 1
    return n


def hint_place(hint: str | None) -> Place | None:
    """The unit a metadata hint names (``柳林县``, ``北京市丰台区``, ``全国``)."""
    if not hint or not hint.strip():
        return None
    if hint.strip() == gz_mod.NATION_NAME:
        return NATION_PLACE
    resolved = [m for m in resolve_places(find_places(hint), None, hint) if m.places[0].level != NATION]
    return max((m.places[0] for m in resolved), key=lambda p: len(p.path), default=None)


class _Support:
    """How much the document's resolved mentions (and the hint) share with a
    candidate: a count of anchors under every path prefix."""

    def __init__(self, hint: Place | None):
        self.under: dict[tuple[str, ...], int] = {}
        self.hint = hint if hint is not None and hint.level != NATION else None

    def add(self, place: Place) -> None:
        if place.level != NATION:
            path, under = place.path, self.under
            for k in range(1, len(path) + 1):
                prefix = path[:k]
                under[prefix] = under.get(prefix, 0) + 1

    def score(self, c: Place) -> tuple[int, int]:
        """(weighted sum of shared depth, deepest level shared with an anchor)."""
        score = best = 0
        for k in range(1, len(c.path) + 1):
            n = self.under.get(c.path[:k], 0)
            if n:
                score += n * (2 * k - 1)
                best = k
        if self.hint is not None:
            h = _shared(self.hint, c)
            score += 4 * h * h
            best = max(best, h)
        return score, best


def _adjacent(text: str | None, a: PlaceMention, b: PlaceMention) -> bool:
    """``b`` directly follows ``a`` (nothing, or a short bracket, between)."""
    if a.end == b.start:
        return True
    return text is not None and bool(_BRACKET_GAP.fullmatch(text, a.end, b.start))


def resolve_places(
    mentions: Sequence[PlaceMention], hint: str | None = None, text: str | None = None
) -> list[PlaceMention]:
    """Keep one unit per mention, the one the document supports.

    The unit just before a mention decides first (孝感市 | 陡岗镇 | 袁湖村),
    and a unit named right after the unit it lies in supports both (临县 |
    城庄镇).  Otherwise a candidate's support is what the other resolved
    mentions and the metadata ``hint`` share with it, the deeper the more.
    Townships, villages, county short forms and two-character county names
    (开县) are kept only where the document names a unit of the same
    prefecture; a tie between such candidates drops the mention.  A name
    glued to a unit it does not lie in (奉贤区|丽水湾小区) is dropped; a unit
    missing from the gazetteer hangs under the unit before it.  Chains of
    nested mentions become one mention of the innermost unit.  ``text``
    (the document) lets brackets count as adjacency (花乡（地区）巴庄子村)."""
    ms = sorted(mentions, key=lambda m: m.start)
    lacking_suffixes = vocab().lacking_suffixes
    chosen: list[Place | None] = [None] * len(ms)
    prev = [i - 1 if i and _adjacent(text, ms[i - 1], ms[i]) else None for i in range(len(ms))]

    # unambiguous provinces, prefectures and counties; national markers
    for i, m in enumerate(ms):
        if m.kind == NATIONAL:
            chosen[i] = NATION_PLACE
        elif m.kind in (FULL, VARIANT, SHORT) and len(m.places) == 1 and m.places[0].level in LEVELS[:3]:
            # (a county by a full name or a short form with its suffix, 石林县, of three characters or more)
            if m.places[0].level != "county" or (m.kind in (FULL, VARIANT) and len(m.surface) > 2):
                chosen[i] = m.places[0]
    # a unit named right after the unit it lies in
    for i, j in enumerate(prev):
        if j is None or NATION_PLACE in ms[j].places or ms[i].kind in (NATIONAL, PENDING, NUMBERED):
            continue
        pairs = _nested_pairs(ms[j].places, ms[i].places)
        if len(pairs) == 1:
            chosen[j] = chosen[j] or pairs[0][0]
            chosen[i] = chosen[i] or pairs[0][1]
    _resolve_by_shared_county(ms, chosen, prev)
    # the rest by support, twice so that later anchors help earlier mentions (the
    # second pass starts from what the first added: the support of every choice)
    support = _Support(hint_place(hint))
    for p in chosen:
        if p is not None:
            support.add(p)
    for _ in range(2):
        for i, m in enumerate(ms):
            if chosen[i] is None and m.kind not in (NATIONAL, PENDING, NUMBERED, LOCAL):
                parent = chosen[prev[i]] if prev[i] is not None else None
                chosen[i] = _choose(m, support, parent)
                if chosen[i] is not None:
                    support.add(chosen[i])
    # short forms follow their full form (the first one resolved)
    full_choice: dict[tuple[int, ...], Place] = {}
    for i, m in enumerate(ms):
        if chosen[i] is not None and m.kind == FULL:
            full_choice.setdefault(_pids(m.places), chosen[i])
    for i, m in enumerate(ms):
        if m.kind == LOCAL:
            chosen[i] = full_choice.get(_pids(m.places))
    # units the gazetteer lacks hang under the unit before them
    hung: dict[str, Place] = {}  # (the first one of each name)
    for i, m in enumerate(ms):
        parent = chosen[prev[i]] if prev[i] is not None else None
        municipal = parent is not None and parent.level == "province" and len(parent.path) == 2
        if parent is None or parent.pid < 0 or not (municipal or parent.level in ("city", "county", "township")):
            continue
        if m.kind == PENDING or (
            chosen[i] is None
            and m.places[0].level in ("township", "village")
            and m.surface.endswith(lacking_suffixes)
        ):
            level = "village" if parent.level == "township" else m.places[0].level
            chosen[i] = parent.child(m.surface, level)
            hung.setdefault(m.surface, chosen[i])
    # later mentions of such a unit, alone, are that unit (a village of another
    # county by its name only is not the document's)
    for i, m in enumerate(ms):
        if chosen[i] is None and m.kind in (PENDING, FULL, VARIANT):
            chosen[i] = hung.get(m.surface)
    # units named by their number lie in the last unit before them that has such units
    under = vocab().numbered_under
    holder: Place | None = None
    for i, m in enumerate(ms):
        if chosen[i] is not None and chosen[i].name in under:
            holder = chosen[i]
        elif m.kind == NUMBERED and holder is not None:
            chosen[i] = holder.child(m.surface, m.places[0].level)
    # a name glued to a unit it does not lie in is part of another name
    for i, j in enumerate(prev):
        a, b = (chosen[j] if j is not None else None), chosen[i]
        if a is None or b is None or NATION in (a.level, b.level) or ms[j].end != ms[i].start:
            continue
        if not a.contains(b) and not b.contains(a):
            chosen[i] = None
    out: list[PlaceMention] = []
    for i, m in enumerate(ms):
        place = chosen[i]
        if place is None:
            continue
        last = out[-1] if out else None
        if last is not None and _adjacent(text, last, m) and place.level != NATION:
            outer = last.places[0]
            if outer.level != NATION and outer != place and outer.contains(place):
                out[-1] = PlaceMention(last.start, m.end, m.surface, (place,), m.kind)
                continue
        out.append(PlaceMention(m.start, m.end, m.surface, (place,), m.kind))
    return out


def _pids(places: tuple[Place, ...]) -> tuple[int, ...]:
    return tuple(p.pid for p in places)


def _nested_pairs(outer: tuple[Place, ...], inner: tuple[Place, ...]) -> list[tuple[Place, Place]]:
    """Every (a, b), a from ``outer`` and b from ``inner``, where a contains b
    (a != b), up to two: a lookup per level the outer units are at for each b,
    rather than a test of every pair (common village names have hundreds of
    candidates)."""
    by_path: dict[tuple[str, ...], list[Place]] = {}
    for a in outer:
        by_path.setdefault(a.path, []).append(a)
    depths = sorted({len(path) for path in by_path})
    pairs: list[tuple[Place, Place]] = []
    for b in inner:
        path = b.path
        for k in depths:
            if k > len(path):
                break
            for a in by_path.get(path[:k], ()):
                if a != b:
                    pairs.append((a, b))
                    if len(pairs) > 1:
                        return pairs
    return pairs


def _county_key(place: Place) -> tuple[str, ...]:
    """The path of the county-level unit ``place`` is in (of the prefecture
    where it lies in none: the townships of 东莞市), or its own."""
    levels = place.path_levels
    for level in ("county", "city"):
        if level in levels:
            return place.path[: levels.index(level) + 1]
    return place.path


def _resolve_by_shared_county(ms: list[PlaceMention], chosen: list[Place | None], prev: list[int | None]) -> None:
    """A page that names its townships and villages but not its county (于家镇,
    长岗村, 三姓村 … of 榆树市): the county where more of the names it uses
    (each counted once) can lie than in any other, two at least, takes every
    unresolved mention with one candidate there.  Units already resolved
    count for their county too."""
    below_city = ("county", "township", "village")
    tails = vocab().admin_tails
    open_mentions = [
        i for i, m in enumerate(ms)
        if chosen[i] is None
        and m.kind in (FULL, VARIANT)
        # a name with its suffix (先锋, 车站: townships of the list without one, and words)
        and len(m.surface) >= 3
        and m.surface.endswith(tails)
        and (prev[i] is None or chosen[prev[i]] is None)  # named under a unit: that unit decides (_choose)
        and any(p.level in below_city for p in m.places)
    ]
    if not open_mentions:
        return
    resolved = [i for i, p in enumerate(chosen) if p is not None and p.level in below_city]
    if len({ms[i].surface for i in open_mentions + resolved}) < 2:
        return  # no county can hold two names
    names: dict[tuple[str, ...], set[str]] = {}
    for i in resolved:
        names.setdefault(_county_key(chosen[i]), set()).add(ms[i].surface)
    for i in open_mentions:
        for key in {_county_key(p) for p in ms[i].places if p.level in below_city}:
            names.setdefault(key, set()).add(ms[i].surface)
    ranked = sorted(((len(v), k) for k, v in names.items()), reverse=True)
    if ranked[0][0] < 2 or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return
    county = ranked[0][1]
    for i in open_mentions:
        inside = [p for p in ms[i].places if p.path[: len(county)] == county]
        if len(inside) == 1:
            chosen[i] = inside[0]


def _same_prefecture(c: Place) -> int:
    """The depth of path a candidate must share with the document to be supported.

    A municipality is its own prefecture (上海市 › 上海市 › 虹口区): naming the city
    says no more about one of its streets or villages than naming a province, so
    these need their district; its districts themselves need the city only."""
    if c.level in ("township", "village") and len(c.path) > 2 and c.path[0] == c.path[1]:
        return 3
    return 2


def _choose(m: PlaceMention, support: _Support, parent: Place | None) -> Place | None:
    cands = [p for p in m.places if p.level != NATION]
    if not cands:
        return None
    if parent is not None and parent.level != NATION:
        inside = [c for c in cands if c != parent and parent.contains(c)]
        if inside:
            return min(inside, key=lambda c: len(c.path))
        if cands[0].level in ("township", "village"):
            return None  # named under a unit that has no such child

    def needs_support(c: Place) -> bool:
        if m.kind in (WEAK, LOCAL) or c.level in ("township", "village"):
            return True
        # a county by its short form, or a two-character full name (开县, 和县); a
        # short form with its suffix (石林县 for 石林彝族自治县) only where it may mean several
        if c.level != "county":
            return False
        if m.kind == VARIANT and len(m.places) == 1 and len(m.surface) > 2:
            return False
        return m.surface != c.name or len(c.name) <= 2

    scored = []
    for c in cands:
        score, best = support.score(c)
        if needs_support(c) and best < _same_prefecture(c):
            continue  # nothing else in the document is in the same prefecture
        scored.append((score, c))
    if not scored:
        return None
    scored.sort(key=lambda t: (-t[0], LEVELS.index(t[1].level)))
    if len(scored) > 1 and scored[0][0] == scored[1][0] and scored[0][1].level == scored[1][1].level:
        if needs_support(scored[0][1]):
            return None  # as many reasons for one as for the other
    return scored[0][1]
