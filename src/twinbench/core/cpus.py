"""The CPUs this process may run on: the default thread count, and what `ab --together` splits."""

from __future__ import annotations

import os


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (affinity aware), in order."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))
