"""Kernel start: ``POST /api/kernels`` -> the kernel answers, against raw jupyter_client.

"Idle" is taken as the first moment a client can use the kernel: through a
server, POST, open the websocket and get the ``kernel_info_reply``; raw, what
``AsyncKernelManager.start_kernel`` + ``wait_for_ready`` do.  (The execution
state in jupyter_server's kernel model stays ``starting`` until a client
connects, so polling the model cannot be used for the peer.)  Each trial
starts one kernel and shuts it down (the process gone) before the next;
one unrecorded warm-up round first.
"""

from __future__ import annotations

import asyncio
import json
import time

from tornado.httpclient import AsyncHTTPClient

from ..core import Bench, Check, Row
from ..env import KERNEL_NAME, wait_for_no_children
from ..kernelclient import WebsocketKernel, ZmqKernel
from ..stats import ratio, summary
from ..targets import Server


def start_kernel_rest(server: Server) -> str:
    """POST a kernel (blocking, for set-up); return its id."""
    status, model = server.request("POST", "/api/kernels", {"name": KERNEL_NAME})
    if status != 201:
        raise RuntimeError(f"POST /api/kernels -> {status} {model}")
    return model["id"]


async def post_kernel(server: Server) -> str:
    response = await AsyncHTTPClient().fetch(
        f"{server.base}/api/kernels",
        method="POST",
        headers=server.headers,
        body=json.dumps({"name": KERNEL_NAME}),
        raise_error=False,
        request_timeout=120,
    )
    if response.code != 201:
        raise RuntimeError(f"POST /api/kernels -> {response.code} {response.body[:300]!r}")
    return json.loads(response.body)["id"]


async def delete_kernel(server: Server, kernel_id: str) -> None:
    response = await AsyncHTTPClient().fetch(
        f"{server.base}/api/kernels/{kernel_id}",
        method="DELETE",
        headers=server.headers,
        raise_error=False,
        request_timeout=120,
    )
    if response.code not in (204, 404):
        raise RuntimeError(f"DELETE /api/kernels/{kernel_id} -> {response.code}")


async def ready_kernel(server: Server, protocol: str = "json") -> tuple[str, WebsocketKernel]:
    """POST a kernel, connect a websocket, wait for its kernel_info_reply."""
    kernel_id = await post_kernel(server)
    ws = await WebsocketKernel.connect(server.port, server.token, kernel_id, protocol)
    await ws.request("kernel_info_request", {}, "kernel_info_reply")
    return kernel_id, ws


def run(bench: Bench) -> dict:
    names = [*bench.server_names, "zmq"]
    servers = {name: bench.server(name) for name in bench.server_names}

    async def timed(name: str) -> float:
        if name == "zmq":
            start = time.perf_counter()
            kernel = await ZmqKernel.start(KERNEL_NAME)
            elapsed = time.perf_counter() - start
            await kernel.shutdown()
            return elapsed
        start = time.perf_counter()
        kernel_id, ws = await ready_kernel(servers[name])
        elapsed = time.perf_counter() - start
        ws.close()
        await delete_kernel(servers[name], kernel_id)
        wait_for_no_children(servers[name].pid)  # the next trial starts on a quiet machine
        return elapsed

    def trial(name: str, _round: int) -> float:
        return asyncio.run(timed(name))

    bench.interleave(names, trial, rounds=1, label="kernel start warm-up")
    results = bench.interleave(names, trial, rounds=bench.pick(2 * bench.rounds, 2), label="kernel start")
    return {name: {"seconds": samples} for name, samples in results.items() if samples}


def rows(data: dict) -> list[Row]:
    return [
        Row(
            "kernels",
            "kernel start (POST -> kernel_info_reply)",
            "ms",
            {n: summary([s * 1000 for s in d["seconds"]]) for n, d in data.items()},
            ceiling="zmq",
        )
    ]


def checks(data: dict) -> list[Check]:
    med = {n: summary(d["seconds"])["median"] for n, d in data.items()}
    return [Check("kernel start <= 1.05x raw ZMQ", ratio(med.get("ours"), med.get("zmq")), 1.05, "<=")]


def series(data: dict) -> list:
    return [("kernel start", "ms", {n: [s * 1000 for s in d["seconds"]] for n, d in data.items()})]
