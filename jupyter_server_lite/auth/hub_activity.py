"""Telling JupyterHub when the server was last used, so its idle culler knows.

The Hub sees only the requests its proxy forwards; kernels that compute for
hours, or a terminal's output, it does not.  So, as jupyterhub-singleuser
does, the server posts its last real activity (``ServerApp.activity``:
state-changing requests, kernel traffic, terminals) to
``JUPYTERHUB_ACTIVITY_URL`` every interval, and once more when it stops::

    POST /hub/api/users/<name>/activity
    {"last_activity": "<ISO 8601>", "servers": {"<server name>": {"last_activity": "<ISO 8601>"}}}

A report is skipped when nothing happened since the last one the Hub took.
A failed one is logged (one WARNING line) and its activity sent again at the
next interval; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from ..activity import isoformat

#: Each wait is the interval times a factor drawn from this range (servers started together spread out).
JITTER = (0.9, 1.1)

#: Seconds one report may take.
REQUEST_TIMEOUT = 20.0


class ActivityReporter:
    """Posts ``last_activity()`` to the Hub every ``interval`` seconds and at :meth:`stop`."""

    def __init__(
        self,
        *,
        url: str,
        token: str,
        server_name: str,
        interval: float,
        last_activity: Callable[[], datetime],
        ssl_options: Any = None,
        log: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.url = url
        self.interval = interval
        self._token = token
        self._server_name = server_name
        self._last_activity = last_activity
        self._ssl_options = ssl_options
        self._log = log
        self._sent: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Report now, then every interval, on the running loop."""
        self._log.info("Reporting activity to JupyterHub every %gs", self.interval)
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await self.report()
            await asyncio.sleep(self.interval * random.uniform(*JITTER))

    async def report(self, timeout: float = REQUEST_TIMEOUT) -> bool:
        """Post the last activity unless the Hub has it already; whether the Hub has it now."""
        moment = self._last_activity()
        if self._sent is not None and moment <= self._sent:
            return True
        stamp = isoformat(moment)
        body = {"last_activity": stamp, "servers": {self._server_name: {"last_activity": stamp}}}
        request = HTTPRequest(
            self.url,
            method="POST",
            body=json.dumps(body),
            headers={"Authorization": f"token {self._token}", "Content-Type": "application/json"},
            request_timeout=timeout,
            ssl_options=self._ssl_options,
        )
        try:
            await AsyncHTTPClient().fetch(request)
        except Exception as err:  # any failure: the next report tries again
            self._log.warning("Cannot report activity to JupyterHub at %s: %s", self.url, err)
            return False
        self._sent = moment
        self._log.debug("Reported activity %s to JupyterHub", stamp)
        return True

    async def stop(self, timeout: float) -> None:
        """Stop the reports, after one last within ``timeout`` seconds. Safe to call twice."""
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        await self.report(timeout=timeout)
