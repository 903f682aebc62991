"""SPEC §4a monthly loan-level report: applying it is the events it implies; the answer
reconciles (missing, unknown, contradictions, late); a correction applies only differences."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from ledger.models import AuditEntry, LoanEvent

from .helpers import bearer


@pytest.fixture
def rule_overrides():
    return {"reporting": {"monthly_report_due_day": 10}}


@pytest.fixture
def world(make_bank, make_user, make_loan):
    tokens = {"bank": bearer(make_bank("BANK-A")), "other": bearer(make_bank("BANK-B")),
              "auditor": bearer(make_user("auditor", name="auditor"))}
    loans = {n: make_loan("BANK-A", region="440703", categories=["tech_sme"], principal=1_000_000_00)
             for n in range(1, 6)}  # external ids L-1 … L-5, 1,000,000.00 each, active
    return tokens, loans


def line(external_id, outstanding, status="current", days_past_due=0, **extra):
    return {"external_id": external_id, "outstanding_principal": outstanding, "status": status,
            "days_past_due": days_past_due, **extra}


def send(client, token, period, loans, key):
    return client.post("/api/v1/loan-reports", json={"period": period, "loans": loans},
                       headers={**token, "Idempotency-Key": key})


def loan(client, token, loan_id):
    return client.get(f"/api/v1/loans/{loan_id}", headers=token).json


def test_a_report_is_the_events_it_implies(app, client, world, session):
    tokens, loans = world
    app.config["BUSINESS_DATE"] = "2026-06-05"  # before the 10th: on time
    r = send(client, tokens["bank"], "2026-05", [
        line("L-1", "800000.00"),                                         # lower outstanding: a repayment
        line("L-2", "0.00", "repaid"),                                    # repaid
        line("L-3", "950000.00", "default", 95, default_on="2026-05-20"),  # default at the lower figure
        line("L-4", "1000000.00", "overdue", 15),                         # unchanged
    ], "r-1")                                                             # L-5 left out
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["period"], body["late"], body["due_on"]) == ("2026-05", False, "2026-06-10")
    assert {(a["external_id"], a["type"], a["on"], a["amount"]) for a in body["applied"]} == {
        ("L-1", "repayment", "2026-05-31", "200000.00"),
        ("L-2", "repaid", "2026-05-31", None),
        ("L-3", "default", "2026-05-20", "950000.00"),
    }
    assert body["missing"] == ["L-5"] and body["unknown"] == [] and body["mismatches"] == []
    token = tokens["bank"]
    assert (loan(client, token, loans[1].id)["outstanding"], loan(client, token, loans[1].id)["status"]) == \
        ("800000.00", "active")
    assert loan(client, token, loans[2].id)["status"] == "repaid"
    l3 = loan(client, token, loans[3].id)
    assert (l3["status"], l3["outstanding"], l3["default_on"]) == ("defaulted", "950000.00", "2026-05-20")
    # Recorded as the loan-event service records an event: its row and its audit entry.
    events = client.get(f"/api/v1/loans/{loans[1].id}/events", headers=token).json
    items = events["items"] if isinstance(events, dict) else events
    assert [(e["type"], e["amount"]) for e in items] == [("repayment", "200000.00")]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "loan.repayment")).one()
    assert entry.before == {"status": "active", "outstanding": "1000000.00"}
    assert entry.after["outstanding"] == "800000.00" and entry.after["amount"] == "200000.00"


def test_contradictions_are_listed_and_not_applied(client, world, session):
    tokens, loans = world
    send(client, tokens["bank"], "2026-04", [line("L-1", "0.00", "repaid")], "r-0")
    before = session.scalar(select(LoanEvent.id).order_by(LoanEvent.id.desc()).limit(1))
    r = send(client, tokens["bank"], "2026-05", [
        line("L-1", "500000.00"),              # a repaid loan reported live
        line("L-2", "1000000.01"),             # above the ledger's outstanding
        line("L-3", "1000000.00", "default", 90, default_on="2025-12-01"),  # before disbursement
        line("X-404", "10.00"),                # unknown to the ledger
        line("L-4", "1000000.00"), line("L-5", "1000000.00"),
    ], "r-1")
    assert r.status_code == 201, r.json
    codes = {m["external_id"]: m["code"] for m in r.json["mismatches"]}
    assert codes == {"L-1": "reported_live_but_closed", "L-2": "outstanding_above_ledger",
                     "L-3": "default_before_disbursement"}
    assert r.json["unknown"] == ["X-404"] and r.json["applied"] == [] and r.json["missing"] == []
    assert session.scalar(select(LoanEvent.id).order_by(LoanEvent.id.desc()).limit(1)) == before


def test_a_late_report_is_flagged_and_the_status_shows_who_reported(app, client, world, make_bank):
    tokens, _loans = world
    assert client.get("/api/v1/loan-reports/status?period=2026-05", headers=tokens["auditor"]).status_code == 200
    r = send(client, tokens["bank"], "2026-05", [line(f"L-{n}", "1000000.00") for n in range(1, 6)], "r-1")
    assert (r.json["late"], r.json["received_on"]) == (True, "2026-06-30")  # due 2026-06-10
    status = client.get("/api/v1/loan-reports/status?period=2026-05", headers=tokens["auditor"]).json
    # BANK-B has no loans: it owes no report.
    assert [(b["bank"], b["status"], b["due_on"]) for b in status["banks"]] == [("BANK-A", "late", "2026-06-10")]


def test_missing_and_on_time_banks(app, client, world, make_loan):
    tokens, _loans = world
    make_loan("BANK-B", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    app.config["BUSINESS_DATE"] = "2026-04-08"
    send(client, tokens["bank"], "2026-03", [line(f"L-{n}", "1000000.00") for n in range(1, 6)], "r-1")
    status = lambda: {b["bank"]: b["status"] for b in client.get(  # noqa: E731
        "/api/v1/loan-reports/status?period=2026-03", headers=tokens["auditor"]).json["banks"]}
    assert status() == {"BANK-A": "on_time", "BANK-B": "pending"}
    app.config["BUSINESS_DATE"] = "2026-04-11"
    assert status() == {"BANK-A": "on_time", "BANK-B": "missing"}


def test_a_correction_applies_only_the_differences(client, world):
    tokens, loans = world
    first = [line("L-1", "900000.00"), line("L-2", "1000000.00"), line("L-3", "1000000.00"),
             line("L-4", "1000000.00"), line("L-5", "1000000.00")]
    assert len(send(client, tokens["bank"], "2026-05", first, "r-1").json["applied"]) == 1
    corrected = [line("L-1", "900000.00"), line("L-2", "700000.00"), *first[2:]]
    r = send(client, tokens["bank"], "2026-05", corrected, "r-2")
    assert (r.json["sequence"], r.json["correction"], r.json["unchanged"]) == (2, True, 4)
    assert [(a["external_id"], a["amount"]) for a in r.json["applied"]] == [("L-2", "300000.00")]
    # L-1's repayment is not applied a second time.
    assert loan(client, tokens["bank"], loans[1].id)["outstanding"] == "900000.00"


def test_idempotency_key_replays_the_first_answer(client, world):
    tokens, loans = world
    lines = [line("L-1", "900000.00")]
    first = send(client, tokens["bank"], "2026-05", lines, "same")
    again = send(client, tokens["bank"], "2026-05", lines, "same")
    assert again.status_code == 201 and again.data == first.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert loan(client, tokens["bank"], loans[1].id)["outstanding"] == "900000.00"
    assert send(client, tokens["bank"], "2026-05", [line("L-1", "800000.00")], "same").status_code == 422


def test_bad_lines_name_the_field_and_change_nothing(client, world, session):
    tokens, _loans = world
    r = send(client, tokens["bank"], "2026-05", [
        line("L-1", "1.005"), line("L-2", "10.00", "sleeping"), line("L-3", "10.00", "default"),
        line("L-4", "10.00", "default", default_on="2026-06-02"), line("L-1", "1.00")], "r-1")
    assert (r.status_code, r.json["code"]) == (422, "invalid_report")
    assert set(r.json["errors"]) == {"loans[0].outstanding_principal", "loans[1].status", "loans[2].default_on",
                                     "loans[3].default_on", "loans[4].external_id"}
    assert session.scalar(select(LoanEvent.id).limit(1)) is None
    r = send(client, tokens["bank"], "2026-06", [line("L-1", "1.00")], "r-2")  # June ends today: not yet
    assert (r.status_code, r.json["code"]) == (422, "period_not_ended")
    r = send(client, tokens["bank"], "2026-13", [], "r-3")
    assert r.status_code == 422 and "period" in r.json["errors"]


def test_csv_and_xlsx_with_chinese_headers(client, world):
    tokens, loans = world
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["贷款编号", "未偿本金", "状态", "逾期天数", "违约日期"])
    writer.writerow(["L-1", "750,000.00", "正常", "0", ""])
    writer.writerow(["L-2", "1000000.00", "违约", "91", "2026-05-15"])
    r = client.post("/api/v1/loan-reports?period=2026-05", data=out.getvalue().encode("utf-8"),
                    content_type="text/csv", headers={**tokens["bank"], "Idempotency-Key": "csv"})
    assert r.status_code == 201, r.json
    assert {(a["external_id"], a["type"]) for a in r.json["applied"]} == {("L-1", "repayment"), ("L-2", "default")}
    assert sorted(r.json["missing"]) == ["L-3", "L-4", "L-5"]

    book = Workbook()
    sheet = book.active
    sheet.append(["贷款编号", "未偿本金", "状态", "逾期天数"])
    sheet.append(["L-3", 600000.5, "逾期", 12])
    sheet.append(["L-4", "0", "结清", 0])
    data = io.BytesIO()
    book.save(data)
    r = client.post("/api/v1/loan-reports", headers={**tokens["bank"], "Idempotency-Key": "xlsx"},
                    data={"period": "2026-04", "file": (io.BytesIO(data.getvalue()), "四月.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    assert {(a["external_id"], a["type"], a["amount"]) for a in r.json["applied"]} == {
        ("L-3", "repayment", "399999.50"), ("L-4", "repaid", None)}
    assert loan(client, tokens["bank"], loans[3].id)["outstanding"] == "600000.50"


def test_banks_see_only_their_own_reports(client, world):
    tokens, _loans = world
    rid = send(client, tokens["bank"], "2026-05", [line("L-1", "1000000.00")], "r").json["id"]
    assert client.get(f"/api/v1/loan-reports/{rid}", headers=tokens["other"]).status_code == 404
    assert client.get("/api/v1/loan-reports", headers=tokens["other"]).json["total"] == 0
    assert client.get(f"/api/v1/loan-reports/{rid}", headers=tokens["auditor"]).json["missing"] == \
        ["L-2", "L-3", "L-4", "L-5"]
    assert client.get("/api/v1/loan-reports/status?period=2026-05", headers=tokens["bank"]).status_code == 403


def test_cli_import_report(runner, world, tmp_path):
    tokens, _loans = world
    path = tmp_path / "2026-05.csv"
    path.write_text("贷款编号,未偿本金,状态,逾期天数\nL-1,999000.00,正常,0\nL-9,5.00,正常,0\n", encoding="utf-8")
    result = runner.invoke(args=["import-report", str(path), "--bank", "BANK-A", "--period", "2026-05"])
    assert result.exit_code == 0, result.output
    assert "1 events applied" in result.output and "4 missing" in result.output and "1 unknown" in result.output
    assert "LATE" in result.output
    bad = runner.invoke(args=["import-report", str(path), "--bank", "NOPE", "--period", "2026-05"])
    assert bad.exit_code == 1 and "No bank NOPE" in bad.output


def test_console_reports_page(client, world, session, monkeypatch):
    from ledger import passwords

    from .console.conftest import FAST_HASH, login

    tokens, _loans = world
    send(client, tokens["bank"], "2026-05", [line("L-1", "1000000.00")], "r")
    monkeypatch.setattr(passwords, "HASH_METHOD", FAST_HASH)
    passwords.set_password(session, "auditor", "correct horse battery", actor="test")
    session.commit()
    login(client, "auditor", "correct horse battery")
    html = client.get("/console/reports?period=2026-05").get_data(as_text=True)
    assert 'data-bank="BANK-A" data-status="late"' in html and 'id="reports-received"' in html
    assert client.get("/console/reports?period=bad").status_code == 200


def test_a_late_report_and_a_missing_one_are_events_for_the_bank(app, client, world, make_loan, engine):
    """SPEC §4a: report.late when the month's report comes after its due date; report.missing,
    once, when it has not come at all (found by the webhook worker)."""
    from ledger.db import make_sessionmaker
    from ledger.worker import Worker, WorkerSettings

    tokens, _loans = world
    make_loan("BANK-B", region="440703", categories=["tech_sme"], principal=1_000_000_00)
    send(client, tokens["bank"], "2026-05", [line(f"L-{n}", "1000000.00") for n in range(1, 6)], "r-1")  # due 06-10
    send(client, tokens["bank"], "2026-05", [line(f"L-{n}", "1000000.00") for n in range(1, 6)], "r-2")  # correction
    feed = lambda token: [(e["type"], e["data"]["period"]) for e in client.get(  # noqa: E731
        "/api/v1/events", headers=token).json["items"]]
    assert feed(tokens["bank"]) == [("report.late", "2026-05")]

    worker = Worker(make_sessionmaker(engine), WorkerSettings(business_date="2026-06-30"))
    worker.run_once()
    worker._reports_checked = None
    worker.run_once()  # a second check flags nothing twice
    worker.close()
    # BANK-B never reported May (nor April); BANK-A reported May late and owes April too.
    assert sorted(feed(tokens["other"])) == [("report.missing", "2026-04"), ("report.missing", "2026-05")]
    assert feed(tokens["bank"]) == [("report.late", "2026-05"), ("report.missing", "2026-04")]
