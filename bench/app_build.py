"""What building the app costs — every test pays it once (``tests/conftest.py``'s ``app``
fixture), every worker at start — against a bare Flask app with as many routes.

    .venv/bin/python bench/app_build.py [--repeat 30]
    .venv/bin/python bench/app_build.py --before /tmp/before   # an older tree too, same run

Figures are CPU medians (``time.process_time``) of ``web.create_app`` on a migrated
scratch SQLite database after one untimed build (the imports), and the first
``GET /api/v1/openapi.json`` of a fresh app (the document is generated on first demand).
The baseline builds ``flask.Flask`` and adds as many plain URL rules as the app has.
``--before`` runs the same measurement with another source tree in a child process,
alternating with this one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT  # first: puts the project root on sys.path


def measure(repeat: int, tree: Path) -> dict[str, float]:
    """Medians in ms: ``create_app`` from ``tree``, the bare baseline, the first openapi.json."""
    sys.path.insert(0, str(tree))  # before anything of ours is imported
    from flask import Flask

    from ledger.db import make_engine
    from ledger.migrate import upgrade
    from web import create_app

    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'ledger.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        config = {"DATABASE_URL": url, "TESTING": True, "SIGNING_KEY_PATH": str(Path(tmp) / "key.pem")}

        def build():  # type: ignore[no-untyped-def]
            app = create_app(config)
            app.extensions["ledger_engine"].dispose()
            return app

        rules = len(list(build().url_map.iter_rules()))

        def bare() -> None:
            app = Flask("bare")
            for n in range(rules):
                app.add_url_rule(f"/bare/{n}/<int:item>", f"bare{n}", lambda item: "")

        apps, bases, docs = [], [], []
        for _ in range(repeat):
            start = time.process_time()
            app = build()
            apps.append(time.process_time() - start)
            start = time.process_time()
            bare()
            bases.append(time.process_time() - start)
        for _ in range(max(3, repeat // 10)):
            client = build().test_client()
            start = time.process_time()
            assert client.get("/api/v1/openapi.json").status_code == 200
            docs.append(time.process_time() - start)
    return {"app": statistics.median(apps) * 1000, "bare": statistics.median(bases) * 1000,
            "openapi": statistics.median(docs) * 1000, "rules": rules}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--before", type=Path, help="another source tree to time in the same run")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # a child measuring one tree
    args = parser.parse_args()
    if args.tree:
        print(json.dumps(measure(args.repeat, args.tree)))
        return
    trees = [("this tree", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    for label, tree in trees:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "app_build.py"), "--tree", str(tree), "--repeat",
                               str(args.repeat)], env=env, cwd=tree, capture_output=True, text=True, check=True)
        f = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label:<10} create_app {f['app']:6.1f} ms CPU   bare Flask, {f['rules']} rules {f['bare']:5.1f} ms"
              f"   x{f['app'] / f['bare']:4.2f}   first openapi.json {f['openapi']:5.1f} ms", flush=True)


if __name__ == "__main__":
    main()
