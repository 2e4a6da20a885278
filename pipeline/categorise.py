"""Counted noun (item), category and rate denominator (per) of a quantity.

Reads: a quantity (view offsets), the repaired text, the lexicon. Writes: the
item as the text names it, a :class:`Category`, and ``per`` where the text gives
a rate (`每个乡镇10万元` → 每个乡镇; `38个行政村各1个` → 行政村).

The category is that of the head of the counted noun phrase (Chinese compounds
are head-final: `废旧口罩收集点` counts 收集点, a place), found by segmenting the
short phrase with jieba; for an open head (人员, 点) that of its modifier (阳性人员)
or of the verb that governs the number (排查 → the people checked, 出动 → the
people deployed; 设置 names no category: the thing set up, its object, does);
heads, verbs and modifiers are in heads.yaml. Keywords (categories.yaml) and the
measure word decide what has no head.
"""
from __future__ import annotations

import re
from functools import lru_cache

import regex

from .lexicon import Lexicon, OpenHead
from .model import Category, Quantity, record

_STOP_CHARS = "，。；：！？、,;:!?\n（）()【】“”\"《》—…· "
MAX_ITEM = 14
_SECOND_UNIT = regex.compile(r"[（(][^（()）\d]{1,3}[）)]")  # `319台(套)收割机`: a second measure word
# a quoted name or a title: `5个“流动哨”`, `设置“党员先锋岗”15个`, `《致全体村民的一封信》4500份`
_QUOTED = regex.compile(r"[“\"‘「『]([^”\"’」』，。；、\d]{1,10})[”\"’」』]|《([^》，。；\d]{1,20})》")
_QUOTED_BEFORE = regex.compile(r"(?r)[“\"‘「『][^”\"’」』，。；、\d]{1,10}[”\"’」』]|《[^》，。；\d]{1,20}》")
_LIST_SEPARATORS = frozenset("、和及与")


@lru_cache(maxsize=8)
def _stops(lex: Lexicon):
    after = tuple(sorted(lex.words["item_stops_after"], key=len, reverse=True))
    before = tuple(sorted(lex.words["item_stops_before"], key=len, reverse=True))
    return after, before


@lru_cache(maxsize=8)
def _verbs_after(lex: Lexicon):
    return tuple(sorted(lex.words["item_verbs_after"], key=len, reverse=True))


# Which categories a measure word can belong to: people are never checkpoints,
# money is always funds. Kinds not listed allow every category.
_ALLOWED_BY_KIND = {
    "people": {Category.personnel, Category.population, Category.cases, Category.activity},
    # 个, 处, 份… count things: groups, places, goods; people are counted with 名/人/位
    "count": set(Category) - {Category.personnel, Category.population},
    # kilograms and litres are goods
    "mass": {Category.supplies, Category.masks, Category.other},
    "volume": {Category.supplies, Category.masks, Category.other},
    "money": {Category.funds},
    "cases": {Category.cases},
    # distances and areas: borders, roads, fields measured (a roll of tape in 米 is goods)
    "length": {Category.other, Category.supplies},
    "area": {Category.other, Category.facility},
}
# The head of a phrase counted in people is a kind of people (`参加发布会的300人` counts
# people, not the 发布会); a 人次 of an action is read from keywords, not from its head.
_PEOPLE = frozenset((Category.personnel, Category.population, Category.cases))



@lru_cache(maxsize=32)
def _by_length(words: tuple[str, ...]) -> tuple[tuple[int, frozenset[str]], ...]:
    """``words`` grouped by length, longest first: ``text[i - n:i] in group`` replaces
    trying every word with ``startswith`` (the longest match is the first one tried)."""
    lengths = sorted({len(w) for w in words}, reverse=True)
    return tuple((n, frozenset(w for w in words if len(w) == n)) for n in lengths)


def _ends_with(text: str, i: int, groups) -> int:
    """Length of the longest word ending at ``i``, or -1."""
    for n, ws in groups:
        if i - n >= 0 and text[i - n:i] in ws:
            return n
    return -1


@lru_cache(maxsize=8)
def _keyword_automaton(lex: Lexicon):
    """Aho-Corasick automaton: keyword -> its positions in :func:`_keyword_index`."""
    import ahocorasick

    auto = ahocorasick.Automaton()
    positions: dict[str, list[int]] = {}
    for k, (kw, _, _) in enumerate(_keyword_index(lex)):
        positions.setdefault(kw, []).append(k)
    for kw, ks in positions.items():
        auto.add_word(kw, tuple(ks))
    auto.make_automaton()
    return auto


def _keywords_in(text: str, lex: Lexicon) -> list[int]:
    """Positions in :func:`_keyword_index` of the keywords that occur in ``text``, in index order."""
    if not text:
        return []
    found: set[int] = set()
    for _, ks in _keyword_automaton(lex).iter(text):
        found.update(ks)
    return sorted(found)


@lru_cache(maxsize=8)
def _keyword_index(lex: Lexicon) -> list[tuple[str, Category, int]]:
    """(keyword, category, rank) longest first: the longer keyword is the more specific."""
    rank = {c: i for i, c in enumerate(lex.category_order)}
    out = [(kw, cat, rank[cat]) for cat, kws in lex.category_keywords.items() for kw in kws]
    out.sort(key=lambda t: (-len(t[0]), t[2], t[0]))
    return out


@lru_cache(maxsize=8)
def _item_bounds(lex: Lexicon):
    """Compiled searches for where an item ends (see :func:`item_after`, :func:`item_before`),
    and the longest word they look for: one regex call instead of trying every word
    length at every character."""
    after_stops, before_stops = _stops(lex)
    # (``re`` matches a word alternation at one position, and the reversed search below, in
    # half the time ``regex`` takes; ``regex`` searches a stretch for one faster)
    after_stop = re.compile(_alternation(after_stops))
    # a stop word, or a verb followed by a Han character, starting at a position
    after_end = regex.compile(f"{_alternation(after_stops)}|(?:{_alternation(_verbs_after(lex))})(?=[\u4e00-\u9fff])")
    # the stop word that ends last: the first found in the reversed stretch, each word reversed
    before_end = re.compile(_alternation([w[::-1] for w in before_stops]))
    longest = max((len(w) for w in (*after_stops, *before_stops, *_verbs_after(lex))), default=1)
    return after_stop, after_end, before_end, longest


def _alternation(words) -> str:
    """A regex of any of ``words``, the longest first; one that never matches when there are none."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) or "(?!)"


def item_after(text: str, pos: int, lex: Lexicon) -> str:
    """The noun right after the measure word, up to punctuation or a function word."""
    after_stop, after_end, _, longest = _item_bounds(lex)
    cap = min(len(text), pos + MAX_ITEM)
    i = pos
    while i < cap and text[i] not in _STOP_CHARS and not text[i].isdigit():
        i += 1
    if i == pos:
        return ""
    m = after_stop.match(text, pos)
    if m and not _starts_word(text, m):
        return ""
    # a stop word or verb after the first character ends the item earlier
    m = after_end.search(text, pos + 1, i + longest + 1)
    while m and m.start() < i and _starts_word(text, m):
        m = after_end.search(text, m.start() + 1, i + longest + 1)
    return text[pos:m.start() if m and m.start() < i else i]


def _starts_word(text: str, m) -> bool:
    """A one-character stop word that begins a dictionary word (对象, 在编, 共产党员) is
    part of the noun, not its end."""
    k = m.start()
    return m.end() - k == 1 and k + 2 <= len(text) and _is_word(text[k:k + 2])


@lru_cache(maxsize=4096)
def _is_word(word: str) -> bool:
    return bool(_tokenizer().FREQ.get(word))


def _before_span(text: str, pos: int, lex: Lexicon) -> tuple[int, int, int]:
    """(phrase start, item start, end) of the words right before the number: the
    phrase runs back to punctuation or a digit; the item starts after the last verb
    or stop word inside it."""
    _, before_stops = _stops(lex)
    stops = _by_length(before_stops)
    i = pos
    # skip the bound words and verbs that sit directly before the number
    while True:
        n = _ends_with(text, i, stops)
        if n == -1:
            break
        i -= n
    # `党员先锋岗(队)240个`: a second name in brackets
    if i and text[i - 1] in ")）":
        k = max(text.rfind("(", max(0, i - 6), i), text.rfind("（", max(0, i - 6), i))
        if k != -1 and not any(c.isdigit() for c in text[k:i]):
            i = k
    # `设置“党员先锋岗”15个`: the quoted name is the noun
    elif i > 1 and text[i - 1] in "”\"’」』》":
        m = _QUOTED_BEFORE.search(text, max(0, i - 22), i)
        if m and m.end() == i:
            i -= 1
    end = i
    lo = max(0, end - MAX_ITEM)
    while i > lo and text[i - 1] not in _STOP_CHARS and not text[i - 1].isdigit():
        i -= 1
    # a stop word ending inside the item (not at its end) starts it later
    _, _, before_end, longest = _item_bounds(lex)
    if end - 1 > i:
        a, b = max(0, i + 1 - longest), end - 1
        m = before_end.search(text[a:b][::-1])
        if m:  # (it ends at b - m.start() in the text)
            return i, max(i, b - m.start()), end
    return i, i, end


def item_before(text: str, pos: int, lex: Lexicon) -> str:
    """The noun phrase right before the number, back to punctuation or a verb."""
    _, start, end = _before_span(text, pos, lex)
    return text[start:end]


def find_item(q: Quantity, text: str, lex: Lexicon, after: str | None = None) -> str:
    """``after``: :func:`item_after` at ``q.end``, when the caller has it already."""
    if after is None:
        after = item_after(text, q.end, lex)
    if len(after) >= 2:
        return after
    return item_before(text, q.start, lex) or after


# --- the head of the counted noun phrase ------------------------------------------


@lru_cache(maxsize=1)
def _tokenizer():
    """A private jieba tokenizer (the default dictionary, loaded lazily: see wordfreq.py)."""
    from .wordfreq import new_tokenizer

    return new_tokenizer()


@lru_cache(maxsize=8)
def _head_ends(lex: Lexicon) -> frozenset[str]:
    """The last characters of the head words."""
    return frozenset(w[-1] for w in lex.heads.heads)


@lru_cache(maxsize=8)
def _longest_head(lex: Lexicon) -> int:
    return max(map(len, lex.heads.heads), default=1)


_ALL_HAN = regex.compile(r"\p{Han}+")


@lru_cache(maxsize=16384)
def _words(phrase: str) -> tuple[str, ...]:
    """jieba's words of a short phrase (no HMM: unknown words stay single characters).

    A phrase of Han characters only is one block for ``cut``: its words are read off
    jieba's own DAG and best route (``get_DAG``, ``calc``) without the block split
    and generators around them, which cost as much as the segmentation."""
    if len(phrase) < 2:
        return (phrase,) if phrase else ()
    tok = _tokenizer()
    if not _ALL_HAN.fullmatch(phrase):
        return tuple(tok.cut(phrase, HMM=False))
    route: dict[int, tuple[float, int]] = {}
    tok.calc(phrase, tok.get_DAG(phrase), route)
    words = []
    i, n = 0, len(phrase)
    while i < n:
        j = route[i][1] + 1
        words.append(phrase[i:j])
        i = j
    return tuple(words)


@lru_cache(maxsize=16384)
def heads_in(phrase: str, lex: Lexicon) -> tuple[tuple[int, int, Category | OpenHead], ...]:
    """(start, end, category or open class) of each head word in ``phrase``, from its
    end leftwards. A head ends where a jieba word ends; the longest head wins there. A
    one-character head is a word of its own (劝导/站) or ends a word of three or more
    characters (装卸工) unless it is one of ``own_word`` (柳林县 is a place); a
    two-character word (重点, 人口) is not split, and a one-character word before an
    unknown one (出/县/口) is part of an unknown word. A phrase that ends in an
    adjective (国家级) has no head."""
    words = _words(phrase)
    if not words or words[-1] in lex.heads.adjective_endings:
        return ()
    heads, own_word = lex.heads.heads, lex.heads.own_word
    longest = _longest_head(lex)
    out = []
    end = len(phrase)
    right = ""  # the word after ``word``
    for word in reversed(words):
        for n in range(min(longest, end), 0, -1):
            hit = heads.get(phrase[end - n:end])
            if hit is None or n == 1 and (
                len(word) == 2 or len(word) == len(right) == 1 and right not in heads or len(word) > 1 and word[-1] in own_word
            ):
                continue
            out.append((end - n, end, hit))
            break
        end -= len(word)
        right = word
    return tuple(out)


@lru_cache(maxsize=16384)
def _final_head(phrase: str, lex: Lexicon) -> tuple[int, int, Category | OpenHead] | None:
    """The longest head of two or more characters that ends ``phrase``: the first of
    :func:`heads_in` whatever the segmentation (a word always ends at the end), found
    without segmenting. None when the longest head there has one character."""
    heads = lex.heads.heads
    end = len(phrase)
    for n in range(min(_longest_head(lex), end), 1, -1):
        hit = heads.get(phrase[end - n:end])
        if hit is not None:
            return end - n, end, hit
    return None


@lru_cache(maxsize=8)
def _break_search(lex: Lexicon):
    return regex.compile(_alternation(lex.heads.breaks)).search


def noun_phrase(phrase: str, lex: Lexicon) -> str:
    """``phrase`` (read after a measure word) up to the first verb or function word
    standing as a word of its own after its first word (`村设村组登记点` → 村), unless
    it modifies a head right after it (劝导/站, 值守/人员) or is part of one (检查站)."""
    if len(phrase) < 2 or not _break_search(lex)(phrase, 1):
        return phrase  # no break word in it: no need to segment
    words = _words(phrase)
    if len(words) < 2:
        return phrase
    breaks = lex.heads.breaks
    pos = len(words[0])
    for word in words[1:]:
        if word in breaks:
            nxt = pos + len(word)
            if not any(s <= pos < e or s == nxt for s, e, _ in heads_in(phrase, lex)):
                return phrase[:pos]
        pos += len(word)
    return phrase


@lru_cache(maxsize=256)
def _categories_of(head: Category | OpenHead) -> frozenset[Category]:
    """The categories a head can give: its own, or an open class's default and modifiers'."""
    if isinstance(head, OpenHead):
        return frozenset((head.default, *head.modifiers.values()))
    return frozenset((head,))


def head_of(phrase: str, lex: Lexicon, allowed=None, unit: str | None = None) -> tuple[int, int, Category | OpenHead] | None:
    """The rightmost head in ``phrase`` that the measure word ``unit`` allows (see :func:`heads_in`)."""
    hit = _final_head(phrase, lex)
    if hit is not None and _head_allows(hit[2], allowed, unit) != frozenset():
        return hit  # (most items: 口罩, 检查卡点, 外来人员) no need to segment
    if _head_ends(lex).isdisjoint(phrase):
        return None  # no character of it can end a head
    for hit in heads_in(phrase, lex):
        if _head_allows(hit[2], allowed, unit) != frozenset():
            return hit
    return None


def _nearest_modifier(context: str, head: OpenHead, allowed) -> Category | None:
    """The category of the modifier word ending nearest the head (``context`` ends at the head)."""
    mods = head.modifiers
    lengths = _modifier_lengths(head)
    for end in range(len(context), 0, -1):
        for n in lengths:
            cat = mods.get(context[end - n:end]) if n <= end else None
            if cat is not None and (allowed is None or cat in allowed):
                return cat
    return None


@lru_cache(maxsize=64)
def _modifier_lengths(head: OpenHead) -> tuple[int, ...]:
    return tuple(sorted({len(w) for w in head.modifiers}, reverse=True))


@lru_cache(maxsize=8)
def _verb_patterns(lex: Lexicon):
    """Searches for a governing verb before the number, and right after it past adverbs."""
    hw = lex.heads
    before = regex.compile(_alternation(hw.verbs_before))
    after = regex.compile(f"(?:{_alternation(hw.adverbs)})*({_alternation(hw.verbs_after)})")
    return before, after


_CLAUSE_BACK = regex.compile("(?r)[。；！？\n，,：:]")


@record
class CountedNoun:
    """The counted noun phrase of a quantity and its head."""

    item: str  # the thing counted, as the text names it
    head: Category | OpenHead | None  # the head word's category, or its open class
    context: str  # the words before the head in its phrase (its modifiers)
    np_start: int  # view offsets of the phrase when it stands before the number
    np_end: int  # (both the number's start when it follows the measure word)


def governing_verb(text: str, noun: CountedNoun, q: Quantity, lex: Lexicon, allowed=None) -> Category | None:
    """The category of the verb that governs the number: between the counted noun
    and the number (`外来人员登记300人`), else the last one in the clause before the
    noun (`出动消杀组2组12人`), else one right after the number (`由91人组成`)."""
    before, after = _verb_patterns(lex)
    verbs, heads = lex.heads.verbs_before, lex.heads.heads
    lo = max(0, noun.np_start - 20)
    m = _CLAUSE_BACK.search(text, lo, noun.np_start) if lo < noun.np_start else None
    lo = m.end() if m else lo
    for a, b in ((noun.np_end, q.start), (lo, noun.np_start)):
        if a < b:
            for v in reversed(before.findall(text, a, b)):
                cat = verbs[v]
                if allowed is None or cat in allowed or _counts_itself(heads.get(v), cat, q.unit):
                    return cat
    m = after.match(text, q.end)
    if m:
        cat = lex.heads.verbs_after[m.group(1)]
        if allowed is None or cat in allowed:
            return cat
    return None


def _counts_itself(head: Category | OpenHead | None, cat: Category, unit: str | None) -> bool:
    """A verb that is also a head of an open class counted with this measure word gives
    that class's category whatever the measure word (`核酸检测采样12万份`: samples)."""
    return isinstance(head, OpenHead) and unit in head.units and cat in _categories_of(head)


def _phrase_after(text: str, q: Quantity, after: str, lex: Lexicon, allowed) -> str:
    """The noun phrase after the measure word, for its head: past a second measure word
    in brackets (`319台(套)收割机`), with a quoted name (`5个“流动哨”`, `村组“大喇叭”`),
    cut at its first verb (:func:`noun_phrase`); through `的` when the words before it
    name nothing countable (`48条边民互通的小径`, `数以百万计的社区工作人员`; but
    `10个村的卡点` counts 村)."""
    pos = q.end
    m = _SECOND_UNIT.match(text, pos)
    if m:
        pos = m.end()
        after = item_after(text, pos, lex)
    pos += len(after)
    m = _QUOTED.match(text, pos)
    if m:
        after += m.group(1) or m.group(2)
        pos = m.end()
    phrase = noun_phrase(after, lex)
    if phrase == after and text.startswith("的", pos) and head_of(phrase, lex, allowed, q.unit) is None:
        tail = item_after(text, pos + 1, lex)
        if tail:
            phrase = noun_phrase(f"{after}的{tail}" if after else tail, lex)
    return phrase


def _belongs_before(text: str, lo: int, item_start: int, end: int, num_start: int, lex: Lexicon) -> bool:
    """Whether the words before the number are its noun: not when a list separator
    stands between them (`3个卡口、1个劝导劝返`) or they start with the measure word
    of an earlier number (`消杀组2组12人`)."""
    if not _LIST_SEPARATORS.isdisjoint(text[end:num_start]):
        return False
    if lo == item_start and lo and text[lo - 1].isdigit():
        units = lex.units
        return not any(text[lo:lo + n] in units for n in (1, 2, 3))
    return True


def counted_noun(q: Quantity, text: str, lex: Lexicon, allowed=None, after: str | None = None) -> CountedNoun:
    """The counted noun and its head: the phrase after the measure word when it has a
    head (`3个检查卡点`), else the phrase before the number (`设置劝导站9个`), else
    the headless item of :func:`find_item`. ``after``: :func:`item_after` at ``q.end``;
    ``allowed``: the categories the measure word allows."""
    if after is None:
        after = item_after(text, q.end, lex)
    if allowed is not None and Category.personnel in allowed:  # a measure word of people
        allowed = allowed & _PEOPLE
    unit = lex.units.get(q.unit or "")
    if unit is not None and unit.kind == "percent":  # a share is about the whole it divides, not its own noun
        return CountedNoun(find_item(q, text, lex, after), None, "", q.start, q.start)
    phrase = _phrase_after(text, q, after, lex, allowed) if after or text[q.end:q.end + 1] in "（(的“\"‘「『《" else ""
    hit = head_of(phrase, lex, allowed, q.unit)
    if hit is not None:
        start, end, head = hit
        return CountedNoun(phrase[:end], head, phrase[:start], q.start, q.start)
    lo, item_start, end = _before_span(text, q.start, lex)
    if _belongs_before(text, lo, item_start, end, q.start, lex):
        hit = head_of(text[item_start:end], lex, allowed, q.unit)
        if hit is not None:
            start, head_end, head = hit
            return CountedNoun(text[item_start:item_start + head_end], head, text[lo:item_start + start], item_start, end)
    if after and _verb_patterns(lex)[1].match(after) and end - item_start >= 2:
        after = ""  # `110人投入到…`: a verb, not a noun, follows the number
    if len(after) >= 2 or item_start == end:
        return CountedNoun(after, None, "", q.start, q.start)
    return CountedNoun(text[item_start:end], None, "", item_start, end)


def named_noun(phrase: str, q: Quantity, lex: Lexicon, allowed=None) -> CountedNoun:
    """The counted noun when something other than the running text names it (a table
    column's header, `卡点（个）`): its head, read like the head of a noun in the text."""
    if allowed is not None and Category.personnel in allowed:
        allowed = allowed & _PEOPLE
    hit = head_of(phrase, lex, allowed, q.unit)
    if hit is None:
        return CountedNoun(phrase, None, "", q.start, q.start)
    start, end, head = hit
    return CountedNoun(phrase[:end], head, phrase[:start], q.start, q.start)


def _resolve_open(head: OpenHead, context: str, verb: Category | None, allowed) -> Category | None:
    """An open head's category from its own words: the modifier nearest the head (阳性人员
    is a compound head), else the governing verb's when the class can take it."""
    cat = _nearest_modifier(context, head, allowed)
    if cat is None and head.governed and verb is not None and verb in _categories_of(head):
        return verb
    return cat


_CLAUSE_START = regex.compile("(?r)[。；！？\n]")  # searched backwards: the last one
_CLAUSE_END = regex.compile("[。；！？\n，,]")


def _clause(text: str, pos: int, radius: int = 30) -> tuple[int, int]:
    """[a, b) around ``pos``: back to a sentence end, on to a sentence end or comma, at
    most ``radius`` characters each way (a regex search each way, not a loop per character)."""
    lo = max(0, pos - radius)
    m = _CLAUSE_START.search(text, lo, pos) if lo < pos else None
    a = m.end() if m else lo
    hi = min(len(text), pos + radius)
    m = _CLAUSE_END.search(text, pos, hi) if pos < hi else None
    return a, (m.start() if m else max(hi, pos))


def allowed_categories(unit_kind: str | None, unit: str | None = None, lex: Lexicon | None = None):
    """The categories a measure word of this kind can have (None: any). People counted
    as such (人, 名, 位) are never an activity; people counted per occasion (人次) can be."""
    allowed = _ALLOWED_BY_KIND.get(unit_kind or "")
    if lex is not None and unit_kind == "people" and unit not in lex.words["event_people_units"]:
        return _PEOPLE
    return allowed


def _head_allows(head: Category | OpenHead, allowed, unit: str | None) -> frozenset[Category] | None:
    """The categories ``head`` can give with this measure word (None: any): an open class
    may take its own with the measure words it lists (样本…份)."""
    if allowed is None or isinstance(head, OpenHead) and unit in head.units:
        return None
    return _categories_of(head) & allowed


def categorise(
    q: Quantity, item: str, text: str, lex: Lexicon, unit_kind: str | None = None, parent: Category | None = None,
    noun: CountedNoun | None = None,
) -> Category:
    """Money, 例 and event counts decide by unit; a breakdown (其中…) takes its total's
    category; else the head of the counted noun; else the verb that governs the
    number; else the longest keyword in the item (its modifiers); else the keyword
    nearest the number in its clause; else the unit's default. Categories the
    measure word cannot have (people are never checkpoints) are never chosen.
    ``noun``: :func:`counted_noun` of ``q``, when the caller has it already."""
    decisive = lex.decisive_units.get(q.unit_raw or "") or lex.decisive_units.get(q.unit or "")
    if decisive is not None:
        return decisive
    strong = lex.category_units.get(q.unit or "")
    if parent is not None:
        return parent
    allowed = allowed_categories(unit_kind, q.unit, lex)
    if noun is None:
        noun = counted_noun(q, text, lex, allowed)
    head = noun.head
    if isinstance(head, Category):
        return head
    verb = governing_verb(text, noun, q, lex, allowed)
    if head is not None:
        kinds = _head_allows(head, allowed, q.unit)
        cat = _resolve_open(head, noun.context, verb, kinds)
        if cat is None:
            cat = _nearest_keyword(q, text, lex, _categories_of(head) if kinds is None else kinds)
        if cat is None and (kinds is None or head.default in kinds):
            cat = head.default
        if cat is not None:
            return cat
    if verb is not None:
        return verb
    hit = best_keyword(item, lex, allowed)
    if hit is not None:
        return hit
    nearest = _nearest_keyword(q, text, lex, allowed)
    if nearest is not None:
        return nearest
    if strong is not None:
        return strong
    default = lex.default_units
    return default.get(q.unit_raw or "") or default.get(q.unit or "") or Category.other


def _nearest_keyword(q: Quantity, text: str, lex: Lexicon, allowed=None) -> Category | None:
    """The category of the keyword nearest the number in its clause."""
    a, b = _clause(text, q.start)
    nearest = None
    clause = text[a:b]
    index = _keyword_index(lex)
    for k in _keywords_in(clause, lex):  # index order, as a scan of the whole index
        kw, cat, rank = index[k]
        if allowed is not None and cat not in allowed:
            continue
        j = clause.find(kw)
        while j != -1:  # non-overlapping occurrences, left to right
            s = a + j
            dist = q.start - (s + len(kw)) if s < q.start else s - q.end
            key = (max(dist, 0), -len(kw), rank)
            if nearest is None or key < nearest[0]:
                nearest = (key, cat)
            j = clause.find(kw, j + len(kw))
    return nearest[1] if nearest is not None else None


def best_keyword(item: str, lex: Lexicon, allowed=None) -> Category | None:
    if not item:
        return None
    index = _keyword_index(lex)
    for k in _keywords_in(item, lex):
        cat = index[k][1]
        if allowed is None or cat in allowed:
            return cat
    return None


@lru_cache(maxsize=8)
def _per_markers(lex: Lexicon):
    """Compiled once per lexicon (find_per runs for every claim): a search for a word
    that opens a rate phrase (with ``re``: a call costs half that of ``regex`` and
    as much as slicing the text), the rate phrase (an opener, then up to 8
    characters of one clause) ending where the number starts, and the words of `各1个`."""
    openers = _alternation(lex.words["per_openers"])
    return re.compile(openers), regex.compile(f"({openers})[^，。；、\\d]{{1,8}}$"), lex.words["per_each"]


def find_per(q: Quantity, text: str, prev_item: str | None, lex: Lexicon) -> str | None:
    """`每个乡镇10万元` → 每个乡镇; `各1个` after `38个行政村` → 行政村."""
    opener, phrase, each = _per_markers(lex)
    reach = 16
    if not (prev_item and text.endswith(each, 0, q.start)) and not opener.search(text, max(0, q.start - reach), q.start):
        return None  # (most quantities) neither marker is in reach, so not in the clause before it either
    a, _ = _clause(text, q.start, radius=reach)
    before = text[a:q.start]
    if before.endswith(each) and prev_item:
        return prev_item
    m = phrase.search(before)
    if not m:
        return None
    chunk = m.group()
    _, before_stops = _stops(lex)
    cut = len(chunk)
    start = len(m.group(1))  # a stop word after the opener
    for w in before_stops + lex.words["per_stops"]:
        k = chunk.find(w, start)
        if k != -1:
            cut = min(cut, k)
    per = chunk[:cut]
    return per if len(per) >= 2 else None
