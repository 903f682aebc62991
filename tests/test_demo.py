"""The demo's year of history (issue 14): a living fund — banks with books, monthly
reports (one bank late), claims in every state with documents, a recovery, a clawback,
and a bank whose claims can still be approved."""

from __future__ import annotations

from sqlalchemy import func, select

from ledger import journal
from ledger.asof import check_closings
from ledger.models import Claim, ClaimDocument, Clawback, LoanReport, Recovery
from web import create_app, create_command_app


def test_demo_history(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "BUSINESS_DATE": "2026-12-01",
                      "SIGNING_KEY_PATH": str(tmp_path / "signing" / "checkpoint-ed25519.pem")})
    try:
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        with app.extensions["ledger_sessions"]() as session:
            statuses = set(session.scalars(select(Claim.status)))
            assert statuses == {"submitted", "returned", "reviewed", "approved", "paid", "rejected", "withdrawn"}
            assert session.scalar(select(func.count()).select_from(Recovery)) == 1
            assert session.scalar(select(func.count()).select_from(Clawback)) == 1
            claims_without_documents = session.scalar(select(func.count()).select_from(Claim).where(
                ~Claim.id.in_(select(ClaimDocument.claim_id))))
            assert claims_without_documents == 0
            late = {(r.bank_id, r.late) for r in session.scalars(select(LoanReport).where(LoanReport.due_on.is_not(None)))}
            assert {late_flag for _bank, late_flag in late} == {True, False}
            assert journal.check_balances(session) == [] and check_closings(session) == []
        # ICBC-GD's reviewed claim can be approved: its NPL ratio does not suspend it.
        client = app.test_client()
        from ledger import auth
        with app.extensions["ledger_sessions"]() as session:
            _user, token = auth.create_user(session, "approver2", ["approver"], actor="test")
            reviewed = session.scalar(select(Claim.id).where(Claim.status == "reviewed"))
            session.commit()
        r = client.post(f"/api/v1/claims/{reviewed}/approve", json={}, headers={"Authorization": f"Bearer {token}"})
        assert (r.status_code, r.json["status"]) == (200, "approved"), r.json
    finally:
        app.extensions["ledger_engine"].dispose()


def test_demo_then_run_serves_signed_statements(database_url, tmp_path):
    """`ledger-admin demo && ledger-admin run`: the demo's self-signed certificate signs
    the statements of the next start without any setting (issue 12)."""
    from datetime import date

    from ledger import statements
    from ledger.statements.signing import check_signature

    config = {"DATABASE_URL": database_url, "TESTING": True, "BUSINESS_DATE": "2026-12-01",
              "SIGNING_KEY_PATH": str(tmp_path / "signing" / "checkpoint-ed25519.pem")}
    demo = create_app(config)
    try:
        result = demo.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        assert "Statements are signed with the self-signed demo certificate" in result.output
    finally:
        demo.extensions["ledger_engine"].dispose()
    assert oct((tmp_path / "signing" / "bureau-demo.p12").stat().st_mode & 0o777) == "0o600"
    # The next start: the served app, and a command's (which reads the certificate only
    # when it first signs, web.DeferredSigner); each issues a statement of its own.
    for factory, lang in ((create_app, "zh"), (create_command_app, "en")):
        app = factory(config)
        try:
            with app.extensions["ledger_sessions"]() as session:
                paid = session.scalar(select(Claim.id).where(Claim.status == "paid").limit(1))
                _row, data = statements.issue_statement(session, "claim", str(paid), None, lang, "test",
                                                        app.config["FUND_NAME"], today=date(2026, 12, 1))
                session.commit()
            check = check_signature(data)
            assert check.valid, (factory.__name__, check.reason)
        finally:
            app.extensions["ledger_engine"].dispose()
