"""A claim's life as the bank's events (SPEC §4a), and approve + pay as signed webhook deliveries."""

from __future__ import annotations

import random

import pytest

from ledger.db import make_sessionmaker
from ledger.webhooks import UrlPolicy
from ledger.worker import Worker, WorkerSettings

from .helpers import bearer
from .receiver import receiver, verify

EXAMPLE_2 = {"region": "440703", "categories": ["tech_sme", "agri_tech"], "principal": 3_000_000_00}


@pytest.fixture
def world(make_bank, make_user, make_loan):  # type: ignore[no-untyped-def]
    tokens = {"bank": bearer(make_bank("BANK-A")), "other": bearer(make_bank("BANK-B")),
              "reviewer": bearer(make_user("reviewer")), "approver": bearer(make_user("approver")),
              "admin": bearer(make_user("fund_admin")), "auditor": bearer(make_user("auditor"))}
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)  # a performing book
    return tokens


def _ok(response, status=200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.json
    return response.json


def _submit(client, world, loan_id, key):  # type: ignore[no-untyped-def]
    return _ok(client.post("/api/v1/claims", json={"loan_id": loan_id, "default_on": "2026-03-01",
                                                   "outstanding_principal": "3000000.00"},
                           headers={**world["bank"], "Idempotency-Key": key}), 201)["id"]


def _feed(client, token):  # type: ignore[no-untyped-def]
    return _ok(client.get("/api/v1/events", headers=token))["items"]


def test_every_transition_the_bank_reacts_to_is_in_its_feed(client, world, make_loan):
    loan = make_loan("BANK-A", **EXAMPLE_2)
    claim = _submit(client, world, loan.id, "k-1")
    _ok(client.post(f"/api/v1/claims/{claim}/review", json={"recommendation": "return", "comment": "缺借据"},
                    headers=world["reviewer"]))
    _ok(client.put(f"/api/v1/claims/{claim}", json={"default_on": "2026-03-01", "outstanding_principal": "2900000.00"},
                   headers=world["bank"]))
    _ok(client.post(f"/api/v1/claims/{claim}/review", json={"recommendation": "approve", "comment": "ok"},
                    headers=world["reviewer"]))
    _ok(client.post(f"/api/v1/claims/{claim}/approve", json={}, headers=world["approver"]))
    _ok(client.post(f"/api/v1/claims/{claim}/pay", json={"payment_reference": "PAY-1", "paid_on": "2026-06-30"},
                    headers=world["admin"]))
    _ok(client.post(f"/api/v1/claims/{claim}/recoveries", json={"amount": "100000.00", "recovered_on": "2026-06-30"},
                    headers={**world["bank"], "Idempotency-Key": "r-1"}), 201)
    _ok(client.post(f"/api/v1/claims/{claim}/clawback", json={"amount": "1000.00", "reason": "不符合条件"},
                    headers=world["approver"]), 201)
    second = _submit(client, world, make_loan("BANK-A", **EXAMPLE_2).id, "k-2")
    _ok(client.post(f"/api/v1/claims/{second}/withdraw", json={"reason": "已收回"}, headers=world["bank"]))
    third = _submit(client, world, make_loan("BANK-A", **EXAMPLE_2).id, "k-3")
    _ok(client.post(f"/api/v1/claims/{third}/reject", json={"reason": "材料不实"}, headers=world["approver"]))

    feed = _feed(client, world["bank"])
    assert [(e["type"], e["data"]["claim_id"]) for e in feed] == [
        ("claim.submitted", claim), ("claim.returned", claim), ("claim.resubmitted", claim),
        ("claim.reviewed", claim), ("claim.approved", claim), ("claim.paid", claim), ("recovery.recorded", claim),
        ("claim.clawed_back", claim), ("claim.submitted", second), ("claim.withdrawn", second),
        ("claim.submitted", third), ("claim.rejected", third)]
    by_type = {e["type"]: e["data"] for e in feed if e["data"]["claim_id"] == claim}
    assert by_type["claim.returned"]["reason"] == "缺借据"
    assert by_type["claim.approved"]["status"] == "approved" and by_type["claim.approved"]["approved_amount"]
    assert by_type["claim.paid"]["payment_reference"] == "PAY-1" and by_type["claim.paid"]["paid_on"] == "2026-06-30"
    assert by_type["recovery.recorded"]["amount"] == "100000.00"
    assert by_type["claim.clawed_back"]["amount"] == "1000.00"
    assert by_type["claim.submitted"]["loan_external_id"] == loan.external_id
    assert _feed(client, world["other"]) == []  # another bank learns nothing
    assert len(_feed(client, world["auditor"])) == len(feed)


def test_a_refused_transition_writes_no_event(client, world, make_loan):
    loan = make_loan("BANK-A", **EXAMPLE_2)
    claim = _submit(client, world, loan.id, "k-1")
    r = client.post(f"/api/v1/claims/{claim}/approve", json={}, headers=world["approver"])  # not reviewed yet
    assert r.status_code == 409
    assert [e["type"] for e in _feed(client, world["bank"])] == ["claim.submitted"]


def test_approve_and_pay_arrive_as_two_signed_deliveries(client, world, make_loan, app, engine):
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_REQUIRE_HTTPS=False)
    loan = make_loan("BANK-A", **EXAMPLE_2)
    worker = Worker(make_sessionmaker(engine), WorkerSettings(policy=UrlPolicy(allow_private=True, require_https=False)),
                    rng=random.Random(1))
    with receiver() as rx:
        hook = _ok(client.post("/api/v1/webhooks", json={"url": rx.url, "events": ["claim.approved", "claim.paid"]},
                               headers=world["bank"]), 201)
        claim = _submit(client, world, loan.id, "k-1")
        _ok(client.post(f"/api/v1/claims/{claim}/review", json={"recommendation": "approve", "comment": "ok"},
                        headers=world["reviewer"]))
        _ok(client.post(f"/api/v1/claims/{claim}/approve", json={}, headers=world["approver"]))
        _ok(client.post(f"/api/v1/claims/{claim}/pay", json={"payment_reference": "PAY-1", "paid_on": "2026-06-30"},
                        headers=world["admin"]))
        assert worker.run_once() == 2
    worker.close()
    assert [r.event["type"] for r in rx.requests] == ["claim.approved", "claim.paid"]
    for request in rx.requests:
        assert verify(hook["secret"], request.headers["X-RCL-Signature"], request.body)
        assert request.event["data"]["claim_id"] == claim
        assert request.headers["Idempotency-Key"] == request.event["id"]
    assert rx.requests[1].event["data"]["approved_amount"] == "2100000.00"
    # The same events, with the same ids, are in the feed.
    feed_ids = {e["id"] for e in _feed(client, world["bank"]) if e["type"] in ("claim.approved", "claim.paid")}
    assert feed_ids == {r.event["id"] for r in rx.requests}
