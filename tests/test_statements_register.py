"""The statement register (SPEC §5, §6): numbers, one number per ledger state, the
register in the audit chain, and verification of PDFs (service and CLI)."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pytest
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from ledger import audit, statements, subfunds
from ledger.errors import ValidationFailed
from ledger.models import AuditEntry, Statement

from .test_statements_pdf import FUND, TODAY, text_of, world  # noqa: F401 - the world fixture

PERIOD = (date(2026, 5, 1), date(2026, 6, 30))


def issue(session, kind, scope, period=None, lang="zh", actor="auditor1"):
    row, data = statements.issue_statement(session, kind, scope, period, lang, actor, FUND, today=TODAY)
    session.commit()
    return row, data


def foreign_pdf(text: str = "Statement BCJ-2099-000001") -> bytes:
    """A PDF made elsewhere: a bare reportlab canvas."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, text)
    canvas.save()
    return buffer.getvalue()


def test_issuing_registers_the_statement_in_the_audit_chain(world, session):
    head_before = audit.chain_head(session)
    row, data = issue(session, "claim", str(world.claim.id))
    assert row.number == "BCJ-2026-000001"
    assert (row.kind, row.scope, row.language, row.period_from, row.period_to) == ("claim", str(world.claim.id), "zh",
                                                                                   None, None)
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    assert (row.audit_seq, row.audit_hash) == head_before
    assert row.filename == f"BCJ-2026-000001_claim-{world.claim.id}.pdf"
    text = text_of(data)
    assert "BCJ-2026-000001" in text and row.state_sha256 in text
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert (entry.action, entry.entity_type, entry.entity_id) == ("statement.issue", "statement", "BCJ-2026-000001")
    assert entry.after["sha256"] == row.sha256 and entry.after["state_sha256"] == row.state_sha256
    assert audit.verify_chain(session).ok


def test_the_same_state_gives_the_same_statement_and_bytes(world, session):
    first, data = issue(session, "claim", str(world.claim.id))
    again, data_again = issue(session, "claim", str(world.claim.id), actor="someone-else")
    assert again.id == first.id and data_again == data
    assert session.scalar(select(func.count()).select_from(Statement)) == 1
    # Another language is another statement, with its own number.
    english, _ = issue(session, "claim", str(world.claim.id), lang="en")
    assert english.number == "BCJ-2026-000002" and english.state_sha256 != first.state_sha256


def test_numbers_run_per_kind(world, session):
    assert issue(session, "subfund", "GD-PROV", PERIOD)[0].number == "ZJD-2026-000001"
    assert issue(session, "bank", "CCB-JM", PERIOD)[0].number == "YHD-2026-000001"
    assert issue(session, "subfund", "INS-PICC", PERIOD)[0].number == "ZJD-2026-000002"
    assert issue(session, "claim", str(world.claim.id))[0].number == "BCJ-2026-000001"


def test_an_issued_period_is_closed_and_its_statement_never_changes(world, session):
    # SPEC §1: a movement dated inside a period closed by an issued statement is refused;
    # the correction goes into the open period, and the statement is reissued unchanged.
    first, data = issue(session, "subfund", "GD-PROV", PERIOD)
    with pytest.raises(ValidationFailed) as refused:
        subfunds.contribute(session, "GD-PROV", amount=1_000_00, received_on=date(2026, 6, 29), reference="LATE-1",
                            actor="admin", today=date(2026, 7, 2))
    assert refused.value.code == "period_closed" and "received_on" in refused.value.errors
    session.rollback()
    subfunds.contribute(session, "GD-PROV", amount=1_000_00, received_on=date(2026, 7, 1), reference="LATE-1",
                        actor="admin", today=date(2026, 7, 2))
    session.commit()
    second, data_second = issue(session, "subfund", "GD-PROV", PERIOD)
    assert (second.number, second.state_sha256, data_second) == (first.number, first.state_sha256, data)
    assert statements.verify_pdf(session, data).issued


def test_verify_authentic_altered_and_foreign(world, session):
    row, data = issue(session, "claim", str(world.claim.id))
    result = statements.verify_pdf(session, data)
    assert (result.issued, result.altered, result.verdict, result.statement.number) == (True, False, "authentic",
                                                                                        row.number)
    # Flip one byte in the middle of the file (inside a compressed page stream).
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0x01
    result = statements.verify_pdf(session, bytes(tampered))
    assert (result.issued, result.altered, result.verdict) == (False, True, "altered")
    assert result.statement.number == row.number
    # A PDF made elsewhere, with or without a number that looks like ours.
    for foreign in (foreign_pdf(), foreign_pdf("Hello"), b"not a pdf at all"):
        result = statements.verify_pdf(session, foreign)
        assert (result.issued, result.altered, result.statement, result.verdict) == (False, False, None,
                                                                                     "not_issued_here")


def test_every_single_byte_change_is_noticed(world, session):
    """Whatever byte is changed, the file is never taken for the issued statement, and
    as long as its number is still readable it is reported as altered."""
    row, data = issue(session, "claim", str(world.claim.id))
    step = max(1, len(data) // 200)
    for position in range(0, len(data), step):
        tampered = bytearray(data)
        tampered[position] ^= 0x20
        result = statements.verify_pdf(session, bytes(tampered))
        assert not result.issued
        if result.statement is not None:
            assert result.altered and result.statement.number == row.number


def test_a_statement_copied_into_another_pdf_is_altered(world, session):
    """A forged PDF that carries one of our numbers is 'altered', not 'not issued'."""
    row, _data = issue(session, "claim", str(world.claim.id))
    result = statements.verify_pdf(session, foreign_pdf(f"Statement {row.number}"))
    assert (result.issued, result.altered, result.statement.number) == (False, True, row.number)


def test_invalid_requests(world, session):
    from ledger.errors import InvalidTransition, NotFound, ValidationFailed

    with pytest.raises(NotFound):
        issue(session, "claim", "999999")
    with pytest.raises(InvalidTransition):
        issue(session, "claim", str(world.submitted.id))
    with pytest.raises(NotFound):
        issue(session, "subfund", "NOPE", PERIOD)
    with pytest.raises(ValidationFailed) as error:
        issue(session, "subfund", "GD-PROV", (date(2026, 6, 1), date(2026, 7, 1)))
    assert error.value.code == "period_in_future"
    with pytest.raises(ValidationFailed) as error:
        issue(session, "subfund", "GD-PROV", (date(2026, 6, 2), date(2026, 6, 1)))
    assert error.value.code == "invalid_period"
    with pytest.raises(ValidationFailed):
        issue(session, "claim", str(world.claim.id), lang="fr")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Statement)) == 0


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_render_and_verify(world, runner, session, tmp_path):
    out = tmp_path / "claim.pdf"
    result = runner.invoke(args=["render-statement", "claim", str(world.claim.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Issued BCJ-2026-000001" in result.output
    data = out.read_bytes()
    assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in result.output
    # Again: the same registered statement, the same bytes.
    again = tmp_path / "again.pdf"
    result = runner.invoke(args=["render-statement", "claim", str(world.claim.id), "--out", str(again)])
    assert "Already registered BCJ-2026-000001" in result.output and again.read_bytes() == data

    result = runner.invoke(args=["verify-statement", str(out)])
    assert result.exit_code == 0 and "AUTHENTIC: BCJ-2026-000001" in result.output
    tampered = tmp_path / "tampered.pdf"
    raw = bytearray(data)
    raw[len(raw) // 3] ^= 0x01
    tampered.write_bytes(bytes(raw))
    result = runner.invoke(args=["verify-statement", str(tampered)])
    assert result.exit_code == 1 and "ALTERED" in result.output
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes(foreign_pdf("hello"))
    result = runner.invoke(args=["verify-statement", str(foreign)])
    assert result.exit_code == 1 and "NOT ISSUED HERE" in result.output


def test_cli_period_statement_default_name(world, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["render-statement", "subfund", "GD-PROV", "--from", "2026-05-01", "--to",
                                 "2026-06-30", "--lang", "en"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "ZJD-2026-000001_subfund-GD-PROV_2026-05-01_2026-06-30.pdf"
    assert path.exists() and "Sub-fund Statement" in text_of(path.read_bytes())
    result = runner.invoke(args=["render-statement", "bank", "NOPE"])
    assert result.exit_code == 1 and "bank_not_found" in result.output
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_rendering_change_never_reuses_a_number_for_other_bytes(world, session, monkeypatch, caplog):
    """If new software renders an unchanged state differently, the registered number
    cannot be handed out with other bytes: the statement is issued anew."""
    import pdf.layout

    first, data = issue(session, "claim", str(world.claim.id))
    monkeypatch.setattr(pdf.layout, "PRODUCER", "Risk Compensation Ledger 2.0 (reportlab)")
    with caplog.at_level("WARNING"):
        second, data_second = issue(session, "claim", str(world.claim.id))
    assert "issuing it anew" in caplog.text
    assert (second.number, second.state_sha256) == ("BCJ-2026-000002", first.state_sha256)
    assert data_second != data
    assert statements.verify_pdf(session, data).issued and statements.verify_pdf(session, data_second).issued
    third, data_third = issue(session, "claim", str(world.claim.id))
    assert third.id == second.id and data_third == data_second
