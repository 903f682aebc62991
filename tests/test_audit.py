"""The hash-chained audit log: tamper evidence (SPEC §5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger import audit, subfunds
from ledger.models import AuditEntry


@pytest.fixture
def chain(session: Session) -> Session:
    for code in ("GD-PROV", "CITY-440700", "INS-PICC"):
        subfunds.create_subfund(session, code=code, name=code, owner_type="other", region="440000", actor="alice")
        session.commit()
    assert audit.chain_head(session)[0] == 3
    return session


def bypass_triggers(session: Session, statement: str, params: dict | None = None) -> None:
    """Tamper the way a DBA with superuser rights could: around the triggers."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
        session.execute(text(statement), params or {})
    else:
        session.execute(text("DROP TRIGGER audit_entries_no_update"))
        session.execute(text("DROP TRIGGER audit_entries_no_delete"))
        session.execute(text(statement), params or {})
    session.commit()


def test_entries_record_who_did_what(chain):
    entries = chain.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [(e.seq, e.actor, e.action, e.entity_id) for e in entries] == [
        (1, "alice", "subfund.create", "GD-PROV"),
        (2, "alice", "subfund.create", "CITY-440700"),
        (3, "alice", "subfund.create", "INS-PICC"),
    ]
    assert entries[0].after == {"name": "GD-PROV", "owner_type": "other", "region": "440000"}
    assert entries[1].prev_hash == entries[0].hash
    report = audit.verify_chain(chain)
    assert report.ok and report.checked == 3 and report.head_hash == entries[-1].hash


def test_rolled_back_changes_leave_no_entry(chain):
    subfunds.create_subfund(chain, code="CITY-440500", name="x", owner_type="city", region="440500", actor="bob")
    chain.rollback()
    assert audit.chain_head(chain)[0] == 3
    assert audit.verify_chain(chain).ok


@pytest.mark.parametrize("statement", ["UPDATE audit_entries SET actor = 'mallory'", "DELETE FROM audit_entries"])
def test_audit_rows_cannot_be_changed_through_sql(chain, statement):
    with pytest.raises(DBAPIError, match="append-only"):
        chain.execute(text(statement))
    chain.rollback()


def test_an_altered_entry_is_named(chain):
    bypass_triggers(chain, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2")
    report = audit.verify_chain(chain)
    assert not report.ok and report.first_broken == 2 and "altered" in report.reason


def test_an_altered_payload_is_named(chain):
    bypass_triggers(chain, "UPDATE audit_entries SET after = :a WHERE seq = 3", {"a": '{"name": "forged"}'})
    report = audit.verify_chain(chain)
    assert (report.ok, report.first_broken) == (False, 3)


def test_a_removed_entry_is_named(chain):
    bypass_triggers(chain, "DELETE FROM audit_entries WHERE seq = 2")
    report = audit.verify_chain(chain)
    assert (report.ok, report.first_broken) == (False, 2)
    assert "missing" in report.reason


def test_entries_removed_from_the_end_are_noticed(chain):
    bypass_triggers(chain, "DELETE FROM audit_entries WHERE seq = 3")
    report = audit.verify_chain(chain)
    assert (report.ok, report.first_broken) == (False, 3)


def test_reordered_entries_are_named(chain):
    # Swap the contents of entries 1 and 2, keeping their sequence numbers.
    rows = {e.seq: e for e in chain.scalars(select(AuditEntry))}
    chain.expunge_all()
    cols = ("entity_id", "hash", "prev_hash")
    bypass_triggers(
        chain,
        "UPDATE audit_entries SET entity_id = CASE seq WHEN 1 THEN :e2 ELSE :e1 END, "
        "hash = CASE seq WHEN 1 THEN :h2 ELSE :h1 END, prev_hash = CASE seq WHEN 1 THEN :p2 ELSE :p1 END "
        "WHERE seq IN (1, 2)",
        {f"{c[0]}{n}": getattr(rows[n], c) for c in cols for n in (1, 2)},
    )
    report = audit.verify_chain(chain)
    assert (report.ok, report.first_broken) == (False, 1)


def test_verify_cli_exits_non_zero_naming_the_entry(chain, runner):
    ok = runner.invoke(args=["verify-audit"])
    assert ok.exit_code == 0, ok.output
    assert "intact: 3 entries" in ok.output
    bypass_triggers(chain, "UPDATE audit_entries SET action = 'subfund.delete' WHERE seq = 2")
    broken = runner.invoke(args=["verify-audit"])
    assert broken.exit_code == 1
    assert "BROKEN at entry 2" in broken.output


def test_check_balances_cli(chain, runner):
    subfunds.contribute(chain, "GD-PROV", amount=500, received_on=__import__("datetime").date(2026, 1, 1),
                        reference="R1", actor="alice")
    chain.commit()
    assert runner.invoke(args=["check-balances"]).exit_code == 0
    chain.execute(text("UPDATE accounts SET balance = 1 WHERE code = 'subfund:GD-PROV:available'"))
    chain.commit()
    result = runner.invoke(args=["check-balances"])
    assert result.exit_code == 1
    assert "MISMATCH subfund:GD-PROV:available: cached 1 fen, journal 500 fen" in result.output
