"""The twinbench pytest plugin: options, parametrisation, the `measure` fixture, run file, summary.

Loaded by the root conftest. Like Hypothesis' plugin it imports no heavy library at load time:
TensorFlow and PyTorch are imported inside hooks, only when a case runs, so
`pytest benches --collect-only` and `pytest tests` stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from twinbench.bench.options import (
    OptionError,
    add_bench_options,
    add_gate_options,
    add_run_options,
)
from twinbench.bench.resolve import resolve_options
from twinbench.core.cases import Case, build_matrix, execution_order

SESSION_PLUGIN_NAME = "twinbench-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twinbench", "twinbench: Keras vs PyTorch benchmarks")
    add_bench_options(group.addoption)
    add_run_options(group.addoption)
    add_gate_options(group.addoption)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from twinbench.bench import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "twinbench_mode(mode): the benchmark mode a test function measures"
    )
    from twinbench.bench.session import BenchSession
    from twinbench.bench.twins import register_user_twins

    try:
        register_user_twins(config)  # before resolving: --models may name a user twin
        options = resolve_options(config.getoption, config.rootpath)
    except OptionError as error:
        raise pytest.UsageError(str(error)) from error
    config.pluginmanager.register(BenchSession(options), SESSION_PLUGIN_NAME)


def _session(config: pytest.Config) -> Any:
    return config.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every test that takes `case` with the selected cases of its mode."""
    if "case" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("twinbench_mode")
    if marker is None:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: needs @twinbench_mode(mode)")
    mode = marker.args[0]
    cases = [c for c in build_matrix(_session(metafunc.config).options.selection) if c.mode == mode]
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run each framework's cases in one stretch across test files (stable sort)."""

    def key(item: pytest.Item) -> tuple[int, tuple[str, str]]:
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("case") if callspec is not None else None
        return (0, execution_order(case)) if isinstance(case, Case) else (1, ("", ""))

    items.sort(key=key)


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Callable[[Case], Any]:
    """Measure a case: builds, times and records it; skips or fails the test as it ends."""
    session = _session(request.config)
    return lambda case: session.run_case(case, request.node.nodeid)


def pytest_sessionfinish(session: pytest.Session) -> None:
    bench = _session(session.config)
    if bench is not None and bench.finish():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    bench = _session(config)
    lines = bench.summary_lines() if bench is not None else []
    if lines:
        terminalreporter.section("twinbench")
        for line in lines:
            terminalreporter.write_line(line)
