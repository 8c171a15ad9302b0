"""Helpers the journeys share: waiting while the page runs, and knowing when a kernel answers."""

from __future__ import annotations

import time
from typing import Any


def wait_until(page: Any, predicate: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``predicate`` while the page runs (Playwright's sync API delivers events only inside its calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"{what} not met within {timeout}s")


class KernelWatch:
    """Counts ``kernel_info_reply`` messages on the page's kernel websockets: a reply means that
    kernel is connected and answering, which no widget of the page shows reliably."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.replies = 0
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws: Any) -> None:
        if "/channels" in ws.url:
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: Any) -> None:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        if '"msg_type":"kernel_info_reply"' in text.replace(" ", ""):
            self.replies += 1

    def wait_ready(self, at_least: int = 1) -> None:
        wait_until(self.page, lambda: self.replies >= at_least, what="a kernel_info_reply from the kernel")
