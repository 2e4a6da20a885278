"""pipeline.exclude and data/not_claims.yaml.

- cases/not_claims.txt is the negative corpus: every line must yield no quantity.
- Every rule of not_claims.yaml has an example here on which it fires, so a rule
  that stops matching (or a new rule without an example) fails.
"""
from __future__ import annotations

import pytest

from conftest import load_lines, quantity_claims
from pipeline import api
from pipeline.exclude import _GUARDS, quoted_spans, reject_reason, rule_hits
from pipeline.lexicon import load_lexicon
from pipeline.mentions import find_candidates, implied_unit
from pipeline.model import Document, DocumentMeta


@pytest.mark.parametrize("text", load_lines("not_claims.txt"))
def test_not_a_claim(text: str) -> None:
    ex = api.extract_document(Document("case", "case", text, meta=DocumentMeta(default_year=2020)))
    got = quantity_claims(ex.claims)
    assert [(c.quote, c.value, c.unit) for c in got] == []


# One example a rule, in our own words: the rule must fire on a number in it.
RULE_EXAMPLES = {
    "ordinal": "该镇排名第一",
    "list_marker": "工作要求：一是加强宣传",
    "level": "防控等级升为二级响应",
    "scheme_name": "推行四包一责任制",
    "set_phrase": "推行六位一体工作法",
    "model_code": "佩戴N95口罩",
    "case_number": "病例1-16均已隔离",
    "identifier": "32138部队官兵",
    "ordinal_er": "防止二次伤害",
    "every_single": "每一个人都要登记",
    "address": "家住逸仙路288弄",
    "transport_number": "乘坐车次1461抵达",
    "phone": "请拨打13812345678联系",
    "service_number": "拨打120急救电话",
    "age": "患者年龄65岁",
    "ratio": "按1:100的比例稀释",
    "place_name": "八家屯的村民",
    "wheel_count": "骑着三轮车送菜",
    "temperature": "体温37.8℃",
    "duration": "坚持24小时值守",
    "clock_time": "上午9时召开会议",
    "fraction_of_time": "实行一日一报",
    "negated_vague": "街上没几个人",
    "idiom": "统一部署",
    "article": "一名护士主动请战",
    "figure_of_speech": "一面面旗帜迎风飘扬",
}


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def test_every_rule_has_an_example(lex) -> None:
    assert sorted(r.name for r in lex.exclusions) == sorted(RULE_EXAMPLES)


def _fires(rule_name: str, text: str, lex) -> bool:
    rule = next(r for r in lex.exclusions if r.name == rule_name)
    cands = [implied_unit(c, text, lex) for c in find_candidates(text, lex)]
    if rule.guard:
        return any(_GUARDS[rule.guard](c, text, lex) for c in cands)
    hits = rule_hits(text, lex)[rule.name]
    return any(hs < c.num_end and c.num_start < he for c in cands for hs, he in hits)


@pytest.mark.parametrize(("rule_name", "text"), sorted(RULE_EXAMPLES.items()), ids=sorted(RULE_EXAMPLES))
def test_rule_fires_on_its_example(rule_name: str, text: str, lex) -> None:
    if rule_name not in {r.name for r in lex.exclusions}:
        pytest.fail(f"{rule_name} is no longer a rule of not_claims.yaml")
    assert _fires(rule_name, text, lex)


def test_guards_named_in_the_data_exist(lex) -> None:
    assert {r.guard for r in lex.exclusions if r.guard} <= set(_GUARDS)


def test_reject_reason_names_a_rule(lex) -> None:
    names = {r.name for r in lex.exclusions} | {"quoted_name"}
    for text in RULE_EXAMPLES.values():
        hits, quoted = rule_hits(text, lex), quoted_spans(text)
        for cand in find_candidates(text, lex):
            reason = reject_reason(implied_unit(cand, text, lex), text, lex, hits, quoted)
            assert reason is None or reason in names


@pytest.mark.parametrize(
    "text",
    ["设立卡点12个", "每个卡点配发一个测温枪", "新增确诊病例3例", "拨付资金50万元", "动员党员200多名"],
)
def test_counts_pass_every_rule(text: str, lex) -> None:
    hits, quoted = rule_hits(text, lex), quoted_spans(text)
    cands = [c for c in find_candidates(text, lex) if c.quantity is not None]
    assert cands
    assert [reject_reason(c, text, lex, hits, quoted) for c in cands] == [None] * len(cands)


def test_quoted_spans_cover_a_short_quoted_name() -> None:
    text = "全县出台“十项措施”，效果明显"
    (span,) = quoted_spans(text)
    assert text[span[0] : span[1]] == "十项措施"


def test_long_quotations_are_not_names() -> None:
    assert quoted_spans("他说“今天我们一共设立了十二个检查卡点和三个服务站”") == []


def test_straight_quotes_pair_up_within_a_paragraph() -> None:
    text = '推行"四包一"机制\n又说"其他'
    assert [text[s:e] for s, e in quoted_spans(text)] == ["四包一"]


@pytest.mark.parametrize(
    "pattern, words",
    [
        ("第(?P<num>x)", ("第",)),
        (r"(?:病例|感染者)\s*(?P<num>1)", ("病例", "感染者")),
        ("每(?=一)(?P<num>1)", ("每",)),
        ("第x|年龄y", ("第x", "年龄y")),
        ("ab?c", ("a",)),  # (a quantified last character is not required)
        (r"a\.b", ("a",)),
        ("(?:a|b)?c", None),  # an optional group: a match may start after it
        ("(?i)ab", None),  # case folded: a literal test would miss AB
        ("[ab]c", None),
        ("第x|(?=1)y", None),
        ("(?P=x)a", None),
    ],
)
def test_leading_literals_of_a_pattern(pattern, words) -> None:
    from pipeline.regex_shape import leading_literals

    assert leading_literals(pattern) == words


def test_every_match_of_a_whole_text_rule_starts_with_its_leading_words() -> None:
    # mask skips a whole-text rule over a text without its words: sound only if every match starts with one
    from pathlib import Path

    from pipeline.exclude import _plan

    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.glob("seeds/*.txt"))]
    texts += [p.values[0] for p in load_lines("not_claims.txt")] + list(RULE_EXAMPLES.values())
    own = _plan(load_lexicon()).own
    assert any(words is not None for _, _, words in own)
    for _, pattern, words in own:
        for text in texts:
            for m in pattern.finditer(text, overlapped=True):
                assert words is None or text.startswith(words, m.start()), (pattern.pattern, text)
