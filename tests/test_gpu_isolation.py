"""A PyTorch worker never imports TensorFlow or Keras: on a GPU their CUDA libraries would load
into the PyTorch process. Checked in a worker subprocess's own sys.modules after it measured
a case, FLOPs and numerics included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NUMERICS = Path(__file__).parent.parent / "fixtures" / "numerics"
WORKER = """
import io, json, sys
from twinbench.execute.worker import serve
request = {"case": "mlp-torch-eager-cpu-infer-fp32-b2", "seed": 0, "numerics_dir": sys.argv[1],
           "timing": {"warmup_s": 0.0, "min_sample_s": 0.0, "rounds": 1, "max_loops": 1}}
replies = io.StringIO()
serve("torch", 1, io.StringIO(json.dumps(request) + "\\n"), replies)
result = json.loads(replies.getvalue().splitlines()[-1])["result"]
print(json.dumps({"status": result["status"], "flops": result["flops_per_step"],
                  "modules": sorted(sys.modules)}))
"""


def test_a_torch_worker_never_imports_tensorflow_or_keras():
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(NUMERICS)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"KERAS_BACKEND": "tensorflow"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["status"] == "ok" and seen["flops"]  # the case, its FLOPs and numerics ran
    assert "torch" in seen["modules"]
    leaked = [m for m in seen["modules"] if m.split(".")[0] in ("tensorflow", "keras", "jax")]
    assert leaked == []
