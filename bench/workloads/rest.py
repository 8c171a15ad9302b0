"""REST: ``GET /api/status``, ``/api/kernels``, ``/api/kernelspecs`` at concurrency 1 and 16.

The load generator is :mod:`bench.loadgen`, a separate Python process
(raw asyncio, HTTP/1.1 keep-alive connections).  For each trial the server
process (all its threads) is pinned to one core and the load generator to
the other, so they never share a CPU.  The bare tornado app answers the same
three paths with a small JSON and is the ceiling.  Every server has one
idle kernel running during this workload, so ``/api/kernels`` lists
something real.
"""

from __future__ import annotations

import json
import subprocess
import sys

from ..core import Bench, Check, Row, subsample
from ..env import CLIENT_CPUS, SERVER_CPUS, pinned
from ..stats import percentile, ratio, summary

PATHS = ("/api/status", "/api/kernels", "/api/kernelspecs")
CONCURRENCY = (1, 16)
NAMES = ("ours", "peer", "bare")


def loadgen(port: int, token: str, path: str, concurrency: int, duration: float, warmup: float) -> dict:
    cpus = ",".join(str(c) for c in sorted(CLIENT_CPUS))
    proc = subprocess.run(
        [
            "taskset",
            "-c",
            cpus,
            sys.executable,
            "-m",
            "bench.loadgen",
            f"--port={port}",
            f"--path={path}",
            f"--token={token}",
            f"--concurrency={concurrency}",
            f"--duration={duration}",
            f"--warmup={warmup}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    if proc.returncode:
        raise RuntimeError(f"loadgen failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def run(bench: Bench) -> dict:
    names = [n for n in NAMES if n in bench.targets]
    servers = {name: bench.server(name) for name in names}
    from .kernel_start import start_kernel_rest

    kernels = {}
    for name in bench.server_names:
        try:
            kernels[name] = start_kernel_rest(servers[name])
        except Exception as err:
            bench.errors.append(f"rest[{name}]: could not start a kernel: {err}")
    # Many short trials: a burst of outside load then spoils one trial, not the median.
    duration = bench.pick(1.0, 0.25)
    data: dict = {}
    try:
        for path in PATHS:
            for concurrency in CONCURRENCY:

                def trial(name: str, _round: int) -> dict:
                    server = servers[name]
                    with pinned([server.pid], SERVER_CPUS):
                        result = loadgen(server.port, server.token, path, concurrency, duration, bench.pick(0.2, 0.1))
                    if result["errors"]:
                        raise RuntimeError(f"{path}: {result['errors']} errors, statuses {result['error_statuses']}")
                    return result

                bench.log(f"rest {path} at concurrency {concurrency}")
                results = bench.interleave(
                    names, trial, rounds=bench.pick(2 * bench.rounds, 1), label=f"rest {path} c={concurrency}"
                )
                key = f"{path}@{concurrency}"
                data[key] = {}
                for name, trials in results.items():
                    if not trials:
                        continue
                    pooled = [lat for t in trials for lat in t["latencies_us"]]
                    data[key][name] = {
                        "rps": [t["requests"] / t["seconds"] for t in trials],
                        "p50_ms": percentile(pooled, 50) / 1000,
                        "p99_ms": percentile(pooled, 99) / 1000,
                        "client_cpu_share": [t["client_cpu_share"] for t in trials],
                        "latencies_us": subsample(pooled),
                    }
    finally:
        for name, kernel_id in kernels.items():
            servers[name].request("DELETE", f"/api/kernels/{kernel_id}")
    return data


def rows(data: dict) -> list[Row]:
    out = []
    for key, per in data.items():
        out.append(
            Row(
                "REST",
                f"GET {key} req/s",
                "req/s",
                {n: summary(d["rps"]) for n, d in per.items()},
                ceiling="bare",
                higher_is_better=True,
            )
        )
        for q in ("p50", "p99"):
            out.append(
                Row(
                    "REST",
                    f"GET {key} {q}",
                    "ms",
                    {n: {"median": d[f"{q}_ms"]} for n, d in per.items()},
                    ceiling="bare",
                )
            )
    return out


def checks(data: dict) -> list[Check]:
    def rps(key: str, name: str) -> float | None:
        per = data.get(key, {})
        return summary(per[name]["rps"])["median"] if name in per else None

    return [
        Check(
            "GET /api/status req/s @16 >= 0.8x bare tornado",
            ratio(rps("/api/status@16", "ours"), rps("/api/status@16", "bare")),
            0.8,
            ">=",
        ),
        Check(
            "GET /api/kernelspecs req/s @16 >= 0.7x bare tornado",
            ratio(rps("/api/kernelspecs@16", "ours"), rps("/api/kernelspecs@16", "bare")),
            0.7,
            ">=",
        ),
    ]


def series(data: dict) -> list:
    return [
        (f"GET {key}", "ms", {n: [v / 1000 for v in d["latencies_us"]] for n, d in per.items()})
        for key, per in data.items()
    ]
