"""Memory: the server process's RSS (from /proc, children excluded) with 1 and 20 kernels.

(RSS right after start-up is measured by the cold-start workload, over
many starts.)  Each trial uses a fresh server: RSS after its first kernel,
after 20 kernels (each started and reached over a websocket, which is then
closed), and after all 20 are shut down again.  The per-kernel cost is the
marginal one, (RSS@20 - RSS@1) / 19, so one-off lazy imports made by the
first kernel are not charged to every kernel.
"""

from __future__ import annotations

import asyncio

from ..core import Bench, Check, Row
from ..env import rss_mib
from ..stats import summary
from ..targets import start_server
from .kernel_start import delete_kernel, ready_kernel

KERNELS = 20
SETTLE = 1.0


async def _measure(bench: Bench, name: str, kernels: int) -> dict:
    server = start_server(bench.targets[name], bench.sandbox, label="memory")
    kernel_ids: list[str] = []
    try:
        settle = bench.pick(SETTLE, 0.2)
        out: dict = {"count": kernels}
        for i in range(kernels):
            kernel_id, ws = await ready_kernel(server)
            ws.close()
            kernel_ids.append(kernel_id)
            if i == 0:
                await asyncio.sleep(settle)
                out["one_kernel"] = rss_mib(server.pid)
        await asyncio.sleep(settle)
        out["kernels"] = rss_mib(server.pid)
        await asyncio.gather(*(delete_kernel(server, kid) for kid in kernel_ids))
        kernel_ids.clear()
        await asyncio.sleep(settle)
        out["after_shutdown"] = rss_mib(server.pid)
        out["per_kernel"] = (out["kernels"] - out["one_kernel"]) / (kernels - 1)
        return out
    finally:
        if kernel_ids:
            await asyncio.gather(*(delete_kernel(server, kid) for kid in kernel_ids), return_exceptions=True)
        server.stop()


def run(bench: Bench) -> dict:
    results = bench.interleave(
        bench.server_names,
        lambda name, _r: asyncio.run(_measure(bench, name, bench.pick(KERNELS, 5))),
        rounds=bench.pick(2, 1),
        label="memory",
    )
    return {name: {key: [t[key] for t in trials] for key in trials[0]} for name, trials in results.items() if trials}


def rows(data: dict) -> list[Row]:
    count = next(iter(data.values()))["count"][0] if data else KERNELS
    return [
        Row("memory", "server RSS with 1 kernel", "MiB", {n: summary(d["one_kernel"]) for n, d in data.items()}),
        Row("memory", f"server RSS with {count} kernels", "MiB", {n: summary(d["kernels"]) for n, d in data.items()}),
        Row("memory", "server RSS added per kernel", "MiB", {n: summary(d["per_kernel"]) for n, d in data.items()}),
        Row(
            "memory",
            f"server RSS after the {count} shut down",
            "MiB",
            {n: summary(d["after_shutdown"]) for n, d in data.items()},
        ),
    ]


def checks(data: dict) -> list[Check]:
    per = summary(data["ours"]["per_kernel"])["median"] if "ours" in data else float("nan")
    return [Check("each kernel adds < 0.5 MiB to the server", per, 0.5, "<=")]


def series(data: dict) -> list:
    return []
