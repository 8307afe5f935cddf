"""A real, injected slowdown of the timed steps, for tests and experiments of the gate.

``TWINBENCH_INJECT_SLOWDOWN`` set in a worker's environment makes every timed stretch last
that factor longer by spinning the CPU after the steps, inside the timed region: ``1.25``
slows every case, ``*-torch-*=1.25`` only the cases whose id matches the glob (PyTorch's);
in a comma-separated list the first match wins. The A/B command's test wraps one Python in a
script that sets it, and the gate experiments slow one framework without patching its
runner. Unset (the normal case), nothing changes.
"""

from __future__ import annotations

import fnmatch
import os
import time

from twinbench.measure.timing import TimeLoops

SLOWDOWN_ENV = "TWINBENCH_INJECT_SLOWDOWN"


def slowdown_factor(case_id: str, setting: str | None = None) -> float:
    """The factor `setting` (default: the environment variable) asks for `case_id`."""
    setting = os.environ.get(SLOWDOWN_ENV, "") if setting is None else setting
    for item in filter(None, (part.strip() for part in setting.split(","))):
        name, _, value = item.rpartition("=")
        if name == "" or fnmatch.fnmatchcase(case_id, name):
            factor = float(value)
            if not factor >= 1.0:
                raise ValueError(f"{SLOWDOWN_ENV}: a slowdown factor is >= 1, got {item!r}")
            return factor
    return 1.0


def slowed(time_loops: TimeLoops, case_id: str) -> TimeLoops:
    """`time_loops`, each call spinning until it took the injected factor longer."""
    factor = slowdown_factor(case_id)
    if factor == 1.0:
        return time_loops

    def time_slowed(loops: int) -> float:
        start = time.perf_counter()
        elapsed = time_loops(loops)
        until = start + elapsed * factor
        while time.perf_counter() < until:  # spin: the CPU stays busy, as in a slower step
            pass
        return time.perf_counter() - start

    return time_slowed
