"""``ledger-admin``: the ledger's command line (the same commands run as
``flask --app wsgi <command>``).

Each package owns its commands (``api.commands``, ``console.cli``); this module only
collects them. Listing them builds no app: ``ledger-admin --help`` imports click and
the command modules, which import the ledger only inside a command. A command that
needs the app gets it from ``with_appcontext``, built then by ``web.create_app``.
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import FlaskGroup, ScriptInfo

from .commands import COMMANDS, register_commands


class LedgerAdmin(FlaskGroup):
    """Flask's group (``run``, ``shell``, ``routes``, ``--app``/``--env-file``), but
    listing and finding our own commands does not load the app: FlaskGroup would build
    it (and migrate the database) just to print ``--help``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = self.commands.get(name)
        if command is None:
            return super().get_command(ctx, name)  # plugins and app.cli: loads the app
        if command in COMMANDS:
            # Ours need the ledger, not the web app (Flask's run/shell/routes do).
            ctx.ensure_object(ScriptInfo).create_app = _create_command_app
        return command


def _create_app() -> Any:
    from . import create_app

    # Administrative commands (and the development server) may run with the development
    # SECRET_KEY, with a warning; wsgi:app, what production serves, refuses it.
    return create_app(serving=False)


def _create_command_app() -> Any:
    from . import create_command_app

    return create_command_app()


main = LedgerAdmin(
    create_app=_create_app,
    help="Administer the Risk Compensation Ledger (database, users, checks, demo data).",
)
register_commands(main)
