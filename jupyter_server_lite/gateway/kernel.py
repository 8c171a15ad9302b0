"""One kernel on the gateway, as the server holds it.

A :class:`GatewayKernel` is a :class:`~jupyter_server_lite.services.kernels.kernel.KernelLink`
like a local kernel, so the websocket side, the REST models and culling
treat both alike.  What differs:

* **Its connection** is a :class:`~.connection.GatewayKernelConnection`,
  opened when the first client session appears and closed when the last one
  is gone (attached or away for replay); client messages wait until it is
  connected, and again while it reconnects.
* **Its state** comes from the gateway's kernel model (each refresh of the
  kernel list) while no websocket is open, and from the kernel's ``status``
  messages while one is.  ``last_activity`` is the later of the gateway's
  and the last message seen here.
* **After a restart** its websocket is opened again: the gateway then
  makes sure the new process's iopub reaches it (jupyter_server's nudge)
  before client messages, held meanwhile, go through.
* **Its end**: when the gateway says the kernel does not exist any more, or
  its websocket cannot be reconnected, the owner
  (:class:`~.managers.GatewayMappingKernelManager`) removes it; its clients'
  websockets are closed with the reason (1000 for a kernel gone from the
  gateway, 1011 for a gateway lost).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jupyter_client.session import Session

from ..services.kernels.kernel import KernelLink
from .connection import GatewayKernelConnection

if TYPE_CHECKING:
    from .client import GatewayClient

#: What the owner hears when the kernel's websocket reports ``gone`` or ``lost`` (state, reason).
EndListener = Callable[[str, str, str], None]


def parse_time(value: Any) -> float | None:
    """A gateway model's ISO 8601 ``last_activity`` as a timestamp (None if absent or malformed)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


class GatewayKernel(KernelLink):
    """A kernel the gateway runs (see the module docstring)."""

    kernel_id: str
    connection: GatewayKernelConnection | None = None

    def __init__(self, model: dict[str, Any], gateway: GatewayClient, log: Any, on_end: EndListener) -> None:
        self.kernel_id = str(model["id"])
        self.kernel_name = str(model.get("name") or "")
        self.gateway = gateway
        self.log = log
        self.on_end = on_end
        # Builds the server's own messages (status for clients); never signs anything that reaches
        # the kernel (the gateway does), so its key is a throwaway.
        self.session = Session(key=uuid.uuid4().hex.encode(), username="jupyter_server_lite")
        #: The websocket's session_id on the gateway, the same across reconnections.
        self.ws_session_id = uuid.uuid4().hex
        self._init_link()
        self.update(model)

    def __repr__(self) -> str:
        return f"<GatewayKernel {self.kernel_id} ({self.kernel_name}) {self.execution_state}>"

    def update(self, model: dict[str, Any]) -> None:
        """Take what the gateway's kernel model says (a start, a refresh)."""
        self.kernel_name = str(model.get("name") or self.kernel_name)
        state = model.get("execution_state")
        if isinstance(state, str) and state and self.connection is None:
            self.execution_state = state
        seen = parse_time(model.get("last_activity"))
        if seen is not None and seen > self._last_seen:
            self._last_seen = seen

    # -- the websocket to the gateway ---------------------------------------------

    def channels_in_use(self, in_use: bool) -> None:
        if in_use and self.connection is None:
            self.open_connection()
        elif not in_use:
            self.close_connection()

    def open_connection(self) -> None:
        self.connection = GatewayKernelConnection(
            self.kernel_id, self.log, self.session, self.gateway, self._from_kernel, self._on_state, self.ws_session_id
        )

    def reconnect(self) -> None:
        """Open the websocket again if one is open (after a restart); client messages wait."""
        if self.connection is not None:
            self.close_connection()
            self.open_connection()

    def close_connection(self) -> None:
        self.ready_for_clients = False
        if self.connection is not None:
            connection, self.connection = self.connection, None
            connection.close()

    def _on_state(self, state: str, detail: str) -> None:
        if state == "connected":
            self.set_ready_for_clients()
        elif state == "disconnected":
            self.ready_for_clients = False  # client messages wait for the reconnection
        else:  # gone, lost
            self.ready_for_clients = False
            self.on_end(self.kernel_id, state, detail)
