"""When the server was last used, for ``/api/status`` and idle shutdown.

Only real use counts: requests that change state, kernel events and kernel
traffic.  A client polling ``GET /api/kernels`` every few seconds must not
keep an idle server alive forever.  Kernel traffic is not pushed here per
message: the kernel manager keeps the time of the latest one, and
:class:`Activity` reads it (a *source*) only when asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from tornado.ioloop import PeriodicCallback


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as the Jupyter Server REST API writes times."""
    return moment.isoformat().replace("+00:00", "Z")


class Activity:
    """Start time and time of last real use: the latest touch or the latest moment of a source."""

    def __init__(self, *sources: Callable[[], datetime | None]) -> None:
        self.started = utcnow()
        self._touched = self.started
        self._sources = sources

    def touch(self) -> None:
        self._touched = utcnow()

    @property
    def last_activity(self) -> datetime:
        moments = [self._touched, *(m for m in (source() for source in self._sources) if m is not None)]
        return max(moments)

    @last_activity.setter
    def last_activity(self, moment: datetime) -> None:
        """Set the latest touch (the sources still count)."""
        self._touched = moment

    def idle_seconds(self) -> float:
        return (utcnow() - self.last_activity).total_seconds()


class IdleWatch:
    """Calls ``on_idle`` once ``is_idle()`` says so (``shutdown_no_activity_timeout``).

    Checks twice per timeout (at most once a minute, at least every 0.1 s),
    so the server stops within about half a timeout of becoming idle.
    """

    def __init__(
        self, timeout: float, is_idle: Callable[[], bool], on_idle: Callable[[], None], log: logging.Logger
    ) -> None:
        self._is_idle = is_idle
        self._on_idle = on_idle
        self._timeout = timeout
        self._log = log
        self._callback = PeriodicCallback(self._check, 1000 * min(max(timeout / 2, 0.1), 60))
        self._callback.start()

    def _check(self) -> None:
        if self._is_idle():
            self._log.info("No activity for %d seconds (shutdown_no_activity_timeout), shutting down", self._timeout)
            self._callback.stop()
            self._on_idle()

    def stop(self) -> None:
        self._callback.stop()
