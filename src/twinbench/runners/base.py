"""The interface every framework runner implements, and what runners share."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from twinbench.core.cases import Case
from twinbench.measure.timing import TimeLoops, loop_timer
from twinbench.zoo.spec import ModelSpec

# Training hyper-parameters shared by both frameworks, so their steps do the same arithmetic.
LEARNING_RATE = 0.01
MOMENTUM = 0.9


@dataclass
class PreparedCase:
    """A model built on its device with its inputs, ready to be timed."""

    time_loops: TimeLoops
    # Runs one step outside any timing and returns its output, to check where it ran.
    run_once: Callable[[], Any]
    # "cpu" or "cuda": where the framework says the output of one step lives.
    placed_on: Callable[[Any], str]
    # Keeps model and tensors alive for as long as the case is timed.
    keepalive: list[Any] = field(default_factory=list)
    # What the compiler did, read after timing (torch.compile: graphs captured, graph
    # breaks); {} for variants that compile all or nothing.
    compile_info: Callable[[], dict[str, int]] = dict
    # Fit mode: called once after timing, what the timed model learned (test accuracy, epochs).
    evaluate: Callable[[], dict[str, Any]] | None = None


class Runner(Protocol):
    """One framework's way of building and stepping a zoo model."""

    name: str

    def configure(self, threads: int) -> None:
        """Set thread pools and precision flags once, before the first case."""

    def device_available(self, device: str) -> str | None:
        """None when `device` is usable by this framework, else the reason it is not."""

    def variant_available(self, case: Case) -> str | None:
        """None when the case's variant can run on its device here, else the reason."""

    def prepare(self, spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
        """Build the model on the case's device with seeded weights and inputs."""

    def peak_flops(self, device: str) -> float:
        """FLOP/s of a large float32 matrix product on `device`: this machine's practical peak."""

    def to_numpy(self, output: Any) -> Any:
        """Host copy of a step's output as a NumPy array."""

    def reset_peak_memory(self, device: str) -> None:
        """Start a fresh peak-memory window (no-op where the framework has none)."""

    def peak_memory(self, device: str) -> dict[str, int]:
        """Peak memory since the last reset, by what the framework reports; {} when nothing."""

    def is_out_of_memory(self, error: BaseException) -> bool:
        """Whether `error` is this framework's out-of-memory error."""

    def release(self) -> None:
        """Free cached device memory after a case (best effort)."""

    def metadata(self) -> dict[str, Any]:
        """Versions, devices and settings that the run file records for this framework."""


class Counted:
    """A step that counts its calls: the epochs a fit case trained, timed or not."""

    def __init__(self, step: Callable[[], Any]) -> None:
        self.step = step
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.step()


Context = Callable[[], AbstractContextManager[Any]]


def prepared_case(
    step: Callable[[], Any],
    sync: Callable[[Any], None],
    context: Context = contextlib.nullcontext,
    **fields: Any,
) -> PreparedCase:
    """A PreparedCase whose timed loop and first call run `step` the same way.

    The first call enters `context` and ends with `sync(output)`, as every sample does, so
    the first-call time covers the same work as a step plus what only the first call pays.
    `fields` are PreparedCase's other fields (placed_on, keepalive, ...).
    """

    def run_once() -> Any:
        with context():
            out = step()
        sync(out)
        return out

    return PreparedCase(time_loops=loop_timer(step, sync, context), run_once=run_once, **fields)


# Square matrix product that stands for the hardware's peak (2*n^3 FLOPs per call).
PEAK_MATMUL_SIZE = {"cpu": 1024, "cuda": 8192}


def matmul_rate(
    matmul: Callable[[], Any],
    sync: Callable[[Any], None],
    device: str,
    context: Context = contextlib.nullcontext,
    repeat: int = 5,
) -> float:
    """FLOP/s of the fastest of `repeat` timed pairs of `matmul` calls on a PEAK_MATMUL_SIZE
    square matrix of `device`, after one untimed call (tracing, kernel selection)."""
    n = PEAK_MATMUL_SIZE[device]
    time_loops = loop_timer(matmul, sync, context)
    time_loops(1)
    return 2.0 * n**3 / min(time_loops(2) / 2 for _ in range(repeat))
