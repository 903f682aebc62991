"""The dashboard, statements and audit pages, and how amounts and dates are shown (issue 7)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from console.formatting import date_text, money_text
from ledger.models import Statement

from .conftest import api_approve, api_pay, api_review, login, post_form


@pytest.mark.parametrize(("value", "text"), [
    (123456789, "¥1,234,567.89"),
    (0, "¥0.00"),
    (5, "¥0.05"),
    (-1200, "-¥12.00"),
    ("1200000.00", "¥1,200,000.00"),
    (100_000_000_000_000_00, "¥100,000,000,000,000.00"),
])
def test_amounts(value, text):
    assert money_text(value) == text


def test_dates_are_iso_and_moments_beijing_time():
    assert date_text(date(2026, 6, 30)) == "2026-06-30"
    assert date_text(datetime(2026, 6, 30, 17, 30, tzinfo=timezone.utc)) == "2026-07-01 01:30:00"
    assert date_text(datetime(2026, 6, 30, 17, 30)) == "2026-07-01 01:30:00"  # SQLite's naive UTC


def test_dashboard_balances_and_charts(client, world):
    api_review(client, world)
    api_approve(client, world)
    login(client, "auditor")
    html = client.get("/console/subfunds").get_data(as_text=True)
    assert "¥98,950,000.00" in html  # GD-PROV: 100,000,000.00 less its 1,050,000.00 reservation
    assert "¥1,050,000.00" in html
    assert html.count("<svg") == 2 and "<script" not in html.split("</head>")[1]
    assert "或有负债" in html and "GD-KJD" in html


def test_statements_page_issues_and_lists(client, world, session):
    login(client, "approver")
    html = client.get("/console/statements").get_data(as_text=True)
    assert 'value="subfund:GD-PROV"' in html and 'value="bank:BANK-A"' in html
    r = post_form(client, "/console/statements", "/console/statements/issue",
                  {"target": "subfund:GD-PROV", "from": "2026-01-01", "to": "2026-06-30", "lang": "en"})
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF-")
    assert r.headers["X-Statement-Number"].startswith("ZJD-2026-")
    assert "attachment" in r.headers["Content-Disposition"]
    again = post_form(client, "/console/statements", "/console/statements/issue",
                      {"target": "subfund:GD-PROV", "from": "2026-01-01", "to": "2026-06-30", "lang": "en"})
    assert again.data == r.data  # unchanged ledger: the same statement, byte for byte
    session.rollback()
    assert session.scalars(select(Statement.number)).all() == [r.headers["X-Statement-Number"]]
    html = client.get("/console/statements").get_data(as_text=True)
    assert r.headers["X-Statement-Number"] in html and "资金对账单" in html


@pytest.mark.parametrize(("data", "message"), [
    ({"target": "subfund:GD-PROV", "from": "2026-06-01", "to": "2026-12-31"}, "对账期间不能晚于今天"),
    ({"target": "subfund:NOPE", "from": "2026-06-01", "to": "2026-06-30"}, "未找到该子基金"),
    ({"target": "claim:1"}, "尚未支付"),
    ({"target": "subfund:GD-PROV", "from": "2026-13-01"}, "起始日"),
])
def test_statement_refusals_are_flashed(client, world, data, message):
    login(client, "approver")
    r = post_form(client, "/console/statements", "/console/statements/issue", data)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert message in r.get_data(as_text=True)


def test_a_paid_claim_offers_its_statement(client, world):
    api_review(client, world)
    api_approve(client, world)
    api_pay(client, world)
    login(client, "auditor")
    page = f"/console/claims/{world.claim_id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="claim-statement"' in html
    assert "440703 江门市蓬江区" in html  # the region's name beside its code (SPEC §2)
    # An auditor issues nothing (issue 10): refused until the bureau issued it, then the same file.
    r = post_form(client, page, "/console/statements/issue", {"target": f"claim:{world.claim_id}"})
    assert r.mimetype == "text/html" and "审计人员只能下载已出具的对账单" in r.get_data(as_text=True)
    issued = client.get(f"/api/v1/claims/{world.claim_id}/statement.pdf", headers=world.tokens["approver"])
    r = post_form(client, page, "/console/statements/issue", {"target": f"claim:{world.claim_id}"})
    assert r.mimetype == "application/pdf" and r.headers["X-Statement-Number"].startswith("BCJ-2026-")
    assert r.data == issued.data


def test_audit_log_browse_filter_verify_export(client, world, engine):
    login(client, "auditor")
    html = client.get("/console/audit").get_data(as_text=True)
    assert 'data-action="claim.submit"' in html and 'data-action="subfund.contribute"' in html
    html = client.get("/console/audit?entity_type=claim").get_data(as_text=True)
    assert 'data-action="claim.submit"' in html and 'data-action="subfund.contribute"' not in html
    r = post_form(client, "/console/audit", "/console/audit/verify", follow=False)
    # POST-redirect-GET (issue 17): the verdict is shown on the log's own URL, once.
    assert (r.status_code, r.headers["Location"]) == (303, "/console/audit#chain-report")
    r = client.get("/console/audit")
    assert 'id="chain-report" data-ok="true"' in r.get_data(as_text=True)
    assert "哈希链完整" in r.get_data(as_text=True)
    assert 'id="chain-report"' not in client.get("/console/audit").get_data(as_text=True)
    export = client.get("/console/audit/export.csv")
    assert export.mimetype == "text/csv" and b"claim.submit" in export.data
    export.close()
    if engine.dialect.name == "postgresql":
        # The streamed rows' session is closed with the stream: no transaction left
        # open to block the next writer (or the next test's TRUNCATE).
        from sqlalchemy import text

        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'")).scalar() == 0


def test_audit_verify_names_a_broken_entry(client, world, engine):
    from sqlalchemy import text

    # Tamper as an intruder with database access would: past the append-only triggers.
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2"))
    login(client, "auditor")
    html = post_form(client, "/console/audit", "/console/audit/verify").get_data(as_text=True)
    assert 'data-ok="false"' in html and "第 2 条" in html


def test_pagination_keeps_filters(client, world, make_loan):
    from .conftest import EXAMPLE_2, submit_claim

    for n in range(2, 28):
        submit_claim(client, world.tokens, make_loan("BANK-A", **EXAMPLE_2).id, key=f"k-{n}")
    login(client, "reviewer")
    html = client.get("/console/claims?status=submitted").get_data(as_text=True)
    assert "第 1 / 2 页，共 27 条" in html
    assert "page=2" in html and "status=submitted" in html
    page2 = client.get("/console/claims?status=submitted&page=2").get_data(as_text=True)
    assert page2.count("data-claim=") == 2
    assert "没有符合条件的理赔" in client.get("/console/claims?status=paid").get_data(as_text=True)
    assert "共 27 条" in client.get("/console/claims?region=4407&min_age_days=0").get_data(as_text=True)
    assert "没有符合条件的理赔" in client.get("/console/claims?min_age_days=5").get_data(as_text=True)
    assert "没有符合条件的理赔" in client.get("/console/claims?bank=BANK-Z").get_data(as_text=True)
    bad = client.get("/console/claims?min_age_days=abc").get_data(as_text=True)
    assert "受理至少天数" in bad and "共 27 条" in bad  # the bad filter is named and ignored


def test_charts_escape_labels_and_flag_leverage_over_the_limit():
    from fractions import Fraction

    from console.charts import Leverage, Pair, exposure_chart, leverage_chart

    svg = exposure_chart([Pair("<x>&", 300_00, 100_00)], title="T", contingent_label="C", available_label="A")
    assert "&lt;x&gt;&amp;" in svg and "<x>" not in svg and "¥300.00" in svg
    over = leverage_chart([Leverage("S", Fraction(12), Fraction(10)), Leverage("N", None, None)],
                          title="L", used_label="U", limit_label="M")
    assert over.count('class="bar-over"') == 1 and "12.00× / 10×" in over and "— / —" in over


def test_the_queue_dates_claims_by_business_date(client, world):
    """Issue 17, one clock: the queue shows the claim's business date (申请日), the date
    its age counts from — not the wall-clock moment its row was written."""
    login(client, "reviewer")
    claimed_on = client.get(f"/api/v1/claims/{world.claim_id}", headers=world.tokens["reviewer"]).json["claimed_on"]
    html = client.get("/console/claims").get_data(as_text=True)
    row = html[html.index(f'data-claim="{world.claim_id}"'):]
    row = row[:row.index("</tr>")]
    assert f'data-claimed-on="{claimed_on}">{claimed_on}<' in row
    assert "<th>申请日</th>" in html and "<th>提交时间</th>" not in html
