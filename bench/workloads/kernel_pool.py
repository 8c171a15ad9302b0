"""Kernel start from a warm pool: ``POST /api/kernels`` with ``pool_size`` of one.

A server of ours started with ``--MappingKernelManager.pool_size={"bench-python": 1}``
(jupyter_server has no pool; Kernel Gateway's ``prespawn_count`` is the
nearest thing).  Each trial waits until the pool has refilled, then times
``POST /api/kernels`` -> the response (whose model already says ``idle``: a
pooled kernel has answered) and POST -> websocket open -> ``kernel_info_reply``
(the point :mod:`.kernel_start` measures), against starting a kernel with
jupyter_client directly.  A trial whose POST answers ``starting`` (the pool
was not refilled in time) is an error, not a sample.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

from tornado.httpclient import AsyncHTTPClient

from ..core import Bench, Check, Row
from ..env import KERNEL_NAME, children
from ..kernelclient import WebsocketKernel, ZmqKernel
from ..stats import summary
from ..targets import Server, start_server
from .kernel_start import delete_kernel

#: Seconds a refilled pooled kernel is given to start and answer before the next trial.
REFILL = 2.0


async def _wait_refilled(server: Server, kernels: int) -> None:
    """Until the server has ``kernels`` kernel processes (the refill among them), then REFILL more."""
    deadline = time.monotonic() + 60
    while len(children(server.pid)) != kernels and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(REFILL)


async def _trial(server: Server) -> dict:
    await _wait_refilled(server, 1)
    start = time.perf_counter()
    response = await AsyncHTTPClient().fetch(
        f"{server.base}/api/kernels",
        method="POST",
        headers=server.headers,
        body=json.dumps({"name": KERNEL_NAME}),
        request_timeout=120,
    )
    posted = time.perf_counter() - start
    model = json.loads(response.body)
    ws = await WebsocketKernel.connect(server.port, server.token, model["id"])
    await ws.request("kernel_info_request", {}, "kernel_info_reply")
    ready = time.perf_counter() - start
    ws.close()
    await delete_kernel(server, model["id"])
    if model["execution_state"] != "idle":
        raise RuntimeError(f"the pool was empty: POST answered {model['execution_state']!r}")
    return {"post": posted, "ready": ready}


def run(bench: Bench) -> dict:
    ours = dataclasses.replace(
        bench.targets["ours"], extra=(f'--MappingKernelManager.pool_size={{"{KERNEL_NAME}": 1}}',)
    )
    server = start_server(ours, bench.sandbox, label="pool")
    trials = bench.pick(2 * bench.rounds, 2)
    try:
        pooled = bench.interleave(["ours"], lambda _n, _r: asyncio.run(_trial(server)), rounds=trials, label="pool")
    finally:
        server.stop()

    async def raw() -> float:
        start = time.perf_counter()
        kernel = await ZmqKernel.start(KERNEL_NAME)
        elapsed = time.perf_counter() - start
        await kernel.shutdown()
        return elapsed

    zmq = bench.interleave(["zmq"], lambda _n, _r: asyncio.run(raw()), rounds=bench.pick(bench.rounds, 2), label="pool")
    return {
        "ours": {"post": [t["post"] for t in pooled["ours"]], "ready": [t["ready"] for t in pooled["ours"]]},
        "zmq": {"ready": zmq["zmq"]},
    }


def rows(data: dict) -> list[Row]:
    ms = lambda values: summary([v * 1000 for v in values])  # noqa: E731
    return [
        Row("kernels", "pooled kernel: POST -> idle model", "ms", {"ours": ms(data["ours"]["post"])}),
        Row(
            "kernels",
            "pooled kernel: POST -> kernel_info_reply",
            "ms",
            {"ours": ms(data["ours"]["ready"]), "zmq": ms(data["zmq"]["ready"])},
            ceiling="zmq",
        ),
    ]


def checks(data: dict) -> list[Check]:
    post = summary([v * 1000 for v in data["ours"]["post"]])["median"] if data["ours"]["post"] else float("nan")
    return [Check("pool of one: POST /api/kernels -> idle < 50 ms", post, 50, "<=")]


def series(data: dict) -> list:
    return [("pooled kernel start", "ms", {"ours": [v * 1000 for v in data["ours"]["ready"]]})]
