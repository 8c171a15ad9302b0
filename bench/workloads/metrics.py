"""Metrics: ``GET /api/status`` throughput with request metrics on and off, and what a scrape costs.

Two servers of ours, started alike but for
``--ServerApp.record_http_request_metrics=False`` on the second ("off": its
``log_function`` is the access log alone, the code path of a server without
metrics), answer :mod:`.rest`'s load (the load generator pinned to the client
core, the server to the server core) at concurrency 1 and 16, one trial
each per round, the order alternating from round to round; the check is the
median over rounds of on / off. Each trial also divides the server's CPU
time (``/proc/<pid>/stat``) by the requests it served: on a shared machine
the throughput at concurrency 1 moves with the scheduler, the CPU spent per
request much less. Before the load each server is scraped once, to check that
"on" really records requests and "off" does not -- a run that compared two
servers both without metrics would prove nothing.

Then, on a fresh server of ours: the first ``GET /metrics`` (it imports
prometheus_client) and the median of 20 scrapes after it; and, in fresh
interpreters, the import time of the exposition module (prometheus_client
with it) after ``jupyter_server_lite.serverapp``, from ``-X importtime``:
the cost the start path does not pay.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import subprocess
import sys
import time

from ..core import Bench, Check, Row
from ..env import SERVER_CPUS, cpu_seconds, pinned
from ..stats import median, ratio, summary
from ..targets import Server, start_server
from .rest import loadgen

OFF = ("--ServerApp.record_http_request_metrics=False",)
CONCURRENCY = (1, 16)
PATH = "/api/status"
EXPOSITION = "jupyter_server_lite.metrics.exposition"
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S+)$")


def scrape(server: Server) -> tuple[float, str]:
    """Seconds for one ``GET /metrics`` over a fresh connection, and its body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        start = time.perf_counter()
        conn.request("GET", "/metrics", headers=server.headers)
        response = conn.getresponse()
        body = response.read().decode()
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"/metrics answered {response.status}: {body[:300]}")
    return elapsed, body


def records_requests(server: Server) -> bool:
    return "http_request_duration_seconds_bucket{" in scrape(server)[1]


def import_ms() -> float:
    """Milliseconds to import the exposition module (prometheus_client included) after serverapp."""
    code = f"import jupyter_server_lite.serverapp; import {EXPOSITION}"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    entries = [m.groups() for m in map(IMPORT_LINE.match, proc.stderr.splitlines()) if m]
    return next(int(cum) for cum, name in entries if name == EXPOSITION) / 1000


def run(bench: Bench) -> dict:
    ours = bench.targets["ours"]
    servers = {
        "ours": start_server(ours, bench.sandbox, label="metrics-on"),
        "ours-metrics-off": start_server(dataclasses.replace(ours, extra=OFF), bench.sandbox, label="metrics-off"),
    }
    data: dict = {"status": {}}
    try:
        for name, server in servers.items():
            server.request("GET", PATH)  # one request to record (or not)
            if records_requests(server) != (name == "ours"):
                raise RuntimeError(f"{name}: /metrics does not show request metrics as expected")
        duration = bench.pick(1.0, 0.25)
        for concurrency in CONCURRENCY:

            def trial(name: str, _round: int) -> dict:
                server = servers[name]
                with pinned([server.pid], SERVER_CPUS):
                    cpu = cpu_seconds(server.pid)
                    # No warm-up: every request is counted, so the CPU time divides exactly.
                    result = loadgen(server.port, server.token, PATH, concurrency, duration, 0.0)
                    result["cpu_us"] = (cpu_seconds(server.pid) - cpu) / max(result["requests"], 1) * 1e6
                if result["errors"]:
                    raise RuntimeError(f"{PATH}: {result['errors']} errors, statuses {result['error_statuses']}")
                return result

            bench.log(f"metrics: {PATH} at concurrency {concurrency}, request metrics on and off")
            rps: dict[str, list[float]] = {name: [] for name in servers}
            cpu_us: dict[str, list[float]] = {name: [] for name in servers}
            paired = []
            for r in range(bench.pick(4 * bench.rounds, 2)):
                order = list(servers) if r % 2 == 0 else list(reversed(servers))  # neither always goes first
                got = bench.interleave(order, trial, rounds=1, label=f"metrics c={concurrency}")
                done = {name: trials[0] for name, trials in got.items() if trials}
                for name, t in done.items():
                    rps[name].append(t["requests"] / t["seconds"])
                    cpu_us[name].append(t["cpu_us"])
                if len(done) == 2:
                    paired.append(rps["ours"][-1] / rps["ours-metrics-off"][-1])
            data["status"][str(concurrency)] = {"rps": rps, "cpu_us": cpu_us, "paired": paired}
    finally:
        for server in servers.values():
            server.stop()

    fresh = start_server(ours, bench.sandbox, label="metrics-scrape")
    try:
        first = scrape(fresh)[0]
        later = [scrape(fresh)[0] for _ in range(20)]
    finally:
        fresh.stop()
    data["scrape_ms"] = {"first": first * 1000, "later": median(later) * 1000}
    data["import_ms"] = [import_ms() for _ in range(bench.pick(5, 2))]
    return data


def rows(data: dict) -> list[Row]:
    out = [
        Row(
            "metrics",
            f"GET {PATH} req/s @{concurrency}, request metrics on (ceiling: off)",
            "req/s",
            {name: summary(rps) for name, rps in per.items()},
            ceiling="ours-metrics-off",
            higher_is_better=True,
        )
        for concurrency, per in ((c, d["rps"]) for c, d in data.get("status", {}).items())
    ]
    out += [
        Row(
            "metrics",
            f"server CPU per GET {PATH} @{concurrency}, request metrics on (ceiling: off)",
            "µs",
            {name: summary(values) for name, values in per["cpu_us"].items()},
            ceiling="ours-metrics-off",
        )
        for concurrency, per in data.get("status", {}).items()
    ]
    if "scrape_ms" in data:
        out += [
            Row(
                "metrics",
                "first GET /metrics (imports prometheus_client)",
                "ms",
                {"ours": {"median": data["scrape_ms"]["first"]}},
            ),
            Row("metrics", "GET /metrics, later scrapes", "ms", {"ours": {"median": data["scrape_ms"]["later"]}}),
            Row("metrics", "import of the exposition (prometheus_client)", "ms", {"ours": summary(data["import_ms"])}),
        ]
    return out


def checks(data: dict) -> list[Check]:
    """On / off per round (the two ran back to back), the median over rounds: slow drift of
    a shared machine then cancels out, which the ratio of the two medians does not."""
    out = []
    for concurrency, per in data.get("status", {}).items():
        rps = per["rps"]
        on, off = (summary(rps[n])["median"] if rps.get(n) else None for n in ("ours", "ours-metrics-off"))
        out.append(
            Check(
                f"GET {PATH} req/s @{concurrency}: metrics on >= 0.95x off (median of per-round ratios)",
                median(per["paired"]) if per["paired"] else float("nan"),
                0.95,
                ">=",
                note=f"ratio of the medians {ratio(on, off):.2f}",
            )
        )
        cpu = per["cpu_us"]
        cpu_on, cpu_off = (summary(cpu[n])["median"] if cpu.get(n) else None for n in ("ours", "ours-metrics-off"))
        out.append(
            Check(
                f"server CPU per GET {PATH} @{concurrency}: metrics on <= 1.05x off", ratio(cpu_on, cpu_off), 1.05, "<="
            )
        )
    return out


def series(data: dict) -> list:
    return []
