"""The twinbench pytest plugin: options, parametrisation, the `measure` fixture, run file, summary.

Registered wherever twinbench is installed, through the `pytest11` entry point named
``twinbench.plugin`` (the module's own name, so the repository's conftest, which names it in
`pytest_plugins` for a checkout that is not installed, finds it registered and does not load it
twice). Harmless when unused: it acts only on tests marked `twinbench_mode`, and like
Hypothesis' plugin it imports no heavy library at load time (TensorFlow and PyTorch are imported
inside hooks, only when a case runs).
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
MODE_MARKER = "twinbench_mode"
GROUP_DESCRIPTION = (
    "twinbench: Keras vs PyTorch benchmarks (run them with `pytest benches` in the repository, "
    "or `pytest --pyargs twinbench.benches` anywhere). pytest-benchmark's --benchmark-* options "
    "do not apply to them: twinbench times, stores and gates on its own (the options below); "
    "`twinbench export RUN -o run.json` writes a run file that `pytest-benchmark compare` reads"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twinbench", GROUP_DESCRIPTION)
    add_bench_options(group.addoption)
    add_run_options(group.addoption)
    add_gate_options(group.addoption)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from twinbench.bench import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MODE_MARKER}(mode): the benchmark mode a test function measures"
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
    marker = metafunc.definition.get_closest_marker(MODE_MARKER)
    if marker is None:  # someone else's fixture named `case`: not ours to parametrise
        return
    mode = marker.args[0]
    cases = [c for c in build_matrix(_session(metafunc.config).options.selection) if c.mode == mode]
    if cases:  # a mode left out by --modes: its test is deselected below, not skipped as empty
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def _case_of(item: pytest.Item) -> Case | None:
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("case") if callspec is not None else None
    return case if isinstance(case, Case) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop benchmarks of modes not selected; run each framework's cases in one stretch."""
    unselected = [
        item for item in items if item.get_closest_marker(MODE_MARKER) and _case_of(item) is None
    ]
    if unselected:
        config.hook.pytest_deselected(items=unselected)
        dropped = set(map(id, unselected))
        items[:] = [item for item in items if id(item) not in dropped]

    def key(item: pytest.Item) -> tuple[int, tuple[str, str]]:
        case = _case_of(item)
        return (0, execution_order(case)) if case is not None else (1, ("", ""))

    items.sort(key=key)
    bench = _session(config)
    if bench is not None:
        bench.planned = [case.id for case in map(_case_of, items) if case is not None]


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Callable[[Case], Any]:
    """Measure a case: builds, times and records it; skips or fails the test as it ends."""
    session = _session(request.config)
    return lambda case: session.run_case(case, request.node.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    bench = _session(session.config)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    if bench is not None and bench.finish(interrupted) and not interrupted:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    bench = _session(config)
    lines = bench.summary_lines() if bench is not None else []
    if lines:
        terminalreporter.section("twinbench")
        for line in lines:
            terminalreporter.write_line(line)
