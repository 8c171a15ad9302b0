"""``jupyter <ext>``: ExtensionApp.launch_instance() in a real subprocess."""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

EXTENSIONS = Path(__file__).parent / "extensions"


class Launched:
    """A ``python -m ext_launch`` server: its process, runtime info and output."""

    def __init__(self, dirs, *args: str) -> None:
        self.runtime = dirs.runtime
        self.output = dirs.root.parent / "launch-output.txt"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(EXTENSIONS), os.environ.get("PYTHONPATH", "")]))
        with open(self.output, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ext_launch", "--port=0", "--ip=127.0.0.1", *args],
                cwd=dirs.root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.info = self._wait_for_runtime_file()

    def _wait_for_runtime_file(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        path = self.runtime / f"jsl-server-{self.proc.pid}.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.text()}")
            if path.is_file():
                try:
                    return json.loads(path.read_text())
                except ValueError:
                    pass  # being written
            time.sleep(0.05)
        raise AssertionError(f"no runtime file after {timeout}s:\n{self.text()}")

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    async def get(self, path: str):
        url = self.info["url"] + path
        headers = {"Authorization": f"token {self.info['token']}"}
        return await AsyncHTTPClient().fetch(url, headers=headers, raise_error=False)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise


@pytest.fixture
def launch(jsl_dirs):
    started: list[Launched] = []

    def start(*args: str) -> Launched:
        server = Launched(jsl_dirs, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def test_launch_serves_its_landing_page(launch, jsl_dirs):
    # another enabled extension, to show load_other_extensions is honoured
    (jsl_dirs.user / "jupyter_server_lite_config.d").mkdir()
    (jsl_dirs.user / "jupyter_server_lite_config.d" / "ext_func.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"ext_func": True}}})
    )
    server = launch("--no-browser")
    info = server.info
    assert info["base_url"] == "/launched/"  # from LaunchApp.serverapp_config
    page = await server.get("launch/")
    assert page.code == 200 and page.body == b"<h1>launched: launch</h1>"
    # the start-up URL printed is the landing page, with the token
    assert f"{info['url']}launch/?token={info['token']}" in server.text()
    extensions = json.loads((await server.get("api/extensions")).body)["extensions"]
    assert {(e["name"], e["source"], e["state"]) for e in extensions} == {
        ("launch", "starter", "loaded"),
        ("ext_func", "config", "loaded"),
        # bundled: on without any enabler file
        ("contents", "config", "loaded"),
        ("dashboard", "config", "loaded"),
        ("events", "config", "loaded"),
        ("files_service", "config", "loaded"),
        ("nbconvert_service", "config", "loaded"),
        ("serverconfig", "config", "loaded"),
        ("terminado", "config", "loaded"),
        ("lab", "config", "loaded"),
        ("notebook", "config", "loaded"),
    }
    # the starter is found by its module too, and no file enables it
    by_module = await server.get("api/extensions/ext_launch")
    assert by_module.code == 200
    starter = json.loads(by_module.body)
    assert (starter["name"], starter["module"], starter["enabled_by"]) == ("launch", "ext_launch", None)
    # one line sums the start up, by name, in load order
    summary = re.search(r"Extensions: (\d+) loaded \(([^)]*)\)$", server.text(), re.M)
    assert summary is not None, server.text()
    assert summary.group(2).split(", ") == [e["name"] for e in extensions]
    assert int(summary.group(1)) == len(extensions)
    # / goes to the starter's landing page, the start-up URL
    root = await server.get("")
    assert root.effective_url == f"{info['url']}launch/" and root.body == b"<h1>launched: launch</h1>"
    runtime_file = jsl_dirs.runtime / f"jsl-server-{server.proc.pid}.json"
    assert server.stop() == 0
    assert not runtime_file.exists()


async def test_launch_without_other_extensions(launch, jsl_dirs):
    (jsl_dirs.user / "jupyter_server_lite_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"ext_func": True, "ext_hello": True}}})
    )
    server = launch("--LaunchApp.load_other_extensions=False", "--ServerApp.base_url=/cli-wins/")
    assert server.info["base_url"] == "/cli-wins/"
    extensions = json.loads((await server.get("api/extensions")).body)["extensions"]
    assert [e["name"] for e in extensions if not e["provides"]] == ["launch"]  # service providers load anyway
    assert (await server.get("launch/")).code == 200
    assert (await server.get("hello/")).code == 404
    assert "does not load other extensions" in server.text()
    assert server.stop() == 0
    assert glob.glob(str(jsl_dirs.runtime / "jsl-server-*.json")) == []


async def test_the_starter_keeps_its_module_and_enabler(launch, jsl_dirs, capsys):
    """Issue 12: under ``jupyter <ext>`` the starter's record had lost its module (a 404 by module) and
    its enabler (``enabled_by`` null); and ``level`` was a folder here but a level name in ``extension list``."""
    from jupyter_server_lite.cli import extension as cli

    enabler = jsl_dirs.user / "jupyter_server_lite_config.d" / "ext_launch.json"
    enabler.parent.mkdir()
    enabler.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"ext_launch": True}}}))
    server = launch("--no-browser")
    r = await server.get("api/extensions/ext_launch")
    assert r.code == 200
    record = json.loads(r.body)
    assert (record["name"], record["module"], record["source"], record["state"]) == (
        "launch",
        "ext_launch",
        "starter",
        "loaded",
    )
    assert record["enabled_by"] == {"path": str(enabler), "level": "user", "directory": str(jsl_dirs.user)}
    names = [e["module"] for e in json.loads((await server.get("api/extensions")).body)["extensions"]]
    assert names.count("ext_launch") == 1
    # extension list says the same, with the same words
    sys.path.insert(0, str(EXTENSIONS))
    try:
        assert cli.main(["list", "--json"]) == 0
    finally:
        sys.path.remove(str(EXTENSIONS))
    row = next(r for r in json.loads(capsys.readouterr().out)["extensions"] if r["module"] == "ext_launch")
    assert (row["level"], row["enabler"]) == (record["enabled_by"]["level"], record["enabled_by"]["path"])
    assert row["enablers"][0]["directory"] == record["enabled_by"]["directory"]
    assert server.stop() == 0
