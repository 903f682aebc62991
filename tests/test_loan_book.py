"""The loan book's running figures per (scheme, bank) (issue 13): registration's pool
capacity and NPL checks read them, so every change of a loan must move them, and
``verify`` must notice when they no longer match the loans.

World: GD-KJD's example rules, SPEC §3.3's five sub-funds of 1,000,000.00 each, two
banks, business date 2026-06-30.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, update

from ledger import verification
from ledger.db import make_engine, make_sessionmaker
from ledger.loans import book, npl_figures
from ledger.migrate import downgrade, upgrade
from ledger.models import Bank, LoanBookTotals, Scheme

from .factories import (
    credit_code,
    fund_spec_subfunds,
    loan_body,
    loan_event,
    publish_example_rules,
    register_enterprise,
)
from .helpers import bearer


@pytest.fixture
def banks(session, make_subfund, make_bank, client):
    publish_example_rules(session)
    fund_spec_subfunds(make_subfund)
    tokens = {}
    for n, code in enumerate(("BANK-A", "BANK-B"), start=1):
        tokens[code] = make_bank(code)
        register_enterprise(client, tokens[code], n)
    return tokens


def post_loan(client, token, n, bank_n=1, **overrides):
    r = client.post("/api/v1/loans", json=loan_body(n, credit_code=credit_code(bank_n), **overrides),
                    headers=bearer(token))
    assert r.status_code == 201, r.json
    return r.json["id"]


def stored(session) -> dict[tuple[int, int], tuple[int, int, int]]:
    session.rollback()  # a fresh snapshot: the app committed in its own sessions
    return {(r.scheme_id, r.bank_id): (r.live_outstanding, r.npl_outstanding, r.book_outstanding)
            for r in session.scalars(select(LoanBookTotals))}


def assert_in_step(session) -> None:
    assert stored(session) == book.recomputed(session)
    assert verification.run(session, only={"loan_book"}).ok


def ids(session, *codes):
    scheme = session.scalar(select(Scheme.id).where(Scheme.code == "GD-KJD"))
    return scheme, {code: session.scalar(select(Bank.id).where(Bank.code == code))
                    for code in codes or ("BANK-A", "BANK-B")}


def test_registration_and_every_loan_event_move_the_figures(client, banks, session):
    a, b = banks["BANK-A"], banks["BANK-B"]
    loans = [post_loan(client, a, n, principal="1000000.00") for n in range(1, 6)]
    post_loan(client, b, 6, bank_n=2, principal="2500000.00")
    scheme, bank = ids(session)
    assert stored(session) == {(scheme, bank["BANK-A"]): (5_000_000_00, 0, 5_000_000_00),
                               (scheme, bank["BANK-B"]): (2_500_000_00, 0, 2_500_000_00)}
    assert loan_event(client, a, loans[0], "repayment", amount="100000.00").status_code == 201
    assert loan_event(client, a, loans[1], "default", on="2026-06-25", amount="800000.00").status_code == 201
    assert loan_event(client, a, loans[2], "repaid").status_code == 201
    assert loan_event(client, a, loans[3], "cancel").status_code == 201
    # live: 900,000 + 800,000 (defaulted) + 1,000,000; NPL: the defaulted 800,000.
    assert stored(session)[(scheme, bank["BANK-A"])] == (2_700_000_00, 800_000_00, 2_700_000_00)
    assert npl_figures(session, bank["BANK-A"], scheme) == (800_000_00, 2_700_000_00)
    assert_in_step(session)


def test_claims_moving_a_loan_move_the_figures(client, make_bank, make_user, make_loan, session, gd_scheme):
    token = bearer(make_bank("BANK-A"))
    reviewer, approver = bearer(make_user("reviewer", name="r1")), bearer(make_user("approver", name="a1"))
    admin = bearer(make_user("fund_admin", name="f1"))
    make_loan("BANK-A", region="440106", categories=["tech_sme"], principal=500_000_000_00)
    loan = make_loan("BANK-A", region="440703", categories=["tech_sme", "agri_tech"], principal=3_000_000_00,
                     outstanding=2_000_000_00)
    key = (loan.scheme_id, loan.bank_id)
    assert_in_step(session)
    claim = client.post("/api/v1/claims", json={"loan_id": loan.id, "default_on": "2026-03-01",
                                                "outstanding_principal": "2000000.00"},
                        headers={**token, "Idempotency-Key": "c-1"})
    assert claim.status_code == 201, claim.json
    # active -> claimed (through a default): non-performing now, still live.
    assert stored(session)[key] == (502_000_000_00, 2_000_000_00, 502_000_000_00)
    cid = claim.json["id"]
    assert client.post(f"/api/v1/claims/{cid}/review", json={"recommendation": "approve", "comment": "材料齐全"},
                       headers=reviewer).status_code == 200
    r = client.post(f"/api/v1/claims/{cid}/approve", json={}, headers=approver)
    assert r.status_code == 200, r.json
    assert stored(session)[key] == (502_000_000_00, 2_000_000_00, 502_000_000_00)
    r = client.post(f"/api/v1/claims/{cid}/pay", json={"payment_reference": "PAY-1", "paid_on": "2026-06-30"},
                    headers=admin)
    assert r.status_code == 200, r.json
    # claimed -> compensated: out of the pool's exposure, still non-performing on the books.
    assert stored(session)[key] == (500_000_000_00, 2_000_000_00, 502_000_000_00)
    assert_in_step(session)


def test_verify_names_the_first_scheme_and_bank_whose_figures_differ(client, banks, session):
    post_loan(client, banks["BANK-A"], 1)
    post_loan(client, banks["BANK-B"], 2, bank_n=2)
    assert_in_step(session)
    scheme, bank = ids(session)
    session.execute(update(LoanBookTotals).where(LoanBookTotals.bank_id == bank["BANK-B"])
                    .values(npl_outstanding=LoanBookTotals.npl_outstanding + 1))
    session.commit()
    result = verification.run(session, only={"loan_book"}).first("loan_book")
    assert (result.ok, result.checked, result.problems) == (False, 2, 1)
    assert result.problem == ("loan book of bank BANK-B in scheme GD-KJD: npl_outstanding stored 0.01, loans 0.00")
    session.execute(update(LoanBookTotals).where(LoanBookTotals.bank_id == bank["BANK-A"])
                    .values(live_outstanding=LoanBookTotals.live_outstanding - 100))
    session.commit()
    result = verification.run(session, only={"loan_book"}).first("loan_book")
    assert result.problems == 2
    assert result.problem == ("loan book of bank BANK-A in scheme GD-KJD: live_outstanding stored 999999.00, "
                              "loans 1000000.00")
    # A missing row is a problem too.
    session.execute(LoanBookTotals.__table__.delete().where(LoanBookTotals.bank_id == bank["BANK-A"]))
    session.commit()
    assert verification.run(session, only={"loan_book"}).first("loan_book").problem.startswith(
        "loan book of bank BANK-A in scheme GD-KJD: no running figures, the loans sum to live_outstanding 1000000.00")


def test_the_registration_checks_read_the_running_figures(client, banks, session):
    """Tampered figures change the answer: proof that registration no longer sums the loans."""
    a = banks["BANK-A"]
    post_loan(client, a, 1)
    scheme, bank = ids(session)
    session.execute(update(LoanBookTotals).where(LoanBookTotals.bank_id == bank["BANK-A"])
                    .values(live_outstanding=50_000_000_00))
    session.commit()
    r = client.post("/api/v1/loans", json=loan_body(2, credit_code=credit_code(1)), headers=bearer(a))
    assert {d["code"] for d in r.json["details"]} == {"pool_capacity_exceeded"}
    session.execute(update(LoanBookTotals).where(LoanBookTotals.bank_id == bank["BANK-A"])
                    .values(live_outstanding=1_000_000_00, npl_outstanding=1_000_000_00))
    session.commit()
    r = client.post("/api/v1/loans", json=loan_body(2, credit_code=credit_code(1)), headers=bearer(a))
    assert {d["code"] for d in r.json["details"]} == {"bank_suspended"}


def _world_with_loans(engine) -> None:
    from ledger import auth, enterprises, subfunds
    from ledger.loans import LoanRequest, record_event, register_loan

    from .factories import SPEC_SUBFUNDS

    with make_sessionmaker(engine)() as session:
        publish_example_rules(session)
        for code, owner_type, region in SPEC_SUBFUNDS:
            subfunds.create_subfund(session, code=code, name=code, owner_type=owner_type, region=region, actor="t")
            subfunds.contribute(session, code, amount=1_000_000_00, received_on=date(2026, 1, 5),
                                reference=f"OPEN-{code}", actor="t")
        for n in (1, 2):
            bank, _token = auth.create_bank(session, f"BANK-{n}", f"银行{n}", actor="t")
            enterprises.register_enterprise(session, bank_id=bank.id, actor="t", credit_code=credit_code(n),
                                            name=f"企业{n}", region="440703", categories=["tech_sme"])
            for i in range(3):
                request = LoanRequest(external_id=f"L-{n}-{i}", scheme="GD-KJD", credit_code=credit_code(n),
                                      principal=1_000_000_00, disbursed_on=date(2026, 6, 1),
                                      maturity_on=date(2027, 6, 1))
                loan, _created = register_loan(session, request, bank_id=bank.id, today=date(2026, 6, 30), actor="t")
                if i == 2:
                    record_event(session, loan.id, bank_id=bank.id, type="default", on=date(2026, 6, 20),
                                 today=date(2026, 6, 30), actor="t")
        session.commit()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_the_migration_backfills_existing_books(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'book.sqlite3'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        upgrade(engine)
        _world_with_loans(engine)
        downgrade(engine, "0013")
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            assert len(stored(session)) == 2
            assert_in_step(session)
    finally:
        if backend == "postgresql":
            from .conftest import reset_postgresql

            reset_postgresql(engine)
        engine.dispose()


@pytest.mark.postgresql
def test_concurrent_registrations_and_events_keep_the_figures_exact(pg_url):
    """Registrations (under the scheme lock) and events (no scheme lock) of one bank at
    once, in real threads: every ``x = x + delta`` lands, none is lost."""
    from .test_loans_api import _in_threads, _pg_app, _pg_world

    app = _pg_app(pg_url)
    try:
        tokens = _pg_world(app)
        client = app.test_client()
        loans = [client.post("/api/v1/loans", json=loan_body(n, principal="100000.00"),
                             headers=bearer(tokens[0])).json["id"] for n in range(1, 9)]

        def work(i):
            c = app.test_client()
            if i < 4:  # another bank's registrations in the same scheme
                return c.post("/api/v1/loans", json=loan_body(100 + i, credit_code=credit_code(2),
                                                              principal="100000.00"),
                              headers=bearer(tokens[1])).status_code
            body = ({"type": "repayment", "amount": "1000.00"} if i % 2 else {"type": "default"}) | {"on": "2026-06-20"}
            return c.post(f"/api/v1/loans/{loans[i]}/events", json=body, headers=bearer(tokens[0])).status_code

        assert _in_threads(work, 8) == [201] * 8
        with make_sessionmaker(app.extensions["ledger_engine"])() as session:
            assert_in_step(session)
            scheme, bank = ids(session, "BANK-0", "BANK-1")
            assert npl_figures(session, bank["BANK-0"], scheme) == (2 * 100_000_00, 8 * 100_000_00 - 2 * 1000_00)
            assert npl_figures(session, bank["BANK-1"], scheme) == (0, 4 * 100_000_00)
            assert book.scheme_exposure(session, scheme) == 12 * 100_000_00 - 2 * 1000_00
    finally:
        app.extensions["ledger_engine"].dispose()
