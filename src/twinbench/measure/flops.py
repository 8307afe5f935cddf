"""FLOPs per step, counted once per case on the PyTorch twin (the models are identical).

torch.utils.flop_counter counts matrix products, convolutions and attention, the work that
dominates these models; element-wise ops are not counted. It has no formula for the fused
LSTM kernel, so LSTM layers are added analytically (their gate matrix products, as a forward
hook sees their inputs).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from twinbench.zoo.digits import TRAIN_SIZE
from twinbench.zoo.spec import ModelSpec, make_batch


def count_step_flops(spec: ModelSpec, mode: str, batch: int, seed: int = 0) -> int:
    """FLOPs of one step: forward (infer), forward plus backward (train), an epoch of it (fit)."""
    if mode == "fit":  # the counted work is linear in the batch: the train step per example
        return count_step_flops(spec, "train", batch, seed) * TRAIN_SIZE // batch
    # On the meta device: shapes only, nothing allocated or computed, so a full-size step
    # (GPT-2 small at batch 8: teraflops) costs no CPU time; the counts are the same as on the
    # CPU. Not for an LSTM: on meta it runs as matmuls the counter sees, on the CPU as the
    # fused kernel the hook below counts.
    model, device = _build_on_meta(spec, seed), "meta"
    if model is None or any(isinstance(m, torch.nn.LSTM) for m in model.modules()):
        model, device = spec.build_torch(seed), "cpu"
    x_np, y_np = make_batch(spec, batch, seed)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    counter = FlopCounterMode(display=False)
    lstm_macs: list[int] = []
    hooks = [
        module.register_forward_hook(_count_lstm(lstm_macs))
        for module in model.modules()
        if isinstance(module, torch.nn.LSTM)
    ]
    # The counter has no formula for the CPU flash-attention kernel; the math backend computes
    # the same products through matmuls it does count.
    with sdpa_kernel(SDPBackend.MATH):
        if mode == "infer":
            model.eval()
            with torch.inference_mode(), counter:
                model(x)
        else:
            model.train()
            with counter:
                torch.nn.functional.cross_entropy(model(x), y).backward()
    for hook in hooks:
        hook.remove()
    # forward: 2 FLOPs per multiply-add; backward: gradients of inputs and weights, twice that
    lstm_flops = 2 * sum(lstm_macs) * (1 if mode == "infer" else 3)
    return int(counter.get_total_flops()) + lstm_flops


def _build_on_meta(spec: ModelSpec, seed: int) -> torch.nn.Module | None:
    """The PyTorch twin on the meta device; None when its builder needs real tensors (a user's
    builder may copy a NumPy constant in, say)."""
    try:
        with torch.device("meta"):
            model = spec.build_torch(seed)
        return model.to("meta")
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _count_lstm(macs: list[int]) -> Any:
    """Forward hook adding an nn.LSTM's gate multiply-adds: 4 gates x (input + hidden) x hidden."""

    def hook(module: torch.nn.LSTM, inputs: tuple[torch.Tensor, ...], _output: Any) -> None:
        x = inputs[0]
        steps = x.shape[0] * x.shape[1]  # batch x time, whatever the layout
        size_in, hidden = module.input_size, module.hidden_size
        for layer in range(module.num_layers):
            layer_in = size_in if layer == 0 else hidden * (2 if module.bidirectional else 1)
            directions = 2 if module.bidirectional else 1
            macs.append(directions * steps * 4 * hidden * (layer_in + hidden))

    return hook
