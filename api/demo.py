"""Demo data: banks, bureau users and sub-funds, with their tokens printed."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import EXAMPLE_RULES, cli_actor, cli_session

#: The sub-funds of SPEC §3.3's worked examples, with opening contributions.
DEMO_SUBFUNDS = [
    ("GD-PROV", "广东省科技信贷风险准备金", "province", "440000", 200_000_000_00),
    ("CITY-440700", "江门市子基金", "city", "440700", 50_000_000_00),
    ("CITY-440500", "汕头市子基金", "city", "440500", 50_000_000_00),
    ("CITY-441900", "东莞市子基金", "city", "441900", 50_000_000_00),
    ("INS-PICC", "人保财险风险分担子基金", "insurer", "440000", 80_000_000_00),
    ("COUNTY-440781", "台山市子基金", "county", "440781", 10_000_000_00),
]
DEMO_BANKS = [("ICBC-GD", "中国工商银行广东省分行"), ("CCB-JM", "中国建设银行江门分行"),
              ("ABC-DG", "中国农业银行东莞分行"), ("GDRCB-ST", "汕头农村商业银行")]
DEMO_USERS = [("reviewer1", ["reviewer"]), ("approver1", ["approver"]), ("admin1", ["fund_admin"]),
              ("auditor1", ["auditor"])]


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the example schemes, demo banks, users and funded sub-funds (once); prints every token."""
    from sqlalchemy import select

    from ledger import auth, clock, passwords, subfunds

    from .demo_history import load_history, summary
    from ledger.models import Bank
    from ledger.schemes import load_rule_files

    actor = cli_actor()
    with cli_session() as session:
        if session.scalar(select(Bank.id).limit(1)) is not None:
            click.echo("The ledger already has data; demo data is only loaded into an empty one. "
                       "Tokens are stored hashed: make a new one with `ledger-admin create-user`.")
            return
        tokens = []
        console_logins = []
        for code, name in DEMO_BANKS:
            _bank, token = auth.create_bank(session, code, name, actor=actor)
            tokens.append((f"bank-{code}", "bank", token))
        for name, roles in DEMO_USERS:
            _user, token = auth.create_user(session, name, roles, actor=actor)
            password = secrets.token_urlsafe(9)
            passwords.set_password(session, name, password, actor=actor)
            tokens.append((name, ",".join(roles), token))
            console_logins.append((name, password))
        for code, name, owner, region, amount in DEMO_SUBFUNDS:
            subfunds.create_subfund(session, code=code, name=name, owner_type=owner, region=region, actor=actor)
            subfunds.contribute(session, code, amount=amount, received_on=date(2026, 1, 5),
                                reference=f"DEMO-{code}-OPENING", actor=actor)
        published = load_rule_files(session, EXAMPLE_RULES, actor=actor)
        session.flush()
        # A year of history through the ledger's services (api/demo_history.py).
        history = load_history(session, today=clock.today(current_app.config["BUSINESS_DATE"]), actor=actor)
    for name, outcome in published:
        click.echo(f"Rules {name}: {outcome}")
    click.echo(summary(history))
    click.echo("Demo data loaded. API tokens (shown once, stored only as hashes):")
    for name, roles, token in tokens:
        click.echo(f"  {name:<14} {roles:<11} {token}")
    click.echo("Console logins at /console/ (passwords shown once):")
    for name, password in console_logins:
        click.echo(f"  {name:<14} {password}")
    _demo_signing_material()


def _demo_signing_material() -> None:
    """The checkpoint key and a self-signed statement certificate in the instance folder
    (SPEC §5.1); a real bureau uses its own certificate (STATEMENT_SIGNING_P12)."""
    from flask import current_app

    from ledger import checkpoints
    from ledger.statements.signing import DEMO_PKCS12_FILE, make_self_signed_pkcs12
    from verifier.signing import key_id_of

    key_path = checkpoints.key_path(current_app.instance_path, current_app.config.get("SIGNING_KEY_PATH"))
    key = checkpoints.load_key(key_path, create=True)
    click.echo(f"Checkpoint signing key {key_path} (key_id {key_id_of(key.public_key())}).")
    configured = current_app.config.get("STATEMENT_SIGNING_P12")
    if configured:
        click.echo(f"Statements are signed with {configured}.")
        return
    p12 = key_path.parent / DEMO_PKCS12_FILE  # beside the checkpoint key
    if not p12.exists():
        make_self_signed_pkcs12(p12, None)
    click.echo(f"Statements are signed with the self-signed demo certificate {p12} "
               "(a bureau sets STATEMENT_SIGNING_P12 to its own).")
    _sign_from_now_on(p12)


def _sign_from_now_on(p12: Path) -> None:
    """Statements issued later in this process are signed too (a later start picks the
    file up in web._configure_statement_signer)."""
    from ledger.statements.signing import SIGNER_INFO_KEY, StatementSigner

    signer = StatementSigner.from_pkcs12(p12, None)
    for name in ("ledger_sessions", "ledger_readonly_sessions"):
        current_app.extensions[name].configure(info={SIGNER_INFO_KEY: signer})
