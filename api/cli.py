"""What every package's ``ledger-admin`` commands share: who acts, and the command's
transaction.

Commands live with the package that owns them (``api.commands``, ``console.cli``) and
are collected by ``web.cli``. A command module imports only click and this module at
the top, and the ledger inside the command: listing the commands (``--help``) must
not pay for importing the domain or building the app.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Example rule documents shipped with the code (GD-KJD, DG-KBD, JM-YKD).
EXAMPLE_RULES = Path(__file__).resolve().parent.parent / "rules" / "examples"


def cli_actor() -> str:
    """The audit trail's actor for a command: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def cli_session(*, readonly: bool = False) -> Iterator[Session]:
    """The command's transaction: committed when the block succeeds (the command, not
    the service, commits); a domain error rolls back and becomes exit code 1."""
    from ledger.errors import DomainError

    session = current_app.extensions["ledger_readonly_sessions" if readonly else "ledger_sessions"]()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        session.close()
