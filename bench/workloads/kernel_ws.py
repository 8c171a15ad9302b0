"""Kernel websocket: sequential ``execute_request`` (``1+1``) round trips, both protocols.

2,000 requests per protocol and target (100 with ``--quick``), in chunks
interleaved across targets: ours, peer, raw ZMQ, ours, peer, raw ZMQ, ...
Each request waits for its ``execute_reply`` and its ``status: idle`` before
the next is sent (see :mod:`bench.kernelclient`).  A server gets one kernel
per protocol with one websocket each, so no connection receives traffic it
does not read; the raw-ZMQ ceiling is one jupyter_client kernel, measured in
the same rounds.  No CPU pinning here: the kernels, the server and the client
all need a core, and pinning would favour whichever shares least.
"""

from __future__ import annotations

import asyncio
import time

from ..core import Bench, Check, Row, subsample
from ..env import KERNEL_NAME
from ..kernelclient import ZmqKernel
from ..stats import percentile, ratio, summary
from .kernel_start import delete_kernel, ready_kernel

PROTOCOLS = ("json", "v1")
WARMUP = 20


async def _run(bench: Bench) -> dict:
    servers = {name: bench.server(name) for name in bench.server_names}
    total = bench.pick(2000, 50)
    chunk = max(total // bench.rounds, 1)
    data: dict = {}
    zmq = await ZmqKernel.start(KERNEL_NAME, iopub=True)
    try:
        for _ in range(bench.pick(WARMUP, 5)):
            await zmq.execute()
        for protocol in PROTOCOLS:
            clients = {"zmq": zmq}
            kernel_ids = {}
            for name, server in servers.items():
                try:
                    kernel_ids[name], clients[name] = await ready_kernel(server, protocol)
                    for _ in range(bench.pick(WARMUP, 5)):
                        await clients[name].execute()
                except Exception as err:
                    bench.errors.append(f"kernel_ws {protocol}[{name}]: {type(err).__name__}: {err}")
                    bench.log(f"ERROR kernel_ws {protocol}[{name}]: {type(err).__name__}: {err}")
            names = [n for n in (*servers, "zmq") if n in clients]

            async def trial(name: str, _round: int) -> dict:
                client = clients[name]
                start = time.perf_counter()
                rtts = [await client.execute() for _ in range(chunk)]
                client.tally.check()
                return {"rtts": rtts, "rate": chunk / (time.perf_counter() - start)}

            bench.log(f"kernel websocket, {protocol} protocol: {chunk * bench.rounds} sequential executes per target")
            results = await bench.ainterleave(names, trial, label=f"kernel_ws {protocol}")
            data[protocol] = {}
            for name, trials in results.items():
                if not trials:
                    continue
                rtts = [r for t in trials for r in t["rtts"]]
                data[protocol][name] = {
                    "rate": [t["rate"] for t in trials],
                    "p50_ms": percentile(rtts, 50) * 1000,
                    "p99_ms": percentile(rtts, 99) * 1000,
                    "rtt_ms": subsample([r * 1000 for r in rtts]),
                    "requests": len(rtts),
                }
            for name, kernel_id in kernel_ids.items():
                clients[name].close()
                await delete_kernel(servers[name], kernel_id)
    finally:
        await zmq.shutdown()
    return data


def run(bench: Bench) -> dict:
    return asyncio.run(_run(bench))


def rows(data: dict) -> list[Row]:
    out = []
    for protocol, per in data.items():
        label = "JSON" if protocol == "json" else "v1"
        out.append(
            Row(
                "kernel ws",
                f"sequential execute ({label}) msgs/s",
                "msg/s",
                {n: summary(d["rate"]) for n, d in per.items()},
                ceiling="zmq",
                higher_is_better=True,
            )
        )
        for q in ("p50", "p99"):
            out.append(
                Row(
                    "kernel ws",
                    f"execute round trip ({label}) {q}",
                    "ms",
                    {n: {"median": d[f"{q}_ms"]} for n, d in per.items()},
                    ceiling="zmq",
                )
            )
    return out


def checks(data: dict) -> list[Check]:
    out = []
    for protocol, per in data.items():
        p50 = {n: d["p50_ms"] for n, d in per.items()}
        out.append(
            Check(
                f"execute round trip p50 ({protocol}) <= 1.05x raw ZMQ",
                ratio(p50.get("ours"), p50.get("zmq")),
                1.05,
                "<=",
            )
        )
    return out


def series(data: dict) -> list:
    return [(f"execute round trip ({p})", "ms", {n: d["rtt_ms"] for n, d in per.items()}) for p, per in data.items()]
