"""The server's one websocket to the gateway for one kernel.

A :class:`GatewayKernelConnection` is what a
:class:`~jupyter_server_lite.services.kernels.connection.KernelConnection`
is for a local kernel: every client of the kernel talks through it, and
every message of the kernel comes back through it once, whoever wants it
(the websocket side routes replies to the session that asked, replays what
absent sessions missed, holds client messages while it is not connected).
Only one websocket to the gateway exists per kernel, whatever the number of
clients, and only while clients use the kernel, so the gateway's idle-kernel
culling sees a kernel nobody uses as unconnected.

It speaks the default JSON protocol to the gateway (every Kernel Gateway and
Enterprise Gateway does); the server's clients keep both protocols, the
translation is :func:`~jupyter_server_lite.services.kernels.wire.decode_kernel_json`
one way and :func:`~jupyter_server_lite.services.kernels.wire.encode_json`
the other.  ``TCP_NODELAY`` is set, so small frames never wait for delayed
ACKs.  The websocket carries a ``session_id`` of its own that stays the same
across reconnections, so the gateway (jupyter_server's session buffering)
keeps what the kernel said meanwhile and sends it on the new connection.

When the websocket drops, it is opened again after
``GatewayClient.gateway_retry_interval`` seconds, doubling up to
``gateway_retry_interval_max`` (plus up to 10% jitter), at most
``gateway_retry_max`` times in a row; the clients stay connected and their
messages wait.  The owner hears ``connected`` and ``disconnected`` as that
happens, ``gone`` when the gateway answers that the kernel does not exist
(404: culled, shut down elsewhere), and ``lost`` with the reason when the
attempts are spent or the gateway refuses the credentials.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from ..services.kernels.connection import BaseKernelConnection
from ..services.kernels.wire import KernelMessage, Parts, WireError, decode_kernel_json, encode_json
from .client import _describe

if TYPE_CHECKING:
    from .client import GatewayClient

#: The largest frame taken from the gateway (a kernel's output can be large; a local kernel's has no limit).
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
#: Seconds between pings to the gateway, so that a connection that silently died is noticed.
PING_INTERVAL = 30.0
#: The reconnection pause's random extra, as a share of the pause.
JITTER = 0.1
#: Linux's TCP_QUICKACK (None elsewhere): see GatewayKernelConnection._on_frame.
QUICKACK = getattr(socket, "TCP_QUICKACK", None)

StateListener = Callable[[str, str], None]


class GatewayKernelConnection(BaseKernelConnection):
    """The websocket to the gateway for one kernel (see the module docstring).

    ``on_state(state, detail)`` hears ``connected``, ``disconnected``,
    ``gone`` and ``lost``; ``detail`` says why for the last three.
    ``session_id`` names the websocket's session on the gateway.
    """

    def __init__(
        self,
        kernel_id: str,
        log: Any,
        session: Any,
        gateway: GatewayClient,
        on_message: Callable[[KernelMessage], None],
        on_state: StateListener,
        session_id: str,
    ) -> None:
        super().__init__(kernel_id, log, session, on_message)
        self.gateway = gateway
        self.on_state = on_state
        self.session_id = session_id
        self.ws: WebSocketClientConnection | None = None
        self._connected = asyncio.Event()
        self._dropped: asyncio.Future[None] | None = None
        self._task = asyncio.ensure_future(self._run())

    def __repr__(self) -> str:
        return f"<GatewayKernelConnection kernel={self.kernel_id} connected={self.ws is not None}>"

    @property
    def path(self) -> str:
        return f"{self.gateway.kernels_endpoint.rstrip('/')}/{quote(self.kernel_id, safe='')}/channels?session_id={self.session_id}"

    # -- the connection's life ---------------------------------------------------

    async def _run(self) -> None:
        gateway = self.gateway
        failures = 0
        while not self.closed:
            try:
                ws = await self._connect()
            except HTTPClientError as err:
                if err.code == 404:
                    self._finish("gone", f"Kernel {self.kernel_id} no longer exists on the gateway {gateway.url}")
                    return
                if err.code in (401, 403, 407):
                    self._finish(
                        "lost",
                        f"Gateway {gateway.url} refused this server's credentials ({err.code}) for the websocket "
                        f"of kernel {self.kernel_id}; check GatewayClient.auth_token",
                    )
                    return
                error = _describe(err)
            except (OSError, asyncio.TimeoutError) as err:
                error = _describe(err)
            else:
                failures = 0
                await self._serve(ws)
                if self.closed:
                    return
                error = "the connection dropped"
                if ws.close_code is not None:
                    error += f" (code {ws.close_code}{': ' + ws.close_reason if ws.close_reason else ''})"
            if self.closed:
                return
            if failures >= gateway.gateway_retry_max:
                self._finish(
                    "lost",
                    f"Lost the connection to the gateway {gateway.url} for kernel {self.kernel_id}: {error}; "
                    f"{failures} reconnection attempts failed",
                )
                return
            pause = min(gateway.gateway_retry_interval * 2**failures, gateway.gateway_retry_interval_max)
            pause += random.uniform(0, JITTER * pause)
            failures += 1
            self.log.warning(
                "Kernel %s: websocket to the gateway %s: %s; reconnecting in %.1fs (attempt %d of %d)",
                self.kernel_id,
                gateway.url,
                error,
                pause,
                failures,
                gateway.gateway_retry_max,
            )
            await asyncio.sleep(pause)

    async def _connect(self) -> WebSocketClientConnection:
        request = self.gateway.ws_request(self.path)
        ws = await websocket_connect(
            request,
            on_message_callback=self._on_frame,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_INTERVAL,
            max_message_size=MAX_MESSAGE_BYTES,
        )
        if ws.stream is not None:
            ws.stream.set_nodelay(True)
        return ws

    async def _serve(self, ws: WebSocketClientConnection) -> None:
        """Use ``ws`` until it drops (or this connection is closed)."""
        if self.closed:
            ws.close()
            return
        self.ws = ws
        self._dropped = asyncio.get_running_loop().create_future()
        self._connected.set()
        self.on_state("connected", "")
        try:
            await self._dropped
        finally:
            self.ws = None
            self._connected.clear()
            ws.close()  # a no-op once closed; releases a connection the network dropped
        if not self.closed:
            self.on_state("disconnected", "")

    def _finish(self, state: str, detail: str) -> None:
        if not self.closed:
            self.closed = True
            self.on_state(state, detail)

    # -- frames ---------------------------------------------------------------------

    def _on_frame(self, frame: str | bytes | None) -> None:
        if frame is None:  # closed, by either side
            if self._dropped is not None and not self._dropped.done():
                self._dropped.set_result(None)
            return
        self._ack_now()
        try:
            message = decode_kernel_json(frame)
        except WireError as err:
            self.log.warning(
                "Kernel %s: the gateway sent a frame that is no kernel message; dropped: %s", self.kernel_id, err
            )
            return
        self._deliver(message)

    def _ack_now(self) -> None:
        """Acknowledge what arrived at once.

        A gateway writes a reply as several small frames (busy, input,
        result, idle, reply) on a socket without ``TCP_NODELAY``, so each
        frame after the first waits for the acknowledgement of the one
        before; this side, having just sent a request, delays that
        acknowledgement by up to 40 ms (Linux's delayed ACK).  Quick-ack
        mode, which the kernel leaves again by itself, is asked for after
        every frame: the round trip no longer waits on timers.
        """
        ws = self.ws
        if QUICKACK is None or ws is None or ws.stream is None:
            return
        try:
            ws.stream.socket.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        except OSError:
            pass  # closing

    def send(self, channel: str, parts: Parts) -> bool:
        """Send a message to the gateway; False while not connected."""
        ws = self.ws
        if ws is None or self.closed:
            return False
        try:
            payload, binary = encode_json(channel, parts)
            ws.write_message(payload, binary=binary).add_done_callback(_retrieve)
        except (WebSocketClosedError, WireError):
            return False
        return True

    async def wait_connected(self) -> None:
        await self._connected.wait()
        if self.closed:
            raise asyncio.CancelledError

    def close(self) -> None:
        """Close the websocket for good (no reconnection); pending requests are cancelled."""
        if self.closed and self.ws is None and self._task.done():
            return
        self.closed = True
        if self.ws is not None:
            self.ws.close(1000, "The server no longer uses this kernel")
        if not self._task.done():
            self._task.cancel()
        self._connected.set()  # wakes wait_connected(), which then raises CancelledError
        super().close()


def _retrieve(future: asyncio.Future[None]) -> None:
    """A write that fails because the connection dropped is handled by the reconnection."""
    if not future.cancelled():
        future.exception()
