"""A noise generator: bounded, seeded spells of background CPU and memory-bandwidth load.

The gate's hardest case is a slow spell of the machine (minutes in which cases run 1.2-1.5x
slower, docs/gate.md); this makes spells on demand, so the gate, its witnesses and the A/B
command can be measured under the same noise. Usage::

    python -m twinbench.tools.noise --duration 1800 --seed 1 --log noise.jsonl

Off and on windows alternate, each lasting a seeded random 10-60 s; while on, `--workers`
processes spin the CPU (pure Python) or stream memory (NumPy copies of `--memory-mb`), half
each by default. It stops by itself after `--duration` seconds (on Ctrl-C or SIGTERM too), and
each load process also stops at that deadline on its own, should the parent be killed. The log
has one JSON object per line: ``start``, then ``on``/``off`` with wall-clock times
(``time.time()``), then ``stop``; `on_windows` reads it back.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Limits, so a typo cannot leave a machine loaded for a day or out of memory.
MAX_DURATION_S = 6 * 3600
MAX_MEMORY_MB = 1024
KINDS = ("cpu", "memory")


@dataclass(frozen=True)
class Plan:
    """What to run: how long, which windows, how much load."""

    duration_s: float
    seed: int
    min_window_s: float
    max_window_s: float
    workers: int
    kinds: tuple[str, ...]
    memory_mb: int


def windows(plan: Plan) -> list[tuple[float, float, bool]]:
    """(start, end, on) offsets covering the duration: off first, then alternating."""
    rng = random.Random(plan.seed)
    result, start, on = [], 0.0, False
    while start < plan.duration_s:
        end = min(plan.duration_s, start + rng.uniform(plan.min_window_s, plan.max_window_s))
        result.append((start, end, on))
        start, on = end, not on
    return result


def _burn(kind: str, memory_mb: int, deadline: float) -> None:
    """Load one CPU until the deadline or until terminated."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if kind == "memory":
        import numpy as np

        half = max(1, memory_mb // 2) * (1 << 20) // 8
        source, target = np.ones(half), np.empty(half)
        while time.time() < deadline:
            np.copyto(target, source)  # streams both arrays through the memory bus
    else:
        x = 0
        while time.time() < deadline:
            for i in range(10_000):
                x = (x + i * i) % 1_000_003


def run(plan: Plan, log: Path | None, out: Any = sys.stdout) -> list[dict[str, Any]]:
    """Run the plan; returns (and logs) the events."""
    events: list[dict[str, Any]] = []
    deadline = time.time() + plan.duration_s

    def record(event: str, **extra: Any) -> None:
        entry = {"event": event, "t": round(time.time(), 3), **extra}
        events.append(entry)
        if log is not None:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), file=out, flush=True)

    stop = {"now": False}

    def on_signal(_signum: int, _frame: Any) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    record("start", seed=plan.seed, duration_s=plan.duration_s, workers=plan.workers)
    started, load = time.monotonic(), []
    try:
        for _start, end, on in windows(plan):
            if on:
                kinds = [plan.kinds[i % len(plan.kinds)] for i in range(plan.workers)]
                load = [_start_load(kind, plan.memory_mb, deadline) for kind in kinds]
                record("on", kinds=kinds)
            while not stop["now"] and time.monotonic() - started < end:
                time.sleep(0.1)
            if load:
                _stop_load(load)
                load = []
                record("off")
            if stop["now"]:
                break
    except KeyboardInterrupt:
        pass
    finally:
        _stop_load(load)
        if load:
            record("off")
        signal.signal(signal.SIGTERM, previous)
        record("stop")
    return events


def _start_load(kind: str, memory_mb: int, deadline: float) -> Any:
    process = multiprocessing.get_context("spawn").Process(
        target=_burn, args=(kind, memory_mb, deadline), daemon=True
    )
    process.start()
    return process


def _stop_load(load: Sequence[Any]) -> None:
    for process in load:
        process.terminate()
    for process in load:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def on_windows(log: Path) -> list[tuple[float, float]]:
    """The (start, end) wall-clock times during which the load was on, from a log."""
    spans, since = [], None
    for line in log.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "on":
            since = event["t"]
        elif event["event"] in ("off", "stop") and since is not None:
            spans.append((since, event["t"]))
            since = None
    return spans


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.tools.noise",
        description="Switch a background CPU and memory-bandwidth load on and off in seeded "
        "random windows, log when it was on, and stop by itself after --duration seconds.",
    )
    parser.add_argument(
        "--duration",
        type=float,
        required=True,
        metavar="S",
        help=f"seconds until it stops by itself (at most {MAX_DURATION_S})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the windows (default 0)")
    parser.add_argument(
        "--min-window",
        type=float,
        default=10.0,
        metavar="S",
        help="shortest on or off window, seconds (default 10)",
    )
    parser.add_argument(
        "--max-window",
        type=float,
        default=60.0,
        metavar="S",
        help="longest on or off window, seconds (default 60)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="load processes while on (default: one per CPU, at most that)",
    )
    parser.add_argument(
        "--kinds",
        default="cpu,memory",
        metavar="LIST",
        help="load kinds, shared out over the workers: cpu, memory (default both)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=64,
        metavar="MB",
        help=f"memory each memory worker streams (default 64, at most {MAX_MEMORY_MB})",
    )
    parser.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="append the JSON-lines log here (it is also printed)",
    )
    return parser


def _problems(args: argparse.Namespace, kinds: tuple[str, ...]) -> list[str]:
    """What is out of range in the arguments ("" for each check that passed)."""
    return [
        f"--duration must be in (0, {MAX_DURATION_S}]"
        if not 0 < args.duration <= MAX_DURATION_S
        else "",
        "--min-window must be > 0 and <= --max-window"
        if not 0 < args.min_window <= args.max_window
        else "",
        f"--workers must be 1..{os.cpu_count() or 1}"
        if not 1 <= args.workers <= (os.cpu_count() or 1)
        else "",
        f"--kinds: choose from {', '.join(KINDS)}" if not kinds or set(kinds) - set(KINDS) else "",
        f"--memory-mb must be 1..{MAX_MEMORY_MB}"
        if not 1 <= args.memory_mb <= MAX_MEMORY_MB
        else "",
    ]


def parse_plan(argv: Sequence[str] | None = None) -> tuple[Plan, Path | None]:
    """The plan and log path from the command line; exits with a usage error when out of range."""
    parser = _parser()
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    problems = _problems(args, kinds)
    for problem in filter(None, problems):
        parser.error(f"{problem}; see --help")
    plan = Plan(
        args.duration,
        args.seed,
        args.min_window,
        args.max_window,
        args.workers,
        kinds,
        args.memory_mb,
    )
    return plan, args.log


def main(argv: Sequence[str] | None = None) -> int:
    plan, log = parse_plan(argv)
    run(plan, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
