"""Webhooks (SPEC §4a): registration, address checks, signed deliveries, retries, the log."""

from __future__ import annotations

import random
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ledger import events
from ledger.db import make_sessionmaker
from ledger.models import Bank, WebhookDelivery
from ledger.webhooks import UrlPolicy
from ledger.worker import Worker, WorkerSettings

from .helpers import bearer
from .receiver import receiver, verify


class Clock:
    """The worker's now, moved by the test instead of sleeping through back-off."""

    def __init__(self) -> None:
        # A minute ahead, so that what the test records before running the worker is due.
        self.now = datetime.now(timezone.utc) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def private(app):  # type: ignore[no-untyped-def]
    """The receiver listens on 127.0.0.1 over plain http: allow both, as tests must."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_REQUIRE_HTTPS=False)
    return app


@pytest.fixture
def bank(make_bank):  # type: ignore[no-untyped-def]
    return bearer(make_bank("BANK-A"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(engine, clock):  # type: ignore[no-untyped-def]
    worker = Worker(make_sessionmaker(engine), WorkerSettings(policy=UrlPolicy(allow_private=True, require_https=False),
                                                               timeout=5),
                    clock=clock, rng=random.Random(7))
    yield worker
    worker.close()


def register(client, headers, url, types=("*",)):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/webhooks", json={"url": url, "events": list(types)}, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def emit(session, type: str = "claim.approved", bank: str = "BANK-A", **data):  # type: ignore[no-untyped-def]
    bank_id = session.scalar(select(Bank.id).where(Bank.code == bank))
    row = events.record_event(session, type, bank_id, data)
    session.commit()
    return row


def deliveries(client, headers, hook_id, **query):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", query_string=query, headers=headers)
    assert r.status_code == 200, r.json
    return r.json["items"]


# -- registration ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook", "https://192.168.0.10/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://[fe80::1]/hook",
    "https://100.64.0.1/hook", "https://0.0.0.0/hook", "https://[::ffff:127.0.0.1]/hook",
])
def test_private_loopback_and_link_local_urls_are_refused(client, bank, url):
    r = client.post("/api/v1/webhooks", json={"url": url, "events": ["claim.paid"]}, headers=bank)
    assert r.status_code == 422 and r.json["code"] == "webhook_url_refused" and "url" in r.json["errors"], r.json


@pytest.mark.parametrize("url", ["http://93.184.216.34/hook", "ftp://93.184.216.34/x", "https://user:pw@93.184.216.34/",
                                 "not a url", "https:///nohost"])
def test_only_https_urls_without_credentials(client, bank, url):
    r = client.post("/api/v1/webhooks", json={"url": url, "events": ["claim.paid"]}, headers=bank)
    assert r.status_code == 422 and "url" in r.json["errors"], r.json


def test_a_public_url_is_registered_and_its_secret_shown_once(client, bank, session):
    hook = register(client, bank, "https://93.184.216.34/rcl", ["claim.paid", "claim.approved"])
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["claim.approved", "claim.paid"]
    again = client.get(f"/api/v1/webhooks/{hook['id']}", headers=bank).json
    assert "secret" not in again and again["url"] == "https://93.184.216.34/rcl"
    listed = client.get("/api/v1/webhooks", headers=bank).json["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and all("secret" not in h for h in listed)
    r = client.post("/api/v1/webhooks", json={"url": "https://93.184.216.34/", "events": ["claim.exploded"]}, headers=bank)
    assert r.status_code == 422 and r.json["code"] == "unknown_event_type" and "events" in r.json["errors"]


def test_another_bank_never_sees_a_webhook(client, bank, make_bank, private):
    hook = register(client, bank, "http://127.0.0.1:9/x")
    other = bearer(make_bank("BANK-B"))
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/ping"), ("POST", "/rotate-secret"),
                         ("GET", "/deliveries")):
        r = client.open(f"/api/v1/webhooks/{hook['id']}{path}", method=method, headers=other)
        assert (r.status_code, r.json["code"]) == (404, "webhook_not_found"), (method, path)
    assert client.get("/api/v1/webhooks", headers=other).json["items"] == []


# -- deliveries ---------------------------------------------------------------------------------


def test_deliveries_are_signed_and_verify_with_the_documented_algorithm(client, bank, session, private, worker):
    with receiver() as rx:
        hook = register(client, bank, rx.url, ["claim.approved", "claim.paid"])
        approved = emit(session, "claim.approved", claim_id=7, approved_amount="750000.00")
        emit(session, "claim.submitted", claim_id=8)  # not subscribed: not delivered
        paid = emit(session, "claim.paid", claim_id=7, payment_reference="PAY-1")
        assert worker.run_once() == 2
    assert [r.event["id"] for r in rx.requests] == [approved.public_id, paid.public_id]
    for request, row in zip(rx.requests, (approved, paid), strict=True):
        assert verify(hook["secret"], request.headers["X-RCL-Signature"], request.body)
        assert not verify("whsec_wrong", request.headers["X-RCL-Signature"], request.body)
        assert not verify(hook["secret"], request.headers["X-RCL-Signature"], request.body + b" ")
        assert request.headers["Idempotency-Key"] == row.public_id
        assert request.headers["Content-Type"] == "application/json"
        assert set(request.event) == {"id", "type", "occurred_at", "data"}
    assert rx.requests[1].event["data"] == {"claim_id": 7, "payment_reference": "PAY-1"}
    log = deliveries(client, bank, hook["id"])
    assert [(d["event_type"], d["status"], [a["status_code"] for a in d["attempts"]]) for d in log] == [
        ("claim.paid", "delivered", [200]), ("claim.approved", "delivered", [200])]
    assert all(a["latency_ms"] >= 0 for d in log for a in d["attempts"])


def test_a_receiver_failing_three_times_gets_the_event_once(client, bank, session, private, worker, clock):
    with receiver([500, 500, 500, 200]) as rx:
        hook = register(client, bank, rx.url)
        row = emit(session, "claim.paid", claim_id=1)
        for _ in range(4):
            worker.run_once()
            assert worker.run_once() == 0  # nothing more is due until the back-off has passed
            clock.advance(hours=3)
        assert worker.run_once() == 0
    assert [r.headers["Idempotency-Key"] for r in rx.requests] == [row.public_id] * 4
    assert list(rx.processed) == [row.public_id]  # the bank acted once
    [log] = deliveries(client, bank, hook["id"])
    assert log["status"] == "delivered"
    assert [a["status_code"] for a in log["attempts"]] == [500, 500, 500, 200]


def test_back_off_grows_with_jitter_and_gives_up_after_24_hours(client, bank, session, private, worker, clock,
                                                                 make_user, engine):
    with receiver([503]) as rx:
        hook = register(client, bank, rx.url)
        emit(session, "claim.paid", claim_id=1)
        start, waits = clock.now, []
        sessions = make_sessionmaker(engine)
        while True:
            worker.run_once()
            with sessions() as s:
                delivery = s.scalars(select(WebhookDelivery)).one()
            if delivery.status != "pending":
                break
            due = delivery.next_attempt_at.replace(tzinfo=timezone.utc)
            waits.append((due - clock.now).total_seconds())
            clock.now = due
    assert delivery.status == "failed"
    assert clock.now - start <= timedelta(hours=24)
    assert 15 <= waits[0] <= 30 and waits[3] > waits[0] * 2  # 30 s doubling, less a random part
    assert max(waits) <= 2 * 3600
    assert len(rx.requests) == len(waits) + 1 >= 10
    # Visible to the bank and to the bureau.
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=bank).json["failed"] == 1
    auditor = bearer(make_user("auditor"))
    assert client.get("/api/v1/webhooks", headers=auditor).json["items"][0]["failed"] == 1
    assert [d["status"] for d in deliveries(client, auditor, hook["id"], status="failed")] == ["failed"]


def test_an_unreachable_receiver_is_logged_without_a_status(client, bank, session, private, worker):
    with receiver() as rx:
        url = rx.url
    hook = register(client, bank, url)  # nothing listens there any more
    emit(session, "claim.paid", claim_id=1)
    worker.run_once()
    [log] = deliveries(client, bank, hook["id"])
    assert log["status"] == "pending" and log["attempts"][0]["status_code"] is None
    assert log["attempts"][0]["error"]


def test_rotation_signs_with_both_secrets_for_a_while(client, bank, session, private, worker):
    with receiver() as rx:
        hook = register(client, bank, rx.url)
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=bank)
        assert rotated.status_code == 200 and rotated.json["secret"] != hook["secret"]
        assert rotated.json["previous_secret_expires_at"]
        emit(session, "claim.paid", claim_id=1)
        worker.run_once()
    header = rx.requests[0].headers["X-RCL-Signature"]
    assert verify(rotated.json["secret"], header, rx.requests[0].body)
    assert verify(hook["secret"], header, rx.requests[0].body)


def test_ping_reaches_only_that_webhook(client, bank, session, private, worker):
    with receiver() as one, receiver() as two:
        first = register(client, bank, one.url, ["claim.paid"])
        register(client, bank, two.url, ["claim.paid"])
        r = client.post(f"/api/v1/webhooks/{first['id']}/ping", headers=bank)
        assert r.status_code == 202
        worker.run_once()
    assert [q.event["type"] for q in one.requests] == ["webhook.ping"] and two.requests == []
    assert one.requests[0].event["id"] == r.json["event_id"]


def test_a_deleted_webhook_gets_nothing_more(client, bank, session, private, worker):
    with receiver() as rx:
        hook = register(client, bank, rx.url)
        emit(session, "claim.paid", claim_id=1)
        assert worker.fan_out() == 1  # queued, not yet delivered
        assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bank).status_code == 204
        emit(session, "claim.paid", claim_id=2)
        assert worker.run_once() == 0
    assert rx.requests == []
    assert [d["status"] for d in deliveries(client, bank, hook["id"])] == ["cancelled"]
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=bank).json["deleted_at"]


def test_the_address_is_checked_again_at_delivery_and_the_connection_pinned(client, bank, session, app, worker,
                                                                            monkeypatch, engine):
    """DNS rebinding: a name public at registration that resolves to 127.0.0.1 later reaches nothing."""
    real = socket.getaddrinfo
    answers = {"hooks.bank.example": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    app.config.update(WEBHOOK_REQUIRE_HTTPS=False)
    with receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        hook = register(client, bank, f"http://hooks.bank.example:{port}/hooks/rcl")
        answers["hooks.bank.example"] = "127.0.0.1"
        emit(session, "claim.paid", claim_id=1)
        strict = Worker(make_sessionmaker(engine), WorkerSettings(policy=UrlPolicy(require_https=False)))
        strict.run_once()
        strict.close()
        assert rx.requests == []
        [log] = deliveries(client, bank, hook["id"])
        assert log["attempts"][0]["status_code"] is None and "127.0.0.1" in log["attempts"][0]["error"]
        # Allowed private targets: the worker connects to the address it checked,
        # and the receiver still sees the URL's host name.
        worker.clock.advance(hours=1)
        worker.run_once()
    assert rx.requests[0].headers["Host"] == f"hooks.bank.example:{port}"
