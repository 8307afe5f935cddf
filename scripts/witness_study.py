"""Do the interference witnesses see the slow spells? Record, then score each witness.

    record:  python scripts/witness_study.py record --minutes 40 --noise-minutes 25 --out DIR
    analyse: python scripts/witness_study.py analyse DIR
    runs:    python scripts/witness_study.py runs CALM_RUN_FILE RUN_FILE [RUN_FILE ...]

`record` runs the noise generator (twinbench.tools.noise, seeded 10-60 s windows of CPU and
memory-bandwidth load) for the first --noise-minutes, then leaves the machine calm, and all
the while measures a few cases over and over, each time in one fresh worker process per
case, storing every sample with its witnesses and wall-clock times (DIR/samples.jsonl, the
noise log in DIR/noise.jsonl). `analyse` labels each sample slow when it is at least
--slow-ratio times its case's calm median, and prints per witness how well it separates slow
samples from normal ones (AUC: 0.5 is chance, 1.0 perfect; per sample and per process), and
how well it tells noise-on from noise-off stretches. `runs` scores the witnesses the same way
on ordinary run files (those of scripts/gate_experiments.sh, say), each case's calm median
taken from CALM_RUN_FILE: no extra recording, but no noise-on/off column either (run files
keep no wall-clock time per sample). `runs` also scores each worker's matrix-product peak
(``peak_flops``, per process only) against the calm run's workers of the same framework, and
with --with-rounds the gate's confirmation rounds as well.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = (
    "mlp-torch-eager-cpu-infer-fp32-b1",
    "cnn-torch-eager-cpu-train-fp32-b64",
    "mlp-keras-graph-cpu-infer-fp32-b1",
    "transformer-keras-graph-cpu-infer-fp32-b64",
)
WITNESSES = ("steal", "involuntary_switches", "cpu_per_wall", "runnable")


def record(args: argparse.Namespace) -> None:
    from twinbench.bench.options import available_cpus
    from twinbench.bench.profiles import PROFILES
    from twinbench.core.cases import Case
    from twinbench.execute.pool import WorkerPool

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    noise = None
    if args.noise_minutes > 0:  # 0: an evening without the generator
        command = [
            sys.executable,
            "-m",
            "twinbench.tools.noise",
            "--seed",
            str(args.seed),
            "--duration",
            str(args.noise_minutes * 60),
            "--log",
            str(out / "noise.jsonl"),
        ]
        noise = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    timing = PROFILES["quick"].timing
    cases = [Case.from_id(case_id) for case_id in args.cases.split(",")]
    end = time.time() + args.minutes * 60
    with (out / "samples.jsonl").open("a", encoding="utf-8") as samples:
        while time.time() < end:
            pool = WorkerPool(1, available_cpus())  # fresh processes each pass
            try:
                for case in cases:
                    start = time.time()
                    (result,) = pool.measure(case, timing)
                    if result.measurement is None:
                        print(f"{case.id}: {result.status} {result.reason}", file=sys.stderr)
                        continue
                    entry = {
                        "case": case.id,
                        "t0": start,
                        "t1": time.time(),
                        "samples": result.measurement.samples,
                        "witness": result.measurement.witness or {},
                    }
                    samples.write(json.dumps(entry) + "\n")
                    samples.flush()
            finally:
                pool.close()
    if noise is not None:
        noise.wait()


def auc(positive: list[float], negative: list[float]) -> float | None:
    """P(a positive's value > a negative's), ties half: the Mann-Whitney AUC."""
    if not positive or not negative:
        return None
    from scipy.stats import mannwhitneyu

    u = mannwhitneyu(positive, negative, alternative="two-sided").statistic
    return float(u) / (len(positive) * len(negative))


def process_level(ratios: list[float]) -> float:
    """A process as the gate sums it up (gate/stats.py): here, of its samples' ratios."""
    from twinbench.gate.stats import process_levels

    return float(process_levels([ratios])[0])


def noise_on(out: Path) -> list[tuple[float, float]]:
    from twinbench.tools.noise import on_windows

    log = out / "noise.jsonl"
    return on_windows(log) if log.exists() else []


def analyse(args: argparse.Namespace) -> None:
    out = Path(args.out)
    entries = [json.loads(line) for line in (out / "samples.jsonl").open(encoding="utf-8")]
    spans = noise_on(out)
    noise_end = max((end for _, end in spans), default=0.0)

    def during_noise(t: float) -> bool:
        return any(start <= t <= end for start, end in spans)

    calm = {}
    for case in {e["case"] for e in entries}:
        quiet = [
            s for e in entries if e["case"] == case and e["t0"] > noise_end for s in e["samples"]
        ]
        every = [s for e in entries if e["case"] == case for s in e["samples"]]
        calm[case] = statistics.median(quiet or every)
    rows = []
    for name in WITNESSES:
        slow, normal, loud, quiet, proc_slow, proc_normal = [], [], [], [], [], []
        for e in entries:
            values = e["witness"].get(name) or []
            ratios = [s / calm[e["case"]] for s in e["samples"]]
            for value, ratio in zip(values, ratios, strict=False):
                (slow if ratio >= args.slow_ratio else normal).append(value)
            if values:
                middle = statistics.median(values)
                level = process_level(ratios)
                (proc_slow if level >= args.slow_ratio else proc_normal).append(middle)
                (loud if during_noise((e["t0"] + e["t1"]) / 2) else quiet).append(middle)
        rows.append(
            (
                name,
                auc(slow, normal),
                len(slow),
                len(normal),
                auc(proc_slow, proc_normal),
                len(proc_slow),
                len(proc_normal),
                auc(loud, quiet),
            )
        )
    print(
        f"{len(entries)} measurements; slow = sample >= {args.slow_ratio}x its case's calm "
        f"median; noise on during {sum(e - s for s, e in spans):.0f} s"
    )
    print(
        "AUC above 0.5: higher readings go with slow samples; below 0.5: lower readings do "
        "(cpu_per_wall is expected below)"
    )
    print(
        f"{'witness':22} {'per sample':>11} {'slow/normal':>12} {'per process':>12} "
        f"{'slow/normal':>12} {'noise on/off':>13}"
    )
    for name, a, ns, nn, p, ps, pn, n in rows:

        def cell(x: float | None) -> str:
            return f"{x:.3f}" if x is not None else "-"

        print(
            f"{name:22} {cell(a):>11} {f'{ns}/{nn}':>12} {cell(p):>12} {f'{ps}/{pn}':>12} "
            f"{cell(n):>13}"
        )


def case_processes(run_file: Path, with_rounds: bool = False) -> dict[str, list[dict]]:
    """Case id -> its processes (samples and witness lists) in a run file, A/B sides pooled;
    `with_rounds`: the gate's confirmation rounds' processes too."""
    from twinbench.core.jsonfile import read_json  # plain or compressed

    run = read_json(run_file)
    found: dict[str, list[dict]] = {}
    # An A/B run file holds side A's cases beside its own (twinbench.ab.a_benchmarks).
    for bench in [*run["benchmarks"], *run["twinbench"].get("ab", {}).get("a_benchmarks", [])]:
        processes = list(bench["extra_info"].get("processes") or [])
        for entry in bench["extra_info"].get("confirmation") or [] if with_rounds else []:
            processes += entry["processes"]
        found.setdefault(bench["param"], []).extend(processes)
    return found


# Scored per process only: the worker's matrix-product peak, measured once before its first
# case, as a share of the calm run's median peak of workers of the same framework and device.
PEAK = "peak_flops"


def worker_kind(case_id: str) -> tuple[str, str]:
    from twinbench.core.cases import Case

    case = Case.from_id(case_id)
    return case.framework, case.device


def calm_peaks(calm: dict[str, list[dict]]) -> dict[tuple[str, str], float]:
    """Median peak of the calm run's workers, per framework and device."""
    peaks: dict[tuple[str, str], list[float]] = {}
    for case, processes in calm.items():
        found = [p[PEAK] for p in processes if p.get(PEAK)]
        peaks.setdefault(worker_kind(case), []).extend(found)
    return {kind: statistics.median(values) for kind, values in peaks.items() if values}


def readings(process: dict, name: str, case: str, peaks: dict) -> list[float]:
    """A process' readings of witness `name`, one per sample (the peak: one per process)."""
    if name != PEAK:
        return (process.get("witness") or {}).get(name) or []
    usual = peaks.get(worker_kind(case))
    return [process[PEAK] / usual] if usual and process.get(PEAK) else []


def score_runs(
    calm_file: Path,
    run_files: list[Path],
    slow_ratio: float,
    skip: str = "",
    with_rounds: bool = False,
) -> list[tuple]:
    """Per witness: (name, AUC per sample, slow, normal, AUC per process, slow, normal)."""
    calm_processes = case_processes(calm_file)
    calm = {
        case: statistics.median(s for process in processes for s in process["samples"])
        for case, processes in calm_processes.items()
        if processes
    }
    peaks = calm_peaks(calm_processes)
    rows = []
    for name in (*WITNESSES, PEAK):
        slow, normal, proc_slow, proc_normal = [], [], [], []
        for run_file in run_files:
            for case, processes in case_processes(run_file, with_rounds).items():
                skipped = case not in calm or (skip and fnmatch.fnmatch(case, skip))
                for process in [] if skipped else processes:
                    values = readings(process, name, case, peaks)
                    ratios = [s / calm[case] for s in process["samples"]]
                    per_sample = [] if name == PEAK else values
                    for value, ratio in zip(per_sample, ratios, strict=False):
                        (slow if ratio >= slow_ratio else normal).append(value)
                    if values:
                        chosen = proc_slow if process_level(ratios) >= slow_ratio else proc_normal
                        chosen.append(statistics.median(values))
        per_process = (auc(proc_slow, proc_normal), len(proc_slow), len(proc_normal))
        rows.append((name, auc(slow, normal), len(slow), len(normal), *per_process))
    return rows


def analyse_runs(args: argparse.Namespace) -> None:
    runs = [Path(f) for f in args.runs]
    rows = score_runs(Path(args.calm), runs, args.slow_ratio, args.skip, args.with_rounds)
    print(f"slow = sample >= {args.slow_ratio}x its case's median in {args.calm}")
    header = ("per sample", "slow/normal", "per process", "slow/normal")
    print(f"{'witness':22} " + " ".join(f"{h:>12}" for h in header))
    for name, a, ns, nn, p, ps, pn in rows:
        cells = [f"{x:.3f}" if x is not None else "-" for x in (a, p)]
        print(f"{name:22} {cells[0]:>12} {f'{ns}/{nn}':>12} {cells[1]:>12} {f'{ps}/{pn}':>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="measure under noise, then calm")
    rec.add_argument("--minutes", type=float, default=40)
    rec.add_argument("--noise-minutes", type=float, default=25)
    rec.add_argument("--seed", type=int, default=1)
    rec.add_argument("--cases", default=",".join(CASES))
    rec.add_argument("--out", required=True)
    ana = commands.add_parser("analyse", help="AUC of each witness")
    ana.add_argument("out")
    ana.add_argument("--slow-ratio", type=float, default=1.15)
    runs = commands.add_parser("runs", help="AUC of each witness over run files")
    runs.add_argument("calm", help="a run file measured on a calm machine: the medians")
    runs.add_argument("runs", nargs="+", help="run files whose samples are scored")
    runs.add_argument("--slow-ratio", type=float, default=1.15)
    runs.add_argument("--skip", default="", help="glob of cases left out (a slowdown injected)")
    runs.add_argument(
        "--with-rounds", action="store_true", help="score the confirmation rounds' processes too"
    )
    args = parser.parse_args()
    {"record": record, "analyse": analyse, "runs": analyse_runs}[args.command](args)


if __name__ == "__main__":
    main()
