"""How long a night takes, printed before it starts, and the matrix split into shards that fit.

A job that hits its 240-minute limit is cancelled: no run file, no issue. The estimate sums,
per case, what the runner measured for it on its last night (the newest run file under
--history: first call, warm-up and samples of every process) and, for a case it has never run,
a default cost from the profile's timing. Shards split the models so each job's share fits.
Usage: ``python -m twinbench.nightly.estimate --profile full --devices cuda --shards 2
--shard 1 --history DIR``; with --github-output, the shard's --models go to that file.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinbench.bench.profiles import PROFILES, Profile
from twinbench.core.cases import FRAMEWORKS, Case, Selection, build_matrix, unsupported
from twinbench.core.jsonfile import json_files, read_json
from twinbench.execute.fit import fit_unsupported
from twinbench.gate.settings import SUSPECTS
from twinbench.zoo import MODEL_NAMES

# Defaults for a case never run on this runner, per worker process, until a night has measured
# it. A compiled variant traces and compiles in every process ("seconds to a minute",
# profiles.py), and once more per cell for the numerics check at its own batch size; eager
# and graph steps: a few seconds for model build and first call. Guesses, not measurements:
# docs/ci.md says how the first night replaces them.
FIRST_CALL_S = {"compile": 30.0, "xla": 30.0}
FIRST_CALL_DEFAULT_S = 3.0
# Worker start-up (imports, CUDA context), once per framework stretch of a job.
STARTUP_S = 60.0
# Confirmation rounds re-measure suspects, and the gate writes and reads files: a share on top.
OVERHEAD = 1.25
# What a job may use of its limit: the rest is margin for a slow night and the upload.
USABLE_SHARE = 0.8


@dataclass(frozen=True)
class CaseCost:
    """Estimated seconds of one case, and whether a measured night gave them."""

    case: Case
    seconds: float
    measured: bool


def default_cost(case: Case, profile: Profile) -> float:
    """Seconds per worker process of a case never run here, from the profile's timing."""
    first_call = FIRST_CALL_S.get(case.variant, FIRST_CALL_DEFAULT_S)
    timing = profile.timing
    sampling = timing.warmup_s + timing.rounds * timing.min_sample_s * 2  # calibration too
    numerics_share = 1 / len(profile.batch_sizes)  # one reference check per cell and process
    return first_call * (1 + numerics_share) + sampling


def measured_costs(history: Path | None, node: str, newest: int = 20) -> dict[str, float]:
    """Seconds per worker process of each case, from this machine's newest run files.

    The `newest` files below `history` whose machine is `node` (a sharded night spreads its
    cases over several files); a later file's figure replaces an earlier one's.
    """
    files = sorted(json_files(history, recursive=True), key=lambda p: p.name) if history else []
    costs: dict[str, float] = {}
    for path in files[-newest:]:
        run = read_json(path)
        if run.get("machine_info", {}).get("node") != node:
            continue
        for bench in run.get("benchmarks", []):
            processes = bench.get("extra_info", {}).get("processes") or []
            if processes:
                costs[bench["param"]] = sum(map(process_seconds, processes)) / len(processes)
    return costs


def process_seconds(process: dict[str, Any]) -> float:
    """One process' time on a case: the first call twice (numerics check), warm-up, samples."""
    first = process.get("first_call_s") or 0.0
    sampled = sum(process.get("samples") or []) * (process.get("loops") or 1)
    return 2 * first + (process.get("warmup_s") or 0.0) + sampled


def night_cases(profile: Profile, devices: str, models: str, variants: str) -> list[Case]:
    """The cases a job runs: the profile's matrix, less those that skip before measuring.

    Empty `models` or `variants` (comma-separated) mean the profile's.
    """
    selection = Selection(
        models=tuple(models.split(",")) if models else profile.models or MODEL_NAMES,
        frameworks=FRAMEWORKS,
        devices=tuple(devices.split(",")),
        modes=("infer", "train", "fit"),
        batch_sizes=profile.batch_sizes,
        variants=tuple(variants.split(",")) if variants else profile.variants,
        precisions=profile.precisions,
    )
    cases = build_matrix(selection)
    return [case for case in cases if not (unsupported(case) or fit_unsupported(case))]


def case_costs(
    cases: list[Case], profile: Profile, processes: int, history: Path | None
) -> list[CaseCost]:
    """Each case's estimated seconds over all its worker processes."""
    measured = measured_costs(history, platform.node())
    return [
        CaseCost(
            case,
            processes * measured.get(case.id, default_cost(case, profile)),
            case.id in measured,
        )
        for case in cases
    ]


def split_models(costs: list[CaseCost], shards: int) -> list[list[str]]:
    """Models dealt to `shards` jobs, the costliest first to the lightest job."""
    by_model: dict[str, float] = {}
    for cost in costs:
        by_model[cost.case.model] = by_model.get(cost.case.model, 0.0) + cost.seconds
    loads = [0.0] * shards
    models: list[list[str]] = [[] for _ in range(shards)]
    for model in sorted(by_model, key=lambda m: (-by_model[m], m)):
        lightest = loads.index(min(loads))
        loads[lightest] += by_model[model]
        models[lightest].append(model)
    return [sorted(names) for names in models]


def job_minutes(costs: list[CaseCost]) -> float:
    """Estimated minutes of a job that runs `costs`' cases."""
    frameworks = {(cost.case.framework, cost.case.device) for cost in costs}
    seconds = sum(cost.seconds for cost in costs) * OVERHEAD + STARTUP_S * len(frameworks)
    return seconds / 60


def plan_lines(costs: list[CaseCost], shards: list[list[str]], budget_min: float) -> list[str]:
    """The estimate as printed before the night starts, one line per shard."""
    measured = sum(cost.measured for cost in costs)
    lines = [
        f"night: {len(costs)} cases, about {job_minutes(costs):.0f} min in one job "
        f"({measured} case(s) costed from this runner's last night, "
        f"{len(costs) - measured} from default costs)"
    ]
    usable = budget_min * USABLE_SHARE
    for number, models in enumerate(shards, start=1):
        share = [cost for cost in costs if cost.case.model in models]
        minutes = job_minutes(share)
        verdict = "fits" if minutes <= usable else "DOES NOT FIT"
        lines.append(
            f"shard {number}/{len(shards)}: {', '.join(models) or '(no model)'}: {len(share)} "
            f"cases, about {minutes:.0f} min; {verdict} in {usable:.0f} of the job's "
            f"{budget_min:.0f} min"
        )
    return lines


def shards_needed(costs: list[CaseCost], budget_min: float) -> int:
    """The fewest shards whose every job fits the usable part of the budget (by models)."""
    models = {cost.case.model for cost in costs}
    for count in range(1, len(models) + 1):
        split = split_models(costs, count)
        jobs = [[c for c in costs if c.case.model in share] for share in split]
        if all(job_minutes(job) <= budget_min * USABLE_SHARE for job in jobs):
            return count
    return len(models)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m twinbench.nightly.estimate", description=__doc__
    )
    parser.add_argument("--profile", default="full", choices=sorted(PROFILES))
    parser.add_argument("--devices", default="cuda", help="comma-separated: cpu, cuda")
    parser.add_argument("--models", default="", help="comma-separated (default: the profile's)")
    parser.add_argument("--variants", default="", help="comma-separated (default: the profile's)")
    parser.add_argument("--processes", type=int, help="worker processes per case")
    parser.add_argument("--shards", type=int, default=1, help="jobs the matrix is split into")
    parser.add_argument("--shard", type=int, default=1, help="this job's shard, from 1")
    parser.add_argument("--history", type=Path, help="this runner's history folder")
    parser.add_argument(
        "--baseline",
        default="none",
        choices=("none", "replace", "extend"),
        help="a night that saves the baseline (measures the profile's baseline processes)",
    )
    parser.add_argument("--budget-minutes", type=float, default=240.0)
    parser.add_argument(
        "--github-output", type=Path, help="append bench_args=... (the pytest options) to this file"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.shard <= args.shards:
        parser.error(f"--shard {args.shard} is not in 1..{args.shards}; number shards from 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    profile = PROFILES[args.profile]
    saving = args.baseline != "none"
    processes = args.processes or (profile.baseline_processes if saving else profile.processes)
    cases = night_cases(profile, args.devices, args.models, args.variants)
    costs = case_costs(cases, profile, processes, args.history)
    shards = split_models(costs, args.shards)
    print(f"profile {args.profile} on {args.devices}, {processes} processes per case")
    print("\n".join(plan_lines(costs, shards, args.budget_minutes)))
    needed = shards_needed(costs, args.budget_minutes)
    if needed > args.shards:
        print(
            f"::warning title=night too long::about {job_minutes(costs):.0f} min of work needs "
            f"{needed} shards to fit; next step: set `shard` in nightly.yml's matrix to "
            f"{list(range(1, needed + 1))} and `shards` to {needed}"
        )
    options = bench_options(args, shards[args.shard - 1])
    print(f"this job ({args.shard}/{args.shards}) runs: pytest benches {' '.join(options)}")
    if args.github_output:
        with args.github_output.open("a", encoding="utf-8") as output:
            output.write(f"bench_args={' '.join(options)}\n")
    return 0


def bench_options(args: argparse.Namespace, models: list[str]) -> list[str]:
    """The pytest options of this job: its profile, shard, processes and baseline save.

    The night measures beside the baseline's commit only the suspects its rounds leave, not
    every case as a laptop's gated run does: the estimate budgets no A/B run of every case,
    and docs/ci.md says why a GPU runner does without one.
    """
    options = [f"--profile={args.profile}", f"--devices={args.devices}"]
    options.append(f"--models={','.join(models)}")
    if args.variants:
        options.append(f"--variants={args.variants}")
    if args.processes:
        options.append(f"--processes={args.processes}")
    options.append(f"--baseline-code-check={SUSPECTS}")
    if args.baseline != "none":
        options.append(f"--save-baseline={args.baseline}")
    return options


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
