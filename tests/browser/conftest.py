"""A real server and a real browser for the frontends' journeys (tests/browser/).

One server per test module (a subprocess, ``python -m jupyter_server_lite``,
in jupyter folders of its own, under the awkward base_url ``/a%40b/``) and
one headless Chromium per module (Debian's ``chromium`` driven by
Playwright for Python through ``executable_path``; Playwright's own browser
download is never used).  Each test gets a fresh browser context and a
:class:`Recorder` that sees every response, console message and websocket
of the page; at the end of the test it asserts that no request failed
(status >= 400, or not answered), that the console logged no error and
that no websocket reconnected in a loop.  The server's log must hold no
WARNING or ERROR line either (tests run clean).

Without a browser the tests skip locally and fail under CI (``CI=true``),
where ``.ci/run`` installs ``chromium`` with apt first.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("JSL_CHROMIUM", "/usr/bin/chromium")
#: Without the background-networking flags Chromium reaches out to the network, which this machine refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BASE_URL = "/a%40b/"
START_TIMEOUT = 60.0
#: A websocket URL opened more often than this by one loaded document is reconnecting in a loop
#: (JupyterLab opens up to two per kernel: the session's connection and a clone of it).
MAX_WEBSOCKETS_PER_URL = 3

NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "first",
            "metadata": {},
            "outputs": [],
            "source": ["x = 6 * 7"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "second",
            "metadata": {},
            "outputs": [],
            "source": ["print(f'answer={x}')"],
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server: its URL, token, root folder and log."""

    process: subprocess.Popen[bytes]
    url: str  # http://127.0.0.1:<port>/a%40b/
    token: str
    root: Path
    log_path: Path
    dirs: dict[str, Path]

    def page_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def log_problems(self) -> list[str]:
        """WARNING and ERROR lines of the server's log (``[W ...]``, ``[E ...]``, ``[C ...]``)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if re.match(r"\s*(\x1b\[[0-9;]*m)?\[[WEC] ", line)]


def start_server(tmp: Path) -> Server:
    """``python -m jupyter_server_lite`` in folders of its own below ``tmp``; ready when /api/status answers."""
    dirs = {name: tmp / name for name in ("root", "config", "data", "runtime")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["root"] / "existing.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    (dirs["root"] / "notes.txt").write_text("hello\n", encoding="utf-8")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["config"] / "lab" / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["config"] / "lab" / "workspaces"),
    }
    for var in ("JUPYTER_CONFIG_PATH", "JUPYTER_TOKEN", "JUPYTER_PASSWORD"):
        env.pop(var, None)
    port, token = _free_port(), secrets.token_hex(16)
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server_lite",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                "--no-browser",
                f"--ServerApp.base_url={BASE_URL}",
                f"--ServerApp.root_dir={dirs['root']}",
                f"--IdentityProvider.token={token}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}{BASE_URL}", token, dirs["root"], log_path, dirs)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            server.api("api/status")
            return server
        except OSError:
            time.sleep(0.1)
    stop_server(server)
    raise AssertionError(f"the server did not answer in {START_TIMEOUT}s:\n{log_path.read_text()}")


def stop_server(server: Server) -> None:
    """SIGTERM and wait: the server stops its kernels and terminals itself."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module's journeys; its log must stay clean."""
    running = start_server(tmp_path_factory.mktemp("browser"))
    try:
        yield running
    finally:
        stop_server(running)
    problems = running.log_problems()
    assert not problems, "the server logged warnings or errors:\n" + "\n".join(problems)
    assert running.process.returncode == 0, running.log_path.read_text()


def _chromium() -> str:
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium; JSL_CHROMIUM names another)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for the module (Debian's, through Playwright's executable_path)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]'")
    executable = _chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Recorder:
    """Everything the page did that a journey must not have: failed requests, console errors, websocket loops."""

    allowed: list[re.Pattern[str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    #: Websocket URL -> how often it was opened, per loaded document (a reload starts a new count).
    websockets: list[dict[str, int]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """A failed request or console error the test expects (``pattern`` searched in its line)."""
        self.allowed.append(re.compile(pattern))

    def attach(self, page: Any) -> None:
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("websocket", self._on_websocket)
        page.on("framenavigated", lambda frame: frame.parent_frame is None and self.websockets.append({}))

    def _expected(self, line: str) -> bool:
        return any(p.search(line) for p in self.allowed)

    def _on_response(self, response: Any) -> None:
        line = f"{response.status} {response.request.method} {response.url}"
        self.requests.append(line)
        if response.status >= 400 and not self._expected(line):
            self.failed.append(line)

    def _on_request_failed(self, request: Any) -> None:
        line = f"{request.method} {request.url}: {request.failure}"
        # A page that navigates away aborts what it was loading: that is not the server failing.
        if "ERR_ABORTED" not in str(request.failure) and not self._expected(line):
            self.failed.append(line)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            text = f"{message.text} @ {message.location.get('url', '')}"
            if not self._expected(text):
                self.console_errors.append(text)

    def _on_page_error(self, error: Any) -> None:
        text = f"page error: {error}"
        if not self._expected(text):
            self.console_errors.append(text)

    def _on_websocket(self, ws: Any) -> None:
        if not self.websockets:
            self.websockets.append({})
        url = ws.url.split("?", 1)[0]
        self.websockets[-1][url] = self.websockets[-1].get(url, 0) + 1

    def check(self) -> None:
        assert not self.failed, "requests failed:\n" + "\n".join(self.failed)
        assert not self.console_errors, "the console logged errors:\n" + "\n".join(self.console_errors)
        looping = {url: n for opened in self.websockets for url, n in opened.items() if n > MAX_WEBSOCKETS_PER_URL}
        assert not looping, f"websockets reconnecting in a loop: {looping}"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def page(browser: Any, recorder: Recorder, tmp_path: Path) -> Iterator[Any]:
    """A fresh page (its own cookies) whose requests and console the test's recorder watches.

    Each page's last state is kept as ``screenshot-<n>.png`` in the test's
    temporary folder, to see what a failed journey saw.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    context.on("page", recorder.attach)  # pages a journey opens in new tabs are watched too
    tab = context.new_page()
    try:
        yield tab
        recorder.check()
    finally:
        for n, opened in enumerate(context.pages):
            opened.screenshot(path=str(tmp_path / f"screenshot-{n}.png"))
        context.close()
