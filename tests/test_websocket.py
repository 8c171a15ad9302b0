"""The kernel websocket (services/kernels/websocket.py) with real ipykernel kernels:
both protocols, several clients, bad input, the handshake's checks, pings."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid

import pytest
from jupyter_client.jsonutil import json_default
from kernel_ws_client import TIMEOUT, V1, Client, connect, is_idle_after, kernel_model, of_type, start_kernel, wait_for
from tornado.httpclient import HTTPClientError

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
