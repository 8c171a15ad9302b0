"""Gateway mode: execute round trips and 16-kernel throughput through one real Kernel Gateway.

One ``jupyter_kernel_gateway`` (this environment's, on 127.0.0.1, with a
token and its kernel list on, launching the sandbox's ``bench-python``
kernelspec) serves every target of the run: ours and jupyter_server 2.21.1
(the peer venv) each started with ``--GatewayClient.url`` and
``--GatewayClient.auth_token`` pointing at it (:func:`bench.targets.in_gateway_mode`),
and the ceiling, the bench's client on the gateway's own websocket with
nothing in between ("gateway").  That client acknowledges every frame at
once (Linux's ``TCP_QUICKACK``), as ours does on its websocket to the
gateway: the gateway does not set ``TCP_NODELAY``, so a client that lets the
kernel delay its ACKs waits up to 40 ms for each reply's later frames, and
would be no ceiling.  Each server's kernels are checked to be
the gateway's (its ``/api/kernels`` lists them): a run that measured local
kernels would prove nothing.

Round trip: one kernel per target, sequential ``execute_request`` (``1+1``),
each waiting for its ``execute_reply`` and ``status: idle``, in chunks
interleaved across targets (JSON protocol: the only one jupyter_server's
gateway mode offers); p50 and p95.  Throughput: 16 kernels per target
(started four at a time, kept for the workload), every kernel running round
trips back to back, all 16 at once; all requests over the wall time.  The
issue's goal is a round trip of at most half jupyter_server's, which adds
up to 40 ms per reply (delayed ACKs on its websocket to the gateway).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from ..core import Bench, Check, Row, subsample
from ..kernelclient import WebsocketKernel
from ..stats import percentile, ratio, summary
from ..targets import Server, gateway_target, in_gateway_mode, start_server
from .kernel_parallel import BATCH, KERNELS, all_at_once, parallel_data
from .kernel_start import delete_kernel, post_kernel, ready_kernel

WARMUP = 20
QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only; elsewhere the ceiling is a plain client


class DirectKernel(WebsocketKernel):
    """The bench's websocket client, acknowledging each frame at once (see the module docstring)."""

    async def receive(self) -> dict[str, Any]:
        message = await super().receive()
        stream = self.conn.stream
        if QUICKACK is not None and stream is not None and not stream.closed():
            stream.socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        return message


async def ready_direct_kernel(gateway: Server) -> tuple[str, WebsocketKernel]:
    """:func:`ready_kernel` on the gateway itself, with :class:`DirectKernel`."""
    kernel_id = await post_kernel(gateway)
    ws = await DirectKernel.connect(gateway.port, gateway.token, kernel_id)
    await ws.request("kernel_info_request", {}, "kernel_info_reply")
    return kernel_id, ws


def _check_on_gateway(gateway: Server, name: str, kernel_ids: list[str]) -> None:
    """Raise unless the gateway runs every one of ``kernel_ids`` (the server really is in gateway mode)."""
    status, models = gateway.request("GET", "/api/kernels")
    listed = {m["id"] for m in models or []} if status == 200 else set()
    missing = [kid for kid in kernel_ids if kid not in listed]
    if missing:
        raise RuntimeError(f"{name}: kernels {missing} are not the gateway's (GET /api/kernels -> {status})")


async def _kernels(bench: Bench, servers: dict[str, Server], gateway: Server, count: int) -> tuple[dict, dict]:
    """``count`` ready kernels per target: ({name: [kernel id]}, {name: [websocket client]})."""
    ids: dict[str, list[str]] = {}
    clients: dict[str, list] = {}
    for name, server in servers.items():
        ready = ready_direct_kernel if name == "gateway" else ready_kernel
        try:
            pairs = []
            for i in range(0, count, BATCH):
                pairs += await asyncio.gather(*(ready(server) for _ in range(min(BATCH, count - i))))
            if name != "gateway":
                _check_on_gateway(gateway, name, [kid for kid, _ in pairs])
            ids[name], clients[name] = [kid for kid, _ in pairs], [ws for _, ws in pairs]
        except Exception as err:  # the target is left out; its kernels go when it stops
            bench.errors.append(f"gateway[{name}]: {type(err).__name__}: {err}")
            bench.log(f"ERROR gateway[{name}]: {type(err).__name__}: {err}")
    return ids, clients


async def _release(servers: dict[str, Server], ids: dict, clients: dict) -> None:
    for name, group in clients.items():
        for client in group:
            client.close()
        await asyncio.gather(*(delete_kernel(servers[name], kid) for kid in ids[name]))


async def _round_trip(bench: Bench, servers: dict[str, Server], gateway: Server) -> dict:
    total = bench.pick(1000, 50)
    chunk = max(total // bench.rounds, 1)
    ids, clients = await _kernels(bench, servers, gateway, 1)
    try:
        for group in clients.values():
            for _ in range(bench.pick(WARMUP, 5)):
                await group[0].execute()

        async def trial(name: str, _round: int) -> dict:
            client = clients[name][0]
            start = time.perf_counter()
            rtts = [await client.execute() for _ in range(chunk)]
            client.tally.check()
            return {"rtts": rtts, "rate": chunk / (time.perf_counter() - start)}

        bench.log(f"gateway: {chunk * bench.rounds} sequential executes per target")
        results = await bench.ainterleave([n for n in servers if n in clients], trial, label="gateway round trip")
    finally:
        await _release(servers, ids, clients)
    data = {}
    for name, trials in results.items():
        if trials:
            rtts = [r for t in trials for r in t["rtts"]]
            data[name] = {
                "rate": [t["rate"] for t in trials],
                "p50_ms": percentile(rtts, 50) * 1000,
                "p95_ms": percentile(rtts, 95) * 1000,
                "rtt_ms": subsample([r * 1000 for r in rtts]),
                "requests": len(rtts),
            }
    return data


async def _parallel(bench: Bench, servers: dict[str, Server], gateway: Server) -> dict:
    kernels = bench.pick(KERNELS, 4)
    per_kernel = bench.pick(60, 5)
    bench.log(f"gateway: starting {kernels} kernels per target")
    ids, clients = await _kernels(bench, servers, gateway, kernels)
    try:
        for group in clients.values():  # warm every kernel up
            await asyncio.gather(*(c.execute() for c in group))

        bench.log(f"gateway: {kernels} kernels at once, {per_kernel} executes each per round")
        names = [n for n in servers if n in clients]
        results = await bench.ainterleave(names, all_at_once(clients, per_kernel), label="gateway parallel")
    finally:
        await _release(servers, ids, clients)
    return parallel_data(results, kernels)


def run(bench: Bench) -> dict:
    gateway = start_server(gateway_target(), bench.sandbox, label="gateway")
    servers: dict[str, Server] = {}
    try:
        for name in bench.server_names:
            target = in_gateway_mode(bench.targets[name], gateway)
            servers[name] = start_server(target, bench.sandbox, label="gateway-mode")
        servers["gateway"] = gateway

        async def measure() -> dict:
            return {
                "round_trip": await _round_trip(bench, servers, gateway),
                "parallel": await _parallel(bench, servers, gateway),
            }

        return asyncio.run(measure())
    finally:
        for name, server in servers.items():
            if name != "gateway":
                server.stop()  # each deletes its kernels on the gateway
        gateway.stop()  # and the gateway stops whatever is left


def rows(data: dict) -> list[Row]:
    trip, par = data.get("round_trip", {}), data.get("parallel", {})
    count = next(iter(par.values()))["kernels"] if par else KERNELS
    out = [
        Row(
            "gateway",
            f"execute round trip {q}",
            "ms",
            {n: {"median": d[f"{q}_ms"]} for n, d in trip.items()},
            ceiling="gateway",
        )
        for q in ("p50", "p95")
    ]
    out.append(
        Row(
            "gateway",
            "sequential execute msgs/s",
            "msg/s",
            {n: summary(d["rate"]) for n, d in trip.items()},
            ceiling="gateway",
            higher_is_better=True,
        )
    )
    out.append(
        Row(
            "gateway",
            f"{count} kernels at once msgs/s",
            "msg/s",
            {n: summary(d["rate"]) for n, d in par.items()},
            ceiling="gateway",
            higher_is_better=True,
        )
    )
    return out


def checks(data: dict) -> list[Check]:
    """The issue's target: the round trip; 16-kernel throughput is in the table as a ratio only."""
    trip = data.get("round_trip", {})
    return [
        Check(
            f"gateway: execute round trip {q} <= 0.5x jupyter_server's (same gateway)",
            ratio(trip.get("ours", {}).get(f"{q}_ms"), trip.get("peer", {}).get(f"{q}_ms")),
            0.5,
            "<=",
        )
        for q in ("p50", "p95")
    ]


def series(data: dict) -> list:
    par = data.get("parallel", {})
    count = next(iter(par.values()))["kernels"] if par else KERNELS
    return [
        ("gateway: execute round trip", "ms", {n: d["rtt_ms"] for n, d in data.get("round_trip", {}).items()}),
        (f"gateway: {count} kernels at once", "ms", {n: d["rtt_ms"] for n, d in par.items()}),
    ]
