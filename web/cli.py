"""``ledger-admin``: the ledger's command line (the same commands run as
``flask --app wsgi <command>``).

Each package owns its commands (``api.commands``, ``console.cli``); this module only
collects them. Listing them builds no app: ``ledger-admin --help`` imports click and
the command modules, which import the ledger only inside a command. A command that
needs the app gets it from ``with_appcontext``, built then by ``web.create_app``.
"""

from __future__ import annotations

import gc
from typing import Any

import click
from flask.cli import FlaskGroup, ScriptInfo

from .commands import COMMANDS, register_commands


class LedgerAdmin(FlaskGroup):
    """Flask's group (``run``, ``shell``, ``routes``, ``--app``/``--env-file``), but
    listing and finding our own commands does not load the app: FlaskGroup would build
    it (and migrate the database) just to print ``--help``."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # The cyclic garbage collector is paused while the command starts and the
        # app is built, see _started.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return super().main(*args, **kwargs)
        finally:
            (gc.enable if was_enabled else gc.disable)()

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
    return _started(create_app(serving=False))


def _create_command_app() -> Any:
    from . import create_command_app

    return _started(create_command_app())


def _started(app: Any) -> Any:
    """Resume garbage collection for the command's own work, past what start-up built.

    Start-up (SQLAlchemy's ORM, the models, the app) makes about a hundred thousand
    objects that live until the process ends. Collecting while they are made, in the
    collections after, and in the full one at exit, the collector walks them all for
    nothing: about a third of a command's CPU (``bench/cli.py``). ``gc.freeze`` sets
    them aside (reference counting still frees them); only cyclic garbage made during
    start-up, if any, stays until the process ends."""
    gc.freeze()
    gc.enable()
    return app


main = LedgerAdmin(
    create_app=_create_app,
    help="Administer the Risk Compensation Ledger (database, users, checks, demo data).",
)
register_commands(main)
