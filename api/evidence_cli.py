"""Evidence commands (SPEC §5.1): ``keys``, ``checkpoint``, ``verify``, ``export``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import cli_session


def signing_key_path() -> Path:
    from ledger import checkpoints

    return checkpoints.key_path(current_app.instance_path, current_app.config.get("SIGNING_KEY_PATH"))


def bureau_public_key(given: Path | None) -> Any:
    """The key checkpoints are checked with: the auditor's copy if given, else the bureau's own."""
    from ledger import checkpoints
    from verifier.signing import load_public_key

    if given is not None:
        return load_public_key(given.read_bytes())
    path = signing_key_path()
    return checkpoints.load_key(path).public_key() if path.exists() else None


@click.command("keys")
@click.option("--public-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the public key (PEM) to this file, for auditors and banks.")
@with_appcontext
def keys_command(public_out: Path | None) -> None:
    """Create the checkpoint signing key if absent (SIGNING_KEY_PATH, default
    instance/signing/checkpoint-ed25519.pem); print its key_id and public key."""
    from ledger import checkpoints
    from verifier.signing import key_id_of, public_pem

    path = signing_key_path()
    existed = path.exists()
    public = checkpoints.load_key(path, create=True).public_key()
    click.echo(f"{'Using' if existed else 'Created'} Ed25519 key {path}", err=True)
    click.echo(f"key_id: {key_id_of(public)}")
    click.echo(public_pem(public), nl=False)
    if public_out is not None:
        public_out.write_text(public_pem(public), encoding="ascii")


@click.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the checkpoint to FILE.")
@with_appcontext
def checkpoint_command(out: Path | None) -> None:
    """Sign the audit chain's head; print the checkpoint JSON {seq, head, issued_at, key_id, signature}.

    Keep the output outside the database (auditors, banks): `verify --checkpoint FILE`
    later proves nothing up to its entry was rewritten and nothing after it cut off.
    """
    from ledger import checkpoints

    try:
        key = checkpoints.load_key(signing_key_path())
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    with cli_session() as session:
        checkpoint = checkpoints.issue(session, key)
    text = json.dumps(checkpoint, sort_keys=True)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    click.echo(text)


def read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not a checkpoint file ({exc})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: not a checkpoint file")
    return data


@click.command("verify")
@click.option("--checkpoint", "checkpoint_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A checkpoint kept outside the database; repeat for several.")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The bureau's public key (PEM) to check signatures with; default: the instance's own key.")
@with_appcontext
def verify_command(checkpoint_files: tuple[Path, ...], public_key: Path | None) -> None:
    """Run every check (chain, checkpoints, journal coverage and gaps, balances, claims,
    statement register, loan-book figures); print one line per check and exit 1 naming the first problem of each kind."""
    from ledger import verification

    given = [(str(path), read_checkpoint(path)) for path in checkpoint_files]
    with cli_session(readonly=True) as session:
        report = verification.run(session, checkpoints=given, public_key=bureau_public_key(public_key))
    for result in report.checks:
        if result.ok:
            click.echo(f"ok      {result.name}: {result.checked} checked")
        else:
            more = f" (and {result.problems - 1} more)" if result.problems > 1 else ""
            click.echo(f"FAILED  {result.name}: {result.problem}{more}", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo(f"Everything verifies; audit head {report.head_seq} {report.head_hash}.")


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(directory: Path) -> None:
    """Write the journal, audit log, accounts, checkpoints and statement register to
    DIRECTORY (JSON Lines; the audit log as audit.chain, the bytes its hashes are taken
    over), for `ledger-verify DIRECTORY --public-key KEY`."""
    from ledger import exports

    with cli_session(readonly=True) as session:
        counts = exports.write_directory(session, directory)
    for name, count in counts.items():
        click.echo(f"{name}: {count} rows")


COMMANDS = (keys_command, checkpoint_command, verify_command, export_command)
