"""--refresh-numerics: only the default variants in fp32 make reference outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fixtures.runs import measured

from twinbench.bench.resolve import resolve_options
from twinbench.bench.session import BenchSession
from twinbench.execute.numerics import load_references, reference_path, stored_output

# case id -> the output its numerics check saw; only the first two are reference cells.
OUTPUTS = {
    "mlp-torch-eager-cpu-infer-fp32-b1": [[1.0, 2.0]],
    "mlp-keras-graph-cpu-train-fp32-b1": [0.5],
    "mlp-torch-compile-cpu-train-fp32-b1": [9.0],  # compiled variant: checked, never stored
    "mlp-keras-xla-cpu-infer-fp32-b1": [[9.0, 9.0]],
    "mlp-keras-graph-cpu-infer-bf16-b1": [[8.0, 8.0]],  # bf16: checked, never stored
}


def session_with_outputs(numerics_dir: Path, results_dir: Path) -> BenchSession:
    values = {
        "profile": "smoke",
        "frameworks": ("keras", "torch"),
        "devices": ("cpu",),
        "modes": ("infer", "train"),
        "threads": 1,
        "results_dir": str(results_dir),
        "numerics_dir": str(numerics_dir),
        "refresh_numerics": True,
        "regression_threshold": 1.1,
        "confirm_rounds": 0,
    }
    session = BenchSession(resolve_options(values.get, results_dir))
    for case_id, output in OUTPUTS.items():
        run = measured(case_id, 1e-4)
        numerics = {"status": "same", "output": output}
        session.runs.append(
            replace(run, processes=[replace(p, numerics=numerics) for p in run.processes])
        )
    return session


def test_only_default_variant_fp32_outputs_are_stored(tmp_path):
    session = session_with_outputs(tmp_path / "numerics", tmp_path)
    session._refresh_numerics({"torch_version": "2.13.0", "keras_version": "3.15.1"})
    references = load_references(reference_path(tmp_path / "numerics", "mlp"))
    assert references is not None
    assert stored_output(references, "torch", "infer") == [[1.0, 2.0]]
    assert stored_output(references, "keras", "train") == [0.5]
    assert stored_output(references, "torch", "train") is None  # only a compile case ran
    assert stored_output(references, "keras", "infer") is None  # only xla and bf16 ran
