"""The replay log: what a kernel said while some of its clients were away.

When a websocket drops (or is closed for falling behind), the kernel keeps
talking: a cell still prints, replies arrive.  A client that reconnects
with the same ``session_id`` gets what it missed, in order, encoded for
whichever protocol the new connection chose.

There is one log per kernel, not one per session: every kernel message gets
a sequence number, a disconnected session remembers the number of the first
message it missed (its *cursor*), and the log keeps each message once --
broadcast iopub messages for every absent session, replies for the one that
asked.  So the memory a kernel's absent clients cost does not grow with
their number.  It is bounded twice: in bytes (past the limit the oldest
messages go first, so a client that comes back sees the latest output) and
in age (a message older than the limit is dropped; its owner closes the
absent sessions at the same age).  The log is emptied whenever nobody is
away.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator

from .wire import KernelMessage


class ReplayLog:
    """Kernel messages kept for absent sessions, oldest first: ``(seq, target, message)``.

    ``target`` is the session a reply belongs to, or None for a broadcast
    (iopub) message.  ``seq`` numbers every message the kernel sent, kept
    or not (:meth:`next_seq`), so a cursor taken at any moment is comparable.
    """

    def __init__(self, max_bytes: int, max_age: float) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.nbytes = 0
        #: Highest sequence number dropped for lack of room or age (-1: none yet).
        self.lost_upto = -1
        self._seq = 0
        self._items: deque[tuple[int, float, str | None, KernelMessage]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def next_seq(self) -> int:
        """Number the next kernel message."""
        seq = self._seq
        self._seq += 1
        return seq

    @property
    def cursor(self) -> int:
        """The sequence number the next message will get: where an absent session starts."""
        return self._seq

    def append(self, seq: int, target: str | None, message: KernelMessage) -> bool:
        """Keep ``message``; drop the oldest past ``max_bytes`` or ``max_age``.

        Returns True when this call dropped something that had not been
        dropped before since the log was last emptied, so the owner can warn
        once, not per message.  A single message larger than the whole limit
        is dropped itself.
        """
        message.forget_encodings()
        now = time.monotonic()
        self._items.append((seq, now, target, message))
        self.nbytes += message.nbytes
        first_loss = self.lost_upto < 0
        dropped = self._drop_old(now)
        while self.nbytes > self.max_bytes:
            dropped = self._drop_first() or dropped
        return dropped and first_loss

    def _drop_old(self, now: float) -> bool:
        dropped = False
        while self._items and now - self._items[0][1] > self.max_age:
            dropped = self._drop_first() or dropped
        return dropped

    def _drop_first(self) -> bool:
        seq, _, _, message = self._items.popleft()
        self.nbytes -= message.nbytes
        self.lost_upto = max(self.lost_upto, seq)
        return True

    def since(self, cursor: int, session_id: str) -> Iterator[tuple[int, KernelMessage]]:
        """``(seq, message)`` kept for ``session_id`` from ``cursor`` on, oldest first."""
        self._drop_old(time.monotonic())
        for seq, _, target, message in self._items:
            if seq >= cursor and (target is None or target == session_id):
                yield seq, message

    def complete_since(self, cursor: int) -> bool:
        """Whether nothing from ``cursor`` on was dropped."""
        return self.lost_upto < cursor

    def trim(self, cursor: int | None) -> None:
        """Forget everything before ``cursor`` (the oldest absent session's); None: empty the log."""
        if cursor is None:
            self._items.clear()
            self.nbytes = 0
            self.lost_upto = -1
            return
        while self._items and self._items[0][0] < cursor:
            _, _, _, message = self._items.popleft()
            self.nbytes -= message.nbytes
