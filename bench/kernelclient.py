"""Kernel clients used by the kernel workloads: over a server's websocket, and raw ZMQ.

Both clients do the same thing for one ``execute`` -- send an
``execute_request`` for ``1+1`` and wait until both the ``execute_reply``
(shell) and the ``status: idle`` (iopub) of that request have arrived,
checking that an ``execute_result`` of ``2`` came with them -- so a
difference in round trip is the server's cost, not the client's.

Websocket protocols, chosen by ``Sec-WebSocket-Protocol``:

* ``json``: the default protocol, one JSON text frame per message with a
  ``channel`` key;
* ``v1``: ``v1.kernel.websocket.jupyter.org``, one binary frame: a uint64
  little-endian count of offsets, the offsets, then the channel name and the
  header, parent_header, metadata and content (JSON) and any buffers.
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
REPLY_TIMEOUT = 60.0


def new_message(msg_type: str, content: dict[str, Any], session: str) -> dict[str, Any]:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": "bench",
            "session": session,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
    }


def encode_v1(msg: dict[str, Any], channel: str) -> bytes:
    parts = (
        [channel.encode()]
        + [json.dumps(msg[key]).encode() for key in ("header", "parent_header", "metadata", "content")]
        + [bytes(b) for b in msg.get("buffers", [])]
    )
    offsets = [8 * (1 + len(parts) + 1)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + b"".join(parts)


def decode_v1(data: bytes) -> dict[str, Any]:
    (count,) = struct.unpack_from("<Q", data, 0)
    offsets = struct.unpack_from(f"<{count}Q", data, 8)
    parts = [data[offsets[i] : offsets[i + 1]] for i in range(count - 1)]
    msg = {key: json.loads(parts[i + 1]) for i, key in enumerate(("header", "parent_header", "metadata", "content"))}
    msg["channel"] = parts[0].decode()
    msg["buffers"] = parts[5:]
    return msg


class ExecuteTally:
    """What one client saw for its requests: a speed number is only kept if every
    request got its reply and the right result."""

    def __init__(self) -> None:
        self.replies = 0
        self.results = 0
        self.bad_results = 0

    def check(self) -> None:
        if self.bad_results or self.results != self.replies:
            raise RuntimeError(
                f"{self.replies} replies, {self.results} results, {self.bad_results} wrong: a kernel answer was lost or wrong"
            )


class WebsocketKernel:
    """One websocket connection to one kernel through a server."""

    def __init__(self, conn: Any, protocol: str, session: str) -> None:
        self.conn = conn
        self.protocol = protocol
        self.session = session
        self.tally = ExecuteTally()

    @classmethod
    async def connect(cls, port: int, token: str, kernel_id: str, protocol: str = "json") -> WebsocketKernel:
        session = uuid.uuid4().hex
        request = HTTPRequest(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?session_id={session}",
            headers={"Authorization": f"token {token}"},
            connect_timeout=30,
            request_timeout=30,
        )
        conn = await websocket_connect(request, subprotocols=[V1_PROTOCOL] if protocol == "v1" else None)
        if protocol == "v1" and conn.selected_subprotocol != V1_PROTOCOL:
            conn.close()
            raise RuntimeError(f"server did not accept {V1_PROTOCOL} (got {conn.selected_subprotocol!r})")
        conn.protocol.set_nodelay(True)  # the client never delays its own frames
        return cls(conn, protocol, session)

    async def send(self, msg: dict[str, Any], channel: str) -> None:
        if self.protocol == "v1":
            await self.conn.write_message(encode_v1(msg, channel), binary=True)
        else:
            await self.conn.write_message(json.dumps({**msg, "channel": channel, "buffers": []}))

    async def receive(self) -> dict[str, Any]:
        data = await asyncio.wait_for(self.conn.read_message(), REPLY_TIMEOUT)
        if data is None:
            raise ConnectionError(f"websocket closed: {self.conn.close_code} {self.conn.close_reason}")
        if isinstance(data, bytes):
            if self.protocol != "v1":
                raise RuntimeError("binary frame on the JSON protocol (buffers are not expected here)")
            return decode_v1(data)
        return json.loads(data)

    async def request(self, msg_type: str, content: dict[str, Any], reply_type: str) -> dict[str, Any]:
        """Send a shell request and return its reply (other messages are dropped)."""
        msg = new_message(msg_type, content, self.session)
        await self.send(msg, "shell")
        msg_id = msg["header"]["msg_id"]
        while True:
            got = await self.receive()
            if got["parent_header"].get("msg_id") == msg_id and got["header"]["msg_type"] == reply_type:
                return got

    async def execute(self, code: str = "1+1", expect: str = "2") -> float:
        """One execute round trip in seconds: until both reply and idle are in."""
        msg = new_message(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": False,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            self.session,
        )
        msg_id = msg["header"]["msg_id"]
        start = time.perf_counter()
        await self.send(msg, "shell")
        replied = idle = False
        while not (replied and idle):
            got = await self.receive()
            if got["parent_header"].get("msg_id") != msg_id:
                continue
            kind = got["header"]["msg_type"]
            if kind == "execute_reply":
                replied = True
                self.tally.replies += 1
            elif kind == "execute_result":
                self.tally.results += 1
                if got["content"]["data"].get("text/plain") != expect:
                    self.tally.bad_results += 1
            elif kind == "status" and got["content"]["execution_state"] == "idle":
                idle = True
        return time.perf_counter() - start

    def close(self) -> None:
        self.conn.close()


class ZmqKernel:
    """The ceiling: a kernel driven by jupyter_client directly, no server in between."""

    def __init__(self, km: Any, kc: Any) -> None:
        self.km = km
        self.kc = kc
        self.tally = ExecuteTally()

    @classmethod
    async def start(cls, kernel_name: str, iopub: bool = False) -> ZmqKernel:
        """Launch a kernel and wait for its first kernel_info_reply.

        That is the least a client must wait for (and what the server-side
        measurement waits for over the websocket); jupyter_client's own
        ``wait_for_ready`` adds a poll for iopub on top, which ``iopub=True``
        does for the execute workloads, whose first replies need iopub.
        """
        from jupyter_client.manager import AsyncKernelManager

        km = AsyncKernelManager(kernel_name=kernel_name)
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        msg_id = kc.kernel_info()
        while (await kc.get_shell_msg(timeout=REPLY_TIMEOUT))["parent_header"].get("msg_id") != msg_id:
            pass
        if iopub:
            await kc.wait_for_ready(timeout=REPLY_TIMEOUT)
        return cls(km, kc)

    async def execute(self, code: str = "1+1", expect: str = "2") -> float:
        start = time.perf_counter()
        msg_id = self.kc.execute(code, store_history=False)
        while True:
            reply = await self.kc.get_shell_msg(timeout=REPLY_TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                self.tally.replies += 1
                break
        while True:
            got = await self.kc.get_iopub_msg(timeout=REPLY_TIMEOUT)
            if got["parent_header"].get("msg_id") != msg_id:
                continue
            kind = got["header"]["msg_type"]
            if kind == "execute_result":
                self.tally.results += 1
                if got["content"]["data"].get("text/plain") != expect:
                    self.tally.bad_results += 1
            elif kind == "status" and got["content"]["execution_state"] == "idle":
                break
        return time.perf_counter() - start

    async def shutdown(self) -> None:
        self.kc.stop_channels()
        await self.km.shutdown_kernel(now=False)
