"""Statement downloads, the register and verification over HTTP: roles, isolation
between banks, file names, streaming (issue 6)."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest

from .helpers import bearer
from .test_statements_pdf import text_of, world  # noqa: F401 - the world fixture
from .test_statements_register import foreign_pdf

PERIOD = "from=2026-05-01&to=2026-06-30"


@pytest.fixture
def tokens(world, make_user):
    return {
        "bank": bearer(make_user("bank", name="ccb-clerk", bank="CCB-JM")),
        "other_bank": bearer(make_user("bank", name="icbc-clerk", bank="ICBC-GD")),
        "reviewer": bearer(make_user("reviewer", name="rev")),
        "approver": bearer(make_user("approver", name="appr")),
        "fund_admin": bearer(make_user("fund_admin", name="admin")),
        "auditor": bearer(make_user("auditor", name="aud")),
    }


def claim_url(world) -> str:
    return f"/api/v1/claims/{world.claim.id}/statement.pdf"


def test_claim_statement_download(client, world, tokens):
    r = client.get(claim_url(world), headers=tokens["bank"])
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["X-Statement-Number"] == "BCJ-2026-000001"
    assert r.headers["X-Statement-SHA256"] == hashlib.sha256(r.data).hexdigest()
    assert int(r.headers["Content-Length"]) == len(r.data)
    ascii_name = f"BCJ-2026-000001_claim-{world.claim.id}.pdf"
    local = f"补偿结算单_理赔{world.claim.id}_BCJ-2026-000001.pdf"
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(local, safe='')}")
    assert "补偿结算单" in text_of(r.data)
    # Downloading again (another role) hands out the same registered file.
    again = client.get(claim_url(world), headers=tokens["auditor"])
    assert again.data == r.data and again.headers["X-Statement-Number"] == "BCJ-2026-000001"
    english = client.get(claim_url(world) + "?lang=en", headers=tokens["fund_admin"])
    assert english.headers["X-Statement-Number"] == "BCJ-2026-000002"
    assert "Compensation-Statement_claim-" in english.headers["Content-Disposition"]


@pytest.mark.parametrize(("who", "status"), [("bank", 200), ("other_bank", 404), ("reviewer", 200), ("approver", 200),
                                             ("fund_admin", 200), ("auditor", 409)])
def test_claim_statement_roles(client, world, tokens, who, status):
    # Nobody issued it yet: an auditor's download issues nothing (409 statement_not_issued).
    r = client.get(claim_url(world), headers=tokens[who])
    assert r.status_code == status
    if status == 404:
        assert r.json["code"] == "claim_not_found"
    if status == 409:
        assert r.json["code"] == "statement_not_issued"


def test_claim_statement_refusals(client, world, tokens):
    r = client.get(f"/api/v1/claims/{world.submitted.id}/statement.pdf", headers=tokens["auditor"])
    assert (r.status_code, r.json["code"]) == (409, "claim_not_paid")
    assert r.content_type == "application/problem+json"
    r = client.get("/api/v1/claims/999999/statement.pdf", headers=tokens["auditor"])
    assert (r.status_code, r.json["code"]) == (404, "claim_not_found")
    r = client.get(claim_url(world) + "?lang=fr", headers=tokens["auditor"])
    assert r.status_code == 422 and "lang" in r.json["errors"]
    assert client.get(claim_url(world)).status_code == 401


@pytest.mark.parametrize(("who", "status"), [("bank", 403), ("other_bank", 403), ("reviewer", 200),
                                             ("approver", 200), ("fund_admin", 200), ("auditor", 409)])
def test_subfund_statement_roles(client, world, tokens, who, status):
    r = client.get(f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}", headers=tokens[who])
    assert r.status_code == status


def test_subfund_statement(client, world, tokens):
    r = client.get(f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}&lang=en", headers=tokens["fund_admin"])
    assert r.status_code == 200
    assert r.headers["X-Statement-Number"] == "ZJD-2026-000001"
    assert 'filename="ZJD-2026-000001_subfund-GD-PROV_2026-05-01_2026-06-30.pdf"' in r.headers["Content-Disposition"]
    assert "Sub-fund Statement" in text_of(r.data)
    r = client.get("/api/v1/subfunds/GD-PROV/statement.pdf?from=2026-06-01&to=2026-07-31", headers=tokens["fund_admin"])
    assert (r.status_code, r.json["code"]) == (422, "period_in_future")
    r = client.get("/api/v1/subfunds/NOPE/statement.pdf", headers=tokens["fund_admin"])
    assert (r.status_code, r.json["code"]) == (404, "subfund_not_found")
    # No period: the current month up to the business date.
    r = client.get("/api/v1/subfunds/GD-PROV/statement.pdf", headers=tokens["fund_admin"])
    assert r.status_code == 200 and "2026-06-01 至 2026-06-30" in text_of(r.data)


@pytest.mark.parametrize(("who", "status"), [("bank", 200), ("other_bank", 404), ("reviewer", 200),
                                             ("approver", 200), ("fund_admin", 200), ("auditor", 409)])
def test_bank_statement_roles(client, world, tokens, who, status):
    r = client.get(f"/api/v1/banks/CCB-JM/statement.pdf?{PERIOD}", headers=tokens[who])
    assert r.status_code == status
    if status == 200:
        assert "合作银行对账单" in text_of(r.data)


def test_register_listing_and_isolation(client, world, tokens):
    client.get(claim_url(world), headers=tokens["bank"])
    client.get(f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}", headers=tokens["reviewer"])
    client.get(f"/api/v1/banks/CCB-JM/statement.pdf?{PERIOD}", headers=tokens["reviewer"])
    client.get(f"/api/v1/banks/ICBC-GD/statement.pdf?{PERIOD}", headers=tokens["other_bank"])

    everything = client.get("/api/v1/statements", headers=tokens["auditor"]).json
    assert everything["total"] == 4
    assert [s["number"] for s in everything["items"]] == ["YHD-2026-000002", "YHD-2026-000001", "ZJD-2026-000001",
                                                          "BCJ-2026-000001"]
    mine = client.get("/api/v1/statements", headers=tokens["bank"]).json
    assert sorted(s["number"] for s in mine["items"]) == ["BCJ-2026-000001", "YHD-2026-000001"]
    theirs = client.get("/api/v1/statements", headers=tokens["other_bank"]).json
    assert [s["number"] for s in theirs["items"]] == ["YHD-2026-000002"]
    only_claims = client.get("/api/v1/statements?kind=claim", headers=tokens["auditor"]).json
    assert [s["kind"] for s in only_claims["items"]] == ["claim"]

    one = client.get("/api/v1/statements/BCJ-2026-000001", headers=tokens["bank"])
    assert one.status_code == 200 and one.json["scope"] == str(world.claim.id)
    assert one.json["display_filename"].startswith("补偿结算单_")
    assert client.get("/api/v1/statements/BCJ-2026-000001", headers=tokens["other_bank"]).status_code == 404
    assert client.get("/api/v1/statements/ZJD-2026-000001", headers=tokens["bank"]).status_code == 404


@pytest.mark.parametrize("who", ["bank", "other_bank", "reviewer", "auditor"])
def test_verify_over_http(client, world, tokens, who):
    pdf = client.get(claim_url(world), headers=tokens["fund_admin"]).data
    r = client.post("/api/v1/statements/verify", data=pdf, content_type="application/pdf", headers=tokens[who])
    assert r.status_code == 200, r.json
    # Another bank's statement: authentic or altered, but not its register entry (issue 10).
    number = None if who == "other_bank" else "BCJ-2026-000001"
    assert (r.json["issued"], r.json["altered"], (r.json["statement"] or {}).get("number")) == (True, False, number)
    tampered = bytearray(pdf)
    tampered[len(pdf) // 2] ^= 0x01
    r = client.post("/api/v1/statements/verify", headers=tokens[who],
                    data={"file": (io.BytesIO(bytes(tampered)), "statement.pdf")}, content_type="multipart/form-data")
    assert (r.json["issued"], r.json["altered"], r.json["verdict"]) == (False, True, "altered")
    assert ((r.json["statement"] or {}).get("number")) == number
    if who == "other_bank":
        assert "BCJ-" not in r.json["reason"] and "SHA-256" not in r.json["reason"]
    r = client.post("/api/v1/statements/verify", data=foreign_pdf("hello"), content_type="application/pdf",
                    headers=tokens[who])
    assert (r.json["issued"], r.json["altered"], r.json["statement"]) == (False, False, None)


def test_verify_input_errors(client, world, tokens):
    r = client.post("/api/v1/statements/verify", json={"pdf": "x"}, headers=tokens["auditor"])
    assert (r.status_code, r.json["code"]) == (415, "unsupported_media_type")
    r = client.post("/api/v1/statements/verify", data=b"", content_type="application/pdf", headers=tokens["auditor"])
    assert r.status_code == 422
    r = client.post("/api/v1/statements/verify", data={"other": "x"}, content_type="multipart/form-data",
                    headers=tokens["auditor"])
    assert r.status_code == 422 and "file" in r.json["errors"]
    assert client.post("/api/v1/statements/verify", data=b"%PDF", content_type="application/pdf").status_code == 401


def test_downloads_are_recorded_once(client, world, tokens, session):
    from sqlalchemy import func, select

    from ledger.models import AuditEntry

    client.get(claim_url(world), headers=tokens["bank"])
    count = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "statement.issue"))
    client.get(claim_url(world), headers=tokens["auditor"])
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "statement.issue")) == count == 1


def test_concurrent_downloads_register_one_statement(app, world, tokens, session):
    """Eight people download the same new statement at once: one number, one register
    entry, one audit entry, eight identical files."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from ledger.models import AuditEntry, Statement

    def download(_i: int):  # type: ignore[no-untyped-def]
        with app.test_client() as client:
            r = client.get(f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}", headers=tokens["approver"])
            return r.status_code, r.headers.get("X-Statement-Number"), r.data

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(download, range(8)))
    assert {status for status, _n, _d in results} == {200}
    assert {number for _s, number, _d in results} == {"ZJD-2026-000001"}
    assert len({data for _s, _n, data in results}) == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Statement)) == 1
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "statement.issue")) == 1


def test_an_auditor_fetches_issued_statements_and_writes_nothing(client, world, tokens, session):
    """Issue 10: an auditor is read-only. Its download of a statement never issued is a
    409 problem; of an issued one, the very file registered — and nothing is written."""
    from .helpers import row_counts

    url = f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}"
    before = row_counts(session)
    refused = client.get(url, headers=tokens["auditor"])
    assert (refused.status_code, refused.json["code"]) == (409, "statement_not_issued")
    assert refused.content_type == "application/problem+json"
    assert row_counts(session) == before
    issued = client.get(url, headers=tokens["approver"])
    assert issued.status_code == 200
    after_issue = row_counts(session)
    copy = client.get(url, headers=tokens["auditor"])
    assert copy.status_code == 200 and copy.data == issued.data
    assert copy.headers["X-Statement-Number"] == issued.headers["X-Statement-Number"]
    assert row_counts(session) == after_issue
    # Another language was never issued: refused, not issued by the auditor.
    assert client.get(url + "&lang=en", headers=tokens["auditor"]).status_code == 409
    assert client.get("/api/v1/statements", headers=tokens["auditor"]).json["total"] == 1


def test_an_issued_statement_is_an_event_for_its_bank(client, world, tokens):
    """SPEC §4a statement.issued: the bank a claim or bank statement is about sees it;
    a sub-fund statement is the bureau's only. Handing out an issued copy again is no event."""
    def feed(who):  # type: ignore[no-untyped-def]
        items = client.get("/api/v1/events", query_string={"type": "statement.issued"}, headers=tokens[who]).json
        return [(e["data"]["kind"], e["data"]["number"]) for e in items["items"]]

    assert client.get(claim_url(world), headers=tokens["bank"]).status_code == 200
    assert client.get(claim_url(world), headers=tokens["fund_admin"]).status_code == 200  # the same copy
    assert client.get(f"/api/v1/banks/CCB-JM/statement.pdf?{PERIOD}", headers=tokens["fund_admin"]).status_code == 200
    assert client.get(f"/api/v1/subfunds/GD-PROV/statement.pdf?{PERIOD}", headers=tokens["fund_admin"]).status_code == 200
    assert [kind for kind, _ in feed("bank")] == ["claim", "bank"]
    assert feed("other_bank") == []
    assert [kind for kind, _ in feed("auditor")] == ["claim", "bank", "subfund"]
    assert feed("bank")[0][1] == "BCJ-2026-000001"
