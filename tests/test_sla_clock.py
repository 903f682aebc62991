"""SPEC §4a SLA clock: decide_by = (re)submission date + decision_days; the queue filters
and sorts by it and marks overdue claims."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from ledger.models import Claim

from .helpers import bearer


@pytest.fixture
def rule_overrides():
    return {"claims": {"decision_days": 30}}


@pytest.fixture
def world(make_bank, make_user, make_loan):
    tokens = {"bank": bearer(make_bank("BANK-A")), "reviewer": bearer(make_user("reviewer", name="reviewer")),
              "auditor": bearer(make_user("auditor", name="auditor"))}
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    return tokens


def _submit(client, world, make_loan, key):
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    r = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                            "outstanding_principal": "1000000.00"},
                    headers={**world["bank"], "Idempotency-Key": key})
    assert r.status_code == 201, r.json
    return r.json


def _backdate(session, claim_id, claimed_on):
    # As if submitted earlier: the clock is claimed_on + 30 days.
    session.execute(update(Claim).where(Claim.id == claim_id).values(
        claimed_on=claimed_on, decide_by=date.fromordinal(claimed_on.toordinal() + 30)))
    session.commit()


def test_decide_by_is_submission_plus_decision_days(client, world, make_loan):
    claim = _submit(client, world, make_loan, "a")
    # The suite's business date is 2026-06-30.
    assert (claim["claimed_on"], claim["decide_by"], claim["overdue"]) == ("2026-06-30", "2026-07-30", False)


def test_resubmission_restarts_the_clock(app, client, world, make_loan, session):
    claim = _submit(client, world, make_loan, "a")
    _backdate(session, claim["id"], date(2026, 5, 1))
    r = client.post(f"/api/v1/claims/{claim['id']}/review", json={"recommendation": "return", "comment": "补充材料"},
                    headers=world["reviewer"])
    assert r.json["status"] == "returned" and r.json["overdue"] is False  # with the bank: the clock is stopped
    r = client.put(f"/api/v1/claims/{claim['id']}", json={"default_on": "2026-03-01",
                                                          "outstanding_principal": "1000000.00"},
                   headers=world["bank"])
    assert r.status_code == 200, r.json
    assert (r.json["claimed_on"], r.json["decide_by"]) == ("2026-06-30", "2026-07-30")


def test_queue_marks_filters_and_sorts_by_the_clock(client, world, make_loan, session):
    late = _submit(client, world, make_loan, "late")
    on_time = _submit(client, world, make_loan, "on-time")
    due_today = _submit(client, world, make_loan, "due-today")
    _backdate(session, late["id"], date(2026, 5, 1))       # due 2026-05-31: overdue
    _backdate(session, due_today["id"], date(2026, 5, 31))  # due 2026-06-30: due today, not overdue yet
    read = lambda q: client.get(f"/api/v1/claims?{q}", headers=world["auditor"]).json["items"]  # noqa: E731
    items = {c["id"]: c for c in read("")}
    assert items[late["id"]]["overdue"] is True
    assert items[due_today["id"]]["overdue"] is False and items[on_time["id"]]["overdue"] is False
    assert [c["id"] for c in read("overdue=true")] == [late["id"]]
    assert {c["id"] for c in read("overdue=false")} == {on_time["id"], due_today["id"]}
    assert [c["id"] for c in read("sort=decide_by")] == [late["id"], due_today["id"], on_time["id"]]
    assert [c["id"] for c in read("sort=-decide_by")] == [on_time["id"], due_today["id"], late["id"]]
    assert [c["id"] for c in read("decide_by_before=2026-06-30")] == [late["id"], due_today["id"]]
    bad = client.get("/api/v1/claims?sort=deadline", headers=world["auditor"])
    assert bad.status_code == 422 and "sort" in bad.json["errors"]


def test_a_decided_claim_is_never_overdue(client, world, make_loan, session):
    claim = _submit(client, world, make_loan, "a")
    _backdate(session, claim["id"], date(2026, 4, 1))
    client.post(f"/api/v1/claims/{claim['id']}/withdraw", json={"reason": "repaid after all"}, headers=world["bank"])
    assert client.get(f"/api/v1/claims/{claim['id']}", headers=world["auditor"]).json["overdue"] is False
