"""A kernel's channels as its websockets see them: routing, fan-out, replay, restarts.

There is one :class:`KernelChannels` per kernel, shared by every websocket
of that kernel, on top of the kernel's one ZMQ connection (see
:mod:`.connection`).  Clients are told apart by their websocket
``session_id``:

* **Client to kernel**: a message is signed and sent on the kernel's shell,
  control or stdin socket; for a ``*_request`` the server remembers which
  session sent that ``msg_id``.
* **Kernel to client**: iopub goes to every session; a reply (shell,
  control) or a stdin request goes to the session whose request its parent
  header names -- only that ``msg_id`` is parsed.  A reply nobody is
  waiting for is dropped.
* **Absent sessions**: a session whose websocket closed, or was closed for
  falling behind, is kept for ``replay_buffer_seconds``: what the kernel
  says meanwhile goes into the kernel's one :class:`~.replay.ReplayLog`
  (bounded in bytes and age), and a client that reconnects with the same
  ``session_id`` gets it first, then live traffic.  At most
  :data:`MAX_ABSENT` absent sessions are kept per kernel; past that the one
  away longest is forgotten.
* **Held messages**: until the kernel (or a restarted kernel) has answered,
  client messages wait here, in order, bounded in bytes.

The number of ZMQ sockets is therefore four per kernel, whatever the clients
do.  :class:`~.websocket.KernelWebsocketManager` creates these objects and
forwards the kernel manager's events (restarts, death, shutdown) to them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .replay import ReplayLog
from .wire import KernelMessage, Parts, WireError

if TYPE_CHECKING:
    from .kernel import KernelLink
    from .websocket import KernelWebsocketManager

#: Absent sessions kept per kernel (each costs a cursor and a timer; their messages are shared).
MAX_ABSENT = 64
#: Requests awaiting a reply remembered per kernel; past it the oldest is forgotten.
MAX_PENDING = 10_000


class Client(Protocol):
    """What the channels need of a websocket connection."""

    v1: bool

    def send_frame(self, payload: bytes, binary: bool) -> bool:
        """Send an encoded message; False when the connection is closed or was just
        closed for falling behind (the message is then kept for a reconnection)."""

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


@dataclass
class Absent:
    """A session whose client is away: where its replay starts, and when it is forgotten."""

    cursor: int
    expiry: asyncio.TimerHandle


class KernelChannels:
    """The websocket side of one kernel (see the module docstring)."""

    def __init__(self, owner: KernelWebsocketManager, km: KernelLink) -> None:
        self.owner = owner
        self.log = owner.log
        self.km = km
        self.kernel_id = str(km.kernel_id)
        self.attached: dict[str, Client] = {}
        self.absent: dict[str, Absent] = {}
        self.replay = ReplayLog(owner.replay_buffer_bytes, owner.replay_buffer_seconds)
        self._pending: dict[str, str] = {}  # request msg_id -> session_id
        self._held: list[tuple[str, str, Parts, dict[str, Any]]] = []
        self._held_bytes = 0
        self._held_overflow = False
        self.closed = False
        km.receiver = self

    def __repr__(self) -> str:
        return f"<KernelChannels kernel={self.kernel_id} attached={len(self.attached)} absent={len(self.absent)}>"

    # -- kernel -> clients ---------------------------------------------------------

    def from_kernel(self, message: KernelMessage) -> None:
        """Deliver a kernel message: iopub to everyone, a reply to the session that asked."""
        seq = self.replay.next_seq()
        if message.channel == "iopub":
            for session_id, client in list(self.attached.items()):
                self._send(session_id, client, message, seq)
            target = None
        else:
            msg_id = message.parent_msg_id
            # stdin requests come before their execute_reply: only a reply ends the wait
            found = self._pending.get(msg_id) if message.channel == "stdin" else self._pending.pop(msg_id, None)
            if found is None:
                self.log.debug(
                    "Kernel %s: %s reply to unknown request %r dropped", self.kernel_id, message.channel, msg_id
                )
                return
            asker = self.attached.get(found)
            if asker is not None:
                self._send(found, asker, message, seq)
            if found not in self.absent:
                return
            target = found
        if self.absent and self.replay.append(seq, target, message):
            self.log.warning(
                "Replay buffer of kernel %s passed %d bytes while clients are away; "
                "dropping the oldest messages (KernelWebsocketManager.replay_buffer_bytes)",
                self.kernel_id,
                self.replay.max_bytes,
            )

    def _send(self, session_id: str, client: Client, message: KernelMessage, seq: int) -> None:
        try:
            payload, binary = message.encoded(client.v1)
        except WireError as err:
            self.log.warning("Kernel %s sent a message the websocket cannot carry; dropped: %s", self.kernel_id, err)
            return
        if not client.send_frame(payload, binary):
            self._leave(session_id, client, seq)

    def send_status(self, execution_state: str) -> None:
        """Tell every session about the kernel's state with an iopub ``status`` message."""
        session = self.km.session
        msg = session.msg("status", content={"execution_state": execution_state})
        parts = [session.pack(msg[key]) for key in ("header", "parent_header", "metadata", "content")]
        self.from_kernel(KernelMessage("iopub", parts))

    # -- clients -> kernel ------------------------------------------------------------

    def to_kernel(self, session_id: str, channel: str, parts: Parts, header: dict[str, Any]) -> None:
        """Send a client's message (decoded by :mod:`.wire`), or hold it until the kernel answers."""
        if self._held or not self.km.ready_for_clients:
            self._hold(session_id, channel, parts, header)
            return
        connection = self.km.connection
        if connection is None:
            self._hold(session_id, channel, parts, header)
            return
        msg_id = header.get("msg_id")
        if isinstance(msg_id, str) and header["msg_type"].endswith("_request"):
            self._pending[msg_id] = session_id
            if len(self._pending) > MAX_PENDING:
                del self._pending[next(iter(self._pending))]
        if not connection.send(channel, parts):
            self.log.warning(
                "Kernel %s is not reading its %s channel; dropped a message of session %s",
                self.kernel_id,
                channel,
                session_id,
            )

    def _hold(self, session_id: str, channel: str, parts: Parts, header: dict[str, Any]) -> None:
        size = sum(map(len, parts))
        if self._held_bytes + size > self.owner.client_backlog_bytes:
            if not self._held_overflow:
                self._held_overflow = True
                self.log.warning(
                    "Kernel %s is not ready and %d bytes of client messages wait for it; dropping more "
                    "(KernelWebsocketManager.client_backlog_bytes)",
                    self.kernel_id,
                    self._held_bytes,
                )
            return
        self._held.append((session_id, channel, parts, header))
        self._held_bytes += size

    def kernel_ready(self) -> None:
        """The kernel answers: send the held messages, in order."""
        held, self._held, self._held_bytes, self._held_overflow = self._held, [], 0, False
        for session_id, channel, parts, header in held:
            self.to_kernel(session_id, channel, parts, header)

    def kernel_restarting(self) -> None:
        """The kernel process is being replaced: tell every session; requests to the old one are void.

        The clients get an iopub ``restarting`` status for a requested restart
        and for a dead kernel the restarter replaces alike: it is what Jupyter
        Server sends, JupyterLab then drops the requests the old process will
        never answer, and its message validator refuses any other value (such
        as ``autorestarting``, which it derives from ``restarting`` itself).
        Messages sent meanwhile are held until the new process answers.
        """
        self._pending.clear()
        self.send_status("restarting")

    # -- sessions ---------------------------------------------------------------------

    def attach(self, session_id: str, client: Client) -> None:
        """Make ``client`` the connection of ``session_id``: replay what it missed, then live traffic.

        A client already attached with the same session_id is a stale
        connection (the network dropped without a close): it is closed.
        """
        previous = self.attached.pop(session_id, None)
        if previous is not None:
            self.log.info(
                "Kernel %s, session %s: a new connection replaces the previous one", self.kernel_id, session_id
            )
            previous.close(1000, "Replaced by a newer connection with the same session_id")
        absent = self.absent.pop(session_id, None)
        self.attached[session_id] = client
        if absent is None:
            if len(self.attached) == 1 and not self.absent:
                self.km.channels_in_use(True)
            return
        absent.expiry.cancel()
        if not self.replay.complete_since(absent.cursor):
            self.log.info("Kernel %s, session %s: the oldest missed messages were dropped", self.kernel_id, session_id)
        missed = list(self.replay.since(absent.cursor, session_id))
        self._trim()
        if missed:
            self.log.info("Kernel %s, session %s: replaying %d messages", self.kernel_id, session_id, len(missed))
        for seq, message in missed:
            self._send(session_id, client, message, seq)
            if session_id not in self.attached:
                break  # it fell behind again: away once more, from that message on

    def detach(self, session_id: str, client: Client) -> None:
        """``client`` went away: keep its session for ``replay_buffer_seconds``."""
        if self.attached.get(session_id) is client:
            self._leave(session_id, client, self.replay.cursor)

    def _leave(self, session_id: str, client: Client, cursor: int) -> None:
        """Mark a session absent from message ``cursor`` on."""
        if self.attached.get(session_id) is not client or self.closed:
            return
        del self.attached[session_id]
        loop = asyncio.get_running_loop()
        expiry = loop.call_later(self.owner.replay_buffer_seconds, self._expire, session_id)
        self.absent[session_id] = Absent(cursor, expiry)
        if len(self.absent) > MAX_ABSENT:
            oldest = next(iter(self.absent))
            self.log.debug("Kernel %s: more than %d sessions away; forgetting %s", self.kernel_id, MAX_ABSENT, oldest)
            self._forget(oldest)

    def _expire(self, session_id: str) -> None:
        if session_id in self.absent:
            self.log.info(
                "Kernel %s, session %s: no reconnection within %gs; its missed messages are dropped",
                self.kernel_id,
                session_id,
                self.owner.replay_buffer_seconds,
            )
            self._forget(session_id)

    def _forget(self, session_id: str) -> None:
        absent = self.absent.pop(session_id)
        absent.expiry.cancel()
        self._trim()
        if not self.absent and not self.attached:
            self.km.channels_in_use(False)

    def _trim(self) -> None:
        """Drop replay messages no absent session needs any more."""
        self.replay.trim(min((a.cursor for a in self.absent.values()), default=None))

    def close(self, reason: str | None = None) -> None:
        """Close every websocket with ``reason`` (code 1000) and forget every session.

        A kernel that names its own end (``end_code``, ``end_reason``: a
        gateway lost) closes them with those instead.
        """
        if self.closed:
            return
        self.closed = True
        km = self.km
        if km.receiver is self:
            km.receiver = None
        if self.attached or self.absent:
            km.channels_in_use(False)
        code, reason = km.end_code or 1000, _close_reason(km.end_reason or reason)
        for absent in self.absent.values():
            absent.expiry.cancel()
        self.absent.clear()
        self.replay.trim(None)
        clients, self.attached = list(self.attached.values()), {}
        for client in clients:
            client.close(code, reason)
        self._held.clear()
        self._pending.clear()


def _close_reason(reason: str | None) -> str | None:
    """``reason`` cut to the 123 bytes a websocket close frame has room for (at a character boundary)."""
    if reason is None or len(reason.encode()) <= 123:
        return reason
    return reason.encode()[:120].decode("utf-8", "ignore") + "..."
