"""What a new user tripped over (issue 17), each reproduced as it was seen, now passing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from fixtures.runs import METADATA, run_with, sample_run

from twinbench.cli import build_parser, main
from twinbench.render.text import run_summary
from twinbench.results.baselines import save_baseline
from twinbench.results.storage import write_run

ROOT = Path(__file__).resolve().parents[1]
CASES = {"mlp-torch-eager-cpu-infer-fp32-b1": 1e-4, "mlp-keras-graph-cpu-infer-fp32-b1": 3e-4}
# Small and quick: one model, CPU only, smoke timing, one process per case.
SMALL = ("--models=mlp", "--devices=cpu", "--profile=smoke", "--processes=1")


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1", **extra}


def test_ctrl_c_writes_no_run_file_and_names_the_unmeasured_cases(tmp_path):
    """Item 1: a run interrupted after its first case must not leave a file that looks whole."""
    command = [sys.executable, "-m", "pytest", "benches", "-v", "-p", "no:cacheprovider", *SMALL]
    command += ["--modes=infer,train", "--batch-sizes=1", f"--results-dir={tmp_path}"]
    # The signal races the run: where the last cases were already measured when the first
    # PASSED line was read, the run can finish before Ctrl-C lands. That race is not what
    # this tests, so such a run is tried again (at most twice more) before judging.
    for _ in range(3):
        code, output = _interrupt_after_first_case(command)
        if code != 0:
            break
    assert code != 0, output[-3000:]
    # On a loaded machine a second case can finish before the signal lands: the note must
    # count what pytest reported as measured, whatever that was, and name the rest.
    measured = output.count(" PASSED")
    assert 1 <= measured < 4, output[-3000:]
    note = f"interrupted: no run file written, {measured} of 4 case(s) measured"
    assert note in output, output[-3000:]
    assert "not measured: " in output and "-train-" in output.split("not measured: ")[-1]
    assert list(tmp_path.rglob("*.json*")) == []  # nothing the gate or history could count


def _interrupt_after_first_case(command: list[str]) -> tuple[int, str]:
    """Run `command`, send Ctrl-C once a case passed; its exit status and output."""
    for stale in Path(command[-1].split("=", 1)[1]).rglob("*.json*"):
        stale.unlink()  # a finished try's run file must not count against the next
    # A new session, as a terminal's foreground job: Ctrl-C reaches the workers too.
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(line)
        if " PASSED" in line:  # one case measured, three to go
            os.killpg(child.pid, signal.SIGINT)
            break
    output = "".join(seen) + child.stdout.read()
    return child.wait(timeout=120), output


def test_corrupt_baseline_stops_the_run_before_any_case_is_measured(tmp_path):
    """Item 2: the test would hang (and time out) if a case were measured: measuring sleeps."""
    baseline = tmp_path / "baselines" / "9f535d1b5ea9.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text(json.dumps(run_with(CASES))[:200])  # truncated
    before = baseline.read_bytes()
    torch_only = ("--frameworks=torch", "--modes=infer", f"--results-dir={tmp_path}")
    code = (
        "import sys, time, pytest\n"
        "from twinbench.execute.pool import WorkerPool\n"
        "WorkerPool.measure = lambda *args, **kwargs: time.sleep(3600)\n"
        "sys.exit(pytest.main(sys.argv[1:]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "benches", "-p", "no:cacheprovider", *SMALL, *torch_only],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stdout[-2000:]  # pytest's usage error
    output = done.stdout + done.stderr
    assert str(baseline) in output and "nothing measured" in output
    assert "PASSED" not in output and "--save-baseline --no-compare" in output  # the next step
    assert baseline.read_bytes() == before and not (tmp_path / "history").exists()


def test_check_finds_the_baseline_beside_the_run_file(tmp_path, monkeypatch, capsys):
    """Item 3: `check RUN` from another directory uses RUN's own results folder."""
    results = tmp_path / "results"
    save_baseline(results, run_with(CASES), "first.json")
    slow = write_run(results / "history", run_with({k: v * 2 for k, v in CASES.items()}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # ./results does not exist here
    assert main(["check", str(slow)]) == 1  # the regression is found: the baseline was used
    assert str(results / "baselines") in capsys.readouterr().out


def test_check_says_where_it_looked_for_a_missing_baseline(tmp_path, capsys):
    results = tmp_path / "results"
    run = write_run(results / "history", run_with(CASES))
    assert main(["check", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"no baseline at {results / 'baselines'}" in out and "RUN's own results folder" in out


@pytest.mark.parametrize("command", ["history", "report", "check"])
def test_a_missing_results_folder_is_an_error_naming_it(tmp_path, capsys, command):
    missing = tmp_path / "nonexistent"
    args = [command, "--results-dir", str(missing)]
    if command == "check":
        args.insert(1, str(write_run(tmp_path / "runs", run_with(CASES))))
    if command == "report":
        args += ["-o", str(tmp_path / "report.html")]
    assert main(args) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_check_against_a_folder_that_is_no_results_folder_is_an_error(tmp_path, capsys):
    run = write_run(tmp_path / "runs", run_with(CASES))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["check", str(run), "--results-dir", str(empty)]) == 2
    assert f"--results-dir {empty} holds neither" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["history", "report"])
def test_an_empty_results_folder_is_an_error_unless_allowed(tmp_path, capsys, command):
    (tmp_path / "history").mkdir()
    output = ["-o", str(tmp_path / "report.html")] if command == "report" else []
    assert main([command, "--results-dir", str(tmp_path), *output]) == 2
    assert f"{tmp_path / 'history'}" in capsys.readouterr().err
    assert main([command, "--results-dir", str(tmp_path), *output, "--allow-empty"]) == 0


def test_messages_say_what_the_file_is_and_what_to_do(tmp_path, capsys):
    """Item 4: a text file and a JSON file that is no run file, each named for what it is."""
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"benchmarks": []}))
    assert main(["show", str(text), str(other)]) == 2
    err = capsys.readouterr().err
    assert f"{text}: not a JSON file" in err and "pass a run file" in err
    assert f"{other}: not a twinbench run file" in err and "(key twinbench)" not in err


def test_compare_explains_why_a_slower_case_is_still_ok(tmp_path, capsys):
    """Item 6: a slower ratio that is ok comes with its p-value and the reason."""
    first = write_run(tmp_path, run_with(CASES))
    slower = write_run(tmp_path, run_with({k: v * 1.05 for k, v in CASES.items()}))
    assert main(["compare", str(first), str(slower)]) == 0
    out = capsys.readouterr().out
    assert "ok mlp-torch-eager-cpu-infer-fp32-b1: 1.05x slower but ok" in out
    assert "below the 1.10x threshold" in out and "p=" in out


def test_confirm_rounds_help_of_check_and_compare_promises_no_measuring(capsys):
    for command in ("check", "compare"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split())
        assert "nothing is measured here" in help_text
        assert "rounds of fresh processes" not in help_text


def test_calibrate_refuses_fewer_than_two_repetitions(capsys):
    with pytest.raises(SystemExit) as caught:  # the parser alone: nothing is ever measured
        build_parser().parse_args(["calibrate", "--repetitions", "1"])
    assert caught.value.code == 2 and "at least 2" in capsys.readouterr().err


def test_save_baseline_run_has_no_stale_no_baseline_line(tmp_path):
    """Item 5: "no baseline yet" must not sit above "baseline saved"; the summary leads."""
    options = ("--frameworks=torch", "--modes=infer", "--batch-sizes=1", "--save-baseline")
    options += (f"--results-dir={tmp_path}",)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "-p", "no:cacheprovider", *SMALL, *options],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "baseline saved (replace)" in done.stdout
    assert "no baseline" not in done.stdout.lower()
    assert "got empty parameter set" not in done.stdout  # modes not asked for: deselected
    section = done.stdout.split(" twinbench ")[-1].splitlines()[1:]
    first = next(line for line in section if line.strip())
    assert first.startswith("twinbench: 0 regressions, 0 numerics changed"), section[:5]


WHERE_FROM = (
    "import pathlib, twinbench.bench.resolve as r\n"
    "print(r.__file__)\n"
    "print(r.numerics_dir(pathlib.Path.cwd()))\n"
)
# --ignore-installed: without it pip "upgrades" the editable twinbench of the running
# environment, uninstalling it, and every later test that starts a worker fails.
PIP_INSTALL = (
    sys.executable,
    "-m",
    "pip",
    "install",
    "-q",
    "--no-deps",
    "--no-build-isolation",
    "--ignore-installed",
)


def _install(prefix: Path) -> Path:
    """This checkout installed (not editable) under `prefix`; its site-packages."""
    subprocess.run(
        [*PIP_INSTALL, "--prefix", str(prefix), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix)}))


def test_installed_plugin_works_in_a_project_outside_the_repository(tmp_path):
    """Item 7: options, packaged benches and reference numerics wherever it is installed."""
    site = _install(tmp_path / "prefix")
    project = tmp_path / "project"
    project.mkdir()
    # Someone else's tests, with a fixture named `case`: the plugin must leave them alone.
    (project / "test_theirs.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef case():\n    return 3\n\n"
        "def test_theirs(case):\n    assert case == 3\n"
    )
    env = {k: v for k, v in _env(PYTHONPATH=str(site)).items() if k != "PYTHONSAFEPATH"}

    def pytest_here(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    helped = pytest_here("--help")
    assert "--models" in helped.stdout and "--benchmark-* options" in " ".join(
        helped.stdout.split()
    )
    theirs = pytest_here("-q")
    assert theirs.returncode == 0 and "1 passed" in theirs.stdout, theirs.stdout[-2000:]
    collected_args = ("--models=mlp", "--modes=infer", "--devices=cpu")
    collected = pytest_here(
        "--pyargs", "twinbench.benches", "--collect-only", "-q", *collected_args
    )
    assert "test_infer.py::test_infer[mlp-torch-eager-cpu-infer-fp32-b1]" in collected.stdout
    assert collected.returncode == 0, collected.stdout[-2000:]
    where = subprocess.run(
        [sys.executable, "-c", WHERE_FROM],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(site))  # the installed copy, not this checkout
    assert (Path(where[1]) / "mlp.json").is_file() and str(tmp_path) in where[1]
    # Inside the repository the entry point and the conftest name one plugin: no clash.
    repo = subprocess.run(
        [sys.executable, "-m", "pytest", "benches", "--collect-only", "-q", *collected_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert repo.returncode == 0, repo.stderr[-2000:]


def test_show_leads_with_the_headline_and_folds_skipped_gpu_cases(tmp_path, capsys):
    """#12 item 9: one line of counts first; CUDA skips on a CPU machine make one line."""
    path = write_run(tmp_path, sample_run())  # two measured twins, one CUDA case skipped
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out.split("\n\n", 1)[1]
    assert out.startswith("twinbench: 2 ok; 1 skipped (not compared with a baseline)")
    assert "1 CUDA case(s) skipped: no GPU" in out
    assert "mlp-torch-eager-cuda-infer-fp32-b64" not in out  # no row of dashes for it


def test_headline_counts_verdicts_and_lists_the_cases_that_need_attention():
    gated = run_with({**CASES, "mlp-torch-eager-cpu-infer-fp32-b1": 2e-4})
    gated["twinbench"]["comparison"] = {
        "verdicts": [
            {"case_id": "mlp-torch-eager-cpu-infer-fp32-b1", "verdict": "regression", "ratio": 2},
            {"case_id": "mlp-keras-graph-cpu-infer-fp32-b1", "verdict": "ok", "ratio": 1.0},
        ]
    }
    lines = run_summary(gated)
    assert lines[0] == "twinbench: 1 regression, 0 numerics changed, 1 ok"
    assert lines[1:3] == [
        "needs attention:",
        "  REGRESSION mlp-torch-eager-cpu-infer-fp32-b1 2.00x",
    ]


def test_html_report_puts_verdicts_first_and_folds_the_machine_table(tmp_path):
    from twinbench.history.html import render_report
    from twinbench.history.store import load_history

    results = tmp_path / "results"
    gated = run_with(CASES)
    gated["twinbench"]["comparison"] = {
        "baseline": None,
        "verdicts": [{"case_id": "mlp-torch-eager-cpu-infer-fp32-b1", "verdict": "regression"}],
    }
    write_run(results / "history", gated)
    page = render_report(load_history(results))
    summary = page.index("twinbench: 1 regression, 0 numerics changed, 0 ok")
    attention = page.index("REGRESSION mlp-torch-eager-cpu-infer-fp32-b1")
    machine = page.index("<details class='machine'>")
    assert summary < attention < machine
    assert page.index("Test CPU 9000") > machine  # the machine's fields sit inside <details>


def test_an_incomparable_baseline_says_what_to_run_instead(tmp_path, capsys):
    """Item 4: `fingerprint differs: ...` alone left the user without a next step."""
    baseline = write_run(tmp_path, run_with(CASES))
    other = write_run(tmp_path, run_with(CASES, metadata={**METADATA, "cpu_model": "Other CPU"}))
    assert main(["compare", str(baseline), str(other)]) == 0
    out = capsys.readouterr().out
    assert "incomparable (2 case(s))" in out and "--baseline FILE" in out


def test_calibrate_stops_cleanly_on_ctrl_c(monkeypatch, capsys):
    """Item 6: no KeyboardInterrupt traceback; what was done, and exit 130."""
    from twinbench.cli import calibrate as command

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "calibrate", interrupted)
    assert main(["calibrate", "--models=mlp", "--devices=cpu", "--repetitions=2"]) == 130
    err = capsys.readouterr().err
    assert "interrupted after 0 of 2 repetitions" in err and "Traceback" not in err


def test_calibrate_recommends_a_case_threshold_per_noisy_case():
    from twinbench.cli.calibrate import recommendation
    from twinbench.gate.calibrate import CalibrationRow
    from twinbench.gate.settings import GateSettings

    calm = CalibrationRow("mlp-torch-eager-cpu-infer-fp32-b64", 4, 12, 0, 0, 1.05, 1.04)
    noisy = CalibrationRow("mlp-torch-eager-cpu-infer-fp32-b1", 4, 12, 3, 1, 1.2, 1.27)
    lines = recommendation([calm, noisy], GateSettings(threshold=1.10))
    assert lines[1:] == ["  --case-threshold 'mlp-torch-eager-cpu-infer-fp32-b1=1.32'"]
    assert "keep the thresholds" in recommendation([calm], GateSettings(threshold=1.10))[0]


def _session_with_one_of_two_measured(tmp_path):
    """A bench session that measured the first of its two planned cases."""
    from fixtures.runs import measured

    from twinbench.bench.resolve import resolve_options
    from twinbench.bench.session import BenchSession

    args = build_parser().parse_args(["calibrate", "--models=mlp", "--devices=cpu"])
    args.results_dir, args.save_baseline, args.no_compare = str(tmp_path), None, False
    session = BenchSession(resolve_options(lambda name: getattr(args, name, None), tmp_path))
    session.runs.append(measured("mlp-torch-eager-cpu-infer-fp32-b1", 1e-4))
    session.planned = ["mlp-torch-eager-cpu-infer-fp32-b1", "mlp-keras-graph-cpu-infer-fp32-b1"]
    return session


def test_ctrl_c_while_the_run_is_judged_writes_nothing(tmp_path, monkeypatch):
    """Item 1, later: Ctrl-C during the confirmation rounds (inside pytest's session finish)
    ends with the same note instead of a traceback, and no file."""
    session = _session_with_one_of_two_measured(tmp_path)

    def interrupted() -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(session, "_record", interrupted)
    assert session.finish() is False
    assert "interrupted: no run file written, 1 of 2 case(s) measured" in session.notes[-1]
    assert list(tmp_path.rglob("*.json*")) == []


def test_ctrl_c_whose_report_fails_still_writes_nothing(tmp_path):
    """Item 1, when pytest's own report of Ctrl-C raises (as pytest 9.2 did on CPython 3.11.7,
    a traceback entry without a line number): pytest then finishes the session with exit
    status 0, and the cases measured so far must still not be written as a whole run."""
    session = _session_with_one_of_two_measured(tmp_path)

    class FailingReporter:
        def pytest_keyboard_interrupt(self, excinfo):
            raise TypeError("unsupported operand type(s) for -: 'NoneType' and 'int'")

    plugins = pytest.PytestPluginManager()
    plugins.register(FailingReporter())
    plugins.register(session)
    with pytest.raises(TypeError):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            plugins.hook.pytest_keyboard_interrupt(excinfo=pytest.ExceptionInfo.from_current())
    assert session.finish() is False  # what pytest's session finish asks with exit status 0
    assert "interrupted: no run file written, 1 of 2 case(s) measured" in session.notes[-1]
    assert list(tmp_path.rglob("*.json*")) == []
