"""Imports run one way: no module imports a module that imports it back, not even lazily
inside a function (DESIGN.md). Packages count as their modules; ``import a.b`` uses ``a.b``."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
TREES = {"listener": ROOT / "src" / "listener", "listener.connectors": ROOT / "connectors"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in TREES.items():
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_one_that_imports_it_back():
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_http_client_and_the_contract_do_not_need_the_config():
    graph = _graph()
    for name in ("listener.http", "listener.connector", "listener.registry"):
        assert "listener.config" not in graph[name]
    assert "listener.registry" in graph["listener.config"]


def test_the_code_passes_ruff_with_the_projects_settings():
    """pyproject's [tool.ruff]: pyflakes, the pycodestyle errors, imports sorted with listener first-party."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "connectors", "bench"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
