"""The locality of each claim: which of the places a document names it is about.

Reads: the repaired text of a document, its paragraphs (view offsets,
kind, article), the view spans of its claims, its resolved place mentions
(:func:`pipeline.places.find`), the gazetteer (:mod:`pipeline.gazetteer`)
and the role cue words of ``pipeline/data/localities.yaml``.
Writes: one :class:`~pipeline.model.LocalityPath` per claim.

:func:`attribute` gives each claim the place it is about: a place its
clause or sentence sends people or goods to (驰援/出征/援…), else the
nearest place before it in its clause, then after it in its clause,
then before and after it in its sentence, then earlier in its paragraph
and article, else the document's dominant place.  Places people come
from (从武汉返乡), neighbours (与灵石县相交), places only visited,
institutions named after a place (武汉大学) and the places of a
breakdown (丰台区6例、大兴区1例) hold for their own clause or number
only.  Anaphors (全县, 该乡, 本市) stand for the latest unit of their
level; a list of places (仙桃、天门和潜江) for their smallest common unit.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from . import gazetteer as gz_mod
from . import places as places_mod
from .gazetteer import NATION, NATION_PLACE, Place
from .model import LocalityPath, Paragraph, ParagraphKind
from .places import PlaceMention, alt, by_length, hint_place, locality_name

__all__ = ["attribute"]

_SENT_END = frozenset("。！？!?【】\n")
_CLAUSE_END = _SENT_END | frozenset("，,；;：:（）()#")
_SEGMENT_END = _SENT_END | frozenset("；;")
_NUM_START = re.compile(r"\s*[0-9０-９]")
_NOT_COREF = re.compile(r"[年月日时号天]\s*$")
_HAS_NUMBER = re.compile(r"[0-9０-９一二三四五六七八九十百千万两]")
_TO_OPEN_BRACKET = re.compile(r"\s*[（(]")  # compiled once: used for every claim
_TO_CLOSE_BRACKET = re.compile(r"[\u4e00-\u9fff]{0,4}[）)]")
_RATIO_COLON = re.compile(r"[0-9０-９][:：][0-9０-９]")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class _Cues:
    """What ``localities.yaml`` says about the role of a place where it stands."""

    institution: re.Pattern
    firm: re.Pattern
    anaphor: re.Pattern
    organ_words: frozenset[str]  # 镇团委: the level word before an organ
    anaphor_words: dict[str, str]  # 村里 -> 村
    anaphor_level: dict[str, str]  # 县 -> county
    anaphor_levels_longest_first: tuple[str, ...]
    abbreviations: dict[str, str]
    abbreviation: re.Pattern
    send: re.Pattern
    send_verbs_longest_first: tuple[str, ...]
    person: re.Pattern
    list_sep: re.Pattern
    joint: re.Pattern  # levels acting together after a place: 区两级
    joint_first: tuple[str, ...]
    roles: dict[str, tuple[str, ...]]
    # what the words before and after a place hold where _role can give it one
    role_cue_before: re.Pattern
    role_cue_after: tuple[str, ...]


@lru_cache(maxsize=1)
def _vocab() -> _Cues:
    raw = gz_mod.load_data().raw
    roles = {k: tuple(v or ()) for k, v in raw["roles"].items()}
    levels = dict(raw["anaphor_levels"], 新区="township")
    abbr = raw["province_abbreviations"]
    return _Cues(
        institution=re.compile(r"[\u4e00-\u9fff]{0,6}?(?:" + alt(raw["institution_suffixes"]) + ")"),
        firm=re.compile(
            "(?:(?![" + "".join(map(re.escape, raw["firm_name_stops"])) + r"])[\u4e00-\u9fff]){0,8}?(?:"
            + alt(raw["firm_suffixes"]) + ")"
        ),
        # words, prefixes + levels (全县), levels + organs (镇团委), spelt out: an
        # alternation of plain words is searched much faster
        anaphor=re.compile(alt(
            list(raw["anaphor_words"])
            + [p + w for p in raw["anaphor_prefixes"] for w in raw["anaphor_levels"]]
            + [w + o for w in raw["organ_levels"] for o in raw["organs"]]
            + list(raw["subject_levels"])
        )),
        organ_words=frozenset(
            [w + o for w in raw["organ_levels"] for o in raw["organs"]] + list(raw["subject_levels"])
        ),
        anaphor_words=dict(raw["anaphor_words"]),
        anaphor_level=levels,
        anaphor_levels_longest_first=tuple(by_length(levels)),
        abbreviations=abbr,
        abbreviation=re.compile(
            "(?:" + alt(roles["send_verbs"]) + ")(" + "|".join(map(re.escape, abbr)) + ")"
            "(?=" + alt(roles["abbreviation_after"]) + ")"
        ),
        send=re.compile(alt(roles["send_verbs"])),
        send_verbs_longest_first=tuple(by_length(roles["send_verbs"])),
        person=re.compile(
            "(?:" + alt(roles["person_roles"]) + r")[\u4e00-\u9fff]{2,3}?(?:" + alt(roles["person_after"]) + ")"
        ),
        list_sep=re.compile(r"\s*(?:" + alt(roles["list_separators"]) + r")\s*"),
        joint=re.compile("(?:" + alt(roles["joint_levels"]) + "){1,3}(?:" + alt(roles["joint_level_counts"]) + ")"),
        joint_first=tuple(roles["joint_levels"]),
        roles=roles,
        # Found before every place that _role gives a role (a sending verb or a
        # neighbour's 与 anywhere in the 8 characters, an origin, neighbour or
        # visit word at their end), and before some others.  One flat
        # alternation: the regex then skips to the words' first characters.
        role_cue_before=re.compile("|".join(
            [re.escape(w) for w in roles["send_verbs"] + roles["neighbor_before"]]
            + [
                re.escape(w) + r"\Z"
                for w in roles["origin_before"] + roles["counted_before"] + roles["neighbor_alone"]
                + roles["whole_before"] + roles["transient_before"]
            ]
        )),
        role_cue_after=roles["origin_after"] + roles["attribute_after"],
    )


# --------------------------------------------------------------------------
# attributing claims

# roles of a place in its sentence
CONTEXT = "context"  # the place the text is about here
DEST = "dest"  # receives people, goods or money sent (驰援武汉)
BLOCKED = "blocked"  # a sending only intended or funded (报名请战驰援武汉, 为驰援武汉捐款)
ORIGIN = "origin"  # where people come from (从武汉返乡, 来自全国各地, 湖北籍, 劝返外县人员)
NEIGHBOR = "neighbor"  # beside the place the text is about (与灵石县相交)
TRANSIENT = "transient"  # visited, entered or passed: its own clause only (前往花乡, 进入榆树)
ATTACHED = "attached"  # one row of a breakdown or a bracket: its own number only
WHOLE = "whole"  # the whole a share is taken of (占全市的八成): not its own sentence's place
LEVELS = "levels"  # levels of government acting together (X市区两级): see _joint_levels
FIRM = "firm"  # begins a firm's name (昆明某某有限公司): where it is registered, never a claim's place


@dataclass
class _Ref:
    """A resolved mention (or anaphor) and the role it plays where it stands."""

    start: int
    end: int
    place: Place
    name: str
    role: str = CONTEXT
    weak: bool = False  # inside an institution's name (武汉大学, 孝义市人民医院)
    scoped: bool = False  # a person's affiliation (大青河村党支部书记张艳维…): its own segment only
    bare: bool = False  # a unit named in full elsewhere, here without its suffix (驿马乡 … 驿马)


@dataclass(frozen=True)
class _Send:
    """A sending verb, the place it sends to, and whether the sending is only intended."""

    start: int
    verb: str
    dest: _Ref | None
    blocked: bool


@dataclass
class _Back:
    """What a walk back from the end of a paragraph through the earlier
    paragraphs of its article finds (see :func:`_walk_back`)."""

    unit: tuple[Place, str] | None = None  # a paragraph naming places of three branches
    ref: _Ref | None = None  # else the nearest plain place
    refined: _Ref | None = None  # an institution's place on the way there that lies inside it
    first_weak: _Ref | None = None  # where no plain place is found: the nearest institution's place


_NOTHING = _Back()


@dataclass
class _Doc:
    text: str
    paragraphs: list[Paragraph]
    para_starts: list[int]
    refs: list[_Ref]
    starts: list[int]
    dominant: tuple[Place, str] | None
    # offsets of the characters that end a clause, a sentence, a segment
    clause_stops: list[int]
    sentence_stops: list[int]
    sends: list[_Send] = field(default_factory=list)
    send_starts: list[int] = field(default_factory=list)
    # only scoped places use segments, and few documents have one: None when none has
    segment_stops: list[int] | None = None
    # What follows keeps the work per claim from growing with the document
    # (set by _index_refs and _index_sends): no claim scans a list of refs or sends.
    refs_ix: _RefIndex | None = None
    sends_ix: _SendIndex | None = None
    deepest: dict[tuple[int, int, Place, str], tuple[Place, str]] = field(default_factory=dict)
    names: dict[Place, str] | None = None  # each place's name as its first ref writes it (_named)

    def para_index(self, pos: int) -> int:
        i = bisect_right(self.para_starts, pos) - 1
        return i if i >= 0 and pos < self.paragraphs[i].vend else -1

    def refs_between(self, lo: int, hi: int) -> list[_Ref]:
        """Refs that start in [lo, hi)."""
        return self.refs[bisect_left(self.starts, lo) : bisect_left(self.starts, hi)]


@dataclass
class _RefIndex:
    """For every ref (by index): the nearest ref at or before it (``prev_*``)
    or at or after it (``next_*``) that a claim may take from its clause
    (``clause``) or from its sentence (``sentence``); of the latter, the
    plain ones and the institutions' (``plain``, ``weak``: a walk back
    through the paragraphs treats them apart).  Refs scoped to a
    segment are listed apart (their use depends on the claim).  Refs never
    overlap (mentions, abbreviations and anaphors are each kept only where
    no other is), which the lookups rely on."""

    prev_clause: list[int]
    next_clause: list[int]
    prev_sentence: list[int]
    next_sentence: list[int]
    prev_plain: list[int]
    prev_weak: list[int]
    scoped_clause: list[int]
    scoped_sentence: list[int]
    # per paragraph: what the walk back from its end finds; per ref: the nearest
    # institution's place since the last plain place of its paragraph (early in
    # a paragraph: since the place the walk back from the paragraph before
    # finds) that lies inside that place, or -1
    back: list[_Back]
    refine_at: list[int]
    article_first: list[int]  # per paragraph: the first paragraph of its article


@dataclass(frozen=True)
class _SendIndex:
    """For every send (by index): the nearest real sending (with a destination,
    not blocked) at or after and at or before it, and the nearest verb that
    continues the last sending (出征的3名队员) at or after it."""

    next_good: list[int]
    prev_good: list[int]
    next_continuer: list[int]


_NO_SENDS = _SendIndex([], [], [])


def attribute(
    text: str,
    paragraphs: Sequence[Paragraph],
    spans: Sequence[tuple[int, int]],
    hint: str | None = None,
    mentions: Sequence[PlaceMention] | None = None,
) -> list[LocalityPath]:
    """The place each claim (a span in view offsets) is about, one LocalityPath
    per span, in order.  ``hint`` is what the metadata says the document is
    about; it is the fallback place.  ``mentions`` are the document's resolved
    place mentions (:func:`pipeline.places.find` with the same hint; found
    here when not given)."""
    if not spans:
        return []
    if mentions is None:
        mentions = places_mod.find(text, hint)
    doc = _prepare(text, paragraphs, hint, mentions)
    found: dict[int, tuple[Place, str] | None] = {}
    said: dict[tuple[int, str], tuple[Place, str] | None] = {}
    for k in sorted(range(len(spans)), key=lambda k: spans[k]):
        s, e = spans[k]
        pi = doc.para_index(s)
        key = _count_key(doc, s, e, pi)
        found[k] = _attribute_one(doc, s, e, pi, key, said)
        if key is not None:
            said[key] = found[k]
    paths: dict[tuple[Place, str], LocalityPath] = {}  # immutable: claims about one place share it
    out = []
    for k in range(len(spans)):
        got = found[k]
        if got is None:
            out.append(LocalityPath())
            continue
        path = paths.get(got)
        if path is None:
            path = paths[got] = got[0].locality_path(got[1])
        out.append(path)
    return out


def _prepare(text: str, paragraphs: Sequence[Paragraph], hint: str | None, mentions: Sequence[PlaceMention]) -> _Doc:
    v = _vocab()
    paras = sorted(paragraphs, key=lambda p: p.vstart) or [
        Paragraph("", 0, 0, ParagraphKind.body, 0, len(text), 0, len(text), text)
    ]
    refs = [_Ref(m.start, m.end, m.places[0], locality_name(m), bare=m.kind == places_mod.LOCAL) for m in mentions]
    ends = [r.end for r in refs]  # mentions do not overlap: their ends are in order too
    extra = []
    for hit in v.abbreviation.finditer(text):  # 援鄂医疗队
        s, e = hit.span(1)
        k = bisect_left(ends, s + 1)  # the first mention that ends after s
        if k == len(refs) or refs[k].start >= e:
            place = gz_mod.load().lookup(v.abbreviations[hit.group(1)])[0]
            extra.append(_Ref(s, e, place, place.name))
    if extra:
        refs = sorted(refs + extra, key=lambda r: r.start)
    for r in refs:
        _set_role(text, r, v)
    refs = _merge_lists(text, refs, v)
    clause_stops = _stop_positions(text, _CLAUSE_END)
    if ":" in text or "：" in text:  # a colon between digits is a ratio or a time (1:100), not a stop
        clause_stops = [i for i in clause_stops if not _RATIO_COLON.match(text, i - 1 if i else 0)]
    # what ends a sentence or a segment ends a clause too
    sentence_stops = [i for i in clause_stops if text[i] in _SENT_END]
    _mark_breakdowns(text, refs, paras, sentence_stops)
    doc = _Doc(
        text, paras, [p.vstart for p in paras], refs, [r.start for r in refs], None,
        clause_stops, sentence_stops,
    )
    hinted = hint_place(hint)
    if hinted is not None:
        doc.dominant = (hinted, gz_mod.NATION_NAME if hinted.level == NATION else hinted.name)
    else:
        doc.dominant = _dominant(refs)
    _joint_levels(refs, doc.dominant)
    _add_anaphors(doc, v)
    doc.refs_ix = _index_refs(doc)
    doc.sends = _find_sends(doc, v)
    doc.send_starts = [x.start for x in doc.sends]
    doc.sends_ix = _index_sends(doc.sends, v.roles["send_continuers"])
    if any(r.scoped for r in doc.refs):
        doc.segment_stops = [i for i in clause_stops if text[i] in _SEGMENT_END]
    return doc


def _joint_levels(refs: list[_Ref], dominant: tuple[Place, str] | None) -> None:
    """The levels of a place acting together (X市区两级共投入警力…) act where
    the document is about when that lies inside the place (a report on one
    district of X), else in the place itself (X县乡两级 in a report on X县)."""
    for r in refs:
        if r.role == LEVELS:
            r.role = CONTEXT
            if dominant is not None and dominant[0] != r.place and r.place.contains(dominant[0]):
                r.place, r.name = dominant


def _set_role(text: str, r: _Ref, v: _Cues) -> None:
    """The role of a place, from the 8 characters before it and the 10 after it."""
    s, e = r.start, r.end
    lo = s - 8 if s > 8 else 0
    if r.place.level != NATION and v.institution.match(text, e, e + 10):
        r.weak = True
    if v.firm.match(text, e, e + 14):
        r.role = FIRM
        return
    if text.startswith(v.joint_first, e) and v.joint.match(text, e, e + 10):
        r.role = LEVELS
        return
    # Most places have none of the role words around them: one search tells,
    # where the tests of _role would each slice and scan the text.
    role = None
    if v.role_cue_before.search(text, lo, s) or text.startswith(v.role_cue_after, e, e + 10):
        role = _role(text[lo:s], text[e : e + 10], v)
    if role is not None:
        r.role = role
    elif v.person.match(text, e, e + 10):
        r.scoped = True


def _role(before: str, after: str, v: _Cues) -> str | None:
    """The role the words ``before`` and ``after`` a place give it (None: the plain one)."""
    R = v.roles
    sending = _sent_to(before, v)
    if sending is not None:
        return BLOCKED if sending else DEST
    if before.endswith(R["origin_before"]) or after.startswith(R["origin_after"]):
        return ORIGIN
    if before.endswith(R["counted_before"]) and after.startswith(R["counted_after"]):
        return ORIGIN
    if any(w in before[-6:] for w in R["neighbor_before"]) and any(w in after[:8] for w in R["neighbor_after"]):
        return NEIGHBOR
    if before.endswith(R["neighbor_alone"]):
        return NEIGHBOR
    if before.endswith(R["whole_before"]):
        return WHOLE
    if before.endswith(R["transient_before"]) or after.startswith(R["attribute_after"]):
        return TRANSIENT
    return None


def _sent_to(before: str, v: _Cues) -> bool | None:
    """Is the place right after a sending verb?  None: no; False: sent to;
    True: an intended or funded sending (为驰援…, 报名请战驰援…)."""
    R = v.roles
    if not v.send.search(before):  # no sending verb at all (most places)
        return None
    for link in ("",) + R["send_links"]:
        if link and not before.endswith(link):
            continue
        head = before[: len(before) - len(link)]
        if not head.endswith(R["send_verbs"]):
            continue
        verb = next(w for w in v.send_verbs_longest_first if head.endswith(w))
        if any(head.endswith(b) for b in R["send_breakers"] if b.endswith(verb)):
            return None
        return any(w in head[-len(verb) - 6 : -len(verb)] for w in R["send_blockers"])
    return None


def _merge_lists(text: str, refs: list[_Ref], v: _Cues) -> list[_Ref]:
    """仙桃、天门和潜江 / 河北、陕西…等27个 / 武汉等七个城市: a list stands for
    the smallest unit holding all its places (a lone place before 等, for
    the unit above it)."""
    gz = gz_mod.load()
    names: dict[Place, str] | None = None
    out: list[_Ref] = []
    i = 0
    while i < len(refs):
        j = i
        while (
            j + 1 < len(refs)
            and refs[j + 1].role == refs[i].role
            and v.list_sep.fullmatch(text, refs[j].end, refs[j + 1].start)
        ):
            j += 1
        members = refs[i : j + 1]
        etc = text.startswith("等", members[-1].end)
        if refs[i].role in (CONTEXT, DEST) and (len(members) >= 2 or etc):
            places = [m.place for m in members]
            if NATION_PLACE in places:
                unit = NATION_PLACE
            elif len(set(places)) == 1 and etc:
                unit = gz.parent(places[0])
            else:
                unit = gz.common_unit(places)
            name, names = _unit_named(unit, refs, names)
            out.append(_Ref(members[0].start, members[-1].end, unit, name, refs[i].role))
        else:
            out.extend(members)
        i = j + 1
    return out


def _unit_named(unit: Place, refs: list[_Ref], names: dict[Place, str] | None) -> tuple[str, dict[Place, str] | None]:
    """A unit's name as the text first writes it, and the names of the refs (worked
    out on first need, then passed back to be reused)."""
    if unit.level == NATION:
        return gz_mod.NATION_NAME, names
    names = names if names is not None else _first_names(refs)
    return names.get(unit, unit.name), names


def _first_names(refs: list[_Ref]) -> dict[Place, str]:
    """Each place's name as its first ref writes it (a list or a walk back names a unit so)."""
    names: dict[Place, str] = {}
    for r in refs:
        names.setdefault(r.place, r.name)
    return names


def _in_brackets(text: str, s: int, e: int) -> bool:
    """Is text[s:e] inside round brackets (a short stretch either side)?"""
    left, right = text[max(0, s - 12) : s], text[e : e + 12]
    lo = max(left.rfind("（"), left.rfind("("))
    if lo < 0 or max(left.rfind("）"), left.rfind(")")) > lo:
        return False
    ends = [i for i in (right.find("）"), right.find(")")) if i >= 0]
    return bool(ends) and not any(ch in right[: min(ends)] for ch in "（(")


def _mark_breakdowns(text: str, refs: list[_Ref], paras: list[Paragraph], sentence_stops: list[int]) -> None:
    """Places in brackets (1例（宜昌市）, （武汉市3例）), and places each directly
    followed by a count in one sentence (丰台区6例、大兴区1例; a table row
    浦东 2596 黄浦 257), hold for their own number only."""
    rows: dict[tuple[int, int], list[_Ref]] = {}
    starts = [p.vstart for p in paras]
    for r in refs:
        if r.role != CONTEXT:
            continue
        if _in_brackets(text, r.start, r.end):
            r.role = ATTACHED
        elif _NUM_START.match(text, r.end):
            pi = bisect_right(starts, r.start) - 1
            lo, hi = (paras[pi].vstart, paras[pi].vend) if pi >= 0 else (0, len(text))
            rows.setdefault(_bounds(sentence_stops, lo, hi, r.start, r.end), []).append(r)
    for row in rows.values():
        if len({r.place for r in row}) >= 2:
            for r in row:
                r.role = ATTACHED


def _dominant(refs: list[_Ref]) -> tuple[Place, str] | None:
    """The deepest unit holding at least half of the plain mentions (全国 if
    none).  A unit's bare short forms (驿马 for 驿马乡) do not count: a village
    visited at length would outweigh the county the report is about."""
    gz = gz_mod.load()
    weight: dict[tuple[str, ...], int] = {}
    holder: dict[tuple[str, ...], Place] = {}
    total = 0
    for r in refs:
        if r.role != CONTEXT or r.scoped or r.weak or r.bare:
            continue
        total += 1
        if r.place.level != NATION:
            for anc in gz.ancestors(r.place):
                weight[anc.path] = weight.get(anc.path, 0) + 1
                holder[anc.path] = anc
    if total == 0:
        return None
    best = max((p for p, w in weight.items() if 2 * w >= total), key=len, default=())
    if not best:
        return NATION_PLACE, gz_mod.NATION_NAME
    return holder[best], next((r.name for r in refs if r.place == holder[best]), holder[best].name)


def _add_anaphors(doc: _Doc, v: _Cues) -> None:
    """全县, 该乡, 本市, 我们村, 新区: the latest unit of that level before them."""
    new: list[_Ref] = []
    latest: dict[str, tuple[int, tuple[Place, str] | None]] = {}
    for hit in v.anaphor.finditer(doc.text):
        s, e = hit.span()
        word = hit.group()
        if word in v.organ_words:
            if s > 0 and doc.text[s - 1] not in _CLAUSE_END:
                continue  # not at the start of a clause: 按照市委部署, 城市街道
            if word not in v.anaphor_level:
                word, e = word[0], s + 1  # the level word stands for the place (镇团委)
        k = bisect_left(doc.starts, e) - 1  # refs do not overlap: the last one starting before e decides
        if k >= 0 and doc.refs[k].end > s:
            continue
        level_word = v.anaphor_words.get(word) or next(
            (k for k in v.anaphor_levels_longest_first if word.endswith(k)), None
        )
        got = _latest_of(doc, s, level_word, v, latest) if level_word else None
        if got is None:
            continue
        ref = _Ref(s, e, got[0], got[1])
        _set_role(doc.text, ref, v)
        if ref.role in (DEST, BLOCKED):
            ref.role = CONTEXT
        new.append(ref)
    if new:
        doc.refs = sorted(doc.refs + new, key=lambda r: r.start)
        doc.starts = [r.start for r in doc.refs]


def _is_level(place: Place, name: str, level_word: str, v: _Cues) -> bool:
    """Is ``place`` (named ``name``) a unit an anaphor on ``level_word`` can mean?"""
    if level_word == "新区":
        return place.pid < 0 and name.endswith("新区")
    if level_word == "市":  # 本市: a municipality, a prefecture or a county-level city
        return place.level in ("province", "city", "county") and (name.endswith("市") or place.name.endswith("市"))
    if level_word in ("县", "区", "旗", "街道", "社区"):
        return place.level == v.anaphor_level[level_word] and (
            name.endswith(level_word) or place.name.endswith(level_word)
        )
    if level_word in ("乡", "镇"):
        return place.level == "township" and not place.name.endswith("街道")
    return place.level == v.anaphor_level[level_word]


def _latest_of(
    doc: _Doc, pos: int, level_word: str, v: _Cues, latest: dict[str, tuple[int, tuple[Place, str] | None]]
) -> tuple[Place, str] | None:
    """The unit of ``level_word`` the latest place before ``pos`` lies in, else
    the dominant place's.  Anaphors come in text order, and ``latest`` keeps
    per level word how far the refs have been read and what they gave: the
    walk back from ``pos`` stops there, so no ref is read twice for one word."""
    gz = gz_mod.load()
    upto = bisect_left(doc.starts, pos)
    done, got = latest.get(level_word, (0, None))
    for k in range(upto - 1, done - 1, -1):
        r = doc.refs[k]
        if r.role in (ORIGIN, NEIGHBOR, BLOCKED, FIRM) or r.place.level == NATION:
            continue
        hit = None
        for anc in reversed(gz.ancestors(r.place)):
            name = r.name if anc == r.place else _named(doc, anc)
            if _is_level(anc, name, level_word, v):
                hit = anc, name
                break
        if hit is not None:
            got = hit
            break
    latest[level_word] = (max(done, upto), got)
    if got is not None:
        return got
    if doc.dominant is not None and level_word != "新区" and doc.dominant[0].level != NATION:
        place, pname = doc.dominant
        for anc in reversed(gz.ancestors(place)):
            name = pname if anc == place else _named(doc, anc)
            if _is_level(anc, name, level_word, v):
                return anc, name
    return None


def _named(doc: _Doc, place: Place) -> str:
    """A unit's name as the text writes it where it names it (鄂温克旗), else the
    gazetteer's (鄂温克族自治旗): what an anaphor (全旗) or a unit above a
    place is called."""
    if doc.names is None:
        doc.names = _first_names(doc.refs)
    return doc.names.get(place, place.name)


def _find_sends(doc: _Doc, v: _Cues) -> list[_Send]:
    """Every sending verb with the place it sends to: the place right after
    it, or a place after 在 earlier in its clause (在湖北省的武汉等七个城市…开展支援)."""
    text = doc.text
    R = v.roles
    out = []
    after_zai: list[int] | None = None  # refs right after 在 that the text is about
    for hit in v.send.finditer(text):
        s, e = hit.span()
        if any(b in text[max(0, s - 2) : e + 2] for b in R["send_breakers"]):
            continue
        after = e + 1 if text[e : e + 1] in R["send_links"] else e
        dest = next((r for r in doc.refs_between(e, after + 1) if r.start in (e, after)), None)
        if dest is None and hit.group() in R["send_in_place"]:
            i = bisect_left(doc.clause_stops, s) - 1
            lo = doc.clause_stops[i] + 1 if i >= 0 else 0  # the start of its clause
            if after_zai is None:
                after_zai = [k for k, r in enumerate(doc.refs) if text[r.start - 1 : r.start] == "在" and r.role == CONTEXT]
            t = bisect_left(after_zai, bisect_left(doc.starts, lo))
            if t < len(after_zai) and after_zai[t] < bisect_left(doc.starts, s):
                dest = doc.refs[after_zai[t]]
        if dest is not None and dest.role == ORIGIN:
            dest = None
        blocked = any(w in text[max(0, s - 6) : s] for w in R["send_blockers"])
        out.append(_Send(s, hit.group(), dest, blocked))
    return out


def _bounds(pos: list[int], lo: int, hi: int, s: int, e: int) -> tuple[int, int]:
    """The stretch around [s, e) within [lo, hi) that no stop (``pos``: the
    offsets of the stop characters, from :func:`_stop_positions`) breaks."""
    # (conditionals rather than min and max: this runs three times for every claim)
    i = bisect_left(pos, s) - 1
    a = pos[i] + 1 if i >= 0 and pos[i] + 1 > lo else lo
    j = bisect_left(pos, e)
    b = pos[j] if j < len(pos) and pos[j] < hi else hi
    return (a if a < s else s), (b if b > e else e)


def _stop_positions(text: str, stops: frozenset[str]) -> list[int]:
    """Offsets of every character of ``stops`` in ``text``."""
    return [m.start() for m in _char_class(stops).finditer(text)]


@lru_cache(maxsize=None)
def _char_class(chars: frozenset[str]) -> re.Pattern[str]:
    """A regex for any one of ``chars``: finditer beats a per-character Python loop."""
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]")


_NEVER = (ORIGIN, NEIGHBOR, BLOCKED, ATTACHED, FIRM)  # roles no claim takes a place from


def _index_refs(doc: _Doc) -> _RefIndex:
    """The lookups of :class:`_RefIndex`, in a few passes over the refs and paragraphs."""
    refs = doc.refs
    n = len(refs)
    prev_clause, prev_sentence, prev_plain, prev_weak = [-1] * n, [-1] * n, [-1] * n, [-1] * n
    clause_ok, sentence_ok, wide_ok = [False] * n, [False] * n, [False] * n
    scoped_clause: list[int] = []
    scoped_sentence: list[int] = []
    last_clause = last_sentence = last_plain = last_weak = -1
    for k, r in enumerate(refs):
        if r.role not in _NEVER:
            # the whole of a share (占全市的八成) is not its own sentence's place
            near = r.role != WHOLE
            clause = near and not (r.role == TRANSIENT and r.weak)
            wide = r.role != TRANSIENT
            sentence = near and wide
            if r.scoped:
                if clause:
                    scoped_clause.append(k)
                if sentence:
                    scoped_sentence.append(k)
            else:
                clause_ok[k], sentence_ok[k], wide_ok[k] = clause, sentence, wide
                if clause:
                    last_clause = k
                if sentence:
                    last_sentence = k
                if wide:
                    if r.weak:
                        last_weak = k
                    else:
                        last_plain = k
        prev_clause[k], prev_sentence[k], prev_plain[k], prev_weak[k] = last_clause, last_sentence, last_plain, last_weak
    next_clause, next_sentence = [n] * n, [n] * n
    nxt_clause = nxt_sentence = n
    for k in range(n - 1, -1, -1):
        if clause_ok[k]:
            nxt_clause = k
        if sentence_ok[k]:
            nxt_sentence = k
        next_clause[k], next_sentence[k] = nxt_clause, nxt_sentence
    back, refine_at, article_first = _index_paragraphs(doc, wide_ok)
    return _RefIndex(
        prev_clause, next_clause, prev_sentence, next_sentence, prev_plain, prev_weak, scoped_clause, scoped_sentence,
        back, refine_at, article_first,
    )


def _inside(outer: _Ref, w: _Ref) -> bool:
    """Does the institution's place ``w`` refine the plain place ``outer``?"""
    return w.place != outer.place and outer.place.contains(w.place)


def _index_paragraphs(
    doc: _Doc, wide_ok: list[bool]
) -> tuple[list[_Back], list[int], list[int]]:
    """Per paragraph, what the walk back from its end through its article finds
    (each paragraph read once, from what the paragraph before found); per ref,
    the refinement a walk back from just after it takes (see _RefIndex)."""
    gz = gz_mod.load()
    refs, starts, paras = doc.refs, doc.starts, doc.paragraphs
    back: list[_Back] = []
    names: dict[Place, str] | None = None  # built where a paragraph stands for a common unit
    refine_at = [-1] * len(refs)
    article_first: list[int] = []
    n = len(refs)
    hi = 0
    for p, para in enumerate(paras):
        same_article = p > 0 and paras[p - 1].article_id == para.article_id
        article_first.append(article_first[p - 1] if same_article else p)
        before = back[p - 1] if same_article else _NOTHING
        # the refs that start in this paragraph (paragraphs and refs are in text order)
        lo = hi if p == 0 or paras[p - 1].vend <= para.vstart else bisect_left(starts, para.vstart)
        while lo < n and starts[lo] < para.vstart:
            lo += 1
        hi = lo
        while hi < n and starts[hi] < para.vend:
            hi += 1
        if lo == hi:  # no place here: the walk goes on to the paragraph before
            back.append(before)
            continue
        # claims in this paragraph: the plain place the walk back reaches so far
        outer, best = before.ref, -1
        for k in range(lo, hi):
            if wide_ok[k]:
                r = refs[k]
                if not r.weak:
                    outer, best = r, -1
                elif outer is not None and _inside(outer, r):
                    best = k
            refine_at[k] = best
        if para.kind in _SKIP_KINDS:  # an earlier paragraph of these kinds is passed over
            back.append(before)
            continue
        cands = [refs[k] for k in range(lo, hi) if wide_ok[k] and refs[k].end <= para.vend]
        distinct = list({r.place: None for r in cands})
        if len(distinct) >= 3 and not _one_branch(distinct):
            unit = gz.common_unit(distinct)
            name, names = _unit_named(unit, refs, names)
            back.append(_Back(unit=(unit, name)))
            continue
        weak: list[_Ref] = []
        found = None
        for r in reversed(cands):
            if not r.weak:
                found = r
                break
            weak.append(r)
        if found is not None:
            back.append(_Back(ref=found, refined=next((w for w in weak if _inside(found, w)), None)))
        elif before.unit is not None:
            back.append(before)
        elif before.ref is not None:
            refined = next((w for w in weak if _inside(before.ref, w)), before.refined)
            back.append(_Back(ref=before.ref, refined=refined))
        else:
            back.append(_Back(first_weak=weak[0] if weak else before.first_weak))
    return back, refine_at, article_first


def _index_sends(sends: list[_Send], continuers: tuple[str, ...]) -> _SendIndex:
    m = len(sends)
    if not m:
        return _NO_SENDS
    next_good, prev_good, next_continuer = [m] * m, [-1] * m, [m] * m
    last = -1
    for t, x in enumerate(sends):
        if x.dest is not None and not x.blocked:
            last = t
        prev_good[t] = last
    nxt_good = nxt_cont = m
    for t in range(m - 1, -1, -1):
        x = sends[t]
        if x.dest is not None and not x.blocked:
            nxt_good = t
        elif x.dest is None and not x.blocked and x.verb in continuers:
            nxt_cont = t
        next_good[t], next_continuer[t] = nxt_good, nxt_cont
    return _SendIndex(next_good, prev_good, next_continuer)


def _nearest_before(
    doc: _Doc, prev: list[int], scoped: list[int], lo: int, i: int, s: int, segment: tuple[int, int] | None
) -> _Ref | None:
    """The nearest ref among ``refs[lo:i]`` that ends by ``s`` and that a claim
    starting at ``s`` may take: the nearest of the class ``prev`` indexes,
    or of its ``scoped`` refs one inside the claim's segment."""
    refs = doc.refs
    k = prev[i - 1] if i > 0 else -1
    while k >= lo and refs[k].end > s:  # refs do not overlap: at most the last one runs past s
        k = prev[k - 1] if k > 0 else -1
    if scoped:
        t = bisect_left(scoped, i) - 1
        while t >= 0 and scoped[t] > k and scoped[t] >= lo:
            r = refs[scoped[t]]
            if r.start < segment[0]:
                break
            if r.end <= s:
                return r
            t -= 1
    return refs[k] if k >= lo else None


def _first_from(nxt: list[int], j: int, hi: int) -> int:
    """The first index at or after ``j`` and before ``hi`` that ``nxt`` leads to, or -1."""
    k = nxt[j] if j < len(nxt) else len(nxt)
    return k if k < hi else -1


def _attribute_one(
    doc: _Doc, s: int, e: int, pi: int, key: tuple[int, str] | None, said
) -> tuple[Place, str] | None:
    """``pi``: the claim's paragraph (:meth:`_Doc.para_index`); ``key``: its
    :func:`_count_key`; ``said``: what earlier claims with a key got."""
    text = doc.text
    lo, hi = (doc.paragraphs[pi].vstart, doc.paragraphs[pi].vend) if pi >= 0 else (0, len(text))
    c0, c1 = _bounds(doc.clause_stops, lo, hi, s, e)
    s0, s1 = _bounds(doc.sentence_stops, lo, hi, s, e)
    # (None where the document has no scoped place: only those read it)
    segment = _bounds(doc.segment_stops, lo, hi, s, e) if doc.segment_stops is not None else None
    ix, sends, send_starts = doc.refs_ix, doc.sends, doc.send_starts

    # 1. what its clause sends somewhere: 三名医务人员出征湖北(，支援黄冈)
    if sends:
        g = _first_from(doc.sends_ix.next_good, bisect_left(send_starts, e), bisect_left(send_starts, c1))
        if g >= 0:
            return _deepest_dest(doc, sends[g].dest, s0, s1)
    # 2. a place written right before the number, or in brackets right after it
    # (1例（襄阳市）, 1例（成都市报告）)
    refs, starts = doc.refs, doc.starts
    i = bisect_left(starts, s)  # refs[:i] start before the claim
    if i > 0:
        r = refs[i - 1]
        if r.end <= s and not text[r.end : s].strip() and r.role not in (ORIGIN, NEIGHBOR, BLOCKED, WHOLE, FIRM):
            return r.place, r.name
    if i < len(refs):
        r = refs[i]
        if _TO_OPEN_BRACKET.fullmatch(text, e, r.start) and _TO_CLOSE_BRACKET.match(text, r.end):
            return r.place, r.name
    # 3. the nearest place before it in its clause
    r = _nearest_before(doc, ix.prev_clause, ix.scoped_clause, bisect_left(starts, c0), i, s, segment)
    if r is not None:
        return r.place, r.name
    # 4. what its sentence sends somewhere; 出征的3名队员: the last sending
    if sends:
        a, b = bisect_left(send_starts, s0), bisect_left(send_starts, s1)
        g = _first_from(doc.sends_ix.next_good, a, b)
        if g >= 0:
            return _deepest_dest(doc, sends[g].dest, s0, s1)
        # the sentence sends nowhere, so every continuing verb in it finds the
        # same last sending: the first one decides
        c = _first_from(doc.sends_ix.next_continuer, a, b)
        if c >= 0:
            last = _last_sending(doc, send_starts[c], pi)
            if last is not None:
                return last.place, last.name
    # 5. the first place after it in its clause
    j = bisect_left(starts, e)  # refs[j:] start at or after its end
    k = _first_from(ix.next_clause, j, bisect_left(starts, c1))
    if k >= 0:
        return refs[k].place, refs[k].name
    # 6. the same count said before (11个村 … 打破11个村分治格局)
    if key is not None and said.get(key) is not None:
        return said[key]
    # 7. before, then after, it in its sentence
    r = _nearest_before(doc, ix.prev_sentence, ix.scoped_sentence, bisect_left(starts, s0), i, s, segment)
    if r is not None:
        return r.place, r.name
    k = _first_from(ix.next_sentence, j, bisect_left(starts, s1))
    if k >= 0:
        return refs[k].place, refs[k].name
    # 8. earlier in its paragraph and article, else the document's place
    got = _walk_back(doc, s0, pi)
    return got if got is not None else doc.dominant


def _deepest_dest(doc: _Doc, dest: _Ref, s0: int, s1: int) -> tuple[Place, str]:
    """The receiving place, or a place inside it its sentence also sends to."""
    key = (s0, s1, dest.place, dest.name)
    got = doc.deepest.get(key)
    if got is None:
        best = dest
        next_good, send_starts = doc.sends_ix.next_good, doc.send_starts
        hi = bisect_left(send_starts, s1)
        t = _first_from(next_good, bisect_left(send_starts, s0), hi)
        while t >= 0:
            d = doc.sends[t].dest
            if best.place.contains(d.place):
                best = d
            t = _first_from(next_good, t + 1, hi)
        got = doc.deepest[key] = (best.place, best.name)
    return got


def _last_sending(doc: _Doc, pos: int, pi: int) -> _Ref | None:
    """The latest place sent to before ``pos``, in this article or the paragraph before it."""
    if pi < 0:
        return None
    first = doc.refs_ix.article_first[pi]
    if first == pi and pi > 0:
        first = pi - 1
    lo = doc.paragraphs[first].vstart
    t = bisect_left(doc.send_starts, pos) - 1
    g = doc.sends_ix.prev_good[t] if t >= 0 else -1
    return doc.sends[g].dest if g >= 0 and doc.send_starts[g] >= lo else None


_SKIP_KINDS = (ParagraphKind.furniture, ParagraphKind.byline, ParagraphKind.caption)


def _walk_back(doc: _Doc, pos: int, pi: int) -> tuple[Place, str] | None:
    """The nearest usable place before ``pos`` in its paragraph, then in the
    earlier paragraphs of its article (furniture, bylines and captions passed
    over).  An earlier paragraph that names three or more places of different
    branches stands for their common unit.  An institution's place (武汉大学)
    counts only where it refines the next plain place further back (湖北 …
    武汉大学 -> 武汉), or where no plain place is found and it lies in the
    document's place.  What the earlier paragraphs give is worked out once per
    paragraph (:func:`_index_paragraphs`); a place scoped to a segment never
    reaches this far."""
    if pi < 0:
        return None
    ix, refs = doc.refs_ix, doc.refs
    before = ix.back[pi - 1] if ix.article_first[pi] != pi else _NOTHING
    lo = bisect_left(doc.starts, doc.paragraphs[pi].vstart)
    t = bisect_left(doc.starts, pos) - 1  # refs[lo:t + 1]: those of its paragraph before pos
    if t >= lo and refs[t].end > pos:  # refs do not overlap: only the last can run past pos
        t -= 1
    if t >= lo and ix.prev_plain[t] >= lo:
        b = ix.refine_at[t]
        r = refs[b] if b >= 0 else refs[ix.prev_plain[t]]
        return r.place, r.name
    if before.unit is not None:
        return before.unit
    if before.ref is not None:
        b = ix.refine_at[t] if t >= lo else -1
        r = refs[b] if b >= 0 else (before.refined or before.ref)
        return r.place, r.name
    w = ix.prev_weak[t] if t >= lo else -1
    weak = refs[w] if w >= lo else before.first_weak
    if weak is not None and (doc.dominant is None or doc.dominant[0].contains(weak.place)):
        return weak.place, weak.name
    return None


def _one_branch(places: list[Place]) -> bool:
    deepest = max(places, key=lambda p: len(p.path))
    return all(p.contains(deepest) for p in places)


def _count_key(doc: _Doc, s: int, e: int, pi: int) -> tuple[int, str] | None:
    """A count and the noun after it (11个村), keyed by article (that of
    paragraph ``pi``); dates are not keys (the same date is said of
    different things)."""
    text = doc.text
    quote = text[s:e]
    if _NOT_COREF.search(quote) or not _HAS_NUMBER.search(quote):
        return None
    k = e
    while k < len(text) and text[k].isspace():
        k += 1
    if k >= len(text) or not ("\u4e00" <= text[k] <= "\u9fff"):
        return None
    return (doc.paragraphs[pi].article_id if pi >= 0 else -1), _SPACE.sub("", quote) + text[k]
