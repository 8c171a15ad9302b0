"""/api/kernels with real ipykernel kernels: lifecycle, state, errors, restarts, culling."""

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from support import process_running, wait_for
from tornado.httpclient import HTTPClientError
from traitlets import TraitError
from traitlets.config import Config

from jupyter_server_lite.activity import utcnow
from jupyter_server_lite.extension.hooks import hookimpl
from jupyter_server_lite.serverapp import ServerApp
from jupyter_server_lite.web.handlers import url_path_join


async def start_kernel(fetch, **body):
    r = await fetch("api", "kernels", method="POST", body=body)
    assert r.code == 201
    return json.loads(r.body)


async def wait_idle(app, kernel_id):
    km = app.kernel_manager
    await wait_for(lambda: km.kernel_model(kernel_id)["execution_state"] == "idle")


async def json_error(fetch, *parts, status, **kwargs):
    """Fetch expecting an error; return the JSON body after checking the status."""
    with pytest.raises(HTTPClientError) as err:
        await fetch(*parts, **kwargs)
    assert err.value.code == status, err.value.response.body
    body = json.loads(err.value.response.body)
    assert set(body) >= {"message", "reason"}
    return body


async def test_start_list_get_delete(jsl_fetch, jsl_serverapp, jsl_expect_log):
    model = await start_kernel(jsl_fetch, name="python3")
    kid = model["id"]
    assert model["name"] == "python3" and model["connections"] == 0
    assert model["last_activity"].endswith("Z")
    listed = json.loads((await jsl_fetch("api", "kernels")).body)
    assert [k["id"] for k in listed] == [kid]
    assert json.loads((await jsl_fetch("api", "kernels", kid)).body)["id"] == kid
    r = await jsl_fetch("api", "kernels", kid, method="DELETE")
    assert r.code == 204 and r.body == b""
    assert json.loads((await jsl_fetch("api", "kernels")).body) == []
    with jsl_expect_log("404 GET"):
        await json_error(jsl_fetch, "api", "kernels", kid, status=404)


async def test_location_header_and_default_name(jsl_fetch, jsl_serverapp):
    r = await jsl_fetch("api", "kernels", method="POST")  # empty body: the default kernel
    model = json.loads(r.body)
    assert model["name"] == "python3"
    assert r.headers["Location"] == url_path_join(jsl_serverapp.base_url, "api", "kernels", model["id"])


async def test_state_reaches_idle_without_a_client(jsl_fetch, jsl_serverapp):
    kid = (await start_kernel(jsl_fetch))["id"]
    await wait_for(async_state(jsl_fetch, kid, "idle"))


def async_state(fetch, kid, state):
    async def check():
        return json.loads((await fetch("api", "kernels", kid)).body)["execution_state"] == state

    return check


async def test_kernel_runs_in_root_dir_path(jsl_fetch, jsl_serverapp, jsl_dirs, jsl_expect_log):
    (jsl_dirs.root / "sub" / "deeper").mkdir(parents=True)
    kid = (await start_kernel(jsl_fetch, path="sub/deeper/notebook.ipynb"))["id"]
    pid = jsl_serverapp.kernel_manager.get_kernel(kid).provisioner.pid
    assert os.readlink(f"/proc/{pid}/cwd") == str(jsl_dirs.root / "sub" / "deeper")
    with jsl_expect_log("400 POST"):
        body = await json_error(jsl_fetch, "api", "kernels", method="POST", body={"path": "../outside"}, status=400)
    assert "outside" in body["message"]


async def test_interrupt_and_restart(jsl_fetch, jsl_serverapp):
    km = jsl_serverapp.kernel_manager
    events = []
    km.add_kernel_listener(lambda event, kernel_id: events.append((event, kernel_id)))
    kid = (await start_kernel(jsl_fetch))["id"]
    await wait_for(lambda: events == [("started", kid)])  # it answered (idle on iopub may come first)
    r = await jsl_fetch("api", "kernels", kid, "interrupt", method="POST")
    assert r.code == 204
    old_pid = km.get_kernel(kid).provisioner.pid
    r = await jsl_fetch("api", "kernels", kid, "restart", method="POST")
    assert r.code == 200
    model = json.loads(r.body)
    assert model["id"] == kid and model["execution_state"] == "idle"
    assert km.get_kernel(kid).provisioner.pid != old_pid
    assert events == [("started", kid), ("restarting", kid), ("restarted", kid)]


async def test_restart_right_after_start(jsl_fetch, jsl_serverapp):
    events = []
    jsl_serverapp.kernel_manager.add_kernel_listener(lambda event, kernel_id: events.append((event, kernel_id)))
    kid = (await start_kernel(jsl_fetch))["id"]  # its readiness probe is still waiting
    unanswered = not events
    r = await jsl_fetch("api", "kernels", kid, "restart", method="POST")
    assert json.loads(r.body)["execution_state"] == "idle"
    if unanswered:  # restarted before its first answer: the new process's answer is its start
        assert events == [("restarting", kid), ("started", kid)]
    else:
        assert events == [("started", kid), ("restarting", kid), ("restarted", kid)]
    await jsl_fetch("api", "kernels", kid, method="DELETE")
    assert events[-1] == ("shutdown", kid)
    assert kid not in jsl_serverapp.kernel_manager._unannounced


def kernel_processes(kernel_id):
    """Pids of live processes started for ``kernel_id`` (its connection file is in their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"kernel-{kernel_id}.json".encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if process_running(pid)]


async def test_delete_during_restart_leaves_no_process(jsl_fetch, jsl_serverapp):
    kid = (await start_kernel(jsl_fetch))["id"]
    await wait_idle(jsl_serverapp, kid)
    restart = asyncio.ensure_future(jsl_fetch("api", "kernels", kid, "restart", method="POST", raise_error=False))
    await wait_for(lambda: jsl_serverapp.kernel_manager.get_kernel(kid).restart_done is not None, interval=0.01)
    r = await jsl_fetch("api", "kernels", kid, method="DELETE")
    assert r.code == 204
    assert (await restart).code in (200, 404)
    assert kid not in jsl_serverapp.kernel_manager
    assert kernel_processes(kid) == []


async def test_unknown_and_malformed_ids_are_json_404(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("404"):
        for kid in ("00000000-0000-0000-0000-000000000000", "not-a-kernel-id", "%2E%2E"):
            for parts, method in (
                ((kid,), "GET"),
                ((kid,), "DELETE"),
                ((kid, "interrupt"), "POST"),
                ((kid, "restart"), "POST"),
            ):
                body = await json_error(jsl_fetch, "api", "kernels", *parts, method=method, status=404)
                assert body["message"].startswith("Kernel does not exist")


async def test_unknown_kernel_name_names_the_available_ones(jsl_fetch, jsl_expect_log):
    with jsl_expect_log("400 POST"):
        body = await json_error(jsl_fetch, "api", "kernels", method="POST", body={"name": "klingon"}, status=400)
    assert "klingon" in body["message"] and "python3" in body["message"]


@pytest.mark.parametrize(
    "body, words",
    [
        ("{not json", ["not valid JSON"]),
        ("[1, 2]", ["JSON object"]),
        ({"name": 5}, ["'name'", "string"]),
        ({"name": "python3", "path": ["a"]}, ["'path'", "string"]),
    ],
)
async def test_malformed_bodies_are_400(jsl_fetch, jsl_expect_log, body, words):
    with jsl_expect_log("400 POST"):
        message = (await json_error(jsl_fetch, "api", "kernels", method="POST", body=body, status=400))["message"]
    assert all(word in message for word in words), message


async def test_kernel_that_cannot_start_is_a_clear_json_error(jsl_fetch, jsl_dirs, jsl_expect_log):
    folder = jsl_dirs.data / "kernels" / "broken"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(
        json.dumps(
            {"argv": ["/nonexistent/kernel-binary", "{connection_file}"], "display_name": "Broken", "language": "x"}
        )
    )
    with (
        jsl_expect_log(r"^\[Errno 2\] No such file", logging.ERROR),
        jsl_expect_log("500 POST .*failed to start", logging.ERROR),
    ):
        body = await json_error(jsl_fetch, "api", "kernels", method="POST", body={"name": "broken"}, status=500)
    assert "broken" in body["message"] and "failed to start" in body["message"]
    assert "Traceback" not in json.dumps(body)
    assert json.loads((await jsl_fetch("api", "kernels")).body) == []  # and the server still serves
    assert not list(jsl_dirs.runtime.glob("kernel-*.json"))  # no connection file (with its key) left behind


@pytest.mark.parametrize("jsl_server_config", [{"KernelRestarter": {"stable_start_time": 3600}}])  # still "starting"
async def test_crashed_kernel_is_restarted_while_api_keeps_serving(jsl_fetch, jsl_serverapp, jsl_expect_log):
    km = jsl_serverapp.kernel_manager
    events = []
    km.add_kernel_listener(lambda event, kernel_id: events.append((event, kernel_id)))
    victim = (await start_kernel(jsl_fetch))["id"]
    bystander = (await start_kernel(jsl_fetch))["id"]
    await wait_idle(jsl_serverapp, victim)
    await wait_idle(jsl_serverapp, bystander)
    victim_pid = km.get_kernel(victim).provisioner.pid
    bystander_pid = km.get_kernel(bystander).provisioner.pid

    kernel = km.get_kernel(victim)
    shell = kernel.connect_shell()
    content = {
        "code": "import os; os._exit(1)",
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    old_ports = kernel.get_connection_info()
    with jsl_expect_log(f"Kernel {victim} .*died unexpectedly"):
        kernel.session.send(shell, "execute_request", content=content)
        await wait_for(lambda: not process_running(victim_pid))
        # Another process takes the dead kernel's port: a kernel that died while
        # starting is restarted on new ports, so this must not stop it.
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the closed connections' TIME_WAIT
        squatter.bind((old_ports["ip"], old_ports["shell_port"]))
        squatter.listen()
        await wait_for(lambda: ("autorestarting", victim) in events)
        listed = json.loads((await jsl_fetch("api", "kernels")).body)  # the API answers meanwhile
        assert {k["id"] for k in listed} == {victim, bystander}
        await wait_for(lambda: ("restarted", victim) in events)
    shell.close()
    squatter.close()
    assert km.get_kernel(victim).get_connection_info()["shell_port"] != old_ports["shell_port"]
    assert km.get_kernel(victim).provisioner.pid != victim_pid
    await wait_for(async_state(jsl_fetch, victim, "idle"))
    assert km.get_kernel(bystander).provisioner.pid == bystander_pid
    assert json.loads((await jsl_fetch("api", "kernels", bystander)).body)["execution_state"] == "idle"


@pytest.mark.parametrize(
    "jsl_server_config", [{"MappingKernelManager": {"cull_idle_timeout": 1, "cull_interval": 0.5}}]
)
async def test_culling_removes_an_idle_kernel(jsl_fetch, jsl_serverapp):
    stopped = []

    class Recorder:
        @hookimpl
        def kernel_stopped(self, kernel_id, kernel_name):
            stopped.append((kernel_id, kernel_name))

    jsl_serverapp.hooks.register(Recorder(), "recorder")
    kid = (await start_kernel(jsl_fetch))["id"]

    async def gone():
        return json.loads((await jsl_fetch("api", "kernels")).body) == []

    await wait_for(gone, timeout=60, interval=0.25)
    assert stopped == [(kid, "python3")]


async def test_culling_spares_connected_and_busy_kernels(jsl_fetch, jsl_serverapp):
    km = jsl_serverapp.kernel_manager
    km.cull_idle_timeout = 10
    kid = (await start_kernel(jsl_fetch))["id"]
    await wait_idle(jsl_serverapp, kid)
    kernel = km.get_kernel(kid)
    kernel.last_activity = utcnow() - timedelta(seconds=60)
    km.connection_opened(kid)
    await km.cull_kernels()
    assert kid in km
    km.connection_closed(kid)
    kernel.execution_state = "busy"
    await km.cull_kernels()
    assert kid in km
    kernel.execution_state = "idle"
    await km.cull_kernels()
    assert kid not in km


async def test_status_counts_kernels_and_connections(jsl_fetch, jsl_serverapp):
    kid = (await start_kernel(jsl_fetch))["id"]
    jsl_serverapp.kernel_manager.connection_opened(kid)
    status = json.loads((await jsl_fetch("api", "status")).body)
    assert status["kernels"] == 1 and status["connections"] == 1
    assert json.loads((await jsl_fetch("api", "kernels", kid)).body)["connections"] == 1
    jsl_serverapp.kernel_manager.connection_closed(kid)
    await jsl_fetch("api", "kernels", kid, method="DELETE")
    status = json.loads((await jsl_fetch("api", "status")).body)
    assert status["kernels"] == 0 and status["connections"] == 0


async def test_polling_does_not_count_as_activity(jsl_fetch, jsl_serverapp):
    kid = (await start_kernel(jsl_fetch))["id"]
    await wait_idle(jsl_serverapp, kid)

    async def status():
        return json.loads((await jsl_fetch("api", "status")).body)["last_activity"]

    async def quiet():  # the kernel's last iopub messages have arrived
        before = await status()
        await asyncio.sleep(0.5)
        return before == await status()

    await wait_for(quiet, timeout=30)
    before_server = await status()
    before_kernel = json.loads((await jsl_fetch("api", "kernels", kid)).body)["last_activity"]
    for _ in range(5):
        await jsl_fetch("api", "kernels")
        await jsl_fetch("api", "kernels", kid)
    assert await status() == before_server
    assert json.loads((await jsl_fetch("api", "kernels", kid)).body)["last_activity"] == before_kernel
    await jsl_fetch("api", "kernels", kid, "interrupt", method="POST")
    assert await status() > before_server


async def test_start_and_stop_hooks(jsl_fetch, jsl_serverapp):
    """kernel_started fires once the kernel answers (its state has left "starting"),
    after the POST has answered; kernel_stopped pairs with it."""
    calls = []
    km = jsl_serverapp.kernel_manager

    class Recorder:
        @hookimpl
        def kernel_started(self, kernel_id, kernel_name):
            calls.append(("started", kernel_id, kernel_name, km.kernel_model(kernel_id)["execution_state"]))

        @hookimpl
        def kernel_stopped(self, kernel_id, kernel_name):
            calls.append(("stopped", kernel_id, kernel_name, kernel_id in km))

    jsl_serverapp.hooks.register(Recorder(), "recorder")
    model = await start_kernel(jsl_fetch)
    kid = model["id"]
    assert model["execution_state"] == "starting" and calls == [], "a fresh kernel has not answered yet"
    await wait_for(lambda: calls)
    await jsl_fetch("api", "kernels", kid, method="DELETE")
    assert calls == [("started", kid, "python3", "idle"), ("stopped", kid, "python3", False)]


@pytest.mark.parametrize("jsl_server_config", [{"KernelManager": {"shutdown_wait_time": 0.5}}])
async def test_a_kernel_that_never_answers_gets_no_hooks(jsl_fetch, jsl_serverapp, jsl_dirs):
    folder = jsl_dirs.data / "kernels" / "mute"
    folder.mkdir(parents=True)
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "{connection_file}"]
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Mute", "language": "python"}))
    calls = []

    class Recorder:
        @hookimpl
        def kernel_started(self, kernel_id):
            calls.append(("started", kernel_id))

        @hookimpl
        def kernel_stopped(self, kernel_id):
            calls.append(("stopped", kernel_id))

    jsl_serverapp.hooks.register(Recorder(), "recorder")
    kid = (await start_kernel(jsl_fetch, name="mute"))["id"]
    pid = jsl_serverapp.kernel_manager.get_kernel(kid).provisioner.pid
    await asyncio.sleep(0.5)
    assert jsl_serverapp.kernel_manager.kernel_model(kid)["execution_state"] == "starting"
    await jsl_fetch("api", "kernels", kid, method="DELETE")
    assert calls == [] and not process_running(pid)


def test_bad_manager_class_fails_the_start_naming_it(jsl_dirs):
    with pytest.raises(TraitError, match=r"kernel_manager_class.*'nope\.Missing'"):
        ServerApp(config=Config({"ServerApp": {"kernel_manager_class": "nope.Missing"}}))
    (jsl_dirs.user / "jupyter_server_lite_config.json").write_text(
        json.dumps({"ServerApp": {"kernel_spec_manager_class": "nope.Other"}})
    )
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_server_lite", "--no-browser", "--port=0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    assert proc.returncode == 1
    assert "kernel_spec_manager_class" in proc.stderr and "'nope.Other'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_kernel_setting_is_documented():
    from jupyter_server_lite.services.kernels.manager import MappingKernelManager
    from jupyter_server_lite.services.kernelspecs.manager import KernelSpecManager

    doc = (Path(__file__).parent.parent / "docs" / "kernels.md").read_text()
    owned = [(MappingKernelManager, name) for name in MappingKernelManager.class_own_traits(config=True)]
    owned += [(KernelSpecManager, name) for name in KernelSpecManager.class_own_traits(config=True)]
    owned += [
        (ServerApp, name)
        for name in ("kernel_manager_class", "kernel_spec_manager_class", "shutdown_no_activity_timeout")
    ]
    missing = [f"{cls.__name__}.{name}" for cls, name in owned if f"`{cls.__name__}.{name}`" not in doc]
    assert not missing, f"docs/kernels.md does not document {missing}"
    assert all(cls.class_traits()[name].help for cls, name in owned)


@pytest.mark.parametrize("jsl_server_config", [{"KernelRestarter": {"time_to_dead": 0.2, "restart_limit": 1}}])
async def test_kernel_that_keeps_dying_is_reported_dead_and_removed(jsl_fetch, jsl_serverapp, jsl_dirs, jsl_expect_log):
    folder = jsl_dirs.data / "kernels" / "doomed"
    folder.mkdir(parents=True)
    argv = [sys.executable, "-c", "import sys; sys.exit(3)", "{connection_file}"]
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Doomed", "language": "python"}))
    events = []
    jsl_serverapp.kernel_manager.add_kernel_listener(lambda event, kernel_id: events.append(event))
    with (
        jsl_expect_log("died unexpectedly"),
        jsl_expect_log("restart failed"),
        jsl_expect_log("could not be restarted", logging.ERROR),
    ):
        kid = (await start_kernel(jsl_fetch, name="doomed"))["id"]
        await wait_for(lambda: "shutdown" in events)
    assert events == ["autorestarting", "dead", "shutdown"]
    assert kid not in jsl_serverapp.kernel_manager
    assert json.loads((await jsl_fetch("api", "kernels")).body) == []
