"""The terminal websocket: ``/terminals/websocket/<name>``, terminado's JSON protocol.

Before the upgrade it is an ordinary API request: the token is required
(JSON 403), the Host and the Origin are checked (a cross-origin page is
refused), an unknown terminal is a JSON 404 and a plain GET without
``Upgrade: websocket`` a JSON 400.  Pings keep the connection alive through
proxies (``KernelWebsocketManager.ping_interval``, one setting for every
websocket of the server) and ``TCP_NODELAY`` keeps keystrokes from waiting.

Every frame is a JSON array whose first item names it:

* server to client: ``["setup", {}]`` once connected, then ``["stdout",
  text]`` -- first the terminal's recent output (bounded by
  ``TerminalManager.replay_buffer_chars``), then whatever the shell writes;
  ``["disconnect", 1]`` when the shell has ended, before the close;
* client to server: ``["stdin", text]`` (keystrokes, pasted text) and
  ``["set_size", rows, cols, ...]``; several clients of one terminal share
  it, and the pty takes the smallest size among them.

A frame that is not such an array is logged (one WARNING naming the
problem) and ignored; unknown kinds are ignored, as terminado does.

A client that reads slower than the shell writes does not make the server
buffer without bound: past :data:`HIGH_WATER` characters queued for it,
the terminal's output is no longer read (the shell waits, as on a slow
terminal) until its queue is below :data:`LOW_WATER`.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, cast

from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ...extension.handler import ExtensionAPIHandler

if TYPE_CHECKING:
    from . import TerminadoApp
    from .manager import TerminalManager
    from .ptys import Terminal

#: Characters queued for one client past which the terminal's output is paused.
HIGH_WATER = 1 << 20
#: ... and below which it resumes.
LOW_WATER = HIGH_WATER // 4
#: The largest rows or columns a client may ask for (terminado ignores larger sizes).
MAX_SIZE = 10_000


class TerminalWebsocketHandler(WebSocketHandler, ExtensionAPIHandler):
    """One client's websocket to one terminal (see the module docstring)."""

    terminal: Terminal | None = None
    #: ``(rows, cols)`` this client asked for; terminado reads it to size the pty.
    size: tuple[int | None, int | None] = (None, None)
    #: Whether this client's queue is past the high-water mark.
    behind = False
    _queued = 0
    _ended = False

    @property
    def terminal_manager(self) -> TerminalManager:
        return cast("TerminadoApp", self.extension_app).terminal_manager

    @property
    def ping_interval(self) -> float | None:
        return self.serverapp.kernel_websocket_manager.ping_interval or None

    # -- before the upgrade ------------------------------------------------------

    async def get(self, name: str) -> None:
        self.terminal_manager.terminal(name)  # a JSON 404 for an unknown name
        if self.request.headers.get("Upgrade", "").lower() != "websocket":
            # tornado would answer in plain text; API errors are JSON
            raise web.HTTPError(400, "This is a websocket endpoint: the request needs 'Upgrade: websocket'")
        await super().get(name)

    def check_origin(self, origin: str) -> bool:
        return self.origin_allowed(origin)

    # -- the connection ---------------------------------------------------------------

    def open(self, name: str) -> None:
        self.set_nodelay(True)
        try:
            term = self.terminal = self.terminal_manager.terminal(name)
        except web.HTTPError:  # it ended between the check and the upgrade
            self.on_pty_died()
            return
        term.clients.append(self)
        term.touch()
        self._send(["setup", {}])
        replay = term.read_buffer.text()
        if replay:
            self.on_pty_read(replay)

    async def on_message(self, message: str | bytes) -> None:
        term = self.terminal
        if term is None:
            return
        try:
            command = json.loads(message)
        except ValueError as err:
            self._ignore(f"not JSON ({err})")
            return
        if not isinstance(command, list) or not command or not isinstance(command[0], str):
            self._ignore('not a JSON array starting with its kind ("stdin", "set_size")')
            return
        kind = command[0]
        if kind == "stdin":
            if len(command) < 2 or not isinstance(command[1], str):
                self._ignore('"stdin" needs a string: ["stdin", text]')
                return
            term.touch()
            self.serverapp.activity.touch()
            await self.terminal_manager.write(term, command[1])
        elif kind == "set_size":
            rows, cols = (command + [None, None])[1:3]
            if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_SIZE for v in (rows, cols)):
                self._ignore(f'"set_size" needs rows and columns from 1 to {MAX_SIZE}: ["set_size", rows, cols]')
                return
            self.size = (rows, cols)
            self.terminal_manager.resize(term)

    def _ignore(self, problem: str) -> None:
        self.log.warning("Terminal %s websocket: message ignored: %s", self._name, problem)

    @property
    def _name(self) -> str:
        return self.terminal.term_name or "" if self.terminal is not None else ""

    # -- output -------------------------------------------------------------------------

    def on_pty_read(self, text: str) -> None:
        """terminado: the shell wrote ``text``."""
        self._send(["stdout", text])

    def on_pty_died(self) -> None:
        """terminado (or the manager): the shell has ended; say so once, then close."""
        if self._ended:
            return
        self._ended = True
        self._send(["disconnect", 1])
        self.close()

    def _send(self, content: list[Any]) -> None:
        payload = json.dumps(content)
        try:
            sent = self.write_message(payload)
        except WebSocketClosedError:
            return
        self._queued += len(payload)
        sent.add_done_callback(functools.partial(self._flushed, len(payload)))
        if not self.behind and self._queued > HIGH_WATER:
            self.behind = True
            self._update_reading()

    def _flushed(self, count: int, _sent: object) -> None:
        self._queued -= count
        if self.behind and self._queued < LOW_WATER:
            self.behind = False
            self._update_reading()

    def _update_reading(self) -> None:
        """Read the terminal's output only while none of its clients is behind."""
        term = self.terminal
        if term is not None:
            self.terminal_manager.pause(term, any(getattr(c, "behind", False) for c in term.clients))

    def on_close(self) -> None:
        term = self.terminal
        if term is None:
            return
        if self in term.clients:
            term.clients.remove(self)
        self.behind = False
        self._update_reading()
        self.terminal_manager.resize(term)
