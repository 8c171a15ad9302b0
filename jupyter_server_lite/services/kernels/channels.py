"""Kernel channels per websocket session: ZMQ streams, routing, replay, restarts.

Each websocket ``session_id`` on a kernel gets one :class:`KernelChannels`:
its own shell, control, stdin and iopub ZMQ sockets, all with one identity,
so the kernel sends every reply (shell, control, stdin) to the client that
asked, while iopub reaches every client of the kernel.

The channels outlive the websocket.  When a client drops, what the kernel
says next goes into a bounded :class:`~.replay.ReplayBuffer`; a client that
reconnects with the same ``session_id`` gets it replayed, then live traffic.
Nobody back within ``replay_buffer_seconds``: the sockets are closed.

A new set of sockets is *nudged* before client messages go through: a ZMQ
subscription takes a moment to reach the kernel, and output published before
it arrives is lost for good.  So the client's first messages are held until
an iopub message proves the subscription works (after a start, reconnect of
the sockets or a kernel restart).

:class:`~.websocket.KernelWebsocketManager` owns all of them and forwards
the kernel manager's events (restarts, death, shutdown) to them.
"""

from __future__ import annotations

import asyncio
import secrets
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import zmq
from jupyter_client.session import Session
from zmq.eventloop.zmqstream import ZMQStream

from .replay import ReplayBuffer
from .wire import CHANNELS

if TYPE_CHECKING:
    from .websocket import KernelWebsocketManager

DELIM = b"<IDS|MSG>"
#: Seconds between two kernel_info_requests while waiting for iopub to flow.
NUDGE_INTERVAL = 0.5
#: Seconds after which client messages go through even if iopub stayed silent.
NUDGE_TIMEOUT = 10.0
#: Seconds a restart may take before held messages are tried on the kernel anyway.
RESTART_HOLD_LIMIT = 60.0


class Client(Protocol):
    """What the channels need of a websocket connection."""

    def send_kernel_message(self, channel: str, parts: list[bytes]) -> bool:
        """Send; False when the connection is closed (the message is then kept)."""

    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


class KernelChannels:
    """The ZMQ side of one websocket session on one kernel (see the module docstring)."""

    def __init__(self, owner: KernelWebsocketManager, kernel_id: str, session_id: str) -> None:
        self.owner = owner
        self.log = owner.log
        self.kernel_id = kernel_id
        self.session_id = session_id
        self.client: Client | None = None
        self.closed = False
        km = owner.kernel_manager.get_kernel(kernel_id)
        self.session = Session(
            parent=owner, key=km.session.key, signature_scheme=km.session.signature_scheme, session=session_id
        )
        self.replay = ReplayBuffer(owner.replay_buffer_bytes)
        # A fresh identity per set of sockets: a kernel's ROUTER refuses a second
        # peer with an identity it still knows, which would swallow its replies.
        self._identity = f"{session_id}-{secrets.token_hex(4)}".encode()
        self.streams: dict[str, ZMQStream] = {}
        self._held: list[tuple[str, list[bytes]]] | None = None
        self._iopub_seen: asyncio.Future[None] | None = None
        self._nudge_task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._restart_overdue: asyncio.TimerHandle | None = None
        self._open_streams()

    def __repr__(self) -> str:
        return f"<KernelChannels kernel={self.kernel_id} session={self.session_id}>"

    # -- sockets ---------------------------------------------------------------

    def _open_streams(self) -> None:
        """Connect the four sockets to the kernel's current ports, then nudge."""
        km = self.owner.kernel_manager.get_kernel(self.kernel_id)
        self._ports = _ports_of(km)
        for channel in CHANNELS:
            stream = getattr(km, f"connect_{channel}")(identity=self._identity)
            stream.on_recv(partial(self._from_kernel, channel))
            self.streams[channel] = stream
        self.nudge(km)

    def _close_streams(self) -> None:
        for stream in self.streams.values():
            _close_stream(stream)
        self.streams = {}

    def nudge(self, km: Any) -> None:
        """Hold client messages until the kernel's iopub reaches these sockets."""
        if self._nudge_task is None or self._nudge_task.done():
            if self._held is None:
                self._held = []
            self._nudge_task = asyncio.ensure_future(self._nudge(km))

    async def _nudge(self, km: Any) -> None:
        loop = asyncio.get_running_loop()
        seen = self._iopub_seen = loop.create_future()
        try:
            deadline = loop.time() + NUDGE_TIMEOUT
            while not seen.done() and loop.time() < deadline:
                # Fresh sockets per attempt: closing them drops requests a kernel
                # not yet listening never got, so they do not pile up.  Separate
                # from the client's, so the replies never reach it; control too,
                # which a kernel busy with a long cell still answers.
                probes = [km.connect_shell(), km.connect_control()]
                try:
                    for probe in probes:
                        self.session.send(probe.socket, "kernel_info_request")
                    await asyncio.wait([seen], timeout=NUDGE_INTERVAL)
                finally:
                    for probe in probes:
                        _close_stream(probe)
        finally:
            self._iopub_seen = None
        if self._restart_overdue is not None:
            return  # a restart began meanwhile: its end nudges again
        if not seen.done():
            self.log.warning(
                "Kernel %s sent nothing on iopub within %gs; passing session %s's messages on anyway",
                self.kernel_id,
                NUDGE_TIMEOUT,
                self.session_id,
            )
        held, self._held = self._held or [], None
        for channel, parts in held:
            self.to_kernel(channel, parts)

    def kernel_restarting(self) -> None:
        """The kernel process is being replaced: tell the client, hold its messages.

        The client gets an iopub ``restarting`` status for a requested restart
        and for a dead kernel the restarter replaces alike: it is what Jupyter
        Server sends, JupyterLab then drops the requests the old process will
        never answer, and its message validator refuses any other value (such
        as ``autorestarting``, which it derives from ``restarting`` itself).
        Messages sent meanwhile would queue for the old process's ports; they
        go out once the new process answers (:meth:`kernel_restarted`).
        """
        if self._held is None:
            self._held = []
        if self._restart_overdue is None:
            loop = asyncio.get_running_loop()
            self._restart_overdue = loop.call_later(RESTART_HOLD_LIMIT, self.kernel_restarted)
        self.send_status("restarting")

    def kernel_restarted(self) -> None:
        """The kernel process was replaced: follow it to new ports if it moved, and nudge.

        Also called when a restart did not report back within
        ``RESTART_HOLD_LIMIT``, so held messages never wait forever.
        """
        if self._restart_overdue is not None:
            self._restart_overdue.cancel()
            self._restart_overdue = None
        if self.closed:
            return
        km = self.owner.kernel_manager.get_kernel(self.kernel_id)
        self.session.key = km.session.key
        if _ports_of(km) != self._ports:
            self._close_streams()
            self._open_streams()
        else:
            self.nudge(km)

    # -- kernel -> client ------------------------------------------------------------

    def _from_kernel(self, channel: str, frames: list[bytes]) -> None:
        try:
            parts = frames[frames.index(DELIM) + 2 :]
        except ValueError:
            parts = []
        if len(parts) < 4:
            self.log.warning(
                "Kernel %s sent a malformed %s message (%d frames); dropped", self.kernel_id, channel, len(frames)
            )
            return
        seen = self._iopub_seen
        if seen is not None and channel == "iopub" and not seen.done():
            seen.set_result(None)
        self.deliver(channel, parts)

    def deliver(self, channel: str, parts: list[bytes]) -> None:
        """Send a kernel message to the client, or keep it for the next one."""
        client = self.client
        if client is not None and client.send_kernel_message(channel, parts):
            return
        if self.replay.append(channel, parts):
            self.log.warning(
                "Replay buffer of kernel %s, session %s passed %d bytes while no client is connected; "
                "dropping the oldest messages (KernelWebsocketManager.replay_buffer_bytes)",
                self.kernel_id,
                self.session_id,
                self.replay.max_bytes,
            )

    def send_status(self, execution_state: str) -> None:
        """Tell the client about the kernel's state with an iopub ``status`` message."""
        msg = self.session.msg("status", content={"execution_state": execution_state})
        pack = self.session.pack
        self.deliver(
            "iopub", [pack(msg["header"]), pack(msg["parent_header"]), pack(msg["metadata"]), pack(msg["content"])]
        )

    # -- client -> kernel --------------------------------------------------------------

    def to_kernel(self, channel: str, parts: list[bytes]) -> None:
        """Sign and send a client's message, or hold it while nudging."""
        if self._held is not None:
            self._held.append((channel, parts))
            return
        stream = self.streams.get(channel)
        if stream is None:  # closed meanwhile
            return
        try:
            self.session.send_raw(stream.socket, parts, flags=zmq.NOBLOCK)
        except zmq.Again:
            self.log.warning(
                "Kernel %s is not reading its %s channel; dropped a message of session %s",
                self.kernel_id,
                channel,
                self.session_id,
            )

    # -- clients -----------------------------------------------------------------------

    def attach(self, client: Client) -> None:
        """Make ``client`` the receiver: replay what it missed, then live traffic.

        A client already attached with the same session_id is a stale
        connection (the network dropped without a close): it is closed.
        """
        previous, self.client = self.client, None
        if previous is not None:
            self.log.info(
                "Kernel %s, session %s: a new connection replaces the previous one", self.kernel_id, self.session_id
            )
            previous.close(1000, "Replaced by a newer connection with the same session_id")
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        missed = self.replay.drain()
        if missed:
            self.log.info("Kernel %s, session %s: replaying %d messages", self.kernel_id, self.session_id, len(missed))
        for channel, parts in missed:
            if not client.send_kernel_message(channel, parts):
                self.replay.append(channel, parts)
        self.client = client

    def detach(self, client: Client) -> None:
        """``client`` went away: keep messages for ``replay_buffer_seconds``, then close."""
        if self.client is not client or self.closed:
            return
        self.client = None
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(self.owner.replay_buffer_seconds, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        if self.client is None:
            self.log.info(
                "Kernel %s, session %s: no reconnection within %gs; closing its channels (%d buffered messages dropped)",
                self.kernel_id,
                self.session_id,
                self.owner.replay_buffer_seconds,
                len(self.replay),
            )
            self.owner.discard(self)
            self.close()

    def close(self, reason: str | None = None) -> None:
        """Close the sockets, and the websocket with ``reason`` (code 1000) if one is attached."""
        if self.closed:
            return
        self.closed = True
        for timer in (self._expiry, self._restart_overdue):
            if timer is not None:
                timer.cancel()
        if self._nudge_task is not None:
            self._nudge_task.cancel()
        client, self.client = self.client, None
        if client is not None:
            client.close(1000, reason)
        self._close_streams()
        self.replay.drain()


def _close_stream(stream: ZMQStream) -> None:
    """Close on the next loop turn: a ZMQStream may already have scheduled a
    look at its socket, which would find it closed and log a warning."""
    stream.on_recv(None)
    stream.io_loop.add_callback(stream.close, linger=0)


def _ports_of(km: Any) -> tuple[Any, ...]:
    info = km.get_connection_info()
    return tuple(info.get(key) for key in ("transport", "ip", "shell_port", "iopub_port", "stdin_port", "control_port"))
