"""Do the interference witnesses see the slow spells? Record, then score each witness.

    record:  python scripts/witness_study.py record --minutes 40 --noise-minutes 25 --out DIR
    analyse: python scripts/witness_study.py analyse DIR

`record` runs the noise generator (twinbench.tools.noise, seeded 10-60 s windows of CPU and
memory-bandwidth load) for the first --noise-minutes, then leaves the machine calm, and all
the while measures a few cases over and over, each time in one fresh worker process per
case, storing every sample with its witnesses and wall-clock times (DIR/samples.jsonl, the
noise log in DIR/noise.jsonl). `analyse` labels each sample slow when it is at least
--slow-ratio times its case's calm median, and prints per witness how well it separates slow
samples from normal ones (AUC: 0.5 is chance, 1.0 perfect; per sample and per process), and
how well it tells noise-on from noise-off stretches.
"""

from __future__ import annotations

import argparse
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
                level = statistics.quantiles(ratios, n=10)[0] if len(ratios) > 1 else ratios[0]
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
    args = parser.parse_args()
    record(args) if args.command == "record" else analyse(args)


if __name__ == "__main__":
    main()
