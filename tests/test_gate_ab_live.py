"""`twinbench ab` end to end: two fake environments around this Python, one slowed 2x.

B is a wrapper script that sets TWINBENCH_INJECT_SLOWDOWN for one of the two cases, so one
run holds an injected slowdown (b1) and an A/A comparison (b64), measured by real PyTorch
workers. Slow (two sets of worker processes); timings are never asserted, only the verdicts.
The slowdown is 2x, not the 25% the A/B experiments use: this test checks the command end to
end, and a 25% effect is near what three processes a side can show on a 2-core machine
(docs/gate.md), so it would fail on a bad evening rather than on a broken command.
"""

from __future__ import annotations

import sys

import pytest

from twinbench.cli import main
from twinbench.core.jsonfile import read_json

SLOWED = "mlp-torch-eager-cpu-infer-fp32-b1"
UNCHANGED = "mlp-torch-eager-cpu-infer-fp32-b64"


def wrapper(path, environment: str = ""):
    path.write_text(f'#!/bin/sh\n{environment} exec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("mode", ["interleaved", "together"])
def test_a_doubled_step_reads_slower_and_an_unchanged_case_does_not(mode, tmp_path, capsys):
    a = wrapper(tmp_path / "python-a")
    b = wrapper(tmp_path / "python-b", "TWINBENCH_INJECT_SLOWDOWN='*-b1=2.0'")
    status = main(
        [
            "ab",
            "--a",
            a,
            "--b",
            b,
            "--frameworks",
            "torch",
            "--devices",
            "cpu",
            "--models",
            "mlp",
            "--modes",
            "infer",
            "--batch-sizes",
            "1,64",
            "--confirm-rounds",
            "2",
            "--results-dir",
            str(tmp_path),
            f"--{mode}",
        ]
    )
    out = capsys.readouterr().out
    (run_file,) = (tmp_path / "ab").rglob("*.json.xz")
    run = read_json(run_file)["twinbench"]
    verdicts = {v["case_id"]: v["verdict"] for v in run["comparison"]["verdicts"]}
    assert verdicts[SLOWED] == "regression", out
    assert verdicts[UNCHANGED] != "regression", out
    assert status == 1  # a slower case fails the command
    assert any(line.startswith(SLOWED) and " slower " in line for line in out.splitlines())
    assert run["settings"]["order"] == ("abba" if mode == "interleaved" else "together")
