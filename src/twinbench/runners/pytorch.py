"""PyTorch runner: eager mode, `torch.inference_mode` for inference, SGD with momentum to train.

Variants: `eager`, and `compile`: `torch.compile(model)` (default mode, static shapes). To
train, the model is compiled (forward and, through AOTAutograd, backward) and the optimizer
step stays eager: that is the common way to use torch.compile, and it keeps the parameter
update the same code as in `eager`. Precision `bf16`: the forward pass (and the loss) under
`torch.autocast(device_type, dtype=torch.bfloat16)`, backward outside it, as PyTorch's AMP
documentation recommends; bfloat16 needs no gradient scaler.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from twinbench.core.cases import Case
from twinbench.measure.timing import no_sync
from twinbench.runners.base import (
    LEARNING_RATE,
    MOMENTUM,
    PEAK_MATMUL_SIZE,
    Context,
    Counted,
    PreparedCase,
    matmul_rate,
    prepared_case,
)
from twinbench.runners.pytorch_compile import (
    clear_compiled,
    compiled,
    dynamo_activity,
    try_compile,
)
from twinbench.zoo.digits import accuracy, load_digits
from twinbench.zoo.spec import ModelSpec, make_batch


def make_optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimizer both frameworks use: plain SGD with (non-Nesterov) momentum."""
    return torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)


def make_infer_step(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Forward pass in eval mode; call it under `torch.inference_mode()`.

    `model` may be the compiled wrapper (`torch.compile` returns a module whose eval() and
    train() reach the original).
    """
    model.eval()
    return lambda: model(x)


def make_batch_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    forward_context: Context = contextlib.nullcontext,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """One step on the batch it is given: forward, cross-entropy on logits, backward,
    optimizer update; returns the loss.

    `model` is a module in training mode, or its compiled wrapper; `forward_context` wraps
    the forward pass and the loss (autocast), not the backward pass.
    """
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with forward_context():
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def make_train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    forward_context: Context = contextlib.nullcontext,
) -> Callable[[], torch.Tensor]:
    """`make_batch_step` on one fixed batch: the train mode's step."""
    step = make_batch_step(model, optimizer, forward_context)
    return lambda: step(x, y)


def make_fit_epoch(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    device: torch.device,
) -> Callable[[], torch.Tensor]:
    """One epoch of the explicit loop over `loader`: the train step per batch; the last loss."""
    step = make_batch_step(model, optimizer)

    def epoch() -> torch.Tensor:
        loss = None
        for x, y in loader:
            loss = step(x.to(device, non_blocking=True), y.to(device, non_blocking=True))
        assert loss is not None, "empty training split"
        return loss

    return epoch


def make_fit_loader(
    x: np.ndarray, y: np.ndarray, batch: int, seed: int, pin: bool, shuffle: bool = True
) -> DataLoader:
    """Batches of the in-memory arrays, shuffled in a seeded order.

    No loader worker processes: the data is in memory, and starting processes would cost more
    than indexing it (Keras' adapter slices the arrays in TensorFlow threads instead).
    """
    return DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=batch,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=pin,
    )


class TorchRunner:
    """Runs zoo models with PyTorch, eager or compiled."""

    name = "torch"

    def configure(self, threads: int) -> None:
        torch.set_num_threads(threads)
        # Only settable before the first inter-op parallel work; harmless if already fixed.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)
        # TF32 off: fp32 must mean fp32 on both sides (DESIGN decision 2).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        # cuDNN picks the fastest convolution algorithm per shape on the first call, as
        # TensorFlow and XLA autotune by default: otherwise convolution comparisons lean
        # toward TensorFlow. The search lands in the first call, never in the samples.
        torch.backends.cudnn.benchmark = torch.cuda.is_available()

    def device_available(self, device: str) -> str | None:
        if device == "cuda" and not torch.cuda.is_available():
            return "PyTorch sees no CUDA device (torch.cuda.is_available() is False)"
        return None

    def variant_available(self, case: Case) -> str | None:
        return try_compile(case.device) if case.variant == "compile" else None

    def prepare(self, spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
        if case.mode == "fit":
            return _prepare_fit(spec, case, seed)
        device = torch.device(case.device)
        model = spec.build_torch(seed).to(device)
        forward = compiled(model) if case.variant == "compile" else model
        x_np, y_np = make_batch(spec, case.batch, seed)
        x = torch.from_numpy(x_np).to(device)
        y = torch.from_numpy(y_np).to(device)
        autocast: Context = contextlib.nullcontext
        if case.precision == "bf16":
            autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
        if case.mode == "infer":
            step = make_infer_step(forward, x)
            # Autocast entered once per sample, outside the timer, like inference_mode.
            context: Context = _stacked(torch.inference_mode, autocast)
        else:
            step = make_train_step(forward, make_optimizer(model), x, y, autocast)
            context = torch.enable_grad
        return prepared_case(
            step,
            device_sync(device.type),
            context,
            placed_on=lambda out: out.device.type,
            keepalive=[model, x, y],
            compile_info=dynamo_activity() if case.variant == "compile" else dict,
        )

    def peak_flops(self, device: str) -> float:
        n = PEAK_MATMUL_SIZE[device]
        a = torch.randn(n, n, device=device)
        return matmul_rate(lambda: a @ a, device_sync(device), device)

    def to_numpy(self, output: Any) -> np.ndarray:
        return to_numpy(output)

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def peak_memory(self, device: str) -> dict[str, int]:
        if device != "cuda":
            return {}
        return {"cuda_peak_allocated_bytes": int(torch.cuda.max_memory_allocated())}

    def is_out_of_memory(self, error: BaseException) -> bool:
        return isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError))

    def release(self) -> None:
        clear_compiled()  # a compiled case's graphs must not count toward the next one's peak
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def metadata(self) -> dict[str, Any]:
        cuda = torch.cuda.is_available()
        return {
            "version": torch.__version__,
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "cuda_version": torch.version.cuda,
            "cudnn_version": torch.backends.cudnn.version() if cuda else None,
            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "numpy_version": importlib_metadata.version("numpy"),
        }


def _prepare_fit(spec: ModelSpec, case: Case, seed: int) -> PreparedCase:
    """A fit case: the step is one epoch of the DataLoader loop over the digits' training split."""
    device, data = torch.device(case.device), load_digits(spec.input_shape, seed)
    model = spec.build_torch(seed).to(device)
    loader = make_fit_loader(data.x_train, data.y_train, case.batch, seed, device.type == "cuda")
    epoch = Counted(make_fit_epoch(model, make_optimizer(model), loader, device))

    def evaluate() -> dict[str, Any]:
        model.eval()
        with torch.inference_mode():
            logits = model(torch.from_numpy(data.x_test).to(device))
        model.train()
        return {"accuracy": accuracy(to_numpy(logits), data.y_test), "epochs": epoch.calls}

    return prepared_case(
        epoch,
        device_sync(device.type),
        torch.enable_grad,
        placed_on=lambda out: out.device.type,
        keepalive=[model, loader],
        evaluate=evaluate,
    )


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Host copy of a tensor, for parity checks (bfloat16 widened: NumPy has no bfloat16)."""
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.detach().cpu().numpy()


def _stacked(
    *contexts: Context,
) -> Context:
    """A context factory that enters each of `contexts`' contexts, in order."""

    @contextlib.contextmanager
    def enter() -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for make in contexts:
                stack.enter_context(make())
            yield

    return enter


def device_sync(device: str) -> Callable[[Any], None]:
    """What ends a timed region on `device`: a CUDA synchronize (kernels run asynchronously),
    nothing on the CPU (a step returns when its work is done)."""
    return _cuda_sync if device == "cuda" else no_sync


def _cuda_sync(_out: Any) -> None:
    torch.cuda.synchronize()
