"""A test client of the kernel websocket, and the fixtures the websocket tests share.

The client encodes and decodes both protocols itself, from their
descriptions (docs/websocket.md), not with the server's codecs, so a
symmetric mistake in both cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import struct
import uuid
from typing import Any

import pytest
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from tornado.websocket import WebSocketClientConnection

V1 = "v1.kernel.websocket.jupyter.org"
TIMEOUT = 30.0
#: The execution states JupyterLab's message validator accepts in a status message.
LAB_STATES = {"starting", "idle", "busy", "restarting", "dead"}


class Client:
    """A test client of one websocket, speaking the JSON or the v1 protocol."""

    def __init__(self, ws: WebSocketClientConnection, protocol: str = "") -> None:
        self.ws = ws
        self.protocol = protocol
        self.session = Session()
        self.seen: list[dict[str, Any]] = []
        self._reading: asyncio.Future[Any] | None = None
        self.sent: set[str] = set()  # msg_ids of our requests

    # -- encoding, written from the protocol descriptions ----------------------

    def encode(self, msg: dict[str, Any]) -> tuple[str | bytes, bool]:
        buffers = [bytes(b) for b in msg.pop("buffers", [])]
        if self.protocol == V1:
            parts = (
                [msg["channel"].encode()]
                + [
                    json.dumps(msg[k], default=json_default).encode()
                    for k in ("header", "parent_header", "metadata", "content")
                ]
                + buffers
            )
            offsets = [8 * (len(parts) + 2)]
            for part in parts:
                offsets.append(offsets[-1] + len(part))
            return struct.pack(f"<{len(offsets) + 1}Q", len(offsets), *offsets) + b"".join(parts), True
        text = json.dumps(msg, default=json_default)
        if not buffers:
            return text, False
        chunks = [text.encode(), *buffers]
        offsets = [4 * (len(chunks) + 1)]
        for chunk in chunks[:-1]:
            offsets.append(offsets[-1] + len(chunk))
        return struct.pack(f"!{len(chunks) + 1}I", len(chunks), *offsets) + b"".join(chunks), True

    def decode(self, data: str | bytes) -> dict[str, Any]:
        if self.protocol == V1:
            assert isinstance(data, bytes)
            (count,) = struct.unpack_from("<Q", data)
            offsets = struct.unpack_from(f"<{count}Q", data, 8)
            chunks = [data[a:b] for a, b in zip(offsets, offsets[1:])]
            # Like a browser's TextDecoder: invalid UTF-8 becomes U+FFFD.
            msg = {
                k: json.loads(c.decode("utf-8", "replace"))
                for k, c in zip(("header", "parent_header", "metadata", "content"), chunks[1:5])
            }
            msg["channel"] = chunks[0].decode()
            msg["buffers"] = chunks[5:]
            return msg
        if isinstance(data, str):
            return json.loads(data)
        (nbufs,) = struct.unpack_from("!I", data)
        offsets = list(struct.unpack_from(f"!{nbufs}I", data, 4)) + [len(data)]
        chunks = [data[a:b] for a, b in zip(offsets, offsets[1:])]
        msg = json.loads(chunks[0])
        msg["buffers"] = chunks[1:]
        return msg

    # -- conversation -------------------------------------------------------------

    async def closed(self) -> None:
        """Read until the server closes the websocket (bounded)."""

        async def loop():
            while True:
                if self._reading is None:
                    self._reading = asyncio.ensure_future(self.ws.read_message())
                data, self._reading = await self._reading, None
                if data is None:
                    return

        await asyncio.wait_for(loop(), TIMEOUT)

    async def send(
        self, msg_type: str, content: dict[str, Any], channel: str = "shell", buffers: list[bytes] = ()
    ) -> str:
        msg = self.session.msg(msg_type, content=content)
        msg["channel"] = channel
        msg["buffers"] = list(buffers)
        payload, binary = self.encode(msg)
        await self.ws.write_message(payload, binary=binary)
        self.sent.add(msg["header"]["msg_id"])
        return msg["header"]["msg_id"]

    async def execute(self, code: str) -> str:
        return await self.send(
            "execute_request", {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
        )

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        # A read outlives a timeout (shielded), so giving up waiting never loses a message.
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.ws.read_message())
        data = await asyncio.wait_for(asyncio.shield(self._reading), timeout)
        self._reading = None
        assert data is not None, f"websocket closed ({self.ws.close_code}: {self.ws.close_reason})"
        msg = self.decode(data)
        self.seen.append(msg)
        return msg

    async def until(self, predicate, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Read messages until one matches ``predicate`` (bounded in time)."""

        async def loop():
            while True:
                msg = await self.recv()
                if predicate(msg):
                    return msg

        return await asyncio.wait_for(loop(), timeout)

    async def first(self, predicate) -> dict[str, Any]:
        """The first message, already read or still to come, that matches ``predicate``."""
        for msg in self.seen:
            if predicate(msg):
                return msg
        return await self.until(predicate)

    async def reply_to(self, msg_id: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Read until the shell/control reply to ``msg_id``."""
        return await self.until(
            lambda m: m["channel"] in ("shell", "control") and m["parent_header"].get("msg_id") == msg_id, timeout
        )

    async def run(self, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Execute ``code``: (execute_reply, iopub messages of the request until idle)."""
        msg_id = await self.execute(code)
        outputs: list[dict[str, Any]] = []
        reply = None
        idle = False
        while reply is None or not idle:
            msg = await self.recv()
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["channel"] == "shell":
                reply = msg
            elif msg["header"]["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif msg["channel"] == "iopub":
                outputs.append(msg)
        return reply, outputs

    async def status(self, state: str) -> dict[str, Any]:
        return await self.until(
            lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == state
        )


def is_idle_after(msg: dict[str, Any], msg_id: str) -> bool:
    """Whether ``msg`` is the idle status that ends request ``msg_id``."""
    return (
        msg["header"]["msg_type"] == "status"
        and msg["content"]["execution_state"] == "idle"
        and msg["parent_header"].get("msg_id") == msg_id
    )


def of_type(outputs: list[dict[str, Any]], msg_type: str) -> list[dict[str, Any]]:
    return [m for m in outputs if m["header"]["msg_type"] == msg_type]


@pytest.fixture
def start_kernel(jsl_fetch):
    async def start() -> str:
        r = await jsl_fetch("api", "kernels", method="POST", body={"name": "python3"})
        return json.loads(r.body)["id"]

    return start


@pytest.fixture
def connect(jsl_ws_connect):
    async def connect(kernel_id: str, protocol: str = "", session_id: str | None = None) -> Client:
        ws = await jsl_ws_connect(
            "api",
            "kernels",
            kernel_id,
            "channels",
            params={"session_id": session_id or uuid.uuid4().hex},
            subprotocols=[protocol] if protocol else None,
        )
        assert ws.selected_subprotocol == (protocol or None)
        client = Client(ws, protocol)
        # Like JupyterLab, ask for kernel_info first: once its idle status is
        # back, iopub reaches this client (until then, output can be missed).
        # Both its reply and its idle status are read here (they travel on
        # different channels, in either order), so no stray reply is left for
        # the test to trip over.
        msg_id = await client.send("kernel_info_request", {})
        await client.first(lambda m: is_idle_after(m, msg_id))
        await client.first(lambda m: m["channel"] == "shell" and m["parent_header"].get("msg_id") == msg_id)
        return client

    return connect


async def kernel_model(jsl_fetch, kernel_id: str) -> dict[str, Any]:
    return json.loads((await jsl_fetch("api", "kernels", kernel_id)).body)


async def wait_for(check, what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``check`` (a function, sync or async) until it is true (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ((await result) if inspect.isawaitable(result := check()) else result):
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


# -- execution, both protocols ------------------------------------------------------
