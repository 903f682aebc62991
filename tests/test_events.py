"""The event feed (SPEC §4a): a bank's own events, in commit order, with a stable cursor."""

from __future__ import annotations

import base64
import random
import threading
import time

import pytest
from sqlalchemy import select

from ledger import events
from ledger.db import make_engine, make_sessionmaker
from ledger.models import Bank

from .helpers import bearer


def _bank_id(session, code: str) -> int:
    return session.scalar(select(Bank.id).where(Bank.code == code))


def _page(client, token, after=None, limit=100, **params):
    query = {"limit": limit, **params}
    if after:
        query["after"] = after
    r = client.get("/api/v1/events", query_string=query, headers=bearer(token))
    assert r.status_code == 200, r.json
    return r.json


def test_a_bank_reads_only_its_own_events_and_the_bureau_reads_all(client, session, make_bank, make_user):
    bank_a, bank_b = make_bank("BANK-A"), make_bank("BANK-B")
    auditor, reviewer = make_user("auditor"), make_user("reviewer")
    a, b = _bank_id(session, "BANK-A"), _bank_id(session, "BANK-B")
    events.record_event(session, "claim.approved", a, {"claim_id": 1})
    events.record_event(session, "claim.paid", b, {"claim_id": 2})
    events.record_event(session, "statement.issued", None, {"number": "S-1"})
    session.commit()

    assert [e["data"] for e in _page(client, bank_a)["items"]] == [{"claim_id": 1}]
    assert [e["data"] for e in _page(client, bank_b)["items"]] == [{"claim_id": 2}]
    for token in (auditor, reviewer):
        assert [e["type"] for e in _page(client, token)["items"]] == ["claim.approved", "claim.paid", "statement.issued"]
    item = _page(client, bank_a)["items"][0]
    assert set(item) == {"cursor", "id", "type", "occurred_at", "data"} and item["id"].startswith("evt_")


def test_a_client_storing_the_cursor_neither_misses_nor_repeats(client, session, make_bank):
    token = make_bank("BANK-A")
    a = _bank_id(session, "BANK-A")
    for n in range(5):
        events.record_event(session, "claim.submitted", a, {"n": n})
    session.commit()
    first = _page(client, token, limit=2)
    second = _page(client, token, after=first["next"], limit=2)
    third = _page(client, token, after=second["next"], limit=2)
    assert [e["data"]["n"] for page in (first, second, third) for e in page["items"]] == [0, 1, 2, 3, 4]
    # Nothing new: an empty page whose next is the cursor given, to poll again later.
    idle = _page(client, token, after=third["next"])
    assert idle["items"] == [] and idle["next"] == third["next"]
    events.record_event(session, "claim.paid", a, {"n": 5})
    session.commit()
    assert [e["data"]["n"] for e in _page(client, token, after=idle["next"])["items"]] == [5]
    # The same cursor always gives the same page (stable), and an item's cursor resumes after it.
    assert _page(client, token, after=first["next"], limit=2) == second
    assert _page(client, token, after=first["items"][0]["cursor"], limit=1)["items"] == [first["items"][1]]


def test_type_filter_and_bad_cursor(client, session, make_bank):
    token = make_bank("BANK-A")
    a = _bank_id(session, "BANK-A")
    events.record_event(session, "claim.submitted", a, {})
    events.record_event(session, "claim.paid", a, {})
    session.commit()
    assert [e["type"] for e in _page(client, token, type="claim.paid")["items"]] == ["claim.paid"]
    forged = base64.urlsafe_b64encode(b"rcl-ev:-1").decode()
    for bad in ("nonsense", "MTIz", forged, "=" * 4, "!!"):
        r = client.get("/api/v1/events", query_string={"after": bad}, headers=bearer(token))
        assert r.status_code == 422 and "after" in r.json["errors"], (bad, r.json)
    r = client.get("/api/v1/events", query_string={"type": "claim.exploded"}, headers=bearer(token))
    assert r.status_code == 422 and r.json["errors"]
    assert client.get("/api/v1/events").status_code == 401


def test_an_event_rolled_back_with_its_change_never_appears(client, session, make_bank):
    token = make_bank("BANK-A")
    a = _bank_id(session, "BANK-A")
    events.record_event(session, "claim.submitted", a, {"kept": False})
    session.rollback()
    events.record_event(session, "claim.submitted", a, {"kept": True})
    session.commit()
    assert [e["data"] for e in _page(client, token)["items"]] == [{"kept": True}]


@pytest.mark.postgresql
def test_transactions_committing_out_of_id_order_are_read_in_commit_order(pg_url):
    """Two changes: the one that took the lower id commits last. A reader that already
    paged past the first committed must still get it (claims, loans… are such changes)."""
    from ledger import auth

    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            auth.create_bank(s, "BANK-A", "A", actor="test")
            s.commit()
            bank_id = _bank_id(s, "BANK-A")
        written, release = threading.Event(), threading.Event()

        def slow() -> None:
            with sessions() as s:
                user, _ = auth.create_user(s, "slow", ["auditor"], actor="test")  # takes the lower id
                events.record_event(s, "claim.submitted", bank_id, {"user_id": user.id})
                written.set()
                release.wait(10)
                s.commit()

        thread = threading.Thread(target=slow)
        thread.start()
        assert written.wait(10)
        with sessions() as s:
            user, _ = auth.create_user(s, "fast", ["auditor"], actor="test")
            events.record_event(s, "claim.paid", bank_id, {"user_id": user.id})
            s.commit()
        with sessions() as s:
            seen = events.feed(s, bank_id=bank_id)
            assert [e.type for e in seen] == ["claim.paid"]
            cursor = seen[-1].position
        release.set()
        thread.join(10)
        with sessions() as s:
            later = events.feed(s, bank_id=bank_id, after=cursor)
            assert [e.type for e in later] == ["claim.submitted"]
            assert later[0].data["user_id"] < seen[0].data["user_id"]  # out of id order, not missed
    finally:
        engine.dispose()


@pytest.mark.postgresql
def test_a_poller_racing_many_writers_sees_every_event_once_in_order(pg_url):
    engine = make_engine(pg_url, pool_size=12)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as s:
            from ledger import auth

            auth.create_bank(s, "BANK-A", "A", actor="test")
            s.commit()
            bank_id = _bank_id(s, "BANK-A")
        writers, per_writer = 6, 15
        done = threading.Event()
        errors: list[BaseException] = []

        def write(w: int) -> None:
            rng = random.Random(w)
            try:
                for n in range(per_writer):
                    with sessions() as s:
                        for k in range(rng.randint(1, 3)):
                            events.record_event(s, "claim.submitted", bank_id, {"w": w, "n": n, "k": k})
                        time.sleep(rng.random() * 0.01)  # hold the transaction open a little: ids interleave
                        s.commit()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        seen: list[tuple[int, str]] = []

        def poll() -> None:
            after = 0
            while True:
                finished = done.is_set()
                with sessions() as s:
                    page = events.feed(s, bank_id=bank_id, after=after, limit=50)
                    seen.extend((e.position, e.public_id) for e in page)
                    if page:
                        after = page[-1].position
                if finished and not page:
                    return

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        poller = threading.Thread(target=poll)
        poller.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        done.set()
        poller.join(60)
        assert not errors
        with sessions() as s:
            everything = [(e.position, e.public_id) for e in events.feed(s, bank_id=bank_id, limit=10_000)]
        assert seen == everything  # every event, once, in position order
        assert [p for p, _ in everything] == list(range(1, len(everything) + 1))  # no gaps
    finally:
        engine.dispose()
