"""The packages' one direction of dependency (ARCHITECTURE.md), read from the code.

Every ``import`` of our packages — at module level and inside functions — is an edge
between modules; the test fails on any cycle among our modules and on any import
against the direction ``verifier`` <- ``rules`` <- ``pdf`` <- ``ledger`` <- ``api`` <- ``console``
<- ``web`` (``verifier``, ``rules`` and ``pdf`` import nothing to their left but ``rules``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "pdf", "ledger", "api", "console", "web", "verifier")

#: package -> our packages it must never import.
FORBIDDEN = {
    # The offline verifier auditors run on their own machines: standard library and
    # cryptography only, so it can check an export without any of our code.
    "verifier": {"rules", "pdf", "ledger", "api", "console", "web"},
    "rules": {"verifier", "pdf", "ledger", "api", "console", "web"},  # pure: imports nothing of ours
    "pdf": {"verifier", "ledger", "api", "console", "web"},  # a renderer: data in, bytes out; no database
    "ledger": {"api", "console", "web"},  # the domain: no HTTP, no Flask
    "api": {"console", "web"},
    "console": {"web"},
}


#: Imports against the direction that a contract requires, each with its reason.
#: SPEC §6 promises clients ``from api import create_app``; the factory composes the
#: console too, so it lives in ``web`` and ``api.create_app`` hands over to it lazily.
CONTRACT_EDGES = {("api", "web")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts and "versions" in path.parts:
                continue  # Alembic scripts are loaded by Alembic, never imported
            found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules that ``name`` imports anywhere in its body (AST, no execution)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                targets.add(submodule if submodule in modules else module)
    return {t for t in targets if t in modules and t != name and (name, t) not in CONTRACT_EDGES}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_walk_sees_our_imports(graph):
    # Guards the test itself: a broken walk would find no cycles anywhere.
    assert "ledger.journal" in graph["ledger.approvals"]
    assert "ledger.loans.listing" in graph["ledger.claims"]
    assert "api.db" in graph["console.claims"]
    assert {"api", "console"} <= graph["web"]


def test_the_spec_entry_point_builds_the_whole_application(tmp_path):
    # SPEC §6: ``from api import create_app`` builds the app wsgi.py serves, console included.
    from api import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'contract.sqlite3'}", "TESTING": True})
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/console/login").status_code == 200
    app.extensions["ledger_engine"].dispose()


def test_no_import_cycles_between_our_modules(graph):
    assert _cycles(graph) == []


def test_cycles_are_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_follow_the_one_direction(graph):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], set())
    )
    assert wrong == []


def test_cli_choices_match_the_ledger():
    # api.commands spells these out so that `ledger-admin --help` imports no ledger code.
    from api import commands
    from ledger.bulk import BATCH_SIZE
    from ledger.models import ROLES
    from ledger.statements import KINDS, LANGS

    assert commands.ROLES == ROLES
    assert commands.STATEMENT_KINDS == KINDS
    assert commands.STATEMENT_LANGS == LANGS
    assert commands.IMPORT_BATCH_SIZE == BATCH_SIZE
