"""The kernel websocket: ``/api/kernels/<id>/channels?session_id=...``.

Before the upgrade it is an ordinary API request: the token is required
(403), the Host and the Origin are checked, an unknown kernel is a JSON 404.
After it, the handler only translates frames: client frames are decoded by
:mod:`.wire` and handed to the kernel's :class:`~.channels.KernelChannels`
(one per kernel, shared by all its websockets), kernel frames come back
through :meth:`KernelWebsocketHandler.send_frame`.

The protocol is the client's choice (``Sec-WebSocket-Protocol``):
``v1.kernel.websocket.jupyter.org`` when offered, else the default JSON one.
A frame that cannot be decoded (malformed, or JSON nested too deeply) is
logged (one WARNING line naming the problem) and ignored; the connection
stays open.  A frame larger than tornado's ``websocket_max_message_size``
(``ServerApp.websocket_max_message_size``) closes the connection with 1009.

What the server holds for one websocket is bounded: when the bytes written
to it but not yet taken by the client pass ``client_backlog_bytes``, the
websocket is closed with 1013 (try again later) and its session continues
as an absent one, so a reconnection with the same ``session_id`` resumes
from the first message it did not get.  Other clients are never held up.

``TCP_NODELAY`` is set on every connection: a request/reply protocol of small
frames otherwise waits on delayed ACKs, which multiplies the round trip.

:class:`KernelWebsocketManager` is the configurable part (pings, replay and
backlog bounds) and the registry of every kernel's channels.  The protocols
and behaviour are documented in ``docs/websocket.md``.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from tornado import web
from tornado.iostream import StreamBufferFullError
from tornado.websocket import WebSocketClosedError, WebSocketHandler
from traitlets import Float, Instance, Integer
from traitlets.config import LoggingConfigurable

from ...web.handlers import APIHandler
from .channels import KernelChannels
from .handlers import KERNEL_ID
from .wire import V1_PROTOCOL, WireError, decode_json, decode_json_binary, decode_v1

if TYPE_CHECKING:
    from .manager import MappingKernelManager

#: Close code for a client that fell behind: 1013 "try again later" (JupyterLab reconnects on it).
BEHIND_CODE = 1013
#: The most a websocket frame header adds to a payload (RFC 6455: 2 + 8 length bytes, no mask).
FRAME_OVERHEAD = 14


class KernelWebsocketHandler(WebSocketHandler, APIHandler):
    """One client's websocket to one kernel (see the module docstring)."""

    kernel_id = ""
    session_id = ""
    channels: KernelChannels | None = None
    v1 = False
    _counted = False
    _backlog = 0

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
        self.v1 = self.selected_subprotocol == V1_PROTOCOL
        manager = self.websocket_manager
        try:
            self.channels = manager.channels_for(kernel_id)
        except (KeyError, web.HTTPError):  # shut down between the check and the upgrade
            self.close(1011, "Kernel does not exist")
            return
        self._backlog = manager.client_backlog_bytes
        self.kernel_manager.connection_opened(kernel_id)
        self._counted = True
        self.channels.attach(self.session_id, self)

    def on_message(self, message: str | bytes) -> None:
        try:
            if self.v1:
                channel, parts, header = decode_v1(message)  # type: ignore[arg-type]  # a text frame is refused inside
            elif isinstance(message, str):
                channel, parts, header = decode_json(message)
            else:
                channel, parts, header = decode_json_binary(message)
        except WireError as err:
            self.log.warning(
                "Kernel %s websocket (session %s): message ignored: %s", self.kernel_id, self.session_id, err
            )
            return
        if self.channels is not None:
            self.channels.to_kernel(self.session_id, channel, parts, header)

    def send_frame(self, payload: bytes, binary: bool) -> bool:
        """Send an encoded kernel message; False when closed or just closed for falling behind.

        The stream refuses the write when more than ``client_backlog_bytes``
        are already waiting for the client (the message itself may be larger:
        one big output never closes a client that keeps up).
        """
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            return False
        stream = connection.stream
        assert stream is not None  # set when the connection was accepted
        stream.max_write_buffer_size = self._backlog + len(payload) + FRAME_OVERHEAD
        try:
            self.write_message(payload, binary=binary).add_done_callback(_retrieve)
        except StreamBufferFullError:
            stream.max_write_buffer_size = None  # room for the close frame
            self._fell_behind()
            return False
        except WebSocketClosedError:
            return False
        finally:
            stream.max_write_buffer_size = None  # pings and close frames are never refused
        return True

    def _fell_behind(self) -> None:
        self.log.warning(
            "Kernel %s, session %s: the client is more than %d bytes behind; closing its websocket (%d), "
            "it resumes on reconnection (KernelWebsocketManager.client_backlog_bytes)",
            self.kernel_id,
            self.session_id,
            self._backlog,
            BEHIND_CODE,
        )
        self.close(BEHIND_CODE, f"Client fell behind (over {self._backlog} bytes unsent); reconnect to resume")

    def on_close(self) -> None:
        if self.channels is not None:
            self.channels.detach(self.session_id, self)
        if self._counted:
            self._counted = False
            self.kernel_manager.connection_closed(self.kernel_id)


def _retrieve(future: asyncio.Future[None]) -> None:
    """A write that fails because the connection closed is expected; do not report it as unretrieved."""
    if not future.cancelled():
        future.exception()


class KernelWebsocketManager(LoggingConfigurable):
    """The kernel websockets' settings and every kernel's channels.

    Listens to the kernel manager's events: ``restarting`` and
    ``autorestarting`` become an iopub ``restarting`` status for every client
    of the kernel (kept for absent ones), ``dead`` a ``dead`` status, and
    ``shutdown`` closes the kernel's websockets (code 1000) and forgets its
    sessions.  Readiness (held messages let through) comes from the kernel
    manager directly.
    """

    ping_interval = Float(
        30.0,
        help="""Seconds between websocket pings to each client; a client that does not
        answer within the same time is disconnected. 0 disables pings.""",
    ).tag(config=True)
    replay_buffer_bytes = Integer(
        10 * 1024 * 1024,
        help="""Most bytes of kernel messages kept per kernel for its disconnected
        websocket sessions, to replay when they reconnect; past it the oldest are
        dropped (with one warning). Messages are kept once, however many sessions are away.""",
    ).tag(config=True)
    replay_buffer_seconds = Float(
        120.0,
        help="""Seconds a disconnected websocket session waits for its client to reconnect
        with the same session_id (and how old a kept message may get).""",
    ).tag(config=True)
    client_backlog_bytes = Integer(
        16 * 1024 * 1024,
        help="""Most bytes of kernel messages the server holds for one websocket that its
        client has not read yet; a client further behind is closed with code 1013 and
        resumes from the replay buffer when it reconnects. Also bounds the client
        messages held for a kernel that is not ready.""",
    ).tag(config=True)

    kernel_manager = Instance(
        "jupyter_server_lite.services.kernels.manager.MappingKernelManager",
        help="The server's kernel manager, whose events the websockets follow.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels: dict[str, KernelChannels] = {}
        self.kernel_manager.add_kernel_listener(self._on_kernel_event)

    def channels_for(self, kernel_id: str) -> KernelChannels:
        """The channels of ``kernel_id``, created on first use (KeyError for an unknown kernel)."""
        channels = self.channels.get(kernel_id)
        if channels is None:
            channels = self.channels[kernel_id] = KernelChannels(self, self.kernel_manager.get_kernel(kernel_id))
        return channels

    def _on_kernel_event(self, event: str, kernel_id: str) -> None:
        channels = self.channels.get(kernel_id)
        if channels is None:
            return
        if event == "shutdown":
            del self.channels[kernel_id]
            channels.close("Kernel shut down")
        elif event in ("restarting", "autorestarting"):
            channels.kernel_restarting()
        elif event == "dead":
            channels.send_status("dead")


default_handlers: list[tuple[str, type, dict[str, Any]] | tuple[str, type]] = [
    (rf"/api/kernels/{KERNEL_ID}/channels", KernelWebsocketHandler),
]
