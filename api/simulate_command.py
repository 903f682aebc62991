"""``ledger-admin simulate``: SPEC §8 from the command line, with a progress bar,
writing an XLSX workbook and a PDF report. Records nothing.

Only click is imported at the top; the ledger, numpy and reportlab load when the
command runs, so ``ledger-admin --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext


def _scenario_data(file: Path | None, flags: dict[str, Any], today: str) -> dict[str, Any]:
    """The scenario from a TOML file (its top-level keys, or a ``[scenario]`` table),
    then each flag given on the command line over it."""
    import tomllib

    data: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--scenario") from None
        data = dict(loaded.get("scenario", loaded))
        for key, value in list(data.items()):
            if hasattr(value, "isoformat"):  # a TOML date: the strict reader wants text
                data[key] = value.isoformat()
    for key, value in flags.items():
        if value is not None:
            data[key] = value
    data.setdefault("as_of", today)
    return data


@click.command("simulate")
@click.argument("scheme")
@click.option("--scenario", "scenario_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file with the scenario keys (as_of, horizon_months, default_rate, recovery_rate, runs, "
                   "seed); default_rate may be a table. Flags override it.")
@click.option("--as-of", help="Portfolio as of the end of this day (YYYY-MM-DD); default: the business date.")
@click.option("--horizon", "horizon_months", type=int, help="Months simulated.")
@click.option("--default-rate", help='One probability of default over the horizon for every loan, e.g. "0.02".')
@click.option("--recovery-rate", help='Share of the eligible loss recovered after default, e.g. "0.3".')
@click.option("--runs", type=int, help="Number of runs.")
@click.option("--seed", type=int, help="Random seed: the same seed gives the same result.")
@click.option("--rules", "draft_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A draft rule file (TOML) to compare with the rules in force; validated, never published.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Workbook to write (default: simulation-SCHEME-AS_OF-SEED.xlsx).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="PDF report to write (default: simulation-SCHEME-AS_OF-SEED.pdf).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the answer as JSON (the API's bytes).")
@click.option("--lang", type=click.Choice(("zh", "en")), default="zh", show_default=True, help="Report language.")
@with_appcontext
def simulate_command(scheme: str, scenario_file: Path | None, as_of: str | None, horizon_months: int | None,
                     default_rate: str | None, recovery_rate: str | None, runs: int | None, seed: int | None,
                     draft_file: Path | None, xlsx_path: Path | None, pdf_path: Path | None, json_path: Path | None,
                     lang: str) -> None:
    """Simulate defaults over SCHEME's live portfolio (SPEC §8); nothing is recorded.

    Prints expected, P95 and P99 payout and the depletion probability per sub-fund, for
    the rules in force and, with --rules, for the draft.
    """
    import tomllib

    from ledger import clock
    from ledger import simulations as service
    from ledger.errors import DomainError
    from rules.money import format_grouped, parse_amount, percent_text
    from rules.simulation import dumps

    today = clock.today(current_app.config.get("BUSINESS_DATE")).isoformat()
    flags = {"as_of": as_of, "horizon_months": horizon_months, "default_rate": default_rate,
             "recovery_rate": recovery_rate, "runs": runs, "seed": seed}
    draft_document = None
    if draft_file is not None:
        try:
            draft_document = tomllib.loads(draft_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--rules") from None
    session = current_app.extensions["ledger_readonly_sessions"]()
    try:
        scenario = service.parse_scenario(_scenario_data(scenario_file, flags, today))
        sides = 2 if draft_document is not None else 1
        with click.progressbar(length=scenario.runs * sides, label="Simulating", file=sys.stderr,
                               show_pos=True) as bar:
            last = 0

            def progress(done: int, total: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = done

            result = service.run_simulation(session, scheme, scenario, draft_document=draft_document,
                                            progress=progress)
    except DomainError as exc:
        details = "".join(f"\n  {field}: {'; '.join(msgs)}" for field, msgs in exc.errors.items())
        raise click.ClickException(f"{exc.code}: {exc.message}{details}") from None
    finally:
        session.rollback()
        session.close()

    stem = f"simulation-{scheme}-{result['as_of']}-{scenario.seed}"
    xlsx_path = xlsx_path or Path(f"{stem}.xlsx")
    pdf_path = pdf_path or Path(f"{stem}.pdf")
    xlsx_path.write_bytes(service.workbook(result))
    from pdf import load_font

    pdf_path.write_bytes(service.report_pdf(result, lang=lang, fund_name=current_app.config.get("FUND_NAME", ""),
                                            font=load_font(current_app.config.get("PDF_FONT_PATH") or None)))
    if json_path is not None:
        json_path.write_bytes(dumps(result))

    click.echo(f"{scheme}: {result['loans']:,} live loans as of {result['as_of']}, {scenario.runs:,} runs, "
               f"seed {scenario.seed}")
    for side in ("current", "draft"):
        if result[side] is None:
            continue
        click.echo(f"{'rules in force' if side == 'current' else 'draft rules'}:")
        click.echo(f"  {'sub-fund':<14}{'available':>20}{'expected':>20}{'P95':>20}{'P99':>20}  P(depleted)")
        for row in result[side]["subfunds"]:
            figures = "".join(f"{format_grouped(parse_amount(row[k])):>20}"
                              for k in ("available", "expected_payout", "p95_payout", "p99_payout"))
            click.echo(f"  {row['subfund']:<14}{figures}  {percent_text(row['depletion_probability'])}")
    click.echo(f"Wrote {xlsx_path} and {pdf_path}" + (f" and {json_path}" if json_path else "") + ".")


COMMANDS = (simulate_command,)

__all__ = ["COMMANDS", "simulate_command"]
