"""`twinbench report`: one self-contained HTML page (inline SVG plots, no network) of a history.

Sections: the latest run's one-line summary, the cases that need attention and its verdicts,
Keras against PyTorch per model, device and mode, the machine and software (folded: a reader
comes for the verdicts), then per model a grid of every case's history with its change points.
Plots are drawn with matplotlib's Agg backend and inlined, so the page opens offline in any
browser: the Keras/PyTorch chart as SVG (one figure, crisp at any zoom), the history grids as
PNG. As SVG, 500 runs x 200 cases made a 16 MB page that took 24 s to draw; a raster's cost
does not grow with the number of points.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from twinbench.core.cases import KERAS_BACKEND_FRAMEWORKS, Case
from twinbench.history.store import History
from twinbench.history.trends import HEADERS, Trend, trend_cells, trends
from twinbench.render.summary import attention_lines, headline
from twinbench.render.text import format_seconds
from twinbench.results.metadata import STACK_LABELS, describe_stack_changes
from twinbench.results.runfile import case_rows

# Subplots per row in a model's history grid.
GRID_COLUMNS = 4
# A marker per run only while they stay apart; a longer history is a line.
MARKERS_UP_TO = 60
# Resolution of the history grids (pixels per inch): a 16-inch grid row fits a laptop screen.
GRID_DPI = 80
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1, h2 { font-weight: 600; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.regression, .numerics-changed, .error, .oom { background: #fdd; }
.faster { background: #dfd; } .note { color: #666; }
svg, img { max-width: 100%; height: auto; }
"""


def render_report(history: History, pattern: str = "*") -> str:
    """The whole page as one HTML string."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must precede pyplot's import
    rows = trends(history, pattern)
    parts = [
        f"<h1>twinbench report</h1><p class='note'>{len(history.runs)} runs, {len(rows)} cases; "
        f"made {datetime.now(UTC):%Y-%m-%d %H:%M} UTC</p>",
        _unreadable(history),
    ]
    if history.runs:
        latest_path, latest = history.runs[-1]
        parts += [
            f"<h2>Latest run</h2><p>{html.escape(latest_path.name)}</p>",
            _summary(latest),
            _verdicts(latest),
            "<h2>Keras against PyTorch (latest run)</h2>",
            _framework_charts(latest),
            _machine(latest),
        ]
    parts += ["<h2>History per case</h2>", _table(HEADERS, [trend_cells(t) for t in rows])]
    parts += [_history_grid(model, group) for model, group in _by_model(rows).items()]
    body = "\n".join(p for p in parts if p)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>twinbench report</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f" class='{classes[index]}'" if index < len(classes) and classes[index] else ""
        cells = "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _unreadable(history: History) -> str:
    if not history.unreadable:
        return ""
    rows = [(str(path), reason) for path, reason in history.unreadable]
    return "<h2>Unreadable files (skipped)</h2>" + _table(("file", "why"), rows)


def _summary(run: dict[str, Any]) -> str:
    """The run's headline, then the cases that need a person (as `pytest benches` prints)."""
    first = f"<p class='summary'><strong>{html.escape(headline(run, case_rows(run)))}</strong></p>"
    attention = attention_lines(run)[1:]  # the list itself says it needs attention
    if not attention:
        return first
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in attention)
    return f"{first}<p>Needs attention:</p><ul class='attention'>{items}</ul>"


def _machine(run: dict[str, Any]) -> str:
    """The latest run's machine and software, folded away below the verdicts."""
    metadata = run["twinbench"].get("metadata", {})
    keys = sorted(k for k, v in metadata.items() if v not in (None, "", [], {}))
    table = _table(("field", "value"), [(k, _short(metadata[k])) for k in keys])
    return (
        f"<details class='machine'><summary>Machine and software of the latest run "
        f"({len(keys)} fields)</summary>{table}</details>"
    )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _verdicts(run: dict[str, Any]) -> str:
    comparison = run["twinbench"].get("comparison")
    if not comparison:
        return "<p class='note'>This run was not compared with a baseline.</p>"
    verdicts = comparison["verdicts"]
    rows = [
        (
            v["case_id"],
            v["verdict"],
            format_seconds(v.get("baseline_level_s")),
            format_seconds(v.get("current_level_s")),
            f"{v['ratio']:.2f}x" if v.get("ratio") else "-",
            v.get("note", ""),
        )
        for v in verdicts
    ]
    headers = ("case", "verdict", "baseline level", "current level", "ratio", "note")
    source = html.escape(str(comparison.get("baseline")))
    changes = comparison.get("stack_changes") or {}
    changed = (
        f"<p>Changed since the baseline: {html.escape(describe_stack_changes(changes))}</p>"
        if changes
        else "<p class='note'>Same software stack as the baseline.</p>"
    )
    table = _table(headers, rows, [v["verdict"] for v in verdicts])
    return f"<p>Baseline: {source}</p>{changed}{table}"


def _framework_charts(run: dict[str, Any]) -> str:
    """Per model, device and mode: Keras time over PyTorch time per batch size (bars); Keras
    on JAX or PyTorch as bars of their own beside Keras on TensorFlow."""
    pairs: dict[tuple[str, str, str], dict[int, dict[str, float]]] = defaultdict(dict)
    for row in case_rows(run):
        case = row.case
        if row.median_s is None or case.variant not in ("graph", "eager"):
            continue
        key = (case.model, case.device, f"{case.mode} {case.precision}")
        pairs[key].setdefault(case.batch, {})[case.framework] = row.median_s
    ratios = {
        (*key, keras): {
            b: t[keras] / t["torch"]
            for b, t in sorted(by_batch.items())
            if keras in t and "torch" in t
        }
        for key, by_batch in sorted(pairs.items())
        for keras in ("keras", *KERAS_BACKEND_FRAMEWORKS.values())
    }
    ratios = {key: value for key, value in ratios.items() if value}
    if not ratios:
        return "<p class='note'>No case ran under both frameworks.</p>"
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.35 * sum(len(v) for v in ratios.values()) + 1))
    labels, values = [], []
    for (model, device, mode, keras), by_batch in ratios.items():
        on = "" if keras == "keras" else f" ({keras})"
        for batch, ratio in by_batch.items():
            labels.append(f"{model} {device} {mode} b{batch}{on}")
            values.append(ratio)
    colors = ["#c44" if v > 1 else "#4a4" for v in values]
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels)
    ax.axvline(1.0, color="#333", linewidth=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("Keras time / PyTorch time (log scale; > 1: Keras slower)")
    return _svg(fig)


def _by_model(rows: Sequence[Trend]) -> dict[str, list[Trend]]:
    groups: dict[str, list[Trend]] = defaultdict(list)
    for trend in rows:
        groups[_model_of(trend.case_id)].append(trend)
    return dict(groups)


def _model_of(case_id: str) -> str:
    try:
        return Case.from_id(case_id).model
    except ValueError:
        return case_id.split("-")[0]


def _history_grid(model: str, group: Sequence[Trend]) -> str:
    """One figure per model: a small plot per case, change points as dashed lines."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = math.ceil(len(group) / GRID_COLUMNS)
    height = 2.4 * rows  # inches
    # One run axis for the whole grid: steps line up across cases, and inner tick labels
    # (most of the text matplotlib lays out) are drawn once per column.
    fig, axes = plt.subplots(
        rows, GRID_COLUMNS, figsize=(4 * GRID_COLUMNS, height), squeeze=False, sharex=True
    )
    for index, (ax, trend) in enumerate(zip(axes.flat, group, strict=False)):
        levels = [p.level_s * 1e3 for p in trend.points]
        marker = "." if len(levels) <= MARKERS_UP_TO else None
        ax.plot(range(1, len(levels) + 1), levels, color="#36c", linewidth=1, marker=marker)
        bad = [i for i, p in enumerate(trend.points) if p.verdict == "regression"]
        ax.plot([i + 1 for i in bad], [levels[i] for i in bad], "o", color="#c00")
        for step in trend.steps:
            ax.axvline(step.index + 0.5, color="#c00", linestyle="--", linewidth=1)
            ax.annotate(f"{step.ratio:.2f}x", (step.index + 0.5, max(levels)), fontsize=7)
        for index, changes in trend.upgrades.items():  # where the software stack changed
            ax.axvline(index + 0.5, color="#393", linestyle=":", linewidth=1)
            # What the stack became ("Keras 3.15.1"): the old versions are in the table.
            label = ", ".join(f"{STACK_LABELS.get(k, k)} {new}" for k, (_, new) in changes.items())
            # Placed in axes height (from the bottom), so a long label stays inside the plot.
            ax.annotate(
                label,
                (index + 0.5, 0.03),
                xycoords=("data", "axes fraction"),
                fontsize=6,
                color="#393",
                rotation=90,
                ha="right",
                va="bottom",
            )
        # y given: matplotlib then skips measuring the tick labels to place the title (seconds
        # for a full history: docs/measurements.md).
        ax.set_title(trend.label, fontsize=8, y=1.0)
        ax.tick_params(labelsize=7)
        # Few ticks: matplotlib builds an object per tick, most of the cost of 200 plots.
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        if index % GRID_COLUMNS == 0:
            ax.set_ylabel("ms per step", fontsize=7)
    for ax in list(axes.flat)[len(group) :]:
        ax.axis("off")
    for ax in axes.flat[max(0, len(group) - GRID_COLUMNS) : len(group)]:
        ax.xaxis.set_tick_params(labelbottom=True)  # the lowest plot of each column: run index
    # Fixed margins (inches over the height): tight_layout measured every label of every
    # subplot, seconds per grid.
    top, bottom = 1 - 0.35 / height, 0.3 / height
    fig.subplots_adjust(left=0.05, right=0.99, top=top, bottom=bottom, hspace=0.55, wspace=0.3)
    alt = (
        f"history of {len(group)} {model} cases; change points dashed, regressions red,"
        " software-stack changes dotted green"
    )
    return f"<h3>{html.escape(model)}</h3>" + _png(fig, alt)


def _png(fig: Any, alt: str) -> str:
    """The figure as an inline PNG image (a data: URI, nothing to fetch)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=GRID_DPI)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")  # long case labels stay whole
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: inline SVG in HTML
