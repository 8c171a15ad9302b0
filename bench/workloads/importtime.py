"""Import time of each server's application module, from ``python -X importtime``.

``import jupyter_server_lite.serverapp`` against ``import
jupyter_server.serverapp`` (in the peer's venv), five runs each, interleaved;
the run with the median total is summarised two ways: time by top-level
package (self time summed, so nothing is counted twice) and the slowest
single imports (cumulative, any depth) -- the second list is where a fix
starts.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

from ..core import Bench, Check, Row
from ..stats import median, summary

MODULES = {"ours": "jupyter_server_lite.serverapp", "peer": "jupyter_server.serverapp"}
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(stderr: str, root: str) -> dict:
    """Entries of one ``-X importtime`` log, and the time of ``root``'s import."""
    entries = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cum_us, indent, name = match.groups()
            entries.append({"name": name, "self_us": int(self_us), "cum_us": int(cum_us), "depth": len(indent) // 2})
    package = root.split(".")[0]
    # Top-level entries of the root package (the package itself, then the module) hold everything it pulled in.
    total_us = sum(e["cum_us"] for e in entries if e["depth"] == 0 and e["name"].split(".")[0] == package)
    chain = {root, package}
    # A parent is logged after its children: the root's imports are everything
    # after the last top-level entry that came before the root package's first one.
    first = next(
        (i for i, e in enumerate(entries) if e["depth"] == 0 and e["name"].split(".")[0] == package), len(entries)
    )
    start = max((i + 1 for i, e in enumerate(entries[:first]) if e["depth"] == 0), default=0)
    ours = entries[start:]  # imports caused by the root, not by interpreter start-up
    by_package: dict[str, int] = defaultdict(int)
    for e in ours:
        by_package[e["name"].split(".")[0]] += e["self_us"]
    cumulative: dict[str, int] = {}
    for e in ours:
        if e["name"] not in chain:
            cumulative[e["name"]] = max(cumulative.get(e["name"], 0), e["cum_us"])
    slowest = sorted(cumulative.items(), key=lambda kv: -kv[1])[:12]
    return {
        "total_ms": total_us / 1000,
        "modules": len(ours),
        "by_package_ms": dict(sorted(((k, v / 1000) for k, v in by_package.items()), key=lambda kv: -kv[1])[:12]),
        "slowest_ms": [(name, us / 1000) for name, us in slowest],
    }


def run(bench: Bench) -> dict:
    names = [n for n in MODULES if n in bench.targets]

    def trial(name: str, _round: int) -> dict:
        root = MODULES[name]
        proc = subprocess.run(
            [bench.targets[name].python, "-X", "importtime", "-c", f"import {root}"],
            capture_output=True,
            text=True,
            env=bench.sandbox.env(),
            check=True,
        )
        return parse(proc.stderr, root)

    results = bench.interleave(names, trial, rounds=bench.pick(5, 3))
    out = {}
    for name, runs in results.items():
        if not runs:
            continue
        totals = [r["total_ms"] for r in runs]
        mid = sorted(runs, key=lambda r: r["total_ms"])[len(runs) // 2]
        out[name] = {"total_ms": totals, "median_run": mid}
    return out


def rows(data: dict) -> list[Row]:
    return [
        Row(
            "cold start",
            "import <server>.serverapp (-X importtime)",
            "ms",
            {n: summary(d["total_ms"]) for n, d in data.items()},
        )
    ]


def checks(data: dict) -> list[Check]:
    return []


def series(data: dict) -> list:
    return []


def describe(data: dict) -> str:
    """The import-time summary, for the console and the docs."""
    lines = []
    for name, d in data.items():
        run = d["median_run"]
        lines.append(f"{MODULES[name]}: {median(d['total_ms']):.0f} ms, {run['modules']} modules")
        lines.append(
            "  by package (self): " + ", ".join(f"{k} {v:.0f}" for k, v in list(run["by_package_ms"].items())[:8])
        )
        lines.append("  slowest imports (cumulative): " + ", ".join(f"{k} {v:.0f}" for k, v in run["slowest_ms"][:8]))
    return "\n".join(lines)
