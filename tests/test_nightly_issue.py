"""The nightly issue names tonight's failing cases only (#13 item 3).

The benchmark job writes into a checkout of the results branch that holds every past night;
`collect` uploads only the files that checkout does not track, and `issue` reads only those.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twinbench.nightly.collect import collect
from twinbench.nightly.issue import issue_body, main

OLD_CASE = "mlp-torch-eager-cuda-infer-fp32-b1"
NEW_CASE = "cnn-keras-graph-cuda-train-fp32-b32"


def run_file(*verdicts: tuple[str, str]) -> str:
    listed = [
        {"case_id": case, "verdict": verdict, "ratio": 1.31, "note": "1 round"}
        for case, verdict in verdicts
    ]
    return json.dumps({"twinbench": {"comparison": {"verdicts": listed}}})


def results_checkout(root: Path) -> Path:
    """A checkout of the results branch holding a past night that failed."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    old = root / "results" / "history" / "h100" / "20261130T021700Z-old.json"
    old.parent.mkdir(parents=True)
    old.write_text(run_file((OLD_CASE, "regression")))
    baseline = root / "results" / "baselines" / "fp.json"
    baseline.parent.mkdir(parents=True)
    baseline.write_text("{}")
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        check=True,
    )
    return root


def tonight(checkout: Path) -> None:
    """What tonight's benchmark run adds: a run file, and a saved baseline."""
    new = checkout / "results" / "history" / "h100" / "20261201T021700Z-new.json"
    new.write_text(
        run_file((NEW_CASE, "regression"), ("lstm-torch-eager-cuda-infer-fp32-b1", "ok"))
    )
    (checkout / "results" / "baselines" / "fp.json").write_text('{"saved": "tonight"}')


def test_only_tonights_run_file_is_collected_and_named(tmp_path, capsys):
    checkout = results_checkout(tmp_path / "results-branch")
    tonight(checkout)
    out = tmp_path / "downloaded" / "run-h100-pinned-1"
    copied = collect(checkout, checkout / "results", out, baselines=False)
    assert [p.relative_to(out).as_posix() for p in copied] == [
        "results/history/h100/20261201T021700Z-new.json"
    ]
    assert main([str(tmp_path / "downloaded")]) == 1
    body = capsys.readouterr().out
    assert f"`{NEW_CASE}` **regression**, 1.31x: 1 round" in body
    assert OLD_CASE not in body and "lstm-torch" not in body
    assert "### run-h100-pinned-1 (`20261201T021700Z-new.json`)" in body


def test_a_baseline_night_also_collects_the_changed_baseline(tmp_path):
    checkout = results_checkout(tmp_path / "results-branch")
    tonight(checkout)
    copied = collect(checkout, checkout / "results", tmp_path / "out", baselines=True)
    names = sorted(p.relative_to(tmp_path / "out").as_posix() for p in copied)
    assert names == ["results/baselines/fp.json", "results/history/h100/20261201T021700Z-new.json"]


@pytest.mark.parametrize("checkout_left", ["nothing", "an empty repository"])
def test_the_first_night_collects_everything_the_run_wrote(tmp_path, checkout_left):
    # The branch did not exist: actions/checkout fails after `git init`, or before it.
    if checkout_left == "an empty repository":
        subprocess.run(["git", "init", "-q", str(tmp_path / "results-branch")], check=True)
    results = tmp_path / "results-branch" / "results"
    (results / "history" / "h100").mkdir(parents=True)
    (results / "history" / "h100" / "run.json").write_text(run_file())
    copied = collect(tmp_path / "results-branch", results, tmp_path / "out", baselines=False)
    assert [p.name for p in copied] == ["run.json"]


def test_a_job_without_a_run_file_is_named_and_a_clean_night_is_not_a_failure(tmp_path):
    (tmp_path / "run-a100-pinned-1" / "results" / "history").mkdir(parents=True)
    (tmp_path / "run-a100-pinned-1" / "results" / "history" / "r.json").write_text(
        run_file((NEW_CASE, "ok"), (OLD_CASE, "no-baseline"))
    )
    assert issue_body(tmp_path) == ("No failing case in tonight's run files.", False)
    (tmp_path / "run-h100-pinned-2").mkdir()
    body, failed = issue_body(tmp_path)
    assert failed and "### run-h100-pinned-2\n- no run file" in body


def test_out_of_memory_is_listed_and_an_unreadable_file_is_named(tmp_path):
    history = tmp_path / "run-a100" / "results" / "history"
    history.mkdir(parents=True)
    (history / "a.json").write_text(run_file((NEW_CASE, "oom")))
    (history / "b.json").write_text("{not json")
    body, failed = issue_body(tmp_path)
    assert failed and f"`{NEW_CASE}` **oom**" in body
    assert "`b.json`: unreadable run file" in body


def test_the_merge_and_issue_jobs_need_the_standard_library_only():
    """Those jobs install nothing: `python -S` (no site-packages) must import their modules."""
    modules = ("issue", "publish", "collect", "preflight", "stackdir")
    imports = "; ".join(f"import twinbench.nightly.{module}" for module in modules)
    src = Path(__file__).resolve().parent.parent / "src"
    done = subprocess.run(
        [sys.executable, "-S", "-c", imports],
        env={"PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
