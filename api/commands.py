"""``ledger-admin`` commands owned by the API package: the database, users, checks,
rules, loans and statements (``console.cli`` has the console's).

Only click is imported here; each command imports what it runs when it runs, so that
``ledger-admin --help`` stays fast. The choices below are literal for the same reason
(``tests/test_architecture.py`` checks them against the ledger's).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import EXAMPLE_RULES, cli_actor, cli_session
from .demo import demo_command
from .evidence_cli import COMMANDS as EVIDENCE_COMMANDS
from .integration_commands import COMMANDS as INTEGRATION_COMMANDS
from .simulate_command import simulate_command

#: ``ledger.models.ROLES``.
ROLES = ("bank", "reviewer", "approver", "fund_admin", "auditor")
#: ``ledger.statements.KINDS`` and ``LANGS``.
STATEMENT_KINDS = ("claim", "subfund", "bank")
STATEMENT_LANGS = ("zh", "en")
#: ``ledger.bulk.BATCH_SIZE``.
IMPORT_BATCH_SIZE = 500

@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Apply pending database migrations."""
    from ledger.migrate import upgrade

    upgrade(current_app.extensions["ledger_engine"])
    click.echo("Database schema is up to date.")


@click.command("create-bank")
@click.argument("code")
@click.argument("name")
@with_appcontext
def create_bank_command(code: str, name: str) -> None:
    """Create bank CODE named NAME and its API user; prints the token on the last line."""
    from ledger import auth

    with cli_session() as session:
        bank, token = auth.create_bank(session, code, name, actor=cli_actor())
    click.echo(f"Created bank {bank.code} ({bank.name}) and its API user bank-{bank.code}. Token:")
    click.echo(token)


@click.command("create-user")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several bureau roles. 'bank' is exclusive: no other role with it.")
@click.option("--bank", "bank_code", help="The bank a user with the bank role acts for (only with --role bank).")
@with_appcontext
def create_user_command(name: str, roles: tuple[str, ...], bank_code: str | None) -> None:
    """Create user NAME with roles; prints the API token on the last line.

    The bank role is exclusive (SPEC §4): a bank user holds no other role, and a bureau
    user acts for no bank; either mix is refused (exclusive_bank_role).
    """
    from ledger import auth

    with cli_session() as session:
        user, token = auth.create_user(session, name, roles, actor=cli_actor(), bank_code=bank_code)
    click.echo(f"Created user {user.name} with roles {', '.join(sorted(user.roles))}. Token:")
    click.echo(token)


@click.command("verify-audit")
@with_appcontext
def verify_audit_command() -> None:
    """Re-hash the audit chain and check its columns; exit 1 naming the first broken entry."""
    from ledger import audit

    with cli_session(readonly=True) as session:
        report = audit.verify_chain(session)
    if report.ok:
        click.echo(f"Audit chain intact: {report.checked} entries, head {report.head_hash}.")
        return
    click.echo(f"Audit chain BROKEN at entry {report.first_broken}: {report.reason}", err=True)
    sys.exit(1)


@click.command("check-balances")
@with_appcontext
def check_balances_command() -> None:
    """Recompute every balance from the journal; exit 1 on any mismatch."""
    from ledger import journal

    with cli_session(readonly=True) as session:
        mismatches = journal.check_balances(session)
        unbalanced = journal.unbalanced_transactions(session)
    for m in mismatches:
        click.echo(f"MISMATCH {m.account}: cached {m.cached} fen, journal {m.recomputed} fen", err=True)
    for txn in unbalanced:
        click.echo(f"UNBALANCED transaction {txn}", err=True)
    if mismatches or unbalanced:
        sys.exit(1)
    click.echo("All balances agree with the journal and every transaction balances.")


@click.command("load-rules")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--examples", is_flag=True, help="Load the example schemes shipped in rules/examples/.")
@with_appcontext
def load_rules_command(directory: Path | None, examples: bool) -> None:
    """Publish every *.toml rule file in DIRECTORY (default: instance/rules) not yet published.

    A file whose scheme already has a version from the same date is skipped (and said
    so, loudly, when its content differs: publish a later version instead).
    """
    from ledger.schemes import load_rule_files

    if examples:
        directory = EXAMPLE_RULES
    directory = directory or Path(current_app.instance_path) / "rules"
    if not directory.is_dir():
        raise click.ClickException(f"No directory {directory}.")
    with cli_session() as session:
        outcomes = load_rule_files(session, directory, actor=cli_actor())
    for name, outcome in outcomes:
        click.echo(f"{name}: {outcome}")
    if not outcomes:
        click.echo(f"No *.toml files in {directory}.")


# -- loans ---------------------------------------------------------------------------


@click.command("import-loans")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "bank_code", required=True, help="The bank the loans are registered for.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the failed rows to this CSV file.")
@click.option("--batch-size", default=IMPORT_BATCH_SIZE, show_default=True, help="Rows per committed batch.")
@with_appcontext
def import_loans_command(path: Path, bank_code: str, errors_path: Path | None, batch_size: int) -> None:
    """Register the loans in a CSV or XLSX file for bank CODE; exit 1 if any row failed.

    Batches are committed as they go: if the import stops half way, run it again.
    """
    from ledger import bulk, clock
    from ledger.errors import DomainError

    session = current_app.extensions["ledger_sessions"]()
    try:
        bank_id = _bank_id(session, bank_code)
        data = path.read_bytes()
        with click.progressbar(length=1, label=f"Importing {path.name}", file=sys.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            try:
                report = bulk.import_loans(
                    session, data, bank_id=bank_id, today=clock.today(current_app.config["BUSINESS_DATE"]),
                    actor=f"{cli_actor()} for bank {bank_code}", filename=path.name, batch_size=batch_size,
                    commit=session.commit, progress=progress)
            except DomainError as exc:
                session.rollback()
                details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
                raise click.ClickException(f"{exc.code}: {exc.message} {details}".strip()) from None
    finally:
        session.close()
    for row in report.failed:
        for error in row.errors:
            click.echo(f"row {row.row} ({row.external_id or '-'}): {error['field']}: {error['code']}: "
                       f"{error['message']}", err=True)
    if errors_path is not None:
        _write_errors(errors_path, report)
    totals = report.totals
    click.echo(f"{totals['rows']} rows: {totals['created']} created, {totals['unchanged']} unchanged, "
               f"{totals['failed']} failed.")
    if totals["failed"]:
        sys.exit(1)


def _write_errors(path: Path, report) -> None:  # type: ignore[no-untyped-def]  # ledger.bulk.ImportReport
    import csv

    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel opens it as UTF-8
        writer = csv.writer(handle)
        writer.writerow(["row", "external_id", "field", "code", "message"])
        for row in report.failed:
            for error in row.errors:
                writer.writerow([row.row, row.external_id or "", error["field"], error["code"], error["message"]])


@click.command("import-report")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "bank_code", required=True, help="The bank whose report it is.")
@click.option("--period", help="The month reported, YYYY-MM (default: the month before today).")
@with_appcontext
def import_report_command(path: Path, bank_code: str, period: str | None) -> None:
    """Apply bank CODE's monthly loan-level report from a CSV or XLSX file, with a progress bar.

    Prints the reconciliation: events applied, live loans missing, unknown loans,
    mismatches, and whether the report is late. A second report for a month is a
    correction: only differences are applied.
    """
    from datetime import timedelta

    from ledger import bulk, clock, loan_reports
    from ledger.errors import DomainError

    today = clock.today(current_app.config["BUSINESS_DATE"])
    if period is None:
        last_month = today.replace(day=1) - timedelta(days=1)
        period = f"{last_month.year:04d}-{last_month.month:02d}"
    session = current_app.extensions["ledger_sessions"]()
    try:
        bank_id = _bank_id(session, bank_code)
        data = path.read_bytes()
        try:
            _start, end = loan_reports.parse_period(period)
            lines = loan_reports.read_file(data, period_end=end, filename=path.name)
            with click.progressbar(length=max(len(lines), 1), label=f"Applying {path.name}", file=sys.stderr) as bar:
                report = loan_reports.apply_report(
                    session, bank_id=bank_id, period=period, lines=lines, today=today,
                    actor=f"{cli_actor()} for bank {bank_code}", body=data, filename=path.name,
                    source="xlsx" if bulk.is_xlsx(data, filename=path.name) else "csv",
                    progress=lambda done: bar.update(done - bar.pos))
            session.commit()
        except DomainError as exc:
            session.rollback()
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in list(exc.errors.items())[:20])
            raise click.ClickException(f"{exc.code}: {exc.message} {details}".strip()) from None
        result = report.result
    finally:
        session.close()
    for mismatch in result["mismatches"]:
        click.echo(f"mismatch {mismatch['external_id']}: {mismatch['code']}: {mismatch['message']}", err=True)
    for external_id in result["unknown"]:
        click.echo(f"unknown {external_id}", err=True)
    for external_id in result["missing"]:
        click.echo(f"missing {external_id}", err=True)
    click.echo(f"Report {report.id} for {period} ({'correction ' + str(result['sequence']) if result['correction'] else 'first'}"
               f"{', LATE' if result['late'] else ''}): {result['lines']} lines, {len(result['applied'])} events applied, "
               f"{result['unchanged']} unchanged, {len(result['missing'])} missing, {len(result['unknown'])} unknown, "
               f"{len(result['mismatches'])} mismatches.")


def _bank_id(session, code: str) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from ledger.models import Bank

    bank_id = session.scalar(select(Bank.id).where(Bank.code == code))
    if bank_id is None:
        raise click.ClickException(f"No bank {code}.")
    return int(bank_id)


# -- statements -------------------------------------------------------------------------


@click.command("render-statement")
@click.argument("kind", type=click.Choice(STATEMENT_KINDS))
@click.argument("scope")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (sub-fund and bank statements).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day; default today.")
@click.option("--lang", type=click.Choice(STATEMENT_LANGS), default="zh", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="File to write; default its registered name.")
@with_appcontext
def render_statement_command(kind: str, scope: str, start, end, lang: str, out_path: str | None) -> None:  # type: ignore[no-untyped-def]
    """Issue and write a statement: claim ID | subfund CODE | bank CODE.

    The statement is registered (or, for an unchanged ledger state, the registered
    one is written again, byte for byte).
    """
    from ledger import statements as service
    from pdf.fonts import load_font

    from . import context

    today = context.today()
    directory = Path(out_path).resolve().parent if out_path else Path.cwd()
    handle, temporary = tempfile.mkstemp(prefix=".statement-", suffix=".pdf", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file, cli_session() as session:
            period = None if kind == "claim" else service.parse_period(
                start.date() if start else None, end.date() if end else None, today=today)
            issued = service.issue_statement_to(
                session, kind, scope, period, lang, cli_actor(), current_app.config["FUND_NAME"], file, today=today,
                font=load_font(current_app.config.get("PDF_FONT_PATH") or None))
            row = issued.statement
            number, digest, state = row.number, issued.sha256, row.state_sha256
            target = Path(out_path) if out_path else directory / row.filename
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    click.echo(f"{'Already registered' if issued.reused else 'Issued'} {number}: {target} "
               f"({issued.pages} pages, {issued.size} bytes)")
    click.echo(f"SHA-256 {digest}")
    click.echo(f"Ledger state SHA-256 {state}")


@click.command("verify-statement")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def verify_statement_command(file: str) -> None:
    """Check a PDF: exit 1 unless it is registered, its issue entry is in the audit chain
    and (for a signed statement) its PAdES signature holds."""
    from ledger import statements as service

    with cli_session(readonly=True) as session:
        result = service.verify_pdf(session, Path(file).read_bytes())
        number = result.statement.number if result.statement is not None else None
    if result.issued:
        click.echo(f"AUTHENTIC: {number}. {result.reason}")
        return
    label = {"not_in_chain": "NOT IN THE AUDIT CHAIN", "signature_invalid": "SIGNATURE INVALID"}.get(
        result.verdict, "ALTERED" if result.altered else "NOT ISSUED HERE")
    click.echo(f"{label}{f': claims to be {number}' if number else ''}. {result.reason}", err=True)
    sys.exit(1)


#: Registered on ``ledger-admin`` and on the app's ``flask`` CLI by ``web.cli``.
COMMANDS = (migrate_command, create_bank_command, create_user_command, verify_audit_command, check_balances_command,
            demo_command, load_rules_command, import_loans_command, render_statement_command, verify_statement_command,
            simulate_command, import_report_command, *INTEGRATION_COMMANDS, *EVIDENCE_COMMANDS)
