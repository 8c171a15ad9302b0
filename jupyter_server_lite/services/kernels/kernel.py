"""One kernel as the server holds it: its connection, the state its messages show, and who runs it.

:class:`KernelLink` is what the websocket side (:mod:`.channels`), the
multi-kernel manager's models and culling rely on, whoever runs the
kernel: its one connection (a :class:`~.connection.BaseKernelConnection`),
the ``receiver`` of client-bound messages, whether client messages may go
to the kernel yet, and the state read from its messages -- every message
refreshes ``last_activity``, every authentic ``status`` message sets
``execution_state``.

:class:`ServerKernelManager` is a local kernel: jupyter_client's manager
plus that link.  It owns the kernel process's one
:class:`~.connection.KernelConnection` (opened by the multi-kernel manager
when a process starts, replaced when it restarts); status messages count
when their signature checks out.  A kernel on a Kernel Gateway is another
kind of link (:mod:`jupyter_server_lite.gateway.kernel`).

:meth:`ServerKernelManager.wait_until_ready` is the readiness probe the
multi-kernel manager and the warm pool share: ``kernel_info``, then the
``idle`` that follows it on iopub.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from jupyter_client.ioloop.manager import AsyncIOLoopKernelManager
from jupyter_client.provisioning.local_provisioner import LocalPortCache
from traitlets import Unicode

from .connection import BaseKernelConnection, KernelConnection
from .wire import KernelMessage

#: The connection-info attributes holding a kernel's TCP ports.
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port")
#: States of a kernel process that has not answered yet.
STARTING_STATES = ("starting", "restarting", "autorestarting")
#: Seconds between two kernel_info requests while waiting for iopub to reach the server.
NUDGE_INTERVAL = 0.1


class KernelReceiver(Protocol):
    """What the websocket side of one kernel offers its ServerKernelManager."""

    def from_kernel(self, message: KernelMessage) -> None:
        """A kernel message for the clients (iopub, or a reply to one of theirs)."""

    def kernel_ready(self) -> None:
        """Held client messages may go to the kernel now."""


class KernelLink:
    """What the server holds for one kernel's messages, whoever runs the kernel (see the module docstring).

    A plain mixin: the kernel classes give it ``kernel_id``, ``kernel_name``,
    ``log`` and ``session`` (the latter builds the server's own messages).
    """

    kernel_id: str | None
    kernel_name: str
    log: Any
    session: Any
    execution_state: str = "starting"
    #: The kernel's one connection while it can be reached.
    connection: BaseKernelConnection | None = None
    #: The websocket side of this kernel, once a client connected.
    receiver: KernelReceiver | None = None
    #: Whether client messages go straight to the kernel (it answered, or waiting for it timed out).
    #: (jupyter_client's own ``ready`` is the future of the launch.)
    ready_for_clients = False
    #: Close code and reason for the kernel's websockets when it goes away; the
    #: websocket side's own (1000, "Kernel shut down") when unset.
    end_code: int | None = None
    end_reason = ""
    _last_seen = 0.0
    _idle_waiters: dict[str, asyncio.Future[None]]

    def _init_link(self) -> None:
        self._last_seen = time.time()
        self._idle_waiters = {}

    @property
    def last_activity(self) -> datetime:
        """When the kernel last sent a message (or was started, or handed out)."""
        return datetime.fromtimestamp(self._last_seen, timezone.utc)

    @last_activity.setter
    def last_activity(self, moment: datetime) -> None:
        self._last_seen = moment.timestamp()

    def channels_in_use(self, in_use: bool) -> None:
        """The websocket side has client sessions (attached or away) or none any more.

        A local kernel's connection is always open, so this does nothing; a
        gateway kernel opens its websocket to the gateway only while clients use it.
        """

    # -- messages from the kernel -----------------------------------------------

    def _from_kernel(self, message: KernelMessage) -> None:
        self._last_seen = time.time()
        if message.channel == "iopub" and message.msg_type == "status":
            self._track_status(message)
        if self.receiver is not None:
            self.receiver.from_kernel(message)

    def _authentic(self, message: KernelMessage) -> bool:
        """Whether a status message may set the state (every message, unless a subclass checks)."""
        return True

    def _track_status(self, message: KernelMessage) -> None:
        """Take the state from an authentic status message."""
        if not self._authentic(message):
            self.log.warning("Kernel %s sent a status message with a bad signature; ignored", self.kernel_id)
            return
        try:
            state = json.loads(message.parts[3]).get("execution_state")
        except (ValueError, RecursionError, AttributeError):
            return
        if isinstance(state, str):
            self.execution_state = state
            if state == "idle" and self._idle_waiters:
                waiter = self._idle_waiters.pop(message.parent_msg_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def idle_after(self, msg_id: str) -> asyncio.Future[None]:
        """A future set when the kernel reports ``idle`` after request ``msg_id``
        (call it right after sending, before the loop turns)."""
        waiter = self._idle_waiters[msg_id] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(lambda _f: self._idle_waiters.pop(msg_id, None))
        return waiter

    def set_ready_for_clients(self) -> None:
        """Let held client messages through (the kernel answered, or waiting for it timed out)."""
        if not self.ready_for_clients:
            self.ready_for_clients = True
            if self.receiver is not None:
                self.receiver.kernel_ready()


class ServerKernelManager(KernelLink, AsyncIOLoopKernelManager):
    """One local kernel: jupyter_client's manager plus its connection and the state its REST model shows.

    Both a REST restart and jupyter_client's autorestarter go through
    :meth:`restart_kernel`, so it is the one place that tells the server a
    new kernel process exists (``on_restarted``).
    """

    execution_state = Unicode("starting", help="The kernel's last reported execution state.")
    #: The folder the kernel works in (restarts start there again).
    cwd = ""
    #: The kernel's one connection while a process runs.
    connection: KernelConnection | None = None
    #: The kernelspec a pooled kernel was started from (the pool compares it at hand-out).
    spec_snapshot: Any = None
    on_restarted: Callable[[], None] | None = None
    #: Done when the restart under way (requested or automatic) has finished.
    restart_done: asyncio.Future[None] | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._init_link()

    # -- the connection ------------------------------------------------------

    def open_connection(self) -> KernelConnection:
        """Connect to the current process's ports (closing any previous connection)."""
        self.close_connection()
        self.connection = KernelConnection(self, self._from_kernel)
        return self.connection

    def close_connection(self) -> None:
        self.ready_for_clients = False
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _authentic(self, message: KernelMessage) -> bool:
        """A local kernel's status message counts when its signature checks out."""
        return hmac.compare_digest(self.session.sign(message.parts[:4]), message.signature)

    # -- restarts --------------------------------------------------------------

    async def restart_kernel(self, now: bool = False, newports: bool = False, **kw: Any) -> None:  # type: ignore[override]  # async, where jupyter_client declares the run_sync wrapper's signature
        done = self.restart_done = asyncio.get_running_loop().create_future()
        if self.cwd:
            kw.setdefault("cwd", self.cwd)  # a pooled kernel was launched elsewhere
        try:
            await super().restart_kernel(now=now, newports=newports, **kw)
        finally:
            done.set_result(None)
            self.restart_done = None
        if self.on_restarted is not None:
            self.on_restarted()

    def cleanup_random_ports(self) -> None:
        """Forget the kernel's ports, so that the restart picks new ones.

        The restarter asks for new ports when a kernel dies while starting,
        typically because another process took one of its ports.  jupyter_client
        only forgets ports it left to the kernel to choose, but its local
        provisioner chooses them up front, so without this the restart would
        try the taken port again, five times, and give up.
        """
        super().cleanup_random_ports()
        provisioner = self.provisioner
        if provisioner is None or not getattr(provisioner, "ports_cached", False):
            return
        cache = LocalPortCache.instance()
        for name in PORT_NAMES:
            cache.return_port(getattr(self, name))
            setattr(self, name, 0)
        provisioner.ports_cached = False  # type: ignore[attr-defined]  # checked above (LocalProvisioner)
        self.cleanup_connection_file()

    # -- readiness ---------------------------------------------------------------

    async def wait_until_ready(self, iopub_timeout: float) -> None:
        """Return once the kernel answered ``kernel_info`` and reported itself idle on iopub.

        The reply proves the process serves requests; the ``idle`` after it
        proves the server's iopub subscription reaches the kernel, and makes
        the state known without a client.  A subscription made while the
        kernel was starting can miss that ``idle``, so kernel_info is asked
        again every ``NUDGE_INTERVAL`` until one arrives (at most
        ``iopub_timeout`` after the first answer, then a warning).  Waits for
        the first answer as long as it takes (the caller bounds it); cancelled
        when the connection closes (shutdown, restart).  Then held client
        messages go through.
        """
        conn = self.connection
        assert conn is not None, "open_connection() first"
        loop = asyncio.get_running_loop()
        await conn.wait_connected()
        msg_id, reply = conn.request("shell", "kernel_info_request")
        idles = {self.idle_after(msg_id)}
        try:
            await reply
            deadline = loop.time() + iopub_timeout
            while not (await asyncio.wait(idles, timeout=NUDGE_INTERVAL))[0]:
                if loop.time() > deadline:
                    self.log.warning(
                        "Kernel %s answers but sent no status on iopub within %gs",
                        self.kernel_id,
                        iopub_timeout,
                    )
                    break
                msg_id, nudge = conn.request("shell", "kernel_info_request")
                nudge.add_done_callback(_consume)
                idles.add(self.idle_after(msg_id))
        finally:
            for idle in idles:
                idle.cancel()
        if self.execution_state in STARTING_STATES:
            self.execution_state = "idle"  # it answered: it cannot still be starting
        self.set_ready_for_clients()


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a fire-and-forget request's outcome, so a failure is not reported as unretrieved."""
    if not future.cancelled():
        future.exception()
