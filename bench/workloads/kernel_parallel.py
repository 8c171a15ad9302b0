"""16 kernels executing at once: total ``execute`` throughput, against raw ZMQ.

Each target gets 16 kernels (started four at a time, kept for the whole
workload); in a trial every kernel runs ``1+1`` round trips back to back
(one websocket per kernel, JSON protocol), all 16 at once, and the trial's
throughput is all requests over the wall time.  The raw-ZMQ ceiling runs the
same 16-way loop with jupyter_client kernels in the bench process.
"""

from __future__ import annotations

import asyncio
import time

from ..core import Bench, Check, Row, subsample
from ..env import KERNEL_NAME
from ..kernelclient import ZmqKernel
from ..stats import percentile, ratio, summary
from .kernel_start import delete_kernel, ready_kernel

KERNELS = 16
BATCH = 4


async def _start_all(factory, count: int) -> list:
    out = []
    for i in range(0, count, BATCH):
        out.extend(await asyncio.gather(*(factory() for _ in range(min(BATCH, count - i)))))
    return out


async def _run(bench: Bench) -> dict:
    servers = {name: bench.server(name) for name in bench.server_names}
    per_kernel = bench.pick(60, 5)
    kernels = bench.pick(KERNELS, 4)
    clients: dict[str, list] = {}
    kernel_ids: dict[str, list[str]] = {}
    results: dict[str, list] = {}
    try:
        bench.log(f"starting {kernels} kernels per target")
        clients["zmq"] = await _start_all(lambda: ZmqKernel.start(KERNEL_NAME, iopub=True), kernels)
        for name, server in servers.items():
            try:
                pairs = await _start_all(lambda server=server: ready_kernel(server), kernels)
            except Exception as err:
                bench.errors.append(f"kernel_parallel[{name}]: {type(err).__name__}: {err}")
                bench.log(f"ERROR kernel_parallel[{name}]: {type(err).__name__}: {err}")
                continue
            kernel_ids[name] = [kid for kid, _ in pairs]
            clients[name] = [ws for _, ws in pairs]
        for group in clients.values():  # warm every kernel up
            await asyncio.gather(*(c.execute() for c in group))
        names = [n for n in (*servers, "zmq") if n in clients]

        bench.log(f"{kernels} kernels at once, {per_kernel} executes each per round")
        results = await bench.ainterleave(names, all_at_once(clients, per_kernel), label="kernel_parallel")
    finally:
        for name, group in clients.items():
            if name == "zmq":
                await asyncio.gather(*(c.shutdown() for c in group))
            else:
                for c in group:
                    c.close()
                await asyncio.gather(*(delete_kernel(servers[name], kid) for kid in kernel_ids[name]))
    return parallel_data(results, kernels)


def all_at_once(clients: dict[str, list], per_kernel: int):
    """The trial of a target: each of its kernels' clients runs ``per_kernel`` executes back
    to back, all kernels at once; the rate is every request over the wall time."""

    async def loop(client) -> list[float]:
        return [await client.execute() for _ in range(per_kernel)]

    async def trial(name: str, _round: int) -> dict:
        start = time.perf_counter()
        rtts = await asyncio.gather(*(loop(c) for c in clients[name]))
        elapsed = time.perf_counter() - start
        for client in clients[name]:
            client.tally.check()
        return {"rate": len(clients[name]) * per_kernel / elapsed, "rtts": [r for rs in rtts for r in rs]}

    return trial


def parallel_data(results: dict[str, list], kernels: int) -> dict:
    """Per target: the trials' rates, round trip p50/p99 over all samples, a subsample for the chart."""
    data = {}
    for name, trials in results.items():
        if trials:
            rtts = [r for t in trials for r in t["rtts"]]
            data[name] = {
                "rate": [t["rate"] for t in trials],
                "p50_ms": percentile(rtts, 50) * 1000,
                "p99_ms": percentile(rtts, 99) * 1000,
                "rtt_ms": subsample([r * 1000 for r in rtts]),
                "kernels": kernels,
            }
    return data


def run(bench: Bench) -> dict:
    return asyncio.run(_run(bench))


def rows(data: dict) -> list[Row]:
    count = next(iter(data.values()))["kernels"] if data else KERNELS
    return [
        Row(
            "kernel ws",
            f"{count} kernels at once msgs/s",
            "msg/s",
            {n: summary(d["rate"]) for n, d in data.items()},
            ceiling="zmq",
            higher_is_better=True,
        ),
        Row(
            "kernel ws",
            f"{count} kernels at once round trip p50",
            "ms",
            {n: {"median": d["p50_ms"]} for n, d in data.items()},
            ceiling="zmq",
        ),
    ]


def checks(data: dict) -> list[Check]:
    rate = {n: summary(d["rate"])["median"] for n, d in data.items()}
    count = next(iter(data.values()))["kernels"] if data else KERNELS
    return [
        Check(
            f"{count} kernels at once >= 0.95x raw ZMQ throughput", ratio(rate.get("ours"), rate.get("zmq")), 0.95, ">="
        )
    ]


def series(data: dict) -> list:
    count = next(iter(data.values()))["kernels"] if data else KERNELS
    return [(f"{count} kernels at once", "ms", {n: d["rtt_ms"] for n, d in data.items()})]
