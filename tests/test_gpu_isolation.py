"""Each worker imports its own framework only: on a GPU, another framework's CUDA libraries
would load into the measuring process (issue #13 item 9). A PyTorch worker never imports
TensorFlow, Keras or JAX; a Keras worker on TensorFlow or JAX never imports torch, its weights
and FLOPs coming from a torch-only child (runners/twin_export.py). Checked in a worker
subprocess's own sys.modules after it measured a case, FLOPs and numerics included."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NUMERICS = Path(__file__).parent.parent / "fixtures" / "numerics"
WORKER = """
import io, json, sys
from twinbench.execute.worker import serve
framework, case = sys.argv[2], sys.argv[3]
request = {"case": case, "seed": 0, "numerics_dir": sys.argv[1],
           "timing": {"warmup_s": 0.0, "min_sample_s": 0.0, "rounds": 1, "max_loops": 1}}
replies = io.StringIO()
serve(framework, 1, io.StringIO(json.dumps(request) + "\\n"), replies)
result = json.loads(replies.getvalue().splitlines()[-1])["result"]
print(json.dumps({"status": result["status"], "reason": result.get("reason"),
                  "flops": result["flops_per_step"], "numerics": result.get("numerics"),
                  "modules": sorted(sys.modules)}))
"""
# mlp at batch 2, forward only: 2 FLOPs per multiply-add of its three matrix products.
MLP_INFER_B2_FLOPS = 2 * 2 * (784 * 512 + 512 * 512 + 512 * 10)
OTHERS_OF = {
    "torch": ("tensorflow", "keras", "jax"),
    "keras": ("torch",),
    "keras_jax": ("torch",),
}


def run_worker(framework: str, case: str, env: dict[str, str]) -> dict:
    """Measure `case` in a fresh worker subprocess; its result and the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(NUMERICS), framework, case],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "TWINBENCH_TWIN_CACHE"} | env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen: dict = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["status"] == "ok", seen["reason"]
    return seen


def assert_measured_alone(seen: dict, framework: str) -> None:
    """The case ran with its FLOPs and a passing numerics check, and no other framework's
    module was ever imported."""
    assert seen["flops"] == MLP_INFER_B2_FLOPS
    assert seen["numerics"]["status"] == "same", seen["numerics"]
    leaked = [m for m in seen["modules"] if m.split(".")[0] in OTHERS_OF[framework]]
    assert leaked == []


def test_loading_every_zoo_spec_imports_no_framework():
    """What a Keras worker loads to find a model's spec (config, Keras builder, weight map)
    imports no torch, for every model and size; the PyTorch twins are in zoo/torch_twins."""
    code = (
        "import sys\n"
        "from twinbench.zoo import _SPECS, load_spec\n"
        "specs = [load_spec(model, size) for model, size in _SPECS]\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'tensorflow', 'keras'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_torch_worker_never_imports_tensorflow_keras_or_jax():
    seen = run_worker("torch", "mlp-torch-eager-cpu-infer-fp32-b2", {"KERAS_BACKEND": "tensorflow"})
    assert "torch" in seen["modules"]
    assert_measured_alone(seen, "torch")


def test_a_keras_worker_on_tensorflow_never_imports_torch(tmp_path):
    seen = run_worker(
        "keras",
        "mlp-keras-graph-cpu-infer-fp32-b2",
        {"KERAS_BACKEND": "tensorflow", "TWINBENCH_TWIN_CACHE": str(tmp_path)},
    )
    assert "tensorflow" in seen["modules"]
    assert_measured_alone(seen, "keras")
    # One torch-only child left the twin's weights (seed 0, also the numerics check's) and
    # the step's FLOPs in the pool's folder; the numerics check found them there.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mlp.tiny-infer-b2.flops.json",
        "mlp.tiny-seed0.npz",
    ]


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_a_keras_worker_on_jax_never_imports_torch():
    # No TWINBENCH_TWIN_CACHE: a worker started outside a pool uses a folder of its own.
    seen = run_worker("keras_jax", "mlp-keras_jax-graph-cpu-infer-fp32-b2", {})
    assert "jax" in seen["modules"]
    assert_measured_alone(seen, "keras_jax")
