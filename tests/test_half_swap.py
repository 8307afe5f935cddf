"""The two workers of a pair measured together trade halves of the CPUs (execute/half_swap)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from twinbench.core.cpus import usable_cpus
from twinbench.execute.half_swap import pin_process, process_threads, swapping_halves


def test_the_pair_starts_on_its_halves_and_trades_them_every_period():
    placements: list[tuple[int, tuple[int, ...]]] = []
    enough = threading.Event()

    def pin(pid, cpus):
        placements.append((pid, tuple(cpus)))
        if len(placements) >= 8:
            enough.set()

    with swapping_halves((11, 22), ((0,), (1,)), period=0.001, pin=pin):
        assert enough.wait(10), "the halves were never traded"
    turns = [dict(placements[i : i + 2]) for i in range(0, 8, 2)]
    assert turns[0] == {11: (0,), 22: (1,)}  # placed before the first sample
    assert turns[1] == {11: (1,), 22: (0,)}
    assert turns[2] == turns[0] and turns[3] == turns[1]


def test_a_pair_is_two_processes_on_two_halves():
    with (
        pytest.raises(ValueError, match="two processes on two halves"),
        swapping_halves((1, 2, 3), ((0,), (1,))),
    ):
        pass


def test_a_process_that_has_ended_is_skipped_not_an_error():
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    pin_process(ended.pid, [0])  # nothing to move, nothing raised
    assert process_threads(ended.pid) == [ended.pid]


def test_without_cpu_affinity_nothing_moves_and_nothing_fails(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)  # macOS has none
    with swapping_halves((os.getpid(), os.getpid()), ((0,), (1,)), period=0.001):
        pass
    pin_process(os.getpid(), [0])


# Two threads that sleep: the second stands for a framework's pool thread.
SLEEPER = (
    "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); "
    "print(flush=True); time.sleep(60)"
)


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(usable_cpus()) < 2, reason="needs 2 CPUs, Linux"
)
def test_every_thread_of_both_processes_moves_to_the_other_half():
    cpu_a, cpu_b = sorted(usable_cpus())[:2]
    sleepers = [
        subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for sleeper in sleepers:
            sleeper.stdout.readline()  # both threads started
        a, b = (sleeper.pid for sleeper in sleepers)
        assert len(process_threads(a)) == 2
        seen: set[tuple[frozenset[int], frozenset[int]]] = set()
        with swapping_halves((a, b), ((cpu_a,), (cpu_b,)), period=0.02):
            deadline = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < deadline:
                seen.add(tuple(_cpus_of(pid) for pid in (a, b)))
                time.sleep(0.005)
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    one, other = frozenset({cpu_a}), frozenset({cpu_b})
    # Both placements seen, each with all of a process's threads on one half.
    assert {(one, other), (other, one)} <= seen


@pytest.mark.skipif(
    not os.path.exists(f"/proc/self/task/{os.getpid()}/children"),
    reason="the kernel lists no child processes in /proc",
)
def test_a_wrapper_that_does_not_exec_moves_with_its_worker():
    command = f'"{sys.executable}" -c "{SLEEPER}"; true'  # `; true`: sh cannot exec it
    wrapper = subprocess.Popen(
        ["/bin/sh", "-c", command], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        wrapper.stdout.readline()  # the worker inside has started both threads
        assert len(process_threads(wrapper.pid)) == 3  # the shell's one, the worker's two
    finally:
        os.killpg(wrapper.pid, signal.SIGKILL)
        wrapper.wait()


def _cpus_of(pid: int) -> frozenset[int]:
    """The CPUs of all threads of `pid`, when they agree; empty while a swap is half made."""
    masks = {frozenset(os.sched_getaffinity(tid)) for tid in process_threads(pid)}
    return next(iter(masks)) if len(masks) == 1 else frozenset()
