"""The auditor's endpoints (issue 6): the audit log, the chain check, the journal check
and the streamed exports, whose figures must add up to the journal's."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import select, text

from ledger import journal, subfunds
from ledger.audit import GENESIS_HASH, canonical_json
from ledger.models import Account
from rules.money import parse_amount

from .helpers import bearer
from .test_audit import bypass_triggers


@pytest.fixture
def ledger_world(session):
    """Three sub-funds with contributions, a reservation, a payout and a release."""
    for code, amount in (("GD-PROV", 1_200_000_00), ("CITY-440700", 300_000_00), ("INS-PICC", 250_000_00)):
        subfunds.create_subfund(session, code=code, name=f"{code} 子基金", owner_type="other", region="440000",
                                actor="admin")
        subfunds.contribute(session, code, amount=amount, received_on=date(2026, 1, 5), reference=f"OPEN-{code}",
                            actor="admin")
    subfunds.contribute(session, "GD-PROV", amount=55_555_55, received_on=date(2026, 3, 1), reference="MAR-1",
                        actor="admin")
    prov = subfunds.get_subfund(session, "GD-PROV")
    available = subfunds.subfund_account(session, prov, "available")
    reserved = subfunds.subfund_account(session, prov, "reserved")
    one = journal.reserve(session, source=available, hold=reserved, amount=100_000_00, effective_on=date(2026, 4, 1))
    two = journal.reserve(session, source=available, hold=reserved, amount=7_777_77, effective_on=date(2026, 4, 2))
    journal.post_reservation(session, one, to=subfunds.subfund_account(session, prov, "paid"),
                             effective_on=date(2026, 4, 10), reference="PAY-1")
    journal.release_reservation(session, two, effective_on=date(2026, 4, 11))
    session.commit()
    return session


@pytest.fixture
def tokens(make_user, make_bank):
    make_bank("CCB-JM")
    return {role: bearer(make_user(role, name=f"u-{role}")) for role in ("auditor", "fund_admin", "approver",
                                                                          "reviewer")} | {
        "bank": bearer(make_user("bank", name="u-bank", bank="CCB-JM"))}


ENDPOINTS = [("get", "/api/v1/audit"), ("post", "/api/v1/audit/verify"), ("post", "/api/v1/journal/check"),
             ("get", "/api/v1/exports/journal.csv"), ("get", "/api/v1/exports/journal.jsonl"),
             ("get", "/api/v1/exports/audit.csv"), ("get", "/api/v1/exports/audit.jsonl")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("fund_admin", 200), ("approver", 200),
                                              ("reviewer", 403), ("bank", 403)])
def test_who_may_audit(client, ledger_world, tokens, method, path, role, status):
    r = getattr(client, method)(path, headers=tokens[role])
    assert r.status_code == status
    r.close()


def test_unauthenticated(client):
    assert client.get("/api/v1/audit").status_code == 401
    assert client.post("/api/v1/audit/verify").status_code == 401


def test_audit_log_pages_and_filters(client, ledger_world, tokens):
    auditor = tokens["auditor"]
    page = client.get("/api/v1/audit?per_page=3", headers=auditor).json
    assert page["page"] == 1 and page["per_page"] == 3 and len(page["items"]) == 3
    assert [e["seq"] for e in page["items"]] == [1, 2, 3]
    everything = client.get("/api/v1/audit?per_page=500", headers=auditor).json
    assert everything["total"] == len(everything["items"]) >= 7
    items = everything["items"]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(items, items[1:]))
    newest = client.get("/api/v1/audit?order=desc&per_page=1", headers=auditor).json["items"][0]
    assert newest["seq"] == everything["total"]
    prov = client.get("/api/v1/audit?entity_type=subfund&entity_id=GD-PROV", headers=auditor).json
    assert [e["action"] for e in prov["items"]] == ["subfund.create", "subfund.contribute", "subfund.contribute"]
    assert prov["items"][1]["after"]["amount"] == "1200000.00"
    assert client.get("/api/v1/audit?action=subfund.create", headers=auditor).json["total"] == 3
    assert client.get("/api/v1/audit?per_page=0", headers=auditor).status_code == 422


def test_chain_verification(client, ledger_world, tokens):
    r = client.post("/api/v1/audit/verify", headers=tokens["auditor"])
    assert r.status_code == 200
    report = r.json
    assert report["ok"] and report["first_broken"] is None and report["checked"] >= 7
    last = client.get("/api/v1/audit?order=desc&per_page=1", headers=tokens["auditor"]).json["items"][0]
    assert report["head_hash"] == last["hash"]
    bypass_triggers(ledger_world, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 4")
    report = client.post("/api/v1/audit/verify", headers=tokens["auditor"]).json
    assert (report["ok"], report["first_broken"]) == (False, 4)
    assert "altered" in report["reason"]


def test_journal_check(client, ledger_world, tokens):
    report = client.post("/api/v1/journal/check", headers=tokens["fund_admin"]).json
    assert report == {"ok": True, "accounts": report["accounts"], "mismatches": [], "unbalanced": []}
    assert report["accounts"] >= 15
    # Someone edits a cached balance behind the journal's back.
    ledger_world.execute(text("UPDATE accounts SET balance = balance + 1 WHERE code = 'subfund:GD-PROV:available'"))
    ledger_world.commit()
    report = client.post("/api/v1/journal/check", headers=tokens["auditor"]).json
    assert report["ok"] is False
    assert report["mismatches"] == [{"account": "subfund:GD-PROV:available", "cached": "1155555.56",
                                     "recomputed": "1155555.55", "difference": "0.01"}]


def _balances_from(rows) -> tuple[dict[str, int], dict[str, int]]:
    by_account: dict[str, int] = defaultdict(int)
    by_transaction: dict[str, int] = defaultdict(int)
    for row in rows:
        amount = parse_amount(row["amount"], allow_negative=True)
        debit = parse_amount(row["debit"]) if row["debit"] else 0
        credit = parse_amount(row["credit"]) if row["credit"] else 0
        assert amount == debit - credit
        by_account[row["account"]] += amount
        by_transaction[row["transaction_id"]] += amount
    return by_account, by_transaction


def _journal_balances(session) -> dict[str, int]:
    """Each account's balance in the debit direction, as the cached balances say."""
    return {a.code: (a.balance if a.normal_side == "debit" else -a.balance)
            for a in session.scalars(select(Account))}


def test_journal_exports_add_up(client, ledger_world, tokens):
    r = client.get("/api/v1/exports/journal.csv", headers=tokens["auditor"])
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.is_streamed
    assert r.headers["Content-Disposition"] == 'attachment; filename="journal-2026-06-30.csv"'
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    by_account, by_transaction = _balances_from(rows)
    assert set(by_transaction.values()) == {0}
    expected = {code: balance for code, balance in _journal_balances(ledger_world).items() if balance}
    assert {code: v for code, v in by_account.items() if v} == expected
    assert expected["subfund:GD-PROV:available"] == 1_155_555_55

    r = client.get("/api/v1/exports/journal.jsonl", headers=tokens["auditor"])
    assert r.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    keys = ("seq", "transaction_id", "posting_id", "account", "amount", "debit", "credit", "effective_on", "kind")
    assert [tuple(str(line[k] or "") for k in keys) for line in lines] == [tuple(row[k] for k in keys) for row in rows]
    assert all(isinstance(line["amount"], str) for line in lines)

    # A period: only the transactions dated in it.
    march = client.get("/api/v1/exports/journal.jsonl?from=2026-03-01&to=2026-03-31", headers=tokens["auditor"])
    march_rows = [json.loads(line) for line in march.get_data(as_text=True).splitlines()]
    assert {row["reference"] for row in march_rows} == {"MAR-1"} and len(march_rows) == 2


def test_audit_exports_rehash_offline(client, ledger_world, tokens):
    r = client.get("/api/v1/exports/audit.jsonl", headers=tokens["auditor"])
    entries = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    previous = GENESIS_HASH
    for entry in entries:
        fields = {k: entry[k] for k in ("seq", "occurred_at", "actor", "action", "entity_type", "entity_id",
                                        "before", "after")}
        if "journal" in entry:  # entries that cover journal transactions (SPEC §5.1)
            fields["journal"] = entry["journal"]
        assert entry["prev_hash"] == previous
        assert hashlib.sha256((previous + canonical_json(fields)).encode("utf-8")).hexdigest() == entry["hash"]
        previous = entry["hash"]
    assert previous == client.post("/api/v1/audit/verify", headers=tokens["auditor"]).json["head_hash"]

    r = client.get("/api/v1/exports/audit.csv", headers=tokens["auditor"])
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [int(row["seq"]) for row in rows] == [e["seq"] for e in entries]
    assert [json.loads(row["after"]) if row["after"] else None for row in rows] == [e["after"] for e in entries]
    later = client.get(f"/api/v1/exports/audit.jsonl?after_seq={len(entries) - 2}", headers=tokens["auditor"])
    assert [json.loads(line)["seq"] for line in later.get_data(as_text=True).splitlines()] == [
        len(entries) - 1, len(entries)]
