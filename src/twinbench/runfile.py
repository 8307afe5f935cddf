"""Assemble a run file from case results, and read the per-case rows back out of one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pytest_benchmark.stats import Stats

from twinbench import __version__
from twinbench.cases import Case
from twinbench.execution import OK, CaseResult, describe
from twinbench.metadata import fingerprint, fingerprint_id
from twinbench.storage import SCHEMA_VERSION


def build_run(
    results: list[CaseResult],
    metadata: dict[str, Any],
    settings: dict[str, Any],
    test_names: dict[str, str],
) -> dict[str, Any]:
    """The whole run file; `test_names` maps a case id to its pytest node id."""
    fp = fingerprint(metadata)
    now = datetime.now(UTC)
    return {
        "machine_info": _machine_info(metadata),
        "commit_info": {},
        "benchmarks": [
            benchmark_entry(r, test_names.get(r.case.id, r.case.id))
            for r in results
            if r.status == OK
        ],
        "datetime": now.isoformat(),
        "version": metadata.get("pytest_benchmark_version") or "unknown",
        "twinbench": {
            "schema_version": SCHEMA_VERSION,
            "twinbench_version": __version__,
            "started": settings.get("started"),
            "settings": settings,
            "metadata": metadata,
            "fingerprint": fp,
            "fingerprint_id": fingerprint_id(fp),
            "unmeasured": [describe(r) for r in results if r.status != OK],
        },
    }


def benchmark_entry(result: CaseResult, nodeid: str) -> dict[str, Any]:
    """One measured case in pytest-benchmark's layout (stats.data holds the raw samples)."""
    assert result.measurement is not None, "only measured cases have a benchmark entry"
    measurement, case = result.measurement, result.case
    stats = Stats()
    for sample in measurement.samples:
        stats.update(sample)
    return {
        "group": case.group,
        "name": nodeid.rsplit("::", 1)[-1],
        "fullname": nodeid,
        "params": {"case": case.id},
        "param": case.id,
        "extra_info": {
            "case": {
                "model": case.model,
                "framework": case.framework,
                "device": case.device,
                "mode": case.mode,
                "batch": case.batch,
            },
            "status": result.status,
            "ran_on": result.ran_on,
            "first_call_s": result.first_call_s,
            "warmup_s": measurement.warmup_s,
            "memory": result.memory,
        },
        "options": {"timer": "perf_counter", "loops": measurement.loops},
        "stats": {**stats.as_dict(), "data": measurement.samples, "iterations": measurement.loops},
    }


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
        status=extra.get("status", OK),
        median_s=stats["median"],
        iqr_s=stats.get("iqr"),
        rounds=len(stats["data"]),
        loops=int(stats["iterations"]),
        first_call_s=extra.get("first_call_s"),
        memory=extra.get("memory"),
        samples=tuple(stats["data"]),
    )
