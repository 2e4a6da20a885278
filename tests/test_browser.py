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
from pipeline.report import fmt_num, write_report
from pipeline.tables import build_tables, write_tables

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BULLETIN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python client is not installed (test extra)")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium with apt-get")
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
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
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
