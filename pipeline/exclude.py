"""Exclusion: numbers that name, identify, order or time rather than count.

Reads: candidates from :mod:`pipeline.mentions`, the repaired text and the
exclusion rules of ``data/not_claims.yaml``. Writes: for each candidate the
name of the first rule that rejects it, or None. The rules are general patterns
(levels, ordinals, N包N, model codes, durations, ages, …), plus three that need
code: phone-like digit strings, numerals inside idioms (jieba's dictionary
knows 千家万户 is one word), and 一 used as an article.
"""
from __future__ import annotations

from functools import lru_cache

import regex

from .lexicon import Lexicon
from .mentions import NUMERAL, Candidate
from .numerals import CN_NUMERAL_CHARS

_QUOTES = (("“", "”"), ("\"", "\""), ("「", "」"), ("『", "』"), ("‘", "’"))
_CLAUSE_END = regex.compile(r"[，。；：！？、\n（）]")
MAX_QUOTED_NAME = 14
WHOLE_PHRASE_RULES = {"百分之<num>", "<num>分之<num>", "一半", "<num>成"}  # a quoted span this short holding a number is a name or slogan


@lru_cache(maxsize=8)
def _compiled(lex: Lexicon):
    out = []
    for rule in lex.exclusions:
        pat = rule.pattern.replace("{num}", f"(?P<num>{NUMERAL})")
        out.append((rule, regex.compile(pat)))
    return out


def rule_hits(text: str, lex: Lexicon) -> dict[str, list[tuple[int, int]]]:
    """For each pattern rule, the numeral spans it matches anywhere in ``text``."""
    hits: dict[str, list[tuple[int, int]]] = {}
    for rule, pat in _compiled(lex):
        if rule.guard:
            continue
        spans = [m.span("num") for m in pat.finditer(text, overlapped=True)]
        hits[rule.name] = spans
    return hits


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Spans inside short quotation marks: “十项措施”, "四包一", 「六早」."""
    spans = []
    for open_q, close_q in _QUOTES:
        if open_q == close_q:
            # straight quotes pair up in order, paragraph by paragraph
            for para in regex.finditer(r"[^\n]+", text):
                idx = [m.start() for m in regex.finditer(regex.escape(open_q), para.group())]
                for a, b in zip(idx[::2], idx[1::2]):
                    spans.append((para.start() + a + 1, para.start() + b))
        else:
            for m in regex.finditer(rf"{regex.escape(open_q)}([^{regex.escape(close_q)}\n]{{1,{MAX_QUOTED_NAME}}}){regex.escape(close_q)}", text):
                spans.append(m.span(1))
    return [(s, e) for s, e in spans if e - s <= MAX_QUOTED_NAME]


def reject_reason(cand: Candidate, text: str, lex: Lexicon, hits, quoted) -> str | None:
    """The name of the first exclusion that applies to ``cand``, or None."""
    s, e = cand.num_start, cand.num_end
    if cand.quantity is not None and cand.quantity.rule in WHOLE_PHRASE_RULES:
        return None  # 百分之九十五 is one phrase; its 百…分 is not a duration
    for rule, _ in _compiled(lex):
        if rule.guard:
            if _GUARDS[rule.guard](cand, text, lex):
                return rule.name
            continue
        if any(hs < e and s < he for hs, he in hits[rule.name]):
            return rule.name
    if any(qs <= s and e <= qe for qs, qe in quoted):
        return "quoted_name"
    return None


def _phone_like(cand: Candidate, text: str, lex: Lexicon) -> bool:
    digits = cand.text
    if not digits.isdigit() or len(digits) < 7:
        return False
    return cand.quantity is None or len(digits) >= 11


def _clause_before(text: str, pos: int, limit: int = 20) -> str:
    start = max(0, pos - limit)
    chunk = text[start:pos]
    cut = max((m.end() for m in _CLAUSE_END.finditer(chunk)), default=0)
    return chunk[cut:]


def _article_yi(cand: Candidate, text: str, lex: Lexicon) -> bool:
    """一 + measure word is an article unless the clause asks "how many".

    It counts after a rate (每人发放一个口罩), after 只/仅/保留 (只保留一个出入口),
    or beside other counts in a list (1个…、一个…).
    """
    if cand.text != "一" or cand.quantity is None:
        return False
    before = _clause_before(text, cand.num_start)
    if any(w in before for w in lex.words["rate_markers"]):
        return False
    tail = before[-3:]
    if any(tail.endswith(w) for w in lex.words["count_yi_before"]):
        return False
    return True


@lru_cache(maxsize=1)
def _tokenizer():
    # jieba's tokenizer with its dictionary loaded shard by shard on demand (same
    # segmentations, no ~1 s dictionary load on a cold start): see pipeline/wordfreq.py
    from .wordfreq import tokenizer

    return tokenizer()


def _idiom(cand: Candidate, text: str, lex: Lexicon) -> bool:
    """A Chinese numeral inside a longer dictionary word: 千家万户, 三番五次, 一心一意."""
    if not cand.chinese or cand.quantity is None:
        return False
    a = max(0, cand.num_start - 3)
    b = min(len(text), cand.quantity.end + 3)
    window = text[a:b]
    for word, ws, we in _tokenizer().tokenize(window):
        ws += a
        we += a
        if not (ws <= cand.num_start < we) or not _has_non_numeral(word):
            continue
        if len(word) >= 4 and we > cand.quantity.end:
            return True
        if ws < cand.num_start and _has_non_numeral(text[ws:cand.num_start]):
            return True  # the numeral starts inside a word: 统一, 唯一
    return False


_NUMERAL_LIKE = set(CN_NUMERAL_CHARS + "余多数几近约第")


def _has_non_numeral(word: str) -> bool:
    return any(c not in _NUMERAL_LIKE for c in word)


_GUARDS = {"phone_like": _phone_like, "article_yi": _article_yi, "idiom": _idiom}
