"""A small ledger built through the services, and the tools of an insider who tampers
with it (SPEC §5.1): triggers switched off, rows rewritten, the chain re-hashed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

import rules
from ledger import approvals, auth, claims, schemes, statements, subfunds
from ledger.models import Claim, User
from verifier.canonical import canonical_json, entry_fields, entry_hash, utc_text

from .test_statements_pdf import FUND, RULES, make_enterprise, make_loan

TODAY = date(2026, 6, 30)
SUBFUNDS = [("GD-PROV", "province", "440000"), ("INS-PICC", "insurer", "440000"), ("CITY-440700", "city", "440700")]


@dataclass
class World:
    paid: Claim
    approved: Claim
    big_contribution: str  # transaction id of the 50,000,000.00 contribution
    statements: list[str]  # numbers
    pdfs: list[bytes]  # as issued


def build_world(session: Session, *, padding: int = 100) -> World:
    bank, _ = auth.create_bank(session, "CCB-JM", "中国建设银行江门分行", actor="test")
    reviewer, _ = auth.create_user(session, "reviewer", ["reviewer"], actor="test")
    approver, _ = auth.create_user(session, "approver", ["approver"], actor="test")
    for code, owner, region in SUBFUNDS:
        subfunds.create_subfund(session, code=code, name=f"{code} fund", owner_type=owner, region=region, actor="test")
        subfunds.contribute(session, code, amount=100_000_000_00, received_on=date(2026, 1, 5),
                            reference=f"OPEN-{code}", actor="test")
    schemes.publish(session, "GD-KJD", rules.load_file(RULES / "gd-kjd.toml").document, actor="test")
    session.commit()
    enterprise = make_enterprise(session, bank, "91440703MA4UJ8XX0B", "江门市蓬江区智造农业科技有限公司", "440703",
                                 ["tech_sme", "agri_tech"])
    loans = [make_loan(session, bank, enterprise, f"JM-{n}", 3_000_000_00) for n in (1, 2)]
    make_loan(session, bank, enterprise, "JM-3", 500_000_000_00)  # keeps the bank's NPL ratio low
    session.commit()
    made = []
    for loan in loans:
        claim = claims.submit_claim(session, claims.ClaimInput(loan.id, date(2026, 2, 1), 3_000_000_00),
                                    bank_id=bank.id, actor="bank-CCB-JM", today=TODAY)
        session.commit()
        claims.review_claim(session, claim, reviewer=session.get_one(User, reviewer.id), recommendation="approve",
                            comment="ok")
        session.commit()
        approvals.approve_claim(session, claim, approver=session.get_one(User, approver.id), today=TODAY)
        session.commit()
        made.append(claim)
    approvals.pay_claim(session, made[0], actor="approver", payment_reference="PAY-1", paid_on=TODAY)
    session.commit()
    big = subfunds.contribute(session, "GD-PROV", amount=50_000_000_00, received_on=TODAY, reference="BIG-1",
                              actor="test")
    session.commit()
    # Enough history that "entry 100" is in the middle of it.
    for n in range(padding):
        subfunds.contribute(session, "INS-PICC", amount=1_00 + n, received_on=TODAY, reference=f"PAD-{n}", actor="test")
    session.commit()
    numbers, pdfs = [], []
    for kind, scope, period in (("claim", str(made[0].id), None), ("subfund", "GD-PROV", (date(2026, 1, 1), TODAY))):
        row, data = statements.issue_statement(session, kind, scope, period, "zh", "auditor", FUND, today=TODAY)
        session.commit()
        numbers.append(row.number)
        pdfs.append(data)
    return World(made[0], made[1], str(big.transaction_id), numbers, pdfs)


# -- the insider ------------------------------------------------------------------------


@contextmanager
def insider(engine: Engine) -> Iterator[Connection]:
    """A connection on which append-only triggers and foreign keys do not hold, committed
    at the end: PostgreSQL's replica role (as a superuser may); on SQLite the triggers
    dropped and put back, and foreign keys off (as anyone with the file may)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
        return
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or it is ignored
        try:
            with connection.begin():
                triggers = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
                for name, _sql in triggers:
                    connection.execute(text(f'DROP TRIGGER "{name}"'))
                yield connection
                for _name, sql in triggers:
                    connection.execute(text(sql))
        finally:
            driver.execute("PRAGMA foreign_keys = ON")  # the pooled connection goes back as it came


def entries(connection: Connection, since: int = 1) -> list[dict[str, Any]]:
    rows = connection.execute(text("SELECT * FROM audit_entries WHERE seq >= :s ORDER BY seq"), {"s": since}).mappings()
    out = []
    for row in rows:
        entry = dict(row)
        for name in ("before", "after", "journal"):
            if isinstance(entry[name], str):
                import json

                entry[name] = json.loads(entry[name])
        out.append(entry)
    return out


def _as_datetime(value: Any) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value) if isinstance(value, str) else value


def rehash(connection: Connection, since: int) -> None:
    """Re-chain every entry from ``since`` (its hashed text rewritten from its columns)
    and move the head to match, as an insider covering their tracks would."""
    prev = connection.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": since - 1}).scalar()
    prev = prev or "0" * 64
    last, journal_seq = since - 1, None
    for entry in entries(connection, since):
        fields = entry_fields(entry["seq"], utc_text(_as_datetime(entry["occurred_at"])), entry["actor"],
                              entry["action"], entry["entity_type"], entry["entity_id"], entry["before"],
                              entry["after"], entry["journal"])
        digest = entry_hash(prev, fields)
        connection.execute(text("UPDATE audit_entries SET prev_hash = :p, hash = :h, canonical = :c WHERE seq = :s"),
                           {"p": prev, "h": digest, "c": canonical_json(fields), "s": entry["seq"]})
        prev, last = digest, entry["seq"]
    for entry in entries(connection, 1):
        for ref in entry["journal"] or []:
            journal_seq = ref["n"]
    connection.execute(text("UPDATE audit_head SET seq = :s, hash = :h, journal_seq = :j"),
                       {"s": last, "h": prev, "j": journal_seq or 0})


def set_json(connection: Connection, seq: int, column: str, value: Any) -> None:
    cast = "CAST(:v AS JSON)" if connection.dialect.name == "postgresql" else ":v"
    connection.execute(text(f"UPDATE audit_entries SET {column} = {cast} WHERE seq = :s"),
                       {"v": canonical_json(value) if value is not None else None, "s": seq})
