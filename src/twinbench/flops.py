"""FLOPs per step, counted once per case on the PyTorch twin (the models are identical).

torch.utils.flop_counter counts matrix products, convolutions and attention, the work that
dominates these models; element-wise ops are not counted. It has no formula for the fused
LSTM kernel, so recurrent models report the FLOPs of their other layers only (a lower bound).
"""

from __future__ import annotations

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from twinbench.zoo.spec import ModelSpec, make_batch


def count_step_flops(spec: ModelSpec, mode: str, batch: int, seed: int = 0) -> int:
    """FLOPs of one step: the forward pass (infer) or forward plus backward (train)."""
    model = spec.build_torch(seed)
    x_np, y_np = make_batch(spec, batch, seed)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    counter = FlopCounterMode(display=False)
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
    return int(counter.get_total_flops())
