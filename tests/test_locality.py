"""Locality: the gazetteer index, place mentions and claim attribution.

The table-driven cases live in tests/cases/locality.tsv (text, claim, expected
locality and county); they are read through repair, as the pipeline reads a
document.  The gazetteer is loaded from its cache (built once)."""
from __future__ import annotations

import gc
import re
import time
from pathlib import Path

import pytest

from pipeline import gazetteer, locality, places
from pipeline.model import LocalityPath, Paragraph, ParagraphKind
from pipeline.repair import repair

CASES = Path(__file__).parent / "cases" / "locality.tsv"


@pytest.fixture(scope="module")
def gz():
    return gazetteer.load()


def paragraphs_of(text: str) -> list[Paragraph]:
    """One paragraph a line; a short line without a full stop is a headline
    and starts a new article."""
    out: list[Paragraph] = []
    pos = 0
    article = 0
    for i, line in enumerate(text.split("\n")):
        headline = len(line) <= 30 and not re.search(r"[。！？]", line)
        if headline and out and out[-1].kind != ParagraphKind.headline:
            article += 1
        kind = ParagraphKind.headline if headline else ParagraphKind.body
        out.append(Paragraph("t", i, article, kind, pos, pos + len(line), pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def attribute_quote(text: str, quote: str) -> LocalityPath:
    nth = 1
    if "@" in quote:
        quote, n = quote.rsplit("@", 1)
        nth = int(n)
    start = -1
    for _ in range(nth):
        start = text.index(quote, start + 1)
    return locality.attribute(text, paragraphs_of(text), [(start, start + len(quote))])[0]


def load_cases():
    rows = []
    for lineno, line in enumerate(CASES.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("text\t"):
            continue
        cols = line.split("\t")
        assert len(cols) == 5, f"{CASES.name}:{lineno}: expected 5 columns, got {len(cols)}"
        text, quote, loc, county, source = cols
        rows.append(pytest.param(text.replace("\\n", "\n"), quote, loc or None, county or None, id=f"{lineno}:{source}"))
    return rows


@pytest.mark.parametrize("text,quote,expected,county", load_cases())
def test_case(text, quote, expected, county):
    # the stage reads the repaired view (traditional characters made simplified,
    # half-width punctuation full-width), as in the pipeline
    got = attribute_quote(repair(text).text, repair(quote).text)
    assert got.locality == expected
    assert got.county == county


# -- the gazetteer ----------------------------------------------------------


def test_gazetteer_loads_from_cache(gz, monkeypatch):
    """A second build reads the cached index: it never builds the index again (its
    speed is the benchmark's to show, not a timed test's)."""
    assert len(gz.names) > 600_000

    def rebuild():
        raise AssertionError("the index was built again instead of read from the cache")

    monkeypatch.setattr(gazetteer, "_build_state", rebuild)
    again = gazetteer.build()
    assert again.names == gz.names


def test_short_form_resolves_to_province(gz):
    assert [p.name for p in gz.lookup("湖北")] == ["湖北省"]
    assert [p.name for p in gz.lookup("内蒙古")] == ["内蒙古自治区"]
    assert gz.lookup("湖北")[0].locality_path() == LocalityPath("湖北省", "湖北省")


def test_names_are_normalised(gz):
    village = gz.lookup("锄沟村")[0]
    assert village.level == "village"
    assert village.path == ("山西省", "吕梁市", "柳林县", "柳林镇", "锄沟村")
    assert [p.name for p in gz.lookup("崇文街道") if p.path[2] == "孝义市"] == ["崇文街道"]


def test_municipality_is_province_and_city(gz):
    place = gz.lookup("丰台区")[0]
    assert place.locality_path() == LocalityPath("丰台区", "北京市", "北京市", "丰台区")


def test_county_directly_under_province(gz):
    assert gz.lookup("仙桃")[0].locality_path() == LocalityPath("仙桃市", "湖北省", None, "仙桃市")


def test_smallest_common_unit(gz):
    places = [gz.lookup(n)[0] for n in ("仙桃", "天门", "潜江")]
    assert gz.common_unit(places).name == "湖北省"
    assert gz.common_unit([gz.lookup("湖北")[0], gz.lookup("山西")[0]]).level == gazetteer.NATION


# -- mentions ---------------------------------------------------------------


def test_find_places_longest_match_and_chain():
    text = "孝感市陡岗镇袁湖村党支部书记"
    found = places.find_places(text)
    assert [m.surface for m in found] == ["孝感市", "陡岗镇", "袁湖村"]
    resolved = places.resolve_places(found, None, text)
    assert len(resolved) == 1 and resolved[0].places[0].path[-3:] == ("孝南区", "陡岗镇", "袁湖村")


def test_ambiguous_village_resolves_inside_the_county_named():
    text = "临汾市安泽县召开会议。和平村设卡口4个。"
    found = places.find_places(text)
    village = next(m for m in found if m.surface == "和平村")
    assert len(village.places) > 100  # a common name nationally
    resolved = places.resolve_places(found, None, text)
    assert next(m for m in resolved if m.surface == "和平村").places[0].path[2] == "安泽县"


def test_hint_resolves_ambiguity():
    text = "和平村设卡口4个。"
    assert places.resolve_places(places.find_places(text), None, text) == []
    resolved = places.resolve_places(places.find_places(text), "安泽县", text)
    assert resolved[0].places[0].path[2] == "安泽县"


@pytest.mark.parametrize(
    "text,absent",
    [
        ("外卖小哥穿梭在黄浦江两岸", "黄浦"),  # a river named after the district
        ("公安部要求各地公安机关依法打击", "公安"),  # a ministry, not 公安县
        ("政府县长刘惠民主持召开了全县会议，刘惠民强调", "惠民"),  # a person
        ("随后召开县乡村三级部署会", "开县"),  # a two-character county inside words
    ],
)
def test_words_that_look_like_places(text, absent):
    found = places.resolve_places(places.find_places(text), None, text)
    assert absent not in [m.surface for m in found]


def test_national_marker():
    found = places.find_places("国家卫生健康委通报，我国累计报告病例")
    assert [m.places[0].level for m in found] == ["nation", "nation"]


def test_one_result_per_span_and_empty_inputs():
    assert locality.attribute("", [], []) == []
    text = "没有地名的一句话，共10个。"
    assert locality.attribute(text, paragraphs_of(text), [(9, 12)]) == [LocalityPath()]


# -- properties ---------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_PIECES = ["湖北", "武汉市", "全县", "该乡", "驰援", "从", "返乡", "、", "，", "。", "（", "）", "12个", "3例",
           "等", "新区", "社区", "村", "国家卫生健康委", "柳林", "县", "丰台区", "花乡", "\n", " ", "与", "相交"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.lists(st.tuples(st.integers(0, 200), st.integers(1, 6)), max_size=5))
def test_attribute_never_raises(pieces, raw_spans):
    text = "".join(pieces)
    spans = [(min(s, len(text)), min(s + n, len(text))) for s, n in raw_spans]
    got = locality.attribute(text, paragraphs_of(text), spans)
    assert len(got) == len(spans)
    assert all(isinstance(p, LocalityPath) for p in got)


def test_data_file_loads():
    data = gazetteer.load_data()
    assert data.raw["province_aliases"]["广西"] == "广西壮族自治区"
    assert "全国" in data.raw["national_markers"]
    assert len(data.digest) == 12


# -- time grows with the text, not with its square ------------------------------


def _best_of_three(run) -> float:
    """The shortest of three runs, the garbage collector off (its pauses fall
    where they fall and would blur the comparison)."""
    best = float("inf")
    for _ in range(3):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best


def _growth(make_text, run, small: int = 100, factor: int = 10) -> float:
    """How much longer ``run`` takes on a text ``factor`` times as long: about
    ``factor`` where the work is linear, about ``factor`` squared where it is
    quadratic (the tests allow three times the linear figure).  The machine is
    shared: a measurement over the bound is taken again, up to three times
    (a quadratic stage is over it every time)."""
    run(make_text(small))  # warm up (gazetteer, compiled patterns)
    growth = float("inf")
    for _ in range(3):
        growth = min(growth, _best_of_three(lambda: run(make_text(small * factor))) / _best_of_three(lambda: run(make_text(small))))
        if growth < 3 * factor:
            break
    return growth


def test_attribution_time_is_linear_in_a_long_paragraph():
    # one paragraph, one sentence: places the claims may not take (origins,
    # neighbours, visits, institutions), anaphors, sendings, and claims far from
    # any usable place, so that every rule has to look a long way back
    unit = "从武汉返乡人员3人，全村出征的队员2人，与灵石县相交的路口4个，驰援孝义市人民医院，前往花乡5人，在各社区设卡点6个，"

    def run(text):
        spans = [m.span() for m in re.finditer(r"[0-9]+[个人]", text)]
        one = [Paragraph("t", 0, 0, ParagraphKind.body, 0, len(text), 0, len(text), text)]
        locality.attribute(text, one, spans)

    assert _growth(lambda n: unit * n, run) < 30


def test_attribution_time_is_linear_over_many_paragraphs():
    unit = "从武汉返乡人员3人，全村出征的队员2人，与灵石县相交的路口4个，驰援孝义市人民医院，前往花乡5人，在各社区设卡点6个，"

    def run(text):
        spans = [m.span() for m in re.finditer(r"[0-9]+[个人]", text)]
        step = len(unit)
        paras = [
            Paragraph("t", i, 0, ParagraphKind.body, a, a + step, a, a + step, text[a : a + step])
            for i, a in enumerate(range(0, len(text), step))
        ]
        locality.attribute(text, paras, spans)

    assert _growth(lambda n: unit * n, run) < 30


def test_finding_places_time_is_linear():
    # short forms of townships named in full, units the gazetteer lacks named
    # after a known one, and recurring surname + short name pairs
    unit = "柳林县驿马乡召开会议，驿马干部3人，孝义市柱濮新区设卡点4个，柱濮新区5人，钟海南说，钟海南6人，"
    assert _growth(lambda n: unit * n, places.find) < 30


def test_units_since_the_list_are_added_and_renamed():
    tree = {"甲省": {"乙市": {"丙县": {"丁镇": []}}}}
    data = {"units_since_list": [["戊市", ["甲省", "乙市"], 2019]],
            "units_renamed_since_list": [[["甲省", "乙市", "丙县"], "丙州市", 2018]]}
    got = gazetteer._updated_tree(tree, data)
    assert got == {"甲省": {"乙市": {"丙州市": {"丁镇": []}, "戊市": {}}}}


@pytest.mark.parametrize("data", [
    {"units_since_list": [["戊市", ["甲省", "己市"], 2019]], "units_renamed_since_list": []},
    {"units_since_list": [], "units_renamed_since_list": [[["甲省", "乙市", "庚县"], "庚市", 2018]]},
    {"units_since_list": [["戊市", "甲省", 2019]], "units_renamed_since_list": []},
])
def test_a_change_to_a_unit_the_list_lacks_is_an_error(data):
    with pytest.raises(gazetteer.LexiconError, match="localities.yaml: units_"):
        gazetteer._updated_tree({"甲省": {"乙市": {"丙县": {}}}}, data)
