"""The torch-only export a Keras worker gets its weights and FLOPs from (runners/twin_export.py):
what it writes, that a Keras twin loaded from it computes what the PyTorch twin computes, and
the errors a failing export gives. The worker-side path (no torch in the process) is checked
by tests/test_gpu_isolation.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from twinbench.measure.flops import count_step_flops
from twinbench.runners import twin_export
from twinbench.runners.twin_export import TwinStep, export, flops_path, weights_path
from twinbench.zoo import load_spec
from twinbench.zoo.spec import make_batch
from twinbench.zoo.transfer import numpy_state


@pytest.mark.parametrize("model", ["mlp", "lstm"])  # lstm: its own transfer (a summed bias)
def test_exported_weights_give_the_keras_twin_the_pytorch_outputs(model, tmp_path):
    import torch

    spec = load_spec(model)
    export(TwinStep(model, "tiny", "infer", 2), 3, tmp_path)
    with np.load(weights_path(tmp_path, model, "tiny", 3)) as archive:
        weights = {name: archive[name] for name in archive.files}
    torch_model = spec.build_torch(3).eval()
    assert weights.keys() == numpy_state(torch_model).keys()
    keras_model = spec.build_keras("float32")
    spec.transfer(weights, keras_model)
    x, _ = make_batch(spec, 2, seed=0)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    got = np.asarray(keras_model(spec.to_keras_layout(x), training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_the_export_writes_the_steps_flops_once(tmp_path):
    step = TwinStep("cnn", "tiny", "train", 4)
    export(step, 0, tmp_path)
    counted = count_step_flops(load_spec("cnn"), "train", 4)
    assert flops_path(tmp_path, step).read_text() == f'{{"flops": {counted}}}'
    flops_path(tmp_path, step).write_text('{"flops": 7}')
    export(step, 0, tmp_path)  # a second export keeps what is there: one export per session
    assert flops_path(tmp_path, step).read_text() == '{"flops": 7}'


def test_a_failing_export_names_the_model_and_the_command_to_rerun(tmp_path, monkeypatch):
    monkeypatch.setenv(twin_export.TWIN_CACHE_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match=r"(?s)nosuchmodel.*unknown model.*export nosuchmodel"):
        twin_export._export(TwinStep("nosuchmodel", "tiny", "infer", 2), seed=0)


def test_the_export_command_explains_its_arguments():
    done = subprocess.run(
        [sys.executable, "-m", "twinbench.runners.twin_export", "mlp"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "MODEL SIZE MODE BATCH SEED FOLDER" in done.stderr and "e.g. mlp" in done.stderr
