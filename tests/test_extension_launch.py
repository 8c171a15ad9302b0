"""``jupyter <ext>``: ExtensionApp.launch_instance() in a real subprocess."""

from __future__ import annotations

import glob
import json
import os
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
        ("files_service", "config", "loaded"),
        ("serverconfig", "config", "loaded"),
        ("terminado", "config", "loaded"),
        ("lab", "config", "loaded"),
        ("notebook", "config", "loaded"),
    }
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
