"""Bulk loan upload: CSV and XLSX, row-level report, idempotent re-runs, a killed
import leaves whole rows only (issue 4, item 3)."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from ledger import audit, auth, bulk, subfunds
from ledger.db import make_engine, make_sessionmaker
from ledger.migrate import upgrade
from ledger.models import AuditEntry, Bank, Enterprise, EnterpriseBank, Loan

from .factories import (
    SPEC_SUBFUNDS,
    credit_code,
    fund_spec_subfunds,
    lending_counts,
    publish_example_rules,
    register_enterprise,
)
from .helpers import bearer

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["external_id", "scheme", "credit_code", "principal", "disbursed_on", "maturity_on", "interest_rate",
          "collateral_type", "enterprise_name", "region", "categories"]
HEADER_ZH = ["贷款编号", "方案", "统一社会信用代码", "贷款本金（元）", "放款日期", "到期日期", "利率", "担保方式",
             "企业名称", "地区代码", "企业类别"]


@pytest.fixture
def bank(make_bank, client, session, make_subfund):
    publish_example_rules(session)
    fund_spec_subfunds(make_subfund)
    token = make_bank("BANK-A")
    register_enterprise(client, token, 1)  # a borrower registered beforehand
    return token


def good_row(n: int, *, enterprise: bool = True, **overrides: str) -> dict[str, str]:
    row = {"external_id": f"B-{n:05d}", "scheme": "GD-KJD", "credit_code": credit_code(100 + n),
           "principal": "500000.00", "disbursed_on": "2026-06-15", "maturity_on": "2027-06-15",
           "interest_rate": "0.0435", "collateral_type": "保证", "enterprise_name": f"测试企业{n}",
           "region": "440703", "categories": "tech_sme"}
    if not enterprise:
        row.update(credit_code=credit_code(1), enterprise_name="", region="", categories="")
    row.update(overrides)
    return row


#: (row in the file, its external_id, the expected errors as (field, code)).
MIXED = [
    good_row(1),
    good_row(2, enterprise=False),
    good_row(3, principal="10000000.01"),
    good_row(4, credit_code=credit_code(104)[:17] + ("0" if credit_code(104)[17] != "0" else "1")),
    good_row(5, disbursed_on="2026-13-01"),
    good_row(6, principal="12.345", maturity_on="2030-01-01"),
    good_row(7, enterprise=False, credit_code=credit_code(99)),
    good_row(8, region="440703", categories="agri_tech"),
    good_row(9, scheme=""),
    good_row(10, **{"categories": "tech_sme, 高新技术企业"}),
]
EXPECTED_ERRORS = {
    4: {("principal", "principal_above_maximum")},
    5: {("credit_code", "credit_code_check_digit")},
    6: {("disbursed_on", "invalid_date")},
    7: {("principal", "too_many_decimals")},
    8: {("credit_code", "enterprise_not_registered")},
    9: {("categories", "category_not_eligible")},
    10: {("scheme", "required")},
}


def to_csv(rows: list[dict[str, str]], header: list[str] = HEADER, *, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[h] for h in HEADER])
    return out.getvalue().encode(encoding)


def to_xlsx(rows: list[dict[str, str]], header: list[str] = HEADER_ZH) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        values = [row[h] for h in HEADER]
        # What a spreadsheet holds: dates as dates, amounts as numbers where they parse.
        for i, name in enumerate(HEADER):
            if name in ("disbursed_on", "maturity_on"):
                try:
                    values[i] = date.fromisoformat(values[i])
                except ValueError:
                    pass
            if name == "principal" and values[i].replace(".", "", 1).isdigit():
                values[i] = float(values[i])
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, token, data: bytes, content_type: str = "text/csv", query: str = ""):
    return client.post(f"/api/v1/loans/bulk{query}", data=data, content_type=content_type, headers=bearer(token))


def check_mixed_report(report) -> None:
    assert report["totals"] == {"rows": 10, "created": 3, "unchanged": 0, "failed": 7}
    rows = {r["row"]: r for r in report["rows"]}
    assert sorted(rows) == list(range(2, 12))
    for number, row in rows.items():
        if number in EXPECTED_ERRORS:
            assert row["status"] == "error" and row["loan_id"] is None
            assert {(e["field"], e["code"]) for e in row["errors"]} == EXPECTED_ERRORS[number], row
            assert all(e["message"] for e in row["errors"])
        else:
            assert row["status"] == "created" and row["loan_id"] and row["errors"] == []
    assert rows[2]["external_id"] == "B-00001"


@pytest.mark.parametrize("kind", ["csv", "csv-bom", "csv-gb18030", "xlsx", "multipart"])
def test_good_rows_are_stored_bad_rows_reported_and_a_rerun_changes_nothing(client, bank, session, kind):
    if kind == "csv":
        data, content_type = to_csv(MIXED), "text/csv"
    elif kind == "csv-bom":
        data, content_type = to_csv(MIXED, HEADER_ZH, encoding="utf-8-sig"), "text/csv"
    elif kind == "csv-gb18030":
        data, content_type = to_csv(MIXED, HEADER_ZH, encoding="gb18030"), "text/csv"
    else:
        data, content_type = to_xlsx(MIXED), bulk.XLSX_MIME
    if kind == "multipart":
        send = lambda: client.post("/api/v1/loans/bulk", headers=bearer(bank),  # noqa: E731
                                   data={"file": (io.BytesIO(data), "loans.xlsx")}, content_type="multipart/form-data")
    else:
        send = lambda: upload(client, bank, data, content_type)  # noqa: E731
    first = send()
    assert first.status_code == 200, first.json
    check_mixed_report(first.json)
    stored = {x["external_id"]: x for x in client.get("/api/v1/loans", headers=bearer(bank)).json["items"]}
    assert set(stored) == {"B-00001", "B-00002", "B-00010"}
    assert stored["B-00001"]["principal"] == "500000.00" and stored["B-00001"]["region"] == "440703"
    assert stored["B-00010"]["categories"] == ["high_tech", "tech_sme"]
    assert stored["B-00002"]["credit_code"] == credit_code(1)
    # The enterprises of refused rows were not registered: a row is all or nothing.
    codes = set(session.scalars(select(Enterprise.credit_code)))
    assert codes == {credit_code(1), credit_code(101), credit_code(110)}

    before = lending_counts(session)
    second = send()
    assert second.status_code == 200
    assert second.json["totals"] == {"rows": 10, "created": 0, "unchanged": 3, "failed": 7}
    assert {r["row"]: r["loan_id"] for r in second.json["rows"]} == {r["row"]: r["loan_id"] for r in first.json["rows"]}
    assert lending_counts(session) == before


def test_only_failed_rows_on_request(client, bank):
    r = upload(client, bank, to_csv(MIXED), query="?rows=errors")
    assert r.json["totals"]["failed"] == 7 and [x["row"] for x in r.json["rows"]] == sorted(EXPECTED_ERRORS)


def test_rows_see_the_rows_before_them(client, bank):
    rows = [good_row(1, external_id="SAME"), good_row(1, external_id="SAME"),
            good_row(2, external_id="SAME", principal="1.00"),
            good_row(3, credit_code=credit_code(101), enterprise_name="别名")]
    report = upload(client, bank, to_csv(rows)).json
    statuses = [(r["status"], [e["code"] for e in r["errors"]]) for r in report["rows"]]
    assert statuses == [("created", []), ("unchanged", []), ("error", ["external_id_conflict"] * 2),
                        ("error", ["enterprise_differs"])]
    assert report["rows"][0]["loan_id"] == report["rows"][1]["loan_id"]


def test_pool_capacity_counts_earlier_rows_of_the_same_file(client, bank):
    rows = [good_row(n, principal="10000000.00") for n in range(1, 7)]
    report = upload(client, bank, to_csv(rows)).json
    assert report["totals"]["created"] == 5
    assert [e["code"] for e in report["rows"][5]["errors"]] == ["pool_capacity_exceeded"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "file"),
        (b"external_id,scheme\nX,GD-KJD\n", "header"),
        (("external_id,scheme,credit_code,principal,disbursed_on,maturity_on,interest_rat\n").encode(), "header"),
        (("external_id,贷款编号,scheme,credit_code,principal,disbursed_on,maturity_on\n").encode(), "header"),
        (b"\xff\xfe\x00\x00garbage\x81\x30", "file"),
        (b"PK\x03\x04 not really a workbook", "file"),
    ],
)
def test_unusable_files_are_refused_before_anything_is_written(client, bank, session, data, field):
    before = lending_counts(session)
    r = upload(client, bank, data)
    assert (r.status_code, r.json["code"]) == (422, "invalid_file"), r.json
    assert field in r.json["errors"]
    assert lending_counts(session) == before


def test_header_variants_and_ignored_columns():
    data = ("序号,External_ID,方案代码,社会信用代码,本金(元),发放日期,到期日,年利率,备注\n"
            f"1,X-1,GD-KJD,{credit_code(1)},\"1,000,000.50\",2026/06/15,20270615,4.35%,无\n").encode()
    [row] = bulk.parse_file(data)
    assert row.errors == []
    assert row.request.principal == 1_000_000_50 and row.request.interest_rate == "0.0435"
    assert (row.request.disbursed_on, row.request.maturity_on) == (date(2026, 6, 15), date(2027, 6, 15))


def test_blank_lines_are_skipped_and_rows_keep_spreadsheet_numbers():
    data = to_csv([good_row(1)]) + b",,,,,,,,,,\r\n" + to_csv([good_row(2)]).split(b"\n", 1)[1]
    rows = bulk.parse_file(data)
    assert [r.row for r in rows] == [2, 4]


def test_cli_imports_with_a_summary_and_exit_code(runner, bank, tmp_path, session):
    path = tmp_path / "loans.csv"
    path.write_bytes(to_csv(MIXED))
    errors = tmp_path / "errors.csv"
    result = runner.invoke(args=["import-loans", str(path), "--bank", "BANK-A", "--errors", str(errors)])
    assert result.exit_code == 1, result.output
    assert "10 rows: 3 created, 0 unchanged, 7 failed." in result.output
    assert "row 4 (B-00003): principal: principal_above_maximum" in result.output
    with errors.open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert {(int(x["row"]), x["field"], x["code"]) for x in lines} == {
        (row, field, code) for row, found in EXPECTED_ERRORS.items() for field, code in found}
    good = tmp_path / "good.csv"
    good.write_bytes(to_csv([good_row(1), good_row(2, enterprise=False)]))
    result = runner.invoke(args=["import-loans", str(good), "--bank", "BANK-A"])
    assert result.exit_code == 0 and "2 rows: 0 created, 2 unchanged, 0 failed." in result.output
    assert runner.invoke(args=["import-loans", str(good), "--bank", "NOPE"]).exit_code == 1
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"nothing,useful\n")
    result = runner.invoke(args=["import-loans", str(bad), "--bank", "BANK-A"])
    assert result.exit_code == 1 and "invalid_file" in result.output


# -- a killed import ---------------------------------------------------------------------------

KILL_ROWS = 3000
KILL_BATCH = 100

#: Runs the import in a child process, slowed down inside each batch's transaction
#: (after the INSERTs, before the COMMIT) so that the kill lands mid-batch.
CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from sqlalchemy import select
from ledger import bulk, loans
from ledger.db import make_engine, make_sessionmaker
from ledger.models import Bank

original = loans.Registrar.write
def slow_write(self):
    original(self)
    time.sleep(0.05)
loans.Registrar.write = slow_write

url, path = sys.argv[1], sys.argv[2]
session = make_sessionmaker(make_engine(url))()
bank_id = session.scalar(select(Bank.id).where(Bank.code == "BANK-A"))
session.rollback()
bulk.import_loans(session, Path(path).read_bytes(), bank_id=bank_id, today=date(2026, 6, 30), actor="child",
                  batch_size=%d, commit=session.commit)
print("finished", flush=True)
""" % KILL_BATCH


def kill_rows() -> list[dict[str, str]]:
    rows = []
    for n in range(1, KILL_ROWS + 1):
        row = good_row(n, principal=f"{10000 + n}.{n % 100:02d}")
        if n % 97 == 0:
            row["principal"] = "10000000.01"  # refused: the batch still commits its good rows
        rows.append(row)
    return rows


def build_world(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        publish_example_rules(session)
        for code, owner_type, region in SPEC_SUBFUNDS:
            subfunds.create_subfund(session, code=code, name=code, owner_type=owner_type, region=region, actor="t")
            subfunds.contribute(session, code, amount=100_000_000_00, received_on=date(2026, 1, 5),
                                reference=f"OPEN-{code}", actor="t")
        auth.create_bank(session, "BANK-A", "测试银行", actor="t")
        session.commit()
    engine.dispose()


def content(url: str) -> tuple[set[tuple], set[tuple]]:
    """Loans and enterprises as the bank sees them (no ids or timestamps)."""
    engine = make_engine(url)
    with make_sessionmaker(engine, readonly=True)() as session:
        loans = set(session.execute(
            select(Loan.external_id, Enterprise.credit_code, Loan.principal, Loan.outstanding, Loan.disbursed_on,
                   Loan.maturity_on, Loan.interest_rate, Loan.collateral_type, Loan.status, Loan.region,
                   Loan.registered_on).join(Enterprise, Enterprise.id == Loan.enterprise_id)).all())
        firms = set(session.execute(
            select(Enterprise.credit_code, Enterprise.name, Enterprise.region, Bank.code)
            .join(EnterpriseBank, EnterpriseBank.enterprise_id == Enterprise.id)
            .join(Bank, Bank.id == EnterpriseBank.bank_id)).all())
    engine.dispose()
    return loans, firms


def run_import(url: str, data: bytes) -> bulk.ImportReport:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            bank_id = session.scalar(select(Bank.id).where(Bank.code == "BANK-A"))
            session.rollback()
            return bulk.import_loans(session, data, bank_id=bank_id, today=date(2026, 6, 30), actor="test",
                                     batch_size=KILL_BATCH, commit=session.commit)
    finally:
        engine.dispose()


def test_a_killed_import_leaves_whole_rows_and_a_rerun_completes_it(database, tmp_path):
    url = database.fresh() if database.is_postgresql else f"sqlite:///{tmp_path / 'killed.sqlite3'}"
    build_world(url)
    rows = kill_rows()
    path = tmp_path / "big.csv"
    data = to_csv(rows)
    path.write_bytes(data)
    refused = sum(1 for n in range(1, KILL_ROWS + 1) if n % 97 == 0)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "child.log"
    with log.open("wb") as output:
        child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(path)], env=env, cwd=ROOT,
                                 stdout=output, stderr=subprocess.STDOUT)
    # A reader that never takes SQLite's write lock (it would hold the child up).
    engine = make_engine(url).execution_options(sqlite_begin="DEFERRED")
    stored = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            with engine.connect() as connection:
                stored = connection.scalar(select(func.count()).select_from(Loan))
            if stored >= KILL_ROWS // 3:
                break
            time.sleep(0.01)
        assert child.poll() is None, log.read_text()
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        engine.engine.dispose()

    # Only whole rows: every stored loan has its enterprise, its link and its audit entry,
    # and matches its row of the file exactly.
    by_id = {r["external_id"]: r for r in rows}
    loans, firms = content(url)
    assert KILL_ROWS // 3 <= len(loans) < KILL_ROWS - refused
    firm_codes = {code for code, _name, _region, _bank in firms}
    for external_id, code, principal, outstanding, disbursed, maturity, rate, collateral, status, region, _on in loans:
        row = by_id[external_id]
        assert (code, f"{principal // 100}.{principal % 100:02d}", outstanding, disbursed.isoformat(),
                maturity.isoformat(), rate, collateral, status, region) == (
            row["credit_code"], row["principal"], principal, row["disbursed_on"], row["maturity_on"], "0.0435",
            "保证", "active", "440703")
        assert code in firm_codes
    engine = make_engine(url)
    with make_sessionmaker(engine, readonly=True)() as session:
        audited = set(session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "loan.register")))
        assert audited == {str(i) for i in session.scalars(select(Loan.id))}
        assert len(firm_codes) == session.scalar(select(func.count()).select_from(Enterprise))
        assert audit.verify_chain(session).ok
    engine.dispose()

    # Re-running completes the file; the result equals an uninterrupted run's.
    report = run_import(url, data)
    assert report.totals == {"rows": KILL_ROWS, "created": KILL_ROWS - refused - len(loans), "unchanged": len(loans),
                             "failed": refused}
    reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
    build_world(reference)
    assert run_import(reference, data).totals["created"] == KILL_ROWS - refused
    assert content(url) == content(reference)


def test_a_second_bank_links_a_known_borrower_and_sees_only_its_own_rows(client, bank, make_bank, session):
    assert upload(client, bank, to_csv([good_row(1)])).json["totals"]["created"] == 1
    other = make_bank("BANK-B")
    rows = [good_row(1), good_row(2, scheme="NOPE")]
    report = upload(client, other, to_csv(rows)).json
    assert [(r["status"], [e["code"] for e in r["errors"]]) for r in report["rows"]] == [
        ("created", []), ("error", ["scheme_not_found"])]
    # The same external_id is another loan for another bank; the borrower is shared.
    assert session.scalar(select(func.count()).select_from(Enterprise)) == 2
    assert session.scalar(select(func.count()).select_from(EnterpriseBank)) == 3
    mine = client.get("/api/v1/loans", headers=bearer(other)).json
    assert [x["external_id"] for x in mine["items"]] == ["B-00001"] and mine["items"][0]["bank"] == "BANK-B"


def test_a_batch_that_loses_a_race_is_redone_row_by_row(client, bank, session, monkeypatch):
    """Another writer registers a borrower after the batch's reads: the batch INSERT
    fails on the unique credit code and every row is redone in its own savepoint."""
    from sqlalchemy import insert

    from ledger import db, loans
    from ledger.models.base import utcnow

    original = loans.Registrar.preload
    raced = []

    def preload_then_race(self, requests, enterprise_codes=()):
        original(self, requests, enterprise_codes)
        if not raced:
            raced.append(True)
            self.session.execute(insert(Enterprise.__table__).values(
                credit_code=credit_code(102), name="测试企业2", region="440703", categories=["tech_sme"],
                created_at=utcnow(), updated_at=utcnow()))

    monkeypatch.setattr(loans.Registrar, "preload", preload_then_race)
    # Even this small batch goes through the bulk INSERT (COPY on PostgreSQL), whose
    # unique violation must surface as the same IntegrityError.
    monkeypatch.setattr(db, "BULK_MIN_ROWS", 1)
    rows = [good_row(1), good_row(2), good_row(3, principal="10000000.01"), good_row(4)]
    report = upload(client, bank, to_csv(rows)).json
    assert raced
    assert [(r["status"], [e["code"] for e in r["errors"]]) for r in report["rows"]] == [
        ("created", []), ("created", []), ("error", ["principal_above_maximum"]), ("created", [])]
    assert all(r["loan_id"] for r in report["rows"] if r["status"] == "created")
    codes = list(session.scalars(select(Enterprise.credit_code).order_by(Enterprise.credit_code)))
    assert codes == sorted([credit_code(1), credit_code(101), credit_code(102), credit_code(104)])
    assert client.get("/api/v1/loans", headers=bearer(bank)).json["total"] == 3
    # Every stored change is audited once, the rolled-back batch attempt not at all.
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "bank-BANK-A")).all()
    # (the fixture registered one borrower; rows 1 and 4 two more; row 2 linked the raced one)
    assert sorted(actions) == ["enterprise.link"] + ["enterprise.register"] * 3 + ["loan.register"] * 3
    assert audit.verify_chain(session).ok
