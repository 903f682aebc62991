"""SPEC §4a "as of a date": balances at the end of a past business day from the journal's
effective dates and the loans' event history; past-period statements never change."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import subfunds

from .helpers import bearer


@pytest.fixture
def tokens(make_bank, make_user):
    return {"bank": bearer(make_bank("BANK-A")), "auditor": bearer(make_user("auditor", name="auditor")),
            "admin": bearer(make_user("fund_admin", name="admin"))}


def contribute(session, code, fen, on, ref):
    subfunds.contribute(session, code, amount=fen, received_on=on, reference=ref, actor="test")
    session.commit()


def read(client, tokens, code, as_of=None):
    r = client.get(f"/api/v1/subfunds/{code}" + (f"?as_of={as_of}" if as_of else ""), headers=tokens["auditor"])
    assert r.status_code == 200, r.json
    return r.json


def test_subfund_balances_as_of_a_past_day(client, tokens, make_subfund, session):
    make_subfund("GD-PROV", 1_000_000_00)                      # dated 2026-01-05
    contribute(session, "GD-PROV", 500_000_00, date(2026, 4, 20), "APR")
    contribute(session, "GD-PROV", 200_000_00, date(2026, 3, 10), "MAR")  # recorded later, dated earlier
    assert read(client, tokens, "GD-PROV", "2026-01-04")["available"] == "0.00"
    assert read(client, tokens, "GD-PROV", "2026-01-05")["available"] == "1000000.00"
    assert read(client, tokens, "GD-PROV", "2026-03-31")["available"] == "1200000.00"
    assert read(client, tokens, "GD-PROV", "2026-04-20")["available"] == "1700000.00"
    now = read(client, tokens, "GD-PROV")
    assert now["available"] == read(client, tokens, "GD-PROV", "2026-06-30")["available"] == "1700000.00"
    assert read(client, tokens, "GD-PROV", "2026-03-31")["as_of"] == "2026-03-31"
    from ledger.asof import check_closings

    assert check_closings(session) == []
    bad = client.get("/api/v1/subfunds/GD-PROV?as_of=2026-07-01", headers=tokens["auditor"])
    assert (bad.status_code, bad.json["code"]) == (422, "as_of_in_future")
    assert client.get("/api/v1/subfunds/GD-PROV?as_of=20260301", headers=tokens["auditor"]).status_code == 422


def test_reserved_and_paid_as_of(client, tokens, make_loan, make_user, session):
    # A claim approved and paid on the business date: the day before, nothing was held.
    reviewer, approver = bearer(make_user("reviewer")), bearer(make_user("approver"))
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00)
    cid = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                              "outstanding_principal": "3000000.00"},
                      headers={**tokens["bank"], "Idempotency-Key": "c"}).json["id"]
    client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "ok"}, headers=reviewer)
    assert client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=approver).status_code == 200
    today = read(client, tokens, "GD-PROV", "2026-06-30")
    before = read(client, tokens, "GD-PROV", "2026-06-29")
    assert (today["reserved"], before["reserved"]) == ("1050000.00", "0.00")
    assert before["available"] == "100000000.00"
    from ledger.asof import check_closings

    assert check_closings(session) == []


def test_bank_npl_as_of_from_the_loan_events(client, tokens, make_loan):
    a = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=9_000_000_00)
    b = make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    r = client.post(f"/api/v1/loans/{b.id}/events", json={"type": "default", "on": "2026-04-15"},
                    headers=tokens["bank"])
    assert r.status_code == 201, r.json
    r = client.post(f"/api/v1/loans/{a.id}/events", json={"type": "repayment", "on": "2026-05-10",
                                                           "amount": "1000000.00"}, headers=tokens["bank"])
    assert r.status_code == 201, r.json

    def npl(as_of):
        r = client.get(f"/api/v1/banks/BANK-A/npl?scheme=GD-KJD&as_of={as_of}", headers=tokens["auditor"])
        assert r.status_code == 200, r.json
        return r.json["npl_ratio"], r.json["outstanding"], r.json["registered"]

    assert npl("2026-03-31") == ("0.0000", "10000000.00", "10000000.00")
    assert npl("2026-04-30") == ("0.1000", "10000000.00", "10000000.00")   # 1,000,000 of 10,000,000
    assert npl("2026-05-31") == ("0.1111", "9000000.00", "10000000.00")    # 1,000,000 of 9,000,000
    assert npl("2026-01-14") == ("0.0000", "0.00", "0.00")                 # before registration


def test_a_past_period_statement_is_the_same_whenever_issued(client, tokens, make_subfund, session):
    make_subfund("GD-PROV", 1_000_000_00)
    contribute(session, "GD-PROV", 300_000_00, date(2026, 3, 12), "MAR")
    url = "/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-03-01&to=2026-03-31"
    march = client.get(url, headers=tokens["admin"])
    assert march.status_code == 200
    # April activity, and a movement recorded today: March does not change.
    contribute(session, "GD-PROV", 400_000_00, date(2026, 4, 3), "APR")
    contribute(session, "GD-PROV", 50_000_00, date(2026, 6, 30), "JUN")
    again = client.get(url, headers=tokens["admin"])
    assert again.headers["X-Statement-State-SHA256"] == march.headers["X-Statement-State-SHA256"]
    assert again.data == march.data
    assert read(client, tokens, "GD-PROV", "2026-03-31")["available"] == "1300000.00"


def test_verify_names_a_day_closing_that_disagrees_with_the_postings(make_subfund, session):
    # The as-of figures are a running store; `ledger-admin verify` re-derives it from postings.
    from sqlalchemy import update

    from ledger import verification
    from ledger.models import AccountDay

    make_subfund("GD-PROV", 1_000_000_00)
    contribute(session, "GD-PROV", 200_000_00, date(2026, 3, 10), "MAR")
    assert verification.run(session, only={"day_closings"}).ok
    session.execute(update(AccountDay).where(AccountDay.day == date(2026, 3, 10))
                    .values(closing=AccountDay.closing + 1_000_000_00))
    session.commit()
    result = verification.run(session, only={"day_closings"}).first("day_closings")
    assert not result.ok and "2026-03-10" in result.problem


def test_day_closings_follow_movements_recorded_out_of_date_order(make_subfund, session):
    """The latest day's closing is kept by the balance UPDATE's trigger, earlier days by
    the journal: movements dated on, after and before each account's latest day, on one
    account and on several at once (the id-ordered multi-account UPDATE), all agree
    with the closings re-derived from the postings."""
    from ledger import journal
    from ledger.asof import check_closings

    make_subfund("GD-PROV", 1_000_000_00)
    make_subfund("CITY-440700", 500_000_00)
    for fen, on, ref in [(100_00, date(2026, 4, 20), "A"), (200_00, date(2026, 3, 10), "B"),
                         (300_00, date(2026, 4, 20), "C"), (400_00, date(2026, 2, 1), "D"),
                         (500_00, date(2026, 5, 1), "E"), (600_00, date(2026, 3, 10), "F")]:
        contribute(session, "GD-PROV", fen, on, ref)
    available = {code: journal.get_account(session, f"subfund:{code}:available") for code in ("GD-PROV", "CITY-440700")}
    for fen, on in [(50_00, date(2026, 3, 1)), (70_00, date(2026, 5, 1)), (90_00, date(2026, 6, 1)),
                    (30_00, date(2026, 1, 20))]:
        journal.post_transaction(session, kind="transfer", effective_on=on,
                                 legs=[journal.credit(available["GD-PROV"], fen),
                                       journal.debit(available["CITY-440700"], fen)])
        session.commit()
    assert check_closings(session) == []
