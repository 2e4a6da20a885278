"""What a regular expression can match, read from its text: the characters a
match may start with or consume, and its top-level alternatives.

Used to skip work safely: a rule whose match cannot start at a character need
not be tried there. Every answer over-approximates (None means "unknown"), so
skipping on it never loses a match. Shared by :mod:`pipeline.exclude` (which
rules can hit a numeral) and :mod:`pipeline.dates` (which characters a date
rule can start with).
"""
from __future__ import annotations

import regex

def pattern_chars(pattern: str) -> tuple[frozenset[str], bool] | None:
    """Every character a match of ``pattern`` can consume (and whether decimal digits can),
    over-approximated from its text; None when it cannot be bounded (a dot, a negated class,
    a class escape other than digits…)."""
    chars: set[str] = set()
    digits = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1: i + 2]
            if nxt == "d":
                digits = True
            elif nxt.isalnum() or not nxt:
                return None  # \w, \s, \p{…}, \1…: not bounded here
            else:
                chars.add(nxt)
            i += 2
        elif c == "[":
            members, class_digits, i = _class_members(pattern, i)
            if members is None:
                return None  # negated, a class escape, or a range too wide to list
            chars.update(members)
            digits = digits or class_digits
        elif c == "(":
            i += 1
            if pattern[i: i + 1] == "?":  # skip the group's syntax, not its content
                m = regex.match(r"\?(?:P<\w+>|<\w+>|[:=!>]|<[=!])", pattern[i:])
                if m is None:
                    return None
                i += m.end()
        elif c == "{":
            m = regex.match(r"\{\d*,?\d*\}", pattern[i:])
            if m is None:
                chars.add(c)
                i += 1
            else:
                i += m.end()
        elif c == ".":
            return None
        else:
            if c not in "|)*+?^$":
                chars.add(c)
            i += 1
    return frozenset(chars), digits


def in_numeral(c: str, numeral: tuple[frozenset[str], bool]) -> bool:
    return c in numeral[0] or (numeral[1] and c.isdecimal())


def _structure(pattern: str):
    """(index, character, depth after it) of every ``(``, ``)`` and ``|`` that is
    syntax: outside escapes and character classes."""
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1 if pattern[i + 1: i + 2] == "^" else 0
            i += 1 if pattern[i + 1: i + 2] == "]" else 0  # a leading ] is a literal
        elif c in "()|":
            depth += {"(": 1, ")": -1, "|": 0}[c]
            yield i, c, depth
        i += 1


def split_top(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|`` (outside groups, classes and escapes)."""
    parts, start = [], 0
    for i, c, depth in _structure(pattern):
        if c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def group_end(pattern: str) -> int:
    """Index after the group that opens at ``pattern[0]``, or -1."""
    for i, c, depth in _structure(pattern):
        if c == ")" and depth == 0:
            return i + 1
    return -1


LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")
_SPECIAL = set("\\.^$*+?{}[]|()")
# numbered group references, which splitting a rule's alternatives would shift
UNSAFE = regex.compile(r"\\[1-9]|\\g<|\(\?&|\(\?\(|\(\?<(?![=!])|\(\?[a-zA-Z]+[:)]|\(\?R|\(\?[0-9+-]")


_FLAGS = regex.compile(r"\(\?(?!P[<=>])[a-zA-Z]")  # an inline flag (case folding would defeat a literal test)


def leading_literals(pattern: str) -> tuple[str, ...] | None:
    """Literal words one of which every match of ``pattern`` starts with (``第…`` -> ("第",);
    ``(?:病例|患者)\\s*…`` -> ("病例", "患者")), or None when that cannot be told from its text.
    A text holding none of them holds no match: the pattern need not be run over it."""
    if _FLAGS.search(pattern):
        return None
    out: list[str] = []
    for alt in split_top(pattern):
        if alt.startswith("(?:"):
            end = group_end(alt)
            if end == -1 or alt[end: end + 1] in ("?", "*", "{"):
                return None  # (an optional group: the match may start after it)
            words = split_top(alt[3: end - 1])
        else:
            k = 0
            while k < len(alt) and alt[k] not in _SPECIAL:
                k += 1
            if k < len(alt) and alt[k] in "?*{":
                k -= 1  # (a quantified last character is not required)
            words = [alt[:k]]
        if not all(w and not _SPECIAL.intersection(w) for w in words):
            return None
        out += words
    return tuple(dict.fromkeys(out))


def starts_at_num(alt: str) -> bool:
    """The alternative is ``{num}…`` after zero-width lookarounds only."""
    while alt.startswith(LOOKAROUND):
        end = group_end(alt)
        if end == -1:
            return False
        alt = alt[end:]
    return alt.startswith("{num}")


def _class_members(pattern: str, i: int) -> tuple[set[str] | None, bool, int]:
    """(members, decimal digits?, index after) of the class opening at ``pattern[i]``; members None if negated or unbounded."""
    j = i + 1
    if pattern[j: j + 1] == "^":
        end = class_end(pattern, i)
        return None, False, end
    members: list[str] = []
    digits = False
    bounded = True
    while j < len(pattern) and (pattern[j] != "]" or j == i + 1):
        if pattern[j] == "\\":
            nxt = pattern[j + 1: j + 2]
            if nxt == "d":
                digits = True
            elif nxt.isalnum() or not nxt:
                bounded = False
            else:
                members.append(nxt)
            j += 2
            continue
        members.append(pattern[j])
        j += 1
    out = set(members)
    for a, dash, b in zip(members, members[1:] + [""], members[2:] + ["", ""]):
        if dash == "-" and b:
            if ord(b) - ord(a) >= 4096:
                bounded = False
            else:
                out.update(chr(x) for x in range(ord(a), ord(b) + 1))
    return (out if bounded else None), digits, j + 1


def class_end(pattern: str, i: int) -> int:
    j = i + 1
    if pattern[j: j + 1] == "^":
        j += 1
    if pattern[j: j + 1] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


_QUANT = regex.compile(r"[?*+]|\{(\d*)(?:,\d*)?\}")
_WHITESPACE = frozenset(chr(i) for i in range(0x3001) if chr(i).isspace())
HAN = "\x00Han"  # stands for every Han character, all of which are >= U+2E80
_HAN_PROPERTY = regex.compile(r"\\p\{(?:Han|IsHan|Script=Han|sc=Han)\}")


def first_set(pattern: str) -> tuple[set[str] | None, bool, bool]:
    """(characters, decimal digits?, nullable?) a match of ``pattern`` can start with;
    characters None when unknown. A necessary condition only: used to skip a rule
    that cannot match, never to decide that it does."""
    chars: set[str] = set()
    digits = False
    for alt in split_top(pattern):
        got, d, nullable = _first_seq(alt)
        if got is None:
            return None, False, True
        chars |= got
        digits |= d
        if nullable:
            return chars, digits, True
    return chars, digits, False


def _first_seq(seq: str) -> tuple[set[str] | None, bool, bool]:
    chars: set[str] = set()
    digits = False
    i = 0
    while i < len(seq):
        c = seq[i]
        zero_width = False
        if c == "(":
            end = group_end(seq[i:])
            if end == -1:
                return None, False, True
            inner = seq[i: i + end]
            if inner.startswith(("(?!", "(?<=", "(?<!")):
                el, d, nullable, zero_width = set(), False, True, True
            elif inner.startswith("(?="):
                el, d, nullable = first_set(inner[3:-1])
                zero_width = True  # constrains the next character without consuming it
            elif inner.startswith("(?P<"):
                el, d, nullable = first_set(inner[inner.index(">") + 1:-1])
            elif inner.startswith("(?:"):
                el, d, nullable = first_set(inner[3:-1])
            elif inner.startswith("(?"):
                return None, False, True  # flags, backreferences, conditionals…
            else:
                el, d, nullable = first_set(inner[1:-1])
            i += end
        elif c == "[":
            el, d, end = _class_members(seq, i)
            nullable = False
            i = end
        elif c == "\\":
            nxt = seq[i + 1: i + 2]
            han = _HAN_PROPERTY.match(seq, i)
            if nxt == "d":
                el, d, nullable = set(), True, False
            elif nxt == "s":
                el, d, nullable = set(_WHITESPACE), False, False
            elif han is not None:
                el, d, nullable = {HAN}, False, False
                i = han.end() - 2
            elif nxt in ("b", "B", "A", "Z"):
                el, d, nullable, zero_width = set(), False, True, True
            elif nxt.isalnum() or not nxt:
                return None, False, True
            else:
                el, d, nullable = {nxt}, False, False
            i += 2
        elif c in "^$":
            el, d, nullable, zero_width = set(), False, True, True
            i += 1
        elif c in ".{})|*+?":
            return None, False, True
        else:
            el, d, nullable = {c}, False, False
            i += 1
        q = _QUANT.match(seq, i)
        if q is not None:
            if q.group() in ("?", "*") or (q.group().startswith("{") and q.group(1) in ("", "0")):
                nullable = True
            i = q.end()
            if seq[i: i + 1] in ("?", "+"):
                i += 1  # lazy or possessive
        if el is None:
            return None, False, True
        if zero_width and el and not nullable:
            return el, d, False  # a lookahead: the next character is one of these
        chars |= el
        digits |= d
        if not nullable:
            return chars, digits, False
    return chars, digits, True


def first_chars(alt: str) -> set[str] | None:
    """The characters a match of ``alt`` must start with, when known and not empty."""
    chars, digits, nullable = first_set(alt)
    return None if chars is None or digits or nullable else chars


def cannot_start_a_numeral(alt: str, numeral: tuple[frozenset[str], bool]) -> bool:
    first = first_chars(alt)
    return first is not None and not any(in_numeral(c, numeral) for c in first)
