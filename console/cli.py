"""``ledger-admin set-password NAME``: give a user a console password."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from api.cli import cli_actor, cli_session


@click.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts) instead of prompting.")
@with_appcontext
def set_password_command(name: str, password_stdin: bool) -> None:
    """Set user NAME's console password (asked twice); clears any lock-out."""
    from ledger import passwords

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    with cli_session() as session:
        passwords.set_password(session, name, password, actor=cli_actor())
    click.echo(f"Console password set for {name}.")


#: Registered on ``ledger-admin`` and on the app's ``flask`` CLI by ``web.cli``.
COMMANDS = (set_password_command,)
