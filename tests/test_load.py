"""Load and soak: many clients, many kernels, many requests -- nothing lost, nothing leaked.

* **Load**: 8 kernels x 4 websocket clients each (half on the JSON protocol,
  half on ``v1.kernel.websocket.jupyter.org``), 20,000 ``execute_request``
  in all, every client sending one after another.  Each request computes a
  value unique to it, so an ``execute_result`` can be matched to exactly one
  request.  Checked per client: exactly one ``execute_reply`` per request it
  sent, addressed to its own session, and none for anybody else's request;
  exactly one ``execute_result`` for every request made on its kernel (iopub
  is broadcast to every client of a kernel, by design), with the right
  value, and none from another kernel.
* **Soak**: ten rounds of start 10 kernels / run code on each / shut them
  down: every kernel process started is gone after its round, the server's
  RSS after round 10 is within 5% of round 2, and the server logs no warning
  or error (the plugin's log guard fails the test otherwise).

No timing assertions: these prove correctness under load; speed is measured
by ``python -m bench``.  Both are bounded by pytest-timeout and by per-read
timeouts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import struct
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from support import process_running

V1 = "v1.kernel.websocket.jupyter.org"
KERNEL = "python3"
READ_TIMEOUT = 60.0

LOAD_KERNELS = 8
CLIENTS_PER_KERNEL = 4
LOAD_REQUESTS = 20_000
SOAK_ROUNDS = 10
SOAK_KERNELS = 10


def message(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "session": session,
        "username": "load",
        "date": datetime.now(timezone.utc).isoformat(),
        "version": "5.3",
    }
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content}


class LoadClient:
    """One websocket client that tallies everything it receives."""

    def __init__(self, ws: Any, protocol: str, kernel: int) -> None:
        self.ws = ws
        self.protocol = protocol
        self.kernel = kernel
        self.session = uuid.uuid4().hex
        self.sent: dict[str, str] = {}  # msg_id -> the value its execute_result must show
        self.replies: Counter[str] = Counter()
        self.reply_sessions: set[str] = set()
        self.reply_errors: list[dict[str, Any]] = []
        self.results: dict[str, list[str]] = {}
        self.idle_for: set[str] = set()

    async def send(self, msg: dict[str, Any]) -> str:
        if self.protocol == V1:
            parts = [b"shell"] + [
                json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")
            ]
            offsets = [8 * (len(parts) + 2)]
            for part in parts:
                offsets.append(offsets[-1] + len(part))
            await self.ws.write_message(
                struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + b"".join(parts), binary=True
            )
        else:
            await self.ws.write_message(json.dumps({**msg, "channel": "shell", "buffers": []}))
        return msg["header"]["msg_id"]

    def decode(self, data: str | bytes) -> dict[str, Any]:
        if self.protocol == V1:
            assert isinstance(data, bytes), "v1 protocol frames are binary"
            (count,) = struct.unpack_from("<Q", data)
            offsets = struct.unpack_from(f"<{count}Q", data, 8)
            chunks = [data[a:b] for a, b in zip(offsets, offsets[1:])]
            msg = {k: json.loads(c) for k, c in zip(("header", "parent_header", "metadata", "content"), chunks[1:5])}
            msg["channel"] = chunks[0].decode()
            return msg
        assert isinstance(data, str), "no buffers expected: JSON protocol frames are text"
        return json.loads(data)

    async def receive(self) -> None:
        """Read one message and file it."""
        data = await asyncio.wait_for(self.ws.read_message(), READ_TIMEOUT)
        assert data is not None, f"websocket closed ({self.ws.close_code}: {self.ws.close_reason})"
        msg = self.decode(data)
        parent = msg["parent_header"].get("msg_id", "")
        kind = msg["header"]["msg_type"]
        if msg["channel"] == "shell":
            self.replies[parent] += 1
            self.reply_sessions.add(msg["parent_header"].get("session", ""))
            if kind == "execute_reply" and msg["content"]["status"] != "ok":
                self.reply_errors.append(msg["content"])
        elif kind == "execute_result":
            self.results.setdefault(parent, []).append(msg["content"]["data"]["text/plain"])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            self.idle_for.add(parent)

    async def execute(self, value: int) -> None:
        """Send ``value`` as code, read until its reply and its result are in."""
        msg = message(
            "execute_request",
            {"code": str(value), "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
            self.session,
        )
        msg_id = await self.send(msg)
        self.sent[msg_id] = str(value)
        while not (self.replies[msg_id] and msg_id in self.results):
            await self.receive()

    async def drain(self) -> None:
        """Round-trip a kernel_info_request: everything the kernel sent before it has arrived."""
        msg_id = await self.send(message("kernel_info_request", {}, self.session))
        while not (self.replies[msg_id] and msg_id in self.idle_for):
            await self.receive()
        del self.replies[msg_id]


async def start_kernels(jsl_fetch: Any, count: int) -> list[str]:
    responses = await asyncio.gather(
        *(jsl_fetch("api", "kernels", method="POST", body={"name": KERNEL}) for _ in range(count))
    )
    return [json.loads(r.body)["id"] for r in responses]


async def connect(jsl_ws_connect: Any, kernel_id: str, protocol: str, kernel: int) -> LoadClient:
    ws = await jsl_ws_connect(
        "api",
        "kernels",
        kernel_id,
        "channels",
        params={"session_id": uuid.uuid4().hex},
        subprotocols=[protocol] if protocol else None,
    )
    assert ws.selected_subprotocol == (protocol or None)
    client = LoadClient(ws, protocol, kernel)
    return client


def rss_mib() -> float:
    """This process's resident set size: the server runs in it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_load_every_request_answered_once_to_its_client(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    kernel_ids = await start_kernels(jsl_fetch, LOAD_KERNELS)
    clients = [
        await connect(jsl_ws_connect, kernel_id, V1 if c % 2 else "", k)
        for k, kernel_id in enumerate(kernel_ids)
        for c in range(CLIENTS_PER_KERNEL)
    ]
    per_client = LOAD_REQUESTS // len(clients)
    assert per_client * len(clients) == LOAD_REQUESTS

    async def drive(index: int, client: LoadClient) -> None:
        for i in range(per_client):
            await client.execute(index * 1_000_000 + i)

    await asyncio.gather(*(drive(i, c) for i, c in enumerate(clients)))
    await asyncio.gather(*(c.drain() for c in clients))

    assert sum(len(c.sent) for c in clients) == LOAD_REQUESTS
    for k in range(LOAD_KERNELS):
        mates = [c for c in clients if c.kernel == k]
        expected = {msg_id: value for c in mates for msg_id, value in c.sent.items()}
        assert len(expected) == per_client * CLIENTS_PER_KERNEL
        for c in mates:
            where = f"kernel {k}, {c.protocol or 'json'} client {c.session}"
            # replies: exactly one per own request, none for anyone else's
            assert set(c.replies) == set(c.sent), f"{where}: replies lost or misdelivered"
            assert set(c.replies.values()) == {1}, f"{where}: duplicated replies"
            assert c.reply_sessions == {c.session}, f"{where}: a reply to another session"
            assert not c.reply_errors, f"{where}: {c.reply_errors[:3]}"
            # results: iopub is broadcast, so one per request made on this kernel, by anyone
            assert set(c.results) == set(expected), f"{where}: results lost or from another kernel"
            assert all(len(v) == 1 for v in c.results.values()), f"{where}: duplicated results"
            assert {m: v[0] for m, v in c.results.items()} == expected, f"{where}: a result with the wrong value"

    for kernel_id in kernel_ids:
        await jsl_fetch("api", "kernels", kernel_id, method="DELETE")


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_soak_kernels_come_and_go_without_leaks(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    km = jsl_serverapp.kernel_manager
    rss: list[float] = []
    for round_ in range(SOAK_ROUNDS):
        kernel_ids = await start_kernels(jsl_fetch, SOAK_KERNELS)
        pids = [km.get_kernel(kid).provisioner.pid for kid in kernel_ids]
        assert all(process_running(pid) for pid in pids)
        clients = [await connect(jsl_ws_connect, kid, V1 if i % 2 else "", i) for i, kid in enumerate(kernel_ids)]
        await asyncio.gather(*(c.execute(round_ * 100 + i) for i, c in enumerate(clients)))
        for c in clients:
            assert list(c.results.values()) == [[c.sent[m]] for m in c.results]
            c.ws.close()
        await asyncio.gather(*(jsl_fetch("api", "kernels", kid, method="DELETE") for kid in kernel_ids))
        assert not [pid for pid in pids if process_running(pid)], f"round {round_}: kernel processes left running"
        listed = json.loads((await jsl_fetch("api", "kernels")).body)
        assert listed == [], f"round {round_}: kernels still listed"
        await asyncio.sleep(0.2)  # let closed websockets and sockets finish closing
        gc.collect()
        rss.append(rss_mib())
    assert abs(rss[9] - rss[1]) <= 0.05 * rss[1], (
        f"server RSS went from {rss[1]:.1f} MiB (round 2) to {rss[9]:.1f} MiB (round 10): {rss}"
    )
