"""Plain records that flow between the stages.

Every offset stored in a record that leaves a stage is a Python ``str``
offset into :attr:`Document.text` (the raw decoded text), end exclusive.
Offsets into the repaired text exist only inside a stage and are mapped
back with :meth:`View.raw_span` before anything is stored.
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import Enum
from typing import NamedTuple


def record(cls):
    """``@dataclass(frozen=True)`` with a faster ``__init__``, for the records built for
    every number (candidates, quantities, rejections, drafts, claims …). A frozen
    dataclass's own ``__init__`` calls ``object.__setattr__`` once per field (~0.15 µs
    each: a 17-field Claim costs ~3 µs); this one writes the same attributes, in the
    same order, straight into the instance ``__dict__`` (about 4x faster; the
    instance keeps a real dict, ~64 bytes more while it lives). Fields, defaults,
    equality, repr, hashing, pickling and immutability are those of the dataclass.
    Only plain defaults are supported (no ``default_factory``, no ``__post_init__``)."""
    cls = dataclass(frozen=True)(cls)
    params, sets, defaults = [], [], {}
    for f in fields(cls):
        assert f.init and f.default_factory is MISSING and not hasattr(cls, "__post_init__"), cls
        if f.default is MISSING:
            params.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        sets.append(f"    d[{f.name!r}] = {f.name}")
    src = "def __init__(self, {}):\n    d = self.__dict__\n{}".format(", ".join(params), "\n".join(sets))
    namespace = dict(defaults)
    exec(src, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init
    return cls


class Category(str, Enum):
    checkpoint = "checkpoint"
    personnel = "personnel"
    population = "population"
    cases = "cases"
    masks = "masks"
    supplies = "supplies"
    funds = "funds"
    publicity = "publicity"
    organization = "organization"
    activity = "activity"
    facility = "facility"
    date = "date"
    other = "other"


class Bound(str, Enum):
    eq = "eq"
    ge = "ge"
    le = "le"
    approx = "approx"
    range = "range"


class Aspect(str, Enum):
    """How a count relates to time (CLAIMS.md "Facts")."""

    new = "new"
    cumulative = "cumulative"
    current = "current"


class Measure(str, Enum):
    """What a cases count counts (CLAIMS.md "Facts")."""

    confirmed = "confirmed"
    asymptomatic = "asymptomatic"
    suspected = "suspected"
    death = "death"
    recovered = "recovered"
    close_contact = "close_contact"
    secondary_contact = "secondary_contact"
    observation = "observation"
    released = "released"
    converted = "converted"
    other = "other"


class Origin(str, Enum):
    local = "local"
    imported = "imported"


class PartsStatus(str, Enum):
    """How a total's parts add up: ``complete`` (they sum to it), ``partial`` (an open
    breakdown that names only some), ``mismatch`` (a closed list that does not sum to it,
    or parts that exceed it)."""

    complete = "complete"
    partial = "partial"
    mismatch = "mismatch"


class ParagraphKind(str, Enum):
    headline = "headline"
    byline = "byline"
    body = "body"
    caption = "caption"
    furniture = "furniture"  # page furniture: 组版:…, 合办:…, running heads


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class LexiconError(PipelineError):
    """A data file under pipeline/data is malformed (message names file:line)."""


class NumeralError(PipelineError):
    """A numeral could not be parsed (message names the text)."""


class InputError(PipelineError):
    """An input file cannot be read as a bulletin (message names file and reason)."""


@dataclass(frozen=True)
class DocumentMeta:
    """What a manifest or the command line says about a document.

    ``published_source`` says where ``published`` comes from: ``"manifest"`` (the
    manifest or the caller; the default whenever a date is given) or ``"page"`` (the
    page's own date line, `发布时间：…`, read by the segment stage); None without a date."""

    published: str | None = None  # ISO date
    title: str | None = None
    url: str | None = None
    locality: str | None = None
    default_year: int | None = None
    published_source: str | None = None  # "manifest" | "page" | None

    def __post_init__(self) -> None:
        source = self.published_source
        if self.published is None:
            source = None
        elif source is None:
            source = "manifest"
        if source != self.published_source:
            object.__setattr__(self, "published_source", source)


@dataclass(frozen=True)
class Document:
    """One input file, decoded. ``text`` is what every offset points into."""

    doc_id: str
    path: str
    text: str
    format: str = "txt"  # txt | html | pdf
    encoding: str | None = "utf-8"
    n_bytes: int = 0
    sha256: str = ""
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    error: str | None = None


@dataclass(frozen=True)
class View:
    """Repaired text plus, for each of its characters, the raw offset it came from.

    ``raw`` is strictly increasing; ``raw_end`` is len(raw text).
    """

    text: str
    raw: tuple[int, ...]
    raw_end: int

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the repaired text to the raw text."""
        if end <= start:
            pos = self.raw[start] if start < len(self.raw) else self.raw_end
            return pos, pos
        return self.raw[start], self.raw[end - 1] + 1

    def view_pos(self, raw_pos: int) -> int:
        """The first repaired-text index whose raw offset is >= raw_pos."""
        from bisect import bisect_left

        return bisect_left(self.raw, raw_pos)


@record
class Paragraph:
    """A rebuilt paragraph. start/end are raw offsets; ``vstart``/``vend`` view offsets."""

    doc_id: str
    para_id: int
    article_id: int
    kind: ParagraphKind
    start: int
    end: int
    vstart: int
    vend: int
    text: str  # repaired text of the paragraph


@record
class DateMention:
    """An explicit date in the repaired text (view offsets)."""

    start: int
    end: int
    iso: str
    rule: str


@record
class Quantity:
    """A number with its unit, found in the repaired text (view offsets)."""

    start: int
    end: int
    value: float
    value_hi: float | None
    unit: str | None  # canonical unit
    unit_raw: str | None  # measure word as written
    bound: Bound
    rule: str
    num_start: int = 0
    num_end: int = 0


@record
class Rejection:
    """A number that is not a claim, and the exclusion rule that said so (view offsets)."""

    start: int
    end: int
    text: str
    reason: str


@record
class LocalityPath:
    """Where a claim is about. ``locality`` is the most specific name (or 全国)."""

    locality: str | None = None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    township: str | None = None
    village: str | None = None


@record
class Claim:
    """One quantitative claim or date, with raw offsets; the row of the claims table."""

    doc_id: str
    para_id: int
    start: int
    end: int
    quote: str
    category: Category
    item: str
    value: float | None
    value_hi: float | None
    iso: str | None
    unit: str | None
    unit_raw: str | None
    bound: Bound
    per: str | None
    place: LocalityPath
    date: str | None
    rule: str
    # How the claim relates to the others of its document (CLAIMS.md "Facts"; pipeline/facts.py)
    fact: str | None = None
    part_of: str | None = None
    replaced_by: str | None = None
    aspect: str | None = None
    measure: str | None = None
    origin: str | None = None
    is_headline: bool = False

    @property
    def claim_id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"

    @property
    def fact_id(self) -> str | None:
        return self.fact


class FactLinks(NamedTuple):
    """What the facts stage says of one claim (all None for a date). A tuple: one is made
    for every claim."""

    fact: str | None = None
    part_of: str | None = None
    replaced_by: str | None = None
    aspect: str | None = None
    measure: str | None = None
    origin: str | None = None
    is_headline: bool = False


class Fact(NamedTuple):
    """One figure of a document, however often it is mentioned: a row of the facts table,
    its fields in the order of :data:`pipeline.schema.FACTS`'s columns (a tuple, as the
    table's rows are; one is made for nearly every claim)."""

    doc_id: str
    fact_id: str
    category: str  # a Category value
    item: str
    measure: str | None
    aspect: str | None
    origin: str | None
    value: float
    value_hi: float | None
    unit: str | None
    bound: str  # a Bound value
    per: str | None
    locality: str | None
    province: str | None
    city: str | None
    county: str | None
    township: str | None
    village: str | None
    date: str | None
    first_claim: str
    start: int
    n_mentions: int
    part_of: str | None
    parts_sum: float | None
    parts_status: str | None
    replaced_by: str | None
