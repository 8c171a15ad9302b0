"""When the server was last used, for ``/api/status`` and idle shutdown.

Only real use counts: requests that change state and kernel traffic.  A
client polling ``GET /api/kernels`` every few seconds must not keep an idle
server alive forever.
"""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Activity:
    """Start time and time of last real use."""

    def __init__(self) -> None:
        self.started = utcnow()
        self.last_activity = self.started

    def touch(self) -> None:
        self.last_activity = utcnow()

    def idle_seconds(self) -> float:
        return (utcnow() - self.last_activity).total_seconds()
