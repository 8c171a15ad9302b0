"""Gateway mode against a real Jupyter Kernel Gateway (tests/gatewayrunner.py), one per module.

The server under test runs in this process with ``GatewayClient.url`` set;
the gateway is a separate process on 127.0.0.1 that launches the kernels.
Checked here: the managers gateway mode selects, kernelspecs and their
files, the kernel REST API, the websocket in both protocols (and through
JupyterLab's own client library), that the kernels run on the gateway, the
environment each start carries, kernels removed on the gateway, a wrong
token, and a websocket to the gateway that drops and comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import pytest
from gatewayrunner import Gateway, parent_pid, start_gateway
from kernel_ws_client import TIMEOUT, V1, Client, connect, is_idle_after, start_kernel, wait_for
from relay import Relay
from test_jupyterlab_services import CLIENT_TIMEOUT, NPM_INSTALL_TIMEOUT, check_client_run, node_client, run_client

from jupyter_server_lite.gateway.managers import GatewayKernelSpecManager, GatewayMappingKernelManager

__all__ = ["connect", "node_client", "start_kernel"]  # fixtures, imported to be found by pytest

pytestmark = pytest.mark.slow  # starts a real Kernel Gateway process (its kernels too) for the module

ALLOWED = "JSL_ALLOWED_VAR"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Gateway:
    gw = start_gateway(tmp_path_factory.mktemp("gateway"), env_whitelist=(ALLOWED,))
    yield gw
    gw.stop()
    assert gw.process.returncode == 0 or gw.process.returncode == -15, gw.log_text()[-2000:]


def gateway_config(gw: Gateway, url: str | None = None, **settings) -> dict:
    return {
        "GatewayClient": {
            "url": url or gw.url,
            "auth_token": gw.token,
            "request_timeout": 60.0,
            "connect_timeout": 10.0,
            "allowed_envs": ALLOWED,
            **settings,
        }
    }


@pytest.fixture
def jsl_server_config(gateway):
    return gateway_config(gateway)


def our_children() -> set[int]:
    """Pids of this (the server's) process' children."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        text = Path(f"/proc/{os.getpid()}/task/{task}/children").read_text()
        found |= {int(pid) for pid in text.split()}
    return found


async def test_gateway_mode_selects_the_gateway_managers(jsl_serverapp, gateway):
    assert type(jsl_serverapp.kernel_manager) is GatewayMappingKernelManager
    assert type(jsl_serverapp.kernel_spec_manager) is GatewayKernelSpecManager
    assert jsl_serverapp.kernel_manager.gateway.url == gateway.url
    assert jsl_serverapp.kernel_manager.gateway is jsl_serverapp.kernel_spec_manager.gateway


async def test_kernelspecs_and_their_files_come_from_the_gateway(jsl_fetch, jsl_serverapp, gateway):
    _, theirs = gateway.api("GET", "/api/kernelspecs")
    ours = json.loads((await jsl_fetch("api", "kernelspecs")).body)
    assert ours["default"] == theirs["default"]
    assert set(ours["kernelspecs"]) == set(theirs["kernelspecs"])
    spec = ours["kernelspecs"]["python3"]
    assert spec["spec"] == theirs["kernelspecs"]["python3"]["spec"]
    logo = spec["resources"]["logo-64x64"]
    assert logo == f"{jsl_serverapp.base_url}kernelspecs/python3/logo-64x64.png", "the file is served here"
    one = json.loads((await jsl_fetch("api", "kernelspecs", "python3")).body)
    assert one == spec

    r = await jsl_fetch("kernelspecs", "python3", "logo-64x64.png")
    assert r.headers["Content-Type"] == "image/png" and r.body.startswith(b"\x89PNG")
    again = await jsl_fetch(
        "kernelspecs", "python3", "logo-64x64.png", headers={"If-None-Match": r.headers["Etag"]}, raise_error=False
    )
    assert again.code == 304


async def test_unknown_kernelspec_and_file_are_json_404s(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"404 GET .*/api/kernelspecs/klingon"):
        r = await jsl_fetch("api", "kernelspecs", "klingon", raise_error=False)
    message = json.loads(r.body)["message"]
    assert r.code == 404 and message.startswith("No kernelspec named 'klingon'; available: ") and "python3" in message
    with jsl_expect_log(r"404 GET .*/kernelspecs/python3/nothing.png"):
        r = await jsl_fetch("kernelspecs", "python3", "nothing.png", raise_error=False)
    assert r.code == 404
    assert json.loads(r.body)["message"] == "No resource 'nothing.png' in kernelspec 'python3' on the gateway"


async def test_kernel_runs_on_the_gateway_with_the_environment_of_the_start(
    jsl_fetch, jsl_serverapp, gateway, connect, monkeypatch
):
    monkeypatch.setenv("KERNEL_JSL_MARK", "sent")
    monkeypatch.setenv(ALLOWED, "allowed too")
    monkeypatch.setenv("JSL_NOT_ALLOWED", "kept here")
    (Path(jsl_serverapp.root_dir) / "work").mkdir()
    r = await jsl_fetch("api", "kernels", method="POST", body={"name": "python3", "path": "work/a.ipynb"})
    assert r.code == 201
    model = json.loads(r.body)
    kid = model["id"]
    assert r.headers["Location"] == f"{jsl_serverapp.base_url}api/kernels/{kid}"
    assert kid in gateway.kernel_ids(), "the gateway's own list has it"

    client = await connect(kid, V1)
    code = (
        "import os, json; print(json.dumps([os.getpid(), os.getppid()] + "
        f"[os.environ.get(k) for k in ('KERNEL_JSL_MARK', '{ALLOWED}', 'JSL_NOT_ALLOWED', 'KERNEL_GATEWAY', "
        "'KERNEL_WORKING_DIR')]))"
    )
    reply, outputs = await client.run(code)
    assert reply["content"]["status"] == "ok"
    pid, ppid, mark, allowed, not_allowed, on_gateway, workdir = json.loads(
        next(m for m in outputs if m["header"]["msg_type"] == "stream")["content"]["text"]
    )
    assert ppid == gateway.process.pid and parent_pid(pid) == gateway.process.pid, "the gateway's child"
    assert pid not in our_children()
    assert (mark, allowed, not_allowed, on_gateway) == ("sent", "allowed too", None, "1")
    assert workdir == str(Path(jsl_serverapp.root_dir) / "work")

    listed = json.loads((await jsl_fetch("api", "kernels")).body)
    assert [(k["id"], k["name"], k["connections"]) for k in listed] == [(kid, "python3", 1)]


async def test_interrupt_restart_delete_and_their_events(jsl_fetch, jsl_serverapp, gateway, start_kernel, connect):
    km = jsl_serverapp.kernel_manager
    events = []
    km.add_kernel_listener(lambda event, kernel_id: events.append(event))
    kid = await start_kernel()
    client = await connect(kid)
    await client.run("x = 6 * 7")
    sleeping = await client.execute("import time; time.sleep(60)")
    await client.until(lambda m: m["header"]["msg_type"] == "execute_input")
    assert (await jsl_fetch("api", "kernels", kid, "interrupt", method="POST")).code == 204
    interrupted = await client.reply_to(sleeping)
    assert interrupted["content"]["status"] == "error" and interrupted["content"]["ename"] == "KeyboardInterrupt"
    r = await jsl_fetch("api", "kernels", kid, "restart", method="POST")
    assert r.code == 200 and json.loads(r.body)["id"] == kid
    _, outputs = await client.run("'x' in globals()")
    result = next(m for m in outputs if m["header"]["msg_type"] == "execute_result")
    assert result["content"]["data"]["text/plain"] == "False", "a new kernel process"
    assert (await jsl_fetch("api", "kernels", kid, method="DELETE")).code == 204
    await client.closed()
    assert client.ws.close_code == 1000
    assert kid not in gateway.kernel_ids() and json.loads((await jsl_fetch("api", "kernels")).body) == []
    assert events == ["started", "restarting", "restarted", "shutdown"]


async def test_sessions_stay_here_and_follow_their_kernel(jsl_fetch, jsl_serverapp, gateway):
    r = await jsl_fetch("api", "sessions", method="POST", body={"path": "n.ipynb", "type": "notebook", "kernel": {}})
    session = json.loads(r.body)
    kid = session["kernel"]["id"]
    assert kid in gateway.kernel_ids() and session["kernel"]["name"] == "python3", "the gateway's default kernel"
    assert [s["id"] for s in json.loads((await jsl_fetch("api", "sessions")).body)] == [session["id"]]
    status, _ = gateway.api("GET", "/api/sessions")
    assert status in (200, 403, 404)  # the gateway's own sessions, if it has any, are not ours
    await jsl_fetch("api", "sessions", session["id"], method="DELETE")
    assert kid not in gateway.kernel_ids()


async def test_a_kernel_deleted_on_the_gateway_leaves_at_the_refresh_with_its_clients_told(
    jsl_fetch, jsl_serverapp, gateway, start_kernel, connect
):
    sessions = jsl_serverapp.session_manager
    kid = await start_kernel()
    await sessions.create_session(path="x.ipynb", type="notebook", kernel_id=kid)
    client = await connect(kid)
    assert gateway.api("DELETE", f"/api/kernels/{kid}")[0] == 204
    dead = await client.status("dead")
    assert dead["channel"] == "iopub"
    await client.closed()
    assert client.ws.close_code == 1000 and "no longer exists on the gateway" in client.ws.close_reason
    assert kid not in jsl_serverapp.kernel_manager and sessions.list_sessions() == []


async def test_a_kernel_removed_on_the_gateway_leaves_at_the_next_refresh(jsl_server_factory, gateway, jsl_fetch):
    app = jsl_server_factory(
        config={**gateway_config(gateway), "GatewayMappingKernelManager": {"refresh_interval": 0.2}}, start=False
    )
    await app.start_server()
    km = app.kernel_manager
    kid = await km.start_kernel()
    assert gateway.api("DELETE", f"/api/kernels/{kid}")[0] == 204
    await wait_for(lambda: kid not in km, "the refresh to drop the kernel")
    assert json.loads((await jsl_fetch("api", "kernels", app=app)).body) == []


@pytest.mark.timeout(CLIENT_TIMEOUT + NPM_INSTALL_TIMEOUT)
@pytest.mark.parametrize("protocol", ["json", "v1"])
async def test_jupyterlab_services_through_the_gateway(node_client, jsl_serverapp, gateway, monkeypatch, protocol):
    """JupyterLab's client, unchanged, passes the same checks as without a gateway, in both protocols."""
    monkeypatch.setenv("JSL_WS_PROTOCOL", protocol)
    seen: set[str] = set()

    async def watch() -> None:
        while True:
            seen.update(await asyncio.to_thread(gateway.kernel_ids))
            await asyncio.sleep(0.2)

    watcher = asyncio.ensure_future(watch())
    try:
        out = await run_client(node_client, jsl_serverapp)
    finally:
        watcher.cancel()
    assert out["ws_protocol"] == ("" if protocol == "json" else V1)
    assert out["default_kernel"] == "python3"
    check_client_run(out)
    started, changed = out["session_started"], out["session_kernel_changed"]
    assert {out["kernel_id"], started["kernel"], changed["kernel"]} <= seen, "every kernel ran on the gateway"
    assert jsl_serverapp.kernel_manager.list_kernels() == [] and gateway.kernel_ids() == set()


async def test_wrong_gateway_token_is_a_json_error_naming_the_refusal(
    jsl_server_factory, gateway, jsl_fetch, jsl_expect_log
):
    app = jsl_server_factory(config=gateway_config(gateway, auth_token="not-the-token"), start=False)
    with jsl_expect_log(r"Kernels run on the gateway, which does not answer yet: .*refused this server's credentials"):
        await app.start_server()
        await wait_for(lambda: not app.kernel_manager._background, "the start-up check")
    for method, parts, body in (("GET", ("api", "kernelspecs"), None), ("POST", ("api", "kernels"), {})):
        with jsl_expect_log(rf"502 {method} .*/api/", logging.ERROR):
            r = await jsl_fetch(*parts, method=method, body=body, app=app, raise_error=False)
        assert r.code == 502
        error = json.loads(r.body)
        assert f"Gateway {gateway.url} refused this server's credentials (401 Unauthorized)" in error["message"]
        assert "GatewayClient.auth_token" in error["message"] and "not-the-token" not in r.body.decode()
    assert (await jsl_fetch("api", "status", app=app)).code == 200, "the rest still serves"


async def test_websocket_to_the_gateway_reconnects_and_keeps_the_session(
    jsl_server_factory, gateway, jsl_ws_connect, jsl_expect_log
):
    """A dropped connection to the gateway is opened again; the client's websocket and
    session stay, a reply that was under way arrives, a message sent meanwhile goes through."""
    relay = await Relay.start("127.0.0.1", gateway.port)
    try:
        app = jsl_server_factory(
            config=gateway_config(gateway, url=relay.url, gateway_retry_interval=0.2, gateway_retry_max=20),
            start=False,
        )
        await app.start_server()
        kid = await app.kernel_manager.start_kernel()
        km = app.kernel_manager.get_kernel(kid)
        ws = await jsl_ws_connect("api", "kernels", kid, "channels", params={"session_id": "s1"}, app=app)
        client = Client(ws)
        msg_id = await client.send("kernel_info_request", {})
        await client.first(lambda m: is_idle_after(m, msg_id))
        dropped = jsl_expect_log(r"websocket to the gateway .*: the connection dropped.*reconnecting")
        refused = jsl_expect_log(r"websocket to the gateway .*: .*Connection refused; reconnecting")
        with dropped, refused:
            slow = await client.execute("import time; time.sleep(1); 'slow'")
            await client.until(lambda m: m["header"]["msg_type"] == "execute_input")
            relay.pause()
            relay.cut()
            await wait_for(lambda: not km.ready_for_clients, "the server to notice the drop")
            fast = await client.execute("'fast'")  # held until the gateway is back
            await asyncio.sleep(0.5)
            await relay.resume()
            replies = {}
            for wanted in (slow, fast):
                replies[wanted] = (await client.reply_to(wanted, timeout=TIMEOUT))["content"]["status"]
        assert replies == {slow: "ok", fast: "ok"}
        results = [
            m["content"]["data"]["text/plain"] for m in client.seen if m["header"]["msg_type"] == "execute_result"
        ]
        assert "'fast'" in results
        assert ws.close_code is None, "the client's websocket stayed open"
        assert relay.connections >= 2
        await app.stop_server()  # while the relay still leads to the gateway
    finally:
        relay.close()


async def test_the_gateway_launches_a_provisioned_kernelspec_unchanged(jsl_fetch, gateway, connect):
    """A kernelspec on the gateway that names a provisioner (the test suite's) runs through it there."""
    from test_kernel_provisioners import launches, provisioned_spec

    record = gateway.folder / "launches.jsonl"
    folder = gateway.folder / "share" / "kernels" / "recorded"
    if not folder.exists():
        provisioned_spec(folder, record)
    specs = json.loads((await jsl_fetch("api", "kernelspecs")).body)["kernelspecs"]
    assert (
        specs["recorded"]["spec"]["metadata"]["kernel_provisioner"]["provisioner_name"] == "jsl-recording-provisioner"
    )
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST", body={"name": "recorded"})).body)["id"]
    client = await connect(kid)
    _, outputs = await client.run("import os; os.environ['JSL_TEST_PROVISIONER']")
    result = next(m for m in outputs if m["header"]["msg_type"] == "execute_result")
    assert result["content"]["data"]["text/plain"] == repr(kid)
    assert kid in [entry["kernel_id"] for entry in launches(record)]
