"""Small helpers shared by the test modules (kernels' processes, bounded polling)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
