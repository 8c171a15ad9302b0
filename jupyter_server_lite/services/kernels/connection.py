"""The server's one set of ZMQ sockets to one kernel process.

Every kernel has exactly one :class:`KernelConnection` while it runs: a
shell, a control and a stdin DEALER and an iopub SUB, all four with one
identity, opened when the process starts and closed when it stops (a
restart gets a fresh set).  Everything the server says to the kernel goes
through it -- every websocket's messages, the readiness probe, the warm
pool's set-up -- and everything the kernel says comes back through one
callback, so each message is received and parsed once, whoever wants it.

The sockets are plain (synchronous) pyzmq sockets on the kernel manager's
context (so destroying that context closes them too), read by draining
them from the event loop.  ZMQ's file descriptor is edge-triggered: a drain
reads until ``EAGAIN`` (a batch at a time, letting other callbacks run
between batches), and every send re-checks whether the socket became
readable, because a send processes the socket's pending commands and can
consume the very notification that a reply arrived -- the reply would then
sit unread until the next message happened to wake the socket up.  (The
previous per-session channels sent on a ``ZMQStream``'s socket behind the
stream's back and lost replies exactly that way, now and then, under load.)

The DEALERs are ``IMMEDIATE``: a message is only queued on a completed
connection, so :meth:`wait_connected` can tell when all three reach the
kernel (a kernel's ROUTER silently drops what it sends to a peer it has not
met yet: an ``input_request`` right after start-up, say), and nothing piles
up for a kernel that is not there.

Requests the server makes itself (:meth:`~BaseKernelConnection.request`)
get their reply as a future; their ``msg_id`` is the server's own, so no
client ever sees those replies.  The iopub messages they cause
(``busy``/``idle``) go to every client, as any iopub message does.

:class:`BaseKernelConnection` is what the rest of the server relies on --
send a message, make a request, wait until connected, close -- so a kernel
reached some other way (a Kernel Gateway's websocket, see
:mod:`jupyter_server_lite.gateway.connection`) plugs in under the same
channels, replay and readiness code.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import zmq
from jupyter_client.session import Session
from tornado.ioloop import IOLoop

from .wire import CHANNELS, KernelMessage, Parts

DELIM = b"<IDS|MSG>"
#: Messages read from one socket before other callbacks get a turn.
DRAIN_BATCH = 64
#: Seconds between two looks at whether the sockets have connected.
CONNECT_POLL = 0.01
SOCKET_TYPES = {"shell": zmq.DEALER, "control": zmq.DEALER, "stdin": zmq.DEALER, "iopub": zmq.SUB}
_NOBLOCK, _SNDMORE, _POLLIN, _POLLOUT, _EVENTS = zmq.NOBLOCK, zmq.SNDMORE, zmq.POLLIN, zmq.POLLOUT, zmq.EVENTS


class Socket(zmq.backend.Socket):
    """pyzmq's socket without its Python convenience layer, which costs about
    half of each send and receive on this hot path.  ``setsockopt`` lets the
    context close it when it is destroyed (jupyter_client destroys its
    context when its manager goes away)."""

    setsockopt = zmq.backend.Socket.set


class BaseKernelConnection(ABC):
    """The server's one link to one kernel, however the kernel is reached.

    Subclasses carry messages (:meth:`send`) and hand every message from the
    kernel to :meth:`_deliver`, which resolves the server's own requests and
    passes everything else to ``on_message``.  ``session`` builds the
    server's requests (and, for a direct ZMQ link, signs every message).
    """

    def __init__(self, kernel_id: str, log: Any, session: Session, on_message: Callable[[KernelMessage], None]) -> None:
        self.kernel_id = kernel_id
        self.log = log
        self.session = session
        self.on_message = on_message
        self.closed = False
        self._waiters: dict[str, asyncio.Future[KernelMessage]] = {}

    @abstractmethod
    def send(self, channel: str, parts: Parts) -> bool:
        """Send ``parts`` (header, parent, metadata, content, buffers...) on ``channel``.

        Never blocks: False when the message cannot go now (closed, not
        connected, the kernel not reading); it is then dropped.
        """

    @abstractmethod
    async def wait_connected(self) -> None:
        """Return once messages reach the kernel (however long); CancelledError once closed."""

    def request(
        self, channel: str, msg_type: str, content: dict[str, Any] | None = None
    ) -> tuple[str, asyncio.Future[KernelMessage]]:
        """Send a request of the server's own: its ``msg_id``, and a future that gets its reply.

        The future is cancelled when the connection closes first; one that
        cannot be sent fails with ``ConnectionError``.
        """
        msg = self.session.msg(msg_type, content=content or {})
        pack = self.session.pack
        parts = [pack(msg["header"]), pack(msg["parent_header"]), pack(msg["metadata"]), pack(msg["content"])]
        future: asyncio.Future[KernelMessage] = asyncio.get_running_loop().create_future()
        msg_id = msg["header"]["msg_id"]
        self._waiters[msg_id] = future
        future.add_done_callback(lambda _f: self._waiters.pop(msg_id, None))
        if not self.send(channel, parts):
            future.set_exception(ConnectionError(f"kernel {self.kernel_id}: cannot send {msg_type} on {channel}"))
        return msg_id, future

    def _deliver(self, message: KernelMessage) -> None:
        """A message from the kernel: the reply to one of :meth:`request`, or one for ``on_message``."""
        if message.channel != "iopub" and self._waiters:
            waiter = self._waiters.pop(message.parent_msg_id, None)
            if waiter is not None:
                if not waiter.done():
                    waiter.set_result(message)
                return
        self.on_message(message)

    def close(self) -> None:
        """Stop carrying messages; cancel the pending requests (subclasses close their transport first)."""
        self.closed = True
        for waiter in list(self._waiters.values()):
            waiter.cancel()
        self._waiters.clear()


class KernelConnection(BaseKernelConnection):
    """Shell, control, stdin and iopub sockets to one kernel process (see the module docstring).

    ``km`` is the kernel's jupyter_client manager (ports, transport, key,
    CurveZMQ keys); ``on_message`` receives every kernel message except the
    replies to :meth:`request`.
    """

    def __init__(self, km: Any, on_message: Callable[[KernelMessage], None]) -> None:
        super().__init__(km.kernel_id, km.log, km.session, on_message)
        self.identity = uuid.uuid4().hex.encode()
        self.loop = IOLoop.current()
        self._draining: set[str] = set()
        self.sockets: dict[str, Socket] = {}
        self._fds: dict[str, int] = {}
        for channel in CHANNELS:
            sock = self.sockets[channel] = km.context.socket(SOCKET_TYPES[channel], socket_class=Socket)
            sock.set(zmq.LINGER, 0)
            if channel == "iopub":
                sock.set(zmq.SUBSCRIBE, b"")
            else:
                sock.set(zmq.IDENTITY, self.identity)
                sock.set(zmq.IMMEDIATE, 1)
            if km.curve_publickey is not None:  # jupyter_client's transport encryption
                sock.set(zmq.CURVE_SECRETKEY, km.curve_secretkey)
                sock.set(zmq.CURVE_PUBLICKEY, km.curve_publickey)
                sock.set(zmq.CURVE_SERVERKEY, km.curve_publickey)
            port = getattr(km, f"{channel}_port")
            sock.connect(f"tcp://{km.ip}:{port}" if km.transport == "tcp" else f"{km.transport}://{km.ip}-{port}")
            self._fds[channel] = cast(int, sock.get(zmq.FD))
            self.loop.add_handler(self._fds[channel], partial(self._ready, channel), IOLoop.READ)
            self._schedule_drain(channel)  # connect/subscribe may have consumed the edge

    def __repr__(self) -> str:
        return f"<KernelConnection kernel={self.kernel_id}>"

    async def wait_connected(self) -> None:
        """Return once shell, control and stdin are all connected to the kernel (however long)."""
        while not self.closed and not all(self._events(ch) & _POLLOUT for ch in ("shell", "control", "stdin")):
            await asyncio.sleep(CONNECT_POLL)
        if self.closed:
            raise asyncio.CancelledError

    def _events(self, channel: str) -> int:
        """The socket's ZMQ_EVENTS; reading them can take the read edge, so a pending read is scheduled."""
        events = cast(int, self.sockets[channel].get(_EVENTS))
        if events & _POLLIN:
            self._schedule_drain(channel)
        return events

    # -- receiving -------------------------------------------------------------

    def _ready(self, channel: str, _fd: int, _events: int) -> None:
        self._drain(channel)

    def _schedule_drain(self, channel: str) -> None:
        if channel not in self._draining:
            self._draining.add(channel)
            self.loop.add_callback(self._drain, channel)

    def _drain(self, channel: str) -> None:
        self._draining.discard(channel)
        sock = self.sockets.get(channel)
        for _ in range(DRAIN_BATCH):
            if sock is None or self.closed:
                return
            frames = []
            try:
                while True:
                    frame = sock.recv(_NOBLOCK, False)
                    frames.append(frame.bytes)
                    if not frame.more:
                        break
            except zmq.Again:
                return  # only ever before the first frame: ZMQ delivers a message whole
            self._dispatch(channel, frames)
        self._schedule_drain(channel)  # more may be waiting, and the edge is spent

    def _dispatch(self, channel: str, frames: list[bytes]) -> None:
        try:
            start = frames.index(DELIM) + 2  # past the routing frames, the delimiter and the signature
        except ValueError:
            start = len(frames)
        if len(frames) - start < 4:
            self.log.warning(
                "Kernel %s sent a malformed %s message (%d frames); dropped", self.kernel_id, channel, len(frames)
            )
            return
        self._deliver(KernelMessage(channel, frames[start:], frames[start - 1]))

    # -- sending -------------------------------------------------------------

    def send(self, channel: str, parts: Parts) -> bool:
        """Sign and send ``parts``; False when the socket is closed, not connected, or the
        kernel has not been reading (ZMQ's high-water mark is reached)."""
        sock = self.sockets.get(channel)
        if sock is None or self.closed:
            return False
        try:
            sock.send(DELIM, _NOBLOCK | _SNDMORE)
        except zmq.Again:
            return False  # the rest of a multipart message always follows its first frame
        sock.send(self.session.sign(parts[:4]), _SNDMORE)  # buffers are not signed
        last = len(parts) - 1
        for i, part in enumerate(parts):
            sock.send(part, 0 if i == last else _SNDMORE)
        self._events(channel)  # the send may have taken the read edge
        return True

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        """Close the four sockets (pending messages are dropped); cancel pending requests."""
        if self.closed:
            return
        for channel, sock in self.sockets.items():
            self.loop.remove_handler(self._fds[channel])
            sock.close(linger=0)  # a no-op if the context was destroyed first
        self.sockets = {}
        super().close()
