"""The terminals service (bundled/terminals) with real shells on real ptys.

Every test that starts a shell checks by pid that it is gone afterwards; the
server fixture stops whatever is left, and that is tested too.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import process_running, wait_for
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

from jupyter_server_lite.bundled.terminals.processes import session_members
from jupyter_server_lite.bundled.terminals.ptys import ReplayBuffer
from jupyter_server_lite.bundled.terminals.websocket import HIGH_WATER

TERMINALS = "jupyter_server_lite.bundled.terminals"
#: The answer to ``echo $((6*7))`` on a line of its own (bash may put an escape sequence and
#: a carriage return before it; the echoed command line has no 42).
ANSWER = re.compile(r"[\r\n]42\r?\n")


#: The shell of the test servers: bash without the machine's profile and rc files, so
#: what a test sees does not depend on them (a login shell here runs pyenv's rehash).
SHELL = ["/bin/bash", "--noprofile", "--norc"]


@pytest.fixture
def jsl_server_config():
    return {"TerminalManager": {"shell_command": SHELL}}


async def started(factory, config=None):
    """A second server (the test is async: it starts on the running loop), with :data:`SHELL`."""
    merged = Config({"TerminalManager": {"shell_command": SHELL}})
    merged.merge(Config(config or {}))
    app = factory(config=merged, start=False)
    await app.start_server()
    return app


def manager(app):
    """The server's TerminalManager."""
    return app.extension_manager.get("terminado").apps[0].terminal_manager


async def create(fetch, app=None, **body):
    r = await fetch("api", "terminals", method="POST", body=body, app=app)
    assert r.code == 200, "JupyterLab's client accepts 200 only"
    return json.loads(r.body)


async def json_error(fetch, *parts, status, **kwargs):
    with pytest.raises(HTTPClientError) as err:
        await fetch(*parts, **kwargs)
    assert err.value.code == status, err.value.response.body
    body = json.loads(err.value.response.body)
    assert set(body) == {"message", "reason"}
    return body


class Client:
    """A websocket client of one terminal: sends terminado frames, collects stdout."""

    def __init__(self, conn):
        self.conn = conn
        self.output = ""
        self.frames: list[list] = []

    @classmethod
    async def connect(cls, ws_connect, name: str, **kwargs) -> Client:
        client = cls(await ws_connect("terminals", "websocket", name, **kwargs))
        first = await client.frame()
        assert first == ["setup", {}], "terminado's protocol starts with a setup frame"
        return client

    def send(self, *frame) -> None:
        self.conn.write_message(json.dumps(list(frame)))

    async def frame(self, timeout: float = 30) -> list | None:
        message = await asyncio.wait_for(self.conn.read_message(), timeout)
        if message is None:
            return None
        frame = json.loads(message)
        self.frames.append(frame)
        if frame[0] == "stdout":
            self.output += frame[1]
        return frame

    async def until(self, pattern: str | re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        """Read until the collected output matches ``pattern``."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = asyncio.get_running_loop().time() + timeout
        while (found := regex.search(self.output)) is None:
            left = deadline - asyncio.get_running_loop().time()
            try:
                frame = await self.frame(max(left, 0))
            except asyncio.TimeoutError:
                raise AssertionError(f"no {regex.pattern!r} within {timeout}s in: {self.output[-800:]!r}") from None
            assert frame is not None, f"closed before {regex.pattern!r}: {self.output[-800:]!r}"
        return found

    async def run(self, command: str, marker: str) -> str:
        """Run ``command`` and return what it printed between two markers."""
        self.send("stdin", f"echo {marker}-START; {command}; echo {marker}-END\r")
        found = await self.until(re.compile(rf"[\r\n]{marker}-START\r?\n(.*?)(?<=[\r\n]){marker}-END\r?\n", re.S))
        return found.group(1).replace("\r\n", "\n")


# -- REST ----------------------------------------------------------------------------


async def test_create_list_get_delete(jsl_fetch, jsl_serverapp, jsl_expect_log):
    assert json.loads((await jsl_fetch("api", "terminals")).body) == []
    model = await create(jsl_fetch)
    assert model["name"] == "1" and model["last_activity"].endswith("Z")
    assert set(model) == {"name", "last_activity"}
    second = await create(jsl_fetch, name="work", cwd=None)
    assert second["name"] == "work"
    listed = json.loads((await jsl_fetch("api", "terminals")).body)
    assert [t["name"] for t in listed] == ["1", "work"]
    assert json.loads((await jsl_fetch("api", "terminals", "1")).body)["name"] == "1"

    pid = manager(jsl_serverapp).terminal("1").pid
    assert process_running(pid)
    r = await jsl_fetch("api", "terminals", "1", method="DELETE")
    assert r.code == 204 and r.body == b""
    assert not process_running(pid), "the shell is gone when DELETE answers"
    with jsl_expect_log(r"404 GET .*/api/terminals/1"):
        error = await json_error(jsl_fetch, "api", "terminals", "1", status=404)
    assert error["message"] == "Terminal not found: 1"
    with jsl_expect_log(r"404 DELETE .*/api/terminals/1"):
        await json_error(jsl_fetch, "api", "terminals", "1", method="DELETE", status=404)
    assert [t["name"] for t in json.loads((await jsl_fetch("api", "terminals")).body)] == ["work"]
    assert json.loads((await jsl_fetch("api", "status")).body)["terminals"] == 1


async def test_names_collide_and_must_be_plain(jsl_fetch, jsl_expect_log):
    await create(jsl_fetch, name="mine")
    with jsl_expect_log(r"409 POST .*/api/terminals"):
        error = await json_error(jsl_fetch, "api", "terminals", method="POST", body={"name": "mine"}, status=409)
    assert "mine" in error["message"]
    for bad in ("../x", "a b", ".hidden", "x" * 101):
        with jsl_expect_log(r"400 POST .*/api/terminals"):
            await json_error(jsl_fetch, "api", "terminals", method="POST", body={"name": bad}, status=400)
    for body in ({"name": 3}, {"cwd": ["a"]}, "[1]", "{"):
        with jsl_expect_log(r"400 POST .*/api/terminals"):
            await json_error(jsl_fetch, "api", "terminals", method="POST", body=body, status=400)
    # The next automatic name skips the taken ones.
    await create(jsl_fetch, name="1")
    assert (await create(jsl_fetch))["name"] == "2"


async def test_anonymous_callers_are_refused(jsl_fetch, jsl_expect_log):
    with jsl_expect_log(r"403 GET .*/api/terminals"):
        await json_error(jsl_fetch, "api", "terminals", authenticated=False, status=403)
    with jsl_expect_log(r"403 POST .*/api/terminals"):
        await json_error(jsl_fetch, "api", "terminals", method="POST", body={}, authenticated=False, status=403)


# -- the websocket -----------------------------------------------------------------------


async def test_echo_over_the_websocket_and_resize(jsl_fetch, jsl_ws_connect):
    name = (await create(jsl_fetch))["name"]
    client = await Client.connect(jsl_ws_connect, name)
    client.send("stdin", "echo $((6*7))\r")
    await client.until(ANSWER)
    client.send("set_size", 33, 101, 600, 800)
    assert (await client.run("stty size", "SIZE")).strip() == "33 101"


async def test_two_clients_share_a_terminal_at_the_smaller_size(jsl_fetch, jsl_ws_connect):
    name = (await create(jsl_fetch))["name"]
    first = await Client.connect(jsl_ws_connect, name)
    second = await Client.connect(jsl_ws_connect, name)
    first.send("set_size", 40, 120)
    second.send("set_size", 30, 90)
    assert (await first.run("stty size", "A")).strip() == "30 90"
    await second.until(r"[\r\n]30 90\r?\n")  # both clients see the output


async def test_a_late_client_gets_the_recent_output_bounded(jsl_server_factory, jsl_fetch, jsl_ws_connect):
    app = await started(jsl_server_factory, config={"TerminalManager": {"replay_buffer_chars": 300}})
    name = (await create(jsl_fetch, app=app))["name"]
    first = await Client.connect(jsl_ws_connect, name, app=app)
    first.send("stdin", "printf 'x%.0s' $(seq 2000); echo; echo DONE-$((1+1))\r")
    await first.until(r"DONE-2")
    await asyncio.sleep(0.2)  # the prompt after it
    term = manager(app).terminal(name)
    assert term.read_buffer.size <= 300
    late = await Client.connect(jsl_ws_connect, name, app=app)
    replay = await late.frame()
    assert replay[0] == "stdout" and 0 < len(replay[1]) <= 300
    assert "DONE-2" in replay[1], "the latest output is the part kept"


def test_replay_buffer_keeps_the_tail_within_its_limit():
    buffer = ReplayBuffer(10)
    for chunk in ("abc", "defg", "hijklmn"):
        buffer.append(chunk)
    assert buffer.text() == "efghijklmn" and buffer.size == 10
    buffer.append("0123456789ABCDEF")
    assert buffer.text() == "6789ABCDEF" and len(buffer) == 1
    none = ReplayBuffer(0)
    none.append("x")
    assert none.text() == ""


async def test_a_slow_client_pauses_the_shell_instead_of_filling_memory(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    name = (await create(jsl_fetch))["name"]
    client = await Client.connect(jsl_ws_connect, name)
    term = manager(jsl_serverapp).terminal(name)
    # 20 MB of output, far more than the socket buffers and the high-water mark; the
    # client reads nothing meanwhile (tornado's client stops reading its socket).
    client.send("stdin", "head -c 20000000 /dev/zero | tr '\\0' x; echo; echo FLOOD-$((3*3))\r")
    await wait_for(lambda: term.paused, timeout=60)
    (handler,) = term.clients
    assert handler.behind and handler._queued <= HIGH_WATER + 2 * 65536, "at most a read past the mark is queued"
    await asyncio.sleep(0.5)
    assert term.paused and handler._queued <= HIGH_WATER + 2 * 65536, "and it stays paused"
    tail, received = "", 0
    while "FLOOD-9" not in tail:
        frame = await client.frame(60)
        assert frame is not None
        if frame[0] == "stdout":
            received += frame[1].count("x")
            tail = (tail + frame[1])[-200:]
        client.output = ""  # keep nothing: 20 MB
    assert received >= 20_000_000, "nothing was dropped: the shell waited instead"
    assert not term.paused and not handler.behind


async def test_malformed_frames_are_ignored_with_a_warning(jsl_fetch, jsl_ws_connect, jsl_expect_log):
    name = (await create(jsl_fetch))["name"]
    client = await Client.connect(jsl_ws_connect, name)
    for frame, problem in (
        ("not json", "not JSON"),
        ('{"stdin": "x"}', "not a JSON array"),
        ('["stdin", 3]', '"stdin" needs a string'),
        ('["set_size", 0, 80]', '"set_size" needs rows and columns'),
        ('["set_size", "24", 80]', '"set_size" needs rows and columns'),
    ):
        with jsl_expect_log(rf"Terminal {name} websocket: message ignored: {re.escape(problem)}"):
            client.conn.write_message(frame)
            assert (await client.run("true", f"M{len(client.frames)}")) == "", "the connection still works"
    client.conn.write_message('["unknown_kind", 1]')  # ignored quietly, as terminado does
    client.send("stdin", "echo $((6*7))\r")
    await client.until(ANSWER)


async def test_a_shell_that_exits_disconnects_its_clients(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    name = (await create(jsl_fetch))["name"]
    pid = manager(jsl_serverapp).terminal(name).pid
    client = await Client.connect(jsl_ws_connect, name)
    client.send("stdin", "exit\r")
    while (frame := await client.frame()) is not None and frame[0] != "disconnect":
        pass
    assert frame == ["disconnect", 1]
    assert await client.frame() is None, "the server closes the websocket after saying so"
    await wait_for(lambda: not process_running(pid), timeout=10)
    assert json.loads((await jsl_fetch("api", "terminals")).body) == []


async def test_websocket_refusals_happen_before_the_upgrade(jsl_fetch, jsl_ws_connect, jsl_expect_log):
    name = (await create(jsl_fetch))["name"]
    with jsl_expect_log(r"404 GET .*/terminals/websocket/nope"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("terminals", "websocket", "nope")
    assert err.value.code == 404
    with jsl_expect_log(rf"403 GET .*/terminals/websocket/{name}"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("terminals", "websocket", name, authenticated=False)
    assert err.value.code == 403
    with jsl_expect_log(rf"403 GET .*/terminals/websocket/{name}"), pytest.raises(HTTPClientError) as err:
        await jsl_ws_connect("terminals", "websocket", name, headers={"Origin": "http://evil.example"})
    assert err.value.code == 403
    with jsl_expect_log(rf"400 GET .*/terminals/websocket/{name}"):
        error = await json_error(jsl_fetch, "terminals", "websocket", name, status=400)
    assert "Upgrade: websocket" in error["message"]
    client = await Client.connect(jsl_ws_connect, name)
    client.send("stdin", "echo $((6*7))\r")
    await client.until(ANSWER)


# -- where and how the shell runs ----------------------------------------------------------


async def test_cwd_inside_root_and_never_outside(jsl_fetch, jsl_ws_connect, jsl_dirs, jsl_expect_log, tmp_path):
    (jsl_dirs.root / "sub" / "deeper").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (jsl_dirs.root / "escape").symlink_to(outside)

    async def pwd(**body) -> str:
        name = (await create(jsl_fetch, **body))["name"]
        client = await Client.connect(jsl_ws_connect, name)
        return (await client.run("pwd", "PWD")).strip()

    root = os.path.realpath(jsl_dirs.root)
    assert await pwd() == root
    assert await pwd(cwd="sub/deeper") == os.path.join(root, "sub", "deeper")
    assert await pwd(cwd=str(jsl_dirs.root / "sub")) == os.path.join(root, "sub"), "an absolute path inside root"
    assert await pwd(cwd="sub/missing/x") == os.path.join(root, "sub"), "the nearest existing folder"
    for cwd in ("..", "sub/../../", str(outside), "escape", "/"):
        with jsl_expect_log(r"400 POST .*/api/terminals"):
            error = await json_error(jsl_fetch, "api", "terminals", method="POST", body={"cwd": cwd}, status=400)
        assert "outside the server's root directory" in error["message"]


async def test_the_shell_gets_no_secret(jsl_server_factory, jsl_fetch, jsl_ws_connect, monkeypatch):
    monkeypatch.setenv("JUPYTER_TOKEN", "from-the-environment")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-secret")
    monkeypatch.setenv("JSL_HARMLESS", "kept")
    monkeypatch.setenv("TERM", "dumb")
    app = await started(jsl_server_factory, config={"IdentityProvider": {"token": "server-token-0123456789"}})
    monkeypatch.setenv("LAUNCHER_COPY", "server-token-0123456789")
    name = (await create(jsl_fetch, app=app))["name"]
    client = await Client.connect(jsl_ws_connect, name, app=app)
    env = await client.run("env | sort", "ENV")
    assert "from-the-environment" not in env and "hub-secret" not in env
    assert "server-token-0123456789" not in env and "LAUNCHER_COPY" not in env
    assert "JSL_HARMLESS=kept" in env
    assert "TERM=xterm-256color" in env
    assert f"JUPYTER_SERVER_ROOT={app.root_dir}" in env
    assert f"JUPYTER_SERVER_URL={app.url}\n" in env


async def test_shell_command_is_configurable(jsl_server_factory, jsl_fetch, jsl_ws_connect):
    app = await started(
        jsl_server_factory, config={"TerminalManager": {"shell_command": "/bin/sh -c 'echo CUSTOM-$((40+2)); exec sh'"}}
    )
    name = (await create(jsl_fetch, app=app))["name"]
    client = await Client.connect(jsl_ws_connect, name, app=app)
    await client.until(r"CUSTOM-42")
    assert manager(app).command == ["/bin/sh", "-c", "echo CUSTOM-$((40+2)); exec sh"]


async def test_default_shell_is_the_users(jsl_serverapp, monkeypatch):
    from jupyter_server_lite.bundled.terminals.manager import TerminalManager

    monkeypatch.setenv("SHELL", "/bin/bash")
    assert TerminalManager().command[0] == "/bin/bash"
    monkeypatch.delenv("SHELL")
    assert Path(TerminalManager().command[0]).name == "sh"


# -- the end of a shell: delete, culling, shutdown -------------------------------------------


async def test_delete_stops_the_whole_session(jsl_fetch, jsl_ws_connect, jsl_serverapp):
    name = (await create(jsl_fetch))["name"]
    pid = manager(jsl_serverapp).terminal(name).pid
    client = await Client.connect(jsl_ws_connect, name)
    # A job, a process detached from the job table, and a job that ignores SIGHUP.
    client.send("stdin", "sleep 301 & (sleep 302 &) ; nohup sleep 303 >/dev/null 2>&1 & echo STARTED-$((1+1))\r")
    await client.until("STARTED-2")
    members = await wait_for(lambda: len(session_members(pid)) >= 4 and session_members(pid), timeout=10)
    await jsl_fetch("api", "terminals", name, method="DELETE")
    assert not [p for p in members if process_running(p)], "nothing of the terminal's session is left"
    while (frame := await client.frame()) is not None and frame[0] != "disconnect":
        pass
    assert frame == ["disconnect", 1], "its clients are told"


async def test_inactive_terminals_are_culled(jsl_server_factory, jsl_fetch):
    app = await started(
        jsl_server_factory, config={"TerminalManager": {"cull_inactive_timeout": 1, "cull_interval": 0.2}}
    )
    name = (await create(jsl_fetch, app=app))["name"]
    pid = manager(app).terminal(name).pid
    await wait_for(lambda: not process_running(pid), timeout=20)
    assert json.loads((await jsl_fetch("api", "terminals", app=app)).body) == []


async def test_server_stop_stops_every_shell(jsl_server_factory, jsl_fetch, jsl_ws_connect):
    app = await started(jsl_server_factory)
    pids = []
    for _ in range(3):
        name = (await create(jsl_fetch, app=app))["name"]
        client = await Client.connect(jsl_ws_connect, name, app=app)
        client.send("stdin", "sleep 304 & echo UP-$((2+2))\r")
        await client.until("UP-4")
        pids += session_members(manager(app).terminal(name).pid)
    assert len(pids) >= 6 and all(process_running(p) for p in pids)
    await app.stop_server()
    assert not [p for p in pids if process_running(p)], "no process of any terminal outlives the server"
    assert len(manager(app)) == 0


async def test_no_terminal_starts_once_the_server_is_stopping(jsl_serverapp):
    from tornado.web import HTTPError

    terminals = manager(jsl_serverapp)
    terminals.stop_now()
    with pytest.raises(HTTPError) as err:
        terminals.create()
    assert err.value.status_code == 503


# -- the off switch and the start-up cost --------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"ServerApp": {"jpserver_extensions": {TERMINALS: False}}},
        {"ServerApp": {"terminals_enabled": False}},
    ],
)
async def test_terminals_can_be_switched_off(jsl_server_factory, jsl_fetch, jsl_expect_log, config):
    app = await started(jsl_server_factory, config=config)
    with jsl_expect_log(r"404 GET .*/api/terminals"):
        await json_error(jsl_fetch, "api", "terminals", app=app, status=404)
    with jsl_expect_log(r"404 GET .*/terminals/websocket/1"):
        r = await jsl_fetch("terminals", "websocket", "1", app=app, raise_error=False)
    assert r.code == 404
    record = app.extension_manager.get(TERMINALS)
    assert record is None or record.state != "loaded"
    assert "terminals" not in json.loads((await jsl_fetch("api", "status", app=app)).body)


async def test_terminals_enabled_in_a_file_is_an_enabler_that_extension_list_shows(
    jsl_server_factory, jsl_fetch, jsl_dirs, jsl_expect_log
):
    from jupyter_server_lite.configfiles import enabler_view

    path = jsl_dirs.write_config("user", "jupyter_server_lite_config.json", {"ServerApp": {"terminals_enabled": False}})
    setting = enabler_view()[TERMINALS]
    assert not setting.enabled and setting.in_force is not None and setting.in_force.path == str(path)
    app = await started(jsl_server_factory)
    assert app.jpserver_extensions[TERMINALS] is False
    with jsl_expect_log(r"404 POST .*/api/terminals"):
        await json_error(jsl_fetch, "api", "terminals", method="POST", body={}, app=app, status=404)
    # A higher level (here the command line) switches it back on, as with any enabler.
    again = await started(jsl_server_factory, config={"ServerApp": {"terminals_enabled": True}})
    assert (await create(jsl_fetch, app=again))["name"] == "1"


def test_starting_a_server_loads_no_terminado(jsl_dirs, tmp_path):
    """Importing and starting the server imports neither terminado nor ptyprocess."""
    script = (
        "import asyncio, sys\n"
        "from jupyter_server_lite.serverapp import ServerApp\n"
        "app = ServerApp()\n"
        f"app.initialize(['--port=0', '--ip=127.0.0.1', '--no-browser', '--ServerApp.root_dir={jsl_dirs.root}'])\n"
        "async def main():\n"
        "    await app.start_server()\n"
        "    loaded = [m for m in ('terminado', 'ptyprocess') if m in sys.modules]\n"
        "    assert app.extension_manager.get('terminado').state == 'loaded'\n"
        "    await app.stop_server()\n"
        "    print(loaded)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=os.environ.copy(), check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
