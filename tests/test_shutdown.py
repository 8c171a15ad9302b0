"""Stopping a server leaves no kernel behind; an idle server stops by itself.

Only processes this test started are looked at: the kernels' pids come from
the kernel manager, or are the children of a server subprocess we launched.
"""

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import process_running, wait_for
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from jupyter_server_lite.lifecycle import serve_until_stopped


def children_of(parent: int) -> set[int]:
    """Pids whose parent is ``parent`` (a server subprocess this test started)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.add(int(entry.name))
    return found


async def test_stop_server_shuts_down_every_kernel(jsl_fetch, jsl_serverapp, jsl_dirs):
    km = jsl_serverapp.kernel_manager
    ids = [json.loads((await jsl_fetch("api", "kernels", method="POST")).body)["id"] for _ in range(2)]
    await wait_for(lambda: all(km.kernel_model(kid)["execution_state"] == "idle" for kid in ids))
    busy = km.get_kernel(ids[0])  # one kernel is in the middle of a long cell
    shell = busy.connect_shell()
    busy.session.send(
        shell,
        "execute_request",
        content={
            "code": "import time; time.sleep(60)",
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    )
    await wait_for(lambda: km.kernel_model(ids[0])["execution_state"] == "busy")
    pids = [km.get_kernel(kid).provisioner.pid for kid in ids]
    assert all(process_running(pid) for pid in pids)

    await jsl_serverapp.stop_server()
    shell.close()
    assert not [pid for pid in pids if process_running(pid)]
    assert len(km) == 0
    assert not list(jsl_dirs.runtime.glob("kernel-*.json"))  # connection files removed too


async def test_kernel_starting_during_stop_is_shut_down(jsl_serverapp, monkeypatch):
    km = jsl_serverapp.kernel_manager
    launched = []
    pre_start = km.pre_start_kernel

    def recording(kernel_name, kwargs):  # the kernel never answers before the stop: no hook sees it
        started = pre_start(kernel_name, kwargs)
        launched.append(started[0])
        return started

    monkeypatch.setattr(km, "pre_start_kernel", recording)
    starting = asyncio.ensure_future(km.start_kernel())
    await wait_for(lambda: launched and launched[0].has_kernel, interval=0.01)  # its process runs
    await jsl_serverapp.stop_server()
    await asyncio.gather(starting, return_exceptions=True)
    pid = launched[0].provisioner.pid
    assert pid and not process_running(pid)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_server_and_its_kernels(jsl_dirs, signum):
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server_lite",
            "--no-browser",
            "--port=0",
            "--ip=127.0.0.1",
            f"--ServerApp.root_dir={jsl_dirs.root}",
            "--IdentityProvider.token=shutdown-test",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_for(
            lambda: list(jsl_dirs.runtime.glob(f"jsl-server-{server.pid}*.json")) or server.poll() is not None
        )
        assert server.poll() is None, server.stderr.read().decode()
        info = json.loads(next(jsl_dirs.runtime.glob(f"jsl-server-{server.pid}*.json")).read_text())
        client = AsyncHTTPClient()
        headers = {"Authorization": "token shutdown-test"}
        for _ in range(2):
            await client.fetch(HTTPRequest(info["url"] + "api/kernels", method="POST", body="{}", headers=headers))
        kernels = children_of(server.pid)
        assert len(kernels) == 2

        async def all_idle():
            r = await client.fetch(HTTPRequest(info["url"] + "api/kernels", headers=headers))
            return all(k["execution_state"] == "idle" for k in json.loads(r.body))

        await wait_for(all_idle)

        server.send_signal(signum)
        await wait_for(lambda: server.poll() is not None)
        assert server.returncode == 0, server.stderr.read().decode()
        assert not [pid for pid in kernels if process_running(pid)]
        assert not list(jsl_dirs.runtime.glob(f"jsl-server-{server.pid}*.json"))
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=30)
        server.stderr.close()


def test_idle_server_stops_by_itself(jsl_server_factory, io_loop, jsl_dirs):
    app = jsl_server_factory(config={"ServerApp": {"shutdown_no_activity_timeout": 1}}, start=False)
    started = time.monotonic()
    io_loop.run_sync(lambda: serve_until_stopped(app), timeout=60)  # the command line's loop returns once idle
    assert time.monotonic() - started >= 1
    assert not app.started
    assert not list(jsl_dirs.runtime.glob("jsl-server-*.json"))


async def test_idle_check_waits_for_kernels_and_connections(jsl_fetch, jsl_serverapp):
    app = jsl_serverapp
    app.shutdown_no_activity_timeout = 1
    kid = json.loads((await jsl_fetch("api", "kernels", method="POST")).body)["id"]
    app.activity.last_activity = app.activity.started.replace(year=2000)
    assert not app._serving.is_idle()  # a kernel is running
    await jsl_fetch("api", "kernels", kid, method="DELETE")
    app.kernel_manager.connection_opened(kid)
    app.activity.last_activity = app.activity.started.replace(year=2000)
    assert not app._serving.is_idle()  # a client is still connected
    app.kernel_manager.connection_closed(kid)
    assert app._serving.is_idle()
