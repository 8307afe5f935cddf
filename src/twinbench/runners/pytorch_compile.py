"""The PyTorch runner's `compile` variant: torch.compile, its availability, what it captured."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """`torch.compile(model)` after clearing Dynamo's caches.

    Without the reset, the cases of one worker process share Dynamo's cache per code object:
    a second batch size would recompile with dynamic shapes (so the figure would depend on
    which case ran before), and after `recompile_limit` recompilations Dynamo silently runs
    the model eagerly. `dynamic=False` keeps every case on static shapes, as a fresh process
    would compile it.
    """
    torch._dynamo.reset()
    return torch.compile(model, dynamic=False)  # type: ignore[return-value]


def dynamo_activity() -> Callable[[], dict[str, int]]:
    """Graphs Dynamo captures and graph breaks it meets from now on, read when called.

    A module Dynamo cannot trace (nn.LSTM: docs/measurements.md) runs eagerly inside a
    "compiled" model: zero graphs or many breaks say how much of a compile figure was compiled.
    """
    counters = torch._dynamo.utils.counters
    graphs = counters["stats"]["unique_graphs"]
    breaks = sum(counters["graph_break"].values())
    return lambda: {
        "graphs": counters["stats"]["unique_graphs"] - graphs,
        "graph_breaks": sum(counters["graph_break"].values()) - breaks,
    }


def clear_compiled() -> None:
    """Drop every graph Dynamo compiled so far (they hold device memory and cached kernels)."""
    torch._dynamo.reset()


@functools.cache  # once per process and device: the answer does not change
def try_compile(device: str) -> str | None:
    """None when torch.compile builds and runs a tiny function on `device`, else the reason.

    On a CPU, Inductor needs a working C++ compiler and Python headers; where they are
    missing every compile case skips with the compiler's own complaint.
    """
    try:
        torch._dynamo.reset()
        torch.compile(lambda t: t * 2.0 + 1.0)(torch.ones(4, device=device))
    except Exception as error:  # the reason becomes the skip message of every compile case
        return f"torch.compile does not work here: {type(error).__name__}: {error}"[:300]
    finally:
        torch._dynamo.reset()
    return None
