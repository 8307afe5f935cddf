"""Assemble a run file from case results, and read the per-case rows back out of one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_benchmark.stats import Stats

from twinbench import __version__
from twinbench.core.cases import Case
from twinbench.core.status import Status
from twinbench.execute.case import CaseResult, CaseRun, describe
from twinbench.execute.fit import fit_summary
from twinbench.results.metadata import identity, identity_id, stack
from twinbench.results.storage import SCHEMA_VERSION


def build_run(
    runs: list[CaseRun],
    metadata: dict[str, Any],
    settings: dict[str, Any],
    test_names: dict[str, str],
    probe: dict[str, float | None] | None = None,
) -> dict[str, Any]:
    """The whole run file; `test_names` maps a case id to its pytest node id."""
    ident = identity(metadata)
    now = datetime.now(UTC)
    return {
        "machine_info": _machine_info(metadata),
        "commit_info": {},
        "benchmarks": [
            benchmark_entry(r, test_names.get(r.case.id, r.case.id))
            for r in runs
            if r.status == Status.OK
        ],
        "datetime": now.isoformat(),
        "version": metadata.get("pytest_benchmark_version") or "unknown",
        "twinbench": {
            "schema_version": SCHEMA_VERSION,
            "twinbench_version": __version__,
            "started": settings.get("started"),
            "settings": settings,
            "metadata": metadata,
            # Where and what was measured (must match a baseline's) and with which software
            # (compared with the baseline's, every change named): metadata.py says why.
            "identity": ident,
            "identity_id": identity_id(ident),
            "stack": stack({**metadata, "twinbench_version": __version__}),
            "unmeasured": [describe(r) for r in runs if r.status != Status.OK],
            "probe": probe or {},
        },
    }


def benchmark_entry(run: CaseRun, nodeid: str) -> dict[str, Any]:
    """One measured case in pytest-benchmark's layout.

    `stats` pools the samples of all processes (what pytest-benchmark shows); the per-process
    samples, the unit the regression gate compares, are in `extra_info.processes`.
    """
    case, processes = run.case, run.measured
    measurements = [p.measurement for p in processes if p.measurement is not None]
    assert measurements, "only measured cases have a benchmark entry"
    samples = [s for m in measurements for s in m.samples]
    stats = Stats()
    for sample in samples:
        stats.update(sample)
    first_calls = sorted(p.first_call_s for p in processes if p.first_call_s is not None)
    peaks = sorted(p.peak_flops for p in processes if p.peak_flops)
    learned = fit_summary([p.fit for p in processes])
    return {
        "group": case.group,
        "name": nodeid.rsplit("::", 1)[-1],
        "fullname": nodeid,
        "params": {"case": case.id},
        "param": case.id,
        "extra_info": {
            "case": asdict(case),
            "status": run.status,
            "ran_on": processes[0].ran_on,
            "first_call_s": first_calls[len(first_calls) // 2] if first_calls else None,
            "memory": _largest(p.memory for p in processes),
            "flops_per_step": processes[0].flops_per_step,
            "peak_flops": peaks[len(peaks) // 2] if peaks else None,
            "numerics": processes[0].numerics,
            # Compiled variants: first_call_s is the compile time; what was compiled.
            "compile": processes[0].compile_info,
            **({"fit": learned} if learned else {}),
            "processes": [process_entry(p) for p in processes],
        },
        "options": {"timer": "perf_counter", "processes": len(processes)},
        "stats": {**stats.as_dict(), "data": samples, "iterations": measurements[0].loops},
    }


def process_entry(result: CaseResult) -> dict[str, Any]:
    """One worker process's measurement of a case, as stored in the run file."""
    measurement = result.measurement
    assert measurement is not None
    entry: dict[str, Any] = {
        "first_call_s": result.first_call_s,
        "peak_flops": result.peak_flops,
        "warmup_s": measurement.warmup_s,
        "loops": measurement.loops,
        "samples": measurement.samples,
        "memory": result.memory,
    }
    entry |= {"gpu_telemetry": result.gpu_telemetry} if result.gpu_telemetry else {}
    if measurement.witness:  # interference witnesses per sample (measure/witness.py)
        entry["witness"] = measurement.witness
    return entry | ({"fit": result.fit} if result.fit else {})


def _largest(memories: Iterable[dict[str, int]]) -> dict[str, int]:
    """Per memory field, the largest value any process reported."""
    merged: dict[str, int] = {}
    for memory in memories:
        for key, value in memory.items():
            merged[key] = max(value, merged.get(key, value))
    return merged


def _machine_info(md: dict[str, Any]) -> dict[str, Any]:
    """The subset of our metadata that pytest-benchmark's own machine_info names."""
    return {
        "node": md.get("hostname"),
        "machine": md.get("machine"),
        "system": md.get("system"),
        "release": md.get("release"),
        "python_version": md.get("python_version"),
        "python_implementation": md.get("python_implementation"),
        "cpu": {"brand_raw": md.get("cpu_model"), "hz_actual_friendly": md.get("cpu_hz_actual")},
    }


@dataclass(frozen=True)
class CaseRow:
    """One case of a stored run, flattened for tables and comparisons."""

    case: Case
    status: str
    median_s: float | None = None
    iqr_s: float | None = None
    rounds: int = 0
    loops: int = 0
    first_call_s: float | None = None
    memory: dict[str, int] | None = None
    samples: tuple[float, ...] = ()
    flops_per_step: int | None = None
    # The machine's matmul peak (FLOP/s) for this case's framework and device.
    peak_flops: float | None = None
    # Reference-output check: "same", "changed", "no-reference", "unreadable-reference".
    numerics: dict[str, Any] | None = None
    # Samples grouped by the worker process that took them.
    process_samples: tuple[tuple[float, ...], ...] = ()
    # Fit mode: test accuracy (lowest over processes), per process, epochs trained.
    fit: dict[str, Any] | None = None
    reason: str | None = None


def case_rows(run: dict[str, Any]) -> list[CaseRow]:
    """Every case of a validated run file, measured or not, in file order."""
    rows = [_measured_row(bench) for bench in run["benchmarks"]]
    rows += [
        CaseRow(case=Case.from_id(item["case"]), status=item["status"], reason=item.get("reason"))
        for item in run["twinbench"]["unmeasured"]
    ]
    return rows


def _measured_row(bench: dict[str, Any]) -> CaseRow:
    stats, extra = bench["stats"], bench["extra_info"]
    return CaseRow(
        case=Case.from_id(bench["param"]),
        status=extra.get("status", Status.OK),
        median_s=stats["median"],
        iqr_s=stats.get("iqr"),
        rounds=len(stats["data"]),
        loops=int(stats["iterations"]),
        first_call_s=extra.get("first_call_s"),
        memory=extra.get("memory"),
        flops_per_step=extra.get("flops_per_step"),
        peak_flops=extra.get("peak_flops"),
        numerics=extra.get("numerics"),
        samples=tuple(stats["data"]),
        process_samples=tuple(tuple(p["samples"]) for p in extra["processes"]),
        fit=extra.get("fit"),
    )
