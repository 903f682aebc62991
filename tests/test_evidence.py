"""Evidence that survives an insider (SPEC §5.1, issue 12): each tampering an auditor
with database superuser rights could try is named by ``ledger-admin verify``, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from web import create_app
from ledger import checkpoints, verification
from ledger.statements.signing import check_signature, make_self_signed_pkcs12
from ledger.db import make_sessionmaker
from verifier.canonical import canonical_json, entry_fields, entry_hash

from .conftest import BUSINESS_DATE
from .evidence_world import build_world, entries, insider, rehash, set_json


@pytest.fixture(scope="session")
def bureau_p12(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The bureau's statement-signing certificate: self-signed, as the demo makes it."""
    path = tmp_path_factory.mktemp("pki") / "bureau.p12"
    make_self_signed_pkcs12(path, "test-passphrase")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def ledger_app(request, tmp_path, bureau_p12):  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("database_url" if request.param == "sqlite" else "pg_url")
    app = create_app({"DATABASE_URL": url, "TESTING": True, "BUSINESS_DATE": BUSINESS_DATE,
                      "SIGNING_KEY_PATH": str(tmp_path / "keys" / "checkpoint.pem"),
                      "STATEMENT_SIGNING_P12": str(bureau_p12), "STATEMENT_SIGNING_PASSPHRASE": "test-passphrase"})
    yield app
    app.extensions["ledger_engine"].dispose()


@pytest.fixture
def engine(ledger_app):  # type: ignore[no-untyped-def]
    return ledger_app.extensions["ledger_engine"]


@pytest.fixture
def world(ledger_app):  # type: ignore[no-untyped-def]
    with ledger_app.extensions["ledger_sessions"]() as session:  # hands out the statement signer
        return build_world(session)


@pytest.fixture
def cli(ledger_app):  # type: ignore[no-untyped-def]
    runner = ledger_app.test_cli_runner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(args=list(args))

    return run


@pytest.fixture
def kept(cli, tmp_path, world):  # type: ignore[no-untyped-def]
    """A checkpoint of the untouched ledger, kept outside the database (a file)."""
    assert cli("keys").exit_code == 0
    out = tmp_path / "checkpoint.json"
    result = cli("checkpoint", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def verify(cli, *checkpoint_files: Path):  # type: ignore[no-untyped-def]
    args = ["verify"]
    for path in checkpoint_files:
        args += ["--checkpoint", str(path)]
    return cli(*args)


def failed(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """check name -> its problem line, from `verify` output."""
    lines = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    return {line.split()[1].rstrip(":"): line.split(": ", 1)[1] for line in lines}


def head(connection) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    row = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
    return int(row.seq), row.hash


def test_an_untouched_ledger_verifies_with_its_checkpoint(cli, kept):
    result = verify(cli, kept)
    assert result.exit_code == 0, result.output
    names = [line.split()[1].rstrip(":") for line in result.output.splitlines() if line.startswith("ok")]
    assert names == ["chain", "entries", "checkpoints", "journal", "balances", "running_balances", "day_closings", "claims", "register", "rules", "loan_book"]
    checkpoint = json.loads(kept.read_text())
    assert set(checkpoint) == {"seq", "head", "issued_at", "key_id", "signature"}


def test_every_journal_transaction_is_covered_once_with_gap_free_numbers(engine, world):
    with engine.connect() as connection:
        listed = [ref for entry in entries(connection) for ref in entry["journal"] or []]
        count = connection.execute(text("SELECT count(*) FROM journal_transactions")).scalar()
        payout = [entry for entry in entries(connection) if entry["action"] == "claim.payout"]
    assert [ref["n"] for ref in listed] == list(range(1, count + 1))
    assert len({ref["id"] for ref in listed}) == count
    # The service's own entry carries its money: the payout entry covers the payouts.
    assert len(payout) == 1 and payout[0]["journal"]


def test_1_last_entry_deleted_and_head_rolled_back(cli, engine, kept):
    with insider(engine) as connection:
        seq, _ = head(connection)
        connection.execute(text("DELETE FROM audit_entries WHERE seq = :s"), {"s": seq})
        previous = connection.execute(text("SELECT hash FROM audit_entries WHERE seq = :s"), {"s": seq - 1}).scalar()
        connection.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq - 1, "h": previous})
    result = verify(cli, kept)
    assert result.exit_code == 1
    problems = failed(result)
    assert "chain" not in problems  # the chain itself is consistent again ...
    assert f"signed at entry {seq}, but the log now ends at entry {seq - 1}" in problems["checkpoints"]


def statement_verdict(cli, tmp_path, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "statement.pdf"
    path.write_bytes(data)
    return cli("verify-statement", str(path))


def test_2_last_three_entries_with_both_statement_issues_deleted(cli, engine, kept, world, tmp_path):
    with insider(engine) as connection:
        seq, _ = head(connection)
        actions = [e["action"] for e in entries(connection, seq - 2)]
        connection.execute(text("DELETE FROM audit_entries WHERE seq > :s"), {"s": seq - 3})
        rehash(connection, seq - 2)
    assert actions.count("statement.issue") == 2
    problems = failed(verify(cli, kept))
    assert "entries cut off after it" in problems["checkpoints"]
    assert f"statement {world.statements[0]} is registered but no statement.issue entry" in problems["register"]
    for number, data in zip(world.statements, world.pdfs):
        result = statement_verdict(cli, tmp_path, data)
        assert result.exit_code == 1 and f"NOT IN THE AUDIT CHAIN: claims to be {number}" in result.output


def test_3_entry_100_rewritten_and_everything_after_rehashed(cli, engine, kept):
    with insider(engine) as connection:
        entry = entries(connection, 100)[0]
        set_json(connection, 100, "after", {**(entry["after"] or {}), "actor_note": "rewritten"})
        rehash(connection, 100)
    result = verify(cli, kept)
    problems = failed(result)
    assert "chain" not in problems
    assert "no longer has the signed hash (history up to it was rewritten)" in problems["checkpoints"]


def test_columns_rewritten_under_an_intact_hashed_text(cli, engine, kept, world):
    # The chain hashes each entry's stored text; the application reads its columns. An
    # insider who rewrites only the columns leaves the chain and every checkpoint intact
    # (here: the payout entry made to read as a review, entry 100 given another actor).
    with insider(engine) as connection:
        payout = next(e for e in entries(connection) if e["action"] == "claim.payout")
        connection.execute(text("UPDATE audit_entries SET action = 'claim.review' WHERE seq = :s"),
                           {"s": payout["seq"]})
        set_json(connection, payout["seq"], "after", {**(payout["after"] or {}), "amount": "1.00"})
        connection.execute(text("UPDATE audit_entries SET actor = 'nobody' WHERE seq = 100"))
    result = verify(cli, kept)
    problems = failed(result)
    assert "chain" not in problems and "checkpoints" not in problems
    first, second = sorted([100, payout["seq"]])
    assert problems["entries"] == f"entry {first} was altered: its columns no longer say what its hashed text says (and 1 more)"
    assert f"entry {second}" not in problems["entries"]  # named by count, in order
    single = cli("verify-audit")
    assert single.exit_code == 1 and f"BROKEN at entry {first}" in single.output
    # The export carries the hashed text, so the offline verifier reads the entries as written.


def forge_payout(engine, world) -> int:  # type: ignore[no-untyped-def]
    """Append a claim.payout entry with a valid hash, as the application's own database
    rights allow (no trigger touched), and move the head; returns its seq."""
    from datetime import datetime, timezone

    with engine.begin() as connection:
        seq, prev = head(connection)
        moment = datetime.now(timezone.utc)
        after = {"amount": "1000000.00", "payment_reference": "FORGED", "offsets": {}}
        fields = entry_fields(seq + 1, moment.isoformat(timespec="microseconds"), "approver", "claim.payout", "claim",
                              str(world.approved.id), None, after)
        digest = entry_hash(prev, fields)
        json_null, json_after = (("CAST('null' AS JSON)", "CAST(:after AS JSON)")
                                 if connection.dialect.name == "postgresql" else ("'null'", ":after"))
        connection.execute(text(
            "INSERT INTO audit_entries (seq, occurred_at, actor, action, entity_type, entity_id, before, after, journal, "
            f"prev_hash, hash, canonical) VALUES (:seq, :at, 'approver', 'claim.payout', 'claim', :id, {json_null}, "
            f"{json_after}, {json_null}, :prev, :hash, :text)"),
            {"seq": seq + 1, "at": moment, "id": str(world.approved.id), "after": canonical_json(after), "prev": prev,
             "hash": digest, "text": canonical_json(fields)})
        connection.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq + 1, "h": digest})
    return seq + 1


def test_4_forged_payout_entry_appended_with_application_rights(cli, engine, kept, world):
    forged = forge_payout(engine, world)
    problems = failed(verify(cli, kept))
    assert "chain" not in problems
    assert f"entry {forged} (claim.payout) moves money but covers no journal transaction" in problems["journal"]


def _contribution_postings(connection, transaction_id: str) -> list[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    return [tuple(row) for row in connection.execute(text(
        "SELECT p.id, p.account_id, p.amount FROM journal_postings p "
        "JOIN journal_transactions t ON t.id = p.transaction_id WHERE t.kind = 'contribution' AND t.reference = :r"),
        {"r": transaction_id})]


def test_5_both_legs_of_a_contribution_raised_and_balances_adjusted(cli, engine, kept):
    with insider(engine) as connection:
        for posting_id, account_id, amount in _contribution_postings(connection, "OPEN-GD-PROV"):
            delta = 1_000_000_00 if amount > 0 else -1_000_000_00
            connection.execute(text("UPDATE journal_postings SET amount = amount + :d WHERE id = :i"),
                               {"d": delta, "i": posting_id})
            # Cached balances are in each account's normal direction: both go up.
            connection.execute(text("UPDATE accounts SET balance = balance + 100000000 WHERE id = :i"), {"i": account_id})
    problems = failed(verify(cli, kept))
    assert "balances" not in problems  # the insider made the cache agree ...
    assert "was altered: its postings no longer match the digest" in problems["journal"]


def test_6_a_whole_contribution_deleted_and_balances_adjusted(cli, engine, kept, world):
    with insider(engine) as connection:
        for _posting_id, account_id, _amount in _contribution_postings(connection, "BIG-1"):
            connection.execute(text("UPDATE accounts SET balance = balance - 5000000000 WHERE id = :i"), {"i": account_id})
        connection.execute(text("DELETE FROM journal_postings WHERE transaction_id IN "
                                "(SELECT id FROM journal_transactions WHERE reference = 'BIG-1')"))
        connection.execute(text("DELETE FROM journal_transactions WHERE reference = 'BIG-1'"))
    problems = failed(verify(cli, kept))
    assert "balances" not in problems
    assert "is missing from the journal" in problems["journal"] and world.big_contribution[:8] in problems["journal"]


def test_7_claim_approved_amount_and_payer_lines_times_ten(cli, engine, kept, world):
    with insider(engine) as connection:
        connection.execute(text("UPDATE claims SET approved_amount = approved_amount * 10 WHERE id = :i"),
                           {"i": world.paid.id})
        connection.execute(text("UPDATE claim_payer_lines SET amount = amount * 10 WHERE claim_id = :i"),
                           {"i": world.paid.id})
        connection.execute(text("UPDATE reservations SET amount = amount * 10 WHERE id IN "
                                "(SELECT reservation_id FROM claim_payer_lines WHERE claim_id = :i)"), {"i": world.paid.id})
    problems = failed(verify(cli, kept))
    assert f"claim {world.paid.id}" in problems["claims"]
    assert "but the journal reserved" in problems["claims"] or "recorded in the chain" in problems["claims"]


def test_9_a_rule_document_rewritten_and_then_its_hash_too(cli, engine, kept):
    """Raising a cap in the stored rules is named; rehashing the document to cover it is
    named against the rules.publish entry, which the chain holds."""
    raise_cap = ("UPDATE rule_versions SET document = :d WHERE id = (SELECT min(id) FROM rule_versions)")
    with insider(engine) as connection:
        row = connection.execute(text("SELECT id, document FROM rule_versions ORDER BY id LIMIT 1")).one()
        document = json.loads(row.document) if isinstance(row.document, str) else row.document
        document["max_ratio"] = "0.95"
        connection.execute(text(raise_cap), {"d": canonical_json(document)})
    problems = failed(verify(cli, kept))
    assert "no longer hashes to its SHA-256" in problems["rules"]
    with insider(engine) as connection:
        connection.execute(text("UPDATE rule_versions SET document_sha256 = :h WHERE id = :i"),
                           {"h": hashlib.sha256(canonical_json(document).encode()).hexdigest(), "i": row.id})
    problems = failed(verify(cli, kept))
    assert "differs from the one in entry" in problems["rules"]
    with insider(engine) as connection:  # loans still point at it: only an insider can
        connection.execute(text("DELETE FROM rule_versions WHERE id = :i"), {"i": row.id})
    problems = failed(verify(cli, kept))
    assert "is missing" in problems["rules"]


def altered(data: bytes) -> bytes:
    """The issued PDF with one figure changed in its uncompressed signature dictionary area:
    here, simply a byte of the body flipped (what an editor saving the file would do)."""
    middle = len(data) // 3
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def test_8_register_row_inserted_for_an_altered_pdf(cli, engine, kept, world, tmp_path):
    forged = altered(world.pdfs[0])
    assert statement_verdict(cli, tmp_path, forged).exit_code == 1  # before: unknown bytes, altered
    with engine.begin() as connection:  # the application's own rights: INSERT is allowed
        connection.execute(text(
            "INSERT INTO statements (number, kind, scope, language, sha256, state_sha256, audit_seq, audit_hash, "
            "filename, size, issued_by, issued_at) SELECT 'BCJ-2026-000099', kind, scope, language, :fake, "
            "state_sha256, audit_seq, audit_hash, filename, size, issued_by, issued_at FROM statements "
            "WHERE kind = 'claim'"), {"fake": hashlib.sha256(forged).hexdigest()})
    result = statement_verdict(cli, tmp_path, forged)
    assert result.exit_code == 1 and "NOT IN THE AUDIT CHAIN" in result.output and "AUTHENTIC" not in result.output
    problems = failed(verify(cli, kept))
    assert "statement BCJ-2026-000099 is registered but no statement.issue entry" in problems["register"]
    # The untouched statement still verifies, signature and all.
    genuine = statement_verdict(cli, tmp_path, world.pdfs[0])
    assert genuine.exit_code == 0 and "signed by the bureau" in genuine.output


def test_issued_statements_are_signed_pades_and_reissue_gives_the_same_bytes(ledger_app, world):
    from ledger import statements

    from .evidence_world import FUND, TODAY

    for data in world.pdfs:
        check = check_signature(data)
        assert check.valid, check.reason
        assert b"/ETSI.CAdES.detached" in data  # PAdES, readable by any PDF reader
    assert not check_signature(altered(world.pdfs[0])).valid
    with ledger_app.extensions["ledger_sessions"]() as session:
        again, data = statements.issue_statement(session, "claim", str(world.paid.id), None, "zh", "auditor", FUND,
                                                 today=TODAY)
        session.commit()
    assert again.number == world.statements[0] and data == world.pdfs[0]


def test_an_auditor_copy_of_a_signed_statement_is_the_issued_file(ledger_app, world):
    # An auditor's download issues nothing (ledger.statements.copies) and must still be
    # the signed file the register names, byte for byte.
    from io import BytesIO

    from ledger.statements import copies

    from .evidence_world import FUND, TODAY

    with ledger_app.extensions["ledger_sessions"]() as session:
        out = BytesIO()
        copy = copies.copy_of_issued(session, "claim", str(world.paid.id), None, "zh", FUND, out, today=TODAY)
    assert copy.statement.number == world.statements[0] and out.getvalue() == world.pdfs[0]
    assert check_signature(out.getvalue()).valid


def test_checkpoint_signature_forged_or_from_another_key_is_refused(cli, kept, tmp_path):
    checkpoint = json.loads(kept.read_text())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**checkpoint, "head": "f" * 64}))
    problems = failed(verify(cli, forged))
    assert "signature that does not verify" in problems["checkpoints"]


def test_auditor_api_issues_checkpoints_and_runs_the_same_checks(ledger_app, engine, kept, cli):
    from ledger import auth

    with make_sessionmaker(engine)() as session:
        _user, token = auth.create_user(session, "auditor-1", ["auditor"], actor="test")
        session.commit()
    client = ledger_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    issued = client.post("/api/v1/audit/checkpoints", headers=headers)
    assert issued.status_code == 201, issued.json
    assert client.get("/api/v1/audit/checkpoints/latest", headers=headers).json == issued.json
    kept_checkpoint = json.loads(kept.read_text())
    r = client.post("/api/v1/audit/verify", json={"checkpoints": [kept_checkpoint, issued.json]}, headers=headers)
    assert r.status_code == 200 and r.json["ok"], r.json
    assert [c["name"] for c in r.json["checks"]] == ["chain", "entries", "checkpoints", "journal", "balances", "running_balances", "day_closings", "claims", "register", "rules", "loan_book"]
    assert r.json["checks"][2]["checked"] == 2 + 2  # the two handed in and the two the ledger kept

    with insider(engine) as connection:
        connection.execute(text("UPDATE journal_postings SET amount = amount * 2 WHERE id IN (1, 2)"))
    with make_sessionmaker(engine, readonly=True)() as session:
        report = verification.run(session, public_key=checkpoints.load_key(
            Path(ledger_app.config["SIGNING_KEY_PATH"])).public_key())
    api = client.post("/api/v1/audit/verify", headers=headers).json
    assert api == report.as_dict() and not api["ok"]
    assert failed(cli("verify"))["journal"] == report.first("journal").problem


# -- the offline verifier ------------------------------------------------------------------


def offline(tmp_path, cli, *checkpoint_files: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Export, then run ``ledger-verify`` in a fresh interpreter that must not load any database code."""
    import subprocess
    import sys

    export = tmp_path / "export"
    result = cli("export", str(export))
    assert result.exit_code == 0, result.output
    public = tmp_path / "bureau.pub"
    assert cli("keys", "--public-out", str(public)).exit_code == 0
    args = [str(export), "--public-key", str(public)]
    for path in checkpoint_files:
        args += ["--checkpoint", str(path)]
    code = ("import sys; from verifier.cli import main; rc = main(sys.argv[1:]); "
            "leaked = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'ledger', 'api', 'flask', 'psycopg', 'sqlite3')); "
            "print('LEAKED', leaked) if leaked else None; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert "LEAKED" not in done.stdout, done.stdout
    return done.returncode, done.stdout + done.stderr


def test_offline_verifier_accepts_an_untouched_export(tmp_path, cli, kept):
    code, output = offline(tmp_path, cli, kept)
    assert code == 0, output
    assert "ok      balances" in output and "ok      journal" in output


def test_offline_verifier_names_a_rewritten_posting(tmp_path, cli, engine, kept):
    with insider(engine) as connection:
        for posting_id, account_id, amount in _contribution_postings(connection, "OPEN-GD-PROV"):
            connection.execute(text("UPDATE journal_postings SET amount = amount * 2 WHERE id = :i"), {"i": posting_id})
    code, output = offline(tmp_path, cli, kept)
    assert code == 1
    assert "FAILED  journal: transaction" in output and "was altered" in output
    assert "FAILED  balances: account subfund:GD-PROV" in output  # the cache was left as it was


def test_bank_and_subfund_statements_print_the_latest_checkpoint(ledger_app, kept):
    import re

    from ledger import statements

    from .evidence_world import FUND, TODAY
    from .test_statements_pdf import text_of

    checkpoint = json.loads(kept.read_text())
    for kind, scope in (("subfund", "GD-PROV"), ("bank", "CCB-JM")):
        with ledger_app.extensions["ledger_sessions"]() as session:
            _row, data = statements.issue_statement(session, kind, scope, (TODAY.replace(day=1), TODAY), "en",
                                                    "auditor", FUND, today=TODAY)
            session.commit()
        flat = re.sub(r"\s+", "", text_of(data))
        assert f"Latestauditcheckpoint:entry{checkpoint['seq']},head{checkpoint['head']}" in flat, kind
        assert checkpoint["signature"].replace(" ", "") in flat


def test_offline_verifier_names_a_forged_payout_and_a_cut_off_tail(tmp_path, cli, engine, kept, world):
    # The export's audit.chain is read without parsing every entry: what it learns must
    # still name a money entry covering nothing, and entries cut after a checkpoint.
    forged = forge_payout(engine, world)
    code, output = offline(tmp_path, cli, kept)
    assert code == 1 and "ok      chain" in output
    assert f"FAILED  journal: entry {forged} (claim.payout) moves money but covers no journal transaction" in output
    with insider(engine) as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE seq >= :s"), {"s": forged - 3})
        rehash(connection, forged - 3)
    code, output = offline(tmp_path / "again", cli, kept)
    assert code == 1 and "entries cut off after it" in output
    assert f"statement {world.statements[0]} is registered but no statement.issue entry" in output
