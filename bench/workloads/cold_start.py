"""Cold start: process spawn -> first 200 from ``GET /api/status``, and RSS right then.

Each trial spawns a fresh server pinned to the server core while the bench
polls from the client core (a new connection every millisecond), then stops
it.  One unrecorded warm-up start per target first, so every target starts
with its bytecode compiled and its files in the page cache.
"""

from __future__ import annotations

import os

from ..core import Bench, Check, Row
from ..env import CLIENT_CPUS, SERVER_CPUS, rss_mib
from ..stats import ratio, summary
from ..targets import start_server

NAMES = ("ours", "peer", "bare")


def run(bench: Bench) -> dict:
    names = [n for n in NAMES if n in bench.targets]
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, CLIENT_CPUS)
    try:
        for name in names:
            start_server(bench.targets[name], bench.sandbox, label="warmup", cpus=SERVER_CPUS).stop()

        def trial(name: str, _round: int) -> dict:
            server = start_server(bench.targets[name], bench.sandbox, label="cold", cpus=SERVER_CPUS)
            try:
                return {"seconds": server.startup_s, "rss_mib": rss_mib(server.pid)}
            finally:
                server.stop()

        results = bench.interleave(names, trial, rounds=bench.pick(2 * bench.rounds, 3))
    finally:
        os.sched_setaffinity(0, saved)
    return {
        name: {"seconds": [t["seconds"] for t in trials], "rss_mib": [t["rss_mib"] for t in trials]}
        for name, trials in results.items()
    }


def rows(data: dict) -> list[Row]:
    return [
        Row(
            "cold start",
            "spawn -> first 200 /api/status",
            "ms",
            {n: summary([s * 1000 for s in d["seconds"]]) for n, d in data.items()},
            ceiling="bare",
        ),
        Row(
            "memory",
            "server RSS after start",
            "MiB",
            {n: summary(d["rss_mib"]) for n, d in data.items()},
            ceiling="bare",
        ),
    ]


def checks(data: dict) -> list[Check]:
    med = {n: summary(d["seconds"])["median"] for n, d in data.items()}
    rss = {n: summary(d["rss_mib"])["median"] for n, d in data.items()}
    out = [Check("cold start <= 3x bare tornado", ratio(med.get("ours"), med.get("bare")), 3.0, "<=")]
    if "peer" in data:
        out.append(Check("cold start <= 0.15x jupyter_server", ratio(med.get("ours"), med.get("peer")), 0.15, "<="))
        out.append(Check("RSS after start <= 0.6x jupyter_server", ratio(rss.get("ours"), rss.get("peer")), 0.6, "<="))
    return out


def series(data: dict) -> list[tuple[str, str, dict[str, list[float]]]]:
    return [("cold start", "ms", {n: [s * 1000 for s in d["seconds"]] for n, d in data.items()})]
