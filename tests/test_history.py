"""History review on synthetic histories: trends, change points, unreadable files, CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from fixtures.runs import run_with

from twinbench.cli import main
from twinbench.history.changepoints import ChangePoint, change_points
from twinbench.history.store import Point, load_history
from twinbench.history.trends import HEADERS, Trend, sparkline, trend_cells, trends
from twinbench.results.storage import write_json_atomic

STEPPED = "mlp-torch-eager-cpu-infer-fp32-b1"
FLAT = "mlp-keras-graph-cpu-infer-fp32-b1"
STEP_AT = 12  # 0-based index of the first slower run


def write_history(root: Path, runs: int = 24, seed: int = 0) -> list[Path]:
    """`runs` runs of two cases; STEPPED is 1.5x slower from run STEP_AT on; 3% noise."""
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(runs):
        step = 1.5 if index >= STEP_AT else 1.0
        run = run_with(
            {
                STEPPED: 1e-4 * step * np.exp(rng.normal(0, 0.03)),
                FLAT: 3e-4 * np.exp(rng.normal(0, 0.03)),
            },
            processes=3,
        )
        run["twinbench"]["started"] = f"2026-11-{1 + index // 24:02d}T{index % 24:02d}:00:00+00:00"
        path = root / "history" / "machine" / f"202611{index:02d}T000000Z-{index:08x}.json"
        paths.append(write_json_atomic(path, run))
    return paths


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_step_is_found_at_its_run(seed):
    rng = np.random.default_rng(seed)
    times = 1e-3 * np.exp(rng.normal(0, 0.03, 40))
    times[25:] *= 1.3
    (step,) = change_points(times)
    assert step.index == 25
    assert step.ratio == pytest.approx(1.3, rel=0.05)
    assert step.p_value < 0.01


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_noisy_history_has_no_change_point(seed):
    rng = np.random.default_rng(100 + seed)
    assert change_points(1e-3 * np.exp(rng.normal(0, 0.08, 60))) == []


def test_single_wild_runs_are_not_steps():
    rng = np.random.default_rng(7)
    times = 1e-3 * np.exp(rng.normal(0, 0.03, 40))
    times[10] *= 3  # one run in a slow phase of the host
    times[30] *= 2
    assert change_points(times) == []


def test_two_steps_are_both_found():
    rng = np.random.default_rng(8)
    times = 1e-3 * np.exp(rng.normal(0, 0.03, 60))
    times[20:] *= 1.25
    times[45:] /= 1.25
    assert [(c.index, c.ratio > 1) for c in change_points(times)] == [(20, True), (45, False)]


def test_history_of_runs_on_disk_finds_the_step_of_one_case(tmp_path):
    write_history(tmp_path)
    by_case = {t.case_id: t for t in trends(load_history(tmp_path))}
    assert [s.index for s in by_case[STEPPED].steps] == [STEP_AT]
    assert by_case[FLAT].steps == []
    assert by_case[STEPPED].ratio_to_first() == pytest.approx(1.5, rel=0.1)
    assert len(by_case[FLAT].points) == 24


def test_an_unreadable_file_is_reported_skipped_and_left_alone(tmp_path, capsys):
    paths = write_history(tmp_path, runs=8)
    broken = paths[3]
    broken.write_text(broken.read_text()[:200])  # truncated mid-write
    before = broken.read_bytes()
    history = load_history(tmp_path)
    assert [path for path, _ in history.unreadable] == [broken]
    (flat,) = [points for (case, _), points in history.series.items() if case == FLAT]
    assert len(flat) == 7
    assert main(["history", "--results-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert f"skipped unreadable {broken}" in err and FLAT in out
    assert broken.read_bytes() == before


def test_history_command_prints_trends_and_the_change_point(tmp_path, capsys):
    write_history(tmp_path)
    assert main(["history", "--results-dir", str(tmp_path), "--case", "*-torch-*"]) == 0
    out = capsys.readouterr().out
    assert STEPPED in out and FLAT not in out
    (row,) = [line for line in out.splitlines() if line.startswith(STEPPED)]
    # The change-point cell names the run (1-based) and the step's own ratio.
    step = re.search(rf"run {STEP_AT + 1} \(\d{{8}}T\d{{6}}Z\): (\d+\.\d+)x", row)
    assert step is not None, row
    assert float(step.group(1)) == pytest.approx(1.5, rel=0.05)


def test_compare_command_uses_the_gate_statistics(tmp_path, capsys):
    base = run_with({STEPPED: 1e-4, FLAT: 3e-4})
    slow = run_with({STEPPED: 2e-4, FLAT: 3e-4})
    a = write_json_atomic(tmp_path / "a.json", base)
    b = write_json_atomic(tmp_path / "b.json", slow)
    assert main(["compare", str(a), str(b)]) == 1  # a regression fails, as in `check`
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("mlp-")}
    assert "regression" in lines[STEPPED] and "2.00x" in lines[STEPPED]
    assert " ok " in lines[FLAT]
    assert main(["compare", str(a), str(tmp_path / "missing.json")]) == 2


def test_report_is_one_offline_html_file(tmp_path, capsys):
    write_history(tmp_path)
    output = tmp_path / "report.html"
    assert main(["report", "--results-dir", str(tmp_path), "-o", str(output)]) == 0
    page = output.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1  # the framework chart
    assert page.count("<img alt='history of") == 1  # one model, one grid
    assert STEPPED in page and f"run {STEP_AT + 1} (" in page  # the change point, in the table
    steps = [float(x) for x in re.findall(r"run \d+ \([^)]*\): ([0-9.]+)x", page)]
    assert steps and all(1.4 < x < 1.6 for x in steps)
    # Nothing to fetch: no scripts, stylesheets or images from elsewhere (SVG's own
    # `url(#clip)` references point inside the page, images are data: URIs).
    for outside in ("<script", "<link", "@import"):
        assert outside not in page
    assert not re.search(r"url\((?!#)", page)
    assert not re.search(r"src=(?!'data:image/png;base64,)", page)


def test_sparkline_scales_between_extremes():
    assert sparkline([1, 2, 3]) == "▁▅█"
    assert sparkline([2, 2]) == "▁▁"
    assert sparkline([]) == ""


def test_empty_results_folder_is_an_error_unless_allowed(tmp_path, capsys):
    """A wrong path must not pass silently (issue 17); --allow-empty accepts a new folder."""
    assert main(["history", "--results-dir", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert main(["history", "--results-dir", str(tmp_path), "--allow-empty"]) == 0
    assert "no runs" in capsys.readouterr().out


def _trend(levels, steps=()):
    points = [Point(f"run{i}", "", level, level) for i, level in enumerate(levels)]
    return Trend("mlp-keras-graph-cpu-infer-fp32-b1", points, list(steps))


def test_swing_is_the_slowest_unchanged_run_over_the_median():
    assert _trend([1.0, 1.02, 0.98, 1.4, 1.01]).swing() == pytest.approx(1.4 / 1.01)
    assert _trend([1.0, 1.3]).swing() is None  # too few runs to say


def test_swing_counts_only_the_runs_since_the_last_change_point():
    step = ChangePoint(index=4, before_s=1.0, after_s=1.5, ratio=1.5, p_value=1e-4)
    trend = _trend([1.0, 1.0, 1.1, 1.0, 1.5, 1.5, 1.5, 1.5], [step])
    assert trend.swing() == pytest.approx(1.0)  # the step itself is not noise
    assert "slowest/median" in HEADERS
    assert trend_cells(trend)[HEADERS.index("slowest/median")] == "1.00x"


@pytest.mark.parametrize("direction", [1, -1])
def test_steps_below_the_five_percent_floor_are_not_reported(direction):
    """On a quiet series a 4% step is significant but too small; a 6% step is reported."""
    rng = np.random.default_rng(21)
    noise = np.exp(rng.normal(0, 0.002, 40))
    small, large = (1e-3 * noise * np.where(np.arange(40) >= 20, r, 1.0) for r in (1.04, 1.06))
    assert change_points(small if direction > 0 else 1e-6 / small) == []
    (step,) = change_points(large if direction > 0 else 1e-6 / large)
    assert step.index == 20
    assert step.ratio == pytest.approx(1.06**direction, rel=0.01)


def test_the_table_says_what_the_gate_said_of_the_latest_run():
    """#14 part 2: an `unsure` is shown by `history` too, not only by `check` and the report."""
    points = [Point("run0", "", 1.0, 1.0, "ok"), Point("run1", "", 1.2, 1.2, "unsure")]
    gated = Trend("mlp-keras-graph-cpu-infer-fp32-b1", points, [])
    assert trend_cells(gated)[HEADERS.index("latest verdict")] == "unsure"
    assert trend_cells(_trend([1.0, 1.0]))[HEADERS.index("latest verdict")] == "-"  # not gated
