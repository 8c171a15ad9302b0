"""The kernel websocket (services/kernels/websocket.py, channels.py) with real ipykernel kernels.

The client side is written here from the protocol descriptions (not with the
server's own codecs), so a symmetric mistake in both cannot pass unnoticed.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import struct
import uuid
from typing import Any

import pytest
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from tornado.httpclient import HTTPClientError
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
            parts = [msg["channel"].encode()] + [
                json.dumps(msg[k], default=json_default).encode() for k in ("header", "parent_header", "metadata", "content")
            ] + buffers
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
            msg = {k: json.loads(c) for k, c in zip(("header", "parent_header", "metadata", "content"), chunks[1:5])}
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

    async def send(self, msg_type: str, content: dict[str, Any], channel: str = "shell", buffers: list[bytes] = ()) -> str:
        msg = self.session.msg(msg_type, content=content)
        msg["channel"] = channel
        msg["buffers"] = list(buffers)
        payload, binary = self.encode(msg)
        await self.ws.write_message(payload, binary=binary)
        self.sent.add(msg["header"]["msg_id"])
        return msg["header"]["msg_id"]

    async def execute(self, code: str) -> str:
        return await self.send("execute_request", {"code": code, "silent": False, "store_history": False, "allow_stdin": False})

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
        return await self.until(lambda m: m["header"]["msg_type"] == "status" and m["content"]["execution_state"] == state)


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
            "api", "kernels", kernel_id, "channels",
            params={"session_id": session_id or uuid.uuid4().hex},
            subprotocols=[protocol] if protocol else None,
        )
        assert ws.selected_subprotocol == (protocol or None)
        client = Client(ws, protocol)
        # Like JupyterLab, ask for kernel_info first: once its idle status is
        # back, iopub reaches this client (until then, output can be missed).
        msg_id = await client.send("kernel_info_request", {})
        await client.until(lambda m: is_idle_after(m, msg_id))
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


@pytest.mark.parametrize("protocol", ["", V1])
async def test_execute_result_stream_and_error(start_kernel, connect, protocol):
    client = await connect(await start_kernel(), protocol)

    reply, outputs = await client.run("1+1")
    assert reply["content"]["status"] == "ok"
    [result] = of_type(outputs, "execute_result")
    assert result["content"]["data"]["text/plain"] == "2"
    assert result["channel"] == "iopub"

    reply, outputs = await client.run("print('hello')")
    [stream] = of_type(outputs, "stream")
    assert stream["content"] == {"name": "stdout", "text": "hello\n"}

    reply, outputs = await client.run("1/0")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "ZeroDivisionError"
    assert of_type(outputs, "error")[0]["content"]["ename"] == "ZeroDivisionError"


async def test_json_protocol_messages_carry_jupyter_server_fields(start_kernel, connect):
    client = await connect(await start_kernel())
    msg_id = await client.send("kernel_info_request", {})
    reply = await client.reply_to(msg_id)
    assert reply["msg_type"] == reply["header"]["msg_type"] == "kernel_info_reply"
    assert reply["msg_id"] == reply["header"]["msg_id"]
    assert reply["channel"] == "shell" and reply["buffers"] == []
    assert reply["content"]["implementation"] == "ipython"
    await client.status("idle")


ECHO_COMM = """
import comm
echo = comm.create_comm(target_name="jsl-echo", data={"hello": True}, buffers=[b"\\x00\\x01open"])
echo.on_msg(lambda msg: echo.send(data={"echo": msg["content"]["data"]}, buffers=[bytes(b)[::-1] for b in msg["buffers"]]))
"""


async def test_binary_buffers_round_trip_on_both_protocols(start_kernel, connect):
    kernel_id = await start_kernel()
    json_client = await connect(kernel_id)
    v1_client = await connect(kernel_id, V1)
    await json_client.run(ECHO_COMM)
    comm_ids = []
    for client in (json_client, v1_client):  # both see the comm_open from the kernel, buffers included
        opened = await client.first(lambda m: m["header"]["msg_type"] == "comm_open")
        assert opened["content"]["data"] == {"hello": True}
        assert [bytes(b) for b in opened["buffers"]] == [b"\x00\x01open"]
        comm_ids.append(opened["content"]["comm_id"])
    assert comm_ids[0] == comm_ids[1]

    payload = bytes(range(256)) * 40  # every byte value, 10 KiB
    for client, tag in ((json_client, "json"), (v1_client, "v1")):
        msg_id = await client.send(
            "comm_msg", {"comm_id": comm_ids[0], "data": {"from": tag}}, buffers=[payload, b"", b"xyz"]
        )
        echoed = await client.until(
            lambda m: m["header"]["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == msg_id
        )
        assert echoed["content"]["data"] == {"echo": {"from": tag}}
        assert [bytes(b) for b in echoed["buffers"]] == [payload[::-1], b"", b"zyx"]


# -- several clients ---------------------------------------------------------------------


async def test_two_clients_each_get_their_own_replies(start_kernel, connect):
    kernel_id = await start_kernel()
    alice, bob = await connect(kernel_id), await connect(kernel_id, V1)
    a_ids = [await alice.execute(f"'alice {i}'") for i in range(3)]
    b_ids = [await bob.execute(f"'bob {i}'") for i in range(3)]
    a_info = await alice.send("kernel_info_request", {}, channel="control")

    for client, ids in ((alice, a_ids + [a_info]), (bob, b_ids)):
        replies = []
        while len(replies) < len(ids):
            msg = await client.recv()
            if msg["channel"] in ("shell", "control"):
                replies.append(msg)
        assert sorted(r["parent_header"]["msg_id"] for r in replies) == sorted(ids)

    # iopub goes to everyone: bob sees alice's results too.
    result = await bob.first(lambda m: m["header"]["msg_type"] == "execute_result" and "alice 2" in m["content"]["data"]["text/plain"])
    assert result["parent_header"]["msg_id"] == a_ids[2]
    for client in (alice, bob):  # no reply to somebody else's request, ever
        assert {m["parent_header"]["msg_id"] for m in client.seen if m["channel"] in ("shell", "control")} <= client.sent


async def test_connections_are_counted(start_kernel, connect, jsl_fetch, jsl_serverapp):
    kernel_id = await start_kernel()
    first, second = await connect(kernel_id), await connect(kernel_id)
    assert (await kernel_model(jsl_fetch, kernel_id))["connections"] == 2
    assert json.loads((await jsl_fetch("api", "status")).body)["connections"] == 2
    first.ws.close()
    second.ws.close()

    async def none_left():
        return (await kernel_model(jsl_fetch, kernel_id))["connections"] == 0

    await wait_for(none_left, "the connection count to drop")


# -- interrupt, restart, death ------------------------------------------------------------


async def test_interrupt_stops_a_running_cell(start_kernel, connect, jsl_fetch):
    kernel_id = await start_kernel()
    client = await connect(kernel_id)
    msg_id = await client.execute("import time; print('sleeping', flush=True); time.sleep(60)")
    await client.until(lambda m: m["header"]["msg_type"] == "stream" and m["parent_header"]["msg_id"] == msg_id)
    reply = None
    for _attempt in range(10):  # a SIGINT landing just before the sleep starts is absorbed by the kernel
        r = await jsl_fetch("api", "kernels", kernel_id, "interrupt", method="POST")
        assert r.code == 204
        try:
            reply = await client.reply_to(msg_id, timeout=3)
            break
        except asyncio.TimeoutError:
            continue
    assert reply is not None
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    reply, outputs = await client.run("'still alive'")
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "'still alive'"


async def test_restart_reaches_every_client_and_the_kernel_works_again(start_kernel, connect, jsl_fetch):
    kernel_id = await start_kernel()
    clients = [await connect(kernel_id), await connect(kernel_id, V1)]
    await clients[0].run("x = 42")
    r = await jsl_fetch("api", "kernels", kernel_id, "restart", method="POST")
    assert r.code == 200
    for client in clients:
        await client.status("restarting")
    reply, outputs = await clients[1].run("'x' in dir()")
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "False"  # a new process


async def test_a_kernel_that_dies_is_reported_and_restarted(start_kernel, connect, jsl_expect_log, jsl_fetch):
    other_kernel = await start_kernel()
    kernel_id = await start_kernel()
    clients = [await connect(kernel_id), await connect(kernel_id, V1)]
    bystander = await connect(other_kernel)
    with jsl_expect_log(f"Kernel {kernel_id} .* died unexpectedly", logging.WARNING):
        await clients[0].execute("import os; os._exit(1)")
        for client in clients:  # "restarting", as Jupyter Server sends (JupyterLab refuses "autorestarting")
            await client.status("restarting")
    assert not [m for c in clients for m in c.seen if m["header"]["msg_type"] == "status" and m["content"]["execution_state"] not in LAB_STATES]
    reply, outputs = await clients[0].run("6 * 7")
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "42"
    reply, outputs = await bystander.run("'unaffected'")
    assert reply["content"]["status"] == "ok"
    assert (await kernel_model(jsl_fetch, kernel_id))["execution_state"] == "idle"


async def test_shutdown_closes_the_websockets(start_kernel, connect, jsl_fetch):
    kernel_id = await start_kernel()
    client = await connect(kernel_id)
    await jsl_fetch("api", "kernels", kernel_id, method="DELETE")
    await client.closed()
    assert client.ws.close_code == 1000
    assert "shut down" in client.ws.close_reason


# -- reconnection and replay ---------------------------------------------------------------------


async def disconnect_during(client: Client, code: str, observer: Client) -> str:
    """Start ``code`` and drop the websocket once it runs; return once the cell
    has finished, as ``observer`` (another client of the kernel) sees it."""
    msg_id = await client.execute(code)
    await client.until(lambda m: m["header"]["msg_type"] == "execute_input" and m["parent_header"]["msg_id"] == msg_id)
    client.ws.close()
    await observer.until(lambda m: is_idle_after(m, msg_id))
    return msg_id


async def kept_for(serverapp: Any, kernel_id: str, session_id: str) -> Any:
    """The server-side channels of a dropped session, once they hold output for it."""
    channels = serverapp.kernel_websocket_manager._sessions[kernel_id][session_id]
    await wait_for(lambda: channels.client is None and len(channels.replay) > 0, "output kept for the dropped client")
    return channels


@pytest.mark.parametrize("first, second", [("", ""), ("", V1), (V1, "")])
async def test_reconnect_with_same_session_replays_missed_output(start_kernel, connect, jsl_serverapp, first, second):
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    client, observer = await connect(kernel_id, first, session_id), await connect(kernel_id)
    code = "import time; time.sleep(0.5); print('while you were away'); 'done'"
    msg_id = await disconnect_during(client, code, observer)
    await kept_for(jsl_serverapp, kernel_id, session_id)

    back = await connect(kernel_id, second, session_id)
    await back.first(lambda m: is_idle_after(m, msg_id))
    mine = [m for m in back.seen if m["parent_header"].get("msg_id") == msg_id]
    assert [m["content"]["text"] for m in of_type(mine, "stream")] == ["while you were away\n"]
    assert [m["content"]["data"]["text/plain"] for m in of_type(mine, "execute_result")] == ["'done'"]
    reply = await back.first(lambda m: m["channel"] == "shell" and m["parent_header"].get("msg_id") == msg_id)
    assert reply["content"]["status"] == "ok"
    reply, outputs = await back.run("'live again'")  # and live traffic follows
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "'live again'"


async def test_another_session_gets_no_replay(start_kernel, connect, jsl_serverapp):
    kernel_id = await start_kernel()
    client, observer = await connect(kernel_id), await connect(kernel_id)
    msg_id = await disconnect_during(client, "import time; time.sleep(0.3); print('private')", observer)
    stranger = await connect(kernel_id)
    reply, _ = await stranger.run("'fresh'")
    assert reply["content"]["status"] == "ok"
    assert not [m for m in stranger.seen if m["parent_header"].get("msg_id") == msg_id]


@pytest.fixture
def small_replay(jsl_server_config):
    jsl_server_config["KernelWebsocketManager"] = {"replay_buffer_bytes": 20_000, "replay_buffer_seconds": 60}
    return jsl_server_config


async def test_replay_buffer_is_bounded_and_warns_once(small_replay, start_kernel, connect, jsl_serverapp, jsl_expect_log):
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    client, observer = await connect(kernel_id, "", session_id), await connect(kernel_id)
    code = "import time\nfor i in range(200):\n    print(f'line {i:03d} ' + 'x' * 500, flush=True); time.sleep(0.001)\nprint('last')"
    with jsl_expect_log(r"Replay buffer of kernel .* passed 20000 bytes", logging.WARNING) as warnings:
        msg_id = await disconnect_during(client, code, observer)
        channels = await kept_for(jsl_serverapp, kernel_id, session_id)
        await wait_for(lambda: warnings, "the overflow warning")
    assert channels.replay.nbytes <= 20_000
    assert len(warnings) == 1

    back = await connect(kernel_id, "", session_id)
    await back.first(lambda m: is_idle_after(m, msg_id))
    texts = "".join(m["content"]["text"] for m in of_type(back.seen, "stream"))
    assert texts.endswith("last\n")  # the newest messages are kept...
    assert "line 000" not in texts  # ...the oldest were dropped


async def test_unclaimed_session_is_closed_after_the_age_limit(start_kernel, connect, jsl_serverapp):
    jsl_serverapp.kernel_websocket_manager.replay_buffer_seconds = 0.2
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    client, observer = await connect(kernel_id, "", session_id), await connect(kernel_id)
    msg_id = await disconnect_during(client, "print('lost')", observer)
    sessions = jsl_serverapp.kernel_websocket_manager._sessions[kernel_id]
    await wait_for(lambda: session_id not in sessions, "the unclaimed session to close")
    back = await connect(kernel_id, "", session_id)
    reply, _ = await back.run("'new channels'")
    assert reply["content"]["status"] == "ok"
    assert not [m for m in back.seen if m["parent_header"].get("msg_id") == msg_id]


async def test_a_second_connection_with_the_same_session_replaces_the_first(start_kernel, connect):
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    stale = await connect(kernel_id, "", session_id)
    fresh = await connect(kernel_id, V1, session_id)
    await stale.closed()
    assert stale.ws.close_code == 1000
    reply, outputs = await fresh.run("'mine'")
    assert of_type(outputs, "execute_result")[0]["content"]["data"]["text/plain"] == "'mine'"


# -- bad input ---------------------------------------------------------------------------


async def test_bad_frames_are_logged_and_ignored(start_kernel, connect, jsl_expect_log):
    kernel_id = await start_kernel()
    client = await connect(kernel_id)
    v1 = await connect(kernel_id, V1)
    header = client.session.msg_header("kernel_info_request")
    cases = [
        (client, "{not json", "frame is not valid JSON"),
        (client, json.dumps({"channel": "nope", "header": header}, default=json_default), "unknown channel 'nope'"),
        (client, json.dumps({"channel": "shell", "content": {}}), "message has no header"),
        (client, json.dumps({"header": header}, default=json_default), "names no channel"),
        (client, b"\x00\x00\x00\x05\x00\x00\x00\x18", "malformed binary frame"),
        (v1, b"\x07" + b"\x00" * 20, "malformed v1 frame"),
        (v1, "text on v1", "must be binary"),
    ]
    for target, frame, problem in cases:
        with jsl_expect_log(f"websocket .*message ignored: .*{problem}", logging.WARNING) as hits:
            await target.ws.write_message(frame, binary=isinstance(frame, bytes))
            reply, _ = await target.run("'ok'")  # the same connection still works
            assert reply["content"]["status"] == "ok"
        assert len(hits) == 1


# -- the handshake: auth, origin, host, unknown kernel -------------------------------------------


async def test_unknown_kernel_is_a_json_404(jsl_ws_connect, jsl_expect_log):
    with jsl_expect_log("404 GET .*/channels"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "kernels", "no-such-kernel", "channels")
    assert err.value.code == 404
    assert json.loads(err.value.response.body)["message"] == "Kernel does not exist: no-such-kernel"


async def test_token_is_required(start_kernel, jsl_ws_connect, jsl_expect_log):
    kernel_id = await start_kernel()
    with jsl_expect_log("403 GET .*/channels"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "kernels", kernel_id, "channels", authenticated=False)
    assert err.value.code == 403


async def test_token_in_the_url_is_accepted(start_kernel, jsl_ws_connect, jsl_serverapp):
    kernel_id = await start_kernel()
    ws = await jsl_ws_connect(
        "api", "kernels", kernel_id, "channels", authenticated=False, params={"token": jsl_serverapp.identity_provider.token}
    )
    client = Client(ws)
    reply, _ = await client.run("1")
    assert reply["content"]["status"] == "ok"


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Host": "evil.example"}])
async def test_foreign_origin_and_host_are_refused(start_kernel, jsl_ws_connect, jsl_expect_log, headers):
    kernel_id = await start_kernel()
    with jsl_expect_log("403 GET .*/channels"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "kernels", kernel_id, "channels", headers=headers)
    assert err.value.code == 403


@pytest.fixture
def fast_pings(jsl_server_config):
    jsl_server_config["KernelWebsocketManager"] = {"ping_interval": 0.5}
    return jsl_server_config


async def test_silent_client_is_dropped_and_live_one_kept(fast_pings, start_kernel, connect, jsl_fetch, jsl_serverapp):
    kernel_id = await start_kernel()
    live = await connect(kernel_id)
    # tornado's client answers pings only while its messages are being read.
    reading = asyncio.ensure_future(live.until(lambda m: False, timeout=3 * TIMEOUT))
    # A client that completes the handshake and then never answers a ping.
    path = f"{jsl_serverapp.base_url}api/kernels/{kernel_id}/channels?session_id=silent"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{jsl_serverapp.actual_port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: token {jsl_serverapp.identity_provider.token}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", jsl_serverapp.actual_port)
    try:
        writer.write(request.encode())
        status_line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        assert b" 101 " in status_line

        async def connections(n):
            return (await kernel_model(jsl_fetch, kernel_id))["connections"] == n

        await wait_for(lambda: connections(2), "both connections to count")
        await wait_for(lambda: connections(1), "the silent client to be dropped")
    finally:
        writer.close()
        reading.cancel()
    reply, _ = await live.run("'pinged and alive'")  # the tornado client answers pings
    assert reply["content"]["status"] == "ok"
