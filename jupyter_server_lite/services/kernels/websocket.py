"""The kernel websocket: ``/api/kernels/<id>/channels?session_id=...``.

Before the upgrade it is an ordinary API request: the token is required
(403), the Host and the Origin are checked, an unknown kernel is a JSON 404.
After it, the handler only translates frames: client frames are decoded by
:mod:`.wire` and handed to the session's :class:`~.channels.KernelChannels`,
kernel frames come back through :meth:`KernelWebsocketHandler.send_kernel_message`.

The protocol is the client's choice (``Sec-WebSocket-Protocol``):
``v1.kernel.websocket.jupyter.org`` when offered, else the default JSON one.
A frame that cannot be decoded is logged (one WARNING line naming the
problem) and ignored; the connection stays open.

``TCP_NODELAY`` is set on every connection: a request/reply protocol of small
frames otherwise waits on delayed ACKs, which multiplies the round trip.

:class:`KernelWebsocketManager` is the configurable part (pings, replay
bounds) and the registry of every session's channels; it imports the ZMQ
side only when the first client connects, so the server starts without it.
The protocols and behaviour are documented in ``docs/websocket.md``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ...web.handlers import APIHandler
from .handlers import KERNEL_ID
from .wire import V1_PROTOCOL, WireError, decode_json, decode_json_binary, decode_v1, encode_json, encode_v1

if TYPE_CHECKING:
    from ...serverapp import ServerApp
    from .channels import KernelChannels
    from .manager import MappingKernelManager


class KernelWebsocketHandler(WebSocketHandler, APIHandler):
    """One client's websocket to one kernel (see the module docstring)."""

    kernel_id = ""
    session_id = ""
    channels: KernelChannels | None = None
    _v1 = False
    _counted = False

    @property
    def kernel_manager(self) -> MappingKernelManager:
        return self.serverapp.kernel_manager

    @property
    def websocket_manager(self) -> KernelWebsocketManager:
        return self.serverapp.kernel_websocket_manager

    @property
    def ping_interval(self) -> float | None:
        return self.websocket_manager.ping_interval or None

    # -- before the upgrade ------------------------------------------------------

    async def get(self, kernel_id: str) -> None:
        self.kernel_manager.check_kernel_id(kernel_id)
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            # tornado would answer in plain text; API errors are JSON
            raise web.HTTPError(400, "This is a websocket endpoint: the request needs 'Upgrade: websocket'")
        session_id = self.get_query_argument("session_id", "")
        if len(session_id) > 200 or not session_id.isprintable():
            raise web.HTTPError(400, "session_id must be printable text of at most 200 characters")
        self.kernel_id = kernel_id
        self.session_id = session_id or uuid.uuid4().hex
        await super().get(kernel_id)

    def check_origin(self, origin: str) -> bool:
        return self.origin_allowed(origin)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return V1_PROTOCOL if V1_PROTOCOL in subprotocols else None

    # -- the connection ---------------------------------------------------------------

    def open(self, kernel_id: str) -> None:
        self.set_nodelay(True)
        self._v1 = self.selected_subprotocol == V1_PROTOCOL
        try:
            self.channels = self.websocket_manager.channels_for(kernel_id, self.session_id)
        except (KeyError, web.HTTPError):  # shut down between the check and the upgrade
            self.close(1011, "Kernel does not exist")
            return
        self.kernel_manager.connection_opened(kernel_id)
        self._counted = True
        self.channels.attach(self)

    def on_message(self, message: str | bytes) -> None:
        try:
            if self._v1:
                channel, parts = decode_v1(message)  # type: ignore[arg-type]
            elif isinstance(message, str):
                channel, parts = decode_json(message)
            else:
                channel, parts = decode_json_binary(message)
        except WireError as err:
            self.log.warning(
                "Kernel %s websocket (session %s): message ignored: %s", self.kernel_id, self.session_id, err
            )
            return
        if self.channels is not None:
            self.channels.to_kernel(channel, parts)

    def send_kernel_message(self, channel: str, parts: list[bytes]) -> bool:
        """Encode and send a kernel message; False when the websocket is closed."""
        try:
            if self._v1:
                self.write_message(encode_v1(channel, parts), binary=True)
            else:
                payload, binary = encode_json(channel, parts)
                self.write_message(payload, binary=binary)
        except WebSocketClosedError:
            return False
        except WireError as err:
            self.log.warning("Kernel %s sent a message the websocket cannot carry; dropped: %s", self.kernel_id, err)
        return True

    def on_close(self) -> None:
        if self.channels is not None:
            self.channels.detach(self)
        if self._counted:
            self._counted = False
            self.kernel_manager.connection_closed(self.kernel_id)


class KernelWebsocketManager(LoggingConfigurable):
    """The kernel websockets' settings and every session's channels.

    Listens to the kernel manager's events: ``restarting`` and
    ``autorestarting`` become an iopub ``restarting`` status for every client
    of the kernel (kept for absent ones), ``dead`` a ``dead`` status,
    ``restarted`` re-checks the sockets, and ``shutdown`` closes the kernel's
    websockets (code 1000) and sockets.
    """

    ping_interval = Float(
        30.0,
        help="""Seconds between websocket pings to each client; a client that does not
        answer within the same time is disconnected. 0 disables pings.""",
    ).tag(config=True)
    replay_buffer_bytes = Integer(
        10 * 1024 * 1024,
        help="""Most bytes of kernel messages kept per websocket session while its client
        is disconnected, to replay on reconnection; past it the oldest are dropped
        (with one warning).""",
    ).tag(config=True)
    replay_buffer_seconds = Float(
        120.0,
        help="""Seconds a disconnected websocket session's channels stay open (buffering
        kernel messages) waiting for its client to reconnect with the same session_id.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sessions: dict[str, dict[str, KernelChannels]] = {}
        self._listening = False

    @property
    def kernel_manager(self) -> MappingKernelManager:
        return cast("ServerApp", self.parent).kernel_manager

    def channels_for(self, kernel_id: str, session_id: str) -> KernelChannels:
        """The channels of ``session_id`` on ``kernel_id``, opened on first use."""
        channels = self._sessions.get(kernel_id, {}).get(session_id)
        if channels is None:
            if not self._listening:
                self.kernel_manager.add_kernel_listener(self._on_kernel_event)
                self._listening = True
            from .channels import KernelChannels  # zmq and jupyter_client: only once a client connects

            channels = KernelChannels(self, kernel_id, session_id)
            self._sessions.setdefault(kernel_id, {})[session_id] = channels
        return channels

    def discard(self, channels: KernelChannels) -> None:
        """Forget ``channels`` (they close themselves)."""
        sessions = self._sessions.get(channels.kernel_id, {})
        if sessions.get(channels.session_id) is channels:
            del sessions[channels.session_id]
        if not sessions:
            self._sessions.pop(channels.kernel_id, None)

    def _on_kernel_event(self, event: str, kernel_id: str) -> None:
        sessions = self._sessions.get(kernel_id)
        if not sessions:
            return
        if event == "shutdown":
            for channels in self._sessions.pop(kernel_id).values():
                channels.close("Kernel shut down")
        elif event == "restarted":
            for channels in sessions.values():
                channels.kernel_restarted()
        elif event in ("restarting", "autorestarting"):
            for channels in sessions.values():
                channels.kernel_restarting()
        elif event == "dead":
            for channels in sessions.values():
                channels.send_status(event)


default_handlers: list[tuple[str, type, dict[str, Any]] | tuple[str, type]] = [
    (rf"/api/kernels/{KERNEL_ID}/channels", KernelWebsocketHandler),
]
