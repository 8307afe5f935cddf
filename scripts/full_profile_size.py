"""How big a full-profile run file is, plain and as stored, and a year of two runners' runs.

    PYTHONPATH=src python scripts/full_profile_size.py RUN [RUN ...] [--profile full]
        [--devices cpu,cuda] [--variants V,..] [--processes N] [--out DIR] [--seed 0]

The full profile takes hours on a GPU runner, so its run file is built from real ones: every
case of the profile's matrix (bench/profiles.py, with full-size models on CUDA) gets the record
of a real measured case (RUN files, plain or compressed; the same model, framework and mode
where one exists), with the profile's worker processes and samples per process drawn around
the real samples, witnesses along, and read back as the timer would give them, so the digits
that make numbers hard to compress are as many as in a real file. CUDA cases get made-up GPU
telemetry and memory keys (no GPU night has run yet). Cases that cannot run are listed as
unmeasured, as a night does. Prints the size of the plain file twinbench wrote before run
files were compressed, of the same gzip-compressed, of the slimmed file (results/compact.py)
gzip-compressed, and of the stored file (slimmed, xz), each also times 730 (two runners, one
run a night for a year), and the time `read_run` takes on the plain and the stored file.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import struct
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_benchmark.stats import Stats

from twinbench.bench.profiles import PROFILES, Profile
from twinbench.core.cases import (
    DEVICES,
    FRAMEWORKS,
    MODES,
    Case,
    Selection,
    build_matrix,
    unsupported,
)
from twinbench.core.jsonfile import write_json_atomic
from twinbench.execute.fit import fit_unsupported
from twinbench.results.compact import compact_run
from twinbench.results.storage import read_run, write_run
from twinbench.zoo import MODEL_NAMES, MODEL_SIZES

RUNS_A_YEAR = 2 * 365  # two runners, one night each
# Relative spread of values drawn around a real one (lognormal sigma).
JITTER = 0.02


def full_matrix(
    profile: Profile, devices: tuple[str, ...], variants: tuple[str, ...]
) -> list[Case]:
    """A profile's cases on a runner with a GPU, as `pytest benches` selects them."""
    selection = Selection(
        models=profile.models or MODEL_NAMES,
        frameworks=FRAMEWORKS,
        devices=devices,
        modes=MODES,
        batch_sizes=profile.batch_sizes,
        variants=variants or profile.variants,
        precisions=profile.precisions,
        sizes=profile.sizes,
        model_sizes=MODEL_SIZES,
        large_batch_sizes=profile.large_batch_sizes,
    )
    return build_matrix(selection)


def template_for(case: Case, benches: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """A real case record like `case`: same model, framework and mode if any, else any."""
    for keys in (("model", "framework", "mode"), ("framework", "mode"), ("mode",), ()):
        found = [b for b in benches if all(b["_case"][k] == getattr(case, k) for k in keys)]
        if found:
            return found[index % len(found)]
    raise SystemExit("no measured case in the run files given")


def scaled_bench(case: Case, real: dict[str, Any], profile: Profile, rng: random.Random) -> dict:
    """`real`'s record renamed to `case`, with the profile's processes and samples."""
    bench = copy.deepcopy({k: v for k, v in real.items() if k != "_case"})
    old = bench["param"]
    for field in ("name", "fullname"):
        bench[field] = bench[field].replace(old, case.id)
    bench.update(param=case.id, group=case.group, params={"case": case.id})
    bench["extra_info"]["case"] = {**bench["extra_info"]["case"], **case_fields(case)}
    numerics = bench["extra_info"].get("numerics") or {}
    if "output" in numerics:
        numerics["output"] = float32_neighbour(numerics["output"], rng)
    sources = real["extra_info"]["processes"]
    processes = [
        resampled(sources[i % len(sources)], profile, rng) for i in range(profile.processes)
    ]
    for process in processes if case.device == "cuda" else []:
        process["gpu_telemetry"] = {"start": nvml_reading(rng), "end": nvml_reading(rng)}
        process["memory"] = {**process.get("memory", {}), **cuda_memory(rng)}
    bench["extra_info"]["processes"] = processes
    samples = [s for p in processes for s in p["samples"]]
    stats = Stats()
    for sample in samples:
        stats.update(sample)
    bench["stats"] = {**stats.as_dict(), "data": samples, "iterations": processes[0]["loops"]}
    bench["options"] = {**bench.get("options", {}), "processes": len(processes)}
    return bench


def nvml_reading(rng: random.Random) -> dict[str, Any]:
    """What measure/gpu.py's telemetry stores, with made-up values (no GPU run exists yet)."""
    return {
        "sm_clock_mhz": rng.choice((1980, 1965, 1410)),
        "memory_clock_mhz": 2619,
        "temperature_c": rng.randrange(40, 80),
        "power_w": rng.randrange(80_000, 700_000) / 1000,
        "throttle_reasons": [],
    }


def cuda_memory(rng: random.Random) -> dict[str, int]:
    """The CUDA memory keys a CUDA case adds (made-up sizes)."""
    names = ("cuda_peak_allocated_bytes", "first_call_cuda_peak_allocated_bytes")
    return {name: rng.randrange(1 << 20, 1 << 34) for name in names}


def case_fields(case: Case) -> dict[str, Any]:
    names = ("model", "framework", "device", "mode", "batch", "variant", "precision")
    return {name: getattr(case, name) for name in names}


def resampled(process: dict[str, Any], profile: Profile, rng: random.Random) -> dict[str, Any]:
    """A process of `profile.timing.rounds` samples drawn around a real one's, witnesses along.

    Drawn values are moved a little and read back as the timer would give them: a real file
    never repeats a sample, and repeats would let gzip shrink the file below a real one.
    """
    picks = [rng.randrange(len(process["samples"])) for _ in range(profile.timing.rounds)]
    new = copy.deepcopy(process)
    loops = process.get("loops") or 1
    new["samples"] = [timed(process["samples"][i] * loops, rng) / loops for i in picks]
    for key in ("first_call_s", "warmup_s"):
        if isinstance(process.get(key), float):
            new[key] = timed(process[key], rng)
    if isinstance(process.get("peak_flops"), float):
        new["peak_flops"] = process["peak_flops"] * math.exp(rng.gauss(0, JITTER))
    if process.get("witness"):
        new["witness"] = {
            k: [witness(k, v[i], rng) for i in picks] for k, v in process["witness"].items()
        }
    return new


def timed(seconds: float, rng: random.Random) -> float:
    """`seconds`, moved a little, as a difference of two perf_counter readings."""
    start_ns = rng.randrange(10**12, 10**14)
    end_ns = start_ns + round(seconds * math.exp(rng.gauss(0, JITTER)) * 1e9)
    return end_ns / 1e9 - start_ns / 1e9


def witness(name: str, value: float, rng: random.Random) -> float:
    """A witness reading drawn around a real one, with the rounding measure/witness.py uses."""
    if name == "cpu_per_wall":
        return round(value * math.exp(rng.gauss(0, JITTER)), 4)
    if name == "involuntary_switches":
        return float(round(value * math.exp(rng.gauss(0, 10 * JITTER))))
    return value  # steal and runnable: few distinct values in a real file too


def float32_neighbour(value: Any, rng: random.Random) -> Any:
    """A reference-check output as another variant computes it: float32 values moved by
    rounding-sized amounts (nested lists; anything else as it is)."""
    if isinstance(value, list):
        return [float32_neighbour(item, rng) for item in value]
    if isinstance(value, float):
        moved = value * (1 + rng.gauss(0, 1e-6))
        return float(struct.unpack("f", struct.pack("f", moved))[0])
    return value


def full_profile_run(paths: list[Path], args: argparse.Namespace) -> dict[str, Any]:
    """A run file of the profile built from the real run files at `paths`."""
    runs = [read_run(path) for path in paths]
    benches = [
        {**b, "_case": case_fields(Case.from_id(b["param"]))}
        for run in runs
        for b in run["benchmarks"]
    ]
    profile, rng = PROFILES[args.profile], random.Random(args.seed)
    profile = replace(profile, processes=args.processes or profile.processes)
    run = copy.deepcopy(runs[0])
    variants = tuple(args.variants.split(",")) if args.variants else ()
    cases = full_matrix(profile, tuple(args.devices.split(",")), variants)
    measured = [c for c in cases if not (unsupported(c) or fit_unsupported(c))]
    run["benchmarks"] = [
        scaled_bench(case, template_for(case, benches, i), profile, rng)
        for i, case in enumerate(measured)
    ]
    run["twinbench"]["unmeasured"] = [
        {"case": c.id, "status": "skipped", "reason": unsupported(c) or fit_unsupported(c)}
        for c in cases
        if c not in measured
    ]
    verdicts = (run["twinbench"].get("comparison") or {}).get("verdicts") or [{}]
    if run["twinbench"].get("comparison"):
        run["twinbench"]["comparison"]["verdicts"] = [
            {**verdicts[i % len(verdicts)], "case_id": c.id} for i, c in enumerate(measured)
        ]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="real run files (templates)")
    parser.add_argument("--out", type=Path, help="keep the files built here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default="full", choices=sorted(PROFILES))
    parser.add_argument("--devices", default=",".join(DEVICES), help="default: cpu,cuda")
    parser.add_argument("--variants", default="", help="default: the profile's")
    parser.add_argument("--processes", type=int, default=0, help="default: the profile's")
    args = parser.parse_args()
    run = full_profile_run(args.runs, args)
    with tempfile.TemporaryDirectory() as temp:
        out = args.out or Path(temp)
        files = {
            "plain (before)": write_json_atomic(out / "full-plain.json", run),
            "gzip only": write_json_atomic(out / "full-gzip-only.json.gz", run),
            "slimmed + gzip": write_json_atomic(out / "full-slim.json.gz", compact_run(run)),
            "stored (slimmed + xz)": write_run(out / "history", run),
        }
        print(
            f"{args.profile} profile, {args.devices}: {len(run['benchmarks'])} measured cases, "
            f"{len(run['twinbench']['unmeasured'])} unmeasured, from {len(args.runs)} real file(s)"
        )
        for label, path in files.items():
            size = path.stat().st_size
            year = size * RUNS_A_YEAR / 1e6
            print(f"{label:>24}: {size / 1e6:6.2f} MB a run, {year:7.0f} MB for {RUNS_A_YEAR} runs")
        for label in ("plain (before)", "stored (slimmed + xz)"):
            start = time.perf_counter()
            cases = len(read_run(files[label])["benchmarks"])
            took = time.perf_counter() - start
            print(f"{label:>24}: read_run {took:.2f} s ({cases} measured cases)")


if __name__ == "__main__":
    main()
