"""The kernel websocket (services/kernels/websocket.py) with real ipykernel kernels:
both protocols, several clients, bad input, the handshake's checks, pings."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import socket
import struct
import uuid
from pathlib import Path

import pytest
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from kernel_ws_client import TIMEOUT, V1, Client, connect, is_idle_after, kernel_model, of_type, start_kernel, wait_for
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_server_lite.services.kernels.channels import MAX_ABSENT

__all__ = ["connect", "start_kernel"]  # fixtures, imported to be found by pytest


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


@pytest.mark.parametrize("protocol", ["", V1])
async def test_output_that_is_not_utf8_arrives_replaced(start_kernel, connect, protocol):
    client = await connect(await start_kernel(), protocol)
    code = "import sys; sys.stdout.write(b'ok \\xff'.decode('utf-8', 'surrogateescape')); sys.stdout.flush()"
    reply, outputs = await client.run(code)
    assert [m["content"]["text"] for m in of_type(outputs, "stream")] == ["ok \ufffd"]
    reply, outputs = await client.run("'connection still open'")
    assert reply["content"]["status"] == "ok"


async def test_json_protocol_messages_carry_jupyter_server_fields(start_kernel, connect):
    client = await connect(await start_kernel())
    msg_id = await client.send("kernel_info_request", {})
    reply = await client.reply_to(msg_id)
    assert reply["msg_type"] == reply["header"]["msg_type"] == "kernel_info_reply"
    assert reply["msg_id"] == reply["header"]["msg_id"]
    assert reply["channel"] == "shell" and reply["buffers"] == []
    assert reply["content"]["implementation"] == "ipython"
    # iopub and shell are separate channels: the idle may have come before the reply
    idle = await client.first(lambda m: is_idle_after(m, msg_id))
    assert idle["channel"] == "iopub" and idle["msg_type"] == "status"


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
            lambda m, msg_id=msg_id: (
                m["header"]["msg_type"] == "comm_msg" and m["parent_header"].get("msg_id") == msg_id
            )
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
    result = await bob.first(
        lambda m: m["header"]["msg_type"] == "execute_result" and "alice 2" in m["content"]["data"]["text/plain"]
    )
    assert result["parent_header"]["msg_id"] == a_ids[2]
    for client in (alice, bob):  # no reply to somebody else's request, ever
        assert {
            m["parent_header"]["msg_id"] for m in client.seen if m["channel"] in ("shell", "control")
        } <= client.sent


async def test_stdin_input_request_goes_to_the_asking_client_only(start_kernel, connect):
    kernel_id = await start_kernel()
    asker, other = await connect(kernel_id, V1), await connect(kernel_id)
    msg_id = await asker.send("execute_request", {"code": "input('name? ')", "silent": False, "allow_stdin": True})
    request = await asker.until(lambda m: m["channel"] == "stdin")
    assert request["header"]["msg_type"] == "input_request" and request["content"]["prompt"] == "name? "
    await asker.send("input_reply", {"value": "Ada"}, channel="stdin")
    await asker.first(lambda m: is_idle_after(m, msg_id))
    results = [m for m in of_type(asker.seen, "execute_result") if m["parent_header"]["msg_id"] == msg_id]
    assert results[0]["content"]["data"]["text/plain"] == "'Ada'"
    await other.until(lambda m: is_idle_after(m, msg_id))
    assert not [m for m in other.seen if m["channel"] == "stdin"]


async def test_server_side_sets_tcp_nodelay(start_kernel, connect, jsl_serverapp):
    """Without it, each small reply waits for a delayed ACK (about 40 ms here instead of 3)."""
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    await connect(kernel_id, "", session_id)
    handler = jsl_serverapp.kernel_websocket_manager.channels[kernel_id].attached[session_id]
    sock = handler.ws_connection.stream.socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


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


async def test_a_second_connection_with_the_same_session_replaces_the_first(start_kernel, connect):
    kernel_id = await start_kernel()
    session_id = uuid.uuid4().hex
    stale = await connect(kernel_id, "", session_id)
    fresh = await connect(kernel_id, V1, session_id)
    await stale.closed()
    assert stale.ws.close_code == 1000
    _reply, outputs = await fresh.run("'mine'")
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
        (client, '{"channel": "shell", "header": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
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


async def test_a_plain_get_is_a_json_400(start_kernel, jsl_fetch, jsl_expect_log):
    kernel_id = await start_kernel()
    with jsl_expect_log("400 GET .*/channels"):
        r = await jsl_fetch("api", "kernels", kernel_id, "channels", raise_error=False)
    assert r.code == 400
    assert "Upgrade: websocket" in json.loads(r.body)["message"]


@pytest.mark.parametrize("session_id", ["x" * 201, "two\nlines"])
async def test_a_bad_session_id_is_a_json_400(start_kernel, jsl_ws_connect, jsl_expect_log, session_id):
    kernel_id = await start_kernel()
    with jsl_expect_log("400 GET .*/channels"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "kernels", kernel_id, "channels", params={"session_id": session_id})
    assert err.value.code == 400
    assert "session_id" in json.loads(err.value.response.body)["message"]


async def test_token_is_required(start_kernel, jsl_ws_connect, jsl_expect_log):
    kernel_id = await start_kernel()
    with jsl_expect_log("403 GET .*/channels"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("api", "kernels", kernel_id, "channels", authenticated=False)
    assert err.value.code == 403


async def test_token_in_the_url_is_accepted(start_kernel, jsl_ws_connect, jsl_serverapp):
    kernel_id = await start_kernel()
    ws = await jsl_ws_connect(
        "api",
        "kernels",
        kernel_id,
        "channels",
        authenticated=False,
        params={"token": jsl_serverapp.identity_provider.token},
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


# -- limits: size, reconnections, slow clients --------------------------------------------------


@pytest.mark.parametrize("jsl_server_config", [{"ServerApp": {"websocket_max_message_size": 64 * 1024}}])
async def test_a_frame_over_the_size_limit_closes_with_1009(start_kernel, connect):
    kernel_id = await start_kernel()
    client = await connect(kernel_id)
    msg = client.session.msg("execute_request", content={"code": "x = '" + "y" * 70_000 + "'"})
    await client.ws.write_message(json.dumps({**msg, "channel": "shell"}, default=json_default))
    await client.closed()
    assert client.ws.close_code == 1009
    reply, _ = await (await connect(kernel_id)).run("'the kernel is fine'")
    assert reply["content"]["status"] == "ok"


def test_the_default_size_limit_is_jupyter_servers_10_mib(jsl_serverapp):
    assert jsl_serverapp.web_app.settings["websocket_max_message_size"] == 10 * 1024 * 1024


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    """The resident set size of this process, which hosts the server."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def channels_url(app, kernel_id: str, session_id: str) -> HTTPRequest:
    url = f"ws://127.0.0.1:{app.actual_port}{app.base_url}api/kernels/{kernel_id}/channels?session_id={session_id}"
    return HTTPRequest(url, headers={"Authorization": f"token {app.identity_provider.token}"})


async def test_reconnecting_clients_cost_no_sockets_and_no_memory(start_kernel, connect, jsl_fetch, jsl_serverapp):
    """1,000 connections with fresh session_ids, each asking kernel_info and leaving:
    the server's descriptors and memory stay flat, and the kernel still serves."""
    kernel_id = await start_kernel()
    await connect(kernel_id)  # the kernel is ready
    session = Session()

    async def cycle() -> None:
        ws = await websocket_connect(channels_url(jsl_serverapp, kernel_id, uuid.uuid4().hex))
        msg = session.msg("kernel_info_request")
        await ws.write_message(json.dumps({**msg, "channel": "shell"}, default=json_default))
        while True:
            data = await asyncio.wait_for(ws.read_message(), TIMEOUT)
            assert data is not None, f"closed: {ws.close_code} {ws.close_reason}"
            reply = json.loads(data)
            if reply["channel"] == "shell" and reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]:
                break
        ws.close()
        while await asyncio.wait_for(ws.read_message(), TIMEOUT) is not None:
            pass  # until the server's close frame: the close handshake completes

    async def cycles(count: int, parallel: int = 10) -> None:
        async def worker() -> None:
            for _ in range(count // parallel):
                await cycle()

        await asyncio.gather(*(worker() for _ in range(parallel)))

    async def all_closed():
        return (await kernel_model(jsl_fetch, kernel_id))["connections"] == 1

    await cycles(100)  # warm-up: caches, free lists, the absent sessions' steady state
    await wait_for(all_closed, "the warm-up connections to close")
    gc.collect()
    fds, rss = fd_count(), rss_mib()
    await cycles(1000)
    await wait_for(all_closed, "the connections to close")
    await wait_for(lambda: fd_count() <= fds + 5, f"file descriptors back near {fds} (now {fd_count()})")
    gc.collect()
    assert rss_mib() <= rss + 5, f"RSS grew from {rss:.1f} to {rss_mib():.1f} MiB"
    channels = jsl_serverapp.kernel_websocket_manager.channels[kernel_id]
    assert len(channels.absent) <= MAX_ABSENT and len(channels.replay) < 1000
    assert len(jsl_serverapp.kernel_manager.get_kernel(kernel_id).connection.sockets) == 4
    reply, _ = await (await connect(kernel_id)).run("'still serving'")
    assert reply["content"]["status"] == "ok"


def close_frame_at_end(data: bytes) -> tuple[int, str] | None:
    """The (code, reason) of an unmasked close frame ending ``data``, if one does."""
    for length in range(2, 126):
        start = len(data) - length - 2
        if start >= 0 and data[start] == 0x88 and data[start + 1] == length:
            body = data[start + 2 :]
            return int.from_bytes(body[:2], "big"), body[2:].decode()
    return None


# 100 MB in 20 batches; after each, the kernel waits for the reading client to
# answer an input() request, so that client is never more than a batch behind
# whatever the machine's load (the test's own client shares the server's loop).
SPEW = """\
import sys
chunk = "x" * 1_000_000
for _ in range(20):
    for _ in range(5):
        sys.stdout.write(chunk)
        sys.stdout.flush()
    input()
sys.stdout.write("done\\n")  # one write: print() writes the text and the newline apart (maybe two messages)
sys.stdout.flush()
"""


async def test_a_client_that_stops_reading_is_cut_off_alone_and_resumes(
    start_kernel, connect, jsl_serverapp, jsl_expect_log
):
    """100 MB of output; one client never reads. The server holds at most
    client_backlog_bytes for it, closes it with 1013, keeps feeding the other
    client every message, and the silent one resumes from the replay buffer."""
    kernel_id = await start_kernel()
    reader = await connect(kernel_id, V1)
    channels = jsl_serverapp.kernel_websocket_manager.channels[kernel_id]
    silent_id = uuid.uuid4().hex
    app = jsl_serverapp
    request = (
        f"GET {app.base_url}api/kernels/{kernel_id}/channels?session_id={silent_id} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{app.actual_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: token {app.identity_provider.token}\r\n\r\n"
    )
    silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", app.actual_port)
    silent_writer.write(request.encode())
    assert b" 101 " in await asyncio.wait_for(silent_reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    await wait_for(lambda: silent_id in channels.attached, "the silent client to attach")

    async def close_seen_by_silent_client() -> tuple[int, str]:
        """Once it is cut off, drain its socket (keeping only the tail) until the close frame."""
        await wait_for(lambda: silent_id in channels.absent, "the silent client to be cut off", timeout=120)
        tail = b""
        while (found := close_frame_at_end(tail)) is None:
            chunk = await asyncio.wait_for(silent_reader.read(1 << 20), TIMEOUT)
            assert chunk, "the connection ended without a close frame"
            tail = (tail + chunk)[-300:]
        return found

    peak = rss = rss_mib()

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mib())
            await asyncio.sleep(0.02)

    sampler = asyncio.ensure_future(sample())
    silent_close = asyncio.ensure_future(close_seen_by_silent_client())
    try:
        with (
            jsl_expect_log(r"session .*: the client is more than \d+ bytes behind; closing its websocket \(1013\)"),
            jsl_expect_log(r"Replay buffer of kernel .* passed \d+ bytes while clients are away"),
        ):
            msg_id = await reader.send("execute_request", {"code": SPEW, "silent": False, "allow_stdin": True})
            received, idle = 0, False
            while not idle:
                data = await asyncio.wait_for(reader.ws.read_message(), TIMEOUT)
                assert data is not None, f"the reading client was closed: {reader.ws.close_code}"
                (count,) = struct.unpack_from("<Q", data)
                offsets = struct.unpack_from(f"<{count}Q", data, 8)
                header, parent = (json.loads(data[offsets[i] : offsets[i + 1]]) for i in (1, 2))
                content = data[offsets[4] : offsets[5]]
                if parent.get("msg_id") != msg_id:
                    continue
                if header["msg_type"] == "input_request":
                    await reader.send("input_reply", {"value": ""}, channel="stdin")
                elif header["msg_type"] == "stream":  # counted, not parsed: the reader must keep up
                    received += content.count(b"x") - content.count(b'"text"') + content.count(b"done")
                idle = header["msg_type"] == "status" and json.loads(content)["execution_state"] == "idle"
            code, reason = await silent_close
    finally:
        sampler.cancel()
        silent_close.cancel()
        silent_writer.close()
    assert received == 100 * 1_000_000 + 1, "the reading client got every chunk, and the end"
    assert peak - rss < 100, f"the server grew by {peak - rss:.0f} MiB"
    assert code == 1013 and "reconnect" in reason

    back = await connect(kernel_id, "", silent_id)
    last = await back.first(lambda m: m["header"]["msg_type"] == "stream" and m["content"]["text"].endswith("done\n"))
    assert last["parent_header"]["msg_id"] == msg_id, "the missed output is replayed, newest kept"
