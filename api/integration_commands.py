"""``ledger-admin worker`` and ``ledger-admin tokens …``: bank integration (issue 15)."""

from __future__ import annotations

import signal
import threading
from datetime import datetime, time, timedelta, timezone

import click
from flask import current_app
from flask.cli import with_appcontext


def worker_settings(config):  # type: ignore[no-untyped-def]
    from ledger.webhooks import UrlPolicy
    from ledger.worker import WorkerSettings

    from .webhooks import config_flag

    return WorkerSettings(
        policy=UrlPolicy(allow_private=config_flag(config.get("WEBHOOK_ALLOW_PRIVATE")),
                         require_https=config_flag(config.get("WEBHOOK_REQUIRE_HTTPS", True))),
        timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
        lease=timedelta(seconds=float(config.get("WEBHOOK_LEASE_SECONDS", 60))),
        business_date=config.get("BUSINESS_DATE"),
    )


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron and tests).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver webhook events to the banks' receivers until SIGTERM or Ctrl-C.

    Several workers may run at once on PostgreSQL (they claim disjoint deliveries);
    run one on SQLite. A stop signal lets the delivery in flight finish first.
    """
    from ledger.db import make_sessionmaker
    from ledger.worker import Worker

    worker = Worker(make_sessionmaker(current_app.extensions["ledger_engine"]), worker_settings(current_app.config))
    try:
        if once:
            made = worker.run_once()
            click.echo(f"Made {made} delivery attempt(s).")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"Webhook worker {worker.name} started.")
        worker.run(stop)
        click.echo(f"Webhook worker {worker.name} stopped.")
    finally:
        worker.close()


@click.group("tokens")
def tokens_group() -> None:
    """List, create and revoke API tokens (a bank's API user is bank-<CODE>)."""


@tokens_group.command("list")
@click.option("--user", "user_name", help="Only this user's tokens.")
@click.option("--bank", "bank_code", help="Only the tokens of this bank's users.")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
@with_appcontext
def tokens_list_command(user_name: str | None, bank_code: str | None, include_revoked: bool) -> None:
    """Tokens with their id, prefix, name, creation, expiry and last use (never the secret)."""
    from ledger import tokens

    from .cli import cli_session

    with cli_session(readonly=True) as session:
        user = tokens.get_user(session, user_name) if user_name else None
        rows = tokens.list_tokens(session, user=user, bank_code=bank_code, include_revoked=include_revoked)
        click.echo(f"{'id':>5}  {'prefix':10}  {'user':24}  {'name':20}  {'created':16}  {'expires':16}  "
                   f"{'last used':16}  revoked")
        for row in rows:
            click.echo(f"{row.id:>5}  {row.prefix:10}  {row.user.name:24}  {row.name:20}  {_when(row.created_at):16}  "
                       f"{_when(row.expires_at):16}  {_when(row.last_used_at):16}  {_when(row.revoked_at)}")


@tokens_group.command("create")
@click.argument("user_name")
@click.option("--name", required=True, help='What the token is for ("core banking").')
@click.option("--expires", type=click.DateTime(formats=["%Y-%m-%d"]), help="Refused from this date on (UTC midnight).")
@with_appcontext
def tokens_create_command(user_name: str, name: str, expires: datetime | None) -> None:
    """Issue another token for USER_NAME; prints the token alone on the last line."""
    from ledger import tokens

    from .cli import cli_actor, cli_session

    expires_at = datetime.combine(expires.date(), time(0), timezone.utc) if expires else None
    with cli_session() as session:
        user = tokens.get_user(session, user_name)
        row, token = tokens.issue(session, user, name=name, expires_at=expires_at, actor=cli_actor())
    click.echo(f"Issued token {row.id} ({row.prefix}…) named {name!r} for {user_name}. Token:")
    click.echo(token)


@tokens_group.command("revoke")
@click.argument("reference")
@with_appcontext
def tokens_revoke_command(reference: str) -> None:
    """Revoke the token with this id or prefix; refused from the next request on."""
    from ledger import tokens

    from .cli import cli_actor, cli_session

    with cli_session() as session:
        row = tokens.revoke(session, tokens.get_token(session, reference), actor=cli_actor())
        click.echo(f"Revoked token {row.id} ({row.prefix}…) of {row.user.name}.")


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


COMMANDS = (worker_command, tokens_group)
