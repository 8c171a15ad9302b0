"""The one ZMQ connection per kernel (services/kernels/connection.py), with a real ipykernel."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time

import pytest
import zmq
from support import wait_for


async def ready_kernel(jsl_fetch, app):
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST")).body)["id"]
    km = app.kernel_manager.get_kernel(kid)
    await wait_for(lambda: km.ready_for_clients and km.execution_state == "idle")
    return km


async def test_four_sockets_one_identity(jsl_fetch, jsl_serverapp):
    km = await ready_kernel(jsl_fetch, jsl_serverapp)
    conn = km.connection
    assert sorted(conn.sockets) == ["control", "iopub", "shell", "stdin"]
    assert {conn.sockets[ch].get(zmq.IDENTITY) for ch in ("shell", "control", "stdin")} == {conn.identity}


async def test_a_reply_that_arrives_before_a_send_is_still_read(jsl_fetch, jsl_serverapp):
    """ZMQ's descriptor is edge-triggered, and a send processes the socket's
    pending commands: it can consume the notification that a reply arrived.
    The reply must still be read (the old per-session channels lost it)."""
    km = await ready_kernel(jsl_fetch, jsl_serverapp)
    conn = km.connection
    _, first = conn.request("shell", "kernel_info_request")
    time.sleep(0.5)  # blocks the loop: the reply lands in the socket unread, its notification pending
    _, second = conn.request("shell", "kernel_info_request")  # a send on the same socket
    for reply in (first, second):
        message = await asyncio.wait_for(reply, 10)
        assert message.msg_type == "kernel_info_reply"


async def test_replies_to_server_requests_never_reach_clients(jsl_fetch, jsl_serverapp):
    km = await ready_kernel(jsl_fetch, jsl_serverapp)
    seen = []

    class Receiver:
        def from_kernel(self, message):
            seen.append(message)

        def kernel_ready(self):
            pass

    km.receiver = Receiver()
    msg_id, reply = km.connection.request("control", "kernel_info_request")
    assert (await asyncio.wait_for(reply, 10)).parent_msg_id == msg_id
    await wait_for(lambda: any(m.msg_type == "status" and m.parent_msg_id == msg_id for m in seen))
    assert {m.channel for m in seen if m.parent_msg_id == msg_id} == {"iopub"}, "iopub, not the reply"


async def test_closing_cancels_pending_requests(jsl_fetch, jsl_serverapp):
    km = await ready_kernel(jsl_fetch, jsl_serverapp)
    conn = km.connection
    _, pending = conn.request("shell", "kernel_info_request")
    conn.close()  # before the loop could read any reply
    assert pending.cancelled() and conn.sockets == {}
    assert conn.send("shell", [b"{}", b"{}", b"{}", b"{}"]) is False


class TestIpcTransport:
    @pytest.fixture
    def jsl_server_config(self, jsl_dirs, monkeypatch):
        """IPC transport, its sockets in a short runtime folder (a Unix socket path is at most 107 bytes)."""
        with tempfile.TemporaryDirectory(prefix="jsl") as short:
            monkeypatch.setenv("JUPYTER_RUNTIME_DIR", short)
            yield {"KernelManager": {"transport": "ipc"}}

    async def test_a_kernel_over_unix_sockets_answers(self, jsl_fetch, jsl_serverapp):
        km = await ready_kernel(jsl_fetch, jsl_serverapp)
        assert km.transport == "ipc" and km.connection_file.startswith(tempfile.gettempdir())
        _, reply = km.connection.request("control", "kernel_info_request")
        assert (await asyncio.wait_for(reply, 10)).msg_type == "kernel_info_reply"
