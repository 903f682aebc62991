"""The bureau's actions through the console's forms: the same services as the API,
readable refusals, and nothing committed when a service refuses (issue 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ledger.models import Claim, Clawback

from ..helpers import row_counts as _row_counts
from .conftest import EXAMPLE_2, api_approve, api_pay, api_review, claim_status, login, post_form, submit_claim


def row_counts(session):  # type: ignore[no-untyped-def]
    """(transactions, postings, audit entries) as committed now (not the session's snapshot)."""
    session.rollback()
    return _row_counts(session)


def act(client, world, action: str, data: dict | None = None) -> str:  # type: ignore[no-untyped-def]
    """Post an action's form from the claim page; the page shown after the redirect."""
    page = f"/console/claims/{world.claim_id}"
    r = post_form(client, page, f"{page}/{action}", data)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_review_approve_pay_clawback_through_the_forms(client, world, session):
    login(client, "reviewer")
    page = act(client, world, "review", {"recommendation": "approve", "comment": "材料齐全"})
    assert "已提交对理赔" in page and claim_status(session, world.claim_id) == "reviewed"
    login(client, "approver")
    before = row_counts(session)
    page = act(client, world, "approve")
    assert "已预留 ¥2,100,000.00" in page and claim_status(session, world.claim_id) == "approved"
    after = row_counts(session)
    # One journal transaction reserves every payer line (3 lines: available -> reserved), committed.
    assert (after[0] - before[0], after[1] - before[1]) == (1, 6)
    login(client, "admin")
    page = act(client, world, "pay", {"payment_reference": "PAY-2026-001", "paid_on": "2026-06-30"})
    assert "已记录支付" in page and claim_status(session, world.claim_id) == "paid"
    login(client, "approver")
    page = act(client, world, "clawback", {"amount": "100000.00", "reason": "企业不符合条件"})
    assert "追缴 ¥100,000.00" in page
    session.rollback()
    assert session.scalar(select(Clawback.amount)) == 100_000_00


def test_approve_less_with_a_reason_is_a_repair(client, world, session):
    api_review(client, world)
    login(client, "approver")
    page = act(client, world, "approve", {"amount": "2000000.00", "reason": "抵押物已处置部分"})
    assert "¥2,000,000.00" in page
    session.rollback()
    claim = session.get(Claim, world.claim_id)
    assert claim.approved_amount == 2_000_000_00
    assert "审批调减" in page  # the repair step, in plain Chinese


@pytest.mark.parametrize(("data", "message"), [
    ({"amount": "1000000.00"}, "调减，须填写理由"),
    ({"amount": "9000000.00", "reason": "x"}, "不得高于"),
    ({"amount": "1.005", "reason": "x"}, "金额最多两位小数"),
    ({"amount": "abc", "reason": "x"}, "金额"),
])
def test_refused_approvals_say_why_and_commit_nothing(client, world, session, data, message):
    api_review(client, world)
    login(client, "approver")
    before = row_counts(session)
    page = act(client, world, "approve", data)
    assert message in page, page
    assert "Traceback" not in page
    assert claim_status(session, world.claim_id) == "reviewed"
    assert row_counts(session) == before  # no journal transaction, posting or audit entry


def test_four_eyes(client, world, session):
    login(client, "both")
    act(client, world, "review", {"recommendation": "approve", "comment": "同意"})
    page = act(client, world, "approve")
    assert "四眼原则" in page
    assert claim_status(session, world.claim_id) == "reviewed"


def test_invalid_transition_is_a_sentence(client, world, session):
    login(client, "approver")
    page = act(client, world, "approve")  # still submitted: not reviewed yet
    assert "理赔当前状态为「已提交」，不能执行此操作" in page
    post_form(client, "/console/claims", "/console/lang", {"lang": "en"})
    page = act(client, world, "approve")
    assert "The claim is submitted: this action is not possible in that state." in page


def test_missing_fields_are_named(client, world):
    login(client, "reviewer")
    page = act(client, world, "review", {"recommendation": "approve"})
    assert "意见：必填" in page


class TestStarvedSubFund:
    @pytest.fixture
    def subfund_funding(self):  # type: ignore[no-untyped-def]
        from tests.conftest import SPEC_SUBFUNDS

        funding = {code: 100_000_000_00 for code in SPEC_SUBFUNDS}
        funding["CITY-440700"] = 100_000_00  # 100,000.00: short of its 630,000.00 line
        return funding

    def test_insufficient_funds_reserves_nothing(self, client, world, session):
        api_review(client, world)
        login(client, "approver")
        before = row_counts(session)
        page = act(client, world, "approve")
        assert "子基金 CITY-440700 可用余额不足，尚缺 ¥530,000.00；未预留任何资金。" in page
        assert claim_status(session, world.claim_id) == "reviewed"
        assert row_counts(session) == before  # not even an audit entry
        dashboard = client.get("/console/subfunds").get_data(as_text=True)
        assert "¥100,000.00" in dashboard and "¥1,050,000.00" not in dashboard


class TestSuspendedBank:
    def test_bank_compensation_suspended(self, client, make_bank, make_user, make_loan, set_password, session):
        from tests.helpers import bearer

        from .conftest import World

        tokens = {"bank": bearer(make_bank("BANK-A")), "reviewer": bearer(make_user("reviewer", name="reviewer"))}
        make_user("approver", name="approver")
        set_password("approver")
        loan = make_loan("BANK-A", **EXAMPLE_2)  # the bank's whole book defaults: NPL ratio 1
        world = World(tokens, submit_claim(client, tokens, loan.id))
        api_review(client, world)
        login(client, "approver")
        page = act(client, world, "approve")
        assert "暂停补偿阈值 0.05" in page
        assert claim_status(session, world.claim_id) == "reviewed"


def test_reject_and_pay_twice(client, world, session, make_loan):
    api_review(client, world)
    api_approve(client, world)
    api_pay(client, world)
    login(client, "admin")
    page = act(client, world, "pay", {"payment_reference": "PAY-OTHER", "paid_on": "2026-06-30"})
    assert "不能执行此操作" in page
    second = submit_claim(client, world.tokens, make_loan("BANK-A", **EXAMPLE_2).id, key="k-2")
    login(client, "approver")
    page = post_form(client, f"/console/claims/{second}", f"/console/claims/{second}/reject",
                     {"reason": "材料不全"}).get_data(as_text=True)
    assert "已驳回" in page and claim_status(session, second) == "rejected"


def test_buttons_follow_role_and_state(client, world):
    page = f"/console/claims/{world.claim_id}"
    login(client, "reviewer")
    html = client.get(page).get_data(as_text=True)
    assert 'id="form-review"' in html and 'id="form-approve"' not in html
    login(client, "approver")
    html = client.get(page).get_data(as_text=True)
    assert 'id="form-review"' not in html and 'id="form-reject"' in html and 'id="form-approve"' not in html
    api_review(client, world)
    html = client.get(page).get_data(as_text=True)
    assert 'id="form-approve"' in html and 'data-confirm=' in html
    # The placeholder is something the field itself accepts (issue 17: not "¥600,000.00").
    import re

    field = re.search(r'<input name="amount"[^>]*>', html).group(0)
    placeholder = re.search(r'placeholder="([^"]*)"', field).group(1)
    pattern = re.search(r'pattern="([^"]*)"', field).group(1)
    assert placeholder == "2100000.00" and re.fullmatch(pattern, placeholder)
    login(client, "auditor")
    html = client.get(page).get_data(as_text=True)
    assert 'class="action' not in html


def test_unknown_claim_is_an_html_404(client, world):
    login(client, "auditor")
    r = client.get("/console/claims/9999")
    assert r.status_code == 404 and "text/html" in r.content_type and "未找到该理赔" in r.get_data(as_text=True)
    r = client.get("/console/no-such-page")
    assert r.status_code == 404 and "text/html" in r.content_type
