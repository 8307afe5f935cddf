"""Terminal tables: every case, and Keras against PyTorch per model, device, mode, batch,
variant pair and precision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twinbench.core.cases import ALL_FRAMEWORKS, FRAMEWORK_VARIANTS, PAIRS, keras_backend
from twinbench.execute.fit import MAX_ACCURACY_GAP, MIN_ACCURACY, TRAIN_SIZE, accuracy_verdict
from twinbench.render.memory import memory_cell
from twinbench.render.summary import attention_lines, fold_skipped, headline
from twinbench.results.runfile import CaseRow, case_rows
from twinbench.zoo import TOKENS_PER_EXAMPLE

# Two figures of one case are both called typical, and they differ on purpose: say why once.
MEDIAN_NOTE = (
    "median: all samples of all processes pooled. The gate judges levels instead (median of",
    "the per-process 10th percentiles), so its baseline/current levels are usually lower.",
)


def format_seconds(seconds: float | None) -> str:
    """Human unit for a duration: 812 ns, 81.2 us, 8.12 ms, 1.23 s."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns; the first column left-aligned, the rest right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first, *rest = (str(cell) for cell in cells)
        padded = [first.ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def cases_table(rows: Sequence[CaseRow]) -> str:
    """Every case: status, median and IQR per step, samples x loops, first call, memory.

    The first call is timed apart from the steady state: for xla and compile it is the
    compile time (plus one step).
    """
    headers = (
        "case",
        "status",
        "median",
        "per second",
        "IQR",
        "procs x rounds x loops",
        "first call/compile",
        "memory",
        "GFLOP/s",
        "% peak",
    )
    body = [
        (
            row.case.id,
            row.status,
            format_seconds(row.median_s),
            _rate_cell(row),
            format_seconds(row.iqr_s),
            _samples_cell(row),
            format_seconds(row.first_call_s),
            memory_cell(row.memory),
            *_throughput_cells(row),
        )
        for row in rows
    ]
    return format_table(headers, body)


def _rate_cell(row: CaseRow) -> str:
    """Throughput beside the time per step: examples per second, tokens for a language model
    (a fit step is an epoch of the digits' training split)."""
    if not row.median_s:
        return "-"
    examples = TRAIN_SIZE if row.case.mode == "fit" else row.case.batch
    tokens = TOKENS_PER_EXAMPLE.get(row.case.sized_model)
    rate = examples * (tokens or 1) / row.median_s
    scaled = next(
        (rate / f, s)
        for f, s in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""))
        if rate >= f or f == 1
    )
    return f"{scaled[0]:.3g}{scaled[1]} {'tok' if tokens else 'ex'}/s"


def _throughput_cells(row: CaseRow) -> tuple[str, str]:
    """Achieved GFLOP/s and its share of the matmul peak of the same framework and device."""
    if not row.flops_per_step or not row.median_s:
        return "-", "-"
    achieved = row.flops_per_step / row.median_s
    share = f"{achieved / row.peak_flops:.1%}" if row.peak_flops else "-"
    return f"{achieved / 1e9:.1f}", share


def framework_table(rows: Sequence[CaseRow]) -> str:
    """Keras against PyTorch: both medians and their ratio (>1: Keras slower).

    Pairs: Keras graph with PyTorch eager, Keras xla with PyTorch compile, same precision.
    Keras on JAX or PyTorch (keras_jax, keras_torch) gets a row of its own beside Keras on
    TensorFlow, against the same PyTorch figure, and a "keras on" column names the backend.
    """
    by_side = {
        (row.case.group, row.case.framework): row for row in rows if row.median_s is not None
    }
    medians = {key: row.median_s for key, row in by_side.items()}
    kerases = [f for f in ALL_FRAMEWORKS if keras_backend(f) and any(g[1] == f for g in medians)]
    backend_column = kerases not in ([], ["keras"])
    groups = sorted(
        {row.case for row in rows},
        key=lambda c: (c.model, c.device, c.mode, c.precision, _pair_order(c.pair), c.batch),
    )
    seen: set[str] = set()
    body = []
    for case in groups:
        if case.group in seen:
            continue
        seen.add(case.group)
        torch_s = medians.get((case.group, "torch"))
        for keras in kerases or ["keras"]:
            keras_s = medians.get((case.group, keras))
            if keras_s is None and (torch_s is None or keras != (kerases or ["keras"])[0]):
                continue  # neither ran it (e.g. CUDA without a GPU); PyTorch alone: one row
            ratio = "-"
            if keras_s and torch_s:
                sides = (by_side[(case.group, keras)], by_side[(case.group, "torch")])
                ratio = f"{keras_s / torch_s:.2f}x" + _ratio_range(*sides)
            backend = [keras_backend(keras) or ""] if backend_column else []
            body.append(
                (
                    case.model,
                    case.device,
                    case.mode,
                    case.precision,
                    _pair_variants(case.pair),
                    *backend,
                    str(case.batch),
                    format_seconds(keras_s),
                    format_seconds(torch_s),
                    ratio,
                )
            )
    headers = (
        "model",
        "device",
        "mode",
        "precision",
        "variants",
        *(["keras on"] if backend_column else []),
        "batch",
        "keras",
        "torch",
        "keras/torch (process range)",
    )
    return format_table(headers, body)


def _ratio_range(keras: CaseRow, torch: CaseRow) -> str:
    """How far the ratio moves between worker processes: the lowest Keras process median over
    the highest PyTorch one, and the reverse (part of the noise is per process).

    Empty when either side has a single process: one process says nothing about the spread.
    """
    keras_levels = [_median(p) for p in keras.process_samples if p]
    torch_levels = [_median(p) for p in torch.process_samples if p]
    if len(keras_levels) < 2 or len(torch_levels) < 2:
        return ""
    low = min(keras_levels) / max(torch_levels)
    high = max(keras_levels) / min(torch_levels)
    return f" ({low:.2f}-{high:.2f})"


def _median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _pair_order(pair: str) -> int:
    """Default pair (graph/eager) before the compiled one."""
    return PAIRS.index(pair) if pair in PAIRS else len(PAIRS)


def _pair_variants(pair: str) -> str:
    """The variants a pair compares, e.g. ``graph/eager``."""
    if pair not in PAIRS:
        return pair
    index = PAIRS.index(pair)
    return "/".join(FRAMEWORK_VARIANTS[f][index] for f in ("keras", "torch"))


def _samples_cell(row: CaseRow) -> str:
    if not row.rounds:
        return "-"
    processes = len(row.process_samples) or 1
    return f"{processes} x {row.rounds // processes} x {row.loops}"


def run_summary(run: dict[str, Any]) -> list[str]:
    """The tables and notes printed for a run, from its run-file data."""
    rows = case_rows(run)
    shown, skipped = fold_skipped(rows)
    lines = [headline(run, rows), *attention_lines(run), "", cases_table(shown), *skipped]
    lines += [*MEDIAN_NOTE, "", "Keras vs PyTorch (median per step; >1x: Keras slower)", ""]
    lines += [framework_table(rows), "", overhead_line(run, rows)]
    if any(row.fit for row in rows):
        lines += ["", *fit_lines(rows)]
    return lines


def fit_lines(rows: Sequence[CaseRow]) -> list[str]:
    """Fit cases: test accuracy of each framework's timed model, and whether they agree."""
    accuracies: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row.fit:
            accuracies.setdefault((row.case.group, row.case.framework), row.fit)
    cases = {row.case.group: row.case for row in rows if row.fit}
    body = []
    for group, case in sorted(cases.items()):
        keras_fit, torch_fit = (accuracies.get((group, f)) for f in ("keras", "torch"))
        found = [fit["accuracy"] for fit in (keras_fit, torch_fit) if fit]
        body.append(
            (
                case.model,
                case.device,
                str(case.batch),
                str((keras_fit or torch_fit or {}).get("epochs")),
                f"{keras_fit['accuracy']:.3f}" if keras_fit else "-",
                f"{torch_fit['accuracy']:.3f}" if torch_fit else "-",
                accuracy_verdict(found),
            )
        )
    headers = ("model", "device", "batch", "epochs", "keras", "torch", "verdict")
    return [
        f"Fit: one step is one epoch over {TRAIN_SIZE} digits; test accuracy of the timed model "
        f"(lowest over processes); comparable: both >= {MIN_ACCURACY}, "
        f"at most {MAX_ACCURACY_GAP} apart",
        "",
        format_table(headers, body),
    ]


def overhead_line(run: dict[str, Any], rows: Sequence[CaseRow]) -> str:
    """The harness' own cost per timed step, against the fastest case."""
    overhead = run["twinbench"]["settings"].get("loop_overhead_s")
    medians = [row.median_s for row in rows if row.median_s]
    if overhead is None or not medians:
        return "harness overhead per step: not measured"
    fastest = min(medians)
    return (
        f"harness overhead per step: {format_seconds(overhead)}"
        f" ({overhead / fastest:.3%} of the fastest median, {format_seconds(fastest)})"
    )
