"""The replay buffer: what a kernel said while its client was away.

When a websocket drops, its kernel keeps talking (a cell still running prints,
replies arrive).  The server keeps those messages as raw kernel frames and
replays them, in order, when a client reconnects with the same
``session_id``, encoded for whichever protocol the new connection chose.

The buffer is bounded in bytes: past the limit the oldest messages go first,
so a client that comes back sees the latest output.  Its age is bounded by
the owner, which closes the kernel channels (and drops the buffer) when
nobody has come back within the configured number of seconds.
"""

from __future__ import annotations

from collections import deque


class ReplayBuffer:
    """Kernel messages ``(channel, parts)`` in arrival order, at most ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.dropped = 0
        self._items: deque[tuple[str, list[bytes], int]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def append(self, channel: str, parts: list[bytes]) -> bool:
        """Keep a message; drop the oldest ones past the limit.

        Returns True when this call started dropping (the first loss since the
        buffer was last drained), so the caller can warn once, not per message.
        A single message larger than the whole limit is dropped itself.
        """
        size = sum(map(len, parts))
        self._items.append((channel, parts, size))
        self.nbytes += size
        first_loss = False
        while self.nbytes > self.max_bytes:
            _, _, old = self._items.popleft()
            self.nbytes -= old
            first_loss = first_loss or self.dropped == 0
            self.dropped += 1
        return first_loss

    def drain(self) -> list[tuple[str, list[bytes]]]:
        """Every kept message, oldest first; the buffer is empty afterwards."""
        items = [(channel, parts) for channel, parts, _ in self._items]
        self._items.clear()
        self.nbytes = 0
        self.dropped = 0
        return items
