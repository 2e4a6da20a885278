"""pipeline.lexicon and the data files under pipeline/data: integrity, and errors that name file:line."""
from __future__ import annotations

import re
import shutil
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest
import regex
import yaml

from pipeline import dates as dates_stage
from pipeline import lexicon
from pipeline.exclude import _GUARDS
from pipeline.lexicon import BOUND_POSITIONS, UNIT_KINDS, load_lexicon
from pipeline.mentions import NUMERAL
from pipeline.model import Bound, Category, LexiconError, PipelineError
from pipeline.repair import char_map

DATA = Path(str(files("pipeline") / "data"))


def _tsv(name: str) -> list[tuple[int, list[str]]]:
    rows = []
    for lineno, line in enumerate((DATA / name).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            rows.append((lineno, line.split("\t")))
    return rows


def _yaml(name: str):
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def _dupes(items) -> list:
    return sorted(k for k, n in Counter(items).items() if n > 1)


# --- every data file loads ---------------------------------------------------


def test_the_lexicon_loads_and_is_cached() -> None:
    lex = load_lexicon()
    assert lex is load_lexicon()
    assert lex.units and lex.exclusions and lex.category_keywords and lex.words


def test_every_data_file_has_a_loader() -> None:
    """A new data file needs a loader (and a line here)."""
    loaders = {
        "units.tsv": lexicon.load_units,
        "bounds.tsv": lexicon.load_bounds,
        "categories.yaml": lambda: lexicon.load_categories(lexicon.load_units()),
        "not_claims.yaml": lexicon.load_exclusions,
        "words.yaml": lexicon.load_words,
        "facts.yaml": lexicon.load_facts,
        "heads.yaml": lexicon.load_heads,
        "chars.tsv": char_map,
        "dates.yaml": dates_stage.load_lexicon,
        "lunar_days.tsv": dates_stage.load_lexicon,
        "page.yaml": lexicon.load_page_rules,
    }
    present = {p.name for p in DATA.iterdir() if p.suffix in (".tsv", ".yaml", ".yml", ".txt")}
    unknown = present - set(loaders) - _OTHER_OWNERS
    assert unknown == set(), f"data files without a loader test: {sorted(unknown)}"
    for name, load in loaders.items():
        assert load(), name


# Data files loaded and tested elsewhere (locality stage).
_OTHER_OWNERS = {"localities.yaml"}


def test_data_files_are_utf8_without_bom() -> None:
    for path in DATA.iterdir():
        if path.suffix in (".tsv", ".yaml"):
            raw = path.read_bytes()
            assert not raw.startswith(b"\xef\xbb\xbf"), path.name
            raw.decode("utf-8")


# --- no duplicates -------------------------------------------------------------


def test_unit_surfaces_are_unique() -> None:
    assert _dupes(cols[0] for _, cols in _tsv("units.tsv")) == []


def test_bound_markers_are_unique_per_position() -> None:
    assert _dupes((cols[0], cols[1]) for _, cols in _tsv("bounds.tsv")) == []


def test_char_substitutions_are_unique() -> None:
    assert _dupes(cols[0] for _, cols in _tsv("chars.tsv")) == []


def test_lunar_days_are_unique() -> None:
    assert _dupes(cols[0] for _, cols in _tsv("lunar_days.tsv")) == []


def test_category_keywords_are_unique_within_a_category() -> None:
    for name, entry in _yaml("categories.yaml")["categories"].items():
        assert _dupes(entry.get("keywords") or ()) == [], name


def test_a_unit_goes_to_one_category_at_most() -> None:
    units = [u for entry in _yaml("categories.yaml")["categories"].values() for u in entry.get("units") or ()]
    assert _dupes(units) == []


def test_word_lists_have_no_duplicates() -> None:
    for key, values in _yaml("words.yaml").items():
        assert _dupes(values) == [], key


def test_exclusion_rule_names_are_unique() -> None:
    assert _dupes(r["name"] for r in _yaml("not_claims.yaml")["rules"]) == []


# --- values are what the code expects -------------------------------------------


def test_every_category_exists_in_the_model() -> None:
    data = _yaml("categories.yaml")
    names = set(Category.__members__)
    assert set(data["categories"]) <= names
    assert set(data["order"]) <= names
    assert set(data["categories"]) <= set(data["order"])
    assert _dupes(data["order"]) == []


def test_every_category_but_date_can_be_chosen() -> None:
    order = set(_yaml("categories.yaml")["order"])
    assert {c.value for c in Category} - order == {"date"}


def test_category_units_are_canonical_units() -> None:
    canonical = {u.canonical for u in load_lexicon().units.values()}
    for name, entry in _yaml("categories.yaml")["categories"].items():
        for u in entry.get("units") or ():
            assert u in canonical, (name, u)


def test_units_have_known_kinds_and_positive_factors() -> None:
    for lineno, (surface, canonical, factor, kind) in _tsv("units.tsv"):
        assert kind in UNIT_KINDS, f"units.tsv:{lineno}"
        assert float(factor) > 0, f"units.tsv:{lineno}"
        assert surface.strip() == surface and canonical.strip() == canonical, f"units.tsv:{lineno}"


# CLAIMS.md, Values and units: the canonical unit of each dimension. A unit the spec
# does not convert keeps its own name: a foreign currency (英镑), a land measure (亩).
CANONICAL_BY_KIND = {"money": None, "mass": {"kg"}, "volume": {"L"}, "length": {"km", "m"}, "area": {"km2", "m2"}, "percent": {"%"}}


def test_dimensions_use_the_spec_canonical_units() -> None:
    for u in load_lexicon().units.values():
        allowed = CANONICAL_BY_KIND.get(u.kind)
        if allowed:
            assert u.canonical in allowed or (u.kind == "area" and u.canonical == u.surface and u.factor == 1), u
        if u.kind == "money":
            assert u.canonical.endswith("元") or (u.canonical == u.surface and u.factor == 1), u


@pytest.mark.parametrize(
    ("surface", "canonical", "factor"),
    [("吨", "kg", 1000), ("公斤", "kg", 1), ("千克", "kg", 1), ("斤", "kg", 0.5), ("克", "kg", 0.001),
     ("mL", "L", 0.001), ("毫升", "L", 0.001), ("公里", "km", 1), ("千米", "km", 1), ("米", "m", 1),
     ("平方米", "m2", 1), ("平米", "m2", 1), ("平方公里", "km2", 1), ("%", "%", 1),
     ("名", "人", 1), ("位", "人", 1), ("人", "人", 1), ("人次", "人次", 1), ("元", "元", 1), ("万元", "元", 10_000)],
)
def test_spec_unit_table(surface: str, canonical: str, factor: float) -> None:
    u = load_lexicon().units[surface]
    assert (u.canonical, u.factor) == (canonical, factor)


@pytest.mark.parametrize(
    ("marker", "bound"),
    [("余", "ge"), ("多", "ge"), ("以上", "ge"), ("超过", "ge"), ("逾", "ge"), ("至少", "ge"),
     ("不到", "le"), ("不足", "le"), ("以下", "le"), ("以内", "le"),
     ("约", "approx"), ("近", "approx"), ("左右", "approx"), ("上下", "approx")],
)
def test_spec_bound_markers(marker: str, bound: str) -> None:
    found = {pos: b for pos, markers in load_lexicon().bounds.items() for m, b in markers.items() if m == marker}
    assert found, marker
    assert set(found.values()) == {Bound(bound)}


def test_bound_positions_and_values_are_known() -> None:
    for lineno, (marker, position, bound) in _tsv("bounds.tsv"):
        assert position in BOUND_POSITIONS, f"bounds.tsv:{lineno}"
        assert bound in Bound.__members__, f"bounds.tsv:{lineno}"


def test_every_exclusion_pattern_compiles() -> None:
    for rule in load_lexicon().exclusions:
        assert "{num}" in rule.pattern, rule.name
        regex.compile(rule.pattern.replace("{num}", f"(?P<num>{NUMERAL})"))
        assert rule.why.strip(), rule.name
        if rule.guard:
            assert rule.guard in _GUARDS, rule.name


def test_word_lists_the_code_reads_exist() -> None:
    words = load_lexicon().words
    for key in ("people_nouns", "item_stops_after", "item_verbs_after", "item_stops_before", "count_yi_before", "rate_markers",
                "per_openers", "per_each", "per_stops", "event_people_units"):
        assert words.get(key), key


def test_rate_markers_are_the_per_words() -> None:
    words = load_lexicon().words
    assert set(words["rate_markers"]) == set(words["per_openers"]) | set(words["per_each"])


def test_default_units_are_unit_surfaces_or_canonical_units() -> None:
    lex = load_lexicon()
    known = set(lex.units) | {u.canonical for u in lex.units.values()}
    assert lex.default_units and set(lex.default_units) <= known


# --- malformed copies: LexiconError naming file:line --------------------------------


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of pipeline/data that the loaders read instead of the real one."""
    dst = tmp_path / "data"
    shutil.copytree(DATA, dst)
    monkeypatch.setattr(lexicon, "_data", lambda name: dst / name)
    return dst


def _break_line(path: Path, find: str, replace_with: str) -> int:
    """Replace the first line starting with ``find``; return its 1-based line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith(find))
    lines[k] = replace_with
    path.write_text("\n".join(lines), encoding="utf-8")
    return k + 1


def _load_all():
    return lexicon.load_lexicon.__wrapped__()


def test_the_copy_loads_unchanged(data_copy) -> None:
    assert _load_all().units.keys() == load_lexicon().units.keys()


@pytest.mark.parametrize(
    ("name", "find", "bad"),
    [
        ("units.tsv", "公斤\t", "公斤\tkg\t1"),  # a column missing
        ("units.tsv", "公斤\t", "公斤\tkg\tone\tmass"),  # factor not a number
        ("units.tsv", "公斤\t", "公斤\tkg\t1\tweight"),  # unknown kind
        ("units.tsv", "公斤\t", "吨\tkg\t1000\tmass"),  # duplicate surface
        ("bounds.tsv", "逾\t", "逾\tprefix\tmore"),  # unknown bound
        ("bounds.tsv", "逾\t", "逾\tbefore\tge"),  # unknown position
        ("bounds.tsv", "逾\t", "超过\tprefix\tge"),  # duplicate marker
    ],
)
def test_malformed_tsv_names_file_and_line(data_copy, name: str, find: str, bad: str) -> None:
    lineno = _break_line(data_copy / name, find, bad)
    with pytest.raises(LexiconError, match=rf"^{re.escape(name)}:{lineno}\b"):
        _load_all()


@pytest.mark.parametrize(
    ("name", "find", "bad"),
    [
        ("categories.yaml", "  masks:", "  masks: [unclosed"),
        ("not_claims.yaml", "  - name: ordinal", "  - name: 'ordinal"),
        ("words.yaml", "people_nouns:", "people_nouns: [群众, 居民"),
    ],
)
def test_malformed_yaml_names_file_and_line(data_copy, name: str, find: str, bad: str) -> None:
    _break_line(data_copy / name, find, bad)
    with pytest.raises(LexiconError) as info:
        _load_all()
    msg = str(info.value)
    assert msg.startswith(name)
    assert re.search(rf"{re.escape(name)}:\d+|line \d+", msg), msg


@pytest.mark.parametrize(
    ("name", "find", "bad"),
    [
        ("categories.yaml", "  masks:", "  maskz:"),  # not a model.Category
        ("not_claims.yaml", "    pattern: '第{num}'", "    pattern: '第{num}('"),  # does not compile
        ("not_claims.yaml", "    pattern: '第{num}'", "    pattern: '第'"),  # no {num}
    ],
)
def test_invalid_yaml_entry_names_file_and_line(data_copy, name: str, find: str, bad: str) -> None:
    lineno = _break_line(data_copy / name, find, bad)
    with pytest.raises(LexiconError) as info:
        _load_all()
    msg = str(info.value)
    assert msg.startswith(name), msg
    assert re.search(rf"^{re.escape(name)}:{lineno}\b|line {lineno}\b", msg), msg


@pytest.mark.parametrize(
    ("find", "bad", "why"),
    [
        ("  masks: [", "  maskz: [口罩]", "unknown category 'maskz'"),
        ("  masks: [", "  masks: [口罩, 卡点]", "head '卡点' listed twice"),
        ("  masks: [", "  masks: 口罩", "masks: expected a list of words"),
        ("    default: facility", "    default: facilities", "unknown category 'facilities'"),
        ("own_word:", "own_word: [卡点]", "own_word '卡点' is not a one-character head"),
        ("adjective_endings:", "adjective_ending: [级]", "unknown key 'adjective_ending'"),
        ("adjective_endings:", "adjective_endings: [级, [性]]", "adjective_endings must be a list of words"),
        ("    heads: [点,", "    heads: 点", "heads must be a list of words"),
        ("    default: facility", "    defaults: facility", "unknown key 'defaults'"),
    ],
)
def test_malformed_heads_yaml_names_file_and_line(data_copy, find: str, bad: str, why: str) -> None:
    lineno = _break_line(data_copy / "heads.yaml", find, bad)
    with pytest.raises(LexiconError, match=rf"^heads\.yaml:{lineno}: .*{re.escape(why)}"):
        _load_all()


def test_a_missing_key_of_heads_yaml_names_its_mapping(data_copy) -> None:
    lines = (data_copy / "heads.yaml").read_text(encoding="utf-8").split("\n")
    k = lines.index("    default: facility")
    del lines[k]
    (data_copy / "heads.yaml").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(LexiconError, match=rf"^heads\.yaml:{k}: missing default$"):  # the mapping starts a line above
        _load_all()


def test_heads_are_unique_and_open_classes_resolve() -> None:
    heads = load_lexicon().heads
    for word, head in heads.heads.items():
        assert word.strip() == word and word, word
        if isinstance(head, lexicon.OpenHead):
            assert head.default in Category and head.modifiers, head.name
    assert set(heads.verbs_before.values()) <= set(Category) - {Category.date}
    assert heads.breaks >= set(heads.verbs_before) | set(heads.verbs_after)


def test_lexicon_error_is_a_pipeline_error() -> None:
    assert issubclass(LexiconError, PipelineError)


def test_every_currency_is_funds() -> None:
    """A sum in any currency units.tsv knows is categorised funds (CLAIMS.md: money is funds)."""
    lex = load_lexicon()
    money = {u.canonical for u in lex.units.values() if u.kind == "money"}
    assert {c for c in money if lex.decisive_units.get(c) is not Category.funds} == set()


# --- facts.yaml: every check names the file and the line ----------------------


@pytest.mark.parametrize(
    ("find", "bad"),
    [
        ("remainder:", "remainders: [其余]"),  # unknown key
        ("remainder:", "remainder: []"),  # empty list
        ("  new:", "  fresh: [新增]"),  # an aspect outside the spec's enumeration
        ("  imported:", "  imported: [境外输入, 本土]"),  # one word, two origins
        ("  例:", "  例: confirmd"),  # a measure outside the spec's enumeration
        ("origin_own_only:", "origin_own_only: [close_contact, contacts]"),
        ("aspect_time_phrases:", "aspect_time_phrases: [截至, 时间]"),  # not an aspect word
        ("correction:", "correction: [订正为, 订正为]"),  # duplicate word
        ("  open:", "  opened: [其中]"),  # breakdowns are open or closed
    ],
)
def test_invalid_facts_entry_names_file_and_line(data_copy, find: str, bad: str) -> None:
    lineno = _break_line(data_copy / "facts.yaml", find, bad)
    with pytest.raises(LexiconError, match=rf"^facts\.yaml:{lineno}\b"):
        _load_all()


def test_facts_words_follow_the_spec_enumerations() -> None:
    from pipeline.model import Aspect, Measure, Origin

    fw = load_lexicon().facts
    assert set(fw.aspect) == {a.value for a in Aspect}
    assert set(fw.measure) == {m.value for m in Measure}
    assert set(fw.origin) == {o.value for o in Origin}
    assert fw.aspect_time_phrases <= {w for ws in fw.aspect.values() for w in ws}


# --- page.yaml (furniture, page dates, table headers, converter noise) -----------


@pytest.mark.parametrize(
    ("find", "bad"),
    [
        ("  - name: lone_counter", "  - name: print_label"),  # duplicate rule name
        ("    pattern: '^\\d{1,6}$'", "    pattern: '^(\\d{1,6}$'"),  # does not compile
        ("    pattern: '^\\d{1,6}$'", "    pattern: '^{counter}$'"),  # unknown fragment
        ("  min_items: 6", "  min_items: five"),  # not an integer
        ("  max_syllables: 3", "  max_syllables: 0"),  # not positive
        ("  trailing: [", "  trailing: 数量"),  # not a list
        ("  date: ", "  date: '(?:19|20'"),  # a fragment that does not compile
    ],
)
def test_invalid_page_rule_names_file_and_line(find: str, bad: str) -> None:
    text = (DATA / "page.yaml").read_text(encoding="utf-8")
    lines = text.split("\n")
    k = next(i for i, line in enumerate(lines) if line.startswith(find))
    lines[k] = bad
    with pytest.raises(LexiconError, match=rf"^page\.yaml:{k + 1}\b"):
        lexicon.load_page_rules(text="\n".join(lines))


def test_malformed_page_yaml_names_the_file() -> None:
    text = (DATA / "page.yaml").read_text(encoding="utf-8").replace("fragments:", "fragments: [", 1)
    with pytest.raises(LexiconError, match=r"^page\.yaml"):
        lexicon.load_page_rules(text=text)


def test_every_page_pattern_compiles_and_every_furniture_rule_says_why() -> None:
    rules = lexicon.load_page_rules()
    rules.check()  # the patterns load_page_rules leaves for their first use
    assert rules.furniture and all(r.why.strip() for r in rules.furniture)
    assert len({r.name for r in rules.furniture}) == len(rules.furniture)
