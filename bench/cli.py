"""``ledger-admin`` start-up: ``--help`` and typical commands against
``python -c "import flask, sqlalchemy"``, medians of fresh processes.

    .venv/bin/python bench/cli.py [--repeat 7]
    .venv/bin/python bench/cli.py --before /tmp/before   # also an older tree, same run

``--before`` times ``ledger-admin`` from another source tree too (e.g. ``git archive
main | tar -x -C /tmp/before``), alternating with the baseline and this tree, so before
and after are compared under the same load; it gets a scratch database of its own,
migrated by its own code (an older tree cannot open a database migrated further).

Every figure is a new interpreter (what an operator or a cron job pays), run from
this source tree on a scratch SQLite database migrated once before timing; each
command alternates with the baseline so both see the same machine load. Two figures
per command: wall time, and CPU time (user + system of the child, which a loaded
machine disturbs far less). The goal (issue 13): under 1 s, and at most 2x the baseline.

Bytecode is cached as in any installation (``PYTHONDONTWRITEBYTECODE`` is dropped
and every command runs once untimed): otherwise our modules would be compiled from
source on every start while the baseline's site-packages load cached bytecode.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    ("tokens list", ["tokens", "list"]),
    ("checkpoint", ["checkpoint"]),
    ("verify", ["verify"]),
]


def run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def scratch_env(tree: Path, directory: str) -> dict[str, str]:
    """The environment of ``ledger-admin`` from ``tree`` on a scratch database in
    ``directory``, migrated (and given a checkpoint key) once, not in the timings."""
    env = {**os.environ, "PYTHONPATH": str(tree), "INSTANCE_PATH": directory,
           "DATABASE_URL": f"sqlite:///{Path(directory) / 'ledger.sqlite3'}"}
    env.pop("SECRET_KEY", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    run([*LEDGER_ADMIN, "migrate"], env, tree)
    run([*LEDGER_ADMIN, "keys"], env, tree)
    return env


def paired(argv: list[str], env: dict[str, str], repeat: int, before: tuple[Path, dict[str, str]] | None = None
           ) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None]:
    """Medians (wall, CPU) of the baseline, the command, and the command from the
    ``before`` tree, run alternately so all see the same load (one untimed run each first)."""
    base, took, old = [], [], []
    for i in range(-1, repeat):
        base.append(run(BASELINE, env))
        took.append(run([a.replace("{name}", f"bench-user-{os.getpid()}-{i + 1}") for a in argv], env))
        if before is not None:
            tree, before_env = before
            old.append(run([a.replace("{name}", f"bench-before-{os.getpid()}-{i + 1}") for a in argv],
                           before_env, tree))
    return medians(base[1:]), medians(took[1:]), medians(old[1:]) if old else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another source tree to time in the same run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp, \
            tempfile.TemporaryDirectory(prefix="bench-cli-before-") as tmp_before:
        env = scratch_env(ROOT, tmp)
        before = (args.before, scratch_env(args.before, tmp_before)) if args.before else None
        header = f"{'command':<34} {'wall':>7} {'base':>7} {'ratio':>5}  {'CPU':>7} {'base':>7} {'ratio':>5}"
        print(header + ("   before: wall ratio, CPU ratio" if args.before else ""))
        for label, argv in COMMANDS:
            (b_wall, b_cpu), (wall, cpu), old = paired([*LEDGER_ADMIN, *argv], env, args.repeat, before)
            verdict = "OK" if wall < 1.0 and min(wall / b_wall, cpu / b_cpu) <= 2 else "SLOW"
            line = (f"{'ledger-admin ' + label:<34} {wall * 1000:4.0f} ms {b_wall * 1000:4.0f} ms x{wall / b_wall:4.2f}"
                    f"  {cpu * 1000:4.0f} ms {b_cpu * 1000:4.0f} ms x{cpu / b_cpu:4.2f}")
            if old is not None:
                line += f"   {old[0] * 1000:4.0f} ms x{old[0] / b_wall:4.2f}, {old[1] * 1000:4.0f} ms x{old[1] / b_cpu:4.2f}"
            print(f"{line}   {verdict}", flush=True)


if __name__ == "__main__":
    main()
