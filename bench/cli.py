"""``ledger-admin`` start-up: ``--help`` and typical commands against
``python -c "import flask, sqlalchemy"``, medians of fresh processes.

    .venv/bin/python bench/cli.py [--repeat 7]
    .venv/bin/python bench/cli.py --before /tmp/before   # also an older tree, same run

``--before`` times ``ledger-admin`` from another source tree too (e.g. ``git archive
main | tar -x -C /tmp/before``) on the same database, alternating with the baseline
and this tree, so before and after are compared under the same load.

Every figure is a new interpreter (what an operator or a cron job pays), run from
this source tree on a scratch SQLite database migrated once before timing; each
command alternates with the baseline so both see the same machine load. The goal
(issue 13): under 1 s, and at most 2x the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT  # first: puts the project root on sys.path

BASELINE = [sys.executable, "-c", "import flask, sqlalchemy"]
LEDGER_ADMIN = [sys.executable, "-c", "import sys; from web.cli import main; sys.exit(main())"]
COMMANDS = [
    ("--help", ["--help"]),
    ("verify-audit --help", ["verify-audit", "--help"]),
    ("verify-audit", ["verify-audit"]),
    ("check-balances", ["check-balances"]),
    ("create-user", ["create-user", "{name}", "--role", "auditor"]),
]


def run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def paired(argv: list[str], env: dict[str, str], repeat: int,
           before: Path | None = None) -> tuple[float, float, float | None]:
    """Medians of (baseline, command, command from the ``before`` tree), run
    alternately so all see the same load."""
    base, took, old = [], [], []
    for i in range(repeat):
        base.append(run(BASELINE, env))
        took.append(run([a.replace("{name}", f"bench-user-{os.getpid()}-{i}") for a in argv], env))
        if before is not None:
            old.append(run([a.replace("{name}", f"bench-before-{os.getpid()}-{i}") for a in argv],
                           {**env, "PYTHONPATH": str(before)}, before))
    return statistics.median(base), statistics.median(took), statistics.median(old) if old else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another source tree to time in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "INSTANCE_PATH": tmp,
               "DATABASE_URL": f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"}
        env.pop("SECRET_KEY", None)
        run([*LEDGER_ADMIN, "migrate"], env)  # the schema once, not in the timings
        run(BASELINE, env)  # warm the file cache for both sides
        print(f"{'command':<38} {'median':>8}   {'baseline':>8}   ratio" + ("   before  ratio" if args.before else ""))
        for label, argv in COMMANDS:
            baseline, took, old = paired([*LEDGER_ADMIN, *argv], env, args.repeat, args.before)
            verdict = "OK" if took < 1.0 and took <= 2 * baseline else "SLOW"
            line = (f"{'ledger-admin ' + label:<38} {took * 1000:6.0f} ms  {baseline * 1000:6.0f} ms   "
                    f"x{took / baseline:4.2f}")
            if old is not None:
                line += f"   {old * 1000:6.0f} ms x{old / baseline:4.2f}"
            print(f"{line}   {verdict}", flush=True)

if __name__ == "__main__":
    main()
