"""The administration pages end to end in headless Chromium (issue 17): a fund
administrator publishes a draft rule after seeing its diff and what-if, opens a sub-fund
and funds it, admits a bank and hands it a token. Screenshots to test-artifacts/screenshots/."""

from __future__ import annotations

import json

from sqlalchemy import select

from ledger.models import RuleVersion, Scheme

from .test_browser import browser, flash, live_server, log_in, page, shot  # noqa: F401  (fixtures)


def test_fund_admin_publishes_rules_opens_and_funds_a_subfund_and_admits_a_bank(page, world, session, client):  # noqa: F811
    log_in(page, "admin")

    # Rules: v1 as tables, then a draft that lowers the per-claim cap from 1 September.
    page.click("nav >> text=补偿规则")
    page.wait_for_url("**/console/rules")
    page.click("tr[data-scheme='GD-KJD'][data-version='1'] >> text=查看")
    assert "per_claim_cap" in page.inner_text("table.rule-claims")
    shot(page, "rules-version")
    document = session.scalar(select(RuleVersion).join(Scheme).where(Scheme.code == "GD-KJD")).document
    document = {**document, "effective_from": "2026-09-01",
                "claims": {**document["claims"], "per_claim_cap": "1000000.00"}}
    page.goto("/console/rules/draft")
    page.fill("textarea[name=rules]", json.dumps(document, ensure_ascii=False, indent=2))
    page.click("#check")
    page.wait_for_selector("#draft-diff")
    row = page.inner_text("#draft-diff tr[data-key='claims.per_claim_cap']")
    assert "5000000.00" in row and "1000000.00" in row
    assert page.locator("#draft-whatif table.simulation-comparison tr[data-subfund='GD-PROV']").count() == 1
    shot(page, "rules-draft-diff")
    page.click("#publish")
    page.wait_for_url("**/console/rules/GD-KJD/2")
    assert "第 2 版已发布" in flash(page)

    # Sub-fund: open it, then record its first contribution.
    page.goto("/console/subfunds")
    page.click("#new-subfund")
    page.fill("input[name=code]", "COUNTY-440703")
    page.fill("input[name=name]", "蓬江区科技信贷风险补偿资金")
    page.select_option("select[name=owner_type]", "county")
    page.fill("input[name=region]", "440703")
    page.click("#create-subfund")
    page.wait_for_url("**/console/subfunds/COUNTY-440703")
    page.fill("#contribution-form input[name=amount]", "2500000.00")
    page.fill("#contribution-form input[name=reference]", "PJ-2026-001")
    page.click("#record-contribution")
    page.wait_for_url("**/console/subfunds/COUNTY-440703")
    assert "¥2,500,000.00" in flash(page)
    assert page.inner_text("#subfund-balance td[data-col=available]") == "¥2,500,000.00"
    shot(page, "subfund-funded")

    # A bank: admitted with its API user; the token is shown once and works.
    page.click("nav >> text=银行与用户")
    page.fill("#bank-form input[name=code]", "BANK-JM")
    page.fill("#bank-form input[name=name]", "江门农村商业银行")
    page.click("#create-bank")
    token = page.inner_text("#new-token")
    shot(page, "bank-token")
    assert client.get("/api/v1/loans", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.goto("/console/users")
    assert page.locator("tr[data-user='bank-BANK-JM']").count() == 1
    assert token not in page.content()
