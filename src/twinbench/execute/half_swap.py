"""The two workers of a pair measured together trade halves of the CPUs many times a second.

On a VM each virtual CPU is a host thread with neighbours of its own, so one half of the CPUs
can run slow for seconds while the other does not. A side pinned to one half for a whole case
reads that half's slow spell as its own slowdown, and the pair's ratio carries it whole.
Swapping the halves of the pair's two workers, at the same instant and every
`SWAP_PERIOD_S`, lets both sides live through both halves' spells, so those cancel in the ratio
the way a spell of the whole machine does (docs/gate.md has the A/A pairs that showed it).

The parent swaps them, not the workers: both then move at the same moment without agreeing on a
clock, and a sample longer than the period is shared as well as a short one. Every thread of a
worker moves, since the frameworks compute on pool threads, not only on the main one, and so do
its child processes; a thread started between two swaps inherits its creator's half, and the
next swap moves it too.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence

# Short against a case's timed stretch (the quick profile's ten samples of 20 ms or more),
# so each side gets both halves within one case; long against what a swap costs (a few
# affinity calls, and the moved threads' caches warming up again on the other CPUs).
SWAP_PERIOD_S = 0.1

Pin = Callable[[int, Sequence[int]], None]


def process_threads(pid: int) -> list[int]:
    """The thread ids of process `pid` and of all its descendants (Linux /proc): a wrapper
    script that does not `exec` the worker's interpreter is the worker's parent, and a Keras
    worker's twin export runs in a child. Just `pid` where they cannot be listed."""
    try:
        tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except (OSError, ValueError):
        return [pid]
    threads = list(tids)
    for tid in tids:
        for child in _children(pid, tid):
            threads += process_threads(child)
    return threads


def _children(pid: int, tid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as children:
            return [int(child) for child in children.read().split()]
    except (OSError, ValueError):
        return []


def pin_process(pid: int, cpus: Sequence[int]) -> None:
    """Move every thread of `pid` (and of its children) onto `cpus`; a thread or process that
    just ended is skipped. Where the OS has no CPU affinity (macOS), nothing moves: the
    workers could not pin themselves to a half either (execute/worker.py)."""
    if not hasattr(os, "sched_setaffinity"):
        return
    for tid in process_threads(pid):
        with contextlib.suppress(OSError):  # ProcessLookupError: it exited meanwhile
            os.sched_setaffinity(tid, cpus)


@contextlib.contextmanager
def swapping_halves(
    pids: Sequence[int],
    halves: Sequence[Sequence[int]],
    period: float = SWAP_PERIOD_S,
    pin: Pin = pin_process,
) -> Iterator[None]:
    """While inside, process `pids[i]` starts on `halves[i]`; every `period` seconds the two
    trade halves."""
    if len(pids) != 2 or len(halves) != 2:
        raise ValueError("a pair is two processes on two halves of the CPUs")
    stop = threading.Event()

    def place(turn: int) -> None:
        for side, pid in enumerate(pids):
            pin(pid, halves[(side + turn) % 2])

    def swap() -> None:
        turn = 0
        while not stop.wait(period):
            turn += 1
            place(turn)

    place(0)
    swapper = threading.Thread(target=swap, name="half-swap", daemon=True)
    swapper.start()
    try:
        yield
    finally:
        stop.set()
        swapper.join()
