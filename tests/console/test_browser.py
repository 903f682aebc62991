"""The console end to end in headless Chromium (issue 7): Debian's /usr/bin/chromium
driven by Playwright for Python, against the app served by a real HTTP server in a
thread, on the test database. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from ledger.models import Statement

from .conftest import EXAMPLE_2_PAYERS, FUNDED, PASSWORD, api_approve, api_pay, api_review, claim_status

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
#: CI machines are offline and run as root in a container.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI requires it.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation step: yes
    yield page
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/console/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/console/claims")


def log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#logout")
    page.wait_for_url("**/console/login")


def available(page, subfund: str) -> str:  # type: ignore[no-untyped-def]
    page.goto("/console/subfunds")
    return page.inner_text(f"tr[data-subfund='{subfund}'] td[data-col=available]")


def flash(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("p.flash")


def test_reviewer_reviews_then_approver_approves_and_the_balance_drops(page, world, session):
    claim = world.claim_id
    log_in(page, "reviewer")
    row = page.locator(f"#claim-queue tr[data-claim='{claim}']")
    assert "已提交" in row.inner_text() and "¥2,100,000.00" in row.inner_text()
    shot(page, "queue")
    row.locator("a").click()
    page.wait_for_url(f"**/console/claims/{claim}")
    steps = page.inner_text("#steps")
    assert "地区比例" in steps and "农业类科技企业 +0.10" in steps and "补偿额" in steps  # plain Chinese
    shot(page, "claim")
    page.select_option("#form-review select[name=recommendation]", "approve")
    page.fill("#form-review textarea[name=comment]", "材料齐全，建议批准")
    page.click("#form-review button[type=submit]")
    page.wait_for_url(f"**/console/claims/{claim}")
    assert "审查意见" in flash(page)
    assert claim_status(session, claim) == "reviewed"
    assert page.locator("#form-review").count() == 0  # nothing left for a reviewer to do
    log_out(page)

    log_in(page, "approver")
    before = {code: available(page, code) for code in EXAMPLE_2_PAYERS}
    assert before["GD-PROV"] == "¥100,000,000.00"
    shot(page, "dashboard-before")
    page.goto(f"/console/claims/{claim}")
    page.click("#form-approve button[type=submit]")
    page.wait_for_url(f"**/console/claims/{claim}")
    assert "已批准" in flash(page) and "¥2,100,000.00" in flash(page)
    for code, reserved in EXAMPLE_2_PAYERS.items():
        after = available(page, code)
        yuan, fen = divmod(FUNDED - reserved, 100)
        assert after == f"¥{yuan:,}.{fen:02d}", (code, before[code], after)
        assert page.inner_text(f"tr[data-subfund='{code}'] td[data-col=reserved]") == \
            f"¥{reserved // 100:,}.{reserved % 100:02d}"
    assert page.locator("#exposure-chart svg rect").count() > 0
    shot(page, "dashboard")


def test_an_approver_who_reviewed_the_claim_sees_the_four_eyes_message(page, world, session):
    claim = world.claim_id
    log_in(page, "both")  # holds reviewer and approver
    page.goto(f"/console/claims/{claim}")
    page.fill("#form-review textarea[name=comment]", "同意")
    page.click("#form-review button[type=submit]")
    page.wait_for_url(f"**/console/claims/{claim}")
    page.click("#form-approve button[type=submit]")
    page.wait_for_url(f"**/console/claims/{claim}")
    assert "四眼原则" in flash(page)
    assert "Traceback" not in page.content()
    assert claim_status(session, claim) == "reviewed"  # nothing was approved or reserved
    page.click("#lang-switch")
    page.click("#form-approve button[type=submit]")
    page.wait_for_url(f"**/console/claims/{claim}")
    assert "four eyes" in flash(page)


def test_an_auditor_downloads_statements_and_sees_no_action_buttons(page, world, client, session):
    api_review(client, world)
    api_approve(client, world)
    api_pay(client, world)
    # An auditor's download issues nothing (issue 10): the bureau issues these first.
    assert client.get(f"/api/v1/claims/{world.claim_id}/statement.pdf", headers=world.tokens["approver"]).status_code == 200
    assert client.get("/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-01-01&to=2026-06-30",
                      headers=world.tokens["approver"]).status_code == 200
    log_in(page, "auditor")
    page.goto(f"/console/claims/{world.claim_id}")
    assert page.locator("#actions form").count() == 0
    assert page.locator("form.action").count() == 0
    assert "无可执行的操作" in page.inner_text("#actions")
    with page.expect_download() as download:
        page.click("#claim-statement button")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "BCJ-2026-" in download.value.suggested_filename

    page.goto("/console/statements")
    page.select_option("#issue-statement select[name=target]", "subfund:GD-PROV")
    page.fill("#issue-statement input[name=from]", "2026-01-01")
    with page.expect_download() as download:
        page.click("#issue-statement button[type=submit]")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    assert "ZJD-2026-" in download.value.suggested_filename
    session.expire_all()
    numbers = set(session.scalars(select(Statement.number)))
    page.goto("/console/statements")
    assert numbers <= set(page.locator("#statement-register tr[data-number]").evaluate_all(
        "rows => rows.map(r => r.dataset.number)"))
    shot(page, "statements")

    page.goto("/console/audit")
    page.click("#verify-chain button")
    page.wait_for_selector("#chain-report")
    assert page.get_attribute("#chain-report", "data-ok") == "true"
    assert page.url.endswith("/console/audit#chain-report")  # POST-redirect-GET (issue 17)
    shot(page, "audit")


def test_a_form_posted_without_its_csrf_token_is_refused(page, world, session):
    claim = world.claim_id
    log_in(page, "reviewer")
    page.goto(f"/console/claims/{claim}")
    page.fill("#form-review textarea[name=comment]", "同意")
    page.evaluate("document.querySelector('#form-review input[name=csrf_token]').remove()")
    with page.expect_response(lambda r: r.url.endswith(f"/console/claims/{claim}/review")) as answer:
        page.click("#form-review button[type=submit]")
    assert answer.value.status == 400
    page.wait_for_selector("section.error")
    assert "CSRF" in page.inner_text("section.error")
    assert claim_status(session, claim) == "submitted"


def test_english_from_the_switch_and_back(page, world):
    log_in(page, "approver")
    assert page.inner_text("h1") == "理赔队列"
    page.click("#lang-switch")
    page.wait_for_selector("text=Claim queue")
    page.goto(f"/console/claims/{world.claim_id}")
    steps = page.inner_text("#steps")
    assert "Regional ratio" in steps and "region_ratio" not in steps  # words, not rule keys (issue 17)
    shot(page, "claim-en")
    page.click("#lang-switch")
    page.wait_for_selector("text=补偿计算过程")
