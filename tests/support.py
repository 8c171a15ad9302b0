"""Small helpers shared by the test modules (kernels' processes, bounded polling, logs, raw HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jupyter_server_lite.web.application import make_application


async def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Poll ``predicate`` (sync or async) until it is truthy and return its value;
    fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a peer process the test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen[bytes], wait: float) -> None:
    """SIGTERM a peer process the test started in its own session, then SIGKILL its whole
    process group if it has not exited within ``wait`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=wait)


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def server_with_routes(factory: Callable[..., Any], routes: list[Any], config: dict[str, Any] | None = None) -> Any:
    """A server from ``jsl_server_factory`` (not started yet) whose web app also
    mounts test-only ``routes`` (patterns relative to base_url)."""
    app = factory(config=config, start=False)
    app.web_app = make_application(app, extra_routes=routes)
    return app


class LogCapture(logging.Handler):
    """Every record a server logs, at any level, formatted as the console would
    (traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        return [formatter.format(r) for r in self.records]

    def access(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.name == "jupyter_server_lite.access"]


@contextlib.contextmanager
def capture_logs(log: logging.Logger) -> Iterator[LogCapture]:
    """Capture what ``log`` (a server's) gets, debug included, inside the block."""
    capture = LogCapture()
    previous = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(capture)
    try:
        yield capture
    finally:
        log.removeHandler(capture)
        log.setLevel(previous)


async def raw_request(port: int, data: bytes, timeout: float = 30.0) -> bytes:
    """Send ``data`` on a fresh connection to 127.0.0.1:``port`` and read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
