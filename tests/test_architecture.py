"""The layout is the architecture: layering contracts, no cycles, a light plugin, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "twinbench"
HEAVY = ("scipy", "torch", "tensorflow", "keras", "jax", "matplotlib", "sklearn")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml: packages follow the data flow."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_cycles_between_modules() -> None:
    """No module imports, directly or not, a module that imports it back."""
    import grimp

    graph = grimp.build_graph("twinbench")
    cycles = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("twinbench")
        and graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == []


def test_plugin_loads_no_heavy_library() -> None:
    """`import twinbench.plugin` (every pytest start) loads neither SciPy nor a framework."""
    code = (
        "import sys, twinbench.plugin\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    """One job per module: none grows past ~300 lines, no function past ~60."""
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
        and not _declarative(node)
    ]
    assert long == []


def _declarative(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that only registers options or builds a table: a list of calls, no logic."""
    return all(
        (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call | ast.Constant))
        or isinstance(stmt, ast.Assign)
        for stmt in node.body
    )
