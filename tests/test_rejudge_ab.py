"""scripts/rejudge_ab.py: a `--together` run file judged again, look by look, either rule."""

from __future__ import annotations

import pytest
from fixtures.scripts import load_script

CASE = "mlp-torch-eager-cpu-infer-fp32-b1"
# Moments shared by the two processes of each pair, over a 2x range.
MOMENTS = [1.0, 1.9, 1.3, 1.6, 1.1, 2.0]


def entry(levels: list[float]) -> dict:
    return {"param": CASE, "extra_info": {"processes": [{"samples": [x] * 5} for x in levels]}}


def together_run(looks: int, order: str = "a+b") -> dict:
    """`looks` times 6 pairs, B 25% slower than A in every pair."""
    a = [1e-3 * m for m in MOMENTS * looks]
    return {
        "benchmarks": [entry([1.25 * x for x in a])],
        "twinbench": {
            "ab": {"a_benchmarks": [entry(a)], "orders": {CASE: [[order] * 6] * looks}},
            "comparison": {"verdicts": [{"case_id": CASE, "verdict": "regression"}]},
        },
    }


def test_pairs_decide_on_the_second_look_where_the_sides_do_not():
    script = load_script("rejudge_ab")
    assert script.rejudge(together_run(3), 6, 2, paired=True) == {CASE: "regression"}
    # Side against side the moments drown the 25%: it wants the look the file lacks.
    assert script.rejudge(together_run(2), 6, 1, paired=False)[CASE] in ("unsure", "ok")
    assert script.rejudge(together_run(1), 6, 2, paired=True) == {CASE: script.UNREPLAYABLE}


def test_a_run_file_of_interleaved_processes_is_refused():
    script = load_script("rejudge_ab")
    with pytest.raises(SystemExit, match="not an `ab --together` run file"):
        script.rejudge(together_run(1, order="a"), 6, 2, paired=True)


def test_cases_that_took_turns_in_a_together_run_are_left_out():
    script = load_script("rejudge_ab")
    run = together_run(3)
    cuda = "mlp-torch-eager-cuda-infer-fp32-b1"
    turns = {**entry([1e-3] * 6), "param": cuda}
    run["benchmarks"].append(turns)
    run["twinbench"]["ab"]["a_benchmarks"].append(turns)
    run["twinbench"]["ab"]["orders"][cuda] = [["a", "b", "b", "a"] * 3]
    assert script.rejudge(run, 6, 2, paired=True) == {CASE: "regression"}
