"""The outputs of a run: the console/Markdown table, the targets, JSON and a PNG chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .core import LABELS, Check, Row
from .stats import ratio


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(stats: dict[str, float] | None) -> str:
    if not stats or stats.get("n") == 0:
        return "–"
    text = _num(stats.get("median"))
    if "min" in stats and stats.get("n", 0) > 1:
        text += f" ({_num(stats['min'])}–{_num(stats['max'])})"
    return text


def _ratio_cell(row: Row, other: str | None) -> str:
    if not other:
        return ""
    mine = row.values.get("ours", {}).get("median")
    theirs = row.values.get(other, {}).get("median")
    value = ratio(mine, theirs)
    return "–" if math.isnan(value) else f"{value:.2f}×"


def table(rows: list[Row]) -> str:
    """A Markdown table: medians (min–max over trials) and the ratios."""
    header = ["workload", "metric", "unit", LABELS["ours"], LABELS["peer"], "ceiling", "ours / peer", "ours / ceiling"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ceiling = row.values.get(row.ceiling) if row.ceiling else None
        ceiling_text = f"{_cell(ceiling)} ({LABELS[row.ceiling]})" if row.ceiling and ceiling else ""
        cells = [
            row.workload,
            row.metric,
            row.unit,
            _cell(row.values.get("ours")),
            _cell(row.values.get("peer")),
            ceiling_text,
            _ratio_cell(row, "peer" if "peer" in row.values else None),
            _ratio_cell(row, row.ceiling if ceiling else None),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(checks: list[Check]) -> str:
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    for check in checks:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[check.met]
        note = f" ({check.note})" if check.note else ""
        lines.append(f"| {check.name} | {_num(check.value)}{note} | {verdict} |")
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=1, default=_jsonable), encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if hasattr(value, "__dict__"):
        return vars(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def chart(path: Path, series: list[tuple[str, str, dict[str, list[float]]]]) -> bool:
    """Box plots (1st-99th percentile whiskers, log scale) of every latency series.

    Needs matplotlib (the ``bench`` extra); without it the chart is skipped
    and the run says so.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        return False
    series = [s for s in series if any(s[2].values())]
    if not series:
        return False
    cols = 3
    nrows = math.ceil(len(series) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.6 * nrows), squeeze=False)
    colours = {
        "ours": "#1f77b4",
        "peer": "#ff7f0e",
        "bare": "#7f7f7f",
        "zmq": "#2ca02c",
        "pty": "#2ca02c",
        "gateway": "#2ca02c",
    }
    for ax, (title, unit, per) in zip(axes.flat, series):
        names = [n for n in ("ours", "peer", "bare", "zmq", "pty", "gateway") if per.get(n)]
        parts = ax.boxplot([per[n] for n in names], whis=(1, 99), showfliers=False, patch_artist=True)
        ax.set_xticks(range(1, len(names) + 1), [LABELS[n] for n in names], fontsize=8)
        for patch, name in zip(parts["boxes"], names):
            patch.set_facecolor(colours[name])
            patch.set_alpha(0.6)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(series) :]:
        ax.axis("off")
    fig.suptitle("jupyter_server_lite bench: latency distributions (box: p25-p75, whiskers: p1-p99)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
