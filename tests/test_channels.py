"""Kernel channels (services/kernels/channels.py) through the websocket, with real
ipykernel kernels: interrupt, restarts, death, shutdown, reconnection and replay."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from kernel_ws_client import (
    LAB_STATES,
    V1,
    Client,
    connect,
    is_idle_after,
    kernel_model,
    of_type,
    start_kernel,
    wait_for,
)

__all__ = ["connect", "start_kernel"]  # fixtures, imported to be found by pytest


async def test_interrupt_stops_a_running_cell(start_kernel, connect, jsl_fetch):
    kernel_id = await start_kernel()
    client = await connect(kernel_id)
    # stop_on_error=False: after an error ipykernel aborts the requests that reach it
    # meanwhile, and the next cell below could be one of them.
    code = "import time; print('sleeping', flush=True); time.sleep(60)"
    msg_id = await client.send("execute_request", {"code": code, "silent": False, "stop_on_error": False})
    await client.until(lambda m: m["header"]["msg_type"] == "stream" and m["parent_header"]["msg_id"] == msg_id)
    # One interrupt, and a patient wait: a retried SIGINT that arrives late
    # would interrupt the next cell instead.
    r = await jsl_fetch("api", "kernels", kernel_id, "interrupt", method="POST")
    assert r.code == 204
    reply = await client.reply_to(msg_id, timeout=30)
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
    _reply, outputs = await clients[1].run("'x' in dir()")
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
    assert not [
        m
        for c in clients
        for m in c.seen
        if m["header"]["msg_type"] == "status" and m["content"]["execution_state"] not in LAB_STATES
    ]
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
    """The kernel's channels, once the dropped session is away and output is kept for it."""
    channels = serverapp.kernel_websocket_manager.channels[kernel_id]
    await wait_for(
        lambda: session_id in channels.absent and len(channels.replay) > 0, "output kept for the dropped client"
    )
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


async def test_replay_buffer_is_bounded_and_warns_once(
    small_replay, start_kernel, connect, jsl_serverapp, jsl_expect_log
):
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
    jsl_serverapp.kernel_websocket_manager.replay_buffer_seconds = 0.5
    expired: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: expired.append(record.getMessage())  # type: ignore[method-assign]  # the records captured as text
    jsl_serverapp.log.addHandler(handler)
    try:
        kernel_id = await start_kernel()
        session_id = uuid.uuid4().hex
        client, observer = await connect(kernel_id, "", session_id), await connect(kernel_id)
        msg_id = await disconnect_during(client, "print('lost')", observer)
        await wait_for(lambda: any(f"session {session_id}: no reconnection" in m for m in expired), "the expiry")
    finally:
        jsl_serverapp.log.removeHandler(handler)
    channels = jsl_serverapp.kernel_websocket_manager.channels[kernel_id]
    assert session_id not in channels.absent and len(channels.replay) == 0, "nobody is away: nothing is kept"
    back = await connect(kernel_id, "", session_id)
    reply, _ = await back.run("'new channels'")
    assert reply["content"]["status"] == "ok"
    assert not [m for m in back.seen if m["parent_header"].get("msg_id") == msg_id]


@pytest.fixture
def no_autorestart(jsl_server_config):
    jsl_server_config["KernelRestarter"] = {"restart_limit": 0}
    return jsl_server_config


async def test_a_kernel_given_up_is_reported_dead_and_its_websockets_closed(
    no_autorestart, start_kernel, connect, jsl_expect_log
):
    kernel_id = await start_kernel()
    clients = [await connect(kernel_id), await connect(kernel_id, V1)]
    with (
        jsl_expect_log(f"Kernel {kernel_id} could not be restarted", logging.ERROR),
        jsl_expect_log("Restarter: restart failed"),
    ):
        await clients[0].execute("import os; os._exit(1)")
        for client in clients:
            await client.status("dead")
            await client.closed()
            assert client.ws.close_code == 1000
