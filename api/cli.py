"""Administrative commands: ``ledger-admin <command>`` or ``flask --app wsgi <command>``."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.orm import Session

from ledger import audit, auth, journal
from ledger.errors import DomainError
from ledger.migrate import upgrade
from ledger.models import ROLES


#: Example rule documents shipped with the code (GD-KJD, DG-KBD, JM-YKD).
EXAMPLE_RULES = Path(__file__).resolve().parent.parent / "rules" / "examples"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def cli_session(*, readonly: bool = False) -> Iterator[Session]:
    """A session committed when the block succeeds; domain errors become exit code 1."""
    session = current_app.extensions["ledger_readonly_sessions" if readonly else "ledger_sessions"]()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        session.close()


@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Apply pending database migrations."""
    upgrade(current_app.extensions["ledger_engine"])
    click.echo("Database schema is up to date.")


@click.command("create-bank")
@click.argument("code")
@click.argument("name")
@with_appcontext
def create_bank_command(code: str, name: str) -> None:
    """Create bank CODE named NAME and its API user; prints the token on the last line."""
    with cli_session() as session:
        bank, token = auth.create_bank(session, code, name, actor=cli_actor())
    click.echo(f"Created bank {bank.code} ({bank.name}) and its API user bank-{bank.code}. Token:")
    click.echo(token)


@click.command("create-user")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--bank", "bank_code", help="The bank a user with the bank role acts for.")
@with_appcontext
def create_user_command(name: str, roles: tuple[str, ...], bank_code: str | None) -> None:
    """Create user NAME with roles; prints the API token on the last line."""
    with cli_session() as session:
        user, token = auth.create_user(session, name, roles, actor=cli_actor(), bank_code=bank_code)
    click.echo(f"Created user {user.name} with roles {', '.join(sorted(user.roles))}. Token:")
    click.echo(token)


@click.command("verify-audit")
@with_appcontext
def verify_audit_command() -> None:
    """Re-hash the audit chain; exit 1 naming the first broken entry."""
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


def register_commands(app: Flask) -> None:
    from console.cli import set_password_command

    from .demo import demo_command
    from .evidence_cli import COMMANDS as EVIDENCE_COMMANDS
    from .integration_commands import COMMANDS as INTEGRATION_COMMANDS
    from .loan_reports import import_report_command
    from .loans import import_loans_command
    from .simulate_command import simulate_command
    from .statements import render_statement_command, verify_statement_command

    for command in (migrate_command, create_bank_command, create_user_command, verify_audit_command,
                    check_balances_command, demo_command, load_rules_command, import_loans_command, render_statement_command,
                    verify_statement_command, set_password_command, simulate_command, import_report_command):
        app.cli.add_command(command)
    for command in (*INTEGRATION_COMMANDS, *EVIDENCE_COMMANDS):
        app.cli.add_command(command)


def _create_app():  # type: ignore[no-untyped-def]
    from . import create_app

    # Administrative commands (and the development server) may run with the development
    # SECRET_KEY, with a warning; wsgi:app, what production serves, refuses it.
    return create_app(serving=False)


main = FlaskGroup(
    create_app=_create_app,
    help="Administer the Risk Compensation Ledger (database, users, checks, demo data).",
)
