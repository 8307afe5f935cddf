"""The case table's memory cell reads the key each runner writes (issue #13 item 5, 10)."""

from __future__ import annotations

import pytest

from twinbench.core.cases import Case
from twinbench.render.text import cases_table
from twinbench.results.runfile import CaseRow

MIB = 1 << 20


@pytest.mark.parametrize(
    ("framework", "memory", "shown"),
    [
        # Keras on JAX: its peak cannot be reset, and the cell says so instead of host RSS.
        (
            "keras_jax",
            {"jax_gpu_lifetime_peak_bytes": 300 * MIB, "cpu_rss_growth_bytes": 5 * MIB},
            "lifetime peak 300.0 MiB",
        ),
        (
            "keras",
            {"tf_gpu_peak_bytes": 40 * MIB, "cpu_rss_growth_bytes": 5 * MIB},
            "peak 40.0 MiB",
        ),
        # The first call's autotuning needed more than the steady state: both are shown.
        (
            "torch",
            {
                "cuda_peak_allocated_bytes": 150 * MIB,
                "first_call_cuda_peak_allocated_bytes": 950 * MIB,
            },
            "peak 150.0 MiB, 1st 950.0 MiB",
        ),
        (
            "torch",
            {"cuda_peak_allocated_bytes": 150 * MIB, "first_call_cuda_peak_allocated_bytes": MIB},
            "peak 150.0 MiB",
        ),
        ("torch", {"cpu_rss_growth_bytes": 64 * MIB}, "rss+64.0 MiB"),
    ],
)
def test_the_memory_cell_shows_the_device_peak_the_runner_wrote(framework, memory, shown):
    table = cases_table([CaseRow(Case("mlp", framework, "cuda", "infer", 1), "ok", memory=memory)])
    assert shown in table.splitlines()[-1]
