"""Pre-flight of a GPU runner: fail in seconds, with the fix, before hours of benchmarks.

Two stages, both cheap. `driver` (before installing anything): `nvidia-smi` answers, names at
least one GPU, and the driver is new enough for the CUDA 12 builds of constraints/cuda.txt.
`frameworks` (in the installed tox environment): each framework is a CUDA build and sees the
GPU, checked in its own process so the two frameworks' CUDA libraries never share one (#13
item 9). Usage: ``python -m twinbench.nightly.preflight driver|frameworks``.
Standard library only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable

# Both frameworks run CUDA 12 builds (constraints/cuda.txt). CUDA 12.x runs on drivers from
# 525.60.13 (minor-version compatibility, CUDA release notes), but PTX JIT compilation, which
# TensorFlow needs on GPUs it ships no kernels for (sm_90), needs a driver at least as new as
# the toolkit that wrote the PTX; 570.26 is the CUDA 12.8 toolkit's own driver.
DRIVER_MINIMUM = (570, 26)
QUERY = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]

# One short program per framework: prints what it sees, exits 1 with the problem otherwise.
FRAMEWORK_CHECKS = {
    "torch": (
        "import torch, sys\n"
        "if torch.version.cuda is None:\n"
        "    sys.exit(f'torch {torch.__version__} is a CPU build (torch.version.cuda is None)')\n"
        "if not torch.cuda.is_available():\n"
        "    sys.exit(f'torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU')\n"
        "print(f'torch {torch.__version__}, CUDA {torch.version.cuda}: '\n"
        "      f'{torch.cuda.get_device_name(0)}')\n"
    ),
    "tensorflow": (
        "import tensorflow as tf, sys\n"
        "if not tf.test.is_built_with_cuda():\n"
        "    sys.exit(f'tensorflow {tf.__version__} is not a CUDA build')\n"
        "gpus = tf.config.list_physical_devices('GPU')\n"
        "if not gpus:\n"
        "    sys.exit(f'tensorflow {tf.__version__} sees no GPU')\n"
        "cuda = tf.sysconfig.get_build_info().get('cuda_version')\n"
        "print(f'tensorflow {tf.__version__}, CUDA {cuda}: {len(gpus)} GPU(s)')\n"
    ),
}
FIX = {
    "driver": "install an NVIDIA driver >= {minimum} on this runner, or take its GPU label "
    "out of the nightly matrix",
    "frameworks": "check the install step's log: pip must take the CUDA builds pinned in "
    "constraints/cuda.txt (see docs/ci.md, 'CUDA builds')",
}


def run_command(command: list[str]) -> tuple[int, str]:
    """Exit status and output (stdout, then stderr) of `command`; 127 when it is missing."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        return 127, f"{command[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"{command[0]}: no answer in 120 s"
    return done.returncode, (done.stdout + done.stderr).strip()


def parse_version(text: str) -> tuple[int, ...]:
    """'570.86.15' -> (570, 86, 15); () when it is not a version."""
    try:
        return tuple(int(part) for part in text.strip().split("."))
    except ValueError:
        return ()


def check_driver(run: Callable[[list[str]], tuple[int, str]] = run_command) -> list[str]:
    """Problems with the driver and the visible GPUs; prints what it found."""
    status, output = run(QUERY)
    if status != 0:
        return [f"nvidia-smi failed ({status}): {output or 'no output'}"]
    gpus = [line for line in output.splitlines() if line.strip()]
    if not gpus:
        return ["nvidia-smi lists no GPU (CUDA_VISIBLE_DEVICES or the runner's cgroup hides it?)"]
    problems = []
    for line in gpus:
        print(f"GPU: {line}")
        fields = [field.strip() for field in line.split(",")]
        driver = fields[1] if len(fields) > 1 else "?"
        version = parse_version(driver)
        if not version or version < DRIVER_MINIMUM:
            minimum = ".".join(map(str, DRIVER_MINIMUM))
            problems.append(f"driver {driver} is older than {minimum}: {line}")
    return problems


def check_frameworks(run: Callable[[list[str]], tuple[int, str]] = run_command) -> list[str]:
    """Problems of each framework's CUDA build, each checked in its own process."""
    problems = []
    for framework, program in FRAMEWORK_CHECKS.items():
        status, output = run([sys.executable, "-c", program])
        if status == 0:
            print(output.splitlines()[-1] if output else f"{framework}: ok")
        else:
            last = output.splitlines()[-1] if output else "no output"
            problems.append(f"{framework}: {last}")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.nightly.preflight", description=__doc__
    )
    parser.add_argument("stage", choices=("driver", "frameworks"))
    stage = parser.parse_args(argv).stage
    problems = check_driver() if stage == "driver" else check_frameworks()
    if not problems:
        print(f"pre-flight ({stage}): ok")
        return 0
    minimum = ".".join(map(str, DRIVER_MINIMUM))
    for problem in problems:
        print(f"::error title=GPU pre-flight ({stage})::{problem}")
    fix = FIX[stage].format(minimum=minimum)
    print(f"This runner cannot run the CUDA benchmarks. Next step: {fix}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
