"""Every package's commands, for ``ledger-admin`` (``web.cli``) and the app's
``flask`` CLI (``web.create_app``). Each package owns and defines its commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from api.commands import COMMANDS as API_COMMANDS
from console.cli import COMMANDS as CONSOLE_COMMANDS

COMMANDS = (*API_COMMANDS, *CONSOLE_COMMANDS)


def register_commands(group: click.Group | AppGroup) -> None:
    for command in COMMANDS:
        group.add_command(command)
