"""The review page in a real browser: headless Chromium (Debian's) driven by Playwright's Python client.

`make test` installs Chromium with apt-get when it is missing; this test is skipped only where
it is still absent. Set BULLETIN_SCREENSHOT=path.png to keep the screenshot.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline import api
from pipeline.review.report import fmt_num, write_report
from pipeline.tables import build_tables, write_tables

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BULLETIN_CHROMIUM") or shutil.which("chromium") or "chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python client is not installed (test extra)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found ({CHROMIUM!r} on PATH or $BULLETIN_CHROMIUM): `make test` installs Debian's chromium with apt-get")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def seeds_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    out = folder / "out"
    write_tables(build_tables(api.run([ROOT / "seeds"])), out)
    report = folder / "report.html"
    write_report(out, report)
    return report, pd.read_parquet(out / "claims.parquet")


def test_report_in_chromium(browser, seeds_report, tmp_path):
    report, claims = seeds_report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())

    # One highlight per claim, all visible on the first page (the seeds are two documents).
    assert page.locator("mark[data-claim-id]").count() == len(claims)
    assert page.locator("section.doc:not([hidden]) mark[data-claim-id]").count() == len(claims)

    # Click a checkpoint claim: the details panel shows its fields.
    row = claims[claims.category == "checkpoint"].iloc[0]
    mark = page.locator(f'mark[data-claim-id="{row.claim_id}"]')
    assert mark.get_attribute("title").startswith(f"checkpoint: {fmt_num(row.value)}")
    mark.scroll_into_view_if_needed()
    mark.click()
    details = page.locator("#details")
    assert details.is_visible()
    field = lambda name: details.locator(f'tr[data-field="{name}"] td').nth(1).inner_text()  # noqa: E731
    assert field("value") == fmt_num(row.value)
    assert field("unit").startswith(row.unit)
    assert field("rule") == row.rule
    assert field("claim") == row.claim_id
    assert "checkpoint" in details.locator("h3").inner_text()

    # Rejected numbers are on the page, faint, with their rule.
    rejected = page.locator("span.rej").first
    assert rejected.get_attribute("title").startswith("not a claim: ")

    # Category filter: only checkpoints keep their colour.
    page.click("#allcats")  # untick all
    page.check('input.catf[value="checkpoint"]')
    n_checkpoints = int((claims.category == "checkpoint").sum())
    assert page.locator("mark.c:not(.off)").count() == n_checkpoints
    page.click("#allcats")  # tick all again
    assert page.locator("mark.c.off").count() == 0

    # Back to the clicked claim for the picture.
    mark.scroll_into_view_if_needed()
    mark.click()
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("BULLETIN_SCREENSHOT"):
        target = Path(os.environ["BULLETIN_SCREENSHOT"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target)

    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "about:", "blob:")) for u in requests), requests
    page.close()


def test_place_filter_in_chromium(browser, seeds_report):
    """Choosing a place keeps the claims at or under it."""
    report, claims = seeds_report
    paths = claims[["province", "city", "county", "township", "village"]].astype(object).where(claims.notna(), None)
    counties = claims.county.dropna()
    if counties.empty:
        pytest.skip("the locality stage gave the seeds no county")
    county = counties.value_counts().index[0]
    row = paths[claims.county == county].iloc[0]
    value = "›".join(x for x in (row.province, row.city, county) if x)
    joined = ["›".join(x for x in (p.province, p.city, p.county, p.township, p.village) if x) for p in paths.itertuples()]
    expected = sum(1 for j in joined if j == value or j.startswith(value + "›"))
    page = browser.new_page()
    page.goto(report.as_uri())
    page.select_option("#locf", value=value)
    assert page.locator("mark.c:not(.off)").count() == expected > 0
    page.close()


def test_facts_panel_in_chromium(browser, seeds_report):
    """A total whose parts do not add up is marked; its panel lists its parts, and a click on a
    part shows that part, whose panel names the total."""
    report, claims = seeds_report
    facts = pd.read_parquet(report.parent / "out" / "facts.parquet")
    total = facts[facts.parts_status == "mismatch"].iloc[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report.as_uri())
    mark = page.locator(f'mark[data-claim-id="{total.first_claim}"]')
    assert "mismatch" in mark.get_attribute("class")
    mark.scroll_into_view_if_needed()
    mark.click()
    details = page.locator("#details")
    field = lambda name: details.locator(f'tr[data-field="{name}"] td').nth(1)  # noqa: E731
    assert field("fact").inner_text() == total.fact_id
    assert "mismatch" in field("check").inner_text()
    parts = claims[(claims.doc_id == total.doc_id) & (claims.part_of == total.fact_id)]
    assert field("parts").locator(".link").count() == len(parts) >= 2
    field("parts").locator(".link").first.click()
    assert field("claim").inner_text() == parts.iloc[0].claim_id
    assert field("part of").inner_text() == claims.set_index("claim_id").loc[total.first_claim, "quote"]
    assert not errors, errors
    page.close()


# ---------------------------------------------------------------- checking at scale


def _js_value_text(v) -> str:
    """A value as the page searches it: JavaScript's String(v) and its en-US formatting."""
    if v is None or v != v:
        return ""
    if float(v).is_integer():
        return f"{int(v)} {int(v):,}"
    return f"{v!r} {v:,.6f}".rstrip("0")


def _matches(claims: pd.DataFrame, query: str) -> pd.Series:
    q = query.lower()
    text = [
        "\x01".join((str(r.item), str(r.quote), str(r.iso) if r.category == "date" else _js_value_text(r.value))).lower()
        for r in claims.itertuples()
    ]
    return pd.Series([q in t for t in text], index=claims.index)


def test_search_finds_claims_by_item_quote_and_value(browser, seeds_report):
    report, claims = seeds_report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.as_uri())
    quantities = claims[claims.category != "date"]
    # by item: the word a checkpoint claim counts
    item = quantities[quantities.category == "checkpoint"].item.iloc[0]
    page.fill("#claimq", item)
    want = _matches(claims, item)
    assert page.locator("mark.c:not(.off)").count() == int(want.sum()) > 0
    assert page.locator("#nclaims").inner_text() == f"{int(want.sum())} claims"
    shown = {page.locator("tr.docrow:not([hidden])").nth(k).get_attribute("data-doc") for k in range(page.locator("tr.docrow:not([hidden])").count())}
    assert shown == set(claims[want].doc_id)
    # by value: a number the text writes otherwise (万, Chinese numerals), found by its digits
    by_value = quantities[[float(v).is_integer() and v >= 100 and str(int(v)) not in q for v, q in zip(quantities.value, quantities.quote)]]
    if len(by_value):
        query = str(int(by_value.value.iloc[0]))
        page.fill("#claimq", query)
        want = _matches(claims, query)
        assert page.locator("mark.c:not(.off)").count() == int(want.sum()) > 0
        first = page.locator("mark.c:not(.off)").first.get_attribute("data-claim-id")
        assert first in set(claims[want].claim_id)
    # by quote, and nothing: every document leaves the list
    page.fill("#claimq", claims.quote.iloc[0])
    assert page.locator("mark.c:not(.off)").count() == int(_matches(claims, claims.quote.iloc[0]).sum()) > 0
    page.fill("#claimq", "这段文字不在任何通报里")
    assert page.locator("mark.c:not(.off)").count() == 0 and page.locator("tr.docrow:not([hidden])").count() == 0
    page.fill("#claimq", "")
    assert page.locator("mark.c.off").count() == 0
    page.close()


def test_csv_export_holds_the_filtered_claims(browser, seeds_report, tmp_path):
    import csv

    report, claims = seeds_report
    page = browser.new_page(accept_downloads=True)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.click("#allcats")  # untick all
    page.check('input.catf[value="personnel"]')
    with page.expect_download() as info:
        page.click("#csv")
    path = tmp_path / "claims.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())  # spreadsheets read it as UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    personnel = claims[claims.category == "personnel"].sort_values(["doc_id", "start"])
    assert [r["claim_id"] for r in rows] == list(personnel.claim_id)
    for r, want in zip(rows, personnel.itertuples()):
        assert (r["doc_id"], int(r["start"]), int(r["end"]), r["quote"], r["category"], r["item"]) == (
            want.doc_id, want.start, want.end, want.quote, "personnel", want.item)
        assert float(r["value"]) == pytest.approx(want.value) and r["unit"] == want.unit and r["rule"] == want.rule
    # with a claim search on top, the export narrows too
    page.fill("#claimq", personnel.item.iloc[0])
    with page.expect_download() as info:
        page.click("#csv")
    info.value.save_as(path)
    narrowed = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    want = personnel[_matches(personnel, personnel.item.iloc[0])]
    assert [r["claim_id"] for r in narrowed] == list(want.claim_id) and 0 < len(narrowed) <= len(rows)
    assert all(u.startswith(("file:", "data:", "about:", "blob:")) for u in requests), requests  # built in the page
    page.close()


def test_headline_paragraphs_are_marked(browser, seeds_report, tmp_path):
    report, _ = seeds_report
    paragraphs = pd.read_parquet(report.parent / "out" / "paragraphs.parquet")
    headlines = paragraphs[paragraphs.kind == "headline"]
    assert len(headlines) > 0
    page = browser.new_page()
    page.goto(report.as_uri())
    tags = page.locator('p.para[data-kind="headline"] > .kind-tag')
    assert tags.count() == len(headlines) and page.locator("p.para .kind-tag").count() == len(headlines)
    assert tags.first.is_visible() and tags.first.inner_text() == "headline"
    style = tags.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert style not in ("rgba(0, 0, 0, 0)", "transparent")
    page.close()


def test_summary_fits_a_1400_pixel_window(browser, seeds_report, tmp_path):
    """Every category, long place names and sums in the billions: the summary table still
    fits a 1400-pixel-wide window at every place level, without scrolling sideways."""
    from pipeline.model import Category
    from pipeline.notebook import read_table

    report, _ = seeds_report
    run = tmp_path / "run"
    shutil.copytree(report.parent / "out", run)
    claims = read_table(run, "claims")
    cats = [c.value for c in Category]
    claims["category"] = [cats[i % len(cats)] for i in range(len(claims))]
    claims["value"] = [123456789.5 * (i % 7 + 1) for i in range(len(claims))]
    claims["iso"] = claims["iso"].where(claims.category != "date", "2020-02-01")
    claims["province"], claims["city"] = "新疆维吾尔自治区", "新疆生产建设兵团第四师可克达拉市"
    claims["county"] = ["可克达拉市第六十" + "一二三四五六七八九"[i % 9] + "团场" for i in range(len(claims))]
    claims["township"] = ["某某镇第" + str(i % 11) + "居民委员会办事处" for i in range(len(claims))]
    claims["village"] = None
    claims["locality"] = claims["township"]
    claims.to_parquet(run / "claims.parquet", index=False)
    wide = tmp_path / "wide.html"
    write_report(run, wide)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(wide.as_uri())
    levels = page.locator("#levelf option").all_inner_texts()
    assert {"province", "city", "county", "township", "village", "locality"} <= set(levels)
    header = page.locator('.level:not([hidden]) table.summary thead th').all_inner_texts()
    assert sum(1 for c in cats if any(h.split("\n")[0].strip() == c for h in header)) == len(cats)  # every category a column
    for level in levels:
        page.select_option("#levelf", level)
        sizes = page.evaluate("""() => {
            const t = document.querySelector('.level:not([hidden]) table.summary');
            const box = t.closest('.scroll');
            return [document.documentElement.scrollWidth, document.documentElement.clientWidth,
                    box.scrollWidth, box.clientWidth, Math.ceil(t.getBoundingClientRect().right)];
        }""")
        page_w, view_w, box_scroll, box_w, right = sizes
        assert page_w <= view_w, f"{level}: the page scrolls sideways ({page_w} > {view_w})"
        assert box_scroll <= box_w and right <= 1400, f"{level}: the summary table overflows ({box_scroll} > {box_w}, right {right})"
    page.close()
