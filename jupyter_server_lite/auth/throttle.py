"""Slowing down password guessers without slowing down anyone else.

A password check is PBKDF2 (~0.14 s of CPU, by design): on the event loop,
a few guessers would stall every request of every user, and nothing would
limit how fast one guesser tries.  :class:`LoginThrottle` fixes both:

* the checks run on one worker thread, never on the event loop (``hashlib``
  releases the GIL while it hashes), so the server keeps serving while a
  check runs and at most one core goes to guessers;
* after ``n`` failed logins in a row from one address, that address waits
  ``min(2 ** (n - 1), max_delay)`` seconds before its next attempt is even
  checked; an attempt inside the wait is refused (429) at no cost.  A success
  forgets the address, and so does ``forget_after`` seconds without a failure.

The table of addresses is bounded (``max_clients``, the least recently
failing dropped first), so a guesser rotating addresses cannot make it grow;
they still queue behind the one worker thread.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

_T = TypeVar("_T")


class LoginThrottle:
    """Per-address backoff after failed logins, and password checks off the event loop."""

    def __init__(
        self,
        max_clients: int = 1024,
        max_delay: float = 60.0,
        forget_after: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_clients = max_clients
        self.max_delay = max_delay
        self.forget_after = forget_after
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # address -> (in a row, when last)
        self._executor: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        """How many addresses are remembered."""
        return len(self._failures)

    def delay(self, failures: int) -> float:
        """The wait after ``failures`` failed attempts in a row."""
        return min(2.0 ** (failures - 1), self.max_delay) if failures > 0 else 0.0

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        entry = self._failures.get(client)
        if entry is None:
            return 0.0
        failures, last = entry
        elapsed = self._clock() - last
        if elapsed >= self.forget_after:
            del self._failures[client]
            return 0.0
        return max(0.0, self.delay(failures) - elapsed)

    def failed(self, client: str) -> tuple[int, float]:
        """Record a failed attempt: ``(failures in a row, seconds to wait now)``."""
        now = self._clock()
        previous = self._failures.pop(client, None)
        failures = previous[0] + 1 if previous is not None and now - previous[1] < self.forget_after else 1
        self._failures[client] = (failures, now)  # last in the order: dropped last
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        return failures, self.delay(failures)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    async def run(self, check: Callable[..., _T], *args: Any) -> _T:
        """``check(*args)`` on the worker thread (made on first use)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jsl-password-check")
        return await asyncio.get_running_loop().run_in_executor(self._executor, check, *args)

    def close(self) -> None:
        """Stop the worker thread (a check still running finishes first)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
